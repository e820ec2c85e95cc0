"""Two booking batches (or tenants) on one administration create debtors with the same code base at once:
codes taken by the other process since the listing are read afresh, not guessed one per attempt."""

from __future__ import annotations

import datetime as dt

import pytest

from prestashop_eboekhouden.store import BOOKED

from .conftest import customer, line, run_dag

pytestmark = pytest.mark.airflow
HOURLY = "demo__orders_hourly"


def test_codes_taken_by_a_parallel_process_after_the_listing_do_not_fail_the_debtor(make_sandbox, state_store, monkeypatch, eb_backend):
    from prestashop_eboekhouden.hooks import backends

    sandbox = make_sandbox()
    spec = {**customer("nieuw@bloemenwinkel.nl", "Bea", "Bloem", company="Bloemenwinkel De Roos"), "lines": [line("Rozen", "12.50")],
            "state": 2, "date_add": "2026-11-20 10:30:00", "date_upd": "2026-11-20 10:30:00", "payment": "iDEAL", "module": "mollie"}
    oid = int(sandbox.shop.create_order(spec)["id"])
    real = backends.bookkeeping_api

    def with_a_rival(*args, **kwargs):
        """The hook, but right before its first debtor is created another process creates six namesakes."""
        eb = real(*args, **kwargs)
        create = eb.create_relation
        state = {"first": True}

        def create_relation(payload):
            if state["first"]:
                state["first"] = False
                base = payload["code"]
                for n in range(6):
                    create({**payload, "code": base if n == 0 else f"{base}{n}", "emailAddress": f"rival{n}@bloemenwinkel.nl"})
            return create(payload)

        eb.create_relation = create_relation
        return eb

    monkeypatch.setattr(backends, "bookkeeping_api", with_a_rival)
    run = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11), retries=0)
    assert run.state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert row["state"] == BOOKED
    assert row["relation_code"].endswith("6")  # the first code free after the rival's six
