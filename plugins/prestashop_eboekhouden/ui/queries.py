"""The dashboard's read side of the state store: listings, tab counts, totals, the CSV stream and the run links.

Only the dashboard (``ui/app.py``) reads through these; the pipeline's reads and writes are the ledger, ``store.py``.
Every query is shaped for an index (``schema.py``): a search first looks for exact numbers (instant at 100,000 rows)
and only when none match for what starts with what was typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal

from sqlalchemy import BigInteger, ColumnElement, Integer, String, Table, and_, cast, func, literal, null, or_, select, union, union_all

from prestashop_eboekhouden.schema import BOOKED, MAX_KEY, STATES, credits, orders, payments, runs
from prestashop_eboekhouden.store import StateStore, chunks


class DashboardQueries:
    """The dashboard's queries over one state store."""

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
            exact: list[ColumnElement[bool]] = [credits.c.reference.in_(variants), credits.c.sales_number.in_(variants)]
            if text_q.isdigit() and int(text_q) <= MAX_KEY:
                exact += [credits.c.slip_id == int(text_q), credits.c.order_id == int(text_q)]
            hits = union(*(select(credits.c.slip_id).where(credits.c.tenant == tenant, condition) for condition in exact))
            match = [credits.c.slip_id.in_(hits)]
            if prefix:
                literal_q = text_q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                match += [credits.c.reference.like(f"{literal_q}%", escape="\\"), credits.c.sales_number.like(f"{literal_q}%", escape="\\")]
            where.append(or_(*match))
        return and_(*where)

    def entry_sides(self, tenant: str, state: str | None, since, until, q, prefix: bool):
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
            order_side, o_where, credit_side, c_where = self.entry_sides(tenant, state, since, until, q, prefix)
            kinds = self._kind_counts(o_where, c_where)
            if sum(kinds.values()):
                break
        return order_side, credit_side, kinds

    @staticmethod
    def _newest_first(side, limit: int | None = None):
        order = (side.selected_columns.order_date.desc(), side.selected_columns.sort_id.desc())
        return side.order_by(*order).limit(limit) if limit is not None else side.order_by(*order)

    def list_entries_by_kind(
        self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
        q: str | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[list[dict], int, dict[str, int]]:
        """One page of orders and credit slips (each row with its kind), newest first, the total that matches, and how
        many of the matching rows are orders and how many credit slips.

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
                _, o_where, _, c_where = self.entry_sides(tenant, None, since, until, q, prefix)
                if prefix or any(self._kind_counts(o_where, c_where).values()):
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
            for chunk in chunks(wanted):
                stmt = select(runs.c.run_id, runs.c.dag_id).where(runs.c.tenant == tenant, runs.c.run_id.in_(chunk))
                found.update({r.run_id: r.dag_id for r in conn.execute(stmt)})
        return found

    def last_runs(self, tenant: str, limit: int = 10) -> list[dict]:
        """The most recent run summaries."""
        stmt = select(runs).where(runs.c.tenant == tenant).order_by(runs.c.finished_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

