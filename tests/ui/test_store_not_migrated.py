"""The dashboard on a state store that was never migrated: 503 saying which command to run, not a bare 500."""

from __future__ import annotations

from .conftest import bearer


def test_dashboard_names_the_migrate_command(client, tokens, tmp_path, monkeypatch):
    monkeypatch.setenv("PRESTA_EB_STATE_DB", f"sqlite:///{tmp_path / 'never-migrated.db'}")
    monkeypatch.delenv("PRESTA_EB_STATE_AUTO_MIGRATE", raising=False)
    answer = client.get("/bookkeeping/api/tenants/demo/orders", headers=bearer(tokens["admin"]))
    assert answer.status_code == 503
    assert "run `python -m prestashop_eboekhouden.setup migrate`" in answer.json()["detail"]
