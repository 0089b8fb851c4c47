"""Run the fake GitHub server in the foreground, for manual demos:

python -m tests.fakegithub --port 8765 --repos antiwork/gumroad=300 --token dev-token
"""

from __future__ import annotations

import argparse
import threading

from .data import generate_dataset
from .server import FakeGitHub

DEFAULT_REPOSITORIES = {"antiwork/gumroad": 300}
DEFAULT_TOKEN = "dev-token"


def repository_size(text: str) -> tuple[str, int]:
    """Parse ``owner/name=COUNT``."""
    name, _, count = text.partition("=")
    if "/" not in name or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected owner/name=COUNT, not {text!r}")
    return name, int(count)


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakegithub",
        description="A fake GitHub GraphQL API on 127.0.0.1, serving a generated dataset, for demos.",
        epilog="Crawl it with: GITHUB_TOKEN=dev-token scrapy crawl prs -a repo=antiwork/gumroad "
        "-s GITHUB_GRAPHQL_URL=http://127.0.0.1:8765/graphql",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="the port on 127.0.0.1 to listen on (default 8765; 0: any free port)",
    )
    parser.add_argument(
        "--repos",
        type=repository_size,
        nargs="+",
        action="extend",
        metavar="OWNER/NAME=COUNT",
        help="a repository to serve and how many pull requests it has, e.g. acme/widgets=40; "
        "several after one --repos, or --repos repeated (default "
        + " ".join(f"{name}={count}" for name, count in DEFAULT_REPOSITORIES.items())
        + ")",
    )
    parser.add_argument(
        "--token",
        action="append",
        help="a token the server accepts as 'Authorization: bearer TOKEN'; any other gets 401 "
        f"(repeatable: each token of the same --login; default {DEFAULT_TOKEN})",
    )
    parser.add_argument("--login", default="dev", help="the account every token belongs to")
    parser.add_argument(
        "--seed", type=int, default=1, help="the dataset's seed: one seed, one dataset (default 1)"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added before each answer")
    parser.add_argument("--no-big-pr", action="store_true", help="leave out the 180-review, 250-commit PR")
    parser.add_argument("--huge-files-pr", action="store_true", help="add a PR with 3,100 changed files")
    return parser


def main(argv: list[str] | None = None) -> None:
    options = argument_parser().parse_args(argv)
    dataset = generate_dataset(
        dict(options.repos or DEFAULT_REPOSITORIES),
        seed=options.seed,
        big_pr=not options.no_big_pr,
        huge_files_pr=options.huge_files_pr,
    )
    tokens = {token: options.login for token in options.token or [DEFAULT_TOKEN]}
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
