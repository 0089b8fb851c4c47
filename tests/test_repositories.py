"""Several repositories in one crawl: in parallel, each complete, one failure isolated."""

from __future__ import annotations

import pytest_twisted

from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.test_cli import assert_one_line_error, scrapy

REPOSITORIES = ["acme/widgets", "acme/gadgets", "umbrella/corp"]


def dataset():
    return generate_dataset(dict.fromkeys(REPOSITORIES, 30), seed=17, big_pr=True)


@pytest_twisted.ensureDeferred
async def test_three_repositories_in_parallel_each_complete(tmp_path):
    served = dataset()
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with FakeGitHub(served, tokens={TOKEN: "alice"}, latency=0.02) as github:
        crawler = await crawl(github.url, database_url, repos=",".join(REPOSITORIES))
    assert crawler.stats.get_value("finish_reason") == "finished"
    assert database_rows(database_url) == expected_rows(served, REPOSITORIES)
    # interleaved: the repositories' requests alternate rather than run one after another
    owners = [r.variables.get("name") for r in github.requests if r.operation == "PullRequestPage"]
    switches = sum(1 for before, after in zip(owners, owners[1:], strict=False) if before != after)
    assert switches >= 3, owners
    progress = crawler.spider.progress()
    assert {repository: report["state"] for repository, report in progress.items()} == dict.fromkeys(
        REPOSITORIES, "complete"
    )


@pytest_twisted.ensureDeferred
async def test_a_preset_from_a_users_file(tmp_path):
    served = dataset()
    presets = tmp_path / "mine.toml"
    presets.write_text('[ours]\nrepositories = ["acme/widgets", "umbrella/corp"]\nmax_prs = 12\n')
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with FakeGitHub(served, tokens={TOKEN: "alice"}) as github:
        await crawl(github.url, database_url, settings={"PRSEED_PROJECTS_FILE": str(presets)}, project="ours")
    chosen = ["acme/widgets", "umbrella/corp"]
    assert database_rows(database_url) == expected_rows(served, chosen, max_prs=12)


def test_an_unknown_repository_among_three_fails_alone(tmp_path):
    served = dataset()
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with FakeGitHub(served, tokens={TOKEN: "alice"}) as github:
        result = scrapy(
            "crawl",
            "prs",
            "-a",
            "repos=acme/widgets,acme/nothing,umbrella/corp",
            "-s",
            f"GITHUB_GRAPHQL_URL={github.url}",
            env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": database_url},
        )
    assert "Spider closed (repository_not_found)" in result.stderr
    assert_one_line_error(
        result,
        "repository acme/nothing not found, or the token cannot see it: check its name "
        "(2 other repositories complete)",
        code=1,
    )
    assert database_rows(database_url) == expected_rows(served, ["acme/widgets", "umbrella/corp"])
