from datetime import date

import pytest

from prseed.commands.cacheinfo import parse_repository
from prseed.exceptions import ConfigError
from prseed.projects import load_projects
from prseed.spiders.arguments import parse_arguments


def test_repository_and_limits():
    plan = parse_arguments(repo="antiwork/gumroad", max_prs="10", since="2024-02-01")
    assert plan.repositories == ("antiwork/gumroad",)
    assert plan.max_prs == 10
    assert plan.since == date(2024, 2, 1)
    assert plan.since_timestamp == "2024-02-01T00:00:00Z"


def test_github_url_is_accepted_as_a_repository():
    assert parse_arguments(repo="https://github.com/fastapi/fastapi").repositories == ("fastapi/fastapi",)


@pytest.mark.parametrize(
    "value",
    ["acme/widgets", " https://github.com/acme/widgets.git/ ", "acme/widgets/", "a/b/c", "-a/b", "../../etc"],
)
def test_cacheinfo_and_the_spider_take_the_same_repositories(value):
    try:
        taken = parse_arguments(repo=value).repositories[0]
    except ConfigError:
        taken = None
    assert parse_repository(value) == taken


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
        ({"repo": "a/b", "project": "gumroad"}, "-a repo and -a project both given"),
        ({"repos": "a/b,nope"}, "-a repos='nope' is not a repository"),
        ({"repos": ","}, "names no repository"),
        ({"project": "nonesuch"}, "unknown project 'nonesuch'"),
    ],
)
def test_mistakes_are_one_clear_line(arguments, message):
    with pytest.raises(ConfigError) as raised:
        parse_arguments(load_projects(), **arguments)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_several_repositories_once_each():
    plan = parse_arguments(repos="a/b, c/d,a/b")
    assert plan.repositories == ("a/b", "c/d")


def test_presets_give_repositories_and_limits_and_the_command_line_wins():
    projects = load_projects()
    assert parse_arguments(projects, project="posthog").repositories == (
        "posthog/posthog",
        "posthog/posthog-js",
    )
    assert parse_arguments(projects, project="posthog").max_prs == 200
    assert parse_arguments(projects, project="posthog", max_prs="5").max_prs == 5
    assert set(projects) == {"gumroad", "antiwork", "polar", "posthog", "fastapi"}


def test_a_users_presets_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[team]\nrepositories = ["acme/one", "acme/two"]\ndays_back = 30\n')
    plan = parse_arguments(load_projects(path), project="team", today=date(2024, 3, 31))
    assert plan.repositories == ("acme/one", "acme/two") and plan.since == date(2024, 3, 1)
    path.write_text("[team]\nrepositories = 3\n")
    with pytest.raises(ConfigError, match="needs repositories"):
        load_projects(path)
    with pytest.raises(ConfigError, match="cannot read the projects file"):
        load_projects(tmp_path / "missing.toml")
