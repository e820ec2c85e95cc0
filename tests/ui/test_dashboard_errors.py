"""Issue 25 inside the real Airflow API server: Errors a bookkeeper can work off (booked by hand / dismissed, kept and
never booked), credit slips and refused payments in Errors, the same counts everywhere, Run now with the problems
named, Process that says what it waits behind — and the hostile requests of the issue, each refused: a cross-site
text/plain form, another port's page, no Origin at all; the CSV's formula cells; the API docs without a login;
a problem report with canary secrets in the connections."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from prestashop_eboekhouden.store import ERROR, RESOLVED, get_store

from .conftest import bearer

TENANT = "shop25"  # a tenant of its own: the other modules count demo's and demo_legacy's rows
API = f"/bookkeeping/api/tenants/{TENANT}"
PAGE = f"/bookkeeping/tenants/{TENANT}"
REPO = Path(__file__).resolve().parents[2]
CANARY_KEY = "CANARYPRESTASHOPKEY0000000000025"  # 32 characters, as PrestaShop's keys
CANARY_TOKEN = "canary-eboekhouden-token-25"
CANARY_CODE = "CANARYSOAPCODE25"
HOSTILE = "http://testserver:9999"  # a page on another port of the same host


@pytest.fixture(scope="module")
def tenants(tmp_path_factory, airflow_db):
    """The repo's tenant files plus shop25 (with a support address), its DAGs serialized, canary connections."""
    folder = tmp_path_factory.mktemp("tenants25")
    for path in (REPO / "include/tenants").glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    data = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())
    data["tenant"] = TENANT
    data["support"] = {"email": ["support@integrator.example"], "smtp_conn_id": "smtp_test25"}
    (folder / f"{TENANT}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    saved = {k: os.environ.get(k) for k in ("PRESTA_EB_TENANTS_DIR", "AIRFLOW_CONN_PRESTASHOP_SHOP25", "AIRFLOW_CONN_EBOEKHOUDEN_SHOP25")}
    os.environ["PRESTA_EB_TENANTS_DIR"] = str(folder)
    os.environ["AIRFLOW_CONN_PRESTASHOP_SHOP25"] = json.dumps({"conn_type": "http", "host": f"http://user:{CANARY_TOKEN}@127.0.0.1:9", "password": CANARY_KEY})
    os.environ["AIRFLOW_CONN_EBOEKHOUDEN_SHOP25"] = json.dumps(
        {"conn_type": "http", "host": "http://127.0.0.1:9", "password": CANARY_TOKEN,
         "extra": {"api": "soap", "username": "canary-user", "security_code_1": CANARY_CODE, "security_code_2": CANARY_CODE + "B"}}
    )  # fmt: skip
    # this checkout's code in the subprocess too (the shared virtualenv's editable install may point at another checkout)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True, env=env)
    yield folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def shop(tenants):
    """Orders in every state, an order refused with a reference and customer that look like spreadsheet formulas, a
    credit slip in Errors with its amount, and a refused payment."""
    store = get_store()
    seen = [
        {"order_id": i, "reference": f"S25REF{i:03d}", "shop_status": 2 if i < 30 else 10, "date_upd": dt.datetime(2026, 11, 20, 10), "order_date": dt.date(2026, 11, 20)}
        for i in range(1, 41)
    ]
    seen[0]["reference"] = "=HYPERLINK(\"http://evil.example\",\"x\")"
    store.record_seen(TENANT, seen, "seed")
    store.remember_statuses(TENANT, {2: "Payment accepted", 10: "Awaiting bank wire payment"})
    store.save_plans(TENANT, [{"order_id": i, "sales_number": f"S25-{i:03d}", "total_incl": "121.00", "total_excl": "100.00", "rows": []} for i in range(11, 21)], "seed")
    for i in range(11, 21):
        store.order_claims.claim(TENANT, i, "seed")
        store.order_claims.booked(TENANT, i, "seed", "seed", eb_kind="mutation", eb_id=9000 + i, eb_number=f"S25-{i:03d}", relation_code="Jansen")
    store.set_order_facts(TENANT, {i: {"amount_incl": Decimal("48.40"), "customer_name": "@SUM(1+1) Pietersen" if i == 1 else "Jan de Vries", "customer_email": "jan@example.nl"} for i in range(1, 11)})
    store.set_errors(TENANT, {i: ("Order total 48.41 ≠ lines + shipping + wrapping − discount 48.40", "PRECHECK") for i in range(1, 6)}, "seed")
    store.set_errors(TENANT, {i: (f"MUT_109 Invalid VAT code (key {CANARY_KEY})", "MUT_109") for i in range(6, 11)}, "seed")
    store.set_open(TENANT, range(30, 41), "Waiting for a status to book (now: Awaiting bank wire payment)", "seed")
    store.record_slips(TENANT, [{"slip_id": 701, "order_id": 11, "reference": "", "slip_date": dt.date(2026, 11, 21), "date_upd": dt.datetime(2026, 11, 21, 9)}], "seed")
    store.set_credit_errors(TENANT, {701: ("Credit slip 701: PrestaShop's totals disagree with its lines; book this refund by hand", "BY_HAND")}, "seed")
    store.set_credit_amounts(TENANT, {701: Decimal("-12.10")})
    store.record_payments(TENANT, [{"payment_id": 801, "order_id": 12, "reference": "S25REF012", "sales_number": "S25-012", "amount": Decimal("121.00"),
                                    "method": "Bank wire", "transaction_id": "TX801", "payment_date": dt.datetime(2026, 11, 22, 8)}], "seed")  # fmt: skip
    store.set_payment_errors(TENANT, {801: ("No outstanding item of 121.00 for S25-012 in e-Boekhouden", "OUTSTANDING")}, "seed")
    return store


@pytest.fixture(scope="module")
def auth(tokens):
    return bearer(tokens["clerk"])


def cookie_client(client, tokens, who="clerk"):
    """The browser's way: the UI's login cookie, no Authorization header."""
    client.cookies.set("_token", tokens[who])
    return client


# ---- Errors hold slips and payments; the same counts everywhere ---------------------------------------------


def test_errors_hold_orders_credit_slips_and_refused_payments_with_amount_and_hint(client, auth, shop):
    rows = client.get(f"{API}/orders", params={"state": "error", "limit": 100}, headers=auth).json()["rows"]
    kinds = {(r["kind"], r.get("slip_id") or r.get("payment_id") or r["order_id"]): r for r in rows}
    slip, payment = kinds[("credit", 701)], kinds[("payment", 801)]
    assert slip["amount_incl"] == "-12.10" and slip["hint"].startswith("PrestaShop's credit slip does not say to the cent")
    assert payment["amount_incl"] == "121.00" and payment["order_id"] == 12 and payment["customer_name"] is None or payment["customer_name"]
    assert "mark it “Booked by hand”" in payment["hint"]
    rounding = kinds[("order", 3)]
    assert rounding["hint"].startswith("A difference of 0.01 is PrestaShop's own rounding") and "rounding:\n  tolerance: \"0.01\"" in rounding["hint"]
    assert str(shop_file()) in rounding["hint"]
    page = client.get(PAGE, params={"tab": "error"}, headers=auth).text
    for kind, key in (("order", 3), ("credit", 701), ("payment", 801)):
        assert f'<input type="checkbox" class="pick" data-kind="{kind}" value="{key}"' in page


def shop_file() -> Path:
    return Path(os.environ["PRESTA_EB_TENANTS_DIR"]).resolve() / f"{TENANT}.yaml"


def test_every_page_shows_the_same_counts(client, auth, shop):
    listing = client.get(f"{API}/orders", headers=auth).json()["counts"]
    tenants = {t["tenant"]: t["counts"] for t in client.get("/bookkeeping/api/tenants", headers=auth).json()["tenants"]}
    assert tenants[TENANT] == listing
    index = client.get("/bookkeeping/", headers=auth).text
    row = index.split(f'<tr data-tenant="{TENANT}">', 1)[1].split("</tr>", 1)[0]
    page = client.get(PAGE, params={"tab": "error"}, headers=auth).text
    for state in ("booked", "error", "open"):
        assert f'data-count="{state}">{listing[state]}<' in row
        tab = page.split(f'data-tab="{"booked" if state == "booked" else state}"', 1)[1].split("</a>", 1)[0]
        assert f">{listing[state]}</span>" in tab
    assert listing["error"] == len(client.get(f"{API}/orders", params={"state": "error", "limit": 500}, headers=auth).json()["rows"])


def test_open_names_the_shop_status_and_shows_amounts_and_times_carry_the_zone(client, auth, shop):
    opened = client.get(f"{API}/orders", params={"state": "open", "limit": 100}, headers=auth).json()
    assert opened["time_zone"] == "Europe/Amsterdam"
    assert {(r["shop_status"], r["shop_status_name"]) for r in opened["rows"]} == {(2, "Payment accepted"), (10, "Awaiting bank wire payment")}
    page = client.get(PAGE, params={"tab": "open"}, headers=auth).text
    assert "Awaiting bank wire payment" in page and '<th class="num">Amount</th>' in page
    booked = client.get(f"{API}/orders", params={"state": "booked", "limit": 1}, headers=auth).json()["rows"][0]
    assert booked["booked_at"].endswith(("+01:00", "+02:00"))  # the tenant's zone, with its offset
    report = client.get(PAGE, params={"tab": "booked"}, headers=auth).text
    assert "<th>Booked (Europe/Amsterdam)</th>" in report and "<th>Customer</th>" in report


# ---- worked off ------------------------------------------------------------------------------------------------


def test_booked_by_hand_and_dismissed_are_kept_and_never_booked(client, tokens, auth, shop):
    viewer = client.post(f"{API}/resolve", json={"kind": "order", "ids": [1], "resolution": "by_hand"}, headers=bearer(tokens["viewer"]))
    assert viewer.status_code == 403
    answer = client.post(f"{API}/resolve", json={"kind": "order", "ids": [4, 5, 11], "resolution": "by_hand", "note": "memoriaal 118"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["resolved"] == [4, 5] and answer.json()["skipped"] == {"11": "not in Errors (booked, worked off already, or being booked right now)"}
    assert client.post(f"{API}/resolve", json={"kind": "payment", "ids": [801], "resolution": "dismissed"}, headers=auth).status_code == 200
    rows = {r["order_id"]: r for r in client.get(f"{API}/orders", params={"state": "resolved"}, headers=auth).json()["rows"] if r["kind"] == "order"}
    assert rows[4]["state"] == RESOLVED and rows[4]["resolution"] == "by_hand" and rows[4]["resolved_by"] == "clerk"
    assert rows[4]["resolution_note"] == "memoriaal 118" and rows[4]["resolved_at"].endswith(("+01:00", "+02:00"))
    assert rows[4]["reason"].startswith("Order total")  # the error it was is kept
    # never booked by the integration: no claim, no plan, no state change; Process skips it
    assert shop.order_claims.claim(TENANT, 4, "a-booking-task") is None
    shop.set_errors(TENANT, {4: ("refused again", "X")}, "later")
    shop.save_plans(TENANT, [{"order_id": 4, "sales_number": "S25-004", "total_incl": "1.00", "total_excl": "1.00", "rows": []}], "later")
    assert shop.get_orders(TENANT, [4])[4]["state"] == RESOLVED and shop.get_orders(TENANT, [4])[4]["plan"] is None
    skipped = client.post(f"{API}/reprocess", json={"order_ids": [4]}, headers=auth)
    assert skipped.status_code == 409 and skipped.json()["detail"]["skipped"] == {"4": "worked off"}
    page = client.get(PAGE, params={"tab": "error", "worked_off": "1"}, headers=auth).text
    assert "booked by hand" in page and "by clerk" in page and "“memoriaal 118”" in page and "<th>Worked off (Europe/Amsterdam)</th>" in page
    counts = client.get(f"{API}/orders", headers=auth).json()["counts"]
    assert counts["resolved"] == 3
    worked_off = list(csv.DictReader(io.StringIO(client.get(f"{API}/export.csv", params={"tab": "resolved"}, headers=auth).text)))
    assert {(r["kind"], r["resolution"], r["resolved_by"]) for r in worked_off} == {("order", "by_hand", "clerk"), ("payment", "dismissed", "clerk")}


# ---- hostile requests: each refused -----------------------------------------------------------------------


def _runs(client, tokens) -> int:
    """Runs of the tenant's hourly DAG and of its reconciliation (what an action could start)."""
    found = [client.get(f"/api/v2/dags/{TENANT}__{dag}/dagRuns", headers=bearer(tokens["admin"])) for dag in ("orders_hourly", "reconcile_daily")]
    assert all(answer.status_code == 200 for answer in found), [answer.text[:200] for answer in found]
    return sum(answer.json()["total_entries"] for answer in found)


@pytest.mark.parametrize(
    "headers, body, status",
    [
        # the issue's attack: a page on another port auto-submits a text/plain form, the login cookie rides along
        ({"Content-Type": "text/plain", "Origin": HOSTILE}, '{"order_ids": [1, 2]}', 415),
        ({"Content-Type": "text/plain"}, '{"order_ids": [1, 2]}', 415),
        ({"Content-Type": "application/x-www-form-urlencoded", "Origin": HOSTILE}, "order_ids=1", 415),
        ({"Content-Type": "multipart/form-data; boundary=x", "Origin": HOSTILE}, "--x--", 415),
        # JSON from another origin (another port, another host), or from a page that sends neither Origin nor Referer
        ({"Content-Type": "application/json", "Origin": HOSTILE}, '{"order_ids": [1, 2]}', 403),
        ({"Content-Type": "application/json", "Origin": "http://evil.example"}, '{"order_ids": [1, 2]}', 403),
        ({"Content-Type": "application/json", "Referer": f"{HOSTILE}/attack.html"}, '{"order_ids": [1, 2]}', 403),
        ({"Content-Type": "application/json", "Origin": "null"}, '{"order_ids": [1, 2]}', 403),
        ({"Content-Type": "application/json"}, '{"order_ids": [1, 2]}', 403),
    ],
)
@pytest.mark.parametrize(
    "path", ["reprocess", "resolve", "run", "problem/order/1/mail", "reconcile/run", "reconcile/process", "reconcile/book-again"]
)
def test_hostile_actions_are_refused_and_start_nothing(client, tokens, shop, headers, body, status, path):
    before = _runs(client, tokens)
    browser = cookie_client(client, tokens)
    try:
        answer = browser.post(f"{API}/{path}", content=body, headers=headers)
    finally:
        client.cookies.clear()
    assert answer.status_code == status, answer.text
    assert _runs(client, tokens) == before
    assert shop.get_orders(TENANT, [1])[1]["state"] == ERROR  # not worked off either


def test_the_dashboards_own_page_may_act_with_the_cookie(client, tokens, shop):
    browser = cookie_client(client, tokens)
    try:
        answer = browser.post(f"{API}/resolve", json={"kind": "order", "ids": [2], "resolution": "dismissed"}, headers={"Origin": "http://testserver"})
        via_referer = browser.post(f"{API}/resolve", json={"kind": "credit", "ids": [999], "resolution": "dismissed"}, headers={"Referer": f"http://testserver{PAGE}?tab=error"})
    finally:
        client.cookies.clear()
    assert answer.status_code == 200 and answer.json()["resolved"] == [2] and answer.json()["resolved_by"] == "clerk"
    assert via_referer.status_code == 409  # allowed through; nothing to change (no slip 999)


@pytest.mark.parametrize("path", ["reprocess", "reconcile/process"])
def test_an_anonymous_action_is_refused_before_anything_else(client, shop, path):
    answer = client.post(f"{API}/{path}", content='{"order_ids": [1]}', headers={"Content-Type": "text/plain", "Origin": HOSTILE})
    assert answer.status_code == 401


def test_the_reconcile_tabs_actions_pass_the_guard_from_the_dashboards_own_page(client, tokens, shop):
    browser = cookie_client(client, tokens)
    try:
        answer = browser.post(f"{API}/reconcile/process", json={"order_ids": [1]}, headers={"Origin": "http://testserver"})
    finally:
        client.cookies.clear()
    assert answer.status_code == 409, answer.text  # through the guard; order 1 has no open difference 'never seen'


# ---- headers, docs, CSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, params", [(PAGE, {"tab": "error"}), (f"{API}/orders", {}), (f"{API}/export.csv", {"tab": "error"}), ("/bookkeeping/", {}), (f"{API}/problem/order/1.json", {})])
def test_every_answer_carries_no_store_and_security_headers(client, auth, shop, path, params):
    answer = client.get(path, params=params, headers=auth)
    assert answer.status_code == 200, answer.text[:300]
    headers = answer.headers
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN" and headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'self'" in headers["content-security-policy"] and "'unsafe-inline'" not in headers["content-security-policy"]


def test_refusals_and_redirects_carry_them_too(client, shop):
    for answer in (client.get(f"{API}/orders"), client.get(PAGE, follow_redirects=False)):
        assert answer.status_code in (401, 303) and answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path, params", [(PAGE, {"tab": "error"}), (PAGE, {"tab": "config"}), (f"{PAGE}/reconcile", {})])
def test_scripts_run_only_with_the_pages_nonce(client, auth, shop, path, params):
    answer = client.get(path, params=params, headers=auth)
    assert answer.status_code == 200, answer.text[:300]
    nonce = answer.headers["content-security-policy"].split("'nonce-", 1)[1].split("'", 1)[0]
    page = answer.text
    assert page.count("<script") == page.count(f'<script nonce="{nonce}"') >= 2
    assert " onclick=" not in page and " style=" not in page


def test_the_api_docs_are_behind_the_login_and_say_the_packages_version(client, auth, shop):
    from importlib import metadata

    assert client.get("/bookkeeping/api/docs").status_code == 401
    assert client.get("/bookkeeping/api/openapi.json").status_code == 401
    spec = client.get("/bookkeeping/api/openapi.json", headers=auth).json()
    assert spec["info"]["version"] == metadata.version("airflow-provider-prestashop-eboekhouden") != "0.1.0"
    docs = client.get("/bookkeeping/api/docs", headers=auth)
    assert docs.status_code == 200 and "swagger" in docs.text.lower() and docs.headers["cache-control"] == "no-store"


def test_csv_cells_cannot_be_formulas_and_excel_nl_opens_in_dutch_excel(client, auth, shop):
    text = client.get(f"{API}/export.csv", params={"tab": "error"}, headers=auth).text
    rows = list(csv.DictReader(io.StringIO(text)))
    first = next(r for r in rows if r["kind"] == "order" and r["order_id"] == "1")
    assert first["reference"] == "'=HYPERLINK(\"http://evil.example\",\"x\")" and first["customer_name"] == "'@SUM(1+1) Pietersen"
    slip = next(r for r in rows if r["kind"] == "credit")
    assert slip["amount_incl"] == "-12.10"  # a number stays a number
    for row in rows:
        assert not any(str(v).startswith(("=", "+", "@")) for v in row.values() if v)
    excel = client.get(f"{API}/export.csv", params={"tab": "error", "format": "excel-nl"}, headers=auth)
    assert 'excel-nl.csv"' in excel.headers["content-disposition"]
    body = excel.content.decode("utf-8")
    assert body.startswith("\ufeff") and body.splitlines()[0].lstrip("\ufeff").startswith("kind;order_id;slip_id;reference")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert next(r for r in rows if r["kind"] == "credit")["amount_incl"] == "-12,10"
    assert client.get(f"{API}/export.csv", params={"tab": "error", "format": "xlsx"}, headers=auth).status_code == 422


# ---- Run now, and what a Process waits for ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, says",
    [
        ({"order_ids": "-5"}, "Order ids must hold positive order ids"),
        ({"order_ids": ["1041x"]}, "Order ids must hold whole numbers"),
        ({"order_ids": list(range(1, 2002))}, "Order ids may hold at most 1000 order ids, not 2001"),
        ({"since": "2026-11-20 18:00", "until": "2026-11-20 10:00"}, "Until (2026-11-20 10:00) must be after since (2026-11-20 18:00, Europe/Amsterdam)"),
        ({"since": "last week"}, "Since must be a date and time such as 2026-11-20 10:00 (Europe/Amsterdam unless an offset is given)"),
        ({"until": "2026-11-20 10:00"}, "Until needs a since"),
        ({}, "Give order ids, or a period with since (and until)"),
    ],
)
def test_run_now_names_each_problem_before_a_run_exists(client, tokens, auth, shop, body, says):
    before = _runs(client, tokens)
    answer = client.post(f"{API}/run", json=body, headers=auth)
    assert answer.status_code == 422 and any(says in p for p in answer.json()["detail"]), answer.text
    assert _runs(client, tokens) == before


def test_run_now_reads_the_period_in_the_shops_zone_and_says_what_the_run_waits_behind(client, tokens, auth, shop):
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    first = client.post(f"{API}/run", json={"since": "2026-11-20T10:00", "until": "2026-11-20T18:00"}, headers=auth)
    assert first.status_code == 200, first.text
    assert first.json()["waiting"]["why"].startswith(f"waits because {TENANT}__orders_hourly is paused in Airflow: unpause it")
    unpaused = client.patch(f"/api/v2/dags/{TENANT}__orders_hourly", json={"is_paused": False}, headers=bearer(tokens["admin"]))
    assert unpaused.status_code == 200, unpaused.text
    assert first.json()["conf"] == {"since": "2026-11-20T10:00:00+01:00", "until": "2026-11-20T18:00:00+01:00"}
    with create_session() as session:  # the scheduler started it: it is running now
        session.query(DagRun).filter(DagRun.run_id == first.json()["dag_run_id"]).update({"state": DagRunState.RUNNING, "start_date": dt.datetime(2026, 12, 3, 10, 5, tzinfo=dt.UTC)})
    process = client.post(f"{API}/reprocess", json={"order_ids": [6], "slip_ids": [701]}, headers=auth)
    assert process.status_code == 200, process.text
    waiting = process.json()["waiting"]
    assert waiting["behind"] == first.json()["dag_run_id"] and "one run at a time" in waiting["why"] and "running since 2026-12-03 11:05 (Europe/Amsterdam)" in waiting["why"]
    run = client.get(f"/api/v2/dags/{TENANT}__orders_hourly/dagRuns/{process.json()['dag_run_id']}", headers=bearer(tokens["admin"])).json()
    assert run["conf"] == {"order_ids": [6, 11]}  # the slip is processed through its order
    followed = client.get(f"{API}/runs/{process.json()['dag_run_id']}", params={"order_ids": "6", "slip_ids": "701"}, headers=auth).json()
    assert followed["state"] == "queued" and followed["waiting"]["behind"] == first.json()["dag_run_id"]
    assert [c["slip_id"] for c in followed["credits"]] == [701]


# ---- Report problem: a bundle without secrets ----------------------------------------------------------------


def test_the_problem_report_holds_the_order_plan_answer_and_versions_and_no_secret(client, auth, shop, monkeypatch):
    from prestashop_eboekhouden.ui import problem_report

    def shop_gives(config, kind, row):
        return {
            "order": {"id": row["order_id"], "reference": row["reference"], "total_paid_tax_incl": "48.41", "note": f"ws_key={CANARY_KEY}"},
            "customer": {"id": 7, "email": "jan@example.nl", "firstname": "Jan", "lastname": "de Vries", "passwd": "hash", "secure_key": CANARY_CODE},
            "addresses": [{"id": 9, "id_country": 13, "company": "Tea BV", "vat_number": "NL004495445B01", "address1": "Kerkstraat 1", "phone": "0612345678"}],
            "fetched_from": f"http://shop.example/api/orders?ws_key={CANARY_KEY}&password={CANARY_TOKEN}",
        }

    monkeypatch.setattr(problem_report, "_from_shop", shop_gives)
    answer = client.get(f"{API}/problem/order/6.json", headers=auth)
    assert answer.status_code == 200 and 'filename="problem-shop25-order-6.json"' in answer.headers["content-disposition"]
    text = answer.text
    for secret in (CANARY_KEY, CANARY_TOKEN, CANARY_CODE, "canary-user", "jan@example.nl", "Kerkstraat", "0612345678"):
        assert secret not in text, secret
    bundle = json.loads(text)
    assert bundle["item"]["order_id"] == 6 and bundle["item"]["error_code"] == "MUT_109" and bundle["eboekhouden_answer"]["error_code"] == "MUT_109"
    assert bundle["eboekhouden_answer"]["reason"] == "MUT_109 Invalid VAT code (key ***)"
    assert bundle["shop"]["addresses"][0]["vat_number"] == "NL004495445B01" and bundle["shop"]["addresses"][0]["company"] == "Tea BV"
    assert bundle["versions"]["apache-airflow"] and bundle["versions"]["airflow-provider-prestashop-eboekhouden"]
    assert bundle["connections"][f"prestashop_{TENANT}"]["host"] == "http://127.0.0.1:9"  # user and password dropped from the URL
    assert bundle["tenant_file"]["tenant"] == TENANT


def test_the_problem_report_of_an_unreachable_shop_names_no_secret_either(client, auth, shop):
    text = client.get(f"{API}/problem/credit/701.json", headers=auth).text
    bundle = json.loads(text)
    assert bundle["shop"]["error"].startswith("The shop could not be read just now")
    assert CANARY_KEY not in text and CANARY_TOKEN not in text and CANARY_CODE not in text
    assert bundle["item"]["slip_id"] == 701 and bundle["item"]["amount_incl"] == "-12.10"


def test_the_problem_report_is_mailed_to_the_support_address(client, auth, shop, monkeypatch):
    import socket
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    from prestashop_eboekhouden.ui import problem_report

    monkeypatch.setattr(problem_report, "_from_shop", lambda config, kind, row: {"order": {"id": row["order_id"], "note": CANARY_KEY}})
    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
            received.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_TEST25", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                                                               "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@shop.example"}}))  # fmt: skip
    try:
        answer = client.post(f"{API}/problem/order/7/mail", json={}, headers=auth)
    finally:
        controller.stop()
    assert answer.status_code == 200, answer.text
    assert answer.json()["sent_to"] == ["support@integrator.example"]
    ((to, message),) = received
    assert to == ["support@integrator.example"] and message["Subject"] == "[shop25] Problem report: order 7 (MUT_109)"
    attachment = next(p for p in message.walk() if p.get_filename() == "problem-shop25-order-7.json")
    data = attachment.get_payload(decode=True).decode()
    assert '"order_id": 7' in data and CANARY_KEY not in data and CANARY_KEY not in message.as_string()
    assert client.post("/bookkeeping/api/tenants/demo/problem/order/1/mail", json={}, headers=auth).status_code in (404, 409)


def locked_error(path: Path):
    """The error SQLAlchemy raises while another connection holds SQLite's write lock (made for real, not written)."""
    import sqlite3

    import sqlalchemy as sa

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        with sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0}).begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    except sa.exc.OperationalError as exc:
        return exc
    finally:
        holder.rollback() if holder.in_transaction else None
        holder.close()
    raise AssertionError("the second writer was not refused")


def test_a_locked_database_is_a_503_that_says_to_try_again_not_a_500(client, auth, shop, tmp_path, monkeypatch):
    """While a backfill writes to the demo's SQLite, an action may find the database locked: the answer says to try
    again (API: 503 with Retry-After; page: the problem page), instead of an Internal Server Error."""
    from prestashop_eboekhouden.store_worked_off import WorkedOff
    from prestashop_eboekhouden.ui.queries import DashboardQueries

    error = locked_error(tmp_path / "busy.db")
    assert "database is locked" in str(error)

    def busy(*args, **kwargs):
        raise error

    monkeypatch.setattr(WorkedOff, "resolve", busy)
    answer = client.post(f"{API}/resolve", json={"kind": "order", "ids": [3], "resolution": "dismissed"}, headers=auth)
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
    assert answer.json()["detail"] == "The database is busy: a run is writing to it. Try again in a few seconds (a run this started shows in the run list)."
    assert shop.get_orders(TENANT, [3])[3]["state"] == ERROR
    monkeypatch.setattr(DashboardQueries, "entries_counts", busy)
    page = client.get(PAGE, headers=auth)
    assert page.status_code == 503 and "The database is busy" in page.text

    def broken(*args, **kwargs):  # another database error stays an error (logged, 500): it is not a lock
        raise type(error)("SELECT 1", {}, Exception("no such table: presta_eb_orders"))

    monkeypatch.setattr(DashboardQueries, "entries_counts", broken)
    from fastapi.testclient import TestClient

    with TestClient(client.app, raise_server_exceptions=False) as plain_client:
        assert plain_client.get(PAGE, headers=auth).status_code == 500
