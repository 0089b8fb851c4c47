"""``scrapy metrics``: every figure against values computed by hand from a small data set,
in SQLite and PostgreSQL; its JSON and text output; its one-line errors."""

from __future__ import annotations

import json
from datetime import date

import pytest

from prseed import items
from prseed.commands.metrics import duration
from prseed.db import open_database
from prseed.db.schema import POSTGRESQL, SQLITE
from prseed.metrics import Selection, metrics, percentile, repositories_in
from tests.processes import scrapy
from tests.test_cli import assert_one_line_error
from tests.test_database import REPOSITORY, pull_request, write

HOUR = 3600.0
MINUTE = 60.0

# The tables of issue 14's contract this command reads, created here from their column lists
# (ISSUE14.md) while the crawl's own declarations are written by other parts; IF NOT EXISTS
# leaves the declared tables alone once they are.
CONTRACT_TABLES = {
    "timeline_events": {
        "id": "text PRIMARY KEY",
        "pull_request_id": "text NOT NULL REFERENCES pull_requests(id)",
        "type": "text NOT NULL",
        "created_at": "timestamp NOT NULL",
        "actor_login": "text",
        "requested_reviewer_kind": "text",
        "requested_reviewer": "text",
        "assignee_login": "text",
        "label_name": "text",
        "before_oid": "text",
        "after_oid": "text",
        "previous_ref_name": "text",
        "current_ref_name": "text",
        "dismissed_review_id": "text",
        "commit_oid": "text",
        "source_kind": "text",
        "source_repository": "text",
        "source_number": "integer",
        "will_close_target": "boolean",
    },
    "deployments": {
        "id": "text PRIMARY KEY",
        "repository_id": "text NOT NULL REFERENCES repositories(id)",
        "database_id": "integer",
        "environment": "text",
        "original_environment": "text",
        "task": "text",
        "state": "text",
        "commit_oid": "text",
        "creator_login": "text",
        "created_at": "timestamp NOT NULL",
        "updated_at": "timestamp",
        "latest_status_state": "text",
        "latest_status_at": "timestamp",
    },
    "deployment_statuses": {
        "id": "text PRIMARY KEY",
        "deployment_id": "text NOT NULL REFERENCES deployments(id)",
        "state": "text NOT NULL",
        "description": "text",
        "environment_url": "text",
        "log_url": "text",
        "creator_login": "text",
        "created_at": "timestamp NOT NULL",
    },
    "issues": {
        "id": "text PRIMARY KEY",
        "repository_id": "text NOT NULL REFERENCES repositories(id)",
        "number": "integer NOT NULL",
        "title": "text",
        "state": "text",
        "state_reason": "text",
        "author_login": "text",
        "url": "text",
        "created_at": "timestamp NOT NULL",
        "updated_at": "timestamp",
        "closed_at": "timestamp",
        "comment_count": "integer",
    },
    "issue_labels": {"issue_id": "text NOT NULL REFERENCES issues(id)", "label_name": "text NOT NULL"},
}


def create_contract_tables(database) -> None:
    types = {SQLITE.name: SQLITE.types, POSTGRESQL.name: POSTGRESQL.types}[database.dialect.name]
    with database.transaction() as cursor:
        for table, columns in CONTRACT_TABLES.items():
            lines = []
            for column, declaration in columns.items():
                kind, _, rest = declaration.partition(" ")
                lines.append(f"{column} {types[kind]} {rest}".rstrip())
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(lines)})")


# Columns the declared tables require that the contract does not name or leaves open.
REQUIRED = {
    "deployments": {"complete": True},
    "issues": {"complete": True},
    "deployment_statuses": {"creator_login": "ghost"},
}


def insert(database, table: str, *rows: dict) -> None:
    with database.transaction() as cursor:
        for row in rows:
            row = {**REQUIRED.get(table, {}), **row}
            names = ", ".join(row)
            marks = ", ".join([database.dialect.placeholder] * len(row))
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))


def merged(number: int, created: str, merged_at: str, repository_id: str = "R_1", **changes):
    return pull_request(
        number,
        repository_id=repository_id,
        state="MERGED",
        created_at=created,
        updated_at=merged_at,
        closed_at=merged_at,
        merged_at=merged_at,
        merge_commit_sha=f"{number:040d}",
        **changes,
    )


def commit(pull_request_id: str, oid: str, authored: str) -> items.Commit:
    return items.Commit(
        pull_request_id=pull_request_id,
        oid=oid,
        message_headline="change",
        message="change",
        author_name="Alice",
        author_email="alice@example.com",
        author_login="alice",
        authored_at=authored,
        committed_at=authored,
        additions=1,
        deletions=1,
    )


def review(review_id: str, pull_request_id: str, author: str, state: str, submitted: str | None):
    return items.Review(
        id=review_id,
        pull_request_id=pull_request_id,
        database_id=None,
        author_login=author,
        state=state,
        body="",
        author_association="MEMBER",
        commit_oid=None,
        submitted_at=submitted,
        created_at=submitted or "2024-01-08T00:00:00Z",
    )


_events = iter(range(1_000_000))


def events(pull_request_id: str, *typed: tuple[str, str]) -> list[dict]:
    return [
        {"id": f"E_{next(_events)}", "pull_request_id": pull_request_id, "type": kind, "created_at": at}
        for kind, at in typed
    ]


def deployment(deployment_id: str, environment: str, created: str, *statuses: tuple[str, str]):
    row = {
        "id": deployment_id,
        "repository_id": "R_1",
        "environment": environment,
        "original_environment": environment,
        "task": "deploy",
        "state": statuses[-1][0],
        "commit_oid": "c" * 40,
        "creator_login": "deployer",
        "created_at": created,
        "updated_at": statuses[-1][1],
        "latest_status_state": statuses[-1][0],
        "latest_status_at": statuses[-1][1],
    }
    status_rows = [
        {"id": f"{deployment_id}_S{n}", "deployment_id": deployment_id, "state": state, "created_at": at}
        for n, (state, at) in enumerate(statuses)
    ]
    return row, status_rows


def issue(issue_id: str, number: int, created: str, closed: str | None) -> dict:
    return {
        "id": issue_id,
        "repository_id": "R_1",
        "number": number,
        "title": f"issue {number}",
        "state": "CLOSED" if closed else "OPEN",
        "author_login": "carol",
        "url": f"https://github.com/acme/widgets/issues/{number}",
        "created_at": created,
        "updated_at": closed or created,
        "closed_at": closed,
        "comment_count": 0,
    }


GADGETS = items.Repository(id="R_2", owner="acme", name="gadgets", url="https://github.com/acme/gadgets")


def seed(database) -> None:
    """acme/widgets: four merged PRs over ISO weeks 2024-W02 and W03 (and an open one),
    production deployments (one failed, one retried after an error, one to staging), three
    issues of which two are incidents.  acme/gadgets: one merged PR and nothing else."""
    create_contract_tables(database)
    write(
        database,
        REPOSITORY,
        GADGETS,
        # 1: opened as a draft, readied, reviewed (changes requested), force-pushed, approved,
        # merged by the merge queue
        merged(1, "2024-01-08T09:00:00Z", "2024-01-09T11:30:00Z"),
        commit("PR_1", "a1", "2024-01-08T08:00:00Z"),
        commit("PR_1", "a2", "2024-01-08T16:30:00Z"),
        review("RV_1a", "PR_1", "alice", "COMMENTED", "2024-01-08T14:00:00Z"),  # the author's own
        review("RV_1b", "PR_1", "bob", "CHANGES_REQUESTED", "2024-01-08T15:00:00Z"),
        review("RV_1c", "PR_1", "bob", "APPROVED", "2024-01-09T10:00:00Z"),
        review("RV_1d", "PR_1", "carol", "PENDING", None),
        # 2: opened as a draft, a review requested before it was ready; queued twice
        merged(2, "2024-01-10T10:00:00Z", "2024-01-11T09:40:00Z"),
        commit("PR_2", "b1", "2024-01-10T11:00:00Z"),
        review("RV_2", "PR_2", "bob", "APPROVED", "2024-01-10T15:00:00Z"),
        # 3: never opened as a draft, no commit rows; made a draft after its review
        merged(3, "2024-01-15T09:00:00Z", "2024-01-15T12:00:00Z"),
        review("RV_3", "PR_3", "bob", "APPROVED", "2024-01-15T11:00:00Z"),
        # 4: no review, no timeline (crawled without it)
        merged(4, "2024-01-16T08:00:00Z", "2024-01-17T07:00:00Z"),
        commit("PR_4", "d1", "2024-01-16T07:00:00Z"),
        pull_request(5, created_at="2024-01-16T00:00:00Z"),  # open: not counted
        merged(10, "2024-01-10T10:00:00Z", "2024-01-10T12:00:00Z", repository_id="R_2", id="PR_10"),
    )
    insert(
        database,
        "timeline_events",
        *events(
            "PR_1",
            ("HEAD_REF_FORCE_PUSHED_EVENT", "2024-01-08T10:00:00Z"),  # before the review: not rework
            ("READY_FOR_REVIEW_EVENT", "2024-01-08T12:00:00Z"),
            ("REVIEW_REQUESTED_EVENT", "2024-01-08T13:00:00Z"),
            ("HEAD_REF_FORCE_PUSHED_EVENT", "2024-01-08T16:00:00Z"),
            ("ADDED_TO_MERGE_QUEUE_EVENT", "2024-01-09T11:00:00Z"),
            ("MERGED_EVENT", "2024-01-09T11:30:00Z"),
        ),
        *events(
            "PR_2",
            ("REVIEW_REQUESTED_EVENT", "2024-01-10T11:00:00Z"),
            ("READY_FOR_REVIEW_EVENT", "2024-01-10T14:00:00Z"),
            ("ADDED_TO_MERGE_QUEUE_EVENT", "2024-01-10T16:00:00Z"),
            ("REMOVED_FROM_MERGE_QUEUE_EVENT", "2024-01-10T16:20:00Z"),
            ("ADDED_TO_MERGE_QUEUE_EVENT", "2024-01-11T09:00:00Z"),
            ("MERGED_EVENT", "2024-01-11T09:40:00Z"),
        ),
        *events(
            "PR_3",
            ("CONVERT_TO_DRAFT_EVENT", "2024-01-15T11:10:00Z"),
            ("LABELED_EVENT", "2024-01-15T11:20:00Z"),
            ("READY_FOR_REVIEW_EVENT", "2024-01-15T11:40:00Z"),
            ("MERGED_EVENT", "2024-01-15T12:00:00Z"),
        ),
        *events("PR_10", ("MERGED_EVENT", "2024-01-10T12:00:00Z")),
    )
    deployments = [
        deployment(
            "D1",
            "production",
            "2024-01-09T12:00:00Z",
            ("IN_PROGRESS", "2024-01-09T12:01:00Z"),
            ("SUCCESS", "2024-01-09T12:30:00Z"),
            ("INACTIVE", "2024-01-11T10:40:00Z"),  # superseded by D4: it succeeded all the same
        ),
        deployment("D2", "production", "2024-01-11T09:30:00Z", ("SUCCESS", "2024-01-11T09:45:00Z")),
        deployment("D3", "production", "2024-01-11T10:00:00Z", ("FAILURE", "2024-01-11T10:05:00Z")),
        deployment("D4", "production", "2024-01-11T10:20:00Z", ("SUCCESS", "2024-01-11T11:10:00Z")),
        deployment("D5", "staging", "2024-01-15T13:00:00Z", ("SUCCESS", "2024-01-15T13:10:00Z")),
        deployment(
            "D6",
            "Production",
            "2024-01-16T12:00:00Z",
            ("ERROR", "2024-01-16T12:05:00Z"),
            ("SUCCESS", "2024-01-16T12:30:00Z"),
        ),
    ]
    insert(database, "deployments", *(row for row, _ in deployments))
    insert(database, "deployment_statuses", *(status for _, statuses in deployments for status in statuses))
    insert(
        database,
        "issues",
        issue("I_1", 100, "2024-01-16T12:10:00Z", "2024-01-16T14:10:00Z"),
        issue("I_2", 101, "2024-01-17T09:00:00Z", None),
        issue("I_3", 102, "2024-01-12T09:00:00Z", "2024-01-12T10:00:00Z"),
    )
    insert(
        database,
        "issue_labels",
        {"issue_id": "I_1", "label_name": "incident"},
        {"issue_id": "I_2", "label_name": "INCIDENT"},
        {"issue_id": "I_2", "label_name": "bug"},
        {"issue_id": "I_3", "label_name": "bug"},
    )


# --- hand-computed figures (seconds; percentiles nearest-rank: the ceil(n * p)-th smallest) ----
# cycle time (first commit or creation, whichever is earlier, to merge):
#   1: 01-08 08:00 (a commit before the creation) to 01-09 11:30 = 27.5 h; 2: its creation
#   01-10 10:00 to 01-11 09:40 = 23 h 40 m; 3: no commit, 09:00 to 12:00 = 3 h; 4: 24 h
# time to first review (the author's and pending reviews do not count): 1: ready 12:00,
#   requested 13:00, reviewed 15:00 = 3 h; 2: requested 11:00 (before ready at 14:00), reviewed
#   15:00 = 4 h; 3: never opened as a draft, created 09:00, reviewed 11:00 = 2 h
# review rounds (1 + CHANGES_REQUESTED reviews): 1: 2; 2: 1; 3: 1
# time in draft: 1: 09:00-12:00 = 3 h; 2: 10:00-14:00 = 4 h; 3: 11:10-11:40 = 30 m
# merge queue: 1: 11:00-11:30 = 30 m; 2: 16:00-16:20 and 09:00-09:40 = 60 m
# lead time: 1 merged 01-09 11:30, D1 created 12:00 succeeded 12:30 = 1 h; 2 merged 01-11 09:40
#   (D2 created before it, D3 failed), D4 created 10:20 succeeded 11:10 = 1.5 h; 3 merged 01-15
#   12:00 (D5 is staging), D6 created 01-16 12:00 succeeded 12:30 = 24.5 h; 4: none after it


def spread(count: int, p50: float, p90: float, mean: float) -> dict:
    return {"count": count, "p50": p50, "p90": p90, "mean": mean}


NONE = spread(0, None, None, None)

SELECTION = Selection(environment="production", incident_labels=("incident",))


@pytest.fixture
def seeded(database_url):
    database = open_database(database_url)
    seed(database)
    yield database
    database.close()


def test_percentiles_are_nearest_rank():
    # the nearest-rank examples of the definition: 15, 20, 35, 40, 50
    values = [50, 15, 40, 20, 35]
    assert [percentile(values, share) for share in (5, 30, 40, 50, 100)] == [15, 20, 20, 35, 50]
    assert percentile([7.5], 90) == 7.5
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 90) == 4


def test_every_figure_of_the_whole_period_is_the_hand_computed_one(seeded):
    widgets, gadgets = metrics(seeded, repositories_in(seeded), SELECTION)[::-1]
    assert [widgets["repository"], gadgets["repository"]] == ["acme/widgets", "acme/gadgets"]
    overall = widgets["overall"]
    assert overall["pull_requests_merged"] == 4
    assert overall["pull_requests_without_timeline"] == 1
    # sorted 3 h, 23 h 40 m, 24 h, 27.5 h: p50 the 2nd, p90 the 4th; mean 78 h 10 m / 4
    assert overall["cycle_time"] == spread(4, 23 * HOUR + 40 * MINUTE, 27.5 * HOUR, 70350)
    assert overall["time_to_first_review"] == spread(3, 3 * HOUR, 4 * HOUR, 3 * HOUR)
    assert overall["review_rounds"] == {"count": 3, "p50": 1, "p90": 2, "mean": 4 / 3}
    assert overall["time_in_draft"] == spread(3, 3 * HOUR, 4 * HOUR, 2.5 * HOUR)
    assert overall["rework"] == {
        "reviewed_pull_requests": 3,
        "reworked_pull_requests": 1,
        "force_pushes_after_review": 1,
        "commits_after_review": 1,
    }
    assert overall["merge_queue_time"] == spread(2, 30 * MINUTE, HOUR, 45 * MINUTE)
    assert overall["deployments"] == {
        "production_deployments": 5,  # D1-D4 and D6 ("Production": names compare case-insensitively)
        "successful": 4,  # D1, D2, D4, D6
        "failed": 2,  # D3 (FAILURE), D6 (ERROR, then retried)
        "frequency_per_week": 4 / 2,  # weeks W02 and W03
        "change_failure_rate": 2 / 5,
        "lead_time": spread(3, 1.5 * HOUR, 24.5 * HOUR, 9 * HOUR),
        "pull_requests_not_deployed": 1,
    }
    assert overall["incidents"] == {
        "opened": 2,
        "restored": 1,
        "time_to_restore": spread(1, 2 * HOUR, 2 * HOUR, 2 * HOUR),
    }
    assert gadgets["overall"]["deployments"] is None and gadgets["overall"]["incidents"] is None
    assert gadgets["overall"]["cycle_time"]["p50"] == 2 * HOUR
    assert [week["week"] for week in gadgets["weeks"]] == ["2024-W02"]


def test_weekly_figures_split_by_merge_and_creation_week(seeded):
    widgets = metrics(seeded, {"acme/widgets": "R_1"}, SELECTION)[0]
    first, second = widgets["weeks"]
    assert (first["week"], second["week"]) == ("2024-W02", "2024-W03")
    assert first["pull_requests_merged"] == 2 and second["pull_requests_merged"] == 2
    assert first["cycle_time"] == spread(2, 23 * HOUR + 40 * MINUTE, 27.5 * HOUR, 92100)
    assert second["cycle_time"] == spread(2, 3 * HOUR, 24 * HOUR, 13.5 * HOUR)
    assert first["time_to_first_review"] == spread(2, 3 * HOUR, 4 * HOUR, 3.5 * HOUR)
    assert second["time_to_first_review"] == spread(1, 2 * HOUR, 2 * HOUR, 2 * HOUR)
    assert first["time_in_draft"] == spread(2, 3 * HOUR, 4 * HOUR, 3.5 * HOUR)
    assert second["time_in_draft"] == spread(1, 30 * MINUTE, 30 * MINUTE, 30 * MINUTE)
    assert first["merge_queue_time"] == spread(2, 30 * MINUTE, HOUR, 45 * MINUTE)
    assert second["merge_queue_time"] == NONE
    assert first["rework"]["reworked_pull_requests"] == 1 and second["rework"]["reworked_pull_requests"] == 0
    assert first["deployments"] | {"lead_time": None} == {
        "production_deployments": 4,
        "successful": 3,
        "failed": 1,
        "frequency_per_week": 3,
        "change_failure_rate": 1 / 4,
        "lead_time": None,
        "pull_requests_not_deployed": 0,
    }
    assert first["deployments"]["lead_time"] == spread(2, HOUR, 1.5 * HOUR, 1.25 * HOUR)
    assert second["deployments"]["change_failure_rate"] == 1 and second["deployments"]["successful"] == 1
    assert second["deployments"]["pull_requests_not_deployed"] == 1
    assert first["incidents"]["opened"] == 0 and second["incidents"]["opened"] == 2


def test_since_counts_from_that_day_on(seeded):
    selection = Selection("production", ("incident",), since=date(2024, 1, 15))
    widgets = metrics(seeded, {"acme/widgets": "R_1"}, selection)[0]
    assert [week["week"] for week in widgets["weeks"]] == ["2024-W03"]
    overall = widgets["overall"]
    assert overall["pull_requests_merged"] == 2
    assert overall["cycle_time"] == spread(2, 3 * HOUR, 24 * HOUR, 13.5 * HOUR)
    assert overall["deployments"]["production_deployments"] == 1
    assert overall["deployments"]["frequency_per_week"] == 1
    assert overall["deployments"]["lead_time"] == spread(1, 24.5 * HOUR, 24.5 * HOUR, 24.5 * HOUR)
    assert overall["incidents"]["opened"] == 2


def test_another_environment_and_incident_label(seeded):
    selection = Selection("Staging", ("bug",))
    overall = metrics(seeded, {"acme/widgets": "R_1"}, selection)[0]["overall"]
    assert overall["deployments"]["production_deployments"] == 1
    # D5 (created 01-15 13:00, succeeded 13:10) is the first after the merges of 1 (01-09 11:30:
    # 6 d 1 h 40 m), 2 (01-11 09:40: 4 d 3 h 30 m) and 3 (01-15 12:00: 1 h 10 m); 4 came after it
    day = 24 * HOUR
    assert overall["deployments"]["lead_time"] == spread(
        3, 4 * day + 3.5 * HOUR, 6 * day + HOUR + 40 * MINUTE, (10 * day + 5 * HOUR + 80 * MINUTE) / 3
    )
    assert overall["deployments"]["pull_requests_not_deployed"] == 1
    assert overall["incidents"]["opened"] == 2 and overall["incidents"]["time_to_restore"]["p50"] == HOUR


def metrics_command(database_url: str, *options: str):
    return scrapy("metrics", *options, "-s", f"DATABASE_URL={database_url}")


def test_json_and_text_as_a_user_runs_them(seeded, database_url):
    result = metrics_command(database_url, "--json", "-a", "repo=acme/widgets", "--since", "2024-01-01")
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert set(document) == {"database", "environment", "incident_labels", "since", "repositories"}
    assert (document["environment"], document["incident_labels"], document["since"]) == (
        "production",
        ["incident"],
        "2024-01-01",
    )
    (widgets,) = document["repositories"]
    assert set(widgets) == {"repository", "overall", "weeks"}
    assert widgets["overall"] == metrics(seeded, {"acme/widgets": "R_1"}, SELECTION)[0]["overall"]
    assert set(widgets["weeks"][0]) == {"week", *widgets["overall"]}

    text = metrics_command(database_url, "-s", "PRSEED_INCIDENT_LABELS=incident,bug")
    assert text.returncode == 0, text.stderr[-2000:]
    lines = text.stdout.splitlines()
    assert "production environment 'production', incident labels incident, bug" in lines[0]
    assert "acme/gadgets: 1 PRs merged" in lines and "acme/widgets: 4 PRs merged" in lines
    cycle = [" ".join(line.split()) for line in lines if line.strip().startswith("cycle time")]
    assert cycle == ["cycle time 1 2h 00m 2h 00m 2h 00m", "cycle time 4 23h 40m 1d 03h 19h 32m"]
    assert "  rework: 1 of 3 reviewed PRs, 1 force pushes and 1 commits after the first review" in lines
    assert (
        "  deployments: 5, 4 successful (2 a week), change failure rate 40%; 1 merged PRs not deployed yet"
        in lines
    )
    assert "  incidents: 3 opened, 2 restored" in lines
    assert (
        "  deployments: none to 'production'" in lines
        and "  incidents: no issues crawled (PRSEED_ISSUES)" in lines
    )
    weeks = [" ".join(line.split()) for line in lines if line.strip().startswith("2024-W")]
    assert weeks == [
        "2024-W02 1 2h 00m - - - - 0 - - - -",  # acme/gadgets
        "2024-W02 2 23h 40m 3h 00m 1 3h 00m 30m 1 3/4 25% 1h 00m 1",  # issue 102 is a bug
        "2024-W03 2 3h 00m 2h 00m 1 30m - 0 1/1 100% 1d 00h 2",
    ]
    assert "review rounds 3 1 2 1.33" in [" ".join(line.split()) for line in lines]


def test_durations_read_as_a_person_writes_them():
    assert [duration(s) for s in (None, 45, 12 * MINUTE, 3 * HOUR + 5 * MINUTE, 2 * 86400 + 4 * HOUR)] == [
        "-",
        "45s",
        "12m",
        "3h 05m",
        "2d 04h",
    ]


@pytest.mark.parametrize(
    "options, message",
    [
        (["-a", "project=nonesuch"], "unknown project 'nonesuch'"),
        (["-a", "repo=acme/nonesuch"], "acme/nonesuch is not in"),
        (["-a", "repo=antiwork"], "is not a repository"),
        (["-a", "repo=acme/widgets", "-a", "project=gumroad"], "both given"),
        (["-a", "nonesuch=1"], "metrics takes -a repo="),
        (["-a", "environment="], "names no environment"),
        (["--since", "31/01/2024"], "is not a date"),
        (["extra"], "metrics takes no arguments"),
    ],
)
def test_mistakes_are_one_line(sqlite_seeded, options, message):
    assert_one_line_error(metrics_command(sqlite_seeded, *options), message)


@pytest.fixture
def sqlite_seeded(sqlite_url):
    database = open_database(sqlite_url)
    seed(database)
    database.close()
    return sqlite_url


def test_an_empty_or_missing_database_says_to_crawl_first(sqlite_url, tmp_path):
    missing = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    assert_one_line_error(metrics_command(missing), "does not exist: run scrapy crawl prs")
    database = open_database(sqlite_url)
    create_contract_tables(database)
    database.close()
    assert_one_line_error(metrics_command(sqlite_url), "holds no repository yet: run scrapy crawl prs")


def test_a_database_of_an_older_prseed_says_to_crawl_first(sqlite_url):
    """Without the tables this release adds, or with PRs whose timelines were never fetched."""
    database = open_database(sqlite_url)
    write(database, REPOSITORY, merged(1, "2024-01-08T09:00:00Z", "2024-01-09T11:30:00Z"))
    database.close()
    assert_one_line_error(metrics_command(sqlite_url), "run scrapy crawl prs -a repo=OWNER/NAME first")
    database = open_database(sqlite_url)
    create_contract_tables(database)
    database.close()
    assert_one_line_error(metrics_command(sqlite_url), "holds no timeline of its 1 merged PRs")
