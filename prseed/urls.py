"""URLs as prseed shows them: never with a password (database, Redis, proxy and GHES URLs
may carry one), and still readable when too malformed to parse."""

from __future__ import annotations

import re

# Up to the last "@": a password may hold an unescaped "@", and none of it may show.
_PASSWORD = re.compile(r"(://[^:/@]*:).*@")


def without_password(url: str) -> str:
    """``url`` with the password in its user-info replaced by ``***``; the user name stays
    (it says which account connects)."""
    return _PASSWORD.sub(r"\1***@", url)
