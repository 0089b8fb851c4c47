"""The ``prs`` spider: every pull request of a repository, with everything hanging off it."""

from __future__ import annotations

import json
import logging

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import JsonRequest

from prseed.exceptions import ConfigError
from prseed.graphql import records
from prseed.graphql.queries import (
    CHECK_RUN_MODES,
    CONNECTIONS,
    PULL_REQUEST_CONNECTIONS,
    follow_up_query,
    pull_request_page_query,
)
from prseed.spiders.arguments import parse_arguments

logger = logging.getLogger(__name__)

# Page size grows back (doubling) after this many good pages in a row.
GROW_AFTER = 5
# Follow-ups finish PRs already started before new pages start more PRs, so
# memory and the database stay close to the crawl.
FOLLOW_UP_PRIORITY = 10


def request_variables(request) -> dict:
    return json.loads(request.body)["variables"]


def graphql_errors(payload: dict) -> list[dict]:
    return payload.get("errors") or []


def error_types(payload: dict) -> set[str]:
    return {error.get("type") for error in graphql_errors(payload)}


def describe_errors(payload: dict) -> str:
    return "; ".join(
        f"{error.get('type', 'ERROR')}: {error.get('message', '')}" for error in graphql_errors(payload)
    )


class PullRequestsSpider(scrapy.Spider):
    """``scrapy crawl prs -a repo=OWNER/NAME [-a since=YYYY-MM-DD | -a days_back=N] [-a max_prs=N]``"""

    name = "prs"

    def __init__(self, **arguments: str) -> None:
        self.plan = parse_arguments(**arguments)
        super().__init__()

    @staticmethod
    def check(settings, arguments: dict) -> dict:
        """Check spider arguments and the spider's settings; return the settings' values."""
        parse_arguments(**arguments)
        page_size = settings.getint("PRSEED_PAGE_SIZE")
        min_page_size = settings.getint("PRSEED_MIN_PAGE_SIZE")
        if not 1 <= min_page_size <= page_size <= 100:
            raise ConfigError(
                "PRSEED_PAGE_SIZE must be 1-100 and PRSEED_MIN_PAGE_SIZE 1-PRSEED_PAGE_SIZE "
                f"(got {page_size} and {min_page_size})"
            )
        check_runs = settings.get("PRSEED_CHECK_RUNS")
        if check_runs not in CHECK_RUN_MODES:
            raise ConfigError(f"PRSEED_CHECK_RUNS={check_runs!r} is not one of {', '.join(CHECK_RUN_MODES)}")
        return {"page_size": page_size, "min_page_size": min_page_size, "check_runs": check_runs}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.endpoint = settings.get("GITHUB_GRAPHQL_URL")
        for name, value in cls.check(settings, kwargs).items():
            setattr(spider, name, value)
        spider.page_sizes = {}  # repository -> page size now, after GitHub said a page was too heavy
        spider.good_pages = {}  # repository -> good pages in a row since the last reduction
        spider.page_query = pull_request_page_query(spider.check_runs)
        spider.follow_up_queries = {
            name: follow_up_query(connection, spider.check_runs) for name, connection in CONNECTIONS.items()
        }
        return spider

    async def start(self):
        for repository in self.plan.repositories:
            owner, name = repository.split("/")
            yield self.pull_request_page(owner, name, after=None, fetched=0)

    def graphql_request(self, query: str, variables: dict, callback, operation: str, **kwargs) -> JsonRequest:
        return JsonRequest(
            self.endpoint,
            data={"query": query, "variables": variables},
            callback=callback,
            errback=self.request_failed,
            meta={"prseed_operation": operation},
            **kwargs,
        )

    def pull_request_page(self, owner: str, name: str, after: str | None, fetched: int):
        page_size = self.page_sizes.get(f"{owner}/{name}", self.page_size)
        if self.plan.max_prs is not None:
            page_size = min(page_size, self.plan.max_prs - fetched)
        variables = {"owner": owner, "name": name, "pageSize": page_size, "after": after}
        return self.graphql_request(
            self.page_query,
            variables,
            self.parse_pull_request_page,
            operation="PullRequestPage",
            cb_kwargs={"fetched": fetched},
        )

    def parse_pull_request_page(self, response, fetched: int):
        payload = response.json()
        variables = request_variables(response.request)
        owner, name = variables["owner"], variables["name"]
        repository = (payload.get("data") or {}).get("repository")
        if repository is None:
            if "NOT_FOUND" in error_types(payload):
                logger.error(
                    "repository %s/%s not found, or the token cannot see it: check -a repo",
                    owner,
                    name,
                )
                raise CloseSpider("repository_not_found")
            self.page_failed(response, describe_errors(payload))
            return
        connection = repository["pullRequests"]
        nodes = connection["nodes"] or []
        if "RESOURCE_LIMITS_EXCEEDED" in error_types(payload) and None in nodes:
            if self.shrink_page(f"{owner}/{name}", variables["pageSize"]):
                yield self.pull_request_page(owner, name, variables["after"], fetched).replace(
                    dont_filter=True
                )
            else:
                self.page_failed(response, "GitHub's resource limits exceeded even at the smallest page size")
            return
        self.page_succeeded(f"{owner}/{name}")
        if graphql_errors(payload):
            logger.warning(
                "%s/%s: partial answer, keeping the data that came: %s", owner, name, describe_errors(payload)
            )
        if variables["after"] is None:
            yield records.repository(repository)
        stop = False
        for node in nodes:
            if node is None:
                continue
            if self.plan.since_timestamp and node["updatedAt"] < self.plan.since_timestamp:
                stop = True
                break
            yield from self.pull_request(node, repository["id"])
            fetched += 1
            if self.plan.max_prs is not None and fetched >= self.plan.max_prs:
                stop = True
                break
        self.crawler.stats.set_value(f"prseed/{owner}/{name}/pull_requests_total", connection["totalCount"])
        page_info = connection["pageInfo"]
        if page_info["hasNextPage"] and not stop:
            yield self.pull_request_page(owner, name, page_info["endCursor"], fetched)

    def shrink_page(self, repository: str, page_size: int) -> bool:
        """Ask for fewer PRs per page for the rest of this repository (GitHub said the
        query was too heavy); False when already at the floor."""
        smaller = max(page_size // 2, self.min_page_size)
        if smaller >= page_size:
            return False
        self.page_sizes[repository] = smaller
        self.good_pages[repository] = 0
        self.crawler.stats.inc_value("prseed/page_size_reductions")
        logger.warning(
            "%s: query too heavy for GitHub with %d PRs a page; asking for %d", repository, page_size, smaller
        )
        return True

    def page_succeeded(self, repository: str) -> None:
        """After a run of good pages, grow a reduced page size back towards PRSEED_PAGE_SIZE."""
        if repository not in self.page_sizes:
            return
        self.good_pages[repository] += 1
        if self.good_pages[repository] >= GROW_AFTER:
            self.good_pages[repository] = 0
            grown = min(self.page_sizes[repository] * 2, self.page_size)
            if grown == self.page_size:
                del self.page_sizes[repository]
            else:
                self.page_sizes[repository] = grown

    def lighten_request(self, request):
        """Called by the retry middleware after a 502/504/timeout: a page query is retried
        with half as many PRs (follow-ups are already small)."""
        if request.meta.get("prseed_operation") != "PullRequestPage":
            return request
        variables = request_variables(request)
        repository = f"{variables['owner']}/{variables['name']}"
        if not self.shrink_page(repository, variables["pageSize"]):
            return request
        smaller = {**variables, "pageSize": self.page_sizes[repository]}
        return request.replace(data={"query": self.page_query, "variables": smaller})

    def pull_request(self, node: dict, repository_id: str):
        self.crawler.stats.inc_value("prseed/pull_requests")
        yield from records.pull_request(node, repository_id)
        context = {"repository_id": repository_id, "pull_request_id": node["id"]}
        for name in PULL_REQUEST_CONNECTIONS:
            if node.get(name) is not None:
                yield from self.connection(name, node[name], node["id"], context)
        for head in (node.get("headCommit") or {}).get("nodes") or []:
            yield from self.check_suites(head["commit"], context)

    def connection(self, name: str, connection: dict, parent_id: str, context: dict):
        """The items of one page of a connection, and the request for its next page."""
        make_records = records.NODE_RECORDS[name]
        for node in connection["nodes"] or []:
            if node is None:
                continue
            yield from make_records(node, context)
            if name == "commits" and self.check_runs == "all":
                yield from self.check_suites(node["commit"], context)
            elif name == "checkSuites":
                suite_context = {
                    **context,
                    "check_suite_id": node["id"],
                    "app_slug": (node.get("app") or {}).get("slug"),
                }
                yield from self.connection("checkRuns", node["checkRuns"], node["id"], suite_context)
        page_info = connection["pageInfo"]
        if page_info["hasNextPage"]:
            yield self.graphql_request(
                self.follow_up_queries[name],
                {"id": parent_id, "after": page_info["endCursor"]},
                self.parse_follow_up,
                operation=f"follow-up {name}",
                priority=FOLLOW_UP_PRIORITY,
                cb_kwargs={"name": name, "context": context},
            )

    def check_suites(self, commit: dict, context: dict):
        commit_context = {**context, "commit_oid": commit["oid"]}
        if commit.get("checkSuites") is not None:
            yield from self.connection("checkSuites", commit["checkSuites"], commit["id"], commit_context)

    def parse_follow_up(self, response, name: str, context: dict):
        payload = response.json()
        node = (payload.get("data") or {}).get("node")
        if node is None or node.get(name) is None:
            self.page_failed(response, describe_errors(payload) or "the node is gone")
            return
        if graphql_errors(payload):
            logger.warning(
                "%s: partial answer, keeping the data that came: %s", name, describe_errors(payload)
            )
        yield from self.connection(name, node[name], request_variables(response.request)["id"], context)

    def page_failed(self, response, reason: str) -> None:
        self.crawler.stats.inc_value("prseed/pages_failed")
        logger.error(
            "%s %s failed: %s",
            response.request.meta.get("prseed_operation"),
            request_variables(response.request),
            reason,
        )

    def request_failed(self, failure) -> None:
        request = failure.request
        self.crawler.stats.inc_value("prseed/pages_failed")
        logger.error(
            "%s %s failed: %s",
            request.meta.get("prseed_operation"),
            request_variables(request),
            failure.getErrorMessage(),
        )
