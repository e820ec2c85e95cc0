"""The operator that books credit slips (refunds) as credit sales: thin wiring of hook → pipeline → store."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from prestashop_eboekhouden.assets import CREDITS, booked_count, emit_if_booked, origin
from prestashop_eboekhouden.operators.tasks import TenantOperator, order_ids_param, shop_window


class BookCreditsOperator(TenantOperator):
    """Credit slips of the run's hour (``mode="window"``) or every waiting slip (``mode="recheck"``): check, then book.

    Runs after the orders are booked, so a slip whose order was booked in the same run is booked too; slips whose
    order is not booked wait in Open, those whose order was refused go to Errors. Fails (and is retried) when some
    could not be booked for a transient reason; a retry books only what is not booked yet.
    """

    ui_color = "#fdf2e8"
    reads_its_own_window = True  # an hour without changed orders may still have slips: extract_orders looks before it skips this task

    def __init__(self, *, mode: str = "window", **kwargs: Any):
        super().__init__(**kwargs)
        if mode not in ("window", "recheck"):
            raise ValueError(f"mode must be window or recheck, not {mode!r}")
        self.mode = mode

    def execute(self, context: Context) -> dict:
        from prestashop_eboekhouden.pipeline.booking import BookingIncomplete
        from prestashop_eboekhouden.pipeline.credits import CreditBooker, check_slips, waiting_slips, window_slips

        config = self.tenant_config()
        store = self.state_store()
        shop = self.prestashop(config)
        run_id = context["run_id"]
        raws: dict[int, dict] = {}
        chosen = order_ids_param((context.get("params") or {}).get("order_ids")) if self.mode == "window" else []
        if self.mode == "recheck":
            ids = waiting_slips(config, store, decided_only=False)
        elif chosen:  # reprocessing chosen orders: their waiting slips
            ids = waiting_slips(config, store, decided_only=False, order_ids=chosen)
        else:
            since, until = shop_window(context, config)
            ids, raws = window_slips(config, shop, store, since, until, run_id)
        checked = check_slips(config, shop, store, ids, run_id, raws)
        self.log.info("Credit slips: %s; PrestaShop requests: %s", checked.counts(), dict(shop.requests_made))
        counts = checked.counts()
        self.note_lineage(shop=shop, inputs={"order_slip": checked.seen or len(ids)}, counts=counts)
        if not checked.ready:
            return counts
        eb = self.eboekhouden(config)
        try:
            outcome = CreditBooker(config, eb, store, self.owner_id(context), run_id).book(checked.ready)
        finally:
            eb.close_session()
        counts.update({f"credits_{k}": v for k, v in outcome.as_xcom().items()})
        booked = outcome.as_xcom()
        self.note_lineage(
            shop=shop, eb=eb, inputs={"order_slip": checked.seen or len(ids)}, outputs={"sales": booked_count(booked), "relations": booked["relations_created"]}, counts=counts
        )
        self.log.info("Credit slips booked: %s; e-Boekhouden requests: %s", outcome.as_xcom(), dict(eb.requests_made))
        if outcome.pending:
            raise BookingIncomplete(
                f"{len(outcome.pending)} credit slips could not be booked yet (e-Boekhouden unreachable or its answer lost); "
                f"a retry books only what is not booked: {outcome.pending[:20]}"
            )
        # the asset event of booked credit slips, only when this task booked one (assets.py)
        extra = {"tenant": self.tenant, "kind": CREDITS, "counters": booked, "slips": checked.counts(), **origin(context)}
        emit_if_booked(context, self.outlets, self.tenant, CREDITS, extra, booked_count(booked))
        return counts
