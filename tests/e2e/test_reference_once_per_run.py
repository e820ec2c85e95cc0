"""The shop's reference data (order states, countries, taxes, currencies, PS_COUNTRY_DEFAULT) is read once per
run, not once per task: the task that first needs a part reads it and leaves what it knows in XCom for the later
tasks of the same run (extract_orders: the order states; validate_orders: the rest; book_credits reads none)."""

from __future__ import annotations

import datetime as dt

import pytest

from prestashop_eboekhouden.store import BOOKED

from .conftest import run_dag
from .test_credit_slips import slip, tea_order

pytestmark = pytest.mark.airflow
HOURLY = "demo__orders_hourly"
REFERENCE = ("order_states", "countries", "taxes", "currencies", "configurations")  # the emulator counts by resource


def reads(sandbox) -> dict[str, int]:
    return {path: sandbox.shop.stats.count("GET", path) for path in REFERENCE}


@pytest.mark.parametrize("eb_backend", ["rest"], indirect=True)
def test_an_hourly_run_reads_each_part_of_the_reference_data_once(make_sandbox, state_store, eb_backend):
    sandbox = make_sandbox()
    oid = tea_order(sandbox)  # updated 10:30
    sid = slip(sandbox, oid, at="2026-11-20 10:50:00")  # refunded in the same hour: extract, validate, book and book_credits all run
    sandbox.shop.reset_stats()
    run = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11))
    assert run.state == "success"
    assert state_store.get_orders("demo", [oid])[oid]["state"] == BOOKED
    assert state_store.get_credits("demo", [sid])[sid]["state"] == BOOKED
    # before: order_states 3 (extract, validate, book_credits), the other four 2 each (validate, book_credits): 11
    assert reads(sandbox) == dict.fromkeys(REFERENCE, 1)
    # the next run reads them again (its own run: a state or tax added in the shop is seen within the hour)
    sandbox.shop.reset_stats()
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert reads(sandbox)["order_states"] == 1
