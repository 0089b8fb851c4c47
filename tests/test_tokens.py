"""Credentials, their providers, and the token pool middleware as a Scrapy component: its
contract (which requests it signs), its defaults without prseed's settings, renewals."""

from __future__ import annotations

import pickle

import pytest
import pytest_twisted
from scrapy import Spider
from scrapy.crawler import CrawlerRunner
from scrapy.http import JsonRequest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from prseed import config
from prseed.alarm import Alarm
from prseed.exceptions import ConfigError
from prseed.graphql.queries import TOKEN_CHECK_QUERY
from prseed.middlewares.tokens import TokenPoolMiddleware
from prseed.tokens import Credential, CredentialProvider, StaticTokens, TokenPool
from tests.fakegithub import FakeGitHub, generate_dataset

SECRET = "fake-secret-token-9f3e"


# --- credentials and static tokens ------------------------------------------------------------


def test_a_credential_shows_no_more_than_its_last_four_characters():
    (credential,) = StaticTokens([SECRET]).credentials()
    assert credential.authorization() == f"bearer {SECRET}"
    assert (credential.id, credential.label) == ("token-9f3e", "…9f3e")
    assert "secret" not in repr(credential) and "secret" not in str(credential)
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(credential)


def test_a_tokens_id_does_not_depend_on_the_order_of_the_list():
    """Workers given their tokens in another order must name each token alike (Redis keys)."""
    tokens = ["tok-one-1111", "tok-two-2222", "tok-three-3333"]
    forward = {c.authorization(): c.id for c in StaticTokens(tokens).credentials()}
    backward = {c.authorization(): c.id for c in StaticTokens(tokens[::-1]).credentials()}
    assert forward == backward and len(set(forward.values())) == 3


def test_tokens_ending_alike_get_distinct_ids():
    ids = [credential.id for credential in StaticTokens(["a-abcd", "b-abcd", "c-abcd"]).credentials()]
    assert ids == ["token-abcd", "token-abcd-2", "token-abcd-3"]


def test_tokens_come_from_the_settings_before_the_environment(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKENS", "env-aaaa,env-bbbb")
    monkeypatch.setenv("GITHUB_TOKEN", "env-single-cccc")
    assert StaticTokens.from_settings(Settings({"GITHUB_TOKENS": "set-dddd, set-dddd ,set-eeee"})).tokens == [
        "set-dddd",
        "set-eeee",
    ]
    assert StaticTokens.from_settings(Settings()).tokens == ["env-aaaa", "env-bbbb"]
    monkeypatch.delenv("GITHUB_TOKENS")
    assert StaticTokens.from_settings(Settings()).tokens == ["env-single-cccc"]
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(ConfigError, match="no GitHub token: set GITHUB_TOKEN="):
        StaticTokens.from_settings(Settings())


def test_static_tokens_are_a_provider_never_due():
    provider = StaticTokens([SECRET])
    assert isinstance(provider, CredentialProvider)
    assert not any(credential.due(float("inf")) for credential in provider.credentials())


# --- the middleware as a component -------------------------------------------------------------


def test_the_middleware_works_without_prseeds_settings(monkeypatch):
    """A bare crawler: every value the middleware and its pool read is the table's default."""
    monkeypatch.delenv("GITHUB_GRAPHQL_URL", raising=False)
    middleware = TokenPoolMiddleware.from_crawler(get_crawler(Spider, {"GITHUB_TOKEN": SECRET}))
    assert type(middleware.pool) is TokenPool
    assert middleware.pool.max_in_flight == config.setting("GITHUB_MAX_CONCURRENT_PER_TOKEN").default
    assert middleware.pool.points_per_minute == config.setting("PRSEED_POINTS_PER_MINUTE").default
    assert middleware.endpoint == config.setting("GITHUB_GRAPHQL_URL").default
    assert middleware.wait_enabled is config.setting("PRSEED_RATELIMIT_WAIT").default


class RecordingPool(TokenPool):
    """A pool class named by a setting."""


def test_the_pool_class_is_a_setting():
    settings = {
        "GITHUB_TOKEN": SECRET,
        "PRSEED_TOKEN_POOL": f"{__name__}.RecordingPool",
        "PRSEED_POINTS_PER_MINUTE": 7,
    }
    middleware = TokenPoolMiddleware.from_crawler(get_crawler(Spider, settings))
    assert type(middleware.pool) is RecordingPool and middleware.pool.points_per_minute == 7
    assert list(middleware.pool.states) == ["token-9f3e"]


class BareSpider(Spider):
    """A plain Scrapy spider: GraphQL requests without prseed's meta, and one elsewhere."""

    name = "bare"
    concurrent = 6

    def __init__(self, url: str, elsewhere: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.url, self.elsewhere = url, elsewhere
        self.statuses: list[int] = []

    async def start(self):
        for index in range(self.concurrent):
            yield JsonRequest(
                self.url, data={"query": TOKEN_CHECK_QUERY, "variables": {"n": index}}, dont_filter=True
            )
        if self.elsewhere:
            yield JsonRequest(
                self.elsewhere, data={"query": TOKEN_CHECK_QUERY}, meta={"handle_httpstatus_all": True}
            )

    def parse(self, response):
        self.statuses.append(response.status)


async def bare_crawl(github, settings: dict | None = None, elsewhere: str | None = None):
    """A crawl in a project with no prseed settings but the middleware and the endpoint."""
    runner = CrawlerRunner(
        Settings(
            {
                "DOWNLOADER_MIDDLEWARES": {"prseed.middlewares.tokens.TokenPoolMiddleware": 950},
                "GITHUB_GRAPHQL_URL": github.url,
                "TELNETCONSOLE_ENABLED": False,
                **(settings or {}),
            }
        )
    )
    crawler = runner.create_crawler(BareSpider)
    await runner.crawl(crawler, url=github.url, elsewhere=elsewhere)
    return crawler


@pytest.fixture
def dataset():
    return generate_dataset({"acme/widgets": 1}, seed=1, big_pr=False)


@pytest_twisted.ensureDeferred
async def test_every_request_to_the_graphql_endpoint_is_signed_and_no_other(dataset):
    """A request without ``prseed.meta.OPERATION`` is signed all the same; a request to another
    URL (here another path of the same server) goes without a token."""
    with FakeGitHub(dataset, tokens={SECRET: "alice"}) as github:
        elsewhere = github.url.replace("/graphql", "/api/graphql")
        crawler = await bare_crawl(github, {"GITHUB_TOKEN": SECRET}, elsewhere=elsewhere)
    signed = [record for record in github.requests if record.token == SECRET]
    unsigned = [record for record in github.requests if record.token is None]
    assert len(signed) == 1 + BareSpider.concurrent  # the token check, then every spider request
    assert len(unsigned) == 1 and unsigned[0].status == 401
    assert crawler.spider.statuses.count(200) == BareSpider.concurrent
    assert crawler.stats.get_value("prseed/ratelimit/requests_not_signed") == 1


# --- renewals ------------------------------------------------------------------------------


class RenewingProvider:
    """A provider whose credentials are due at once, as an App installation token near its
    expiry would be; ``fail`` lists the ids it cannot renew."""

    RENEW_SECONDS = 0.2

    def __init__(self, secrets: dict[str, tuple[str, str]], fail: set[str] = frozenset()) -> None:
        self.secrets = secrets  # id -> (first secret, renewed secret)
        self.fail = fail
        self.renewed: list[str] = []

    def credentials(self) -> list[Credential]:
        return [Credential(id, f"app {id}", first, renew_at=0.0) for id, (first, _) in self.secrets.items()]

    async def renew(self, credential: Credential) -> None:
        self.renewed.append(credential.id)
        await Alarm().sleep(self.RENEW_SECONDS)  # a token minted over the network, not blocking
        if credential.id in self.fail:
            raise RuntimeError("the installation is suspended")
        credential.replace_secret(self.secrets[credential.id][1], renew_at=None)

    async def credentials_for(self, repository: str | None) -> list[Credential] | None:
        return None


class RenewingMiddleware(TokenPoolMiddleware):
    """The middleware, with credentials from the test's provider."""

    provider: RenewingProvider | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, cls.provider)


@pytest.fixture
def renewing(monkeypatch):
    def install(provider: RenewingProvider) -> dict:
        monkeypatch.setattr(RenewingMiddleware, "provider", provider)
        return {"DOWNLOADER_MIDDLEWARES": {f"{__name__}.RenewingMiddleware": 950}}

    return install


@pytest_twisted.ensureDeferred
async def test_a_due_credential_is_renewed_once_before_it_signs(dataset, renewing):
    provider = RenewingProvider({"app-1": ("old-secret-0001", "new-secret-0002")})
    settings = renewing(provider)
    with FakeGitHub(dataset, tokens={"old-secret-0001": "app", "new-secret-0002": "app"}) as github:
        crawler = await bare_crawl(github, settings)
    checks = [record for record in github.requests if record.variables == {}]
    data = [record for record in github.requests if record.variables != {}]
    assert [record.token for record in checks] == ["old-secret-0001"]  # it could sign when given
    assert provider.renewed == ["app-1"]  # six requests wanted it at once: one renewal
    assert len(data) == BareSpider.concurrent and {record.token for record in data} == {"new-secret-0002"}
    assert crawler.stats.get_value("prseed/ratelimit/renewals") == 1


@pytest_twisted.ensureDeferred
async def test_a_credential_that_cannot_be_renewed_is_dropped(dataset, renewing, caplog):
    provider = RenewingProvider(
        {"app-1": ("old-secret-0001", "new-secret-0002"), "app-2": ("old-secret-0003", "new-secret-0004")},
        fail={"app-1"},
    )
    settings = renewing(provider)
    tokens = {secret: f"account-{secret[-1]}" for pair in provider.secrets.values() for secret in pair}
    with FakeGitHub(dataset, tokens=tokens) as github:
        crawler = await bare_crawl(github, settings)
    data = [record for record in github.requests if record.variables != {}]
    assert {record.token for record in data} == {"new-secret-0004"}
    assert sorted(set(provider.renewed)) == ["app-1", "app-2"]
    assert crawler.stats.get_value("prseed/ratelimit/renewals_failed") == 1
    assert "could not renew GitHub credential app app-1 (the installation is suspended)" in caplog.text
    assert crawler.spider.statuses.count(200) == BareSpider.concurrent
