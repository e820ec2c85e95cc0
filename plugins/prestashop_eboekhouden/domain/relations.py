"""Debtors: who the sale is booked to, and the RelationCode of a new one (manual section 7)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from prestashop_eboekhouden.domain.errors import OrderProblem
from prestashop_eboekhouden.domain.model import Order

CODE_BASE_LENGTH = 10


def normalize_email(email: str) -> str:
    """The key debtors are matched on: trimmed, case-insensitive."""
    return email.strip().casefold()


@dataclass(frozen=True)
class Debtor:
    """The relation a sale is booked to, as it would be created in e-Boekhouden."""

    email: str
    name: str
    contact: str
    type: str  # B business, P private
    code_base: str
    address: str
    postcode: str
    city: str
    country: str
    phone: str
    vat_number: str

    @property
    def key(self) -> str:
        """The matching key: the e-mail address, normalized."""
        return normalize_email(self.email)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for storage."""
        return asdict(self)


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def company_name(company: str) -> str:
    """The company name, or '' when it holds no letter or digit ('---', '-': a form filled for the sake of it)."""
    return company.strip() if _alnum(company) else ""


def relation_code_base(company: str, firstname: str, lastname: str) -> str:
    """Company name, else first name + last name, letters and digits only, first 10 characters."""
    return _alnum(company_name(company) or f"{firstname}{lastname}")[:CODE_BASE_LENGTH]


def next_relation_code(base: str, existing_codes: Iterable[str]) -> str:
    """The base itself when free, else base + the first free sequence number (KlaartjePi → KlaartjePi5)."""
    taken = {code.casefold() for code in existing_codes}
    if base.casefold() not in taken:
        return base
    number = 1
    while f"{base}{number}".casefold() in taken:
        number += 1
    return f"{base}{number}"


def debtor_for(order: Order) -> Debtor:
    """The debtor of an order: company or person on the invoice address, matched by the customer's e-mail.

    The company name is the address's (manual: "Company name - [company]" of the address), never the
    customer account's: a private buyer whose account once named a company stays a private debtor.
    """
    address = order.invoice_address
    customer = order.customer
    firstname = address.firstname or customer.firstname
    lastname = address.lastname or customer.lastname
    company = company_name(address.company)
    person = " ".join(part for part in (firstname, lastname) if part)
    name = company or person
    code_base = relation_code_base(company, firstname, lastname)
    if not name or not code_base:
        raise OrderProblem("Customer has neither a company name nor a first and last name to create a debtor with")
    street = " ".join(part for part in (address.address1, address.address2) if part)
    return Debtor(
        email=customer.email.strip(),
        name=name,
        contact=person if company else "",
        type="B" if company else "P",
        code_base=code_base,
        address=street,
        postcode=address.postcode,
        city=address.city,
        country=address.country_iso,
        phone=address.phone,
        vat_number=address.vat_number or order.delivery_address.vat_number,
    )
