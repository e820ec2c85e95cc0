"""Test session set-up: an Airflow home of its own (never the developer's), before Airflow is imported."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="presta-eb-test-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS"] = "False"
os.environ["PRESTA_EB_STATE_DB"] = f"sqlite:///{_HOME / 'presta_eb_state.db'}"
# Tests make throwaway stores everywhere: they are migrated on first use. Deployments run
# `python -m prestashop_eboekhouden.setup migrate` instead (tests/unit/test_migrations.py covers both).
os.environ["PRESTA_EB_STATE_AUTO_MIGRATE"] = "1"
os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "test-only-jwt-secret-" + "x" * 64
os.environ.pop("PRESTA_EB_TENANTS_DIR", None)
# dag.test() in Airflow 3.3.2 cannot finish a run of a DAG with deadline alerts (prestashop_eboekhouden/deadlines.py):
# the DAGs the tests run in-process are built without them. tests/dags/test_native.py builds them and checks them;
# tests/stack (whose Airflow parts get an environment without PRESTA_EB_*) has them missed and met on the real scheduler.
os.environ["PRESTA_EB_DEADLINES"] = "off"


def pytest_addoption(parser):
    """The simulation's options (tests/simulation): replay one seed, or change the budget of seeds it covers."""
    group = parser.getgroup("simulation")
    group.addoption("--seed", type=int, default=None, help="simulation: run only this seed (its events, faults and violations on failure)")
    group.addoption("--sim-schedules", type=int, default=None, help="simulation: how many seeds (default 2000)")
    group.addoption("--sim-start", type=int, default=None, help="simulation: the first seed (default 1)")


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """The test session's Airflow home."""
    return _HOME


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """A migrated Airflow metadata database (SQLite) for dag.test() runs."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return airflow_home


@pytest.fixture
def eb_backend(request) -> str:
    """The e-Boekhouden backend a test's tenant uses: 'rest' unless parametrized (tests/e2e runs both)."""
    return getattr(request, "param", "rest")


@pytest.fixture(autouse=True)
def eboekhouden_requests_obey_the_contract(monkeypatch):
    """Every request to an e-Boekhouden REST path (``/v1/``) that this process sends — through requests, so
    also against requests_mock — is validated against the official contract; a violation fails the test."""
    from urllib.parse import urlsplit

    import requests

    from sandbox.contract import check_request, tally

    violations: list[str] = []
    original = requests.Session.prepare_request  # requests_mock replaces Session.send, never this

    def prepare_request(self, request):
        prepared = original(self, request)
        parts = urlsplit(prepared.url)
        if "/v1/" in parts.path:
            violations.extend(check_request(prepared.method, parts.path, parts.query, prepared.body))
            tally("client requests validated")
        return prepared

    monkeypatch.setattr(requests.Session, "prepare_request", prepare_request)
    yield violations
    assert violations == [], "requests that do not conform to the official e-Boekhouden contract"


_CONTRACT_COUNTS = REPO / "test-artifacts" / "contract-checks"


def pytest_sessionstart(session):
    """A fresh tally of contract checks (the controller clears what an earlier session left)."""
    if not hasattr(session.config, "workerinput"):
        for old in _CONTRACT_COUNTS.glob("*.json") if _CONTRACT_COUNTS.exists() else []:
            old.unlink()


def pytest_sessionfinish(session):
    """Each process (also an xdist worker) leaves its tally of contract checks for the summary."""
    import json

    from sandbox.contract import TOTALS

    if TOTALS:
        _CONTRACT_COUNTS.mkdir(parents=True, exist_ok=True)
        (_CONTRACT_COUNTS / f"{os.getpid()}.json").write_text(json.dumps(dict(TOTALS)))


def pytest_terminal_summary(terminalreporter):
    """How many requests and answers the contract checks validated in this session, all processes together."""
    import json
    from collections import Counter

    totals: Counter = Counter()
    for part in _CONTRACT_COUNTS.glob("*.json") if _CONTRACT_COUNTS.exists() else []:
        totals.update(json.loads(part.read_text()))
    if totals:
        terminalreporter.write_line("e-Boekhouden contract: " + ", ".join(f"{name} {count}" for name, count in sorted(totals.items())))
