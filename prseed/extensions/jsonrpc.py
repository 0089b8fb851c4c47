"""A JSON-RPC 2.0 web service to watch and steer a running crawl.

The settings and the idea come from scrapy-jsonrpc (``JSONRPC_ENABLED``, ``JSONRPC_HOST``,
``JSONRPC_PORT``, ``JSONRPC_SECRET``, a web service on the crawl's own reactor), but
scrapy-jsonrpc 0.3.0 no longer imports on current Scrapy, and it walked ``getattr`` from the
Crawler object for whoever asked, without authentication, with
``Access-Control-Allow-Origin: *``.  This service answers a fixed list of methods and
nothing else:

* read, no secret needed: ``stats``, ``progress``, ``tokens`` (labels and budgets, never
  a token), ``settings`` (an allow-list of names that hold no secret);
* control, ``Authorization: Bearer JSONRPC_SECRET`` required: ``pause``, ``unpause`` and
  ``close`` (the graceful stop of one Ctrl-C, so a JOBDIR keeps its queue).

Only ``POST /crawler`` with one JSON-RPC request object is served: other paths get 404,
other HTTP methods 405, no CORS header is ever sent, and while the service listens on a
loopback address a request naming another host (DNS rebinding from a web page) gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from scrapy import signals
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.reactor import listen_tcp
from twisted.internet.error import CannotListenError
from twisted.web.resource import Resource
from twisted.web.server import Site

from prseed import config, timestamps
from prseed import signals as prseed_signals
from prseed.exceptions import ConfigError, off
from prseed.extensions.progress import EtaEstimator, ProgressExtension
from prseed.protocols import ReportsProgress
from prseed.urls import without_password

logger = logging.getLogger(__name__)

PATH = b"/crawler"
SECRET_ENVIRONMENT = config.setting("JSONRPC_SECRET").env  # read when JSONRPC_SECRET is unset
MAX_BODY = 64 * 1024  # bytes; a request of this service is a few dozen
STARTING_POLL = 0.1  # seconds between looks at whether a starting crawl's engine runs yet

# The methods the service answers (``scrapy rpc`` lists them too).
READ_METHODS = ("stats", "progress", "tokens", "settings")  # no secret needed
CONTROL_METHODS = ("pause", "unpause", "close")  # JSONRPC_SECRET needed

# JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object)
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# application errors (-32000 to -32099 are the server's own)
NOT_RUNNING = -32000
UNAUTHORIZED = -32001
FORBIDDEN_HOST = -32002

# Settings the ``settings`` method shows; besides these, every PRSEED_* setting whose name
# does not look like it could hold a secret.  Never GITHUB_TOKEN(S), DATABASE_URL, JSONRPC_SECRET.
VISIBLE_SETTINGS = frozenset(
    {
        "BOT_NAME",
        "GITHUB_GRAPHQL_URL",
        "GITHUB_MAX_CONCURRENT_PER_TOKEN",
        "CONCURRENT_REQUESTS",
        "CONCURRENT_REQUESTS_PER_DOMAIN",
        "DOWNLOAD_DELAY",
        "DOWNLOAD_TIMEOUT",
        "RETRY_ENABLED",
        "RETRY_TIMES",
        "RETRY_HTTP_CODES",
        "RETRY_BACKOFF_BASE",
        "RETRY_BACKOFF_MAX",
        "HTTPCACHE_ENABLED",
        "HTTPCACHE_DIR",
        "HTTPCACHE_IGNORE_MISSING",
        "JOBDIR",
        "LOG_LEVEL",
        "JSONRPC_ENABLED",
        "JSONRPC_HOST",
        "JSONRPC_PORT",
    }
)
VISIBLE_PREFIX = "PRSEED_"
SECRET_LOOKING = re.compile(r"SECRET|TOKEN|PASSW|CREDENTIAL|AUTH|KEY|DATABASE|DSN", re.IGNORECASE)
LOOPBACK_NAMES = {"localhost", "localhost.", "127.0.0.1", "::1"}


class RpcError(Exception):
    """An error answer: a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def as_json(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


# --- settings ------------------------------------------------------------------------------


def port_range(value: Any, name: str = "JSONRPC_PORT") -> list[int]:
    """A port setting (``JSONRPC_PORT``, ``PRSEED_WEBHOOK_PORT``) as Scrapy's ``listen_tcp``
    wants it: ``[port]`` or ``[low, high]``.

    Accepts a port (``6024``, ``"6024"``), a range (``[6024, 6030]``, ``"6024,6030"``,
    ``"[6024, 6030]"``, ``"6024-6030"``); ``0`` means any free port.  ConfigError otherwise."""
    problem = (
        f"{name}={value!r} is not a port or a [low, high] range of ports "
        "(e.g. 6024 or [6024, 6030]; 0: any free port)"
    )
    items = value
    if isinstance(value, str):
        text = value.strip().strip("[]()")
        items = [part for part in re.split(r"[,\s]+|(?<=\d)-(?=\d)", text) if part]
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    if not isinstance(items, list | tuple) or not 1 <= len(items) <= 2:
        raise ConfigError(problem)
    try:
        ports = [int(item) for item in items if not isinstance(item, bool | float)]
    except (TypeError, ValueError):
        raise ConfigError(problem) from None
    if len(ports) != len(items) or not all(0 <= port <= 65535 for port in ports):
        raise ConfigError(problem)
    if len(ports) == 2 and (ports[0] > ports[1] or 0 in ports):
        raise ConfigError(problem)
    return ports


def configured_secret(settings) -> bytes | None:
    """The secret of the control methods: ``JSONRPC_SECRET``, else the environment's
    ``PRSEED_JSONRPC_SECRET``; None when neither is set (control methods are then refused)."""
    secret = config.secret(settings, "JSONRPC_SECRET")
    return None if secret is None else secret.encode("utf-8")


def listening_address(settings) -> tuple[str, list[int]]:
    """``JSONRPC_HOST`` and the ports of ``JSONRPC_PORT``, where the service listens (and
    ``scrapy rpc`` calls it); ConfigError for one it cannot use (for a one-line error)."""
    host = config.value(settings, "JSONRPC_HOST").strip()
    if not host:
        raise ConfigError("JSONRPC_HOST is empty: give the address to listen on, e.g. 127.0.0.1")
    return host, config.value(settings, "JSONRPC_PORT")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def visible_setting(name: str) -> bool:
    if name in VISIBLE_SETTINGS:
        return True
    return name.startswith(VISIBLE_PREFIX) and not SECRET_LOOKING.search(name[len(VISIBLE_PREFIX) :])


def json_safe(value: Any) -> Any:
    """``value`` with only JSON types: datetimes in GitHub's form, dates as ISO-8601 strings,
    durations in seconds, sets as sorted lists, anything else unknown as its ``str``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, datetime):
        return timestamps.github(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Mapping) or hasattr(value, "copy_to_dict"):
        mapping = value.copy_to_dict() if hasattr(value, "copy_to_dict") else value
        return {str(key): json_safe(item) for key, item in mapping.items()}
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return str(value)


# --- the web resource ------------------------------------------------------------------------


class CrawlerResource(Resource):
    """``POST /crawler``; everything else is an HTTP error with a JSON body."""

    isLeaf = True

    def __init__(self, service: JsonRpcService) -> None:
        super().__init__()
        self.service = service

    def render(self, request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"server", b"prseed")  # not Twisted's name and version
        if request.path != PATH:
            return self.http_error(request, 404, "not found: the JSON-RPC endpoint is POST /crawler")
        if request.method != b"POST":
            request.setHeader(b"allow", b"POST")
            return self.http_error(request, 405, "method not allowed: send JSON-RPC 2.0 requests with POST")
        if not self.service.host_allowed(request.getHeader(b"host")):
            logger.warning(
                "JSON-RPC: refused a request from %s naming another host (Host: %r)",
                peer(request),
                (request.getHeader(b"host") or b"")[:100].decode("latin-1"),
            )
            return self.rpc_error(request, 403, RpcError(FORBIDDEN_HOST, "forbidden: unexpected Host header"))
        body = request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            error = RpcError(INVALID_REQUEST, f"invalid request: larger than {MAX_BODY} bytes")
            return self.rpc_error(request, 413, error)
        answer = self.service.handle(body, request.getHeader(b"authorization"), peer(request))
        if answer is None:  # a notification: no answer, by the specification
            request.setResponseCode(204)
            return b""
        return encode(answer)

    @staticmethod
    def http_error(request, status: int, message: str) -> bytes:
        request.setResponseCode(status)
        return encode({"error": message})

    @staticmethod
    def rpc_error(request, status: int, error: RpcError) -> bytes:
        request.setResponseCode(status)
        return encode({"jsonrpc": "2.0", "id": None, "error": error.as_json()})


class QuietSite(Site):
    """No access log (the service logs what matters itself)."""

    noisy = False

    def log(self, request) -> None:
        pass


def peer(request) -> str:
    address = request.getClientAddress()
    host, port = getattr(address, "host", None), getattr(address, "port", None)
    return f"{host}:{port}" if host is not None else str(address)


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


# --- the extension ---------------------------------------------------------------------------


class JsonRpcService:
    """The JSON-RPC web service, listening from spider open to spider close."""

    def __init__(self, crawler, host: str, ports: list[int], secret: bytes | None) -> None:
        self.crawler = crawler
        self.host = host
        self.ports = ports
        self._secret = secret
        self.port = None  # the listening port (twisted IListeningPort) while the service runs
        self.estimator: EtaEstimator | None = None  # the Progress extension's, from spider_opened
        self.read_methods: dict[str, Callable[[], Any]] = {name: getattr(self, name) for name in READ_METHODS}
        self.control_methods: dict[str, Callable[[str], Any]] = {
            name: getattr(self, name) for name in CONTROL_METHODS
        }
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not config.value(settings, "JSONRPC_ENABLED"):
            raise off(cls, "JSONRPC_ENABLED is off")
        host, ports = listening_address(settings)
        return cls(crawler, host, ports, configured_secret(settings))

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        if self.port is None:
            return None
        address = self.port.getHost()
        host = f"[{address.host}]" if ":" in address.host else address.host
        return f"http://{host}:{address.port}{PATH.decode()}"

    def spider_opened(self, spider) -> None:
        progress = self.crawler.get_extension(ProgressExtension)
        self.estimator = progress.estimator if progress is not None else None
        site = QuietSite(CrawlerResource(self))
        site.displayTracebacks = False
        try:
            self.port = listen_tcp(self.ports, self.host, site)
        except CannotListenError as exc:
            wanted = "-".join(str(port) for port in self.ports)
            logger.error(
                "JSON-RPC service: cannot listen on %s port %s (%s); the crawl goes on without it",
                self.host,
                wanted,
                exc.socketError,
            )
            return
        control = "on" if self._secret else "off (set JSONRPC_SECRET to pause, unpause or close the crawl)"
        logger.info("JSON-RPC service listening on %s; control methods %s", self.url, control)
        if not is_loopback(self.host):
            logger.warning(
                "JSON-RPC service listens on %s, not a loopback address: anyone who reaches it can "
                "read the crawl's stats, progress and settings",
                self.host,
            )

    async def spider_closed(self, spider, reason: str) -> None:
        port, self.port = self.port, None
        if port is not None:
            await maybe_deferred_to_future(port.stopListening())
            logger.info("JSON-RPC service stopped")

    # --- requests -----------------------------------------------------------------------

    def host_allowed(self, host_header: bytes | None) -> bool:
        """On a loopback address, only requests naming a loopback host (DNS rebinding)."""
        if host_header is None or not is_loopback(self.host):
            return True
        host = host_header.decode("latin-1").strip()
        if host.startswith("["):
            host = host[1:].partition("]")[0]
        elif host.count(":") == 1:
            host = host.partition(":")[0]
        return is_loopback(host) or host.lower() == self.host.lower()

    def handle(self, body: bytes, authorization: bytes | None, client: str) -> dict | None:
        """The answer to one HTTP request body: a JSON-RPC response object, or None for a
        notification (a request without ``id``)."""
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return response(None, error=RpcError(PARSE_ERROR, "parse error: the body is not JSON"))
        if isinstance(document, list):
            error = RpcError(INVALID_REQUEST, "invalid request: batches not supported; send one request")
            return response(None, error=error)
        request_id = document.get("id") if isinstance(document, dict) else None
        if not valid_id(request_id):
            request_id = None
        try:
            method, params, notification = parse_request(document)
        except RpcError as error:
            return response(request_id, error=error)
        try:
            answer = response(request_id, result=self.call(method, params, authorization, client))
        except RpcError as error:
            answer = response(request_id, error=error)
        except Exception:
            logger.exception("JSON-RPC: %s failed", method)
            error = RpcError(INTERNAL_ERROR, "internal error: see the crawl's log")
            answer = response(request_id, error=error)
        return None if notification else answer

    def call(self, method: str, params: Any, authorization: bytes | None, client: str) -> Any:
        if method in self.read_methods:
            check_no_params(method, params)
            return self.read_methods[method]()
        if method in self.control_methods:
            self.authorize(method, authorization, client)
            check_no_params(method, params)
            return self.control_methods[method](client)
        known = ", ".join([*self.read_methods, *self.control_methods])
        raise RpcError(METHOD_NOT_FOUND, f"method not found: {method!r} (methods: {known})")

    def authorize(self, method: str, authorization: bytes | None, client: str) -> None:
        """Let the call through, or log the refusal (never the secret) and raise unauthorized."""
        if self._secret is None:
            logger.warning("JSON-RPC: refused %s from %s: JSONRPC_SECRET is not set", method, client)
            raise RpcError(
                UNAUTHORIZED,
                f"unauthorized: {method} needs a secret, and this crawl has none: "
                "start it with JSONRPC_SECRET set (or PRSEED_JSONRPC_SECRET in its environment)",
            )
        scheme, _, given = (authorization or b"").strip().partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            logger.warning("JSON-RPC: refused %s from %s: no secret given", method, client)
            raise RpcError(UNAUTHORIZED, "unauthorized: send the secret as 'Authorization: Bearer SECRET'")
        if not hmac.compare_digest(given.strip(), self._secret):
            logger.warning("JSON-RPC: refused %s from %s: wrong secret", method, client)
            raise RpcError(UNAUTHORIZED, "unauthorized: wrong secret")

    # --- read methods -------------------------------------------------------------------

    def stats(self) -> dict:
        return json_safe(dict(sorted(self.crawler.stats.get_stats().items())))

    def spider_progress(self) -> dict:
        spider = self.crawler.spider
        return spider.progress() if isinstance(spider, ReportsProgress) else {}

    def progress(self) -> dict:
        """Per repository: the spider's ``progress()`` plus ``eta_seconds`` (the Progress
        extension's estimate, as its lines show it; 0 once complete, null while unknown or
        without that extension)."""
        report, now = self.spider_progress(), time.time()
        return json_safe(
            {
                repository: {**entry, "eta_seconds": self.eta_seconds(repository, entry, now)}
                for repository, entry in report.items()
            }
        )

    def eta_seconds(self, repository: str, entry: dict, now: float) -> float | None:
        if entry["state"] == "complete":
            return 0.0
        if self.estimator is None:
            return None
        eta = self.estimator.eta(repository, entry, now)
        return None if eta is None else round(eta, 1)

    def tokens(self) -> list:
        from prseed.middlewares.tokens import TokenPoolMiddleware

        try:
            middleware = self.crawler.get_downloader_middleware(TokenPoolMiddleware)
        except RuntimeError:  # no engine yet
            middleware = None
        return json_safe(middleware.describe()) if middleware is not None else []

    def settings(self) -> dict:
        settings = self.crawler.settings
        names = sorted(name for name in settings if visible_setting(name))
        return {
            name: without_password(value) if isinstance(value, str) else json_safe(value)
            for name, value in ((name, settings.get(name)) for name in names)
        }

    # --- control methods ----------------------------------------------------------------

    def crawl_engine(self, method: str):
        """The engine of a crawl that is starting or running; RpcError once it closes.

        The service listens from spider_opened on, while the token checks (spider_opened
        handlers) still run and the engine has not started: pausing it then holds the
        crawl from its first request."""
        engine = getattr(self.crawler, "engine", None)
        if engine is None or not self.crawler.crawling:
            raise RpcError(NOT_RUNNING, f"cannot {method}: the crawl is closing")
        return engine

    def pause(self, client: str) -> dict:
        engine = self.crawl_engine("pause")
        if not engine.paused:
            logger.info("JSON-RPC: crawl paused by %s (no new requests until unpause)", client)
            engine.pause()
            self.crawler.signals.send_catch_log(prseed_signals.crawl_paused)
        return {"paused": True}

    def unpause(self, client: str) -> dict:
        engine = self.crawl_engine("unpause")
        if engine.paused:
            logger.info("JSON-RPC: crawl resumed by %s", client)
            engine.unpause()
            self.crawler.signals.send_catch_log(prseed_signals.crawl_unpaused)
        slot = getattr(engine, "_slot", None)  # send the next requests now, not at the next heartbeat
        if slot is not None and getattr(slot, "nextcall", None) is not None:
            slot.nextcall.schedule()
        return {"paused": False}

    def close(self, client: str) -> dict:
        """Stop as one Ctrl-C does (Scrapy's ``_signal_shutdown`` stops each crawler with
        ``Crawler.stop_async()``: the spider closes with reason ``shutdown``, in-flight pages
        finish, and a JOBDIR keeps its queue).  The answer goes out first."""
        if self.crawler.crawling:
            logger.info("JSON-RPC: close requested by %s; shutting down gracefully, as after Ctrl-C", client)
            self.crawler.engine.pause()  # nothing new goes out meanwhile, even while starting
            call_later(0, self._stop)
        return {"closing": True, "reason": "shutdown"}

    def _stop(self) -> None:
        if self.crawler.crawling and not self.crawler.engine.running:
            # Still starting (the token checks): Crawler.stop_async() would only mark the
            # crawler stopped, the engine would start anyway and never stop.  Once it runs.
            call_later(STARTING_POLL, self._stop)
            return
        deferred = deferred_from_coro(self.crawler.stop_async())
        if deferred is not None and hasattr(deferred, "addErrback"):
            deferred.addErrback(lambda failure: logger.error("JSON-RPC close failed: %s", failure.value))


# --- JSON-RPC 2.0 framing --------------------------------------------------------------------


def valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def parse_request(document: Any) -> tuple[str, Any, bool]:
    """``(method, params, is_notification)`` of a request object, or RpcError -32600."""
    if not isinstance(document, dict):
        raise RpcError(INVALID_REQUEST, "invalid request: expected a JSON-RPC request object")
    if document.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
    method = document.get("method")
    if not isinstance(method, str):
        raise RpcError(INVALID_REQUEST, 'invalid request: "method" must be a string')
    if "id" in document and not valid_id(document["id"]):
        raise RpcError(INVALID_REQUEST, 'invalid request: "id" must be a string, a number or null')
    params = document.get("params")
    if "params" in document and not isinstance(params, list | dict):
        raise RpcError(INVALID_REQUEST, 'invalid request: "params" must be an array or an object')
    return method, params, "id" not in document


def check_no_params(method: str, params: Any) -> None:
    if params:
        raise RpcError(INVALID_PARAMS, f"invalid params: {method} takes no params")


def response(request_id: Any, result: Any = None, error: RpcError | None = None) -> dict:
    answer: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        answer["error"] = error.as_json()
    else:
        answer["result"] = result
    return answer
