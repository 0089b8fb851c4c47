"""The issue-reference parser (prseed.references): what counts as a reference, and what does not."""

from __future__ import annotations

import pytest

from prseed.references import CLOSING, MENTION, Reference, references, without_code

REPO = "acme/widgets"


def refs(text: str) -> list[tuple[str, int, str]]:
    return [tuple(reference) for reference in references(text, REPO)]


@pytest.mark.parametrize(
    "keyword",
    ["close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved"],
)
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.capitalize])
def test_every_closing_keyword_in_any_case_closes(keyword, spelling):
    assert refs(f"{spelling(keyword)} #12") == [(REPO, 12, CLOSING)]
    assert refs(f"{spelling(keyword)}: #12") == [(REPO, 12, CLOSING)]


def test_each_keyword_closes_one_reference():
    assert refs("fixes #1, fixes #2") == [(REPO, 1, CLOSING), (REPO, 2, CLOSING)]
    assert refs("Fixes #1, #2") == [(REPO, 1, CLOSING), (REPO, 2, MENTION)]


def test_colon_with_or_without_space():
    assert refs("Fixes: #3") == [(REPO, 3, CLOSING)]
    assert refs("FIXED:#3") == [(REPO, 3, CLOSING)]


def test_keyword_glued_to_the_number_or_inside_a_word_does_not_close():
    assert refs("fixes#3") == []
    assert refs("prefixes #3") == [(REPO, 3, MENTION)]
    assert refs("unresolved #3 and hotfix #4") == [(REPO, 3, MENTION), (REPO, 4, MENTION)]


def test_other_repository():
    assert refs("closes acme/x#4") == [("acme/x", 4, CLOSING)]
    assert refs("see other-org/some.repo_name#40") == [("other-org/some.repo_name", 40, MENTION)]


def test_own_repository_named_in_another_case_is_spelled_as_the_prs():
    assert refs("acme/widgets#5 and ACME/Widgets#5") == [(REPO, 5, MENTION)]


@pytest.mark.parametrize(
    "text",
    ["prefix#5", "#5a", "#5_x", "#0", "# Title", "## 5 things", "abc/#5", "foo/acme/x#4", "x.#5", "##5"],
)
def test_not_references(text):
    assert refs(text) == []


def test_heading_followed_by_a_reference():
    assert refs("# Title\n\n#6 is related") == [(REPO, 6, MENTION)]


@pytest.mark.parametrize("punctuation", [".", ",", ")", ":", ";", "!", "?", "-"])
def test_punctuation_after_the_number_ends_it(punctuation):
    assert refs(f"(see #7{punctuation} more)") == [(REPO, 7, MENTION)]


def test_issue_and_pull_urls():
    text = "Fixes https://github.com/acme/roadmap/issues/8 and https://github.com/acme/widgets/pull/9"
    assert refs(text) == [("acme/roadmap", 8, CLOSING), (REPO, 9, MENTION)]


def test_a_pull_url_after_a_keyword_is_a_mention():
    assert refs("fixes https://github.com/acme/widgets/pull/9") == [(REPO, 9, MENTION)]


def test_urls_with_anchors_and_queries():
    text = (
        "https://github.com/acme/x/issues/10#issuecomment-123 "
        "https://github.com/acme/x/pull/11#discussion_r5 https://github.com/acme/x/issues/12?q=1#13"
    )
    assert refs(text) == [("acme/x", 10, MENTION), ("acme/x", 11, MENTION), ("acme/x", 12, MENTION)]


@pytest.mark.parametrize(
    "text",
    [
        "https://github.com/acme/x/issues/10/files",
        "https://github.com/acme/x/issues/10abc",
        "https://gitlab.com/acme/x/issues/10",
        "https://github.com/acme/x/discussions/10",
        "https://example.com/page#10",
    ],
)
def test_other_urls_are_not_references(text):
    assert refs(text) == []


def test_url_in_markdown_link_and_angle_brackets():
    assert refs("[the bug](https://github.com/acme/x/issues/14) <https://github.com/acme/x/issues/15>") == [
        ("acme/x", 14, MENTION),
        ("acme/x", 15, MENTION),
    ]


def test_fenced_code_blocks_are_not_references():
    text = "before #1\n```python\nfixes #2\n```\n~~~~\n#3\n~~~\nstill code #4\n~~~~\nafter #5"
    assert refs(text) == [(REPO, 1, MENTION), (REPO, 5, MENTION)]


def test_an_unclosed_fence_runs_to_the_end():
    assert refs("#1\n```\nfixes #2") == [(REPO, 1, MENTION)]


def test_inline_code_is_not_a_reference():
    assert refs("run `fixes #1` then ``a ` fixes #2`` and fix #3") == [(REPO, 3, CLOSING)]


def test_indented_code_is_not_a_reference_but_a_continuation_line_is():
    assert refs("text\n\n    fixes #1\n\tfixes #2\n\nafter #3") == [(REPO, 3, MENTION)]
    assert refs("a paragraph\n    fixes #4") == [(REPO, 4, CLOSING)]


def test_html_comments_are_not_references():
    template = "<!-- Write 'Fixes #123' here -->\nFixes #7\n<!--\nresolves #8\n-->"
    assert refs(template) == [(REPO, 7, CLOSING)]


def test_quotes_and_lists_still_reference():
    assert refs("> fixes #1\n- closes #2\n* #3") == [
        (REPO, 1, CLOSING),
        (REPO, 2, CLOSING),
        (REPO, 3, MENTION),
    ]


def test_a_reference_made_twice_is_listed_once_but_closing_and_mention_both():
    assert refs("#1 #1 fixes #1 see #1") == [(REPO, 1, MENTION), (REPO, 1, CLOSING)]


def test_empty_and_missing_text():
    assert references("", REPO) == []
    assert references(None, REPO) == []


def test_crlf_line_endings():
    assert refs("Fixes #1\r\n```\r\nfixes #2\r\n```\r\n#3") == [(REPO, 1, CLOSING), (REPO, 3, MENTION)]


def test_title_style_squash_suffix():
    assert references("Fix checkout flow (#21)", REPO) == [Reference(REPO, 21, MENTION)]


def test_blanking_code_keeps_lines_and_boundaries():
    text = "a `x` b\n```\ncode\n```\nc"
    assert without_code(text).count("\n") == text.count("\n")
    assert "x" not in without_code(text) and "code" not in without_code(text)


# -- the parts of the PR stream (prseed.streams.pull_requests) --------------------------


def served_pull_request():
    from tests.fakegithub import generate_dataset

    dataset = generate_dataset({REPO: 40}, big_pr=False)
    return next(pr for pr in dataset.repositories[REPO]["pullRequests"] if pr["referencesWritten"])


def test_the_issue_references_part_reads_title_and_body_and_off_reads_nothing():
    from prseed import items
    from prseed.streams.pull_requests import pull_requests

    served = served_pull_request()
    pr = {key: value for key, value in served.items() if not isinstance(value, list)}
    pr["referencesWritten"] = served["referencesWritten"]
    written = {
        (source, repository, number, kind) for source, repository, number, kind in pr["referencesWritten"]
    }
    on = [item for item in pull_requests("none").records(pr, "R") if isinstance(item, items.IssueReference)]
    assert {(r.source, r.issue_repository, r.issue_number, r.kind) for r in on} == written
    off = pull_requests("none", frozenset({"statuses"})).records(pr, "R")
    assert not [item for item in off if isinstance(item, items.IssueReference)]
    assert "closing_issue_with_reference" not in repr(
        pull_requests("none", frozenset()).connections()["closingIssuesReferences"].records
    )
