"""prseed's own Scrapy signals (connect with ``crawler.signals.connect``)."""

# Sent by the database pipeline once a batch is committed, with ``repositories``: the
# repositories whose completed sync (the new watermark) that batch wrote.  What a
# distributed worker waits for before it lets go of a repository.
repositories_synced = object()

# Sent by the spider when a repository's crawl is over, with ``repository`` and ``failed``
# (True: a page was lost or the repository is missing, so the crawl cannot complete), and
# by the database pipeline, failed, when a rejected row kept a finished sync unwritten.  A
# distributed worker takes the next repository then, and lets go of a failed one.
repository_stopped = object()

# Sent when the crawl is paused (the engine sends no new request) and when it goes on again,
# by whatever pauses it (the JSON-RPC service's ``pause`` and ``unpause``): progress lines
# say ``paused``, and rates and ETAs leave the time paused out.
crawl_paused = object()
crawl_unpaused = object()
