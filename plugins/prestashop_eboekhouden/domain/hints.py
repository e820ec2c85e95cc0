"""What a bookkeeper can do about an item in Errors (an order, a credit slip or a payment): one fix hint per kind of
error that can be followed — which file to change (its path), what to write there, and what to press afterwards — and
the error in a few words for a run's note.

Pure (no Airflow, no web framework): the dashboard shows these hints, and so do the notification e-mails.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from prestashop_eboekhouden.domain.eb_codes import MEANINGS

VIES = "https://ec.europa.eu/taxation_customs/vies/"
_VAT_RATE = re.compile(r"No VAT mapping for (?P<rate>[0-9.]+)%(?: \(delivery country (?P<country>[A-Z]{2})\))?")
_TOTALS = re.compile(r"Order total (?P<total>-?[0-9]+\.[0-9]{2}) ≠ lines \+ shipping \+ wrapping − discount (?P<lines>-?[0-9]+\.[0-9]{2})")
_EB_CODE = re.compile(r"\b(?P<code>[A-Z]{2,4}_\d{3})\b")
CANCELLED_STATUS_IDS = frozenset({6})  # PrestaShop's PS_OS_CANCELED
_CANCELLED_NAMES = ("cancel", "geannuleerd", "annul", "storn")
# e-Boekhouden's usual sales VAT codes for the Dutch rates: what a hint proposes (the bookkeeper checks the ledger)
DUTCH_SALES_CODES = {"21": "HOOG_VERK_21", "9": "LAAG_VERK_9", "0": "GEEN"}
ROUNDING_HINT_LIMIT = Decimal("0.05")  # a total this close to its lines is PrestaShop's rounding, not a wrong order
BY_HAND = "book it by hand in e-Boekhouden and mark it “Booked by hand” here"


def _file(tenant_file: str | None) -> str:
    return f"the tenant file {tenant_file}" if tenant_file else "the tenant file"


def totals_difference(reason: str | None) -> Decimal | None:
    """The difference shop total − lines of an "Order total … ≠ lines …" refusal; None for other reasons."""
    match = _TOTALS.search(reason or "")
    if not match:
        return None
    try:
        return Decimal(match["total"]) - Decimal(match["lines"])
    except InvalidOperation:
        return None


def fix_hint(code: str | None, reason: str | None, tenant_file: str | None = None, kind: str = "order") -> str:
    """The hint for one error (code and reason as the store keeps them); tenant_file is the path of the tenant's file."""
    code, reason, where = code or "", reason or "", _file(tenant_file)
    if kind == "payment":
        return _payment_hint(code, reason, where)
    if kind == "credit" or code in ("BY_HAND", "ORDER_REFUSED", "REGIME_CHANGED"):
        hint = _credit_hint(code, reason)
        if hint:
            return hint
    if match := _VAT_RATE.search(reason):
        rate, country = match["rate"], match["country"]
        if country and "(delivery country" in reason and rate not in DUTCH_SALES_CODES:
            key = f'vat.oss.{country}."{rate}"'
            entry = f'vat:\n  oss:\n    {country}:\n      "{rate}": {{vat_code: VAT_OSS, revenue_ledger: "<revenue ledger>", vat_ledger: "<{country} VAT ledger>"}}'
            also = f' (or vat.rates."{rate}" when the shop charges this rate at home)'
        else:
            key, also = f'vat.rates."{rate}"', ""
            code_for = DUTCH_SALES_CODES.get(rate, "<e-Boekhouden sales VAT code>")
            entry = f'vat:\n  rates:\n    "{rate}": {{vat_code: {code_for}, revenue_ledger: "<revenue ledger>"}}'
        return f"Add {key}{also} to {where}:\n{entry}\nthen Process the order again."
    if "vat.icp" in reason or "vat.international" in reason:
        key = "icp" if "vat.icp" in reason else "international"
        example = "BI_EU_VERK" if key == "icp" else "BU_EU_VERK"
        return f'Add vat.{key} to {where}:\nvat:\n  {key}: {{vat_code: {example}, revenue_ledger: "<revenue ledger>"}}\nthen Process the order again.'
    difference = totals_difference(reason)
    if difference is not None:
        if abs(difference) <= ROUNDING_HINT_LIMIT:
            return (
                f"A difference of {abs(difference):.2f} is PrestaShop's own rounding (per line against per total), not a wrong "
                f"order. To book such orders with a rounding row, set in {where}:\nrounding:\n  tolerance: \"{abs(difference):.2f}\"\n"
                f"  ledger: \"<ledger for rounding differences>\"\nthen Process the order again. Or {BY_HAND}."
            )
        return (
            f"The shop's total and its lines differ by {abs(difference):.2f}: check the order in PrestaShop. A paid order "
            f"cannot be changed there: {BY_HAND}."
        )
    if code == "VIES_INVALID":
        return (
            f"VIES does not know this VAT number as registered. Ask the customer, or look it up in VIES ({VIES}): if it was "
            "mistyped, correct it on the customer's address in the shop and Process the order again. If the company's "
            f"registration has ended, this is no ICP supply: {BY_HAND} (with Dutch VAT). To book it as ICP anyway, set "
            f"vat.vies: warn in {where} and Process it again."
        )
    if code == "VIES_UNCONFIRMED":
        return (
            f"VIES has not confirmed this VAT number. Check it by hand in VIES ({VIES}) or with the customer's tax office; "
            f"then either set vat.vies: warn in {where} and Process the order again (it is booked, with a note), or {BY_HAND}."
        )
    if reason.startswith("ICP order") or "an ICP delivery to" in reason:
        return f"Check the customer's VAT number in VIES ({VIES}); correct it on the order's address in the shop, then Process the order again."
    if code == "NOT_FOUND":
        return "The order no longer exists in the shop (deleted there, or its id was mistyped): nothing to book. Dismiss it."
    if code == "TOO_OLD":
        return f"Older than the nightly recheck looks back: {BY_HAND}, or migrate it with a backfill."
    if code == "MALFORMED":
        return (
            "The shop's order data is incomplete or wrong in the field named: correct it in PrestaShop, then Process it again. "
            f"If it cannot be corrected there, {BY_HAND}."
        )
    if code == "DUPLICATE_NUMBER" or "sales_number_prefix" in reason:
        return (
            "Another booking in e-Boekhouden has this sales number. If it is this order (booked by hand), mark it “Booked by "
            f"hand”; if several webshops share the administration, give this one its own eboekhouden.sales_number_prefix in {where}."
        )
    if code == "TOO_LONG":
        return f"A field is longer than e-Boekhouden allows (the reason names it): shorten it in the shop and Process it again, or {BY_HAND}."
    eb_code = code if code in MEANINGS else (m["code"] if (m := _EB_CODE.search(reason)) and m["code"] in MEANINGS else None)
    if eb_code:
        meaning = f"e-Boekhouden {eb_code}: {MEANINGS[eb_code]}"
        if eb_code in ("MUT_109", "MUT_110") or "VAT code" in MEANINGS[eb_code]:
            return f"{meaning} Check the vat_code values under vat: in {where} (they must be sales VAT codes), then Process again."
        if "edger" in MEANINGS[eb_code]:
            return f"{meaning} Check the ledger codes in {where} against e-Boekhouden's chart of accounts, then Process again."
        return f"{meaning} Correct it, then Process the order again."
    if code == "CONFIG":
        return f"The configuration does not match e-Boekhouden (see the reason): fix {where}, then Process the order again."
    if code.startswith("HTTP_"):
        return "e-Boekhouden refused the request: see the reason; Process the order again once it is solved."
    return f"See the reason: correct the cause, then Process it again; or {BY_HAND}."


def _credit_hint(code: str, reason: str) -> str | None:
    """Hints that are a credit slip's own (the others read as for orders)."""
    if code == "BY_HAND":
        return (
            "PrestaShop's credit slip does not say to the cent what the customer got back (see the reason): book this refund "
            "by hand in e-Boekhouden, as a credit on the order's debtor, from the credit slip PDF in the shop; then mark it "
            "“Booked by hand” here."
        )
    if code == "ORDER_REFUSED":
        return "The slip's order is in Errors: solve the order's error first; Process the slip (or its order) then books both."
    if code == "NOT_FOUND":
        return "The credit slip or its order no longer exists in the shop: nothing to book. Dismiss it."
    if code == "REGIME_CHANGED":
        return f"The order's data changed since it was booked: {BY_HAND} (as a credit on the order's debtor)."
    return None


def _payment_hint(code: str, reason: str, where: str) -> str:
    """Hints for a refused payment."""
    if code == "SHARED_REFERENCE":
        return f"Several orders share this payment's reference (a split cart): {BY_HAND}."
    if code == "OUTSTANDING":
        return (
            "e-Boekhouden has no outstanding item of this amount for the sale (see the reason). If the payment was already "
            "booked in e-Boekhouden (by hand, or by the bank import), mark it “Booked by hand”; otherwise correct the sale or "
            "the payment and Process it again."
        )
    if code == "CONFIG" or "ledger" in reason.lower():
        return f"Check payments.ledgers in {where} against e-Boekhouden's chart of accounts, then Process it again."
    eb_code = code if code in MEANINGS else None
    if eb_code:
        return f"e-Boekhouden {eb_code}: {MEANINGS[eb_code]} Correct it, then Process the payment again; or {BY_HAND}."
    return f"See the reason: correct the cause, then Process the payment again; or {BY_HAND}."


def in_words(code: str | None, reason: str | None) -> str:
    """An error in a few words, for a run's note: "no VAT mapping for 9%", "total differs by 0.01", "Invalid VAT code"."""
    code, reason = code or "", reason or ""
    if match := _VAT_RATE.search(reason):
        return f"no VAT mapping for {match['rate']}%" + (f" ({match['country']})" if match["country"] else "")
    difference = totals_difference(reason)
    if difference is not None:
        return f"total differs by {abs(difference):.2f}"
    if "vat.icp" in reason or "vat.international" in reason:
        return "no " + ("vat.icp" if "vat.icp" in reason else "vat.international") + " mapping"
    if reason.startswith("ICP order") or "an ICP delivery to" in reason:
        return "VAT number"
    words = {
        "NOT_FOUND": "not in the shop", "TOO_OLD": "too old for the recheck", "MALFORMED": "shop data incomplete",
        "VIES_INVALID": "VAT number not in VIES", "VIES_UNCONFIRMED": "VIES could not confirm", "BY_HAND": "book by hand",
        "DUPLICATE_NUMBER": "sales number in use", "TOO_LONG": "a field too long", "ORDER_REFUSED": "its order was refused",
        "OUTSTANDING": "no matching outstanding item", "SHARED_REFERENCE": "shared reference", "REGIME_CHANGED": "order changed",
    }  # fmt: skip
    if code in words:
        return words[code]
    if code == "CONFIG" and not reason:
        return "configuration"
    if code in MEANINGS:
        return MEANINGS[code].rstrip(".")
    if code.startswith("HTTP_"):
        return f"e-Boekhouden refused ({code.replace('_', ' ')})"
    first = reason.split(";")[0].strip()
    return (first[:48] + "…") if len(first) > 48 else (first or code.lower() or "error")


def is_cancelled(shop_status: int | None, reason: str | None) -> bool:
    """An order cancelled in the shop: nothing to book (not waiting for anything)."""
    if shop_status in CANCELLED_STATUS_IDS:
        return True
    now = (reason or "").lower().partition("(now:")[2]
    return any(name in now for name in _CANCELLED_NAMES)
