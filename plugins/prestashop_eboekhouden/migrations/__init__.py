"""Versioned migrations of the state store (Alembic), run by ``python -m prestashop_eboekhouden.setup migrate``.

The store keeps its revision in its own version table (``presta_eb_alembic_version``), so it may share
a database with Airflow's metadata (whose table is ``alembic_version``) without either touching the other.
Task processes never migrate: :func:`check` makes them fail at once when the store is behind the code.

A change to the tables in ``schema.py`` comes with a new revision in ``versions/`` (the tests compare the
migrated schema with ``schema.metadata``); ``python -m prestashop_eboekhouden.setup revision -m "…"``
writes one with what changed filled in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

VERSION_TABLE = "presta_eb_alembic_version"
MIGRATE_COMMAND = "python -m prestashop_eboekhouden.setup migrate"
HERE = Path(__file__).resolve().parent


class StoreSchemaError(RuntimeError):
    """The state store's schema is not the one this code needs (run the migrate command)."""


def config(engine: Engine | None = None, url: str | None = None):
    """An Alembic Config on this package's scripts (no alembic.ini needed), bound to an engine or URL."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_table", VERSION_TABLE)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


@lru_cache(maxsize=1)
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    """The revision this code needs."""
    return _script().get_current_head()


def known_revisions() -> set[str]:
    return {script.revision for script in _script().walk_revisions()}


def current(engine: Engine) -> str | None:
    """The store's revision; None for an empty database or a store made before migrations existed.

    Read straight from the version table: every task checks it (``check``), and an Alembic MigrationContext made for
    that would log its "Context impl SQLiteImpl. / Will assume non-transactional DDL." at the top of every task log."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        found = [row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]  # noqa: S608 - a constant
    if len(found) > 1:
        raise StoreSchemaError(f"The state store has more than one schema revision ({', '.join(sorted(found))}): ask the maintainers")
    return found[0] if found else None


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the store to a revision (default the newest); returns (before, after)."""
    from alembic import command

    before = current(engine)
    command.upgrade(config(engine), revision)
    return before, current(engine) or ""


def describe(engine: Engine) -> str:
    """The store's URL without password, for messages."""
    return make_url(str(engine.url)).render_as_string(hide_password=True)


def check(engine: Engine) -> None:
    """Fail when the store is not at this code's revision, saying what to run."""
    found, wanted = current(engine), head()
    if found == wanted:
        return
    where = describe(engine)
    if found is None:
        raise StoreSchemaError(
            f"The state store at {where} has no schema version (a new store, or one made before version 0.2.0): "
            f"run `{MIGRATE_COMMAND}` once (at deploy time) with the same PRESTA_EB_STATE_DB, then run the task again"
        )
    if found not in known_revisions():
        raise StoreSchemaError(
            f"The state store at {where} is at revision {found}, made by a newer version of this package than the one "
            f"installed here (needs {wanted}): install the same version everywhere"
        )
    raise StoreSchemaError(
        f"The state store at {where} is at revision {found}, behind this code (needs {wanted}): "
        f"run `{MIGRATE_COMMAND}` once (at deploy time) with the same PRESTA_EB_STATE_DB, then run the task again"
    )
