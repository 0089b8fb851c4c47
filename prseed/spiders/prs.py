"""The ``prs`` spider: every pull request of a repository, with everything hanging off it.

The crawl is the engine's (:mod:`prseed.engine.engine`, which says how it survives
interruptions); what it fetches is the pull-request stream (:mod:`prseed.streams.pull_requests`).
"""

from __future__ import annotations

from prseed import config
from prseed.engine.run import Run
from prseed.engine.spider import StreamSpider
from prseed.projects import load_projects
from prseed.spiders.arguments import CrawlPlan, parse_arguments
from prseed.streams.pull_requests import pull_requests

# JOBDIR's spider state pickled by the previous release names Run here (``state["runs"]``).
__all__ = ["PullRequestsSpider", "Run"]


class PullRequestsSpider(StreamSpider):
    """``scrapy crawl prs -a repo=OWNER/NAME [-a since=YYYY-MM-DD | -a days_back=N] [-a max_prs=N]
    [-a full=1]``"""

    name = "prs"
    # A request the previous release queued in JOBDIR names the page callback so.
    parse_pull_request_page = StreamSpider.parse_page

    @classmethod
    def streams(cls, settings):
        return (
            pull_requests(
                config.value(settings, "PRSEED_CHECK_RUNS"), config.value(settings, "PRSEED_COLLECT")
            ),
        )

    @classmethod
    def crawl_plan(cls, settings, arguments: dict, worker: bool) -> CrawlPlan:
        return parse_arguments(
            load_projects(config.value(settings, "PRSEED_PROJECTS_FILE")), worker=worker, **arguments
        )
