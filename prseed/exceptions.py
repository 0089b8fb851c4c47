"""Exceptions prseed raises on purpose."""


class ConfigError(Exception):
    """A user mistake (argument, setting, environment) to report as one line, before any request."""
