"""Every GraphQL document prseed sends, built from one table of connections.

GitHub's point cost of a query is the number of connection pages it could
need (each nested ``first:`` multiplies the pages below it) divided by 100,
with a minimum of 1.  Only *nested connections under nested connections*
multiply, so the per-PR connections (reviews, commits, files, ...) can ask for
generous first pages at no extra cost; check suites and their check runs are
the expensive part and are kept small.

Cost of one pull-request page of ``page_size`` PRs (``PRSEED_CHECK_RUNS``):

* ``head`` (default): 1 + page_size * (6 + 1 + 5) -> 25 PRs: 301 pages = 3 points
* ``none``:          1 + page_size * 5             -> 25 PRs: 126 pages = 1 point
* ``all``:           1 + page_size * (5 + 40 * (1 + 5)) -> 25 PRs: 6126 pages = 61 points

A follow-up page (by node id) costs 1 point, or 1 + 100 * 6 = 6 points for
commits in ``all`` mode.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECK_RUN_MODES = ("head", "all", "none")

RATE_LIMIT = "rateLimit { cost remaining resetAt }"
# One cheap query per token at spider open: is it valid, whose is it, how much budget is left.
TOKEN_CHECK_QUERY = "query TokenCheck { viewer { login } rateLimit { limit remaining resetAt cost } }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"

FRAGMENTS = {
    "Actor": """
fragment Actor on Actor {
  __typename
  login
  ... on User { databaseId name }
  ... on Bot { databaseId }
}""",
    "Review": """
fragment Review on PullRequestReview {
  id
  fullDatabaseId
  state
  body
  submittedAt
  createdAt
  authorAssociation
  author { ...Actor }
  commit { oid }
}""",
    "Commit": """
fragment Commit on PullRequestCommit {
  commit {
    oid
    messageHeadline
    message
    authoredDate
    committedDate
    additions
    deletions
    author { name email user { ...Actor } }
  }
}""",
    "CommitWithChecks": """
fragment CommitWithChecks on PullRequestCommit {
  ...Commit
  commit { ...CheckSuites }
}""",
    "File": """
fragment File on PullRequestChangedFile {
  path
  additions
  deletions
  changeType
}""",
    "Label": """
fragment Label on Label {
  id
  name
  color
  description
}""",
    "ClosingIssue": """
fragment ClosingIssue on Issue {
  number
  title
  state
  url
  repository { nameWithOwner }
}""",
    "CheckRun": """
fragment CheckRun on CheckRun {
  id
  databaseId
  name
  status
  conclusion
  startedAt
  completedAt
  detailsUrl
}""",
}

FRAGMENT_DEPENDENCIES = {
    "Review": ("Actor",),
    "Commit": ("Actor",),
    "CommitWithChecks": ("Commit", "CheckSuites"),
    "CheckSuites": ("CheckSuite",),
    "CheckSuite": ("CheckRun",),
}


@dataclass(frozen=True)
class Connection:
    """A paginated connection prseed follows to its end."""

    name: str  # the field on the parent type
    parent_type: str  # the GraphQL type whose node id a follow-up query starts from
    fragment: str  # the fragment that selects one node
    first_page: int  # nodes asked for inside the pull-request page
    follow_page: int  # nodes asked for per follow-up query
    total_count: bool = False


PULL_REQUEST_CONNECTIONS = {
    "labels": Connection("labels", "PullRequest", "Label", 20, 100),
    "closingIssuesReferences": Connection("closingIssuesReferences", "PullRequest", "ClosingIssue", 10, 100),
    "reviews": Connection("reviews", "PullRequest", "Review", 50, 100),
    "commits": Connection("commits", "PullRequest", "Commit", 40, 100),
    "files": Connection("files", "PullRequest", "File", 100, 100, total_count=True),
}
CHECK_SUITES = Connection("checkSuites", "Commit", "CheckSuite", 5, 25)
CHECK_RUNS = Connection("checkRuns", "CheckSuite", "CheckRun", 10, 100)

CONNECTIONS = {
    **PULL_REQUEST_CONNECTIONS,
    CHECK_SUITES.name: CHECK_SUITES,
    CHECK_RUNS.name: CHECK_RUNS,
}

FRAGMENTS["CheckSuites"] = f"""
fragment CheckSuites on Commit {{
  id
  oid
  checkSuites(first: {CHECK_SUITES.first_page}) {{ {PAGE_INFO} nodes {{ ...CheckSuite }} }}
}}"""
FRAGMENTS["CheckSuite"] = f"""
fragment CheckSuite on CheckSuite {{
  id
  app {{ slug }}
  checkRuns(first: {CHECK_RUNS.first_page}) {{ {PAGE_INFO} nodes {{ ...CheckRun }} }}
}}"""


def _with_fragments(body: str, roots: tuple[str, ...]) -> str:
    needed: list[str] = []

    def add(name: str) -> None:
        if name in needed:
            return
        needed.append(name)
        for dependency in FRAGMENT_DEPENDENCIES.get(name, ()):
            add(dependency)

    for root in roots:
        add(root)
    return body.strip() + "\n" + "".join(FRAGMENTS[name] for name in needed) + "\n"


def _commit_fragment(check_runs: str) -> str:
    return "CommitWithChecks" if check_runs == "all" else "Commit"


def _connection_selection(connection: Connection, first: int, fragment: str, after: bool) -> str:
    arguments = f"first: {first}" + (", after: $after" if after else "")
    total = " totalCount" if connection.total_count else ""
    return f"{connection.name}({arguments}) {{{total} {PAGE_INFO} nodes {{ ...{fragment} }} }}"


def _pull_request_fragment(check_runs: str) -> tuple[str, tuple[str, ...]]:
    """The fields of one pull request with the first page of each nested connection,
    and the fragments it needs."""
    if check_runs not in CHECK_RUN_MODES:
        raise ValueError(f"check_runs must be one of {CHECK_RUN_MODES}, not {check_runs!r}")
    selections = []
    roots = ["Actor"]
    for connection in PULL_REQUEST_CONNECTIONS.values():
        fragment = connection.fragment
        if connection.name == "commits":
            fragment = _commit_fragment(check_runs)
        selections.append(_connection_selection(connection, connection.first_page, fragment, after=False))
        roots.append(fragment)
    if check_runs == "head":
        selections.append("headCommit: commits(last: 1) { nodes { commit { ...CheckSuites } } }")
        roots.append("CheckSuites")
    nested = "\n  ".join(selections)
    fragment = f"""
fragment PullRequest on PullRequest {{
  id
  fullDatabaseId
  number
  title
  body
  state
  isDraft
  url
  createdAt
  updatedAt
  closedAt
  mergedAt
  baseRefName
  headRefName
  headRefOid
  additions
  deletions
  changedFiles
  reviewDecision
  mergeCommit {{ oid }}
  author {{ ...Actor }}
  mergedBy {{ ...Actor }}
  milestone {{ id number title state dueOn closedAt createdAt }}
  {nested}
}}"""
    return fragment, tuple(roots)


def pull_request_page_query(check_runs: str = "head") -> str:
    """The query for one page of a repository's pull requests, newest update first."""
    fragment, roots = _pull_request_fragment(check_runs)
    body = f"""
query PullRequestPage($owner: String!, $name: String!, $pageSize: Int!, $after: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    id
    name
    owner {{ login }}
    url
    pullRequests(first: $pageSize, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      totalCount
      {PAGE_INFO}
      nodes {{ ...PullRequest }}
    }}
  }}
}}
{fragment}"""
    return _with_fragments(body, roots)


def pull_requests_by_id_query(check_runs: str = "head") -> str:
    """The query that fetches pull requests again by node id: those a crash or a failed
    page left incomplete in the database."""
    fragment, roots = _pull_request_fragment(check_runs)
    body = f"""
query PullRequestsById($ids: [ID!]!) {{
  {RATE_LIMIT}
  nodes(ids: $ids) {{ ...PullRequest }}
}}
{fragment}"""
    return _with_fragments(body, roots)


def follow_up_query(connection: Connection, check_runs: str = "head") -> str:
    """The query for the next page of one connection of a node, by the node's id."""
    fragment = connection.fragment
    if connection.name == "commits":
        fragment = _commit_fragment(check_runs)
    operation = connection.parent_type + connection.name[0].upper() + connection.name[1:]
    selection = _connection_selection(connection, connection.follow_page, fragment, after=True)
    body = f"""
query {operation}($id: ID!, $after: String) {{
  {RATE_LIMIT}
  node(id: $id) {{
    ... on {connection.parent_type} {{
      {selection}
    }}
  }}
}}"""
    return _with_fragments(body, (fragment,))


def all_queries() -> dict[str, str]:
    """Every document prseed can send, by a descriptive name (for validation tests)."""
    documents = {"token_check": TOKEN_CHECK_QUERY}
    for mode in CHECK_RUN_MODES:
        documents[f"pull_request_page[{mode}]"] = pull_request_page_query(mode)
        documents[f"pull_requests_by_id[{mode}]"] = pull_requests_by_id_query(mode)
        for connection in CONNECTIONS.values():
            documents[f"{connection.name}[{mode}]"] = follow_up_query(connection, mode)
    return documents
