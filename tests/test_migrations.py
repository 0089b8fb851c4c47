"""A database made by the previous release (schema version 2, checked in under
tests/schemas/) is upgraded in place and crawled into, in SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import pytest_twisted

from prseed.db import open_database
from prseed.db.backends import _open_postgresql, _open_sqlite
from prseed.db.schema import SCHEMA_VERSION, TABLES
from prseed.exceptions import ConfigError
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
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


def make_release_2_database(database_url: str, rows: dict[str, list[dict]] | None = None) -> None:
    """The database release 2 made, holding ``rows`` (table -> rows, only the columns
    release 2 had are kept)."""
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    connection = connect_raw(database_url)
    cursor = connection.cursor()
    for statement in (SCHEMAS / f"v2.{dialect}.sql").read_text().split(";\n"):
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


def second_database(database_url: str, request) -> str:
    if database_url.startswith("sqlite"):
        return database_url.replace(".sqlite3", "-before.sqlite3")
    return request.getfixturevalue("postgres_cluster").create_database(f"before_{abs(hash(database_url))}")


@pytest_twisted.ensureDeferred
async def test_an_empty_release_2_database_is_upgraded_and_crawled_into(dataset, database_url, caplog):
    make_release_2_database(database_url)
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
        make_release_2_database(database_url, rows_of(before))
        crawler = await crawl(github.url, database_url, repo=REPOSITORY)
    assert database_rows(database_url) == expected_rows(dataset, [REPOSITORY])
    assert crawler.stats.get_value("prseed/pull_requests") == SIZE
    state = open_database(database_url).sync_state(REPOSITORY)
    assert state.history_complete is True


@pytest_twisted.ensureDeferred
async def test_a_complete_release_2_database_still_costs_one_request(dataset, database_url, request):
    before = second_database(database_url, request)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, before, repo=REPOSITORY)
        make_release_2_database(database_url, rows_of(before))
        start = len(github.requests)
        await crawl(github.url, database_url, repo=REPOSITORY)
        operations = [record.operation for record in github.requests[start:]]
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
