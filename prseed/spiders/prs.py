"""The ``prs`` spider: every pull request of a repository, with everything hanging off it,
and the repository's deployments and issues (as the settings or ``-a streams=`` say).

The crawl is the engine's (:mod:`prseed.engine.engine`, which says how it survives
interruptions); what it fetches are the streams of :mod:`prseed.streams`.
"""

from __future__ import annotations

from prseed import config, items
from prseed.engine.run import Run
from prseed.engine.spider import StreamSpider
from prseed.exceptions import ConfigError
from prseed.projects import load_projects
from prseed.spiders.arguments import STREAMS, CrawlPlan, parse_arguments
from prseed.streams.deployments import deployments
from prseed.streams.issues import issues
from prseed.streams.pull_requests import pull_requests

# JOBDIR's spider state pickled by the previous release names Run here (``state["runs"]``).
__all__ = ["PullRequestsSpider", "Run"]


def stream_names(settings, plan: CrawlPlan | None = None) -> tuple[str, ...]:
    """The streams a crawl crawls: ``-a streams=``, else the pull requests and what
    PRSEED_DEPLOYMENTS and PRSEED_ISSUES turn on."""
    if plan is not None and plan.streams is not None:
        return plan.streams
    on = {
        items.PULL_REQUESTS_STREAM: True,
        items.DEPLOYMENTS_STREAM: config.value(settings, "PRSEED_DEPLOYMENTS"),
        items.ISSUES_STREAM: config.value(settings, "PRSEED_ISSUES"),
    }
    return tuple(name for name in STREAMS if on[name])


def repository_streams(settings, plan: CrawlPlan | None = None) -> tuple:
    """The declared streams of :func:`stream_names`, in crawl order."""
    environments = plan.environments if plan is not None else ()
    declared = {
        items.PULL_REQUESTS_STREAM: lambda: pull_requests(
            config.value(settings, "PRSEED_CHECK_RUNS"), config.value(settings, "PRSEED_COLLECT")
        ),
        items.DEPLOYMENTS_STREAM: lambda: deployments(
            environments, config.value(settings, "PRSEED_DEPLOYMENT_WINDOW_DAYS")
        ),
        items.ISSUES_STREAM: issues,
    }
    return tuple(declared[name]() for name in stream_names(settings, plan))


class PullRequestsSpider(StreamSpider):
    """``scrapy crawl prs -a repo=OWNER/NAME [-a since=YYYY-MM-DD | -a days_back=N] [-a max_prs=N]
    [-a full=1] [-a streams=pull_requests,deployments,issues] [-a environments=production,staging]``"""

    name = "prs"
    # A request the previous release queued in JOBDIR names the page callback so.
    parse_pull_request_page = StreamSpider.parse_page

    @classmethod
    def streams(cls, settings):
        return repository_streams(settings)

    @classmethod
    def planned_streams(cls, settings, plan: CrawlPlan):
        if plan.streams is None and not plan.environments:
            return cls.streams(settings)
        return repository_streams(settings, plan)

    @classmethod
    def crawl_plan(cls, settings, arguments: dict, worker: bool) -> CrawlPlan:
        plan = parse_arguments(
            load_projects(config.value(settings, "PRSEED_PROJECTS_FILE")), worker=worker, **arguments
        )
        if plan.environments and items.DEPLOYMENTS_STREAM not in stream_names(settings, plan):
            raise ConfigError(
                "-a environments= filters deployments, which this crawl does not fetch: "
                "drop -s PRSEED_DEPLOYMENTS=False, or add deployments to -a streams="
            )
        return plan
