"""Make sure spiders see only parsed GraphQL answers, and account for what they cost."""

from __future__ import annotations

import orjson
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import JsonResponse

from prseed import meta
from prseed.middlewares.retry import describe_request
from prseed.stats import inc_repository_value


class GraphQLResponse(JsonResponse):
    """A GraphQL answer whose :meth:`json` decodes with orjson, once.

    Decoding is the biggest single cost of an offline replay after the SQL, and orjson
    takes a third to a half of the time of the standard library's ``json`` (see the
    README's "Performance").  A body orjson refuses (not UTF-8, ``NaN``, a lone surrogate)
    goes to Scrapy's own :meth:`~scrapy.http.TextResponse.json`, so it decodes, or fails,
    as it did before.  orjson reads an integer beyond 64 bits as a float where ``json``
    keeps it exact; no GraphQL answer holds one (an ``Int`` has 32 bits, and GitHub sends
    its ``BigInt`` as a string).
    """

    __slots__ = ("_decoded",)

    def json(self):
        try:
            return self._decoded
        except AttributeError:
            pass
        try:
            self._decoded = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            self._decoded = super().json()
        return self._decoded


class GraphQLResponseMiddleware:
    """Retries a 200 whose body is not a JSON object (GitHub sends HTML error pages and,
    under load, truncated bodies) with Scrapy's retry machinery, so it is never parsed
    into garbage nor stored in the HTTP cache; counts ``rateLimit.cost``, answers per
    repository and GraphQL error types in stats.  The parsed body stays cached on the response for the spider.
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        operation = request.meta.get(meta.OPERATION)
        if operation is None or response.status != 200:
            return response
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            retry = get_retry_request(request, spider=self.crawler.spider, reason="invalid_json")
            if retry is None:
                raise IgnoreRequest(f"{operation}: GitHub's answer was not JSON, retries exhausted")
            retry.meta[meta.RETRY_CAUSE] = f"GitHub's answer to {describe_request(request)} was not JSON"
            return retry
        for error in payload.get("errors") or []:
            self.stats.inc_value(f"prseed/graphql_errors/{error.get('type', 'UNTYPED')}")
        inc_repository_value(self.stats, request, "requests")
        if "cached" not in response.flags:
            cost = ((payload.get("data") or {}).get("rateLimit") or {}).get("cost", 0)
            self.stats.inc_value("prseed/points", cost)
            inc_repository_value(self.stats, request, "points", cost)
        return response
