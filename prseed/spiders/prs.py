"""The ``prs`` spider: every pull request of a repository, with everything hanging off it.

How a crawl survives interruptions (see "Resume" in the README): every request is a node
of a tree (a PR page leads to the next page and to follow-up pages of its PRs), so none
is ever a duplicate and all are sent with ``dont_filter``.  Progress is kept in the
database, in the same transactions as the rows: ``sync_state`` holds the cursor of the
next PR page, and a PR row stays ``complete = false`` until its last nested page is
written.  A crawl that starts where another stopped continues the PR list from that
cursor and fetches incomplete PRs again by node id, whatever happened to the process.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import JsonRequest, Request

from prseed import items, meta, outcome
from prseed.config import check_settings
from prseed.db import open_database
from prseed.distributed import Worker, check_redis, check_worker_name
from prseed.exceptions import ConfigError
from prseed.extensions.httpcache import missing_page_reason
from prseed.graphql import records
from prseed.graphql.queries import (
    CONNECTIONS,
    PULL_REQUEST_CONNECTIONS,
    follow_up_query,
    pull_request_page_query,
    pull_requests_by_id_query,
)
from prseed.projects import load_projects
from prseed.signals import repository_stopped
from prseed.spiders.arguments import parse_arguments

logger = logging.getLogger(__name__)

# Page size grows back (doubling) after this many good pages in a row.
GROW_AFTER = 5
# Follow-ups finish PRs already started before new pages start more PRs, so
# memory and the database stay close to the crawl.
FOLLOW_UP_PRIORITY = 10
DATABASE_PIPELINE = "prseed.pipelines.database.DatabasePipeline"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shifted(timestamp: str, seconds: float) -> str:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def request_variables(request) -> dict:
    return json.loads(request.body)["variables"]


def graphql_errors(payload: dict) -> list[dict]:
    return payload.get("errors") or []


def error_types(payload: dict) -> set[str]:
    return {error.get("type") for error in graphql_errors(payload)}


def describe_errors(payload: dict) -> str:
    return "; ".join(
        f"{error.get('type', 'ERROR')}: {error.get('message', '')}" for error in graphql_errors(payload)
    )


@dataclass
class Run:
    """One repository's crawl: what the database's ``sync_state`` row says, plus the
    follow-up pages still outstanding per PR (kept in JOBDIR's spider state on pause)."""

    repository: str
    repository_id: str | None
    newest_seen: str | None  # the watermark before this crawl
    synced_at: str | None
    started_at: str
    since: str | None
    newest: str | None = None
    cursor: str | None = None
    fetched: int = 0
    listed: bool = False
    refetching: int = 0  # by-id requests outstanding
    pending: dict[str, int] = field(default_factory=dict)  # PR id -> follow-ups outstanding
    broken: set[str] = field(default_factory=set)  # PRs with a page that failed
    failed: bool = False
    finished: bool = False
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows fetched in this process
    # What the database holds below the watermark (see SyncState), as this crawl will record it.
    covered_since: str | None = None
    history_complete: bool | None = None
    backfill_cursor: str | None = None
    backfill: bool = False  # listing below covered_since, after the newest PRs
    known_pull_requests: int = 0  # in the database when the crawl began

    @property
    def state(self) -> str:
        if self.finished:
            return "complete"
        if self.failed:
            return "failed"
        return "completing PRs" if self.listed else "listing PRs"

    @classmethod
    def from_database(cls, state: items.SyncState) -> Run:
        return cls(
            repository=state.repository,
            repository_id=state.repository_id,
            newest_seen=state.newest_seen,
            synced_at=state.synced_at,
            started_at=state.run_started_at,
            since=state.run_since,
            newest=state.run_newest,
            cursor=state.run_cursor,
            fetched=state.run_fetched or 0,
            listed=bool(state.run_listed),
            covered_since=state.covered_since,
            history_complete=state.history_complete,
            backfill_cursor=state.backfill_cursor,
            backfill=bool(state.run_backfill),
        )

    @property
    def coverage_unknown(self) -> bool:
        """Synced by an older prseed, which did not record what its crawls covered."""
        return self.newest_seen is not None and self.history_complete is None and self.covered_since is None

    def coverage(self) -> dict:
        return {
            "covered_since": self.covered_since,
            "history_complete": self.history_complete,
            "backfill_cursor": self.backfill_cursor,
        }

    def progress(self) -> items.SyncState:
        return items.SyncState(
            repository=self.repository,
            repository_id=self.repository_id,
            newest_seen=self.newest_seen,
            synced_at=self.synced_at,
            run_started_at=self.started_at,
            run_since=self.since,
            run_newest=self.newest,
            run_cursor=self.cursor,
            run_fetched=self.fetched,
            run_listed=self.listed,
            run_backfill=self.backfill,
            **self.coverage(),
        )

    def completed(self) -> items.SyncState:
        newest = max(filter(None, (self.newest_seen, self.newest)), default=None)
        return items.SyncState(self.repository, self.repository_id, newest, utc_now(), **self.coverage())


class PullRequestsSpider(scrapy.Spider):
    """``scrapy crawl prs -a repo=OWNER/NAME [-a since=YYYY-MM-DD | -a days_back=N] [-a max_prs=N]
    [-a full=1]``"""

    name = "prs"

    def __init__(self, **arguments: str) -> None:
        self.runs: dict[str, Run] = {}
        self.missing: set[str] = set()  # repositories GitHub does not know
        super().__init__()

    @staticmethod
    def check(settings, arguments: dict) -> dict:
        """Check spider arguments and how the spider's settings fit together (each setting
        on its own: :func:`prseed.config.check_settings`); return what the spider needs."""
        worker = bool(settings.get("PRSEED_REDIS_URL"))
        plan = parse_arguments(
            load_projects(settings.get("PRSEED_PROJECTS_FILE")), worker=worker, **arguments
        )
        if worker:
            if settings.get("JOBDIR"):
                raise ConfigError(
                    "JOBDIR and PRSEED_REDIS_URL both set: a worker keeps no JOBDIR (Redis and the "
                    "database carry a stopped crawl); drop -s JOBDIR"
                )
            if str(settings.get("DATABASE_URL")).startswith("sqlite"):
                raise ConfigError(
                    "PRSEED_REDIS_URL with a SQLite DATABASE_URL: workers need one database they all "
                    "reach; set DATABASE_URL=postgresql://user:password@host/dbname"
                )
            check_redis(settings)
            check_worker_name(settings)
        page_size = settings.getint("PRSEED_PAGE_SIZE")
        min_page_size = settings.getint("PRSEED_MIN_PAGE_SIZE")
        if min_page_size > page_size:
            raise ConfigError(
                f"PRSEED_MIN_PAGE_SIZE={min_page_size} is more than PRSEED_PAGE_SIZE={page_size}: "
                "lower it or raise PRSEED_PAGE_SIZE"
            )
        return {
            "plan": plan,
            "page_size": page_size,
            "min_page_size": min_page_size,
            "check_runs": settings.get("PRSEED_CHECK_RUNS"),
        }

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        check_settings(settings)
        crawler.signals.connect(spider.close_if_missing, signal=signals.spider_idle)
        spider.endpoint = settings.get("GITHUB_GRAPHQL_URL")
        for name, value in cls.check(settings, kwargs).items():
            setattr(spider, name, value)
        spider.database_url = settings.get("DATABASE_URL")
        spider.worker = None  # the Worker extension, in a distributed crawl (set at start)
        spider.syncing = settings.getdict("ITEM_PIPELINES").get(DATABASE_PIPELINE) is not None
        spider.overlap = settings.getfloat("PRSEED_SYNC_OVERLAP_SECONDS")
        spider.page_sizes = {}  # repository -> page size now, after GitHub said a page was too heavy
        spider.good_pages = {}  # repository -> good pages in a row since the last reduction
        spider.page_query = pull_request_page_query(spider.check_runs)
        spider.by_id_query = pull_requests_by_id_query(spider.check_runs)
        spider.follow_up_queries = {
            name: follow_up_query(connection, spider.check_runs) for name, connection in CONNECTIONS.items()
        }
        return spider

    # --- starting or resuming each repository's crawl -----------------------------------

    async def start(self):
        self.worker = self.crawler.get_extension(Worker)
        if self.worker is not None:
            while (repository := await self.worker.next_repository(self.unfinished)) is not None:
                for output in self.begin_all([repository]):
                    yield output
            return
        state = getattr(self, "state", None)  # JOBDIR's spider state, when there is a JOBDIR
        if state is not None:
            self.runs = state.setdefault("runs", self.runs)
            for repository, run in self.runs.items():
                run.rows = {}  # the summary and the stats count what this process fetched
                logger.info("%s: resuming from JOBDIR's request queue", repository)
        if self.plan.days_back is not None:
            logger.info("-a days_back=%d: PRs updated since %s", self.plan.days_back, self.plan.since)
        for output in self.begin_all([name for name in self.plan.repositories if name not in self.runs]):
            yield output

    def begin_all(self, repositories: list[str]):
        """The first requests of each repository's crawl, after asking the database where it stands."""
        database = open_database(self.database_url) if self.syncing else None
        try:
            for repository in repositories:
                saved = database.sync_state(repository) if database else None
                yield from self.begin(repository, saved, database)
        finally:
            if database is not None:
                database.close()

    def unfinished(self) -> int:
        """Repositories this process is still crawling."""
        return sum(not run.finished and not run.failed for run in self.runs.values())

    def begin(self, repository: str, saved: items.SyncState | None, database):
        """The first requests of a repository's crawl: a new one, or the one the database
        says was interrupted.  Either way, PRs the database holds incomplete (a page lost,
        a row rejected) are fetched again by id."""
        since = self.plan.since_timestamp
        known = saved is not None and saved.repository_id is not None
        incomplete = database.incomplete_pull_requests(saved.repository_id) if known else []
        interrupted = saved is not None and saved.run_started_at is not None and not self.plan.full
        # an interrupted listing that stops where this crawl asks, or later, is continued:
        # what lies below it is back-filled afterwards
        if interrupted and (since is None or saved.run_backfill or (saved.run_since or "") >= since):
            run = self.runs[repository] = Run.from_database(saved)
            if run.backfill:  # a back-fill goes down to what this crawl asks for
                run.since = since
            logger.info(
                "%s: continuing the crawl interrupted at %d PRs (%d to fetch again)",
                repository,
                run.fetched,
                len(incomplete),
            )
        else:
            run = self.runs[repository] = self.new_run(repository, saved)
            if known and run.coverage_unknown:
                run.known_pull_requests = database.pull_request_count(saved.repository_id)
            if incomplete:
                logger.info("%s: fetching %d incomplete PRs again", repository, len(incomplete))
        for start in range(0, len(incomplete), self.page_size):
            run.refetching += 1
            yield self.by_id_request(repository, incomplete[start : start + self.page_size])
        if not run.listed:
            yield self.pull_request_page(repository, run.cursor, run.fetched)
        yield from self.finish_if_done(run)  # interrupted after its last page was written

    def new_run(self, repository: str, saved: items.SyncState | None) -> Run:
        """A crawl lists the newest PRs down to the watermark (less the overlap), or down
        to ``since`` when that is later; what lies below what earlier crawls covered is
        back-filled afterwards (see :meth:`listing_ended`)."""
        since = self.plan.since_timestamp
        run = Run(repository, None, None, None, started_at=utc_now(), since=since)
        if saved is None:
            return run
        run.repository_id, run.newest_seen, run.synced_at = (
            saved.repository_id,
            saved.newest_seen,
            saved.synced_at,
        )
        run.covered_since, run.history_complete = saved.covered_since, saved.history_complete
        run.backfill_cursor = saved.backfill_cursor
        if self.plan.full or saved.newest_seen is None:
            return run
        top = shifted(saved.newest_seen, -self.overlap)
        if since is None or since < top:
            run.since = top
            logger.info("%s: fetching PRs updated since %s (the last sync)", repository, top)
        return run

    # --- requests -----------------------------------------------------------------------

    def graphql_request(
        self, query: str, variables: dict, callback, operation: str, repository: str, **kwargs
    ) -> JsonRequest:
        request_meta = {meta.OPERATION: operation, meta.REPOSITORY: repository}
        if self.plan.refresh:
            request_meta[meta.REFRESH_CACHE] = True
        return JsonRequest(
            self.endpoint,
            data={"query": query, "variables": variables},
            callback=callback,
            errback=self.request_failed,
            meta=request_meta,
            dont_filter=True,
            **kwargs,
        )

    def pull_request_page(self, repository: str, after: str | None, fetched: int):
        page_size = self.page_sizes.get(repository, self.page_size)
        if self.plan.max_prs is not None:
            page_size = min(page_size, self.plan.max_prs - fetched)
        owner, name = repository.split("/")
        variables = {"owner": owner, "name": name, "pageSize": page_size, "after": after}
        return self.graphql_request(
            self.page_query,
            variables,
            self.parse_pull_request_page,
            operation="PullRequestPage",
            repository=repository,
            cb_kwargs={"repository": repository, "fetched": fetched},
        )

    def by_id_request(self, repository: str, ids: list[str]):
        return self.graphql_request(
            self.by_id_query,
            {"ids": ids},
            self.parse_by_id,
            operation="PullRequestsById",
            repository=repository,
            priority=FOLLOW_UP_PRIORITY,
            cb_kwargs={"repository": repository},
        )

    # --- pull-request pages -------------------------------------------------------------

    def parse_pull_request_page(self, response, repository: str, fetched: int):
        payload = response.json()
        variables = request_variables(response.request)
        run = self.runs[repository]
        found = (payload.get("data") or {}).get("repository")
        if found is None:
            if "NOT_FOUND" in error_types(payload):
                self.repository_not_found(run)
                return
            yield from self.page_failed(response, describe_errors(payload))
            return
        connection = found["pullRequests"]
        nodes = connection["nodes"] or []
        if "RESOURCE_LIMITS_EXCEEDED" in error_types(payload) and None in nodes:
            if self.shrink_page(repository, variables["pageSize"]):
                yield self.pull_request_page(repository, variables["after"], fetched)
            else:
                yield from self.page_failed(
                    response, "GitHub's resource limits exceeded at the smallest page"
                )
            return
        self.page_succeeded(repository)
        if graphql_errors(payload):
            logger.warning(
                "%s: partial answer, keeping the data that came: %s", repository, describe_errors(payload)
            )
        self.crawler.stats.set_value(f"prseed/{repository}/pull_requests_total", connection["totalCount"])
        after = variables["after"]
        if after is None and not run.backfill:
            yield records.repository(found)
            run.repository_id = found["id"]
            newest = next((node["updatedAt"] for node in nodes if node), None)
            run.newest = newest
            if run.coverage_unknown:
                self.judge_unknown_coverage(run, connection["totalCount"])
            if self.nothing_newer(run, newest):
                yield from self.listing_ended(run, run.newest_seen, None, reached_end=False)
                done = "up to date (nothing updated since %s)" if run.listed else "nothing new since %s"
                logger.info("%s: " + done, repository, run.newest_seen)
                if self.syncing and not run.listed:
                    yield run.progress()
                yield from self.finish_if_done(run)
                return
        cut, cut_by_since = None, False
        oldest = None  # updatedAt of the last PR on this page, the lowest
        for node in nodes:
            if node is None:
                continue
            if run.since and node["updatedAt"] < run.since:
                cut, cut_by_since = run.since, True
                break
            oldest = node["updatedAt"]
            if run.backfill and run.covered_since is not None and oldest > run.covered_since:
                continue  # an earlier crawl has it
            yield from self.pull_request(node, found["id"], run)
            fetched += 1
            if self.plan.max_prs is not None and fetched >= self.plan.max_prs:
                cut = oldest
                break
        page_info = connection["pageInfo"]
        run.fetched = fetched
        if page_info["hasNextPage"] and cut is None:
            run.cursor = page_info["endCursor"]
            if run.backfill and oldest is not None:  # what the database holds grows down
                run.covered_since, run.backfill_cursor = min(run.covered_since, oldest), run.cursor
            yield self.pull_request_page(repository, run.cursor, fetched)
        else:
            # cut by `since`, the page is read again by a back-fill; cut by max_prs, it ends the page
            cursor = after if cut_by_since else page_info["endCursor"]
            yield from self.listing_ended(run, cut, cursor, reached_end=cut is None)
        if self.syncing:
            yield run.progress()
        yield from self.finish_if_done(run)

    def nothing_newer(self, run: Run, newest: str | None) -> bool:
        """The first page shows no PR updated after the watermark, and this crawl was only
        to list what changed since then."""
        if self.plan.full or run.newest_seen is None or run.since is None or run.since > run.newest_seen:
            return False
        return newest is None or newest <= run.newest_seen

    def judge_unknown_coverage(self, run: Run, total: int) -> None:
        """A repository an older prseed synced: if the database holds as many PRs as GitHub
        lists, its history is complete; if not, list everything (once) to find what it lacks."""
        if run.known_pull_requests >= total:
            run.history_complete = True
            return
        logger.info(
            "%s: the database holds %d of GitHub's %d PRs, synced by an older prseed that did not "
            "record what it covered: listing every PR once",
            run.repository,
            run.known_pull_requests,
            total,
        )
        run.since = self.plan.since_timestamp

    def listing_ended(self, run: Run, stop: str | None, cursor: str | None, reached_end: bool):
        """A run of PR pages ended: at the end of GitHub's list, or cut at ``stop`` (by
        ``since`` or max_prs) with the list going on after ``cursor``.  Record what the
        database now covers, then back-fill below it if this crawl asks for more."""
        if reached_end:
            run.history_complete, run.backfill_cursor = True, None
        elif run.backfill or not self.joins_coverage(run, stop):
            run.covered_since, run.backfill_cursor, run.history_complete = stop, cursor, False
        if self.needs_backfill(run):
            run.backfill, run.since, run.cursor = True, self.plan.since_timestamp, run.backfill_cursor
            self.crawler.stats.inc_value("prseed/backfills")
            logger.info(
                "%s: back-filling PRs updated before %s, which earlier crawls did not reach",
                run.repository,
                run.covered_since,
            )
            yield self.pull_request_page(run.repository, run.cursor, run.fetched)
        else:
            run.listed = True

    @staticmethod
    def joins_coverage(run: Run, stop: str | None) -> bool:
        """Does a listing of the newest PRs down to ``stop`` meet what the database held?"""
        if run.newest_seen is None or stop is None or stop > run.newest_seen:
            return False
        return bool(run.history_complete) or (run.covered_since is not None and run.covered_since <= stop)

    def needs_backfill(self, run: Run) -> bool:
        if run.history_complete or run.covered_since is None:
            return False
        if self.plan.max_prs is not None and run.fetched >= self.plan.max_prs:
            return False
        since = self.plan.since_timestamp
        return since is None or since < run.covered_since

    def parse_by_id(self, response, repository: str):
        run = self.runs[repository]
        payload = response.json()
        nodes = (payload.get("data") or {}).get("nodes")
        if nodes is None:
            yield from self.page_failed(response, describe_errors(payload))
            return
        run.refetching -= 1
        for node in nodes:
            if node is not None:  # a PR deleted on GitHub meanwhile stays as it was
                yield from self.pull_request(node, run.repository_id, run)
        yield from self.finish_if_done(run)

    def pull_request(self, node: dict, repository_id: str, run: Run):
        """A PR's items, its rows' children, and requests for the rest of its connections.

        The PR row comes first (it replaces the PR's child rows); it is complete when no
        follow-up page is needed, else a PullRequestComplete follows the last one."""
        self.crawler.stats.inc_value("prseed/pull_requests")
        context = {
            "repository": run.repository,
            "repository_id": repository_id,
            "pull_request_id": node["id"],
        }
        rest = []
        for name in PULL_REQUEST_CONNECTIONS:
            if node.get(name) is not None:
                rest.extend(self.connection(name, node[name], node["id"], context))
        for head in (node.get("headCommit") or {}).get("nodes") or []:
            rest.extend(self.check_suites(head["commit"], context))
        follow_ups = sum(isinstance(output, Request) for output in rest)
        if follow_ups:  # added to: the same PR may come twice (listed again after an update)
            run.pending[node["id"]] = run.pending.get(node["id"], 0) + follow_ups
        complete = node["id"] not in run.pending
        own = [
            replace(output, complete=complete) if isinstance(output, items.PullRequest) else output
            for output in records.pull_request(node, repository_id)
        ]
        yield from self.counted(run, own + rest)

    def counted(self, run: Run, outputs: list):
        """Pass ``outputs`` on, counting the rows per table for the progress report and
        the stats ``prseed/rows/TABLE`` (both: what this process fetched)."""
        counts: dict[str, int] = {}
        for output in outputs:
            table = getattr(output, "TABLE", None)
            if table is not None:
                counts[table] = counts.get(table, 0) + 1
        for table, count in counts.items():
            run.rows[table] = run.rows.get(table, 0) + count
            self.crawler.stats.inc_value(f"prseed/rows/{table}", count)
        yield from outputs

    def connection(self, name: str, connection: dict, parent_id: str, context: dict):
        """The items of one page of a connection, and the request for its next page."""
        make_records = records.NODE_RECORDS[name]
        for node in connection["nodes"] or []:
            if node is None:
                continue
            yield from make_records(node, context)
            if name == "commits" and self.check_runs == "all":
                yield from self.check_suites(node["commit"], context)
            elif name == "checkSuites":
                suite_context = {
                    **context,
                    "check_suite_id": node["id"],
                    "app_slug": (node.get("app") or {}).get("slug"),
                }
                yield from self.connection("checkRuns", node["checkRuns"], node["id"], suite_context)
        page_info = connection["pageInfo"]
        if page_info["hasNextPage"]:
            yield self.graphql_request(
                self.follow_up_queries[name],
                {"id": parent_id, "after": page_info["endCursor"]},
                self.parse_follow_up,
                operation=f"follow-up {name}",
                repository=context["repository"],
                priority=FOLLOW_UP_PRIORITY,
                cb_kwargs={"name": name, "context": context},
            )

    def check_suites(self, commit: dict, context: dict):
        commit_context = {**context, "commit_oid": commit["oid"]}
        if commit.get("checkSuites") is not None:
            yield from self.connection("checkSuites", commit["checkSuites"], commit["id"], commit_context)

    def parse_follow_up(self, response, name: str, context: dict):
        payload = response.json()
        node = (payload.get("data") or {}).get("node")
        if node is None or node.get(name) is None:
            yield from self.page_failed(response, describe_errors(payload) or "the node is gone")
            return
        if graphql_errors(payload):
            logger.warning(
                "%s: partial answer, keeping the data that came: %s", name, describe_errors(payload)
            )
        outputs = list(self.connection(name, node[name], request_variables(response.request)["id"], context))
        yield from self.counted(self.runs[context["repository"]], outputs)
        yield from self.follow_up_done(context, sum(isinstance(output, Request) for output in outputs))

    def follow_up_done(self, context: dict, new_follow_ups: int = 0):
        """One follow-up page of a PR is written and ``new_follow_ups`` more are on their way."""
        run = self.runs[context["repository"]]
        pull_request_id = context["pull_request_id"]
        if pull_request_id not in run.pending:
            return
        run.pending[pull_request_id] += new_follow_ups - 1
        if run.pending[pull_request_id] > 0:
            return
        del run.pending[pull_request_id]
        if self.syncing and pull_request_id not in run.broken:
            yield items.PullRequestComplete(pull_request_id)
        yield from self.finish_if_done(run)

    def finish_if_done(self, run: Run):
        """Once every page of the repository is written, the watermark moves on."""
        if run.finished or run.failed or not run.listed or run.pending or run.refetching:
            return
        self.stopped(run)
        logger.info("%s: complete, %d PRs fetched", run.repository, run.fetched)
        if self.syncing:
            yield run.completed()

    def stopped(self, run: Run, failed: bool = False) -> None:
        """A repository's crawl is over, complete or not: a worker has room for the next one."""
        if failed:
            run.failed = True
        else:
            run.finished = True
        self.crawler.signals.send_catch_log(repository_stopped, repository=run.repository, failed=failed)

    def repository_not_found(self, run: Run):
        """Report it; the other repositories go on, and the crawl closes when they are done."""
        logger.error("repository %s not found, or the token cannot see it: check its name", run.repository)
        self.crawler.stats.inc_value("prseed/repositories_failed")
        self.stopped(run, failed=True)
        self.missing.add(run.repository)

    def close_if_missing(self) -> None:
        """Once the other repositories are done, close with ``repository_not_found``."""
        if not self.missing:
            return
        names = ", ".join(sorted(self.missing))
        if len(self.missing) == 1:
            cause = f"repository {names} not found, or the token cannot see it: check its name"
        else:
            cause = (
                f"{outcome.plural(len(self.missing), 'repository', 'repositories')} not found, "
                f"or the token cannot see them: {names}; check their names"
            )
        complete = sum(run.finished for run in self.runs.values())
        if complete:
            cause += f" ({outcome.plural(complete, 'other repository', 'other repositories')} complete)"
        outcome.record(self.crawler.stats, "repository_not_found", cause, rerun_helps=False)
        raise CloseSpider("repository_not_found")

    def progress(self) -> dict[str, dict]:
        """Per repository, how far the crawl is: for the progress log, the summary table
        and the JSON-RPC service."""
        stats = self.crawler.stats
        report = {}
        for repository, run in self.runs.items():
            # how many PRs a crawl with a `since` cutoff will meet is unknown until it meets them
            total = None
            if not run.since and not run.backfill:
                total = stats.get_value(f"prseed/{repository}/pull_requests_total")
            if total is not None and self.plan.max_prs is not None:
                total = min(total, self.plan.max_prs)
            report[repository] = {
                "state": run.state,
                "pull_requests": run.fetched,
                "total": total,
                "incomplete": len(run.pending) + run.refetching,
                "requests": stats.get_value(f"prseed/repo/{repository}/requests", 0),
                "points": stats.get_value(f"prseed/repo/{repository}/points", 0),
                "retries": stats.get_value(f"prseed/repo/{repository}/retries", 0),
                "rows": dict(run.rows),
                "started_at": run.started_at,
            }
        return report

    # --- page size ----------------------------------------------------------------------

    def shrink_page(self, repository: str, page_size: int) -> bool:
        """Ask for fewer PRs per page for the rest of this repository (GitHub said the
        query was too heavy); False when already at the floor."""
        smaller = max(page_size // 2, self.min_page_size)
        if smaller >= page_size:
            return False
        self.page_sizes[repository] = smaller
        self.good_pages[repository] = 0
        self.crawler.stats.inc_value("prseed/page_size_reductions")
        logger.warning(
            "%s: query too heavy for GitHub with %d PRs a page; asking for %d", repository, page_size, smaller
        )
        return True

    def page_succeeded(self, repository: str) -> None:
        """After a run of good pages, grow a reduced page size back towards PRSEED_PAGE_SIZE."""
        if repository not in self.page_sizes:
            return
        self.good_pages[repository] += 1
        if self.good_pages[repository] >= GROW_AFTER:
            self.good_pages[repository] = 0
            grown = min(self.page_sizes[repository] * 2, self.page_size)
            if grown == self.page_size:
                del self.page_sizes[repository]
            else:
                self.page_sizes[repository] = grown

    def lighten_request(self, request):
        """Called by the retry middleware after a 502/504/timeout: a page query is retried
        with half as many PRs (follow-ups are already small)."""
        if request.meta.get(meta.OPERATION) != "PullRequestPage":
            return request
        variables = request_variables(request)
        repository = request.cb_kwargs["repository"]
        if not self.shrink_page(repository, variables["pageSize"]):
            return request
        smaller = {**variables, "pageSize": self.page_sizes[repository]}
        return request.replace(data={"query": self.page_query, "variables": smaller})

    # --- failures -----------------------------------------------------------------------

    def page_failed(self, response, reason: str):
        yield from self.lost(response.request, reason)

    def request_failed(self, failure):
        reason = failure.getErrorMessage()
        if failure.check(IgnoreRequest) and self.settings.getbool("PRSEED_OFFLINE"):
            reason = missing_page_reason(self.settings, self.name, failure.request)
            # running the same replay again cannot help: the cache lacks the page
            outcome.record(self.crawler.stats, "finished", f"offline replay: {reason}", rerun_helps=False)
        yield from self.lost(failure.request, reason)

    def lost(self, request, reason: str):
        """A page that could not be fetched: the repository's crawl cannot complete, and a
        PR it belonged to stays incomplete in the database (the next crawl fetches it again)."""
        self.crawler.stats.inc_value("prseed/pages_failed")
        logger.error(
            "%s %s of %s failed: %s",
            request.meta.get(meta.OPERATION),
            request_variables(request),
            request.meta.get(meta.REPOSITORY),
            reason,
        )
        run = self.runs.get(request.meta.get(meta.REPOSITORY))
        if run is None:
            return
        self.stopped(run, failed=True)
        context = request.cb_kwargs.get("context")
        if context is not None:
            run.broken.add(context["pull_request_id"])
            yield from self.follow_up_done(context)
        elif request.meta.get(meta.OPERATION) == "PullRequestsById":
            run.refetching -= 1
