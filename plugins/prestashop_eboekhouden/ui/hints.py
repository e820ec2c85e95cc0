"""What a bookkeeper can do about an order in Errors: one fix hint per kind of error.

Pure (no Airflow, no web framework): the dashboard shows these hints, and so do the notification e-mails.
"""

from __future__ import annotations

import re

from prestashop_eboekhouden.ui.eb_codes import MEANINGS

VIES = "https://ec.europa.eu/taxation_customs/vies/"
_VAT_RATE = re.compile(r"No VAT mapping for (?P<rate>[0-9.]+)%(?: \(delivery country (?P<country>[A-Z]{2})\))?")
_EB_CODE = re.compile(r"\b(?P<code>[A-Z]{2,4}_\d{3})\b")
CANCELLED_STATUS_IDS = frozenset({6})  # PrestaShop's PS_OS_CANCELED
_CANCELLED_NAMES = ("cancel", "geannuleerd", "annul", "storn")


def fix_hint(code: str | None, reason: str | None) -> str:
    """The hint for one error (code and reason as the store keeps them)."""
    code, reason = code or "", reason or ""
    if match := _VAT_RATE.search(reason):
        rate, country = match["rate"], match["country"]
        where = f'vat.oss.{country}."{rate}" (or vat.rates."{rate}")' if country else f'vat.rates."{rate}"'
        return f"Add {where} with a vat_code and revenue_ledger to the tenant file (Configuration tab), then Process the order again."
    if "vat.icp" in reason or "vat.international" in reason:
        key = "vat.icp" if "vat.icp" in reason else "vat.international"
        return f"Add {key} (vat_code and revenue_ledger) to the tenant file (Configuration tab), then Process the order again."
    if code == "VIES_INVALID":
        return (
            f"VIES does not know this VAT number as registered. Ask the customer, or look it up in VIES ({VIES}): if it was "
            "mistyped, correct it on the customer's address in the shop and Process the order again. If the company's "
            "registration has ended, this is no ICP supply: book it with Dutch VAT by hand. To book it as ICP anyway, set "
            "vat.vies: warn in the tenant file (Configuration tab) and Process it again."
        )
    if code == "VIES_UNCONFIRMED":
        return (
            f"VIES has not confirmed this VAT number. Check it by hand in VIES ({VIES}) or with the customer's tax office; "
            "then either set vat.vies: warn in the tenant file (Configuration tab) and Process the order again (it is booked, "
            "with a note), or book it by hand in e-Boekhouden."
        )
    if reason.startswith("ICP order"):
        return f"Check the customer's VAT number in VIES ({VIES}); correct it on the order's address in the shop, then Process the order again."
    if code == "BY_HAND":
        return (
            "PrestaShop's credit slip does not say to the cent what the customer got back (see the reason): book this refund "
            "by hand in e-Boekhouden, as a credit on the order's debtor, from the credit slip PDF in the shop."
        )
    if code == "NOT_FOUND":
        return "The order no longer exists in the shop: nothing to book."
    if code == "TOO_OLD":
        return "Older than the nightly recheck looks back: book it by hand in e-Boekhouden, or migrate it with a backfill."
    if code == "MALFORMED":
        return "The shop's order data is incomplete or wrong in the field named: correct the order in PrestaShop, then Process it again."
    if code == "DUPLICATE_NUMBER" or "sales_number_prefix" in reason:
        return "Another booking in e-Boekhouden has this sales number: give this webshop its own eboekhouden.sales_number_prefix."
    eb_code = code if code in MEANINGS else (m["code"] if (m := _EB_CODE.search(reason)) and m["code"] in MEANINGS else None)
    if eb_code:
        meaning = f"e-Boekhouden {eb_code}: {MEANINGS[eb_code]}"
        if eb_code in ("MUT_109", "MUT_110") or "VAT code" in MEANINGS[eb_code]:
            return f"{meaning} Check the vat_code values in the tenant file's vat section (Configuration tab), then Process again."
        if "edger" in MEANINGS[eb_code]:
            return f"{meaning} Check the ledger codes in the tenant file (Configuration tab) against e-Boekhouden's chart of accounts."
        return f"{meaning} Correct it, then Process the order again."
    if code == "CONFIG":
        return "The tenant file does not match e-Boekhouden (see the reason): fix it on the Configuration tab, then Process the order again."
    if code.startswith("HTTP_"):
        return "e-Boekhouden refused the request: see the reason; Process the order again once it is solved."
    return "Correct the order in the shop (see the reason), then Process it again."


def is_cancelled(shop_status: int | None, reason: str | None) -> bool:
    """An order cancelled in the shop: nothing to book (not waiting for anything)."""
    if shop_status in CANCELLED_STATUS_IDS:
        return True
    now = (reason or "").lower().partition("(now:")[2]
    return any(name in now for name in _CANCELLED_NAMES)
