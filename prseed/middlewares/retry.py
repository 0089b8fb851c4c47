"""Scrapy's retries, spaced out: exponential back-off with jitter before each retry."""

from __future__ import annotations

import logging
import random

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.asyncio import sleep
from twisted.internet import defer

logger = logging.getLogger(__name__)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (same settings, same stats) plus a pause before a retried
    request is sent: ``RETRY_BACKOFF_BASE * 2 ** (retry - 1)`` seconds, at most
    ``RETRY_BACKOFF_MAX``, times a random 0.5-1.5.  GitHub's 502/504 mean "your query ran
    too long" or "we are busy"; an immediate retry usually meets the same fate.

    Every retry Scrapy makes (5xx, timeouts, connection resets, answers that are not JSON)
    goes through here, because all of them carry ``retry_times`` in meta.  The pause is a
    non-blocking sleep taken before a token is given to the request.

    After a 502, 504 or timeout, a spider may make the retried request cheaper through
    ``lighten_request(request) -> Request`` (prseed's spider asks for fewer pull requests).
    """

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX")
        self.rng = random.Random()

    def backoff(self, retry: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** (retry - 1)) * self.rng.uniform(0.5, 1.5)

    async def process_request(self, request):
        retry = request.meta.get("retry_times", 0)
        if retry and request.meta.get("prseed_backed_off") != retry:
            request.meta["prseed_backed_off"] = retry
            seconds = self.backoff(retry)
            self.crawler.stats.inc_value("prseed/retry/backoff_seconds", round(seconds, 3))
            self.crawler.stats.inc_value(f"prseed/repo/{request.meta.get('prseed_repository')}/retries")
            await sleep(seconds)
        return None

    def _retry(self, request, reason):
        retried = super()._retry(request, reason)
        lighten = getattr(self.crawler.spider, "lighten_request", None)
        if retried is not None and lighten is not None and self.query_too_heavy(reason):
            retried = lighten(retried)
        return retried

    @staticmethod
    def query_too_heavy(reason) -> bool:
        """GitHub stops a query after 10 s and answers 502 or 504; a slow one may time out here."""
        if isinstance(reason, str):
            return reason.startswith(("502", "504"))
        return isinstance(reason, TimeoutError | defer.TimeoutError) or (
            isinstance(reason, type) and issubclass(reason, TimeoutError | defer.TimeoutError)
        )
