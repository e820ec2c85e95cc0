"""A tenant whose connections carry wrong keys fails with an error that says so; the other tenant books on."""

from __future__ import annotations

import logging

import pytest

from prestashop_eboekhouden.schema import credits
from tests.e2e.conftest import all_history, connect, run_dag, sale_mutations, write_tenant

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(300)]


@pytest.mark.parametrize(
    ("api", "message"),
    [
        ("prestashop", "PrestaShop refused the webservice key of connection 'prestashop_wrongkey' (401, code 20"),
        ("eboekhouden", "e-Boekhouden refused the API token of connection 'eboekhouden_wrongkey'"),
        ("eboekhouden_soap", "e-Boekhouden refused the username or security codes of connection 'eboekhouden_wrongkey'"),
    ],
)
def test_wrong_key_fails_that_tenant_clearly_and_the_other_books(api, message, make_sandbox, state_store, tenants_dir, monkeypatch, caplog, capfd):
    caplog.set_level(logging.INFO)
    other = make_sandbox(orders=15, days_back=2)  # the webshop of tenant "wrongkey"
    write_tenant(tenants_dir, {"eboekhouden": {"sales_number_prefix": "WK-"}}, tenant="wrongkey")
    keys = {
        "prestashop": {"ps_key": "not-the-shop-key-000000000000000"},
        "eboekhouden": {"eb_token": "not-the-api-token"},
        "eboekhouden_soap": {"backend": "soap", "soap_codes": ("not-the-api-token", "not-the-api-token-2")},
    }[api]
    connect(other, monkeypatch, tenant="wrongkey", **keys)
    demo = make_sandbox(orders=15, days_back=2)  # connections of tenant "demo" point here

    failed = run_dag("wrongkey__orders_hourly", conf=all_history(), retries=0)
    assert failed.state == "failed"
    said = caplog.text + "".join(capfd.readouterr())
    assert message in said
    assert "not-the-api-token" not in said and "not-the-shop-key" not in said
    assert sale_mutations(other, prefix="WK-") == []

    assert run_dag("demo__orders_hourly", conf=all_history()).state == "success"
    booked = state_store.counts("demo")["booked"] + state_store.counts("demo", credits)["booked"]  # sales and credit slips
    assert len(sale_mutations(demo)) > 5 and booked == len(sale_mutations(demo))
