"""The PrestaShop webservice emulator (read only, under ``/api/``) and its admin routes (``/__sandbox__/``).

JSON with ``output_format=JSON`` (or header ``Output-Format: JSON``); otherwise a minimal XML rendering of the
same data (``<prestashop><orders><order><id>1</id>...``), without PrestaShop's xlink attributes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sandbox.appkit import admin_router, install_middleware, parse_json
from sandbox.faults import FaultInjector
from sandbox.shop import RESOURCES, SINGULAR, ShopState

REALM = 'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required."'
READ_METHODS = ("GET", "HEAD")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
XML_SINGULAR = {**SINGULAR, "order_rows": "order_row"}


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


def _is_date_field(name: str) -> bool:
    """Date fields need date=1 to be filtered on."""
    return name.startswith("date_") or name.endswith("_date")


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
    """One ``filter[field]=...``: any of a list, an inclusive interval, equality or a prefix/suffix/substring."""

    field: str
    kind: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        """Wanted values pre-parsed once (a list request may scan thousands of records)."""
        numbers = frozenset(n for n in (_number(v) for v in self.values) if n is not None)
        object.__setattr__(self, "_numbers", numbers)
        object.__setattr__(self, "_texts", frozenset(v.casefold() for v in self.values))

    @classmethod
    def parse(cls, name: str, raw: str) -> Filter:
        """Parse the value syntax: [a|b], [a,b], value, [v]%, %[v], %[v]%."""
        if raw.startswith("%[") and raw.endswith("]%"):
            return cls(name, "contains", (raw[2:-2],))
        if raw.startswith("%[") and raw.endswith("]"):
            return cls(name, "ends", (raw[2:-1],))
        if raw.startswith("[") and raw.endswith("]%"):
            return cls(name, "begins", (raw[1:-2],))
        if raw.startswith("[") and raw.endswith("]"):
            inner = raw[1:-1]
            if "," in inner and "|" not in inner:
                low, _, high = inner.partition(",")
                return cls(name, "interval", (low.strip(), high.strip()))
            return cls(name, "any", tuple(inner.split("|")))
        return cls(name, "any", (raw,))

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a record passes the filter."""
        value = record.get(self.field, "")
        if self.kind == "any":  # MySQL equality: numeric when both are numbers, else case-insensitive
            plain = _plain(value)
            number = _number(plain)
            if number is not None and self._numbers:
                return number in self._numbers or plain.casefold() in self._texts
            return plain.casefold() in self._texts
        text = _plain(value).casefold()
        if self.kind == "interval":
            low, high = self.values
            key = _sort_key(value)
            return _sort_key(low) <= key <= _sort_key(high)
        wanted = self.values[0].casefold()
        return {"contains": wanted in text, "begins": text.startswith(wanted), "ends": text.endswith(wanted)}[self.kind]


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
        """Read the query parameters; WebserviceError (400) when one is not valid for the resource."""
        query = cls()
        query._parse_display(params.get("display"), known)
        query._parse_filters(params, known)
        query._parse_sort(params.get("sort"), known)
        query._parse_limit(params.get("limit"))
        return query

    def _parse_display(self, raw: str | None, known: frozenset[str] | None) -> None:
        """display=full or display=[a,b,c]."""
        if raw in (None, ""):
            return
        self.display = raw
        if raw == "full":
            return
        if not (raw.startswith("[") and raw.endswith("]")):
            raise WebserviceError(400, 35, f"The 'display' syntax is wrong: {raw!r}; use 'full' or '[field,...]'")
        self.fields = tuple(name.strip() for name in raw[1:-1].split(",") if name.strip())
        _check_fields(self.fields, known, "display")

    def _parse_filters(self, params: dict[str, str], known: frozenset[str] | None) -> None:
        """filter[field]=...; date fields only with date=1."""
        for key, raw in params.items():
            if not (key.startswith("filter[") and key.endswith("]")):
                continue
            name = key[len("filter[") : -1]
            _check_fields((name,), known, "filter")
            if _is_date_field(name) and params.get("date") != "1":
                raise WebserviceError(400, 28, f"The '{name}' filter is a date filter: add the parameter 'date=1' to use it")
            self.filters.append(Filter.parse(name, raw))

    def _parse_sort(self, raw: str | None, known: frozenset[str] | None) -> None:
        """sort=[field_ASC,field_DESC]."""
        if not raw:
            return
        inner = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
        for part in (p.strip() for p in inner.split(",") if p.strip()):
            name, _, direction = part.rpartition("_")
            if direction.upper() not in ("ASC", "DESC") or not name:
                raise WebserviceError(400, 39, f"The 'sort' value {part!r} is not 'field_ASC' or 'field_DESC'")
            _check_fields((name,), known, "sort")
            self.sort.append((name, direction.upper() == "DESC"))

    def _parse_limit(self, raw: str | None) -> None:
        """limit=COUNT or limit=OFFSET,COUNT."""
        if not raw:
            return
        parts = raw.split(",")
        if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
            raise WebserviceError(400, 40, f"The 'limit' value {raw!r} is not 'count' or 'offset,count'")
        numbers = [int(p) for p in parts]
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


def _check_fields(names: tuple[str, ...], known: frozenset[str] | None, what: str) -> None:
    """Unknown fields in display, filter or sort are a 400."""
    if known is None:
        return
    unknown = [name for name in names if name not in known]
    if unknown:
        raise WebserviceError(400, 32, f"This {what} field does not exist: {', '.join(unknown)}")


def _wants_json(request: Request) -> bool:
    """JSON when output_format=JSON (or io_format) or the Output-Format header asks for it."""
    asked = request.query_params.get("output_format") or request.query_params.get("io_format") or request.headers.get("output-format", "")
    return asked.upper() == "JSON"


def _xml_into(parent: ET.Element, name: str, value: Any) -> None:
    """Append a value as XML elements (multi-language fields as <language id=..>)."""
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_into(element, key, item)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and set(item) == {"id", "value"}:
                ET.SubElement(element, "language", id=str(item["id"])).text = str(item["value"])
            else:
                _xml_into(element, XML_SINGULAR.get(name, name), item)
    else:
        element.text = str(value)


def _render(request: Request, content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON or minimal XML, as the request asks."""
    if _wants_json(request):
        return JSONResponse(content, status_code=status, headers=headers)
    root = ET.Element("prestashop")
    for key, value in content.items() if isinstance(content, dict) else []:
        _xml_into(root, key, value)
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n{body}', status_code=status, media_type="text/xml", headers=headers)


def _key_of(request: Request) -> str:
    """The webservice key: ws_key, or the HTTP Basic user name."""
    if request.query_params.get("ws_key"):
        return request.query_params["ws_key"]
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return ""
    try:
        return base64.b64decode(auth[6:].strip()).decode("utf-8", "replace").partition(":")[0]
    except (binascii.Error, ValueError):
        return ""


def _authorize(state: ShopState, request: Request, resource: str | None) -> None:
    """401 without a valid key, 405 for writes, 400 for unknown resources, 403 when the key may not view it."""
    key = _key_of(request)
    if not key:
        raise WebserviceError(401, 17, "Authentication key is empty", {"WWW-Authenticate": REALM})
    permitted = state.permission(key, resource or "")
    if permitted is None:
        raise WebserviceError(401, 18, "Invalid authentication key", {"WWW-Authenticate": REALM})
    if request.method not in READ_METHODS:
        raise WebserviceError(405, 25, f"Method {request.method} is not allowed: this key is read only")
    if resource is None:
        return
    if resource not in RESOURCES:
        raise WebserviceError(400, 16, f'Resource of type "{resource}" does not exist')
    if not permitted:
        raise WebserviceError(403, 23, f"No permission to view resource {resource} with this key")


def _answer(request: Request, produce: Callable[[], tuple[Any, int]]) -> Response:
    """Run a handler; WebserviceError becomes PrestaShop's error answer."""
    try:
        content, status = produce()
    except WebserviceError as error:
        return _render(request, ps_error_body(error.code, error.message), error.status, error.headers)
    return _render(request, content, status)


def _webservice_router(state: ShopState) -> APIRouter:
    """GET /api/, /api/{resource}, /api/{resource}/{id}."""
    router = APIRouter(prefix="/api")

    @router.api_route("/", methods=ALL_METHODS)
    def api_root(request: Request) -> Response:
        """The resources this key may view."""

        def produce() -> tuple[Any, int]:
            """The API description."""
            _authorize(state, request, None)
            key = _key_of(request)
            allowed = [name for name in RESOURCES if state.permission(key, name)]
            return {
                "api": {name: {"get": "true", "put": "false", "post": "false", "delete": "false", "head": "true"} for name in allowed}
            }, 200

        return _answer(request, produce)

    @router.api_route("/{resource}", methods=ALL_METHODS)
    def list_resource(resource: str, request: Request) -> Response:
        """A list, filtered, sorted, paged; [] when empty."""

        def produce() -> tuple[Any, int]:
            """The list answer."""
            _authorize(state, request, resource)
            query = ListQuery.parse(dict(request.query_params), state.fields(resource))
            items = query.finish(state.select(resource, query.matches))  # filter first, copy only the matches
            return ({resource: items} if items else []), 200

        return _answer(request, produce)

    @router.api_route("/{resource}/{item_id}", methods=ALL_METHODS)
    def get_item(resource: str, item_id: str, request: Request) -> Response:
        """One record with all its fields; 404 when unknown."""

        def produce() -> tuple[Any, int]:
            """The single-record answer."""
            _authorize(state, request, resource)
            if not item_id.isdigit():
                raise WebserviceError(400, 30, f"Id {item_id!r} is not a number")
            record = state.get(resource, int(item_id))
            if record is None:
                raise WebserviceError(404, 87, f"{SINGULAR[resource].replace('_', ' ').capitalize()} with id {item_id} does not exist")
            return {SINGULAR[resource]: record}, 200

        return _answer(request, produce)

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

    @router.put("/keys/{key}")
    async def set_key(key: str, request: Request) -> Response:
        """Add or change a webservice key: {"resources": [...]} limits it (null: all)."""

        def change(body: Any) -> dict[str, str]:
            """Store the key."""
            state.set_key(key, (body or {}).get("resources"))
            return {"key": key}

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
