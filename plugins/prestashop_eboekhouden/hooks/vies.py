"""ViesHook: the EU's VIES checkVatService (SOAP), which says whether a VAT number is registered.

Connection ``vies_default`` (optional; type ``vies``): host = the service URL, e.g. a corporate proxy or the sandbox
emulator (a host without a path gets the service's own path). Without that connection the hook asks the official
endpoint, :data:`OFFICIAL_ENDPOINT`. The WSDL is the hand-written ``vies_checkvat.wsdl`` beside this file (no
network needed to load it); zeep builds the request and reads the answer strictly against it.

Thin, like the other hooks: one operation, :meth:`ViesHook.check_vat`, which returns VIES's answer as data or
raises :class:`ViesFault` with VIES's fault code (or ``NO_ANSWER``). Retry rules (tenacity, through ApiHook):
- a time-out, a broken connection, a 5xx without a SOAP fault or an unreadable answer is retried with back-off;
- the faults that mean "too many requests right now" (GLOBAL_MAX_CONCURRENT_REQ, MS_MAX_CONCURRENT_REQ,
  SERVER_BUSY) and SERVICE_UNAVAILABLE are retried with back-off;
- a member state that is down (MS_UNAVAILABLE, TIMEOUT) and every answer about the number are not retried: they
  come back at once, so the run moves on;
- short time-outs (3 s to connect, 10 s to answer; connection extra ``timeout`` overrides both), at most 3 attempts,
  and never a new attempt after ``deadline`` (the run's time budget for VIES).

VIES needs no credentials. A proxy's login/password in the connection are used as HTTP Basic auth (HttpHook),
registered with the log masker, and never part of a log line or an error (URLs are redacted).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from lxml import etree
from tenacity import RetryCallState

from prestashop_eboekhouden.domain.vies import NO_ANSWER, vies_parts
from prestashop_eboekhouden.hooks.base import ApiHook, XmlAnswers, _Retryable, redact_url
from prestashop_eboekhouden.masking import mask

WSDL = Path(__file__).with_name("vies_checkvat.wsdl")
NS = "urn:ec.europa.eu:taxud:vies:services:checkVat"
TYPES_NS = "urn:ec.europa.eu:taxud:vies:services:checkVat:types"
BINDING = f"{{{NS}}}checkVatBinding"
VIES_CONN_ID = "vies_default"
SERVICE_PATH = "/taxation_customs/vies/services/checkVatService"
OFFICIAL_ENDPOINT = f"https://ec.europa.eu{SERVICE_PATH}"
VIES_TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
# VIES faults worth another attempt in the same breath: the service is busy, not the member state down.
RETRIED_FAULTS = frozenset({"GLOBAL_MAX_CONCURRENT_REQ", "MS_MAX_CONCURRENT_REQ", "SERVER_BUSY", "SERVICE_UNAVAILABLE"})
PROBE_NUMBER = ("NL", "000000000B00")  # well-formed, never registered: any answer (valid or not) proves VIES answers
_NOT_SHARED = {"", "---"}  # what a member state that does not share names and addresses answers (Germany)


class ViesFault(Exception):
    """VIES gave no verdict: its fault code (MS_UNAVAILABLE, INVALID_INPUT, ...) or NO_ANSWER, and a message."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code


class _Busy(_Retryable):
    """Internal: a VIES fault that is retried with back-off (too many requests, service unavailable)."""

    def __init__(self, code: str):
        super().__init__(f"VIES answered {code}")
        self.code = code


@dataclass(frozen=True)
class ViesAnswer:
    """VIES's verdict on one number (name and address None when the member state does not share them)."""

    country_code: str
    vat_number: str
    request_date: dt.date
    valid: bool
    name: str | None
    address: str | None


@dataclass(frozen=True)
class ViesProbe:
    """Whether VIES answers at the configured address: ok, what it said, and where it was asked (no credentials)."""

    ok: bool
    message: str
    endpoint: str


@functools.cache
def vies_client() -> Any:
    """The zeep client of the repo's WSDL (parsed once per process; strict parsing of every answer)."""
    import zeep

    settings = zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return zeep.Client(str(WSDL), settings=settings)


def _fault_of(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """requests response hook: a soap:Fault becomes its code, before the retry rules see a bare 500."""
    if response.status_code < 400 or b"Fault" not in response.content[:4096]:
        return
    try:
        found = etree.fromstring(response.content).xpath("//*[local-name()='Fault']/faultstring/text()")
    except (etree.XMLSyntaxError, ValueError):
        return
    code = " ".join(found).strip().split(" ", 1)[0][:40]
    if not code:
        return
    if code in RETRIED_FAULTS:
        raise _Busy(code)
    raise ViesFault(code, f"VIES answered {code}")


def _text(value: Any) -> str | None:
    text = " ".join(str(value or "").split())
    return None if text in _NOT_SHARED else text


class ViesHook(XmlAnswers, ApiHook):
    """VIES checkVat over SOAP: one request per number, retried with back-off, bounded by a deadline."""

    conn_name_attr = "vies_conn_id"
    default_conn_name = VIES_CONN_ID
    conn_type = "vies"
    hook_name = "VIES VAT number check"
    api_name = "VIES"
    max_attempts = 3
    backoff_base = 1.0
    backoff_cap = 4.0

    def __init__(
        self, vies_conn_id: str = default_conn_name, *, deadline: float | None = None, clock: Callable[[], float] = time.monotonic, **kwargs: Any
    ):
        super().__init__(vies_conn_id, **kwargs)
        self._timeout = VIES_TIMEOUT
        self.deadline = deadline  # a time.monotonic() after which no new attempt starts
        self._clock = clock

    # ---- where VIES is --------------------------------------------------------------------------

    @classmethod
    def get_connection(cls, conn_id: str) -> Any:
        """The connection; for ``vies_default`` without one, the official endpoint."""
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return super().get_connection(conn_id)
        except AirflowNotFoundException:
            if conn_id != VIES_CONN_ID:
                raise
            from airflow.sdk.definitions.connection import Connection

            return Connection(conn_id=conn_id, conn_type="vies", host=OFFICIAL_ENDPOINT)

    def _configure_auth(self, session: requests.Session) -> None:
        """Read VIES's soap:Faults before the retry rules do; a proxy password never shows in a log."""
        connection = self.get_connection(self.conn_id)
        if connection.password:
            mask(connection.password)
        session.hooks["response"].append(_fault_of)

    def endpoint(self) -> str:
        """The path to post to: the connection host's own path, else the official service path."""
        self.url_from_endpoint("")  # reads the connection once
        return "" if urlsplit(self.base_url).path.strip("/") else SERVICE_PATH

    def service_url(self) -> str:
        """Where VIES is asked, without credentials (for messages)."""
        return redact_url(self.url_from_endpoint(self.endpoint()))

    # ---- the wire -------------------------------------------------------------------------------

    def _stop(self, retry_state: RetryCallState) -> bool:
        return super()._stop(retry_state) or (self.deadline is not None and self._clock() >= self.deadline)

    @staticmethod
    def _give_up(retry_state: RetryCallState) -> Any:
        """After the last attempt: VIES's own fault code when it gave one, else NO_ANSWER."""
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, _Busy):
            raise ViesFault(failure.code, f"VIES answered {failure.code}; gave up after {retry_state.attempt_number} attempts") from None
        raise ViesFault(NO_ANSWER, f"{failure}; gave up after {retry_state.attempt_number} attempts") from None

    def check_vat(self, number: str) -> ViesAnswer:
        """checkVat for a prefixed VAT number ('BE0403170701'); ViesFault when VIES gives no verdict."""
        from zeep.exceptions import Error as ZeepError
        from zeep.exceptions import Fault as ZeepFault
        from zeep.helpers import serialize_object

        country, rest = vies_parts(number)
        client = vies_client()
        binding = client.wsdl.bindings[BINDING]
        try:
            envelope = client.create_message(client.service, "checkVat", countryCode=country, vatNumber=rest)
        except (ZeepError, ValueError, TypeError) as exc:
            raise ViesFault("INVALID_INPUT", f"{number} cannot be asked: {type(exc).__name__}") from None
        response = self.request(
            "POST", self.endpoint(), body=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, idempotent=True, resource="checkVat",
        )  # fmt: skip
        try:
            result = serialize_object(binding.process_reply(client, binding.get("checkVat"), response), dict) or {}
        except ZeepFault as fault:  # a fault with HTTP 200 (the response hook reads those of 4xx/5xx)
            code = str(fault.message or "").strip().split(" ", 1)[0][:40] or NO_ANSWER
            raise ViesFault(code, f"VIES answered {code}") from None
        except (ZeepError, ValueError) as exc:
            raise ViesFault(NO_ANSWER, f"VIES answered checkVat with a reply that does not fit its WSDL ({type(exc).__name__})") from None
        request_date = result.get("requestDate")
        if isinstance(request_date, dt.datetime):
            request_date = request_date.date()
        if not isinstance(request_date, dt.date) or not isinstance(result.get("valid"), bool):
            raise ViesFault(NO_ANSWER, "VIES answered checkVat without a date or verdict")
        return ViesAnswer(
            country_code=str(result.get("countryCode") or country), vat_number=str(result.get("vatNumber") or rest),
            request_date=request_date, valid=result["valid"], name=_text(result.get("name")), address=_text(result.get("address")),
        )  # fmt: skip

    # ---- reachability (setup probe, Airflow's Test button) ----------------------------------------

    def probe(self) -> ViesProbe:
        """Read-only: one checkVat of a number nobody has (NL000000000B00). Any verdict, and a member state's own
        fault, means VIES answers here; a service-wide fault or no answer means it does not (the message says why)."""
        from prestashop_eboekhouden.domain.vies import MEMBER_STATE_FAULTS, NUMBER_FAULTS, service_words

        number = "".join(PROBE_NUMBER)
        where = OFFICIAL_ENDPOINT
        try:
            where = self.service_url()
            answer = self.check_vat(number)
            return ViesProbe(True, f"VIES answered at {where} (checkVat {number}: {'valid' if answer.valid else 'not registered'})", where)
        except ViesFault as fault:
            if fault.code in MEMBER_STATE_FAULTS or fault.code in NUMBER_FAULTS:
                return ViesProbe(True, f"VIES answered at {where}; for {number}: {service_words(fault.code, number)} ({fault.code})", where)
            return ViesProbe(False, f"VIES does not answer at {where}: {service_words(fault.code, number)} ({fault})", where)
        except Exception as exc:  # noqa: BLE001 - a probe reports, it does not fail
            return ViesProbe(False, f"VIES could not be asked at {where}: {type(exc).__name__}: {exc}", where)

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's Test button: :meth:`probe`."""
        result = self.probe()
        return result.ok, result.message


def probe_vies(conn_id: str = VIES_CONN_ID, *, timeout: float | None = None) -> ViesProbe:
    """Whether VIES answers where this deployment would ask it (``vies_default``, else the official endpoint).

    Read-only and store-free, for ``python -m prestashop_eboekhouden.setup probe``: one checkVat request (retried at
    most twice), nothing written anywhere."""
    hook = ViesHook(conn_id, deadline=time.monotonic() + (timeout or 20.0))
    if timeout:
        hook._timeout = (min(3.05, timeout), timeout)
    try:
        return hook.probe()
    finally:
        hook.close()
