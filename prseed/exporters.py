"""Feed exporters (``-o``/``-O``, ``FEEDS``): Scrapy's, writing records a consumer can tell apart.

A crawl yields one item per database row, of eleven shapes, and yields the rows that many
pull requests refer to (their authors, labels, milestone, repository) again with each of
them.  prseed's exporters, one per Scrapy format (``FEED_EXPORTERS``), write each item as
a record whose first field, ``table``, names the table its row belongs to; write a shared
row once per file; and leave out fields that are the database's bookkeeping (a pull
request's ``complete``, which the crawl sets once the PR's last nested page is written,
after its record has gone to the feed).  The feed's ``item_classes`` filter sees the items
themselves, so it works as in any Scrapy project.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from scrapy import exporters

from prseed import items
from prseed.db.schema import TABLE_BY_ITEM

#: Rows many pull requests refer to, which the spider yields again with each of them.
SHARED_ITEMS = (items.Repository, items.Member, items.Milestone, items.Label)


@cache
def feed_fields(item_class: type) -> tuple[str, ...]:
    """The fields of an item class that feeds carry, in declaration order."""
    return tuple(field.name for field in dataclasses.fields(item_class) if field.metadata.get("feed", True))


def feed_record(item: Any) -> dict[str, Any]:
    """A row item as a feed record: its table, then its fields."""
    return {"table": item.TABLE, **{name: getattr(item, name) for name in feed_fields(type(item))}}


class FeedRecords:
    """Mixed into a Scrapy item exporter: see the module's docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_rows_written: set[tuple] = set()  # (item class, natural key)
        self.stats = None

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        exporter = cls(*args, **kwargs)
        exporter.stats = crawler.stats
        return exporter

    def export_item(self, item: Any) -> None:
        if isinstance(item, SHARED_ITEMS):
            row = (type(item), TABLE_BY_ITEM[type(item)].key_of(item))
            if row in self.shared_rows_written:
                if self.stats is not None:
                    self.stats.inc_value("prseed/feed/shared_rows_repeated")
                return
            self.shared_rows_written.add(row)
        super().export_item(feed_record(item) if type(item) in TABLE_BY_ITEM else item)


class JsonLinesItemExporter(FeedRecords, exporters.JsonLinesItemExporter):
    pass


class JsonItemExporter(FeedRecords, exporters.JsonItemExporter):
    pass


class CsvItemExporter(FeedRecords, exporters.CsvItemExporter):
    """One table per file makes sense in CSV (``item_classes``): its columns are those of
    the first record."""


class XmlItemExporter(FeedRecords, exporters.XmlItemExporter):
    pass


class MarshalItemExporter(FeedRecords, exporters.MarshalItemExporter):
    pass


class PickleItemExporter(FeedRecords, exporters.PickleItemExporter):
    pass
