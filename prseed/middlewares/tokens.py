"""Give each GitHub API request the best token, obey every rate limit, wait without blocking."""

from __future__ import annotations

import logging
import time

from scrapy import signals
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import JsonRequest, Request
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import build_from_crawler

from prseed import config, meta, outcome, timestamps
from prseed.alarm import Alarm
from prseed.exceptions import off
from prseed.graphql.queries import TOKEN_CHECK_QUERY
from prseed.middlewares.retry import network_cause
from prseed.tokens import Credential, CredentialProvider, TokenState, Wait, configured_provider

logger = logging.getLogger(__name__)

COUNTDOWN_EVERY = 30.0  # seconds between "still waiting" lines
STOP_CHECK_EVERY = 1.0  # a waiting request notices a stopping crawl this soon
PRIMARY_ERROR_TYPES = {"RATE_LIMITED", "RATE_LIMIT"}  # GitHub has used both


def parsed_body(response) -> dict:
    try:
        payload = response.json()
    except (ValueError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def is_secondary_limit(response, payload: dict) -> bool:
    message = str(payload.get("message", "")) + " ".join(
        str(error.get("message", "")) for error in payload.get("errors") or [] if isinstance(error, dict)
    )
    if "secondary rate limit" in message.lower():
        return True
    return response.status in (403, 429) and b"Retry-After" in response.headers


def is_primary_limit(response, payload: dict) -> bool:
    """A used-up budget; never "0 of 0 left", GitHub Enterprise Server's word for no limits."""
    headers = response.headers
    if (
        response.status in (403, 429)
        and headers.get(b"X-RateLimit-Remaining") == b"0"
        and headers.get(b"X-RateLimit-Limit") != b"0"
    ):
        return True
    return any(
        isinstance(error, dict) and error.get("type") in PRIMARY_ERROR_TYPES
        for error in payload.get("errors") or []
    )


class TokenPoolMiddleware:
    """Signs every request to ``GITHUB_GRAPHQL_URL`` at download time with the usable
    credential that has the most budget left, and strips the ``Authorization`` header as
    soon as the download is over, so a secret is never in a request that is retried
    (Scrapy copies headers), cached, or pickled into JOBDIR. A request to any other URL is
    left alone: a secret goes to GitHub's endpoint only.

    * Credentials come from a :class:`~prseed.tokens.CredentialProvider` (``GITHUB_TOKEN(S)``:
      :class:`~prseed.tokens.StaticTokens`; a GitHub App's installations; or both); one that
      is due is renewed before it signs. A request for a repository is signed only by a
      credential that may read it (an installation reads the repositories it is installed on).
    * At spider open every token is checked once (``viewer { login }``): one answered
      401 is dropped; tokens of the same account share one budget, so only the first is kept.
      An installation is renewed instead (its budget is its own).
    * A 401 to a renewable credential renews it and sends the request again; only a 401 to
      the secret that renewal gave drops it.
    * The pool, of class ``PRSEED_TOKEN_POOL``, decides: at most
      ``GITHUB_MAX_CONCURRENT_PER_TOKEN`` requests in flight per credential, and at most
      ``PRSEED_POINTS_PER_MINUTE`` points per credential per minute (GitHub's secondary
      limit is 2,000). A worker of a distributed crawl shares it through Redis.
    * A secondary limit rests the credential for ``Retry-After`` seconds; a primary limit
      rests it until the budget resets; the request goes to another one or waits for one.
    * Waits are non-blocking sleeps; with ``PRSEED_RATELIMIT_WAIT = False`` an exhausted budget
      stops the crawl instead, saying when it resets.

    Request meta names the credential by its id (:data:`prseed.meta.TOKEN`). Runs after the
    HTTP cache's ``process_request`` (a cache hit needs no token) and before every other
    ``process_response``. Replayed responses do not touch any budget.
    """

    def __init__(self, crawler, provider: CredentialProvider) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.endpoint = config.value(settings, "GITHUB_GRAPHQL_URL")
        self.signed_url = Request(self.endpoint).url  # as Scrapy writes a request's URL
        self.wait_enabled = config.value(settings, "PRSEED_RATELIMIT_WAIT")
        self.provider = provider
        self.credentials: dict[str, Credential] = {
            credential.id: credential for credential in provider.credentials()
        }
        pool_class = config.value(settings, "PRSEED_TOKEN_POOL")
        self.pool = build_from_crawler(pool_class, crawler, list(self.credentials.values()))
        self.renewing: set[str] = set()  # ids of the credentials being renewed now
        self.rejected: list[str] = []  # labels of the credentials GitHub answered 401
        # credential id -> the generation of its secret bought because GitHub refused the one before
        self.renewed_after_refusal: dict[str, int] = {}
        self.token_released = Alarm()  # waiting requests sleep on it
        self.wait_started: float | None = None
        self.last_countdown = 0.0
        self.stopping = False
        crawler.signals.connect(self.check_tokens, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler):
        if config.value(crawler.settings, "PRSEED_OFFLINE"):
            raise off(cls, "offline replay needs no token")
        return cls(crawler, configured_provider(crawler))

    @property
    def all_tokens(self) -> list[TokenState]:
        """Every credential's state, in the order given, dropped ones too."""
        return list(self.pool.states.values())

    # --- what the progress log and the JSON-RPC service show ---------------------------

    def describe(self) -> list[dict]:
        """Every credential as its label and budget: never a secret."""
        now = time.time()
        described = []
        for state in self.all_tokens:
            resting = state.resting_until > now
            described.append(
                {
                    "token": state.label,
                    "login": state.login,
                    "in_use": state in self.pool.tokens,
                    "remaining": state.remaining,
                    "limit": state.limit,
                    "resets_at": timestamps.from_epoch(state.reset_at) if state.reset_at else None,
                    "resting_until": timestamps.from_epoch(state.resting_until) if resting else None,
                    "rest_reason": state.rest_reason if resting else None,
                    "in_flight": state.in_flight,
                }
            )
        return described

    def waiting(self) -> dict | None:
        """The wait going on now, if every token rests: which token frees first, and when."""
        if self.wait_started is None:
            return None
        wait = self.pool.next_wait()
        if wait is None:
            return None
        return {"token": wait.label, "until": timestamps.from_epoch(wait.until), "reason": wait.reason}

    # --- spider open: check every token once --------------------------------------------

    async def check_tokens(self) -> None:
        accounts: dict[str, TokenState] = {}
        for state in self.all_tokens:
            if self.credentials[state.id].installation is not None:
                if await self.renew_if_due(state):
                    logger.info("GitHub credential %s: installation token bought", state.label)
                continue
            status, payload = await self.ask_viewer(state)
            data = payload.get("data") or {}
            if status == 401:
                logger.warning(
                    "GitHub token %s was rejected (401 Bad credentials); not using it", state.label
                )
                self.rejected.append(state.label)
                self.pool.drop(state)
                continue
            if not data.get("viewer"):
                logger.warning(
                    "could not check GitHub token %s (HTTP %s); using it unchecked", state.label, status
                )
                continue
            state.login = data["viewer"]["login"]
            if state.login in accounts:
                first = accounts[state.login].label
                logger.warning(
                    "tokens %s and %s both belong to %s; GitHub gives an account one budget: using %s only",
                    first,
                    state.label,
                    state.login,
                    first,
                )
                self.pool.drop(state)
                continue
            accounts[state.login] = state
            rate_limit = data.get("rateLimit") or {}
            if "remaining" in rate_limit:
                reset_at = timestamps.parse(rate_limit["resetAt"]).timestamp()
                self.pool.record_budget(state, rate_limit["remaining"], reset_at, rate_limit.get("limit"))
            logger.info(
                "GitHub token %s: %s, %s of %s points left",
                state.label,
                state.login,
                state.remaining,
                state.limit,
            )
        if not self.pool.tokens:  # a duplicate is dropped only after its first was kept: all got 401
            cause = (
                f"every GitHub token was rejected (401): {', '.join(self.rejected)}; "
                "set GITHUB_TOKEN (or GITHUB_TOKENS) to a valid token"
            )
            logger.error(cause)
            outcome.record(self.stats, "no_valid_token", cause, rerun_helps=False)
            raise CloseSpider("no_valid_token")
        self.stats.set_value("prseed/ratelimit/tokens", len(self.pool.tokens))

    async def ask_viewer(self, state: TokenState, attempts: int = 3) -> tuple[int, dict]:
        """Ask GitHub who owns a token; a passing fault (5xx, a body that is not JSON) is
        asked again, so that only a real 401 drops a token."""
        status, payload = 0, {}
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                logger.info(
                    "could not check GitHub token %s (HTTP %s, %s); asking again (%d/%d)",
                    state.label,
                    status,
                    "no login in the answer" if payload else "the answer is not JSON",
                    attempt,
                    attempts,
                )
            request = JsonRequest(
                self.endpoint,
                data={"query": TOKEN_CHECK_QUERY},
                meta={meta.CHECK_TOKEN: state.id, "dont_cache": True, "handle_httpstatus_all": True},
                dont_filter=True,
            )
            try:
                response = await self.crawler.engine.download_async(request)
            except Exception as exc:
                cause = (
                    f"cannot reach GitHub at {self.endpoint}: {network_cause(exc)} "
                    "(check GITHUB_GRAPHQL_URL and the network)"
                )
                logger.error(cause)
                outcome.record(self.stats, "github_unreachable", cause, rerun_helps=False)
                raise CloseSpider("github_unreachable") from None
            status, payload = response.status, parsed_body(response)
            if status == 401 or (payload.get("data") or {}).get("viewer"):
                break
        return status, payload

    # --- requests -----------------------------------------------------------------------

    async def process_request(self, request):
        """The contract: every request to ``GITHUB_GRAPHQL_URL`` is signed (a token check
        with the credential it checks, any other with the pool's choice), whatever its meta
        says; a request to any other URL is left alone, and counted."""
        if request.url != self.signed_url:
            self.stats.inc_value("prseed/ratelimit/requests_not_signed")
            return None
        if meta.CHECK_TOKEN in request.meta:
            state = self.pool.states[request.meta[meta.CHECK_TOKEN]]
            state.in_flight += 1
        else:
            allowed = await self.allowed(request.meta.get(meta.REPOSITORY))
            state = await self.acquire(allowed)
            if state is None:  # the crawl is stopping: back to the queue (and JOBDIR) it goes
                return request.replace(dont_filter=True)
        credential = self.credentials[state.id]
        request.meta[meta.TOKEN] = state.id
        request.meta[meta.TOKEN_GENERATION] = credential.generation
        request.headers["Authorization"] = credential.authorization()
        return None

    async def allowed(self, repository: str | None) -> set[str] | None:
        """The ids of the credentials that may sign a request for ``repository`` (None:
        any); a credential the provider found just now joins the pool."""
        credentials = await self.provider.credentials_for(repository)
        if credentials is None:
            return None
        for credential in credentials:
            if credential.id not in self.credentials:
                self.credentials[credential.id] = credential
                self.pool.add(credential)
                self.stats.set_value("prseed/ratelimit/tokens", len(self.pool.tokens))
        ids = {credential.id for credential in credentials}
        if not self.pool.among(ids):
            self.stats.inc_value("prseed/ratelimit/requests_without_credential")
            raise IgnoreRequest(f"no GitHub credential may read {repository}")
        return ids

    async def acquire(self, ids: set[str] | None = None) -> TokenState | None:
        """The token (of ``ids``, if given) for the next request, after waiting as long as
        it takes; None when the crawl stops meanwhile."""
        while True:
            if not self.pool.among(ids):
                raise IgnoreRequest("no valid GitHub token left")
            if not self.crawler.engine.running:
                return None
            state = self.pool.acquire(ids)
            if state is not None and await self.renewed(state):
                self.wait_over()
                return state
            if state is not None:
                continue
            wait = self.pool.next_wait(ids)
            timeout = STOP_CHECK_EVERY
            if wait is not None:
                if wait.budget and not self.wait_enabled:
                    self.stop_for_budget(wait)
                    raise IgnoreRequest("rate limited and PRSEED_RATELIMIT_WAIT is off")
                self.wait_begins(wait)
                timeout = min(max(wait.until - time.time(), 0.01), STOP_CHECK_EVERY)
            await self.token_released.sleep(timeout)

    async def renewed(self, state: TokenState) -> bool:
        """Whether the acquired credential may sign now: a due one is renewed first, once
        for all the requests that want it; one that cannot be is dropped (and released)."""
        if await self.renew_if_due(state):
            return True
        self.pool.release(state)
        return False

    async def renew_if_due(self, state: TokenState) -> bool:
        """Renew the credential if it is due (one renewal at a time for it); False when it
        cannot be renewed (it is dropped) or was dropped meanwhile."""
        credential = self.credentials[state.id]
        while state.id in self.renewing:
            await self.token_released.sleep(STOP_CHECK_EVERY)
        if state not in self.pool.tokens:
            return False
        if not credential.due(time.time()):
            return True
        self.renewing.add(state.id)
        try:
            await self.provider.renew(credential)
        except Exception as exc:
            logger.warning("could not renew GitHub credential %s (%s); not using it", state.label, exc)
            self.stats.inc_value("prseed/ratelimit/renewals_failed")
            self.rejected.append(state.label)
            self.pool.drop(state)
            return False
        finally:
            self.renewing.discard(state.id)
            self.token_released.ring()
        self.stats.inc_value("prseed/ratelimit/renewals")
        return True

    def wait_begins(self, wait: Wait) -> None:
        now = time.time()
        if wait.reason == "pacing":
            return
        if self.wait_started is None:
            self.wait_started = self.last_countdown = now
            self.stats.inc_value("prseed/ratelimit/waits")
            logger.info(
                "every GitHub token is resting; waiting %.0f s for %s (%s) until %s",
                wait.until - now,
                wait.label,
                wait.reason,
                timestamps.clock_time(wait.until),
            )
        elif now - self.last_countdown >= COUNTDOWN_EVERY:
            self.last_countdown = now
            logger.info(
                "still waiting for a GitHub token: %.0f s left (%s, until %s)",
                wait.until - now,
                wait.label,
                timestamps.clock_time(wait.until),
            )

    def wait_over(self) -> None:
        if self.wait_started is not None:
            self.stats.inc_value("prseed/ratelimit/seconds_waited", round(time.time() - self.wait_started, 3))
            self.wait_started = None

    def stop_for_budget(self, wait: Wait) -> None:
        if self.stopping:
            return
        self.stopping = True
        reset = timestamps.day_and_time(wait.until)
        logger.error(
            "every GitHub token has used its budget; it resets at %s. Run again then "
            "(rows already written stay), or set PRSEED_RATELIMIT_WAIT=True to wait",
            reset,
        )
        outcome.record(
            self.stats,
            "rate_limited",
            f"every GitHub token has used its budget until {reset} (PRSEED_RATELIMIT_WAIT=True waits for it)",
            rerun_helps=True,
        )
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="rate_limited"))

    # --- responses ----------------------------------------------------------------------

    def token_of(self, request) -> TokenState | None:
        """The credential that signed the request (it may have been dropped since)."""
        credential_id = request.meta.get(meta.TOKEN)
        return self.pool.states.get(credential_id) if credential_id is not None else None

    def process_response(self, request, response):
        request.headers.pop("Authorization", None)
        state = self.token_of(request)
        if state is None or "cached" in response.flags:
            return response
        try:
            return self.obey(state, request, response)
        finally:
            self.pool.release(state)
            self.token_released.ring()

    def obey(self, state: TokenState, request, response):
        """Learn from the answer; a request refused for its token's sake goes again."""
        self.record_headers(state, response)
        if meta.CHECK_TOKEN in request.meta:
            return response
        payload = parsed_body(response)
        if response.status == 401:
            if self.renew_on_refusal(state, request):
                return self.again(request)
            return self.revoked(state, request)
        if self.renewed_after_refusal.get(state.id) == request.meta.get(meta.TOKEN_GENERATION):
            del self.renewed_after_refusal[state.id]  # the renewal worked: a later 401 renews again
        if is_secondary_limit(response, payload):
            return self.secondary(state, request, response)
        if is_primary_limit(response, payload):
            return self.primary(state, request, response, payload)
        if response.status == 200:
            cost = ((payload.get("data") or {}).get("rateLimit") or {}).get("cost", 0)
            # a query is at least one point of the secondary limit, so pacing holds where
            # GitHub Enterprise Server tells no cost (rate limits off: rateLimit is null)
            self.pool.record_cost(state, max(cost, 1))
            self.stats.inc_value(f"prseed/ratelimit/points/{state.label}", cost)
        return response

    def process_exception(self, request, exception):
        request.headers.pop("Authorization", None)
        state = self.token_of(request)
        if state is not None:
            self.pool.release(state)
            self.token_released.ring()

    def record_headers(self, state: TokenState, response) -> None:
        remaining = response.headers.get(b"X-RateLimit-Remaining")
        reset = response.headers.get(b"X-RateLimit-Reset")
        limit = response.headers.get(b"X-RateLimit-Limit")
        if remaining is not None and reset is not None:
            self.pool.record_budget(state, int(remaining), float(reset), int(limit) if limit else None)

    def again(self, request):
        """The same request, to be sent again with whichever token is free then."""
        self.stats.inc_value("prseed/ratelimit/requests_retried")
        return request.replace(dont_filter=True)

    def renew_on_refusal(self, state: TokenState, request) -> bool:
        """Whether a 401 is worth a renewal rather than the credential's end: a renewable
        credential gets one renewal per refusal; a request signed with a secret already
        replaced just goes again. Only a 401 to the secret such a renewal bought, before any
        answer accepted it, revokes it."""
        credential = self.credentials[state.id]
        if not credential.renewable or state not in self.pool.tokens:
            return False
        generation = request.meta.get(meta.TOKEN_GENERATION, credential.generation)
        if generation < credential.generation:
            return True
        if self.renewed_after_refusal.get(state.id) == generation:
            return False
        self.renewed_after_refusal[state.id] = generation + 1
        credential.expire()
        self.stats.inc_value("prseed/ratelimit/renewals_after_401")
        logger.info("GitHub refused credential %s (401); renewing it", state.label)
        return True

    def revoked(self, state: TokenState, request):
        if state in self.pool.tokens:
            logger.warning("GitHub token %s is no longer valid (401); dropping it", state.label)
            self.pool.drop(state)
            self.rejected.append(state.label)
            self.stats.inc_value("prseed/ratelimit/tokens_revoked")
        if not self.pool.tokens:
            logger.error("no valid GitHub token left: set GITHUB_TOKEN to a valid token and run again")
            cause = (
                "every GitHub token was rejected (401), the last during the crawl: "
                f"{', '.join(self.rejected)}; set GITHUB_TOKEN to a valid token"
            )
            outcome.record(self.stats, "no_valid_token", cause, rerun_helps=True)
            if not self.stopping:
                self.stopping = True
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="no_valid_token"))
            raise IgnoreRequest("no valid GitHub token left")
        return self.again(request)

    def secondary(self, state: TokenState, request, response):
        retry_after = response.headers.get(b"Retry-After")
        seconds = self.pool.rest_secondary(state, float(retry_after) if retry_after else None)
        self.stats.inc_value("prseed/ratelimit/secondary_hits")
        logger.warning(
            "secondary rate limit on token %s: resting it %.0f s, until %s",
            state.label,
            seconds,
            timestamps.clock_time(state.resting_until),
        )
        return self.again(request)

    def primary(self, state: TokenState, request, response, payload: dict):
        reset = response.headers.get(b"X-RateLimit-Reset")
        reset_at = float(reset) if reset else time.time() + 60
        self.pool.rest_until_reset(state, reset_at)
        self.stats.inc_value("prseed/ratelimit/primary_hits")
        logger.warning(
            "token %s has used its GitHub budget; resting it until %s",
            state.label,
            timestamps.clock_time(state.reset_at),
        )
        return self.again(request)
