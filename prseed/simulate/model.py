"""The simulation model: crawled history in, invented demo rows out, pure and deterministic.

Every random draw comes from :func:`rng`, seeded with the run's seed and the identity of
what is drawn for (a login, a PR's node id, a Jira key, a day), never from iteration order
or Python's ``hash()``: the same history and seed give the same rows in any process, and a
PR added later leaves the rows drawn for the others as they were.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

from prseed.simulate.tables import (
    AIUsageDaily,
    JiraIssue,
    PullRequestJiraIssue,
    SurveyResponse,
    TeamMember,
)

HOUR = 3600
DAY = 24 * HOUR
TOOLS = ("GitHub Copilot", "Cursor", "Claude Code", "ChatGPT", "Codeium")
TOOL_WEIGHTS = (45, 20, 15, 15, 5)
PATTERNS = ("steady", "bursty", "weekday-heavy")
SHARES = ("none", "little", "some", "most")
# how often a reviewer guesses "AI-assisted", by how much AI the author really used
GUESS_RATE = {"none": 0.2, "little": 0.35, "some": 0.55, "most": 0.75}
SPRINT_EPOCH = datetime(2018, 1, 1, tzinfo=UTC)  # a Monday: sprints are the two weeks from it
SPRINT_SECONDS = 14 * DAY
POINTS = ((10, 1), (50, 2), (200, 3), (500, 5), (1000, 8))  # lines changed up to -> story points
JIRA_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]{1,9})-([1-9][0-9]{0,6})(?![A-Za-z0-9])")
NOT_JIRA = frozenset({"UTF", "SHA", "ISO", "CVE", "RFC", "HTTP", "TLS", "SSL", "GPT", "ES", "MD", "PR", "GH"})
BUG_TITLE = re.compile(
    r"\b(fix(es|ed)?|bug(fix)?|hotfix|crash(es)?|error|regression|broken)\b", re.IGNORECASE
)
STORY_TITLE = re.compile(r"^\s*(feat|feature|add|implement|introduce|support|new)\b", re.IGNORECASE)
# a branch's suffix that marks one more PR of the same piece of work
BRANCH_SUFFIX = re.compile(
    r"([-_/.](part|pt)?\d|[-_/.]v\d+|[-_/.](part|pt)\d+|[-_/.](followup|follow-up|fixup|wip))$"
)
SHARE_BRANCH = 0.6  # how often a PR joins the issue of its branch prefix's other PRs of the sprint
SIMULATED_KEY = "simulated"


def rng(seed: int, *identity: object) -> random.Random:
    """A random source for one thing: the seed and its identity, through SHA-256."""
    text = "\x1f".join(map(str, (seed, *identity)))
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big"))


@dataclass(frozen=True)
class Persona:
    """What the simulation invents about a member, from the seed and the login alone."""

    adoption: float  # how readily they use an AI assistant, 0 to 1
    tool: str  # their favourite
    pattern: str  # steady, bursty or weekday-heavy
    response_rate: float  # how often they answer a survey


@cache
def persona(seed: int, login: str) -> Persona:
    draw = rng(seed, "persona", login.lower())
    kind = draw.random()
    if kind < 0.25:  # sceptics
        adoption = draw.uniform(0.0, 0.15)
    elif kind < 0.7:
        adoption = draw.uniform(0.3, 0.7)
    else:  # enthusiasts
        adoption = draw.uniform(0.75, 0.98)
    tool = draw.choices(TOOLS, TOOL_WEIGHTS)[0]
    return Persona(round(adoption, 2), tool, draw.choice(PATTERNS), round(draw.uniform(0.35, 0.9), 2))


@dataclass
class PullRequest:
    """What the model reads of a crawled PR; times are Unix seconds."""

    id: str
    number: int
    title: str
    state: str  # OPEN, CLOSED, MERGED
    is_draft: bool
    author: str
    created: int
    closed: int | None
    merged: int | None
    head_ref: str
    lines: int  # additions + deletions
    labels: list[str] = field(default_factory=list)
    reviews: list[tuple[str, int]] = field(default_factory=list)  # (login, time)
    commits: list[tuple[str, int, int]] = field(default_factory=list)  # (login, time, lines)
    requested: list[str] = field(default_factory=list)  # requested reviewers (users)
    review_started: int | None = None  # ready for review / first review request (timeline)


@dataclass
class History:
    repository_id: str
    repository: str  # owner/name
    pull_requests: list[PullRequest]
    kinds: dict[str, str]  # login -> the members row's kind


@dataclass
class Simulation:
    team_members: list[TeamMember]
    jira_issues: list[JiraIssue]
    links: list[PullRequestJiraIssue]
    survey_responses: list[SurveyResponse]
    ai_usage: list[AIUsageDaily]
    pull_requests: int  # simulated from


def stamp(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_key(repository: str) -> str:
    """A Jira project key from the repository's name: gumroad -> GUM, polar-adapters -> PAD."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", repository.partition("/")[2]) if word] or ["X"]
    if len(words) == 1:
        key = words[0][:3]
    else:
        key = "".join(word[0] for word in words[:-1]) + words[-1]
    key = key[:3].upper()
    return key if key[0].isalpha() else f"X{key}"[:3]


def is_bot(login: str, kind: str) -> bool:
    return kind == "Bot" or login.endswith("[bot]")


def chosen_pull_requests(history: History, max_prs: int | None) -> list[PullRequest]:
    """The newest ``max_prs`` PRs by creation (all of them when None), oldest first."""
    ordered = sorted(history.pull_requests, key=lambda pr: (pr.created, pr.number))
    return ordered[-max_prs:] if max_prs else ordered


def simulate(
    history: History, team: str, seed: int, max_prs: int | None = None, max_members: int | None = None
) -> Simulation:
    pull_requests = chosen_pull_requests(history, max_prs)
    members = team_members(history, pull_requests, team, seed, max_members)
    surveyed = {member.login for member in members if member.surveyed}
    issues, links = jira(history, pull_requests, seed)
    responses = [
        response
        for pr in pull_requests
        if pr.merged is not None
        for response in survey(history.repository_id, pr, seed, surveyed)
    ]
    usage = ai_usage(history.repository_id, pull_requests, seed, surveyed)
    return Simulation(members, issues, links, responses, usage, len(pull_requests))


# --- teams -------------------------------------------------------------------------------


def team_members(
    history: History, pull_requests: list[PullRequest], team: str, seed: int, max_members: int | None
) -> list[TeamMember]:
    """Every author, reviewer, committer and requested reviewer with an account (not
    ``ghost``); the ``max_members`` most active humans are surveyed."""
    counts: dict[str, list[int]] = {}  # login -> [pull requests, reviews, commits, requests]
    times: dict[str, list[int]] = {}  # login -> [first, last]

    def seen(login: str | None, index: int, moment: int) -> None:
        if not login or login == "ghost":
            return
        counts.setdefault(login, [0, 0, 0, 0])[index] += 1
        span = times.setdefault(login, [moment, moment])
        span[0], span[1] = min(span[0], moment), max(span[1], moment)

    for pr in pull_requests:
        seen(pr.author, 0, pr.created)
        for login, moment in pr.reviews:
            seen(login, 1, moment)
        for login, moment, _ in pr.commits:
            seen(login, 2, moment)
        for login in pr.requested:
            seen(login, 3, pr.created)
    kinds = {login: history.kinds.get(login, "User") for login in counts}
    humans = sorted(
        (login for login in counts if not is_bot(login, kinds[login])),
        key=lambda login: (-sum(counts[login][:3]), login),
    )
    surveyed = set(humans[:max_members] if max_members else humans)
    members = []
    for login in sorted(counts):
        bot = is_bot(login, kinds[login])
        drawn = None if bot else persona(seed, login)
        members.append(
            TeamMember(
                team=team,
                repository_id=history.repository_id,
                login=login,
                kind=kinds[login],
                is_bot=bot,
                pull_requests=counts[login][0],
                reviews=counts[login][1],
                commits=counts[login][2],
                review_requests=counts[login][3],
                first_activity_at=stamp(times[login][0]),
                last_activity_at=stamp(times[login][1]),
                surveyed=login in surveyed,
                ai_adoption_percent=None if drawn is None else round(drawn.adoption * 100),
                favourite_tool=None if drawn is None else drawn.tool,
                activity_pattern=None if drawn is None else drawn.pattern,
                response_rate_percent=None if drawn is None else round(drawn.response_rate * 100),
            )
        )
    return members


# --- Jira ----------------------------------------------------------------------------------


def carried_key(pr: PullRequest) -> tuple[str, str] | None:
    """(key, where) of a Jira-style key in the PR's title, else its branch."""
    for source, text in (("title", pr.title), ("branch", pr.head_ref)):
        for match in JIRA_KEY.finditer(text or ""):
            if match.group(1) not in NOT_JIRA:
                return f"{match.group(1)}-{match.group(2)}", source
    return None


def branch_prefix(head_ref: str) -> str:
    """The branch without the suffixes that number one piece of work's PRs (-2, -part3, -v2, -followup)."""
    prefix = head_ref.lower()
    while True:
        stripped = BRANCH_SUFFIX.sub("", prefix)
        if stripped == prefix or not stripped:
            return prefix
        prefix = stripped


def sprint_of(seconds: int) -> int:
    return int((seconds - SPRINT_EPOCH.timestamp()) // SPRINT_SECONDS)


def jira(history: History, pull_requests: list[PullRequest], seed: int):
    """The issues and each PR's link: a key the PR carries, else a simulated issue, shared
    by the PRs of one branch prefix and sprint that chose to share."""
    key_prefix = project_key(history.repository)
    groups: dict[str, tuple[str, list[PullRequest]]] = {}  # key -> (source, its PRs)
    shared: dict[tuple[str, int], str] = {}  # (branch prefix, sprint) -> the key of its shared issue
    links = []
    for pr in pull_requests:  # oldest first: a shared issue is numbered after its first PR
        carried = carried_key(pr)
        if carried is not None:
            key, source = carried
        else:
            source = SIMULATED_KEY
            key = f"{key_prefix}-{pr.number}"
            if rng(seed, "share", pr.id).random() < SHARE_BRANCH:
                key = shared.setdefault((branch_prefix(pr.head_ref), sprint_of(pr.created)), key)
        groups.setdefault(key, (source, []))[1].append(pr)
        links.append(PullRequestJiraIssue(history.repository_id, pr.id, key, source))
    issues = [jira_issue(history, key, source, prs, seed) for key, (source, prs) in sorted(groups.items())]
    return issues, links


def issue_type(prs: list[PullRequest], lines: int) -> str:
    first = prs[0]
    if BUG_TITLE.search(first.title) or any("bug" in label.lower() for pr in prs for label in pr.labels):
        return "bug"
    if STORY_TITLE.search(first.title) or lines >= 300:
        return "story"
    return "task"


def story_points(lines: int) -> int:
    return next((points for limit, points in POINTS if lines <= limit), 13)


def jira_issue(history: History, key: str, source: str, prs: list[PullRequest], seed: int) -> JiraIssue:
    first = prs[0]
    draw = rng(seed, "issue", history.repository_id, key)
    lines = sum(pr.lines for pr in prs)
    created = min(pr.created for pr in prs) - draw.randint(2 * HOUR, 14 * DAY)
    resolved = None
    if any(pr.state == "OPEN" for pr in prs):
        status = "In Progress" if all(pr.is_draft for pr in prs if pr.state == "OPEN") else "In Review"
    elif any(pr.merged is not None for pr in prs):
        status = "Done"
        resolved = max(pr.merged for pr in prs if pr.merged is not None) + draw.randint(0, 36 * HOUR)
    else:
        status = "Won't Do"
        resolved = max(pr.closed or pr.created for pr in prs) + draw.randint(0, 48 * HOUR)
    started = [pr.review_started for pr in prs if pr.review_started is not None]
    if not started:
        started = [moment for pr in prs for _, moment in pr.reviews]
    sprint = sprint_of(first.created)
    sprint_start = int(SPRINT_EPOCH.timestamp()) + sprint * SPRINT_SECONDS
    project = key.partition("-")[0]
    return JiraIssue(
        repository_id=history.repository_id,
        key=key,
        project_key=project,
        summary=first.title,
        issue_type=issue_type(prs, lines),
        status=status,
        story_points=story_points(lines),
        assignee_login=first.author,
        created_at=stamp(created),
        review_started_at=stamp(min(started)) if started else None,
        resolved_at=stamp(resolved),
        sprint=f"{project} Sprint {sprint + 1}",
        sprint_start=stamp(sprint_start),
        sprint_end=stamp(sprint_start + SPRINT_SECONDS - 1),
        key_source=source,
    )


# --- surveys -------------------------------------------------------------------------------


def size_factor(lines: int) -> float:
    """0 for a one-line change, about 1 for a few thousand lines."""
    return min(1.0, math.log10(lines + 1) / 3.5)


def ai_share(draw: random.Random, adoption: float, lines: int) -> str:
    """How much of the PR an assistant wrote: likelier and more with adoption and size."""
    if draw.random() >= adoption * (0.55 + 0.45 * size_factor(lines)):
        return "none"
    level = 0.6 * adoption + 0.4 * size_factor(lines)
    roll = draw.random()
    return "most" if roll < 0.5 * level else "some" if roll < 0.3 + 0.5 * level else "little"


def survey(repository_id: str, pr: PullRequest, seed: int, surveyed: set[str]) -> list[SurveyResponse]:
    """A merged PR's author's answer and the reviewers' guesses and ratings (who answers:
    their persona's response rate)."""
    draw = rng(seed, "survey", pr.id)
    author = persona(seed, pr.author)
    share = ai_share(draw, author.adoption, pr.lines)
    tool = author.tool if draw.random() < 0.8 else draw.choice([t for t in TOOLS if t != author.tool])
    answers = draw.random() < author.response_rate
    responses = []
    if answers and pr.author in surveyed:
        responses.append(
            SurveyResponse(
                repository_id=repository_id,
                pull_request_id=pr.id,
                respondent_login=pr.author,
                role="author",
                ai_assisted=share != "none",
                ai_tool=None if share == "none" else tool,
                ai_share=share,
                quality_rating=None,
                submitted_at=stamp(pr.merged + draw.randint(10 * 60, 3 * DAY)),
            )
        )
    for login in sorted({login for login, _ in pr.reviews} - {pr.author}):
        if login not in surveyed:
            continue
        guess = rng(seed, "survey", pr.id, login)
        if guess.random() >= persona(seed, login).response_rate * 0.8:
            continue
        quality = 4.3 - 0.4 * (pr.lines > 400) - 0.8 * (pr.lines > 1000) - 0.3 * (share == "most")
        responses.append(
            SurveyResponse(
                repository_id=repository_id,
                pull_request_id=pr.id,
                respondent_login=login,
                role="reviewer",
                ai_assisted=guess.random() < GUESS_RATE[share],
                ai_tool=None,
                ai_share=None,
                quality_rating=max(1, min(5, round(quality + guess.gauss(0, 0.7)))),
                submitted_at=stamp(pr.merged + guess.randint(10 * 60, 4 * DAY)),
            )
        )
    return responses


# --- AI usage ------------------------------------------------------------------------------


def day_of(seconds: int) -> date:
    return date(1970, 1, 1) + timedelta(days=seconds // DAY)


def ai_usage(
    repository_id: str, pull_requests: list[PullRequest], seed: int, surveyed: set[str]
) -> list[AIUsageDaily]:
    """Per surveyed member and day near their activity (their PRs opened, commits, reviews,
    within a day): usage growing with adoption and that activity; weekends quiet."""
    activity: dict[str, dict[date, int]] = {}  # login -> day -> events that day
    for pr in pull_requests:
        events = [(pr.author, pr.created), *pr.reviews, *((login, moment) for login, moment, _ in pr.commits)]
        for login, moment in events:
            if login in surveyed:
                days = activity.setdefault(login, {})
                day = day_of(moment)
                days[day] = days.get(day, 0) + 1
    rows = []
    one = timedelta(days=1)
    for login in sorted(activity):
        days = activity[login]
        drawn = persona(seed, login)
        near = sorted({day + shift for day in days for shift in (-one, timedelta(0), one)})
        for day in near:
            weekend = day.weekday() >= 5
            if weekend and day not in days:
                continue
            row = usage_day(repository_id, login, day, drawn, days, seed, weekend)
            if row is not None:
                rows.append(row)
    return rows


def usage_day(
    repository_id: str, login: str, day: date, drawn: Persona, days: dict[date, int], seed: int, weekend: bool
) -> AIUsageDaily | None:
    draw = rng(seed, "ai", repository_id, login, day.isoformat())
    if draw.random() >= 0.2 + 0.75 * drawn.adoption:
        return None
    one = timedelta(days=1)
    intensity = min(10, days.get(day - one, 0) + 2 * days.get(day, 0) + days.get(day + one, 0))
    factor = 0.3 if weekend else 1.0
    if drawn.pattern == "bursty":
        factor *= draw.choice((0.3, 1.0, 2.5))
    elif drawn.pattern == "weekday-heavy":
        factor *= 0.6 if day.weekday() == 4 else 1.2
    shown = int(drawn.adoption * 120 * (0.5 + intensity / 4) * factor * draw.uniform(0.6, 1.4))
    accepted = int(shown * (0.18 + 0.25 * drawn.adoption) * draw.uniform(0.8, 1.2))
    chat_turns = int(drawn.adoption * 12 * factor * draw.uniform(0.0, 1.5))
    if shown == 0 and chat_turns == 0:
        return None
    minutes = min(480, int((15 + drawn.adoption * 240) * factor * draw.uniform(0.5, 1.2)))
    tool = drawn.tool if draw.random() < 0.85 else draw.choice([t for t in TOOLS if t != drawn.tool])
    return AIUsageDaily(repository_id, login, day.isoformat(), tool, shown, accepted, chat_turns, minutes)
