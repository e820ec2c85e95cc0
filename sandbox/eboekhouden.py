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
from sandbox.faults import FaultInjector

DEFAULT_LIMIT = 100
MAX_LIMIT = 2000
OPERATORS = ("like", "not_eq", "not_like", "gt", "gte", "lt", "lte", "range")
_OPERATOR = re.compile(r"^\[(\w+)\](.*)$", re.DOTALL)
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")

# List endpoint → query parameter → item field it filters on.
LEDGER_FILTERS = {"id": "id", "code": "code", "category": "category", "description": "description", "group": "group"}
RELATION_FILTERS = {
    "id": "id",
    "code": "code",
    "type": "type",
    "email": "emailAddress",
    "name": "name",
    "contact": "contact",
    "city": "city",
}
MUTATION_FILTERS = {
    "id": "id", "type": "type", "date": "date", "invoiceNumber": "invoiceNumber", "description": "description",
    "ledgerId": "ledgerId", "relationId": "relationId", "entryNumber": "entryNumber",
}  # fmt: skip
OUTSTANDING_FILTERS = {"invoiceNumber": "invoiceNumber", "relationId": "relationId", "mutationId": "mutationId"}
INVOICE_FILTERS = {"id": "id", "invoiceNumber": "invoiceNumber", "relationId": "relationId", "date": "date", "reference": "reference"}
TEMPLATE_FILTERS = {"id": "id", "name": "name", "type": "type", "active": "active"}
MUTATION_LIST_FIELDS = ("id", "type", "date", "invoiceNumber", "ledgerId", "relationId", "amount", "entryNumber", "description")
MUTATION_FIELDS = (*MUTATION_LIST_FIELDS, "termOfPayment", "inExVat", "paymentReference")
ROW_FIELDS = ("ledgerId", "vatCode", "amount", "vatAmount", "description", "invoiceNumber", "relationId", "costCenterId")
INVOICE_LIST_FIELDS = ("id", "invoiceNumber", "relationId", "date", "reference", "totalInclVat", "totalExclVat", "templateId")


def path_key(path: str) -> str:
    """The path template a request is counted under: /v1/mutation/12 → /v1/mutation/{id}."""
    return _ID_SEGMENT.sub("/{id}", path)


def _as_number(text: str) -> Decimal:
    """A filter operand as a number (LIST_003 when it is not one)."""
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ApiProblem("LIST_003", "Filter value is invalid", f"{text!r} is not a number") from None


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (% any run, _ one character) as a case-insensitive regular expression."""
    parts = ("." if ch == "_" else ".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Condition:
    """One filter condition: an operator ('eq' for a bare value) and its operand."""

    operator: str
    operand: str

    @classmethod
    def parse(cls, raw: str) -> Condition:
        """'[like]Kla%' → like 'Kla%'; a bare value means equal."""
        match = _OPERATOR.match(raw)
        if not match:
            return cls("eq", raw)
        if match.group(1) not in OPERATORS:
            raise ApiProblem("LIST_003", "Filter operator is invalid", f"[{match.group(1)}] is not one of {', '.join(OPERATORS)}")
        return cls(match.group(1), match.group(2))

    def matches(self, value: Any) -> bool:
        """Whether a field value satisfies the condition (numbers as numbers, text case-insensitively)."""
        if self.operator in ("like", "not_like"):
            found = value is not None and bool(_like(self.operand).fullmatch(_text(value)))
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

    @staticmethod
    def _compare(value: Any, operand: str) -> int:
        """-1, 0 or 1: the value against the operand."""
        if value is None:
            return -1
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            left: Any = Decimal(value)
            right: Any = _as_number(operand)
        else:
            left, right = _text(value).casefold(), operand.strip().casefold()
        return (left > right) - (left < right)


def _text(value: Any) -> str:
    """A field value as text (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _page(params: Mapping[str, str]) -> tuple[int, int]:
    """The limit (1..2000, default 100) and offset (≥ 0) of a list request."""
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
        offset = int(params.get("offset", 0))
    except ValueError:
        raise ApiProblem("LIST_001", "Limit or offset is invalid", "limit and offset must be whole numbers") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiProblem("LIST_001", "Limit is invalid", f"limit must be between 1 and {MAX_LIMIT}", property_name="limit")
    if offset < 0:
        raise ApiProblem("LIST_002", "Offset is invalid", "offset must not be negative", property_name="offset")
    return limit, offset


def list_answer(
    request: Request, items: Iterable[dict[str, Any]], filters: Mapping[str, str], shape: Callable[[dict], dict] = dict
) -> dict[str, Any]:
    """Filter (AND over all conditions), count, page and shape a list: {"items": [...], "count": N}."""
    limit, offset = _page(request.query_params)
    conditions = [(filters[name], Condition.parse(raw)) for name, raw in request.query_params.multi_items() if name in filters]
    matching = [item for item in items if all(condition.matches(item.get(field)) for field, condition in conditions)]
    return {"items": [shape(item) for item in matching[offset : offset + limit]], "count": len(matching)}


def _pick(record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Only some fields of a record."""
    return {name: record.get(name) for name in fields}


def _mutation_view(record: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/mutation/{id}: the header and its rows."""
    return {**_pick(record, MUTATION_FIELDS), "rows": [_pick(row, ROW_FIELDS) for row in record["rows"]]}


async def _body(request: Request) -> Any:
    """The request's JSON with exact amounts (API_BODY_001 when it is not JSON)."""
    try:
        body = parse_json(await request.body())
    except ValueError:
        raise ApiProblem("API_BODY_001", "Request body is not valid JSON") from None
    return body if body is not None else {}


def _found(record: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """The record, or a 404 problem."""
    if record is None:
        raise ApiProblem("API_NOT_FOUND", f"{what} not found", status=404, kind="not-found", property_name="id")
    return record


def _json(content: Any, status: int = 200) -> Response:
    """An exact-JSON answer (FastAPI's own encoding would turn Decimals into floats)."""
    return ExactJSONResponse(content, status_code=status)


def _api_router(books: BooksState) -> APIRouter:
    """The /v1 routes; every route but the session needs a valid session token."""

    def authorize(request: Request) -> None:
        """401 unless the Authorization header holds a live session token."""
        if not books.session_valid(request.headers.get("authorization", "")):
            raise ApiProblem("API_SESSION_005", "Session token is missing, invalid or expired", status=401, kind="security")

    router = APIRouter(prefix="/v1")

    @router.post("/session")
    async def open_session(request: Request) -> Response:
        """Exchange the API token for a session token."""
        return _json(books.open_session(await _body(request)))

    @router.delete("/session")
    def close_session(request: Request) -> Response:
        """Revoke the session token."""
        authorize(request)
        books.close_session(request.headers["authorization"])
        return Response(status_code=204)

    @router.get("/ledger")
    def ledgers(request: Request) -> Response:
        """Ledger accounts."""
        authorize(request)
        return _json(list_answer(request, books.ledgers(), LEDGER_FILTERS))

    @router.get("/ledger/{ledger_id:int}")
    def ledger(ledger_id: int, request: Request) -> Response:
        """One ledger account."""
        authorize(request)
        return _json(_found(next((item for item in books.ledgers() if item["id"] == ledger_id), None), "Ledger"))

    @router.get("/relation")
    def relations(request: Request) -> Response:
        """Relations (email matches emailAddress, case-insensitively)."""
        authorize(request)
        return _json(list_answer(request, books.relations(), RELATION_FILTERS))

    @router.get("/relation/{relation_id:int}")
    def relation(relation_id: int, request: Request) -> Response:
        """One relation."""
        authorize(request)
        return _json(_found(books.relation(relation_id), "Relation"))

    @router.post("/relation")
    async def create_relation(request: Request) -> Response:
        """Create a relation: {id, code}."""
        authorize(request)
        return _json(books.create_relation(await _body(request)), 201)

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
        return _json(list_answer(request, books.mutations(), MUTATION_FILTERS, lambda m: _pick(m, MUTATION_LIST_FIELDS)))

    @router.get("/mutation/invoice/outstanding")
    def outstanding(request: Request) -> Response:
        """Open items of debtors (credDeb=D) or creditors (C)."""
        authorize(request)
        cred_deb = request.query_params.get("credDeb", "")
        if cred_deb not in CRED_DEB:
            raise ApiProblem("LIST_003", "credDeb is invalid", "credDeb must be D or C", property_name="credDeb")
        return _json(list_answer(request, books.outstanding(cred_deb), OUTSTANDING_FILTERS))

    @router.get("/mutation/{mutation_id:int}")
    def mutation(mutation_id: int, request: Request) -> Response:
        """One mutation with its rows."""
        authorize(request)
        return _json(_mutation_view(_found(books.mutation(mutation_id), "Mutation")))

    @router.post("/mutation")
    async def create_mutation(request: Request) -> Response:
        """Book a mutation: {id}."""
        authorize(request)
        return _json(books.create_mutation(await _body(request)), 201)

    @router.get("/invoice")
    def invoices(request: Request) -> Response:
        """Invoice headers."""
        authorize(request)
        return _json(list_answer(request, books.invoices(), INVOICE_FILTERS, lambda i: _pick(i, INVOICE_LIST_FIELDS)))

    @router.get("/invoice/{invoice_id:int}")
    def invoice(invoice_id: int, request: Request) -> Response:
        """One invoice with its items."""
        authorize(request)
        return _json(_found(books.invoice(invoice_id), "Invoice"))

    @router.post("/invoice")
    async def create_invoice(request: Request) -> Response:
        """Create an invoice (and with 'mutation' its sale): {id, invoiceNumber, inExVat}."""
        authorize(request)
        return _json(books.create_invoice(await _body(request)), 201)

    @router.get("/invoicetemplate")
    def templates(request: Request) -> Response:
        """Invoice templates."""
        authorize(request)
        return _json(list_answer(request, books.templates(), TEMPLATE_FILTERS))

    return router


def _books_admin_router(books: BooksState) -> APIRouter:
    """Admin routes that show or change the administration (no authentication)."""
    router = APIRouter(prefix="/__sandbox__")

    @router.get("/mutations")
    def mutations() -> Response:
        """All mutations with rows and computed totals."""
        return _json(books.mutations())

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

    @router.post("/expire-sessions")
    def expire_sessions() -> Response:
        """Expire every session token now."""
        books.expire_sessions()
        return _json({"ok": True})

    @router.put("/settings")
    async def settings(request: Request) -> Response:
        """Change token_lifetime (seconds) and/or closed_until (YYYY-MM-DD or null)."""
        body = await _body(request)
        if "token_lifetime" in body:
            books.token_lifetime = float(body["token_lifetime"])
        if "closed_until" in body:
            books.closed_until = body["closed_until"]
        return _json({"token_lifetime": books.token_lifetime, "closed_until": books.closed_until})

    return router


def create_eboekhouden_app(state: BooksState, faults: FaultInjector | None = None) -> FastAPI:
    """The e-Boekhouden REST emulator for an administration, with fault injection and admin routes."""
    faults = faults or FaultInjector()
    app = FastAPI(
        title="e-Boekhouden REST API (sandbox)", docs_url=None, redoc_url=None, openapi_url=None, default_response_class=ExactJSONResponse
    )
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
