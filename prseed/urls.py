"""URLs as prseed shows them: never with a password (database, Redis, proxy and GHES URLs
may carry one), and still readable when too malformed to parse."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def without_password(url: str) -> str:
    """``url`` with the password in its user-info replaced by ``***``; the user name stays."""
    return _PASSWORD.sub(r"\1***@", url)
