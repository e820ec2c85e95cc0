"""PrestaShopHook against the PrestaShop emulator over HTTP: keys, permissions, hosts that strip Authorization, filters."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from prestashop_eboekhouden.hooks.prestashop import (
    PrestaShopConnectionError,
    PrestaShopHook,
    PrestaShopPermissionError,
)
from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY

ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)
LIMITED = "NOCUSTOMERSKEY000000000000000000"  # 32 characters
WRONG = "WRONGKEY" + "0" * 24


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(seed=11, orders=40, anchor=ANCHOR) as servers:
        servers.shop.set_key(LIMITED, ["orders", "order_details", "order_states", "taxes", "countries", "configurations", "addresses"])
        yield servers


@pytest.fixture(autouse=True)
def host_keeps_headers(sandbox: SandboxServers) -> Iterator[None]:
    sandbox.shop.strip_authorization = False
    yield
    sandbox.shop.strip_authorization = False


def hook(sandbox: SandboxServers, monkeypatch: pytest.MonkeyPatch, key: str = DEFAULT_KEY, **extra: str) -> PrestaShopHook:
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_EMU", json.dumps({"conn_type": "http", "host": sandbox.prestashop_url, "password": key, "extra": extra}))
    return PrestaShopHook("prestashop_emu", max_attempts=1, sleep=lambda s: None)


def test_reads_what_the_integration_needs(sandbox, monkeypatch):
    shop = hook(sandbox, monkeypatch)
    orders = sandbox.shop.items("orders")
    since = dt.datetime.strptime(min(o["date_upd"] for o in orders), "%Y-%m-%d %H:%M:%S")
    until = dt.datetime.strptime(max(o["date_upd"] for o in orders), "%Y-%m-%d %H:%M:%S") + dt.timedelta(seconds=1)
    refs = [row for page in shop.order_refs_updated(since, until) for row in page]
    assert sorted(int(r["id"]) for r in refs) == [o["id"] for o in orders]  # date=1 sent with the date_upd filter
    assert [o["id"] for o in shop.orders([3])] == [3]  # one id is "[3]": an exact match
    assert shop.shop_country() == "NL"


def test_a_resource_the_key_may_not_read_is_named_with_where_to_enable_it(sandbox, monkeypatch):
    shop = hook(sandbox, monkeypatch, key=LIMITED)
    assert shop.orders([1])  # the key works
    with pytest.raises(PrestaShopPermissionError) as caught:
        shop.customers([1])
    said = caught.value.reason
    assert caught.value.status == 401  # PrestaShop's code 26, not a 403
    assert "may not read customers (PrestaShop code 26)" in said and "Advanced parameters › Webservice" in said
    assert "refused the webservice key" not in said
    assert shop.currencies() == {}  # optional: a key without currencies is fine


NO_GET = "NOGETKEY" + "0" * 24  # 32 characters


def test_a_resource_the_key_has_without_get_is_named_like_one_it_lacks(sandbox, monkeypatch):
    # 405 with code 25: the key has customers (Modify ticked) but not View (GET)
    sandbox.shop.set_key(NO_GET, {"orders": ["GET", "HEAD"], "customers": ["PUT"], "currencies": ["PUT"]})
    shop = hook(sandbox, monkeypatch, key=NO_GET)
    assert shop.orders([1])
    with pytest.raises(PrestaShopPermissionError) as caught:
        shop.customers([1])
    said = caught.value.reason
    assert caught.value.status == 405 and caught.value.code == "PS_405"
    assert "connection 'prestashop_emu' has customers, but not the permission to read it (PrestaShop code 25" in said
    assert "tick View (GET) for customers on this key under Advanced parameters › Webservice" in said
    assert "refused the webservice key" not in said and NO_GET not in said
    assert shop.currencies() == {}  # optional, whichever way the key lacks it
    ok, checked = hook(sandbox, monkeypatch, key=NO_GET).test_connection()  # order_states: not on this key at all
    assert not ok and "may not read order_states (PrestaShop code 26)" in checked


def test_a_wrong_key_says_so_and_hints_at_auth_query(sandbox, monkeypatch):
    ok, said = hook(sandbox, monkeypatch, key=WRONG).test_connection()
    assert not ok
    assert "refused the webservice key of connection 'prestashop_emu' (401, code 20: Authentification key is not active)" in said
    assert '{"auth": "query"}' in said and WRONG not in said


def test_a_host_that_strips_authorization_needs_auth_query(sandbox, monkeypatch):
    sandbox.shop.strip_authorization = True
    ok, said = hook(sandbox, monkeypatch).test_connection()
    assert not ok
    assert "received no webservice key from connection 'prestashop_emu'" in said and '{"auth": "query"}' in said
    shop = hook(sandbox, monkeypatch, auth="query")
    assert shop.test_connection() == (True, "PrestaShop webservice answered")
    assert [o["id"] for o in shop.orders([1, 2])] == [1, 2]


def test_a_key_of_another_length_never_reaches_the_shop(sandbox, monkeypatch):
    before = sandbox.shop.stats.count()
    with pytest.raises(PrestaShopConnectionError, match="has 33 characters, but PrestaShop's keys have exactly 32"):
        hook(sandbox, monkeypatch, key=DEFAULT_KEY + "0").orders([1])
    assert sandbox.shop.stats.count() == before
