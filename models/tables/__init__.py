"""The ORM tables (SQLAlchemy 2.0 typed declarative); `models` re-exports every class."""
