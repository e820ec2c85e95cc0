"""The provider's connection types `prestashop` and `eboekhouden` (issue 17): the hooks declare them,
both answer the sandbox (the key as HTTP Basic or, with extra `auth: query`, as ws_key), Airflow's Test button (the hook class the type names)
checks SOAP connections with the SOAP hook, and connections of the old type `http` keep working."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from prestashop_eboekhouden.hooks.backends import EBoekhoudenConnectionHook
from prestashop_eboekhouden.hooks.eboekhouden import EBoekhoudenHook
from prestashop_eboekhouden.hooks.eboekhouden_soap import EBoekhoudenSoapHook
from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
from prestashop_eboekhouden.hooks.vies import ViesHook
from prestashop_eboekhouden.provider_info import get_provider_info
from sandbox import SandboxServers
from sandbox.shop import DEFAULT_KEY


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServers(seed=7, orders=0, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        yield servers


def test_hooks_declare_the_provider_connection_types():
    declared = {c["connection-type"]: c["hook-class-name"] for c in get_provider_info()["connection-types"]}
    assert declared == {
        "prestashop": "prestashop_eboekhouden.hooks.prestashop.PrestaShopHook",
        "eboekhouden": "prestashop_eboekhouden.hooks.backends.EBoekhoudenConnectionHook",
        "vies": "prestashop_eboekhouden.hooks.vies.ViesHook",
    }
    for hook, conn_type, attr, default in (
        (ViesHook, "vies", "vies_conn_id", "vies_default"),
        (PrestaShopHook, "prestashop", "prestashop_conn_id", "prestashop_default"),
        (EBoekhoudenHook, "eboekhouden", "eboekhouden_conn_id", "eboekhouden_default"),
        (EBoekhoudenConnectionHook, "eboekhouden", "eboekhouden_conn_id", "eboekhouden_default"),
        (EBoekhoudenSoapHook, "eboekhouden", "eboekhouden_conn_id", "eboekhouden_default"),
    ):
        assert (hook.conn_type, hook.conn_name_attr, hook.default_conn_name) == (conn_type, attr, default)
        assert hook.hook_name and "test_connection" in vars(hook)


def test_every_secret_field_is_a_password_field():
    fields = {c["connection-type"]: c["conn-fields"] for c in get_provider_info()["connection-types"]}
    secret = {name for name, spec in fields["eboekhouden"].items() if spec["schema"].get("format") == "password"}
    assert secret == {"security_code_1", "security_code_2"}
    assert fields["eboekhouden"]["api"]["schema"]["enum"] == ["rest", "soap"]
    assert fields["prestashop"]["auth"]["schema"]["enum"] == ["basic", "query"]


def test_prestashop_types_old_and_new_both_answer_the_sandbox(sandbox, monkeypatch):
    for conn_type, extra in (("http", {}), ("prestashop", {}), ("prestashop", {"auth": "query"})):
        conn = {"conn_type": conn_type, "host": sandbox.prestashop_url, "password": DEFAULT_KEY, "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_S", json.dumps(conn))
        assert PrestaShopHook("prestashop_s", max_attempts=1).test_connection() == (True, "PrestaShop webservice answered"), (conn_type, extra)


def test_eboekhouden_test_button_checks_soap_connections_with_the_soap_hook(sandbox, monkeypatch):
    soap = {"api": "soap", "username": "sandbox", "security_code_1": "SANDBOXSECURITYCODE1", "security_code_2": "SANDBOXSECURITYCODE2"}
    monkeypatch.setenv("AIRFLOW_CONN_EB_NEW_SOAP", json.dumps({"conn_type": "eboekhouden", "host": sandbox.eboekhouden_soap_url, "extra": soap}))
    monkeypatch.setenv("AIRFLOW_CONN_EB_NEW_REST", json.dumps({"conn_type": "eboekhouden", "host": sandbox.eboekhouden_url, "password": "sandbox-eboekhouden-token"}))
    monkeypatch.setenv("AIRFLOW_CONN_EB_BAD_SOAP", json.dumps({"conn_type": "eboekhouden", "host": sandbox.eboekhouden_soap_url, "extra": {**soap, "security_code_2": "WRONGCODE22"}}))
    # what Airflow's Test button makes for the connection type: the backend named in the extra checks it
    assert EBoekhoudenConnectionHook("eb_new_soap").test_connection() == (True, "e-Boekhouden SOAP API answered")
    assert EBoekhoudenConnectionHook("eb_new_rest").test_connection() == (True, "e-Boekhouden API answered")
    ok, message = EBoekhoudenConnectionHook("eb_bad_soap").test_connection()
    assert not ok and "security codes of connection 'eb_bad_soap'" in message and "WRONGCODE22" not in message


def test_vies_test_button_probes_the_service(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_VIES_DEFAULT", json.dumps({"conn_type": "vies", "host": sandbox.vies_url}))
    ok, message = ViesHook(max_attempts=1).test_connection()
    assert ok and message == f"VIES answered at {sandbox.vies_url}/taxation_customs/vies/services/checkVatService (checkVat NL000000000B00: not registered)"


def test_provider_info_has_no_side_effects(monkeypatch):
    from prestashop_eboekhouden import masking

    monkeypatch.setattr(masking, "register_sensitive_names", lambda: pytest.fail("get_provider_info must not touch the masker"))
    assert get_provider_info()["package-name"] == "airflow-provider-prestashop-eboekhouden"


def test_every_form_field_is_an_extra_its_hooks_read_never_a_header():
    from prestashop_eboekhouden.hooks.backends import BACKENDS, hook_class

    fields = {c["connection-type"]: set(c["conn-fields"]) for c in get_provider_info()["connection-types"]}
    assert fields["prestashop"] <= PrestaShopHook.connection_extras
    assert fields["vies"] <= ViesHook.connection_extras
    for name in BACKENDS:  # every backend reads (and keeps out of the headers) every field of the shared form
        assert fields["eboekhouden"] <= hook_class(name).connection_extras, name


def test_the_dashboard_plugin_is_registered_one_way():
    """By the distribution's entry point only: not also by the provider info, nor by a file of the plugins folder
    (Airflow would load it twice and report the second as an import error)."""
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    entry_points = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["entry-points"]
    assert entry_points["airflow.plugins"] == {"prestashop_eboekhouden": "prestashop_eboekhouden.ui.plugin:BookkeepingPlugin"}
    assert "plugins" not in get_provider_info()
    ignored = (repo / "plugins/.airflowignore").read_text().split()
    loose = [p.name for p in (repo / "plugins").glob("*.py")]
    assert "prestashop_eboekhouden/" in ignored and loose == []
