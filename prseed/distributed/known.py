"""What the database knows of repositories, for the queue: which repositories it holds (the
webhook receiver's allow-list, ``scrapy enqueue --sweep``) and each one's newest activity
(its pushed-at when nothing better is known). Read through prseed.db's public API only."""

from __future__ import annotations

from prseed.commands.dbstatus import open_existing
from prseed.db import Database
from prseed.db.schema import TABLE_BY_NAME


def known_repositories(database: Database) -> dict[str, str | None]:
    """Every repository the database holds, by name, with the newest PR update it knows of
    (a GitHub timestamp, or None). A name is spelled as the crawls spelled it; one that only
    the ``repositories`` table holds, as GitHub does. Names differing in case are one."""
    known: dict[str, tuple[str, str | None]] = {}  # lower-cased name -> (name, newest)
    for row in database.select(TABLE_BY_NAME["sync_state"]):
        newest = max(filter(None, (row["newest_seen"], row["run_newest"])), default=None)
        name, seen = known.get(row["repository"].lower(), (row["repository"], None))
        known[name.lower()] = (name, max(filter(None, (seen, newest)), default=None))
    for row in database.select(TABLE_BY_NAME["repositories"]):
        name = f"{row['owner']}/{row['name']}"
        known.setdefault(name.lower(), (name, None))
    return dict(sorted(known.values()))


def read_known_repositories(url: str) -> dict[str, str | None]:
    """:func:`known_repositories` of the database at ``url``; nothing for a SQLite file that
    does not exist (reading creates no database). ConfigError when it cannot be reached."""
    database, _ = open_existing(url)
    if database is None:
        return {}
    try:
        return known_repositories(database)
    finally:
        database.close()
