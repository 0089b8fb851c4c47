"""Where GitHub tokens come from, and how they may be named in logs."""

from __future__ import annotations

import os

from prseed.exceptions import ConfigError


def token_label(token: str) -> str:
    """The only form of a token that may appear in logs, stats or errors."""
    return f"…{token[-4:]}"


def load_tokens(settings) -> list[str]:
    """Tokens from ``GITHUB_TOKENS`` (comma-separated) or ``GITHUB_TOKEN``, settings before
    the environment; duplicates dropped, order kept."""
    tokens: list[str] = []
    for source in (settings.get("GITHUB_TOKENS"), os.environ.get("GITHUB_TOKENS")):
        if source:
            tokens.extend(source.split(",") if isinstance(source, str) else source)
            break
    single = settings.get("GITHUB_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if not tokens and single:
        tokens = [single]
    tokens = list(dict.fromkeys(token.strip() for token in tokens if token.strip()))
    if not tokens:
        raise ConfigError(
            "no GitHub token: set GITHUB_TOKEN=ghp_… (or GITHUB_TOKENS=ghp_a,ghp_b); "
            "a classic token with no scopes or a fine-grained read-only token can read public repositories"
        )
    return tokens
