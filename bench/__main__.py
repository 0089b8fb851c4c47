"""``python -m bench NAME [--size N]``: run a benchmark (or ``all``) and write its JSON."""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import EXTRA_SETTINGS, RESULTS, ROOT

BENCHMARKS = {
    "budget": 1000,  # PRs
    "replay": 10_000,
    "memory": 50_000,
    "walltime": 1000,  # PRs per repository, three repositories
    # scrapy simulate (demo data) over a history written through the Database API
    "simulate": 50_000,  # PRs
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--size", type=int, help="PRs to crawl (default: each benchmark's full size)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--no-profile", action="store_true", help="replay: skip the cProfile runs")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs, caches)")
    parser.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Scrapy setting for every crawl the benchmark runs (to measure alternatives)",
    )
    options = parser.parse_args(argv)
    for assignment in options.set:
        name, equals, value = assignment.partition("=")
        if not equals:
            parser.error(f"--set wants NAME=VALUE, not {assignment!r}")
        EXTRA_SETTINGS[name] = value
    if Path.cwd().resolve() != ROOT:
        parser.error(f"run it from the repository's root: cd {ROOT}")
    names = list(BENCHMARKS) if options.name == "all" else [options.name]
    for name in names:
        size = options.size or BENCHMARKS[name]
        workdir = Path(tempfile.mkdtemp(prefix=f"prseed-bench-{name}-"))
        try:
            module = importlib.import_module(f"bench.{name}")
            module.run(size, workdir, options.results_dir.resolve(), profile=not options.no_profile)
        finally:
            if options.keep:
                print(f"working directory kept: {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
