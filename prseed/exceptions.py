"""Exceptions prseed raises on purpose."""

import logging

from scrapy.exceptions import NotConfigured


class ConfigError(Exception):
    """A user mistake (argument, setting, environment) to report as one line, before any request."""


def off(component: type, reason: str) -> NotConfigured:
    """The NotConfigured a component raises when the settings turn it off, its reason logged
    at DEBUG: Scrapy logs a NotConfigured with a message as a WARNING ("Disabled …"), and a
    component off by configuration is no cause for one."""
    logging.getLogger(component.__module__).debug("%s is off: %s", component.__name__, reason)
    return NotConfigured()
