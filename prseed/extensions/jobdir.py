"""Keep a JOBDIR only when the crawl that wrote it stopped cleanly."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from scrapy import signals
from scrapy.utils.job import job_dir

from prseed.exceptions import off

logger = logging.getLogger(__name__)

MARKER = "prseed-stopped-cleanly"


class JobdirGuard:
    """Scrapy writes a JOBDIR's queue state and spider state only when the spider closes.
    After ``kill -9``, a crash or a second Ctrl-C, the queue on disk is stale or torn, and
    requests may be marked seen that never produced a row.  This extension marks a clean
    stop, and when the marker is missing it discards the JOBDIR before Scrapy reads it:
    the crawl then continues from what the database says (see the ``prs`` spider).
    """

    def __init__(self, jobdir: Path) -> None:
        self.jobdir = jobdir

    @classmethod
    def from_crawler(cls, crawler):
        directory = job_dir(crawler.settings)
        if not directory:
            raise off(cls, "JOBDIR is not set")
        guard = cls(Path(directory))
        guard.discard_if_unclean()
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        return guard

    def discard_if_unclean(self) -> None:
        marker = self.jobdir / MARKER
        leftovers = [path for path in self.jobdir.iterdir() if path != marker]
        if leftovers and not marker.exists():
            logger.warning(
                "the previous crawl did not stop cleanly (killed?), so its JOBDIR %s cannot be "
                "trusted: discarding it and continuing from what the database says",
                self.jobdir,
            )
            for path in leftovers:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        marker.unlink(missing_ok=True)

    def spider_closed(self, spider, reason: str) -> None:
        (self.jobdir / MARKER).write_text(f"{reason}\n")
