"""EBoekhoudenHook: the e-Boekhouden REST API (session, ledgers, relations, mutations, invoices).

Connection ``eboekhouden_<tenant>``: host = API base URL, password = API token, extra
``{"source": "<integration id: letters, digits, _ and spaces, at most 10>"}``. The token and the session
token never appear in a log line or an error text (the session token is registered with Airflow's masker).

Every request follows the official contract (``contract/eboekhouden.py``): filters put the operator in
the parameter name (``code[like]=Base%``), lists are read page by page until a page comes back shorter
than ``limit`` (``count`` is the number of items in the page, not a total), list items are thin (a
relation item has only id, type and code), and error codes become outcomes in one place
(``contract.OUTCOMES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from prestashop_eboekhouden.contract.eboekhouden import MAX_LIMIT, source_problem
from prestashop_eboekhouden.domain.payloads import to_json
from prestashop_eboekhouden.hooks.base import ApiError, _Retryable, redact_url
from prestashop_eboekhouden.hooks.eboekhouden_base import (  # noqa: F401 - ConfigurationError, mask, LedgerCodes, DEFAULT_SOURCE re-exported
    DEFAULT_SOURCE,
    ConfigurationError,
    EBoekhoudenBase,
    LedgerCodes,
    mask,
)

LIST_LIMIT = MAX_LIMIT  # items per page: the most the API allows, so a listing costs as few requests as it can


class EBoekhoudenHook(EBoekhoudenBase):
    """One administration; one session per hook (renewed on 401, revoked by :meth:`close_session`)."""

    conn_name_attr = "eboekhouden_conn_id"
    default_conn_name = "eboekhouden_default"
    conn_type = "eboekhouden"  # the provider's form; connections of type http keep working
    hook_name = "e-Boekhouden"
    api_name = "e-Boekhouden"
    credentials_name = "API token"
    credentials_help = (
        "make a new one under Administration > Connections > API > e-Boekhouden API (its end date may have passed) "
        "and put it in the connection's password"
    )

    def __init__(self, eboekhouden_conn_id: str = default_conn_name, **kwargs: Any):
        super().__init__(eboekhouden_conn_id, **kwargs)

    # ---- session -------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        connection = self.get_connection(self.conn_id)
        token = connection.password
        if not token:
            raise ConfigurationError(f"Connection {self.conn_id} has no API token (put it in the password field)")
        source = str((connection.extra_dejson or {}).get("source") or DEFAULT_SOURCE)
        problem = source_problem(source)
        if problem:
            raise ConfigurationError(
                f"Connection {self.conn_id}: extra 'source' {problem} (e-Boekhouden refuses it with API_SESSION_002); "
                "use e.g. \"PSEB\""
            )
        return token, source

    def _open_session(self) -> str:
        """POST /v1/session with the API token; the session token goes into the masker at once."""
        access_token, source = self._credentials()
        response = self.session().post(
            self.url_from_endpoint("v1/session"),
            data=to_json({"accessToken": access_token, "source": source}),
            headers={"Content-Type": "application/json"},
            timeout=self._timeout,
        )
        self._count("POST", "v1/session")
        if response.status_code >= 400:
            error = self._error_from(response, redact_url(self.url_from_endpoint("v1/session")))
            if response.status_code in (400, 401, 403):  # the token itself: say which connection to fix
                error = self._refused_credentials(error)
            raise error
        token = str(response.json()["token"])
        mask(token)
        return token

    def _request_headers(self, headers: dict | None) -> dict:
        """The session token (opened on first use) and JSON content type."""
        return {**(headers or {}), "Authorization": self._current_session(), "Content-Type": "application/json"}

    def _on_unauthorized_error(self, error: ApiError) -> bool:
        """Session expired: open a new one and repeat the request once."""
        self._forget_session()
        return True

    def _revoke(self, token: str) -> None:
        """DELETE /v1/session.

        The official description has no DELETE /v1/session: a 404 or 405 (or any other answer, or none)
        is fine — the token expires by itself — and never fails the task."""
        try:
            self._count("DELETE", "v1/session")
            answer = self.session().delete(self.url_from_endpoint("v1/session"), headers={"Authorization": token}, timeout=self._timeout)
            if answer.status_code >= 400:
                self.log.debug("e-Boekhouden answered %s to DELETE /v1/session; the session expires by itself", answer.status_code)
        except requests.RequestException:
            self.log.warning("Could not revoke the e-Boekhouden session; it expires by itself")

    def call(self, method: str, endpoint: str, *, params: dict | None = None, payload: Any = None) -> Any:
        """An authenticated call; the session header is added per attempt (so a renewal takes effect)."""
        body = to_json(payload) if payload is not None else None
        return self.request(method, endpoint, params=params, body=body)

    def _error_from(self, response: requests.Response, url: str) -> ApiError:
        """e-Boekhouden's error body → ApiError with its code and title (MUT_109 Invalid VAT code).

        A JSON error body that cannot be read (cut off on the way) hides which check refused the
        request — e.g. MUT_019 "invoice number already exists", which means the sale is booked — so it
        is retried like any unreadable answer instead of sending the order to Errors as a bare 400."""
        try:
            data = response.json()
        except ValueError:
            if response.content and "json" in response.headers.get("Content-Type", "").lower():
                raise _Retryable(
                    f"{self.api_name} answered {response.status_code} on {url} with an unreadable error "
                    f"({len(response.content)} bytes of cut-off JSON)"
                ) from None
            data = {}
        if not isinstance(data, dict):
            data = {}
        code = str(data.get("code") or f"HTTP_{response.status_code}")
        title = str(data.get("title") or response.reason or "")
        message = str(data.get("message") or "")
        return ApiError(response.status_code, code, title, message, url)

    # ---- lists ---------------------------------------------------------------------------------

    def list_all(self, endpoint: str, params: dict | None = None, limit: int = LIST_LIMIT) -> Iterator[dict]:
        """Every item of a list endpoint: pages of ``limit`` until one comes back shorter (``count`` is per page)."""
        offset = 0
        while True:
            data = self.call("GET", endpoint, params={**(params or {}), "limit": limit, "offset": offset})
            items = (data or {}).get("items") or []
            yield from items
            offset += len(items)
            if len(items) < limit:
                return

    def first(self, endpoint: str, params: dict) -> dict | None:
        """The first item matching the filters, or None."""
        data = self.call("GET", endpoint, params={**params, "limit": 1, "offset": 0})
        items = (data or {}).get("items") or []
        return items[0] if items else None

    # ---- ledgers and templates -----------------------------------------------------------------

    def ledgers(self) -> dict[str, dict]:
        """Ledger code → ledger (id, category), read once per hook."""
        if self._ledgers is None:
            self._ledgers = {str(item["code"]): item for item in self.list_all("v1/ledger")}
        return self._ledgers

    def invoice_template_id(self, name: str) -> int:
        """The id of the invoice template with this name."""
        item = self.first("v1/invoicetemplate", {"name": name})
        if item is None:
            raise ConfigurationError(f"Invoice template '{name}' does not exist in e-Boekhouden (eboekhouden.invoice_template)")
        return int(item["id"])

    # ---- relations -----------------------------------------------------------------------------

    def relation_by_email(self, email: str) -> dict | None:
        """GET /v1/relation?email=: the first relation with this address, as a list item ({id, type, code})."""
        return self.first("v1/relation", {"email": email.strip()})

    def relation_codes_like(self, base: str) -> list[str]:
        """Codes that start with a base (KlaartjePi, KlaartjePi1, ...): ``code[like]=Base%``, paged."""
        return [str(item["code"]) for item in self.list_all("v1/relation", {"code[like]": f"{base}%"})]

    def relations(self) -> Iterator[dict]:
        """Every relation of the administration as list items ({id, type, code}), paged."""
        return self.list_all("v1/relation")

    def relation_by_code(self, code: str) -> dict | None:
        """The relation with exactly this code."""
        return self.first("v1/relation", {"code": code})

    def create_relation(self, payload: dict) -> dict:
        """POST /v1/relation → {id, code}."""
        return self.call("POST", "v1/relation", payload=payload)

    # ---- mutations and invoices ----------------------------------------------------------------

    def mutations_by_invoice_number(self, invoice_number: str, mutation_type: int | None = None) -> list[dict]:
        """Mutations with this invoice number (the exactly-once lookup)."""
        params: dict[str, Any] = {"invoiceNumber": invoice_number}
        if mutation_type is not None:
            params["type"] = mutation_type
        return list(self.list_all("v1/mutation", params))

    def mutation(self, mutation_id: int) -> dict:
        """GET /v1/mutation/{id}: one mutation with its relation, date and rows."""
        return self.call("GET", f"v1/mutation/{int(mutation_id)}")

    def create_mutation(self, payload: dict) -> dict:
        """POST /v1/mutation → {id}."""
        return self.call("POST", "v1/mutation", payload=payload)

    def invoices(self, **filters: Any) -> list[dict]:
        """Invoices matching filters (invoiceNumber, relationId, date)."""
        return list(self.list_all("v1/invoice", filters))

    def create_invoice(self, payload: dict) -> dict:
        """POST /v1/invoice → {id, invoiceNumber}."""
        return self.call("POST", "v1/invoice", payload=payload)

    def outstanding(self, invoice_number: str) -> list[dict]:
        """Outstanding debtor items for a sales number."""
        return list(self.list_all("v1/mutation/invoice/outstanding", {"credDeb": "D", "invoiceNumber": invoice_number}))

    def all_outstanding(self) -> Iterator[dict]:
        """Every outstanding debtor item."""
        return self.list_all("v1/mutation/invoice/outstanding", {"credDeb": "D"})

    def test_connection(self) -> tuple[bool, str]:
        """Open and revoke a session, and read one ledger (a connection with extra api=soap: the SOAP hook's check)."""
        from prestashop_eboekhouden.hooks.backends import SOAP, backend_of

        if backend_of(self.conn_id) == SOAP:  # Airflow's Test button makes this class for every eboekhouden connection
            from prestashop_eboekhouden.hooks.eboekhouden_soap import EBoekhoudenSoapHook

            return EBoekhoudenSoapHook(self.conn_id, max_attempts=self.max_attempts).test_connection()
        try:
            self.first("v1/ledger", {})
            return True, "e-Boekhouden API answered"
        except Exception as exc:  # noqa: BLE001 - shown to the user as the check's result
            return False, str(exc)
        finally:
            self.close_session()
