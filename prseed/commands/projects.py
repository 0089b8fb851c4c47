"""``scrapy projects``: the presets ``-a project=NAME`` can crawl."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prseed import config
from prseed.cli import PrseedCommand
from prseed.exceptions import ConfigError
from prseed.projects import DEFAULT_FILE, LIMITS, load_projects
from prseed.texttables import aligned

if TYPE_CHECKING:
    import argparse


class Command(PrseedCommand):
    def syntax(self) -> str:
        return ""

    def short_desc(self) -> str:
        return "List the project presets, their repositories and limits"

    def long_desc(self) -> str:
        return (
            "List the presets of PRSEED_PROJECTS_FILE (prseed's own file when unset): each one's "
            "repositories and limits (max_prs, since, days_back). Crawl one with "
            "scrapy crawl prs -a project=NAME."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            self.fail(f"projects takes no arguments, got {' '.join(args)!r}: see scrapy projects -h")
            return
        path = config.value(self.settings, "PRSEED_PROJECTS_FILE") or DEFAULT_FILE
        try:
            projects = load_projects(path)
        except ConfigError as exc:
            self.fail(str(exc))
            return
        if not projects:
            print(f"no project presets in {path}")
            return
        print(f"project presets in {path} (crawl one with scrapy crawl prs -a project=NAME):")
        rows = [["project", "repositories", *LIMITS]]
        for project in projects.values():
            limits = [project.limits.get(limit, "-") for limit in LIMITS]
            rows.append([project.name, ", ".join(project.repositories), *limits])
        for line in aligned(rows, left={0, 1}):
            print(line)
