"""The progress log, the live status line and the summary table, in real crawls."""

from __future__ import annotations

import io
import logging
import re
import sys
from datetime import UTC, datetime

import pytest
import pytest_twisted
from scrapy.utils.test import get_crawler

from prseed import signals as prseed_signals
from prseed.extensions import progress
from prseed.extensions.progress import EtaEstimator, duration
from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset

REPOSITORIES = ["acme/widgets", "acme/gadgets"]
SUMMARY_COUNTS = {"PRs": "pull_requests", "reviews": "reviews", "commits": "commits", "files": "files"}


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset({"acme/widgets": 40, "acme/gadgets": 25}, seed=23, big_pr=False)


@pytest.fixture
def messages(caplog):
    caplog.set_level(logging.INFO, logger="prseed.extensions.progress")

    def messages():
        return [record.getMessage() for record in caplog.records if record.name == progress.__name__]

    return messages


def summary_table(messages: list[str]) -> tuple[dict[str, dict], str]:
    """The summary's rows by repository (column name -> cell), and its footer."""
    (summary,) = [message for message in messages if message.startswith("crawl summary")]
    header, *rows, footer = summary.splitlines()[1:]
    columns = re.split(r"\s{2,}", header)
    table = {}
    for line in rows:
        cells = re.split(r"\s{2,}", line)
        table[cells[0]] = dict(zip(columns, cells, strict=False))
    return table, footer


@pytest_twisted.ensureDeferred
async def test_progress_lines_and_a_summary_that_match_the_database(dataset, tmp_path, messages):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=0.03) as github:
        crawler = await crawl(
            github.url,
            database_url,
            settings={"PRSEED_PROGRESS_INTERVAL": 0.2, "PRSEED_PAGE_SIZE": 10},
            repos=",".join(REPOSITORIES),
        )
    assert crawler.stats.get_value("finish_reason") == "finished"
    stats = crawler.stats.get_stats()
    logged = messages()
    for repository in REPOSITORIES:
        total = len(dataset.repositories[repository]["pullRequests"])
        lines = [line for line in logged if line.startswith(f"{repository}: ")]
        assert lines, logged
        # the total is known once the first page is parsed
        pattern = rf"{repository}: (\d+)(?:/{total} PRs \(\d+%\)| PRs), \d+ requests, \d+ points, "
        assert all(re.match(pattern, line) for line in lines), lines
        fetched = [int(re.match(pattern, line).group(1)) for line in lines]
        assert fetched == sorted(fetched) and fetched[-1] <= total
    assert any(re.search(r", listing PRs, ETA \d", line) for line in logged), logged

    table, footer = summary_table(logged)
    assert set(table) == {*REPOSITORIES, "total"}
    rows = database_rows(database_url)
    assert rows == expected_rows(dataset, REPOSITORIES)
    for repository in REPOSITORIES:
        expected = expected_rows(dataset, [repository])
        row = table[repository]
        for column, name in SUMMARY_COUNTS.items():
            assert int(row[column]) == len(expected[name]), (repository, column)
        assert int(row["check runs"]) == len(expected["check_runs"])
        assert int(row["points"]) == stats[f"prseed/repo/{repository}/points"] > 0
        assert int(row["requests"]) == stats[f"prseed/repo/{repository}/requests"]
        assert row["retries"] == "0" and row["state"] == "complete"
        assert re.fullmatch(r"\d+\.\d s|\d+ s", row["elapsed"])
    assert int(table["total"]["PRs"]) == len(rows["pull_requests"])
    assert int(table["total"]["points"]) == stats["prseed/points"]
    assert footer == "rate-limit waits: 0 (0.0 s waited)"


@pytest_twisted.ensureDeferred
async def test_a_rate_limit_wait_names_the_token_that_frees_first(dataset, tmp_path, messages):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = {"PRSEED_PROGRESS_INTERVAL": 0.2, "PRSEED_PAGE_SIZE": 10}
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, budget=4, window_seconds=1) as github:
        crawler = await crawl(github.url, database_url, settings=settings, repo="acme/widgets")
    assert crawler.stats.get_value("prseed/ratelimit/waits") >= 1
    waits = [line for line in messages() if line.startswith("waiting for a GitHub token")]
    line = rf"waiting for a GitHub token: …{TOKEN[-4:]} frees first, at \d\d:\d\d:\d\d UTC \(.+\), in .+"
    assert waits and all(re.fullmatch(line, wait) for wait in waits), waits
    _, footer = summary_table(messages())
    count, waited = (
        crawler.stats.get_value(f"prseed/ratelimit/{name}") for name in ("waits", "seconds_waited")
    )
    assert footer == f"rate-limit waits: {count} ({duration(waited)} waited)"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest_twisted.ensureDeferred
async def test_on_a_terminal_a_live_status_line_is_redrawn_and_cleared(dataset, tmp_path, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "LIVE_EVERY", 0.1)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=0.03) as github:
        await crawl(
            github.url,
            f"sqlite:///{tmp_path / 'db.sqlite3'}",
            settings={"PRSEED_PROGRESS_INTERVAL": 5, "PRSEED_PAGE_SIZE": 10},
            repos=",".join(REPOSITORIES),
        )
    output = terminal.getvalue()
    assert "\n" not in output
    frames = [frame for frame in output.split(progress.CLEAR_LINE) if frame]
    status = r"prseed: \d/2 repositories complete, \d+(/65)? PRs, \d+ requests, \d+ points(, ETA .+)?"
    assert frames and all(re.fullmatch(status, frame) for frame in frames), frames
    assert output.endswith(progress.CLEAR_LINE)  # nothing left on the line at close


@pytest_twisted.ensureDeferred
async def test_interval_zero_logs_only_the_summary(dataset, tmp_path, messages):
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=0.03) as github:
        await crawl(
            github.url,
            f"sqlite:///{tmp_path / 'db.sqlite3'}",
            settings={"PRSEED_PROGRESS_INTERVAL": 0},
            repo="acme/gadgets",
        )
    (summary,) = messages()
    assert summary.startswith("crawl summary (finished):\nrepository")


@pytest.mark.parametrize(
    "seconds, shown",
    [(0.25, "0.2 s"), (42.4, "42 s"), (61, "1 min 01 s"), (3599.6, "1 h 00 min"), (7384, "2 h 03 min")],
)
def test_durations_read_naturally(seconds, shown):
    assert duration(seconds) == shown


def test_time_paused_does_not_count_in_the_rate():
    now = 1_000_000.0
    crawler = get_crawler()
    estimator = EtaEstimator(crawler, clock=lambda: now)
    started = datetime.fromtimestamp(now, UTC).isoformat()

    def eta(fetched: int) -> float | None:
        report = {"state": "listing PRs", "pull_requests": fetched, "total": 100, "started_at": started}
        return estimator.eta("acme/widgets", report, now)

    now += 10
    assert eta(20) == 40  # 20 PRs in 10 s: 80 more take 40 s
    crawler.signals.send_catch_log(prseed_signals.crawl_paused)
    now += 60
    assert estimator.paused and eta(20) == 40  # paused a minute: the ETA stood still
    crawler.signals.send_catch_log(prseed_signals.crawl_unpaused)
    now += 5
    assert not estimator.paused and eta(30) == 35  # 30 PRs in 15 s of crawling: 70 more take 35 s
