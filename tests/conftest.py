"""Fixtures shared by prseed's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = ROOT.parent / "shared" / "github" / "schema.graphql"


@pytest.fixture(scope="session")
def github_schema():
    """GitHub's real public schema, built once (about 1.3 s)."""
    import graphql

    path = Path(os.environ.get("PRSEED_GITHUB_SCHEMA") or DEFAULT_SCHEMA)
    if not path.is_file():
        pytest.skip(f"GitHub's schema not found at {path} (set PRSEED_GITHUB_SCHEMA to its path)")
    # GitHub's SDL defines two fields twice and deprecates Node.id on some types: it is
    # not a valid schema by the spec's rules, but it is the one GitHub executes against.
    return graphql.build_schema(path.read_text(), assume_valid_sdl=True, assume_valid=True)


@pytest.fixture(scope="session")
def postgres_cluster():
    from tests.postgres import PostgresCluster, start_or_fail

    cluster = start_or_fail(PostgresCluster)
    yield cluster
    cluster.stop()


_databases = iter(range(1_000_000))


@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh SQLite database, for tests about crawling rather than about databases."""
    return f"sqlite:///{tmp_path / 'db.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database of each kind prseed writes to."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'prseed.sqlite3'}"
    cluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"prseed_test_{next(_databases)}")


@pytest.fixture(scope="session")
def redis_instance():
    from tests.postgres import start_or_fail
    from tests.redis import RedisServer

    server = start_or_fail(RedisServer)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_instance):
    """The tests' Redis server, emptied for each test."""
    import redis

    redis.Redis.from_url(redis_instance.url).flushall()
    return redis_instance.url
