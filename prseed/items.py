"""One item class per database table; the field names are the table's columns.

Items are plain dataclasses, so itemadapter, the database pipeline and Scrapy's
feed exports all handle them. ``TABLE`` names the table an item is written to.
Node ids (``id``, ``*_id``) are GitHub's global GraphQL node ids; timestamps are
GitHub's ISO-8601 UTC strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


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
)
