"""Scale out: many workers take repositories from one queue in Redis (README: "Scale out").

What Redis holds, under ``PRSEED_REDIS_PREFIX`` (``prseed`` below):

* ``prseed:queue`` (sorted set) and ``prseed:queue:entries`` (hash): repositories waiting for
  a worker, in the order of :mod:`~prseed.distributed.priority`, and why each is queued;
* ``prseed:dirty`` (+ ``:entries``): repositories asked for again while being crawled;
* ``prseed:active`` (hash): repository -> the worker crawling it (``:entries``: why it was queued);
* ``prseed:worker:NAME`` (string with a TTL): present while worker NAME is alive;
* ``prseed:worker:NAME:requests`` / ``:dupefilter``: the worker's scrapy-redis scheduler;
* ``prseed:token:ID`` (hash) and ``prseed:token:ID:points`` (hash of second -> points):
  each credential's budget, rest and pacing window, shared by all workers. ID is the
  credential's stable id (:class:`prseed.tokens.Credential`); no secret reaches Redis;
* ``prseed:webhook:deliveries`` (hash) and ``prseed:webhook:delivery:ID`` (with a TTL): the
  webhook receiver's (:mod:`prseed.webhooks`) counts, and the deliveries it has seen.

A repository's requests stay with the worker that took it, because its callbacks count
the repository's outstanding pages in that worker's memory. A worker that dies leaves its
repositories in ``active`` under a name whose liveness key expires; another worker takes
them over and continues from the database (the PR-list cursor and the incomplete PRs),
exactly as a single crawl resumes after ``kill -9``. A repository leaves ``active`` only
once the batch holding its completed sync is committed.

One module per job: :mod:`~prseed.distributed.client` (the Redis client, its check, outages),
:mod:`~prseed.distributed.queue` (the queue of repositories and the heartbeats),
:mod:`~prseed.distributed.priority` (the queue's order), :mod:`~prseed.distributed.known`
(what the database knows of repositories),
:mod:`~prseed.distributed.worker` (the Worker extension), :mod:`~prseed.distributed.tokens`
(the shared token pool), :mod:`~prseed.distributed.scheduler` (scrapy-redis's scheduler) and
:mod:`~prseed.distributed.scripts` (the Lua scripts, in ``lua/``). The add-on
:class:`prseed.addons.DistributedCrawl` registers what a worker needs.
"""

from prseed.distributed.client import REDIS_TIMEOUT, Outage, check_redis, redis_server
from prseed.distributed.queue import RepositoryQueue, check_worker_name, default_worker_name, worker_key
from prseed.distributed.scheduler import RedisScheduler, SpiderlessStats
from prseed.distributed.tokens import TOKEN_STATE_SECONDS, SharedTokenPool, token_key
from prseed.distributed.worker import Worker

__all__ = [
    "REDIS_TIMEOUT",
    "TOKEN_STATE_SECONDS",
    "Outage",
    "RedisScheduler",
    "RepositoryQueue",
    "SharedTokenPool",
    "SpiderlessStats",
    "Worker",
    "check_redis",
    "check_worker_name",
    "default_worker_name",
    "redis_server",
    "token_key",
    "worker_key",
]
