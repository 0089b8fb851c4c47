"""Token budgets, rests and pacing windows shared by every worker through Redis."""

from __future__ import annotations

import hashlib
from collections import deque

from redis.exceptions import RedisError

from prseed.distributed.client import Outage
from prseed.distributed.scripts import RECORD_BUDGET, REST, REST_UNTIL_RESET
from prseed.ratelimit import PACING_WINDOW, TokenPool, TokenState

TOKEN_STATE_SECONDS = 7200  # GitHub's budgets reset hourly: older shared state is stale


def token_key(prefix: str, token: str) -> str:
    """A token's key in Redis: a digest, so the token itself never reaches Redis."""
    return f"{prefix}:token:{hashlib.sha256(token.encode()).hexdigest()[:20]}"


class SharedTokenPool(TokenPool):
    """A :class:`TokenPool` whose budgets, rests and pacing windows live in Redis, so
    every worker using a token sees what any of them learnt about it.

    Each decision reads the shared state first (one round trip); each lesson is written
    by a Lua script that keeps the same rules as the in-process pool. Requests in flight
    and secondary-limit strikes stay per worker.
    """

    def __init__(self, tokens: list[str], server, prefix: str, **kwargs) -> None:
        super().__init__(tokens, **kwargs)
        self.server = server
        self.keys = {state.label: token_key(prefix, state.token) for state in self.tokens}
        self._record_budget = server.register_script(RECORD_BUDGET)
        self._shared_rest = server.register_script(REST)
        self._rest_until_reset = server.register_script(REST_UNTIL_RESET)
        self.outage = Outage("each worker paces its tokens on its own meanwhile")

    def share(self, write, **arguments) -> None:
        try:
            write(**arguments)
        except RedisError as exc:
            self.outage.report(exc)

    def pull(self) -> None:
        """Bring every token's state up to what all workers know."""
        pipe = self.server.pipeline(transaction=False)
        for state in self.tokens:
            pipe.hgetall(self.keys[state.label])
            pipe.hgetall(self.keys[state.label] + ":points")
        try:
            answers = pipe.execute()
        except RedisError as exc:
            self.outage.report(exc)
            return
        horizon = self.clock() - PACING_WINDOW
        for state, shared, points in zip(self.tokens, answers[::2], answers[1::2], strict=True):
            shared = {key.decode(): value.decode() for key, value in shared.items()}
            if "remaining" in shared:
                state.remaining = int(float(shared["remaining"]))
                state.reset_at = float(shared["reset_at"])
            if "limit" in shared:
                state.limit = int(shared["limit"])
            if "resting_until" in shared:
                state.resting_until = float(shared["resting_until"])
                state.rest_reason = shared["rest_reason"]
            state.window = deque(
                sorted(
                    (float(second), int(spent)) for second, spent in points.items() if float(second) > horizon
                )
            )

    def acquire(self) -> TokenState | None:
        self.pull()
        return super().acquire()

    def next_wait(self):
        self.pull()
        return super().next_wait()

    def record_budget(self, state: TokenState, remaining: int, reset_at: float, limit: int | None = None):
        super().record_budget(state, remaining, reset_at, limit)
        args = [remaining, reset_at, "" if limit is None else limit, TOKEN_STATE_SECONDS]
        self.share(self._record_budget, keys=[self.keys[state.label]], args=args)

    def record_cost(self, state: TokenState, points: int) -> None:
        super().record_cost(state, points)
        key = self.keys[state.label] + ":points"
        pipe = self.server.pipeline()
        pipe.hincrby(key, int(self.clock()), points)
        pipe.expire(key, int(PACING_WINDOW * 2))
        self.share(pipe.execute)

    def rest_until_reset(self, state: TokenState, reset_at: float) -> None:
        super().rest_until_reset(state, reset_at)
        args = [state.reset_at, TOKEN_STATE_SECONDS]
        self.share(self._rest_until_reset, keys=[self.keys[state.label]], args=args)

    def _rest(self, state: TokenState, until: float, reason: str) -> None:
        super()._rest(state, until, reason)
        self.share(
            self._shared_rest, keys=[self.keys[state.label]], args=[until, reason, TOKEN_STATE_SECONDS]
        )
