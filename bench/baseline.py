"""The replay benchmark's baseline: the same cached GraphQL answers into the same rows, with
no Scrapy.  ``python -m bench.baseline CACHE_DIR DATABASE_URL [OUT_JSON]``

It reads every entry of prseed's HTTP cache (Scrapy's filesystem layout:
``<dir>/prs/<xx>/<fingerprint>/request_body`` and ``response_body``, gzipped or not),
``json.loads`` the bodies, turns nodes into rows with prseed's own mapping
(``prseed.graphql.records``, so both sides write identical rows), keeps the last row per
natural key, and writes each table with one ``executemany`` (SQLite) or ``execute_values``
(PostgreSQL) of prseed's upsert statement, in one transaction.  PR pages are read first so
that follow-up pages (found by their parent's node id) know which PR and commit they
belong to.

Its start-up ends, as prseed's does for bench/replay.py, once its imports are done and the
database is open (schema created): the report's ``ready_monotonic`` is that moment on the
machine-wide monotonic clock, which the benchmark compares with when it started the process.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from operator import attrgetter
from pathlib import Path

from prseed import items
from prseed.db import open_database
from prseed.db.schema import POSTGRESQL, SQLITE, TABLES, upsert_statement
from prseed.graphql import records
from prseed.streams.pull_requests import pull_requests

# The baseline parses what prseed's default configuration asks for; every connection a
# PR can hold, in any PRSEED_CHECK_RUNS mode, has its records function here.
CONNECTIONS = pull_requests("all").connections()
RECORDS = {name: connection.records for name, connection in CONNECTIONS.items()}
PULL_REQUEST_CONNECTIONS = [nested.connection.name for nested in pull_requests("none").nested]
# The PR's own row and the rows PRSEED_COLLECT's parts read from its node (statuses, references).
PULL_REQUEST_RECORDS = pull_requests("all").records

GETTERS = {
    table.item: (table.name, attrgetter(*table.column_names), attrgetter(*table.key)) for table in TABLES
}


def read_cache(cache_dir: Path) -> list[tuple[bytes, bytes]]:
    """(request body, response body) of every complete cache entry."""
    entries = []
    for entry in (cache_dir / "prs").glob("*/*"):
        if not (entry / "pickled_meta").exists():
            continue
        bodies = []
        for name in ("request_body", "response_body"):
            data = (entry / name).read_bytes()
            bodies.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        entries.append((bodies[0], bodies[1]))
    return entries


class Rows:
    def __init__(self) -> None:
        self.tables: dict[str, dict] = {table.name: {} for table in TABLES}
        self.contexts: dict[str, dict] = {}  # parent node id -> context of its follow-ups

    def add(self, outputs) -> None:
        for item in outputs:
            name, values, key = GETTERS[type(item)]
            self.tables[name][key(item)] = values(item)

    def connection(self, name: str, connection: dict, parent_id: str, context: dict) -> None:
        self.contexts[parent_id] = context
        make = RECORDS[name]
        for node in connection["nodes"] or ():
            if node is None:
                continue
            self.add(make(node, context))
            if name == "commits" and node["commit"].get("checkSuites") is not None:
                self.commit(node["commit"], context)
            for link in CONNECTIONS[name].nested:  # on the node itself: a suite's runs, a thread's comments
                if link.via is None and node.get(link.connection.name) is not None:
                    inner = {**context, **link.context(node)}
                    self.connection(link.connection.name, node[link.connection.name], node["id"], inner)

    def commit(self, commit: dict, context: dict) -> None:
        if commit.get("checkSuites") is not None:
            self.connection(
                "checkSuites", commit["checkSuites"], commit["id"], {**context, "commit_oid": commit["oid"]}
            )

    def pull_request(self, node: dict, repository_id: str) -> None:
        context = {"repository_id": repository_id, "pull_request_id": node["id"]}
        self.add(PULL_REQUEST_RECORDS(node, repository_id))
        for name in PULL_REQUEST_CONNECTIONS:
            if node.get(name) is not None:
                self.connection(name, node[name], node["id"], context)
        for head in (node.get("headCommit") or {}).get("nodes") or ():
            self.commit(head["commit"], context)


def build_rows(answers: list[tuple[dict, dict]]) -> Rows:
    rows = Rows()
    follow_ups = []
    for request, response in answers:
        data = response.get("data") or {}
        if "repository" in data:
            found = data["repository"]
            if "pullRequests" not in found:  # another stream's page: the benchmark serves none of its nodes
                if any(isinstance(value, dict) and value.get("nodes") for value in found.values()):
                    raise ValueError(f"the baseline loads PRs only: {request.get('query', '')[:60]!r}")
                continue
            rows.add([records.repository(found)])
            for node in found["pullRequests"]["nodes"] or ():
                if node is not None:
                    rows.pull_request(node, found["id"])
        elif data.get("node") is not None:
            follow_ups.append((request["variables"]["id"], data["node"]))
        else:
            raise ValueError(f"an answer the baseline does not know: {request.get('query', '')[:60]!r}")
    while follow_ups:  # a follow-up's parent may itself come from a follow-up (check suites)
        waiting = []
        for parent_id, node in follow_ups:
            context = rows.contexts.get(parent_id)
            if context is None:
                waiting.append((parent_id, node))
                continue
            ((name, connection),) = node.items()
            rows.connection(name, connection, parent_id, context)
        if len(waiting) == len(follow_ups):
            raise ValueError(f"{len(waiting)} follow-up pages whose parent is in no cached page")
        follow_ups = waiting
    return rows


def write(database, rows: Rows) -> int:
    written = 0
    postgresql = database.dialect is POSTGRESQL
    if postgresql:
        from psycopg2.extras import execute_values
    with database.transaction() as cursor:
        for table in TABLES:
            values = list(rows.tables[table.name].values())
            if not values or table.item is items.SyncState:
                continue
            if postgresql:
                execute_values(
                    cursor, upsert_statement(table, POSTGRESQL, values="%s"), values, page_size=1000
                )
            else:
                cursor.executemany(upsert_statement(table, SQLITE), values)
            written += len(values)
    return written


def main(argv: list[str]) -> dict:
    cache_dir, database_url = Path(argv[0]), argv[1]
    database = open_database(database_url)  # prseed's schema, created if missing
    try:
        started = time.monotonic()  # start-up ends here (imports done, database open)
        raw = read_cache(cache_dir)
        read = time.monotonic()
        answers = [(json.loads(request), json.loads(response)) for request, response in raw]
        parsed = time.monotonic()
        rows = build_rows(answers)
        mapped = time.monotonic()
        written = write(database, rows)
        done = time.monotonic()
    finally:
        database.close()
    report = {
        "entries": len(raw),
        "rows": written,
        "ready_monotonic": started,
        "seconds": {
            "read": round(read - started, 3),
            "json": round(parsed - read, 3),
            "map": round(mapped - parsed, 3),
            "write": round(done - mapped, 3),
            "total": round(done - started, 3),
        },
    }
    if len(argv) > 2:
        Path(argv[2]).write_text(json.dumps(report))
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
