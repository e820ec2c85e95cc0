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
os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "test-only-jwt-secret-" + "x" * 64
os.environ.pop("PRESTA_EB_TENANTS_DIR", None)


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
