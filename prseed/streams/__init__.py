"""The streams prseed crawls, each declared as data (see :mod:`prseed.engine.declarations`)."""

from __future__ import annotations

from prseed.engine.declarations import Stream
from prseed.streams.pull_requests import CHECK_RUN_MODES, PARTS, pull_requests


def variants() -> list[tuple[str, Stream]]:
    """Every stream prseed can crawl, in each of its variants (settings choose one): every
    check-runs mode with every part of ``PRSEED_COLLECT``, with none, and with each alone."""
    found = [(mode, pull_requests(mode)) for mode in CHECK_RUN_MODES]
    found += [(f"{mode},collect=", pull_requests(mode, frozenset())) for mode in CHECK_RUN_MODES]
    found += [(f"head,collect={name}", pull_requests("head", frozenset({name}))) for name in PARTS]
    return found
