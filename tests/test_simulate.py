"""``scrapy simulate``: invented demo data, deterministic, beside the crawled rows and never in them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest_twisted

from prseed.db import Batch, open_database
from prseed.db.registry import TABLES
from prseed.simulate import model
from prseed.simulate.run import Target, create_tables, repositories, simulate_repository
from prseed.simulate.tables import (
    AI_USAGE_DAILY,
    JIRA_ISSUES,
    PULL_REQUEST_JIRA_ISSUES,
    SIMULATED_TABLES,
    SURVEY_RESPONSES,
    TEAM_MEMBERS,
    Team,
)
from tests.conftest import ROOT
from tests.crawling import TOKEN, crawl
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.history import fill, repository_of
from tests.test_cli import assert_one_line_error, scrapy


def simulate(database_url: str, *options: str):
    return scrapy("simulate", *options, "-s", f"DATABASE_URL={database_url}")


def simulate_here(database, seed: int = 42, max_prs=None, max_members=None) -> None:
    """What ``scrapy simulate`` without -a does, in this process."""
    create_tables(database)
    for id_, name in repositories(database).values():
        simulate_repository(database, Target(id_, name, Team(name, None, name)), seed, max_prs, max_members)


def dump(database, tables=SIMULATED_TABLES) -> str:
    """Every row of the tables, in key order, as text."""
    document = {}
    for table in tables:
        rows = database.select(table)
        document[table.name] = sorted(rows, key=lambda row: [str(row[key]) for key in table.key])
    return json.dumps(document, sort_keys=True)


def rows_by(database, table, column: str) -> dict:
    found: dict = {}
    for row in database.select(table):
        found.setdefault(row[column], []).append(row)
    return {key: sorted(rows, key=lambda row: json.dumps(row, sort_keys=True)) for key, rows in found.items()}


@pytest_twisted.ensureDeferred
async def test_same_seed_same_rows_in_any_process_and_crawled_rows_untouched(database_url):
    dataset = generate_dataset({"acme/widgets": 24, "acme/gadgets": 10}, seed=5, big_pr=False)
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, repos="acme/widgets,acme/gadgets")
    database = open_database(database_url)
    try:
        crawled = dump(database, TABLES)
        simulate_here(database)
        first = dump(database)
        simulate_here(database)
        assert dump(database) == first  # idempotent
        for table in SIMULATED_TABLES:
            rows = database.select(table)
            assert rows and all(row["simulated"] is True for row in rows), table.name
        result = simulate(database_url, "--json")  # a fresh process
        assert result.returncode == 0, result.stderr[-2000:]
        summary = json.loads(result.stdout)
        assert [entry["repository"] for entry in summary["repositories"]] == ["acme/gadgets", "acme/widgets"]
        assert sum(entry["pull_requests"] for entry in summary["repositories"]) == 34
        assert dump(database) == first
        simulate_here(database, seed=43)
        assert dump(database) != first
        assert dump(database, TABLES) == crawled
        held = sum(len(rows) for rows in json.loads(dump(database)).values())
        deleted = simulate(database_url, "--delete", "--json")
        assert deleted.returncode == 0, deleted.stderr[-2000:]
        assert json.loads(deleted.stdout)["total"] == held
        assert all(not database.select(table) for table in SIMULATED_TABLES)
        assert dump(database, TABLES) == crawled
    finally:
        database.close()


def test_adding_pull_requests_keeps_the_rows_of_the_old_ones(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        fill(database, "antiwork/gumroad", 300)
        simulate_here(database)
        links = rows_by(database, PULL_REQUEST_JIRA_ISSUES, "pull_request_id")
        surveys = rows_by(database, SURVEY_RESPONSES, "pull_request_id")
        issues = {row["key"]: row for row in database.select(JIRA_ISSUES)}
        fill(database, "antiwork/gumroad", 100, first=301)
        simulate_here(database)
        new_links = rows_by(database, PULL_REQUEST_JIRA_ISSUES, "pull_request_id")
        new_surveys = rows_by(database, SURVEY_RESPONSES, "pull_request_id")
        assert len(new_links) == 400
        assert {key: new_links[key] for key in links} == links
        assert {key: new_surveys.get(key) for key in surveys} == surveys
        # the issues no new PR links to are as they were
        newly_linked = {
            row["issue_key"] for key, rows in new_links.items() if key not in links for row in rows
        }
        new_issues = {row["key"]: row for row in database.select(JIRA_ISSUES)}
        kept = set(issues) - newly_linked
        assert kept and all(new_issues[key] == issues[key] for key in kept)
    finally:
        database.close()


def pull_request(number: int, **fields) -> model.PullRequest:
    values = {
        "id": f"PR_{number}", "number": number, "title": "Refactor things", "state": "MERGED",
        "is_draft": False, "author": "alice", "created": 1_700_000_000 + number * 86400,
        "closed": None, "merged": None, "head_ref": f"alice/topic-{number}x", "lines": 40,
    }  # fmt: skip
    values.update(fields)
    if values["state"] == "MERGED" and values["merged"] is None:
        values["merged"] = values["closed"] = values["created"] + 7200
    return model.PullRequest(**values)


def history(*prs: model.PullRequest, kinds=None) -> model.History:
    return model.History("R_1", "antiwork/gumroad", list(prs), kinds or {})


def test_jira_links_keys_the_prs_carry_and_invents_the_others():
    prs = [
        pull_request(1, title="ABC-12: tidy the checkout"),
        pull_request(2, head_ref="feature/XYZ-7-emails"),
        pull_request(3, title="Fix crash in payouts", lines=3),
        pull_request(4, title="Add search", lines=900, state="OPEN"),
        pull_request(5, title="Bump UTF-8 handling", labels=["bug"], state="CLOSED", closed=1_700_500_000),
        pull_request(6, state="OPEN", is_draft=True),
    ]
    issues, links = model.jira(history(*prs), prs, seed=42)
    linked = {link.pull_request_id: (link.issue_key, link.link_source) for link in links}
    assert linked["PR_1"] == ("ABC-12", "title") and linked["PR_2"] == ("XYZ-7", "branch")
    assert linked["PR_3"] == ("GUM-3", "simulated") and linked["PR_5"] == ("GUM-5", "simulated")
    by_key = {issue.key: issue for issue in issues}
    assert (by_key["GUM-3"].issue_type, by_key["GUM-3"].story_points, by_key["GUM-3"].status) == (
        "bug",
        1,
        "Done",
    )
    assert (by_key["GUM-4"].issue_type, by_key["GUM-4"].story_points, by_key["GUM-4"].status) == (
        "story", 8, "In Review",
    )  # fmt: skip
    assert (by_key["GUM-5"].issue_type, by_key["GUM-5"].status) == ("bug", "Won't Do")
    assert (by_key["GUM-6"].issue_type, by_key["GUM-6"].status) == ("task", "In Progress")
    for pr in prs:
        issue = by_key[linked[pr.id][0]]
        assert issue.created_at < model.stamp(pr.created) and issue.assignee_login == pr.author
        assert issue.sprint_start <= model.stamp(pr.created) <= issue.sprint_end
        if pr.merged:
            assert issue.resolved_at >= model.stamp(pr.merged)
    assert by_key["GUM-4"].resolved_at is None


def test_prs_of_one_branch_prefix_in_a_sprint_may_share_an_issue():
    prs = [
        pull_request(number, head_ref=f"alice/checkout-part{number}", created=1_700_000_000 + number * 600)
        for number in range(1, 30)
    ]
    issues, links = model.jira(history(*prs), prs, seed=42)
    keys = [link.issue_key for link in links]
    shared = [key for key in set(keys) if keys.count(key) > 1]
    assert len(shared) == 1 and len(issues) < len(prs)
    (issue,) = [issue for issue in issues if issue.key == shared[0]]
    assert issue.story_points == model.story_points(40 * keys.count(shared[0]))


def test_personas_and_bots_and_the_most_active_members_surveyed():
    prs = [
        pull_request(number, author=author, reviews=[("carol", 1_700_000_000 + number * 86400 + 3600)])
        for number, author in enumerate(["alice", "alice", "bob", "renovate[bot]", "alice"], start=1)
    ]
    members = model.team_members(history(*prs, kinds={"renovate[bot]": "Bot"}), prs, "gumroad", 42, 2)
    by_login = {member.login: member for member in members}
    assert set(by_login) == {"alice", "bob", "carol", "renovate[bot]"}
    bot = by_login["renovate[bot]"]
    assert bot.is_bot and bot.ai_adoption_percent is None and not bot.surveyed
    assert [login for login, member in sorted(by_login.items()) if member.surveyed] == ["alice", "carol"]
    assert (by_login["alice"].pull_requests, by_login["carol"].reviews) == (3, 5)
    assert model.persona(42, "alice") == model.persona(42, "alice")
    personas = {model.persona(seed, "alice") for seed in range(20)}
    assert len(personas) > 10  # drawn from the seed


def test_ai_usage_only_near_activity_and_quiet_weekends():
    monday = 1_704_700_800  # 2024-01-08, a Monday
    prs = [
        pull_request(1, created=monday + 10 * 3600, commits=[("alice", monday + 9 * 3600, 10)]),
        pull_request(2, created=monday + 12 * 86400 + 3600),  # Saturday the 20th
    ]
    rows = [row for seed in range(30) for row in model.ai_usage("R_1", prs, seed, {"alice"})]
    days = {date.fromisoformat(row.day) for row in rows}
    assert days <= {date(2024, 1, day) for day in (7, 8, 9, 19, 20)}
    assert date(2024, 1, 7) not in days  # a Sunday with nothing on it
    assert date(2024, 1, 8) in days and date(2024, 1, 9) in days
    weekday = [row.minutes_active for row in rows if row.day == "2024-01-08"]
    weekend = [row.minutes_active for row in rows if row.day == "2024-01-20"]
    assert sum(weekend) / max(1, len(weekend)) < sum(weekday) / len(weekday)
    assert all(row.suggestions_accepted <= row.suggestions_shown for row in rows)


def test_survey_answers_correlate_with_adoption_and_size():
    def share_of_ai(adoption: float, lines: int) -> float:
        draws = [model.ai_share(model.rng(1, "t", index), adoption, lines) for index in range(2000)]
        return sum(share != "none" for share in draws) / len(draws)

    assert share_of_ai(0.9, 2000) > share_of_ai(0.9, 5) > share_of_ai(0.1, 5)


def test_review_requests_and_timeline_are_used_when_the_database_has_them(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        fill(database, "antiwork/gumroad", 3)
        simulate_here(database)
        assert all(row["review_requests"] == 0 for row in database.select(TEAM_MEMBERS))
        pr_id = "PR_R_antiwork/gumroad_1"
        with database.transaction() as cursor:
            requests = "INSERT INTO review_requests (pull_request_id, reviewer_kind, reviewer, as_code_owner)"
            cursor.execute(f"{requests} VALUES (?, 'User', 'zed', 0)", (pr_id,))
            cursor.execute(f"{requests} VALUES (?, 'Team', 'core', 0)", (pr_id,))
            cursor.execute(
                "INSERT INTO timeline_events (id, pull_request_id, type, created_at) VALUES (?, ?, ?, ?)",
                ("E1", pr_id, "READY_FOR_REVIEW_EVENT", "2023-01-02T12:00:00Z"),
            )
        simulate_here(database)
        members = {row["login"]: row for row in database.select(TEAM_MEMBERS)}
        assert members["zed"]["review_requests"] == 1 and "core" not in members
        (link,) = [
            row for row in database.select(PULL_REQUEST_JIRA_ISSUES) if row["pull_request_id"] == pr_id
        ]
        (issue,) = [row for row in database.select(JIRA_ISSUES) if row["key"] == link["issue_key"]]
        assert issue["review_started_at"] == "2023-01-02T12:00:00Z"
    finally:
        database.close()


def test_project_preset_makes_one_team_with_its_limits(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    database = open_database(url)
    try:
        fill(database, "fastapi/fastapi", 400)
        result = simulate(url, "-a", "project=fastapi", "--json")
        assert result.returncode == 0, result.stderr[-2000:]
        (entry,) = json.loads(result.stdout)["repositories"]
        assert (entry["team"], entry["pull_requests"]) == ("fastapi", 300)
        members = database.select(TEAM_MEMBERS)
        assert sum(row["surveyed"] for row in members) == 15 and {row["team"] for row in members} == {
            "fastapi"
        }
        result = simulate(url, "-a", "repos=fastapi/fastapi", "--max-prs", "50", "--max-members", "3")
        assert result.returncode == 0, result.stderr[-2000:]
        assert "fastapi/fastapi" in result.stdout and "invented" in result.stdout
        members = database.select(TEAM_MEMBERS)
        assert sum(row["surveyed"] for row in members) == 3 and {row["team"] for row in members} == {
            "fastapi/fastapi"
        }
        assert [row["name"] for row in database.select(SIMULATED_TABLES[0])] == ["fastapi/fastapi"]
        assert database.select(AI_USAGE_DAILY)
    finally:
        database.close()


def test_mistakes_are_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert_one_line_error(simulate(url), "does not exist")
    open_database(url).close()
    assert_one_line_error(simulate(url), "holds no repository yet")
    database = open_database(url)
    batch = Batch()
    batch.add(repository_of("acme/empty"))
    database.write(batch, ())
    database.close()
    assert_one_line_error(simulate(url), "holds no pull request of acme/empty")
    assert_one_line_error(simulate(url, "--seed", "abc"), "--seed 'abc' is not a whole number")
    assert_one_line_error(
        simulate(url, "--max-prs", "0"), "--max-prs '0' is not a whole number of at least 1"
    )
    assert_one_line_error(simulate(url, "-a", "project=nope"), "unknown project 'nope'")
    assert_one_line_error(simulate(url, "-a", "repos=acme/missing"), "acme/missing not in")
    assert_one_line_error(simulate(url, "-a", "colour=red"), "simulate takes -a project=NAME")


def test_benchmark_runs_and_writes_its_figures(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "simulate", "--size", "300", "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    result = json.loads((tmp_path / "simulate.json").read_text())
    assert result["benchmark"] == "simulate" and result["simulate"]["prs"] == 300
    assert result["simulate"]["prs_per_second"] > 0 and result["rows"]["jira_issues"] > 0
    assert "PRs/s" in finished.stdout
