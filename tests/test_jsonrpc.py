"""The JSON-RPC service over real HTTP, against crawls of the fake GitHub slowed down so
they are mid-way: what it shows, what it refuses, and pause/unpause/close."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date

import pytest
import pytest_twisted
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.test import get_crawler
from twisted.internet import defer, reactor, threads
from twisted.internet.task import deferLater

from prseed.commands.rpc import RpcFailure, call, default_url
from prseed.exceptions import ConfigError
from prseed.extensions.jsonrpc import JsonRpcService, json_safe, port_range, visible_setting
from prseed.extensions.progress import ProgressExtension
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.postgres import free_port
from tests.processes import ScrapyProcess, assert_no_deprecation, scrapy

REPOSITORY = "acme/widgets"
SECRET = "rpc-secret-9f8e7d6c5b4a"
LATENCY = 0.1  # seconds per answer of the fake GitHub: a 300-PR crawl takes many seconds
SLOW = {"PRSEED_PAGE_SIZE": 3, "PRSEED_MIN_PAGE_SIZE": 1}
STOP_TIMEOUT = 30  # seconds a stopped crawl may take to end
TOKEN_CHECK_SECONDS = 2.0  # GitHub's answer to the token check, in the tests of a crawl still starting


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset({REPOSITORY: 300}, seed=3, big_pr=False)


@pytest.fixture(autouse=True)
def no_secret_in_the_environment(monkeypatch):
    monkeypatch.delenv("PRSEED_JSONRPC_SECRET", raising=False)


@pytest.fixture(autouse=True)
def no_secret_or_token_in_logs(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text


# --- HTTP without blocking the reactor (urllib in a thread) -------------------------------------


def http_sync(url: str, body: bytes | None = None, method: str = "POST", headers: dict | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


async def http(url: str, body: bytes | None = None, method: str = "POST", headers: dict | None = None):
    """(status, lower-cased headers, body); never an Access-Control-Allow-Origin header."""
    status, answer_headers, raw = await threads.deferToThread(http_sync, url, body, method, headers)
    assert "access-control-allow-origin" not in answer_headers
    assert answer_headers["server"] == "prseed"
    return status, answer_headers, raw


async def rpc(url: str, method, secret: str | None = None, **request) -> dict:
    """The JSON-RPC response object to one call."""
    document = {"jsonrpc": "2.0", "id": 7, "method": method, **request}
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    status, _, raw = await http(url, json.dumps(document).encode(), headers=headers)
    assert status == 200, raw
    answer = json.loads(raw)
    assert answer["jsonrpc"] == "2.0" and answer["id"] == 7
    return answer


async def result(url: str, method: str, secret: str | None = None):
    answer = await rpc(url, method, secret)
    assert "error" not in answer, answer
    return answer["result"]


async def error_code(url: str, method: str, secret: str | None = None, **request) -> int:
    answer = await rpc(url, method, secret, **request)
    assert "result" not in answer, answer
    return answer["error"]["code"]


async def sleep(seconds: float) -> None:
    await deferLater(reactor, seconds, lambda: None)


# --- crawls in the test process --------------------------------------------------------------


class RunningCrawl:
    """A crawl started in the background, with its JSON-RPC service found."""

    def __init__(self, github, sqlite_url: str, settings: dict) -> None:
        self.github = github
        self.crawler = None
        self.done = defer.ensureDeferred(
            crawl(
                github.url,
                sqlite_url,
                settings={"JSONRPC_ENABLED": True, **SLOW, **settings},
                setup=self.capture,
                repo=REPOSITORY,
            )
        )

    def capture(self, crawler) -> None:
        self.crawler = crawler

    async def service(self, timeout: float = 15, sent: int = 3) -> JsonRpcService:
        """The extension once it listens and the crawl has sent ``sent`` pages."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert not self.done.called, "the crawl ended before its service could be used"
            extension = None
            if self.crawler is not None and self.crawler.extensions is not None:
                extension = self.crawler.get_extension(JsonRpcService)
            if extension is not None and extension.port is not None and len(self.requests()) >= sent:
                self.url = extension.url
                return extension
            await sleep(0.05)
        raise AssertionError("the JSON-RPC service did not start")

    def requests(self) -> list:
        return [record for record in self.github.requests if record.operation != "TokenCheck"]

    async def quiet_for(self, seconds: float, timeout: float = 6) -> bool:
        """Wait until the fake GitHub heard no new request for ``seconds``; False on timeout."""
        deadline = time.monotonic() + timeout
        count, since = len(self.requests()), time.monotonic()
        while time.monotonic() < deadline:
            await sleep(0.05)
            if len(self.requests()) != count:
                count, since = len(self.requests()), time.monotonic()
            elif time.monotonic() - since >= seconds:
                return True
        return False

    async def tokens_checked(self, timeout: float = 15) -> None:
        """Wait until GitHub has answered the token check."""
        deadline = time.monotonic() + timeout
        while not any(record.end_time for record in self.github.requests_for("TokenCheck")):
            assert time.monotonic() < deadline, "the token check was not answered"
            await sleep(0.05)

    async def stop(self) -> None:
        """End a crawl a test left running (without the service)."""
        if not self.done.called:
            await deferred_from_coro(self.crawler.stop_async())
        await self.done.addTimeout(STOP_TIMEOUT, reactor)


@pytest.fixture
def github(dataset):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=LATENCY) as server:
        yield server


@pytest_twisted.ensureDeferred
async def test_read_methods_show_a_crawl_in_progress(github, sqlite_url):
    running = RunningCrawl(github, sqlite_url, {"JSONRPC_PORT": free_port(), "JSONRPC_SECRET": SECRET})
    try:
        extension = await running.service()
        assert extension.port.getHost().host == "127.0.0.1"  # loopback only by default
        # one ETA: the progress lines' own
        assert extension.estimator is running.crawler.get_extension(ProgressExtension).estimator
        url = running.url

        stats = await result(url, "stats")
        progress = (await result(url, "progress"))[REPOSITORY]
        await sleep(1.2)
        later_stats = await result(url, "stats")
        later = (await result(url, "progress"))[REPOSITORY]

        assert later_stats["downloader/request_count"] > stats["downloader/request_count"] > 0
        assert isinstance(stats["start_time"], str) and stats["start_time"].startswith("20")
        assert later["pull_requests"] > progress["pull_requests"] > 0
        assert later["total"] == 300 and later["state"] == "listing PRs"
        assert later["points"] >= later["requests"] > 0
        assert later["eta_seconds"] is not None and later["eta_seconds"] > 0

        tokens = await result(url, "tokens")
        assert [token["token"] for token in tokens] == [f"…{TOKEN[-4:]}"]
        assert tokens[0]["login"] == "alice" and tokens[0]["remaining"] is not None

        settings = await result(url, "settings")
        assert settings["GITHUB_GRAPHQL_URL"] == github.url and settings["PRSEED_PAGE_SIZE"] == 3
        assert settings["JSONRPC_HOST"] == "127.0.0.1"
        for hidden in ("GITHUB_TOKEN", "GITHUB_TOKENS", "DATABASE_URL", "JSONRPC_SECRET"):
            assert hidden not in settings

        for method in ("stats", "progress", "tokens", "settings"):
            _, _, raw = await http(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method}).encode())
            assert TOKEN.encode() not in raw and SECRET.encode() not in raw and b"db.sqlite3" not in raw
    finally:
        await running.stop()


@pytest_twisted.ensureDeferred
async def test_protocol_errors_and_http_rules(github, sqlite_url):
    running = RunningCrawl(github, sqlite_url, {"JSONRPC_PORT": free_port()})
    try:
        await running.service()
        url = running.url
        assert await error_code(url, "crawler") == -32601
        assert await error_code(url, "__class__") == -32601
        assert await error_code(url, "stats", params={"key": "x"}) == -32602
        assert await error_code(url, "progress", params=[1]) == -32602
        assert await error_code(url, "stats", params=3) == -32600
        assert await error_code(url, 5) == -32600

        async def posted(body: bytes, **headers) -> tuple[int, dict]:
            status, _, raw = await http(url, body, headers={"Content-Type": "application/json", **headers})
            return status, json.loads(raw) if raw else None

        for body, code, request_id in [
            (b'{"jsonrpc": "2.0", "method": "stats", "id": 1', -32700, None),
            (b"\xff\xfe", -32700, None),
            (b"", -32700, None),
            (b'"stats"', -32600, None),
            (b"42", -32600, None),
            (b'{"method": "stats", "id": 1}', -32600, 1),
            (b'{"jsonrpc": "2.0", "method": "stats", "id": {"a": 1}}', -32600, None),
            (b'[{"jsonrpc": "2.0", "method": "stats", "id": 1}]', -32600, None),
        ]:
            status, answer = await posted(body)
            assert status == 200 and answer["error"]["code"] == code and answer["id"] == request_id, (
                body,
                answer,
            )

        status, answer = await posted(b'{"jsonrpc": "2.0", "method": "stats"}')  # a notification
        assert status == 204 and answer is None
        for method in ("GET", "PUT", "DELETE", "OPTIONS"):
            status, headers, _ = await http(url, method=method)
            assert status == 405 and headers["allow"] == "POST", method
        status, _, _ = await http(url.replace("/crawler", "/crawler/stats"), b"{}")
        assert status == 404
        status, _, _ = await http(url.replace("/crawler", "/"), b"{}")
        assert status == 404
        status, answer = await posted(b'{"jsonrpc": "2.0", "method": "stats", "id": 1}', Host="evil.example")
        assert status == 403 and answer["error"]["code"] == -32002
    finally:
        await running.stop()


@pytest_twisted.ensureDeferred
async def test_control_methods_need_the_secret(github, sqlite_url, caplog):
    running = RunningCrawl(github, sqlite_url, {"JSONRPC_PORT": free_port(), "JSONRPC_SECRET": SECRET})
    try:
        await running.service()
        url = running.url
        for method in ("pause", "close", "unpause"):
            assert await error_code(url, method) == -32001
            assert await error_code(url, method, secret="wrong") == -32001
            assert await error_code(url, method, secret=SECRET + "x") == -32001
            assert await error_code(url, method, secret="") == -32001
        status, _, raw = await http(
            url,
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "pause"}).encode(),
            headers={"Authorization": f"Basic {SECRET}"},
        )
        assert json.loads(raw)["error"]["code"] == -32001
        # a wrong secret with bad params is still "unauthorized": nothing is revealed
        assert await error_code(url, "pause", params={"x": 1}) == -32001
        refusals = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
        assert len(refusals) == 14
        assert {"no secret given", "wrong secret"} <= {r.getMessage().split(": ")[-1] for r in refusals}

        # nothing changed: not paused, not closing, requests still going out
        assert not running.crawler.engine.paused and running.crawler.crawling
        count = len(running.requests())
        await sleep(0.5)
        assert len(running.requests()) > count

        # the right secret closes it gracefully: reason "shutdown", as after one Ctrl-C
        assert await result(url, "close", secret=SECRET) == {"closing": True, "reason": "shutdown"}
        crawler = await running.done
    finally:
        await running.stop()
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "shutdown"
    assert stats.get("prseed/pages_failed", 0) == 0
    assert "close requested by 127.0.0.1" in caplog.text


@pytest_twisted.ensureDeferred
async def test_pause_stops_new_requests_and_unpause_resumes(github, sqlite_url):
    running = RunningCrawl(github, sqlite_url, {"JSONRPC_PORT": free_port(), "JSONRPC_SECRET": SECRET})
    try:
        await running.service()
        url = running.url
        assert await result(url, "pause", secret=SECRET) == {"paused": True}
        assert running.crawler.engine.paused
        # requests already handed to the downloader finish; then nothing is sent
        assert await running.quiet_for(0.5)
        count = len(running.requests())
        await sleep(1.0)
        assert len(running.requests()) == count
        assert (await result(url, "progress"))[REPOSITORY]["state"] == "listing PRs"

        assert await result(url, "unpause", secret=SECRET) == {"paused": False}
        await sleep(0.8)
        assert len(running.requests()) > count
        assert await result(url, "close", secret=SECRET) == {"closing": True, "reason": "shutdown"}
        crawler = await running.done
    finally:
        await running.stop()
    assert crawler.stats.get_value("finish_reason") == "shutdown"


@pytest_twisted.ensureDeferred
async def test_while_paused_progress_says_so_and_the_eta_stands_still(github, sqlite_url, caplog):
    settings = {"JSONRPC_PORT": free_port(), "JSONRPC_SECRET": SECRET, "PRSEED_PROGRESS_INTERVAL": 0.2}
    running = RunningCrawl(github, sqlite_url, settings)
    lines = ProgressLines(caplog, REPOSITORY)
    try:
        await running.service(sent=6)
        url = running.url
        extension = running.crawler.get_extension(ProgressExtension)

        def status() -> str:
            return extension.status(running.crawler.spider.progress(), time.time())

        await result(url, "progress")
        await sleep(1.2)  # a rate to estimate from
        assert await result(url, "pause", secret=SECRET) == {"paused": True}
        assert await running.quiet_for(0.5)  # the pages on their way when it paused are in
        eta = (await result(url, "progress"))[REPOSITORY]["eta_seconds"]
        paused_status = status()
        lines.new()
        await sleep(1.5)
        assert eta is not None and (await result(url, "progress"))[REPOSITORY]["eta_seconds"] == eta
        assert status() == paused_status
        assert (
            paused_status.startswith("prseed: paused, 0/1 repositories complete, ")
            and ", ETA " in paused_status
        )
        paused = lines.new()
        assert len(paused) >= 4 and len(set(paused)) == 1, paused  # the same line: nothing moves
        pattern = rf"{REPOSITORY}: \d+/300 PRs \(\d+%\), .*, listing PRs, paused, ETA .+"
        assert re.fullmatch(pattern, paused[0]), paused[0]

        assert await result(url, "unpause", secret=SECRET) == {"paused": False}
        await sleep(1.0)
        resumed = lines.new()
        assert resumed and not any("paused" in line for line in resumed), resumed
        assert "paused" not in status()
    finally:
        await running.stop()


class ProgressLines:
    """A repository's progress lines in the captured log."""

    def __init__(self, caplog, repository: str) -> None:
        self.caplog, self.prefix, self.seen = caplog, f"{repository}: ", 0

    def new(self) -> list[str]:
        """The lines logged since the last call."""
        records, self.seen = self.caplog.records[self.seen :], len(self.caplog.records)
        messages = [record.getMessage() for record in records if record.name == ProgressExtension.__module__]
        return [message for message in messages if message.startswith(self.prefix)]


async def starting(github, sqlite_url) -> RunningCrawl:
    """A crawl whose service listens while GitHub is slow to answer its token check (run
    on spider_opened, before the engine starts)."""
    github.latency = TOKEN_CHECK_SECONDS
    running = RunningCrawl(github, sqlite_url, {"JSONRPC_PORT": free_port(), "JSONRPC_SECRET": SECRET})
    await running.service(sent=0)
    github.latency = LATENCY  # for the requests after the token check
    assert not running.crawler.engine.running and not running.requests()
    return running


@pytest_twisted.ensureDeferred
async def test_pause_while_the_tokens_are_checked_holds_the_crawl_until_unpause(github, sqlite_url):
    running = await starting(github, sqlite_url)
    try:
        assert await result(running.url, "pause", secret=SECRET) == {"paused": True}
        await running.tokens_checked()
        await sleep(1.0)
        assert running.crawler.engine.running and running.crawler.engine.paused
        assert running.requests() == []

        assert await result(running.url, "unpause", secret=SECRET) == {"paused": False}
        await sleep(0.8)
        assert running.requests()
        assert await result(running.url, "close", secret=SECRET) == {"closing": True, "reason": "shutdown"}
        crawler = await running.done
    finally:
        await running.stop()
    assert crawler.stats.get_value("finish_reason") == "shutdown"


@pytest_twisted.ensureDeferred
async def test_close_while_the_tokens_are_checked_stops_before_any_page(github, sqlite_url):
    running = await starting(github, sqlite_url)
    try:
        assert await result(running.url, "close", secret=SECRET) == {"closing": True, "reason": "shutdown"}
        crawler = await running.done.addTimeout(STOP_TIMEOUT, reactor)
    finally:
        await running.stop()
    assert crawler.stats.get_value("finish_reason") == "shutdown"
    assert running.requests() == []


@pytest_twisted.ensureDeferred
async def test_without_a_secret_control_is_refused_and_busy_ports_are_skipped(github, sqlite_url, caplog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        running = RunningCrawl(github, sqlite_url, {"JSONRPC_PORT": f"{taken},{taken + 20}"})
        try:
            extension = await running.service()
            assert taken < extension.port.getHost().port <= taken + 20
            answer = await rpc(running.url, "pause", secret="anything")
            assert answer["error"]["code"] == -32001 and "JSONRPC_SECRET" in answer["error"]["message"]
            assert not running.crawler.engine.paused
            assert "refused pause from 127.0.0.1" in caplog.text
            assert "control methods off" in caplog.text
        finally:
            await running.stop()
    assert extension.port is None  # stopped with the spider


# --- the command-line client and a JOBDIR, as a user runs them ----------------------------------


def one_error_line(result: subprocess.CompletedProcess, message: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("prseed: error:") and message in lines[0], result.stderr


def test_rpc_command_says_when_nothing_listens():
    port = free_port()
    one_error_line(scrapy("rpc", "stats", "-s", f"JSONRPC_PORT={port}"), f"http://127.0.0.1:{port}/crawler")
    one_error_line(scrapy("rpc", "stats", "--url", f"http://127.0.0.1:{port}/crawler"), "cannot reach")
    one_error_line(scrapy("rpc"), "rpc takes one METHOD", code=2)


def test_close_keeps_the_jobdir_and_a_rerun_resumes_it(dataset, tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    port = free_port()
    url = f"http://127.0.0.1:{port}/crawler"
    env = {"GITHUB_TOKEN": TOKEN, "DATABASE_URL": sqlite_url, "PRSEED_JSONRPC_SECRET": SECRET}
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=LATENCY) as github:
        command = [
            *("crawl", "prs", "-a", f"repo={REPOSITORY}", "-s", f"GITHUB_GRAPHQL_URL={github.url}"),
            *("-s", f"JOBDIR={tmp_path / 'job'}", "-s", "PRSEED_PAGE_SIZE=3", "-s", "PRSEED_MIN_PAGE_SIZE=1"),
        ]
        log = tmp_path / "first.log"
        with log.open("w") as output:
            service = ("-s", "JSONRPC_ENABLED=1", "-s", f"JSONRPC_PORT={port}")
            first = ScrapyProcess(*command, *service, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:  # the service is up and the crawl under way: pause it there
                assert first.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                try:
                    if call(url, "progress").get(REPOSITORY, {}).get("pull_requests"):
                        break
                except RpcFailure:
                    pass
                time.sleep(0.1)
            assert call(url, "pause", SECRET) == {"paused": True}

            shown = scrapy("rpc", "progress", "-s", f"JSONRPC_PORT={port}")
            assert shown.returncode == 0, shown.stderr
            assert shown.stdout.startswith("{\n  ")  # indented JSON
            assert json.loads(shown.stdout)[REPOSITORY]["total"] == 300
            refused = scrapy("rpc", "close", "--url", url)  # no secret in this environment
            one_error_line(refused, "unauthorized")
            assert first.poll() is None

            closed = scrapy("rpc", "close", "--url", url, env={"PRSEED_JSONRPC_SECRET": SECRET})
            assert closed.returncode == 0, closed.stderr
            assert json.loads(closed.stdout) == {"closing": True, "reason": "shutdown"}
            assert first.wait(timeout=30) == 1  # the crawl is incomplete: exit code 1, as after Ctrl-C
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        text = log.read_text()
        assert_no_deprecation(text)
        assert "Spider closed (shutdown)" in text and "'finish_reason': 'shutdown'" in text
        assert "did not stop cleanly" not in text and SECRET not in text and TOKEN not in text

        github.latency = 0
        rerun = scrapy(*command, env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": sqlite_url})
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming from JOBDIR" in rerun.stderr
    assert "did not stop cleanly" not in rerun.stderr
    assert "Spider closed (finished)" in rerun.stderr
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])


# --- settings ------------------------------------------------------------------------------------


def test_disabled_by_default():
    with pytest.raises(NotConfigured):
        JsonRpcService.from_crawler(get_crawler(settings_dict={}))
    settings = Settings()
    settings.setmodule("prseed.settings")
    assert settings.getbool("JSONRPC_ENABLED") is False
    assert settings.get("JSONRPC_HOST") == "127.0.0.1" and settings.get("JSONRPC_SECRET") is None
    assert default_url(settings) == "http://127.0.0.1:6024/crawler"


@pytest.mark.parametrize(
    "value, ports",
    [
        (6024, [6024]),
        ("6024", [6024]),
        ([6024, 6030], [6024, 6030]),
        ("[6024, 6030]", [6024, 6030]),
        ("6024,6030", [6024, 6030]),
        ("6024-6030", [6024, 6030]),
        (0, [0]),
    ],
)
def test_port_setting(value, ports):
    assert port_range(value) == ports


@pytest.mark.parametrize("value", ["http", [6030, 6024], [1, 2, 3], 70000, -1, True, [], "[0, 10]"])
def test_bad_port_setting(value):
    with pytest.raises(ConfigError, match="JSONRPC_PORT"):
        port_range(value)


def test_only_harmless_settings_are_visible():
    for name in ("GITHUB_TOKEN", "GITHUB_TOKENS", "DATABASE_URL", "JSONRPC_SECRET", "PRSEED_JSONRPC_SECRET"):
        assert not visible_setting(name)
    for name in ("PRSEED_PAGE_SIZE", "JOBDIR", "GITHUB_GRAPHQL_URL", "GITHUB_MAX_CONCURRENT_PER_TOKEN"):
        assert visible_setting(name)
    assert json_safe({"when": date(2024, 3, 1), "s": {2, 1}}) == {"when": "2024-03-01", "s": [1, 2]}


def test_settings_show_a_url_with_its_user_but_never_its_password():
    url = "https://alice:pass@word@github.example.com/api/graphql"  # an unescaped @ in the password
    crawler = get_crawler(settings_dict={"JSONRPC_ENABLED": True, "GITHUB_GRAPHQL_URL": url})
    shown = JsonRpcService.from_crawler(crawler).settings()["GITHUB_GRAPHQL_URL"]
    assert shown == "https://alice:***@github.example.com/api/graphql"
