"""Scrapy add-ons: settings that imply other settings."""

from __future__ import annotations


class OfflineReplay:
    """``-s PRSEED_OFFLINE=1``: rebuild the database from the HTTP cache alone.

    Turns the cache on and makes a page missing from it an error (Scrapy's
    ``HTTPCACHE_IGNORE_MISSING``) instead of a download; no token is needed, and the
    token pool stays off, so nothing can reach the network.
    """

    @classmethod
    def update_settings(cls, settings) -> None:
        if settings.getbool("PRSEED_OFFLINE"):
            settings.set("HTTPCACHE_ENABLED", True, priority="addon")
            settings.set("HTTPCACHE_IGNORE_MISSING", True, priority="addon")
            settings.set("RETRY_ENABLED", False, priority="addon")
