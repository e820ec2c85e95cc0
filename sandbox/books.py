"""The emulated e-Boekhouden administration: sessions, ledgers, relations, mutations, invoices and their validation.

Error codes and their titles are the official table's (``prestashop_eboekhouden.contract.eboekhouden``):
an :class:`ApiProblem` with an official code always carries the official title; our own detail goes into
``message``. Where the description names no code for a check the emulator makes, it answers ERR_002
("Your request contains an invalid value.") with the property named.

Knobs for what the official description leaves open (``BooksState`` attributes, also settable through
``PUT /__sandbox__/settings``): ``mutation_list_amount`` (what a mutation list item's ``amount`` holds:
``incl`` / ``excl`` / ``debtor`` (the debtor line, negative) / ``zero``), ``list_ids_zero`` (mutation
list items carry ``id`` 0, as real clients report), ``email_case`` (``insensitive`` / ``sensitive``: how the ``email`` filter compares),
``page_cap`` (``None``, or the most items a list page holds whatever ``limit`` asks: a real client reports 500),
``email_filter`` / ``code_filter`` (``honoured`` / ``ignored``: whether ``GET /v1/relation`` applies its
``email`` / ``code`` filters, or answers relations regardless of them).

The legacy SOAP API (sandbox/soap.py) works on the same administration: it logs in with a username and two
security codes (SOAP_AUTH_001/002, sessions SOAP_SESSION_001), books rows with the VAT amounts the client
computed (``create_mutation(..., given_vat=True)``) and overwrites a sale whose invoice number exists instead
of refusing it (``overwrite_sales=True``; every overwrite is kept in ``overwrites``).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.appkit import RequestStats
from sandbox.contract import ERROR_CODES, SOURCE_PATTERN, ContractLog
from sandbox.money import HUNDRED, cents, to_decimal

DEFAULT_TOKEN = "sandbox-eboekhouden-token"
DEFAULT_TOKEN_LIFETIME = 3600.0
DEFAULT_SOAP_USERNAME = "sandbox"
DEFAULT_SOAP_SECURITY_CODE_1 = "SANDBOXSECURITYCODE1"
DEFAULT_SOAP_SECURITY_CODE_2 = "SANDBOXSECURITYCODE2"
MAX_SOURCE = 10
MAX_INVOICE_NUMBER = 50
MAX_CODE = 15
MAX_ROWS = 500
ZERO = Decimal("0.00")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RELATION_FIELDS = (
    "type", "code", "name", "contact", "address", "postalCode", "city", "country", "phoneNumber", "mobilePhoneNumber",
    "emailAddress", "vatNumber", "iban", "bic", "website", "note",
)  # fmt: skip
# Mutation type → (ledger category the header needs, VAT side of its rows).
MUTATION_TYPES = {
    1: ("CRED", "purchase"),
    2: ("DEB", "sale"),
    3: ("FIN", None),
    4: ("FIN", None),
    5: ("FIN", "sale"),
    6: ("FIN", "purchase"),
    7: (None, None),
}
# Mutation types whose rows may not book to these ledger categories (CreateMutationRow.ledgerId: MUT_106).
ROW_LEDGER_EXCLUDES = {kind: frozenset({"FIN", "CRED", "DEB"}) for kind in (1, 2, 5, 6)}
# Invoice type → the type of the payment that settles it, and the credDeb letter of its outstanding items.
SETTLED_BY = {2: 3, 1: 4}
CRED_DEB = {"D": 2, "C": 1}


class ApiProblem(Exception):
    """An e-Boekhouden error answer."""

    def __init__(
        self, code: str, title: str, message: str = "", *, status: int = 400, kind: str = "validation", property_name: str = "",
        security_type: int | None = None,
    ) -> None:
        official = ERROR_CODES.get(code)
        super().__init__(f"{code} {official or title}")
        self.code, self.title, self.message = code, official or title, message or title
        self.status, self.kind, self.property_name = status, kind, property_name
        self.security_type = security_type  # a SecurityError (a refused session): 0 generic, 1 no access, 2 no administration

    def body(self) -> dict[str, Any]:
        """The JSON error body (Error, or SecurityError with its securityType)."""
        body = {
            "type": self.kind,
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "status": self.status,
            "errors": [],
            "propertyName": self.property_name,
            "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
        }
        if self.security_type is not None:
            body["securityType"] = self.security_type
        return body


def eb_error_body(status: int, message: str) -> dict[str, Any]:
    """e-Boekhouden's error body for an injected fault."""
    kind = "rate-limit" if status == 429 else "server"
    return ApiProblem(f"HTTP_{status}", message, status=status, kind=kind).body()


@dataclass(frozen=True)
class VatCode:
    """A VAT code: its rate (%), its side (sale/purchase/None) and whether the row brings its own vatAmount."""

    code: str
    rate: Decimal
    side: str | None
    custom: bool = False


VAT_CODES = {
    vat.code: vat
    for vat in (
        VatCode("HOOG_VERK_21", Decimal(21), "sale"),
        VatCode("LAAG_VERK_9", Decimal(9), "sale"),
        VatCode("VERL_VERK", ZERO, "sale"),
        VatCode("VERL_VERK_L9", ZERO, "sale"),
        VatCode("BI_EU_VERK", ZERO, "sale"),
        VatCode("BI_EU_VERK_D", ZERO, "sale"),
        VatCode("BU_EU_VERK", ZERO, "sale"),
        VatCode("AFST_VERK", ZERO, "sale"),
        VatCode("AFW_VERK", ZERO, "sale", custom=True),
        VatCode("HOOG_INK_21", Decimal(21), "purchase"),
        VatCode("LAAG_INK_9", Decimal(9), "purchase"),
        VatCode("VERL_INK", ZERO, "purchase"),
        VatCode("VERL_INK_L9", ZERO, "purchase"),
        VatCode("BI_EU_INK", ZERO, "purchase"),
        VatCode("BU_EU_INK", ZERO, "purchase"),
        VatCode("AFW", ZERO, "purchase", custom=True),
        VatCode("GEEN", ZERO, None),
    )
}


def row_amounts(amount: Decimal, vat: VatCode, in_ex: str, vat_amount: Decimal | None = None) -> tuple[Decimal, Decimal, Decimal]:
    """(excl, VAT, incl) of a row the way e-Boekhouden computes them, rounded half-up to the cent."""
    if vat.custom:
        tax = cents(vat_amount if vat_amount is not None else ZERO)
    elif in_ex == "IN":
        tax = cents(amount * vat.rate / (HUNDRED + vat.rate))
    else:
        tax = cents(amount * vat.rate / HUNDRED)
    return (amount - tax, tax, amount) if in_ex == "IN" else (amount, tax, amount + tax)


def code_base(name: str) -> str:
    """The first 10 letters/digits of a name: 'Klaartje Pietersen' → 'KlaartjePi'."""
    return "".join(ch for ch in name if ch.isalnum())[:10] or "REL"


def _text(payload: Mapping[str, Any], key: str) -> str:
    """A text field ('' when absent)."""
    value = payload.get(key)
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    """An id from an int or a digit string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _number(value: Any, code: str, prop: str) -> Decimal:
    """An exact number; ApiProblem when it is not one."""
    try:
        return to_decimal(value)
    except (TypeError, ValueError):
        raise ApiProblem(code, "Amount is invalid", f"{prop} must be a number, not {value!r}", property_name=prop) from None


def _amount(value: Any, code: str, prop: str) -> Decimal:
    """An amount rounded half-up to the cent; ApiProblem when it is not a number."""
    return cents(_number(value, code, prop))


def _date(value: Any, missing: str, invalid: str, prop: str = "date") -> str:
    """A YYYY-MM-DD date; ApiProblem with the missing/invalid code otherwise."""
    if value in (None, ""):
        raise ApiProblem(missing, "Date is required", property_name=prop)
    text = str(value)
    try:
        if not DATE.match(text):
            raise ValueError(text)
        dt.date.fromisoformat(text)
    except ValueError:
        raise ApiProblem(invalid, "Date is invalid", f"{prop} {text!r} is not a date YYYY-MM-DD", property_name=prop) from None
    return text


class BooksState:
    """Everything the emulated administration holds, and its request counts; thread-safe."""

    def __init__(
        self,
        access_token: str = DEFAULT_TOKEN,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        *,
        soap_username: str = DEFAULT_SOAP_USERNAME,
        soap_security_code_1: str = DEFAULT_SOAP_SECURITY_CODE_1,
        soap_security_code_2: str = DEFAULT_SOAP_SECURITY_CODE_2,
    ) -> None:
        self.lock = threading.RLock()
        self.stats = RequestStats()
        self.contract = ContractLog()  # what the REST emulator checked against the official contract
        self.soap_stats = RequestStats()
        self.access_token = access_token
        self.token_lifetime = token_lifetime
        self.soap_username = soap_username
        self.soap_security_code_1 = soap_security_code_1
        self.soap_security_code_2 = soap_security_code_2
        self.closed_until: str | None = None
        # knobs where the official description is silent (see the module docstring)
        self.mutation_list_amount = "incl"
        self.list_ids_zero = False
        self.email_case = "insensitive"
        self.page_cap: int | None = None
        self.email_filter = "honoured"
        self.code_filter = "honoured"
        self.relation_patches: list[tuple[int, dict[str, Any]]] = []
        # sales the SOAP API overwrote: {id, invoiceNumber, oldAmount, newAmount, old, new}
        self.overwrites: list[dict[str, Any]] = []
        self._sessions: dict[str, float] = {}
        self._soap_sessions: dict[str, float] = {}
        self._relation_dates: dict[int, str] = {}
        self._ledgers: dict[int, dict[str, Any]] = {}
        self._relations: dict[int, dict[str, Any]] = {}
        self._mutations: dict[int, dict[str, Any]] = {}
        self._last_ids = {"relation": 1000, "mutation": 0}  # ids are never given twice, also after a deletion
        # indexes, so a book of tens of thousands of records answers in constant time per write
        self._codes: dict[str, int] = {}  # relation code (case-folded) → relation id
        self._by_number: dict[tuple[int, str], list[int]] = {}
        self._by_folded_number: dict[str, list[int]] = {}  # invoice number, case-insensitively (SOAP's GetMutaties)
        self._invoices: dict[int, dict[str, Any]] = {}
        self._templates: dict[int, dict[str, Any]] = {}

    # ---- sessions ------------------------------------------------------------------------------

    def open_session(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/session: a session token for the API token and source."""
        source = _text(payload, "source")
        if not source:
            raise ApiProblem("API_SESSION_001", "Source is required", property_name="source")
        if not SOURCE_PATTERN.match(source):
            raise ApiProblem("API_SESSION_002", "Source does not match pattern", f"source {source!r}: letters, digits, _ and spaces, at most {MAX_SOURCE}", property_name="source")
        token = _text(payload, "accessToken")
        if not token:
            raise ApiProblem("API_SESSION_003", "Access token is required", property_name="accessToken")
        if not secrets.compare_digest(token, self.access_token):  # start_session answers 403 with a SecurityError
            raise ApiProblem("API_SESSION_004", "Access token is invalid", status=403, kind="security", property_name="accessToken", security_type=0)
        with self.lock:
            session = secrets.token_hex(24)
            self._sessions[session] = time.monotonic() + self.token_lifetime
            return {"token": session, "expiresIn": int(self.token_lifetime)}

    def session_valid(self, token: str) -> bool:
        """Whether a session token is known and not expired."""
        with self.lock:
            expiry = self._sessions.get(token)
            return expiry is not None and time.monotonic() < expiry

    def close_session(self, token: str) -> None:
        """DELETE /v1/session: revoke a session token."""
        with self.lock:
            self._sessions.pop(token, None)

    def expire_sessions(self) -> None:
        """Make every open session token (REST) and session id (SOAP) expire now."""
        with self.lock:
            self._sessions.clear()
            self._soap_sessions.clear()

    def open_soap_session(self, username: str, security_code_1: str, security_code_2: str) -> str:
        """SOAP OpenSession: a session id for the right username and both security codes (SOAP_AUTH_001)."""
        given = (username or "", security_code_1 or "", security_code_2 or "")
        expected = (self.soap_username, self.soap_security_code_1, self.soap_security_code_2)
        if not all([secrets.compare_digest(a.encode(), b.encode()) for a, b in zip(given, expected, strict=True)]):
            raise ApiProblem("SOAP_AUTH_001", "Username or security code is wrong", status=401, kind="security")
        with self.lock:
            session = secrets.token_hex(16).upper()
            self._soap_sessions[session] = time.monotonic() + self.token_lifetime
            return session

    def check_soap_session(self, session_id: str, security_code_2: str) -> None:
        """A SOAP call's credentials: a live session id (SOAP_SESSION_001) and security code 2 (SOAP_AUTH_002)."""
        with self.lock:
            expiry = self._soap_sessions.get(session_id or "")
            if expiry is None or time.monotonic() >= expiry:
                self._soap_sessions.pop(session_id or "", None)
                raise ApiProblem("SOAP_SESSION_001", "Session is unknown or expired; open a new session", status=401, kind="security")
        if not secrets.compare_digest((security_code_2 or "").encode(), self.soap_security_code_2.encode()):
            raise ApiProblem("SOAP_AUTH_002", "Security code 2 is wrong", status=401, kind="security")

    def close_soap_session(self, session_id: str) -> None:
        """SOAP CloseSession: forget a session id (unknown ids are ignored)."""
        with self.lock:
            self._soap_sessions.pop(session_id or "", None)

    def reset_stats(self) -> None:
        """Forget the request counts."""
        self.stats.reset()

    # ---- ledgers and templates ---------------------------------------------------------------

    def add_ledger(self, ledger_id: int, code: str, description: str, category: str, group: str = "") -> dict[str, Any]:
        """Add a ledger account (ids differ from codes, as in e-Boekhouden)."""
        with self.lock:
            record = {"id": ledger_id, "code": code, "description": description, "category": category, "group": group}
            self._ledgers[ledger_id] = record
            return dict(record)

    def ledgers(self) -> list[dict[str, Any]]:
        """All ledgers, by id."""
        with self.lock:
            return [dict(self._ledgers[i]) for i in sorted(self._ledgers)]

    def ledger_by_code(self, code: str) -> dict[str, Any] | None:
        """The ledger with this code."""
        return next((ledger for ledger in self.ledgers() if ledger["code"] == code), None)

    def add_template(self, template_id: int, name: str, active: bool = True, kind: str = "invoice") -> dict[str, Any]:
        """Add an invoice template."""
        with self.lock:
            record = {"id": template_id, "name": name, "active": active, "type": kind}
            self._templates[template_id] = record
            return dict(record)

    def templates(self) -> list[dict[str, Any]]:
        """All invoice templates, by id."""
        with self.lock:
            return [dict(self._templates[i]) for i in sorted(self._templates)]

    # ---- relations -----------------------------------------------------------------------------

    def relations(self) -> list[dict[str, Any]]:
        """All relations, by id."""
        with self.lock:
            return [dict(self._relations[i]) for i in sorted(self._relations)]

    def relation(self, relation_id: int) -> dict[str, Any] | None:
        """One relation, or None."""
        with self.lock:
            record = self._relations.get(relation_id)
            return dict(record) if record else None

    def relation_by_code(self, code: str) -> dict[str, Any] | None:
        """The relation with this code (codes compare case-insensitively), or None."""
        wanted = code.strip().casefold()
        with self.lock:
            relation_id = self._codes.get(wanted) if wanted else None
            return dict(self._relations[relation_id]) if relation_id is not None else None

    def relation_added(self, relation_id: int) -> str:
        """The day a relation was created (YYYY-MM-DD)."""
        with self.lock:
            return self._relation_dates.get(relation_id, "")

    def _code_taken(self, code: str) -> bool:
        """Whether a relation code exists (codes compare case-insensitively)."""
        return code.casefold() in self._codes

    def next_code(self, name: str) -> str:
        """The code e-Boekhouden gives a new relation: the base, else the base with the first free sequence number."""
        base = code_base(name)
        candidate, number = base, 0
        while self._code_taken(candidate):
            number += 1
            candidate = f"{base}{number}"
        return candidate

    def create_relation(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/relation: validate, generate the code when empty; returns {id, code}."""
        kind = _text(payload, "type") or "B"
        if kind not in ("B", "P"):
            raise ApiProblem("REL_001", "Type is invalid", "type must be B or P", property_name="type")
        name = _text(payload, "name").strip()
        if not name:
            raise ApiProblem("REL_002", "Name is required", property_name="name")
        email = _text(payload, "emailAddress")
        if email and not EMAIL.match(email):
            raise ApiProblem("REL_023", "Email address is invalid", f"{email!r} is not an e-mail address", property_name="emailAddress")
        with self.lock:
            code = _text(payload, "code").strip() or self.next_code(name)
            if len(code) > MAX_CODE:
                raise ApiProblem("REL_006", "Code is too long", f"a code has at most {MAX_CODE} characters", property_name="code")
            if self._code_taken(code):
                raise ApiProblem("REL_049", "Code already exists", f"a relation with code {code} exists", property_name="code")
            relation_id = self._last_ids["relation"] = max(next(reversed(self._relations), 1000), self._last_ids["relation"]) + 1
            record = {"id": relation_id, **{key: _text(payload, key) for key in RELATION_FIELDS}, "type": kind, "name": name, "code": code}
            self._relations[relation_id] = record
            self._codes[code.casefold()] = relation_id
            self._relation_dates[relation_id] = dt.date.today().isoformat()
            return {"id": relation_id, "code": code}

    def delete_relation(self, relation_id: int) -> dict[str, Any]:
        """The bookkeeper deletes a relation in e-Boekhouden (its id is never given again); e-Boekhouden refuses when
        it has bookings (ValueError)."""
        with self.lock:
            if any(m["relationId"] == relation_id for m in self._mutations.values()) or any(i["relationId"] == relation_id for i in self._invoices.values()):
                raise ValueError(f"relation {relation_id} has bookings")
            record = self._relations.pop(relation_id)
            self._codes.pop(record["code"].casefold(), None)
            return dict(record)

    def update_relation(self, relation_id: int, payload: Mapping[str, Any]) -> None:
        """PATCH /v1/relation/{id}: change fields (counted in relation_patches: the integration never does this)."""
        with self.lock:
            record = self._relations.get(relation_id)
            if record is None:
                raise ApiProblem("REL_055", "Relation not found", status=404, property_name="id")
            self.relation_patches.append((relation_id, dict(payload)))
            record.update({key: _text(payload, key) for key in RELATION_FIELDS if key in payload and key != "code"})

    # ---- mutations -----------------------------------------------------------------------------

    def mutations(self) -> list[dict[str, Any]]:
        """All mutations with rows and computed totals, by id."""
        with self.lock:
            return [_copy_mutation(self._mutations[i]) for i in sorted(self._mutations)]

    def mutations_numbered(self, invoice_number: str) -> list[dict[str, Any]]:
        """The mutations (any type) with this invoice number, compared case-insensitively, by id, from the index."""
        with self.lock:
            return [_copy_mutation(self._mutations[i]) for i in sorted(self._by_folded_number.get(invoice_number.casefold(), []))]

    def relation_code(self, relation_id: int | None) -> str:
        """A relation's code ('' for none or unknown)."""
        with self.lock:
            record = self._relations.get(relation_id or 0)
            return record["code"] if record else ""

    def mutation(self, mutation_id: int) -> dict[str, Any] | None:
        """One mutation with rows and computed totals, or None."""
        with self.lock:
            record = self._mutations.get(mutation_id)
            return _copy_mutation(record) if record else None

    def create_mutation(self, payload: Mapping[str, Any], *, given_vat: bool = False, overwrite_sales: bool = False) -> dict[str, Any]:
        """POST /v1/mutation: validate like e-Boekhouden, store; returns {id}.

        The SOAP API's variant: ``given_vat`` takes each row's ``vatAmount`` as the VAT (required on every row)
        instead of computing it; ``overwrite_sales`` replaces a sale (type 2) whose invoice number exists, in
        place under its id, instead of refusing it with MUT_019 (recorded in :attr:`overwrites`).
        """
        with self.lock:
            record = self._validated_mutation(payload, given_vat=given_vat, overwrite_sales=overwrite_sales)
            existing = self._by_number.get((2, record["invoiceNumber"]), []) if overwrite_sales and record["type"] == 2 else []
            if existing:
                return {"id": self._overwrite_mutation(existing[0], record)}
            return {"id": self._store_mutation(record)}

    def _overwrite_mutation(self, mutation_id: int, record: dict[str, Any]) -> int:
        """Replace a stored mutation's content, keeping its id (the legacy SOAP API's AddMutatie on a known number)."""
        old = self._mutations[mutation_id]
        record["id"] = mutation_id
        self._mutations[mutation_id] = record
        self.overwrites.append(
            {
                "id": mutation_id,
                "invoiceNumber": record["invoiceNumber"],
                "oldAmount": old["amount"],
                "newAmount": record["amount"],
                "old": _copy_mutation(old),
                "new": _copy_mutation(record),
            }
        )
        return mutation_id

    def _store_mutation(self, record: dict[str, Any]) -> int:
        """Give a validated mutation the next number and keep it."""
        mutation_id = self._last_ids["mutation"] = max(next(reversed(self._mutations), 0), self._last_ids["mutation"]) + 1
        record["id"] = mutation_id
        self._mutations[mutation_id] = record
        self._by_number.setdefault((record["type"], record["invoiceNumber"]), []).append(mutation_id)
        self._by_folded_number.setdefault(str(record["invoiceNumber"]).casefold(), []).append(mutation_id)
        return mutation_id

    # ---- what the bookkeeper does by hand in e-Boekhouden (the reconciliation's knobs) ---------------------------

    def delete_mutation(self, mutation_id: int) -> dict[str, Any]:
        """The bookkeeper deletes a mutation (KeyError when there is none; its id is never given again); returns it as
        it was."""
        with self.lock:
            record = self._mutations.pop(int(mutation_id))
            self._by_number[(record["type"], record["invoiceNumber"])].remove(record["id"])
            self._by_folded_number[str(record["invoiceNumber"]).casefold()].remove(record["id"])
            return _copy_mutation(record)

    def change_mutation(self, mutation_id: int, *, amount: Any = None, date: str | None = None) -> dict[str, Any]:
        """The bookkeeper edits a mutation: its first row's amount (as entered: incl or excl VAT per its inExVat; the
        row's VAT computed again) and/or its date (KeyError when there is none); returns it as it is now."""
        with self.lock:
            record = self._mutations[int(mutation_id)]
            if amount is not None:
                row = record["rows"][0]
                vat = VAT_CODES[row["vatCode"]]
                value = _amount(amount, "ERR_002", "amount")
                excl, tax, incl = row_amounts(value, vat, record["inExVat"], row["vatAmount"] if vat.custom else None)
                row.update(amount=value, vatAmount=tax, amountExclVat=excl, amountInclVat=incl)
                record["amount"] = sum((r["amountInclVat"] for r in record["rows"]), ZERO)
                record["totalExclVat"] = sum((r["amountExclVat"] for r in record["rows"]), ZERO)
                record["totalVat"] = sum((r["vatAmount"] for r in record["rows"]), ZERO)
            if date is not None:
                record["date"] = _date(date, "MUT_003", "MUT_004")
            return _copy_mutation(record)

    def _validated_mutation(self, payload: Mapping[str, Any], *, given_vat: bool = False, overwrite_sales: bool = False) -> dict[str, Any]:
        """A mutation record from a payload, or the first ApiProblem in e-Boekhouden's order of checks."""
        kind = _int_or_none(payload.get("type"))
        if kind not in MUTATION_TYPES:
            raise ApiProblem("MUT_001", "Type is invalid", "type must be 1 to 7", property_name="type")
        date = _date(payload.get("date"), "MUT_003", "MUT_004")
        if self.closed_until and date <= self.closed_until:
            raise ApiProblem("MUT_005", "Period is closed", f"the books are closed until {self.closed_until}", property_name="date")
        ledger_id = self._header_ledger(payload.get("ledgerId"), kind)
        relation_id = self._mutation_relation(payload.get("relationId"), kind)
        invoice_number = self._mutation_invoice_number(payload, kind, relation_id, overwrite_sales)
        in_ex = _text(payload, "inExVat")
        if not in_ex:
            raise ApiProblem("MUTA_005", "In/Ex VAT is missing", "inExVat must be IN or EX", property_name="inExVat")
        if in_ex not in ("IN", "EX"):
            raise ApiProblem("MUT_017", "InExVat is invalid", "inExVat must be IN or EX", property_name="inExVat")
        self._check_payment_reference(payload)
        rows = self._validated_rows(payload.get("rows"), kind, in_ex, relation_id, given_vat)
        return {
            "id": 0,
            "type": kind,
            "date": date,
            "description": _text(payload, "description"),
            "termOfPayment": _int_or_none(payload.get("termOfPayment")) or 0,
            "ledgerId": ledger_id,
            "relationId": relation_id,
            "inExVat": in_ex,
            "invoiceNumber": invoice_number,
            "entryNumber": _text(payload, "entryNumber"),
            "paymentReference": _text(payload, "paymentReference"),
            "rows": rows,
            "amount": sum((row["amountInclVat"] for row in rows), ZERO),
            "totalExclVat": sum((row["amountExclVat"] for row in rows), ZERO),
            "totalVat": sum((row["vatAmount"] for row in rows), ZERO),
        }

    def _header_ledger(self, value: Any, kind: int) -> int:
        """The header ledger: required, existing, and of the category the type needs."""
        if value in (None, "", 0):
            raise ApiProblem("MUTA_001", "Ledger id is missing", property_name="ledgerId")
        ledger = self._ledgers.get(_int_or_none(value) or -1)
        if ledger is None:
            raise ApiProblem("MUT_007", "Ledger not found", f"ledger id {value} does not exist", property_name="ledgerId")
        needed = MUTATION_TYPES[kind][0]
        if needed and ledger["category"] != needed:
            raise ApiProblem(
                {"DEB": "MUT_011", "CRED": "MUT_010"}.get(needed, "MUT_009"),
                "Ledger not allowed",
                f"a type {kind} mutation needs a {needed} ledger, not {ledger['code']}",
                property_name="ledgerId",
            )
        return ledger["id"]

    def _mutation_relation(self, value: Any, kind: int) -> int | None:
        """The relation: required for invoices and their payments (types 1-4), must exist when given."""
        if value in (None, "", 0):
            if kind in (1, 2, 3, 4):
                raise ApiProblem("MUT_012", "Relation is required", property_name="relationId")
            return None
        relation_id = _int_or_none(value)
        if relation_id is None or relation_id not in self._relations:
            raise ApiProblem("MUT_013", "Relation not found", f"relation id {value} does not exist", property_name="relationId")
        return relation_id

    def _mutation_invoice_number(
        self, payload: Mapping[str, Any], kind: int, relation_id: int | None, overwrite_sales: bool = False
    ) -> str:
        """The invoice number: required for sales, unique per type (MUT_019 unless overwriting) or per relation for purchases (MUT_020)."""
        number = _text(payload, "invoiceNumber").strip()
        if not number:
            if kind == 2:
                raise ApiProblem("MUT_002", "Invoice number is required", property_name="invoiceNumber")
            return ""
        if len(number) > MAX_INVOICE_NUMBER:
            raise ApiProblem(
                "MUT_018", "Invoice number is too long", f"at most {MAX_INVOICE_NUMBER} characters", property_name="invoiceNumber"
            )
        same = [self._mutations[i] for i in self._by_number.get((kind, number), [])]
        if kind == 2 and same and not overwrite_sales:
            raise ApiProblem(
                "MUT_019",
                "Invoice number already exists",
                f"mutation {same[0]['id']} has invoice number {number}",
                property_name="invoiceNumber",
            )
        if kind == 1 and any(m["relationId"] == relation_id for m in same):
            raise ApiProblem("MUT_020", "Relation and invoice number combination exists", property_name="invoiceNumber")
        return number

    def _check_payment_reference(self, payload: Mapping[str, Any]) -> None:
        """With checkPaymentReference, the payment reference must be new."""
        reference = _text(payload, "paymentReference")
        if (
            payload.get("checkPaymentReference") is True
            and reference
            and any(m["paymentReference"] == reference for m in self._mutations.values())
        ):
            raise ApiProblem("MUTA_008", "Payment reference already exists", property_name="paymentReference")

    def _validated_rows(self, rows: Any, kind: int, in_ex: str, relation_id: int | None, given_vat: bool = False) -> list[dict[str, Any]]:
        """The rows with their computed VAT; MUT_1xx on the first invalid one; a journal entry must balance."""
        if not isinstance(rows, list) or not rows:
            raise ApiProblem("MUT_100", "Rows are required", property_name="rows")
        if len(rows) > MAX_ROWS:
            raise ApiProblem("MUT_101", "Too many rows", f"at most {MAX_ROWS} rows", property_name="rows")
        checked = [self._validated_row(row, index, kind, in_ex, relation_id, given_vat) for index, row in enumerate(rows)]
        if kind == 7 and sum((row["amount"] for row in checked), ZERO) != 0:
            raise ApiProblem("MUT_118", "Ledger not in balance", "the rows of a journal entry must add up to 0", property_name="rows")
        return checked

    def _validated_row(
        self, row: Any, index: int, kind: int, in_ex: str, relation_id: int | None, given_vat: bool = False
    ) -> dict[str, Any]:
        """One row: ledger, VAT code of the right side, amount, and for payments the invoice it pays (VAT given or computed)."""
        prop = f"rows[{index}]"
        if not isinstance(row, Mapping):
            raise ApiProblem("MUT_100", "Row is invalid", property_name=prop)
        ledger_id = self._row_ledger(row.get("ledgerId"), kind, prop)
        vat = self._row_vat(row, kind, prop)
        amount = _amount(row.get("amount"), "ERR_002", f"{prop}.amount")
        vat_amount = _amount(row["vatAmount"], "ERR_002", f"{prop}.vatAmount") if row.get("vatAmount") is not None else None
        if given_vat and vat_amount is None:  # the SOAP API: the client computes every row's VAT
            raise ApiProblem("ERR_002", "VAT amount is required", f"{vat.code} needs BTWBedrag", property_name=f"{prop}.vatAmount")
        if not given_vat and vat_amount is not None and not vat.custom:  # "Only use in combination with vatCode: 'AFW_VERK' or 'AFW'"
            raise ApiProblem("MUTA_003", "VAT amount not allowed", f"vatAmount given with {vat.code}", property_name=f"{prop}.vatAmount")
        row_relation = self._row_relation(row, kind, prop, required=not given_vat)
        invoice_number = self._paid_invoice_number(row, kind, relation_id, prop)
        if given_vat:
            tax = vat_amount if vat_amount is not None else ZERO
            excl, incl = (amount - tax, amount) if in_ex == "IN" else (amount, amount + tax)
        else:
            excl, tax, incl = row_amounts(amount, vat, in_ex, vat_amount)
        return {
            "ledgerId": ledger_id,
            "vatCode": vat.code,
            "amount": amount,
            "vatAmount": tax,
            "amountExclVat": excl,
            "amountInclVat": incl,
            "description": _text(row, "description"),
            "invoiceNumber": invoice_number,
            "relationId": row_relation,
            "costCenterId": _int_or_none(row.get("costCenterId")),
        }

    def _row_relation(self, row: Mapping[str, Any], kind: int, prop: str, required: bool = True) -> int | None:
        """A row's relation: required on REST payment rows (types 3/4, MUT_112), must exist when given (MUT_113)."""
        value = row.get("relationId")
        if value in (None, "", 0):
            if kind in (3, 4) and required:
                raise ApiProblem("MUT_112", "Relation is missing", "a payment row names the relation it pays", property_name=f"{prop}.relationId")
            return None
        relation_id = _int_or_none(value)
        if relation_id is None or relation_id not in self._relations:
            raise ApiProblem("MUT_113", "Relation not found", f"relation id {value} does not exist", property_name=f"{prop}.relationId")
        return relation_id

    def _row_ledger(self, value: Any, kind: int, prop: str) -> int | None:
        """A row's ledger: required except on payments (types 3/4), must exist when given, and for types 1, 2, 5
        and 6 may not be a financial, creditor or debtor ledger (MUT_106)."""
        if value in (None, "", 0):
            if kind in (3, 4):
                return None
            raise ApiProblem("MUTA_004", "Ledger is required", property_name=f"{prop}.ledgerId")
        ledger_id = _int_or_none(value)
        if ledger_id is None or ledger_id not in self._ledgers:
            raise ApiProblem("MUT_104", "Ledger not found", f"ledger id {value} does not exist", property_name=f"{prop}.ledgerId")
        category = self._ledgers[ledger_id]["category"]
        if kind in ROW_LEDGER_EXCLUDES and category in ROW_LEDGER_EXCLUDES[kind]:
            raise ApiProblem(
                "MUT_106", "Ledger category not allowed for row",
                f"a type {kind} row may not book to {self._ledgers[ledger_id]['code']} ({category})", property_name=f"{prop}.ledgerId",
            )  # fmt: skip
        return ledger_id

    @staticmethod
    def _row_vat(row: Mapping[str, Any], kind: int, prop: str) -> VatCode:
        """A row's VAT code: present and known (MUT_109, the row's vatCode error) and of the side the mutation type books (MUT_111/MUT_110)."""
        code = _text(row, "vatCode")
        if not code:  # vatCode is required on a row (CreateMutationRow); MUT_109 is the code the description gives it
            raise ApiProblem("MUT_109", "VAT code is missing", "vatCode is required on every row", property_name=f"{prop}.vatCode")
        vat = VAT_CODES.get(code)
        if vat is None:
            raise ApiProblem("MUT_109", "Invalid VAT code", f"{code} is not a VAT code", property_name=f"{prop}.vatCode")
        side = MUTATION_TYPES[kind][1]
        if side == "sale" and vat.side == "purchase":
            raise ApiProblem("MUT_111", "VAT code must be of type sale", f"{code} is a purchase VAT code", property_name=f"{prop}.vatCode")
        if side == "purchase" and vat.side == "sale":
            raise ApiProblem("MUT_110", "VAT code must be of type purchase", f"{code} is a sales VAT code", property_name=f"{prop}.vatCode")
        return vat

    def _paid_invoice_number(self, row: Mapping[str, Any], kind: int, relation_id: int | None, prop: str) -> str:
        """For payments (types 3/4): the invoice the row pays must exist for the relation (MUT_115)."""
        number = _text(row, "invoiceNumber").strip()
        if kind not in (3, 4):
            return number
        if not number:
            raise ApiProblem("MUT_120", "Invoice number is required", property_name=f"{prop}.invoiceNumber")
        invoice_type = 2 if kind == 3 else 1
        if not any(self._mutations[i]["relationId"] == relation_id for i in self._by_number.get((invoice_type, number), [])):
            raise ApiProblem(
                "MUT_115",
                "Invoice to pay not found",
                f"no invoice {number} for relation {relation_id}",
                property_name=f"{prop}.invoiceNumber",
            )
        return number

    def outstanding(self, cred_deb: str = "D") -> list[dict[str, Any]]:
        """Open items: invoices (type 2 for D, 1 for C) whose payments do not add up to their total."""
        invoice_type = CRED_DEB[cred_deb]
        with self.lock:
            paid: dict[tuple[str, int | None], Decimal] = {}
            for mutation in self._mutations.values():
                if mutation["type"] == SETTLED_BY[invoice_type]:
                    for row in mutation["rows"]:
                        key = (row["invoiceNumber"], mutation["relationId"])
                        paid[key] = paid.get(key, ZERO) + row["amountInclVat"]
            items = []
            for mutation in sorted(self._mutations.values(), key=lambda m: m["id"]):
                if mutation["type"] != invoice_type:
                    continue
                paid_amount = paid.get((mutation["invoiceNumber"], mutation["relationId"]), ZERO)
                if mutation["amount"] - paid_amount != 0:
                    items.append(self._outstanding_item(mutation, paid_amount))
            return items

    def _outstanding_item(self, mutation: dict[str, Any], paid_amount: Decimal) -> dict[str, Any]:
        """One open item."""
        relation = self._relations.get(mutation["relationId"] or 0, {})
        return {
            "mutationId": mutation["id"],
            "invoiceNumber": mutation["invoiceNumber"],
            "relationId": mutation["relationId"],
            "relationCode": relation.get("code", ""),
            "company": relation.get("name", ""),
            "date": mutation["date"],
            "totalAmount": mutation["amount"],
            "paidAmount": paid_amount,
            "outstandingAmount": mutation["amount"] - paid_amount,
        }

    # ---- invoices ------------------------------------------------------------------------------

    def invoices(self) -> list[dict[str, Any]]:
        """All invoices with items and totals, by id."""
        with self.lock:
            return [_copy_invoice(self._invoices[i]) for i in sorted(self._invoices)]

    def invoice(self, invoice_id: int) -> dict[str, Any] | None:
        """One invoice, or None."""
        with self.lock:
            record = self._invoices.get(invoice_id)
            return _copy_invoice(record) if record else None

    def create_invoice(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/invoice: validate, number, store; with ``mutation`` also book the sale (type 2)."""
        with self.lock:
            relation_id = _int_or_none(payload.get("relationId"))
            if payload.get("relationId") in (None, "", 0):
                raise ApiProblem("FACT_001", "Relation is required", property_name="relationId")
            if relation_id not in self._relations:
                raise ApiProblem("FACT_002", "Relation not found", property_name="relationId")
            date = _date(payload.get("date") or dt.date.today().isoformat(), "FACT_011", "FACT_012")
            term = _int_or_none(payload.get("termOfPayment"))
            if term is None:
                raise ApiProblem("FACT_015", "Term of payment is required", property_name="termOfPayment")
            template_id = self._invoice_template(payload.get("templateId"))
            in_ex = _text(payload, "inExVat") or "EX"
            if in_ex not in ("IN", "EX"):
                raise ApiProblem("FACT_010", "InExVat is invalid", "inExVat must be IN or EX", property_name="inExVat")
            items = self._invoice_items(payload.get("items"), in_ex)
            number = self._invoice_number(payload.get("invoiceNumber"))
            invoice_id = max(self._invoices, default=0) + 1
            record: dict[str, Any] = {
                "id": invoice_id,
                "invoiceNumber": number,
                "relationId": relation_id,
                "date": date,
                "termOfPayment": term,
                "templateId": template_id,
                "inExVat": in_ex,
                "reference": _text(payload, "reference"),
                "text": _text(payload, "text"),
                "items": items,
                "totalExclVat": sum((i["amountExclVat"] for i in items), ZERO),
                "totalVat": sum((i["vatAmount"] for i in items), ZERO),
                "totalInclVat": sum((i["amountInclVat"] for i in items), ZERO),
                "mutationId": None,
            }
            if payload.get("mutation") is not None:
                record["mutationId"] = self._book_invoice(record, payload["mutation"])
            self._invoices[invoice_id] = record
            return {"id": invoice_id, "invoiceNumber": number, "inExVat": in_ex}  # CreatedInvoice

    def _invoice_template(self, value: Any) -> int:
        """The template: required (FACT_017) and existing (FACT_018)."""
        if value in (None, "", 0):
            raise ApiProblem("FACT_018", "Template is required", property_name="templateId")
        template_id = _int_or_none(value)
        if template_id not in self._templates:
            raise ApiProblem("FACT_018", "Template not found", f"invoice template {value} does not exist", property_name="templateId")
        return template_id

    def _invoice_items(self, items: Any, in_ex: str) -> list[dict[str, Any]]:
        """Items with line amounts (quantity × price, to the cent) and VAT as on a mutation row."""
        if not isinstance(items, list) or not items:
            raise ApiProblem("FACT_019", "Items are required", property_name="items")
        checked = []
        for index, item in enumerate(items):
            prop = f"items[{index}]"
            if not isinstance(item, Mapping):
                raise ApiProblem("FACT_019", "Item is invalid", property_name=prop)
            quantity = _amount(item.get("quantity", 1), "ERR_002", f"{prop}.quantity")
            price = _number(item.get("pricePerUnit"), "FACT_ITEM_004", f"{prop}.pricePerUnit")
            if not _text(item, "vatCode"):
                raise ApiProblem("FACT_ITEM_006", "VAT code is missing", property_name=f"{prop}.vatCode")
            vat = VAT_CODES.get(_text(item, "vatCode"))
            if vat is None or vat.side == "purchase" or vat.custom:
                raise ApiProblem(
                    "FACT_ITEM_014", "Invalid VAT code", f"{item.get('vatCode')} cannot be used on an invoice", property_name=f"{prop}.vatCode"
                )
            ledger_id = _int_or_none(item.get("ledgerId"))
            if item.get("ledgerId") not in (None, "") and ledger_id not in self._ledgers:
                raise ApiProblem("FACT_ITEM_012", "Ledger not found", property_name=f"{prop}.ledgerId")
            amount = cents(quantity * price)
            excl, tax, incl = row_amounts(amount, vat, in_ex)
            checked.append(
                {"quantity": quantity, "code": _text(item, "code"), "description": _text(item, "description"), "pricePerUnit": price}
                | {
                    "vatCode": vat.code,
                    "ledgerId": ledger_id,
                    "amount": amount,
                    "amountExclVat": excl,
                    "vatAmount": tax,
                    "amountInclVat": incl,
                }
            )
        return checked

    def _invoice_number(self, value: Any) -> str:
        """The given invoice number (ends in a digit, new, ≤ 50), or the next free number."""
        taken = {i["invoiceNumber"] for i in self._invoices.values()} | {
            m["invoiceNumber"] for m in self._mutations.values() if m["type"] == 2
        }
        number = "" if value is None else str(value).strip()
        if not number:
            candidate = max((int(n) for n in taken if n.isdigit()), default=1000) + 1
            while str(candidate) in taken:
                candidate += 1
            return str(candidate)
        if len(number) > MAX_INVOICE_NUMBER:
            raise ApiProblem("FACT_007", "Invoice number is too long", property_name="invoiceNumber")
        if not number[-1].isdigit():
            raise ApiProblem("FACT_009", "Invoice number must end in a digit", property_name="invoiceNumber")
        if any(i["invoiceNumber"] == number for i in self._invoices.values()):
            raise ApiProblem("FACT_101", "Invoice number already exists", property_name="invoiceNumber")
        return number

    def _book_invoice(self, invoice: dict[str, Any], booking: Any) -> int:
        """The invoice's sale as a type 2 mutation (validated like any other; MUT_ errors pass through)."""
        if not isinstance(booking, Mapping):
            raise ApiProblem("ERR_002", "Mutation is invalid", property_name="mutation")
        payload = {
            "type": 2,
            "date": invoice["date"],
            "ledgerId": booking.get("ledgerId"),
            "relationId": invoice["relationId"],
            "invoiceNumber": invoice["invoiceNumber"],
            "description": _text(booking, "description") or invoice["text"],
            "paymentReference": _text(booking, "paymentReference"),
            "termOfPayment": invoice["termOfPayment"],
            "inExVat": invoice["inExVat"],
            "rows": [
                {"ledgerId": i["ledgerId"], "vatCode": i["vatCode"], "amount": i["amount"], "description": i["description"]}
                for i in invoice["items"]
            ],
        }
        return self._store_mutation(self._validated_mutation(payload))


def _copy_mutation(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a mutation with its rows."""
    return {**record, "rows": [dict(row) for row in record["rows"]]}


def _copy_invoice(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of an invoice with its items."""
    return {**record, "items": [dict(item) for item in record["items"]]}
