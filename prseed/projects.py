"""Project presets: named sets of repositories with their crawl limits, in TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from prseed.exceptions import ConfigError

DEFAULT_FILE = Path(__file__).with_name("projects.toml")
LIMITS = ("max_prs", "since", "days_back")
SIMULATION = ("max_members",)  # what `scrapy simulate` takes of a preset besides max_prs


@dataclass(frozen=True)
class Project:
    name: str
    repositories: tuple[str, ...]
    limits: dict  # spider arguments (max_prs, since, days_back) as strings
    simulation: dict = field(default_factory=dict)  # scrapy simulate's limits (max_members) as strings

    def describe(self) -> str:
        limits = ", ".join(f"{key}={value}" for key, value in self.limits.items())
        return f"{self.name}: {', '.join(self.repositories)}" + (f" ({limits})" if limits else "")


def load_projects(path: str | Path | None = None) -> dict[str, Project]:
    """The presets in ``path`` (prseed's own file when None)."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the projects file {path}: {exc.strerror} (check PRSEED_PROJECTS_FILE)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the projects file {path} is not valid TOML: {exc}") from None
    projects = {}
    for name, table in data.items():
        repositories = table.get("repositories") if isinstance(table, dict) else None
        if not isinstance(repositories, list) or not repositories:
            raise ConfigError(f'project {name!r} in {path} needs repositories = ["owner/name", …]')
        unknown = set(table) - {"repositories", *LIMITS, *SIMULATION}
        if unknown:
            raise ConfigError(f"project {name!r} in {path} has unknown keys: {', '.join(sorted(unknown))}")
        limits = {key: str(table[key]) for key in LIMITS if key in table}
        simulation = {key: str(table[key]) for key in SIMULATION if key in table}
        projects[name] = Project(name, tuple(repositories), limits, simulation)
    return projects
