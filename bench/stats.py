"""A stats collector that also writes the crawl's final stats to a JSON file, so that a
benchmark can read them from a ``scrapy crawl`` subprocess: ``-s STATS_CLASS=bench.stats.JsonStats
-s BENCH_STATS_FILE=/abs/path.json``."""

from __future__ import annotations

import json
from pathlib import Path

from scrapy.statscollectors import MemoryStatsCollector


class JsonStats(MemoryStatsCollector):
    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.path = crawler.settings.get("BENCH_STATS_FILE")

    def _persist_stats(self, stats, *args) -> None:
        super()._persist_stats(stats, *args)
        if self.path:
            Path(self.path).write_text(json.dumps(stats, default=str, indent=1, sort_keys=True))
