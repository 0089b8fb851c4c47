"""Why a crawl stopped short, said by the component that stopped it: the crawl's last line.

A component that decides the crawl cannot go on (every token rejected, GitHub out of
reach, a repository not found, the database failing, the budget used up) calls
:func:`record` before it closes the spider; ``scrapy crawl`` ends with :func:`last_line`
of the crawl's stats. The outcome lives in the stats, so the log's stats dump and the
JSON-RPC service show it too. It must never hold a token, only its label (``…ab12``).
"""

from __future__ import annotations

REASON = "prseed/outcome/reason"
CAUSE = "prseed/outcome/cause"
RERUN_HELPS = "prseed/outcome/rerun_helps"
HANDED_BACK = "prseed/outcome/handed_back"
RERUN = "run the same command again to continue where it stopped (rows already written stay)"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 repository``, ``2 repositories``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def record(stats, reason: str, cause: str, rerun_helps: bool) -> None:
    """Say why the crawl stops: ``reason`` is the finish reason it closes with, ``cause``
    what is wrong and how to fix it, ``rerun_helps`` whether the same command, run again
    as it is, can finish the work. The first outcome recorded is the one that stopped the
    crawl; any later one is a consequence and is ignored."""
    if stats.get_value(REASON) is None:
        stats.set_value(REASON, reason)
        stats.set_value(CAUSE, cause)
        stats.set_value(RERUN_HELPS, rerun_helps)


def handed_back(stats, repositories: list[str]) -> None:
    """A distributed worker stopped by Ctrl-C gave every repository it held back to the
    queue: the next worker continues them, so the interruption is no reason to run it again."""
    stats.set_value(HANDED_BACK, len(repositories))


def last_line(stats: dict) -> str | None:
    """What a crawl that did not fetch everything it set out to ends with, or None."""
    reason = stats.get("finish_reason")
    failed = stats.get("prseed/pages_failed", 0)
    parts = []
    if stats.get(CAUSE):
        parts.append(stats[CAUSE])
        rerun = bool(stats.get(RERUN_HELPS))
    elif reason == "shutdown" and stats.get(HANDED_BACK) is not None:
        rerun = False
    elif reason == "shutdown":
        parts.append("the crawl was interrupted (finish reason: shutdown)")
        rerun = True
    elif reason != "finished":
        parts.append(f"the crawl stopped before its end (finish reason: {reason})")
        rerun = True
    else:
        rerun = False
    if failed:
        parts.append(f"{plural(failed, 'page')} failed (see the errors above)")
        rerun = rerun or not stats.get(CAUSE)  # a recorded cause says whether a rerun helps
    if not parts:
        return None
    return "; ".join(parts + ([RERUN] if rerun else []))
