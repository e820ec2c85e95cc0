"""The emulated shop's reference data: countries, taxes, order states, currencies, customer groups, payment modules and settings.

Ids follow a default PrestaShop install (countries: 1 DE, 2 AT, 3 BE, 8 FR, 13 NL, 17 GB, 19 CH, 21 US, ...; groups:
1 Visitor, 2 Guest, 3 Customer, as ``install-dev/data/xml/group.xml`` makes them, and this shop's own 4 Business).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from sandbox.money import ps_rate

SHOP_TIMEZONE = "Europe/Amsterdam"
UNSET_DATE = "0000-00-00 00:00:00"
LANGUAGE_ID = "1"
EUR_ID = "1"


class Country(NamedTuple):
    """A country row."""

    id: int
    iso: str
    name: str
    zone: int
    eu: bool


class Tax(NamedTuple):
    """A tax row (the rate is a percentage)."""

    id: int
    rate: Decimal
    name: str
    active: bool = True


class Group(NamedTuple):
    """A customer group: how its customers see prices (Group::PRICE_DISPLAY_METHOD_TAX_INCL 0, _TAX_EXCL 1)."""

    id: int
    name: str
    price_display_method: int


class OrderState(NamedTuple):
    """An order state row with PrestaShop's flags."""

    id: int
    name: str
    paid: bool
    shipped: bool
    color: str
    template: str


COUNTRIES = (
    Country(1, "DE", "Germany", 1, True),
    Country(2, "AT", "Austria", 1, True),
    Country(3, "BE", "Belgium", 1, True),
    Country(4, "CA", "Canada", 2, False),
    Country(6, "ES", "Spain", 1, True),
    Country(7, "FI", "Finland", 1, True),
    Country(8, "FR", "France", 1, True),
    Country(10, "IT", "Italy", 1, True),
    Country(12, "LU", "Luxemburg", 1, True),
    Country(13, "NL", "Netherlands", 1, True),
    Country(14, "PL", "Poland", 1, True),
    Country(15, "PT", "Portugal", 1, True),
    Country(17, "GB", "United Kingdom", 7, False),
    Country(18, "SE", "Sweden", 1, True),
    Country(19, "CH", "Switzerland", 7, False),
    Country(20, "DK", "Denmark", 1, True),
    Country(21, "US", "United States", 2, False),
)
COUNTRY_IDS = {country.iso: country.id for country in COUNTRIES}

TAXES = (
    Tax(1, Decimal("21"), "BTW NL 21%"),
    Tax(2, Decimal("9"), "BTW NL 9%"),
    Tax(3, Decimal("0"), "BTW NL 0%"),
    Tax(4, Decimal("19"), "USt. DE 19%"),
    Tax(5, Decimal("7"), "USt. DE 7%"),
    Tax(6, Decimal("20"), "TVA FR 20%"),
    Tax(7, Decimal("5.5"), "TVA FR 5.5%"),
    Tax(8, Decimal("21"), "TVA BE 21%"),
    Tax(9, Decimal("6"), "TVA BE 6%", active=False),
)

# PrestaShop's three default groups show prices with tax (PS_TAX_INC); the shop added a group for business customers
# that shows them without (PS_TAX_EXC), which makes the back office refund (and write credit slips) without tax.
GROUPS = (
    Group(1, "Visitor", 0),
    Group(2, "Guest", 0),
    Group(3, "Customer", 0),
    Group(4, "Business", 1),
)
CUSTOMER_GROUP = 3  # PS_CUSTOMER_GROUP: a registered customer's default group
BUSINESS_GROUP = 4
PRICE_DISPLAY_TAX_INCL = 0  # PS_TAX_INC

ORDER_STATES = (
    OrderState(1, "Awaiting check payment", False, False, "#34209E", "cheque"),
    OrderState(2, "Payment accepted", True, False, "#3498D8", "payment"),
    OrderState(3, "Processing in progress", True, False, "#3498D8", "preparation"),
    OrderState(4, "Shipped", True, True, "#01B887", "shipped"),
    OrderState(5, "Delivered", True, True, "#01B887", ""),
    OrderState(6, "Canceled", False, False, "#2C3E50", "order_canceled"),
    OrderState(7, "Refunded", False, False, "#ED2B2B", "refund"),
    OrderState(8, "Payment error", False, False, "#E74C3C", "payment_error"),
    OrderState(9, "On backorder (not paid)", False, False, "#34209E", "outofstock"),
    OrderState(10, "Awaiting bank wire payment", False, False, "#34209E", "bankwire"),
    OrderState(11, "Remote payment accepted", True, False, "#3498D8", "payment"),
    OrderState(12, "On backorder (paid)", True, False, "#3498D8", "outofstock"),
)
PAID_STATES = frozenset(state.id for state in ORDER_STATES if state.paid)

# Payment method as the shop shows it → the payment module that made the order.
PAYMENT_MODULES = {"Bank wire": "ps_wirepayment", "iDEAL": "mollie", "Credit card": "stripe_official", "Check": "ps_checkpayment"}

CONFIGURATION = (
    ("PS_COUNTRY_DEFAULT", "13"),
    ("PS_CURRENCY_DEFAULT", EUR_ID),
    ("PS_LANG_DEFAULT", LANGUAGE_ID),
    ("PS_TIMEZONE", SHOP_TIMEZONE),
    ("PS_INVOICE_PREFIX", "#IN"),
    ("PS_DELIVERY_PREFIX", "#DE"),
    ("PS_SHOP_NAME", "Sandbox Theehuis"),
    ("PS_ROUND_TYPE", "2"),  # install-dev/data/xml/configuration.xml: 2 = Order::ROUND_LINE (1 ROUND_ITEM, 3 ROUND_TOTAL)
    ("PS_PRICE_ROUND_MODE", "2"),
    ("PS_TAX", "1"),
    ("PS_UNIDENTIFIED_GROUP", "1"),
    ("PS_GUEST_GROUP", "2"),
    ("PS_CUSTOMER_GROUP", str(CUSTOMER_GROUP)),
)


def _language(value: str) -> list[dict[str, str]]:
    """A multi-language field with one language."""
    return [{"id": LANGUAGE_ID, "value": value}]


def _flag(value: bool) -> str:
    """PrestaShop's '0'/'1'."""
    return "1" if value else "0"


def country_records() -> list[dict[str, Any]]:
    """The countries resource."""
    return [
        {
            "id": c.id,
            "id_zone": str(c.zone),
            "id_currency": "0",
            "call_prefix": "",
            "iso_code": c.iso,
            "active": "1",
            "contains_states": "0",
            "need_identification_number": "0",
            "need_zip_code": "1",
            "zip_code_format": "",
            "display_tax_label": "1",
            "name": _language(c.name),
        }
        for c in COUNTRIES
    ]


def tax_records() -> list[dict[str, Any]]:
    """The taxes resource."""
    return [{"id": t.id, "rate": ps_rate(t.rate), "active": _flag(t.active), "deleted": "0", "name": _language(t.name)} for t in TAXES]


def order_state_records() -> list[dict[str, Any]]:
    """The order_states resource."""
    return [
        {
            "id": s.id,
            "unremovable": "1",
            "delivery": _flag(s.shipped),
            "hidden": "0",
            "send_email": _flag(bool(s.template)),
            "module_name": "",
            "invoice": _flag(s.paid),
            "color": s.color,
            "logable": _flag(s.paid),
            "shipped": _flag(s.shipped),
            "paid": _flag(s.paid),
            "pdf_delivery": _flag(s.shipped),
            "pdf_invoice": _flag(s.paid),
            "deleted": "0",
            "name": _language(s.name),
            "template": _language(s.template),
        }
        for s in ORDER_STATES
    ]


def group_records(date: str) -> list[dict[str, Any]]:
    """The groups resource (Group's fields; ``reduction`` is a decimal(5,2) column)."""
    return [
        {
            "id": g.id,
            "reduction": "0.00",
            "price_display_method": str(g.price_display_method),
            "show_prices": "1",
            "date_add": date,
            "date_upd": date,
            "name": _language(g.name),
        }
        for g in GROUPS
    ]


def currency_records() -> list[dict[str, Any]]:
    """The currencies resource: the euro only."""
    return [
        {
            "id": int(EUR_ID),
            "name": "Euro",
            "iso_code": "EUR",
            "numeric_iso_code": "978",
            "precision": "2",
            "conversion_rate": "1.000000",
            "deleted": "0",
            "active": "1",
        }
    ]


def configuration_records(date: str) -> list[dict[str, Any]]:
    """The configurations resource."""
    return [
        {"id": index, "value": value, "name": name, "id_shop_group": "", "id_shop": "", "date_add": date, "date_upd": date}
        for index, (name, value) in enumerate(CONFIGURATION, start=1)
    ]
