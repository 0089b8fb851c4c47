"""Turn the nodes of the repository-level streams (deployments, issues) into items, as
:mod:`prseed.graphql.records` does for pull requests."""

from __future__ import annotations

from prseed import items
from prseed.graphql.records import GHOST, login, member, repository_label


def creator(actor: dict | None) -> items.Member:
    """A non-null ``creator`` of a deleted account is GitHub's ``ghost`` user: the Ghost
    member, as a null author is."""
    return member(None if actor is None or actor["login"] == GHOST else actor)


def deployment(node: dict, repository_id: str) -> list:
    latest = node.get("latestStatus") or {}
    return [
        creator(node.get("creator")),
        items.Deployment(
            id=node["id"],
            repository_id=repository_id,
            database_id=node.get("databaseId"),
            environment=node.get("environment"),
            original_environment=node.get("originalEnvironment"),
            task=node.get("task"),
            state=node.get("state"),
            commit_oid=node["commitOid"],
            creator_login=login(node.get("creator")),
            created_at=node["createdAt"],
            updated_at=node["updatedAt"],
            latest_status_state=latest.get("state"),
            latest_status_at=latest.get("createdAt"),
        ),
    ]


def deployment_status(node: dict, context: dict) -> list:
    return [
        creator(node.get("creator")),
        items.DeploymentStatus(
            id=node["id"],
            deployment_id=context["deployment_id"],
            state=node["state"],
            description=node.get("description"),
            environment_url=node.get("environmentUrl"),
            log_url=node.get("logUrl"),
            creator_login=login(node.get("creator")),
            created_at=node["createdAt"],
        ),
    ]


def issue(node: dict, repository_id: str) -> list:
    return [
        member(node.get("author")),
        items.Issue(
            id=node["id"],
            repository_id=repository_id,
            number=node["number"],
            title=node["title"],
            state=node["state"],
            state_reason=node.get("stateReason"),
            author_login=login(node.get("author")),
            url=node["url"],
            created_at=node["createdAt"],
            updated_at=node["updatedAt"],
            closed_at=node.get("closedAt"),
            comment_count=node["comments"]["totalCount"],
        ),
    ]


def issue_label(node: dict, context: dict) -> list:
    return [
        repository_label(node, context),
        items.IssueLabel(issue_id=context["issue_id"], label_name=node["name"]),
    ]


def issue_assignee(node: dict, context: dict) -> list:
    return [member(node), items.IssueAssignee(issue_id=context["issue_id"], login=node["login"])]


def closing_pull_request(node: dict, context: dict) -> list:
    return [
        items.IssueClosingPullRequest(
            issue_id=context["issue_id"],
            pull_request_repository=node["repository"]["nameWithOwner"],
            pull_request_number=node["number"],
        )
    ]
