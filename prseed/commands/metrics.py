"""``scrapy metrics``: delivery metrics per repository (cycle time, reviews, drafts, rework,
merge queue, DORA), weekly and overall, from the database alone."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from prseed import config
from prseed.cli import PrseedCommand
from prseed.commands.dbstatus import open_existing
from prseed.exceptions import ConfigError
from prseed.metrics import TABLES_READ, Selection, metrics, repositories_in
from prseed.projects import load_projects
from prseed.spiders.arguments import repositories_of
from prseed.texttables import aligned

if TYPE_CHECKING:
    import argparse

    from prseed.db import Database

ARGUMENTS = ("repo", "repos", "project", "environment")
CRAWL_FIRST = "run scrapy crawl prs -a repo=OWNER/NAME first"
DISTRIBUTIONS = (
    ("cycle time", ("cycle_time",)),
    ("time to first review", ("time_to_first_review",)),
    ("review rounds", ("review_rounds",)),
    ("time in draft", ("time_in_draft",)),
    ("merge-queue time", ("merge_queue_time",)),
    ("lead time for changes", ("deployments", "lead_time")),
    ("time to restore", ("incidents", "time_to_restore")),
)


def since_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(
            f"--since {value!r} is not a date: write YYYY-MM-DD, e.g. --since 2024-01-31"
        ) from None


def duration(seconds: float | None) -> str:
    """A duration for reading: ``45s``, ``12m``, ``3h 05m``, ``2d 04h``; ``-`` for none."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if whole < 3600:
        return f"{minutes}m"
    if whole < 86400:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{days}d {hours % 24:02d}h"


def number(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 2):g}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def nested(figures: dict[str, Any], path: tuple[str, ...]) -> dict | None:
    for key in path:
        figures = figures.get(key) if figures is not None else None
    return figures


def render(document: dict[str, Any]) -> list[str]:
    """Per repository: its overall distributions, a line each for rework, deployments and
    incidents, then a row per ISO week."""
    labels = ", ".join(document["incident_labels"])
    heading = f"{document['database']}; production environment {document['environment']!r}"
    heading += f", incident labels {labels}" + (f", since {document['since']}" if document["since"] else "")
    lines = [heading]
    for entry in document["repositories"]:
        overall = entry["overall"]
        lines += ["", f"{entry['repository']}: {overall['pull_requests_merged']} PRs merged"]
        if overall["pull_requests_without_timeline"]:
            lines.append(
                f"  {overall['pull_requests_without_timeline']} of them have no timeline (crawled "
                "without it): left out of first review, draft and merge-queue times"
            )
        rows = [["figure", "PRs", "p50", "p90", "mean"]]
        for label, path in DISTRIBUTIONS:
            found = nested(overall, path)
            if found is None:
                continue
            shown = number if label == "review rounds" else duration
            rows.append(
                [label, str(found["count"]), shown(found["p50"]), shown(found["p90"]), shown(found["mean"])]
            )
        lines += ["  " + line for line in aligned(rows, left={0})]
        rework = overall["rework"]
        lines.append(
            f"  rework: {rework['reworked_pull_requests']} of {rework['reviewed_pull_requests']} reviewed "
            f"PRs, {rework['force_pushes_after_review']} force pushes and "
            f"{rework['commits_after_review']} commits after the first review"
        )
        deployments = overall["deployments"]
        if deployments is None:
            lines.append(f"  deployments: none to {document['environment']!r}")
        else:
            lines.append(
                f"  deployments: {deployments['production_deployments']}, "
                f"{deployments['successful']} successful "
                f"({number(deployments['frequency_per_week'])} a week), change failure rate "
                f"{share(deployments['change_failure_rate'])}; {deployments['pull_requests_not_deployed']} "
                "merged PRs not deployed yet"
            )
        incidents = overall["incidents"]
        if incidents is None:
            lines.append("  incidents: no issues crawled (PRSEED_ISSUES)")
        else:
            lines.append(f"  incidents: {incidents['opened']} opened, {incidents['restored']} restored")
        lines += ["", *("  " + line for line in aligned(week_rows(entry["weeks"]), left={0}))]
    return lines


def week_rows(weeks: list[dict[str, Any]]) -> list[list[str]]:
    rows = [
        ["week", "merged", "cycle p50", "review wait p50", "rounds p50", "draft p50", "queue p50", "reworked"]
        + ["deploys ok/all", "failure rate", "lead p50", "incidents"]
    ]
    for week in weeks:
        deployments, incidents = week["deployments"] or {}, week["incidents"] or {}
        rows.append(
            [
                week["week"],
                str(week["pull_requests_merged"]),
                duration(week["cycle_time"]["p50"]),
                duration(week["time_to_first_review"]["p50"]),
                number(week["review_rounds"]["p50"]),
                duration(week["time_in_draft"]["p50"]),
                duration(week["merge_queue_time"]["p50"]),
                str(week["rework"]["reworked_pull_requests"]),
                f"{deployments['successful']}/{deployments['production_deployments']}"
                if deployments
                else "-",
                share(deployments.get("change_failure_rate")),
                duration(nested(deployments, ("lead_time", "p50"))),
                str(incidents.get("opened", "-")),
            ]
        )
    return rows


class Command(PrseedCommand):
    def syntax(self) -> str:
        return "[-a repo=OWNER/NAME | -a project=NAME] [-a environment=NAME] [--since YYYY-MM-DD] [--json]"

    def short_desc(self) -> str:
        return "Show delivery metrics per repository, weekly and overall, from the database"

    def long_desc(self) -> str:
        return (
            "Read DATABASE_URL and show, per repository (every one it holds, or those of -a repo=, "
            "-a repos= or -a project=), overall and per ISO week: PRs merged, cycle time, time to first "
            "review, review rounds, time in draft, rework, merge-queue time, and where deployments exist "
            "deployment frequency, lead time for changes and change failure rate to the production "
            "environment (PRSEED_PRODUCTION_ENVIRONMENT, or -a environment=NAME), and incidents "
            "(issues labelled with one of PRSEED_INCIDENT_LABELS) with their time to restore. "
            "--since counts only what was merged, deployed or opened from that day on (UTC). "
            'The README\'s "Metrics" section defines each figure. Nothing is fetched from GitHub.'
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        self.add_spider_arguments(
            parser, "repo=, repos= or project= (as scrapy crawl prs takes them), environment="
        )
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="count from this day on (UTC)")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            self.fail(f"metrics takes no arguments, got {' '.join(args)!r}: see scrapy metrics -h")
            return
        database = None
        try:
            arguments = self.arguments(opts)
            selection = Selection(
                environment=arguments.pop("environment", None)
                or config.value(self.settings, "PRSEED_PRODUCTION_ENVIRONMENT"),
                incident_labels=incident_labels(config.value(self.settings, "PRSEED_INCIDENT_LABELS")),
                since=since_date(opts.since),
            )
            database, description = open_existing(self.settings.get("DATABASE_URL"))
            repositories = self.repositories(database, description, arguments)
            document = {
                "database": description,
                "environment": selection.environment,
                "incident_labels": list(selection.incident_labels),
                "since": opts.since and selection.since.isoformat(),
                "repositories": metrics(database, repositories, selection),
            }
            check_timelines(document["repositories"], description)
        except ConfigError as exc:
            self.fail(str(exc))
            return
        finally:
            if database is not None:
                database.close()
        if opts.json:
            print(json.dumps(document, indent=2))
            return
        for line in render(document):
            print(line)

    def arguments(self, opts: argparse.Namespace) -> dict[str, str]:
        arguments = {}
        for argument in opts.arguments:
            name, equals, value = argument.partition("=")
            if name not in ARGUMENTS or not equals:
                raise ConfigError(
                    f"-a {argument}: metrics takes -a repo=, -a repos=, -a project= or -a environment="
                )
            arguments[name] = value
        if "environment" in arguments and not arguments["environment"].strip():
            raise ConfigError("-a environment= names no environment: write e.g. -a environment=production")
        return arguments

    def repositories(self, database: Database | None, description: str, arguments: dict) -> dict[str, str]:
        """OWNER/NAME -> id of the repositories to report on: the named ones, else every one."""
        if database is None:
            raise ConfigError(f"{description} does not exist: {CRAWL_FIRST}")
        missing = database.missing_tables(TABLES_READ)
        if missing:
            raise ConfigError(
                f"{description} has no table {', '.join(missing)} (an older prseed made it): {CRAWL_FIRST}"
            )
        held = repositories_in(database)
        if not held:
            raise ConfigError(f"{description} holds no repository yet: {CRAWL_FIRST}")
        if not any(name in arguments for name in ("repo", "repos", "project")):
            return held
        projects = load_projects(config.value(self.settings, "PRSEED_PROJECTS_FILE"))
        named = repositories_of(arguments, projects)[0]
        by_lower = {name.lower(): (name, repository_id) for name, repository_id in held.items()}
        absent = [name for name in named if name.lower() not in by_lower]
        if absent:
            raise ConfigError(f"{absent[0]} is not in {description}: scrapy dbstatus lists what it holds")
        return dict(by_lower[name.lower()] for name in named)


def incident_labels(value) -> tuple[str, ...]:
    """``PRSEED_INCIDENT_LABELS``: comma-separated, or a list."""
    names = value.split(",") if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(name.strip() for name in names if name.strip()))


def check_timelines(figures: list[dict[str, Any]], description: str) -> None:
    """Merged PRs of which none has a timeline were crawled by a prseed that did not fetch
    timelines (a database upgraded from an older one), or with the timeline left out of
    ``PRSEED_COLLECT``: most figures would be missing, so say so rather than show them."""
    merged = sum(entry["overall"]["pull_requests_merged"] for entry in figures)
    without = sum(entry["overall"]["pull_requests_without_timeline"] for entry in figures)
    if merged and without == merged:
        raise ConfigError(
            f"{description} holds no timeline of its {merged} merged PRs (an older prseed, or "
            f"PRSEED_COLLECT without timeline, crawled them): {CRAWL_FIRST}"
        )
