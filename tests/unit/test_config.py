"""Tenant files: the contract schema, clear errors naming file and field, isolation of bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prestashop_eboekhouden.config import (
    InvalidTenantFile,
    get_tenant,
    load_tenant_file,
    load_tenants,
    prestashop_connection_problems,
    rate_key,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())


def write(folder: Path, name: str, data) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_demo_tenant_is_valid_with_defaults():
    config = load_tenant_file(REPO / "include/tenants/demo.yaml")
    assert config.tenant == "demo"
    assert config.prestashop_conn_id == "prestashop_demo"
    assert config.eboekhouden_conn_id == "eboekhouden_demo"
    assert config.eboekhouden.book_as == "mutation"
    assert config.vat.rates["21"].vat_code == "HOOG_VERK_21"
    assert config.vat.oss["DE"]["19"].vat_ledger == "1630"
    assert config.recheck.max_orders is None
    assert config.payments.ledger_for("iDEAL") == "1110"
    assert config.payments.ledger_for("Bank wire") == "1100"


def test_sample_documents_every_field_and_is_valid(tmp_path):
    sample = REPO / "include/tenants/example-shop.yaml.sample"
    config = load_tenant_file(write(tmp_path, "example.yaml", sample.read_text()))
    documented = sample.read_text()
    for field in config.model_dump():
        assert f"{field}:" in documented


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(tenant="Demo-Shop"), "tenant: must be lower-case letters, digits and _ only (it is used in DAG ids)"),
        (lambda d: d["eboekhouden"].update(book_as="journal"), "eboekhouden.book_as: Input should be 'mutation' or 'invoice'"),
        (lambda d: d["prestashop"].update(process_statuses=[]), "prestashop.process_statuses: List should have at least 1 item after validation, not 0"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone: unknown time zone 'Mars/Olympus'"),
        (lambda d: d["vat"]["oss"]["DE"]["19"].pop("vat_ledger"), "vat.oss.DE.19: vat_code VAT_OSS needs a vat_ledger (the balance ledger for the foreign VAT)"),
        (lambda d: d["vat"]["rates"]["21"].update(vat_cde="X"), "vat.rates.21.vat_cde: Extra inputs are not permitted"),
        (lambda d: d.pop("start_date"), "start_date: Field required"),
        (lambda d: d["payments"].update(ledgers={"iDEAL": "1110"}), "payments: ledgers needs a 'default' financial ledger when payments are enabled"),
    ],
)
def test_invalid_file_names_file_field_and_reason(tmp_path, change, problem):
    data = yaml.safe_load(yaml.safe_dump(DEMO))
    change(data)
    path = write(tmp_path, "demo.yaml", data)
    with pytest.raises(InvalidTenantFile) as caught:
        load_tenant_file(path)
    assert str(path) in str(caught.value)
    assert problem in caught.value.error.problems


def test_rate_keys_are_canonical():
    data = yaml.safe_load(yaml.safe_dump(DEMO))
    data["vat"]["rates"] = {21: data["vat"]["rates"]["21"], "9.00": data["vat"]["rates"]["9"], "5.50": data["vat"]["rates"]["0"]}
    from prestashop_eboekhouden.config import parse_tenant

    config = parse_tenant(data, Path("x.yaml"))
    assert set(config.vat.rates) == {"21", "9", "5.5"}
    assert rate_key("21.000") == "21" and rate_key("0.000") == "0"


def test_one_bad_file_does_not_take_the_others_down(tmp_path):
    write(tmp_path, "demo.yaml", DEMO)
    write(tmp_path, "other.yaml", {**DEMO, "tenant": "other"})
    write(tmp_path, "broken.yaml", "tenant: [unclosed")
    write(tmp_path, "dupe.yaml", DEMO)
    loaded = load_tenants(tmp_path)
    assert [t.tenant for t in loaded.tenants] == ["demo", "other"]
    problems = {e.path.name: e.problems for e in loaded.errors}
    assert set(problems) == {"broken.yaml", "dupe.yaml"}
    assert problems["broken.yaml"][0].startswith("(file): not valid YAML")
    assert problems["dupe.yaml"] == ("tenant: 'demo' is already defined in demo.yaml",)


def test_get_tenant_reads_one_file_and_fails_clearly(tmp_path):
    write(tmp_path, "demo.yaml", DEMO)
    assert get_tenant("demo", tmp_path).tenant == "demo"
    with pytest.raises(LookupError, match="No tenant file for tenant 'nope'"):
        get_tenant("nope", tmp_path)


@pytest.mark.parametrize(
    ("key", "auth", "problems"),
    [
        ("A" * 32, None, []),
        ("A" * 32, "query", []),
        ("A" * 32, "basic", []),
        ("SANDBOXPRESTASHOPKEY0000000000000", None, [
            "Connection prestashop_acme: the PrestaShop webservice key has 33 characters, but PrestaShop's keys have exactly 32 "
            "(copy it again from Advanced parameters › Webservice, without spaces)"]),
        ("", None, ["Connection prestashop_acme has no PrestaShop webservice key (put it in the password field)"]),
        ("A" * 32, "bearer", [
            'Connection prestashop_acme: extra "auth" is \'bearer\'; use "basic" (the default: the key as HTTP Basic user name) '
            'or "query" (the key as ws_key, for hosts that strip the Authorization header)']),
    ],
)  # fmt: skip
def test_prestashop_connection_is_checked_with_a_clear_message(key, auth, problems):
    assert prestashop_connection_problems("prestashop_acme", key, auth) == problems
    assert all(not key or key not in problem for problem in problems)  # the key itself is never repeated
