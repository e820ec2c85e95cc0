"""``python -m sandbox``: starts both emulators on the asked ports, writes the ports file, adds live orders, stops on SIGTERM with 0."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from sandbox.books import DEFAULT_TOKEN
from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY, shop_now

REPO = Path(__file__).resolve().parents[2]


def _wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 30) -> dict[str, str]:
    """The ports file's content once the sandbox wrote it."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else "sandbox exited"
        assert time.monotonic() < deadline, "the sandbox did not write its ports file"
        time.sleep(0.05)
    return json.loads(path.read_text())


def _order_count(base: str) -> int:
    """How many orders the shop has."""
    data = requests.get(f"{base}/api/orders", params={"output_format": "JSON"}, auth=(DEFAULT_KEY, ""), timeout=10).json()
    return 0 if data == [] else len(data["orders"])


def test_help_exits_0() -> None:
    result = subprocess.run([sys.executable, "-m", "sandbox", "--help"], cwd=REPO, capture_output=True, timeout=60)
    assert result.returncode == 0
    assert b"--ports-file" in result.stdout and b"--fault-rate-429" in result.stdout
    assert b"--eboekhouden-soap-port" in result.stdout and b"--soap-security-code-2" in result.stdout
    assert b"--vies-port" in result.stdout


def test_runs_until_sigterm_then_exits_0(tmp_path: Path) -> None:
    ports_file = tmp_path / "ports.json"
    command = [sys.executable, "-m", "sandbox", "--prestashop-port", "0", "--eboekhouden-port", "0", "--eboekhouden-soap-port", "0", "--vies-port", "0"]
    command += ["--orders", "20"]
    command += ["--ports-file", str(ports_file), "--live-orders-per-hour", "36000"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        urls = _wait_for(ports_file, process)
        session = requests.post(f"{urls['eboekhouden']}/v1/session", json={"accessToken": DEFAULT_TOKEN, "source": "CLI"}, timeout=10)
        first = _order_count(urls["prestashop"])
        time.sleep(0.5)
        assert set(urls) == {"prestashop", "eboekhouden", "eboekhouden_soap", "vies"} and urls["prestashop"].startswith("http://127.0.0.1:")
        vies_wsdl = requests.get(f"{urls['vies']}/taxation_customs/vies/services/checkVatService", params={"wsdl": ""}, timeout=10).text
        assert 'name="checkVat"' in vies_wsdl and f'location="{urls["vies"]}/taxation_customs/vies/services/checkVatService"' in vies_wsdl
        assert requests.get(f"{urls['eboekhouden_soap']}/soap.asmx", params={"wsdl": ""}, timeout=10).text.count("wsdl:operation") >= 10
        assert session.status_code == 200
        assert first >= 20 and _order_count(urls["prestashop"]) > first
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert b"Sandbox stopped." in out
    assert b"e-Boekhouden SOAP API: http://127.0.0.1:" in out
    assert b"VIES checkVatService:  http://127.0.0.1:" in out


def test_live_orders_get_current_shop_local_dates() -> None:
    with SandboxServers(orders=5, live_orders_per_hour=36000) as sandbox:
        deadline = time.monotonic() + 5
        while len(sandbox.shop.items("orders")) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        newest = sandbox.shop.items("orders")[-1]
    added = dt.datetime.strptime(newest["date_add"], "%Y-%m-%d %H:%M:%S")
    assert newest["id"] >= 8
    assert abs((shop_now() - added).total_seconds()) < 10
