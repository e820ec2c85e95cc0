"""One simulated world: a shop (PrestaShop's data and refund flow), an administration (e-Boekhouden's books), a fresh
state store, a clock, and what the shop's data said over time (the oracle's record).

Everything that changes the world outside the integration — a customer ordering, paying, the merchant shipping,
cancelling, editing an order, refunding (a credit slip), the bookkeeper deleting a relation or a sale, or working off
an Error (booked by hand, or dismissed) — is a method
here, called by the schedule's world events. Targets are *picked* at run time among what qualifies then
(``pick % len(candidates)``), so a schedule stays valid when shrinking removes events before it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.booking import number_of
from prestashop_eboekhouden.schema import KEYS, metadata
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.store_worked_off import WORKED_OFF_TABLES
from sandbox.books import BooksState
from sandbox.money import CENT, cents, excl_from_incl
from sandbox.seed import (
    ShopSeeder,
    _every_line,
    _half_an_item_chosen,
    _one,
    _quarter_of_an_item,
    _round_total_differs,
    seed_books,
)
from sandbox.shop import ShopState
from sandbox.shop_reference import BUSINESS_GROUP, PAID_STATES
from sandbox.soap import SoapService
from tests.unit.shop_json import TENANT as GOLDEN_TENANT

from .faults import Boundary
from .hooks import SimBooks, SimShop, SimSoapBooks, StoreBoundary

AMS = ZoneInfo("Europe/Amsterdam")
T0 = dt.datetime(2026, 11, 17, 0, 0)  # shop-local start of the simulated day (no DST change nearby)
PROCESS = (2, 3, 4, 5, 11, 12)
HISTORY_NUMBERS = frozenset({"2025-0412", "2025-0415", "INK-7781", "1001"})  # seed_books' own bookings of last year
ORDER_KINDS = (
    "nl_private", "nl_private", "nl_private", "nl_private", "nl_company", "be_private", "icp", "icp_missing_vat", "icp_invalid_vat",
    "oss_de", "international", "international_with_vat", "unmapped_fr", "unmapped_line",
)  # fmt: skip
MARKS = ("", "", "", "", "", "klaartje", "mixed_case_email", "cent_mismatch", "payment_split", "payment_mismatch", "discount_100", "moves", "long_name", "split_cart")
SLIP_KINDS = ("full", "lines", "shipping", "partial_amount", "voucher", "chosen", "b2b", "round_total", "cent_mismatch", "legacy_partial")

_STORE: StateStore | None = None


def fresh_store() -> StateStore:
    """An empty, migrated state store in memory. One per process, emptied for each schedule: its engine's cache of
    compiled statements stays warm (a new engine per schedule spent half the time compiling)."""
    global _STORE
    if _STORE is None:
        from prestashop_eboekhouden import migrations

        conn = sqlite3.connect(":memory:", check_same_thread=False)
        engine = create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)
        migrations.upgrade(engine)
        _STORE = StateStore("sqlite://", engine=engine)
    with _STORE.engine.begin() as db:
        for table in reversed(metadata.sorted_tables):
            db.execute(table.delete())
    return _STORE


def tenant_config(variant: dict[str, Any]) -> TenantConfig:
    """The demo tenant, as a schedule's set-up varies it."""
    return TenantConfig.model_validate(
        {
            "tenant": "sim",
            "timezone": "Europe/Amsterdam",
            "start_date": "2026-01-01",
            "prestashop": {"process_statuses": list(PROCESS), "page_size": variant.get("ps_page_size", 3)},
            "eboekhouden": {
                "book_as": "mutation",
                "debtor_ledger": "1300",
                "payment_term_days": 14,
                "sales_number": variant.get("sales_number", "reference"),
                "sales_number_prefix": variant.get("prefix", "SIM-"),
                "concurrency": 1,
            },
            "vat": {**GOLDEN_TENANT["vat"], "vies": "off"},  # the golden cases' mappings
            "payments": {"enabled": True, "ledgers": {"default": "1100", "iDEAL": "1110"}},
            "recheck": {"months_back": 3},
            "processing": {"batch_size": variant.get("batch_size", 3)},
        }
    )


def d(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass
class OrderVersion:
    """What the shop's data said of an order at one moment: its status, the amount it determines (None: its totals do
    not add up, nothing may be booked on it), its customer's e-mail address."""

    state: int
    amount: Decimal | None
    email: str
    date: str


@dataclass
class Oracle:
    """What the shop's data determined over time, recorded as the world changed (apart from the booking code)."""

    versions: dict[int, list[OrderVersion]] = field(default_factory=dict)
    slips: dict[int, Any] = field(default_factory=dict)  # slip id → Decimal (what went back), None (undetermined), "any"
    slip_kinds: dict[int, str] = field(default_factory=dict)
    deleted_mutations: list[dict[str, Any]] = field(default_factory=list)
    deleted_relations: list[dict[str, Any]] = field(default_factory=list)
    edited: set[int] = field(default_factory=set)  # orders whose amounts were edited (no refund is made on them)
    worked_off: dict[tuple[str, int], str] = field(default_factory=dict)  # ("order" | "credit" | "payment", key) → resolution
    by_hand: set[int] = field(default_factory=set)  # ids of the mutations the bookkeeper booked by hand


def sale_amount(order: dict[str, Any], details: list[dict[str, Any]]) -> Decimal | None:
    """The order's total incl VAT when its parts add up to it to the cent (lines + shipping + wrapping − discounts);
    None otherwise: the shop's data then does not determine what to book."""
    lines = sum((d(x["total_price_tax_incl"]) for x in details), Decimal(0))
    parts = lines + d(order["total_shipping_tax_incl"]) + d(order["total_wrapping_tax_incl"]) - d(order["total_discounts_tax_incl"])
    paid = d(order["total_paid_tax_incl"])
    return cents(paid) if cents(parts) == cents(paid) else None


def credit_amount(shop: ShopState, slip: dict[str, Any], hand_edited: bool) -> Any:
    """What the customer got back, by PrestaShop's own rules, from the slip and its order as the shop holds them
    (``tests/e2e/test_hourly_booking.money_back``, generalized); None when the slip does not determine it (hand-edited
    totals); "any" for a chosen amount without VAT spread over several rates (not recomputed here)."""
    if hand_edited:
        return None
    order = shop.order(int(slip["id_order"]))
    if slip["partial"] == "1":  # PrestaShop 1.6: the lines as typed plus the shipping
        rows = slip["associations"]["order_slip_details"]
        amount = cents(d(slip["amount"]))
        lines = (cents(sum((d(r["amount_tax_incl"]) for r in rows), Decimal(0))), sum((cents(d(r["amount_tax_incl"])) for r in rows), Decimal(0)))
        return cents(amount + d(slip["shipping_cost_amount"])) if amount in lines else None  # lines to the cent, summed or each
    customer = shop.get("customers", int(order["id_customer"]))
    assert customer is not None
    group = shop.get("groups", int(customer["id_default_group"]))
    sees_excl = group is not None and group["price_display_method"] == "1"
    products_incl, products_excl, amount = d(slip["total_products_tax_incl"]), d(slip["total_products_tax_excl"]), d(slip["amount"])
    seen = products_excl if sees_excl else products_incl
    if slip["order_slip_type"] == "2" and amount != seen:  # an amount chosen, in the unit the customer sees
        rates = {shop._detail_rate(shop.get("order_details", int(r["id_order_detail"])) or {}) for r in slip["associations"]["order_slip_details"]}
        if sees_excl:
            if len(rates) != 1:
                return "any"
            back = amount * (1 + rates.pop() / 100)
        else:
            back = amount
    elif slip["order_slip_type"] == "1" and not sees_excl:  # B2C: the voucher was taken off the excl total only
        back = products_incl - d(order["total_discounts_tax_incl"])
    else:  # the lines (B2B type 1: the incl total is already less the voucher)
        back = products_incl
    return cents(cents(back) + d(slip["total_shipping_tax_incl"]))


class World:
    """The shop, the books, the store, the clock, and the oracle's record of one schedule."""

    def __init__(self, seed: int, setup: dict[str, Any]):
        self.seed = seed
        self.setup = setup
        self.now = T0  # shop-local, naive
        self.boundary = Boundary()
        self.config = tenant_config(setup.get("config", {}))
        self.shop = ShopState(clock=lambda: self.now)
        self.books = BooksState()
        self.books.page_cap = setup.get("page_cap")
        self.books.email_case = setup.get("email_case", "insensitive")
        self.soap = SoapService(self.books)  # the legacy SOAP API over the same administration
        self.seeder = ShopSeeder(self.shop, seed, anchor=T0)
        self.seeder.seed(int(setup.get("orders", 12)), float(setup.get("days_back", 1.5)))
        seed_books(self.books, self.seeder.report.known_customers, T0.date())
        self.oracle = Oracle()
        for order in self.shop.items("orders"):
            self.snapshot(int(order["id"]))
        for slip in self.shop.items("order_slip"):
            tags = self.shop.slip_tags.get(slip["id"], frozenset())
            self.oracle.slips[slip["id"]] = credit_amount(self.shop, slip, "slip_cent_mismatch" in tags)
            self.oracle.slip_kinds[slip["id"]] = next(iter(sorted(tags)), "seeded")
        self.real_store = fresh_store()
        self.store = StoreBoundary(self.real_store, self.boundary)
        self.runs: list[dict[str, Any]] = []  # the runs that ran (what "clear" picks from)
        self.covered: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {"orders": [], "slips": []}  # windows read
        self.problems: list[str] = []  # unexpected exceptions in tasks: bugs
        self.run_outcomes: list[tuple[str, str]] = []

    # ---- the clock ---------------------------------------------------------------------------------------------

    def utcnow(self) -> dt.datetime:
        """The store's clock: naive UTC."""
        return self.now.replace(tzinfo=AMS).astimezone(dt.UTC).replace(tzinfo=None)

    def advance(self, to: dt.datetime) -> None:
        if to > self.now:
            self.now = to

    @property
    def today(self) -> dt.date:
        return self.now.date()

    # ---- hooks as a task gets them (a new process per attempt: fresh hooks, nothing cached) ---------------------

    def shop_hook(self) -> SimShop:
        return SimShop(self.shop, self.boundary, self.config.prestashop.page_size)

    def books_hook(self) -> SimBooks | SimSoapBooks:
        if self.setup.get("backend") == "soap":
            return SimSoapBooks(self.books, self.soap, self.boundary)
        return SimBooks(self.books, self.boundary)

    def _details(self, order_id: int) -> list[dict[str, Any]]:
        """An order's lines (copies of only those)."""
        return self.shop.select("order_details", lambda x: x["id_order"] == str(order_id))

    def _stored(self, resource: str) -> list[dict[str, Any]]:
        """The shop's own records of a resource by id, not copied (ShopState.items copies every one): only to choose
        among them, never to change or keep; what is chosen is read again as a copy."""
        table = self.shop._tables[resource]
        return [table[item_id] for item_id in sorted(table)]

    def _ids(self, resource: str) -> list[int]:
        return sorted(self.shop._tables[resource])

    # ---- the oracle's record -------------------------------------------------------------------------------------

    def snapshot(self, order_id: int) -> None:
        """Record what the shop's data says of an order now."""
        order = self.shop.order(order_id)
        customer = self.shop.get("customers", int(order["id_customer"])) or {}
        version = OrderVersion(int(order["current_state"]), sale_amount(order, self._details(order_id)), str(customer.get("email", "")), order["date_add"][:10])
        self.oracle.versions.setdefault(order_id, []).append(version)

    # ---- world events ------------------------------------------------------------------------------------------

    @staticmethod
    def _pick(candidates: list[Any], pick: int) -> Any:
        return candidates[pick % len(candidates)] if candidates else None

    def new_order(self, kind: str, mark: str) -> str:
        """A customer orders now (a kind and peculiarity of the seeded shop's)."""
        before = set(self._ids("orders"))
        if mark == "split_cart":
            self.seeder._split_cart(kind if kind in ("nl_private", "nl_company") else "nl_private", self.now)
        else:
            marks = {mark} if mark else set()
            self.seeder._order(kind if not mark else "nl_private", marks, self.now)
        for order_id in sorted(set(self._ids("orders")) - before):
            self.snapshot(order_id)
        return f"new order {kind}{' ' + mark if mark else ''}"

    def place(self, spec: dict[str, Any]) -> str:
        """An order exactly as given (``ShopState.create_order``'s spec; dated now): for regression schedules."""
        order = self.shop.create_order({"date_add": self.now, **spec})
        self.snapshot(int(order["id"]))
        return f"order {order['id']} placed ({order['reference']}, {order['total_paid_tax_incl']})"

    def namesake(self, pick: int) -> str:
        """A new customer with the name of an existing one (another e-mail address) orders now."""
        customers = self.shop.items("customers")
        other = self._pick(customers, pick)
        if other is None:
            return "namesake: no customer"
        email = f"{other['firstname']}.{other['lastname']}.{len(customers) + 1}@namesake.example".replace(" ", "").lower()
        customer = self.shop.add_customer(email, other["firstname"], other["lastname"], date_add=self.now)
        self.shop.add_address(customer["id"], "NL", address1="Kerkstraat 1", postcode="1011 AA", city="Amsterdam", date_add=self.now)
        spec = {"customer": customer["id"], "lines": [{"name": "Sencha 100g", "sku": "TEA-SEN", "quantity": 1, "tax_rate": "9", "unit_price_incl": "7.95"}],
                "shipping_incl": "4.95", "state": 2, "payment": "iDEAL", "date_add": self.now, "tags": ["namesake"]}  # fmt: skip
        order = self.shop.create_order(spec)
        self.snapshot(int(order["id"]))
        return f"namesake of customer {other['id']}: order {order['id']}"

    def order_state(self, pick: int, to: str) -> str:
        """The merchant (or the payment provider) moves an order on: paid, shipped, delivered, cancelled."""
        moves = {"pay": ((1, 9, 10), 2), "ship": ((2, 3, 11, 12), 4), "deliver": ((4,), 5), "cancel": ((1, 2, 3, 9, 10, 11, 12), 6), "process": ((2,), 3)}
        sources, target = moves[to]
        candidates = [int(o["id"]) for o in self._stored("orders") if int(o["current_state"]) in sources]
        order_id = self._pick(candidates, pick)
        if order_id is None:
            return f"{to}: no order"
        self.shop.update_order(order_id, current_state=target)
        self.snapshot(order_id)
        return f"order {order_id} {to} → {target}"

    def installments(self, pick: int) -> str:
        """A customer pays an unpaid order by bank wire in two equal transfers (no transaction id), then it is paid."""
        candidates = [int(o["id"]) for o in self._stored("orders") if int(o["current_state"]) in (1, 10) and d(o["total_paid_tax_incl"]) >= 2]
        chosen = self._pick(candidates, pick)
        if chosen is None:
            return "installments: no order"
        order = self.shop.order(chosen)
        total = d(order["total_paid_tax_incl"])
        half = cents(total / 2)
        if half * 2 != total:  # two transfers of equal amounts: only for an even number of cents
            return f"installments: order {order['id']} total {total} is odd"
        for _ in range(2):
            self.shop.add_payment(order["reference"], half, "Bank wire", "", self.now)
        self.shop.update_order(int(order["id"]), current_state=2)
        self.snapshot(int(order["id"]))
        return f"order {order['id']} paid in two transfers of {half}"

    def edit_order(self, pick: int, how: str) -> str:
        """The merchant edits an order in the back office: a new shipping cost (totals follow), or the total typed a cent off."""
        with_slips = {int(s["id_order"]) for s in self._stored("order_slip")}
        candidates = [order_id for order_id in self._ids("orders") if order_id not in with_slips]
        chosen = self._pick(candidates, pick)
        if chosen is None:
            return f"edit {how}: no order"
        order = self.shop.order(chosen)
        order_id = int(order["id"])
        if how == "cent":
            self.shop.update_order(order_id, total_paid_tax_incl=d(order["total_paid_tax_incl"]) + CENT, total_paid=d(order["total_paid"]) + CENT)
        else:
            rate = d(order["carrier_tax_rate"])
            old_incl, old_excl = d(order["total_shipping_tax_incl"]), d(order["total_shipping_tax_excl"])
            new_incl = Decimal("3.95") if old_incl != Decimal("3.95") else Decimal("8.95")
            new_excl = excl_from_incl(new_incl, rate, CENT)
            fields = {
                "total_shipping": new_incl, "total_shipping_tax_incl": new_incl, "total_shipping_tax_excl": new_excl,
                "total_paid": d(order["total_paid"]) - old_incl + new_incl, "total_paid_tax_incl": d(order["total_paid_tax_incl"]) - old_incl + new_incl,
                "total_paid_real": d(order["total_paid_real"]) - old_incl + new_incl, "total_paid_tax_excl": d(order["total_paid_tax_excl"]) - old_excl + new_excl,
            }  # fmt: skip
            self.shop.update_order(order_id, **fields)
        self.oracle.edited.add(order_id)
        self.snapshot(order_id)
        return f"order {order_id} edited ({how})"

    def slip(self, pick: int, kind: str) -> str:
        """The merchant refunds (part of) an order: a credit slip as PrestaShop writes it."""
        refundable = {x["id_order"] for x in self._stored("order_details") if int(x["product_quantity"]) > int(x["product_quantity_refunded"])}
        candidates = [
            o for o in self._stored("orders")
            if int(o["current_state"]) in PAID_STATES and int(o["id"]) not in self.oracle.edited and str(o["id"]) in refundable
        ]  # fmt: skip
        if kind == "voucher":
            candidates = [o for o in candidates if d(o["total_discounts"]) > 0]
        if kind == "b2b":  # a customer moves to the business group before the first refund of theirs, never after one
            refunded = {int(self.shop._tables["orders"][int(s["id_order"])]["id_customer"]) for s in self._stored("order_slip")}
            candidates = [o for o in candidates if int(o["id_customer"]) not in refunded]
        chosen = self._pick(candidates, pick)
        if chosen is None:
            return f"slip {kind}: no order"
        order = self.shop.order(int(chosen["id"]))
        details = [x for x in self._details(int(order["id"])) if int(x["product_quantity"]) > int(x["product_quantity_refunded"])]
        spec: dict[str, Any] | None
        if kind == "full":
            spec = _every_line(order, details)
        elif kind == "lines":
            spec = {"lines": [_one(details, -1)]}
        elif kind == "shipping":
            spec = {"shipping": True}
        elif kind == "partial_amount":
            spec = _quarter_of_an_item(order, details)
        elif kind == "voucher":
            spec = {"lines": [{"detail": x["id"]} for x in details], "voucher_refund": 1}
        elif kind == "chosen":
            spec = _half_an_item_chosen(order, details)
        elif kind == "b2b":
            self.shop.set_customer_group(int(order["id_customer"]), BUSINESS_GROUP)
            spec = {"lines": [_one(details)], "shipping": True}
        elif kind == "round_total":
            spec = _round_total_differs(order, details)
        elif kind == "cent_mismatch":
            spec = {"lines": [_one(details)], "total_adjustment": "0.01"}
        else:  # legacy_partial
            spec = {"lines": [{"detail": x["id"]} for x in details], "legacy_partial": True}
        if spec is None:
            return f"slip {kind}: order {order['id']} does not fit"
        try:
            slip = self.shop.create_slip({"order": int(order["id"]), "date_add": self.now, "tags": [f"slip_{kind}"], **spec})
        except ValueError as exc:  # PrestaShop refuses it (nothing left to refund, ...)
            return f"slip {kind}: refused by the shop ({exc})"
        self.oracle.slips[slip["id"]] = credit_amount(self.shop, slip, kind == "cent_mismatch")
        self.oracle.slip_kinds[slip["id"]] = f"slip_{kind}"
        return f"slip {slip['id']} ({kind}) on order {order['id']}"

    def work_off(self, pick: int, resolution: str) -> str:
        """The bookkeeper works off an Error in the dashboard (issue 25): "booked by hand" — and books it by hand in
        e-Boekhouden: the sale under the number the integration would give it (its planned number, else the prefix and
        the reference or id; "HAND-<id>" where that is not known), a credit, the payment — or "dismissed"."""
        tenant = self.config.tenant
        errors = [(kind, key) for kind, table in WORKED_OFF_TABLES.items() for key in self._in_errors(table)]
        chosen = self._pick(errors, pick)
        if chosen is None:
            return f"work off ({resolution}): nothing in Errors"
        kind, key = chosen
        row = {"order": self.real_store.get_orders, "credit": self.real_store.get_credits, "payment": self.real_store.get_payments}[kind](tenant, [key])[key]
        if not self.real_store.resolve(tenant, kind, [key], resolution, "bookkeeper", "simulated"):
            return f"work off {kind} {key}: not in Errors any more, or being booked right now"
        self.oracle.worked_off[(kind, key)] = resolution
        booked = self._book_by_hand(kind, key, row) if resolution == "by_hand" else ""
        return f"bookkeeper worked off {kind} {key} as {resolution}{booked}"

    def _in_errors(self, table: Any) -> list[int]:
        key = table.c[KEYS[table.name]]
        with self.real_store.engine.connect() as conn:
            return sorted(int(r[0]) for r in conn.execute(select(key).where(table.c.tenant == self.config.tenant, table.c.state == "error")))

    def _book_by_hand(self, kind: str, key: int, row: dict[str, Any]) -> str:
        """The bookkeeper's own booking in e-Boekhouden (on the customer's debtor when it exists, else a debtor of
        theirs without an e-mail address); what it does not accept is left unbooked, as a bookkeeper would."""
        prefix, rule = self.config.eboekhouden.sales_number_prefix, self.config.eboekhouden.sales_number
        if kind == "payment":
            number, amount, mutation_type, ledger = str(row["sales_number"]), d(row["amount"]), 3, "1100"
        elif kind == "credit":
            number, amount, mutation_type, ledger = f"HAND-C{key}", -abs(d(row["amount_incl"] or "1.00")), 2, "1300"
        else:
            order = self.shop.order(key)
            number = row["sales_number"] or number_of(prefix, rule, order["reference"], key) or f"HAND-{key}"
            amount, mutation_type, ledger = d(order["total_paid_tax_incl"]), 2, "1300"
        account = self.books.ledger_by_code(ledger)
        revenue = self.books.ledger_by_code("8000")
        assert account is not None and revenue is not None
        relation = self._hand_relation(key if kind == "order" else int(row["order_id"]))
        rows = [{"amount": str(amount), "vatCode": "GEEN", "invoiceNumber": number, "relationId": relation}] if mutation_type == 3 else [
            {"ledgerId": revenue["id"], "vatCode": "HOOG_VERK_21", "amount": str(amount)}
        ]  # fmt: skip
        payload = {"type": mutation_type, "date": self.today.isoformat(), "ledgerId": account["id"], "relationId": relation, "invoiceNumber": number, "inExVat": "IN", "rows": rows}
        try:
            created = self.books.create_mutation(payload)
        except Exception as exc:  # noqa: BLE001 - e-Boekhouden refused it (a number taken, ...): the bookkeeper leaves it
            return f"; e-Boekhouden refused the booking by hand ({type(exc).__name__}: {exc})"
        self.oracle.by_hand.add(int(created["id"]))
        return f"; booked by hand as {number} ({amount}, mutation {created['id']})"

    def _hand_relation(self, order_id: int) -> int:
        order = self.shop.order(order_id)
        email = str((self.shop.get("customers", int(order["id_customer"])) or {}).get("email", "")).casefold()
        found = next((r for r in self.books.relations() if str(r.get("emailAddress") or "").casefold() == email and email), None)
        if found is not None:
            return int(found["id"])
        own = self.books.relation_by_code("HANDMATIG") or self.books.create_relation({"type": "B", "name": "Handmatig geboekt", "code": "HANDMATIG"})
        return int(own["id"])

    def delete_relation(self, pick: int) -> str:
        """The bookkeeper deletes a relation that has no bookings (e-Boekhouden refuses to delete one that has)."""
        used = {m["relationId"] for m in self.books.mutations()} | {i["relationId"] for i in self.books.invoices()}
        candidates = [r for r in self.books.relations() if r["id"] not in used]
        relation = self._pick(candidates, pick)
        if relation is None:
            return "delete relation: none without bookings"
        self.books.delete_relation(relation["id"])
        self.oracle.deleted_relations.append(relation)
        return f"bookkeeper deleted relation {relation['id']} ({relation['code']})"

    def delete_mutation(self, pick: int) -> str:
        """The bookkeeper deletes a sale the integration booked (and nothing pays it yet)."""
        paid = {m["invoiceNumber"] for m in self.books.mutations() if m["type"] == 3}
        candidates = [m for m in self.books.mutations() if m["type"] == 2 and m["invoiceNumber"] not in HISTORY_NUMBERS and m["invoiceNumber"] not in paid]
        mutation = self._pick(candidates, pick)
        if mutation is None:
            return "delete mutation: none"
        self.books.delete_mutation(mutation["id"])
        self.oracle.deleted_mutations.append(mutation)
        return f"bookkeeper deleted sale {mutation['id']} ({mutation['invoiceNumber']})"


@contextmanager
def patched(world_ref: list[World]) -> Iterator[None]:
    """What the simulation changes in the process while schedules run (test-only, restored after): the store's clock
    is the world's, thread pools run their work inline (one thread per actor: deterministic), pages are small (so a
    few orders make several pages), the integration's log stays quiet and no secret goes to the masker."""
    import logging

    from prestashop_eboekhouden import store, store_base, store_runs
    from prestashop_eboekhouden.hooks import eboekhouden, eboekhouden_soap, prestashop
    from prestashop_eboekhouden.pipeline import booking, payments

    def utcnow() -> dt.datetime:
        return world_ref[0].utcnow()

    changes = [
        (store_base, "utcnow", utcnow), (store, "utcnow", utcnow), (store_runs, "utcnow", utcnow),
        (booking, "ThreadPoolExecutor", InlineExecutor), (payments, "ThreadPoolExecutor", InlineExecutor),
        (prestashop, "ROWS_PER_PAGE", 4), (eboekhouden, "LIST_LIMIT", 20), (eboekhouden, "TRUSTED_PAGE", 5),
        (prestashop, "mask", _no_mask), (eboekhouden, "mask", _no_mask), (eboekhouden_soap, "mask", _no_mask),
    ]  # fmt: skip
    saved = [(module, name, getattr(module, name)) for module, name, _ in changes]
    loggers = [logging.getLogger(name) for name in ("prestashop_eboekhouden", "airflow.task.hooks", "alembic")]
    levels = [logger.level for logger in loggers]
    for module, name, value in changes:
        setattr(module, name, value)
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _no_mask(_secret: str) -> None:
    """No secret goes to Airflow's log masker in a simulation: each SOAP session id would add a pattern for good and
    recompile the masker's one regex of them all (6 % of a schedule's time at first, growing without end in a soak)."""


class InlineExecutor:
    """concurrent.futures' executor, running each task at submit in the calling thread."""

    def __init__(self, *args: Any, **kwargs: Any):
        pass

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from concurrent.futures import Future

        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


__all__ = ["MARKS", "ORDER_KINDS", "SLIP_KINDS", "World", "patched"]
