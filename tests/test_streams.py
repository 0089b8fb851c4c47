"""The repository-level streams beside the pull requests: deployments (with their statuses,
re-read within a window) and issues, crawled end to end into SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import pytest_twisted

from prseed import config, timestamps
from prseed.db import open_database
from prseed.exceptions import ConfigError
from prseed.spiders.prs import PullRequestsSpider
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows, named
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.fakegithub.data import MANY_STATUSES, add_deployment_status

REPOSITORY = "acme/widgets"
ENVIRONMENTS = ("production", "staging")


@pytest.fixture(scope="module")
def dataset():
    # more than 100 deployments (several pages of 25), one with 130 statuses, deleted creators;
    # issues with more than a first page of labels, assignees and closing PRs
    return generate_dataset({REPOSITORY: 12}, seed=14, big_pr=False, deployments=130, issues=40)


def sync_state(database_url: str) -> dict[str, dict]:
    database = open_database(database_url)
    try:
        return {stream: database.sync_state(REPOSITORY, stream) for stream in ("deployments", "issues")}
    finally:
        database.close()


@pytest_twisted.ensureDeferred
async def test_deployments_and_issues_are_crawled_to_the_end_beside_the_prs(dataset, database_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        crawler = await crawl(
            github.url,
            database_url,
            settings={"PRSEED_DEPLOYMENTS": True, "PRSEED_ISSUES": True},
            repo=REPOSITORY,
        )
        follow_ups = {record.operation for record in github.requests}
    assert crawler.stats.get_value("finish_reason") == "finished"
    rows = database_rows(database_url)
    assert rows == expected_rows(dataset, [REPOSITORY], issues=True)
    assert len(rows["deployments"]) == 130
    assert (
        max(
            sum(1 for row in named(rows, "deployment_statuses") if row["deployment_id"] == d["id"])
            for d in dataset.repositories[REPOSITORY]["deployments"]
        )
        == MANY_STATUSES
    )
    assert "ghost" in {row["creator_login"] for row in named(rows, "deployments")}
    assert {
        "DeploymentStatuses",
        "IssueLabels",
        "IssueAssignees",
        "IssueClosedByPullRequestsReferences",
    } <= follow_ups
    report = crawler.spider.progress()[REPOSITORY]
    assert report["streams"]["deployments"]["fetched"] == 130
    assert report["streams"]["issues"]["fetched"] == 40
    assert report["pull_requests"] == 12 and report["state"] == "complete"


@pytest_twisted.ensureDeferred
async def test_a_sync_rereads_the_window_below_each_streams_own_watermark(database_url):
    dataset = generate_dataset({REPOSITORY: 12}, seed=15, big_pr=False, deployments=40)
    deployments = dataset.repositories[REPOSITORY]["deployments"]
    on = {"PRSEED_DEPLOYMENTS": True, "PRSEED_DEPLOYMENT_WINDOW_DAYS": 3}
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, settings=on, repo=REPOSITORY)
        newest = max(deployment["createdAt"] for deployment in deployments)
        synced = sync_state(database_url)["deployments"]
        assert synced.newest_seen == newest  # createdAt, its own: not the PRs' updatedAt
        database = open_database(database_url)
        prs = database.sync_state(REPOSITORY)
        database.close()
        assert prs.newest_seen == max(
            pr["updatedAt"] for pr in dataset.repositories[REPOSITORY]["pullRequests"]
        )
        # created within the window (two days before the newest) and long before it
        recent = next(
            d
            for d in reversed(deployments)
            if d["createdAt"] < newest and d["createdAt"] >= shifted(newest, -2)
        )
        old = deployments[0]
        with dataset.lock:
            fresh = add_deployment_status(recent, "FAILURE", "2030-01-01T00:00:00Z")
            missed = add_deployment_status(old, "INACTIVE", "2030-01-01T00:00:00Z")
        before = len(github.requests)
        await crawl(github.url, database_url, settings=on, repo=REPOSITORY)
        pages = [record for record in github.requests[before:] if record.operation == "DeploymentPage"]
    rows = named(database_rows(database_url), "deployment_statuses")
    ids = {row["id"] for row in rows}
    assert fresh["id"] in ids and missed["id"] not in ids
    latest = {row["id"]: row for row in named(database_rows(database_url), "deployments")}[recent["id"]]
    assert (latest["latest_status_state"], latest["latest_status_at"]) == ("FAILURE", "2030-01-01T00:00:00Z")
    assert len(pages) == 1  # the window is one page: not the whole list again


def shifted(timestamp: str, days: float) -> str:
    return timestamps.shifted(timestamp, days * 86_400)


@pytest_twisted.ensureDeferred
async def test_a_crawl_of_some_environments_keeps_a_watermark_of_its_own(dataset, database_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(
            github.url,
            database_url,
            settings={"PRSEED_DEPLOYMENTS": True},
            repo=REPOSITORY,
            environments="staging,production",
        )
        (page, *_) = github.requests_for("DeploymentPage")
    assert page.variables["environments"] == ["production", "staging"]
    rows = database_rows(database_url)
    assert rows == expected_rows(dataset, [REPOSITORY], environments=ENVIRONMENTS)
    assert {row["environment"] for row in named(rows, "deployments")} == set(ENVIRONMENTS)
    database = open_database(database_url)
    try:
        assert database.sync_state(REPOSITORY, "deployments") is None  # the unfiltered one never moved
        assert database.sync_state(REPOSITORY, "deployments[production,staging]").newest_seen is not None
    finally:
        database.close()


@pytest_twisted.ensureDeferred
async def test_streams_chooses_what_is_crawled(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY, streams="issues")
        operations = {record.operation for record in github.requests} - {"TokenCheck"}
    assert "IssuePage" in operations and not {"PullRequestPage", "DeploymentPage"} & operations
    rows = database_rows(sqlite_url)
    assert not rows["pull_requests"] and not rows["deployments"]
    expected = expected_rows(dataset, [REPOSITORY], deployments=False, issues=True)
    for table in ("issues", "issue_labels", "issue_assignees", "issue_closing_pull_requests"):
        assert rows[table] == expected[table]


def settings_of(**values):
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("prseed.settings")
    settings.update(values)
    return settings


def test_the_settings_choose_the_streams_and_the_window():
    names = [stream.name for stream in PullRequestsSpider.streams(settings_of())]
    assert names == ["pull_requests", "deployments"]
    chosen = PullRequestsSpider.streams(settings_of(PRSEED_DEPLOYMENTS=False, PRSEED_ISSUES=True))
    assert [stream.name for stream in chosen] == ["pull_requests", "issues"]
    (_, deployments) = PullRequestsSpider.streams(settings_of(PRSEED_DEPLOYMENT_WINDOW_DAYS=1.5))
    assert deployments.window == 1.5 * 86_400
    assert config.value(settings_of(PRSEED_INCIDENT_LABELS="incident, sev1"), "PRSEED_INCIDENT_LABELS") == (
        "incident",
        "sev1",
    )


def test_environments_without_the_deployments_stream_is_refused():
    for values, arguments in (
        ({"PRSEED_DEPLOYMENTS": False}, {}),
        ({}, {"streams": "pull_requests"}),
    ):
        with pytest.raises(ConfigError, match="-a environments"):
            PullRequestsSpider.crawl_plan(
                settings_of(**values), {"repo": REPOSITORY, "environments": "production", **arguments}, False
            )
    with pytest.raises(ConfigError, match="unknown stream 'commits'"):
        PullRequestsSpider.crawl_plan(settings_of(), {"repo": REPOSITORY, "streams": "commits"}, False)


def test_a_release_3_database_upgrades_and_gains_the_streams_tables(database_url):
    from tests.test_migrations import make_release_database

    make_release_database(database_url, 3)
    database = open_database(database_url)
    database.close()
    rows = database_rows(database_url)
    for table in (
        "deployments",
        "deployment_statuses",
        "issues",
        "issue_labels",
        "issue_assignees",
        "issue_closing_pull_requests",
    ):
        assert rows[table] == set()
