"""The vocabulary a table is declared in: its item, keys, and the flags the generic layers
(the schema, the backends, the pipeline, ``dbstatus``, progress) read instead of knowing
tables by name.  The tables themselves are declared in :mod:`prseed.db.registry`.

Columns come from the item dataclass (one idea in one place); a declaration adds what an
item cannot say.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter

KINDS = {"str": "text", "int": "integer", "bool": "boolean"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, integer, boolean or timestamp
    nullable: bool
    default: object = dataclasses.MISSING  # the item field's; what an upgrade gives the rows already there


@dataclass(frozen=True)
class Parent:
    """A child table's rows are replaced as a whole whenever their parent row is written
    again, so that what disappeared on GitHub disappears here too."""

    table: str  # the parent table
    key: str  # the parent's column the children refer to
    column: str  # the child's column holding it

    @property
    def reference(self) -> str:
        return f"{self.table}({self.key})"


@dataclass(frozen=True)
class Completion:
    """A boolean column false until every page of a row's nested connections is written;
    a ``marker`` item (written after the last page) sets it."""

    column: str  # the flag, e.g. pull_requests.complete
    key: str  # the column that picks the row
    marker: type  # the item that marks a row complete
    marker_key: str  # the marker's field holding the row's key

    @cached_property
    def key_of(self):
        """marker item -> the key of the row it completes."""
        return attrgetter(self.marker_key)


@dataclass(frozen=True)
class Table:
    item: type
    key: tuple[str, ...]  # the natural key upserts conflict on
    unique: tuple[str, ...] = ()  # a further unique column set
    references: tuple[tuple[str, str], ...] = ()  # (column, "table(column)"), besides the parent's
    timestamps: tuple[str, ...] = ()  # the columns holding timestamps (the rest are typed by the item)
    replaced_with: Parent | None = None  # a child collection replaced as a whole with its parent
    completion: Completion | None = None  # the row is incomplete until its marker is written
    stream_key: str | None = None  # sync bookkeeping: the key column naming the stream a row is of
    # (setting, value): a crawl with that setting does not fetch this child collection, so
    # its rows are kept when their parent is written again
    skipped_by: tuple[str, str] | None = None
    # the PRSEED_COLLECT part that fetches this child collection: a crawl that does not
    # collect it keeps its rows when their parent is written again
    part: str | None = None
    members: tuple[str, ...] = ()  # the columns holding a member's login (members are shared)
    title: str | None = None  # what reports call its rows; the table's name with spaces by default
    summarized: bool = False  # counted in the table a crawl logs at its end

    def __post_init__(self) -> None:
        fields = {field.name: str(field.type) for field in dataclasses.fields(self.item)}
        named = [
            *self.key,
            *self.unique,
            *(column for column, _ in self.references),
            *self.timestamps,
            *self.members,
        ]
        if self.replaced_with:
            named.append(self.replaced_with.column)
        if self.completion:
            named += [self.completion.column, self.completion.key]
        if self.stream_key:
            named.append(self.stream_key)
        unknown = [name for name in named if name not in fields]
        if unknown:
            raise ValueError(
                f"table {self.name} declares {', '.join(unknown)}: not fields of {self.item.__name__}"
            )
        untyped = [name for name in self.timestamps if fields[name].split("|")[0].strip() != "str"]
        if untyped:
            raise ValueError(f"table {self.name}: timestamp columns {', '.join(untyped)} must be str fields")
        if self.stream_key and self.stream_key not in self.key:
            raise ValueError(f"table {self.name}: its stream key {self.stream_key} must be part of its key")

    @property
    def name(self) -> str:
        return self.item.TABLE

    def skipped(self, settings, collected: frozenset[str]) -> bool:
        """Does a crawl with these ``settings``, collecting these parts, leave this child
        collection alone?"""
        if self.skipped_by is not None and settings.get(self.skipped_by[0]) == self.skipped_by[1]:
            return True
        return self.part is not None and self.part not in collected

    @property
    def heading(self) -> str:
        return self.title or self.name.replace("_", " ")

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        return tuple(self._column(field) for field in dataclasses.fields(self.item))

    def _column(self, field: dataclasses.Field) -> Column:
        annotation = str(field.type)
        kind = "timestamp" if field.name in self.timestamps else KINDS[annotation.split("|")[0].strip()]
        return Column(field.name, kind, nullable="None" in annotation, default=field.default)

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(self.item))

    @cached_property
    def foreign_keys(self) -> dict[str, str]:
        """column -> the "table(column)" it references, the parent's included."""
        keys = dict(self.references)
        if self.replaced_with:
            keys[self.replaced_with.column] = self.replaced_with.reference
        return keys

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


class Tables(tuple):
    """Declared tables, parents first (a flush writes them in this order), with the
    lookups the generic layers need computed once."""

    def __new__(cls, *tables: Table) -> Tables:
        return super().__new__(cls, tables)

    def __init__(self, *tables: Table) -> None:
        self.by_item = {table.item: table for table in self}
        self.by_name = {table.name: table for table in self}
        if len(self.by_name) < len(self):
            raise ValueError("two tables of one name")
        for position, table in enumerate(self):
            parent = table.replaced_with
            if parent and parent.table not in {earlier.name for earlier in self[:position]}:
                raise ValueError(f"table {table.name}: its parent {parent.table} must be declared before it")
        # GitHub's data, as opposed to prseed's own bookkeeping (sync_state)
        self.data = tuple(table for table in self if not getattr(table.item, "BOOKKEEPING", False))
        self.bookkeeping = tuple(table for table in self if table not in self.data)
        self.completable = tuple(table for table in self if table.completion)
        self.by_marker = {table.completion.marker: table for table in self.completable}
        parent_keys = {(table.replaced_with.table, table.replaced_with.key) for table in self.replaced}
        if len(parent_keys) > len({parent for parent, _ in parent_keys}):
            raise ValueError("the children of one parent must refer to the same column of it")
        self.parent_keys = dict(parent_keys)  # parent table -> the column its children refer to
        # table -> (the completable table its rows are or belong to, the column holding that row's key)
        self.completed_by = {table.name: (table, table.completion.key) for table in self.completable}
        for table in self.replaced:
            parent = self.by_name[table.replaced_with.table]
            if parent.completion:
                self.completed_by[table.name] = (parent, table.replaced_with.column)
        streams = [table for table in self if table.stream_key]
        if len(streams) != 1:
            raise ValueError("exactly one table holds the sync state of streams (has a stream_key)")
        (self.sync_state,) = streams
        self.written = frozenset(self.by_item) | frozenset(self.by_marker)  # item types a batch takes

    @property
    def replaced(self) -> tuple[Table, ...]:
        """The child collections replaced with their parents."""
        return tuple(table for table in self if table.replaced_with)

    def children_of(self, parent: Table) -> tuple[Table, ...]:
        """The tables replaced with ``parent``, in declaration order."""
        return tuple(table for table in self.replaced if table.replaced_with.table == parent.name)
