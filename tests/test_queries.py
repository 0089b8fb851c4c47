"""Every document prseed can send is valid against GitHub's real schema, and cheap."""

import graphql
import pytest

from prseed.graphql.queries import all_queries, page_query
from prseed.streams import variants
from prseed.streams.pull_requests import CHECK_RUN_MODES, pull_requests

CONNECTIONS = {name for _, stream in variants() for name in stream.connections()}


def pull_request_page_query(check_runs: str) -> str:
    return page_query(pull_requests(check_runs))


@pytest.mark.parametrize("name", sorted(all_queries()))
def test_query_validates_against_githubs_schema(github_schema, name):
    document = graphql.parse(all_queries()[name])
    assert graphql.validate(github_schema, document) == []


def test_every_mode_has_page_and_follow_up_queries():
    names = all_queries()
    for mode in CHECK_RUN_MODES:
        for connection in ("reviews", "commits", "files", "labels", "closingIssuesReferences"):
            assert f"{connection}[{mode}]" in names
        assert f"pull_request_page[{mode}]" in names


def test_every_connection_has_a_bounded_first():
    """GitHub rejects a connection without first/last or with more than 100."""
    for text in all_queries().values():
        document = graphql.parse(text)
        for node in _fields(document):
            arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
            if node.name.value in ("pullRequests", *CONNECTIONS):
                assert "first" in arguments or "last" in arguments, node.name.value
            if "first" in arguments and isinstance(arguments["first"], graphql.language.IntValueNode):
                assert 1 <= int(arguments["first"].value) <= 100


def test_every_query_asks_for_its_cost():
    for text in all_queries().values():
        assert "rateLimit {" in text and "cost" in text


def test_check_run_modes_differ_in_what_they_ask():
    assert "headCommit" in pull_request_page_query("head")
    assert "checkSuites" not in pull_request_page_query("none")
    assert "CommitWithChecks" in pull_request_page_query("all")
    with pytest.raises(ValueError):
        pull_request_page_query("some")


def _fields(document):
    found = []

    class Visitor(graphql.Visitor):
        def enter_field(self, node, *args):
            found.append(node)

    graphql.visit(document, Visitor())
    return found
