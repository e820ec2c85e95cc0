"""Airflow CLI commands against a SQLite metadata DB while the scheduler runs (the demo's stack).

``airflow backfill create`` makes each run inside a savepoint. On SQLite a savepoint outside a
transaction opens a deferred one: it reads, then writes, and when the scheduler committed in between
SQLite refuses the write at once with "database is locked" (a stale read cannot be upgraded; waiting
does not help). Airflow 3.3.2 then deletes the runs it had made so far, and a scheduler that is
handling one of them stops (``ObjectDeletedError``). Seen on the demo in most attempts over 72 hours.

With these sessions the command takes SQLite's write lock when a transaction begins (waiting up to
30 s for the scheduler's short writes) and makes all its runs in one transaction. Only for CLI
commands; the scheduler and the API server keep Airflow's own sessions. PostgreSQL needs none of this::

    AIRFLOW__DATABASE__SQL_ALCHEMY_SESSION_MAKER=prestashop_eboekhouden.sqlite_cli.immediate_sessions \\
      airflow backfill create --dag-id ... --from-date ... --to-date ...
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import sessionmaker

BUSY_TIMEOUT_MS = 30_000


def immediate_sessions(engine: Engine) -> sessionmaker:
    """Airflow's sessionmaker (``[database] sql_alchemy_session_maker``); on SQLite, BEGIN IMMEDIATE."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _driver_leaves_transactions_to_us(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # pysqlite would open deferred ones on its own
            dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return sessionmaker(engine, autocommit=False, autoflush=False, expire_on_commit=False)
