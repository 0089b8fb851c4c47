"""``python -m bench simulate``: ``scrapy simulate`` over a made-up history of N PRs
(written through the Database API, not crawled): its wall time and PRs per second.
Target: 50,000 PRs in under a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, heading, sqlite_url, table, write_result

TARGET_SECONDS = 60
TARGET_PRS = 50_000
REPOSITORIES = ("antiwork/gumroad", "polarsource/polar")  # the PRs are split between them


def run(size: int, workdir: Path, results_dir: Path, profile: bool = True) -> None:
    from prseed.db import open_database
    from tests.history import fill

    url = sqlite_url(workdir / "simulate.sqlite3")
    heading(f"simulate: writing a history of {size} PRs")
    database = open_database(url)
    try:
        for index, repository in enumerate(REPOSITORIES):
            fill(database, repository, size // len(REPOSITORIES) + (index < size % len(REPOSITORIES)))
    finally:
        database.close()
    heading("simulate: scrapy simulate")
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    command = [sys.executable, "-m", "scrapy", "simulate", "--json", "-s", f"DATABASE_URL={url}"]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"scrapy simulate failed: {finished.stderr[-3000:]}")
    summary = json.loads(finished.stdout)
    prs = sum(entry["pull_requests"] for entry in summary["repositories"])
    rows = {
        name: sum(entry[name] for entry in summary["repositories"])
        for name in summary["repositories"][0]
        if name not in ("repository", "team", "pull_requests")
    }
    per_second = round(prs / wall, 1)
    print(table([(prs, f"{wall:.1f}", per_second)], ("PRs", "wall seconds", "PRs/s")))
    print(table(list(rows.items()), ("table", "rows")))
    # the target scaled to this size: 50,000 PRs a minute
    met = wall < TARGET_SECONDS * max(1.0, size / TARGET_PRS)
    write_result(
        results_dir,
        "simulate",
        size,
        {
            "simulate": {"prs": prs, "wall_seconds": round(wall, 2), "prs_per_second": per_second},
            "rows": rows,
            "targets": {"seconds_per_50000_prs": TARGET_SECONDS, "met": met},
        },
    )
