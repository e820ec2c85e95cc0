"""PrestaShopHook reads credit slips from the emulator: an hour's window by date_upd (date=1), by id and by order, batched."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook, PrestaShopPermissionError
from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY

ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)
NO_SLIPS = "NOSLIPSKEY0000000000000000000000"  # 32 characters
FORMAT = "%Y-%m-%d %H:%M:%S"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(seed=42, orders=300, anchor=ANCHOR) as servers:
        servers.shop.set_key(NO_SLIPS, ["orders", "order_details"])
        yield servers


def hook(sandbox: SandboxServers, monkeypatch: pytest.MonkeyPatch, key: str = DEFAULT_KEY, **kwargs) -> PrestaShopHook:
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_EMU", json.dumps({"conn_type": "http", "host": sandbox.prestashop_url, "password": key}))
    return PrestaShopHook("prestashop_emu", max_attempts=1, sleep=lambda s: None, **kwargs)


def at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, FORMAT)


def test_an_hours_window_holds_exactly_the_slips_updated_in_it(sandbox, monkeypatch):
    shop = hook(sandbox, monkeypatch)
    slips = sandbox.shop.items("order_slip")
    for slip in slips:
        moment = at(slip["date_upd"])
        hour = moment.replace(minute=0, second=0)
        expected = sorted(s["id"] for s in slips if hour <= at(s["date_upd"]) < hour + dt.timedelta(hours=1))
        found = [row for page in shop.slips_updated(hour, hour + dt.timedelta(hours=1)) for row in page]
        assert sorted(int(row["id"]) for row in found) == expected
        assert all(row["associations"].keys() == {"order_slip_details"} for row in found)  # full records
    # [since, until): a slip at exactly until belongs to the next hour
    first = min(slips, key=lambda s: s["date_upd"])  # the earliest slip: nothing in the hour before it
    assert [row for page in shop.slips_updated(at(first["date_upd"]) - dt.timedelta(hours=1), at(first["date_upd"])) for row in page] == []


def test_the_whole_seed_in_one_window_one_request_per_page(sandbox, monkeypatch):
    shop = hook(sandbox, monkeypatch, page_size=3)
    before = sandbox.shop.stats.count(path="order_slip")
    found = [row for page in shop.slips_updated(ANCHOR - dt.timedelta(days=5), ANCHOR + dt.timedelta(seconds=1)) for row in page]
    assert [int(row["id"]) for row in found] == [s["id"] for s in sandbox.shop.items("order_slip")]
    slips = len(sandbox.shop.items("order_slip"))
    assert slips == 12 and sandbox.shop.stats.count(path="order_slip") - before == 5  # 12 slips in pages of 3, and an empty page ends it


def test_by_id_and_by_order_in_batches(sandbox, monkeypatch):
    shop = hook(sandbox, monkeypatch, ids_per_request=5)
    slips = sandbox.shop.items("order_slip")
    before = sandbox.shop.stats.count(path="order_slip")
    assert shop.slips([s["id"] for s in slips]) == slips
    assert sandbox.shop.stats.count(path="order_slip") - before == 3  # 12 ids, 5 per request: 5 + 5 + 2
    orders = [int(s["id_order"]) for s in slips[:3]] + [1]  # an order without a slip finds nothing
    assert sorted(int(s["id"]) for s in shop.slips_of_orders(orders)) == [s["id"] for s in slips[:3]]
    assert shop.slips([]) == [] and shop.slips([999]) == []


def test_a_key_without_order_slip_is_named(sandbox, monkeypatch):
    with pytest.raises(PrestaShopPermissionError, match="may not read order_slip .*tick View"):
        hook(sandbox, monkeypatch, key=NO_SLIPS).slips([1])
