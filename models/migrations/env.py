"""Alembic environment: runs against the engine handed in by models.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import models  # noqa: F401  (registers every table on Base.metadata)
from models.tables.base import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from models.db import default_database_url
    from models.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or default_database_url())

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

_ = create_engine  # keep the import for `alembic revision` users outside the app
