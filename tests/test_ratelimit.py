"""The token pool's rules, on a fake clock."""

import random

import pytest

from prseed.tokens import StaticTokens, TokenPool


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def pool(clock, tokens=("tok-aaaa", "tok-bbbb"), **options):
    return TokenPool(StaticTokens(list(tokens)).credentials(), clock=clock, rng=random.Random(1), **options)


def test_the_token_with_the_most_budget_goes_first(clock):
    tokens = pool(clock)
    a, b = tokens.tokens
    tokens.record_budget(a, 100, clock.now + 3600)
    tokens.record_budget(b, 4000, clock.now + 3600)
    assert tokens.acquire() is b


def test_in_flight_limit_per_token(clock):
    tokens = pool(clock, tokens=("tok-aaaa",), max_in_flight=2)
    first, second = tokens.acquire(), tokens.acquire()
    assert first is second
    assert tokens.acquire() is None
    assert tokens.next_wait() is None  # only a release can help
    tokens.release(first)
    assert tokens.acquire() is first


def test_a_rested_token_is_not_used_before_its_rest_ends(clock):
    tokens = pool(clock, tokens=("tok-aaaa",))
    state = tokens.tokens[0]
    assert tokens.rest_secondary(state, retry_after=3) == 3
    clock.now += 2.999
    assert tokens.acquire() is None
    wait = tokens.next_wait()
    assert wait.until == pytest.approx(clock.now + 0.001) and not wait.budget
    clock.now += 0.001
    assert tokens.acquire() is state


def test_secondary_rest_without_retry_after_doubles(clock):
    tokens = pool(clock, tokens=("tok-aaaa",))
    state = tokens.tokens[0]
    first = tokens.rest_secondary(state, None)
    second = tokens.rest_secondary(state, None)
    assert 60 <= first <= 75 and 120 <= second <= 150
    tokens.record_cost(state, 1)
    assert 60 <= tokens.rest_secondary(state, None) <= 75


def test_exhausted_budget_waits_for_the_reset(clock):
    tokens = pool(clock)
    a, b = tokens.tokens
    tokens.rest_until_reset(a, clock.now + 100)
    assert tokens.acquire() is b
    tokens.rest_until_reset(b, clock.now + 50)
    assert tokens.acquire() is None
    wait = tokens.next_wait()
    assert wait.budget and wait.until == clock.now + 51 and wait.label == b.label
    clock.now += 50
    assert tokens.acquire() is None
    clock.now += 1
    assert tokens.acquire() is b


def test_pacing_keeps_a_token_under_its_points_per_minute(clock):
    tokens = pool(clock, tokens=("tok-aaaa",), points_per_minute=10)
    state = tokens.acquire()
    tokens.release(state)
    tokens.record_cost(state, 10)
    assert tokens.acquire() is None
    assert tokens.next_wait().reason == "pacing"
    clock.now += 60
    assert tokens.acquire() is state


def test_late_answers_do_not_raise_the_budget(clock):
    tokens = pool(clock, tokens=("tok-aaaa",))
    state = tokens.tokens[0]
    tokens.record_budget(state, 100, clock.now + 600)
    tokens.record_budget(state, 150, clock.now + 600)
    assert state.remaining == 100
    tokens.record_budget(state, 5000, clock.now + 4200)
    assert state.remaining == 5000


def test_token_repr_hides_the_token(clock):
    tokens = pool(clock, tokens=("test-secretsecretsecret1234",))
    assert "secret" not in repr(tokens.tokens[0]) and "1234" in repr(tokens.tokens[0])
