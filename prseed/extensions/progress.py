"""Progress you can watch: a line per repository every few seconds, a live status line on a
terminal, and a table of what each repository produced and cost when the crawl ends."""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from collections.abc import Callable

from scrapy import signals
from scrapy.utils.asyncio import create_looping_call

from prseed import config, meta
from prseed import signals as prseed_signals
from prseed.exceptions import off
from prseed.middlewares.tokens import TokenPoolMiddleware
from prseed.protocols import ReportsProgress
from prseed.texttables import aligned
from prseed.timestamps import clock_time, epoch

logger = logging.getLogger(__name__)

LIVE_EVERY = 1.0  # seconds between redraws of the live status line
SAMPLE_EVERY = 2.0  # seconds; a resumed repository's rate counts from its first sight
CLEAR_LINE = "\r\x1b[K"  # back to the line's start, erase to its end
UNDER_WAY = ("listing PRs", "completing PRs")  # the states a pause holds up
SUMMARY_ROWS = (  # (header, table in progress()["rows"])
    ("PRs", "pull_requests"),
    ("reviews", "reviews"),
    ("commits", "commits"),
    ("files", "files"),
    ("check runs", "check_runs"),
)


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def clear_status_line(record: logging.LogRecord) -> bool:
    """A log handler filter: wipe the live status line before a record is written over it."""
    sys.stderr.write(CLEAR_LINE)
    return True


class RunningClock:
    """The time the crawl ran, leaving out the time it was paused (prseed's ``crawl_paused``
    and ``crawl_unpaused`` signals): rates count only that, so a paused crawl's ETA stands
    still instead of growing.  Times are ``time.time()``, as the spider's ``started_at``."""

    def __init__(self, crawler, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.pauses: list[list[float]] = []  # [start, end]; the end is inf while paused
        crawler.signals.connect(self.pause, signal=prseed_signals.crawl_paused)
        crawler.signals.connect(self.unpause, signal=prseed_signals.crawl_unpaused)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] == math.inf

    def pause(self) -> None:
        if not self.paused:
            self.pauses.append([self.clock(), math.inf])

    def unpause(self) -> None:
        if self.paused:
            self.pauses[-1][1] = self.clock()

    def ran(self, start: float, end: float) -> float:
        """Seconds from ``start`` to ``end`` the crawl was not paused."""
        paused = sum(max(min(stop, end) - max(begin, start), 0.0) for begin, stop in self.pauses)
        return max(end - start - paused, 0.0)


class EtaEstimator:
    """Seconds until a repository's PR list is read, at the rate its PRs came in while the
    crawl ran in this process: for the progress lines and the JSON-RPC ``progress``."""

    def __init__(self, crawler, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.running = RunningClock(crawler, clock)
        self.opened_at = clock()
        self.baselines: dict[str, tuple[float, int]] = {}  # repository -> (time, PRs) its rate counts from
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    def spider_opened(self) -> None:
        self.opened_at = self.clock()

    @property
    def paused(self) -> bool:
        return self.running.paused

    def started(self, report: dict) -> float:
        """When the repository's crawl started in this process (for a resumed crawl: when
        the process did, not when the crawl it continues did)."""
        return max(epoch(report["started_at"]), self.opened_at)

    def observe(self, reports: dict[str, dict], now: float) -> None:
        """Anchor the rate of every repository not seen before."""
        for repository, report in reports.items():
            self.baseline(repository, report, now)

    def baseline(self, repository: str, report: dict, now: float) -> tuple[float, int]:
        if repository not in self.baselines:
            fresh = epoch(report["started_at"]) >= math.floor(self.opened_at)
            # a resumed crawl's count includes PRs of an earlier process: count from here
            self.baselines[repository] = (
                (self.started(report), 0) if fresh else (now, report["pull_requests"])
            )
        return self.baselines[repository]

    def eta(self, repository: str, report: dict, now: float) -> float | None:
        """None when it cannot be told yet (no total, no PR yet) or the list is read."""
        since, fetched_then = self.baseline(repository, report, now)
        fetched, total = report["pull_requests"], report["total"]
        ran = self.running.ran(since, now)
        if report["state"] != "listing PRs" or total is None or fetched <= fetched_then or ran <= 0:
            return None
        return max(total - fetched, 0) * ran / (fetched - fetched_then)


class ProgressExtension:
    """Every ``PRSEED_PROGRESS_INTERVAL`` seconds, logs how far each repository's crawl is
    (the spider's ``progress()``), with an ETA from the rate its PRs came at, and which
    token a rate-limit wait is for; on a terminal it also redraws one status line on stderr.
    At close it logs a table per repository: rows fetched, points, requests, retries,
    elapsed time and state.  A crawl of hours should never look stuck, nor end unexplained.

    Its ``estimator`` is the crawl's one ETA: the JSON-RPC ``progress`` reads it too.
    """

    def __init__(self, crawler, interval: float, live: bool) -> None:
        self.crawler = crawler
        self.interval = interval
        self.live = live
        self.tokens: TokenPoolMiddleware | None = None
        self.tasks: list = []
        self.estimator = EtaEstimator(crawler)
        self.last_answer: dict[str, float] = {}  # repository -> when its last answer arrived

    @classmethod
    def from_crawler(cls, crawler):
        if not issubclass(crawler.spidercls, ReportsProgress):
            raise off(cls, "the spider reports no progress")
        interval = config.value(crawler.settings, "PRSEED_PROGRESS_INTERVAL")
        extension = cls(crawler, interval, live=bool(interval) and sys.stderr.isatty())
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.tokens = self.crawler.get_downloader_middleware(TokenPoolMiddleware)  # None offline
        self.start(self.sample, SAMPLE_EVERY)
        if self.interval:
            self.start(self.log_progress, self.interval)
        if self.live:
            for handler in self.terminal_handlers():
                handler.addFilter(clear_status_line)
            self.start(self.redraw, LIVE_EVERY)

    def start(self, function, interval: float) -> None:
        task = create_looping_call(function)
        task.start(interval, now=False)
        self.tasks.append(task)

    def response_received(self, request) -> None:
        repository = request.meta.get(meta.REPOSITORY)
        if repository is not None:
            self.last_answer[repository] = time.time()

    def spider_closed(self, reason: str) -> None:
        for task in self.tasks:
            if task.running:
                task.stop()
        if self.live:
            for handler in self.terminal_handlers():
                handler.removeFilter(clear_status_line)
            sys.stderr.write(CLEAR_LINE)
            sys.stderr.flush()
        reports = self.crawler.spider.progress()
        if reports:
            logger.info("crawl summary (%s):\n%s", reason, "\n".join(self.summary(reports, time.time())))

    # --- while the crawl runs -----------------------------------------------------------

    def sample(self) -> None:
        """Anchor the ETA of every repository as soon as it shows, lines or not."""
        self.estimator.observe(self.crawler.spider.progress(), time.time())

    def log_progress(self) -> None:
        now = time.time()
        for repository, report in self.crawler.spider.progress().items():
            logger.info("%s", self.describe(repository, report, now))
        wait = self.waiting()
        if wait is not None:
            logger.info(
                "waiting for a GitHub token: %s frees first, at %s (%s), in %s",
                wait["token"],
                clock_time(epoch(wait["until"])),
                wait["reason"],
                duration(max(epoch(wait["until"]) - now, 0)),
            )

    def waiting(self) -> dict | None:
        return self.tokens.waiting() if self.tokens is not None else None

    def describe(self, repository: str, report: dict, now: float) -> str:
        """``acme/widgets: 25/40 PRs (62%), 12 requests, 36 points, listing PRs, ETA 3.1 s``"""
        fetched, total = report["pull_requests"], report["total"]
        parts = [f"{fetched} PRs" if total is None else f"{fetched}/{total} PRs"]
        if total:
            parts[0] += f" ({100 * fetched // total}%)"
        parts += [f"{report['requests']} requests", f"{report['points']} points", report["state"]]
        if self.estimator.paused and report["state"] in UNDER_WAY:
            parts.append("paused")
        eta = self.estimator.eta(repository, report, now)
        if eta is not None:
            parts.append(f"ETA {duration(eta)}")
        return f"{repository}: {', '.join(parts)}"

    def redraw(self) -> None:
        reports = self.crawler.spider.progress()
        if reports:
            width = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be redrawn
            sys.stderr.write(CLEAR_LINE + self.status(reports, time.time())[:width])
            sys.stderr.flush()

    def status(self, reports: dict[str, dict], now: float) -> str:
        """``prseed: 1/2 repositories complete, 55/80 PRs, 30 requests, 90 points, ETA 12 s``"""
        fetched = sum(report["pull_requests"] for report in reports.values())
        totals = [report["total"] for report in reports.values()]
        complete = sum(report["state"] == "complete" for report in reports.values())
        paused = "paused, " if self.estimator.paused else ""
        parts = [
            f"prseed: {paused}{complete}/{len(reports)} repositories complete",
            f"{fetched}/{sum(totals)} PRs" if None not in totals else f"{fetched} PRs",
            f"{sum(report['requests'] for report in reports.values())} requests",
            f"{sum(report['points'] for report in reports.values())} points",
        ]
        etas = [self.estimator.eta(repository, report, now) for repository, report in reports.items()]
        if any(eta is not None for eta in etas):
            parts.append(f"ETA {duration(max(eta for eta in etas if eta is not None))}")
        wait = self.waiting()
        if wait is not None:
            parts.append(f"waiting for token {wait['token']} until {clock_time(epoch(wait['until']))}")
        return ", ".join(parts)

    # --- at the end ---------------------------------------------------------------------

    def summary(self, reports: dict[str, dict], now: float) -> list[str]:
        header = ["repository", *(name for name, _ in SUMMARY_ROWS), "points", "requests", "retries"]
        rows = [[*header, "elapsed", "state"]]
        counts = []
        for repository, report in reports.items():
            count = [report["rows"].get(table, 0) for _, table in SUMMARY_ROWS]
            count += [report["points"], report["requests"], report["retries"]]
            counts.append(count)
            elapsed = max(self.last_answer.get(repository, now) - self.estimator.started(report), 0)
            rows.append([repository, *map(str, count), duration(elapsed), report["state"]])
        if len(reports) > 1:
            totals = [str(sum(column)) for column in zip(*counts, strict=True)]
            rows.append(["total", *totals, duration(now - self.estimator.opened_at), ""])
        stats = self.crawler.stats
        waits = stats.get_value("prseed/ratelimit/waits", 0)
        waited = stats.get_value("prseed/ratelimit/seconds_waited", 0)
        return [
            *aligned(rows, left={0, len(header) + 1}),
            f"rate-limit waits: {waits} ({duration(waited)} waited)",
        ]

    @staticmethod
    def terminal_handlers() -> list[logging.Handler]:
        """The log handlers that write to the terminal the live status line is on."""
        return [
            handler for handler in logging.root.handlers if getattr(handler, "stream", None) is sys.stderr
        ]
