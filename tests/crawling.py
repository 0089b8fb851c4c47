"""Run real crawls of the ``prs`` spider in the test process (pytest-twisted's reactor)."""

from __future__ import annotations

from scrapy.crawler import CrawlerRunner
from scrapy.settings import Settings

from prseed.spiders.prs import PullRequestsSpider

TOKEN = "test-token-a1b2c3d4e5f6"


def project_settings(server_url: str, database_url: str, **overrides) -> Settings:
    settings = Settings()
    settings.setmodule("prseed.settings", priority="project")
    settings.update(
        {
            "GITHUB_GRAPHQL_URL": server_url,
            "GITHUB_TOKEN": TOKEN,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "DEBUG",
            "RETRY_TIMES": 5,
            "RETRY_BACKOFF_BASE": 0.02,
            # the tests of the PR stream count its requests and sync_state rows: they crawl it
            # alone, and the tests of the other streams (tests/test_streams.py) turn them on
            "PRSEED_DEPLOYMENTS": False,
            **overrides,
        },
        priority="cmdline",
    )
    return settings


async def crawl(server_url: str, database_url: str, settings: dict | None = None, setup=None, **arguments):
    """Crawl to the end and return the crawler (its stats tell what happened);
    ``setup(crawler)`` runs first, e.g. to connect signal handlers."""
    runner = CrawlerRunner(project_settings(server_url, database_url, **(settings or {})))
    crawler = runner.create_crawler(PullRequestsSpider)
    if setup is not None:
        setup(crawler)
    await runner.crawl(crawler, **arguments)
    return crawler
