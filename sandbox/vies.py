"""The VIES checkVatService emulator (``POST /taxation_customs/vies/services/checkVatService``, ``GET …?wsdl``).

It speaks the repo's hand-written WSDL (plugins/prestashop_eboekhouden/hooks/vies_checkvat.wsdl): SOAP 1.1,
document/literal. Every request is validated against the WSDL's schema (a request that does not fit is answered
with the fault INVALID_INPUT, as VIES answers a malformed number), and so is every answer it gives.

Who is registered (:class:`ViesState`):
- the numbers registered explicitly (``register``; seeded: the fixed companies of :data:`SEEDED_VALID`);
- else, with a ``lookup`` (``SandboxServers`` wires the shop in): every company in the emulated shop whose address
  carries a VAT number with valid check digits — the seeded shop's ICP customers are all known as valid, so
  the demo books what it booked before VIES was checked;
- not registered (``valid`` false): the numbers of :data:`SEEDED_INVALID` and any ``unregister``-ed one, numbers
  with wrong check digits, and every other number.

Knobs (Python and ``/__sandbox__/vies/...``), each for a number of requests (``times``) or until cleared:
- per member state: a fault (MS_UNAVAILABLE, TIMEOUT, MS_MAX_CONCURRENT_REQ, …) or a delay before the answer
  (``hang_seconds``: a client time-out);
- the whole service: a fault (SERVICE_UNAVAILABLE, GLOBAL_MAX_CONCURRENT_REQ, IP_BLOCKED, …), a latency, and
  ``max_concurrent``: more requests in flight than that are answered GLOBAL_MAX_CONCURRENT_REQ, as VIES does;
- per number: a fault (VAT_BLOCKED, INVALID_INPUT);
- request counts per number, faults answered, and the most requests it had in flight at once.
The generic fault injection of the other emulators (``/__sandbox__/faults``: 500, 429, time-outs, resets) applies too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from starlette.requests import ClientDisconnect
from stdnum.eu import vat as eu_vat

from sandbox.appkit import ExactJSONResponse, RequestStats, admin_router, install_middleware, parse_json
from sandbox.faults import FaultInjector

SERVICE_PATH = "/taxation_customs/vies/services/checkVatService"
NS = "urn:ec.europa.eu:taxud:vies:services:checkVat"
TYPES_NS = "urn:ec.europa.eu:taxud:vies:services:checkVat:types"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
XML_TYPE = "text/xml; charset=utf-8"
REAL_ADDRESS = f"https://ec.europa.eu{SERVICE_PATH}"
WSDL_FILE = Path(__file__).resolve().parents[1] / "plugins" / "prestashop_eboekhouden" / "hooks" / "vies_checkvat.wsdl"
WSDL_ENV = "SANDBOX_VIES_WSDL"
logger = logging.getLogger(__name__)
BRUSSELS = ZoneInfo("Europe/Brussels")
MEMBER_STATE_FAULTS = ("MS_UNAVAILABLE", "TIMEOUT", "MS_MAX_CONCURRENT_REQ")
SERVICE_FAULTS = ("SERVICE_UNAVAILABLE", "GLOBAL_MAX_CONCURRENT_REQ", "SERVER_BUSY", "IP_BLOCKED", "INVALID_REQUESTER_INFO")
NUMBER_FAULTS = ("INVALID_INPUT", "VAT_BLOCKED")
FAULTS = frozenset(MEMBER_STATE_FAULTS + SERVICE_FAULTS + NUMBER_FAULTS)
COUNTRY_CODES = frozenset("AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split())
NOT_SHARED = frozenset({"DE", "ES"})  # member states that answer "---" for name and address

# Fixed registrations (fictional companies with numbers whose check digits are right), beside the shop's companies.
SEEDED_VALID = {
    "BE0428759497": ("Theehuis Gent BVBA", "Veldstraat 12\n9000 Gent"),
    "BE0403170701": ("Brasserie Van Dijk BV", "Grote Markt 1\n1000 Brussel"),
    "DE136695976": ("Teehaus Köln GmbH", "Hohe Straße 40\n50667 Köln"),
    "FR40303265045": ("Maison du Thé SARL", "12 Rue de Rivoli\n75004 Paris"),
}
# Well-formed numbers with valid check digits that VIES does not know (a company that ended, or never existed).
SEEDED_INVALID = frozenset({"BE0999999724", "DE129273398", "FR11123456782"})


@dataclass(frozen=True)
class Registration:
    """A registered company as VIES shows it."""

    name: str
    address: str


@dataclass
class _Knob:
    """A fault (or delay) that holds for `times` more requests (None: until cleared)."""

    fault: str | None = None
    times: int | None = None
    hang_seconds: float = 0.0

    def fire(self) -> bool:
        """Whether it applies to this request (and count it down)."""
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


def _compact(number: str, country_iso: str = "") -> str:
    """A VAT number as VIES takes it: prefixed (EL for Greece), without separators, upper case."""
    cleaned = "".join(ch for ch in str(number) if ch.isalnum()).upper()
    if cleaned.startswith("GR"):
        cleaned = "EL" + cleaned[2:]
    if cleaned[:2].isalpha():
        return cleaned
    prefix = {"GR": "EL"}.get(country_iso.upper(), country_iso.upper())
    return prefix + cleaned


class ViesState:
    """The register, the knobs and the counts; thread-safe, changeable while the server runs."""

    def __init__(self, lookup: Callable[[str], Registration | None] | None = None, clock: Callable[[], dt.datetime] | None = None, seed: bool = True):
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._heals = 0  # a hanging request ends when its knob is healed
        self.lookup = lookup
        self.clock = clock or (lambda: dt.datetime.now(BRUSSELS))
        self.registry: dict[str, Registration] = {}
        self.unregistered: set[str] = set()
        self.member_states: dict[str, _Knob] = {}
        self.service = _Knob()
        self.number_faults: dict[str, _Knob] = {}
        self.max_concurrent: int | None = None
        self.latency_ms = 0
        self.stats = RequestStats()
        self.counts: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()  # valid / invalid / each fault code
        self.in_flight = 0
        self.max_in_flight = 0
        if seed:
            for number, (name, address) in SEEDED_VALID.items():
                self.registry[number] = Registration(name, address)
            self.unregistered.update(SEEDED_INVALID)

    # ---- the register ----------------------------------------------------------------------------

    def register(self, number: str, name: str = "", address: str = "") -> None:
        """Make a number valid (with the name and address VIES shows)."""
        with self._lock:
            number = _compact(number)
            self.unregistered.discard(number)
            self.registry[number] = Registration(name, address)

    def unregister(self, number: str) -> None:
        """Make a number not registered (VIES answers valid false), whatever the shop says."""
        with self._lock:
            number = _compact(number)
            self.registry.pop(number, None)
            self.unregistered.add(number)

    def registration(self, number: str) -> Registration | None:
        """Who a number belongs to (None: not registered)."""
        with self._lock:
            if number in self.unregistered:
                return None
            if number in self.registry:
                return self.registry[number]
            lookup = self.lookup
        if not eu_vat.is_valid(number):
            return None
        return lookup(number) if lookup is not None else None

    # ---- knobs -----------------------------------------------------------------------------------

    def set_member_state(self, country: str, fault: str | None = "MS_UNAVAILABLE", *, times: int | None = None, hang_seconds: float = 0.0) -> None:
        """A member state answers `fault` (and/or waits hang_seconds first) for `times` requests (None: until healed)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown VIES fault {fault!r}; one of {', '.join(sorted(FAULTS))}")
        with self._lock:
            self.member_states[country.upper()] = _Knob(fault, times, float(hang_seconds))

    def heal(self, country: str | None = None) -> None:
        """A member state (or, with none given, every member state, the service and every number) answers again."""
        with self._lock:
            self._heals += 1
            if country is None:
                self.member_states.clear()
                self.number_faults.clear()
                self.service = _Knob()
            else:
                self.member_states.pop(country.upper(), None)

    def set_service(self, fault: str | None = "SERVICE_UNAVAILABLE", *, times: int | None = None, hang_seconds: float = 0.0) -> None:
        """The whole service answers `fault` (and/or waits first) for `times` requests (None: until healed)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown VIES fault {fault!r}; one of {', '.join(sorted(FAULTS))}")
        with self._lock:
            self.service = _Knob(fault, times, float(hang_seconds))

    def set_number_fault(self, number: str, fault: str | None = "VAT_BLOCKED", *, times: int | None = None) -> None:
        """One number answers `fault` (None clears it)."""
        with self._lock:
            if fault is None:
                self.number_faults.pop(_compact(number), None)
                return
            if fault not in FAULTS:
                raise ValueError(f"unknown VIES fault {fault!r}")
            self.number_faults[_compact(number)] = _Knob(fault, times)

    def reset_counts(self) -> None:
        """Forget request counts and the in-flight peak."""
        with self._lock:
            self.counts.clear()
            self.answers.clear()
            self.max_in_flight = self.in_flight
        self.stats.reset()

    def requests(self, number: str | None = None) -> int:
        """checkVat requests received (for one number, or all)."""
        with self._lock:
            return self.counts[_compact(number)] if number else sum(self.counts.values())

    def describe(self) -> dict[str, Any]:
        """Knobs and counts as JSON."""
        with self._lock:
            return {
                "member_states": {c: vars(k) for c, k in self.member_states.items()},
                "service": vars(self.service),
                "numbers": {n: vars(k) for n, k in self.number_faults.items()},
                "max_concurrent": self.max_concurrent,
                "latency_ms": self.latency_ms,
                "registered": sorted(self.registry),
                "unregistered": sorted(self.unregistered),
                "requests": {"total": sum(self.counts.values()), "per_number": dict(self.counts), "answers": dict(self.answers)},
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
            }

    def release(self) -> None:
        """Wake requests that are hanging (the server is stopping)."""
        self._released.set()

    async def _sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        until, heals = loop.time() + seconds, self._heals
        while not self._released.is_set() and loop.time() < until and heals == self._heals:
            await asyncio.sleep(min(0.05, until - loop.time()))

    # ---- one request -----------------------------------------------------------------------------

    def _enter(self) -> int:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.in_flight

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _knobs(self, number: str, country: str, in_flight: int) -> tuple[str | None, float]:
        """The fault and the delay for this request (consumes `times`)."""
        with self._lock:
            self.counts[number] += 1
            delay = self.latency_ms / 1000
            if self.max_concurrent is not None and in_flight > self.max_concurrent:
                return "GLOBAL_MAX_CONCURRENT_REQ", delay
            for knob in (self.service, self.member_states.get(country), self.number_faults.get(number)):
                if knob is not None and (knob.fault or knob.hang_seconds) and knob.fire():
                    delay += knob.hang_seconds
                    if knob.fault:
                        return knob.fault, delay
            return None, delay

    async def check(self, country: str, vat_number: str) -> tuple[str | None, etree._Element | None]:
        """(fault code, None) or (None, the checkVatResponse element)."""
        number = _compact(vat_number, country) if country in COUNTRY_CODES else f"{country}{vat_number}"
        in_flight = self._enter()
        try:
            fault, delay = self._knobs(number, country, in_flight)
            if delay:
                await self._sleep(delay)
            if fault is None and country not in COUNTRY_CODES:
                fault = "INVALID_INPUT"
            if fault is not None:
                with self._lock:
                    self.answers[fault] += 1
                return fault, None
            registration = self.registration(number)
            with self._lock:
                self.answers["valid" if registration else "invalid"] += 1
            return None, self._answer(country, vat_number, registration)
        finally:
            self._leave()

    def _answer(self, country: str, vat_number: str, registration: Registration | None) -> etree._Element:
        now = self.clock()
        offset = now.strftime("%z")
        T = lambda name: etree.QName(TYPES_NS, name).text  # noqa: E731
        root = etree.Element(T("checkVatResponse"), nsmap={"ns2": TYPES_NS})
        parts = [
            ("countryCode", country), ("vatNumber", vat_number), ("requestDate", f"{now:%Y-%m-%d}{offset[:3]}:{offset[3:]}"),
            ("valid", "true" if registration else "false"),
        ]  # fmt: skip
        if registration and country in NOT_SHARED:
            parts += [("name", "---"), ("address", "---")]
        elif registration:
            parts += [("name", registration.name), ("address", registration.address)]
        else:
            parts += [("name", "---"), ("address", "---")]
        for name, text in parts:
            etree.SubElement(root, T(name)).text = text
        return root


# ---- SOAP --------------------------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


class _Contract:
    """The WSDL's text and the schema of its messages."""

    def __init__(self, path: Path):
        self.text = path.read_text(encoding="utf-8")
        document = etree.fromstring(self.text.encode(), _PARSER)
        node = document.find(f"{{{WSDL_NS}}}types/{{{XSD}}}schema")
        if node is None:
            raise ValueError(f"{path} has no schema in wsdl:types")
        self.schema = etree.XMLSchema(etree.ElementTree(node))

    def served(self, base_url: str) -> str:
        return self.text.replace(f'location="{REAL_ADDRESS}"', f'location="{base_url.rstrip("/")}{SERVICE_PATH}"')

    def valid(self, node: etree._Element) -> bool:
        return bool(self.schema.validate(etree.ElementTree(node)))


def _envelope(content: etree._Element) -> bytes:
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"env": SOAP_ENV})
    etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
    etree.SubElement(root, f"{{{SOAP_ENV}}}Body").append(content)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def fault_envelope(code: str, faultcode: str = "env:Server") -> bytes:
    """VIES's fault: HTTP 500, faultstring = the code."""
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = faultcode
    etree.SubElement(fault, "faultstring").text = code
    return _envelope(fault)


def vies_error_body(status: int, message: str) -> bytes:
    """The body of an injected error status (generic fault injection): a proxy's plain page, not a VIES fault."""
    return f"<html><body><h1>{status}</h1><p>{message}</p></body></html>".encode()


def _request_element(raw: bytes) -> etree._Element | None:
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        return None
    body = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
    return next((child for child in (body if body is not None else []) if isinstance(child.tag, str)), None)


def _xml(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type=XML_TYPE)


def _admin(state: ViesState) -> APIRouter:
    router = APIRouter(prefix="/__sandbox__/vies")

    def knob_body(data: dict) -> dict[str, Any]:
        unknown = set(data) - {"fault", "times", "hang_seconds"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; use fault, times, hang_seconds")
        return {"fault": data.get("fault"), "times": data.get("times"), "hang_seconds": float(data.get("hang_seconds") or 0)}

    async def apply(request: Request, change: Callable[[dict], None]) -> Response:
        try:
            change(parse_json(await request.body(), exact=False) or {})
        except (ValueError, TypeError) as exc:
            return ExactJSONResponse({"error": str(exc)}, status_code=400)
        return ExactJSONResponse(state.describe())

    @router.get("")
    def describe() -> Response:
        """Knobs, register and counts."""
        return ExactJSONResponse(state.describe())

    @router.get("/requests")
    def requests_() -> Response:
        """checkVat requests per number, answers given, and the most in flight at once."""
        info = state.describe()
        return ExactJSONResponse({**info["requests"], "max_in_flight": info["max_in_flight"]})

    @router.post("/reset")
    def reset() -> Response:
        """Forget the counts."""
        state.reset_counts()
        return ExactJSONResponse(state.describe())

    @router.put("/member-states/{country}")
    async def member_state(country: str, request: Request) -> Response:
        """{"fault": "MS_UNAVAILABLE" | "TIMEOUT" | "MS_MAX_CONCURRENT_REQ" | …, "times": null, "hang_seconds": 0}."""
        return await apply(request, lambda data: state.set_member_state(country, **knob_body({"fault": "MS_UNAVAILABLE", **data})))

    @router.delete("/member-states/{country}")
    def heal(country: str) -> Response:
        """The member state answers again."""
        state.heal(country)
        return ExactJSONResponse(state.describe())

    @router.put("/service")
    async def service(request: Request) -> Response:
        """{"fault": "SERVICE_UNAVAILABLE" | "GLOBAL_MAX_CONCURRENT_REQ" | … | null, "times", "hang_seconds", "max_concurrent", "latency_ms"}."""

        def change(data: dict) -> None:
            state.max_concurrent = data.pop("max_concurrent", state.max_concurrent)
            state.latency_ms = int(data.pop("latency_ms", state.latency_ms) or 0)
            if data:
                state.set_service(**knob_body(data))

        return await apply(request, change)

    @router.delete("/service")
    def heal_all() -> Response:
        """Every member state and the service answer again; no concurrency cap, no latency."""
        state.heal()
        state.max_concurrent, state.latency_ms = None, 0
        return ExactJSONResponse(state.describe())

    @router.put("/numbers/{number}")
    async def number(number: str, request: Request) -> Response:
        """{"valid": true, "name", "address"} registers it; {"valid": false} unregisters it; {"fault": "VAT_BLOCKED"} faults it."""

        def change(data: dict) -> None:
            if "fault" in data:
                state.set_number_fault(number, data.get("fault"), times=data.get("times"))
            elif data.get("valid") is False:
                state.unregister(number)
            else:
                state.register(number, str(data.get("name") or ""), str(data.get("address") or ""))

        return await apply(request, change)

    return router


def wsdl_file() -> Path | None:
    """The repo's VIES WSDL: $SANDBOX_VIES_WSDL, else plugins/ beside the sandbox package (None when neither exists)."""
    candidates = [Path(os.environ[WSDL_ENV])] if os.environ.get(WSDL_ENV) else []
    candidates.append(WSDL_FILE)
    return next((path for path in candidates if path.is_file()), None)


def create_vies_app(state: ViesState | None = None, faults: FaultInjector | None = None, wsdl: Path | None = None) -> FastAPI:
    """The VIES emulator for a ViesState, with fault injection and admin routes."""
    state = state or ViesState()
    faults = faults or FaultInjector()
    path = wsdl or wsdl_file()
    contract = _Contract(path) if path else None
    if contract is None:
        logger.warning("VIES emulator: WSDL not found (set %s); checkVat answers SERVICE_UNAVAILABLE", WSDL_ENV)
    app = FastAPI(title="VIES checkVatService (sandbox)", docs_url=None, redoc_url=None, openapi_url=None)
    install_middleware(app, state.stats, faults, vies_error_body, lambda key: key, error_content_type="text/html")

    @app.get(SERVICE_PATH)
    def describe(request: Request) -> Response:
        """?wsdl: the WSDL with this server's address."""
        if not any(key.lower() == "wsdl" for key in request.query_params):
            return Response("<html><body><h1>checkVatService (sandbox)</h1><a href='?wsdl'>WSDL</a></body></html>", media_type="text/html")
        if contract is None:
            return Response(f"WSDL not found; set {WSDL_ENV}", status_code=503, media_type="text/plain")
        return _xml(contract.served(str(request.base_url)).encode())

    @app.post(SERVICE_PATH)
    async def check_vat(request: Request) -> Response:
        """One checkVat."""
        try:
            raw = await request.body()
        except ClientDisconnect:
            return Response(status_code=499)
        if contract is None:
            return _xml(fault_envelope("SERVICE_UNAVAILABLE"), 500)
        node = _request_element(raw)
        if node is None or etree.QName(node).localname != "checkVat" or etree.QName(node).namespace != TYPES_NS:
            return _xml(fault_envelope("Unexpected wrapper element", "env:Client"), 500)
        if not contract.valid(node):
            return _xml(fault_envelope("INVALID_INPUT"), 500)
        country = node.findtext(f"{{{TYPES_NS}}}countryCode") or ""
        vat_number = node.findtext(f"{{{TYPES_NS}}}vatNumber") or ""
        fault, answer = await state.check(country, vat_number)
        if fault is not None:
            return _xml(fault_envelope(fault), 500)
        assert answer is not None
        if not contract.valid(answer):  # the emulator may not answer what VIES would not
            raise AssertionError(f"VIES emulator answer does not fit the WSDL: {contract.schema.error_log.last_error}")
        return _xml(_envelope(answer))

    app.include_router(admin_router(state.stats, faults))
    app.include_router(_admin(state))
    app.state.vies = state
    app.state.faults = faults
    return app


def shop_lookup(shop: Any) -> Callable[[str], Registration | None]:
    """A lookup that knows the shop's companies: an address with a company name and this VAT number."""
    from sandbox.shop_reference import COUNTRY_IDS

    isos = {str(cid): iso for iso, cid in COUNTRY_IDS.items()}

    def lookup(number: str) -> Registration | None:
        def match(record: dict) -> bool:
            raw = str(record.get("vat_number") or "")
            return bool(raw and str(record.get("company") or "").strip()) and _compact(raw, isos.get(str(record.get("id_country")), "")) == number

        found = shop.select("addresses", match)
        if not found:
            return None
        address = found[0]
        return Registration(str(address.get("company") or "").strip(), f"{address.get('address1', '')}\n{address.get('postcode', '')} {address.get('city', '')}".strip())

    return lookup
