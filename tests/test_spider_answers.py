"""How the spider reads GitHub's answers that are not plain success, one answer at a time."""

from __future__ import annotations

import json
import logging

import pytest
from scrapy.http import JsonRequest, TextResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from prseed import items, signals
from prseed.spiders.prs import PullRequestsSpider
from prseed.streams.pull_requests import pull_requests
from tests.fakegithub import FakeGitHub, generate_dataset

REPOSITORY = "acme/widgets"


@pytest.fixture
def spider():
    settings = Settings()
    settings.setmodule("prseed.settings")
    settings.set("ITEM_PIPELINES", {})
    crawler = get_crawler(PullRequestsSpider, settings.copy_to_dict())
    spider = PullRequestsSpider.from_crawler(crawler, repo=REPOSITORY)
    crawler.spider = spider
    crawler.stats.open_spider()
    list(spider.engine.begin(REPOSITORY, pull_requests(), None, None))
    return spider


def first_page(payload: dict, spider) -> list:
    request = spider.engine.page_request(pull_requests(), REPOSITORY, None, 0)
    response = TextResponse(request.url, body=json.dumps(payload).encode(), request=request)
    return list(request.callback(response, **request.cb_kwargs))


def served_page() -> dict:
    """A real first page from the fake server, to damage in the tests."""
    import urllib.request

    from prseed.graphql.queries import page_query

    dataset = generate_dataset({REPOSITORY: 5}, seed=4, big_pr=False)
    with FakeGitHub(dataset, tokens={"t": "alice"}) as github:
        body = json.dumps(
            {
                "query": page_query(pull_requests()),
                "variables": {"owner": "acme", "name": "widgets", "pageSize": 25, "after": None},
            }
        ).encode()
        request = urllib.request.Request(github.url, body, {"Authorization": "bearer t"})
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)


def test_partial_data_is_kept_logged_and_counted(spider, caplog):
    payload = served_page()
    payload["errors"] = [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]
    caplog.set_level(logging.WARNING)
    outputs = first_page(payload, spider)
    assert sum(isinstance(output, items.PullRequest) for output in outputs) == 5
    assert "partial answer" in caplog.text and "FORBIDDEN" in caplog.text


def test_null_nodes_with_resource_limits_are_asked_again_smaller(spider):
    payload = served_page()
    payload["data"]["repository"]["pullRequests"]["nodes"] = [None] * 5
    payload["errors"] = [{"type": "RESOURCE_LIMITS_EXCEEDED", "message": "Resource limits exceeded"}]
    (retry,) = first_page(payload, spider)
    assert isinstance(retry, JsonRequest)
    assert json.loads(retry.body)["variables"]["pageSize"] == 12


def test_an_answer_without_data_loses_the_page_loudly(spider, caplog):
    outputs = first_page({"errors": [{"message": "Something went wrong"}]}, spider)
    assert outputs == []
    assert spider.crawler.stats.get_value("prseed/pages_failed") == 1
    assert spider.engine.runs[(REPOSITORY, "pull_requests")].failed


def test_a_lost_page_tells_the_crawl_its_repository_stopped(spider):
    """What a distributed worker listens to (prseed.signals.repository_stopped), not the spider."""
    heard = []
    spider.crawler.signals.connect(
        lambda repository, failed: heard.append((repository, failed)),
        signal=signals.repository_stopped,
        weak=False,
    )
    first_page({"errors": [{"message": "Something went wrong"}]}, spider)
    assert heard == [(REPOSITORY, True)]
