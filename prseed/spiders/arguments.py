"""Spider arguments (``-a name=value``), checked before any request is made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from prseed.exceptions import ConfigError

# GitHub: owner is 1-39 alphanumerics or single hyphens; a repository name is 1-100 of [A-Za-z0-9._-].
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}$")
KNOWN = ("repo", "since", "days_back", "max_prs", "full", "refresh")
FLAG_VALUES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
# Arguments Scrapy tools (scrapyd) pass to every spider.
IGNORED = ("_job",)


@dataclass(frozen=True)
class CrawlPlan:
    """What a crawl fetches: which repositories, back to which day, how many PRs each."""

    repositories: tuple[str, ...]
    since: date | None = None
    max_prs: int | None = None
    full: bool = False  # ignore the sync watermark: fetch everything again
    refresh: bool = False  # re-fetch pages that are in the HTTP cache

    @property
    def since_timestamp(self) -> str | None:
        """``since`` as GitHub writes timestamps, so ISO strings compare in time order."""
        return None if self.since is None else f"{self.since.isoformat()}T00:00:00Z"


def _repository(value: str) -> str:
    value = value.strip()
    if value.startswith("https://github.com/"):
        value = value.removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if not REPOSITORY.match(value) or value.endswith((".", "/.", "/..")):
        raise ConfigError(
            f"-a repo={value!r} is not a repository: write OWNER/NAME, e.g. -a repo=antiwork/gumroad"
        )
    return value


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"-a {name}={value!r} must be a positive whole number, e.g. -a {name}=100")
    return number


def _since(value: str) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"-a since={value!r} is not a date: write YYYY-MM-DD, e.g. -a since=2024-01-31"
        ) from None


def _flag(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if str(value).strip().lower() not in FLAG_VALUES:
        raise ConfigError(f"-a {name}={value!r} must be 1 or 0")
    return FLAG_VALUES[str(value).strip().lower()]


def parse_arguments(today: date | None = None, **arguments: str) -> CrawlPlan:
    """Check the spider arguments and turn them into a :class:`CrawlPlan`.

    ``days_back`` is resolved to a date here, once, so every request of the run
    (and of a resumed run on the same day) has the same body.
    """
    unknown = sorted(set(arguments) - set(KNOWN) - set(IGNORED))
    if unknown:
        raise ConfigError(
            f"unknown spider argument -a {unknown[0]}=…: prseed knows -a " + ", -a ".join(KNOWN)
        )
    if not arguments.get("repo"):
        raise ConfigError("no repository given: add -a repo=OWNER/NAME, e.g. -a repo=antiwork/gumroad")
    if arguments.get("since") and arguments.get("days_back"):
        raise ConfigError("-a since and -a days_back both given: use one of them")
    since = None
    if arguments.get("since"):
        since = _since(arguments["since"])
    elif arguments.get("days_back"):
        today = today or datetime.now(UTC).date()
        since = today - timedelta(days=_positive_int("days_back", arguments["days_back"]))
    max_prs = _positive_int("max_prs", arguments["max_prs"]) if arguments.get("max_prs") else None
    return CrawlPlan(
        repositories=(_repository(arguments["repo"]),),
        since=since,
        max_prs=max_prs,
        full=_flag("full", arguments.get("full")),
        refresh=_flag("refresh", arguments.get("refresh")),
    )
