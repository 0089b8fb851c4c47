"""The spider base of the engine: Scrapy's side of a crawl of declared streams."""

from __future__ import annotations

import logging

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from prseed import config, outcome
from prseed.distributed import Worker, check_redis, check_worker_name
from prseed.engine.declarations import Stream
from prseed.engine.engine import Callbacks, Engine, Options
from prseed.engine.pagesize import PageSizes
from prseed.exceptions import ConfigError
from prseed.extensions.httpcache import missing_page_reason
from prseed.spiders.arguments import CrawlPlan

logger = logging.getLogger(__name__)

DATABASE_PIPELINE = "prseed.pipelines.database.DatabasePipeline"


class StreamSpider(scrapy.Spider):
    """A spider that crawls the streams it declares (:meth:`streams`) of every repository
    its arguments name (:meth:`crawl_plan`), through one :class:`~prseed.engine.engine.Engine`.
    It offers the retry middleware ``lighten_request`` and the progress report ``progress``
    (see :mod:`prseed.protocols`)."""

    def __init__(self, **arguments: str) -> None:
        super().__init__()  # the arguments go to crawl_plan, not onto the spider

    @classmethod
    def streams(cls, settings) -> tuple[Stream, ...]:
        """The streams this spider crawls, the first one's node counts in the progress report."""
        raise NotImplementedError

    @classmethod
    def planned_streams(cls, settings, plan: CrawlPlan) -> tuple[Stream, ...]:
        """The streams this crawl crawls: :meth:`streams`, unless its arguments choose others."""
        return cls.streams(settings)

    @classmethod
    def crawl_plan(cls, settings, arguments: dict, worker: bool) -> CrawlPlan:
        """The spider's arguments, checked (a ConfigError says what is wrong)."""
        raise NotImplementedError

    @classmethod
    def check(cls, settings, arguments: dict) -> dict:
        """Check spider arguments and how the spider's settings fit together (each setting
        on its own: :func:`prseed.config.check_settings`); return what the spider needs."""
        worker = bool(config.value(settings, "PRSEED_REDIS_URL"))
        plan = cls.crawl_plan(settings, arguments, worker)
        if worker:
            if settings.get("JOBDIR"):
                raise ConfigError(
                    "JOBDIR and PRSEED_REDIS_URL both set: a worker keeps no JOBDIR (Redis and the "
                    "database carry a stopped crawl); drop -s JOBDIR"
                )
            if str(config.value(settings, "DATABASE_URL")).startswith("sqlite"):
                raise ConfigError(
                    "PRSEED_REDIS_URL with a SQLite DATABASE_URL: workers need one database they all "
                    "reach; set DATABASE_URL=postgresql://user:password@host/dbname"
                )
            check_redis(settings)
            check_worker_name(settings)
        page_size = config.value(settings, "PRSEED_PAGE_SIZE")
        min_page_size = config.value(settings, "PRSEED_MIN_PAGE_SIZE")
        if min_page_size > page_size:
            raise ConfigError(
                f"PRSEED_MIN_PAGE_SIZE={min_page_size} is more than PRSEED_PAGE_SIZE={page_size}: "
                "lower it or raise PRSEED_PAGE_SIZE"
            )
        return {"plan": plan, "page_size": page_size, "min_page_size": min_page_size}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        config.check_settings(settings)
        checked = cls.check(settings, kwargs)
        spider.plan = checked["plan"]
        spider.engine = Engine(
            crawler,
            cls.planned_streams(settings, spider.plan),
            spider.plan,
            PageSizes(checked["page_size"], checked["min_page_size"], crawler),
            Callbacks(spider.parse_page, spider.parse_by_id, spider.parse_follow_up, spider.request_failed),
            Options(
                endpoint=config.value(settings, "GITHUB_GRAPHQL_URL"),
                database_url=config.value(settings, "DATABASE_URL"),
                syncing=settings.getdict("ITEM_PIPELINES").get(DATABASE_PIPELINE) is not None,
                overlap=config.value(settings, "PRSEED_SYNC_OVERLAP_SECONDS"),
            ),
        )
        crawler.signals.connect(spider.engine.close_if_missing, signal=signals.spider_idle)
        return spider

    async def start(self):
        worker = self.crawler.get_extension(Worker)
        if worker is not None:  # a distributed crawl: repositories come from Redis
            while (repository := await worker.next_repository(self.engine.unfinished)) is not None:
                for output in self.engine.begin_all([repository]):
                    yield output
            return
        state = getattr(self, "state", None)  # JOBDIR's spider state, when there is a JOBDIR
        if state is not None:
            state["runs"] = self.engine.resume(state.get("runs", {}))
        if self.plan.days_back is not None:
            label = self.engine.first_stream.label
            logger.info("-a days_back=%d: %s updated since %s", self.plan.days_back, label, self.plan.since)
        for output in self.engine.begin_all(list(self.plan.repositories), only_new=True):
            yield output

    # --- answers: Scrapy names a JOBDIR request's callback by the spider method's name ----

    def parse_page(self, response, repository: str, fetched: int):
        yield from self.engine.page(response, repository, fetched)

    def parse_by_id(self, response, repository: str):
        yield from self.engine.by_id(response, repository)

    def parse_follow_up(self, response, name: str, context: dict):
        yield from self.engine.follow_up(response, name, context)

    def request_failed(self, failure):
        reason = failure.getErrorMessage()
        if failure.check(IgnoreRequest) and config.value(self.settings, "PRSEED_OFFLINE"):
            reason = missing_page_reason(self.settings, self.name, failure.request)
            # running the same replay again cannot help: the cache lacks the page
            outcome.record(self.crawler.stats, "finished", f"offline replay: {reason}", rerun_helps=False)
        yield from self.engine.lost(failure.request, reason)

    # --- what middlewares and extensions may ask (prseed.protocols) -----------------------

    def lighten_request(self, request):
        """Called by the retry middleware after a 502/504/timeout (LightensRequests)."""
        return self.engine.lighten(request)

    def progress(self) -> dict[str, dict]:
        """Per repository, how far the crawl is (ReportsProgress)."""
        return self.engine.progress()
