"""``scrapy dbstatus`` and ``scrapy projects`` as a user runs them."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_twisted

from prseed.db import Batch, open_database
from tests.crawling import TOKEN, crawl
from tests.expected import expected_rows
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
