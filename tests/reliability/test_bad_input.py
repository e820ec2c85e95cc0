"""A corpus of malformed orders in one run: each lands in Errors with a reason naming the field, the rest is booked.

The orders are made valid by the shop emulator, then broken as a real shop's database or a module can break
them (raw field edits that bypass the shop's arithmetic), so they travel the whole path: batched extraction,
normalization, prechecks and booking against the e-Boekhouden emulator.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import customer, line, per_number, sale_mutations

from .conftest import run_pipeline

pytestmark = pytest.mark.timeout(240)

AT = "2026-11-20 10:30:00"
USD = {"id": 2, "name": "US Dollar", "iso_code": "USD", "numeric_iso_code": "840", "precision": "2", "conversion_rate": "1.080000", "deleted": "0", "active": "1"}


def order_edit(**fields):
    return lambda shop, order: shop.patch_raw("orders", order["id"], **fields)


def detail_edit(**fields):
    return lambda shop, order: shop.patch_raw("order_details", first_detail(shop, order), **fields)


def customer_edit(**fields):
    return lambda shop, order: shop.patch_raw("customers", int(order["id_customer"]), **fields)


def address_edit(**fields):
    return lambda shop, order: shop.patch_raw("addresses", int(order["id_address_invoice"]), **fields)


def first_detail(shop, order) -> int:
    return min(int(d["id"]) for d in shop.select("order_details", lambda d: str(d["id_order"]) == str(order["id"])))


def duplicate_detail(shop, order):
    """The same order row twice (a module that inserts twice): lines no longer add up to the total."""
    row = shop.get("order_details", first_detail(shop, order))
    shop.insert_raw("order_details", {**row, "id": 900000 + int(order["id"])})


def other_currency(shop, order):
    if shop.get("currencies", 2) is None:
        shop.insert_raw("currencies", USD)
    shop.patch_raw("orders", order["id"], id_currency="2", conversion_rate="1.080000")


def detached_lines(shop, order):
    """The order's rows point at another order id and its own row list is empty: an order without lines."""
    shop.patch_raw("orders", order["id"], associations={"order_rows": []})
    for detail in shop.select("order_details", lambda d: str(d["id_order"]) == str(order["id"])):
        shop.patch_raw("order_details", detail["id"], id_order="999999")


# (name, how the order is broken, what the Errors tab must say); every reason names the field or the cause
CORPUS = [
    ("total incl missing", order_edit(total_paid_tax_incl=...), "order.total_paid_tax_incl is missing"),
    ("total incl null", order_edit(total_paid_tax_incl=None), "order.total_paid_tax_incl is missing"),
    ("total excl missing", order_edit(total_paid_tax_excl=...), "order.total_paid_tax_excl is missing"),
    ("products total with a comma", order_edit(total_products_wt="12,95"), "order.total_products_wt is '12,95', not a number"),
    ("products excl not a number", order_edit(total_products="n/a"), "order.total_products is 'n/a', not a number"),
    ("products total infinite", order_edit(total_products_wt="Infinity"), "order.total_products_wt is 'Infinity', not a number"),
    ("products total NaN", order_edit(total_products_wt="NaN"), "order.total_products_wt is 'NaN', not a number"),
    ("shipping 'free'", order_edit(total_shipping_tax_incl="free"), "order.total_shipping_tax_incl is 'free', not a number"),
    ("wrapping not a number", order_edit(total_wrapping_tax_incl="-"), "order.total_wrapping_tax_incl is '-', not a number"),
    ("negative discount", order_edit(total_discounts_tax_incl="-1.000000"), "order.total_discounts_tax_incl is -1.00, a negative discount"),
    ("amount as a JSON list", order_edit(total_paid_tax_incl=["12.95"]), "order.total_paid_tax_incl"),
    ("total that does not add up", order_edit(total_paid_tax_incl="999.99"), "999.99"),
    ("order date unset", order_edit(date_add="0000-00-00 00:00:00"), "order.date_add is missing"),
    ("order date garbage", order_edit(date_add="gisteren"), "order.date_add is 'gisteren', not a date"),
    ("reference empty", order_edit(reference=""), "order.reference is missing"),
    ("customer that does not exist", order_edit(id_customer="987654"), "order.id_customer"),
    ("customer id not a number", order_edit(id_customer="abc"), "order.id_customer"),
    ("currency other than EUR", other_currency, "USD, not EUR"),
    ("conversion rate not 1", order_edit(conversion_rate="1.250000"), "another currency"),
    ("negative quantity", detail_edit(product_quantity="-1"), "product_quantity is -1, a negative quantity"),
    ("fractional quantity", detail_edit(product_quantity="1.5"), "product_quantity is '1.5', not a whole number"),
    ("quantity missing", detail_edit(product_quantity=...), "product_quantity is missing"),
    ("line total not a number", detail_edit(total_price_tax_incl="abc"), "total_price_tax_incl is 'abc', not a number"),
    ("line total null", detail_edit(total_price_tax_incl=None, unit_price_tax_incl=None), "unit_price_tax_incl is missing"),
    ("unknown tax id", detail_edit(associations={"taxes": [{"id": "99"}]}), "refers to unknown tax id 99"),
    ("duplicate order row", duplicate_detail, "≠ lines + shipping + wrapping − discount"),
    ("no order rows", detached_lines, "order_details has no rows for this order"),
    ("customer without e-mail", customer_edit(email=""), "customer.email is missing"),
    ("e-mail without @", customer_edit(email="klaas.example.nl"), "customer.email is 'klaas.example.nl', not an e-mail address"),
    ("e-mail field missing", customer_edit(email=...), "customer.email is missing"),
    ("unknown country id", address_edit(id_country="999"), "refers to unknown country id 999"),
    ("country id missing", address_edit(id_country=...), "id_country"),
]


def test_each_malformed_order_lands_in_errors_with_its_field_and_the_rest_is_booked(make_sandbox, state_store):
    sandbox = make_sandbox()
    shop = sandbox.shop
    broken: dict[int, tuple[str, str]] = {}
    for number, (name, damage, reason) in enumerate(CORPUS):
        who = customer(f"kapot{number}@example.nl", "Klaas", f"Kapot{number}")
        order = shop.create_order({**who, "lines": [line("Rooibos", "8.95"), line("Theepot", "24.50")], "state": 2, "date_add": AT, "date_upd": AT, "payment": "iDEAL"})
        damage(shop, order)
        broken[int(order["id"])] = (name, reason)
    healthy = []
    for number in range(12):
        who = customer(f"heel{number}@example.nl", "Hanna", f"Heel{number}")
        healthy.append(int(shop.create_order({**who, "lines": [line("Sencha", "12.95")], "state": 2, "date_add": AT, "date_upd": AT, "payment": "iDEAL"})["id"]))

    run_pipeline()

    rows = state_store.get_orders("demo", [*broken, *healthy])
    wrong = {
        name: (rows[oid]["state"], rows[oid]["reason"])
        for oid, (name, reason) in broken.items()
        if rows[oid]["state"] != "error" or reason not in (rows[oid]["reason"] or "")
    }
    assert not wrong, wrong
    assert all(rows[oid]["error_code"] in ("MALFORMED", "PRECHECK") for oid in broken)
    assert {rows[oid]["state"] for oid in healthy} == {"booked"}
    booked = sale_mutations(sandbox)
    assert len(booked) == len(healthy) and set(per_number(booked).values()) == {1}


def test_names_with_markup_emoji_and_10000_characters_are_booked_as_plain_capped_text(make_sandbox, state_store):
    """Odd but legal names are not errors: e-Boekhouden gets them as text, cut to what its fields hold."""
    sandbox = make_sandbox()
    names = {"long": ("A" * 10_000, "Lang"), "html": ("<script>alert(1)</script>", "<b>Vet</b>"), "emoji": ("Thé ☕", "Fan 🍵🍵")}
    ids = {}
    for number, (kind, (first, last)) in enumerate(names.items()):
        who = customer(f"naam{number}@example.nl", first, last)
        ids[kind] = int(sandbox.shop.create_order({**who, "lines": [line("Oolong " + last, "15.00")], "state": 2, "date_add": AT, "date_upd": AT, "payment": "iDEAL"})["id"])

    run_pipeline()

    rows = state_store.get_orders("demo", list(ids.values()))
    assert {r["state"] for r in rows.values()} == {"booked"}, rows
    relations = {r["emailAddress"]: r for r in sandbox.books.relations()}
    long_relation = relations["naam0@example.nl"]
    assert len(long_relation["name"]) <= 150 and long_relation["name"].startswith("AAAA")
    assert relations["naam1@example.nl"]["name"] == "<script>alert(1)</script> <b>Vet</b>"  # text, never interpreted
    assert relations["naam2@example.nl"]["name"] == "Thé ☕ Fan 🍵🍵"
    descriptions = [row["description"] for m in sale_mutations(sandbox) for row in m["rows"]]
    assert "Oolong Fan 🍵🍵" in descriptions and "Oolong <b>Vet</b>" in descriptions
