"""prseed's own Scrapy signals (connect with ``crawler.signals.connect``)."""

# Sent by the database pipeline once a batch is committed, with ``repositories``: the
# repositories whose completed sync (the new watermark) that batch wrote.  What a
# distributed worker waits for before it lets go of a repository.
repositories_synced = object()
