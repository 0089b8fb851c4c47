"""The issues stream (off by default): every issue of a repository, newest update first,
with its labels, assignees and the pull requests that closed it.

Cost of a page of 25 issues: 1 + 25 * 4 (labels, assignees, closing PRs, the comment
count) = 101 pages, 1 point; a follow-up page, 1 point.
"""

from __future__ import annotations

from functools import cache

from prseed import items
from prseed.engine.declarations import Connection, Fragment, Nested, Stream
from prseed.graphql import deployments as records
from prseed.streams.deployments import incomplete
from prseed.streams.pull_requests import ACTOR, LABEL

ISSUE = Fragment(
    "Issue",
    "Issue",
    """
    id
    number
    title
    state
    stateReason
    url
    createdAt
    updatedAt
    closedAt
    author { ...Actor }
    comments(first: 1) { totalCount }
    """,
    uses=(ACTOR,),
)
ASSIGNEE = Fragment("Assignee", "User", "...Actor", uses=(ACTOR,))
CLOSING_PULL_REQUEST = Fragment("ClosingPullRequest", "PullRequest", "number\nrepository { nameWithOwner }")
ISSUE_LABELS = Connection("labels", "Issue", LABEL, 20, 100, records.issue_label)
ASSIGNEES = Connection("assignees", "Issue", ASSIGNEE, 10, 100, records.issue_assignee)
CLOSING_PULL_REQUESTS = Connection(
    "closedByPullRequestsReferences", "Issue", CLOSING_PULL_REQUEST, 10, 100, records.closing_pull_request
)


@cache
def issues() -> Stream:
    return Stream(
        name=items.ISSUES_STREAM,
        noun="issue",
        connection="issues",
        order="{field: UPDATED_AT, direction: DESC}",
        node=ISSUE,
        records=records.issue,
        nested=tuple(Nested(connection) for connection in (ISSUE_LABELS, ASSIGNEES, CLOSING_PULL_REQUESTS)),
        child_key="issue_id",
        watermark="updatedAt",
        marker=items.Issue,
        completion=items.IssueComplete,
        incomplete=incomplete(items.Issue),
    )
