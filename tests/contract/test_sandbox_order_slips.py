"""Contract of the emulator's credit slips (``/api/order_slip``): shapes as PrestaShop's OrderSlip, filters, seed, admin."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

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
    "slip_amount", "slip_cent_mismatch", "slip_full", "slip_lines", "slip_order_refused", "slip_order_unbooked", "slip_oss", "slip_shipping",
)  # fmt: skip


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
        assert slip["partial"] in ("0", "1") and slip["shipping_cost"] in ("0", "1") and slip["order_slip_type"] == "0"
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
    assert money(slip, "total_products_tax_incl") + money(slip, "total_shipping_tax_incl") == money(order, "total_paid_tax_incl")
    assert money(slip, "total_products_tax_excl") + money(slip, "total_shipping_tax_excl") == money(order, "total_paid_tax_excl")
    assert sorted(d["id_order_detail"] for d in slip["associations"]["order_slip_details"]) == sorted(str(d["id"]) for d in details)
    assert all(d["product_quantity_refunded"] == d["product_quantity"] for d in details)
    assert all(d["total_refunded_tax_incl"] == d["total_price_tax_incl"] for d in details)
    assert slip["date_add"] >= order["date_upd"] and slip["id_customer"] == order["id_customer"]


def test_partial_lines_shipping_only_and_amount_only(sandbox: SandboxServers) -> None:
    lines = seeded(sandbox, "slip_lines")
    (detail,) = lines["associations"]["order_slip_details"]
    assert lines["partial"] == "1" and lines["shipping_cost"] == "0" and detail["product_quantity"] == "1"
    assert money(lines, "total_products_tax_incl") == money(detail, "amount_tax_incl") == money(lines, "amount")
    assert "mixed_rates" in sandbox.shop.tags[int(lines["id_order"])]

    shipping = seeded(sandbox, "slip_shipping")
    order = sandbox.shop.order(int(shipping["id_order"]))
    assert shipping["associations"]["order_slip_details"] == [] and money(shipping, "total_products_tax_incl") == 0
    assert money(shipping, "total_shipping_tax_incl") == money(shipping, "shipping_cost_amount") == money(order, "total_shipping_tax_incl")
    assert money(shipping, "total_shipping_tax_excl") == money(order, "total_shipping_tax_excl")

    amount = seeded(sandbox, "slip_amount")
    assert amount["associations"]["order_slip_details"] == [] and amount["partial"] == "1"
    assert money(amount, "amount") == money(amount, "total_products_tax_incl") == Decimal("5.00")
    assert Decimal("5.00") / Decimal("1.21") < money(amount, "total_products_tax_excl") < Decimal("5.00") / Decimal("1.09")  # two rates


def test_the_oss_unbooked_refused_and_mismatched_slips(sandbox: SandboxServers) -> None:
    oss = seeded(sandbox, "slip_oss")
    assert "oss_de" in sandbox.shop.tags[int(oss["id_order"])]
    unbooked = seeded(sandbox, "slip_order_unbooked")
    unbooked_order = sandbox.shop.order(int(unbooked["id_order"]))
    assert unbooked_order["current_state"] == "7" and unbooked["date_add"] == unbooked_order["date_upd"]  # refunded when set to Refunded
    refused = seeded(sandbox, "slip_order_refused")
    assert "unmapped_fr" in sandbox.shop.tags[int(refused["id_order"])]
    mismatch = seeded(sandbox, "slip_cent_mismatch")
    lines = sum(Decimal(d["amount_tax_incl"]) for d in mismatch["associations"]["order_slip_details"])
    assert money(mismatch, "total_products_tax_incl") - lines == Decimal("0.01")


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


# ---- exact amounts of a hand-made order (no HTTP) -------------------------------------------------


@pytest.fixture
def shop() -> ShopState:
    """An empty shop with one order: 2 × 12.10 at 21% (10.00 excl each), 1 × 5.45 at 9% (5.00 excl), shipping 6.05 at 21%."""
    state = ShopState(clock=lambda: dt.datetime(2026, 3, 1, 10, 0, 0))
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


def test_a_line_and_part_of_the_shipping_to_the_cent(shop: ShopState) -> None:
    slip = shop.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 1}], "shipping_incl": "3.03", "date_add": "2026-03-02 09:00:00"})
    # one tea: 12.10 incl, 10.00 excl; shipping 3.03 / 1.21 = 2.5041… → 2.50
    assert (slip["total_products_tax_incl"], slip["total_products_tax_excl"]) == ("12.100000", "10.000000")
    assert (slip["total_shipping_tax_incl"], slip["total_shipping_tax_excl"], slip["shipping_cost"]) == ("3.030000", "2.500000", "1")
    assert slip["associations"]["order_slip_details"] == [
        {"id": "1", "id_order_detail": "1", "product_quantity": "1", "amount_tax_excl": "10.000000", "amount_tax_incl": "12.100000"}
    ]
    assert (slip["partial"], slip["date_add"], slip["id_customer"]) == ("1", "2026-03-02 09:00:00", "1")
    assert shop.get("order_details", 1)["product_quantity_refunded"] == "1"
    assert shop.get("order_details", 1)["total_refunded_tax_incl"] == "12.100000"
    # the second tea can still be refunded, a third cannot
    with pytest.raises(ValueError, match="2 to refund, 1 left"):
        shop.create_slip({"order": 1, "lines": [{"detail": 1, "quantity": 2}]})


def test_an_amount_only_refund_spreads_its_vat_over_the_orders_rates(shop: ShopState) -> None:
    slip = shop.create_slip({"order": 1, "amount_incl": "10.00"})
    # products 24.20 at 21% and 5.45 at 9% of 29.65: 10 × 24.20/29.65 / 1.21 = 6.7454 and 10 × 5.45/29.65 / 1.09 = 1.6863 → 8.43
    assert (slip["total_products_tax_incl"], slip["total_products_tax_excl"], slip["amount"]) == ("10.000000", "8.430000", "10.000000")
    assert slip["associations"]["order_slip_details"] == [] and slip["partial"] == "1" and slip["shipping_cost"] == "0"


def test_bad_slips_are_refused(shop: ShopState) -> None:
    with pytest.raises(ValueError, match="not a line of order 1"):
        shop.create_slip({"order": 1, "lines": [{"detail": 99}]})
    with pytest.raises(ValueError, match="lines or an amount, not both"):
        shop.create_slip({"order": 1, "lines": [{"detail": 1}], "amount_incl": "1.00"})
    with pytest.raises(ValueError, match="at least one line"):
        shop.create_slip({"order": 1})
    with pytest.raises(KeyError):
        shop.create_slip({"order": 2, "amount_incl": "1.00"})


@pytest.fixture(scope="module")
def fresh() -> Iterator[SandboxServers]:
    """A small sandbox the admin test may change."""
    with SandboxServers(seed=7, orders=10, anchor=ANCHOR) as servers:
        yield servers


def test_admin_route_creates_a_slip_the_webservice_then_lists(fresh: SandboxServers) -> None:
    order = max(o["id"] for o in fresh.shop.items("orders"))
    made = requests.post(f"{fresh.prestashop_url}/__sandbox__/order_slips", json={"order": order, "amount_incl": "1.00", "tags": ["extra"]}, timeout=10)
    assert made.status_code == 201
    slip = made.json()["order_slip"]
    assert slip["id_order"] == str(order) and slip["amount"] == "1.000000"
    assert api(fresh, f"order_slip/{slip['id']}").json()["order_slip"] == slip
    assert requests.get(f"{fresh.prestashop_url}/__sandbox__/slip_tags", timeout=10).json()["extra"] == [slip["id"]]
    bad = requests.post(f"{fresh.prestashop_url}/__sandbox__/order_slips", json={"order": order, "lines": [{"detail": 1}]}, timeout=10)
    assert bad.status_code == 400 and "not a line of order" in bad.json()["error"]
    assert requests.post(f"{fresh.prestashop_url}/__sandbox__/order_slips", json={"order": 99999, "amount_incl": "1"}, timeout=10).status_code == 404
