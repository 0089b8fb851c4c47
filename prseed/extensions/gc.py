"""Keep CPython's garbage collector out of the crawl's way.

A crawl makes millions of short-lived dicts and items, and every few hundred of them the
collector runs; its full collections scan the whole heap (Scrapy, Twisted, the parsed
schema, all imported modules) and free next to nothing: measured by ``python -m bench
replay``, 15–25 % of an offline replay's CPU.  Once the engine has started, the heap built at
start-up is frozen out of collections (``gc.freeze``) and the first generation collected after
``PRSEED_GC_THRESHOLD`` allocations instead of 700; cycles are still collected, less often.
Both are undone when the engine stops, so a process that runs several crawls is left as it was.
"""

from __future__ import annotations

import gc

from scrapy import signals

from prseed import config
from prseed.exceptions import off


class GarbageCollection:
    def __init__(self, crawler, threshold: int) -> None:
        self.crawler = crawler
        self.threshold = threshold
        self.previous: tuple[int, int, int] | None = None

    @classmethod
    def from_crawler(cls, crawler):
        threshold = config.value(crawler.settings, "PRSEED_GC_THRESHOLD")
        if not threshold:
            raise off(cls, "PRSEED_GC_THRESHOLD is 0: Python's own thresholds")
        extension = cls(crawler, threshold)
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_started(self) -> None:
        self.previous = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(self.threshold, *self.previous[1:])
        self.crawler.stats.set_value("prseed/gc/frozen_objects", gc.get_freeze_count())

    def engine_stopped(self) -> None:
        if self.previous is not None:
            gc.set_threshold(*self.previous)
            gc.unfreeze()
            self.previous = None
