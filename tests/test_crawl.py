"""End-to-end: real crawls against the fake GitHub server, compared row by row with the
dataset it served."""

from __future__ import annotations

import pytest
import pytest_twisted

from prseed.db.schema import TABLES
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows, named, selected_pull_requests
from tests.fakegithub.data import generate_dataset
from tests.fakegithub.server import FakeGitHub

REPOSITORY = "acme/widgets"
CHILD_TABLES = list(TABLES.children_of(TABLES.by_name["pull_requests"]))  # a PR's


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: 60}, seed=7, big_pr=True)


@pytest.fixture
def github(dataset):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as server:
        yield server


def big_pull_request(dataset):
    return max(dataset.repositories[REPOSITORY]["pullRequests"], key=lambda pr: len(pr["reviews"]))


def assert_database_equals_dataset(database_url, dataset, **limits):
    actual = database_rows(database_url)
    expected = expected_rows(dataset, [REPOSITORY], **limits)
    for table, rows in expected.items():
        assert actual[table] == rows, f"{table}: {len(actual[table])} rows, expected {len(rows)}"


@pytest_twisted.ensureDeferred
async def test_crawl_writes_every_row_the_server_serves(github, dataset, database_url):
    crawler = await crawl(github.url, database_url, repo=REPOSITORY)
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert stats.get("prseed/pages_failed", 0) == 0
    assert stats["item_scraped_count"] <= stats["response_received_count"]  # one Rows item an answer
    data_requests = [record for record in github.requests if record.operation != "TokenCheck"]
    assert stats["prseed/points"] == sum(record.cost for record in data_requests) > 0
    assert_database_equals_dataset(database_url, dataset)
    big = big_pull_request(dataset)
    assert (len(big["reviews"]), len(big["commits"]), len(big["files"])) == (180, 250, 1200)
    rows = database_rows(database_url)

    def of_big(table):
        return sum(1 for row in named(rows, table) if row["pull_request_id"] == big["id"])

    assert (of_big("reviews"), of_big("commits"), of_big("files")) == (180, 250, 1200)
    head_runs = sum(len(suite["checkRuns"]) for suite in big["commits"][-1]["commit"]["checkSuites"])
    assert head_runs > 100
    assert of_big("check_runs") == head_runs


@pytest_twisted.ensureDeferred
async def test_schema_traps_bots_ghosts_and_big_ids(github, dataset, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    await crawl(github.url, database_url, repo=REPOSITORY)
    rows = database_rows(database_url)
    assert {"User", "Bot", "Ghost"} <= {member["kind"] for member in named(rows, "members")}
    pull_requests = named(rows, "pull_requests")
    assert any(pr["author_login"] == "ghost" for pr in pull_requests)
    assert all(isinstance(pr["database_id"], int) for pr in pull_requests)
    assert any(review["database_id"] > 2**31 for review in named(rows, "reviews"))
    assert any(review["author_login"] == "ghost" for review in named(rows, "reviews"))
    assert any(issue["issue_repository"] != REPOSITORY for issue in named(rows, "closing_issues"))
    commits = named(rows, "commits")
    assert any(commit["author_login"] is None for commit in commits)
    assert any(commit["author_login"] is not None for commit in commits)


@pytest.mark.parametrize("mode", ["all", "none"])
@pytest_twisted.ensureDeferred
async def test_check_run_modes(github, dataset, tmp_path, mode):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    await crawl(github.url, database_url, settings={"PRSEED_CHECK_RUNS": mode}, repo=REPOSITORY)
    assert_database_equals_dataset(database_url, dataset, check_runs=mode)


@pytest_twisted.ensureDeferred
async def test_max_prs_and_since_stop_early(github, dataset, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    await crawl(github.url, database_url, repo=REPOSITORY, max_prs="7")
    assert_database_equals_dataset(database_url, dataset, max_prs=7)
    assert len(github.requests_for("PullRequestPage")) == 1

    prs = selected_pull_requests(dataset.repositories[REPOSITORY])
    since = prs[30]["updatedAt"][:10]
    database_url = f"sqlite:///{tmp_path / 'since.sqlite3'}"
    await crawl(github.url, database_url, repo=REPOSITORY, since=since)
    assert_database_equals_dataset(database_url, dataset, since=f"{since}T00:00:00Z")


@pytest_twisted.ensureDeferred
async def test_second_crawl_changes_nothing_and_a_third_updates_only_changed_prs(
    github, dataset, database_url
):
    await crawl(github.url, database_url, repo=REPOSITORY)
    first = database_rows(database_url)
    await crawl(github.url, database_url, repo=REPOSITORY)
    assert database_rows(database_url) == first

    big = big_pull_request(dataset)
    small = selected_pull_requests(dataset.repositories[REPOSITORY])[-1]
    for pr in (big, small):
        dataset.touch_pull_request(REPOSITORY, pr["number"], "2030-01-01T00:00:00Z")
    await crawl(github.url, database_url, repo=REPOSITORY)
    third = database_rows(database_url)
    assert_database_equals_dataset(database_url, dataset)
    touched = {big["id"], small["id"]}
    assert {row[0] for row in third["pull_requests"] ^ first["pull_requests"]} == touched
    assert third["reviews"] != first["reviews"] and third["commits"] != first["commits"]
    for table in CHILD_TABLES:
        position = table.column_names.index("pull_request_id")
        assert {row[position] for row in third[table.name] ^ first[table.name]} <= touched, table.name


@pytest_twisted.ensureDeferred
async def test_unknown_repository_closes_with_a_reason(github, tmp_path):
    crawler = await crawl(github.url, f"sqlite:///{tmp_path / 'db.sqlite3'}", repo="acme/nothing-here")
    assert crawler.stats.get_value("finish_reason") == "repository_not_found"


@pytest_twisted.ensureDeferred
async def test_answers_that_are_not_json_are_retried_not_parsed(github, dataset, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    github.inject("not_json", count=2, match="PullRequestPage")
    github.inject("truncated", count=2, match="PullRequestReviews")
    github.inject("502", count=2, match="PullRequestCommits")
    crawler = await crawl(github.url, database_url, repo=REPOSITORY)
    stats = crawler.stats.get_stats()
    assert stats["retry/reason_count/invalid_json"] == 4
    assert stats["retry/reason_count/502 Bad Gateway"] == 2
    assert stats["prseed/retry/backoff_seconds"] > 0
    assert stats.get("prseed/pages_failed", 0) == 0
    assert_database_equals_dataset(database_url, dataset)


@pytest_twisted.ensureDeferred
async def test_heavy_pages_are_asked_again_smaller(dataset, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, resource_limit_nodes=10) as github:
        crawler = await crawl(github.url, database_url, repo=REPOSITORY)
        sizes = {record.variables["pageSize"] for record in github.requests_for("PullRequestPage")}
    assert sizes == {25, 12, 6}
    # 12 a page grows back after a run of good pages of 6, and is halved again
    assert crawler.stats.get_value("prseed/page_size_reductions") >= 2
    assert_database_equals_dataset(database_url, dataset)


@pytest_twisted.ensureDeferred
async def test_a_pr_with_more_files_than_github_lists_is_marked_truncated(tmp_path):
    dataset = generate_dataset({REPOSITORY: 3}, seed=3, big_pr=False, huge_files_pr=True)
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repo=REPOSITORY)
    rows = database_rows(database_url)
    truncated = [pr for pr in named(rows, "pull_requests") if pr["files_truncated"]]
    assert len(truncated) == 1 and truncated[0]["changed_files"] == 3100
    assert sum(1 for file in named(rows, "files") if file["pull_request_id"] == truncated[0]["id"]) == 3000
    assert_database_equals_dataset(database_url, dataset)


@pytest_twisted.ensureDeferred
async def test_no_request_is_sent_without_the_token_and_none_keeps_it(github, tmp_path, caplog):
    await crawl(github.url, f"sqlite:///{tmp_path / 'db.sqlite3'}", repo=REPOSITORY, max_prs="3")
    assert {record.token for record in github.requests} == {TOKEN}
    assert TOKEN not in caplog.text


@pytest_twisted.ensureDeferred
async def test_a_page_query_that_timed_out_is_retried_with_half_the_prs(github, dataset, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    github.inject("504", count=1, match="PullRequestPage")
    crawler = await crawl(github.url, database_url, repo=REPOSITORY)
    sizes = [record.variables["pageSize"] for record in github.requests_for("PullRequestPage")]
    assert sizes[:2] == [25, 12]
    assert crawler.stats.get_value("prseed/page_size_reductions") == 1
    assert_database_equals_dataset(database_url, dataset)


# --- prconn: PRSEED_COLLECT's parts


@pytest_twisted.ensureDeferred
async def test_conversations_are_followed_to_their_end_deleted_actors_and_teams_included(
    github, dataset, tmp_path
):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    await crawl(github.url, database_url, repo=REPOSITORY)
    rows = database_rows(database_url)
    big = big_pull_request(dataset)

    def of_big(table):
        return [row for row in named(rows, table) if row["pull_request_id"] == big["id"]]

    assert len(of_big("timeline_events")) == len(big["timelineItems"]) > 100
    assert len(of_big("review_threads")) == len(big["reviewThreads"]) > 100
    assert len(of_big("issue_comments")) == len(big["comments"]) > 100
    by_thread = {}
    for comment in of_big("review_comments"):
        by_thread[comment["thread_id"]] = by_thread.get(comment["thread_id"], 0) + 1
    assert max(by_thread.values()) > 100
    events = named(rows, "timeline_events")
    assert any(event["actor_login"] == "ghost" for event in events)
    assert any(
        event["type"] == "REVIEW_REQUESTED_EVENT" and event["requested_reviewer"] is None for event in events
    )
    assert "Team" in {event["requested_reviewer_kind"] for event in events}
    requests = named(rows, "review_requests")
    assert {"User", "Team", "Ghost"} <= {request["reviewer_kind"] for request in requests}
    logins = {member["login"] for member in named(rows, "members")}
    assert {event["actor_login"] for event in events} <= logins
    assert {request["reviewer"] for request in requests if request["reviewer_kind"] != "Team"} <= logins
    assert not {request["reviewer"] for request in requests if request["reviewer_kind"] == "Team"} & logins


@pytest_twisted.ensureDeferred
async def test_collect_chooses_the_parts_and_keeps_the_rows_of_the_others(github, dataset, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    chosen = frozenset({"timeline", "assignees"})
    await crawl(github.url, database_url, settings={"PRSEED_COLLECT": "timeline,assignees"}, repo=REPOSITORY)
    assert_database_equals_dataset(database_url, dataset, collect=chosen)
    assert not github.requests_for("PullRequestReviewThreadThreadComments")

    await crawl(github.url, database_url, settings={"PRSEED_COLLECT": ""}, repo=REPOSITORY, full="1")
    assert_database_equals_dataset(database_url, dataset, collect=chosen)  # nothing deleted
