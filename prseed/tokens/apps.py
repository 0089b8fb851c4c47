"""GitHub App installations as credentials (README: "Tokens and rate limits").

An App signs a short JWT (RS256, with its private key) and buys with it an installation
token that lasts an hour; the token signs GraphQL requests like a personal token. Each
installation is one credential, with its own budget, whose secret is renewed ahead of its
expiry. The key, the JWTs and the tokens never leave this module but as a request's
``Authorization`` header: the REST calls are ``dont_cache`` and never logged with headers.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from prseed import config, timestamps
from prseed.exceptions import ConfigError
from prseed.tokens.credentials import Credential

JWT_BACKDATE = 60  # seconds: iat this far in the past, against clock drift (GitHub's advice)
JWT_LIFETIME = 540  # seconds after now: exp is 10 minutes after iat, GitHub's maximum
ACCEPT = "application/vnd.github+json"
API_VERSION = "2022-11-28"


class RenewalFailed(Exception):
    """GitHub would not give an installation a token (the text names no secret)."""


def configured(settings, name: str) -> str | None:
    """A secret setting: the setting, else the environment variable of the same name."""
    value = settings.get(name) or os.environ.get(name)
    if value is None:
        return None
    return str(value).strip() or None


class GitHubApp:
    """An App: its id and private key, and the JWTs it signs with them."""

    def __init__(self, app_id: str, private_key: rsa.RSAPrivateKey, clock=time.time) -> None:
        self.app_id = app_id
        self.private_key = private_key
        self.clock = clock

    @classmethod
    def from_settings(cls, settings) -> GitHubApp | None:
        """The App of ``GITHUB_APP_ID`` and ``GITHUB_APP_PRIVATE_KEY`` (None without an
        App id); a ConfigError for a key that cannot be read or parsed, naming the file only."""
        app_id = configured(settings, "GITHUB_APP_ID")
        if app_id is None:
            return None
        path = configured(settings, "GITHUB_APP_PRIVATE_KEY")
        if path is None:
            raise ConfigError(
                "GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY is not: set it to the path of "
                "the App's private key (the .pem file GitHub let you download)"
            )
        return cls(app_id, read_private_key(path))

    def token(self) -> str:
        """A JWT that authenticates as the App for the next nine minutes."""
        now = int(self.clock())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": self.app_id}
        return jwt.encode(claims, self.private_key, algorithm="RS256")


def read_private_key(path: str) -> rsa.RSAPrivateKey:
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"GITHUB_APP_PRIVATE_KEY: cannot read {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            f"GITHUB_APP_PRIVATE_KEY: {path} is not an RSA private key in PEM form "
            "(-----BEGIN RSA PRIVATE KEY-----, as GitHub gives it)"
        )
    return key


class AppInstallations:
    """The credentials of one App's installations.

    With ``GITHUB_APP_INSTALLATION_ID`` there is one, known from the start. Without, a
    repository's installation is asked of GitHub (``GET /repos/{owner}/{repo}/installation``)
    the first time a request for it is signed, once per repository, and becomes a credential
    then; a request for a repository no installation covers can use only personal tokens.

    A credential is due ``PRSEED_APP_TOKEN_REFRESH_AHEAD`` seconds before its token
    expires (and at once after GitHub answered 401 to it); :meth:`renew` buys a token with
    a fresh JWT through Scrapy's downloader, so the reactor never waits on it.
    """

    def __init__(
        self,
        app: GitHubApp,
        crawler,
        api_url: str,
        installation_id: str | None = None,
        refresh_ahead: float = 300.0,
    ) -> None:
        self.app = app
        self.crawler = crawler
        self.api_url = api_url.rstrip("/")
        self.refresh_ahead = refresh_ahead
        self.installations: dict[str, Credential] = {}  # by installation id
        self.installation_of: dict[str, str | None] = {}  # repository -> installation id
        self.lookups: dict[str, list[Deferred]] = {}  # repository -> waiters of its lookup
        self.fixed = installation_id is not None
        if installation_id is not None:
            self.installation(installation_id)

    @classmethod
    def from_crawler(cls, crawler, app: GitHubApp) -> AppInstallations:
        settings = crawler.settings
        return cls(
            app,
            crawler,
            config.value(settings, "GITHUB_API_URL"),
            config.value(settings, "GITHUB_APP_INSTALLATION_ID"),
            config.value(settings, "PRSEED_APP_TOKEN_REFRESH_AHEAD"),
        )

    def installation(self, installation_id: str) -> Credential:
        """The credential of an installation (made on first sight, due at once)."""
        if installation_id not in self.installations:
            self.installations[installation_id] = Credential(
                f"app-{self.app.app_id}-installation-{installation_id}",
                f"app {self.app.app_id} installation {installation_id}",
                "",
                renew_at=0.0,
                installation=installation_id,
            )
        return self.installations[installation_id]

    def credentials(self) -> list[Credential]:
        return list(self.installations.values())

    async def credentials_for(self, repository: str | None) -> list[Credential] | None:
        if self.fixed:
            return None
        if repository is None:
            return self.credentials()
        if repository not in self.installation_of:
            await self.look_up(repository)
        installation_id = self.installation_of.get(repository)
        return [] if installation_id is None else [self.installation(installation_id)]

    async def look_up(self, repository: str) -> None:
        """Ask GitHub which installation covers ``repository``, once however many ask."""
        if repository in self.lookups:
            waiter = Deferred()
            self.lookups[repository].append(waiter)
            await maybe_deferred_to_future(waiter)
            return
        self.lookups[repository] = []
        try:
            status, payload = await self.rest("GET", f"/repos/{repository}/installation")
            found = payload.get("id") if status == 200 else None
            self.installation_of[repository] = str(found) if found is not None else None
            outcome = "installations_found" if found is not None else "repositories_not_installed"
            self.crawler.stats.inc_value(f"prseed/ratelimit/{outcome}")
        finally:  # a lookup that failed (the network) is asked again by the next request
            for waiter in self.lookups.pop(repository):
                waiter.callback(None)

    async def renew(self, credential: Credential) -> None:
        path = f"/app/installations/{credential.installation}/access_tokens"
        status, payload = await self.rest("POST", path)
        token, expires_at = payload.get("token"), payload.get("expires_at")
        if status != 201 or not isinstance(token, str) or not isinstance(expires_at, str):
            raise RenewalFailed(
                f"GitHub answered {status} to a token request for installation {credential.installation}"
                + (f": {payload['message']}" if isinstance(payload.get("message"), str) else "")
            )
        credential.replace_secret(token, timestamps.epoch(expires_at) - self.refresh_ahead)

    async def rest(self, method: str, path: str) -> tuple[int, dict]:
        """One REST call as the App (a fresh JWT), through Scrapy's downloader, never cached."""
        request = Request(
            self.api_url + path,
            method=method,
            headers={
                "Authorization": f"Bearer {self.app.token()}",
                "Accept": ACCEPT,
                "X-GitHub-Api-Version": API_VERSION,
            },
            meta={"dont_cache": True, "handle_httpstatus_all": True},
            dont_filter=True,
        )
        response = await self.crawler.engine.download_async(request)
        request.headers.pop("Authorization", None)
        try:
            payload = json.loads(response.body)
        except ValueError:
            payload = {}
        return response.status, payload if isinstance(payload, dict) else {}
