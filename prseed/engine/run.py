"""One stream's crawl of one repository, and every change of its state."""

from __future__ import annotations

from dataclasses import dataclass, field

from prseed import items, timestamps


@dataclass
class Run:
    """One repository's crawl of one stream: what the database's ``sync_state`` row says,
    plus the follow-up pages still outstanding per node (kept in JOBDIR's spider state on
    pause, so the fields keep their names: a Run pickled by an older prseed unpickles)."""

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
    pending: dict[str, int] = field(default_factory=dict)  # node id -> follow-ups outstanding
    broken: set[str] = field(default_factory=set)  # nodes with a page that failed
    failed: bool = False
    finished: bool = False
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows fetched in this process
    # What the database holds below the watermark (see SyncState), as this crawl will record it.
    covered_since: str | None = None
    history_complete: bool | None = None
    backfill_cursor: str | None = None
    backfill: bool = False  # listing below covered_since, after the newest nodes
    known_pull_requests: int = 0  # nodes in the database when the crawl began
    # The stream's name; a Run pickled before there were several streams was the PRs'.
    stream: str = "pull_requests"

    # --- beginning -----------------------------------------------------------------------

    @classmethod
    def new(
        cls,
        repository: str,
        stream: str,
        saved: items.SyncState | None,
        since: str | None,
        full: bool,
        overlap: float,
    ) -> Run:
        """A crawl lists the newest nodes down to the watermark (less the overlap), or down
        to ``since`` when that is later; what lies below what earlier crawls covered is
        back-filled afterwards (see :meth:`listing_ended`)."""
        run = cls(repository, None, None, None, started_at=timestamps.now(), since=since, stream=stream)
        if saved is None:
            return run
        run.repository_id, run.newest_seen, run.synced_at = (
            saved.repository_id,
            saved.newest_seen,
            saved.synced_at,
        )
        run.covered_since, run.history_complete = saved.covered_since, saved.history_complete
        run.backfill_cursor = saved.backfill_cursor
        if full or saved.newest_seen is None:
            return run
        top = timestamps.shifted(saved.newest_seen, -overlap)
        if since is None or since < top:
            run.since = top
        return run

    @classmethod
    def interrupted(cls, saved: items.SyncState, stream: str, since: str | None) -> Run:
        """The crawl the database says was interrupted, continued; a back-fill goes down to
        what this crawl asks for (``since``)."""
        backfill = bool(saved.run_backfill)
        return cls(
            repository=saved.repository,
            repository_id=saved.repository_id,
            newest_seen=saved.newest_seen,
            synced_at=saved.synced_at,
            started_at=saved.run_started_at,
            since=since if backfill else saved.run_since,
            newest=saved.run_newest,
            cursor=saved.run_cursor,
            fetched=saved.run_fetched or 0,
            listed=bool(saved.run_listed),
            covered_since=saved.covered_since,
            history_complete=saved.history_complete,
            backfill_cursor=saved.backfill_cursor,
            backfill=backfill,
            stream=stream,
        )

    def knows(self, nodes: int) -> None:
        """The database held ``nodes`` of the stream when the crawl began."""
        self.known_pull_requests = nodes

    def resumed(self) -> None:
        """Continued from JOBDIR: the summary and the stats count what this process fetched."""
        self.rows = {}

    # --- what it says --------------------------------------------------------------------

    def state_name(self, label: str) -> str:
        if self.finished:
            return "complete"
        if self.failed:
            return "failed"
        return f"completing {label}" if self.listed else f"listing {label}"

    @property
    def stopped(self) -> bool:
        return self.finished or self.failed

    @property
    def coverage_unknown(self) -> bool:
        """Synced by an older prseed, which did not record what its crawls covered."""
        return self.newest_seen is not None and self.history_complete is None and self.covered_since is None

    @property
    def outstanding(self) -> int:
        """Nodes waiting for follow-up pages, and by-id requests on their way."""
        return len(self.pending) + self.refetching

    @property
    def ready_to_finish(self) -> bool:
        """Every page of the repository is written and the crawl is not yet over."""
        return not self.stopped and self.listed and not self.pending and not self.refetching

    def is_pending(self, node_id: str) -> bool:
        return node_id in self.pending

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
        return items.SyncState(
            self.repository, self.repository_id, newest, timestamps.now(), **self.coverage()
        )

    # --- the listing ---------------------------------------------------------------------

    def first_page(self, repository_id: str, newest: str | None) -> None:
        """The top of the list: the repository's id and the newest watermark there is."""
        self.repository_id, self.newest = repository_id, newest

    def nothing_newer(self, newest: str | None, full: bool) -> bool:
        """The first page shows no node updated after the watermark, and this crawl was only
        to list what changed since then."""
        if full or self.newest_seen is None or self.since is None or self.since > self.newest_seen:
            return False
        return newest is None or newest <= self.newest_seen

    def judge_coverage(self, total: int, since: str | None) -> bool:
        """A repository an older prseed synced: if the database holds as many nodes as GitHub
        lists, its history is complete; if not, list everything (down to ``since``) once to
        find what it lacks (True)."""
        if self.known_pull_requests >= total:
            self.history_complete = True
            return False
        self.since = since
        return True

    def skips(self, watermark: str) -> bool:
        """A back-fill passes over what an earlier crawl has."""
        return self.backfill and self.covered_since is not None and watermark > self.covered_since

    def listed_page(self, fetched: int) -> None:
        self.fetched = fetched

    def next_page(self, cursor: str, oldest: str | None) -> None:
        """The list goes on after ``cursor``; a back-fill's coverage grows down to ``oldest``."""
        self.cursor = cursor
        if self.backfill and oldest is not None:
            self.covered_since, self.backfill_cursor = min(self.covered_since, oldest), cursor

    def listing_ended(
        self, stop: str | None, cursor: str | None, reached_end: bool, since: str | None, limit_reached: bool
    ) -> bool:
        """A run of pages ended: at the end of GitHub's list, or cut at ``stop`` (by
        ``since`` or max_prs) with the list going on after ``cursor``.  Record what the
        database now covers; True when a back-fill below it begins (this crawl asks for
        more, down to ``since``), else the listing is over."""
        if reached_end:
            self.history_complete, self.backfill_cursor = True, None
        elif self.backfill or not self.joins_coverage(stop):
            self.covered_since, self.backfill_cursor, self.history_complete = stop, cursor, False
        if self.needs_backfill(since, limit_reached):
            self.backfill, self.since, self.cursor = True, since, self.backfill_cursor
            return True
        self.listed = True
        return False

    def joins_coverage(self, stop: str | None) -> bool:
        """Does a listing of the newest nodes down to ``stop`` meet what the database held?"""
        if self.newest_seen is None or stop is None or stop > self.newest_seen:
            return False
        return bool(self.history_complete) or (self.covered_since is not None and self.covered_since <= stop)

    def needs_backfill(self, since: str | None, limit_reached: bool) -> bool:
        if self.history_complete or self.covered_since is None or limit_reached:
            return False
        return since is None or since < self.covered_since

    # --- nodes and their follow-ups ------------------------------------------------------

    def count_rows(self, counts: dict[str, int]) -> None:
        for table, count in counts.items():
            self.rows[table] = self.rows.get(table, 0) + count

    def follow_ups_added(self, node_id: str, follow_ups: int) -> None:
        """Added to: the same node may come twice (listed again after an update)."""
        if follow_ups:
            self.pending[node_id] = self.pending.get(node_id, 0) + follow_ups

    def follow_up_done(self, node_id: str, new_follow_ups: int = 0) -> bool:
        """One follow-up page of a node is written and ``new_follow_ups`` more are on their
        way; True when it was the node's last (the node is complete unless broken)."""
        if node_id not in self.pending:
            return False
        self.pending[node_id] += new_follow_ups - 1
        if self.pending[node_id] > 0:
            return False
        del self.pending[node_id]
        return True

    def is_broken(self, node_id: str) -> bool:
        return node_id in self.broken

    def refetch_started(self) -> None:
        self.refetching += 1

    def refetch_done(self) -> None:
        self.refetching -= 1

    # --- the end -------------------------------------------------------------------------

    def page_lost(self, node_id: str) -> None:
        """A page of the node failed: it stays incomplete in the database (the next crawl
        fetches it again)."""
        self.broken.add(node_id)

    def stop(self, failed: bool) -> None:
        if failed:
            self.failed = True
        else:
            self.finished = True
