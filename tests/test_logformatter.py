import logging

from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from prseed.extensions.logformatter import QuietLogFormatter


def formatter(level: str) -> QuietLogFormatter:
    return QuietLogFormatter.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": level}))


def test_item_messages_below_the_log_level_are_not_built():
    assert formatter("INFO").scraped({"a": 1}, None, None) is None
    assert formatter("DEBUG").scraped({"a": 1}, None, None)["level"] == logging.DEBUG


def test_drops_are_shown_at_their_own_level():
    crawler = get_crawler(settings_dict={"LOG_LEVEL": "INFO"})
    spider = crawler._create_spider("test")
    bookkeeping = DropItem("bookkeeping", log_level="DEBUG")
    real = DropItem("a pipeline dropped it")
    assert formatter("INFO").dropped({"a": 1}, bookkeeping, None, spider) is None
    assert formatter("INFO").dropped({"a": 1}, real, None, spider)["level"] == logging.WARNING
