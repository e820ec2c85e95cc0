"""The tenant file checked against what the shop and the administration answer (issue 17: `setup validate`)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest

from prestashop_eboekhouden.config import load_tenant_file
from prestashop_eboekhouden.setup import main as setup_main
from prestashop_eboekhouden.validate import ledger_codes, tenant_problems
from sandbox import SandboxServers
from sandbox.shop import DEFAULT_KEY

from ..conftest import REPO

D = Decimal
DEMO = load_tenant_file(REPO / "include/tenants/demo.yaml")
ALL_LEDGERS = {code: {"id": i, "code": code} for i, code in enumerate(ledger_codes(DEMO), start=1)}


def with_vat(**changes):
    data = DEMO.model_dump(mode="json")
    data["vat"] = {**data["vat"], **changes}
    return type(DEMO).model_validate(data)


def test_ledger_codes_name_the_field_of_each():
    assert ledger_codes(DEMO) == {
        "1300": "eboekhouden.debtor_ledger", "8000": "vat.rates.21.revenue_ledger", "8010": "vat.rates.9.revenue_ledger",
        "8020": "vat.rates.0.revenue_ledger", "8100": "vat.icp.revenue_ledger", "8200": "vat.international.revenue_ledger",
        "8300": "vat.oss.DE.19.revenue_ledger", "1630": "vat.oss.DE.19.vat_ledger", "1100": "payments.ledgers.default",
        "1110": "payments.ledgers.iDEAL",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("config", "rates", "ledgers", "problems"),
    [
        (DEMO, [D("21"), D("9.000"), D("0"), D("19"), D("7")], ALL_LEDGERS, []),
        (DEMO, [D("21"), D("20"), D("5.5")], ALL_LEDGERS, [
            "The shop has an active tax rate of 5.5% with no mapping under vat.rates or vat.oss: orders charged it would land in Errors",
            "The shop has an active tax rate of 20% with no mapping under vat.rates or vat.oss: orders charged it would land in Errors",
        ]),
        (DEMO, [D("21")], {k: v for k, v in ALL_LEDGERS.items() if k not in ("8010", "1630")}, [
            "Ledger 1630 (vat.oss.DE.19.vat_ledger) does not exist in e-Boekhouden: create it there or fix the tenant file",
            "Ledger 8010 (vat.rates.9.revenue_ledger) does not exist in e-Boekhouden: create it there or fix the tenant file",
        ]),
        (with_vat(icp={"vat_code": "BI_EU_INK", "revenue_ledger": "8100"}), [D("21")], ALL_LEDGERS, [
            "vat.icp.vat_code BI_EU_INK is a purchase VAT code; a sale needs a sales code (e.g. HOOG_VERK_21)",
        ]),
        (with_vat(rates={"21": {"vat_code": "HOOG_VERK_12", "revenue_ledger": "8000"}}), [D("21")], ALL_LEDGERS, [
            "vat.rates.21.vat_code HOOG_VERK_12 is no e-Boekhouden VAT code (sales codes: AFST_VERK, AFW_VERK, BI_EU_VERK, BI_EU_VERK_D, "
            "BU_EU_VERK, GEEN, HOOG_VERK_21, LAAG_VERK_9, VAT_OSS, VERL_VERK, VERL_VERK_L9)",
        ]),
    ],
    ids=["all-good", "unmapped-rates", "missing-ledgers", "purchase-code", "unknown-code"],
)
def test_tenant_problems(config, rates, ledgers, problems):
    passed, found = tenant_problems(config, rates, ledgers)
    assert found == problems
    assert (len(passed) == 3) == (not problems)  # ledgers, tax rates, VAT codes


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServers(seed=7, orders=0, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        yield servers


@pytest.mark.parametrize("backend", ["rest", "soap"])
def test_validate_command_against_the_sandbox(sandbox, backend, tmp_path, monkeypatch, capsys):
    shutil.copy(REPO / "include/tenants/demo.yaml", tmp_path / "demo.yaml")
    monkeypatch.setenv("PRESTA_EB_TENANTS_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_DEMO", json.dumps({"conn_type": "prestashop", "host": sandbox.prestashop_url, "password": DEFAULT_KEY}))
    soap = {"api": "soap", "username": "sandbox", "security_code_1": "SANDBOXSECURITYCODE1", "security_code_2": "SANDBOXSECURITYCODE2"}
    eb = {"conn_type": "eboekhouden", "host": sandbox.eboekhouden_soap_url, "extra": soap} if backend == "soap" else \
        {"conn_type": "eboekhouden", "host": sandbox.eboekhouden_url, "password": "sandbox-eboekhouden-token"}
    monkeypatch.setenv("AIRFLOW_CONN_EBOEKHOUDEN_DEMO", json.dumps(eb))
    assert setup_main(["validate", "demo"]) == 1  # the sandbox shop charges French VAT (20%, 5.5%) that demo.yaml does not map
    out = capsys.readouterr().out
    assert "ok       demo: PrestaShop (prestashop_demo): PrestaShop webservice answered" in out
    assert "ok       demo: every ledger exists in e-Boekhouden" in out and "ok       demo: every VAT code is a sales code" in out
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert [p.split("rate of ")[1].split("%")[0] for p in problems] == ["5.5", "20"], out  # 6% (BE) is deactivated: not asked

    data = (tmp_path / "demo.yaml").read_text().replace('      "7":  {vat_code: VAT_OSS, revenue_ledger: "8300", vat_ledger: "1630"}',
        '      "7":  {vat_code: VAT_OSS, revenue_ledger: "8300", vat_ledger: "1630"}\n    FR:\n'
        '      "20": {vat_code: VAT_OSS, revenue_ledger: "8300", vat_ledger: "1630"}\n      "5.5": {vat_code: VAT_OSS, revenue_ledger: "8300", vat_ledger: "1631"}')  # fmt: skip
    (tmp_path / "demo.yaml").write_text(data)
    assert setup_main(["validate", "demo"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM  demo: Ledger 1631 (vat.oss.FR.5.5.vat_ledger) does not exist in e-Boekhouden" in out, out
    assert "every active tax rate of the shop has a mapping" in out


def test_validate_names_a_missing_connection(tmp_path, monkeypatch, capsys):
    shutil.copy(REPO / "include/tenants/demo.yaml", tmp_path / "demo.yaml")
    monkeypatch.setenv("PRESTA_EB_TENANTS_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_PRESTASHOP_DEMO", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_EBOEKHOUDEN_DEMO", raising=False)
    assert setup_main(["validate", "demo", "nosuch"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM  demo: e-Boekhouden connection 'eboekhouden_demo'" in out and "isn't defined" in out
    assert "MISSING  nosuch" in out


def test_schema_command_prints_the_tenant_file_schema(capsys):
    assert setup_main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"tenant", "start_date", "prestashop", "vat"} <= set(schema["required"]) and schema["additionalProperties"] is False
