"""A fake GitHub GraphQL API and the generated data it serves, for prseed's tests.

Typical use in a test::

    dataset = generate_dataset({"acme/widgets": 60}, seed=7)
    with FakeGitHub(dataset, tokens={"token-a": "alice"}) as github:
        crawl(github.url, ...)
    assert github.requests_for("PullRequestPage")

Run ``python -m tests.fakegithub --help`` for a standalone server.
"""

from .data import FILES_CAP, SPECIAL_PULL_REQUESTS, Dataset, PullRequest, generate_dataset
from .server import FAULT_KINDS, FakeGitHub, RequestRecord

__all__ = [
    "FAULT_KINDS",
    "FILES_CAP",
    "SPECIAL_PULL_REQUESTS",
    "Dataset",
    "FakeGitHub",
    "PullRequest",
    "RequestRecord",
    "generate_dataset",
]
