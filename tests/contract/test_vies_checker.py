"""How a run asks VIES (pipeline/vies.py with the state store and the VIES emulator): fresh verdicts from the store
(cache hit and expiry per the tenant's days), one request per number, a member state that is down not asked again
in the run nor (for a while) by another process, the run's time budget, a number another process is asking about,
and the deployment's two request slots (leases in the store)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
import sqlalchemy as sa

from prestashop_eboekhouden.domain.vies import IN_PROGRESS, NOT_ASKED, ViesSettings
from prestashop_eboekhouden.hooks.vies import ViesHook
from prestashop_eboekhouden.pipeline import vies as vies_step
from prestashop_eboekhouden.pipeline.vies import ViesChecker
from prestashop_eboekhouden.store import StateStore, utcnow
from prestashop_eboekhouden.store_vies import SLOTS, ViesStore, vies_leases, vies_numbers
from sandbox import SandboxServers

SETTINGS = ViesSettings()
VALID = ["BE0428759497", "BE0403170701", "DE136695976", "FR40303265045"]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServers(seed=7, orders=0, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        yield servers


@pytest.fixture
def vies(sandbox, monkeypatch):
    sandbox.vies.heal()
    sandbox.vies.max_concurrent, sandbox.vies.latency_ms = None, 0
    sandbox.vies.reset_counts()
    monkeypatch.setenv("AIRFLOW_CONN_VIES_DEFAULT", json.dumps({"conn_type": "vies", "host": sandbox.vies_url}))
    monkeypatch.setattr(ViesHook, "backoff_base", 0.01)
    return sandbox.vies


@pytest.fixture
def store(tmp_path):
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def checker(store, owner="demo/run", **kwargs) -> ViesChecker:
    return ViesChecker(store, kwargs.pop("settings", SETTINGS), owner, **kwargs)


def age(store, number: str, **delta) -> None:
    """Make a number's verdict older."""
    with store.begin() as conn:
        conn.execute(sa.update(vies_numbers).where(vies_numbers.c.vat_number == number).values(checked_at=utcnow() - dt.timedelta(**delta)))


def test_each_number_once_then_from_the_store(vies, store):
    first = checker(store)
    found = first.lookup([*VALID, *VALID, "BE0999999724"])
    assert {n: (f.record.valid, f.fault) for n, f in found.items()} == {**{n: (True, None) for n in VALID}, "BE0999999724": (False, None)}
    assert found["BE0428759497"].record.name == "Theehuis Gent BVBA"
    assert vies.requests() == 5 and first.requests == 5
    again = checker(store)
    assert {n: f.record.valid for n, f in again.lookup(VALID).items()} == dict.fromkeys(VALID, True)
    assert vies.requests() == 5 and again.requests == 0  # cache hit: no request


def test_a_verdict_expires_after_the_tenants_days(vies, store):
    checker(store).lookup(["BE0428759497", "BE0999999724"])
    age(store, "BE0428759497", days=29)
    age(store, "BE0999999724", hours=23)
    checker(store).lookup(["BE0428759497", "BE0999999724"])
    assert vies.requests() == 2  # both still fresh
    age(store, "BE0428759497", days=30)  # valid: 30 days
    age(store, "BE0999999724", days=1)  # not registered: 1 day
    checker(store).lookup(["BE0428759497", "BE0999999724"])
    assert vies.requests("BE0428759497") == vies.requests("BE0999999724") == 2
    assert ViesStore.of(store).request_counts() == {"BE0428759497": 2, "BE0999999724": 2}
    checker(store, settings=ViesSettings(invalid_days=0)).lookup(["BE0999999724"])  # 0: asked every run
    assert vies.requests("BE0999999724") == 3


def test_a_member_state_that_is_down_is_asked_once_per_run_and_paused_for_others(vies, store, monkeypatch):
    monkeypatch.setattr(vies_step, "PAUSE_SECONDS", {"MS_UNAVAILABLE": 300})
    vies.set_member_state("BE", "MS_UNAVAILABLE")
    found = checker(store, workers=1).lookup(["BE0428759497", "BE0403170701", "DE136695976"])
    assert vies.requests("BE0428759497") + vies.requests("BE0403170701") == 1  # the second Belgian number is not asked
    assert {n: f.fault for n, f in found.items()} == {"BE0428759497": "MS_UNAVAILABLE", "BE0403170701": "MS_UNAVAILABLE", "DE136695976": None}
    records = ViesStore.of(store).records(["BE0428759497", "BE0403170701"])
    assert all(r.fault == "MS_UNAVAILABLE" and r.unconfirmed_since is not None for r in records.values())
    assert ViesStore.of(store).pauses() == {"BE": "MS_UNAVAILABLE"}
    # another process (a second tenant's run) within the pause: Belgium is not asked, the fault stands
    other = checker(store, owner="other/run").lookup(["BE0428759497"])
    assert other["BE0428759497"].fault == "MS_UNAVAILABLE" and vies.requests() == 2
    # the pause over and Belgium back: the verdict, and the fault history cleared
    with store.begin() as conn:
        conn.execute(sa.update(vies_leases).where(vies_leases.c.name == "pause-BE").values(until=utcnow() - dt.timedelta(seconds=1)))
    vies.heal("BE")
    back = checker(store).lookup(["BE0428759497", "BE0403170701"])
    assert all(f.record.valid and f.fault is None and f.record.unconfirmed_since is None for f in back.values())


def test_a_fault_of_vies_itself_stops_the_run_asking(vies, store, monkeypatch):
    monkeypatch.setattr(vies_step, "PAUSE_SECONDS", {})
    monkeypatch.setattr(vies_step, "DEFAULT_PAUSE", 0)
    vies.set_service("IP_BLOCKED")
    found = checker(store, workers=1).lookup(VALID)
    assert vies.requests() == 1 and {f.fault for f in found.values()} == {"IP_BLOCKED"}


def test_the_runs_time_budget(vies, store):
    vies.latency_ms = 300
    ask = checker(store, budget_seconds=0.5, workers=1)
    found = ask.lookup(VALID)
    asked = [n for n, f in found.items() if f.fault is None]
    assert 1 <= len(asked) <= 2 and vies.requests() == len(asked)
    assert {f.fault for n, f in found.items() if n not in asked} == {NOT_ASKED}
    vies.latency_ms = 0
    checker(store).lookup(VALID)  # the next run asks the rest
    assert vies.requests() == len(VALID)


def test_a_number_another_process_is_asking_about(vies, store):
    other = ViesStore.of(store)
    assert other.claim("BE0428759497", "tenant_b/run", dt.timedelta(minutes=2))

    def answer_later() -> None:
        time.sleep(0.4)
        other.save_answer("BE0428759497", "tenant_b/run", valid=True, name="Theehuis Gent BVBA", address="Gent", request_date=dt.date.today())

    thread = threading.Thread(target=answer_later)
    thread.start()
    found = checker(store).lookup(["BE0428759497"])
    thread.join()
    assert found["BE0428759497"].record.valid and found["BE0428759497"].fault is None and vies.requests() == 0
    # a claim held past the budget: the order waits, nothing is asked twice
    assert other.claim("BE0403170701", "tenant_b/run", dt.timedelta(minutes=2))
    waiting = checker(store, budget_seconds=0.3).lookup(["BE0403170701"])
    assert waiting["BE0403170701"].fault == IN_PROGRESS and vies.requests() == 0


def test_slots_two_at_once_released_by_their_holder_and_expired_when_lost(store):
    leases = ViesStore.of(store)
    lease = dt.timedelta(seconds=60)
    assert leases.acquire_slot("a", lease) == SLOTS[0] and leases.acquire_slot("b", lease) == SLOTS[1]
    assert leases.acquire_slot("c", lease) is None and leases.slots_held() == 2
    leases.release_slot(SLOTS[0], "c")  # not its holder: nothing
    assert leases.acquire_slot("c", lease) is None
    leases.release_slot(SLOTS[0], "a")
    assert leases.acquire_slot("c", lease) == SLOTS[0]
    with store.begin() as conn:  # b crashed: its lease runs out
        conn.execute(sa.update(vies_leases).where(vies_leases.c.name == SLOTS[1]).values(until=utcnow() - dt.timedelta(seconds=1)))
    assert leases.acquire_slot("d", lease) == SLOTS[1]


def test_no_slot_within_the_budget_leaves_the_number_for_the_next_run(vies, store):
    leases = ViesStore.of(store)
    for holder in ("x", "y"):
        assert leases.acquire_slot(holder, dt.timedelta(minutes=1))
    found = checker(store, budget_seconds=0.3).lookup(["BE0428759497"])
    assert found["BE0428759497"].fault == NOT_ASKED and vies.requests() == 0
    assert not leases.claimed(["BE0428759497"], dt.timedelta(minutes=2))  # the claim was given back


def test_threads_of_one_run_share_the_two_slots(vies, store):
    vies.latency_ms, vies.max_concurrent = 150, 2
    ask = checker(store, workers=4)
    found = ask.lookup([*VALID, "BE0999999724", "DE129273398"])
    assert all(f.fault is None for f in found.values())
    assert vies.describe()["max_in_flight"] == 2 and "GLOBAL_MAX_CONCURRENT_REQ" not in vies.describe()["requests"]["answers"]


def test_a_hanging_vies_costs_the_run_its_budget_and_one_time_out_not_minutes(vies, store, monkeypatch):
    monkeypatch.setattr(vies_step, "PAUSE_SECONDS", {})
    monkeypatch.setattr(vies_step, "DEFAULT_PAUSE", 0)
    vies.set_service(None, hang_seconds=30)  # every answer comes after 30 s
    hook = ViesHook()
    hook._timeout = (1.0, 0.5)
    started = time.monotonic()
    found = checker(store, budget_seconds=1.0, hook=hook).lookup([*VALID, "BE0999999724"])
    elapsed = time.monotonic() - started
    vies.heal()
    assert elapsed < 3.0, elapsed
    assert {f.fault for f in found.values()} == {"NO_ANSWER"} and vies.requests() <= 4
