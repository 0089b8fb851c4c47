"""The crawl engine: every declared stream of every repository, to the end of each connection.

How a crawl survives interruptions (see "Resume" in the README): every request is a node
of a tree (a page of a stream leads to its next page and to follow-up pages of its nodes),
so none is ever a duplicate and all are sent with ``dont_filter``.  Progress is kept in the
database, in the same transactions as the rows: ``sync_state`` holds the cursor of the next
page, and a node's marker row (a PR's) stays ``complete = false`` until its last nested
page is written.  A crawl that starts where another stopped continues the list from that
cursor and fetches incomplete nodes again by node id, whatever happened to the process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from scrapy.exceptions import CloseSpider
from scrapy.http import JsonRequest, Request

from prseed import items, meta, outcome
from prseed.db import open_database
from prseed.engine.declarations import Connection, Nested, Stream
from prseed.engine.pagesize import PageSizes
from prseed.engine.run import Run
from prseed.graphql import queries, records
from prseed.signals import repository_stopped
from prseed.spiders.arguments import CrawlPlan

logger = logging.getLogger(__name__)

# Follow-ups finish nodes already started before new pages start more, so memory and the
# database stay close to the crawl.
FOLLOW_UP_PRIORITY = 10


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


@dataclass(frozen=True)
class Callbacks:
    """The spider's methods answers go to: Scrapy keeps a JOBDIR request's callback as the
    name of a spider method, so the engine's requests name the spider's."""

    page: Callable
    by_id: Callable
    follow_up: Callable
    failed: Callable


@dataclass(frozen=True)
class Documents:
    """The GraphQL documents of one stream."""

    page: str
    by_id: str
    follow_ups: dict[str, str]  # connection name -> its follow-up query

    @classmethod
    def of(cls, stream: Stream) -> Documents:
        return cls(
            queries.page_query(stream),
            queries.by_id_query(stream),
            {name: queries.follow_up_query(connection) for name, connection in stream.connections().items()},
        )


@dataclass(frozen=True)
class Options:
    """What the crawl is (from the settings): where GitHub is, whether rows go to a database."""

    endpoint: str
    database_url: str
    syncing: bool  # the database pipeline is on
    overlap: float  # PRSEED_SYNC_OVERLAP_SECONDS


class Engine:
    """The run of each (repository, stream): begun or resumed from the database's
    ``sync_state`` and JOBDIR, its pages, follow-ups and by-id refetches, its completion or
    failure, and the progress report."""

    def __init__(
        self,
        crawler,
        streams: tuple[Stream, ...],
        plan: CrawlPlan,
        page_sizes: PageSizes,
        callbacks: Callbacks,
        options: Options,
    ) -> None:
        self.crawler = crawler
        self.streams = {stream.name: stream for stream in streams}
        # A request queued in JOBDIR by a prseed of one stream carries no stream name.
        self.first_stream = streams[0]
        self.documents = {stream.name: Documents.of(stream) for stream in streams}
        self.connections = {stream.name: stream.connections() for stream in streams}
        self.plan = plan
        self.page_sizes = page_sizes
        self.callbacks = callbacks
        self.options = options
        self.runs: dict[tuple[str, str], Run] = {}  # (repository, stream name) -> its run
        self.missing: set[str] = set()  # repositories GitHub does not know

    @property
    def stats(self):
        return self.crawler.stats  # set once the crawl starts, after the spider is made

    # --- beginning or resuming ------------------------------------------------------------

    def resume(self, runs: dict) -> dict:
        """Take over the runs JOBDIR's spider state kept (keyed by repository alone before
        there were several streams); the same dict goes on being JOBDIR's state."""
        self.runs = {(key if isinstance(key, tuple) else (key, run.stream)): run for key, run in runs.items()}
        for run in self.runs.values():
            run.resumed()
        for repository in dict.fromkeys(repository for repository, _ in self.runs):
            logger.info("%s: resuming from JOBDIR's request queue", repository)
        return self.runs

    def begin_all(self, repositories: list[str], only_new: bool = False):
        """The first requests of each repository's streams (but those already running, when
        ``only_new``), after asking the database where each stands."""
        database = open_database(self.options.database_url) if self.options.syncing else None
        try:
            for repository in repositories:
                for stream in self.streams.values():
                    if only_new and (repository, stream.name) in self.runs:
                        continue
                    saved = database.sync_state(repository, stream.name) if database else None
                    yield from self.begin(repository, stream, saved, database)
        finally:
            if database is not None:
                database.close()

    def begin(self, repository: str, stream: Stream, saved: items.SyncState | None, database):
        """The first requests of a repository's stream: a new crawl, or the one the database
        says was interrupted.  Either way, nodes the database holds incomplete (a page lost,
        a row rejected) are fetched again by id."""
        since = self.plan.since_timestamp
        known = saved is not None and saved.repository_id is not None
        incomplete = stream.incomplete(database, saved.repository_id) if known and stream.refetches else []
        interrupted = saved is not None and saved.run_started_at is not None and not self.plan.full
        # an interrupted listing that stops where this crawl asks, or later, is continued:
        # what lies below it is back-filled afterwards
        if interrupted and (since is None or saved.run_backfill or (saved.run_since or "") >= since):
            run = self.runs[(repository, stream.name)] = Run.interrupted(saved, stream.name, since)
            logger.info(
                "%s: continuing the crawl interrupted at %d %s (%d to fetch again)",
                repository,
                run.fetched,
                stream.label,
                len(incomplete),
            )
        else:
            overlap = max(self.options.overlap, stream.window)
            run = Run.new(repository, stream.name, saved, since, self.plan.full, overlap)
            self.runs[(repository, stream.name)] = run
            if run.since != since:
                logger.info(
                    "%s: fetching %s updated since %s (the last sync)", repository, stream.label, run.since
                )
            if known and run.coverage_unknown and stream.count is not None:
                run.knows(stream.count(database, saved.repository_id))
            if incomplete:
                logger.info("%s: fetching %d incomplete %s again", repository, len(incomplete), stream.label)
        page_size = self.page_sizes.page_size
        for start in range(0, len(incomplete), page_size):
            run.refetch_started()
            yield self.by_id_request(stream, repository, incomplete[start : start + page_size])
        if not run.listed:
            yield self.page_request(stream, repository, run.cursor, run.fetched)
        yield from self.finish_if_done(stream, run)  # interrupted after its last page was written

    def unfinished(self) -> int:
        """Repositories this process is still crawling."""
        return len({repository for (repository, _), run in self.runs.items() if not run.stopped})

    # --- requests -------------------------------------------------------------------------

    def stream_of(self, request) -> Stream:
        return self.streams[request.meta.get(meta.STREAM, self.first_stream.name)]

    def graphql_request(
        self, stream: Stream, query: str, variables: dict, callback, operation: str, repository: str, **kwargs
    ) -> JsonRequest:
        request_meta = {meta.OPERATION: operation, meta.REPOSITORY: repository, meta.STREAM: stream.name}
        if self.plan.refresh:
            request_meta[meta.REFRESH_CACHE] = True
        return JsonRequest(
            self.options.endpoint,
            data={"query": query, "variables": variables},
            callback=callback,
            errback=self.callbacks.failed,
            meta=request_meta,
            dont_filter=True,
            **kwargs,
        )

    def page_request(self, stream: Stream, repository: str, after: str | None, fetched: int) -> JsonRequest:
        page_size = self.page_sizes.current((repository, stream.name))
        if self.plan.max_prs is not None:
            page_size = min(page_size, self.plan.max_prs - fetched)
        owner, name = repository.split("/")
        variables = {"owner": owner, "name": name, "pageSize": page_size, "after": after}
        for argument in stream.arguments:
            variables[argument.name] = (
                list(argument.value) if isinstance(argument.value, tuple) else argument.value
            )
        return self.graphql_request(
            stream,
            self.documents[stream.name].page,
            variables,
            self.callbacks.page,
            operation=stream.page_operation,
            repository=repository,
            cb_kwargs={"repository": repository, "fetched": fetched},
        )

    def by_id_request(self, stream: Stream, repository: str, ids: list[str]) -> JsonRequest:
        return self.graphql_request(
            stream,
            self.documents[stream.name].by_id,
            {"ids": ids},
            self.callbacks.by_id,
            operation=stream.by_id_operation,
            repository=repository,
            priority=FOLLOW_UP_PRIORITY,
            cb_kwargs={"repository": repository},
        )

    def follow_up_request(
        self, stream: Stream, connection: Connection, parent_id: str, after: str, context: dict
    ) -> JsonRequest:
        return self.graphql_request(
            stream,
            self.documents[stream.name].follow_ups[connection.name],
            {"id": parent_id, "after": after},
            self.callbacks.follow_up,
            operation=f"follow-up {connection.name}",
            repository=context["repository"],
            priority=FOLLOW_UP_PRIORITY,
            cb_kwargs={"name": connection.name, "context": context},
        )

    def lighten(self, request: Request) -> Request:
        """After a 502/504/timeout, a page query is retried with half as many nodes
        (follow-ups are already small)."""
        stream = self.stream_of(request)
        if request.meta.get(meta.OPERATION) != stream.page_operation:
            return request
        variables = request_variables(request)
        key = (request.meta[meta.REPOSITORY], stream.name)
        if not self.page_sizes.shrink(key, variables["pageSize"], stream.label):
            return request
        smaller = {**variables, "pageSize": self.page_sizes.current(key)}
        return request.replace(data={"query": self.documents[stream.name].page, "variables": smaller})

    # --- pages of a stream ----------------------------------------------------------------

    def page(self, response, repository: str, fetched: int):
        stream = self.stream_of(response.request)
        key = (repository, stream.name)
        payload = response.json()
        variables = request_variables(response.request)
        run = self.runs[key]
        found = (payload.get("data") or {}).get("repository")
        if found is None:
            if "NOT_FOUND" in error_types(payload):
                self.repository_not_found(run)
                return
            yield from self.lost(response.request, describe_errors(payload))
            return
        connection = found[stream.connection]
        nodes = connection["nodes"] or []
        if "RESOURCE_LIMITS_EXCEEDED" in error_types(payload) and None in nodes:
            if self.page_sizes.shrink(key, variables["pageSize"], stream.label):
                yield self.page_request(stream, repository, variables["after"], fetched)
            else:
                yield from self.lost(
                    response.request, "GitHub's resource limits exceeded at the smallest page"
                )
            return
        self.page_sizes.succeeded(key)
        if graphql_errors(payload):
            logger.warning(
                "%s: partial answer, keeping the data that came: %s", repository, describe_errors(payload)
            )
        self.stats.set_value(f"prseed/{repository}/{stream.name}_total", connection["totalCount"])
        after = variables["after"]
        if after is None and not run.backfill:
            yield records.repository(found)
            newest = next((node[stream.watermark] for node in nodes if node), None)
            run.first_page(found["id"], newest)
            if run.coverage_unknown and run.judge_coverage(
                connection["totalCount"], self.plan.since_timestamp
            ):
                logger.info(
                    "%s: the database holds %d of GitHub's %d %s, synced by an older prseed that did not "
                    "record what it covered: listing every %s once",
                    repository,
                    run.known_pull_requests,
                    connection["totalCount"],
                    stream.label,
                    stream.noun,
                )
            if stream.watermark_moves and run.nothing_newer(newest, self.plan.full):
                yield from self.listing_ended(stream, run, run.newest_seen, None, reached_end=False)
                done = "up to date (nothing updated since %s)" if run.listed else "nothing new since %s"
                logger.info("%s: " + done, repository, run.newest_seen)
                if self.options.syncing and not run.listed:
                    yield run.progress()
                yield from self.finish_if_done(stream, run)
                return
        cut, cut_by_since = None, False
        oldest = None  # the watermark of the last node on this page, the lowest
        for node in nodes:
            if node is None:
                continue
            if run.since and node[stream.watermark] < run.since:
                cut, cut_by_since = run.since, True
                break
            oldest = node[stream.watermark]
            if run.skips(oldest):
                continue  # an earlier crawl has it
            yield from self.root_node(stream, node, found["id"], run)
            fetched += 1
            if self.plan.max_prs is not None and fetched >= self.plan.max_prs:
                cut = oldest
                break
        page_info = connection["pageInfo"]
        run.listed_page(fetched)
        if page_info["hasNextPage"] and cut is None:
            run.next_page(page_info["endCursor"], oldest)
            yield self.page_request(stream, repository, run.cursor, fetched)
        else:
            # cut by `since`, the page is read again by a back-fill; cut by max_prs, it ends the page
            cursor = after if cut_by_since else page_info["endCursor"]
            yield from self.listing_ended(stream, run, cut, cursor, reached_end=cut is None)
        if self.options.syncing:
            yield run.progress()
        yield from self.finish_if_done(stream, run)

    def listing_ended(
        self, stream: Stream, run: Run, stop: str | None, cursor: str | None, reached_end: bool
    ):
        """A run of pages ended (see :meth:`Run.listing_ended`): back-fill below what the
        database covers if this crawl asks for more."""
        limit_reached = self.plan.max_prs is not None and run.fetched >= self.plan.max_prs
        if run.listing_ended(stop, cursor, reached_end, self.plan.since_timestamp, limit_reached):
            self.stats.inc_value("prseed/backfills")
            logger.info(
                "%s: back-filling %s updated before %s, which earlier crawls did not reach",
                run.repository,
                stream.label,
                run.covered_since,
            )
            yield self.page_request(stream, run.repository, run.cursor, run.fetched)

    def by_id(self, response, repository: str):
        stream = self.stream_of(response.request)
        run = self.runs[(repository, stream.name)]
        payload = response.json()
        nodes = (payload.get("data") or {}).get("nodes")
        if nodes is None:
            yield from self.lost(response.request, describe_errors(payload))
            return
        run.refetch_done()
        for node in nodes:
            if node is not None:  # a node deleted on GitHub meanwhile stays as it was
                yield from self.root_node(stream, node, run.repository_id, run)
        yield from self.finish_if_done(stream, run)

    # --- nodes and their nested connections -----------------------------------------------

    def root_node(self, stream: Stream, node: dict, repository_id: str, run: Run):
        """A stream node's items, its rows' children, and requests for the rest of its
        connections.

        The node's rows come first (its marker row replaces the node's child rows); the
        marker is complete when no follow-up page is needed, else a completion item follows
        the last one."""
        self.stats.inc_value(f"prseed/{stream.name}")
        context = {"repository": run.repository, "repository_id": repository_id, stream.child_key: node["id"]}
        rest = list(self.nested(stream, stream.nested, node, context))
        run.follow_ups_added(node["id"], sum(isinstance(output, Request) for output in rest))
        complete = not run.is_pending(node["id"])
        own = [
            replace(output, complete=complete)
            if stream.marker is not None and isinstance(output, stream.marker)
            else output
            for output in stream.records(node, repository_id)
        ]
        yield from self.counted(run, own + rest)

    def nested(self, stream: Stream, links: tuple[Nested, ...], node: dict, context: dict):
        """The items and follow-up requests of the connections ``links`` reach from ``node``."""
        for link in links:
            for holder in link.holders(node):
                page = holder.get(link.connection.name)
                if page is not None:
                    yield from self.connection(
                        stream, link.connection, page, holder["id"], {**context, **link.context(holder)}
                    )

    def connection(self, stream: Stream, connection: Connection, page: dict, parent_id: str, context: dict):
        """The items of one page of a connection, and the request for its next page."""
        for node in page["nodes"] or []:
            if node is None:
                continue
            yield from connection.records(node, context)
            yield from self.nested(stream, connection.nested, node, context)
        page_info = page["pageInfo"]
        if page_info["hasNextPage"]:
            yield self.follow_up_request(stream, connection, parent_id, page_info["endCursor"], context)

    def follow_up(self, response, name: str, context: dict):
        stream = self.stream_of(response.request)
        payload = response.json()
        node = (payload.get("data") or {}).get("node")
        if node is None or node.get(name) is None:
            yield from self.lost(response.request, describe_errors(payload) or "the node is gone")
            return
        if graphql_errors(payload):
            logger.warning(
                "%s: partial answer, keeping the data that came: %s", name, describe_errors(payload)
            )
        run = self.runs[(context["repository"], stream.name)]
        connection = self.connections[stream.name][name]
        parent_id = request_variables(response.request)["id"]
        outputs = list(self.connection(stream, connection, node[name], parent_id, context))
        yield from self.counted(run, outputs)
        yield from self.follow_up_done(
            stream, run, context, sum(isinstance(output, Request) for output in outputs)
        )

    def counted(self, run: Run, outputs: list):
        """Pass ``outputs`` on, counting the rows per table for the progress report and
        the stats ``prseed/rows/TABLE`` (both: what this process fetched)."""
        counts: dict[str, int] = {}
        for output in outputs:
            table = getattr(output, "TABLE", None)
            if table is not None:
                counts[table] = counts.get(table, 0) + 1
        run.count_rows(counts)
        for table, count in counts.items():
            self.stats.inc_value(f"prseed/rows/{table}", count)
        yield from outputs

    def follow_up_done(self, stream: Stream, run: Run, context: dict, new_follow_ups: int = 0):
        """One follow-up page of a node is written and ``new_follow_ups`` more are on their way."""
        node_id = context[stream.child_key]
        if not run.follow_up_done(node_id, new_follow_ups):
            return
        if self.options.syncing and not run.is_broken(node_id) and stream.completion is not None:
            yield stream.completion(node_id)
        yield from self.finish_if_done(stream, run)

    # --- the end of a run -----------------------------------------------------------------

    def finish_if_done(self, stream: Stream, run: Run):
        """Once every page of the repository's stream is written, the watermark moves on."""
        if not run.ready_to_finish:
            return
        self.stop(run, failed=False)
        logger.info("%s: complete, %d %s fetched", run.repository, run.fetched, stream.label)
        if self.options.syncing:
            yield run.completed()

    def stop(self, run: Run, failed: bool) -> None:
        """A run is over, complete or not; once all of its repository's are, a worker has
        room for the next repository."""
        run.stop(failed)
        runs = [other for (repository, _), other in self.runs.items() if repository == run.repository]
        if all(other.stopped for other in runs):
            self.crawler.signals.send_catch_log(
                repository_stopped, repository=run.repository, failed=any(other.failed for other in runs)
            )

    def repository_not_found(self, run: Run) -> None:
        """Report it; the other repositories go on, and the crawl closes when they are done."""
        if run.repository not in self.missing:
            logger.error(
                "repository %s not found, or the token cannot see it: check its name", run.repository
            )
            self.stats.inc_value("prseed/repositories_failed")
            self.missing.add(run.repository)
        self.stop(run, failed=True)

    def lost(self, request, reason: str):
        """A page that could not be fetched: the repository's crawl cannot complete, and a
        node it belonged to stays incomplete in the database (the next crawl fetches it again)."""
        self.stats.inc_value("prseed/pages_failed")
        logger.error(
            "%s %s of %s failed: %s",
            request.meta.get(meta.OPERATION),
            request_variables(request),
            request.meta.get(meta.REPOSITORY),
            reason,
        )
        stream = self.stream_of(request)
        run = self.runs.get((request.meta.get(meta.REPOSITORY), stream.name))
        if run is None:
            return
        self.stop(run, failed=True)
        context = request.cb_kwargs.get("context")
        if context is not None:
            run.page_lost(context[stream.child_key])
            yield from self.follow_up_done(stream, run, context)
        elif request.meta.get(meta.OPERATION) == stream.by_id_operation:
            run.refetch_done()

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
        complete = len(self.repositories(lambda run: run.finished))
        if complete:
            cause += f" ({outcome.plural(complete, 'other repository', 'other repositories')} complete)"
        outcome.record(self.stats, "repository_not_found", cause, rerun_helps=False)
        raise CloseSpider("repository_not_found")

    def repositories(self, every: Callable[[Run], bool]) -> list[str]:
        """The repositories all of whose runs are ``every``."""
        verdicts: dict[str, bool] = {}
        for (repository, _), run in self.runs.items():
            verdicts[repository] = verdicts.get(repository, True) and every(run)
        return [repository for repository, verdict in verdicts.items() if verdict]

    # --- progress -------------------------------------------------------------------------

    def progress(self) -> dict[str, dict]:
        """Per repository, how far the crawl is: for the progress log, the summary table
        and the JSON-RPC service.  A repository's first stream gives the node counts; the
        rows and what is outstanding add up over its streams."""
        report: dict[str, dict] = {}
        for (repository, name), run in self.runs.items():
            entry = self.run_progress(self.streams[name], run)
            report[repository] = entry if repository not in report else merged(report[repository], entry)
        return report

    def run_progress(self, stream: Stream, run: Run) -> dict:
        stats = self.stats
        repository = run.repository
        # how many nodes a crawl with a `since` cutoff will meet is unknown until it meets them
        total = None
        if not run.since and not run.backfill:
            total = stats.get_value(f"prseed/{repository}/{stream.name}_total")
        if total is not None and self.plan.max_prs is not None:
            total = min(total, self.plan.max_prs)
        state = run.state_name(stream.label)
        return {
            "state": state,
            "pull_requests": run.fetched,
            "total": total,
            "incomplete": run.outstanding,
            # each stream's own, by name (the keys above are the first stream's, as before)
            "streams": {
                stream.name: {
                    "state": state,
                    "fetched": run.fetched,
                    "total": total,
                    "incomplete": run.outstanding,
                }
            },
            "requests": stats.get_value(f"prseed/repo/{repository}/requests", 0),
            "points": stats.get_value(f"prseed/repo/{repository}/points", 0),
            "retries": stats.get_value(f"prseed/repo/{repository}/retries", 0),
            "rows": dict(run.rows),
            "started_at": run.started_at,
        }


def merged(first: dict, other: dict) -> dict:
    """A repository's progress with one more stream's: complete only when every stream is."""
    rows = dict(first["rows"])
    for table, count in other["rows"].items():
        rows[table] = rows.get(table, 0) + count
    return {
        **first,
        "state": other["state"] if first["state"] == "complete" else first["state"],
        "incomplete": first["incomplete"] + other["incomplete"],
        "rows": rows,
        "started_at": min(first["started_at"], other["started_at"]),
        "streams": {**first["streams"], **other["streams"]},
    }
