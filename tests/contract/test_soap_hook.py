"""EBoekhoudenSoapHook against the SOAP emulator: sessions, translation to and from REST shapes, the
legacy overwrite hazard, retries that never repeat a write blindly, and secrets kept out of errors."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal

import pytest

from prestashop_eboekhouden.domain.errors import ConfigurationProblem
from prestashop_eboekhouden.hooks.backends import bookkeeping_api
from prestashop_eboekhouden.hooks.base import AmbiguousWrite, ApiError, TransientError
from prestashop_eboekhouden.hooks.eboekhouden import EBoekhoudenHook
from prestashop_eboekhouden.hooks.eboekhouden_soap import EBoekhoudenSoapHook, SessionFault, lookup_window
from prestashop_eboekhouden.hooks.protocol import DUPLICATE_NUMBER, RELATION_GONE, SESSION_EXPIRED
from sandbox import SandboxServers
from sandbox.books import ApiProblem
from sandbox.soap import SESSION_EXPIRY_ANSWERS

USER, CODE1, CODE2 = "sandbox", "SANDBOXSECURITYCODE1", "SANDBOXSECURITYCODE2"
D = Decimal


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServers(seed=7, orders=0, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        yield servers


@pytest.fixture(autouse=True)
def fresh(sandbox, monkeypatch):
    sandbox.clear_faults()
    monkeypatch.setenv("AIRFLOW_CONN_EB_SOAP", soap_connection(sandbox))
    monkeypatch.setenv("AIRFLOW_CONN_EB_REST", json.dumps({"conn_type": "http", "host": sandbox.eboekhouden_url, "password": "sandbox-eboekhouden-token"}))


def soap_connection(sandbox, code1: str = CODE1, code2: str = CODE2) -> str:
    extra = {"api": "soap", "username": USER, "security_code_1": code1, "security_code_2": code2, "source": "PSEBTEST"}
    return json.dumps({"conn_type": "http", "host": sandbox.eboekhouden_soap_url, "extra": extra})


def hook(**kwargs) -> EBoekhoudenSoapHook:
    made = bookkeeping_api("eb_soap", sleep=lambda s: None, **kwargs)
    assert isinstance(made, EBoekhoudenSoapHook)
    return made


def sale(eb, number: str, relation_id: int, amounts=("3.95",), codes=("HOOG_VERK_21",)) -> dict:
    ids = eb.ledger_ids(["1300", "8000"])
    rows = [{"ledgerId": ids["8000"], "vatCode": code, "amount": D(a), "description": "line"} for a, code in zip(amounts, codes, strict=True)]
    body = {"type": 2, "date": "2026-11-20", "ledgerId": ids["1300"], "relationId": relation_id, "invoiceNumber": number,
            "description": f"{number} - iDEAL", "termOfPayment": 14, "inExVat": "IN", "rows": rows}  # fmt: skip
    return eb.create_mutation(body)


def new_relation(eb, code: str, email: str) -> int:
    return eb.create_relation({"type": "P", "code": code, "name": "Anna Bos", "emailAddress": email, "country": "NL"})["id"]


def test_the_connection_picks_the_backend():
    assert isinstance(bookkeeping_api("eb_soap"), EBoekhoudenSoapHook)
    assert isinstance(bookkeeping_api("eb_rest"), EBoekhoudenHook)


def test_a_sale_is_booked_with_the_vat_e_boekhouden_computes_and_read_back_in_rest_shape(sandbox):
    eb = hook()
    relation_id = new_relation(eb, "AnnaBos", "anna.bos@example.nl")
    created = sale(eb, "SOAP-1", relation_id, amounts=("3.95", "5.45"), codes=("HOOG_VERK_21", "LAAG_VERK_9"))
    (booked,) = [m for m in sandbox.books.mutations() if m["invoiceNumber"] == "SOAP-1"]
    assert booked["id"] == created["id"] and booked["type"] == 2 and booked["amount"] == D("9.40")
    # 3.95 incl at 21% is 3.26 + 0.69, exactly what e-Boekhouden's REST API computes from the same row
    assert [(r["vatCode"], r["amount"], r["vatAmount"]) for r in booked["rows"]] == [("HOOG_VERK_21", D("3.95"), D("0.69")), ("LAAG_VERK_9", D("5.45"), D("0.45"))]
    (found,) = eb.mutations_by_invoice_number("SOAP-1", 2)
    assert (found["id"], found["type"], found["amount"], found["date"]) == (created["id"], 2, D("9.40"), "2026-11-20")
    assert eb.mutations_by_invoice_number("SOAP-1", 3) == []
    (item,) = eb.outstanding("SOAP-1")
    assert (item["relationId"], item["outstandingAmount"], item["totalAmount"]) == (relation_id, D("9.40"), D("9.40"))
    eb.close_session()


def test_an_existing_sales_number_is_refused_never_overwritten(sandbox):
    eb = hook()
    relation_id = new_relation(eb, "CorVisser", "cor@example.nl")
    first = sale(eb, "SOAP-2", relation_id, amounts=("10.00",))
    with pytest.raises(ApiError) as refused:
        sale(eb, "SOAP-2", relation_id, amounts=("99.00",))
    assert refused.value.meaning == DUPLICATE_NUMBER
    (still,) = [m for m in sandbox.books.mutations() if m["invoiceNumber"] == "SOAP-2"]
    assert still["id"] == first["id"] and still["amount"] == D("10.00")
    assert [o for o in sandbox.books.overwrites if o.get("invoiceNumber", o.get("number")) == "SOAP-2"] == []
    eb.close_session()


def test_relations_by_email_case_insensitive_codes_like_and_a_vanished_relation():
    eb = hook()
    relation_id = new_relation(eb, "JandeVrie", "J.deVries@example.nl")
    assert eb.relation_by_email(" j.devries@EXAMPLE.nl ")["id"] == relation_id
    assert eb.relation_by_email("nobody@example.nl") is None
    assert "JandeVrie" in eb.relation_codes_like("JandeV")
    assert eb.relation_by_code("JandeVrie")["id"] == relation_id
    assert relation_id in {r["id"] for r in eb.relations()}
    with pytest.raises(ApiError) as gone:
        sale(eb, "SOAP-3", 987654)
    assert gone.value.meaning == RELATION_GONE
    eb.close_session()


def test_an_expired_session_is_renewed_once_and_the_call_repeated(sandbox):
    eb = hook()
    eb.ledgers()
    sandbox.books.expire_sessions()
    assert eb.relation_by_email("nobody@example.nl") is None
    assert eb.requests_made[("POST", "soap/OpenSession")] == 2
    eb.close_session()


@pytest.fixture
def expiry(sandbox):
    """The emulator's answer to an expired session (a knob: the real one is unknown); reset after the test."""
    service = sandbox.eboekhouden_soap_app.state.service
    yield lambda answer: setattr(service, "session_expiry", answer)
    service.session_expiry = "code"


@pytest.mark.parametrize("answer", list(SESSION_EXPIRY_ANSWERS))
def test_whatever_e_boekhouden_answers_an_expired_session_the_hook_renews_it(sandbox, expiry, answer):
    expiry(answer)
    eb = hook()
    relation_id = new_relation(eb, f"Sessie{answer[:3].title()}", f"sessie.{answer}@example.nl")
    sandbox.books.expire_sessions()
    assert eb.relation_by_email("nobody@example.nl") is None  # a read
    sandbox.books.expire_sessions()
    created = sale(eb, f"SESS-{answer}", relation_id)  # a write (after the "already booked?" read)
    assert [m["id"] for m in sandbox.books.mutations() if m["invoiceNumber"] == f"SESS-{answer}"] == [created["id"]]
    assert eb.requests_made[("POST", "soap/OpenSession")] == 3
    assert eb.requests_made[("POST", "soap/AddMutatie")] == 1
    eb.close_session()


@pytest.mark.parametrize("answer", list(SESSION_EXPIRY_ANSWERS))
def test_a_session_refused_twice_in_a_row_is_an_error_not_a_loop(sandbox, expiry, monkeypatch, answer):
    expiry(answer)
    monkeypatch.setattr(sandbox.books, "token_lifetime", 0)  # every new session is dead on arrival
    eb = hook()
    with pytest.raises((ApiError, SessionFault)) as caught:
        eb.ledgers()
    assert isinstance(caught.value, SessionFault) or caught.value.meaning == SESSION_EXPIRED
    assert eb.requests_made[("POST", "soap/OpenSession")] == 2  # renewed once, then given up


def test_a_session_is_renewed_by_age_before_it_can_expire(sandbox):
    now = [1000.0]
    eb = hook(clock=lambda: now[0])
    assert eb.session_max_age == 15 * 60  # the default: well before any plausible expiry
    eb.ledgers()
    first = eb._session_token
    now[0] += 15 * 60 - 1
    eb.relation_by_email("nobody@example.nl")
    assert eb._session_token == first and eb.requests_made[("POST", "soap/OpenSession")] == 1
    now[0] += 1
    eb.relation_by_email("nobody@example.nl")
    assert eb._session_token != first
    assert eb.requests_made[("POST", "soap/OpenSession")] == 2 and eb.requests_made[("POST", "soap/CloseSession")] == 1
    with pytest.raises(ApiProblem, match="SOAP_SESSION_001"):  # the aged session was closed on e-Boekhouden's side
        sandbox.books.check_soap_session(first, CODE2)
    eb.close_session()


def test_the_session_age_comes_from_the_connection_and_is_checked(sandbox, monkeypatch):
    extra = {"api": "soap", "username": USER, "security_code_1": CODE1, "security_code_2": CODE2, "session_max_age": 60}
    monkeypatch.setenv("AIRFLOW_CONN_EB_SOAP", json.dumps({"conn_type": "http", "host": sandbox.eboekhouden_soap_url, "extra": extra}))
    eb = hook()
    assert eb.session_max_age == 60
    eb.ledgers()
    assert "session_max_age" not in eb.session().headers  # an option of the hook, not an HTTP header
    eb.close_session()
    monkeypatch.setenv("AIRFLOW_CONN_EB_SOAP", json.dumps({"conn_type": "http", "host": sandbox.eboekhouden_soap_url, "extra": {**extra, "session_max_age": "soon"}}))
    with pytest.raises(ConfigurationProblem, match="session_max_age must be a number of seconds"):
        hook().ledgers()


def test_the_already_booked_lookup_asks_a_narrow_date_range(sandbox, monkeypatch):
    eb = hook()
    relation_id = new_relation(eb, "DatumKlant", "datum@example.nl")
    sent = []
    real_send = eb._send
    monkeypatch.setattr(eb, "_send", lambda operation, fields: (sent.append((operation, fields)), real_send(operation, fields))[1])
    sale(eb, "SOAP-DATE", relation_id)  # dated 2026-11-20
    eb.mutations_by_invoice_number("SOAP-DATE")  # the adoption lookup, without the order date
    windows = [(f["cFilter"]["DatumVan"].date(), f["cFilter"]["DatumTm"].date()) for op, f in sent if op == "GetMutaties"]
    today = dt.date.today()
    assert windows[0] == (dt.date(2025, 11, 19), max(dt.date(2026, 11, 20), today) + dt.timedelta(days=366))
    assert windows[1] == (today - dt.timedelta(days=3653), today + dt.timedelta(days=366))
    assert all(dt.date(1980, 1, 1) <= low <= high <= dt.date(2049, 12, 31) for low, high in windows)
    with pytest.raises(ApiError) as refused:  # the narrow range still finds the sale: never overwritten
        sale(eb, "SOAP-DATE", relation_id, amounts=("1.00",))
    assert refused.value.meaning == DUPLICATE_NUMBER
    eb.close_session()


def test_lookup_windows_stay_inside_what_real_clients_use():
    assert lookup_window("1980-03-01", today=dt.date(2026, 1, 1))[0] == dt.datetime(1980, 1, 1)
    assert lookup_window(dt.date(2049, 6, 1), today=dt.date(2026, 1, 1))[1] == dt.datetime(2049, 12, 31)
    assert lookup_window(None, today=dt.date(2028, 2, 29)) == (dt.datetime(2018, 2, 28), dt.datetime(2029, 3, 1))  # ten years, even from a leap day


def test_wrong_security_codes_name_the_connection_and_never_the_codes(sandbox, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_EB_SOAP", soap_connection(sandbox, code1="WRONGCODE-4711", code2="WRONGCODE-0815"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApiError) as refused:
        hook().ledgers()
    text = str(refused.value)
    assert "'eb_soap'" in text and "security codes" in text
    assert "WRONGCODE" not in text and "WRONGCODE" not in caplog.text
    ok, message = hook().test_connection()
    assert not ok and "WRONGCODE" not in message


def test_reads_are_retried_on_500_garbage_and_truncated_answers(sandbox):
    sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/GetGrootboekrekeningen", action="status", status=500, times=1)
    sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/GetGrootboekrekeningen", action="truncate", times=1)
    sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/GetGrootboekrekeningen", action="html", times=1)
    eb = hook()
    assert "1300" in eb.ledgers()
    assert eb.requests_made[("POST", "soap/GetGrootboekrekeningen")] == 4
    eb.close_session()


def test_a_write_whose_answer_is_lost_is_not_repeated_and_can_be_found(sandbox):
    eb = hook()
    relation_id = new_relation(eb, "BramSmit", "bram@example.nl")
    sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/AddMutatie", action="drop_after_commit", times=1)
    with pytest.raises(AmbiguousWrite):
        sale(eb, "SOAP-4", relation_id)
    assert eb.requests_made[("POST", "soap/AddMutatie")] == 1  # sent once, not blindly again
    assert [m["invoiceNumber"] for m in eb.mutations_by_invoice_number("SOAP-4")] == ["SOAP-4"]
    eb.close_session()


def test_a_write_refused_before_it_was_read_is_retried(sandbox):
    eb = hook()
    relation_id = new_relation(eb, "FleurJong", "fleur@example.nl")
    sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/AddMutatie", action="status", status=429, times=1)
    sale(eb, "SOAP-5", relation_id)
    assert eb.requests_made[("POST", "soap/AddMutatie")] == 2
    assert len(eb.mutations_by_invoice_number("SOAP-5")) == 1
    eb.close_session()


def test_unreachable_service_is_transient(sandbox):
    sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/GetGrootboekrekeningen", action="status", status=503, times=None)
    with pytest.raises(TransientError, match="gave up after 2 attempts"):
        hook(max_attempts=2).ledgers()


def test_payment_settles_the_outstanding_item_and_is_found_by_its_entry(sandbox):
    eb = hook()
    relation_id = new_relation(eb, "EvaKlant", "eva@example.nl")
    sale(eb, "SOAP-6", relation_id, amounts=("14.49",))
    bank = eb.ledger_ids(["1100"])["1100"]
    payment = {"type": 3, "date": "2026-11-21", "ledgerId": bank, "relationId": relation_id, "invoiceNumber": "SOAP-6", "inExVat": "IN",
               "description": "iDEAL - x - tr_1", "entryNumber": "tr_1", "rows": [{"amount": D("14.49"), "vatCode": "GEEN", "invoiceNumber": "SOAP-6"}]}  # fmt: skip
    eb.create_mutation(payment)
    (paid,) = eb.mutations_by_invoice_number("SOAP-6", 3)
    assert (paid["entryNumber"], paid["amount"]) == ("tr_1", D("14.49"))
    assert eb.outstanding("SOAP-6") == []
    eb.close_session()


def test_invoice_with_template_name_and_prices_excl_vat(sandbox):
    eb = hook()
    relation_id = new_relation(eb, "HenkBakke", "henk@example.nl")
    ids = eb.ledger_ids(["1300", "8000"])
    template = eb.invoice_template_id("Invoice template")
    body = {"relationId": relation_id, "date": "2026-11-20", "termOfPayment": 14, "templateId": template, "inExVat": "IN", "invoiceNumber": "WEB77",
            "reference": "WEB77", "items": [{"quantity": D(3), "description": "Theedoos", "pricePerUnit": D("3.33"), "vatCode": "HOOG_VERK_21", "ledgerId": ids["8000"], "code": "TD-3"}],
            "mutation": {"ledgerId": ids["1300"], "description": "WEB77 - iDEAL"}}  # fmt: skip
    assert eb.create_invoice(body)["invoiceNumber"] == "WEB77"
    (found,) = eb.invoices(invoiceNumber="WEB77")
    assert found["totalInclVat"] == D("9.99")
    (item,) = eb.outstanding("WEB77")
    assert item["outstandingAmount"] == D("9.99")
    eb.close_session()


def test_many_returning_customers_cost_one_listing_not_a_lookup_each(sandbox):
    relations = [sandbox.books.create_relation({"type": "P", "code": f"Klant{i:03d}", "name": f"Klant {i}", "emailAddress": f"k{i}@example.nl"}) for i in range(40)]
    eb = hook()
    codes = [eb._relation_code(r["id"]) for r in relations]  # what booking a sale for each of them needs
    assert codes == [f"Klant{i:03d}" for i in range(40)]
    assert eb.requests_made[("POST", "soap/GetRelaties")] == 25  # 24 single lookups, then one listing of all
    eb.close_session()
