"""Distributed crawling: workers sharing one Redis queue of repositories and the tokens'
budgets, writing to one PostgreSQL database (README: "Scale out")."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from importlib.metadata import version

import pytest
import redis
from scrapy import Spider
from scrapy.http import JsonRequest
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler
from scrapy_redis.scheduler import Scheduler

from prseed import signals as prseed_signals
from prseed.addons import DistributedCrawl
from prseed.distributed import RedisScheduler, RepositoryQueue, SharedTokenPool, Worker, worker_key
from prseed.distributed.priority import FROM_DATABASE, MANUAL, SWEEP, WEBHOOK, entry
from prseed.distributed.queue import Release
from prseed.exceptions import ConfigError
from prseed.spiders.prs import PullRequestsSpider
from prseed.timestamps import parse
from prseed.tokens import StaticTokens
from tests.expected import database_rows, expected_rows
from tests.fakegithub import FakeGitHub, generate_dataset
from tests.processes import ScrapyProcess, scrapy
from tests.test_cli import assert_one_line_error
from tests.test_ratelimit_crawl import IN_FLIGHT_SLACK, data_requests
from tests.webhooks import Receiver, event_payload, newest_update, synced_database

REPOSITORIES = [f"acme/repo-{index}" for index in range(6)]
TOKENS = {"dist-token-aaaa1111": "alice", "dist-token-bbbb2222": "bob"}
REST_SECONDS = 3  # the fake server's Retry-After


def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


# --- the shared queue of repositories -----------------------------------------------------


def test_a_repository_is_queued_once_and_taken_by_one_worker(redis_url):
    queue = RepositoryQueue(client(redis_url), "prseed")
    assert queue.enqueue(["a/one", "a/two", "a/one"]) == 2
    queue.heartbeat("w1", 30)
    queue.heartbeat("w2", 30)
    assert queue.take("w1") == ("a/one", None)
    assert queue.enqueue(["a/one"]) == 0  # being crawled: not queued again
    assert queue.take("w2") == ("a/two", None)
    assert queue.take("w2") is None  # a/one's worker is alive
    assert queue.active() == {"a/one": "w1", "a/two": "w2"}


def test_a_dead_workers_repository_is_taken_over_once_its_heartbeat_expires(redis_url):
    server = client(redis_url)
    queue = RepositoryQueue(server, "prseed")
    queue.enqueue(["a/one"])
    queue.heartbeat("w1", 0.3)
    queue.heartbeat("w2", 30)
    assert queue.take("w1") == ("a/one", None)
    server.zadd(f"{worker_key('prseed', 'w1')}:requests", {b"a request": 0})
    assert queue.take("w2") is None
    time.sleep(0.4)
    assert queue.take("w2") == ("a/one", "w1")
    queue.forget_worker("w1")
    assert not server.exists(f"{worker_key('prseed', 'w1')}:requests")
    assert queue.heartbeat("w1", 30) == set()  # w1 comes back: a/one is no longer its own


def test_only_the_owner_releases_and_a_requeued_repository_goes_first(redis_url):
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(["a/one", "a/two"])
    queue.heartbeat("w1", 30)
    queue.take("w1")
    assert not queue.release("a/one", "w2")
    assert queue.release("a/one", "w1", requeue=True)
    assert queue.waiting() == ["a/one", "a/two"]
    assert queue.active() == {}


def test_the_queue_takes_a_class_at_a_time_the_most_recently_pushed_first(redis_url):
    queue = RepositoryQueue(client(redis_url), "prseed")
    outcomes = queue.add(
        [
            entry("a/swept", SWEEP, "test", pushed_at=3000.0),
            entry("a/manual", MANUAL, "test", pushed_at=1000.0),
            entry("a/hook-old", WEBHOOK, "test", pushed_at=500.0),
            entry("a/hook-new", WEBHOOK, "test", pushed_at=2000.0),
        ]
    )
    assert outcomes == ["queued"] * 4
    assert queue.waiting() == ["a/hook-new", "a/hook-old", "a/manual", "a/swept"]
    # a better class or a later push moves a repository up; nothing moves one down
    assert queue.add([entry("a/swept", WEBHOOK, "test", pushed_at=100.0)]) == ["raised"]
    assert queue.add([entry("a/hook-new", SWEEP, "test", pushed_at=9000.0)]) == ["kept"]
    assert queue.waiting() == ["a/hook-new", "a/hook-old", "a/swept", "a/manual"]
    # queued again later, with no news of activity: the enqueue time moves nothing within a class
    assert queue.add([entry("a/manual", MANUAL, "test", now=time.time())]) == ["kept"]
    assert queue.add([entry("a/manual", WEBHOOK, "test", now=time.time())]) == ["raised"]
    assert queue.waiting() == ["a/manual", "a/hook-new", "a/hook-old", "a/swept"]
    queue.heartbeat("w1", 30)
    claim = queue.claim("w1")
    assert claim.repository == "a/manual" and claim.entry.priority == WEBHOOK
    assert queue.entries(queue.active_key)["a/manual"] == claim.entry
    assert queue.release("a/manual", "w1", requeue=True) is Release.HANDED_BACK
    assert queue.waiting()[0] == "a/manual"  # handed back: before every class
    assert queue.entries(queue.queue_key)["a/manual"].by == "handed back by worker w1"


def test_a_dead_workers_repository_comes_before_every_queued_one(redis_url):
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(["a/one"])
    queue.heartbeat("w1", 0.3)
    queue.heartbeat("w2", 30)
    assert queue.take("w1") == ("a/one", None)
    queue.add([entry("a/urgent", WEBHOOK, "test", pushed_at=time.time())])
    queue.release("a/urgent", "nobody", requeue=True)  # not held: changes nothing
    time.sleep(0.4)
    assert queue.take("w2") == ("a/one", "w1")
    assert queue.take("w2") == ("a/urgent", None)


def test_a_repository_asked_for_while_crawled_is_queued_again_behind_itself(redis_url):
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(["a/one"])
    queue.heartbeat("w1", 30)
    queue.take("w1")
    assert queue.add([entry("a/one", SWEEP, "test")]) == ["crawling"]  # a sweep asks for no more
    assert queue.dirty() == set()
    for pushed_at in (100.0, 300.0, 200.0):
        assert queue.add([entry("a/one", WEBHOOK, "test", pushed_at=pushed_at)]) == ["dirty"]
    assert queue.waiting() == [] and queue.dirty() == {"a/one"}
    assert queue.release("a/one", "w1") is Release.QUEUED_AGAIN
    assert queue.waiting() == ["a/one"] and queue.dirty() == set()  # three events, one sync
    assert queue.entries(queue.queue_key)["a/one"].pushed_at == 300.0  # the best of the three
    # a dirty mark outlives a hand-back: the crawl that continues it may miss the change
    queue.take("w1")
    queue.enqueue(["a/one"])
    assert queue.release("a/one", "w1", requeue=True) is Release.HANDED_BACK
    queue.take("w1")
    assert queue.release("a/one", "w1") is Release.QUEUED_AGAIN
    queue.take("w1")
    assert queue.release("a/one", "w1") is Release.RELEASED and queue.waiting() == []


def test_the_previous_releases_queue_is_served_in_its_order(redis_url):
    """Redis data of the release whose queue was a plain list: moved into the sorted set
    on first use (whatever the first use is), in its order, skipping what is being crawled."""
    server = client(redis_url)
    server.rpush("prseed:repositories", "old/one", "old/two", "old/crawled", "old/three")
    server.hset("prseed:active", "old/crawled", "w0")
    queue = RepositoryQueue(server, "prseed")
    queue.heartbeat("w0", 30)
    queue.heartbeat("w1", 30)
    assert queue.take("w1") == ("old/one", None)
    assert not server.exists("prseed:repositories")
    assert queue.upgrade() == 0  # once per process
    assert queue.waiting() == ["old/two", "old/three"]
    assert queue.entries(queue.queue_key)["old/two"].by == "the previous release's queue"
    server.rpush("prseed:repositories", "old/one")
    assert RepositoryQueue(server, "prseed").upgrade() == 0  # being crawled: not queued twice
    assert queue.active() == {"old/crawled": "w0", "old/one": "w1"}


# --- token budgets shared between workers -------------------------------------------------


def credentials():
    return StaticTokens(list(TOKENS)).credentials()


def pools(redis_url, clock, **limits):
    return [
        SharedTokenPool(credentials(), client(redis_url), "prseed", clock=lambda: clock[0], **limits)
        for _ in range(2)
    ]


def test_a_rest_taken_by_one_worker_holds_for_the_other(redis_url):
    clock = [1000.0]
    first, second = pools(redis_url, clock, max_in_flight=1)
    first.rest_secondary(first.tokens[0], 30)
    assert second.acquire() is second.tokens[1]
    assert second.acquire() is None
    assert second.tokens[0].resting_until == 1030.0
    clock[0] = 1030.0
    assert second.acquire() is second.tokens[0]


def test_pacing_counts_the_points_of_every_worker(redis_url):
    clock = [1000.0]
    first, second = pools(redis_url, clock, points_per_minute=10, max_in_flight=10)
    for pool in (first, second):
        for state in pool.tokens:
            pool.record_cost(state, 6)  # 12 points a token in all: over 10
    assert first.acquire() is None and second.acquire() is None
    wait = second.next_wait()
    assert wait.reason == "pacing" and wait.until == 1060.0
    clock[0] = 1060.5
    assert first.acquire() is not None


def test_budgets_follow_githubs_latest_word_across_workers(redis_url):
    clock = [1000.0]
    first, second = pools(redis_url, clock)
    first.record_budget(first.tokens[0], 100, 5000.0, 5000)
    second.record_budget(second.tokens[0], 300, 5000.5, 5000)  # an older answer, arriving late
    first.pull()
    assert (first.tokens[0].remaining, first.tokens[0].reset_at) == (100, 5000.5)
    second.record_budget(second.tokens[0], 4990, 8600.0)  # the budget was reset
    first.pull()
    assert (first.tokens[0].remaining, first.tokens[0].limit) == (4990, 5000)
    first.rest_until_reset(first.tokens[0], 9000.0)
    second.pull()
    assert second.tokens[0].remaining == 0 and second.tokens[0].budget_exhausted(clock[0])


def test_no_token_reaches_redis(redis_url):
    clock = [1000.0]
    first, _ = pools(redis_url, clock)
    state = first.acquire()
    first.record_cost(state, 3)
    first.record_budget(state, 10, 2000.0, 5000)
    first.rest_secondary(state, 5)
    server = client(redis_url)
    assert_no_token_in(server)
    assert server.exists("prseed:token:token-1111") and server.exists("prseed:token:token-1111:points")


def assert_no_token_in(server: redis.Redis) -> None:
    """No token in any Redis key or value (values as Redis dumps them: lists, hashes, sorted sets)."""
    dump = b"".join(key + json.dumps(str(server.dump(key))).encode() for key in server.keys("*"))
    assert dump and all(token.encode() not in dump for token in TOKENS)


def test_a_worker_is_given_the_shared_token_pool_by_configuration(redis_url):
    """No ``if`` in the middleware: the add-on sets PRSEED_TOKEN_POOL for a worker, unless the
    command line chose a pool."""
    from prseed.middlewares.tokens import TokenPoolMiddleware

    settings = worker_settings(redis_url, GITHUB_TOKENS=",".join(TOKENS))
    DistributedCrawl.update_settings(settings)
    assert settings.get("PRSEED_TOKEN_POOL") == "prseed.distributed.SharedTokenPool"
    crawler = get_crawler(Spider, settings_dict=settings.copy_to_dict())
    pool = TokenPoolMiddleware.from_crawler(crawler).pool
    assert type(pool) is SharedTokenPool and sorted(pool.keys.values()) == [
        "prseed:token:token-1111",
        "prseed:token:token-2222",
    ]
    chosen = worker_settings(redis_url, PRSEED_TOKEN_POOL="prseed.tokens.TokenPool")
    DistributedCrawl.update_settings(chosen)
    assert chosen.get("PRSEED_TOKEN_POOL") == "prseed.tokens.TokenPool"
    alone = Settings()
    alone.setmodule("prseed.settings", priority="project")
    DistributedCrawl.update_settings(alone)
    assert alone.get("PRSEED_TOKEN_POOL") == "prseed.tokens.TokenPool"


# --- scrapy-redis, pinned: the behaviour prseed relies on ---------------------------------


def test_scrapy_redis_is_the_pinned_version():
    assert version("scrapy-redis") == "0.9.1"


def test_scrapy_redis_scheduler_keeps_a_workers_requests_in_redis(redis_url):
    settings = Settings({"PRSEED_REDIS_URL": redis_url, "PRSEED_REDIS_PREFIX": "prseed"})
    settings.set("PRSEED_WORKER_NAME", "w1")
    DistributedCrawl.update_settings(settings)
    crawler = get_crawler(Spider, settings_dict=settings.copy_to_dict())
    crawler.spider = spider = Spider.from_crawler(crawler, name="prs")
    assert crawler.settings.get("SCHEDULER") == "prseed.distributed.RedisScheduler"
    scheduler = RedisScheduler.from_crawler(crawler)
    assert isinstance(scheduler, Scheduler)
    scheduler.open(spider)
    bodies = [{"query": "q", "variables": {"after": cursor}} for cursor in ("a", "b")]
    requests = [JsonRequest("http://x/graphql", data=body, dont_filter=True) for body in bodies]
    requests.append(
        JsonRequest("http://x/graphql", data={"query": "follow-up"}, priority=10, cb_kwargs={"n": 1})
    )
    for request in requests:
        assert scheduler.enqueue_request(request)
    # the dupefilter's own fingerprint tells POST bodies apart
    assert not scheduler.df.request_seen(JsonRequest("http://x/graphql", data={"query": "other"}))
    assert client(redis_url).zcard(b"prseed:worker:w1:requests") == 3
    first = scheduler.next_request()
    assert json.loads(first.body)["query"] == "follow-up" and first.cb_kwargs == {"n": 1}
    popped = [json.loads(scheduler.next_request().body) for _ in range(2)]
    assert sorted(popped, key=str) == sorted(bodies, key=str)
    assert crawler.stats.get_value("scheduler/enqueued/redis") == 3
    scheduler.close("finished")
    assert not client(redis_url).exists(b"prseed:worker:w1:requests")


# --- checks before a worker starts --------------------------------------------------------


def worker_settings(redis_url: str, **overrides) -> Settings:
    settings = Settings()
    settings.setmodule("prseed.settings", priority="project")
    overrides = {
        "PRSEED_REDIS_URL": redis_url,
        "DATABASE_URL": "postgresql://db.internal/prseed",
        **overrides,
    }
    settings.update(overrides, priority="cmdline")
    return settings


def test_workers_need_a_shared_database(redis_url):
    with pytest.raises(ConfigError, match="set DATABASE_URL=postgresql://"):
        PullRequestsSpider.check(worker_settings(redis_url, DATABASE_URL="sqlite:///prseed.sqlite3"), {})


def test_a_worker_is_given_no_repository(redis_url):
    with pytest.raises(ConfigError, match="takes its repositories from Redis.*scrapy enqueue"):
        PullRequestsSpider.check(worker_settings(redis_url), {"repo": "acme/widgets"})
    assert PullRequestsSpider.check(worker_settings(redis_url), {"days_back": "3"})["plan"].repositories == ()


def test_a_worker_keeps_no_jobdir(redis_url, tmp_path):
    with pytest.raises(ConfigError, match="drop -s JOBDIR"):
        PullRequestsSpider.check(worker_settings(redis_url, JOBDIR=str(tmp_path)), {})


def test_a_second_worker_of_the_same_name_is_refused(redis_url):
    RepositoryQueue(client(redis_url), "prseed").heartbeat("w1", 30)
    with pytest.raises(ConfigError, match="a worker named 'w1' is running"):
        PullRequestsSpider.check(worker_settings(redis_url, PRSEED_WORKER_NAME="w1"), {})
    PullRequestsSpider.check(worker_settings(redis_url, PRSEED_WORKER_NAME="w2"), {})


def test_the_token_pool_rides_out_a_redis_outage():
    """With Redis unreachable, the pool decides on what this worker knows and reports the
    outage instead of failing the request."""
    from tests.postgres import free_port

    down = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    clock = [1000.0]
    pool = SharedTokenPool(credentials(), down, "prseed", clock=lambda: clock[0])
    reported = []
    pool.outage.report = reported.append
    pool.rest_secondary(pool.tokens[0], 30)
    assert pool.acquire() is pool.tokens[1]
    pool.record_cost(pool.tokens[1], 3)
    assert len(reported) >= 3 and all(isinstance(exc, redis.ConnectionError) for exc in reported)


def test_an_unreachable_redis_is_one_line_naming_the_fix():
    from tests.postgres import free_port

    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigError, match="cannot reach Redis at redis://:\\*\\*\\*@127.0.0.1") as caught:
        PullRequestsSpider.check(worker_settings(url), {})
    assert "secret" not in str(caught.value)


def test_enqueue_command(redis_url):
    env = {"PRSEED_REDIS_URL": redis_url}
    done = scrapy("enqueue", "acme/one", "https://github.com/acme/two", "acme/one", env=env)
    assert done.returncode == 0, done.stderr
    assert "queued 2 repositories" in done.stdout and "2 waiting for a worker" in done.stdout
    again = scrapy("enqueue", "acme/one", "--list", env=env)
    assert "queued 0 repositories" in again.stdout and "(1 already queued or being crawled)" in again.stdout
    assert "acme/one" in again.stdout and "queued" in again.stdout
    project = scrapy("enqueue", "-a", "project=antiwork", env=env)
    assert (
        project.returncode == 0
        and "antiwork/gumroad" in RepositoryQueue(client(redis_url), "prseed").waiting()
    )


def test_enqueue_sweep_queues_every_known_repository_last_and_list_says_why(redis_url, tmp_path):
    dataset = generate_dataset({"acme/calm": 3, "acme/busy": 5}, seed=8, big_pr=False)
    env = {"PRSEED_REDIS_URL": redis_url, "DATABASE_URL": synced_database(dataset, tmp_path / "db.sqlite3")}
    assert scrapy("enqueue", "acme/new", env=env).returncode == 0
    swept = scrapy("enqueue", "--sweep", env=env)
    assert swept.returncode == 0, swept.stderr
    assert "queued 2 repositories" in swept.stdout
    by_activity = sorted(dataset.repositories, key=lambda name: newest_update(dataset, name), reverse=True)
    queue = RepositoryQueue(client(redis_url), "prseed")
    assert queue.waiting() == ["acme/new", *by_activity]  # manual before sweep; the most recent first
    known = queue.entries(queue.queue_key)[by_activity[0]]
    assert (known.priority, known.pushed_at_from) == (SWEEP, FROM_DATABASE)
    assert known.pushed_at == parse(newest_update(dataset, by_activity[0])).timestamp()
    # a manual enqueue of a known repository takes its pushed-at from the database too (older
    # than acme/new's enqueue time)
    assert scrapy("enqueue", by_activity[1], env=env).returncode == 0
    assert queue.waiting() == ["acme/new", by_activity[1], by_activity[0]]
    queue.heartbeat("w1", 30)
    assert queue.take("w1") == ("acme/new", None)
    queue.enqueue(["acme/new"])  # asked for while crawled
    listed = scrapy("enqueue", "--list", env=env).stdout.splitlines()
    assert listed[0].split() == ["#", "repository", "state", "why"]
    assert listed[1].split()[:3] == ["1", by_activity[1], "queued"]
    assert (
        f"manual, pushed {newest_update(dataset, by_activity[1])} (the database), by scrapy enqueue"
        in listed[1]
    )
    assert listed[2].split()[:3] == ["2", by_activity[0], "queued"]
    assert f"sweep, pushed {newest_update(dataset, by_activity[0])} (the database)" in listed[2]
    assert "by scrapy enqueue --sweep" in listed[2]
    assert (
        listed[3].split()[:3] == ["acme/new", "crawling", "(w1);"] and "queued again when done" in listed[3]
    )
    assert "(the enqueue time), by scrapy enqueue" in listed[3]


def test_enqueue_sweep_needs_a_database_that_knows_repositories(redis_url, tmp_path):
    env = {"PRSEED_REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"}
    assert_one_line_error(scrapy("enqueue", "--sweep", env=env), "knows no repository yet")
    assert_one_line_error(
        scrapy("enqueue", "--sweep", "acme/one", env=env), "--sweep queues every repository"
    )


@pytest.mark.parametrize(
    ("arguments", "env", "message"),
    [
        (["acme/one"], {}, "PRSEED_REDIS_URL is not set"),
        (["not a repo"], None, "is not a repository"),
        ([], None, "no repository given"),
        (["-a", "project=nope"], None, "unknown project 'nope'"),
        (["-a", "since=2024-01-01"], None, "enqueue takes -a repo=, -a repos= or -a project="),
        (["acme/one", "-a", "project=antiwork"], None, "repositories and -a both given"),
    ],
)
def test_enqueue_mistakes_are_one_line_and_exit_2(redis_url, arguments, env, message):
    done = scrapy("enqueue", *arguments, env={"PRSEED_REDIS_URL": redis_url} if env is None else env)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("prseed: error:") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# --- the Worker extension -----------------------------------------------------------------


def addon_settings(**values) -> Settings:
    settings = Settings()
    settings.setdict(values, priority="project")
    DistributedCrawl.update_settings(settings)
    return settings


def extensions(settings: Settings) -> list:
    return [load_object(path) for path in build_component_list(settings.getwithbase("EXTENSIONS"))]


def test_the_addon_registers_the_worker_only_for_a_worker(redis_url):
    assert extensions(addon_settings(PRSEED_REDIS_URL=redis_url, PRSEED_WORKER_NAME="w1")).count(Worker) == 1
    assert Worker not in extensions(addon_settings(PRSEED_REDIS_URL=None))
    project = worker_settings(redis_url)
    DistributedCrawl.update_settings(project)
    assert extensions(project).count(Worker) == 1  # named in EXTENSIONS too: still one worker
    off = addon_settings(PRSEED_REDIS_URL=redis_url, EXTENSIONS={"prseed.distributed.Worker": None})
    assert Worker not in extensions(off)


def worker(redis_url: str) -> Worker:
    settings = worker_settings(redis_url, PRSEED_WORKER_NAME="w1")
    DistributedCrawl.update_settings(settings)
    return Worker.from_crawler(get_crawler(Spider, settings_dict=settings.copy_to_dict()))


def test_the_worker_hears_of_a_stopped_repository_through_a_signal(redis_url):
    """No spider attribute: a failed repository is let go at the next heartbeat and not
    queued again; one stopped otherwise goes back to the queue on a clean stop."""
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(["a/one", "a/two"])
    subject = worker(redis_url)
    rung = []
    subject.room.ring = lambda: rung.append(True)
    subject.beat()
    for _ in range(2):
        subject.took(*queue.take("w1"))
    send = subject.crawler.signals.send_catch_log
    send(prseed_signals.repository_stopped, repository="a/one", failed=True)
    send(prseed_signals.repository_stopped, repository="a/two", failed=False)
    assert len(rung) == 2
    subject.beat()
    assert queue.active() == {"a/two": "w1"} and queue.waiting() == []
    subject.closed()
    assert queue.active() == {} and queue.waiting() == ["a/two"]


# --- workers crawling together ------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset({name: 40 for name in REPOSITORIES}, seed=21, big_pr=True)


@pytest.fixture
def github(dataset):
    with FakeGitHub(dataset, tokens=TOKENS, latency=0.05, secondary_retry_after=REST_SECONDS) as server:
        yield server


@pytest.fixture
def shared_database(postgres_cluster):
    return postgres_cluster.create_database(f"prseed_distributed_{time.monotonic_ns()}")


def start_worker(github, redis_url, database_url, name=None, *extra):
    """A worker process, named ``name`` (None: prseed's default name)."""
    arguments = ["crawl", "prs"]
    for setting in (
        f"GITHUB_GRAPHQL_URL={github.url}",
        f"DATABASE_URL={database_url}",
        f"PRSEED_REDIS_URL={redis_url}",
        "PRSEED_WORKER_TTL=2",
        "RETRY_BACKOFF_BASE=0.05",
        *extra,
    ):
        arguments += ["-s", setting]
    if name is not None:
        arguments += ["-s", f"PRSEED_WORKER_NAME={name}"]
    return ScrapyProcess(*arguments, env={"GITHUB_TOKENS": ",".join(TOKENS)}, stderr=subprocess.PIPE)


def wait_until(condition, processes, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def taken_by(stderr: str, name: str) -> list[str]:
    marker = f"worker {name}: took "
    return [line.split(marker)[1].split()[0] for line in stderr.splitlines() if marker in line]


def test_two_workers_share_the_queue_and_the_token_rests(github, dataset, redis_url, shared_database):
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(REPOSITORIES)
    # small pages: each repository is a chain of 8 pages, so both workers are busy throughout the rest
    workers = [
        start_worker(github, redis_url, shared_database, name, "PRSEED_PAGE_SIZE=5") for name in ("w1", "w2")
    ]
    # mid-crawl, both workers busy: whichever token the next request uses must rest for both
    wait_until(lambda: len(set(queue.active().values())) == 2 and len(data_requests(github)) >= 20, workers)
    assert_no_token_in(client(redis_url))  # mid-crawl: the workers' request queues, the token states
    github.inject("secondary", 1)  # one token rests: neither worker may use it meanwhile
    errors = [worker.communicate(timeout=300)[1] for worker in workers]
    for worker, stderr in zip(workers, errors, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    taken = {name: taken_by(stderr, name) for name, stderr in zip(("w1", "w2"), errors, strict=True)}
    assert taken["w1"] and taken["w2"], taken
    assert sorted(taken["w1"] + taken["w2"]) == REPOSITORIES
    assert database_rows(shared_database) == expected_rows(dataset, REPOSITORIES)
    hit = next(record for record in github.requests if record.status == 403)
    # Only a request already on its way when the 403 reached its worker may meet the rest;
    # after that, neither worker sends with the token until the rest is over.
    early = [record for record in github.requests if record.early]
    assert all(record.time < hit.end_time + IN_FLIGHT_SLACK for record in early), early
    rest = (hit.end_time + IN_FLIGHT_SLACK, hit.end_time + REST_SECONDS - 0.05)
    resting = [
        record for record in github.requests if record.token == hit.token and rest[0] < record.time < rest[1]
    ]
    assert not resting, "a request used a resting token"
    pages = [
        json.dumps([r.operation, r.variables], sort_keys=True)
        for r in data_requests(github)
        if r.status == 200
    ]
    assert len(pages) == len(set(pages)), "a page was fetched twice"
    assert queue.waiting() == [] and queue.active() == {}
    assert not client(redis_url).keys("prseed:worker:*")
    assert_no_token_in(client(redis_url))


def test_a_worker_killed_mid_way_leaves_its_repository_to_the_other(
    github, dataset, redis_url, shared_database
):
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(REPOSITORIES[:1])
    doomed = start_worker(github, redis_url, shared_database, "doomed")
    wait_until(lambda: len(data_requests(github)) >= 6, [doomed])
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    queue.enqueue(REPOSITORIES[1:])
    survivor = start_worker(github, redis_url, shared_database, "survivor")
    _, stderr = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, stderr[-3000:]
    assert f"took over {REPOSITORIES[0]} from worker doomed" in stderr
    assert database_rows(shared_database) == expected_rows(dataset, REPOSITORIES)
    assert queue.active() == {} and not client(redis_url).keys("prseed:worker:doomed*")


def test_a_stopped_worker_puts_its_repository_back(github, dataset, redis_url, shared_database):
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(REPOSITORIES[:2])
    worker = start_worker(github, redis_url, shared_database, "w1")
    wait_until(lambda: len(data_requests(github)) >= 6, [worker])
    worker.send_signal(signal.SIGINT)
    _, stderr = worker.communicate(timeout=120)
    assert "goes back to the queue" in stderr
    assert REPOSITORIES[0] in queue.waiting() and queue.active() == {}
    # handed back, nothing is lost: exit 0, saying so, and no "run the same command again"
    assert worker.returncode == 0, stderr[-3000:]
    assert f"worker w1: stopped; handed {REPOSITORIES[0]} back to the queue for the next worker" in stderr
    assert "run the same command again" not in stderr and "prseed: error" not in stderr
    rerun = start_worker(github, redis_url, shared_database)  # named by default: HOSTNAME-PID
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr[-3000:]
    assert database_rows(shared_database) == expected_rows(dataset, REPOSITORIES[:2])


def test_workers_starting_together_create_the_schema_once(shared_database):
    from concurrent.futures import ThreadPoolExecutor

    from prseed.db import open_database

    with ThreadPoolExecutor(6) as pool:
        for database in pool.map(lambda _: open_database(shared_database), range(6)):
            database.close()


def test_two_workers_take_webhook_triggered_repositories_first(github, dataset, redis_url, shared_database):
    """The queue holds repositories queued by hand when deliveries arrive for two of them and
    for a third not yet queued: every worker takes those before any other."""
    queue = RepositoryQueue(client(redis_url), "prseed")
    queue.enqueue(REPOSITORIES[:4])
    triggered = [REPOSITORIES[3], REPOSITORIES[5], REPOSITORIES[1]]
    receiver = Receiver(redis_url, shared_database, f"PRSEED_WEBHOOK_REPOSITORIES={','.join(REPOSITORIES)}")
    try:
        for minutes, repository in enumerate(triggered):
            pushed_at = f"2025-03-01T10:{59 - minutes:02d}:00Z"  # the first pushed most recently
            assert receiver.deliver("pull_request", event_payload(repository, pushed_at))[0] == 200
    finally:
        receiver.stop()
    assert queue.waiting()[:3] == triggered
    workers = [start_worker(github, redis_url, shared_database, name) for name in ("w1", "w2")]
    errors = [worker.communicate(timeout=300)[1] for worker in workers]
    for worker, stderr in zip(workers, errors, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    taken = {name: taken_by(stderr, name) for name, stderr in zip(("w1", "w2"), errors, strict=True)}
    assert sorted(taken["w1"] + taken["w2"]) == sorted(REPOSITORIES[:4] + [REPOSITORIES[5]])
    for names in taken.values():
        webhook_first = [name in triggered for name in names]
        assert webhook_first == sorted(webhook_first, reverse=True), taken
    assert all(taken.values()), taken
    assert sum(f"took {name} from the queue (webhook, pushed" in "".join(errors) for name in triggered) == 3
    assert database_rows(shared_database) == expected_rows(dataset, REPOSITORIES[:4] + [REPOSITORIES[5]])
