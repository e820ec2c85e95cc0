"""The integration's ledger (SQLAlchemy): every order, payment and credit slip it has seen, in one state, and the
debtors it knows; what the pipeline reads and writes (the dashboard reads through ``ui/queries.py``).

States are the dashboard's tabs: ``open`` (seen, not yet bookable or about to be booked),
``booked`` (final: never booked or changed again) and ``error`` (refused, with the reason).

Exactly once: a booking is *claimed* (a row lock by compare-and-set, so two runs never book the
same order at once), its *intent* is recorded before the request is sent, and the outcome after.
A row with an intent but no outcome is a booking whose answer was lost: the next attempt first
asks e-Boekhouden whether the sales number exists and adopts it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, func, or_, select, update

from prestashop_eboekhouden.schema import (  # noqa: F401 - states re-exported
    BOOKED,
    ERROR,
    FINAL,
    MAX_KEY,
    OPEN,
    RESOLVED,
    STATES,
    credits,
    not_final,
    orders,
    payments,
    relations,
    utcnow,
)
from prestashop_eboekhouden.store_base import (  # noqa: F401 - re-exported
    AUTO_MIGRATE_ENV,
    DEFAULT_LEASE,
    STATE_DB_ENV,
    Claim,
    StoreBase,
    _Claims,
    chunks,
    default_url,
    insert_new,
)
from prestashop_eboekhouden.store_runs import RunLog
from prestashop_eboekhouden.store_worked_off import WorkedOff

CREATING = 0  # relation id of a debtor being created (claim_relation)


class StateStore(RunLog, WorkedOff, StoreBase):
    """The ledger of one state store; one per process and URL (see :func:`get_store`)."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        super().__init__(url, engine)
        self.order_claims = _Claims(self, orders, "order_id")
        self.payment_claims = _Claims(self, payments, "payment_id")
        self.credit_claims = _Claims(self, credits, "slip_id")

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
            elif current["state"] not in FINAL and (current["shop_status"], current["date_upd"]) != (item.get("shop_status"), item.get("date_upd")):
                changed.append({**item, "b_tenant": tenant, "b_order_id": item["order_id"]})
        with self.begin() as conn:
            insert_new(conn, orders, new_rows)
            if changed:
                conn.execute(
                    update(orders)
                    .where(orders.c.tenant == bindparam("b_tenant"), orders.c.order_id == bindparam("b_order_id"), not_final(orders.c.state))
                    .values(shop_status=bindparam("shop_status"), date_upd=bindparam("date_upd"), amount_incl=func.coalesce(bindparam("amount_incl", type_=orders.c.amount_incl.type), orders.c.amount_incl), updated_at=now),
                    [{"b_tenant": c["b_tenant"], "b_order_id": c["b_order_id"], "shop_status": c.get("shop_status"), "date_upd": c.get("date_upd"), "amount_incl": c.get("amount_incl")} for c in changed],
                )
        return self.get_orders(tenant, ids)

    def get_orders(self, tenant: str, ids: Iterable[int]) -> dict[int, dict]:
        """Stored orders by order id."""
        return self._rows_by_key(orders, tenant, ids)

    def set_order_facts(self, tenant: str, facts: dict[int, dict]) -> None:
        """The shop's total and the customer of unbooked orders (what the dashboard shows of refused ones)."""
        columns = ("amount_incl", "customer_name", "customer_email")
        self._set_facts(orders, tenant, {k: {c: v.get(c) for c in columns} for k, v in facts.items()})

    def set_open(self, tenant: str, order_ids: Iterable[int], reason: str, run_id: str | None = None) -> None:
        """Orders that wait (status not yet to book): Open with the reason, unless booked."""
        self._set_state(orders, tenant, dict.fromkeys(order_ids, (reason, None)), OPEN, run_id)

    def set_errors(self, tenant: str, problems: dict[int, tuple[str, str]], run_id: str | None = None) -> None:
        """Orders refused by a precheck: Errors with reason and code, unless booked."""
        self._set_state(orders, tenant, problems, ERROR, run_id)

    def save_plans(self, tenant: str, plans: Sequence[dict], run_id: str | None = None) -> dict[int, str]:
        """Store validated plans (Open, ready to book) with unique sales numbers; returns order id → sales number.

        An order whose booking may have reached e-Boekhouden (an intent without an outcome) keeps the number it was sent
        under, whatever the tenant's rule makes of it now (a changed prefix, a reference made safe): that number is the
        key its next attempt looks up and adopts, so a changed rule can never book it twice."""
        now = utcnow()
        numbers: dict[int, str] = {}
        with self.begin() as conn:
            sent = in_doubt_numbers(conn, orders, orders.c.order_id, tenant, [p["order_id"] for p in plans])
            wanted = [p["sales_number"] for p in plans]
            taken: dict[str, int] = {}
            for chunk in chunks(wanted):
                stmt = select(orders.c.sales_number, orders.c.order_id).where(orders.c.tenant == tenant, orders.c.sales_number.in_(chunk))
                taken.update({r.sales_number: r.order_id for r in conn.execute(stmt)})
            rows = []
            for plan in plans:
                if plan["order_id"] in sent:
                    number = sent[plan["order_id"]]
                    numbers[plan["order_id"]], taken[number] = number, plan["order_id"]
                    rows.append({"b_order_id": plan["order_id"], "plan": {**plan, "sales_number": number}, "sales_number": number,
                                 "amount_incl": Decimal(plan["total_incl"]), "amount_excl": Decimal(plan["total_excl"])})  # fmt: skip
                    continue
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
                    .where(orders.c.tenant == tenant, orders.c.order_id == bindparam("b_order_id"), not_final(orders.c.state))
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
            if r["payment_id"] in existing and existing[r["payment_id"]]["state"] not in FINAL
        ]
        with self.begin() as conn:
            insert_new(conn, payments, fresh)
            if changed:
                conn.execute(
                    update(payments)
                    .where(payments.c.tenant == tenant, payments.c.payment_id == bindparam("b_key"), not_final(payments.c.state))
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
            for chunk in chunks(list(dict.fromkeys(order_ids))):
                stmt = select(payments).where(payments.c.tenant == tenant, payments.c.order_id.in_(chunk)).order_by(payments.c.payment_id)
                for row in conn.execute(stmt).mappings():
                    grouped.setdefault(row["order_id"], []).append(dict(row))
        return grouped

    def set_payment_errors(self, tenant: str, problems: dict[int, tuple[str, str]], run_id: str | None = None) -> None:
        """Payments refused (no outstanding item, amount differs, ...): Errors with the reason."""
        self._set_state(payments, tenant, problems, ERROR, run_id)

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
            insert_new(conn, credits, fresh)
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

    def set_credit_relation(self, tenant: str, slip_id: int, relation_id: int, code: str) -> None:
        """The debtor a credit slip is (being) booked on, when the order's was deleted in e-Boekhouden and found again."""
        with self.begin() as conn:
            conn.execute(
                update(credits).where(credits.c.tenant == tenant, credits.c.slip_id == slip_id, not_final(credits.c.state))
                .values(relation_id=relation_id, relation_code=code, updated_at=utcnow())
            )  # fmt: skip

    def save_credit_plans(self, tenant: str, plans: Sequence[dict], run_id: str | None = None) -> None:
        """Store validated credit plans (Open, ready to book) with their sales numbers and the order's relation (a slip
        whose booking may have reached e-Boekhouden keeps the number it was sent under, as orders do)."""
        if not plans:
            return
        now = utcnow()
        with self.engine.connect() as conn:
            sent = in_doubt_numbers(conn, credits, credits.c.slip_id, tenant, [p["slip_id"] for p in plans])
            # ... and the debtor it was sent to (the order's, or the one found again after it was deleted in e-Boekhouden)
            stmt = select(credits.c.slip_id, credits.c.relation_id, credits.c.relation_code).where(
                credits.c.tenant == tenant, credits.c.slip_id.in_(list(sent)), credits.c.relation_id.is_not(None)
            )
            sent_to = {int(r[0]): {"relation_id": r[1], "relation_code": r[2]} for r in conn.execute(stmt)} if sent else {}
        plans = [{**p, "sales_number": sent[p["slip_id"]], **sent_to.get(p["slip_id"], {})} if p["slip_id"] in sent else p for p in plans]
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
                .where(credits.c.tenant == tenant, credits.c.slip_id == bindparam("b_slip_id"), not_final(credits.c.state))
                .values(
                    plan=bindparam("plan"), sales_number=bindparam("sales_number"), amount_incl=bindparam("amount_incl"),
                    amount_excl=bindparam("amount_excl"), relation_id=bindparam("relation_id"), relation_code=bindparam("relation_code"),
                    state=OPEN, reason="Ready to book", error_code=None, updated_at=now, run_id=run_id,
                ),
                rows,
            )

    def open_credits(self, tenant: str, with_errors: bool = False) -> list[dict]:
        """Open credit slips (with_errors: and those in Errors), oldest first (what the nightly recheck looks at again)."""
        stmt = (
            select(credits.c.slip_id, credits.c.order_id)
            .where(credits.c.tenant == tenant, credits.c.state.in_((OPEN, ERROR) if with_errors else (OPEN,)))
            .order_by(credits.c.slip_date, credits.c.slip_id)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def known_relations(self, tenant: str, email_keys: Iterable[str]) -> dict[str, dict]:
        """Relations this integration already matched or created, by normalized e-mail."""
        keys = list(dict.fromkeys(email_keys))
        found: dict[str, dict] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(keys):
                stmt = select(relations).where(relations.c.tenant == tenant, relations.c.email_key.in_(chunk), relations.c.relation_id != CREATING)
                found.update({r["email_key"]: dict(r) for r in conn.execute(stmt).mappings()})
        return found

    def remember_relation(self, tenant: str, email_key: str, relation_id: int, code: str, created: bool) -> None:
        """Remember which relation an e-mail address belongs to."""
        now = utcnow()
        with self.begin() as conn:
            where = and_(relations.c.tenant == tenant, relations.c.email_key == email_key)
            if conn.execute(update(relations).where(where).values(relation_id=relation_id, code=code, updated_at=now)).rowcount == 0:
                row = {"tenant": tenant, "email_key": email_key, "relation_id": relation_id, "code": code, "created_by_us": created, "updated_at": now}
                insert_new(conn, relations, [row])

    def claim_relation(self, tenant: str, email_key: str, owner: str, lease: dt.timedelta = DEFAULT_LEASE) -> str | None:
        """Take the right to create the debtor of an e-mail address, so two runs never both create it: a row with
        relation id 0 (CREATING) until remember_relation fills it in. "new" (nobody tried before), "again" (an
        earlier try — ours, or another's whose lease ran out — may have created it: look it up again first), None
        (another live run is creating it, or it is known by now)."""
        now, token = utcnow(), "~" + hashlib.sha1(owner.encode()).hexdigest()[:30]
        where = and_(relations.c.tenant == tenant, relations.c.email_key == email_key)
        with self.begin() as conn:
            row = conn.execute(select(relations).where(where)).mappings().first()
            if row is None:
                insert_new(conn, relations, [{"tenant": tenant, "email_key": email_key, "relation_id": CREATING, "code": token, "created_by_us": True, "updated_at": now}])
                mine = conn.execute(select(relations.c.code).where(where)).scalar() == token
                return "new" if mine else None
            if row["relation_id"] != CREATING or (row["code"] != token and row["updated_at"] >= now - lease):
                return None
            conn.execute(update(relations).where(where, relations.c.relation_id == CREATING, relations.c.code == row["code"]).values(code=token, updated_at=now))
            return "again"

    def forget_relation(self, tenant: str, email_key: str) -> None:
        """Drop a remembered relation (it no longer exists in e-Boekhouden)."""
        with self.begin() as conn:
            conn.execute(relations.delete().where(relations.c.tenant == tenant, relations.c.email_key == email_key))

    # ---- dashboard queries (indexed: tenant, state, date) ------------------------------------------

    def counts(self, tenant: str, table: Table = orders) -> dict[str, int]:
        """Rows per state."""
        stmt = select(table.c.state, func.count()).where(table.c.tenant == tenant).group_by(table.c.state)
        with self.engine.connect() as conn:
            found = {state: count for state, count in conn.execute(stmt)}
        return {state: found.get(state, 0) for state in STATES}


def in_doubt_numbers(conn: Any, table: Table, key: Any, tenant: str, ids: Sequence[int]) -> dict[int, str]:
    """Key → the sales number of rows with an intent but no outcome: sent under that number, perhaps booked."""
    found: dict[int, str] = {}
    for chunk in chunks(list(dict.fromkeys(ids))):
        stmt = select(key, table.c.sales_number).where(table.c.tenant == tenant, key.in_(chunk), table.c.intent_at.is_not(None), table.c.sales_number.is_not(None))
        found.update({int(r[0]): r[1] for r in conn.execute(stmt)})
    return found


_STORES: dict[str, StateStore] = {}


def get_store(url: str | None = None) -> StateStore:
    """The process's store for a URL (engines are pooled and reused)."""
    url = url or default_url()
    if url not in _STORES:
        _STORES[url] = StateStore(url)
    return _STORES[url]

