"""The real Airflow API server app (with our plugin mounted) and logins of the SimpleAuthManager."""

from __future__ import annotations

import json
import os

import pytest

USERS = {"admin": ("ADMIN", "admin-pw"), "viewer": ("VIEWER", "viewer-pw"), "clerk": ("USER", "clerk-pw")}


@pytest.fixture(scope="session")
def api_app(airflow_db, tmp_path_factory):
    """airflow.api_fastapi.app.create_app(), as `airflow api-server` serves it."""
    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({name: pw for name, (_, pw) in USERS.items()}))
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(f"{name}:{role}" for name, (role, _) in USERS.items())
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "False"
    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app, purge_cached_app

    purge_cached_app()
    if hasattr(plugins_manager, "_get_plugins"):
        plugins_manager._get_plugins.cache_clear()  # type: ignore[attr-defined]
    return create_app()


@pytest.fixture(scope="session")
def client(api_app):
    from fastapi.testclient import TestClient

    with TestClient(api_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tokens(client):
    """A JWT per user, from POST /auth/token."""
    out = {}
    for name, (_, pw) in USERS.items():
        answer = client.post("/auth/token", json={"username": name, "password": pw})
        assert answer.status_code == 201, answer.text
        out[name] = answer.json()["access_token"]
    return out


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
