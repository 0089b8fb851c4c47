"""A row the database refuses is never lost silently: its pull request stays incomplete or
unsynced, the watermark does not move past it, and the crawl says so and exits 1."""

from __future__ import annotations

import pytest
import pytest_twisted

from prseed import items
from prseed.db import Batch, open_database
from prseed.db.backends import Tainted
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows, selected_pull_requests
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.test_cli import scrapy
from tests.test_database import REPOSITORY as WIDGETS
from tests.test_database import pull_request, review, write

REPOSITORY = "acme/widgets"
MESSAGE = "prseed-test refuses this row"


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: 30}, seed=5, big_pr=False)


def refuse(database_url: str, table: str, condition: str) -> None:
    """Make the database reject rows of ``table`` matching ``condition`` (on NEW)."""
    database = open_database(database_url)
    with database.transaction() as cursor:
        if database.dialect.name == "sqlite":
            for event in ("INSERT", "UPDATE"):
                cursor.execute(
                    f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON {table} "
                    f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                )
        else:
            cursor.execute(
                "CREATE FUNCTION prseed_refuse() RETURNS trigger AS $$ BEGIN "
                f"IF {condition} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION prseed_refuse()"
            )
    database.close()


def accept_again(database_url: str) -> None:
    database = open_database(database_url)
    with database.transaction() as cursor:
        if database.dialect.name == "sqlite":
            cursor.execute("DROP TRIGGER refuse_insert")
            cursor.execute("DROP TRIGGER refuse_update")
        else:
            cursor.execute("DROP FUNCTION prseed_refuse() CASCADE")
    database.close()


def query(database_url: str, sql: str) -> list[tuple]:
    database = open_database(database_url)
    try:
        with database.transaction() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        database.close()


ORPHANS = " UNION ALL ".join(
    f"SELECT '{table}', count(*) FROM {table} WHERE pull_request_id NOT IN (SELECT id FROM pull_requests)"
    for table in ("reviews", "commits", "files", "check_runs", "pull_request_labels", "closing_issues")
)


def test_a_rejected_pull_request_keeps_the_watermark_and_exits_1(dataset, database_url):
    pulls = dataset.repositories[REPOSITORY]["pullRequests"]
    victim = next(pr for pr in pulls if pr["reviews"] and pr["commits"])
    refuse(database_url, "pull_requests", f"NEW.number = {victim['number']}")
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        arguments = ["crawl", "prs", "-a", f"repo={REPOSITORY}", "-s", f"GITHUB_GRAPHQL_URL={github.url}"]
        env = {"GITHUB_TOKEN": TOKEN, "DATABASE_URL": database_url}
        result = scrapy(*arguments, env=env)
        assert result.returncode == 1, result.stderr[-3000:]
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("prseed: error: ") and "pull_requests row" in last, last
        assert f"#{victim['number']}" in last and MESSAGE in last, last
        # no child row without its parent, in SQLite as in PostgreSQL
        assert all(count == 0 for _, count in query(database_url, ORPHANS))
        assert query(database_url, "SELECT newest_seen FROM sync_state") in ([], [(None,)])

        accept_again(database_url)
        result = scrapy(*arguments, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert database_rows(database_url) == expected_rows(dataset, [REPOSITORY])


@pytest_twisted.ensureDeferred
async def test_a_pull_request_with_a_rejected_child_row_is_fetched_again(dataset, sqlite_url):
    # on the second page, so that the first page's progress is committed before it
    second_page = selected_pull_requests(dataset.repositories[REPOSITORY])[25:]
    victim = next(pr for pr in second_page if pr["reviews"])
    refuse(sqlite_url, "reviews", f"NEW.id = '{victim['reviews'][0]['id']}'")
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        crawler = await crawl(github.url, sqlite_url, settings={"PRSEED_DB_BATCH_SIZE": 1}, repo=REPOSITORY)
        assert crawler.stats.get_value("prseed/db/pull_requests_rejected") == 1
        assert query(sqlite_url, f"SELECT complete FROM pull_requests WHERE id = '{victim['id']}'") == [(0,)]
        assert query(sqlite_url, "SELECT newest_seen FROM sync_state") == [(None,)]
        accept_again(sqlite_url)
        before = len(github.requests)
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        refetched = [
            node_id
            for record in github.requests[before:]
            if record.operation == "PullRequestsById"
            for node_id in record.variables["ids"]
        ]
    assert victim["id"] in refetched
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])


def test_a_rejected_row_of_no_pull_request_still_withholds_its_repositorys_sync(database_url):
    refuse(database_url, "labels", "NEW.name = 'bug'")
    database = open_database(database_url)
    batch = Batch()
    label = items.Label(repository_id="R_1", name="bug", id="LA_1", color="f00", description=None)
    finished = items.SyncState("acme/widgets", "R_1", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    for item in (WIDGETS, label, pull_request(1), finished):
        batch.add(item)
    tainted = Tainted()
    rejected = database.write(batch, (), tainted)
    database.close()
    assert [row.describe() for row in rejected] == [f"labels row 'bug': {MESSAGE}"]
    assert tainted.repositories == {"R_1"} and batch.withheld_repositories == ["acme/widgets"]
    assert query(database_url, "SELECT count(*) FROM sync_state") == [(0,)]


def test_a_rejected_row_of_a_complete_pull_request_makes_it_incomplete(database_url):

    database = open_database(database_url)
    write(database, WIDGETS, pull_request(1), review("RV_1"))
    database.close()
    refuse(database_url, "pull_requests", "NEW.title = 'renamed'")
    database = open_database(database_url)
    rejected = write(database, pull_request(1, title="renamed"), review("RV_2"))
    database.close()
    assert {row.table for row in rejected} >= {"pull_requests"}
    complete = query(database_url, "SELECT complete FROM pull_requests")
    assert complete in ([(0,)], [(False,)])
