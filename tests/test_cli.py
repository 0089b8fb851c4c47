"""``scrapy crawl prs`` as a user runs it: exit codes, one-line errors, feeds, no token leaks."""

from __future__ import annotations

import json
import re
import socket

import pytest
import scrapy as scrapy_package

from tests.crawling import TOKEN
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.processes import assert_quiet, scrapy

REPOSITORY = "acme/widgets"
BANNER = f"Scrapy {scrapy_package.__version__} started"
RERUN = "run the same command again"


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset({REPOSITORY: 30}, seed=11, big_pr=False)


@pytest.fixture(scope="module")
def github(dataset):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as server:
        yield server


def assert_one_line_error(result, message: str, code: int = 2):
    """One ``prseed: error:`` line, the last; a mistake (exit code 2) is nothing else."""
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("prseed: error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert result.stderr.splitlines()[-1] == errors[0], result.stderr[-2000:]
    if code == 2:
        assert BANNER not in result.stderr, result.stderr[-2000:]


def crawl_command(github_url: str, database_url: str, *arguments: str, env: dict | None = None):
    return scrapy(
        *("crawl", "prs", *arguments, "-s", f"GITHUB_GRAPHQL_URL={github_url}"),
        env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": database_url, **(env or {})},
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["-a", "repo=antiwork"], "is not a repository"),
        (["-a", "repo=a/b", "-a", "since=31/01/2024"], "is not a date"),
        (["-a", "repo=a/b", "-a", "max_prs=-1"], "positive whole number"),
        (["-a", "repo=a/b", "-a", "maxprs=3"], "unknown spider argument"),
        (
            ["-a", "repo=a/b", "-s", "DATABASE_URL=postgresql://u:pw@127.0.0.1:9/x"],
            "cannot connect to PostgreSQL",
        ),
        (["-a", "repo=a/b", "-s", "DATABASE_URL=sqlite:///no/such/dir/db.sqlite3"], "does not exist"),
        (["-a", "repo=a/b", "-s", "PRSEED_CHECK_RUNS=some"], "PRSEED_CHECK_RUNS"),
        (["-a", "repos=a/b,c"], "-a repos='c' is not a repository"),
        (["-a", "repo=a/b", "-s", "JSONRPC_ENABLED=1", "-s", "JSONRPC_PORT=http"], "JSONRPC_PORT='http'"),
        (["-a", "project=nonesuch"], "unknown project 'nonesuch'"),
        (["-a", "repo=a/b", "-a", "project=gumroad"], "-a repo and -a project both given"),
        (["-a", "repo=a/b", "-s", "DATABASE_URL=sqlite:////tmp"], "cannot write SQLite database"),
        (["-a", "repo=a/b", "-s", "DATABASE_URL=postgresql://[bad"], "cannot connect to PostgreSQL"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(arguments, message, tmp_path):
    env = {"GITHUB_TOKEN": TOKEN, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert_one_line_error(scrapy("crawl", "prs", *arguments, env=env), message)


def test_no_token_is_one_line_and_exit_2(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert_one_line_error(scrapy("crawl", "prs", "-a", f"repo={REPOSITORY}", env=env), "no GitHub token")


def test_a_crawl_fills_the_database_and_a_feed_and_never_shows_the_token(github, dataset, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    feed = tmp_path / "prs.jsonl"
    result = scrapy(
        "crawl",
        "prs",
        "-a",
        f"repo={REPOSITORY}",
        "-O",
        str(feed),
        "-s",
        f"GITHUB_GRAPHQL_URL={github.url}",
        "-s",
        "LOG_LEVEL=DEBUG",
        env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN[-4:] in result.stderr  # tokens are named by their last four characters
    rows = database_rows(database_url)
    assert rows == expected_rows(dataset, [REPOSITORY])
    lines = [json.loads(line) for line in feed.read_text().splitlines()]
    pull_requests = [line for line in lines if "changed_files" in line]
    assert len(pull_requests) == 30


def test_a_repository_that_does_not_exist_exits_1_saying_so(github, tmp_path):
    result = crawl_command(github.url, f"sqlite:///{tmp_path / 'db.sqlite3'}", "-a", "repo=acme/missing")
    assert "Spider closed (repository_not_found)" in result.stderr
    assert_one_line_error(result, "repository acme/missing not found, or the token cannot see it", code=1)
    assert RERUN not in result.stderr.splitlines()[-1]


def test_only_bad_tokens_stop_the_crawl_before_any_data_request(github, tmp_path):
    before = len(github.requests)
    result = scrapy(
        "crawl",
        "prs",
        "-a",
        f"repo={REPOSITORY}",
        "-s",
        f"GITHUB_GRAPHQL_URL={github.url}",
        env={
            "GITHUB_TOKENS": "bad-token-1111,bad-token-2222",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
    )
    assert_one_line_error(
        result, "every GitHub token was rejected (401): …1111, …2222; set GITHUB_TOKEN", code=1
    )
    assert RERUN not in result.stderr.splitlines()[-1]
    assert "bad-token-1111" not in result.stderr
    assert [record.status for record in github.requests[before:]] == [401, 401]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param([], id="plain"),
        pytest.param(["-s", "JSONRPC_ENABLED=1", "-s", "JSONRPC_PORT=0"], id="jsonrpc"),
    ],
)
def test_a_normal_crawl_and_its_offline_replay_log_no_warning(github, dataset, tmp_path, options):
    """Components off by configuration (JSON-RPC, worker, token pool offline, rows grouping
    with a feed, JOBDIR guard) are no cause for a WARNING, and nothing else warns either."""
    cache = ("-s", f"HTTPCACHE_DIR={tmp_path / 'cache'}", "-s", f"GITHUB_GRAPHQL_URL={github.url}")
    common = ("crawl", "prs", "-a", f"repo={REPOSITORY}", *cache, *options)
    online = scrapy(
        *common,
        "-s",
        "HTTPCACHE_ENABLED=1",
        env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": f"sqlite:///{tmp_path / 'online.sqlite3'}"},
    )
    assert online.returncode == 0, online.stderr[-3000:]
    assert_quiet(online.stderr)
    offline_url = f"sqlite:///{tmp_path / 'offline.sqlite3'}"
    replay = scrapy(
        *common,
        *("-s", "PRSEED_OFFLINE=1", "-s", f"JOBDIR={tmp_path / 'job'}", "-O", str(tmp_path / "prs.jsonl")),
        env={"DATABASE_URL": offline_url},
    )
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert "Spider closed (finished)" in replay.stderr
    assert_quiet(replay.stderr)
    assert database_rows(offline_url) == expected_rows(dataset, [REPOSITORY])


def test_the_endpoint_is_read_from_the_environment(github, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = scrapy(
        *("crawl", "prs", "-a", f"repo={REPOSITORY}", "-s", "RETRY_TIMES=0"),
        env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": database_url, "GITHUB_GRAPHQL_URL": github.url},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert database_rows(database_url)["pull_requests"]


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory):
    """A crawl of an endpoint where nothing listens, with quick retries."""
    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/graphql"
    database_url = f"sqlite:///{tmp_path_factory.mktemp('unreachable') / 'db.sqlite3'}"
    result = crawl_command(url, database_url, "-a", f"repo={REPOSITORY}", "-s", "RETRY_BACKOFF_BASE=0.05")
    return url, result


def test_an_unreachable_endpoint_ends_with_its_cause(unreachable):
    url, result = unreachable
    message = f"cannot reach GitHub at {url}: connection refused (check GITHUB_GRAPHQL_URL and the network)"
    assert_one_line_error(result, message, code=1)
    assert RERUN not in result.stderr.splitlines()[-1]


def test_each_retry_is_logged_at_info_with_its_cause_and_wait(unreachable):
    url, result = unreachable
    retries = re.findall(
        rf"INFO: cannot reach GitHub at {re.escape(url)}: connection refused; retry (\d)/5 in [\d.]+ s",
        result.stderr,
    )
    assert retries == ["1", "2", "3", "4", "5"], result.stderr[-3000:]


def test_no_stat_key_holds_none(unreachable):
    _, result = unreachable
    assert "prseed/retry/backoff_seconds" in result.stderr  # the stats were dumped
    assert "/None" not in result.stderr
