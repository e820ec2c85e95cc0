"""The e-Boekhouden REST API as its own OpenAPI description defines it (our reference:
``reference/eboekhouden-rest-official.md``): the request bodies we send, the list items and objects we
read (their real fields only), the enums, the filter and paging rules and the official error table.

Both sides are held to it: :func:`check_request` validates what a client sends, :func:`check_answer`
what a server answers; each returns a list of violations in words (empty: it conforms). The hooks
map error codes to outcomes through :data:`OUTCOMES` (one place, codes from the official table only).

Where the description is silent (what a mutation list item's ``amount`` holds, whether ``email``
filters ignore case, how many items a page really holds), the contract says the least it can: such
fields are typed, never interpreted.

:data:`MAX_LENGTH` holds the maximum length of every text field we send, next to the models, with the
code the API refuses a longer value with; :func:`too_long` lists the fields of a body that exceed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import Enum, IntEnum
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

# ---- scalars as the wire carries them -----------------------------------------------------------

Int = StrictInt  # i32 / i64: a JSON integer, never a string or a boolean
Number = StrictInt | StrictFloat  # f64: a JSON number
Text = StrictStr
Bool = StrictBool
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9_ ]{1,10}$")  # API_SESSION_002 "Source does not match pattern"
MAX_LIMIT = 2000
DEFAULT_LIMIT = 100


def source_problem(source: str) -> str | None:
    """Why a session ``source`` would be refused (API_SESSION_002), or None when it matches the pattern."""
    if not source:
        return "is empty (API_SESSION_001 Source is missing)"
    if len(source) > 10:
        return f"{source!r} has {len(source)} characters; at most 10 are allowed"
    if not SOURCE_PATTERN.match(source):
        return f"{source!r} may hold only letters, digits, '_' and spaces"
    return None


class MutationType(IntEnum):
    """MutationType: 1 invoice received, 2 invoice sent, 3 payment received, 4 payment sent, 5 money received, 6 money sent, 7 memorial."""

    INVOICE_RECEIVED = 1
    INVOICE_SENT = 2
    PAYMENT_RECEIVED = 3
    PAYMENT_SENT = 4
    MONEY_RECEIVED = 5
    MONEY_SENT = 6
    MEMORIAL = 7


class VatCode(str, Enum):
    """VatCode as the official description lists it."""

    HOOG_VERK_21 = "HOOG_VERK_21"
    LAAG_VERK_9 = "LAAG_VERK_9"
    VERL_VERK = "VERL_VERK"
    VERL_VERK_L9 = "VERL_VERK_L9"
    AFW = "AFW"
    BU_EU_VERK = "BU_EU_VERK"
    BI_EU_VERK = "BI_EU_VERK"
    BI_EU_VERK_D = "BI_EU_VERK_D"
    AFST_VERK = "AFST_VERK"
    LAAG_INK_9 = "LAAG_INK_9"
    HOOG_INK_21 = "HOOG_INK_21"
    VERL_INK = "VERL_INK"
    AFW_VERK = "AFW_VERK"
    BU_EU_INK = "BU_EU_INK"
    BI_EU_INK = "BI_EU_INK"
    GEEN = "GEEN"


# The description types a *row's* vatCode as models::VatCode on the way in; OSS codes and others an
# administration may have (VAT_OSS, ...) are not in that enum. A request may carry them (the API decides,
# MUT_109 / FACT_ITEM_014); the contract only requires a non-empty upper-case code.
VatCodeText = Annotated[str, Field(strict=True, pattern=r"^[A-Z0-9_]+$")]
InEx = Annotated[str, Field(strict=True, pattern=r"^(IN|EX)$")]
RelationType = Annotated[str, Field(strict=True, pattern=r"^[BP]$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)


# ---- what we send -------------------------------------------------------------------------------


class StartSession(_Model):
    """POST /v1/session."""

    accessToken: Text
    source: Annotated[str, Field(strict=True, pattern=SOURCE_PATTERN.pattern)]


class CreateRelation(_Model):
    """POST /v1/relation (name required)."""

    type: RelationType | None = None
    code: Text | None = None
    name: Text
    salutation: Text | None = None
    contact: Text | None = None
    gender: Text | None = None
    address: Text | None = None
    postalCode: Text | None = None
    city: Text | None = None
    country: Text | None = None
    address2: Text | None = None
    postalCode2: Text | None = None
    city2: Text | None = None
    country2: Text | None = None
    phoneNumber: Text | None = None
    mobilePhoneNumber: Text | None = None
    faxNumber: Text | None = None
    emailAddress: Text | None = None
    emailAddressInvoice: Text | None = None
    emailAddressReminder: Text | None = None
    website: Text | None = None
    note: Text | None = None
    vatNumber: Text | None = None
    inactive: Bool | None = None
    termOfPayment: Int | None = None
    companyRegistrationNumber: Text | None = None
    iban: Text | None = None
    bic: Text | None = None
    freeText1: Text | None = None
    freeText2: Text | None = None
    freeText3: Text | None = None
    freeText4: Text | None = None
    freeText5: Text | None = None
    freeText6: Text | None = None
    freeText7: Text | None = None
    freeText8: Text | None = None
    freeText9: Text | None = None
    freeText10: Text | None = None
    doNotReceiveNewsletters: Bool | None = None
    ledgerId: Int | None = None
    mandate: Bool | None = None
    mandateType: Text | None = None
    mandateId: Text | None = None
    mandateSignedDate: Any = None


class CreateMutationRow(_Model):
    """A row of POST /v1/mutation (vatCode and amount required)."""

    ledgerId: Int | None = None
    vatCode: VatCodeText
    vatAmount: Number | None = None
    costCenterId: Int | None = None
    amount: Number
    description: Text | None = None
    invoiceNumber: Text | None = None
    relationId: Int | None = None


class CreateMutation(_Model):
    """POST /v1/mutation (type, date, ledgerId required)."""

    type: MutationType
    date: Text
    ledgerId: Int
    invoiceNumber: Text | None = None
    entryNumber: Text | None = None
    termOfPayment: Int | None = None
    checkPaymentReference: Bool | None = None
    paymentReference: Text | None = None
    inExVat: InEx | None = None
    description: Text | None = None
    relationId: Int | None = None
    rows: list[CreateMutationRow] | None = None


class CreateInvoiceItem(_Model):
    """An item of POST /v1/invoice (description, vatCode, ledgerId required)."""

    quantity: Number | None = None
    amount: Number | None = None
    unitId: Int | None = None
    code: Text | None = None
    productId: Int | None = None
    description: Text
    pricePerUnit: Number | None = None
    vatCode: VatCodeText
    vatAmount: Number | None = None
    ledgerId: Int
    costCenterId: Int | None = None
    discountAmount: Number | None = None
    discountPercentage: Number | None = None


class CreateInvoiceMutation(_Model):
    """POST /v1/invoice's ``mutation``: also book the invoice."""

    description: Text | None = None
    checkPaymentReference: Bool | None = None
    paymentReference: Text | None = None
    ledgerId: Int | None = None


class CreateInvoice(_Model):
    """POST /v1/invoice (relationId, termOfPayment, templateId, items required)."""

    invoiceNumber: Text | None = None
    relationId: Int
    date: Text | None = None
    termOfPayment: Int
    inExVat: InEx | None = None
    templateId: Int
    emailTemplateId: Int | None = None
    reference: Text | None = None
    text: Text | None = None
    print: Bool | None = None
    email: dict | None = None  # CreateInvoiceEmail: never sent by this integration
    directDebit: dict | None = None  # CreateInvoiceDebit: never sent by this integration
    mutation: CreateInvoiceMutation | None = None
    items: list[CreateInvoiceItem] = Field(min_length=1)


# ---- what we read -------------------------------------------------------------------------------


class Session(_Model):
    token: Text
    expiresIn: Int


class RelationListItem(_Model):
    """A relation in a list: id, type and code only — no name, no e-mail."""

    id: Int | None = None
    type: Text | None = None
    code: Text | None = None


class Relation(_Model):
    """GET /v1/relation/{id}."""

    id: Int | None = None
    type: Text | None = None
    code: Text | None = None
    date: Text | None = None
    name: Text | None = None
    salutation: Text | None = None
    contact: Text | None = None
    gender: Text | None = None
    address: Text | None = None
    postalCode: Text | None = None
    city: Text | None = None
    country: Text | None = None
    address2: Text | None = None
    postalCode2: Text | None = None
    city2: Text | None = None
    country2: Text | None = None
    phoneNumber: Text | None = None
    mobilePhoneNumber: Text | None = None
    faxNumber: Text | None = None
    emailAddress: Text | None = None
    emailAddressInvoice: Text | None = None
    emailAddressReminder: Text | None = None
    website: Text | None = None
    note: Text | None = None
    vatNumber: Text | None = None
    inactive: Bool | None = None
    termOfPayment: Int | None = None
    companyRegistrationNumber: Text | None = None
    iban: Text | None = None
    bic: Text | None = None
    freeText1: Text | None = None
    freeText2: Text | None = None
    freeText3: Text | None = None
    freeText4: Text | None = None
    freeText5: Text | None = None
    freeText6: Text | None = None
    freeText7: Text | None = None
    freeText8: Text | None = None
    freeText9: Text | None = None
    freeText10: Text | None = None
    isClubOrAssociationMember: Int | None = None
    doNotReceiveNewsletters: Int | None = None
    ledgerId: Int | None = None
    mandate: Bool | None = None
    mandateType: Text | None = None
    mandateId: Text | None = None
    mandateSignedDate: Any = None


class CreatedRelation(_Model):
    id: Int | None = None
    code: Text | None = None


class CreatedMutation(_Model):
    """The answer to POST /v1/mutation: CreatedMutation, the mutation's id (number); optional in the model."""

    id: Int | None = None


class CreatedInvoice(_Model):
    """The answer to POST /v1/invoice: CreatedInvoice, every field optional in the model: the invoice's id, its
    number (the one given, or the one e-Boekhouden made when none was given) and whether its prices were read
    incl. (IN) or excl. (EX) VAT."""

    id: Int | None = None
    invoiceNumber: Text | None = None
    inExVat: InEx | None = None


class LedgerListItem(_Model):
    id: Int | None = None
    code: Text | None = None
    description: Text | None = None
    category: Text | None = None
    group: Text | None = None


class MutationListItem(_Model):
    """A mutation in a list. What ``amount`` holds is not documented: never decide on it."""

    id: Int | None = None
    type: MutationType | None = None
    date: Any = None
    invoiceNumber: Text | None = None
    ledgerId: Int | None = None
    amount: Number | None = None
    entryNumber: Text | None = None


class MutationRow(_Model):
    ledgerId: Int | None = None
    vatCode: Text | None = None
    vatAmount: Number | None = None
    costCenterId: Int | None = None
    amount: Number | None = None
    description: Text | None = None
    invoiceNumber: Text | None = None
    relationId: Int | None = None


class VatAmount(_Model):
    """VAT total of a mutation per VAT code (fields not detailed by the description)."""

    model_config = ConfigDict(extra="allow")


class Mutation(_Model):
    """GET /v1/mutation/{id}: header and rows."""

    id: Int | None = None
    type: MutationType | None = None
    date: Text | None = None
    description: Text | None = None
    termOfPayment: Int | None = None
    ledgerId: Int | None = None
    relationId: Int | None = None
    inExVat: Text | None = None
    invoiceNumber: Text | None = None
    entryNumber: Text | None = None
    rows: list[MutationRow] | None = None
    vat: list[VatAmount] | None = None


class OutstandingInvoiceListItem(_Model):
    date: Any = None
    mutationId: Int | None = None
    invoiceNumber: Text | None = None
    relationId: Int | None = None
    relationCode: Text | None = None
    company: Text | None = None
    totalAmount: Number | None = None
    paidAmount: Number | None = None
    outstandingAmount: Number | None = None


class InvoiceListItem(_Model):
    id: Int | None = None
    invoiceNumber: Text | None = None
    relationId: Int | None = None
    date: Any = None
    reference: Text | None = None
    text: Text | None = None
    urlPdfFile: Text | None = None
    totalExcl: Number | None = None
    totalAmount: Number | None = None
    vatAmount: Number | None = None
    termOfPayment: Int | None = None
    templateId: Int | None = None
    print: Bool | None = None


class InvoiceTemplateListItem(_Model):
    id: Int | None = None
    name: Text | None = None
    active: Bool | None = None
    type: Text | None = None


class Error(_Model):
    """Every error answer."""

    errors: list[Text] | None = None
    type: Text
    propertyName: Text | None = None
    code: Text | None = None
    title: Text
    message: Text | None = None
    status: Int
    traceId: Text | None = None


class SecurityErrorType(IntEnum):
    """SecurityErrorType: 0 generic error, 1 no access to the requested administration, 2 no administration opened."""

    GENERIC = 0
    NO_ACCESS = 1
    NO_ADMINISTRATION = 2


class SecurityError(Error):
    """POST /v1/session refused (403): an Error with ``securityType`` (required)."""

    securityType: SecurityErrorType


# ---- maximum lengths of what we send ------------------------------------------------------------

# Model → text field → (maximum length in characters, the official code a longer value is refused with; None
# where the description gives a maximum but no code of its own). The distilled sheet names the "too long"
# codes; the numbers are the maxLength of e-Boekhouden's OpenAPI description, as public references generated
# from it carry them. A field with a "too long" code but no number (an invoice item's description: FACT_ITEM_002,
# a mutation row's description) has no entry: the payloads keep those short themselves (domain/payloads.py).
MAX_LENGTH: dict[str, dict[str, tuple[int, str | None]]] = {
    "CreateRelation": {
        "type": (1, "REL_001"), "code": (15, "REL_006"), "name": (100, "REL_003"), "salutation": (50, "REL_010"),
        "contact": (50, "REL_009"), "gender": (1, "REL_004"), "address": (150, "REL_011"), "postalCode": (50, "REL_012"),
        "city": (50, "REL_013"), "country": (50, "REL_014"), "address2": (150, "REL_015"), "postalCode2": (50, "REL_016"),
        "city2": (50, "REL_017"), "country2": (50, "REL_018"), "phoneNumber": (50, "REL_019"), "mobilePhoneNumber": (50, "REL_020"),
        "faxNumber": (50, "REL_021"), "emailAddress": (150, "REL_022"), "emailAddressInvoice": (150, "REL_024"),
        "emailAddressReminder": (150, "REL_026"), "website": (50, "REL_028"), "note": (40000, "REL_047"),
        "vatNumber": (50, "REL_035"), "companyRegistrationNumber": (50, "REL_050"), "iban": (50, "REL_029"), "bic": (20, "REL_032"),
        **{f"freeText{n}": (100, f"REL_0{36 + n}") for n in range(1, 11)},
        "mandateType": (1, "REL_033"), "mandateId": (35, "REL_034"),
    },
    "CreateMutation": {"invoiceNumber": (50, "MUT_018"), "entryNumber": (50, None), "description": (50, None)},
    "CreateMutationRow": {},
    "CreateInvoice": {"invoiceNumber": (50, "FACT_007"), "reference": (50, "FACT_014"), "text": (35000, "FACT_017")},
    "CreateInvoiceMutation": {"description": (200, "FACT_VERWERK_002"), "paymentReference": (50, "FACT_VERWERK_003")},
    "CreateInvoiceItem": {"code": (50, "FACT_ITEM_003")},
}  # fmt: skip
# Where a body holds other bodies: model → field → the model of what it holds (a list of them or one).
_NESTED = {"CreateMutation": {"rows": "CreateMutationRow"}, "CreateInvoice": {"items": "CreateInvoiceItem", "mutation": "CreateInvoiceMutation"}}


class TooLong(BaseModel):
    """A text field longer than the description allows."""

    path: str  # e.g. "name", "items[2].code"
    length: int
    maximum: int
    code: str | None  # the official code the API refuses it with (None: no code of its own)


def too_long(model: str, body: Any, prefix: str = "") -> list[TooLong]:
    """The text fields of a request body (of the named model) longer than their documented maximum."""
    found: list[TooLong] = []
    if not isinstance(body, Mapping):
        return found
    for field, (maximum, code) in MAX_LENGTH.get(model, {}).items():
        value = body.get(field)
        if isinstance(value, str) and len(value) > maximum:
            found.append(TooLong(path=f"{prefix}{field}", length=len(value), maximum=maximum, code=code))
    for field, inner in _NESTED.get(model, {}).items():
        value = body.get(field)
        if isinstance(value, list):
            for index, item in enumerate(value):
                found += too_long(inner, item, f"{prefix}{field}[{index}].")
        elif isinstance(value, Mapping):
            found += too_long(inner, value, f"{prefix}{field}.")
    return found


# ---- the official error table and what each code means to us -----------------------------------

ERROR_CODES: dict[str, str] = {  # code → meaning, as the official table words it
    "ERR_001": "Something went wrong.",
    "ERR_002": "Your request contains an invalid value.",
    "DATA_01": "No content body provided.",
    "MODULE_001": "The limit for the free trial of the accounting module has been reached.",
    "MODULE_002": "The limit for the free trial of the invoicing module has been reached.",
    "PAGE_001": "Limit must be between 1 and 2000.",
    "PAGE_002": "Offset must be greater than or equal to 0.",
    "SECURITY_001": "No permission to access the requested resource.",
    "SECURITY_002": "No administration has been opened in the current session.",
    "SECURITY_003": "No access to the requested administration.",
    "SECURITY_004": "The requested administration has not been activated.",
    "SECURITY_005": "The requested administration is not available due to an overdue payment.",
    "SECURITY_006": "The requested administration is not accessible. Please contact the adminstration or log in on the website.",
    "SECURITY_007": "The period has been closed by your accountant and can not be changed.",
    "SECURITY_008": "The period has been closed by your accountant and can not be reopened.",
    "SECURITY_009": "Connections with other parties can only be managed when the administration has customer access enabled.",
    "SECURITY_010": "Not authenticated. Check your Authorization header.",
    "SECURITY_011": "This account is registered under a different domain. Please make sure you're using the API on the correct domain.",
    "SECURITY_999": "Something went wrong during authentication.",
    "SMTP_001": "Sending the e-mail failed. Check your SMTP settings.",
    "SMTP_002": "Sending the e-mail failed. Check your SMTP settings.",
    "SMTP_003": "Sending the e-mail failed. Check your SMTP settings.",
    "PAKKET_001": "Product limit reached.",
    "PAKKET_002": "Product limit reached.",
    "FACT_001": "Relation ID is missing.",
    "FACT_002": "Relation not found.",
    "FACT_003": "Relation is inactive.",
    "FACT_004": "Total invoice amount too high.",
    "FACT_005": "Total invoice amount too low.",
    "FACT_006": "Invoice number is missing.",
    "FACT_007": "Invoice number is too long.",
    "FACT_008": "Invoice number is invalid.",
    "FACT_009": "Invoice number does not end with a digit.",
    "FACT_010": "Invoice VAT must be IN or EX.",
    "FACT_011": "Invoice date is missing.",
    "FACT_012": "Invoice date invalid.",
    "FACT_013": "Invoice date out of range.",
    "FACT_014": "Payment reference is too long.",
    "FACT_015": "Term of payment is missing.",
    "FACT_016": "Term of payment out of range.",
    "FACT_017": "Invoice text is too long.",
    "FACT_018": "Invoice template not found.",
    "FACT_019": "Invoice items are missing.",
    "FACT_020": "Email template not found.",
    "FACT_021": "Invoice not found.",
    "FACT_022": "Send to Peppol for relation without Peppol Id.",
    "FACT_023": "Already sent to Peppol.",
    "FACT_024": "Administration has no Peppol integration configured",
    "FACT_101": "Invoice number is in use.",
    "FACT_102": "The limit for the free trial of the invoicing module has been reached. Upgrade your subscription to continue invoicing without restrictions.",
    "FACT_EMAIL_001": "Relation email is missing.",
    "FACT_EMAIL_002": "Relation email is invalid.",
    "FACT_EMAIL_003": "Relation email for invoices is invalid.",
    "FACT_EMAIL_004": "Relation email for reminders is invalid.",
    "FACT_EMAIL_005": "Something went wrong while attaching files to the email.",
    "FACT_EMAIL_006": "Sender email is invalid.",
    "FACT_EMAIL_007": "Relation email is missing.",
    "FACT_EMAIL_008": "Relation email is invalid.",
    "FACT_EMAIL_009": "CC email is invalid.",
    "FACT_EMAIL_010": "BCC email is invalid.",
    "FACT_EMAIL_011": "Email body is too long",
    "FACT_EMAIL_012": "CC or BCC contains a duplicate address.",
    "FACT_EMAIL_013": "Subject is missing.",
    "FACT_EMAIL_014": "Body is missing.",
    "FACT_INCASSO_001": "Mandate type is missing.",
    "FACT_INCASSO_002": "Mandate type is invalid.",
    "FACT_INCASSO_003": "Mandate ID is missing.",
    "FACT_INCASSO_004": "Mandate ID is too long.",
    "FACT_INCASSO_005": "Mandate signed date is missing.",
    "FACT_INCASSO_006": "Mandate signed date is invalid.",
    "FACT_INCASSO_007": "Mandate signed date out of range.",
    "FACT_INCASSO_008": "IBAN is missing.",
    "FACT_INCASSO_009": "IBAN is too long.",
    "FACT_INCASSO_010": "IBAN is invalid.",
    "FACT_INCASSO_011": "Name is too long.",
    "FACT_INCASSO_012": "City is too long.",
    "FACT_INCASSO_013": "Description line 1 is too long.",
    "FACT_INCASSO_014": "Description line 2 is too long.",
    "FACT_INCASSO_015": "Description line 3 is too long.",
    "FACT_VERWERK_001": "Invoice date resides in a closed period.",
    "FACT_VERWERK_002": "Description is too long.",
    "FACT_VERWERK_003": "Payment reference is too long.",
    "FACT_VERWERK_004": "Payment reference already exists.",
    "FACT_SJAB_001": "Name is missing.",
    "FACT_SJAB_002": "Name is too long.",
    "FACT_SJAB_003": "Type is missing.",
    "FACT_SJAB_004": "Type is invalid.",
    "ADM_001": "Email administration is missing.",
    "ADM_002": "Email administration is invalid.",
    "EP_001": "This endpoint is only available to accountants.",
    "EP_002": "This endpoint is not available for accountants.",
    "FACT_ITEM_001": "Description invoice item is missing.",
    "FACT_ITEM_002": "Description invoice item is too long.",
    "FACT_ITEM_003": "Code invoice item is too long.",
    "FACT_ITEM_004": "Price per unit excl. VAT is missing.",
    "FACT_ITEM_005": "Price per unit incl. VAT is missing.",
    "FACT_ITEM_006": "VAT code is missing.",
    "FACT_ITEM_007": "Ledger ID is missing",
    "FACT_ITEM_008": "Total price is too high.",
    "FACT_ITEM_009": "Total price is too low.",
    "FACT_ITEM_010": "Unit not found.",
    "FACT_ITEM_011": "Product not found.",
    "FACT_ITEM_012": "Ledger account not found.",
    "FACT_ITEM_013": "Discount amount cannot have a value when discount percentage is passed.",
    "FACT_ITEM_014": "Invalid VAT code.",
    "FACT_ITEM_015": "VAT amount must be used with VAT code: 'AFW_VERK'",
    "REL_001": "Relation type is invalid (B,P).",
    "REL_002": "Name is mandatory.",
    "REL_003": "Name is too long.",
    "REL_004": "Gender is invalid (m,v,a).",
    "REL_005": "Code is invalid.",
    "REL_006": "Code is too long.",
    "REL_007": "Iban is invalid.",
    "REL_008": "Company registration number must be numeric.",
    "REL_009": "Contact is too long.",
    "REL_010": "Salutation is too long.",
    "REL_011": "Address is too long.",
    "REL_012": "Postal code is too long.",
    "REL_013": "City is too long.",
    "REL_014": "Country is too long.",
    "REL_015": "Address 2 is too long.",
    "REL_016": "Postal code 2 is too long.",
    "REL_017": "City 2 is too long.",
    "REL_018": "Country 2 is too long.",
    "REL_019": "Phone is too long.",
    "REL_020": "Mobile is too long.",
    "REL_021": "Fax is too long.",
    "REL_022": "Email is too long.",
    "REL_023": "Email is invalid.",
    "REL_024": "Email invoice is too long.",
    "REL_025": "Email invoice is invalid.",
    "REL_026": "Email reminder is too long.",
    "REL_027": "Email reminder is invalid.",
    "REL_028": "Website is too long.",
    "REL_029": "Iban is too long.",
    "REL_030": "Term of payment too low.",
    "REL_031": "Term of payment too high.",
    "REL_032": "BIC is too long.",
    "REL_033": "Mandate type is too long.",
    "REL_034": "Mandate ID is too long.",
    "REL_035": "VAT number is too long.",
    "REL_036": "Soort is too long.",
    "REL_037": "Free text 1 is too long.",
    "REL_038": "Free text 2 is too long.",
    "REL_039": "Free text 3 is too long.",
    "REL_040": "Free text 4 is too long.",
    "REL_041": "Free text 5 is too long.",
    "REL_042": "Free text 6 is too long.",
    "REL_043": "Free text 7 is too long.",
    "REL_044": "Free text 8 is too long.",
    "REL_045": "Free text 9 is too long.",
    "REL_046": "Free text 10 is too long.",
    "REL_047": "Note too long.",
    "REL_048": "Ledger not found.",
    "REL_049": "Code already exists.",
    "REL_050": "Company registration number is too long.",
    "REL_051": "Mandate type is invalid (E,D).",
    "REL_052": "Mandate value is missing.",
    "REL_054": "Relation ID is missing.",
    "REL_055": "Relation not found.",
    "REL_056": "Peppol ID is only for companies.",
    "REL_057": "Peppol ID is invalid.",
    "MUTA_001": "Ledger id is missing.",
    "MUTA_002": "Type is missing",
    "MUTA_003": "Vat amount must be used with vatCode: 'AFW' or 'AFW_VERK'",
    "MUTA_004": "Ledger ID for row is missing.",
    "MUTA_005": "In/Ex VAT is missing.",
    "MUTA_006": "Credit/Debit is missing.",
    "MUTA_007": "Credit/Debit must be 'C' or 'D'.",
    "MUTA_008": "Payment reference already exists.",
    "MUTA_009": "Type is unknown.",
    "API_SESSION_001": "Source is missing.",
    "API_SESSION_002": "Source does not match pattern.",
    "API_SESSION_003": "Access token is missing or empty.",
    "API_SESSION_004": "Access token has expired.",
    "MUT_001": "Type is invalid.",
    "MUT_002": "Invoice number is missing.",
    "MUT_003": "Date is missing.",
    "MUT_004": "Date is invalid.",
    "MUT_005": "Period is closed.",
    "MUT_007": "Unknown ledger for mutation.",
    "MUT_008": "Unknown ledger category for mutation.",
    "MUT_009": "Invalid ledger category for mutation.",
    "MUT_010": "Ledger must be of category creditor.",
    "MUT_011": "Ledger must be of category debtor.",
    "MUT_012": "Relation is missing.",
    "MUT_013": "Relation not found.",
    "MUT_014": "Relation is prohibited.",
    "MUT_015": "Term of payment is not permitted.",
    "MUT_016": "Term of payment is prohibited.",
    "MUT_017": "In/Ex VAT must be 'IN' or 'EX'.",
    "MUT_018": "Invoice number is too long.",
    "MUT_019": "Invoice number already exists.",
    "MUT_020": "Combination relation/invoice number already exists.",
    "MUT_021": "Date of opening balance must be before the first mutation.",
    "MUT_022": "Date of mutation must be after the date of opening balance.",
    "MUT_025": "Opening balance mutation must always be ID 0.",
    "MUT_026": "In/Ex VAT must always be 'EX' on purchases with reverse-charging VAT.",
    "MUT_050": "Unknown administration.",
    "MUT_100": "Rows are missing.",
    "MUT_101": "Too many rows.",
    "MUT_104": "Unknown ledger for row.",
    "MUT_105": "Unknown ledger category for row.",
    "MUT_106": "Invalid ledger category for row.",
    "MUT_107": "Ledger of row must be of category creditor.",
    "MUT_108": "Ledger of row must be of category debtor.",
    "MUT_109": "Invalid VAT code.",
    "MUT_110": "VAT code must be of type purchase.",
    "MUT_111": "VAT code must be of type sale.",
    "MUT_112": "Relation is missing.",
    "MUT_113": "Relation not found.",
    "MUT_114": "Relation is not permitted.",
    "MUT_115": "Invoice not found.",
    "MUT_116": "Invoice is not permitted.",
    "MUT_117": "Cost center not found.",
    "MUT_118": "Ledger is not in balance.",
    "MUT_120": "Invoice number is missing.",
    "MUT_300": "Mutation not found.",
    "MUT_901": "Not all ledgers exist.",
}

# What an error means to the booking code (the one place codes become outcomes).
CODE_TAKEN = "code_taken"  # the relation code exists already: take the next free one
DUPLICATE_NUMBER = "duplicate_number"  # a booking with this sales number exists: look it up, adopt it if it is ours
RELATION_GONE = "relation_gone"  # the relation the booking names does not exist (any more): resolve the debtor again
SESSION_EXPIRED = "session_expired"  # open a new session and repeat the call once
OUTCOMES: dict[str, str] = {
    "REL_049": CODE_TAKEN,
    "MUT_019": DUPLICATE_NUMBER,
    "MUT_020": DUPLICATE_NUMBER,
    "FACT_101": DUPLICATE_NUMBER,
    "MUT_013": RELATION_GONE,
    "MUT_113": RELATION_GONE,
    "FACT_002": RELATION_GONE,
    "SECURITY_010": SESSION_EXPIRED,
}


def meaning_of(code: str) -> str | None:
    """The outcome an official error code stands for (None: a refusal to show as it is)."""
    return OUTCOMES.get(code)


# ---- endpoints: bodies, answers and query parameters --------------------------------------------

STRING_OPERATORS = frozenset({"eq", "not_eq", "like", "not_like"})
NUMBER_OPERATORS = frozenset({"eq", "not_eq", "gt", "gte", "lt", "lte", "range"})
_OLD_SYNTAX = re.compile(r"^\[(eq|not_eq|like|not_like|gt|gte|lt|lte|range)\]")
_PARAM = re.compile(r"^(\w+)(?:\[(\w+)\])?$")


class Endpoint(BaseModel):
    """One operation: its request body model, its answer model (list items for a list) and its filters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    method: str
    path: str  # template, {id} for an id
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    listing: bool = False
    filters: dict[str, str] = {}  # parameter → "string" | "number" | "date" | "exact"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(method="POST", path="/v1/session", body=StartSession, answer=Session),
    Endpoint(method="DELETE", path="/v1/session"),  # end_session: "Revokes the session token." (empty answer; 401)
    Endpoint(method="POST", path="/v1/relation", body=CreateRelation, answer=CreatedRelation),
    Endpoint(method="GET", path="/v1/relation/{id}", answer=Relation),
    Endpoint(
        method="GET", path="/v1/relation", answer=RelationListItem, listing=True,
        filters={"code": "string", "type": "string", "email": "string", "name": "string", "contact": "string", "city": "string"},
    ),
    Endpoint(method="GET", path="/v1/ledger", answer=LedgerListItem, listing=True, filters={"code": "string", "category": "string"}),
    Endpoint(method="GET", path="/v1/ledger/{id}"),
    Endpoint(method="POST", path="/v1/mutation", body=CreateMutation, answer=CreatedMutation),
    Endpoint(method="GET", path="/v1/mutation/{id}", answer=Mutation),
    Endpoint(
        method="GET", path="/v1/mutation", answer=MutationListItem, listing=True,
        filters={"type": "number", "id": "number", "description": "string", "invoiceNumber": "string", "date": "date"},
    ),
    Endpoint(
        method="GET", path="/v1/mutation/invoice/outstanding", answer=OutstandingInvoiceListItem, listing=True,
        filters={"credDeb": "exact", "invoiceNumber": "string"},
    ),
    Endpoint(method="POST", path="/v1/invoice", body=CreateInvoice, answer=CreatedInvoice),
    Endpoint(method="GET", path="/v1/invoice/{id}"),
    Endpoint(
        method="GET", path="/v1/invoice", answer=InvoiceListItem, listing=True,
        filters={"invoiceNumber": "string", "relationId": "number", "date": "date"},
    ),
    Endpoint(
        method="GET", path="/v1/invoicetemplate", answer=InvoiceTemplateListItem, listing=True,
        filters={"name": "string", "type": "string", "active": "exact"},
    ),
)  # fmt: skip
_ID = re.compile(r"/\d+(?=/|$)")


def endpoint_of(method: str, path: str) -> Endpoint | None:
    """The operation a request is for (path with ids, e.g. /v1/mutation/12 → /v1/mutation/{id}); None if undocumented."""
    template = _ID.sub("/{id}", "/" + path.strip("/"))
    if template.startswith("/") and "/v1/" in template:
        template = template[template.index("/v1/") :]
    return next((e for e in ENDPOINTS if e.method == method.upper() and e.path == template), None)


def _errors(model: type[BaseModel], data: Any, where: str) -> list[str]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [f"{where}: {'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in exc.errors()]
    return []


def check_query(endpoint: Endpoint, query: str | list[tuple[str, str]]) -> list[str]:
    """Violations of the query string: unknown parameters, operators, old '[op]value' syntax, limit/offset."""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query)
    problems = []
    seen: set[str] = set()
    where = f"{endpoint.method} {endpoint.path}"
    for name, value in pairs:
        if endpoint.listing and name in ("limit", "offset"):
            if not re.fullmatch(r"\d+", value):
                problems.append(f"{where}: {name}={value!r} is not a whole number")
            elif name == "limit" and not 1 <= int(value) <= MAX_LIMIT:
                problems.append(f"{where}: limit={value} is outside 1..{MAX_LIMIT} (PAGE_001)")
            continue
        match = _PARAM.match(name)
        base, operator = (match.group(1), match.group(2) or "eq") if match else (name, "eq")
        kind = endpoint.filters.get(base)
        if kind is None:
            problems.append(f"{where}: query parameter {name!r} is not in the description")
            continue
        if base in seen:
            problems.append(f"{where}: more than one filter on {base!r}")
        seen.add(base)
        allowed = {"string": STRING_OPERATORS, "number": NUMBER_OPERATORS, "date": NUMBER_OPERATORS, "exact": {"eq"}}[kind]
        if operator not in allowed:
            problems.append(f"{where}: operator [{operator}] is not allowed on {base!r} ({kind})")
        if _OLD_SYNTAX.match(value):
            problems.append(f"{where}: {name}={value!r} puts the operator in the value; the API reads it as a literal (use {base}[op]=value)")
        if operator == "range" and value.count(",") != 1:
            problems.append(f"{where}: {name}={value!r} needs two bounds a,b")
    return problems


def check_request(method: str, path: str, query: str | list[tuple[str, str]] = "", body: bytes | str | Any = None) -> list[str]:
    """Violations of one request a client sends (empty when it conforms to the description)."""
    method = method.upper()
    endpoint = endpoint_of(method, path)
    if endpoint is None:
        return [f"{method} {path} is not in the official description"]
    problems = check_query(endpoint, query)
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body) if body else None
        except ValueError:
            return [*problems, f"{method} {endpoint.path}: the body is not JSON"]
    if endpoint.body is not None:
        if body is None:
            problems.append(f"{method} {endpoint.path}: no body")
        else:
            problems += _errors(endpoint.body, body, f"{method} {endpoint.path} body")
            problems += [
                f"{method} {endpoint.path} body: {long.path} has {long.length} characters, at most {long.maximum} are allowed"
                + (f" ({long.code} {ERROR_CODES[long.code]})" if long.code else "")
                for long in too_long(endpoint.body.__name__, body)
            ]
    elif body not in (None, b"", ""):
        problems.append(f"{method} {endpoint.path}: a body where none belongs")
    return problems


def check_answer(method: str, path: str, status: int, body: bytes | str | Any) -> list[str]:
    """Violations of one answer a server gives (list items with fields the real API does not return, unknown codes...)."""
    endpoint = endpoint_of(method, path)
    where = f"{method.upper()} {endpoint.path if endpoint else path} → {status}"
    if isinstance(body, (bytes, str)):
        if not body:
            # no body: a 204, an endpoint that answers none (DELETE /v1/session), the description's bare 401s, a 404/405
            empty = status == 204 or status in (401, 404, 405) or (status < 300 and endpoint is not None and endpoint.answer is None)
            return [] if empty else [f"{where}: empty answer"]
        try:
            body = json.loads(body)
        except ValueError:
            return [f"{where}: the answer is not JSON"]
    if status >= 400:
        refused_session = status == 403 and endpoint is not None and (endpoint.method, endpoint.path) == ("POST", "/v1/session")
        problems = _errors(SecurityError if refused_session else Error, body, f"{where} error")
        code = body.get("code") if isinstance(body, Mapping) else None
        if code and code not in ERROR_CODES:
            problems.append(f"{where}: error code {code!r} is not in the official table")
        elif code and isinstance(body, Mapping) and body.get("title") != ERROR_CODES[code]:
            problems.append(f"{where}: {code} means {ERROR_CODES[code]!r}, not {body.get('title')!r}")
        return problems
    if endpoint is None or endpoint.answer is None:
        return []
    if endpoint.listing:
        if not isinstance(body, Mapping) or set(body) != {"items", "count"}:
            return [f"{where}: a list answers {{items, count}}, not {sorted(body) if isinstance(body, Mapping) else type(body).__name__}"]
        problems = []
        if not isinstance(body["count"], int) or body["count"] != len(body["items"]):
            problems.append(f"{where}: count {body['count']!r} is not the number of items retrieved ({len(body['items'])})")
        for index, item in enumerate(body["items"]):
            problems += _errors(endpoint.answer, item, f"{where} items[{index}]")
        return problems
    return _errors(endpoint.answer, body, where)
