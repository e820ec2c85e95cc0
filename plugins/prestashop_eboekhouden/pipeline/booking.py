"""Book validated orders into e-Boekhouden exactly once: debtors, then the sale (mutation or invoice).

Protocol per order (see store.py): claim → (earlier intent? look the sales number up and adopt) →
record intent → send → booked / refused. An answer that is lost (AmbiguousWrite) is never simply
re-sent: the sales number is looked up first, and only a booking that does not exist is sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.booking import BookingPlan
from prestashop_eboekhouden.domain.errors import ConfigurationProblem
from prestashop_eboekhouden.domain.payloads import (
    can_be_invoice_number,
    invoice_payload,
    length_refusal,
    mutation_payload,
    relation_payload,
)
from prestashop_eboekhouden.domain.relations import Debtor, next_relation_code
from prestashop_eboekhouden.hooks.base import AmbiguousWrite, ApiError, TransientError
from prestashop_eboekhouden.hooks.protocol import BULK_THRESHOLD, CODE_TAKEN, DUPLICATE_NUMBER, RELATION_GONE, BookkeepingApi
from prestashop_eboekhouden.store import StateStore

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4
SEND_BACKOFF = 0.5  # seconds before the second send of a write whose answer was lost (doubling)
TOO_LONG = "TOO_LONG"  # our own refusal code: a field longer than e-Boekhouden allows (never sent, never cut)


def fits(model: str, payload: dict[str, Any], subject: str) -> dict[str, Any]:
    """The request body, or an ApiError (the order's refusal, in Errors) naming the field that is too long."""
    reason = length_refusal(model, payload, subject)
    if reason:
        raise ApiError(422, TOO_LONG, reason)
    return payload


@dataclass
class BookOutcome:
    """Counts of one booking task (what goes to XCom), plus the orders left pending."""

    booked: int = 0
    adopted: int = 0
    refused: int = 0
    skipped: int = 0
    pending: list[int] = field(default_factory=list)
    relations_created: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: int = 1) -> None:
        """Thread-safe increment."""
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_xcom(self) -> dict[str, Any]:
        """Counts only."""
        return {
            "booked": self.booked,
            "adopted": self.adopted,
            "refused": self.refused,
            "skipped": self.skipped,
            "pending": len(self.pending),
            "relations_created": self.relations_created,
        }


def send_once(
    *,
    record_intent: Callable[[], None],
    send: Callable[[], dict[str, Any]],
    find: Callable[[], dict[str, Any] | None],
    sleep: Callable[[float], None],
    what: str,
    attempts: int = SEND_ATTEMPTS,
) -> tuple[dict[str, Any], bool]:
    """Send a write at most once per outcome: intent first; after a lost answer look it up, and only
    if it does not exist send again. Returns (the booking, whether it was adopted rather than created)."""
    for attempt in range(1, attempts + 1):
        record_intent()
        try:
            return send(), False
        except AmbiguousWrite as exc:
            log.warning("%s: %s; looking it up before sending again", what, exc)
            existing = find()
            if existing is not None:
                return existing, True
            sleep(min(30.0, SEND_BACKOFF * 2 ** (attempt - 1)))
    raise TransientError(f"e-Boekhouden's answer for {what} was lost {attempts} times; it does not exist there yet")


class BookingIncomplete(Exception):
    """Some orders could not be booked for a transient reason; the task fails so Airflow retries them."""


class DebtorResolver:
    """Finds or creates the debtor for e-mail addresses; never modifies an existing relation.

    A debtor is remembered in the state store per tenant (normalized e-mail → relation id and code) once
    found or created, so a returning customer costs no request. One unknown to the store costs one
    ``GET /v1/relation?email=`` (a thin list item: id, type, code is all that is needed). A new one
    takes the first free RelationCode for its base name from ``code[like]=Base%`` — or, when many
    debtors of the batch are unknown, from one paged listing of all codes made once for the batch.
    """

    def __init__(self, config: TenantConfig, eb: BookkeepingApi, store: StateStore, outcome: BookOutcome, bulk: bool = True, owner: str = "debtors"):
        self.config, self.eb, self.store, self.outcome, self.owner = config, eb, store, outcome, owner
        self.bulk = bulk  # list all codes once when many debtors are unknown (cheaper than one code[like] per new debtor)
        self._lock = threading.Lock()
        self._base_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._list_codes = False
        self._codes: set[str] | None = None
        self._fixed: dict[str, int] = {}

    def prepare(self, debtors: Iterable[Debtor]) -> dict[str, tuple[int, str]]:
        """Relations already known to the store; decides whether the codes are listed once for the batch."""
        keys = {d.key for d in debtors}
        known = self.store.known_relations(self.config.tenant, keys)
        self._list_codes = self.bulk and len(keys) - len(known) >= BULK_THRESHOLD
        return {key: (int(r["relation_id"]), r["code"]) for key, r in known.items()}

    def _find(self, debtor: Debtor) -> dict[str, Any] | None:
        """The relation with the debtor's e-mail address: as the shop spells it, then in lower case
        (in case the API compares addresses exactly and the shop's spelling changed)."""
        found = self.eb.relation_by_email(debtor.email)
        if found is None and debtor.email.strip() != debtor.email.strip().lower():
            found = self.eb.relation_by_email(debtor.email.strip().lower())
        if found is not None and not found.get("id"):  # an item without an id cannot be booked to, nor created again
            raise ApiError(
                409, "RELATION_WITHOUT_ID",
                f"e-Boekhouden lists relation {found.get('code') or '?'} for {debtor.email} without an id; "
                "book this order by hand or ask e-Boekhouden support",
            )
        return found

    def _taken_codes(self, base: str) -> set[str]:
        """Codes taken for a base name (case-folded): from the batch's listing of all codes, else code[like]."""
        if self._list_codes:
            with self._lock:
                if self._codes is None:
                    self._codes = {str(r.get("code") or "").casefold() for r in self.eb.relations()}
                return set(self._codes)
        return {code.casefold() for code in self.eb.relation_codes_like(base)}

    def _create(self, debtor: Debtor) -> dict[str, Any]:
        """Create the debtor with the first free RelationCode for its base name."""
        with self._base_locks[debtor.code_base.casefold()]:
            taken = self._taken_codes(debtor.code_base)
            for _ in range(SEND_ATTEMPTS):
                code = next_relation_code(debtor.code_base, taken)
                payload = fits("CreateRelation", relation_payload(debtor, code), f"The debtor {debtor.name} ({debtor.email})")
                try:
                    created = self.eb.create_relation(payload)
                except ApiError as exc:
                    if exc.meaning != CODE_TAKEN:
                        raise
                    # Another process took it since the codes were listed (a parallel batch or tenant on this
                    # administration): read the base's codes afresh, not one code per attempt.
                    taken.add(code.casefold())
                    self._taken(code)
                    fresh = {c.casefold() for c in self.eb.relation_codes_like(debtor.code_base)}
                    taken |= fresh
                    for other in fresh:
                        self._taken(other)
                    continue
                except AmbiguousWrite:
                    found = self._find(debtor)
                    if found is not None:  # created after all: its code is taken for the next namesake too
                        self._taken(str(found.get("code") or code))
                        return found
                    continue  # not created: the same code is still the first free one
                relation = {"id": created["id"], "code": created.get("code") or code}
                self._taken(str(relation["code"]))
                self.outcome.add("relations_created")
                return relation
        raise TransientError(f"Could not create debtor {debtor.code_base} after {SEND_ATTEMPTS} attempts")

    def _taken(self, code: str) -> None:
        """A code now in use, in the batch's listing of codes (when there is one)."""
        with self._lock:
            if self._codes is not None:
                self._codes.add(code.casefold())

    def existing(self, debtor: Debtor) -> tuple[int, str] | None:
        """Relation id and code of a debtor that exists (remembered in the store, or found by e-mail); never created."""
        known = self.store.known_relations(self.config.tenant, [debtor.key]).get(debtor.key)
        if known:
            return int(known["relation_id"]), known["code"]
        found = self._find(debtor)
        return (int(found["id"]), str(found.get("code", ""))) if found is not None else None

    def resolve(self, debtor: Debtor) -> tuple[int, str]:
        """Relation id and code for a debtor: remembered in the store, found by e-mail, or created."""
        known = self.store.known_relations(self.config.tenant, [debtor.key]).get(debtor.key)
        if known:
            return int(known["relation_id"]), known["code"]
        relation = self._find(debtor)
        created = False
        if relation is None:
            # Claimed in the store first: two runs with orders of one new customer would both create the debtor.
            claimed = self.store.claim_relation(self.config.tenant, debtor.key, self.owner)
            if claimed is None:
                known = self.store.known_relations(self.config.tenant, [debtor.key]).get(debtor.key)
                if known:
                    return int(known["relation_id"]), known["code"]
                raise TransientError(f"Another run is creating the debtor for {debtor.email}; booked on the retry")
            relation = self._find(debtor) if claimed == "again" else None  # an earlier try may have created it
            if relation is None:
                relation, created = self._create(debtor), True
        self.store.remember_relation(self.config.tenant, debtor.key, int(relation["id"]), str(relation.get("code", "")), created)
        return int(relation["id"]), str(relation.get("code", ""))

    def fixed(self, code: str) -> int:
        """The relation id of a fixed debtor (by code)."""
        with self._lock:
            if code in self._fixed:
                return self._fixed[code]
        relation = self.eb.relation_by_code(code)
        if relation is None:
            raise ConfigurationProblem(f"Fixed debtor {code} (fixed_debtors) does not exist in e-Boekhouden")
        with self._lock:
            self._fixed[code] = int(relation["id"])
        return self._fixed[code]

    def forget(self, debtor: Debtor) -> None:
        """The remembered relation is gone in e-Boekhouden (deleted or merged by the bookkeeper)."""
        self.store.forget_relation(self.config.tenant, debtor.key)


class SaleBooker:
    """Books the plans of one batch; shared by the hourly and nightly DAGs and the benchmarks."""

    def __init__(
        self,
        config: TenantConfig,
        eb: BookkeepingApi,
        store: StateStore,
        owner: str,
        run_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        bulk_lookups: bool = True,
    ):
        self.config, self.eb, self.store, self.owner, self.run_id = config, eb, store, owner, run_id
        self.claims = store.order_claims
        self.outcome = BookOutcome()
        self.debtors = DebtorResolver(config, eb, store, self.outcome, bulk=bulk_lookups, owner=owner)
        self._sleep = sleep
        self._template_id: int | None = None

    # ---- set-up per batch ----------------------------------------------------------------------

    def _prepare(self, plans: Sequence[BookingPlan]) -> None:
        """Read the ledgers (and the template) once for the whole batch; look debtors up in bulk if cheaper."""
        self.eb.ledgers()
        if self.config.eboekhouden.book_as == "invoice" and self._template_id is None:
            self._template_id = self.eb.invoice_template_id(self.config.eboekhouden.invoice_template)
        self.debtors.prepare(plan.debtor for plan in plans if not plan.fixed_debtor)

    # ---- exactly once --------------------------------------------------------------------------

    def find_existing(self, plan: BookingPlan, relation: tuple[int, str] | None = None) -> dict[str, Any] | None:
        """The booking of this sales number if e-Boekhouden has it and it is this sale; raises ApiError
        (a number clash, in Errors) when the number belongs to another booking."""
        if self.config.eboekhouden.book_as == "invoice":
            return self._find_invoice(plan, relation)
        return self._decide(plan, relation, [dict(sale) for sale in self.eb.sales_by_number(plan.sales_number, plan.date)], "mutation")

    def _find_invoice(self, plan: BookingPlan, relation: tuple[int, str] | None) -> dict[str, Any] | None:
        if can_be_invoice_number(plan.sales_number):
            found = self.eb.invoices(invoiceNumber=plan.sales_number)
        elif relation is not None:
            found = [i for i in self.eb.invoices(relationId=relation[0], date=plan.date.isoformat()) if i.get("reference") == plan.sales_number]
        else:
            return None
        return self._decide(plan, relation, found, "invoice")

    @staticmethod
    def _day(value: object) -> str:
        return str(value or "")[:10]

    def _decide(self, plan: BookingPlan, relation: tuple[int, str] | None, found: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
        """Adopt the booking that is this sale — same debtor and same date — else report a number clash."""
        if not found:
            return None
        date = plan.date.isoformat()
        for item in found:
            same_date = self._day(item.get("date")) == date
            if item.get("in_doubt"):
                if same_date:
                    log.warning("Sales number %s: e-Boekhouden listed it without an id; adopted on its date", plan.sales_number)
                    return {**item, "kind": kind}
                continue
            if relation is None:
                same_debtor = True
            elif item.get("relationId") is not None:
                same_debtor = int(item["relationId"]) == relation[0]
            else:
                same_debtor = str(item.get("relationCode") or "").casefold() == relation[1].casefold()
            if same_debtor and same_date:
                return {**item, "kind": kind}
        other = found[0]
        raise ApiError(
            409,
            "DUPLICATE_NUMBER",
            f"Sales number {plan.sales_number} already exists in e-Boekhouden for another booking "
            f"({kind} {other.get('id') or '?'} of {self._day(other.get('date')) or 'an unknown date'}"
            f"{', relation ' + str(other.get('relationId') or other.get('relationCode')) if other.get('relationId') or other.get('relationCode') else ''}); "
            "use sales_number_prefix",
        )

    def _payload(self, plan: BookingPlan, relation_id: int) -> tuple[str, dict[str, Any]]:
        """The request body; a ledger code unknown to e-Boekhouden is a ConfigurationProblem for this order."""
        debtor_ledger = self.config.eboekhouden.debtor_ledger
        ledger_ids = self.eb.ledger_ids({debtor_ledger} | {row.ledger for row in plan.rows})
        subject = f"{'Credit slip ' + str(plan.slip_id) + ' of order' if plan.kind == 'credit' else 'Order'} {plan.reference} ({plan.sales_number})"
        if self.config.eboekhouden.book_as == "invoice":
            assert self._template_id is not None
            body = invoice_payload(plan, ledger_ids, debtor_ledger, relation_id, self._template_id, self.config.eboekhouden.invoice_with_mutation)
            return "invoice", fits("CreateInvoice", body, subject)
        return "mutation", fits("CreateMutation", mutation_payload(plan, ledger_ids, debtor_ledger, relation_id), subject)

    def _relation_renewed(self, key: int, relation: tuple[int, str]) -> None:
        """The debtor was deleted in e-Boekhouden and found or created again (an order's is kept with its e-mail key)."""

    def _relation(self, plan: BookingPlan) -> tuple[int, str]:
        if plan.fixed_debtor:
            return self.debtors.fixed(plan.fixed_debtor), plan.fixed_debtor
        return self.debtors.resolve(plan.debtor)

    def _send(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.eb.create_invoice(body) if kind == "invoice" else self.eb.create_mutation(body)

    def _booked(
        self, order_id: int, plan: BookingPlan, kind: str, item: dict[str, Any], relation: tuple[int, str], adopted: bool, note: str | None = None
    ) -> None:
        number = item.get("invoiceNumber") or plan.sales_number
        reason = "Adopted the booking e-Boekhouden already had" if adopted else None
        self.claims.booked(
            self.config.tenant, order_id, self.owner, self.run_id,
            eb_kind=kind, eb_id=int(item["id"]) if item.get("id") else None, eb_number=str(number),
            relation_id=relation[0], relation_code=relation[1],
            reason="; ".join(part for part in (reason, note) if part) or None,
        )
        self.outcome.add("adopted" if adopted else "booked")

    def book_one(self, order_id: int) -> None:
        """Book one claimed order; every outcome is written to the store."""
        claim = self.claims.claim(self.config.tenant, order_id, self.owner)
        if claim is None or not claim.row.get("plan"):
            self.outcome.add("skipped")
            return
        plan = BookingPlan.from_dict(claim.row["plan"])
        tenant = self.config.tenant
        try:
            deferred = claim.row["plan"].get("deferred")
            if deferred:  # in doubt, and its data no longer says to book this plan: look it up, never send it
                self._resolve_deferred(order_id, plan, claim.had_intent, deferred)
                return
            relation = self._relation(plan)
            if claim.had_intent:
                existing = self.find_existing(plan, relation)
                if existing is not None:
                    self._booked(order_id, plan, existing["kind"], existing, relation, adopted=True)
                    return
            self._send_with_lookup(order_id, plan, relation)
        except ApiError as exc:
            self.claims.refused(tenant, order_id, self.owner, exc.reason, exc.code, self.run_id)
            self.outcome.add("refused")
        except ConfigurationProblem as exc:
            self.claims.refused(tenant, order_id, self.owner, exc.reason, exc.code, self.run_id)
            self.outcome.add("refused")
        except TransientError as exc:
            log.warning("Order %s not booked yet (will be retried): %s", order_id, exc)
            self.claims.release(tenant, order_id, self.owner)
            with self.outcome.lock:
                self.outcome.pending.append(order_id)

    def _resolve_deferred(self, order_id: int, plan: BookingPlan, had_intent: bool, deferred: dict[str, Any]) -> None:
        """An order in doubt that is not to be booked now (validate's ``held_in_doubt``): adopted when e-Boekhouden has its
        sale, else Open or Errors as its data says now. Its debtor is only looked up, never created: without it there
        is no sale either."""
        relation = self._existing_relation(plan) if had_intent else None
        existing = self.find_existing(plan, relation) if relation is not None else None
        if existing is not None and relation is not None:
            self._booked(order_id, plan, existing["kind"], existing, relation, adopted=True)
        elif deferred.get("state") == "error":
            self.claims.refused(self.config.tenant, order_id, self.owner, str(deferred.get("reason") or ""), str(deferred.get("code") or "PRECHECK"), self.run_id)
            self.outcome.add("refused")
        else:
            self.claims.waiting(self.config.tenant, order_id, self.owner, str(deferred.get("reason") or "Waiting"), self.run_id)
            self.outcome.add("skipped")

    def _existing_relation(self, plan: BookingPlan) -> tuple[int, str] | None:
        """The plan's debtor when it exists (remembered in the store, or found by e-mail); None when it does not."""
        if plan.fixed_debtor:
            return self.debtors.fixed(plan.fixed_debtor), plan.fixed_debtor
        return self.debtors.existing(plan.debtor)

    def _send_with_lookup(self, order_id: int, plan: BookingPlan, relation: tuple[int, str]) -> None:
        """Send the sale exactly once; a duplicate number that is this sale is adopted; a vanished debtor is renewed once."""
        kind, body = self._payload(plan, relation[0])

        def attempt() -> tuple[dict[str, Any], bool]:
            return send_once(
                record_intent=lambda: self.claims.record_intent(self.config.tenant, order_id, self.owner),
                send=lambda: self._send(kind, body),
                find=lambda: self.find_existing(plan, relation),
                sleep=self._sleep,
                what=f"order {order_id} ({plan.sales_number})",
            )

        try:
            item, adopted = attempt()
        except ApiError as exc:
            existing = self.find_existing(plan, relation) if exc.meaning == DUPLICATE_NUMBER else None
            if existing is not None:
                item, adopted = existing, True
            elif exc.meaning == RELATION_GONE and not plan.fixed_debtor:
                self.debtors.forget(plan.debtor)
                relation = self.debtors.resolve(plan.debtor)
                self._relation_renewed(order_id, relation)  # before the send: a retry looks the number up on this debtor
                kind, body = self._payload(plan, relation[0])
                item, adopted = attempt()
            else:
                raise
        kind = item.get("kind", kind)
        note = None
        if kind == "invoice" and not adopted and item.get("inExVat") and item["inExVat"] != body.get("inExVat"):
            # CreatedInvoice says how e-Boekhouden read the prices: booked (it exists), but its total is not the shop's
            note = (
                f"e-Boekhouden read the prices as {'excl.' if item['inExVat'] == 'EX' else 'incl.'} VAT (inExVat {item['inExVat']}), "
                f"they were sent {'incl.' if body.get('inExVat') == 'IN' else 'excl.'} VAT: check the invoice's total against the order"
            )
            log.warning("Order %s (%s): %s", order_id, plan.sales_number, note)
        self._booked(order_id, plan, kind, {**item, "invoiceNumber": item.get("invoiceNumber") or plan.sales_number}, relation, adopted, note)

    def _stored(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored rows of what this booker books, by key (orders here; credit slips in CreditBooker)."""
        return self.store.get_orders(self.config.tenant, ids)

    @staticmethod
    def _key(plan: BookingPlan) -> int:
        """The store key of a plan (the order id)."""
        return plan.order_id

    def book(self, order_ids: Sequence[int], concurrency: int | None = None) -> BookOutcome:
        """Book a batch with bounded concurrency; a debtor's orders are booked in sequence."""
        rows = self._stored(order_ids)
        plans = [BookingPlan.from_dict(r["plan"]) for r in rows.values() if r.get("plan") and r["state"] != "booked"]
        self.outcome.skipped += len([oid for oid in order_ids if oid not in rows or rows[oid]["state"] == "booked"])
        if not plans:
            return self.outcome
        try:
            self._prepare(plans)
        except ConfigurationProblem as exc:  # e.g. the invoice template is missing: every order says why
            for plan in plans:
                self.claims.refused(self.config.tenant, self._key(plan), None, exc.reason, exc.code, self.run_id)
            self.outcome.add("refused", len(plans))
            return self.outcome
        groups: dict[str, list[int]] = defaultdict(list)
        for plan in plans:
            groups[plan.debtor.key].append(self._key(plan))
        workers = concurrency or self.config.eboekhouden.concurrency
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="book") as pool:
            for future in [pool.submit(self._book_group, ids) for ids in groups.values()]:
                future.result()
        return self.outcome

    def _book_group(self, order_ids: list[int]) -> None:
        for order_id in order_ids:
            self.book_one(order_id)
