"""Scrapy add-ons: settings that imply other settings."""

from __future__ import annotations

from prseed import config
from prseed.distributed.queue import default_worker_name, worker_key

SHARED_TOKEN_POOL = "prseed.distributed.SharedTokenPool"


class OfflineReplay:
    """``-s PRSEED_OFFLINE=1``: rebuild the database from the HTTP cache alone.

    Turns the cache on and makes a page missing from it an error (Scrapy's
    ``HTTPCACHE_IGNORE_MISSING``) instead of a download; no token is needed, and the
    token pool stays off, so nothing can reach the network.
    """

    @classmethod
    def update_settings(cls, settings) -> None:
        if config.value(settings, "PRSEED_OFFLINE"):
            settings.set("HTTPCACHE_ENABLED", True, priority="addon")
            settings.set("HTTPCACHE_IGNORE_MISSING", True, priority="addon")
            settings.set("RETRY_ENABLED", False, priority="addon")


class DistributedCrawl:
    """``-s PRSEED_REDIS_URL=redis://…``: this process is one worker of a distributed crawl.

    Scrapy's scheduler and dupefilter become scrapy-redis's, keyed by the worker's name
    (see :mod:`prseed.distributed` for why a repository's requests stay with one worker),
    and the queue is dropped when the worker stops: the database carries a stopped crawl.
    The :class:`~prseed.distributed.worker.Worker` extension joins the crawl (unless
    ``EXTENSIONS`` names it already, or turns it off with None), and the token pool is the
    one shared through Redis (unless ``-s PRSEED_TOKEN_POOL`` names another). Components
    are named by their public path in :mod:`prseed.distributed`.
    """

    @classmethod
    def update_settings(cls, settings) -> None:
        url = config.value(settings, "PRSEED_REDIS_URL")
        if not url:
            return
        if not config.value(settings, "PRSEED_WORKER_NAME"):
            settings.set("PRSEED_WORKER_NAME", default_worker_name(), priority="project")
        name = config.value(settings, "PRSEED_WORKER_NAME")
        key = worker_key(config.value(settings, "PRSEED_REDIS_PREFIX"), name)
        settings.set("REDIS_URL", url, priority="addon")
        settings.set("SCHEDULER", "prseed.distributed.RedisScheduler", priority="addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority="addon")
        settings.set("SCHEDULER_QUEUE_KEY", f"{key}:requests", priority="addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", f"{key}:dupefilter", priority="addon")
        settings.set("SCHEDULER_PERSIST", False, priority="addon")
        settings["EXTENSIONS"].setdefault("prseed.distributed.Worker", 500, priority="addon")
        if settings.get("PRSEED_TOKEN_POOL") in (None, config.setting("PRSEED_TOKEN_POOL").default):
            # at the project's priority, since prseed/settings.py sets the default there; a
            # pool chosen on the command line (higher) stays
            settings.set("PRSEED_TOKEN_POOL", SHARED_TOKEN_POOL, priority="project")
