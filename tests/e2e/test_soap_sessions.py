"""The legacy SOAP backend end to end while e-Boekhouden keeps ending sessions, whatever it answers then.

What the real SOAP API answers an expired session is not published: the emulator's answer is a knob, and the run
must book every order exactly once under each setting.
"""

from __future__ import annotations

import pytest

from prestashop_eboekhouden.schema import credits
from sandbox.soap import SESSION_EXPIRY_ANSWERS

from .conftest import all_history, per_number, run_dag, sale_mutations

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(300)]
ENDS_AT = (10, 30)  # e-Boekhouden ends every open session before these calls (far apart: parallel calls renew once each)


@pytest.fixture
def eb_backend() -> str:
    return "soap"


@pytest.mark.parametrize("answer", list(SESSION_EXPIRY_ANSWERS))
def test_sessions_ended_mid_run_are_renewed_and_every_order_is_booked_once(make_sandbox, state_store, monkeypatch, answer):
    sandbox = make_sandbox(orders=20, days_back=2)
    sandbox.eboekhouden_soap_app.state.service.session_expiry = answer
    books = sandbox.books
    check, calls = books.check_soap_session, [0]

    def ending_sessions(session_id: str, security_code_2: str) -> None:
        calls[0] += 1
        if calls[0] in ENDS_AT:
            books.expire_sessions()
        check(session_id, security_code_2)

    monkeypatch.setattr(books, "check_soap_session", ending_sessions)
    assert run_dag("demo__orders_hourly", conf=all_history()).state == "success"

    booked = sale_mutations(sandbox)
    counts = state_store.counts("demo")["booked"], state_store.counts("demo", credits)["booked"]  # sales and credit slips
    assert len(booked) == sum(counts) and counts[0] > 5
    assert set(per_number(booked).values()) == {1}
    assert books.overwrites == [] or not any(str(o.get("invoiceNumber", "")).startswith("DEMO-") for o in books.overwrites)
    assert calls[0] > max(ENDS_AT)  # sessions did end mid-run, twice
    assert books.soap_stats.count("POST", "/soap.asmx/OpenSession") >= 3
