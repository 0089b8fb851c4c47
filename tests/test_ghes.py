"""GitHub Enterprise Server with rate limits off: no ``x-ratelimit-*`` headers, and
``rateLimit`` null or "0 of 0 left". No credential rests for ever on it; pacing holds."""

from __future__ import annotations

import pytest
import pytest_twisted

from prseed.middlewares.tokens import TokenPoolMiddleware
from prseed.tokens import Credential, TokenPool
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset

REPOSITORY = "acme/widgets"


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: 20}, seed=3, big_pr=True)


def test_a_limit_of_0_is_no_budget_to_wait_for():
    clock = [1000.0]
    pool = TokenPool([Credential("token-a", "…a", "a")], points_per_minute=3, clock=lambda: clock[0])
    state = pool.tokens[0]
    pool.record_budget(state, 0, 1000.0 + 3600, 0)
    assert state.limit == 0 and not state.budget_exhausted(clock[0])
    assert pool.acquire() is state and pool.next_wait() is None
    pool.release(state)
    pool.record_cost(state, 3)  # pacing still applies
    assert pool.acquire() is None
    assert pool.next_wait().reason == "pacing"


@pytest.mark.parametrize("rate_limits", ["null", "zero"])
@pytest_twisted.ensureDeferred
async def test_a_crawl_of_ghes_without_rate_limits_completes_without_resting(
    dataset, sqlite_url, rate_limits
):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, rate_limits=rate_limits) as github:
        settings = {"PRSEED_RATELIMIT_WAIT": False, "PRSEED_PAGE_SIZE": 5}
        crawler = await crawl(
            github.url.replace("/graphql", "/api/graphql"), sqlite_url, settings, repo=REPOSITORY
        )
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished" and stats.get("prseed/pages_failed", 0) == 0
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
    assert not stats.get("prseed/ratelimit/waits") and not stats.get("prseed/ratelimit/primary_hits")
    assert all(record.cost == 0 for record in github.requests)  # nothing charged: limits are off
    # pacing still counts every query (at least a point each) though no answer tells a cost
    (middleware,) = [
        component
        for component in crawler.engine.downloader.middleware.middlewares
        if isinstance(component, TokenPoolMiddleware)
    ]
    paced = sum(points for _, points in middleware.pool.tokens[0].window)
    assert paced >= len([record for record in github.requests if record.operation != "TokenCheck"])
