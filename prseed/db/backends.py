"""SQLite and PostgreSQL behind one small interface: create the schema, write a batch."""

from __future__ import annotations

import io
import logging
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from pathlib import Path

from prseed import timestamps
from prseed.db.registry import TABLES
from prseed.db.schema import (
    OLDEST_UPGRADABLE,
    POSTGRESQL,
    SCHEMA_VERSION,
    SQLITE,
    Dialect,
    add_column_statement,
    complete_statement,
    copy_statement,
    create_staging_statement,
    create_statements,
    delete_children_statement,
    incomplete_statement,
    table_statements,
    upgrade_value,
    upsert_statement,
)
from prseed.db.tables import Column, Table
from prseed.exceptions import ConfigError
from prseed.items import PULL_REQUESTS_STREAM, Member, PullRequest, Repository, SyncState
from prseed.urls import without_password

logger = logging.getLogger(__name__)


CONNECT_TIMEOUT = 10  # seconds to reach a PostgreSQL server (at start and on reconnecting)


class Batch:
    """Rows waiting to be written, de-duplicated by natural key (the last one wins).  A row
    of a parent table replaces its children (see :class:`prseed.db.tables.Parent`); a
    completion marker marks its row complete."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple, tuple]] = {table.name: {} for table in TABLES}
        # parent table -> the keys of its rows in this batch, whose children are replaced
        self.replaced: dict[str, dict] = {parent: {} for parent in TABLES.parent_keys}
        # completable table -> the keys of its rows to mark complete
        self.completed: dict[str, dict] = {table.name: {} for table in TABLES.completable}
        # item type -> (its table's rows, key getter, row getter, the parent keys it adds to
        # and their getter, or None), looked up once per row
        self._tables = {
            table.item: (self.rows[table.name], table.key_of, table.row_of, *self._replacing(table))
            for table in TABLES
        }
        self._markers = {
            table.completion.marker: (self.completed[table.name], table.completion.key_of)
            for table in TABLES.completable
        }
        self.withheld_repositories: list[str] = []  # whose progress was not written (see Database.write)
        self.items = 0

    def _replacing(self, table: Table) -> tuple:
        if table.name not in self.replaced:
            return None, None
        return self.replaced[table.name], attrgetter(TABLES.parent_keys[table.name])

    def add(self, item: object) -> None:
        self.items += 1
        table = self._tables.get(type(item))
        if table is None:  # a completion marker
            completed, key_of = self._markers[type(item)]
            completed[key_of(item)] = None
            return
        rows, key_of, row_of, replaced, parent_key_of = table
        rows[key_of(item)] = row_of(item)
        if replaced is not None:
            replaced[parent_key_of(item)] = None

    def __len__(self) -> int:
        return self.items


# Columns holding a member's login: members are shared, so a repository's rows refer to them.
MEMBER_COLUMNS = tuple((table, column) for table in TABLES for column in table.members)


def rows_of_repository(table: Table, repository_id: str | None, repository: str) -> tuple[str, tuple]:
    """The condition (``?`` placeholders) and parameters that pick a table's rows of one
    repository; not for members, which repositories share."""
    parent = table.replaced_with
    if parent:
        return (
            f"{parent.column} IN (SELECT {parent.key} FROM {parent.table} WHERE repository_id = ?)",
            (repository_id,),
        )
    if table.item is Repository:
        return "id = ?", (repository_id,)
    if table.stream_key:  # every stream's, also the row of a crawl that never learnt the repository's id
        return (
            "repository_id = ? OR (repository_id IS NULL AND lower(repository) = lower(?))",
            (repository_id, repository),
        )
    return "repository_id = ?", (repository_id,)


@dataclass
class RepositoryRows:
    """A repository's rows per table, children first (the order they are deleted in)."""

    repository: str  # OWNER/NAME as the database spells it
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


@dataclass
class RejectedRow:
    table: str
    row: dict
    error: str

    @property
    def completed_by(self) -> Table | None:
        """The completable table (pull requests) whose row this row is, or belongs to."""
        found = TABLES.completed_by.get(self.table)
        return found and found[0]

    @property
    def pull_request_id(self) -> str | None:
        """The key of the completable row (a pull request) this row is, or belongs to."""
        found = TABLES.completed_by.get(self.table)
        return found and self.row.get(found[1])

    def describe(self) -> str:
        """Name the pull request the row belongs to, so a user can find it on GitHub."""
        if TABLES.by_name[self.table].completion:
            where = f"#{self.row.get('number')} ({self.row.get('id')})"
            return f"{self.table} row of pull request {where}: {self.error}"
        if self.pull_request_id is not None:
            return f"{self.table} row of pull request {self.pull_request_id}: {self.error}"
        name = next((self.row[key] for key in ("login", "name", "id") if self.row.get(key)), self.row)
        return f"{self.table} row {name!r}: {self.error}"


def batch_repositories(batch: Batch) -> set[str]:
    """Ids of the repositories whose sync progress the batch holds."""
    table = TABLES.sync_state
    repository_index = table.column_names.index("repository_id")
    return {values[repository_index] for values in batch.rows[table.name].values()} - {None}


@dataclass
class Tainted:
    """What a crawl's rejected rows taint: their pull requests, which must stay incomplete,
    and their repositories (ids), whose sync progress must not be written."""

    repositories: set[str] = field(default_factory=set)
    pull_requests: set[str] = field(default_factory=set)

    def withhold(self, batch: Batch) -> None:
        """Drop from the batch what the taint forbids writing."""
        for completed in batch.completed.values():
            for pull_request_id in self.pull_requests:
                completed.pop(pull_request_id, None)
        if not self.repositories:
            return
        table = TABLES.sync_state
        repository_index = table.column_names.index("repository_id")
        rows = batch.rows[table.name]
        for key in [key for key, values in rows.items() if values[repository_index] in self.repositories]:
            batch.withheld_repositories.append(rows.pop(key)[0])


class Database:
    """A connection plus the dialect to speak to it."""

    dialect: Dialect
    errors: tuple[type[Exception], ...]
    server = False  # does its work in a process of its own
    schema_lock: str | None = None  # makes workers starting together create the schema one by one

    def __init__(self, connection, description: str) -> None:
        self.connection = connection
        self.description = description

    def connection_lost(self, error: Exception) -> bool:
        """Whether ``error`` is the server gone (not a row it refused): the same batch may
        then be written again once :meth:`reconnect` succeeds. In-process SQLite never is."""
        return False

    def reconnect(self) -> None:
        """A new connection in place of the lost one (the error of connecting, if it fails)."""
        raise NotImplementedError(f"{type(self).__name__} has no server to reconnect to")

    def create_schema(self) -> None:
        """Create the tables, or upgrade a database an older prseed made, in place and in
        one transaction (under the advisory lock on PostgreSQL): the tables and columns it
        lacks are added, a table whose primary key is not the declared one gets it (4 keyed
        sync_state by repository and stream), nothing is dropped.  A database newer than
        this code is refused."""
        with self.transaction() as cursor:
            if self.schema_lock:
                cursor.execute(self.schema_lock)
            cursor.execute("CREATE TABLE IF NOT EXISTS prseed_schema (version INTEGER NOT NULL)")
            cursor.execute("SELECT version FROM prseed_schema")
            row = cursor.fetchone()
            found = None if row is None else row[0]
            if found is not None and found > SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.description} holds prseed schema version {found}, newer than this "
                    f"prseed's {SCHEMA_VERSION}: upgrade prseed (git pull) to use it"
                )
            if found is not None and found < OLDEST_UPGRADABLE:
                raise ConfigError(
                    f"{self.description} holds prseed schema version {found}, older than any this "
                    f"prseed upgrades ({OLDEST_UPGRADABLE}): use a new database"
                )
            upgrading = found is not None and found < SCHEMA_VERSION
            held = self.table_names(cursor) if upgrading else set()
            for statement in create_statements(self.dialect):
                cursor.execute(statement)
            if found is None:
                cursor.execute(
                    f"INSERT INTO prseed_schema (version) VALUES ({self.dialect.placeholder})",
                    (SCHEMA_VERSION,),
                )
            elif upgrading:
                changes = self._upgrade_tables(cursor, held)
                cursor.execute(
                    f"UPDATE prseed_schema SET version = {self.dialect.placeholder}", (SCHEMA_VERSION,)
                )
                logger.info(
                    "upgraded %s from prseed schema version %d to %d (%s)",
                    self.description,
                    found,
                    SCHEMA_VERSION,
                    changes,
                )

    def _upgrade_tables(self, cursor, held: set[str]) -> str:
        """Give every table the columns and the primary key it is declared with, and mark
        incomplete the rows that now lack data (see :meth:`_refetch`); say what changed."""
        added, rekeyed, grown = [], [], set()
        for table in TABLES:
            present = self._column_names(cursor, table.name)
            missing = [column for column in table.columns if column.name not in present]
            added += [f"{table.name}.{column.name}" for column in missing]
            if missing and table.name in held:
                grown.add(table.name)
            if self._primary_key(cursor, table.name) != table.key:
                self._rekey(cursor, table, missing)
                rekeyed.append(f"{table.name} by ({', '.join(table.key)})")
            else:
                for column in missing:
                    self._add_column(cursor, table, column)
        changes = [f"added {', '.join(added)}"] if added else []
        changes += [f"keyed {', '.join(rekeyed)}"] if rekeyed else []
        refetched = self._refetch(cursor, held, grown)
        changes += [f"{count} {title} to fetch again" for title, count in refetched.items() if count]
        return "; ".join(changes) or "nothing"

    def _refetch(self, cursor, held: set[str], grown: set[str]) -> dict[str, int]:
        """Rows an older prseed wrote complete lack what this one collects when their table
        gained columns or a child table is new: marked incomplete, the next crawl fetches them
        again by id (as after a lost page), so the database ends equal to GitHub's data."""
        counts = {}
        for table in TABLES:
            if table.completion is None or table.name not in held:
                continue
            new_children = any(
                child.replaced_with is not None
                and child.replaced_with.table == table.name
                and child.name not in held
                for child in TABLES
            )
            if table.name in grown or new_children:
                cursor.execute(
                    f"UPDATE {table.name} SET {table.completion.column} = FALSE "
                    f"WHERE {table.completion.column} = TRUE"
                )
                counts[table.heading] = cursor.rowcount
        return counts

    def _add_column(self, cursor, table: Table, column: Column) -> None:
        cursor.execute(add_column_statement(table, column, self.dialect))

    def _rekey(self, cursor, table: Table, missing: list[Column]) -> None:
        """Give ``table`` its declared primary key, adding its ``missing`` columns."""
        raise NotImplementedError

    def _column_names(self, cursor, table_name: str) -> set[str]:
        raise NotImplementedError

    def _primary_key(self, cursor, table_name: str) -> tuple[str, ...]:
        raise NotImplementedError

    def write(
        self, batch: Batch, replaced_tables: tuple[Table, ...], tainted: Tainted | None = None
    ) -> list[RejectedRow]:
        """Write a batch in one transaction; if the database rejects a row, write the
        rest row by row so that one bad row loses only itself.

        A pull request with a rejected row stays incomplete (the next crawl fetches it
        again by id), and its repository's sync progress is not written, in this batch or
        any later one given the same ``tainted``: a watermark or cursor must never move past
        rows the database lacks."""
        tainted = Tainted() if tainted is None else tainted
        tainted.withhold(batch)
        try:
            with self.transaction() as cursor:
                self._write(cursor, batch, replaced_tables, rejected=None)
            return []
        except self.errors as error:
            if self.connection_lost(error):
                raise
            rejected: list[RejectedRow] = []
            with self.transaction() as cursor:
                self._write(cursor, batch, replaced_tables, rejected=rejected, tainted=tainted)
            return rejected

    def _write(self, cursor, batch: Batch, replaced_tables, rejected, tainted=None) -> None:
        for table in replaced_tables:
            replaced = [(key,) for key in batch.replaced[table.replaced_with.table]]
            if replaced:
                statement = delete_children_statement(table, self.dialect)
                self._execute(cursor, statement, replaced, table, rejected, (table.replaced_with.column,))
        for table in TABLES.data:
            rows = list(batch.rows[table.name].values())
            if rows:
                self._execute(cursor, upsert_statement(table, self.dialect), rows, table, rejected)
        if rejected:
            self._keep_incomplete(cursor, batch, rejected, tainted)
        for table in TABLES.bookkeeping:
            rows = list(batch.rows[table.name].values())
            if rows:
                self._execute(cursor, upsert_statement(table, self.dialect), rows, table, rejected)
        for table in TABLES.completable:
            completed = [(key,) for key in batch.completed[table.name]]
            if completed:
                statement = complete_statement(table, self.dialect)
                self._execute(cursor, statement, completed, table, rejected, (table.completion.key,))

    def _keep_incomplete(self, cursor, batch: Batch, rejected: list[RejectedRow], tainted: Tainted) -> None:
        """After rows were rejected: their pull requests stay (or become) incomplete, and
        their repositories are tainted, so their progress is withheld."""
        repository_of = {row[1]: row[0] for row in self._pull_request_repositories(cursor, batch, rejected)}
        for row in rejected:
            pull_request_id = row.pull_request_id
            if pull_request_id is not None:
                repository_id = repository_of.get(pull_request_id)
            elif row.table == Repository.TABLE:
                repository_id = row.row.get("id")
            else:  # labels and milestones name their repository; a member row, none
                repository_id = row.row.get("repository_id")
            if repository_id is not None:
                tainted.repositories.add(repository_id)
            elif pull_request_id is None:  # no telling whose: every repository of this batch
                tainted.repositories.update(batch_repositories(batch))
        # an existing PR row may have had its children replaced in this transaction
        for table, pull_request_id in {(row.completed_by, row.pull_request_id) for row in rejected}:
            if pull_request_id is not None:
                tainted.pull_requests.add(pull_request_id)
                cursor.execute(incomplete_statement(table, self.dialect), (pull_request_id,))
        tainted.withhold(batch)

    def _pull_request_repositories(self, cursor, batch: Batch, rejected: list[RejectedRow]):
        """(repository_id, pull_request_id) of the rejected rows' pull requests (completable
        rows): from the rejected rows themselves, the batch, or the database."""
        found = {}
        for table in TABLES.completable:
            key = table.completion.key
            wanted = {row.pull_request_id for row in rejected if row.completed_by is table} - {None}
            own = [row.row for row in rejected if row.table == table.name]
            found.update({row[key]: row["repository_id"] for row in own})
            key_index = table.column_names.index(key)
            repository_index = table.column_names.index("repository_id")
            for values in batch.rows[table.name].values():
                if values[key_index] in wanted:
                    found.setdefault(values[key_index], values[repository_index])
            select = self._sql(f"SELECT repository_id FROM {table.name} WHERE {key} = ?")
            for pull_request_id in wanted - set(found):
                cursor.execute(select, (pull_request_id,))
                match = cursor.fetchone()
                if match is not None:
                    found[pull_request_id] = match[0]
        return [(repository_id, pull_request_id) for pull_request_id, repository_id in found.items()]

    def _execute(
        self, cursor, statement: str, rows: list[tuple], table: Table, rejected, columns: tuple = ()
    ) -> None:
        """``statement`` for every row, whose values are the table's ``columns`` (all of them
        by default); row by row if ``rejected`` collects the rows the database rejects."""
        if rejected is None:
            cursor.executemany(statement, rows)
            return
        columns = columns or table.column_names
        for row in rows:
            cursor.execute("SAVEPOINT prseed_row")
            try:
                cursor.execute(statement, row)
            except self.errors as exc:
                cursor.execute("ROLLBACK TO SAVEPOINT prseed_row")
                reason = str(exc).strip().splitlines()[0]
                rejected.append(RejectedRow(table.name, dict(zip(columns, row, strict=True)), reason))
            cursor.execute("RELEASE SAVEPOINT prseed_row")

    def select(self, table: Table, where: str = "", parameters: tuple = ()) -> list[dict]:
        """Rows of a table as dicts of Python values: timestamps as GitHub writes them
        (``2024-03-01T12:00:00Z``) and booleans as bool, whichever the database."""
        names = table.column_names
        booleans = {column.name for column in table.columns if column.kind == "boolean"}
        condition = f" WHERE {self._sql(where)}" if where else ""
        with self.transaction() as cursor:
            cursor.execute(f"SELECT {', '.join(names)} FROM {table.name}{condition}", parameters)
            rows = cursor.fetchall()
        return [
            {
                name: (bool(value) if name in booleans and value is not None else from_database(value))
                for name, value in zip(names, row, strict=True)
            }
            for row in rows
        ]

    def sync_state(self, repository: str, stream: str = PULL_REQUESTS_STREAM) -> SyncState | None:
        """Where the sync of one stream of ``repository`` (as the crawl spelled it) stands."""
        table = TABLES.sync_state
        rows = self.select(table, f"repository = ? AND {table.stream_key} = ?", (repository, stream))
        return table.item(**rows[0]) if rows else None

    def pull_request_count(self, repository_id: str) -> int:
        with self.transaction() as cursor:
            cursor.execute(
                self._sql(f"SELECT count(*) FROM {PullRequest.TABLE} WHERE repository_id = ?"),
                (repository_id,),
            )
            return cursor.fetchone()[0]

    def incomplete_pull_requests(self, repository_id: str) -> list[str]:
        table = TABLES.by_item[PullRequest]
        completion = table.completion
        rows = self.select(table, f"repository_id = ? AND NOT {completion.column}", (repository_id,))
        return sorted(row[completion.key] for row in rows)

    def count_repository_rows(self, repository: str) -> RepositoryRows | None:
        """What :meth:`delete_repository` would delete; None if the database holds nothing of it."""
        with self.transaction() as cursor:
            return self._repository_rows(cursor, repository, delete=False)

    def delete_repository(self, repository: str) -> RepositoryRows | None:
        """Delete every row of ``OWNER/NAME`` in one transaction, children first, and the
        members no other repository's rows refer to; return what was deleted (None: nothing
        of it was there).  A crawl of it then starts from nothing."""
        with self.transaction() as cursor:
            return self._repository_rows(cursor, repository, delete=True)

    def _repository_rows(self, cursor, repository: str, delete: bool) -> RepositoryRows | None:
        owner, _, name = repository.partition("/")
        cursor.execute(
            self._sql(
                "SELECT id, owner, name FROM repositories "
                "WHERE lower(owner) = lower(?) AND lower(name) = lower(?)"
            ),
            (owner, name),
        )
        found = cursor.fetchone()
        repository_id, spelled = (found[0], f"{found[1]}/{found[2]}") if found else (None, repository)
        members = self._members_only_of(cursor, repository_id, repository) if found else []
        rows = {}
        for table in reversed(TABLES):  # TABLES lists parents first
            if table.item is Member:
                if delete:
                    cursor.executemany(
                        self._sql("DELETE FROM members WHERE login = ?"), [(login,) for login in members]
                    )
                rows[table.name] = len(members)
                continue
            condition, parameters = rows_of_repository(table, repository_id, repository)
            action = "DELETE" if delete else "SELECT count(*)"
            cursor.execute(self._sql(f"{action} FROM {table.name} WHERE {condition}"), parameters)
            rows[table.name] = cursor.rowcount if delete else cursor.fetchone()[0]
        if found is None and not any(rows.values()):
            return None
        return RepositoryRows(spelled, rows)

    def _members_only_of(self, cursor, repository_id: str, repository: str) -> list[str]:
        """The logins of members that rows of this repository refer to, and no other row."""
        here: set[str] = set()
        elsewhere: set[str] = set()
        for table, column in MEMBER_COLUMNS:
            condition, parameters = rows_of_repository(table, repository_id, repository)
            for logins, rows in ((here, condition), (elsewhere, f"NOT ({condition})")):
                cursor.execute(
                    self._sql(
                        f"SELECT DISTINCT {column} FROM {table.name} WHERE {column} IS NOT NULL AND {rows}"
                    ),
                    parameters,
                )
                logins.update(login for (login,) in cursor.fetchall())
        cursor.execute("SELECT login FROM members")
        return sorted((here - elsewhere) & {login for (login,) in cursor.fetchall()})

    # --- which tables a database holds (those of other releases vary): upgrades, reports ---
    def table_names(self, cursor) -> set[str]:
        """The names of the tables the database holds."""
        raise NotImplementedError

    # --- reads for reports (scrapy metrics): plain SELECTs, the same in both dialects ---

    def query(self, sql: str, parameters: tuple = ()) -> list[dict]:
        """The rows of a SELECT (``?`` placeholders) as dicts by column name, timestamps as
        GitHub writes them: for reports over tables they need not know the declarations of."""
        with self.transaction() as cursor:
            cursor.execute(self._sql(sql), parameters)
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        return [{name: from_database(value) for name, value in zip(names, row, strict=True)} for row in rows]

    def missing_tables(self, names: tuple[str, ...]) -> list[str]:
        """Those of ``names`` the database has no table of (one an older prseed made)."""
        with self.transaction() as cursor:
            present = self.table_names(cursor)
        return [name for name in names if name not in present]

    # --- end of reads for reports ---

    def _sql(self, text: str) -> str:
        """``text`` with its ``?`` placeholders in this database's style."""
        return text.replace("?", self.dialect.placeholder)

    @contextmanager
    def transaction(self):
        raise NotImplementedError

    def close(self) -> None:
        self.connection.close()


class SQLiteDatabase(Database):
    dialect = SQLITE
    errors = (sqlite3.Error,)

    def _column_names(self, cursor, table_name: str) -> set[str]:
        cursor.execute(f"PRAGMA table_info({table_name})")
        return {row[1] for row in cursor.fetchall()}

    def table_names(self, cursor) -> set[str]:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in cursor.fetchall()}

    def _primary_key(self, cursor, table_name: str) -> tuple[str, ...]:
        cursor.execute(f"PRAGMA table_info({table_name})")
        return tuple(name for _, name in sorted((row[5], row[1]) for row in cursor.fetchall() if row[5]))

    def _rekey(self, cursor, table: Table, missing: list[Column]) -> None:
        """SQLite alters no primary key: the table is built anew under another name, the rows
        copied into it (a missing column gets what :func:`upgrade_value` says), the old one
        dropped and the new one renamed.  No other table may refer to it."""
        rebuilt = f"prseed_rebuilt_{table.name}"
        cursor.execute(table_statements(table, self.dialect, name=rebuilt)[0])
        kept = [column.name for column in table.columns if column not in missing]
        filled = [column for column in missing if upgrade_value(table, column) is not None]
        names = ", ".join([*kept, *(column.name for column in filled)])
        values = ", ".join([*kept, *("?" for _ in filled)])
        cursor.execute(
            f"INSERT INTO {rebuilt} ({names}) SELECT {values} FROM {table.name}",
            [upgrade_value(table, column) for column in filled],
        )
        cursor.execute(f"DROP TABLE {table.name}")
        cursor.execute(f"ALTER TABLE {rebuilt} RENAME TO {table.name}")
        for statement in table_statements(table, self.dialect)[1:]:  # its indexes
            cursor.execute(statement)

    @contextmanager
    def transaction(self):
        cursor = self.connection.cursor()
        cursor.execute("BEGIN")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")


class PostgreSQLDatabase(Database):
    """Writes a batch with COPY into temporary staging tables, then in one round trip the
    deletes of replaced children and one ``INSERT ... SELECT ... ON CONFLICT`` per table:
    less of the client's CPU and of the server's than ``execute_values``, and few round
    trips, each of which costs a thread sharing the GIL a wait (see the README's
    "Performance").  A batch the server rejects is written again row by row with plain
    upserts (see :meth:`Database.write`)."""

    dialect = POSTGRESQL
    server = True
    # CREATE TABLE IF NOT EXISTS races with itself in PostgreSQL; a lock held to commit does not
    schema_lock = "SELECT pg_advisory_xact_lock(7370726565640001)"

    def __init__(self, connection, description: str) -> None:
        import psycopg2

        super().__init__(connection, description)
        self.errors = (psycopg2.Error,)
        self._staged = False  # the staging tables exist in this session
        self.url = ""  # set by open_database: what reconnect() connects to

    def connection_lost(self, error: Exception) -> bool:
        import psycopg2

        return isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError) and bool(
            self.connection.closed
        )

    def reconnect(self) -> None:
        import psycopg2

        if not self.connection.closed:
            self.connection.close()
        self.connection = psycopg2.connect(self.url, connect_timeout=CONNECT_TIMEOUT)
        self._staged = False  # staging tables belong to the session that is gone

    def _column_names(self, cursor, table_name: str) -> set[str]:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table_name,),
        )
        return {row[0] for row in cursor.fetchall()}

    def table_names(self, cursor) -> set[str]:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in cursor.fetchall()}

    def _primary_key_columns(self, cursor, table_name: str) -> list[tuple[str, str]]:
        """(constraint, column) of the table's primary key, in key order."""
        cursor.execute(
            "SELECT c.constraint_name, k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema "
            "AND k.constraint_name = c.constraint_name "
            "WHERE c.table_schema = current_schema() AND c.table_name = %s "
            "AND c.constraint_type = 'PRIMARY KEY' "
            "ORDER BY k.ordinal_position",
            (table_name,),
        )
        return cursor.fetchall()

    def _primary_key(self, cursor, table_name: str) -> tuple[str, ...]:
        return tuple(column for _, column in self._primary_key_columns(cursor, table_name))

    def _add_column(self, cursor, table: Table, column: Column) -> None:
        """The default that filled the rows already there is dropped: the column is then as
        a new database has it."""
        super()._add_column(cursor, table, column)
        if not column.nullable:
            cursor.execute(f"ALTER TABLE {table.name} ALTER COLUMN {column.name} DROP DEFAULT")

    def _rekey(self, cursor, table: Table, missing: list[Column]) -> None:
        for column in missing:
            self._add_column(cursor, table, column)
        for constraint in {constraint for constraint, _ in self._primary_key_columns(cursor, table.name)}:
            cursor.execute(f'ALTER TABLE {table.name} DROP CONSTRAINT "{constraint}"')
        cursor.execute(f"ALTER TABLE {table.name} ADD PRIMARY KEY ({', '.join(table.key)})")

    def _write(self, cursor, batch: Batch, replaced_tables, rejected, tainted=None) -> None:
        if rejected is not None:
            super()._write(cursor, batch, replaced_tables, rejected, tainted)
            return
        if not self._staged:
            cursor.execute(";".join(create_staging_statement(table) for table in TABLES))
            self._staged = True
        statements, parameters = [], []
        for table in replaced_tables:
            replaced = list(batch.replaced[table.replaced_with.table])
            if replaced:
                statements.append(delete_children_statement(table, self.dialect, many=True))
                parameters.append(replaced)
        for table in TABLES:
            rows = list(batch.rows[table.name].values())
            if rows:  # into a staging table a commit empties again
                cursor.copy_expert(copy_statement(table), io.StringIO(copy_text(rows)), size=COPY_CHUNK)
                statements.append(upsert_statement(table, self.dialect, from_staging=True))
        for table in TABLES.completable:
            completed = list(batch.completed[table.name])
            if completed:
                statements.append(complete_statement(table, self.dialect, many=True))
                parameters.append(completed)
        if statements:
            cursor.execute(";\n".join(statements), parameters)

    @contextmanager
    def transaction(self):
        try:
            with self.connection.cursor() as cursor:
                yield cursor
        except BaseException:
            if not self.connection.closed:  # a lost connection has nothing to roll back
                self.connection.rollback()
            self._staged = False  # if this transaction created them, they are gone
            raise
        self.connection.commit()


COPY_CHUNK = 1 << 20  # characters psycopg2 sends per read of a COPY's data


def copy_field(value) -> str:
    """One value in COPY's text format: backslash, tab, newline and carriage return
    escaped with a backslash, NULL as backslash-N."""
    if type(value) is str:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def copy_text(rows: list[tuple]) -> str:
    """Rows as the data of ``COPY ... FROM STDIN`` in text format."""
    return "".join("\t".join(map(copy_field, row)) + "\n" for row in rows)


def from_database(value):
    """A value read back from either database, in the form prseed writes it."""
    if isinstance(value, datetime):
        return timestamps.github(value)
    return value


def open_database(url: str) -> Database:
    """Connect to ``postgresql://…`` or ``sqlite:///path`` and make sure the schema exists.

    Raises :class:`ConfigError` with the fix in its message when that cannot work.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("postgresql", "postgres"):
        database = _open_postgresql(url)
    elif scheme == "sqlite":
        database = _open_sqlite(url)
    else:
        raise ConfigError(
            f"DATABASE_URL {without_password(url)!r} is not supported: use postgresql://USER@HOST/DB or sqlite:///PATH"
        )
    return database


def _open_postgresql(url: str) -> Database:
    import psycopg2

    try:
        connection = psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT)
    except psycopg2.Error as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(
            f"cannot connect to PostgreSQL at {without_password(url)}: {reason} (check DATABASE_URL)"
        ) from None
    database = PostgreSQLDatabase(connection, f"PostgreSQL database {without_password(url)}")
    database.url = url
    database.create_schema()
    return database


def _open_sqlite(url: str) -> Database:
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"SQLite URL {url!r} must look like sqlite:///relative/path or sqlite:////abs/path")
    path = url[len("sqlite:///") :]
    if path != ":memory:" and not Path(path).parent.is_dir():
        raise ConfigError(
            f"cannot create SQLite database {path}: directory {Path(path).parent} does not exist "
            "(create it or set DATABASE_URL=sqlite:///another/path)"
        )
    try:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        # the references PostgreSQL enforces: no child row without its parent
        connection.execute("PRAGMA foreign_keys=ON")
        database = SQLiteDatabase(connection, f"SQLite database {path}")
        database.create_schema()
    except sqlite3.Error as exc:
        raise ConfigError(
            f"cannot write SQLite database {path}: {exc} (set DATABASE_URL=sqlite:///a/writable/path)"
        ) from None
    return database
