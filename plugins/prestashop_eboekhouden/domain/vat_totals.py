"""Totals side by side — the shop, what we booked, e-Boekhouden — per VAT regime and VAT code, and a period's VAT summary
(the Dutch VAT return's lines and OSS per member state) the bookkeeper can hold against e-Boekhouden's VAT return.

Pure: lines in, tables out. The aggregation is pandas over whole cents (int64: exact, no float touches an amount); the
amounts come back as Decimal strings.

A line is one side's view of one row of one document: ``(side, doc, regime, country, vat_code, rate, incl, excl, vat)``.
The shop's VAT is the shop's own (incl − excl of its lines); what we booked is what we sent (amounts incl VAT) with the VAT
e-Boekhouden computes from it; e-Boekhouden's is what it holds. So shop vs booked shows the known cent differences of the
shop's VAT per line (README "Rows per order line"), and booked vs e-Boekhouden only what changed there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prestashop_eboekhouden.config import VAT_OSS
from prestashop_eboekhouden.domain.money import ZERO
from prestashop_eboekhouden.domain.payloads import VAT_CODE_RATES, vat_split

if TYPE_CHECKING:
    import pandas as pd

SHOP, BOOKED, BOOKS = "shop", "booked", "books"
SIDES = (SHOP, BOOKED, BOOKS)
NO_BREAKDOWN = "no breakdown"  # a document whose rows are unknown (in Errors, not read): its total only
NOT_OURS = "not ours"  # e-Boekhouden's bookings under our number pattern that we never wrote
NO_VAT = "GEEN"
# e-Boekhouden's sales VAT codes → the line of the Dutch VAT return (aangifte omzetbelasting) they are declared on
RETURN_LINES = {
    "HOOG_VERK_21": ("1a", "Supplies/services taxed at the standard rate (21%)"),
    "LAAG_VERK_9": ("1b", "Supplies/services taxed at the reduced rate (9%)"),
    "AFW_VERK": ("1c", "Supplies/services taxed at other rates"),
    "VERL_VERK": ("1e", "Supplies/services taxed at 0% or not taxed with you (reverse charge)"),
    "VERL_VERK_L9": ("1e", "Supplies/services taxed at 0% or not taxed with you (reverse charge)"),
    "BU_EU_VERK": ("3a", "Supplies to countries outside the EU"),
    "BI_EU_VERK": ("3b", "Supplies to/services in countries within the EU (ICP)"),
    "BI_EU_VERK_D": ("3b", "Supplies to/services in countries within the EU (ICP)"),
    "AFST_VERK": ("3c", "Installation/distance sales within the EU"),
    NO_VAT: ("—", "No VAT (GEEN): not in the VAT return"),
}
_VAT_TEXT = re.compile(r"^VAT (\d+(?:\.\d+)?)% ")  # the description of an OSS VAT row (domain/booking.py), for old plans


@dataclass(frozen=True)
class Line:
    """One side's view of one row of one document."""

    side: str
    doc: str
    regime: str
    country: str
    vat_code: str
    rate: Decimal | None
    incl: Decimal | None  # None: e-Boekhouden gave no total
    excl: Decimal | None  # None: unknown (no breakdown)
    vat: Decimal | None


def plan_lines(side: str, doc: str, plan: Mapping[str, Any], oss_ledgers: frozenset[str], *, booked: bool = False) -> list[Line]:
    """The lines of a stored plan (``BookingPlan.to_dict()``). ``booked``: VAT as e-Boekhouden computes it from the amount
    incl we sent (else the shop's own). OSS rows (net and VAT, both without e-Boekhouden VAT) become one VAT_OSS line each."""
    regime = str(plan.get("regime") or "")
    country = str(plan.get("delivery_country") or (plan.get("debtor") or {}).get("country") or "") if regime == "oss" else ""
    lines = []
    rows = list(plan.get("rows") or [])
    rates = [Decimal(str(row["vat_rate"])) if row.get("vat_rate") is not None else _rate_of(row) for row in rows]
    for index in range(len(rows)):  # an older plan's OSS net row: the rate of the VAT row that follows it
        if rates[index] is None and index + 1 < len(rows) and str(rows[index + 1].get("ledger")) in oss_ledgers:
            rates[index] = rates[index + 1]
    for row, rate in zip(rows, rates, strict=True):
        incl, excl = Decimal(str(row["amount_incl"])), Decimal(str(row["amount_excl"]))
        code = str(row["vat_code"])
        if regime == "oss" and code == NO_VAT:
            vat_row = str(row.get("ledger")) in oss_ledgers
            lines.append(Line(side, doc, regime, country, VAT_OSS, rate, incl, ZERO if vat_row else incl, incl if vat_row else ZERO))
        elif booked and code in VAT_CODE_RATES:
            excl_b, vat_b, _, _ = vat_split(incl, code)
            lines.append(Line(side, doc, regime, country, code, rate, incl, excl_b, vat_b))
        else:
            lines.append(Line(side, doc, regime, country, code, rate, incl, excl, incl - excl))
    return lines


def _rate_of(row: Mapping[str, Any]) -> Decimal | None:
    match = _VAT_TEXT.match(str(row.get("description") or ""))
    return Decimal(match.group(1)) if match else None


def books_lines(doc: str, rows: Iterable[tuple[str, str, Decimal, Decimal, Decimal]], plan: Mapping[str, Any] | None, oss_ledgers: frozenset[str]) -> list[Line]:
    """e-Boekhouden's rows of one booking (ledger, VAT code, incl, excl, VAT), under the regime of our plan for it."""
    if plan is None:
        return [Line(BOOKS, doc, NOT_OURS, "", str(code), None, incl, excl, vat) for _, code, incl, excl, vat in rows]
    regime = str(plan.get("regime") or "")
    country = str(plan.get("delivery_country") or (plan.get("debtor") or {}).get("country") or "") if regime == "oss" else ""
    lines = []
    for ledger, code, incl, excl, vat in rows:
        if regime == "oss" and code == NO_VAT:
            vat_row = str(ledger) in oss_ledgers
            lines.append(Line(BOOKS, doc, regime, country, VAT_OSS, None, incl, ZERO if vat_row else incl, incl if vat_row else ZERO))
        else:
            lines.append(Line(BOOKS, doc, regime, country, str(code), None, incl, excl, vat))
    return lines


def total_line(side: str, doc: str, incl: Decimal | None) -> Line:
    """A document whose rows are unknown: its total only."""
    return Line(side, doc, NO_BREAKDOWN, "", "—", None, incl, None, None)


def _cents(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


def _money(cents: Any) -> str | None:
    import pandas as pd

    if cents is None or pd.isna(cents):  # NA: unknown
        return None
    return f"{Decimal(int(cents)) / 100:.2f}"


def _frame(lines: Iterable[Line]) -> pd.DataFrame:
    import pandas as pd

    records = [
        (ln.side, ln.doc, ln.regime, ln.country, ln.vat_code, "" if ln.rate is None else format(ln.rate.normalize(), "f"),
         _cents(ln.incl), _cents(ln.excl), _cents(ln.vat))
        for ln in lines
    ]  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=["side", "doc", "regime", "country", "vat_code", "rate", "incl", "excl", "vat"])
    for column in ("incl", "excl", "vat"):
        frame[column] = frame[column].astype("Int64")  # whole cents, exact; NA for unknown
    return frame


def totals(lines: Iterable[Line]) -> list[dict[str, Any]]:
    """Per regime (OSS per country) and VAT code: documents, incl, excl and VAT for each side, and the differences shop −
    booked and booked − e-Boekhouden (incl); a last row with the totals. Amounts as strings (None: unknown)."""
    frame = _frame(lines)
    keys = ["regime", "country", "vat_code"]
    if frame.empty:
        return []
    grouped = frame.groupby([*keys, "side"], dropna=False).agg(
        docs=("doc", "nunique"), incl=("incl", "sum"), excl=("excl", lambda s: s.sum() if s.notna().any() else None),
        vat=("vat", lambda s: s.sum() if s.notna().any() else None),
    )
    table = grouped.unstack("side")
    out = []
    for key, row in table.iterrows():
        out.append(_row(dict(zip(keys, key, strict=True)), row))
    whole = frame.groupby("side").agg(docs=("doc", "nunique"), incl=("incl", "sum"))
    total: dict[str, Any] = {"regime": "total", "country": "", "vat_code": ""}
    for side in SIDES:
        present = side in whole.index
        total[f"{side}_docs"] = int(whole.loc[side, "docs"]) if present else 0
        total[f"{side}_incl"] = _money(whole.loc[side, "incl"]) if present else "0.00"
        total[f"{side}_excl"] = total[f"{side}_vat"] = None
    _differences(total)
    order = {"domestic": 0, "oss": 1, "icp": 2, "international": 3, NO_BREAKDOWN: 8, NOT_OURS: 9}
    out.sort(key=lambda r: (order.get(r["regime"], 5), r["country"], r["vat_code"]))
    return [*out, total]


def _row(key: dict[str, Any], row: pd.Series) -> dict[str, Any]:
    out = dict(key)
    for side in SIDES:
        docs = row.get(("docs", side))
        out[f"{side}_docs"] = 0 if docs is None or _missing(docs) else int(docs)
        for column in ("incl", "excl", "vat"):
            value = row.get((column, side))
            out[f"{side}_{column}"] = _money(value) if out[f"{side}_docs"] else ("0.00" if column == "incl" else None)
    _differences(out)
    return out


def _missing(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _differences(out: dict[str, Any]) -> None:
    shop, booked, books = (Decimal(out[f"{s}_incl"] or "0") for s in SIDES)
    out["shop_minus_booked"] = f"{shop - booked:.2f}"
    out["booked_minus_books"] = f"{booked - books:.2f}"


def vat_summary(lines: Iterable[Line]) -> dict[str, Any]:
    """The VAT return's lines (1a, 1b, …, 3b) with turnover (excl) and VAT per side, and OSS per member state (with the
    rates as booked: e-Boekhouden's rows carry none), from what we booked and what e-Boekhouden holds — the shop's part
    of the return: the administration's other bookings are not in it."""
    frame = _frame(line for line in lines if line.side in (BOOKED, BOOKS))
    if frame.empty:
        return {"return": [], "oss": []}
    frame = frame[frame["regime"] != NO_BREAKDOWN]
    frame["line"] = frame["vat_code"].map(lambda code: RETURN_LINES.get(code, ("?", ""))[0])
    returned = []
    for line, part in frame[frame["vat_code"] != VAT_OSS].groupby("line", sort=True):
        codes = sorted(set(part["vat_code"]))
        entry = {"line": line, "description": RETURN_LINES.get(codes[0], ("?", f"VAT code {codes[0]}"))[1], "vat_codes": codes}
        returned.append(entry | _sums(part))
    oss = []
    for country, part in frame[frame["vat_code"] == VAT_OSS].groupby("country", sort=True):
        booked = part[part["side"] == BOOKED]
        rates = [{"rate": rate, **_sums(by_rate, (BOOKED,))} for rate, by_rate in booked.groupby("rate", sort=True)]
        oss.append({"country": country, **_sums(part), "rates": rates})
    return {"return": returned, "oss": oss}


def _sums(part: pd.DataFrame, sides: tuple[str, ...] = (BOOKED, BOOKS)) -> dict[str, Any]:
    out = {}
    for side in sides:
        own = part[part["side"] == side]
        out[f"{side}_turnover"] = _money(own["excl"].sum()) if len(own) else "0.00"
        out[f"{side}_vat"] = _money(own["vat"].sum()) if len(own) else "0.00"
    return out
