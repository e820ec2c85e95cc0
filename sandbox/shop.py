"""The emulated PrestaShop's data: resources as the webservice shows them, order creation the way PrestaShop computes it.

An order spec (``ShopState.create_order``, ``POST /__sandbox__/orders``) is a dict:

- ``customer``: an existing id, ``{"id": N}``, or new fields ``{"email", "firstname", "lastname", "company"}``;
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

A credit slip spec (``ShopState.create_slip``, ``POST /__sandbox__/order_slips``) refunds part or all of an order:

- ``order``: the order's id;
- ``lines``: ``[{"detail": id_order_detail, "quantity": N}]`` (quantity defaults to what is left to refund);
- ``shipping``: ``true`` for the order's whole shipping, or ``shipping_incl`` for part of it (at the carrier's rate);
- ``amount_incl``: a partial refund without lines (an amount only), its VAT spread over the order's rates;
- ``total_adjustment``: added to the slip's products total (a deliberate mismatch with its lines);
- ``date_add`` (default now), ``tags`` (kept in :attr:`ShopState.slip_tags`).

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
from sandbox.money import CENT, MICRO, ZERO, cents, excl_from_incl, incl_from_excl, ps_amount, ps_rate, to_decimal
from sandbox.shop_reference import (
    COUNTRY_IDS,
    EUR_ID,
    LANGUAGE_ID,
    PAID_STATES,
    PAYMENT_MODULES,
    SHOP_TIMEZONE,
    UNSET_DATE,
    configuration_records,
    country_records,
    currency_records,
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

    # ---- raw edits (bad-input tests) -----------------------------------------------------------

    def patch_raw(self, resource: str, item_id: int, **fields: Any) -> None:
        """Set fields of any record as is, bypassing the shop's arithmetic; a value of `...` removes the field."""
        with self.lock:
            record = self._tables[resource][int(item_id)]
            for key, value in fields.items():
                if value is ...:
                    record.pop(key, None)
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
            return frozenset(next(iter(table.values()))) - HIDDEN_FIELDS

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
        self, email: str, firstname: str, lastname: str, company: str = "", date_add: str | dt.datetime | None = None
    ) -> dict[str, Any]:
        """Register a customer."""
        with self.lock:
            customer_id = self._next_id("customers")
            when = shop_time(date_add, self.clock())
            record = {
                "id": customer_id,
                "id_default_group": "3",
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
                str(ref["email"]), str(ref.get("firstname", "")), str(ref.get("lastname", "")), str(ref.get("company", ""))
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

    def _slip_lines(self, order_id: int, wanted: Iterable[Mapping[str, Any]]) -> list[tuple[dict[str, Any], int, Decimal, Decimal]]:
        """(detail, quantity, amount incl, amount excl) per refunded line; ValueError for a line not of the order or over-refunded."""
        details = {d["id"]: d for d in self._tables["order_details"].values() if d["id_order"] == str(order_id)}
        rows = []
        for line in wanted:
            detail = details.get(int(line["detail"]))
            if detail is None:
                raise ValueError(f"order detail {line['detail']} is not a line of order {order_id}")
            left = int(detail["product_quantity"]) - int(detail["product_quantity_refunded"])
            quantity = int(line.get("quantity", left))
            if not 0 < quantity <= left:
                raise ValueError(f"order detail {detail['id']}: {quantity} to refund, {left} left")
            incl = cents(Decimal(detail["unit_price_tax_incl"]) * quantity)
            excl = cents(Decimal(detail["unit_price_tax_excl"]) * quantity)
            rows.append((detail, quantity, incl, excl))
        return rows

    def _amount_excl(self, order_id: int, amount_incl: Decimal) -> Decimal:
        """An amount-only refund without VAT: spread over the order's lines in proportion to their totals incl."""
        details = [d for d in self._tables["order_details"].values() if d["id_order"] == str(order_id)]
        products_incl = sum((Decimal(d["total_price_tax_incl"]) for d in details), ZERO)
        if products_incl == 0:
            return amount_incl
        excl = sum(
            (amount_incl * Decimal(d["total_price_tax_incl"]) / products_incl * 100 / (100 + self._detail_rate(d)) for d in details), ZERO
        )
        return cents(excl)

    def create_slip(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """A credit slip on an order (see the module docstring), the refunded quantities noted on its lines; returns the slip."""
        with self.lock:
            order = self._tables["orders"].get(int(spec["order"]))
            if order is None:
                raise KeyError(f"no order {spec['order']}")
            rows = self._slip_lines(order["id"], spec.get("lines", ()))
            amount_only = spec.get("amount_incl") is not None
            if amount_only and rows:
                raise ValueError("a slip refunds lines or an amount, not both")
            if amount_only:
                products_incl = cents(to_decimal(spec["amount_incl"]))
                products_excl = self._amount_excl(order["id"], products_incl)
            else:
                products_incl = sum((incl for _, _, incl, _ in rows), ZERO)
                products_excl = sum((excl for _, _, _, excl in rows), ZERO)
            if spec.get("shipping") is True:
                shipping_incl, shipping_excl = Decimal(order["total_shipping_tax_incl"]), Decimal(order["total_shipping_tax_excl"])
            else:
                shipping_incl = cents(to_decimal(spec.get("shipping_incl", "0")))
                shipping_excl = excl_from_incl(shipping_incl, Decimal(order["carrier_tax_rate"]), CENT)
            if products_incl <= 0 and shipping_incl <= 0:
                raise ValueError("a slip refunds at least one line, an amount or shipping")
            products_incl += to_decimal(spec.get("total_adjustment", "0"))
            lines = [d for d in self._tables["order_details"].values() if d["id_order"] == str(order["id"])]
            whole = (  # everything at once: PrestaShop's standard refund, not a partial one
                not amount_only
                and shipping_incl == Decimal(order["total_shipping_tax_incl"])
                and all(d["product_quantity_refunded"] == "0" for d in lines)
                and sum(q for _, q, _, _ in rows) == sum(int(d["product_quantity"]) for d in lines)
            )
            slip_id = self._next_id("order_slip")
            when = shop_time(spec.get("date_add"), self.clock())
            record = {
                "id": slip_id,
                "id_customer": order["id_customer"],
                "id_order": str(order["id"]),
                "conversion_rate": "1.000000",
                "total_products_tax_excl": ps_amount(products_excl),
                "total_products_tax_incl": ps_amount(products_incl),
                "total_shipping_tax_excl": ps_amount(shipping_excl),
                "total_shipping_tax_incl": ps_amount(shipping_incl),
                "amount": ps_amount(products_incl),
                "shipping_cost": "1" if shipping_incl else "0",
                "shipping_cost_amount": ps_amount(shipping_incl),
                "partial": "0" if whole else "1",
                "date_add": when,
                "date_upd": when,
                "order_slip_type": "0",
                "associations": {
                    "order_slip_details": [
                        {  # getWsOrderSlipDetails: "id_order_slip as id"
                            "id": str(slip_id),
                            "id_order_detail": str(detail["id"]),
                            "product_quantity": str(quantity),
                            "amount_tax_excl": ps_amount(excl),
                            "amount_tax_incl": ps_amount(incl),
                        }
                        for detail, quantity, incl, excl in rows
                    ]
                },
            }
            for detail, quantity, incl, excl in rows:
                detail["product_quantity_refunded"] = str(int(detail["product_quantity_refunded"]) + quantity)
                detail["total_refunded_tax_incl"] = ps_amount(Decimal(detail["total_refunded_tax_incl"]) + incl)
                detail["total_refunded_tax_excl"] = ps_amount(Decimal(detail["total_refunded_tax_excl"]) + excl)
            self._tables["order_slip"][slip_id] = record
            self.slip_tags[slip_id] = frozenset(spec.get("tags", ()))
            return clone(record)

    def tagged_slips(self, tag: str) -> list[int]:
        """Ids of the credit slips carrying a tag."""
        with self.lock:
            return sorted(slip_id for slip_id, tags in self.slip_tags.items() if tag in tags)
