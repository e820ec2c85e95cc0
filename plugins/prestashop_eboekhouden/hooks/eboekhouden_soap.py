"""EBoekhoudenSoapHook: the legacy e-Boekhouden SOAP API, for administrations registered before 2025-03-14.

Connection ``eboekhouden_<tenant>``: host = ``https://soap.e-boekhouden.nl``, extra
``{"api": "soap", "username": ..., "security_code_1": ..., "security_code_2": ..., "source": ...}``
(the security codes may also sit in the password field: code 2, and login: username). The WSDL is the
hand-written ``eboekhouden_soap.wsdl`` beside this file (no network at run time); its address is replaced
by the connection's host.

It offers the booking code the same interface as the REST hook (:class:`BookkeepingApi`, REST-shaped
payloads in and out) and translates: ledger ids ↔ codes, relation ids ↔ codes, mutation types ↔ Soort,
and the VAT of each row, which the SOAP API wants from the client (computed the way e-Boekhouden's REST
API computes it, so both backends book the same amounts).

The legacy hazard: AddMutatie with an invoice number that exists *overwrites* that mutation. This hook
looks the number up (GetMutaties) before every AddMutatie of a sale and refuses with a duplicate-number
error instead, so the booking code adopts its own booking or reports the clash — it never overwrites.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from lxml import etree

from prestashop_eboekhouden.contract.eboekhouden import MutationType, meaning_of
from prestashop_eboekhouden.domain.errors import ConfigurationProblem
from prestashop_eboekhouden.domain.money import to_cents
from prestashop_eboekhouden.domain.payloads import SALE, can_be_invoice_number, vat_split
from prestashop_eboekhouden.domain.relations import normalize_email
from prestashop_eboekhouden.hooks.base import AmbiguousWrite, ApiError, TransientError, _Retryable
from prestashop_eboekhouden.hooks.eboekhouden_base import DEFAULT_SOURCE, EBoekhoudenBase
from prestashop_eboekhouden.hooks.eboekhouden_reconcile import SoapReconciling
from prestashop_eboekhouden.hooks.protocol import BULK_THRESHOLD, DUPLICATE_NUMBER, RELATION_GONE, SESSION_EXPIRED, FoundPayment, FoundSale
from prestashop_eboekhouden.hooks.soap_values import SOORT_TYPES, SOORTEN, lookup_window
from prestashop_eboekhouden.hooks.soap_values import at as _at
from prestashop_eboekhouden.hooks.soap_values import day as _day
from prestashop_eboekhouden.hooks.soap_values import items as _items
from prestashop_eboekhouden.masking import mask

WSDL = Path(__file__).with_name("eboekhouden_soap.wsdl")
NS = "http://www.e-boekhouden.nl/soap"
BINDING = f"{{{NS}}}soapAppSoap"
ENDPOINT = "soap.asmx"
# A session is renewed well before e-Boekhouden could expire it (connection extra "session_max_age", seconds) and
# after any answer whose error text speaks of the session: the real expiry answer is not published.
SESSION_MAX_AGE = 15 * 60.0
SESSION_TEXT = re.compile(r"sessi(?:on|e)", re.IGNORECASE)  # Session, SessionID, sessie
WRITES = frozenset({"AddRelatie", "AddMutatie", "AddFactuur"})
# SOAP error codes (LastErrorCode) that mean something to the booking code; the codes the SOAP API shares
# with the REST API (REL_049, MUT_013, ...) mean what they mean there (contract.eboekhouden.OUTCOMES).
SOAP_MEANINGS = {"SOAP_SESSION_001": SESSION_EXPIRED}


class SessionFault(TransientError):
    """A soap:Fault (HTTP 500) whose text speaks of the session: open a new one and repeat the call."""


def _session_fault(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """requests response hook: a soap:Fault about the session becomes SessionFault (not a 500 to retry as is)."""
    if response.status_code < 500 or b"Fault" not in response.content[:4096]:
        return
    try:
        text = " ".join(etree.fromstring(response.content).xpath("//*[local-name()='Fault']/faultstring/text()"))
    except (etree.XMLSyntaxError, ValueError):
        return
    if SESSION_TEXT.search(text):
        raise SessionFault(f"e-Boekhouden SOAP answered a fault about the session: {text[:200]}")


@functools.cache
def soap_client() -> Any:
    """The zeep client of the repo's WSDL (parsed once per process; strict parsing of every answer)."""
    import zeep

    settings = zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return zeep.Client(str(WSDL), settings=settings)


def _money(value: Any) -> Decimal:
    """A SOAP amount (decimal, or a double in the open-items list) as exact cents."""
    return to_cents(Decimal(str(value or 0)))


class _Relations:
    """Relations over the SOAP API: GetRelaties answers codes, not ids; both are kept per hook so a sale can name its debtor by id as the REST shapes do."""

    _cache_lock: threading.Lock
    _codes_by_relation: dict[int, str]
    _relations_by_code: dict[str, int]
    _lookups: int
    if TYPE_CHECKING:  # provided by the hook

        def call(self, operation: str, **fields: Any) -> dict[str, Any]: ...

    def _relation(self, item: dict) -> dict:
        relation: dict[str, Any] = {
            "id": int(item["ID"]), "code": str(item.get("Code") or ""), "emailAddress": str(item.get("Email") or ""),
            "name": str(item.get("Bedrijf") or item.get("Contactpersoon") or ""), "type": str(item.get("BP") or ""),
        }  # fmt: skip
        with self._cache_lock:
            self._codes_by_relation[relation["id"]] = relation["code"]
            self._relations_by_code[relation["code"]] = relation["id"]
        return relation

    def _relations(self, *, keyword: str | None = None, code: str | None = None, relation_id: int = 0) -> list[dict]:
        result = self.call("GetRelaties", cFilter={"Trefwoord": keyword, "Code": code, "ID": relation_id})
        return [self._relation(item) for item in _items(result, "Relaties", "cRelatie")]

    def relation_by_email(self, email: str) -> dict | None:
        """The relation with this e-mail address (keyword search, then an exact, case-insensitive match)."""
        wanted = normalize_email(email)
        return next((r for r in self._relations(keyword=email.strip()) if normalize_email(r["emailAddress"]) == wanted), None)

    def relation_codes_like(self, base: str) -> list[str]:
        """Codes that start with a base (KlaartjePi, KlaartjePi1, ...)."""
        return [r["code"] for r in self._relations(keyword=base) if r["code"].casefold().startswith(base.casefold())]

    def relation_by_code(self, code: str) -> dict | None:
        """The relation with exactly this code (codes compare without regard to case, as in the REST hook)."""
        wanted = code.strip().casefold()
        return next((r for r in self._relations(code=code) if r["code"].strip().casefold() == wanted), None)

    def relations(self) -> Iterator[dict]:
        """Every relation of the administration."""
        return iter(self._relations())

    def _relation_code(self, relation_id: Any) -> str | None:
        """The code of a relation id (the SOAP API books by code); RELATION_GONE when e-Boekhouden does not have it.

        The first few unknown ids are looked up one by one; after BULK_THRESHOLD of them one listing of all
        relations is cheaper than a request per returning customer."""
        if relation_id is None:
            return None
        relation_id = int(relation_id)
        if relation_id not in self._codes_by_relation:
            with self._cache_lock:
                self._lookups += 1
                bulk = self._lookups == BULK_THRESHOLD
            if bulk:
                self._relations()
            if relation_id not in self._codes_by_relation:
                self._relations(relation_id=relation_id)
        if relation_id not in self._codes_by_relation:
            raise ApiError(404, "RELATION_GONE", f"Relation {relation_id} does not exist in e-Boekhouden", meaning=RELATION_GONE)
        return self._codes_by_relation[relation_id]

    def _relation_id(self, code: str, known: dict[str, int] | None = None) -> int | None:
        """The id of a relation code (from a full listing when given)."""
        if known is not None and code in known:
            return known[code]
        if code not in self._relations_by_code:
            self._relations(code=code)
        return self._relations_by_code.get(code)

    def create_relation(self, payload: dict) -> dict:
        """AddRelatie from a REST-shaped relation → {id, code}."""
        relation = {
            "ID": 0, "AddDatum": _at(dt.date.today()), "Code": payload.get("code"), "Bedrijf": payload.get("name"),
            "Contactpersoon": payload.get("contact"), "Adres": payload.get("address"), "Postcode": payload.get("postalCode"),
            "Plaats": payload.get("city"), "Land": payload.get("country"), "Telefoon": payload.get("phoneNumber"),
            "Email": payload.get("emailAddress"), "BTWNummer": payload.get("vatNumber"), "BP": payload.get("type", "B"),
            "Gb_ID": 0, "GeenEmail": 0, "NieuwsbriefgroepenCount": 0,
        }  # fmt: skip
        result = self.call("AddRelatie", oRel=relation)
        created = self._relation({"ID": result["Rel_ID"], "Code": payload.get("code"), "Email": payload.get("emailAddress")})
        return {"id": created["id"], "code": created["code"]}


class _Invoices:
    """Invoices over the SOAP API (GetFacturen / AddFactuur), in the REST API's shapes."""

    _templates: dict[int, str]
    if TYPE_CHECKING:  # provided by the hook

        def call(self, operation: str, **fields: Any) -> dict[str, Any]: ...
        def _relation_code(self, relation_id: Any) -> str | None: ...
        def _ledger_code(self, ledger_id: Any) -> str | None: ...

    def invoices(self, **filters: Any) -> list[dict]:
        """GetFacturen by invoiceNumber / relationId / date."""
        day = filters.get("date")
        relation_id = filters.get("relationId")
        since, until = (_at(day), _at(day)) if day else lookup_window()
        result = self.call(
            "GetFacturen",
            cFilter={
                "Factuurnummer": filters.get("invoiceNumber"), "Relatiecode": self._relation_code(relation_id) if relation_id else None,
                "DatumVan": since, "DatumTm": until,
            },
        )  # fmt: skip
        return [
            {
                "id": None, "invoiceNumber": str(item.get("Factuurnummer") or ""), "relationCode": str(item.get("Relatiecode") or ""),
                "date": _day(item.get("Datum")), "totalInclVat": _money(item.get("TotaalInclBTW")),
            }  # fmt: skip
            for item in _items(result, "Facturen", "cFactuurList")
        ]

    def create_invoice(self, payload: dict) -> dict:
        """AddFactuur from a REST-shaped invoice (lines incl VAT) → {id: None, invoiceNumber}."""
        number = str(payload.get("invoiceNumber") or "")
        if not can_be_invoice_number(number):
            raise ConfigurationProblem(
                f"Sales number {payload.get('reference')} cannot be an e-Boekhouden invoice number (it must end in a digit): "
                "with the legacy SOAP API set eboekhouden.sales_number to id or invoice_number, or book as mutation"
            )
        lines = []
        for item in payload.get("items") or []:
            rate = vat_split(Decimal(0), str(item["vatCode"]))[3] if item.get("vatCode") else Decimal(0)
            price_excl = (Decimal(item["pricePerUnit"]) * 100 / (100 + rate)).quantize(Decimal("0.000001"))
            lines.append(
                {
                    "Aantal": Decimal(item["quantity"]), "Eenheid": None, "Code": item.get("code"), "Omschrijving": item.get("description"),
                    "PrijsPerEenheid": price_excl, "BTWCode": item.get("vatCode"), "TegenrekeningCode": self._ledger_code(item.get("ledgerId")),
                    "KostenplaatsID": 0,
                }  # fmt: skip
            )
        booking = payload.get("mutation")
        invoice = {
            "Factuurnummer": number, "Relatiecode": self._relation_code(payload["relationId"]), "Datum": _at(payload["date"]),
            "Betalingstermijn": int(payload["termOfPayment"]), "Factuursjabloon": self._templates.get(int(payload["templateId"])),
            "PerEmailVerzenden": False, "AutomatischeIncasso": False, "IncassoMachtigingDatumOndertekening": _at(payload["date"]),
            "IncassoMachtigingFirst": False, "InBoekhoudingPlaatsen": booking is not None,
            "BoekhoudmutatieOmschrijving": (booking or {}).get("description"), "Regels": {"cFactuurRegel": lines},
        }  # fmt: skip
        result = self.call("AddFactuur", oFact=invoice)
        return {"id": None, "invoiceNumber": str(result.get("Factuurnummer") or number)}


class EBoekhoudenSoapHook(SoapReconciling, _Relations, _Invoices, EBoekhoudenBase):
    """One administration over the legacy SOAP API; one session per hook (OpenSession … CloseSession)."""

    conn_name_attr = "eboekhouden_conn_id"
    default_conn_name = "eboekhouden_default"
    conn_type = "eboekhouden"  # same connection type as the REST hook: extra api=soap picks this one
    hook_name = "e-Boekhouden SOAP API (legacy)"
    api_name = "e-Boekhouden SOAP"
    credentials_name = "username or security codes"
    credentials_help = (
        "find them under Administration > Settings > Webshop Invoices (security codes 1 and 2) and put them in the connection's extra"
    )

    page_size = sys.maxsize  # a SOAP listing (GetOpenPosten, GetRelaties) answers everything in one call

    def __init__(
        self, eboekhouden_conn_id: str = default_conn_name, *, session_max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic, **kwargs: Any,
    ):  # fmt: skip
        super().__init__(eboekhouden_conn_id, clock=clock, **kwargs)
        self._session_max_age = session_max_age
        self._code2: str | None = None
        self._codes_by_relation: dict[int, str] = {}
        self._relations_by_code: dict[str, int] = {}
        self._lookups = 0
        self._open_items: list[dict] | None = None
        self._templates: dict[int, str] = {}
        self._cache_lock = threading.Lock()

    # ---- session -------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str, str, str]:
        """Username, security codes 1 and 2, and source from the connection (the codes are masked in logs)."""
        connection = self.get_connection(self.conn_id)
        extra = connection.extra_dejson or {}
        username = str(extra.get("username") or connection.login or "")
        code1 = str(extra.get("security_code_1") or "")
        code2 = str(extra.get("security_code_2") or connection.password or "")
        for secret in (code1, code2):
            if secret:
                mask(secret)
        missing = [name for name, value in (("username", username), ("security_code_1", code1), ("security_code_2", code2)) if not value]
        if missing:
            raise ConfigurationProblem(f"Connection {self.conn_id} (legacy SOAP API) lacks {', '.join(missing)} in its extra")
        return username, code1, code2, str(extra.get("source") or DEFAULT_SOURCE)[:10]

    def _open_session(self) -> str:
        username, code1, code2, source = self._credentials()
        result = self._send("OpenSession", {"Username": username, "SecurityCode1": code1, "SecurityCode2": code2, "Source": source})
        error = self._error_of(result)
        if error is not None:
            raise self._refused_credentials(error)
        session_id = str(result.get("SessionID") or "")
        if not session_id:
            raise TransientError("e-Boekhouden SOAP OpenSession answered without a session id")
        mask(session_id)
        self._code2 = code2
        return session_id

    @property
    def session_max_age(self) -> float:
        """Seconds after which a session is replaced (kwarg, else connection extra "session_max_age", else 15 minutes)."""
        if self._session_max_age is None:
            value = (self.get_connection(self.conn_id).extra_dejson or {}).get("session_max_age")
            try:
                self._session_max_age = float(value) if value not in (None, "") else SESSION_MAX_AGE
            except (TypeError, ValueError):
                raise ConfigurationProblem(f"Connection {self.conn_id}: extra session_max_age must be a number of seconds, not {value!r}") from None
            if self._session_max_age <= 0:
                raise ConfigurationProblem(f"Connection {self.conn_id}: extra session_max_age must be more than 0 seconds")
        return self._session_max_age

    def _configure_auth(self, session: requests.Session) -> None:
        """Read soap:Faults about the session before the retry rules do."""
        session.hooks["response"].append(_session_fault)

    def _session(self) -> tuple[str, str]:
        """The session id (opened on first use, replaced once it is session_max_age old) and security code 2."""
        session_id = self._current_session()
        assert self._code2 is not None
        return session_id, self._code2

    def _revoke(self, session_id: str) -> None:
        """CloseSession of one session id, best effort."""
        try:
            self._send("CloseSession", {"SessionID": session_id})
        except (TransientError, ApiError, requests.RequestException):
            self.log.warning("Could not close the e-Boekhouden SOAP session; it expires by itself")

    # ---- the wire ------------------------------------------------------------------------------

    def _decode(self, response: requests.Response, url: str) -> Any:
        """Keep the raw answer for zeep; an answer that is not well-formed XML is retried like garbage JSON."""
        try:
            etree.fromstring(response.content)
        except (etree.XMLSyntaxError, ValueError):
            kind = response.headers.get("Content-Type", "unknown content")
            raise _Retryable(f"{self.api_name} answered {url} with no valid XML ({kind}, {len(response.content)} bytes)") from None
        return response

    def _send(self, operation: str, fields: dict) -> dict:
        """One SOAP call with the retry rules of ApiHook (writes are never blindly repeated); the answer as dicts."""
        from zeep.exceptions import Error as ZeepError
        from zeep.helpers import serialize_object

        client = soap_client()
        binding = client.wsdl.bindings[BINDING]
        envelope = client.create_message(client.service, operation, **fields)
        response = self.request(
            "POST", ENDPOINT, body=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}/{operation}"'},
            idempotent=operation not in WRITES, resource=f"soap/{operation}",
        )
        try:
            result = binding.process_reply(client, binding.get(operation), response)
        except ZeepError as exc:
            text = f"{self.api_name} answered {operation} with a reply that does not fit its WSDL ({type(exc).__name__})"
            raise (AmbiguousWrite(text) if operation in WRITES else TransientError(text)) from None
        return serialize_object(result, dict) or {}

    def _error_of(self, result: dict) -> ApiError | None:
        """ErrorMsg of an answer as ApiError (e-Boekhouden's code and description), None when it is empty."""
        error = result.get("ErrorMsg") or {}
        code = str(error.get("LastErrorCode") or "").strip()
        description = str(error.get("LastErrorDescription") or "").strip()
        if not (code or description):
            return None
        meaning = SOAP_MEANINGS.get(code) or meaning_of(code)
        if meaning is None and SESSION_TEXT.search(f"{code} {description}"):
            meaning = SESSION_EXPIRED  # the real expiry answer is unknown: any error that speaks of the session
        return ApiError(200, code or "SOAP_ERROR", description, meaning=meaning)

    def call(self, operation: str, **fields: Any) -> dict:
        """An operation in the session; after an answer about the session it is renewed once and the call repeated.

        Repeating a write then is safe: e-Boekhouden refused it for its session, it did not book it."""
        for renewed in (False, True):
            session_id, code2 = self._session()
            try:
                result = self._send(operation, {"SessionID": session_id, "SecurityCode2": code2, **fields})
                error = self._error_of(result)
            except SessionFault as fault:
                if renewed:
                    raise
                error = ApiError(500, "SOAP_FAULT", str(fault), meaning=SESSION_EXPIRED)
            if error is None:
                return result
            if error.meaning == SESSION_EXPIRED and not renewed:
                self.log.info("e-Boekhouden SOAP: %s; opening a new session", error.reason)
                self._forget_session(session_id)
                continue
            raise error
        raise AssertionError("unreachable")

    # ---- ledgers and templates -----------------------------------------------------------------

    def ledgers(self) -> dict[str, dict]:
        """Ledger code → ledger ({id, code, description, category}), read once per hook."""
        if self._ledgers is None:
            result = self.call("GetGrootboekrekeningen", cFilter={"ID": 0, "Code": None, "Categorie": None})
            self._ledgers = {
                str(item["Code"]): {"id": int(item["ID"]), "code": str(item["Code"]), "description": item.get("Omschrijving") or "", "category": item.get("Categorie") or ""}
                for item in _items(result, "Rekeningen", "cGrootboekrekening")
            }
        return self._ledgers

    def _ledger_code(self, ledger_id: Any) -> str | None:
        """The code of a ledger id (the SOAP API addresses ledgers by code)."""
        if ledger_id is None:
            return None
        for code, ledger in self.ledgers().items():
            if ledger["id"] == int(ledger_id):
                return code
        raise ConfigurationProblem(f"Ledger id {ledger_id} does not exist in e-Boekhouden")

    def invoice_template_id(self, name: str) -> int:
        """A local id for a template name: the SOAP API takes the name itself (and refuses an unknown one)."""
        with self._cache_lock:
            for template_id, known in self._templates.items():
                if known == name:
                    return template_id
            template_id = len(self._templates) + 1
            self._templates[template_id] = name
            return template_id

    # ---- relations -----------------------------------------------------------------------------

    # ---- mutations -----------------------------------------------------------------------------

    def _mutation(self, item: dict) -> dict:
        rows = _items(item, "MutatieRegels", "cMutatieListRegel")
        return {
            "id": int(item["MutatieNr"]), "type": SOORT_TYPES.get(str(item.get("Soort")), 0), "date": _day(item.get("Datum")),
            "invoiceNumber": str(item.get("Factuurnummer") or ""), "entryNumber": str(item.get("Boekstuk") or ""),
            "description": str(item.get("Omschrijving") or ""), "relationCode": str(item.get("RelatieCode") or ""),
            "amount": sum((_money(row.get("BedragInclBTW")) for row in rows), Decimal("0.00")),
        }  # fmt: skip

    def mutations_by_invoice_number(self, invoice_number: str, mutation_type: int | None = None, around: dt.date | str | None = None) -> list[dict]:
        """GetMutaties by invoice number (the exactly-once lookup), dated around ``around`` (the order date) when given."""
        since, until = lookup_window(around)
        result = self.call("GetMutaties", cFilter={"MutatieNr": 0, "Factuurnummer": invoice_number, "DatumVan": since, "DatumTm": until})
        found = [self._mutation(item) for item in _items(result, "Mutaties", "cMutatieList")]
        return [m for m in found if m["invoiceNumber"] == invoice_number and (mutation_type is None or m["type"] == mutation_type)]

    def sales_by_number(self, sales_number: str, around: dt.date | None = None) -> list[FoundSale]:
        """The sales under a number: GetMutaties answers them whole (relation code and date), dated around the sale."""
        return [
            {"id": m["id"], "date": m["date"], "relationCode": m["relationCode"]}
            for m in self.mutations_by_invoice_number(sales_number, SALE, around)
        ]

    def payments_by_number(self, sales_number: str) -> list[FoundPayment]:
        """The payments under a number, with the amount of their rows as GetMutaties gives it."""
        return [
            {"id": m["id"], "entryNumber": m["entryNumber"], "amount": m["amount"]}
            for m in self.mutations_by_invoice_number(sales_number, int(MutationType.PAYMENT_RECEIVED))
        ]

    def _row(self, row: dict, in_ex: str) -> dict:
        """A REST row as a cMutatieRegel, with the VAT e-Boekhouden would compute for it."""
        try:
            excl, vat, incl, rate = vat_split(Decimal(row["amount"]), str(row.get("vatCode") or "GEEN"), in_ex)
        except KeyError:
            raise ApiError(400, "VAT_CODE", f"VAT code {row.get('vatCode')} is not a sales VAT code this integration can book over the SOAP API") from None
        return {
            "BedragInvoer": Decimal(row["amount"]), "BedragExclBTW": excl, "BedragBTW": vat, "BedragInclBTW": incl,
            "BTWCode": row.get("vatCode") or "GEEN", "BTWPercentage": rate, "TegenrekeningCode": self._ledger_code(row.get("ledgerId")),
            "KostenplaatsID": 0,
        }  # fmt: skip

    def create_mutation(self, payload: dict) -> dict:
        """AddMutatie from a REST-shaped mutation → {id}; a sale whose number exists is refused, never overwritten."""
        kind, number = int(payload["type"]), str(payload.get("invoiceNumber") or "")
        if kind == SALE and number and self.mutations_by_invoice_number(number, SALE, around=payload["date"]):
            raise ApiError(
                409, "NUMBER_EXISTS", f"Invoice number {number} already exists in e-Boekhouden (the SOAP API would overwrite it)",
                meaning=DUPLICATE_NUMBER,
            )
        in_ex = str(payload.get("inExVat") or "IN")
        term = payload.get("termOfPayment")
        mutation = {
            "MutatieNr": 0, "Soort": SOORTEN[MutationType(kind)], "Datum": _at(payload["date"]), "Rekening": self._ledger_code(payload.get("ledgerId")),
            "RelatieCode": self._relation_code(payload.get("relationId")), "Factuurnummer": number or None,
            "Boekstuk": payload.get("entryNumber"), "Omschrijving": payload.get("description"),
            "Betalingstermijn": str(term) if term is not None else None, "Betalingskenmerk": payload.get("paymentReference"),
            "InExBTW": in_ex, "MutatieRegels": {"cMutatieRegel": [self._row(row, in_ex) for row in payload.get("rows") or []]},
        }  # fmt: skip
        result = self.call("AddMutatie", oMut=mutation)
        with self._cache_lock:
            self._open_items = None  # a sale or payment changes what is outstanding
        return {"id": int(result["Mutatienummer"])}

    # ---- invoices ------------------------------------------------------------------------------

    # ---- outstanding items ---------------------------------------------------------------------

    def _all_open_items(self) -> list[dict]:
        """GetOpenPosten (debtors), once per hook until a mutation is added: the SOAP API has no filter by number."""
        with self._cache_lock:
            cached = self._open_items
        if cached is not None:
            return cached
        result = self.call("GetOpenPosten", OpSoort="Debiteuren")
        items = [
            {
                "invoiceNumber": str(item.get("MutFactuur") or ""), "relationCode": str(item.get("RelCode") or ""),
                "company": str(item.get("RelBedrijf") or ""), "date": _day(item.get("MutDatum")),
                "totalAmount": _money(item.get("Bedrag")), "paidAmount": _money(item.get("Voldaan")),
                "outstandingAmount": _money(item.get("Openstaand")),
            }  # fmt: skip
            for item in _items(result, "Openposten", "cOpenPost")
        ]
        with self._cache_lock:
            self._open_items = items
        return items

    def _with_relation_ids(self, items: Iterable[dict], known: dict[str, int] | None = None) -> list[dict]:
        return [{**item, "relationId": self._relation_id(item["relationCode"], known)} for item in items]

    def outstanding(self, invoice_number: str) -> list[dict]:
        """Outstanding debtor items of a sales number."""
        return self._with_relation_ids(i for i in self._all_open_items() if i["invoiceNumber"] == invoice_number)

    def all_outstanding(self) -> Iterator[dict]:
        """Every outstanding debtor item (relation codes resolved with one listing of all relations)."""
        known = {r["code"]: r["id"] for r in self._relations()}
        return iter(self._with_relation_ids(self._all_open_items(), known))

    def test_connection(self) -> tuple[bool, str]:
        """Open a session and read the ledgers once."""
        try:
            self.ledgers()
            return True, "e-Boekhouden SOAP API answered"
        except Exception as exc:  # noqa: BLE001 - shown to the user as the check's result
            return False, str(exc)
        finally:
            self.close_session()
