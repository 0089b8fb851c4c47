"""The tests' fake GitHub server in a process of its own, driven over stdin/stdout.

``python -m bench.fakeserver CONFIG_JSON`` generates the dataset, starts
:class:`tests.fakegithub.FakeGitHub` and prints one JSON line ``{"url": ...}``.  It then
answers one JSON line per command read from stdin: ``records`` (every request logged so
far), ``clear`` (forget them) and ``quit``.  :class:`ServerProcess` is the parent's side.

Running the server in another process keeps its work (graphql-core executing every query)
off the crawl's CPU and out of its GIL, so what a benchmark times is the crawl's own work.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from bench.common import ROOT

RECORD_FIELDS = ("time", "end_time", "operation", "status", "cost", "fault", "early")


def main(argv: list[str]) -> None:
    from tests.fakegithub import FakeGitHub, generate_dataset

    config = json.loads(argv[0])
    dataset = generate_dataset(
        config["repos"],
        seed=config.get("seed", 1),
        big_pr=config.get("big_pr", True),
        huge_files_pr=config.get("huge_files_pr", False),
    )
    tokens = config["tokens"]
    labels = {token: index for index, token in enumerate(tokens)}
    server = FakeGitHub(
        dataset,
        tokens=tokens,
        budget=config.get("budget", 5000),
        points_per_minute=config.get("points_per_minute"),
        max_concurrent_per_token=config.get("max_concurrent_per_token"),
        latency=config.get("latency", 0.0),
    )
    server.start()
    print(json.dumps({"url": server.url}), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "records":
                records = []
                for record in list(server.requests):
                    entry = {name: getattr(record, name) for name in RECORD_FIELDS}
                    entry["token"] = labels.get(record.token)
                    entry["page_size"] = (record.variables or {}).get("pageSize")
                    records.append(entry)
                print(json.dumps(records), flush=True)
            elif command == "clear":
                del server.requests[:]
                print("{}", flush=True)
            elif command == "quit":
                break
    finally:
        server.stop()


class ServerProcess:
    """Start the fake server in a subprocess; ``records()`` fetches its request log.

    ``config``: ``repos`` ({"owner/name": count}), ``tokens`` ({token: login}), and
    optionally ``seed``, ``big_pr``, ``huge_files_pr``, ``budget``, ``points_per_minute``,
    ``max_concurrent_per_token``, ``latency``.
    """

    def __init__(self, config: dict) -> None:
        self.config = config
        self.process: subprocess.Popen | None = None
        self.url: str | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> ServerProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.fakeserver", json.dumps(self.config)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise RuntimeError(f"the fake GitHub server did not start (exit code {self.process.returncode})")
        self.url = json.loads(line)["url"]
        return self

    def _ask(self, command: str):
        with self._lock:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())

    def records(self) -> list[dict]:
        return self._ask("records")

    def clear(self) -> None:
        self._ask("clear")

    def __exit__(self, *_exc: object) -> None:
        if self.process is None:
            return
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


if __name__ == "__main__":
    main(sys.argv[1:])
