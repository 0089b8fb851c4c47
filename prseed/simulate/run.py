"""Read a repository's crawled history, simulate, and write the rows: one transaction per
repository, which first deletes that repository's simulated rows (so a run is idempotent)
and never writes a crawled table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prseed import timestamps
from prseed.db.schema import upsert_statement
from prseed.simulate.model import History, PullRequest, Simulation, simulate
from prseed.simulate.tables import (
    AI_USAGE_DAILY,
    JIRA_ISSUES,
    PER_REPOSITORY,
    PULL_REQUEST_JIRA_ISSUES,
    SIMULATED_TABLES,
    SURVEY_RESPONSES,
    TEAM_MEMBERS,
    TEAMS,
    Team,
    create_statements,
)

# GitHub's timeline item types that start a PR's review
REVIEW_STARTED_EVENTS = ("READY_FOR_REVIEW_EVENT", "REVIEW_REQUESTED_EVENT")
PAGE = 1000  # rows per INSERT on PostgreSQL


@dataclass(frozen=True)
class Target:
    """A repository to simulate and the team it belongs to."""

    repository_id: str
    repository: str  # owner/name as the database spells it
    team: Team


def create_tables(database) -> None:
    with database.transaction() as cursor:
        if database.schema_lock:
            cursor.execute(database.schema_lock)
        for statement in create_statements(database.dialect):
            cursor.execute(statement)


def seconds(value) -> int | None:
    """Unix seconds of a timestamp as either database returns it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(timestamps.epoch(value))


def repositories(database) -> dict[str, tuple[str, str]]:
    """lower(owner/name) -> (id, owner/name as stored)."""
    with database.transaction() as cursor:
        cursor.execute("SELECT id, owner, name FROM repositories")
        rows = cursor.fetchall()
    return {f"{owner}/{name}".lower(): (id_, f"{owner}/{name}") for id_, owner, name in rows}


def read_history(database, repository_id: str, repository: str) -> History:
    """The PRs of one repository with their labels, reviews, commits and, where the
    database holds those tables, review requests and timeline events."""
    mark = database.dialect.placeholder
    of_repository = f"JOIN pull_requests p ON p.id = c.pull_request_id WHERE p.repository_id = {mark}"
    with database.transaction() as cursor:

        def rows(query: str):
            cursor.execute(query, (repository_id,))
            return cursor.fetchall()

        by_id: dict[str, PullRequest] = {}
        for row in rows(
            "SELECT id, number, title, state, is_draft, author_login, created_at, closed_at, merged_at, "
            f"head_ref, additions + deletions FROM pull_requests WHERE repository_id = {mark}"
        ):
            id_, number, title, state, draft, author, created, closed, merged, head_ref, lines = row
            by_id[id_] = PullRequest(
                id_, number, title, state, bool(draft), author, seconds(created), seconds(closed),
                seconds(merged), head_ref, lines,
            )  # fmt: skip
        for pull_request_id, label in rows(
            f"SELECT c.pull_request_id, c.label_name FROM pull_request_labels c {of_repository}"
        ):
            by_id[pull_request_id].labels.append(label)
        for pull_request_id, login, moment in rows(
            "SELECT c.pull_request_id, c.author_login, coalesce(c.submitted_at, c.created_at) "
            f"FROM reviews c {of_repository}"
        ):
            by_id[pull_request_id].reviews.append((login, seconds(moment)))
        for pull_request_id, login, moment, lines in rows(
            "SELECT c.pull_request_id, c.author_login, c.authored_at, c.additions + c.deletions "
            f"FROM commits c {of_repository} AND c.author_login IS NOT NULL"
        ):
            by_id[pull_request_id].commits.append((login, seconds(moment), lines))
        present = database.table_names(cursor)
        if "review_requests" in present:
            for pull_request_id, login in rows(
                f"SELECT c.pull_request_id, c.reviewer FROM review_requests c {of_repository} "
                "AND c.reviewer_kind = 'User'"
            ):
                by_id[pull_request_id].requested.append(login)
        if "timeline_events" in present:
            types = ", ".join(f"'{name}'" for name in REVIEW_STARTED_EVENTS)
            for pull_request_id, moment in rows(
                f"SELECT c.pull_request_id, min(c.created_at) FROM timeline_events c {of_repository} "
                f"AND c.type IN ({types}) GROUP BY c.pull_request_id"
            ):
                by_id[pull_request_id].review_started = seconds(moment)
        cursor.execute("SELECT login, kind FROM members")
        kinds = dict(cursor.fetchall())
    for pr in by_id.values():  # the database's order is no order: sort what the model iterates
        pr.labels.sort()
        pr.reviews.sort()
        pr.commits.sort()
        pr.requested.sort()
    return History(repository_id, repository, list(by_id.values()), kinds)


def simulate_repository(
    database, target: Target, seed: int, max_prs: int | None, max_members: int | None
) -> Simulation:
    history = read_history(database, target.repository_id, target.repository)
    simulation = simulate(history, target.team.name, seed, max_prs, max_members)
    rows = {
        TEAM_MEMBERS: simulation.team_members,
        JIRA_ISSUES: simulation.jira_issues,
        PULL_REQUEST_JIRA_ISSUES: simulation.links,
        SURVEY_RESPONSES: simulation.survey_responses,
        AI_USAGE_DAILY: simulation.ai_usage,
    }
    with database.transaction() as cursor:
        delete_rows(database, cursor, target.repository_id)
        write(database, cursor, TEAMS, [target.team])
        for table, items in rows.items():
            write(database, cursor, table, items)
        delete_lonely_teams(cursor)
    return simulation


def write(database, cursor, table, items) -> None:
    """Upsert items (the last of one key wins) in the database's fastest plain way."""
    rows = list({table.key_of(item): table.row_of(item) for item in items}.values())
    if not rows:
        return
    if database.dialect.name == "postgresql":
        from psycopg2.extras import execute_values

        execute_values(cursor, upsert_statement(table, database.dialect, values="%s"), rows, page_size=PAGE)
    else:
        cursor.executemany(upsert_statement(table, database.dialect), rows)


def delete_rows(database, cursor, repository_id: str) -> dict[str, int]:
    """Delete one repository's simulated rows; return how many per table."""
    deleted = {}
    for table in PER_REPOSITORY:
        cursor.execute(
            f"DELETE FROM {table.name} WHERE repository_id = {database.dialect.placeholder}", (repository_id,)
        )
        deleted[table.name] = cursor.rowcount
    return deleted


def delete_lonely_teams(cursor) -> int:
    """Teams no member row is left of."""
    cursor.execute(
        f"DELETE FROM {TEAMS.name} WHERE name NOT IN (SELECT DISTINCT team FROM {TEAM_MEMBERS.name})"
    )
    return cursor.rowcount


def delete_simulated(database, repository_ids: list[str]) -> dict[str, int]:
    """Remove the simulated rows of these repositories (and the teams left empty), in one
    transaction; crawled tables are not touched."""
    totals = {table.name: 0 for table in SIMULATED_TABLES}
    with database.transaction() as cursor:
        for repository_id in repository_ids:
            for name, count in delete_rows(database, cursor, repository_id).items():
                totals[name] += count
        totals[TEAMS.name] = delete_lonely_teams(cursor)
    return totals
