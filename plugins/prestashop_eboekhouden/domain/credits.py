"""Credit slips (PrestaShop ``order_slip``) as credit sales: normalized, checked and planned against their order.

A credit is booked like the order it refunds, mirrored: the same debtor, the same VAT regime and mapping, one
negative row per refunded line at that line's rate and ledger, the refunded shipping at the shipping's rate, and a
refund of an amount without lines spread over the order's rates by the order discount's rule. Its sales number is
the order's + ``credit_suffix`` + the slip id. Pure: no I/O, no Airflow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.booking import (
    MAX_SALES_NUMBER,
    BookingPlan,
    BookingRow,
    _mapping,
    _rows,
    base_sales_number,
    fixed_debtor_for,
)
from prestashop_eboekhouden.domain.classify import classify
from prestashop_eboekhouden.domain.errors import ConfigurationProblem, MalformedOrder, OrderProblem
from prestashop_eboekhouden.domain.model import Line, Order, ShopContext
from prestashop_eboekhouden.domain.money import ZERO, fmt
from prestashop_eboekhouden.domain.normalize import _amount, _discount_lines, _int, _product_line, infer_rate, parse_shop_datetime
from prestashop_eboekhouden.domain.relations import debtor_for


@dataclass(frozen=True)
class SlipLine:
    """One refunded order line: which line, how many, and the amounts given back (positive)."""

    order_detail_id: int
    quantity: Decimal
    amount_incl: Decimal
    amount_excl: Decimal


@dataclass(frozen=True)
class Slip:
    """A normalized credit slip; amounts are what is given back, positive, to the cent."""

    id: int
    order_id: int
    customer_id: int
    date_add: dt.datetime
    date_upd: dt.datetime | None
    products_incl: Decimal
    products_excl: Decimal
    shipping_incl: Decimal
    shipping_excl: Decimal
    amount: Decimal
    partial: bool
    lines: tuple[SlipLine, ...]

    @property
    def total_incl(self) -> Decimal:
        """What the slip gives back incl VAT: products + shipping."""
        return self.products_incl + self.shipping_incl

    @property
    def amount_only(self) -> bool:
        """A refund of an amount without lines."""
        return not self.lines and self.products_incl != 0


def _positive(data: Mapping, key: str, where: str) -> Decimal:
    """A refunded amount: present, a number, not negative."""
    value = _amount(data, key, where)
    if value < 0:
        raise MalformedOrder(f"{where}.{key}", f"is {value}, a negative refund")
    return value


def normalize_slip(data: Mapping) -> Slip:
    """One webservice order_slip (display=full) as a Slip; MalformedOrder names the field."""
    if not isinstance(data, Mapping):
        raise MalformedOrder("order_slip", "is not an object")
    where = "order_slip"
    details = (data.get("associations") or {}).get("order_slip_details") or []
    if isinstance(details, Mapping):  # one object instead of a list
        details = [details]
    lines = []
    for index, detail in enumerate(details, start=1):
        at = f"order_slip_details[{index}]"
        if not isinstance(detail, Mapping):
            raise MalformedOrder(at, "is not an object")
        quantity = _int(detail, "product_quantity", at, minimum=0)
        lines.append(SlipLine(_int(detail, "id_order_detail", at, minimum=1), Decimal(quantity), _positive(detail, "amount_tax_incl", at), _positive(detail, "amount_tax_excl", at)))
    date_add = parse_shop_datetime(data.get("date_add"), f"{where}.date_add", required=True)
    assert date_add is not None
    return Slip(
        id=_int(data, "id", where, minimum=1),
        order_id=_int(data, "id_order", where, minimum=1),
        customer_id=_int(data, "id_customer", where, required=False),
        date_add=date_add,
        date_upd=parse_shop_datetime(data.get("date_upd"), f"{where}.date_upd", required=False),
        products_incl=_positive(data, "total_products_tax_incl", where),
        products_excl=_positive(data, "total_products_tax_excl", where),
        shipping_incl=_positive(data, "total_shipping_tax_incl", where),
        shipping_excl=_positive(data, "total_shipping_tax_excl", where),
        amount=_positive(data, "amount", where) if data.get("amount") not in (None, "") else ZERO,
        partial=str(data.get("partial", "0")) == "1",
        lines=tuple(line for line in lines if line.quantity or line.amount_incl),
    )


def order_detail_lines(details: Sequence[Mapping], ctx: ShopContext, product_references: Mapping[str, str] | None = None) -> dict[int, Line]:
    """The order's lines by order_details id (what a slip's id_order_detail points at), read as the order's own."""
    lines = {}
    for index, detail in enumerate(details, start=1):
        where = f"order_details[{index}]"
        line = _product_line(detail, where, ctx, product_references or {})
        if line is not None:
            lines[_int(detail, "id", where, minimum=1)] = line
    return lines


def check_slip(slip: Slip, order: Order) -> list[str]:
    """The slip's total incl equals its lines (or its amount) + shipping to the cent, and gives back no more than the order."""
    problems = []
    lines = sum((line.amount_incl for line in slip.lines), ZERO) if slip.lines else slip.products_incl
    if slip.lines and slip.products_incl != lines:
        problems.append(f"Credit slip {slip.id} total {fmt(slip.total_incl)} ≠ lines + shipping {fmt(lines + slip.shipping_incl)}")
    if slip.total_incl == 0:
        problems.append(f"Credit slip {slip.id} gives nothing back (0.00)")
    if slip.total_incl > order.total_paid_incl:
        problems.append(f"Credit slip {slip.id} gives back {fmt(slip.total_incl)}, more than order total {fmt(order.total_paid_incl)}")
    return problems


def credit_sales_number(order: Order, slip: Slip, config: TenantConfig, order_sales_number: str | None = None) -> str:
    """The order's sales number (as booked, when given) + the credit suffix + the slip id, within e-Boekhouden's length."""
    number = f"{order_sales_number or base_sales_number(order, config)}{config.eboekhouden.credit_suffix}{slip.id}"
    if len(number) > MAX_SALES_NUMBER:
        raise ConfigurationProblem(f"Credit sales number {number} is longer than {MAX_SALES_NUMBER} characters")
    return number


def _refund(line: Line, description: str, quantity: Decimal, incl: Decimal, excl: Decimal) -> Line:
    """A refunded line: the order line's kind, rate and SKU, the amounts given back as negatives."""
    return Line(line.kind, description, line.sku, quantity, line.vat_rate, -incl, -excl)


def credit_lines(slip: Slip, order: Order, detail_lines: Mapping[int, Line]) -> tuple[list[Line], list[str]]:
    """The negative lines of a credit: refunded lines at their own rate, shipping at the shipping's, an amount like a
    discount; and the discount rule's notes for the task log."""
    lines: list[Line] = []
    notes: list[str] = []
    for index, refunded in enumerate(slip.lines, start=1):
        line = detail_lines.get(refunded.order_detail_id)
        if line is None:
            raise MalformedOrder(f"order_slip_details[{index}].id_order_detail", f"is {refunded.order_detail_id}, not a line of order {order.id}")
        lines.append(_refund(line, line.description, refunded.quantity, refunded.amount_incl, refunded.amount_excl))
    shipping = next(iter(order.lines_of("shipping")), None)
    if slip.amount_only:
        # the order discount's rule: spread over the products' rates by their share incl VAT (negative lines)
        spread, notes = _discount_lines(
            {"total_discounts_tax_incl": slip.products_incl, "total_discounts_tax_excl": slip.products_excl}, order.lines_of("product"), shipping
        )
        lines += [dataclasses.replace(part, kind="product", description=part.description.replace("Discount", "Refund")) for part in spread]
    if slip.shipping_incl or slip.shipping_excl:
        rate = shipping.vat_rate if shipping is not None else infer_rate(slip.shipping_incl, slip.shipping_excl)
        if rate is None:
            raise OrderProblem(f"Refunded shipping {fmt(slip.shipping_incl)} incl / {fmt(slip.shipping_excl)} excl VAT fits no VAT rate")
        lines.append(Line("shipping", "Shipping", "", Decimal(1), rate, -slip.shipping_incl, -slip.shipping_excl))
    return lines, notes


def build_credit_plan(
    slip: Slip, order: Order, detail_lines: Mapping[int, Line], config: TenantConfig, ctx: ShopContext, order_sales_number: str | None = None
) -> BookingPlan:
    """The credit sale of a slip: the order's debtor and regime, negative rows summing to minus the slip's total
    (``order_sales_number``: the number the order was booked under, when it differs from the tenant's rule)."""
    if slip.order_id != order.id:
        raise MalformedOrder("order_slip.id_order", f"is {slip.order_id}, not order {order.id}")
    shop_country = (config.prestashop.shop_country or ctx.shop_country).upper()
    regime = classify(order, shop_country, frozenset(config.vat.oss))
    problems = check_slip(slip, order)
    rows: list[BookingRow] = []
    config_problems: list[str] = []
    notes: list[str] = []
    if not problems:
        lines, notes = credit_lines(slip, order, detail_lines)
        for number, line in enumerate(lines, start=1):
            try:
                rows += _rows(line, _mapping(line, number, order, regime, config, shop_country))
            except ConfigurationProblem as exc:
                config_problems.append(exc.reason)
    problems += list(dict.fromkeys(config_problems))
    try:
        sales_number = credit_sales_number(order, slip, config, order_sales_number)
        debtor = debtor_for(order)
    except OrderProblem as exc:
        problems.append(exc.reason)
    if problems:
        raise OrderProblem("; ".join(problems), "CONFIG" if problems == config_problems else "PRECHECK")
    plan = BookingPlan(
        tenant=config.tenant,
        order_id=order.id,
        reference=order.reference,
        sales_number=sales_number,
        date=slip.date_add.date(),
        description=f"Credit {order.reference} - {slip.id}",
        payment_method=order.payment_method,
        term_days=config.eboekhouden.payment_term_days,
        regime=regime,
        book_as=config.eboekhouden.book_as,
        debtor=debtor,
        fixed_debtor=fixed_debtor_for(order, regime, config),
        rows=tuple(rows),
        notes=tuple(notes),
        kind="credit",
        slip_id=slip.id,
    )
    assert plan.total_incl == -slip.total_incl, (plan.total_incl, slip.total_incl)  # every credit balances
    return plan
