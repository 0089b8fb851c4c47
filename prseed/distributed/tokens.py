"""Token budgets, rests and pacing windows shared by every worker through Redis."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from redis.exceptions import RedisError

from prseed import config
from prseed.distributed.client import Outage, redis_server
from prseed.distributed.scripts import RECORD_BUDGET, REST, REST_UNTIL_RESET
from prseed.tokens import PACING_WINDOW, Credential, TokenPool, TokenState

TOKEN_STATE_SECONDS = 7200  # GitHub's budgets reset hourly: older shared state is stale


def token_key(prefix: str, credential_id: str) -> str:
    """A credential's key in Redis: its stable id, so that no secret reaches Redis and a
    credential whose secret is renewed keeps its budget."""
    return f"{prefix}:token:{credential_id}"


class SharedTokenPool(TokenPool):
    """A :class:`TokenPool` whose budgets, rests and pacing windows live in Redis, so
    every worker using a token sees what any of them learnt about it.

    Each decision reads the shared state first (one round trip); each lesson is written
    by a Lua script that keeps the same rules as the in-process pool. Requests in flight
    and secondary-limit strikes stay per worker.
    """

    def __init__(self, credentials: Iterable[Credential], server, prefix: str, **kwargs) -> None:
        super().__init__(credentials, **kwargs)
        self.server = server
        self.prefix = prefix
        self.keys = {state.id: token_key(prefix, state.id) for state in self.tokens}
        self._record_budget = server.register_script(RECORD_BUDGET)
        self._shared_rest = server.register_script(REST)
        self._rest_until_reset = server.register_script(REST_UNTIL_RESET)
        self.outage = Outage("each worker paces its tokens on its own meanwhile")

    @classmethod
    def from_crawler(cls, crawler, credentials: Iterable[Credential]) -> SharedTokenPool:
        settings = crawler.settings
        prefix = config.value(settings, "PRSEED_REDIS_PREFIX")
        return cls(credentials, redis_server(settings), prefix, **cls.limits(settings))

    def share(self, write, **arguments) -> None:
        try:
            write(**arguments)
        except RedisError as exc:
            self.outage.report(exc)

    def pull(self) -> None:
        """Bring every token's state up to what all workers know."""
        pipe = self.server.pipeline(transaction=False)
        for state in self.tokens:
            pipe.hgetall(self.keys[state.id])
            pipe.hgetall(self.keys[state.id] + ":points")
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

    def add(self, credential: Credential) -> TokenState:
        self.keys.setdefault(credential.id, token_key(self.prefix, credential.id))
        return super().add(credential)

    def acquire(self, ids: set[str] | None = None) -> TokenState | None:
        self.pull()
        return super().acquire(ids)

    def next_wait(self, ids: set[str] | None = None):
        self.pull()
        return super().next_wait(ids)

    def record_budget(self, state: TokenState, remaining: int, reset_at: float, limit: int | None = None):
        super().record_budget(state, remaining, reset_at, limit)
        args = [remaining, reset_at, "" if limit is None else limit, TOKEN_STATE_SECONDS]
        self.share(self._record_budget, keys=[self.keys[state.id]], args=args)

    def record_cost(self, state: TokenState, points: int) -> None:
        super().record_cost(state, points)
        key = self.keys[state.id] + ":points"
        pipe = self.server.pipeline()
        pipe.hincrby(key, int(self.clock()), points)
        pipe.expire(key, int(PACING_WINDOW * 2))
        self.share(pipe.execute)

    def rest_until_reset(self, state: TokenState, reset_at: float) -> None:
        super().rest_until_reset(state, reset_at)
        args = [state.reset_at, TOKEN_STATE_SECONDS]
        self.share(self._rest_until_reset, keys=[self.keys[state.id]], args=args)

    def _rest(self, state: TokenState, until: float, reason: str) -> None:
        super()._rest(state, until, reason)
        self.share(self._shared_rest, keys=[self.keys[state.id]], args=[until, reason, TOKEN_STATE_SECONDS])
