"""The Redis client every part of a distributed crawl uses, the check that it can be
reached, and how an outage is reported."""

from __future__ import annotations

import logging
import time

from prseed import config
from prseed.exceptions import ConfigError
from prseed.urls import without_password

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 5.0  # seconds a Redis call may take before it counts as an outage


def redis_server(settings):
    """A Redis client for ``PRSEED_REDIS_URL``. Its calls run in the reactor's thread, so a
    Redis that stops answering must cost seconds, not a hung worker."""
    from scrapy_redis import connection

    return connection.get_redis(
        url=config.value(settings, "PRSEED_REDIS_URL"),
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
    )


def check_redis(settings) -> None:
    """A ConfigError naming the fix when ``PRSEED_REDIS_URL`` cannot be used."""
    url = config.value(settings, "PRSEED_REDIS_URL")
    try:
        redis_server(settings).ping()
    except ValueError as exc:
        raise ConfigError(f"PRSEED_REDIS_URL={without_password(url)!r} is not a Redis URL ({exc})") from None
    except Exception as exc:
        raise ConfigError(
            f"cannot reach Redis at {without_password(url)} ({exc}): "
            "start redis-server or fix PRSEED_REDIS_URL"
        ) from None


class Outage:
    """Reports Redis being unreachable once a minute, not once per request; the caller goes
    on with what it knows (a worker keeps crawling what it holds, a token pool its own view)."""

    EVERY = 60.0

    def __init__(self, what: str) -> None:
        self.what = what
        self.last = -self.EVERY

    def report(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self.last >= self.EVERY:
            self.last = now
            logger.warning("Redis unreachable (%s): %s; going on and trying again", exc, self.what)
