"""Feeds (``-O``, ``FEEDS``): records that name their table, shared rows once, no ``complete``."""

from __future__ import annotations

import csv
import json

import pytest

from prseed.db.schema import DATA_TABLES, TABLE_BY_NAME
from prseed.exporters import SHARED_ITEMS, feed_fields
from tests.crawling import TOKEN
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.test_cli import scrapy

REPOSITORY = "acme/widgets"
SHARED_TABLES = {item.TABLE for item in SHARED_ITEMS}


@pytest.fixture(scope="module")
def dataset():
    # the big PR needs follow-up pages of reviews, commits, files and check runs
    return generate_dataset({REPOSITORY: 30}, seed=13, big_pr=True)


@pytest.fixture(scope="module")
def github(dataset):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as server:
        yield server


def crawl_with_feeds(github, tmp_path, *options: str):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = scrapy(
        "crawl",
        "prs",
        "-a",
        f"repo={REPOSITORY}",
        "-s",
        f"GITHUB_GRAPHQL_URL={github.url}",
        *options,
        env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return database_url


def feed_rows(records: list[dict]) -> dict[str, set]:
    """The records per table, as tuples of the columns feeds carry."""
    rows: dict[str, set] = {table.name: set() for table in DATA_TABLES}
    for record in records:
        table = TABLE_BY_NAME[record["table"]]
        rows[table.name].add(tuple(record[name] for name in feed_fields(table.item)))
    return rows


def in_feed_columns(rows: dict[str, set]) -> dict[str, set]:
    """Database rows (all columns) cut to the columns feeds carry."""
    cut = {}
    for name, values in rows.items():
        table = TABLE_BY_NAME[name]
        positions = [table.column_names.index(column) for column in feed_fields(table.item)]
        cut[name] = {tuple(row[position] for position in positions) for row in values}
    return cut


def assert_shared_rows_once(records: list[dict]) -> None:
    for name in SHARED_TABLES:
        key = TABLE_BY_NAME[name].key
        keys = [tuple(record[column] for column in key) for record in records if record["table"] == name]
        assert keys and len(keys) == len(set(keys)), name


def test_a_jsonlines_feed_names_tables_and_equals_the_database(github, dataset, tmp_path):
    feed = tmp_path / "prs.jsonl"
    database_url = crawl_with_feeds(github, tmp_path, "-O", str(feed))
    records = [json.loads(line) for line in feed.read_text().splitlines()]
    assert all(next(iter(record)) == "table" for record in records)
    assert_shared_rows_once(records)
    assert not any("complete" in record for record in records)
    rows = database_rows(database_url)
    assert rows == expected_rows(dataset, [REPOSITORY])
    assert feed_rows(records) == in_feed_columns(rows)
    assert len([record for record in records if record["table"] == "pull_requests"]) == 30


def test_without_the_database_a_feed_is_complete_and_holds_no_bookkeeping(github, dataset, tmp_path):
    feed = tmp_path / "prs.json"
    crawl_with_feeds(github, tmp_path, "-O", str(feed), "-s", "ITEM_PIPELINES={}")
    records = json.loads(feed.read_text())
    assert all("table" in record for record in records)  # no SyncState, no PullRequestComplete
    assert_shared_rows_once(records)
    assert feed_rows(records) == in_feed_columns(expected_rows(dataset, [REPOSITORY]))
    assert not (tmp_path / "db.sqlite3").exists()


def test_item_classes_choose_the_items_of_each_feed(github, dataset, tmp_path):
    pull_requests, members = tmp_path / "prs.jsonl", tmp_path / "members.csv"
    feeds = {
        str(pull_requests): {"format": "jsonlines", "item_classes": ["prseed.items.PullRequest"]},
        str(members): {"format": "csv", "item_classes": ["prseed.items.Member"]},
    }
    crawl_with_feeds(github, tmp_path, "-s", f"FEEDS={json.dumps(feeds)}")
    expected = in_feed_columns(expected_rows(dataset, [REPOSITORY]))
    records = [json.loads(line) for line in pull_requests.read_text().splitlines()]
    assert {record["table"] for record in records} == {"pull_requests"}
    assert feed_rows(records)["pull_requests"] == expected["pull_requests"]
    with members.open(newline="") as file:
        table = list(csv.reader(file))
    assert table[0] == ["table", *feed_fields(TABLE_BY_NAME["members"].item)]
    logins = [row[1] for row in table[1:]]
    assert sorted(logins) == sorted(login for login, *_ in expected["members"])
