"""Credit slips: PrestaShop → domain → state store → e-Boekhouden, through the sales' exactly-once booking.

A slip is booked only after its order: while the order is not booked the slip waits in Open ("Waiting for the order
to be booked"); when the order was refused the slip goes to Errors with the order's reason. The hourly run takes
the slips updated in its hour and the waiting slips whose order has been decided since; the nightly recheck takes
every waiting slip. No business rule lives here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.booking import BookingPlan
from prestashop_eboekhouden.domain.credits import Display, build_credit_plan, normalize_slip, order_detail_lines
from prestashop_eboekhouden.domain.errors import MalformedOrder, OrderProblem
from prestashop_eboekhouden.domain.money import parse_amount
from prestashop_eboekhouden.domain.normalize import normalize_order, parse_shop_datetime
from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
from prestashop_eboekhouden.pipeline.booking import SaleBooker
from prestashop_eboekhouden.pipeline.orders import index_by, shop_context
from prestashop_eboekhouden.schema import BOOKED, ERROR, FINAL
from prestashop_eboekhouden.store import StateStore

log = logging.getLogger(__name__)

WAITING = "Waiting for the order to be booked"


@dataclass
class CreditsChecked:
    """What validation decided: slips ready to book, and counts for the run summary."""

    ready: list[int] = field(default_factory=list)
    seen: int = 0
    waiting: int = 0
    refused: int = 0
    already_booked: int = 0

    def counts(self) -> dict[str, Any]:
        """Counts only (for XCom)."""
        return {"slips_seen": self.seen, "slips_waiting": self.waiting, "slips_refused": self.refused, "slips_ready": len(self.ready), "slips_already_booked": self.already_booked}


def _slip_row(raw: dict[str, Any]) -> dict[str, Any]:
    """The store's view of a slip: ids and dates (MalformedOrder when unreadable)."""
    slip_id, order_id = raw.get("id"), raw.get("id_order")
    if not str(slip_id).isdigit() or not str(order_id).isdigit():
        raise MalformedOrder("order_slip.id_order", f"is {str(order_id)[:20]!r} on slip {str(slip_id)[:20]!r}")
    date_add = parse_shop_datetime(raw.get("date_add"), "order_slip.date_add", required=False)
    return {
        "slip_id": int(str(slip_id)),
        "order_id": int(str(order_id)),
        "reference": "",
        "slip_date": date_add.date() if date_add else None,
        "date_upd": parse_shop_datetime(raw.get("date_upd"), "order_slip.date_upd", required=False),
    }


def record_slips(config: TenantConfig, store: StateStore, raws: Iterable[dict[str, Any]], run_id: str | None) -> dict[int, dict[str, Any]]:
    """Record slips in the store (new ones Open); returns slip id → raw slip for those readable."""
    readable: dict[int, dict[str, Any]] = {}
    rows = []
    for raw in raws:
        try:
            row = _slip_row(raw)
        except MalformedOrder as exc:
            log.warning("Skipping an unreadable credit slip: %s", exc.reason)
            continue
        rows.append(row)
        readable[row["slip_id"]] = raw
    store.record_slips(config.tenant, rows, run_id)
    return readable


def waiting_slips(
    config: TenantConfig, store: StateStore, *, decided_only: bool, order_ids: Sequence[int] = (), with_errors: bool = False
) -> list[int]:
    """Open slips (of the given orders, if any; with_errors also their slips in Errors: a Process of the order or the slip
    checks them again); with decided_only only those whose order is booked or refused by now."""
    rows = store.open_credits(config.tenant, with_errors=with_errors)
    if order_ids:
        wanted = set(order_ids)
        rows = [r for r in rows if r["order_id"] in wanted]
    if not decided_only:
        return [r["slip_id"] for r in rows]
    orders = store.get_orders(config.tenant, [r["order_id"] for r in rows])
    return [r["slip_id"] for r in rows if orders.get(r["order_id"], {}).get("state") in (BOOKED, ERROR)]



def check_slips(
    config: TenantConfig, shop: PrestaShopHook, store: StateStore, slip_ids: Sequence[int], run_id: str | None, raws: dict[int, dict[str, Any]] | None = None
) -> CreditsChecked:
    """Slips whose order is booked are planned (their orders read in one request per resource); others wait or go to Errors."""
    result = CreditsChecked()
    stored = store.get_credits(config.tenant, slip_ids)
    todo = [sid for sid in dict.fromkeys(slip_ids) if sid in stored and stored[sid]["state"] not in FINAL]
    result.already_booked = len([sid for sid in slip_ids if stored.get(sid, {}).get("state") in FINAL])
    if not todo:
        return result
    missing = [sid for sid in todo if sid not in (raws or {})]
    raws = {**(raws or {}), **{int(r["id"]): r for r in shop.slips(missing) if str(r.get("id", "")).isdigit()}} if missing else dict(raws or {})
    result.seen = len(todo)
    order_rows = store.get_orders(config.tenant, {stored[sid]["order_id"] for sid in todo})
    waiting: list[int] = []
    problems: dict[int, tuple[str, str]] = {}
    to_plan: list[int] = []
    for sid in todo:
        order_row = order_rows.get(stored[sid]["order_id"])
        if sid not in raws:
            problems[sid] = ("Credit slip no longer exists in the shop", "NOT_FOUND")
        elif order_row is None or order_row["state"] not in (BOOKED, ERROR):
            waiting.append(sid)
        elif order_row["state"] == ERROR:
            problems[sid] = (f"The order was refused: {order_row.get('reason') or 'see the order in Errors'}", "ORDER_REFUSED")
        else:
            to_plan.append(sid)
    plans = _plans(config, shop, to_plan, raws, {sid: order_rows[stored[sid]["order_id"]] for sid in to_plan}, problems)
    store.set_credits_open(config.tenant, waiting, WAITING, run_id)
    store.set_credit_errors(config.tenant, problems, run_id)
    store.set_credit_amounts(config.tenant, {sid: refunded(raws[sid]) for sid in [*waiting, *problems] if sid in raws})
    store.save_credit_plans(config.tenant, plans, run_id)
    result.waiting, result.refused, result.ready = len(waiting), len(problems), [p["slip_id"] for p in plans]
    return result


def _plans(
    config: TenantConfig, shop: PrestaShopHook, slip_ids: Sequence[int], raws: dict[int, dict[str, Any]], order_rows: dict[int, dict[str, Any]], problems: dict[int, tuple[str, str]]
) -> list[dict[str, Any]]:
    """Credit plans of slips whose order is booked; reasons of those that cannot be planned go to problems."""
    if not slip_ids:
        return []
    ctx = shop_context(config, shop)
    order_ids = sorted({order_rows[sid]["order_id"] for sid in slip_ids})
    orders = {int(o["id"]): o for o in shop.orders(order_ids) if str(o.get("id", "")).isdigit()}
    details = index_by(shop.order_details(list(orders)), "id_order")
    customer_ids = {str(o.get("id_customer")) for o in orders.values()}
    customers = {str(c.get("id")): c for c in shop.customers(customer_ids)}
    addresses = index_by(shop.addresses_of_customers(customer_ids), "id_customer")
    groups = shop.price_display()  # which prices each customer group sees: how the slip's amounts read
    plans = []
    for sid in slip_ids:
        row = order_rows[sid]
        raw_order = orders.get(row["order_id"])
        if raw_order is None:
            problems[sid] = (f"Order {row['order_id']} no longer exists in the shop", "NOT_FOUND")
            continue
        customer_id = str(raw_order.get("id_customer"))
        try:
            order_details = list({str(d.get("id")): d for d in details.get(str(row["order_id"]), [])}.values())
            order = normalize_order(raw_order, order_details, customers.get(customer_id), addresses.get(customer_id, []), ctx, config.configured_rates())
            display = _display(groups, customers.get(customer_id))
            plan = build_credit_plan(normalize_slip(raws[sid]), order, order_detail_lines(order_details, ctx), config, ctx, row.get("sales_number"), display)
            booked_regime = (row.get("plan") or {}).get("regime")
            if booked_regime and booked_regime != plan.regime.value:
                raise OrderProblem(f"Order was booked as {booked_regime}, its data now says {plan.regime.value}: book this credit by hand", "REGIME_CHANGED")
        except OrderProblem as exc:
            problems[sid] = (exc.reason, exc.code)
            continue
        except Exception as exc:
            log.exception("Credit slip %s could not be processed", sid)
            problems[sid] = (f"Credit slip data could not be processed ({type(exc).__name__}: {str(exc)[:200]})", "MALFORMED")
            continue
        data = plan.to_dict()
        data.update(total_incl=str(plan.total_incl), total_excl=str(plan.total_excl), relation_id=row.get("relation_id"), relation_code=row.get("relation_code"))
        plans.append(data)
    return plans


def refunded(raw: dict[str, Any]) -> Decimal | None:
    """What a slip gave back as PrestaShop states it (products + shipping incl VAT), negative as a credit is booked;
    None when the slip does not say (the dashboard shows what is known of a slip in Errors or waiting)."""
    try:
        total = parse_amount(raw.get("total_products_tax_incl"), "order_slip.total_products_tax_incl")
        shipping = raw.get("total_shipping_tax_incl")
        total += parse_amount(shipping, "order_slip.total_shipping_tax_incl") if shipping not in (None, "") else 0
    except (OrderProblem, ArithmeticError, ValueError, TypeError):
        return None
    return -total


def _display(groups: dict[int, str] | None, customer: dict[str, Any] | None) -> Display | None:
    """The prices the customer's default group sees ("incl"/"excl" VAT); None when the shop does not say."""
    group = str((customer or {}).get("id_default_group") or "")
    seen = (groups or {}).get(int(group)) if group.isdigit() else None
    return "excl" if seen == "excl" else "incl" if seen == "incl" else None


class CreditBooker(SaleBooker):
    """Books credit plans exactly as sales are booked (claim, intent, lookup by number), on the order's own relation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claims = self.store.credit_claims
        self._relations: dict[int, tuple[int, str]] = {}

    def _stored(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        rows = self.store.get_credits(self.config.tenant, ids)
        self._relations = {sid: (int(r["relation_id"]), r["relation_code"] or "") for sid, r in rows.items() if r.get("relation_id")}
        return rows

    @staticmethod
    def _key(plan: BookingPlan) -> int:
        assert plan.slip_id is not None
        return plan.slip_id

    def _prepare(self, plans: Sequence[BookingPlan]) -> None:
        """Ledgers (and the template); the debtors are the orders' own, already known."""
        self.eb.ledgers()
        if self.config.eboekhouden.book_as == "invoice" and self._template_id is None:
            self._template_id = self.eb.invoice_template_id(self.config.eboekhouden.invoice_template)

    def _relation(self, plan: BookingPlan) -> tuple[int, str]:
        """The relation the order was booked on (same debtor); else found like the order's."""
        return self._relations.get(self._key(plan)) or super()._relation(plan)

    def _relation_renewed(self, key: int, relation: tuple[int, str]) -> None:
        """The order's debtor was deleted in e-Boekhouden: the slip goes to the one found or created again, and keeps it
        (found by the simulation, seed 630: the retry looked its number up on the deleted debtor and refused its own credit)."""
        self._relations[key] = relation
        self.store.set_credit_relation(self.config.tenant, key, *relation)


def window_slips(config: TenantConfig, shop: PrestaShopHook, store: StateStore, since: dt.datetime, until: dt.datetime, run_id: str | None) -> tuple[list[int], dict[int, dict[str, Any]]]:
    """Slips updated in [since, until) (shop-local) recorded, plus the waiting slips whose order is decided by now."""
    raws = record_slips(config, store, (row for page in shop.slips_updated(since, until) for row in page), run_id)
    ids = list(dict.fromkeys([*raws, *waiting_slips(config, store, decided_only=True)]))
    return ids, raws
