"""Contract of the PrestaShop webservice emulator over real HTTP: auth, shapes, filters, display, sort, limit, admin."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY

ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)
AMOUNT = re.compile(r"^-?\d+\.\d{6}$")
RATE = re.compile(r"^\d+\.\d{3}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
ORDER_AMOUNTS = (
    "total_discounts", "total_discounts_tax_incl", "total_discounts_tax_excl", "total_paid", "total_paid_tax_incl", "total_paid_tax_excl",
    "total_paid_real", "total_products", "total_products_wt", "total_shipping", "total_shipping_tax_incl", "total_shipping_tax_excl",
    "total_wrapping", "total_wrapping_tax_incl", "total_wrapping_tax_excl", "conversion_rate",
)  # fmt: skip


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    """The seeded sandbox, read-only for this module's tests (changes go to ``fresh``)."""
    with SandboxServers(seed=42, orders=300, anchor=ANCHOR) as servers:
        yield servers


@pytest.fixture(scope="module")
def fresh() -> Iterator[SandboxServers]:
    """A small sandbox the admin tests may change."""
    with SandboxServers(seed=7, orders=10, anchor=ANCHOR) as servers:
        yield servers


def api(servers: SandboxServers, path: str, key: str | None = DEFAULT_KEY, **params: Any) -> requests.Response:
    """GET /api/<path> as JSON with the key as Basic user name."""
    auth = (key, "") if key is not None else None
    return requests.get(f"{servers.prestashop_url}/api/{path}", params={"output_format": "JSON", **params}, auth=auth, timeout=10)


def ids(response: requests.Response, resource: str = "orders") -> list[int]:
    """The ids of a list answer."""
    data = response.json()
    return [] if data == [] else [int(item["id"]) for item in data[resource]]


# ---- access --------------------------------------------------------------------------------------


def error(response: requests.Response) -> tuple[int, str]:
    """PrestaShop's one error: (code, message)."""
    errors = response.json()["errors"]
    assert len(errors) == 1 and set(errors[0]) == {"code", "message"}
    return errors[0]["code"], errors[0]["message"]


ORDERS_ONLY = "ORDERSONLYKEY0000000000000000000"  # 32 characters


def test_no_key_at_all_is_the_dispatchers_bare_401(sandbox: SandboxServers) -> None:
    missing = api(sandbox, "orders", key=None)
    assert (missing.status_code, missing.text) == (401, "401 Unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith('Basic realm="Welcome to PrestaShop Webservice')


@pytest.mark.parametrize(
    ("key", "code", "message"),
    [
        ("", 17, "Authentication key is empty"),
        ("NOTTHEKEY", 18, "Invalid authentication key format"),
        (DEFAULT_KEY + "0", 18, "Invalid authentication key format"),  # 33 characters, the old demo key's mistake
        ("WRONGKEY" + "0" * 24, 20, "Authentification key is not active"),  # PrestaShop's own spelling
    ],
)
def test_bad_keys_get_401_with_prestashops_codes(sandbox: SandboxServers, key: str, code: int, message: str) -> None:
    response = api(sandbox, "orders", key=key)
    assert response.status_code == 401
    assert error(response) == (code, message)
    assert "Basic" in response.headers["WWW-Authenticate"]
    assert "PSWS-Version" not in response.headers  # only authenticated answers carry the version


def test_key_works_as_basic_user_or_ws_key_and_basic_wins(sandbox: SandboxServers) -> None:
    basic = api(sandbox, "order_states")
    by_param = requests.get(f"{sandbox.prestashop_url}/api/order_states", params={"output_format": "JSON", "ws_key": DEFAULT_KEY}, timeout=10)
    both = api(sandbox, "order_states", key="WRONGKEY" + "0" * 24, ws_key=DEFAULT_KEY)  # dispatcher.php reads PHP_AUTH_USER first
    assert basic.status_code == by_param.status_code == 200
    assert basic.json() == by_param.json()
    assert basic.headers["PSWS-Version"]
    assert both.status_code == 401 and error(both)[0] == 20


def test_the_emulator_refuses_keys_that_are_not_32_characters(fresh: SandboxServers) -> None:
    with pytest.raises(ValueError, match="exactly 32 characters"):
        fresh.shop.set_key("SHORTKEY", ["orders"])
    answer = requests.put(f"{fresh.prestashop_url}/__sandbox__/keys/{DEFAULT_KEY}X", json={"resources": ["orders"]}, timeout=10)
    assert answer.status_code == 400


def test_a_resource_the_key_may_not_read_is_401_code_26_not_403(sandbox: SandboxServers) -> None:
    sandbox.shop.set_key(ORDERS_ONLY, ["orders"])
    assert api(sandbox, "orders", key=ORDERS_ONLY).status_code == 200
    forbidden = api(sandbox, "customers", key=ORDERS_ONLY)
    assert forbidden.status_code == 401
    assert error(forbidden) == (26, 'Resource of type "customers" is not allowed with this authentication key')
    assert "WWW-Authenticate" not in forbidden.headers  # the key itself is fine
    assert api(sandbox, "", key=ORDERS_ONLY).json() == {"api": {"orders": {"get": "true", "put": "false", "post": "false", "delete": "false", "head": "true"}}}


WRITE_ONLY = "WRITEONLYKEY00000000000000000000"  # 32 characters


def test_a_resource_the_key_has_without_get_is_405_code_25(sandbox: SandboxServers) -> None:
    # PrestaShop's permissions are per key, per resource and per method (the back office's View, Modify, Add...):
    # checkResource passes (the key has the resource), checkHTTPMethod refuses the GET with code 25
    sandbox.shop.set_key(WRITE_ONLY, {"orders": ["GET", "HEAD"], "currencies": ["PUT", "POST"]})
    assert api(sandbox, "orders", key=WRITE_ONLY).status_code == 200
    refused = api(sandbox, "currencies", key=WRITE_ONLY)
    assert refused.status_code == 405
    assert error(refused) == (25, "Method GET is not allowed for the resource currencies with this authentication key")
    assert api(sandbox, "customers", key=WRITE_ONLY).status_code == 401  # a resource it does not have at all: 26
    described = api(sandbox, "", key=WRITE_ONLY).json()["api"]
    assert described["currencies"] == {"get": "false", "put": "true", "post": "true", "delete": "false", "head": "false"}
    answer = requests.put(f"{sandbox.prestashop_url}/__sandbox__/keys/{WRITE_ONLY}", json={"resources": {"taxes": ["PUT"]}}, timeout=10)
    assert answer.status_code == 200 and api(sandbox, "taxes", key=WRITE_ONLY).status_code == 405


def test_unknown_resources_are_400_code_27_and_writes_405_code_25(sandbox: SandboxServers) -> None:
    unknown = api(sandbox, "order")
    post = requests.post(f"{sandbox.prestashop_url}/api/orders", params={"output_format": "JSON"}, auth=(DEFAULT_KEY, ""), timeout=10)
    assert unknown.status_code == 400
    code, message = error(unknown)
    assert code == 27 and message == 'Resource of type "order" does not exists. Did you mean: "orders"?'
    assert post.status_code == 405
    assert error(post) == (25, "Method POST is not allowed for the resource orders with this authentication key")


def test_a_host_that_strips_the_authorization_header_only_hears_ws_key(fresh: SandboxServers) -> None:
    fresh.shop.strip_authorization = True
    try:
        basic = api(fresh, "order_states")
        by_param = requests.get(f"{fresh.prestashop_url}/api/order_states", params={"output_format": "JSON", "ws_key": DEFAULT_KEY}, timeout=10)
    finally:
        fresh.shop.strip_authorization = False
    assert (basic.status_code, basic.text) == (401, "401 Unauthorized")
    assert by_param.status_code == 200
    knob = requests.put(f"{fresh.prestashop_url}/__sandbox__/settings", json={"strip_authorization": True}, timeout=10)
    assert knob.json() == {"strip_authorization": True} and api(fresh, "order_states").status_code == 401
    requests.put(f"{fresh.prestashop_url}/__sandbox__/settings", json={"strip_authorization": False}, timeout=10)
    assert api(fresh, "order_states").status_code == 200


def test_it_speaks_json_only(sandbox: SandboxServers) -> None:
    xml = requests.get(f"{sandbox.prestashop_url}/api/orders/1", auth=(DEFAULT_KEY, ""), timeout=10)
    by_header = requests.get(f"{sandbox.prestashop_url}/api/orders/1", auth=(DEFAULT_KEY, ""), headers={"Output-Format": "JSON"}, timeout=10)
    assert xml.status_code == 406 and "JSON output only" in xml.text
    assert by_header.json()["order"]["id"] == 1


# ---- shapes --------------------------------------------------------------------------------------


def test_list_without_display_holds_only_ids(sandbox: SandboxServers) -> None:
    data = api(sandbox, "orders", limit="0,5").json()
    assert list(data) == ["orders"]
    assert data["orders"] == [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}]


def test_display_full_and_chosen_fields(sandbox: SandboxServers) -> None:
    full = api(sandbox, "orders", display="full", limit="0,1").json()["orders"][0]
    picked = api(sandbox, "orders", display="[id,reference,current_state]", limit="0,3").json()["orders"]
    assert {"reference", "associations", "total_paid_tax_incl", "id_shop", "module", "payment", "invoice_date", "valid"} <= set(full)
    assert [set(item) for item in picked] == [{"id", "reference", "current_state"}] * 3
    unknown = api(sandbox, "orders", display="[id,no_such_field]")
    assert unknown.status_code == 400 and error(unknown)[0] == 35


def test_single_order_answers_order_object_and_404_for_unknown_id(sandbox: SandboxServers) -> None:
    one = api(sandbox, "orders/1")
    missing = api(sandbox, "orders/999999")
    order = one.json()["order"]
    assert order["id"] == 1
    assert isinstance(order["associations"]["order_rows"], list) and order["associations"]["order_rows"]
    assert missing.status_code == 404
    assert missing.content == b""  # PrestaShop answers an unknown id with an empty body
    assert api(sandbox, "orders/abc").status_code == 404  # (int) "abc" is 0: no such order


def test_empty_list_is_a_bare_json_array(sandbox: SandboxServers) -> None:
    response = api(sandbox, "orders", **{"filter[id]": "[999998|999999]"})
    assert response.status_code == 200
    assert response.json() == []


def test_amounts_rates_ids_and_dates_have_prestashop_formats(sandbox: SandboxServers) -> None:
    orders = api(sandbox, "orders", display="full", limit="0,50").json()["orders"]
    for order in orders:
        assert all(AMOUNT.match(order[name]) for name in ORDER_AMOUNTS), order["id"]
        assert RATE.match(order["carrier_tax_rate"])
        assert isinstance(order["id_customer"], str) and order["id_customer"].isdigit()
        assert order["id_currency"] == "1"
        assert DATE.match(order["date_add"]) and DATE.match(order["date_upd"])
        assert DATE.match(order["invoice_date"])
        for row in order["associations"]["order_rows"]:
            assert AMOUNT.match(row["unit_price_tax_incl"]) and AMOUNT.match(row["unit_price_tax_excl"])
    unpaid = [o for o in orders if o["invoice_number"] == "0"]
    assert unpaid and all(o["invoice_date"] == "0000-00-00 00:00:00" for o in unpaid)
    taxes = api(sandbox, "taxes", display="full").json()["taxes"]
    assert {t["rate"] for t in taxes} >= {"21.000", "9.000", "0.000", "19.000", "7.000"}


def test_order_details_by_order_with_totals_and_tax_associations(sandbox: SandboxServers) -> None:
    details = api(sandbox, "order_details", display="full", **{"filter[id_order]": "[1|2|3]"}).json()["order_details"]
    assert {d["id_order"] for d in details} == {"1", "2", "3"}
    expected = {"id", "id_order", "product_id", "product_quantity", "product_name", "product_reference", "unit_price_tax_incl",
                "unit_price_tax_excl", "total_price_tax_incl", "total_price_tax_excl", "id_tax_rules_group", "associations"}  # fmt: skip
    for detail in details:
        assert expected <= set(detail)
        assert AMOUNT.match(detail["total_price_tax_incl"]) and AMOUNT.match(detail["total_price_tax_excl"])
        assert isinstance(detail["associations"]["taxes"], list)


def test_customers_never_show_the_password(sandbox: SandboxServers) -> None:
    listed = api(sandbox, "customers", display="full", limit="0,20").json()["customers"]
    single = api(sandbox, "customers/1").json()["customer"]
    assert {"id", "email", "firstname", "lastname", "company"} <= set(single)
    assert all("passwd" not in c and "secure_key" not in c for c in [*listed, single])
    assert api(sandbox, "customers", display="[id,passwd]").status_code == 400


def test_countries_use_prestashop_ids(sandbox: SandboxServers) -> None:
    countries = {c["iso_code"]: c["id"] for c in api(sandbox, "countries", display="[id,iso_code]").json()["countries"]}
    assert {iso: countries[iso] for iso in ("NL", "DE", "BE", "FR", "ES", "IT", "AT", "GB", "CH", "US")} == {
        "NL": 13, "DE": 1, "BE": 3, "FR": 8, "ES": 6, "IT": 10, "AT": 2, "GB": 17, "CH": 19, "US": 21,
    }  # fmt: skip


def test_order_states_are_prestashop_defaults_with_paid_flags(sandbox: SandboxServers) -> None:
    states = api(sandbox, "order_states", display="full").json()["order_states"]
    paid = {s["id"] for s in states if s["paid"] == "1"}
    names = {s["id"]: s["name"][0]["value"] for s in states}
    assert len(states) == 12
    assert paid == {2, 3, 4, 5, 11, 12}
    assert names[2] == "Payment accepted" and names[10] == "Awaiting bank wire payment" and names[6] == "Canceled"
    assert all(s["shipped"] in ("0", "1") and s["logable"] in ("0", "1") for s in states)


def test_configurations_by_name(sandbox: SandboxServers) -> None:
    def value(name: str) -> str:
        return api(sandbox, "configurations", display="[name,value]", **{"filter[name]": f"[{name}]"}).json()["configurations"][0]["value"]

    assert value("PS_COUNTRY_DEFAULT") == "13"
    assert value("PS_INVOICE_PREFIX") == "#IN"
    assert value("PS_TIMEZONE") == "Europe/Amsterdam"
    assert value("PS_ROUND_TYPE") == "2"  # install-dev/data/xml/configuration.xml: Order::ROUND_LINE
    assert value("PS_CUSTOMER_GROUP") == "3"


def test_groups_are_prestashops_three_and_a_business_group_without_vat(sandbox: SandboxServers) -> None:
    groups = api(sandbox, "groups", display="full").json()["groups"]
    assert [(g["id"], g["name"], g["price_display_method"]) for g in groups] == [
        (1, [{"id": "1", "value": "Visitor"}], "0"), (2, [{"id": "1", "value": "Guest"}], "0"),
        (3, [{"id": "1", "value": "Customer"}], "0"), (4, [{"id": "1", "value": "Business"}], "1"),
    ]  # fmt: skip
    assert all(set(g) == {"id", "reduction", "price_display_method", "show_prices", "date_add", "date_upd", "name"} for g in groups)
    assert all(g["reduction"] == "0.00" and g["show_prices"] == "1" and DATE.match(g["date_upd"]) for g in groups)
    assert ids(api(sandbox, "groups", **{"filter[id]": "[1|4]"}), "groups") == [1, 4]
    assert api(sandbox, "groups", display="[id,price_display_method]", **{"filter[price_display_method]": "1"}).json() == {
        "groups": [{"id": 4, "price_display_method": "1"}]
    }
    assert api(sandbox, "groups/4").json()["group"] == groups[3] and api(sandbox, "groups/9").status_code == 404
    assert "groups" in api(sandbox, "").json()["api"]  # the demo key may read it
    customers = api(sandbox, "customers", display="[id,id_default_group]").json()["customers"]
    assert {c["id_default_group"] for c in customers} <= {"3", "4"}


def test_admin_moves_a_customer_to_a_group_and_changes_a_setting(fresh: SandboxServers) -> None:
    url = fresh.prestashop_url
    moved = requests.put(f"{url}/__sandbox__/customers/1/group", json={"group": 4}, timeout=10)
    assert moved.status_code == 200 and moved.json()["customer"]["id_default_group"] == "4"
    assert api(fresh, "customers/1").json()["customer"]["id_default_group"] == "4"
    assert requests.put(f"{url}/__sandbox__/customers/1/group", json={"group": 9}, timeout=10).status_code == 400
    assert requests.put(f"{url}/__sandbox__/customers/99999/group", json={"group": 4}, timeout=10).status_code == 404
    requests.put(f"{url}/__sandbox__/customers/1/group", json={"group": 3}, timeout=10)
    changed = requests.put(f"{url}/__sandbox__/configurations/PS_ROUND_TYPE", json={"value": "3"}, timeout=10)
    assert changed.status_code == 200 and changed.json()["configuration"]["value"] == "3"
    assert fresh.shop.configuration("PS_ROUND_TYPE") == "3"
    assert requests.put(f"{url}/__sandbox__/configurations/PS_ROUND_TYPE", json={"value": "4"}, timeout=10).status_code == 400
    assert requests.put(f"{url}/__sandbox__/configurations/PS_NOPE", json={"value": "1"}, timeout=10).status_code == 404
    requests.put(f"{url}/__sandbox__/configurations/PS_ROUND_TYPE", json={"value": "2"}, timeout=10)
    made = requests.post(f"{url}/__sandbox__/orders", json={
        "customer": {"email": "inkoop@bedrijf.example", "firstname": "Bea", "lastname": "Bos", "company": "Bos BV", "group": 4},
        "address": "NL", "lines": [{"name": "Thee", "sku": "T", "unit_price_excl": "10.00"}],
    }, timeout=10).json()["order"]  # fmt: skip
    assert api(fresh, f"customers/{made['id_customer']}").json()["customer"]["id_default_group"] == "4"


def test_order_payments_by_reference(sandbox: SandboxServers) -> None:
    order = sandbox.shop.order(sandbox.shop.tagged("payment_split")[0])
    payments = api(sandbox, "order_payments", display="full", **{"filter[order_reference]": f"[{order['reference']}]"}).json()[
        "order_payments"
    ]
    assert len(payments) == 2
    assert all(p["order_reference"] == order["reference"] and AMOUNT.match(p["amount"]) for p in payments)
    assert {"id", "order_reference", "amount", "payment_method", "transaction_id", "date_add", "id_currency", "conversion_rate"} <= set(
        payments[0]
    )


# ---- filters, sort, limit ------------------------------------------------------------------------


def test_filter_or_list_interval_and_value(sandbox: SandboxServers) -> None:
    states = {o["id"]: o["current_state"] for o in sandbox.shop.items("orders")}
    assert ids(api(sandbox, "orders", **{"filter[id]": "[5|3|1]"})) == [1, 3, 5]
    assert ids(api(sandbox, "orders", **{"filter[id]": "[10,20]"})) == list(range(10, 21))
    assert ids(api(sandbox, "orders", **{"filter[id]": "[20,10]"})) == list(range(10, 21))  # PrestaShop sorts the ends
    assert ids(api(sandbox, "orders", **{"filter[current_state]": "2"})) == sorted(i for i, s in states.items() if s == "2")
    assert ids(api(sandbox, "orders", **{"filter[current_state]": "[2]"})) == sorted(i for i, s in states.items() if s == "2")
    assert ids(api(sandbox, "orders", **{"filter[current_state]": "[2|3]"})) == sorted(i for i, s in states.items() if s in ("2", "3"))
    unknown = api(sandbox, "orders", **{"filter[no_such_field]": "1"})
    assert unknown.status_code == 400 and error(unknown)[0] == 32
    empty = api(sandbox, "orders", **{"filter[id]": ""})
    assert empty.status_code == 400 and error(empty) == (33, 'The filter "id" is malformed.')


def test_comma_brackets_are_a_range_only_for_digits_and_dates(sandbox: SandboxServers) -> None:
    customer = sandbox.shop.items("customers")[0]
    literal = f"{customer['lastname']},{customer['firstname']}"
    sandbox.shop.patch_raw("customers", customer["id"], company=literal)
    try:
        exact = api(sandbox, "customers", display="[id,company]", **{"filter[company]": f"[{literal}]"}).json()["customers"]
        assert [c["id"] for c in exact] == [customer["id"]]  # "[Jansen,Jan]" is one exact value, not an interval
        letters = api(sandbox, "customers", **{"filter[lastname]": "[A,Z]"})
        assert letters.json() == []  # no customer is called "A,Z"
    finally:
        sandbox.shop.patch_raw("customers", customer["id"], company=customer["company"])


def test_greater_less_not_and_like(sandbox: SandboxServers) -> None:
    total = len(sandbox.shop.items("orders"))
    assert ids(api(sandbox, "orders", **{"filter[id]": f">[{total - 3}]"})) == [total - 2, total - 1, total]
    assert ids(api(sandbox, "orders", **{"filter[id]": "<[4]"})) == [1, 2, 3]
    assert ids(api(sandbox, "orders", **{"filter[id]": "![2|3]", "limit": "0,4"})) == [1, 4, 5, 6]
    states = {o["id"]: o["current_state"] for o in sandbox.shop.items("orders")}
    assert ids(api(sandbox, "orders", **{"filter[current_state]": "![2]"})) == sorted(i for i, s in states.items() if s != "2")
    email = sandbox.shop.items("customers")[0]["email"]
    domain = email.split("@")[1]
    like = api(sandbox, "customers", display="[id,email]", **{"filter[email]": f"%[@{domain.upper()}]"}).json()["customers"]
    assert like and all(c["email"].lower().endswith("@" + domain.lower()) for c in like)
    begins = api(sandbox, "customers", display="[id,email]", **{"filter[email]": f"[{email[:3]}]%"}).json()["customers"]
    assert begins and all(c["email"].lower().startswith(email[:3].lower()) for c in begins)
    assert len(ids(api(sandbox, "orders", **{"filter[id]": "=[1]"}))) == total  # another prefix adds no condition


def test_date_filter_needs_date_1_only_for_date_add_and_date_upd(sandbox: SandboxServers) -> None:
    window = {"filter[date_upd]": "[2026-03-09 00:00:00,2026-03-09 23:59:59]"}
    refused = api(sandbox, "orders", **window)
    answered = api(sandbox, "orders", display="[id,date_upd]", date="1", **window)
    expected = sorted(o["id"] for o in sandbox.shop.items("orders") if "2026-03-09 00:00:00" <= o["date_upd"] <= "2026-03-09 23:59:59")
    assert refused.status_code == 400
    code, message = error(refused)
    assert code == 32 and "date=1" in message
    assert expected and ids(answered) == expected
    invoiced = api(sandbox, "orders", **{"filter[invoice_date]": "[2026-03-09 00:00:00,2026-03-09 23:59:59]"})
    assert invoiced.status_code == 200  # another date field needs no date=1
    sorted_by_upd = api(sandbox, "orders", sort="[date_upd_ASC]")
    assert sorted_by_upd.status_code == 400 and error(sorted_by_upd)[0] == 38  # date_upd is no sort key without date=1 either


def test_sort_and_limit(sandbox: SandboxServers) -> None:
    total = len(sandbox.shop.items("orders"))
    assert ids(api(sandbox, "orders", sort="[id_DESC]", limit="3")) == [total, total - 1, total - 2]
    assert ids(api(sandbox, "orders", sort="[id_ASC]", limit="10,5")) == [11, 12, 13, 14, 15]
    by_upd = api(sandbox, "orders", display="[id,date_upd]", sort="[date_upd_ASC]", date="1").json()["orders"]
    assert [o["date_upd"] for o in by_upd] == sorted(o["date_upd"] for o in by_upd)
    bad_sort = api(sandbox, "orders", sort="[id_UP]")
    assert bad_sort.status_code == 400 and error(bad_sort)[0] == 37
    bad_limit = api(sandbox, "orders", limit="1,2,3")
    assert bad_limit.status_code == 400 and error(bad_limit)[0] == 39
    assert api(sandbox, "orders", limit="a,b").json() == []  # PHP's (int) "a" is 0: LIMIT 0, 0
    bad_display = api(sandbox, "orders", display="id,reference")
    assert bad_display.status_code == 400 and error(bad_display)[0] == 36


def test_pages_cover_every_order_once(sandbox: SandboxServers) -> None:
    seen: list[int] = []
    for offset in range(0, 400, 100):
        seen += ids(api(sandbox, "orders", sort="[id_ASC]", limit=f"{offset},100"))
    assert seen == list(range(1, len(sandbox.shop.items("orders")) + 1))


# ---- request counts and admin --------------------------------------------------------------------


def test_requests_are_counted_per_method_resource_and_status(fresh: SandboxServers) -> None:
    requests.post(f"{fresh.prestashop_url}/__sandbox__/reset-stats", timeout=10)
    api(fresh, "orders")
    api(fresh, "orders/1")
    api(fresh, "orders", key="WRONGKEY" + "0" * 24)
    api(fresh, "customers")
    stats = requests.get(f"{fresh.prestashop_url}/__sandbox__/stats", timeout=10).json()
    assert fresh.shop.stats.count("GET", "orders", 200) == 2
    assert fresh.shop.stats.count("GET", "orders", 401) == 1
    assert fresh.shop.stats.count(path="customers") == 1
    assert stats["total"] == 4
    assert {"method": "GET", "path": "orders", "status": 200, "count": 2} in stats["requests"]


def test_admin_creates_an_order_computed_like_prestashop(fresh: SandboxServers) -> None:
    spec = {
        "customer": {"email": "Test.Person@Example.NL", "firstname": "Test", "lastname": "Person"},
        "address": {"country": "NL", "address1": "Kerkstraat 1", "postcode": "1017 AB", "city": "Amsterdam"},
        "lines": [{"name": "Thee", "sku": "T-1", "quantity": 3, "unit_price_incl": "12.95", "tax_rate": "21"},
                  {"name": "Honing", "sku": "H-1", "quantity": 1, "unit_price_incl": "7.25", "tax_rate": "9"}],
        "shipping_incl": "6.95", "shipping_rate": "21", "wrapping_incl": "2.50", "discount_incl": "5.00",
        "state": 10, "payment": "Bank wire", "date_add": "2026-03-10 09:15:00",
    }  # fmt: skip
    response = requests.post(f"{fresh.prestashop_url}/__sandbox__/orders", json=spec, timeout=10)
    order = response.json()["order"]
    details = api(fresh, "order_details", display="full", **{"filter[id_order]": f"[{order['id']}]"}).json()["order_details"]
    assert response.status_code == 201
    assert details[0]["unit_price_tax_excl"] == "10.702479"
    assert (details[0]["total_price_tax_incl"], details[0]["total_price_tax_excl"]) == ("38.850000", "32.110000")
    assert (order["total_products_wt"], order["total_products"]) == ("46.100000", "38.760000")
    assert (order["total_shipping_tax_excl"], order["total_wrapping_tax_excl"]) == ("5.740000", "2.066116")
    assert order["total_discounts_tax_excl"] == "4.200000"  # 5.00 × 38.76 / 46.10
    assert order["total_paid_tax_incl"] == order["total_paid"] == order["total_paid_real"] == "50.550000"
    assert order["total_paid_tax_excl"] == "42.370000"
    assert (order["invoice_number"], order["module"], order["current_state"]) == ("0", "ps_wirepayment", "10")


def test_admin_changes_state_and_bumps_date_upd(fresh: SandboxServers, monkeypatch: pytest.MonkeyPatch) -> None:
    waiting = fresh.shop.create_order(
        {"customer": 1, "lines": [{"name": "Thee", "sku": "T-2", "quantity": 2, "unit_price_incl": "6.95", "tax_rate": "9"}], "state": 10,
         "payment": "Bank wire", "date_add": "2026-03-10 10:00:00"}
    )  # fmt: skip
    assert waiting["invoice_number"] == "0" and fresh.shop.payments(waiting["reference"]) == []
    response = requests.patch(
        f"{fresh.prestashop_url}/__sandbox__/orders/{waiting['id']}",
        json={"current_state": 2, "date_upd": "2026-03-11 08:00:00"},
        timeout=10,
    )
    order = api(fresh, f"orders/{waiting['id']}").json()["order"]
    assert response.status_code == 200
    assert (order["current_state"], order["date_upd"], order["valid"]) == ("2", "2026-03-11 08:00:00", "1")
    assert int(order["invoice_number"]) > 0 and order["invoice_date"] == "2026-03-11 08:00:00"
    assert [p["amount"] for p in fresh.shop.payments(order["reference"])] == ["13.900000"]
    monkeypatch.setattr(fresh.shop, "clock", lambda: dt.datetime(2026, 3, 12, 9, 30, 0))
    changed = fresh.shop.update_order(waiting["id"], note="looked at")
    assert (changed["note"], changed["date_upd"]) == ("looked at", "2026-03-12 09:30:00")


def test_admin_registers_payments_and_refuses_bad_specs(fresh: SandboxServers) -> None:
    reference = fresh.shop.order(1)["reference"]
    created = requests.post(
        f"{fresh.prestashop_url}/__sandbox__/order_payments",
        json={"order_reference": reference, "amount": "10.00", "payment_method": "iDEAL", "transaction_id": "tr_TESTTEST"},
        timeout=10,
    )
    bad = requests.post(f"{fresh.prestashop_url}/__sandbox__/orders", json={"customer": 1, "lines": []}, timeout=10)
    missing = requests.patch(f"{fresh.prestashop_url}/__sandbox__/orders/999999", json={"current_state": 2}, timeout=10)
    assert created.status_code == 201
    assert created.json()["order_payment"]["amount"] == "10.000000"
    assert any(p["transaction_id"] == "tr_TESTTEST" for p in fresh.shop.payments(reference))
    assert bad.status_code == 400
    assert missing.status_code == 404


def test_python_api_creates_a_vat_exempt_order_for_an_eu_business(fresh: SandboxServers) -> None:
    order = fresh.shop.create_order(
        {
            "customer": {"email": "inkoop@example.be", "firstname": "Wout", "lastname": "Peeters", "company": "Theesalon Gent"},
            "address": {"country": "BE", "vat_number": "BE0428759497", "city": "Gent"},
            "delivery_address": "BE",
            "lines": [{"name": "Thee", "sku": "T-1", "quantity": 2, "unit_price_incl": "12.95", "tax_rate": "21"}],
            "shipping_incl": "12.50",
            "vat_exempt": True,
            "state": 2,
            "payment": "Bank wire",
            "tags": ["icp"],
        }
    )
    detail = fresh.shop.order_details(order["id"])[0]
    delivery = api(fresh, f"addresses/{order['id_address_delivery']}").json()["address"]
    assert detail["unit_price_tax_incl"] == detail["unit_price_tax_excl"] == "10.702479"
    assert detail["associations"]["taxes"] == []
    assert order["total_paid_tax_incl"] == order["total_paid_tax_excl"] == "33.900000"
    assert (order["carrier_tax_rate"], order["total_shipping_tax_excl"]) == ("0.000", "12.500000")
    assert delivery["id_country"] == "3" and order["id_address_delivery"] != order["id_address_invoice"]
    assert [p["amount"] for p in fresh.shop.payments(order["reference"])] == ["33.900000"]
    assert order["id"] in fresh.shop.tagged("icp")
