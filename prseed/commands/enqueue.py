"""``scrapy enqueue``: feed repositories to the workers of a distributed crawl."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prseed import config
from prseed.cli import PrseedCommand
from prseed.distributed import RepositoryQueue, check_redis
from prseed.exceptions import ConfigError
from prseed.projects import load_projects
from prseed.spiders.arguments import repositories_of
from prseed.spiders.arguments import repository as checked_repository
from prseed.texttables import aligned
from prseed.urls import without_password

if TYPE_CHECKING:
    import argparse


class Command(PrseedCommand):
    def syntax(self) -> str:
        return "[OWNER/NAME ...] [-a project=NAME | -a repos=A/B,C/D] [--list]"

    def short_desc(self) -> str:
        return "Queue repositories for the workers of a distributed crawl (PRSEED_REDIS_URL)"

    def long_desc(self) -> str:
        return (
            "Add repositories to the shared queue in Redis that workers (scrapy crawl prs "
            "-s PRSEED_REDIS_URL=...) take them from, one at a time. A repository already "
            "queued or being crawled is not queued twice. --list shows the queue and who "
            "crawls what."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-a",
            dest="arguments",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="repo=, repos= or project=, as scrapy crawl prs takes them",
        )
        parser.add_argument("--list", action="store_true", help="show the queue and the active repositories")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            url = config.value(self.settings, "PRSEED_REDIS_URL")
            if not url:
                raise ConfigError("PRSEED_REDIS_URL is not set: add -s PRSEED_REDIS_URL=redis://HOST:6379/0")
            repositories = self.repositories(args, opts)
            check_redis(self.settings)
        except ConfigError as exc:
            self.fail(str(exc))
            return
        queue = RepositoryQueue.from_settings(self.settings)
        if repositories:
            added = queue.enqueue(list(repositories))
            skipped = len(repositories) - added
            print(
                f"queued {added} repositories on {without_password(url)}"
                + (f" ({skipped} already queued or being crawled)" if skipped else "")
                + f"; {len(queue.waiting())} waiting for a worker"
            )
        if opts.list:
            self.show(queue)

    def repositories(self, args: list[str], opts: argparse.Namespace) -> tuple[str, ...]:
        """The repositories named on the command line, or by -a as for scrapy crawl prs."""
        arguments = dict(argument.partition("=")[::2] for argument in opts.arguments)
        unknown = sorted(set(arguments) - {"repo", "repos", "project"})
        if unknown:
            raise ConfigError(f"-a {unknown[0]}: enqueue takes -a repo=, -a repos= or -a project=")
        if args and arguments:
            raise ConfigError("repositories and -a both given: use one of them")
        if arguments:
            projects = load_projects(config.value(self.settings, "PRSEED_PROJECTS_FILE"))
            return repositories_of(arguments, projects)[0]
        if not args and not opts.list:
            raise ConfigError("no repository given: scrapy enqueue OWNER/NAME [...] or -a project=NAME")
        return tuple(dict.fromkeys(checked_repository(name, "repository") for name in args))

    @staticmethod
    def show(queue: RepositoryQueue) -> None:
        rows = [["repository", "state", "worker"]]
        for repository, worker in sorted(queue.active().items()):
            state = "crawling" if queue.alive(worker) else "orphaned (worker gone; next idle worker takes it)"
            rows.append([repository, state, worker])
        rows.extend([repository, "queued", "-"] for repository in queue.waiting())
        if len(rows) == 1:
            print("no repository queued or being crawled")
            return
        for line in aligned(rows, left={0, 1, 2}):
            print(line)
