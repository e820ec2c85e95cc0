"""What a bookkeeper does with an Error, and what the dashboard needs to say it in words.

- **Worked off**: an order, credit slip or payment in Errors marked "booked by hand" or "dismissed", with who, when
  and a note. Its state becomes ``resolved`` (final, like ``booked``): kept and listed ("Worked off" in the Errors
  tab), never deleted, and never booked by the integration — every claim, plan and state change skips final rows.
- **Status names**: the shop's order statuses by id, as the last run read them.
- **Facts of credit slips**: the amount the shop refunded, for a slip that is not planned (in Errors or waiting).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from sqlalchemy import Table, and_, bindparam, or_, select, update

from prestashop_eboekhouden.schema import (
    ERROR,
    KEYS,
    RESOLUTIONS,
    RESOLVED,
    credits,
    orders,
    payments,
    shop_statuses,
    utcnow,
)
from prestashop_eboekhouden.store_base import DEFAULT_LEASE, StoreBase, insert_new

WORKED_OFF_TABLES: dict[str, Table] = {"order": orders, "credit": credits, "payment": payments}


class WorkedOff(StoreBase):
    """Errors worked off by a bookkeeper, the shop's status names, and the facts of unplanned credit slips."""

    def resolve(self, tenant: str, kind: str, keys: Iterable[int], resolution: str, by: str, note: str = "") -> list[int]:
        """Mark Errors as worked off ("by_hand" or "dismissed"); returns the keys that were changed.

        Only rows in Errors that no task holds right now are changed (a booking in progress wins: the bookkeeper sees
        the row booked and nothing happens)."""
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}, not {resolution!r}")
        table = WORKED_OFF_TABLES[kind]
        key = table.c[KEYS[table.name]]
        now = utcnow()
        wanted = list(dict.fromkeys(int(k) for k in keys))
        changed: list[int] = []
        with self.begin() as conn:
            for k in wanted:
                free = or_(table.c.claim_owner.is_(None), table.c.claimed_at < now - DEFAULT_LEASE)
                stmt = (
                    update(table)
                    .where(and_(table.c.tenant == tenant, key == k, table.c.state == ERROR, free))
                    .values(
                        state=RESOLVED, resolution=resolution, resolved_by=by[:250], resolved_at=now,
                        resolution_note=(note or "").strip()[:2000] or None, updated_at=now,
                    )
                )
                if conn.execute(stmt).rowcount == 1:
                    changed.append(k)
        return changed

    # ---- the shop's status names --------------------------------------------------------------------------

    def remember_statuses(self, tenant: str, names: Mapping[int, str]) -> None:
        """The shop's order status names by id (what a run read from the shop)."""
        if not names:
            return
        now = utcnow()
        known = self.status_names(tenant)
        fresh = [{"tenant": tenant, "status_id": int(i), "name": str(n)[:200], "updated_at": now} for i, n in names.items() if int(i) not in known]
        changed = [{"b_id": int(i), "name": str(n)[:200]} for i, n in names.items() if int(i) in known and known[int(i)] != str(n)[:200]]
        with self.begin() as conn:
            insert_new(conn, shop_statuses, fresh)
            if changed:
                conn.execute(
                    update(shop_statuses)
                    .where(shop_statuses.c.tenant == tenant, shop_statuses.c.status_id == bindparam("b_id"))
                    .values(name=bindparam("name"), updated_at=now),
                    changed,
                )

    def status_names(self, tenant: str) -> dict[int, str]:
        """The shop's order status names by id, as the last run read them."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(shop_statuses.c.status_id, shop_statuses.c.name).where(shop_statuses.c.tenant == tenant))
            return {int(r.status_id): r.name for r in rows}

    # ---- credit slips not planned -------------------------------------------------------------------------

    def set_credit_amounts(self, tenant: str, amounts: Mapping[int, Decimal | None]) -> None:
        """The amount a slip refunded as the shop states it (negative: a credit), for slips that are not final."""
        self._set_facts(credits, tenant, {k: {"amount_incl": v} for k, v in amounts.items() if v is not None})
