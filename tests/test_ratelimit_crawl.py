"""The token pool in real crawls: budgets spread, rests obeyed, waits that do not block."""

from __future__ import annotations

import logging

import pytest
import pytest_twisted
from scrapy.utils.asyncio import create_looping_call

from prseed import outcome
from tests.crawling import crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset

REPOSITORY = "acme/widgets"
# A request prseed sent before the answer that rests its token reached it arrives this soon after.
IN_FLIGHT_SLACK = 0.2
TOKENS = {"tok-alice-0000aaaa": "alice", "tok-bob-1111bbbb": "bob", "tok-carol-2222cccc": "carol"}


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: 40}, seed=5, big_pr=True)


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    for token in TOKENS:
        assert token not in caplog.text


def tokens_setting(*tokens):
    return {"GITHUB_TOKEN": None, "GITHUB_TOKENS": ",".join(tokens)}


def assert_complete(sqlite_url, dataset):
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])


def data_requests(github):
    return [record for record in github.requests if record.operation != "TokenCheck"]


@pytest_twisted.ensureDeferred
async def test_three_tokens_with_tight_budgets_share_the_work(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens=TOKENS, budget=14, window_seconds=3) as github:
        crawler = await crawl(github.url, sqlite_url, settings=tokens_setting(*TOKENS), repo=REPOSITORY)
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished" and stats.get("prseed/pages_failed", 0) == 0
    assert_complete(sqlite_url, dataset)
    points = {token: sum(r.cost for r in data_requests(github) if r.token == token) for token in TOKENS}
    assert all(points.values()), points
    assert sum(points.values()) > 14  # more than one token's budget: the pool moved on
    assert not [r for r in github.requests if r.status == 200 and r.fault == "rate_limited"]


@pytest_twisted.ensureDeferred
async def test_a_token_told_to_retry_after_3_s_sends_nothing_for_3_s(dataset, sqlite_url):
    token = "tok-alice-0000aaaa"
    with FakeGitHub(dataset, tokens={token: "alice"}) as github:
        github.inject("secondary", count=1, match="PullRequestReviews")
        ticks = []
        looping = create_looping_call(lambda: ticks.append(1))
        looping.start(0.1)
        crawler = await crawl(github.url, sqlite_url, settings=tokens_setting(token), repo=REPOSITORY)
        looping.stop()
    hit = min((r for r in github.requests if r.status == 403), key=lambda r: r.time)
    # Only a request already on its way when the 403 arrived may meet the rest; after
    # IN_FLIGHT_SLACK nothing is sent until the 3 s are over.
    early = [r for r in github.requests if r.early]
    assert len(early) <= 1 and all(r.time < hit.end_time + IN_FLIGHT_SLACK for r in early)
    during_rest = [
        r for r in github.requests if hit.end_time + IN_FLIGHT_SLACK < r.time < hit.end_time + 2.95
    ]
    assert not during_rest
    assert [r for r in github.requests if r.time >= hit.end_time + 2.95]
    assert crawler.stats.get_value("prseed/ratelimit/seconds_waited") >= 2.9
    assert len(ticks) >= 25  # the reactor kept running during the 3 s rest
    assert_complete(sqlite_url, dataset)


@pytest_twisted.ensureDeferred
async def test_while_one_token_rests_the_others_carry_on(dataset, sqlite_url):
    tokens = list(TOKENS)[:2]
    with FakeGitHub(dataset, tokens=TOKENS, secondary_retry_after=30) as github:
        github.inject("secondary", count=1, match="PullRequestReviews")
        crawler = await crawl(github.url, sqlite_url, settings=tokens_setting(*tokens), repo=REPOSITORY)
    hit = min((r for r in github.requests if r.status == 403), key=lambda r: r.time)
    assert not [
        r for r in github.requests if r.token == hit.token and r.time > hit.end_time + IN_FLIGHT_SLACK
    ]
    assert crawler.stats.get_value("prseed/ratelimit/seconds_waited") is None
    assert_complete(sqlite_url, dataset)


@pytest_twisted.ensureDeferred
async def test_concurrency_limit_is_obeyed(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens=TOKENS, max_concurrent_per_token=2, latency=0.05) as github:
        await crawl(
            github.url,
            sqlite_url,
            settings={
                **tokens_setting(*TOKENS),
                "CONCURRENT_REQUESTS": 16,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
            },
            repo=REPOSITORY,
        )
    assert not [r for r in github.requests if r.status == 403]
    assert_complete(sqlite_url, dataset)


@pytest_twisted.ensureDeferred
async def test_pacing_keeps_a_crawl_clear_of_secondary_limits(sqlite_url):
    """The server allows 8 points a minute; prseed paces at 6 and never hears a 403."""
    dataset = generate_dataset({REPOSITORY: 16}, seed=2, big_pr=False)
    token = "tok-alice-0000aaaa"
    with FakeGitHub(dataset, tokens={token: "alice"}, points_per_minute=8) as github:
        crawler = await crawl(
            github.url,
            sqlite_url,
            settings={
                **tokens_setting(token),
                "PRSEED_POINTS_PER_MINUTE": 6,
                "PRSEED_PAGE_SIZE": 2,
                "PRSEED_MIN_PAGE_SIZE": 1,
            },
            repo=REPOSITORY,
        )
    assert sum(r.cost for r in data_requests(github)) > 8
    assert not [r for r in github.requests if r.status == 403]
    assert crawler.stats.get_value("prseed/ratelimit/secondary_hits") is None
    assert_complete(sqlite_url, dataset)


@pytest_twisted.ensureDeferred
async def test_a_token_revoked_mid_crawl_is_dropped(dataset, sqlite_url):
    tokens = list(TOKENS)[:2]
    with FakeGitHub(dataset, tokens=TOKENS) as github:
        github.inject("revoke", count=1, match="PullRequestCommits")
        crawler = await crawl(github.url, sqlite_url, settings=tokens_setting(*tokens), repo=REPOSITORY)
    revoked = min((r for r in github.requests if r.status == 401), key=lambda r: r.time)
    assert not [
        r for r in github.requests if r.token == revoked.token and r.time > revoked.end_time + IN_FLIGHT_SLACK
    ]
    assert crawler.stats.get_value("prseed/ratelimit/tokens_revoked") == 1
    assert crawler.stats.get_value("finish_reason") == "finished"
    assert_complete(sqlite_url, dataset)


@pytest_twisted.ensureDeferred
async def test_primary_limit_rests_until_reset(dataset, sqlite_url):
    token = "tok-alice-0000aaaa"
    with FakeGitHub(dataset, tokens={token: "alice"}, budget=12, window_seconds=2) as github:
        crawler = await crawl(github.url, sqlite_url, settings=tokens_setting(token), repo=REPOSITORY)
    assert crawler.stats.get_value("prseed/ratelimit/waits") >= 1
    assert not [r for r in github.requests if r.status != 200]
    assert_complete(sqlite_url, dataset)


@pytest_twisted.ensureDeferred
async def test_without_waiting_an_exhausted_budget_stops_with_the_reset_time(dataset, sqlite_url, caplog):
    token = "tok-alice-0000aaaa"
    with FakeGitHub(dataset, tokens={token: "alice"}, budget=6, window_seconds=3600) as github:
        crawler = await crawl(
            github.url,
            sqlite_url,
            settings={**tokens_setting(token), "PRSEED_RATELIMIT_WAIT": False},
            repo=REPOSITORY,
        )
    assert crawler.stats.get_value("finish_reason") == "rate_limited"
    assert "it resets at" in caplog.text
    last_line = outcome.last_line(crawler.stats.get_stats())
    assert last_line.startswith("every GitHub token has used its budget until ")
    assert outcome.RERUN in last_line
    assert sum(r.cost for r in github.requests) <= 6 + 3


@pytest_twisted.ensureDeferred
async def test_rate_limited_bodies_are_obeyed(dataset, sqlite_url):
    tokens = list(TOKENS)[:2]
    with FakeGitHub(dataset, tokens=TOKENS) as github:
        github.inject("rate_limited", count=1, match="PullRequestPage")
        crawler = await crawl(github.url, sqlite_url, settings=tokens_setting(*tokens), repo=REPOSITORY)
    (limited,) = [r for r in github.requests if r.fault == "rate_limited"]
    assert not [
        r for r in github.requests if r.token == limited.token and r.time > limited.end_time + IN_FLIGHT_SLACK
    ]
    assert crawler.stats.get_value("prseed/ratelimit/primary_hits") == 1
    assert_complete(sqlite_url, dataset)


@pytest_twisted.ensureDeferred
async def test_random_faults_do_not_change_the_result(dataset, sqlite_url):
    tokens = list(TOKENS)
    with FakeGitHub(
        dataset, tokens=TOKENS, fault_rates={"502": 0.05, "truncated": 0.01, "reset": 0.01}, seed=3
    ) as github:
        crawler = await crawl(
            github.url, sqlite_url, settings={**tokens_setting(*tokens), "RETRY_TIMES": 8}, repo=REPOSITORY
        )
    assert [r for r in github.requests if r.fault]
    assert crawler.stats.get_value("prseed/pages_failed") is None
    assert_complete(sqlite_url, dataset)
