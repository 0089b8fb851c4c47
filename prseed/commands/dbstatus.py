"""``scrapy dbstatus``: what the database holds, per repository, and how its sync stands;
``--delete OWNER/NAME`` removes one repository's rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prseed.cli import PrseedCommand
from prseed.db import open_database
from prseed.db.backends import from_database
from prseed.db.registry import TABLES
from prseed.exceptions import ConfigError
from prseed.items import PULL_REQUESTS_STREAM, PullRequest
from prseed.spiders.arguments import repository as repository_argument
from prseed.texttables import aligned

if TYPE_CHECKING:
    import argparse

    from prseed.db import Database
    from prseed.db.backends import RepositoryRows

PULL_REQUESTS = TABLES.by_item[PullRequest]
# (column in the output, table whose rows hang off a pull request)
CHILD_TABLES = tuple((table.heading.replace(" ", "_"), table) for table in TABLES.children_of(PULL_REQUESTS))
COUNTS = ("pull_requests", "incomplete_pull_requests", *(column for column, _ in CHILD_TABLES))
# The text table keeps to the tables every crawl fills, to fit a terminal; --json has them all
# (those of the PRSEED_COLLECT parts too).
SHOWN = (
    "pull_requests",
    "incomplete_pull_requests",
    *(column for column, table in CHILD_TABLES if table.part is None),
)
HEADERS = (
    PULL_REQUESTS.heading,
    "incomplete",
    *(table.heading for _, table in CHILD_TABLES if table.part is None),
)


def grouped(database: Database, query: str) -> dict[str, tuple]:
    """Rows of a query whose first column is a repository id, by that id."""
    with database.transaction() as cursor:
        cursor.execute(query)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def repository_status(database: Database, stream: str = PULL_REQUESTS_STREAM) -> list[dict[str, Any]]:
    """Per repository, by name: row counts, the newest PR, and the ``sync_state`` of its
    ``stream``.  Plain SQL that SQLite and PostgreSQL both run; timestamps come back as
    GitHub writes them."""
    with database.transaction() as cursor:
        cursor.execute("SELECT id, owner, name FROM repositories")
        repositories = cursor.fetchall()
    pull_requests = grouped(
        database,
        "SELECT repository_id, count(*), sum(CASE WHEN complete THEN 0 ELSE 1 END), max(updated_at) "
        "FROM pull_requests GROUP BY repository_id",
    )
    children = {
        column: grouped(
            database,
            f"SELECT p.repository_id, count(*) FROM {table.name} c JOIN {PULL_REQUESTS.name} p "
            f"ON p.{table.replaced_with.key} = c.{table.replaced_with.column} GROUP BY p.repository_id",
        )
        for column, table in CHILD_TABLES
    }
    syncs: dict[str, list[dict]] = {}
    sync_state = TABLES.sync_state
    for sync in database.select(sync_state, f"{sync_state.stream_key} = ?", (stream,)):
        syncs.setdefault(sync["repository_id"], []).append(sync)
    status = []
    for repository_id, owner, name in sorted(repositories, key=lambda row: f"{row[1]}/{row[2]}".lower()):
        count, incomplete, newest = pull_requests.get(repository_id, (0, 0, None))
        # one repository may have several rows when crawls spelled its name differently
        sync = syncs.get(repository_id, [])
        running = [row for row in sync if row["run_started_at"] is not None]
        status.append(
            {
                "repository": f"{owner}/{name}",
                "pull_requests": count,
                "incomplete_pull_requests": incomplete or 0,
                **{column: children[column].get(repository_id, (0,))[0] for column, _ in CHILD_TABLES},
                "newest_pull_request_updated_at": from_database(newest),
                "watermark": max((row["newest_seen"] for row in sync if row["newest_seen"]), default=None),
                "history_complete": any(row["history_complete"] for row in sync),
                "covered_since": min(filter(None, (row["covered_since"] for row in sync)), default=None),
                "synced_at": max((row["synced_at"] for row in sync if row["synced_at"]), default=None),
                "crawl_in_progress": bool(running),
                "crawl_started_at": min((row["run_started_at"] for row in running), default=None),
                "crawl_listed_pull_requests": sum(row["run_fetched"] or 0 for row in running),
            }
        )
    return status


def render(status: list[dict[str, Any]]) -> list[str]:
    """Two tables: the rows per repository, then its sync."""
    counts = [["repository", *HEADERS]]
    counts += [[entry["repository"], *(str(entry[column]) for column in SHOWN)] for entry in status]
    if len(status) > 1:
        counts.append(["total", *(str(sum(entry[column] for entry in status)) for column in SHOWN)])
    sync = [["repository", "newest PR update", "watermark", "covered", "last sync", "crawl"]]
    for entry in status:
        crawl = "-"
        if entry["crawl_in_progress"]:
            crawl = (
                f"in progress since {entry['crawl_started_at']}, "
                f"{entry['crawl_listed_pull_requests']} PRs listed"
            )
        sync.append(
            [
                entry["repository"],
                entry["newest_pull_request_updated_at"] or "-",
                entry["watermark"] or "-",
                covered(entry),
                entry["synced_at"] or "never",
                crawl,
            ]
        )
    return [*aligned(counts, left={0}), "", *aligned(sync, left={0, 1, 2, 3, 4, 5})]


def covered(entry: dict[str, Any]) -> str:
    """Which PRs the syncs fetched: ``all``, ``since TIME`` (a later crawl without limits
    back-fills the rest), or ``unknown`` (synced by a prseed that did not record it)."""
    if entry["history_complete"]:
        return "all"
    if entry["covered_since"]:
        return f"since {entry['covered_since']}"
    return "unknown" if entry["watermark"] else "-"


def open_existing(url: str) -> tuple[Database | None, str]:
    """The database at ``url`` and its description; no database for a SQLite file that does
    not exist (a status command does not create one)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None, f"SQLite database {url.removeprefix('sqlite:///')}"
    database = open_database(url)
    return database, database.description


def render_deleted(deleted: RepositoryRows) -> list[str]:
    rows = [["table", "rows"], *([table, str(count)] for table, count in deleted.rows.items())]
    return aligned([*rows, ["total", str(deleted.total)]], left={0})


def confirmed(question: str) -> bool:
    """Ask on the terminal (the question on stderr, so --json output stays clean)."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


class Command(PrseedCommand):
    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Show what the database holds per repository, and how its sync stands"

    def long_desc(self) -> str:
        return (
            "Read DATABASE_URL (SQLite or PostgreSQL) and show per repository: rows of pull requests, "
            "reviews, commits, files, check runs, PR labels and closing issues; PRs still incomplete; "
            "the newest PR update; the sync watermark, the last sync, and a crawl in progress "
            "(or interrupted: the next crawl continues it). Nothing is fetched from GitHub. "
            "--delete OWNER/NAME removes every row of that repository (and the members no other "
            "repository refers to) in one transaction, so that its next crawl starts from nothing."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="print the same data as JSON")
        parser.add_argument(
            "--delete",
            metavar="OWNER/NAME",
            help="delete every row of a repository (asks first on a terminal)",
        )
        parser.add_argument("--yes", action="store_true", help="with --delete: do not ask")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            self.fail(f"dbstatus takes no arguments, got {' '.join(args)!r}: see scrapy dbstatus -h")
            return
        try:
            repository = None if opts.delete is None else repository_argument(opts.delete, "--delete")
            database, description = open_existing(self.settings.get("DATABASE_URL"))
        except ConfigError as exc:
            self.fail(str(exc))
            return
        try:
            if repository is None:
                self.show(database, description, opts.json)
            else:
                self.delete(database, description, repository, opts)
        finally:
            if database is not None:
                database.close()

    def show(self, database: Database | None, description: str, as_json: bool) -> None:
        status = repository_status(database) if database is not None else []
        if as_json:
            print(json.dumps({"database": description, "repositories": status}, indent=2))
        elif not status:
            print(f"{description} holds no repository yet: run scrapy crawl prs -a repo=OWNER/NAME")
        else:
            print(description)
            for line in render(status):
                print(line)

    def delete(self, database: Database | None, description: str, repository: str, opts) -> None:
        missing = f"{repository} is not in {description}: scrapy dbstatus lists what it holds"
        found = database.count_repository_rows(repository) if database is not None else None
        if found is None:
            self.fail(missing)
            return
        if not opts.yes:
            if not sys.stdin.isatty():
                self.fail(
                    f"deleting {found.total} rows of {found.repository} needs confirmation: "
                    "run it on a terminal, or add --yes"
                )
                return
            if not confirmed(f"delete {found.total} rows of {found.repository}?"):
                print("nothing deleted", file=sys.stderr)
                self.exitcode = 1
                return
        deleted = database.delete_repository(repository)
        if deleted is None:  # deleted by someone else meanwhile
            self.fail(missing)
            return
        if opts.json:
            document = {"database": description, "repository": deleted.repository}
            print(json.dumps({**document, "deleted": deleted.rows, "total": deleted.total}, indent=2))
            return
        print(f"deleted {deleted.total} rows of {deleted.repository} from {description}")
        for line in render_deleted(deleted):
            print(line)
