"""A throwaway PostgreSQL cluster for tests.

``PostgresCluster`` runs ``initdb`` + ``pg_ctl`` in a fresh temporary
directory, listens on 127.0.0.1 at a free port with ``trust`` auth and
durability switched off for speed, and removes everything on ``stop()`` (or
at interpreter exit if a test run crashes before that).

``initdb`` refuses to run as root, so when the tests run as root the server
binaries are run as an unprivileged system user (``postgres`` if it exists,
else ``nobody``) via ``runuser`` (or ``setpriv``).

Usage::

    cluster = PostgresCluster()
    cluster.start()
    psycopg2.connect(cluster.dsn)
    other_dsn = cluster.create_database("other")
    cluster.stop()

or as a context manager: ``with PostgresCluster() as cluster: ...``.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

__all__ = [
    "PG_BIN_ENV",
    "SKIP_MESSAGE",
    "PostgresBinariesNotFound",
    "PostgresCluster",
    "PostgresClusterError",
    "find_pg_bin",
    "postgres_cluster_or_skip",
]

#: Environment variable naming the directory holding initdb/pg_ctl/postgres.
PG_BIN_ENV = "PRSEED_PG_BIN"

#: The binaries a cluster needs.
REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")

#: Where Debian (and Ubuntu) install the server binaries.
DEBIAN_PG_GLOB = "/usr/lib/postgresql/*/bin"

#: Candidate unprivileged users to run the server as when we are root.
UNPRIVILEGED_USERS = ("postgres", "nobody")

SKIP_MESSAGE = "PostgreSQL server binaries not found (install Debian's postgresql or set PRSEED_PG_BIN)"

_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "16MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class PostgresClusterError(RuntimeError):
    """The cluster could not be initialised, started or used."""


class PostgresBinariesNotFound(PostgresClusterError):
    """initdb/pg_ctl/postgres could not be found."""


# ---------------------------------------------------------------------------
# Locating the binaries
# ---------------------------------------------------------------------------


def _has_binaries(directory: Path) -> bool:
    return all(
        (directory / name).is_file() and os.access(directory / name, os.X_OK) for name in REQUIRED_BINARIES
    )


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin -> numeric version tuple ("9.6" < "15")
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


def find_pg_bin() -> Path:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Search order: ``$PRSEED_PG_BIN`` (if set, it must be valid), then the
    highest version under ``/usr/lib/postgresql/*/bin``, then ``PATH``.
    Raises ``PostgresBinariesNotFound`` if nothing usable is found.
    """
    override = os.environ.get(PG_BIN_ENV)
    if override:
        directory = Path(override).expanduser()
        if _has_binaries(directory):
            return directory.resolve()
        raise PostgresBinariesNotFound(
            f"${PG_BIN_ENV}={override!r} does not contain executable " + ", ".join(REQUIRED_BINARIES)
        )

    candidates = [Path(p) for p in glob.glob(DEBIAN_PG_GLOB)]
    candidates = [d for d in candidates if _has_binaries(d)]
    if candidates:
        return max(candidates, key=_version_key)

    initdb = shutil.which("initdb")
    if initdb:
        directory = Path(initdb).resolve().parent
        if _has_binaries(directory):
            return directory

    raise PostgresBinariesNotFound(
        f"{', '.join(REQUIRED_BINARIES)} not found in ${PG_BIN_ENV}, {DEBIAN_PG_GLOB} or PATH"
    )


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:]) or "<empty>"


def _pick_unprivileged_user() -> pwd.struct_passwd:
    for name in UNPRIVILEGED_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresClusterError(
        f"running as root but none of the users {', '.join(UNPRIVILEGED_USERS)} exist to run PostgreSQL as"
    )


# ---------------------------------------------------------------------------
# The cluster
# ---------------------------------------------------------------------------


class PostgresCluster:
    """A private PostgreSQL server in a temporary directory.

    :param bin_dir: directory with initdb/pg_ctl/postgres (default:
        ``find_pg_bin()``).
    :param superuser: name of the bootstrap superuser (used in the DSN).
    :param dbname: database the ``dsn`` property points at.
    :param start_timeout: seconds ``pg_ctl -w`` waits for the server.
    """

    def __init__(
        self,
        bin_dir: str | os.PathLike[str] | None = None,
        *,
        superuser: str = "postgres",
        dbname: str = "postgres",
        start_timeout: int = 60,
    ) -> None:
        self.bin_dir = Path(bin_dir) if bin_dir is not None else find_pg_bin()
        if not _has_binaries(self.bin_dir):
            raise PostgresBinariesNotFound(f"{self.bin_dir} does not contain {', '.join(REQUIRED_BINARIES)}")
        self.superuser = superuser
        self.dbname = dbname
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.tmpdir: Path | None = None
        self._run_as: pwd.struct_passwd | None = _pick_unprivileged_user() if os.geteuid() == 0 else None
        self._running = False

    # -- paths ---------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        return self._require_tmpdir() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_tmpdir() / "sock"

    @property
    def logfile(self) -> Path:
        return self._require_tmpdir() / "server.log"

    @property
    def running(self) -> bool:
        return self._running

    @property
    def run_as_user(self) -> str | None:
        """The unprivileged user the server runs as, or None (current user)."""
        return self._run_as.pw_name if self._run_as else None

    def _require_tmpdir(self) -> Path:
        if self.tmpdir is None:
            raise PostgresClusterError("cluster has not been started")
        return self.tmpdir

    # -- connection strings --------------------------------------------------

    def dsn_for(self, dbname: str) -> str:
        if self.port is None:
            raise PostgresClusterError("cluster has not been started")
        return f"postgresql://{self.superuser}@{self.host}:{self.port}/{dbname}"

    @property
    def dsn(self) -> str:
        """``postgresql://user@127.0.0.1:PORT/dbname`` for the default db."""
        return self.dsn_for(self.dbname)

    # -- process helpers -----------------------------------------------------

    def _command(self, name: str, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / name), *args]
        return cmd if self._run_as is None else self._as_user(*cmd)

    def _as_user(self, *cmd: str) -> list[str]:
        """Wrap ``cmd`` so it runs as the unprivileged user (root only)."""
        assert self._run_as is not None
        if shutil.which("runuser"):
            return ["runuser", "-u", self._run_as.pw_name, "--", *cmd]
        if shutil.which("setpriv"):
            return [
                "setpriv",
                f"--reuid={self._run_as.pw_uid}",
                f"--regid={self._run_as.pw_gid}",
                "--init-groups",
                "--",
                *cmd,
            ]
        raise PostgresClusterError(
            "running as root but neither runuser nor setpriv is available "
            "to drop privileges for initdb/pg_ctl"
        )

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Avoid locale warnings/failures from whatever LANG the caller has.
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        for var in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
            env.pop(var, None)
        if self._run_as is not None:
            env["HOME"] = str(self.tmpdir)
            env["USER"] = env["LOGNAME"] = self._run_as.pw_name
        return env

    def _run(self, name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(name, *args),
            cwd=self.tmpdir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> Self:
        """initdb + start the server; returns self. Waits until it accepts
        connections. Raises ``PostgresClusterError`` (with the server log
        tail) on failure, after cleaning up."""
        if self._running:
            return self
        atexit.register(self.stop)
        try:
            self._make_tmpdir()
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _make_tmpdir(self) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="prseed-pg-"))
        self.tmpdir = tmp
        if self._run_as is not None:
            os.chown(tmp, self._run_as.pw_uid, self._run_as.pw_gid)
            tmp.chmod(0o755)
            # Every ancestor must be traversable by the unprivileged user.
            probe = self._run("initdb", "--version")
            if probe.returncode != 0:
                raise PostgresClusterError(
                    f"user {self._run_as.pw_name!r} cannot run "
                    f"{self.bin_dir / 'initdb'} from {tmp}:\n{probe.stdout}"
                )
            check = subprocess.run(
                self._as_user("test", "-w", str(tmp)),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
            if check.returncode != 0:
                raise PostgresClusterError(
                    f"temporary directory {tmp} is not writable by user "
                    f"{self._run_as.pw_name!r}; set TMPDIR to a directory "
                    "every user can traverse (e.g. /tmp)"
                )

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            self.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        if result.returncode != 0:
            raise PostgresClusterError(f"initdb failed (exit {result.returncode}):\n{result.stdout}")

    def _write_config(self, port: int) -> None:
        settings = dict(_SERVER_SETTINGS)
        settings["port"] = str(port)
        settings["unix_socket_directories"] = f"'{self.socket_dir}'"
        conf = self.datadir / "postgresql.auto.conf"
        # postgresql.auto.conf is read last, so it overrides postgresql.conf.
        lines = [f"{key} = {value}" for key, value in settings.items()]
        conf.write_text("# written by tests/postgres.py\n" + "\n".join(lines) + "\n")

    def _start_server(self, attempts: int = 3) -> None:
        if self._run_as is not None:
            uid, gid = self._run_as.pw_uid, self._run_as.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        os.chown(self.socket_dir, uid, gid)

        last_error = ""
        for _ in range(attempts):
            port = free_port()
            self._write_config(port)
            os.chown(self.datadir / "postgresql.auto.conf", uid, gid)
            result = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                str(self.start_timeout),
                timeout=self.start_timeout + 30,
            )
            if result.returncode == 0:
                self.port = port
                self._running = True
                return
            log_tail = _tail(self.logfile)
            last_error = (
                f"pg_ctl start failed (exit {result.returncode}):\n"
                f"{result.stdout}\n--- server log tail ({self.logfile}) ---\n"
                f"{log_tail}"
            )
            # Retry only if another process grabbed the port in between.
            if "could not bind" not in log_tail and "in use" not in log_tail:
                break
            self._kill_postmaster()
        raise PostgresClusterError(last_error)

    def _server_alive(self) -> bool:
        try:
            status = self._run("pg_ctl", "status", "-D", str(self.datadir))
        except (OSError, subprocess.TimeoutExpired):
            return False
        return status.returncode == 0

    def _kill_postmaster(self) -> None:
        """Last resort if pg_ctl stop did not work."""
        try:
            pidfile = self.datadir / "postmaster.pid"
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError, PostgresClusterError):
            return
        try:
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
        except ProcessLookupError:
            return
        except PermissionError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Shut the server down (``pg_ctl stop -m immediate``) and remove the
        temporary directory. Idempotent."""
        atexit.unregister(self.stop)
        tmp = self.tmpdir
        if tmp is None:
            return
        try:
            if (self.datadir / "postmaster.pid").exists():
                try:
                    result = self._run(
                        "pg_ctl",
                        "stop",
                        "-D",
                        str(self.datadir),
                        "-m",
                        "immediate",
                        "-w",
                        timeout=60,
                    )
                    failed = result.returncode != 0
                except (OSError, subprocess.TimeoutExpired):
                    failed = True
                if failed and self._server_alive():
                    self._kill_postmaster()
        finally:
            self._running = False
            self.port = None
            self.tmpdir = None
            shutil.rmtree(tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- conveniences --------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create a fresh, empty database ``name``; return its DSN."""
        import psycopg2
        from psycopg2 import sql

        conn = psycopg2.connect(self.dsn_for("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        finally:
            conn.close()
        return self.dsn_for(name)

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._running else "stopped"
        return f"<PostgresCluster {self.bin_dir} {state}>"


# ---------------------------------------------------------------------------
# conftest-style helper (wire into a fixture in tests/conftest.py)
# ---------------------------------------------------------------------------


def postgres_cluster_or_skip(**kwargs: object) -> PostgresCluster:
    """Return a started ``PostgresCluster`` (caller must ``stop()`` it).

    If the server binaries are missing, skip the test -- unless ``$CI`` is
    ``true``, where CI installs them and their absence is a hard failure.
    An explicitly set but invalid ``$PRSEED_PG_BIN`` always fails.
    """
    import pytest

    try:
        bin_dir = find_pg_bin()
    except PostgresBinariesNotFound as exc:
        if os.environ.get("CI") == "true" or os.environ.get(PG_BIN_ENV):
            pytest.fail(f"{SKIP_MESSAGE}: {exc}", pytrace=False)
        pytest.skip(SKIP_MESSAGE)
    return PostgresCluster(bin_dir, **kwargs).start()  # type: ignore[arg-type]
