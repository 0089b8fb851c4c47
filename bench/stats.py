"""A stats collector that also writes the crawl's final stats to a JSON file, so that a
benchmark can read them from a ``scrapy crawl`` subprocess: ``-s STATS_CLASS=bench.stats.JsonStats
-s BENCH_STATS_FILE=/abs/path.json``.

It also records ``bench/ready_monotonic``: the machine-wide monotonic clock when Scrapy opens
the stats, which its engine does once the item pipelines are open (prseed's database open, its
schema created) and before the spider's first request, so the end of the process's start-up.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from scrapy.statscollectors import MemoryStatsCollector

READY = "bench/ready_monotonic"


class JsonStats(MemoryStatsCollector):
    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.path = crawler.settings.get("BENCH_STATS_FILE")

    def open_spider(self, *args, **kwargs) -> None:
        super().open_spider(*args, **kwargs)
        self.set_value(READY, time.monotonic())

    def _persist_stats(self, stats, *args) -> None:
        super()._persist_stats(stats, *args)
        if self.path:
            Path(self.path).write_text(json.dumps(stats, default=str, indent=1, sort_keys=True))
