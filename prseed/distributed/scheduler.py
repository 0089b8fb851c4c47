"""Each worker's scheduler: scrapy-redis's, keeping the worker's requests in Redis."""

from __future__ import annotations

from scrapy_redis.scheduler import Scheduler


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
