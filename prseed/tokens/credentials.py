"""A credential: what signs a GitHub request, known by an id that reveals nothing of it."""

from __future__ import annotations


def token_label(secret: str) -> str:
    """The only form of a secret that may appear in logs, stats or errors."""
    return f"…{secret[-4:]}"


class Credential:
    """One identity prseed sends requests as: a personal token, or (the production-sync
    issue) a GitHub App installation whose token changes every hour.

    ``id`` stays the same for the credential's life whatever its secret becomes, so the
    token pool, request meta (:data:`prseed.meta.TOKEN`) and Redis know a credential by
    it; ``label`` names it in messages and stats. Neither shows more of a secret than its
    last four characters. The secret itself leaves only as :meth:`authorization`, at
    download time; a credential cannot be pickled (into JOBDIR, or a request in Redis).
    """

    __slots__ = ("_secret", "generation", "id", "installation", "label", "renew_at")

    def __init__(
        self,
        id: str,
        label: str,
        secret: str,
        renew_at: float | None = None,
        installation: str | None = None,
    ) -> None:
        self.id = id
        self.label = label
        self._secret = secret
        self.renew_at = renew_at  # epoch seconds from which it needs a fresh secret; None: never
        # The GitHub App installation it signs as (its budget is the installation's own, and
        # there is no account to check); None: a personal token.
        self.installation = installation
        self.generation = 0  # how many times its secret was replaced: which secret signed a request

    def authorization(self) -> str:
        """The value of the ``Authorization`` header."""
        return f"bearer {self._secret}"

    def replace_secret(self, secret: str, renew_at: float | None = None) -> None:
        """A provider's renewal: from now on requests are signed with ``secret``."""
        self._secret, self.renew_at = secret, renew_at
        self.generation += 1

    @property
    def renewable(self) -> bool:
        """Whether its provider can give it a fresh secret (a static token cannot)."""
        return self.renew_at is not None

    def expire(self) -> None:
        """GitHub refused its secret (a 401): due for renewal at once."""
        if self.renewable:
            self.renew_at = 0.0

    def due(self, now: float) -> bool:
        """Whether its provider must renew it before it signs another request."""
        return self.renew_at is not None and now >= self.renew_at

    def __repr__(self) -> str:
        return f"Credential(id={self.id!r}, label={self.label!r})"

    def __reduce__(self):
        raise TypeError(f"credential {self.label} holds a secret and is never pickled")
