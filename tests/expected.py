"""The database a crawl should produce, computed straight from the fake server's dataset,
and the database a crawl did produce, read back in the same shape."""

from __future__ import annotations

from prseed.db.schema import DATA_TABLES
from prseed.streams.pull_requests import ALL_PARTS

FILES_CAP = 3000


def _login(actor):
    return "ghost" if actor is None else actor["login"]


def _member(actor):
    if actor is None:
        return {"login": "ghost", "kind": "Ghost", "database_id": None, "name": None}
    return {
        "login": actor["login"],
        "kind": actor["__typename"],
        "database_id": actor.get("databaseId"),
        "name": actor.get("name"),
    }


def selected_pull_requests(repository: dict, since: str | None = None, max_prs: int | None = None):
    """The PRs a crawl with these limits fetches: newest update first."""
    chosen = sorted(repository["pullRequests"], key=lambda pr: pr["updatedAt"], reverse=True)
    if since is not None:
        chosen = [pr for pr in chosen if pr["updatedAt"] >= since]
    return chosen[:max_prs] if max_prs is not None else chosen


def expected_rows(
    dataset,
    repositories,
    check_runs="head",
    since=None,
    max_prs=None,
    collect=ALL_PARTS,
    deployments=True,
    environments=None,
    issues=False,
) -> dict[str, set]:
    """The rows of a crawl of ``repositories`` collecting the parts ``collect``
    (PRSEED_COLLECT); the deployments stream is on unless ``deployments`` is False (of
    ``environments`` only, when given), the issues stream only with ``issues``."""
    rows: dict[str, dict] = {table.name: {} for table in DATA_TABLES}

    def add(table, **values):
        definition = next(t for t in DATA_TABLES if t.name == table)
        key = tuple(values[name] for name in definition.key)
        rows[table][key] = tuple(values[name] for name in definition.column_names)

    for full_name in repositories:
        repository = dataset.repositories[full_name]
        repository_id = repository["id"]
        add(
            "repositories",
            id=repository_id,
            owner=repository["owner"]["login"],
            name=repository["name"],
            url=repository["url"],
        )
        for pr in selected_pull_requests(repository, since, max_prs):
            pr_id = pr["id"]
            add("members", **_member(pr["author"]))
            if pr["mergedBy"] is not None:
                add("members", **_member(pr["mergedBy"]))
            milestone = pr["milestone"]
            if milestone:
                add(
                    "milestones",
                    repository_id=repository_id,
                    number=milestone["number"],
                    id=milestone["id"],
                    title=milestone["title"],
                    state=milestone["state"],
                    due_on=milestone["dueOn"],
                    closed_at=milestone["closedAt"],
                    created_at=milestone["createdAt"],
                )
            add(
                "pull_requests",
                id=pr_id,
                repository_id=repository_id,
                number=pr["number"],
                database_id=int(pr["fullDatabaseId"]),
                title=pr["title"],
                body=pr["body"],
                state=pr["state"],
                is_draft=pr["isDraft"],
                url=pr["url"],
                author_login=_login(pr["author"]),
                merged_by_login=pr["mergedBy"]["login"] if pr["mergedBy"] else None,
                milestone_number=milestone["number"] if milestone else None,
                created_at=pr["createdAt"],
                updated_at=pr["updatedAt"],
                closed_at=pr["closedAt"],
                merged_at=pr["mergedAt"],
                base_ref=pr["baseRefName"],
                head_ref=pr["headRefName"],
                head_sha=pr["headRefOid"],
                merge_commit_sha=pr["mergeCommit"]["oid"] if pr["mergeCommit"] else None,
                additions=pr["additions"],
                deletions=pr["deletions"],
                changed_files=pr["changedFiles"],
                files_truncated=pr["changedFiles"] > min(len(pr["files"]), FILES_CAP),
                review_decision=pr["reviewDecision"],
                complete=True,
                total_comments_count=total_comments_count(pr) if "comments" in collect else None,
                status_rollup_state=(pr["commits"][-1]["commit"].get("statusCheckRollup") or {}).get("state")
                if "statuses" in collect
                else None,
            )
            add_prtext_rows(add, pr, collect)
            for label in pr["labels"]:
                add(
                    "labels",
                    repository_id=repository_id,
                    name=label["name"],
                    id=label["id"],
                    color=label["color"],
                    description=label["description"],
                )
                add("pull_request_labels", pull_request_id=pr_id, label_name=label["name"])
            for issue in pr["closingIssuesReferences"]:
                add(
                    "closing_issues",
                    pull_request_id=pr_id,
                    issue_repository=issue["repository"]["nameWithOwner"],
                    issue_number=issue["number"],
                    title=issue["title"],
                    state=issue["state"],
                    url=issue["url"],
                )
            for review in pr["reviews"]:
                add("members", **_member(review["author"]))
                add(
                    "reviews",
                    id=review["id"],
                    pull_request_id=pr_id,
                    database_id=int(review["fullDatabaseId"]),
                    author_login=_login(review["author"]),
                    state=review["state"],
                    body=review["body"],
                    author_association=review["authorAssociation"],
                    commit_oid=review["commit"]["oid"] if review["commit"] else None,
                    submitted_at=review["submittedAt"],
                    created_at=review["createdAt"],
                )
            commits = [node["commit"] for node in pr["commits"]]
            for commit in commits:
                author = commit["author"] or {}
                if author.get("user") is not None:
                    add("members", **_member(author["user"]))
                add(
                    "commits",
                    pull_request_id=pr_id,
                    oid=commit["oid"],
                    message_headline=commit["messageHeadline"],
                    message=commit["message"],
                    author_name=author.get("name"),
                    author_email=author.get("email"),
                    author_login=author["user"]["login"] if author.get("user") else None,
                    authored_at=commit["authoredDate"],
                    committed_at=commit["committedDate"],
                    additions=commit["additions"],
                    deletions=commit["deletions"],
                )
            checked = {"head": commits[-1:], "all": commits, "none": []}[check_runs]
            for commit in checked:
                for suite in commit["checkSuites"]:
                    for run in suite["checkRuns"]:
                        add(
                            "check_runs",
                            id=run["id"],
                            pull_request_id=pr_id,
                            commit_oid=commit["oid"],
                            check_suite_id=suite["id"],
                            app_slug=(suite["app"] or {}).get("slug"),
                            database_id=run["databaseId"],
                            name=run["name"],
                            status=run["status"],
                            conclusion=run["conclusion"],
                            started_at=run["startedAt"],
                            completed_at=run["completedAt"],
                            details_url=run["detailsUrl"],
                        )
            for changed in pr["files"][:FILES_CAP]:
                add(
                    "files",
                    pull_request_id=pr_id,
                    path=changed["path"],
                    additions=changed["additions"],
                    deletions=changed["deletions"],
                    change_type=changed["changeType"],
                )
            conversation_rows(add, pr, collect)
        if deployments:
            add_deployments(add, repository, environments)
        if issues:
            add_issues(add, repository)
    return {table: set(values.values()) for table, values in rows.items()}


# --- prconn: PRSEED_COLLECT's parts


def total_comments_count(pr) -> int:
    return len(pr["comments"]) + sum(len(thread["comments"]) for thread in pr["reviewThreads"])


def _item_type(typename: str) -> str:
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(typename)).upper()


def _reviewer(reviewer):
    if reviewer is None:
        return None, None
    kind = reviewer["__typename"]
    return kind, reviewer["slug"] if kind == "Team" else reviewer["login"]


def _oid(commit):
    return None if commit is None else commit["oid"]


def conversation_rows(add, pr, parts) -> None:
    """The rows of a PR's timeline, threads, comments, review requests and assignees."""
    pr_id = pr["id"]

    def member(actor):
        if actor is None or actor.get("__typename") != "Team":
            add("members", **_member(actor))

    if "timeline" in parts:
        for item in pr["timelineItems"]:
            member(item["actor"])
            requested = item.get("requestedReviewer")
            if requested is not None:
                member(requested)
            if item.get("assignee") is not None:
                member(item["assignee"])
            kind, reviewer = _reviewer(requested)
            source = item.get("source")
            add(
                "timeline_events",
                id=item["id"],
                pull_request_id=pr_id,
                type=_item_type(item["__typename"]),
                created_at=item["createdAt"],
                actor_login=_login(item["actor"]),
                requested_reviewer_kind=kind,
                requested_reviewer=reviewer,
                assignee_login=item["assignee"]["login"] if item.get("assignee") else None,
                label_name=item["label"]["name"] if item.get("label") else None,
                before_oid=_oid(item.get("beforeCommit")),
                after_oid=_oid(item.get("afterCommit")),
                previous_ref_name=item.get("previousRefName"),
                current_ref_name=item.get("currentRefName"),
                dismissed_review_id=item["review"]["id"] if item.get("review") else None,
                commit_oid=_oid(item.get("commit")),
                source_kind=source["__typename"] if source else None,
                source_repository=source["repository"]["nameWithOwner"] if source else None,
                source_number=source["number"] if source else None,
                will_close_target=item.get("willCloseTarget"),
            )
    if "review_threads" in parts:
        for thread in pr["reviewThreads"]:
            if thread["resolvedBy"] is not None:
                member(thread["resolvedBy"])
            add(
                "review_threads",
                id=thread["id"],
                pull_request_id=pr_id,
                path=thread["path"],
                line=thread["line"],
                original_line=thread["originalLine"],
                start_line=thread["startLine"],
                diff_side=thread["diffSide"],
                is_resolved=thread["isResolved"],
                is_outdated=thread["isOutdated"],
                resolved_by_login=thread["resolvedBy"]["login"] if thread["resolvedBy"] else None,
            )
            for comment in thread["comments"]:
                member(comment["author"])
                add(
                    "review_comments",
                    id=comment["id"],
                    pull_request_id=pr_id,
                    thread_id=thread["id"],
                    review_id=comment["pullRequestReview"]["id"] if comment["pullRequestReview"] else None,
                    database_id=int(comment["fullDatabaseId"]),
                    author_login=_login(comment["author"]),
                    body=comment["body"],
                    created_at=comment["createdAt"],
                    updated_at=comment["updatedAt"],
                    is_outdated=comment["outdated"],
                    reply_to_id=comment["replyTo"]["id"] if comment["replyTo"] else None,
                    commit_oid=_oid(comment["commit"]),
                    original_commit_oid=_oid(comment["originalCommit"]),
                )
    if "comments" in parts:
        for comment in pr["comments"]:
            member(comment["author"])
            add(
                "issue_comments",
                id=comment["id"],
                pull_request_id=pr_id,
                database_id=int(comment["fullDatabaseId"]),
                author_login=_login(comment["author"]),
                author_association=comment["authorAssociation"],
                body=comment["body"],
                created_at=comment["createdAt"],
                updated_at=comment["updatedAt"],
            )
    if "review_requests" in parts:
        for request in pr["reviewRequests"]:
            member(request["requestedReviewer"])
            kind, reviewer = _reviewer(request["requestedReviewer"])
            add(
                "review_requests",
                pull_request_id=pr_id,
                reviewer_kind=kind or "Ghost",
                reviewer=reviewer or "ghost",
                as_code_owner=request["asCodeOwner"],
            )
    if "assignees" in parts:
        for user in pr["assignees"]:
            member(user)
            add("pull_request_assignees", pull_request_id=pr_id, login=user["login"])


# --- end of prconn's parts


# --- prtext (issue 14)
def add_prtext_rows(add, pr, parts) -> None:
    """The head commit's legacy statuses (part ``statuses``), and the issue references the
    data generator wrote into the title and body (its own record, not a parse) and GitHub's
    closing issues (part ``issue_references``)."""
    head = pr["commits"][-1]["commit"]
    contexts = (head.get("status") or {}).get("contexts") or []
    for status in contexts if "statuses" in parts else ():
        if status["creator"] is not None:
            add("members", **_member(status["creator"]))
        add(
            "status_contexts",
            pull_request_id=pr["id"],
            commit_oid=head["oid"],
            context=status["context"],
            state=status["state"],
            description=status["description"],
            target_url=status["targetUrl"],
            created_at=status["createdAt"],
            creator_login=status["creator"]["login"] if status["creator"] else None,
        )
    if "issue_references" not in parts:
        return
    for source, repository, number, kind in pr["referencesWritten"]:
        add(
            "issue_references",
            pull_request_id=pr["id"],
            issue_repository=repository,
            issue_number=number,
            kind=kind,
            source=source,
        )
    for issue in pr["closingIssuesReferences"]:
        add(
            "issue_references",
            pull_request_id=pr["id"],
            issue_repository=issue["repository"]["nameWithOwner"],
            issue_number=issue["number"],
            kind="closing",
            source="closingIssuesReferences",
        )


# --- end prtext
# --- repository-level streams: deployments and issues


def _creator(actor):
    """A deleted account's non-null creator is GitHub's ghost user: the Ghost member."""
    return _member(None if actor["login"] == "ghost" else actor)


def add_deployments(add, repository: dict, environments=None) -> None:
    for deployment in repository["deployments"]:
        if environments is not None and deployment["environment"] not in environments:
            continue
        latest = deployment["latestStatus"] or {}
        add("members", **_creator(deployment["creator"]))
        add(
            "deployments",
            id=deployment["id"],
            repository_id=repository["id"],
            database_id=deployment["databaseId"],
            environment=deployment["environment"],
            original_environment=deployment["originalEnvironment"],
            task=deployment["task"],
            state=deployment["state"],
            commit_oid=deployment["commitOid"],
            creator_login=deployment["creator"]["login"],
            created_at=deployment["createdAt"],
            updated_at=deployment["updatedAt"],
            latest_status_state=latest.get("state"),
            latest_status_at=latest.get("createdAt"),
            complete=True,
        )
        for status in deployment["statuses"]:
            add("members", **_creator(status["creator"]))
            add(
                "deployment_statuses",
                id=status["id"],
                deployment_id=deployment["id"],
                state=status["state"],
                description=status["description"],
                environment_url=status["environmentUrl"],
                log_url=status["logUrl"],
                creator_login=status["creator"]["login"],
                created_at=status["createdAt"],
            )


def add_issues(add, repository: dict) -> None:
    for issue in repository["issues"]:
        add("members", **_member(issue["author"]))
        add(
            "issues",
            id=issue["id"],
            repository_id=repository["id"],
            number=issue["number"],
            title=issue["title"],
            state=issue["state"],
            state_reason=issue["stateReason"],
            author_login=_login(issue["author"]),
            url=issue["url"],
            created_at=issue["createdAt"],
            updated_at=issue["updatedAt"],
            closed_at=issue["closedAt"],
            comment_count=issue["comments"]["totalCount"],
            complete=True,
        )
        for label in issue["labels"]:
            add(
                "labels",
                repository_id=repository["id"],
                name=label["name"],
                id=label["id"],
                color=label["color"],
                description=label["description"],
            )
            add("issue_labels", issue_id=issue["id"], label_name=label["name"])
        for assignee in issue["assignees"]:
            add("members", **_member(assignee))
            add("issue_assignees", issue_id=issue["id"], login=assignee["login"])
        for pull_request in issue["closedByPullRequestsReferences"]:
            add(
                "issue_closing_pull_requests",
                issue_id=issue["id"],
                pull_request_repository=pull_request["repository"]["nameWithOwner"],
                pull_request_number=pull_request["number"],
            )


def database_rows(database_url: str) -> dict[str, set]:
    """Every row of every prseed table that holds GitHub data, as tuples in column order."""
    from prseed.db import open_database

    database = open_database(database_url)
    try:
        return {table.name: {tuple(row.values()) for row in database.select(table)} for table in DATA_TABLES}
    finally:
        database.close()


def named(rows: dict[str, set], table: str) -> list[dict]:
    """One table's rows as dicts, for assertions that name their columns."""
    from prseed.db.schema import TABLE_BY_NAME

    columns = TABLE_BY_NAME[table].column_names
    return [dict(zip(columns, row, strict=True)) for row in rows[table]]
