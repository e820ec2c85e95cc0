"""E-mail about new Errors and failed runs, through Airflow's notifier mechanism (the SMTP provider).

The report task of each DAG carries a :class:`BookkeepingNotifier` as on_success_callback and
on_failure_callback when the tenant file has a ``notify`` section. It names the orders that went to
Errors (order, reference, amount, reason, what to do) and links to the dashboard's Errors tab and to
the run. With ``digest: daily`` the per-run e-mails about Errors stop, and the nightly run sends
one digest of the last 24 hours instead; failures are always sent at once.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Context

from prestashop_eboekhouden.config import NotifySettings, TenantConfig, get_tenant
from prestashop_eboekhouden.ui.hints import fix_hint

log = logging.getLogger(__name__)
MAX_LISTED = 100


def dashboard_base(settings: NotifySettings) -> str:
    """Where the Airflow UI is, for links: the tenant's dashboard_url, else Airflow's [api] base_url."""
    if settings.dashboard_url:
        return settings.dashboard_url.rstrip("/")
    try:
        from airflow.configuration import conf

        return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")
    except Exception:  # noqa: BLE001 - a link is not worth failing the e-mail
        return "http://localhost:8080"


def errors_url(base: str, tenant: str) -> str:
    """The dashboard's Errors tab of a tenant."""
    return f"{base}/bookkeeping/tenants/{tenant}?tab=error"


def compose(
    tenant: str, errors: Sequence[dict], *, base: str, dag_id: str, run_id: str, failure: str | None = None, digest: bool = False
) -> tuple[str, str]:
    """Subject and HTML body of one notification (pure: tested with exact rows)."""
    count = len(errors)
    if failure is not None:
        subject = f"[{tenant}] Bookkeeping run failed: {dag_id}" + (f" ({count} order{'s' if count != 1 else ''} to Errors)" if count else "")
    elif digest:
        subject = f"[{tenant}] {count} order{'s' if count != 1 else ''} went to Errors in the last 24 hours"
    else:
        subject = f"[{tenant}] {count} order{'s' if count != 1 else ''} to Errors in run {run_id}"
    esc = html.escape
    parts = [f"<p>Webshop <b>{esc(tenant)}</b>, run <a href=\"{esc(base)}/dags/{esc(dag_id)}/runs/{esc(run_id)}\">{esc(dag_id)} / {esc(run_id)}</a>.</p>"]
    if failure is not None:
        parts.append(f"<p><b>The run failed:</b> {esc(failure[:1000])}</p>")
    if errors:
        head = "<tr><th>Order</th><th>Reference</th><th>Amount</th><th>Code</th><th>Reason</th><th>Attempts</th><th>What to do</th></tr>"
        rows = []
        for e in list(errors)[:MAX_LISTED]:
            amount = e.get("amount_incl")
            rows.append(
                "<tr>" + "".join(
                    f"<td>{esc(str(v))}</td>"
                    for v in (
                        e.get("order_id"), e.get("reference") or "", f"{amount:.2f}" if amount is not None else "", e.get("error_code") or "",
                        e.get("reason") or "", e.get("attempts") or 0, fix_hint(e.get("error_code"), e.get("reason")),
                    )
                ) + "</tr>"
            )
        more = f"<p>… and {count - MAX_LISTED} more.</p>" if count > MAX_LISTED else ""
        parts.append(f"<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">{head}{''.join(rows)}</table>{more}")
    parts.append(f"<p><a href=\"{esc(errors_url(base, tenant))}\">Open the Errors tab</a> to fix them and Process them again.</p>")
    return subject, "\n".join(parts)


class BookkeepingNotifier(SmtpNotifier):
    """Sends the tenant's Errors (or a failure) by e-mail after a run's report task."""

    def __init__(self, *, tenant: str, kind: str = "orders", on_failure: bool = False, digest_run: bool = False, **kwargs: Any):
        super().__init__(to=[], **kwargs)
        self.tenant, self.kind, self.on_failure, self.digest_run = tenant, kind, on_failure, digest_run

    def message(self, context: Context, config: TenantConfig) -> tuple[str, str] | None:
        """What to send for this run, or None when there is nothing to say."""
        from prestashop_eboekhouden.store import get_store, utcnow

        settings = config.notify
        if settings is None or self.kind != "orders":
            return None
        store = get_store()
        run_id, dag_id = context["run_id"], context["ti"].dag_id
        base = dashboard_base(settings)
        if self.on_failure:
            if "failure" not in settings.on:
                return None
            failure = str(context.get("exception") or context.get("reason") or "a task failed")
            return compose(config.tenant, store.run_errors(config.tenant, run_id), base=base, dag_id=dag_id, run_id=run_id, failure=failure)
        if "errors" not in settings.on:
            return None
        if settings.digest == "daily":
            if not self.digest_run:
                return None
            errors = store.errors_since(config.tenant, utcnow() - dt.timedelta(hours=24))
            return compose(config.tenant, errors, base=base, dag_id=dag_id, run_id=run_id, digest=True) if errors else None
        errors = store.run_errors(config.tenant, run_id)
        return compose(config.tenant, errors, base=base, dag_id=dag_id, run_id=run_id) if errors else None

    def notify(self, context: Context) -> None:
        """Send the e-mail; a failure to send is logged, never fails the run."""
        try:
            config = get_tenant(self.tenant)
            found = self.message(context, config)
            if found is None:
                return
            assert config.notify is not None
            self.subject, self.html_content = found
            self.to = list(config.notify.email)
            self.smtp_conn_id = config.notify.smtp_conn_id
            self.from_email = config.notify.from_email or self.from_email
            self.__dict__.pop("hook", None)  # the connection id may have changed
            super().notify(context)
            log.info("Sent '%s' to %s", self.subject, ", ".join(self.to))
        except Exception:  # noqa: BLE001 - the bookkeeping is done; a lost e-mail must not fail it
            log.exception("Could not send the notification for %s", self.tenant)


def report_callbacks(config: TenantConfig, kind: str, digest_run: bool = False) -> dict[str, list]:
    """on_success_callback / on_failure_callback for a report task (none without a notify section; the
    reconciliation's: notify_reconcile.reconcile_callbacks)."""
    if config.notify is None or kind != "orders":
        return {}
    return {
        "on_success_callback": [BookkeepingNotifier(tenant=config.tenant, kind=kind, digest_run=digest_run)],
        "on_failure_callback": [BookkeepingNotifier(tenant=config.tenant, kind=kind, on_failure=True, digest_run=digest_run)],
    }
