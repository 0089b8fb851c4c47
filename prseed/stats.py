"""Stat keys of one repository's figures (``prseed/repo/OWNER/NAME/…``)."""

from __future__ import annotations

from prseed import meta


def repository_key(repository: str, name: str) -> str:
    """The key of a repository's figure; a request of no repository has none."""
    if not isinstance(repository, str) or not repository:
        raise ValueError(f"no repository for the stat {name!r}: {repository!r}")
    return f"prseed/repo/{repository}/{name}"


def inc_repository_value(stats, request, name: str, count: float = 1) -> None:
    """Add ``count`` to the figure of the request's repository (``prseed_repository`` in
    meta); a request of no repository (the token check at start) counts in no repository."""
    repository = request.meta.get(meta.REPOSITORY)
    if repository is not None:
        stats.inc_value(repository_key(repository, name), count)
