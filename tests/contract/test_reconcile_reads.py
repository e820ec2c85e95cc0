"""What the reconciliation reads from e-Boekhouden, on both backends against the emulators: a period's sales, credits and
payments listed (REST: the official filters, pages capped at 500 as real clients report; SOAP: GetMutaties, whole, read on
past its 500), single bookings read whole (by id, by number when the id is gone), invoices with their totals — and never a
write."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from prestashop_eboekhouden.hooks.backends import bookkeeping_api
from sandbox import SandboxServers

D = Decimal
DAY = dt.date(2026, 11, 20)
USER, CODE1, CODE2 = "sandbox", "SANDBOXSECURITYCODE1", "SANDBOXSECURITYCODE2"


@pytest.fixture(scope="module")
def sandbox():
    """An administration with 1,200 sales and 300 payments on one day, a sale and a payment the day after."""
    with SandboxServers(seed=7, orders=0, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        books = servers.books
        debtors, revenue, bank = (books.ledger_by_code(code)["id"] for code in ("1300", "8000", "1100"))
        relation = books.create_relation({"type": "P", "code": "ReadTest", "name": "Read Test", "emailAddress": "read@example.nl"})["id"]

        def sale(number: str, day: str, amount: str) -> None:
            books.create_mutation({
                "type": 2, "date": day, "ledgerId": debtors, "relationId": relation, "invoiceNumber": number, "inExVat": "IN",
                "rows": [{"ledgerId": revenue, "vatCode": "HOOG_VERK_21", "amount": amount}, {"ledgerId": revenue, "vatCode": "LAAG_VERK_9", "amount": "1.09"}],
            })  # fmt: skip

        for n in range(1200):
            sale(f"READ-{n:05d}", "2026-11-20", "12.10")
        for n in range(300):
            books.create_mutation({
                "type": 3, "date": "2026-11-20", "ledgerId": bank, "relationId": relation, "invoiceNumber": f"READ-{n:05d}", "inExVat": "IN",
                "rows": [{"amount": "13.19", "vatCode": "GEEN", "invoiceNumber": f"READ-{n:05d}", "relationId": relation}],
            })  # fmt: skip
        sale("READ-NEXTDAY", "2026-11-21", "5.00")
        yield servers


@pytest.fixture(params=("rest", "soap"))
def eb(request, sandbox, monkeypatch):
    if request.param == "soap":
        extra = {"api": "soap", "username": USER, "security_code_1": CODE1, "security_code_2": CODE2, "source": "PSEBTEST"}
        connection = {"conn_type": "http", "host": sandbox.eboekhouden_soap_url, "extra": extra}
    else:
        connection = {"conn_type": "http", "host": sandbox.eboekhouden_url, "password": "sandbox-eboekhouden-token", "extra": {"source": "PSEBTEST"}}
    monkeypatch.setenv("AIRFLOW_CONN_EB_READ", json.dumps(connection))
    sandbox.books.page_cap = 500  # what a real client reports the REST API answers, whatever limit asks
    hook = bookkeeping_api("eb_read", sleep=lambda s: None)
    yield request.param, hook
    hook.close_session()
    sandbox.books.page_cap = None


def writes(sandbox, backend: str) -> list:
    if backend == "soap":
        return [k for k in sandbox.books.soap_stats.snapshot() if k[1].rsplit("/", 1)[-1] in ("AddMutatie", "AddRelatie", "AddFactuur")]
    return [k for k in sandbox.books.stats.snapshot() if k[0] != "GET" and k[1] != "/v1/session"]


def test_a_days_sales_and_payments_listed_in_few_requests(sandbox, eb):
    backend, hook = eb
    listed = list(hook.bookings_between(DAY, DAY))
    sales = [b for b in listed if b.type == 2]
    assert len(sales) == 1200 and len({b.number for b in sales}) == 1200 and "READ-NEXTDAY" not in {b.number for b in sales}
    assert len([b for b in listed if b.type == 3]) == 300
    requests = sum(n for (method, resource), n in hook.requests_made.items() if method != "DELETE" and not resource.endswith("session") and "Session" not in resource)
    if backend == "rest":
        assert all(b.total_incl is None and b.id for b in sales)  # a list item's amount is not documented: never used
        assert requests == 3 + 1  # sales: 500 + 500 + 200 (the cap is learnt at the second page); payments: 300 < the cap, done
    else:
        assert all(b.total_incl == D("13.19") and len(b.rows) == 2 for b in sales)  # GetMutaties answers whole mutations
        assert requests <= 6  # 1,501 mutations, at most 500 a call, one more call to find the end each way
    assert writes(sandbox, backend) == []


def test_bookings_read_whole_by_id_or_by_number(sandbox, eb):
    backend, hook = eb
    first = next(m for m in sandbox.books.mutations_numbered("READ-00001") if m["type"] == 2)
    read = hook.read_bookings([("READ-00001", first["id"], DAY), ("READ-00002", None, DAY), ("READ-99999", None, DAY), ("READ-00003", 999_999, None)])
    assert read["READ-99999"] is None
    for number in ("READ-00001", "READ-00002", "READ-00003"):
        booking = read[number]
        assert (booking.number, booking.type, booking.date, booking.total_incl) == (number, 2, "2026-11-20", D("13.19"))
        assert [(r.ledger, r.vat_code, r.incl, r.excl, r.vat) for r in booking.rows] == [
            ("8000", "HOOG_VERK_21", D("12.10"), D("10.00"), D("2.10")), ("8000", "LAAG_VERK_9", D("1.09"), D("1.00"), D("0.09")),
        ]  # fmt: skip
    assert writes(sandbox, backend) == []


def test_a_booking_changed_or_deleted_by_the_bookkeeper_reads_as_such(sandbox, eb):
    backend, hook = eb
    sale = lambda number: next(m for m in sandbox.books.mutations_numbered(number) if m["type"] == 2)  # noqa: E731
    changed = sale("READ-00010")
    sandbox.books.change_mutation(changed["id"], amount="2.42", date="2026-11-19")
    deleted = sandbox.books.delete_mutation(sale("READ-00011")["id"])
    try:
        read = hook.read_bookings([("READ-00010", changed["id"], DAY), ("READ-00011", deleted["id"], DAY)])
        assert (read["READ-00010"].total_incl, read["READ-00010"].date) == (D("3.51"), "2026-11-19")
        assert read["READ-00011"] is None
    finally:
        sandbox.books.change_mutation(changed["id"], amount="12.10", date="2026-11-20")
        sandbox.books.create_mutation({k: v for k, v in deleted.items() if k in ("type", "date", "ledgerId", "relationId", "invoiceNumber", "inExVat")}
                                      | {"rows": [{"ledgerId": r["ledgerId"], "vatCode": r["vatCode"], "amount": r["amount"]} for r in deleted["rows"]]})  # fmt: skip


def test_invoices_listed_with_their_totals(sandbox, eb):
    backend, hook = eb
    books = sandbox.books
    relation = books.relation_by_code("ReadTest")["id"]
    template = books.templates()[0]["id"]
    revenue = books.ledger_by_code("8000")["id"]
    number = f"9{len(books.invoices()) + 100:04d}"
    books.create_invoice({"relationId": relation, "date": "2026-11-20", "termOfPayment": 14, "templateId": template, "inExVat": "IN", "invoiceNumber": number,
                          "items": [{"quantity": 2, "description": "Tea", "pricePerUnit": "6.05", "vatCode": "HOOG_VERK_21", "ledgerId": revenue}]})  # fmt: skip
    found = {b.number: b for b in hook.invoices_between(DAY, DAY)}
    assert found[number].total_incl == D("12.10") and found[number].type == 0
    assert hook.read_bookings([(number, None, DAY)], invoices=True)[number].total_incl == D("12.10")
    assert writes(sandbox, backend) == []


def test_the_shops_period_is_read_by_date_add_light_and_a_thousand_a_request(monkeypatch):
    import requests_mock as rm

    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook

    monkeypatch.setenv("AIRFLOW_CONN_PS_READ", json.dumps({"conn_type": "http", "host": "http://shop.test", "password": "K" * 32}))
    hook = PrestaShopHook("ps_read", sleep=lambda s: None)
    with rm.Mocker() as m:
        m.get("http://shop.test/api/orders", [{"json": {"orders": [{"id": n} for n in range(1000)]}}, {"json": []}])
        m.get("http://shop.test/api/order_slip", json={"order_slips": [{"id": 1}]})
        assert sum(len(page) for page in hook.orders_added(dt.date(2026, 11, 1), dt.date(2026, 11, 30))) == 1000
        assert len(list(hook.slips_added(DAY, DAY))) == 1
        first, _, slips = m.request_history
        assert first.qs["filter[date_add]"] == ["[2026-11-01 00:00:00,2026-11-30 23:59:59]"] and first.qs["date"] == ["1"] and first.qs["limit"] == ["0,1000"]
        assert first.qs["display"] == ["[id,reference,current_state,date_add,date_upd,total_paid_tax_incl,id_shop]"]
        assert slips.qs["filter[date_add]"] == ["[2026-11-20 00:00:00,2026-11-20 23:59:59]"] and all(r.method == "GET" for r in m.request_history)
