"""The Configuration tab shows the tenant's last `setup probe`: when, the table, and what blocks booking in red."""

from __future__ import annotations

import datetime as dt

from prestashop_eboekhouden.probe import BLOCKS, NOT_SEEN, OK, Finding, Probe, save_probe
from prestashop_eboekhouden.store import get_store

from .conftest import bearer

TENANT = "demo_legacy"


def test_configuration_tab_shows_the_last_probe(client, tokens):
    auth = bearer(tokens["viewer"])
    page = client.get(f"/bookkeeping/tenants/{TENANT}", params={"tab": "config"}, headers=auth)
    assert page.status_code == 200 and "Never probed" in page.text
    assert client.get(f"/bookkeeping/api/tenants/{TENANT}/probe", headers=auth).json() == {"probe": None}

    older = Probe(TENANT, dt.datetime(2026, 12, 1, 9, 0), [Finding("PrestaShop", "read orders", "View (GET)", "readable", "read", OK)])
    save_probe(older, get_store())
    probe = Probe(
        TENANT, dt.datetime(2026, 12, 2, 10, 30),
        [
            Finding("e-Boekhouden", "ledger 1399 (eboekhouden.debtor_ledger)", "exists; category DEB", "does not exist", "create it <now>", BLOCKS),
            Finding("e-Boekhouden", "page size: a list asked with limit=2000", "up to 2000", "at most 500 a page", "stored", "note"),
            Finding("VIES", "VIES checkVat answers", "an answer", "not asked: vat.vies is off", "form and checksum only", NOT_SEEN),
        ],
        {"page_cap": 500, "page_cap_uniform": True}, {"e-Boekhouden": "eboekhouden_demo_legacy: REST API at https://api.example"},
        "rest", "https://api.example",
    )  # fmt: skip
    save_probe(probe, get_store())

    page = client.get(f"/bookkeeping/tenants/{TENANT}", params={"tab": "config"}, headers=auth)
    assert page.status_code == 200
    text = page.text
    assert "2026-12-02 11:30 (Europe/Amsterdam)" in text  # in the tenant's zone, as every time on the pages and "1 finding blocks booking" in text and "page size stored for the hooks: 500" in text
    assert 'class="notice bad probe-red"' in text and "ledger 1399 (eboekhouden.debtor_ledger)" in text
    assert "create it &lt;now&gt;" in text and "<now>" not in text  # escaped
    assert text.count('<tr class="probe-') == 3 and 'class="probe-blocks"' in text and "read orders" not in text  # the newest probe only

    data = client.get(f"/bookkeeping/api/tenants/{TENANT}/probe", headers=auth).json()["probe"]
    assert data["probed_at"] == "2026-12-02T10:30:00Z" and data["blocking"] == 1 and data["page_cap"] == 500
    assert [f["status"] for f in data["findings"]] == [BLOCKS, "note", NOT_SEEN] and data["red"][0]["seen"] == "does not exist"
    assert data["connections"] == {"e-Boekhouden": "eboekhouden_demo_legacy: REST API at https://api.example"}


def test_the_probe_api_needs_a_login(client):
    assert client.get(f"/bookkeeping/api/tenants/{TENANT}/probe").status_code == 401
