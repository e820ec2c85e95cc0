"""The reconciliation's part of the state store: its runs, the differences they found, and when each booking was last
compared in full with e-Boekhouden (the rotation). Tables in ``schema.py`` (revision 0006).

A difference is one row per (tenant, kind, subject) however many runs find it: ``first_seen`` / ``last_seen`` and the
runs, until a later run looks at the subject again and no longer finds it (``resolved_at``); one that comes back is
opened again (and is new again for the notifier). The reconciliation writes only here, never to the ledger's orders,
payments or credits — except :meth:`ReconcileLedger.book_again`, which the bookkeeper asks for (a sale confirmed
deleted in e-Boekhouden goes back to Open, so Process books it again).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from sqlalchemy import and_, func, insert, select, update

from prestashop_eboekhouden.domain.reconcile import MISSING_IN_BOOKS, Difference, Found
from prestashop_eboekhouden.schema import (
    BOOKED,
    OPEN,
    RESOLVED,
    credits,
    differences,
    orders,
    payments,
    reconcile_checks,
    reconcile_runs,
    utcnow,
)
from prestashop_eboekhouden.store import StateStore, chunks

RUNNING, DONE, FAILED = "running", "done", "failed"
BOOKED_COLUMNS = ("order_id", "reference", "sales_number", "order_date", "amount_incl", "eb_id", "eb_kind", "eb_number", "plan", "state", "relation_id")


class ReconcileLedger:
    """Reads and writes of the reconciliation over one state store."""

    def __init__(self, store: StateStore):
        self.store = store
        self.engine = store.engine

    # ---- what we booked --------------------------------------------------------------------------------------

    def orders_in_period(self, tenant: str, since: dt.date, until: dt.date) -> dict[int, dict]:
        """Every stored order dated in [since, until] (any state), by order id."""
        stmt = select(orders).where(orders.c.tenant == tenant, orders.c.order_date >= since, orders.c.order_date <= until)
        with self.engine.connect() as conn:
            return {row["order_id"]: dict(row) for row in conn.execute(stmt).mappings()}

    def credits_in_period(self, tenant: str, since: dt.date, until: dt.date) -> dict[int, dict]:
        """Every stored credit slip dated in [since, until] (any state), by slip id."""
        stmt = select(credits).where(credits.c.tenant == tenant, credits.c.slip_date >= since, credits.c.slip_date <= until)
        with self.engine.connect() as conn:
            return {row["slip_id"]: dict(row) for row in conn.execute(stmt).mappings()}

    def credits_of_orders(self, tenant: str, order_ids: Iterable[int]) -> dict[int, list[dict]]:
        """Stored credit slips per order id (with how a bookkeeper worked one off, for the slips booked by hand)."""
        grouped: dict[int, list[dict]] = defaultdict(list)
        columns = [credits.c[name] for name in ("slip_id", "order_id", "state", "amount_incl", "sales_number", "resolution", "resolved_by")]
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(order_ids))):
                stmt = select(*columns).where(
                    credits.c.tenant == tenant, credits.c.order_id.in_(chunk)
                )
                for row in conn.execute(stmt).mappings():
                    grouped[row["order_id"]].append(dict(row))
        return dict(grouped)

    def payments_by_number(self, tenant: str, numbers: Iterable[str]) -> dict[str, list[dict]]:
        """Stored payments per sales number (with how a bookkeeper worked one off, for the payments booked by hand)."""
        grouped: dict[str, list[dict]] = defaultdict(list)
        columns = [payments.c[name] for name in ("payment_id", "order_id", "sales_number", "state", "amount", "eb_id", "resolution")]
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(numbers))):
                stmt = select(*columns).where(
                    payments.c.tenant == tenant, payments.c.sales_number.in_(chunk)
                )
                for row in conn.execute(stmt).mappings():
                    grouped[row["sales_number"]].append(dict(row))
        return dict(grouped)

    def known_numbers(self, tenant: str, numbers: Iterable[str]) -> set[str]:
        """Which of these numbers this integration gave a sale or credit (any state, any date; compared ignoring case)."""
        wanted = list(dict.fromkeys(n for n in numbers if n))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for table in (orders, credits):
                for chunk in chunks(wanted):
                    for column in (table.c.sales_number, table.c.eb_number):
                        found.update(r[0] for r in conn.execute(select(column).where(table.c.tenant == tenant, column.in_(chunk))))
        folded = {n.casefold() for n in found}
        return {n for n in wanted if n.casefold() in folded}

    def orders_by_hand(self, tenant: str) -> list[dict]:
        """The orders a bookkeeper worked off in Errors as booked by hand (any date): id, reference, sales number."""
        stmt = select(orders.c.order_id, orders.c.reference, orders.c.sales_number).where(
            orders.c.tenant == tenant, orders.c.state == RESOLVED, orders.c.resolution == "by_hand"
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def booked_by_number(self, tenant: str, numbers: Iterable[str]) -> list[dict]:
        """Booked orders and credits under these sales numbers (with ``slip_id`` for a credit)."""
        wanted = list(dict.fromkeys(numbers))
        found = []
        with self.engine.connect() as conn:
            for table in (orders, credits):
                columns = [table.c[name] for name in BOOKED_COLUMNS if name in table.c and name != "order_date"]
                date = (table.c.order_date if table is orders else table.c.slip_date).label("order_date")
                extra = [table.c.slip_id] if table is credits else []
                for chunk in chunks(wanted):
                    stmt = select(*columns, date, *extra).where(table.c.tenant == tenant, table.c.state == BOOKED, table.c.sales_number.in_(chunk))
                    found += [dict(r) for r in conn.execute(stmt).mappings()]
        return found

    def reading_candidates(self, tenant: str, since: dt.date, period: tuple[dt.date, dt.date]) -> list[tuple[str, dt.datetime | None, dt.date | None]]:
        """Booked sales and credits to keep compared (dated from ``since`` on, or in the period): (number, last compared,
        date), the number as e-Boekhouden has it."""
        out = []
        with self.engine.connect() as conn:
            for table, date in ((orders, orders.c.order_date), (credits, credits.c.slip_date)):
                number = func.coalesce(table.c.eb_number, table.c.sales_number)
                stmt = (
                    select(number, reconcile_checks.c.checked_at, date)
                    .select_from(table.outerjoin(reconcile_checks, and_(reconcile_checks.c.tenant == table.c.tenant, reconcile_checks.c.sales_number == number)))
                    .where(table.c.tenant == tenant, table.c.state == BOOKED, (date >= since) | date.between(*period))
                )
                out += [(r[0], r[1], r[2]) for r in conn.execute(stmt)]
        return out

    def checks(self, tenant: str, numbers: Iterable[str]) -> dict[str, dict]:
        """The last full comparison of each number."""
        found = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(numbers))):
                stmt = select(reconcile_checks).where(reconcile_checks.c.tenant == tenant, reconcile_checks.c.sales_number.in_(chunk))
                found.update({r["sales_number"]: dict(r) for r in conn.execute(stmt).mappings()})
        return found

    # ---- writes -----------------------------------------------------------------------------------------------

    def start(self, tenant: str, since: dt.date, until: dt.date, dag_id: str | None, run_id: str | None) -> int:
        """A run begins: its id."""
        with self.store.begin() as conn:
            result = conn.execute(
                insert(reconcile_runs).values(tenant=tenant, since=since, until=until, dag_id=dag_id, run_id=run_id, state=RUNNING, started_at=utcnow())
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def failed(self, run: int, error: str) -> None:
        with self.store.begin() as conn:
            conn.execute(update(reconcile_runs).where(reconcile_runs.c.id == run).values(state=FAILED, finished_at=utcnow(), summary={"error": error[:2000]}))

    def record_checks(self, tenant: str, checks: Sequence[dict]) -> None:
        """Full comparisons made in this run: number, eb_id, doc_date, outcome, total_incl, breakdown."""
        if not checks:
            return
        now = utcnow()
        numbers = [c["sales_number"] for c in checks]
        with self.store.begin() as conn:
            for chunk in chunks(numbers):
                conn.execute(reconcile_checks.delete().where(reconcile_checks.c.tenant == tenant, reconcile_checks.c.sales_number.in_(chunk)))
            conn.execute(insert(reconcile_checks), [{"tenant": tenant, "checked_at": now, **c} for c in checks])

    def finish(self, run: int, tenant: str, found: Found, summary: dict, totals: list[dict], vat_summary: dict) -> dict:
        """Keep the run's differences (each once), resolve those it looked at and no longer found; the counts."""
        now = utcnow()
        new = reopened = resolved = 0
        seen = {(d.kind, d.subject): d for d in found.differences}
        with self.store.begin() as conn:
            existing = {
                (r["kind"], r["subject"]): dict(r)
                for key_chunk in chunks(sorted({s for _, s in seen}))
                for r in conn.execute(select(differences.c.kind, differences.c.subject, differences.c.resolved_at).where(differences.c.tenant == tenant, differences.c.subject.in_(key_chunk))).mappings()
            }
            for key, difference in seen.items():
                values = _values(difference) | {"last_seen": now, "last_run": run}
                if key not in existing:
                    conn.execute(insert(differences).values(tenant=tenant, kind=key[0], subject=key[1], first_seen=now, first_run=run, **values))
                    new += 1
                    continue
                if existing[key]["resolved_at"] is not None:  # it came back: open again, new again
                    values |= {"resolved_at": None, "first_seen": now, "first_run": run}
                    reopened += 1
                conn.execute(update(differences).where(differences.c.tenant == tenant, differences.c.kind == key[0], differences.c.subject == key[1]).values(**values))
            unresolved = conn.execute(select(differences.c.kind, differences.c.subject).where(differences.c.tenant == tenant, differences.c.resolved_at.is_(None))).all()
            gone = [(kind, subject) for kind, subject in unresolved if (kind, subject) not in seen and subject in found.examined.get(kind, ())]
            for kind, subject in gone:
                conn.execute(update(differences).where(differences.c.tenant == tenant, differences.c.kind == kind, differences.c.subject == subject).values(resolved_at=now, last_run=run))
            resolved = len(gone)
            counts = {"new": new + reopened, "resolved": resolved, "found": len(seen)}
            conn.execute(
                update(reconcile_runs).where(reconcile_runs.c.id == run)
                .values(state=DONE, finished_at=utcnow(), summary={**summary, **counts}, totals=totals, vat_summary=vat_summary)
            )  # fmt: skip
        return counts

    def new_in_run(self, tenant: str, run: int) -> list[dict]:
        """The differences a run found first (or again after they were resolved): what the notifier mails."""
        stmt = select(differences).where(differences.c.tenant == tenant, differences.c.first_run == run, differences.c.resolved_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt.order_by(differences.c.kind, differences.c.doc_date, differences.c.subject)).mappings()]

    def run_of(self, tenant: str, run_id: str) -> dict | None:
        """The reconciliation run an Airflow run made (the latest, should it have been retried)."""
        stmt = select(reconcile_runs).where(reconcile_runs.c.tenant == tenant, reconcile_runs.c.run_id == run_id).order_by(reconcile_runs.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return dict(row) if row else None

    def book_again(self, tenant: str, order_ids: Sequence[int], slip_ids: Sequence[int], who: str) -> tuple[list[int], list[int]]:
        """The bookkeeper confirmed these sales (and credits) are deleted in e-Boekhouden: back to Open with their plan,
        so Process books them again (the booking code looks the number up first, and adopts it should it exist after all).
        Only those with an open ``missing_in_books`` difference; returns the order and slip ids moved."""
        now = utcnow()
        reason = f"Deleted in e-Boekhouden (confirmed by {who} on {now:%Y-%m-%d %H:%M} UTC): Process books it again"
        moved: dict[str, list[int]] = {"order": [], "slip": []}
        with self.store.begin() as conn:
            open_missing = {
                r.subject for r in conn.execute(
                    select(differences.c.subject).where(differences.c.tenant == tenant, differences.c.kind == MISSING_IN_BOOKS, differences.c.resolved_at.is_(None))
                )
            }  # fmt: skip
            for kind, table, key, ids in (("order", orders, orders.c.order_id, order_ids), ("slip", credits, credits.c.slip_id, slip_ids)):
                for item in dict.fromkeys(ids):
                    if f"{kind} {item}" not in open_missing:
                        continue
                    done = conn.execute(
                        update(table).where(table.c.tenant == tenant, key == item, table.c.state == BOOKED)
                        .values(state=OPEN, reason=reason, error_code=None, eb_id=None, eb_number=None, booked_at=None, intent_at=None, updated_at=now)
                    ).rowcount  # fmt: skip
                    if done:
                        moved[kind].append(item)
                        if table is orders:
                            conn.execute(update(orders).where(orders.c.tenant == tenant, orders.c.order_id == item).values(payment_state=None))
        return moved["order"], moved["slip"]


def _values(difference: Difference) -> dict:
    return {
        "doc_date": difference.date, "order_id": difference.order_id, "slip_id": difference.slip_id, "reference": difference.reference[:64],
        "sales_number": difference.sales_number[:64], "shop": _cents(difference.shop), "booked": _cents(difference.booked),
        "books": _cents(difference.books), "detail": difference.detail[:2000], "next_step": difference.next_step[:2000],
    }  # fmt: skip


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


def plan_rows(plan: Mapping | None) -> tuple[tuple[str, str, Decimal], ...]:
    """(ledger, vat code, incl) of a stored plan's rows."""
    return tuple((str(r["ledger"]), str(r["vat_code"]), Decimal(str(r["amount_incl"]))) for r in (plan or {}).get("rows") or [])
