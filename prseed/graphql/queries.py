"""Every GraphQL document prseed sends, built from the streams' declarations.

Three documents per stream (see :mod:`prseed.engine.declarations`): a page of the
repository's connection, its nodes again by id, and for each connection followed, the
next page by the parent's node id.

GitHub's point cost of a query is the number of connection pages it could
need (each nested ``first:`` multiplies the pages below it) divided by 100,
with a minimum of 1.  Only *nested connections under nested connections*
multiply, so the per-PR connections (reviews, commits, files, ...) can ask for
generous first pages at no extra cost; check suites and their check runs are
the expensive part and are kept small.

Cost of one pull-request page of ``page_size`` PRs (``PRSEED_CHECK_RUNS``), the PR
alone (``PRSEED_COLLECT`` empty):

* ``head`` (default): 1 + page_size * (6 + 1 + 5) -> 25 PRs: 301 pages = 3 points
* ``none``:          1 + page_size * 5             -> 25 PRs: 126 pages = 1 point
* ``all``:           1 + page_size * (5 + 40 * (1 + 5)) -> 25 PRs: 6126 pages = 61 points

A follow-up page (by node id) costs 1 point, or 1 + 100 * 6 = 6 points for
commits in ``all`` mode.

With every part of ``PRSEED_COLLECT`` (the default), each PR adds 4 flat connections
(timeline, comments, review requests, assignees) and its review threads: 1 page for
the first 8 threads and 8 for their comments, 13 in all.  8 threads cost what 5 would
(the total rounds the same), 9 would cost a point more.  The statuses part reads the
head commit's ``statusCheckRollup`` and ``status.contexts`` (an object and a plain list,
no pages): in ``head`` mode they ride on the head commit's selection, in ``none`` and
``all`` modes that selection (``commits(last: 1)``) is 1 page more per PR.  Issue
references cost nothing: parsed from the title and body, read from closingIssuesReferences:

* every part, ``head``: 1 + page_size * (12 + 13) -> 25 PRs: 626 pages = 6 points
* every part, ``none``: 1 + page_size * (5 + 13 + 1) -> 25 PRs: 476 pages = 5 points
* every part, ``all``:  1 + page_size * (245 + 13 + 1) -> 25 PRs: 6476 pages = 65 points

Their follow-ups cost 1 point each too: a page of 100 threads brings the first 100
comments of each (1 + 100 pages), a thread's next comments come by the thread's id.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from prseed.engine.declarations import Connection, Fragment, Nested, Stream
from prseed.streams import variants

RATE_LIMIT = "rateLimit { cost remaining resetAt }"
# One cheap query per token at spider open: is it valid, whose is it, how much budget is left.
TOKEN_CHECK_QUERY = "query TokenCheck { viewer { login } rateLimit { limit remaining resetAt cost } }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"


@dataclass(frozen=True)
class Rendered:
    """A fragment's text, with the fragments it needs."""

    name: str
    text: str
    needs: tuple[Rendered, ...]


def _selection(connection: Connection, first: int, after: bool) -> str:
    arguments = f"first: {first}" + (", after: $after" if after else "")
    if connection.arguments:
        arguments += f", {connection.arguments}"
    total = " totalCount" if connection.total_count else ""
    return (
        f"{connection.selected}({arguments}) {{{total} {PAGE_INFO} nodes {{ ...{connection.node.name} }} }}"
    )


def _rendered(fragment: Fragment, nested: tuple[Nested, ...] = ()) -> Rendered:
    """``fragment`` with the first page of each nested connection (or the field that
    reaches its holders) after its own fields."""
    lines = textwrap.dedent(fragment.fields).strip().splitlines()
    needs = [_rendered(used) for used in fragment.uses]
    for link in nested:
        if link.via is None:
            lines.append(_selection(link.connection, link.connection.first_page, after=False))
            needs.append(node_fragment(link.connection))
        else:
            lines.append(link.selection)
            needs.append(_rendered(link.via, (Nested(link.connection),)))
    text = f"\nfragment {fragment.name} on {fragment.on} {{\n  " + "\n  ".join(lines) + "\n}"
    return Rendered(fragment.name, text, tuple(needs))


def node_fragment(connection: Connection) -> Rendered:
    return _rendered(connection.node, connection.nested)


def _document(body: str, roots: tuple[Rendered, ...]) -> str:
    """``body`` with every fragment ``roots`` need, each once, in the order first needed."""
    needed: dict[str, Rendered] = {}

    def add(fragment: Rendered) -> None:
        if fragment.name in needed:
            if needed[fragment.name].text != fragment.text:
                raise ValueError(f"two different fragments named {fragment.name}")
            return
        needed[fragment.name] = fragment
        for dependency in fragment.needs:
            add(dependency)

    for root in roots:
        add(root)
    return body.strip() + "\n" + "".join(fragment.text for fragment in needed.values()) + "\n"


def page_query(stream: Stream) -> str:
    """The query for one page of a repository's ``stream``, newest first."""
    root = _rendered(stream.node, stream.nested)
    declared = "".join(f", ${argument.name}: {argument.type}" for argument in stream.arguments)
    given = "".join(f", {argument.name}: ${argument.name}" for argument in stream.arguments)
    body = f"""
query {stream.page_operation}($owner: String!, $name: String!, $pageSize: Int!, $after: String{declared}) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    id
    name
    owner {{ login }}
    url
    {stream.connection}(first: $pageSize, after: $after, orderBy: {stream.order}{given}) {{
      totalCount
      {PAGE_INFO}
      nodes {{ ...{stream.node.name} }}
    }}
  }}
}}
{root.text}"""
    return _document(body, root.needs)


def by_id_query(stream: Stream) -> str:
    """The query that fetches a stream's nodes again by node id: those a crash or a failed
    page left incomplete in the database."""
    root = _rendered(stream.node, stream.nested)
    body = f"""
query {stream.by_id_operation}($ids: [ID!]!) {{
  {RATE_LIMIT}
  nodes(ids: $ids) {{ ...{stream.node.name} }}
}}
{root.text}"""
    return _document(body, root.needs)


def follow_up_operation(connection: Connection) -> str:
    return connection.parent_type + connection.name[0].upper() + connection.name[1:]


def follow_up_query(connection: Connection) -> str:
    """The query for the next page of one connection of a node, by the node's id."""
    selection = _selection(connection, connection.follow_page, after=True)
    body = f"""
query {follow_up_operation(connection)}($id: ID!, $after: String) {{
  {RATE_LIMIT}
  node(id: $id) {{
    ... on {connection.parent_type} {{
      {selection}
    }}
  }}
}}"""
    return _document(body, (node_fragment(connection),))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def all_queries() -> dict[str, str]:
    """Every document prseed can send, by a descriptive name (for validation tests)."""
    documents = {"token_check": TOKEN_CHECK_QUERY}
    for variant, stream in variants():
        documents[f"{_snake(stream.node.on)}_page[{variant}]"] = page_query(stream)
        documents[f"{stream.name}_by_id[{variant}]"] = by_id_query(stream)
        for connection in stream.connections().values():
            documents[f"{connection.name}[{variant}]"] = follow_up_query(connection)
    return documents
