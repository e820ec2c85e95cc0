"""VIES, the EU's register of VAT numbers: what its answer (or its silence) means for an ICP order.

Pure: the VIES answer enters as data (:class:`ViesRecord`, what the state store knows of one number, and the
fault that kept this run from confirming it); the outcome is a :class:`ViesDecision` — book, wait in Open,
or go to Errors — with the words the bookkeeper reads. No I/O, no clock: ``now`` is an argument.

Manual section 6: "For business orders within the EU, outside the Netherlands, a VAT number is mandatory.
The integration checks for this and also verifies the validity of the VAT number." The form and checksum are
checked by :mod:`prechecks` (python-stdnum); this module decides on VIES's verdict. VIES is often partly down
(one member state's service, time-outs, too many requests at once): an order whose number VIES could not
confirm WAITS in Open and is tried again, never an Error for VIES's downtime — until it has waited
``max_wait_days``; then it goes to Errors with the choices spelled out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from prestashop_eboekhouden.config import VatSettings
from prestashop_eboekhouden.domain.prechecks import VAT_COUNTRY_ADJECTIVE, vat_number_country

VIES_URL = "https://ec.europa.eu/taxation_customs/vies/"
MODES = ("required", "warn", "off")

# error_code of an order in Open that waits for VIES, and of the two kinds of Errors VIES leads to
VIES_WAIT = "VIES_WAIT"
VIES_INVALID = "VIES_INVALID"  # VIES says the number is not registered (or is no number at all)
VIES_UNCONFIRMED = "VIES_UNCONFIRMED"  # VIES did not confirm it for max_wait_days (or never answers for it)

# VIES's own fault codes (checkVat's soap:Fault faultstring), by what they are about.
MEMBER_STATE_FAULTS = frozenset({"MS_UNAVAILABLE", "MS_MAX_CONCURRENT_REQ", "TIMEOUT"})
SERVICE_FAULTS = frozenset(
    {"SERVICE_UNAVAILABLE", "GLOBAL_MAX_CONCURRENT_REQ", "SERVER_BUSY", "IP_BLOCKED", "INVALID_REQUESTER_INFO"}
)
# answers about the number itself: as final as valid/invalid (cached like an invalid answer)
NUMBER_FAULTS = frozenset({"INVALID_INPUT", "VAT_BLOCKED"})
# ours, not VIES's: no usable answer at all (time-out, connection refused, 5xx page, a reply not in the WSDL)
NO_ANSWER = "NO_ANSWER"
# ours: not asked in this run — its time for VIES was spent, or another run is asking VIES for it right now
NOT_ASKED = "NOT_ASKED"
IN_PROGRESS = "IN_PROGRESS"


class Outcome(str, Enum):
    """What becomes of the ICP order."""

    BOOK = "book"
    WAIT = "wait"  # stays Open; tried again next run
    REFUSE = "refuse"  # to Errors


@dataclass(frozen=True)
class ViesRecord:
    """What the state store knows of one VAT number: VIES's last answer and, since then, its last fault.

    ``valid`` is VIES's verdict (None when the last answer was a number fault such as INVALID_INPUT, or when it
    never answered); ``checked_at`` when that answer came (our clock, naive UTC), ``request_date`` the date VIES
    put on it; ``fault``/``fault_at`` the last time VIES could not answer, ``unconfirmed_since`` the first such
    time since its last answer."""

    vat_number: str
    valid: bool | None = None
    answer_fault: str | None = None
    name: str | None = None
    address: str | None = None
    request_date: dt.date | None = None
    checked_at: dt.datetime | None = None
    fault: str | None = None
    fault_at: dt.datetime | None = None
    unconfirmed_since: dt.datetime | None = None

    @property
    def answered(self) -> bool:
        """VIES gave a verdict on this number at some time."""
        return self.checked_at is not None and (self.valid is not None or self.answer_fault is not None)

    @property
    def checked_on(self) -> dt.date | None:
        """The date of VIES's last verdict (its own requestDate when it gave one)."""
        if self.request_date is not None:
            return self.request_date
        return self.checked_at.date() if self.checked_at else None


@dataclass(frozen=True)
class ViesSettings:
    """The tenant's VIES settings (tenant file ``vat.vies*``)."""

    mode: str = "required"
    valid_days: int = 30
    invalid_days: int = 1
    max_wait_days: int = 3

    @classmethod
    def of(cls, vat: VatSettings) -> ViesSettings:
        """The settings of a tenant file's ``vat`` section."""
        return cls(vat.vies, vat.vies_valid_days, vat.vies_invalid_days, vat.vies_max_wait_days)


@dataclass(frozen=True)
class ViesDecision:
    """The outcome for one order: the reason (Open / Errors) or the note (booked anyway), and the store's code."""

    outcome: Outcome
    reason: str | None = None
    code: str | None = None
    note: str | None = None


def vies_parts(number: str) -> tuple[str, str]:
    """A prefixed EU VAT number as VIES's (countryCode, vatNumber): 'BE0403170701' → ('BE', '0403170701'); Greece is EL."""
    return number[:2].upper(), number[2:]


def is_fresh(record: ViesRecord | None, now: dt.datetime, settings: ViesSettings) -> bool:
    """Whether VIES's last verdict still holds: a valid one for valid_days, any other for invalid_days."""
    if record is None or not record.answered:
        return False
    days = settings.valid_days if record.valid else settings.invalid_days
    return now - record.checked_at < dt.timedelta(days=days)  # type: ignore[operator]


def service_words(fault: str | None, number: str) -> str:
    """Why VIES could not confirm a number, as a bookkeeper reads it: 'the Belgian service is unavailable'."""
    country = vat_number_country(number)
    service = f"the {VAT_COUNTRY_ADJECTIVE.get(country, country)} service"
    words = {
        "MS_UNAVAILABLE": f"{service} is unavailable",
        "TIMEOUT": f"{service} did not answer in time",
        "MS_MAX_CONCURRENT_REQ": f"{service} is busy (too many requests)",
        "SERVICE_UNAVAILABLE": "VIES is unavailable",
        "GLOBAL_MAX_CONCURRENT_REQ": "VIES is busy (too many requests)",
        "SERVER_BUSY": "VIES is busy (too many requests)",
        "IP_BLOCKED": "VIES blocks requests from this server (IP_BLOCKED)",
        "INVALID_REQUESTER_INFO": "VIES refused the requester's details (INVALID_REQUESTER_INFO)",
        NO_ANSWER: "VIES did not answer",
        NOT_ASKED: "not asked in this run (its time for VIES was spent)",
        IN_PROGRESS: "another run is asking VIES for it right now",
    }
    return words.get(fault or NO_ANSWER, f"VIES answered {fault}")


def _date(day: dt.date | None) -> str:
    return day.isoformat() if day else "?"


def decide(number: str, record: ViesRecord | None, fault: str | None, now: dt.datetime, settings: ViesSettings) -> ViesDecision:
    """Book, wait or refuse an ICP order with this (stdnum-valid, prefixed) VAT number.

    ``record`` is what the store knows of the number after this run's attempt (None: nothing); ``fault`` why this
    run got no fresh verdict (a VIES fault code, NO_ANSWER, NOT_ASKED or IN_PROGRESS), None when it has one."""
    warn = settings.mode == "warn"
    if settings.mode == "off":
        return ViesDecision(Outcome.BOOK)
    if record is not None and is_fresh(record, now, settings):
        checked = _date(record.checked_on)
        if record.valid:
            return ViesDecision(Outcome.BOOK)
        if record.answer_fault == "VAT_BLOCKED":
            reason = f"VIES gives no answer for VAT number {number} (VAT_BLOCKED, checked {checked})"
            code = VIES_UNCONFIRMED
        elif record.answer_fault:
            reason = f"VIES refused VAT number {number} as invalid input ({record.answer_fault}, checked {checked})"
            code = VIES_INVALID
        else:
            reason = f"VAT number {number} is not registered in VIES (checked {checked})"
            code = VIES_INVALID
        if warn:
            return ViesDecision(Outcome.BOOK, note=f"{reason}: booked anyway (vat.vies: warn)")
        return ViesDecision(Outcome.REFUSE, reason, code)
    why = service_words(fault, number)
    if fault in (NOT_ASKED, IN_PROGRESS):
        waiting = f"VIES has not confirmed {number} yet: {why}"
    else:
        waiting = f"VIES could not confirm {number}: {why}"
    if warn:
        return ViesDecision(Outcome.BOOK, note=f"{waiting}; booked anyway (vat.vies: warn)")
    since = record.unconfirmed_since if record is not None else None
    if since is not None and now - since >= dt.timedelta(days=settings.max_wait_days):
        days = settings.max_wait_days
        reason = (
            f"VIES could not confirm VAT number {number} for {days} day{'' if days == 1 else 's'} (since {since:%Y-%m-%d %H:%M} UTC; "
            f"last: {why}). Book it anyway: set vat.vies: warn in the tenant file and Process the order again; or check the "
            f"number by hand in VIES ({VIES_URL}) and book the order by hand in e-Boekhouden"
        )
        return ViesDecision(Outcome.REFUSE, reason, VIES_UNCONFIRMED)
    return ViesDecision(Outcome.WAIT, f"{waiting}; tried again next run", VIES_WAIT)
