"""prseed's own Scrapy signals (connect with ``crawler.signals.connect``)."""

# Sent by the database pipeline once a batch is committed, with ``repositories``: the
# repositories whose completed sync (the new watermark) that batch wrote.  What a
# distributed worker waits for before it lets go of a repository.
repositories_synced = object()

# Sent when the crawl is paused (the engine sends no new request) and when it goes on again,
# by whatever pauses it (the JSON-RPC service's ``pause`` and ``unpause``): progress lines
# say ``paused``, and rates and ETAs leave the time paused out.
crawl_paused = object()
crawl_unpaused = object()
