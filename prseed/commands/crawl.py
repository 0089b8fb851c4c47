"""``scrapy crawl``, with prseed's checks before the first request and an honest exit code."""

from __future__ import annotations

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from prseed.cli import EXIT_USAGE, print_error
from prseed.exceptions import ConfigError
from prseed.preflight import preflight

EXIT_INCOMPLETE = 1


def crawl_problem(stats: dict) -> str | None:
    """Why a finished crawl did not fetch everything it set out to, or None."""
    reason = stats.get("finish_reason")
    failed = stats.get("prseed/pages_failed", 0)
    missing = stats.get("prseed/repositories_failed", 0)
    rejected = stats.get("prseed/db/first_rejected_row")
    if rejected is not None:
        return (
            f"the database rejected a {rejected}: fix the database (or prseed), then run the same "
            "command again to fetch that pull request"
        )
    if reason == "finished" and not failed and not missing:
        return None
    problem = f"crawl did not complete (finish reason: {reason}"
    if missing:
        problem += f", {missing} repositories not found"
    if failed:
        problem += f", {failed} pages failed"
    return problem + "); see the log above, then run the same command again"


class Command(ScrapyCrawlCommand):
    """A user mistake is one line on stderr and exit code 2, before any request; a crawl
    that closed for any reason but ``finished``, or lost pages, exits with 1."""

    crawler = None

    def _create_crawler(self, spidercls):
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args, opts) -> None:
        if len(args) == 1:
            spidercls = self.crawler_process.spider_loader.load(args[0])
            try:
                preflight(spidercls, self.settings, opts.spargs)
            except ConfigError as exc:
                print_error(str(exc))
                self.exitcode = EXIT_USAGE
                return
        super().run(args, opts)
        if self.exitcode == 0 and self.crawler is not None:
            problem = crawl_problem(self.crawler.stats.get_stats())
            if problem:
                print_error(problem)
                self.exitcode = EXIT_INCOMPLETE
