"""One item class per database table; the field names are the table's columns.

Items are plain dataclasses, so itemadapter, the database pipeline and Scrapy's
feed exports all handle them. ``TABLE`` names the table an item is written to; a field
with ``metadata={"feed": False}`` is left out of feeds (see prseed.exporters).
Node ids (``id``, ``*_id``) are GitHub's global GraphQL node ids; timestamps are
GitHub's ISO-8601 UTC strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

PULL_REQUESTS_STREAM = "pull_requests"  # the stream of a repository's pull requests
DEPLOYMENTS_STREAM = "deployments"  # its deployments (a filtered crawl's row adds the filter)
ISSUES_STREAM = "issues"  # its issues


@dataclass
class Repository:
    TABLE: ClassVar[str] = "repositories"
    id: str
    owner: str
    name: str
    url: str


@dataclass
class Member:
    """Any GitHub account that appears in the data; a deleted account is ``ghost``."""

    TABLE: ClassVar[str] = "members"
    login: str
    kind: str  # User, Bot, Organization, Mannequin, EnterpriseUserAccount or Ghost
    database_id: int | None = None
    name: str | None = None


@dataclass
class Milestone:
    TABLE: ClassVar[str] = "milestones"
    repository_id: str
    number: int
    id: str
    title: str
    state: str
    due_on: str | None
    closed_at: str | None
    created_at: str


@dataclass
class Label:
    TABLE: ClassVar[str] = "labels"
    repository_id: str
    name: str
    id: str
    color: str
    description: str | None


@dataclass
class PullRequest:
    TABLE: ClassVar[str] = "pull_requests"
    id: str
    repository_id: str
    number: int
    database_id: int | None
    title: str
    body: str
    state: str
    is_draft: bool
    url: str
    author_login: str
    merged_by_login: str | None
    milestone_number: int | None
    created_at: str
    updated_at: str
    closed_at: str | None
    merged_at: str | None
    base_ref: str
    head_ref: str
    head_sha: str
    merge_commit_sha: str | None
    additions: int
    deletions: int
    changed_files: int
    files_truncated: bool  # GitHub lists at most 3,000 files; changed_files is the true count
    review_decision: str | None
    # False until every page of every nested connection is written; the database's
    # bookkeeping, so not in feeds (a PR's record goes out before its last nested page)
    complete: bool = field(default=True, metadata={"feed": False})
    # --- prconn: PRSEED_COLLECT's comments part (None when not collected)
    total_comments_count: int | None = None
    # --- prtext (issue 14): the head commit's statusCheckRollup.state; None when it has none
    # (or the ``statuses`` part of PRSEED_COLLECT is off)
    status_rollup_state: str | None = None


@dataclass
class PullRequestLabel:
    TABLE: ClassVar[str] = "pull_request_labels"
    pull_request_id: str
    label_name: str


@dataclass
class ClosingIssue:
    TABLE: ClassVar[str] = "closing_issues"
    pull_request_id: str
    issue_repository: str  # owner/name: the issue may live in another repository
    issue_number: int
    title: str
    state: str
    url: str


@dataclass
class Review:
    TABLE: ClassVar[str] = "reviews"
    id: str
    pull_request_id: str
    database_id: int | None
    author_login: str
    state: str
    body: str
    author_association: str
    commit_oid: str | None
    submitted_at: str | None
    created_at: str


@dataclass
class Commit:
    TABLE: ClassVar[str] = "commits"
    pull_request_id: str
    oid: str
    message_headline: str
    message: str
    author_name: str | None
    author_email: str | None
    author_login: str | None  # None when the commit's e-mail is linked to no account
    authored_at: str
    committed_at: str
    additions: int
    deletions: int


@dataclass
class File:
    TABLE: ClassVar[str] = "files"
    pull_request_id: str
    path: str
    additions: int
    deletions: int
    change_type: str


@dataclass
class CheckRun:
    TABLE: ClassVar[str] = "check_runs"
    id: str
    pull_request_id: str
    commit_oid: str
    check_suite_id: str
    app_slug: str | None
    database_id: int | None
    name: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    details_url: str | None


# --- prconn: the per-PR parts of PRSEED_COLLECT (see prseed.streams.pull_requests.PARTS)


@dataclass
class TimelineEvent:
    """One event of a PR's timeline; the columns after ``actor_login`` are those of the
    event's ``type`` (None for the others)."""

    TABLE: ClassVar[str] = "timeline_events"
    id: str
    pull_request_id: str
    type: str  # GitHub's PullRequestTimelineItemsItemType, e.g. READY_FOR_REVIEW_EVENT
    created_at: str
    actor_login: str | None
    requested_reviewer_kind: str | None = None  # User, Team, Bot or Mannequin; None: deleted
    requested_reviewer: str | None = None  # a login or a team's slug
    assignee_login: str | None = None
    label_name: str | None = None
    before_oid: str | None = None  # force push: the head before (no longer among the commits)
    after_oid: str | None = None
    previous_ref_name: str | None = None  # base ref changed
    current_ref_name: str | None = None
    dismissed_review_id: str | None = None
    commit_oid: str | None = None  # merged: the merge commit
    source_kind: str | None = None  # cross-referenced from an Issue or a PullRequest
    source_repository: str | None = None  # owner/name
    source_number: int | None = None
    will_close_target: bool | None = None


@dataclass
class ReviewThread:
    TABLE: ClassVar[str] = "review_threads"
    id: str
    pull_request_id: str
    path: str
    line: int | None
    original_line: int | None
    start_line: int | None
    diff_side: str
    is_resolved: bool
    is_outdated: bool
    resolved_by_login: str | None


@dataclass
class ReviewComment:
    TABLE: ClassVar[str] = "review_comments"
    id: str
    pull_request_id: str
    thread_id: str
    review_id: str | None
    database_id: int | None
    author_login: str
    body: str
    created_at: str
    updated_at: str
    is_outdated: bool
    reply_to_id: str | None
    commit_oid: str | None
    original_commit_oid: str | None


@dataclass
class IssueComment:
    """A comment on the PR's conversation (not on its code)."""

    TABLE: ClassVar[str] = "issue_comments"
    id: str
    pull_request_id: str
    database_id: int | None
    author_login: str
    author_association: str
    body: str
    created_at: str
    updated_at: str


@dataclass
class ReviewRequest:
    """A review asked for and not given yet."""

    TABLE: ClassVar[str] = "review_requests"
    pull_request_id: str
    reviewer_kind: str  # User, Team, Bot, Mannequin, or Ghost when deleted
    reviewer: str  # a login or a team's slug; ghost when deleted
    as_code_owner: bool


@dataclass
class PullRequestAssignee:
    TABLE: ClassVar[str] = "pull_request_assignees"
    pull_request_id: str
    login: str


# --- end of prconn's items
# --- prtext (issue 14): legacy commit statuses and issue references


@dataclass
class StatusContext:
    """A commit status (the legacy status API that Jenkins, CircleCI and others use) of a
    PR's head commit: the latest one of each context."""

    TABLE: ClassVar[str] = "status_contexts"
    pull_request_id: str
    commit_oid: str
    context: str
    state: str  # ERROR, EXPECTED, FAILURE, PENDING or SUCCESS
    description: str | None
    target_url: str | None
    created_at: str
    creator_login: str | None  # None when GitHub names no creator


@dataclass
class IssueReference:
    """An issue (or PR) a PR names: parsed from its title or body (see prseed.references),
    or one of GitHub's own closingIssuesReferences."""

    TABLE: ClassVar[str] = "issue_references"
    pull_request_id: str
    issue_repository: str  # owner/name
    issue_number: int
    kind: str  # closing or mention
    source: str  # body, title or closingIssuesReferences


# --- end prtext
# --- repository-level streams: deployments and issues ------------------------------------


@dataclass
class Deployment:
    TABLE: ClassVar[str] = "deployments"
    id: str
    repository_id: str
    database_id: int | None
    environment: str | None
    original_environment: str | None
    task: str | None
    state: str | None
    commit_oid: str
    creator_login: str
    created_at: str
    updated_at: str
    latest_status_state: str | None
    latest_status_at: str | None
    # False until every page of its statuses is written (see PullRequest.complete)
    complete: bool = field(default=True, metadata={"feed": False})


@dataclass
class DeploymentStatus:
    TABLE: ClassVar[str] = "deployment_statuses"
    id: str
    deployment_id: str
    state: str
    description: str | None
    environment_url: str | None
    log_url: str | None
    creator_login: str
    created_at: str


@dataclass
class DeploymentComplete:
    """Every page of this deployment's statuses is written: mark its row complete."""

    BOOKKEEPING: ClassVar[bool] = True
    deployment_id: str


@dataclass
class Issue:
    TABLE: ClassVar[str] = "issues"
    id: str
    repository_id: str
    number: int
    title: str
    state: str
    state_reason: str | None
    author_login: str
    url: str
    created_at: str
    updated_at: str
    closed_at: str | None
    comment_count: int
    # False until every page of its labels, assignees and closing PRs is written
    complete: bool = field(default=True, metadata={"feed": False})


@dataclass
class IssueLabel:
    TABLE: ClassVar[str] = "issue_labels"
    issue_id: str
    label_name: str


@dataclass
class IssueAssignee:
    TABLE: ClassVar[str] = "issue_assignees"
    issue_id: str
    login: str


@dataclass
class IssueClosingPullRequest:
    TABLE: ClassVar[str] = "issue_closing_pull_requests"
    issue_id: str
    pull_request_repository: str  # owner/name: the PR may live in another repository
    pull_request_number: int


@dataclass
class IssueComplete:
    """Every nested page of this issue is written: mark its row complete."""

    BOOKKEEPING: ClassVar[bool] = True
    issue_id: str


# --- end of the repository-level streams' items -------------------------------------------


@dataclass
class SyncState:
    """Where a repository's sync stands; written in the same transaction as the rows it
    vouches for, so after any crash the database says how far the crawl got.

    ``newest_seen`` is the watermark: the newest ``updatedAt`` of the last completed crawl.
    Below it, what the crawls covered: every PR updated in ``[covered_since, newest_seen]``
    is in the database, and ``history_complete`` says the list was read to its end (so are
    all older ones).  Otherwise ``backfill_cursor`` is where GitHub's list (newest first)
    continues below ``covered_since``: a later crawl without limits back-fills from there.
    ``run_*`` describe a crawl in progress (all None when none is).  A repository has one
    row per ``stream`` (what is collected of it, the pull requests by default).
    """

    TABLE: ClassVar[str] = "sync_state"
    BOOKKEEPING: ClassVar[bool] = True
    repository: str  # owner/name, as given to the spider
    repository_id: str | None
    newest_seen: str | None
    synced_at: str | None
    run_started_at: str | None = None
    run_since: str | None = None  # PRs updated before this are not part of the crawl
    run_newest: str | None = None  # the newest updatedAt when the crawl began
    run_cursor: str | None = None  # the page after this cursor is the next to fetch
    run_fetched: int | None = None
    run_listed: bool | None = None  # every page of the PR list is written
    covered_since: str | None = None  # None with history_complete None: unknown (an older prseed's sync)
    history_complete: bool | None = None
    backfill_cursor: str | None = None  # None with history_complete false: from the top of the list
    run_backfill: bool | None = None  # the crawl in progress is back-filling below covered_since
    stream: str = PULL_REQUESTS_STREAM


@dataclass
class PullRequestComplete:
    """Every nested page of this pull request is written: mark its row complete."""

    BOOKKEEPING: ClassVar[bool] = True
    pull_request_id: str


@dataclass
class Rows:
    """The items of one answer, in order, as one item (see prseed.middlewares.rows)."""

    items: list


ITEM_CLASSES = (
    Repository,
    Member,
    Milestone,
    Label,
    PullRequest,
    PullRequestLabel,
    ClosingIssue,
    Review,
    Commit,
    File,
    CheckRun,
    # prconn
    TimelineEvent,
    ReviewThread,
    ReviewComment,
    IssueComment,
    ReviewRequest,
    PullRequestAssignee,
    StatusContext,  # prtext
    IssueReference,  # prtext
    Deployment,
    DeploymentStatus,
    Issue,
    IssueLabel,
    IssueAssignee,
    IssueClosingPullRequest,
    SyncState,
)
