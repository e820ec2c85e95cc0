"""The dashboard a bookkeeper works from, inside the real Airflow API server: links that leave the frame,
totals and CSV, Errors with amount / hint / attempts / customer search, filter-following counts, friendly
pages and 422s instead of 500s, in-doubt and cancelled orders, and the abuse limits."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest

from prestashop_eboekhouden.store import get_store

from .conftest import bearer

TENANT = "demo_legacy"  # its own rows: the other UI module counts the demo tenant's
API = f"/bookkeeping/api/tenants/{TENANT}"
PAGE = f"/bookkeeping/tenants/{TENANT}"
D = dt.date


@pytest.fixture(scope="module")
def shop():
    """60 booked orders (two amounts), 12 in Errors (with customer and amount), 8 open: 2 cancelled, 1 in doubt."""
    store = get_store()
    seen = [
        {"order_id": i, "reference": ("A_B%" if i == 7 else "AXBY" if i == 8 else f"LEG{i:05d}"), "shop_status": 6 if i in (75, 76) else 2,
         "date_upd": dt.datetime(2026, 11, 1 + i % 20, 10), "order_date": D(2026, 11, 1 + i % 20)}
        for i in range(1, 81)
    ]
    store.record_seen(TENANT, seen, "seed")
    plans = [{"order_id": i, "sales_number": f"LEGACY-{i:05d}", "total_incl": "121.00" if i % 2 else "12.10", "total_excl": "100.00" if i % 2 else "10.00", "rows": []} for i in range(1, 61)]
    store.save_plans(TENANT, plans, "seed")
    for i in range(1, 61):
        store.order_claims.claim(TENANT, i, "seed")
        store.order_claims.booked(TENANT, i, "seed", "scheduled__2026-11-20T10:00:00+00:00", eb_kind="mutation", eb_id=5000 + i, eb_number=f"LEGACY-{i:05d}", relation_code="Jansen")
    store.record_run(TENANT, f"{TENANT}__orders_hourly", "scheduled__2026-11-20T10:00:00+00:00", {"states": {}, "note": "60 booked"})
    errors = list(range(61, 73))
    store.set_order_facts(TENANT, {i: {"amount_incl": Decimal("48.40"), "customer_name": "Klaartje Pietersen" if i == 61 else "Jan de Vries", "customer_email": "klaartje@example.nl" if i == 61 else "jan@example.nl"} for i in errors})
    store.set_errors(TENANT, {i: ("No VAT mapping for 9% on line 1 'Rooibos'", "CONFIG") for i in errors[:6]}, "run-1")
    store.set_errors(TENANT, {i: ("MUT_109 Invalid VAT code", "MUT_109") for i in errors[6:]}, "run-1")
    store.set_errors(TENANT, {61: ("No VAT mapping for 9% on line 1 'Rooibos'", "CONFIG")}, "run-2")  # refused twice
    store.set_open(TENANT, range(73, 81), "Waiting for a status to book (now: Awaiting bank wire payment)", "seed")
    store.set_open(TENANT, [75, 76], "Waiting for a status to book (now: Canceled)", "seed")
    store.save_plans(TENANT, [{"order_id": 80, "sales_number": "LEGACY-00080", "total_incl": "10.00", "total_excl": "10.00", "rows": []}], "seed")
    store.order_claims.claim(TENANT, 80, "crashed")
    store.order_claims.record_intent(TENANT, 80, "crashed")
    store.order_claims.release(TENANT, 80, "crashed")
    return store


@pytest.fixture(scope="module")
def auth(tokens):
    return bearer(tokens["clerk"])


def test_bookkeeping_without_slash_goes_to_the_dashboard(client, auth):
    answer = client.get("/bookkeeping", headers=auth, follow_redirects=False)
    assert answer.status_code == 308 and answer.headers["location"] == "/bookkeeping/"


def test_links_to_airflow_leave_the_frame(client, auth, shop):
    for tab in ("booked", "error", "config"):
        page = client.get(PAGE, params={"tab": tab}, headers=auth).text
        airflow_links = [part.split(">", 1)[0] for part in page.split("<a ")[1:] if 'href="/' in part.split(">", 1)[0] and 'href="/bookkeeping' not in part.split(">", 1)[0]]
        assert airflow_links, tab
        assert all('target="_top"' in link for link in airflow_links), airflow_links


def test_report_totals_and_a_link_to_the_run_that_booked_it(client, auth, shop):
    data = client.get(f"{API}/orders", params={"state": "booked", "limit": 5}, headers=auth).json()
    assert data["totals"] == {"count": 60, "amount_incl": "3993.00", "amount_excl": "3300.00", "amount_vat": "693.00"}  # 30 × 121.00 + 30 × 12.10
    period = client.get(f"{API}/orders", params={"state": "booked", "since": "2026-11-05", "until": "2026-11-05"}, headers=auth).json()
    assert period["totals"]["count"] == period["total"] == 3
    assert Decimal(period["totals"]["amount_incl"]) == sum(Decimal(r["amount_incl"]) for r in period["rows"])
    page = client.get(PAGE, headers=auth).text
    assert 'data-total="amount_incl">3993.00<' in page and 'data-total="amount_vat">693.00<' in page
    assert f'href="/dags/{TENANT}__orders_hourly/runs/scheduled__2026-11-20T10:00:00+00:00" target="_top"' in page


def test_csv_export_of_a_tab_with_its_filters(client, auth, shop):
    answer = client.get(f"{API}/export.csv", params={"tab": "booked"}, headers=auth)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="demo_legacy-report.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 60 and {r["state"] for r in rows} == {"booked"}
    assert sum(Decimal(r["amount_incl"]) for r in rows) == Decimal("3993.00")
    errors = list(csv.DictReader(io.StringIO(client.get(f"{API}/export.csv", params={"tab": "error", "q": "jan@example.nl"}, headers=auth).text)))
    assert len(errors) == 11 and errors[0]["hint"] and errors[0]["amount_incl"] == "48.40"
    assert client.get(f"{API}/export.csv", params={"tab": "config"}, headers=auth).status_code == 422


def test_errors_show_amount_hint_real_attempts_and_search_by_customer(client, auth, shop):
    rows = {r["order_id"]: r for r in client.get(f"{API}/orders", params={"state": "error", "limit": 50}, headers=auth).json()["rows"]}
    assert len(rows) == 12
    assert rows[61]["amount_incl"] == "48.40" and rows[61]["attempts"] == 2 and rows[62]["attempts"] == 1
    assert rows[61]["hint"].startswith('Add vat.rates."9" to the tenant file ') and rows[61]["hint"].split("\n")[0].endswith("demo_legacy.yaml:")
    assert '"9": {vat_code: LAAG_VERK_9, revenue_ledger: "<revenue ledger>"}' in rows[61]["hint"]
    assert rows[70]["hint"].startswith("e-Boekhouden MUT_109: Invalid VAT code.")
    by_name = client.get(f"{API}/orders", params={"state": "error", "q": "pietersen"}, headers=auth).json()
    assert [r["order_id"] for r in by_name["rows"]] == [61] and by_name["rows"][0]["customer_name"] == "Klaartje Pietersen"
    by_mail = client.get(f"{API}/orders", params={"q": "Klaartje@Example.nl"}, headers=auth).json()
    assert [r["order_id"] for r in by_mail["rows"]] == [61]
    assert "customer_email" not in by_mail["rows"][0]  # searched, never shown
    page = client.get(PAGE, params={"tab": "error"}, headers=auth).text
    assert "48.40" in page and "Klaartje Pietersen" in page and "Check the vat_code values" in page


def test_percent_and_underscore_are_literal_in_searches(client, auth, shop):
    assert [r["order_id"] for r in client.get(f"{API}/orders", params={"q": "A_B"}, headers=auth).json()["rows"]] == [7]
    assert [r["order_id"] for r in client.get(f"{API}/orders", params={"q": "A_B%"}, headers=auth).json()["rows"]] == [7]
    assert client.get(f"{API}/orders", params={"q": "%"}, headers=auth).json()["total"] == 0


def test_tab_counts_follow_the_filter(client, auth, shop):
    everything = client.get(f"{API}/orders", headers=auth).json()["counts"]
    assert everything == {"open": 8, "booked": 60, "error": 12, "resolved": 0}
    one_day = client.get(f"{API}/orders", params={"since": "2026-11-05", "until": "2026-11-05"}, headers=auth).json()["counts"]
    assert one_day == {"open": 0, "booked": 3, "error": 1, "resolved": 0}
    page = client.get(PAGE, params={"tab": "error", "q": "jan@example.nl"}, headers=auth).text
    assert '<span class="count" title="orders, credit slips and payments matching the filter">11</span>' in page
    payments = client.get(PAGE, params={"tab": "payments"}, headers=auth).text
    assert "0 booked · 0 refused · 0 waiting" in payments and "Every day at 06:00 the payments of booked orders" in payments


def test_in_doubt_and_cancelled_open_orders_say_so(client, auth, shop):
    rows = {r["order_id"]: r for r in client.get(f"{API}/orders", params={"state": "open"}, headers=auth).json()["rows"]}
    assert rows[75]["cancelled"] and rows[75]["reason"] == "Cancelled in the shop: nothing to book"
    assert rows[80]["in_doubt"] and rows[80]["reason"].startswith("In doubt: e-Boekhouden's answer was lost at ")
    assert "looked up again before anything is sent: at the booking task's next try, at the latest by the nightly recheck at 02:00" in rows[80]["reason"]
    assert not rows[73]["cancelled"] and not rows[73]["in_doubt"]


@pytest.mark.parametrize(
    "params, status",
    [
        ({"q": "9223372036854775808"}, 200),
        ({"q": "99999999999999999999999999"}, 200),
        ({"until": "9999-12-31"}, 200),
        ({"since": "0001-01-01", "until": "9999-12-31"}, 200),
        ({"offset": "1e20"}, 422),
        ({"offset": str(10**20)}, 422),
        ({"limit": "0"}, 422),
        ({"since": "2026-02-30"}, 422),
        ({"until": "tomorrow"}, 422),
        ({"state": "lost"}, 422),
    ],
)
def test_odd_api_input_is_a_422_or_an_answer_never_a_500(client, auth, shop, params, status):
    answer = client.get(f"{API}/orders", params=params, headers=auth)
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    "path, params, status, says",
    [
        (PAGE, {"tab": "secret"}, 404, "There is no tab &#39;secret&#39;"),
        (PAGE, {"since": "31-12-2026"}, 422, "From must be a date YYYY-MM-DD"),
        (PAGE, {"until": "9999-12-31", "q": "9223372036854775808"}, 200, "Nothing here for this filter"),
        ("/bookkeeping/tenants/nope", {}, 404, "There is no webshop &#39;nope&#39;"),
        (PAGE, {"page": "abc"}, 200, "page 1 of 2"),
        (PAGE, {"page": "9223372036854775808"}, 200, "page 1 of 2"),
        (PAGE, {"page": "999"}, 200, "page 2 of 2"),
    ],
)
def test_odd_page_input_gives_a_friendly_page(client, auth, shop, path, params, status, says):
    answer = client.get(path, params=params, headers=auth)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text and "Traceback" not in answer.text


def test_pages_past_the_last_show_the_last(client, auth, shop):
    def without_nonce(page: str) -> str:  # each answer has its own Content-Security-Policy nonce
        return re.sub(r'nonce="[^"]+"', 'nonce=""', page)

    last = without_nonce(client.get(PAGE, params={"page": 2}, headers=auth).text)
    assert without_nonce(client.get(PAGE, params={"page": 50}, headers=auth).text) == last


@pytest.fixture(scope="module")
def serialized_dags(airflow_db):
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True, env=os.environ.copy())


def test_process_body_is_capped(client, auth, shop):
    assert client.post(f"{API}/reprocess", json={"order_ids": [2**63]}, headers=auth).status_code == 422
    assert client.post(f"{API}/reprocess", json={"order_ids": [0]}, headers=auth).status_code == 422
    assert client.post(f"{API}/reprocess", json={"order_ids": list(range(1, 1002))}, headers=auth).status_code == 422
    assert client.post(f"{API}/reprocess", json={"order_ids": []}, headers=auth).status_code == 422
    assert client.post(f"{API}/reprocess", content=b"{not json", headers={**auth, "Content-Type": "application/json"}).status_code == 422
    big = b'{"order_ids": [' + b" " * (65 * 1024) + b"1]}"
    assert client.post(f"{API}/reprocess", content=big, headers={**auth, "Content-Type": "application/json"}).status_code == 413


def test_a_second_process_while_one_is_queued_answers_409_with_that_run(client, auth, shop, serialized_dags):
    first = client.post(f"{API}/reprocess", json={"order_ids": [62, 63]}, headers=auth)
    assert first.status_code == 200, first.text
    run_id = first.json()["dag_run_id"]
    second = client.post(f"{API}/reprocess", json={"order_ids": [64]}, headers=auth)
    assert second.status_code == 409
    assert second.json()["detail"]["dag_run_id"] == run_id and second.json()["detail"]["order_ids"] == [62, 63]
    followed = client.get(f"{API}/runs/{run_id}", params={"order_ids": "62,63"}, headers=auth).json()
    assert followed["state"] == "queued" and [o["order_id"] for o in followed["orders"]] == [62, 63]
    assert followed["url"] == f"/dags/{TENANT}__orders_hourly/runs/{run_id}"
    assert client.get(f"{API}/runs/{run_id}", params={"order_ids": str(2**63)}, headers=auth).status_code == 422
    assert client.get(f"{API}/runs/nope", headers=auth).status_code == 404


def test_health_is_checked_at_most_once_a_minute_per_tenant():
    from types import SimpleNamespace

    from prestashop_eboekhouden.ui import app as ui

    calls, clock = [], [1000.0]

    def check(config):
        calls.append(config.tenant)
        return {"prestashop": {"ok": True, "message": "ok"}, "eboekhouden": {"ok": True, "message": "ok"}}

    shop_a, shop_b = SimpleNamespace(tenant="cache_a"), SimpleNamespace(tenant="cache_b")
    for _ in range(5):
        assert ui.cached_health(shop_a, check, now=lambda: clock[0])["prestashop"]["ok"]
    ui.cached_health(shop_b, check, now=lambda: clock[0])
    clock[0] += 30
    assert ui.cached_health(shop_a, check, now=lambda: clock[0])["checked_seconds_ago"] == 30
    assert calls == ["cache_a", "cache_b"]
    clock[0] += 31
    assert ui.cached_health(shop_a, check, now=lambda: clock[0])["checked_seconds_ago"] == 0
    assert calls == ["cache_a", "cache_b", "cache_a"]


@pytest.mark.parametrize(
    "conf, accepted",
    [
        ({"order_ids": [1041, 1042]}, True),
        ({"since": "2026-11-20T10:00:00+01:00", "until": "2026-11-20T18:00:00+01:00"}, True),
        ({"order_ids": ["1041x"]}, False),
        ({"order_ids": [0]}, False),
        ({"order_ids": [2**63]}, False),
        ({"since": "last week"}, False),
    ],
)
def test_the_trigger_api_refuses_bad_params_before_a_run_exists(client, tokens, serialized_dags, conf, accepted):
    """What the trigger form sends: Airflow checks the conf against the params' schema."""
    dag_id = f"{TENANT}__orders_hourly"
    before = client.get(f"/api/v2/dags/{dag_id}/dagRuns", headers=bearer(tokens["admin"])).json()["total_entries"]
    answer = client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf}, headers=bearer(tokens["admin"]))
    after = client.get(f"/api/v2/dags/{dag_id}/dagRuns", headers=bearer(tokens["admin"])).json()["total_entries"]
    if accepted:
        assert answer.status_code == 200, answer.text
        assert after == before + 1
    else:
        assert answer.status_code == 400, answer.text
        assert "Invalid input for param" in answer.text and after == before
