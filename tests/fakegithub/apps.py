"""A GitHub App for the fake server: its REST endpoints and the installation tokens they sell.

``FakeApp`` holds the App's public key (JWTs are verified with it, as GitHub does), its
installations and the repositories each covers, and the tokens it issued, which expire
``token_seconds`` after issue on the App's own clock (``clock``, settable) — or, to test a
refusal, already ``valid_seconds`` after issue whatever ``expires_at`` said.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakegithub.data import iso

REST_PREFIXES = ("/api/v3", "")  # GitHub Enterprise Server's REST base, then github.com's
ACCESS_TOKENS = re.compile(r"^/app/installations/(?P<installation>\d+)/access_tokens$")
REPOSITORY_INSTALLATION = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/installation$")
JWT_MAX_LIFETIME = 600
CLOCK_DRIFT = 60  # seconds of drift GitHub forgives an iat in the future


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@dataclass
class IssuedToken:
    installation: str
    issued_at: float
    expires_at: float  # what the answer said (whole seconds)
    valid_until: float  # when the App stops taking it


@dataclass
class FakeApp:
    """``installations`` maps an installation id to the repositories (``owner/name``) it covers."""

    app_id: str
    public_key: Any
    installations: dict[str, set[str]]
    token_seconds: float = 3600
    valid_seconds: float | None = None  # None: valid until it expires
    clock: Any = time.time
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    jwts_refused: int = 0
    expired_tokens: set = field(default_factory=set)  # tokens that signed a request past their expiry
    jwts: list[str] = field(default_factory=list)  # every JWT seen (for the secret scans)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def with_key(cls, app_id: str, installations: dict[str, set[str]], **options: Any):
        """An App with a new key pair: (the App, its private key in PEM form)."""
        private_key = generate_private_key()
        return cls(app_id, private_key.public_key(), installations, **options), pem(private_key)

    def login(self, installation: str) -> str:
        """The account whose budget an installation's token spends: the installation's own."""
        return f"installation-{installation}"

    def logins(self) -> list[str]:
        return [self.login(installation) for installation in self.installations]

    def login_of(self, token: str | None) -> str | None:
        """The installation login of a token this App issued (None when it is not one of
        its tokens, or no longer valid: then kept in ``expired_tokens``)."""
        with self._lock:
            issued = self.tokens.get(token)
            if issued is None:
                return None
            if self.clock() >= issued.valid_until:
                self.expired_tokens.add(token)
                return None
        return self.login(issued.installation)

    def answer(self, method: str, path: str, authorization: str | None) -> tuple[int, dict] | None:
        """The REST answer to ``method path``, or None when it is no route of the App's."""
        route = next((path[len(prefix) :] for prefix in REST_PREFIXES if path.startswith(prefix + "/")), None)
        if route is None:
            return None
        tokens = ACCESS_TOKENS.match(route)
        repository = REPOSITORY_INSTALLATION.match(route)
        if not (method == "POST" and tokens) and not (method == "GET" and repository):
            return None
        if not self.verify(authorization):
            return 401, {"message": "A JSON web token could not be decoded"}
        if tokens:
            return self.issue(tokens["installation"])
        full_name = f"{repository['owner']}/{repository['name']}"
        for installation, repositories in self.installations.items():
            if full_name in repositories:
                return 200, {"id": int(installation), "app_id": int(self.app_id)}
        return 404, {"message": "Not Found"}

    def verify(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            self.jwts_refused += 1
            return False
        self.jwts.append(token)
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            self.jwts_refused += 1
            return False
        now = self.clock()
        valid = (
            str(claims["iss"]) == self.app_id
            and claims["iat"] <= now + CLOCK_DRIFT
            and now < claims["exp"]
            and claims["exp"] - claims["iat"] <= JWT_MAX_LIFETIME
        )
        self.jwts_refused += not valid
        return valid

    def issue(self, installation: str) -> tuple[int, dict]:
        if installation not in self.installations:
            return 404, {"message": "Not Found"}
        now = self.clock()
        expires_at = float(int(now + self.token_seconds))
        valid_until = expires_at if self.valid_seconds is None else now + self.valid_seconds
        token = "ghs_" + secrets.token_hex(18)
        with self._lock:
            self.tokens[token] = IssuedToken(installation, now, expires_at, valid_until)
        return 201, {
            "token": token,
            "expires_at": iso(int(expires_at)),
            "permissions": {"pull_requests": "read", "contents": "read", "metadata": "read"},
            "repository_selection": "selected",
        }
