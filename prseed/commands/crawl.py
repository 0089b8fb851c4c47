"""``scrapy crawl``, with prseed's checks before the first request and an honest exit code."""

from __future__ import annotations

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.spiderloader import get_spider_loader

from prseed.cli import EXIT_USAGE, print_error
from prseed.exceptions import ConfigError
from prseed.outcome import last_line
from prseed.preflight import preflight

EXIT_INCOMPLETE = 1


class Command(ScrapyCrawlCommand):
    """A user mistake is one line on stderr and exit code 2, before any request and before
    Scrapy's banner; a crawl that closed for any reason but ``finished``, or lost pages,
    exits with 1 and ends with a line that says why (:mod:`prseed.outcome`)."""

    crawler = None

    def process_options(self, args, opts) -> None:
        """Check everything once the settings are complete: Scrapy's command line logs its
        banner as soon as this returns, and a mistake should be the only thing said."""
        super().process_options(args, opts)
        if len(args) != 1:
            return  # run() says how to call crawl
        try:
            loader = get_spider_loader(self.settings)
            try:
                spidercls = loader.load(args[0])
            except KeyError:
                spiders = ", ".join(sorted(loader.list()))
                problem = f"no spider named {args[0]!r}: this project's spiders are {spiders}"
                raise ConfigError(problem) from None
            preflight(spidercls, self.settings, opts.spargs)
        except ConfigError as exc:
            print_error(str(exc))
            raise SystemExit(EXIT_USAGE) from None

    def _create_crawler(self, spidercls):
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args, opts) -> None:
        super().run(args, opts)
        if self.exitcode == 0 and self.crawler is not None:
            problem = last_line(self.crawler.stats.get_stats())
            if problem:
                print_error(problem)
                self.exitcode = EXIT_INCOMPLETE
