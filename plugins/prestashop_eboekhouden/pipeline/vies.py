"""ICP VAT numbers verified in VIES, between validate's plan and the booking. No business rule lives here: what a
verdict (or VIES's silence) means is :func:`domain.vies.decide`; this module gets the verdicts.

How a run asks VIES (:class:`ViesChecker`):
- each VAT number once per run, however many orders carry it; a number with a fresh verdict in the state store
  (``vat.vies_valid_days`` / ``vies_invalid_days``) is not asked at all: at most one request per number per cache
  period, also across processes (a number is claimed in the store before it is asked);
- at most two requests at once in the whole deployment: a request holds one of the store's two lease slots
  (``store_vies.SLOTS``; why a lease and not an Airflow pool: see ``store_vies``); a run uses up to two threads;
- back-off: the hook retries a busy VIES with exponential back-off; a member state that answered a fault is not
  asked again in this run, and for a few minutes not by any process (a pause in the store, :data:`PAUSE_SECONDS`);
  a fault of VIES itself pauses every member state;
- a time budget per run (``vat.vies_time_budget_seconds``, default 60 s): no request starts after it, the hook's
  retries stop at it, and waiting for a slot ends at it. What was not asked stays Open for the next run: the hourly
  run never waits minutes for VIES.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.vies import (
    IN_PROGRESS,
    MEMBER_STATE_FAULTS,
    NO_ANSWER,
    NOT_ASKED,
    NUMBER_FAULTS,
    Outcome,
    ViesRecord,
    ViesSettings,
    decide,
    is_fresh,
    vies_parts,
)
from prestashop_eboekhouden.schema import utcnow
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.store_vies import ViesStore

if TYPE_CHECKING:
    from prestashop_eboekhouden.hooks.vies import ViesHook

log = logging.getLogger(__name__)

WORKERS = 2  # threads per run; the deployment-wide cap is the store's slots
SLOT_LEASE = dt.timedelta(seconds=120)  # longer than one request with its retries (3 × 13 s + back-off)
CLAIM_LEASE = dt.timedelta(seconds=120)
SLOT_POLL = (0.05, 1.0)  # first and longest wait between tries for a slot (doubling, with jitter)
EU = "EU"  # the pause scope of VIES itself
# How long nobody asks again after a fault (seconds), by its scope: the member state, or VIES itself (EU).
PAUSE_SECONDS = {
    "MS_UNAVAILABLE": 300, "TIMEOUT": 300, "MS_MAX_CONCURRENT_REQ": 60,
    "SERVICE_UNAVAILABLE": 120, "GLOBAL_MAX_CONCURRENT_REQ": 60, "SERVER_BUSY": 60, NO_ANSWER: 120,
    "IP_BLOCKED": 1800, "INVALID_REQUESTER_INFO": 1800,
}  # fmt: skip
DEFAULT_PAUSE = 120


@dataclass(frozen=True)
class Lookup:
    """What a run knows of a number after asking: the store's record, and why there is no fresh verdict (or None)."""

    record: ViesRecord | None
    fault: str | None = None


@dataclass
class ViesOutcome:
    """What the VIES step did to a run's ICP orders."""

    waiting: dict[int, str] = field(default_factory=dict)  # order id → reason (Open)
    refused: dict[int, tuple[str, str]] = field(default_factory=dict)  # order id → (reason, code) (Errors)
    notes: dict[int, str] = field(default_factory=dict)  # order id → note (booked anyway, vat.vies: warn)
    requests: int = 0  # numbers asked in this run


def _scope(number: str) -> str:
    """A number's member state as VIES names it (BE, EL, ...)."""
    return vies_parts(number)[0]


class ViesChecker:
    """Verdicts for VAT numbers: from the store while fresh, else from VIES within the run's budget."""

    def __init__(
        self, store: StateStore, settings: ViesSettings, owner: str, *, budget_seconds: float = 60.0, hook: ViesHook | None = None,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep, workers: int = WORKERS,
    ):  # fmt: skip
        self.vies = ViesStore.of(store)
        self.settings = settings
        self.owner = f"{owner}#{os.getpid()}.{uuid.uuid4().hex[:8]}"[:250]
        self.budget = float(budget_seconds)
        self._hook: ViesHook | None = hook  # tests give a hook of their own
        self._clock, self._sleep = clock, sleep
        self.workers = max(1, workers)
        self.deadline = 0.0
        self.requests = 0  # numbers this checker sent to VIES
        self._down: dict[str, str] = {}  # scope → fault, for the rest of this run
        self._lock = threading.Lock()

    def hook(self) -> ViesHook:
        """The VIES hook (connection vies_default, else the official endpoint), made on first use."""
        if self._hook is None:
            from prestashop_eboekhouden.hooks.vies import ViesHook

            self._hook = ViesHook()
        return self._hook

    def lookup(self, numbers: Iterable[str]) -> dict[str, Lookup]:
        """A Lookup per distinct number: fresh verdicts from the store, the rest asked (2 at a time, within budget)."""
        wanted = sorted(set(numbers))
        records = self.vies.records(wanted)
        now = utcnow()
        found = {n: Lookup(records[n]) for n in wanted if is_fresh(records.get(n), now, self.settings)}
        todo = [n for n in wanted if n not in found]
        if not todo:
            return found
        self.deadline = self._clock() + self.budget
        hook = self.hook()
        hook.deadline = self.deadline
        self._down = {}
        for scope, code in self.vies.pauses().items():
            self._down[scope] = code
        if self.workers == 1 or len(todo) == 1:
            asked = [self._ask(n) for n in todo]
        else:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(todo)), thread_name_prefix="vies") as pool:
                asked = list(pool.map(self._ask, todo))
        found.update(zip(todo, asked, strict=True))
        busy = [n for n in todo if found[n].fault == IN_PROGRESS]
        if busy:  # another run asks VIES about these right now: use its verdict when it comes within the budget
            found.update(self._await_others(busy))
        return found

    # ---- one number ----------------------------------------------------------------------------

    def _fault_in_force(self, number: str) -> str | None:
        with self._lock:
            return self._down.get(EU) or self._down.get(_scope(number))

    def _ask(self, number: str) -> Lookup:
        paused = self._fault_in_force(number)
        if paused:
            return Lookup(self.vies.save_fault(number, None, paused, asked=False), paused)
        if self._clock() >= self.deadline:
            return Lookup(self.vies.records([number]).get(number), NOT_ASKED)
        if not self.vies.claim(number, self.owner, CLAIM_LEASE):
            return Lookup(self.vies.records([number]).get(number), IN_PROGRESS)
        try:
            record = self.vies.records([number]).get(number)
            if is_fresh(record, utcnow(), self.settings):  # another process asked meanwhile
                self.vies.release(number, self.owner)
                return Lookup(record)
            slot = self._slot()
            if slot is None:
                self.vies.release(number, self.owner)
                return Lookup(record, NOT_ASKED)
            try:
                paused = self._fault_in_force(number)  # a fault may have come in while this one waited
                if paused:
                    return Lookup(self.vies.save_fault(number, self.owner, paused, asked=False), paused)
                return self._request(number)
            finally:
                self.vies.release_slot(slot, self._slot_holder())
        except BaseException:
            self.vies.release(number, self.owner)
            raise

    def _slot_holder(self) -> str:
        return f"{self.owner}/{threading.get_ident()}"[:250]

    def _slot(self) -> str | None:
        """One of the deployment's VIES slots, waited for (back-off with jitter) until the run's deadline."""
        wait = SLOT_POLL[0]
        while True:
            slot = self.vies.acquire_slot(self._slot_holder(), SLOT_LEASE)
            if slot is not None:
                return slot
            left = self.deadline - self._clock()
            if left <= 0:
                return None
            self._sleep(min(left, wait * (0.5 + random.random())))
            wait = min(SLOT_POLL[1], wait * 2)

    def _request(self, number: str) -> Lookup:
        from prestashop_eboekhouden.hooks.vies import ViesFault

        with self._lock:
            self.requests += 1
        try:
            answer = self.hook().check_vat(number)
        except ViesFault as fault:
            if fault.code in NUMBER_FAULTS:
                log.info("VIES: %s answered %s", number, fault.code)
                return Lookup(self.vies.save_number_fault(number, self.owner, fault.code))
            scope = _scope(number) if fault.code in MEMBER_STATE_FAULTS else EU
            log.warning("VIES could not confirm %s: %s (%s)", number, fault, "member state " + scope if scope != EU else "VIES itself")
            with self._lock:
                self._down.setdefault(scope, fault.code)
            seconds = PAUSE_SECONDS.get(fault.code, DEFAULT_PAUSE)
            if seconds > 0:
                self.vies.pause(scope, fault.code, utcnow() + dt.timedelta(seconds=seconds))
            return Lookup(self.vies.save_fault(number, self.owner, fault.code, asked=True), fault.code)
        except Exception as exc:  # noqa: BLE001 - anything else from the wire is "no answer", never a failed task
            log.warning("VIES could not be asked about %s: %s", number, type(exc).__name__)
            with self._lock:
                self._down.setdefault(EU, NO_ANSWER)
            return Lookup(self.vies.save_fault(number, self.owner, NO_ANSWER, asked=True), NO_ANSWER)
        log.info("VIES: %s %s%s", number, "valid" if answer.valid else "not registered", f" ({answer.name})" if answer.name else "")
        record = self.vies.save_answer(
            number, self.owner, valid=answer.valid, name=answer.name, address=answer.address, request_date=answer.request_date
        )
        return Lookup(record)

    def _await_others(self, numbers: list[str]) -> dict[str, Lookup]:
        """Verdicts another process is getting: read each once its claim is gone, until the deadline (at most 15 s)."""
        until = min(self.deadline, self._clock() + 15.0)
        left = list(numbers)
        found: dict[str, Lookup] = {}
        while left:
            held = self.vies.claimed(left, CLAIM_LEASE)
            records = self.vies.records(left)
            for number in [n for n in left if n not in held]:
                record = records.get(number)
                fresh = is_fresh(record, utcnow(), self.settings)
                found[number] = Lookup(record, None if fresh else (record.fault if record and record.fault else NOT_ASKED))
                left.remove(number)
            if not left or self._clock() >= until:
                break
            self._sleep(0.2)
        for number in left:
            found[number] = Lookup(self.vies.records([number]).get(number), IN_PROGRESS)
        return found


def vies_gate(config: TenantConfig, store: StateStore, numbers: dict[int, str], run_id: str | None, *, checker: ViesChecker | None = None) -> ViesOutcome:
    """Decide the ICP orders (order id → VAT number) of a validation: which wait in Open, which go to Errors, which are
    booked with a note. An order whose booking may already have been sent (an intent without an outcome: in doubt)
    passes: the exactly-once lookup comes first. Every checked order remembers its number (the dashboard's column)."""
    outcome = ViesOutcome()
    settings = ViesSettings.of(config.vat)
    if settings.mode == "off" or not numbers:
        return outcome
    in_doubt = {oid for oid, row in store.get_orders(config.tenant, numbers).items() if row["intent_at"] is not None}
    numbers = {oid: n for oid, n in numbers.items() if oid not in in_doubt}
    vies = ViesStore.of(store)
    vies.link_orders(config.tenant, numbers)
    if not numbers:
        return outcome
    checker = checker or ViesChecker(store, settings, f"{config.tenant}/{run_id}", budget_seconds=config.vat.vies_time_budget_seconds)
    found = checker.lookup(numbers.values())
    outcome.requests = checker.requests
    now = utcnow()
    for order_id, number in numbers.items():
        lookup = found[number]
        decision = decide(number, lookup.record, lookup.fault, now, settings)
        if decision.outcome is Outcome.WAIT:
            outcome.waiting[order_id] = decision.reason or ""
        elif decision.outcome is Outcome.REFUSE:
            outcome.refused[order_id] = (decision.reason or "", decision.code or "VIES")
        elif decision.note:
            outcome.notes[order_id] = decision.note
    if outcome.waiting:
        vies.set_waiting(config.tenant, outcome.waiting, run_id)
    log.info(
        "VIES: %d ICP orders with %d VAT numbers; %d requests to VIES; %d wait in Open, %d to Errors, %d booked with a note",
        len(numbers), len(set(numbers.values())), checker.requests, len(outcome.waiting), len(outcome.refused), len(outcome.notes),
    )
    return outcome


def waiting_for_vies(config: TenantConfig, store: StateStore) -> list[int]:
    """Open ICP orders waiting for VIES: the hourly run validates them again (VIES may answer now; or the tenant file
    now says warn or off, and they are booked)."""
    return ViesStore.of(store).waiting_orders(config.tenant)
