"""Tests for the throwaway PostgreSQL cluster helper in tests/postgres.py."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from tests import postgres
from tests.postgres import (
    PostgresBinariesNotFound,
    PostgresCluster,
    find_pg_bin,
    postgres_cluster_or_skip,
)


def test_cluster_lifecycle() -> None:
    cluster = postgres_cluster_or_skip()
    try:
        tmpdir = cluster.tmpdir
        assert tmpdir is not None and tmpdir.is_dir()
        assert cluster.running
        assert cluster.dsn == f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"

        conn = psycopg2.connect(cluster.dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute("CREATE TABLE t (id serial PRIMARY KEY, name text)")
                cur.execute("INSERT INTO t (name) VALUES (%s)", ("x",))
                cur.execute("SELECT name FROM t")
                assert cur.fetchall() == [("x",)]
        finally:
            conn.close()

        other_dsn = cluster.create_database("prseed_other")
        assert other_dsn.endswith(f":{cluster.port}/prseed_other")
        conn = psycopg2.connect(other_dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                assert cur.fetchone() == ("prseed_other",)
                # Fresh and empty: the table from the other database is absent.
                cur.execute("SELECT to_regclass('public.t')")
                assert cur.fetchone() == (None,)
        finally:
            conn.close()
    finally:
        cluster.stop()

    assert not cluster.running
    assert not tmpdir.exists()
    cluster.stop()  # idempotent


def test_pg_bin_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    try:
        real = find_pg_bin()
    except PostgresBinariesNotFound:
        real = None
    if real is not None:
        monkeypatch.setenv("PRSEED_PG_BIN", str(real))
        assert find_pg_bin() == real.resolve()
    monkeypatch.setenv("PRSEED_PG_BIN", str(tmp_path))
    with pytest.raises(PostgresBinariesNotFound):
        find_pg_bin()


def _no_binaries() -> Path:
    raise PostgresBinariesNotFound("none here")


def test_missing_binaries_skip_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "find_pg_bin", _no_binaries)
    monkeypatch.delenv("PRSEED_PG_BIN", raising=False)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="PRSEED_PG_BIN"):
        postgres_cluster_or_skip()


def test_missing_binaries_fail_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "find_pg_bin", _no_binaries)
    monkeypatch.delenv("PRSEED_PG_BIN", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        postgres_cluster_or_skip()


def test_start_failure_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        bin_dir = find_pg_bin()
    except PostgresBinariesNotFound:
        pytest.skip(postgres.SKIP_MESSAGE)
    cluster = PostgresCluster(bin_dir)
    made: list[Path] = []
    make_tmpdir = cluster._make_tmpdir

    def record_tmpdir() -> None:
        make_tmpdir()
        assert cluster.tmpdir is not None
        made.append(cluster.tmpdir)

    monkeypatch.setattr(cluster, "_make_tmpdir", record_tmpdir)
    # An unknown setting makes the server refuse to start.
    monkeypatch.setitem(postgres._SERVER_SETTINGS, "no_such_setting", "1")
    with pytest.raises(postgres.PostgresClusterError, match="no_such_setting"):
        cluster.start()
    assert cluster.tmpdir is None
    assert not cluster.running
    assert len(made) == 1 and not made[0].exists()
