"""The engine: JOBDIR state of the previous release, and a stream that is only a declaration."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import ClassVar

import graphql
import pytest_twisted
from scrapy import signals
from scrapy.crawler import CrawlerRunner
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from prseed import items
from prseed import signals as prseed_signals
from prseed.engine.declarations import Fragment, Stream
from prseed.engine.run import Run
from prseed.graphql.queries import by_id_query, page_query
from prseed.spiders.prs import PullRequestsSpider
from tests.conftest import ROOT
from tests.crawling import TOKEN, project_settings
from tests.fakegithub import FakeGitHub, generate_dataset

REPOSITORY = "acme/widgets"
# JOBDIR's spider state as prseed b5c2800 pickled it: {"runs": {repository: Run}}, the Run
# under prseed.spiders.prs (made with that commit's code, before the engine existed).
OLD_STATE = ROOT / "tests" / "fixtures" / "spider-state.b5c2800.pickle"


def test_a_run_pickled_by_the_previous_release_unpickles():
    state = pickle.loads(OLD_STATE.read_bytes())
    run = state["runs"][REPOSITORY]
    assert isinstance(run, Run)
    assert (run.repository, run.cursor, run.fetched, run.pending, run.broken) == (
        REPOSITORY,
        "Y3Vyc29y",
        7,
        {"PR_a": 2},
        {"PR_b"},
    )
    assert (run.covered_since, run.backfill_cursor, run.known_pull_requests) == (
        "2023-06-01T00:00:00Z",
        "YmFjaw==",
        3,
    )
    assert run.stream == "pull_requests"
    assert run.state_name("PRs") == "listing PRs" and run.outstanding == 2
    assert run.progress().run_cursor == "Y3Vyc29y"


def spider_of(settings: dict | None = None) -> PullRequestsSpider:
    values = Settings()
    values.setmodule("prseed.settings")
    values.update({"ITEM_PIPELINES": {}, **(settings or {})})
    crawler = get_crawler(PullRequestsSpider, values.copy_to_dict())
    spider = PullRequestsSpider.from_crawler(crawler, repo=REPOSITORY)
    crawler.spider = spider
    crawler.stats.open_spider()
    return spider


def test_the_engine_takes_over_the_runs_of_an_old_jobdir_state():
    state = pickle.loads(OLD_STATE.read_bytes())
    spider = spider_of()
    runs = spider.engine.resume(state["runs"])
    assert list(runs) == [(REPOSITORY, "pull_requests")]
    assert runs[(REPOSITORY, "pull_requests")].rows == {}  # this process counts its own
    assert spider.engine.unfinished() == 1
    assert spider.progress()[REPOSITORY]["incomplete"] == 2


@dataclass
class Title:
    """A row of a stream the tests declare: no prseed module knows it."""

    TABLE: ClassVar[str] = "titles"
    pull_request_id: str
    title: str


def titles(node: dict, repository_id: str) -> list:
    return [Title(node["id"], node["title"])]


# A second repository-level stream with no nested connection, declared here and nowhere else.
TITLES = Stream(
    name="titles",
    noun="title",
    connection="pullRequests",
    order="{field: UPDATED_AT, direction: DESC}",
    node=Fragment("Title", "PullRequest", "id\ntitle\nupdatedAt"),
    records=titles,
)


class PullRequestsAndTitlesSpider(PullRequestsSpider):
    name = "prs-and-titles"

    @classmethod
    def streams(cls, settings):
        return (*super().streams(settings), TITLES)


def test_a_declared_streams_documents_are_valid_for_github(github_schema):
    for document in (page_query(TITLES), by_id_query(TITLES)):
        assert graphql.validate(github_schema, graphql.parse(document)) == []


@pytest_twisted.ensureDeferred
async def test_a_stream_that_is_only_a_declaration_is_crawled_beside_the_prs():
    served = generate_dataset({REPOSITORY: 30}, seed=5, big_pr=False)
    scraped, stopped = [], []

    def setup(crawler):
        def keep(item):
            scraped.extend(item.items if isinstance(item, items.Rows) else [item])

        crawler.signals.connect(keep, signal=signals.item_scraped, weak=False)
        crawler.signals.connect(
            lambda repository, failed: stopped.append((repository, failed)),
            signal=prseed_signals.repository_stopped,
            weak=False,
        )

    settings = project_settings("", "sqlite:///unused", ITEM_PIPELINES={}, PRSEED_PAGE_SIZE=7)
    with FakeGitHub(served, tokens={TOKEN: "alice"}) as github:
        settings.set("GITHUB_GRAPHQL_URL", github.url, priority="cmdline")
        runner = CrawlerRunner(settings)
        crawler = runner.create_crawler(PullRequestsAndTitlesSpider)
        setup(crawler)
        await runner.crawl(crawler, repo=REPOSITORY)
    assert crawler.stats.get_value("finish_reason") == "finished"
    expected = {(pr["id"], pr["title"]) for pr in (served.pull_request(REPOSITORY, n) for n in range(1, 31))}
    assert {(row.pull_request_id, row.title) for row in scraped if isinstance(row, Title)} == expected
    pull_requests = {row.id for row in scraped if isinstance(row, items.PullRequest)}
    assert pull_requests == {pr_id for pr_id, _ in expected}
    assert crawler.stats.get_value("prseed/rows/titles") == 30
    assert stopped == [(REPOSITORY, False)]  # once, when both streams are done
    report = crawler.spider.progress()[REPOSITORY]
    assert report["state"] == "complete" and report["rows"]["titles"] == 30
