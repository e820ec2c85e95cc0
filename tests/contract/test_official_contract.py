"""The contract module itself, against the official description it was written from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prestashop_eboekhouden.contract import eboekhouden as c

SHEET = Path(__file__).resolve().parents[3] / "shared" / "reference" / "eboekhouden-rest-official.md"  # ../shared beside the repo
SALE = {
    "type": 2, "date": "2026-11-20", "ledgerId": 13000, "relationId": 1001, "invoiceNumber": "DEMO-1041",
    "description": "Order 1041", "termOfPayment": 14, "inExVat": "IN",
    "rows": [{"ledgerId": 80000, "vatCode": "HOOG_VERK_21", "amount": 12.1, "description": "Tea"}],
}  # fmt: skip


def test_error_table_has_the_official_codes_with_their_meanings():
    assert c.ERROR_CODES["FACT_101"] == "Invoice number is in use."
    assert c.ERROR_CODES["FACT_021"] == "Invoice not found."
    assert c.ERROR_CODES["FACT_017"] == "Invoice text is too long."
    assert c.ERROR_CODES["MUT_106"] == "Invalid ledger category for row."
    assert c.ERROR_CODES["MUT_110"] == "VAT code must be of type purchase."
    assert c.ERROR_CODES["MUT_112"] == "Relation is missing."
    for invented in ("MUT_103", "FACT_030", "API_SESSION_005", "LIST_001", "SOAP_SESSION_001"):
        assert invented not in c.ERROR_CODES
    if SHEET.exists():  # every row of the sheet's table, word for word
        table = SHEET.read_text().split("## Error codes (the API's own table)")[1]
        rows = {code: meaning for code, meaning in re.findall(r"^\| ([A-Z_0-9]+) \| (.*?) \|$", table, re.MULTILINE) if code != "code"}
        assert rows == c.ERROR_CODES


def test_every_outcome_is_an_official_code():
    assert set(c.OUTCOMES) <= set(c.ERROR_CODES)
    assert c.meaning_of("FACT_101") == c.meaning_of("MUT_019") == c.DUPLICATE_NUMBER
    assert c.meaning_of("MUT_113") == c.meaning_of("MUT_013") == c.RELATION_GONE
    assert c.meaning_of("MUT_109") is None


def test_enums():
    assert [m.value for m in c.MutationType] == [1, 2, 3, 4, 5, 6, 7]
    assert {"HOOG_VERK_21", "LAAG_VERK_9", "BI_EU_VERK", "BU_EU_VERK", "GEEN", "AFW_VERK"} <= {v.value for v in c.VatCode}
    assert len(c.VatCode) == 16


@pytest.mark.parametrize(
    ("source", "ok"),
    [("PSEB", True), ("PS EB_2", True), ("ABCDEFGHIJ", True), ("ABCDEFGHIJK", False), ("PS-EB", False), ("", False), ("shop.nl", False)],
)
def test_source_pattern(source, ok):
    assert (c.source_problem(source) is None) is ok
    assert (c.check_request("POST", "/v1/session", body={"accessToken": "t", "source": source}) == []) is ok


def test_a_sale_conforms_and_each_deviation_is_named():
    assert c.check_request("POST", "/v1/mutation", body=SALE) == []
    assert c.check_request("POST", "https://api.e-boekhouden.nl/v1/mutation", body=SALE) == []
    wrong_type = c.check_request("POST", "/v1/mutation", body={**SALE, "ledgerId": "13000"})
    assert wrong_type and "ledgerId" in wrong_type[0]
    unknown = c.check_request("POST", "/v1/mutation", body={**SALE, "amount": 12.1})
    assert unknown and "amount" in unknown[0] and "Extra inputs" in unknown[0]
    missing = c.check_request("POST", "/v1/mutation", body={k: v for k, v in SALE.items() if k != "date"})
    assert missing and "date" in missing[0]
    bad_row = c.check_request("POST", "/v1/mutation", body={**SALE, "rows": [{"ledgerId": 1, "vatCode": "HOOG_VERK_21"}]})
    assert bad_row and "rows.0.amount" in bad_row[0]
    assert c.check_request("POST", "/v1/mutation", body={**SALE, "type": 9})
    assert c.check_request("POST", "/v1/mutation", body={**SALE, "inExVat": "INCL"})


def test_relation_and_invoice_bodies():
    assert c.check_request("POST", "/v1/relation", body={"type": "P", "code": "KlaartjePi", "name": "Klaartje", "emailAddress": "k@x.nl"}) == []
    assert c.check_request("POST", "/v1/relation", body={"code": "X"})  # name required
    assert c.check_request("POST", "/v1/relation", body={"name": "X", "email": "k@x.nl"})  # emailAddress, not email
    invoice = {
        "relationId": 1, "termOfPayment": 14, "templateId": 2, "inExVat": "IN", "reference": "DEMO-1",
        "items": [{"quantity": 1, "description": "Tea", "pricePerUnit": 6.95, "vatCode": "HOOG_VERK_21", "ledgerId": 8}],
        "mutation": {"ledgerId": 13, "paymentReference": "DEMO-1"},
    }  # fmt: skip
    assert c.check_request("POST", "/v1/invoice", body=invoice) == []
    assert c.check_request("POST", "/v1/invoice", body={**invoice, "items": []})
    assert c.check_request("POST", "/v1/invoice", body={**invoice, "totalInclVat": 6.95})


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("code%5Blike%5D=KlaartjePi%25&limit=2000&offset=0", None),
        ("date%5Brange%5D=2026-01-01,2026-12-31&invoiceNumber=DEMO-1&type=2", None),
        ("code=%5Blike%5DKlaartjePi%25", "operator in the value"),
        ("limit=0", "PAGE_001"),
        ("limit=2001", "PAGE_001"),
        ("offset=-1", "whole number"),
        ("relationId=5", "not in the description"),
        ("code%5Bgt%5D=A", "not allowed"),
        ("date%5Brange%5D=2026-01-01", "two bounds"),
    ],
)
def test_list_queries(query, problem):
    path = "/v1/mutation" if "date" in query or "invoiceNumber" in query else "/v1/relation"
    problems = c.check_request("GET", path, query)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems


def test_answers_list_items_are_thin_and_count_is_the_page():
    assert c.check_answer("GET", "/v1/relation", 200, {"items": [{"id": 1, "type": "P", "code": "K"}], "count": 1}) == []
    fat = c.check_answer("GET", "/v1/relation", 200, {"items": [{"id": 1, "code": "K", "emailAddress": "k@x.nl"}], "count": 1})
    assert fat and "emailAddress" in fat[0]
    total = c.check_answer("GET", "/v1/relation", 200, {"items": [{"id": 1}], "count": 250})
    assert total and "count" in total[0]
    mutation_item = {"id": 0, "type": 2, "date": "2026-11-20", "invoiceNumber": "X1", "ledgerId": 1, "amount": 0, "entryNumber": ""}
    assert c.check_answer("GET", "/v1/mutation", 200, {"items": [mutation_item], "count": 1}) == []
    assert c.check_answer("GET", "/v1/mutation", 200, {"items": [{**mutation_item, "relationId": 5}], "count": 1})
    assert c.check_answer("GET", "/v1/mutation/7", 200, {"id": 7, "relationId": 5, "rows": [{"amount": 1.0, "vatCode": "GEEN"}]}) == []
    assert c.check_answer("GET", "/v1/mutation/7", 200, {"id": 7, "amount": 5})


def test_error_answers_carry_official_codes_and_meanings():
    ok = {"type": "validation", "code": "FACT_101", "title": "Invoice number is in use.", "status": 400}
    assert c.check_answer("POST", "/v1/invoice", 400, ok) == []
    assert c.check_answer("POST", "/v1/invoice", 400, {**ok, "code": "FACT_021", "title": "Invoice number already exists"})
    assert c.check_answer("POST", "/v1/mutation", 400, {**ok, "code": "MUT_103", "title": "Ledger is required"})
    assert c.check_answer("POST", "/v1/mutation", 400, {"code": "MUT_019"})  # type, title, status required
    assert c.check_answer("DELETE", "/v1/session", 405, b"") == []


def test_ending_and_refusing_a_session_are_in_the_description():
    # end_session: DELETE /v1/session "Revokes the session token", an empty answer (401 for a dead token)
    assert c.check_request("DELETE", "/v1/session") == []
    assert c.check_answer("DELETE", "/v1/session", 200, b"") == []
    assert c.check_answer("DELETE", "/v1/session", 401, b"") == []
    assert c.check_request("DELETE", "/v1/session", body=b'{"token": "x"}')  # no body belongs to it
    # start_session: 400 an Error, 403 a SecurityError (an Error with a required securityType 0, 1 or 2)
    refused = {"type": "security", "code": "API_SESSION_004", "title": "Access token has expired.", "status": 403}
    assert c.check_answer("POST", "/v1/session", 403, {**refused, "securityType": 0}) == []
    assert "securityType" in c.check_answer("POST", "/v1/session", 403, refused)[0]
    assert c.check_answer("POST", "/v1/session", 403, {**refused, "securityType": 3})
    invalid = {"type": "validation", "code": "API_SESSION_002", "title": "Source does not match pattern.", "status": 400}
    assert c.check_answer("POST", "/v1/session", 400, invalid) == []
    assert c.check_answer("POST", "/v1/session", 400, {**invalid, "securityType": 0})  # not on an Error


def test_created_answers_are_read_as_their_models_have_them():
    assert c.check_answer("POST", "/v1/invoice", 201, {"id": 5, "invoiceNumber": "1001", "inExVat": "IN"}) == []
    assert c.check_answer("POST", "/v1/invoice", 201, {"id": 5}) == []  # every CreatedInvoice field is optional
    assert c.check_answer("POST", "/v1/invoice", 201, {"id": 5, "inExVat": "INCL"})
    assert c.check_answer("POST", "/v1/mutation", 201, {"id": 7}) == []
    assert c.check_answer("POST", "/v1/mutation", 201, {}) == []  # CreatedMutation.id is optional too
    assert c.check_answer("POST", "/v1/relation", 201, {"id": 9, "code": "KlaartjePi5"}) == []


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        ("CreateMutation", {"invoiceNumber": "X" * 50, "description": "D" * 50, "entryNumber": "E" * 50}, []),
        ("CreateMutation", {"invoiceNumber": "X" * 51}, [("invoiceNumber", 51, 50, "MUT_018")]),
        ("CreateMutation", {"description": "D" * 51, "entryNumber": "E" * 60}, [("entryNumber", 60, 50, None), ("description", 51, 50, None)]),
        ("CreateMutation", {"rows": [{"description": "R" * 500}]}, []),  # a row's description has no documented maximum
        ("CreateRelation", {"name": "N" * 100, "code": "C" * 15}, []),
        ("CreateRelation", {"name": "N" * 101, "postalCode": "P" * 51}, [("name", 101, 100, "REL_003"), ("postalCode", 51, 50, "REL_012")]),
        ("CreateRelation", {"freeText10": "F" * 101}, [("freeText10", 101, 100, "REL_046")]),
        ("CreateInvoice", {"reference": "R" * 51, "text": "T" * 35000}, [("reference", 51, 50, "FACT_014")]),
        ("CreateInvoice", {"items": [{"code": "ok"}, {"code": "C" * 51}]}, [("items[1].code", 51, 50, "FACT_ITEM_003")]),
        ("CreateInvoice", {"mutation": {"description": "D" * 201}}, [("mutation.description", 201, 200, "FACT_VERWERK_002")]),
    ],
)
def test_maximum_lengths_of_what_we_send(model, body, expected):
    found = [(long.path, long.length, long.maximum, long.code) for long in c.too_long(model, body)]
    assert found == expected
    for code in (long.code for long in c.too_long(model, body) if long.code):
        assert "too long" in c.ERROR_CODES[code]


def test_a_request_with_a_field_too_long_does_not_conform():
    problems = c.check_request("POST", "/v1/mutation", body={**SALE, "description": "Order 1041 - Bank wire - a description longer than 50"})
    assert len(problems) == 1 and "description has 53 characters, at most 50" in problems[0]
    problems = c.check_request("POST", "/v1/mutation", body={**SALE, "invoiceNumber": "X" * 51})
    assert problems == ["POST /v1/mutation body: invoiceNumber has 51 characters, at most 50 are allowed (MUT_018 Invoice number is too long.)"]
