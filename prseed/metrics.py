"""The figures of ``scrapy metrics``: delivery metrics per repository, weekly and overall.

Everything is computed here, in Python, from plain SELECTs (:meth:`Database.query`), so
SQLite and PostgreSQL give the same figures; the README's "Metrics" section defines each
one and shows SQL that computes it in either dialect.  Durations are seconds; percentiles
are nearest-rank (:func:`percentile`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prseed import timestamps

if TYPE_CHECKING:
    from prseed.db import Database

# The tables the figures are read from; a database lacking one was made by an older prseed.
TABLES_READ = (
    "repositories",
    "pull_requests",
    "commits",
    "reviews",
    "timeline_events",
    "deployments",
    "deployment_statuses",
    "issues",
    "issue_labels",
)

READY = "READY_FOR_REVIEW_EVENT"
TO_DRAFT = "CONVERT_TO_DRAFT_EVENT"
REVIEW_REQUESTED = "REVIEW_REQUESTED_EVENT"
FORCE_PUSHED = "HEAD_REF_FORCE_PUSHED_EVENT"
QUEUED = "ADDED_TO_MERGE_QUEUE_EVENT"
UNQUEUED = "REMOVED_FROM_MERGE_QUEUE_EVENT"
MERGED = "MERGED_EVENT"
EVENT_TYPES = (READY, TO_DRAFT, REVIEW_REQUESTED, FORCE_PUSHED, QUEUED, UNQUEUED, MERGED)
FAILED_STATES = frozenset({"FAILURE", "ERROR"})


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``share`` percent of the
    values at or below it, i.e. the ``ceil(share / 100 * n)``-th smallest (1-based); None
    for no values.  Always one of the values, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share / 100 * len(ordered))) - 1]


def distribution(values: list[float]) -> dict[str, Any]:
    """How many values, their nearest-rank p50 and p90, and their mean."""
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "mean": sum(values) / len(values) if values else None,
    }


def iso_week(moment: float) -> str:
    """The ISO week (UTC) of a Unix time: ``2024-W05``."""
    year, week, _ = datetime.fromtimestamp(moment, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(first: float, last: float) -> list[str]:
    """Every ISO week from that of ``first`` to that of ``last``, both included."""
    day = datetime.fromtimestamp(first, UTC).date()
    monday = day - timedelta(days=day.weekday())
    end = datetime.fromtimestamp(last, UTC).date()
    weeks = []
    while monday <= end:
        year, week, _ = monday.isocalendar()
        weeks.append(f"{year}-W{week:02d}")
        monday += timedelta(days=7)
    return weeks


# --- one merged pull request ----------------------------------------------------------------


@dataclass
class PullRequestFacts:
    """What the figures of one merged PR are computed from (Unix times)."""

    number: int
    author: str
    is_draft: bool
    created_at: float
    merged_at: float
    authored: list[float] = field(default_factory=list)  # its commits' authored times
    reviews: list[tuple[float, str, str]] = field(default_factory=list)  # (submitted, state, author)
    events: list[tuple[float, str]] = field(default_factory=list)  # (created, type) of EVENT_TYPES


@dataclass
class PullRequestFigures:
    number: int
    merged_at: float
    cycle_time: float
    has_timeline: bool  # its timeline was collected (a merged PR always has a MERGED_EVENT)
    reviewed: bool
    time_to_first_review: float | None
    review_rounds: int
    time_in_draft: float | None  # None: never a draft
    force_pushes_after_review: int
    commits_after_review: int
    merge_queue_time: float | None  # None: never in the merge queue
    lead_time: float | None = None  # set by :func:`lead_times`; None: not deployed (yet)


def pull_request_figures(facts: PullRequestFacts) -> PullRequestFigures:
    events = sorted(facts.events)
    start = min([facts.created_at, *facts.authored])
    others = sorted(
        (submitted, state) for submitted, state, author in facts.reviews if author != facts.author
    )
    first_review = others[0][0] if others else None
    draft_time, ready_moments = draft_intervals(facts, events)
    waited = None
    if first_review is not None:
        readied = [moment for moment in ready_moments if moment <= first_review]
        requested = [moment for moment, kind in events if kind == REVIEW_REQUESTED and moment <= first_review]
        starts = readied[-1:] + requested[:1]
        waited = first_review - (min(starts) if starts else facts.created_at)
    after_review = (lambda moment: moment > first_review) if first_review is not None else (lambda _: False)
    return PullRequestFigures(
        number=facts.number,
        merged_at=facts.merged_at,
        cycle_time=facts.merged_at - start,
        has_timeline=bool(events),
        reviewed=first_review is not None,
        time_to_first_review=waited,
        review_rounds=1 + sum(state == "CHANGES_REQUESTED" for _, state in others) if others else 0,
        time_in_draft=draft_time,
        force_pushes_after_review=sum(kind == FORCE_PUSHED and after_review(at) for at, kind in events),
        commits_after_review=sum(after_review(moment) for moment in facts.authored),
        merge_queue_time=merge_queue_time(facts, events),
    )


def draft_intervals(facts: PullRequestFacts, events: list[tuple[float, str]]) -> tuple[float | None, list]:
    """The time the PR spent as a draft (None: never one) and the moments it became ready
    for review.  It was opened as a draft when its first draft event is a READY_FOR_REVIEW
    (or, with none, when it is a draft now); a draft interval runs from the opening or a
    CONVERT_TO_DRAFT to the next READY_FOR_REVIEW, or to the merge."""
    kinds = [kind for _, kind in events if kind in (READY, TO_DRAFT)]
    draft = kinds[0] == READY if kinds else facts.is_draft
    ever = draft or TO_DRAFT in kinds
    since = facts.created_at
    ready_moments = [] if draft else [facts.created_at]
    total = 0.0
    for moment, kind in events:
        if kind == TO_DRAFT and not draft:
            draft, since = True, moment
        elif kind == READY and draft:
            draft = False
            total += moment - since
            ready_moments.append(moment)
    if draft:
        total += facts.merged_at - since
    return (total if ever else None), ready_moments


def merge_queue_time(facts: PullRequestFacts, events: list[tuple[float, str]]) -> float | None:
    """The sum of the intervals from each ADDED_TO_MERGE_QUEUE to the next
    REMOVED_FROM_MERGE_QUEUE or MERGED (the merge when neither came); None: never queued."""
    entered, total = None, None
    for moment, kind in events:
        if kind == QUEUED and entered is None:
            entered = moment
        elif kind in (UNQUEUED, MERGED) and entered is not None:
            total = (total or 0.0) + moment - entered
            entered = None
    if entered is not None:
        total = (total or 0.0) + facts.merged_at - entered
    return total


# --- deployments and incidents --------------------------------------------------------------


@dataclass
class Deployment:
    """A production deployment: created, the first SUCCESS status's time (None: never
    succeeded), and whether a status of it was FAILURE or ERROR."""

    created_at: float
    succeeded_at: float | None
    failed: bool


@dataclass
class Incident:
    created_at: float
    closed_at: float | None


def lead_times(pull_requests: list[PullRequestFigures], deployments: list[Deployment]) -> None:
    """Each PR's lead time: from its merge to the first SUCCESS status of the first
    successful production deployment created at or after the merge (whatever its commit)."""
    successful = sorted((d.created_at, d.succeeded_at) for d in deployments if d.succeeded_at is not None)
    for pull_request in pull_requests:
        after = [succeeded for created, succeeded in successful if created >= pull_request.merged_at]
        pull_request.lead_time = after[0] - pull_request.merged_at if after else None


# --- the figures of a set of PRs, deployments and incidents ---------------------------------


def figures(
    pull_requests: list[PullRequestFigures],
    deployments: list[Deployment] | None,
    incidents: list[Incident] | None,
    weeks: int,
) -> dict[str, Any]:
    """The figures of one repository over one period of ``weeks`` ISO weeks; ``None``
    deployments or incidents: the repository has none to count (no production deployment,
    no issue crawled)."""
    timeline = [pr for pr in pull_requests if pr.has_timeline]
    reviewed = [pr for pr in pull_requests if pr.reviewed]
    result: dict[str, Any] = {
        "pull_requests_merged": len(pull_requests),
        "pull_requests_without_timeline": len(pull_requests) - len(timeline),
        "cycle_time": distribution([pr.cycle_time for pr in pull_requests]),
        "time_to_first_review": distribution([pr.time_to_first_review for pr in reviewed if pr.has_timeline]),
        "review_rounds": distribution([pr.review_rounds for pr in reviewed]),
        "time_in_draft": distribution([pr.time_in_draft for pr in timeline if pr.time_in_draft is not None]),
        "rework": {
            "reviewed_pull_requests": len(reviewed),
            "reworked_pull_requests": sum(
                bool(pr.force_pushes_after_review or pr.commits_after_review) for pr in reviewed
            ),
            "force_pushes_after_review": sum(pr.force_pushes_after_review for pr in reviewed),
            "commits_after_review": sum(pr.commits_after_review for pr in reviewed),
        },
        "merge_queue_time": distribution(
            [pr.merge_queue_time for pr in timeline if pr.merge_queue_time is not None]
        ),
        "deployments": None,
        "incidents": None,
    }
    if deployments is not None:
        successful = sum(d.succeeded_at is not None for d in deployments)
        failed = sum(d.failed for d in deployments)
        result["deployments"] = {
            "production_deployments": len(deployments),
            "successful": successful,
            "failed": failed,
            "frequency_per_week": successful / weeks if weeks else None,
            "change_failure_rate": failed / len(deployments) if deployments else None,
            "lead_time": distribution([pr.lead_time for pr in pull_requests if pr.lead_time is not None]),
            "pull_requests_not_deployed": sum(pr.lead_time is None for pr in pull_requests),
        }
    if incidents is not None:
        restored = [i.closed_at - i.created_at for i in incidents if i.closed_at is not None]
        result["incidents"] = {
            "opened": len(incidents),
            "restored": len(restored),
            "time_to_restore": distribution(restored),
        }
    return result


@dataclass
class RepositoryData:
    name: str  # OWNER/NAME
    pull_requests: list[PullRequestFigures]
    deployments: list[Deployment] | None
    incidents: list[Incident] | None


def repository_metrics(data: RepositoryData) -> dict[str, Any]:
    """Overall and per ISO week (every week from the first to the last with a merge, a
    production deployment or an incident): PRs by merge week, deployments and incidents by
    creation week."""
    moments = [pr.merged_at for pr in data.pull_requests]
    moments += [d.created_at for d in data.deployments or ()]
    moments += [i.created_at for i in data.incidents or ()]
    weeks = weeks_between(min(moments), max(moments)) if moments else []

    def of_week(rows, moment, week):
        return None if rows is None else [row for row in rows if iso_week(moment(row)) == week]

    return {
        "repository": data.name,
        "overall": figures(data.pull_requests, data.deployments, data.incidents, len(weeks)),
        "weeks": [
            {
                "week": week,
                **figures(
                    of_week(data.pull_requests, lambda pr: pr.merged_at, week),
                    of_week(data.deployments, lambda d: d.created_at, week),
                    of_week(data.incidents, lambda i: i.created_at, week),
                    1,
                ),
            }
            for week in weeks
        ],
    }


# --- reading the database -------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What to count: the production environment's name (compared case-insensitively, as
    GitHub does), the incident labels (likewise), and the first day counted (None: all)."""

    environment: str
    incident_labels: tuple[str, ...]
    since: date | None = None

    @property
    def since_epoch(self) -> float:
        return -math.inf if self.since is None else timestamps.epoch(timestamps.start_of(self.since))


def epoch_or_none(timestamp: str | None) -> float | None:
    return None if timestamp is None else timestamps.epoch(timestamp)


# the rows of a table of PR children that belong to the merged PRs of one repository
OF_MERGED = (
    "JOIN pull_requests p ON p.id = {alias}.pull_request_id "
    "WHERE p.repository_id = ? AND p.merged_at IS NOT NULL"
)


def read_repository(
    database: Database, repository_id: str, name: str, selection: Selection
) -> RepositoryData:
    """One repository's merged PRs, production deployments and incidents, since ``selection.since``."""
    since = selection.since_epoch
    facts = {
        row["id"]: PullRequestFacts(
            number=row["number"],
            author=row["author_login"],
            is_draft=bool(row["is_draft"]),
            created_at=timestamps.epoch(row["created_at"]),
            merged_at=timestamps.epoch(row["merged_at"]),
        )
        for row in database.query(
            "SELECT id, number, author_login, is_draft, created_at, merged_at FROM pull_requests "
            "WHERE repository_id = ? AND merged_at IS NOT NULL",
            (repository_id,),
        )
    }
    facts = {key: pr for key, pr in facts.items() if pr.merged_at >= since}
    for row in database.query(
        "SELECT c.pull_request_id, c.authored_at FROM commits c " + OF_MERGED.format(alias="c"),
        (repository_id,),
    ):
        if row["pull_request_id"] in facts:
            facts[row["pull_request_id"]].authored.append(timestamps.epoch(row["authored_at"]))
    for row in database.query(
        "SELECT r.pull_request_id, r.author_login, r.state, r.submitted_at FROM reviews r "
        + OF_MERGED.format(alias="r")
        + " AND r.submitted_at IS NOT NULL AND r.state <> 'PENDING'",
        (repository_id,),
    ):
        if row["pull_request_id"] in facts:
            review = (timestamps.epoch(row["submitted_at"]), row["state"], row["author_login"])
            facts[row["pull_request_id"]].reviews.append(review)
    kinds = ", ".join(f"'{kind}'" for kind in EVENT_TYPES)
    for row in database.query(
        "SELECT e.pull_request_id, e.type, e.created_at FROM timeline_events e "
        + OF_MERGED.format(alias="e")
        + f" AND e.type IN ({kinds})",
        (repository_id,),
    ):
        if row["pull_request_id"] in facts:
            facts[row["pull_request_id"]].events.append((timestamps.epoch(row["created_at"]), row["type"]))
    pull_requests = sorted((pull_request_figures(pr) for pr in facts.values()), key=lambda pr: pr.merged_at)
    deployments = read_deployments(database, repository_id, selection)
    if deployments is not None:
        lead_times(pull_requests, deployments)
    return RepositoryData(
        name, pull_requests, deployments, read_incidents(database, repository_id, selection)
    )


def read_deployments(database: Database, repository_id: str, selection: Selection) -> list[Deployment] | None:
    """The production deployments created since ``selection.since``; None when the
    repository has no production deployment at all."""
    environment = selection.environment.casefold()
    created = {
        row["id"]: timestamps.epoch(row["created_at"])
        for row in database.query(
            "SELECT id, environment, created_at FROM deployments WHERE repository_id = ?", (repository_id,)
        )
        if (row["environment"] or "").casefold() == environment
    }
    if not created:
        return None
    succeeded: dict[str, float] = {}
    failed: set[str] = set()
    for row in database.query(
        "SELECT s.deployment_id, s.state, s.created_at FROM deployment_statuses s "
        "JOIN deployments d ON d.id = s.deployment_id WHERE d.repository_id = ?",
        (repository_id,),
    ):
        deployment = row["deployment_id"]
        if row["state"] == "SUCCESS":
            moment = timestamps.epoch(row["created_at"])
            succeeded[deployment] = min(moment, succeeded.get(deployment, moment))
        elif row["state"] in FAILED_STATES:
            failed.add(deployment)
    return sorted(
        (
            Deployment(at, succeeded.get(deployment), deployment in failed)
            for deployment, at in created.items()
            if at >= selection.since_epoch
        ),
        key=lambda d: d.created_at,
    )


def read_incidents(database: Database, repository_id: str, selection: Selection) -> list[Incident] | None:
    """The issues with an incident label opened since ``selection.since``; None when the
    database holds no issue of the repository (the issues stream did not crawl it)."""
    issues = database.query(
        "SELECT id, created_at, closed_at FROM issues WHERE repository_id = ?", (repository_id,)
    )
    if not issues:
        return None
    labels = {label.casefold() for label in selection.incident_labels}
    incident_ids = {
        row["issue_id"]
        for row in database.query(
            "SELECT l.issue_id, l.label_name FROM issue_labels l JOIN issues i ON i.id = l.issue_id "
            "WHERE i.repository_id = ?",
            (repository_id,),
        )
        if row["label_name"].casefold() in labels
    }
    incidents = [
        Incident(timestamps.epoch(row["created_at"]), epoch_or_none(row["closed_at"]))
        for row in issues
        if row["id"] in incident_ids
    ]
    return sorted((i for i in incidents if i.created_at >= selection.since_epoch), key=lambda i: i.created_at)


def repositories_in(database: Database) -> dict[str, str]:
    """OWNER/NAME -> id of every repository the database holds, by name."""
    rows = database.query("SELECT id, owner, name FROM repositories")
    return dict(
        sorted(((f"{row['owner']}/{row['name']}", row["id"]) for row in rows), key=lambda x: x[0].lower())
    )


def metrics(database: Database, repositories: dict[str, str], selection: Selection) -> list[dict[str, Any]]:
    """The figures of each repository (OWNER/NAME -> id)."""
    return [
        repository_metrics(read_repository(database, repository_id, name, selection))
        for name, repository_id in repositories.items()
    ]
