"""The database schema: one definition, rendered for SQLite and PostgreSQL.

Columns come from the item dataclasses in :mod:`prseed.items` (one idea in one
place); this module adds what items cannot say: natural keys, references, and
which tables hold a pull request's child collections.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter

from prseed import items

SCHEMA_VERSION = 3
# The oldest schema this prseed upgrades in place.  Every upgrade since adds tables and
# nullable columns only (see Database.create_schema): 3 added sync_state's coverage.
OLDEST_UPGRADABLE = 2


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, integer, boolean or timestamp
    nullable: bool


@dataclass(frozen=True)
class Table:
    item: type
    key: tuple[str, ...]  # the natural key upserts conflict on
    unique: tuple[str, ...] = ()  # a further unique column set
    references: tuple[tuple[str, str], ...] = ()  # (column, "table(column)")
    child_of_pull_request: bool = False  # replaced as a whole when its PR is re-fetched

    @property
    def name(self) -> str:
        return self.item.TABLE

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        return tuple(_column(field) for field in dataclasses.fields(self.item))

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(self.item))

    @cached_property
    def row_of(self):
        """item -> its values in column order (called for every row written)."""
        return _values_of(self.column_names)

    @cached_property
    def key_of(self):
        """item -> its natural key."""
        return _values_of(self.key)


def _values_of(names: tuple[str, ...]):
    getter = attrgetter(*names)
    return getter if len(names) > 1 else lambda item: (getter(item),)


def _column(field: dataclasses.Field) -> Column:
    annotation = str(field.type)
    base = annotation.split("|")[0].strip()
    if field.name.endswith("_at") or field.name == "due_on":
        kind = "timestamp"
    else:
        kind = {"str": "text", "int": "integer", "bool": "boolean"}[base]
    return Column(field.name, kind, nullable="None" in annotation)


PULL_REQUEST = ("pull_request_id", "pull_requests(id)")

# Parents first: a flush writes tables in this order.
TABLES = (
    Table(items.Repository, key=("owner", "name"), unique=("id",)),
    Table(items.Member, key=("login",)),
    Table(items.Milestone, key=("repository_id", "number")),
    Table(items.Label, key=("repository_id", "name")),
    Table(
        items.PullRequest,
        key=("repository_id", "number"),
        unique=("id",),
        references=(("repository_id", "repositories(id)"),),
    ),
    Table(
        items.PullRequestLabel,
        key=("pull_request_id", "label_name"),
        references=(PULL_REQUEST,),
        child_of_pull_request=True,
    ),
    Table(
        items.ClosingIssue,
        key=("pull_request_id", "issue_repository", "issue_number"),
        references=(PULL_REQUEST,),
        child_of_pull_request=True,
    ),
    Table(items.Review, key=("id",), references=(PULL_REQUEST,), child_of_pull_request=True),
    Table(
        items.Commit,
        key=("pull_request_id", "oid"),
        references=(PULL_REQUEST,),
        child_of_pull_request=True,
    ),
    Table(
        items.File,
        key=("pull_request_id", "path"),
        references=(PULL_REQUEST,),
        child_of_pull_request=True,
    ),
    Table(items.CheckRun, key=("id",), references=(PULL_REQUEST,), child_of_pull_request=True),
    Table(items.SyncState, key=("repository",)),
)
# Tables of GitHub's data, as opposed to prseed's own bookkeeping (sync_state).
DATA_TABLES = tuple(table for table in TABLES if not getattr(table.item, "BOOKKEEPING", False))
BOOKKEEPING_TABLES = tuple(table for table in TABLES if table not in DATA_TABLES)
TABLE_BY_ITEM = {table.item: table for table in TABLES}
TABLE_BY_NAME = {table.name: table for table in TABLES}


@dataclass(frozen=True)
class Dialect:
    name: str
    types: dict[str, str]
    placeholder: str


SQLITE = Dialect(
    "sqlite",
    {"text": "TEXT", "integer": "INTEGER", "boolean": "INTEGER", "timestamp": "TEXT"},
    "?",
)
POSTGRESQL = Dialect(
    "postgresql",
    {"text": "TEXT", "integer": "BIGINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ"},
    "%s",
)


def column_definition(column: Column, dialect: Dialect, references: dict[str, str]) -> str:
    line = f"{column.name} {dialect.types[column.kind]}"
    if not column.nullable:
        line += " NOT NULL"
    if column.name in references:
        line += f" REFERENCES {references[column.name]}"
    return line


def add_column_statement(table: Table, column: Column, dialect: Dialect) -> str:
    """Upgrades add only nullable columns: the rows already there get NULL."""
    if not column.nullable:
        raise ValueError(f"{table.name}.{column.name}: a column added by an upgrade must be nullable")
    return f"ALTER TABLE {table.name} ADD COLUMN {column_definition(column, dialect, dict(table.references))}"


def create_statements(dialect: Dialect) -> list[str]:
    """CREATE TABLE/INDEX statements, safe to run on every start."""
    statements = [
        "CREATE TABLE IF NOT EXISTS prseed_schema (version INTEGER NOT NULL)",
    ]
    for table in TABLES:
        references = dict(table.references)
        lines = [column_definition(column, dialect, references) for column in table.columns]
        lines.append(f"PRIMARY KEY ({', '.join(table.key)})")
        if table.unique:
            lines.append(f"UNIQUE ({', '.join(table.unique)})")
        body = ",\n  ".join(lines)
        statements.append(f"CREATE TABLE IF NOT EXISTS {table.name} (\n  {body}\n)")
        if table.child_of_pull_request and table.key[0] != "pull_request_id":
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {table.name}_pull_request_id ON {table.name} (pull_request_id)"
            )
    return statements


def upsert_statement(
    table: Table, dialect: Dialect, values: str | None = None, from_staging: bool = False
) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE, the same text in both dialects.

    ``values`` replaces the row of placeholders (psycopg2's execute_values wants ``%s``);
    ``from_staging`` inserts the rows of the table's staging table instead.
    """
    columns = ", ".join(table.column_names)
    if from_staging:
        source = f"SELECT {columns} FROM {staging_table(table)}"
    else:
        if values is None:
            values = "(" + ", ".join([dialect.placeholder] * len(table.column_names)) + ")"
        source = f"VALUES {values}"
    updates = [f"{name} = excluded.{name}" for name in table.column_names if name not in table.key]
    action = "DO UPDATE SET " + ", ".join(updates) if updates else "DO NOTHING"
    return f"INSERT INTO {table.name} ({columns}) {source} ON CONFLICT ({', '.join(table.key)}) {action}"


def staging_table(table: Table) -> str:
    return f"prseed_staging_{table.name}"


def create_staging_statement(table: Table) -> str:
    """PostgreSQL: a session's temporary table that a batch is COPYed into, then upserted
    from; emptied by every commit."""
    return (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging_table(table)} (LIKE {table.name}) "
        "ON COMMIT DELETE ROWS"
    )


def copy_statement(table: Table) -> str:
    return f"COPY {staging_table(table)} ({', '.join(table.column_names)}) FROM STDIN"


def _pull_request_ids(dialect: Dialect, many: bool) -> str:
    """The right-hand side of ``id = ...``: one id, or (PostgreSQL) a list of ids in one parameter."""
    return f"ANY({dialect.placeholder})" if many else dialect.placeholder


def complete_statement(dialect: Dialect, many: bool = False) -> str:
    return f"UPDATE pull_requests SET complete = TRUE WHERE id = {_pull_request_ids(dialect, many)}"


def incomplete_statement(dialect: Dialect) -> str:
    """A pull request with a rejected row: the next crawl fetches it again by id."""
    return f"UPDATE pull_requests SET complete = FALSE WHERE id = {dialect.placeholder}"


def delete_children_statement(table: Table, dialect: Dialect, many: bool = False) -> str:
    return f"DELETE FROM {table.name} WHERE pull_request_id = {_pull_request_ids(dialect, many)}"
