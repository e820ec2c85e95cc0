"""Reconcile a period: the shop, what we booked (the state store) and e-Boekhouden, side by side. Read only: it never
books, changes or records anything in the shop or e-Boekhouden; it keeps its own findings in the store (its runs, the
differences, when each booking was last compared), and not even that with ``record=False`` (the shell's ``setup
reconcile``).

What it costs (the aims in the README, measured by bench/reconcile.py):
- PrestaShop: the period's orders and credit slips, light, 1,000 a request; in full only those that changed after
  booking or that no run has seen (``reconcile.max_shop_reads`` a run, 4 requests per 100);
- e-Boekhouden: the period's sales, credits and payments listed (REST: pages of 2,000; SOAP: GetMutaties, whole), plus
  the bounded full reads: a booking not listed is looked up by its number before it is called missing, and each run reads
  its share of the last ``reconcile.months_back`` months' bookings whole (never read ones first) so that every one is
  compared within ``reconcile.compare_within_days`` days, at most ``reconcile.max_full_reads``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.config import VAT_OSS, TenantConfig
from prestashop_eboekhouden.domain import vat_totals
from prestashop_eboekhouden.domain.reconcile import (
    KINDS,
    SALE,
    Difference,
    Found,
    InBooks,
    by_hand_numbers,
    compare_booking,
    compare_books,
    compare_payments,
    compare_read,
    compare_shop,
    our_numbers,
    pick_for_reading,
    read_budget,
)
from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
from prestashop_eboekhouden.hooks.protocol import BookkeepingApi
from prestashop_eboekhouden.pipeline.recheck import cutoff_date
from prestashop_eboekhouden.pipeline.reconcile_sides import booked, shop_orders, shop_plans, shop_slips
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.store_reconcile import ReconcileLedger

log = logging.getLogger(__name__)
MAX_LOOKUPS = 500  # bookings not listed in the period, looked up by number per run before they are called missing


@dataclass
class Reconciled:
    """A reconciliation's outcome: the differences (each once), the totals, the VAT summary and what it cost."""

    since: dt.date
    until: dt.date
    differences: list[Difference]
    totals: list[dict[str, Any]]
    vat_summary: dict[str, Any]
    summary: dict[str, Any]
    run: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)  # new / resolved (recorded runs)

    def as_json(self) -> dict[str, Any]:
        """What ``setup reconcile --json`` prints."""
        return {
            "tenant": self.summary.get("tenant"), "since": self.since.isoformat(), "until": self.until.isoformat(),
            "differences": [difference_json(d) for d in self.differences], "totals": self.totals, "vat_summary": self.vat_summary,
            "summary": self.summary,
        }  # fmt: skip


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def difference_json(d: Difference) -> dict[str, Any]:
    money = _money
    return {
        "kind": d.kind, "order_id": d.order_id, "slip_id": d.slip_id, "reference": d.reference, "sales_number": d.sales_number,
        "date": d.date.isoformat() if d.date else None, "shop": money(d.shop), "booked": money(d.booked), "books": money(d.books),
        "detail": d.detail, "next_step": d.next_step,
    }  # fmt: skip


def reconcile(
    config: TenantConfig, shop: PrestaShopHook, eb: BookkeepingApi, store: StateStore, since: dt.date, until: dt.date, *,
    today: dt.date, run_id: str | None = None, dag_id: str | None = None, record: bool = True,
) -> Reconciled:  # fmt: skip
    """Reconcile [since, until] (shop-local days, both included)."""
    ledger = ReconcileLedger(store)
    run = ledger.start(config.tenant, since, until, dag_id, run_id) if record else None
    try:
        result = _reconcile(config, shop, eb, store, ledger, since, until, today)
    except Exception as exc:
        if run is not None:
            ledger.failed(run, f"{type(exc).__name__}: {exc}")
        raise
    result.run = run
    if run is not None:
        ledger.record_checks(config.tenant, result.summary.pop("_checks"))
        result.counts = ledger.finish(run, config.tenant, result.summary.pop("_found"), result.summary, result.totals, result.vat_summary)
        result.summary.update(result.counts)
    else:
        result.summary.pop("_checks")
        result.summary.pop("_found")
    return result


def _reconcile(config: TenantConfig, shop: PrestaShopHook, eb: BookkeepingApi, store: StateStore, ledger: ReconcileLedger,
               since: dt.date, until: dt.date, today: dt.date) -> Reconciled:  # fmt: skip
    tenant = config.tenant
    process = frozenset(config.prestashop.process_statuses)
    # ---- the shop against the store
    states = shop.order_states()
    listed_orders = shop_orders(shop, since, until, states)
    listed_slips = shop_slips(shop, since, until) if config.prestashop.credit_slips else []
    stored = ledger.orders_in_period(tenant, since, until)
    stored.update(store.get_orders(tenant, [o.order_id for o in listed_orders if o.order_id not in stored]))
    stored_slips = ledger.credits_in_period(tenant, since, until)
    stored_slips.update(store.get_credits(tenant, [s.slip_id for s in listed_slips if s.slip_id not in stored_slips]))
    credits_of = ledger.credits_of_orders(tenant, [oid for oid, row in stored.items() if row["state"] in ("booked", "resolved")])
    paid = [o.order_id for o in listed_orders if o.paid and stored.get(o.order_id, {}).get("state") == "booked"]
    payments_of = store.payments_of_orders(tenant, paid) if config.payments.enabled else {}
    found = compare_shop(
        listed_orders, listed_slips, stored, stored_slips, credits_of, payments_of, process=process,
        payments=config.payments.enabled, hourly_dag=f"{tenant}__orders_hourly",
    )  # fmt: skip
    # ---- the store against e-Boekhouden
    ours = booked([*stored.values(), *stored_slips.values()])
    invoices = config.eboekhouden.book_as == "invoice"
    listing = list(eb.bookings_between(since, until))
    sales = list(eb.invoices_between(since, until)) if invoices else [b for b in listing if b.type == SALE]
    listed_numbers = {b.number.strip().casefold() for b in sales}
    not_listed = [b for b in ours if b.books_number.strip().casefold() not in listed_numbers]
    if len(not_listed) > MAX_LOOKUPS:
        log.warning("%d bookings are not listed by e-Boekhouden for the period; %d are looked up now, the rest by the next runs", len(not_listed), MAX_LOOKUPS)
    looked_up = eb.read_bookings([(b.books_number, b.eb_id, b.date) for b in not_listed[:MAX_LOOKUPS]], invoices=invoices) if not_listed else {}
    whole = {b.number: b for b in sales if b.whole}
    picked, rotation = _rotation(config, eb, ledger, since, until, today, exclude={*whole, *looked_up}, invoices=invoices)
    read = {**{n: b for n, b in looked_up.items() if b is not None and b.whole}, **{n: b for n, b in rotation.items() if b is not None}}
    pattern = our_numbers(config.eboekhouden.sales_number_prefix, config.eboekhouden.sales_number, config.eboekhouden.credit_suffix)
    known = ledger.known_numbers(tenant, [b.number for b in sales if pattern.match(b.number)])
    foreign = [b for b in sales if pattern.match(b.number) and b.number not in known and not b.whole][:MAX_LOOKUPS]
    if foreign:  # a few (normally none): read whole, so their amount shows
        found_whole = eb.read_bookings([(b.number, b.id, _day(b.date)) for b in foreign], invoices=invoices)
        sales = [found_whole.get(b.number) or b if b in foreign else b for b in sales]
    by_hand: set[str] = set()  # sales of orders worked off as booked by hand, under the number we would have given them
    if any(pattern.match(b.number) and b.number not in known for b in sales):
        by_hand = by_hand_numbers(ledger.orders_by_hand(tenant), config.eboekhouden.sales_number_prefix, config.eboekhouden.sales_number)
    found.merge(compare_books(ours, sales, {**whole, **read}, looked_up, lambda n: n in known or n.casefold() in by_hand, pattern))
    in_period = {b.books_number for b in ours}
    outside = booked(ledger.booked_by_number(tenant, [n for n in rotation if n not in in_period]))
    found.merge(compare_read(outside, rotation))
    if config.payments.enabled:
        by_number = {b.sales_number: b for b in ours if b.slip_id is None}
        shop_paid = {o.order_id: o.total_incl for o in listed_orders}
        found.merge(compare_payments(by_number, [b for b in listing if b.type == 3], ledger.payments_by_number(tenant, by_number), shop_paid))
    # ---- totals: the shop, what we booked, e-Boekhouden
    fresh = _fresh_plans(config, shop, found)
    gone = {n for n, b in [*looked_up.items(), *rotation.items()] if b is None}
    sides = {"orders": listed_orders, "slips": listed_slips, "stored": stored, "stored_slips": stored_slips, "ours": ours, "outside": outside, "sales": sales}
    lines, coverage, checks = _lines(config, ledger, sides, fresh, {**whole, **read}, gone, known, pattern)
    differences = sorted(found.differences, key=lambda d: (KINDS.index(d.kind), d.date or dt.date.min, d.subject))
    summary = {
        "tenant": tenant, "since": since.isoformat(), "until": until.isoformat(),
        "kinds": {kind: sum(1 for d in differences if d.kind == kind) for kind in KINDS},
        "shop_orders": len(listed_orders), "shop_slips": len(listed_slips), "booked": len(ours), "in_books": len(sales),
        "compared": coverage, "full_reads": len(picked), "lookups": len(looked_up), "shop_reads": len(fresh),
        "requests": {"prestashop": sum(shop.requests_made.values()), "eboekhouden": sum(eb.requests_made.values())},
        "_checks": checks, "_found": found,
    }  # fmt: skip
    return Reconciled(since, until, differences, vat_totals.totals(lines), vat_totals.vat_summary(lines), summary)


def _rotation(config: TenantConfig, eb: BookkeepingApi, ledger: ReconcileLedger, since: dt.date, until: dt.date, today: dt.date,
              *, exclude: set[str], invoices: bool) -> tuple[list[str], dict[str, InBooks | None]]:  # fmt: skip
    """This run's share of full reads: the bookings of the last months_back months (and of the period) read longest ago."""
    settings = config.reconcile
    candidates = [c for c in ledger.reading_candidates(config.tenant, cutoff_date(today, settings.months_back), (since, until)) if c[0] not in exclude]
    unread = sum(1 for c in candidates if c[1] is None and c[2] is not None and since <= c[2] <= until)
    budget = read_budget(len(candidates), settings.compare_within_days, settings.max_full_reads, unread)
    if budget == settings.max_full_reads and budget < max(unread, -(-len(candidates) // settings.compare_within_days)):
        log.warning("This run reads %d bookings in full (reconcile.max_full_reads): fewer than its share; raise it to compare every booking in time", budget)
    picked = pick_for_reading(candidates, budget)
    if not picked:
        return [], {}
    rows = {r["sales_number"] if not r.get("eb_number") else r["eb_number"]: r for r in ledger.booked_by_number(config.tenant, picked)}
    wanted = [(n, (rows.get(n) or {}).get("eb_id"), (rows.get(n) or {}).get("order_date")) for n in picked]
    return picked, eb.read_bookings(wanted, invoices=invoices)


def _fresh_plans(config: TenantConfig, shop: PrestaShopHook, found: Found) -> dict[int, dict[str, Any] | None]:
    """The shop's plans of orders whose booked plan no longer tells their rows: changed after booking, never seen."""
    wanted = [d.order_id for d in found.differences if d.kind in ("changed_after_booking", "not_seen") and d.slip_id is None and d.order_id]
    budget = config.reconcile.max_shop_reads
    if len(wanted) > budget:
        log.warning("%d orders to read in full from the shop; %d read (reconcile.max_shop_reads), the rest by their total only", len(wanted), budget)
    return shop_plans(config, shop, wanted[:budget]) if wanted and budget else {}


def _lines(config: TenantConfig, ledger: ReconcileLedger, sides: dict[str, Any], fresh: dict[int, dict[str, Any] | None], now: dict[str, InBooks], gone: set[str],
           known: set[str], pattern: re.Pattern[str]) -> tuple[list[vat_totals.Line], dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    """The totals' lines of the three sides, how much of e-Boekhouden's side is compared (now, before, not yet) and the
    full comparisons to record."""
    oss = frozenset(m.vat_ledger for rates in config.vat.oss.values() for m in rates.values() if m.vat_code == VAT_OSS and m.vat_ledger)
    process = frozenset(config.prestashop.process_statuses)
    stored, stored_slips, ours, outside, sales = sides["stored"], sides["stored_slips"], sides["ours"], sides["outside"], sides["sales"]
    lines: list[vat_totals.Line] = []
    for order in sides["orders"]:  # the shop: what it would book today (a stored plan while the shop's total is the planned one)
        if order.status not in process or order.total_incl is None:
            continue
        plan = fresh[order.order_id] if order.order_id in fresh else (stored.get(order.order_id) or {}).get("plan")
        lines += _shop_lines(f"order {order.order_id}", plan, order.total_incl, oss)
    for slip in sides["slips"]:
        plan = (stored_slips.get(slip.slip_id) or {}).get("plan")
        if plan or slip.total_incl is not None:
            lines += _shop_lines(f"slip {slip.slip_id}", plan, Decimal(str(plan["total_incl"])) if plan else -slip.total_incl, oss)
    plans = {b.books_number: row.get("plan") for row in [*stored.values(), *stored_slips.values()] for b in booked([row])}
    for b in ours:  # what we booked
        lines += vat_totals.plan_lines(vat_totals.BOOKED, b.subject, plans.get(b.books_number) or {}, oss, booked=True)
    before = ledger.checks(config.tenant, [b.books_number for b in ours if b.books_number not in now])
    listed = {s.number.strip().casefold() for s in sales}
    coverage = {"bookings": len(ours), "now": 0, "before": 0, "not_yet": 0, "missing": 0}
    checks = []
    for b in [*ours, *outside]:  # e-Boekhouden: read whole in this run, else as last read (if still listed)
        number, in_period = b.books_number, b in ours
        item = now.get(number)
        if item is not None:
            rows = [(r.ledger, r.vat_code, r.incl, r.excl, r.vat) for r in item.rows] if item.rows is not None else None
            checks.append(_check(number, item, "differs" if compare_booking(b, item) else "same", rows))
            if in_period:
                coverage["now"] += 1
                lines += vat_totals.books_lines(b.subject, rows, plans.get(number), oss) if rows is not None else [vat_totals.total_line(vat_totals.BOOKS, b.subject, item.total_incl)]
        elif number in gone:
            checks.append({"sales_number": number, "eb_id": None, "doc_date": None, "outcome": "missing", "total_incl": None, "breakdown": None})
            coverage["missing"] += in_period
        elif in_period and number.strip().casefold() in listed and (before.get(number) or {}).get("breakdown"):
            coverage["before"] += 1
            rows = [(r[0], r[1], *(Decimal(v) if v is not None else None for v in r[2:])) for r in before[number]["breakdown"]]
            lines += vat_totals.books_lines(b.subject, rows, plans.get(number), oss)
        elif in_period:
            coverage["not_yet"] += 1
    for item in sales:  # under our number pattern, never written by us
        if pattern.match(item.number) and item.number not in known:
            if item.rows is not None:
                lines += vat_totals.books_lines(f"number {item.number}", [(r.ledger, r.vat_code, r.incl, r.excl, r.vat) for r in item.rows], None, oss)
            elif item.total_incl is not None:
                lines.append(vat_totals.Line(vat_totals.BOOKS, f"number {item.number}", vat_totals.NOT_OURS, "", "—", None, item.total_incl, None, None))
    return lines, coverage, checks


def _shop_lines(doc: str, plan: dict[str, Any] | None, total: Decimal, oss: frozenset[str]) -> list[vat_totals.Line]:
    if plan and plan.get("total_incl") is not None and Decimal(str(plan["total_incl"])) == total:
        return vat_totals.plan_lines(vat_totals.SHOP, doc, plan, oss)
    return [vat_totals.total_line(vat_totals.SHOP, doc, total)]


def _check(number: str, item: InBooks, outcome: str, rows: list[Any] | None) -> dict[str, Any]:
    return {
        "sales_number": number, "eb_id": item.id, "doc_date": _day(item.date), "outcome": outcome, "total_incl": item.total_incl,
        "breakdown": [[None if v is None else str(v) for v in r] for r in rows] if rows is not None else None,
    }  # fmt: skip


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None
