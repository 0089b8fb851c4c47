"""Scale out: many workers take repositories from one queue in Redis (README: "Scale out").

What Redis holds, under ``PRSEED_REDIS_PREFIX`` (``prseed`` below):

* ``prseed:repositories`` (list): repositories waiting for a worker, oldest first;
* ``prseed:active`` (hash): repository -> the worker crawling it;
* ``prseed:worker:NAME`` (string with a TTL): present while worker NAME is alive;
* ``prseed:worker:NAME:requests`` / ``:dupefilter``: the worker's scrapy-redis scheduler;
* ``prseed:token:ID`` (hash) and ``prseed:token:ID:points`` (hash of second -> points):
  each token's budget, rest and pacing window, shared by all workers. ID is a digest of
  the token; the token itself never reaches Redis.

A repository's requests stay with the worker that took it, because its callbacks count
the repository's outstanding pages in that worker's memory. A worker that dies leaves its
repositories in ``active`` under a name whose liveness key expires; another worker takes
them over and continues from the database (the PR-list cursor and the incomplete PRs),
exactly as a single crawl resumes after ``kill -9``. A repository leaves ``active`` only
once the batch holding its completed sync is committed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections import deque
from urllib.parse import urlsplit, urlunsplit

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.utils.asyncio import create_looping_call
from scrapy_redis.scheduler import Scheduler

from prseed import signals as prseed_signals
from prseed.alarm import Alarm
from prseed.exceptions import ConfigError, off
from prseed.ratelimit import PACING_WINDOW, TokenPool, TokenState

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 5.0  # seconds a Redis call may take before it counts as an outage
TOKEN_STATE_SECONDS = 7200  # GitHub's budgets reset hourly: older shared state is stale

# Pop the oldest queued repository, or else take over one whose worker is gone.
TAKE = """
local repository = redis.call('LPOP', KEYS[1])
if repository then
  redis.call('HSET', KEYS[2], repository, ARGV[1])
  return {repository, ''}
end
local active = redis.call('HGETALL', KEYS[2])
for i = 1, #active, 2 do
  local owner = active[i + 1]
  if owner ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. owner) == 0 then
    redis.call('HSET', KEYS[2], active[i], ARGV[1])
    return {active[i], owner}
  end
end
return false
"""
# Queue repositories that are neither queued nor being crawled; returns how many.
ENQUEUE = """
local added = 0
for _, repository in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[2], repository) == 0 and not redis.call('LPOS', KEYS[1], repository) then
    redis.call('RPUSH', KEYS[1], repository)
    added = added + 1
  end
end
return added
"""
# Let go of a repository this worker holds; ARGV[2] = '1' puts it back at the queue's head.
RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[3] then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('LPUSH', KEYS[1], ARGV[1])
end
return 1
"""
# GitHub's word on a budget; answers arrive out of order, so a higher remaining counts
# only with a later reset (TokenPool.record_budget's rule, applied across workers).
RECORD_BUDGET = """
local current = redis.call('HMGET', KEYS[1], 'remaining', 'reset_at')
local remaining, reset_at = tonumber(ARGV[1]), tonumber(ARGV[2])
if current[1] and reset_at <= tonumber(current[2]) + 1 then
  remaining = math.min(remaining, tonumber(current[1]))
  reset_at = math.max(reset_at, tonumber(current[2]))
end
redis.call('HSET', KEYS[1], 'remaining', remaining, 'reset_at', reset_at)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'limit', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
"""
# A rest only ever gets longer.
REST = """
local resting = tonumber(redis.call('HGET', KEYS[1], 'resting_until') or '0')
if tonumber(ARGV[1]) > resting then
  redis.call('HSET', KEYS[1], 'resting_until', ARGV[1], 'rest_reason', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""
REST_UNTIL_RESET = """
local reset_at = math.max(tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[1], 'reset_at') or '0'))
redis.call('HSET', KEYS[1], 'remaining', 0, 'reset_at', reset_at)
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


def redis_server(settings):
    """A Redis client for ``PRSEED_REDIS_URL``. Its calls run in the reactor's thread, so a
    Redis that stops answering must cost seconds, not a hung worker."""
    from scrapy_redis import connection

    return connection.get_redis(
        url=settings.get("PRSEED_REDIS_URL"),
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
    )


class SpiderlessStats:
    """Scrapy's stats for a caller that still passes the ``spider`` argument Scrapy 2.19
    deprecates (a warning per call site otherwise)."""

    def __init__(self, stats) -> None:
        self.stats = stats

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider=None) -> None:
        self.stats.inc_value(key, count, start)


class RedisScheduler(Scheduler):
    """scrapy-redis 0.9.1's scheduler, unchanged but for its stats calls."""

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.stats = SpiderlessStats(crawler.stats)
        return scheduler


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def check_redis(settings) -> None:
    """A ConfigError naming the fix when ``PRSEED_REDIS_URL`` cannot be used."""
    url = settings.get("PRSEED_REDIS_URL")
    try:
        redis_server(settings).ping()
    except ValueError as exc:
        raise ConfigError(f"PRSEED_REDIS_URL={safe_url(url)!r} is not a Redis URL ({exc})") from None
    except Exception as exc:
        raise ConfigError(
            f"cannot reach Redis at {safe_url(url)} ({exc}): start redis-server or fix PRSEED_REDIS_URL"
        ) from None


def check_worker_name(settings) -> None:
    """Two live workers of one name would share one request queue: refuse the second."""
    name = settings.get("PRSEED_WORKER_NAME")
    if name and RepositoryQueue(redis_server(settings), settings.get("PRSEED_REDIS_PREFIX")).alive(name):
        raise ConfigError(
            f"a worker named {name!r} is running (its heartbeat is in Redis): give this one another "
            f"-s PRSEED_WORKER_NAME, or, if that worker was killed, wait PRSEED_WORKER_TTL seconds"
        )


class Outage:
    """Reports Redis being unreachable once a minute, not once per request; the caller goes
    on with what it knows (a worker keeps crawling what it holds, a token pool its own view)."""

    EVERY = 60.0

    def __init__(self, what: str) -> None:
        self.what = what
        self.last = -self.EVERY

    def report(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self.last >= self.EVERY:
            self.last = now
            logger.warning("Redis unreachable (%s): %s; going on and trying again", exc, self.what)


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def worker_key(prefix: str, name: str) -> str:
    return f"{prefix}:worker:{name}"


def token_key(prefix: str, token: str) -> str:
    return f"{prefix}:token:{hashlib.sha256(token.encode()).hexdigest()[:20]}"


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


class Worker:
    """One ``scrapy crawl prs`` process of a distributed crawl: takes repositories one at
    a time (at most ``PRSEED_WORKER_REPOSITORIES`` unfinished at once), beats its heart
    every third of ``PRSEED_WORKER_TTL``, lets go of a repository once its sync is
    committed, and on a clean stop puts unfinished ones back at the head of the queue."""

    def __init__(self, crawler, queue: RepositoryQueue) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.queue = queue
        self.name = settings.get("PRSEED_WORKER_NAME")
        self.ttl = settings.getfloat("PRSEED_WORKER_TTL")
        self.capacity = settings.getint("PRSEED_WORKER_REPOSITORIES")
        self.idle_exit = settings.getfloat("PRSEED_WORKER_IDLE_EXIT")
        self.poll = min(1.0, self.ttl / 3)
        self.held: set[str] = set()
        self.room = Alarm()  # rung when one of this worker's repositories finishes or fails
        self.outage = Outage("the worker keeps crawling what it holds")
        self.heart = create_looping_call(self.beat)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.synced, signal=prseed_signals.repositories_synced)

    @classmethod
    def from_crawler(cls, crawler) -> Worker:
        """An extension, so that it is built once the add-ons have set its settings."""
        settings = crawler.settings
        if not settings.get("PRSEED_REDIS_URL"):
            raise off(cls, "PRSEED_REDIS_URL is not set: one process, no worker")
        return cls(crawler, RepositoryQueue(redis_server(settings), settings.get("PRSEED_REDIS_PREFIX")))

    def opened(self) -> None:
        self.beat()
        self.heart.start(self.ttl / 3, now=False)
        logger.info("worker %s: taking repositories from %s", self.name, self.queue.queue_key)

    async def next_repository(self, unfinished) -> str | None:
        """The next repository to crawl, once fewer than ``capacity`` of this worker's are
        ``unfinished()``; None once no work is left anywhere for ``PRSEED_WORKER_IDLE_EXIT``
        seconds (a repository held by another live worker counts as work: its worker may die)."""
        idle_since = None
        while self.crawler.engine.running:
            try:
                if unfinished() < self.capacity:
                    taken = self.queue.take(self.name)
                    if taken is not None:
                        return self.took(*taken)
                    if unfinished() or self.held or self.queue.active():
                        idle_since = None
                    else:
                        idle_since = idle_since or time.monotonic()
                        if time.monotonic() - idle_since >= self.idle_exit:
                            logger.info(
                                "worker %s: no repository queued or being crawled; stopping "
                                "(-s PRSEED_WORKER_IDLE_EXIT=inf keeps a worker waiting for work)",
                                self.name,
                            )
                            return None
            except RedisError as exc:
                self.outage.report(exc)
            await self.room.sleep(self.poll)
        return None

    def took(self, repository: str, previous: str | None) -> str:
        self.held.add(repository)
        self.crawler.stats.inc_value("prseed/worker/repositories_taken")
        if previous is None:
            logger.info("worker %s: took %s from the queue", self.name, repository)
        else:
            self.queue.forget_worker(previous)
            self.crawler.stats.inc_value("prseed/worker/repositories_taken_over")
            logger.warning(
                "worker %s: took over %s from worker %s, which stopped answering; "
                "continuing from the database",
                self.name,
                repository,
                previous,
            )
        return repository

    def beat(self) -> None:
        """Stay alive; notice repositories lost to a takeover, and let go of failed ones."""
        try:
            owned = self.queue.heartbeat(self.name, self.ttl)
        except RedisError as exc:
            self.outage.report(exc)
            return
        for repository in sorted(self.held - owned):
            self.held.discard(repository)
            logger.warning(
                "worker %s: another worker took over %s (this worker missed its heartbeats)",
                self.name,
                repository,
            )
        runs = getattr(self.crawler.spider, "runs", {})
        for repository in sorted(self.held):
            run = runs.get(repository)
            if run is not None and run.failed:
                self.let_go(repository)
                logger.error(
                    "worker %s: %s could not be completed; its progress is in the database: "
                    "scrapy enqueue %s continues it",
                    self.name,
                    repository,
                    repository,
                )

    def synced(self, repositories: list[str]) -> None:
        for repository in repositories:
            if repository in self.held:
                self.let_go(repository)
                logger.info("worker %s: %s is synced and committed", self.name, repository)

    def let_go(self, repository: str, requeue: bool = False) -> None:
        """Missed while Redis is down, the repository stays under this worker's name until
        its heartbeat expires; the worker that takes it over finds the database's word."""
        self.held.discard(repository)
        try:
            self.queue.release(repository, self.name, requeue=requeue)
        except RedisError as exc:
            self.outage.report(exc)

    def closed(self) -> None:
        """A clean stop: what is unfinished goes back to the head of the queue (the next
        worker continues it from the database) and this worker is gone at once."""
        if self.heart.running:
            self.heart.stop()
        runs = getattr(self.crawler.spider, "runs", {})
        for repository in sorted(self.held):
            run = runs.get(repository)
            requeue = run is None or not run.failed
            self.let_go(repository, requeue=requeue)
            if requeue:
                logger.info("worker %s: %s goes back to the queue", self.name, repository)
        try:
            self.queue.forget_worker(self.name)
        except RedisError as exc:
            self.outage.report(exc)


class SharedTokenPool(TokenPool):
    """A :class:`TokenPool` whose budgets, rests and pacing windows live in Redis, so
    every worker using a token sees what any of them learnt about it.

    Each decision reads the shared state first (one round trip); each lesson is written
    by a Lua script that keeps the same rules as the in-process pool. Requests in flight
    and secondary-limit strikes stay per worker.
    """

    def __init__(self, tokens: list[str], server, prefix: str, **kwargs) -> None:
        super().__init__(tokens, **kwargs)
        self.server = server
        self.keys = {state.label: token_key(prefix, state.token) for state in self.tokens}
        self._record_budget = server.register_script(RECORD_BUDGET)
        self._shared_rest = server.register_script(REST)
        self._rest_until_reset = server.register_script(REST_UNTIL_RESET)
        self.outage = Outage("each worker paces its tokens on its own meanwhile")

    def share(self, write, **arguments) -> None:
        try:
            write(**arguments)
        except RedisError as exc:
            self.outage.report(exc)

    def pull(self) -> None:
        """Bring every token's state up to what all workers know."""
        pipe = self.server.pipeline(transaction=False)
        for state in self.tokens:
            pipe.hgetall(self.keys[state.label])
            pipe.hgetall(self.keys[state.label] + ":points")
        try:
            answers = pipe.execute()
        except RedisError as exc:
            self.outage.report(exc)
            return
        horizon = self.clock() - PACING_WINDOW
        for state, shared, points in zip(self.tokens, answers[::2], answers[1::2], strict=True):
            shared = {key.decode(): value.decode() for key, value in shared.items()}
            if "remaining" in shared:
                state.remaining = int(float(shared["remaining"]))
                state.reset_at = float(shared["reset_at"])
            if "limit" in shared:
                state.limit = int(shared["limit"])
            if "resting_until" in shared:
                state.resting_until = float(shared["resting_until"])
                state.rest_reason = shared["rest_reason"]
            state.window = deque(
                sorted(
                    (float(second), int(spent)) for second, spent in points.items() if float(second) > horizon
                )
            )

    def acquire(self) -> TokenState | None:
        self.pull()
        return super().acquire()

    def next_wait(self):
        self.pull()
        return super().next_wait()

    def record_budget(self, state: TokenState, remaining: int, reset_at: float, limit: int | None = None):
        super().record_budget(state, remaining, reset_at, limit)
        args = [remaining, reset_at, "" if limit is None else limit, TOKEN_STATE_SECONDS]
        self.share(self._record_budget, keys=[self.keys[state.label]], args=args)

    def record_cost(self, state: TokenState, points: int) -> None:
        super().record_cost(state, points)
        key = self.keys[state.label] + ":points"
        pipe = self.server.pipeline()
        pipe.hincrby(key, int(self.clock()), points)
        pipe.expire(key, int(PACING_WINDOW * 2))
        self.share(pipe.execute)

    def rest_until_reset(self, state: TokenState, reset_at: float) -> None:
        super().rest_until_reset(state, reset_at)
        args = [state.reset_at, TOKEN_STATE_SECONDS]
        self.share(self._rest_until_reset, keys=[self.keys[state.label]], args=args)

    def _rest(self, state: TokenState, until: float, reason: str) -> None:
        super()._rest(state, until, reason)
        self.share(
            self._shared_rest, keys=[self.keys[state.label]], args=[until, reason, TOKEN_STATE_SECONDS]
        )
