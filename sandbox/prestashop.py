"""The PrestaShop webservice emulator (read only, under ``/api/``) and its admin routes (``/__sandbox__/``).

It speaks JSON only (``output_format=JSON`` or header ``Output-Format`` / ``Io-Format: JSON``); a request for
PrestaShop's default XML gets a 406 saying so. Keys, resources, filters, sort, limit and the error codes follow
PrestaShop's own ``webservice/dispatcher.php``, ``WebserviceRequest.php`` and ``SQLUtils::getSQLRetrieveFilter``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from sandbox.appkit import admin_router, install_middleware, parse_json
from sandbox.faults import FaultInjector
from sandbox.shop import KEY_LENGTH, LIST_KEYS, RESOURCES, SINGULAR, ShopState

REALM = 'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required."'
READ_METHODS = ("GET", "HEAD")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
PS_VERSION = "8.1.7"  # the PSWS-Version header of authenticated answers
NOT_JSON = "The sandbox emulates PrestaShop's JSON output only: add output_format=JSON (or the header Output-Format: JSON)"
# Every resource a PrestaShop 8 webservice knows (WebserviceRequest::getResources): another name is code 27; one of
# these that the sandbox does not emulate answers 501 to a key allowed to read it.
PS_RESOURCES = (
    "addresses", "attachments", "carriers", "cart_rules", "carts", "categories", "combinations", "configurations", "contacts",
    "content_management_system", "countries", "currencies", "customer_messages", "customer_threads", "customers",
    "customizations", "deliveries", "employees", "groups", "guests", "image_types", "images", "languages", "manufacturers",
    "messages", "order_carriers", "order_cart_rules", "order_details", "order_histories", "order_invoices", "order_payments",
    "order_slip", "order_states", "orders", "price_ranges", "product_customization_fields", "product_feature_values",
    "product_features", "product_option_values", "product_options", "product_suppliers", "products", "search", "shop_groups",
    "shop_urls", "shops", "specific_price_rules", "specific_prices", "states", "stock_availables", "stock_movement_reasons",
    "stock_movements", "stocks", "stores", "suppliers", "supply_order_details", "supply_order_histories",
    "supply_order_receipt_histories", "supply_order_states", "supply_orders", "tags", "tax_rule_groups", "tax_rules", "taxes",
    "translated_configurations", "warehouse_product_locations", "warehouses", "weight_ranges", "zones",
)  # fmt: skip


class WebserviceError(Exception):
    """An error answer: HTTP status, PrestaShop error code and message."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def ps_error_body(status: int, message: str) -> dict[str, Any]:
    """PrestaShop's JSON error body."""
    return {"errors": [{"code": status, "message": message}]}


def resource_key(path: str) -> str:
    """The resource a request is counted under: /api/orders/114 → orders."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "api":
        return parts[1]
    return "/".join(parts) or "/"


# date_add / date_upd are filters (and sort keys) only with date=1: PrestaShop drops them from the available
# filters otherwise, so they answer code 32 ("This filter does not exist") like any unknown field.
DATE_FILTERS = frozenset({"date_add", "date_upd"})
# PrestaShop's bracket syntax, as SQLUtils::getSQLRetrieveFilter reads it: prefix [inner] suffix.
BRACKETS = re.compile(r"^(.*)\[(.*)\](.*)$")
# [a,b] is an interval only when both ends are digits, dots, colons, dashes and spaces (numbers, dates, times).
INTERVAL = re.compile(r"^([\d.:\-\s]+),([\d.:\-\s]+)$")


def _plain(value: Any) -> str:
    """A field's value for comparing: a multi-language field's first value, else the text."""
    if isinstance(value, list):
        return str(value[0].get("value", "")) if value and isinstance(value[0], dict) else ""
    return str(value)


@lru_cache(maxsize=65536)
def _number(text: str) -> Decimal | None:
    """The number a text holds, or None."""
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers sort as numbers, other texts as texts."""
    text = _plain(value)
    number = _number(text)
    return (0, number) if number is not None else (1, text.casefold())




@dataclass(frozen=True)
class Filter:
    """One ``filter[field]=...`` read the way PrestaShop's SQLUtils::getSQLRetrieveFilter builds its SQL.

    ``value`` / ``[value]``: equality (MySQL: numeric when both are numbers, else case-insensitive);
    ``[a|b]``: any of them; ``[a,b]``: inclusive interval, only when both ends are digits or dates (else the
    bracket's text is one exact value); ``[v]%`` / ``%[v]`` / ``%[v]%``: LIKE; ``>[v]`` / ``<[v]``: comparisons;
    ``![a|b]``: none of them. Any other prefix adds no condition at all, as in PrestaShop.
    """

    field: str
    kind: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        """Wanted values pre-parsed once (a list request may scan thousands of records)."""
        numbers = frozenset(n for n in (_number(v) for v in self.values) if n is not None)
        object.__setattr__(self, "_numbers", numbers)
        object.__setattr__(self, "_texts", frozenset(v.casefold() for v in self.values))
        if self.kind == "like":
            pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in self.values[0])
            object.__setattr__(self, "_like", re.compile(f"^{pattern}$", re.IGNORECASE | re.DOTALL))

    @classmethod
    def parse(cls, name: str, raw: str) -> Filter:
        """Parse the value syntax as PrestaShop does."""
        match = BRACKETS.match(raw)
        if match is None:
            return cls(name, "any", (raw,))
        prefix, inner, suffix = match.groups()
        if prefix == "%" or suffix == "%":
            return cls(name, "like", (prefix + inner + suffix,))
        if prefix == "" and suffix == "":
            if inner.find("|") > 0:
                return cls(name, "any", tuple(inner.split("|")))
            interval = INTERVAL.match(inner)
            if interval:
                low, high = sorted(interval.groups(), key=_sort_key)
                return cls(name, "interval", (low, high))
            return cls(name, "any", (inner,))
        if prefix == ">":
            return cls(name, "greater", (inner,))
        if prefix == "<":
            return cls(name, "less", (inner,))
        if prefix == "!":
            return cls(name, "none_of", tuple(inner.split("|")))
        return cls(name, "ignored", ())

    def _equals_any(self, value: Any) -> bool:
        """MySQL equality against any wanted value: numeric when both are numbers, else case-insensitive."""
        plain = _plain(value)
        number = _number(plain)
        if number is not None and self._numbers:
            return number in self._numbers or plain.casefold() in self._texts
        return plain.casefold() in self._texts

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a record passes the filter."""
        value = record.get(self.field, "")
        if self.kind == "any":
            return self._equals_any(value)
        if self.kind == "none_of":
            return not self._equals_any(value)
        if self.kind == "ignored":
            return True
        if self.kind == "like":
            return bool(self._like.match(_plain(value)))
        key = _sort_key(value)
        if self.kind == "interval":
            low, high = self.values
            return _sort_key(low) <= key <= _sort_key(high)
        wanted = _sort_key(self.values[0])
        return key > wanted if self.kind == "greater" else key < wanted


@dataclass
class ListQuery:
    """A list request's display, filters, sort and limit."""

    display: str | None = None
    fields: tuple[str, ...] = ()
    filters: list[Filter] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)
    offset: int = 0
    count: int | None = None

    @classmethod
    def parse(cls, params: dict[str, str], known: frozenset[str] | None) -> ListQuery:
        """Read the query parameters in PrestaShop's order (filters, display, sort, limit); WebserviceError (400) with its code."""
        query = cls()
        filterable = None if known is None else (known - DATE_FILTERS if params.get("date") in (None, "", "0") else known | DATE_FILTERS)
        query._parse_filters(params, filterable)
        query._parse_display(params.get("display"), known)
        query._parse_sort(params.get("sort"), filterable)
        query._parse_limit(params.get("limit"))
        return query

    def _parse_display(self, raw: str | None, known: frozenset[str] | None) -> None:
        """display=full or display=[a,b,c] (codes 35, 36)."""
        if raw in (None, "", "minimum"):
            return
        self.display = raw
        if raw == "full":
            return
        if not (raw.startswith("[") and raw.endswith("]")):
            raise WebserviceError(400, 36, "The 'display' syntax is wrong. You can set 'full' or '[field_1,field_2,field_3,...]'")
        self.fields = tuple(name.strip() for name in raw[1:-1].split(",") if name.strip())
        unknown = [name for name in self.fields if known is not None and name not in known]
        if unknown:
            raise WebserviceError(400, 35, f'Unable to display this field "{unknown[0]}". However, these are available: {", ".join(sorted(known or ()))}')

    def _parse_filters(self, params: dict[str, str], filterable: frozenset[str] | None) -> None:
        """filter[field]=...; date_add / date_upd only with date=1 (code 32 like any unknown field), empty value 33."""
        for key, raw in params.items():
            if not (key.startswith("filter[") and key.endswith("]")):
                continue
            name = key[len("filter[") : -1]
            if filterable is not None and name not in filterable:
                hint = " (date_add and date_upd need the parameter date=1)" if name in DATE_FILTERS else ""
                raise WebserviceError(400, 32, f'This filter does not exist: "{name}"{hint}. Did you mean: "{_closest(name, filterable)}"?')
            if raw == "":
                raise WebserviceError(400, 33, f'The filter "{name}" is malformed.')
            self.filters.append(Filter.parse(name, raw))

    def _parse_sort(self, raw: str | None, filterable: frozenset[str] | None) -> None:
        """sort=[field_ASC,field_DESC] (codes 37, 38; date_upd sorts only with date=1)."""
        if not raw:
            return
        inner = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
        for part in inner.split(","):
            name, _, direction = part.rpartition("_")
            if not _ or direction.upper() not in ("ASC", "DESC"):
                raise WebserviceError(
                    400, 37, """The "sort" value has to be formed as this example: "field_ASC" or '[field_1_DESC,field_2_ASC,field_3_ASC,...]' ("field" has to be an available field)"""
                )
            if filterable is not None and name not in filterable:
                raise WebserviceError(400, 38, f"Unable to filter by this field. However, these are available: {', '.join(sorted(filterable))}")
            self.sort.append((name, direction.upper() == "DESC"))

    def _parse_limit(self, raw: str | None) -> None:
        """limit=COUNT or limit=OFFSET,COUNT; more parts are code 39, other text counts as PHP's (int) of it."""
        if raw is None or raw == "":
            return
        parts = raw.split(",")
        if len(parts) > 2:
            raise WebserviceError(400, 39, 'The "limit" value has to be formed as this example: "5,25" or "10"')
        numbers = [_php_int(p) for p in parts]
        self.offset, self.count = (numbers[0], numbers[1]) if len(numbers) == 2 else (0, numbers[0])

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a record passes every filter."""
        return all(f.matches(record) for f in self.filters)

    def apply(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Filter, sort (by id unless told), page and pick the fields."""
        return self.finish([r for r in records if self.matches(r)])

    def finish(self, selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sort (by id unless told), page and pick the fields of records that passed the filters."""
        for name, descending in reversed(self.sort or [("id", False)]):
            selected.sort(key=lambda r: _sort_key(r.get(name, "")), reverse=descending)
        end = None if self.count is None else self.offset + self.count
        return [self._shape(r) for r in selected[self.offset : end]]

    def _shape(self, record: dict[str, Any]) -> dict[str, Any]:
        """The fields display asks for (only the id without display)."""
        if self.display == "full":
            return record
        names = self.fields or ("id",)
        return {name: record[name] for name in names if name in record}


def _php_int(text: str) -> int:
    """PHP's (int) of a text: its leading digits (after spaces and a sign), else 0."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return max(0, int(match.group(1))) if match else 0


def _closest(name: str, names: Iterable[str]) -> str:
    """The available name nearest to a wrong one (PrestaShop's "Did you mean")."""
    return min(sorted(names), key=lambda other: (_distance(name, other), other), default="")


def _distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, char_b in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (char_a != char_b))
    return row[-1]


def _wants_json(request: Request) -> bool:
    """JSON when the Io-Format / Output-Format header or output_format / io_format asks for it (PrestaShop's order)."""
    asked = (
        request.headers.get("io-format") or request.headers.get("output-format")
        or request.query_params.get("output_format") or request.query_params.get("io_format") or ""
    )  # fmt: skip
    return asked.upper() == "JSON"


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer; a 404 for an unknown id has an empty body, like PrestaShop's."""
    if content is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(content, status_code=status, headers=headers)


def _key_of(state: ShopState, request: Request) -> str | None:
    """The webservice key as PrestaShop's dispatcher reads it: the HTTP Basic user name first, then ws_key; None without either.

    With ``state.strip_authorization`` the Authorization header never arrives (php-fpm/CGI hosts that drop it)."""
    auth = "" if state.strip_authorization else request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            return base64.b64decode(auth[6:].strip()).decode("utf-8", "replace").partition(":")[0].strip()
        except (binascii.Error, ValueError):
            pass
    if "ws_key" in request.query_params:
        return request.query_params["ws_key"].strip()
    return None


def _authenticate(state: ShopState, key: str) -> None:
    """WebserviceRequest::authenticate: 401 with codes 17 (empty), 18 (not 32 characters), 20 (no such active key)."""
    if not key:
        raise WebserviceError(401, 17, "Authentication key is empty", {"WWW-Authenticate": REALM})
    if len(key) != KEY_LENGTH:
        raise WebserviceError(401, 18, "Invalid authentication key format", {"WWW-Authenticate": REALM})
    if state.permission(key, "") is None:
        raise WebserviceError(401, 20, "Authentification key is not active", {"WWW-Authenticate": REALM})


def _authorize(state: ShopState, request: Request, key: str, resource: str | None) -> None:
    """Then checkResource (26: the key may not use the resource, 401; 27: no such resource, 400) and checkHTTPMethod (25, 405)."""
    _authenticate(state, key)
    if resource is None:
        return
    if resource not in PS_RESOURCES:
        raise WebserviceError(400, 27, f'Resource of type "{resource}" does not exists. Did you mean: "{_closest(resource, PS_RESOURCES)}"?')
    if not state.permission(key, resource):
        raise WebserviceError(401, 26, f'Resource of type "{resource}" is not allowed with this authentication key')
    if request.method not in state.methods(key, resource):  # the key has the resource, but not this method ticked
        raise WebserviceError(405, 25, f"Method {request.method} is not allowed for the resource {resource} with this authentication key")
    if request.method not in READ_METHODS:
        raise WebserviceError(501, 124, "The sandbox does not emulate writes")
    if resource not in RESOURCES:
        raise WebserviceError(501, 124, f'The sandbox does not emulate the resource "{resource}"')


def _answer(state: ShopState, request: Request, resource: str | None, produce: Callable[[str], tuple[Any, int]]) -> Response:
    """Check format and key, run a handler; WebserviceError becomes PrestaShop's error answer."""
    if not _wants_json(request):
        return PlainTextResponse(NOT_JSON, status_code=406)
    key = _key_of(state, request)
    if key is None:  # dispatcher.php: no key at all → a bare 401 before the webservice starts
        return PlainTextResponse("401 Unauthorized", status_code=401, headers={"WWW-Authenticate": REALM})
    try:
        _authorize(state, request, key, resource)
        content, status = produce(key)
    except WebserviceError as error:
        return _json(ps_error_body(error.code, error.message), error.status, error.headers)
    return _json(content, status, {"PSWS-Version": PS_VERSION})


def _webservice_router(state: ShopState) -> APIRouter:
    """GET /api/, /api/{resource}, /api/{resource}/{id}."""
    router = APIRouter(prefix="/api")

    @router.api_route("/", methods=ALL_METHODS)
    def api_root(request: Request) -> Response:
        """The resources this key may view."""

        def produce(key: str) -> tuple[Any, int]:
            """The API description."""
            allowed = {name: state.methods(key, name) for name in RESOURCES if state.permission(key, name)}
            flags = ("get", "put", "post", "delete", "head")
            return {"api": {name: {flag: str(flag.upper() in methods).lower() for flag in flags} for name, methods in allowed.items()}}, 200

        return _answer(state, request, None, produce)

    @router.api_route("/{resource}", methods=ALL_METHODS)
    def list_resource(resource: str, request: Request) -> Response:
        """A list, filtered, sorted, paged; [] when empty."""

        def produce(key: str) -> tuple[Any, int]:
            """The list answer."""
            query = ListQuery.parse(dict(request.query_params), state.fields(resource))
            items = query.finish(state.select(resource, query.matches))  # filter first, copy only the matches
            return ({LIST_KEYS.get(resource, resource): items} if items else []), 200

        return _answer(state, request, resource, produce)

    @router.api_route("/{resource}/{item_id}", methods=ALL_METHODS)
    def get_item(resource: str, item_id: str, request: Request) -> Response:
        """One record with all its fields; 404 with an empty body when unknown (the id is read as PHP's (int))."""

        def produce(key: str) -> tuple[Any, int]:
            """The single-record answer."""
            record = state.get(resource, _php_int(item_id))
            if record is None:
                return None, 404
            return {SINGULAR[resource]: record}, 200

        return _answer(state, request, resource, produce)

    return router


async def _json_body(request: Request) -> Any:
    """The request's JSON with exact amounts; ValueError when it is not JSON."""
    return parse_json(await request.body())


def _shop_admin_router(state: ShopState) -> APIRouter:
    """Admin routes that change the shop: orders, payments, keys, and the seed's tags."""
    router = APIRouter(prefix="/__sandbox__")

    async def run(request: Request, change: Callable[[Any], Any], status: int = 200) -> Response:
        """Apply a change from a JSON body; 404 for an unknown order, 400 for a bad body."""
        try:
            return JSONResponse(change(await _json_body(request)), status_code=status)
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc}"}, status_code=404)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    @router.post("/orders")
    async def create_order(request: Request) -> Response:
        """Create an order from a compact spec."""
        return await run(request, lambda spec: {"order": state.create_order(spec)}, 201)

    @router.patch("/orders/{order_id}")
    async def update_order(order_id: int, request: Request) -> Response:
        """Change an order's state and/or raw fields (date_upd moves)."""
        return await run(request, lambda changes: {"order": state.update_order(order_id, **(changes or {}))})

    @router.post("/order_payments")
    async def add_payment(request: Request) -> Response:
        """Register a payment on an order reference."""
        return await run(request, lambda payment: {"order_payment": state.add_payment(**payment)}, 201)

    @router.post("/order_slips")
    async def create_slip(request: Request) -> Response:
        """Create a credit slip on an order as PrestaShop's refund does (lines, shipping, voucher_refund, ...; sandbox/shop.py)."""
        return await run(request, lambda spec: {"order_slip": state.create_slip(spec)}, 201)

    @router.get("/slip_tags")
    def slip_tags() -> dict[str, list[int]]:
        """Credit slip ids per seed tag (slip_full, slip_partial_amount, slip_b2b, slip_order_unbooked, ...)."""
        with state.lock:
            names = sorted({tag for tags in state.slip_tags.values() for tag in tags})
        return {name: state.tagged_slips(name) for name in names}

    @router.put("/configurations/{name}")
    async def set_configuration(name: str, request: Request) -> Response:
        """Change a setting: {"value": "3"} (PS_ROUND_TYPE: 1 item, 2 line, 3 total); 404 for a setting the shop lacks."""

        def change(body: Any) -> dict[str, Any]:
            """Store the value."""
            if not isinstance(body, dict) or "value" not in body:
                raise ValueError('give {"value": ...}')
            return {"configuration": state.set_configuration(name, body["value"])}

        return await run(request, change)

    @router.put("/customers/{customer_id}/group")
    async def set_customer_group(customer_id: int, request: Request) -> Response:
        """Move a customer to another default group: {"group": 4} (Business: prices without VAT)."""

        def change(body: Any) -> dict[str, Any]:
            """Store the group."""
            if not isinstance(body, dict) or "group" not in body:
                raise ValueError('give {"group": N}')
            return {"customer": state.set_customer_group(customer_id, int(body["group"]))}

        return await run(request, change)

    @router.put("/keys/{key}")
    async def set_key(key: str, request: Request) -> Response:
        """Add or change a webservice key: {"resources": [...]} limits it to viewing those (null: view all);
        {"resources": {"orders": ["PUT"], ...}} gives it those methods per resource."""

        def change(body: Any) -> dict[str, str]:
            """Store the key."""
            state.set_key(key, (body or {}).get("resources"))
            return {"key": key}

        return await run(request, change)

    @router.put("/settings")
    async def settings(request: Request) -> Response:
        """Knobs of the emulated host: {"strip_authorization": true} drops the Authorization header (php-fpm/CGI)."""

        def change(body: Any) -> dict[str, bool]:
            """Apply the known knobs."""
            unknown = set(body or {}) - {"strip_authorization"}
            if unknown:
                raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
            if "strip_authorization" in (body or {}):
                state.strip_authorization = bool(body["strip_authorization"])
            return {"strip_authorization": state.strip_authorization}

        return await run(request, change)

    @router.get("/tags")
    def tags() -> dict[str, list[int]]:
        """Order ids per seed tag (icp, oss_de, cent_mismatch, ...)."""
        with state.lock:
            names = sorted({tag for tags in state.tags.values() for tag in tags})
        return {name: state.tagged(name) for name in names}

    @router.get("/now")
    def now() -> dict[str, str]:
        """The shop's current local time."""
        return {"now": state.clock().strftime("%Y-%m-%d %H:%M:%S"), "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}

    return router


def create_prestashop_app(state: ShopState, faults: FaultInjector | None = None) -> FastAPI:
    """The PrestaShop webservice emulator for a shop state, with fault injection and admin routes."""
    faults = faults or FaultInjector()
    app = FastAPI(title="PrestaShop webservice (sandbox)", docs_url=None, redoc_url=None, openapi_url=None)
    install_middleware(app, state.stats, faults, ps_error_body, resource_key)
    app.include_router(admin_router(state.stats, faults))
    app.include_router(_shop_admin_router(state))
    app.include_router(_webservice_router(state))
    app.state.shop = state
    app.state.faults = faults
    return app
