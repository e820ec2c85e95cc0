"""The emulated PrestaShop's data: resources as the webservice shows them, order creation the way PrestaShop computes it.

An order spec (``ShopState.create_order``, ``POST /__sandbox__/orders``) is a dict:

- ``customer``: an existing id, ``{"id": N}``, or new fields ``{"email", "firstname", "lastname", "company", "group"}``
  (``group``: the default group, 3 Customer unless told; 4 Business shows prices without VAT);
- ``address`` / ``delivery_address``: an id of the customer's, ``{"id": N}``, a country code (``"DE"``), or new
  fields ``{"country": "NL", "company", "vat_number", "address1", "address2", "postcode", "city", "phone",
  "firstname", "lastname"}`` (default: the customer's first live address; delivery defaults to the invoice address);
- ``lines``: ``[{"name", "sku", "quantity", "tax_rate", "unit_price_incl" or "unit_price_excl", "product_id"?,
  "product_reference"?}]`` (``product_reference``: the product's reference in ``products`` when it differs from the
  line's SKU, e.g. given to the product after the order; each line's product is a ``products`` record);
- ``shipping_incl`` + ``shipping_rate``, ``wrapping_incl`` + ``wrapping_rate``, ``discount_incl`` (+ ``discount_excl``);
- ``vat_exempt``: the customer pays no VAT (ICP, export): every line, shipping and wrapping at 0%, no tax association;
- ``state``, ``payment`` (+ ``module``), ``reference``, ``date_add``, ``date_upd``, ``invoice_number``, ``invoice_date``,
  ``id_shop``, ``id_cart``;
- ``total_adjustment``: added to total_paid* (a deliberate mismatch with the sum of the parts);
- ``payments``: ``[{"amount", "payment_method", "transaction_id", "date_add"}]``; absent → one full payment in a paid state;
- ``tags``: labels kept in :attr:`ShopState.tags` (not shown by the webservice).

A credit slip spec (``ShopState.create_slip``, ``POST /__sandbox__/order_slips``) is what a merchant enters in the
back office's refund form; the slip is written the way PrestaShop 1.7.7+ writes it (``OrderRefundCalculator::
computeOrderRefund``, then ``OrderSlipCreator::createOrderSlip``, then ``OrderRefundUpdater`` on the order's lines):

- ``order``: the order's id;
- ``lines``: ``[{"detail": id_order_detail, "quantity": q, "amount": a}]``; ``quantity`` defaults to what is left to
  refund (ordered − refunded − returned); ``amount`` is the refund the merchant typed (a partial refund), in the
  customer's display unit (with VAT for a group showing prices with tax, without for one showing them without), capped at
  q × the unit price; without it the line's q × unit price (a standard refund or a return);
- ``shipping``: ``true`` (what is left of the order's shipping) or an amount typed in the display unit; capped at the
  order's shipping (with VAT, or without for a tax-excluded customer) minus ``total_shipping_tax_incl`` of the order's
  earlier slips (PrestaShop subtracts the earlier slips' amount with VAT even from a shipping cost without);
- ``voucher_refund``: 0 (default) the products' prices, 1 the products' prices minus the order's ``total_discounts``, 2 a
  specific amount ``chosen_amount`` (VoucherRefundType);
- ``date_add`` (default now), ``tags`` (kept in :attr:`ShopState.slip_tags`);
- ``round_type``: the shop's PS_ROUND_TYPE when the slip was made (default: the ``configurations`` record now);
- ``total_adjustment``: NOT something PrestaShop writes: added to the slip's ``total_products_tax_incl`` (and to
  ``amount`` where that is the products' total with VAT), a hand-edited slip to test its refusal;
- ``legacy_partial: true``: the shape of ``OrderSlip::createPartialOrderSlip`` (PrestaShop 1.5/1.6's partial refund),
  never written by 1.7.7+: ``partial`` 1, ``shipping_cost`` 0 and every total 0; ``amount`` = the lines' refunds as typed
  (default q × unit price with VAT), ``shipping_cost_amount`` = the shipping refund with VAT; per line
  ``amount_tax_incl`` = the refund (capped at the line's total with VAT minus what earlier slips gave back) and
  ``amount_tax_excl`` = that / (1 + rate) unrounded; the line's ``product_quantity_refunded`` becomes q when larger.

The slip (PrestaShop's rules; money rounded half up to the cent, the euro's precision; stored to six decimals):

- The customer's default group decides: ``price_display_method`` 0 (with VAT; PrestaShop's groups 1-3) refunds
  amounts with VAT, the slip made with ``add_tax`` false; 1 (group 4, business) refunds amounts without VAT, ``add_tax``
  true. Each line's refund is ``price`` × q with ``price`` = refund / q.
- ``add_tax`` false: ``total_products_tax_incl`` = the lines' refunds unrounded; per line ``amount_tax_incl`` =
  round(refund) and ``amount_tax_excl`` by PS_ROUND_TYPE: 1 item round(price / (1 + rate)) × q, 2 line and 3 total
  round(price × q / (1 + rate)); ``total_products_tax_excl`` = per tax rule the lines' ``amount_tax_excl`` summed (1, 2)
  or round(the rule's refunds / (1 + rate)) (3: may be a cent off the lines' sum). ``add_tax`` true: the mirror image
  (``total_products_tax_excl`` unrounded, ``amount_tax_excl`` = round(refund), the incl amounts × (1 + rate)).
- Shipping s > 0: ``shipping_cost`` 1; with VAT ``total_shipping_tax_incl`` = s, ``_excl`` = round(s / (1 + carrier
  rate)); without, ``_excl`` = s, ``_incl`` = round(s × (1 + rate)); ``shipping_cost_amount`` = ``total_shipping_tax_incl``.
- Voucher 1 (the order has a discount): the discount with VAT comes off ``total_products_tax_excl`` (``add_tax`` false)
  or ``total_products_tax_incl`` (true). ``amount`` = the chosen amount (voucher 2), else ``total_products_tax_incl``
  (``add_tax`` false) or ``total_products_tax_excl`` (true), the voucher not deducted.
- ``order_slip_type``: 1 when a voucher was deducted; 2 for a chosen amount or whenever shipping is refunded (so 2 alone
  does not mean "amount chosen"); else 0. ``partial`` is always 0.
- The order's lines: ``product_quantity_refunded`` += q, ``total_refunded_tax_incl/excl`` += round(refund) and
  round(refund ∓ VAT) at the line's rate (not the slip line's rounding).
- Refused (ValueError), as PrestaShop refuses: a line not of the order, a quantity of 0 or over what is left, a typed
  amount ≤ 0, nothing to refund (the refund − voucher, or the chosen amount, + shipping ≤ 0).

Amounts are strings, ints or Decimals (never floats). Dates are shop-local ``YYYY-MM-DD HH:MM:SS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import string
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.appkit import RequestStats
from sandbox.money import CENT, HUNDRED, MICRO, ZERO, cents, excl_from_incl, incl_from_excl, ps_amount, ps_rate, to_decimal
from sandbox.shop_reference import (
    COUNTRY_IDS,
    CUSTOMER_GROUP,
    EUR_ID,
    LANGUAGE_ID,
    PAID_STATES,
    PAYMENT_MODULES,
    PRICE_DISPLAY_TAX_INCL,
    SHOP_TIMEZONE,
    UNSET_DATE,
    configuration_records,
    country_records,
    currency_records,
    group_records,
    order_state_records,
    tax_records,
)

DEFAULT_KEY = "SANDBOXPRESTASHOPKEY000000000000"  # 32 characters, like every PrestaShop webservice key
KEY_LENGTH = 32
VIEW_METHODS = frozenset({"GET", "HEAD"})  # the back office's "View" and "Fast view" permissions
RESOURCES = (
    "orders",
    "order_details",
    "order_payments",
    "customers",
    "addresses",
    "countries",
    "taxes",
    "order_states",
    "currencies",
    "configurations",
    "products",
    "order_slip",
    "groups",
)
SINGULAR = {
    "orders": "order",
    "order_details": "order_detail",
    "order_payments": "order_payment",
    "customers": "customer",
    "addresses": "address",
    "countries": "country",
    "taxes": "tax",
    "order_states": "order_state",
    "currencies": "currency",
    "configurations": "configuration",
    "products": "product",
    "order_slip": "order_slip",
    "groups": "group",
}
# Resource → the key of its list answer, where PrestaShop names it otherwise (OrderSlip's objectsNodeName).
LIST_KEYS = {"order_slip": "order_slips"}
# Fields the shop keeps but the webservice never shows.
HIDDEN_FIELDS = frozenset({"passwd", "secure_key", "reset_password_token"})
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
ADDRESS_TEXT = (
    "alias",
    "company",
    "lastname",
    "firstname",
    "vat_number",
    "address1",
    "address2",
    "postcode",
    "city",
    "phone",
    "phone_mobile",
)
ZONE = ZoneInfo(SHOP_TIMEZONE)
# Order::ROUND_ITEM, ROUND_LINE, ROUND_TOTAL (PS_ROUND_TYPE) and VoucherRefundType.
ROUND_ITEM, ROUND_LINE, ROUND_TOTAL = 1, 2, 3
VOUCHER_STANDARD, VOUCHER_EXCLUDED, VOUCHER_CHOSEN = 0, 1, 2
SLIP_KEYS = frozenset(
    (
        "order", "lines", "shipping", "voucher_refund", "chosen_amount", "date_add", "tags",  # the refund form's
        "round_type", "total_adjustment", "legacy_partial",  # the sandbox's knobs
    )
)  # fmt: skip


def shop_now() -> dt.datetime:
    """The current shop-local (Europe/Amsterdam) time, naive, to the second."""
    return dt.datetime.now(ZONE).replace(tzinfo=None, microsecond=0)


def shop_time(value: dt.datetime | str | None, default: dt.datetime) -> str:
    """A shop-local date string from a datetime (aware ones are converted) or a string; None → default."""
    if value is None:
        value = default
    if isinstance(value, str):
        dt.datetime.strptime(value, DATE_FORMAT)  # ValueError when malformed
        return value
    if value.tzinfo is not None:
        value = value.astimezone(ZONE).replace(tzinfo=None)
    return value.strftime(DATE_FORMAT)


def clone(value: Any) -> Any:
    """A copy of a record (dicts and lists copied, strings shared)."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


@dataclass(frozen=True)
class LineSpec:
    """One product line: unit prices with six decimals, totals rounded to the cent per line."""

    name: str
    sku: str
    quantity: int
    rate: Decimal
    unit_incl: Decimal
    unit_excl: Decimal
    product_id: int | None = None
    product_reference: str | None = None

    @classmethod
    def from_spec(cls, data: Mapping[str, Any], vat_exempt: bool) -> LineSpec:
        """A line from its spec; an exempt customer pays the price without VAT at 0%."""
        rate = to_decimal(data.get("tax_rate", "21"))
        if "unit_price_excl" in data:
            excl = to_decimal(data["unit_price_excl"]).quantize(MICRO)
            incl = incl_from_excl(excl, rate, MICRO)
        else:
            incl = to_decimal(data["unit_price_incl"]).quantize(MICRO)
            excl = excl_from_incl(incl, rate, MICRO)
        quantity = int(data.get("quantity", 1))
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        if vat_exempt:
            rate, incl = ZERO, excl
        product_id = int(data["product_id"]) if data.get("product_id") else None
        reference = data.get("product_reference")
        return cls(
            str(data.get("name") or "Product"), str(data.get("sku") or ""), quantity, rate, incl, excl, product_id,
            None if reference is None else str(reference),
        )

    @property
    def total_incl(self) -> Decimal:
        """Line total with VAT, rounded once."""
        return cents(self.unit_incl * self.quantity)

    @property
    def total_excl(self) -> Decimal:
        """Line total without VAT, rounded once."""
        return cents(self.unit_excl * self.quantity)


@dataclass(frozen=True)
class OrderTotals:
    """The order's amounts as PrestaShop stores them."""

    products_excl: Decimal
    products_incl: Decimal
    shipping_incl: Decimal
    shipping_excl: Decimal
    carrier_rate: Decimal
    wrapping_incl: Decimal
    wrapping_excl: Decimal
    discounts_incl: Decimal
    discounts_excl: Decimal
    paid_incl: Decimal
    paid_excl: Decimal


def _discount_excl(discount_incl: Decimal, products_incl: Decimal, products_excl: Decimal) -> Decimal:
    """A discount without VAT, in proportion to the cart's products."""
    if products_incl == 0:
        return discount_incl
    return cents(discount_incl * products_excl / products_incl)


def compute_totals(lines: list[LineSpec], spec: Mapping[str, Any], vat_exempt: bool) -> OrderTotals:
    """Products, shipping, wrapping and discount totals, and total_paid = their sum (+ total_adjustment)."""
    products_incl = sum((line.total_incl for line in lines), ZERO)
    products_excl = sum((line.total_excl for line in lines), ZERO)
    shipping_rate = ZERO if vat_exempt else to_decimal(spec.get("shipping_rate", "21"))
    wrapping_rate = ZERO if vat_exempt else to_decimal(spec.get("wrapping_rate", "21"))
    shipping_incl = cents(to_decimal(spec.get("shipping_incl", "0")))
    shipping_excl = excl_from_incl(shipping_incl, shipping_rate, CENT)
    wrapping_incl = cents(to_decimal(spec.get("wrapping_incl", "0")))
    wrapping_excl = excl_from_incl(wrapping_incl, wrapping_rate, MICRO)
    discounts_incl = cents(to_decimal(spec.get("discount_incl", "0")))
    if spec.get("discount_excl") is not None:
        discounts_excl = cents(to_decimal(spec["discount_excl"]))
    else:
        discounts_excl = _discount_excl(discounts_incl, products_incl, products_excl)
    adjustment = to_decimal(spec.get("total_adjustment", "0"))
    paid_incl = products_incl + shipping_incl + wrapping_incl - discounts_incl + adjustment
    paid_excl = cents(products_excl + shipping_excl + wrapping_excl - discounts_excl)
    return OrderTotals(
        products_excl,
        products_incl,
        shipping_incl,
        shipping_excl,
        shipping_rate,
        wrapping_incl,
        wrapping_excl,
        discounts_incl,
        discounts_excl,
        paid_incl,
        paid_excl,
    )


def _totals_fields(t: OrderTotals) -> dict[str, str]:
    """The order's amount fields as webservice strings."""
    return {
        "total_discounts": ps_amount(t.discounts_incl),
        "total_discounts_tax_incl": ps_amount(t.discounts_incl),
        "total_discounts_tax_excl": ps_amount(t.discounts_excl),
        "total_paid": ps_amount(t.paid_incl),
        "total_paid_tax_incl": ps_amount(t.paid_incl),
        "total_paid_tax_excl": ps_amount(t.paid_excl),
        "total_paid_real": ps_amount(t.paid_incl),
        "total_products": ps_amount(t.products_excl),
        "total_products_wt": ps_amount(t.products_incl),
        "total_shipping": ps_amount(t.shipping_incl),
        "total_shipping_tax_incl": ps_amount(t.shipping_incl),
        "total_shipping_tax_excl": ps_amount(t.shipping_excl),
        "carrier_tax_rate": ps_rate(t.carrier_rate),
        "total_wrapping": ps_amount(t.wrapping_incl),
        "total_wrapping_tax_incl": ps_amount(t.wrapping_incl),
        "total_wrapping_tax_excl": ps_amount(t.wrapping_excl),
    }


def _secure_key(*parts: object) -> str:
    """A stable 32-hex secret like PrestaShop's secure_key."""
    return hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()


def _checked_key(key: str) -> str:
    """A webservice key as PrestaShop's back office makes them: exactly 32 characters (ValueError otherwise)."""
    if not isinstance(key, str) or len(key) != KEY_LENGTH:
        raise ValueError(f"A PrestaShop webservice key has exactly {KEY_LENGTH} characters, not {len(key) if isinstance(key, str) else key!r}")
    return key


def _remove_taxes(amount: Decimal, rate: Decimal) -> Decimal:
    """TaxCalculator::removeTaxes, unrounded."""
    return amount * HUNDRED / (HUNDRED + rate)


def _add_taxes(amount: Decimal, rate: Decimal) -> Decimal:
    """TaxCalculator::addTaxes, unrounded."""
    return amount * (HUNDRED + rate) / HUNDRED


@dataclass(frozen=True)
class _LineRefund:
    """One refunded line: the stored order_details record, q, the refund in the display unit, its rate and tax rule."""

    detail: dict[str, Any]
    quantity: int
    amount: Decimal
    rate: Decimal
    tax_rules_group: str


@dataclass
class _SlipAmounts:
    """A slip's amounts before they are stored; ``lines`` holds (amount_tax_incl, amount_tax_excl) per refunded line."""

    products_excl: Decimal
    products_incl: Decimal
    shipping_excl: Decimal
    shipping_incl: Decimal
    amount: Decimal
    slip_type: int
    lines: list[tuple[Decimal, Decimal]]


def _slip_amounts(
    refunds: list[_LineRefund],
    shipping: Decimal,
    carrier_rate: Decimal,
    voucher: Decimal,
    chosen: bool,
    add_tax: bool,
    round_type: int,
    rule_rate: Callable[[str], Decimal],
) -> _SlipAmounts:
    """OrderSlipCreator::createOrderSlip's arithmetic. ``add_tax``: the refunds are without VAT (a tax-excluded group)."""
    convert = _add_taxes if add_tax else _remove_taxes
    refunded = ZERO  # the display unit's products total, unrounded
    per_rule: dict[str, Decimal] = {}
    lines = []
    for refund in refunds:
        price = refund.amount / refund.quantity
        refunded += refund.amount
        if round_type == ROUND_ITEM:
            other = cents(convert(price, refund.rate)) * refund.quantity
        else:
            other = cents(convert(price, refund.rate) * refund.quantity)
        summed = refund.amount if round_type == ROUND_TOTAL else other
        per_rule[refund.tax_rules_group] = per_rule.get(refund.tax_rules_group, ZERO) + summed
        same = cents(refund.amount)
        lines.append((other, same) if add_tax else (same, other))
    if round_type == ROUND_TOTAL:
        converted = sum((cents(convert(total, rule_rate(rule))) for rule, total in per_rule.items()), ZERO)
    else:
        converted = sum(per_rule.values(), ZERO)
    deducted = voucher if voucher and not chosen else ZERO
    if shipping > 0:
        shipping_other = cents(convert(shipping, carrier_rate))
        shipping_excl, shipping_incl = (shipping, shipping_other) if add_tax else (shipping_other, shipping)
    else:
        shipping_excl = shipping_incl = ZERO
    if add_tax:
        products_excl, products_incl = refunded, converted - deducted
        amount = voucher if chosen else products_excl
    else:
        products_excl, products_incl = converted - deducted, refunded
        amount = voucher if chosen else products_incl
    slip_type = VOUCHER_EXCLUDED if deducted else VOUCHER_STANDARD
    if (voucher and chosen) or shipping_incl > 0:
        slip_type = VOUCHER_CHOSEN
    return _SlipAmounts(products_excl, products_incl, shipping_excl, shipping_incl, amount, slip_type, lines)


def _slip_detail(slip_id: int, detail_id: int, quantity: int, incl: Decimal, excl: Decimal) -> dict[str, str]:
    """One order_slip_details row as getWsOrderSlipDetails selects it ("id_order_slip as id")."""
    return {
        "id": str(slip_id),
        "id_order_detail": str(detail_id),
        "product_quantity": str(quantity),
        "amount_tax_excl": ps_amount(excl),
        "amount_tax_incl": ps_amount(incl),
    }


class ShopState:
    """Everything the emulated shop holds, its webservice keys and request counts; thread-safe."""

    def __init__(self, key: str = DEFAULT_KEY, clock: Callable[[], dt.datetime] = shop_now) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.stats = RequestStats()
        # key → resource → the HTTP methods it may use (PrestaShop's per-key permissions); None: every resource, read only
        self.keys: dict[str, dict[str, frozenset[str]] | None] = {_checked_key(key): None}
        self.strip_authorization = False  # a php-fpm/CGI host that drops the Authorization header (knob)
        self.tags: dict[int, frozenset[str]] = {}
        self.slip_tags: dict[int, frozenset[str]] = {}
        self._tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in RESOURCES}
        # fields a raw edit took out of a record: still fields of the resource (PrestaShop's definition, not a row, says
        # what `display` may name), so a listing that names them answers the record without them instead of code 35
        self._removed_fields: dict[str, set[str]] = {name: set() for name in RESOURCES}
        self._products: dict[str, int] = {}
        self._load_reference_data()

    def _load_reference_data(self) -> None:
        """Countries, taxes, order states, currencies and settings of a default install."""
        install_date = "2024-01-15 10:00:00"
        for resource, records in (
            ("countries", country_records()),
            ("taxes", tax_records()),
            ("order_states", order_state_records()),
            ("currencies", currency_records()),
            ("configurations", configuration_records(install_date)),
            ("groups", group_records(install_date)),
        ):
            self._tables[resource] = {record["id"]: record for record in records}

    # ---- keys --------------------------------------------------------------------------------

    def set_key(self, key: str, resources: Iterable[str] | Mapping[str, Iterable[str]] | None = None) -> None:
        """Add or change a webservice key; ``resources`` limits what it may use (None: view everything): names it may
        view (GET and HEAD), or resource → the methods ticked for it (``{"orders": ["PUT"]}``: listed, but no GET)."""
        _checked_key(key)
        with self.lock:
            if resources is None:
                self.keys[key] = None
            elif isinstance(resources, Mapping):
                self.keys[key] = {name: frozenset(str(m).upper() for m in methods) for name, methods in resources.items()}
            else:
                self.keys[key] = {name: VIEW_METHODS for name in resources}

    def remove_key(self, key: str) -> None:
        """Delete a webservice key."""
        with self.lock:
            self.keys.pop(key, None)

    def permission(self, key: str, resource: str) -> bool | None:
        """Whether the key has the resource at all (with any method); None when the key does not exist."""
        with self.lock:
            if key not in self.keys:
                return None
            allowed = self.keys[key]
            return allowed is None or resource in allowed

    def methods(self, key: str, resource: str) -> frozenset[str]:
        """The HTTP methods the key may use on the resource (none for an unknown key or resource)."""
        with self.lock:
            if key not in self.keys:
                return frozenset()
            allowed = self.keys[key]
            return VIEW_METHODS if allowed is None else allowed.get(resource, frozenset())

    # ---- settings ------------------------------------------------------------------------------

    def configuration(self, name: str) -> str | None:
        """A setting's value (``configurations`` by name), or None."""
        with self.lock:
            return next((c["value"] for c in self._tables["configurations"].values() if c["name"] == name), None)

    def set_configuration(self, name: str, value: Any, date_upd: str | dt.datetime | None = None) -> dict[str, Any]:
        """Change a setting (KeyError when the shop has no such setting); PS_ROUND_TYPE must be 1, 2 or 3."""
        text = str(value)
        if name == "PS_ROUND_TYPE" and text not in ("1", "2", "3"):
            raise ValueError("PS_ROUND_TYPE is 1 (round each item), 2 (each line) or 3 (the total)")
        with self.lock:
            record = next((c for c in self._tables["configurations"].values() if c["name"] == name), None)
            if record is None:
                raise KeyError(f"no configuration {name}")
            record["value"] = text
            record["date_upd"] = shop_time(date_upd, self.clock())
            return clone(record)

    # ---- raw edits (bad-input tests) -----------------------------------------------------------

    def patch_raw(self, resource: str, item_id: int, **fields: Any) -> None:
        """Set fields of any record as is, bypassing the shop's arithmetic; a value of `...` removes the field."""
        with self.lock:
            record = self._tables[resource][int(item_id)]
            for key, value in fields.items():
                if value is ...:
                    if record.pop(key, None) is not None:
                        self._removed_fields[resource].add(key)
                else:
                    record[key] = value

    def insert_raw(self, resource: str, record: dict[str, Any]) -> None:
        """Add a record exactly as given (e.g. a duplicated order_details row); its id must be new."""
        with self.lock:
            table = self._tables[resource]
            item_id = int(record["id"])
            if item_id in table:
                raise ValueError(f"{resource} {item_id} exists")
            table[item_id] = clone(record)

    # ---- reading -----------------------------------------------------------------------------

    def items(self, resource: str) -> list[dict[str, Any]]:
        """Copies of a resource's records as the webservice shows them, by id."""
        with self.lock:
            table = self._tables[resource]
            return [self._visible(table[item_id]) for item_id in sorted(table)]

    def select(self, resource: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Copies of the records that pass `keep` (tested on the stored records, so only matches are copied)."""
        with self.lock:
            table = self._tables[resource]
            return [self._visible(table[item_id]) for item_id in sorted(table) if keep(table[item_id])]

    def get(self, resource: str, item_id: int) -> dict[str, Any] | None:
        """A copy of one record as the webservice shows it, or None."""
        with self.lock:
            record = self._tables[resource].get(item_id)
            return self._visible(record) if record is not None else None

    def fields(self, resource: str) -> frozenset[str] | None:
        """The fields a resource shows (None when it has no records to tell)."""
        with self.lock:
            table = self._tables[resource]
            if not table:
                return None
            return (frozenset(next(iter(table.values()))) | self._removed_fields[resource]) - HIDDEN_FIELDS

    def order(self, order_id: int) -> dict[str, Any]:
        """A copy of one order (KeyError when unknown)."""
        record = self.get("orders", order_id)
        if record is None:
            raise KeyError(f"no order {order_id}")
        return record

    def order_details(self, order_id: int) -> list[dict[str, Any]]:
        """Copies of an order's lines."""
        return [d for d in self.items("order_details") if d["id_order"] == str(order_id)]

    def payments(self, reference: str) -> list[dict[str, Any]]:
        """Copies of the payments registered on an order reference."""
        return [p for p in self.items("order_payments") if p["order_reference"] == reference]

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        """The first customer with this e-mail address (case-insensitive)."""
        wanted = email.strip().casefold()
        return next((c for c in self.items("customers") if c["email"].strip().casefold() == wanted), None)

    def tag(self, order_id: int, *tags: str) -> None:
        """Add labels to an order (kept beside the shop, never shown by the webservice)."""
        with self.lock:
            self.tags[order_id] = self.tags.get(order_id, frozenset()) | frozenset(tags)

    def tagged(self, tag: str) -> list[int]:
        """Ids of the orders carrying a tag."""
        with self.lock:
            return sorted(order_id for order_id, tags in self.tags.items() if tag in tags)

    def reset_stats(self) -> None:
        """Forget the request counts."""
        self.stats.reset()

    # ---- customers and addresses ---------------------------------------------------------------

    def _next_id(self, resource: str) -> int:
        """The next free id of a resource."""
        return max(self._tables[resource], default=0) + 1

    def add_customer(
        self,
        email: str,
        firstname: str,
        lastname: str,
        company: str = "",
        date_add: str | dt.datetime | None = None,
        group: int = CUSTOMER_GROUP,
    ) -> dict[str, Any]:
        """Register a customer in a default group (3 Customer; 4 Business sees prices without VAT)."""
        with self.lock:
            self._check_group(group)
            customer_id = self._next_id("customers")
            when = shop_time(date_add, self.clock())
            record = {
                "id": customer_id,
                "id_default_group": str(int(group)),
                "id_lang": LANGUAGE_ID,
                "id_gender": "0",
                "lastname": lastname,
                "firstname": firstname,
                "email": email,
                "company": company,
                "siret": "",
                "birthday": "0000-00-00",
                "newsletter": "0",
                "optin": "0",
                "active": "1",
                "is_guest": "0",
                "deleted": "0",
                "id_shop": "1",
                "id_shop_group": "1",
                "passwd": "$2y$10$" + _secure_key("passwd", customer_id)[:53],
                "secure_key": _secure_key("customer", customer_id),
                "date_add": when,
                "date_upd": when,
            }
            self._tables["customers"][customer_id] = record
            return self._visible(record)

    def _check_group(self, group: int) -> None:
        """ValueError unless the group exists."""
        if int(group) not in self._tables["groups"]:
            raise ValueError(f"group {group} does not exist")

    def set_customer_group(self, customer_id: int, group: int, date_upd: str | dt.datetime | None = None) -> dict[str, Any]:
        """Move a customer to another default group (as the back office does; date_upd moves)."""
        with self.lock:
            customer = self._tables["customers"].get(int(customer_id))
            if customer is None:
                raise KeyError(f"no customer {customer_id}")
            self._check_group(group)
            customer["id_default_group"] = str(int(group))
            customer["date_upd"] = shop_time(date_upd, self.clock())
            return self._visible(customer)

    def add_address(
        self, customer_id: int, country: str, *, date_add: str | dt.datetime | None = None, deleted: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """Add an address to a customer (text fields as in ADDRESS_TEXT); names default to the customer's."""
        unknown = sorted(set(fields) - set(ADDRESS_TEXT))
        if unknown:
            raise ValueError(f"unknown address field(s): {', '.join(unknown)}")
        with self.lock:
            customer = self._tables["customers"].get(int(customer_id))
            if customer is None:
                raise ValueError(f"customer {customer_id} does not exist")
            if country.upper() not in COUNTRY_IDS:
                raise ValueError(f"unknown country {country!r}")
            defaults = {
                "alias": "My address",
                "company": customer["company"],
                "lastname": customer["lastname"],
                "firstname": customer["firstname"],
            }
            text = {name: str(fields.get(name, defaults.get(name, ""))) for name in ADDRESS_TEXT}
            address_id = self._next_id("addresses")
            when = shop_time(date_add, self.clock())
            record = {
                "id": address_id,
                "id_customer": str(customer["id"]),
                "id_manufacturer": "0",
                "id_supplier": "0",
                "id_warehouse": "0",
                "id_country": str(COUNTRY_IDS[country.upper()]),
                "id_state": "0",
                **text,
                "other": "",
                "dni": "",
                "deleted": "1" if deleted else "0",
                "date_add": when,
                "date_upd": when,
            }
            self._tables["addresses"][address_id] = record
            return clone(record)

    def delete_address(self, address_id: int) -> None:
        """Mark an address deleted (PrestaShop keeps it: old orders point at it)."""
        with self.lock:
            self._tables["addresses"][int(address_id)]["deleted"] = "1"

    @staticmethod
    def _visible(record: dict[str, Any]) -> dict[str, Any]:
        """A copy without the fields the webservice never shows."""
        return {key: clone(value) for key, value in record.items() if key not in HIDDEN_FIELDS}

    def _resolve_customer(self, ref: Any) -> dict[str, Any]:
        """The order's customer: an id, {"id": N}, or the fields of a new one."""
        if isinstance(ref, Mapping) and "id" not in ref:
            return self.add_customer(
                str(ref["email"]), str(ref.get("firstname", "")), str(ref.get("lastname", "")), str(ref.get("company", "")),
                group=int(ref.get("group", CUSTOMER_GROUP)),
            )
        customer_id = int(ref["id"] if isinstance(ref, Mapping) else ref)
        if customer_id not in self._tables["customers"]:
            raise ValueError(f"customer {customer_id} does not exist")
        return self._tables["customers"][customer_id]

    def _resolve_address(self, ref: Any, customer: dict[str, Any]) -> dict[str, Any]:
        """The order's address: an id of the customer's, {"id": N}, new fields, a country code, or the customer's first live one."""
        if isinstance(ref, str) and ref.isalpha():
            return self.add_address(customer["id"], ref)
        if isinstance(ref, Mapping) and "id" not in ref:
            fields: dict[str, Any] = {key: str(value) for key, value in ref.items() if key != "country"}
            return self.add_address(customer["id"], str(ref.get("country", "NL")), **fields)
        if ref is None:
            own = [a for a in self._tables["addresses"].values() if a["id_customer"] == str(customer["id"]) and a["deleted"] == "0"]
            if not own:
                raise ValueError(f"customer {customer['id']} has no address; give one")
            return own[0]
        address_id = int(ref["id"] if isinstance(ref, Mapping) else ref)
        address = self._tables["addresses"].get(address_id)
        if address is None or address["id_customer"] != str(customer["id"]):
            raise ValueError(f"address {address_id} is not an address of customer {customer['id']}")
        return address

    # ---- orders ------------------------------------------------------------------------------

    def _tax_id(self, rate: Decimal) -> int:
        """The id of an active tax with this rate (a new tax row when the shop has none)."""
        for tax in self._tables["taxes"].values():
            if tax["active"] == "1" and Decimal(tax["rate"]) == rate:
                return int(tax["id"])
        tax_id = self._next_id("taxes")
        self._tables["taxes"][tax_id] = {
            "id": tax_id,
            "rate": ps_rate(rate),
            "active": "1",
            "deleted": "0",
            "name": [{"id": LANGUAGE_ID, "value": f"Tax {rate}%"}],
        }
        return tax_id

    def _product_id(self, line: LineSpec) -> int:
        """A stable product id per SKU; the product is in ``products`` (its reference: the SKU, or the line's
        product_reference)."""
        product_id = line.product_id or self._products.setdefault(line.sku or line.name, len(self._products) + 1)
        if product_id not in self._tables["products"]:
            reference = line.sku if line.product_reference is None else line.product_reference
            self._tables["products"][product_id] = {"id": product_id, "reference": reference, "name": line.name, "active": "1"}
        return product_id

    def _detail(self, detail_id: int, order_id: int, line: LineSpec, vat_exempt: bool) -> dict[str, Any]:
        """An order_details record for one line."""
        taxes = [] if vat_exempt else [{"id": str(self._tax_id(line.rate))}]
        unit_excl = ps_amount(line.unit_excl)
        return {
            "id": detail_id,
            "id_order": str(order_id),
            "id_order_invoice": "0",
            "id_warehouse": "0",
            "id_shop": "1",
            "product_id": str(self._product_id(line)),
            "product_attribute_id": "0",
            "id_customization": "0",
            "product_name": line.name,
            "product_quantity": str(line.quantity),
            "product_quantity_in_stock": str(line.quantity),
            "product_quantity_refunded": "0",
            "product_quantity_return": "0",
            "product_quantity_reinjected": "0",
            "product_price": unit_excl,
            "reduction_percent": "0.00",
            "reduction_amount": ps_amount(ZERO),
            "reduction_amount_tax_incl": ps_amount(ZERO),
            "reduction_amount_tax_excl": ps_amount(ZERO),
            "product_quantity_discount": ps_amount(ZERO),
            "product_ean13": "",
            "product_isbn": "",
            "product_upc": "",
            "product_mpn": "",
            "product_reference": line.sku,
            "product_supplier_reference": "",
            "product_weight": ps_amount(ZERO),
            "id_tax_rules_group": taxes[0]["id"] if taxes else "0",
            "tax_computation_method": "0",
            "ecotax": ps_amount(ZERO),
            "ecotax_tax_rate": ps_rate(ZERO),
            "unit_price_tax_incl": ps_amount(line.unit_incl),
            "unit_price_tax_excl": unit_excl,
            "total_price_tax_incl": ps_amount(line.total_incl),
            "total_price_tax_excl": ps_amount(line.total_excl),
            "total_shipping_price_tax_excl": ps_amount(ZERO),
            "total_shipping_price_tax_incl": ps_amount(ZERO),
            "purchase_supplier_price": ps_amount(ZERO),
            "original_product_price": unit_excl,
            "original_wholesale_price": ps_amount(ZERO),
            "total_refunded_tax_excl": ps_amount(ZERO),
            "total_refunded_tax_incl": ps_amount(ZERO),
            "associations": {"taxes": taxes},
        }

    @staticmethod
    def _order_row(detail: dict[str, Any]) -> dict[str, Any]:
        """The order's own view of a line (associations.order_rows)."""
        keys = (
            "product_id",
            "product_attribute_id",
            "product_quantity",
            "product_name",
            "product_reference",
            "product_ean13",
            "product_isbn",
            "product_upc",
        )
        row = {"id": str(detail["id"]), **{key: detail[key] for key in keys}}
        row.update(
            product_price=detail["product_price"],
            id_customization="0",
            unit_price_tax_incl=detail["unit_price_tax_incl"],
            unit_price_tax_excl=detail["unit_price_tax_excl"],
        )
        return row

    def _next_invoice_number(self) -> int:
        """The next invoice number (invoices are numbered in the order they are made)."""
        return max((int(o["invoice_number"]) for o in self._tables["orders"].values()), default=0) + 1

    def _new_reference(self, order_id: int) -> str:
        """Nine uppercase letters, stable per order id."""
        digest = hashlib.sha256(f"reference-{order_id}".encode()).digest()
        return "".join(string.ascii_uppercase[b % 26] for b in digest[:9])

    def create_order(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create an order from a compact spec (see the module docstring); returns the order as the webservice shows it."""
        with self.lock:
            customer = self._resolve_customer(spec["customer"])
            invoice = self._resolve_address(spec.get("address"), customer)
            delivery = self._resolve_address(spec["delivery_address"], customer) if spec.get("delivery_address") is not None else invoice
            exempt = bool(spec.get("vat_exempt", False))
            lines = [LineSpec.from_spec(line, exempt) for line in spec.get("lines", [])]
            if not lines:
                raise ValueError("an order needs at least one line")
            totals = compute_totals(lines, spec, exempt)
            order_id = self._next_id("orders")
            first_detail = self._next_id("order_details")
            details = [self._detail(first_detail + i, order_id, line, exempt) for i, line in enumerate(lines)]
            record = self._order_record(order_id, spec, customer, invoice, delivery, totals, details)
            for detail in details:
                self._tables["order_details"][detail["id"]] = detail
            self._tables["orders"][order_id] = record
            self.tags[order_id] = frozenset(spec.get("tags", ()))
            self._register_payments(record, spec)
            return clone(record)

    def _order_record(
        self,
        order_id: int,
        spec: Mapping[str, Any],
        customer: dict,
        invoice: dict,
        delivery: dict,
        totals: OrderTotals,
        details: list[dict],
    ) -> dict[str, Any]:
        """The orders record for a new order."""
        state = int(spec.get("state", 2))
        payment = str(spec.get("payment", "Bank wire"))
        date_add = shop_time(spec.get("date_add"), self.clock())
        date_upd = shop_time(spec.get("date_upd"), dt.datetime.strptime(date_add, DATE_FORMAT))
        paid = state in PAID_STATES
        invoice_number = (
            int(spec["invoice_number"]) if spec.get("invoice_number") is not None else (self._next_invoice_number() if paid else 0)
        )
        invoice_date = shop_time(spec.get("invoice_date"), dt.datetime.strptime(date_add, DATE_FORMAT)) if invoice_number else UNSET_DATE
        return {
            "id": order_id,
            "id_address_delivery": str(delivery["id"]),
            "id_address_invoice": str(invoice["id"]),
            "id_cart": str(spec.get("id_cart", order_id + 1000)),
            "id_currency": EUR_ID,
            "id_lang": LANGUAGE_ID,
            "id_customer": str(customer["id"]),
            "id_carrier": "2",
            "current_state": str(state),
            "module": str(spec.get("module") or PAYMENT_MODULES.get(payment, "ps_wirepayment")),
            "invoice_number": str(invoice_number),
            "invoice_date": invoice_date,
            "delivery_number": "0",
            "delivery_date": UNSET_DATE,
            "valid": "1" if paid else "0",
            "date_add": date_add,
            "date_upd": date_upd,
            "shipping_number": "",
            "note": "",
            "id_shop_group": "1",
            "id_shop": str(spec.get("id_shop", 1)),
            "secure_key": _secure_key("order", order_id),
            "payment": payment,
            "recyclable": "0",
            "gift": "1" if totals.wrapping_incl else "0",
            "gift_message": "",
            "mobile_theme": "0",
            **_totals_fields(totals),
            "round_mode": "2",
            "round_type": "2",
            "conversion_rate": "1.000000",
            "reference": str(spec.get("reference") or self._new_reference(order_id)),
            "associations": {"order_rows": [self._order_row(detail) for detail in details]},
        }

    def _register_payments(self, order: dict[str, Any], spec: Mapping[str, Any]) -> None:
        """The spec's payments, or one full payment when the order is in a paid state and the spec names none."""
        payments = spec.get("payments")
        if payments is None:
            paid = int(order["current_state"]) in PAID_STATES and Decimal(order["total_paid_tax_incl"]) != 0
            payments = [{"amount": order["total_paid_tax_incl"]}] if paid else []
        for payment in payments:
            self.add_payment(
                order["reference"],
                payment["amount"],
                payment_method=str(payment.get("payment_method", order["payment"])),
                transaction_id=str(payment.get("transaction_id", "")),
                date_add=payment.get("date_add") or (order["invoice_date"] if order["invoice_number"] != "0" else order["date_add"]),
            )

    def add_payment(
        self,
        order_reference: str,
        amount: Any,
        payment_method: str = "Bank wire",
        transaction_id: str = "",
        date_add: str | dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Register a payment on an order reference (order_payments)."""
        with self.lock:
            payment_id = self._next_id("order_payments")
            record = {
                "id": payment_id,
                "order_reference": order_reference,
                "id_currency": EUR_ID,
                "amount": ps_amount(to_decimal(amount)),
                "payment_method": payment_method,
                "conversion_rate": "1.000000",
                "transaction_id": transaction_id,
                "card_number": "",
                "card_brand": "",
                "card_expiration": "",
                "card_holder": "",
                "date_add": shop_time(date_add, self.clock()),
                "id_employee": "0",
            }
            self._tables["order_payments"][payment_id] = record
            return clone(record)

    def update_order(
        self, order_id: int, current_state: int | None = None, date_upd: str | dt.datetime | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change an order's state and/or raw fields; date_upd moves to now (or the given value)."""
        with self.lock:
            order = self._tables["orders"].get(int(order_id))
            if order is None:
                raise KeyError(f"no order {order_id}")
            unknown = sorted(set(fields) - set(order) | ({"id", "associations"} & set(fields)))
            if unknown:
                raise ValueError(f"cannot set order field(s): {', '.join(unknown)}")
            when = shop_time(date_upd, self.clock())
            for key, value in fields.items():
                order[key] = ps_amount(to_decimal(value)) if isinstance(value, Decimal) else str(value)
            if current_state is not None:
                self._change_state(order, int(current_state), when)
            order["date_upd"] = when
            return clone(order)

    def _change_state(self, order: dict[str, Any], state: int, when: str) -> None:
        """A new state; reaching a paid state makes the invoice and registers the payment when there are none yet."""
        if state not in self._tables["order_states"]:
            raise ValueError(f"unknown order state {state}")
        order["current_state"] = str(state)
        if state not in PAID_STATES:
            return
        order["valid"] = "1"
        if order["invoice_number"] == "0":
            order["invoice_number"] = str(self._next_invoice_number())
            order["invoice_date"] = when
        unpaid = not any(p["order_reference"] == order["reference"] for p in self._tables["order_payments"].values())
        if unpaid and Decimal(order["total_paid_tax_incl"]) != 0:
            self.add_payment(order["reference"], order["total_paid_tax_incl"], order["payment"], date_add=when)

    # ---- credit slips ----------------------------------------------------------------------------

    def _detail_rate(self, detail: dict[str, Any]) -> Decimal:
        """The VAT rate of an order line, from its tax association (0 without one)."""
        taxes = detail.get("associations", {}).get("taxes") or []
        return Decimal(self._tables["taxes"][int(taxes[0]["id"])]["rate"]) if taxes else ZERO

    def _rule_rate(self, tax_rules_group: str) -> Decimal:
        """The rate a tax rule applies now (TaxManagerFactory for the invoice address): 0 for rule 0 (no tax)."""
        tax = self._tables["taxes"].get(int(tax_rules_group))
        return Decimal(tax["rate"]) if tax is not None else ZERO

    def _tax_included(self, order: dict[str, Any]) -> bool:
        """OrderRefundCalculator::isTaxIncludedInOrder: the customer's default group shows prices with VAT (PS_TAX_INC)."""
        customer = self._tables["customers"].get(int(order["id_customer"]))
        group = self._tables["groups"].get(int(customer["id_default_group"])) if customer else None
        return int(group["price_display_method"]) == PRICE_DISPLAY_TAX_INCL if group else True

    def _round_type(self, spec: Mapping[str, Any]) -> int:
        """The spec's round_type, else the shop's PS_ROUND_TYPE."""
        value = spec.get("round_type", self.configuration("PS_ROUND_TYPE") or ROUND_LINE)
        if str(value) not in ("1", "2", "3"):
            raise ValueError(f"round_type {value!r}: PS_ROUND_TYPE is 1, 2 or 3")
        return int(value)

    def _order_lines(self, order_id: int) -> dict[int, dict[str, Any]]:
        """The order's lines by id (the stored records)."""
        return {d["id"]: d for d in self._tables["order_details"].values() if d["id_order"] == str(order_id)}

    def _line_refunds(self, order_id: int, wanted: Iterable[Mapping[str, Any]], tax_incl: bool) -> list[_LineRefund]:
        """OrderRefundCalculator::flattenCheckedProductRefunds: each line's quantity and refund in the display unit."""
        details = self._order_lines(order_id)
        refunds: list[_LineRefund] = []
        for line in wanted:
            detail = details.get(int(line["detail"]))
            if detail is None:
                raise ValueError(f"order detail {line['detail']} is not a line of order {order_id}")
            if any(r.detail is detail for r in refunds):
                raise ValueError(f"order detail {detail['id']} is in the slip twice")
            left = int(detail["product_quantity"]) - int(detail["product_quantity_refunded"]) - int(detail["product_quantity_return"])
            quantity = int(line.get("quantity", left))
            if not 0 < quantity <= left:
                raise ValueError(f"order detail {detail['id']}: {quantity} to refund, {left} left")
            most = Decimal(detail["unit_price_tax_incl" if tax_incl else "unit_price_tax_excl"]) * quantity
            if line.get("amount") is None:
                amount = most
            else:
                typed = to_decimal(line["amount"])
                if typed <= 0:
                    raise ValueError(f"order detail {detail['id']}: a refund amount must be more than 0, not {typed}")
                amount = min(typed, most)
            refunds.append(_LineRefund(detail, quantity, amount, self._detail_rate(detail), detail["id_tax_rules_group"]))
        return refunds

    def _shipping_left(self, order: dict[str, Any], tax_incl: bool) -> Decimal:
        """The most shipping a refund may give back: the order's (in the display unit) minus the earlier slips'
        total_shipping_tax_incl (OrderSlip::getShippingSlipResume, with VAT whatever the unit)."""
        earlier = sum(
            (Decimal(s["total_shipping_tax_incl"]) for s in self._tables["order_slip"].values() if s["id_order"] == str(order["id"])), ZERO
        )
        return Decimal(order["total_shipping_tax_incl" if tax_incl else "total_shipping_tax_excl"]) - earlier

    def create_slip(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """A credit slip on an order as PrestaShop writes it (see the module docstring); returns the slip."""
        unknown = sorted(set(spec) - SLIP_KEYS)
        if unknown:
            raise ValueError(f"unknown credit slip field(s): {', '.join(unknown)}")
        with self.lock:
            order = self._tables["orders"].get(int(spec["order"]))
            if order is None:
                raise KeyError(f"no order {spec['order']}")
            if spec.get("legacy_partial"):
                return self._legacy_partial_slip(order, spec)
            tax_incl = self._tax_included(order)
            refunds = self._line_refunds(order["id"], spec.get("lines", ()), tax_incl)
            voucher, chosen = self._voucher(order, spec)
            refunded = sum((r.amount for r in refunds), ZERO)
            refunded = voucher if chosen else refunded - voucher
            shipping = self._shipping_refund(spec.get("shipping"), order)
            if shipping > 0:
                shipping = min(shipping, self._shipping_left(order, tax_incl))
                refunded += shipping
            if refunded <= 0:  # NO_REFUNDS (no line), then OrderSlipCreator's INVALID_AMOUNT
                raise ValueError(f"nothing to refund: the refund comes to {refunded}")
            carrier_rate, round_type = Decimal(order["carrier_tax_rate"]), self._round_type(spec)
            slip = _slip_amounts(refunds, shipping, carrier_rate, voucher, chosen, not tax_incl, round_type, self._rule_rate)
            adjustment = to_decimal(spec.get("total_adjustment", "0"))
            slip.products_incl += adjustment
            if tax_incl and not chosen:
                slip.amount += adjustment
            record = self._slip_record(order, spec, slip, partial=False)
            for refund, (incl, excl) in zip(refunds, slip.lines, strict=True):
                detail = refund.detail
                if tax_incl:
                    refunded_incl, refunded_excl = cents(refund.amount), cents(_remove_taxes(refund.amount, refund.rate))
                else:
                    refunded_incl, refunded_excl = cents(_add_taxes(refund.amount, refund.rate)), cents(refund.amount)
                detail["product_quantity_refunded"] = str(int(detail["product_quantity_refunded"]) + refund.quantity)
                detail["total_refunded_tax_incl"] = ps_amount(Decimal(detail["total_refunded_tax_incl"]) + refunded_incl)
                detail["total_refunded_tax_excl"] = ps_amount(Decimal(detail["total_refunded_tax_excl"]) + refunded_excl)
                record["associations"]["order_slip_details"].append(_slip_detail(record["id"], detail["id"], refund.quantity, incl, excl))
            return self._store_slip(record, spec)

    @staticmethod
    def _voucher(order: dict[str, Any], spec: Mapping[str, Any]) -> tuple[Decimal, bool]:
        """The voucher amount and whether it was chosen (VoucherRefundType 0, 1: the order's discounts, 2: chosen)."""
        kind = int(spec.get("voucher_refund", VOUCHER_STANDARD))
        chosen = spec.get("chosen_amount")
        if kind not in (VOUCHER_STANDARD, VOUCHER_EXCLUDED, VOUCHER_CHOSEN):
            raise ValueError(f"voucher_refund {kind}: 0 (products), 1 (products minus the voucher) or 2 (a chosen amount)")
        if (chosen is not None) != (kind == VOUCHER_CHOSEN):
            raise ValueError("chosen_amount goes with voucher_refund 2, and only with it")
        if kind == VOUCHER_EXCLUDED:
            return Decimal(order["total_discounts"]), False
        if kind == VOUCHER_CHOSEN:
            return to_decimal(chosen), True
        return ZERO, False

    @staticmethod
    def _shipping_refund(value: Any, order: dict[str, Any]) -> Decimal:
        """The shipping asked for: true → the order's shipping with VAT (a standard refund's; capped later), else typed."""
        if value is None or value is False:
            return ZERO
        if value is True:
            return Decimal(order["total_shipping_tax_incl"])
        amount = to_decimal(value)
        if amount < 0:
            raise ValueError(f"a shipping refund cannot be negative: {amount}")
        return amount

    def _legacy_partial_slip(self, order: dict[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
        """OrderSlip::createPartialOrderSlip + addPartialSlipDetail (PrestaShop 1.5/1.6), see the module docstring."""
        details = self._order_lines(order["id"])
        resume = self._slip_resume(order["id"])
        amount, rows = ZERO, []
        for line in spec.get("lines", ()):
            detail = details.get(int(line["detail"]))
            if detail is None:
                raise ValueError(f"order detail {line['detail']} is not a line of order {order['id']}")
            slipped_quantity, slipped_incl = resume.get(detail["id"], (0, ZERO))
            quantity = int(line.get("quantity", int(detail["product_quantity"]) - slipped_quantity))
            typed = Decimal(detail["unit_price_tax_incl"]) * quantity if line.get("amount") is None else to_decimal(line["amount"])
            amount += typed
            refund = min(typed, Decimal(detail["total_price_tax_incl"]) - slipped_incl)
            if refund == 0:
                continue
            quantity = min(quantity, int(detail["product_quantity"]) - slipped_quantity)
            rows.append((detail, quantity, refund, refund * HUNDRED / (HUNDRED + self._detail_rate(detail))))
        value = spec.get("shipping")
        shipping = Decimal(order["total_shipping_tax_incl"]) if value is True else self._shipping_refund(value, order)
        if amount == 0 and shipping == 0:
            raise ValueError("nothing to refund: enter a quantity or an amount")
        slip = _SlipAmounts(ZERO, ZERO, ZERO, ZERO, amount + to_decimal(spec.get("total_adjustment", "0")), 0, [])
        record = self._slip_record(order, spec, slip, partial=True)
        record["shipping_cost_amount"] = ps_amount(shipping)
        for detail, quantity, incl, excl in rows:
            if quantity > int(detail["product_quantity_refunded"]):
                detail["product_quantity_refunded"] = str(quantity)
            record["associations"]["order_slip_details"].append(_slip_detail(record["id"], detail["id"], quantity, incl, excl))
        return self._store_slip(record, spec)

    def _slip_resume(self, order_id: int) -> dict[int, tuple[int, Decimal]]:
        """OrderSlip::getProductSlipResume per line of an order: quantity and amount_tax_incl of its earlier slips."""
        resume: dict[int, tuple[int, Decimal]] = {}
        for slip in self._tables["order_slip"].values():
            if slip["id_order"] != str(order_id):
                continue
            for row in slip["associations"]["order_slip_details"]:
                quantity, incl = resume.get(int(row["id_order_detail"]), (0, ZERO))
                resume[int(row["id_order_detail"])] = (quantity + int(row["product_quantity"]), incl + Decimal(row["amount_tax_incl"]))
        return resume

    def _slip_record(self, order: dict[str, Any], spec: Mapping[str, Any], slip: _SlipAmounts, partial: bool) -> dict[str, Any]:
        """The order_slip record (its lines added by the caller)."""
        slip_id = self._next_id("order_slip")
        when = shop_time(spec.get("date_add"), self.clock())
        return {
            "id": slip_id,
            "id_customer": order["id_customer"],
            "id_order": str(order["id"]),
            "conversion_rate": "1.000000",
            "total_products_tax_excl": ps_amount(slip.products_excl),
            "total_products_tax_incl": ps_amount(slip.products_incl),
            "total_shipping_tax_excl": ps_amount(slip.shipping_excl),
            "total_shipping_tax_incl": ps_amount(slip.shipping_incl),
            "amount": ps_amount(slip.amount),
            "shipping_cost": "1" if slip.shipping_incl > 0 else "0",
            "shipping_cost_amount": ps_amount(slip.shipping_incl),
            "partial": "1" if partial else "0",
            "date_add": when,
            "date_upd": when,
            "order_slip_type": str(slip.slip_type),
            "associations": {"order_slip_details": []},
        }

    def _store_slip(self, record: dict[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
        """Keep a new slip and its tags; a copy of it."""
        self._tables["order_slip"][record["id"]] = record
        self.slip_tags[record["id"]] = frozenset(spec.get("tags", ()))
        return clone(record)

    def tagged_slips(self, tag: str) -> list[int]:
        """Ids of the credit slips carrying a tag."""
        with self.lock:
            return sorted(slip_id for slip_id, tags in self.slip_tags.items() if tag in tags)
