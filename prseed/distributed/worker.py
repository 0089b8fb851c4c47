"""The Worker extension: one ``scrapy crawl prs`` process of a distributed crawl."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.utils.asyncio import create_looping_call

from prseed import config, outcome
from prseed import signals as prseed_signals
from prseed.alarm import Alarm
from prseed.distributed.client import Outage
from prseed.distributed.priority import Entry
from prseed.distributed.queue import Release, RepositoryQueue
from prseed.exceptions import off

logger = logging.getLogger(__name__)


class Worker:
    """One ``scrapy crawl prs`` process of a distributed crawl: takes repositories one at
    a time (at most ``PRSEED_WORKER_REPOSITORIES`` unfinished at once), beats its heart
    every third of ``PRSEED_WORKER_TTL``, lets go of a repository once its sync is
    committed, and on a clean stop puts unfinished ones back at the head of the queue.

    What it knows of the spider's repositories it hears through prseed's signals:
    ``repository_stopped`` (a crawl is over, and whether it failed) and
    ``repositories_synced`` (a completed sync is committed)."""

    def __init__(self, crawler, queue: RepositoryQueue) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.queue = queue
        self.name = config.value(settings, "PRSEED_WORKER_NAME")
        self.ttl = config.value(settings, "PRSEED_WORKER_TTL")
        self.capacity = config.value(settings, "PRSEED_WORKER_REPOSITORIES")
        self.idle_exit = config.value(settings, "PRSEED_WORKER_IDLE_EXIT")
        self.poll = min(1.0, self.ttl / 3)
        self.held: set[str] = set()
        self.failed: set[str] = set()  # repositories whose crawl could not complete
        self.finished: set[str] = set()  # repositories whose every stream is over, not yet let go
        self.room = Alarm()  # rung when one of this worker's repositories stops
        self.outage = Outage("the worker keeps crawling what it holds")
        self.heart = create_looping_call(self.beat)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.stopped, signal=prseed_signals.repository_stopped)
        crawler.signals.connect(self.synced, signal=prseed_signals.repositories_synced)

    @classmethod
    def from_crawler(cls, crawler) -> Worker:
        """An extension, so that it is built once the add-ons have set its settings."""
        settings = crawler.settings
        if not config.value(settings, "PRSEED_REDIS_URL"):
            raise off(cls, "PRSEED_REDIS_URL is not set: one process, no worker")
        return cls(crawler, RepositoryQueue.from_settings(settings))

    def opened(self) -> None:
        self.beat()
        self.heart.start(self.ttl / 3, now=False)
        logger.info("worker %s: taking repositories from %s", self.name, self.queue.queue_key)

    async def next_repository(self, unfinished: Callable[[], int]) -> str | None:
        """The next repository to crawl, once fewer than ``capacity`` of this worker's are
        ``unfinished()``; None once no work is left anywhere for ``PRSEED_WORKER_IDLE_EXIT``
        seconds (a repository held by another live worker counts as work: its worker may die)."""
        idle_since = None
        while self.crawler.engine.running:
            try:
                if unfinished() < self.capacity:
                    claim = self.queue.claim(self.name)
                    if claim is not None:
                        return self.took(claim.repository, claim.previous, claim.entry)
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

    def took(self, repository: str, previous: str | None, queued: Entry | None = None) -> str:
        self.held.add(repository)
        self.failed.discard(repository)  # a new crawl of it begins
        self.crawler.stats.inc_value("prseed/worker/repositories_taken")
        if previous is None:
            if queued is not None:
                self.crawler.stats.inc_value(f"prseed/worker/repositories_taken/{queued.priority}")
            why = f" ({queued.describe()})" if queued is not None else ""
            logger.info("worker %s: took %s from the queue%s", self.name, repository, why)
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

    def stopped(self, repository: str, failed: bool) -> None:
        """A repository's crawl is over: there may be room for the next one."""
        if failed:
            self.failed.add(repository)
        else:
            self.finished.add(repository)
        self.room.ring()

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
        for repository in sorted(self.held & self.failed):
            self.let_go(repository)
            logger.error(
                "worker %s: %s could not be completed; its progress is in the database: "
                "scrapy enqueue %s continues it",
                self.name,
                repository,
                repository,
            )

    def synced(self, repositories: list[str]) -> None:
        """A sync is committed: once every stream of a repository is over (its
        ``repository_stopped``), the last one's commit lets it go; an earlier stream's does not."""
        for repository in repositories:
            if repository in self.held and repository in self.finished:
                self.finished.discard(repository)
                self.let_go(repository)
                logger.info("worker %s: %s is synced and committed", self.name, repository)

    def let_go(self, repository: str, requeue: bool = False) -> Release | None:
        """Missed while Redis is down (None), the repository stays under this worker's name
        until its heartbeat expires; the worker that takes it over finds the database's word."""
        self.held.discard(repository)
        try:
            released = self.queue.release(repository, self.name, requeue=requeue)
        except RedisError as exc:
            self.outage.report(exc)
            return None
        if released is Release.QUEUED_AGAIN:
            self.crawler.stats.inc_value("prseed/worker/repositories_queued_again")
            logger.info(
                "worker %s: %s is queued again: a sync was asked for while it was crawled",
                self.name,
                repository,
            )
        return released

    def closed(self, reason: str = "finished") -> None:
        """A clean stop: what is unfinished goes back to the head of the queue (the next
        worker continues it from the database) and this worker is gone at once. Stopped by
        Ctrl-C with every repository it held handed back and none failed, the crawl leaves
        nothing to run again (:func:`prseed.outcome.handed_back`)."""
        if self.heart.running:
            self.heart.stop()
        holding, handed_back = sorted(self.held), []
        for repository in holding:
            requeue = repository not in self.failed
            released = self.let_go(repository, requeue=requeue)
            if requeue:
                logger.info("worker %s: %s goes back to the queue", self.name, repository)
            if released is Release.HANDED_BACK:
                handed_back.append(repository)
        try:
            self.queue.forget_worker(self.name)
        except RedisError as exc:
            self.outage.report(exc)
        if reason == "shutdown" and not self.failed and handed_back == holding:
            outcome.handed_back(self.crawler.stats, handed_back)
            logger.info(
                "worker %s: stopped; %s: nothing is lost and nothing needs running again",
                self.name,
                f"handed {', '.join(handed_back)} back to the queue for the next worker"
                if handed_back
                else "it held no repository",
            )
