"""The seeded data: a Dutch tea webshop's orders (deterministic per seed and anchor) and the administration they go to.

Every order carries tags (``ShopState.tags``) naming its kind and peculiarities, so tests can find, e.g.,
the ICP orders (``icp``), the deliberate one-cent mismatches (``cent_mismatch``) or the split cart
(``split_cart``). Kinds: nl_private, nl_company, be_private, icp, icp_missing_vat, icp_invalid_vat, oss_de,
international, international_with_vat, unmapped_fr, unmapped_line. Other tags: repeat_customer, klaartje,
mixed_case_email, known_relation, long_name, delivery_differs, address_deleted, company_with_vat,
company_without_vat, mixed_rates, oss_de_7, discount, discount_100, wrapping, free_shipping, cent_mismatch,
payment_split, payment_mismatch, split_cart.

Credit slips (``ShopState.slip_tags``) come after the orders, chosen without randomness so the orders stay exactly
as before, each written by the emulated refund flow (``ShopState.create_slip``) at the shop's PS_ROUND_TYPE 2 unless
told: slip_full (a delivered order refunded whole with its shipping: type 2), slip_lines (one item of a multi-line
order: type 0), slip_shipping (shipping only: type 2), slip_oss (a line and the shipping of a German OSS order),
slip_order_unbooked (an order set to Refunded, never in a state to book), slip_order_refused (an order whose booking
the prechecks refuse), slip_cent_mismatch (products total one cent off its lines: a hand-edited slip, not something
PrestaShop writes), slip_partial_amount (a quarter of one item's price typed as the refund), slip_voucher (every line
minus the order's voucher: type 1), slip_chosen_amount (one item, half its price chosen as the amount: type 2 without
shipping), slip_b2b (a business customer, moved to group 4 "Business" before the refund, whose slip is computed
without VAT: one item and the shipping), slip_round_total (every line of an order whose two same-rate lines round to
a different excl total on the total than per line, made at PS_ROUND_TYPE 3: the total is a cent off the lines' sum).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import string
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stdnum import luhn
from stdnum.eu import vat as eu_vat
from stdnum.iso7064 import mod_11_10
from stdnum.nl import bsn

from sandbox.books import BooksState
from sandbox.money import CENT, MICRO, ZERO, cents, excl_from_incl
from sandbox.seed_data import (
    CATALOGUE,
    CITIES,
    COMPANY_PLACES,
    COMPANY_WORDS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    FOREIGN_RATES,
    IMPORTED_PRODUCT,
    INVOICE_TEMPLATES,
    KLAARTJE_RELATIONS,
    LAST_NAMES,
    LEDGERS,
    LONG_NAMES,
    PHONE_PREFIX,
    STREETS,
    Product,
)
from sandbox.shop import LineSpec, ShopState, shop_now, shop_time
from sandbox.shop_reference import BUSINESS_GROUP, PAID_STATES, TAXES

BASE_ORDERS = 300
# Kinds other than nl_private, with how many orders of each 300 orders have.
SPECIAL_KINDS = (
    ("nl_company", 24),
    ("be_private", 6),
    ("icp", 18),
    ("icp_missing_vat", 2),
    ("icp_invalid_vat", 2),
    ("oss_de", 12),
    ("international", 12),
    ("international_with_vat", 2),
    ("unmapped_fr", 2),
    ("unmapped_line", 2),
)
# Peculiarities placed on chosen nl_private orders, with how many of 300 orders have them.
SPECIAL_ORDERS = (
    ("klaartje", 3),
    ("mixed_case_email", 2),
    ("cent_mismatch", 4),
    ("payment_split", 3),
    ("payment_mismatch", 2),
    ("discount_100", 1),
    ("moves", 1),
    ("long_name", 2),
)
REGULAR_STATES = {2: 16, 3: 8, 4: 16, 5: 16, 11: 2, 12: 2, 1: 6, 10: 15, 6: 7, 8: 5, 9: 4, 7: 3}
PROCESSABLE_STATES = {2: 3, 3: 1, 4: 3, 5: 3}
PAYMENT_METHODS = {"iDEAL": 60, "Bank wire": 20, "Credit card": 15, "Check": 5}
REPEAT_SHARE = 0.33
DISCOUNT_SHARE = 0.08
WRAPPING_SHARE = 0.06
SECOND_ADDRESS_SHARE = 0.08
WRAPPING_INCL = Decimal("2.50")


@dataclass(frozen=True)
class Profile:
    """Who buys: countries, business or not, VAT number, VAT exemption, whose rates, shipping fee and free-from."""

    countries: tuple[str, ...]
    company: bool = False
    vat_number: str = ""
    exempt: bool = False
    rates: str | None = None
    shipping: Decimal = Decimal("6.95")
    free_from: Decimal | None = Decimal("50")


PROFILES = {
    "nl_private": Profile(("NL",), free_from=Decimal("75")),
    "nl_company": Profile(("NL",), company=True, vat_number="maybe", free_from=Decimal("75")),
    "be_private": Profile(("BE",), shipping=Decimal("8.95"), free_from=Decimal("75")),
    "icp": Profile(("BE", "DE", "FR"), company=True, vat_number="valid", exempt=True, shipping=Decimal("12.50"), free_from=Decimal("150")),
    "icp_missing_vat": Profile(
        ("BE", "DE"), company=True, vat_number="missing", exempt=True, shipping=Decimal("12.50"), free_from=Decimal("150")
    ),
    "icp_invalid_vat": Profile(
        ("BE", "FR"), company=True, vat_number="invalid", exempt=True, shipping=Decimal("12.50"), free_from=Decimal("150")
    ),
    "oss_de": Profile(("DE",), rates="DE", shipping=Decimal("9.95"), free_from=Decimal("75")),
    "international": Profile(("US", "CH", "GB"), exempt=True, shipping=Decimal("24.95"), free_from=None),
    "international_with_vat": Profile(("US", "CH"), shipping=Decimal("24.95"), free_from=None),
    "unmapped_fr": Profile(("FR",), rates="FR", shipping=Decimal("9.95"), free_from=Decimal("75")),
    "unmapped_line": Profile(("NL",), free_from=Decimal("75")),
}
# Customers the plan names: mark → (first name, last name, company, e-mail address).
FIXED_CUSTOMERS = {
    "klaartje": ("Klaartje", "Pietersen", "", "klaartje.pietersen@example.nl"),
    "mixed_case_email": ("Jan", "de Vries", "", "J.deVries@Example.NL"),
}
DISCOUNT_KINDS = frozenset({"nl_private", "nl_company", "be_private", "oss_de"})
WRAPPING_KINDS = frozenset({"nl_private", "nl_company"})


@dataclass(frozen=True)
class Customer:
    """A seeded customer and the addresses its orders use."""

    id: int
    kind: str
    firstname: str
    lastname: str
    company: str
    email: str
    country: str
    address_id: int
    delivery_id: int | None = None
    vat_number: str = ""


@dataclass
class SeedReport:
    """What was seeded: how many orders per tag, and the customers the books already know."""

    tags: Counter[str] = field(default_factory=Counter)
    known_customers: list[Customer] = field(default_factory=list)
    slip_tags: Counter[str] = field(default_factory=Counter)


def _ascii(text: str) -> str:
    """Letters without accents, for e-mail addresses."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    """One key, drawn with its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def valid_vat_number(rng: random.Random, country: str) -> str:
    """A VAT number that passes python-stdnum's checks (BE, DE, FR or NL)."""
    while True:
        digits = "".join(rng.choice(string.digits) for _ in range(8))
        if country == "BE":
            base = "0" + digits[1:]
            number = f"BE{base}{97 - int(base) % 97:02d}"
        elif country == "DE":
            base = rng.choice("123456789") + digits[1:]
            number = f"DE{base}{mod_11_10.calc_check_digit(base)}"
        elif country == "FR":
            base = rng.choice("123456789") + digits[1:]
            siren = base + luhn.calc_check_digit(base)
            number = f"FR{int(siren + '12') % 97:02d}{siren}"
        else:
            candidate = rng.choice("123456789") + digits
            number = f"NL{candidate}B01" if bsn.is_valid(candidate) else ""
        if number and eu_vat.is_valid(number):
            return number


def invalid_vat_number(rng: random.Random, country: str) -> str:
    """A well-formed VAT number whose check digits are wrong."""
    while True:
        valid = valid_vat_number(rng, country)
        number = valid[:4] + str((int(valid[4]) + rng.randint(1, 9)) % 10) + valid[5:]
        if not eu_vat.is_valid(number):
            return number


class ShopSeeder:
    """Fills a ShopState with orders; deterministic for a seed and an anchor time."""

    def __init__(self, shop: ShopState, seed: int = 42, anchor: dt.datetime | None = None) -> None:
        self.shop = shop
        self.rng = random.Random(seed)
        self.anchor = dt.datetime.strptime(shop_time(anchor, shop_now()), "%Y-%m-%d %H:%M:%S")
        self.report = SeedReport()
        self._pools: dict[str, list[Customer]] = defaultdict(list)
        self._emails = {email.casefold() for *_, email in FIXED_CUSTOMERS.values()}
        self._orders_of: dict[int, list[int]] = defaultdict(list)
        self._fixed: dict[str, Customer] = {}
        self._long_names = 0

    # ---- the plan ----------------------------------------------------------------------------

    def seed(self, orders: int, days_back: float) -> SeedReport:
        """Create ``orders`` orders with dates spread over the ``days_back`` days up to the anchor."""
        kinds = self._kinds(orders)
        marks = self._marks(kinds)
        times = self._times(orders, days_back)
        index = 0
        while index < orders:
            if "split_cart" in marks[index] and index + 1 < orders:
                self._split_cart(kinds[index], times[index])
                index += 2
                continue
            self._order(kinds[index], marks[index], times[index])
            index += 1
        self._mark_known_customers()
        self._slips()
        return self.report

    def _kinds(self, orders: int) -> list[str]:
        """Each order's kind: the special kinds in proportion, the rest nl_private, shuffled."""
        kinds = [kind for kind, count in SPECIAL_KINDS for _ in range(_scaled(count, orders))]
        self.rng.shuffle(kinds)
        kinds = kinds[:orders]
        kinds += ["nl_private"] * (orders - len(kinds))
        self.rng.shuffle(kinds)
        return kinds

    def _marks(self, kinds: list[str]) -> list[set[str]]:
        """Peculiarities for chosen nl_private orders (each order gets at most one), and one split cart."""
        marks: list[set[str]] = [set() for _ in kinds]
        free = [i for i, kind in enumerate(kinds) if kind == "nl_private"]
        self.rng.shuffle(free)
        for name, count in SPECIAL_ORDERS:
            for _ in range(_scaled(count, len(kinds))):
                # a customer who moves needs earlier orders: pick from the second half
                candidates = [i for i in free if name != "moves" or i >= len(kinds) // 2] or free
                if not candidates:
                    return marks
                free.remove(candidates[-1])
                marks[candidates[-1]].add(name)
        pair = next((i for i in sorted(free) if i + 1 < len(kinds) and i + 1 in free), None)
        if pair is not None:
            marks[pair].add("split_cart")
        return marks

    def _times(self, orders: int, days_back: float) -> list[dt.datetime]:
        """Order times spread over the period, ascending (ids follow dates)."""
        span = max(60, int(days_back * 86400))
        start = self.anchor - dt.timedelta(seconds=span)
        return sorted(start + dt.timedelta(seconds=self.rng.randint(0, span - 60)) for _ in range(orders))

    # ---- customers ---------------------------------------------------------------------------

    def _email(self, firstname: str, lastname: str, country: str) -> str:
        """A unique, plausible e-mail address."""
        local = _ascii(f"{firstname}.{lastname}").lower().replace(" ", "").replace("'", "")
        email, number = f"{local}@{EMAIL_DOMAINS[country]}", 1
        while email.casefold() in self._emails:
            number += 1
            email = f"{local}{number}@{EMAIL_DOMAINS[country]}"
        self._emails.add(email.casefold())
        return email

    def _vat_number(self, profile: Profile, country: str) -> str:
        """The address's VAT number as the profile wants it."""
        wanted = profile.vat_number
        if wanted == "maybe":
            wanted = "valid" if self.rng.random() < 0.5 else "missing"
        if wanted == "valid":
            return valid_vat_number(self.rng, country)
        if wanted == "invalid":
            return invalid_vat_number(self.rng, country)
        return ""

    def _address_fields(self, country: str) -> dict[str, Any]:
        """Street, postcode, city and phone in a country."""
        city, postcode = self.rng.choice(CITIES[country])
        if country == "NL":
            postcode = f"{postcode} {self.rng.choice(string.ascii_uppercase)}{self.rng.choice(string.ascii_uppercase)}"
        return {
            "address1": f"{self.rng.choice(STREETS[country])} {self.rng.randint(1, 180)}",
            "address2": self.rng.choice(["", "", "", "2e verdieping", "bus 3"]),
            "postcode": postcode,
            "city": city,
            "phone": PHONE_PREFIX[country] + "".join(self.rng.choice(string.digits) for _ in range(8)),
        }

    def _new_customer(self, kind: str, when: dt.datetime, names: tuple[str, str, str] | None = None, email: str | None = None) -> Customer:
        """Register a customer with an address (and sometimes a second one for deliveries)."""
        profile = PROFILES[kind]
        country = self.rng.choice(profile.countries)
        if names is None:
            firstname, lastname = self.rng.choice(FIRST_NAMES[country]), self.rng.choice(LAST_NAMES[country])
            company = f"{self.rng.choice(COMPANY_WORDS[country])} {self.rng.choice(COMPANY_PLACES)}" if profile.company else ""
        else:
            firstname, lastname, company = names
        email = email or self._email(firstname, lastname, country)
        since = when - dt.timedelta(days=self.rng.randint(0, 400), minutes=self.rng.randint(1, 600))
        record = self.shop.add_customer(email, firstname, lastname, company, date_add=since)
        vat = self._vat_number(profile, country) if profile.company else ""
        address = self.shop.add_address(
            record["id"], country, company=company, vat_number=vat, date_add=since, **self._address_fields(country)
        )
        delivery = None
        if kind in WRAPPING_KINDS and self.rng.random() < SECOND_ADDRESS_SHARE:
            delivery = self.shop.add_address(record["id"], country, alias="Werk", date_add=since, **self._address_fields(country))["id"]
        customer = Customer(record["id"], kind, firstname, lastname, company, email, country, address["id"], delivery, vat)
        self._pools[kind].append(customer)
        return customer

    def _fixed_customer(self, mark: str, when: dt.datetime) -> Customer:
        """A customer the plan names: Klaartje Pietersen or the mixed-case e-mail (one each), or a new long-named one."""
        if mark in self._fixed:
            return self._fixed[mark]
        if mark == "long_name":
            firstname, lastname, company = LONG_NAMES[self._long_names % len(LONG_NAMES)]
            self._long_names += 1
            customer = self._new_customer("nl_company" if company else "nl_private", when, (firstname, lastname, company))
        else:
            firstname, lastname, company, email = FIXED_CUSTOMERS[mark]
            customer = self._new_customer("nl_private", when, (firstname, lastname, company), email)
            self._fixed[mark] = customer
        self._pools[customer.kind].remove(customer)  # named customers are not picked at random
        return customer

    def _moved_customer(self, when: dt.datetime) -> Customer | None:
        """A returning customer who moved: the old address is deleted, the new one used from now on."""
        candidates = [c for c in self._pools["nl_private"] if self._orders_of[c.id]]
        if not candidates:
            return None
        old = self.rng.choice(candidates)
        new_address = self.shop.add_address(
            old.id, old.country, date_add=when - dt.timedelta(minutes=5), **self._address_fields(old.country)
        )
        self.shop.delete_address(old.address_id)
        for order_id in self._orders_of[old.id]:
            self.shop.tag(order_id, "address_deleted")
        self.report.tags["address_deleted"] += len(self._orders_of[old.id])
        moved = dataclasses.replace(old, address_id=new_address["id"], delivery_id=None)
        self._pools["nl_private"][self._pools["nl_private"].index(old)] = moved
        return moved

    def _customer(self, kind: str, marks: set[str], when: dt.datetime) -> tuple[Customer, set[str]]:
        """The order's customer (fixed, moved, returning or new) and the tags that follow from it."""
        fixed = marks & {"klaartje", "mixed_case_email", "long_name"}
        if fixed:
            customer = self._fixed_customer(next(iter(fixed)), when)
        elif "moves" in marks and (moved := self._moved_customer(when)) is not None:
            customer = moved
        elif self._pools[kind] and self.rng.random() < REPEAT_SHARE:
            customer = self.rng.choice(self._pools[kind])
        else:
            customer = self._new_customer(kind, when)
        tags = set(fixed)
        if self._orders_of[customer.id]:
            tags.add("repeat_customer")
        if customer.delivery_id:
            tags.add("delivery_differs")
        if customer.company:
            tags.add("company_with_vat" if customer.vat_number else "company_without_vat")
        return customer, tags

    # ---- one order ---------------------------------------------------------------------------

    def _line(self, product: Product, profile: Profile, quantity: int) -> dict[str, Any]:
        """A line spec: the shop's price, or for another country's VAT the price without VAT at that rate."""
        rate = FOREIGN_RATES[profile.rates][product.rate] if profile.rates else product.rate
        line: dict[str, Any] = {"name": product.name, "sku": product.sku, "quantity": quantity, "tax_rate": str(rate)}
        if product.price_excl is not None:
            line["unit_price_excl"] = str(product.price_excl)
        elif rate == product.rate:
            line["unit_price_incl"] = str(product.price_incl)
        else:
            line["unit_price_excl"] = str(excl_from_incl(product.price_incl or ZERO, product.rate, MICRO))
        return line

    def _lines(self, kind: str, profile: Profile, company: bool) -> list[dict[str, Any]]:
        """One to four products; businesses buy more; some kinds need a particular line."""
        catalogue = [p for p in CATALOGUE if kind in ("nl_private", "nl_company") or p.rate != 0]
        products = self.rng.sample(catalogue, self.rng.choice([1, 1, 2, 2, 2, 3, 3, 4]))
        if kind == "oss_de" and self.rng.random() < 0.5:
            products.append(self.rng.choice([p for p in catalogue if p.rate == Decimal(9) and p not in products]))
        if kind == "unmapped_line":
            products.append(IMPORTED_PRODUCT)
        quantities = [1, 2, 4, 6, 12] if company else [1, 1, 1, 1, 2, 2, 3]
        return [self._line(product, profile, self.rng.choice(quantities)) for product in products]

    def _extras(self, kind: str, marks: set[str], lines: list[dict[str, Any]], profile: Profile) -> tuple[dict[str, Any], set[str]]:
        """Shipping, wrapping, discount and deliberate mismatch for an order, with their tags."""
        products_incl = sum((_line_incl(line, profile) for line in lines), ZERO)
        rate = FOREIGN_RATES[profile.rates][Decimal(21)] if profile.rates else Decimal(21)
        free = profile.free_from is not None and products_incl >= profile.free_from and "discount_100" not in marks
        extras: dict[str, Any] = {
            "shipping_incl": "0" if free else str(profile.shipping),
            "shipping_rate": str(rate),
            "vat_exempt": profile.exempt,
        }
        tags = {"free_shipping"} if free else set()
        if kind in WRAPPING_KINDS and self.rng.random() < WRAPPING_SHARE:
            extras.update(wrapping_incl=str(WRAPPING_INCL), wrapping_rate="21")
            tags.add("wrapping")
        if "discount_100" in marks:
            extras["discount_incl"] = str(products_incl)
            extras["discount_excl"] = str(sum((_line_excl(line) for line in lines), ZERO))
            tags.add("discount")
        elif kind in DISCOUNT_KINDS and self.rng.random() < DISCOUNT_SHARE:
            extras.update(self._voucher(lines, products_incl))
            tags.add("discount")
        if "cent_mismatch" in marks:
            extras["total_adjustment"] = self.rng.choice(["0.01", "-0.01"])
        return extras, tags

    def _voucher(self, lines: list[dict[str, Any]], products_incl: Decimal) -> dict[str, str]:
        """A 10% voucher, or € 5 off when the cart is big enough."""
        if products_incl > 10 and self.rng.random() < 0.5:
            return {"discount_incl": "5.00"}
        products_excl = sum((_line_excl(line) for line in lines), ZERO)
        return {"discount_incl": str(cents(products_incl / 10)), "discount_excl": str(cents(products_excl / 10))}

    def _state(self, kind: str, marks: set[str]) -> int:
        """The order's state: spread for plain orders, a state to book for the special ones."""
        special = kind != "nl_private" or marks & {
            "klaartje",
            "cent_mismatch",
            "payment_split",
            "payment_mismatch",
            "discount_100",
            "split_cart",
        }
        return _weighted(self.rng, PROCESSABLE_STATES if special else REGULAR_STATES)

    def _payment_method(self, state: int) -> str:
        """The payment method that fits the state."""
        if state == 1:
            return "Check"
        if state in (9, 10):
            return "Bank wire"
        if state == 8:
            return self.rng.choice(["iDEAL", "Credit card"])
        return _weighted(self.rng, PAYMENT_METHODS)

    def _timeline(self, state: int, when: dt.datetime) -> tuple[str, str | None]:
        """date_upd (later for orders that moved on) and invoice_date (paid orders), never after the anchor."""
        if state in (4, 5):
            later = dt.timedelta(hours=self.rng.randint(2, 48))
        elif state in (6, 7, 8):
            later = dt.timedelta(minutes=self.rng.randint(10, 1440))
        elif state in PAID_STATES:
            later = dt.timedelta(minutes=self.rng.randint(1, 30))
        else:
            later = dt.timedelta(0)
        upd = max(when, min(when + later, self.anchor))
        invoice = min(when + dt.timedelta(seconds=self.rng.randint(20, 120)), upd) if state in PAID_STATES else None
        return _fmt(upd), _fmt(invoice) if invoice else None

    def _spec(self, kind: str, marks: set[str], when: dt.datetime, customer: Customer) -> tuple[dict[str, Any], set[str]]:
        """The order spec for ShopState.create_order, and its tags."""
        profile = PROFILES[kind]
        lines = self._lines(kind, profile, bool(customer.company))
        extras, tags = self._extras(kind, marks, lines, profile)
        state = self._state(kind, marks)
        date_upd, invoice_date = self._timeline(state, when)
        rates = {Decimal(line["tax_rate"]) for line in lines}
        if len(rates) > 1 and not profile.exempt:
            tags.add("mixed_rates")
        if kind == "oss_de" and Decimal(7) in rates:
            tags.add("oss_de_7")
        spec = {
            "customer": customer.id,
            "address": customer.address_id,
            "delivery_address": customer.delivery_id,
            "lines": lines,
            **extras,
            "state": state,
            "payment": self._payment_method(state),
            "date_add": _fmt(when),
            "date_upd": date_upd,
            "invoice_date": invoice_date,
            "payments": [],
        }
        return spec, tags | {kind} | (marks - {"moves"})

    def _order(
        self,
        kind: str,
        marks: set[str],
        when: dt.datetime,
        customer: tuple[Customer, set[str]] | None = None,
        pay: bool = True,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Create one order (spec fields overridable) and, unless told not to, its payments."""
        who, customer_tags = customer or self._customer(kind, marks, when)
        spec, tags = self._spec(kind, marks, when, who)
        tags |= customer_tags
        order = self.shop.create_order({**spec, **overrides, "tags": sorted(tags)})
        self._orders_of[who.id].append(order["id"])
        if pay:
            self._pay(order, marks)
        self.report.tags.update(tags)
        return order

    def _split_cart(self, kind: str, when: dt.datetime) -> None:
        """Two orders from one cart: same customer, reference and cart, one payment for both."""
        marks = {"split_cart"}
        customer = self._customer(kind, marks, when)
        first = self._order(kind, marks, when, customer, pay=False)
        state = int(first["current_state"])
        second = self._order(
            kind, marks, when, customer, pay=False, reference=first["reference"], id_cart=first["id_cart"], state=state,
            invoice_date=first["invoice_date"], date_upd=first["date_upd"],
        )  # fmt: skip
        if state in PAID_STATES:
            total = Decimal(first["total_paid_tax_incl"]) + Decimal(second["total_paid_tax_incl"])
            self.shop.add_payment(
                first["reference"], total, first["payment"], self._transaction_id(first["payment"]), first["invoice_date"]
            )

    def _transaction_id(self, method: str) -> str:
        """A payment provider's transaction id (none for bank wire and check)."""
        alphabet = string.ascii_letters + string.digits
        if method == "iDEAL":
            return "tr_" + "".join(self.rng.choice(alphabet) for _ in range(10))
        if method == "Credit card":
            return "pi_" + "".join(self.rng.choice(alphabet) for _ in range(24))
        return ""

    def _pay(self, order: dict[str, Any], marks: set[str]) -> None:
        """Payments of a paid order: usually one for the total, some split in two, some off."""
        total = Decimal(order["total_paid_tax_incl"])
        if int(order["current_state"]) not in PAID_STATES or total == 0:
            return
        method, date = order["payment"], order["invoice_date"]
        if "payment_split" in marks:
            first = cents(total * Decimal("0.4"))
            amounts = [first, total - first]
        elif "payment_mismatch" in marks:
            amounts = [total - Decimal("5.00") if total > 10 else total + Decimal("0.50")]
        else:
            amounts = [total]
        for amount in amounts:
            self.shop.add_payment(order["reference"], amount, method, self._transaction_id(method), date)

    def _mark_known_customers(self) -> None:
        """The customers the books already know: the mixed-case e-mail one and two other returning customers."""
        known = [c for c in self._fixed.values() if c.email != c.email.lower()]
        returning = sorted((c for c in self._pools["nl_private"] if len(self._orders_of[c.id]) >= 2), key=lambda c: c.id)
        known += returning[:2]
        for customer in known:
            for order_id in self._orders_of[customer.id]:
                self.shop.tag(order_id, "known_relation")
            self.report.tags["known_relation"] += len(self._orders_of[customer.id])
        self.report.known_customers = known

    # ---- credit slips ------------------------------------------------------------------------

    def _slips(self) -> None:
        """The seeded credit slips (see the module docstring): each on its own order, the first that fits (and for
        which the plan makes a spec), none random; slip_b2b's customer moves to the business group first."""
        used: set[int] = set()
        orders = self.shop.items("orders")
        for tag, fits, make in SLIP_PLAN:
            for order in orders:
                if order["id"] in used or not fits(order, self.shop.tags.get(order["id"], frozenset())):
                    continue
                spec = make(order, self.shop.order_details(order["id"]))
                if spec is not None:
                    break
            else:
                continue
            used.add(order["id"])
            upd = dt.datetime.strptime(order["date_upd"], "%Y-%m-%d %H:%M:%S")
            when = upd if order["current_state"] == "7" else max(upd, min(upd + dt.timedelta(hours=1), self.anchor))
            if tag in BUSINESS_SLIPS:
                self.shop.set_customer_group(int(order["id_customer"]), BUSINESS_GROUP, date_upd=_fmt(when))
            self.shop.create_slip({"order": order["id"], "date_add": _fmt(when), "tags": [tag], **spec})
            self.report.slip_tags[tag] += 1

    # ---- live orders -------------------------------------------------------------------------

    def live_order(self, when: dt.datetime | None = None) -> dict[str, Any]:
        """One new order now (or at ``when``), of a random kind, as a live shop would take it."""
        kind = _weighted(self.rng, {"nl_private": 80, "nl_company": 8, "icp": 5, "oss_de": 4, "international": 3})
        moment = when or self.shop.clock()
        self.anchor = max(self.anchor, moment)
        return self._order(kind, set(), moment)


PLAIN_TAGS = frozenset({"nl_private", "repeat_customer", "free_shipping", "mixed_rates", "delivery_differs"})


def _delivered(order: dict[str, Any]) -> bool:
    """Shipped or delivered: what customers send back."""
    return order["current_state"] in ("4", "5")


def _plain_nl(order: dict[str, Any], tags: frozenset[str]) -> bool:
    """A delivered Dutch private order without peculiarities."""
    return _delivered(order) and "nl_private" in tags and tags <= PLAIN_TAGS


def _shipped_for_a_fee(order: dict[str, Any], tags: frozenset[str]) -> bool:
    """A plain Dutch order that paid for shipping."""
    return _plain_nl(order, tags) and Decimal(order["total_shipping_tax_incl"]) > 0


def _several_lines(order: dict[str, Any], tags: frozenset[str]) -> bool:
    """A plain Dutch order with lines at two rates."""
    return _plain_nl(order, tags) and "mixed_rates" in tags


def _paid(order: dict[str, Any]) -> bool:
    """In a state the shop counts as paid (and the pipeline books)."""
    return order["current_state"] in ("2", "3", "4", "5")


def _voucher_order(order: dict[str, Any], tags: frozenset[str]) -> bool:
    """A delivered Dutch private order with a voucher that leaves something to pay for its products."""
    return _delivered(order) and {"nl_private", "discount"} <= tags and tags <= PLAIN_TAGS | {"discount"}


def _business_order(order: dict[str, Any], tags: frozenset[str]) -> bool:
    """A delivered order of a Dutch company with a VAT number, without peculiarities."""
    return _delivered(order) and {"nl_company", "company_with_vat"} <= tags and tags <= BUSINESS_TAGS


def _every_line(order: dict[str, Any], details: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything: each line whole and the shipping."""
    return {"lines": [{"detail": d["id"]} for d in details], "shipping": True}


def _one(details: list[dict[str, Any]], index: int = 0) -> dict[str, Any]:
    """One item of a line."""
    return {"detail": details[index]["id"], "quantity": 1}


def _quarter_of_an_item(order: dict[str, Any], details: list[dict[str, Any]]) -> dict[str, Any]:
    """One item with a quarter of its price (with VAT) typed as the refund."""
    return {"lines": [{**_one(details), "amount": str(cents(Decimal(details[0]["unit_price_tax_incl"]) / 4))}]}


def _half_an_item_chosen(order: dict[str, Any], details: list[dict[str, Any]]) -> dict[str, Any]:
    """One item given back, half its price (with VAT) chosen as the amount refunded."""
    return {"lines": [_one(details)], "voucher_refund": 2, "chosen_amount": str(cents(Decimal(details[0]["unit_price_tax_incl"]) / 2))}


def _round_total_differs(order: dict[str, Any], details: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Every line at PS_ROUND_TYPE 3, for an order where that rounds a tax rule's excl total a cent off its lines' sum."""
    per_rule: dict[str, list[Decimal]] = defaultdict(list)
    for detail in details:
        per_rule[detail["id_tax_rules_group"]].append(Decimal(detail["total_price_tax_incl"]))
    for rule, totals in per_rule.items():
        rate = TAX_RATES.get(rule, ZERO)
        if len(totals) > 1 and sum(excl_from_incl(t, rate, CENT) for t in totals) != excl_from_incl(sum(totals), rate, CENT):
            return {"lines": [{"detail": d["id"]} for d in details], "round_type": 3}
    return None


BUSINESS_TAGS = frozenset({"nl_company", "company_with_vat", "repeat_customer", "free_shipping", "mixed_rates", "delivery_differs"})
TAX_RATES = {str(tax.id): tax.rate for tax in TAXES}
BUSINESS_SLIPS = frozenset({"slip_b2b"})  # their customer moves to the business group (prices without VAT) first
# Tag → which order fits (first by id) → the slip's spec for it (None: try the next order that fits).
SlipSpec = Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any] | None]
SLIP_PLAN: tuple[tuple[str, Callable[[dict[str, Any], frozenset[str]], bool], SlipSpec], ...] = (
    ("slip_full", _shipped_for_a_fee, _every_line),
    ("slip_lines", _several_lines, lambda o, d: {"lines": [_one(d, -1)]}),
    ("slip_shipping", _shipped_for_a_fee, lambda o, d: {"shipping": True}),
    ("slip_oss", lambda o, t: "oss_de" in t and _paid(o), lambda o, d: {"lines": [_one(d)], "shipping": True}),
    ("slip_order_unbooked", lambda o, t: o["current_state"] == "7" and t <= PLAIN_TAGS, _every_line),
    ("slip_order_refused", lambda o, t: "unmapped_fr" in t and _paid(o), lambda o, d: {"lines": [_one(d)]}),
    ("slip_cent_mismatch", _plain_nl, lambda o, d: {"lines": [_one(d)], "total_adjustment": "0.01"}),
    ("slip_partial_amount", _plain_nl, _quarter_of_an_item),
    ("slip_voucher", _voucher_order, lambda o, d: {"lines": [{"detail": x["id"]} for x in d], "voucher_refund": 1}),
    ("slip_chosen_amount", _plain_nl, _half_an_item_chosen),
    ("slip_b2b", _business_order, lambda o, d: {"lines": [_one(d)], "shipping": True}),
    ("slip_round_total", _plain_nl, _round_total_differs),
)


def _scaled(count: int, orders: int) -> int:
    """How many of something a shop of ``orders`` orders has, given the count for 300 (at least one)."""
    return max(1, round(count * orders / BASE_ORDERS))


def _fmt(moment: dt.datetime) -> str:
    """A shop-local date string."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _line_incl(line: dict[str, Any], profile: Profile) -> Decimal:
    """A line spec's total with VAT as the shop will compute it (for shipping and voucher decisions)."""
    return LineSpec.from_spec(line, profile.exempt).total_incl


def _line_excl(line: dict[str, Any]) -> Decimal:
    """A line spec's total without VAT."""
    return LineSpec.from_spec(line, False).total_excl


def seed_shop(
    shop: ShopState, seed: int = 42, orders: int = 300, days_back: float = 3, anchor: dt.datetime | None = None
) -> tuple[ShopSeeder, SeedReport]:
    """Fill a shop with seeded orders; the seeder can go on making live orders."""
    seeder = ShopSeeder(shop, seed, anchor)
    return seeder, seeder.seed(orders, days_back)


def seed_books(books: BooksState, known: Iterable[Customer] = (), today: dt.date | None = None) -> None:
    """Ledgers, invoice templates, the KlaartjePi relations, the shop's known customers and some history."""
    today = today or dt.date.today()
    for ledger in LEDGERS:
        books.add_ledger(*ledger)
    for template_id, name, active in INVOICE_TEMPLATES:
        books.add_template(template_id, name, active)
    for code, name, email in KLAARTJE_RELATIONS:
        books.create_relation({"type": "P", "code": code, "name": name, "emailAddress": email, "country": "NL"})
    relation_ids = [_known_relation(books, customer) for customer in known]
    _history(books, relation_ids, today)


def _known_relation(books: BooksState, customer: Customer) -> int:
    """A relation for a shop customer, its e-mail address lower-cased (so one differs in case from the shop)."""
    name = customer.company or f"{customer.firstname} {customer.lastname}"
    payload = {"type": "B" if customer.company else "P", "name": name, "emailAddress": customer.email.lower(), "country": customer.country}
    return int(books.create_relation(payload)["id"])


def _ledger_id(books: BooksState, code: str) -> int:
    """A seeded ledger's id."""
    ledger = books.ledger_by_code(code)
    assert ledger is not None, code
    return int(ledger["id"])


def _history(books: BooksState, relation_ids: list[int], today: dt.date) -> None:
    """Last year's bookings: a paid sale, an open sale, a purchase and an invoice without mutation."""
    supplier = int(books.create_relation({"type": "B", "name": "Theegroothandel Oost BV", "emailAddress": "inkoop@example.org"})["id"])
    paid_by, open_by = (relation_ids[0], relation_ids[-1]) if relation_ids else (supplier, supplier)
    old = (today - dt.timedelta(days=60)).isoformat()
    ledger = {code: _ledger_id(books, code) for code in ("1100", "1300", "1600", "4000", "8000")}
    header = {"date": old, "inExVat": "IN", "termOfPayment": 14}
    revenue = {"ledgerId": ledger["8000"], "vatCode": "HOOG_VERK_21"}
    books.create_mutation(
        {
            **header,
            "type": 2,
            "ledgerId": ledger["1300"],
            "relationId": paid_by,
            "invoiceNumber": "2025-0412",
            "description": "Oude verkoop",
        }
        | {"rows": [{**revenue, "amount": Decimal("121.00")}]}
    )
    books.create_mutation(
        {**header, "type": 3, "ledgerId": ledger["1100"], "relationId": paid_by, "invoiceNumber": "2025-0412"}
        | {"rows": [{"amount": Decimal("121.00"), "vatCode": "GEEN", "invoiceNumber": "2025-0412", "relationId": paid_by}]}
    )
    books.create_mutation(
        {
            **header,
            "type": 2,
            "ledgerId": ledger["1300"],
            "relationId": open_by,
            "invoiceNumber": "2025-0415",
            "description": "Openstaande verkoop",
        }
        | {"rows": [{**revenue, "amount": Decimal("60.50")}]}
    )
    books.create_mutation(
        {**header, "type": 1, "ledgerId": ledger["1600"], "relationId": supplier, "invoiceNumber": "INK-7781", "inExVat": "EX"}
        | {"rows": [{"ledgerId": ledger["4000"], "vatCode": "LAAG_INK_9", "amount": Decimal("480.00")}]}
    )
    item = {**revenue, "quantity": 1, "description": "Theepot", "pricePerUnit": Decimal("34.95")}
    books.create_invoice(
        {
            **header,
            "relationId": paid_by,
            "templateId": INVOICE_TEMPLATES[0][0],
            "invoiceNumber": "1001",
            "reference": "OUD-1001",
            "items": [item],
        }
    )


class LiveOrders:
    """A background thread that adds orders with current dates at a rate per hour."""

    def __init__(self, seeder: ShopSeeder, per_hour: float) -> None:
        self.seeder = seeder
        self.interval = 3600.0 / per_hour if per_hour > 0 else 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start adding orders (no-op at rate 0)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="sandbox-live-orders", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Add an order every interval until stopped."""
        while not self._stop.wait(self.interval):
            self.seeder.live_order()

    def stop(self) -> None:
        """Stop adding orders."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
