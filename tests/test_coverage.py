"""What limited crawls covered, and the back-fill that completes it: a crawl limited by
``max_prs`` or ``since`` never hides the rest of a repository from a later crawl."""

from __future__ import annotations

import json
import logging

import pytest
import pytest_twisted
from scrapy import signals

from prseed.timestamps import shifted
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows, selected_pull_requests
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.test_dbstatus import dbstatus
from tests.test_sync import sync_state

REPOSITORY = "acme/widgets"
SIZE = 90


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: SIZE}, seed=29, big_pr=False)


def pages(github, since: int) -> list[dict]:
    return [record.variables for record in github.requests[since:] if record.operation == "PullRequestPage"]


def fetched(crawler) -> int:
    return crawler.stats.get_value("prseed/pull_requests", 0)


def updated_at(dataset, index: int) -> str:
    """The updatedAt of the index-th most recently updated PR."""
    return selected_pull_requests(dataset.repositories[REPOSITORY])[index]["updatedAt"]


@pytest_twisted.ensureDeferred
async def test_max_prs_then_a_plain_crawl_back_fills_the_rest(dataset, sqlite_url, caplog):
    caplog.set_level(logging.INFO)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        first = await crawl(github.url, sqlite_url, repo=REPOSITORY, max_prs="40")
        assert fetched(first) == 40
        state = sync_state(sqlite_url)
        assert state.history_complete is False and state.covered_since == updated_at(dataset, 39)
        assert state.backfill_cursor is not None

        before = len(github.requests)
        second = await crawl(github.url, sqlite_url, repo=REPOSITORY)
        assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
        # one page to see nothing changed, then the list below the first crawl, from its cursor
        second_pages = pages(github, before)
        assert second_pages[0]["after"] is None and second_pages[1]["after"] == state.backfill_cursor
        assert len(second_pages) == 1 + 2  # 50 PRs left, 25 a page
        assert fetched(second) == SIZE - 40  # nothing fetched twice
        assert "back-filling PRs updated before" in caplog.text
        state = sync_state(sqlite_url)
        assert state.history_complete is True and state.run_started_at is None

        before = len(github.requests)
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        assert [record.operation for record in github.requests[before:]] == ["TokenCheck", "PullRequestPage"]


@pytest_twisted.ensureDeferred
async def test_an_earlier_since_back_fills_only_what_the_later_one_did_not_reach(dataset, sqlite_url):
    later, earlier = updated_at(dataset, 30)[:10], updated_at(dataset, 70)[:10]
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        first = await crawl(github.url, sqlite_url, repo=REPOSITORY, since=later)
        assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY], since=f"{later}T00:00:00Z")
        assert sync_state(sqlite_url).covered_since == f"{later}T00:00:00Z"
        second = await crawl(github.url, sqlite_url, repo=REPOSITORY, since=earlier)
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY], since=f"{earlier}T00:00:00Z")
    pulls = dataset.repositories[REPOSITORY]["pullRequests"]
    between = [pr for pr in pulls if f"{earlier}T00:00:00Z" <= pr["updatedAt"] < f"{later}T00:00:00Z"]
    wanted = selected_pull_requests(dataset.repositories[REPOSITORY], since=f"{earlier}T00:00:00Z")
    assert fetched(first) + fetched(second) == len(wanted)
    assert fetched(second) == len(between)
    assert sync_state(sqlite_url).covered_since == f"{earlier}T00:00:00Z"


@pytest_twisted.ensureDeferred
async def test_a_days_back_that_matched_nothing_does_not_hide_the_history(dataset, sqlite_url, caplog):
    caplog.set_level(logging.INFO)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        first = await crawl(github.url, sqlite_url, repo=REPOSITORY, days_back="1")
        assert fetched(first) == 0  # the dataset's PRs are years old
        assert "-a days_back=1: PRs updated since" in caplog.text
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
    assert sync_state(sqlite_url).history_complete is True


@pytest_twisted.ensureDeferred
async def test_new_prs_and_a_back_fill_come_in_one_crawl(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY, max_prs="30")
        added = [dataset.add_pull_request(REPOSITORY, f"2030-01-0{day}T00:00:00Z") for day in range(1, 4)]
        second = await crawl(github.url, sqlite_url, repo=REPOSITORY)
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
    # the crawl re-reads PRs updated within PRSEED_SYNC_OVERLAP_SECONDS of the watermark
    overlap = shifted(updated_at(dataset, len(added)), -60)
    again = sum(updated_at(dataset, index) >= overlap for index in range(len(added), len(added) + 30))
    assert fetched(second) == SIZE - 30 + len(added) + again
    assert sync_state(sqlite_url).newest_seen == "2030-01-03T00:00:00Z"


@pytest_twisted.ensureDeferred
async def test_a_back_fill_cut_short_continues_from_the_database(dataset, sqlite_url):
    """A back-fill records what it covered page by page, in the same transactions as the
    rows: when it is lost half-way, the next crawl goes on from there."""
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY, max_prs="20")
        covered = sync_state(sqlite_url).covered_since
        answered = []

        def lose_the_back_fills_second_page(response, request, **_):
            if request.meta.get("prseed_operation") == "PullRequestPage":
                answered.append(request)
                if len(answered) == 2:  # the page that saw nothing new, then the back-fill's first
                    github.inject("reset", count=1, match="PullRequestPage")

        def setup(crawler):
            crawler.signals.connect(
                lose_the_back_fills_second_page, signal=signals.response_received, weak=False
            )

        second = await crawl(
            github.url, sqlite_url, settings={"RETRY_TIMES": 0}, setup=setup, repo=REPOSITORY
        )
        assert second.stats.get_value("prseed/pages_failed") == 1
        state = sync_state(sqlite_url)
        assert state.run_backfill is True and state.covered_since < covered
        before = len(github.requests)
        third = await crawl(github.url, sqlite_url, repo=REPOSITORY)
        resumed = pages(github, before)
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
    assert resumed[0]["after"] == state.backfill_cursor
    assert fetched(second) + fetched(third) == SIZE - 20


@pytest_twisted.ensureDeferred
async def test_dbstatus_shows_what_the_syncs_covered(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY, max_prs="10")
        limited = dbstatus(sqlite_url, "--json")
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        complete = dbstatus(sqlite_url)
    (entry,) = json.loads(limited.stdout)["repositories"]
    assert entry["covered_since"] == updated_at(dataset, 9) and entry["history_complete"] is False
    header, row = complete.stdout.splitlines()[-2:]
    assert "covered" in header.split() and row.split()[3] == "all"


@pytest_twisted.ensureDeferred
async def test_an_interrupted_crawl_with_an_earlier_since_is_continued(dataset, sqlite_url, caplog):
    """The listing of what changed stops at the watermark, above ``since``: the same command
    continues it (and back-fills below, if it must) instead of starting over."""
    caplog.set_level(logging.INFO)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        for day in range(1, 31):
            dataset.add_pull_request(REPOSITORY, f"2030-01-{day:02d}T00:00:00Z")
        answered = []

        def lose_the_second_page(response, request, **_):
            if request.meta.get("prseed_operation") == "PullRequestPage":
                answered.append(request)
                if len(answered) == 1:
                    github.inject("reset", count=1, match="PullRequestPage")

        def setup(crawler):
            crawler.signals.connect(lose_the_second_page, signal=signals.response_received, weak=False)

        since = "2000-01-01"
        await crawl(
            github.url, sqlite_url, settings={"RETRY_TIMES": 0}, setup=setup, repo=REPOSITORY, since=since
        )
        assert sync_state(sqlite_url).run_started_at is not None
        caplog.clear()
        await crawl(github.url, sqlite_url, repo=REPOSITORY, since=since)
    assert "continuing the crawl interrupted at 25 PRs" in caplog.text
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])
