"""The vocabulary a stream is declared in: fragments, connections, nested connections, streams.

A stream is data: what to select (GraphQL fragments), which connections to follow to their
end, what each node becomes (a records function), where the watermark is.  The engine
(:mod:`prseed.engine.engine`) crawls any stream declared so, and
:mod:`prseed.graphql.queries` builds every document from the same declarations, so a new
connection or a new stream is a declaration and no change to either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# (node, context) -> the items the node holds, parents before the rows that name them.
Records = Callable[[dict, dict], list]
SPREAD = re.compile(r"\.\.\.(\w+)")


@dataclass(frozen=True)
class Fragment:
    """A named GraphQL fragment: ``fields`` is its selection (one field a line, nested
    selections indented as they are to read), ``uses`` the fragments it spreads."""

    name: str
    on: str  # the GraphQL type
    fields: str
    uses: tuple[Fragment, ...] = ()

    def __post_init__(self) -> None:
        known = {fragment.name for fragment in self.uses}
        spread = set(SPREAD.findall(self.fields))
        if spread != known:
            raise ValueError(f"fragment {self.name} spreads {sorted(spread)} but uses {sorted(known)}")


def the_node(node: dict) -> Iterable[dict]:
    return (node,)


def no_context(holder: dict) -> dict:
    return {}


@dataclass(frozen=True)
class Connection:
    """A paginated connection followed to its end: its first page comes inside its parent's
    answer, the next ones by the parent's node id (a follow-up query)."""

    name: str  # the field on the parent type (or its alias, when ``field`` is given)
    parent_type: str  # the GraphQL type whose node id a follow-up query starts from
    node: Fragment  # selects one node
    first_page: int  # nodes asked for inside the parent's answer
    follow_page: int  # nodes asked for per follow-up query
    records: Records
    total_count: bool = False
    nested: tuple[Nested, ...] = ()  # connections of each node, followed too
    arguments: str = ""  # further arguments of the field, e.g. ``itemTypes: [MERGED_EVENT]``
    # The GraphQL field when ``name`` is an alias: names are unique in a stream, fields need
    # not be (a PR's ``comments`` and a review thread's).
    field: str | None = None

    @property
    def selected(self) -> str:
        """How a document selects the connection: ``name`` or ``name: field``."""
        return self.name if self.field is None else f"{self.name}: {self.field}"


@dataclass(frozen=True)
class Nested:
    """A connection reached from a node: on the node itself, or on objects the node holds
    (``holders``, each with an ``id``, selected by ``selection`` through the ``via``
    fragment, which the document builder gives the connection's first page)."""

    connection: Connection
    holders: Callable[[dict], Iterable[dict]] = the_node
    context: Callable[[dict], dict] = no_context  # what a holder adds to its nodes' context
    selection: str | None = None  # the field that reaches the holders, when not the node
    via: Fragment | None = None  # the holders' fragment, spread by ``selection``

    def __post_init__(self) -> None:
        if (self.selection is None) != (self.via is None):
            raise ValueError(f"nested {self.connection.name}: give both selection and via, or neither")


@dataclass(frozen=True)
class Argument:
    """An argument a stream gives its connection (``environments: $environments``), sent as a
    variable of type ``type`` with ``value`` (a tuple for a GraphQL list)."""

    name: str
    type: str
    value: Any


@dataclass(frozen=True)
class Stream:
    """A repository-level stream: one of a repository's connections, newest first, with what
    hangs off each node.  ``name`` is its key in ``sync_state`` and in the stats."""

    name: str
    noun: str  # what one node is called in log lines ("PR")
    connection: str  # the field on Repository
    order: str  # the connection's orderBy, newest ``watermark`` first
    node: Fragment
    records: Callable[[dict, str], list]  # (node, repository_id) -> items, the marker row among them
    nested: tuple[Nested, ...] = ()
    child_key: str = "id"  # the context key a node's id is given to its nested connections under
    watermark: str = "updatedAt"  # the field the order sorts by: the sync's watermark
    # The row that stays incomplete until the node's last nested page is written (its
    # ``complete`` field), and the item that then marks it complete.
    marker: type | None = None
    completion: Callable[[str], Any] | None = None
    # Reading the database: the ids of nodes left incomplete (fetched again by id), and how
    # many nodes it holds (judging the coverage of a sync by an older prseed).
    incomplete: Callable[[Any, str], list[str]] | None = None
    count: Callable[[Any, str], int] | None = None
    arguments: tuple[Argument, ...] = ()  # besides first, after and orderBy
    # How far below the watermark a sync re-reads, in seconds, when more than
    # PRSEED_SYNC_OVERLAP_SECONDS: nodes that go on changing without their watermark moving.
    window: float = 0
    # Does a node's watermark move when it changes (updatedAt)?  If not (createdAt), a first
    # page with nothing newer than the watermark does not end the sync: the window is re-read.
    watermark_moves: bool = True

    @property
    def label(self) -> str:
        return f"{self.noun}s"

    @property
    def page_operation(self) -> str:
        return f"{self.node.on}Page"

    @property
    def by_id_operation(self) -> str:
        return f"{self.node.on}sById"

    @property
    def refetches(self) -> bool:
        """Are incomplete nodes fetched again by id?"""
        return self.incomplete is not None

    def connections(self) -> dict[str, Connection]:
        """Every connection followed under a node, by name (names are unique in a stream)."""
        found: dict[str, Connection] = {}
        pending = [nested.connection for nested in self.nested]
        while pending:
            connection = pending.pop(0)
            if found.setdefault(connection.name, connection) is not connection:
                raise ValueError(f"stream {self.name}: two connections named {connection.name}")
            pending.extend(nested.connection for nested in connection.nested)
        return found
