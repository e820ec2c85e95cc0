"""Credit slips (PrestaShop ``order_slip``) as credit sales: normalized, the refund determined, planned against the order.

A credit is booked like the order it refunds, mirrored: the same debtor, the same VAT regime and mapping, negative
rows at the refunded lines' rates and ledgers, the refunded shipping at the shipping's rate. Its sales number is the
order's + ``credit_suffix`` + the slip id. Pure: no I/O, no Airflow.

What the customer got back is read the way PrestaShop writes a slip (``OrderRefundCalculator`` and
``OrderSlipCreator`` of 1.7.7+, ``OrderSlip::create`` of 1.6), never from one field alone:

- the slip's lines (``order_slip_details``) carry each refunded line's amount incl and excl VAT, which may be less
  than unit price × quantity (a partial amount typed per line);
- "product prices excluding the order's voucher" (``order_slip_type`` 1) takes the order's ``total_discounts`` off
  the products, but PrestaShop writes that only into the products total of the side the customer does NOT see:
  ``total_products_tax_excl`` for a customer who sees prices with VAT (B2C), ``total_products_tax_incl`` for one who
  sees them without (B2B); ``amount`` keeps the full lines;
- "a specific amount" (type 2): the lines keep their full value and ``amount`` is the amount chosen, in the unit the
  customer sees (incl VAT for B2C, excl for B2B). A shipping refund also makes a slip type 2, with ``amount`` = the
  products' total: so type 2 alone does not mean "amount chosen";
- with PrestaShop's round-on-total (``PS_ROUND_TYPE`` 3) the products total of the computed side is rounded per tax
  group and may differ from the sum of its lines by a cent: that cent is PrestaShop's, not a disagreement;
- ``partial`` = 1 is PrestaShop 1.5/1.6's partial refund (``createPartialOrderSlip``): zero totals, ``amount`` the
  refund, per-line amounts incl VAT.

When the fields do not determine the refund to the cent, the slip is refused with a reason a bookkeeper reads
(code ``BY_HAND``) — never booked on a guess.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.booking import (
    MAX_SALES_NUMBER,
    BookingPlan,
    BookingRow,
    base_sales_number,
    booking_rows,
    fixed_debtor_for,
    vat_mapping,
)
from prestashop_eboekhouden.domain.classify import classify
from prestashop_eboekhouden.domain.errors import ConfigurationProblem, MalformedOrder, OrderProblem
from prestashop_eboekhouden.domain.model import Line, Order, ShopContext
from prestashop_eboekhouden.domain.money import CENT, ZERO, allocate, fmt, parse_decimal, pct, sum_excl, sum_incl, to_cents
from prestashop_eboekhouden.domain.normalize import (
    amount_field,
    discount_lines,
    infer_rate,
    int_field,
    parse_shop_datetime,
    product_line,
    shares,
)
from prestashop_eboekhouden.domain.relations import debtor_for

HUNDRED = Decimal(100)
HALF_CENT = Decimal("0.005")
BY_HAND = "BY_HAND"  # the slip's fields do not determine the refund: the bookkeeper books it by hand
# Which prices the customer sees (PrestaShop's customer group ``price_display_method``): 0 = with VAT, 1 = without.
Display = Literal["incl", "excl"]
SlipType = Literal[0, 1, 2]
STANDARD, EXCLUDING_VOUCHER, SPECIFIC_AMOUNT = 0, 1, 2


@dataclass(frozen=True)
class SlipLine:
    """One refunded order line: which line, how many, and the amounts given back (positive)."""

    order_detail_id: int
    quantity: Decimal
    amount_incl: Decimal
    amount_excl: Decimal


@dataclass(frozen=True)
class Slip:
    """A normalized credit slip, its fields as PrestaShop wrote them (see the module docstring): the products totals and
    ``amount`` unrounded as stored (q × a six-decimal unit price), lines and shipping to the cent."""

    id: int
    order_id: int
    customer_id: int
    date_add: dt.datetime
    date_upd: dt.datetime | None
    products_incl: Decimal  # may be below the lines (a voucher excluded), even negative on the side not shown
    products_excl: Decimal
    shipping_incl: Decimal
    shipping_excl: Decimal
    amount: Decimal
    partial: bool
    lines: tuple[SlipLine, ...]
    slip_type: int = STANDARD
    shipping_cost_amount: Decimal = ZERO

    @property
    def lines_incl(self) -> Decimal:
        """The refunded lines incl VAT, as the slip's lines say."""
        return sum_incl(self.lines)

    @property
    def lines_excl(self) -> Decimal:
        """The refunded lines excl VAT, as the slip's lines say."""
        return sum_excl(self.lines)


@dataclass(frozen=True)
class Refund:
    """What the customer got back: positive lines at their rates (negated when booked), and how the slip says so."""

    lines: tuple[Line, ...]
    how: str
    notes: tuple[str, ...] = ()

    @property
    def total_incl(self) -> Decimal:
        """The refund incl VAT."""
        return sum_incl(self.lines)

    @property
    def total_excl(self) -> Decimal:
        """The refund excl VAT."""
        return sum_excl(self.lines)


def _positive(data: Mapping[str, Any], key: str, where: str) -> Decimal:
    """A refunded amount: present, a number, not negative."""
    value = amount_field(data, key, where)
    if value < 0:
        raise MalformedOrder(f"{where}.{key}", f"is {value}, a negative refund")
    return value


def _raw(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> Decimal:
    """A total as PrestaShop stored it, unrounded (q × a six-decimal unit price is kept as it is); 0 when optional and empty."""
    if data.get(key) in (None, "") and not required:
        return ZERO
    return parse_decimal(data.get(key), f"{where}.{key}")


def _refund_amount(data: Mapping[str, Any], where: str) -> Decimal:
    """``amount``: unrounded like the totals, never negative."""
    amount = _raw(data, "amount", where, required=False)
    if amount < 0:
        raise MalformedOrder(f"{where}.amount", f"is {amount}, a negative refund")
    return amount


def _optional(data: Mapping[str, Any], key: str, where: str) -> Decimal:
    """An amount PrestaShop may leave empty (0 then), not negative."""
    return _positive(data, key, where) if data.get(key) not in (None, "") else ZERO


def normalize_slip(data: Mapping[str, Any]) -> Slip:
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
        quantity = int_field(detail, "product_quantity", at, minimum=0)
        lines.append(SlipLine(int_field(detail, "id_order_detail", at, minimum=1), Decimal(quantity), _positive(detail, "amount_tax_incl", at), _positive(detail, "amount_tax_excl", at)))
    date_add = parse_shop_datetime(data.get("date_add"), f"{where}.date_add", required=True)
    assert date_add is not None
    slip_type = int_field(data, "order_slip_type", where, required=False)
    if slip_type not in (STANDARD, EXCLUDING_VOUCHER, SPECIFIC_AMOUNT):
        raise MalformedOrder(f"{where}.order_slip_type", f"is {slip_type}, not a refund type PrestaShop writes (0, 1 or 2)")
    return Slip(
        id=int_field(data, "id", where, minimum=1),
        order_id=int_field(data, "id_order", where, minimum=1),
        customer_id=int_field(data, "id_customer", where, required=False),
        date_add=date_add,
        date_upd=parse_shop_datetime(data.get("date_upd"), f"{where}.date_upd", required=False),
        products_incl=_raw(data, "total_products_tax_incl", where),  # signed: a voucher may take it below zero
        products_excl=_raw(data, "total_products_tax_excl", where),
        shipping_incl=_positive(data, "total_shipping_tax_incl", where),
        shipping_excl=_positive(data, "total_shipping_tax_excl", where),
        amount=_refund_amount(data, where),
        partial=str(data.get("partial", "0")) == "1",
        lines=tuple(line for line in lines if line.quantity or line.amount_incl),
        slip_type=slip_type,
        shipping_cost_amount=_optional(data, "shipping_cost_amount", where),
    )


def order_detail_lines(details: Sequence[Mapping[str, Any]], ctx: ShopContext, product_references: Mapping[str, str] | None = None) -> dict[int, Line]:
    """The order's lines by order_details id (what a slip's id_order_detail points at), read as the order's own."""
    lines = {}
    for index, detail in enumerate(details, start=1):
        where = f"order_details[{index}]"
        line = product_line(detail, where, ctx, product_references or {})
        if line is not None:
            lines[int_field(detail, "id", where, minimum=1)] = line
    return lines


def credit_sales_number(order: Order, slip: Slip, config: TenantConfig, order_sales_number: str | None = None) -> str:
    """The order's sales number (as booked, when given) + the credit suffix + the slip id, within e-Boekhouden's length."""
    number = f"{order_sales_number or base_sales_number(order, config)}{config.eboekhouden.credit_suffix}{slip.id}"
    if len(number) > MAX_SALES_NUMBER:
        raise ConfigurationProblem(f"Credit sales number {number} is longer than {MAX_SALES_NUMBER} characters")
    return number


# ---- the refund: what the slip's fields determine ------------------------------------------------------------------


def _by_hand(slip: Slip, why: str) -> OrderProblem:
    """A slip whose fields do not determine the refund: refused with the reason, to be booked by hand."""
    return OrderProblem(f"Credit slip {slip.id}: {why}; book this refund by hand", BY_HAND)


def _refunded_lines(slip: Slip, order: Order, detail_lines: Mapping[int, Line]) -> list[Line]:
    """The slip's lines as order lines (the order line's kind, name, SKU and rate) with the amounts given back."""
    lines = []
    for index, refunded in enumerate(slip.lines, start=1):
        line = detail_lines.get(refunded.order_detail_id)
        if line is None:
            raise MalformedOrder(f"order_slip_details[{index}].id_order_detail", f"is {refunded.order_detail_id}, not a line of order {order.id}")
        lines.append(Line(line.kind, line.description, line.sku, refunded.quantity, line.vat_rate, refunded.amount_incl, refunded.amount_excl))
    return lines


def _by_rate(lines: Sequence[Line]) -> dict[Decimal, list[Line]]:
    grouped: dict[Decimal, list[Line]] = defaultdict(list)
    for line in lines:
        grouped[line.vat_rate].append(line)
    return grouped


def _side(line: Line, side: Display) -> Decimal:
    return line.amount_incl if side == "incl" else line.amount_excl


def _group_targets(lines: Sequence[Line], computed: Display, total: Decimal, seen_total: Decimal) -> dict[Decimal, Decimal] | None:
    """Per VAT rate, the computed side's total as PrestaShop writes it, when ``total`` is one it can have written:
    the lines' own sum (rounding per item or per line), or round-on-total: per tax group the seen side's sum with VAT
    added (``computed`` incl) or removed (excl), rounded once — from the seen total itself when the lines share one
    rate (PrestaShop sums the unrounded amounts), else from the lines. None: not a total PrestaShop writes for them."""
    groups = _by_rate(lines)
    summed = {rate: sum((_side(line, computed) for line in group), ZERO) for rate, group in groups.items()}
    if total == sum(summed.values(), ZERO):
        return summed
    seen: Display = "excl" if computed == "incl" else "incl"
    targets = {}
    for rate, group in groups.items():
        base = seen_total if len(groups) == 1 else sum((_side(line, seen) for line in group), ZERO)
        factor = 1 + rate / HUNDRED
        targets[rate] = to_cents(base * factor if computed == "incl" else base / factor)
    return targets if total == sum(targets.values(), ZERO) else None


def _seen_fits(lines: Sequence[Line], side: Display, raw_total: Decimal) -> bool:
    """The total of the side the customer sees is the unrounded sum of what was typed per line (q × a six-decimal unit
    price, as PrestaShop stores it): within the half cent each line's rounding may take, and no further."""
    return abs(raw_total - sum((_side(line, side) for line in lines), ZERO)) <= HALF_CENT * max(len(lines), 1)


def _with_totals(lines: list[Line], side: Display, targets: dict[Decimal, Decimal]) -> list[Line]:
    """The lines with each rate group's rounding cents (``targets`` per rate) put on that group's largest line."""
    adjusted = list(lines)
    for rate, group in _by_rate(lines).items():
        difference = targets[rate] - sum((_side(line, side) for line in group), ZERO)
        if difference:
            largest = max(group, key=lambda line: line.amount_incl)
            at = adjusted.index(largest)
            field = "amount_incl" if side == "incl" else "amount_excl"
            adjusted[at] = dataclasses.replace(largest, **{field: getattr(largest, field) + difference})
    return adjusted


def _seen_targets(lines: Sequence[Line], side: Display, raw_total: Decimal) -> dict[Decimal, Decimal]:
    """The seen side per rate, the whole's rounding cent (the slip's own total, rounded once) on the largest group."""
    groups = _by_rate(lines)
    targets = {rate: sum((_side(line, side) for line in group), ZERO) for rate, group in groups.items()}
    if targets:
        largest = max(targets, key=lambda rate: (targets[rate], rate))
        targets[largest] += to_cents(raw_total) - sum(targets.values(), ZERO)
    return targets


def _order_discount(order: Order) -> tuple[Decimal, Decimal]:
    """The order's discount incl and excl VAT (``total_discounts_tax_incl/excl``: PrestaShop's ``total_discounts``)."""
    discounts = order.lines_of("discount")
    return -sum((d.amount_incl for d in discounts), ZERO), -sum((d.amount_excl for d in discounts), ZERO)


def _spread(slip: Slip, chosen: Decimal, seen: Display, lines: Sequence[Line], order: Order) -> list[Line]:
    """A chosen amount (in the unit the customer sees) over the refunded lines' rates, in proportion to their
    amounts on that side, to the cent; the other side per part at its rate. Without lines: the order's products'
    rate when they have one, else there is nothing that says where the VAT sits."""
    base: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines or order.lines_of("product"):
        base[line.vat_rate] += line.amount_incl if seen == "incl" else line.amount_excl
    if not lines and len(base) != 1:
        listed = ", ".join(f"{pct(rate)}%" for rate in sorted(base, reverse=True)) or "none"
        raise _by_hand(slip, f"it refunds {fmt(chosen)} without naming products, and the order's products are at {listed}: the VAT of the refund is not determined")
    rates = sorted(base, reverse=True)
    parts = allocate(chosen, [base[rate] for rate in rates])
    spread = []
    for rate, part in zip(rates, parts, strict=True):
        factor = 1 + rate / HUNDRED
        incl, excl = (part, to_cents(part / factor)) if seen == "incl" else (to_cents(part * factor), part)
        if incl or excl:
            spread.append(Line("product", "Refund" if len(rates) == 1 else f"Refund {pct(rate)}%", "", Decimal(1), rate, incl, excl))
    return spread


def _voucher_lines(slip: Slip, order: Order, lines: Sequence[Line]) -> tuple[list[Line], list[str]]:
    """The order's discount taken off a refund, over the refunded lines' rates by the order discount's own rule
    (lines with negative amounts: they lower the refund). The shop's discount excl VAT speaks of the whole cart:
    when the refund covers only some of the cart's rates, each part's excl is its incl at its own rate."""
    discount_incl, discount_excl = _order_discount(order)
    refunded = {line.vat_rate: ZERO for line in lines if line.amount_incl}
    for line in lines:
        if line.amount_incl:
            refunded[line.vat_rate] += line.amount_incl
    if set(refunded) != {line.vat_rate for line in order.lines_of("product") if line.amount_incl} and refunded:
        rates = sorted(refunded, reverse=True)
        split = shares(discount_incl, [refunded[rate] for rate in rates])
        discount_excl = sum((to_cents(share / (1 + rate / HUNDRED)) for share, rate in zip(split, rates, strict=True)), ZERO)
    parts, notes = discount_lines({"total_discounts_tax_incl": discount_incl, "total_discounts_tax_excl": discount_excl}, lines, None)
    renamed = [dataclasses.replace(part, description=part.description.replace("Discount", "Voucher not refunded")) for part in parts]
    return renamed, [f"Credit slip {slip.id}: {note}" for note in notes]


def _legacy_partial(slip: Slip, lines: list[Line], shipping: Line | None) -> Refund:
    """PrestaShop 1.5/1.6's partial refund: per-line amounts incl VAT, the shipping in ``shipping_cost_amount``,
    ``amount`` the whole refund; booked only when they add up."""
    lines = [dataclasses.replace(line, amount_excl=to_cents(line.amount_incl / (1 + line.vat_rate / HUNDRED))) for line in lines]
    shipped = slip.shipping_cost_amount
    refund = sum((line.amount_incl for line in lines), ZERO)
    if to_cents(slip.amount) != refund + shipped:  # PrestaShop 1.5/1.6 added the shipping refund to the amount
        raise _by_hand(
            slip,
            f"PrestaShop 1.6's partial refund says {fmt(slip.amount)} but its lines give {fmt(refund)}"
            + (f" and its shipping {fmt(shipped)}" if shipped else ""),
        )
    if shipped:
        if shipping is None:
            raise _by_hand(slip, f"it refunds shipping {fmt(shipped)} on an order without shipping")
        lines.append(_shipping(shipped, to_cents(shipped / (1 + shipping.vat_rate / HUNDRED)), shipping.vat_rate))
    return Refund(tuple(lines), "a partial refund of PrestaShop 1.6")


def _shipping(incl: Decimal, excl: Decimal, rate: Decimal) -> Line:
    return Line("shipping", "Shipping", "", Decimal(1), rate, incl, excl)


def _shapes(slip: Slip, lines: Sequence[Line], discount: Decimal, display: Display) -> tuple[bool, bool, dict[Decimal, Decimal]] | None:
    """(voucher excluded, amount chosen, the computed side's totals per rate) as the fields read for a customer who
    sees prices ``display``; None when the fields cannot have been written for such a customer."""
    seen_total, other_total = (slip.products_incl, slip.products_excl) if display == "incl" else (slip.products_excl, slip.products_incl)
    other: Display = "excl" if display == "incl" else "incl"
    if not _seen_fits(lines, display, seen_total):
        return None
    targets = _group_targets(lines, other, to_cents(other_total), seen_total)
    voucher = False
    if targets is None and discount:  # the voucher comes off the computed side only
        targets, voucher = _group_targets(lines, other, to_cents(other_total + discount), seen_total), True
    if targets is None:
        return None
    chosen = slip.amount != seen_total
    if voucher and chosen:
        return None  # PrestaShop takes the voucher off only when no amount was chosen
    return voucher, chosen, targets


def determine_refund(slip: Slip, order: Order, detail_lines: Mapping[int, Line], display: Display | None) -> Refund:
    """What the customer got back, from the slip's fields and lines as PrestaShop writes them (module docstring);
    ``display``: which prices the customer sees (None: unknown; then only a refund both readings agree on).
    Raises OrderProblem (code BY_HAND) when the fields do not determine it to the cent."""
    lines = _refunded_lines(slip, order, detail_lines)
    order_shipping = next(iter(order.lines_of("shipping")), None)
    if slip.partial:
        return _legacy_partial(slip, lines, order_shipping)
    shipping: list[Line] = []
    if slip.shipping_incl or slip.shipping_excl:
        rate = order_shipping.vat_rate if order_shipping is not None else infer_rate(slip.shipping_incl, slip.shipping_excl)
        if rate is None:
            raise OrderProblem(f"Refunded shipping {fmt(slip.shipping_incl)} incl / {fmt(slip.shipping_excl)} excl VAT fits no VAT rate")
        shipping = [_shipping(slip.shipping_incl, slip.shipping_excl, rate)]
    discount, _ = _order_discount(order)
    readings: dict[Display, Refund] = {}
    for seen in ("incl", "excl") if display is None else (display,):
        shape = _shapes(slip, lines, discount, seen)
        if shape is None:
            continue
        voucher, chosen, targets = shape
        expected = SPECIFIC_AMOUNT if chosen or shipping else (EXCLUDING_VOUCHER if voucher else STANDARD)
        if slip.slip_type != expected:
            continue
        other: Display = "excl" if seen == "incl" else "incl"
        seen_total = slip.products_incl if seen == "incl" else slip.products_excl
        products = _with_totals(_with_totals(lines, seen, _seen_targets(lines, seen, seen_total)), other, targets)
        notes: list[str] = []
        if chosen:
            products, how = _spread(slip, to_cents(slip.amount), seen, products, order), "an amount chosen in the shop"
        elif voucher:
            taken_off, notes = _voucher_lines(slip, order, products)
            products, how = products + taken_off, "the lines less the order's voucher"
        else:
            how = "the refunded lines"
        readings[seen] = Refund(tuple(products + shipping), how, tuple(notes))
    if not readings:
        what = f"products {fmt(slip.products_incl)} incl / {fmt(slip.products_excl)} excl VAT, amount {fmt(slip.amount)}, type {slip.slip_type}"
        raise _by_hand(slip, f"PrestaShop's totals disagree with its lines ({what}; lines {fmt(slip.lines_incl)} incl / {fmt(slip.lines_excl)} excl VAT)")
    money = {_money(refund) for refund in readings.values()}
    if len(money) > 1:
        raise _by_hand(
            slip,
            f"it refunds an amount of {fmt(slip.amount)} chosen in the shop, and whether that includes VAT depends on the prices "
            "the customer's group sees (with or without VAT), which could not be read (the webservice key needs the resource 'groups')",
        )
    return next(iter(readings.values()))


def _money(refund: Refund) -> tuple[Any, ...]:
    """A refund's money per VAT rate (what two readings must agree on)."""
    per_rate: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in refund.lines:
        incl, excl = per_rate.get(line.vat_rate, (ZERO, ZERO))
        per_rate[line.vat_rate] = (incl + line.amount_incl, excl + line.amount_excl)
    return tuple(sorted(per_rate.items()))


def check_refund(slip: Slip, refund: Refund, order: Order) -> list[str]:
    """The refund gives something back and no more than the order."""
    total = refund.total_incl
    if total <= 0:
        return [f"Credit slip {slip.id} gives nothing back ({fmt(total)}: {refund.how})"]
    if total > order.total_paid_incl:
        return [f"Credit slip {slip.id} gives back {fmt(total)}, more than order total {fmt(order.total_paid_incl)}"]
    return []


def build_credit_plan(
    slip: Slip,
    order: Order,
    detail_lines: Mapping[int, Line],
    config: TenantConfig,
    ctx: ShopContext,
    order_sales_number: str | None = None,
    display: Display | None = "incl",
) -> BookingPlan:
    """The credit sale of a slip: the order's debtor and regime, negative rows summing to minus what the customer
    got back (``order_sales_number``: the number the order was booked under, when it differs from the tenant's rule;
    ``display``: which prices the customer's group sees, None when unknown)."""
    if slip.order_id != order.id:
        raise MalformedOrder("order_slip.id_order", f"is {slip.order_id}, not order {order.id}")
    shop_country = (config.prestashop.shop_country or ctx.shop_country).upper()
    regime = classify(order, shop_country, frozenset(config.vat.oss))
    refund = determine_refund(slip, order, detail_lines, display)
    problems = check_refund(slip, refund, order)
    rows: list[BookingRow] = []
    config_problems: list[str] = []
    if not problems:
        for number, line in enumerate(refund.lines, start=1):
            credit = dataclasses.replace(line, amount_incl=-line.amount_incl, amount_excl=-line.amount_excl)
            try:
                rows += booking_rows(credit, vat_mapping(credit, number, order, regime, config, shop_country))
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
        notes=refund.notes,
        kind="credit",
        slip_id=slip.id,
        delivery_country=order.delivery_country,
    )
    assert plan.total_incl == -refund.total_incl, (plan.total_incl, refund.total_incl)  # every credit balances
    assert abs(plan.total_incl) >= CENT
    return plan
