"""The database layer on its own: upserts, child replacement, bad rows, both dialects."""

from dataclasses import replace

import pytest

from prseed import items
from prseed.db import Batch, open_database
from prseed.db.schema import POSTGRESQL, SQLITE, TABLES, create_statements
from prseed.exceptions import ConfigError

CHILD_TABLES = tuple(table for table in TABLES if table.child_of_pull_request)
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
        batch.add(item, replaces_children=isinstance(item, items.PullRequest))
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
