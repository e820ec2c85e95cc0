"""Where the official e-Boekhouden description is silent, the emulator has a knob per plausible behaviour;
the integration must be right whichever the real API turns out to do.

- what a mutation list item's ``amount`` holds: incl. VAT, excl. VAT, the debtor line (negative) or 0;
- list items whose ``id`` is 0 (as real clients report);
- whether ``GET /v1/relation?email=`` ignores case;
- how many items a page holds (``page_cap``: at most N whatever ``limit`` asks; a real client reports 500);
- whether ``GET /v1/relation`` applies its ``email`` and ``code`` filters at all (``email_filter`` / ``code_filter``
  ``ignored``: relations regardless of them).

Each setting runs the same day on an administration with more relations and open items than a capped page
holds: a sale whose answer is lost after e-Boekhouden booked it (adopted, not booked twice); new customers
whose name 120 relations already carry (the next free RelationCode, found past the first page); a returning
customer whose relation lies past the first page; a returning customer whose e-mail the shop spells in other
capitals (matched, not created again); a sale whose number another booking already has (a clash in Errors,
never adopted); and the payments of the day's sales, each against its outstanding item found among more open
items than a page holds. Afterwards: every order booked once, no two relations with one e-mail address, no
RelationCode refused as taken.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from prestashop_eboekhouden.domain.relations import normalize_email
from prestashop_eboekhouden.store import BOOKED, ERROR

from .conftest import customer, eb_fault, line, per_number, run_dag, sale_mutations

pytestmark = pytest.mark.airflow
HOURLY, PAYMENTS = "demo__orders_hourly", "demo__payments_daily"
SETTINGS = [
    {"mutation_list_amount": "incl"},
    {"mutation_list_amount": "excl"},
    {"mutation_list_amount": "debtor"},
    {"mutation_list_amount": "zero"},
    {"list_ids_zero": True},
    {"list_ids_zero": True, "mutation_list_amount": "zero"},
    {"email_case": "sensitive"},
    {"page_cap": 100},
    {"email_filter": "ignored"},
    {"code_filter": "ignored"},
    {"page_cap": 100, "email_filter": "ignored", "code_filter": "ignored"},
    {"page_cap": 100, "email_case": "sensitive", "list_ids_zero": True},
]
NAMESAKES = 120  # relations "Klaas Vaak" already in the administration: KlaasVaak, KlaasVaak1 ... KlaasVaak119
OPEN_ITEMS = 120  # open sales of another shop, so the list of outstanding items is longer than a capped page


def order(sandbox, who: dict, price: str, at: str, paid: str | None = None) -> int:
    spec = {**who, "lines": [line("Sencha", price)], "state": 2, "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie"}
    if paid:
        spec["payments"] = [{"amount": price, "payment_method": "iDEAL", "transaction_id": f"tr_{paid}", "date_add": at}]
    return int(sandbox.shop.create_order(spec)["id"])


def crowd(sandbox, ledgers: dict[str, int]) -> dict[str, int]:
    """The administration before the day: namesakes of a new customer, and other open items, more than a page each."""
    ids = {}
    for n in range(NAMESAKES):
        code = "KlaasVaak" + (str(n) if n else "")
        ids[code] = sandbox.books.create_relation({"type": "P", "code": code, "name": "Klaas Vaak", "emailAddress": f"klaas{n}@example.nl"})["id"]
    other = sandbox.books.create_relation({"type": "B", "name": "Groothandel Noord BV", "emailAddress": "noord@example.nl"})["id"]
    for n in range(OPEN_ITEMS):
        sandbox.books.create_mutation({
            "type": 2, "date": "2026-10-01", "ledgerId": ledgers["1300"], "relationId": other, "invoiceNumber": f"NOORD-{n}", "inExVat": "IN",
            "rows": [{"ledgerId": ledgers["8000"], "vatCode": "HOOG_VERK_21", "amount": "10.00"}],
        })  # fmt: skip
    return ids


@pytest.mark.parametrize("eb_backend", ["rest"], indirect=True)  # the knobs are the REST API's unknowns
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_right_whatever_the_api_does_where_its_description_is_silent(make_sandbox, state_store, eb_backend, setting, tenants_dir, monkeypatch):
    from prestashop_eboekhouden.pipeline import payments

    from .conftest import write_tenant

    write_tenant(tenants_dir, {"payments": {"enabled": True}})
    monkeypatch.setattr(payments, "BULK_THRESHOLD", 2)  # the day's payments look their items up in one listing of all open items
    sandbox = make_sandbox()
    ledgers = {item["code"]: item["id"] for item in sandbox.books.ledgers()}
    namesakes = crowd(sandbox, ledgers)
    for knob, value in setting.items():
        setattr(sandbox.books, knob, value)

    # 1. the answer to a booked sale is lost: looked up and adopted, once
    lost = order(sandbox, customer("lost@example.nl", "Lotte", "Smit"), "12.10", "2026-11-20 10:30:00", paid="lost")
    eb_fault(sandbox, eb_backend, "create_mutation", action="drop_after_commit", times=1)
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [lost])[lost]
    assert (row["state"], row["reason"]) == (BOOKED, "Adopted the booking e-Boekhouden already had")

    # 2. new namesakes get the next free codes, a returning namesake (its relation far down the list) is found,
    # a returning customer spelled in other capitals by the shop is found; 3. a number another booking has
    new_klaas = [order(sandbox, customer(f"klaas.new{n}@example.nl", "Klaas", "Vaak"), "5.00", f"2026-11-20 11:1{n}:00", paid=f"kn{n}") for n in range(2)]
    old_klaas = order(sandbox, customer("Klaas115@example.nl", "Klaas", "Vaak"), "7.50", "2026-11-20 11:20:00", paid="ko")
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
    rows = state_store.get_orders("demo", [*new_klaas, old_klaas, returning, clash])
    assert sorted(rows[oid]["relation_code"] for oid in new_klaas) == [f"KlaasVaak{NAMESAKES}", f"KlaasVaak{NAMESAKES + 1}"]
    assert (rows[old_klaas]["state"], rows[old_klaas]["relation_id"]) == (BOOKED, namesakes["KlaasVaak115"])
    assert rows[returning]["state"] == BOOKED and rows[returning]["relation_id"] == existing["id"]
    assert rows[clash]["state"] == ERROR and rows[clash]["error_code"] == "DUPLICATE_NUMBER"
    assert number in rows[clash]["reason"] and "sales_number_prefix" in rows[clash]["reason"]
    assert len(sandbox.books.relations()) == relations_before + 3  # Kees Bakker and the two new Klaas Vaaks only
    assert [m["relationId"] for m in sandbox.books.mutations() if m["invoiceNumber"] == number] == [other["id"]]

    # 4. the day's payments, each against its sale's outstanding item (found among more than a page of them)
    assert run_dag(PAYMENTS, hour=dt.datetime(2026, 11, 21, 6)).state == "success"
    paid = state_store.get_orders("demo", [lost, *new_klaas, old_klaas, returning])  # state 2 is paid: the shop registered the payment
    paying = [m for m in sandbox.books.mutations() if m["type"] == 3 and str(m["invoiceNumber"]).startswith("DEMO-")]
    assert sorted(m["invoiceNumber"] for m in paying) == sorted(r["sales_number"] for r in paid.values())
    assert all(r["payment_state"] == "paid" for r in paid.values())
    assert not {r["sales_number"] for r in paid.values()} & {o["invoiceNumber"] for o in sandbox.books.outstanding()}

    # every order booked once, one relation per e-mail address, no code refused as taken
    assert set(per_number(sale_mutations(sandbox)).values()) == {1}
    emails = Counter(normalize_email(r["emailAddress"]) for r in sandbox.books.relations() if r["emailAddress"])
    assert [email for email, count in emails.items() if count > 1] == []
    assert sandbox.books.stats.count("POST", "/v1/relation", 400) == 0
