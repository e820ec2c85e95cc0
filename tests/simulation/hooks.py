"""The pipeline's boundary, in-process: the real hooks with their wire replaced by the emulators' state machines.

:class:`SimShop` is the real :class:`PrestaShopHook` (paging, batching by id, caches, reference data) whose one
request method answers from :class:`sandbox.shop.ShopState` with the webservice emulator's own list query
(``sandbox.prestashop.ListQuery``: filters, sort, limit as PrestaShop reads them). :class:`SimBooks` is the real
REST :class:`EBoekhoudenHook` (paged listings with the cap it learns, every filtered item checked, sales made whole,
debtors confirmed by e-mail) whose one call method routes to :class:`sandbox.books.BooksState` the way the REST
emulator's routes do (``sandbox.eboekhouden``: the same list filters, the same "too long" checks, the same error
codes, request bodies through exact JSON and back). Each request is a crossing of the :class:`~faults.Boundary`,
where faults are injected; the store is wrapped likewise (:class:`StoreBoundary`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests
from starlette.datastructures import QueryParams

from prestashop_eboekhouden.contract.eboekhouden import meaning_of
from prestashop_eboekhouden.domain.payloads import to_json
from prestashop_eboekhouden.hooks.base import ApiError
from prestashop_eboekhouden.hooks.eboekhouden import EBoekhoudenHook
from prestashop_eboekhouden.hooks.eboekhouden_soap import WRITES as SOAP_WRITES
from prestashop_eboekhouden.hooks.eboekhouden_soap import EBoekhoudenSoapHook
from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
from sandbox import eboekhouden as rest
from sandbox.appkit import parse_json
from sandbox.books import (
    CRED_DEB,
    DEFAULT_SOAP_SECURITY_CODE_1,
    DEFAULT_SOAP_SECURITY_CODE_2,
    DEFAULT_SOAP_USERNAME,
    ApiProblem,
    BooksState,
)
from sandbox.prestashop import LIST_KEYS, ListQuery, WebserviceError
from sandbox.shop import ShopState
from sandbox.soap import XML_TYPE, SoapService, _operation_element, envelope

from .faults import Boundary

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFERENCE = frozenset({"countries", "order_states", "taxes", "currencies", "configurations", "groups"})
QUIET = logging.getLogger("tests.simulation.hooks")  # the hooks' own log lines (Airflow's task logger) stay out
QUIET.setLevel(logging.CRITICAL)


class SimShop(PrestaShopHook):
    """PrestaShopHook answered in-process by a ShopState."""

    log = QUIET

    def __init__(self, shop: ShopState, boundary: Boundary, page_size: int):
        super().__init__("prestashop_sim", page_size=page_size)
        self.shop, self.boundary = shop, boundary

    def request(self, method: str, endpoint: str, *, params: Any = None, body: bytes | None = None, headers: dict | None = None,
                idempotent: bool | None = None, resource: str | None = None) -> Any:  # fmt: skip
        name = endpoint.split("/", 1)[1]
        params = dict(params or {})
        self._count(method, name)
        later_page = str(params.get("limit", "0")).split(",")[0] not in ("", "0")
        return self.boundary.cross(f"ps.{name}", "ps_page" if later_page else "ps_read", lambda: self._answer(name, params))

    def _answer(self, resource: str, params: dict[str, str]) -> Any:
        if resource in REFERENCE:  # tables the simulation never edits (taxes only grow): one answer per question
            cache = self.shop.__dict__.setdefault("_sim_answers", {})
            key = (resource, len(self.shop._tables[resource]), tuple(sorted(params.items())))
            if key not in cache:
                cache[key] = self._query(resource, params)
            return cache[key]
        return self._query(resource, params)

    def _query(self, resource: str, params: dict[str, str]) -> Any:
        try:
            query = ListQuery.parse(params, self.shop.fields(resource))
        except WebserviceError as exc:  # a request the webservice refuses is a bug of ours: let it show
            raise AssertionError(f"PrestaShop would refuse {resource} {params}: {exc.message}") from None
        with self.shop.lock:  # filtered, sorted and paged on the stored records; only the page is copied (as
            table = self.shop._tables[resource]  # ShopState.select would copy every match: most of the time spent)
            page = query.finish([table[item_id] for item_id in sorted(table) if query.matches(table[item_id])])
            items = [ShopState._visible(record) for record in page]
        return {LIST_KEYS.get(resource, resource): items} if items else []


class _Request:
    """What the REST emulator's list helper reads of a request: its query parameters."""

    def __init__(self, params: dict[str, Any] | None):
        self.query_params = QueryParams([(k, str(v)) for k, v in (params or {}).items()])


class SimBooks(EBoekhoudenHook):
    """EBoekhoudenHook (REST) answered in-process by a BooksState, as the REST emulator's routes answer."""

    log = QUIET

    def __init__(self, books: BooksState, boundary: Boundary):
        super().__init__("eboekhouden_sim")
        self.books, self.boundary = books, boundary

    def call(self, method: str, endpoint: str, *, params: dict | None = None, payload: Any = None) -> Any:
        method = method.upper()
        resource = self.resource_of(endpoint)
        self._count(method, resource)
        return self.boundary.cross(f"eb.{method} {resource}", "eb_write" if method in WRITES else "eb_read", lambda: self._route(method, endpoint, params, payload))

    def close_session(self) -> None:
        """No session in-process."""

    def _route(self, method: str, endpoint: str, params: dict | None, payload: Any) -> Any:
        try:
            return _ROUTES[(method, _template(endpoint))](self.books, endpoint, _Request(params), None if payload is None else parse_json(to_json(payload)))
        except ApiProblem as exc:
            raise ApiError(exc.status, exc.code, exc.title, exc.message, endpoint, meaning_of(exc.code)) from None


class SimSoapBooks(EBoekhoudenSoapHook):
    """EBoekhoudenSoapHook (the legacy SOAP API) answered in-process by the SOAP emulator's service over the same
    BooksState: the hook's own envelopes (zeep), the emulator's answer envelopes, the hook's own reading of them."""

    log = QUIET

    def __init__(self, books: BooksState, service: SoapService, boundary: Boundary):
        super().__init__("eboekhouden_sim_soap", session_max_age=900.0)
        self.books, self.service, self.boundary = books, service, boundary

    def _credentials(self) -> tuple[str, str, str, str]:
        return DEFAULT_SOAP_USERNAME, DEFAULT_SOAP_SECURITY_CODE_1, DEFAULT_SOAP_SECURITY_CODE_2, "PSEB"

    def close_session(self) -> None:
        """No session to end in-process."""

    def request(self, method: str, endpoint: str, *, params: Any = None, body: bytes | None = None, headers: dict | None = None,
                idempotent: bool | None = None, resource: str | None = None) -> Any:  # fmt: skip
        action = str((headers or {}).get("SOAPAction", "")).strip('"')
        name, node = _operation_element(body or b"", action)
        self._count("POST", f"soap/{name}")
        if name in ("OpenSession", "CloseSession"):  # not the booking's business: never faulted
            return self._reply(name, node)
        return self.boundary.cross(f"eb.soap/{name}", "eb_write" if name in SOAP_WRITES else "eb_read", lambda: self._reply(name, node))

    def _reply(self, name: str, node: Any) -> requests.Response:
        response = requests.Response()
        response._content = envelope(self.service.answer(name, node))
        response.status_code = 200
        response.headers["Content-Type"] = XML_TYPE
        response.encoding = "utf-8"
        return response


def _template(endpoint: str) -> str:
    return "/".join("{id}" if part.isdigit() else part for part in endpoint.strip("/").split("/"))


def _id(endpoint: str) -> int:
    return int(endpoint.rstrip("/").rsplit("/", 1)[1])


def _relations(books: BooksState, endpoint: str, request: _Request, body: Any) -> Any:
    sensitive = frozenset({"email"}) if books.email_case == "sensitive" else frozenset()
    ignored = frozenset(name for name, knob in (("email", books.email_filter), ("code", books.code_filter)) if knob == "ignored")
    shape = lambda item: rest._pick(item, rest.RELATION_LIST_FIELDS)  # noqa: E731
    return rest.list_answer(request, books.relations(), rest.RELATION_FILTERS, shape, sensitive, ignored, books.page_cap)  # type: ignore[arg-type]


def _relation(books: BooksState, endpoint: str, request: _Request, body: Any) -> Any:
    relation_id = _id(endpoint)
    record = rest._found(books.relation(relation_id), "Relation")
    return {**rest._pick(record, rest.RELATION_FIELDS), "date": books.relation_added(relation_id) or None}


def _outstanding(books: BooksState, endpoint: str, request: _Request, body: Any) -> Any:
    cred_deb = request.query_params.get("credDeb", "")
    if cred_deb not in CRED_DEB:
        raise ApiProblem("MUTA_007", "Credit/Debit is invalid", property_name="credDeb")
    return rest.list_answer(request, books.outstanding(cred_deb), rest.OUTSTANDING_FILTERS, page_cap=books.page_cap)  # type: ignore[arg-type]


Route = Callable[[BooksState, str, _Request, Any], Any]
_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "v1/ledger"): lambda b, e, r, _: rest.list_answer(r, b.ledgers(), rest.LEDGER_FILTERS, lambda i: rest._pick(i, rest.LEDGER_LIST_FIELDS), page_cap=b.page_cap),  # type: ignore[arg-type]
    ("GET", "v1/relation"): _relations,
    ("GET", "v1/relation/{id}"): _relation,
    ("POST", "v1/relation"): lambda b, e, r, body: b.create_relation(rest._fits("CreateRelation", body)),
    ("GET", "v1/mutation"): lambda b, e, r, _: rest.list_answer(r, b.mutations(), rest.MUTATION_FILTERS, rest._mutation_item(b), page_cap=b.page_cap),  # type: ignore[arg-type]
    ("GET", "v1/mutation/invoice/outstanding"): _outstanding,
    ("GET", "v1/mutation/{id}"): lambda b, e, r, _: rest._mutation_view(rest._found(b.mutation(_id(e)), "Mutation")),
    ("POST", "v1/mutation"): lambda b, e, r, body: b.create_mutation(rest._fits("CreateMutation", body)),
    ("GET", "v1/invoice"): lambda b, e, r, _: rest.list_answer(r, b.invoices(), rest.INVOICE_FILTERS, rest._invoice_item, page_cap=b.page_cap),  # type: ignore[arg-type]
    ("GET", "v1/invoice/{id}"): lambda b, e, r, _: rest._found(b.invoice(_id(e)), "Invoice"),
    ("POST", "v1/invoice"): lambda b, e, r, body: b.create_invoice(rest._fits("CreateInvoice", body)),
    ("GET", "v1/invoicetemplate"): lambda b, e, r, _: rest.list_answer(r, b.templates(), rest.TEMPLATE_FILTERS, page_cap=b.page_cap),  # type: ignore[arg-type]
}


class StoreBoundary:
    """The state store as the pipeline sees it, each public call a crossing (where a kill may follow); its claims
    objects (orders, payments, credits) likewise. Everything else passes through."""

    PASS = frozenset({"engine", "begin", "url", "ensure_schema"})

    def __init__(self, store: Any, boundary: Boundary, prefix: str = "store"):
        self._store, self._boundary, self._prefix = store, boundary, prefix
        self._wrapped: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name in self._wrapped:
            return self._wrapped[name]
        attr = getattr(self._store, name)
        if name.endswith("_claims"):
            wrapped: Any = StoreBoundary(attr, self._boundary, attr.table.name.removeprefix("presta_eb_"))
        elif callable(attr) and not name.startswith("_") and name not in self.PASS:
            target = f"{self._prefix}.{name}"

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                return self._boundary.cross(target, "store", lambda: attr(*args, **kwargs))
        else:
            return attr
        self._wrapped[name] = wrapped
        return wrapped
