"""ViesHook against the VIES emulator (issue 24): every answer of checkVat — valid, not registered, each fault —,
the retry rules (busy faults retried with back-off, a member state that is down not), time-outs, the run's
deadline, where it asks (vies_default's host, else the official endpoint), secrets never in a message, and the
read-only probe."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

import pytest

from prestashop_eboekhouden.domain.vies import NO_ANSWER
from prestashop_eboekhouden.hooks.vies import OFFICIAL_ENDPOINT, SERVICE_PATH, ViesFault, ViesHook, probe_vies
from sandbox import SandboxServers
from sandbox.faults import FaultRule


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServers(seed=7, orders=0, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        yield servers


@pytest.fixture
def vies(sandbox, monkeypatch):
    """The emulator healed and counted afresh; vies_default points at it; a hook with quick back-off."""
    sandbox.vies.heal()
    sandbox.vies.max_concurrent, sandbox.vies.latency_ms = None, 0
    sandbox.vies_faults.clear()
    sandbox.vies.reset_counts()
    monkeypatch.setenv("AIRFLOW_CONN_VIES_DEFAULT", json.dumps({"conn_type": "vies", "host": sandbox.vies_url}))
    monkeypatch.setattr(ViesHook, "backoff_base", 0.01)
    return sandbox.vies


def test_valid_number_with_name_and_address(vies):
    answer = ViesHook().check_vat("BE0428759497")
    assert (answer.country_code, answer.vat_number, answer.valid) == ("BE", "0428759497", True)
    assert (answer.name, answer.address) == ("Theehuis Gent BVBA", "Veldstraat 12 9000 Gent")
    assert abs((answer.request_date - dt.date.today()).days) <= 1  # VIES's own date (Brussels)
    assert vies.requests("BE0428759497") == 1


def test_german_numbers_come_without_name_and_address(vies):
    answer = ViesHook().check_vat("DE136695976")
    assert answer.valid and answer.name is None and answer.address is None  # "---" in the answer


def test_unregistered_number(vies):
    hook = ViesHook()
    assert hook.check_vat("BE0999999724").valid is False  # seeded: check digits right, not registered
    vies.unregister("DE136695976")
    assert hook.check_vat("DE136695976").valid is False
    vies.register("DE136695976", "Teehaus Köln GmbH", "Hohe Straße 40")
    assert hook.check_vat("DE136695976").valid is True


def test_greek_numbers_are_asked_with_el(vies):
    vies.register("EL094259216", "Τσάι ΑΕ", "Αθήνα")
    answer = ViesHook().check_vat("EL094259216")
    assert (answer.country_code, answer.valid, answer.name) == ("EL", True, "Τσάι ΑΕ")


@pytest.mark.parametrize("fault", ["MS_UNAVAILABLE", "TIMEOUT"])
def test_a_member_state_that_is_down_is_not_retried(vies, fault):
    vies.set_member_state("BE", fault)
    with pytest.raises(ViesFault) as raised:
        ViesHook().check_vat("BE0428759497")
    assert raised.value.code == fault and vies.requests() == 1
    assert ViesHook().check_vat("DE136695976").valid  # the other member states answer


@pytest.mark.parametrize("fault", ["MS_MAX_CONCURRENT_REQ", "GLOBAL_MAX_CONCURRENT_REQ", "SERVICE_UNAVAILABLE", "SERVER_BUSY"])
def test_busy_faults_are_retried_with_back_off_then_named(vies, fault):
    if fault.startswith("MS_"):
        vies.set_member_state("BE", fault)
    else:
        vies.set_service(fault)
    waits: list[float] = []
    with pytest.raises(ViesFault) as raised:
        ViesHook(sleep=waits.append).check_vat("BE0428759497")
    assert raised.value.code == fault and vies.requests() == 3 and len(waits) == 2
    # exponential with jitter: each wait lies in its own doubling window (base 0.01 s, jitter 50-100 %)
    assert 0.005 <= waits[0] <= 0.01 and 0.01 <= waits[1] <= 0.02


def test_a_busy_fault_that_passes_is_a_verdict(vies):
    vies.set_service("GLOBAL_MAX_CONCURRENT_REQ", times=1)
    assert ViesHook().check_vat("BE0428759497").valid and vies.requests() == 2


@pytest.mark.parametrize("fault", ["INVALID_INPUT", "VAT_BLOCKED", "IP_BLOCKED", "INVALID_REQUESTER_INFO"])
def test_other_faults_come_back_at_once(vies, fault):
    if fault in ("INVALID_INPUT", "VAT_BLOCKED"):
        vies.set_number_fault("BE0428759497", fault)
    else:
        vies.set_service(fault)
    with pytest.raises(ViesFault) as raised:
        ViesHook().check_vat("BE0428759497")
    assert raised.value.code == fault and vies.requests() == 1


def test_a_number_that_does_not_fit_the_wsdl_is_invalid_input(vies):
    with pytest.raises(ViesFault) as raised:
        ViesHook().check_vat("BE0428-759")  # the schema's pattern refuses the dash: the emulator answers as VIES does
    assert raised.value.code == "INVALID_INPUT"


def test_a_member_state_that_hangs_is_a_time_out_with_retries(vies):
    vies.set_member_state("BE", None, hang_seconds=1.0)
    hook = ViesHook()
    hook._timeout = (1.0, 0.2)
    with pytest.raises(ViesFault) as raised:
        hook.check_vat("BE0428759497")
    assert raised.value.code == NO_ANSWER and "did not answer" in str(raised.value) and "3 attempts" in str(raised.value)
    assert hook.requests_made[("POST", "checkVat")] == 3


def test_the_runs_deadline_stops_the_retries(vies):
    vies.set_service("GLOBAL_MAX_CONCURRENT_REQ")
    hook = ViesHook(deadline=time.monotonic() - 1)  # the run's budget is spent
    with pytest.raises(ViesFault):
        hook.check_vat("BE0428759497")
    assert vies.requests() == 1


def test_5xx_pages_and_resets_are_retried(sandbox, vies):
    sandbox.vies_faults.add_rule(FaultRule(action="html", status=502, times=1))
    sandbox.vies_faults.add_rule(FaultRule(action="reset", times=1))
    assert ViesHook().check_vat("BE0428759497").valid
    assert sandbox.vies_faults.describe()["injected"] == {"html": 1, "reset": 1}


def test_where_it_asks(sandbox, vies, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_VIES_DEFAULT", raising=False)
    assert ViesHook().service_url() == OFFICIAL_ENDPOINT  # no connection: the official endpoint
    monkeypatch.setenv("AIRFLOW_CONN_VIES_DEFAULT", json.dumps({"conn_type": "vies", "host": f"{sandbox.vies_url}{SERVICE_PATH}"}))
    assert ViesHook().service_url() == f"{sandbox.vies_url}{SERVICE_PATH}"  # a host with its path is used as it is
    assert ViesHook().check_vat("BE0428759497").valid
    monkeypatch.setenv("AIRFLOW_CONN_VIES_OTHER", json.dumps({"conn_type": "vies", "host": sandbox.vies_url}))
    assert ViesHook("vies_other").check_vat("BE0428759497").valid


def test_a_proxy_password_is_never_in_a_message_or_log(sandbox, monkeypatch, caplog):
    canary = "CANARY-proxy-secret-7f3a"
    host = sandbox.vies_url.replace("http://", f"http://user:{canary}@")
    monkeypatch.setenv("AIRFLOW_CONN_VIES_DEFAULT", json.dumps({"conn_type": "vies", "host": host, "login": "user", "password": canary}))
    sandbox.vies.set_service("SERVICE_UNAVAILABLE")
    caplog.set_level(logging.DEBUG)
    hook = ViesHook(sleep=lambda _: None)
    try:
        with pytest.raises(ViesFault) as raised:
            hook.check_vat("BE0428759497")
        probe = hook.probe()
    finally:
        sandbox.vies.heal()
    assert canary not in str(raised.value) and canary not in probe.message and canary not in probe.endpoint
    assert canary not in caplog.text


def test_probe_says_whether_vies_answers(sandbox, vies, monkeypatch):
    ok = probe_vies()
    assert ok.ok and ok.message == f"VIES answered at {sandbox.vies_url}{SERVICE_PATH} (checkVat NL000000000B00: not registered)"
    assert vies.requests("NL000000000B00") == 1  # one request, nothing else
    vies.set_member_state("NL", "MS_UNAVAILABLE")
    partly = probe_vies()
    assert partly.ok and "for NL000000000B00: the Dutch service is unavailable (MS_UNAVAILABLE)" in partly.message
    vies.set_service("SERVICE_UNAVAILABLE")
    down = probe_vies(timeout=2)
    assert not down.ok and down.message.startswith(f"VIES does not answer at {sandbox.vies_url}{SERVICE_PATH}: VIES is unavailable")
    monkeypatch.setenv("AIRFLOW_CONN_VIES_DEFAULT", json.dumps({"conn_type": "vies", "host": "http://127.0.0.1:9"}))
    nowhere = probe_vies(timeout=1)
    assert not nowhere.ok and "VIES did not answer" in nowhere.message and nowhere.endpoint == f"http://127.0.0.1:9{SERVICE_PATH}"
