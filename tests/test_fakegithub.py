"""The fake GitHub GraphQL server and its data set behave like the parts of GitHub prseed relies on."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import graphql
import pytest

from prseed.graphql.queries import all_queries
from tests.conftest import ROOT
from tests.fakegithub.data import FILES_CAP, generate_dataset
from tests.fakegithub.server import SCHEMA, FakeGitHub

REPO = "acme/widgets"
OTHER = "acme/gadgets"
TOKEN_QUERY = "query { viewer { login } rateLimit { limit remaining resetAt used cost } }"
QUERIES = all_queries()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


def post(server, payload, token="token-a", scheme="bearer", path="/graphql", raw=None) -> Reply:
    """One request with urllib; HTTP errors are returned, not raised."""
    url = server.url.replace("/graphql", path)
    data = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    request = urllib.request.Request(url, data, headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(
                response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
            )
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def run(server, query_name, /, token="token-a", **variables) -> Reply:
    """Send one of prseed's documents, by its all_queries() name."""
    document = QUERIES[query_name]
    operation = graphql.get_operation_ast(graphql.parse(document)).name.value
    return post(server, {"query": document, "variables": variables, "operationName": operation}, token)


def follow(server, name, node_id, connection) -> list:
    """Every node of one connection of a node, page by page with prseed's follow-up query."""
    nodes, after = [], None
    while True:
        page = run(server, name, id=node_id, after=after).json["data"]["node"][connection]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def crawl_pull_requests(server, page_size=25, mode="head") -> list[dict]:
    nodes, after = [], None
    while True:
        reply = run(
            server,
            f"pull_request_page[{mode}]",
            owner="acme",
            name="widgets",
            pageSize=page_size,
            after=after,
        )
        page = reply.json["data"]["repository"]["pullRequests"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset({REPO: 60, OTHER: 5}, seed=7, big_pr=True, huge_files_pr=True)


@pytest.fixture
def server(dataset):
    with FakeGitHub(dataset, tokens={"token-a": "alice", "token-b": "alice", "token-c": "bob"}) as github:
        yield github


# -- schema ------------------------------------------------------------------


@pytest.mark.parametrize("name", [*QUERIES, "token check"])
def test_every_prseed_query_validates_against_the_subset(name):
    document = graphql.parse(QUERIES.get(name, TOKEN_QUERY))
    assert graphql.validate(SCHEMA, document) == []


def test_subset_has_githubs_types_and_nullability(github_schema):
    for name, ours in SCHEMA.type_map.items():
        if graphql.is_introspection_type(ours) or graphql.is_specified_scalar_type(ours):
            continue
        theirs = github_schema.type_map[name]
        assert type(ours) is type(theirs), name
        if graphql.is_enum_type(ours):
            assert set(ours.values) == set(theirs.values), name
        for field_name, field in getattr(ours, "fields", {}).items():
            real = theirs.fields[field_name]
            assert str(field.type) == str(real.type), f"{name}.{field_name}"
            for argument, definition in getattr(field, "args", {}).items():
                assert str(definition.type) == str(real.args[argument].type), (
                    f"{name}.{field_name}({argument})"
                )
        ours_interfaces = {i.name for i in getattr(ours, "interfaces", ())}
        assert ours_interfaces <= {i.name for i in getattr(theirs, "interfaces", ())}, name


# -- data set ----------------------------------------------------------------


def snapshot(dataset):
    return {name: [dict(pr) for pr in repo["pullRequests"]] for name, repo in dataset.repositories.items()}


def test_generator_is_deterministic():
    repos = {REPO: 30, OTHER: 10}
    assert snapshot(generate_dataset(repos, seed=3)) == snapshot(generate_dataset(repos, seed=3))
    assert snapshot(generate_dataset(repos, seed=3)) != snapshot(generate_dataset(repos, seed=4))


def test_children_regenerate_identically_once_evicted_from_the_cache():
    dataset = generate_dataset({REPO: 600}, seed=4, big_pr=False)
    pr = dataset.pull_request(REPO, 20)
    files, first = pr["files"], json.dumps(dict(pr), sort_keys=True)
    for other in dataset.repositories[REPO]["pullRequests"]:
        assert other["files"]  # more PRs than the cache holds: PR 20's children are dropped
    assert pr["files"] is not files and json.dumps(dict(pr), sort_keys=True) == first


def test_dataset_has_the_edge_cases_a_crawler_must_handle(dataset):
    pulls = dataset.repositories[REPO]["pullRequests"]
    big = dataset.pull_request(*dataset.special["big"])
    assert (len(big["reviews"]), len(big["commits"]), len(big["files"])) == (180, 250, 1200)
    head_suites = big["commits"][-1]["commit"]["checkSuites"]
    assert len(head_suites) == 12 and max(len(s["checkRuns"]) for s in head_suites) == 130
    huge = dataset.pull_request(*dataset.special["huge_files"])
    assert huge["changedFiles"] == len(huge["files"]) == 3100
    ghost = dataset.pull_request(*dataset.special["ghost"])
    assert ghost["author"] is None and any(review["author"] is None for review in ghost["reviews"])
    assert dataset.pull_request(*dataset.special["bot"])["author"]["__typename"] == "Bot"
    closing = dataset.pull_request(*dataset.special["many_closing_issues"])["closingIssuesReferences"]
    assert len(closing) > 10 and any(i["repository"]["nameWithOwner"] != REPO for i in closing)
    assert len(dataset.pull_request(*dataset.special["many_labels"])["labels"]) > 20
    milestones = [pr["milestone"]["id"] for pr in pulls if pr["milestone"]]
    assert len(set(milestones)) < len(milestones)
    commits = [c["commit"] for pr in pulls for c in pr["commits"]]
    assert {c["author"]["user"] is None for c in commits} == {True, False}
    assert any(c["commit"]["checkSuites"] for pr in pulls for c in pr["commits"][:-1])
    assert len({pr["updatedAt"] for pr in pulls}) == len(pulls)


def test_pull_request_fields_are_consistent(dataset):
    for pr in dataset.repositories[REPO]["pullRequests"]:
        assert (pr["mergedAt"] is not None) == (pr["state"] == "MERGED"), pr
        assert (pr["closedAt"] is None) == (pr["state"] == "OPEN"), pr
        assert not pr["isDraft"] or pr["state"] == "OPEN"
        assert pr["headRefOid"] == pr["commits"][-1]["commit"]["oid"]
        assert pr["createdAt"] <= pr["updatedAt"] and pr["fullDatabaseId"].isdigit()
        assert pr["changedFiles"] == len(pr["files"])


def test_touch_pull_request_changes_what_is_served():
    dataset = generate_dataset({REPO: 10}, seed=2, big_pr=False)
    pr = dataset.pull_request(REPO, 5)
    reviews, commits, title = len(pr["reviews"]), len(pr["commits"]), pr["title"]
    dataset.touch_pull_request(REPO, 5, "2030-01-01T00:00:00Z")
    assert pr["updatedAt"] == "2030-01-01T00:00:00Z" and pr["title"] != title
    assert len(pr["reviews"]) == max(reviews - 1, 0) and len(pr["commits"]) == commits + 1
    assert pr["headRefOid"] == pr["commits"][-1]["commit"]["oid"]
    with FakeGitHub(dataset) as server:
        served = crawl_pull_requests(server)[0]
        assert served["number"] == 5 and served["title"] == pr["title"]
        assert len(follow(server, "commits[head]", pr["id"], "commits")) == commits + 1


def test_fifty_thousand_pull_requests_generate_quickly():
    started = time.monotonic()
    dataset = generate_dataset({REPO: 45_000, OTHER: 5_000}, seed=1)
    assert time.monotonic() - started < 20
    assert len(dataset.pull_request(OTHER, 5_000)["commits"]) >= 1


# -- queries -----------------------------------------------------------------


def test_pull_request_pages_are_newest_update_first_and_complete(server, dataset):
    served = crawl_pull_requests(server, page_size=25)
    expected = sorted(
        dataset.repositories[REPO]["pullRequests"], key=lambda pr: pr["updatedAt"], reverse=True
    )
    assert [pr["id"] for pr in served] == [pr["id"] for pr in expected]
    first = served[-1]
    truth = dataset.pull_request(REPO, first["number"])
    assert {key: first[key] for key in ("title", "state", "updatedAt", "headRefOid")} == {
        key: truth[key] for key in ("title", "state", "updatedAt", "headRefOid")
    }


def test_a_cursor_keeps_its_place_when_a_later_pr_is_touched():
    dataset = generate_dataset({REPO: 30}, seed=5, big_pr=False)
    with FakeGitHub(dataset) as server:
        variables = {"owner": "acme", "name": "widgets", "pageSize": 10}
        page = run(server, "pull_request_page[none]", **variables).json["data"]["repository"]["pullRequests"]
        oldest = sorted(dataset.repositories[REPO]["pullRequests"], key=lambda pr: pr["updatedAt"])[0]
        dataset.touch_pull_request(REPO, oldest["number"], "2030-01-01T00:00:00Z")
        rest = crawl_after(server, page["pageInfo"]["endCursor"], variables)
    seen = [pr["number"] for pr in page["nodes"]] + [pr["number"] for pr in rest]
    assert len(seen) == len(set(seen)) == 29 and oldest["number"] not in seen


def crawl_after(server, after, variables):
    nodes = []
    while after:
        page = run(server, "pull_request_page[none]", after=after, **variables).json["data"]
        connection = page["repository"]["pullRequests"]
        nodes += connection["nodes"]
        after = connection["pageInfo"]["endCursor"] if connection["pageInfo"]["hasNextPage"] else None
    return nodes


def test_big_pr_connections_page_to_every_node_exactly_once(server, dataset):
    big = dataset.pull_request(*dataset.special["big"])
    reviews = follow(server, "reviews[head]", big["id"], "reviews")
    assert [r["id"] for r in reviews] == [r["id"] for r in big["reviews"]]
    commits = follow(server, "commits[head]", big["id"], "commits")
    assert [c["commit"]["oid"] for c in commits] == [c["commit"]["oid"] for c in big["commits"]]
    files = follow(server, "files[head]", big["id"], "files")
    assert [f["path"] for f in files] == [f["path"] for f in big["files"]]
    head = big["commits"][-1]["commit"]
    suites = follow(server, "checkSuites[head]", head["id"], "checkSuites")
    assert [s["id"] for s in suites] == [s["id"] for s in head["checkSuites"]]
    widest = max(head["checkSuites"], key=lambda suite: len(suite["checkRuns"]))
    runs = follow(server, "checkRuns[head]", widest["id"], "checkRuns")
    assert [r["id"] for r in runs] == [r["id"] for r in widest["checkRuns"]] and len(runs) == 130


# --- prconn: PRSEED_COLLECT's parts


def test_big_pr_conversation_pages_to_every_node_exactly_once(server, dataset):
    big = dataset.pull_request(*dataset.special["big"])
    for name, key in [
        ("timelineItems", "timelineItems"),
        ("reviewThreads", "reviewThreads"),
        ("comments", "comments"),
    ]:
        served = follow(server, f"{name}[head]", big["id"], name)
        assert [node["id"] for node in served] == [node["id"] for node in big[key]] and len(served) > 100
    longest = max(big["reviewThreads"], key=lambda thread: len(thread["comments"]))
    comments = follow(server, "threadComments[head]", longest["id"], "threadComments")
    assert [c["id"] for c in comments] == [c["id"] for c in longest["comments"]] and len(comments) > 100


def test_timeline_serves_only_the_item_types_asked_for(server, dataset):
    pr = dataset.pull_request(*dataset.special["big"])
    query = """query($id: ID!) { node(id: $id) { ... on PullRequest {
      timelineItems(first: 100, itemTypes: [MERGED_EVENT]) { totalCount nodes { __typename } } } } }"""
    reply = post(server, {"query": query, "variables": {"id": pr["id"]}})
    served = reply.json["data"]["node"]["timelineItems"]
    merged = [item for item in pr["timelineItems"] if item["__typename"] == "MergedEvent"]
    assert served["totalCount"] == len(merged) > 0 and {n["__typename"] for n in served["nodes"]} == {
        "MergedEvent"
    }


def test_dataset_has_the_conversation_edge_cases(dataset):
    pulls = dataset.repositories[REPO]["pullRequests"]
    ghost = dataset.pull_request(*dataset.special["ghost"])
    assert any(item["actor"] is None for item in ghost["timelineItems"])
    assert any(request["requestedReviewer"] is None for request in ghost["reviewRequests"])
    assert any(
        "requestedReviewer" in item and item["requestedReviewer"] is None for item in ghost["timelineItems"]
    )
    assert any(comment["author"] is None for comment in ghost["comments"])
    reviewers = [request["requestedReviewer"] for pr in pulls for request in pr["reviewRequests"]]
    assert {"User", "Team"} <= {reviewer["__typename"] for reviewer in reviewers if reviewer}
    events = [item for pr in pulls for item in pr["timelineItems"]]
    assert any(
        item.get("requestedReviewer", {}) and item["requestedReviewer"]["__typename"] == "Team"
        for item in events
    )
    assert sum(len(pr["reviewThreads"]) == 0 for pr in pulls) > 0 and all(pr["timelineItems"] for pr in pulls)


def test_total_comments_count_counts_conversation_and_review_comments(server, dataset):
    pr = dataset.pull_request(REPO, 8)
    served = next(node for node in crawl_pull_requests(server) if node["number"] == 8)
    threads = sum(len(thread["comments"]) for thread in pr["reviewThreads"])
    assert served["totalCommentsCount"] == len(pr["comments"]) + threads


def test_files_stop_at_githubs_cap(server, dataset):
    huge = dataset.pull_request(*dataset.special["huge_files"])
    page = run(server, "files[head]", id=huge["id"]).json["data"]["node"]["files"]
    assert page["totalCount"] == FILES_CAP
    files = follow(server, "files[head]", huge["id"], "files")
    assert [f["path"] for f in files] == [f["path"] for f in huge["files"][:FILES_CAP]]


def test_node_resolves_pull_requests_commits_and_check_suites(server, dataset):
    pr = dataset.pull_request(REPO, 8)
    commit = pr["commits"][0]["commit"]
    query = "query($id: ID!) { node(id: $id) { __typename id } }"
    for node in (pr, commit, *commit["checkSuites"]):
        data = post(server, {"query": query, "variables": {"id": node["id"]}}).json["data"]
        assert data["node"]["id"] == node["id"]
    missing = post(server, {"query": query, "variables": {"id": "PR_kwDOnope"}}).json
    assert missing["data"] == {"node": None} and missing["errors"][0]["type"] == "NOT_FOUND"


def test_missing_and_excessive_page_sizes_are_refused(server):
    missing = post(
        server,
        {"query": 'query { repository(owner: "acme", name: "widgets") { pullRequests { totalCount } } }'},
    )
    assert missing.status == 200 and missing.json["data"] is None
    (error,) = missing.json["errors"]
    assert error["type"] == "MISSING_PAGINATION_BOUNDARIES" and error["path"] == [
        "repository",
        "pullRequests",
    ]
    assert "`first` or `last`" in error["message"] and error["locations"]
    query = 'query($n: Int!) { node(id: "x") { ... on PullRequest { reviews(first: $n) { totalCount } } } }'
    excessive = post(server, {"query": query, "variables": {"n": 101}}).json
    assert excessive["data"] is None and excessive["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert excessive["errors"][0]["message"] == (
        "Requesting 101 records on the `reviews` connection exceeds the `first` limit of 100 records."
    )
    assert server.requests[-1].cost == 0


def test_unknown_repository_answers_not_found(server):
    reply = run(server, "pull_request_page[head]", owner="acme", name="nothing", pageSize=25)
    assert reply.status == 200
    assert set(reply.json["data"]) == {"rateLimit", "repository"} and reply.json["data"]["repository"] is None
    (error,) = reply.json["errors"]
    assert error["type"] == "NOT_FOUND" and error["path"] == ["repository"] and error["locations"]
    assert error["message"] == "Could not resolve to a Repository with the name 'acme/nothing'."


def test_invalid_documents_get_githubs_validation_errors(server):
    reply = post(server, {"query": "query { viewer { login nope } }"})
    assert reply.status == 200 and "data" not in reply.json
    (error,) = reply.json["errors"]
    assert error["message"] == "Field 'nope' doesn't exist on type 'User'"
    assert error["extensions"] == {"code": "undefinedField", "typeName": "User", "fieldName": "nope"}
    assert error["path"] == ["query", "viewer", "nope"] and error["locations"] == [{"line": 1, "column": 24}]
    assert post(server, None, raw=b"{not json").status == 400
    assert post(server, None, raw=b"{not json").json == {"message": "Problems parsing JSON"}
    bad_cursor = run(server, "reviews[head]", id=server.dataset.pull_request(REPO, 1)["id"], after="bm9wZQ==")
    assert bad_cursor.json["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"


# -- costs, budgets, tokens ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cost"),
    [
        # PRSEED_COLLECT empty: the PR alone
        ("pull_request_page[head,collect=]", 3),
        ("pull_request_page[all,collect=]", 61),
        ("pull_request_page[none,collect=]", 1),
        # the statuses part rides on the head commit's selection (free in head mode); all and
        # none modes need that selection: 25 more pages
        ("pull_request_page[head,collect=statuses]", 3),
        ("pull_request_page[all,collect=statuses]", 62),
        ("pull_request_page[none,collect=statuses]", 2),
        # every part: prconn's 4 flat connections and 8 threads with their comments, and the
        # head commit's selection in all and none modes
        ("pull_request_page[head]", 6),
        ("pull_request_page[all]", 65),
        ("pull_request_page[none]", 5),
    ],
)
def test_page_query_costs_like_github(server, name, cost):
    reply = run(server, name, owner="acme", name="widgets", pageSize=25)
    assert reply.json["data"]["rateLimit"]["cost"] == cost and server.requests[-1].cost == cost


def test_follow_up_costs(server, dataset):
    pr_id = dataset.pull_request(REPO, 1)["id"]
    assert run(server, "commits[all]", id=pr_id).json["data"]["rateLimit"]["cost"] == 6
    assert run(server, "reviews[all]", id=pr_id).json["data"]["rateLimit"]["cost"] == 1


@pytest.mark.parametrize("authorization", [None, ("bearer", "wrong"), ("basic", "token-a")])
def test_bad_credentials(server, authorization):
    scheme, token = authorization or ("bearer", None)
    reply = post(server, {"query": TOKEN_QUERY}, token=token, scheme=scheme)
    assert reply.status == 401
    assert reply.json == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/graphql",
    }


def test_every_answer_has_rate_limit_headers(server):
    server.inject("secondary")
    replies = [
        post(server, VIEWER),
        post(server, VIEWER, token="token-c", path="/elsewhere"),
        post(server, VIEWER, token=None),
        post(server, None, token="token-c", raw=b"[oops"),
    ]
    assert [reply.status for reply in replies] == [403, 404, 401, 400]
    for reply in replies:
        assert reply.headers["x-ratelimit-resource"] == "graphql" and "x-ratelimit-reset" in reply.headers


@pytest.mark.parametrize("scheme", ["bearer", "Bearer", "BEARER", "token"])
def test_authorization_scheme_is_case_insensitive(server, scheme):
    reply = post(server, {"query": TOKEN_QUERY}, scheme=scheme, path="/api/graphql")
    assert reply.json["data"]["viewer"]["login"] == "alice"


def test_tokens_of_one_account_share_its_budget():
    dataset = generate_dataset({REPO: 2}, big_pr=False)
    tokens = {"token-a": "alice", "token-b": "alice", "token-c": "bob"}
    with FakeGitHub(dataset, tokens=tokens, budget=4) as server:
        remaining = [
            post(server, {"query": TOKEN_QUERY}, token).json["data"]["rateLimit"]["remaining"]
            for token in ("token-a", "token-b", "token-a", "token-b")
        ]
        assert remaining == [3, 2, 1, 0]
        limited = post(server, {"query": TOKEN_QUERY}, "token-a")
        assert limited.status == 200 and limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.json == {
            "data": None,
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}],
        }
        assert server.budget_of("alice").remaining == 0
        other = post(server, {"query": TOKEN_QUERY}, "token-c")
        assert other.json["data"]["rateLimit"]["remaining"] == 3
        assert {
            k: other.headers[k] for k in ("x-ratelimit-limit", "x-ratelimit-used", "x-ratelimit-resource")
        } == {
            "x-ratelimit-limit": "4",
            "x-ratelimit-used": "1",
            "x-ratelimit-resource": "graphql",
        }
        assert abs(int(other.headers["x-ratelimit-reset"]) - time.time() - 3600) < 5


def test_budget_refills_after_its_window_and_can_answer_403():
    dataset = generate_dataset({REPO: 2}, big_pr=False)
    with FakeGitHub(dataset, budget=1, window_seconds=0.3, rate_limited_status=403) as server:
        assert post(server, {"query": TOKEN_QUERY}).status == 200
        assert post(server, {"query": TOKEN_QUERY}).status == 403
        time.sleep(0.35)
        assert post(server, {"query": TOKEN_QUERY}).status == 200


def test_request_log_records_tokens_operations_and_times(server, dataset):
    before = time.monotonic()
    run(server, "reviews[head]", token="token-b", id=dataset.pull_request(REPO, 2)["id"])
    post(server, {"query": TOKEN_QUERY}, token="bogus")
    deadline = time.monotonic() + 5  # end_time is stamped just after the answer is written
    while any(record.end_time is None for record in server.requests) and time.monotonic() < deadline:
        time.sleep(0.01)
    first, second = server.requests
    assert (first.token, first.operation, first.status, first.cost) == (
        "token-b",
        "PullRequestReviews",
        200,
        1,
    )
    assert first.variables["id"] == dataset.pull_request(REPO, 2)["id"]
    assert before <= first.time <= first.end_time and first.time <= second.time <= second.end_time
    assert (second.token, second.status, second.cost, second.fault) == ("bogus", 401, 0, None)
    assert server.requests_for("PullRequestReviews") == [first]


# -- faults and secondary limits -------------------------------------------------


VIEWER = {"query": "query Viewer { viewer { login } }", "operationName": "Viewer"}


@pytest.mark.parametrize("kind", ["502", "503", "504"])
def test_server_errors(server, kind):
    server.inject(kind)
    reply = post(server, VIEWER)
    assert reply.status == int(kind) and "message" in reply.json
    assert (server.requests[-1].fault, server.requests[-1].status) == (kind, int(kind))
    assert post(server, VIEWER).status == 200
    if kind == "502":
        assert "Please include `" in reply.json["message"]


def test_not_json_and_truncated_answers(server):
    server.inject("not_json")
    server.inject("truncated")
    html, cut, whole = post(server, VIEWER), post(server, VIEWER), post(server, VIEWER)
    assert html.status == 200 and html.body.startswith(b"<!DOCTYPE html>")
    assert cut.status == 200 and whole.body.startswith(cut.body) and len(cut.body) < len(whole.body)
    with pytest.raises(ValueError):
        json.loads(cut.body)
    assert whole.json == {"data": {"viewer": {"login": "alice"}}}


def test_reset_drops_the_connection(server):
    server.inject("reset")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        post(server, VIEWER)
    assert server.requests[-1].fault == "reset"
    assert post(server, VIEWER).status == 200


def test_injected_rate_limit_and_revocation(server):
    server.inject("rate_limited")
    limited = post(server, VIEWER)
    assert (
        limited.json["errors"][0]["type"] == "RATE_LIMITED"
        and limited.headers["x-ratelimit-remaining"] == "0"
    )
    server.inject("revoke")
    assert post(server, VIEWER).status == 401
    assert post(server, VIEWER).status == 401
    assert post(server, VIEWER, token="token-b").status == 200


def test_faults_match_an_operation_and_count(server, dataset):
    server.inject("502", count=2, match="PullRequestReviews")
    assert post(server, VIEWER).status == 200
    pr_id = dataset.pull_request(REPO, 1)["id"]
    assert [run(server, "reviews[head]", id=pr_id).status for _ in range(3)] == [502, 502, 200]


def test_random_faults_are_deterministic_by_seed(dataset):
    def faults(seed):
        with FakeGitHub(dataset, fault_rates={"502": 0.3, "not_json": 0.2}, seed=seed) as server:
            for _ in range(20):
                post(server, VIEWER)
            return [record.fault for record in server.requests]

    first = faults(11)
    assert first == faults(11) and {"502", "not_json", None} == set(first)
    assert first != faults(12)


def test_secondary_fault_makes_the_token_rest(server):
    server.inject("secondary")
    reply = post(server, VIEWER)
    assert reply.status == 403 and reply.headers["retry-after"] == "3"
    assert reply.json["message"].startswith("You have exceeded a secondary rate limit")
    early = post(server, VIEWER)
    assert early.status == 403 and server.requests[-1].early
    assert post(server, VIEWER, token="token-b").status == 200


def test_too_many_concurrent_requests_hit_the_secondary_limit(dataset):
    with FakeGitHub(dataset, max_concurrent_per_token=2, latency=0.15, secondary_retry_after=1) as server:
        replies = []
        threads = [threading.Thread(target=lambda: replies.append(post(server, VIEWER))) for _ in range(4)]
        for thread in threads:
            thread.start()
            time.sleep(0.02)
        for thread in threads:
            thread.join()
        assert sorted(reply.status for reply in replies) == [200, 200, 403, 403]
        assert post(server, VIEWER).status == 403 and server.requests[-1].early
        rested_from = max(
            record.time for record in server.requests if record.status == 403 and not record.early
        )
        time.sleep(max(0.0, rested_from + 1.02 - time.monotonic()))
        assert post(server, VIEWER).status == 200


def test_points_per_minute_hit_the_secondary_limit(dataset):
    with FakeGitHub(dataset, points_per_minute=2, secondary_retry_after=7) as server:
        statuses = [post(server, VIEWER).status for _ in range(3)]
        assert statuses == [200, 200, 403] and server.requests[-1].cost == 0
        assert post(server, VIEWER).headers["retry-after"] in {"6", "7"}


def test_resource_limits_null_every_pull_request_of_a_large_page(dataset):
    with FakeGitHub(dataset, resource_limit_nodes=10) as server:
        reply = run(server, "pull_request_page[head]", owner="acme", name="widgets", pageSize=12)
        assert reply.status == 200
        assert reply.json["data"]["repository"]["pullRequests"]["nodes"] == [None] * 12
        errors = reply.json["errors"]
        assert [e["path"] for e in errors] == [["repository", "pullRequests", "nodes", i] for i in range(12)]
        assert {(e["type"], e["message"]) for e in errors} == {
            ("RESOURCE_LIMITS_EXCEEDED", "Resource limits for this query exceeded.")
        }
        small = run(server, "pull_request_page[head]", owner="acme", name="widgets", pageSize=6)
        assert (
            "errors" not in small.json
            and None not in small.json["data"]["repository"]["pullRequests"]["nodes"]
        )


def test_the_demo_server_explains_its_options():
    finished = subprocess.run(
        [sys.executable, "-m", "tests.fakegithub", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    options = " ".join(finished.stdout.partition("options:")[2].split())  # unwrapped
    for option, explanation in {
        "--port PORT": "the port on 127.0.0.1 to listen on",
        "--repos OWNER/NAME=COUNT": "how many pull requests it has, e.g. acme/widgets=40",
        "--token TOKEN": "a token the server accepts",
    }.items():
        assert explanation in options.partition(option)[2][:200], (option, options)
    assert "--repos repeated" in options and "(repeatable" in options


def test_the_demo_server_takes_repositories_after_one_or_many_repos():
    from tests.fakegithub.__main__ import argument_parser

    parse = argument_parser().parse_args
    both = [("acme/widgets", 40), ("acme/gadgets", 5)]
    assert parse(["--repos", "acme/widgets=40", "acme/gadgets=5"]).repos == both
    assert parse(["--repos", "acme/widgets=40", "--repos", "acme/gadgets=5"]).repos == both
    with pytest.raises(SystemExit):
        parse(["--repos", "acme/widgets"])
