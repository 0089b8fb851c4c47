"""``memory``: the crawl process's RSS while it crawls many PRs.

A live crawl of the fake server (in its own process) into SQLite.  Every 0.25 s the
benchmark reads ``VmRSS`` and ``VmHWM`` (the peak) from ``/proc/<pid>/status`` of the
``scrapy crawl`` process and counts the PRs in the database (written in batches of
``PRSEED_DB_BATCH_SIZE`` items, so the count trails the crawl by at most one batch), and
reports the RSS when 20 %, 50 % and 100 % of the PRs are in (10k, 25k and 50k at the full
size) and the peak.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import count_pull_requests, crawl, heading, proc_status, sqlite_url, table, write_result
from bench.fakeserver import ServerProcess

REPOSITORY = "acme/widgets"
TOKEN = "bench-token-memory"
CHECKPOINTS = (0.2, 0.5, 1.0)
TARGET_MB = 300


def run(size: int, workdir: Path, results_dir: Path, profile: bool = True) -> dict:
    heading(f"memory: {size} PRs, live crawl of the fake server into SQLite")
    database = workdir / "memory.sqlite3"
    config = {"repos": {REPOSITORY: size}, "tokens": {TOKEN: "bench"}, "big_pr": True, "budget": 10**9}

    def sample(pid: int) -> dict | None:
        status = proc_status(pid)
        if status is None:
            return None
        return {
            "prs": count_pull_requests(database) or 0,
            "rss_kb": status["VmRSS"],
            "hwm_kb": status["VmHWM"],
        }

    with ServerProcess(config) as server:
        result = crawl(
            workdir,
            "memory",
            {"repo": REPOSITORY},
            {"GITHUB_GRAPHQL_URL": server.url, "DATABASE_URL": sqlite_url(database)},
            tokens=[TOKEN],
            sampler=sample,
        )
    result.check()
    samples = result.samples
    if not samples:
        raise RuntimeError("the crawl ended before the first sample")
    peak_kb = max(sample["hwm_kb"] for sample in samples)
    checkpoints = []
    for fraction in CHECKPOINTS:
        wanted = int(size * fraction)
        reached = next((s for s in samples if s["prs"] >= wanted), None)
        if reached is None:  # the last batch lands at close, after the last sample
            reached = samples[-1]
        checkpoints.append(
            {
                "prs_wanted": wanted,
                "prs": reached["prs"],
                "seconds": reached["t"],
                "rss_mb": round(reached["rss_kb"] / 1024, 1),
            }
        )
    first, last = checkpoints[0], checkpoints[-1]
    growth = last["rss_mb"] - first["rss_mb"]
    print(
        table(
            [(c["prs_wanted"], c["prs"], c["seconds"], c["rss_mb"]) for c in checkpoints],
            ("PRs", "PRs in the database", "s", "RSS MB"),
        )
    )
    print(
        f"peak RSS (VmHWM): {peak_kb / 1024:.1f} MB (target < {TARGET_MB} MB); "
        f"{growth:+.1f} MB from {first['prs_wanted']} to {last['prs_wanted']} PRs"
    )
    stride = max(1, len(samples) // 200)
    figures = {
        "repository": REPOSITORY,
        "dataset": {"big_pr": True, "seed": 1},
        "crawl": {
            "wall_seconds": round(result.wall_seconds, 2),
            "elapsed_seconds": round(result.elapsed, 2),
            "cpu_seconds": round(result.cpu_seconds, 2),
            "prs_per_second": round(size / result.elapsed, 1),
        },
        "checkpoints": checkpoints,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "growth_mb": round(growth, 1),
        "scrapy_memusage_max_mb": round((result.stats.get("memusage/max") or 0) / 2**20, 1),
        "samples": [
            {"t": s["t"], "prs": s["prs"], "rss_mb": round(s["rss_kb"] / 1024, 1)} for s in samples[::stride]
        ],
        "targets": {"peak_rss_mb": TARGET_MB, "met": peak_kb / 1024 < TARGET_MB},
    }
    write_result(results_dir, "memory", size, figures)
    return figures
