"""``scrapy webhook``: receive GitHub's webhook deliveries and queue the repositories they
name for the workers of a distributed crawl (:mod:`prseed.webhooks`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from redis.exceptions import RedisError
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.reactor import listen_tcp
from twisted.internet.error import CannotListenError
from twisted.internet.threads import deferToThread

from prseed import config
from prseed.cli import EXIT_USAGE, PrseedCommand, print_error
from prseed.distributed import RepositoryQueue, check_redis
from prseed.distributed.known import read_known_repositories
from prseed.exceptions import ConfigError
from prseed.extensions.jsonrpc import is_loopback
from prseed.urls import without_password
from prseed.webhooks import PATH, AllowList, Receiver, allowed_patterns, delivery_counts, site

if TYPE_CHECKING:
    import argparse

logger = logging.getLogger(__name__)


class Command(PrseedCommand):
    """A long-running service on Scrapy's reactor: the checks come first (a mistake is one
    line and exit 2, before Scrapy's banner), then it listens until Ctrl-C."""

    requires_crawler_process = True  # Scrapy's reactor, its logging and its Ctrl-C handling
    default_settings: ClassVar[dict[str, Any]] = {}

    def syntax(self) -> str:
        return "[-s PRSEED_WEBHOOK_PORT=PORT] [-s PRSEED_WEBHOOK_REPOSITORIES=OWNER/NAME,OWNER/*]"

    def short_desc(self) -> str:
        return "Receive GitHub webhook deliveries and queue their repositories for the workers"

    def long_desc(self) -> str:
        return (
            "Listen on PRSEED_WEBHOOK_HOST:PRSEED_WEBHOOK_PORT for GitHub's deliveries "
            f"(POST {PATH.decode()}), "
            "verify each with PRSEED_WEBHOOK_SECRET (or the environment's PRSEED_WEBHOOK_SECRET) and put "
            "the repository of each pull-request, review, comment, check, status or deployment event on "
            "the distributed queue (PRSEED_REDIS_URL) at webhook priority, for an incremental sync. "
            "Only repositories of PRSEED_WEBHOOK_REPOSITORIES, or else those the database already holds, "
            "are queued. Stop it with Ctrl-C."
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        try:
            self.prepare(args)
        except ConfigError as exc:
            print_error(str(exc))
            raise SystemExit(EXIT_USAGE) from None

    def prepare(self, args: list[str]) -> None:
        """Everything that can be wrong, checked before anything listens."""
        settings = self.settings
        if args:
            raise ConfigError(f"webhook takes no arguments, got {' '.join(args)!r}: use -s settings")
        config.check_settings(settings)
        secret = config.secret(settings, "PRSEED_WEBHOOK_SECRET")
        if secret is None:
            raise ConfigError(
                "PRSEED_WEBHOOK_SECRET is not set: export PRSEED_WEBHOOK_SECRET=… (the secret of the "
                "webhook on GitHub); without it anyone could make prseed crawl"
            )
        if not config.value(settings, "PRSEED_REDIS_URL"):
            raise ConfigError(
                "PRSEED_REDIS_URL is not set: the receiver queues repositories in Redis for the workers"
            )
        self.patterns = allowed_patterns(config.value(settings, "PRSEED_WEBHOOK_REPOSITORIES"))
        self.host = config.value(settings, "PRSEED_WEBHOOK_HOST").strip()
        self.ports = config.value(settings, "PRSEED_WEBHOOK_PORT")
        check_redis(settings)
        self.known = read_known_repositories(config.value(settings, "DATABASE_URL"))
        self.secret = secret.encode("utf-8")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        settings = self.settings
        queue = RepositoryQueue.from_settings(settings)
        allow = AllowList(self.patterns, self.known)
        receiver = Receiver(self.secret, queue, allow, config.value(settings, "PRSEED_WEBHOOK_DELIVERY_TTL"))
        try:
            port = listen_tcp(self.ports, self.host, site(receiver))
        except CannotListenError as exc:
            wanted = "-".join(str(port) for port in self.ports)
            self.fail(
                f"cannot listen on {self.host} port {wanted} ({exc.socketError}): set PRSEED_WEBHOOK_PORT"
            )
            return
        address = port.getHost()
        host = f"[{address.host}]" if ":" in address.host else address.host
        logger.info(
            "webhook receiver listening on http://%s:%d%s; queuing on %s for %s",
            host,
            address.port,
            PATH.decode(),
            without_password(config.value(settings, "PRSEED_REDIS_URL")),
            allow.describe(),
        )
        if self.patterns is None and not self.known:
            logger.warning(
                "the database holds no repository yet, so every delivery is ignored until it does "
                "(or set PRSEED_WEBHOOK_REPOSITORIES)"
            )
        if not is_loopback(self.host):
            logger.info("listening on %s: every delivery is still verified with the secret", self.host)
        refresher = KnownRefresher(config.value(settings, "DATABASE_URL"), allow)
        looping = create_looping_call(refresher.refresh)
        looping.start(config.value(settings, "PRSEED_WEBHOOK_REFRESH_SECONDS"), now=False)
        self.crawler_process.start(stop_after_crawl=False)
        try:
            counts = delivery_counts(queue)
        except RedisError:
            counts = {}
        logger.info(
            "webhook receiver stopped; deliveries so far: %s",
            ", ".join(f"{name} {count}" for name, count in counts.items()) or "none",
        )


class KnownRefresher:
    """Re-reads the database's repositories in a thread, so no delivery waits for the
    database; while it cannot be read, the last list stands (said at each attempt)."""

    def __init__(self, url: str, allow: AllowList) -> None:
        self.url = url
        self.allow = allow
        self.busy = False

    def refresh(self) -> None:
        if self.busy:
            return
        self.busy = True
        deferred = deferToThread(read_known_repositories, self.url)
        deferred.addCallbacks(self.allow.update, self.failed)
        deferred.addBoth(self.done)

    def failed(self, failure) -> None:
        logger.warning(
            "cannot read the database's repositories (%s); going on with the last list", failure.value
        )

    def done(self, _) -> None:
        self.busy = False
