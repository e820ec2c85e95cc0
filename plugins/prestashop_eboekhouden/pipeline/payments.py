"""Daily payments: shop payments of booked orders → the sale's outstanding item → a payment mutation.

Exactly once as for sales: each payment is claimed, its intent recorded before sending, and a lost
answer is resolved by looking the payment up (type 3 mutations of the sales number, matched on
transaction id and amount) before anything is sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.errors import ConfigurationProblem, MalformedOrder
from prestashop_eboekhouden.domain.payloads import payment_payload
from prestashop_eboekhouden.domain.payments import decide, normalize_payment, payment_description
from prestashop_eboekhouden.domain.reconcile import booked_by_hand
from prestashop_eboekhouden.hooks.base import ApiError, TransientError
from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
from prestashop_eboekhouden.hooks.protocol import BULK_THRESHOLD, BookkeepingApi
from prestashop_eboekhouden.pipeline.booking import BookOutcome, fits, send_once
from prestashop_eboekhouden.pipeline.orders import batches_by_debtor
from prestashop_eboekhouden.pipeline.recheck import cutoff_date
from prestashop_eboekhouden.schema import BOOKED, FINAL
from prestashop_eboekhouden.store import StateStore

log = logging.getLogger(__name__)


@dataclass
class PaymentsExtracted:
    """Batches of order ids with payments to book, and counts."""

    batches: list[list[int]]
    orders_checked: int
    not_paid: int
    payments_seen: int


def extract_payments(config: TenantConfig, shop: PrestaShopHook, store: StateStore, today: dt.date, run_id: str | None) -> PaymentsExtracted:
    """Register the shop payments of booked orders without a booked payment from the last payments.months_back
    months, that the shop marks paid (or all, with payments.always)."""
    awaiting = store.orders_awaiting_payment(config.tenant, since=cutoff_date(today, config.payments.months_back))
    if not awaiting:
        return PaymentsExtracted([], 0, 0, 0)
    by_id = {row["order_id"]: row for row in awaiting}
    states = shop.order_states()
    current = {int(r["id"]): int(r.get("current_state") or 0) for r in shop.order_refs_by_ids(list(by_id))}
    # An order with a payment in doubt (its booking may have been sent: an intent without an outcome) is taken whatever
    # the shop says of it now: the booking step looks the payment up before anything else decides (seed 9354: the
    # order cancelled after the intent was recorded left the payment in doubt for ever).
    in_doubt = {
        oid for oid, stored in store.payments_of_orders(config.tenant, list(by_id)).items()
        if any(p["intent_at"] is not None and p["state"] != BOOKED for p in stored)
    }  # fmt: skip
    paid = [oid for oid in by_id if oid in in_doubt or config.payments.always or (states.get(current.get(oid, 0)) and states[current[oid]].paid)]
    by_reference: dict[str, list[int]] = defaultdict(list)
    for oid in paid:
        by_reference[by_id[oid]["reference"]].append(oid)
    rows: list[dict[str, Any]] = []
    refused: dict[int, tuple[str, str]] = {}
    for raw in shop.order_payments(list(by_reference)):
        try:
            payment = normalize_payment(raw)
        except MalformedOrder as exc:
            log.warning("Skipping a payment the shop sent malformed: %s", exc)
            continue
        owners = by_reference.get(payment.order_reference, [])
        if not owners:
            continue
        order = by_id[owners[0]]
        rows.append(
            {
                "payment_id": payment.payment_id, "order_id": order["order_id"], "reference": payment.order_reference,
                "sales_number": order["sales_number"], "amount": payment.amount, "method": payment.method,
                "transaction_id": payment.transaction_id, "payment_date": payment.date,
            }
        )
        if len(owners) > 1:
            refused[payment.payment_id] = (
                f"Reference {payment.order_reference} is shared by orders {', '.join(map(str, owners))} (split cart): book this payment by hand",
                "SHARED_REFERENCE",
            )
    store.record_payments(config.tenant, rows, run_id)
    store.set_payment_errors(config.tenant, refused, run_id)
    with_payments = sorted({r["order_id"] for r in rows if r["payment_id"] not in refused})
    batches = batches_by_debtor([(oid, str(oid)) for oid in with_payments], config.processing.batch_size)
    return PaymentsExtracted(batches, len(awaiting), len(by_id) - len(paid), len(rows))


class PaymentBooker:
    """Books the payments of a batch of orders against their outstanding items."""

    def __init__(self, config: TenantConfig, eb: BookkeepingApi, store: StateStore, owner: str, run_id: str | None = None, sleep: Callable[[float], None] = time.sleep):
        self.config, self.eb, self.store, self.owner, self.run_id = config, eb, store, owner, run_id
        self.claims = store.payment_claims
        self.outcome = BookOutcome()
        self._outstanding: dict[str, dict[str, Any]] | None = None
        self._sleep = sleep

    def _load_outstanding(self, count_needed: int) -> None:
        """List all outstanding debtor items once when that is cheaper than one lookup per order.

        The API gives no total (``count`` is per page), so the listing is read page by page and given up
        (one lookup per order instead) as soon as it has cost as many pages as the lookups would — pages of the
        size the server really answers, once the hook has learnt it or the last `setup probe` saw it (a real client
        reports 500, not 2000)."""
        if count_needed < BULK_THRESHOLD:
            return
        listed: dict[str, dict[str, Any]] = {}
        for number, item in enumerate(self.eb.all_outstanding(), start=1):
            listed.setdefault(str(item.get("invoiceNumber")), item)
            if number > count_needed * self.eb.page_size:
                return
        self._outstanding = listed

    def outstanding_item(self, sales_number: str) -> dict[str, Any] | None:
        """The sale's outstanding item, or None when there is none (not booked, or settled)."""
        if self._outstanding is not None:
            return self._outstanding.get(sales_number)
        items = [i for i in self.eb.outstanding(sales_number) if str(i.get("invoiceNumber")) == sales_number]
        return items[0] if items else None

    def book(self, order_ids: Sequence[int], concurrency: int | None = None) -> BookOutcome:
        """Decide and book the payments of these orders; each order's payments in sequence."""
        orders = self.store.get_orders(self.config.tenant, order_ids)
        self._load_outstanding(len(orders))
        payments = self.store.payments_of_orders(self.config.tenant, list(orders))
        with ThreadPoolExecutor(max_workers=concurrency or self.config.eboekhouden.concurrency, thread_name_prefix="pay") as pool:
            futures = [pool.submit(self.book_order, orders[oid], payments.get(oid, [])) for oid in orders]
            for future in futures:
                future.result()
        return self.outcome

    def book_order(self, order: dict[str, Any], payments: list[dict[str, Any]]) -> None:
        """Book the unbooked payments of one order when they match its outstanding amount."""
        todo = [p for p in payments if p["state"] not in FINAL and p.get("error_code") != "SHARED_REFERENCE"]
        if not todo:
            self._maybe_paid(order, payments)
            return
        try:
            # A payment whose booking may have been sent (an intent without an outcome) is looked up first: if it was
            # booked, the outstanding amount already counts it, and deciding before adopting it would refuse it (and
            # the others with it) for an amount that no longer matches.
            adopted = self._resolve_in_doubt(order, [p for p in todo if p.get("intent_at") is not None])
            if adopted is None:  # another run is booking one of them: this order's payments are decided there
                self.outcome.add("skipped")
                return
            todo = [p for p in todo if p["payment_id"] not in adopted]
            if not todo:
                self._maybe_paid(order, self.store.payments_of_orders(self.config.tenant, [order["order_id"]]).get(order["order_id"], []))
                return
            item = self.outstanding_item(order["sales_number"])
            outstanding = Decimal(str(item["outstandingAmount"])).quantize(Decimal("0.01")) if item else None
            decision = decide(order["sales_number"], [(p["payment_id"], p["amount"]) for p in todo], outstanding, self.config.payments.without_outstanding_item)
            if decision.refuse:
                self.store.set_payment_errors(self.config.tenant, {pid: (reason, "OUTSTANDING") for pid, reason in decision.refuse.items()}, self.run_id)
                self.outcome.add("refused", len(decision.refuse))
            relation_id = int(item["relationId"]) if item else order.get("relation_id")
            for payment in (p for p in todo if p["payment_id"] in decision.book):
                self.book_payment(order, payment, relation_id)
        except TransientError as exc:
            log.warning("Payments of order %s not booked yet: %s", order["order_id"], exc)
            with self.outcome.lock:
                self.outcome.pending.extend(p["payment_id"] for p in todo)
            return
        self._maybe_paid(order, self.store.payments_of_orders(self.config.tenant, [order["order_id"]]).get(order["order_id"], []))

    def _maybe_paid(self, order: dict[str, Any], payments: list[dict[str, Any]]) -> None:
        settled = [p for p in payments if p["state"] == BOOKED or booked_by_hand(p)]
        booked = sum((p["amount"] for p in settled), Decimal("0.00"))
        if payments and booked >= order["amount_incl"]:
            self.store.mark_order_paid(self.config.tenant, order["order_id"])

    def _find_existing(self, order: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any] | None:
        """This payment if e-Boekhouden has it: same sales number and entry number (the transaction id), and
        the same amount read from the full mutation's rows — never from a REST list item's ``amount``, whose
        meaning the API does not document. A list item without an id (0) is matched on the entry number.

        A booking another payment of the order is booked with is not this one: two transfers of one amount without a
        transaction id look alike, and adopting the first one's booking for the second would book it once for two.
        Without ids to tell them apart, the matches are counted: this payment's is one more than the others have."""
        entry, amount = (payment["transaction_id"] or "")[:50], payment["amount"]
        matches = [
            dict(item)
            for item in self.eb.payments_by_number(order["sales_number"])
            if str(item.get("entryNumber") or "") == entry
            and (item.get("amount") is None or Decimal(str(item["amount"])).quantize(Decimal("0.01")) == amount)
        ]
        if not matches:
            return None
        others = [
            p for p in self.store.payments_of_orders(self.config.tenant, [order["order_id"]]).get(order["order_id"], [])
            if p["payment_id"] != payment["payment_id"] and p["state"] == BOOKED
            and (p["transaction_id"] or "")[:50] == entry and p["amount"] == amount
        ]  # fmt: skip
        taken = {p["eb_id"] for p in others if p.get("eb_id")}
        free = [item for item in matches if not item.get("id") or item["id"] not in taken]
        if len(matches) <= len(others) or not free:
            return None
        return free[0]

    def _resolve_in_doubt(self, order: dict[str, Any], in_doubt: list[dict[str, Any]]) -> set[int] | None:
        """Payments in doubt (an earlier attempt recorded the intent and got no outcome), each claimed and looked up:
        the ids of those e-Boekhouden has (now booked here, adopted); the others were not booked (their intent resolved)
        and are decided like any payment. None when another live run holds one of them (then it decides this order's payments)."""
        adopted: set[int] = set()
        for payment in in_doubt:
            pid = payment["payment_id"]
            claim = self.claims.claim(self.config.tenant, pid, self.owner)
            if claim is None:
                return None
            try:
                existing = self._find_existing(order, payment) if claim.had_intent else None
            except TransientError:
                self.claims.release(self.config.tenant, pid, self.owner)
                raise
            if existing is None:  # not booked: the doubt is resolved, it is decided below like any payment
                self.claims.waiting(self.config.tenant, pid, self.owner, "Looked up after a lost answer: not in e-Boekhouden", self.run_id)
                continue
            self._booked(pid, existing, adopted=True)
            adopted.add(pid)
        return adopted

    def book_payment(self, order: dict[str, Any], payment: dict[str, Any], relation_id: int | None) -> None:
        """Claim, look up after a lost answer, send, record."""
        tenant, pid = self.config.tenant, payment["payment_id"]
        claim = self.claims.claim(tenant, pid, self.owner)
        if claim is None:
            self.outcome.add("skipped")
            return
        try:
            if relation_id is None:
                raise ConfigurationProblem("No debtor known for this sale; cannot book a payment without an outstanding item")
            if claim.had_intent and (existing := self._find_existing(order, payment)):
                self._booked(pid, existing, adopted=True)
                return
            ledger_code = self.config.payments.ledger_for(payment["method"] or "")
            body = fits("CreateMutation", payment_payload(
                date=payment["payment_date"].date().isoformat(),
                ledger_id=self.eb.ledger_ids([ledger_code])[ledger_code],
                relation_id=relation_id,
                sales_number=order["sales_number"],
                amount=payment["amount"],
                description=payment_description(payment["method"], order.get("eb_id"), payment["transaction_id"]),
                transaction_id=payment["transaction_id"] or "",
            ), f"Payment {pid} of order {order.get('reference') or order['order_id']} ({order['sales_number']})")
            item, adopted = send_once(
                record_intent=lambda: self.claims.record_intent(tenant, pid, self.owner),
                send=lambda: self.eb.create_mutation(body),
                find=lambda: self._find_existing(order, payment),
                sleep=self._sleep,
                what=f"payment {pid} of {order['sales_number']}",
            )
            self._booked(pid, item, adopted)
        except (ApiError, ConfigurationProblem) as exc:
            reason, code = exc.reason, exc.code
            self.claims.refused(tenant, pid, self.owner, reason, code, self.run_id)
            self.outcome.add("refused")
        except TransientError as exc:
            log.warning("Payment %s not booked yet (will be retried): %s", pid, exc)
            self.claims.release(tenant, pid, self.owner)
            with self.outcome.lock:
                self.outcome.pending.append(pid)

    def _booked(self, payment_id: int, item: dict[str, Any], adopted: bool) -> None:
        self.claims.booked(
            self.config.tenant, payment_id, self.owner, self.run_id, eb_id=int(item["id"]) if item.get("id") else None,
            reason="Adopted the payment e-Boekhouden already had" if adopted else None,
        )
        self.outcome.add("adopted" if adopted else "booked")
