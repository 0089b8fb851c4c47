"""The table of settings: every setting prseed reads is in it, the README's table is rendered
from it, and a bad value of any of them is one line before any request."""

from __future__ import annotations

import gc
import re

import pytest
import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

import prseed.settings
from prseed import config
from prseed.addons import DistributedCrawl
from prseed.distributed import Worker
from prseed.exceptions import ConfigError
from prseed.extensions.gc import GarbageCollection
from prseed.extensions.jsonrpc import JsonRpcService
from prseed.extensions.progress import ProgressExtension
from prseed.middlewares.retry import BackoffRetryMiddleware
from prseed.middlewares.rows import RowsMiddleware
from prseed.spiders.prs import PullRequestsSpider
from prseed.streams.pull_requests import PARTS, pull_requests
from tests.conftest import ROOT
from tests.crawling import TOKEN
from tests.test_cli import assert_one_line_error
from tests.test_cli import scrapy as scrapy_command

# What prseed's code reads that is Scrapy's wiring, not a value a user sets.
WIRING = {"ITEM_PIPELINES", "FEEDS", "EXTENSIONS"}
READ = re.compile(r"""(?:settings(?:\.get\w*\(|\[)|value\([\w.]+,)\s*["']([A-Z][A-Z0-9_]+)["']""")
BANNER = f"Scrapy {scrapy.__version__} started"
CLOSED_PORT_URL = "http://127.0.0.1:9/graphql"  # discard: nothing listens there
CLOSED_PORT_REDIS = "redis://127.0.0.1:9/0"  # a Redis client connects only when first used


def project_settings(**overrides) -> Settings:
    settings = Settings()
    settings.setmodule(prseed.settings, priority="project")
    settings.update(overrides, priority="cmdline")
    return settings


def test_the_readme_settings_table_is_the_tables():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == config.readme_with_table(readme), "run python -m prseed.config"


def test_every_setting_prseed_reads_is_in_the_table():
    read = set()
    for path in (ROOT / "prseed").rglob("*.py"):
        read.update(READ.findall(path.read_text(encoding="utf-8")))
    assert read - WIRING - set(config.BY_NAME) == set()


def test_settings_py_takes_every_default_from_the_table():
    settings = project_settings()
    for entry in config.SETTINGS:
        assert settings.get(entry.name) == entry.project_default(), entry.name


def test_settings_py_leaves_scrapys_own_defaults_to_scrapy_so_add_ons_can_change_them():
    assert not hasattr(prseed.settings, "HTTPCACHE_ENABLED")  # the offline replay turns it on
    settings = project_settings()
    settings.set("HTTPCACHE_ENABLED", True, priority="addon")
    assert settings.getbool("HTTPCACHE_ENABLED")


def test_defaults_come_from_the_environment_but_never_a_secret(monkeypatch):
    monkeypatch.setenv("GITHUB_GRAPHQL_URL", "https://github.example.com/api/graphql")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("PRSEED_JSONRPC_SECRET", "s3cret")
    defaults = config.project_defaults()
    assert defaults["GITHUB_GRAPHQL_URL"] == "https://github.example.com/api/graphql"
    assert defaults["GITHUB_TOKEN"] is None and defaults["JSONRPC_SECRET"] is None


def test_the_defaults_pass_their_own_check():
    config.check_settings(project_settings())


@pytest.mark.parametrize(
    "name, value, message",
    [
        (
            "PRSEED_PAGE_SIZE",
            "abc",
            "PRSEED_PAGE_SIZE='abc' must be a whole number from 1 to 100; the default is 25",
        ),
        ("PRSEED_PAGE_SIZE", "101", "from 1 to 100"),
        ("PRSEED_RATELIMIT_WAIT", "maybe", "PRSEED_RATELIMIT_WAIT='maybe' must be True, False, 1 or 0"),
        ("PRSEED_WORKER_IDLE_EXIT", "nan", "PRSEED_WORKER_IDLE_EXIT='nan' must be a number of seconds"),
        ("PRSEED_PROGRESS_INTERVAL", "inf", "PRSEED_PROGRESS_INTERVAL='inf' must be a number of seconds"),
        ("PRSEED_DB_FLUSH_SECONDS", "0", "more than 0"),
        ("JSONRPC_HOST", "", "JSONRPC_HOST=(empty) must be text, not empty"),
        ("JOBDIR", "/dev/null/jobs", "JOBDIR='/dev/null/jobs' must be a directory"),
        ("GITHUB_GRAPHQL_URL", "api.github.com/graphql", "must be a URL starting with https:// or http://"),
        ("PRSEED_COLLECT", "timeline,nonesuch", "PRSEED_COLLECT='timeline,nonesuch' must be a list"),
    ],
)
def test_a_bad_value_names_the_setting_and_what_is_right(name, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        config.check_settings(project_settings(**{name: value}))


@pytest.mark.parametrize(
    "name, value",
    [
        ("PRSEED_WORKER_IDLE_EXIT", "inf"),
        ("PRSEED_RATELIMIT_WAIT", "false"),
        ("JSONRPC_PORT", "0"),
        ("JOBDIR", ""),
        ("PRSEED_COLLECT", ""),
        ("PRSEED_COLLECT", "timeline, comments"),
        ("PRSEED_COLLECT", ["review_threads"]),
    ],
)
def test_good_values_pass(name, value):
    config.check_settings(project_settings(**{name: value}))


def test_collect_reads_a_list_or_text_into_the_parts():
    assert config.value(project_settings(PRSEED_COLLECT="timeline, comments"), "PRSEED_COLLECT") == {
        "timeline",
        "comments",
    }
    assert config.value(project_settings(PRSEED_COLLECT=""), "PRSEED_COLLECT") == frozenset()
    everything = config.value(project_settings(), "PRSEED_COLLECT")
    assert everything == set(PARTS) and PullRequestsSpider.streams(project_settings())[0] == pull_requests()


def test_a_crawl_started_from_python_is_checked_too():
    crawler = Crawler(PullRequestsSpider, project_settings(PRSEED_POINTS_PER_MINUTE="abc"))
    with pytest.raises(ConfigError, match="PRSEED_POINTS_PER_MINUTE='abc'"):
        PullRequestsSpider.from_crawler(crawler, repo="acme/widgets")


@pytest.mark.parametrize(
    "entry", [entry for entry in config.SETTINGS if entry.bad_value is not None], ids=lambda entry: entry.name
)
def test_a_bad_value_of_any_setting_is_one_line_before_scrapys_banner(entry, tmp_path):
    result = scrapy_command(
        *("crawl", "prs", "-a", "repo=acme/widgets", "-s", f"GITHUB_GRAPHQL_URL={CLOSED_PORT_URL}"),
        *("-s", "RETRY_TIMES=0", "-s", f"{entry.name}={entry.bad_value}"),
        env={"GITHUB_TOKEN": TOKEN, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        timeout=60,
    )
    assert_one_line_error(result, entry.name)
    assert BANNER not in result.stderr


def test_a_bad_value_read_by_a_component_is_the_same_one_line():
    settings = project_settings(PRSEED_PAGE_SIZE="abc")
    with pytest.raises(ConfigError) as checked:
        config.check_settings(settings)
    with pytest.raises(ConfigError) as read:
        config.value(settings, "PRSEED_PAGE_SIZE")
    assert str(read.value) == str(checked.value)


def built(component, spidercls=None):
    """``component`` built from bare Scrapy settings (no ``prseed/settings.py``) plus ``settings``."""

    def build(settings: dict):
        return component.from_crawler(get_crawler(spidercls, settings_dict=settings))

    return build


def added_by_the_addon(settings: dict) -> Settings:
    built_settings = Settings(settings)
    DistributedCrawl.update_settings(built_settings)
    return built_settings


# Each component, what turns it on, and what it read of prseed's settings.
COMPONENTS = [
    pytest.param(
        built(JsonRpcService),
        {"JSONRPC_ENABLED": True},
        lambda service: {"JSONRPC_HOST": service.host, "JSONRPC_PORT": service.ports},
        id="jsonrpc",
    ),
    pytest.param(
        built(ProgressExtension, PullRequestsSpider),
        {},
        lambda extension: {"PRSEED_PROGRESS_INTERVAL": extension.interval},
        id="progress",
    ),
    pytest.param(
        built(BackoffRetryMiddleware),
        {},
        lambda middleware: {
            "RETRY_BACKOFF_BASE": middleware.backoff_base,
            "RETRY_BACKOFF_MAX": middleware.backoff_max,
        },
        id="retry",
    ),
    pytest.param(
        built(RowsMiddleware),
        {},
        lambda middleware: {"PRSEED_GROUP_ROWS": isinstance(middleware, RowsMiddleware)},  # not off
        id="rows",
    ),
    pytest.param(
        built(Worker),
        {"PRSEED_REDIS_URL": CLOSED_PORT_REDIS},
        lambda worker: {
            "PRSEED_WORKER_TTL": worker.ttl,
            "PRSEED_WORKER_REPOSITORIES": worker.capacity,
            "PRSEED_WORKER_IDLE_EXIT": worker.idle_exit,
            "PRSEED_REDIS_PREFIX": worker.queue.prefix,
        },
        id="worker",
    ),
    pytest.param(
        added_by_the_addon,
        {"PRSEED_REDIS_URL": CLOSED_PORT_REDIS, "PRSEED_WORKER_NAME": "w1"},
        lambda settings: {"PRSEED_REDIS_PREFIX": settings["SCHEDULER_QUEUE_KEY"].split(":")[0]},
        id="distributed-addon",
    ),
]


@pytest.mark.parametrize("build, enabling, read", COMPONENTS)
def test_a_component_without_prseeds_settings_reads_the_tables_defaults(build, enabling, read):
    values = read(build(enabling))
    assert values and not set(enabling) & set(values)  # only what turns it on is given
    assert values == {name: config.setting(name).project_default() for name in values}


def test_the_garbage_collector_is_eased_for_the_crawl_and_restored_after():
    before = gc.get_threshold()
    extension = GarbageCollection.from_crawler(get_crawler(settings_dict={}))
    extension.engine_started()
    try:
        assert gc.get_threshold()[0] == 10_000  # the table's default, without prseed/settings.py
        assert gc.get_freeze_count() > 0
    finally:
        extension.engine_stopped()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    with pytest.raises(NotConfigured):
        GarbageCollection.from_crawler(get_crawler(settings_dict={"PRSEED_GC_THRESHOLD": 0}))
