"""Extract and validate: PrestaShop → domain → state store. No business rule lives here.

Both the hourly DAG (a date_upd window) and the nightly recheck (open orders by id) end in the
same :func:`validate`, and from there in the same booking code.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.booking import build_plan
from prestashop_eboekhouden.domain.classify import Regime
from prestashop_eboekhouden.domain.errors import MalformedOrder, OrderProblem
from prestashop_eboekhouden.domain.model import OrderState, ShopContext
from prestashop_eboekhouden.domain.money import parse_decimal, to_cents
from prestashop_eboekhouden.domain.normalize import normalize_order, parse_shop_datetime, product_rows, products_without_sku
from prestashop_eboekhouden.domain.prechecks import icp_vat_number
from prestashop_eboekhouden.domain.relations import Debtor, normalize_email
from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook, PrestaShopPermissionError
from prestashop_eboekhouden.pipeline.vies import ViesChecker, vies_gate, waiting_for_vies
from prestashop_eboekhouden.schema import BOOKED, ERROR, FINAL, OPEN
from prestashop_eboekhouden.store import StateStore

log = logging.getLogger(__name__)


@dataclass
class Extracted:
    """What an extract found: the orders to validate, and counts for the run summary."""

    to_process: list[int] = field(default_factory=list)
    seen: int = 0
    waiting: int = 0
    already_booked: int = 0  # booked, or worked off by a bookkeeper
    unreadable: int = 0
    not_in_shop: list[int] = field(default_factory=list)  # chosen ids the shop has no order for, and the store never saw

    def as_xcom(self) -> dict[str, Any]:
        """Ids and counts only (never order data)."""
        return {
            "order_ids": self.to_process,
            "seen": self.seen,
            "waiting": self.waiting,
            "already_booked": self.already_booked,
            "unreadable": self.unreadable,
            "not_in_shop": self.not_in_shop[:50],
        }


def shop_context(config: TenantConfig, shop: PrestaShopHook) -> ShopContext:
    """Countries, taxes, states and the shop's country: read once per run (the hook may have them from an earlier task of the run)."""
    return ShopContext(
        shop_country=config.prestashop.shop_country or shop.shop_country(),
        countries=shop.countries(),
        taxes=shop.taxes(),
        states=shop.order_states(),
        currencies=shop.currencies(),
    )


def _light_row(raw: dict[str, Any]) -> dict[str, Any]:
    """The store's view of a light order row (id, reference, status, dates)."""
    order_id = int(raw["id"])
    date_upd = parse_shop_datetime(raw.get("date_upd"), "order.date_upd", required=False)
    date_add = parse_shop_datetime(raw.get("date_add"), "order.date_add", required=False)
    try:  # the shop's total, for the dashboard's Open tab (what an order waiting for a status is worth); never booked from
        amount = to_cents(parse_decimal(raw["total_paid_tax_incl"], "order.total_paid_tax_incl")) if raw.get("total_paid_tax_incl") not in (None, "") else None
    except (OrderProblem, ArithmeticError, ValueError, TypeError):
        amount = None
    return {
        "order_id": order_id,
        "reference": str(raw.get("reference") or "")[:64],
        "shop_status": int(raw.get("current_state") or 0),
        "date_upd": date_upd,
        "order_date": date_add.date() if date_add else None,
        "amount_incl": amount,
    }


def sort_seen(
    config: TenantConfig, store: StateStore, rows: Iterable[dict[str, Any]], states: dict[int, OrderState], run_id: str | None, *, include_errors: bool = True
) -> Extracted:
    """Record light order rows; orders in a process status and not booked are to be validated."""
    result = Extracted()
    parsed: list[dict[str, Any]] = []
    unreadable: dict[int, tuple[str, str]] = {}
    for raw in rows:
        try:
            parsed.append(_light_row(raw))
        except (MalformedOrder, KeyError, ValueError, TypeError) as exc:
            result.unreadable += 1
            log.warning("Skipping an unreadable order row %s: %s", str(raw.get("id", "?"))[:20], exc)
            try:
                unreadable[int(raw["id"])] = (f"Order could not be read: {exc}", "MALFORMED")
            except (KeyError, ValueError, TypeError):
                pass
    result.seen = len(parsed)
    stored = store.record_seen(config.tenant, parsed, run_id)
    store.remember_statuses(config.tenant, {sid: state.name for sid, state in states.items()})
    waiting: dict[str, list[int]] = defaultdict(list)
    process = set(config.prestashop.process_statuses)
    for row in parsed:
        current = stored.get(row["order_id"], {})
        if current.get("state") in FINAL:
            result.already_booked += 1
        elif current.get("intent_at") is not None:
            # in doubt: its booking may exist whatever the shop says now; the booking step looks it up before anything
            # else is decided about it (validate keeps the plan that may have been sent)
            result.to_process.append(row["order_id"])
        elif row["shop_status"] not in process:
            state = states.get(row["shop_status"])
            name = state.name if state else f"status {row['shop_status']}"
            waiting[f"Waiting for a status to book (now: {name})"].append(row["order_id"])
            result.waiting += 1
        elif current.get("state") == ERROR and not include_errors:
            continue
        else:
            result.to_process.append(row["order_id"])
    for reason, ids in waiting.items():
        store.set_open(config.tenant, ids, reason, run_id)
    if unreadable:
        store.record_seen(config.tenant, [{"order_id": oid, "reference": "", "shop_status": None, "date_upd": None, "order_date": None} for oid in unreadable], run_id)
        store.set_errors(config.tenant, unreadable, run_id)
    return result


def extract_window(config: TenantConfig, shop: PrestaShopHook, store: StateStore, since: dt.datetime, until: dt.datetime, run_id: str | None) -> Extracted:
    """Orders whose date_upd falls in [since, until) (shop-local naive times)."""
    rows = [row for page in shop.order_refs_updated(since, until) for row in page]
    result = sort_seen(config, store, rows, shop.order_states(), run_id)
    # ICP orders waiting in Open for VIES are tried again every hour, though the shop did not change them
    result.to_process = list(dict.fromkeys([*result.to_process, *waiting_for_vies(config, store)]))
    return result


def extract_ids(config: TenantConfig, shop: PrestaShopHook, store: StateStore, order_ids: Sequence[int], run_id: str | None) -> Extracted:
    """The given orders (reprocessing from the dashboard, or the nightly recheck)."""
    rows = shop.order_refs_by_ids(order_ids)
    found = {int(r["id"]) for r in rows if str(r.get("id", "")).isdigit()}
    missing = [oid for oid in order_ids if oid not in found]
    result = sort_seen(config, store, rows, shop.order_states(), run_id)
    if missing:
        # An id the store knows was an order once: it goes to Errors (worked off by dismissing it). An id it never saw is
        # no order at all (a typo in a param): named in the log and the run's note, never a row that waits forever.
        known = store.get_orders(config.tenant, missing)
        gone = [oid for oid in missing if oid in known]
        result.not_in_shop = [oid for oid in missing if oid not in known]
        if result.not_in_shop:
            log.warning("No order in the shop with id %s: nothing stored (a mistyped order id?)", ", ".join(map(str, result.not_in_shop[:50])))
        if gone:
            log.warning("Orders no longer in the shop (to Errors): %s", gone[:20])
            result.unreadable += len(gone)
            store.set_errors(config.tenant, {oid: ("Order no longer exists in the shop", "NOT_FOUND") for oid in gone}, run_id)
    return result


@dataclass
class Validated:
    """Validation outcome: batches of ready order ids (one debtor never split over batches) and counts."""

    batches: list[list[int]]
    ready: int
    refused: int
    waiting: int = 0  # ICP orders that wait in Open for VIES


def product_references(shop: PrestaShopHook, product_ids: Iterable[str]) -> dict[str, str]:
    """Product id → reference, read in batches for the lines without a SKU; {} when the key may not read products."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    try:
        rows = shop.products(ids)
    except PrestaShopPermissionError:
        log.warning("The PrestaShop key may not read products: %d lines without a SKU are booked without a product code", len(ids))
        return {}
    return {str(row.get("id")): str(row.get("reference") or "").strip() for row in rows}


def index_by(items: Iterable[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """Webservice rows grouped by a field's value (order details by id_order, addresses by id_customer)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        grouped[str(item.get(key))].append(item)
    return grouped


def _unique_by_id(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows once each (a webservice page can repeat a row)."""
    return list({str(row.get("id")): row for row in rows}.values())


def order_facts(raw: dict[str, Any], customer: dict[str, Any] | None) -> dict[str, Any]:
    """What the dashboard shows and searches of any order, booked or not: the shop's total and the customer."""
    try:
        amount = to_cents(parse_decimal(raw.get("total_paid_tax_incl"), "order.total_paid_tax_incl")) if isinstance(raw, dict) else None
    except (OrderProblem, ArithmeticError, ValueError, TypeError):
        amount = None
    customer = customer if isinstance(customer, dict) else {}
    name = " ".join(str(customer.get(k) or "").strip() for k in ("firstname", "lastname")).strip()
    company = str(customer.get("company") or "").strip()
    return {
        "amount_incl": amount,
        "customer_name": (f"{name} ({company})" if company and name else company or name)[:200] or None,
        "customer_email": str(customer.get("email") or "").strip()[:320] or None,
    }


def batches_by_debtor(ready: Sequence[tuple[int, str]], batch_size: int) -> list[list[int]]:
    """Cut (order id, debtor key) pairs into batches of about batch_size, keeping a debtor's orders together."""
    by_debtor: dict[str, list[int]] = defaultdict(list)
    for order_id, debtor in ready:
        by_debtor[debtor].append(order_id)
    batches: list[list[int]] = []
    current: list[int] = []
    for ids in by_debtor.values():
        if current and len(current) + len(ids) > batch_size:
            batches.append(current)
            current = []
        current.extend(ids)
    if current:
        batches.append(current)
    return batches


# What two plans of one order must share for the later one to stand for a booking the earlier one may have sent.
SAME_BOOKING = ("rows", "debtor", "fixed_debtor", "date", "regime", "book_as", "kind")


def held_in_doubt(
    config: TenantConfig, rows: dict[int, dict[str, Any]], plans: list[dict[str, Any]], problems: dict[int, tuple[str, str]], states: dict[int, OrderState]
) -> dict[int, dict[str, Any]]:
    """Orders in doubt (an earlier attempt recorded the intent and got no outcome: their sale may exist) whose data
    now says something else than the plan that may have been sent — another status, a refusal, other amounts or
    another debtor: their stored plan is kept, marked ``deferred`` with what their data says now, and the booking step
    only looks it up (adopted when e-Boekhouden has it, else Open or Errors as deferred; nothing is sent). Never moved to
    Open or Errors here, without asking e-Boekhouden: the shop's change does not undo a booking. Removes their
    refusals from ``problems``; those whose new plan is the same booking are left to book as usual."""
    fresh = {plan["order_id"]: plan for plan in plans}
    process = set(config.prestashop.process_statuses)
    held: dict[int, dict[str, Any]] = {}
    for order_id, row in rows.items():
        stored = {k: v for k, v in row["plan"].items() if k != "deferred"}
        new = fresh.get(order_id)
        deferred: dict[str, Any]
        if row["shop_status"] not in process:
            state = states.get(row["shop_status"] or 0)
            name = state.name if state else f"status {row['shop_status']}"
            deferred = {"state": OPEN, "reason": f"Waiting for a status to book (now: {name})"}
        elif order_id in problems:
            reason, code = problems.pop(order_id)
            deferred = {"state": ERROR, "reason": reason, "code": code}
        elif new is not None and all(new.get(k) == stored.get(k) for k in SAME_BOOKING):
            continue
        else:
            deferred = {"state": OPEN, "reason": "Changed in the shop while its booking was in doubt (e-Boekhouden's answer lost): validated again by the next run"}
        held[order_id] = {**stored, "deferred": deferred}
    return held


def validate(
    config: TenantConfig, shop: PrestaShopHook, store: StateStore, order_ids: Sequence[int], run_id: str | None, *, vies_checker: ViesChecker | None = None
) -> Validated:
    """Read the orders in full (batched), normalize, precheck and plan, confirm ICP VAT numbers in VIES; store plans or reasons."""
    ids = list(dict.fromkeys(int(i) for i in order_ids))
    if not ids:
        return Validated([], 0, 0)
    ready: list[tuple[int, str]] = []
    problems: dict[int, tuple[str, str]] = {}
    plans: list[dict[str, Any]] = []
    facts: dict[int, dict[str, Any]] = {}  # amount and customer of each order, for the dashboard (refused ones too)
    icp: dict[int, str] = {}  # ICP order → the VAT number VIES is asked about
    chunk = shop.ids_per_request
    rates = config.configured_rates()
    in_doubt = {oid: row for oid, row in store.get_orders(config.tenant, ids).items() if row["intent_at"] is not None and row["state"] != BOOKED and row.get("plan")}
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        ctx = shop_context(config, shop)  # read once per run (the hook caches it, and knows what earlier tasks read)
        orders = {int(o["id"]): o for o in shop.orders(part) if str(o.get("id", "")).isdigit()}
        details = index_by(_unique_by_id(shop.order_details(list(orders))), "id_order")
        customer_ids = {str(o.get("id_customer")) for o in orders.values()}
        customers = {str(c.get("id")): c for c in shop.customers(customer_ids)}
        addresses = index_by(shop.addresses_of_customers(customer_ids), "id_customer")
        references = product_references(
            shop, {pid for oid, raw in orders.items() if isinstance(raw, dict) for pid in products_without_sku(product_rows(raw, details.get(str(oid), [])))}
        )
        for order_id in part:
            raw = orders.get(order_id)
            if raw is None:
                problems[order_id] = ("Order no longer exists in the shop", "NOT_FOUND")
                continue
            customer_id = str(raw.get("id_customer"))
            facts[order_id] = order_facts(raw, customers.get(customer_id))
            try:
                order = normalize_order(raw, details.get(str(order_id), []), customers.get(customer_id), addresses.get(customer_id, []), ctx, rates, references)
                plan = build_plan(order, config, ctx)
            except OrderProblem as exc:
                problems[order_id] = (exc.reason, exc.code)
                continue
            except Exception as exc:  # noqa: BLE001 - one odd order must not stop the others
                log.exception("Order %s could not be processed", order_id)
                problems[order_id] = (f"Order data could not be processed ({type(exc).__name__}: {str(exc)[:200]})", "MALFORMED")
                continue
            for note in plan.notes:
                log.warning("Order %s (%s): %s", order_id, plan.reference, note)
            if plan.regime is Regime.ICP and (number := icp_vat_number(order)):
                icp[order_id] = number
            data = plan.to_dict()
            data["total_incl"], data["total_excl"] = str(plan.total_incl), str(plan.total_excl)
            plans.append(data)
            ready.append((order_id, normalize_email(plan.debtor.email)))
    store.set_order_facts(config.tenant, facts)
    vies = vies_gate(config, store, icp, run_id, checker=vies_checker)
    if vies.waiting or vies.refused or vies.notes:  # VIES did not confirm some ICP numbers (pipeline/vies.py)
        problems.update(vies.refused)
        plans = [p for p in plans if p["order_id"] not in vies.waiting and p["order_id"] not in vies.refused]
        ready = [r for r in ready if r[0] not in vies.waiting and r[0] not in vies.refused]
        for planned in plans:
            vies_note = vies.notes.get(planned["order_id"])
            if vies_note:
                log.warning("Order %s (%s): %s", planned["order_id"], planned["reference"], vies_note)
                planned["notes"] = [*(planned.get("notes") or []), vies_note]
    if in_doubt:
        held = held_in_doubt(config, in_doubt, plans, problems, shop.order_states())
        plans = [p for p in plans if p["order_id"] not in held] + list(held.values())
        ready = [r for r in ready if r[0] not in held] + [(oid, Debtor(**plan["debtor"]).key) for oid, plan in held.items()]
    store.set_errors(config.tenant, problems, run_id)
    if plans:
        store.save_plans(config.tenant, plans, run_id)
    return Validated(batches_by_debtor(ready, config.processing.batch_size), len(ready), len(problems), len(vies.waiting))
