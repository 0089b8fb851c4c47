"""The shared queue of repositories, who crawls what, and each worker's heartbeat."""

from __future__ import annotations

import os
import socket
import time

from prseed import config
from prseed.distributed.client import redis_server
from prseed.distributed.scripts import ENQUEUE, RELEASE, TAKE
from prseed.exceptions import ConfigError


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def worker_key(prefix: str, name: str) -> str:
    return f"{prefix}:worker:{name}"


class RepositoryQueue:
    """The shared queue of repositories and who is crawling what; every change is one
    Lua script, so two workers never take the same repository."""

    def __init__(self, server, prefix: str) -> None:
        self.server = server
        self.prefix = prefix
        self.queue_key = f"{prefix}:repositories"
        self.active_key = f"{prefix}:active"
        self._take = server.register_script(TAKE)
        self._enqueue = server.register_script(ENQUEUE)
        self._release = server.register_script(RELEASE)

    @classmethod
    def from_settings(cls, settings) -> RepositoryQueue:
        """The queue in the Redis of ``PRSEED_REDIS_URL``, under ``PRSEED_REDIS_PREFIX``."""
        return cls(redis_server(settings), config.value(settings, "PRSEED_REDIS_PREFIX"))

    def enqueue(self, repositories: list[str]) -> int:
        """Queue repositories not queued or being crawled already; how many were added."""
        if not repositories:
            return 0
        return self._enqueue(keys=[self.queue_key, self.active_key], args=repositories)

    def take(self, worker: str) -> tuple[str, str | None] | None:
        """The next repository for ``worker``, and the dead worker it was taken from (if any)."""
        taken = self._take(keys=[self.queue_key, self.active_key], args=[worker, worker_key(self.prefix, "")])
        if not taken:
            return None
        repository, previous = (value.decode() for value in taken)
        return repository, previous or None

    def release(self, repository: str, worker: str, requeue: bool = False) -> bool:
        """Let go of a repository ``worker`` holds; ``requeue`` puts it first in the queue."""
        args = [repository, "1" if requeue else "0", worker]
        return bool(self._release(keys=[self.queue_key, self.active_key], args=args))

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
        return [repository.decode() for repository in self.server.lrange(self.queue_key, 0, -1)]

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
