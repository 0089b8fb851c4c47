"""``scrapy`` commands in child processes, as a user runs them.

Every test that starts one goes through here, so they all share what a child process
inherits and what its log must never say.  pytest turns a ScrapyDeprecationWarning into
an error only in its own process (pyproject.toml's ``filterwarnings``), and neither ``-W``
nor ``PYTHONWARNINGS`` can name ``scrapy.exceptions.ScrapyDeprecationWarning`` (Python
parses them before site-packages is importable, and ignores the option), so the output
of every child is checked for one instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT

SCRAPY = (sys.executable, "-m", "scrapy")
# Nothing of the developer's own shell may steer a test's crawl: tokens, databases, a Redis
# that would make it a worker, a JSON-RPC secret, a proxy between it and 127.0.0.1.
INHERITED_PREFIXES = ("GITHUB_", "PRSEED_")
KEPT = {"PRSEED_GITHUB_SCHEMA", "PRSEED_PG_BIN"}  # the test suite's own settings
DROPPED = {"DATABASE_URL", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"}
DEPRECATION = "ScrapyDeprecationWarning"
# Scrapy's log lines are "DATE TIME [logger] LEVEL: message"; a Python warning printed
# before logging is set up is "file:line: SomeWarning: message".
NOT_QUIET = re.compile(r"\] (WARNING|ERROR|CRITICAL): |Traceback \(most recent call last\)|[A-Z]\w*Warning: ")


def environment(extra: dict | None = None) -> dict:
    """This process's environment without what could steer a crawl, plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in DROPPED and (name in KEPT or not name.startswith(INHERITED_PREFIXES))
    }
    env.update(extra or {})
    return env


def assert_no_deprecation(output: str) -> None:
    """Fail on a ScrapyDeprecationWarning, as pytest does in its own process."""
    lines = [line for line in output.splitlines() if DEPRECATION in line]
    assert not lines, "\n".join(lines)


def assert_quiet(output: str) -> None:
    """A normal crawl's log: no warning, no error, no traceback."""
    lines = [line for line in output.splitlines() if NOT_QUIET.search(line)]
    assert not lines, "\n".join(lines)


def scrapy(
    *arguments: str, env: dict | None = None, timeout: float = 120, stdin=None
) -> subprocess.CompletedProcess:
    """Run ``scrapy ARGUMENTS`` from the project's root to its end."""
    finished = subprocess.run(
        [*SCRAPY, *arguments],
        cwd=ROOT,
        env=environment(env),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert_no_deprecation(finished.stdout + finished.stderr)
    return finished


class ScrapyProcess(subprocess.Popen):
    """``scrapy ARGUMENTS`` started in the background (``options`` as for Popen); what
    ``communicate()`` reads is checked for deprecation warnings."""

    def __init__(self, *arguments: str, env: dict | None = None, **options) -> None:
        super().__init__([*SCRAPY, *arguments], cwd=ROOT, env=environment(env), text=True, **options)

    def communicate(self, *args, **kwargs):
        out, err = super().communicate(*args, **kwargs)
        assert_no_deprecation((out or "") + (err or ""))
        return out, err
