"""The tables ``scrapy simulate`` writes: invented demo data, never crawled.

They are declared like prseed's own tables (:class:`prseed.db.tables.Table`) but kept out
of :mod:`prseed.db.registry`, so a crawl neither creates nor needs them; ``scrapy simulate``
creates them with the same schema rendering.  Every row carries ``simulated = true`` and the
``repository_id`` of the repository it was simulated from (which ``--delete`` goes by).  No
simulated table refers to a crawled one by a foreign key, so deleting crawled rows
(``scrapy dbstatus --delete``) never trips over them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from prseed.db.schema import table_statements
from prseed.db.tables import Table


@dataclass
class Team:
    """One per project preset, or per repository when no preset was named."""

    TABLE: ClassVar[str] = "teams"
    name: str
    project: str | None  # the preset's name
    repositories: str  # owner/name, comma-separated
    simulated: bool = True


@dataclass
class TeamMember:
    """Every PR author, reviewer and committer linked to an account, per repository, with
    the persona the simulation drew for them (None for bots, which are flagged, not dropped)."""

    TABLE: ClassVar[str] = "team_members"
    team: str
    repository_id: str
    login: str
    kind: str  # the members row's kind: User, Bot, ...
    is_bot: bool
    pull_requests: int
    reviews: int
    commits: int
    review_requests: int  # 0 where the database holds no review_requests table
    first_activity_at: str
    last_activity_at: str
    surveyed: bool  # among the --max-members most active humans: surveys and AI usage simulated
    ai_adoption_percent: int | None
    favourite_tool: str | None
    activity_pattern: str | None
    response_rate_percent: int | None
    simulated: bool = True


@dataclass
class JiraIssue:
    TABLE: ClassVar[str] = "jira_issues"
    repository_id: str
    key: str  # ABC-123
    project_key: str
    summary: str
    issue_type: str  # bug, story, task
    status: str  # To Do, In Progress, In Review, Done, Won't Do
    story_points: int
    assignee_login: str
    created_at: str
    review_started_at: str | None
    resolved_at: str | None
    sprint: str
    sprint_start: str
    sprint_end: str
    key_source: str  # title or branch (a key the PRs carry), simulated (an invented issue)
    simulated: bool = True


@dataclass
class PullRequestJiraIssue:
    TABLE: ClassVar[str] = "pull_request_jira_issues"
    repository_id: str
    pull_request_id: str
    issue_key: str
    link_source: str  # title, branch or simulated
    simulated: bool = True


@dataclass
class SurveyResponse:
    """A merged PR's author's answer (``role`` author) or a reviewer's guess (reviewer)."""

    TABLE: ClassVar[str] = "survey_responses"
    repository_id: str
    pull_request_id: str
    respondent_login: str
    role: str  # author or reviewer
    ai_assisted: bool  # the author's answer, or the reviewer's guess
    ai_tool: str | None  # author only
    ai_share: str | None  # author only: none, little, some, most
    quality_rating: int | None  # reviewer only, 1 to 5
    submitted_at: str
    simulated: bool = True


@dataclass
class AIUsageDaily:
    TABLE: ClassVar[str] = "ai_usage_daily"
    repository_id: str
    login: str
    day: str  # YYYY-MM-DD
    tool: str
    suggestions_shown: int
    suggestions_accepted: int
    chat_turns: int
    minutes_active: int
    simulated: bool = True


TEAMS = Table(Team, key=("name",))
TEAM_MEMBERS = Table(
    TeamMember,
    key=("team", "repository_id", "login"),
    timestamps=("first_activity_at", "last_activity_at"),
)
JIRA_ISSUES = Table(
    JiraIssue,
    key=("repository_id", "key"),
    timestamps=("created_at", "review_started_at", "resolved_at", "sprint_start", "sprint_end"),
)
PULL_REQUEST_JIRA_ISSUES = Table(PullRequestJiraIssue, key=("pull_request_id", "issue_key"))
SURVEY_RESPONSES = Table(
    SurveyResponse, key=("pull_request_id", "respondent_login", "role"), timestamps=("submitted_at",)
)
AI_USAGE_DAILY = Table(AIUsageDaily, key=("repository_id", "login", "day"))

SIMULATED_TABLES = (
    TEAMS,
    TEAM_MEMBERS,
    JIRA_ISSUES,
    PULL_REQUEST_JIRA_ISSUES,
    SURVEY_RESPONSES,
    AI_USAGE_DAILY,
)
# the tables whose rows belong to one repository (teams may span several)
PER_REPOSITORY = SIMULATED_TABLES[1:]


def create_statements(dialect) -> list[str]:
    """CREATE TABLE/INDEX IF NOT EXISTS for every simulated table, safe to run on every
    start; an index on ``repository_id`` where the key does not start with it (the
    per-repository delete goes by it)."""
    statements = [statement for table in SIMULATED_TABLES for statement in table_statements(table, dialect)]
    for table in PER_REPOSITORY:
        if table.key[0] != "repository_id":
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {table.name}_repository_id ON {table.name} (repository_id)"
            )
    return statements
