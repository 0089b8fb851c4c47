"""Put a GitHub token on each API request at download time, and take it off again."""

from __future__ import annotations

from prseed.tokens import load_tokens


class GitHubTokenMiddleware:
    """Sets ``Authorization`` just before download and strips it from the request as soon
    as the download is over, so the token is never in a request that is retried
    (Scrapy copies headers), cached, or pickled into a JOBDIR queue.

    It runs after the HTTP cache's ``process_request`` (a cache hit needs no token) and
    before everything else's ``process_response``.
    """

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens

    @classmethod
    def from_crawler(cls, crawler):
        return cls(load_tokens(crawler.settings))

    def process_request(self, request):
        if "prseed_operation" in request.meta:
            request.headers["Authorization"] = f"bearer {self.tokens[0]}"

    def process_response(self, request, response):
        request.headers.pop("Authorization", None)
        return response

    def process_exception(self, request, exception):
        request.headers.pop("Authorization", None)
