"""Check a tenant file against its two connections before the first run (``setup validate <tenant>``).

- both APIs answer (the hooks' ``test_connection``: one cheap call each, as the dashboard's health check);
- every ledger the file names exists in the e-Boekhouden administration;
- every active tax rate of the shop has a mapping under ``vat.rates`` or ``vat.oss`` (else its orders land in Errors);
- every VAT code in the file is a sales code (a purchase code is refused by e-Boekhouden: MUT_111).

:func:`tenant_problems` is the pure part (plain data in, problems in words out); :func:`validate_tenant`
fetches that data through the hooks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from prestashop_eboekhouden.config import VAT_OSS, TenantConfig, VatMapping, rate_key
from prestashop_eboekhouden.domain.payloads import VAT_CODE_RATES

# e-Boekhouden's VAT codes for purchases (VatCode in the official API): never on a sale.
PURCHASE_VAT_CODES = frozenset({"LAAG_INK_9", "HOOG_INK_21", "VERL_INK", "BU_EU_INK", "BI_EU_INK", "AFW"})
SALES_VAT_CODES = frozenset(VAT_CODE_RATES) | {"AFW_VERK", VAT_OSS}


@dataclass
class Report:
    """The outcome per check: what passed and, in words, what did not."""

    tenant: str
    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _mappings(config: TenantConfig) -> Iterable[tuple[str, VatMapping]]:
    """Every VAT mapping of the file with the place it is written."""
    vat = config.vat
    for rate, mapping in vat.rates.items():
        yield f"vat.rates.{rate}", mapping
    if vat.icp is not None:
        yield "vat.icp", vat.icp
    if vat.international is not None:
        yield "vat.international", vat.international
    for country, rates in vat.oss.items():
        for rate, mapping in rates.items():
            yield f"vat.oss.{country}.{rate}", mapping


def ledger_codes(config: TenantConfig) -> dict[str, str]:
    """Ledger code → the first field of the tenant file that names it."""
    named: dict[str, str] = {}
    named.setdefault(config.eboekhouden.debtor_ledger, "eboekhouden.debtor_ledger")
    for where, mapping in _mappings(config):
        named.setdefault(mapping.revenue_ledger, f"{where}.revenue_ledger")
        if mapping.vat_ledger:
            named.setdefault(mapping.vat_ledger, f"{where}.vat_ledger")
    if config.payments.enabled:
        for method, code in config.payments.ledgers.items():
            named.setdefault(code, f"payments.ledgers.{method}")
    if config.rounding.ledger and config.rounding.tolerance > 0:
        named.setdefault(config.rounding.ledger, "rounding.ledger")
    return named


def tenant_problems(config: TenantConfig, shop_rates: Iterable[Decimal], ledgers: Mapping[str, dict]) -> tuple[list[str], list[str]]:
    """(passed, problems) of the file against the shop's active tax rates and the administration's ledgers."""
    passed, problems = [], []
    missing = {code: where for code, where in ledger_codes(config).items() if code not in ledgers}
    for code, where in sorted(missing.items()):
        problems.append(f"Ledger {code} ({where}) does not exist in e-Boekhouden: create it there or fix the tenant file")
    if not missing:
        passed.append(f"every ledger exists in e-Boekhouden ({', '.join(sorted(ledger_codes(config)))})")
    mapped = set(config.vat.rates).union(*(rates.keys() for rates in config.vat.oss.values()))
    unmapped = sorted({rate_key(rate) for rate in shop_rates} - mapped, key=Decimal)
    for rate in unmapped:
        problems.append(
            f"The shop has an active tax rate of {rate}% with no mapping under vat.rates or vat.oss: orders charged it would land in Errors"
        )
    if not unmapped:
        passed.append("every active tax rate of the shop has a mapping")
    wrong = False
    for where, mapping in _mappings(config):
        if mapping.vat_code in PURCHASE_VAT_CODES:
            problems.append(f"{where}.vat_code {mapping.vat_code} is a purchase VAT code; a sale needs a sales code (e.g. HOOG_VERK_21)")
            wrong = True
        elif mapping.vat_code not in SALES_VAT_CODES:
            problems.append(f"{where}.vat_code {mapping.vat_code} is no e-Boekhouden VAT code (sales codes: {', '.join(sorted(SALES_VAT_CODES))})")
            wrong = True
    if not wrong:
        passed.append("every VAT code is a sales code")
    return passed, problems


def _active_rates(rows: Iterable[dict]) -> list[Decimal]:
    """Rates of the shop's taxes that are in use (not deactivated, not deleted)."""
    return [Decimal(str(t["rate"])) for t in rows if str(t.get("active", "1")) == "1" and str(t.get("deleted", "0")) != "1"]


def validate_tenant(config: TenantConfig) -> Report:
    """Call both APIs for one tenant and check its file against what they answer."""
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook

    report = Report(config.tenant)
    shop = PrestaShopHook(config.prestashop_conn_id, max_attempts=2)
    try:
        books = bookkeeping_api(config.eboekhouden_conn_id, max_attempts=2)
    except Exception as exc:  # noqa: BLE001 - e.g. the connection does not exist: reported, not raised
        report.problems.append(f"e-Boekhouden connection {config.eboekhouden_conn_id!r}: {type(exc).__name__}: {exc}")
        books = None
    answered = {}
    for name, conn_id, hook in (("PrestaShop", config.prestashop_conn_id, shop), ("e-Boekhouden", config.eboekhouden_conn_id, books)):
        if hook is None:
            continue
        try:
            ok, message = hook.test_connection()
        except Exception as exc:  # noqa: BLE001
            ok, message = False, f"{type(exc).__name__}: {exc}"
        answered[name] = ok
        (report.passed if ok else report.problems).append(f"{name} ({conn_id}): {message}" if ok else f"{name} ({conn_id}) did not answer: {message}")
    if books is None or not (answered.get("PrestaShop") and answered.get("e-Boekhouden")):
        return report
    try:
        rates = _active_rates(row for page in shop.pages("taxes", display="[id,rate,active,deleted]") for row in page)
        ledgers = books.ledgers()
    except Exception as exc:  # noqa: BLE001
        report.problems.append(f"reading the shop's taxes or the ledgers failed: {type(exc).__name__}: {exc}")
        return report
    finally:
        books.close_session()
    passed, problems = tenant_problems(config, rates, ledgers)
    report.passed += passed
    report.problems += problems
    return report
