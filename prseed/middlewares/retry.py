"""Scrapy's retries, spaced out and said: exponential back-off with jitter before each
retry, and an INFO line with its cause and wait."""

from __future__ import annotations

import logging
import random

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.utils.asyncio import sleep
from twisted.internet import defer, error
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from prseed import config, meta
from prseed.protocols import LightensRequests
from prseed.stats import inc_repository_value

logger = logging.getLogger(__name__)

# Scrapy 2.19 raises its own download exceptions; Twisted's can still come through.
TIMEOUTS = (
    DownloadTimeoutError,
    TimeoutError,
    defer.TimeoutError,
    error.TimeoutError,
    error.TCPTimedOutError,
)
NETWORK_CAUSES = (  # most specific first
    ((DownloadConnectionRefusedError, error.ConnectionRefusedError), "connection refused"),
    ((CannotResolveHostError, error.DNSLookupError), "unknown host (DNS lookup failed)"),
    (TIMEOUTS, "timed out"),
    (
        (
            ResponseDataLossError,
            error.ConnectionLost,
            error.ConnectionDone,
            ResponseFailed,
            ResponseNeverReceived,
        ),
        "connection lost",
    ),
    ((DownloadFailedError, error.ConnectError), "connection failed"),
)


def network_cause(failure) -> str:
    """A few words for why a download failed (an exception, or its class)."""
    kind = failure if isinstance(failure, type) else type(failure)
    for classes, words in NETWORK_CAUSES:
        if issubclass(kind, classes):
            return words
    text = "" if isinstance(failure, type) else " ".join(str(failure).split())
    return text or kind.__name__


def describe_request(request) -> str:
    if meta.CHECK_TOKEN in request.meta:
        return "the token check"
    operation = request.meta.get(meta.OPERATION, "a request")
    repository = request.meta.get(meta.REPOSITORY)
    return f"{operation} of {repository}" if repository else operation


def retry_cause(request, reason) -> str:
    """What went wrong, as the retry's log line says it."""
    if isinstance(reason, str):  # Scrapy's words for a status it retries: "502 Bad Gateway"
        return f"GitHub answered {reason} to {describe_request(request)}"
    return f"cannot reach GitHub at {request.url}: {network_cause(reason)}"


def seconds_text(seconds: float) -> str:
    return f"{seconds:.0f}" if seconds >= 1 else f"{seconds:.1f}"


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (same settings, same stats) plus a pause before a retried
    request is sent: ``RETRY_BACKOFF_BASE * 2 ** (retry - 1)`` seconds, at most
    ``RETRY_BACKOFF_MAX``, times a random 0.5-1.5.  GitHub's 502/504 mean "your query ran
    too long" or "we are busy"; an immediate retry usually meets the same fate.

    Every retry Scrapy makes (5xx, timeouts, connection resets, answers that are not JSON)
    goes through here, because all of them carry ``retry_times`` in meta.  The pause is a
    non-blocking sleep taken before a token is given to the request, announced at INFO
    with the cause that whoever retried the request put in ``meta[meta.RETRY_CAUSE]``:
    ``cannot reach GitHub at URL: connection refused; retry 2/5 in 4 s``.

    After a 502, 504 or timeout, a spider may make the retried request cheaper through
    ``lighten_request(request) -> Request`` (prseed's spider asks for fewer pull requests).
    """

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.backoff_base = config.value(settings, "RETRY_BACKOFF_BASE")
        self.backoff_max = config.value(settings, "RETRY_BACKOFF_MAX")
        self.rng = random.Random()

    def backoff(self, retry: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** (retry - 1)) * self.rng.uniform(0.5, 1.5)

    async def process_request(self, request):
        retry = request.meta.get("retry_times", 0)
        if retry and request.meta.get(meta.BACKED_OFF) != retry:
            request.meta[meta.BACKED_OFF] = retry
            seconds = self.backoff(retry)
            logger.info(
                "%s; retry %d/%d in %s s",
                request.meta.pop(meta.RETRY_CAUSE, f"{describe_request(request)} failed"),
                retry,
                request.meta.get("max_retry_times", self.max_retry_times),
                seconds_text(seconds),
            )
            self.crawler.stats.inc_value("prseed/retry/backoff_seconds", round(seconds, 3))
            inc_repository_value(self.crawler.stats, request, "retries")
            await sleep(seconds)
        return None

    def _retry(self, request, reason):
        retried = super()._retry(request, reason)
        if retried is None:
            return None
        retried.meta[meta.RETRY_CAUSE] = retry_cause(request, reason)
        spider = self.crawler.spider
        if isinstance(spider, LightensRequests) and self.query_too_heavy(reason):
            retried = spider.lighten_request(retried)
        return retried

    @staticmethod
    def query_too_heavy(reason) -> bool:
        """GitHub stops a query after 10 s and answers 502 or 504; a slow one may time out here."""
        if isinstance(reason, str):
            return reason.startswith(("502", "504"))
        return isinstance(reason, TIMEOUTS) or (isinstance(reason, type) and issubclass(reason, TIMEOUTS))
