"""The state store's part for ``setup probe`` (issue 22, item 4): what the read-only probe saw of a tenant's shop and
administration, so the hooks and the dashboard can use it.

Its table is in ``schema.py`` (migration 0005). One table, ``presta_eb_probes``: one row per probe (the newest per tenant counts), with

- when, how many of its findings block booking, and which administration was asked (backend and base URL without
  credentials: a finding about one administration is never applied to another the connection points at later);
- ``page_cap``: the page size the e-Boekhouden server was seen to answer whole with ``limit=2000`` (its cap, or 2000;
  1 when its pages had no steady size: no short page may end a list), and ``page_cap_uniform`` (False when lists
  differ: the hooks must not carry one list's cap over to another); both None when not seen;
- ``findings`` (the table's rows) and ``learnt`` (everything measured, as JSON).

:func:`use_probe_findings` gives a booking task's e-Boekhouden hook what the last probe of its tenant learnt.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from prestashop_eboekhouden.schema import probes, utcnow

log = logging.getLogger(__name__)

KEEP = 20  # probes kept per tenant (older ones are deleted when a new one is saved)


class ProbeStore:
    """The probe table of one StateStore."""

    def __init__(self, store: Any):
        self.store = store
        self.engine = store.engine

    @classmethod
    def of(cls, store: Any) -> ProbeStore:
        """The ProbeStore of a StateStore (one per store object)."""
        found = store.__dict__.get("_probe_store")
        if found is None:
            found = store.__dict__["_probe_store"] = cls(store)
        return found

    def save(self, tenant: str, *, findings: list[dict], learnt: dict, blocking: int, api: str | None, url: str | None,
             page_cap: int | None, page_cap_uniform: bool | None, probed_at: Any = None) -> int:  # fmt: skip
        """Keep one probe; the tenant's oldest are dropped beyond KEEP. Returns the new row's id."""
        with self.store.begin() as conn:
            new_id = conn.execute(
                probes.insert().values(
                    tenant=tenant, probed_at=probed_at or utcnow(), blocking=blocking, eboekhouden_api=api, eboekhouden_url=(url or "")[:500] or None,
                    page_cap=page_cap, page_cap_uniform=page_cap_uniform, findings=findings, learnt=learnt,
                )
            ).inserted_primary_key[0]  # fmt: skip
            kept = select(probes.c.id).where(probes.c.tenant == tenant).order_by(probes.c.probed_at.desc(), probes.c.id.desc()).limit(KEEP)
            conn.execute(probes.delete().where(probes.c.tenant == tenant, probes.c.id.not_in(kept.scalar_subquery())))
        return int(new_id)

    def last(self, tenant: str) -> dict | None:
        """The tenant's newest probe as a dict (None when it was never probed)."""
        stmt = select(probes).where(probes.c.tenant == tenant).order_by(probes.c.probed_at.desc(), probes.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return dict(row) if row is not None else None


def administration_of(hook: Any) -> tuple[str, str]:
    """(backend, base URL without credentials) of an e-Boekhouden hook's connection, as the probe stores them."""
    from prestashop_eboekhouden.hooks.base import redact_url

    hook.session()  # reads the connection (HttpHook sets base_url); no request is sent
    api = "soap" if type(hook).__name__.endswith("SoapHook") else "rest"
    return api, redact_url(hook.base_url or "")


def use_probe_findings(hook: Any, tenant: str, store: Any = None) -> bool:
    """Give an e-Boekhouden hook the page size the tenant's last probe saw, when that probe asked the administration
    this hook's connection points at. True when something was applied. Best effort: without a probe (or a store
    that cannot be read) the hook keeps its own rules, which never need one."""
    apply = getattr(hook, "use_probed_page_cap", None)
    if apply is None:  # a backend without paging (the legacy SOAP API answers whole lists)
        return False
    try:
        if store is None:
            from prestashop_eboekhouden.store import get_store

            store = get_store()
        last = ProbeStore.of(store).last(tenant)
        if last is None or last["page_cap"] is None:
            return False
        if (last["eboekhouden_api"], last["eboekhouden_url"]) != administration_of(hook):
            log.info("The last probe of %s asked another administration than connection %s points at now: its findings are not used", tenant, hook.conn_id)
            return False
    except Exception as exc:  # noqa: BLE001 - a finding is an optimisation and a safety net, never a reason to fail a task
        log.warning("Could not read the last probe of %s (%s): the hooks use their own paging rules", tenant, exc)
        return False
    apply(int(last["page_cap"]), last["page_cap_uniform"] is not False)
    return True
