"""Contract of the e-Boekhouden legacy SOAP emulator, driven by zeep through the repo's WSDL.

zeep parses every answer strictly against the WSDL, and a plugin also validates every answer's body against
the WSDL's XML schema, so these tests check the emulator against the contract the SOAP hook is written to.
The SOAP and REST emulators serve one administration: what SOAP books, REST (and ``books``) sees.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
from lxml import etree
from zeep.exceptions import Fault, TransportError
from zeep.plugins import Plugin
from zeep.transports import Transport

from sandbox.books import DEFAULT_SOAP_SECURITY_CODE_1, DEFAULT_SOAP_SECURITY_CODE_2, DEFAULT_SOAP_USERNAME, DEFAULT_TOKEN
from sandbox.servers import SandboxServers

REPO = Path(__file__).resolve().parents[2]
WSDL = REPO / "plugins" / "prestashop_eboekhouden" / "hooks" / "eboekhouden_soap.wsdl"
NS = "http://www.e-boekhouden.nl/soap"
BINDING = f"{{{NS}}}soapAppSoap"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)
DAY = dt.datetime(2026, 3, 10)
WIDE = {"DatumVan": dt.datetime(2000, 1, 1), "DatumTm": dt.datetime(2099, 12, 31)}
OPERATIONS = {
    "OpenSession", "CloseSession", "GetRelaties", "AddRelatie", "GetGrootboekrekeningen",
    "GetMutaties", "AddMutatie", "GetOpenPosten", "AddFactuur", "GetFacturen",
}  # fmt: skip
_codes = itertools.count(1)


class SchemaCheck(Plugin):
    """Validates the body of every SOAP answer (faults aside) against the WSDL's XML schema, and counts them per operation."""

    def __init__(self) -> None:
        types = etree.parse(str(WSDL)).find("{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema")
        self.schema = etree.XMLSchema(etree.ElementTree(copy.deepcopy(types)))
        self.checked: dict[str, int] = {}

    def ingress(self, envelope: etree._Element, http_headers: Any, operation: Any) -> tuple[etree._Element, Any]:
        """Validate one answer."""
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        answer = next(iter(body))
        if etree.QName(answer).localname != "Fault":
            tree = etree.ElementTree(copy.deepcopy(answer))
            assert self.schema.validate(tree), f"{operation.name}: {self.schema.error_log}"
            self.checked[operation.name] = self.checked.get(operation.name, 0) + 1
        return envelope, http_headers


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    """A small seeded sandbox for this module (each test uses its own codes and invoice numbers)."""
    with SandboxServers(seed=42, orders=30, anchor=ANCHOR) as servers:
        yield servers


@pytest.fixture(autouse=True)
def no_faults_left(sandbox: SandboxServers) -> Iterator[None]:
    """Every test starts and ends without faults."""
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


@pytest.fixture(scope="module")
def checker() -> SchemaCheck:
    """The schema check every answer goes through."""
    return SchemaCheck()


@pytest.fixture(scope="module")
def client(checker: SchemaCheck) -> zeep.Client:
    """A strict zeep client from the repo's WSDL."""
    transport = Transport(session=requests.Session(), timeout=10, operation_timeout=10)
    return zeep.Client(str(WSDL), transport=transport, plugins=[checker])


@pytest.fixture(scope="module")
def service(client: zeep.Client, sandbox: SandboxServers) -> Any:
    """The SOAP service at the emulator's address."""
    return client.create_service(BINDING, f"{sandbox.eboekhouden_soap_url}/soap.asmx")


@pytest.fixture(scope="module")
def session_id(service: Any) -> str:
    """A session for the module's calls."""
    return str(open_session(service).SessionID)


class Soap:
    """Calls with the module's session and security code 2."""

    def __init__(self, service: Any, session: str) -> None:
        self.service, self.session = service, session

    def __call__(self, operation: str, **fields: Any) -> Any:
        """One call's result."""
        return getattr(self.service, operation)(SessionID=self.session, SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, **fields)


@pytest.fixture(scope="module")
def soap(service: Any, session_id: str) -> Soap:
    """Authenticated calls."""
    return Soap(service, session_id)


def open_session(
    service: Any,
    username: str = DEFAULT_SOAP_USERNAME,
    code1: str = DEFAULT_SOAP_SECURITY_CODE_1,
    code2: str = DEFAULT_SOAP_SECURITY_CODE_2,
) -> Any:
    """OpenSession's result."""
    return service.OpenSession(Username=username, SecurityCode1=code1, SecurityCode2=code2, Source="TEST")


def error(result: Any) -> str | None:
    """The LastErrorCode of a result (None when it succeeded)."""
    return result.ErrorMsg.LastErrorCode if result.ErrorMsg is not None else None


def new_code() -> str:
    """A relation code no test used."""
    return f"SOAPREL{next(_codes)}"


def relatie(code: str, **fields: Any) -> dict[str, Any]:
    """A cRelatie to add (the value-type fields the schema requires included)."""
    return {"ID": 0, "AddDatum": DAY, "Code": code, "Gb_ID": 0, "GeenEmail": 0, "NieuwsbriefgroepenCount": 0, "BP": "P", **fields}


@pytest.fixture
def relation_code(soap: Soap) -> str:
    """A new debtor for one test."""
    code = new_code()
    added = soap("AddRelatie", oRel=relatie(code, Bedrijf="Soap Debiteur", Email="soap.debiteur@example.nl", Plaats="Zwolle"))
    assert error(added) is None and added.Rel_ID > 0
    return code


def regel(
    incl: str, vat: str = "0.00", vat_code: str = "HOOG_VERK_21", ledger: str = "8000", invoer: str | None = None, excl: str | None = None
) -> dict[str, Any]:
    """A cMutatieRegel with amounts incl. VAT (InExBTW IN); excl defaults to incl - VAT."""
    excl_amount = Decimal(excl) if excl is not None else Decimal(incl) - Decimal(vat)
    rate = {"HOOG_VERK_21": Decimal(21), "LAAG_VERK_9": Decimal(9)}.get(vat_code, Decimal(0))
    return {
        "BedragInvoer": Decimal(invoer if invoer is not None else incl),
        "BedragExclBTW": excl_amount,
        "BedragBTW": Decimal(vat),
        "BedragInclBTW": Decimal(incl),
        "BTWCode": vat_code,
        "BTWPercentage": rate,
        "TegenrekeningCode": ledger,
        "KostenplaatsID": 0,
    }


def mutatie(
    soort: str, number: str, code: str, rows: list[dict[str, Any]], ledger: str = "1300", in_ex: str = "IN", **fields: Any
) -> dict[str, Any]:
    """A cMutatie."""
    header = {"MutatieNr": 0, "Soort": soort, "Datum": DAY, "Rekening": ledger, "RelatieCode": code, "Factuurnummer": number}
    return {**header, "Betalingstermijn": "14", "InExBTW": in_ex, "MutatieRegels": {"cMutatieRegel": rows}, **fields}


def sale(number: str, code: str, *rows: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A sale (FactuurVerstuurd) on the debtors ledger; default one row of 121.00 incl. 21.00 VAT."""
    return mutatie("FactuurVerstuurd", number, code, list(rows) or [regel("121.00", "21.00")], **fields)


def payment(number: str, code: str, amount: str) -> dict[str, Any]:
    """A payment received (FactuurbetalingOntvangen) on Mollie for the invoice number."""
    return mutatie(
        "FactuurbetalingOntvangen", number, code, [regel(amount, vat_code="GEEN", ledger="1300")], ledger="1110", Boekstuk="tr_SOAP"
    )


def mutaties(soap: Soap, **filters: Any) -> list[Any]:
    """GetMutaties' list (MutatieNr 0 and a wide date range unless given)."""
    result = soap("GetMutaties", cFilter={"MutatieNr": 0, **WIDE, **filters})
    assert error(result) is None
    return list(result.Mutaties.cMutatieList) if result.Mutaties is not None else []


def open_posten(soap: Soap, number: str) -> list[Any]:
    """The debtor items of one invoice number."""
    result = soap("GetOpenPosten", OpSoort="Debiteuren")
    assert error(result) is None
    return [post for post in (result.Openposten.cOpenPost if result.Openposten is not None else []) if post.MutFactuur == number]


def rest_outstanding(sandbox: SandboxServers, number: str) -> list[dict[str, Any]]:
    """The REST API's outstanding items of an invoice number."""
    base = sandbox.eboekhouden_url
    token = requests.post(f"{base}/v1/session", json={"accessToken": DEFAULT_TOKEN, "source": "TEST"}, timeout=10).json()["token"]
    answer = requests.get(
        f"{base}/v1/mutation/invoice/outstanding",
        params={"credDeb": "D", "invoiceNumber": number},
        headers={"Authorization": token},
        timeout=10,
    )
    return list(json.loads(answer.content, parse_float=Decimal)["items"])


def booked(sandbox: SandboxServers, number: str) -> list[dict[str, Any]]:
    """Mutations stored with an invoice number (whichever API booked them)."""
    return [m for m in sandbox.books.mutations() if m["invoiceNumber"] == number]


def raw_post(
    sandbox: SandboxServers, body: str, action: str | None = "GetGrootboekrekeningen", content_type: str = "text/xml; charset=utf-8"
) -> requests.Response:
    """A hand-made POST /soap.asmx."""
    headers = {"Content-Type": content_type}
    if action:
        headers["SOAPAction"] = f'"{NS}/{action}"'
    return requests.post(f"{sandbox.eboekhouden_soap_url}/soap.asmx", data=body.encode(), headers=headers, timeout=10)


def credentials(session: str) -> str:
    """SessionID and SecurityCode2 elements."""
    return f"<SessionID>{session}</SessionID><SecurityCode2>{DEFAULT_SOAP_SECURITY_CODE_2}</SecurityCode2>"


def raw_envelope(inner: str) -> str:
    """A SOAP 1.1 envelope around a body."""
    return f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>{inner}</soap:Body></soap:Envelope>'


# ---- the WSDL ------------------------------------------------------------------------------------


def test_the_repo_wsdl_and_the_served_wsdl_load_in_zeep_with_the_ten_operations(
    sandbox: SandboxServers, capsys: pytest.CaptureFixture[str]
) -> None:
    local = zeep.Client(str(WSDL))
    local.wsdl.dump()
    dumped = capsys.readouterr().out
    served = zeep.Client(f"{sandbox.eboekhouden_soap_url}/soap.asmx?wsdl")
    port = served.wsdl.services["soapApp"].ports["soapAppSoap"]
    assert set(local.wsdl.bindings[BINDING]._operations) == OPERATIONS
    assert all(f"{name}(" in dumped for name in OPERATIONS)
    assert set(port.binding._operations) == OPERATIONS
    assert port.binding_options["address"] == f"{sandbox.eboekhouden_soap_url}/soap.asmx"
    assert port.binding._operations["AddMutatie"].soapaction == f"{NS}/AddMutatie"
    assert "https://soap.e-boekhouden.nl/soap.asmx" in WSDL.read_text()


def test_the_served_address_works_without_overriding_it(sandbox: SandboxServers) -> None:
    served = zeep.Client(f"{sandbox.eboekhouden_soap_url}/soap.asmx?wsdl")
    assert open_session(served.service).SessionID
    assert "GetMutaties" in requests.get(f"{sandbox.eboekhouden_soap_url}/soap.asmx", timeout=10).text


# ---- sessions ------------------------------------------------------------------------------------


def test_open_session_gives_a_session_id(service: Any) -> None:
    opened = open_session(service)
    assert opened.SessionID and error(opened) is None
    assert opened.ErrorMsg.LastErrorDescription is None


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "someone"},
        {"code1": "WRONGCODE1"},
        {"code2": "WRONGCODE2"},
        {"username": "", "code1": "", "code2": ""},
    ],
)
def test_open_session_refuses_wrong_credentials(service: Any, credentials: dict[str, str]) -> None:
    refused = open_session(service, **credentials)
    assert error(refused) == "SOAP_AUTH_001"
    assert refused.ErrorMsg.LastErrorDescription and refused.SessionID is None


def test_calls_need_a_live_session_and_security_code_2(service: Any, sandbox: SandboxServers, soap: Soap) -> None:
    session = open_session(service).SessionID
    ledgers = {"cFilter": {"ID": 0, "Code": "1300"}}
    assert error(service.GetGrootboekrekeningen(SessionID=session, SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, **ledgers)) is None
    assert error(service.GetGrootboekrekeningen(SessionID=session, SecurityCode2="WRONG", **ledgers)) == "SOAP_AUTH_002"
    assert (
        error(service.GetGrootboekrekeningen(SessionID="NOSUCHSESSION", SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, **ledgers))
        == "SOAP_SESSION_001"
    )
    assert error(service.GetGrootboekrekeningen(SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, **ledgers)) == "SOAP_SESSION_001"
    assert service.CloseSession(SessionID=session) is None
    closed = service.GetGrootboekrekeningen(SessionID=session, SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, **ledgers)
    assert error(closed) == "SOAP_SESSION_001" and closed.Rekeningen is None
    assert service.CloseSession(SessionID="NOSUCHSESSION") is None


def test_sessions_expire_and_a_new_one_works(service: Any, sandbox: SandboxServers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.books, "token_lifetime", 0.3)
    short = open_session(service).SessionID
    call = {"SecurityCode2": DEFAULT_SOAP_SECURITY_CODE_2, "OpSoort": "Debiteuren"}
    assert error(service.GetOpenPosten(SessionID=short, **call)) is None
    time.sleep(0.4)
    assert error(service.GetOpenPosten(SessionID=short, **call)) == "SOAP_SESSION_001"
    monkeypatch.setattr(sandbox.books, "token_lifetime", 3600)
    renewed = open_session(service).SessionID
    assert error(service.GetOpenPosten(SessionID=renewed, **call)) is None


def test_the_admin_route_expires_every_session() -> None:
    with SandboxServers(orders=2, anchor=ANCHOR) as own:
        service = zeep.Client(str(WSDL)).create_service(BINDING, f"{own.eboekhouden_soap_url}/soap.asmx")
        session = open_session(service).SessionID
        call = {"SessionID": session, "SecurityCode2": DEFAULT_SOAP_SECURITY_CODE_2, "OpSoort": "Debiteuren"}
        assert error(service.GetOpenPosten(**call)) is None
        assert requests.post(f"{own.eboekhouden_soap_url}/__sandbox__/expire-sessions", timeout=10).status_code == 200
        assert error(service.GetOpenPosten(**call)) == "SOAP_SESSION_001"


@pytest.mark.parametrize(
    ("answer", "code", "description"),
    [
        ("code", "SOAP_SESSION_001", "Session is unknown or expired; open a new session"),
        ("dutch", "E0004", "Sessie is verlopen of ongeldig"),
        ("no_code", None, "Uw sessie is verlopen. Log opnieuw in."),
        ("sessionid", "ERR_AUTH", "Invalid SessionID"),
    ],
)
def test_the_expired_session_answer_is_a_knob(service: Any, sandbox: SandboxServers, answer: str, code: str | None, description: str) -> None:
    call = {"SessionID": "NOSUCHSESSION", "SecurityCode2": DEFAULT_SOAP_SECURITY_CODE_2, "OpSoort": "Debiteuren"}
    knob = requests.put(f"{sandbox.eboekhouden_soap_url}/__sandbox__/soap-settings", json={"session_expiry": answer}, timeout=10)
    try:
        refused = service.GetOpenPosten(**call)
    finally:
        requests.put(f"{sandbox.eboekhouden_soap_url}/__sandbox__/soap-settings", json={"session_expiry": "code"}, timeout=10)
    assert knob.json() == {"session_expiry": answer}
    assert (refused.ErrorMsg.LastErrorCode, refused.ErrorMsg.LastErrorDescription) == (code, description)
    assert refused.Openposten is None


def test_the_expired_session_answer_can_be_a_soap_fault(service: Any, sandbox: SandboxServers) -> None:
    sandbox.eboekhouden_soap_app.state.service.session_expiry = "fault"
    try:
        with pytest.raises(Fault, match="Session expired or invalid"):
            service.GetOpenPosten(SessionID="NOSUCHSESSION", SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, OpSoort="Debiteuren")
        live = open_session(service).SessionID  # only calls without a live session are refused
        assert error(service.GetOpenPosten(SessionID=live, SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, OpSoort="Debiteuren")) is None
    finally:
        sandbox.eboekhouden_soap_app.state.service.session_expiry = "code"
    unknown = requests.put(f"{sandbox.eboekhouden_soap_url}/__sandbox__/soap-settings", json={"session_expiry": "maybe"}, timeout=10)
    assert unknown.status_code == 400


# ---- ledgers and relations -----------------------------------------------------------------------


def test_ledgers_filter_by_code_category_and_id(soap: Soap, sandbox: SandboxServers) -> None:
    def codes(**filters: Any) -> list[str]:
        result = soap("GetGrootboekrekeningen", cFilter={"ID": 0, **filters})
        return [ledger.Code for ledger in result.Rekeningen.cGrootboekrekening] if result.Rekeningen else []

    bank = soap("GetGrootboekrekeningen", cFilter={"ID": 0, "Code": "1100"}).Rekeningen.cGrootboekrekening
    assert [(ledger.Code, ledger.Omschrijving, ledger.Categorie) for ledger in bank] == [("1100", "Bank", "FIN")]
    assert bank[0].ID == sandbox.books.ledger_by_code("1100")["id"] != 1100
    assert codes(Categorie="FIN") == ["1000", "1100", "1110", "1120"]
    assert codes(ID=bank[0].ID) == ["1100"]
    assert len(codes()) == len(sandbox.books.ledgers())
    assert codes(Code="9999") == []


def test_add_relatie_creates_a_relation_both_apis_see(soap: Soap, sandbox: SandboxServers) -> None:
    code = new_code()
    added = soap(
        "AddRelatie",
        oRel=relatie(
            code,
            Bedrijf="Theehuis Zwolle",
            Contactpersoon="Anna de Vries",
            Email="anna@theehuis.example",
            Plaats="Zwolle",
            Land="NL",
            BP="B",
        ),
    )
    found = soap("GetRelaties", cFilter={"ID": 0, "Code": code}).Relaties.cRelatie
    stored = sandbox.books.relation(added.Rel_ID)
    assert error(added) is None
    assert [(r.ID, r.Code, r.Bedrijf, r.Contactpersoon, r.Email, r.Plaats, r.BP) for r in found] == [
        (added.Rel_ID, code, "Theehuis Zwolle", "Anna de Vries", "anna@theehuis.example", "Zwolle", "B")
    ]
    assert (stored["code"], stored["name"], stored["contact"], stored["emailAddress"], stored["type"]) == (
        code,
        "Theehuis Zwolle",
        "Anna de Vries",
        "anna@theehuis.example",
        "B",
    )
    assert isinstance(found[0].AddDatum, dt.datetime)


def test_get_relaties_keyword_code_and_id(soap: Soap, sandbox: SandboxServers) -> None:
    def codes(**filters: Any) -> list[str]:
        result = soap("GetRelaties", cFilter={"ID": 0, **filters})
        assert error(result) is None
        return sorted(r.Code for r in result.Relaties.cRelatie) if result.Relaties is not None else []

    klaartje = ["KlaartjePi", "KlaartjePi1", "KlaartjePi2", "KlaartjePi3", "KlaartjePi4"]
    pinas = sandbox.books.relation_by_code("KlaartjePi1")
    assert codes(Trefwoord="klaartjepi") == klaartje  # code and name
    assert codes(Trefwoord="PINAS@EXAMPLE") == ["KlaartjePi1"]  # e-mail
    assert codes(Trefwoord="Pijnappel") == ["KlaartjePi3"]  # company name
    assert codes(Code="klaartjepi2") == ["KlaartjePi2"]
    assert codes(ID=pinas["id"]) == ["KlaartjePi1"]
    assert codes(ID=pinas["id"], Code="KlaartjePi2") == []
    assert codes(Trefwoord="no-such-relation-anywhere") == []
    everyone = soap("GetRelaties", cFilter={"ID": 0}).Relaties.cRelatie
    assert len(everyone) == len(sandbox.books.relations())


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Code": "KlaartjePi2", "Bedrijf": "Duplicate"}, "REL_049"),
        ({"Code": "klaartjepi2", "Bedrijf": "Duplicate"}, "REL_049"),
        ({"Code": "", "Bedrijf": "No Code"}, "SOAP_REL_001"),
        ({"Bedrijf": "", "Contactpersoon": ""}, "REL_002"),
        ({"Bedrijf": "Bad Mail", "Email": "not-an-address"}, "REL_023"),
        ({"Bedrijf": "Bad Kind", "BP": "X"}, "REL_001"),
        ({"Code": "X" * 16, "Bedrijf": "Long Code"}, "REL_006"),
    ],
)
def test_add_relatie_errors(soap: Soap, sandbox: SandboxServers, fields: dict[str, Any], code: str) -> None:
    before = len(sandbox.books.relations())
    fields = dict(fields)
    refused = soap("AddRelatie", oRel=relatie(fields.pop("Code", new_code()), **fields))
    assert (error(refused), refused.Rel_ID) == (code, 0)
    assert refused.ErrorMsg.LastErrorDescription
    assert len(sandbox.books.relations()) == before


# ---- mutations -----------------------------------------------------------------------------------


def test_a_soap_sale_shows_in_get_mutaties_open_posten_and_the_rest_api(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    rows = [regel("121.00", "21.00"), regel("10.90", "0.90", "LAAG_VERK_9", "8010")]
    added = soap("AddMutatie", oMut=sale("SOAP-SALE-1", relation_code, *rows))
    listed = mutaties(soap, Factuurnummer="SOAP-SALE-1")
    posts = open_posten(soap, "SOAP-SALE-1")
    rest = rest_outstanding(sandbox, "SOAP-SALE-1")
    stored = sandbox.books.mutation(added.Mutatienummer)
    assert error(added) is None and added.Mutatienummer > 0
    assert [(m.MutatieNr, m.Soort, m.Datum, m.Rekening, m.RelatieCode, m.InExBTW, m.Betalingstermijn) for m in listed] == [
        (added.Mutatienummer, "FactuurVerstuurd", DAY, "1300", relation_code, "IN", "14")
    ]
    assert [
        (r.BedragInclBTW, r.BedragExclBTW, r.BedragBTW, r.BTWCode, r.TegenrekeningCode, r.BTWPercentage)
        for r in listed[0].MutatieRegels.cMutatieListRegel
    ] == [
        (Decimal("121.00"), Decimal("100.00"), Decimal("21.00"), "HOOG_VERK_21", "8000", Decimal(21)),
        (Decimal("10.90"), Decimal("10.00"), Decimal("0.90"), "LAAG_VERK_9", "8010", Decimal(9)),
    ]
    assert [(p.RelCode, p.RelBedrijf, p.Bedrag, p.Voldaan, p.Openstaand, p.MutDatum) for p in posts] == [
        (relation_code, "Soap Debiteur", 131.9, 0.0, 131.9, DAY)
    ]
    assert [(i["mutationId"], i["totalAmount"], i["paidAmount"], i["outstandingAmount"]) for i in rest] == [
        (added.Mutatienummer, Decimal("131.90"), Decimal("0.00"), Decimal("131.90"))
    ]
    assert (stored["type"], stored["date"], stored["amount"], stored["totalExclVat"], stored["totalVat"]) == (
        2,
        "2026-03-10",
        Decimal("131.90"),
        Decimal("110.00"),
        Decimal("21.90"),
    )
    assert stored["ledgerId"] == sandbox.books.ledger_by_code("1300")["id"]
    assert stored["relationId"] == sandbox.books.relation_by_code(relation_code)["id"]


def test_soap_and_rest_mutations_are_stored_alike(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    added = soap("AddMutatie", oMut=sale("SOAP-ALIKE-1", relation_code))
    rest_made = sandbox.books.mutations()[0]  # seeded through the REST code path
    stored = sandbox.books.mutation(added.Mutatienummer)
    assert set(stored) == set(rest_made)
    assert set(stored["rows"][0]) == set(rest_made["rows"][0])
    assert {m["id"] for m in sandbox.books.mutations()} >= {added.Mutatienummer}


def test_the_vat_the_client_gives_is_stored_not_recomputed(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    added = soap("AddMutatie", oMut=sale("SOAP-VAT-1", relation_code, regel("10.00", "1.73")))  # 21% of 10.00 incl would be 1.74
    row = sandbox.books.mutation(added.Mutatienummer)["rows"][0]
    assert error(added) is None
    assert (row["amount"], row["amountExclVat"], row["vatAmount"], row["amountInclVat"]) == (
        Decimal("10.00"), Decimal("8.27"), Decimal("1.73"), Decimal("10.00")
    )  # fmt: skip


def test_amounts_excl_vat(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    row = regel("3.94", "0.68", invoer="3.26", excl="3.26")
    added = soap("AddMutatie", oMut=mutatie("FactuurVerstuurd", "SOAP-EX-1", relation_code, [row], in_ex="EX"))
    listed = mutaties(soap, Factuurnummer="SOAP-EX-1")[0].MutatieRegels.cMutatieListRegel[0]
    assert error(added) is None
    assert (listed.BedragInvoer, listed.BedragExclBTW, listed.BedragBTW, listed.BedragInclBTW) == (
        Decimal("3.26"), Decimal("3.26"), Decimal("0.68"), Decimal("3.94")
    )  # fmt: skip
    assert sandbox.books.mutation(added.Mutatienummer)["amount"] == Decimal("3.94")


@pytest.mark.parametrize(
    ("row", "in_ex", "code"),
    [
        (regel("121.00", "21.00", excl="100.01"), "IN", "SOAP_MUT_001"),
        (regel("121.00", "21.01", excl="100.00"), "IN", "SOAP_MUT_001"),
        (regel("121.00", "21.00", invoer="100.00"), "IN", "SOAP_MUT_002"),
        (regel("121.00", "21.00"), "EX", "SOAP_MUT_002"),
    ],
)
def test_amounts_that_do_not_add_up_are_refused(
    soap: Soap, sandbox: SandboxServers, relation_code: str, row: dict[str, Any], in_ex: str, code: str
) -> None:
    number = f"SOAP-SUM-{next(_codes)}"
    refused = soap("AddMutatie", oMut=mutatie("FactuurVerstuurd", number, relation_code, [row], in_ex=in_ex))
    assert (error(refused), refused.Mutatienummer) == (code, 0)
    assert "row 1" in refused.ErrorMsg.LastErrorDescription
    assert booked(sandbox, number) == []


def _broken(case: str, code: str) -> dict[str, Any]:
    """A sale (or payment) broken in one way."""
    number = f"SOAP-BROKEN-{case}"
    good = sale(number, code)
    row = good["MutatieRegels"]["cMutatieRegel"][0]
    changes: dict[str, dict[str, Any]] = {
        "MUT_011": {"Rekening": "9999"},
        "MUTA_001": {"Rekening": ""},
        "MUT_013": {"RelatieCode": "NOSUCHCODE"},
        "MUT_012": {"RelatieCode": ""},
        "MUT_002": {"Factuurnummer": ""},
        "MUT_017": {"InExBTW": "INCL"},
        "MUT_011 category": {"Rekening": "1100"},  # official: "Ledger must be of category debtor."
        "MUT_100": {"MutatieRegels": {"cMutatieRegel": []}},
        "MUT_104": {"MutatieRegels": {"cMutatieRegel": [{**row, "TegenrekeningCode": "9999"}]}},
        "MUT_109": {"MutatieRegels": {"cMutatieRegel": [{**row, "BTWCode": "HOOG_21"}]}},
        "MUT_111": {"MutatieRegels": {"cMutatieRegel": [{**row, "BTWCode": "HOOG_INK_21"}]}},
        "SOAP_MUT_003": {"Soort": "OpeningsSaldo"},
    }
    if case == "MUT_115":
        return payment("SOAP-NO-SUCH-INVOICE", code, "10.00")
    return {**good, **changes[case]}


@pytest.mark.parametrize(
    "case",
    [
        "MUT_011",
        "MUTA_001",
        "MUT_013",
        "MUT_012",
        "MUT_002",
        "MUT_017",
        "MUT_011 category",
        "MUT_100",
        "MUT_104",
        "MUT_109",
        "MUT_111",
        "MUT_115",
        "SOAP_MUT_003",
    ],
)
def test_add_mutatie_errors(soap: Soap, sandbox: SandboxServers, relation_code: str, case: str) -> None:
    before = len(sandbox.books.mutations())
    refused = soap("AddMutatie", oMut=_broken(case, relation_code))
    assert (error(refused), refused.Mutatienummer) == (case.split()[0], 0)
    assert len(sandbox.books.mutations()) == before


def test_a_payment_with_the_invoice_number_settles_the_sale(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    soap("AddMutatie", oMut=sale("SOAP-PAY-1", relation_code, regel("100.00", "17.36")))
    partly = soap("AddMutatie", oMut=payment("SOAP-PAY-1", relation_code, "40.00"))
    middle = open_posten(soap, "SOAP-PAY-1")
    rest_middle = rest_outstanding(sandbox, "SOAP-PAY-1")
    settled = soap("AddMutatie", oMut=payment("SOAP-PAY-1", relation_code, "60.00"))
    stored = sandbox.books.mutation(partly.Mutatienummer)
    listed = mutaties(soap, MutatieNr=partly.Mutatienummer)
    assert error(partly) is None and error(settled) is None
    assert [(p.Bedrag, p.Voldaan, p.Openstaand) for p in middle] == [(100.0, 40.0, 60.0)]
    assert [(i["paidAmount"], i["outstandingAmount"]) for i in rest_middle] == [(Decimal("40.00"), Decimal("60.00"))]
    assert open_posten(soap, "SOAP-PAY-1") == [] and rest_outstanding(sandbox, "SOAP-PAY-1") == []
    assert (stored["type"], stored["entryNumber"], stored["rows"][0]["invoiceNumber"]) == (3, "tr_SOAP", "SOAP-PAY-1")
    assert (listed[0].Soort, listed[0].Rekening, listed[0].Boekstuk, listed[0].MutatieRegels.cMutatieListRegel[0].Factuurnummer) == (
        "FactuurbetalingOntvangen", "1110", "tr_SOAP", "SOAP-PAY-1"
    )  # fmt: skip


def test_a_sale_with_a_known_invoice_number_is_overwritten_not_refused(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    overwrites_before = len(sandbox.books.overwrites)
    first = soap("AddMutatie", oMut=sale("SOAP-TWICE-1", relation_code))
    second = soap("AddMutatie", oMut=sale("SOAP-TWICE-1", relation_code, regel("60.50", "10.50")))
    listed = mutaties(soap, Factuurnummer="SOAP-TWICE-1")
    event = sandbox.books.overwrites[-1]
    admin = requests.get(f"{sandbox.eboekhouden_soap_url}/__sandbox__/overwrites", timeout=10).json()
    assert error(first) is None and error(second) is None
    assert second.Mutatienummer == first.Mutatienummer
    assert [(m.MutatieNr, m.MutatieRegels.cMutatieListRegel[0].BedragInclBTW) for m in listed] == [(first.Mutatienummer, Decimal("60.50"))]
    assert [m["amount"] for m in booked(sandbox, "SOAP-TWICE-1")] == [Decimal("60.50")]
    assert len(sandbox.books.overwrites) == overwrites_before + 1
    assert (event["id"], event["invoiceNumber"], event["oldAmount"], event["newAmount"]) == (
        first.Mutatienummer,
        "SOAP-TWICE-1",
        Decimal("121.00"),
        Decimal("60.50"),
    )
    assert admin[-1]["id"] == first.Mutatienummer and admin[-1]["newAmount"] == 60.5
    assert [p.Openstaand for p in open_posten(soap, "SOAP-TWICE-1")] == [60.5]


def test_rest_still_refuses_a_known_invoice_number(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    soap("AddMutatie", oMut=sale("SOAP-REST-1", relation_code))
    base = sandbox.eboekhouden_url
    token = requests.post(f"{base}/v1/session", json={"accessToken": DEFAULT_TOKEN, "source": "TEST"}, timeout=10).json()["token"]
    body = {
        "type": 2, "date": "2026-03-10", "ledgerId": sandbox.books.ledger_by_code("1300")["id"],
        "relationId": sandbox.books.relation_by_code(relation_code)["id"], "invoiceNumber": "SOAP-REST-1", "inExVat": "IN",
        "rows": [{"ledgerId": sandbox.books.ledger_by_code("8000")["id"], "vatCode": "HOOG_VERK_21", "amount": 5}],
    }  # fmt: skip
    refused = requests.post(f"{base}/v1/mutation", json=body, headers={"Authorization": token}, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (400, "MUT_019")
    assert len(booked(sandbox, "SOAP-REST-1")) == 1


def test_get_mutaties_filters(soap: Soap, relation_code: str) -> None:
    numbers = [
        soap("AddMutatie", oMut=sale(f"SOAP-FILTER-{i}", relation_code, Datum=dt.datetime(2026, 2, i))).Mutatienummer for i in (1, 2, 3)
    ]

    def found(**filters: Any) -> list[int]:
        return [m.MutatieNr for m in mutaties(soap, **filters) if (m.Factuurnummer or "").startswith("SOAP-FILTER-")]

    assert found() == numbers
    assert found(MutatieNr=numbers[1]) == [numbers[1]]
    assert found(MutatieNrVan=numbers[1]) == numbers[1:]
    assert found(MutatieNrVan=numbers[0], MutatieNrTm=numbers[1]) == numbers[:2]
    assert found(Factuurnummer="soap-filter-3") == [numbers[2]]
    assert found(DatumVan=dt.datetime(2026, 2, 2), DatumTm=dt.datetime(2026, 2, 2, 23, 59)) == [numbers[1]]
    assert found(DatumVan=dt.datetime(2026, 2, 4), DatumTm=dt.datetime(2026, 2, 28)) == []
    result = soap("GetMutaties")
    assert (error(result), result.Mutaties) == ("SOAP_REQ_001", None)


# ---- outstanding items and invoices --------------------------------------------------------------


def test_open_posten_match_the_rest_outstanding_list(soap: Soap, sandbox: SandboxServers) -> None:
    posts = soap("GetOpenPosten", OpSoort="Debiteuren").Openposten.cOpenPost
    rest = sandbox.books.outstanding("D")
    creditors = soap("GetOpenPosten", OpSoort="Crediteuren").Openposten
    assert [(p.MutFactuur, Decimal(str(p.Openstaand))) for p in posts] == [(i["invoiceNumber"], i["outstandingAmount"]) for i in rest]
    assert [p.MutFactuur for p in (creditors.cOpenPost if creditors else [])] == [
        i["invoiceNumber"] for i in sandbox.books.outstanding("C")
    ]


def factuur(code: str, number: str | None = None, book: bool = False, template: str = "Invoice template", **fields: Any) -> dict[str, Any]:
    """A cFactuur with two rows, prices excl. VAT."""
    rows = [
        {
            "Aantal": 3,
            "Code": "T-1",
            "Omschrijving": "Thee",
            "PrijsPerEenheid": 12.95,
            "BTWCode": "HOOG_VERK_21",
            "TegenrekeningCode": "8000",
            "KostenplaatsID": 0,
        },
        {
            "Aantal": 1,
            "Code": "H-1",
            "Omschrijving": "Honing",
            "PrijsPerEenheid": 7.25,
            "BTWCode": "LAAG_VERK_9",
            "TegenrekeningCode": "8010",
            "KostenplaatsID": 0,
        },
    ]
    invoice = {
        "Factuurnummer": number, "Relatiecode": code, "Datum": DAY, "Betalingstermijn": 14, "Factuursjabloon": template,
        "PerEmailVerzenden": False, "AutomatischeIncasso": False, "IncassoMachtigingDatumOndertekening": DAY,
        "IncassoMachtigingFirst": False, "InBoekhoudingPlaatsen": book, "BoekhoudmutatieOmschrijving": f"Order {number}",
        "Regels": {"cFactuurRegel": rows},
    }  # fmt: skip
    return {**invoice, **fields}


def facturen(soap: Soap, **filters: Any) -> list[Any]:
    """GetFacturen's list (wide date range unless given)."""
    result = soap("GetFacturen", cFilter={**WIDE, **filters})
    assert error(result) is None
    return list(result.Facturen.cFactuurList) if result.Facturen is not None else []


def test_add_factuur_without_booking(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    added = soap("AddFactuur", oFact=factuur(relation_code, "SOAP-INV-1"))
    listed = facturen(soap, Factuurnummer="SOAP-INV-1")
    stored = next(i for i in sandbox.books.invoices() if i["invoiceNumber"] == "SOAP-INV-1")
    assert (error(added), added.Factuurnummer) == (None, "SOAP-INV-1")
    assert [
        (f.Relatiecode, f.Datum, f.Betalingstermijn, f.TotaalExclBTW, f.TotaalBTW, f.TotaalInclBTW, f.TotaalOpenstaand) for f in listed
    ] == [(relation_code, DAY, 14, 46.1, 8.81, 54.91, 54.91)]
    assert [(r.Aantal, r.Code, r.PrijsPerEenheid, r.BTWCode, r.TegenrekeningCode) for r in listed[0].Regels.cFactuurRegel] == [
        (3.0, "T-1", 12.95, "HOOG_VERK_21", "8000"),
        (1.0, "H-1", 7.25, "LAAG_VERK_9", "8010"),
    ]
    assert (stored["templateId"], stored["inExVat"], stored["mutationId"]) == (7001, "EX", None)
    assert open_posten(soap, "SOAP-INV-1") == [] and booked(sandbox, "SOAP-INV-1") == []


def test_add_factuur_in_boekhouding_plaatsen_books_the_sale(soap: Soap, sandbox: SandboxServers, relation_code: str) -> None:
    added = soap("AddFactuur", oFact=factuur(relation_code, "SOAP-INV-2", book=True, template="factuur ZONDER logo"))
    sale_booked = mutaties(soap, Factuurnummer="SOAP-INV-2")
    posts = open_posten(soap, "SOAP-INV-2")
    assert error(added) is None
    assert [(m.Soort, m.Rekening, m.RelatieCode, m.Omschrijving) for m in sale_booked] == [
        ("FactuurVerstuurd", "1300", relation_code, "Order SOAP-INV-2")
    ]
    assert [(p.Bedrag, p.Openstaand) for p in posts] == [(54.91, 54.91)]
    assert [i["totalAmount"] for i in rest_outstanding(sandbox, "SOAP-INV-2")] == [Decimal("54.91")]
    soap("AddMutatie", oMut=payment("SOAP-INV-2", relation_code, "54.91"))
    assert [f.TotaalOpenstaand for f in facturen(soap, Factuurnummer="SOAP-INV-2")] == [0.0]


def test_add_factuur_numbers_itself_and_get_facturen_filters(soap: Soap, relation_code: str) -> None:
    numbered = soap("AddFactuur", oFact=factuur(relation_code, None, Datum=dt.datetime(2026, 1, 15)))
    mine = facturen(soap, Relatiecode=relation_code.lower())
    assert error(numbered) is None and numbered.Factuurnummer[-1].isdigit()
    assert [f.Factuurnummer for f in mine] == [numbered.Factuurnummer]
    assert facturen(soap, Relatiecode=relation_code, DatumVan=dt.datetime(2026, 2, 1), DatumTm=dt.datetime(2026, 2, 28)) == []
    result = soap("GetFacturen")
    assert (error(result), result.Facturen) == ("SOAP_REQ_001", None)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Factuursjabloon": "No such template"}, "FACT_018"),
        ({"Factuursjabloon": ""}, "FACT_017"),
        ({"Relatiecode": "NOSUCHCODE"}, "FACT_002"),
        ({"Relatiecode": ""}, "FACT_001"),
        ({"Factuurnummer": "SOAP-ABC"}, "FACT_009"),
        ({"Regels": {"cFactuurRegel": []}}, "FACT_019"),
        ({"Factuurnummer": "SOAP-TAKEN-1"}, "FACT_101"),
        ({"Factuurnummer": "SOAP-SOLD-1", "InBoekhoudingPlaatsen": True}, "MUT_019"),
    ],
)
def test_add_factuur_errors(soap: Soap, sandbox: SandboxServers, relation_code: str, change: dict[str, Any], code: str) -> None:
    if change.get("Factuurnummer") == "SOAP-TAKEN-1" and not any(i["invoiceNumber"] == "SOAP-TAKEN-1" for i in sandbox.books.invoices()):
        assert error(soap("AddFactuur", oFact=factuur(relation_code, "SOAP-TAKEN-1"))) is None
    if change.get("Factuurnummer") == "SOAP-SOLD-1" and not booked(sandbox, "SOAP-SOLD-1"):
        assert error(soap("AddMutatie", oMut=sale("SOAP-SOLD-1", relation_code))) is None
    before = (len(sandbox.books.invoices()), len(sandbox.books.mutations()))
    refused = soap("AddFactuur", oFact={**factuur(relation_code, None), **change})
    assert (error(refused), refused.Factuurnummer) == (code, None)
    assert (len(sandbox.books.invoices()), len(sandbox.books.mutations())) == before


# ---- requests that are not valid SOAP ------------------------------------------------------------


def test_requests_that_do_not_fit_the_schema_get_a_client_fault(sandbox: SandboxServers, session_id: str) -> None:
    def fault_of(answer: requests.Response) -> tuple[int, str, str]:
        fault = etree.fromstring(answer.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
        return answer.status_code, fault.findtext("faultcode"), fault.findtext("faultstring")

    good = f'<GetGrootboekrekeningen xmlns="{NS}">{credentials(session_id)}<cFilter><ID>0</ID></cFilter></GetGrootboekrekeningen>'
    not_a_long = good.replace("<ID>0</ID>", "<ID>zero</ID>")
    missing_id = good.replace("<ID>0</ID>", "")
    unknown_field = good.replace("<ID>0</ID>", "<ID>0</ID><Colour>red</Colour>")
    assert raw_post(sandbox, raw_envelope(good)).status_code == 200
    for body in (not_a_long, missing_id, unknown_field):
        status, code, text = fault_of(raw_post(sandbox, raw_envelope(body)))
        assert (status, code) == (500, "soap:Client") and text.startswith("Server was unable to read request.")
    assert fault_of(raw_post(sandbox, "this is not xml"))[:2] == (500, "soap:Client")
    assert fault_of(raw_post(sandbox, raw_envelope(good), action="GetMutaties"))[2].startswith(
        "Server did not recognize the value of HTTP Header SOAPAction"
    )
    assert fault_of(raw_post(sandbox, raw_envelope(f'<Explode xmlns="{NS}"/>'), action="Explode"))[:2] == (500, "soap:Client")
    soap12 = f'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>{good}</e:Body></e:Envelope>'
    assert fault_of(raw_post(sandbox, soap12, action=None, content_type="application/soap+xml"))[1] == "soap:VersionMismatch"
    assert raw_post(sandbox, raw_envelope(good), action=None).status_code == 200  # no SOAPAction: the body decides


# ---- faults --------------------------------------------------------------------------------------


def test_a_500_answers_a_soap_fault_then_the_call_passes(sandbox: SandboxServers, soap: Soap) -> None:
    sandbox.add_fault_rule(
        "eboekhouden_soap", method="POST", path="/soap.asmx/GetGrootboekrekeningen", action="status", status=500, times=2
    )
    for _ in range(2):
        with pytest.raises(Fault) as failed:
            soap("GetGrootboekrekeningen", cFilter={"ID": 0, "Code": "1300"})
        assert failed.value.code == "soap:Server" and "HTTP 500" in failed.value.message
    assert error(soap("GetOpenPosten", OpSoort="Debiteuren")) is None  # other operations were never faulted
    assert [r.Code for r in soap("GetGrootboekrekeningen", cFilter={"ID": 0, "Code": "1300"}).Rekeningen.cGrootboekrekening] == ["1300"]


def test_429_carries_retry_after_and_a_fault_body(sandbox: SandboxServers, session_id: str) -> None:
    sandbox.add_fault_rule("eboekhouden_soap", action="status", status=429, retry_after=7)
    body = f'<GetOpenPosten xmlns="{NS}">{credentials(session_id)}<OpSoort>Debiteuren</OpSoort></GetOpenPosten>'
    limited = raw_post(sandbox, raw_envelope(body), action="GetOpenPosten")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.headers["content-type"].startswith("text/xml")
    assert etree.fromstring(limited.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault") is not None
    assert raw_post(sandbox, raw_envelope(body), action="GetOpenPosten").status_code == 200


def test_drop_after_commit_on_add_mutatie_books_but_the_client_hears_nothing(
    soap: Soap, sandbox: SandboxServers, relation_code: str
) -> None:
    sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/AddMutatie", action="drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        soap("AddMutatie", oMut=sale("SOAP-DROP-1", relation_code))
    assert len(booked(sandbox, "SOAP-DROP-1")) == 1
    assert [m.Factuurnummer for m in mutaties(soap, Factuurnummer="SOAP-DROP-1")] == ["SOAP-DROP-1"]
    deadline = time.monotonic() + 2
    while sandbox.books.soap_stats.count("POST", "/soap.asmx/AddMutatie", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.books.soap_stats.count("POST", "/soap.asmx/AddMutatie", 0) == 1


def test_html_pages_and_truncated_answers_are_transport_errors(soap: Soap, sandbox: SandboxServers) -> None:
    sandbox.add_fault_rule("eboekhouden_soap", action="html", status=502)
    sandbox.add_fault_rule("eboekhouden_soap", action="garbage")
    sandbox.add_fault_rule("eboekhouden_soap", action="truncate")
    statuses = []
    for _ in range(3):
        with pytest.raises(TransportError) as failed:
            soap("GetGrootboekrekeningen", cFilter={"ID": 0})
        statuses.append(failed.value.status_code)
    assert statuses == [502, 200, 200]
    assert error(soap("GetGrootboekrekeningen", cFilter={"ID": 0})) is None


def test_timeouts_hold_the_answer_back(soap: Soap, sandbox: SandboxServers, client: zeep.Client) -> None:
    sandbox.add_fault_rule("eboekhouden_soap", path="/soap.asmx/GetOpenPosten", action="timeout", seconds=1.5)
    impatient = zeep.Client(str(WSDL), transport=Transport(session=requests.Session(), operation_timeout=0.3))
    service = impatient.create_service(BINDING, f"{sandbox.eboekhouden_soap_url}/soap.asmx")
    with pytest.raises(requests.Timeout):
        service.GetOpenPosten(SessionID=soap.session, SecurityCode2=DEFAULT_SOAP_SECURITY_CODE_2, OpSoort="Debiteuren")
    assert error(soap("GetOpenPosten", OpSoort="Debiteuren")) is None


def test_random_faults_and_latency_apply_to_the_soap_server_only(sandbox: SandboxServers, soap: Soap) -> None:
    sandbox.set_faults("eboekhouden_soap", rate_500=1.0, path="/soap.asmx/AddRelatie", latency_ms=100)
    started = time.monotonic()
    assert error(soap("GetGrootboekrekeningen", cFilter={"ID": 0, "Code": "1300"})) is None
    assert time.monotonic() - started >= 0.1
    with pytest.raises(Fault):
        soap("AddRelatie", oRel=relatie(new_code(), Bedrijf="Never"))
    assert sandbox.faults("eboekhouden").config.rate_500 == 0
    assert requests.get(f"{sandbox.eboekhouden_soap_url}/__sandbox__/faults", timeout=10).json()["config"]["rate_500"] == 1.0


# ---- servers, stats and admin --------------------------------------------------------------------


def test_the_soap_server_is_a_third_target(sandbox: SandboxServers) -> None:
    assert set(sandbox.urls()) == {"prestashop", "eboekhouden", "eboekhouden_soap", "vies"}
    assert sandbox.urls()["eboekhouden_soap"] == sandbox.eboekhouden_soap_url != sandbox.eboekhouden_url
    assert sandbox.faults("eboekhouden_soap") is sandbox.eboekhouden_soap_app.state.faults
    assert sandbox.eboekhouden_soap_app.state.books is sandbox.books
    with pytest.raises(ValueError):
        sandbox.faults("soap")


def test_requests_are_counted_per_operation(sandbox: SandboxServers, soap: Soap) -> None:
    requests.post(f"{sandbox.eboekhouden_soap_url}/__sandbox__/reset-stats", timeout=10)
    rest_before = sandbox.books.stats.count()
    soap("GetOpenPosten", OpSoort="Debiteuren")
    soap("GetOpenPosten", OpSoort="Crediteuren")
    soap("GetGrootboekrekeningen", cFilter={"ID": 0})
    stats = requests.get(f"{sandbox.eboekhouden_soap_url}/__sandbox__/stats", timeout=10).json()
    assert {"method": "POST", "path": "/soap.asmx/GetOpenPosten", "status": 200, "count": 2} in stats["requests"]
    assert {"method": "POST", "path": "/soap.asmx/GetGrootboekrekeningen", "status": 200, "count": 1} in stats["requests"]
    assert stats["total"] == 3 and sandbox.books.soap_stats.count(path="/soap.asmx/GetOpenPosten") == 2
    assert sandbox.books.stats.count() == rest_before


def test_admin_routes_show_the_shared_administration(sandbox: SandboxServers, soap: Soap, relation_code: str) -> None:
    added = soap("AddMutatie", oMut=sale("SOAP-ADMIN-1", relation_code))
    on_soap = requests.get(f"{sandbox.eboekhouden_soap_url}/__sandbox__/mutations", timeout=10).json()
    on_rest = requests.get(f"{sandbox.eboekhouden_url}/__sandbox__/mutations", timeout=10).json()
    assert any(m["id"] == added.Mutatienummer and m["invoiceNumber"] == "SOAP-ADMIN-1" for m in on_soap)
    assert on_soap == on_rest
    assert requests.get(f"{sandbox.eboekhouden_soap_url}/__sandbox__/health", timeout=10).json() == {"status": "ok"}


def test_every_operation_answer_fits_the_wsdl_schema(soap: Soap, service: Any, checker: SchemaCheck, relation_code: str) -> None:
    before = dict(checker.checked)
    open_session(service)
    open_session(service, code1="WRONG")
    soap("GetRelaties", cFilter={"ID": 0, "Trefwoord": "klaartje"})
    soap("AddRelatie", oRel=relatie(new_code(), Bedrijf="Schema Check"))
    soap("AddRelatie", oRel=relatie("KlaartjePi", Bedrijf="Schema Check"))
    soap("GetGrootboekrekeningen", cFilter={"ID": 0})
    soap("AddMutatie", oMut=sale("SOAP-SCHEMA-1", relation_code))
    soap("AddMutatie", oMut=sale("SOAP-SCHEMA-2", "NOSUCHCODE"))
    soap("GetMutaties", cFilter={"MutatieNr": 0, **WIDE})
    soap("GetMutaties")
    soap("GetOpenPosten", OpSoort="Debiteuren")
    soap("AddFactuur", oFact=factuur(relation_code, "SOAP-SCHEMA-3", book=True))
    soap("AddFactuur", oFact=factuur(relation_code, None, template="nope"))
    soap("GetFacturen", cFilter=WIDE)
    soap("GetFacturen")
    service.CloseSession(SessionID=open_session(service).SessionID)
    soap("GetOpenPosten", OpSoort="Debiteuren")
    grown = {name: checker.checked.get(name, 0) - before.get(name, 0) for name in OPERATIONS}
    assert all(count >= 1 for count in grown.values()), grown
    assert grown["AddMutatie"] == 2 and grown["GetFacturen"] == 2
