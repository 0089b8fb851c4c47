"""A throwaway ``redis-server`` for the tests of distributed crawling.

Debian's ``redis-server`` package provides it (``.ci/run`` installs it where missing);
where it cannot be started, the tests that need it skip and say why."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.postgres import free_port

CANDIDATES = ("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server")


class RedisServer:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.directory = Path(tempfile.mkdtemp(prefix="prseed-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        import redis

        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.directory)]
        log = (self.directory / "redis.log").open("w")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    output = (self.directory / "redis.log").read_text()[-2000:]
                    raise RuntimeError(f"redis-server did not start: {output}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def redis_server_or_skip() -> RedisServer:
    binary = next((found for name in CANDIDATES if (found := shutil.which(name))), None)
    if binary is None:
        pytest.skip("redis-server not found: apt-get install redis-server (.ci/run installs it)")
    try:
        return RedisServer(binary).start()
    except RuntimeError as exc:
        pytest.skip(f"redis-server could not be started: {exc}")
