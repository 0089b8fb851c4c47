"""A deterministic, GitHub-shaped data set for the fake GraphQL server.

Everything is keyed by GraphQL field names (camelCase), so the server's
resolvers read scalars straight out of these dicts and tests can compare a
crawled database against them field by field.

A pull request's scalar fields are generated up front, but its nested lists
(``labels``, ``closingIssuesReferences``, ``reviews``, ``commits``, ``files``)
are generated on access from a per-PR seed: 50,000 PRs with all their commits,
check runs and files would take half a minute and over a gigabyte.  A small
cache keeps recently generated children, and a PR that is mutated
(``touch_pull_request`` or item assignment) keeps its children for good.

Node ids encode where the object lives (repository index, PR number, commit
index, ...), the way GitHub's ids encode database ids, so ``node(id:)`` needs
no global index.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, NamedTuple

FILES_CAP = 3000
"""GitHub serves at most this many files of a pull request (``files.totalCount`` too)."""

CHILD_KEYS = (
    "labels",
    "closingIssuesReferences",
    "reviews",
    "commits",
    "files",
    # prconn: PRSEED_COLLECT's parts
    "timelineItems",
    "reviewThreads",
    "comments",
    "reviewRequests",
    "assignees",
)
"""The keys of a pull request that hold lists and are generated on access."""

SPECIAL_PULL_REQUESTS = {
    "big": 1,
    "huge_files": 2,
    "ghost": 3,
    "bot": 4,
    "many_closing_issues": 5,
    "many_labels": 6,
}
"""PR numbers, in the first repository, of the hand-made edge cases (see ``Dataset.special``)."""

START = 1_577_836_800  # 2020-01-01T00:00:00Z
END = 1_748_736_000  # 2025-06-01T00:00:00Z
DAY = 86_400

NODE_TYPES = {
    "PR": "PullRequest",
    "C": "Commit",
    "CS": "CheckSuite",
    "PRRT": "PullRequestReviewThread",
    "DE": "Deployment",
    "IS": "Issue",
}
"""Node id prefixes ``node(id:)`` resolves, and the GraphQL type of each."""

FIRST_NAMES = tuple(
    "Alice Bruno Chen Dana Emeka Fatima Goran Hana Ivan Jules Kofi Lena Mateo Nadia Omar Priya Quinn "
    "Rosa Sven Tomoko".split()
)
LAST_NAMES = tuple("Smith Okafor Nguyen Müller García Kowalski Tanaka Silva".split())
BOTS = (("dependabot", 49699333), ("renovate", 29139614), ("github-actions", 41898282))
APPS = tuple(
    "github-actions circleci-checks codecov vercel netlify buildkite travis-ci sonarcloud snyk percy "
    "codeclimate semaphoreci".split()
)
LABELS = tuple(
    "bug, enhancement, documentation, dependencies, good first issue, help wanted, question, wontfix, "
    "duplicate, invalid, security, performance, refactor, tests, ci, ui, api, database, breaking change, "
    "needs review, blocked, priority: high, priority: low, area: billing, area: checkout, area: payouts, "
    "area: auth, area: emails, size: S, size: L".split(", ")
)
VERBS = ("Fix", "Add", "Remove", "Refactor", "Update", "Improve", "Rename", "Speed up")
THINGS = tuple(
    "checkout flow, payout schedule, email templates, webhook retries, login page, product search, "
    "CSV export, tax calculation, rate limiter, admin dashboard".split(", ")
)
DIRECTORIES = ("app/models", "app/controllers", "app/javascript", "spec/models", "lib", "config", "db")
EXTENSIONS = (".rb", ".ts", ".tsx", ".yml", ".md", ".sql")
CHECK_NAMES = ("build", "test", "lint", "typecheck", "deploy-preview", "coverage", "e2e")
STATUS_NAMES = (
    "continuous-integration/jenkins/pr-merge",
    "ci/circleci: build",
    "buildkite/widgets",
    "codecov/patch",
)


def iso(epoch: int) -> str:
    """An epoch second as GitHub's ISO-8601 UTC form, e.g. ``2024-03-01T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def node_id(prefix: str, *parts: int) -> str:
    """A GitHub-style global id (``PR_kwDO...``) that encodes ``parts`` reversibly."""
    packed = b"".join(part.to_bytes(4, "big") for part in parts)
    return f"{prefix}_kwDO" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_node_id(value: str) -> tuple[str, tuple[int, ...]] | None:
    """The prefix and integer parts of an id made by ``node_id``, or None if it is not one."""
    prefix, marker, encoded = value.partition("_kwDO")
    if not marker or not encoded:
        return None
    try:
        packed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    if len(packed) % 4:
        return None
    parts = tuple(int.from_bytes(packed[i : i + 4], "big") for i in range(0, len(packed), 4))
    return prefix, parts


def object_id(*parts: object) -> str:
    """A stable 40-hex git object id for a commit identified by ``parts``."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()


class Plan(NamedTuple):
    """What a pull request's children are generated from, frozen at creation time.

    Kept apart from the PR's fields so that mutating ``updatedAt`` or ``title``
    cannot change the children a later access regenerates.
    """

    seed: int
    ordinal: int  # position of the PR in the whole data set, for database ids
    kind: str | None  # a key of SPECIAL_PULL_REQUESTS, or None
    created: int
    finished: int  # closedAt, or updatedAt while still open
    is_open: bool
    author: dict | None
    commits: int
    files: int


@dataclass
class RepositoryContext:
    """Repository-level pools shared by the pull requests of one repository."""

    index: int
    name_with_owner: str
    labels: list[dict]
    milestones: list[dict]
    users: list[dict]
    bots: list[dict]
    cache: ChildCache
    orderings: dict[str, tuple[list, list]] = field(default_factory=dict)  # see ordered_pull_requests

    @property
    def url(self) -> str:
        return f"https://github.com/{self.name_with_owner}"


class ChildCache:
    """A small, thread-safe LRU of generated children, so one request asking for a
    PR's reviews, commits and files generates them once, while memory stays bounded."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._entries: OrderedDict[str, dict[str, list]] = OrderedDict()
        self._lock = threading.Lock()

    def children(self, pull_request: PullRequest) -> dict[str, list]:
        key = pull_request["id"]
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        generated = generate_children(pull_request.context, pull_request["number"], pull_request.plan)
        with self._lock:
            self._entries[key] = generated
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return generated


class PullRequest(MutableMapping):
    """A pull request: a mapping of GraphQL field names to values.

    Scalars (``id``, ``title``, ``author``, ...) are stored; the lists in
    ``CHILD_KEYS`` are generated on access and are equal, though not
    identical, across accesses.  Assigning or deleting any key pins the
    children in memory first, so in-place edits made after ``pin()`` stick.
    Use ``dict(pr)`` where a real dict is needed (e.g. ``json.dumps``).
    """

    def __init__(self, fields: dict[str, Any], plan: Plan, context: RepositoryContext) -> None:
        self._fields = fields
        self._pinned = False
        self.plan = plan
        self.context = context

    def __getitem__(self, key: str) -> Any:
        try:
            return self._fields[key]
        except KeyError:
            if self._pinned or key not in CHILD_KEYS:
                raise
        return self.context.cache.children(self)[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.pin()
        self._fields[key] = value
        self.context.orderings.clear()

    def __delitem__(self, key: str) -> None:
        self.pin()
        del self._fields[key]

    def __iter__(self) -> Iterator[str]:
        if self._pinned:
            return iter(self._fields)
        return chain(self._fields, CHILD_KEYS)

    def __len__(self) -> int:
        return len(self._fields) + (0 if self._pinned else len(CHILD_KEYS))

    def __repr__(self) -> str:
        return f"<PullRequest {self.context.name_with_owner}#{self._fields['number']}>"

    def pin(self) -> None:
        """Keep the generated children in memory from now on (mutations need this)."""
        if not self._pinned:
            self._fields.update(self.context.cache.children(self))
            self._pinned = True


@dataclass(repr=False)
class Dataset:
    """Repositories keyed by ``"owner/name"``, each a dict with ``id``, ``name``,
    ``owner {login}``, ``url``, ``nameWithOwner`` and ``pullRequests`` (a list
    of ``PullRequest`` mappings ordered by number, numbers ``1..count``).

    ``lock`` serialises mutations against the server's query execution.
    ``special`` maps the names in ``SPECIAL_PULL_REQUESTS`` to ``(repo, number)``
    for the edge cases this data set contains.
    """

    repositories: dict[str, dict]
    seed: int
    special: dict[str, tuple[str, int]]
    contexts: list[RepositoryContext]
    lock: threading.RLock = field(default_factory=threading.RLock, init=False)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}: {len(repo['pullRequests'])}" for name, repo in self.repositories.items())
        return f"<Dataset seed={self.seed} {{{sizes}}}>"

    def pull_request(self, repo: str, number: int) -> PullRequest:
        """The pull request ``number`` of ``repo``; KeyError if there is none."""
        pulls = self.repositories[repo]["pullRequests"]
        if not 1 <= number <= len(pulls):
            raise KeyError(f"{repo}#{number}")
        return pulls[number - 1]

    def node(self, global_id: str) -> dict | None:
        """The PR, commit, check suite, review thread, deployment or issue with this id, or None."""
        decoded = decode_node_id(global_id)
        if decoded is None or decoded[0] not in NODE_TYPES or len(decoded[1]) < 2:
            return None
        prefix, (repo_index, number, *path) = decoded
        if repo_index >= len(self.contexts):
            return None
        repo = self.contexts[repo_index].name_with_owner
        try:
            if prefix in REPOSITORY_LISTS:
                found = self.repositories[repo][REPOSITORY_LISTS[prefix]][number - 1]
            else:
                found = self._descend(repo, number, path, prefix)
        except (KeyError, IndexError):
            return None
        return found if found["id"] == global_id else None

    def _descend(self, repo: str, number: int, path: list[int], prefix: str = "C") -> dict:
        found: dict = self.pull_request(repo, number)
        if prefix == "PRRT":
            return found["reviewThreads"][path[0]]
        if path:
            found = found["commits"][path[0]]["commit"]
        if len(path) > 1:
            found = found["checkSuites"][path[1]]
        return found

    def ordered_pull_requests(self, repo: str, order_field: str) -> tuple[list, list]:
        """A repository's PRs in ascending ``(order_field, number)`` order, and those keys.

        Cached until one of its PRs is assigned to, because the server pages
        through it on every pull-request query.
        """
        with self.lock:
            orderings = self._context(repo).orderings
            if order_field not in orderings:
                pulls = sorted(
                    self.repositories[repo]["pullRequests"],
                    key=lambda pr: (pr[order_field], pr["number"]),
                )
                orderings[order_field] = (pulls, [(pr[order_field], pr["number"]) for pr in pulls])
            return orderings[order_field]

    def _context(self, repo: str) -> RepositoryContext:
        return self.contexts[list(self.repositories).index(repo)]

    def add_pull_request(self, repo: str, when: str) -> PullRequest:
        """Open a new PR in ``repo``, created and updated at ``when``."""
        with self.lock:
            context = self._context(repo)
            pulls = self.repositories[repo]["pullRequests"]
            ordinal = sum(len(repository["pullRequests"]) for repository in self.repositories.values())
            number = len(pulls) + 1
            rng = random.Random(f"{self.seed}/{repo}/{number}")
            fields, plan = pull_request_fields(rng, context, number, number, ordinal, None, set())
            fields.update(
                state="OPEN",
                createdAt=when,
                updatedAt=when,
                closedAt=None,
                mergedAt=None,
                mergedBy=None,
                mergeCommit=None,
            )
            pull_request = PullRequest(fields, plan._replace(is_open=True), context)
            pulls.append(pull_request)
            context.orderings.clear()
            return pull_request

    def touch_pull_request(self, repo: str, number: int, when: str) -> PullRequest:
        """Simulate activity on a PR at ``when``: new updatedAt and title, its last
        review removed (if any) and one commit pushed (which becomes the head).

        PRs touched at the same ``when`` are ordered by number among themselves.
        """
        with self.lock:
            pull_request = self.pull_request(repo, number)
            pull_request["updatedAt"] = when
            pull_request["title"] += " (edited)"
            pull_request["reviews"] = pull_request["reviews"][:-1]
            commit = pushed_commit(pull_request, when)
            pull_request["commits"] = [*pull_request["commits"], {"commit": commit}]
            pull_request["headRefOid"] = commit["oid"]
            return pull_request


def generate_dataset(
    repos: dict[str, int],
    seed: int = 1,
    big_pr: bool = True,
    huge_files_pr: bool = False,
    deployments: int = 0,
    issues: int = 0,
) -> Dataset:
    """Generate repositories with ``repos[name]`` pull requests each, deterministically.

    The first repository holds the edge cases of ``SPECIAL_PULL_REQUESTS``
    (as many as it has PRs for): ``big`` (180 reviews, 250 commits, 1,200
    files, a head commit with 12 check suites, one of 130 runs) only with
    ``big_pr``; ``huge_files`` (changedFiles 3,100, of which GitHub serves
    ``FILES_CAP``) only with ``huge_files_pr``; ``ghost`` (deleted author and
    a review by a deleted user); ``bot``; ``many_closing_issues`` (13, some in
    another repository); ``many_labels`` (24).

    Each repository also has ``deployments`` deployments and ``issues`` issues (see
    ``make_deployments`` and ``make_issues``), generated from a random stream of their own
    so that the pull requests are the same with or without them.
    """
    rng = random.Random(seed)
    users = make_users(rng)
    bots = [
        {"__typename": "Bot", "id": node_id("BOT", database_id), "login": login, "databaseId": database_id}
        for login, database_id in BOTS
    ]
    cache = ChildCache()
    kinds = special_kinds(big_pr, huge_files_pr)
    used_updates: set[int] = set()
    repositories, contexts, special = {}, [], {}
    ordinal = 0
    for index, (name_with_owner, count) in enumerate(repos.items()):
        context = make_context(rng, index, name_with_owner, users, bots, cache)
        pulls = []
        for number in range(1, count + 1):
            kind = kinds.get(number) if index == 0 else None
            if kind:
                special[kind] = (name_with_owner, number)
            fields, plan = pull_request_fields(rng, context, number, count, ordinal, kind, used_updates)
            pulls.append(PullRequest(fields, plan, context))
            ordinal += 1
        contexts.append(context)
        repositories[name_with_owner] = make_repository(context, pulls)
        side = random.Random(f"{seed}/{index}/streams")
        repositories[name_with_owner]["deployments"] = make_deployments(side, context, deployments)
        repositories[name_with_owner]["issues"] = make_issues(side, context, pulls, issues)
    return Dataset(repositories, seed, special, contexts)


def special_kinds(big_pr: bool, huge_files_pr: bool) -> dict[int, str]:
    """PR number -> edge-case name, leaving out the big ones that were not asked for."""
    skipped = {"big"} if not big_pr else set()
    if not huge_files_pr:
        skipped.add("huge_files")
    return {number: kind for kind, number in SPECIAL_PULL_REQUESTS.items() if kind not in skipped}


def make_users(rng: random.Random) -> list[dict]:
    """A pool of 60 users; some have no display name, as on GitHub."""
    users = []
    for i in range(60):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        database_id = 1000 + 7 * i
        users.append(
            {
                "__typename": "User",
                "id": node_id("U", database_id),
                "login": f"{first.lower()}-{i}",
                "databaseId": database_id,
                "name": f"{first} {last}" if rng.random() < 0.8 else None,
            }
        )
    return users


def make_context(
    rng: random.Random, index: int, name_with_owner: str, users: list, bots: list, cache: ChildCache
) -> RepositoryContext:
    labels = [
        {
            "id": node_id("LA", index, i),
            "name": name,
            "color": f"{rng.randrange(0x1000000):06x}",
            "description": f"Issues about {name}" if rng.random() < 0.7 else None,
        }
        for i, name in enumerate(LABELS)
    ]
    milestones = [make_milestone(rng, index, number) for number in range(1, 5)]
    return RepositoryContext(index, name_with_owner, labels, milestones, users, bots, cache)


def make_milestone(rng: random.Random, repo_index: int, number: int) -> dict:
    created = START + rng.randrange(365 * DAY)
    closed = created + rng.randrange(30 * DAY, 400 * DAY) if number < 3 else None
    return {
        "id": node_id("MI", repo_index, number),
        "number": number,
        "title": f"v{number}.0",
        "state": "CLOSED" if closed else "OPEN",
        "dueOn": iso(created + 180 * DAY) if rng.random() < 0.7 else None,
        "closedAt": iso(closed) if closed else None,
        "createdAt": iso(created),
    }


def make_repository(context: RepositoryContext, pulls: list[PullRequest]) -> dict:
    owner, name = context.name_with_owner.split("/", 1)
    return {
        "id": node_id("R", context.index),
        "name": name,
        "owner": {"__typename": "Organization", "id": node_id("O", context.index), "login": owner},
        "url": context.url,
        "nameWithOwner": context.name_with_owner,
        "pullRequests": pulls,
    }


def unique_update(rng: random.Random, created: int, used: set[int]) -> int:
    """An updatedAt after ``created`` that no other PR has, so UPDATED_AT order is total."""
    updated = min(created + 60 + int(rng.expovariate(1 / (4 * DAY))), END)
    while updated in used:
        updated -= 1
    used.add(updated)
    return updated


def pull_request_fields(
    rng: random.Random,
    context: RepositoryContext,
    number: int,
    count: int,
    ordinal: int,
    kind: str | None,
    used_updates: set[int],
) -> tuple[dict, Plan]:
    """The scalar fields of one PR, and the plan its children are generated from."""
    spacing = max(2, (END - START - 120 * DAY) // max(count, 1))
    created = START + (number - 1) * spacing + rng.randrange(spacing // 2)
    updated = unique_update(rng, created, used_updates)
    state = rng.choices(("MERGED", "CLOSED", "OPEN"), (55, 15, 30))[0]
    closed = None if state == "OPEN" else rng.randint(created, updated)
    author = pick_author(rng, context, kind)
    commits, files = child_counts(rng, kind)
    plan = Plan(
        rng.getrandbits(64),
        ordinal,
        kind,
        created,
        closed or updated,
        state == "OPEN",
        author,
        commits,
        files,
    )
    fields = {
        "id": node_id("PR", context.index, number),
        "fullDatabaseId": str(1_500_000_000 + ordinal),
        "number": number,
        "title": pull_request_title(rng, author),
        "body": rng.choice(("", "Closes a long-standing bug.", "## Summary\n\nSee the linked issue ✨")),
        "state": state,
        "isDraft": state == "OPEN" and rng.random() < 0.15,
        "url": f"{context.url}/pull/{number}",
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "closedAt": iso(closed) if closed else None,
        "mergedAt": iso(closed) if state == "MERGED" else None,
        "baseRefName": "main",
        "headRefName": f"{author['login'] if author else 'ghost'}/change-{number}",
        "headRefOid": object_id(context.index, number, commits - 1),
        "additions": rng.randrange(1, 400),
        "deletions": rng.randrange(0, 200),
        "changedFiles": files,
        "reviewDecision": rng.choice(("APPROVED", "CHANGES_REQUESTED", "REVIEW_REQUIRED", None)),
        "mergeCommit": {"oid": object_id(context.index, number, "merge")} if state == "MERGED" else None,
        "author": author,
        "mergedBy": rng.choice(context.users) if state == "MERGED" else None,
        "milestone": rng.choice(context.milestones) if rng.random() < 0.15 else None,
    }
    add_references(random.Random(f"references-{plan.seed}"), context, fields)
    return fields, plan


# --- prtext (issue 14): issue references written into titles and bodies, and what each
# snippet references (kind, repository, number), recorded as it is written so that the
# expected rows never come from the parser under test.  None: not a reference (code, ...).
REFERENCE_SNIPPETS = (
    ("Fixes #{n}", "closing", "own"),
    ("closes: {other}#{n}", "closing", "other"),
    ("RESOLVED https://github.com/{other}/issues/{n}", "closing", "other"),
    ("See #{n} for context.", "mention", "own"),
    ("Related: https://github.com/{other}/issues/{n}#issuecomment-42", "mention", "other"),
    ("Follow-up of https://github.com/{own}/pull/{n}.", "mention", "own"),
    ("```\nfixes #{n}\n```", None, None),
    ("Run `git log --grep '#{n}'` first.", None, None),
    ("    resolves #{n}  (indented code)", None, None),
    ("<!-- Write 'Fixes #{n}' here -->", None, None),
    ("prefix#{n} and #{n}a are no references", None, None),
)
WRITTEN_REFERENCES = "referencesWritten"  # a PR key no GraphQL field reads


def add_references(rng: random.Random, context: RepositoryContext, fields: dict) -> None:
    """Append reference snippets to about half the bodies, a squash-merge ``(#N)`` to some titles."""
    own = context.name_with_owner
    other = f"{own.split('/')[0]}/roadmap"
    written = []
    if rng.random() < 0.2:
        n = rng.randint(1, 5000)
        fields["title"] += f" (#{n})"
        written.append(("title", own, n, "mention"))
    snippets = rng.sample(REFERENCE_SNIPPETS, rng.choice((0, 0, 1, 2, 3))) if fields["body"] else []
    parts = [fields["body"]]
    for template, kind, where in snippets:
        n = rng.randint(1, 5000)
        parts.append(template.format(n=n, own=own, other=other))
        if kind is not None:
            written.append(("body", own if where == "own" else other, n, kind))
    fields["body"] = "\n\n".join(parts)
    fields[WRITTEN_REFERENCES] = written


def head_status(rng: random.Random, context: RepositoryContext, commit: dict) -> None:
    """Legacy commit statuses (Jenkins, CircleCI, ...) on some head commits, and the rollup
    of those and the check runs (None when the commit has neither)."""
    contexts = []
    for position, name in enumerate(rng.sample(STATUS_NAMES, rng.choice((0, 0, 0, 1, 2, 3)))):
        created = commit["committedDate"]
        contexts.append(
            {
                "id": f"SC_{commit['oid'][:12]}{position}",
                "context": name,
                "state": rng.choice(("SUCCESS", "SUCCESS", "FAILURE", "PENDING", "ERROR", "EXPECTED")),
                "description": rng.choice(("Build finished", "Tests failed", None)),
                "targetUrl": f"https://ci.example.com/{context.index}/{commit['oid'][:8]}"
                if position
                else None,
                "createdAt": created,
                "creator": None if rng.random() < 0.1 else rng.choice(context.users + context.bots),
            }
        )
    runs = [run for suite in commit["checkSuites"] for run in suite["checkRuns"]]
    commit["status"] = (
        {"id": f"ST_{commit['oid'][:16]}", "state": "SUCCESS", "contexts": contexts} if contexts else None
    )
    if not contexts and not runs:
        commit["statusCheckRollup"] = None
        return
    states = {item["state"] for item in contexts} | {
        "PENDING"
        if run["status"] != "COMPLETED"
        else "FAILURE"
        if run["conclusion"] == "FAILURE"
        else "SUCCESS"
        for run in runs
    }
    state = next(s for s in ("ERROR", "FAILURE", "PENDING", "EXPECTED", "SUCCESS") if s in states)
    commit["statusCheckRollup"] = {"id": f"SCR_{commit['oid'][:16]}", "state": state}


# --- end prtext


def pick_author(rng: random.Random, context: RepositoryContext, kind: str | None) -> dict | None:
    if kind == "ghost":
        return None
    if kind == "bot":
        return context.bots[0]
    roll = rng.random()
    if roll < 0.005:
        return None
    if roll < 0.08:
        return rng.choice(context.bots)
    return rng.choice(context.users)


def child_counts(rng: random.Random, kind: str | None) -> tuple[int, int]:
    """How many commits and files a PR has; small, except for the big edge cases."""
    if kind == "big":
        return 250, 1200
    if kind == "huge_files":
        return 3, 3100
    return min(rng.randint(1, 10), rng.randint(1, 10)), rng.randint(1, 20)


def pull_request_title(rng: random.Random, author: dict | None) -> str:
    if author and author["__typename"] == "Bot":
        return (
            f"Bump {rng.choice(('rails', 'react', 'nokogiri', 'puma'))} from 1.{rng.randrange(9)}.0 to 1.9.1"
        )
    return f"{rng.choice(VERBS)} {rng.choice(THINGS)}"


def generate_children(context: RepositoryContext, number: int, plan: Plan) -> dict[str, list]:
    """A PR's nested lists, generated only from its plan so they never change."""
    rng = random.Random(plan.seed)
    commits = [{"commit": make_commit(rng, context, plan, number, i)} for i in range(plan.commits)]
    head_status(random.Random(f"status-{plan.seed}"), context, commits[-1]["commit"])  # prtext
    children = {
        "labels": pick_labels(rng, context, plan.kind),
        "closingIssuesReferences": closing_issues(rng, context, plan, number),
        "reviews": make_reviews(rng, context, plan, number, commits),
        "commits": commits,
        "files": [make_file(rng, i) for i in range(plan.files)],
    }
    children.update(conversation(context, number, plan, children))
    return children


def pick_labels(rng: random.Random, context: RepositoryContext, kind: str | None) -> list[dict]:
    count = 24 if kind == "many_labels" else rng.choice((0, 0, 1, 1, 2, 3))
    return rng.sample(context.labels, count)


def closing_issues(rng: random.Random, context: RepositoryContext, plan: Plan, number: int) -> list[dict]:
    """Issues the PR closes; about one in five points to another repository."""
    if plan.kind == "many_closing_issues":
        count = 13
    else:
        count = rng.choice((1, 2)) if rng.random() < 0.2 else 0
    issues = []
    for i in range(count):
        foreign = rng.random() < 0.2 or (plan.kind == "many_closing_issues" and i % 4 == 0)
        repo = f"{context.name_with_owner.split('/')[0]}/roadmap" if foreign else context.name_with_owner
        issue_number = 100_000 + number * 16 + i
        issues.append(
            {
                "id": node_id("I", context.index, issue_number, int(foreign)),
                "number": issue_number,
                "title": f"{rng.choice(THINGS).capitalize()} is broken",
                "state": "OPEN" if plan.is_open else "CLOSED",
                "url": f"https://github.com/{repo}/issues/{issue_number}",
                "repository": {"nameWithOwner": repo},
            }
        )
    return issues


def make_reviews(
    rng: random.Random, context: RepositoryContext, plan: Plan, number: int, commits: list[dict]
) -> list[dict]:
    """Reviews in submission order; the ghost PR gets one by a deleted user."""
    count = 180 if plan.kind == "big" else rng.choice((0, 0, 1, 1, 2, 3, 4, 5))
    if plan.kind == "ghost":
        count = max(count, 2)
    reviews = []
    for i in range(count):
        at = rng.randint(plan.created, plan.finished)
        author = None if plan.kind == "ghost" and i == 0 else rng.choice(context.users)
        state = rng.choice(("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "COMMENTED", "DISMISSED"))
        reviews.append(
            {
                "id": node_id("PRR", context.index, number, i),
                "fullDatabaseId": str(3_000_000_000 + plan.ordinal * 1000 + i),
                "state": state,
                "body": rng.choice(("", "LGTM", "Please add a test.", "Nice 👍")),
                "submittedAt": iso(at),
                "createdAt": iso(at - rng.randrange(600)),
                "authorAssociation": "NONE"
                if author is None
                else rng.choice(("MEMBER", "COLLABORATOR", "CONTRIBUTOR")),
                "author": author,
                "commit": rng.choice(commits)["commit"] if commits else None,
            }
        )
    return reviews


def git_actor(rng: random.Random, author: dict | None) -> dict:
    """The git author of a commit: a linked GitHub user, or just a name and email."""
    if author is not None and author["__typename"] == "User" and rng.random() < 0.85:
        return {
            "name": author["name"] or author["login"],
            "email": f"{author['login']}@example.com",
            "user": author,
        }
    if author is not None and author["__typename"] == "Bot":
        login = author["login"]
        return {
            "name": f"{login}[bot]",
            "email": f"{author['databaseId']}+{login}[bot]@users.noreply.github.com",
            "user": None,
        }
    return {"name": rng.choice(FIRST_NAMES), "email": "dev@localhost", "user": None}


def make_commit(rng: random.Random, context: RepositoryContext, plan: Plan, number: int, index: int) -> dict:
    span = max(plan.finished - plan.created, 1)
    at = plan.created - DAY + (DAY + span) * (index + 1) // (plan.commits + 1)
    headline = f"{rng.choice(VERBS)} {rng.choice(THINGS)}"
    is_head = index == plan.commits - 1
    return {
        "id": node_id("C", context.index, number, index),
        "oid": object_id(context.index, number, index),
        "messageHeadline": headline,
        "message": headline + rng.choice(("", "\n\nCo-authored-by: Someone <someone@example.com>")),
        "authoredDate": iso(at - rng.randrange(3600)),
        "committedDate": iso(at),
        "additions": rng.randrange(0, 120),
        "deletions": rng.randrange(0, 60),
        "author": git_actor(rng, plan.author),
        "checkSuites": check_suites(rng, context, plan, number, index, at, is_head),
    }


def check_suites(
    rng: random.Random,
    context: RepositoryContext,
    plan: Plan,
    number: int,
    index: int,
    at: int,
    is_head: bool,
) -> list[dict]:
    """Check suites of a commit: up to 6 runs on the head, a few on some older commits."""
    if plan.kind == "big" and is_head:
        runs = [130, *(rng.randint(1, 8) for _ in range(11))]
    elif is_head:
        total = rng.randint(0, 6)
        runs = [n for n in (total // 2, total - total // 2) if n]
    else:
        runs = [rng.randint(1, 2)] if rng.random() < 0.4 else []
    pending = plan.is_open and is_head
    return [
        {
            "id": node_id("CS", context.index, number, index, s),
            "app": {"slug": APPS[s]},
            "checkRuns": [
                check_run(
                    rng, context, (number, index, s, r), run_database_id(plan, index, s, r), at, pending
                )
                for r in range(count)
            ],
        }
        for s, count in enumerate(runs)
    ]


def run_database_id(plan: Plan, index: int, suite: int, run: int) -> int:
    """A check run databaseId unique in the data set and within GraphQL's 32-bit Int.

    Each PR owns a block of 10,000 ids: 10 per commit (suite * 5 + run, the
    last one left for a pushed commit), and from 5,000 on the big PR's head
    commit with its 12 suites.  Enough for about 200,000 PRs.
    """
    if plan.kind == "big" and index == plan.commits - 1:
        slot = 5000 + suite * 150 + run
    else:
        slot = index * 10 + suite * 5 + run
    return 100_000_000 + plan.ordinal * 10_000 + slot


def check_run(
    rng: random.Random,
    context: RepositoryContext,
    where: tuple[int, ...],
    database_id: int,
    at: int,
    pending: bool,
) -> dict:
    status = rng.choice(("IN_PROGRESS", "QUEUED", "COMPLETED")) if pending else "COMPLETED"
    started = at + rng.randrange(5, 120)
    done = status == "COMPLETED"
    return {
        "id": node_id("CR", context.index, *where),
        "databaseId": database_id,
        "name": f"{rng.choice(CHECK_NAMES)} ({where[3]})",
        "status": status,
        "conclusion": rng.choice(("SUCCESS", "SUCCESS", "SUCCESS", "FAILURE", "SKIPPED", "NEUTRAL"))
        if done
        else None,
        "startedAt": iso(started) if status != "QUEUED" else None,
        "completedAt": iso(started + rng.randrange(30, 900)) if done else None,
        "detailsUrl": f"{context.url}/actions/runs/{database_id}",
    }


def make_file(rng: random.Random, index: int) -> dict:
    return {
        "path": f"{rng.choice(DIRECTORIES)}/file_{index}{rng.choice(EXTENSIONS)}",
        "additions": rng.randrange(0, 300),
        "deletions": rng.randrange(0, 100),
        "changeType": rng.choice(("MODIFIED", "MODIFIED", "MODIFIED", "ADDED", "DELETED", "RENAMED")),
    }


def pushed_commit(pull_request: PullRequest, when: str) -> dict:
    """A new head commit for ``touch_pull_request``, with one in-progress check run."""
    context, number = pull_request.context, pull_request["number"]
    index = len(pull_request["commits"])
    oid = object_id(context.index, number, index)
    database_id = run_database_id(pull_request.plan, index, 1, 4)
    return {
        "id": node_id("C", context.index, number, index),
        "oid": oid,
        "messageHeadline": "Address review comments",
        "message": "Address review comments",
        "authoredDate": when,
        "committedDate": when,
        "additions": 3,
        "deletions": 1,
        "author": {"name": "Reviewer Fixup", "email": "dev@localhost", "user": None},
        "checkSuites": [
            {
                "id": node_id("CS", context.index, number, index, 0),
                "app": {"slug": APPS[0]},
                "checkRuns": [
                    {
                        "id": node_id("CR", context.index, number, index, 0, 0),
                        "databaseId": database_id,
                        "name": "build (0)",
                        "status": "IN_PROGRESS",
                        "conclusion": None,
                        "startedAt": when,
                        "completedAt": None,
                        "detailsUrl": f"{context.url}/actions/runs/{database_id}",
                    }
                ],
            }
        ],
    }


# --- prconn: timelines, review threads and their comments, conversation comments, review
# requests and assignees; drawn from a random stream of their own, so the children above
# are what they were before these existed.

TEAMS = ("backend", "frontend", "platform", "security")
BUSY_SHARE = 0.003
"""The share of PRs with over 100 timeline items, review threads and comments each."""
TIMELINE_TYPES = (
    "ReadyForReviewEvent",
    "ConvertToDraftEvent",
    "ReviewRequestedEvent",
    "ReviewRequestRemovedEvent",
    "HeadRefForcePushedEvent",
    "BaseRefChangedEvent",
    "ReviewDismissedEvent",
    "MergedEvent",
    "ClosedEvent",
    "ReopenedEvent",
    "AssignedEvent",
    "UnassignedEvent",
    "LabeledEvent",
    "UnlabeledEvent",
    "AddedToMergeQueueEvent",
    "RemovedFromMergeQueueEvent",
    "AutoMergeEnabledEvent",
    "AutoMergeDisabledEvent",
    "CrossReferencedEvent",
)
COMMENTS = ("LGTM", "Could you add a test?", "Why not reuse the helper?", "nit: typo", "Done ✅", "")


class Sizes(NamedTuple):
    events: int
    threads: int
    comments: int  # conversation comments
    requests: int
    assignees: int


def conversation_sizes(rng: random.Random, kind: str | None) -> Sizes:
    """Most PRs: a few events, 0-5 threads; the big PR and a few busy ones: over 100."""
    if kind == "big":
        return Sizes(130, 120, 110, 3, 2)
    if rng.random() < BUSY_SHARE:
        return Sizes(rng.randint(101, 130), rng.randint(101, 110), rng.randint(101, 120), 2, 1)
    return Sizes(
        rng.choice((1, 2, 2, 3, 3, 4, 5, 6, 8)),
        rng.choice((0, 0, 0, 1, 1, 2, 3, 4, 5)),
        rng.choice((0, 0, 1, 1, 2, 3, 5)),
        rng.choice((0, 0, 1, 1, 2)),
        rng.choice((0, 0, 1, 1, 2)),
    )


def team(context: RepositoryContext, slug: str) -> dict:
    return {
        "__typename": "Team",
        "id": node_id("T", context.index, TEAMS.index(slug)),
        "name": slug.capitalize(),
        "slug": slug,
    }


def some_reviewer(rng: random.Random, context: RepositoryContext) -> dict:
    """A requested reviewer: a team one time in four, else a user."""
    if rng.random() < 0.25:
        return team(context, rng.choice(TEAMS))
    return rng.choice(context.users)


def conversation(context: RepositoryContext, number: int, plan: Plan, children: dict) -> dict[str, list]:
    rng = random.Random(f"{plan.seed}/conversation")
    sizes = conversation_sizes(rng, plan.kind)
    ghost = plan.kind == "ghost"
    if ghost:  # a deleted actor, and a review requested of a deleted account
        sizes = sizes._replace(events=max(sizes.events, 2), comments=max(sizes.comments, 1))
    where = (context.index, number)
    users = context.users

    def moment() -> str:
        return iso(rng.randint(plan.created, plan.finished))

    def actor(i: int) -> dict | None:
        return None if ghost and i == 0 else rng.choice(users)

    reviews = [review["id"] for review in children["reviews"]]
    oids = [node["commit"]["oid"] for node in children["commits"]]
    events = [timeline_item(rng, context, plan, number, i, actor(i), reviews) for i in range(sizes.events)]
    threads = []
    for t in range(sizes.threads):
        count = 130 if plan.kind == "big" and t == 0 else min(rng.randint(1, 4), rng.randint(1, 8))
        if plan.kind != "big" and rng.random() < 0.03:
            count = rng.randint(6, 12)
        comments = []
        for c in range(count):
            created = moment()
            comments.append(
                {
                    "id": node_id("PRRC", *where, t, c),
                    "fullDatabaseId": str(4_000_000_000 + plan.ordinal * 100_000 + t * 200 + c),
                    "author": actor(c),
                    "body": rng.choice(COMMENTS),
                    "createdAt": created,
                    "updatedAt": created if rng.random() < 0.8 else moment(),
                    "outdated": rng.random() < 0.2,
                    "replyTo": {"id": comments[0]["id"]} if c else None,
                    "pullRequestReview": {"id": rng.choice(reviews)}
                    if reviews and rng.random() < 0.9
                    else None,
                    "commit": {"oid": oids[-1]},
                    "originalCommit": {"oid": rng.choice(oids)},
                }
            )
        resolved = rng.random() < 0.5
        line = rng.randint(1, 400)
        threads.append(
            {
                "id": node_id("PRRT", *where, t),
                "path": f"{rng.choice(DIRECTORIES)}/file_{t % 20}{rng.choice(EXTENSIONS)}",
                "line": line if rng.random() < 0.8 else None,
                "originalLine": line,
                "startLine": line - rng.randint(1, 5) if rng.random() < 0.2 else None,
                "diffSide": rng.choice(("RIGHT", "RIGHT", "LEFT")),
                "isResolved": resolved,
                "isOutdated": rng.random() < 0.2,
                "resolvedBy": actor(t) if resolved else None,
                "comments": comments,
            }
        )
    comments = []
    for i in range(sizes.comments):
        created = moment()
        author = actor(i)
        comments.append(
            {
                "id": node_id("IC", *where, i),
                "fullDatabaseId": str(5_000_000_000 + plan.ordinal * 1000 + i),
                "author": author,
                "authorAssociation": "NONE" if author is None else rng.choice(("MEMBER", "CONTRIBUTOR")),
                "body": rng.choice(COMMENTS),
                "createdAt": created,
                "updatedAt": created,
            }
        )
    reviewers = rng.sample(users, sizes.requests)
    if sizes.requests and rng.random() < 0.3:
        reviewers[0] = team(context, rng.choice(TEAMS))
    if ghost:
        reviewers = [None, *reviewers]
    requests = [
        {"id": node_id("RR", *where, i), "asCodeOwner": rng.random() < 0.2, "requestedReviewer": reviewer}
        for i, reviewer in enumerate(reviewers)
    ]
    return {
        "timelineItems": events,
        "reviewThreads": threads,
        "comments": comments,
        "reviewRequests": requests,
        "assignees": rng.sample(users, sizes.assignees),
    }


def timeline_item(
    rng: random.Random,
    context: RepositoryContext,
    plan: Plan,
    number: int,
    index: int,
    actor: dict | None,
    reviews: list[str],
) -> dict:
    """One timeline item of a random type, with the fields that type carries."""
    typename = rng.choice(TIMELINE_TYPES)
    deleted = plan.kind == "ghost" and index == 1  # a review requested of a deleted account
    if deleted:
        typename = "ReviewRequestedEvent"
    item: dict[str, Any] = {
        "__typename": typename,
        "id": node_id("TLE", context.index, number, index),
        "createdAt": iso(rng.randint(plan.created, plan.finished)),
        "actor": actor,
    }
    if typename in ("ReviewRequestedEvent", "ReviewRequestRemovedEvent"):
        item["requestedReviewer"] = None if deleted else some_reviewer(rng, context)
    elif typename == "HeadRefForcePushedEvent":
        item["beforeCommit"] = {"oid": object_id(context.index, number, "forced", index)}
        item["afterCommit"] = {"oid": object_id(context.index, number, plan.commits - 1)}
    elif typename == "BaseRefChangedEvent":
        item["previousRefName"], item["currentRefName"] = "develop", "main"
    elif typename == "ReviewDismissedEvent":
        item["review"] = {"id": rng.choice(reviews)} if reviews else None
    elif typename == "MergedEvent":
        item["commit"] = {"oid": object_id(context.index, number, "merge")}
    elif typename in ("AssignedEvent", "UnassignedEvent"):
        item["assignee"] = rng.choice((*context.users, *context.bots))
    elif typename in ("LabeledEvent", "UnlabeledEvent"):
        item["label"] = {"name": rng.choice(context.labels)["name"]}
    elif typename == "CrossReferencedEvent":
        kind = rng.choice(("Issue", "PullRequest"))
        item["source"] = {
            "__typename": kind,
            "number": rng.randint(1, 5000),
            "repository": {"nameWithOwner": context.name_with_owner},
        }
        item["willCloseTarget"] = kind == "PullRequest" and rng.random() < 0.3
    return item


# --- end of prconn's conversation data
# --- repository-level streams: deployments and issues ---------------------------------------

REPOSITORY_LISTS = {"DE": "deployments", "IS": "issues"}
"""Node id prefixes of what a repository lists by number, and the key of that list."""

ENVIRONMENTS = ("production", "staging", "preview")
DEPLOYMENT_STATES = ("SUCCESS", "SUCCESS", "SUCCESS", "FAILURE", "ERROR", "INACTIVE")
MANY_STATUSES = 130
"""Statuses of each repository's deployment number 2 (more than a page of them)."""
DEPLOYMENT_SPACING = 9 * 3600
GHOST_USER = {
    "__typename": "User",
    "id": node_id("U", 10137),
    "login": "ghost",
    "databaseId": 10137,
    "name": None,
}
"""What GitHub answers for a non-null actor (a deployment's creator) whose account is deleted."""
INCIDENT_LABEL = "incident"


def make_deployments(rng: random.Random, context: RepositoryContext, count: int) -> list[dict]:
    """Deployments numbered 1..count, one every ``DEPLOYMENT_SPACING`` up to a day before
    END (so the newest are within days of each other); every fifth by a deleted account."""
    deployments = []
    for number in range(1, count + 1):
        created = END - DAY - (count - number) * DEPLOYMENT_SPACING - rng.randrange(3600)
        environment = rng.choice(ENVIRONMENTS)
        creator = GHOST_USER if number % 5 == 0 else rng.choice(context.users + context.bots)
        statuses = [
            deployment_status(rng, context, number, i, created + 60 * (i + 1), creator)
            for i in range(MANY_STATUSES if number == 2 else rng.randint(1, 4))
        ]
        deployments.append(
            {
                "id": node_id("DE", context.index, number),
                "databaseId": 700_000_000 + context.index * 100_000 + number,
                "environment": environment,
                "originalEnvironment": environment if rng.random() < 0.9 else "preview",
                "task": "deploy",
                "state": "ACTIVE" if statuses[-1]["state"] == "SUCCESS" else statuses[-1]["state"],
                "commitOid": object_id(context.index, "deployment", number),
                "createdAt": iso(created),
                "updatedAt": statuses[-1]["createdAt"],
                "creator": creator,
                "statuses": statuses,
                "latestStatus": statuses[-1],
            }
        )
    return deployments


def deployment_status(
    rng: random.Random, context: RepositoryContext, number: int, index: int, at: int, creator: dict
) -> dict:
    return {
        "id": node_id("DES", context.index, number, index),
        "state": rng.choice(DEPLOYMENT_STATES) if index else "IN_PROGRESS",
        "description": rng.choice((None, "Deployed", "Health check failed")),
        "environmentUrl": f"https://{number}.preview.example.com" if rng.random() < 0.5 else None,
        "logUrl": f"{context.url}/actions/runs/{number}{index}" if rng.random() < 0.7 else None,
        "createdAt": iso(at),
        "creator": creator,
    }


def add_deployment_status(deployment: dict, state: str, at: str) -> dict:
    """A new status of ``deployment`` (it becomes the latest), as a deploy tool posts one."""
    repo_index, number = decode_node_id(deployment["id"])[1]
    status = {
        "id": node_id("DES", repo_index, number, len(deployment["statuses"])),
        "state": state,
        "description": "Rolled back",
        "environmentUrl": None,
        "logUrl": None,
        "createdAt": at,
        "creator": deployment["creator"],
    }
    deployment["statuses"].append(status)
    deployment["latestStatus"], deployment["updatedAt"] = status, at
    return status


def make_issues(rng: random.Random, context: RepositoryContext, pulls: list, count: int) -> list[dict]:
    """Issues numbered after the PRs (GitHub numbers both in one sequence): the first has
    25 labels, 12 assignees and 12 closing PRs (more than a first page of each), the second
    a deleted author; some are labelled ``incident``."""
    incident = {
        "id": node_id("LA", context.index, 99),
        "name": INCIDENT_LABEL,
        "color": "d73a4a",
        "description": "Production incident",
    }
    labels = [*context.labels, incident]
    used: set[int] = set()
    issues = []
    for index in range(1, count + 1):
        special = index == 1
        created = START + rng.randrange(END - START - 30 * DAY)
        updated = unique_update(rng, created, used)
        closed = rng.randint(created, updated) if rng.random() < 0.6 else None
        chosen = rng.sample(labels, 25 if special else rng.choice((0, 1, 2)))
        if not special and incident not in chosen and rng.random() < 0.3:
            chosen.append(incident)
        closers = rng.sample(pulls, min(len(pulls), 12 if special else rng.choice((0, 0, 1))))
        number = len(pulls) + index
        issues.append(
            {
                "id": node_id("IS", context.index, index),
                "number": number,
                "title": f"{rng.choice(THINGS).capitalize()} is broken",
                "state": "CLOSED" if closed else "OPEN",
                "stateReason": rng.choice(("COMPLETED", "NOT_PLANNED")) if closed else None,
                "url": f"{context.url}/issues/{number}",
                "createdAt": iso(created),
                "updatedAt": iso(updated),
                "closedAt": iso(closed) if closed else None,
                "author": None if index == 2 else rng.choice(context.users),
                "comments": {"totalCount": rng.randrange(0, 30)},
                "labels": chosen,
                "assignees": rng.sample(context.users, 12 if special else rng.choice((0, 1, 2))),
                "closedByPullRequestsReferences": [
                    {"number": pr["number"], "repository": {"nameWithOwner": context.name_with_owner}}
                    for pr in closers
                ],
            }
        )
    return issues
