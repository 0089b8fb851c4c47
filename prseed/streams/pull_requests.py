"""The pull-request stream: every PR of a repository, with everything hanging off it.

What its documents cost: :mod:`prseed.graphql.queries`.
"""

from __future__ import annotations

from functools import cache

from prseed import items
from prseed.db.backends import Database
from prseed.engine.declarations import Connection, Fragment, Nested, Stream
from prseed.graphql import records

CHECK_RUN_MODES = ("head", "all", "none")

ACTOR = Fragment(
    "Actor",
    "Actor",
    """
    __typename
    login
    ... on User { databaseId name }
    ... on Bot { databaseId }
    """,
)
LABEL = Fragment("Label", "Label", "id\nname\ncolor\ndescription")
CLOSING_ISSUE = Fragment("ClosingIssue", "Issue", "number\ntitle\nstate\nurl\nrepository { nameWithOwner }")
REVIEW = Fragment(
    "Review",
    "PullRequestReview",
    """
    id
    fullDatabaseId
    state
    body
    submittedAt
    createdAt
    authorAssociation
    author { ...Actor }
    commit { oid }
    """,
    uses=(ACTOR,),
)
COMMIT = Fragment(
    "Commit",
    "PullRequestCommit",
    """
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
    """,
    uses=(ACTOR,),
)
FILE = Fragment("File", "PullRequestChangedFile", "path\nadditions\ndeletions\nchangeType")
CHECK_RUN = Fragment(
    "CheckRun",
    "CheckRun",
    "id\ndatabaseId\nname\nstatus\nconclusion\nstartedAt\ncompletedAt\ndetailsUrl",
)
CHECK_SUITE = Fragment("CheckSuite", "CheckSuite", "id\napp { slug }")
# A commit as the holder of its check suites.
COMMIT_CHECKS = Fragment("CheckSuites", "Commit", "id\noid")
COMMIT_WITH_CHECKS = Fragment("CommitWithChecks", "PullRequestCommit", "...Commit", uses=(COMMIT,))
PULL_REQUEST = Fragment(
    "PullRequest",
    "PullRequest",
    """
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
    mergeCommit { oid }
    author { ...Actor }
    mergedBy { ...Actor }
    milestone { id number title state dueOn closedAt createdAt }
    """,
    uses=(ACTOR,),
)


def check_suite_context(suite: dict) -> dict:
    return {"check_suite_id": suite["id"], "app_slug": (suite.get("app") or {}).get("slug")}


def commit_context(commit: dict) -> dict:
    return {"commit_oid": commit["oid"]}


def the_commit(node: dict) -> tuple[dict]:
    return (node["commit"],)


def head_commits(pull_request: dict) -> list[dict]:
    return [head["commit"] for head in (pull_request.get("headCommit") or {}).get("nodes") or []]


CHECK_RUNS = Connection("checkRuns", "CheckSuite", CHECK_RUN, 10, 100, records.check_run)
CHECK_SUITES = Connection(
    "checkSuites",
    "Commit",
    CHECK_SUITE,
    5,
    25,
    records.check_suite,
    nested=(Nested(CHECK_RUNS, context=check_suite_context),),
)
LABELS = Connection("labels", "PullRequest", LABEL, 20, 100, records.label)
CLOSING_ISSUES = Connection(
    "closingIssuesReferences", "PullRequest", CLOSING_ISSUE, 10, 100, records.closing_issue
)
REVIEWS = Connection("reviews", "PullRequest", REVIEW, 50, 100, records.review)
COMMITS = Connection("commits", "PullRequest", COMMIT, 40, 100, records.commit)
# PRSEED_CHECK_RUNS=all: every commit brings its check suites.
COMMITS_WITH_CHECKS = Connection(
    "commits",
    "PullRequest",
    COMMIT_WITH_CHECKS,
    40,
    100,
    records.commit,
    nested=(
        Nested(
            CHECK_SUITES,
            holders=the_commit,
            context=commit_context,
            selection="commit { ...CheckSuites }",
            via=COMMIT_CHECKS,
        ),
    ),
)
FILES = Connection("files", "PullRequest", FILE, 100, 100, records.changed_file, total_count=True)
# PRSEED_CHECK_RUNS=head: the check suites of the head commit only.
HEAD_COMMIT_CHECKS = Nested(
    CHECK_SUITES,
    holders=head_commits,
    context=commit_context,
    selection="headCommit: commits(last: 1) { nodes { commit { ...CheckSuites } } }",
    via=COMMIT_CHECKS,
)


@cache
def pull_requests(check_runs: str = "head") -> Stream:
    """The PR stream; ``check_runs`` (PRSEED_CHECK_RUNS) says whose check runs come along:
    the head commit's, every commit's, or none."""
    if check_runs not in CHECK_RUN_MODES:
        raise ValueError(f"check_runs must be one of {CHECK_RUN_MODES}, not {check_runs!r}")
    commits = COMMITS_WITH_CHECKS if check_runs == "all" else COMMITS
    nested = tuple(Nested(connection) for connection in (LABELS, CLOSING_ISSUES, REVIEWS, commits, FILES))
    if check_runs == "head":
        nested += (HEAD_COMMIT_CHECKS,)
    return Stream(
        name="pull_requests",
        noun="PR",
        connection="pullRequests",
        order="{field: UPDATED_AT, direction: DESC}",
        node=PULL_REQUEST,
        records=records.pull_request,
        nested=nested,
        child_key="pull_request_id",
        watermark="updatedAt",
        marker=items.PullRequest,
        completion=items.PullRequestComplete,
        incomplete=Database.incomplete_pull_requests,
        count=Database.pull_request_count,
    )
