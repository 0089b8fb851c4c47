"""How many nodes a page asks for: fewer after GitHub found a query too heavy, more again
after a run of good pages."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Page size grows back (doubling) after this many good pages in a row.
GROW_AFTER = 5


class PageSizes:
    """The page size of each (repository, stream): PRSEED_PAGE_SIZE, halved down to
    PRSEED_MIN_PAGE_SIZE after RESOURCE_LIMITS_EXCEEDED or a 502/504/timeout retry, and
    doubled back after GROW_AFTER good pages.  The only owner of page sizes."""

    def __init__(self, page_size: int, min_page_size: int, crawler) -> None:
        self.page_size = page_size
        self.min_page_size = min_page_size
        self.crawler = crawler  # its stats are set once the crawl starts
        self.reduced: dict[tuple[str, str], int] = {}  # key -> page size now, when reduced
        self.good_pages: dict[tuple[str, str], int] = {}  # key -> good pages since the last reduction

    def current(self, key: tuple[str, str]) -> int:
        return self.reduced.get(key, self.page_size)

    def shrink(self, key: tuple[str, str], page_size: int, label: str) -> bool:
        """Ask for fewer nodes per page for the rest of this repository's stream (GitHub
        said the query was too heavy); False when already at the floor."""
        smaller = max(page_size // 2, self.min_page_size)
        if smaller >= page_size:
            return False
        self.reduced[key] = smaller
        self.good_pages[key] = 0
        self.crawler.stats.inc_value("prseed/page_size_reductions")
        logger.warning(
            "%s: query too heavy for GitHub with %d %s a page; asking for %d",
            key[0],
            page_size,
            label,
            smaller,
        )
        return True

    def succeeded(self, key: tuple[str, str]) -> None:
        """After a run of good pages, grow a reduced page size back towards PRSEED_PAGE_SIZE."""
        if key not in self.reduced:
            return
        self.good_pages[key] += 1
        if self.good_pages[key] >= GROW_AFTER:
            self.good_pages[key] = 0
            grown = min(self.reduced[key] * 2, self.page_size)
            if grown == self.page_size:
                del self.reduced[key]
            else:
                self.reduced[key] = grown
