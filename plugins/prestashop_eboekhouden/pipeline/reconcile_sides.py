"""The three sides of a reconciliation, read: the shop (orders and credit slips of a period, light; a few in full), the
state store (what we booked) and e-Boekhouden (a period's listing, single bookings read whole). Read only everywhere:
nothing here writes to the shop, e-Boekhouden or the store.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.booking import build_plan
from prestashop_eboekhouden.domain.errors import MalformedOrder, OrderProblem
from prestashop_eboekhouden.domain.model import OrderState
from prestashop_eboekhouden.domain.money import parse_amount
from prestashop_eboekhouden.domain.normalize import normalize_order, parse_shop_datetime, product_rows, products_without_sku
from prestashop_eboekhouden.domain.reconcile import Booked, ShopOrder, ShopSlip
from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
from prestashop_eboekhouden.pipeline.orders import _unique_by_id, index_by, product_references, shop_context
from prestashop_eboekhouden.store_reconcile import plan_rows

log = logging.getLogger(__name__)


def shop_orders(shop: PrestaShopHook, since: dt.date, until: dt.date, states: dict[int, OrderState]) -> list[ShopOrder]:
    """The shop's orders dated in the period, light (id, reference, status, dates, total): 1,000 a request."""
    found = []
    for page in shop.orders_added(since, until):
        for raw in page:
            try:
                status = int(raw.get("current_state") or 0)
                date_add = parse_shop_datetime(raw.get("date_add"), "order.date_add", required=False)
                total = raw.get("total_paid_tax_incl")
                state = states.get(status)
                found.append(
                    ShopOrder(
                        order_id=int(raw["id"]), reference=str(raw.get("reference") or "")[:64], status=status,
                        status_name=state.name if state else f"status {status}", paid=bool(state and state.paid),
                        date=date_add.date() if date_add else None,
                        date_upd=parse_shop_datetime(raw.get("date_upd"), "order.date_upd", required=False),
                        total_incl=parse_amount(total, "order.total_paid_tax_incl") if total not in (None, "") else None,
                    )
                )  # fmt: skip
            except (MalformedOrder, KeyError, ValueError, TypeError) as exc:
                log.warning("Skipping an unreadable order row %s: %s", str(raw.get("id", "?"))[:20], exc)
    return found


def shop_slips(shop: PrestaShopHook, since: dt.date, until: dt.date) -> list[ShopSlip]:
    """The shop's credit slips dated in the period, light."""
    found = []
    for page in shop.slips_added(since, until):
        for raw in page:
            try:
                date_add = parse_shop_datetime(raw.get("date_add"), "order_slip.date_add", required=False)
                products, shipping = raw.get("total_products_tax_incl"), raw.get("total_shipping_tax_incl")
                total = parse_amount(products or "0", "order_slip.total_products_tax_incl") + parse_amount(shipping or "0", "order_slip.total_shipping_tax_incl")
                found.append(
                    ShopSlip(int(raw["id"]), int(raw["id_order"]), date_add.date() if date_add else None,
                             parse_shop_datetime(raw.get("date_upd"), "order_slip.date_upd", required=False), total)
                )  # fmt: skip
            except (MalformedOrder, KeyError, ValueError, TypeError) as exc:
                log.warning("Skipping an unreadable credit slip row %s: %s", str(raw.get("id", "?"))[:20], exc)
    return found


def shop_plans(config: TenantConfig, shop: PrestaShopHook, order_ids: Sequence[int]) -> dict[int, dict[str, Any] | None]:
    """What the shop's orders would be booked as today (their plans, as validate makes them; None when one could not
    be booked): read in full in batches, nothing stored, no VIES."""
    plans: dict[int, dict[str, Any] | None] = {}
    rates = config.configured_rates()
    for start in range(0, len(order_ids), shop.ids_per_request):
        part = list(order_ids[start : start + shop.ids_per_request])
        ctx = shop_context(config, shop)
        raws = {int(o["id"]): o for o in shop.orders(part) if str(o.get("id", "")).isdigit()}
        details = index_by(_unique_by_id(shop.order_details(list(raws))), "id_order")
        customer_ids = {str(o.get("id_customer")) for o in raws.values()}
        customers = {str(c.get("id")): c for c in shop.customers(customer_ids)}
        addresses = index_by(shop.addresses_of_customers(customer_ids), "id_customer")
        wanted = {pid for oid, raw in raws.items() if isinstance(raw, dict) for pid in products_without_sku(product_rows(raw, details.get(str(oid), [])))}
        references = product_references(shop, wanted)
        for order_id in part:
            raw = raws.get(order_id)
            customer_id = str((raw or {}).get("id_customer"))
            try:
                if raw is None:
                    raise OrderProblem("Order no longer exists in the shop", "NOT_FOUND")
                order = normalize_order(raw, details.get(str(order_id), []), customers.get(customer_id), addresses.get(customer_id, []), ctx, rates, references)
                plan = build_plan(order, config, ctx)
            except OrderProblem:
                plans[order_id] = None
                continue
            except Exception:  # noqa: BLE001 - one odd order must not stop the reconciliation
                log.exception("Order %s could not be read in full", order_id)
                plans[order_id] = None
                continue
            data = plan.to_dict()
            data["total_incl"], data["total_excl"] = str(plan.total_incl), str(plan.total_excl)
            plans[order_id] = data
    return plans


def booked(rows: Iterable[dict[str, Any]]) -> list[Booked]:
    """Stored booked orders and credits (rows with ``slip_id`` for a credit) as the comparison sees them."""
    out = []
    for row in rows:
        if row.get("state") != "booked" or not row.get("sales_number"):
            continue
        eb_number = str(row.get("eb_number") or "")
        out.append(
            Booked(
                order_id=int(row["order_id"]), slip_id=row.get("slip_id"), reference=str(row.get("reference") or ""),
                sales_number=str(row["sales_number"]), date=row.get("order_date") if "order_date" in row else row.get("slip_date"),
                amount_incl=row["amount_incl"] if row.get("amount_incl") is not None else Decimal("0.00"), eb_id=row.get("eb_id"),
                eb_kind=str(row.get("eb_kind") or "mutation"), rows=plan_rows(row.get("plan")),
                eb_number=eb_number if eb_number and eb_number != row["sales_number"] else "",
            )
        )  # fmt: skip
    return out
