"""A fake GitHub GraphQL API on 127.0.0.1, for testing a crawler without the internet.

It executes queries with graphql-core against ``schema.graphql`` (a subset of
GitHub's schema) over a ``Dataset``, and imitates what a crawler has to
survive on the real API: GitHub's pagination rules and point costs, a
per-account budget, secondary rate limits, resource limits, and faults
(5xx, HTML or truncated bodies, dropped connections, revoked tokens) on
demand or at random.  Every request is logged in ``FakeGitHub.requests``.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_argument_values, get_variable_values

from .apps import FakeApp
from .data import FILES_CAP, NODE_TYPES, Dataset, iso, node_id

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
PATHS = ("/graphql", "/api/graphql")
MAX_PAGE = 100
DOCUMENTATION_URL = "https://docs.github.com/graphql"
SECONDARY_DOCUMENTATION_URL = (
    "https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api"
    "#secondary-rate-limits"
)
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
TIMEOUT_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, "
    "or it could be a GitHub bug. Please include `{request_id}` when reporting this issue."
)
UNICORN_PAGE = b"<!DOCTYPE html><html><body><h1>Unicorn!</h1><p>No server is available.</p></body></html>"
RATE_LIMIT_MODES = ("on", "null", "zero")  # GitHub's; GHES with rate limits off: null, or 0 of 0
FAULT_KINDS = ("502", "503", "504", "not_json", "truncated", "reset", "secondary", "rate_limited", "revoke")
ORDER_FIELDS = {"CREATED_AT": "createdAt", "UPDATED_AT": "updatedAt"}
CURSOR_PREFIX = "cursor:v2:"


class GitHubError(GraphQLError):
    """An execution error carrying GitHub's top-level ``type`` (NOT_FOUND, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, extensions={"type": kind})


# ---------------------------------------------------------------------------
# Pagination


def encode_cursor(key: Any) -> str:
    """An opaque cursor, base64 like GitHub's (``Y3Vyc29yOnYyOp...``)."""
    return base64.b64encode((CURSOR_PREFIX + json.dumps(key)).encode()).decode()


def decode_cursor(cursor: str) -> Any:
    """The key inside a cursor; ValueError if it is not one of ours."""
    text = base64.b64decode(cursor, validate=True).decode()  # binascii.Error is a ValueError
    if not text.startswith(CURSOR_PREFIX):
        raise ValueError(cursor)
    return json.loads(text[len(CURSOR_PREFIX) :])


class Positions:
    """Cursors that are list positions, as GitHub's for a PR's commits or files."""

    def key(self, index: int) -> Any:
        return index

    def seek(self, key: Any, after: bool) -> int:
        if not isinstance(key, int) or isinstance(key, bool):
            raise ValueError(key)
        return key + 1 if after else key


@dataclass
class SortKeys:
    """Cursors that hold the sort key ``(value, number)``, as GitHub's for ordered pull
    requests: a cursor keeps its place when the PR it came from is updated and moves."""

    keys: list[tuple[str, int]]  # ascending
    descending: bool

    def key(self, index: int) -> Any:
        position = len(self.keys) - 1 - index if self.descending else index
        return list(self.keys[position])

    def seek(self, key: Any, after: bool) -> int:
        value, number = key  # ValueError/TypeError when malformed
        if not isinstance(value, str) or not isinstance(number, int):
            raise ValueError(key)
        if self.descending:
            bound = bisect.bisect_left if after else bisect.bisect_right
            return len(self.keys) - bound(self.keys, (value, number))
        bound = bisect.bisect_right if after else bisect.bisect_left
        return bound(self.keys, (value, number))


def seek(cursors: Positions | SortKeys, cursor: str, after: bool) -> int:
    """Where a page starts (``after``) or ends (``before``); GitHub's error for a bad cursor."""
    try:
        return cursors.seek(decode_cursor(cursor), after)
    except (TypeError, ValueError):
        raise GitHubError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        ) from None


def paginate(items: list, arguments: dict, cursors: Positions | SortKeys | None = None) -> dict:
    """One page of a connection, by ``first``/``last``/``after``/``before``."""
    cursors = cursors or Positions()
    start, end = 0, len(items)
    if arguments.get("after") is not None:
        start = seek(cursors, arguments["after"], after=True)
    if arguments.get("before") is not None:
        end = seek(cursors, arguments["before"], after=False)
    start, end = max(start, 0), max(min(end, len(items)), start)
    if arguments.get("first") is not None:
        end = min(end, start + max(arguments["first"], 0))
    if arguments.get("last") is not None:
        start = max(start, end - max(arguments["last"], 0))
    page = items[start:end]
    return {
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": encode_cursor(cursors.key(start)) if page else None,
            "endCursor": encode_cursor(cursors.key(end - 1)) if page else None,
        },
        "nodes": page,
    }


# ---------------------------------------------------------------------------
# Resolvers


@dataclass
class Context:
    """What resolvers of one request see."""

    dataset: Dataset
    viewer: dict
    rate_limit: dict
    resource_limit_nodes: int | None


def resolve_repository(_root: Any, info: Any, owner: str, name: str) -> dict:
    wanted = f"{owner}/{name}".lower()
    for full_name, repository in info.context.dataset.repositories.items():
        if full_name.lower() == wanted:
            return repository
    raise GitHubError("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")


def resolve_node(_root: Any, info: Any, id: str) -> dict:  # "id": GraphQL's argument name
    found = info.context.dataset.node(id)
    if found is None:
        raise GitHubError("NOT_FOUND", f"Could not resolve to a node with the global id of '{id}'")
    return found


def resolve_nodes(_root: Any, info: Any, ids: list[str]) -> list:
    """Like GitHub: a missing id is a null in the list (GitHub adds a NOT_FOUND error too)."""
    return [info.context.dataset.node(node_id) for node_id in ids]


def resolve_pull_requests(repository: dict, info: Any, orderBy: dict | None = None, **arguments: Any) -> dict:
    """Pull requests in GitHub's order (CREATED_AT ASC unless asked otherwise), with
    resource limits: too large a page answers its nodes as errors, as GitHub does."""
    order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
    if order["field"] not in ORDER_FIELDS:
        raise GitHubError("INTERNAL", f"The fake server cannot order pull requests by {order['field']}.")
    pulls, keys = info.context.dataset.ordered_pull_requests(
        repository["nameWithOwner"], ORDER_FIELDS[order["field"]]
    )
    descending = order["direction"] == "DESC"
    connection = paginate(pulls[::-1] if descending else pulls, arguments, SortKeys(keys, descending))
    limit = info.context.resource_limit_nodes
    if limit is not None and max(arguments.get("first") or 0, arguments.get("last") or 0) > limit:
        connection["nodes"] = [
            GitHubError("RESOURCE_LIMITS_EXCEEDED", "Resource limits for this query exceeded.")
            for _ in connection["nodes"]
        ]
    return connection


# --- repository-level streams: deployments and issues


def ordered_connection(items: list, order: dict, arguments: dict) -> dict:
    """A page of ``items`` in ``order`` (a DeploymentOrder or IssueOrder), with cursors
    that hold the sort key, as for pull requests."""
    if order["field"] not in ORDER_FIELDS:
        raise GitHubError("INTERNAL", f"The fake server cannot order by {order['field']}.")
    key = ORDER_FIELDS[order["field"]]
    ordered = sorted(items, key=lambda item: (item[key], item["number"] if "number" in item else item["id"]))
    keys = [(item[key], index) for index, item in enumerate(ordered)]
    descending = order["direction"] == "DESC"
    return paginate(ordered[::-1] if descending else ordered, arguments, SortKeys(keys, descending))


def resolve_deployments(
    repository: dict, _info: Any, orderBy: dict, environments: list | None = None, **arguments: Any
) -> dict:
    """Deployments (CREATED_AT ASC unless asked otherwise), of ``environments`` only when given."""
    chosen = [
        deployment
        for deployment in repository["deployments"]
        if environments is None or deployment["environment"] in environments
    ]
    return ordered_connection(chosen, orderBy, arguments)


def resolve_issues(repository: dict, _info: Any, orderBy: dict | None = None, **arguments: Any) -> dict:
    order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
    return ordered_connection(repository["issues"], order, arguments)


def list_connection(key: str, cap: int | None = None):
    """A resolver paging through the list ``source[key]`` (at most ``cap`` of it)."""

    def resolve(source: dict, _info: Any, **arguments: Any) -> dict:
        items = source[key]
        return paginate(items[:cap] if cap is not None else items, arguments)

    return resolve


# --- prconn: PRSEED_COLLECT's parts


def item_type(typename: str) -> str:
    """``ReadyForReviewEvent`` -> GitHub's item type ``READY_FOR_REVIEW_EVENT``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", typename).upper()


def resolve_timeline_items(source: dict, _info: Any, itemTypes: list | None = None, **arguments: Any) -> dict:
    """A PR's timeline, of the item types asked for (all of them without ``itemTypes``)."""
    items = source["timelineItems"]
    if itemTypes is not None:
        wanted = set(itemTypes)
        items = [item for item in items if item_type(item["__typename"]) in wanted]
    return paginate(items, arguments)


def resolve_total_comments_count(source: dict, _info: Any) -> int:
    """GitHub counts the conversation's comments and the review threads' together."""
    return len(source["comments"]) + sum(len(thread["comments"]) for thread in source["reviewThreads"])


# --- end of prconn's resolvers


def resolve_node_type(value: dict, _info: Any, _type: Any) -> str:
    return NODE_TYPES[value["id"].split("_", 1)[0]]


def make_schema() -> GraphQLSchema:
    """The subset schema with resolvers over a Dataset (found in the request context)."""
    schema = build_schema(SCHEMA_PATH.read_text())
    resolvers = {
        ("Query", "repository"): resolve_repository,
        ("Query", "node"): resolve_node,
        ("Query", "nodes"): resolve_nodes,
        ("Query", "viewer"): lambda _root, info: info.context.viewer,
        ("Query", "rateLimit"): lambda _root, info: info.context.rate_limit,
        ("Repository", "pullRequests"): resolve_pull_requests,
        ("PullRequest", "files"): list_connection("files", FILES_CAP),
        ("Commit", "checkSuites"): list_connection("checkSuites"),
        ("CheckSuite", "checkRuns"): list_connection("checkRuns"),
    }
    for name in ("labels", "closingIssuesReferences", "reviews", "commits"):
        resolvers["PullRequest", name] = list_connection(name)
    # prconn: PRSEED_COLLECT's parts
    for name in ("reviewThreads", "comments", "reviewRequests", "assignees"):
        resolvers["PullRequest", name] = list_connection(name)
    resolvers["PullRequest", "timelineItems"] = resolve_timeline_items
    resolvers["PullRequest", "totalCommentsCount"] = resolve_total_comments_count
    resolvers["PullRequestReviewThread", "comments"] = list_connection("comments")
    # --- repository-level streams: deployments and issues
    resolvers["Repository", "deployments"] = resolve_deployments
    resolvers["Repository", "issues"] = resolve_issues
    resolvers["Deployment", "statuses"] = list_connection("statuses")
    for name in ("labels", "assignees", "closedByPullRequestsReferences"):
        resolvers["Issue", name] = list_connection(name)
    for (type_name, field_name), resolver in resolvers.items():
        schema.type_map[type_name].fields[field_name].resolve = resolver
    schema.type_map["Node"].resolve_type = resolve_node_type
    return schema


SCHEMA = make_schema()


# ---------------------------------------------------------------------------
# Documents: validation, GitHub's pagination rules and cost


@dataclass
class Prepared:
    """A query parsed and validated once, however often it is sent."""

    document: DocumentNode | None
    errors: list[dict]


@lru_cache(maxsize=256)
def prepare(query: str) -> Prepared:
    try:
        document = parse(query)
    except GraphQLError as error:
        return Prepared(None, [github_error(error)])
    errors = validate(SCHEMA, document)
    return Prepared(document, [validation_error(document, error) for error in errors])


ERROR_KEYS = ("type", "path", "extensions", "locations", "message")


def github_error(error: GraphQLError, **overrides: Any) -> dict:
    """An error in GitHub's shape and key order: ``type`` at the top level, not in extensions."""
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})
    shaped = {
        "type": extensions.pop("type", None),
        "path": formatted.get("path"),
        "extensions": extensions or None,
        "locations": formatted.get("locations"),
        "message": formatted["message"],
        **overrides,
    }
    return {key: shaped[key] for key in ERROR_KEYS if shaped[key] is not None}


UNDEFINED_FIELD = re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\.")


def validation_error(document: DocumentNode, error: GraphQLError) -> dict:
    """graphql-core's validation error, with GitHub's path into the document and its
    ``undefinedField`` wording and code."""
    overrides: dict[str, Any] = {}
    if error.nodes:
        overrides["path"] = document_path(document, error.nodes[0])
    match = UNDEFINED_FIELD.match(error.message)
    if match:
        overrides["extensions"] = {
            "code": "undefinedField",
            "typeName": match["type"],
            "fieldName": match["field"],
        }
        overrides["message"] = f"Field '{match['field']}' doesn't exist on type '{match['type']}'"
    return github_error(error, **overrides)


class _Ancestry(Visitor):
    def __init__(self, target: Node) -> None:
        super().__init__()
        self.target = target
        self.found: list[Node] = []

    def enter(self, node: Node, _key: Any, _parent: Any, _path: Any, ancestors: list) -> Any:
        if node is self.target:
            self.found = [*(a for a in ancestors if isinstance(a, Node)), node]
            return BREAK
        return None


def document_path(document: DocumentNode, target: Node) -> list[str]:
    """Where ``target`` sits in the document, as GitHub names it:
    ``["query PullRequestPage", "repository", "pullRequests", ...]``."""
    finder = _Ancestry(target)
    visit(document, finder)
    path = []
    for node in finder.found:
        if isinstance(node, OperationDefinitionNode):
            kind = node.operation.value
            path.append(f"{kind} {node.name.value}" if node.name else kind)
        elif isinstance(node, FragmentDefinitionNode):
            path.append(f"fragment {node.name.value}")
        elif isinstance(node, InlineFragmentNode):
            path.append(f"... on {node.type_condition.name.value}" if node.type_condition else "...")
        elif isinstance(node, FieldNode):
            path.append((node.alias or node.name).value)
    return path


@dataclass
class ConnectionUse:
    """One connection field of a query, with the page count its parents multiply it by."""

    node: FieldNode
    path: tuple[str, ...]
    name: str
    first: int | None
    last: int | None
    multiplier: int


@dataclass
class Analysis:
    """GitHub's static checks of a query: pagination errors, point cost, node count."""

    errors: list[dict] = field(default_factory=list)
    cost: int = 1
    node_count: int = 0


def connection_uses(document: DocumentNode, operation: OperationDefinitionNode, variables: Any):
    """Every connection field the operation selects, fragments expanded."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = SCHEMA.get_root_type(operation.operation)

    def walk(selections: SelectionSetNode, parent: Any, path: tuple, multiplier: int):
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield from visit_field(selection, parent, path, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = SCHEMA.get_type(condition.name.value) if condition else parent
                yield from walk(selection.selection_set, target, path, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                target = SCHEMA.get_type(fragment.type_condition.name.value)
                yield from walk(fragment.selection_set, target, path, multiplier)

    def visit_field(selection: FieldNode, parent: Any, path: tuple, multiplier: int):
        definition = getattr(parent, "fields", {}).get(selection.name.value)
        if definition is None:  # __typename
            return
        path = (*path, (selection.alias or selection.name).value)
        named = get_named_type(definition.type)
        if named.name.endswith("Connection"):
            arguments = get_argument_values(definition, selection, variables)
            use = ConnectionUse(
                selection,
                path,
                selection.name.value,
                arguments.get("first"),
                arguments.get("last"),
                multiplier,
            )
            yield use
            multiplier *= use.first or use.last or 0
        if selection.selection_set:
            yield from walk(selection.selection_set, named, path, multiplier)

    yield from walk(operation.selection_set, root, (), 1)


def pagination_error(use: ConnectionUse) -> dict | None:
    """GitHub's MISSING_PAGINATION_BOUNDARIES / EXCESSIVE_PAGINATION, or None."""
    location = use.node.loc.source.get_location(use.node.loc.start)
    where = {"path": list(use.path), "locations": [{"line": location.line, "column": location.column}]}
    if use.first is None and use.last is None:
        message = (
            f"You must provide a `first` or `last` value to properly paginate the `{use.name}` connection."
        )
        return {"type": "MISSING_PAGINATION_BOUNDARIES", **where, "message": message}
    if use.first is not None and use.last is not None:
        message = f"Passing both `first` and `last` to paginate the `{use.name}` connection is not supported."
        return {"type": "ARGUMENT_LIMIT", **where, "message": message}
    argument, amount = ("first", use.first) if use.first is not None else ("last", use.last)
    if amount > MAX_PAGE:
        message = (
            f"Requesting {amount} records on the `{use.name}` connection exceeds "
            f"the `{argument}` limit of {MAX_PAGE} records."
        )
        return {"type": "EXCESSIVE_PAGINATION", **where, "message": message}
    return None


def analyse(document: DocumentNode, operation: OperationDefinitionNode, variables: Any) -> Analysis:
    """GitHub's rules, checked before execution: every connection needs ``first`` or
    ``last`` (at most 100); the cost is the number of pages the query could need
    (each connection counts the product of its enclosing connections' page sizes),
    divided by 100, rounded, at least 1."""
    analysis = Analysis()
    pages, seen = 0, set()
    for use in connection_uses(document, operation, variables):
        error = pagination_error(use)
        if error:
            analysis.errors.append(error)
            continue
        if use.path in seen:
            continue
        seen.add(use.path)
        pages += use.multiplier
        analysis.node_count += use.multiplier * (use.first or use.last or 0)
    analysis.cost = max(1, math.floor(pages / 100 + 0.5))
    return analysis


# ---------------------------------------------------------------------------
# Accounts, tokens and the request log


@dataclass
class RequestRecord:
    """One request as the server saw it.  ``time`` (request received) and ``end_time``
    (answer sent, or connection dropped) are ``time.monotonic()``; ``status`` is None
    for a dropped connection; ``cost`` is the points charged (0 when nothing ran);
    ``early`` marks a request sent while its token was told to wait (Retry-After)
    after a secondary rate limit."""

    time: float
    end_time: float | None = None
    token: str | None = None
    operation: str | None = None
    variables: dict | None = None
    status: int | None = None
    cost: int = 0
    fault: str | None = None
    early: bool = False


@dataclass
class Budget:
    """An account's primary rate limit: ``limit`` points per window, shared by its tokens."""

    limit: int
    window: float
    used: int = 0
    reset_at: float = 0.0  # epoch seconds

    def refresh(self) -> None:
        now = time.time()
        if now >= self.reset_at:
            self.used, self.reset_at = 0, now + self.window

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(int(self.reset_at)),
            "x-ratelimit-resource": "graphql",
        }


@dataclass
class TokenState:
    """Per-token bookkeeping for the secondary rate limits."""

    in_flight: int = 0
    resting_until: float = 0.0  # monotonic
    charges: deque = field(default_factory=deque)  # (monotonic time, points)

    def points_last_minute(self, now: float) -> int:
        while self.charges and self.charges[0][0] <= now - 60:
            self.charges.popleft()
        return sum(points for _, points in self.charges)


@dataclass
class Answer:
    """An HTTP answer; ``reset`` drops the connection instead of answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def json_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Answer(status, body, {"content-type": "application/json; charset=utf-8", **(headers or {})})


# ---------------------------------------------------------------------------
# The server


class FakeGitHub:
    """GitHub's GraphQL endpoint over ``dataset``, on 127.0.0.1 in a daemon thread.

    ``tokens`` maps a token to the login of its account; tokens of one login share
    that account's ``budget`` points per ``window_seconds``.  Optional secondary
    limits: ``max_concurrent_per_token`` requests in flight, ``points_per_minute``
    per token; either answers 403 with ``Retry-After: secondary_retry_after`` and
    the token must rest that long.  ``resource_limit_nodes`` makes a pull-request
    page of more PRs fail with RESOURCE_LIMITS_EXCEEDED.  ``fault_rates`` maps
    kinds of ``FAULT_KINDS`` to probabilities (deterministic by ``seed``);
    ``inject`` queues faults.  ``latency`` seconds are added before each answer.
    ``app`` serves a GitHub App's REST routes (:mod:`tests.fakegithub.apps`) and takes its
    installation tokens; ``rate_limits`` other than ``"on"`` is GitHub Enterprise Server
    with rate limits off: no ``x-ratelimit-*`` headers and ``rateLimit`` null (``"null"``)
    or a limit of 0 (``"zero"``), nothing charged.
    """

    def __init__(
        self,
        dataset: Dataset,
        tokens: dict[str, str] | None = None,
        *,
        budget: int = 5000,
        window_seconds: float = 3600,
        rate_limited_status: int = 200,
        max_concurrent_per_token: int | None = None,
        points_per_minute: int | None = None,
        secondary_retry_after: int = 3,
        resource_limit_nodes: int | None = None,
        fault_rates: dict[str, float] | None = None,
        seed: int = 0,
        latency: float = 0.0,
        port: int = 0,
        app: FakeApp | None = None,
        rate_limits: str = "on",
    ) -> None:
        self.dataset = dataset
        self.tokens = dict(tokens if tokens is not None else {"token-a": "alice", "token-b": "bob"})
        self.budget, self.window_seconds = budget, window_seconds
        self.rate_limited_status = rate_limited_status
        self.max_concurrent_per_token = max_concurrent_per_token
        self.points_per_minute = points_per_minute
        self.secondary_retry_after = secondary_retry_after
        self.resource_limit_nodes = resource_limit_nodes
        self.fault_rates = dict(fault_rates or {})
        check_fault_kinds(self.fault_rates)
        self.latency = latency
        self.port = port
        self.requests: list[RequestRecord] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._budgets: dict[str, Budget] = {}
        self._token_states: dict[str, TokenState] = {}
        self._revoked: set[str] = set()
        self._injected: list[list] = []  # [kind, count, match]
        self._user_ids = {login: i for i, login in enumerate(dict.fromkeys(self.tokens.values()), 1)}
        self.app = app
        if rate_limits not in RATE_LIMIT_MODES:
            raise ValueError(f"rate_limits must be one of {RATE_LIMIT_MODES}, not {rate_limits!r}")
        self.rate_limits = rate_limits
        for login in app.logins() if app else ():
            self._user_ids.setdefault(login, len(self._user_ids) + 1)
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._http = _HTTPServer(("127.0.0.1", self.port), _Handler)
        self._http.github = self
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever, args=(0.01,), name="fake-github", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._thread.join()
            self._http = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The endpoint, e.g. ``http://127.0.0.1:PORT/graphql`` (once started)."""
        return f"http://127.0.0.1:{self.port}/graphql"

    # -- controls for tests -------------------------------------------------

    def inject(self, kind: str, count: int = 1, match: str | None = None) -> None:
        """Answer the next ``count`` requests (of operation ``match``, or any) with fault ``kind``."""
        check_fault_kinds([kind])
        with self._lock:
            self._injected.append([kind, count, match])

    def revoke(self, token: str) -> None:
        """From now on, answer this token's requests 401 Bad credentials."""
        with self._lock:
            self._revoked.add(token)

    def requests_for(self, operation: str) -> list[RequestRecord]:
        """The logged requests of one operation (e.g. ``"PullRequestPage"``)."""
        return [record for record in self.requests if record.operation == operation]

    def budget_of(self, login: str) -> Budget:
        """The primary rate-limit budget of an account (created on first use)."""
        with self._lock:
            return self._budget(login)

    # -- request handling ---------------------------------------------------

    def _budget(self, login: str) -> Budget:
        budget = self._budgets.setdefault(login, Budget(self.budget, self.window_seconds))
        budget.refresh()
        return budget

    def serve(self, handler: BaseHTTPRequestHandler, started: float, body: bytes) -> None:
        """Answer one HTTP request and log it (called by the handler thread)."""
        record = RequestRecord(started, token=bearer_token(handler.headers.get("Authorization")))
        with self._lock:
            self.requests.append(record)
            state = self._token_states.setdefault(record.token, TokenState())
            state.in_flight += 1
        try:
            answer = self._rest(handler) or self._answer(record, handler.path, body)
            if self.rate_limits == "on":
                answer.headers = {**self._limit_headers(record.token), **answer.headers}
            record.status = None if answer.reset else answer.status
            if self.latency:
                time.sleep(self.latency)
        finally:
            # Before writing: a client may send its next request the moment it reads
            # this answer, and must not find this one still in flight.
            with self._lock:
                state.in_flight -= 1
        try:
            write_answer(handler, answer)
        finally:
            record.end_time = time.monotonic()  # the answer has left: the client may act on it

    def _answer(self, record: RequestRecord, path: str, body: bytes) -> Answer:
        if path.split("?")[0] not in PATHS:
            return json_answer(404, {"message": "Not Found", "documentation_url": DOCUMENTATION_URL})
        login = self._login(record.token)
        if login is None:
            return bad_credentials()
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError(request)
        except ValueError:
            return json_answer(400, {"message": "Problems parsing JSON"})
        query, variables = request.get("query"), request.get("variables") or {}
        record.variables = variables
        record.operation = operation_name(query, request.get("operationName"))
        record.fault = self._next_fault(record.operation)
        if record.fault and record.fault != "truncated":
            return self._fault(record, login)
        answer = self._secondary_check(record) or self._run(record, login, query, variables, request)
        if record.fault == "truncated":
            answer.body = answer.body[: len(answer.body) // 2]
        return answer

    def _login(self, token: str | None) -> str | None:
        with self._lock:
            if token in self._revoked:
                return None
        if self.app is not None and token is not None and token.startswith("ghs_"):
            return self.app.login_of(token)
        return self.tokens.get(token)

    def _limit_headers(self, token: str | None) -> dict[str, str]:
        """The x-ratelimit-* headers of the token's account (zeros without one)."""
        login = self._login(token)
        if login is None:
            return unauthenticated_limit_headers()
        with self._lock:
            return self._budget(login).headers()

    def _next_fault(self, operation: str | None) -> str | None:
        """The queued fault for this operation, else one drawn from ``fault_rates``."""
        with self._lock:
            for entry in self._injected:
                kind, _count, match = entry
                if match is None or match == operation:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._injected.remove(entry)
                    return kind
            if not self.fault_rates:
                return None
            roll = self._random.random()
        for kind, rate in sorted(self.fault_rates.items()):
            if roll < rate:
                return kind
            roll -= rate
        return None

    def _fault(self, record: RequestRecord, login: str) -> Answer:
        kind = record.fault
        if kind == "reset":
            return Answer(reset=True)
        if kind == "revoke":
            self.revoke(record.token)
            return bad_credentials()
        if kind == "secondary":
            return self._secondary(record)
        if kind == "rate_limited":
            return self._rate_limited(login)
        if kind == "not_json":
            return Answer(200, UNICORN_PAGE, {"content-type": "text/html; charset=utf-8"})
        request_id = f"F4KE:{len(self.requests):06X}"
        if kind == "502":
            payload = {"message": TIMEOUT_MESSAGE.format(request_id=request_id)}
        else:
            payload = {"message": "Service Unavailable" if kind == "503" else "Gateway Timeout"}
        return json_answer(int(kind), payload, {"x-github-request-id": request_id})

    def _secondary_check(self, record: RequestRecord) -> Answer | None:
        """403 while the token rests after a secondary limit, or when it has too many
        requests in flight."""
        with self._lock:
            state = self._token_states[record.token]
            now = time.monotonic()
            if now < state.resting_until:
                record.early = True
                return secondary_answer(math.ceil(state.resting_until - now))
            too_many = (
                self.max_concurrent_per_token is not None and state.in_flight > self.max_concurrent_per_token
            )
        return self._secondary(record) if too_many else None

    def _secondary(self, record: RequestRecord) -> Answer:
        with self._lock:
            state = self._token_states[record.token]
            state.resting_until = time.monotonic() + self.secondary_retry_after
        return secondary_answer(self.secondary_retry_after)

    def _rate_limited(self, login: str) -> Answer:
        payload = {
            "data": None,
            "errors": [
                {
                    "type": "RATE_LIMITED",
                    "message": f"API rate limit exceeded for user ID {self._user_ids[login]}.",
                }
            ],
        }
        return json_answer(self.rate_limited_status, payload, {"x-ratelimit-remaining": "0"})

    def _run(self, record: RequestRecord, login: str, query: Any, variables: Any, request: dict) -> Answer:
        """Validate, apply GitHub's pagination rules and limits, charge, execute."""
        if not isinstance(query, str):
            message = "A query attribute must be specified and must be a string."
            return json_answer(200, {"errors": [{"message": message}]})
        prepared = prepare(query)
        if prepared.errors:
            return json_answer(200, {"errors": prepared.errors})
        operation = get_operation_ast(prepared.document, request.get("operationName"))
        if operation is None:
            message = "An operation name is required when the document has several operations."
            return json_answer(200, {"errors": [{"message": message}]})
        coerced = get_variable_values(SCHEMA, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return json_answer(200, {"errors": [github_error(e) for e in coerced]})
        analysis = analyse(prepared.document, operation, coerced)
        if analysis.errors:
            return json_answer(200, {"data": None, "errors": analysis.errors})
        if self._over_points_per_minute(record, analysis.cost):
            return self._secondary(record)
        if self.rate_limits != "on":
            rate_limit = self._unlimited(analysis)
        else:
            rate_limit = self._charge(record, login, analysis)
            if rate_limit is None:
                return self._rate_limited(login)
        context = Context(self.dataset, self._viewer(login), rate_limit, self.resource_limit_nodes)
        with self.dataset.lock:
            result = execute_sync(
                SCHEMA,
                prepared.document,
                variable_values=variables,
                operation_name=request.get("operationName"),
                context_value=context,
            )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [github_error(error) for error in result.errors]
        return json_answer(200, payload)

    def _over_points_per_minute(self, record: RequestRecord, cost: int) -> bool:
        if self.points_per_minute is None:
            return False
        with self._lock:
            state = self._token_states[record.token]
            return state.points_last_minute(time.monotonic()) + cost > self.points_per_minute

    def _charge(self, record: RequestRecord, login: str, analysis: Analysis) -> dict | None:
        """Take the cost from the account's budget; the rateLimit object to answer, or
        None when the budget cannot pay for the query."""
        with self._lock:
            budget = self._budget(login)
            if budget.remaining < analysis.cost:
                return None
            budget.used += analysis.cost
            record.cost = analysis.cost
            self._token_states[record.token].charges.append((time.monotonic(), analysis.cost))
            return {
                "cost": analysis.cost,
                "limit": budget.limit,
                "nodeCount": analysis.node_count,
                "remaining": budget.remaining,
                "resetAt": iso(int(budget.reset_at)),
                "used": budget.used,
            }

    # -- REST: a GitHub App's routes; GitHub Enterprise Server without rate limits ------

    def _rest(self, handler: BaseHTTPRequestHandler) -> Answer | None:
        """The App's answer to a REST request, or None for a GraphQL request."""
        if self.app is None:
            return None
        path, authorization = handler.path.split("?")[0], handler.headers.get("Authorization")
        answered = self.app.answer(handler.command, path, authorization)
        return None if answered is None else json_answer(*answered)

    def _unlimited(self, analysis: Analysis) -> dict | None:
        """``rateLimit`` when GHES has rate limits off: null, or a limit of 0."""
        if self.rate_limits == "null":
            return None
        return {
            "cost": analysis.cost,
            "limit": 0,
            "nodeCount": analysis.node_count,
            "remaining": 0,
            "resetAt": iso(int(time.time()) + 3600),
            "used": 0,
        }

    def _viewer(self, login: str) -> dict:
        user_id = self._user_ids[login]
        return {
            "__typename": "User",
            "id": node_id("U", user_id),
            "login": login,
            "databaseId": user_id,
            "name": None,
        }


def check_fault_kinds(kinds: Any) -> None:
    unknown = set(kinds) - set(FAULT_KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: bearer X`` (or ``token X``), scheme case-insensitive."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() in ("bearer", "token") and token.strip():
        return token.strip()
    return None


def operation_name(query: Any, requested: str | None) -> str | None:
    """The operation's name as sent, else as written in the document."""
    if requested or not isinstance(query, str):
        return requested
    document = prepare(query).document
    operation = get_operation_ast(document) if document else None
    return operation.name.value if operation and operation.name else None


def bad_credentials() -> Answer:
    return json_answer(401, {"message": "Bad credentials", "documentation_url": DOCUMENTATION_URL})


def unauthenticated_limit_headers() -> dict[str, str]:
    return {
        "x-ratelimit-limit": "0",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "0",
        "x-ratelimit-reset": str(int(time.time()) + 3600),
        "x-ratelimit-resource": "graphql",
    }


def secondary_answer(retry_after: int) -> Answer:
    payload = {"message": SECONDARY_MESSAGE, "documentation_url": SECONDARY_DOCUMENTATION_URL}
    return json_answer(403, payload, {"retry-after": str(max(retry_after, 1))})


def write_answer(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    if answer.reset:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True
        return
    handler.send_response(answer.status)
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(answer.body)))
    handler.end_headers()
    handler.wfile.write(answer.body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    github: FakeGitHub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end on their own
    server: _HTTPServer

    def do_POST(self) -> None:
        started = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.github.serve(self, started, body)

    do_GET = do_POST  # a GitHub App's REST routes; GraphQL's are POST, as GitHub's

    def log_message(self, *_args: Any) -> None:
        """Quiet: the request log is ``FakeGitHub.requests``."""
