"""The seeded shop (seed 42, 300 orders) read over the webservice: every order adds up, and every kind of order is there."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests
from stdnum.eu import vat as eu_vat

from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY

ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)
DAYS_BACK = 3
CENT = Decimal("0.01")
PAID = {"2", "3", "4", "5", "11", "12"}
PAYMENT_MODULES = {"Bank wire": "ps_wirepayment", "iDEAL": "mollie", "Credit card": "stripe_official", "Check": "ps_checkpayment"}
COUNTRY = {1: "DE", 3: "BE", 8: "FR", 13: "NL", 17: "GB", 19: "CH", 21: "US"}


def cents(amount: Decimal) -> Decimal:
    """Half-up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def d(value: str) -> Decimal:
    """A webservice amount."""
    return Decimal(value)


@dataclass
class Shop:
    """Everything read over HTTP, by id."""

    orders: dict[int, dict[str, Any]]
    details: dict[int, list[dict[str, Any]]]
    customers: dict[int, dict[str, Any]]
    addresses: dict[int, dict[str, Any]]
    payments: dict[str, list[dict[str, Any]]]
    taxes: dict[str, Decimal]
    tags: dict[int, frozenset[str]]

    def rates(self, order_id: int) -> list[Decimal]:
        """The VAT rates of an order's lines (0 for a line without tax)."""
        return [sum((self.taxes[t["id"]] for t in line["associations"]["taxes"]), Decimal(0)) for line in self.details[order_id]]

    def country(self, order: dict[str, Any]) -> str:
        """The delivery country's ISO code."""
        return COUNTRY[int(self.addresses[int(order["id_address_delivery"])]["id_country"])]

    def of_kind(self, tag: str) -> list[dict[str, Any]]:
        """Orders tagged with a kind."""
        return [self.orders[i] for i, tags in self.tags.items() if tag in tags]


def _read_all(servers: SandboxServers, resource: str) -> list[dict[str, Any]]:
    """Every record of a resource, page by page."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        params = {"output_format": "JSON", "display": "full", "sort": "[id_ASC]", "limit": f"{offset},100"}
        data = requests.get(f"{servers.prestashop_url}/api/{resource}", params=params, auth=(DEFAULT_KEY, ""), timeout=10).json()
        page = [] if data == [] else data[resource]
        items += page
        if len(page) < 100:
            return items
        offset += 100


@pytest.fixture(scope="module")
def servers() -> Iterator[SandboxServers]:
    """The default sandbox: seed 42, 300 orders, anchored."""
    with SandboxServers(seed=42, orders=300, days_back=DAYS_BACK, anchor=ANCHOR) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def shop(servers: SandboxServers) -> Shop:
    """The seeded shop as the webservice shows it."""
    details: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in _read_all(servers, "order_details"):
        details[int(line["id_order"])].append(line)
    payments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payment in _read_all(servers, "order_payments"):
        payments[payment["order_reference"]].append(payment)
    return Shop(
        orders={int(o["id"]): o for o in _read_all(servers, "orders")},
        details=details,
        customers={int(c["id"]): c for c in _read_all(servers, "customers")},
        addresses={int(a["id"]): a for a in _read_all(servers, "addresses")},
        payments=payments,
        taxes={str(t["id"]): d(t["rate"]) for t in _read_all(servers, "taxes")},
        tags=dict(servers.shop.tags),
    )


# ---- every order adds up -------------------------------------------------------------------------


def test_there_are_300_orders_with_lines(shop: Shop) -> None:
    assert sorted(shop.orders) == list(range(1, 301))
    assert all(shop.details[i] for i in shop.orders)


def test_line_totals_are_unit_prices_times_quantity_rounded_once(shop: Shop) -> None:
    for order_id, lines in shop.details.items():
        rows = {row["id"]: row for row in shop.orders[order_id]["associations"]["order_rows"]}
        for line in lines:
            quantity = int(line["product_quantity"])
            assert cents(d(line["unit_price_tax_incl"]) * quantity) == d(line["total_price_tax_incl"]), line["id"]
            assert cents(d(line["unit_price_tax_excl"]) * quantity) == d(line["total_price_tax_excl"]), line["id"]
            assert rows[str(line["id"])]["unit_price_tax_incl"] == line["unit_price_tax_incl"]


def test_product_totals_are_the_sums_of_the_lines(shop: Shop) -> None:
    for order_id, order in shop.orders.items():
        assert d(order["total_products_wt"]) == sum(d(line["total_price_tax_incl"]) for line in shop.details[order_id])
        assert d(order["total_products"]) == sum(d(line["total_price_tax_excl"]) for line in shop.details[order_id])


def test_order_totals_are_the_sum_of_their_parts_except_the_deliberate_mismatches(shop: Shop) -> None:
    mismatches = []
    for order_id, order in shop.orders.items():
        parts = (
            d(order["total_products_wt"])
            + d(order["total_shipping_tax_incl"])
            + d(order["total_wrapping_tax_incl"])
            - d(order["total_discounts_tax_incl"])
        )
        parts_excl = (
            d(order["total_products"])
            + d(order["total_shipping_tax_excl"])
            + d(order["total_wrapping_tax_excl"])
            - d(order["total_discounts_tax_excl"])
        )
        assert order["total_paid"] == order["total_paid_real"] == order["total_paid_tax_incl"]
        assert d(order["total_paid_tax_excl"]) == cents(parts_excl), order_id
        if d(order["total_paid_tax_incl"]) != parts:
            mismatches.append(order_id)
            assert abs(d(order["total_paid_tax_incl"]) - parts) == CENT
    assert mismatches and sorted(mismatches) == sorted(i for i, t in shop.tags.items() if "cent_mismatch" in t)


def test_shipping_excl_follows_the_carrier_tax_rate(shop: Shop) -> None:
    for order in shop.orders.values():
        rate = d(order["carrier_tax_rate"])
        incl = d(order["total_shipping_tax_incl"])
        assert d(order["total_shipping_tax_excl"]) == cents(incl * 100 / (100 + rate)), order["id"]


def test_dates_are_shop_local_within_the_period_and_updates_follow_creation(shop: Shop) -> None:
    start = (ANCHOR - dt.timedelta(days=DAYS_BACK)).strftime("%Y-%m-%d %H:%M:%S")
    end = ANCHOR.strftime("%Y-%m-%d %H:%M:%S")
    for order in shop.orders.values():
        assert start <= order["date_add"] <= order["date_upd"] <= end, order["id"]
    assert [o["date_add"] for o in shop.orders.values()] == sorted(o["date_add"] for o in shop.orders.values())
    assert sum(o["date_upd"] > o["date_add"] for o in shop.orders.values()) > 100


def test_paid_orders_have_sequential_invoices_and_others_none(shop: Shop) -> None:
    numbers = [int(o["invoice_number"]) for o in shop.orders.values() if o["current_state"] in PAID]
    for order in shop.orders.values():
        paid = order["current_state"] in PAID
        assert (order["invoice_number"] != "0") == paid, order["id"]
        assert (order["invoice_date"] != "0000-00-00 00:00:00") == paid
        assert order["valid"] == ("1" if paid else "0")
    assert numbers == list(range(1, len(numbers) + 1))


def test_references_are_nine_letters_and_one_split_cart_shares_one(shop: Shop) -> None:
    references = Counter(o["reference"] for o in shop.orders.values())
    shared = [ref for ref, count in references.items() if count > 1]
    split = [o for o in shop.orders.values() if o["reference"] in shared]
    assert all(re.fullmatch(r"[A-Z]{9}", ref) for ref in references)
    assert len(shared) == 1 and len(split) == 2
    assert split[0]["id_cart"] == split[1]["id_cart"] and split[0]["id_customer"] == split[1]["id_customer"]
    assert all("split_cart" in shop.tags[int(o["id"])] for o in split)
    assert sum(d(p["amount"]) for p in shop.payments[shared[0]]) == sum(d(o["total_paid_tax_incl"]) for o in split)


def test_payments_match_paid_orders_with_a_few_splits_and_differences(shop: Shop) -> None:
    split, different = [], []
    for order in shop.orders.values():
        if "split_cart" in shop.tags[int(order["id"])]:
            continue
        payments = shop.payments.get(order["reference"], [])
        total = d(order["total_paid_tax_incl"])
        if order["current_state"] not in PAID or total == 0:
            assert payments == [], order["id"]
            continue
        assert all(p["payment_method"] == order["payment"] for p in payments)
        if len(payments) == 2:
            split.append(order["id"])
        if sum(d(p["amount"]) for p in payments) != total:
            different.append(order["id"])
    assert len(split) == 3
    assert 1 <= len(different) <= 2
    assert sorted(different) == sorted(o["id"] for o in shop.of_kind("payment_mismatch"))


def test_payment_methods_modules_and_transaction_ids(shop: Shop) -> None:
    methods = Counter(o["payment"] for o in shop.orders.values())
    assert set(methods) == set(PAYMENT_MODULES)
    assert all(o["module"] == PAYMENT_MODULES[o["payment"]] for o in shop.orders.values())
    ideal = [p for ps in shop.payments.values() for p in ps if p["payment_method"] == "iDEAL"]
    assert ideal and all(re.fullmatch(r"tr_[A-Za-z0-9]{10}", p["transaction_id"]) for p in ideal)


def test_states_are_spread_like_a_real_shop(shop: Shop) -> None:
    states = Counter(o["current_state"] for o in shop.orders.values())
    share = {group: sum(states[s] for s in group) / len(shop.orders) for group in (("2", "3", "4", "5"), ("1", "10"))}
    assert 0.6 <= share[("2", "3", "4", "5")] <= 0.8
    assert 0.1 <= share[("1", "10")] <= 0.2
    assert all(states[s] > 0 for s in ("1", "6", "8", "9", "10", "11", "12"))


# ---- every kind of order is there ----------------------------------------------------------------


def test_most_customers_are_dutch_private_persons(shop: Shop) -> None:
    dutch_private = [
        o for o in shop.orders.values() if shop.country(o) == "NL" and not shop.addresses[int(o["id_address_invoice"])]["company"]
    ]
    assert len(dutch_private) >= 200


def test_icp_orders_have_valid_vat_numbers_and_no_vat(shop: Shop) -> None:
    icp = shop.of_kind("icp")
    assert len(icp) >= 15
    assert {shop.country(o) for o in icp} == {"BE", "DE", "FR"}
    for order in icp:
        address = shop.addresses[int(order["id_address_invoice"])]
        assert address["company"] and eu_vat.is_valid(address["vat_number"]), address["vat_number"]
        assert order["total_paid_tax_incl"] == order["total_paid_tax_excl"] != "0.000000"
        assert order["total_shipping_tax_incl"] == order["total_shipping_tax_excl"]
        assert all(line["associations"]["taxes"] == [] for line in shop.details[int(order["id"])])
    assert any(o["total_shipping_tax_incl"] == "0.000000" for o in icp) and any(o["total_shipping_tax_incl"] != "0.000000" for o in icp)


def test_eu_business_orders_with_missing_or_invalid_vat_numbers(shop: Shop) -> None:
    missing = shop.of_kind("icp_missing_vat")
    invalid = shop.of_kind("icp_invalid_vat")
    assert missing and all(shop.addresses[int(o["id_address_invoice"])]["vat_number"] == "" for o in missing)
    assert invalid and all(not eu_vat.is_valid(shop.addresses[int(o["id_address_invoice"])]["vat_number"]) for o in invalid)
    assert all(o["total_paid_tax_incl"] == o["total_paid_tax_excl"] for o in missing + invalid)


def test_german_private_customers_pay_german_vat(shop: Shop) -> None:
    oss = shop.of_kind("oss_de")
    rates = {rate for o in oss for rate in shop.rates(int(o["id"]))}
    assert len(oss) >= 10 and all(shop.country(o) == "DE" for o in oss)
    assert rates == {Decimal(19), Decimal(7)}
    assert all(d(o["carrier_tax_rate"]) == 19 for o in oss)


def test_orders_outside_the_eu_without_vat_and_a_few_wrongly_with(shop: Shop) -> None:
    export = shop.of_kind("international")
    wrong = shop.of_kind("international_with_vat")
    assert len(export) >= 10 and {shop.country(o) for o in export} == {"US", "CH", "GB"}
    assert all(o["total_paid_tax_incl"] == o["total_paid_tax_excl"] for o in export)
    assert 1 <= len(wrong) <= 2 and all(
        shop.country(o) in ("US", "CH") and d(o["total_paid_tax_incl"]) > d(o["total_paid_tax_excl"]) for o in wrong
    )


def test_unmapped_vat_rates_occur(shop: Shop) -> None:
    rates = {rate for o in shop.of_kind("unmapped_fr") + shop.of_kind("unmapped_line") for rate in shop.rates(int(o["id"]))}
    assert {Decimal(20), Decimal("5.5")} <= rates
    assert all(shop.country(o) == "FR" for o in shop.of_kind("unmapped_fr"))


def test_mixed_carts_discounts_wrapping_and_free_shipping(shop: Shop) -> None:
    domestic = [o for o in shop.orders.values() if shop.country(o) == "NL"]
    carts = [set(shop.rates(int(o["id"]))) for o in domestic]
    discounted = [o for o in shop.orders.values() if d(o["total_discounts_tax_incl"]) > 0]
    wrapped = [o for o in shop.orders.values() if d(o["total_wrapping_tax_incl"]) > 0]
    assert {Decimal(21), Decimal(9)} in [c & {Decimal(21), Decimal(9)} for c in carts]
    assert any(Decimal(0) in c and len(c) > 1 for c in carts)
    assert 10 <= len(discounted) <= 45
    assert sum(o["total_discounts_tax_incl"] == o["total_products_wt"] for o in discounted) == 1
    assert wrapped and all((o["total_wrapping_tax_incl"], o["total_wrapping_tax_excl"]) == ("2.500000", "2.066116") for o in wrapped)
    assert any(o["total_shipping_tax_incl"] == "0.000000" for o in domestic) and any(
        o["total_shipping_tax_incl"] == "6.950000" for o in domestic
    )


def test_repeat_customers_place_about_a_third_of_the_orders(shop: Shop) -> None:
    seen: set[str] = set()
    repeat = 0
    for order in shop.orders.values():
        repeat += order["id_customer"] in seen
        seen.add(order["id_customer"])
    assert 0.25 <= repeat / len(shop.orders) <= 0.45


def test_customers_with_several_addresses_and_a_deleted_one(shop: Shop) -> None:
    per_customer = Counter(a["id_customer"] for a in shop.addresses.values())
    deleted = {a["id"] for a in shop.addresses.values() if a["deleted"] == "1"}
    assert any(o["id_address_delivery"] != o["id_address_invoice"] for o in shop.orders.values())
    assert max(per_customer.values()) >= 2
    assert any(int(o["id_address_invoice"]) in deleted for o in shop.orders.values())


def test_companies_with_and_without_vat_numbers(shop: Shop) -> None:
    companies = [shop.addresses[int(o["id_address_invoice"])] for o in shop.of_kind("nl_company")]
    assert any(eu_vat.is_valid(a["vat_number"]) for a in companies)
    assert any(a["vat_number"] == "" for a in companies)


def test_every_customer_has_an_email_address_of_its_own(shop: Shop) -> None:
    emails = [c["email"].strip().casefold() for c in shop.customers.values()]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z.]+", c["email"], re.IGNORECASE) for c in shop.customers.values())


def test_klaartje_pietersen_orders_several_times_and_long_names_exist(shop: Shop) -> None:
    klaartje = [c for c in shop.customers.values() if (c["firstname"], c["lastname"]) == ("Klaartje", "Pietersen")]
    orders = [o for o in shop.orders.values() if o["id_customer"] == str(klaartje[0]["id"])]
    long_names = [c for c in shop.customers.values() if len(f"{c['firstname']} {c['lastname']}") > 40 or len(c["company"]) > 40]
    assert len(klaartje) == 1 and len(orders) >= 2
    assert long_names


def test_one_customer_has_a_mixed_case_email_known_to_the_books_in_lower_case(servers: SandboxServers, shop: Shop) -> None:
    mixed = [c for c in shop.customers.values() if c["email"] != c["email"].lower()]
    relations = {r["emailAddress"] for r in servers.books.relations()}
    assert len(mixed) == 1
    assert any(o["id_customer"] == str(mixed[0]["id"]) for o in shop.orders.values())
    assert mixed[0]["email"] not in relations and mixed[0]["email"].lower() in relations


def test_returning_customers_are_already_relations_in_the_books(servers: SandboxServers, shop: Shop) -> None:
    emails = {r["emailAddress"].casefold() for r in servers.books.relations()}
    known = {shop.orders[i]["id_customer"] for i in servers.shop.tagged("known_relation")}
    assert len(known) == 3
    assert all(shop.customers[int(c)]["email"].casefold() in emails for c in known)


def test_the_books_are_seeded_with_ledgers_templates_and_klaartje_codes(servers: SandboxServers) -> None:
    ledgers = {item["code"]: item for item in servers.books.ledgers()}
    codes = sorted(r["code"] for r in servers.books.relations() if r["code"].startswith("KlaartjePi"))
    assert {"1100", "1110", "1300", "1630", "8000", "8010", "8020", "8100", "8200", "8300"} <= set(ledgers)
    assert all(str(item["id"]) != code for code, item in ledgers.items())
    assert (ledgers["1100"]["category"], ledgers["1110"]["category"], ledgers["1300"]["category"]) == ("FIN", "FIN", "DEB")
    assert codes == ["KlaartjePi", "KlaartjePi1", "KlaartjePi2", "KlaartjePi3", "KlaartjePi4"]
    assert "Invoice template" in {t["name"] for t in servers.books.templates()}


def test_the_seed_is_deterministic_for_a_seed_and_anchor() -> None:
    first = SandboxServers(seed=42, orders=60, anchor=ANCHOR)
    again = SandboxServers(seed=42, orders=60, anchor=ANCHOR)
    other = SandboxServers(seed=43, orders=60, anchor=ANCHOR)
    assert first.shop.items("orders") == again.shop.items("orders")
    assert first.shop.items("customers") == again.shop.items("customers")
    assert first.books.relations() == again.books.relations()
    assert first.shop.items("orders") != other.shop.items("orders")
