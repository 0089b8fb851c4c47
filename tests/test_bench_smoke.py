"""Every benchmark of ``bench/`` runs at a tiny size and writes its JSON, so none can rot.

These check the shape of the results, never the performance: the figures of a full run are
in the README's "Performance" section.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SIZES = {"budget": 40, "replay": 40, "memory": 60, "walltime": 12}

FIELDS = {
    "budget": {
        "graphql": {"points", "requests", "points_per_pr", "points_per_1000_prs", "requests_per_1000_prs"},
        "rest": {"calls", "calls_per_1000_prs"},
        "budget_fraction_per_1000_prs": {"graphql", "rest"},
        "query_costs": {"docstring", "computed", "charged_by_server", "agree"},
        "targets": {"met"},
    },
    "replay": {
        "backends": {"sqlite"},
        "profiles": {"sqlite"},
        "targets": {"ratio_met", "ratio_without_startup_met", "postgresql_met"},
    },
    "memory": {
        "crawl": {"elapsed_seconds", "prs_per_second"},
        "targets": {"met"},
    },
    "walltime": {
        "crawl": {"elapsed_seconds", "requests"},
        "tokens": set(),
        "targets": {"met"},
    },
}
TOP_LEVEL = {
    "budget": {"fully_hydrated", "rest_to_graphql_ratio"},
    "replay": {"cache_entries", "baseline_mapping"},
    "memory": {"checkpoints", "peak_rss_mb", "growth_mb", "samples"},
    "walltime": {
        "prs",
        "prs_per_minute",
        "points_per_minute",
        "pacing_ceiling_per_minute",
        "share_of_ceiling",
        "secondary_limit_403",
    },
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_benchmark_runs_and_writes_its_figures(name, tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "bench", name, "--size", str(SIZES[name]), "--results-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    result = json.loads((tmp_path / f"{name}.json").read_text())
    assert result["benchmark"] == name and result["size"] == SIZES[name]
    assert {"date", "command", "machine"} <= result.keys()
    assert TOP_LEVEL[name] <= result.keys(), result.keys()
    for key, fields in FIELDS[name].items():
        assert fields <= result[key].keys(), (key, result[key])
    if name == "replay":
        for figures in result["backends"].values():
            assert figures["identical_rows"] is True
            for side in ("prseed", "baseline"):
                wanted = {"rows_per_second", "wall_seconds", "rows_per_second_without_startup"}
                assert wanted <= figures[side].keys()
                # start-up is measured for both sides, and is part of the process
                assert 0 < figures[side]["startup_seconds"] < figures[side]["wall_seconds"]
            assert "ratio" in figures and "ratio_without_startup" in figures
    if name == "memory":
        assert [checkpoint["prs_wanted"] for checkpoint in result["checkpoints"]] == [12, 30, 60]
        assert all(checkpoint["rss_mb"] > 0 for checkpoint in result["checkpoints"])
    if name == "budget":
        assert result["fully_hydrated"] is True
    if name == "walltime":
        assert result["prs"] == 3 * SIZES[name]
    assert name in finished.stdout  # the figures are printed too
