"""``replay``: rebuild the database from the HTTP cache, against a plain script doing the same.

A live crawl of the fake server fills the HTTP cache once (not timed).  Then, with the
server gone, each of these runs as its own process, into a fresh database, timed from
process start to exit (interpreter start-up and imports included on both sides):

* prseed: ``scrapy crawl prs -s PRSEED_OFFLINE=1`` (SQLite, then PostgreSQL);
* the baseline: ``python -m bench.baseline`` (see its docstring), into the same kinds of
  database.

Both must leave exactly the same rows; rows/s counts the rows of GitHub data in the
database afterwards.

Two ratios of the baseline's time to prseed's are printed: of the whole processes, and
*excluding start-up*, measured the same way for both sides.  A process's start-up runs from
the moment the benchmark starts it to the moment it is ready to produce rows: its imports are
done, its configuration read and its database open (schema created), and it has read nothing
from the cache yet.  Each side reports that moment on the machine-wide monotonic clock
(prseed's crawl through ``bench.stats.JsonStats``, when Scrapy opens the stats, which it does
right after opening the item pipelines and before the spider's first request; the baseline
just after ``open_database``), and the benchmark subtracts it from the process's wall time.
What is left, the work, includes everything else on both sides: reading and decoding the
answers, the rows, the writes, closing the database and the process's exit.

The PostgreSQL cluster is tests/postgres.py's throwaway one (fsync and synchronous_commit off),
the same for both sides.  Then each replay runs once more under
cProfile (``scrapy crawl --profile``) and the profile is summarised; and once more under
py-spy's sampling profiler when it is installed (``pip install py-spy``), which does not
inflate Python's many small calls the way cProfile does.
"""

from __future__ import annotations

import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, crawl, heading, row_counts, sqlite_url, table, write_result
from bench.fakeserver import ServerProcess

REPOSITORY = "acme/widgets"
TOKEN = "bench-token-replay"
TARGET_RATIO = 0.5
TARGET_POSTGRES_ROWS_PER_SECOND = 30_000
# issue 13: prseed's rows/s against the baseline's, both excluding start-up
TARGET_RATIO_WITHOUT_STARTUP = {"sqlite": 0.8, "postgresql": 1.0}

# Where the time goes: (label, file suffix, function name) of functions whose cumulative
# time the summary reports.  They overlap (the pipeline runs inside item processing).
PROFILE_GROUPS = (
    (
        "Scrapy: spider output, item by item (scraper)",
        "scrapy/core/scraper.py",
        "_process_spidermw_output_async",
    ),
    ("Scrapy: item processing (signals, log, pipelines)", "scrapy/core/scraper.py", "start_itemproc_async"),
    ("Scrapy: item_scraped signals", "scrapy/signalmanager.py", "send_catch_log_async"),
    ("logging: DEBUG 'Scraped from' records", "logging/__init__.py", "_log"),
    ("prseed: DatabasePipeline.process_item", "prseed/pipelines/database.py", "process_item"),
    ("prseed: Batch.add", "prseed/db/backends.py", "add"),
    ("prseed: Database.write (the SQL)", "prseed/db/backends.py", "write"),
    ("prseed: spider callbacks", "prseed/spiders/prs.py", "parse_pull_request_page"),
    ("prseed: spider callbacks (follow-ups)", "prseed/spiders/prs.py", "parse_follow_up"),
    ("HTTP cache: reading entries", "scrapy/extensions/httpcache.py", "retrieve_response"),
    ("json.loads of answers", "json/__init__.py", "loads"),
)


def summarise_profile(path: Path, top: int = 15) -> dict:
    stats = pstats.Stats(str(path))
    total = stats.total_tt
    entries = stats.stats  # (file, line, function) -> (cc, nc, tottime, cumtime, callers)
    groups = []
    for label, suffix, function in PROFILE_GROUPS:
        cumulative = sum(
            value[3]
            for (file, _line, name), value in entries.items()
            if file.endswith(suffix) and name == function
        )
        groups.append(
            {"what": label, "cumulative_seconds": round(cumulative, 2), "share": round(cumulative / total, 3)}
        )
    heaviest = sorted(entries.items(), key=lambda entry: entry[1][2], reverse=True)[:top]
    own = [
        {
            "function": f"{Path(file).parent.name}/{Path(file).name}:{line}({name})",
            "calls": value[1],
            "own_seconds": round(value[2], 2),
            "share": round(value[2] / total, 3),
        }
        for (file, line, name), value in heaviest
    ]
    return {"total_seconds": round(total, 2), "groups": groups, "own_time": own}


# The same question for py-spy's samples (frames read "Class.method (path:line)"): the share of
# samples with such a frame on the stack.
SAMPLED_GROUPS = (
    ("Scrapy: item processing (signals, log, pipelines)", "Scraper.start_itemproc_async"),
    ("Scrapy: signals (item_scraped, mostly)", "send_catch_log_async"),
    ("logging: DEBUG 'Scraped from' records", "Logger._log"),
    ("Scrapy: spider middleware chain", "scrapy/core/spidermw.py"),
    ("prseed: DatabasePipeline.process_item", "DatabasePipeline.process_item"),
    ("prseed: Batch.add", "Batch.add"),
    ("prseed: Database.write (the SQL)", "Database.write"),
    ("prseed: spider callbacks", "PullRequestsSpider.parse"),
    ("prseed: records (nodes to items)", "prseed/graphql/records.py"),
    ("HTTP cache: reading entries", "httpcache.py"),
    ("json decoding", "json/decoder.py"),
    ("imports (start-up)", "<frozen importlib"),
)


def py_spy() -> str | None:
    """py-spy (``pip install py-spy``), if it is on PATH or named by $PRSEED_BENCH_PY_SPY."""
    return os.environ.get("PRSEED_BENCH_PY_SPY") or shutil.which("py-spy")


def summarise_samples(path: Path) -> dict:
    """py-spy's raw output (one ``frame;frame;... count`` line per distinct stack)."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    total = sum(count for _, count in stacks) or 1
    groups = []
    for label, needle in SAMPLED_GROUPS:
        hits = sum(count for frames, count in stacks if any(needle in frame for frame in frames))
        groups.append({"what": label, "samples": hits, "share": round(hits / total, 3)})
    return {"samples": total, "groups": groups}


def print_profile(name: str, summary: dict) -> None:
    print(f"\n{name}: {summary['total_seconds']} s under cProfile (which inflates many small calls)")
    print(
        table(
            [(g["what"], g["cumulative_seconds"], f"{g['share']:.0%}") for g in summary["groups"]],
            ("cumulative time of", "s", "share"),
        )
    )
    print(
        table(
            [(f["function"], f["calls"], f["own_seconds"], f"{f['share']:.0%}") for f in summary["own_time"]],
            ("own time of", "calls", "s", "share"),
        )
    )


def baseline(workdir: Path, name: str, cache_dir: Path, database_url: str) -> dict:
    out = workdir / f"{name}.json"
    started = time.monotonic()  # the clock the baseline reports its ready_monotonic on
    subprocess.run(
        [sys.executable, "-m", "bench.baseline", str(cache_dir), database_url, str(out)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.monotonic() - started
    report = json.loads(out.read_text())
    startup = report["ready_monotonic"] - started
    return {"wall_seconds": wall, "startup_seconds": startup, "work_seconds": wall - startup, **report}


def compare(first: str, second: str) -> bool:
    from tests.expected import database_rows

    return database_rows(first) == database_rows(second)


def run(size: int, workdir: Path, results_dir: Path, profile: bool = True) -> dict:
    heading(f"replay: {size} PRs, HTTP cache filled by a live crawl (not timed)")
    cache_dir = workdir / "cache"
    config = {"repos": {REPOSITORY: size}, "tokens": {TOKEN: "bench"}, "big_pr": True, "budget": 10**9}
    with ServerProcess(config) as server:
        url = server.url
        fill = crawl(
            workdir,
            "fill",
            {"repo": REPOSITORY},
            {
                "GITHUB_GRAPHQL_URL": url,
                "DATABASE_URL": sqlite_url(workdir / "fill.sqlite3"),
                "HTTPCACHE_ENABLED": 1,
                "HTTPCACHE_DIR": cache_dir,
            },
            tokens=[TOKEN],
        )
    fill.check()
    entries = sum(1 for _ in cache_dir.glob("prs/*/*/response_body"))
    print(f"cache filled: {entries} answers in {fill.wall_seconds:.1f} s")

    offline = {"GITHUB_GRAPHQL_URL": url, "HTTPCACHE_DIR": cache_dir, "PRSEED_OFFLINE": 1}
    backends: dict[str, dict] = {}
    cluster = None
    try:
        targets = {"sqlite": lambda name: sqlite_url(workdir / f"{name}.sqlite3")}
        try:
            from tests.postgres import PostgresCluster

            cluster = PostgresCluster().start()
            targets["postgresql"] = cluster.create_database
        except Exception as exc:  # no PostgreSQL binaries: SQLite only, and say so
            print(f"PostgreSQL skipped: {exc}")
        profiles = {}
        for backend, database_for in targets.items():
            heading(f"replay into {backend}")
            prseed_url = database_for(f"prseed_{backend}")
            result = crawl(
                workdir, f"replay-{backend}", {"repo": REPOSITORY}, {**offline, "DATABASE_URL": prseed_url}
            )
            result.check()
            base_url = database_for(f"baseline_{backend}")
            base = baseline(workdir, f"baseline-{backend}", cache_dir, base_url)
            counts = row_counts(prseed_url)
            rows = sum(counts.values())
            identical = compare(prseed_url, base_url)
            if not identical:
                raise RuntimeError(f"prseed's replay and the baseline wrote different rows into {backend}")
            if result.startup_seconds is None:
                raise RuntimeError(f"the replay into {backend} never reported the end of its start-up")
            figures = {
                "rows": rows,
                "rows_by_table": counts,
                "identical_rows": identical,
                "prseed": {
                    "wall_seconds": round(result.wall_seconds, 2),
                    "cpu_seconds": round(result.cpu_seconds, 2),
                    "startup_seconds": round(result.startup_seconds, 2),
                    "work_seconds": round(result.work_seconds, 2),
                    "crawl_seconds": round(result.elapsed, 2),
                    "rows_per_second": round(rows / result.wall_seconds),
                    "rows_per_second_without_startup": round(rows / result.work_seconds),
                    "items": result.stats.get("item_scraped_count", 0)
                    + result.stats.get("item_dropped_count", 0),
                },
                "baseline": {
                    "wall_seconds": round(base["wall_seconds"], 2),
                    "startup_seconds": round(base["startup_seconds"], 2),
                    "work_seconds": round(base["work_seconds"], 2),
                    "seconds": base["seconds"],
                    "rows_per_second": round(rows / base["wall_seconds"]),
                    "rows_per_second_without_startup": round(rows / base["work_seconds"]),
                },
            }
            figures["ratio"] = round(base["wall_seconds"] / result.wall_seconds, 3)
            figures["ratio_without_startup"] = round(base["work_seconds"] / result.work_seconds, 3)
            backends[backend] = figures
            print(
                table(
                    [
                        (
                            "prseed (scrapy crawl, offline)",
                            rows,
                            f"{result.wall_seconds:.2f}",
                            f"{figures['prseed']['rows_per_second']:,}",
                            f"{result.startup_seconds:.2f}",
                            f"{result.work_seconds:.2f}",
                            f"{figures['prseed']['rows_per_second_without_startup']:,}",
                        ),
                        (
                            "baseline (json + executemany)",
                            rows,
                            f"{base['wall_seconds']:.2f}",
                            f"{figures['baseline']['rows_per_second']:,}",
                            f"{base['startup_seconds']:.2f}",
                            f"{base['work_seconds']:.2f}",
                            f"{figures['baseline']['rows_per_second_without_startup']:,}",
                        ),
                    ],
                    ("", "rows", "process s", "rows/s", "start-up s", "work s", "rows/s"),
                )
            )
            print(
                f"prseed runs at {figures['ratio']:.0%} of the baseline's speed, "
                f"{figures['ratio_without_startup']:.0%} excluding start-up (target >= "
                f"{TARGET_RATIO_WITHOUT_STARTUP[backend]:.0%}); whole processes: target >= {TARGET_RATIO:.0%}"
            )
            if profile:
                profile_path = workdir / f"replay-{backend}.prof"
                profiled = crawl(
                    workdir,
                    f"profile-{backend}",
                    {"repo": REPOSITORY},
                    {**offline, "DATABASE_URL": database_for(f"profile_{backend}")},
                    profile=profile_path,
                )
                profiled.check()
                profiles[backend] = summarise_profile(profile_path)
                print_profile(f"profile of the {backend} replay", profiles[backend])
                spy = py_spy()
                if spy:
                    samples_path = workdir / f"replay-{backend}.py-spy.txt"
                    sampled = crawl(
                        workdir,
                        f"py-spy-{backend}",
                        {"repo": REPOSITORY},
                        {**offline, "DATABASE_URL": database_for(f"spy_{backend}")},
                        wrapper=[
                            spy,
                            "record",
                            "--rate",
                            "200",
                            "--format",
                            "raw",
                            "-o",
                            str(samples_path),
                            "--",
                        ],
                    )
                    sampled.check()
                    profiles[backend]["py_spy"] = summarise_samples(samples_path)
                    print(f"\npy-spy, sampling the {backend} replay: share of samples with it on the stack")
                    print(
                        table(
                            [
                                (g["what"], g["samples"], f"{g['share']:.0%}")
                                for g in profiles[backend]["py_spy"]["groups"]
                            ],
                            ("", "samples", "share"),
                        )
                    )
    finally:
        if cluster is not None:
            cluster.stop()

    postgres = backends.get("postgresql")
    figures = {
        "repository": REPOSITORY,
        "dataset": {"big_pr": True, "seed": 1},
        "cache_entries": entries,
        "fill_seconds": round(fill.wall_seconds, 2),
        "baseline_mapping": "prseed.graphql.records (prseed's own node-to-row mapping), no Scrapy",
        "backends": backends,
        "profiles": profiles,
        "targets": {
            "ratio": TARGET_RATIO,
            "postgresql_rows_per_second": TARGET_POSTGRES_ROWS_PER_SECOND,
            "ratio_met": all(b["ratio"] >= TARGET_RATIO for b in backends.values()),
            "ratio_without_startup": TARGET_RATIO_WITHOUT_STARTUP,
            "ratio_without_startup_met": all(
                b["ratio_without_startup"] >= TARGET_RATIO_WITHOUT_STARTUP[name]
                for name, b in backends.items()
            ),
            "postgresql_met": None
            if postgres is None
            else postgres["prseed"]["rows_per_second"] >= TARGET_POSTGRES_ROWS_PER_SECOND,
        },
    }
    write_result(results_dir, "replay", size, figures)
    return figures
