"""VIES beside the order in the dashboard: the VAT number an ICP order was checked under and what VIES said of it.

Each order row of the JSON API (Report, Errors, Open, and a run's orders) carries two keys, None for orders that
were not checked (not ICP, credit slips, ``vat.vies: off``):

- ``vat_number``: the number VIES was asked about ("BE0428759497");
- ``vies``: ``{"status", "checked", "name", "address", "fault", "unconfirmed_since", "label", "title"}`` where status is
  ``valid``, ``not_registered``, ``invalid_input``, ``blocked`` (VAT_BLOCKED) or ``unconfirmed`` (VIES has not
  answered yet, or could not be asked again once its verdict expired: ``fault`` says why); ``checked`` the date of VIES's verdict; ``label``/``title`` the words the page
  shows beside the reference.
"""

from __future__ import annotations

from typing import Any

from prestashop_eboekhouden.domain.vies import ViesRecord, service_words


def vies_view(number: str, record: ViesRecord | None) -> dict[str, Any]:
    """The ``vies`` key of one checked order."""
    checked = record.checked_on.isoformat() if record is not None and record.answered and record.checked_on else None
    if record is None or not record.answered or record.fault:  # no verdict, or a fault since the last one (it expired)
        status = "unconfirmed"
    elif record.valid:
        status = "valid"
    elif record.answer_fault == "VAT_BLOCKED":
        status = "blocked"
    elif record.answer_fault:
        status = "invalid_input"
    else:
        status = "not_registered"
    fault = record.fault if record is not None else None
    since = record.unconfirmed_since if record is not None else None
    name = record.name if record is not None else None
    address = record.address if record is not None else None
    labels = {
        "valid": f"VIES ✓ {number}" + (f" · {name}" if name else "") + f" (checked {checked})",
        "not_registered": f"VIES ✗ {number} not registered (checked {checked})",
        "invalid_input": f"VIES ✗ {number} refused as invalid input (checked {checked})",
        "blocked": f"VIES: no answer for {number} (VAT_BLOCKED, checked {checked})",
        "unconfirmed": f"VIES: {number} not confirmed yet" + (f" ({service_words(fault, number)})" if fault else "")
        + (f"; last verdict {'valid' if record.valid else 'not valid'} on {checked}" if checked and record is not None else ""),
    }
    title = " · ".join(part for part in (name, address) if part) or number
    return {
        "status": status, "checked": checked, "name": name, "address": address, "fault": fault,
        "unconfirmed_since": since.isoformat() if since else None, "label": labels[status], "title": title,
    }  # fmt: skip


def with_vies(store: Any, tenant: str, rows: list[dict]) -> list[dict]:
    """Fill ``vat_number`` and ``vies`` of the order rows that VIES checked (one query for the page)."""
    from prestashop_eboekhouden.store_vies import ViesStore

    ids = [row["order_id"] for row in rows if row.get("kind", "order") == "order" and row.get("order_id") is not None]
    if not ids:
        return rows
    checked = ViesStore.of(store).records_of_orders(tenant, ids)
    for row in rows:
        if row.get("kind", "order") == "order" and row.get("order_id") in checked:
            number, record = checked[row["order_id"]]
            row["vat_number"], row["vies"] = number, vies_view(number, record)
    return rows
