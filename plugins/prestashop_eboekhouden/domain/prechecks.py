"""Pre-checks before an order is booked (manual section 2), each with its own reason for the bookkeeper."""

from __future__ import annotations

from decimal import Decimal

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from prestashop_eboekhouden.domain.classify import Regime
from prestashop_eboekhouden.domain.model import Order, ShopContext
from prestashop_eboekhouden.domain.money import ZERO, fmt

# ISO country → the prefix of its VAT numbers, where they differ.
VAT_PREFIX = {"GR": "EL"}
# The country a VAT number belongs to, by its prefix.
PREFIX_COUNTRY = {"EL": "GR"}
# How a bookkeeper names the VAT number of an EU country.
VAT_COUNTRY_ADJECTIVE = {
    "AT": "Austrian", "BE": "Belgian", "BG": "Bulgarian", "CY": "Cypriot", "CZ": "Czech", "DE": "German", "DK": "Danish",
    "EE": "Estonian", "ES": "Spanish", "FI": "Finnish", "FR": "French", "GR": "Greek", "HR": "Croatian", "HU": "Hungarian",
    "IE": "Irish", "IT": "Italian", "LT": "Lithuanian", "LU": "Luxembourg", "LV": "Latvian", "MT": "Maltese", "NL": "Dutch",
    "PL": "Polish", "PT": "Portuguese", "RO": "Romanian", "SE": "Swedish", "SI": "Slovenian", "SK": "Slovak",
}  # fmt: skip


def compact_vat_number(number: str) -> str:
    """A VAT number without separators, upper case (python-stdnum: 'BE-0428-759-497' → 'BE0428759497');
    Greek numbers with their EU prefix EL. A number stdnum cannot place is only stripped of separators."""
    cleaned = "".join(ch for ch in number if ch not in " -./,").upper()
    if cleaned.startswith("GR"):
        cleaned = "EL" + cleaned[2:]
    try:
        return eu_vat.compact(cleaned)
    except StdnumError:
        return cleaned


def vat_number_with_prefix(number: str, country_iso: str) -> str:
    """A VAT number with its country prefix (the shop often stores it without)."""
    compact = compact_vat_number(number)
    prefix = VAT_PREFIX.get(country_iso, country_iso)
    if compact[:2].isalpha():
        return compact
    return prefix + compact


def vat_number_country(number: str) -> str:
    """The ISO country of a prefixed VAT number (EL → GR)."""
    return PREFIX_COUNTRY.get(number[:2], number[:2])


def rounding_difference(order: Order) -> Decimal:
    """The shop's order total − (lines + shipping + wrapping − discount): 0.00 when they agree to the cent."""
    return order.total_paid_incl - sum((line.amount_incl for line in order.lines), ZERO)


def check_totals(order: Order, tolerance: Decimal = ZERO) -> list[str]:
    """The shop's order total equals lines + shipping + wrapping − discount, to the cent; or, with a tolerance, differs by
    no more than it (PrestaShop's own rounding, booked as a rounding row)."""
    difference = rounding_difference(order)
    if difference != 0 and abs(difference) > tolerance:
        lines_total = order.total_paid_incl - difference
        return [f"Order total {fmt(order.total_paid_incl)} ≠ lines + shipping + wrapping − discount {fmt(lines_total)}"]
    return []


def check_currency(order: Order, ctx: ShopContext) -> list[str]:
    """Only orders in the shop's own currency (euro) are booked."""
    currency = ctx.currencies.get(order.currency_id)
    if currency and currency.upper() != "EUR":
        return [f"Order is in {currency.upper()}, not EUR: book it by hand"]
    if order.conversion_rate != 1:
        return [f"Order is in another currency (conversion rate {order.conversion_rate.normalize()}): book it by hand"]
    return []


def icp_vat_number(order: Order) -> str | None:
    """The VAT number an ICP order is booked under, compacted and prefixed (a bare number is taken as one of the
    delivery country); None when the customer's addresses have none. What VIES is asked about."""
    raw = order.invoice_address.vat_number or order.delivery_address.vat_number
    return vat_number_with_prefix(raw, order.delivery_country) if raw else None


def check_icp_vat_number(order: Order) -> list[str]:
    """An ICP order needs a valid VAT number of the delivery country (not the shop's own, not a third one)."""
    address = order.invoice_address
    raw = address.vat_number or order.delivery_address.vat_number
    if not raw:
        return [f"ICP order to {order.delivery_country} without a VAT number on the customer's address"]
    country = order.delivery_country
    number = icp_vat_number(order) or raw
    number_country = vat_number_country(number)
    if number_country != country and number_country in VAT_COUNTRY_ADJECTIVE:
        wanted = VAT_COUNTRY_ADJECTIVE.get(country, country)
        return [f"VAT number {number} is {VAT_COUNTRY_ADJECTIVE[number_country]}; an ICP delivery to {country} needs a {wanted} VAT number"]
    if not eu_vat.is_valid(number):
        return [f"ICP order: VAT number {raw} is not a valid EU VAT number"]
    return []


def check_international_vat(order: Order) -> list[str]:
    """An order delivered outside the EU carries no VAT on any line."""
    problems = []
    for number, line in enumerate(order.lines, start=1):
        if line.vat_amount != 0 or (line.vat_rate != 0 and line.amount_incl != 0):
            label = "shipping" if line.kind == "shipping" else f"line {number}"
            problems.append(f"International order ({order.delivery_country}) with VAT {line.vat_rate.normalize():f}% on {label}")
    return problems[:3]


def precheck(order: Order, regime: Regime, ctx: ShopContext, rounding_tolerance: Decimal = ZERO) -> list[str]:
    """All reasons this order cannot be booked as it is (empty when it passes)."""
    problems = [*check_currency(order, ctx), *check_totals(order, rounding_tolerance)]
    if regime is Regime.ICP:
        problems += check_icp_vat_number(order)
    if regime is Regime.INTERNATIONAL:
        problems += check_international_vat(order)
    return problems
