"""What prseed's commands share: how they report errors, and their base class.

It lives outside ``prseed.commands`` because Scrapy takes every command class found
there for a command."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand

EXIT_USAGE = 2


def print_error(message: str) -> None:
    """The one line a user mistake or a failure is reported with."""
    print(f"prseed: error: {message}", file=sys.stderr)


class PrseedCommand(ScrapyCommand):
    """A command that reads the project's settings and needs no crawler."""

    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    @staticmethod
    def add_spider_arguments(parser, help: str) -> None:
        """``-a NAME=VALUE``, as ``scrapy crawl prs`` takes them (collected in ``arguments``)."""
        parser.add_argument(
            "-a", dest="arguments", action="append", default=[], metavar="NAME=VALUE", help=help
        )

    def fail(self, message: str, code: int = EXIT_USAGE) -> None:
        print_error(message)
        self.exitcode = code
