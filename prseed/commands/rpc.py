"""``scrapy rpc METHOD``: call the JSON-RPC service of a running crawl and print the result."""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from prseed import config
from prseed.cli import EXIT_USAGE, PrseedCommand
from prseed.exceptions import ConfigError
from prseed.extensions.jsonrpc import (
    CONTROL_METHODS,
    PATH,
    READ_METHODS,
    SECRET_ENVIRONMENT,
    listening_address,
)

if TYPE_CHECKING:
    import argparse

EXIT_FAILED = 1  # the service answered an error, or could not be reached
DEFAULT_TIMEOUT = 30.0


class RpcFailure(Exception):
    """A call that produced no result: the service's error, or no answer at all."""


def default_url(settings) -> str:
    """``http://JSONRPC_HOST:<first port of JSONRPC_PORT>/crawler``; a wildcard listening
    address is reached through the loopback address of its family."""
    host, ports = listening_address(settings)
    port = ports[0]
    if port == 0:
        raise ConfigError("JSONRPC_PORT is 0 (any free port): give --url, from the crawl's log")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{PATH.decode()}"


def call(url: str, method: str, secret: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """The result of ``method`` at ``url``; RpcFailure with a one-line reason otherwise."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method}).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    # No proxy, whatever the environment says: the secret goes to the crawl and nowhere else.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
        exc.close()
    except ValueError as exc:  # not a URL urllib can use
        raise RpcFailure(f"{url!r} is not a URL of the JSON-RPC service: {exc}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RpcFailure(
            f"cannot reach the JSON-RPC service at {url}: {reason} "
            "(is a crawl running with -s JSONRPC_ENABLED=1, on this port?)"
        ) from None
    try:
        document = json.loads(raw)
    except ValueError:
        raise RpcFailure(f"{url} answered HTTP {status} with a body that is not JSON") from None
    if not isinstance(document, dict):
        raise RpcFailure(f"{url} answered HTTP {status} with JSON that is not a JSON-RPC response")
    error = document.get("error")
    if isinstance(error, dict):
        raise RpcFailure(f"{method}: {error.get('message')} (JSON-RPC error {error.get('code')})")
    if isinstance(error, str):  # the service's HTTP errors (404, 405) say what is wrong
        raise RpcFailure(f"{url} answered HTTP {status}: {error}")
    if "result" not in document:
        raise RpcFailure(f"{url} answered HTTP {status} without a result")
    return document["result"]


class Command(PrseedCommand):
    def syntax(self) -> str:
        return "METHOD [--url URL] [--secret SECRET]"

    def short_desc(self) -> str:
        return "Call the JSON-RPC service of a running crawl (stats, progress, pause, ...)"

    def long_desc(self) -> str:
        return (
            f"Call METHOD on the JSON-RPC service of a crawl started with -s JSONRPC_ENABLED=1 and print "
            f"the result as JSON. Read methods: {', '.join(READ_METHODS)}. Control methods, which need "
            f"the crawl's JSONRPC_SECRET (--secret, or the environment's {SECRET_ENVIRONMENT}): "
            f"{', '.join(CONTROL_METHODS)}. The default URL is http://JSONRPC_HOST:<first port of "
            "JSONRPC_PORT>/crawler. An error answer or no answer at all is one line and exit code 1."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--url", help="the service's URL (default: from JSONRPC_HOST and JSONRPC_PORT)")
        parser.add_argument(
            "--secret",
            help=f"the crawl's JSONRPC_SECRET, for control methods (default: ${SECRET_ENVIRONMENT}; "
            "the environment keeps it out of the process list)",
        )
        parser.add_argument(
            "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for the answer"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1:
            methods = ", ".join((*READ_METHODS, *CONTROL_METHODS))
            self.fail(f"rpc takes one METHOD ({methods}), got {' '.join(args)!r}", EXIT_USAGE)
            return
        method = args[0]
        try:
            url = opts.url or default_url(self.settings)
        except ConfigError as exc:
            self.fail(str(exc), EXIT_USAGE)
            return
        if not url.startswith(("http://", "https://")):
            self.fail(f"--url {url!r} is not an http:// URL", EXIT_USAGE)
            return
        secret = (
            opts.secret
            or os.environ.get(SECRET_ENVIRONMENT)
            or config.value(self.settings, "JSONRPC_SECRET")
            or None
        )
        try:
            result = call(url, method, secret, opts.timeout)
        except RpcFailure as exc:
            self.fail(str(exc), EXIT_FAILED)
            return
        try:
            print(json.dumps(result, indent=2, ensure_ascii=False), flush=True)
        except BrokenPipeError:  # `scrapy rpc stats | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
