"""What every part of the state store stands on: the engine (one per process and URL), transactions, the claims of
the exactly-once protocol, and small helpers. The tables are in ``schema.py``; the ledger the pipeline writes is
``store.py``; the dashboard's reads are ``ui/queries.py``.

Exactly once: a booking is *claimed* (a row lock by compare-and-set, so two runs never book the same order at once),
its *intent* is recorded before the request is sent, and the outcome after. A row with an intent but no outcome is a
booking whose answer was lost: the next attempt first asks e-Boekhouden whether the sales number exists and adopts it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, create_engine, event, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from prestashop_eboekhouden.schema import BOOKED, ERROR, KEYS, OPEN, not_final, utcnow

STATE_DB_ENV = "PRESTA_EB_STATE_DB"
AUTO_MIGRATE_ENV = "PRESTA_EB_STATE_AUTO_MIGRATE"
DEFAULT_LEASE = dt.timedelta(minutes=15)
_CHUNK = 500


def default_url() -> str:
    """PRESTA_EB_STATE_DB, else a SQLite file beside the Airflow home."""
    if url := os.environ.get(STATE_DB_ENV):
        return url
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return f"sqlite:///{home / 'presta_eb_state.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and a busy timeout, so parallel tasks on one SQLite file wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_new(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert rows whose key is not there yet; a row another process inserted meanwhile is left as it is
    (two runs that first see the same new orders at the same moment must not fail on the unique key)."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        conn.execute(insert(table).on_conflict_do_nothing(), list(rows))
        return
    for row in rows:  # other databases: one by one, skipping what exists
        with conn.begin_nested():
            try:
                conn.execute(table.insert(), row)
            except IntegrityError:
                pass


def chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Claim:
    """A claimed order or payment: its stored row, and whether an earlier attempt left an intent."""

    key: int
    row: dict
    had_intent: bool


class _Claims:
    """The claim / intent / outcome protocol on one table (orders or payments)."""

    def __init__(self, store: StoreBase, table: Table, key: str):
        self.store, self.table, self.key = store, table, key

    def _where(self, tenant: str, key: int):
        return and_(self.table.c.tenant == tenant, self.table.c[self.key] == key)

    def claim(self, tenant: str, key: int, owner: str, lease: dt.timedelta = DEFAULT_LEASE) -> Claim | None:
        """Take the row for booking unless booked, worked off by a bookkeeper, or held by another live owner; None when not ours."""
        now = utcnow()
        t = self.table
        stmt = (
            update(t)
            .where(self._where(tenant, key), not_final(t.c.state))
            .where(or_(t.c.claim_owner.is_(None), t.c.claim_owner == owner, t.c.claimed_at < now - lease))
            .values(claim_owner=owner, claimed_at=now)
        )
        with self.store.begin() as conn:
            if conn.execute(stmt).rowcount != 1:
                return None
            row = conn.execute(select(t).where(self._where(tenant, key))).mappings().one()
        return Claim(key, dict(row), row["intent_at"] is not None)

    def record_intent(self, tenant: str, key: int, owner: str) -> None:
        """Write down that a booking request is about to be sent (before sending it)."""
        now = utcnow()
        t = self.table
        with self.store.begin() as conn:
            conn.execute(
                update(t)
                .where(self._where(tenant, key), t.c.claim_owner == owner)
                .values(intent_at=now, last_try=now, attempts=t.c.attempts + 1, updated_at=now)
            )

    def booked(self, tenant: str, key: int, owner: str | None, run_id: str | None = None, reason: str | None = None, **values: Any) -> None:
        """The booking exists in e-Boekhouden: final (reason notes how, e.g. adopted after a lost answer)."""
        now = utcnow()
        self._outcome(tenant, key, owner, state=BOOKED, reason=reason, error_code=None, booked_at=now, updated_at=now, run_id=run_id, **values)

    def refused(self, tenant: str, key: int, owner: str | None, reason: str, code: str, run_id: str | None = None) -> None:
        """e-Boekhouden or a check refused it: nothing was booked, it goes to Errors with the reason (a booked row stays)."""
        now = utcnow()
        self._outcome(
            tenant, key, owner, not_final(self.table.c.state),
            state=ERROR, reason=reason[:2000], error_code=code[:40], updated_at=now, last_try=now, run_id=run_id,
        )  # fmt: skip

    def _outcome(self, tenant: str, key: int, owner: str | None, *conditions: Any, **values: Any) -> None:
        """Record an outcome and let go of the claim (only the claim's owner, when given, may)."""
        where = and_(self._where(tenant, key), *conditions)
        if owner is not None:
            where = and_(where, self.table.c.claim_owner == owner)
        with self.store.begin() as conn:
            conn.execute(update(self.table).where(where).values(intent_at=None, claim_owner=None, claimed_at=None, **values))

    def waiting(self, tenant: str, key: int, owner: str | None, reason: str, run_id: str | None = None) -> None:
        """Not booked, and not to be booked now (looked up: e-Boekhouden has no such booking; the shop's data no longer
        says to book it): Open with the reason, the intent resolved."""
        now = utcnow()
        t = self.table
        where = and_(self._where(tenant, key), t.c.state != BOOKED)
        if owner is not None:
            where = and_(where, t.c.claim_owner == owner)
        with self.store.begin() as conn:
            conn.execute(
                update(t)
                .where(where)
                .values(
                    state=OPEN, reason=reason[:2000], error_code=None, updated_at=now, last_try=now,
                    intent_at=None, claim_owner=None, claimed_at=None, run_id=run_id,
                )
            )

    def release(self, tenant: str, key: int, owner: str) -> None:
        """Let go without an outcome (a transient failure): the intent stays, so the retry looks first."""
        t = self.table
        with self.store.begin() as conn:
            conn.execute(
                update(t).where(self._where(tenant, key), t.c.claim_owner == owner).values(claim_owner=None, claimed_at=None)
            )


class StoreBase:
    """The engine and transactions of a state store, and the row helpers its ledgers share."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        self.url = url or default_url()
        self.engine = engine or self._make_engine(self.url)
        self.ensure_schema()

    @staticmethod
    def _make_engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True)

    def ensure_schema(self) -> None:
        """Fail at once unless the store is at this code's schema revision: migrations run at deploy time
        (``python -m prestashop_eboekhouden.setup migrate``), never in a task. With env
        PRESTA_EB_STATE_AUTO_MIGRATE=1 (tests, throwaway sandboxes) the store is migrated here instead."""
        from prestashop_eboekhouden import migrations

        if os.environ.get(AUTO_MIGRATE_ENV) == "1" and migrations.current(self.engine) != migrations.head():
            migrations.upgrade(self.engine)
        migrations.check(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction."""
        with self.engine.begin() as conn:
            yield conn

    def _rows_by_key(self, table: Table, tenant: str, ids: Iterable[int]) -> dict[int, dict]:
        """Stored rows of a table by their key (order id or payment id)."""
        key = table.c[KEYS[table.name]]
        found: dict[int, dict] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(ids))):
                stmt = select(table).where(table.c.tenant == tenant, key.in_(chunk))
                found.update({row[key.name]: dict(row) for row in conn.execute(stmt).mappings()})
        return found

    def _set_facts(self, table: Table, tenant: str, facts: Mapping[int, Mapping[str, Any]]) -> None:
        """Columns of rows that are not final, by key, in one statement (what the dashboard shows of unbooked rows)."""
        rows = [{"b_key": key, **values} for key, values in facts.items()]
        if not rows:
            return
        key_column = table.c[KEYS[table.name]]
        with self.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.tenant == tenant, key_column == bindparam("b_key"), not_final(table.c.state))
                .values({name: bindparam(name) for name in rows[0] if name != "b_key"}),
                rows,
            )

    def _set_state(self, table: Table, tenant: str, problems: Mapping[int, tuple[str, str | None]], state: str, run_id: str | None) -> None:
        """Move rows that are neither booked nor worked off to a state with a reason (and code) each."""
        if not problems:
            return
        now = utcnow()
        key = table.c[KEYS[table.name]]
        values = {"state": state, "reason": bindparam("reason"), "error_code": bindparam("code"), "updated_at": now, "run_id": run_id}
        if state == ERROR:
            values["last_try"] = now
            values["attempts"] = table.c.attempts + 1  # a refusal by the prechecks is a try too
        with self.begin() as conn:
            conn.execute(
                update(table).where(table.c.tenant == tenant, key == bindparam("b_key"), not_final(table.c.state)).values(**values),
                [{"b_key": k, "reason": reason[:2000], "code": code[:40] if code else None} for k, (reason, code) in problems.items()],
            )
