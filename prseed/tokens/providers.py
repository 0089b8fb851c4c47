"""Where credentials come from: a provider hands the token pool its credentials and renews
a credential's secret when the credential says it is due."""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from prseed.exceptions import ConfigError
from prseed.tokens.credentials import Credential, token_label

NO_TOKEN = (
    "no GitHub token: set GITHUB_TOKEN=ghp_… (or GITHUB_TOKENS=ghp_a,ghp_b); "
    "a classic token with no scopes or a fine-grained read-only token can read public repositories"
)


@runtime_checkable
class CredentialProvider(Protocol):
    """What the token pool middleware asks of a source of credentials."""

    def credentials(self) -> list[Credential]:
        """Every credential to use, each with its own ``id``; asked once, when the crawl opens."""

    async def renew(self, credential: Credential) -> None:
        """Give ``credential`` a fresh secret (:meth:`Credential.replace_secret`). Called when
        ``credential.due()``, before it signs a request, never twice at once for one
        credential. It runs on the reactor: await, never block. Raising means the credential
        cannot be renewed, and the pool stops using it (the exception's text is logged: it
        must hold no secret)."""


class StaticTokens:
    """Tokens that never change: ``GITHUB_TOKENS`` (comma-separated, or a list) or else
    ``GITHUB_TOKEN``, each read from the settings before the environment; duplicates
    dropped, order kept.

    A token's id is ``token-`` and its last four characters (its label shows the same), so
    every worker of a distributed crawl names a token alike whatever order its list has;
    two tokens of one list ending alike get ``-2``, ``-3`` in the order given.
    """

    def __init__(self, tokens: list[str]) -> None:
        if not tokens:
            raise ConfigError(NO_TOKEN)
        self.tokens = tokens

    @classmethod
    def from_settings(cls, settings) -> StaticTokens:
        """The tokens a crawl is given (a ConfigError saying how to give one, if none)."""
        tokens: list[str] = []
        for source in (settings.get("GITHUB_TOKENS"), os.environ.get("GITHUB_TOKENS")):
            if source:
                tokens.extend(source.split(",") if isinstance(source, str) else source)
                break
        single = settings.get("GITHUB_TOKEN") or os.environ.get("GITHUB_TOKEN")
        if not tokens and single:
            tokens = [single]
        return cls(list(dict.fromkeys(token.strip() for token in tokens if token.strip())))

    def credentials(self) -> list[Credential]:
        credentials, seen = [], {}
        for token in self.tokens:
            id = f"token-{token[-4:]}"
            seen[id] = seen.get(id, 0) + 1
            if seen[id] > 1:
                id = f"{id}-{seen[id]}"
            credentials.append(Credential(id, token_label(token), token))
        return credentials

    async def renew(self, credential: Credential) -> None:
        """A static token is never due: nothing to renew."""
