"""The order as the integration understands it: normalized from the webservice, amounts in Decimal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

LineKind = Literal["product", "shipping", "surcharge", "discount"]


@dataclass(frozen=True)
class Address:
    """A customer address; country as ISO code."""

    id: int
    firstname: str
    lastname: str
    company: str
    vat_number: str
    address1: str
    address2: str
    postcode: str
    city: str
    country_iso: str
    phone: str
    deleted: bool = False


@dataclass(frozen=True)
class Customer:
    """The shop's customer account."""

    id: int
    email: str
    firstname: str
    lastname: str
    company: str


@dataclass(frozen=True)
class Line:
    """One line of the sale: a product, shipping, a surcharge (wrapping) or a discount (negative)."""

    kind: LineKind
    description: str
    sku: str
    quantity: Decimal
    vat_rate: Decimal
    amount_incl: Decimal
    amount_excl: Decimal

    @property
    def vat_amount(self) -> Decimal:
        """VAT in this line, as the shop computed it."""
        return self.amount_incl - self.amount_excl


@dataclass(frozen=True)
class OrderState:
    """A PrestaShop order state (status)."""

    id: int
    name: str
    paid: bool = False


@dataclass(frozen=True)
class ShopContext:
    """What the shop tells once per run: countries, tax rates, states, the shop's own country."""

    shop_country: str
    countries: dict[int, str] = field(default_factory=dict)
    taxes: dict[int, Decimal] = field(default_factory=dict)
    states: dict[int, OrderState] = field(default_factory=dict)
    currencies: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Order:
    """A normalized PrestaShop order."""

    id: int
    shop_id: int
    reference: str
    invoice_number: int | None
    date_add: dt.datetime
    date_upd: dt.datetime | None
    status: int
    payment_method: str
    module: str
    currency_id: int
    conversion_rate: Decimal
    total_paid_incl: Decimal
    total_paid_excl: Decimal
    total_incl: Decimal
    total_excl: Decimal
    lines: tuple[Line, ...]
    customer: Customer
    invoice_address: Address
    delivery_address: Address
    notes: tuple[str, ...] = ()  # what the task log should say about this order (e.g. how a discount was split)

    @property
    def order_date(self) -> dt.date:
        """The order date (the booking date)."""
        return self.date_add.date()

    @property
    def delivery_country(self) -> str:
        """ISO code of the delivery address's country."""
        return self.delivery_address.country_iso

    def lines_of(self, *kinds: LineKind) -> tuple[Line, ...]:
        """The lines of the given kinds, in order."""
        return tuple(line for line in self.lines if line.kind in kinds)
