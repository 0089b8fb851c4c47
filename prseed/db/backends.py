"""SQLite and PostgreSQL behind one small interface: create the schema, write a batch."""

from __future__ import annotations

import io
import logging
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from prseed import timestamps
from prseed.db.schema import (
    BOOKKEEPING_TABLES,
    DATA_TABLES,
    OLDEST_UPGRADABLE,
    POSTGRESQL,
    SCHEMA_VERSION,
    SQLITE,
    TABLE_BY_NAME,
    TABLES,
    Dialect,
    Table,
    add_column_statement,
    complete_statement,
    copy_statement,
    create_staging_statement,
    create_statements,
    delete_children_statement,
    incomplete_statement,
    upsert_statement,
)
from prseed.exceptions import ConfigError
from prseed.items import Member, Repository, SyncState
from prseed.urls import without_password

logger = logging.getLogger(__name__)


class Batch:
    """Rows waiting to be written, de-duplicated by natural key (the last one wins)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple, tuple]] = {table.name: {} for table in TABLES}
        # item type -> its table's rows, key getter and row getter, looked up once per row
        self._tables = {table.item: (self.rows[table.name], table.key_of, table.row_of) for table in TABLES}
        self.replaced_pull_requests: dict[str, None] = {}
        self.completed_pull_requests: dict[str, None] = {}
        self.withheld_repositories: list[str] = []  # whose progress was not written (see Database.write)
        self.items = 0

    def add(self, item: object, replaces_children: bool = False) -> None:
        self.items += 1
        table = self._tables.get(type(item))
        if table is None:  # a PullRequestComplete
            self.completed_pull_requests[item.pull_request_id] = None
            return
        rows, key_of, row_of = table
        rows[key_of(item)] = row_of(item)
        if replaces_children:
            self.replaced_pull_requests[item.id] = None

    def __len__(self) -> int:
        return self.items


# Columns holding a member's login: members are shared, so a repository's rows refer to them.
MEMBER_COLUMNS = tuple(
    (table, column) for table in TABLES for column in table.column_names if column.endswith("_login")
)


def rows_of_repository(table: Table, repository_id: str | None, repository: str) -> tuple[str, tuple]:
    """The condition (``?`` placeholders) and parameters that pick a table's rows of one
    repository; not for members, which repositories share."""
    if "pull_request_id" in table.column_names:
        return "pull_request_id IN (SELECT id FROM pull_requests WHERE repository_id = ?)", (repository_id,)
    if table.item is Repository:
        return "id = ?", (repository_id,)
    if table.item is SyncState:  # also the row of a crawl that never learnt the repository's id
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
    def pull_request_id(self) -> str | None:
        return self.row.get("id") if self.table == "pull_requests" else self.row.get("pull_request_id")

    def describe(self) -> str:
        """Name the pull request the row belongs to, so a user can find it on GitHub."""
        if self.table == "pull_requests":
            where = f"#{self.row.get('number')} ({self.row.get('id')})"
            return f"pull_requests row of pull request {where}: {self.error}"
        if self.pull_request_id is not None:
            return f"{self.table} row of pull request {self.pull_request_id}: {self.error}"
        name = next((self.row[key] for key in ("login", "name", "id") if self.row.get(key)), self.row)
        return f"{self.table} row {name!r}: {self.error}"


def batch_repositories(batch: Batch) -> set[str]:
    """Ids of the repositories whose sync progress the batch holds."""
    table = TABLE_BY_NAME["sync_state"]
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
        for pull_request_id in self.pull_requests:
            batch.completed_pull_requests.pop(pull_request_id, None)
        if not self.repositories:
            return
        table = TABLE_BY_NAME["sync_state"]
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

    def create_schema(self) -> None:
        """Create the tables, or upgrade a database an older prseed made, in place and in
        one transaction (under the advisory lock on PostgreSQL): the tables and columns it
        lacks are added, nothing is dropped.  A database newer than this code is refused."""
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
            for statement in create_statements(self.dialect):
                cursor.execute(statement)
            if found is None:
                cursor.execute(
                    f"INSERT INTO prseed_schema (version) VALUES ({self.dialect.placeholder})",
                    (SCHEMA_VERSION,),
                )
            elif found < SCHEMA_VERSION:
                added = self._add_missing_columns(cursor)
                cursor.execute(
                    f"UPDATE prseed_schema SET version = {self.dialect.placeholder}", (SCHEMA_VERSION,)
                )
                logger.info(
                    "upgraded %s from prseed schema version %d to %d (added %s)",
                    self.description,
                    found,
                    SCHEMA_VERSION,
                    ", ".join(added) or "nothing",
                )

    def _add_missing_columns(self, cursor) -> list[str]:
        added = []
        for table in TABLES:
            present = self._column_names(cursor, table.name)
            for column in table.columns:
                if column.name not in present:
                    cursor.execute(add_column_statement(table, column, self.dialect))
                    added.append(f"{table.name}.{column.name}")
        return added

    def _column_names(self, cursor, table_name: str) -> set[str]:
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
        except self.errors:
            rejected: list[RejectedRow] = []
            with self.transaction() as cursor:
                self._write(cursor, batch, replaced_tables, rejected=rejected, tainted=tainted)
            return rejected

    def _write(self, cursor, batch: Batch, replaced_tables, rejected, tainted=None) -> None:
        replaced = [(pull_request_id,) for pull_request_id in batch.replaced_pull_requests]
        if replaced:
            for table in replaced_tables:
                self._execute(
                    cursor, delete_children_statement(table, self.dialect), replaced, table, rejected
                )
        for table in DATA_TABLES:
            rows = list(batch.rows[table.name].values())
            if rows:
                self._execute(cursor, upsert_statement(table, self.dialect), rows, table, rejected)
        if rejected:
            self._keep_incomplete(cursor, batch, rejected, tainted)
        for table in BOOKKEEPING_TABLES:
            rows = list(batch.rows[table.name].values())
            if rows:
                self._execute(cursor, upsert_statement(table, self.dialect), rows, table, rejected)
        completed = [(pull_request_id,) for pull_request_id in batch.completed_pull_requests]
        if completed:
            self._execute(
                cursor, complete_statement(self.dialect), completed, TABLE_BY_NAME["pull_requests"], rejected
            )

    def _keep_incomplete(self, cursor, batch: Batch, rejected: list[RejectedRow], tainted: Tainted) -> None:
        """After rows were rejected: their pull requests stay (or become) incomplete, and
        their repositories are tainted, so their progress is withheld."""
        repository_of = {row[1]: row[0] for row in self._pull_request_repositories(cursor, batch, rejected)}
        for row in rejected:
            pull_request_id = row.pull_request_id
            if pull_request_id is not None:
                repository_id = repository_of.get(pull_request_id)
            elif row.table == "repositories":
                repository_id = row.row.get("id")
            else:  # labels and milestones name their repository; a member row, none
                repository_id = row.row.get("repository_id")
            if repository_id is not None:
                tainted.repositories.add(repository_id)
            elif pull_request_id is None:  # no telling whose: every repository of this batch
                tainted.repositories.update(batch_repositories(batch))
        # an existing PR row may have had its children replaced in this transaction
        for pull_request_id in {row.pull_request_id for row in rejected} - {None}:
            tainted.pull_requests.add(pull_request_id)
            cursor.execute(incomplete_statement(self.dialect), (pull_request_id,))
        tainted.withhold(batch)

    def _pull_request_repositories(self, cursor, batch: Batch, rejected: list[RejectedRow]):
        """(repository_id, pull_request_id) of the rejected rows' pull requests: from the
        rejected PR rows themselves, the batch, or the database."""
        wanted = {row.pull_request_id for row in rejected} - {None}
        found = {row.row["id"]: row.row["repository_id"] for row in rejected if row.table == "pull_requests"}
        table = TABLE_BY_NAME["pull_requests"]
        id_index, repository_index = table.column_names.index("id"), table.column_names.index("repository_id")
        for values in batch.rows[table.name].values():
            if values[id_index] in wanted:
                found.setdefault(values[id_index], values[repository_index])
        for pull_request_id in wanted - set(found):
            cursor.execute(
                f"SELECT repository_id FROM pull_requests WHERE id = {self.dialect.placeholder}",
                (pull_request_id,),
            )
            match = cursor.fetchone()
            if match is not None:
                found[pull_request_id] = match[0]
        return [(repository_id, pull_request_id) for pull_request_id, repository_id in found.items()]

    def _execute(self, cursor, statement: str, rows: list[tuple], table: Table, rejected) -> None:
        if rejected is None:
            cursor.executemany(statement, rows)
            return
        for row in rows:
            cursor.execute("SAVEPOINT prseed_row")
            try:
                cursor.execute(statement, row)
            except self.errors as exc:
                cursor.execute("ROLLBACK TO SAVEPOINT prseed_row")
                columns = table.column_names if len(row) == len(table.column_names) else ("pull_request_id",)
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

    def sync_state(self, repository: str) -> SyncState | None:
        rows = self.select(TABLE_BY_NAME["sync_state"], "repository = ?", (repository,))
        return SyncState(**rows[0]) if rows else None

    def pull_request_count(self, repository_id: str) -> int:
        with self.transaction() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM pull_requests WHERE repository_id = {self.dialect.placeholder}",
                (repository_id,),
            )
            return cursor.fetchone()[0]

    def incomplete_pull_requests(self, repository_id: str) -> list[str]:
        table = TABLE_BY_NAME["pull_requests"]
        rows = self.select(table, "repository_id = ? AND NOT complete", (repository_id,))
        return sorted(row["id"] for row in rows)

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

    def _column_names(self, cursor, table_name: str) -> set[str]:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table_name,),
        )
        return {row[0] for row in cursor.fetchall()}

    def _write(self, cursor, batch: Batch, replaced_tables, rejected, tainted=None) -> None:
        if rejected is not None:
            super()._write(cursor, batch, replaced_tables, rejected, tainted)
            return
        if not self._staged:
            cursor.execute(";".join(create_staging_statement(table) for table in TABLES))
            self._staged = True
        statements, parameters = [], []
        replaced = list(batch.replaced_pull_requests)
        if replaced:
            for table in replaced_tables:
                statements.append(delete_children_statement(table, self.dialect, many=True))
                parameters.append(replaced)
        for table in TABLES:
            rows = list(batch.rows[table.name].values())
            if rows:  # into a staging table a commit empties again
                cursor.copy_expert(copy_statement(table), io.StringIO(copy_text(rows)), size=COPY_CHUNK)
                statements.append(upsert_statement(table, self.dialect, from_staging=True))
        completed = list(batch.completed_pull_requests)
        if completed:
            statements.append(complete_statement(self.dialect, many=True))
            parameters.append(completed)
        if statements:
            cursor.execute(";\n".join(statements), parameters)

    @contextmanager
    def transaction(self):
        try:
            with self.connection.cursor() as cursor:
                yield cursor
        except BaseException:
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
        connection = psycopg2.connect(url, connect_timeout=10)
    except psycopg2.Error as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(
            f"cannot connect to PostgreSQL at {without_password(url)}: {reason} (check DATABASE_URL)"
        ) from None
    database = PostgreSQLDatabase(connection, f"PostgreSQL database {without_password(url)}")
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
