"""prseed's Scrapy settings.  Every prseed setting is documented in the README's table;
override any of them with ``-s NAME=VALUE``."""

import os

from prseed import __version__

BOT_NAME = "prseed"
SPIDER_MODULES = ["prseed.spiders"]
NEWSPIDER_MODULE = "prseed.spiders"
COMMANDS_MODULE = "prseed.commands"

# --- GitHub ----------------------------------------------------------------
# GitHub Enterprise Server: https://HOST/api/graphql
GITHUB_GRAPHQL_URL = "https://api.github.com/graphql"
# Tokens are read from the environment (GITHUB_TOKENS=a,b or GITHUB_TOKEN=a) when these
# are unset; they are never written to logs, stats, the HTTP cache or JOBDIR.
GITHUB_TOKENS = None
GITHUB_TOKEN = None
GITHUB_MAX_CONCURRENT_PER_TOKEN = 2  # requests in flight per token
PRSEED_POINTS_PER_MINUTE = 1500  # per token; GitHub's secondary limit is 2,000
PRSEED_RATELIMIT_WAIT = True  # wait for a budget reset; False: stop and say when it resets

# --- What a crawl asks for -------------------------------------------------
PRSEED_PAGE_SIZE = 25  # pull requests per page query (1-100)
PRSEED_MIN_PAGE_SIZE = 5  # floor when GitHub's resource limits make prseed ask for less
PRSEED_PROJECTS_FILE = None  # your own presets (TOML, like prseed/projects.toml); None: prseed's
PRSEED_CHECK_RUNS = "head"  # head | all | none: check runs of the head commit, every commit, or none

# --- Database --------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///prseed.sqlite3")
PRSEED_DB_BATCH_SIZE = 10000  # rows per transaction (see the README's "Performance")
PRSEED_DB_FLUSH_SECONDS = 5.0  # and at least this often
# An incremental crawl re-reads PRs updated this long before the last sync's newest PR
# (GitHub's clocks and timestamps are not perfectly ordered).
PRSEED_SYNC_OVERLAP_SECONDS = 60

# --- Scrapy, set for an API client ------------------------------------------
USER_AGENT = f"prseed/{__version__} (Scrapy)"
ROBOTSTXT_OBEY = False  # an API has no robots.txt to obey
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 60  # GitHub stops a query after 10 s; allow for slow networks
COOKIES_ENABLED = False
RETRY_ENABLED = True
RETRY_TIMES = 5
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 1.0  # seconds before the first retry, doubling for each further one
RETRY_BACKOFF_MAX = 60.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "prseed.middlewares.retry.BackoffRetryMiddleware": 550,
    # process_response runs from the highest number down: the token comes off first,
    # then non-JSON answers are retried before the HTTP cache (900) can store them.
    "prseed.middlewares.graphql.GraphQLResponseMiddleware": 920,
    "prseed.middlewares.tokens.TokenPoolMiddleware": 950,
}
ADDONS = {
    "prseed.addons.OfflineReplay": 0,
    "prseed.addons.DistributedCrawl": 0,
}
# Replay the HTTP cache with no network and no token (see the README's "Offline replay").
PRSEED_OFFLINE = False
SPIDER_MIDDLEWARES = {
    # next to the spider: one Rows item per answer (off when FEEDS are set), so Scrapy's
    # own spider middlewares see a few grouped items instead of every row
    "prseed.middlewares.rows.RowsMiddleware": 1000,
}
# Scrapy re-reads each callback's source on every response to warn about generators that
# return values; prseed's callbacks have none, and it cost ~8 % of an offline replay.
WARN_ON_GENERATOR_RETURN_VALUE = False
PRSEED_GROUP_ROWS = True
ITEM_PIPELINES = {
    "prseed.pipelines.database.DatabasePipeline": 300,
}
EXTENSIONS = {
    "prseed.extensions.jobdir.JobdirGuard": 0,
    "prseed.extensions.jsonrpc.JsonRpcService": 500,  # off unless JSONRPC_ENABLED
    "prseed.extensions.progress.ProgressExtension": 500,
    "prseed.distributed.Worker": 500,  # off unless PRSEED_REDIS_URL
    # Both give code execution to whoever reaches their port.
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Seconds between progress lines (one per repository; on a terminal, also a live status
# line on stderr); 0: neither. The summary table at the end is always logged.
PRSEED_PROGRESS_INTERVAL = 10

# --- Scale out (see the README's "Scale out") ----------------------------------
# redis://HOST:PORT/DB: this process is a worker. Workers share one queue of repositories
# (fed by `scrapy enqueue`) and the tokens' budgets; scrapy-redis's scheduler holds each
# worker's requests. None (default): one process crawls the -a repositories.
PRSEED_REDIS_URL = os.environ.get("PRSEED_REDIS_URL")
PRSEED_REDIS_PREFIX = "prseed"  # every Redis key prseed uses starts with this and a colon
PRSEED_WORKER_NAME = None  # None: HOSTNAME-PID
PRSEED_WORKER_REPOSITORIES = 1  # unfinished repositories a worker holds at once
PRSEED_WORKER_TTL = 30  # seconds without a heartbeat before a worker's repositories are taken over
PRSEED_WORKER_IDLE_EXIT = 0  # seconds a worker waits for new work once none is left ("inf": forever)

# --- JSON-RPC web service (see the README's "Live monitoring and control") ----
# scrapy-jsonrpc's settings; a fixed list of methods on POST /crawler, no attribute walking.
JSONRPC_ENABLED = False
JSONRPC_HOST = "127.0.0.1"  # loopback only; another address exposes stats, progress and settings
JSONRPC_PORT = [6024, 6030]  # a port, or [low, high]: the first free one is used (0: any free port)
# Needed by pause/unpause/close (sent as "Authorization: Bearer ..."); None: they are refused.
# Unset here, it is read from the environment's PRSEED_JSONRPC_SECRET; never logged.
JSONRPC_SECRET = None

# --- HTTP cache (off unless -s HTTPCACHE_ENABLED=1; see `scrapy cacheinfo`) ----
# Scrapy's filesystem layout, never a token on disk, each entry labelled with its repository.
HTTPCACHE_STORAGE = "prseed.httpcache.TokenFreeFilesystemCacheStorage"
HTTPCACHE_DIR = "httpcache"  # under the project's .scrapy/ directory unless absolute
HTTPCACHE_EXPIRATION_SECS = 0  # entries never expire; re-fetch with -a refresh=1 or cacheinfo --delete
# Never cache rejected tokens, rate limits or server errors: they are retried, not replayed.
HTTPCACHE_IGNORE_HTTP_CODES = [401, 403, 429, 500, 502, 503, 504]
FEED_EXPORT_ENCODING = "utf-8"
# Records that name their table, shared rows (members, labels...) once per file, no `complete`.
FEED_EXPORTERS = {
    "json": "prseed.exporters.JsonItemExporter",
    "jsonlines": "prseed.exporters.JsonLinesItemExporter",
    "jsonl": "prseed.exporters.JsonLinesItemExporter",
    "jl": "prseed.exporters.JsonLinesItemExporter",
    "csv": "prseed.exporters.CsvItemExporter",
    "xml": "prseed.exporters.XmlItemExporter",
    "marshal": "prseed.exporters.MarshalItemExporter",
    "pickle": "prseed.exporters.PickleItemExporter",
}
LOG_LEVEL = "INFO"
LOG_FORMATTER = "prseed.logformatter.QuietLogFormatter"  # no per-item messages above DEBUG
