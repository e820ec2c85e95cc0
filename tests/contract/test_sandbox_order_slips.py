"""Contract of the emulator's credit slips (``/api/order_slip``): shapes as PrestaShop's OrderSlip, filters, seed, admin."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from sandbox.money import cents
from sandbox.seed import ShopSeeder, seed_shop
from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY, ShopState

ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)
AMOUNT = re.compile(r"^-?\d+\.\d{6}$")
SLIP_FIELDS = {
    "id", "id_customer", "id_order", "conversion_rate", "total_products_tax_excl", "total_products_tax_incl", "total_shipping_tax_excl",
    "total_shipping_tax_incl", "amount", "shipping_cost", "shipping_cost_amount", "partial", "date_add", "date_upd", "order_slip_type",
    "associations",
}  # fmt: skip
SEEDED = (
    "slip_b2b", "slip_cent_mismatch", "slip_chosen_amount", "slip_full", "slip_lines", "slip_order_refused", "slip_order_unbooked", "slip_oss",
    "slip_partial_amount", "slip_round_total", "slip_shipping", "slip_voucher",
)  # fmt: skip
D = Decimal


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    """The seeded sandbox of 300 orders (read only here)."""
    with SandboxServers(seed=42, orders=300, anchor=ANCHOR) as servers:
        yield servers


def api(servers: SandboxServers, path: str, **params: Any) -> requests.Response:
    """GET /api/<path> as JSON with the demo key."""
    return requests.get(f"{servers.prestashop_url}/api/{path}", params={"output_format": "JSON", **params}, auth=(DEFAULT_KEY, ""), timeout=10)


def seeded(servers: SandboxServers, tag: str) -> dict[str, Any]:
    """The one seeded slip with a tag, as the webservice shows it."""
    (slip_id,) = servers.shop.tagged_slips(tag)
    return api(servers, f"order_slip/{slip_id}").json()["order_slip"]


def money(record: dict[str, Any], name: str) -> Decimal:
    return Decimal(record[name])


def test_a_list_answers_under_order_slips_and_one_slip_under_order_slip(sandbox: SandboxServers) -> None:
    listed = api(sandbox, "order_slip", display="full").json()
    assert list(listed) == ["order_slips"]
    slips = listed["order_slips"]
    assert [s["id"] for s in slips] == list(range(1, len(SEEDED) + 1))
    one = api(sandbox, "order_slip/1").json()
    assert list(one) == ["order_slip"] and one["order_slip"] == slips[0]
    assert set(one["order_slip"]) == SLIP_FIELDS
    assert api(sandbox, "order_slip/999").status_code == 404
    assert api(sandbox, "order_slips").json()["errors"][0]["code"] == 27  # the resource is order_slip, singular


def test_fields_have_prestashops_formats(sandbox: SandboxServers) -> None:
    for slip in api(sandbox, "order_slip", display="full").json()["order_slips"]:
        for name in ("total_products_tax_excl", "total_products_tax_incl", "total_shipping_tax_excl", "total_shipping_tax_incl", "amount", "shipping_cost_amount"):
            assert AMOUNT.match(slip[name]), (name, slip[name])
        # 1.7.7+ never writes partial 1; type 2 whenever shipping is refunded
        assert slip["partial"] == "0" and slip["shipping_cost"] in ("0", "1") and slip["order_slip_type"] in ("0", "1", "2")
        assert slip["order_slip_type"] == "2" or slip["shipping_cost"] == "0"
        assert slip["date_upd"] == slip["date_add"]  # a slip is never edited
        for detail in slip["associations"]["order_slip_details"]:
            # OrderSlip::getWsOrderSlipDetails selects "id_order_slip as id"
            assert set(detail) == {"id", "id_order_detail", "product_quantity", "amount_tax_excl", "amount_tax_incl"}
            assert detail["id"] == str(slip["id"])
            assert AMOUNT.match(detail["amount_tax_incl"]) and AMOUNT.match(detail["amount_tax_excl"])


def test_date_upd_filters_need_date_1_like_orders(sandbox: SandboxServers) -> None:
    slips = sandbox.shop.items("order_slip")
    first = min(slips, key=lambda s: s["date_upd"])
    without = api(sandbox, "order_slip", **{"filter[date_upd]": f"[{first['date_upd']},{first['date_upd']}]"})
    assert without.status_code == 400 and without.json()["errors"][0]["code"] == 32
    window = api(sandbox, "order_slip", date="1", display="[id,id_order,date_upd]", **{"filter[date_upd]": f"[{first['date_upd']},{first['date_upd']}]"})
    assert window.json()["order_slips"] == [{"id": first["id"], "id_order": first["id_order"], "date_upd": first["date_upd"]}]
    orders = sorted({s["id_order"] for s in slips})[:2]
    by_order = api(sandbox, "order_slip", display="[id,id_order]", **{"filter[id_order]": f"[{'|'.join(orders)}]"}).json()["order_slips"]
    assert sorted(s["id_order"] for s in by_order) == orders


def test_every_seeded_kind_is_there_once(sandbox: SandboxServers) -> None:
    answer = requests.get(f"{sandbox.prestashop_url}/__sandbox__/slip_tags", timeout=10).json()
    assert sorted(answer) == sorted(SEEDED) and all(len(ids) == 1 for ids in answer.values())
    assert dict(sandbox.seed_report.slip_tags) == dict.fromkeys(SEEDED, 1)
    assert len({s["id_order"] for s in sandbox.shop.items("order_slip")}) == len(SEEDED)  # each on its own order


def test_the_full_refund_gives_back_the_whole_order(sandbox: SandboxServers) -> None:
    slip = seeded(sandbox, "slip_full")
    order = sandbox.shop.order(int(slip["id_order"]))
    details = sandbox.shop.order_details(order["id"])
    assert slip["partial"] == "0" and slip["shipping_cost"] == "1" and money(slip, "total_shipping_tax_incl") > 0
    assert slip["order_slip_type"] == "2"  # the shipping refund makes it type 2, no amount was chosen
    assert money(slip, "amount") == money(slip, "total_products_tax_incl")
    assert money(slip, "total_products_tax_incl") + money(slip, "total_shipping_tax_incl") == money(order, "total_paid_tax_incl")
    # this order's lines and shipping round the same per slip line as on the order (in general a cent may differ)
    assert money(slip, "total_products_tax_excl") + money(slip, "total_shipping_tax_excl") == money(order, "total_paid_tax_excl")
    assert sorted(d["id_order_detail"] for d in slip["associations"]["order_slip_details"]) == sorted(str(d["id"]) for d in details)
    assert all(d["product_quantity_refunded"] == d["product_quantity"] for d in details)
    assert all(d["total_refunded_tax_incl"] == d["total_price_tax_incl"] for d in details)
    assert slip["date_add"] >= order["date_upd"] and slip["id_customer"] == order["id_customer"]


def test_one_item_and_shipping_only(sandbox: SandboxServers) -> None:
    lines = seeded(sandbox, "slip_lines")
    (detail,) = lines["associations"]["order_slip_details"]
    assert (lines["partial"], lines["shipping_cost"], lines["order_slip_type"], detail["product_quantity"]) == ("0", "0", "0", "1")
    assert money(lines, "total_products_tax_incl") == money(detail, "amount_tax_incl") == money(lines, "amount")
    assert money(lines, "total_products_tax_excl") == money(detail, "amount_tax_excl")
    assert "mixed_rates" in sandbox.shop.tags[int(lines["id_order"])]

    shipping = seeded(sandbox, "slip_shipping")
    order = sandbox.shop.order(int(shipping["id_order"]))
    assert shipping["associations"]["order_slip_details"] == [] and money(shipping, "total_products_tax_incl") == 0
    assert money(shipping, "total_shipping_tax_incl") == money(shipping, "shipping_cost_amount") == money(order, "total_shipping_tax_incl")
    assert money(shipping, "total_shipping_tax_excl") == money(order, "total_shipping_tax_excl")
    assert shipping["order_slip_type"] == "2" and money(shipping, "amount") == 0  # type 2 with the products' total (none) as amount


def test_a_typed_partial_amount_and_a_chosen_amount(sandbox: SandboxServers) -> None:
    partial = seeded(sandbox, "slip_partial_amount")
    (line,) = partial["associations"]["order_slip_details"]
    detail = sandbox.shop.get("order_details", int(line["id_order_detail"]))
    rate = D(sandbox.shop.get("taxes", int(detail["associations"]["taxes"][0]["id"]))["rate"])
    typed = cents(D(detail["unit_price_tax_incl"]) / 4)  # a quarter of one item's price
    assert (line["product_quantity"], money(line, "amount_tax_incl"), money(line, "amount_tax_excl")) == ("1", typed, cents(typed * 100 / (100 + rate)))
    assert money(partial, "total_products_tax_incl") == money(partial, "amount") == typed and partial["order_slip_type"] == "0"
    assert money(detail, "total_refunded_tax_incl") == typed and detail["product_quantity_refunded"] == "1"

    chosen = seeded(sandbox, "slip_chosen_amount")
    (line,) = chosen["associations"]["order_slip_details"]
    unit = D(sandbox.shop.get("order_details", int(line["id_order_detail"]))["unit_price_tax_incl"])
    assert money(chosen, "amount") == cents(unit / 2) and money(chosen, "total_products_tax_incl") == money(line, "amount_tax_incl") == unit
    assert (chosen["order_slip_type"], chosen["shipping_cost"]) == ("2", "0")


def test_a_voucher_excluded_refund_takes_the_voucher_off_the_excl_total(sandbox: SandboxServers) -> None:
    slip = seeded(sandbox, "slip_voucher")
    order = sandbox.shop.order(int(slip["id_order"]))
    rows = slip["associations"]["order_slip_details"]
    assert "discount" in sandbox.shop.tags[order["id"]] and money(order, "total_discounts") > 0 and slip["order_slip_type"] == "1"
    # PrestaShop subtracts the voucher with VAT from the total WITHOUT VAT; the total with VAT and amount keep every line
    assert money(slip, "total_products_tax_excl") == sum(money(r, "amount_tax_excl") for r in rows) - money(order, "total_discounts")
    assert money(slip, "total_products_tax_incl") == money(slip, "amount") == sum(money(r, "amount_tax_incl") for r in rows)
    assert money(slip, "total_products_tax_incl") == money(order, "total_products_wt")


def test_a_business_customers_slip_is_computed_without_vat(sandbox: SandboxServers) -> None:
    slip = seeded(sandbox, "slip_b2b")
    order = sandbox.shop.order(int(slip["id_order"]))
    customer = api(sandbox, f"customers/{order['id_customer']}").json()["customer"]
    group = api(sandbox, f"groups/{customer['id_default_group']}").json()["group"]
    assert (customer["id_default_group"], group["price_display_method"]) == ("4", "1") and "nl_company" in sandbox.shop.tags[order["id"]]
    (line,) = slip["associations"]["order_slip_details"]
    detail = sandbox.shop.get("order_details", int(line["id_order_detail"]))
    rate = D(sandbox.shop.get("taxes", int(detail["associations"]["taxes"][0]["id"]))["rate"])
    unit_excl = money(detail, "unit_price_tax_excl")
    # the total without VAT is q × the unit price without VAT, unrounded (six decimals); amount follows it
    assert money(slip, "total_products_tax_excl") == money(slip, "amount") == unit_excl
    assert money(line, "amount_tax_excl") == cents(unit_excl) and money(line, "amount_tax_incl") == cents(unit_excl * (100 + rate) / 100)
    assert money(slip, "total_products_tax_incl") == money(line, "amount_tax_incl")  # PS_ROUND_TYPE 2: the lines' sum
    # shipping: at most the order's shipping WITHOUT VAT, VAT added and rounded
    assert money(slip, "total_shipping_tax_excl") == money(order, "total_shipping_tax_excl") > 0
    assert money(slip, "total_shipping_tax_incl") == cents(money(order, "total_shipping_tax_excl") * (100 + money(order, "carrier_tax_rate")) / 100)
    assert slip["order_slip_type"] == "2" and money(detail, "total_refunded_tax_excl") == cents(unit_excl)


def test_round_on_total_is_a_cent_off_the_lines(sandbox: SandboxServers) -> None:
    slip = seeded(sandbox, "slip_round_total")
    rows = slip["associations"]["order_slip_details"]
    assert slip["order_slip_type"] == "0" and len(rows) >= 2
    assert money(slip, "total_products_tax_incl") == sum(money(r, "amount_tax_incl") for r in rows)
    assert abs(money(slip, "total_products_tax_excl") - sum(money(r, "amount_tax_excl") for r in rows)) == D("0.01")


def test_the_oss_unbooked_refused_and_mismatched_slips(sandbox: SandboxServers) -> None:
    oss = seeded(sandbox, "slip_oss")
    assert "oss_de" in sandbox.shop.tags[int(oss["id_order"])]
    unbooked = seeded(sandbox, "slip_order_unbooked")
    unbooked_order = sandbox.shop.order(int(unbooked["id_order"]))
    assert unbooked_order["current_state"] == "7" and unbooked["date_add"] == unbooked_order["date_upd"]  # refunded when set to Refunded
    refused = seeded(sandbox, "slip_order_refused")
    assert "unmapped_fr" in sandbox.shop.tags[int(refused["id_order"])]
    mismatch = seeded(sandbox, "slip_cent_mismatch")
    lines = sum(D(d["amount_tax_incl"]) for d in mismatch["associations"]["order_slip_details"])
    assert money(mismatch, "total_products_tax_incl") - lines == D("0.01")


def test_slips_leave_the_seeded_orders_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    with_slips = ShopState()
    seed_shop(with_slips, 42, 120, 3, ANCHOR)
    monkeypatch.setattr(ShopSeeder, "_slips", lambda self: None)
    without = ShopState()
    seed_shop(without, 42, 120, 3, ANCHOR)
    assert with_slips.items("orders") == without.items("orders")
    assert with_slips.items("order_payments") == without.items("order_payments")
    refund_fields = {"product_quantity_refunded", "total_refunded_tax_incl", "total_refunded_tax_excl"}

    def unrefunded(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k not in refund_fields} for d in details]

    assert unrefunded(with_slips.items("order_details")) == unrefunded(without.items("order_details"))
    assert with_slips.items("order_slip") and not without.items("order_slip")
    # only slip_b2b's customer changed: moved to the business group
    (b2b,) = with_slips.tagged_slips("slip_b2b")
    moved = int(with_slips.get("order_slip", b2b)["id_customer"])
    changed = [(a["id"], a["id_default_group"]) for a, b in zip(with_slips.items("customers"), without.items("customers"), strict=True) if a != b]
    assert changed == [(moved, "4")]


# ---- exact amounts of hand-made orders (no HTTP): PrestaShop's refund flow, by hand in the comments -----------------

CLOCK = dt.datetime(2026, 3, 1, 10, 0, 0)
TOTALS = ("total_products_tax_incl", "total_products_tax_excl", "total_shipping_tax_incl", "total_shipping_tax_excl", "amount")


def figures(slip: dict[str, Any]) -> tuple[str, ...]:
    """A slip's totals, type and shipping_cost as plain 2-decimal strings (6-decimal when not whole cents)."""
    def short(text: str) -> str:
        return text[:-4] if text.endswith("0000") else text

    return (*(short(slip[name]) for name in TOTALS), slip["order_slip_type"], slip["shipping_cost"])


def rows(slip: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(detail, quantity, amount_tax_incl, amount_tax_excl) per slip line, 2 decimals."""
    return [(d["id_order_detail"], d["product_quantity"], d["amount_tax_incl"][:-4], d["amount_tax_excl"][:-4]) for d in slip["associations"]["order_slip_details"]]


@pytest.fixture
def shop() -> ShopState:
    """An empty shop with one order: 2 × 12.10 at 21% (10.00 excl each), 1 × 5.45 at 9% (5.00 excl), shipping 6.05 at 21%."""
    state = ShopState(clock=lambda: CLOCK)
    state.create_order(
        {
            "customer": {"email": "a@example.nl", "firstname": "Anna", "lastname": "Smit"},
            "address": "NL",
            "lines": [
                {"name": "Tea", "sku": "T", "quantity": 2, "tax_rate": "21", "unit_price_incl": "12.10"},
                {"name": "Book", "sku": "B", "quantity": 1, "tax_rate": "9", "unit_price_incl": "5.45"},
            ],
            "shipping_incl": "6.05",
            "shipping_rate": "21",
            "state": 5,
        }
    )
    return state


def rounding_order(group: int) -> ShopState:
    """One order whose refund rounds differently per PS_ROUND_TYPE, for a customer in ``group`` (3 with VAT, 4 without).

    Group 3 (prices with VAT): detail 1 = 3 × 1.99, detail 2 = 1 × 24.99, both 21%; detail 3 = 1 × 5.45 at 9% (5.00
    excl); shipping 6.05 at 21% (5.00 excl); a voucher of 3.00. Group 4 (prices without VAT, as a business shop enters
    them): detail 1 = 3 × 1.45, detail 2 = 1 × 20.45, both 21%; detail 3 = 1 × 5.00 at 9% (5.45 incl); shipping 6.05
    incl (5.00 excl); a voucher of 3.63 (3.00 excl).
    """
    state = ShopState(clock=lambda: CLOCK)
    price = "unit_price_incl" if group == 3 else "unit_price_excl"
    units = ("1.99", "24.99", "5.45") if group == 3 else ("1.45", "20.45", "5.00")
    state.create_order(
        {
            "customer": {"email": "r@example.nl", "firstname": "Rob", "lastname": "Rond", "company": "" if group == 3 else "Rond BV", "group": group},
            "address": "NL",
            "lines": [
                {"name": "Theezakjes", "sku": "Z", "quantity": 3, "tax_rate": "21", price: units[0]},
                {"name": "Thermoskan", "sku": "K", "quantity": 1, "tax_rate": "21", price: units[1]},
                {"name": "Sencha", "sku": "S", "quantity": 1, "tax_rate": "9", price: units[2]},
            ],
            "shipping_incl": "6.05",
            "shipping_rate": "21",
            **({"discount_incl": "3.00"} if group == 3 else {"discount_incl": "3.63", "discount_excl": "3.00"}),
            "state": 5,
        }
    )
    return state


EVERYTHING = {"lines": [{"detail": 1}, {"detail": 2}, {"detail": 3}], "shipping": True}
# (group, PS_ROUND_TYPE) → the whole order refunded with its shipping: (totals, type, shipping_cost), slip lines.
WHOLE = {
    # with VAT (add_tax false): incl = the refunds; excl per line: round type 1: round(1.99 / 1.21 = 1.6446) × 3 = 4.92,
    # 2 and 3: round(5.97 / 1.21 = 4.9339) = 4.93; 24.99 / 1.21 = 20.6529 → 20.65; 5.45 / 1.09 = 5.00.
    # total excl: 1: 4.92 + 20.65 + 5.00 = 30.57; 2: 4.93 + 20.65 + 5.00 = 30.58; 3: round(30.96 / 1.21 = 25.5868) = 25.59
    # for the 21% rule + 5.00 = 30.59. Shipping 6.05 → 6.05 / 5.00. amount = products incl 36.41; type 2 (shipping).
    (3, 1): (("36.41", "30.57", "6.05", "5.00", "36.41", "2", "1"), [("1", "3", "5.97", "4.92"), ("2", "1", "24.99", "20.65"), ("3", "1", "5.45", "5.00")]),
    (3, 2): (("36.41", "30.58", "6.05", "5.00", "36.41", "2", "1"), [("1", "3", "5.97", "4.93"), ("2", "1", "24.99", "20.65"), ("3", "1", "5.45", "5.00")]),
    (3, 3): (("36.41", "30.59", "6.05", "5.00", "36.41", "2", "1"), [("1", "3", "5.97", "4.93"), ("2", "1", "24.99", "20.65"), ("3", "1", "5.45", "5.00")]),
    # without VAT (add_tax true): excl = the refunds 4.35 + 20.45 + 5.00 = 29.80; incl per line: 1: round(1.45 × 1.21 =
    # 1.7545) × 3 = 5.25, 2 and 3: round(4.35 × 1.21 = 5.2635) = 5.26; 20.45 × 1.21 = 24.7445 → 24.74; 5.00 × 1.09 = 5.45.
    # total incl: 1: 5.25 + 24.74 + 5.45 = 35.44; 2: 5.26 + 24.74 + 5.45 = 35.45; 3: round(24.80 × 1.21 = 30.008) = 30.01
    # + 5.45 = 35.46. Shipping: asked 6.05 (the order's with VAT), capped at the order's without VAT 5.00, VAT added: 6.05.
    # amount = products excl 29.80.
    (4, 1): (("35.44", "29.80", "6.05", "5.00", "29.80", "2", "1"), [("1", "3", "5.25", "4.35"), ("2", "1", "24.74", "20.45"), ("3", "1", "5.45", "5.00")]),
    (4, 2): (("35.45", "29.80", "6.05", "5.00", "29.80", "2", "1"), [("1", "3", "5.26", "4.35"), ("2", "1", "24.74", "20.45"), ("3", "1", "5.45", "5.00")]),
    (4, 3): (("35.46", "29.80", "6.05", "5.00", "29.80", "2", "1"), [("1", "3", "5.26", "4.35"), ("2", "1", "24.74", "20.45"), ("3", "1", "5.45", "5.00")]),
}  # fmt: skip


@pytest.mark.parametrize(("group", "round_type"), sorted(WHOLE))
def test_a_whole_refund_per_display_method_and_round_type(group: int, round_type: int) -> None:
    state = rounding_order(group)
    state.set_configuration("PS_ROUND_TYPE", round_type)
    slip = state.create_slip({"order": 1, **EVERYTHING})
    assert (figures(slip), rows(slip)) == WHOLE[group, round_type]
    assert slip["partial"] == "0" and slip["shipping_cost_amount"] == slip["total_shipping_tax_incl"]
    # the order's lines: refunded quantity, and the refund ∓ VAT at the line's rate rounded once (not per round type)
    detail = state.get("order_details", 1)
    assert detail["product_quantity_refunded"] == "3"
    assert (detail["total_refunded_tax_incl"], detail["total_refunded_tax_excl"]) == (("5.970000", "4.930000") if group == 3 else ("5.260000", "4.350000"))


# (group, spec) → totals, type, shipping_cost; PS_ROUND_TYPE 2 (the default).
FLOWS = [
    # a voucher excluded (type 1), with VAT: the voucher 3.00 with VAT comes off the total WITHOUT VAT: 30.58 − 3.00 = 27.58;
    # total incl and amount keep the lines' 36.41
    (3, {"lines": EVERYTHING["lines"], "voucher_refund": 1}, ("36.41", "27.58", "0.00", "0.00", "36.41", "1", "0")),
    # without VAT: the voucher 3.63 (the order's total_discounts, with VAT) comes off the total WITH VAT: 35.45 − 3.63 = 31.82
    (4, {"lines": EVERYTHING["lines"], "voucher_refund": 1}, ("31.82", "29.80", "0.00", "0.00", "29.80", "1", "0")),
    # a chosen amount (type 2): the lines stay as they are, amount is what was chosen
    (3, {"lines": [{"detail": 2}], "voucher_refund": 2, "chosen_amount": "20.00"}, ("24.99", "20.65", "0.00", "0.00", "20.00", "2", "0")),
    (4, {"lines": [{"detail": 2}], "voucher_refund": 2, "chosen_amount": "20.00"}, ("24.74", "20.45", "0.00", "0.00", "20.00", "2", "0")),
    # a chosen amount and shipping: amount stays the chosen one, the shipping in total_shipping_*
    (3, {"lines": [{"detail": 2}], "voucher_refund": 2, "chosen_amount": "20.00", "shipping": True}, ("24.99", "20.65", "6.05", "5.00", "20.00", "2", "1")),
    # shipping only, typed: type 2 without any amount chosen; amount = the products' total, 0
    (3, {"shipping": "3.03"}, ("0.00", "0.00", "3.03", "2.50", "0.00", "2", "1")),  # 3.03 / 1.21 = 2.5041 → 2.50
    (4, {"shipping": "2.00"}, ("0.00", "0.00", "2.42", "2.00", "0.00", "2", "1")),  # typed without VAT: 2.00 × 1.21 = 2.42
    # a typed amount on one item of line 1 (quantity 1): with VAT 1.00 → excl round(1.00 / 1.21 = 0.8264) = 0.83
    (3, {"lines": [{"detail": 1, "quantity": 1, "amount": "1.00"}]}, ("1.00", "0.83", "0.00", "0.00", "1.00", "0", "0")),
    # without VAT 1.00 → incl round(1.21) = 1.21
    (4, {"lines": [{"detail": 1, "quantity": 1, "amount": "1.00"}]}, ("1.21", "1.00", "0.00", "0.00", "1.00", "0", "0")),
    # a typed amount above the most (1 × 1.99) is capped to it
    (3, {"lines": [{"detail": 1, "quantity": 1, "amount": "5.00"}]}, ("1.99", "1.64", "0.00", "0.00", "1.99", "0", "0")),
]  # fmt: skip


@pytest.mark.parametrize(("group", "spec", "expected"), FLOWS)
def test_voucher_chosen_amount_shipping_and_typed_amounts(group: int, spec: dict[str, Any], expected: tuple[str, ...]) -> None:
    state = rounding_order(group)
    assert figures(state.create_slip({"order": 1, **spec})) == expected


def test_a_partial_amount_of_a_line_with_vat(shop: ShopState) -> None:
    slip = shop.create_slip({"order": 1, "lines": [{"detail": 1, "amount": "6.05"}], "date_add": "2026-03-02 09:00:00"})
    # the 24.20 line (2 × 12.10): 6.05 typed for both items, price 3.025 each; excl round(6.05 / 1.21) = 5.00
    assert rows(slip) == [("1", "2", "6.05", "5.00")]
    assert figures(slip) == ("6.05", "5.00", "0.00", "0.00", "6.05", "0", "0")
    assert (slip["partial"], slip["date_add"], slip["id_customer"]) == ("0", "2026-03-02 09:00:00", "1")
    detail = shop.get("order_details", 1)
    assert (detail["product_quantity_refunded"], detail["total_refunded_tax_incl"], detail["total_refunded_tax_excl"]) == ("2", "6.050000", "5.000000")
    with pytest.raises(ValueError, match="1 to refund, 0 left"):  # the items count as refunded, whatever the amount
        shop.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 1}]})


def test_a_line_and_part_of_the_shipping_to_the_cent(shop: ShopState) -> None:
    slip = shop.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 1}], "shipping": "3.03"})
    # one tea: 12.10 incl, 10.00 excl; shipping 3.03 / 1.21 = 2.5041… → 2.50; type 2 for the shipping
    assert figures(slip) == ("12.10", "10.00", "3.03", "2.50", "12.10", "2", "1")
    assert shop.get("order_details", 1)["product_quantity_refunded"] == "1"
    with pytest.raises(ValueError, match="2 to refund, 1 left"):  # the second tea can still be refunded, a third cannot
        shop.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 2}]})


@pytest.mark.parametrize(
    ("group", "first", "second"),
    [
        # with VAT: 6.05 − the first slip's 3.03 = 3.02 left; 3.02 / 1.21 = 2.4959 → 2.50
        (3, ("3.03", "2.50"), ("3.02", "2.50")),
        # without VAT: the first slip's 2.00 excl is 2.42 with VAT, and PrestaShop subtracts THAT from the order's 5.00
        # without VAT: 2.58 left (not 3.00), 2.58 × 1.21 = 3.1218 → 3.12
        (4, ("2.42", "2.00"), ("3.12", "2.58")),
    ],
)
def test_shipping_is_capped_by_what_earlier_slips_gave_back(group: int, first: tuple[str, str], second: tuple[str, str]) -> None:
    state = rounding_order(group)
    one = state.create_slip({"order": 1, "shipping": "3.03" if group == 3 else "2.00"})
    two = state.create_slip({"order": 1, "shipping": True})
    assert figures(one)[2:4] == first and figures(two)[2:4] == second
    with pytest.raises(ValueError, match="nothing to refund"):  # no shipping left (or less than none) and no line
        state.create_slip({"order": 1, "shipping": True})
    three = state.create_slip({"order": 1, "lines": [{"detail": 3}], "shipping": True})  # a line with it: no shipping
    assert (three["shipping_cost"], three["total_shipping_tax_incl"], three["order_slip_type"]) == ("0", "0.000000", "0")


def test_the_legacy_partial_shape_of_prestashop_1_6(shop: ShopState) -> None:
    slip = shop.create_slip({"order": 1, "legacy_partial": True, "lines": [{"detail": 1, "quantity": 1, "amount": "5.00"}], "shipping": "3.03"})
    # OrderSlip::createPartialOrderSlip: partial 1, no totals, amount = the lines' refund, the shipping only in
    # shipping_cost_amount (shipping_cost 0); per line the amount with VAT and that / 1.21 = 4.132231 unrounded
    assert {name: slip[name] for name in (*TOTALS, "partial", "shipping_cost", "shipping_cost_amount", "order_slip_type")} == {
        "total_products_tax_incl": "0.000000", "total_products_tax_excl": "0.000000", "total_shipping_tax_incl": "0.000000",
        "total_shipping_tax_excl": "0.000000", "amount": "5.000000", "partial": "1", "shipping_cost": "0", "shipping_cost_amount": "3.030000",
        "order_slip_type": "0",
    }  # fmt: skip
    assert slip["associations"]["order_slip_details"] == [
        {"id": "1", "id_order_detail": "1", "product_quantity": "1", "amount_tax_excl": "4.132231", "amount_tax_incl": "5.000000"}
    ]
    detail = shop.get("order_details", 1)
    assert (detail["product_quantity_refunded"], detail["total_refunded_tax_incl"]) == ("1", "0.000000")  # 1.6 had no total_refunded_*


def test_total_adjustment_makes_a_hand_edited_slip(shop: ShopState) -> None:
    slip = shop.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 1}], "total_adjustment": "0.01"})
    assert figures(slip)[:2] == ("12.11", "10.00") and rows(slip) == [("1", "1", "12.10", "10.00")]


def test_bad_slips_are_refused_as_prestashop_refuses_them(shop: ShopState) -> None:
    with pytest.raises(ValueError, match="not a line of order 1"):
        shop.create_slip({"order": 1, "lines": [{"detail": 99}]})
    with pytest.raises(ValueError, match="0 to refund, 2 left"):
        shop.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 0}]})
    with pytest.raises(ValueError, match="must be more than 0"):
        shop.create_slip({"order": 1, "lines": [{"detail": 1, "amount": "0"}]})
    with pytest.raises(ValueError, match="nothing to refund"):
        shop.create_slip({"order": 1})
    with pytest.raises(ValueError, match="unknown credit slip field.*amount_incl"):  # PrestaShop never writes an amount-only slip
        shop.create_slip({"order": 1, "amount_incl": "1.00"})
    with pytest.raises(ValueError, match="chosen_amount goes with voucher_refund 2"):
        shop.create_slip({"order": 1, "lines": [{"detail": 1}], "chosen_amount": "1.00"})
    with pytest.raises(KeyError):
        shop.create_slip({"order": 2, "lines": [{"detail": 1}]})
    assert shop.items("order_slip") == [] and shop.get("order_details", 1)["product_quantity_refunded"] == "0"


def test_a_voucher_bigger_than_the_refund_leaves_nothing_to_refund() -> None:
    state = rounding_order(3)
    with pytest.raises(ValueError, match="nothing to refund"):  # one item 1.99 − the voucher 3.00 < 0
        state.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 1}], "voucher_refund": 1})


@pytest.fixture(scope="module")
def fresh() -> Iterator[SandboxServers]:
    """A small sandbox the admin test may change."""
    with SandboxServers(seed=7, orders=10, anchor=ANCHOR) as servers:
        yield servers


def test_admin_route_creates_a_slip_the_webservice_then_lists(fresh: SandboxServers) -> None:
    order = max(o["id"] for o in fresh.shop.items("orders"))
    detail = max(d["id"] for d in fresh.shop.order_details(order))
    made = requests.post(
        f"{fresh.prestashop_url}/__sandbox__/order_slips", json={"order": order, "lines": [{"detail": detail, "quantity": 1, "amount": "1.00"}], "tags": ["extra"]}, timeout=10
    )
    assert made.status_code == 201
    slip = made.json()["order_slip"]
    assert slip["id_order"] == str(order) and slip["amount"] == "1.000000" and slip["order_slip_type"] == "0"
    assert api(fresh, f"order_slip/{slip['id']}").json()["order_slip"] == slip
    assert requests.get(f"{fresh.prestashop_url}/__sandbox__/slip_tags", timeout=10).json()["extra"] == [slip["id"]]
    bad = requests.post(f"{fresh.prestashop_url}/__sandbox__/order_slips", json={"order": order, "lines": [{"detail": 1}]}, timeout=10)
    assert bad.status_code == 400 and "not a line of order" in bad.json()["error"]
    gone = requests.post(f"{fresh.prestashop_url}/__sandbox__/order_slips", json={"order": order, "amount_incl": "1.00"}, timeout=10)
    assert gone.status_code == 400 and "amount_incl" in gone.json()["error"]
    assert requests.post(f"{fresh.prestashop_url}/__sandbox__/order_slips", json={"order": 99999, "shipping": True}, timeout=10).status_code == 404
