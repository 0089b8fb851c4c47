"""Issue references in a pull request's title and body, read the way GitHub links them.

A pure parser (no I/O, no items): :func:`references` returns what a text names.  What
counts (the README's "Issue references" says the same for users):

* ``#N`` (an issue of the PR's own repository), ``OWNER/NAME#N``, and the full URLs
  ``https://github.com/OWNER/NAME/issues/N`` and ``.../pull/N`` (an anchor or query after
  the number is allowed);
* a reference right after one of GitHub's closing keywords (close, closes, closed, fix,
  fixes, fixed, resolve, resolves, resolved; any case; an optional colon) is ``closing``,
  any other is a ``mention``.  Each keyword closes the one reference after it:
  ``fixes #1, #2`` closes #1 and mentions #2.  A pull request cannot be closed by
  another, so a ``/pull/N`` URL is always a mention;
* nothing inside code (fenced blocks, indented blocks, inline code spans) or HTML
  comments (where PR templates keep their instructions) counts, nor a ``#N`` glued to a
  word (``prefix#5``) or followed by one (``#5a``), nor a heading (``# Title``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

CLOSING = "closing"
MENTION = "mention"

OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
NAME = r"[A-Za-z0-9._-]{1,100}"
NUMBER = r"[1-9][0-9]*"
KEYWORD = r"(?P<keyword>(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?::[ \t]*|[ \t]+))?"
# A URL first, so that its own ``OWNER/NAME`` and ``#anchor`` are not read again.
REFERENCE = re.compile(
    rf"(?<![\w/#.-]){KEYWORD}(?:"
    rf"https?://github\.com/(?P<url_repository>{OWNER}/{NAME})/(?P<url_kind>issues|pull)/(?P<url_number>{NUMBER})"
    rf"(?![\w/])(?:[#?][^\s)>\]]*)?"
    rf"|(?P<repository>{OWNER}/{NAME})?#(?P<number>{NUMBER})(?!\w)"
    rf")",
    re.IGNORECASE,
)
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
INDENTED = re.compile(r"^(?: {4}|\t)")
CODE_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`).*?(?<!`)(?P=ticks)(?!`)", re.DOTALL)
HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


class Reference(NamedTuple):
    repository: str  # owner/name
    number: int
    kind: str  # CLOSING or MENTION


def _blank(match: re.Match) -> str:
    """The matched text as spaces (newlines kept), so what follows keeps its boundaries."""
    return re.sub(r"[^\n]", " ", match.group(0))


def without_code(text: str) -> str:
    """``text`` with code blocks, indented code, inline code and HTML comments blanked out."""
    text = HTML_COMMENT.sub(_blank, text)
    lines = text.split("\n")
    fence = None  # the opening fence while inside a fenced block
    previous_blank = True  # an indented line starts code only after a blank line (or code)
    in_indented = False
    for position, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                fence = None
            lines[position] = ""
            continue
        if opening:
            fence = opening.group("fence")
            lines[position] = ""
            in_indented = False
            continue
        if line.strip() and INDENTED.match(line) and (previous_blank or in_indented):
            lines[position] = ""
            in_indented = True
            continue
        if line.strip():
            in_indented = False
        previous_blank = not line.strip()
    return CODE_SPAN.sub(_blank, "\n".join(lines))


def references(text: str | None, repository: str) -> list[Reference]:
    """The references ``text`` makes, in order and each once; ``repository`` (owner/name) is
    the one a bare ``#N`` means, and the spelling kept for any other naming it in another case."""
    found: dict[Reference, None] = {}
    for match in REFERENCE.finditer(without_code(text or "")):
        named = match.group("url_repository") or match.group("repository") or repository
        if named.lower() == repository.lower():
            named = repository
        number = int(match.group("url_number") or match.group("number"))
        closes = match.group("keyword") is not None and match.group("url_kind") != "pull"
        found.setdefault(Reference(named, number, CLOSING if closes else MENTION), None)
    return list(found)
