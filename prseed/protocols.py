"""What prseed's components may ask of a spider, as ``typing.Protocol`` classes.

A middleware or extension asks ``isinstance(spider, Protocol)`` and then calls the
methods named here, never an attribute it guesses: a spider that does not offer them
simply gets none of the behaviour (a plain Scrapy spider in a prseed project works).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from scrapy.http import Request


@runtime_checkable
class ChecksArguments(Protocol):
    """A spider that checks its arguments and settings before any request (``scrapy crawl``
    runs it first, so that a mistake is one line)."""

    @classmethod
    def check(cls, settings, arguments: dict) -> dict:
        """What the spider needs; :class:`~prseed.exceptions.ConfigError` for a mistake."""


@runtime_checkable
class LightensRequests(Protocol):
    """A spider whose queries can be made lighter after GitHub gave up on one (502, 504,
    a timeout): the retry middleware retries the lighter request."""

    def lighten_request(self, request: Request) -> Request:
        """The request to retry: fewer nodes per page, or ``request`` itself."""


@runtime_checkable
class ReportsProgress(Protocol):
    """A spider that says how far each repository's crawl is (the progress log, its
    summary table and the JSON-RPC service read it)."""

    def progress(self) -> dict[str, dict]:
        """Per repository: state, pull_requests, total, incomplete, requests, points,
        retries, rows (table -> count) and started_at."""
