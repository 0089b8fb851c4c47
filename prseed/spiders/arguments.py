"""Spider arguments (``-a name=value``), checked before any request is made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from prseed import items, timestamps
from prseed.exceptions import ConfigError

# GitHub: owner is 1-39 alphanumerics or single hyphens; a repository name is 1-100 of [A-Za-z0-9._-].
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}$")
KNOWN = (
    "repo",
    "repos",
    "project",
    "since",
    "days_back",
    "max_prs",
    "full",
    "refresh",
    "streams",
    "environments",
)
# What -a streams= may name, in the order they are crawled.
STREAMS = (items.PULL_REQUESTS_STREAM, items.DEPLOYMENTS_STREAM, items.ISSUES_STREAM)
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
    days_back: int | None = None  # as given; ``since`` is the day it resolved to
    streams: tuple[str, ...] | None = None  # -a streams=, in crawl order; None: as the settings say
    environments: tuple[str, ...] = ()  # -a environments=: the deployments of these only

    @property
    def since_timestamp(self) -> str | None:
        """``since`` as GitHub writes timestamps, so ISO strings compare in time order."""
        return None if self.since is None else timestamps.start_of(self.since)


def repository_name(value: str) -> str | None:
    """``OWNER/NAME`` of ``value`` (a ``https://github.com/OWNER/NAME`` URL, even with
    ``.git``, names it too), or None when it names no repository."""
    name = value.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if not REPOSITORY.match(name) or name.endswith((".", "/.", "/..")):
        return None
    return name


def repository(value: str, argument: str = "-a repo") -> str:
    """``OWNER/NAME`` (a github.com URL is fine too), or a ConfigError naming ``argument``."""
    name = repository_name(value)
    if name is None:
        raise ConfigError(
            f"{argument}={value.strip()!r} is not a repository: write OWNER/NAME, "
            f"e.g. {argument}=antiwork/gumroad"
        )
    return name


def repositories_of(arguments: dict, projects) -> tuple[tuple[str, ...], dict]:
    """The repositories to crawl and the limits their preset sets."""
    given = [name for name in ("repo", "repos", "project") if arguments.get(name)]
    if not given:
        raise ConfigError(
            "no repository given: add -a repo=OWNER/NAME, -a repos=A/B,C/D or -a project=NAME "
            "(see scrapy projects)"
        )
    if len(given) > 1:
        raise ConfigError(f"-a {given[0]} and -a {given[1]} both given: use one of them")
    if given[0] == "repo":
        return (repository(arguments["repo"]),), {}
    if given[0] == "repos":
        names = [name for name in arguments["repos"].split(",") if name.strip()]
        chosen = tuple(dict.fromkeys(repository(name, "-a repos") for name in names))
        if not chosen:
            raise ConfigError("-a repos= names no repository: write -a repos=OWNER/NAME,OWNER/NAME")
        return chosen, {}
    project = (projects or {}).get(arguments["project"])
    if project is None:
        known = ", ".join(sorted(projects or {})) or "none"
        raise ConfigError(
            f"unknown project {arguments['project']!r}: known projects are {known} (scrapy projects)"
        )
    return tuple(repository(name, f"project {project.name}") for name in project.repositories), project.limits


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


def _names(name: str, value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in str(value).split(",") if part.strip()))
    if not names:
        raise ConfigError(f"-a {name}={value!r} names nothing: write -a {name}=A,B")
    return names


def _streams(value: str) -> tuple[str, ...]:
    names = _names("streams", value)
    unknown = [name for name in names if name not in STREAMS]
    if unknown:
        raise ConfigError(f"-a streams: unknown stream {unknown[0]!r}; prseed crawls " + ", ".join(STREAMS))
    return tuple(name for name in STREAMS if name in names)


def _flag(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if str(value).strip().lower() not in FLAG_VALUES:
        raise ConfigError(f"-a {name}={value!r} must be 1 or 0")
    return FLAG_VALUES[str(value).strip().lower()]


def parse_arguments(
    projects: dict | None = None, today: date | None = None, worker: bool = False, **arguments: str
) -> CrawlPlan:
    """Check the spider arguments and turn them into a :class:`CrawlPlan`.

    ``days_back`` is resolved to a date here, once, so every request of the run
    (and of a resumed run on the same day) has the same body. A ``worker`` of a
    distributed crawl takes its repositories from Redis, so it is given none.
    """
    unknown = sorted(set(arguments) - set(KNOWN) - set(IGNORED))
    if unknown:
        raise ConfigError(
            f"unknown spider argument -a {unknown[0]}=…: prseed knows -a " + ", -a ".join(KNOWN)
        )
    if worker:
        given = next((name for name in ("repo", "repos", "project") if arguments.get(name)), None)
        if given is not None:
            raise ConfigError(
                f"-a {given} with PRSEED_REDIS_URL: a worker takes its repositories from Redis; "
                "queue them with scrapy enqueue OWNER/NAME (or scrapy enqueue -a project=NAME)"
            )
        repositories, limits = (), {}
    else:
        repositories, limits = repositories_of(arguments, projects)
    if arguments.get("since") or arguments.get("days_back"):  # the command line's window wins whole
        limits = {key: value for key, value in limits.items() if key not in ("since", "days_back")}
    arguments = {**limits, **{key: value for key, value in arguments.items() if value}}
    if arguments.get("since") and arguments.get("days_back"):
        raise ConfigError("-a since and -a days_back both given: use one of them")
    since = days_back = None
    if arguments.get("since"):
        since = _since(arguments["since"])
    elif arguments.get("days_back"):
        today = today or datetime.now(UTC).date()
        days_back = _positive_int("days_back", arguments["days_back"])
        since = today - timedelta(days=days_back)
    max_prs = _positive_int("max_prs", arguments["max_prs"]) if arguments.get("max_prs") else None
    return CrawlPlan(
        repositories=repositories,
        since=since,
        max_prs=max_prs,
        full=_flag("full", arguments.get("full")),
        refresh=_flag("refresh", arguments.get("refresh")),
        days_back=days_back,
        streams=_streams(arguments["streams"]) if arguments.get("streams") else None,
        environments=_names("environments", arguments["environments"])
        if arguments.get("environments")
        else (),
    )
