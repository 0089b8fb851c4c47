"""The crawl engine: streams declared as data, crawled by one engine behind a thin spider."""
