"""The e-Boekhouden REST API emulator (``/v1/...``) and its admin routes (``/__sandbox__/``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from sandbox.appkit import ExactJSONResponse, admin_router, install_middleware, parse_json
from sandbox.books import CRED_DEB, ApiProblem, BooksState, eb_error_body
from sandbox.contract import ContractCheck, too_long
from sandbox.faults import FaultInjector

DEFAULT_LIMIT = 100
MAX_LIMIT = 2000
OPERATORS = ("eq", "not_eq", "like", "not_like", "gt", "gte", "lt", "lte", "range")
_PARAM = re.compile(r"^(\w+)(?:\[(\w*)\])?$")
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")

# List endpoint → query parameter (as the official description lists it) → record field it filters on.
# Parameters the description does not list are ignored, as the real API ignores unknown parameters.
LEDGER_FILTERS = {"code": "code", "category": "category"}
RELATION_FILTERS = {"code": "code", "type": "type", "email": "emailAddress", "name": "name", "contact": "contact", "city": "city"}
MUTATION_FILTERS = {"id": "id", "type": "type", "date": "date", "invoiceNumber": "invoiceNumber", "description": "description"}
OUTSTANDING_FILTERS = {"invoiceNumber": "invoiceNumber"}
INVOICE_FILTERS = {"invoiceNumber": "invoiceNumber", "relationId": "relationId", "date": "date"}
TEMPLATE_FILTERS = {"name": "name", "type": "type", "active": "active"}
# What list items and objects carry: the official models' fields, nothing more.
RELATION_LIST_FIELDS = ("id", "type", "code")
LEDGER_LIST_FIELDS = ("id", "code", "description", "category", "group")
MUTATION_LIST_FIELDS = ("id", "type", "date", "invoiceNumber", "ledgerId", "amount", "entryNumber")
MUTATION_FIELDS = ("id", "type", "date", "description", "termOfPayment", "ledgerId", "relationId", "inExVat", "invoiceNumber", "entryNumber")
ROW_FIELDS = ("ledgerId", "vatCode", "amount", "vatAmount", "description", "invoiceNumber", "relationId", "costCenterId")
RELATION_FIELDS = (
    "id", "type", "code", "date", "name", "contact", "address", "postalCode", "city", "country", "phoneNumber",
    "mobilePhoneNumber", "emailAddress", "vatNumber", "iban", "bic", "website", "note",
)  # fmt: skip


KNOBS = {
    "mutation_list_amount": ("incl", "excl", "debtor", "zero"),
    "list_ids_zero": (False, True),
    "email_case": ("insensitive", "sensitive"),
    "page_cap": "1..2000 or null",  # the most items a page holds whatever limit asks (None: limit decides)
    "email_filter": ("honoured", "ignored"),  # ignored: GET /v1/relation answers relations regardless of email
    "code_filter": ("honoured", "ignored"),  # ignored: ... regardless of code / code[like]
}
# The official "too long" code of a request body field (contract.MAX_LENGTH); a field with a maximum but no
# code of its own is refused with ERR_002, the generic code, naming the field.
TOO_LONG_TITLE = "Value is too long"


def knob_value_ok(knob: str, value: Any) -> bool:
    """Whether a value is one the knob takes (page_cap: a page size of 1..2000, or None)."""
    if knob == "page_cap":
        return value is None or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LIMIT)
    return value in KNOBS[knob]


def path_key(path: str) -> str:
    """The path template a request is counted under: /v1/mutation/12 → /v1/mutation/{id}."""
    return _ID_SEGMENT.sub("/{id}", path)


def _as_number(text: str) -> Decimal:
    """A filter operand as a number (LIST_003 when it is not one)."""
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ApiProblem("ERR_002", "Filter value is invalid", f"{text!r} is not a number") from None


def _like(pattern: str, case_sensitive: bool = False) -> re.Pattern[str]:
    """LIKE as the description has it (% any run, ? one character) as a regular expression."""
    parts = ("." if ch == "?" else ".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL if case_sensitive else re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Condition:
    """One filter condition: an operator ('eq' for a bare value) and its operand."""

    operator: str
    operand: str

    case_sensitive: bool = False

    @classmethod
    def parse(cls, name: str, value: str) -> tuple[str, Condition] | None:
        """'code[like]', 'Kla%' → ('code', like 'Kla%'); 'code', 'x' → equal. The value is always literal:
        'code', '[like]Kla%' looks for the code '[like]Kla%'. None for a name that is no filter."""
        match = _PARAM.match(name)
        if not match:
            return None
        operator = match.group(2) if match.group(2) is not None else "eq"
        if operator not in OPERATORS:
            raise ApiProblem("ERR_002", "Filter operator is invalid", f"[{operator}] is not one of {', '.join(OPERATORS)}", property_name=name)
        if operator == "range" and value.count(",") != 1:
            raise ApiProblem("ERR_002", "Range is invalid", f"{name}={value!r}: a range is two values a,b", property_name=name)
        return match.group(1), cls(operator, value)

    def matches(self, value: Any) -> bool:
        """Whether a field value satisfies the condition (numbers as numbers, text case-insensitively)."""
        if self.operator in ("like", "not_like"):
            found = value is not None and bool(_like(self.operand, self.case_sensitive).fullmatch(_text(value)))
            return found if self.operator == "like" else not found
        if self.operator == "range":
            low, _, high = self.operand.partition(",")
            return self._compare(value, low) >= 0 and self._compare(value, high) <= 0
        if value is None:
            return self.operator == "not_eq"
        order = self._compare(value, self.operand)
        return {"eq": order == 0, "not_eq": order != 0, "gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[
            self.operator
        ]

    def _compare(self, value: Any, operand: str) -> int:
        """-1, 0 or 1: the value against the operand."""
        if value is None:
            return -1
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            left: Any = Decimal(value)
            right: Any = _as_number(operand)
        else:
            left, right = (_text(value), operand) if self.case_sensitive else (_text(value).casefold(), operand.casefold())
        return (left > right) - (left < right)


def _text(value: Any) -> str:
    """A field value as text (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _page(params: Mapping[str, str]) -> tuple[int, int]:
    """The limit (1..2000, default 100: PAGE_001) and offset (≥ 0: PAGE_002) of a list request."""
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise ApiProblem("PAGE_001", "Limit is invalid", "limit must be a whole number", property_name="limit") from None
    try:
        offset = int(params.get("offset", 0))
    except ValueError:
        raise ApiProblem("PAGE_002", "Offset is invalid", "offset must be a whole number", property_name="offset") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiProblem("PAGE_001", "Limit is invalid", f"limit must be between 1 and {MAX_LIMIT}", property_name="limit")
    if offset < 0:
        raise ApiProblem("PAGE_002", "Offset is invalid", "offset must not be negative", property_name="offset")
    return limit, offset


def list_answer(
    request: Request,
    items: Iterable[dict[str, Any]],
    filters: Mapping[str, str],
    shape: Callable[[dict], dict] = dict,
    case_sensitive: frozenset[str] = frozenset(),
    ignored: frozenset[str] = frozenset(),
    page_cap: int | None = None,
) -> dict[str, Any]:
    """Filter (AND over all conditions; operator in the parameter name), page and shape a list:
    {"items": [...], "count": N} where N is the number of items in this page, as documented.

    Knobs: parameters in ``ignored`` are read but not applied (an API that ignores a filter); ``page_cap``
    answers at most that many items whatever ``limit`` asks (the next page starts at the offset asked)."""
    limit, offset = _page(request.query_params)
    if page_cap:
        limit = min(limit, page_cap)
    conditions = []
    for name, raw in request.query_params.multi_items():
        parsed = Condition.parse(name, raw)
        if parsed is not None and parsed[0] in filters and parsed[0] not in ignored:
            param, condition = parsed
            if param in case_sensitive:
                condition = Condition(condition.operator, condition.operand, case_sensitive=True)
            conditions.append((filters[param], condition))
    matching = [item for item in items if all(condition.matches(item.get(field)) for field, condition in conditions)]
    page = [shape(item) for item in matching[offset : offset + limit]]
    return {"items": page, "count": len(page)}


def _pick(record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Only some fields of a record."""
    return {name: record.get(name) for name in fields}


def _mutation_view(record: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/mutation/{id}: the header and its rows."""
    return {**_pick(record, MUTATION_FIELDS), "rows": [_pick(row, ROW_FIELDS) for row in record["rows"]]}


def _mutation_item(books: BooksState) -> Callable[[dict], dict]:
    """A mutation as a list item, with the knobs for what the description leaves open (amount, id 0)."""

    def shape(record: dict[str, Any]) -> dict[str, Any]:
        item = _pick(record, MUTATION_LIST_FIELDS)
        item["amount"] = {
            "incl": record["amount"], "excl": record["totalExclVat"], "debtor": -record["amount"], "zero": 0,
        }[books.mutation_list_amount]  # fmt: skip
        if books.list_ids_zero:
            item["id"] = 0
        return item

    return shape


def _invoice_item(record: dict[str, Any]) -> dict[str, Any]:
    """An invoice as a list item (InvoiceListItem's names for the totals)."""
    item = _pick(record, ("id", "invoiceNumber", "relationId", "date", "reference", "text", "termOfPayment", "templateId"))
    return item | {"totalExcl": record["totalExclVat"], "totalAmount": record["totalInclVat"], "vatAmount": record["totalVat"]}


async def _body(request: Request) -> Any:
    """The request's JSON with exact amounts (ERR_002 when it is not JSON, DATA_01 when there is none)."""
    try:
        body = parse_json(await request.body())
    except ValueError:
        raise ApiProblem("ERR_002", "Request body is not valid JSON") from None
    if body is None:
        raise ApiProblem("DATA_01", "No content body provided")
    return body


def _fits(model: str, body: Any) -> Any:
    """The body, unless a text field is longer than the description allows: refused with the field's own
    "too long" code (REL_003, MUT_018, FACT_014, ...) or ERR_002 where the description gives it none."""
    for long in too_long(model, body):
        raise ApiProblem(
            long.code or "ERR_002", TOO_LONG_TITLE, f"{long.path} has {long.length} characters; at most {long.maximum} are allowed",
            property_name=long.path,
        )
    return body


NOT_FOUND = {"Relation": "REL_055", "Mutation": "MUT_300", "Invoice": "FACT_021"}


def _found(record: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """The record, or a 404 with the official "not found" code of its kind."""
    if record is None:
        raise ApiProblem(NOT_FOUND.get(what, "ERR_002"), f"{what} not found", status=404, kind="not-found", property_name="id")
    return record


def _json(content: Any, status: int = 200) -> Response:
    """An exact-JSON answer (FastAPI's own encoding would turn Decimals into floats)."""
    return ExactJSONResponse(content, status_code=status)


def _api_router(books: BooksState) -> APIRouter:
    """The /v1 routes; every route but the session needs a valid session token."""

    def authorize(request: Request) -> None:
        """401 unless the Authorization header holds a live session token."""
        if not books.session_valid(request.headers.get("authorization", "")):
            raise ApiProblem("SECURITY_010", "Session token is missing, invalid or expired", status=401, kind="security")

    router = APIRouter(prefix="/v1")

    @router.post("/session")
    async def open_session(request: Request) -> Response:
        """Exchange the API token for a session token."""
        return _json(books.open_session(await _body(request)))

    @router.delete("/session")
    def close_session(request: Request) -> Response:
        """end_session: "Revokes the session token." An empty answer; 401 for a token that is not (any more) valid."""
        authorize(request)
        books.close_session(request.headers["authorization"])
        return Response(status_code=200)

    @router.get("/ledger")
    def ledgers(request: Request) -> Response:
        """Ledger accounts."""
        authorize(request)
        return _json(list_answer(request, books.ledgers(), LEDGER_FILTERS, lambda item: _pick(item, LEDGER_LIST_FIELDS), page_cap=books.page_cap))

    @router.get("/ledger/{ledger_id:int}")
    def ledger(ledger_id: int, request: Request) -> Response:
        """One ledger account."""
        authorize(request)
        return _json(_found(next((item for item in books.ledgers() if item["id"] == ledger_id), None), "Ledger"))

    @router.get("/relation")
    def relations(request: Request) -> Response:
        """Relations as thin list items (id, type, code); email matches emailAddress (case per the email_case knob)."""
        authorize(request)
        sensitive = frozenset({"email"}) if books.email_case == "sensitive" else frozenset()
        ignored = frozenset(name for name, knob in (("email", books.email_filter), ("code", books.code_filter)) if knob == "ignored")
        shape = lambda item: _pick(item, RELATION_LIST_FIELDS)  # noqa: E731
        return _json(list_answer(request, books.relations(), RELATION_FILTERS, shape, sensitive, ignored, books.page_cap))

    @router.get("/relation/{relation_id:int}")
    def relation(relation_id: int, request: Request) -> Response:
        """One relation."""
        authorize(request)
        record = _found(books.relation(relation_id), "Relation")
        return _json({**_pick(record, RELATION_FIELDS), "date": books.relation_added(relation_id) or None})

    @router.post("/relation")
    async def create_relation(request: Request) -> Response:
        """Create a relation: {id, code}."""
        authorize(request)
        return _json(books.create_relation(_fits("CreateRelation", await _body(request))), 201)

    @router.patch("/relation/{relation_id:int}")
    async def update_relation(relation_id: int, request: Request) -> Response:
        """Change a relation (the integration never should)."""
        authorize(request)
        books.update_relation(relation_id, await _body(request))
        return Response(status_code=204)

    @router.get("/mutation")
    def mutations(request: Request) -> Response:
        """Mutation headers."""
        authorize(request)
        return _json(list_answer(request, books.mutations(), MUTATION_FILTERS, _mutation_item(books), page_cap=books.page_cap))

    @router.get("/mutation/invoice/outstanding")
    def outstanding(request: Request) -> Response:
        """Open items of debtors (credDeb=D) or creditors (C)."""
        authorize(request)
        cred_deb = request.query_params.get("credDeb", "")
        if not cred_deb:
            raise ApiProblem("MUTA_006", "Credit/Debit is missing", "credDeb is required: D (debtors) or C (creditors)", property_name="credDeb")
        if cred_deb not in CRED_DEB:
            raise ApiProblem("MUTA_007", "Credit/Debit is invalid", f"credDeb {cred_deb!r}: D or C", property_name="credDeb")
        return _json(list_answer(request, books.outstanding(cred_deb), OUTSTANDING_FILTERS, page_cap=books.page_cap))

    @router.get("/mutation/{mutation_id:int}")
    def mutation(mutation_id: int, request: Request) -> Response:
        """One mutation with its rows."""
        authorize(request)
        return _json(_mutation_view(_found(books.mutation(mutation_id), "Mutation")))

    @router.post("/mutation")
    async def create_mutation(request: Request) -> Response:
        """Book a mutation: {id}."""
        authorize(request)
        return _json(books.create_mutation(_fits("CreateMutation", await _body(request))), 201)

    @router.get("/invoice")
    def invoices(request: Request) -> Response:
        """Invoice headers."""
        authorize(request)
        return _json(list_answer(request, books.invoices(), INVOICE_FILTERS, _invoice_item, page_cap=books.page_cap))

    @router.get("/invoice/{invoice_id:int}")
    def invoice(invoice_id: int, request: Request) -> Response:
        """One invoice with its items."""
        authorize(request)
        return _json(_found(books.invoice(invoice_id), "Invoice"))

    @router.post("/invoice")
    async def create_invoice(request: Request) -> Response:
        """Create an invoice (and with 'mutation' its sale): {id, invoiceNumber}."""
        authorize(request)
        return _json(books.create_invoice(_fits("CreateInvoice", await _body(request))), 201)

    @router.get("/invoicetemplate")
    def templates(request: Request) -> Response:
        """Invoice templates."""
        authorize(request)
        return _json(list_answer(request, books.templates(), TEMPLATE_FILTERS, page_cap=books.page_cap))

    return router


def _books_admin_router(books: BooksState) -> APIRouter:
    """Admin routes that show or change the administration (no authentication)."""
    router = APIRouter(prefix="/__sandbox__")

    @router.get("/mutations")
    def mutations() -> Response:
        """All mutations with rows and computed totals."""
        return _json(books.mutations())

    @router.delete("/mutations/{mutation_id:int}")
    def delete_mutation(mutation_id: int) -> Response:
        """The bookkeeper deletes a mutation (404 when there is none)."""
        try:
            return _json(books.delete_mutation(mutation_id))
        except KeyError:
            return _json({"error": f"no mutation {mutation_id}"}, 404)

    @router.patch("/mutations/{mutation_id:int}")
    async def change_mutation(mutation_id: int, request: Request) -> Response:
        """The bookkeeper edits a mutation: {"amount": first row's amount as entered, "date": "YYYY-MM-DD"}."""
        body = await _body(request)
        try:
            return _json(books.change_mutation(mutation_id, amount=body.get("amount"), date=body.get("date")))
        except KeyError:
            return _json({"error": f"no mutation {mutation_id}"}, 404)

    @router.get("/relations")
    def relations() -> Response:
        """All relations."""
        return _json(books.relations())

    @router.get("/relation-patches")
    def relation_patches() -> Response:
        """Every PATCH /v1/relation the emulator received."""
        return _json([{"id": relation_id, "changes": changes} for relation_id, changes in books.relation_patches])

    @router.get("/invoices")
    def invoices() -> Response:
        """All invoices with items and totals."""
        return _json(books.invoices())

    @router.get("/ledgers")
    def ledgers() -> Response:
        """All ledgers."""
        return _json(books.ledgers())

    @router.get("/outstanding")
    def outstanding(credDeb: str = "D") -> Response:
        """Open items, unpaged."""
        return _json(books.outstanding(credDeb if credDeb in CRED_DEB else "D"))

    @router.get("/contract")
    def contract() -> Response:
        """How many requests and answers were checked against the official contract, and the violations."""
        return _json(books.contract.as_json())

    @router.post("/expire-sessions")
    def expire_sessions() -> Response:
        """Expire every session token now."""
        books.expire_sessions()
        return _json({"ok": True})

    @router.put("/settings")
    async def settings(request: Request) -> Response:
        """Change token_lifetime (seconds), closed_until (YYYY-MM-DD or null) and the knobs (see sandbox/books.py)."""
        body = await _body(request)
        for knob, allowed in KNOBS.items():
            if knob in body:
                if not knob_value_ok(knob, body[knob]):
                    return _json({"error": f"{knob} is {allowed}" if isinstance(allowed, str) else f"{knob} is one of {sorted(allowed, key=str)}"}, 400)
                setattr(books, knob, body[knob])
        if "token_lifetime" in body:
            books.token_lifetime = float(body["token_lifetime"])
        if "closed_until" in body:
            books.closed_until = body["closed_until"]
        return _json({"token_lifetime": books.token_lifetime, "closed_until": books.closed_until} | {k: getattr(books, k) for k in KNOBS})

    return router


def create_eboekhouden_app(state: BooksState, faults: FaultInjector | None = None) -> FastAPI:
    """The e-Boekhouden REST emulator for an administration, with fault injection and admin routes."""
    faults = faults or FaultInjector()
    app = FastAPI(
        title="e-Boekhouden REST API (sandbox)", docs_url=None, redoc_url=None, openapi_url=None, default_response_class=ExactJSONResponse
    )
    app.add_middleware(ContractCheck, log=state.contract)  # innermost: the emulator's own answers, before any fault
    install_middleware(app, state.stats, faults, eb_error_body, path_key)

    @app.exception_handler(ApiProblem)
    async def problem(request: Request, exc: ApiProblem) -> Response:
        """e-Boekhouden's error body."""
        return ExactJSONResponse(exc.body(), status_code=exc.status)

    app.include_router(admin_router(state.stats, faults))
    app.include_router(_books_admin_router(state))
    app.include_router(_api_router(state))
    app.state.books = state
    app.state.faults = faults
    return app
