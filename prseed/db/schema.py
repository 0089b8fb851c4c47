"""The database schema: the declared tables (:mod:`prseed.db.registry`) rendered as SQL
for SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import MISSING, dataclass

from prseed.db.registry import TABLES
from prseed.db.tables import Column, Table

SCHEMA_VERSION = 4
# The oldest schema this prseed upgrades in place (see Database.create_schema): 3 added
# sync_state's coverage, 4 keyed sync_state by (repository, stream).
OLDEST_UPGRADABLE = 2

DATA_TABLES = TABLES.data
TABLE_BY_ITEM = TABLES.by_item
TABLE_BY_NAME = TABLES.by_name


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


def sql_literal(value) -> str:
    """A constant in SQL text, for DDL, which takes no parameters."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def upgrade_value(table: Table, column: Column):
    """What the rows already there get in a column an upgrade adds: NULL, or the item
    field's default; a column with neither cannot be added."""
    if column.nullable:
        return None
    if column.default is MISSING:
        raise ValueError(
            f"{table.name}.{column.name}: a column added by an upgrade must be nullable or have a default"
        )
    return column.default


def add_column_statement(table: Table, column: Column, dialect: Dialect) -> str:
    line = f"ALTER TABLE {table.name} ADD COLUMN {column_definition(column, dialect, table.foreign_keys)}"
    value = upgrade_value(table, column)
    return line if value is None else f"{line} DEFAULT {sql_literal(value)}"


def table_statements(table: Table, dialect: Dialect, name: str | None = None) -> list[str]:
    """CREATE TABLE (as ``name``, by default the table's) and its indexes."""
    references = table.foreign_keys
    lines = [column_definition(column, dialect, references) for column in table.columns]
    lines.append(f"PRIMARY KEY ({', '.join(table.key)})")
    if table.unique:
        lines.append(f"UNIQUE ({', '.join(table.unique)})")
    body = ",\n  ".join(lines)
    statements = [f"CREATE TABLE IF NOT EXISTS {name or table.name} (\n  {body}\n)"]
    if name is None and table.replaced_with and table.key[0] != table.replaced_with.column:
        column = table.replaced_with.column
        statements.append(f"CREATE INDEX IF NOT EXISTS {table.name}_{column} ON {table.name} ({column})")
    return statements


def create_statements(dialect: Dialect) -> list[str]:
    """CREATE TABLE/INDEX statements, safe to run on every start."""
    statements = [
        "CREATE TABLE IF NOT EXISTS prseed_schema (version INTEGER NOT NULL)",
    ]
    for table in TABLES:
        statements += table_statements(table, dialect)
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


def _keys(dialect: Dialect, many: bool) -> str:
    """The right-hand side of ``key = ...``: one key, or (PostgreSQL) a list of keys in one parameter."""
    return f"ANY({dialect.placeholder})" if many else dialect.placeholder


def _set_completion(table: Table, value: str, keys: str) -> str:
    completion = table.completion
    return f"UPDATE {table.name} SET {completion.column} = {value} WHERE {completion.key} = {keys}"


def complete_statement(table: Table, dialect: Dialect, many: bool = False) -> str:
    """Mark rows of a completable table complete (see :class:`prseed.db.tables.Completion`)."""
    return _set_completion(table, "TRUE", _keys(dialect, many))


def incomplete_statement(table: Table, dialect: Dialect) -> str:
    """A row with a rejected row of its own or of its children: the next crawl fetches it again."""
    return _set_completion(table, "FALSE", dialect.placeholder)


def delete_children_statement(table: Table, dialect: Dialect, many: bool = False) -> str:
    return f"DELETE FROM {table.name} WHERE {table.replaced_with.column} = {_keys(dialect, many)}"
