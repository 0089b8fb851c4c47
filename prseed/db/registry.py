"""The tables prseed writes, declared in one place: a new stream's tables are added here
(parents before their children), and the schema, the backends, the pipeline, ``dbstatus``
and progress follow from the declarations (see :mod:`prseed.db.tables`)."""

from __future__ import annotations

from prseed import items
from prseed.db.tables import Completion, Parent, Table, Tables

PULL_REQUEST = Parent("pull_requests", key="id", column="pull_request_id")
DEPLOYMENT = Parent("deployments", key="id", column="deployment_id")
ISSUE = Parent("issues", key="id", column="issue_id")

TABLES = Tables(
    Table(items.Repository, key=("owner", "name"), unique=("id",)),
    Table(items.Member, key=("login",)),
    Table(
        items.Milestone,
        key=("repository_id", "number"),
        timestamps=("due_on", "closed_at", "created_at"),
    ),
    Table(items.Label, key=("repository_id", "name")),
    Table(
        items.PullRequest,
        members=("author_login", "merged_by_login"),
        key=("repository_id", "number"),
        unique=("id",),
        references=(("repository_id", "repositories(id)"),),
        timestamps=("created_at", "updated_at", "closed_at", "merged_at"),
        completion=Completion(
            "complete", key="id", marker=items.PullRequestComplete, marker_key="pull_request_id"
        ),
        title="PRs",
        summarized=True,
    ),
    Table(
        items.Review,
        members=("author_login",),
        key=("id",),
        timestamps=("submitted_at", "created_at"),
        replaced_with=PULL_REQUEST,
        summarized=True,
    ),
    Table(
        items.Commit,
        members=("author_login",),
        key=("pull_request_id", "oid"),
        timestamps=("authored_at", "committed_at"),
        replaced_with=PULL_REQUEST,
        summarized=True,
    ),
    Table(items.File, key=("pull_request_id", "path"), replaced_with=PULL_REQUEST, summarized=True),
    Table(
        items.CheckRun,
        key=("id",),
        timestamps=("started_at", "completed_at"),
        replaced_with=PULL_REQUEST,
        skipped_by=("PRSEED_CHECK_RUNS", "none"),
        summarized=True,
    ),
    Table(
        items.PullRequestLabel,
        key=("pull_request_id", "label_name"),
        replaced_with=PULL_REQUEST,
        title="labels",
    ),
    Table(
        items.ClosingIssue,
        key=("pull_request_id", "issue_repository", "issue_number"),
        replaced_with=PULL_REQUEST,
    ),
    # --- prconn: the per-PR parts of PRSEED_COLLECT, kept when a crawl does not collect them
    Table(
        items.TimelineEvent,
        members=("actor_login", "assignee_login", "requested_reviewer"),
        key=("id",),
        timestamps=("created_at",),
        replaced_with=PULL_REQUEST,
        part="timeline",
    ),
    Table(
        items.ReviewThread,
        members=("resolved_by_login",),
        key=("id",),
        replaced_with=PULL_REQUEST,
        part="review_threads",
    ),
    Table(
        items.ReviewComment,
        members=("author_login",),
        key=("id",),
        timestamps=("created_at", "updated_at"),
        replaced_with=PULL_REQUEST,
        part="review_threads",
    ),
    Table(
        items.IssueComment,
        members=("author_login",),
        key=("id",),
        timestamps=("created_at", "updated_at"),
        replaced_with=PULL_REQUEST,
        part="comments",
    ),
    Table(
        items.ReviewRequest,
        members=("reviewer",),
        key=("pull_request_id", "reviewer_kind", "reviewer"),
        replaced_with=PULL_REQUEST,
        part="review_requests",
    ),
    Table(
        items.PullRequestAssignee,
        members=("login",),
        key=("pull_request_id", "login"),
        replaced_with=PULL_REQUEST,
        title="assignees",
        part="assignees",
    ),
    # --- end of prconn's tables
    # --- prtext: the statuses and issue_references parts of PRSEED_COLLECT
    Table(
        items.StatusContext,
        members=("creator_login",),
        key=("pull_request_id", "commit_oid", "context"),
        timestamps=("created_at",),
        replaced_with=PULL_REQUEST,
        part="statuses",
    ),
    Table(
        items.IssueReference,
        key=("pull_request_id", "issue_repository", "issue_number", "kind", "source"),
        replaced_with=PULL_REQUEST,
        part="issue_references",
    ),
    # --- end prtext
    # --- repository-level streams: deployments and issues --------------------------------
    Table(
        items.Deployment,
        members=("creator_login",),
        key=("id",),
        references=(("repository_id", "repositories(id)"),),
        timestamps=("created_at", "updated_at", "latest_status_at"),
        completion=Completion(
            "complete", key="id", marker=items.DeploymentComplete, marker_key="deployment_id"
        ),
    ),
    Table(
        items.DeploymentStatus,
        members=("creator_login",),
        key=("id",),
        timestamps=("created_at",),
        replaced_with=DEPLOYMENT,
    ),
    Table(
        items.Issue,
        members=("author_login",),
        key=("id",),
        unique=("repository_id", "number"),
        references=(("repository_id", "repositories(id)"),),
        timestamps=("created_at", "updated_at", "closed_at"),
        completion=Completion("complete", key="id", marker=items.IssueComplete, marker_key="issue_id"),
    ),
    Table(items.IssueLabel, key=("issue_id", "label_name"), replaced_with=ISSUE),
    Table(items.IssueAssignee, members=("login",), key=("issue_id", "login"), replaced_with=ISSUE),
    Table(
        items.IssueClosingPullRequest,
        key=("issue_id", "pull_request_repository", "pull_request_number"),
        replaced_with=ISSUE,
    ),
    # --- end of the repository-level streams' tables
    Table(
        items.SyncState,
        key=("repository", "stream"),
        timestamps=("synced_at", "run_started_at"),
        stream_key="stream",
    ),
)
