"""The state store's VIES part (issue 24): VIES's verdicts per VAT number, which ICP order asked about which
number, and the leases that keep the whole deployment at two VIES requests at once.

Kept apart from ``store.py`` (which imports this module at its end, so the tables are on its ``metadata`` and in
its migrations: revision 0004). Three tables:

- ``presta_eb_vies_numbers``: one row per VAT number, shared by all tenants (VIES's register is public and the
  same for everyone): the last verdict (valid, name, address, VIES's request date, when it came), the last fault
  since then and since when the number is unconfirmed, how many requests it cost, and a claim (one process asks
  VIES about a number at a time: at most one request per number per cache period, also across processes);
- ``presta_eb_vies_orders``: tenant + order id → the VAT number VIES was asked about (the dashboard's column);
- ``presta_eb_vies_leases``: named leases with an expiry. ``slot-1`` and ``slot-2`` are the deployment's two VIES
  request slots; ``pause-<scope>`` says VIES (scope ``EU``) or one member state (``BE``) answered a fault and is
  not asked again before ``until`` by anyone (``detail`` keeps the fault).

Why leases in the state store rather than an Airflow pool: the cap is on *requests*, not on task instances. A
pool of 2 slots would need a task of its own in every DAG run (one more process start per hourly run, against
issue 18's one-task idle hour), a pool created on every deployment before the first run (a task in a missing pool
is never scheduled), and would not hold where no scheduler runs (``dag.test()``, the CLI, the dashboard's
Process of a reprocess run, a second Airflow deployment on the same store). Every process that books already
shares this store; a lease is one compare-and-set ``UPDATE`` (atomic on SQLite and PostgreSQL alike), held only
for one request, and a crashed holder's lease expires by itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update

from prestashop_eboekhouden.domain.vies import VIES_WAIT, ViesRecord
from prestashop_eboekhouden.schema import OPEN, not_final, orders, utcnow, vies_leases, vies_numbers, vies_orders
from prestashop_eboekhouden.store_base import chunks, insert_new

SLOTS = ("slot-1", "slot-2")  # at most len(SLOTS) VIES requests at once in the deployment
PAUSE = "pause-"

_RECORD_FIELDS = ("vat_number", "valid", "answer_fault", "name", "address", "request_date", "checked_at", "fault", "fault_at", "unconfirmed_since")


def _record(row: Any) -> ViesRecord:
    return ViesRecord(**{name: row[name] for name in _RECORD_FIELDS})


class ViesStore:
    """The VIES tables of one StateStore (same engine, same transactions rules)."""

    def __init__(self, store: Any):
        self.store = store
        self.engine = store.engine
        self._slots_ready = False

    @classmethod
    def of(cls, store: Any) -> ViesStore:
        """The ViesStore of a StateStore (one per store object)."""
        found = store.__dict__.get("_vies_store")
        if found is None:
            found = store.__dict__["_vies_store"] = cls(store)
        return found

    # ---- verdicts per number --------------------------------------------------------------------

    def records(self, numbers: Iterable[str]) -> dict[str, ViesRecord]:
        """What is known of each number (numbers never seen are absent)."""
        wanted = list(dict.fromkeys(numbers))
        found: dict[str, ViesRecord] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(wanted):
                for row in conn.execute(select(vies_numbers).where(vies_numbers.c.vat_number.in_(chunk))).mappings():
                    found[row["vat_number"]] = _record(row)
        return found

    def request_counts(self, numbers: Iterable[str] | None = None) -> dict[str, int]:
        """How many VIES requests each number cost so far (all numbers when none are given)."""
        stmt = select(vies_numbers.c.vat_number, vies_numbers.c.requests)
        if numbers is not None:
            stmt = stmt.where(vies_numbers.c.vat_number.in_(list(numbers)))
        with self.engine.connect() as conn:
            return {row.vat_number: int(row.requests) for row in conn.execute(stmt)}

    def claim(self, number: str, owner: str, lease: dt.timedelta) -> bool:
        """Take the number for one VIES request; False while another live owner holds it."""
        now = utcnow()
        t = vies_numbers
        with self.store.begin() as conn:
            insert_new(conn, t, [{"vat_number": number, "requests": 0, "updated_at": now}])
            taken = conn.execute(
                update(t)
                .where(t.c.vat_number == number, or_(t.c.claim_owner.is_(None), t.c.claim_owner == owner, t.c.claimed_at < now - lease))
                .values(claim_owner=owner, claimed_at=now)
            ).rowcount
        return taken == 1

    def claimed(self, numbers: Iterable[str], lease: dt.timedelta) -> set[str]:
        """The numbers someone is asking VIES about right now (a live claim)."""
        now = utcnow()
        t = vies_numbers
        stmt = select(t.c.vat_number).where(t.c.vat_number.in_(list(numbers)), t.c.claim_owner.is_not(None), t.c.claimed_at >= now - lease)
        with self.engine.connect() as conn:
            return {row.vat_number for row in conn.execute(stmt)}

    def release(self, number: str, owner: str) -> None:
        """Let go of a claim without a result."""
        with self.store.begin() as conn:
            conn.execute(update(vies_numbers).where(vies_numbers.c.vat_number == number, vies_numbers.c.claim_owner == owner).values(claim_owner=None, claimed_at=None))

    def _write(self, number: str, owner: str | None, values: dict) -> ViesRecord:
        now = utcnow()
        t = vies_numbers
        with self.store.begin() as conn:
            insert_new(conn, t, [{"vat_number": number, "requests": 0, "updated_at": now}])
            where = t.c.vat_number == number
            release = {"claim_owner": None, "claimed_at": None} if owner is not None else {}
            conn.execute(update(t).where(where).values(**values, **release, updated_at=now))
            return _record(conn.execute(select(t).where(where)).mappings().one())

    def save_answer(self, number: str, owner: str | None, *, valid: bool, name: str | None, address: str | None, request_date: dt.date) -> ViesRecord:
        """VIES's verdict (valid or not registered): kept, the fault history cleared, the claim released."""
        return self._write(number, owner, {
            "valid": valid, "answer_fault": None, "name": name, "address": address, "request_date": request_date, "checked_at": utcnow(),
            "fault": None, "fault_at": None, "unconfirmed_since": None, "requests": vies_numbers.c.requests + 1,
        })  # fmt: skip

    def save_number_fault(self, number: str, owner: str | None, code: str) -> ViesRecord:
        """A fault about the number itself (INVALID_INPUT, VAT_BLOCKED): a verdict too, kept like an invalid one."""
        return self._write(number, owner, {
            "valid": None, "answer_fault": code, "name": None, "address": None, "request_date": None, "checked_at": utcnow(),
            "fault": None, "fault_at": None, "unconfirmed_since": None, "requests": vies_numbers.c.requests + 1,
        })  # fmt: skip

    def save_fault(self, number: str, owner: str | None, code: str, *, asked: bool) -> ViesRecord:
        """VIES could not confirm the number (asked: a request was sent; else its member state or VIES is paused)."""
        now = utcnow()
        t = vies_numbers
        values: dict[str, Any] = {"fault": code, "fault_at": now, "unconfirmed_since": func.coalesce(t.c.unconfirmed_since, now)}
        if asked:
            values["requests"] = t.c.requests + 1
        return self._write(number, owner, values)

    # ---- which order asked about which number ----------------------------------------------------

    def link_orders(self, tenant: str, numbers: dict[int, str]) -> None:
        """Remember the VAT number each ICP order was checked under (the dashboard shows its verdict)."""
        if not numbers:
            return
        now = utcnow()
        t = vies_orders
        with self.store.begin() as conn:
            conn.execute(
                update(t).where(t.c.tenant == tenant, t.c.order_id == bindparam("b_order_id")).values(vat_number=bindparam("b_number"), updated_at=now),
                [{"b_order_id": oid, "b_number": number} for oid, number in numbers.items()],
            )
            insert_new(conn, t, [{"tenant": tenant, "order_id": oid, "vat_number": number, "updated_at": now} for oid, number in numbers.items()])

    def numbers_of_orders(self, tenant: str, order_ids: Iterable[int]) -> dict[int, str]:
        """The VAT number each of these orders was checked under (orders never checked are absent)."""
        found: dict[int, str] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(order_ids))):
                stmt = select(vies_orders.c.order_id, vies_orders.c.vat_number).where(vies_orders.c.tenant == tenant, vies_orders.c.order_id.in_(chunk))
                found.update({row.order_id: row.vat_number for row in conn.execute(stmt)})
        return found

    def records_of_orders(self, tenant: str, order_ids: Iterable[int]) -> dict[int, tuple[str, ViesRecord | None]]:
        """Order id → (its VAT number, what VIES said of it) for the orders that were checked."""
        numbers = self.numbers_of_orders(tenant, order_ids)
        records = self.records(numbers.values())
        return {oid: (number, records.get(number)) for oid, number in numbers.items()}

    def set_waiting(self, tenant: str, reasons: dict[int, str], run_id: str | None = None) -> None:
        """Orders that wait for VIES: Open with the reason and code VIES_WAIT (unless booked)."""
        if not reasons:
            return
        now = utcnow()
        with self.store.begin() as conn:
            conn.execute(
                update(orders)
                .where(orders.c.tenant == tenant, orders.c.order_id == bindparam("b_key"), not_final(orders.c.state))
                .values(state=OPEN, reason=bindparam("reason"), error_code=VIES_WAIT, updated_at=now, run_id=run_id),
                [{"b_key": oid, "reason": reason[:2000]} for oid, reason in reasons.items()],
            )

    def waiting_orders(self, tenant: str) -> list[int]:
        """Open orders that wait for VIES, oldest first (every hourly run tries them again)."""
        stmt = (
            select(orders.c.order_id)
            .where(orders.c.tenant == tenant, orders.c.state == OPEN, orders.c.error_code == VIES_WAIT)
            .order_by(orders.c.order_date, orders.c.order_id)
        )
        with self.engine.connect() as conn:
            return [row.order_id for row in conn.execute(stmt)]

    # ---- the deployment's request slots and pauses -------------------------------------------------

    def _ensure_slots(self) -> None:
        if not self._slots_ready:
            with self.store.begin() as conn:
                insert_new(conn, vies_leases, [{"name": name} for name in SLOTS])
            self._slots_ready = True

    def acquire_slot(self, holder: str, lease: dt.timedelta) -> str | None:
        """One of the deployment's VIES request slots for ``holder`` (until released, or lease expiry); None when all
        are held. Each slot is taken by a compare-and-set UPDATE: two processes never hold the same slot."""
        self._ensure_slots()
        now = utcnow()
        t = vies_leases
        for name in SLOTS:
            with self.store.begin() as conn:
                taken = conn.execute(
                    update(t).where(t.c.name == name, or_(t.c.holder.is_(None), t.c.until < now)).values(holder=holder, until=now + lease, detail=None)
                ).rowcount
            if taken == 1:
                return name
        return None

    def release_slot(self, name: str, holder: str) -> None:
        """Give a slot back (only if it is still ours)."""
        with self.store.begin() as conn:
            conn.execute(update(vies_leases).where(vies_leases.c.name == name, vies_leases.c.holder == holder).values(holder=None, until=None))

    def slots_held(self) -> int:
        """How many slots are held right now (live leases)."""
        now = utcnow()
        with self.engine.connect() as conn:
            return int(conn.execute(
                select(func.count()).select_from(vies_leases).where(vies_leases.c.name.in_(SLOTS), vies_leases.c.holder.is_not(None), vies_leases.c.until >= now)
            ).scalar_one())  # fmt: skip

    def pause(self, scope: str, code: str, until: dt.datetime) -> None:
        """Nobody asks VIES (scope EU) or a member state (scope BE, ...) before ``until``: it answered ``code``."""
        name = f"{PAUSE}{scope}"
        with self.store.begin() as conn:
            if conn.execute(update(vies_leases).where(vies_leases.c.name == name).values(until=until, detail=code)).rowcount == 0:
                insert_new(conn, vies_leases, [{"name": name, "until": until, "detail": code}])

    def pauses(self) -> dict[str, str]:
        """Scope → fault of the pauses in force now."""
        now = utcnow()
        stmt = select(vies_leases.c.name, vies_leases.c.detail).where(and_(vies_leases.c.name.like(f"{PAUSE}%"), vies_leases.c.until > now))
        with self.engine.connect() as conn:
            return {row.name[len(PAUSE):]: row.detail or "" for row in conn.execute(stmt)}
