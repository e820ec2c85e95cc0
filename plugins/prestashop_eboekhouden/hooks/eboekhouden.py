"""EBoekhoudenHook: the e-Boekhouden REST API (session, ledgers, relations, mutations, invoices).

Connection ``eboekhouden_<tenant>``: host = API base URL, password = API token, extra
``{"source": "<integration id: letters, digits, _ and spaces, at most 10>"}``. The token and the session
token never appear in a log line or an error text (the session token is registered with Airflow's masker).

Every request follows the official contract (``contract/eboekhouden.py``): filters put the operator in
the parameter name (``code[like]=Base%``), list items are thin (a relation item has only id, type and code),
and error codes become outcomes in one place (``contract.OUTCOMES``).

Where the description leaves a behaviour open, the hook checks it instead of assuming it:
- **Paging.** ``count`` is the number of items in a page, and a real client reports that the server answers
  at most 500 items whatever ``limit`` asks. So a page shorter than ``limit`` does not prove the end: lists are
  read until an empty page. Two things let a list stop at a short page without asking for an empty one: a
  page shorter than the page size this hook has *learnt* (a short page that was followed by more items is the
  server's cap), and, before a cap is learnt, a page shorter than the documented default page (100 items: the
  server delivers at least what it answers without ``limit``). A learnt cap is never larger than the real one (a
  page never holds more than the cap), so it can cost an extra request but never end a list early. A lookup that
  finds 0 or 1 item (an e-mail, an invoice number) therefore costs one request, as before. What ``setup probe``
  measured (:meth:`EBoekhoudenHook.use_probed_page_cap`) is a page size from the past, so it can only make the rule
  stricter until this hook sees the server answer that many again: a cap below the default page (which the rule
  above cannot see) is used at once, a larger one once a page of that size came; lists whose caps differ stop
  the learning, and pages of no steady size leave only an empty page to end a list.
- **Filters.** Every item a filtered lookup returns is checked against the filter before it is used: a relation
  found by ``?email=`` only after ``GET /v1/relation/{id}`` shows that address (compared as the state store
  compares addresses: trimmed, case-folded), a relation by ``code`` / ``code[like]`` only when its code is (or
  starts with) the one asked, a template only when its name is the one configured, a mutation, invoice or
  outstanding item only when its invoice number is the sale's. An API that ignored a filter would otherwise
  book every new customer to the first relation of the administration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import requests

from prestashop_eboekhouden.contract.eboekhouden import DEFAULT_LIMIT, MAX_LIMIT, meaning_of, source_problem
from prestashop_eboekhouden.domain.errors import ConfigurationProblem
from prestashop_eboekhouden.domain.payloads import PAYMENT_RECEIVED, SALE, to_json
from prestashop_eboekhouden.domain.relations import normalize_email
from prestashop_eboekhouden.hooks.base import ApiError, _Retryable, redact_url
from prestashop_eboekhouden.hooks.eboekhouden_base import DEFAULT_SOURCE, EBoekhoudenBase
from prestashop_eboekhouden.hooks.eboekhouden_reconcile import RestReconciling
from prestashop_eboekhouden.hooks.protocol import FoundPayment, FoundSale
from prestashop_eboekhouden.masking import mask

LIST_LIMIT = MAX_LIMIT  # items per page asked: the most the API allows, so a listing costs as few requests as it can
# A page shorter than this is the last one even before the server's own cap is learnt: the documented default page
# size (what a request without limit answers), which a server delivers whatever its cap.
TRUSTED_PAGE = DEFAULT_LIMIT


class _Listing:
    """How the REST API's lists are read: paged until an empty page (or one shorter than a learnt cap), every item checked against the filter that found it (see the module docstring)."""

    page_cap: int | None
    probed_cap: int | None  # the page size the last `setup probe` saw (None: none seen)
    _learn_caps: bool
    _probed_seen_again: bool
    ignored_filters: set[str]
    log: Any
    if TYPE_CHECKING:  # provided by the hook

        def call(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None, payload: Any = None) -> Any: ...

    def list_all(self, endpoint: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, in pages of LIST_LIMIT, read until an empty page — or a page shorter than
        the server's learnt cap (or, before one is learnt, than the documented default page): see the module doc.
        A caller that stops reading stops the paging too."""
        offset, short = 0, None
        while True:
            data = self.call("GET", endpoint, params={**(params or {}), "limit": LIST_LIMIT, "offset": offset})
            items = (data or {}).get("items") or []
            if short is not None and items:  # a short page was followed by more: that was the server's cap
                self._learn_cap(short)
            if self.probed_cap and self._learn_caps and len(items) >= self.probed_cap:
                self._probed_seen_again = True
            yield from items
            if not items:
                return
            offset += len(items)
            if len(items) < self._complete_below():
                return
            short = len(items) if len(items) < LIST_LIMIT else None

    @property
    def page_size(self) -> int:
        """Items a page really holds: the server's cap once learnt, else what we ask."""
        return self.page_cap or self.probed_cap or LIST_LIMIT

    def _complete_below(self) -> int:
        """A page with fewer items than this is the last one."""
        if self.page_cap:
            return min(LIST_LIMIT, self.page_cap)
        if self.probed_cap:  # a past measurement: stricter than the default page at once, looser only once seen again
            return min(LIST_LIMIT, self.probed_cap if self._probed_seen_again else min(TRUSTED_PAGE, self.probed_cap))
        return TRUSTED_PAGE

    def use_probed_page_cap(self, cap: int | None, uniform: bool = True) -> None:
        """What `setup probe` saw: the server answers pages of ``cap`` items whole (1: pages of no steady size);
        ``uniform`` False when its lists have different caps (then no cap is learnt at run time either)."""
        self.probed_cap = cap if cap and cap > 0 else None
        self._learn_caps = uniform is not False

    def _learn_cap(self, size: int) -> None:
        if not self._learn_caps:
            return
        if self.page_cap != size:
            self.log.info("e-Boekhouden answers at most %d items per page (asked %d): later lists stop at a page shorter than that", size, LIST_LIMIT)
            self.page_cap = size

    def first(self, endpoint: str, params: dict) -> dict | None:
        """The first item of a list, unchecked (one item: no paging); only for a connection check."""
        data = self.call("GET", endpoint, params={**params, "limit": 1, "offset": 0})
        items = (data or {}).get("items") or []
        return items[0] if items else None

    def _matching(self, endpoint: str, params: dict, wanted: Callable[[dict], bool], what: str) -> Iterator[dict]:
        """The listed items that really match the filters (an item that does not is the sign of an ignored filter)."""
        for item in self.list_all(endpoint, params):
            if wanted(item):
                yield item
            else:
                self._ignored(what)

    def _ignored(self, what: str) -> None:
        if what not in self.ignored_filters:
            self.ignored_filters.add(what)
            self.log.warning("e-Boekhouden answered items that do not match the filter %s: the filter is checked item by item", what)

    @staticmethod
    def _numbered(invoice_number: str) -> Callable[[dict], bool]:
        folded = invoice_number.strip().casefold()
        return lambda item: str(item.get("invoiceNumber") or "").strip().casefold() == folded


class EBoekhoudenHook(RestReconciling, _Listing, EBoekhoudenBase):
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
        self.page_cap: int | None = None  # the most items the server puts in a page, once learnt (None: not seen yet)
        self.probed_cap: int | None = None  # the page size `setup probe` saw the server answer whole (stored; see use_probed_page_cap)
        self._probed_seen_again = False  # a page of probed_cap items came through this hook: the server still answers that many
        self._learn_caps = True  # False when the probe saw lists with different caps: one list's cap says nothing of another's
        self._emails: dict[int, str] = {}  # relation id → its e-mail address (normalized), read with GET /v1/relation/{id}
        self.ignored_filters: set[str] = set()  # filters this administration's API was seen to ignore (logged once)

    # ---- session -------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        connection = self.get_connection(self.conn_id)
        token = connection.password
        if not token:
            raise ConfigurationProblem(f"Connection {self.conn_id} has no API token (put it in the password field)")
        source = str((connection.extra_dejson or {}).get("source") or DEFAULT_SOURCE)
        problem = source_problem(source)
        if problem:
            raise ConfigurationProblem(
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
        """DELETE /v1/session (end_session: "Revokes the session token"), once, best effort: a refusal (401, the
        token expired already) or no answer only means the token expires by itself; it never fails the task."""
        try:
            self._count("DELETE", "v1/session")
            answer = self.session().delete(self.url_from_endpoint("v1/session"), headers={"Authorization": token}, timeout=self._timeout)
            if answer.status_code >= 400:
                self.log.info("e-Boekhouden answered %s to DELETE /v1/session; the session expires by itself", answer.status_code)
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
        return ApiError(response.status_code, code, title, message, url, meaning_of(code))

    # ---- lists ---------------------------------------------------------------------------------

    # ---- ledgers and templates -----------------------------------------------------------------

    def ledgers(self) -> dict[str, dict]:
        """Ledger code → ledger (id, category), read once per hook."""
        if self._ledgers is None:
            self._ledgers = {str(item["code"]): item for item in self.list_all("v1/ledger")}
        return self._ledgers

    def invoice_template_id(self, name: str) -> int:
        """The id of the invoice template with this name (exactly, else ignoring case and surrounding spaces)."""
        items = list(self.list_all("v1/invoicetemplate", {"name": name}))
        exact = [i for i in items if str(i.get("name") or "") == name]
        loose = [i for i in items if str(i.get("name") or "").strip().casefold() == name.strip().casefold()]
        if len(loose) < len(items):
            self._ignored("name (invoice templates)")
        found = exact or loose
        if not found:
            raise ConfigurationProblem(f"Invoice template '{name}' does not exist in e-Boekhouden (eboekhouden.invoice_template)")
        return int(next((i for i in found if i.get("active") is not False), found[0])["id"])

    # ---- relations -----------------------------------------------------------------------------

    def relation_by_email(self, email: str) -> dict | None:
        """GET /v1/relation?email=: the first listed relation whose full record (GET /v1/relation/{id}) has this
        address, as a list item ({id, type, code}). A listed item without an id cannot be checked: it is returned
        as it is (the booking code refuses the order rather than guess)."""
        wanted = normalize_email(email)
        for item in self.list_all("v1/relation", {"email": email.strip()}):
            if not item.get("id"):
                return item
            if self._email_of(int(item["id"])) == wanted:
                return item
            self._ignored("email")
        return None

    def _email_of(self, relation_id: int) -> str | None:
        """A relation's e-mail address, normalized (read once per hook); None when the relation is gone."""
        if relation_id not in self._emails:
            try:
                record = self.call("GET", f"v1/relation/{relation_id}") or {}
            except ApiError as exc:
                if exc.status == 404:
                    return None
                raise
            self._emails[relation_id] = normalize_email(str(record.get("emailAddress") or ""))
        return self._emails[relation_id]

    def relation_codes_like(self, base: str) -> list[str]:
        """Codes that start with a base (KlaartjePi, KlaartjePi1, ...): ``code[like]=Base%``, paged, each checked."""
        folded = base.casefold()
        return [
            str(item["code"])
            for item in self._matching("v1/relation", {"code[like]": f"{base}%"}, lambda i: str(i.get("code") or "").casefold().startswith(folded), "code[like]")
        ]

    def relations(self) -> Iterator[dict]:
        """Every relation of the administration as list items ({id, type, code}), paged."""
        return self.list_all("v1/relation")

    def relation_by_code(self, code: str) -> dict | None:
        """The relation with exactly this code (codes compare without regard to case)."""
        folded = code.strip().casefold()
        return next(self._matching("v1/relation", {"code": code}, lambda i: str(i.get("code") or "").strip().casefold() == folded, "code"), None)

    def create_relation(self, payload: dict) -> dict:
        """POST /v1/relation → {id, code} (CreatedRelation: both optional; an answer without an id is completed by
        looking the code up)."""
        created = self.call("POST", "v1/relation", payload=payload) or {}
        if created.get("id"):
            return created
        code = str(created.get("code") or payload.get("code") or "")
        found = self.relation_by_code(code) if code else None
        if found is None or not found.get("id"):
            raise ApiError(502, "CREATED_WITHOUT_ID", f"e-Boekhouden created relation {code or '?'} but answered no id, and it cannot be found by its code")
        return {"id": found["id"], "code": found.get("code") or code}

    # ---- mutations and invoices ----------------------------------------------------------------

    def mutations_by_invoice_number(self, invoice_number: str, mutation_type: int | None = None) -> list[dict]:
        """Mutations with this invoice number (the exactly-once lookup), each checked."""
        params: dict[str, Any] = {"invoiceNumber": invoice_number}
        if mutation_type is not None:
            params["type"] = mutation_type
        same_type = (lambda i: i.get("type") in (None, mutation_type)) if mutation_type is not None else (lambda i: True)
        numbered = self._numbered(invoice_number)
        return list(self._matching("v1/mutation", params, lambda i: numbered(i) and same_type(i), "invoiceNumber (mutations)"))

    def sales_by_number(self, sales_number: str, around: dt.date | None = None) -> list[FoundSale]:
        """The sales under a number, whole (:func:`whole_sales`; ``around`` is not needed: the lookup is by number)."""
        return whole_sales(self.mutations_by_invoice_number(sales_number, SALE), lambda: self.outstanding(sales_number), self.mutation)

    def payments_by_number(self, sales_number: str) -> list[FoundPayment]:
        """The payments under a number with the amount of their rows, read from the full mutation — never from a list
        item's ``amount``, whose meaning the description does not give. A list item without an id: amount None."""
        found: list[FoundPayment] = []
        for item in self.mutations_by_invoice_number(sales_number, PAYMENT_RECEIVED):
            entry = str(item.get("entryNumber") or "")
            if not item.get("id"):
                found.append({"id": None, "entryNumber": entry, "amount": None})
                continue
            rows = self.mutation(int(item["id"])).get("rows") or []
            found.append({"id": int(item["id"]), "entryNumber": entry, "amount": sum((Decimal(str(row.get("amount") or 0)) for row in rows), Decimal(0))})
        return found

    def mutation(self, mutation_id: int) -> dict:
        """GET /v1/mutation/{id}: one mutation with its relation, date and rows."""
        return self.call("GET", f"v1/mutation/{int(mutation_id)}")

    def create_mutation(self, payload: dict) -> dict:
        """POST /v1/mutation → CreatedMutation {id}."""
        return self.call("POST", "v1/mutation", payload=payload) or {}

    def invoices(self, **filters: Any) -> list[dict]:
        """Invoices matching filters (invoiceNumber, relationId, date), each checked."""
        checks: list[Callable[[dict], bool]] = []
        if "invoiceNumber" in filters:
            checks.append(self._numbered(str(filters["invoiceNumber"])))
        if "relationId" in filters:
            checks.append(lambda i: str(i.get("relationId")) == str(filters["relationId"]))
        if "date" in filters:
            checks.append(lambda i: str(i.get("date") or "")[:10] == str(filters["date"])[:10])
        return list(self._matching("v1/invoice", filters, lambda i: all(check(i) for check in checks), "invoiceNumber/relationId/date (invoices)"))

    def create_invoice(self, payload: dict) -> dict:
        """POST /v1/invoice → CreatedInvoice {id, invoiceNumber, inExVat}."""
        return self.call("POST", "v1/invoice", payload=payload) or {}

    def outstanding(self, invoice_number: str) -> list[dict]:
        """Outstanding debtor items for a sales number, each checked."""
        params = {"credDeb": "D", "invoiceNumber": invoice_number}
        return list(self._matching("v1/mutation/invoice/outstanding", params, self._numbered(invoice_number), "invoiceNumber (outstanding)"))

    def all_outstanding(self) -> Iterator[dict]:
        """Every outstanding debtor item."""
        return self.list_all("v1/mutation/invoice/outstanding", {"credDeb": "D"})

    def test_connection(self) -> tuple[bool, str]:
        """Open and revoke a session, and read one ledger."""
        try:
            self.first("v1/ledger", {})
            return True, "e-Boekhouden API answered"
        except Exception as exc:  # noqa: BLE001 - shown to the user as the check's result
            return False, str(exc)
        finally:
            self.close_session()


def whole_sales(listed: list[dict], outstanding: Callable[[], list[dict]], mutation: Callable[[int], dict]) -> list[FoundSale]:
    """Listed sales made whole: a list item has neither relation nor a documented amount, so each is read in full
    (``GET /v1/mutation/{id}``). A list item without an id (0, as real clients report) cannot be read; its sale is then
    found among the sales number's outstanding items (mutationId, relationId, date). If it is not there either (already
    paid), only its date is known: ``in_doubt`` — the booking code adopts it on its date, never calls it a clash on a
    guess."""

    def read(mutation_id: int) -> FoundSale:
        full = mutation(mutation_id)
        return {"id": mutation_id, "relationId": full.get("relationId"), "date": str(full.get("date") or "")[:10]}

    found: list[FoundSale] = []
    open_items: list[dict] | None = None
    for item in listed:
        if item.get("id"):
            found.append(read(int(item["id"])))
            continue
        open_items = outstanding() if open_items is None else open_items
        open_item = next(iter(open_items), None)
        if open_item is not None and open_item.get("mutationId"):
            found.append(read(int(open_item["mutationId"])))
        elif open_item is not None:
            found.append({"id": None, "relationId": open_item.get("relationId"), "date": str(open_item.get("date") or item.get("date") or "")[:10]})
        else:
            found.append({"id": None, "date": str(item.get("date") or "")[:10], "in_doubt": True})
    return found
