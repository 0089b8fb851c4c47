"""What every benchmark needs: crawls as ``scrapy crawl`` subprocesses, /proc sampling,
row counts and the JSON result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.stats import READY

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# Settings given with ``python -m bench NAME -s NAME=VALUE``: every crawl gets them (those a
# benchmark sets itself, such as DATABASE_URL, win).
EXTRA_SETTINGS: dict[str, str] = {}
# The benchmarks measure the PR stream (their baselines and REST figures know only PRs), as
# the test crawls do (tests/crawling.py); ``-s PRSEED_DEPLOYMENTS=1`` overrides it.
PR_STREAM_ONLY: dict[str, object] = {"PRSEED_DEPLOYMENTS": False}


def setting(name: str):
    """A prseed setting as the benchmark's crawls see it: ``-s`` first, then PR_STREAM_ONLY,
    then prseed/settings.py."""
    from prseed import settings

    default = PR_STREAM_ONLY.get(name, getattr(settings, name))
    if name not in EXTRA_SETTINGS:
        return default
    return type(default)(EXTRA_SETTINGS[name]) if default is not None else EXTRA_SETTINGS[name]


# --- crawls --------------------------------------------------------------------------


@dataclass
class CrawlResult:
    returncode: int
    wall_seconds: float  # the whole `scrapy crawl` process, interpreter start-up included
    cpu_seconds: float  # user + system time of that process
    stats: dict  # Scrapy's final stats (bench.stats.JsonStats)
    log: Path
    samples: list[dict] = field(default_factory=list)  # from the sampler, if any
    # process start to the end of its start-up (bench.stats.READY); None if it never got there
    startup_seconds: float | None = None

    @property
    def work_seconds(self) -> float:
        """The process after its start-up: the crawl, the last writes and the exit."""
        return self.wall_seconds - (self.startup_seconds or 0.0)

    @property
    def elapsed(self) -> float:
        """The crawl itself (Scrapy's ``elapsed_time_seconds``: spider open to close)."""
        return float(self.stats.get("elapsed_time_seconds") or self.wall_seconds)

    def check(self) -> None:
        """Fail loudly if the crawl did not fetch everything: a benchmark of a broken
        crawl measures nothing."""
        if self.returncode != 0 or self.stats.get("finish_reason") != "finished":
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"crawl failed (exit code {self.returncode}); its log ends:\n{tail}")
        if self.stats.get("prseed/pages_failed"):
            raise RuntimeError(f"crawl lost {self.stats['prseed/pages_failed']} pages; see {self.log}")
        from tests.processes import assert_no_deprecation  # what the test suite fails on

        for output in {self.log, self.log.with_suffix(".err")}:
            if output.exists():
                assert_no_deprecation(output.read_text(errors="replace"))


def crawl(
    workdir: Path,
    name: str,
    arguments: dict[str, str],
    settings: dict[str, object],
    tokens: list[str] | None = None,
    profile: Path | None = None,
    sampler: Callable[[int], dict | None] | None = None,
    sample_every: float = 0.25,
    wrapper: list[str] | None = None,
) -> CrawlResult:
    """Run ``scrapy crawl prs`` from the repository's root with prseed's own settings plus
    ``settings``, and wait for it.  ``sampler(pid)`` is called every ``sample_every``
    seconds while it runs; the dicts it returns are kept in ``samples``.  ``profile``: write
    cProfile's stats there; ``wrapper``: a command to run the crawl under (py-spy)."""
    stats_file = workdir / f"{name}.stats.json"
    log = workdir / f"{name}.log"
    command = [sys.executable, "-m", "scrapy", "crawl", "prs"]
    for key, value in arguments.items():
        command += ["-a", f"{key}={value}"]
    merged = {
        **PR_STREAM_ONLY,
        **EXTRA_SETTINGS,
        "STATS_CLASS": "bench.stats.JsonStats",
        "BENCH_STATS_FILE": str(stats_file),
        "LOG_FILE": str(log),
        **settings,
    }
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    if profile is not None:
        command += ["--profile", str(profile)]
    if wrapper:
        command = [*wrapper, *command]
    environment = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_TOKENS")}
    if tokens:
        environment["GITHUB_TOKENS"] = ",".join(tokens)
    environment.pop("DATABASE_URL", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()  # the clock bench.stats.READY is read from, machine-wide
    samples: list[dict] = []
    with open(log.with_suffix(".err"), "w") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=stderr
        )
        if sampler is not None:
            while process.poll() is None:
                sample = sampler(process.pid)
                if sample is not None:
                    samples.append({"t": round(time.monotonic() - started, 3), **sample})
                time.sleep(sample_every)
        returncode = process.wait()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    if not log.exists():
        log = log.with_suffix(".err")
    ready = stats.get(READY)
    startup = ready - started if ready is not None else None
    return CrawlResult(returncode, wall, cpu, stats, log, samples, startup)


# --- /proc ---------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int] | None:
    """VmRSS and VmHWM (peak RSS) of a process, in kB; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values if "VmRSS" in values else None


# --- databases -----------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"  # an absolute path gives the four slashes


def row_counts(database_url: str) -> dict[str, int]:
    """Rows per table of GitHub data (sync_state, prseed's own bookkeeping, left out)."""
    from prseed.db import open_database
    from prseed.db.schema import DATA_TABLES

    database = open_database(database_url)
    try:
        counts = {}
        with database.transaction() as cursor:
            for table in DATA_TABLES:
                cursor.execute(f"SELECT count(*) FROM {table.name}")
                counts[table.name] = cursor.fetchone()[0]
        return counts
    finally:
        database.close()


def count_pull_requests(path: Path) -> int | None:
    """PRs written so far to a SQLite database another process is writing (WAL mode)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return connection.execute("SELECT count(*) FROM pull_requests").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return None


# --- results ---------------------------------------------------------------------------


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # other work on the machine skews every figure: the load when the result was written
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def write_result(results_dir: Path, name: str, size: int, figures: dict) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "size": size,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "extra_settings": dict(EXTRA_SETTINGS),
        **figures,
    }
    path = results_dir / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    print(f"\nwritten to {path}")
    return path


def table(rows: list[tuple], header: tuple) -> str:
    """A plain text table, columns padded to their widest cell."""
    cells = [tuple(str(cell) for cell in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def heading(text: str) -> None:
    print(f"\n== {text} ==", flush=True)
