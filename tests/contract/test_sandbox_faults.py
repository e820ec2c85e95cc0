"""Fault injection over real HTTP: scripted rules, random faults, latency, and that admin paths are never faulted."""

from __future__ import annotations

import datetime as dt
import json
import time
import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import requests

from sandbox import FaultConfig, FaultInjector, FaultRule, ShopState, create_prestashop_app
from sandbox.books import DEFAULT_TOKEN
from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY

ANCHOR = dt.datetime(2026, 3, 10, 12, 0, 0)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    """A small sandbox for this module."""
    with SandboxServers(seed=42, orders=20, anchor=ANCHOR) as servers:
        yield servers


@pytest.fixture(autouse=True)
def no_faults_left(sandbox: SandboxServers) -> Iterator[None]:
    """Every test starts and ends without faults."""
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


@pytest.fixture(scope="module")
def token(sandbox: SandboxServers) -> str:
    """A session token."""
    return requests.post(f"{sandbox.eboekhouden_url}/v1/session", json={"accessToken": DEFAULT_TOKEN, "source": "TEST"}, timeout=10).json()[
        "token"
    ]


def ledgers(sandbox: SandboxServers, token: str, timeout: float = 10) -> requests.Response:
    """GET /v1/ledger."""
    return requests.get(f"{sandbox.eboekhouden_url}/v1/ledger", headers={"Authorization": token}, timeout=timeout)


def orders(sandbox: SandboxServers, limit: str = "0,5") -> requests.Response:
    """GET /api/orders as JSON."""
    params = {"output_format": "JSON", "limit": limit}
    return requests.get(f"{sandbox.prestashop_url}/api/orders", params=params, auth=(DEFAULT_KEY, ""), timeout=10)


def book_sale(sandbox: SandboxServers, token: str, number: str) -> requests.Response:
    """POST a small sale mutation."""
    debtors, revenue = (sandbox.books.ledger_by_code(code) or {} for code in ("1300", "8000"))
    row = {"ledgerId": revenue["id"], "vatCode": "HOOG_VERK_21", "amount": Decimal("12.10")}
    relation = sandbox.books.relations()[0]["id"]
    payload = {
        "type": 2,
        "date": "2026-03-10",
        "ledgerId": debtors["id"],
        "relationId": relation,
        "invoiceNumber": number,
        "inExVat": "IN",
        "rows": [row],
    }
    body = msgspec.json.Encoder(decimal_format="number").encode(payload)
    return requests.post(
        f"{sandbox.eboekhouden_url}/v1/mutation",
        data=body,
        headers={"Authorization": token, "Content-Type": "application/json"},
        timeout=10,
    )


def eventually(condition: Callable[[], bool], seconds: float = 2.0) -> bool:
    """Whether a condition becomes true within some seconds (the server counts a broken request just after breaking it)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def booked(sandbox: SandboxServers, number: str) -> list[dict[str, Any]]:
    """Mutations stored with an invoice number."""
    return [m for m in sandbox.books.mutations() if m["invoiceNumber"] == number]


# ---- scripted rules ------------------------------------------------------------------------------


def test_429_carries_retry_after_and_the_next_request_passes(sandbox: SandboxServers, token: str) -> None:
    sandbox.add_fault_rule("eboekhouden", action="status", status=429, retry_after=7)
    limited = ledgers(sandbox, token)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["status"] == 429
    assert ledgers(sandbox, token).status_code == 200


def test_scripted_500_twice_then_ok_without_processing(sandbox: SandboxServers, token: str) -> None:
    sandbox.add_fault_rule("eboekhouden", {"method": "POST", "path": "/v1/mutation", "action": "status", "status": 500, "times": 2})
    answers = [book_sale(sandbox, token, "FAULT-500") for _ in range(3)]
    assert [a.status_code for a in answers] == [500, 500, 201]
    assert set(answers[0].json()) >= {"type", "code", "title", "status"}
    assert len(booked(sandbox, "FAULT-500")) == 1


def test_drop_after_commit_stores_the_mutation_but_the_client_sees_a_broken_connection(sandbox: SandboxServers, token: str) -> None:
    sandbox.add_fault_rule("eboekhouden", method="POST", path="/v1/mutation", action="drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        book_sale(sandbox, token, "FAULT-DROP")
    assert len(booked(sandbox, "FAULT-DROP")) == 1
    assert eventually(lambda: sandbox.books.stats.count("POST", "/v1/mutation", 0) == 1)
    assert book_sale(sandbox, token, "FAULT-DROP").json()["code"] == "MUT_019"


def test_reset_breaks_the_connection_before_processing(sandbox: SandboxServers, token: str) -> None:
    sandbox.add_fault_rule("eboekhouden", method="POST", path="/v1/mutation", action="reset")
    with pytest.raises(requests.ConnectionError):
        book_sale(sandbox, token, "FAULT-RESET")
    assert booked(sandbox, "FAULT-RESET") == []
    assert book_sale(sandbox, token, "FAULT-RESET").status_code == 201


def test_truncate_answers_half_the_json(sandbox: SandboxServers, token: str) -> None:
    whole = ledgers(sandbox, token).content
    sandbox.add_fault_rule("eboekhouden", action="truncate")
    cut = ledgers(sandbox, token)
    assert cut.status_code == 200
    assert cut.content == whole[: len(whole) // 2]
    with pytest.raises(ValueError):
        json.loads(cut.content)


def test_html_error_pages_and_garbage(sandbox: SandboxServers) -> None:
    sandbox.add_fault_rule("prestashop", action="html", status=502)
    sandbox.add_fault_rule("prestashop", action="html", status=503)
    sandbox.add_fault_rule("prestashop", action="garbage")
    answers = [orders(sandbox) for _ in range(3)]
    assert [a.status_code for a in answers] == [502, 503, 200]
    assert all(a.headers["content-type"].startswith("text/html") and a.text.startswith("<html>") for a in answers)
    assert orders(sandbox).json()["orders"]


def test_timeout_holds_the_answer_back(sandbox: SandboxServers, token: str) -> None:
    sandbox.add_fault_rule("eboekhouden", action="timeout", seconds=1.5)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        ledgers(sandbox, token, timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert ledgers(sandbox, token).status_code == 200


def test_after_skips_the_first_matching_requests(sandbox: SandboxServers) -> None:
    sandbox.add_fault_rule("prestashop", method="GET", path="/api/orders", action="status", status=500, after=2)
    pages = [orders(sandbox, f"{offset},5").status_code for offset in (0, 5, 10, 15)]
    assert pages == [200, 200, 500, 200]


def test_rules_only_hit_their_method_and_path(sandbox: SandboxServers, token: str) -> None:
    sandbox.add_fault_rule("eboekhouden", method="POST", path="/v1/relation", action="status", status=503)
    assert ledgers(sandbox, token).status_code == 200
    assert requests.get(f"{sandbox.eboekhouden_url}/v1/relation", headers={"Authorization": token}, timeout=10).status_code == 200
    assert len(sandbox.eboekhouden_faults.rules) == 1


def test_prestashop_error_bodies_have_prestashop_shape(sandbox: SandboxServers) -> None:
    sandbox.add_fault_rule("prestashop", action="status", status=500)
    failed = orders(sandbox)
    assert failed.status_code == 500
    assert set(failed.json()["errors"][0]) == {"code", "message"}


# ---- random faults, latency, admin ---------------------------------------------------------------


def _statuses(sandbox: SandboxServers, count: int) -> list[int]:
    """Statuses of a run of order list requests."""
    return [orders(sandbox).status_code for _ in range(count)]


def test_random_faults_are_seeded_and_set_over_http(sandbox: SandboxServers) -> None:
    config = {"rate_429": 0.3, "rate_500": 0.2, "retry_after": 2, "seed": 5}
    put = requests.put(f"{sandbox.prestashop_url}/__sandbox__/faults", json=config, timeout=10)
    first = _statuses(sandbox, 40)
    requests.put(f"{sandbox.prestashop_url}/__sandbox__/faults", json=config, timeout=10)
    second = _statuses(sandbox, 40)
    assert put.status_code == 200 and put.json()["config"]["rate_429"] == 0.3
    assert first == second
    assert {200, 429, 500} == set(first)
    assert 5 <= first.count(429) <= 20


def test_random_faults_can_be_limited_to_a_path(sandbox: SandboxServers, token: str) -> None:
    sandbox.set_faults("eboekhouden", FaultConfig(rate_500=1.0, path="/v1/mutation"))
    assert ledgers(sandbox, token).status_code == 200
    assert book_sale(sandbox, token, "FAULT-PATH").status_code == 500


def test_latency_is_added_to_every_request(sandbox: SandboxServers) -> None:
    sandbox.set_faults("prestashop", latency_ms=200)
    started = time.monotonic()
    assert orders(sandbox).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_admin_paths_are_never_faulted_and_faults_are_counted(sandbox: SandboxServers) -> None:
    requests.post(f"{sandbox.prestashop_url}/__sandbox__/reset-stats", timeout=10)
    sandbox.set_faults("prestashop", rate_500=1.0)
    assert orders(sandbox).status_code == 500
    stats = requests.get(f"{sandbox.prestashop_url}/__sandbox__/stats", timeout=10)
    assert stats.status_code == 200
    assert stats.json()["faults_injected"] == {"status_500": 1}
    assert sandbox.shop.stats.count("GET", "orders", 500) == 1


def test_invalid_fault_settings_are_refused(sandbox: SandboxServers) -> None:
    bad_action = requests.post(f"{sandbox.prestashop_url}/__sandbox__/faults/rules", json={"action": "explode"}, timeout=10)
    bad_rates = requests.put(f"{sandbox.prestashop_url}/__sandbox__/faults", json={"rate_429": 0.8, "rate_500": 0.5}, timeout=10)
    bad_field = requests.put(f"{sandbox.prestashop_url}/__sandbox__/faults", json={"rate_418": 0.1}, timeout=10)
    added = requests.post(
        f"{sandbox.prestashop_url}/__sandbox__/faults/rules", json={"action": "status", "status": 503, "times": 2}, timeout=10
    )
    assert [bad_action.status_code, bad_rates.status_code, bad_field.status_code] == [400, 400, 400]
    assert added.status_code == 200 and added.json()["config"]["rules"][0]["times"] == 2
    assert [orders(sandbox).status_code for _ in range(3)] == [503, 503, 200]
    with pytest.raises(ValueError):
        FaultRule(action="status")


def test_apps_run_in_process_with_testclient() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette nags about its httpx-based TestClient
        from fastapi.testclient import TestClient
    faults = FaultInjector(FaultConfig(rules=[FaultRule(action="status", status=429, retry_after=3)]))
    client = TestClient(create_prestashop_app(ShopState(), faults))
    limited = client.get("/api/countries", params={"output_format": "JSON"}, auth=(DEFAULT_KEY, ""))
    answered = client.get("/api/countries", params={"output_format": "JSON", "display": "[id,iso_code]"}, auth=(DEFAULT_KEY, ""))
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    assert {"id": 13, "iso_code": "NL"} in answered.json()["countries"]
    assert client.get("/api/orders", params={"output_format": "JSON"}, auth=(DEFAULT_KEY, "")).json() == []


def test_faults_can_be_given_per_emulator_at_start() -> None:
    with SandboxServers(orders=3, anchor=ANCHOR, faults={"prestashop": FaultConfig(rate_503=1.0)}) as sandbox:
        shop = orders(sandbox)
        session = requests.post(f"{sandbox.eboekhouden_url}/v1/session", json={"accessToken": DEFAULT_TOKEN, "source": "TEST"}, timeout=10)
    assert shop.status_code == 503 and shop.headers["content-type"].startswith("text/html")
    assert session.status_code == 200
    with pytest.raises(ValueError):
        SandboxServers(orders=1, faults={"shop": FaultConfig()})
