"""Contract of the e-Boekhouden REST emulator over real HTTP: sessions, lists, relations, mutations, VAT, outstanding items, invoices."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import requests

from sandbox.books import DEFAULT_TOKEN
from sandbox.servers import SandboxServers

ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)
EXACT_JSON = msgspec.json.Encoder(decimal_format="number")
ERROR_KEYS = {"type", "code", "title", "message", "status", "errors", "propertyName", "traceId"}


class Client:
    """A tiny e-Boekhouden client: one session, exact JSON both ways."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.token = self.open_session().json()["token"]

    def open_session(self, **body: Any) -> requests.Response:
        """POST /v1/session (with the sandbox token and a source unless told otherwise)."""
        payload = {"accessToken": DEFAULT_TOKEN, "source": "TEST", **body}
        return self.http.post(f"{self.base}/v1/session", json={k: v for k, v in payload.items() if v is not None}, timeout=10)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, **params: Any) -> requests.Response:
        """An authenticated call; Decimals go out as exact numbers."""
        data = EXACT_JSON.encode(body) if body is not None else None
        headers = {"Authorization": self.token if token is None else token, "Content-Type": "application/json"}
        return self.http.request(method, f"{self.base}{path}", data=data, params=params, headers=headers, timeout=10)

    def json(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """An authenticated call's JSON, amounts as Decimal."""
        return json.loads(self.call(method, path, body, **params).content, parse_float=Decimal)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    """A small seeded sandbox shared by this module's tests (each uses its own invoice numbers)."""
    with SandboxServers(seed=42, orders=30, anchor=ANCHOR) as servers:
        yield servers


@pytest.fixture(autouse=True)
def eboekhouden_requests_obey_the_contract() -> Iterator[list[str]]:
    """This module sends wrong requests on purpose (to see the emulator refuse them): the client-side check is off here."""
    yield []


@pytest.fixture(autouse=True)
def answers_conform(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every answer the emulator gave in a test conforms to the official contract (requests here may be wrong on purpose)."""
    yield
    if "sandbox" in request.fixturenames:
        servers = request.getfixturevalue("sandbox")
        violations = list(servers.books.contract.answer_violations)
        servers.books.contract.reset()
        assert violations == []


@pytest.fixture
def knobs(sandbox: SandboxServers) -> Iterator[Any]:
    """Set emulator knobs for one test (PUT /__sandbox__/settings); put back afterwards."""

    def put(**settings: Any) -> dict[str, Any]:
        answer = requests.put(f"{sandbox.eboekhouden_url}/__sandbox__/settings", json=settings, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    yield put
    put(mutation_list_amount="incl", list_ids_zero=False, email_case="insensitive", page_cap=None, email_filter="honoured", code_filter="honoured")


@pytest.fixture(scope="module")
def eb(sandbox: SandboxServers) -> Client:
    """A client with an open session."""
    return Client(sandbox.eboekhouden_url)


@pytest.fixture(scope="module")
def ledger(eb: Client) -> dict[str, int]:
    """Ledger code → id."""
    return {item["code"]: item["id"] for item in eb.json("GET", "/v1/ledger")["items"]}


@pytest.fixture
def relation_id(eb: Client) -> int:
    """A new debtor for one test."""
    return eb.json("POST", "/v1/relation", {"type": "P", "name": "Test Debiteur", "emailAddress": "debiteur@example.nl"})["id"]


def sale(
    ledger: dict[str, int], relation_id: int, number: str, amount: str, in_ex: str = "IN", vat: str = "HOOG_VERK_21"
) -> dict[str, Any]:
    """A type 2 mutation payload with one row."""
    row = {"ledgerId": ledger["8000"], "vatCode": vat, "amount": Decimal(amount)}
    header = {"type": 2, "date": "2026-03-10", "ledgerId": ledger["1300"], "relationId": relation_id, "invoiceNumber": number}
    return {**header, "inExVat": in_ex, "termOfPayment": 14, "rows": [row]}


def payment(ledger: dict[str, int], relation_id: int, number: str, amount: str) -> dict[str, Any]:
    """A type 3 mutation payload paying an invoice."""
    row = {"amount": Decimal(amount), "vatCode": "GEEN", "invoiceNumber": number, "relationId": relation_id}
    header = {"type": 3, "date": "2026-03-11", "ledgerId": ledger["1110"], "relationId": relation_id, "invoiceNumber": number}
    return {**header, "inExVat": "IN", "entryNumber": "tr_TEST", "rows": [row]}


def error(response: requests.Response) -> str:
    """The e-Boekhouden error code of an answer whose body has every error field."""
    body = response.json()
    assert set(body) >= ERROR_KEYS, body
    assert body["status"] == response.status_code
    return str(body["code"])


# ---- session -------------------------------------------------------------------------------------


def test_session_gives_a_token_that_authorizes_calls(eb: Client) -> None:
    opened = eb.open_session()
    assert opened.status_code == 200
    assert set(opened.json()) == {"token", "expiresIn"} and opened.json()["expiresIn"] > 0
    assert eb.call("GET", "/v1/ledger", token=opened.json()["token"]).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"source": None}, 400, "API_SESSION_001"),
        ({"source": "ELEVENCHARS"}, 400, "API_SESSION_002"),
        ({"accessToken": None}, 400, "API_SESSION_003"),
        ({"accessToken": "wrong-token"}, 403, "API_SESSION_004"),
    ],
)
def test_session_errors(eb: Client, body: dict[str, Any], status: int, code: str) -> None:
    response = eb.open_session(**body)
    assert response.status_code == status
    assert error(response) == code
    if status == 403:  # start_session's 403 is a SecurityError: an Error with securityType (0: generic)
        assert response.json()["type"] == "security" and response.json()["securityType"] == 0
    else:  # its 400 an Error
        assert response.json()["type"] == "validation" and "securityType" not in response.json()


def test_calls_need_a_valid_session_token_without_bearer_and_delete_revokes_it(eb: Client) -> None:
    token = eb.open_session().json()["token"]
    assert error(eb.call("GET", "/v1/ledger", token="")) == "SECURITY_010"
    assert eb.call("GET", "/v1/ledger", token=f"Bearer {token}").status_code == 401
    assert eb.call("GET", "/v1/ledger", token=token).status_code == 200
    # end_session: DELETE /v1/session "Revokes the session token" (an empty answer)
    revoke = eb.call("DELETE", "/v1/session", token=token)
    assert revoke.status_code == 200 and revoke.content == b""
    revoked = eb.call("GET", "/v1/ledger", token=token)
    assert revoked.status_code == 401 and revoked.json()["type"] == "security"
    assert eb.call("DELETE", "/v1/session", token=token).status_code == 401  # a token that is no longer valid


def test_session_tokens_expire(sandbox: SandboxServers, eb: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.books, "token_lifetime", 0.3)
    short = eb.open_session().json()
    assert eb.call("GET", "/v1/ledger", token=short["token"]).status_code == 200
    time.sleep(0.4)
    assert eb.call("GET", "/v1/ledger", token=short["token"]).status_code == 401
    renewed = eb.open_session().json()["token"]
    assert eb.call("GET", "/v1/ledger", token=renewed).status_code == 200


# ---- lists and filters ---------------------------------------------------------------------------


def test_ledgers_have_ids_other_than_codes_and_filter_by_code_and_category(eb: Client) -> None:
    bank = eb.json("GET", "/v1/ledger", code="1100")
    financial = eb.json("GET", "/v1/ledger", category="FIN")
    assert bank["count"] == 1
    assert set(bank["items"][0]) == {"id", "code", "description", "category", "group"}
    assert bank["items"][0]["id"] != 1100
    assert {"1100", "1110"} <= {item["code"] for item in financial["items"]}
    assert all(item["category"] == "FIN" for item in financial["items"])


def test_lists_page_with_limit_and_offset_and_count_the_items_retrieved(eb: Client) -> None:
    everything = eb.json("GET", "/v1/ledger", limit=2000)
    page = eb.json("GET", "/v1/ledger", limit=5, offset=5)
    assert everything["count"] == len(everything["items"]) > 10
    assert page["count"] == 5  # the items retrieved, not a grand total
    assert page["items"] == everything["items"][5:10]
    assert eb.json("GET", "/v1/relation", limit=3)["count"] == 3
    assert error(eb.call("GET", "/v1/ledger", limit=2001)) == "PAGE_001"
    assert error(eb.call("GET", "/v1/ledger", limit=0)) == "PAGE_001"
    assert error(eb.call("GET", "/v1/ledger", offset=-1)) == "PAGE_002"
    assert eb.call("GET", "/v1/ledger", limit=2000).status_code == 200


def test_page_cap_knob_answers_at_most_that_many_items_whatever_limit_asks(eb: Client, knobs: Any) -> None:
    everything = eb.json("GET", "/v1/relation", limit=2000)["items"]
    assert len(everything) > 6
    knobs(page_cap=3)
    capped = eb.json("GET", "/v1/relation", limit=2000)
    assert capped["count"] == 3 and capped["items"] == everything[:3]  # count: the items of this page
    assert eb.json("GET", "/v1/relation", limit=2000, offset=3)["items"] == everything[3:6]  # the next page starts at the offset asked
    assert eb.json("GET", "/v1/relation", limit=2)["count"] == 2
    assert eb.json("GET", "/v1/ledger", limit=2000)["count"] == 3
    answer = requests.put(f"{eb.base}/__sandbox__/settings", json={"page_cap": 0}, timeout=10)
    assert answer.status_code == 400


def test_filter_knobs_make_the_relation_list_ignore_email_or_code(eb: Client, knobs: Any) -> None:
    total = len(eb.json("GET", "/v1/relation", limit=2000)["items"])
    assert eb.json("GET", "/v1/relation", email="nobody@example.org")["count"] == 0
    knobs(email_filter="ignored")
    assert eb.json("GET", "/v1/relation", limit=2000, email="nobody@example.org")["count"] == total
    assert eb.json("GET", "/v1/relation", limit=2000, code="KlaartjePi3")["count"] == 1  # the code filter still applies
    knobs(email_filter="honoured", code_filter="ignored")
    assert eb.json("GET", "/v1/relation", limit=2000, code="KlaartjePi3")["count"] == total
    assert eb.json("GET", "/v1/relation", limit=2000, **{"code[like]": "Klaartje%"})["count"] == total
    assert eb.json("GET", "/v1/relation", email="nobody@example.org")["count"] == 0


def test_relation_filter_operators_go_in_the_parameter_name(eb: Client) -> None:
    def codes(**params: Any) -> list[str]:
        return [item["code"] for item in eb.json("GET", "/v1/relation", limit=2000, **params)["items"]]

    klaartje = ["KlaartjePi", "KlaartjePi1", "KlaartjePi2", "KlaartjePi3", "KlaartjePi4"]
    assert codes(**{"code[like]": "KlaartjePi%"}) == klaartje
    assert codes(**{"code[like]": "klaartjepi?"}) == klaartje[1:]
    assert codes(code="KLAARTJEPI3") == ["KlaartjePi3"]
    assert codes(**{"code[eq]": "KlaartjePi3"}) == ["KlaartjePi3"]
    assert "KlaartjePi" not in codes(**{"code[not_like]": "Klaartje%"})
    assert codes(**{"code[not_eq]": "KlaartjePi", "code": "KlaartjePi"}) == []  # AND over all conditions
    # a value that looks like an operator is a literal: no relation has the code "[like]KlaartjePi%"
    assert codes(code="[like]KlaartjePi%") == []
    assert error(eb.call("GET", "/v1/relation", **{"code[almost]": "Kla"})) == "ERR_002"
    assert error(eb.call("GET", "/v1/mutation", **{"date[range]": "2026-03-01"})) == "ERR_002"


def test_relation_list_items_are_thin(eb: Client) -> None:
    items = eb.json("GET", "/v1/relation", limit=5)["items"]
    assert items and all(set(item) == {"id", "type", "code"} for item in items)
    full = eb.json("GET", f"/v1/relation/{items[0]['id']}")
    assert {"name", "emailAddress", "code"} <= set(full)


def test_email_filter_matches_case_insensitively_unless_the_knob_says_otherwise(sandbox: SandboxServers, eb: Client, knobs: Any) -> None:
    mixed = next(c for c in sandbox.shop.items("customers") if c["email"] != c["email"].lower())
    found = eb.json("GET", "/v1/relation", email=mixed["email"])
    assert found["count"] == 1
    assert eb.json("GET", f"/v1/relation/{found['items'][0]['id']}")["emailAddress"] == mixed["email"].lower()
    assert eb.json("GET", "/v1/relation", email="nobody@example.org")["count"] == 0
    knobs(email_case="sensitive")
    assert eb.json("GET", "/v1/relation", email=mixed["email"])["count"] == 0
    assert eb.json("GET", "/v1/relation", email=mixed["email"].lower())["count"] == 1


# ---- relations -----------------------------------------------------------------------------------


def test_a_new_relation_gets_the_next_free_code(eb: Client) -> None:
    created = eb.call("POST", "/v1/relation", {"type": "P", "name": "Klaartje Pietersen", "emailAddress": "klaartje.pietersen@example.nl"})
    relation = eb.json("GET", f"/v1/relation/{created.json()['id']}")
    assert created.status_code == 201
    assert created.json()["code"] == "KlaartjePi5"
    assert (relation["name"], relation["emailAddress"], relation["type"]) == ("Klaartje Pietersen", "klaartje.pietersen@example.nl", "P")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "B", "emailAddress": "x@example.nl"}, "REL_002"),
        ({"name": "Bad Mail", "emailAddress": "not-an-address"}, "REL_023"),
        ({"name": "Duplicate", "code": "KlaartjePi2"}, "REL_049"),
        ({"name": "Duplicate", "code": "klaartjepi2"}, "REL_049"),
    ],
)
def test_relation_validation(eb: Client, body: dict[str, Any], code: str) -> None:
    response = eb.call("POST", "/v1/relation", body)
    assert response.status_code == 400
    assert error(response) == code


def test_relation_patches_are_counted(sandbox: SandboxServers, eb: Client, relation_id: int) -> None:
    before = sandbox.books.stats.count("PATCH", "/v1/relation/{id}")
    response = eb.call("PATCH", f"/v1/relation/{relation_id}", {"city": "Utrecht"})
    patches = requests.get(f"{sandbox.eboekhouden_url}/__sandbox__/relation-patches", timeout=10).json()
    assert response.status_code == 204
    assert sandbox.books.stats.count("PATCH", "/v1/relation/{id}") == before + 1
    assert {"id": relation_id, "changes": {"city": "Utrecht"}} in patches


# ---- mutations -----------------------------------------------------------------------------------


def test_a_sale_is_stored_with_sequential_ids_and_shown_with_rows(eb: Client, ledger: dict[str, int], relation_id: int) -> None:
    first = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "SEQ-1", "121.00"))
    second = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "SEQ-2", "60.50"))
    shown = eb.json("GET", f"/v1/mutation/{first.json()['id']}")
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"] + 1
    assert (shown["invoiceNumber"], shown["relationId"], shown["inExVat"], shown["type"]) == ("SEQ-1", relation_id, "IN", 2)
    assert shown["rows"][0]["amount"] == Decimal("121.00")
    assert shown["rows"][0]["vatCode"] == "HOOG_VERK_21" and shown["rows"][0]["vatAmount"] == Decimal("21.00")
    missing = eb.call("GET", "/v1/mutation/999999")
    assert missing.status_code == 404 and error(missing) == "MUT_300"


def test_mutation_list_filters_and_fields(eb: Client, ledger: dict[str, int], relation_id: int, knobs: Any) -> None:
    first = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "LIST-1", "12.10")).json()["id"]
    eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "LIST-2", "20.00"))
    exact = eb.json("GET", "/v1/mutation", invoiceNumber="LIST-1")
    like = eb.json("GET", "/v1/mutation", type=2, **{"invoiceNumber[like]": "LIST-%"})
    assert exact["count"] == 1
    assert set(exact["items"][0]) == {"id", "type", "date", "invoiceNumber", "ledgerId", "amount", "entryNumber"}
    assert [item["invoiceNumber"] for item in like["items"]] == ["LIST-1", "LIST-2"]
    assert eb.json("GET", "/v1/mutation", invoiceNumber="LIST-1", type=3)["count"] == 0
    assert eb.json("GET", "/v1/mutation", **{"invoiceNumber[like]": "LIST-%", "date[range]": "2026-03-01,2026-03-31"})["count"] == 2
    assert [i["invoiceNumber"] for i in eb.json("GET", "/v1/mutation", **{"id[gt]": first, "invoiceNumber[like]": "LIST-%"})["items"]] == ["LIST-2"]
    assert eb.json("GET", "/v1/mutation", **{"id[range]": f"{first},{first}"})["items"][0]["invoiceNumber"] == "LIST-1"
    # what a list item's amount holds is not documented: a knob per plausible reading
    amounts = {}
    for setting in ("incl", "excl", "debtor", "zero"):
        knobs(mutation_list_amount=setting)
        amounts[setting] = eb.json("GET", "/v1/mutation", invoiceNumber="LIST-1")["items"][0]["amount"]
    assert amounts == {"incl": Decimal("12.10"), "excl": Decimal("10.00"), "debtor": Decimal("-12.10"), "zero": 0}
    knobs(list_ids_zero=True)
    assert eb.json("GET", "/v1/mutation", invoiceNumber="LIST-1")["items"][0]["id"] == 0
    assert eb.json("GET", f"/v1/mutation/{first}")["id"] == first


def test_an_invoice_number_is_booked_only_once(eb: Client, ledger: dict[str, int], relation_id: int) -> None:
    assert eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "ONCE-1", "12.10")).status_code == 201
    again = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "ONCE-1", "12.10"))
    assert again.status_code == 400
    assert error(again) == "MUT_019"
    assert eb.json("GET", "/v1/mutation", invoiceNumber="ONCE-1")["count"] == 1


def _broken(ledger: dict[str, int], relation_id: int, case: str) -> dict[str, Any]:
    """A sale (or payment) payload broken in one way."""
    good = sale(ledger, relation_id, f"BROKEN-{case}", "10.00")
    row = good["rows"][0]
    changes: dict[str, dict[str, Any]] = {
        "MUT_003": {"date": None},
        "MUT_004": {"date": "10-03-2026"},
        "MUT_002": {"invoiceNumber": ""},
        "MUT_018": {"invoiceNumber": "X" * 51},
        "MUT_012": {"relationId": None},
        "MUT_013": {"relationId": 999999},
        "MUT_017": {"inExVat": "INCL"},
        "MUT_100": {"rows": []},
        "MUT_104": {"rows": [{**row, "ledgerId": 1}]},
        "MUT_109": {"rows": [{**row, "vatCode": "HOOG_21"}]},
        "MUT_111": {"rows": [{**row, "vatCode": "HOOG_INK_21"}]},
        "MUT_007": {"ledgerId": 8000},
        "MUT_011": {"ledgerId": ledger["1100"]},
    }
    if case == "MUT_115":
        return payment(ledger, relation_id, "NO-SUCH-INVOICE", "10.00")
    if case in ("MUT_112", "MUT_113"):  # payment rows name their relation
        paying = payment(ledger, relation_id, "2025-0415", "10.00")
        row = {k: v for k, v in paying["rows"][0].items() if k != "relationId"} | ({"relationId": 999999} if case == "MUT_113" else {})
        return {**paying, "rows": [row]}
    return {key: value for key, value in {**good, **changes[case]}.items() if value is not None}


@pytest.mark.parametrize(
    "case",
    [
        "MUT_003",
        "MUT_004",
        "MUT_002",
        "MUT_018",
        "MUT_012",
        "MUT_013",
        "MUT_017",
        "MUT_100",
        "MUT_104",
        "MUT_109",
        "MUT_111",
        "MUT_007",
        "MUT_011",
        "MUT_115",
        "MUT_112",
        "MUT_113",
    ],
)
def test_mutation_validation_codes(eb: Client, ledger: dict[str, int], relation_id: int, case: str) -> None:
    before = eb.json("GET", "/v1/mutation", limit=1)["count"]
    response = eb.call("POST", "/v1/mutation", _broken(ledger, relation_id, case))
    assert response.status_code == 400
    assert error(response) == case
    assert response.json()["type"] == "validation"
    assert eb.json("GET", "/v1/mutation", limit=1)["count"] == before


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


# What the official description refuses that the emulator once let through (it filled in EX, GEEN, ... or
# answered ERR_002): each case the refusal's code and its official title.
OFFICIAL_REFUSALS = {
    "inExVat missing": (lambda good, row, ledger: _without(good, "inExVat"), "MUTA_005", "In/Ex VAT is missing."),
    "inExVat empty": (lambda good, row, ledger: {**good, "inExVat": ""}, "MUTA_005", "In/Ex VAT is missing."),
    "row without vatCode": (lambda good, row, ledger: {**good, "rows": [_without(row, "vatCode")]}, "MUT_109", "Invalid VAT code."),
    "vatAmount with HOOG_VERK_21": (
        lambda good, row, ledger: {**good, "rows": [{**row, "vatAmount": Decimal("1.74")}]}, "MUTA_003",
        "Vat amount must be used with vatCode: 'AFW' or 'AFW_VERK'",
    ),
    "row on a financial ledger": (lambda good, row, ledger: {**good, "rows": [{**row, "ledgerId": ledger["1100"]}]}, "MUT_106", "Invalid ledger category for row."),
    "row on the debtors ledger": (lambda good, row, ledger: {**good, "rows": [{**row, "ledgerId": ledger["1300"]}]}, "MUT_106", "Invalid ledger category for row."),
    "description of 51": (lambda good, row, ledger: {**good, "description": "D" * 51}, "ERR_002", "Your request contains an invalid value."),
    "entryNumber of 51": (lambda good, row, ledger: {**good, "entryNumber": "E" * 51}, "ERR_002", "Your request contains an invalid value."),
}  # fmt: skip


@pytest.mark.parametrize("case", OFFICIAL_REFUSALS)
def test_mutation_refusals_of_the_official_description(eb: Client, ledger: dict[str, int], relation_id: int, case: str) -> None:
    change, code, title = OFFICIAL_REFUSALS[case]
    good = sale(ledger, relation_id, f"OFFICIAL-{case}", "12.10")
    before = eb.json("GET", "/v1/mutation", limit=1)["count"]
    response = eb.call("POST", "/v1/mutation", change(good, good["rows"][0], ledger))
    assert response.status_code == 400
    assert error(response) == code and response.json()["title"] == title
    assert eb.json("GET", "/v1/mutation", limit=1)["count"] == before
    assert eb.json("GET", "/v1/mutation", invoiceNumber=good["invoiceNumber"])["count"] == 0


def test_what_the_official_description_allows_beside_those_refusals(eb: Client, ledger: dict[str, int], relation_id: int) -> None:
    # a VAT amount with AFW_VERK (the divergent sales code) is what vatAmount is for
    custom = sale(ledger, relation_id, "OFFICIAL-AFW", "12.10", vat="AFW_VERK")
    custom["rows"][0]["vatAmount"] = Decimal("1.00")
    created = eb.call("POST", "/v1/mutation", custom)
    assert created.status_code == 201
    assert eb.json("GET", f"/v1/mutation/{created.json()['id']}")["rows"][0]["vatAmount"] == Decimal("1.00")
    # a row of a 7 (journal entry) may book to any ledger; descriptions of exactly 50 fit
    fifty = {**sale(ledger, relation_id, "OFFICIAL-50", "1.00"), "description": "D" * 50, "entryNumber": "E" * 50}
    assert eb.call("POST", "/v1/mutation", fifty).status_code == 201
    journal = {"type": 7, "date": "2026-03-10", "ledgerId": ledger["1100"], "inExVat": "EX", "rows": [
        {"ledgerId": ledger["1100"], "vatCode": "GEEN", "amount": Decimal("5.00")},
        {"ledgerId": ledger["1300"], "vatCode": "GEEN", "amount": Decimal("-5.00")},
    ]}  # fmt: skip
    assert eb.call("POST", "/v1/mutation", journal).status_code == 201


@pytest.mark.parametrize(
    ("body", "code", "title"),
    [
        ({"name": "N" * 101}, "REL_003", "Name is too long."),
        ({"name": "Ok", "code": "C" * 16}, "REL_006", "Code is too long."),
        ({"name": "Ok", "contact": "C" * 51}, "REL_009", "Contact is too long."),
        ({"name": "Ok", "address": "A" * 151}, "REL_011", "Address is too long."),
        ({"name": "Ok", "postalCode": "1" * 51}, "REL_012", "Postal code is too long."),
        ({"name": "Ok", "city": "U" * 51}, "REL_013", "City is too long."),
        ({"name": "Ok", "phoneNumber": "0" * 51}, "REL_019", "Phone is too long."),
        ({"name": "Ok", "emailAddress": "a" * 140 + "@example.nl"}, "REL_022", "Email is too long."),
        ({"name": "Ok", "vatNumber": "NL" * 26}, "REL_035", "VAT number is too long."),
    ],
)
def test_relation_fields_longer_than_described_are_refused(eb: Client, body: dict[str, Any], code: str, title: str) -> None:
    response = eb.call("POST", "/v1/relation", {"type": "B", **body})
    assert response.status_code == 400 and error(response) == code and response.json()["title"] == title


def test_relation_fields_of_their_maximum_length_fit(eb: Client) -> None:
    body = {"type": "B", "name": "N" * 100, "contact": "C" * 50, "address": "A" * 150, "postalCode": "1" * 50, "city": "U" * 50}
    assert eb.call("POST", "/v1/relation", body).status_code == 201


def test_vat_in_versus_ex(eb: Client, ledger: dict[str, int], relation_id: int) -> None:
    incl = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "VAT-IN", "3.95", "IN")).json()["id"]
    excl = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "VAT-EX", "3.26", "EX")).json()["id"]
    shown_in, shown_ex = eb.json("GET", f"/v1/mutation/{incl}"), eb.json("GET", f"/v1/mutation/{excl}")
    outstanding = {
        item["invoiceNumber"]: item["totalAmount"]
        for item in eb.json("GET", "/v1/mutation/invoice/outstanding", credDeb="D", **{"invoiceNumber[like]": "VAT-%"})["items"]
    }
    assert (shown_in["rows"][0]["amount"], shown_in["rows"][0]["vatAmount"]) == (Decimal("3.95"), Decimal("0.69"))
    assert (shown_ex["rows"][0]["amount"], shown_ex["rows"][0]["vatAmount"]) == (Decimal("3.26"), Decimal("0.68"))
    assert outstanding == {"VAT-IN": Decimal("3.95"), "VAT-EX": Decimal("3.94")}


def test_amounts_are_exact_json_numbers(eb: Client, ledger: dict[str, int], relation_id: int) -> None:
    created = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "EXACT-1", "0.10")).json()["id"]
    raw = eb.call("GET", f"/v1/mutation/{created}").text
    assert '"amount":0.10' in raw.replace(" ", "")


def test_outstanding_items_before_and_after_payments(eb: Client, ledger: dict[str, int], relation_id: int) -> None:
    def item() -> list[dict[str, Any]]:
        return eb.json("GET", "/v1/mutation/invoice/outstanding", credDeb="D", invoiceNumber="PAY-1")["items"]

    eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "PAY-1", "100.00"))
    before = item()
    partly = eb.call("POST", "/v1/mutation", payment(ledger, relation_id, "PAY-1", "40.00"))
    middle = item()
    eb.call("POST", "/v1/mutation", payment(ledger, relation_id, "PAY-1", "60.00"))
    assert set(before[0]) == {
        "mutationId",
        "invoiceNumber",
        "relationId",
        "relationCode",
        "company",
        "date",
        "totalAmount",
        "paidAmount",
        "outstandingAmount",
    }
    assert (before[0]["totalAmount"], before[0]["paidAmount"], before[0]["outstandingAmount"]) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("100.00"),
    )
    assert before[0]["relationId"] == relation_id and before[0]["company"] == "Test Debiteur"
    assert partly.status_code == 201
    assert (middle[0]["paidAmount"], middle[0]["outstandingAmount"]) == (Decimal("40.00"), Decimal("60.00"))
    assert item() == []


@pytest.mark.parametrize(("cred_deb", "code"), [(None, "MUTA_006"), ("", "MUTA_006"), ("X", "MUTA_007"), ("d", "MUTA_007")])
def test_outstanding_items_need_credit_or_debit(eb: Client, cred_deb: str | None, code: str) -> None:
    params = {} if cred_deb is None else {"credDeb": cred_deb}
    response = eb.call("GET", "/v1/mutation/invoice/outstanding", **params)
    assert response.status_code == 400 and error(response) == code
    assert response.json()["title"] == {"MUTA_006": "Credit/Debit is missing.", "MUTA_007": "Credit/Debit must be 'C' or 'D'."}[code]


def test_a_payment_needs_a_financial_ledger(eb: Client, ledger: dict[str, int], relation_id: int) -> None:
    eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "FIN-1", "50.00"))
    wrong = eb.call("POST", "/v1/mutation", {**payment(ledger, relation_id, "FIN-1", "50.00"), "ledgerId": ledger["1300"]})
    assert error(wrong) == "MUT_009"


# ---- invoices ------------------------------------------------------------------------------------


def _invoice(ledger: dict[str, int], relation_id: int, template_id: int, **extra: Any) -> dict[str, Any]:
    """An invoice payload with two items, prices incl VAT."""
    items = [
        {
            "quantity": 3,
            "code": "T-1",
            "description": "Thee",
            "pricePerUnit": Decimal("12.95"),
            "vatCode": "HOOG_VERK_21",
            "ledgerId": ledger["8000"],
        },
        {
            "quantity": 1,
            "code": "H-1",
            "description": "Honing",
            "pricePerUnit": Decimal("7.25"),
            "vatCode": "LAAG_VERK_9",
            "ledgerId": ledger["8010"],
        },
    ]
    return {
        "relationId": relation_id,
        "date": "2026-03-10",
        "termOfPayment": 14,
        "templateId": template_id,
        "inExVat": "IN",
        "reference": "REF",
        "items": items,
        **extra,
    }


@pytest.fixture(scope="module")
def template_id(eb: Client) -> int:
    """The id of 'Invoice template'."""
    found = eb.json("GET", "/v1/invoicetemplate", name="Invoice template")
    assert found["count"] == 1
    return int(found["items"][0]["id"])


def test_invoice_without_mutation_has_no_outstanding_item(eb: Client, ledger: dict[str, int], relation_id: int, template_id: int) -> None:
    created = eb.call("POST", "/v1/invoice", _invoice(ledger, relation_id, template_id, invoiceNumber="INV-2026-1"))
    listed = eb.json("GET", "/v1/invoice", invoiceNumber="INV-2026-1")
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "invoiceNumber": "INV-2026-1", "inExVat": "IN"}  # CreatedInvoice
    assert listed["count"] == 1 and listed["items"][0]["totalAmount"] == Decimal("46.10")
    assert {"id", "invoiceNumber", "relationId", "date", "reference", "totalAmount", "totalExcl", "vatAmount"} <= set(listed["items"][0])
    assert eb.json("GET", "/v1/mutation/invoice/outstanding", credDeb="D", invoiceNumber="INV-2026-1")["count"] == 0


def test_invoice_with_mutation_is_booked_as_an_outstanding_sale(
    eb: Client, ledger: dict[str, int], relation_id: int, template_id: int
) -> None:
    booking = {"ledgerId": ledger["1300"], "description": "Order INV-2026-2", "paymentReference": "INV-2026-2"}
    eb.call("POST", "/v1/invoice", _invoice(ledger, relation_id, template_id, invoiceNumber="INV-2026-2", mutation=booking))
    item = eb.json("GET", "/v1/mutation/invoice/outstanding", credDeb="D", invoiceNumber="INV-2026-2")["items"]
    mutation = eb.json("GET", "/v1/mutation", invoiceNumber="INV-2026-2", type=2)["items"]
    assert len(mutation) == 1 and mutation[0]["amount"] == Decimal("46.10")
    assert item[0]["totalAmount"] == Decimal("46.10") and item[0]["relationId"] == relation_id


def test_invoice_prices_excl_vat_round_like_mutations(eb: Client, ledger: dict[str, int], relation_id: int, template_id: int) -> None:
    item = {"quantity": 1, "description": "Koek", "pricePerUnit": Decimal("3.26"), "vatCode": "HOOG_VERK_21", "ledgerId": ledger["8000"]}
    created = eb.call("POST", "/v1/invoice", {**_invoice(ledger, relation_id, template_id), "inExVat": "EX", "items": [item]}).json()
    listed = eb.json("GET", "/v1/invoice", invoiceNumber=created["invoiceNumber"])
    assert created["invoiceNumber"][-1].isdigit()
    assert listed["items"][0]["totalAmount"] == Decimal("3.94")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"inExVat": "INCL"}, "FACT_010"),
        ({"invoiceNumber": "X" * 50 + "1"}, "FACT_007"),
        ({"reference": "R" * 51}, "FACT_014"),
        ({"text": "T" * 35001}, "FACT_017"),
        ({"mutation": {"ledgerId": 2406, "description": "D" * 201}}, "FACT_VERWERK_002"),
        ({"mutation": {"ledgerId": 2406, "paymentReference": "P" * 51}}, "FACT_VERWERK_003"),
        ({"items": [{"quantity": 1, "code": "C" * 51, "description": "Thee", "pricePerUnit": 1, "vatCode": "GEEN", "ledgerId": 2413}]}, "FACT_ITEM_003"),
        ({"items": [{"quantity": 1, "description": "Thee", "pricePerUnit": 1, "ledgerId": 2413}]}, "FACT_ITEM_006"),
        ({"templateId": 999}, "FACT_018"),
        ({"invoiceNumber": "INV-ABC"}, "FACT_009"),
        ({"invoiceNumber": "1001"}, "FACT_101"),  # a taken invoice number: "Invoice number is in use."
        ({"relationId": 999999}, "FACT_002"),
        ({"items": []}, "FACT_019"),
    ],
)
def test_invoice_validation(
    eb: Client, ledger: dict[str, int], relation_id: int, template_id: int, change: dict[str, Any], code: str
) -> None:
    response = eb.call("POST", "/v1/invoice", {**_invoice(ledger, relation_id, template_id), **change})
    assert response.status_code == 400
    assert error(response) == code


def test_invoice_without_in_ex_vat_reads_prices_excl_vat_and_says_so(eb: Client, ledger: dict[str, int], relation_id: int, template_id: int) -> None:
    # CreateInvoice.inExVat: "If left empty the 'EX' option will be used" (not refused, unlike a mutation's)
    item = {"quantity": 1, "description": "Koek", "pricePerUnit": Decimal("3.26"), "vatCode": "HOOG_VERK_21", "ledgerId": ledger["8000"]}
    created = eb.call("POST", "/v1/invoice", {**_without(_invoice(ledger, relation_id, template_id), "inExVat"), "items": [item]})
    assert created.status_code == 201 and created.json()["inExVat"] == "EX"
    assert eb.json("GET", "/v1/invoice", invoiceNumber=created.json()["invoiceNumber"])["items"][0]["totalAmount"] == Decimal("3.94")


def test_invoice_with_a_booked_number_is_refused_with_mut_019(
    eb: Client, ledger: dict[str, int], relation_id: int, template_id: int
) -> None:
    eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "INV-2026-9", "10.00"))
    before = len(eb.json("GET", "/v1/invoice", limit=2000)["items"])
    refused = eb.call(
        "POST", "/v1/invoice", _invoice(ledger, relation_id, template_id, invoiceNumber="INV-2026-9", mutation={"ledgerId": ledger["1300"]})
    )
    assert error(refused) == "MUT_019"
    assert len(eb.json("GET", "/v1/invoice", limit=2000)["items"]) == before


# ---- admin ---------------------------------------------------------------------------------------


def test_admin_shows_everything_with_computed_totals_and_counts(
    sandbox: SandboxServers, eb: Client, ledger: dict[str, int], relation_id: int
) -> None:
    requests.post(f"{sandbox.eboekhouden_url}/__sandbox__/reset-stats", timeout=10)
    created = eb.call("POST", "/v1/mutation", sale(ledger, relation_id, "ADMIN-1", "3.26", "EX")).json()["id"]
    eb.call("GET", f"/v1/mutation/{created}")
    mutations = requests.get(f"{sandbox.eboekhouden_url}/__sandbox__/mutations", timeout=10).json()
    stats = requests.get(f"{sandbox.eboekhouden_url}/__sandbox__/stats", timeout=10).json()
    mine = next(m for m in mutations if m["id"] == created)
    assert (mine["totalExclVat"], mine["totalVat"], mine["amount"]) == (3.26, 0.68, 3.94)
    assert {"method": "POST", "path": "/v1/mutation", "status": 201, "count": 1} in stats["requests"]
    assert {"method": "GET", "path": "/v1/mutation/{id}", "status": 200, "count": 1} in stats["requests"]
    assert sandbox.books.mutation(created)["rows"][0]["amountInclVat"] == Decimal("3.94")
    assert any(r["id"] == relation_id for r in requests.get(f"{sandbox.eboekhouden_url}/__sandbox__/relations", timeout=10).json())
    assert requests.get(f"{sandbox.eboekhouden_url}/__sandbox__/invoices", timeout=10).status_code == 200
