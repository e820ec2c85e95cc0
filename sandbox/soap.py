"""The e-Boekhouden legacy SOAP API emulator (``POST /soap.asmx``, ``GET /soap.asmx?wsdl``) on the REST emulator's administration.

It speaks the repo's hand-written WSDL (plugins/prestashop_eboekhouden/hooks/eboekhouden_soap.wsdl): SOAP 1.1,
document/literal, ASP.NET .asmx style. Every request body is validated against the WSDL's schema (a request
that does not fit is answered like .asmx does: HTTP 500 with a soap:Client fault); answers are built in the
schema's element order, so a strict client (zeep) parses them.

Business errors come back like the real service's: HTTP 200, ``ErrorMsg {LastErrorCode, LastErrorDescription}``
inside the operation's result (both empty on success). The real SOAP error codes are not public, so
the emulator uses the REST API's codes where the same check exists (the administration behind both is one
``BooksState``) and its own ``SOAP_*`` codes for what only SOAP has:

- ``SOAP_AUTH_001`` OpenSession: username or a security code is wrong;
- ``SOAP_AUTH_002`` security code 2 of a call is wrong;
- ``SOAP_SESSION_001`` SessionID missing, unknown, closed or expired: open a new session and retry (our invention:
  the real answer is unknown, so ``SoapService.session_expiry`` picks one of SESSION_EXPIRY_ANSWERS);
- ``SOAP_REQ_001`` the operation's object or filter (oMut, oRel, oFact, cFilter with dates) is missing;
- ``SOAP_REL_001`` AddRelatie without a Code (SOAP does not generate relation codes);
- ``SOAP_MUT_001`` a row's BedragExclBTW + BedragBTW is not BedragInclBTW (to the cent);
- ``SOAP_MUT_002`` a row's BedragInvoer is not its BedragInclBTW (InExBTW IN) or BedragExclBTW (EX);
- ``SOAP_MUT_003`` Soort OpeningsSaldo (not emulated);
- from the REST API: ``REL_001/002/023/048/049`` (BP, name, e-mail, code length, code exists), ``MUT_0xx/1xx``
  (``MUT_011`` unknown Rekening code, ``MUT_013`` unknown RelatieCode, ``MUT_104`` unknown
  TegenrekeningCode, ``MUT_109`` invalid BTWCode, ``MUT_115`` paid invoice not found, ...), ``FACT_0xx``
  (``FACT_002`` unknown Relatiecode, ``FACT_017/018`` template missing / no template with that name,
  ``FACT_021`` invoice number exists, ``MUT_019`` a sale with that number exists).

The legacy hazard: AddMutatie of a sale (FactuurVerstuurd) whose Factuurnummer exists OVERWRITES that sale
under its MutatieNr instead of refusing it; ``BooksState.overwrites`` records every such event.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from lxml.builder import ElementMaker
from starlette.requests import ClientDisconnect

from sandbox.appkit import ExactJSONResponse, admin_router, install_middleware, parse_json
from sandbox.books import VAT_CODES, ApiProblem, BooksState
from sandbox.eboekhouden import _books_admin_router
from sandbox.faults import FaultInjector, Scope
from sandbox.money import cents

logger = logging.getLogger(__name__)

NS = "http://www.e-boekhouden.nl/soap"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
SOAP_PATH = "/soap.asmx"
ACTION_PREFIX = f"{NS}/"
XML_TYPE = "text/xml; charset=utf-8"
REAL_ADDRESS = "https://soap.e-boekhouden.nl/soap.asmx"
WSDL_ENV = "SANDBOX_SOAP_WSDL"
WSDL_FILE = Path(__file__).resolve().parents[1] / "plugins" / "prestashop_eboekhouden" / "hooks" / "eboekhouden_soap.wsdl"
MAX_MUTATIES = 500  # GetMutaties answers at most the last 500 matching mutations, like the real service
SOORTEN = {
    "FactuurOntvangen": 1,
    "FactuurVerstuurd": 2,
    "FactuurbetalingOntvangen": 3,
    "FactuurbetalingVerstuurd": 4,
    "GeldOntvangen": 5,
    "GeldUitgegeven": 6,
    "Memoriaal": 7,
}
SOORT_NAMES = {kind: name for name, kind in SOORTEN.items()}
OPEN_POST_SOORTEN = {"Debiteuren": "D", "Crediteuren": "C"}
# cRelatie string fields in schema order → the books' relation field they show (None: not kept).
RELATIE_TEXT = (
    ("Code", "code"), ("Bedrijf", "name"), ("Contactpersoon", "contact"), ("Geslacht", None), ("Adres", "address"),
    ("Postcode", "postalCode"), ("Plaats", "city"), ("Land", "country"), ("Adres2", None), ("Postcode2", None),
    ("Plaats2", None), ("Land2", None), ("Telefoon", "phoneNumber"), ("GSM", "mobilePhoneNumber"), ("FAX", None),
    ("Email", "emailAddress"), ("Site", "website"), ("Notitie", "note"), ("Bankrekening", None), ("Girorekening", None),
    ("BTWNummer", "vatNumber"), ("KvkNummer", None), ("Aanhef", None), ("IBAN", "iban"), ("BIC", "bic"), ("BP", "type"),
    *((f"Def{n}", None) for n in range(1, 11)), ("LA", None),
)  # fmt: skip

T = ElementMaker(namespace=NS, nsmap={None: NS})
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


class SoapFault(Exception):
    """A request the service cannot read or process: HTTP 500 with a soap:Fault."""

    def __init__(self, message: str, code: str = "soap:Client") -> None:
        super().__init__(message)
        self.code = code


# ---- the WSDL and its schema -------------------------------------------------------------------


def wsdl_file() -> Path | None:
    """The repo's WSDL: $SANDBOX_SOAP_WSDL, else plugins/ beside the sandbox package (None when neither exists)."""
    candidates = [Path(os.environ[WSDL_ENV])] if os.environ.get(WSDL_ENV) else []
    candidates.append(WSDL_FILE)
    return next((path for path in candidates if path.is_file()), None)


@dataclass(frozen=True)
class Contract:
    """The WSDL's text (address placeholder included) and the XML schema of its messages."""

    wsdl: str
    schema: etree.XMLSchema

    @classmethod
    def load(cls, path: Path) -> Contract:
        """Read the WSDL and compile its embedded schema."""
        text = path.read_text(encoding="utf-8")
        document = etree.fromstring(text.encode(), _PARSER)
        node = document.find(f"{{{WSDL_NS}}}types/{{{XSD}}}schema")
        if node is None:
            raise ValueError(f"{path} has no schema in wsdl:types")
        return cls(text, etree.XMLSchema(etree.ElementTree(node)))

    def served(self, base_url: str) -> str:
        """The WSDL with soap:address pointing at this server."""
        return self.wsdl.replace(f'location="{REAL_ADDRESS}"', f'location="{base_url.rstrip("/")}{SOAP_PATH}"')

    def validate(self, node: etree._Element) -> None:
        """SoapFault (client) unless the operation element fits the schema."""
        if not self.schema.validate(etree.ElementTree(node)):
            error = self.schema.error_log.last_error
            raise SoapFault(f"Server was unable to read request. ---> There is an error in XML document: {error.message if error else ''}")


# ---- envelopes -----------------------------------------------------------------------------------


def envelope(content: etree._Element) -> bytes:
    """A SOAP 1.1 envelope around one body element, as .asmx writes it."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "xsi": XSI, "xsd": XSD})
    etree.SubElement(root, f"{{{SOAP_ENV}}}Body").append(content)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def fault_envelope(message: str, code: str = "soap:Server") -> bytes:
    """A SOAP 1.1 fault."""
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    etree.SubElement(fault, "detail")
    return envelope(fault)


def soap_error_body(status: int, message: str) -> bytes:
    """The body of an injected error status: a soap:Server fault naming it."""
    return fault_envelope(f"Server was unable to process request. ---> {message}")


def soap_request_path(scope: Scope) -> str:
    """What fault rules match and stats count: /soap.asmx/<Operation> (from SOAPAction) for SOAP posts, else the path."""
    path = str(scope["path"])
    if scope.get("method") != "POST" or path.rstrip("/").lower() != SOAP_PATH:
        return path
    headers = {name.lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    action = headers.get(b"soapaction", "").strip().strip('"')
    if not action:  # SOAP 1.2 carries it in the content type
        action = next(
            (p.split("=", 1)[1].strip('"') for p in headers.get(b"content-type", "").split(";") if p.strip().startswith("action=")), ""
        )
    operation = action.rstrip("/").rsplit("/", 1)[-1]
    return f"{SOAP_PATH}/{operation}" if operation else SOAP_PATH


# ---- reading request values ---------------------------------------------------------------------


def _child(node: etree._Element | None, name: str) -> etree._Element | None:
    """A child element in the service namespace."""
    return None if node is None else node.find(f"{{{NS}}}{name}")


def _children(node: etree._Element | None, name: str) -> list[etree._Element]:
    """All child elements of a name."""
    return [] if node is None else node.findall(f"{{{NS}}}{name}")


def _str(node: etree._Element | None, name: str) -> str:
    """A string field ('' when absent)."""
    child = _child(node, name)
    return "" if child is None or child.text is None else child.text


def _long(node: etree._Element | None, name: str) -> int:
    """A long field (0 when absent)."""
    text = _str(node, name).strip()
    return int(text) if text else 0


def _decimal(node: etree._Element | None, name: str) -> Decimal:
    """A decimal or double field as an exact Decimal (0 when absent)."""
    text = _str(node, name).strip()
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        raise SoapFault(f"Server was unable to read request. ---> {name} {text!r} is not a number") from None


def _bool(node: etree._Element | None, name: str) -> bool:
    """A boolean field."""
    return _str(node, name).strip() in ("true", "1")


def _date(node: etree._Element | None, name: str) -> str:
    """A dateTime field's day, YYYY-MM-DD ('' when absent)."""
    text = _str(node, name).strip()
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise SoapFault(f"Server was unable to read request. ---> {name} {text!r} is not a date") from None


# ---- writing answer values -----------------------------------------------------------------------


def _day(date: str) -> str:
    """A YYYY-MM-DD day as xs:dateTime at midnight."""
    return f"{date or '0001-01-01'}T00:00:00"


def _decimal_text(amount: Decimal | int | None) -> str:
    """An xs:decimal as written: '121.00'."""
    return f"{Decimal(amount or 0):f}"


def _double_text(amount: Decimal | int | None) -> str:
    """An xs:double the way .NET writes it: 121, 12.1, 0."""
    value = Decimal(amount or 0)
    return "0" if value == 0 else f"{value.normalize():f}"


def _texts(pairs: Iterable[tuple[str, Any]]) -> list[etree._Element]:
    """Optional string elements, in order, leaving out empty ones."""
    return [T(name, str(value)) for name, value in pairs if value not in (None, "")]


def _error_msg(problem: ApiProblem | None) -> etree._Element:
    """ErrorMsg: empty on success, else the code and a description."""
    if problem is None:
        return T.ErrorMsg(T.LastErrorCode(), T.LastErrorDescription())
    description = problem.title if problem.message in ("", problem.title) else f"{problem.title}: {problem.message}"
    return T.ErrorMsg(T.LastErrorCode(problem.code), T.LastErrorDescription(description))


# ---- an expired session -------------------------------------------------------------------------

# What the real service answers a call whose SessionID is missing, unknown, closed or expired is not published.
# Each setting is one plausible answer (``SoapService.session_expiry``, ``PUT /__sandbox__/soap-settings``); the
# client must open a new session after any of them: code and description of ErrorMsg, or a soap:Fault (HTTP 500).
SESSION_EXPIRY_ANSWERS: dict[str, tuple[str, str] | str] = {
    "code": ("SOAP_SESSION_001", "Session is unknown or expired; open a new session"),  # ours, the default
    "dutch": ("E0004", "Sessie is verlopen of ongeldig"),
    "no_code": ("", "Uw sessie is verlopen. Log opnieuw in."),  # a description without a LastErrorCode
    "sessionid": ("ERR_AUTH", "Invalid SessionID"),
    "fault": "Server was unable to process request. ---> Session expired or invalid",  # soap:Server fault, HTTP 500
}


# ---- the operations ------------------------------------------------------------------------------


Handler = Callable[["SoapService", etree._Element], list[etree._Element]]


@dataclass(frozen=True)
class Operation:
    """One operation: its handler (the result's elements after ErrorMsg), what an error answer still holds, whether it needs a session."""

    handler: Handler
    on_error: Callable[[], list[etree._Element]] = list
    session: bool = True


class SoapService:
    """The operations on one administration."""

    def __init__(self, books: BooksState, session_expiry: str = "code") -> None:
        self.books = books
        self.session_expiry = session_expiry  # a key of SESSION_EXPIRY_ANSWERS

    def expired(self) -> ApiProblem:
        """The answer to a call without a live session, as the ``session_expiry`` knob says (SoapFault for "fault")."""
        answer = SESSION_EXPIRY_ANSWERS[self.session_expiry]
        if isinstance(answer, str):
            raise SoapFault(answer, "soap:Server")
        code, description = answer
        return ApiProblem(code, description, status=401, kind="security")

    # ---- lookups -------------------------------------------------------------------------------

    def _ledger_codes(self) -> dict[int, str]:
        """Ledger id → code."""
        return {ledger["id"]: ledger["code"] for ledger in self.books.ledgers()}

    def _ledger_id(self, code: str, problem: str, what: str) -> int | None:
        """The id of a ledger code (None when empty); ApiProblem ``problem`` when no ledger has it."""
        code = code.strip()
        if not code:
            return None
        ledger = self.books.ledger_by_code(code)
        if ledger is None:
            raise ApiProblem(problem, "Ledger not found", f"{what}: no ledger with code {code}")
        return int(ledger["id"])

    def _relation_id(self, code: str, problem: str) -> int | None:
        """The id of a relation code (None when empty); ApiProblem ``problem`` when no relation has it."""
        code = code.strip()
        if not code:
            return None
        relation = self.books.relation_by_code(code)
        if relation is None:
            raise ApiProblem(problem, "Relation not found", f"no relation with code {code}")
        return int(relation["id"])

    def _relation_codes(self) -> dict[int, str]:
        """Relation id → code."""
        return {relation["id"]: relation["code"] for relation in self.books.relations()}

    # ---- sessions ------------------------------------------------------------------------------

    def open_session(self, node: etree._Element) -> list[etree._Element]:
        """OpenSession: a SessionID for the username and both security codes."""
        session = self.books.open_soap_session(_str(node, "Username"), _str(node, "SecurityCode1"), _str(node, "SecurityCode2"))
        return [T.SessionID(session)]

    # ---- relations -----------------------------------------------------------------------------

    def get_relaties(self, node: etree._Element) -> list[etree._Element]:
        """GetRelaties: Trefwoord (substring of code, company, contact, e-mail, city), Code and ID (0: any), all given ones."""
        found = _child(node, "cFilter")
        keyword, code, wanted = _str(found, "Trefwoord").strip().casefold(), _str(found, "Code").strip().casefold(), _long(found, "ID")
        matching = [
            relation
            for relation in self.books.relations()
            if (not wanted or relation["id"] == wanted)
            and (not code or relation["code"].casefold() == code)
            and (
                not keyword
                or any(keyword in str(relation.get(k) or "").casefold() for k in ("code", "name", "contact", "emailAddress", "city"))
            )
        ]
        return [T.Relaties(*(self._relatie(relation) for relation in matching))]

    def _relatie(self, relation: dict[str, Any]) -> etree._Element:
        """One cRelatie."""
        texts = _texts((name, relation.get(field) if field else None) for name, field in RELATIE_TEXT)
        return T.cRelatie(
            T.ID(str(relation["id"])),
            T.AddDatum(_day(self.books.relation_added(relation["id"]))),
            *texts,
            T.Gb_ID("0"),
            T.GeenEmail("0"),
            T.NieuwsbriefgroepenCount("0"),
        )

    def add_relatie(self, node: etree._Element) -> list[etree._Element]:
        """AddRelatie: create a relation with the given (required, new) code → Rel_ID."""
        relation = _child(node, "oRel")
        if relation is None:
            raise ApiProblem("SOAP_REQ_001", "oRel is required")
        code = _str(relation, "Code").strip()
        if not code:
            raise ApiProblem("SOAP_REL_001", "Code is required", "AddRelatie needs the new relation's code")
        payload = {
            "type": _str(relation, "BP").strip() or "B",
            "code": code,
            "name": _str(relation, "Bedrijf").strip() or _str(relation, "Contactpersoon").strip(),
            **{field: _str(relation, name).strip() for name, field in RELATIE_TEXT if field not in (None, "type", "code", "name")},
        }
        created = self.books.create_relation(payload)
        return [T.Rel_ID(str(created["id"]))]

    # ---- ledgers -------------------------------------------------------------------------------

    def get_grootboekrekeningen(self, node: etree._Element) -> list[etree._Element]:
        """GetGrootboekrekeningen: ID (0: any), Code and Categorie, all given ones."""
        found = _child(node, "cFilter")
        wanted, code, category = _long(found, "ID"), _str(found, "Code").strip(), _str(found, "Categorie").strip().casefold()
        rows = [
            T.cGrootboekrekening(
                T.ID(str(ledger["id"])),
                *_texts(
                    (
                        ("Code", ledger["code"]),
                        ("Omschrijving", ledger["description"]),
                        ("Categorie", ledger["category"]),
                        ("Groep", ledger["group"]),
                    )
                ),
            )
            for ledger in self.books.ledgers()
            if (not wanted or ledger["id"] == wanted)
            and (not code or ledger["code"] == code)
            and (not category or ledger["category"].casefold() == category)
        ]
        return [T.Rekeningen(*rows)]

    # ---- mutations -----------------------------------------------------------------------------

    def get_mutaties(self, node: etree._Element) -> list[etree._Element]:
        """GetMutaties: MutatieNr (0: any), MutatieNrVan..MutatieNrTm, Factuurnummer (any case), DatumVan..DatumTm; the last 500 that match."""
        found = _child(node, "cFilter")
        if found is None:
            raise ApiProblem("SOAP_REQ_001", "cFilter is required", "GetMutaties needs a filter with DatumVan and DatumTm")
        number, low, high = _long(found, "MutatieNr"), _long(found, "MutatieNrVan"), _long(found, "MutatieNrTm")
        invoice, since, until = _str(found, "Factuurnummer").strip(), _date(found, "DatumVan"), _date(found, "DatumTm")
        # an invoice number matches case-insensitively, through the books' index (10,000 sales answer at once)
        candidates = self.books.mutations_numbered(invoice) if invoice else self.books.mutations()
        matching = [
            m
            for m in candidates
            if (not number or m["id"] == number)
            and (not low or m["id"] >= low)
            and (not high or m["id"] <= high)
            and since <= m["date"] <= until
        ][-MAX_MUTATIES:]
        ledgers = self._ledger_codes()
        relations = {m["relationId"]: self.books.relation_code(m["relationId"]) for m in matching if m["relationId"]}
        return [T.Mutaties(*(self._mutatie(m, ledgers, relations) for m in matching))]

    @staticmethod
    def _mutatie(m: dict[str, Any], ledgers: dict[int, str], relations: dict[int, str]) -> etree._Element:
        """One cMutatieList with its rows."""
        rows = [
            T.cMutatieListRegel(
                T.BedragInvoer(_decimal_text(row["amount"])),
                T.BedragExclBTW(_decimal_text(row["amountExclVat"])),
                T.BedragBTW(_decimal_text(row["vatAmount"])),
                T.BedragInclBTW(_decimal_text(row["amountInclVat"])),
                *_texts([("BTWCode", row["vatCode"])]),
                T.BTWPercentage(_decimal_text(VAT_CODES[row["vatCode"]].rate if row["vatCode"] in VAT_CODES else 0)),
                *_texts([("Factuurnummer", row["invoiceNumber"]), ("TegenrekeningCode", ledgers.get(row["ledgerId"] or 0, ""))]),
                T.KostenplaatsID(str(row["costCenterId"] or 0)),
            )
            for row in m["rows"]
        ]
        header = [
            ("Rekening", ledgers.get(m["ledgerId"] or 0, "")),
            ("RelatieCode", relations.get(m["relationId"] or 0, "")),
            ("Factuurnummer", m["invoiceNumber"]),
            ("Boekstuk", m["entryNumber"]),
            ("Omschrijving", m["description"]),
            ("Betalingstermijn", str(m["termOfPayment"]) if m["termOfPayment"] else ""),
            ("InExBTW", m["inExVat"]),
        ]
        return T.cMutatieList(
            T.MutatieNr(str(m["id"])), T.Soort(SOORT_NAMES[m["type"]]), T.Datum(_day(m["date"])), *_texts(header), T.MutatieRegels(*rows)
        )

    def add_mutatie(self, node: etree._Element) -> list[etree._Element]:
        """AddMutatie: book with the client's VAT amounts → Mutatienummer; a sale with a known Factuurnummer is OVERWRITTEN."""
        mutation = _child(node, "oMut")
        if mutation is None:
            raise ApiProblem("SOAP_REQ_001", "oMut is required")
        soort = _str(mutation, "Soort")
        if soort not in SOORTEN:
            raise ApiProblem("SOAP_MUT_003", "Soort is not supported", f"the sandbox does not book {soort or 'an empty Soort'}")
        kind = SOORTEN[soort]
        in_ex = _str(mutation, "InExBTW").strip().upper() or "EX"
        if in_ex not in ("IN", "EX"):
            raise ApiProblem("MUT_017", "InExVat is invalid", "InExBTW must be IN or EX")
        invoice_number = _str(mutation, "Factuurnummer").strip()
        rows = [
            self._mutatie_row(row, index, kind, in_ex, invoice_number)
            for index, row in enumerate(_children(_child(mutation, "MutatieRegels"), "cMutatieRegel"))
        ]
        payload = {
            "type": kind,
            "date": _date(mutation, "Datum"),
            "ledgerId": self._ledger_id(_str(mutation, "Rekening"), "MUT_011", "Rekening"),
            "relationId": self._relation_id(_str(mutation, "RelatieCode"), "MUT_013"),
            "invoiceNumber": invoice_number,
            "entryNumber": _str(mutation, "Boekstuk"),
            "description": _str(mutation, "Omschrijving"),
            "termOfPayment": _str(mutation, "Betalingstermijn").strip(),
            "paymentReference": _str(mutation, "Betalingskenmerk"),
            "inExVat": in_ex,
            "rows": rows,
        }
        created = self.books.create_mutation(payload, given_vat=True, overwrite_sales=True)
        return [T.Mutatienummer(str(created["id"]))]

    def _mutatie_row(self, row: etree._Element, index: int, kind: int, in_ex: str, invoice_number: str) -> dict[str, Any]:
        """A cMutatieRegel as a books row; its amounts must add up (SOAP_MUT_001/002). Payments pay oMut.Factuurnummer."""
        invoer, excl, vat, incl = (cents(_decimal(row, name)) for name in ("BedragInvoer", "BedragExclBTW", "BedragBTW", "BedragInclBTW"))
        if excl + vat != incl:
            raise ApiProblem(
                "SOAP_MUT_001",
                "Amounts do not add up",
                f"row {index + 1}: BedragExclBTW {excl} + BedragBTW {vat} is not BedragInclBTW {incl}",
            )
        if invoer != (incl if in_ex == "IN" else excl):
            expected = "BedragInclBTW" if in_ex == "IN" else "BedragExclBTW"
            raise ApiProblem(
                "SOAP_MUT_002",
                "BedragInvoer does not match InExBTW",
                f"row {index + 1}: with InExBTW {in_ex} BedragInvoer {invoer} must be {expected}",
            )
        cost_center = _long(row, "KostenplaatsID")
        return {
            "ledgerId": self._ledger_id(_str(row, "TegenrekeningCode"), "MUT_104", f"row {index + 1} TegenrekeningCode"),
            "vatCode": _str(row, "BTWCode").strip(),
            "amount": invoer,
            "vatAmount": vat,
            "invoiceNumber": invoice_number if kind in (3, 4) else "",
            "costCenterId": cost_center or None,
        }

    # ---- outstanding items ---------------------------------------------------------------------

    def get_open_posten(self, node: etree._Element) -> list[etree._Element]:
        """GetOpenPosten: every open debtor (Debiteuren) or creditor (Crediteuren) item."""
        items = self.books.outstanding(OPEN_POST_SOORTEN[_str(node, "OpSoort")])
        posts = [
            T.cOpenPost(
                T.MutDatum(_day(item["date"])),
                *_texts((("MutFactuur", item["invoiceNumber"]), ("RelCode", item["relationCode"]), ("RelBedrijf", item["company"]))),
                T.Bedrag(_double_text(item["totalAmount"])),
                T.Voldaan(_double_text(item["paidAmount"])),
                T.Openstaand(_double_text(item["outstandingAmount"])),
            )
            for item in items
        ]
        return [T.Openposten(*posts)]

    # ---- invoices ------------------------------------------------------------------------------

    def add_factuur(self, node: etree._Element) -> list[etree._Element]:
        """AddFactuur: an invoice on the template named Factuursjabloon, prices excl. VAT → Factuurnummer (InBoekhoudingPlaatsen: booked)"""
        invoice = _child(node, "oFact")
        if invoice is None:
            raise ApiProblem("SOAP_REQ_001", "oFact is required")
        items = [
            {
                "quantity": _decimal(row, "Aantal"),
                "code": _str(row, "Code"),
                "description": _str(row, "Omschrijving"),
                "pricePerUnit": _decimal(row, "PrijsPerEenheid"),
                "vatCode": _str(row, "BTWCode").strip(),
                "ledgerId": self._ledger_id(_str(row, "TegenrekeningCode"), "FACT_008", f"row {index + 1} TegenrekeningCode"),
            }
            for index, row in enumerate(_children(_child(invoice, "Regels"), "cFactuurRegel"))
        ]
        payload: dict[str, Any] = {
            "relationId": self._relation_id(_str(invoice, "Relatiecode"), "FACT_002"),
            "date": _date(invoice, "Datum"),
            "termOfPayment": _long(invoice, "Betalingstermijn"),
            "templateId": self._template_id(_str(invoice, "Factuursjabloon")),
            "inExVat": "EX",
            "invoiceNumber": _str(invoice, "Factuurnummer").strip() or None,
            "items": items,
        }
        if _bool(invoice, "InBoekhoudingPlaatsen"):
            debtors = next((ledger for ledger in self.books.ledgers() if ledger["category"] == "DEB"), None)
            payload["mutation"] = {
                "ledgerId": debtors["id"] if debtors else None,
                "description": _str(invoice, "BoekhoudmutatieOmschrijving"),
            }
        created = self.books.create_invoice(payload)
        return [T.Factuurnummer(created["invoiceNumber"])]

    def _template_id(self, name: str) -> int:
        """The id of the invoice template with this name (FACT_017 none given, FACT_018 none has it)."""
        name = name.strip()
        if not name:
            raise ApiProblem("FACT_017", "Template is required", "Factuursjabloon names the invoice template")
        template = next((t for t in self.books.templates() if t["name"].casefold() == name.casefold()), None)
        if template is None:
            raise ApiProblem("FACT_018", "Template not found", f"no invoice template named {name!r}")
        return int(template["id"])

    def get_facturen(self, node: etree._Element) -> list[etree._Element]:
        """GetFacturen: Factuurnummer, Relatiecode, DatumVan..DatumTm."""
        found = _child(node, "cFilter")
        if found is None:
            raise ApiProblem("SOAP_REQ_001", "cFilter is required", "GetFacturen needs a filter with DatumVan and DatumTm")
        number, code = _str(found, "Factuurnummer").strip().casefold(), _str(found, "Relatiecode").strip().casefold()
        since, until = _date(found, "DatumVan"), _date(found, "DatumTm")
        relations, ledgers = self._relation_codes(), self._ledger_codes()
        outstanding = {item["mutationId"]: item["outstandingAmount"] for item in self.books.outstanding("D")}
        matching = [
            invoice
            for invoice in self.books.invoices()
            if (not number or invoice["invoiceNumber"].casefold() == number)
            and (not code or relations.get(invoice["relationId"], "").casefold() == code)
            and since <= invoice["date"] <= until
        ]
        return [T.Facturen(*(self._factuur(invoice, relations, ledgers, outstanding) for invoice in matching))]

    @staticmethod
    def _factuur(
        invoice: dict[str, Any], relations: dict[int, str], ledgers: dict[int, str], outstanding: dict[int, Decimal]
    ) -> etree._Element:
        """One cFactuurList (open amount: the booked sale's outstanding amount, the total when not booked)."""
        open_amount = outstanding.get(invoice["mutationId"], Decimal(0)) if invoice["mutationId"] else invoice["totalInclVat"]
        code = T.Relatiecode(relations.get(invoice["relationId"], ""))  # untyped (anyType) in the schema: plain text
        rows = [
            T.cFactuurRegel(
                T.Aantal(_double_text(item["quantity"])),
                *_texts((("Code", item["code"]), ("Omschrijving", item["description"]))),
                T.PrijsPerEenheid(_double_text(item["pricePerUnit"])),
                *_texts((("BTWCode", item["vatCode"]), ("TegenrekeningCode", ledgers.get(item["ledgerId"] or 0, "")))),
                T.KostenplaatsID("0"),
            )
            for item in invoice["items"]
        ]
        return T.cFactuurList(
            T.Factuurnummer(invoice["invoiceNumber"]),
            code,
            T.Datum(_day(invoice["date"])),
            T.Betalingstermijn(str(invoice["termOfPayment"])),
            T.TotaalExclBTW(_double_text(invoice["totalExclVat"])),
            T.TotaalBTW(_double_text(invoice["totalVat"])),
            T.TotaalInclBTW(_double_text(invoice["totalInclVat"])),
            T.TotaalOpenstaand(_double_text(open_amount)),
            T.Regels(*rows),
        )

    # ---- dispatch ------------------------------------------------------------------------------

    def answer(self, name: str, node: etree._Element) -> etree._Element:
        """The <Name>Response element for an operation element that fits the schema."""
        if name == "CloseSession":
            self.books.close_soap_session(_str(node, "SessionID"))
            return T.CloseSessionResponse()
        operation = OPERATIONS[name]
        problem: ApiProblem | None = None
        try:
            if operation.session:
                try:
                    self.books.check_soap_session(_str(node, "SessionID"), _str(node, "SecurityCode2"))
                except ApiProblem as error:
                    raise (self.expired() if error.code == "SOAP_SESSION_001" else error) from None
            content = operation.handler(self, node)
        except ApiProblem as error:
            problem, content = error, operation.on_error()
        return T(f"{name}Response", T(f"{name}Result", _error_msg(problem), *content))


OPERATIONS: dict[str, Operation] = {
    "OpenSession": Operation(SoapService.open_session, session=False),
    "CloseSession": Operation(lambda service, node: [], session=False),
    "GetRelaties": Operation(SoapService.get_relaties),
    "AddRelatie": Operation(SoapService.add_relatie, lambda: [T.Rel_ID("0")]),
    "GetGrootboekrekeningen": Operation(SoapService.get_grootboekrekeningen),
    "GetMutaties": Operation(SoapService.get_mutaties),
    "AddMutatie": Operation(SoapService.add_mutatie, lambda: [T.Mutatienummer("0")]),
    "GetOpenPosten": Operation(SoapService.get_open_posten),
    "AddFactuur": Operation(SoapService.add_factuur),
    "GetFacturen": Operation(SoapService.get_facturen),
}


# ---- the app -------------------------------------------------------------------------------------


def _xml(content: bytes, status: int = 200) -> Response:
    """An XML answer."""
    return Response(content, status_code=status, media_type=XML_TYPE)


def _operation_element(raw: bytes, action: str) -> tuple[str, etree._Element]:
    """The operation's name and element from a SOAP 1.1 request (SoapFault when it is not one)."""
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as error:
        raise SoapFault(f"Server was unable to read request. ---> {error}") from None
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise SoapFault(
            "The sandbox answers SOAP 1.1 only (soap:Envelope of http://schemas.xmlsoap.org/soap/envelope/)", "soap:VersionMismatch"
        )
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("Server was unable to read request. ---> The root element is not a SOAP 1.1 Envelope")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    node = next((child for child in (body if body is not None else []) if isinstance(child.tag, str)), None)
    if node is None:
        raise SoapFault("Server was unable to read request. ---> The SOAP Body is empty")
    qname = etree.QName(node)
    if qname.namespace != NS or qname.localname not in OPERATIONS:
        raise SoapFault(f"Server did not recognize the value of HTTP Header SOAPAction: {action or qname.localname}.")
    if action and action != ACTION_PREFIX + qname.localname:
        raise SoapFault(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.")
    return qname.localname, node


def _help_page() -> str:
    """What GET /soap.asmx shows: the operations and where the WSDL is."""
    items = "".join(f"<li>{name}</li>" for name in sorted(OPERATIONS))
    return (
        "<html><head><title>soapApp</title></head><body><h1>soapApp (sandbox)</h1>"
        f"<ul>{items}</ul><p><a href='?wsdl'>Service description</a></p></body></html>"
    )


def _soap_admin_router(books: BooksState, service: SoapService) -> APIRouter:
    """SOAP-only admin routes."""
    router = APIRouter(prefix="/__sandbox__")

    @router.put("/soap-settings")
    async def settings(request: Request) -> Response:
        """{"session_expiry": "code" | "dutch" | "no_code" | "sessionid" | "fault"}: the answer to an expired session."""
        try:
            body = parse_json(await request.body()) or {}
            answer = body.get("session_expiry", service.session_expiry)
            if set(body) - {"session_expiry"} or answer not in SESSION_EXPIRY_ANSWERS:
                raise ValueError(f"session_expiry must be one of {', '.join(SESSION_EXPIRY_ANSWERS)}")
        except ValueError as error:
            return ExactJSONResponse({"error": str(error)}, status_code=400)
        service.session_expiry = answer
        return ExactJSONResponse({"session_expiry": service.session_expiry})

    @router.get("/overwrites")
    def overwrites() -> Response:
        """Every sale the SOAP API overwrote (AddMutatie with a known Factuurnummer)."""
        return ExactJSONResponse(list(books.overwrites))

    return router


def create_soap_app(books: BooksState, faults: FaultInjector | None = None, wsdl: Path | None = None) -> FastAPI:
    """The e-Boekhouden SOAP emulator for an administration (shared with the REST emulator), with faults and admin routes."""
    faults = faults or FaultInjector()
    path = wsdl or wsdl_file()
    contract = Contract.load(path) if path else None
    if contract is None:
        logger.warning("e-Boekhouden SOAP emulator: WSDL not found (set %s); /soap.asmx answers faults", WSDL_ENV)
    service = SoapService(books)
    app = FastAPI(title="e-Boekhouden SOAP API (sandbox)", docs_url=None, redoc_url=None, openapi_url=None)
    install_middleware(
        app, books.soap_stats, faults, soap_error_body, lambda key: key, request_path=soap_request_path, error_content_type=XML_TYPE
    )

    @app.get(SOAP_PATH)
    def describe(request: Request) -> Response:
        """?wsdl: the WSDL with this server's address; otherwise a help page."""
        if not any(key.lower() == "wsdl" for key in request.query_params):
            return Response(_help_page(), media_type="text/html; charset=utf-8")
        if contract is None:
            return Response(f"WSDL not found; set {WSDL_ENV}", status_code=503, media_type="text/plain")
        return _xml(contract.served(str(request.base_url)).encode())

    @app.post(SOAP_PATH)
    async def call(request: Request) -> Response:
        """One SOAP 1.1 call."""
        try:
            raw = await request.body()
        except ClientDisconnect:  # the client gave up (a timeout fault held the request): nobody to answer
            return Response(status_code=499)
        try:
            if contract is None:
                raise SoapFault(f"Server was unable to process request. ---> WSDL not found; set {WSDL_ENV}", "soap:Server")
            name, node = _operation_element(raw, request.headers.get("soapaction", "").strip().strip('"'))
            contract.validate(node)
            return _xml(envelope(service.answer(name, node)))
        except SoapFault as fault:
            return _xml(fault_envelope(str(fault), fault.code), 500)
        except Exception as error:  # the .asmx answer to an unexpected server error
            logger.exception("e-Boekhouden SOAP emulator failed")
            return _xml(fault_envelope(f"Server was unable to process request. ---> {error}"), 500)

    app.include_router(admin_router(books.soap_stats, faults))
    app.include_router(_books_admin_router(books))
    app.include_router(_soap_admin_router(books, service))
    app.state.books = books
    app.state.service = service
    app.state.faults = faults
    return app
