"""The dashboard's listings of Report, Errors and Open: orders and credit slips together, and in Errors (and among
the Errors worked off) refused payments too — one row per item, each with its kind, newest first.

Every side is read from its own index and only merged when more than one has rows. The tab counts come from the same
WHERE as the listing, so every page (the webshops page, the tabs, the JSON API) shows the same numbers:
Open = orders + credit slips waiting; Report = orders + credit slips booked; Errors = orders + credit slips + payments
refused; worked off (``resolved``) likewise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)

from prestashop_eboekhouden.schema import BOOKED, ERROR, MAX_KEY, OPEN, RESOLVED, credits, orders, payments

WITH_PAYMENTS = (ERROR, RESOLVED)  # tabs where refused payments sit beside orders and credit slips
TAB_STATES = (OPEN, BOOKED, ERROR, RESOLVED)


def _literal(text: str) -> str:
    """A search typed by a user as a LIKE pattern's literal part (% and _ are characters, not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class EntryQueries:
    """Orders, credit slips and (in Errors) payments in one listing; mixed into DashboardQueries (which has ``_listing``)."""

    engine: Any

    def _listing(self, table, tenant, state, since, until, q, prefix: bool = True):  # pragma: no cover - DashboardQueries has it
        raise NotImplementedError

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
                literal_q = _literal(text_q)
                match += [credits.c.reference.like(f"{literal_q}%", escape="\\"), credits.c.sales_number.like(f"{literal_q}%", escape="\\")]
            where.append(or_(*match))
        return and_(*where)

    def _sides(self, tenant: str, state: str | None, since, until, q, prefix: bool) -> list[tuple[str, Any, Any, Any]]:
        """The listing's sides as (kind, select with the common columns, WHERE, table): orders, credit slips (a slip's
        order_date is its own date; its reference and customer are its order's) and, in Errors, payments (dated by the
        payment, with the order's customer)."""
        o_where, _ = self._listing(orders, tenant, state, since, until, q, prefix=prefix)
        o = orders.c
        worked_off = (o.resolution, o.resolved_by, o.resolved_at, o.resolution_note)
        order_side = select(
            literal("order").label("kind"), o.order_id, cast(null(), BigInteger).label("slip_id"), cast(null(), BigInteger).label("payment_id"),
            o.order_id.label("sort_id"), o.reference, o.sales_number, o.order_date, o.shop_status, o.state, o.reason, o.error_code,
            o.amount_incl, o.amount_excl, o.eb_kind, o.eb_id, o.eb_number, o.relation_code, o.attempts, o.last_try, o.booked_at,
            o.first_seen, o.payment_state, o.customer_name, o.run_id, o.intent_at, *worked_off, cast(null(), String(100)).label("method"),
        ).where(o_where)
        c_where = self._credit_where(tenant, state, since, until, q, prefix)
        c, mine = credits.c, orders.alias("credit_order")
        credit_side = (
            select(
                literal("credit").label("kind"), c.order_id, c.slip_id, cast(null(), BigInteger).label("payment_id"), c.slip_id.label("sort_id"),
                func.coalesce(func.nullif(c.reference, ""), mine.c.reference, "").label("reference"), c.sales_number,
                c.slip_date.label("order_date"), cast(null(), Integer).label("shop_status"), c.state, c.reason, c.error_code,
                c.amount_incl, c.amount_excl, c.eb_kind, c.eb_id, c.eb_number, c.relation_code, c.attempts, c.last_try, c.booked_at,
                c.first_seen, cast(null(), String(8)).label("payment_state"), mine.c.customer_name, c.run_id, c.intent_at,
                c.resolution, c.resolved_by, c.resolved_at, c.resolution_note, cast(null(), String(100)).label("method"),
            )
            .select_from(credits.outerjoin(mine, and_(mine.c.tenant == credits.c.tenant, mine.c.order_id == credits.c.order_id)))
            .where(c_where)
        )
        sides = [("order", order_side, o_where, orders), ("credit", credit_side, c_where, credits)]
        if state in WITH_PAYMENTS:
            p_where, _ = self._listing(payments, tenant, state, since, until, q, prefix=prefix)
            p, paid = payments.c, orders.alias("payment_order")
            payment_side = (
                select(
                    literal("payment").label("kind"), p.order_id, cast(null(), BigInteger).label("slip_id"), p.payment_id,
                    p.payment_id.label("sort_id"), p.reference, p.sales_number, type_coerce(func.date(p.payment_date), Date).label("order_date"),
                    cast(null(), Integer).label("shop_status"), p.state, p.reason, p.error_code, p.amount.label("amount_incl"),
                    cast(null(), BigInteger).label("amount_excl"), cast(null(), String(16)).label("eb_kind"), p.eb_id,
                    cast(null(), String(64)).label("eb_number"), cast(null(), String(32)).label("relation_code"), p.attempts, p.last_try,
                    p.booked_at, p.first_seen, cast(null(), String(8)).label("payment_state"), paid.c.customer_name, p.run_id, p.intent_at,
                    p.resolution, p.resolved_by, p.resolved_at, p.resolution_note, p.method,
                )
                .select_from(payments.outerjoin(paid, and_(paid.c.tenant == payments.c.tenant, paid.c.order_id == payments.c.order_id)))
                .where(p_where)
            )
            sides.append(("payment", payment_side, p_where, payments))
        return sides

    def entry_sides(self, tenant: str, state: str | None, since, until, q, prefix: bool) -> tuple[Any, Any, Any, Any]:
        """Orders and credit slips of a listing as (order select, its WHERE, credit select, its WHERE), with the same
        columns (the run view filters both on a run and reads them as one listing)."""
        (_, order_side, o_where, _), (_, credit_side, c_where, _) = self._sides(tenant, state, since, until, q, prefix)[:2]
        return order_side, o_where, credit_side, c_where

    def _kind_counts(self, sides) -> dict[str, int]:
        """How many rows of each kind a listing matches, each counted by its own index."""
        with self.engine.connect() as conn:
            return {kind: int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()) for kind, _, where, table in sides}

    def _entries_search(self, tenant: str, state: str | None, since, until, q):
        """The sides of a listing and how many each matches: exact matches when a search has any (on any side), else
        what starts with it."""
        prefixes = (False, True) if q and q.strip() else (True,)
        for prefix in prefixes:
            sides = self._sides(tenant, state, since, until, q, prefix)
            kinds = self._kind_counts(sides)
            if sum(kinds.values()):
                break
        return sides, kinds

    @staticmethod
    def _newest_first(side, limit: int | None = None):
        order = (side.selected_columns.order_date.desc(), side.selected_columns.sort_id.desc())
        return side.order_by(*order).limit(limit) if limit is not None else side.order_by(*order)

    def list_entries_by_kind(
        self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
        q: str | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[list[dict], int, dict[str, int]]:
        """One page of the listing (each row with its kind), newest first, the total that matches, and how many of the
        matching rows are of each kind.

        Each side is read newest first from its own index; only when several have rows are they merged, each cut at
        offset + limit first (a tenant without slips pages its orders exactly as before)."""
        sides, kinds = self._entries_search(tenant, state, since, until, q)
        total = sum(kinds.values())
        if not total or offset >= total:
            return [], total, kinds
        present = [side for kind, side, _, _ in sides if kinds[kind]]
        if len(present) == 1:
            stmt = self._newest_first(present[0]).limit(limit).offset(offset)
        else:
            merged = union_all(*(self._newest_first(side, offset + limit).subquery().select() for side in present)).subquery("entries")
            stmt = select(merged).order_by(merged.c.order_date.desc(), merged.c.sort_id.desc(), merged.c.kind).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()], total, kinds

    def iter_entries(
        self, tenant: str, state: str | None = None, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None, chunk: int = 2000,
    ) -> Iterator[dict]:
        """Every row of a listing, newest first, streamed (the CSV export)."""
        sides, _ = self._entries_search(tenant, state, since, until, q)
        merged = union_all(*(side for _, side, _, _ in sides)).subquery("entries")
        stmt = select(merged).order_by(merged.c.order_date.desc(), merged.c.sort_id.desc(), merged.c.kind)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=chunk).execute(stmt).mappings():
                yield dict(row)

    def entries_totals(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None, state: str = BOOKED) -> dict:
        """The Report's totals over orders and credit slips (a credit's amounts are negative: a refund lowers the total)."""
        sides, _ = self._entries_search(tenant, state, since, until, q)
        count = 0
        incl = excl = Decimal(0)
        with self.engine.connect() as conn:
            for kind, side, _, _ in sides:
                if kind == "payment":
                    continue
                part = side.subquery()
                n, side_incl, side_excl = conn.execute(select(func.count(), func.sum(part.c.amount_incl), func.sum(part.c.amount_excl))).one()
                count += int(n)
                incl += Decimal(side_incl or 0)
                excl += Decimal(side_excl or 0)
        cents = Decimal("0.01")
        incl, excl = incl.quantize(cents), excl.quantize(cents)
        return {"count": count, "amount_incl": incl, "amount_excl": excl, "amount_vat": incl - excl}

    def entries_counts(self, tenant: str, since: dt.date | None = None, until: dt.date | None = None, q: str | None = None) -> dict[str, int]:
        """The tab counts within a period and search, from the same WHERE as each tab's listing: open, booked (Report),
        error (Errors: payments too) and resolved (worked off). A search matches exactly or by its start, decided over
        every side as the listing does."""
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for state in TAB_STATES:
                if since or until or (q and q.strip()):
                    sides, kinds = self._entries_search(tenant, state, since, until, q)
                    found[state] = sum(kinds.values())
                    continue
                total = 0
                for table in (orders, credits, payments) if state in WITH_PAYMENTS else (orders, credits):
                    total += int(conn.execute(select(func.count()).select_from(table).where(table.c.tenant == tenant, table.c.state == state)).scalar_one())
                found[state] = total
        return found
