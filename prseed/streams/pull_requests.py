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
from prseed.engine.declarations import SPREAD, Connection, Fragment, Nested, Stream
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


@dataclass(frozen=True)
class Part:
    """What one name of ``PRSEED_COLLECT`` adds to the PR stream: connections followed under
    each PR (``nested``), further fields of the PR (``fields``) and of its head commit
    (``head_fields``) with the fragments they spread (``uses``), and the rows read from the PR
    node itself, after the PR's own (``records``)."""

    name: str
    nested: tuple[Nested, ...] = ()
    fields: str = ""
    head_fields: str = ""
    uses: tuple[Fragment, ...] = ()
    records: Callable[[dict], list] | None = None


# --- prconn's parts: timeline, review threads, comments, review requests, assignees --------

# A requested reviewer: a User, Bot or Mannequin (an Actor) or a Team; null when deleted.
REVIEWER = "__typename ...Actor ... on Team { slug }"
SUBJECT = "number repository { nameWithOwner }"
# The timeline items prseed keeps (not those that duplicate its tables: reviews, commits,
# comments), each with the fields its type carries beyond id, createdAt and actor.
TIMELINE_EVENTS = {
    "ReadyForReviewEvent": "",
    "ConvertToDraftEvent": "",
    "ReviewRequestedEvent": f"requestedReviewer {{ {REVIEWER} }}",
    "ReviewRequestRemovedEvent": f"requestedReviewer {{ {REVIEWER} }}",
    "HeadRefForcePushedEvent": "beforeCommit { oid } afterCommit { oid }",
    "BaseRefChangedEvent": "previousRefName currentRefName",
    "ReviewDismissedEvent": "review { id }",
    "MergedEvent": "commit { oid }",
    "ClosedEvent": "",
    "ReopenedEvent": "",
    "AssignedEvent": "assignee { ...Actor }",
    "UnassignedEvent": "assignee { ...Actor }",
    "LabeledEvent": "label { name }",
    "UnlabeledEvent": "label { name }",
    "AddedToMergeQueueEvent": "",
    "RemovedFromMergeQueueEvent": "",
    "AutoMergeEnabledEvent": "",
    "AutoMergeDisabledEvent": "",
    "CrossReferencedEvent": (
        f"willCloseTarget source {{ __typename ... on Issue {{ {SUBJECT} }} "
        f"... on PullRequest {{ {SUBJECT} }} }}"
    ),
}
TIMELINE_ITEM_TYPES = tuple(records.item_type(typename) for typename in TIMELINE_EVENTS)
TIMELINE_ITEM = Fragment(
    "TimelineItem",
    "PullRequestTimelineItems",
    "\n".join(
        ["__typename"]
        + [
            f"... on {typename} {{ id createdAt actor {{ ...Actor }} {extra} }}".replace("  ", " ")
            for typename, extra in TIMELINE_EVENTS.items()
        ]
    ),
    uses=(ACTOR,),
)
REVIEW_THREAD = Fragment(
    "ReviewThread",
    "PullRequestReviewThread",
    "id\npath\nline\noriginalLine\nstartLine\ndiffSide\nisResolved\nisOutdated\nresolvedBy { ...Actor }",
    uses=(ACTOR,),
)
REVIEW_COMMENT = Fragment(
    "ReviewComment",
    "PullRequestReviewComment",
    """
    id
    fullDatabaseId
    author { ...Actor }
    body
    createdAt
    updatedAt
    outdated
    replyTo { id }
    pullRequestReview { id }
    commit { oid }
    originalCommit { oid }
    """,
    uses=(ACTOR,),
)
ISSUE_COMMENT = Fragment(
    "IssueComment",
    "IssueComment",
    "id\nfullDatabaseId\nauthor { ...Actor }\nauthorAssociation\nbody\ncreatedAt\nupdatedAt",
    uses=(ACTOR,),
)
REVIEW_REQUEST = Fragment(
    "ReviewRequest", "ReviewRequest", f"asCodeOwner\nrequestedReviewer {{ {REVIEWER} }}", uses=(ACTOR,)
)
ASSIGNED_USER = Fragment("AssignedUser", "User", "...Actor", uses=(ACTOR,))


def thread_context(thread: dict) -> dict:
    return {"thread_id": thread["id"]}


# Page sizes (the costs: prseed.graphql.queries).  GitHub counts a connection under a
# connection once per parent its parent's first page can return, whatever its own page
# size: a PR's first page of 8 threads costs 8 + 1 pages (with up to 100 comments each),
# and its 25 PRs 626 pages, 6 points, as 5 threads would (551), so 8 it is; 9 would cost
# 7.  Flat connections cost 1 page at any size.
TIMELINE = Connection(
    "timelineItems",
    "PullRequest",
    TIMELINE_ITEM,
    100,
    100,
    records.timeline_event,
    arguments=f"itemTypes: [{', '.join(TIMELINE_ITEM_TYPES)}]",
)
THREAD_COMMENTS = Connection(
    "threadComments",
    "PullRequestReviewThread",
    REVIEW_COMMENT,
    100,
    100,
    records.review_comment,
    field="comments",
)
REVIEW_THREADS = Connection(
    "reviewThreads",
    "PullRequest",
    REVIEW_THREAD,
    8,
    100,
    records.review_thread,
    nested=(Nested(THREAD_COMMENTS, context=thread_context),),
)
ISSUE_COMMENTS = Connection("comments", "PullRequest", ISSUE_COMMENT, 50, 100, records.issue_comment)
REVIEW_REQUESTS = Connection("reviewRequests", "PullRequest", REVIEW_REQUEST, 20, 100, records.review_request)
ASSIGNEES = Connection("assignees", "PullRequest", ASSIGNED_USER, 10, 100, records.assignee)

PRCONN_PARTS = (
    Part("timeline", nested=(Nested(TIMELINE),)),
    Part("review_threads", nested=(Nested(REVIEW_THREADS),)),
    Part("comments", nested=(Nested(ISSUE_COMMENTS),), fields="totalCommentsCount"),
    Part("review_requests", nested=(Nested(REVIEW_REQUESTS),)),
    Part("assignees", nested=(Nested(ASSIGNEES),)),
)
# --- end of prconn's parts ------------------------------------------------------------------


# --- prtext's parts: statuses and issue_references -----------------------------------------
STATUS_CONTEXT = Fragment(
    "StatusContext",
    "StatusContext",
    "context\nstate\ndescription\ntargetUrl\ncreatedAt\ncreator { ...Actor }",
    uses=(ACTOR,),
)
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
# --- end of prtext's parts -------------------------------------------------------------------

PARTS: dict[str, Part] = {part.name: part for part in (*PRCONN_PARTS, *PRTEXT_PARTS)}
ALL_PARTS = frozenset(PARTS)
HEAD_COMMIT = "headCommit: commits(last: 1) { nodes { commit { ...HeadCommit } } }"


def with_fields(fragment: Fragment, fields: list[str], uses: tuple[Fragment, ...]) -> Fragment:
    """``fragment`` with further fields (and the fragments they spread)."""
    if not fields:
        return fragment
    known = {used.name: used for used in (*fragment.uses, *uses)}
    text = "\n".join([textwrap.dedent(fragment.fields).strip(), *fields])
    spread = set(SPREAD.findall(text))
    return Fragment(fragment.name, fragment.on, text, uses=tuple(f for n, f in known.items() if n in spread))


def head_commit_holder(fields: list[str], uses: tuple[Fragment, ...]) -> Nested:
    """The head commit's check suites (``head`` mode) with the parts' head-commit fields."""
    if not fields:
        return HEAD_COMMIT_CHECKS
    via = with_fields(Fragment("HeadCommit", "Commit", COMMIT_CHECKS.fields), fields, uses)
    return Nested(CHECK_SUITES, holders=head_commits, context=commit_context, selection=HEAD_COMMIT, via=via)


@dataclass(frozen=True)
class PullRequestRecords:
    """records.pull_request, followed by the rows the parts read from the PR node; a value,
    so that streams built from the same parts are equal."""

    readers: tuple[Callable[[dict], list], ...]

    def __call__(self, node: dict, repository_id: str) -> list:
        output = records.pull_request(node, repository_id)
        for reader in self.readers:
            output.extend(reader(node))
        return output


def pull_request_records(parts: list[Part]) -> Callable[[dict, str], list]:
    readers = tuple(part.records for part in parts if part.records)
    return PullRequestRecords(readers) if readers else records.pull_request


@cache
def pull_requests(check_runs: str = "head", collect: frozenset[str] = ALL_PARTS) -> Stream:
    """The PR stream; ``check_runs`` (PRSEED_CHECK_RUNS) says whose check runs come along:
    the head commit's, every commit's, or none; ``collect`` (PRSEED_COLLECT) which of
    ``PARTS`` come too."""
    if check_runs not in CHECK_RUN_MODES:
        raise ValueError(f"check_runs must be one of {CHECK_RUN_MODES}, not {check_runs!r}")
    unknown = set(collect) - set(PARTS)
    if unknown:
        raise ValueError(f"collect: unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    parts = [part for name, part in PARTS.items() if name in collect]
    uses = tuple(used for part in parts for used in part.uses)
    head_fields = [part.head_fields for part in parts if part.head_fields]
    fields = [part.fields for part in parts if part.fields]
    if head_fields and check_runs != "head":
        head = with_fields(Fragment("HeadCommit", "Commit", "oid"), head_fields, uses)
        fields.append(HEAD_COMMIT)
        uses += (head,)
    commits = COMMITS_WITH_CHECKS if check_runs == "all" else COMMITS
    closing = CLOSING_ISSUES_WITH_REFERENCES if "issue_references" in collect else CLOSING_ISSUES
    nested = tuple(Nested(connection) for connection in (LABELS, closing, REVIEWS, commits, FILES))
    if check_runs == "head":
        nested += (head_commit_holder(head_fields, uses),)
    nested += tuple(link for part in parts for link in part.nested)
    return Stream(
        name="pull_requests",
        noun="PR",
        connection="pullRequests",
        order="{field: UPDATED_AT, direction: DESC}",
        node=with_fields(PULL_REQUEST, fields, uses),
        records=pull_request_records(parts),
        nested=nested,
        child_key="pull_request_id",
        watermark="updatedAt",
        marker=items.PullRequest,
        completion=items.PullRequestComplete,
        incomplete=Database.incomplete_pull_requests,
        count=Database.pull_request_count,
    )
