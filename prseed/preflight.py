"""Checks that run before a crawl starts, so a user mistake costs no request."""

from __future__ import annotations

from prseed import config
from prseed.config import check_settings
from prseed.db import open_database
from prseed.protocols import ChecksArguments
from prseed.tokens import check_credential_settings


def preflight(spidercls, settings, spider_arguments: dict) -> None:
    """Raise :class:`~prseed.exceptions.ConfigError` for anything the crawl would trip on.

    The same functions run again inside the crawl (spider, middlewares, pipeline), so a
    crawl started from Python is checked as well; here they run first, before Scrapy
    logs anything, so the user sees one line instead of a banner and a traceback.
    """
    check_settings(settings)
    if issubclass(spidercls, ChecksArguments):
        spidercls.check(settings, spider_arguments)
    if not config.value(settings, "PRSEED_OFFLINE"):
        check_credential_settings(settings)
    if settings.getdict("ITEM_PIPELINES").get("prseed.pipelines.database.DatabasePipeline") is not None:
        open_database(config.value(settings, "DATABASE_URL")).close()
