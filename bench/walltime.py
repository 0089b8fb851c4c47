"""``walltime``: three repositories, three tokens of three accounts, 200 ms per answer.

The fake server (its own process) adds ``latency`` = 0.2 s to every answer and enforces
GitHub's secondary limits per token: 2,000 points a minute, and at most
``GITHUB_MAX_CONCURRENT_PER_TOKEN`` requests in flight (prseed's own setting, far stricter
than GitHub's 100); either answers 403.  Each account has GitHub's 5,000 points an hour.
One ``scrapy crawl prs -a repos=...`` fetches every PR of the three repositories.

Reported: PRs per minute, the points per minute spent against the pacing ceiling
(``PRSEED_POINTS_PER_MINUTE`` x tokens), the busiest minute of each token, the most requests
a token had in flight, and the 403s (which must be none).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from bench.common import crawl, heading, setting, sqlite_url, table, write_result
from bench.fakeserver import ServerProcess

REPOSITORIES = ("acme/widgets", "globex/gadgets", "initech/reports")
TOKENS = {"bench-token-alice": "alice", "bench-token-bob": "bob", "bench-token-carol": "carol"}
LATENCY = 0.2
GITHUB_POINTS_PER_MINUTE = 2000
GITHUB_POINTS_PER_HOUR = 5000


def busiest_minute(charges: list[tuple[float, int]]) -> int:
    """The most points charged within any 60 s window."""
    charges.sort()
    best, start, total = 0, 0, 0
    for end in range(len(charges)):
        total += charges[end][1]
        while charges[end][0] - charges[start][0] >= 60:
            total -= charges[start][1]
            start += 1
        best = max(best, total)
    return best


def most_in_flight(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    best = current = 0
    for _, change in events:
        current += change
        best = max(best, current)
    return best


def run(size: int, workdir: Path, results_dir: Path, profile: bool = True) -> dict:
    max_in_flight = setting("GITHUB_MAX_CONCURRENT_PER_TOKEN")
    points_per_token = setting("PRSEED_POINTS_PER_MINUTE")
    total_prs = size * len(REPOSITORIES)
    heading(
        f"walltime: {len(REPOSITORIES)} repositories x {size} PRs, {len(TOKENS)} tokens, "
        f"{LATENCY * 1000:.0f} ms per answer"
    )
    config = {
        "repos": {repository: size for repository in REPOSITORIES},
        "tokens": TOKENS,
        "big_pr": True,
        "budget": GITHUB_POINTS_PER_HOUR,
        "points_per_minute": GITHUB_POINTS_PER_MINUTE,
        "max_concurrent_per_token": max_in_flight,
        "latency": LATENCY,
    }
    with ServerProcess(config) as server:
        result = crawl(
            workdir,
            "walltime",
            {"repos": ",".join(REPOSITORIES)},
            {"GITHUB_GRAPHQL_URL": server.url, "DATABASE_URL": sqlite_url(workdir / "walltime.sqlite3")},
            tokens=list(TOKENS),
        )
        records = server.records()
    (workdir / "requests.json").write_text(json.dumps(records))  # kept with --keep
    result.check()
    if result.stats.get("prseed/pull_requests") != total_prs:
        raise RuntimeError(f"crawled {result.stats.get('prseed/pull_requests')} PRs, not {total_prs}")
    crawl_records = [record for record in records if record["operation"] != "TokenCheck"]
    span = max(r["end_time"] for r in crawl_records) - min(r["time"] for r in crawl_records)
    points = sum(r["cost"] for r in records)
    crawl_points = sum(r["cost"] for r in crawl_records)
    forbidden = sum(1 for r in records if r["status"] == 403)
    tokens_used = len({r["token"] for r in crawl_records})
    ceiling = points_per_token * tokens_used
    points_per_minute = crawl_points / span * 60
    per_token = defaultdict(lambda: {"requests": 0, "points": 0, "charges": [], "intervals": []})
    for record in records:
        entry = per_token[record["token"]]
        entry["requests"] += 1
        entry["points"] += record["cost"]
        entry["charges"].append((record["time"], record["cost"]))
        entry["intervals"].append((record["time"], record["end_time"]))
    tokens = {
        f"token {label}": {
            "requests": entry["requests"],
            "points": entry["points"],
            "busiest_minute_points": busiest_minute(entry["charges"]),
            "most_in_flight": most_in_flight(entry["intervals"]),
        }
        for label, entry in sorted(per_token.items())
    }
    prs_per_minute = total_prs / result.elapsed * 60
    durations = defaultdict(list)
    for record in crawl_records:
        durations[record["operation"]].append(record["end_time"] - record["time"])
    answer_seconds = {op: round(sum(times) / len(times), 3) for op, times in sorted(durations.items())}
    pages = len(durations["PullRequestPage"])
    # A repository's PR pages are fetched one after another (each needs the cursor of the one
    # before), so the crawl can take no less than its pages' answer times in a row.
    chain = pages / len(REPOSITORIES) * answer_seconds.get("PullRequestPage", 0)
    print(
        table(
            [
                (name, t["requests"], t["points"], t["busiest_minute_points"], t["most_in_flight"])
                for name, t in tokens.items()
            ],
            ("", "requests", "points", "busiest 60 s", "most in flight"),
        )
    )
    print(
        f"{total_prs} PRs in {result.elapsed:.1f} s: {prs_per_minute:,.0f} PRs/minute "
        f"({len(crawl_records)} requests over {span:.1f} s, {len(crawl_records) / span:.1f}/s)"
    )
    print(
        f"points: {points_per_minute:,.0f}/minute of a pacing ceiling of {ceiling:,}/minute "
        f"({points_per_token} x {tokens_used} tokens): {points_per_minute / ceiling:.0%}"
    )
    print(
        f"the crawl process used {result.cpu_seconds:.1f} s of CPU in {result.wall_seconds:.1f} s "
        f"({result.cpu_seconds / result.wall_seconds:.0%} of one core)"
    )
    print(
        f"answer time at the server (latency included), by operation: {answer_seconds}; "
        f"{pages / len(REPOSITORIES):.0f} PR pages per repository in a row: {chain:.1f} s"
    )
    print(
        f"secondary-limit (403) answers: {forbidden} "
        f"(prseed's count: {result.stats.get('prseed/ratelimit/secondary_hits', 0)})"
    )
    figures = {
        "repositories": list(REPOSITORIES),
        "prs": total_prs,
        "server": {
            k: config[k] for k in ("latency", "budget", "points_per_minute", "max_concurrent_per_token")
        },
        "crawl": {
            "wall_seconds": round(result.wall_seconds, 2),
            "elapsed_seconds": round(result.elapsed, 2),
            "cpu_seconds": round(result.cpu_seconds, 2),
            "requests_seconds": round(span, 2),
            "requests": len(records),
        },
        "prs_per_minute": round(prs_per_minute),
        "points": points,
        "points_per_minute": round(points_per_minute),
        "pacing_ceiling_per_minute": ceiling,
        "share_of_ceiling": round(points_per_minute / ceiling, 3),
        "tokens": tokens,
        "answer_seconds": answer_seconds,
        "pull_request_pages_per_repository": round(pages / len(REPOSITORIES), 1),
        "pull_request_page_chain_seconds": round(chain, 2),
        "secondary_limit_403": forbidden,
        "prseed_secondary_hits": result.stats.get("prseed/ratelimit/secondary_hits", 0),
        "targets": {"secondary_limit_403": 0, "met": forbidden == 0},
    }
    write_result(results_dir, "walltime", size, figures)
    return figures
