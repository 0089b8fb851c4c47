"""The webhook receiver ``scrapy webhook`` runs: GitHub's deliveries put repositories on the
distributed queue (README: "In production").

Each delivery is verified before anything else: a body over GitHub's 25 MB is 413 (it is not
even kept), a missing or wrong ``X-Hub-Signature-256`` 401, a body that is not a JSON object
400. Then, answering within GitHub's 10 seconds by only queuing work:

* a redelivery (an ``X-GitHub-Delivery`` seen within ``PRSEED_WEBHOOK_DELIVERY_TTL``) is 200
  and queues nothing;
* ``ping`` is 200;
* an event of :data:`SYNC_EVENTS` (``issue_comment`` only on a pull request) about an allowed
  repository queues it at webhook priority, pushed-at from the payload: 200;
* anything else (another event, a stranger repository) is 202 and queues nothing.

Every outcome is counted in Redis (``PREFIX:webhook:deliveries``, shown by ``scrapy enqueue
--list``) and logged on one line. The secret is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from twisted.web.resource import Resource
from twisted.web.server import Request

from prseed.distributed.priority import WEBHOOK, entry
from prseed.distributed.queue import RepositoryQueue
from prseed.exceptions import ConfigError
from prseed.extensions.jsonrpc import QuietSite, encode, peer
from prseed.spiders.arguments import repository as checked_repository
from prseed.timestamps import epoch

logger = logging.getLogger(__name__)

PATH = b"/webhook"
MAX_BODY = 25 * 1024 * 1024  # bytes: GitHub sends no larger payload
SIGNATURE_HEADER = "X-Hub-Signature-256"
SYNC_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "issue_comment",
        "check_run",
        "check_suite",
        "status",
        "deployment",
        "deployment_status",
    }
)


def signature(secret: bytes, body: bytes) -> str:
    """GitHub's ``X-Hub-Signature-256`` of ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verified(secret: bytes, body: bytes, given: str | None) -> bool:
    """Whether ``given`` is the body's signature, compared in constant time."""
    return given is not None and hmac.compare_digest(signature(secret, body).encode(), given.encode())


def counts_key(prefix: str) -> str:
    return f"{prefix}:webhook:deliveries"


def delivery_key(prefix: str, delivery: str) -> str:
    """GitHub's delivery ids are GUIDs; whatever else a header holds is cut to that size."""
    return f"{prefix}:webhook:delivery:{delivery[:64]}"


def delivery_counts(queue: RepositoryQueue) -> dict[str, int]:
    """How many deliveries had each outcome, since Redis holds the counts."""
    counts = queue.server.hgetall(counts_key(queue.prefix))
    return {name.decode(): int(count) for name, count in sorted(counts.items())}


def allowed_patterns(value: Any) -> tuple[str, ...] | None:
    """``PRSEED_WEBHOOK_REPOSITORIES`` checked: ``OWNER/NAME`` or ``OWNER/*`` each; None unset."""
    if not value:
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    patterns = []
    for name in (str(name).strip() for name in names):
        if not name:
            continue
        owner, _, rest = name.partition("/")
        try:
            if rest == "*":
                checked_repository(f"{owner}/any", "PRSEED_WEBHOOK_REPOSITORIES")
            else:
                name = checked_repository(name, "PRSEED_WEBHOOK_REPOSITORIES")
        except ConfigError:
            raise ConfigError(
                f"PRSEED_WEBHOOK_REPOSITORIES={name!r} is neither OWNER/NAME nor OWNER/*: "
                "write e.g. acme/widgets,acme-labs/*"
            ) from None
        patterns.append(name)
    if not patterns:
        raise ConfigError("PRSEED_WEBHOOK_REPOSITORIES names no repository: give OWNER/NAME or OWNER/*")
    return tuple(patterns)


class AllowList:
    """Which repositories deliveries may queue, and under which name: the patterns of
    ``PRSEED_WEBHOOK_REPOSITORIES`` when set, else the database's repositories. GitHub's
    names are case-insensitive; a repository is queued as the allow-list spells it, so that
    the database does not get a second spelling of it."""

    def __init__(self, patterns: tuple[str, ...] | None, known: Mapping[str, str | None]) -> None:
        self.patterns = patterns
        self.known: Mapping[str, str | None] = known  # repository -> newest activity, from the database
        self._lower = {name.lower(): name for name in known}

    def update(self, known: Mapping[str, str | None]) -> None:
        self.known, self._lower = known, {name.lower(): name for name in known}

    def allowed(self, repository: str) -> str | None:
        """The name to queue ``repository`` (``full_name`` of a payload) under; None: a stranger."""
        if self.patterns is None:
            return self._lower.get(repository.lower())
        owner = repository.partition("/")[0].lower()
        for pattern in self.patterns:
            if pattern.lower() == repository.lower():
                return pattern
            if pattern.endswith("/*") and pattern[:-2].lower() == owner:
                return repository
        return None

    def describe(self) -> str:
        if self.patterns is None:
            return f"the {len(self.known)} repositories of the database"
        return ", ".join(self.patterns)


@dataclass(frozen=True)
class Answer:
    status: int
    outcome: str  # what is counted
    message: str

    def body(self) -> bytes:
        return encode({"outcome": self.outcome, "message": self.message})


def pushed_at(payload: dict) -> float | None:
    """``repository.pushed_at`` of a payload, as Unix time: GitHub sends a number in some
    events and an ISO-8601 string in others; None when absent or unreadable."""
    value = (payload.get("repository") or {}).get("pushed_at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return epoch(value)
        except ValueError:
            return None
    return None


class Receiver:
    """What a delivery does, HTTP aside (:class:`WebhookResource` serves it)."""

    def __init__(self, secret: bytes, queue: RepositoryQueue, allow: AllowList, delivery_ttl: float) -> None:
        self._secret = secret
        self.queue = queue
        self.allow = allow
        self.delivery_ttl = delivery_ttl

    def count(self, outcome: str) -> None:
        try:
            self.queue.server.hincrby(counts_key(self.queue.prefix), outcome, 1)
        except RedisError as exc:
            logger.warning("webhook: cannot count a delivery (%s)", exc)

    def receive(self, headers: Mapping[str, str], body: bytes, client: str) -> Answer:
        """The answer to one delivery of at most :data:`MAX_BODY` bytes; counted and logged."""
        event = headers.get("X-GitHub-Event") or "-"
        delivery = headers.get("X-GitHub-Delivery") or ""
        try:
            answer = self.decide(headers, body, event, delivery)
        except RedisError as exc:
            answer = Answer(503, "redis_unreachable", f"cannot reach Redis: {exc}; redeliver it later")
        self.count(answer.outcome)
        level = logging.WARNING if answer.status in (401, 503) else logging.INFO
        logger.log(
            level,
            "webhook: %s delivery %s from %s: %s (%d)",
            event[:50],
            delivery[:50] or "-",
            client,
            answer.message,
            answer.status,
        )
        return answer

    def decide(self, headers: Mapping[str, str], body: bytes, event: str, delivery: str) -> Answer:
        given = headers.get(SIGNATURE_HEADER)
        if given is None:
            return Answer(401, "unsigned", f"no {SIGNATURE_HEADER} header: is the webhook's secret set?")
        if not verified(self._secret, body, given):
            return Answer(401, "forged", f"wrong {SIGNATURE_HEADER}: not signed with this receiver's secret")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            return Answer(400, "not_json", "the body is not a JSON object: set the content type to JSON")
        if delivery and not self.first_delivery(delivery):
            return Answer(200, "replayed", "a redelivery: queued when first delivered")
        answer = self.act(event, delivery, payload)
        if delivery and answer.status >= 500:
            self.queue.server.delete(delivery_key(self.queue.prefix, delivery))
        return answer

    def first_delivery(self, delivery: str) -> bool:
        key = delivery_key(self.queue.prefix, delivery)
        return bool(self.queue.server.set(key, 1, nx=True, ex=max(1, int(self.delivery_ttl))))

    def act(self, event: str, delivery: str, payload: dict) -> Answer:
        if event == "ping":
            return Answer(200, "ping", "pong")
        if event not in SYNC_EVENTS:
            return Answer(202, "ignored_event", f"event {event!r} asks for no sync: nothing queued")
        if event == "issue_comment" and not (payload.get("issue") or {}).get("pull_request"):
            return Answer(202, "not_a_pull_request", "a comment on an issue, not a pull request: ignored")
        full_name = (payload.get("repository") or {}).get("full_name")
        if not isinstance(full_name, str) or "/" not in full_name:
            return Answer(202, "no_repository", "the payload names no repository: nothing queued")
        repository = self.allow.allowed(full_name)
        if repository is None:
            stranger = f"{full_name[:200]} is not on the allow-list ({self.allow.describe()}): ignored"
            return Answer(202, "stranger", stranger)
        by = f"{event} delivery {delivery[:36]}".strip()
        queued = entry(repository, WEBHOOK, by, pushed_at(payload), self.allow.known)
        [outcome] = self.queue.add([queued])
        said = {
            "queued": "queued",
            "raised": "moved up the queue",
            "kept": "queued already",
            "dirty": "being crawled: queued again once that crawl ends",
        }[outcome]
        return Answer(200, outcome, f"{repository}: {said}")


class LimitedRequest(Request):
    """A request whose body is not kept past :data:`MAX_BODY` bytes (by ``Content-Length``
    or by what arrives); the resource answers such a request 413."""

    oversized = False
    received = 0

    def gotLength(self, length: int | None) -> None:  # noqa: N802 (Twisted's name)
        self.oversized = length is not None and length > MAX_BODY
        super().gotLength(0 if self.oversized else length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 (Twisted's name)
        self.received += len(data)
        self.oversized = self.oversized or self.received > MAX_BODY
        if not self.oversized:
            super().handleContentChunk(data)


class WebhookResource(Resource):
    """``POST /webhook``; everything else is an HTTP error with a JSON body."""

    isLeaf = True

    def __init__(self, receiver: Receiver) -> None:
        super().__init__()
        self.receiver = receiver

    def render(self, request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"server", b"prseed")
        if request.path != PATH:
            return self.refuse(request, Answer(404, "not_found", "not found: deliveries go to POST /webhook"))
        if request.method != b"POST":
            request.setHeader(b"allow", b"POST")
            answer = Answer(405, "wrong_method", "method not allowed: GitHub delivers with POST")
            return self.refuse(request, answer)
        if request.oversized:
            answer = Answer(413, "oversized", f"the body is larger than {MAX_BODY} bytes")
            self.receiver.count(answer.outcome)
            logger.warning(
                "webhook: refused a body of more than %d bytes from %s (413)", MAX_BODY, peer(request)
            )
            return self.refuse(request, answer)
        headers = {}
        for name in (SIGNATURE_HEADER, "X-GitHub-Event", "X-GitHub-Delivery"):
            value = request.getHeader(name.encode())
            if value is not None:
                headers[name] = value.decode("latin-1")
        answer = self.receiver.receive(headers, request.content.read(), peer(request))
        request.setResponseCode(answer.status)
        return answer.body()

    @staticmethod
    def refuse(request, answer: Answer) -> bytes:
        request.setResponseCode(answer.status)
        return answer.body()


def site(receiver: Receiver) -> QuietSite:
    """The Twisted site of the receiver: no access log, no tracebacks, bodies capped."""
    served = QuietSite(WebhookResource(receiver), requestFactory=LimitedRequest)
    served.displayTracebacks = False
    return served
