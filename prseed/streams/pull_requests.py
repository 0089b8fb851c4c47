"""The pull-request stream: every PR of a repository, with everything hanging off it.

What its documents cost: :mod:`prseed.graphql.queries`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
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


# --- Part / PARTS (ISSUE14.md's shape; prconn declares the same, the lead merges the two)
@dataclass(frozen=True)
class Part:
    """One part of PRSEED_COLLECT: what it adds to the PR stream's documents and rows."""

    name: str
    nested: tuple[Nested, ...] = ()  # connections of the PR it follows
    fields: str = ""  # extra PullRequest fields
    head_fields: str = ""  # extra fields on the head commit
    uses: tuple[Fragment, ...] = ()  # the fragments its fields spread
    records: Callable[[dict], list] | None = None  # rows read from the PR node itself, after the PR's


# --- prtext (issue 14): statuses and issue_references
STATUS_CONTEXT = Fragment(
    "StatusContext",
    "StatusContext",
    "context\nstate\ndescription\ntargetUrl\ncreatedAt\ncreator { ...Actor }",
    uses=(ACTOR,),
)
HEAD_COMMIT = "headCommit: commits(last: 1) { nodes { commit { ...HeadCommit } } }"
# Every closing issue is an issue reference too (source closingIssuesReferences).
CLOSING_ISSUES_WITH_REFERENCES = Connection(
    "closingIssuesReferences",
    "PullRequest",
    CLOSING_ISSUE,
    10,
    100,
    records.closing_issue_with_reference,
)
PRTEXT_PARTS = (
    # Commit.status.contexts is a plain list and statusCheckRollup an object: no points.
    Part(
        "statuses",
        head_fields="statusCheckRollup { state }\nstatus { contexts { ...StatusContext } }",
        uses=(STATUS_CONTEXT,),
        records=records.status_contexts,
    ),
    # Parsed from the title and body the PR fragment has anyway: no query change.
    Part("issue_references", records=records.text_references),
)
# --- end prtext

PARTS = {part.name: part for part in PRTEXT_PARTS}
ALL_PARTS = frozenset(PARTS)


def pull_request_fragment(parts: tuple[Part, ...], head: Fragment | None) -> Fragment:
    """The PR fragment with the parts' fields, and ``head`` reached through ``headCommit``."""
    extra = [part.fields for part in parts if part.fields]
    uses = [used for part in parts for used in part.uses if part.fields]
    if head is not None:
        extra.append(HEAD_COMMIT)
        uses.append(head)
    if not extra:
        return PULL_REQUEST
    return Fragment(
        PULL_REQUEST.name,
        PULL_REQUEST.on,
        "\n".join((textwrap.dedent(PULL_REQUEST.fields).strip(), *extra)),
        uses=tuple(dict.fromkeys((*PULL_REQUEST.uses, *uses))),
    )


def pull_request_records(parts: tuple[Part, ...]) -> Callable[[dict, str], list]:
    """records.pull_request, followed by the rows the parts read from the PR node."""
    readers = tuple(part.records for part in parts if part.records)
    if not readers:
        return records.pull_request

    def read(node: dict, repository_id: str) -> list:
        output = records.pull_request(node, repository_id)
        for reader in readers:
            output.extend(reader(node))
        return output

    return read


@cache
def pull_requests(check_runs: str = "head", collect: frozenset[str] = ALL_PARTS) -> Stream:
    """The PR stream; ``check_runs`` (PRSEED_CHECK_RUNS) says whose check runs come along:
    the head commit's, every commit's, or none; ``collect`` (PRSEED_COLLECT) the parts."""
    if check_runs not in CHECK_RUN_MODES:
        raise ValueError(f"check_runs must be one of {CHECK_RUN_MODES}, not {check_runs!r}")
    unknown = sorted(set(collect) - PARTS.keys())
    if unknown:
        raise ValueError(f"unknown parts {unknown}: collect is a set of {sorted(PARTS)}")
    parts = tuple(part for name, part in PARTS.items() if name in collect)
    head_fields = "\n".join(part.head_fields for part in parts if part.head_fields)
    head_uses = tuple(used for part in parts if part.head_fields for used in part.uses)
    commits = COMMITS_WITH_CHECKS if check_runs == "all" else COMMITS
    closing = CLOSING_ISSUES_WITH_REFERENCES if "issue_references" in collect else CLOSING_ISSUES
    nested = tuple(Nested(connection) for connection in (LABELS, closing, REVIEWS, commits, FILES))
    nested += tuple(link for part in parts for link in part.nested)
    head = None
    if check_runs == "head":
        checks = HEAD_COMMIT_CHECKS
        if head_fields:  # the head commit brings the parts' fields along with its check suites
            via = Fragment("HeadCommit", "Commit", f"{COMMIT_CHECKS.fields}\n{head_fields}", uses=head_uses)
            checks = Nested(
                CHECK_SUITES, holders=head_commits, context=commit_context, selection=HEAD_COMMIT, via=via
            )
        nested += (checks,)
    elif head_fields:
        head = Fragment("HeadCommit", "Commit", f"oid\n{head_fields}", uses=head_uses)
    return Stream(
        name="pull_requests",
        noun="PR",
        connection="pullRequests",
        order="{field: UPDATED_AT, direction: DESC}",
        node=pull_request_fragment(parts, head),
        records=pull_request_records(parts),
        nested=nested,
        child_key="pull_request_id",
        watermark="updatedAt",
        marker=items.PullRequest,
        completion=items.PullRequestComplete,
        incomplete=Database.incomplete_pull_requests,
        count=Database.pull_request_count,
    )
