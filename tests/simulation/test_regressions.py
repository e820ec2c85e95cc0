"""Bugs the simulation found, each as a named schedule written out by hand (the seed that found it in the name of
the test's docstring), replayed exactly: the invariants hold, and the specific outcome is what it should be."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from .schedule import Schedule, execute
from .world import T0

pytestmark = pytest.mark.simulation


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat(timespec="minutes")


def place(minute: int, **spec: Any) -> dict[str, Any]:
    """An order placed at T0 + minute by a new customer (unless one is given)."""
    spec.setdefault("customer", {"email": "anna.bos@example.nl", "firstname": "Anna", "lastname": "Bos"})
    spec.setdefault("address", "NL")
    spec.setdefault("lines", [{"name": "Sencha 100g", "sku": "TEA-SEN", "quantity": 2, "tax_rate": "9", "unit_price_incl": "7.95"}])
    spec.setdefault("shipping_incl", "4.95")
    return {"at": at(minute), "do": "world", "what": "place", "args": {"spec": spec}}


def hourly(minute: int, plan: list[list[Any]] | None = None) -> dict[str, Any]:
    """The orders of the first hours, in one run."""
    run = {"dag": "sim__orders_hourly", "run_id": f"manual__{minute}", "mode": "window", "since": at(-600), "until": at(minute)}
    return {"at": at(minute), "do": "run", "run": run, "faults": {"plan": plan or []}}


def payments(minute: int, plan: list[list[Any]] | None = None) -> dict[str, Any]:
    run = {"dag": "sim__payments_daily", "run_id": f"scheduled__{minute}"}
    return {"at": at(minute), "do": "run", "run": run, "faults": {"plan": plan or []}}


def replay(*events: dict[str, Any]):
    result = execute(Schedule(1, {"orders": 0}, list(events)))
    assert result.violations == [], "\n".join(result.log + result.violations)
    return result


def test_a_payment_killed_after_e_boekhouden_committed_it_is_adopted_not_refused(tmp_path):
    """Seed 30: the payments task was killed after e-Boekhouden booked a payment; the retry read the outstanding
    amount first — now 0.00 — refused the payment ("no outstanding item") and left it in Errors, in doubt, while
    e-Boekhouden had it. A payment whose booking may have been sent is looked up before the outstanding amount decides."""
    result = replay(
        place(5, state=2, payment="iDEAL", payments=[{"amount": "20.85", "payment_method": "iDEAL", "transaction_id": "tr_killed"}]),
        hourly(60),
        payments(120, plan=[["eb.POST v1/mutation", 0, "kill"]]),
    )
    assert any(f.kind == "kill" for f in result.fired)


def test_the_first_of_two_payments_killed_after_commit_does_not_refuse_both():
    """Seed 30's other face: with two payments that together pay the sale, a kill after the first was booked left the
    second matching the outstanding amount alone; the retry refused both (their sum no longer matched). The booked
    one is adopted, the other then booked against what is left."""
    replay(
        place(5, state=2, payment="iDEAL", payments=[
            {"amount": "8.34", "payment_method": "iDEAL", "transaction_id": "tr_first"},
            {"amount": "12.51", "payment_method": "iDEAL", "transaction_id": "tr_second"},
        ]),  # fmt: skip
        hourly(60),
        payments(120, plan=[["eb.POST v1/mutation", 0, "kill"]]),
    )
