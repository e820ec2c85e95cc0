"""The dashboard's read side of the state store: listings, tab counts, totals, the CSV stream and the run links.

Only the dashboard (``ui/app.py``) reads through these; the pipeline's reads and writes are the ledger, ``store.py``.
Every query is shaped for an index (``schema.py``): a search first looks for exact numbers (instant at 100,000 rows)
and only when none match for what starts with what was typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from sqlalchemy import ColumnElement, Table, and_, func, or_, select, union

from prestashop_eboekhouden.schema import BOOKED, MAX_KEY, STATES, credits, orders, payments, runs
from prestashop_eboekhouden.store import StateStore, chunks
from prestashop_eboekhouden.ui.entries import EntryQueries


class DashboardQueries(EntryQueries):
    """The dashboard's queries over one state store (orders, credit slips and payments together: ``ui/entries.py``)."""

    def __init__(self, store: StateStore):
        self.store = store
        self.engine = store.engine

    def counts(self, tenant: str, table: Table = orders) -> dict[str, int]:
        """Rows per state (the store's own count)."""
        return self.store.counts(tenant, table)

    # ---- payments (the Payments tab) ------------------------------------------------------------------------

    def payment_rows(self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
                     q: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:  # fmt: skip
        """One page of payments, newest first, and the total that matches."""
        return self.list_rows(payments, tenant, state, since, until, q, limit, offset)

    def payment_counts(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None) -> dict[str, int]:
        """Payments per state within a period and search."""
        return self.filtered_counts(tenant, payments, since, until, q)

    def iter_payments(self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None) -> Iterator[dict]:
        """Every payment of a listing, streamed (the CSV export)."""
        return self.iter_rows(payments, tenant, state, since, until, q)

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
            exact: list[ColumnElement[bool]] = [table.c.reference.in_(variants), table.c.sales_number.in_(variants)]
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

    def filtered_counts(self, tenant: str, table: Table = orders, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None) -> dict[str, int]:
        """Rows per state within a period and search (the tab counts follow the filter)."""
        if not (since or until or (q and q.strip())):
            return self.counts(tenant, table)
        where, _ = self._search(table, tenant, None, since, until, q)
        stmt = select(table.c.state, func.count()).where(where).group_by(table.c.state)
        with self.engine.connect() as conn:
            found = {state: count for state, count in conn.execute(stmt)}
        return {state: found.get(state, 0) for state in STATES}

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
            for chunk in chunks(wanted):
                stmt = select(runs.c.run_id, runs.c.dag_id).where(runs.c.tenant == tenant, runs.c.run_id.in_(chunk))
                found.update({r.run_id: r.dag_id for r in conn.execute(stmt)})
        return found

    def last_runs(self, tenant: str, limit: int = 10) -> list[dict]:
        """The most recent runs, each once with its latest summary (a failed run may have written down why more than once)."""
        stmt = select(runs).where(runs.c.tenant == tenant).order_by(runs.c.finished_at.desc(), runs.c.id.desc()).limit(limit * 4)
        found: dict[tuple[str, str], dict] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                found.setdefault((row["dag_id"], row["run_id"]), dict(row))
        return list(found.values())[:limit]

