"""Where credentials come from: a provider hands the token pool its credentials and renews
a credential's secret when the credential says it is due."""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from prseed.exceptions import ConfigError
from prseed.tokens.apps import AppInstallations, GitHubApp
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

    async def credentials_for(self, repository: str | None) -> list[Credential] | None:
        """The credentials that may sign a request for ``repository`` (``owner/name``, or
        None for a request of no repository), new ones included; None: any of them. An
        App installation reads only the repositories it is installed on."""


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
        return cls(cls.configured(settings))

    @staticmethod
    def configured(settings) -> list[str]:
        """The tokens of the settings (or the environment), perhaps none."""
        tokens: list[str] = []
        for source in (settings.get("GITHUB_TOKENS"), os.environ.get("GITHUB_TOKENS")):
            if source:
                tokens.extend(source.split(",") if isinstance(source, str) else source)
                break
        single = settings.get("GITHUB_TOKEN") or os.environ.get("GITHUB_TOKEN")
        if not tokens and single:
            tokens = [single]
        return list(dict.fromkeys(token.strip() for token in tokens if token.strip()))

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

    async def credentials_for(self, repository: str | None) -> list[Credential] | None:
        """A personal token reads any public repository."""
        return None


class CombinedProviders:
    """Several providers' credentials in one pool (personal tokens and an App's
    installations): each credential is renewed by the provider that made it."""

    def __init__(self, providers: list[CredentialProvider]) -> None:
        self.providers = providers
        self.owner: dict[str, CredentialProvider] = {}
        self.given: dict[int, list[Credential]] = {}  # each provider's credentials, by its index

    def credentials(self) -> list[Credential]:
        for index, provider in enumerate(self.providers):
            self.given[index] = provider.credentials()
            self.owner.update((credential.id, provider) for credential in self.given[index])
        return [credential for index in sorted(self.given) for credential in self.given[index]]

    async def renew(self, credential: Credential) -> None:
        await self.owner[credential.id].renew(credential)

    async def credentials_for(self, repository: str | None) -> list[Credential] | None:
        allowed, limited = [], False
        for index, provider in enumerate(self.providers):
            answer = await provider.credentials_for(repository)
            if answer is None:
                allowed.extend(self.given.get(index, []))
                continue
            limited = True
            for credential in answer:
                self.owner.setdefault(credential.id, provider)
                allowed.append(credential)
        return allowed if limited else None


def configured_provider(crawler) -> CredentialProvider:
    """The provider the settings choose: ``GITHUB_TOKEN(S)``, a GitHub App
    (``GITHUB_APP_ID``), or both in one pool."""
    settings = crawler.settings
    app = GitHubApp.from_settings(settings)
    tokens = StaticTokens.configured(settings)
    if app is None:
        return StaticTokens(tokens)
    installations = AppInstallations.from_crawler(crawler, app)
    return CombinedProviders([StaticTokens(tokens), installations]) if tokens else installations


def check_credential_settings(settings) -> None:
    """A ConfigError when the settings give no credential, or an App key that cannot be
    read or parsed (preflight: before any request)."""
    if GitHubApp.from_settings(settings) is None:
        StaticTokens.from_settings(settings)
