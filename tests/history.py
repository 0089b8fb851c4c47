"""A made-up crawled history written through the Database API, of any size: what
``scrapy simulate``'s tests and its benchmark simulate from."""

from __future__ import annotations

import random

from prseed import items, timestamps
from prseed.db import Batch

START = timestamps.epoch("2023-01-02T09:00:00Z")
TITLES = ("Fix crash in {}", "Add {} support", "Refactor {}", "Update docs for {}", "GUM-{n}: tidy {}")
THINGS = ("checkout", "payouts", "search", "login", "emails", "billing", "webhooks")


def repository_of(name: str) -> items.Repository:
    owner, _, short = name.partition("/")
    return items.Repository(f"R_{name}", owner, short, f"https://github.com/{name}")


def fill(database, name: str, count: int, first: int = 1, seed: int = 7, batch_size: int = 2000) -> None:
    """Write PRs ``first`` .. ``first + count - 1`` of repository ``name`` (each PR drawn
    from its number alone, so a later call adds PRs and leaves the earlier ones as they were)."""
    repository = repository_of(name)
    logins = [f"dev{index:02d}" for index in range(40)]
    batch = Batch()
    batch.add(repository)
    for login in logins:
        batch.add(items.Member(login, "User"))
    batch.add(items.Member("renovate[bot]", "Bot"))
    batch.add(items.Label(repository.id, "bug", f"L_{name}_bug", "ff0000", None))
    for number in range(first, first + count):
        for item in pull_request_items(repository, number, logins, seed):
            batch.add(item)
        if len(batch) >= batch_size:
            database.write(batch, ())
            batch = Batch()
    database.write(batch, ())


def pull_request_items(repository: items.Repository, number: int, logins: list[str], seed: int) -> list:
    draw = random.Random(f"{seed}/{repository.id}/{number}")
    author = "renovate[bot]" if draw.random() < 0.05 else logins[min(39, int(draw.expovariate(0.12)))]
    created = START + number * 3 * 3600 + draw.randint(0, 3600)
    state = draw.choices(("MERGED", "CLOSED", "OPEN"), (80, 10, 10))[0]
    closed = created + draw.randint(3600, 5 * 86400) if state != "OPEN" else None
    additions, deletions = int(draw.expovariate(1 / 150)), int(draw.expovariate(1 / 60))
    title = draw.choice(TITLES).format(draw.choice(THINGS), n=number)
    pr_id = f"PR_{repository.id}_{number}"
    branch = f"{author}/{draw.choice(THINGS)}-{draw.randint(1, 3)}"
    pull_request = items.PullRequest(
        id=pr_id, repository_id=repository.id, number=number, database_id=number, title=title, body="",
        state=state, is_draft=state == "OPEN" and draw.random() < 0.3, url=f"https://github.com/x/{number}",
        author_login=author, merged_by_login=None, milestone_number=None,
        created_at=timestamps.from_epoch(created), updated_at=timestamps.from_epoch(closed or created),
        closed_at=timestamps.from_epoch(closed) if closed else None,
        merged_at=timestamps.from_epoch(closed) if state == "MERGED" else None,
        base_ref="main", head_ref=branch, head_sha=f"{number:040x}", merge_commit_sha=None,
        additions=additions, deletions=deletions, changed_files=1 + additions // 50,
        files_truncated=False, review_decision=None,
    )  # fmt: skip
    rows: list = [pull_request]
    if title.startswith("Fix") and draw.random() < 0.5:
        rows.append(items.PullRequestLabel(pr_id, "bug"))
    for index in range(draw.randint(0, 3)):
        reviewer = draw.choice(logins)
        moment = timestamps.from_epoch(created + draw.randint(600, 86400))
        rows.append(
            items.Review(
                f"PRR_{pr_id}_{index}", pr_id, None, reviewer, "APPROVED", "", "MEMBER", None, moment, moment
            )
        )
    for index in range(draw.randint(1, 4)):
        moment = timestamps.from_epoch(created - draw.randint(0, 2 * 86400))
        rows.append(
            items.Commit(
                pr_id,
                f"{number:032x}{index:08x}",
                "change",
                "change",
                author,
                None,
                None if author.endswith("[bot]") else author,
                moment,
                moment,
                additions,
                deletions,
            )  # fmt: skip
        )
    return rows
