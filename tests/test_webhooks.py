"""``scrapy webhook``: GitHub's deliveries, verified, put repositories on the distributed queue
(README: "In production"). Real HTTP against the receiver, a real redis-server behind it."""

from __future__ import annotations

import json

import pytest
import redis

from prseed.distributed import RepositoryQueue
from prseed.distributed.priority import FROM_DATABASE, FROM_DELIVERY, WEBHOOK
from prseed.timestamps import parse
from prseed.webhooks import MAX_BODY, signature, verified
from tests.fakegithub import generate_dataset
from tests.processes import scrapy
from tests.test_cli import assert_one_line_error
from tests.webhooks import SECRET, Receiver, event_payload, newest_update, synced_database

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
ALLOWED = "acme/widgets,Friends/*"


def queue_of(redis_url: str) -> RepositoryQueue:
    return RepositoryQueue(redis.Redis.from_url(redis_url), "prseed")


def counts(redis_url: str) -> dict[str, int]:
    stored = redis.Redis.from_url(redis_url).hgetall("prseed:webhook:deliveries")
    return {name.decode(): int(count) for name, count in stored.items()}


def test_githubs_documented_example_signature():
    assert signature(GITHUB_SECRET.encode(), GITHUB_BODY) == GITHUB_SIGNATURE
    assert verified(GITHUB_SECRET.encode(), GITHUB_BODY, GITHUB_SIGNATURE)
    assert not verified(GITHUB_SECRET.encode(), GITHUB_BODY + b" ", GITHUB_SIGNATURE)
    assert not verified(b"another secret", GITHUB_BODY, GITHUB_SIGNATURE)


@pytest.fixture(scope="module")
def receiver(redis_instance, tmp_path_factory):
    database = tmp_path_factory.mktemp("webhook") / "none.sqlite3"  # no such file: nothing known
    running = Receiver(redis_instance.url, f"sqlite:///{database}", f"PRSEED_WEBHOOK_REPOSITORIES={ALLOWED}")
    yield running
    log = running.stop()
    assert "webhook receiver stopped; deliveries so far:" in log


def test_githubs_example_passes_the_signature_check_over_http(redis_url):
    running = Receiver(
        redis_url,
        "sqlite:///nowhere.sqlite3",
        "PRSEED_WEBHOOK_REPOSITORIES=acme/widgets",
        env={"PRSEED_WEBHOOK_SECRET": GITHUB_SECRET},
    )
    try:
        headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": GITHUB_SIGNATURE}
        status, answer = running.post(GITHUB_BODY, headers)
        assert (status, answer["outcome"]) == (400, "not_json")  # verified, then found not to be JSON
        forged = {**headers, "X-Hub-Signature-256": GITHUB_SIGNATURE[:-1] + "0"}
        assert running.post(GITHUB_BODY, forged)[0] == 401
    finally:
        running.stop()


def test_a_valid_delivery_queues_its_repository_at_webhook_priority(receiver, redis_url):
    status, answer = receiver.deliver(
        "pull_request", event_payload("acme/widgets", "2025-03-01T10:00:00Z"), delivery="d-1"
    )
    assert (status, answer["outcome"]) == (200, "queued")
    queue = queue_of(redis_url)
    assert queue.waiting() == ["acme/widgets"]
    queued = queue.entries(queue.queue_key)["acme/widgets"]
    assert (queued.priority, queued.pushed_at_from, queued.by) == (
        WEBHOOK,
        FROM_DELIVERY,
        "pull_request delivery d-1",
    )
    assert queued.pushed_at == parse("2025-03-01T10:00:00Z").timestamp()
    # push events send pushed_at as a Unix time; an owner's pattern allows its repositories
    status, answer = receiver.deliver("check_suite", event_payload("friends/gizmo", 1740823200))
    assert (status, answer["outcome"]) == (200, "queued")
    assert queue.entries(queue.queue_key)["friends/gizmo"].pushed_at == 1740823200
    assert counts(redis_url) == {"queued": 2}


@pytest.mark.parametrize(
    ("secret", "outcome"), [(None, "unsigned"), ("not the secret", "forged")], ids=["missing", "wrong"]
)
def test_a_forged_delivery_is_401_and_queues_nothing(receiver, redis_url, secret, outcome):
    status, answer = receiver.deliver("pull_request", event_payload("acme/widgets"), secret=secret)
    assert (status, answer["outcome"]) == (401, outcome)
    assert queue_of(redis_url).waiting() == [] and counts(redis_url) == {outcome: 1}


def test_a_tampered_body_is_401(receiver, redis_url):
    body = json.dumps(event_payload("acme/widgets")).encode()
    headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": signature(SECRET.encode(), body)}
    assert receiver.post(body.replace(b"widgets", b"gadgets"), headers)[0] == 401
    assert receiver.post(body, headers)[0] == 200


def test_a_redelivery_queues_nothing(receiver, redis_url):
    queue = queue_of(redis_url)
    assert receiver.deliver("pull_request", event_payload("acme/widgets"), delivery="same")[0] == 200
    queue.heartbeat("w1", 30)
    assert queue.take("w1") == ("acme/widgets", None)
    queue.release("acme/widgets", "w1")
    status, answer = receiver.deliver("pull_request", event_payload("acme/widgets"), delivery="same")
    assert (status, answer["outcome"]) == (200, "replayed")
    assert queue.waiting() == [] and queue.dirty() == set()
    assert redis.Redis.from_url(redis_url).ttl("prseed:webhook:delivery:same") > 86400
    assert receiver.deliver("pull_request", event_payload("acme/widgets"), delivery="another")[0] == 200
    assert queue.waiting() == ["acme/widgets"]


def test_an_oversized_delivery_is_413(receiver, redis_url):
    body = b'{"a": "' + b"x" * MAX_BODY + b'"}'
    status, answer = receiver.deliver("pull_request", body=body)
    assert (status, answer["outcome"]) == (413, "oversized")
    assert counts(redis_url) == {"oversized": 1}
    assert receiver.deliver("ping", {"zen": "Keep it logically awesome."})[0] == 200  # still serving


def test_a_body_that_is_not_a_json_object_is_400(receiver, redis_url):
    for body in (b"not json", b"[1, 2]"):
        assert receiver.deliver("pull_request", body=body)[0] == 400
    assert counts(redis_url) == {"not_json": 2}


def test_ping_other_events_and_strangers_queue_nothing_and_are_counted(receiver, redis_url):
    assert receiver.deliver("ping", {"zen": "Design for failure.", "hook_id": 1}) == (
        200,
        {"outcome": "ping", "message": "pong"},
    )
    assert receiver.deliver("star", event_payload("acme/widgets"))[0] == 202
    assert receiver.deliver("push", event_payload("acme/widgets"))[0] == 202
    stranger = receiver.deliver("pull_request", event_payload("evil/crawl-me"))
    assert stranger[0] == 202 and "not on the allow-list" in stranger[1]["message"]
    on_an_issue = event_payload("acme/widgets", issue={"number": 3})
    assert receiver.deliver("issue_comment", on_an_issue)[1]["outcome"] == "not_a_pull_request"
    assert queue_of(redis_url).waiting() == []
    assert counts(redis_url) == {"ping": 1, "ignored_event": 2, "stranger": 1, "not_a_pull_request": 1}
    on_a_pull_request = event_payload("acme/widgets", issue={"number": 4, "pull_request": {"url": "…"}})
    assert receiver.deliver("issue_comment", on_a_pull_request)[1]["outcome"] == "queued"


def test_only_post_to_the_webhook_path_is_served(receiver):
    assert receiver.post(b"", {}, method="GET")[0] == 405
    assert receiver.post(b"{}", {}, path="/other")[0] == 404


def test_events_for_a_repository_being_crawled_mark_it_dirty_and_coalesce(receiver, redis_url):
    queue = queue_of(redis_url)
    queue.enqueue(["acme/widgets"])
    queue.heartbeat("w1", 30)
    queue.take("w1")
    for event in ("pull_request", "pull_request_review", "check_run"):
        status, answer = receiver.deliver(event, event_payload("acme/widgets", "2025-03-01T10:00:00Z"))
        assert (status, answer["outcome"]) == (200, "dirty")
    assert queue.waiting() == [] and queue.dirty() == {"acme/widgets"}
    queue.release("acme/widgets", "w1")
    assert queue.waiting() == ["acme/widgets"] and queue.dirty() == set()  # one sync for three events


def test_the_receiver_refuses_to_start_without_a_secret(redis_url):
    done = scrapy("webhook", "-s", f"PRSEED_REDIS_URL={redis_url}", env={})
    assert_one_line_error(done, "PRSEED_WEBHOOK_SECRET is not set")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            ["-s", "PRSEED_WEBHOOK_REPOSITORIES=not a repository"],
            "PRSEED_WEBHOOK_REPOSITORIES='not a repository' is neither",
        ),
        (["-s", "PRSEED_WEBHOOK_REPOSITORIES=acme/ok,bad owner/*"], "'bad owner/*' is neither OWNER/NAME"),
        (["-s", "PRSEED_WEBHOOK_PORT=http"], "PRSEED_WEBHOOK_PORT='http'"),
        (["unexpected"], "webhook takes no arguments"),
    ],
)
def test_receiver_mistakes_are_one_line_and_exit_2(redis_url, settings, message):
    done = scrapy(
        "webhook", "-s", f"PRSEED_REDIS_URL={redis_url}", *settings, env={"PRSEED_WEBHOOK_SECRET": SECRET}
    )
    assert_one_line_error(done, message)
    assert SECRET not in done.stderr


def test_without_an_allow_list_the_databases_repositories_are_allowed(redis_url, tmp_path):
    """Queued as the database spells them, pushed-at from its newest PR update when the
    payload has none."""
    dataset = generate_dataset({"Acme/Known": 4}, seed=3, big_pr=False)
    database_url = synced_database(dataset, tmp_path / "known.sqlite3")
    running = Receiver(redis_url, database_url)
    try:
        assert running.deliver("pull_request", event_payload("acme/known"))[1]["outcome"] == "queued"
        assert running.deliver("pull_request", event_payload("acme/unknown"))[1]["outcome"] == "stranger"
    finally:
        running.stop()
    queue = queue_of(redis_url)
    assert queue.waiting() == ["Acme/Known"]
    queued = queue.entries(queue.queue_key)["Acme/Known"]
    newest = parse(newest_update(dataset, "Acme/Known")).timestamp()
    assert queued.pushed_at_from == FROM_DATABASE and queued.pushed_at == newest
