"""Progress you can watch: a line per repository every few seconds, a live status line on a
terminal, and a table of what each repository produced and cost when the crawl ends."""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from datetime import datetime

from scrapy import signals
from scrapy.utils.asyncio import create_looping_call

from prseed.exceptions import off
from prseed.middlewares.tokens import TokenPoolMiddleware
from prseed.tables import aligned

logger = logging.getLogger(__name__)

LIVE_EVERY = 1.0  # seconds between redraws of the live status line
CLEAR_LINE = "\r\x1b[K"  # back to the line's start, erase to its end
SUMMARY_ROWS = (  # (header, table in progress()["rows"])
    ("PRs", "pull_requests"),
    ("reviews", "reviews"),
    ("commits", "commits"),
    ("files", "files"),
    ("check runs", "check_runs"),
)


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def clock(timestamp: str) -> str:
    return datetime.fromisoformat(timestamp).strftime("%H:%M:%S UTC")


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


class ProgressExtension:
    """Every ``PRSEED_PROGRESS_INTERVAL`` seconds, logs how far each repository's crawl is
    (the spider's ``progress()``), with an ETA from the rate its PRs came at, and which
    token a rate-limit wait is for; on a terminal it also redraws one status line on stderr.
    At close it logs a table per repository: rows fetched, points, requests, retries,
    elapsed time and state.  A crawl of hours should never look stuck, nor end unexplained.
    """

    def __init__(self, crawler, interval: float, live: bool) -> None:
        self.crawler = crawler
        self.interval = interval
        self.live = live
        self.tokens: TokenPoolMiddleware | None = None
        self.tasks: list = []
        self.opened_at = 0.0
        self.baselines: dict[str, tuple[float, int]] = {}  # repository -> (time, PRs) its rate counts from
        self.last_answer: dict[str, float] = {}  # repository -> when its last answer arrived

    @classmethod
    def from_crawler(cls, crawler):
        if not callable(getattr(crawler.spidercls, "progress", None)):
            raise off(cls, "the spider reports no progress")
        interval = crawler.settings.getfloat("PRSEED_PROGRESS_INTERVAL")
        extension = cls(crawler, interval, live=bool(interval) and sys.stderr.isatty())
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.opened_at = time.time()
        self.tokens = self.crawler.get_downloader_middleware(TokenPoolMiddleware)  # None offline
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
        repository = request.meta.get("prseed_repository")
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

    def log_progress(self) -> None:
        now = time.time()
        for repository, report in self.crawler.spider.progress().items():
            logger.info("%s", self.describe(repository, report, now))
        wait = self.waiting()
        if wait is not None:
            logger.info(
                "waiting for a GitHub token: %s frees first, at %s (%s), in %s",
                wait["token"],
                clock(wait["until"]),
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
        eta = self.eta(repository, report, now)
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
        parts = [
            f"prseed: {complete}/{len(reports)} repositories complete",
            f"{fetched}/{sum(totals)} PRs" if None not in totals else f"{fetched} PRs",
            f"{sum(report['requests'] for report in reports.values())} requests",
            f"{sum(report['points'] for report in reports.values())} points",
        ]
        etas = [self.eta(repository, report, now) for repository, report in reports.items()]
        if any(eta is not None for eta in etas):
            parts.append(f"ETA {duration(max(eta for eta in etas if eta is not None))}")
        wait = self.waiting()
        if wait is not None:
            parts.append(f"waiting for token {wait['token']} until {clock(wait['until'])}")
        return ", ".join(parts)

    def started(self, report: dict) -> float:
        """When the repository's crawl started in this process (for a resumed crawl: when
        the process did, not when the crawl it continues did)."""
        return max(epoch(report["started_at"]), self.opened_at)

    def eta(self, repository: str, report: dict, now: float) -> float | None:
        """Seconds until the PR list is read, at the rate PRs came in since the repository
        started; None when that cannot be told yet (or the list is read)."""
        if repository not in self.baselines:
            fresh = epoch(report["started_at"]) >= math.floor(self.opened_at)
            # a resumed crawl's count includes PRs of an earlier process: count from here
            self.baselines[repository] = (
                (self.started(report), 0) if fresh else (now, report["pull_requests"])
            )
        since, fetched_then = self.baselines[repository]
        fetched, total = report["pull_requests"], report["total"]
        if report["state"] != "listing PRs" or total is None or fetched <= fetched_then or now <= since:
            return None
        rate = (fetched - fetched_then) / (now - since)
        return max(total - fetched, 0) / rate

    # --- at the end ---------------------------------------------------------------------

    def summary(self, reports: dict[str, dict], now: float) -> list[str]:
        header = ["repository", *(name for name, _ in SUMMARY_ROWS), "points", "requests", "retries"]
        rows = [[*header, "elapsed", "state"]]
        counts = []
        for repository, report in reports.items():
            count = [report["rows"].get(table, 0) for _, table in SUMMARY_ROWS]
            count += [report["points"], report["requests"], report["retries"]]
            counts.append(count)
            elapsed = max(self.last_answer.get(repository, now) - self.started(report), 0)
            rows.append([repository, *map(str, count), duration(elapsed), report["state"]])
        if len(reports) > 1:
            totals = [str(sum(column)) for column in zip(*counts, strict=True)]
            rows.append(["total", *totals, duration(now - self.opened_at), ""])
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
