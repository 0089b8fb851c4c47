"""GitHub credentials and the pool that spends their budgets (README: "Tokens and rate limits").

* :mod:`~prseed.tokens.credentials`: a :class:`Credential`, with a stable id and a label
  that reveal nothing of its secret;
* :mod:`~prseed.tokens.providers`: where credentials come from (the
  :class:`CredentialProvider` protocol; :class:`StaticTokens`, the ``GITHUB_TOKEN(S)``
  settings; both kinds in one pool, as the settings choose);
* :mod:`~prseed.tokens.apps`: a GitHub App's installations (``GITHUB_APP_ID``), whose
  tokens expire every hour;
* :mod:`~prseed.tokens.pool`: the pool's policy (budgets, rests, pacing), pure, on an
  injectable clock.

The Scrapy component that signs requests with them is
:class:`prseed.middlewares.tokens.TokenPoolMiddleware`; the pool workers share through
Redis is :class:`prseed.distributed.SharedTokenPool`.
"""

from prseed.tokens.credentials import Credential, token_label
from prseed.tokens.pool import PACING_WINDOW, TokenPool, TokenState, Wait
from prseed.tokens.providers import (
    CombinedProviders,
    CredentialProvider,
    StaticTokens,
    check_credential_settings,
    configured_provider,
)

__all__ = [
    "PACING_WINDOW",
    "CombinedProviders",
    "Credential",
    "CredentialProvider",
    "StaticTokens",
    "TokenPool",
    "TokenState",
    "Wait",
    "check_credential_settings",
    "configured_provider",
    "token_label",
]
