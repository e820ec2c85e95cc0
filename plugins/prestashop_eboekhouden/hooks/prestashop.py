"""PrestaShopHook: batched, paged reads from the PrestaShop webservice (read only).

Connection ``prestashop_<tenant>``: host = the shop's base URL, password = the webservice key (exactly 32
characters, checked when the connection is loaded), sent as HTTP Basic user name; with extra ``{"auth": "query"}``
as ``ws_key=`` instead, for hosts (php-fpm/CGI) that strip the Authorization header. The key never appears in an
error or a log line: URLs are redacted and the key is registered with Airflow's secrets masker.

Errors read PrestaShop's own codes (``WebserviceRequest.php``): a 401 with code 26 is a resource the key does not
have at all, a 405 with code 25 one it has without the GET (View) permission (both name the resource and where to
tick it), any other 401 a refused key (with the hint to try ``auth: query`` when the key went as Basic auth).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from prestashop_eboekhouden.config import prestashop_connection_problems
from prestashop_eboekhouden.domain.model import OrderState
from prestashop_eboekhouden.hooks.base import ApiError, ApiHook, TransientError
from prestashop_eboekhouden.hooks.prestashop_reconcile import ShopPeriods
from prestashop_eboekhouden.masking import mask

IDS_PER_REQUEST = 100
PAGE_SIZE = 100
ROWS_PER_PAGE = 1000  # rows of a filtered list (order details of 100 orders, light order rows): one page, not ten
# Resource → the plural key of its list answer, where it differs from the resource name.
LIST_KEYS = {"order_states": "order_states", "order_details": "order_details", "order_payments": "order_payments", "order_slip": "order_slips"}
# Resources whose full records are heavy (associations): pages of page_size, not ROWS_PER_PAGE.
HEAVY = frozenset({"orders", "order_slip"})


WEBSERVICE_SETTINGS = "Advanced parameters › Webservice"
RESOURCE_NOT_ALLOWED = 26  # PrestaShop's code: the key exists but may not use this resource (401, not 403)
METHOD_NOT_ALLOWED = 25  # PrestaShop's code: the key has the resource, but not this method (405; checkHTTPMethod)
QUERY_HINT = 'send the key as ws_key instead: set the connection\'s extra {"auth": "query"}'


class PrestaShopPermissionError(ApiError):
    """The key may not read a resource."""


class PrestaShopAuthError(ApiError):
    """PrestaShop refused the key itself (or never received it)."""


class PrestaShopConnectionError(ValueError):
    """The connection's key or options cannot work (found before any request)."""


def _prestashop_error(response: requests.Response) -> tuple[int | None, str]:
    """PrestaShop's first error code and all messages of a JSON error answer; (None, "") otherwise."""
    try:
        errors = [error for error in response.json().get("errors") or [] if isinstance(error, dict)]
    except (ValueError, AttributeError):
        return None, ""
    if not errors:
        return None, ""
    code = str(errors[0].get("code", ""))
    return (int(code) if code.isdigit() else None), "; ".join(str(error.get("message") or "") for error in errors)


def _ids_filter(ids: Iterable[int | str]) -> str:
    return "[" + "|".join(str(i) for i in ids) + "]"


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _shop_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class PrestaShopHook(ShopPeriods, ApiHook):
    """Reads orders and what they need from one shop; counts its requests per resource."""

    conn_name_attr = "prestashop_conn_id"
    default_conn_name = "prestashop_default"
    conn_type = "prestashop"  # the provider's form; connections of type http keep working
    hook_name = "PrestaShop webservice"
    api_name = "PrestaShop"
    connection_extras = ApiHook.connection_extras | {"auth"}

    def __init__(
        self, prestashop_conn_id: str = default_conn_name, *, page_size: int = PAGE_SIZE, ids_per_request: int = IDS_PER_REQUEST,
        cache: bool = True, **kwargs: Any,
    ):
        super().__init__(prestashop_conn_id, **kwargs)
        self.page_size = page_size
        self.ids_per_request = ids_per_request  # 1 (with cache=False) is the benchmarks' naive baseline
        self._cache: dict[str, Any] | None = {} if cache else None
        self.auth_mode = "basic"  # or "query", from the connection's extra (set when the session is made)

    def _configure_auth(self, session: requests.Session) -> None:
        """The key as HTTP Basic user name, or as ws_key on every request with extra auth "query"; checked first."""
        connection = self.get_connection(self.conn_id)
        key = (connection.password or connection.login or "").strip()
        auth = (connection.extra_dejson or {}).get("auth")
        if key:
            mask(key)
        problems = prestashop_connection_problems(self.conn_id, key, auth)
        if problems:
            raise PrestaShopConnectionError("; ".join(problems))
        self.auth_mode = str(auth or "basic")
        if self.auth_mode == "query":
            session.params = {"ws_key": key}  # merged into every request's URL; errors and logs show redacted URLs
        else:
            session.auth = HTTPBasicAuth(key, "")

    def _error_from(self, response: requests.Response, url: str) -> ApiError:
        resource = self.resource_of(url.split("/api/", 1)[-1].split("?", 1)[0])
        status = response.status_code
        code, message = _prestashop_error(response)
        if (status == 401 and code == RESOURCE_NOT_ALLOWED) or status == 403:
            return PrestaShopPermissionError(
                status, f"PS_{status}",
                f"The webservice key of connection {self.conn_id!r} may not read {resource} ({f'PrestaShop code {code}' if code else f'HTTP {status}'}): "
                f"tick View (GET) for {resource} on this key under {WEBSERVICE_SETTINGS}",
                url=url,
            )  # fmt: skip
        if status == 405 and code == METHOD_NOT_ALLOWED:
            return PrestaShopPermissionError(
                status, f"PS_{status}",
                f"The webservice key of connection {self.conn_id!r} has {resource}, but not the permission to read it "
                f"(PrestaShop code {code}: {message or 'GET is not allowed'}): tick View (GET) for {resource} on this key under {WEBSERVICE_SETTINGS}",
                url=url,
            )  # fmt: skip
        if status == 401:
            return PrestaShopAuthError(401, "PS_401", self._refused_key(code, message), url=url)
        where = f"PrestaShop refused {resource}" + (f" (code {code})" if code else "")
        return ApiError(status, f"PS_{status}", where, message, url)

    def _refused_key(self, code: int | None, message: str) -> str:
        """Why PrestaShop said 401 to the key, and what to try."""
        basic = self.auth_mode == "basic"
        if code is None:  # dispatcher.php's bare "401 Unauthorized": no key reached PrestaShop at all
            text = f"PrestaShop received no webservice key from connection {self.conn_id!r} (401)"
            if basic:
                return f"{text}: the web server (php-fpm/CGI) probably strips the Authorization header; {QUERY_HINT}"
            return text
        text = (
            f"PrestaShop refused the webservice key of connection {self.conn_id!r} (401, code {code}: {message}): "
            f"check that the key is right and enabled under {WEBSERVICE_SETTINGS}"
        )
        if basic:
            text += f"; if it is, the web server (php-fpm/CGI) may strip the Authorization header: {QUERY_HINT}"
        return text

    # ---- generic list access -----------------------------------------------------------------

    def rows(self, resource: str, *, display: str = "full", filters: dict[str, str] | None = None, sort: str | None = None, limit: str | None = None, date_filter: bool = False) -> list[dict]:
        """One list request; [] when empty (PrestaShop answers a bare [] then)."""
        params: dict[str, str] = {"output_format": "JSON", "display": display}
        for field, value in (filters or {}).items():
            params[f"filter[{field}]"] = value
        if sort:
            params["sort"] = sort
        if limit:
            params["limit"] = limit
        if date_filter:
            params["date"] = "1"
        data = self.request("GET", f"api/{resource}", params=params)
        if data in (None, [], ""):
            return []
        if not isinstance(data, dict):
            raise TransientError(f"PrestaShop answered api/{resource} with {type(data).__name__}, not a list object")
        items = data.get(LIST_KEYS.get(resource, resource))
        if items is None:
            raise TransientError(f"PrestaShop's answer for api/{resource} has no '{resource}' list")
        if isinstance(items, dict):  # one item in older versions
            items = [items]
        return list(items)

    def pages(self, resource: str, page_size: int | None = None, **kwargs: Any) -> Iterator[list[dict]]:
        """All items of a list, page by page (limit=offset,count), sorted by id."""
        offset = 0
        size = page_size or self.page_size
        sort = kwargs.pop("sort", None) or "[id_ASC]"
        while True:
            page = self.rows(resource, sort=sort, limit=f"{offset},{size}", **kwargs)
            if page:
                yield page
            if len(page) < size:
                return
            offset += size

    def by_ids(self, resource: str, field: str, ids: Iterable[int | str], display: str = "full") -> list[dict]:
        """Items whose field is one of the ids, in requests of up to 100 ids (paged if they hold more rows)."""
        unique = sorted({str(i) for i in ids if str(i) not in ("", "0")}, key=lambda v: (len(v), v))
        found: list[dict] = []
        for chunk in _chunks(unique, self.ids_per_request):
            rows_per_page = self.page_size if display == "full" and resource in HEAVY else max(self.page_size, ROWS_PER_PAGE)
            for page in self.pages(resource, page_size=rows_per_page, display=display, filters={field: _ids_filter(chunk)}):
                found.extend(page)
        return found

    # ---- what the integration reads ------------------------------------------------------------

    def order_refs_updated(self, since: dt.datetime, until: dt.datetime) -> Iterator[list[dict]]:
        """Light rows (id, reference, state, dates) of orders with date_upd in [since, until), shop-local times."""
        last_second = until - dt.timedelta(seconds=1)  # PrestaShop's interval filter is inclusive
        yield from self.pages(
            "orders",
            page_size=max(self.page_size, ROWS_PER_PAGE),
            display="[id,reference,current_state,date_add,date_upd,id_shop]",
            filters={"date_upd": f"[{_shop_time(since)},{_shop_time(last_second)}]"},
            date_filter=True,
        )

    def order_refs_by_ids(self, ids: Iterable[int]) -> list[dict]:
        """Light rows of the given orders (current state and dates)."""
        return self.by_ids("orders", "id", ids, display="[id,reference,current_state,date_add,date_upd,id_shop]")

    def orders(self, ids: Iterable[int]) -> list[dict]:
        """Full orders (with their order_rows)."""
        return self.by_ids("orders", "id", ids)

    def order_details(self, order_ids: Iterable[int]) -> list[dict]:
        """Order lines with totals and tax associations, for many orders at once."""
        return self.by_ids("order_details", "id_order", order_ids)

    def slips_updated(self, since: dt.datetime, until: dt.datetime) -> Iterator[list[dict]]:
        """Full credit slips (with order_slip_details) whose date_upd is in [since, until), shop-local times, page by page."""
        last_second = until - dt.timedelta(seconds=1)  # PrestaShop's interval filter is inclusive
        yield from self.pages("order_slip", filters={"date_upd": f"[{_shop_time(since)},{_shop_time(last_second)}]"}, date_filter=True)

    def slips(self, ids: Iterable[int]) -> list[dict]:
        """Full credit slips by id."""
        return self.by_ids("order_slip", "id", ids)

    def slips_of_orders(self, order_ids: Iterable[int]) -> list[dict]:
        """Full credit slips of these orders."""
        return self.by_ids("order_slip", "id_order", order_ids)

    def customers(self, ids: Iterable[int | str]) -> list[dict]:
        """Customers by id (their default group says which prices they see: how their credit slips read)."""
        return self.by_ids("customers", "id", ids, display="[id,email,firstname,lastname,company,id_default_group]")

    def addresses_of_customers(self, customer_ids: Iterable[int | str]) -> list[dict]:
        """Every address of these customers (deleted ones too: an order may still point at one)."""
        return self.by_ids("addresses", "id_customer", customer_ids)

    def products(self, ids: Iterable[int | str]) -> list[dict]:
        """Products by id (their reference: the line code of an order line without a SKU)."""
        return self.by_ids("products", "id", ids, display="[id,reference]")

    def order_payments(self, references: Iterable[str]) -> list[dict]:
        """Payments registered on orders, by order reference."""
        return self.by_ids("order_payments", "order_reference", references)

    def _cached(self, key: str, load: Any) -> Any:
        if self._cache is None:
            return load()
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    # ---- reference data shared by the tasks of one run -------------------------------------------

    def reference_data(self) -> dict[str, Any]:
        """The reference data read so far (order states, countries, taxes, currencies, settings) as JSON-safe
        data, for the later tasks of the same run (a few kB: no order or customer data)."""
        if not self._cache:
            return {}
        encode = {
            "countries": lambda v: {str(k): c for k, c in v.items()},
            "taxes": lambda v: {str(k): str(rate) for k, rate in v.items()},
            "order_states": lambda v: {str(k): [state.name, state.paid] for k, state in v.items()},
            "currencies": lambda v: {str(k): c for k, c in v.items()},
        }
        return {key: encode[key](value) if key in encode else value for key, value in self._cache.items() if key in encode or key.startswith("configuration:")}

    def use_reference_data(self, data: dict[str, Any] | None) -> None:
        """Take reference data an earlier task of the run read (reference_data()): it costs no request here."""
        if self._cache is None or not data:
            return
        decode = {
            "countries": lambda v: {int(k): str(c) for k, c in v.items()},
            "taxes": lambda v: {int(k): Decimal(str(rate)) for k, rate in v.items()},
            "order_states": lambda v: {int(k): OrderState(int(k), str(name), bool(paid)) for k, (name, paid) in v.items()},
            "currencies": lambda v: {int(k): str(c) for k, c in v.items()},
        }
        for key, value in data.items():
            if key in decode:
                self._cache[key] = decode[key](value)
            elif key.startswith("configuration:"):
                self._cache[key] = None if value is None else str(value)

    def countries(self) -> dict[int, str]:
        """Country id → ISO code (cached for the hook's life)."""
        return self._cached("countries", lambda: {int(c["id"]): str(c["iso_code"]).upper() for page in self.pages("countries", display="[id,iso_code]") for c in page})

    def taxes(self) -> dict[int, Decimal]:
        """Tax id → rate in % (cached)."""
        return self._cached("taxes", lambda: {int(t["id"]): Decimal(str(t["rate"])) for page in self.pages("taxes", display="[id,rate]") for t in page})

    def order_states(self) -> dict[int, OrderState]:
        """Order state id → name and whether it means paid (cached)."""

        def load() -> dict[int, OrderState]:
            states = {}
            for page in self.pages("order_states", display="[id,name,paid]"):
                for s in page:
                    states[int(s["id"])] = OrderState(int(s["id"]), _language_value(s.get("name")), str(s.get("paid", "0")) == "1")
            return states

        return self._cached("order_states", load)

    def currencies(self) -> dict[int, str]:
        """Currency id → ISO code; empty when the key may not read currencies (optional)."""

        def load() -> dict[int, str]:
            try:
                return {int(c["id"]): str(c["iso_code"]) for page in self.pages("currencies", display="[id,iso_code]") for c in page}
            except PrestaShopPermissionError:
                return {}

        return self._cached("currencies", load)

    def price_display(self) -> dict[int, str] | None:
        """Customer group id → the prices its customers see, "incl" or "excl" VAT (``price_display_method`` 0 / 1:
        how PrestaShop reads the amounts of their credit slips); None when the key may not read groups (cached)."""

        def load() -> dict[int, str] | None:
            try:
                return {
                    int(g["id"]): "excl" if str(g.get("price_display_method", "0")) == "1" else "incl"
                    for page in self.pages("groups", display="[id,price_display_method]")
                    for g in page
                }
            except PrestaShopPermissionError:
                return None

        return self._cached("groups", load)

    def configuration(self, name: str) -> str | None:
        """A shop setting such as PS_COUNTRY_DEFAULT (cached)."""

        def load() -> str | None:
            rows = self.rows("configurations", display="[name,value]", filters={"name": f"[{name}]"})
            return str(rows[0]["value"]) if rows else None

        return self._cached(f"configuration:{name}", load)

    def shop_country(self) -> str:
        """The shop's own country (ISO) from PS_COUNTRY_DEFAULT."""
        country_id = self.configuration("PS_COUNTRY_DEFAULT")
        if not country_id:
            raise ValueError("The shop has no PS_COUNTRY_DEFAULT; set prestashop.shop_country in the tenant file")
        return self.countries()[int(country_id)]

    def test_connection(self) -> tuple[bool, str]:
        """One cheap read to check URL and key."""
        try:
            self.rows("order_states", display="[id]", limit="0,1")
            return True, "PrestaShop webservice answered"
        except Exception as exc:  # noqa: BLE001 - shown to the user as the check's result
            return False, str(exc)


def _language_value(name: Any) -> str:
    """A multi-language field's first value (or the plain string)."""
    if isinstance(name, list) and name:
        first = name[0]
        return str(first.get("value", "")) if isinstance(first, dict) else str(first)
    return "" if name is None else str(name)
