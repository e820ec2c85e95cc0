"""The integration's state store (SQLAlchemy): every order and payment it has seen, in one state.

States are the dashboard's tabs: ``open`` (seen, not yet bookable or about to be booked),
``booked`` (final: never booked or changed again) and ``error`` (refused, with the reason).

Exactly once: a booking is *claimed* (a row lock by compare-and-set, so two runs never book the
same order at once), its *intent* is recorded before the request is sent, and the outcome after.
A row with an intent but no outcome is a booking whose answer was lost: the next attempt first
asks e-Boekhouden whether the sales number exists and adopts it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator

STATE_DB_ENV = "PRESTA_EB_STATE_DB"
AUTO_MIGRATE_ENV = "PRESTA_EB_STATE_AUTO_MIGRATE"
OPEN, BOOKED, ERROR = "open", "booked", "error"
STATES = (OPEN, BOOKED, ERROR)
DEFAULT_LEASE = dt.timedelta(minutes=15)
MAX_KEY = 2**63 - 1  # BIGINT: larger numbers are no order id
_CHUNK = 500


class Money(TypeDecorator):
    """Decimal euros stored as whole cents (exact on every database, SQLite included)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        cents = Decimal(value) * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"amount {value} is not rounded to the cent")
        return int(cents)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


metadata = MetaData()


def _claim_columns() -> list[Column]:
    """Columns of the exactly-once protocol, shared by orders and payments."""
    return [
        Column("state", String(8), nullable=False),
        Column("reason", Text),
        Column("error_code", String(40)),
        Column("eb_id", BigInteger),
        Column("intent_at", DateTime),
        Column("claim_owner", String(250)),
        Column("claimed_at", DateTime),
        Column("attempts", Integer, nullable=False, default=0),
        Column("first_seen", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("last_try", DateTime),
        Column("booked_at", DateTime),
        Column("run_id", String(250)),
    ]


orders = Table(
    "presta_eb_orders",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("reference", String(64), nullable=False, default=""),
    Column("sales_number", String(64)),
    Column("shop_status", Integer),
    Column("order_date", Date),
    Column("date_upd", DateTime),
    Column("amount_incl", Money),
    Column("amount_excl", Money),
    Column("eb_kind", String(16)),
    Column("eb_number", String(64)),
    Column("relation_code", String(32)),
    Column("relation_id", BigInteger),
    Column("payment_state", String(8)),
    Column("plan", JSON),
    Column("customer_name", String(200)),  # the dashboard's search by customer (refused orders too)
    Column("customer_email", String(320)),
    *_claim_columns(),
    UniqueConstraint("tenant", "sales_number", name="uq_presta_eb_orders_sales_number"),
    # the dashboard's listings: filter and order (date, then id) straight from the index, no sort step
    Index("ix_presta_eb_orders_state_date_id", "tenant", "state", "order_date", "order_id"),
    Index("ix_presta_eb_orders_reference", "tenant", "reference"),
    Index("ix_presta_eb_orders_date_id", "tenant", "order_date", "order_id"),
    Index("ix_presta_eb_orders_customer_email", "tenant", "customer_email"),
)

payments = Table(
    "presta_eb_payments",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("payment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("order_id", BigInteger, nullable=False),
    Column("reference", String(64), nullable=False, default=""),
    Column("sales_number", String(64)),
    Column("amount", Money),
    Column("method", String(100)),
    Column("transaction_id", String(100)),
    Column("payment_date", DateTime),
    *_claim_columns(),
    Index("ix_presta_eb_payments_state_date_id", "tenant", "state", "payment_date", "payment_id"),
    Index("ix_presta_eb_payments_order", "tenant", "order_id"),
    Index("ix_presta_eb_payments_reference", "tenant", "reference"),
    Index("ix_presta_eb_payments_sales_number", "tenant", "sales_number"),
    Index("ix_presta_eb_payments_date_id", "tenant", "payment_date", "payment_id"),
)

# Credit slips (PrestaShop order_slip), booked as credit sales: their own table, keyed by the slip id (slip ids and
# order ids are separate counters in PrestaShop), with the same exactly-once columns as orders.
credits = Table(
    "presta_eb_credits",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("slip_id", BigInteger, primary_key=True, autoincrement=False),
    Column("order_id", BigInteger, nullable=False),
    Column("reference", String(64), nullable=False, default=""),
    Column("sales_number", String(64)),
    Column("slip_date", Date),
    Column("date_upd", DateTime),
    Column("amount_incl", Money),
    Column("amount_excl", Money),
    Column("eb_kind", String(16)),
    Column("eb_number", String(64)),
    Column("relation_code", String(32)),
    Column("relation_id", BigInteger),
    Column("plan", JSON),
    *_claim_columns(),
    UniqueConstraint("tenant", "sales_number", name="uq_presta_eb_credits_sales_number"),
    Index("ix_presta_eb_credits_state_date_id", "tenant", "state", "slip_date", "slip_id"),
    Index("ix_presta_eb_credits_order", "tenant", "order_id"),
    Index("ix_presta_eb_credits_reference", "tenant", "reference"),
)

relations = Table(
    "presta_eb_relations",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("email_key", String(320), primary_key=True),
    Column("relation_id", BigInteger, nullable=False),
    Column("code", String(32), nullable=False),
    Column("created_by_us", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime, nullable=False),
)

runs = Table(
    "presta_eb_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("dag_id", String(250), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("finished_at", DateTime, nullable=False),
    Column("summary", JSON, nullable=False),
    Index("ix_presta_eb_runs_tenant", "tenant", "finished_at"),
)


_KEYS = {orders.name: "order_id", payments.name: "payment_id", credits.name: "slip_id"}


def utcnow() -> dt.datetime:
    """Naive UTC now, the store's clock."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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


def _insert_new(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
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


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
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

    def __init__(self, store: StateStore, table: Table, key: str):
        self.store, self.table, self.key = store, table, key

    def _where(self, tenant: str, key: int):
        return and_(self.table.c.tenant == tenant, self.table.c[self.key] == key)

    def claim(self, tenant: str, key: int, owner: str, lease: dt.timedelta = DEFAULT_LEASE) -> Claim | None:
        """Take the row for booking unless booked or held by another live owner; None when not ours."""
        now = utcnow()
        t = self.table
        stmt = (
            update(t)
            .where(self._where(tenant, key), t.c.state != BOOKED)
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
        t = self.table
        where = self._where(tenant, key)
        if owner is not None:
            where = and_(where, t.c.claim_owner == owner)
        with self.store.begin() as conn:
            conn.execute(
                update(t)
                .where(where)
                .values(
                    state=BOOKED, reason=reason, error_code=None, booked_at=now, updated_at=now,
                    intent_at=None, claim_owner=None, claimed_at=None, run_id=run_id, **values,
                )
            )

    def refused(self, tenant: str, key: int, owner: str | None, reason: str, code: str, run_id: str | None = None) -> None:
        """e-Boekhouden or a check refused it: nothing was booked, it goes to Errors with the reason."""
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
                    state=ERROR, reason=reason[:2000], error_code=code[:40], updated_at=now, last_try=now,
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


class StateStore:
    """Access to the state store; one per process and URL (see :func:`get_store`)."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        self.url = url or default_url()
        self.engine = engine or self._make_engine(self.url)
        self.ensure_schema()
        self.order_claims = _Claims(self, orders, "order_id")
        self.payment_claims = _Claims(self, payments, "payment_id")
        self.credit_claims = _Claims(self, credits, "slip_id")

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

    # ---- orders seen in the shop -------------------------------------------------------------

    def record_seen(self, tenant: str, seen: Iterable[dict], run_id: str | None = None) -> dict[int, dict]:
        """Insert new orders as Open and refresh status of unbooked ones; returns each order's stored row."""
        seen = list(seen)
        now = utcnow()
        ids = [s["order_id"] for s in seen]
        existing = self.get_orders(tenant, ids)
        new_rows, changed = [], []
        for item in seen:
            current = existing.get(item["order_id"])
            if current is None:
                new_rows.append({**item, "tenant": tenant, "state": OPEN, "attempts": 0, "first_seen": now, "updated_at": now, "run_id": run_id})
            elif current["state"] != BOOKED and (current["shop_status"], current["date_upd"]) != (item.get("shop_status"), item.get("date_upd")):
                changed.append({**item, "b_tenant": tenant, "b_order_id": item["order_id"]})
        with self.begin() as conn:
            _insert_new(conn, orders, new_rows)
            if changed:
                conn.execute(
                    update(orders)
                    .where(orders.c.tenant == bindparam("b_tenant"), orders.c.order_id == bindparam("b_order_id"), orders.c.state != BOOKED)
                    .values(shop_status=bindparam("shop_status"), date_upd=bindparam("date_upd"), updated_at=now),
                    [{"b_tenant": c["b_tenant"], "b_order_id": c["b_order_id"], "shop_status": c.get("shop_status"), "date_upd": c.get("date_upd")} for c in changed],
                )
        return self.get_orders(tenant, ids)

    def _rows_by_key(self, table: Table, tenant: str, ids: Iterable[int]) -> dict[int, dict]:
        """Stored rows of a table by their key (order id or payment id)."""
        key = table.c[_KEYS[table.name]]
        found: dict[int, dict] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                stmt = select(table).where(table.c.tenant == tenant, key.in_(chunk))
                found.update({row[key.name]: dict(row) for row in conn.execute(stmt).mappings()})
        return found

    def get_orders(self, tenant: str, ids: Iterable[int]) -> dict[int, dict]:
        """Stored orders by order id."""
        return self._rows_by_key(orders, tenant, ids)

    def _set_state(self, table: Table, tenant: str, problems: dict[int, tuple[str, str | None]], state: str, run_id: str | None) -> None:
        """Move unbooked rows to a state with a reason (and code) each."""
        if not problems:
            return
        now = utcnow()
        key = table.c[_KEYS[table.name]]
        values = {"state": state, "reason": bindparam("reason"), "error_code": bindparam("code"), "updated_at": now, "run_id": run_id}
        if state == ERROR:
            values["last_try"] = now
            values["attempts"] = table.c.attempts + 1  # a refusal by the prechecks is a try too
        with self.begin() as conn:
            conn.execute(
                update(table).where(table.c.tenant == tenant, key == bindparam("b_key"), table.c.state != BOOKED).values(**values),
                [{"b_key": k, "reason": reason[:2000], "code": code[:40] if code else None} for k, (reason, code) in problems.items()],
            )

    def set_order_facts(self, tenant: str, facts: dict[int, dict]) -> None:
        """The shop's total and the customer of unbooked orders (what the dashboard shows of refused ones)."""
        rows = [{"b_key": k, "amount_incl": v.get("amount_incl"), "customer_name": v.get("customer_name"), "customer_email": v.get("customer_email")} for k, v in facts.items()]
        if not rows:
            return
        with self.begin() as conn:
            conn.execute(
                update(orders)
                .where(orders.c.tenant == tenant, orders.c.order_id == bindparam("b_key"), orders.c.state != BOOKED)
                .values(amount_incl=bindparam("amount_incl"), customer_name=bindparam("customer_name"), customer_email=bindparam("customer_email")),
                rows,
            )

    def set_open(self, tenant: str, order_ids: Iterable[int], reason: str, run_id: str | None = None) -> None:
        """Orders that wait (status not yet to book): Open with the reason, unless booked."""
        self._set_state(orders, tenant, dict.fromkeys(order_ids, (reason, None)), OPEN, run_id)

    def set_errors(self, tenant: str, problems: dict[int, tuple[str, str]], run_id: str | None = None) -> None:
        """Orders refused by a precheck: Errors with reason and code, unless booked."""
        self._set_state(orders, tenant, problems, ERROR, run_id)

    def save_plans(self, tenant: str, plans: Sequence[dict], run_id: str | None = None) -> dict[int, str]:
        """Store validated plans (Open, ready to book) with unique sales numbers; returns order id → sales number."""
        now = utcnow()
        numbers: dict[int, str] = {}
        with self.begin() as conn:
            wanted = [p["sales_number"] for p in plans]
            taken: dict[str, int] = {}
            for chunk in _chunks(wanted):
                stmt = select(orders.c.sales_number, orders.c.order_id).where(orders.c.tenant == tenant, orders.c.sales_number.in_(chunk))
                taken.update({r.sales_number: r.order_id for r in conn.execute(stmt)})
            rows = []
            for plan in plans:
                number = plan["sales_number"]
                holder = taken.get(number)
                if holder is not None and holder != plan["order_id"]:
                    number = f"{number}-{plan['order_id']}"  # a split cart shares its reference
                taken[number] = plan["order_id"]
                numbers[plan["order_id"]] = number
                rows.append(
                    {
                        "b_order_id": plan["order_id"],
                        "plan": {**plan, "sales_number": number},
                        "sales_number": number,
                        "amount_incl": Decimal(plan["total_incl"]),
                        "amount_excl": Decimal(plan["total_excl"]),
                    }
                )
            if rows:
                conn.execute(
                    update(orders)
                    .where(orders.c.tenant == tenant, orders.c.order_id == bindparam("b_order_id"), orders.c.state != BOOKED)
                    .values(
                        plan=bindparam("plan"), sales_number=bindparam("sales_number"), amount_incl=bindparam("amount_incl"),
                        amount_excl=bindparam("amount_excl"), state=OPEN, reason="Ready to book", error_code=None,
                        updated_at=now, run_id=run_id,
                    ),
                    rows,
                )
        return numbers

    def open_orders(self, tenant: str, since: dt.date | None = None, before: dt.date | None = None, limit: int | None = None) -> list[dict]:
        """Open orders, oldest first, optionally within [since, before) by order date."""
        stmt = select(orders.c.order_id, orders.c.order_date, orders.c.intent_at).where(orders.c.tenant == tenant, orders.c.state == OPEN)
        if since is not None:
            stmt = stmt.where(orders.c.order_date >= since)
        if before is not None:
            stmt = stmt.where(or_(orders.c.order_date < before, orders.c.order_date.is_(None)))
        stmt = stmt.order_by(orders.c.order_date, orders.c.order_id)
        if limit:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    # ---- payments -------------------------------------------------------------------------------

    def orders_awaiting_payment(self, tenant: str, since: dt.date | None = None) -> list[dict]:
        """Booked orders whose payment is not booked yet (optionally from an order date on)."""
        cols = (orders.c.order_id, orders.c.reference, orders.c.sales_number, orders.c.amount_incl, orders.c.eb_id, orders.c.relation_id, orders.c.order_date)
        stmt = select(*cols).where(orders.c.tenant == tenant, orders.c.state == BOOKED, orders.c.payment_state.is_(None))
        if since is not None:
            stmt = stmt.where(orders.c.order_date >= since)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt.order_by(orders.c.order_id)).mappings()]

    def record_payments(self, tenant: str, rows: Sequence[dict], run_id: str | None = None) -> None:
        """Register shop payments (new ones Open); unbooked ones get the shop's current amount and details."""
        now = utcnow()
        existing = self.get_payments(tenant, [r["payment_id"] for r in rows])
        fresh = [{**r, "tenant": tenant, "state": OPEN, "attempts": 0, "first_seen": now, "updated_at": now, "run_id": run_id} for r in rows if r["payment_id"] not in existing]
        changed = [
            {**{k: r[k] for k in ("amount", "method", "transaction_id", "payment_date")}, "b_key": r["payment_id"]}
            for r in rows
            if r["payment_id"] in existing and existing[r["payment_id"]]["state"] != BOOKED
        ]
        with self.begin() as conn:
            _insert_new(conn, payments, fresh)
            if changed:
                conn.execute(
                    update(payments)
                    .where(payments.c.tenant == tenant, payments.c.payment_id == bindparam("b_key"), payments.c.state != BOOKED)
                    .values(amount=bindparam("amount"), method=bindparam("method"), transaction_id=bindparam("transaction_id"), payment_date=bindparam("payment_date"), updated_at=now),
                    changed,
                )

    def get_payments(self, tenant: str, ids: Iterable[int]) -> dict[int, dict]:
        """Stored payments by payment id."""
        return self._rows_by_key(payments, tenant, ids)

    def payments_of_orders(self, tenant: str, order_ids: Iterable[int]) -> dict[int, list[dict]]:
        """Stored payments grouped by order id."""
        grouped: dict[int, list[dict]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(order_ids))):
                stmt = select(payments).where(payments.c.tenant == tenant, payments.c.order_id.in_(chunk)).order_by(payments.c.payment_id)
                for row in conn.execute(stmt).mappings():
                    grouped.setdefault(row["order_id"], []).append(dict(row))
        return grouped

    def set_payment_errors(self, tenant: str, problems: dict[int, tuple[str, str]], run_id: str | None = None) -> None:
        """Payments refused (no outstanding item, amount differs, ...): Errors with the reason."""
        self._set_state(payments, tenant, problems, ERROR, run_id)

    def set_payments_open(self, tenant: str, payment_ids: Iterable[int], reason: str, run_id: str | None = None) -> None:
        """Payments that wait (e.g. the order is not paid in the shop yet)."""
        self._set_state(payments, tenant, dict.fromkeys(payment_ids, (reason, None)), OPEN, run_id)

    def mark_order_paid(self, tenant: str, order_id: int) -> None:
        """All of the order's payments are booked: the daily DAG stops looking at it."""
        with self.begin() as conn:
            conn.execute(update(orders).where(orders.c.tenant == tenant, orders.c.order_id == order_id).values(payment_state="paid", updated_at=utcnow()))

    # ---- credit slips ---------------------------------------------------------------------------

    def record_slips(self, tenant: str, seen: Iterable[dict], run_id: str | None = None) -> dict[int, dict]:
        """Insert slips not seen before as Open (a slip never changes in the shop); returns each slip's stored row."""
        seen = list(seen)
        now = utcnow()
        existing = self.get_credits(tenant, [s["slip_id"] for s in seen])
        fresh = [
            {**item, "tenant": tenant, "state": OPEN, "attempts": 0, "first_seen": now, "updated_at": now, "run_id": run_id}
            for item in seen
            if item["slip_id"] not in existing
        ]
        with self.begin() as conn:
            _insert_new(conn, credits, fresh)
        return self.get_credits(tenant, [s["slip_id"] for s in seen])

    def get_credits(self, tenant: str, ids: Iterable[int]) -> dict[int, dict]:
        """Stored credit slips by slip id."""
        return self._rows_by_key(credits, tenant, ids)

    def set_credits_open(self, tenant: str, slip_ids: Iterable[int], reason: str, run_id: str | None = None) -> None:
        """Slips that wait (their order is not booked yet): Open with the reason, unless booked."""
        self._set_state(credits, tenant, dict.fromkeys(slip_ids, (reason, None)), OPEN, run_id)

    def set_credit_errors(self, tenant: str, problems: dict[int, tuple[str, str]], run_id: str | None = None) -> None:
        """Slips refused (their order was refused, a precheck): Errors with reason and code, unless booked."""
        self._set_state(credits, tenant, problems, ERROR, run_id)

    def save_credit_plans(self, tenant: str, plans: Sequence[dict], run_id: str | None = None) -> None:
        """Store validated credit plans (Open, ready to book) with their sales numbers and the order's relation."""
        if not plans:
            return
        now = utcnow()
        rows = [
            {
                "b_slip_id": plan["slip_id"], "plan": plan, "sales_number": plan["sales_number"],
                "amount_incl": Decimal(plan["total_incl"]), "amount_excl": Decimal(plan["total_excl"]),
                "relation_id": plan.get("relation_id"), "relation_code": plan.get("relation_code"),
            }
            for plan in plans
        ]  # fmt: skip
        with self.begin() as conn:
            conn.execute(
                update(credits)
                .where(credits.c.tenant == tenant, credits.c.slip_id == bindparam("b_slip_id"), credits.c.state != BOOKED)
                .values(
                    plan=bindparam("plan"), sales_number=bindparam("sales_number"), amount_incl=bindparam("amount_incl"),
                    amount_excl=bindparam("amount_excl"), relation_id=bindparam("relation_id"), relation_code=bindparam("relation_code"),
                    state=OPEN, reason="Ready to book", error_code=None, updated_at=now, run_id=run_id,
                ),
                rows,
            )

    def open_credits(self, tenant: str) -> list[dict]:
        """Open credit slips, oldest first (what the nightly recheck looks at again)."""
        stmt = (
            select(credits.c.slip_id, credits.c.order_id)
            .where(credits.c.tenant == tenant, credits.c.state == OPEN)
            .order_by(credits.c.slip_date, credits.c.slip_id)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_credits(self, tenant: str, run_id: str) -> list[dict]:
        """State and amounts of the credit slips a run touched last."""
        stmt = select(credits.c.slip_id, credits.c.state, credits.c.amount_incl).where(credits.c.tenant == tenant, credits.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    # ---- debtors ------------------------------------------------------------------------------

    def known_relations(self, tenant: str, email_keys: Iterable[str]) -> dict[str, dict]:
        """Relations this integration already matched or created, by normalized e-mail."""
        keys = list(dict.fromkeys(email_keys))
        found: dict[str, dict] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(keys):
                stmt = select(relations).where(relations.c.tenant == tenant, relations.c.email_key.in_(chunk))
                found.update({r["email_key"]: dict(r) for r in conn.execute(stmt).mappings()})
        return found

    def remember_relation(self, tenant: str, email_key: str, relation_id: int, code: str, created: bool) -> None:
        """Remember which relation an e-mail address belongs to."""
        now = utcnow()
        with self.begin() as conn:
            where = and_(relations.c.tenant == tenant, relations.c.email_key == email_key)
            if conn.execute(update(relations).where(where).values(relation_id=relation_id, code=code, updated_at=now)).rowcount == 0:
                row = {"tenant": tenant, "email_key": email_key, "relation_id": relation_id, "code": code, "created_by_us": created, "updated_at": now}
                _insert_new(conn, relations, [row])

    def forget_relation(self, tenant: str, email_key: str) -> None:
        """Drop a remembered relation (it no longer exists in e-Boekhouden)."""
        with self.begin() as conn:
            conn.execute(relations.delete().where(relations.c.tenant == tenant, relations.c.email_key == email_key))

    # ---- runs and reporting --------------------------------------------------------------------

    def record_run(self, tenant: str, dag_id: str, run_id: str, summary: dict) -> None:
        """Keep a run's summary (counts and amounts)."""
        with self.begin() as conn:
            conn.execute(runs.insert().values(tenant=tenant, dag_id=dag_id, run_id=run_id, finished_at=utcnow(), summary=summary))

    def run_orders(self, tenant: str, run_id: str) -> list[dict]:
        """State and amounts of the orders a run touched last."""
        stmt = select(orders.c.order_id, orders.c.state, orders.c.amount_incl, orders.c.amount_excl).where(
            orders.c.tenant == tenant, orders.c.run_id == run_id
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_payments(self, tenant: str, run_id: str) -> list[dict]:
        """State and amounts of the payments a run touched last."""
        stmt = select(payments.c.payment_id, payments.c.state, payments.c.amount.label("amount_incl")).where(
            payments.c.tenant == tenant, payments.c.run_id == run_id
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_errors(self, tenant: str, run_id: str, kind: str = "orders") -> list[dict]:
        """Orders (or payments) a run left in Errors, by id: what its note and notification name."""
        table = orders if kind == "orders" else payments
        key = table.c.order_id if table is orders else table.c.payment_id
        cols = [key, table.c.order_id, table.c.reference, table.c.error_code, table.c.reason, table.c.attempts]
        cols.append(table.c.amount_incl if table is orders else table.c.amount)
        stmt = select(*dict.fromkeys(cols)).where(table.c.tenant == tenant, table.c.run_id == run_id, table.c.state == ERROR).order_by(key)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def errors_since(self, tenant: str, since: dt.datetime) -> list[dict]:
        """Orders that went to Errors (or were refused again) since a moment (naive UTC): the daily digest."""
        stmt = (
            select(orders.c.order_id, orders.c.reference, orders.c.error_code, orders.c.reason, orders.c.attempts, orders.c.amount_incl, orders.c.last_try)
            .where(orders.c.tenant == tenant, orders.c.state == ERROR, orders.c.last_try >= since)
            .order_by(orders.c.order_id)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_summary(self, tenant: str, dag_id: str, run_id: str) -> dict | None:
        """The latest summary a run's report recorded."""
        stmt = select(runs.c.summary).where(runs.c.tenant == tenant, runs.c.dag_id == dag_id, runs.c.run_id == run_id).order_by(runs.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one_or_none()

    # ---- dashboard queries (indexed: tenant, state, date) ------------------------------------------

    def _listing(
        self, table: Table, tenant: str, state: str | None, since: dt.date | None, until: dt.date | None, q: str | None, prefix: bool = True
    ):
        """The WHERE of a dashboard listing: state, period by date, search by order id, reference, sales number or
        (orders) customer e-mail (exact, as typed or in capitals: indexed; with prefix, also what starts with it, and
        customer names containing it). `%` and `_` in a search are literal characters."""
        date = table.c.order_date if table is orders else table.c.payment_date
        where = [table.c.tenant == tenant]
        if state:
            where.append(table.c.state == state)
        if since:
            where.append(date >= since)
        if until and until < dt.date.max:
            where.append(date < (until + dt.timedelta(days=1) if table is orders else dt.datetime.combine(until + dt.timedelta(days=1), dt.time())))
        if q and q.strip():
            text_q = q.strip()
            key = table.c.order_id if table is orders else table.c.payment_id
            variants = list(dict.fromkeys([text_q, text_q.upper()]))
            exact = [table.c.reference.in_(variants), table.c.sales_number.in_(variants)]
            if text_q.isdigit() and int(text_q) <= MAX_KEY:
                exact.append(table.c.order_id == int(text_q))
            if table is orders and "@" in text_q:
                exact.append(table.c.customer_email.in_(list(dict.fromkeys([text_q, text_q.lower()]))))
            # each exact match by its own index, then the rows by key (an OR over columns would scan)
            hits = union(*(select(key).where(table.c.tenant == tenant, condition) for condition in exact))
            match = [key.in_(hits)]
            if prefix:
                literal = text_q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                match += [table.c.reference.like(f"{literal}%", escape="\\"), table.c.sales_number.like(f"{literal}%", escape="\\")]
                if table is orders:
                    match += [
                        func.lower(table.c.customer_name).like(f"%{literal.lower()}%", escape="\\"),
                        func.lower(table.c.customer_email).like(f"{literal.lower()}%", escape="\\"),
                    ]
            where.append(or_(*match))
        return and_(*where), date

    def _search(self, table: Table, tenant: str, state: str | None, since, until, q):
        """The WHERE of a listing: exact matches when a search has any (indexed), else what starts with it."""
        if not q or not q.strip():
            return self._listing(table, tenant, state, since, until, q, prefix=True)
        where, date = self._listing(table, tenant, state, since, until, q, prefix=False)
        with self.engine.connect() as conn:
            exact = conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
        return (where, date) if exact else self._listing(table, tenant, state, since, until, q, prefix=True)

    def list_rows(
        self, table: Table, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
        q: str | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[list[dict], int]:
        """One page of orders or payments, newest first, and the total that matches.

        A search first looks for exact numbers (indexed: instant at 100,000 rows); only when none match does
        it look for numbers that start with what was typed (a scan of the tenant's rows)."""
        key = table.c.order_id if table is orders else table.c.payment_id
        for prefix in ((False, True) if q and q.strip() else (True,)):
            where, date = self._listing(table, tenant, state, since, until, q, prefix=prefix)
            stmt = select(table).where(where).order_by(date.desc(), key.desc()).limit(limit).offset(offset)
            with self.engine.connect() as conn:
                total = conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
                rows = [dict(r) for r in conn.execute(stmt).mappings()] if total and offset < total else []
            if total:
                break
        return rows, int(total)

    def iter_rows(
        self, table: Table, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
        q: str | None = None, chunk: int = 2000,
    ) -> Iterator[dict]:
        """Every row of a listing, newest first, streamed from the database a chunk at a time (the CSV export)."""
        where, date = self._search(table, tenant, state, since, until, q)
        key = table.c.order_id if table is orders else table.c.payment_id
        stmt = select(table).where(where).order_by(date.desc(), key.desc())
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=chunk).execute(stmt).mappings():
                yield dict(row)

    def totals(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None, state: str = BOOKED) -> dict:
        """Sum of the amounts (incl and excl VAT) of a listing: the Report's totals row."""
        where, _ = self._search(orders, tenant, state, since, until, q)
        stmt = select(func.count(), func.sum(orders.c.amount_incl), func.sum(orders.c.amount_excl)).where(where)
        with self.engine.connect() as conn:
            count, incl, excl = conn.execute(stmt).one()
        to_money = lambda amount: Decimal(amount or 0).quantize(Decimal("0.01"))  # noqa: E731 - the Money type already made euros of the cents
        return {"count": int(count), "amount_incl": to_money(incl), "amount_excl": to_money(excl), "amount_vat": to_money(incl) - to_money(excl)}

    def filtered_counts(self, tenant: str, table: Table = orders, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None) -> dict[str, int]:
        """Rows per state within a period and search (the tab counts follow the filter)."""
        if not (since or until or (q and q.strip())):
            return self.counts(tenant, table)
        where, _ = self._search(table, tenant, None, since, until, q)
        stmt = select(table.c.state, func.count()).where(where).group_by(table.c.state)
        with self.engine.connect() as conn:
            found = {state: count for state, count in conn.execute(stmt)}
        return {state: found.get(state, 0) for state in STATES}

    # ---- orders and credit slips in one listing (Report, Errors, Open) ---------------------------------

    def _credit_where(self, tenant: str, state: str | None, since: dt.date | None, until: dt.date | None, q: str | None, prefix: bool):
        """The WHERE of credit slips in a listing: state, period by slip date, search by slip id, order id, reference or
        sales number (exact by index; with prefix, also references and sales numbers that start with it)."""
        where = [credits.c.tenant == tenant]
        if state:
            where.append(credits.c.state == state)
        if since:
            where.append(credits.c.slip_date >= since)
        if until and until < dt.date.max:
            where.append(credits.c.slip_date < until + dt.timedelta(days=1))
        if q and q.strip():
            text_q = q.strip()
            variants = list(dict.fromkeys([text_q, text_q.upper()]))
            exact = [credits.c.reference.in_(variants), credits.c.sales_number.in_(variants)]
            if text_q.isdigit() and int(text_q) <= MAX_KEY:
                exact += [credits.c.slip_id == int(text_q), credits.c.order_id == int(text_q)]
            hits = union(*(select(credits.c.slip_id).where(credits.c.tenant == tenant, condition) for condition in exact))
            match = [credits.c.slip_id.in_(hits)]
            if prefix:
                literal_q = text_q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                match += [credits.c.reference.like(f"{literal_q}%", escape="\\"), credits.c.sales_number.like(f"{literal_q}%", escape="\\")]
            where.append(or_(*match))
        return and_(*where)

    def _entry_sides(self, tenant: str, state: str | None, since, until, q, prefix: bool):
        """Orders and credit slips of a listing as two selects with the order rows' columns plus kind and slip_id (a
        slip's order_date is its own date; its reference and customer are its order's), each with its WHERE."""
        o_where, _ = self._listing(orders, tenant, state, since, until, q, prefix=prefix)
        c_where = self._credit_where(tenant, state, since, until, q, prefix)
        o = orders.c
        order_side = select(
            literal("order").label("kind"), o.order_id, cast(null(), BigInteger).label("slip_id"), o.order_id.label("sort_id"),
            o.reference, o.sales_number, o.order_date, o.shop_status, o.state, o.reason, o.error_code, o.amount_incl, o.amount_excl,
            o.eb_kind, o.eb_id, o.eb_number, o.relation_code, o.attempts, o.last_try, o.booked_at, o.first_seen, o.payment_state,
            o.customer_name, o.run_id, o.intent_at,
        ).where(o_where)
        c, mine = credits.c, orders.alias("credit_order")
        credit_side = (
            select(
                literal("credit").label("kind"), c.order_id, c.slip_id, c.slip_id.label("sort_id"),
                func.coalesce(func.nullif(c.reference, ""), mine.c.reference, "").label("reference"), c.sales_number,
                c.slip_date.label("order_date"), cast(null(), Integer).label("shop_status"), c.state, c.reason, c.error_code,
                c.amount_incl, c.amount_excl, c.eb_kind, c.eb_id, c.eb_number, c.relation_code, c.attempts, c.last_try, c.booked_at,
                c.first_seen, cast(null(), String(8)).label("payment_state"), mine.c.customer_name, c.run_id, c.intent_at,
            )
            .select_from(credits.outerjoin(mine, and_(mine.c.tenant == credits.c.tenant, mine.c.order_id == credits.c.order_id)))
            .where(c_where)
        )
        return order_side, o_where, credit_side, c_where

    def _kind_counts(self, o_where, c_where) -> dict[str, int]:
        """Orders and credit slips a listing matches, each counted by its own index."""
        with self.engine.connect() as conn:
            return {
                "order": int(conn.execute(select(func.count()).select_from(orders).where(o_where)).scalar_one()),
                "credit": int(conn.execute(select(func.count()).select_from(credits).where(c_where)).scalar_one()),
            }

    def _entries_search(self, tenant: str, state: str | None, since, until, q):
        """The two sides of a listing and how many each matches: exact matches when a search has any (in orders or
        slips), else what starts with it."""
        prefixes = (False, True) if q and q.strip() else (True,)
        for prefix in prefixes:
            order_side, o_where, credit_side, c_where = self._entry_sides(tenant, state, since, until, q, prefix)
            kinds = self._kind_counts(o_where, c_where)
            if sum(kinds.values()):
                break
        return order_side, credit_side, kinds

    @staticmethod
    def _newest_first(side, limit: int | None = None):
        order = (side.selected_columns.order_date.desc(), side.selected_columns.sort_id.desc())
        return side.order_by(*order).limit(limit) if limit is not None else side.order_by(*order)

    def list_entries(
        self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
        q: str | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[list[dict], int]:
        """One page of orders and credit slips (each row with its kind), newest first, and the total that matches."""
        rows, total, _ = self.list_entries_by_kind(tenant, state, since, until, q, limit, offset)
        return rows, total

    def list_entries_by_kind(
        self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
        q: str | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[list[dict], int, dict[str, int]]:
        """list_entries, plus how many of the matching rows are orders and how many credit slips.

        Each side is read newest first from its own index; only when both have rows are the two merged, each cut at
        offset + limit first (a tenant without slips pages its orders exactly as before)."""
        order_side, credit_side, kinds = self._entries_search(tenant, state, since, until, q)
        total = sum(kinds.values())
        if not total or offset >= total:
            return [], total, kinds
        if not kinds["credit"] or not kinds["order"]:
            stmt = self._newest_first(order_side if kinds["order"] else credit_side).limit(limit).offset(offset)
        else:
            both = union_all(
                self._newest_first(order_side, offset + limit).subquery().select(), self._newest_first(credit_side, offset + limit).subquery().select()
            ).subquery("entries")
            stmt = select(both).order_by(both.c.order_date.desc(), both.c.sort_id.desc(), both.c.kind).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()], total, kinds

    def iter_entries(
        self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None, chunk: int = 2000,
    ) -> Iterator[dict]:
        """Every order and credit slip of a listing, newest first, streamed (the CSV export)."""
        order_side, credit_side, _ = self._entries_search(tenant, state, since, until, q)
        both = union_all(order_side, credit_side).subquery("entries")
        stmt = select(both).order_by(both.c.order_date.desc(), both.c.sort_id.desc(), both.c.kind)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=chunk).execute(stmt).mappings():
                yield dict(row)

    def entries_totals(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None, state: str = BOOKED) -> dict:
        """The Report's totals over orders and credit slips (a credit's amounts are negative: a refund lowers the total)."""
        order_side, credit_side, _ = self._entries_search(tenant, state, since, until, q)
        count = 0
        incl = excl = Decimal(0)
        with self.engine.connect() as conn:
            for side in (order_side, credit_side):
                part = side.subquery()
                n, side_incl, side_excl = conn.execute(select(func.count(), func.sum(part.c.amount_incl), func.sum(part.c.amount_excl))).one()
                count += int(n)
                incl += Decimal(side_incl or 0)
                excl += Decimal(side_excl or 0)
        cents = Decimal("0.01")
        incl, excl = incl.quantize(cents), excl.quantize(cents)
        return {"count": count, "amount_incl": incl, "amount_excl": excl, "amount_vat": incl - excl}

    def entries_counts(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None) -> dict[str, int]:
        """Orders plus credit slips per state within a period and search (the tab counts; a search matches exactly or by
        its start, decided over both as the listing does)."""
        if not (since or until or (q and q.strip())):
            orders_found, credits_found = self.counts(tenant, orders), self.counts(tenant, credits)
        else:
            for prefix in ((False, True) if q and q.strip() else (True,)):
                _, o_where, _, c_where = self._entry_sides(tenant, None, since, until, q, prefix)
                if prefix or sum(self._kind_counts(o_where, c_where).values()):
                    break
            with self.engine.connect() as conn:
                orders_found = dict(conn.execute(select(orders.c.state, func.count()).where(o_where).group_by(orders.c.state)).all())
                credits_found = dict(conn.execute(select(credits.c.state, func.count()).where(c_where).group_by(credits.c.state)).all())
        return {state: orders_found.get(state, 0) + credits_found.get(state, 0) for state in STATES}

    def booked_credits(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None, limit: int = 200) -> list[dict]:
        """Booked credit slips, newest first: the refunds the Payments tab names (their payment is settled in e-Boekhouden)."""
        where = self._credit_where(tenant, BOOKED, since, until, q, prefix=True)
        stmt = select(credits).where(where).order_by(credits.c.slip_date.desc(), credits.c.slip_id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_dag_ids(self, tenant: str, run_ids: Iterable[str]) -> dict[str, str]:
        """Which DAG each run id belongs to (from the runs' reports), for links to the run in Airflow."""
        wanted = [r for r in dict.fromkeys(run_ids) if r]
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted):
                stmt = select(runs.c.run_id, runs.c.dag_id).where(runs.c.tenant == tenant, runs.c.run_id.in_(chunk))
                found.update({r.run_id: r.dag_id for r in conn.execute(stmt)})
        return found

    def tenants(self) -> list[str]:
        """Tenants that have rows in the store."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(orders.c.tenant).distinct().order_by(orders.c.tenant))]

    def last_runs(self, tenant: str, limit: int = 10) -> list[dict]:
        """The most recent run summaries."""
        stmt = select(runs).where(runs.c.tenant == tenant).order_by(runs.c.finished_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def counts(self, tenant: str, table: Table = orders) -> dict[str, int]:
        """Rows per state."""
        stmt = select(table.c.state, func.count()).where(table.c.tenant == tenant).group_by(table.c.state)
        with self.engine.connect() as conn:
            found = {state: count for state, count in conn.execute(stmt)}
        return {state: found.get(state, 0) for state in STATES}


_STORES: dict[str, StateStore] = {}


def get_store(url: str | None = None) -> StateStore:
    """The process's store for a URL (engines are pooled and reused)."""
    url = url or default_url()
    if url not in _STORES:
        _STORES[url] = StateStore(url)
    return _STORES[url]


# ---- VIES (issue 24) and setup probe (issue 22, item 4): their tables live in their own modules, on this module's metadata --
from prestashop_eboekhouden import store_probe as _store_probe  # noqa: E402,F401 - registers the probe table (migration 0005)
from prestashop_eboekhouden import store_vies as _store_vies  # noqa: E402,F401 - registers the VIES tables (migration 0004)
