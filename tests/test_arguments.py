from datetime import date

import pytest

from prseed.exceptions import ConfigError
from prseed.spiders.arguments import parse_arguments


def test_repository_and_limits():
    plan = parse_arguments(repo="antiwork/gumroad", max_prs="10", since="2024-02-01")
    assert plan.repositories == ("antiwork/gumroad",)
    assert plan.max_prs == 10
    assert plan.since == date(2024, 2, 1)
    assert plan.since_timestamp == "2024-02-01T00:00:00Z"


def test_github_url_is_accepted_as_a_repository():
    assert parse_arguments(repo="https://github.com/fastapi/fastapi").repositories == ("fastapi/fastapi",)


def test_days_back_resolves_to_a_fixed_date():
    plan = parse_arguments(repo="a/b", days_back="30", today=date(2024, 3, 31))
    assert plan.since == date(2024, 3, 1)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "no repository given"),
        ({"repo": "gumroad"}, "is not a repository"),
        ({"repo": "a/b/c"}, "is not a repository"),
        ({"repo": "-a/b"}, "is not a repository"),
        ({"repo": "a/b", "since": "yesterday"}, "is not a date"),
        ({"repo": "a/b", "max_prs": "0"}, "positive whole number"),
        ({"repo": "a/b", "max_prs": "ten"}, "positive whole number"),
        ({"repo": "a/b", "days_back": "-3"}, "positive whole number"),
        ({"repo": "a/b", "since": "2024-01-01", "days_back": "3"}, "use one of them"),
        ({"repo": "a/b", "max_pr": "3"}, "unknown spider argument -a max_pr"),
    ],
)
def test_mistakes_are_one_clear_line(arguments, message):
    with pytest.raises(ConfigError) as raised:
        parse_arguments(**arguments)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
