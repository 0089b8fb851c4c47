"""Turn the nodes of GitHub's GraphQL answers into items.

Each function takes one node (a dict shaped by the fragments in
:mod:`prseed.streams`) and the ids of what it belongs to, and returns the
items it holds, parents (members, labels) before the rows that name them.  The
stream declarations say which function reads which node.
"""

from __future__ import annotations

import re

from prseed import items
from prseed.references import CLOSING, references

GHOST = "ghost"  # GitHub's placeholder account for deleted users
FILES_LIMIT = 3000  # GitHub's files connection lists at most this many


def member(actor: dict | None) -> items.Member:
    if actor is None:
        return items.Member(login=GHOST, kind="Ghost")
    return items.Member(
        login=actor["login"],
        kind=actor.get("__typename") or "User",
        database_id=actor.get("databaseId"),
        name=actor.get("name"),
    )


def login(actor: dict | None) -> str:
    return GHOST if actor is None else actor["login"]


def big_int(value: str | int | None) -> int | None:
    """GitHub sends BigInt scalars (fullDatabaseId) as strings."""
    return None if value is None else int(value)


def repository(node: dict) -> items.Repository:
    return items.Repository(id=node["id"], owner=node["owner"]["login"], name=node["name"], url=node["url"])


def pull_request(node: dict, repository_id: str) -> list:
    """The PR row and its single-valued relations; connections are handled by the caller."""
    milestone = node.get("milestone")
    files = node.get("files") or {}
    listed_files = min(files.get("totalCount", node["changedFiles"]), FILES_LIMIT)
    output: list = [member(node.get("author"))]
    if node.get("mergedBy") is not None:
        output.append(member(node["mergedBy"]))
    if milestone is not None:
        output.append(
            items.Milestone(
                repository_id=repository_id,
                number=milestone["number"],
                id=milestone["id"],
                title=milestone["title"],
                state=milestone["state"],
                due_on=milestone.get("dueOn"),
                closed_at=milestone.get("closedAt"),
                created_at=milestone["createdAt"],
            )
        )
    output.append(
        items.PullRequest(
            id=node["id"],
            repository_id=repository_id,
            number=node["number"],
            database_id=big_int(node.get("fullDatabaseId")),
            title=node["title"],
            body=node["body"],
            state=node["state"],
            is_draft=node["isDraft"],
            url=node["url"],
            author_login=login(node.get("author")),
            merged_by_login=node["mergedBy"]["login"] if node.get("mergedBy") else None,
            milestone_number=milestone["number"] if milestone else None,
            created_at=node["createdAt"],
            updated_at=node["updatedAt"],
            closed_at=node.get("closedAt"),
            merged_at=node.get("mergedAt"),
            base_ref=node["baseRefName"],
            head_ref=node["headRefName"],
            head_sha=node["headRefOid"],
            merge_commit_sha=(node.get("mergeCommit") or {}).get("oid"),
            additions=node["additions"],
            deletions=node["deletions"],
            changed_files=node["changedFiles"],
            files_truncated=node["changedFiles"] > listed_files,
            review_decision=node.get("reviewDecision"),
            total_comments_count=node.get("totalCommentsCount"),  # prconn: the comments part
            status_rollup_state=(head_commit(node).get("statusCheckRollup") or {}).get("state"),
        )
    )
    return output


def repository_label(node: dict, context: dict) -> items.Label:
    """A label of the repository, whatever it is on (a PR, an issue)."""
    return items.Label(
        repository_id=context["repository_id"],
        name=node["name"],
        id=node["id"],
        color=node["color"],
        description=node.get("description"),
    )


def label(node: dict, context: dict) -> list:
    return [
        repository_label(node, context),
        items.PullRequestLabel(pull_request_id=context["pull_request_id"], label_name=node["name"]),
    ]


def closing_issue(node: dict, context: dict) -> list:
    return [
        items.ClosingIssue(
            pull_request_id=context["pull_request_id"],
            issue_repository=node["repository"]["nameWithOwner"],
            issue_number=node["number"],
            title=node["title"],
            state=node["state"],
            url=node["url"],
        )
    ]


# --- prtext (issue 14): head-commit statuses and issue references
CLOSING_ISSUES_SOURCE = "closingIssuesReferences"
TEXT_SOURCES = ("title", "body")  # PullRequest fields, and the source each one's references get


def head_commit(pull_request: dict) -> dict:
    """The PR's head commit as its ``headCommit`` selection brought it ({} when not asked for)."""
    nodes = (pull_request.get("headCommit") or {}).get("nodes") or []
    return nodes[-1]["commit"] if nodes else {}


def status_contexts(pull_request: dict) -> list:
    """The head commit's legacy statuses (``Commit.status.contexts``: a plain list)."""
    commit = head_commit(pull_request)
    output: list = []
    for status in (commit.get("status") or {}).get("contexts") or []:
        creator = status.get("creator")
        if creator is not None:
            output.append(member(creator))
        output.append(
            items.StatusContext(
                pull_request_id=pull_request["id"],
                commit_oid=commit["oid"],
                context=status["context"],
                state=status["state"],
                description=status.get("description"),
                target_url=status.get("targetUrl"),
                created_at=status["createdAt"],
                creator_login=None if creator is None else creator["login"],
            )
        )
    return output


def repository_of(pull_request: dict) -> str:
    """owner/name of the PR's repository, from its url (https://github.com/OWNER/NAME/pull/N)."""
    owner, name = pull_request["url"].split("/")[-4:-2]
    return f"{owner}/{name}"


def text_references(pull_request: dict) -> list:
    """The issue references written in the PR's title and body."""
    repository = repository_of(pull_request)
    return [
        items.IssueReference(
            pull_request_id=pull_request["id"],
            issue_repository=reference.repository,
            issue_number=reference.number,
            kind=reference.kind,
            source=source,
        )
        for source in TEXT_SOURCES
        for reference in references(pull_request.get(source), repository)
    ]


def closing_issue_with_reference(node: dict, context: dict) -> list:
    """A closing issue, and the same issue as an issue reference of GitHub's own linking."""
    return [
        *closing_issue(node, context),
        items.IssueReference(
            pull_request_id=context["pull_request_id"],
            issue_repository=node["repository"]["nameWithOwner"],
            issue_number=node["number"],
            kind=CLOSING,
            source=CLOSING_ISSUES_SOURCE,
        ),
    ]


# --- end prtext


def review(node: dict, context: dict) -> list:
    return [
        member(node.get("author")),
        items.Review(
            id=node["id"],
            pull_request_id=context["pull_request_id"],
            database_id=big_int(node.get("fullDatabaseId")),
            author_login=login(node.get("author")),
            state=node["state"],
            body=node["body"],
            author_association=node["authorAssociation"],
            commit_oid=(node.get("commit") or {}).get("oid"),
            submitted_at=node.get("submittedAt"),
            created_at=node["createdAt"],
        ),
    ]


def commit(node: dict, context: dict) -> list:
    data = node["commit"]
    author = data.get("author") or {}
    user = author.get("user")
    output: list = [member(user)] if user is not None else []
    output.append(
        items.Commit(
            pull_request_id=context["pull_request_id"],
            oid=data["oid"],
            message_headline=data["messageHeadline"],
            message=data["message"],
            author_name=author.get("name"),
            author_email=author.get("email"),
            author_login=user["login"] if user is not None else None,
            authored_at=data["authoredDate"],
            committed_at=data["committedDate"],
            additions=data["additions"],
            deletions=data["deletions"],
        )
    )
    return output


def changed_file(node: dict, context: dict) -> list:
    return [
        items.File(
            pull_request_id=context["pull_request_id"],
            path=node["path"],
            additions=node["additions"],
            deletions=node["deletions"],
            change_type=node["changeType"],
        )
    ]


def check_suite(node: dict, context: dict) -> list:
    """A suite is no row of its own: its runs carry its id and app."""
    return []


def check_run(node: dict, context: dict) -> list:
    return [
        items.CheckRun(
            id=node["id"],
            pull_request_id=context["pull_request_id"],
            commit_oid=context["commit_oid"],
            check_suite_id=context["check_suite_id"],
            app_slug=context.get("app_slug"),
            database_id=node.get("databaseId"),
            name=node["name"],
            status=node["status"],
            conclusion=node.get("conclusion"),
            started_at=node.get("startedAt"),
            completed_at=node.get("completedAt"),
            details_url=node.get("detailsUrl"),
        )
    ]


# --- prconn: the per-PR parts of PRSEED_COLLECT (see prseed.streams.pull_requests.PARTS) ---


def actors(*found: dict | None) -> list[items.Member]:
    """The members rows of the accounts a node names (a deleted one is ghost)."""
    return [member(actor) for actor in found]


def reviewer(requested: dict | None) -> tuple[str, str] | tuple[None, None]:
    """A requested reviewer's kind and login (a team's slug); (None, None) when deleted."""
    if requested is None:
        return None, None
    kind = requested["__typename"]
    return kind, requested["slug"] if kind == "Team" else requested["login"]


def reviewer_members(requested: dict | None) -> list[items.Member]:
    """A requested reviewer is a member, unless it is a team."""
    if requested is None or requested["__typename"] == "Team":
        return []
    return [member(requested)]


def oid(commit: dict | None) -> str | None:
    return None if commit is None else commit["oid"]


def timeline_event(node: dict, context: dict) -> list:
    """One timeline item; the columns its type does not carry stay None."""
    output = actors(node.get("actor"))
    requested = node.get("requestedReviewer")
    kind, requested_login = reviewer(requested)
    output += reviewer_members(requested)
    assignee = node.get("assignee")
    if assignee is not None:
        output.append(member(assignee))
    source = node.get("source")
    output.append(
        items.TimelineEvent(
            id=node["id"],
            pull_request_id=context["pull_request_id"],
            type=item_type(node["__typename"]),
            created_at=node["createdAt"],
            actor_login=login(node.get("actor")),
            requested_reviewer_kind=kind,
            requested_reviewer=requested_login,
            assignee_login=assignee["login"] if assignee else None,
            label_name=(node.get("label") or {}).get("name"),
            before_oid=oid(node.get("beforeCommit")),
            after_oid=oid(node.get("afterCommit")),
            previous_ref_name=node.get("previousRefName"),
            current_ref_name=node.get("currentRefName"),
            dismissed_review_id=(node.get("review") or {}).get("id"),
            commit_oid=oid(node.get("commit")),
            source_kind=source["__typename"] if source else None,
            source_repository=source["repository"]["nameWithOwner"] if source else None,
            source_number=source["number"] if source else None,
            will_close_target=node.get("willCloseTarget"),
        )
    )
    return output


def item_type(typename: str) -> str:
    """GitHub's PullRequestTimelineItemsItemType of a timeline item's ``__typename``:
    ``ReadyForReviewEvent`` -> ``READY_FOR_REVIEW_EVENT``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", typename).upper()


def review_thread(node: dict, context: dict) -> list:
    resolver = node.get("resolvedBy")
    output = [member(resolver)] if resolver is not None else []
    output.append(
        items.ReviewThread(
            id=node["id"],
            pull_request_id=context["pull_request_id"],
            path=node["path"],
            line=node.get("line"),
            original_line=node.get("originalLine"),
            start_line=node.get("startLine"),
            diff_side=node["diffSide"],
            is_resolved=node["isResolved"],
            is_outdated=node["isOutdated"],
            resolved_by_login=resolver["login"] if resolver else None,
        )
    )
    return output


def review_comment(node: dict, context: dict) -> list:
    return [
        member(node.get("author")),
        items.ReviewComment(
            id=node["id"],
            pull_request_id=context["pull_request_id"],
            thread_id=context["thread_id"],
            review_id=(node.get("pullRequestReview") or {}).get("id"),
            database_id=big_int(node.get("fullDatabaseId")),
            author_login=login(node.get("author")),
            body=node["body"],
            created_at=node["createdAt"],
            updated_at=node["updatedAt"],
            is_outdated=node["outdated"],
            reply_to_id=(node.get("replyTo") or {}).get("id"),
            commit_oid=oid(node.get("commit")),
            original_commit_oid=oid(node.get("originalCommit")),
        ),
    ]


def issue_comment(node: dict, context: dict) -> list:
    return [
        member(node.get("author")),
        items.IssueComment(
            id=node["id"],
            pull_request_id=context["pull_request_id"],
            database_id=big_int(node.get("fullDatabaseId")),
            author_login=login(node.get("author")),
            author_association=node["authorAssociation"],
            body=node["body"],
            created_at=node["createdAt"],
            updated_at=node["updatedAt"],
        ),
    ]


def review_request(node: dict, context: dict) -> list:
    requested = node.get("requestedReviewer")
    kind, requested_login = reviewer(requested)
    output = reviewer_members(requested) if requested is not None else [member(None)]
    output.append(
        items.ReviewRequest(
            pull_request_id=context["pull_request_id"],
            reviewer_kind=kind or "Ghost",
            reviewer=requested_login or GHOST,
            as_code_owner=node["asCodeOwner"],
        )
    )
    return output


def assignee(node: dict, context: dict) -> list:
    return [
        member(node),
        items.PullRequestAssignee(pull_request_id=context["pull_request_id"], login=node["login"]),
    ]


# --- end of prconn's records
