"""The streams prseed crawls, each declared as data (see :mod:`prseed.engine.declarations`)."""

from __future__ import annotations

from prseed.engine.declarations import Stream
from prseed.streams.deployments import deployments
from prseed.streams.issues import issues
from prseed.streams.pull_requests import CHECK_RUN_MODES, PARTS, pull_requests


def variants() -> list[tuple[str, Stream]]:
    """Every stream prseed can crawl, in each of its variants (settings choose one): each
    check-runs mode with every part of PRSEED_COLLECT, with none, and with each part alone,
    deployments with and without an environments filter, and issues."""
    return [
        *((mode, pull_requests(mode)) for mode in CHECK_RUN_MODES),
        *((f"{mode},collect=", pull_requests(mode, frozenset())) for mode in CHECK_RUN_MODES),
        *(
            (f"{mode},collect={name}", pull_requests(mode, frozenset({name})))
            for mode in CHECK_RUN_MODES
            for name in PARTS
        ),
        ("deployments", deployments()),
        ("deployments-of-environments", deployments(("production", "staging"))),
        ("issues", issues()),
    ]
