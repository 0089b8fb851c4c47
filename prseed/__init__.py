"""prseed: seed a database with the pull-request history of GitHub repositories."""

__version__ = "0.1.0"
