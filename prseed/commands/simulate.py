"""``scrapy simulate``: invented demo data around the crawled history (teams, Jira issues,
developer surveys, AI-assistant usage), deterministic for a seed; ``--delete`` removes it."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from prseed import config
from prseed.cli import PrseedCommand
from prseed.commands.dbstatus import open_existing
from prseed.exceptions import ConfigError
from prseed.projects import DEFAULT_FILE, load_projects
from prseed.simulate.run import Target, create_tables, delete_simulated, repositories, simulate_repository
from prseed.simulate.tables import SIMULATED_TABLES, Team
from prseed.spiders.arguments import repositories_of
from prseed.texttables import aligned

if TYPE_CHECKING:
    import argparse

DEFAULT_SEED = 42
ARGUMENTS = ("repo", "repos", "project")
COUNTS = ("pull_requests", *(table.name for table in SIMULATED_TABLES[1:]))
HEADERS = ("PRs", "members", "jira issues", "PR links", "survey responses", "AI usage days")


def whole(option: str, value: str | None, minimum: int | None = None) -> int | None:
    """An option's whole number, or a ConfigError naming it."""
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or (minimum is not None and number < minimum):
        least = "" if minimum is None else f" of at least {minimum}"
        raise ConfigError(f"{option} {value!r} is not a whole number{least}, e.g. {option} 100")
    return number


class Command(PrseedCommand):
    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Simulate demo data (teams, Jira issues, surveys, AI usage) around the crawled PRs"

    def long_desc(self) -> str:
        return (
            "Read the PRs, reviews and commits crawls wrote to DATABASE_URL and write invented demo "
            "data next to them: teams and team_members, jira_issues and pull_request_jira_issues, "
            "survey_responses and ai_usage_daily (every row has simulated = true; crawled tables are "
            "never changed). The same database and --seed give the same rows. Every repository of "
            "the database by default, or -a project=NAME (its max_prs and max_members) or "
            "-a repos=A/B,C/D. One transaction per repository replaces its simulated rows; "
            "--delete removes them."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        self.add_spider_arguments(
            parser, "project=NAME, repos=OWNER/NAME,… or repo=OWNER/NAME (default: every repository)"
        )
        parser.add_argument("--seed", help=f"the random seed (default {DEFAULT_SEED})")
        parser.add_argument(
            "--max-prs",
            help="the newest PRs per repository to simulate from (default: the preset's, else all)",
        )
        parser.add_argument(
            "--max-members", help="the most active members surveyed (default: the preset's, else all)"
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument("--delete", action="store_true", help="remove the simulated rows instead")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            self.fail(f"simulate takes no arguments, got {' '.join(args)!r}: see scrapy simulate -h")
            return
        try:
            arguments = self.arguments(opts.arguments)
            seed = whole("--seed", opts.seed)
            seed = DEFAULT_SEED if seed is None else seed
            max_prs = whole("--max-prs", opts.max_prs, 1)
            max_members = whole("--max-members", opts.max_members, 1)
            database, description = open_existing(self.settings.get("DATABASE_URL"))
        except ConfigError as exc:
            self.fail(str(exc))
            return
        if database is None:
            self.fail(f"{description} does not exist: crawl first (scrapy crawl prs -a repo=OWNER/NAME)")
            return
        try:
            targets, limits = self.targets(database, description, arguments)
            if opts.delete:
                self.delete(database, description, targets, opts.json)
                return
            max_prs = max_prs or whole("max_prs of the preset", limits.get("max_prs"), 1)
            max_members = max_members or whole("max_members of the preset", limits.get("max_members"), 1)
            self.simulate(database, description, targets, seed, max_prs, max_members, opts.json)
        except ConfigError as exc:
            self.fail(str(exc))
        finally:
            database.close()

    def arguments(self, given: list[str]) -> dict[str, str]:
        arguments = {}
        for assignment in given:
            name, equals, value = assignment.partition("=")
            if not equals or name not in ARGUMENTS:
                raise ConfigError(
                    f"-a {assignment!r}: simulate takes -a project=NAME, -a repos=A/B,C/D or -a repo=A/B"
                )
            arguments[name] = value
        return arguments

    def targets(self, database, description: str, arguments: dict) -> tuple[list[Target], dict]:
        """The repositories to simulate, each with its team, and the preset's limits."""
        known = repositories(database)
        if not known:
            raise ConfigError(
                f"{description} holds no repository yet: crawl first (scrapy crawl prs -a repo=OWNER/NAME)"
            )
        if not arguments:
            chosen = [known[name] for name in sorted(known)]
            return [Target(id_, name, Team(name, None, name)) for id_, name in chosen], {}
        path = config.value(self.settings, "PRSEED_PROJECTS_FILE") or DEFAULT_FILE
        projects = load_projects(path) if "project" in arguments else {}
        names, limits = repositories_of(arguments, projects)
        project = projects.get(arguments.get("project"))
        missing = [name for name in names if name.lower() not in known]
        if missing and (project is None or len(missing) == len(names)):
            raise ConfigError(
                f"{', '.join(missing)} not in {description}: crawl it first, or see scrapy dbstatus"
            )
        for name in missing:
            print(f"{name} (of project {project.name}) is not in {description}: skipped", file=sys.stderr)
        present = [known[name.lower()] for name in names if name not in missing]
        if project is None:
            return [Target(id_, name, Team(name, None, name)) for id_, name in present], {}
        team = Team(project.name, project.name, ",".join(project.repositories))
        return [Target(id_, name, team) for id_, name in present], {**limits, **project.simulation}

    def simulate(self, database, description, targets, seed, max_prs, max_members, as_json) -> None:
        if not any(database.pull_request_count(target.repository_id) for target in targets):
            chosen = ", ".join(target.repository for target in targets)
            raise ConfigError(f"{description} holds no pull request of {chosen}: crawl first")
        create_tables(database)
        summary = []
        for target in targets:
            simulation = simulate_repository(database, target, seed, max_prs, max_members)
            counts = (
                simulation.pull_requests,
                len(simulation.team_members),
                len(simulation.jira_issues),
                len(simulation.links),
                len(simulation.survey_responses),
                len(simulation.ai_usage),
            )
            summary.append(
                {
                    "repository": target.repository,
                    "team": target.team.name,
                    **dict(zip(COUNTS, counts, strict=True)),
                }
            )
        limits = {"max_prs": max_prs, "max_members": max_members}
        if as_json:
            print(
                json.dumps(
                    {"database": description, "seed": seed, **limits, "repositories": summary}, indent=2
                )
            )
            return
        print(f"simulated demo data in {description} (seed {seed}; invented, not crawled):")
        rows = [["repository", "team", *HEADERS]]
        rows += [
            [entry["repository"], entry["team"], *(str(entry[column]) for column in COUNTS)]
            for entry in summary
        ]
        for line in aligned(rows, left={0, 1}):
            print(line)

    def delete(self, database, description: str, targets: list[Target], as_json: bool) -> None:
        create_tables(database)
        deleted = delete_simulated(database, [target.repository_id for target in targets])
        if as_json:
            print(
                json.dumps(
                    {"database": description, "deleted": deleted, "total": sum(deleted.values())}, indent=2
                )
            )
            return
        print(f"deleted {sum(deleted.values())} simulated rows from {description} (crawled rows untouched)")
        rows = [["table", "rows"], *([name, str(count)] for name, count in deleted.items())]
        for line in aligned(rows, left={0}):
            print(line)
