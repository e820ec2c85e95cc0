"""One distributed stack for the whole tests/stack package (startup ~50 s on the 2-core machine):
PostgreSQL + Redis + Airflow 3 CeleryExecutor (api-server, scheduler, dag-processor, two Celery workers)
against the sandbox emulators, running in this test process's threads. See harness.py.

Each test books its own tenant's hours, on orders it creates in hours no other test reads, so the tests
share the stack without sharing orders. The teardown checks that nothing the stack started is left.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import tempfile
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pendulum
import psutil
import pytest

from .harness import REPO, Stack, StackUnavailable, leftovers, start_postgres, tenant_file

AMS = "Europe/Amsterdam"
ANCHOR = dt.datetime(2026, 11, 20, 12, 0)
# tenant → sales number prefix (all book the one emulated shop into the one emulated administration)
TENANTS = {"alpha": "A-", "beta": "B-", "gamma": "G-", "bulk": "BF-", "crash": "CR-", "race": "RC-", "lake": "LK-", "late": "LT-"}
# beyond the demo tenant: late e-mails (smtp_stack, made by tests/stack/test_native.py) when an hourly run is 30 s late
CHANGES = {
    "late": {
        "notify": {"email": ["boekhouding@late.example"], "smtp_conn_id": "smtp_stack", "from_email": "airflow@stack.example", "on": ["failure"]},
        "deadlines": {"hourly_minutes": 0.5},
    },
}
# include/examples/warehouse_load.py for the lake tenant, in a DAG bundle of its own (as a deployment would add it)
EXAMPLE_TENANT = "lake"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack_base() -> Iterator[Path]:
    """The stack's folder; at the very end (PostgreSQL stopped too), no process of the stack may be left."""
    base = Path(tempfile.mkdtemp(prefix="presta-eb-stack-"))
    yield base
    left = leftovers(base)
    described = [(proc.pid, " ".join(proc.info["cmdline"] or [])[:120]) for proc in left]
    for proc in left:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    shutil.rmtree(base, ignore_errors=True)
    assert not described, f"processes of the stack left running: {described}"


@pytest.fixture(scope="session")
def postgres(stack_base):
    """The PostgreSQL server of the stack (pytest-postgresql's executor on a free port)."""
    try:
        server = start_postgres(stack_base)
    except StackUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


class Inbox:
    """What the local SMTP server received: (recipients, message)."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_inbox() -> Iterator[Inbox]:
    """A local SMTP server (aiosmtpd) for the late tenant's notifier; the stack gets it as connection smtp_stack from
    the environment (deadline callbacks cannot read connections kept in the metadata DB in Airflow 3.3.2)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture(scope="session")
def stack(stack_base, postgres, smtp_inbox) -> Iterator[Stack]:
    """The stack, started once; stopped at the end of the session, and checked for leftovers."""
    from sandbox import SandboxServers

    sandbox = SandboxServers(seed=42, orders=0, anchor=ANCHOR).start()
    examples = stack_base / "examples"
    examples.mkdir(exist_ok=True)
    example = (REPO / "include/examples/warehouse_load.py").read_text()
    (examples / "warehouse_load.py").write_text(example.replace('TENANT = "demo"', f'TENANT = "{EXAMPLE_TENANT}"', 1))
    bundle = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles = [{"name": "dags-folder", "classpath": bundle, "kwargs": {}}, {"name": "examples", "classpath": bundle, "kwargs": {"path": str(examples)}}]
    stack = Stack(
        base=stack_base, tenants={name: tenant_file(name, prefix, **CHANGES.get(name, {})) for name, prefix in TENANTS.items()}, sandbox=sandbox,
        postgres=postgres,
        extra_env={
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            "AIRFLOW_CONN_SMTP_STACK": json.dumps(
                {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_inbox.port, "extra": {"disable_tls": True, "disable_ssl": True}}
            ),
        },
    )
    try:
        try:
            stack.start()
        except StackUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{stack_logs(stack)}") from None
        yield stack
    finally:
        stack.stop(servers=False)
        if stack.redis is not None:
            stack.redis.stop()
        sandbox.stop()


def stack_logs(stack: Stack, lines: int = 30) -> str:
    out = []
    for name, part in stack.parts.items():
        if part.log.exists():
            out.append(f"--- {name} ---\n" + "\n".join(part.log.read_text(errors="replace").splitlines()[-lines:]))
    return "\n".join(out)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(year, month, day, hour, minute, tz=AMS)


def make_orders(stack: Stack, hour: dt.datetime, count: int, tag: str, returning_every: int = 3) -> list[int]:
    """count bookable orders updated within the shop-local hour starting at `hour` (every third customer returns)."""
    ids = []
    for i in range(count):
        at = (hour + dt.timedelta(seconds=60 + i * (3400 // max(count, 1)))).strftime("%Y-%m-%d %H:%M:%S")
        who = i - i % returning_every if returning_every else i
        spec = {
            "customer": {"email": f"{tag}.{who}@example.nl", "firstname": f"Klant{who}", "lastname": tag.capitalize(), "company": ""},
            "address": {"country": "NL", "firstname": f"Klant{who}", "lastname": tag.capitalize(), "company": "", "address1": "Dorpsstraat 1",
                        "postcode": "1234 AB", "city": "Utrecht"},
            "lines": [{"name": "Earl Grey 100 g", "sku": "EARLGREY", "quantity": 1 + i % 3, "tax_rate": "21", "unit_price_incl": "6.95"},
                      {"name": "Rooibos 100 g", "sku": "ROOIBOS", "quantity": 1, "tax_rate": "9", "unit_price_incl": "5.45"}],
            "shipping_incl": "3.95", "shipping_rate": "21", "state": 2, "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie",
        }
        ids.append(int(stack.sandbox.shop.create_order(spec)["id"]))
    return ids


def assert_booked_once(stack: Stack, tenant: str, order_ids: list[int]) -> dict[int, dict]:
    """Every order Booked in the PostgreSQL store, its sales number exactly once in e-Boekhouden, amounts to the cent."""
    rows = stack.state_store().get_orders(tenant, order_ids)
    assert {oid: rows[oid]["state"] for oid in order_ids} == {oid: "booked" for oid in order_ids}
    prefix = TENANTS[tenant]
    mutations = stack.sale_mutations(prefix)
    per_number = Counter(m["invoiceNumber"] for m in mutations)
    assert [n for n, c in per_number.items() if c > 1] == [], "booked twice"
    mine = {rows[oid]["sales_number"] for oid in order_ids}
    assert mine <= set(per_number), f"in the store as booked but not in e-Boekhouden: {sorted(mine - set(per_number))}"
    by_number = {m["invoiceNumber"]: m for m in mutations}
    for oid in order_ids:
        assert by_number[rows[oid]["sales_number"]]["amount"] == rows[oid]["amount_incl"], oid
    return rows
