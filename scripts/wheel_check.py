"""The checks of scripts/wheel_check.sh, run against a virtualenv that holds only Airflow and the wheel.

Every Airflow and integration command runs with that virtualenv's interpreter, from a scratch folder, with
PYTHONPATH unset and an empty plugins folder: what works here works for anyone who `pip install`s the wheel.
The sandbox emulators (not part of the wheel) and Playwright run with the repository's own .venv.
Writes report.json (the commands, their results and timings) and screenshots to --out; exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROVIDER = "airflow-provider-prestashop-eboekhouden"
ADMIN_PASSWORD = "wheel-check-admin-pw"
SOAP_CODES = {"security_code_1": "SANDBOXSECURITYCODE1", "security_code_2": "SANDBOXSECURITYCODE2"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Check:
    def __init__(self, venv: Path, work: Path, out: Path):
        self.venv, self.work, self.out = venv, work, out
        self.home = work / "airflow-home"
        self.report: dict = {"steps": []}
        self.processes: list[subprocess.Popen] = []
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token: str | None = None

    # ---- plumbing -------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PRESTA_EB", "PYTHONPATH"))}
        env.update(self.extra_env)
        return env

    def step(self, name: str, ok: bool, **details) -> None:
        self.report["steps"].append({"step": name, "ok": ok, **details})
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {details.get('summary')}" if details.get("summary") else ""), flush=True)
        if not ok:
            raise CheckFailed(f"{name}: {json.dumps(details)[:2000]}")

    def run(self, name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """A command of the fresh virtualenv (bin/<first arg>), from the scratch folder."""
        command = [str(self.venv / "bin" / args[0]), *args[1:]]
        started = time.monotonic()
        done = subprocess.run(command, cwd=self.work, env=self.env(), capture_output=True, text=True, timeout=timeout)
        log = self.out / f"{name}.log"
        log.write_text(f"$ {' '.join(args)}\n--- exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
        self.report.setdefault("commands", []).append({"name": name, "command": " ".join(args), "exit": done.returncode,
                                                       "seconds": round(time.monotonic() - started, 1)})  # fmt: skip
        if done.returncode != 0:
            raise CheckFailed(f"`{' '.join(args)}` exited {done.returncode}; see {log}\n{done.stderr[-3000:]}")
        return done

    def http(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json")
        if auth and self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = open(self.out / f"{name}.log", "w")  # noqa: SIM115 - open while the process runs
        self.processes.append(subprocess.Popen(command, cwd=self.work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    # ---- the checks -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Airflow home, the thin DAG file, one tenant file in the installed default folder, the sandbox."""
        dags, plugins = self.work / "dags", self.work / "plugins"
        tenants = self.home / "include" / "tenants"  # the default tenant folder of an installed package
        for folder in (dags, plugins, tenants):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "dags" / "tenant_dags.py", dags / "tenant_dags.py")  # what users copy
        shutil.copy(REPO / "include" / "tenants" / "demo.yaml", tenants / "demo.yaml")
        ports = self.work / "ports.json"
        ports.unlink(missing_ok=True)
        sandbox_env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.start("sandbox", [sys.executable, "-m", "sandbox", "--prestashop-port", "0", "--eboekhouden-port", "0", "--eboekhouden-soap-port", "0",
                               "--vies-port", "0", "--ports-file", str(ports), "--orders", "40", "--days-back", "1", "--seed", "17",
                               "--live-orders-per-hour", "0"], sandbox_env)  # fmt: skip
        for _ in range(150):
            if ports.exists() and ports.stat().st_size:
                break
            time.sleep(0.2)
        urls = json.loads(ports.read_text())
        self.urls = urls
        passwords = self.work / "passwords.json"
        passwords.write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        self.extra_env = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),  # empty: the plugin must come through its entry point
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:ADMIN",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API_AUTH__JWT_SECRET": "wheel-check-jwt-secret-" + "x" * 48,
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "PRESTA_EB_STATE_DB": f"sqlite:///{self.home / 'presta_eb_state.db'}",
            # connections of the provider's own types, from the environment (a secrets backend works the same)
            "AIRFLOW_CONN_PRESTASHOP_DEMO": json.dumps({"conn_type": "prestashop", "host": urls["prestashop"],
                                                         "password": "SANDBOXPRESTASHOPKEY000000000000"}),  # fmt: skip
            "AIRFLOW_CONN_EBOEKHOUDEN_DEMO": json.dumps({"conn_type": "eboekhouden", "host": urls["eboekhouden"],
                                                          "password": "sandbox-eboekhouden-token", "extra": {"source": "PSEBWHEEL"}}),  # fmt: skip
            "AIRFLOW_CONN_VIES_DEFAULT": json.dumps({"conn_type": "vies", "host": urls["vies"]}),  # ICP numbers: the VIES emulator
        }
        self.step("sandbox emulators started", True, summary=", ".join(f"{k} {v}" for k, v in urls.items()))

    def installed(self) -> None:
        where = self.run("import", "python", "-c", "import prestashop_eboekhouden, airflow; print(prestashop_eboekhouden.__file__); print(airflow.__version__)")
        path, version = where.stdout.split()
        self.step("package imported from the virtualenv, not the repo", "site-packages" in path and str(REPO) not in path, summary=path, airflow=version)
        self.run("db-migrate", "airflow", "db", "migrate")
        providers = self.run("providers-list", "airflow", "providers", "list", "-o", "json")
        found = [p for p in json.loads(providers.stdout) if p.get("package_name") == PROVIDER]
        self.step("airflow providers list shows the provider", bool(found), summary=json.dumps(found))
        plugins = self.run("plugins", "airflow", "plugins", "-o", "json")
        names = [p.get("name") for p in json.loads(plugins.stdout or "[]")]
        self.step("airflow plugins lists the dashboard plugin (its one registration: the entry point airflow.plugins)", "prestashop_eboekhouden" in names, summary=str(names))

    def store_and_tenant(self) -> None:
        migrate = self.run("setup-migrate", "python", "-m", "prestashop_eboekhouden.setup", "migrate")
        self.step("setup migrate creates the state store", "migrated from no version to" in migrate.stdout, summary=migrate.stdout.strip())
        self.run("setup-check", "python", "-m", "prestashop_eboekhouden.setup", "check")
        self.run("setup-pools", "python", "-m", "prestashop_eboekhouden.setup", "pools")
        done = subprocess.run([str(self.venv / "bin/python"), "-m", "prestashop_eboekhouden.setup", "validate", "demo"], cwd=self.work, env=self.env(),
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        (self.out / "setup-validate.log").write_text(done.stdout + done.stderr)
        lines = done.stdout.splitlines()
        self.step("setup validate calls both APIs and checks ledgers, rates and VAT codes",
                  any("PrestaShop (prestashop_demo): PrestaShop webservice answered" in x for x in lines)
                  and any("every ledger exists" in x for x in lines) and any("every VAT code is a sales code" in x for x in lines),
                  summary=f"exit {done.returncode}; " + " | ".join(lines))  # fmt: skip

    def api_server(self) -> None:
        self.start("api-server", [str(self.venv / "bin/airflow"), "api-server", "--port", str(self.port)], self.env())
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if self.http("GET", "/api/v2/version", auth=False)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        status, body = self.http("POST", "/auth/token", {"username": "admin", "password": ADMIN_PASSWORD}, auth=False)
        self.step("api-server up, admin logged in", status == 201, summary=f"POST /auth/token {status}")
        self.token = json.loads(body)["access_token"]

        status, body = self.http("GET", "/ui/connections/hook_meta")
        meta = {m["connection_type"]: m for m in json.loads(body)} if status == 200 else {}
        (self.out / "hook_meta.json").write_text(json.dumps({k: meta.get(k) for k in ("prestashop", "eboekhouden")}, indent=2))
        fields = {t: sorted((meta.get(t) or {}).get("extra_fields") or {}) for t in ("prestashop", "eboekhouden")}
        secret = {n for n, spec in ((meta.get("eboekhouden") or {}).get("extra_fields") or {}).items() if spec["schema"].get("format") == "password"}
        self.step("hook_meta has both connection types and their form fields",
                  fields == {"prestashop": ["auth"], "eboekhouden": ["api", "security_code_1", "security_code_2", "source", "username"]}
                  and secret == {"security_code_1", "security_code_2"}
                  and meta["prestashop"]["hook_name"] == "PrestaShop webservice" and meta["eboekhouden"]["hook_name"] == "e-Boekhouden",
                  summary=json.dumps(fields))  # fmt: skip

        status, body = self.http("GET", "/bookkeeping/api/tenants")
        tenants = [t["tenant"] for t in json.loads(body).get("tenants", [])] if status == 200 else []
        self.step("the dashboard answers at /bookkeeping/", status == 200 and tenants == ["demo"], summary=f"GET /bookkeeping/api/tenants {status} {tenants}")
        status, _ = self.http("GET", "/bookkeeping/")
        self.step("GET /bookkeeping/ (HTML)", status == 200, summary=str(status))

        body = {"connection_id": "eboekhouden_legacy", "conn_type": "eboekhouden", "host": self.urls["eboekhouden_soap"],
                "extra": json.dumps({"api": "soap", "username": "sandbox", "source": "PSEBWHEEL", **SOAP_CODES})}  # fmt: skip
        self.http("DELETE", "/api/v2/connections/eboekhouden_legacy")  # a rerun in a kept folder
        status, _ = self.http("POST", "/api/v2/connections", body)
        got_status, got = self.http("GET", "/api/v2/connections/eboekhouden_legacy")
        clear = [code for code in SOAP_CODES.values() if code in got]
        self.step("a SOAP connection stored in the metadata DB comes back masked", status == 201 and got_status == 200 and not clear,
                  summary=json.loads(got).get("extra") if got_status == 200 else got)  # fmt: skip
        status, body = self.http("POST", "/api/v2/connections/test", {**body, "connection_id": "eboekhouden_legacy_test"})
        answer = json.loads(body) if status == 200 else {}
        self.step("the Test button of an eboekhouden (SOAP) connection calls the SOAP API", answer.get("status") is True, summary=body[:300])

    def book(self) -> None:
        since = time.strftime("%Y-%m-%dT00:00:00+00:00", time.gmtime(time.time() - 3 * 86400))
        conf = json.dumps({"since": since, "until": time.strftime("%Y-%m-%dT%H:00:00+00:00", time.gmtime(time.time() + 3600))})
        self.run("dags-test", "airflow", "dags", "test", "demo__orders_hourly", "-c", conf, timeout=900)
        counts = self.run("store-counts", "python", "-c", "import json; from prestashop_eboekhouden.store import get_store; print(json.dumps(get_store().counts('demo')))")
        state = json.loads(counts.stdout)
        with urllib.request.urlopen(self.urls["eboekhouden"] + "/__sandbox__/mutations", timeout=30) as answer:
            mutations = json.loads(answer.read())
        sales = [m for m in (mutations if isinstance(mutations, list) else mutations.get("items", mutations.get("mutations", []))) if m.get("type") == 2]
        self.step("airflow dags test demo__orders_hourly books sandbox orders", state["booked"] > 0 and len(sales) >= state["booked"],
                  summary=f"store {state}, e-Boekhouden sales mutations {len(sales)}")  # fmt: skip
        self.report["booked"] = {"store": state, "sales_mutations": len(sales)}

    def screenshots(self) -> None:
        chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            chromium = None
        if chromium is None:
            self.report["screenshots"] = "skipped: no Chromium or Playwright (scripts/browser.sh, requirements-dev.txt)"
            print("skip screenshots: no Chromium or Playwright")
            return
        shots = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
            page.goto(self.base + "/")
            page.wait_for_url("**/auth/login**")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(self.base + "/")
            for conn_type, label in (("prestashop", "PrestaShop webservice"), ("eboekhouden", "e-Boekhouden")):
                page.goto(self.base + "/connections")
                page.get_by_role("button", name="Add Connection").click()
                page.locator("[role=dialog] input").first.fill(f"{conn_type}_acme")
                combo = page.locator("[role=dialog] input[role=combobox]")
                combo.click()
                combo.fill(label)
                page.keyboard.press("Enter")
                texts, secret_inputs = [], []
                for part in ("standard", "extra"):  # one accordion section open at a time
                    if part == "extra":
                        page.get_by_text("Extra Fields", exact=True).click()  # the provider's conn-fields
                    page.wait_for_timeout(1000)
                    path = self.out / f"connection-form-{conn_type}-{part}.png"
                    page.screenshot(path=str(path), full_page=True)
                    shots.append(str(path))
                    texts.append(page.locator("[role=dialog]").inner_text())
                    secret_inputs.append(page.locator("[role=dialog] input[type=password]:visible").count())
                wanted = ["Shop URL", "Webservice key", "Key sent as"] if conn_type == "prestashop" else \
                    ["API URL", "REST API token", "Source", "SOAP username", "SOAP security code 1", "SOAP security code 2"]
                missing = [w for w in wanted if w not in " ".join(texts)]
                expected = [1, 0] if conn_type == "prestashop" else [1, 2]  # key / token; the two SOAP codes
                self.step(f"Connections form for {conn_type}", not missing and secret_inputs == expected,
                          summary=f"password inputs (standard, extra) {secret_inputs}; missing labels {missing}")  # fmt: skip
                page.keyboard.press("Escape")
            page.goto(self.base + "/connections")
            page.get_by_role("button", name="Edit Connection").first.click()
            page.get_by_text("Extra Fields", exact=True).click()
            page.wait_for_timeout(1000)
            path = self.out / "connection-edit-eboekhouden-soap.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(str(path))
            dialog = page.locator("[role=dialog]")
            values = [dialog.locator("input, textarea").nth(i).input_value() for i in range(dialog.locator("input, textarea").count())]
            self.step("the UI's connection page shows no SOAP code in clear",
                      "eboekhouden_legacy" in values and not any(code in v for v in values for code in SOAP_CODES.values()) and "***" in values,
                      summary=f"{path.name}; form values {values}")  # fmt: skip
            browser.close()
        self.report["screenshots"] = shots


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--venv", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--wheel", type=Path, required=True)
    args = parser.parse_args()
    check = Check(args.venv, args.work, args.out)
    check.report["wheel"] = args.wheel.name
    started = time.monotonic()
    failed = None
    try:
        check.setup()
        check.installed()
        check.store_and_tenant()
        check.api_server()
        check.book()
        check.screenshots()
    except CheckFailed as exc:
        failed = str(exc)
    finally:
        check.stop()
        check.report["seconds"] = round(time.monotonic() - started, 1)
        check.report["failed"] = failed
        (args.out / "report.json").write_text(json.dumps(check.report, indent=2))
    if failed:
        print(f"WHEEL CHECK FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
