"""The invariants every schedule must leave intact, checked against the emulators' own records (e-Boekhouden's
administration, PrestaShop's data) and the oracle's record of what the shop's data determined — never against what
the booking code thinks it did.

:func:`safety` holds after every event, whatever is still in flight: no sales number twice, no debtor twice, no
payment twice. :func:`check` holds once the schedule is over and the world has settled (fault-free runs over
everything): additionally every bookable order and slip is booked exactly once or in Errors/Open with a reason,
never both; every booked amount is what the shop's data determined; the store and e-Boekhouden agree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.domain.relations import normalize_email

from .world import HISTORY_NUMBERS, PROCESS, World

BOOKED, ERROR, OPEN = "booked", "error", "open"
# Why an order or slip may rest in Errors: the shop's data or the tenant file, never a fault.
DATA_CODES = frozenset({"PRECHECK", "CONFIG", "MALFORMED", "NOT_FOUND", "TOO_LONG", "BY_HAND", "ORDER_REFUSED", "REGIME_CHANGED"})
PAYMENT_CODES = frozenset({"OUTSTANDING", "SHARED_REFERENCE", "CONFIG"})


def _sales(world: World) -> dict[str, list[dict[str, Any]]]:
    by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for mutation in world.books.mutations():
        if mutation["type"] == 2 and mutation["invoiceNumber"] not in HISTORY_NUMBERS and mutation["id"] not in world.oracle.by_hand:
            by_number[mutation["invoiceNumber"]].append(mutation)
    return by_number


def _payment_key(sales_number: str, entry: str, amount: Decimal) -> tuple[str, str, Decimal]:
    return sales_number, (entry or "")[:50], Decimal(amount).quantize(Decimal("0.01"))


def safety(world: World, payments: bool = True) -> list[str]:
    """What must hold at any moment: nothing booked twice in e-Boekhouden, no debtor created twice (and, with
    ``payments``, no payment twice: that needs the store's register of the shop's payments)."""
    problems = [
        f"sales number {number} booked {len(items)} times in e-Boekhouden (mutations {', '.join(str(m['id']) for m in items)})"
        for number, items in _sales(world).items()
        if len(items) > 1
    ]
    emails = Counter(normalize_email(r["emailAddress"]) for r in world.books.relations() if r.get("emailAddress"))
    problems += [f"{count} relations with e-mail address {email} in e-Boekhouden" for email, count in emails.items() if count > 1]
    problems += [f"the legacy SOAP API overwrote sale {o['invoiceNumber']} ({o['oldAmount']} → {o['newAmount']})" for o in world.books.overwrites]
    if not payments:
        return problems
    registered = Counter(
        _payment_key(p["sales_number"], p["transaction_id"] or "", p["amount"])
        for p in world.real_store.get_payments(world.config.tenant, _all_payment_ids(world)).values()
    )
    for key, count in Counter(_payment_key(m["invoiceNumber"], m["entryNumber"], m["amount"]) for m in _payments(world)).items():
        if count > max(registered.get(key, 0), 1):
            problems.append(f"payment {key[1] or '(no transaction id)'} of {key[2]} on {key[0]} booked {count} times, the shop has {registered.get(key, 0)}")
    return problems


def _payments(world: World) -> list[dict[str, Any]]:
    return [m for m in world.books.mutations() if m["type"] == 3 and m["invoiceNumber"] not in HISTORY_NUMBERS and m["id"] not in world.oracle.by_hand]


def _all_payment_ids(world: World) -> list[int]:
    return [int(p["id"]) for p in world.shop.items("order_payments")]


def check(world: World) -> list[str]:
    """Every invariant, after the world has settled."""
    tenant, store, shop, oracle = world.config.tenant, world.real_store, world.shop, world.oracle
    problems = safety(world) + list(world.problems)
    sales = _sales(world)
    deleted = Counter(m["invoiceNumber"] for m in oracle.deleted_mutations)
    shop_orders = {int(o["id"]): o for o in shop.items("orders")}
    orders = store.get_orders(tenant, shop_orders)
    slips = {int(s["id"]): s for s in shop.items("order_slip")}
    credits = store.get_credits(tenant, slips)
    rows: list[tuple[str, int, dict[str, Any]]] = [("order", k, r) for k, r in orders.items()] + [("slip", k, r) for k, r in credits.items()]
    booked_numbers = Counter(r["sales_number"] for _, _, r in rows if r["state"] == BOOKED)
    by_number = {r["sales_number"]: (what, key, r) for what, key, r in rows if r["sales_number"]}

    # the store and e-Boekhouden agree: a booked row has its sale there (unless the bookkeeper deleted it) ...
    for what, key, row in rows:
        if row["state"] != BOOKED:
            continue
        found = sales.get(row["sales_number"])
        if not found:
            if not deleted[row["sales_number"]]:
                problems.append(f"{what} {key} is booked in the store as {row['sales_number']}, e-Boekhouden has no such sale")
            continue
        sale = found[0]
        if sale["amount"] != row["amount_incl"]:
            problems.append(f"{what} {key} ({row['sales_number']}): the store says {row['amount_incl']}, e-Boekhouden {sale['amount']}")
        if row["relation_id"] is not None and sale["relationId"] != row["relation_id"]:
            problems.append(f"{what} {key} ({row['sales_number']}): the store says relation {row['relation_id']}, e-Boekhouden {sale['relationId']}")
        if row["eb_id"] is not None and sale["id"] != row["eb_id"]:
            problems.append(f"{what} {key} ({row['sales_number']}): the store says mutation {row['eb_id']}, e-Boekhouden has {sale['id']}")
    # ... and every sale there is booked in the store once: never in e-Boekhouden while the store says Open or Errors
    for number in sales:
        if booked_numbers[number] != 1:
            holder = by_number.get(number)
            state = f"{holder[0]} {holder[1]} is {holder[2]['state']} ({holder[2]['error_code'] or ''} {holder[2]['reason'] or ''})" if holder else "no row has that number"
            problems.append(f"e-Boekhouden has sale {number}; in the store {booked_numbers[number]} rows are booked with it: {state}")

    # no booking on a guess: what was booked is what the shop's data determined, on the customer's own debtor
    relations = {r["id"]: r for r in world.books.relations()}
    for order_id, row in orders.items():
        versions = oracle.versions.get(order_id, [])
        if row["state"] == BOOKED:
            if not any(v.state in PROCESS and v.amount is not None and v.amount == row["amount_incl"] for v in versions):
                said = ", ".join(f"{v.state}:{v.amount}" for v in versions)
                problems.append(f"order {order_id} booked for {row['amount_incl']}, the shop's data never determined that (versions {said})")
            relation = relations.get(row["relation_id"])
            emails = {normalize_email(v.email) for v in versions}
            if relation is not None and normalize_email(relation.get("emailAddress") or "") not in emails:
                problems.append(f"order {order_id} booked on relation {relation['code']} ({relation.get('emailAddress')}), not the customer's ({', '.join(sorted(emails))})")
    for slip_id, row in credits.items():
        expected = oracle.slips.get(slip_id, "any")
        if row["state"] == BOOKED:
            if expected is None:
                problems.append(f"slip {slip_id} ({oracle.slip_kinds.get(slip_id)}) booked for {row['amount_incl']}: its data does not determine the refund")
            elif expected != "any" and -row["amount_incl"] != expected:
                problems.append(f"slip {slip_id} ({oracle.slip_kinds.get(slip_id)}) booked for {row['amount_incl']}, the customer got back {expected}")
            order_row = orders.get(row["order_id"])
            gone = {r["id"] for r in oracle.deleted_relations}
            if order_row is None or order_row["relation_id"] is None:
                pass
            elif order_row["relation_id"] not in gone and row["relation_id"] != order_row["relation_id"]:
                problems.append(f"slip {slip_id} booked on relation {row['relation_id']}, its order on {order_row['relation_id']}")
            elif order_row["relation_id"] in gone:  # the bookkeeper deleted the order's debtor: the customer's own then
                relation = relations.get(row["relation_id"]) or {}
                emails = {normalize_email(v.email) for v in oracle.versions.get(row["order_id"], [])}
                if normalize_email(relation.get("emailAddress") or "") not in emails:
                    problems.append(f"slip {slip_id} booked on relation {row['relation_id']}, not its customer's ({', '.join(sorted(emails))})")

    # settled: every order and slip in one state with a reason, none in doubt, none stuck
    for order_id, order in shop_orders.items():
        row = orders.get(order_id)
        if row is None:
            problems.append(f"order {order_id} never reached the store")
            continue
        if row["intent_at"] is not None:
            problems.append(f"order {order_id} is still in doubt after settling ({row['state']})")
        if row["state"] == ERROR and row["error_code"] not in DATA_CODES:
            problems.append(f"order {order_id} in Errors for a reason that is not the shop's data: {row['error_code']} {row['reason']}")
        if row["state"] != BOOKED and not row["reason"]:
            problems.append(f"order {order_id} is {row['state']} without a reason")
        if int(order["current_state"]) in PROCESS and row["state"] == OPEN:
            problems.append(f"order {order_id} in status {order['current_state']} is still Open after settling: {row['reason']}")
    for slip_id in slips:
        row = credits.get(slip_id)
        if row is None:
            problems.append(f"slip {slip_id} never reached the store")
            continue
        if row["intent_at"] is not None:
            problems.append(f"slip {slip_id} is still in doubt after settling ({row['state']})")
        if row["state"] == ERROR and row["error_code"] not in DATA_CODES:
            problems.append(f"slip {slip_id} in Errors for a reason that is not the shop's data: {row['error_code']} {row['reason']}")
        if row["state"] == OPEN and orders.get(row["order_id"], {}).get("state") in (BOOKED, ERROR):
            problems.append(f"slip {slip_id} still Open after settling though its order is {orders[row['order_id']]['state']}: {row['reason']}")

    # worked off by the bookkeeper: final — never booked by the integration afterwards, never back in Errors or Open
    tables = {"order": orders, "credit": credits, "payment": store.get_payments(tenant, [k for kind, k in oracle.worked_off if kind == "payment"])}
    for (kind, key), resolution in sorted(oracle.worked_off.items()):
        row = tables[kind].get(key) or {}
        if (row.get("state"), row.get("resolution")) != ("resolved", resolution):
            problems.append(f"{kind} {key} was worked off as {resolution}, the store now says {row.get('state')} ({row.get('resolution')}): {row.get('reason')}")

    # payments: e-Boekhouden's and the store's agree, none twice (safety), none in doubt, refused only for a reason
    payment_rows = store.get_payments(tenant, _all_payment_ids(world))
    booked_payments = Counter(_payment_key(p["sales_number"], p["transaction_id"] or "", p["amount"]) for p in payment_rows.values() if p["state"] == BOOKED)
    in_books = Counter(_payment_key(m["invoiceNumber"], m["entryNumber"], m["amount"]) for m in _payments(world))
    for key in set(booked_payments) | set(in_books):
        if booked_payments[key] != in_books[key]:
            problems.append(f"payment {key[1] or '(no transaction id)'} of {key[2]} on {key[0]}: the store has {booked_payments[key]} booked, e-Boekhouden {in_books[key]}")
    for payment_id, row in payment_rows.items():
        if row["intent_at"] is not None:
            problems.append(f"payment {payment_id} is still in doubt after settling ({row['state']})")
        if row["state"] == ERROR and row["error_code"] not in PAYMENT_CODES:
            problems.append(f"payment {payment_id} in Errors for a reason that is not the data: {row['error_code']} {row['reason']}")
    return problems + reconciliation(world, orders, credits, shop_orders)


# What the world injects that the reconciliation must report, and nothing else: a sale the bookkeeper deleted
# (missing in the books), an order cancelled (and not refunded in full) or its total edited after booking, a payment the shop has and the books
# have not (refused for its amount or reference, or its sale deleted). The simulation never edits a booking in
# e-Boekhouden, pays twice or hides an order from the runs, and the bookkeeper adds bookings only for Errors worked off
# as booked by hand (a sale under the number the integration would give it, a credit, a payment): those kinds must never show.
NEVER_INJECTED = frozenset({"not_seen", "changed_in_books", "unknown_in_books", "paid_twice"})


def reconciliation(world: World, orders: dict[int, dict[str, Any]], credits: dict[int, dict[str, Any]], shop_orders: dict[int, dict[str, Any]]) -> list[str]:
    """The reconciliation over the whole simulated period (read only, nothing recorded) reports exactly the drift the
    world injected."""
    from prestashop_eboekhouden.domain import vat_totals
    from prestashop_eboekhouden.pipeline.reconcile import reconcile

    from .world import T0

    since = (T0 - dt.timedelta(days=5)).date()
    summaries = vat_totals.totals, vat_totals.vat_summary  # pandas' totals and VAT return: 70 % of its time, and not
    vat_totals.totals, vat_totals.vat_summary = (lambda lines: []), (lambda lines: {})  # what the invariant is on
    try:
        found = reconcile(world.config, world.shop_hook(), world.books_hook(), world.real_store, since, world.today, today=world.today, record=False)
    finally:
        vat_totals.totals, vat_totals.vat_summary = summaries
    problems = [f"the reconciliation reports {d.kind} on {d.sales_number or d.subject}: {d.detail}" for d in found.differences if d.kind in NEVER_INJECTED]
    of_kind: dict[str, set[Any]] = defaultdict(set)
    for d in found.differences:
        of_kind[d.kind].add(d.sales_number if d.kind == "missing_in_books" else d.order_id)
    in_books = {m["invoiceNumber"] for m in world.books.mutations() if m["type"] == 2}
    ours = {row["sales_number"] for row in [*orders.values(), *credits.values()] if row["state"] == BOOKED}  # a row moved
    deleted = ({m["invoiceNumber"] for m in world.oracle.deleted_mutations} & ours) - in_books  # to Errors since is not ours
    if of_kind["missing_in_books"] != deleted:
        problems.append(f"the reconciliation reports missing in the books {sorted(of_kind['missing_in_books'])}, the bookkeeper deleted {sorted(deleted)}")
    booked = {order_id: row for order_id, row in orders.items() if row["state"] == BOOKED}
    credited: dict[int, Decimal] = defaultdict(Decimal)
    by_hand: dict[int, list[Decimal | None]] = defaultdict(list)  # what the shop states the slips booked by hand refunded
    for row in credits.values():
        if row["state"] == BOOKED:
            credited[row["order_id"]] += row["amount_incl"]
        elif world.oracle.worked_off.get(("credit", int(row["slip_id"]))) == "by_hand":
            by_hand[row["order_id"]].append(row["amount_incl"])

    def refunded_by_hand(order_id: int, left: Decimal) -> bool:  # the shop states its slips booked by hand refunded the rest
        stated = by_hand.get(order_id)
        return bool(stated) and None not in stated and left + sum(a for a in stated if a is not None) == 0

    cancelled = {  # no longer in a status to book, and not refunded in full by booked credits (seed 2154) or by hand
        order_id for order_id, row in booked.items()
        if int(shop_orders[order_id]["current_state"]) not in PROCESS and row["amount_incl"] + credited[order_id] != 0
        and not refunded_by_hand(order_id, row["amount_incl"] + credited[order_id])
    }  # fmt: skip
    slipped = {int(row["order_id"]) for row in credits.values()}
    cancelled |= {  # booked by hand (worked off), then cancelled without a credit slip: the bookkeeper's sale stands
        order_id for order_id, row in orders.items()
        if world.oracle.worked_off.get(("order", order_id)) == "by_hand" and row["state"] == "resolved"
        and int(shop_orders[order_id]["current_state"]) not in PROCESS and order_id not in slipped
    }  # fmt: skip
    if of_kind["cancelled_after_booking"] != cancelled:
        problems.append(f"the reconciliation reports cancelled after booking {sorted(of_kind['cancelled_after_booking'])}, the shop cancelled {sorted(cancelled)}")
    changed = {
        order_id for order_id, row in booked.items()
        if order_id in world.oracle.edited and int(shop_orders[order_id]["current_state"]) in PROCESS and Decimal(str(shop_orders[order_id]["total_paid_tax_incl"])) != row["amount_incl"]
    }  # fmt: skip
    if of_kind["changed_after_booking"] != changed:
        problems.append(f"the reconciliation reports changed after booking {sorted(of_kind['changed_after_booking'])}, the shop edited {sorted(changed)}")
    paid_in_books = Counter(m["invoiceNumber"] for m in world.books.mutations() if m["type"] == 3)  # by the integration or by hand
    shop_payments = Counter(str(p["order_reference"]) for p in world.shop.items("order_payments"))
    for order_id in sorted(of_kind["paid_not_booked"]):
        row = booked.get(order_id)
        if row is None or paid_in_books[row["sales_number"]] >= max(1, shop_payments[str(shop_orders[order_id]["reference"])]):
            problems.append(f"the reconciliation reports order {order_id} paid and not booked; e-Boekhouden has its payments")
    return problems
