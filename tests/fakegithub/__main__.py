"""Run the fake GitHub server in the foreground, for manual demos:

python -m tests.fakegithub --port 8765 --repos antiwork/gumroad=300 --token dev-token
"""

from __future__ import annotations

import argparse
import threading

from .data import generate_dataset
from .server import FakeGitHub


def repository_size(text: str) -> tuple[str, int]:
    """Parse ``owner/name=COUNT``."""
    name, _, count = text.partition("=")
    if "/" not in name or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected owner/name=COUNT, not {text!r}")
    return name, int(count)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakegithub", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--repos", type=repository_size, nargs="+", default=[("antiwork/gumroad", 300)])
    parser.add_argument("--token", action="append", help="accepted token (repeatable; default dev-token)")
    parser.add_argument("--login", default="dev", help="the account every token belongs to")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added before each answer")
    parser.add_argument("--no-big-pr", action="store_true", help="leave out the 180-review, 250-commit PR")
    parser.add_argument("--huge-files-pr", action="store_true", help="add a PR with 3,100 changed files")
    options = parser.parse_args(argv)
    dataset = generate_dataset(
        dict(options.repos),
        seed=options.seed,
        big_pr=not options.no_big_pr,
        huge_files_pr=options.huge_files_pr,
    )
    tokens = {token: options.login for token in options.token or ["dev-token"]}
    with FakeGitHub(dataset, tokens=tokens, latency=options.latency, port=options.port) as server:
        print(
            f"fake GitHub GraphQL API at {server.url} (tokens: {', '.join(tokens)}); Ctrl-C stops it",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
