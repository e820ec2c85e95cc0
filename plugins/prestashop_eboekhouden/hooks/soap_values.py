"""Values of the legacy SOAP API that the hook and the reconciliation's reads share: mutation kinds (Soort), the
date window of a lookup, and the shapes of its arrays and dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prestashop_eboekhouden.contract.eboekhouden import MutationType

SOORTEN = {
    MutationType.INVOICE_RECEIVED: "FactuurOntvangen", MutationType.INVOICE_SENT: "FactuurVerstuurd",
    MutationType.PAYMENT_RECEIVED: "FactuurbetalingOntvangen", MutationType.PAYMENT_SENT: "FactuurbetalingVerstuurd",
    MutationType.MONEY_RECEIVED: "GeldOntvangen", MutationType.MONEY_SENT: "GeldUitgegeven", MutationType.MEMORIAL: "Memoriaal",
}  # fmt: skip
SOORT_TYPES = {name: int(kind) for kind, name in SOORTEN.items()}
# GetMutaties / GetFacturen need both dates. Real clients never ask outside 1980–2049; we ask much less: around the
# order's date when we know it (a year either side: a bookkeeper may re-date a sale, a nearby number may clash), else
# the last ten years up to a year ahead.
DATE_BOUNDS = (dt.date(1980, 1, 1), dt.date(2049, 12, 31))
LOOKUP_MARGIN = dt.timedelta(days=366)
LOOKUP_BACK = dt.timedelta(days=3653)  # ten years


def lookup_window(around: dt.date | str | None = None, today: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """DatumVan / DatumTm for an "already booked?" lookup: around the order date, inside real clients' 1980–2049."""
    today = today or dt.date.today()
    if around is None:
        low, high = today - LOOKUP_BACK, today + LOOKUP_MARGIN
    else:
        day = dt.date.fromisoformat(around[:10]) if isinstance(around, str) else around
        low, high = day - LOOKUP_MARGIN, max(day, today) + LOOKUP_MARGIN
    return at(max(low, DATE_BOUNDS[0])), at(min(high, DATE_BOUNDS[1]))


def items(data: dict | None, array: str, item: str) -> list[dict]:
    """The items of a SOAP array field (absent or empty arrays are empty lists)."""
    holder = (data or {}).get(array) or {}
    return [entry for entry in (holder.get(item) or []) if entry is not None]


def day(value: Any) -> str:
    """A SOAP dateTime as YYYY-MM-DD."""
    return value.date().isoformat() if isinstance(value, dt.datetime) else str(value or "")[:10]


def at(day: str | dt.date) -> dt.datetime:
    """YYYY-MM-DD as the midnight dateTime the SOAP API wants."""
    date = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime.combine(date, dt.time())
