"""Upsert items into SQLite or PostgreSQL, in batches, idempotently."""

from __future__ import annotations

import logging
import time

from scrapy.exceptions import DropItem
from twisted.internet import task

from prseed import items, signals
from prseed.db import Batch, open_database
from prseed.db.schema import TABLE_BY_ITEM, TABLES

logger = logging.getLogger(__name__)


class DatabasePipeline:
    """Buffers items and writes them in one transaction per batch: every
    ``PRSEED_DB_BATCH_SIZE`` items, every ``PRSEED_DB_FLUSH_SECONDS`` seconds (also
    while the crawl waits) and at close.  A pull request item replaces the PR's
    child collections, so what disappeared on GitHub disappears here too.
    """

    def __init__(self, crawler) -> None:
        settings = crawler.settings
        self.signals = crawler.signals
        self.stats = crawler.stats
        self.database_url = settings.get("DATABASE_URL")
        self.batch_size = settings.getint("PRSEED_DB_BATCH_SIZE")
        self.flush_seconds = settings.getfloat("PRSEED_DB_FLUSH_SECONDS")
        fetched_check_runs = settings.get("PRSEED_CHECK_RUNS") != "none"
        self.replaced_tables = tuple(
            table
            for table in TABLES
            if table.child_of_pull_request and (fetched_check_runs or table.item is not items.CheckRun)
        )
        self.database = None
        self.batch = Batch()
        self.synced: list[str] = []  # repositories whose completed sync is in the batch
        self.last_flush = time.monotonic()
        self.timer = task.LoopingCall(self.flush_if_due)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        self.database = open_database(self.database_url)
        logger.info("writing to %s", self.database.description)
        self.timer.start(self.flush_seconds, now=False)

    def process_item(self, item):
        for row in item.items if isinstance(item, items.Rows) else (item,):
            if type(row) in TABLE_BY_ITEM or isinstance(row, items.PullRequestComplete):
                self.batch.add(row, replaces_children=isinstance(row, items.PullRequest))
            if isinstance(row, items.SyncState) and row.run_started_at is None:
                self.synced.append(row.repository)
        if len(self.batch) >= self.batch_size:
            self.flush()
        if getattr(item, "BOOKKEEPING", False):
            raise DropItem("sync bookkeeping, written to the database", log_level="DEBUG")
        return item

    def flush_if_due(self) -> None:
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not len(self.batch):
            return
        batch, self.batch = self.batch, Batch()
        synced, self.synced = self.synced, []
        rejected = self.database.write(batch, self.replaced_tables)
        if synced:
            self.signals.send_catch_log(signals.repositories_synced, repositories=synced)
        for row in rejected:
            logger.error("database rejected a %s", row.describe())
        self.stats.inc_value("prseed/db/rejected_rows", len(rejected))
        self.stats.inc_value("prseed/db/batches")
        for table, rows in batch.rows.items():
            if rows:
                self.stats.inc_value(f"prseed/db/rows/{table}", len(rows))

    def close_spider(self) -> None:
        if self.timer.running:
            self.timer.stop()
        if self.database is not None:
            self.flush()
            self.database.close()
