"""The shared queue of repositories, who crawls what, and each worker's heartbeat."""

from __future__ import annotations

import enum
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from prseed import config
from prseed.distributed.client import redis_server
from prseed.distributed.priority import FROM_ENQUEUE, MANUAL, SPAN, Entry, entry
from prseed.distributed.scripts import ENQUEUE, RELEASE, TAKE, UPGRADE
from prseed.exceptions import ConfigError

UPGRADE_STEP = 0.001  # seconds of pushed-at between two repositories of the previous release's list


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def worker_key(prefix: str, name: str) -> str:
    return f"{prefix}:worker:{name}"


@dataclass(frozen=True)
class Claim:
    """A repository a worker took: from the queue, or from a dead worker (``previous``)."""

    repository: str
    previous: str | None
    entry: Entry | None  # why it was queued (None: queued by an older prseed)


class Release(enum.Enum):
    """What letting go of a repository did; false when the worker did not hold it."""

    NOT_HELD = "not held"
    RELEASED = "released"
    HANDED_BACK = "handed back"
    QUEUED_AGAIN = "queued again"  # it was marked dirty while crawled

    def __bool__(self) -> bool:
        return self is not Release.NOT_HELD


class RepositoryQueue:
    """The shared queue of repositories and who is crawling what; every change is one
    Lua script, so two workers never take the same repository.

    The queue is a sorted set (:mod:`prseed.distributed.priority` scores it), each queued
    repository's :class:`~prseed.distributed.priority.Entry` in a hash beside it; a
    repository asked for while it is crawled waits in ``dirty`` until its crawl ends. The
    previous release's plain list is moved into the sorted set on first use."""

    def __init__(self, server, prefix: str) -> None:
        self.server = server
        self.prefix = prefix
        self.queue_key = f"{prefix}:queue"
        self.legacy_key = f"{prefix}:repositories"  # the previous release's list
        self.active_key = f"{prefix}:active"
        self.dirty_key = f"{prefix}:dirty"
        self._take = server.register_script(TAKE)
        self._enqueue = server.register_script(ENQUEUE)
        self._release = server.register_script(RELEASE)
        self._upgrade = server.register_script(UPGRADE)
        self.upgraded = False

    @classmethod
    def from_settings(cls, settings) -> RepositoryQueue:
        """The queue in the Redis of ``PRSEED_REDIS_URL``, under ``PRSEED_REDIS_PREFIX``."""
        return cls(redis_server(settings), config.value(settings, "PRSEED_REDIS_PREFIX"))

    def entries_key(self, key: str) -> str:
        return f"{key}:entries"

    def keys(self, *names: str) -> list[str]:
        """The keys a script takes: a set and, after it, the hash of its entries."""
        keys = []
        for key in names:
            keys += [key, self.entries_key(key)]
        return keys

    def upgrade(self, now: float | None = None) -> int:
        """Move the previous release's queue into this one's, once per process; how many moved.

        They keep their order, as manual requests queued now (their pushed-at unknown)."""
        if self.upgraded:
            return 0
        first = entry("", MANUAL, "the previous release's queue", now=now)
        keys = [self.legacy_key, self.queue_key, self.entries_key(self.queue_key), self.active_key]
        moved = self._upgrade(keys=keys, args=[first.score(), UPGRADE_STEP, first.to_json()])
        self.upgraded = True
        return moved

    def add(self, entries: Iterable[Entry]) -> list[str]:
        """Queue each entry, raise a queued one to a better place, or mark one being crawled
        dirty; one outcome per entry: queued, raised, kept, dirty or crawling. An entry whose
        pushed-at is only the enqueue time raises a queued one to a better class, never
        within its class (queuing it again is no news of activity)."""
        self.upgrade()
        args = [repr(SPAN)]
        for queued in entries:
            marks = "1" if queued.marks_dirty() else "0"
            weak = "1" if queued.pushed_at_from == FROM_ENQUEUE else "0"
            args += [queued.repository, repr(queued.score()), queued.to_json(), marks, weak]
        if len(args) == 1:
            return []
        keys = [*self.keys(self.queue_key, self.dirty_key), self.active_key]
        return [outcome.decode() for outcome in self._enqueue(keys=keys, args=args)]

    def enqueue(self, repositories: Iterable[str], priority: str = MANUAL, by: str = "scrapy enqueue") -> int:
        """Queue repositories not queued or being crawled already; how many were added. Their
        pushed-at is unknown: the enqueue time, one for all, so they are taken by name."""
        now = time.time()
        outcomes = self.add(entry(repository, priority, by, now=now) for repository in repositories)
        return outcomes.count("queued")

    def claim(self, worker: str) -> Claim | None:
        """The next repository for ``worker``: a dead worker's first, then the queue's first."""
        self.upgrade()
        keys = [*self.keys(self.queue_key), *self.keys(self.active_key)]
        taken = self._take(keys=keys, args=[worker, worker_key(self.prefix, "")])
        if not taken:
            return None
        repository, previous, queued = (value.decode() for value in taken)
        return Claim(repository, previous or None, Entry.from_json(repository, queued))

    def take(self, worker: str) -> tuple[str, str | None] | None:
        """The next repository for ``worker``, and the dead worker it was taken from (if any)."""
        claim = self.claim(worker)
        return None if claim is None else (claim.repository, claim.previous)

    def release(self, repository: str, worker: str, requeue: bool = False) -> Release:
        """Let go of a repository ``worker`` holds; ``requeue`` hands it back: first in the
        queue, before every class (a stopped worker's unfinished repository)."""
        args = [repository, worker, "", ""]
        if requeue:
            taken = self.server.hget(self.entries_key(self.active_key), repository)
            held = Entry.from_json(repository, taken) or entry(repository, MANUAL, "an older prseed")
            handed_back = held.handed_back(worker)
            args[2:] = [repr(handed_back.score()), handed_back.to_json()]
        keys = self.keys(self.queue_key, self.dirty_key, self.active_key)
        return Release(self._release(keys=keys, args=args).decode())

    def heartbeat(self, worker: str, ttl: float) -> set[str]:
        """Say ``worker`` is alive for ``ttl`` more seconds; the repositories it holds."""
        pipe = self.server.pipeline()
        pipe.set(worker_key(self.prefix, worker), int(time.time()), px=int(ttl * 1000))
        pipe.hgetall(self.active_key)
        _, active = pipe.execute()
        return {repository.decode() for repository, owner in active.items() if owner.decode() == worker}

    def forget_worker(self, worker: str) -> None:
        """Drop a dead worker's keys: its scheduler queue is superseded by the database."""
        key = worker_key(self.prefix, worker)
        self.server.delete(key, f"{key}:requests", f"{key}:dupefilter")

    def waiting(self) -> list[str]:
        """The queued repositories, the next one to be taken first."""
        self.upgrade()
        return [repository.decode() for repository in self.server.zrange(self.queue_key, 0, -1)]

    def entries(self, key: str) -> dict[str, Entry | None]:
        """The entries of the queue (``queue_key``), of the dirty repositories or of the active ones."""
        return {
            repository.decode(): Entry.from_json(repository.decode(), text)
            for repository, text in self.server.hgetall(self.entries_key(key)).items()
        }

    def dirty(self) -> set[str]:
        return {repository.decode() for repository in self.server.zrange(self.dirty_key, 0, -1)}

    def active(self) -> dict[str, str]:
        return {key.decode(): value.decode() for key, value in self.server.hgetall(self.active_key).items()}

    def alive(self, worker: str) -> bool:
        return bool(self.server.exists(worker_key(self.prefix, worker)))


def check_worker_name(settings) -> None:
    """Two live workers of one name would share one request queue: refuse the second."""
    name = config.value(settings, "PRSEED_WORKER_NAME")
    if name and RepositoryQueue.from_settings(settings).alive(name):
        raise ConfigError(
            f"a worker named {name!r} is running (its heartbeat is in Redis): give this one another "
            f"-s PRSEED_WORKER_NAME, or, if that worker was killed, wait PRSEED_WORKER_TTL seconds"
        )
