"""SOAP security codes of a connection stored in the metadata DB never come back in clear (issue 17):
not from GET /api/v2/connections/{id}, not from the list the UI's Connections page reads."""

from __future__ import annotations

import json

import pytest

from .conftest import bearer

CODE1, CODE2, TOKEN = "SOAPCODE1-CANARY-7731", "SOAPCODE2-CANARY-9942", "RESTTOKEN-CANARY-5510"


@pytest.fixture(scope="module")
def soap_connection_in_db(client, tokens):
    """Created through the public API, so it lives in the metadata DB (not in env)."""
    body = {
        "connection_id": "eboekhouden_masked",
        "conn_type": "eboekhouden",
        "host": "https://soap.e-boekhouden.nl",
        "password": TOKEN,
        "extra": json.dumps({"api": "soap", "username": "shopuser", "security_code_1": CODE1, "security_code_2": CODE2, "source": "PSEB"}),
    }
    client.delete("/api/v2/connections/eboekhouden_masked", headers=bearer(tokens["admin"]))
    answer = client.post("/api/v2/connections", json=body, headers=bearer(tokens["admin"]))
    assert answer.status_code == 201, answer.text
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:  # stored in the DB, codes and all
        stored = session.query(Connection).filter_by(conn_id="eboekhouden_masked").one()
        assert stored.extra_dejson["security_code_1"] == CODE1
    return body


def test_get_connection_hides_the_soap_codes_and_the_token(client, tokens, soap_connection_in_db):
    answer = client.get("/api/v2/connections/eboekhouden_masked", headers=bearer(tokens["admin"]))
    assert answer.status_code == 200
    assert CODE1 not in answer.text and CODE2 not in answer.text and TOKEN not in answer.text
    extra = json.loads(answer.json()["extra"])
    assert extra == {"api": "soap", "username": "shopuser", "security_code_1": "***", "security_code_2": "***", "source": "PSEB"}


def test_connection_list_of_the_ui_hides_them_too(client, tokens, soap_connection_in_db):
    answer = client.get("/api/v2/connections", params={"connection_id_pattern": "eboekhouden_masked"}, headers=bearer(tokens["admin"]))
    assert answer.status_code == 200 and "eboekhouden_masked" in answer.text
    assert CODE1 not in answer.text and CODE2 not in answer.text and TOKEN not in answer.text
