"""A database made by an earlier release (schema versions 2 and 3, checked in under
tests/schemas/) is upgraded in place and crawled into, in SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import pytest_twisted

from prseed.db import open_database
from prseed.db.backends import PostgreSQLDatabase, SQLiteDatabase, _open_postgresql, _open_sqlite
from prseed.db.schema import POSTGRESQL, SCHEMA_VERSION, SQLITE, TABLES, create_statements
from prseed.exceptions import ConfigError
from prseed.items import PULL_REQUESTS_STREAM
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows, named
from tests.fakegithub import FakeGitHub, generate_dataset

SCHEMAS = Path(__file__).parent / "schemas"
REPOSITORY = "acme/widgets"
SIZE = 60


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: SIZE}, seed=31, big_pr=False)


def connect_raw(database_url: str):
    """A connection that does not create or upgrade the schema."""
    import sqlite3

    if database_url.startswith("sqlite"):
        return sqlite3.connect(database_url[len("sqlite:///") :], isolation_level=None)
    import psycopg2

    return psycopg2.connect(database_url)


def make_release_database(database_url: str, version: int, rows: dict[str, list[dict]] | None = None) -> None:
    """The database the release of schema ``version`` made, holding ``rows`` (table -> rows,
    only the columns that release had are kept)."""
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    connection = connect_raw(database_url)
    cursor = connection.cursor()
    for statement in (SCHEMAS / f"v{version}.{dialect}.sql").read_text().split(";\n"):
        body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
        if body:
            cursor.execute(body)
    placeholder = "?" if dialect == "sqlite" else "%s"
    for table in TABLES:
        if dialect == "sqlite":
            cursor.execute(f"PRAGMA table_info({table.name})")
            present = [row[1] for row in cursor.fetchall()]
        else:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position",
                (table.name,),
            )
            present = [row[0] for row in cursor.fetchall()]
        if not present:  # a table of a later release
            continue
        for row in (rows or {}).get(table.name, []):
            marks = ", ".join([placeholder] * len(present))
            cursor.execute(
                f"INSERT INTO {table.name} ({', '.join(present)}) VALUES ({marks})",
                [row[name] for name in present],
            )
    connection.commit()
    connection.close()


def rows_of(database_url: str) -> dict[str, list[dict]]:
    database = open_database(database_url)
    try:
        return {table.name: database.select(table) for table in TABLES}
    finally:
        database.close()


def schema_version(database_url: str) -> int:
    connection = connect_raw(database_url)
    cursor = connection.cursor()
    cursor.execute("SELECT version FROM prseed_schema")
    (version,) = cursor.fetchone()
    connection.close()
    return version


def second_database(database_url: str, request, name: str = "before") -> str:
    if database_url.startswith("sqlite"):
        return database_url.replace(".sqlite3", f"-{name}.sqlite3")
    return request.getfixturevalue("postgres_cluster").create_database(f"{name}_{abs(hash(database_url))}")


@pytest_twisted.ensureDeferred
async def test_an_empty_release_2_database_is_upgraded_and_crawled_into(dataset, database_url, caplog):
    make_release_database(database_url, 2)
    caplog.set_level(logging.INFO)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repo=REPOSITORY)
    assert schema_version(database_url) == SCHEMA_VERSION
    assert database_rows(database_url) == expected_rows(dataset, [REPOSITORY])
    upgrades = [record.getMessage() for record in caplog.records if "upgraded" in record.getMessage()]
    assert len(upgrades) == 1 and "sync_state.covered_since" in upgrades[0]


@pytest_twisted.ensureDeferred
async def test_a_release_2_database_a_limited_crawl_left_gets_the_rest(dataset, database_url, request):
    """Release 2 recorded no coverage: its watermark after max_prs=20 hid the other PRs."""
    before = second_database(database_url, request)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, before, repo=REPOSITORY, max_prs="20")
        make_release_database(database_url, 2, rows_of(before))
        crawler = await crawl(github.url, database_url, repo=REPOSITORY)
    assert database_rows(database_url) == expected_rows(dataset, [REPOSITORY])
    # release 2 recorded no coverage: every PR is listed once, and the 20 it wrote are also
    # fetched by id, since the upgrade marked them incomplete (they lack what it did not collect)
    assert crawler.stats.get_value("prseed/pull_requests") == SIZE + 20
    state = open_database(database_url).sync_state(REPOSITORY)
    assert state.history_complete is True


@pytest_twisted.ensureDeferred
async def test_a_complete_release_2_database_still_costs_one_request(dataset, database_url, request):
    before = second_database(database_url, request)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, before, repo=REPOSITORY)
        make_release_database(database_url, 2, rows_of(before))
        start = len(github.requests)
        await crawl(github.url, database_url, repo=REPOSITORY)
        upgraded = [record.operation for record in github.requests[start:]]
        start = len(github.requests)
        await crawl(github.url, database_url, repo=REPOSITORY)
        operations = [record.operation for record in github.requests[start:]]
    # the crawl after the upgrade lists one page and fetches the PRs again by id, to fill
    # what release 2 did not collect; from then on a sync costs one request again
    assert upgraded.count("PullRequestPage") == 1 and "PullRequestsById" in upgraded
    assert operations == ["TokenCheck", "PullRequestPage"]
    assert database_rows(database_url) == expected_rows(dataset, [REPOSITORY])


def test_a_database_newer_than_the_code_is_refused(database_url):
    open_database(database_url).close()
    connection = connect_raw(database_url)
    connection.cursor().execute("UPDATE prseed_schema SET version = 99")
    connection.commit()
    connection.close()
    opener = _open_sqlite if database_url.startswith("sqlite") else _open_postgresql
    with pytest.raises(ConfigError, match="version 99, newer than this prseed's"):
        opener(database_url)


def declared_columns(statements: list[str]) -> dict[str, dict[str, str]]:
    """table -> column -> its definition, from CREATE TABLE statements."""
    tables = {}
    for statement in statements:
        found = re.search(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)", statement, re.DOTALL)
        if found:
            lines = [line.strip().rstrip(",") for line in found[2].splitlines()]
            columns = [line for line in lines if line and not line.startswith(("PRIMARY KEY", "UNIQUE"))]
            tables[found[1]] = {line.split()[0]: line for line in columns}
    return tables


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=lambda dialect: dialect.name)
def test_every_column_of_release_3_keeps_its_sql_type(dialect):
    """Timestamps are declared table by table now: the types are still release 3's."""
    released = declared_columns((SCHEMAS / f"v3.{dialect.name}.sql").read_text().split(";\n"))
    current = declared_columns(create_statements(dialect))
    assert released and set(released) <= set(current)  # issue 14 adds tables, drops none
    for table, columns in released.items():
        assert {name: current[table][name] for name in columns} == columns


def schema_of(database_url: str) -> dict:
    """Per table: its columns (name, type, nullable, default) in order, primary key and indexes."""
    connection = connect_raw(database_url)
    cursor = connection.cursor()
    schema = {}
    for name in ["prseed_schema", *(table.name for table in TABLES)]:
        if database_url.startswith("sqlite"):
            columns = cursor.execute(f"PRAGMA table_info({name})").fetchall()
            indexes = cursor.execute(f"PRAGMA index_list({name})").fetchall()
            keys = cursor.execute(f"PRAGMA foreign_key_list({name})").fetchall()
            schema[name] = (columns, sorted(index[1:] for index in indexes), sorted(keys))
            continue
        cursor.execute(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position",
            (name,),
        )
        columns = cursor.fetchall()
        if not columns:  # a table of a later release
            schema[name] = ([], [], [])
            continue
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexdef", (name,))
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) ORDER BY conname",  # none for a table not there
            (name,),
        )
        schema[name] = (columns, indexes, cursor.fetchall())
    connection.close()
    return schema


@pytest.mark.parametrize("version", [2, 3])
def test_an_upgraded_database_has_a_new_databases_schema(version, database_url, request, caplog):
    make_release_database(database_url, version)
    caplog.set_level(logging.INFO)
    open_database(database_url).close()
    new = second_database(database_url, request, "new")
    open_database(new).close()
    assert schema_version(database_url) == SCHEMA_VERSION
    assert schema_of(database_url) == schema_of(new)
    (upgrade,) = [record.getMessage() for record in caplog.records if "upgraded" in record.getMessage()]
    assert f"from prseed schema version {version} to {SCHEMA_VERSION}" in upgrade
    assert "sync_state.stream" in upgrade and "sync_state by (repository, stream)" in upgrade


@pytest.mark.parametrize("version", [2, 3])
@pytest_twisted.ensureDeferred
async def test_upgrading_keeps_every_row(version, dataset, database_url, request):
    """The rows the release wrote are all there after the upgrade, sync_state's of the
    pull-request stream; the columns the release lacked are empty, and its PRs are marked
    incomplete (fetched again by id, for what the release did not collect)."""
    before = second_database(database_url, request)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, before, repo=REPOSITORY, max_prs="20")
    written = rows_of(before)
    make_release_database(database_url, version, written)
    present = columns_of_release(version)
    expected = {
        table.name: [
            {
                column.name: False
                if table.completion is not None and column.name == table.completion.column
                else written[table.name][index][column.name]
                if column.name in present[table.name]
                # what an upgrade gives a column the rows lacked
                else (None if column.nullable else column.default)
                for column in table.columns
            }
            for index in range(len(written[table.name]))
        ]
        if table.name in present
        else []  # a table the release did not have: created empty
        for table in TABLES
    }
    assert rows_of(database_url) == expected
    assert open_database(database_url).sync_state(REPOSITORY).stream == PULL_REQUESTS_STREAM


def columns_of_release(version: int) -> dict[str, set[str]]:
    statements = (SCHEMAS / f"v{version}.sqlite.sql").read_text().split(";\n")
    return {table: set(columns) for table, columns in declared_columns(statements).items()}


def whole_database(database_url: str) -> dict:
    """Every row of every table, sync_state's without the time of the sync."""
    rows = database_rows(database_url)
    rows["sync_state"] = [{**row, "synced_at": None} for row in rows_of(database_url)["sync_state"]]
    return rows


@pytest_twisted.ensureDeferred
async def test_a_release_3_database_is_crawled_into_from_where_it_stood(dataset, database_url, request):
    """A crawl limited by max_prs left release 3's sync_state (its watermark, its coverage
    and the cursor to back-fill from): after the upgrade, a crawl fetches only the rest, the
    next one only what changed, and the database ends as one that never was upgraded."""
    twin = second_database(database_url, request)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, twin, repo=REPOSITORY, max_prs="20")
        make_release_database(database_url, 3, rows_of(twin))
        crawler = await crawl(github.url, database_url, repo=REPOSITORY)
        # the 20 PRs release 3 wrote are fetched again by id (the upgrade marked them
        # incomplete: they lack what release 3 did not collect), the rest listed; none twice
        assert crawler.stats.get_value("prseed/pull_requests") == SIZE
        assert database_rows(database_url) == expected_rows(dataset, [REPOSITORY])
        watermark = open_database(database_url).sync_state(REPOSITORY).newest_seen
        assert watermark == max(pr["updatedAt"] for pr in dataset.repositories[REPOSITORY]["pullRequests"])
        await crawl(github.url, twin, repo=REPOSITORY)

        dataset.add_pull_request(REPOSITORY, "2030-01-01T00:00:00Z")
        start = len(github.requests)
        await crawl(github.url, database_url, repo=REPOSITORY)
        pages = [record for record in github.requests[start:] if record.operation == "PullRequestPage"]
        assert len(pages) == 1  # down to the watermark; without it, all 62 PRs take 3 pages
        await crawl(github.url, twin, repo=REPOSITORY)
    assert database_rows(database_url) == expected_rows(dataset, [REPOSITORY])
    assert whole_database(database_url) == whole_database(twin)


@pytest.mark.parametrize("version", [2, 3])
@pytest_twisted.ensureDeferred
async def test_an_upgrade_that_fails_changes_nothing(version, dataset, database_url, request, monkeypatch):
    """One transaction: an upgrade that fails after sync_state was re-keyed leaves the
    database as the release made it, and the next start upgrades it."""
    before = second_database(database_url, request)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, before, repo=REPOSITORY, max_prs="20")
    make_release_database(database_url, version, rows_of(before))
    released, rows = schema_of(database_url), raw_rows(database_url)
    opener = _open_sqlite if database_url.startswith("sqlite") else _open_postgresql
    database_class = SQLiteDatabase if database_url.startswith("sqlite") else PostgreSQLDatabase
    rekey = database_class._rekey

    def rekey_then_fail(self, cursor, table, missing):
        rekey(self, cursor, table, missing)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(database_class, "_rekey", rekey_then_fail)
    with pytest.raises(RuntimeError, match="the disk is full"):
        opener(database_url)
    assert schema_of(database_url) == released and raw_rows(database_url) == rows
    assert schema_version(database_url) == version
    monkeypatch.undo()
    open_database(database_url).close()
    assert schema_version(database_url) == SCHEMA_VERSION


def raw_rows(database_url: str) -> dict[str, list[str]]:
    """Every row of every table, as the database holds them, whatever its schema."""
    connection = connect_raw(database_url)
    cursor = connection.cursor()
    rows = {}
    present = [name for name, (columns, _, _) in schema_of(database_url).items() if columns]
    for name in present:
        cursor.execute(f"SELECT * FROM {name}")
        rows[name] = sorted(map(repr, cursor.fetchall()))
    connection.close()
    return rows


# --- prtext (issue 14)
PRTEXT_TABLES = ("status_contexts", "issue_references")


@pytest_twisted.ensureDeferred
async def test_a_release_3_database_gains_statuses_and_issue_references(dataset, database_url, caplog):
    """Release 3 had neither table nor pull_requests.status_rollup_state: the upgrade adds
    them in place, and a crawl fills them like the served data."""
    make_release_database(database_url, 3)
    assert not set(PRTEXT_TABLES) & set(columns_of_release(3))
    assert "status_rollup_state" not in columns_of_release(3)["pull_requests"]
    caplog.set_level(logging.INFO)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repo=REPOSITORY)
    (upgrade,) = [record.getMessage() for record in caplog.records if "upgraded" in record.getMessage()]
    assert "pull_requests.status_rollup_state" in upgrade
    rows, expected = database_rows(database_url), expected_rows(dataset, [REPOSITORY])
    assert rows == expected
    assert all(rows[table] for table in PRTEXT_TABLES)
    states = {row[-1] for row in rows["pull_requests"]}
    assert None in states and states - {None}


# --- end prtext


# --- prconn: PRSEED_COLLECT's conversation tables
CONVERSATION_TABLES = (
    "timeline_events",
    "review_threads",
    "review_comments",
    "issue_comments",
    "review_requests",
    "pull_request_assignees",
)


@pytest_twisted.ensureDeferred
async def test_a_release_3_database_gains_the_conversation_tables_and_fills_them(dataset, database_url):
    """Release 3 had none of the tables nor pull_requests.total_comments_count: the upgrade
    adds them in place, and the next crawl fills them like the served data."""
    make_release_database(database_url, 3)
    assert not set(CONVERSATION_TABLES) & set(columns_of_release(3))
    assert "total_comments_count" not in columns_of_release(3)["pull_requests"]
    open_database(database_url).close()
    name_at = 1 if database_url.startswith("sqlite") else 0  # PRAGMA table_info or information_schema
    upgraded = {
        table: {column[name_at] for column in columns}
        for table, (columns, _, _) in schema_of(database_url).items()
    }
    assert all(upgraded[table] for table in CONVERSATION_TABLES)
    assert "total_comments_count" in upgraded["pull_requests"]
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repo=REPOSITORY)
    rows = database_rows(database_url)
    assert rows == expected_rows(dataset, [REPOSITORY])
    assert all(rows[table] for table in CONVERSATION_TABLES)
    assert None not in {row["total_comments_count"] for row in named(rows, "pull_requests")}


# --- end of prconn's tests
