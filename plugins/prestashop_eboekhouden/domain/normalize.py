"""From PrestaShop webservice JSON to an :class:`Order` (manual section 6), pure and exact.

Every malformed value becomes a :class:`MalformedOrder` that names the field, never a bare exception.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.domain.errors import MalformedOrder, OrderProblem
from prestashop_eboekhouden.domain.model import Address, Customer, Line, Order, ShopContext
from prestashop_eboekhouden.domain.money import CENT, ZERO, fmt, parse_amount, parse_decimal, pct, to_cents
from prestashop_eboekhouden.domain.prechecks import compact_vat_number

UNSET_DATE = "0000-00-00 00:00:00"
# VAT rates that occur in the EU; a rate inferred from incl/excl amounts snaps to one of these.
COMMON_RATES = tuple(
    Decimal(r) for r in ("0", "4", "5", "5.5", "6", "7", "8", "9", "10", "12", "13", "14", "15", "17", "19", "20", "21", "22", "23", "24", "25", "27")
)
WRAPPING_21_BAND = (Decimal("20.4"), Decimal("21"))
HUNDRED = Decimal(100)
MAX_TEXT = 255


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """A text field, trimmed and capped; required fields must be present and non-empty."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise MalformedOrder(f"{where}.{key}", "is missing")
        return ""
    if isinstance(value, (dict, list)):
        raise MalformedOrder(f"{where}.{key}", "is not a text")
    return str(value).strip()[:limit]


def int_field(data: Mapping[str, Any], key: str, where: str, *, required: bool = True, minimum: int | None = 0) -> int:
    """An id or count field as int."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise MalformedOrder(f"{where}.{key}", "is missing")
        return 0
    number = parse_decimal(value, f"{where}.{key}")
    if number != number.to_integral_value():
        raise MalformedOrder(f"{where}.{key}", f"is {value!r}, not a whole number")
    if minimum is not None and number < minimum:
        raise MalformedOrder(f"{where}.{key}", f"is {value!r}, below {minimum}")
    return int(number)


def amount_field(data: Mapping[str, Any], key: str, where: str) -> Decimal:
    """A required amount field, to the cent."""
    if data.get(key) is None:
        raise MalformedOrder(f"{where}.{key}", "is missing")
    return parse_amount(data[key], f"{where}.{key}")


def parse_shop_datetime(value: object, field: str, *, required: bool) -> dt.datetime | None:
    """A shop-local 'YYYY-MM-DD HH:MM:SS'; the unset date 0000-00-00 counts as missing."""
    if value in (None, "", UNSET_DATE) or str(value).startswith("0000-00-00"):
        if required:
            raise MalformedOrder(field, "is missing")
        return None
    try:
        return dt.datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise MalformedOrder(field, f"is {str(value)[:40]!r}, not a date 'YYYY-MM-DD HH:MM:SS'") from None


def percent(rate: Decimal) -> Decimal:
    """A VAT rate as a percentage: a rate below 1 is a fraction (0.21 → 21)."""
    return rate * HUNDRED if 0 < rate < 1 else rate


def fits_rate(incl: Decimal, excl: Decimal, rate: Decimal, quantity: Decimal = Decimal(1)) -> bool:
    """Whether cent-rounded incl/excl amounts can come from this VAT rate."""
    tolerance = Decimal("0.011") * max(quantity, Decimal(1))
    return abs(excl * (1 + rate / HUNDRED) - incl) <= tolerance


def infer_rate(incl: Decimal, excl: Decimal, preferred: Iterable[Decimal] = ()) -> Decimal | None:
    """The VAT rate that explains an incl/excl pair, preferring the order's own rates; None if none fits."""
    if excl == 0:
        return ZERO if incl == 0 else None
    if incl == excl:
        return Decimal(0)
    candidates = list(dict.fromkeys([*preferred, *COMMON_RATES]))
    exact = (incl - excl) / excl * HUNDRED
    fitting = [rate for rate in candidates if fits_rate(incl, excl, rate)]
    if not fitting:
        return None
    return min(fitting, key=lambda rate: (abs(rate - exact), candidates.index(rate)))


def _vat_rounds_away(excl: Decimal, rate: Decimal, quantity: Decimal) -> bool:
    """Whether the VAT of this rate on each unit rounds to 0.00, so equal incl and excl amounts cannot
    tell the rate (0.04 at 9% has 0.0036 VAT): the declared rate then stands."""
    unit = abs(excl) / max(quantity, Decimal(1))
    return to_cents(unit * rate / HUNDRED) == 0


def _tax_rate(detail: Mapping[str, Any], where: str, ctx: ShopContext) -> Decimal | None:
    """A line's VAT % from its taxes association (summed when several); None when it has none."""
    taxes = (detail.get("associations") or {}).get("taxes")
    if isinstance(taxes, dict):  # older versions: one object instead of a list
        taxes = [taxes]
    if not taxes:
        return None
    total = Decimal(0)
    for tax in taxes:
        tax_id = int_field(tax, "id", f"{where}.taxes")
        if tax_id == 0:
            continue
        if tax_id not in ctx.taxes:
            raise MalformedOrder(f"{where}.taxes", f"refers to unknown tax id {tax_id}")
        total += percent(ctx.taxes[tax_id])
    return total


def product_line(detail: Mapping[str, Any], where: str, ctx: ShopContext, product_references: Mapping[str, str]) -> Line | None:
    """One order_details row as a product line; quantity 0 is skipped. The line code is the row's SKU,
    else the product's reference in the shop (manual: read from the product when the SKU is empty)."""
    quantity = Decimal(int_field(detail, "product_quantity", where, minimum=None))
    if quantity < 0:
        raise MalformedOrder(f"{where}.product_quantity", f"is {quantity}, a negative quantity")
    if quantity == 0:
        return None
    if detail.get("total_price_tax_incl") not in (None, "") and detail.get("total_price_tax_excl") not in (None, ""):
        incl = amount_field(detail, "total_price_tax_incl", where)
        excl = amount_field(detail, "total_price_tax_excl", where)
    else:  # unit price × quantity, rounded once
        incl = to_cents(parse_decimal(detail.get("unit_price_tax_incl"), f"{where}.unit_price_tax_incl") * quantity)
        excl = to_cents(parse_decimal(detail.get("unit_price_tax_excl"), f"{where}.unit_price_tax_excl") * quantity)
    declared = _tax_rate(detail, where, ctx)
    if incl == excl and incl != 0 and not (declared is not None and _vat_rounds_away(excl, declared, quantity)):
        rate = Decimal(0)  # VAT-exempt customer: the product's tax rule is not applied
    elif declared is not None:
        rate = declared  # what PrestaShop declares wins; amounts decide only when it declares nothing
    else:
        inferred = infer_rate(incl, excl)
        if inferred is None:
            raise MalformedOrder(f"{where}.taxes", f"is missing and {incl}/{excl} fits no VAT rate")
        rate = inferred
    name = _text(detail, "product_name", where) or _text(detail, "product_reference", where) or f"Product {detail.get('product_id', '')}".strip()
    sku = _text(detail, "product_reference", where, limit=64) or product_references.get(str(detail.get("product_id")), "").strip()[:64]
    return Line("product", name, sku, quantity, rate, incl, excl)


def _rows_as_details(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """order_rows of the order itself, for a shop whose key cannot read order_details."""
    rows = (order.get("associations") or {}).get("order_rows") or []
    if isinstance(rows, dict):
        rows = [rows]
    return [dict(row) for row in rows]


def product_rows(order: Mapping[str, Any], details: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows the product lines come from: order_details, else the order's own order_rows."""
    return [row for row in (details or _rows_as_details(order)) if isinstance(row, Mapping)]


def products_without_sku(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """Product ids of rows whose SKU (product_reference) is empty: their reference is read from the shop."""
    return {
        str(row.get("product_id")).strip()
        for row in rows
        if not str(row.get("product_reference") or "").strip() and str(row.get("product_id") or "").strip() not in ("", "0")
    }


def _product_lines(order: Mapping[str, Any], details: Sequence[Mapping[str, Any]], ctx: ShopContext, product_references: Mapping[str, str]) -> list[Line]:
    """The product lines, from order_details (or the order's own rows as fallback)."""
    source, label = (details, "order_details") if details else (_rows_as_details(order), "order_rows")
    if not source:
        raise MalformedOrder("order_details", "has no rows for this order (an order without product lines)")
    lines: list[Line] = []
    for index, detail in enumerate(source, start=1):
        if not isinstance(detail, Mapping):
            raise MalformedOrder(f"{label}[{index}]", "is not an object")
        line = product_line(detail, f"{label}[{index}]", ctx, product_references)
        if line is not None:
            lines.append(line)
    return lines


def _shipping_line(order: Mapping[str, Any], preferred: Sequence[Decimal]) -> Line | None:
    """Shipping as a line with its own VAT (carrier_tax_rate, else from incl/excl)."""
    incl = amount_field(order, "total_shipping_tax_incl", "order")
    excl = amount_field(order, "total_shipping_tax_excl", "order")
    if incl == 0 and excl == 0:
        return None
    rate: Decimal
    if incl == excl:
        rate = Decimal(0)
    else:
        carrier = percent(parse_decimal(order.get("carrier_tax_rate") or "0", "order.carrier_tax_rate"))
        found = carrier if carrier > 0 and fits_rate(incl, excl, carrier) else infer_rate(incl, excl, preferred)
        if found is None:
            raise OrderProblem(f"Shipping {incl} incl / {excl} excl VAT fits no VAT rate")
        rate = found
    return Line("shipping", "Shipping", "", Decimal(1), rate, incl, excl)


def _surcharge_line(order: Mapping[str, Any], rates: Collection[Decimal]) -> Line | None:
    """Gift wrapping as a 'Surcharge' line (manual: VAT % from incl − excl, above 20.4% and below 21% it is 21%).

    Outside that band the rate is a configured one the amounts fit to the cent (incl = excl × (1 + rate),
    rounded), the nearest to the computed percentage; when none fits the order is refused naming it.
    """
    incl = amount_field(order, "total_wrapping_tax_incl", "order")
    excl = amount_field(order, "total_wrapping_tax_excl", "order")
    if incl == 0 and excl == 0:
        return None
    if excl == 0:
        raise OrderProblem(f"Gift wrapping {incl} incl VAT has no amount excl VAT")
    computed = (incl - excl) / excl * HUNDRED
    low, high = WRAPPING_21_BAND
    if low < computed < high:
        rate = Decimal(21)
    else:
        # 0% is always a rate: untaxed wrapping on an ICP, export or exempt order
        fitting = [r for r in {Decimal(0), *rates} if to_cents(excl * (1 + r / HUNDRED)) == incl]
        if not fitting:
            raise OrderProblem(
                f"Gift wrapping {fmt(incl)} incl / {fmt(excl)} excl VAT is {pct(computed.quantize(Decimal('0.01')))}%: "
                "no VAT rate of the tenant file gives these amounts to the cent"
            )
        rate = min(fitting, key=lambda r: (abs(r - computed), -r))
    return Line("surcharge", "Surcharge", "", Decimal(1), rate, incl, excl)


def shares(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """A cent amount by the weights' shares, each rounded half-up, the rounding cents on the largest part."""
    weight_sum = sum(weights, Decimal(0))
    parts = [to_cents(total * w / weight_sum) for w in weights]
    largest = max(range(len(weights)), key=lambda i: (weights[i], -i))
    parts[largest] += total - sum(parts, ZERO)
    return parts


def _two_rate_split(incl: Decimal, excl: Decimal, rates: Sequence[Decimal]) -> tuple[list[Decimal], list[Decimal]] | None:
    """The split over two rates that meets both the discount incl and excl with each part at its own rate
    (incl = excl × (1 + rate), to the cent); None when there is no such split with non-negative parts.

    Solved exactly, x + y = excl and high·x + low·y = incl, the cent-rounded shop figures put x a little
    off (by up to half a cent over the rates' difference: 0.25 between 9% and 7%); so the cents around
    the solution and the two ends (everything on one rate, the common voucher on one product or on the
    shipping) are tried, and the one whose parts fit their rates best is taken.
    """
    high, low = (1 + r / HUNDRED for r in rates)
    if high == low:
        return None
    exact = (incl - low * excl) / (high - low)  # excl at the high rate
    near = to_cents(min(max(exact, ZERO), excl))
    tried = {ZERO, excl, *(near + step * CENT for step in range(-2, 3))}
    best: tuple[tuple[Decimal, Decimal], list[Decimal], list[Decimal]] | None = None
    for excl_high in sorted(tried):
        excl_low = excl - excl_high
        if excl_high < 0 or excl_low < 0:
            continue
        incl_high = to_cents(excl_high * high)
        incl_low = incl - incl_high
        if incl_low < 0:
            continue
        misfit = max(abs(incl_high - excl_high * high), abs(incl_low - excl_low * low))
        if misfit > CENT:
            continue
        key = (misfit, abs(excl_high - exact))
        if best is None or key < best[0]:
            best = (key, [incl_high, incl_low], [excl_high, excl_low])
    return None if best is None else (best[1], best[2])


def discount_lines(order: Mapping[str, Any], products: Sequence[Line], shipping: Line | None) -> tuple[list[Line], list[str]]:
    """The order discount per VAT rate (manual: by share of total_products_wt), and notes for the task log.

    The manual's proportional split is used when its excl parts meet the shop's discount excl within a
    cent per rate. Otherwise the shop's own figures say where the discount sits: with two rates the split
    that meets both the discount incl and excl, each part at its own rate. When there is none (or three
    or more rates), the proportional split stays, the difference on its largest part, and a note says so.
    Parts of 0.00 are not booked.
    """
    incl = amount_field(order, "total_discounts_tax_incl", "order")
    excl = amount_field(order, "total_discounts_tax_excl", "order")
    if incl == 0 and excl == 0:
        return [], []
    if incl < 0 or excl < 0:
        raise MalformedOrder("order.total_discounts_tax_incl", f"is {incl}, a negative discount")
    base: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in products:
        base[line.vat_rate] += line.amount_incl
    base = {rate: amount for rate, amount in base.items() if amount != 0}
    if not base:
        if shipping is None:
            raise OrderProblem(f"Discount {incl} on an order without products or shipping to spread it over")
        base = {shipping.vat_rate: shipping.amount_incl}
    rates = sorted(base, reverse=True)
    parts_incl = shares(incl, [base[r] for r in rates])
    parts_excl = [to_cents(part / (1 + r / HUNDRED)) for part, r in zip(parts_incl, rates, strict=False)]
    difference = excl - sum(parts_excl, ZERO)
    # the cents that make the excl parts meet the shop's go on the largest part that carries VAT (a 0% part
    # cannot hold VAT: its excl stays its incl)
    taxed = [i for i, rate in enumerate(rates) if rate != 0] or list(range(len(rates)))
    largest = max(taxed, key=lambda i: (parts_incl[i], -i))
    notes: list[str] = []
    if abs(difference) <= CENT * len(rates):
        parts_excl[largest] += difference
    else:
        # a free-shipping voucher may sit on the shipping's rate: it counts as a rate of the cart then
        candidates = rates + [shipping.vat_rate] if shipping is not None and len(rates) == 1 and shipping.vat_rate not in rates else rates
        solved = _two_rate_split(incl, excl, sorted(candidates, reverse=True)) if len(candidates) == 2 else None
        if solved is not None:
            rates = sorted(candidates, reverse=True)
            parts_incl, parts_excl = solved
        else:
            parts_excl[largest] += difference
            notes.append(
                f"Discount {fmt(incl)} incl / {fmt(excl)} excl VAT fits no split over the cart's VAT rates "
                f"({', '.join(pct(r) + '%' for r in rates)}): booked by the products' share, with "
                f"{fmt(abs(difference))} excl VAT {'more' if difference > 0 else 'less'} on the {pct(rates[largest])}% part"
            )
    kept = [(r, i, e) for r, i, e in zip(rates, parts_incl, parts_excl, strict=False) if i != 0 or e != 0]
    label = "Discount" if len(kept) == 1 else "Discount {rate}%"
    lines = [Line("discount", label.format(rate=pct(rate)), "", Decimal(1), rate, -part_incl, -part_excl) for rate, part_incl, part_excl in kept]
    return lines, notes


def _address(data: Mapping[str, Any], ctx: ShopContext) -> Address:
    """An address resource with its country resolved to an ISO code."""
    where = f"addresses[{data.get('id', '?')}]"
    country_id = int_field(data, "id_country", where)
    if country_id not in ctx.countries:
        raise MalformedOrder(f"{where}.id_country", f"refers to unknown country id {country_id}")
    return Address(
        id=int_field(data, "id", where),
        firstname=_text(data, "firstname", where),
        lastname=_text(data, "lastname", where),
        company=_text(data, "company", where),
        vat_number=compact_vat_number(_text(data, "vat_number", where, limit=40))[:32],
        address1=_text(data, "address1", where),
        address2=_text(data, "address2", where),
        postcode=_text(data, "postcode", where, limit=16),
        city=_text(data, "city", where),
        country_iso=ctx.countries[country_id].upper(),
        phone=_text(data, "phone", where, limit=32) or _text(data, "phone_mobile", where, limit=32),
        deleted=str(data.get("deleted", "0")) == "1",
    )


def pick_address(address_id: int, customer: Customer, addresses: Sequence[Address], role: str) -> Address:
    """The order's address: by id, else the customer's address with the same name, else the first one."""
    for address in addresses:
        if address.id == address_id:
            return address
    live = [a for a in addresses if not a.deleted] or list(addresses)
    for address in live:
        if address.firstname.casefold() == customer.firstname.casefold() and address.lastname.casefold() == customer.lastname.casefold():
            return address
    if live:
        return live[0]
    raise MalformedOrder(f"order.id_address_{role}", f"is {address_id} and the customer has no addresses")


def _customer(data: Mapping[str, Any] | None) -> Customer:
    """The customer resource; the e-mail address is what debtors are matched on."""
    if not isinstance(data, Mapping):
        raise MalformedOrder("order.id_customer", "points at a customer the shop does not have")
    where = "customer"
    email = _text(data, "email", where, required=True)
    if "@" not in email:
        raise MalformedOrder("customer.email", f"is {email[:60]!r}, not an e-mail address")
    return Customer(
        id=int_field(data, "id", where),
        email=email,
        firstname=_text(data, "firstname", where),
        lastname=_text(data, "lastname", where),
        company=_text(data, "company", where),
    )


def normalize_order(
    order: Mapping[str, Any],
    details: Sequence[Mapping[str, Any]],
    customer: Mapping[str, Any] | None,
    addresses: Sequence[Mapping[str, Any]],
    ctx: ShopContext,
    rates: Collection[Decimal] | None = None,
    product_references: Mapping[str, str] | None = None,
) -> Order:
    """One webservice order (display=full) with its details, customer and addresses, as an Order.

    `rates` are the VAT percentages the tenant file maps (gift wrapping outside the manual's 21% band
    must fit one of them); without them, the VAT rates that occur in the EU. `product_references` maps a
    product id to its reference in the shop, for lines without a SKU.
    """
    if not isinstance(order, Mapping):
        raise MalformedOrder("order", "is not an object")
    order_id = int_field(order, "id", "order", minimum=1)
    products = _product_lines(order, details, ctx, product_references or {})
    own_rates = [line.vat_rate for line in products]
    shipping = _shipping_line(order, own_rates)
    surcharge = _surcharge_line(order, COMMON_RATES if rates is None else rates)
    discounts, notes = discount_lines(order, products, shipping)
    lines = tuple([*products, *([shipping] if shipping else []), *([surcharge] if surcharge else []), *discounts])

    total_incl = (
        amount_field(order, "total_products_wt", "order")
        + amount_field(order, "total_shipping_tax_incl", "order")
        + amount_field(order, "total_wrapping_tax_incl", "order")
        - amount_field(order, "total_discounts_tax_incl", "order")
    )
    total_excl = (
        amount_field(order, "total_products", "order")
        + amount_field(order, "total_shipping_tax_excl", "order")
        + amount_field(order, "total_wrapping_tax_excl", "order")
        - amount_field(order, "total_discounts_tax_excl", "order")
    )
    the_customer = _customer(customer)
    parsed = [_address(a, ctx) for a in addresses if isinstance(a, Mapping)]
    invoice = pick_address(int_field(order, "id_address_invoice", "order"), the_customer, parsed, "invoice")
    delivery = pick_address(int_field(order, "id_address_delivery", "order"), the_customer, parsed, "delivery")
    date_add = parse_shop_datetime(order.get("date_add"), "order.date_add", required=True)
    assert date_add is not None
    invoice_number = int_field(order, "invoice_number", "order", required=False)
    return Order(
        id=order_id,
        shop_id=int_field(order, "id_shop", "order", required=False) or 1,
        reference=_text(order, "reference", "order", required=True, limit=64),
        invoice_number=invoice_number or None,
        date_add=date_add,
        date_upd=parse_shop_datetime(order.get("date_upd"), "order.date_upd", required=False),
        status=int_field(order, "current_state", "order"),
        payment_method=_text(order, "payment", "order", limit=100),
        module=_text(order, "module", "order", limit=100),
        currency_id=int_field(order, "id_currency", "order", required=False),
        conversion_rate=parse_decimal(order.get("conversion_rate") or "1", "order.conversion_rate"),
        total_paid_incl=amount_field(order, "total_paid_tax_incl", "order"),
        total_paid_excl=amount_field(order, "total_paid_tax_excl", "order"),
        total_incl=total_incl,
        total_excl=total_excl,
        lines=lines,
        customer=the_customer,
        invoice_address=invoice,
        delivery_address=delivery,
        notes=tuple(notes),
    )
