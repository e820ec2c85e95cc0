"""Where the official e-Boekhouden description is silent, the emulator has a knob per plausible behaviour;
the integration must be right whichever the real API turns out to do.

- what a mutation list item's ``amount`` holds: incl. VAT, excl. VAT, the debtor line (negative) or 0;
- list items whose ``id`` is 0 (as real clients report);
- whether ``GET /v1/relation?email=`` ignores case.

Each setting runs the same day: a sale whose answer is lost after e-Boekhouden booked it (adopted, not
booked twice), a returning customer whose e-mail the shop spells in other capitals (matched, not created
again), and a sale whose number another booking already has (a clash in Errors, never adopted).
"""

from __future__ import annotations

import datetime as dt

import pytest

from prestashop_eboekhouden.store import BOOKED, ERROR

from .conftest import customer, eb_fault, line, per_number, run_dag, sale_mutations

pytestmark = pytest.mark.airflow
HOURLY = "demo__orders_hourly"
SETTINGS = [
    {"mutation_list_amount": "incl"},
    {"mutation_list_amount": "excl"},
    {"mutation_list_amount": "debtor"},
    {"mutation_list_amount": "zero"},
    {"list_ids_zero": True},
    {"list_ids_zero": True, "mutation_list_amount": "zero"},
    {"email_case": "sensitive"},
]


def order(sandbox, who: dict, price: str, at: str) -> int:
    spec = {**who, "lines": [line("Sencha", price)], "state": 2, "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie"}
    return int(sandbox.shop.create_order(spec)["id"])


@pytest.mark.parametrize("eb_backend", ["rest"], indirect=True)  # the knobs are the REST API's unknowns
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_right_whatever_the_api_does_where_its_description_is_silent(make_sandbox, state_store, eb_backend, setting):
    sandbox = make_sandbox()
    for knob, value in setting.items():
        setattr(sandbox.books, knob, value)
    ledgers = {item["code"]: item["id"] for item in sandbox.books.ledgers()}

    # 1. the answer to a booked sale is lost: looked up and adopted, once
    lost = order(sandbox, customer("lost@example.nl", "Lotte", "Smit"), "12.10", "2026-11-20 10:30:00")
    eb_fault(sandbox, eb_backend, "create_mutation", action="drop_after_commit", times=1)
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [lost])[lost]
    assert (row["state"], row["reason"]) == (BOOKED, "Adopted the booking e-Boekhouden already had")
    assert per_number(sale_mutations(sandbox)) == {row["sales_number"]: 1}

    # 2. a returning customer, spelled in other capitals by the shop; 3. a number another booking has
    existing = sandbox.books.create_relation({"type": "P", "name": "Jan de Vries", "emailAddress": "j.devries@example.nl"})
    returning = order(sandbox, customer("J.deVries@Example.NL", "Jan", "de Vries"), "8.50", "2026-11-20 11:30:00")
    clash = order(sandbox, customer("clash@example.nl", "Kees", "Bakker"), "30.00", "2026-11-20 11:40:00")
    number = "DEMO-" + sandbox.shop.order(clash)["reference"]
    other = sandbox.books.create_relation({"type": "B", "name": "Another Shop BV"})
    sandbox.books.create_mutation({
        "type": 2, "date": "2026-10-01", "ledgerId": ledgers["1300"], "relationId": other["id"], "invoiceNumber": number, "inExVat": "IN",
        "rows": [{"ledgerId": ledgers["8000"], "vatCode": "HOOG_VERK_21", "amount": "30.00"}],
    })  # fmt: skip
    relations_before = len(sandbox.books.relations())
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12)).state == "success"
    rows = state_store.get_orders("demo", [returning, clash])
    assert rows[returning]["state"] == BOOKED and rows[returning]["relation_id"] == existing["id"]
    assert rows[clash]["state"] == ERROR and rows[clash]["error_code"] == "DUPLICATE_NUMBER"
    assert number in rows[clash]["reason"] and "sales_number_prefix" in rows[clash]["reason"]
    assert len(sandbox.books.relations()) == relations_before + 1  # Kees Bakker only; Jan de Vries was found
    assert [m["relationId"] for m in sandbox.books.mutations() if m["invoiceNumber"] == number] == [other["id"]]
