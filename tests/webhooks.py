"""``scrapy webhook`` in a child process, and GitHub's side of a delivery over real HTTP."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import time
import uuid

from prseed.webhooks import signature
from tests.fakegithub import FakeGitHub
from tests.postgres import free_port
from tests.processes import ScrapyProcess, scrapy

SECRET = "webhook-test-secret-7f3a9c"


class Receiver:
    """A running ``scrapy webhook``; ``stop()`` is Ctrl-C and returns its log."""

    def __init__(self, redis_url: str, database_url: str, *settings: str, env: dict | None = None) -> None:
        self.port = free_port()
        arguments = ["webhook", "-s", f"PRSEED_WEBHOOK_PORT={self.port}"]
        for setting in (f"PRSEED_REDIS_URL={redis_url}", f"DATABASE_URL={database_url}", *settings):
            arguments += ["-s", setting]
        environment = {"PRSEED_WEBHOOK_SECRET": SECRET} if env is None else env
        self.process = ScrapyProcess(*arguments, env=environment, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.process.stderr.read()[-3000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "the receiver did not start listening"
                time.sleep(0.05)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        _, stderr = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, stderr[-3000:]
        assert SECRET not in stderr
        return stderr

    def post(self, body: bytes, headers: dict, path: str = "/webhook", method: str = "POST"):
        """(status, JSON answer) of one request."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read() or b"null")
        finally:
            connection.close()

    def deliver(
        self,
        event: str,
        payload: dict | None = None,
        delivery: str | None = None,
        secret: str | None = SECRET,
        body: bytes | None = None,
    ):
        """A delivery as GitHub sends it: signed with ``secret`` (None: unsigned)."""
        body = json.dumps(payload).encode() if body is None else body
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        }
        if secret is not None:
            headers["X-Hub-Signature-256"] = signature(secret.encode(), body)
        return self.post(body, headers)


def event_payload(repository: str, pushed_at: str | int | None = None, **extra) -> dict:
    """The part of a payload the receiver reads: the repository, and its pushed-at."""
    described = {"full_name": repository, "private": False}
    if pushed_at is not None:
        described["pushed_at"] = pushed_at
    return {"action": "opened", "repository": described, **extra}


def synced_database(dataset, path) -> str:
    """A SQLite database at ``path`` holding a crawl of every repository of ``dataset``, as
    the receiver and ``scrapy enqueue --sweep`` find a database in production."""
    url = f"sqlite:///{path}"
    token = "synced-token-1234"
    with FakeGitHub(dataset, tokens={token: "alice"}) as github:
        done = scrapy(
            *("crawl", "prs", "-a", f"repos={','.join(dataset.repositories)}"),
            *("-s", f"GITHUB_GRAPHQL_URL={github.url}", "-s", f"DATABASE_URL={url}"),
            env={"GITHUB_TOKEN": token},
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return url


def newest_update(dataset, repository: str) -> str:
    return max(pull_request["updatedAt"] for pull_request in dataset.repositories[repository]["pullRequests"])
