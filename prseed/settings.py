"""prseed's Scrapy settings; override any of them with ``-s NAME=VALUE``.

Every setting prseed reads (its own, and the Scrapy ones it relies on) is declared once,
with its type, range, default and meaning, in :mod:`prseed.config`; its defaults are set
here (``DATABASE_URL``, ``GITHUB_GRAPHQL_URL`` and ``PRSEED_REDIS_URL`` from the
environment when set there). What follows is the wiring of Scrapy's components."""

from prseed import __version__
from prseed.config import project_defaults

globals().update(project_defaults())

BOT_NAME = "prseed"
SPIDER_MODULES = ["prseed.spiders"]
NEWSPIDER_MODULE = "prseed.spiders"
COMMANDS_MODULE = "prseed.commands"

# --- Scrapy, set for an API client ------------------------------------------
USER_AGENT = f"prseed/{__version__} (Scrapy)"
ROBOTSTXT_OBEY = False  # an API has no robots.txt to obey
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
COOKIES_ENABLED = False
RETRY_ENABLED = True
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
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
SPIDER_MIDDLEWARES = {
    # next to the spider: one Rows item per answer (off when FEEDS are set), so Scrapy's
    # own spider middlewares see a few grouped items instead of every row
    "prseed.middlewares.rows.RowsMiddleware": 1000,
}
# Scrapy re-reads each callback's source on every response to warn about generators that
# return values; prseed's callbacks have none, and it cost ~8 % of an offline replay.
WARN_ON_GENERATOR_RETURN_VALUE = False
ITEM_PIPELINES = {
    "prseed.pipelines.database.DatabasePipeline": 300,
}
EXTENSIONS = {
    "prseed.extensions.jobdir.JobdirGuard": 0,
    "prseed.extensions.gc.GarbageCollection": 0,
    "prseed.extensions.jsonrpc.JsonRpcService": 500,  # off unless JSONRPC_ENABLED
    "prseed.extensions.progress.ProgressExtension": 500,
    # Both give code execution to whoever reaches their port.
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- HTTP cache (off unless -s HTTPCACHE_ENABLED=1; see `scrapy cacheinfo`) ----
# Scrapy's filesystem layout, never a token on disk, each entry labelled with its repository.
HTTPCACHE_STORAGE = "prseed.extensions.httpcache.TokenFreeFilesystemCacheStorage"
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
LOG_FORMATTER = "prseed.extensions.logformatter.QuietLogFormatter"  # no per-item messages above DEBUG
