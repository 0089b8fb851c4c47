"""The token pool: which credential may send the next request, and when.

Pure bookkeeping with no I/O and no secret (a credential is known here by its id and
label only), so every rule is unit-testable with a fake clock;
:class:`prseed.middlewares.tokens.TokenPoolMiddleware` feeds it responses and waits when
it says so. The pool's class is the setting ``PRSEED_TOKEN_POOL``: a distributed crawl's
workers share theirs through Redis (:class:`prseed.distributed.SharedTokenPool`).
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from prseed import config
from prseed.tokens.credentials import Credential

PACING_WINDOW = 60.0  # seconds: GitHub's secondary limit counts points per minute


@dataclass(eq=False)
class TokenState:
    """What prseed knows of one credential (of one GitHub account)."""

    id: str
    label: str
    login: str | None = None
    limit: int | None = None
    remaining: int | None = None  # None until GitHub has told us
    reset_at: float = 0.0  # epoch seconds when the budget refills
    resting_until: float = 0.0  # epoch seconds; nothing is sent with it before
    rest_reason: str = ""
    in_flight: int = 0
    strikes: int = 0  # secondary-limit hits in a row
    window: deque = field(default_factory=deque, repr=False)  # (epoch, points) of the last minute

    def points_last_minute(self, now: float) -> int:
        while self.window and self.window[0][0] <= now - PACING_WINDOW:
            self.window.popleft()
        return sum(points for _, points in self.window)

    def budget_exhausted(self, now: float) -> bool:
        return self.remaining is not None and self.remaining <= 0 and now < self.reset_at


@dataclass(frozen=True)
class Wait:
    """Why no credential can be used now, and when the first one can."""

    until: float
    reason: str
    label: str
    budget: bool  # True when the wait is for a primary budget reset


class TokenPool:
    """The credentials in use (``tokens``, in the order given) and every one ever given
    (``states``, by id: a dropped one is still described)."""

    def __init__(
        self,
        credentials: Iterable[Credential],
        max_in_flight: int | None = None,
        points_per_minute: int | None = None,
        clock=time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.states = {
            credential.id: TokenState(credential.id, credential.label) for credential in credentials
        }
        self.tokens = list(self.states.values())
        # unless told, the limits of the table of settings (its one copy of the defaults)
        if max_in_flight is None:
            max_in_flight = config.setting("GITHUB_MAX_CONCURRENT_PER_TOKEN").default
        if points_per_minute is None:
            points_per_minute = config.setting("PRSEED_POINTS_PER_MINUTE").default
        self.max_in_flight = max_in_flight
        self.points_per_minute = points_per_minute
        self.clock = clock
        self.rng = rng or random.Random()

    @classmethod
    def from_crawler(cls, crawler, credentials: Iterable[Credential]) -> TokenPool:
        return cls(credentials, **cls.limits(crawler.settings))

    @staticmethod
    def limits(settings) -> dict:
        return {
            "max_in_flight": config.value(settings, "GITHUB_MAX_CONCURRENT_PER_TOKEN"),
            "points_per_minute": config.value(settings, "PRSEED_POINTS_PER_MINUTE"),
        }

    def usable(self, state: TokenState, now: float) -> bool:
        return (
            now >= state.resting_until
            and not state.budget_exhausted(now)
            and state.in_flight < self.max_in_flight
            and state.points_last_minute(now) < self.points_per_minute
        )

    def add(self, credential: Credential) -> TokenState:
        """A credential a provider found during the crawl (a repository's App installation)."""
        if credential.id not in self.states:
            self.states[credential.id] = TokenState(credential.id, credential.label)
            self.tokens.append(self.states[credential.id])
        return self.states[credential.id]

    def among(self, ids: set[str] | None) -> list[TokenState]:
        """The credentials in use, or those of them named by ``ids`` (None: all)."""
        return self.tokens if ids is None else [state for state in self.tokens if state.id in ids]

    def acquire(self, ids: set[str] | None = None) -> TokenState | None:
        """The usable credential (of ``ids``, if given) with the most remaining budget, now
        counted as in flight."""
        now = self.clock()
        candidates = [state for state in self.among(ids) if self.usable(state, now)]
        if not candidates:
            return None
        best = max(
            candidates,
            key=lambda state: (
                state.remaining if state.remaining is not None and now < state.reset_at else 1 << 30,
                -state.in_flight,
            ),
        )
        best.in_flight += 1
        return best

    def release(self, state: TokenState) -> None:
        state.in_flight = max(0, state.in_flight - 1)

    def next_wait(self, ids: set[str] | None = None) -> Wait | None:
        """When a credential (of ``ids``, if given) frees up by time alone, or None if only
        in-flight requests block."""
        now = self.clock()
        waits = []
        for state in self.among(ids):
            if now < state.resting_until:
                waits.append(Wait(state.resting_until, state.rest_reason, state.label, False))
            elif state.budget_exhausted(now):
                waits.append(Wait(state.reset_at, "primary rate limit", state.label, True))
            elif state.points_last_minute(now) >= self.points_per_minute:
                waits.append(Wait(state.window[0][0] + PACING_WINDOW, "pacing", state.label, False))
            else:
                return None
        return min(waits, key=lambda wait: wait.until) if waits else None

    def record_budget(self, state: TokenState, remaining: int, reset_at: float, limit: int | None = None):
        """Take GitHub's word for the budget; answers may arrive out of order, so a
        higher ``remaining`` counts only when it comes with a later reset. A limit of 0 is
        GitHub Enterprise Server with rate limits off: "0 of 0 left" is no budget to wait
        for (pacing still applies)."""
        if limit is not None:
            state.limit = limit
        if limit == 0:
            state.remaining = None
            return
        if state.remaining is None or reset_at > state.reset_at + 1:
            state.remaining, state.reset_at = remaining, reset_at
        else:
            state.remaining = min(state.remaining, remaining)
            state.reset_at = max(state.reset_at, reset_at)

    def record_cost(self, state: TokenState, points: int) -> None:
        state.window.append((self.clock(), points))
        state.strikes = 0

    def rest_secondary(self, state: TokenState, retry_after: float | None) -> float:
        """Rest a credential after a secondary limit: exactly ``Retry-After`` seconds when
        GitHub says, else 60 s doubling on each repeat, with jitter. Returns the rest in seconds."""
        state.strikes += 1
        if retry_after is None:
            seconds = 60.0 * 2 ** (state.strikes - 1) * self.rng.uniform(1.0, 1.25)
        else:
            seconds = retry_after
        self._rest(state, self.clock() + seconds, "secondary rate limit")
        return seconds

    def rest_until_reset(self, state: TokenState, reset_at: float) -> None:
        """GitHub's reset time is a whole second: wait one more, never less."""
        state.remaining = 0
        state.reset_at = max(reset_at + 1, self.clock() + 1)

    def _rest(self, state: TokenState, until: float, reason: str) -> None:
        if until > state.resting_until:
            state.resting_until, state.rest_reason = until, reason

    def drop(self, state: TokenState) -> None:
        if state in self.tokens:
            self.tokens.remove(state)
