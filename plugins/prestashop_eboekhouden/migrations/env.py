"""Alembic's environment for the state store: the engine given by the caller (or the configured URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from prestashop_eboekhouden.migrations import VERSION_TABLE
from prestashop_eboekhouden.schema import metadata

cfg = context.config
engine = cfg.attributes.get("engine") or create_engine(str(cfg.get_main_option("sqlalchemy.url")))

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite goes through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
