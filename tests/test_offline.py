"""Offline replay: the HTTP cache alone rebuilds the database, with no network and no token."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest_twisted

from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.processes import scrapy

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


def replay_command(cache_dir: Path) -> list[str]:
    # the PR stream alone, as the in-process crawls of tests/crawling.py
    return [
        *("crawl", "prs", "-a", f"repo={REPOSITORY}", "-s", f"HTTPCACHE_DIR={cache_dir}"),
        *("-s", "PRSEED_DEPLOYMENTS=False"),
    ]


def fill_cache(dataset, cache_dir: Path, database_url: str) -> str:
    """Crawl the fake server with the cache on; return the URL it answered at (now dead)."""
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        online = scrapy(
            *replay_command(cache_dir),
            "-s",
            "HTTPCACHE_ENABLED=1",
            "-s",
            f"GITHUB_GRAPHQL_URL={github.url}",
            env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": database_url},
        )
        assert online.returncode == 0, online.stderr[-2000:]
        return github.url


def test_a_page_missing_from_the_cache_is_an_error_naming_it(tmp_path):
    dataset = generate_dataset({REPOSITORY: 30}, seed=21, big_pr=True)
    cache_dir = tmp_path / "cache"
    common = replay_command(cache_dir)
    url = fill_cache(dataset, cache_dir, f"sqlite:///{tmp_path / 'a.db'}")
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
    lost = [line for line in replay.stderr.splitlines() if " failed: not in the HTTP cache" in line]
    # the second page of the big PR's reviews is gone, so the third is never asked for
    assert 1 <= len(lost) <= len(missing), replay.stderr[-3000:]
    assert all(REPOSITORY in line and "follow-up reviews" in line for line in lost)
    assert f"{len(lost)} page{'s' if len(lost) > 1 else ''} failed" in replay.stderr.splitlines()[-1]


def test_a_replay_at_another_url_names_the_url_the_cache_holds(tmp_path):
    dataset = generate_dataset({REPOSITORY: 30}, seed=21, big_pr=True)
    cache_dir = tmp_path / "cache"
    url = fill_cache(dataset, cache_dir, f"sqlite:///{tmp_path / 'online.db'}")
    offline = [*replay_command(cache_dir), "-s", "PRSEED_OFFLINE=1"]
    elsewhere = scrapy(  # GITHUB_GRAPHQL_URL left at its default, GitHub's
        *offline, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    )
    assert elsewhere.returncode == 1, elsewhere.stderr[-3000:]
    (lost,) = [line for line in elsewhere.stderr.splitlines() if " failed: " in line]
    assert lost.endswith(f"the cache holds answers for {url}; set GITHUB_GRAPHQL_URL to replay them"), lost
    last = elsewhere.stderr.strip().splitlines()[-1]
    assert "set GITHUB_GRAPHQL_URL to replay them; 1 page failed" in last and "again" not in last, last
    replayed = f"sqlite:///{tmp_path / 'c.db'}"
    there = scrapy(*offline, "-s", f"GITHUB_GRAPHQL_URL={url}", env={"DATABASE_URL": replayed})
    assert there.returncode == 0, there.stderr[-3000:]
    assert database_rows(replayed) == expected_rows(dataset, [REPOSITORY])
