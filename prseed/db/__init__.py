"""Database access: the schema, and SQLite/PostgreSQL backends behind one interface."""

from prseed.db.backends import Batch, Database, open_database

__all__ = ["Batch", "Database", "open_database"]
