"""A worker survives its database blinking: a batch the server could not take (it went
away) is held and written once it is back; past PRSEED_DB_RETRY_SECONDS the crawl stops."""

from __future__ import annotations

import logging

import pytest
import pytest_twisted
from scrapy import signals
from twisted.internet import threads

from tests.crawling import TOKEN, crawl
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset

REPOSITORY = "acme/widgets"


@pytest.fixture
def dataset():
    return generate_dataset({REPOSITORY: 30}, seed=11, big_pr=True)


def restart_after(crawler, responses: int, action):
    """Run ``action`` in a thread (the reactor goes on) once ``responses`` answers arrived."""
    seen = []

    def received(**_kwargs):
        seen.append(1)
        if len(seen) == responses:
            crawler.restarted = threads.deferToThread(action)

    crawler.signals.connect(received, signal=signals.response_received, weak=False)


SETTINGS = {"PRSEED_DB_BATCH_SIZE": 200, "PRSEED_PAGE_SIZE": 5, "CONCURRENT_REQUESTS": 2}


@pytest_twisted.ensureDeferred
async def test_a_restart_of_postgresql_mid_crawl_loses_nothing(dataset, postgres_cluster, caplog):
    caplog.set_level(logging.INFO)
    url = postgres_cluster.create_database("prseed_outage_restart")
    with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=0.05) as github:
        crawler = await crawl(
            github.url,
            url,
            SETTINGS,
            setup=lambda c: restart_after(c, 6, postgres_cluster.restart),
            repo=REPOSITORY,
        )
        await crawler.restarted
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished", stats.get("prseed/outcome/cause")
    assert stats["prseed/db/reconnects"] >= 1 and not stats.get("prseed/db/failed_batches")
    assert database_rows(url) == expected_rows(dataset, [REPOSITORY])
    lost = [record for record in caplog.records if record.getMessage().startswith("lost the connection")]
    assert len(lost) == stats["prseed/db/reconnects"]  # one line per outage


@pytest_twisted.ensureDeferred
async def test_past_the_retry_seconds_the_crawl_stops_as_before(dataset, postgres_cluster):
    url = postgres_cluster.create_database("prseed_outage_gone")

    try:
        with FakeGitHub(dataset, tokens={TOKEN: "alice"}, latency=0.05) as github:
            settings = {**SETTINGS, "PRSEED_DB_RETRY_SECONDS": 2}
            crawler = await crawl(
                github.url,
                url,
                settings,
                setup=lambda c: restart_after(c, 6, postgres_cluster.stop_server),
                repo=REPOSITORY,
            )
            await crawler.restarted
    finally:
        postgres_cluster.start_server()
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "database_error"
    assert stats["prseed/db/failed_batches"] == 1 and not stats.get("prseed/db/reconnects")
