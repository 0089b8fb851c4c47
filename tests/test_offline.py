"""Offline replay: the HTTP cache alone rebuilds the database, with no network and no token."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest_twisted

from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.test_cli import scrapy

REPOSITORY = "acme/widgets"


def cache_entries(cache_dir: Path) -> list[Path]:
    return [path.parent for path in cache_dir.rglob("request_body")]


@pytest_twisted.ensureDeferred
async def test_replay_rebuilds_the_database_without_network_or_token(tmp_path):
    dataset = generate_dataset({REPOSITORY: 30}, seed=21, big_pr=True)
    cache_dir = tmp_path / "cache"
    cache = {"HTTPCACHE_ENABLED": True, "HTTPCACHE_DIR": str(cache_dir)}
    online = f"sqlite:///{tmp_path / 'online.sqlite3'}"
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        url = github.url
        await crawl(url, online, settings=cache, repo=REPOSITORY)
        served = len(github.requests)
    # the server is gone: nothing answers at its address any more
    offline = f"sqlite:///{tmp_path / 'offline.sqlite3'}"
    crawler = await crawl(
        url, offline, settings={**cache, "PRSEED_OFFLINE": True, "GITHUB_TOKEN": None}, repo=REPOSITORY
    )
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished" and stats.get("prseed/pages_failed") is None
    assert stats["httpcache/hit"] == served - 1  # every request but the token check
    assert stats.get("prseed/points") in (None, 0)
    assert database_rows(offline) == database_rows(online) == expected_rows(dataset, [REPOSITORY])
    for path in cache_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_page_missing_from_the_cache_is_an_error_naming_it(tmp_path):
    dataset = generate_dataset({REPOSITORY: 30}, seed=21, big_pr=True)
    cache_dir = tmp_path / "cache"
    common = ["crawl", "prs", "-a", f"repo={REPOSITORY}", "-s", f"HTTPCACHE_DIR={cache_dir}"]
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        online = scrapy(
            *common,
            "-s",
            "HTTPCACHE_ENABLED=1",
            "-s",
            f"GITHUB_GRAPHQL_URL={github.url}",
            env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"},
        )
        assert online.returncode == 0, online.stderr[-2000:]
        url = github.url
    missing = [
        entry
        for entry in cache_entries(cache_dir)
        if b"query PullRequestReviews" in (entry / "request_body").read_bytes()
    ]
    assert missing
    for entry in missing:
        shutil.rmtree(entry)
    replay = scrapy(  # the same address, with nothing listening any more
        *common,
        "-s",
        "PRSEED_OFFLINE=1",
        "-s",
        f"GITHUB_GRAPHQL_URL={url}",
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"},
    )
    assert replay.returncode == 1, replay.stderr[-3000:]
    lost = [line for line in replay.stderr.splitlines() if "not in the HTTP cache" in line]
    # the second page of the big PR's reviews is gone, so the third is never asked for
    assert 1 <= len(lost) <= len(missing), replay.stderr[-3000:]
    assert all(REPOSITORY in line and "follow-up reviews" in line for line in lost)
    assert f"{len(lost)} page{'s' if len(lost) > 1 else ''} failed" in replay.stderr.splitlines()[-1]
