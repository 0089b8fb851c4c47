"""The order of the shared queue: a priority class, then the most recently pushed first.

Each queued repository is an :class:`Entry`: why it was queued (its class and who queued it)
and its pushed-at time. The queue in Redis is a sorted set scored by :meth:`Entry.score`, so
taking the next repository is one ``ZPOPMIN``; the entry itself rides along as JSON (never a
token or a secret), for the worker's log and ``scrapy enqueue --list``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from prseed.timestamps import epoch, from_epoch

# Best first. ``resume``: a repository a stopped worker handed back, half-written, so it
# goes before everything queued (a dead worker's repository goes before even those: it is
# taken over from the active set before the queue is looked at).
RESUME, WEBHOOK, MANUAL, SWEEP = PRIORITIES = ("resume", "webhook", "manual", "sweep")
# Classes whose request for a sync, made while the repository is being crawled, is kept for
# after that crawl (the repository is "dirty"): changes may have landed after the crawl read
# past them. A sweep only asks for what the running crawl does anyway.
MARKS_DIRTY = frozenset({WEBHOOK, MANUAL})
SPAN = 1e10  # seconds: pushed-at times up to the year 2286 fit within one class's band

# Where a pushed-at time came from, most trusted first (README: "Scale out").
FROM_DELIVERY = "the delivery"  # the webhook payload's repository.pushed_at
FROM_DATABASE = "the database"  # the newest PR update the database knows of
FROM_ENQUEUE = "the enqueue time"  # nothing known: the time it was queued


@dataclass(frozen=True)
class Entry:
    """One repository's place in the queue, and why it has it."""

    repository: str
    priority: str
    pushed_at: float  # Unix time
    pushed_at_from: str
    queued_at: float
    by: str  # who queued it: "scrapy enqueue", "pull_request delivery 72d3…", …

    def score(self) -> float:
        """Lower is sooner: the class's band, then the most recently pushed first (ties: by name)."""
        return PRIORITIES.index(self.priority) * SPAN - min(max(self.pushed_at, 0.0), SPAN - 1)

    def marks_dirty(self) -> bool:
        return self.priority in MARKS_DIRTY

    def to_json(self) -> str:
        fields = asdict(self)
        del fields["repository"]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, repository: str, text: str | bytes | None) -> Entry | None:
        """None for what an older prseed stored (nothing, or not this form)."""
        try:
            return cls(repository=repository, **json.loads(text))
        except (TypeError, ValueError):
            return None

    def handed_back(self, worker: str, now: float | None = None) -> Entry:
        by = f"handed back by worker {worker}"
        return replace(self, priority=RESUME, by=by, queued_at=time.time() if now is None else now)

    def describe(self) -> str:
        """``webhook, pushed 2025-01-02T03:04:05Z (the delivery), by pull_request delivery 72d3…``"""
        return f"{self.priority}, pushed {from_epoch(self.pushed_at)} ({self.pushed_at_from}), by {self.by}"


def entry(
    repository: str,
    priority: str,
    by: str,
    pushed_at: float | None = None,
    activity: Mapping[str, str | None] | None = None,
    now: float | None = None,
) -> Entry:
    """An entry whose pushed-at is ``pushed_at`` (the delivery's) when given, else the
    newest activity the database knows of (``activity``: repository -> GitHub timestamp),
    else ``now``, the enqueue time."""
    now = time.time() if now is None else now
    if pushed_at is not None:
        return Entry(repository, priority, pushed_at, FROM_DELIVERY, now, by)
    newest = (activity or {}).get(repository)
    if newest:
        return Entry(repository, priority, epoch(newest), FROM_DATABASE, now, by)
    return Entry(repository, priority, now, FROM_ENQUEUE, now, by)
