"""The last line of a crawl that did not complete: its cause, and re-running only where it helps."""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from prseed import outcome


def stats_after(*records, **values) -> dict:
    stats = MemoryStatsCollector(get_crawler())
    for reason, cause, rerun_helps in records:
        outcome.record(stats, reason, cause, rerun_helps)
    for key, value in values.items():
        stats.set_value(key.replace("__", "/"), value)
    return stats.get_stats()


def test_a_complete_crawl_has_no_last_line():
    assert outcome.last_line(stats_after(finish_reason="finished")) is None


def test_a_cause_that_running_again_cannot_fix_is_said_alone():
    stats = stats_after(("no_valid_token", "every GitHub token was rejected (401): …ab12", False))
    assert outcome.last_line(stats) == "every GitHub token was rejected (401): …ab12"


def test_the_first_cause_recorded_is_the_one_said():
    stats = stats_after(
        ("database_error", "writing to the database failed (gone)", True),
        ("no_valid_token", "every GitHub token was rejected (401): …ab12", False),
    )
    assert outcome.last_line(stats) == f"writing to the database failed (gone); {outcome.RERUN}"


def test_failed_pages_and_interruptions_suggest_running_again():
    one = outcome.last_line(stats_after(finish_reason="finished", prseed__pages_failed=1))
    assert one == f"1 page failed (see the errors above); {outcome.RERUN}"
    three = outcome.last_line(stats_after(finish_reason="finished", prseed__pages_failed=3))
    assert three.startswith("3 pages failed")
    interrupted = outcome.last_line(stats_after(finish_reason="shutdown"))
    assert interrupted == f"the crawl was interrupted (finish reason: shutdown); {outcome.RERUN}"


def test_plural():
    assert outcome.plural(1, "repository", "repositories") == "1 repository"
    assert outcome.plural(2, "repository", "repositories") == "2 repositories"
