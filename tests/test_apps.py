"""GitHub App installations as credentials, over real HTTP against the fake server's App:
tokens renewed ahead of expiry and after a 401, installations found per repository, mixed
with personal tokens, and no secret (key, JWT, token) in logs, stats, the cache or Redis."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import jwt
import pytest
import pytest_twisted
import redis

from prseed.distributed import SharedTokenPool
from prseed.exceptions import ConfigError
from prseed.tokens import Credential, check_credential_settings
from prseed.tokens.apps import JWT_BACKDATE, GitHubApp, read_private_key
from tests.crawling import crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.fakegithub.apps import FakeApp
from tests.processes import scrapy

REPOSITORY = "acme/widgets"
OTHER = "other/gadgets"
APP_ID = "4242"
PERSONAL = "fake-personal-token-0000beef"


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: 30, OTHER: 10}, seed=5, big_pr=True)


@pytest.fixture
def app_and_key(tmp_path):
    """A fake App with two installations (one per repository) and its key file's path."""

    def make(**options):
        app, pem = FakeApp.with_key(APP_ID, {"11": {REPOSITORY}, "22": {OTHER}}, **options)
        path = tmp_path / "app.pem"
        path.write_bytes(pem)
        return app, path

    return make


def app_settings(github: FakeGitHub, key: Path, **overrides) -> dict:
    return {
        "GITHUB_TOKEN": None,
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_APP_PRIVATE_KEY": str(key),
        "GITHUB_API_URL": github.url.removesuffix("/graphql"),
        **overrides,
    }


def secrets_of(app: FakeApp, key: Path) -> list[str]:
    """Every secret that must never be written anywhere: tokens, JWTs, the key's body."""
    key_lines = [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]
    return [*app.tokens, *app.jwts, *key_lines[:3]]


def assert_nowhere(secrets: list[str], *texts: str) -> None:
    assert secrets
    for secret in secrets:
        for text in texts:
            assert secret not in text


def files_text(directory: Path) -> str:
    return "".join(
        path.read_bytes().decode("latin-1") for path in sorted(directory.rglob("*")) if path.is_file()
    )


def graphql_requests(github: FakeGitHub):
    return [record for record in github.requests if record.operation is not None]


# --- the App and its key --------------------------------------------------------------


def test_the_jwt_is_rs256_issued_a_minute_ago_and_valid_at_most_ten_minutes(app_and_key):
    app, key = app_and_key()
    before = int(time.time())
    token = GitHubApp(APP_ID, read_private_key(str(key))).token()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, app.public_key, algorithms=["RS256"])
    assert claims["iss"] == APP_ID
    assert before - JWT_BACKDATE - 1 <= claims["iat"] <= int(time.time()) - JWT_BACKDATE
    assert claims["exp"] - claims["iat"] <= 600 and claims["exp"] > time.time()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "GITHUB_APP_PRIVATE_KEY: cannot read {path}: No such file or directory"),
        (b"not a key", "GITHUB_APP_PRIVATE_KEY: {path} is not an RSA private key in PEM form"),
    ],
)
def test_a_key_that_cannot_be_read_or_parsed_is_a_config_error(tmp_path, content, expected):
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)
    settings = {"GITHUB_APP_ID": APP_ID, "GITHUB_APP_PRIVATE_KEY": str(path)}
    with pytest.raises(ConfigError) as raised:
        check_credential_settings(settings)
    assert str(raised.value).startswith(expected.format(path=path))


def test_an_app_id_without_a_key_is_a_config_error():
    with pytest.raises(ConfigError, match="GITHUB_APP_PRIVATE_KEY is not"):
        check_credential_settings({"GITHUB_APP_ID": APP_ID})


def test_scrapy_crawl_with_a_broken_key_is_one_line_and_exit_2(tmp_path):
    key = tmp_path / "broken.pem"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n-----END RSA PRIVATE KEY-----\n")
    env = {"GITHUB_APP_ID": APP_ID, "GITHUB_APP_PRIVATE_KEY": str(key)}
    finished = scrapy("crawl", "prs", "-a", f"repo={REPOSITORY}", env=env)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        f"prseed: error: GITHUB_APP_PRIVATE_KEY: {key} is not an RSA private key in PEM form "
        "(-----BEGIN RSA PRIVATE KEY-----, as GitHub gives it)"
    ]


# --- crawls ----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_crawl_spanning_two_token_expiries_sends_nothing_with_an_expired_token(
    dataset, app_and_key, sqlite_url, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    app, key = app_and_key(token_seconds=3)
    cache = tmp_path / "cache"
    with FakeGitHub(dataset, tokens={}, app=app, latency=0.15) as github:
        settings = app_settings(
            github,
            key,
            GITHUB_APP_INSTALLATION_ID="11",
            PRSEED_APP_TOKEN_REFRESH_AHEAD=1,
            PRSEED_PAGE_SIZE=5,
            CONCURRENT_REQUESTS=2,
            HTTPCACHE_ENABLED=True,
            HTTPCACHE_DIR=str(cache),
        )
        crawler = await crawl(github.url, sqlite_url, settings=settings, repo=REPOSITORY)
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished" and stats.get("prseed/pages_failed", 0) == 0
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
    requests = graphql_requests(github)
    issued = sorted(app.tokens.values(), key=lambda token: token.issued_at)
    assert len(issued) >= 3  # the crawl outlived two tokens
    assert not app.expired_tokens and not [r for r in github.requests if r.status not in (200, 201)]
    assert {record.token for record in requests} <= set(app.tokens)
    assert len({record.token for record in requests}) >= 3
    assert stats["prseed/ratelimit/renewals"] == len(issued)
    assert app.jwts_refused == 0
    assert_nowhere(secrets_of(app, key), caplog.text, repr(stats), files_text(cache))


@pytest_twisted.ensureDeferred
async def test_a_401_from_an_expired_token_renews_it_rather_than_dropping_it(
    dataset, app_and_key, sqlite_url, caplog
):
    caplog.set_level(logging.DEBUG)
    # Each token dies 1 s after issue though it says it lasts an hour (a server whose clock
    # runs ahead): prseed learns of it only from the 401s.
    app, key = app_and_key(valid_seconds=1)
    with FakeGitHub(dataset, tokens={}, app=app, latency=0.15) as github:
        settings = app_settings(
            github, key, GITHUB_APP_INSTALLATION_ID="11", PRSEED_PAGE_SIZE=5, CONCURRENT_REQUESTS=2
        )
        crawler = await crawl(github.url, sqlite_url, settings=settings, repo=REPOSITORY)
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished" and stats.get("prseed/pages_failed", 0) == 0
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
    refused = [record for record in github.requests if record.status == 401 and record.token in app.tokens]
    assert refused and app.expired_tokens == {record.token for record in refused}
    assert stats["prseed/ratelimit/renewals_after_401"] >= 1
    assert stats.get("prseed/ratelimit/tokens_revoked", 0) == 0
    assert stats["prseed/ratelimit/renewals"] == len(app.tokens) >= 2
    assert_nowhere(secrets_of(app, key), caplog.text, repr(stats))


@pytest_twisted.ensureDeferred
async def test_a_token_refused_again_after_its_renewal_is_revoked(dataset, app_and_key, sqlite_url):
    app, key = app_and_key(valid_seconds=0)  # every token is refused at once
    with FakeGitHub(dataset, tokens={}, app=app) as github:
        settings = app_settings(github, key, GITHUB_APP_INSTALLATION_ID="11")
        crawler = await crawl(github.url, sqlite_url, settings=settings, repo=REPOSITORY)
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "no_valid_token"
    assert stats["prseed/ratelimit/tokens_revoked"] == 1
    assert len(app.tokens) == 2  # the first, and the one renewal a 401 earns


@pytest_twisted.ensureDeferred
async def test_each_repository_is_read_with_its_own_installation_beside_a_personal_token(
    dataset, app_and_key, sqlite_url, caplog
):
    """Without GITHUB_APP_INSTALLATION_ID, each repository's installation is asked of GitHub;
    the personal token signs for both."""
    caplog.set_level(logging.DEBUG)
    app, key = app_and_key()
    with FakeGitHub(dataset, tokens={PERSONAL: "alice"}, app=app) as github:
        settings = app_settings(
            github,
            key,
            GITHUB_TOKEN=PERSONAL,
        )
        crawler = await crawl(github.url, sqlite_url, settings=settings, repos=f"{REPOSITORY},{OTHER}")
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished" and stats.get("prseed/pages_failed", 0) == 0
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY, OTHER])
    lookups = [record for record in github.requests if record.operation is None and record.status == 200]
    assert stats["prseed/ratelimit/installations_found"] == 2 == len(lookups)  # once per repository
    by_installation = {token: issued.installation for token, issued in app.tokens.items()}
    signers = {}
    for record in graphql_requests(github):
        owner = (record.variables or {}).get("owner")
        if owner is not None:
            signers.setdefault(owner, set()).add(by_installation.get(record.token, record.token))
    assert signers["acme"] <= {"11", PERSONAL} and "11" in signers["acme"]
    assert signers["other"] <= {"22", PERSONAL} and "22" in signers["other"]
    assert_nowhere([*secrets_of(app, key), PERSONAL], caplog.text, repr(stats))


def test_the_shared_pool_keeps_an_installation_in_redis_by_its_id_whatever_its_token(redis_url):
    credential = Credential("app-4242-installation-11", "app 4242 installation 11", "", 0.0, "11")
    server = redis.Redis.from_url(redis_url)
    pool = SharedTokenPool([], server, "prseed")
    for token in ("fake-first-installation-token-01", "fake-second-installation-token-02"):
        credential.replace_secret(token, time.time() + 3600)
        state = pool.add(credential)
        pool.record_budget(state, 4000, time.time() + 3600, 5000)
        pool.record_cost(state, 3)
        pool.rest_secondary(state, 1)
    keys = sorted(key.decode() for key in server.keys("*"))
    assert keys == ["prseed:token:app-4242-installation-11", "prseed:token:app-4242-installation-11:points"]
    stored = repr([server.dump(name) for name in keys])
    assert "ghs_" not in stored and "4000" in repr(server.hgetall(keys[0]))
