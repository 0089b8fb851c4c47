"""``scrapy enqueue``: feed repositories to the workers of a distributed crawl."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prseed import config
from prseed.cli import PrseedCommand
from prseed.distributed import RepositoryQueue, check_redis
from prseed.distributed.known import read_known_repositories
from prseed.distributed.priority import MANUAL, SWEEP, entry
from prseed.exceptions import ConfigError
from prseed.projects import load_projects
from prseed.spiders.arguments import repositories_of
from prseed.spiders.arguments import repository as checked_repository
from prseed.texttables import aligned
from prseed.urls import without_password
from prseed.webhooks import delivery_counts

if TYPE_CHECKING:
    import argparse

SWEEP_BY = "scrapy enqueue --sweep"
MANUAL_BY = "scrapy enqueue"


class Command(PrseedCommand):
    def syntax(self) -> str:
        return "[OWNER/NAME ...] [-a project=NAME | -a repos=A/B,C/D | --sweep] [--list]"

    def short_desc(self) -> str:
        return "Queue repositories for the workers of a distributed crawl (PRSEED_REDIS_URL)"

    def long_desc(self) -> str:
        return (
            "Add repositories to the shared queue in Redis that workers (scrapy crawl prs "
            "-s PRSEED_REDIS_URL=...) take them from, one at a time. The queue is ordered by class "
            "(a repository a stopped worker handed back, then webhook deliveries, then scrapy enqueue, "
            "then --sweep) and, within a class, the most recently pushed first (the newest PR update "
            "DATABASE_URL knows of, else the enqueue time). A repository already queued is not queued "
            "twice; one being crawled is queued again once that crawl ends. --sweep queues every "
            "repository the database knows (a cron job's sync). --list shows the order and why."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        self.add_spider_arguments(parser, "repo=, repos= or project=, as scrapy crawl prs takes them")
        parser.add_argument(
            "--sweep", action="store_true", help="queue every repository the database knows, last in line"
        )
        parser.add_argument(
            "--list", action="store_true", help="show the queue's order and why, and who crawls what"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            url = config.value(self.settings, "PRSEED_REDIS_URL")
            if not url:
                raise ConfigError("PRSEED_REDIS_URL is not set: add -s PRSEED_REDIS_URL=redis://HOST:6379/0")
            repositories = self.repositories(args, opts)
            activity = {}
            if repositories or opts.sweep:
                database = config.value(self.settings, "DATABASE_URL")
                activity = read_known_repositories(database)
            if opts.sweep:
                repositories = tuple(activity)
                if not repositories:
                    raise ConfigError(
                        f"--sweep: the database ({without_password(database)}) knows no "
                        "repository yet: queue them by name first"
                    )
            check_redis(self.settings)
        except ConfigError as exc:
            self.fail(str(exc))
            return
        queue = RepositoryQueue.from_settings(self.settings)
        if repositories:
            priority, by = (SWEEP, SWEEP_BY) if opts.sweep else (MANUAL, MANUAL_BY)
            now = time.time()
            entries = [entry(name, priority, by, activity=activity, now=now) for name in repositories]
            outcomes = queue.add(entries)
            print(self.summary(outcomes, queue, url))
        if opts.list:
            self.show(queue)

    @staticmethod
    def summary(outcomes: list[str], queue: RepositoryQueue, url: str) -> str:
        skipped = outcomes.count("kept") + outcomes.count("crawling")
        notes = [
            f"{outcomes.count('raised')} moved up the queue" if "raised" in outcomes else "",
            f"{skipped} already queued or being crawled" if skipped else "",
            f"{outcomes.count('dirty')} being crawled, queued again once that crawl ends"
            if "dirty" in outcomes
            else "",
        ]
        notes = [note for note in notes if note]
        return (
            f"queued {outcomes.count('queued')} repositories on {without_password(url)}"
            + (f" ({'; '.join(notes)})" if notes else "")
            + f"; {len(queue.waiting())} waiting for a worker"
        )

    def repositories(self, args: list[str], opts: argparse.Namespace) -> tuple[str, ...]:
        """The repositories named on the command line, or by -a as for scrapy crawl prs."""
        arguments = dict(argument.partition("=")[::2] for argument in opts.arguments)
        unknown = sorted(set(arguments) - {"repo", "repos", "project"})
        if unknown:
            raise ConfigError(f"-a {unknown[0]}: enqueue takes -a repo=, -a repos= or -a project=")
        if args and arguments:
            raise ConfigError("repositories and -a both given: use one of them")
        if opts.sweep and (args or arguments):
            raise ConfigError("--sweep queues every repository the database knows: name none")
        if arguments:
            projects = load_projects(config.value(self.settings, "PRSEED_PROJECTS_FILE"))
            return repositories_of(arguments, projects)[0]
        if not args and not opts.list and not opts.sweep:
            raise ConfigError("no repository given: scrapy enqueue OWNER/NAME [...] or -a project=NAME")
        return tuple(dict.fromkeys(checked_repository(name, "repository") for name in args))

    def show(self, queue: RepositoryQueue) -> None:
        """The order workers take repositories in, and why; then those being crawled."""
        rows = [["#", "repository", "state", "why"]]
        active, taken = queue.active(), queue.entries(queue.active_key)
        orphaned = sorted(repository for repository, worker in active.items() if not queue.alive(worker))
        for repository in orphaned:
            why = taken.get(repository)
            state = f"orphaned: worker {active[repository]} is gone; taken over first"
            rows.append([str(len(rows)), repository, state, why.describe() if why else "-"])
        queued = queue.entries(queue.queue_key)
        for repository in queue.waiting():
            why = queued.get(repository)
            rows.append([str(len(rows)), repository, "queued", why.describe() if why else "-"])
        dirty = queue.dirty()
        for repository, worker in sorted(active.items()):
            if repository in orphaned:
                continue
            state = f"crawling ({worker})" + ("; queued again when done" if repository in dirty else "")
            why = taken.get(repository)
            rows.append(["", repository, state, why.describe() if why else "-"])
        if len(rows) == 1:
            print("no repository queued or being crawled")
        else:
            for line in aligned(rows, left={1, 2, 3}):
                print(line)
        counts = delivery_counts(queue)
        if counts:
            print("webhook deliveries: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
