"""The Reconcile tab's reads of the state store: the differences of a period (open, each once), their counts per kind,
and the latest reconciliation of exactly that period (its totals and VAT summary, kept by the run). Every query is a
range of an index (``schema.py``): the tab never reads the orders table, whatever its size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from sqlalchemy import func, select

from prestashop_eboekhouden.domain.reconcile import KINDS, LABELS
from prestashop_eboekhouden.schema import ERROR, OPEN, credits, differences, orders, reconcile_runs
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.ui.rows import plain

DIFFERENCE_COLUMNS = ("kind", "label", "date", "order_id", "slip_id", "reference", "sales_number", "shop", "booked", "books", "detail", "next_step", "first_seen", "last_seen")
TOTALS_COLUMNS = (
    "regime", "country", "vat_code", *(f"{side}_{c}" for side in ("shop", "booked", "books") for c in ("docs", "incl", "excl", "vat")),
    "shop_minus_booked", "booked_minus_books",
)  # fmt: skip


def difference_row(row: dict) -> dict:
    """A stored difference as the tab and its JSON show it (amounts as exact strings)."""
    return {
        "kind": row["kind"], "label": LABELS.get(row["kind"], row["kind"]), "subject": row["subject"], "date": plain(row["doc_date"]),
        "order_id": row["order_id"], "slip_id": row["slip_id"], "reference": row["reference"] or "", "sales_number": row["sales_number"] or "",
        "shop": plain(row["shop"]), "booked": plain(row["booked"]), "books": plain(row["books"]), "detail": row["detail"] or "",
        "next_step": row["next_step"] or "", "first_seen": plain(row["first_seen"]), "last_seen": plain(row["last_seen"]),
        "resolved_at": plain(row["resolved_at"]),
    }  # fmt: skip


class ReconcileQueries:
    """The Reconcile tab's queries over one state store."""

    def __init__(self, store: StateStore):
        self.store, self.engine = store, store.engine

    def _open_in(self, tenant: str, since: dt.date, until: dt.date, kind: str | None = None) -> list:
        where = [differences.c.tenant == tenant, differences.c.resolved_at.is_(None), differences.c.doc_date >= since, differences.c.doc_date <= until]
        if kind:
            where.append(differences.c.kind == kind)
        return where

    def counts(self, tenant: str, since: dt.date, until: dt.date) -> dict[str, int]:
        """Open differences per kind in the period (every kind, 0 included)."""
        stmt = select(differences.c.kind, func.count()).where(*self._open_in(tenant, since, until)).group_by(differences.c.kind)
        with self.engine.connect() as conn:
            found: dict[str, int] = {str(kind): int(n) for kind, n in conn.execute(stmt).all()}
        return {kind: int(found.get(kind, 0)) for kind in KINDS}

    def rows(self, tenant: str, since: dt.date, until: dt.date, kind: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
        """One page of the period's open differences, oldest document first."""
        stmt = (
            select(differences).where(*self._open_in(tenant, since, until, kind))
            .order_by(differences.c.doc_date, differences.c.kind, differences.c.subject).limit(limit).offset(offset)
        )  # fmt: skip
        with self.engine.connect() as conn:
            return [difference_row(dict(r)) for r in conn.execute(stmt).mappings()]

    def iter_rows(self, tenant: str, since: dt.date, until: dt.date, kind: str | None = None) -> Iterator[dict]:
        """Every open difference of the period (the CSV), streamed."""
        stmt = select(differences).where(*self._open_in(tenant, since, until, kind)).order_by(differences.c.doc_date, differences.c.kind, differences.c.subject)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=500).execute(stmt).mappings():
                yield difference_row(dict(row))

    def unbooked(self, tenant: str, since: dt.date, until: dt.date) -> dict[str, int]:
        """Orders and credit slips of the period in Errors and in Open: not differences, but not booked either (each
        state a range of the (tenant, state, date) index)."""
        counts = {ERROR: 0, OPEN: 0}
        with self.engine.connect() as conn:
            for table, date in ((orders, orders.c.order_date), (credits, credits.c.slip_date)):
                for state in counts:
                    stmt = select(func.count()).select_from(table).where(table.c.tenant == tenant, table.c.state == state, date >= since, date <= until)
                    counts[state] += int(conn.execute(stmt).scalar_one())
        return counts

    def latest_run(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None) -> dict | None:
        """The latest finished reconciliation of exactly this period (any period when none is given), or None."""
        stmt = select(reconcile_runs).where(reconcile_runs.c.tenant == tenant, reconcile_runs.c.state != "running")
        if since is not None and until is not None:
            stmt = stmt.where(reconcile_runs.c.since == since, reconcile_runs.c.until == until)
        with self.engine.connect() as conn:
            row = conn.execute(stmt.order_by(reconcile_runs.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row else None


def csv_differences(rows: Iterator[dict]) -> Iterator[str]:
    """The differences as CSV, streamed."""
    return _csv(rows, DIFFERENCE_COLUMNS)


def csv_totals(rows: list[dict]) -> Iterator[str]:
    """A run's totals as CSV."""
    return _csv(iter(rows), TOTALS_COLUMNS)


def _csv(rows: Iterator[dict], columns: tuple[str, ...]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
