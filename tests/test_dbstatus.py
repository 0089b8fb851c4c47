"""``scrapy dbstatus`` and ``scrapy projects`` as a user runs them."""

from __future__ import annotations

import json
import logging
import os
import pty
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_twisted

from prseed.db import Batch, open_database
from prseed.db.schema import TABLES
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.test_cli import assert_one_line_error, scrapy

REPOSITORIES = ["acme/widgets", "acme/gadgets"]
COUNTED = {
    "pull_requests": "pull_requests",
    "reviews": "reviews",
    "commits": "commits",
    "files": "files",
    "check_runs": "check_runs",
    "labels": "pull_request_labels",
    "closing_issues": "closing_issues",
}


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset({"acme/widgets": 30, "acme/gadgets": 12}, seed=29, big_pr=True)


def dbstatus(database_url: str, *options: str):
    return scrapy("dbstatus", *options, "-s", f"DATABASE_URL={database_url}")


@pytest_twisted.ensureDeferred
async def test_counts_and_sync_state_equal_the_crawled_dataset(dataset, database_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repos=",".join(REPOSITORIES))
    result = dbstatus(database_url, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    status = {entry["repository"]: entry for entry in json.loads(result.stdout)["repositories"]}
    assert list(status) == sorted(REPOSITORIES)
    for repository in REPOSITORIES:
        expected = expected_rows(dataset, [repository])
        entry = status[repository]
        assert {column: entry[column] for column in COUNTED} == {
            column: len(expected[table]) for column, table in COUNTED.items()
        }
        newest = max(pr["updatedAt"] for pr in dataset.repositories[repository]["pullRequests"])
        assert entry["newest_pull_request_updated_at"] == entry["watermark"] == newest
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["synced_at"])
        assert entry["incomplete_pull_requests"] == 0 and entry["crawl_in_progress"] is False

    text = dbstatus(database_url)
    assert text.returncode == 0, text.stderr[-2000:]
    lines = text.stdout.splitlines()
    assert re.match(r"(SQLite|PostgreSQL) database ", lines[0])
    header = "repository PRs incomplete reviews commits files check runs labels closing issues"
    assert lines[1].split() == header.split()
    widgets = status["acme/widgets"]
    counts = [str(widgets[column]) for column in COUNTED]
    assert lines[3].split() == ["acme/widgets", counts[0], "0", *counts[1:]]
    assert lines[4].split()[:2] == ["total", str(sum(entry["pull_requests"] for entry in status.values()))]
    assert f"acme/widgets  {newest_of(dataset, 'acme/widgets')}" in text.stdout


def newest_of(dataset, repository: str) -> str:
    return max(pr["updatedAt"] for pr in dataset.repositories[repository]["pullRequests"])


@pytest_twisted.ensureDeferred
async def test_an_unfinished_crawl_and_incomplete_prs_are_shown(dataset, database_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repo="acme/gadgets")
    database = open_database(database_url)
    try:
        state = database.sync_state("acme/gadgets")
        batch = Batch()
        batch.add(replace(state, run_started_at="2025-02-03T04:05:06Z", run_fetched=7, run_listed=False))
        database.write(batch, ())
        with database.transaction() as cursor:
            cursor.execute("SELECT id FROM pull_requests ORDER BY id LIMIT 2")
            for (pull_request_id,) in cursor.fetchall():
                cursor.execute(
                    f"UPDATE pull_requests SET complete = FALSE WHERE id = {database.dialect.placeholder}",
                    (pull_request_id,),
                )
    finally:
        database.close()
    (entry,) = json.loads(dbstatus(database_url, "--json").stdout)["repositories"]
    assert entry["incomplete_pull_requests"] == 2
    assert entry["crawl_in_progress"] is True and entry["crawl_started_at"] == "2025-02-03T04:05:06Z"
    assert entry["watermark"] == newest_of(dataset, "acme/gadgets")
    text = dbstatus(database_url).stdout
    assert "in progress since 2025-02-03T04:05:06Z, 7 PRs listed" in text


def test_an_empty_database_is_one_line(database_url):
    result = dbstatus(database_url)
    assert result.returncode == 0, result.stderr[-2000:]
    (line,) = result.stdout.splitlines()
    assert line.endswith("holds no repository yet: run scrapy crawl prs -a repo=OWNER/NAME")
    assert json.loads(dbstatus(database_url, "--json").stdout)["repositories"] == []


def test_a_missing_sqlite_file_is_not_created(tmp_path):
    path = tmp_path / "none.sqlite3"
    result = dbstatus(f"sqlite:///{path}")
    assert result.returncode == 0 and "holds no repository yet" in result.stdout
    assert not path.exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql://u:pw@127.0.0.1:9/x", "cannot connect to PostgreSQL at postgresql://u:***@"),
        ("mysql://localhost/x", "is not supported"),
    ],
)
def test_a_bad_database_url_is_one_line_and_exit_2(url, message):
    result = dbstatus(url)
    assert_one_line_error(result, message)
    assert "pw@" not in result.stderr


def test_projects_lists_the_presets_aligned():
    result = scrapy("projects")
    assert result.returncode == 0, result.stderr[-2000:]
    title, header, *rows = result.stdout.splitlines()
    assert title.startswith("project presets in ") and "projects.toml" in title
    assert header.split() == ["project", "repositories", "max_prs", "since", "days_back"]
    assert re.fullmatch(r"antiwork +antiwork/gumroad, antiwork/flexile, antiwork/helper +- +- +-", rows[1])
    assert re.fullmatch(r"fastapi +fastapi/fastapi +300 +- +-", rows[-1])
    # aligned: the repositories start in one column, the limits end in one
    assert len({re.search(r"\s{2,}(\S)", row).start(1) for row in [header, *rows]}) == 1
    assert len({len(row) for row in [header, *rows]}) == 1


def test_projects_from_a_users_file(tmp_path):
    presets = tmp_path / "mine.toml"
    presets.write_text('[ours]\nrepositories = ["acme/widgets"]\nsince = "2024-01-01"\ndays_back = 3\n')
    result = scrapy("projects", "-s", f"PRSEED_PROJECTS_FILE={presets}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[2].split() == ["ours", "acme/widgets", "-", "2024-01-01", "3"]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read the projects file"),
        ("[x\n", "is not valid TOML"),
        ("[x]\nfoo = 1\n", "needs repositories"),
    ],
)
def test_a_bad_projects_file_is_one_line_and_exit_2(tmp_path, content, message):
    presets = Path(tmp_path / "presets.toml")
    if content is not None:
        presets.write_text(content)
    assert_one_line_error(scrapy("projects", "-s", f"PRSEED_PROJECTS_FILE={presets}"), message)


def delete(database_url: str, repository: str, *options: str, stdin=subprocess.DEVNULL):
    return scrapy(
        "dbstatus", "--delete", repository, *options, "-s", f"DATABASE_URL={database_url}", stdin=stdin
    )


def deleted_counts(stdout: str) -> dict[str, int]:
    """The per-table lines of ``dbstatus --delete``'s report."""
    title, header, *rows, total = stdout.splitlines()
    assert title.startswith("deleted ") and header.split() == ["table", "rows"]
    counts = {line.split()[0]: int(line.split()[1]) for line in rows}
    assert total.split() == ["total", str(sum(counts.values()))]
    return counts


@pytest_twisted.ensureDeferred
async def test_delete_removes_one_repository_and_its_next_crawl_starts_from_nothing(
    dataset, database_url, caplog
):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repos=",".join(REPOSITORIES))
        before = database_rows(database_url)
        assert before == expected_rows(dataset, REPOSITORIES)
        gadgets = expected_rows(dataset, ["acme/gadgets"])
        widgets = expected_rows(dataset, ["acme/widgets"])
        # members both repositories refer to stay; those only acme/widgets refers to go
        assert widgets["members"] - gadgets["members"] and widgets["members"] & gadgets["members"]

        result = delete(database_url, "acme/widgets", "--yes")
        assert result.returncode == 0, result.stderr[-2000:]
        after = database_rows(database_url)
        assert after == gadgets
        counts = deleted_counts(result.stdout)
        assert list(counts) == [table.name for table in reversed(TABLES)]  # children first
        assert counts == {
            **{name: len(before[name]) - len(after[name]) for name in before},
            "sync_state": 1,
        }
        database = open_database(database_url)
        try:
            assert database.sync_state("acme/widgets") is None
            assert database.sync_state("acme/gadgets") is not None
        finally:
            database.close()

        caplog.set_level(logging.INFO, logger="prseed.spiders.prs")
        crawler = await crawl(github.url, database_url, repo="acme/widgets")
    assert "(the last sync)" not in caplog.text and "up to date" not in caplog.text
    assert crawler.stats.get_value("prseed/pull_requests") == len(widgets["pull_requests"])
    assert database_rows(database_url) == before


@pytest_twisted.ensureDeferred
async def test_delete_asks_on_a_terminal_and_needs_yes_without_one(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo="acme/gadgets")
    before = database_rows(sqlite_url)
    total = sum(map(len, before.values())) + 1  # and its sync_state row
    assert_one_line_error(delete(sqlite_url, "acme/gadgets"), f"deleting {total} rows of acme/gadgets needs")
    for answer, code in (("n", 1), ("y", 0)):
        assert database_rows(sqlite_url) == before
        leader, follower = pty.openpty()
        try:
            os.write(leader, f"{answer}\n".encode())
            result = delete(sqlite_url, "acme/gadgets", stdin=follower)
        finally:
            os.close(leader)
            os.close(follower)
        assert result.returncode == code, result.stderr[-2000:]
        assert f"delete {total} rows of acme/gadgets? [y/N]" in result.stderr
    assert not any(database_rows(sqlite_url).values())


@pytest.mark.parametrize(
    "repository, exists, message",
    [
        ("acme/nothing", True, "acme/nothing is not in SQLite database"),
        ("acme/nothing", False, "acme/nothing is not in SQLite database"),
        ("acme", True, "is not a repository"),
    ],
)
def test_delete_of_what_is_not_there_is_one_line(sqlite_url, repository, exists, message):
    if exists:
        open_database(sqlite_url).close()
    assert_one_line_error(delete(sqlite_url, repository, "--yes"), message)
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists() == exists  # never created


@pytest_twisted.ensureDeferred
async def test_the_status_is_the_pull_request_streams_and_delete_takes_every_stream(dataset, database_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repo="acme/gadgets")
    (before,) = json.loads(dbstatus(database_url, "--json").stdout)["repositories"]
    database = open_database(database_url)
    try:
        state = database.sync_state("acme/gadgets")
        batch = Batch()
        batch.add(replace(state, newest_seen="2031-01-01T00:00:00Z", synced_at=None, stream="deployments"))
        database.write(batch, ())
    finally:
        database.close()
    (after,) = json.loads(dbstatus(database_url, "--json").stdout)["repositories"]
    assert after == before
    result = delete(database_url, "acme/gadgets", "--yes", "--json")
    assert json.loads(result.stdout)["deleted"]["sync_state"] == 2
