"""Scrapy's log formatter, minus the per-item messages no handler would print."""

from __future__ import annotations

import logging

from scrapy.logformatter import LogFormatter


class QuietLogFormatter(LogFormatter):
    """Skips "Scraped from …" and "Dropped: …" messages below ``LOG_LEVEL``.

    Scrapy builds a log record for every item even when no handler prints it; with a row
    per item that was a tenth of an offline replay's time (see bench/replay.py).
    """

    def __init__(self, level: int = logging.DEBUG) -> None:
        self.level = level

    @classmethod
    def from_crawler(cls, crawler):
        level = logging.getLevelName(str(crawler.settings.get("LOG_LEVEL")).upper())
        return cls(level if isinstance(level, int) else logging.DEBUG)

    def shown(self, logkws):
        level = logkws.get("level", logging.INFO) if logkws else logging.INFO
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())
        return logkws if logkws is not None and level >= self.level else None

    def scraped(self, item, response, spider):
        return self.shown(super().scraped(item, response, spider))

    def dropped(self, item, exception, response, spider):
        return self.shown(super().dropped(item, exception, response, spider))
