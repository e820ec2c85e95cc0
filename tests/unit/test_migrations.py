"""State store migrations (Alembic, issue 17): the baseline equals store.py's tables, stores made by earlier
versions are upgraded in place (their old dashboard indexes dropped, their rows kept), `setup migrate` is
the only thing that migrates, and a task that finds the store behind fails at once naming the command."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from prestashop_eboekhouden import migrations
from prestashop_eboekhouden.schema import BOOKED, OPEN, metadata
from prestashop_eboekhouden.setup import main as setup_main
from prestashop_eboekhouden.store import StateStore

LEGACY_INDEXES = {"ix_presta_eb_orders_state_date", "ix_presta_eb_orders_date", "ix_presta_eb_payments_state", "ix_presta_eb_payments_date"}


def legacy_metadata(relations_with_updated_at: bool = True) -> sa.MetaData:
    """The tables as version 0.1.0 created them (store.py before the dashboard's (…, date, id) indexes)."""
    meta = sa.MetaData()

    def claim() -> list[sa.Column]:
        return [
            sa.Column("state", sa.String(8), nullable=False), sa.Column("reason", sa.Text), sa.Column("error_code", sa.String(40)),
            sa.Column("eb_id", sa.BigInteger), sa.Column("intent_at", sa.DateTime), sa.Column("claim_owner", sa.String(250)),
            sa.Column("claimed_at", sa.DateTime), sa.Column("attempts", sa.Integer, nullable=False), sa.Column("first_seen", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False), sa.Column("last_try", sa.DateTime), sa.Column("booked_at", sa.DateTime),
            sa.Column("run_id", sa.String(250)),
        ]  # fmt: skip

    sa.Table(
        "presta_eb_orders", meta,
        sa.Column("tenant", sa.String(64), primary_key=True), sa.Column("order_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("reference", sa.String(64), nullable=False), sa.Column("sales_number", sa.String(64)), sa.Column("shop_status", sa.Integer),
        sa.Column("order_date", sa.Date), sa.Column("date_upd", sa.DateTime), sa.Column("amount_incl", sa.BigInteger),
        sa.Column("amount_excl", sa.BigInteger), sa.Column("eb_kind", sa.String(16)), sa.Column("eb_number", sa.String(64)),
        sa.Column("relation_code", sa.String(32)), sa.Column("relation_id", sa.BigInteger), sa.Column("payment_state", sa.String(8)),
        sa.Column("plan", sa.JSON), *claim(),
        sa.UniqueConstraint("tenant", "sales_number", name="uq_presta_eb_orders_sales_number"),
        sa.Index("ix_presta_eb_orders_state_date", "tenant", "state", "order_date"),
        sa.Index("ix_presta_eb_orders_reference", "tenant", "reference"),
        sa.Index("ix_presta_eb_orders_date", "tenant", "order_date"),
    )  # fmt: skip
    sa.Table(
        "presta_eb_payments", meta,
        sa.Column("tenant", sa.String(64), primary_key=True), sa.Column("payment_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.BigInteger, nullable=False), sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("sales_number", sa.String(64)), sa.Column("amount", sa.BigInteger), sa.Column("method", sa.String(100)),
        sa.Column("transaction_id", sa.String(100)), sa.Column("payment_date", sa.DateTime), *claim(),
        sa.Index("ix_presta_eb_payments_state", "tenant", "state", "payment_date"),
        sa.Index("ix_presta_eb_payments_order", "tenant", "order_id"),
        sa.Index("ix_presta_eb_payments_reference", "tenant", "reference"),
        sa.Index("ix_presta_eb_payments_date", "tenant", "payment_date"),
    )  # fmt: skip
    relation_columns = [
        sa.Column("tenant", sa.String(64), primary_key=True), sa.Column("email_key", sa.String(320), primary_key=True),
        sa.Column("relation_id", sa.BigInteger, nullable=False), sa.Column("code", sa.String(32), nullable=False),
        sa.Column("created_by_us", sa.Boolean, nullable=False),
    ]  # fmt: skip
    if relations_with_updated_at:
        relation_columns.append(sa.Column("updated_at", sa.DateTime, nullable=False))
    sa.Table("presta_eb_relations", meta, *relation_columns)
    sa.Table(
        "presta_eb_runs", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False), sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False), sa.Column("summary", sa.JSON, nullable=False),
        sa.Index("ix_presta_eb_runs_tenant", "tenant", "finished_at"),
    )  # fmt: skip
    return meta


def schema_diff(engine: sa.Engine) -> list:
    """What differs between the database and store.py's tables (indexes and constraints included)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrations.VERSION_TABLE, "compare_type": True})
        return compare_metadata(context, metadata)


def index_names(engine: sa.Engine) -> set[str]:
    inspector = sa.inspect(engine)
    return {i["name"] for table in inspector.get_table_names() for i in inspector.get_indexes(table)}


@pytest.fixture
def no_auto_migrate(monkeypatch):
    monkeypatch.delenv("PRESTA_EB_STATE_AUTO_MIGRATE", raising=False)


def test_the_migrations_build_exactly_the_tables_of_store_py(tmp_path, no_auto_migrate):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert setup_main(["migrate", "--url", url]) == 0
    engine = sa.create_engine(url)
    assert migrations.current(engine) == migrations.head() == "0006"
    assert schema_diff(engine) == []  # a change to store.py without a migration fails here
    StateStore(url)  # a task's check passes


def test_upgrade_from_the_schema_of_version_0_1_0_keeps_rows_and_drops_the_old_indexes(tmp_path, no_auto_migrate, capsys):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    old = legacy_metadata()
    old.create_all(engine)
    now = dt.datetime(2026, 11, 1, 10)
    with engine.begin() as conn:
        conn.execute(old.tables["presta_eb_orders"].insert(), [
            {"tenant": "acme", "order_id": 7, "reference": "XKBKNABJK", "sales_number": "XKBKNABJK", "state": BOOKED, "attempts": 1,
             "first_seen": now, "updated_at": now, "amount_incl": 12100, "amount_excl": 10000, "eb_id": 555, "order_date": dt.date(2026, 11, 1)},
            {"tenant": "acme", "order_id": 8, "reference": "QWERTYUIO", "sales_number": None, "state": OPEN, "attempts": 0, "first_seen": now,
             "updated_at": now, "amount_incl": None, "amount_excl": None, "eb_id": None, "order_date": None},
        ])  # fmt: skip
    assert LEGACY_INDEXES <= index_names(engine)
    with pytest.raises(migrations.StoreSchemaError, match=r"run `python -m prestashop_eboekhouden\.setup migrate`"):
        StateStore(url)  # a task of the new version before the deploy step: refused, nothing changed
    assert migrations.current(engine) is None and LEGACY_INDEXES <= index_names(engine)

    assert setup_main(["migrate", "--url", url]) == 0
    assert "migrated from no version to 0006" in capsys.readouterr().out
    assert not LEGACY_INDEXES & index_names(engine)
    assert {"ix_presta_eb_orders_state_date_id", "ix_presta_eb_orders_date_id", "ix_presta_eb_payments_state_date_id",
            "ix_presta_eb_payments_date_id", "ix_presta_eb_payments_sales_number"} <= index_names(engine)  # fmt: skip
    assert schema_diff(engine) == []
    store = StateStore(url)
    booked = store.get_orders("acme", [7, 8])
    assert booked[7]["state"] == BOOKED and str(booked[7]["amount_incl"]) == "121.00" and booked[7]["eb_id"] == 555
    assert booked[8]["state"] == OPEN
    assert setup_main(["migrate", "--url", url]) == 0  # again: nothing to do
    assert "at revision 0006, nothing to do" in capsys.readouterr().out


def test_upgrade_adds_columns_an_older_store_lacks(tmp_path, no_auto_migrate):
    url = f"sqlite:///{tmp_path / 'older.db'}"
    engine = sa.create_engine(url)
    legacy_metadata(relations_with_updated_at=False).create_all(engine)
    migrations.upgrade(engine)
    assert "updated_at" in {c["name"] for c in sa.inspect(engine).get_columns("presta_eb_relations")}
    StateStore(url).remember_relation("acme", "anna@example.nl", 12, "ANNA", created=True)


def test_a_task_fails_at_once_on_a_store_behind_the_code(tmp_path, no_auto_migrate, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from prestashop_eboekhouden.operators.tasks import TenantOperator

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    migrations.upgrade(sa.create_engine(url), "0001")  # deployed before credit slips (0002) came
    monkeypatch.setenv("PRESTA_EB_STATE_DB", url)
    with pytest.raises(AirflowFailException, match=r"at revision 0001, behind this code \(needs 0006\): run `python -m prestashop_eboekhouden\.setup migrate`"):
        TenantOperator.state_store()


def test_a_store_made_by_a_newer_version_is_refused(tmp_path, no_auto_migrate):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    engine = sa.create_engine(url)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '0099'"))
    with pytest.raises(migrations.StoreSchemaError, match="made by a newer version"):
        StateStore(url)


def test_an_empty_database_is_refused_until_migrated_and_auto_migrate_is_for_tests_only(tmp_path, no_auto_migrate, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(migrations.StoreSchemaError, match="has no schema version"):
        StateStore(url)
    assert sa.inspect(sa.create_engine(url)).get_table_names() == []  # the check created nothing
    monkeypatch.setenv("PRESTA_EB_STATE_AUTO_MIGRATE", "1")
    StateStore(url)
    assert migrations.current(sa.create_engine(url)) == migrations.head()


def test_the_store_shares_a_database_with_airflow_without_touching_its_alembic_version(tmp_path, no_auto_migrate):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('airflow-rev')"))
    migrations.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "airflow-rev"
    assert migrations.current(engine) == "0006"
