"""``budget``: GitHub points and requests per 1,000 fully hydrated PRs, against REST.

A live crawl of the fake server (its own process, GitHub's cost formula) with prseed's
default settings, the PR stream alone (bench.common.PR_STREAM_ONLY); the points are summed
from the server's record of what it charged.  The database is then compared with what the
dataset says it must hold, so the figures are for PRs with *all* their reviews, commits,
files, head-commit check runs, labels, milestone and closing issues.

The REST figure counts the calls the same data needs from GitHub's REST API, the way the
seeds fetched it: PR list pages of 100, and per PR its commits, reviews and files (100 a
page, files capped at 3,000) and the check runs of its head commit (100 a page); one call
for an empty list.  Labels and the milestone come with the PR list; closing issues have no
REST endpoint and are left out, in REST's favour.  REST charges 1 of 5,000 an hour per call
and GraphQL 5,000 points an hour, so the ratio of budget fractions is calls / points.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

from bench.common import crawl, heading, setting, sqlite_url, table, write_result
from bench.fakeserver import ServerProcess

REPOSITORY = "acme/widgets"
MODES_REPOSITORY = "acme/modes"
MODES_SIZE = 60  # enough for two full pages of 25 and the edge cases (the big PR among them)
TOKEN = "bench-token-budget"
REST_PER_PAGE = 100
REST_FILES_CAP = 3000
BUDGET_PER_HOUR = 5000  # GitHub: REST calls per hour, GraphQL points per hour
TARGET_POINTS_PER_PR = 0.35  # every part of PRSEED_COLLECT
TARGET_PR_ONLY_POINTS_PER_PR = 0.171  # PRSEED_COLLECT empty: what the PR alone cost before the parts
EVERY_PART = "every part, "  # how the docstring's lines for every part begin
TARGET_RATIO = 12
PAGE_SIZES = (10, 25, 50, 100)


def server_config(repos: dict[str, int]) -> dict:
    return {
        "repos": repos,
        "tokens": {TOKEN: "bench"},
        "big_pr": True,
        "huge_files_pr": True,
        "budget": 10**9,  # the budget is measured here, not enforced
    }


def rest_calls(dataset, repository: str, check_runs: bool = True) -> dict[str, int]:
    """REST calls that fetch every PR of ``repository`` with the same data."""
    pulls = dataset.repositories[repository]["pullRequests"]

    def pages(count: int) -> int:
        return max(1, math.ceil(count / REST_PER_PAGE))

    calls = {"pull_request_list": pages(len(pulls)), "commits": 0, "reviews": 0, "files": 0, "check_runs": 0}
    for pull_request in pulls:
        calls["commits"] += pages(len(pull_request["commits"]))
        calls["reviews"] += pages(len(pull_request["reviews"]))
        calls["files"] += pages(min(len(pull_request["files"]), REST_FILES_CAP))
        if check_runs:
            head = pull_request["commits"][-1]["commit"]
            calls["check_runs"] += pages(sum(len(suite["checkRuns"]) for suite in head["checkSuites"]))
    calls["total"] = sum(calls.values())
    return calls


def static_costs(page_size: int, collect=None) -> dict:
    """The cost of every document prseed sends (with ``collect``'s parts, every one by
    default), by the fake server's implementation of GitHub's formula, without sending
    anything."""
    from graphql import get_operation_ast
    from graphql.execution.values import get_variable_values

    from prseed.graphql.queries import by_id_query, follow_up_query, page_query
    from prseed.streams.pull_requests import ALL_PARTS, CHECK_RUN_MODES, pull_requests
    from tests.fakegithub.server import SCHEMA, analyse, prepare

    collect = ALL_PARTS if collect is None else frozenset(collect)

    def cost(query: str, variables: dict) -> int:
        document = prepare(query).document
        operation = get_operation_ast(document)
        coerced = get_variable_values(SCHEMA, operation.variable_definitions or (), variables)
        return analyse(document, operation, coerced).cost

    page_variables = {"owner": "o", "name": "n", "after": None}
    costs = {}
    for mode in CHECK_RUN_MODES:
        stream = pull_requests(mode, collect)
        costs[mode] = {
            "page": cost(page_query(stream), {**page_variables, "pageSize": page_size}),
            "by_id": cost(by_id_query(stream), {"ids": ["x"] * page_size}),
            "follow_up": {
                name: cost(follow_up_query(connection), {"id": "x", "after": None})
                for name, connection in stream.connections().items()
            },
            "page_per_pr": {
                size: round(cost(page_query(stream), {**page_variables, "pageSize": size}) / size, 3)
                for size in PAGE_SIZES
            },
        }
    return costs


def docstring_costs() -> dict:
    """The costs prseed/graphql/queries.py's docstring states, for comparison."""
    from prseed.graphql import queries

    text = queries.__doc__ or ""
    stated: dict = {"every_part": {}}
    for every, mode, page_size, pages, points in re.findall(
        rf"^\* ({EVERY_PART})?``(\w+)``[^\n]*?->\s*(\d+) PRs: ([\d,]+) pages = (\d+) points?", text, re.M
    ):
        (stated["every_part"] if every else stated)[mode] = {
            "page_size": int(page_size),
            "pages": int(pages.replace(",", "")),
            "page": int(points),
        }
    follow = re.search(r"follow-up\s+page\s+\(by\s+node\s+id\)\s+costs\s+(\d+)\s+point", text)
    commits_all = re.search(r"=\s+(\d+)\s+points\s+for\s+commits\s+in\s+``all``", text)
    stated["follow_up"] = int(follow.group(1)) if follow else None
    stated["follow_up_commits_all"] = int(commits_all.group(1)) if commits_all else None
    return stated


def follow_up_operation(connection_name: str) -> str:
    """The operation name of a follow-up query (see prseed.graphql.queries.follow_up_query)."""
    from prseed.graphql.queries import follow_up_operation as operation
    from prseed.streams.pull_requests import pull_requests

    return operation(pull_requests("all").connections()[connection_name])


def measured_costs(records: list[dict]) -> dict:
    """What the server charged, per operation (PR pages per page size): sorted distinct costs."""
    seen: dict[str, set] = defaultdict(set)
    for record in records:
        if record["status"] != 200:
            continue
        key = record["operation"]
        if key == "PullRequestPage":
            key = f"PullRequestPage[{record['page_size']}]"
        seen[key].add(record["cost"])
    return {key: sorted(costs) for key, costs in sorted(seen.items())}


def run(size: int, workdir: Path, results_dir: Path, profile: bool = True) -> dict:
    from tests.expected import database_rows, expected_rows
    from tests.fakegithub import generate_dataset

    check_runs = setting("PRSEED_CHECK_RUNS")
    page_size = setting("PRSEED_PAGE_SIZE")
    heading(f"budget: {size} PRs, live crawls of the fake server (check runs: {check_runs})")
    config = server_config({REPOSITORY: size})
    dataset = generate_dataset(
        config["repos"], big_pr=config["big_pr"], huge_files_pr=config["huge_files_pr"]
    )
    # the PR alone (PRSEED_COLLECT empty), then with every part (the default)
    pr_only_database = sqlite_url(workdir / "budget-pr-only.sqlite3")
    database = sqlite_url(workdir / "budget.sqlite3")
    with ServerProcess(config) as server:
        pr_only = crawl(
            workdir,
            "budget-pr-only",
            {"repo": REPOSITORY},
            {"GITHUB_GRAPHQL_URL": server.url, "DATABASE_URL": pr_only_database, "PRSEED_COLLECT": ""},
            tokens=[TOKEN],
        )
        pr_only_records = server.records()
        server.clear()
        result = crawl(
            workdir,
            "budget",
            {"repo": REPOSITORY},
            {"GITHUB_GRAPHQL_URL": server.url, "DATABASE_URL": database},
            tokens=[TOKEN],
        )
        records = server.records()
    pr_only.check()
    result.check()
    deployments = setting("PRSEED_DEPLOYMENTS")
    hydrated = database_rows(pr_only_database) == expected_rows(
        dataset, [REPOSITORY], check_runs=check_runs, collect=frozenset(), deployments=deployments
    ) and database_rows(database) == expected_rows(
        dataset, [REPOSITORY], check_runs=check_runs, deployments=deployments
    )
    if not hydrated:
        raise RuntimeError("the crawl's database differs from the dataset: PRs are not fully hydrated")
    pr_only_points = sum(record["cost"] for record in pr_only_records)
    points = sum(record["cost"] for record in records)
    requests = len(records)
    by_operation: dict[str, dict] = defaultdict(lambda: {"requests": 0, "points": 0})
    for record in records:
        by_operation[record["operation"]]["requests"] += 1
        by_operation[record["operation"]]["points"] += record["cost"]
    rest = rest_calls(dataset, REPOSITORY, check_runs=check_runs != "none")
    per_thousand = 1000 / size
    graphql_fraction = points / BUDGET_PER_HOUR
    rest_fraction = rest["total"] / BUDGET_PER_HOUR
    ratio = rest_fraction / graphql_fraction

    # the other check-run modes, on a small repository holding the big PRs, to check the costs
    heading(f"query costs: stated, computed, and charged by the server (other modes: {MODES_SIZE} PRs)")
    static = static_costs(page_size)
    pr_only_static = static_costs(page_size, collect=())
    stated = docstring_costs()
    charged = {check_runs: measured_costs(records)}  # the crawl above; then the other modes
    with ServerProcess(server_config({MODES_REPOSITORY: MODES_SIZE})) as server:
        for mode in static:
            if mode in charged:
                continue
            server.clear()
            mode_crawl = crawl(
                workdir,
                f"budget-{mode}",
                {"repo": MODES_REPOSITORY},
                {
                    "GITHUB_GRAPHQL_URL": server.url,
                    "DATABASE_URL": sqlite_url(workdir / f"budget-{mode}.sqlite3"),
                    "PRSEED_CHECK_RUNS": mode,
                },
                tokens=[TOKEN],
            )
            mode_crawl.check()
            charged[mode] = measured_costs(server.records())
    cost_rows = []
    agree = True
    for mode, costs in static.items():
        full_page = charged[mode].get(f"PullRequestPage[{page_size}]")
        said = stated["every_part"].get(mode, {})
        said = said.get("page") if said.get("page_size") == page_size else None
        pr_only_said = stated.get(mode, {})
        if pr_only_said.get("page_size") == page_size:
            agree &= pr_only_said["page"] == pr_only_static[mode]["page"]
        charged_follow_ups = set()
        for name, computed in costs["follow_up"].items():
            seen = charged[mode].get(follow_up_operation(name))
            if seen:
                charged_follow_ups.update(seen)
                agree &= seen == [computed]
        agree &= full_page == [costs["page"]] and (said is None or said == costs["page"])
        cost_rows.append(
            (
                mode,
                "-" if said is None else said,
                costs["page"],
                ",".join(map(str, full_page or [])) or "-",
                ",".join(sorted({str(c) for c in costs["follow_up"].values()})),
                ",".join(map(str, sorted(charged_follow_ups))) or "-",
                costs["by_id"],
            )
        )
    print(
        table(
            cost_rows,
            (
                "mode",
                f"page of {page_size}: docstring",
                "computed",
                "charged",
                "follow-up: computed",
                "charged",
                "by-id page",
            ),
        )
    )
    agree &= measured_costs(pr_only_records).get(f"PullRequestPage[{page_size}]") == [
        pr_only_static[check_runs]["page"]
    ]
    print(
        "PR alone (PRSEED_COLLECT empty), page of",
        page_size,
        {mode: costs["page"] for mode, costs in pr_only_static.items()},
        "docstring:",
        {mode: stated.get(mode, {}).get("page") for mode in pr_only_static},
    )
    if stated.get("follow_up") is not None:
        # every follow-up but commits in all mode (the documents are those of all mode)
        others = {cost for name, cost in static["head"]["follow_up"].items() if name != "commits"}
        agree &= others == {stated["follow_up"]}
    if stated.get("follow_up_commits_all") is not None:
        agree &= static["all"]["follow_up"]["commits"] == stated["follow_up_commits_all"]
    print(f"costs agree (docstring, computed, charged): {agree}")
    print(
        f"docstring's follow-up cost: {stated.get('follow_up')} (commits in all mode: "
        f"{stated.get('follow_up_commits_all')}); computed: "
        f"{static['all']['follow_up']['commits']} for commits in all mode"
    )
    print("page cost per PR by page size (head):", static["head"]["page_per_pr"])

    heading("budget per 1,000 fully hydrated PRs")
    print(
        table(
            [
                (
                    "GraphQL (prseed)",
                    f"{points * per_thousand:.0f} points",
                    f"{requests * per_thousand:.0f}",
                    f"{graphql_fraction * per_thousand:.3f}",
                ),
                (
                    "REST (the seeds)",
                    f"{rest['total'] * per_thousand:.0f} calls",
                    f"{rest['total'] * per_thousand:.0f}",
                    f"{rest_fraction * per_thousand:.3f}",
                ),
            ],
            ("", "budget used", "requests", "share of an hour's budget"),
        )
    )
    print(
        f"points per PR, the PR alone (PRSEED_COLLECT empty): {pr_only_points / size:.3f} "
        f"(target <= {TARGET_PR_ONLY_POINTS_PER_PR})"
    )
    print(f"points per PR, every part: {points / size:.3f} (target <= {TARGET_POINTS_PER_PR})")
    print(f"REST needs {ratio:.1f}x the budget of GraphQL (target >= {TARGET_RATIO}x)")
    print("REST calls by kind:", rest)
    print("GraphQL by operation:", dict(by_operation))
    figures = {
        "repository": REPOSITORY,
        "dataset": {"big_pr": True, "huge_files_pr": True, "seed": 1},
        "check_runs": check_runs,
        "page_size": page_size,
        "fully_hydrated": hydrated,
        "graphql_pr_only": {
            "points": pr_only_points,
            "requests": len(pr_only_records),
            "points_per_pr": round(pr_only_points / size, 4),
        },
        "graphql": {
            "points": points,
            "requests": requests,
            "points_per_pr": round(points / size, 4),
            "points_per_1000_prs": round(points * per_thousand, 1),
            "requests_per_1000_prs": round(requests * per_thousand, 1),
            "by_operation": dict(by_operation),
        },
        "rest": {
            "calls": rest,
            "calls_per_1000_prs": round(rest["total"] * per_thousand, 1),
        },
        "budget_fraction_per_1000_prs": {
            "graphql": round(graphql_fraction * per_thousand, 4),
            "rest": round(rest_fraction * per_thousand, 4),
        },
        "rest_to_graphql_ratio": round(ratio, 2),
        "query_costs": {
            "docstring": stated,
            "computed": static,
            "charged_by_server": charged,
            "agree": agree,
        },
        "crawl": {"wall_seconds": round(result.wall_seconds, 2), "elapsed_seconds": round(result.elapsed, 2)},
        "targets": {
            "points_per_pr": TARGET_POINTS_PER_PR,
            "pr_only_points_per_pr": TARGET_PR_ONLY_POINTS_PER_PR,
            "rest_ratio": TARGET_RATIO,
            "met": points / size <= TARGET_POINTS_PER_PR
            and pr_only_points / size <= TARGET_PR_ONLY_POINTS_PER_PR
            and ratio >= TARGET_RATIO,
        },
    }
    write_result(results_dir, "budget", size, figures)
    return figures
