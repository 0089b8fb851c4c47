"""The repository-level streams beside the pull requests: deployments (with their statuses,
re-read within a window) and issues, crawled end to end into SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import pytest_twisted

from prseed import config
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
