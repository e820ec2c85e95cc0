"""The hooks against mocked HTTP: URLs built like HttpHook, batching, retries, errors, secrets."""

from __future__ import annotations

import datetime as dt
import json
import socket
from decimal import Decimal

import pytest
import requests
import requests_mock as rm
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError, ProxyError

from prestashop_eboekhouden.hooks.base import RETRY_AFTER_CAP, AmbiguousWrite, ApiError, ApiHook, TransientError, request_was_sent
from prestashop_eboekhouden.hooks.eboekhouden import EBoekhoudenHook
from prestashop_eboekhouden.hooks.prestashop import (
    PrestaShopAuthError,
    PrestaShopConnectionError,
    PrestaShopHook,
    PrestaShopPermissionError,
)

SHOP = "http://shop.test:8081/webshop"
EB = "https://api.eb.test"
KEY = "PSKEYSECRET4711" + "0" * 17  # webservice keys have 32 characters
TOKEN = "EB-TOKEN-SECRET-0815"
# a sale as the contract wants it (every request these tests send is validated against the official contract)
SALE = {"type": 2, "date": "2026-11-20", "ledgerId": 11, "relationId": 5, "invoiceNumber": "S1", "inExVat": "IN",
        "rows": [{"ledgerId": 80, "vatCode": "HOOG_VERK_21", "amount": Decimal("12.10")}]}  # fmt: skip


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_T", json.dumps({"conn_type": "http", "host": "shop.test", "port": 8081, "schema": "http", "password": KEY}))
    monkeypatch.setenv("AIRFLOW_CONN_EBOEKHOUDEN_T", json.dumps({"conn_type": "http", "host": EB, "password": TOKEN, "extra": {"source": "PSEBTEST"}}))
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_PATH", json.dumps({"conn_type": "http", "host": SHOP, "password": KEY}))


def ps(**kwargs) -> PrestaShopHook:
    return PrestaShopHook("prestashop_path", sleep=lambda s: None, **kwargs)


def eb(**kwargs) -> EBoekhoudenHook:
    return EBoekhoudenHook("eboekhouden_t", sleep=lambda s: None, **kwargs)


def test_prestashop_url_from_host_port_schema_and_basic_auth():
    hook = PrestaShopHook("prestashop_t", sleep=lambda s: None)
    with rm.Mocker() as m:
        m.get("http://shop.test:8081/api/order_states", json={"order_states": [{"id": 2, "name": "Payment accepted", "paid": "1"}]})
        assert hook.order_states()[2].paid is True
        request = m.request_history[0]
        assert request.headers["Authorization"].startswith("Basic ")
        assert "ws_key" not in request.url and KEY not in request.url
        assert request.qs["output_format"] == ["json"]


def test_list_pages_until_a_short_page_and_empty_list_is_a_bare_array():
    hook = ps(page_size=2)
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/customers", [
            {"json": {"customers": [{"id": 1}, {"id": 2}]}},
            {"json": {"customers": [{"id": 3}, {"id": 4}]}},
            {"json": []},
        ])
        pages = list(hook.pages("customers", display="[id]"))
        assert [[o["id"] for o in p] for p in pages] == [[1, 2], [3, 4]]
        assert [r.qs["limit"] for r in m.request_history] == [["0,2"], ["2,2"], ["4,2"]]
        assert m.request_history[0].qs["sort"] == ["[id_asc]"]


def test_updated_orders_window_is_inclusive_to_the_second_and_read_in_large_pages():
    hook = ps()
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/orders", json={"orders": [{"id": 1}]})
        list(hook.order_refs_updated(dt.datetime(2026, 11, 20, 10), dt.datetime(2026, 11, 20, 11)))
        first = m.request_history[0].qs
        assert first["filter[date_upd]"] == ["[2026-11-20 10:00:00,2026-11-20 10:59:59]"]
        assert first["date"] == ["1"] and first["limit"] == ["0,1000"]


def test_ids_are_batched_a_hundred_per_request():
    hook = ps()
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/order_details", json={"order_details": [{"id": 1, "id_order": 5}]})
        hook.order_details(range(1, 251))
        filters = [r.qs["filter[id_order]"][0] for r in m.request_history]
        assert len(filters) == 3
        assert filters[0].count("|") == 99 and filters[2].count("|") == 49
    assert hook.requests_made[("GET", "api/order_details")] == 3


def test_transient_answers_are_retried_with_retry_after():
    waits = []
    hook = PrestaShopHook("prestashop_path", sleep=waits.append)
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/taxes", [
            {"status_code": 429, "headers": {"Retry-After": "7"}},
            {"status_code": 503, "text": "<html>Service Unavailable</html>"},
            {"exc": requests.ConnectionError("Connection reset by peer")},
            {"status_code": 200, "text": '{"taxes": [{"id": "1", "rate": "21.000"}'},  # truncated
            {"json": {"taxes": [{"id": "1", "rate": "21.000"}]}},
        ])
        assert hook.taxes() == {1: Decimal("21.000")}
    assert waits[0] == 7.0 and len(waits) == 4


def test_retries_are_bounded():
    hook = ps(max_attempts=3)
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/countries", status_code=500, json={"errors": [{"code": 1, "message": "boom"}]})
        with pytest.raises(TransientError, match="gave up after 3 attempts"):
            hook.countries()
        assert m.call_count == 3


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (401, {"errors": [{"code": 26, "message": 'Resource of type "order_details" is not allowed with this authentication key'}]},
         PrestaShopPermissionError,
         "PS_401 The webservice key of connection 'prestashop_path' may not read order_details (PrestaShop code 26): "
         "tick View (GET) for order_details on this key under Advanced parameters › Webservice"),
        (403, None, PrestaShopPermissionError, "may not read order_details (HTTP 403)"),
        (401, {"errors": [{"code": 20, "message": "Authentification key is not active"}]}, PrestaShopAuthError,
         "PS_401 PrestaShop refused the webservice key of connection 'prestashop_path' (401, code 20: Authentification key is not active): "
         "check that the key is right and enabled under Advanced parameters › Webservice; if it is, the web server (php-fpm/CGI) "
         "may strip the Authorization header: send the key as ws_key instead: set the connection's extra {\"auth\": \"query\"}"),
        (401, "401 Unauthorized", PrestaShopAuthError,
         "PS_401 PrestaShop received no webservice key from connection 'prestashop_path' (401): the web server (php-fpm/CGI) "
         "probably strips the Authorization header; send the key as ws_key instead"),
    ],
)  # fmt: skip
def test_401_and_403_name_the_resource_or_the_key_and_never_show_it(status, body, kind, message):
    hook = ps()
    with rm.Mocker() as m:
        answer = {"json": body} if isinstance(body, dict) else {"text": body or "<html>no</html>"}
        m.get(f"{SHOP}/api/order_details", status_code=status, **answer)
        with pytest.raises(kind) as caught:
            hook.order_details([1])
        assert message in caught.value.reason
        assert KEY not in str(caught.value) and KEY not in caught.value.url
        assert m.call_count == 1  # 4xx are not retried


def test_currencies_are_optional_but_a_refused_key_is_not():
    hook = ps()
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/currencies", status_code=401, json={"errors": [{"code": 26, "message": "not allowed"}]})
        assert hook.currencies() == {}
    hook = ps()
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/currencies", status_code=401, json={"errors": [{"code": 20, "message": "Authentification key is not active"}]})
        with pytest.raises(PrestaShopAuthError):
            hook.currencies()


@pytest.mark.parametrize(
    ("key", "extra", "problem"),
    [
        ("SANDBOXPRESTASHOPKEY0000000000000", {}, "the PrestaShop webservice key has 33 characters, but PrestaShop's keys have exactly 32"),
        ("", {}, "has no PrestaShop webservice key"),
        (KEY, {"auth": "header"}, 'extra "auth" is \'header\'; use "basic"'),
    ],
)
def test_the_connection_is_checked_before_any_request(monkeypatch, key, extra, problem):
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_BAD", json.dumps({"conn_type": "http", "host": SHOP, "password": key, "extra": extra}))
    hook = PrestaShopHook("prestashop_bad", sleep=lambda s: None)
    with rm.Mocker() as m:
        with pytest.raises(PrestaShopConnectionError) as caught:
            hook.taxes()
        assert m.call_count == 0
    assert problem in str(caught.value) and "Connection prestashop_bad" in str(caught.value)
    assert not key or key not in str(caught.value)
    ok, said = PrestaShopHook("prestashop_bad").test_connection()
    assert not ok and problem in said


def test_auth_query_sends_the_key_as_ws_key_and_never_shows_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_Q", json.dumps({"conn_type": "http", "host": "http://shop.test", "password": KEY, "extra": {"auth": "query"}}))
    hook = PrestaShopHook("prestashop_q", sleep=lambda s: None)
    with rm.Mocker() as m:
        m.get("http://shop.test/api/taxes", json={"taxes": [{"id": "1", "rate": "21.000"}]})
        m.get("http://shop.test/api/countries", status_code=401, json={"errors": [{"code": 20, "message": "Authentification key is not active"}]})
        assert hook.taxes() == {1: Decimal("21.000")}
        request = m.request_history[0]
        assert request.qs["ws_key"] == [KEY.lower()] and "Authorization" not in request.headers and "auth" not in request.headers
        with pytest.raises(PrestaShopAuthError) as caught:
            hook.countries()
    assert "ws_key" not in caught.value.url and KEY not in str(caught.value)
    assert "auth" not in caught.value.reason.split("Webservice", 1)[1]  # no hint to try what is already used


def test_garbage_answer_names_the_url_without_the_key(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_Q", json.dumps({"conn_type": "http", "host": "http://shop.test", "password": KEY}))
    hook = PrestaShopHook("prestashop_q", max_attempts=2, sleep=lambda s: None)
    with rm.Mocker() as m:
        m.get("http://shop.test/api/orders", text="<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"})
        with pytest.raises(TransientError) as caught:
            hook.orders([1, 2])
    text = str(caught.value)
    assert "http://shop.test/api/orders?" in text and "no valid JSON (text/html" in text
    assert KEY not in text


def _session(m, token="sess-1"):
    m.post(f"{EB}/v1/session", json={"token": token, "expiresIn": 3600})
    m.delete(f"{EB}/v1/session", status_code=204)


def test_session_is_opened_once_sent_raw_and_revoked():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.get(f"{EB}/v1/ledger", json={"items": [{"id": 11, "code": "1300"}, {"id": 80, "code": "8000"}], "count": 2})
        assert hook.ledger_ids({"1300", "8000"}) == {"1300": 11, "8000": 80}
        assert hook.ledger_ids({"8000"}) == {"8000": 80}  # ledgers are read once per hook
        hook.close_session()
        body = m.request_history[0].json()
        assert body == {"accessToken": TOKEN, "source": "PSEBTEST"}
        assert m.request_history[1].headers["Authorization"] == "sess-1"  # no "Bearer"
        assert "source" not in m.request_history[1].headers  # connection extras are not HTTP headers
        assert [r.method for r in m.request_history] == ["POST", "GET", "DELETE"]


def test_expired_session_is_renewed_once_on_401():
    hook = eb()
    with rm.Mocker() as m:
        m.post(f"{EB}/v1/session", [{"json": {"token": "old", "expiresIn": 1}}, {"json": {"token": "new", "expiresIn": 3600}}])
        m.get(f"{EB}/v1/relation", [
            {"status_code": 401, "json": {"type": "security", "code": "API_401", "title": "Unauthorized"}},
            {"json": {"items": [{"id": 5, "type": "P", "code": "JanJansen"}], "count": 1}},
        ])
        m.get(f"{EB}/v1/relation/5", json={"id": 5, "code": "JanJansen", "emailAddress": "Jan@Example.nl"})
        assert hook.relation_by_email("jan@example.nl")["id"] == 5
        assert [r.headers.get("Authorization") for r in m.request_history if r.path == "/v1/relation"] == ["old", "new"]


def test_validation_errors_carry_code_and_title_and_are_not_retried():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.post(f"{EB}/v1/mutation", status_code=400, json={"type": "validation", "code": "MUT_109", "title": "Invalid VAT code", "status": 400})
        with pytest.raises(ApiError) as caught:
            hook.create_mutation(SALE)
        assert caught.value.reason == "MUT_109 Invalid VAT code"
        assert len([r for r in m.request_history if r.path == "/v1/mutation"]) == 1


def test_an_error_answer_cut_off_on_the_way_is_read_again_not_taken_as_a_refusal():
    # a 400 whose JSON is cut in half hides its code (MUT_019 would mean: booked already)
    cut = '{"type": "validation", "code": "MUT_0'
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.get(f"{EB}/v1/relation", [
            {"status_code": 400, "text": cut, "headers": {"Content-Type": "application/json"}},
            {"status_code": 400, "json": {"code": "REL_004", "title": "Invalid filter"}},
        ])
        with pytest.raises(ApiError) as caught:
            hook.relation_by_email("jan@example.nl")
        assert caught.value.reason == "REL_004 Invalid filter"
        assert len([r for r in m.request_history if r.path == "/v1/relation"]) == 2
        m.post(f"{EB}/v1/mutation", [
            {"status_code": 400, "text": cut, "headers": {"Content-Type": "application/json"}},
            {"json": {"id": 1}},
        ])
        with pytest.raises(AmbiguousWrite, match="unreadable error"):  # looked up by the caller before sending again
            hook.create_mutation(SALE)
        assert len([r for r in m.request_history if r.path == "/v1/mutation"]) == 1


def test_an_html_refusal_stays_a_refusal_with_the_status():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.post(f"{EB}/v1/mutation", status_code=403, text="<html>Forbidden</html>", headers={"Content-Type": "text/html"}, reason="Forbidden")
        with pytest.raises(ApiError) as caught:
            hook.create_mutation(SALE)
        assert caught.value.reason == "HTTP_403 Forbidden"


@pytest.mark.parametrize(
    "failure",
    [{"status_code": 500, "json": {"code": "ERR"}}, {"exc": requests.exceptions.ReadTimeout("slow")}, {"exc": requests.exceptions.ChunkedEncodingError("cut")}],
)
def test_a_write_with_an_unknown_outcome_is_not_resent_blindly(failure):
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.post(f"{EB}/v1/mutation", [failure, {"json": {"id": 1}}])
        with pytest.raises(AmbiguousWrite):
            hook.create_mutation(SALE)
        assert len([r for r in m.request_history if r.path == "/v1/mutation"]) == 1


def test_a_write_refused_before_processing_is_retried():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.post(f"{EB}/v1/mutation", [{"status_code": 429, "headers": {"Retry-After": "1"}}, {"json": {"id": 42}}])
        assert hook.create_mutation(SALE) == {"id": 42}


def test_amounts_go_out_as_exact_numbers_and_come_back_as_decimals():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.post(f"{EB}/v1/mutation", json={"id": 7})
        m.get(f"{EB}/v1/mutation/invoice/outstanding", text='{"items": [{"invoiceNumber": "S1", "outstandingAmount": 18.92}], "count": 1}')
        hook.create_mutation({**SALE, "rows": [{"ledgerId": 80, "vatCode": "GEEN", "amount": Decimal("0.10")}]})
        assert '"rows":[{"ledgerId":80,"vatCode":"GEEN","amount":0.10}]' in m.request_history[1].text
        assert hook.outstanding("S1")[0]["outstandingAmount"] == Decimal("18.92")


def test_no_secret_in_errors_or_logs(caplog):
    hook = eb(max_attempts=2)
    with rm.Mocker() as m:
        m.post(f"{EB}/v1/session", status_code=401, json={"type": "security", "code": "API_SESSION_002", "title": "Invalid access token"})
        with pytest.raises(ApiError) as caught:
            hook.ledgers()
    assert caught.value.reason.startswith("API_SESSION_002 e-Boekhouden refused the API token of connection 'eboekhouden_t' (Invalid access token); make a new one")
    assert TOKEN not in str(caught.value) and TOKEN not in caplog.text


# ---- the official contract: filters, paging, session, source --------------------------------------


def test_filters_put_the_operator_in_the_parameter_name_and_lists_page_until_a_short_page():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        page = [{"id": i, "type": "P", "code": f"KlaartjePi{i}"} for i in range(2000)]
        m.get(f"{EB}/v1/relation", [{"json": {"items": page, "count": 2000}}, {"json": {"items": page[:3], "count": 3}}])
        codes = hook.relation_codes_like("KlaartjePi")
        assert len(codes) == 2003  # count is per page: reading stops at the short page, not at offset >= count
        asked = [r for r in m.request_history if r.path == "/v1/relation"]
        assert [r.qs["offset"] for r in asked] == [["0"], ["2000"]] and asked[0].qs["limit"] == ["2000"]
        assert "code%5Blike%5D=KlaartjePi%25" in asked[0].url  # code[like]=KlaartjePi%, URL-escaped
        assert "code=%5Blike%5D" not in asked[0].url


@pytest.mark.parametrize("status", [200, 204, 401, 500])
def test_closing_a_session_revokes_it_and_never_fails_the_task(status):
    hook = eb()
    with rm.Mocker() as m:
        m.post(f"{EB}/v1/session", json={"token": "sess-1", "expiresIn": 3600})
        m.delete(f"{EB}/v1/session", status_code=status)  # 401: the token expired already; 500: it expires by itself
        m.get(f"{EB}/v1/ledger", json={"items": [{"id": 11, "code": "1300"}], "count": 1})
        assert hook.test_connection() == (True, "e-Boekhouden API answered")
        hook.ledgers()
        hook.close_session()  # never raises
        hook.close_session()  # nothing left to revoke
        revokes = [r for r in m.request_history if r.method == "DELETE"]
        assert [r.headers["Authorization"] for r in revokes] == ["sess-1", "sess-1"]  # one per session opened
    assert hook.requests_made[("DELETE", "v1/session")] == 2


# ---- paging: until an empty page, or a page shorter than a cap we know -------------------------------


def _pages(m, path: str, sizes: list[int], item=lambda i: {"id": i + 1, "type": "P", "code": f"KlaartjePi{i}"}):
    """Answers to successive GETs of one list: pages of these sizes, items numbered on."""
    answers, start = [], 0
    for size in sizes:
        answers.append({"json": {"items": [item(i) for i in range(start, start + size)], "count": size}})
        start += size
    m.get(f"{EB}{path}", answers)


@pytest.mark.parametrize(
    ("sizes", "requests_made", "cap"),
    [
        ([0], 1, None),  # nothing: one request
        ([1], 1, None),  # 0 or 1 item found (an e-mail, an invoice number): one request, as before
        ([99], 1, None),  # shorter than the documented default page: the last
        ([150, 0], 2, None),  # 150 of 2000 asked: the server may cap pages, so one more request says it was all
        ([500, 500, 120], 3, 500),  # a cap of 500: learnt from the second page, so the third (120 < 500) is the last
        ([500, 500, 500, 0], 4, 500),  # a last page as long as the cap: one more request
        ([2000, 3], 2, None),  # full pages of what was asked, then a short one
        ([500, 40], 2, 500),  # 500 of 2000 and then more: a cap of 500; 40 < 500 ends the list
        ([150, 40], 2, 150),  # a cap below 500 is learnt the same way
    ],
)
def test_lists_are_read_until_an_empty_page_unless_a_known_cap_ends_them(sizes, requests_made, cap):
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        _pages(m, "/v1/relation", sizes)
        assert len(list(hook.relations())) == sum(sizes)
        asked = [r for r in m.request_history if r.path == "/v1/relation"]
        assert len(asked) == requests_made
        assert all(r.qs["limit"] == ["2000"] for r in asked)
        assert [int(r.qs["offset"][0]) for r in asked] == [sum(sizes[:n]) for n in range(requests_made)]
    assert hook.page_cap == cap


def test_a_learnt_cap_ends_later_lists_at_a_short_page():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        _pages(m, "/v1/relation", [500, 0])
        assert len(list(hook.relations())) == 500 and hook.page_cap is None  # 500 of 2000, then nothing: no cap seen
        _pages(m, "/v1/relation", [500, 300])
        assert len(list(hook.relations())) == 800 and hook.page_cap == 500  # 500 of 2000, then more: the server's cap
        _pages(m, "/v1/mutation/invoice/outstanding", [450], item=lambda i: {"invoiceNumber": f"S{i}", "outstandingAmount": 1})
        assert len(list(hook.all_outstanding())) == 450
        assert len([r for r in m.request_history if r.path == "/v1/mutation/invoice/outstanding"]) == 1  # 450 < the cap: complete


def test_a_lookup_that_finds_its_item_stops_paging():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        _pages(m, "/v1/relation", [500, 500, 500])  # an API that ignores the code filter: every relation
        assert hook.relation_by_code("KlaartjePi3")["id"] == 4
        assert len([r for r in m.request_history if r.path == "/v1/relation"]) == 1


# ---- lookups: every item is checked against the filter it was asked with ----------------------------


def test_a_relation_found_by_email_is_booked_to_only_after_its_address_is_confirmed():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        listed = [{"id": 7, "type": "P", "code": "Other"}, {"id": 8, "type": "P", "code": "JanJansen"}]
        m.get(f"{EB}/v1/relation", json={"items": listed, "count": 2})  # the API ignored ?email=
        m.get(f"{EB}/v1/relation/7", json={"id": 7, "emailAddress": "someone@else.nl"})
        m.get(f"{EB}/v1/relation/8", json={"id": 8, "emailAddress": " JAN@example.NL "})
        assert hook.relation_by_email("jan@example.nl") == listed[1]  # compared as the store compares: trimmed, case-folded
        assert hook.relation_by_email("Jan@Example.nl") == listed[1]
        assert hook.relation_by_email("new@example.nl") is None  # no relation has it: create one
        details = [r.path for r in m.request_history if r.path.startswith("/v1/relation/")]
        assert details == ["/v1/relation/7", "/v1/relation/8"]  # each relation read once per hook
        assert m.request_history[1].qs["email"] == ["jan@example.nl"]
    assert hook.ignored_filters == {"email"}


def test_a_relation_found_by_email_that_is_gone_or_has_no_id():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.get(f"{EB}/v1/relation", json={"items": [{"id": 7, "type": "P", "code": "Gone"}], "count": 1})
        m.get(f"{EB}/v1/relation/7", status_code=404, json={"type": "not-found", "code": "REL_055", "title": "Relation not found.", "status": 404})
        assert hook.relation_by_email("jan@example.nl") is None
        m.get(f"{EB}/v1/relation", json={"items": [{"id": 0, "type": "P", "code": "NoId"}], "count": 1})
        assert hook.relation_by_email("piet@example.nl") == {"id": 0, "type": "P", "code": "NoId"}  # the booking code refuses it


def test_codes_are_confirmed_exactly_and_by_their_start():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        everyone = [{"id": 1, "type": "P", "code": "JanJansen"}, {"id": 2, "type": "P", "code": "klaartjepi1"}, {"id": 3, "type": "B", "code": "KlaartjePi"}]
        m.get(f"{EB}/v1/relation", json={"items": everyone, "count": 3})  # an API that ignores code and code[like]
        assert hook.relation_by_code("KLAARTJEPI") == everyone[2]
        assert hook.relation_by_code("Nobody") is None
        assert hook.relation_codes_like("KlaartjePi") == ["klaartjepi1", "KlaartjePi"]
    assert hook.ignored_filters == {"code", "code[like]"}


def test_the_invoice_template_is_the_one_with_the_configured_name():
    from prestashop_eboekhouden.domain.errors import ConfigurationProblem

    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        templates = [{"id": 1, "name": "Standaard", "active": True}, {"id": 2, "name": "Webshop", "active": False}, {"id": 3, "name": "Webshop", "active": True}]
        m.get(f"{EB}/v1/invoicetemplate", json={"items": templates, "count": 3})
        assert hook.invoice_template_id("Webshop") == 3  # the active one of that name
        assert hook.invoice_template_id(" webshop") == 3
        with pytest.raises(ConfigurationProblem, match="'Factuur' does not exist"):
            hook.invoice_template_id("Factuur")  # not the first template of the list


def test_lookups_by_invoice_number_keep_only_that_number():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        items = [{"id": 1, "type": 2, "invoiceNumber": "DEMO-1"}, {"id": 2, "type": 2, "invoiceNumber": "demo-1"}, {"id": 3, "type": 3, "invoiceNumber": "DEMO-1"}]
        m.get(f"{EB}/v1/mutation", json={"items": items, "count": 3})
        assert [i["id"] for i in hook.mutations_by_invoice_number("DEMO-1", 2)] == [1, 2]
        m.get(f"{EB}/v1/mutation/invoice/outstanding", json={"items": [{"invoiceNumber": "DEMO-2"}, {"invoiceNumber": "DEMO-1"}], "count": 2})
        assert hook.outstanding("DEMO-1") == [{"invoiceNumber": "DEMO-1"}]
        m.get(f"{EB}/v1/invoice", json={"items": [{"id": 5, "invoiceNumber": "1041", "relationId": 9, "date": "2026-11-20"}, {"id": 6, "invoiceNumber": "1042", "relationId": 8}], "count": 2})
        assert [i["id"] for i in hook.invoices(invoiceNumber="1041")] == [5]
        assert [i["id"] for i in hook.invoices(relationId=9, date="2026-11-20")] == [5]


def test_a_created_relation_without_an_id_is_found_by_its_code():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.post(f"{EB}/v1/relation", json={"code": "KlaartjePi5"})  # CreatedRelation: id and code are both optional
        m.get(f"{EB}/v1/relation", json={"items": [{"id": 1005, "type": "P", "code": "KlaartjePi5"}], "count": 1})
        assert hook.create_relation({"type": "P", "code": "KlaartjePi5", "name": "Klaartje"}) == {"id": 1005, "code": "KlaartjePi5"}
        m.get(f"{EB}/v1/relation", json={"items": [], "count": 0})
        with pytest.raises(ApiError, match="CREATED_WITHOUT_ID"):
            hook.create_relation({"type": "P", "code": "KlaartjePi6", "name": "Klaartje"})


@pytest.mark.parametrize(("source", "problem"), [("PS-EB", "letters, digits"), ("MYWEBSHOP.NL", "at most 10"), ("Shop/1", "letters, digits")])
def test_a_source_the_api_would_refuse_is_named_before_any_request(monkeypatch, source, problem):
    from prestashop_eboekhouden.domain.errors import ConfigurationProblem

    monkeypatch.setenv("AIRFLOW_CONN_EBOEKHOUDEN_T", json.dumps({"conn_type": "http", "host": EB, "password": TOKEN, "extra": {"source": source}}))
    with rm.Mocker() as m, pytest.raises(ConfigurationProblem) as caught:
        eb().ledgers()
    assert "eboekhouden_t" in str(caught.value) and "source" in str(caught.value) and problem in str(caught.value)
    assert m.request_history == []


def _refused_connection() -> requests.ConnectionError:
    """What requests raises when nothing listens on the port (a write that certainly was not sent)."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/v1/mutation", reason))


@pytest.mark.parametrize(
    ("exc", "sent"),
    [
        (requests.ConnectTimeout(MaxRetryError(None, "/", ConnectTimeoutError(None, "connect timed out"))), False),
        (requests.exceptions.SSLError("handshake failure"), False),
        (_refused_connection(), False),
        (requests.ConnectionError(MaxRetryError(None, "/", NameResolutionError("api.eb.test", None, OSError("no such host")))), False),
        (requests.exceptions.ProxyError(MaxRetryError(None, "/", ProxyError("proxy down", NewConnectionError(None, "refused")))), False),
        # the message speaks of a refusal, but the connection was made and the request went out
        (requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionRefusedError("Connection refused"))), True),
        (requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError("reset by peer"))), True),
        (requests.ConnectionError("Connection refused"), True),  # no type to go by: assume it was sent
        (requests.ReadTimeout("read timed out"), True),
        (requests.exceptions.ChunkedEncodingError("cut"), True),
    ],
)
def test_whether_a_request_was_sent_is_decided_from_the_exception_type(exc, sent):
    assert request_was_sent(exc) is sent


def test_a_write_that_could_not_connect_is_retried_but_one_cut_off_is_not():
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.post(f"{EB}/v1/mutation", [{"exc": _refused_connection()}, {"json": {"id": 42}}])
        assert hook.create_mutation(SALE) == {"id": 42}
        m.post(f"{EB}/v1/mutation", [{"exc": requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionRefusedError()))}, {"json": {"id": 43}}])
        with pytest.raises(AmbiguousWrite):
            hook.create_mutation(SALE)
    assert hook.requests_made[("POST", "v1/mutation")] == 3


def test_a_refused_connection_to_a_real_closed_port_is_not_ambiguous(monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_EBOEKHOUDEN_T", json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{port}", "password": TOKEN, "extra": {"source": "PSEBTEST"}}))
    hook = eb(max_attempts=2)
    with pytest.raises(TransientError, match="could not connect.*gave up after 2 attempts") as caught:
        hook.create_relation({"type": "B", "code": "X1", "name": "X"})
    assert not isinstance(caught.value, AmbiguousWrite)


def test_back_off_is_exponential_with_jitter_and_retry_after_is_capped():
    waits: list[float] = []
    hook = PrestaShopHook("prestashop_path", sleep=waits.append, max_attempts=5)
    hook.backoff_base = 1.0
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/taxes", [{"status_code": 503}, {"status_code": 503}, {"status_code": 503}, {"status_code": 429, "headers": {"Retry-After": "86400"}}, {"json": {"taxes": []}}])
        assert hook.taxes() == {}
    assert len(waits) == 4
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0
    assert waits[3] == RETRY_AFTER_CAP == 300.0


def test_extras_the_hooks_read_are_not_headers_but_other_extras_are(monkeypatch):
    """Each hook declares the extras it reads; the e-Boekhouden ones are the connection type's fields (both backends
    share the type), so not even a SOAP security code travels to a REST host as a header."""
    extra = {"source": "PSEBTEST", "timeout": 5, "api": "rest", "session_max_age": 60, "security_code_1": "CODE1", "X-Shop-Tag": "tag7"}
    monkeypatch.setenv("AIRFLOW_CONN_EBOEKHOUDEN_T", json.dumps({"conn_type": "http", "host": EB, "password": TOKEN, "extra": extra}))
    hook = eb()
    with rm.Mocker() as m:
        _session(m)
        m.get(f"{EB}/v1/ledger", json={"items": [], "count": 0})
        hook.ledgers()
        sent = m.request_history[-1].headers
    assert sent["X-Shop-Tag"] == "tag7"
    assert not {"source", "timeout", "api", "session_max_age", "security_code_1"} & {name.lower() for name in sent}
    assert "auth" in PrestaShopHook.connection_extras and "auth" not in EBoekhoudenHook.connection_extras
    assert ApiHook.connection_extras == {"timeout"}  # the generic HTTP base knows no API's extras


def test_reference_data_read_by_one_task_serves_the_next_without_a_request():
    import json as _json

    first = ps()
    with rm.Mocker() as m:
        m.get(f"{SHOP}/api/order_states", json={"order_states": [{"id": "2", "name": [{"id": "1", "value": "Payment accepted"}], "paid": "1"}]})
        m.get(f"{SHOP}/api/countries", json={"countries": [{"id": "13", "iso_code": "nl"}]})
        m.get(f"{SHOP}/api/taxes", json={"taxes": [{"id": "1", "rate": "21.000"}]})
        m.get(f"{SHOP}/api/currencies", json={"currencies": [{"id": "1", "iso_code": "EUR"}]})
        m.get(f"{SHOP}/api/configurations", json={"configurations": [{"name": "PS_COUNTRY_DEFAULT", "value": "13"}]})
        assert first.reference_data() == {}
        first.order_states()
        assert set(first.reference_data()) == {"order_states"}  # what was read so far: an extract reads the states only
        first.countries(), first.taxes(), first.currencies(), first.shop_country()
        shared = _json.loads(_json.dumps(first.reference_data()))  # as XCom carries it
        assert len(_json.dumps(shared)) < 1000 and m.call_count == 5
        later = ps()
        later.use_reference_data(shared)
        assert later.order_states()[2].name == "Payment accepted" and later.order_states()[2].paid is True
        assert (later.countries(), later.taxes(), later.currencies(), later.shop_country()) == ({13: "NL"}, {1: Decimal("21.000")}, {1: "EUR"}, "NL")
        assert m.call_count == 5 and later.requests_made == {}  # no request of its own
        uncached = ps(cache=False)
        uncached.use_reference_data(shared)  # the naive baseline keeps reading every time
        uncached.taxes()
        assert m.call_count == 6


def test_a_token_refused_with_a_security_error_names_the_connection():
    hook = eb(max_attempts=2)
    refused = {"type": "security", "securityType": 0, "code": "API_SESSION_004", "title": "Access token has expired.", "status": 403}
    with rm.Mocker() as m:
        m.post(f"{EB}/v1/session", status_code=403, json=refused)
        with pytest.raises(ApiError) as caught:
            hook.ledgers()
        assert len(m.request_history) == 1  # a refusal, not retried
    assert caught.value.status == 403 and caught.value.code == "API_SESSION_004"
    assert "e-Boekhouden refused the API token of connection 'eboekhouden_t' (Access token has expired.)" in caught.value.reason
    assert TOKEN not in str(caught.value)
