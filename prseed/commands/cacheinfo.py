"""``scrapy cacheinfo``: what the HTTP cache of the ``prs`` spider holds, per repository."""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from time import time
from typing import TYPE_CHECKING, Any

from prseed.cli import PrseedCommand
from prseed.extensions.httpcache import UNKNOWN, Entry, cache_entries, spider_cache_dir
from prseed.spiders.arguments import repository_name
from prseed.texttables import aligned
from prseed.timestamps import day_and_time, from_epoch

if TYPE_CHECKING:
    import argparse

SPIDER = "prs"
STALE_DAYS = 7


@dataclass(frozen=True)
class RepositorySummary:
    repository: str
    pages: int
    size: int
    oldest: float
    newest: float

    def stale(self, now: float) -> bool:
        return now - self.oldest > STALE_DAYS * 86400

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "pages": self.pages,
            "bytes": self.size,
            "oldest": from_epoch(self.oldest),
            "newest": from_epoch(self.newest),
            "stale": self.stale(now),
        }


def table_utc(epoch: float) -> str:
    return day_and_time(epoch, zone=False)  # the header names the zone


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def summarise(entries: list[Entry]) -> list[RepositorySummary]:
    """One summary per repository, by name, ``(unknown)`` last."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.repository, []).append(entry)
    ordered = sorted(groups.items(), key=lambda item: (item[0] == UNKNOWN, item[0].lower()))
    return [
        RepositorySummary(
            repository=repository,
            pages=len(group),
            size=sum(entry.size for entry in group),
            oldest=min(entry.timestamp for entry in group),
            newest=max(entry.timestamp for entry in group),
        )
        for repository, group in ordered
    ]


def render_table(summaries: list[RepositorySummary]) -> list[str]:
    rows = [
        [s.repository, str(s.pages), human_size(s.size), table_utc(s.oldest), table_utc(s.newest)]
        for s in summaries
    ]
    if len(summaries) > 1:
        rows.append(
            [
                "total",
                str(sum(s.pages for s in summaries)),
                human_size(sum(s.size for s in summaries)),
                table_utc(min(s.oldest for s in summaries)),
                table_utc(max(s.newest for s in summaries)),
            ]
        )
    header = ["repository", "pages", "size", "oldest (UTC)", "newest (UTC)"]
    return aligned([header, *rows], left={0, 3, 4})


def stale_warning(repository: str) -> str:
    return (
        f"warning: {repository}: stale: entries older than {STALE_DAYS} days; re-fetch with -a refresh=1 "
        f"or `scrapy cacheinfo --delete {shlex.quote(repository)}`"
    )


def delete_entries(entries: list[Entry]) -> int:
    """Remove the entries' directories (and a fingerprint-prefix directory left empty)."""
    deleted = 0
    for entry in entries:
        try:
            shutil.rmtree(entry.path)
        except FileNotFoundError:
            continue
        deleted += 1
        try:
            entry.path.parent.rmdir()
        except OSError:
            pass  # other entries share the prefix
    return deleted


def parse_repository(value: str) -> str | None:
    """``OWNER/NAME`` as ``-a repo=`` takes it, ``(unknown)``, or None if neither."""
    return UNKNOWN if value.strip() == UNKNOWN else repository_name(value)


class Command(PrseedCommand):
    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Show (or delete) what the HTTP cache holds, per repository"

    def long_desc(self) -> str:
        return (
            f"Show the HTTP cache of the {SPIDER} spider (HTTPCACHE_DIR) per repository: cached pages, "
            f"size on disk, oldest and newest entry (UTC), and a warning for a repository with entries "
            f"older than {STALE_DAYS} days. --delete OWNER/NAME removes that repository's entries."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--delete",
            metavar="OWNER/NAME",
            help=f"delete the cached pages of a repository ({UNKNOWN} for entries without one)",
        )
        parser.add_argument("--json", action="store_true", help="print the same data as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            self.fail(f"cacheinfo takes no arguments, got {' '.join(args)!r}: see scrapy cacheinfo -h")
            return
        target = None
        if opts.delete is not None:
            target = parse_repository(opts.delete)
            if target is None:
                self.fail(
                    f"--delete {opts.delete!r} is not a repository: write OWNER/NAME, "
                    "e.g. --delete antiwork/gumroad"
                )
                return
        spider_dir = spider_cache_dir(self.settings, SPIDER)
        entries = cache_entries(spider_dir)
        if not entries and not opts.json:
            print(f"no HTTP cache at {spider_dir}: run a crawl with -s HTTPCACHE_ENABLED=1 first")
            return
        if target is not None:
            self.delete(spider_dir, entries, target, opts.json)
        else:
            self.show(spider_dir, entries, opts.json)

    def delete(self, spider_dir: Path, entries: list[Entry], target: str, as_json: bool) -> None:
        matching = [entry for entry in entries if entry.repository.lower() == target.lower()]
        deleted = delete_entries(matching)
        if as_json:
            print(json.dumps({"cache_dir": str(spider_dir), "repository": target, "deleted": deleted}))
        else:
            pages = "page" if deleted == 1 else "pages"
            print(f"deleted {deleted} cached {pages} of {target} from {spider_dir}")

    def show(self, spider_dir: Path, entries: list[Entry], as_json: bool) -> None:
        now = time()
        summaries = summarise(entries)
        if as_json:
            document = {
                "cache_dir": str(spider_dir),
                "stale_after_days": STALE_DAYS,
                "repositories": [summary.as_json(now) for summary in summaries],
            }
            print(json.dumps(document, indent=2))
            return
        print(f"HTTP cache of spider {SPIDER}: {spider_dir}")
        for line in render_table(summaries):
            print(line)
        for summary in summaries:
            if summary.stale(now):
                print(stale_warning(summary.repository))
