"""Which VAT regime an order falls under (manual section 6: ICP and international indication, OSS)."""

from __future__ import annotations

from enum import Enum

from prestashop_eboekhouden.domain.model import Order

# EU member states by ISO code; Greece's VAT numbers use the prefix EL.
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


class Regime(str, Enum):
    """The VAT regime of a sale."""

    DOMESTIC = "domestic"  # the shop's VAT rates (also EU private customers below the OSS threshold)
    ICP = "icp"  # intra-community supply: EU business customer, 0% VAT, VAT number required
    INTERNATIONAL = "international"  # delivery outside the EU, 0% VAT
    OSS = "oss"  # EU private customer charged the delivery country's VAT (one-stop shop)


def is_eu(country_iso: str) -> bool:
    """Whether an ISO country code is an EU member state."""
    return country_iso.upper() in EU_COUNTRIES


def classify(order: Order, shop_country: str, oss_countries: frozenset[str] | set[str]) -> Regime:
    """ICP and international per the manual's rules; OSS where the tenant maps the delivery country."""
    country = order.delivery_country
    abroad = country != shop_country.upper()
    if abroad and not is_eu(country):
        # outside the EU: international, whether or not VAT was (wrongly) charged; a precheck refuses VAT
        return Regime.INTERNATIONAL if order.total_paid_incl != 0 else Regime.DOMESTIC
    untaxed = order.total_paid_incl != 0 and order.total_paid_incl == order.total_paid_excl
    if abroad and untaxed:
        return Regime.ICP
    if abroad and country in oss_countries:
        return Regime.OSS
    return Regime.DOMESTIC
