"""Incremental sync and resuming after interruptions: nothing fetched twice without need,
nothing lost, whatever stopped the crawl."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time
from pathlib import Path

import pytest
import pytest_twisted
from scrapy import signals

from prseed.db import open_database
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.processes import ScrapyProcess

REPOSITORY = "acme/widgets"


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: 40}, seed=13, big_pr=True)


def data_requests(requests):
    return [record for record in requests if record.operation != "TokenCheck"]


def sync_state(sqlite_url):
    database = open_database(sqlite_url)
    try:
        return database.sync_state(REPOSITORY)
    finally:
        database.close()


def assert_complete(sqlite_url, dataset):
    assert database_rows(sqlite_url) == expected_rows(dataset, [REPOSITORY])


@pytest_twisted.ensureDeferred
async def test_a_second_crawl_fetches_only_what_changed(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        state = sync_state(sqlite_url)
        assert state.newest_seen == max(
            pr["updatedAt"] for pr in dataset.repositories[REPOSITORY]["pullRequests"]
        )
        assert state.run_started_at is None and state.synced_at

        added = [
            dataset.add_pull_request(REPOSITORY, f"2030-01-0{day}T00:00:00Z")["id"] for day in range(1, 6)
        ]
        big = dataset.special["big"][1]
        touched = [
            dataset.touch_pull_request(REPOSITORY, number, "2030-02-01T00:00:00Z")["id"]
            for number in (big, 7, 9)
        ]
        before = len(github.requests)
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        second = data_requests(github.requests[before:])

    assert_complete(sqlite_url, dataset)
    assert [record.operation for record in second].count("PullRequestPage") == 1
    followed = {record.variables["id"] for record in second if "id" in record.variables}
    big_pr = dataset.pull_request(REPOSITORY, big)
    nested_ids = {big_pr["id"]} | {node["commit"]["id"] for node in big_pr["commits"]}
    nested_ids |= {thread["id"] for thread in big_pr["reviewThreads"]}  # a thread of 130 comments
    assert followed <= set(added) | set(touched) | nested_ids
    assert sync_state(sqlite_url).newest_seen == "2030-02-01T00:00:00Z"


@pytest_twisted.ensureDeferred
async def test_an_unchanged_repository_costs_one_request(dataset, sqlite_url, caplog):
    caplog.set_level(logging.INFO)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        synced = sync_state(sqlite_url).synced_at
        before = len(github.requests)
        time.sleep(1.1)
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        assert [r.operation for r in data_requests(github.requests[before:])] == ["PullRequestPage"]
    assert "up to date" in caplog.text
    assert sync_state(sqlite_url).synced_at > synced


@pytest_twisted.ensureDeferred
async def test_full_ignores_the_watermark(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        before = len(github.requests)
        await crawl(github.url, sqlite_url, repo=REPOSITORY, full="1")
        pages = [r for r in github.requests[before:] if r.operation == "PullRequestPage"]
    assert len(pages) == 2  # 40 PRs, 25 a page


@pytest_twisted.ensureDeferred
async def test_an_interrupted_crawl_continues_from_the_database(dataset, sqlite_url):
    """Pages lost for good (no retries left) leave incomplete PRs and a cursor in the
    database; the next crawl fetches exactly those PRs again and goes on from the cursor."""
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        github.inject("reset", count=1, match="PullRequestReviews")

        pages_seen = []

        def lose_the_second_page(response, request, **_):
            if request.meta.get("prseed_operation") == "PullRequestPage" and not pages_seen:
                pages_seen.append(request)
                github.inject("reset", count=1, match="PullRequestPage")

        def setup(crawler):
            crawler.signals.connect(lose_the_second_page, signal=signals.response_received, weak=False)

        crawler = await crawl(
            github.url,
            sqlite_url,
            settings={"RETRY_TIMES": 0, "PRSEED_PAGE_SIZE": 10},
            setup=setup,
            repo=REPOSITORY,
        )
        assert crawler.stats.get_value("prseed/pages_failed") >= 1
        state = sync_state(sqlite_url)
        assert state.run_started_at is not None and state.newest_seen is None
        database = open_database(sqlite_url)
        incomplete = database.incomplete_pull_requests(state.repository_id)
        database.close()
        before = len(github.requests)
        crawler = await crawl(github.url, sqlite_url, repo=REPOSITORY)
        second = data_requests(github.requests[before:])
    assert crawler.stats.get_value("prseed/pages_failed") is None
    assert_complete(sqlite_url, dataset)
    refetched = [id_ for r in second if r.operation == "PullRequestsById" for id_ in r.variables["ids"]]
    assert sorted(refetched) == incomplete
    pages = [r.variables["after"] for r in second if r.operation == "PullRequestPage"]
    assert state.run_cursor is not None and pages[0] == state.run_cursor
    assert sync_state(sqlite_url).run_started_at is None


# --- real processes, interrupted ------------------------------------------------------


_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def no_crawl_left_running():
    """A failed assertion must not leave a crawl process behind."""
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.communicate()


def start_crawl(github, sqlite_url, *extra: str) -> ScrapyProcess:
    process = ScrapyProcess(
        *("crawl", "prs", "-a", f"repo={REPOSITORY}", "-s", f"GITHUB_GRAPHQL_URL={github.url}"),
        *("-s", "PRSEED_DB_FLUSH_SECONDS=0.5", *extra),
        env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": sqlite_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _started.append(process)
    return process


def wait_for_requests(github, count: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(data_requests(github.requests)) < count:
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def stat(stderr: str, name: str):
    for line in stderr.splitlines():
        if f"'{name}':" in line:
            return int(line.split(":")[-1].strip(" ,}"))
    return None


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


@pytest.fixture
def slow_github(dataset):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=0.1) as server:
        yield server


@pytest.mark.parametrize("jobdir", [True, False], ids=["jobdir", "no-jobdir"])
def test_kill_9_then_resume_ends_with_exactly_the_served_data(
    slow_github, dataset, sqlite_url, tmp_path, jobdir
):
    extra = ("-s", f"JOBDIR={tmp_path / 'job'}") if jobdir else ()
    process = start_crawl(slow_github, sqlite_url, *extra)
    wait_for_requests(slow_github, 12, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    rerun = start_crawl(slow_github, sqlite_url, *extra)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    assert_complete(sqlite_url, dataset)
    assert TOKEN not in err
    if jobdir:
        assert "previous crawl did not stop cleanly" in err
        for path in files_under(tmp_path / "job"):
            assert TOKEN.encode() not in path.read_bytes(), path


def test_ctrl_c_then_resume_with_jobdir_fetches_nothing_twice(slow_github, dataset, sqlite_url, tmp_path):
    jobdir = tmp_path / "job"
    process = start_crawl(slow_github, sqlite_url, "-s", f"JOBDIR={jobdir}")
    wait_for_requests(slow_github, 12, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0 and "finish reason: shutdown" in err
    assert stat(err, "scheduler/unserializable") in (None, 0)
    first = len(slow_github.requests)
    rerun = start_crawl(slow_github, sqlite_url, "-s", f"JOBDIR={jobdir}")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    assert "resuming from JOBDIR" in err
    assert stat(err, "scheduler/unserializable") in (None, 0)
    # the summary counts what this process fetched, as the stats do
    summary = err.split("crawl summary (finished):")[1].splitlines()
    header, row = summary[1].split(), next(line for line in summary if line.startswith(REPOSITORY)).split()
    for column, table in (("PRs", "pull_requests"), ("reviews", "reviews"), ("commits", "commits")):
        assert int(row[header.index(column)]) == (stat(err, f"prseed/rows/{table}") or 0), column
    assert stat(err, "prseed/rows/pull_requests") == stat(err, "prseed/pull_requests")
    assert_complete(sqlite_url, dataset)
    seen = [
        json.dumps([r.operation, r.variables], sort_keys=True) for r in data_requests(slow_github.requests)
    ]
    assert len(seen) == len(set(seen)), "a page was fetched twice"
    assert data_requests(slow_github.requests[first:])
    for path in files_under(jobdir):
        assert TOKEN.encode() not in path.read_bytes(), path


@pytest_twisted.ensureDeferred
async def test_a_crawl_interrupted_after_its_last_row_just_records_completion(dataset, sqlite_url):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        database = open_database(sqlite_url)
        with database.transaction() as cursor:  # as if killed between the last rows and the watermark
            cursor.execute(
                "UPDATE sync_state SET newest_seen = NULL, run_started_at = '2030-01-01T00:00:00Z', "
                "run_listed = TRUE, run_fetched = 40, run_newest = '2029-12-31T00:00:00Z'"
            )
        database.close()
        before = len(github.requests)
        await crawl(github.url, sqlite_url, repo=REPOSITORY)
        assert data_requests(github.requests[before:]) == []
    state = sync_state(sqlite_url)
    assert state.run_started_at is None and state.newest_seen == "2029-12-31T00:00:00Z"


def test_ctrl_c_while_every_token_waits_keeps_the_waiting_requests(dataset, sqlite_url, tmp_path):
    """A crawl waiting an hour for its budget stops at once on Ctrl-C; the requests that
    waited go back to the JOBDIR queue, and the next run finishes the job."""
    jobdir = tmp_path / "job"
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, budget=10, window_seconds=3600) as github:
        port = github.port
        process = start_crawl(github, sqlite_url, "-s", f"JOBDIR={jobdir}")
        wait_for_requests(github, 3, process)
        served = -1
        while served != len(github.requests):  # the crawl now waits for the budget to reset
            served = len(github.requests)
            time.sleep(1.5)
        assert process.poll() is None
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert time.monotonic() - stopped_at < 15
    assert "every GitHub token is resting" in err and "finish reason: shutdown" in err
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, port=port) as github:
        rerun = start_crawl(github, sqlite_url, "-s", f"JOBDIR={jobdir}")
        _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    assert_complete(sqlite_url, dataset)
