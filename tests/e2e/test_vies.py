"""ICP VAT numbers verified in VIES (issue 24), end to end: PrestaShop emulator → real Airflow (dag.test) → VIES
emulator and e-Boekhouden emulator. An ICP order waits in Open while its member state is down and is booked by the
next hourly run once VIES answers; an unregistered number lands in Errors; vat.vies: warn books with a note; an
order VIES could not confirm for vies_max_wait_days goes to Errors; repeated customers cost one request per number."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from prestashop_eboekhouden.domain.vies import VIES_INVALID, VIES_UNCONFIRMED, VIES_WAIT
from prestashop_eboekhouden.store import BOOKED, ERROR, OPEN
from prestashop_eboekhouden.store_vies import ViesStore, vies_numbers
from sandbox.seed import valid_vat_number

from .conftest import all_history, customer, line, per_number, run_dag, sale_mutations, write_tenant

pytestmark = pytest.mark.airflow
HOURLY = "demo__orders_hourly"
REST_ONLY = pytest.mark.parametrize("eb_backend", ["rest"], indirect=True)  # VIES does not depend on the backend here


def icp_order(sandbox, email: str, company: str, country: str, vat_number: str, at: str = "2026-11-20 10:30:00", price: str = "48.00") -> int:
    who = customer(email, "Els", "Peeters", company=company, country=country, vat_number=vat_number, city="Gent")
    spec = {**who, "lines": [line("Sencha 1 kg", price, "0", quantity=2)], "state": 2, "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie", "vat_exempt": True}
    return int(sandbox.shop.create_order(spec)["id"])


def vies_date(sandbox) -> str:
    return sandbox.vies.clock().date().isoformat()


def test_an_icp_order_waits_in_open_while_its_member_state_is_down_and_is_booked_next_run(make_sandbox, state_store):
    sandbox = make_sandbox()
    belgian = icp_order(sandbox, "inkoop@theehuis.be", "Theehuis Gent BVBA", "BE", "BE0428759497")
    german = icp_order(sandbox, "einkauf@teehaus.de", "Teehaus Köln GmbH", "DE", "DE136695976", at="2026-11-20 10:40:00")
    sandbox.vies.set_member_state("BE", "MS_UNAVAILABLE")

    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    rows = state_store.get_orders("demo", [belgian, german])
    assert (rows[belgian]["state"], rows[belgian]["error_code"]) == (OPEN, VIES_WAIT)
    assert rows[belgian]["reason"] == "VIES could not confirm BE0428759497: the Belgian service is unavailable; tried again next run"
    assert rows[german]["state"] == BOOKED  # the other member state answered
    assert [m["invoiceNumber"] for m in sale_mutations(sandbox)] == [rows[german]["sales_number"]]

    sandbox.vies.heal("BE")  # Belgium answers again; nothing changed in the shop
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12)).state == "success"
    row = state_store.get_orders("demo", [belgian])[belgian]
    assert row["state"] == BOOKED and row["error_code"] is None
    mutations = sale_mutations(sandbox)
    assert set(per_number(mutations).values()) == {1} and len(mutations) == 2
    assert sandbox.vies.requests("BE0428759497") == 2 and sandbox.vies.requests("DE136695976") == 1


@REST_ONLY
def test_an_unregistered_number_lands_in_errors_with_the_date_and_a_hint(make_sandbox, state_store):
    sandbox = make_sandbox()
    sandbox.vies.unregister("BE0428759497")  # right check digits, but no (longer a) registered company
    oid = icp_order(sandbox, "inkoop@theehuis.be", "Theehuis Gent BVBA", "BE", "BE0428759497")
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert (row["state"], row["error_code"]) == (ERROR, VIES_INVALID)
    assert row["reason"] == f"VAT number BE0428759497 is not registered in VIES (checked {vies_date(sandbox)})"
    assert sale_mutations(sandbox) == []
    record = ViesStore.of(state_store).records(["BE0428759497"])["BE0428759497"]
    assert record.valid is False and record.checked_at is not None


def test_warn_books_and_notes_it(make_sandbox, state_store, tenants_dir):
    write_tenant(tenants_dir, {"vat": {"vies": "warn"}})
    sandbox = make_sandbox()
    sandbox.vies.unregister("BE0428759497")
    sandbox.vies.set_member_state("FR", "TIMEOUT")
    unregistered = icp_order(sandbox, "inkoop@theehuis.be", "Theehuis Gent BVBA", "BE", "BE0428759497")
    unconfirmed = icp_order(sandbox, "achats@maison-the.fr", "Maison du Thé SARL", "FR", "FR40303265045", at="2026-11-20 10:50:00")
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    rows = state_store.get_orders("demo", [unregistered, unconfirmed])
    assert rows[unregistered]["state"] == rows[unconfirmed]["state"] == BOOKED
    assert rows[unregistered]["plan"]["notes"][-1] == (
        f"VAT number BE0428759497 is not registered in VIES (checked {vies_date(sandbox)}): booked anyway (vat.vies: warn)"
    )
    assert rows[unconfirmed]["plan"]["notes"][-1] == "VIES could not confirm FR40303265045: the French service did not answer in time; booked anyway (vat.vies: warn)"
    assert len(sale_mutations(sandbox)) == 2


@REST_ONLY
def test_repeated_customers_cost_one_vies_request_per_number(make_sandbox, state_store):
    sandbox = make_sandbox()
    customers = [(f"inkoop{n}@bedrijf{n}.be", f"Bedrijf {n} BV") for n in range(10)]
    numbers = ["BE0428759497", "BE0403170701", "DE136695976", "FR40303265045"]
    rng = random.Random(5)
    while len(numbers) < 10:
        number = valid_vat_number(rng, "BE")
        if number not in numbers:
            numbers.append(number)
    country = {n: ("DE" if n.startswith("DE") else "FR" if n.startswith("FR") else "BE") for n in numbers}
    first_hour = [
        icp_order(sandbox, email, company, country[numbers[i % 10]], numbers[i % 10], at=f"2026-11-20 10:{i:02d}:00", price=f"{20 + i}.00")
        for i, (email, company) in ((i, customers[i % 10]) for i in range(50))
    ]
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert {r["state"] for r in state_store.get_orders("demo", first_hour).values()} == {BOOKED}
    assert sandbox.vies.requests() == 10  # 50 ICP orders, 10 customers: one request per VAT number
    assert ViesStore.of(state_store).request_counts(numbers) == dict.fromkeys(numbers, 1)

    assert run_dag(HOURLY, conf=all_history()).state == "success"  # a rerun over everything: nothing to ask
    second_hour = [
        icp_order(sandbox, email, company, country[numbers[n]], numbers[n], at=f"2026-11-20 11:{n:02d}:00") for n, (email, company) in enumerate(customers)
    ]
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12)).state == "success"  # the same customers again
    assert {r["state"] for r in state_store.get_orders("demo", second_hour).values()} == {BOOKED}
    assert sandbox.vies.requests() == 10  # verdicts are kept 30 days: no request at all


@REST_ONLY
def test_an_order_vies_could_not_confirm_for_max_wait_days_goes_to_errors(make_sandbox, state_store):
    sandbox = make_sandbox()
    oid = icp_order(sandbox, "inkoop@theehuis.be", "Theehuis Gent BVBA", "BE", "BE0428759497")
    sandbox.vies.set_member_state("BE", "MS_UNAVAILABLE")
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert state_store.get_orders("demo", [oid])[oid]["state"] == OPEN
    since = dt.datetime(2026, 11, 16, 9, 30)  # as if Belgium had been down for four days
    with state_store.begin() as conn:
        conn.execute(sa.update(vies_numbers).where(vies_numbers.c.vat_number == "BE0428759497").values(unconfirmed_since=since))
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12)).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert (row["state"], row["error_code"]) == (ERROR, VIES_UNCONFIRMED)
    assert row["reason"] == (
        "VIES could not confirm VAT number BE0428759497 for 3 days (since 2026-11-16 09:30 UTC; last: the Belgian service is unavailable). "
        "Book it anyway: set vat.vies: warn in the tenant file and Process the order again; or check the number by hand in VIES "
        "(https://ec.europa.eu/taxation_customs/vies/) and book the order by hand in e-Boekhouden"
    )
    assert sale_mutations(sandbox) == []
