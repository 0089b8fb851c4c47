"""Upsert items into SQLite or PostgreSQL, in batches, idempotently."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from functools import partial

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import task, threads
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.python.threadpool import ThreadPool

from prseed import config, items, outcome, signals
from prseed.db import Batch, open_database
from prseed.db.backends import Tainted
from prseed.db.registry import TABLES

logger = logging.getLogger(__name__)

RECONNECT_FIRST_WAIT = 0.5  # seconds before the first reconnection, doubling for each further one
RECONNECT_LONGEST_WAIT = 15.0


class Writer(ThreadPool):
    """One thread, a daemon: a crawl that never reaches close_spider (a test that failed,
    say) must not keep the process alive; a transaction it cuts short is rolled back."""

    threadFactory = staticmethod(partial(threading.Thread, daemon=True))

    def __init__(self) -> None:
        super().__init__(minthreads=1, maxthreads=1, name="prseed-database")


class DatabasePipeline:
    """Buffers items and writes them in one transaction per batch: every
    ``PRSEED_DB_BATCH_SIZE`` items, every ``PRSEED_DB_FLUSH_SECONDS`` seconds (also
    while the crawl waits) and at close.  A parent's row (a pull request) replaces its
    child collections, so what disappeared on GitHub disappears here too (see
    :class:`prseed.db.tables.Parent`), except those the crawl's settings skip.

    A database server (PostgreSQL) is written to by a thread of its own, one batch after
    another in the order they filled, so that the server's work overlaps the crawl's
    instead of following it.  While one batch is written and another waits, the item that
    handed over the second waits too.  SQLite is written to in the crawl's thread: its
    work is in this process, and sqlite3 hands the GIL over for every row, so a thread
    made a replay slower (see the README's "Performance").

    A database server that goes away (a restart, a failover) does not stop the crawl: the
    batch being written is held, one line says so, the connection is remade with back-off
    for up to ``PRSEED_DB_RETRY_SECONDS``, and the batch is written once it is back (later
    batches wait behind it, in order, and so does the crawl). Past that, or for a row the
    database rejects, the crawl stops or the row is reported, as before.
    """

    def __init__(self, crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.signals = crawler.signals
        self.stats = crawler.stats
        self.database_url = settings.get("DATABASE_URL")
        self.batch_size = settings.getint("PRSEED_DB_BATCH_SIZE")
        self.flush_seconds = settings.getfloat("PRSEED_DB_FLUSH_SECONDS")
        self.retry_seconds = config.value(settings, "PRSEED_DB_RETRY_SECONDS")
        collected = config.value(settings, "PRSEED_COLLECT")
        self.replaced_tables = tuple(
            table for table in TABLES.replaced if not table.skipped(settings, collected)
        )
        self.written_types = TABLES.written
        self.sync_type = TABLES.sync_state.item
        self.database = None
        self.batch = Batch()
        self.synced: list[str] = []  # repositories whose completed sync is in the batch
        self.tainted = Tainted()  # what rejected rows forbid writing for the rest of the crawl
        self.last_flush = time.monotonic()
        self.timer = task.LoopingCall(self.flush_if_due)
        self.writer = Writer()
        self.writes: deque[Deferred] = deque()  # batches handed to the writer, oldest first
        self.failed = False  # a batch could not be written: none after it is
        self.reactor = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        from twisted.internet import reactor

        self.database = open_database(self.database_url)
        logger.info("writing to %s", self.database.description)
        if self.database.server:
            self.reactor = reactor
            self.writer.start()
        self.timer.start(self.flush_seconds, now=False)

    def to_writer(self, function, *args) -> Deferred:
        """``function(*args)``, run after everything handed to the writer before: by the
        writer thread if there is one, else at once."""
        if self.writer.started:
            return threads.deferToThreadPool(self.reactor, self.writer, function, *args)
        return maybeDeferred(function, *args)

    async def process_item(self, item):
        for row in item.items if isinstance(item, items.Rows) else (item,):
            if type(row) in self.written_types:
                self.batch.add(row)
            if type(row) is self.sync_type and row.run_started_at is None:
                self.synced.append(row.repository)
        if len(self.batch) >= self.batch_size or self.synced:  # a finished sync is committed at once
            self.flush()
            if len(self.writes) > 1:
                await maybe_deferred_to_future(DeferredList([self.writes[0]]))
        if getattr(item, "BOOKKEEPING", False):
            raise DropItem("sync bookkeeping, written to the database", log_level="DEBUG")
        return item

    def flush_if_due(self) -> None:
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the batch, or hand it to the writer thread if there is one."""
        self.last_flush = time.monotonic()
        if not len(self.batch):
            return
        batch, self.batch = self.batch, Batch()
        synced, self.synced = self.synced, []
        write = self.to_writer(self.write, batch)
        self.writes.append(write)
        write.addBoth(self.write_done)
        write.addCallbacks(self.written, self.write_failed, (batch, synced), errbackArgs=(batch,))

    def write(self, batch: Batch) -> list | None:
        """Runs in order (on the writer thread, for a server). Once a batch has failed, later
        ones are not written: they could record sync progress (a cursor, a complete PR) past
        rows that never reached the database. None: skipped."""
        if self.failed:
            return None
        try:
            return self.write_through_outages(batch)
        except Exception:
            self.failed = True
            raise

    def write_through_outages(self, batch: Batch) -> list:
        """Write the batch; while the server is gone, hold it and reconnect with back-off
        (on the writer thread: the reactor never waits), for up to ``PRSEED_DB_RETRY_SECONDS``."""
        lost_since, wait = None, RECONNECT_FIRST_WAIT
        while True:
            try:
                if lost_since is not None:
                    self.database.reconnect()
                rejected = self.database.write(batch, self.replaced_tables, self.tainted)
            except Exception as error:
                if not self.database.connection_lost(error):
                    raise
                now = time.monotonic()
                if lost_since is None:
                    lost_since = now
                    logger.warning(
                        "lost the connection to the database (%s); holding a batch of %d items and "
                        "reconnecting for up to %g s",
                        " ".join(str(error).split()),
                        len(batch),
                        self.retry_seconds,
                    )
                if now + wait > lost_since + self.retry_seconds:
                    raise
                time.sleep(wait)
                wait = min(wait * 2, RECONNECT_LONGEST_WAIT)
                continue
            if lost_since is not None:
                logger.info(
                    "reconnected to the database after %.1f s; the held batch is written",
                    time.monotonic() - lost_since,
                )
                self.reactor.callFromThread(self.stats.inc_value, "prseed/db/reconnects")
            return rejected

    def write_done(self, result):
        self.writes.popleft()  # the writer finishes batches in the order it got them
        return result

    def write_failed(self, failure, batch: Batch) -> None:
        logger.error(
            "writing a batch of %d items to the database failed, so the crawl stops; what was "
            "written stays, and the same command continues from it: %s",
            len(batch),
            failure.getErrorMessage(),
        )
        logger.debug("the failed write", exc_info=(failure.type, failure.value, failure.getTracebackObject()))
        self.stats.inc_value("prseed/db/failed_batches")
        cause = f"writing to the database failed ({failure.getErrorMessage()}): check the database"
        outcome.record(self.stats, "database_error", cause, rerun_helps=True)
        self.stop_crawl()

    def stop_crawl(self) -> None:
        if self.crawler.crawling:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="database_error"))

    def written(self, rejected, batch: Batch, synced: list[str]) -> None:
        if rejected is None:
            self.stats.inc_value("prseed/db/skipped_batches")
            return
        for repository in set(synced) & set(batch.withheld_repositories):
            # its sync was withheld for a rejected row: its crawl cannot complete
            self.signals.send_catch_log(signals.repository_stopped, repository=repository, failed=True)
        synced = [repository for repository in synced if repository not in batch.withheld_repositories]
        if synced:
            self.signals.send_catch_log(signals.repositories_synced, repositories=synced)
        if rejected:
            self.rejected(rejected)
        self.stats.inc_value("prseed/db/rejected_rows", len(rejected))
        self.stats.inc_value("prseed/db/batches")
        for table, rows in batch.rows.items():
            if rows:
                self.stats.inc_value(f"prseed/db/rows/{table}", len(rows))

    def rejected(self, rejected: list) -> None:
        """One error line per pull request with rejected rows; the first one is what the
        crawl's last line names."""
        by_pull_request: dict[str | None, list] = {}
        for row in rejected:
            by_pull_request.setdefault(row.pull_request_id, []).append(row)
        for rows in by_pull_request.values():
            more = f" (and {len(rows) - 1} more of its rows)" if len(rows) > 1 else ""
            kept = "that pull request stays incomplete and its" if rows[0].pull_request_id else "its"
            logger.error(
                "database rejected a %s%s; %s repository's sync does not move past it",
                rows[0].describe(),
                more,
                kept,
            )
        outcome.record(
            self.stats,
            "finished",
            f"the database rejected a {rejected[0].describe()}; fix the database, then run the same "
            "command again to fetch that pull request",
            rerun_helps=False,
        )
        self.stats.inc_value("prseed/db/pull_requests_rejected", len(by_pull_request.keys() - {None}))

    async def close_spider(self) -> None:
        if self.timer.running:
            self.timer.stop()
        if self.database is not None:
            self.flush()
            await maybe_deferred_to_future(self.to_writer(self.database.close))
        if self.writer.started:
            self.writer.stop()
