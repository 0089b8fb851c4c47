"""The database layer on its own: upserts, child replacement, bad rows, both dialects."""

import dataclasses
import logging
import threading
from dataclasses import replace

import pytest
import pytest_twisted
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.test import get_crawler
from twisted.internet import reactor, task

from prseed import items, outcome, signals
from prseed.db import Batch, open_database
from prseed.db.schema import POSTGRESQL, SQLITE, TABLE_BY_NAME, TABLES, create_statements
from prseed.db.tables import Table, Tables
from prseed.exceptions import ConfigError
from prseed.pipelines.database import DatabasePipeline
from tests.expected import database_rows

CHILD_TABLES = TABLES.replaced
REPOSITORY = items.Repository(id="R_1", owner="acme", name="widgets", url="https://github.com/acme/widgets")


def pull_request(number: int, **changes) -> items.PullRequest:
    values = dict(
        id=f"PR_{number}",
        repository_id="R_1",
        number=number,
        database_id=10**12 + number,
        title=f"PR {number}",
        body="",
        state="OPEN",
        is_draft=False,
        url=f"https://x/{number}",
        author_login="alice",
        merged_by_login=None,
        milestone_number=None,
        created_at="2024-01-01T00:00:00Z",
        updated_at="2024-01-02T00:00:00Z",
        closed_at=None,
        merged_at=None,
        base_ref="main",
        head_ref="topic",
        head_sha="a" * 40,
        merge_commit_sha=None,
        additions=1,
        deletions=2,
        changed_files=3,
        files_truncated=False,
        review_decision=None,
    )
    values.update(changes)
    return items.PullRequest(**values)


def review(review_id: str, pull_request_id: str = "PR_1") -> items.Review:
    return items.Review(
        id=review_id,
        pull_request_id=pull_request_id,
        database_id=1,
        author_login="bob",
        state="APPROVED",
        body="ok",
        author_association="MEMBER",
        commit_oid=None,
        submitted_at="2024-01-02T00:00:00Z",
        created_at="2024-01-02T00:00:00Z",
    )


def write(database, *batch_items):
    batch = Batch()
    for item in batch_items:
        batch.add(item)
    return database.write(batch, CHILD_TABLES)


def rows(database, sql):
    with database.transaction() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.fixture
def database(database_url):
    database = open_database(database_url)
    yield database
    database.close()


def test_same_items_twice_leave_the_same_rows(database):
    batch = (REPOSITORY, items.Member("alice", "User", 7, "Alice"), pull_request(1), review("RV_1"))
    write(database, *batch)
    write(database, *batch)
    assert rows(database, "SELECT count(*) FROM pull_requests") == [(1,)]
    assert rows(database, "SELECT count(*) FROM reviews") == [(1,)]
    assert rows(database, "SELECT count(*) FROM members") == [(1,)]


def test_refetched_pull_request_updates_and_replaces_its_children(database):
    write(
        database,
        REPOSITORY,
        pull_request(1),
        review("RV_1"),
        review("RV_2"),
        pull_request(2),
        review("RV_3", "PR_2"),
    )
    write(database, pull_request(1, title="renamed"), review("RV_2"))
    assert rows(database, "SELECT title FROM pull_requests ORDER BY number") == [("renamed",), ("PR 2",)]
    assert rows(database, "SELECT id FROM reviews ORDER BY id") == [("RV_2",), ("RV_3",)]


def test_duplicates_in_one_batch_keep_the_last(database):
    write(database, items.Member("alice", "User", 7, None), items.Member("alice", "User", 7, "Alice A."))
    assert rows(database, "SELECT login, name FROM members") == [("alice", "Alice A.")]


def test_a_bad_row_loses_only_itself(database, caplog):
    rejected = write(database, REPOSITORY, pull_request(1), pull_request(2, title=None), pull_request(3))
    assert rows(database, "SELECT number FROM pull_requests ORDER BY number") == [(1,), (3,)]
    assert len(rejected) == 1
    assert rejected[0].describe().startswith("pull_requests row of pull request #2 (PR_2)")


def test_big_database_ids_fit(database):
    write(database, REPOSITORY, pull_request(1, database_id=2**40))
    assert rows(database, "SELECT database_id FROM pull_requests") == [(2**40,)]


def test_schema_is_created_once_and_reopened(database_url):
    open_database(database_url).close()
    database = open_database(database_url)
    write(database, REPOSITORY)
    database.close()


def test_one_definition_two_dialects():
    sqlite, postgresql = create_statements(SQLITE), create_statements(POSTGRESQL)
    assert len(sqlite) == len(postgresql)
    assert "TIMESTAMPTZ" in "".join(postgresql) and "TIMESTAMPTZ" not in "".join(sqlite)


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://localhost/x", "is not supported"),
        ("sqlite:///no/such/dir/x.sqlite3", "does not exist"),
        ("postgresql://u:hunter2@127.0.0.1:1/x", "cannot connect to PostgreSQL"),
    ],
)
def test_unusable_database_urls_are_one_clear_line(url, message):
    with pytest.raises(ConfigError) as raised:
        open_database(url)
    assert message in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_unwritable_sqlite_file(tmp_path):
    path = tmp_path / "read-only.sqlite3"
    path.write_bytes(b"this is not a database")
    with pytest.raises(ConfigError, match="cannot write SQLite database"):
        open_database(f"sqlite:///{path}")


def test_items_round_trip_every_column(database):
    pr = pull_request(5, is_draft=True, files_truncated=True, merged_by_login="carol")
    write(database, REPOSITORY, pr)
    (row,) = rows(database, "SELECT is_draft, files_truncated, merged_by_login FROM pull_requests")
    assert tuple(bool(v) if i < 2 else v for i, v in enumerate(row)) == (True, True, "carol")
    assert replace(pr) == pr


AWKWARD_TEXTS = [
    "tab\there",
    "line\nbreak",
    "carriage\rreturn\r\n",
    "back\\slash \\N \\t \\\\",
    "\\N",
    "",
    "naïve 日本語 🚀 \u2028",
    "ends with a backslash\\",
]


def count_transactions(database) -> list:
    """Record each transaction the database opens: a batch written in one is one the server
    took whole, without falling back to writing row by row."""
    opened = []
    transaction = database.transaction

    def counted():
        opened.append(1)
        return transaction()

    database.transaction = counted
    return opened


def test_awkward_text_round_trips_exactly(database):
    """PostgreSQL's COPY text format has its own escapes: every value must come back as sent,
    from a batch written whole."""
    prs = [pull_request(n, title=text, body=text[::-1]) for n, text in enumerate(AWKWARD_TEXTS, 1)]
    reviews = [replace(review(f"RV_{n}", f"PR_{n}"), body=text) for n, text in enumerate(AWKWARD_TEXTS, 1)]
    opened = count_transactions(database)
    assert write(database, REPOSITORY, *prs, *reviews) == []
    assert len(opened) == 1
    table = TABLE_BY_NAME["pull_requests"]
    written = {row["number"]: row for row in database.select(table)}
    for pr in prs:
        assert written[pr.number] == dataclasses.asdict(pr)
    bodies = {row["id"]: row["body"] for row in database.select(TABLE_BY_NAME["reviews"])}
    assert bodies == {r.id: r.body for r in reviews}


def test_nulls_booleans_and_big_numbers_round_trip(database):
    pr = pull_request(
        7,
        database_id=None,
        merged_by_login=None,
        is_draft=True,
        files_truncated=False,
        additions=2**62,
        closed_at="2024-03-01T12:00:00Z",
        complete=False,
    )
    assert write(database, REPOSITORY, pr, items.Member("ghost", "Ghost")) == []
    (row,) = database.select(TABLE_BY_NAME["pull_requests"])
    assert row == dataclasses.asdict(pr)
    assert database.select(TABLE_BY_NAME["members"]) == [dataclasses.asdict(items.Member("ghost", "Ghost"))]


def test_completed_pull_requests_are_marked_in_one_batch(database):
    write(database, REPOSITORY, *(pull_request(n, complete=False) for n in (1, 2, 3)))
    write(database, items.PullRequestComplete("PR_1"), items.PullRequestComplete("PR_3"))
    assert rows(database, "SELECT number FROM pull_requests WHERE complete ORDER BY number") == [(1,), (3,)]


def test_batches_after_another_leave_only_their_own_rows(database):
    """Each batch goes through staging tables on PostgreSQL: what one batch staged must
    not come back in the next."""
    write(database, REPOSITORY, pull_request(1, title="first"), review("RV_1"))
    write(database, pull_request(1, title="second"), review("RV_2"))
    assert write(database, pull_request(2), review("RV_3", "PR_2")) == []
    assert rows(database, "SELECT title FROM pull_requests ORDER BY number") == [("second",), ("PR 2",)]
    assert rows(database, "SELECT id FROM reviews ORDER BY id") == [("RV_2",), ("RV_3",)]


def test_a_batch_after_a_rejected_one_is_written_whole(database):
    """The first batch of a session is rejected, and with it whatever its transaction
    created (PostgreSQL's staging tables): the next batch must still be written in one go."""
    assert len(write(database, REPOSITORY, pull_request(1, title=None))) == 1
    opened = count_transactions(database)
    assert write(database, pull_request(2)) == []
    assert len(opened) == 1
    assert rows(database, "SELECT number FROM pull_requests") == [(2,)]


# --- the pipeline: PostgreSQL is written to by a thread of its own ------------------------


def open_pipeline(database_url: str, batch_size: int) -> DatabasePipeline:
    settings = {
        "DATABASE_URL": database_url,
        "PRSEED_DB_BATCH_SIZE": batch_size,
        "PRSEED_DB_FLUSH_SECONDS": 60,
    }
    pipeline = DatabasePipeline(get_crawler(Spider, settings))
    pipeline.open_spider()
    return pipeline


def process(pipeline: DatabasePipeline, item):
    """process_item as Scrapy runs it (an asyncio task), as a Deferred a test can wait for."""
    return deferred_from_coro(pipeline.process_item(item))


@pytest_twisted.ensureDeferred
async def test_batches_are_written_in_order_by_a_thread_only_for_a_server(database_url):
    pipeline = open_pipeline(database_url, batch_size=2)
    threads = set()
    write = pipeline.database.write

    def recorded(*args):
        threads.add(threading.current_thread())
        return write(*args)

    pipeline.database.write = recorded
    await process(pipeline, REPOSITORY)
    for version in range(10):
        await process(pipeline, items.Rows([pull_request(1, title=f"v{version}"), review(f"RV_{version}")]))
    await deferred_from_coro(pipeline.close_spider())
    database = open_database(database_url)
    try:
        assert rows(database, "SELECT title FROM pull_requests") == [("v9",)]
        assert rows(database, "SELECT id FROM reviews") == [("RV_9",)]
    finally:
        database.close()
    assert pipeline.stats.get_value("prseed/db/batches") == 10
    in_thread = threads != {threading.main_thread()}
    assert in_thread == database_url.startswith("postgresql")


@pytest_twisted.ensureDeferred
async def test_the_item_that_hands_over_a_second_waiting_batch_waits(postgres_cluster):
    pipeline = open_pipeline(postgres_cluster.create_database("prseed_pipeline_waits"), batch_size=1)
    release = threading.Event()
    write = pipeline.database.write

    def slow(*args):
        release.wait(10)
        return write(*args)

    pipeline.database.write = slow
    await process(pipeline, REPOSITORY)  # its batch is being written: the crawl goes on
    second = process(pipeline, pull_request(1))  # its batch waits behind the first
    await task.deferLater(reactor, 0.2, lambda: None)
    assert not second.called
    release.set()
    assert await second == pull_request(1)
    await deferred_from_coro(pipeline.close_spider())
    assert pipeline.stats.get_value("prseed/db/rows/pull_requests") == 1


@pytest_twisted.ensureDeferred
async def test_a_batch_that_cannot_be_written_stops_the_crawl_and_nothing_after_it_is_written(
    database_url, caplog
):
    """A later batch could record sync progress past the lost rows: it must not be written."""
    pipeline = open_pipeline(database_url, batch_size=1)
    write = pipeline.database.write
    failures = [RuntimeError("connection lost")]
    stops = []
    pipeline.stop_crawl = lambda: stops.append(True)

    def failing_once(*args):
        if failures:
            raise failures.pop()
        return write(*args)

    pipeline.database.write = failing_once
    with caplog.at_level(logging.ERROR, logger="prseed.pipelines.database"):
        await process(pipeline, REPOSITORY)
        await process(pipeline, pull_request(1))
        await deferred_from_coro(pipeline.close_spider())
    assert "writing a batch of 1 items to the database failed, so the crawl stops" in caplog.text
    assert stops == [True]
    assert pipeline.stats.get_value("prseed/db/failed_batches") == 1
    assert outcome.last_line(pipeline.stats.get_stats()) == (
        f"writing to the database failed (connection lost): check the database; {outcome.RERUN}"
    )
    assert pipeline.stats.get_value("prseed/db/skipped_batches") == 1
    assert pipeline.stats.get_value("prseed/db/rows/pull_requests") is None
    assert database_rows(database_url)["pull_requests"] == set()


@pytest_twisted.ensureDeferred
async def test_a_finished_sync_is_committed_at_once(database_url):
    """The watermark and what it vouches for do not wait for a full batch or the timer:
    a distributed worker lets go of a repository only once they are committed."""
    pipeline = open_pipeline(database_url, batch_size=10_000)
    synced = []

    def on_synced(repositories):
        synced.extend(repositories)

    pipeline.signals.connect(on_synced, signals.repositories_synced)
    await process(pipeline, REPOSITORY)
    await process(pipeline, pull_request(1))
    assert pipeline.stats.get_value("prseed/db/batches") is None
    finished = items.SyncState("acme/widgets", "R_1", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    with pytest.raises(DropItem):  # bookkeeping: written, not passed on
        await process(pipeline, finished)
    for write in list(pipeline.writes):
        await write
    assert pipeline.stats.get_value("prseed/db/batches") == 1 and synced == ["acme/widgets"]
    await deferred_from_coro(pipeline.close_spider())


def test_each_stream_of_a_repository_has_its_own_sync_state(database):
    pull_requests = items.SyncState("acme/widgets", "R_1", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    other = replace(pull_requests, newest_seen="2025-01-01T00:00:00Z", stream="deployments")
    write(database, pull_requests, other)
    assert database.sync_state("acme/widgets") == pull_requests
    assert database.sync_state("acme/widgets", "deployments") == other
    write(database, replace(pull_requests, newest_seen="2024-06-01T00:00:00Z"))
    assert database.sync_state("acme/widgets").newest_seen == "2024-06-01T00:00:00Z"
    assert database.sync_state("acme/widgets", "deployments") == other


@pytest.mark.parametrize(
    "declaration, message",
    [
        (dict(key=("nope",)), "declares nope: not fields of Review"),
        (dict(key=("id",), timestamps=("database_id",)), "database_id must be str fields"),
        (dict(key=("id",), stream_key="state"), "its stream key state must be part of its key"),
    ],
)
def test_a_declaration_naming_what_its_item_lacks_is_refused(declaration, message):
    with pytest.raises(ValueError, match=message):
        Table(items.Review, **declaration)


def test_a_child_declared_before_its_parent_is_refused():
    (child,) = (table for table in TABLES if table.item is items.Review)
    with pytest.raises(ValueError, match="its parent pull_requests must be declared before it"):
        Tables(child, *(table for table in TABLES if table is not child))


@pytest.mark.parametrize("mode, replaced", [("head", True), ("none", False)])
def test_check_runs_are_replaced_with_their_pull_request_only_when_the_crawl_fetches_them(
    database_url, mode, replaced
):
    settings = {"DATABASE_URL": database_url, "PRSEED_CHECK_RUNS": mode}
    pipeline = DatabasePipeline(get_crawler(Spider, settings))
    assert (TABLE_BY_NAME["check_runs"] in pipeline.replaced_tables) is replaced
    assert set(TABLES.replaced) - set(pipeline.replaced_tables) <= {TABLE_BY_NAME["check_runs"]}
