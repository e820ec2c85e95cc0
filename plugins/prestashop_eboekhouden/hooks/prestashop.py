"""PrestaShopHook: batched, paged reads from the PrestaShop webservice (read only).

Connection ``prestashop_<tenant>``: host = the shop's base URL, password = the webservice key
(sent as HTTP Basic user name, never in a URL or a log line).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from prestashop_eboekhouden.domain.model import OrderState
from prestashop_eboekhouden.hooks.base import ApiError, ApiHook, TransientError

IDS_PER_REQUEST = 100
PAGE_SIZE = 100
ROWS_PER_PAGE = 1000  # rows of a filtered list (order details of 100 orders, light order rows): one page, not ten
# Resource → the plural key of its list answer, where it differs from the resource name.
LIST_KEYS = {"order_states": "order_states", "order_details": "order_details", "order_payments": "order_payments"}


class PrestaShopPermissionError(ApiError):
    """The key may not read a resource."""


def _ids_filter(ids: Iterable[int | str]) -> str:
    return "[" + "|".join(str(i) for i in ids) + "]"


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _shop_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class PrestaShopHook(ApiHook):
    """Reads orders and what they need from one shop; counts its requests per resource."""

    conn_name_attr = "prestashop_conn_id"
    default_conn_name = "prestashop_default"
    conn_type = "http"
    hook_name = "PrestaShop webservice"
    api_name = "PrestaShop"

    def __init__(
        self, prestashop_conn_id: str = default_conn_name, *, page_size: int = PAGE_SIZE, ids_per_request: int = IDS_PER_REQUEST,
        cache: bool = True, **kwargs: Any,
    ):
        super().__init__(prestashop_conn_id, **kwargs)
        self.page_size = page_size
        self.ids_per_request = ids_per_request  # 1 (with cache=False) is the benchmarks' naive baseline
        self._cache: dict[str, Any] | None = {} if cache else None

    def _configure_auth(self, session: requests.Session) -> None:
        connection = self.get_connection(self.conn_id)
        key = connection.password or connection.login
        if not key:
            raise ValueError(f"Connection {self.conn_id} has no webservice key (put it in the password field)")
        session.auth = HTTPBasicAuth(key, "")

    def _error_from(self, response: requests.Response, url: str) -> ApiError:
        resource = self.resource_of(url.split("/api/", 1)[-1])
        if response.status_code in (401, 403):
            return PrestaShopPermissionError(
                response.status_code,
                f"PS_{response.status_code}",
                f"PrestaShop key lacks View permission on {resource}" if response.status_code == 403 else "PrestaShop refused the webservice key (401)",
                url=url,
            )
        message = ""
        try:
            errors = response.json().get("errors") or []
            message = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
        except (ValueError, AttributeError):
            pass
        return ApiError(response.status_code, f"PS_{response.status_code}", f"PrestaShop refused {resource}", message, url)

    # ---- generic list access -----------------------------------------------------------------

    def list(self, resource: str, *, display: str = "full", filters: dict[str, str] | None = None, sort: str | None = None, limit: str | None = None, date_filter: bool = False) -> list[dict]:
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
            page = self.list(resource, sort=sort, limit=f"{offset},{size}", **kwargs)
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
            rows_per_page = self.page_size if display == "full" and resource == "orders" else max(self.page_size, ROWS_PER_PAGE)
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

    def customers(self, ids: Iterable[int]) -> list[dict]:
        """Customers by id."""
        return self.by_ids("customers", "id", ids, display="[id,email,firstname,lastname,company]")

    def addresses_of_customers(self, customer_ids: Iterable[int]) -> list[dict]:
        """Every address of these customers (deleted ones too: an order may still point at one)."""
        return self.by_ids("addresses", "id_customer", customer_ids)

    def order_payments(self, references: Iterable[str]) -> list[dict]:
        """Payments registered on orders, by order reference."""
        return self.by_ids("order_payments", "order_reference", references)

    def _cached(self, key: str, load: Any) -> Any:
        if self._cache is None:
            return load()
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

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

    def configuration(self, name: str) -> str | None:
        """A shop setting such as PS_COUNTRY_DEFAULT (cached)."""

        def load() -> str | None:
            rows = self.list("configurations", display="[name,value]", filters={"name": f"[{name}]"})
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
            self.list("order_states", display="[id]", limit="0,1")
            return True, "PrestaShop webservice answered"
        except Exception as exc:  # noqa: BLE001 - shown to the user as the check's result
            return False, str(exc)


def _language_value(name: Any) -> str:
    """A multi-language field's first value (or the plain string)."""
    if isinstance(name, list) and name:
        first = name[0]
        return str(first.get("value", "")) if isinstance(first, dict) else str(first)
    return "" if name is None else str(name)
