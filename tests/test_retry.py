"""How a retry is described and when it makes a page query lighter."""

from __future__ import annotations

import pytest
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError, DownloadTimeoutError
from scrapy.http import JsonRequest

from prseed.middlewares.retry import BackoffRetryMiddleware, retry_cause


@pytest.mark.parametrize(
    "reason, heavy",
    [
        ("502 Bad Gateway", True),
        ("503 Service Unavailable", False),
        (DownloadTimeoutError(), True),
        (DownloadTimeoutError, True),
        (DownloadConnectionRefusedError(), False),
    ],
)
def test_a_timeout_or_a_502_504_makes_the_query_lighter(reason, heavy):
    assert BackoffRetryMiddleware.query_too_heavy(reason) is heavy


def test_the_cause_names_the_endpoint_and_the_failure_in_a_few_words():
    request = JsonRequest("http://127.0.0.1:9/graphql", data={}, meta={"prseed_check_token": 0})
    assert retry_cause(request, DownloadConnectionRefusedError("111: Connection refused.")) == (
        "cannot reach GitHub at http://127.0.0.1:9/graphql: connection refused"
    )
    assert retry_cause(request, CannotResolveHostError("no results")).endswith(
        "unknown host (DNS lookup failed)"
    )
    assert (
        retry_cause(request, "503 Service Unavailable")
        == "GitHub answered 503 Service Unavailable to the token check"
    )
    page = JsonRequest(
        "http://127.0.0.1:9/graphql",
        data={},
        meta={"prseed_operation": "PullRequestPage", "prseed_repository": "a/b"},
    )
    assert retry_cause(page, "502 Bad Gateway") == "GitHub answered 502 Bad Gateway to PullRequestPage of a/b"
