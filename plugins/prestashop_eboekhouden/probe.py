"""``python -m prestashop_eboekhouden.setup probe <tenant>``: what the official descriptions leave open, checked
against the tenant's own shop and administration before the first live run (issue 22, item 4).

READ-ONLY: it reads through the tenant's connections, resolved as the tasks resolve them (the tenant file's
connection ids; the legacy SOAP backend when the e-Boekhouden connection's extra says ``api: soap``). Towards
e-Boekhouden it sends GET requests and opens and closes its session (``POST`` / ``DELETE /v1/session``; SOAP:
OpenSession, the Get… operations and CloseSession); towards PrestaShop only GET; towards VIES one checkVat of a
number nobody has. It prints ONE table — behaviour, expected, seen, what the integration does about it — and keeps
what it learnt in the state store (``store_probe.py``), where the booking tasks' hooks and the dashboard's
Configuration tab find it. Exit code 1 when a finding blocks booking (a ledger missing or of the wrong category, a
resource the tasks need that the key may not read, a key PrestaShop never receives, ...), else 0.

The rules that turn what was seen into findings are pure functions (``*_findings``), tested with tables of cases; the
functions that ask the APIs (``probe_eboekhouden``, ``probe_prestashop``, ``probe_vies_for``) only gather evidence.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from prestashop_eboekhouden.config import VAT_OSS, TenantConfig, prestashop_connection_problems
from prestashop_eboekhouden.contract.eboekhouden import MAX_LIMIT, VatCode
from prestashop_eboekhouden.domain.payloads import VAT_CODE_RATES
from prestashop_eboekhouden.domain.relations import normalize_email
from prestashop_eboekhouden.hooks.base import DEFAULT_TIMEOUT, ApiError, TransientError, redact_url
from prestashop_eboekhouden.hooks.eboekhouden import EBoekhoudenHook
from prestashop_eboekhouden.hooks.eboekhouden_soap import EBoekhoudenSoapHook
from prestashop_eboekhouden.hooks.prestashop import WEBSERVICE_SETTINGS, PrestaShopHook, PrestaShopPermissionError, _prestashop_error
from prestashop_eboekhouden.validate import PURCHASE_VAT_CODES, SALES_VAT_CODES

OK, NOTE, BLOCKS, NOT_SEEN = "ok", "note", "BLOCKS", "not seen"
EB, PS, VIES = "e-Boekhouden", "PrestaShop", "VIES"
LIST_LIMIT = MAX_LIMIT  # what the probe asks per page: the most the description allows
DEFAULT_PAGE = 100  # what the API answers without limit (documented); the hooks trust a page shorter than this as the last
MAX_PAGES = 5  # pages read per list to measure its page size (more only says "more than")
PICK = 10  # relations read (GET /v1/relation/{id}) to find one with an e-mail address
VIES_TIMEOUT = 20.0
# A sale's debtor ledger is the header of a type 2 mutation (MUT_011 when it is not DEB); its rows may not book to a
# financial, creditor or debtor ledger (MUT_106); a payment's ledger is the header of a type 3 mutation (FIN: MUT_009).
DEBTOR, ROW, FINANCIAL = "debtor", "row", "financial"
ROW_EXCLUDED = frozenset({"FIN", "CRED", "DEB"})
ROLE_TEXT = {
    DEBTOR: ("category DEB (a sale's debtor ledger)", "MUT_011"),
    ROW: ("not FIN, CRED or DEB (a sale's rows)", "MUT_106"),
    FINANCIAL: ("category FIN (a payment's ledger)", "MUT_009"),
}
# Every resource the tasks read (PrestaShopHook), in the order the table shows them.
RESOURCES = (
    "orders", "order_details", "order_payments", "order_slip", "customers", "addresses", "countries", "taxes", "order_states",
    "currencies", "configurations", "products", "groups",
)  # fmt: skip


@dataclass
class Finding:
    """One row of the probe's table."""

    system: str
    behaviour: str
    expected: str
    seen: str
    action: str  # what the integration does about it
    status: str = OK  # ok | note (differs, the integration copes) | BLOCKS | not seen

    @property
    def blocks(self) -> bool:
        return self.status == BLOCKS


@dataclass
class Probe:
    """The outcome of one probe of a tenant."""

    tenant: str
    probed_at: dt.datetime
    findings: list[Finding] = field(default_factory=list)
    learnt: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)  # system → which connection, where (no credentials)
    eboekhouden_api: str | None = None
    eboekhouden_url: str | None = None

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocks]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant, "probed_at": self.probed_at.isoformat(timespec="seconds") + "Z", "ok": self.ok,
            "blocking": len(self.blocking), "connections": self.connections, "findings": [asdict(f) for f in self.findings],
            "learnt": self.learnt,
        }  # fmt: skip


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


# ---- e-Boekhouden: the rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """What one list answered when asked with limit=2000, page by page."""

    name: str
    sizes: tuple[int, ...]
    complete: bool  # read up to an empty page (else stopped after MAX_PAGES)

    @property
    def total(self) -> int:
        return sum(self.sizes)

    @property
    def capped_at(self) -> int | None:
        """The server's page size when a page of fewer than 2000 items was followed by more; None when not seen."""
        if len(self.sizes) >= 2 and self.sizes[0] < LIST_LIMIT:
            return self.sizes[0]
        return None

    @property
    def steady(self) -> bool:
        """Every page but the last as large as the first, the last no larger."""
        return all(size == self.sizes[0] for size in self.sizes[:-1]) and (not self.sizes or self.sizes[-1] <= self.sizes[0])

    def describe(self) -> str:
        if not self.sizes:
            return f"{self.name}: none"
        total = f"{self.total}" if self.complete else f"more than {self.total}"
        pages = "" if len(self.sizes) == 1 else f" (pages of {', '.join(str(s) for s in self.sizes)})"
        return f"{self.name}: {self.sizes[0]} of {total}{pages}"


def page_size_findings(listings: Iterable[Listing]) -> tuple[list[Finding], int | None, bool | None]:
    """The page-size finding and what the hooks may use of it: (findings, page_cap, uniform).

    page_cap is the page size the server answered whole (its cap, or 2000 when a page of 2000 came), 1 when pages had
    no steady size (no short page may end a list), None when not seen; uniform is False when lists disagree."""
    listings = [listing for listing in listings if listing.sizes]
    seen = "; ".join(listing.describe() for listing in listings) or "every list is empty"
    behaviour = "page size: a list asked with limit=2000 (how many came back vs how many exist)"
    expected = "up to 2000 items a page (limit 1..2000; count = the items of the page)"
    irregular = [listing.name for listing in listings if not listing.steady]
    if irregular:
        action = ("stored: the hooks end a list only at an empty page (a short page proves nothing here) and learn no cap; "
                  "each list costs one request more")  # fmt: skip
        return [Finding(EB, behaviour, expected, f"{seen}; pages of no steady size in {', '.join(irregular)}", action, NOTE)], 1, False
    caps = {listing.capped_at for listing in listings if listing.capped_at} | {LIST_LIMIT for listing in listings if listing.sizes[0] == LIST_LIMIT}
    if not caps:
        action = (f"nothing stored: lists are read until an empty page or a page shorter than {DEFAULT_PAGE} (the documented default "
                  "page); a cap the server has is learnt at run time the first time a list is longer than it")  # fmt: skip
        return [Finding(EB, behaviour, expected, f"not seen: the administration has fewer items than a page holds ({seen})", action, NOT_SEEN)], None, None
    cap = min(caps)
    larger = [listing.name for listing in listings if listing.sizes[0] > cap]
    if len(caps) > 1 or larger:
        action = (f"stored: lists differ, so the hooks learn no cap at run time (one list's cap would end another early) and end a "
                  f"list at a page shorter than {min(cap, DEFAULT_PAGE)}, else at an empty page")  # fmt: skip
        return [Finding(EB, behaviour, expected, f"{seen}: caps differ per list", action, NOTE)], cap, False
    if cap == LIST_LIMIT:
        action = "stored: a page shorter than 2000 ends a list once a page of 2000 came in the task (before that: shorter than 100)"
        return [Finding(EB, behaviour, expected, f"{seen}: a full page of 2000, no cap below it", action, OK)], cap, True
    if cap < DEFAULT_PAGE:
        action = (f"stored: the hooks end a list only at a page shorter than {cap} (without the probe they would trust a page "
                  f"shorter than {DEFAULT_PAGE} as the last and miss items); run the probe again when e-Boekhouden changes it")  # fmt: skip
    else:
        action = (f"stored: a page shorter than {cap} ends a list once a page of {cap} came in the task (before that: shorter than "
                  f"{DEFAULT_PAGE}); listing all open items is estimated in pages of {cap}")  # fmt: skip
    return [Finding(EB, behaviour, expected, f"{seen}: at most {cap} a page whatever limit asks", action, NOTE)], cap, True


def ledger_roles(config: TenantConfig) -> dict[str, list[tuple[str, str]]]:
    """Ledger code → [(the tenant file's field, role)] for every ledger the file names."""
    roles: dict[str, list[tuple[str, str]]] = {}
    roles.setdefault(config.eboekhouden.debtor_ledger, []).append(("eboekhouden.debtor_ledger", DEBTOR))
    vat = config.vat
    mappings = [(f"vat.rates.{rate}", m) for rate, m in vat.rates.items()]
    mappings += [("vat.icp", vat.icp)] if vat.icp else []
    mappings += [("vat.international", vat.international)] if vat.international else []
    mappings += [(f"vat.oss.{country}.{rate}", m) for country, rates in vat.oss.items() for rate, m in rates.items()]
    for where, mapping in mappings:
        roles.setdefault(mapping.revenue_ledger, []).append((f"{where}.revenue_ledger", ROW))
        if mapping.vat_ledger:
            roles.setdefault(mapping.vat_ledger, []).append((f"{where}.vat_ledger", ROW))
    if config.payments.enabled:
        for method, code in config.payments.ledgers.items():
            roles.setdefault(code, []).append((f"payments.ledgers.{method}", FINANCIAL))
    return roles


def _fits(role: str, category: str) -> bool:
    return {DEBTOR: category == "DEB", FINANCIAL: category == "FIN", ROW: category not in ROW_EXCLUDED}[role]


def ledger_findings(config: TenantConfig, ledgers: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """One row per ledger the tenant file names: it exists, in a category e-Boekhouden accepts where it is used."""
    found = []
    for code, uses in ledger_roles(config).items():
        fields = [where for where, _ in uses]
        named = ", ".join(fields[:2]) + (f" and {len(fields) - 2} more" if len(fields) > 2 else "")
        roles = list(dict.fromkeys(role for _, role in uses))
        expected = "exists; " + " and ".join(ROLE_TEXT[role][0] for role in roles)
        behaviour = f"ledger {code} ({named})"
        ledger = ledgers.get(code)
        if ledger is None:
            found.append(Finding(EB, behaviour, expected, "does not exist", "every sale (or payment) that needs it stops with a configuration error: "
                                 "create it in e-Boekhouden or fix the tenant file", BLOCKS))  # fmt: skip
            continue
        category = str(ledger.get("category") or "").strip().upper()
        description = str(ledger.get("description") or "").strip()
        seen = f"{description + ', ' if description else ''}category {category or '(none answered)'}"
        if not category:
            found.append(Finding(EB, behaviour, expected, seen, "e-Boekhouden decides when booking: a refusal lands the order in Errors", NOTE))
            continue
        wrong = [role for role in roles if not _fits(role, category)]
        if wrong:
            codes = "/".join(ROLE_TEXT[role][1] for role in wrong)
            found.append(Finding(EB, behaviour, expected, seen, f"e-Boekhouden refuses every sale or payment booked this way ({codes}): "
                                 "fix the tenant file or the ledger's category", BLOCKS))  # fmt: skip
        else:
            found.append(Finding(EB, behaviour, expected, seen, "booked to it", OK))
    return found


def vat_code_findings(config: TenantConfig, backend: str) -> list[Finding]:
    """The tenant file's VAT codes against what the backend can book (the REST API lists no VAT codes)."""
    codes: dict[str, list[str]] = {}
    vat = config.vat
    mappings = [(f"vat.rates.{rate}", m) for rate, m in vat.rates.items()]
    mappings += [("vat.icp", vat.icp)] if vat.icp else []
    mappings += [("vat.international", vat.international)] if vat.international else []
    mappings += [(f"vat.oss.{country}.{rate}", m) for country, rates in vat.oss.items() for rate, m in rates.items()]
    for where, mapping in mappings:
        codes.setdefault(mapping.vat_code, []).append(where)
    enum = {member.value for member in VatCode}
    if backend == "soap":
        known = set(VAT_CODE_RATES) | {VAT_OSS}
        expected = "sales codes whose VAT the SOAP backend computes itself (the SOAP API lists no VAT codes)"
    else:
        known = (enum & SALES_VAT_CODES) | {VAT_OSS}
        expected = "sales codes of the description's VatCode enum (the REST API lists no VAT codes)"
    found: list[Finding] = []
    for code, places in codes.items():
        if code in known:
            continue
        if code in PURCHASE_VAT_CODES:
            why = "a purchase code: e-Boekhouden refuses it on a sale (MUT_111)"
        elif backend == "soap" and code in enum:
            why = "a code the SOAP backend cannot compute the VAT of: every order with it lands in Errors"
        else:
            why = "not a VAT code e-Boekhouden describes (MUT_109 / FACT_ITEM_014)"
        found.append(Finding(EB, f"VAT code {code} ({', '.join(places[:2])})", expected, why, "every order that needs it lands in Errors: fix the tenant file", BLOCKS))
    if not found:
        plain = sorted(c for c in codes if c != VAT_OSS)
        seen = f"{', '.join(plain)}: known sales codes" + ("; VAT_OSS: booked as GEEN rows (revenue and VAT ledger)" if VAT_OSS in codes else "")
        found.append(Finding(EB, "VAT codes of the tenant file", expected, seen,
                             "booked with them; e-Boekhouden decides per row (a refusal lands the order in Errors)", OK))  # fmt: skip
    return found


@dataclass
class RelationEvidence:
    """What the relation filters answered for one existing relation (REST, or the SOAP keyword search)."""

    relations: int  # how many relations the administration has (at least)
    relation_id: int | None = None  # the relation picked (None: none with an e-mail address among those read)
    email: str = ""
    code: str = ""
    by_email: list[int] | None = None  # ids answered for ?email=<its address>
    other_addresses: bool | None = None  # among them a relation with another address (None: none other to read)
    by_other_case: bool | None = None  # found when asked in other capitals (None: not asked)
    codes_like: list[str] | None = None  # codes answered for code[like]=<its code>%
    codes_exact: list[str] | None = None  # codes answered for code=<its code>


def email_findings(evidence: RelationEvidence, backend: str = "rest") -> list[Finding]:
    """Whether the e-mail lookup filters, and whether it ignores case."""
    if backend == "soap":
        behaviour = "GetRelaties Trefwoord=<e-mail> finds a relation by its address"
        expected = "the relation (the description of the SOAP API does not say which fields the keyword searches)"
    else:
        behaviour = "GET /v1/relation?email= filters"
        expected = "only relations with that address (the description names the filter, not how it matches)"
    case_behaviour = "... and ignores case (the address in other capitals)"
    case_expected = "not described"
    if evidence.relation_id is None:
        seen = "not seen: no relation with an e-mail address among those read" if evidence.relations else "not seen: the administration has no relations"
        return [Finding(EB, behaviour, expected, seen, "checked at run time: every candidate's address is confirmed before it is booked to", NOT_SEEN),
                Finding(EB, case_behaviour, case_expected, "not seen", "looked up as the shop spells it and in lower case", NOT_SEEN)]  # fmt: skip
    who = f"relation {evidence.code or evidence.relation_id}"
    answered = evidence.by_email or []
    found: list[Finding] = []
    if evidence.relation_id not in answered:
        found.append(Finding(EB, behaviour, expected, f"{who} is not answered for its own address ({len(answered)} answered)",
                             "a returning customer would not be found and a second relation created for each: ask e-Boekhouden before booking", BLOCKS))  # fmt: skip
    elif evidence.other_addresses:
        found.append(Finding(EB, behaviour, expected, f"ignored: {len(answered)} relations answered for the address of {who}, with other addresses among them",
                             "still right: every candidate's address is read (GET /v1/relation/{id}) before it is booked to, so each customer "
                             "the store does not know costs a read of every relation (the task log warns)", NOTE))  # fmt: skip
        found.append(Finding(EB, case_behaviour, case_expected, "not seen: the filter is not applied", "—", NOT_SEEN))
        return found
    elif len(answered) == 1 and evidence.relations <= 1 and backend != "soap":
        found.append(Finding(EB, behaviour, expected, "not seen: the administration has one relation, so the answer cannot tell",
                             "checked at run time: every candidate's address is confirmed before it is booked to", NOT_SEEN))  # fmt: skip
    else:
        extra = f" ({len(answered)} relations share it)" if len(answered) > 1 else ""
        seen = f"found: {who} by its address" if backend == "soap" else f"honoured: the address of {who} answered {who}{extra}"
        found.append(Finding(EB, behaviour, expected, seen,
                             "one request per customer the store does not know; the candidate's address is confirmed before it is booked to", OK))  # fmt: skip
    if evidence.by_other_case is None:
        found.append(Finding(EB, case_behaviour, case_expected, "not seen", "looked up as the shop spells it and in lower case", NOT_SEEN))
    elif evidence.by_other_case:
        found.append(Finding(EB, case_behaviour, case_expected, "yes: found in other capitals", "a customer is found however the shop spells the address", OK))
    else:
        found.append(Finding(EB, case_behaviour, case_expected, "no: not found in other capitals",
                             "looked up as the shop spells it and in lower case; a relation e-Boekhouden holds in other capitals than both is "
                             "not found, and a second one is created for that customer (check Relations after the first runs)", NOTE))  # fmt: skip
    return found


def stray_codes(evidence: RelationEvidence) -> list[str]:
    """Answered codes that do not match what was asked (the sign of a filter the API does not apply)."""
    folded = evidence.code.casefold()
    return [c for c in evidence.codes_like or [] if not c.casefold().startswith(folded)] + [
        c for c in evidence.codes_exact or [] if c.casefold() != folded
    ]


def code_findings(evidence: RelationEvidence, backend: str = "rest") -> list[Finding]:
    """Whether the relation code filters (code, code[like]) are applied."""
    if backend == "soap":
        behaviour = "GetRelaties Trefwoord=<code> finds the codes that start with it"
        expected = "the relation (a new debtor's code is the first free one for its base name)"
    else:
        behaviour = "GET /v1/relation?code[like]=Base% and ?code= filter"
        expected = "only relations whose code starts with (is) the one asked"
    if not evidence.code:
        return [Finding(EB, behaviour, expected, "not seen: no relation with a code", "checked at run time: every answered code is compared", NOT_SEEN)]
    like = evidence.codes_like or []
    exact = evidence.codes_exact
    stray = stray_codes(evidence)
    if stray:
        return [Finding(EB, behaviour, expected, f"ignored: asked for {evidence.code}, answered {len(like)} codes, e.g. {stray[0]}",
                        "still right: every answered code is compared, so a new debtor's code costs a read of every relation code (the task log warns)", NOTE)]  # fmt: skip
    if evidence.code.casefold() not in {c.casefold() for c in like}:
        return [Finding(EB, behaviour, expected, f"{evidence.code} is not answered for its own code",
                        "a code taken already may be proposed: e-Boekhouden refuses it (REL_049) and the next one is tried; "
                        "fixed debtors (by code) are not found", NOTE)]  # fmt: skip
    if backend == "soap":  # the hook keeps only the codes that start with the base: the keyword search's own answer is not seen
        return [Finding(EB, behaviour, expected, f"found: {len(like)} codes start with {evidence.code}", "a new debtor's code costs one request", OK)]
    if len(like) >= evidence.relations:
        return [Finding(EB, behaviour, expected, f"not seen: every relation's code starts with {evidence.code}, so the answer cannot tell",
                        "checked at run time: every answered code is compared", NOT_SEEN)]  # fmt: skip
    exact_text = f"; code={evidence.code} answered {len(exact)}" if exact is not None else ""
    return [Finding(EB, behaviour, expected, f"honoured: {evidence.code}… answered {len(like)} of {evidence.relations} relations{exact_text}",
                    "a new debtor's code costs one request; every answered code is compared", OK)]  # fmt: skip


def revoke_finding(answer: Any, backend: str) -> Finding:
    """What closing the session answered."""
    if backend == "soap":
        behaviour, expected = "CloseSession", "the session is closed"
        good = answer == "answered"
    else:
        behaviour, expected = "DELETE /v1/session (end_session)", "200: the session token is revoked"
        good = isinstance(answer, int) and 200 <= answer < 300
    action = "each task closes its session when done, best effort"
    if good:
        return Finding(EB, behaviour, expected, f"answered {answer}" if backend != "soap" else "closed", action, OK)
    if answer is None:
        return Finding(EB, behaviour, expected, "not seen: no session was open", action, NOT_SEEN)
    return Finding(EB, behaviour, expected, f"answered {answer}", f"{action}: a refusal never fails a task, the session then expires by itself", NOTE)


# ---- e-Boekhouden: asking -----------------------------------------------------------------------------------------


class _RestProbeHook(EBoekhoudenHook):
    """The REST hook, keeping what DELETE /v1/session answered."""

    revoke_answer: Any = None

    def _revoke(self, token: str) -> None:
        try:
            self._count("DELETE", "v1/session")
            answer = self.session().delete(self.url_from_endpoint("v1/session"), headers={"Authorization": token}, timeout=self._timeout)
            self.revoke_answer = answer.status_code
        except requests.RequestException as exc:
            self.revoke_answer = f"nothing ({type(exc).__name__})"


class _SoapProbeHook(EBoekhoudenSoapHook):
    """The legacy SOAP hook, keeping what CloseSession answered."""

    revoke_answer: Any = None

    def _revoke(self, session_id: str) -> None:
        try:
            error = self._error_of(self._send("CloseSession", {"SessionID": session_id}))
            self.revoke_answer = "answered" if error is None else error.reason
        except Exception as exc:  # noqa: BLE001 - reported in the table
            self.revoke_answer = f"nothing ({type(exc).__name__})"


def _read_list(hook: EBoekhoudenHook, endpoint: str, name: str, params: dict | None = None, *, keep_all: bool = False,
               max_pages: int = MAX_PAGES) -> tuple[Listing, list[dict]]:  # fmt: skip
    """A list asked with limit=2000, page by page up to an empty page (or max_pages): its Listing and its items (all, or the
    first page's)."""
    sizes: list[int] = []
    kept: list[dict] = []
    offset = 0
    while len(sizes) < max_pages:
        data = hook.call("GET", endpoint, params={**(params or {}), "limit": LIST_LIMIT, "offset": offset}) or {}
        page = [item for item in data.get("items") or [] if isinstance(item, dict)]
        if not page:
            return Listing(name, tuple(sizes), True), kept
        if keep_all or not sizes:
            kept.extend(page)
        sizes.append(len(page))
        offset += len(page)
    return Listing(name, tuple(sizes), False), kept


def _one_page(hook: EBoekhoudenHook, params: dict) -> list[dict]:
    data = hook.call("GET", "v1/relation", params={**params, "limit": LIST_LIMIT, "offset": 0}) or {}
    return [item for item in data.get("items") or [] if isinstance(item, dict)]


def _email_of(hook: EBoekhoudenHook, relation_id: int) -> str | None:
    try:
        record = hook.call("GET", f"v1/relation/{int(relation_id)}") or {}
    except ApiError:
        return None
    return str(record.get("emailAddress") or "").strip()


def _other_case(email: str) -> str:
    return email.upper() if email != email.upper() else email.lower()


def rest_relation_evidence(hook: EBoekhoudenHook, first_page: list[dict], relations: int) -> RelationEvidence:
    """Pick an existing relation with an e-mail address and ask the filters about it (GET requests only)."""
    evidence = RelationEvidence(relations)
    for item in first_page[:PICK]:
        if not item.get("id"):
            continue
        email = _email_of(hook, int(item["id"]))
        if email:
            evidence.relation_id, evidence.email, evidence.code = int(item["id"]), email, str(item.get("code") or "")
            break
    if evidence.relation_id is None:
        evidence.code = next((str(i.get("code")) for i in first_page if i.get("code")), "")
    else:
        answered = _one_page(hook, {"email": evidence.email})
        evidence.by_email = [int(i["id"]) for i in answered if i.get("id")]
        others = [rid for rid in evidence.by_email if rid != evidence.relation_id][:3]
        if others:
            wanted = normalize_email(evidence.email)
            evidence.other_addresses = any(normalize_email(_email_of(hook, rid) or "") != wanted for rid in others)
        variant = _other_case(evidence.email)
        if not evidence.other_addresses and variant != evidence.email and evidence.relation_id in evidence.by_email:
            evidence.by_other_case = evidence.relation_id in [int(i["id"]) for i in _one_page(hook, {"email": variant}) if i.get("id")]
    if evidence.code:
        evidence.codes_like = [str(i.get("code") or "") for i in _one_page(hook, {"code[like]": f"{evidence.code}%"})]
        evidence.codes_exact = [str(i.get("code") or "") for i in _one_page(hook, {"code": evidence.code})]
    return evidence


def _guarded(findings: list[Finding], behaviour: str, expected: str, check: Any) -> Any:
    """Run one check; when the API fails it, a 'not seen' row says why (the other checks still run)."""
    try:
        return check()
    except (ApiError, TransientError, requests.RequestException) as exc:
        findings.append(Finding(EB, behaviour, expected, f"not seen: {_short(exc)}", "checked at run time as without the probe", NOT_SEEN))
        return None


def _probe_rest(config: TenantConfig, hook: _RestProbeHook, probe: Probe) -> None:
    findings, learnt = probe.findings, probe.learnt
    try:
        ledger_listing, items = _read_list(hook, "v1/ledger", "ledgers", keep_all=True, max_pages=50)
    except Exception as exc:  # noqa: BLE001 - the connection or the token: nothing else can be checked
        findings.append(Finding(EB, "session (POST /v1/session) and a first list (GET /v1/ledger)", "a session for the connection's API token",
                                _short(exc), "nothing can be booked until this works: fix the connection", BLOCKS))  # fmt: skip
        return
    findings.append(Finding(EB, "session (POST /v1/session)", "a session token for the connection's API token", "opened",
                            "each task opens one when it first needs it"))  # fmt: skip
    findings += ledger_findings(config, {str(i["code"]): i for i in items if i.get("code") is not None})
    findings += vat_code_findings(config, "rest")
    listings = [ledger_listing]
    first_relations: list[dict] = []
    for endpoint, name, params in (
        ("v1/relation", "relations", None), ("v1/mutation", "mutations", None),
        ("v1/mutation/invoice/outstanding", "open items", {"credDeb": "D"}),
        *((("v1/invoice", "invoices", None),) if config.eboekhouden.book_as == "invoice" else ()),
    ):  # fmt: skip
        read = _guarded(findings, f"page size of {name}", "up to 2000 items a page", lambda e=endpoint, n=name, p=params: _read_list(hook, e, n, p))
        if read is not None:
            listings.append(read[0])
            if endpoint == "v1/relation":
                first_relations = read[1]
    page_findings, cap, uniform = page_size_findings(listings)
    findings += page_findings
    learnt.update(page_cap=cap, page_cap_uniform=uniform, pages={x.name: {"sizes": list(x.sizes), "complete": x.complete} for x in listings})
    relations = next((x.total for x in listings if x.name == "relations"), 0)
    evidence = _guarded(findings, "relation filters (email, code[like])", "only matching relations", lambda: rest_relation_evidence(hook, first_relations, relations))
    if evidence is not None:
        findings += email_findings(evidence) + code_findings(evidence)
        learnt["relations"] = {
            "email_filter": None if evidence.by_email is None else ("ignored" if evidence.other_addresses else "honoured"),
            "email_case": None if evidence.by_other_case is None else ("insensitive" if evidence.by_other_case else "sensitive"),
            "code_filter": None if evidence.codes_like is None else ("ignored" if stray_codes(evidence) else "honoured"),
        }  # fmt: skip
    if config.eboekhouden.book_as == "invoice":
        findings.append(_template_finding(hook, config.eboekhouden.invoice_template))


def _template_finding(hook: Any, name: str) -> Finding:
    behaviour, expected = f"invoice template {name!r} (eboekhouden.invoice_template)", "exists"
    try:
        template_id = hook.invoice_template_id(name)
    except (ApiError, TransientError, requests.RequestException) as exc:
        return Finding(EB, behaviour, expected, f"not seen: {_short(exc)}", "read when the first invoice is booked", NOT_SEEN)
    except Exception as exc:  # noqa: BLE001 - ConfigurationError: the template does not exist
        return Finding(EB, behaviour, expected, _short(exc), "every invoice stops with a configuration error: create it or fix the tenant file", BLOCKS)
    return Finding(EB, behaviour, expected, f"exists (id {template_id})", "invoices are made with it")


def _probe_soap(config: TenantConfig, hook: _SoapProbeHook, probe: Probe) -> None:
    findings = probe.findings
    try:
        ledgers = hook.ledgers()
    except Exception as exc:  # noqa: BLE001 - the connection or the credentials: nothing else can be checked
        findings.append(Finding(EB, "OpenSession and GetGrootboekrekeningen", "a session for the connection's username and security codes",
                                _short(exc), "nothing can be booked until this works: fix the connection", BLOCKS))  # fmt: skip
        return
    findings.append(Finding(EB, "OpenSession", "a session for the username and security codes", "opened", "each task opens one, renewed every 15 minutes"))
    findings += ledger_findings(config, ledgers)
    findings += vat_code_findings(config, "soap")
    findings.append(Finding(EB, "page size", "whole lists (the SOAP API has no paging)", "not seen: not applicable", "—", NOT_SEEN))

    def evidence() -> RelationEvidence:
        relations = list(hook.relations())
        found = RelationEvidence(len(relations))
        picked = next((r for r in relations if str(r.get("emailAddress") or "").strip()), None)
        if picked is None:
            found.code = next((r["code"] for r in relations if r.get("code")), "")
        else:
            found.relation_id, found.email, found.code = int(picked["id"]), str(picked["emailAddress"]).strip(), str(picked.get("code") or "")
            match = hook.relation_by_email(found.email)
            found.by_email = [int(match["id"])] if match else []
            if match and _other_case(found.email) != found.email:
                again = hook.relation_by_email(_other_case(found.email))
                found.by_other_case = again is not None and int(again["id"]) == found.relation_id
        if found.code:
            found.codes_like = hook.relation_codes_like(found.code)
        return found

    seen = _guarded(findings, "GetRelaties by keyword", "the relation", evidence)
    if seen is not None:
        findings += email_findings(seen, "soap") + code_findings(seen, "soap")
    if config.eboekhouden.book_as == "invoice":
        findings.append(Finding(EB, f"invoice template {config.eboekhouden.invoice_template!r}", "exists",
                                "not seen: the SOAP API lists no templates", "an unknown one is refused when the first invoice is added (AddFactuur)", NOT_SEEN))  # fmt: skip


def probe_eboekhouden(config: TenantConfig, probe: Probe) -> None:
    """The administration's checks through the tenant's e-Boekhouden connection (REST or legacy SOAP)."""
    from prestashop_eboekhouden.hooks.backends import SOAP, backend_of

    conn_id = config.eboekhouden_conn_id
    try:
        backend = backend_of(conn_id)
        hook = (_SoapProbeHook if backend == SOAP else _RestProbeHook)(conn_id, max_attempts=2)
        hook.session()
        probe.eboekhouden_api, probe.eboekhouden_url = ("soap" if backend == SOAP else "rest"), redact_url(hook.base_url or "")
    except Exception as exc:  # noqa: BLE001 - e.g. the connection does not exist
        probe.findings.append(Finding(EB, f"connection {conn_id}", "an Airflow connection to the administration", _short(exc),
                                      "nothing can be booked until it exists", BLOCKS))  # fmt: skip
        return
    probe.connections[EB] = f"{conn_id}: {'legacy SOAP API' if probe.eboekhouden_api == 'soap' else 'REST API'} at {probe.eboekhouden_url}"
    try:
        if isinstance(hook, _SoapProbeHook):
            _probe_soap(config, hook, probe)
        else:
            _probe_rest(config, hook, probe)
    finally:
        hook.close_session()
        if hook.revoke_answer is not None:
            probe.findings.append(revoke_finding(hook.revoke_answer, probe.eboekhouden_api or "rest"))
            probe.learnt["session_close"] = hook.revoke_answer
        hook.close()


# ---- PrestaShop -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RootAnswer:
    """What GET /api/ answered with the key sent one way (basic: HTTP Basic user name; query: ws_key)."""

    mode: str
    kind: str  # answered | no key (a bare 401: the key never arrived) | refused (401 with PrestaShop's code) | error | no answer
    status: int | None = None
    code: int | None = None
    message: str = ""
    version: str | None = None
    data: Any = None

    def describe(self) -> str:
        how = "HTTP Basic" if self.mode == "basic" else "ws_key"
        if self.kind == "answered":
            return f"{how}: answered"
        if self.kind == "no key":
            return f"{how}: 401 without a code (the key never reached PrestaShop)"
        if self.kind == "refused":
            return f"{how}: 401, code {self.code}" + (f" ({self.message})" if self.message else "")
        if self.kind == "error":
            return f"{how}: {self.status}" + (f" ({self.message})" if self.message else "")
        return f"{how}: no answer ({self.message})"


def auth_findings(conn_mode: str, basic: RootAnswer, query: RootAnswer, where: str) -> tuple[list[Finding], str | None]:
    """How the key reaches PrestaShop, and the mode the rest of the probe reads with (None: neither works)."""
    behaviour, expected = "the key as HTTP Basic user name, and as ws_key (GET /api/)", "both answered (PrestaShop reads either)"
    version = basic.version or query.version
    seen = f"{basic.describe()}; {query.describe()}" + (f"; PrestaShop {version}" if version else "")
    mode_text = "the connection sends it as " + ("ws_key (extra auth: query)" if conn_mode == "query" else "HTTP Basic user name")
    works = {answer.mode for answer in (basic, query) if answer.kind == "answered"}
    if conn_mode in works:
        if basic.kind == "no key":
            seen += ": the host (php-fpm/CGI) strips the Authorization header"
        return [Finding(PS, behaviour, expected, seen, f"{mode_text}: right for this host")], conn_mode
    if basic.kind == "no key" and query.kind == "answered":
        return [Finding(PS, behaviour, expected, f"{seen}: the host (php-fpm/CGI) strips the Authorization header",
                        f'{mode_text}: every request of the tasks is answered 401; set the connection\'s extra {{"auth": "query"}}', BLOCKS)], "query"  # fmt: skip
    if works:
        other = works.pop()
        fix = 'remove extra "auth" (or set it to "basic")' if other == "basic" else 'set the connection\'s extra {"auth": "query"}'
        return [Finding(PS, behaviour, expected, seen, f"{mode_text}, which PrestaShop refuses: {fix}", BLOCKS)], other
    refused = next((a for a in (basic, query) if a.kind == "refused"), None)
    if refused is not None:
        action = f"nothing can be read: check that the key is right and enabled under {WEBSERVICE_SETTINGS}"
    elif basic.kind == query.kind == "no answer":
        action = f"nothing can be read: the shop did not answer at {where}"
    else:
        action = f"nothing can be read: check the connection's host ({where}) and the shop's webservice (enabled?)"
    return [Finding(PS, behaviour, expected, seen, action, BLOCKS)], None


def root_resources(data: Any) -> dict[str, set[str]] | None:
    """The resources GET /api/ lists for the key, with the methods it may use; None for a shape this does not read."""
    api = data.get("api") if isinstance(data, dict) else None
    if not isinstance(api, dict):
        return None
    listed = {}
    for name, attrs in api.items():
        if name.startswith("@") or not isinstance(attrs, dict):
            continue
        if isinstance(attrs.get("@attributes"), dict):
            attrs = attrs["@attributes"]
        listed[name] = {m.upper() for m in ("get", "put", "post", "patch", "delete", "head") if str(attrs.get(m, "")).strip().lower() in ("true", "1")}
    return listed


READABLE, NOT_GRANTED, NO_GET = "readable", "not granted", "no GET"


def resource_need(resource: str, config: TenantConfig) -> tuple[str, str]:
    """(required | optional | unused, what the integration does without the resource)."""
    slips, payments = config.prestashop.credit_slips, config.payments.enabled
    needs = {
        "orders": ("required", "no order can be read: nothing is booked"),
        "order_details": ("required", "no order's lines can be read: nothing is booked"),
        "customers": ("required", "no debtor can be read: nothing is booked"),
        "addresses": ("required", "no address (VAT regime, debtor) can be read: nothing is booked"),
        "countries": ("required", "no country can be read: nothing is booked"),
        "taxes": ("required", "no line's VAT rate can be read: nothing is booked"),
        "order_states": ("required", "which orders to book is unknown: every hourly run fails"),
        "configurations": ("unused", "not needed: prestashop.shop_country is set") if config.prestashop.shop_country
        else ("required", "the shop's country (PS_COUNTRY_DEFAULT) is unknown: set prestashop.shop_country, or tick View"),
        "order_payments": ("required", "no payment can be read: payments_daily fails") if payments
        else ("unused", "not needed: payments.enabled is false"),
        "order_slip": ("required", "credit slips cannot be read: book_credits fails every run (or set prestashop.credit_slips: false "
                                   "and book refunds by hand)") if slips
        else ("unused", "not needed: prestashop.credit_slips is false"),
        "groups": ("optional", "a credit slip with a chosen amount goes to Errors (whether its customer saw prices incl. or excl. VAT "
                               "is unknown); other slips are booked") if slips
        else ("unused", "not needed: prestashop.credit_slips is false"),
        "currencies": ("optional", "an order in another currency is recognised only by its conversion rate (≠ 1)"),
        "products": ("optional", "a line without a SKU is booked without a product code"),
    }  # fmt: skip
    return needs[resource]


def resource_findings(config: TenantConfig, states: Mapping[str, str], listed: Mapping[str, set[str]] | None) -> list[Finding]:
    """A row for the webservice root's listing and one per resource the tasks read, from what GET answered."""
    found = []
    wanted = [r for r in RESOURCES if r in states]
    if listed is None:
        found.append(Finding(PS, "resources the key lists (GET /api/)", "the resources below, each with GET (View)",
                             "not seen: the root answered in a shape the probe does not read", "each resource was asked directly (below)", NOT_SEEN))  # fmt: skip
    else:
        lacking = [r for r in wanted if "GET" not in listed.get(r, set())]
        differs = [r for r in wanted if ("GET" in listed.get(r, set())) != (states[r] == READABLE)]
        seen = f"{len(listed)} resources; {'every one below with GET' if not lacking else 'without GET: ' + ', '.join(lacking)}"
        if differs:
            seen += f"; the listing and the answers differ for {', '.join(differs)}"
        found.append(Finding(PS, "resources the key lists (GET /api/)", "the resources below, each with GET (View)", seen,
                             "each resource was asked directly too (below): the answers count", NOTE if differs else OK))  # fmt: skip
    for resource in wanted:
        need, without = resource_need(resource, config)
        state = states[resource]
        behaviour = f"read {resource}"
        expected = {"required": "View (GET)", "optional": "View (GET); optional", "unused": "not needed"}[need]
        if state == READABLE:
            found.append(Finding(PS, behaviour, expected, "readable", "read" if need != "unused" else "not read (not needed)", OK))
            continue
        fix = f" (tick View for {resource} on this key under {WEBSERVICE_SETTINGS})" if need != "unused" else ""
        status = {"required": BLOCKS, "optional": NOTE, "unused": OK}[need]
        found.append(Finding(PS, behaviour, expected, state, without + fix, status))
    return found


class _ShopProbeHook(PrestaShopHook):
    """The PrestaShop hook, reading with the key sent the way that works (the connection's own, when it works)."""

    def __init__(self, conn_id: str, *, auth_mode: str, **kwargs: Any):
        super().__init__(conn_id, **kwargs)
        self._wanted_mode = auth_mode

    def _configure_auth(self, session: requests.Session) -> None:
        super()._configure_auth(session)
        if self._wanted_mode != self.auth_mode:
            connection = self.get_connection(self.conn_id)
            key = (connection.password or connection.login or "").strip()
            if self._wanted_mode == "query":
                session.auth, session.params = None, {"ws_key": key}
            else:
                session.auth, session.params = HTTPBasicAuth(key, ""), {}
            self.auth_mode = self._wanted_mode


def _ask_root(hook: PrestaShopHook, key: str, mode: str) -> RootAnswer:
    """GET /api/ once with the key sent one way (GET only; the key never appears in what is kept)."""
    session = hook.get_conn()
    try:
        session.auth = HTTPBasicAuth(key, "") if mode == "basic" else None
        params = {"output_format": "JSON", **({"ws_key": key} if mode == "query" else {})}
        hook._count("GET", "api")
        response = session.get(hook.url_from_endpoint("api/"), params=params, timeout=DEFAULT_TIMEOUT)
    except requests.RequestException as exc:
        return RootAnswer(mode, "no answer", message=type(exc).__name__)
    finally:
        session.close()
    if response.status_code == 200:
        try:
            data = response.json()
        except ValueError:
            data = None
        return RootAnswer(mode, "answered", 200, version=response.headers.get("PSWS-Version"), data=data)
    code, message = _prestashop_error(response)
    if response.status_code == 401:
        return RootAnswer(mode, "no key" if code is None else "refused", 401, code, message[:200])
    return RootAnswer(mode, "error", response.status_code, code, message[:200])


def _resource_state(hook: PrestaShopHook, resource: str) -> str:
    try:
        hook.request("GET", f"api/{resource}", params={"output_format": "JSON", "display": "[id]", "limit": "0,1"})
        return READABLE
    except PrestaShopPermissionError as exc:
        return f"{NO_GET} (405, code 25: the key has {resource} without View)" if exc.status == 405 else f"{NOT_GRANTED} (401, code 26)"
    except ApiError as exc:
        return f"answered {exc.status}: {exc.reason[:120]}"
    except TransientError as exc:
        return f"no answer: {_short(exc)}"


def probe_prestashop(config: TenantConfig, probe: Probe) -> None:
    """The shop's checks through the tenant's PrestaShop connection (GET requests only)."""
    conn_id = config.prestashop_conn_id
    findings, learnt = probe.findings, probe.learnt
    try:
        hook = PrestaShopHook(conn_id, page_size=config.prestashop.page_size, max_attempts=2)
        connection = hook.get_connection(conn_id)
        hook.get_conn().close()  # sets the base URL the way HttpHook reads the connection
        where = redact_url(hook.url_from_endpoint("api/"))
    except Exception as exc:  # noqa: BLE001 - e.g. the connection does not exist
        findings.append(Finding(PS, f"connection {conn_id}", "an Airflow connection to the shop", _short(exc), "nothing can be read until it exists", BLOCKS))
        return
    extra = connection.extra_dejson or {}
    key = (connection.password or connection.login or "").strip()
    conn_mode = str(extra.get("auth") or "basic")
    probe.connections[PS] = f"{conn_id}: {where} (key sent as {'ws_key' if conn_mode == 'query' else 'HTTP Basic user name'})"
    problems = prestashop_connection_problems(conn_id, key, extra.get("auth"))
    key_seen = f"{len(key)} characters" if key else "no key"
    if problems:
        findings.append(Finding(PS, "webservice key", "32 characters (PrestaShop refuses another length: code 18)", key_seen, "; ".join(problems), BLOCKS))
        return
    findings.append(Finding(PS, "webservice key", "32 characters (PrestaShop refuses another length: code 18)", key_seen, "sent with every request, never logged"))
    basic, query = _ask_root(hook, key, "basic"), _ask_root(hook, key, "query")
    auth, working = auth_findings(conn_mode, basic, query, where)
    findings += auth
    learnt["shop"] = {
        "version": basic.version or query.version, "auth_works": [a.mode for a in (basic, query) if a.kind == "answered"],
        "authorization_stripped": basic.kind == "no key" and query.kind == "answered",
    }  # fmt: skip
    if working is None:
        return
    listed = root_resources((basic if working == "basic" else query).data)
    reader = _ShopProbeHook(conn_id, auth_mode=working, page_size=config.prestashop.page_size, max_attempts=2)
    try:
        states = {resource: _resource_state(reader, resource) for resource in RESOURCES}
    finally:
        reader.close()
    findings += resource_findings(config, states, listed)
    learnt["shop"]["resources"] = {r: ("readable" if s == READABLE else s.split(" (")[0]) for r, s in states.items()}


# ---- VIES -------------------------------------------------------------------------------------------------------------


def vies_findings(config: TenantConfig, answered: Any) -> list[Finding]:
    """Whether VIES answers where this deployment asks it (``answered``: a ViesProbe, None when not asked)."""
    mode = config.vat.vies
    behaviour, expected = "VIES checkVat answers (vies_default, else the official endpoint)", "an answer for a number nobody has"
    if answered is None:
        return [Finding(VIES, behaviour, expected, "not asked: vat.vies is off", "ICP VAT numbers are checked for form and checksum only", NOT_SEEN)]
    if answered.ok:
        return [Finding(VIES, behaviour, expected, answered.message, f"ICP orders are booked once VIES confirms the number (vat.vies: {mode})")]
    if mode == "required":
        action = (f"not blocking: ICP orders wait in Open until VIES answers, at most vat.vies_max_wait_days ({config.vat.vies_max_wait_days}) "
                  "days, then Errors; check vies_default if this lasts")  # fmt: skip
    else:
        action = "not blocking: ICP orders are booked with a note in the task log that VIES could not be asked"
    return [Finding(VIES, behaviour, expected, answered.message, action, NOTE)]


def probe_vies_for(config: TenantConfig, probe: Probe, timeout: float = VIES_TIMEOUT) -> None:
    from prestashop_eboekhouden.hooks.vies import VIES_CONN_ID, probe_vies

    answered = None if config.vat.vies == "off" else probe_vies(VIES_CONN_ID, timeout=timeout)
    if answered is not None:
        probe.connections[VIES] = f"{VIES_CONN_ID}: {answered.endpoint}"
        probe.learnt["vies"] = {"ok": answered.ok, "message": answered.message}
    probe.findings += vies_findings(config, answered)


# ---- the command ------------------------------------------------------------------------------------------------------


def run_probe(config: TenantConfig, now: dt.datetime | None = None) -> Probe:
    """Probe one tenant's shop, administration and VIES (read-only)."""
    probe = Probe(config.tenant, now or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
    probe_eboekhouden(config, probe)
    probe_prestashop(config, probe)
    probe_vies_for(config, probe)
    return probe


def save_probe(probe: Probe, store: Any = None) -> None:
    """Keep the probe in the state store (the hooks use its page size; the dashboard shows it)."""
    from prestashop_eboekhouden.store_probe import ProbeStore

    if store is None:
        from prestashop_eboekhouden.store import get_store

        store = get_store()
    ProbeStore.of(store).save(
        probe.tenant, findings=[asdict(f) for f in probe.findings], learnt={**probe.learnt, "connections": probe.connections},
        blocking=len(probe.blocking), api=probe.eboekhouden_api, url=probe.eboekhouden_url, page_cap=probe.learnt.get("page_cap"),
        page_cap_uniform=probe.learnt.get("page_cap_uniform"), probed_at=probe.probed_at,
    )  # fmt: skip


COLUMNS = (("", 8), ("behaviour", 28), ("expected", 28), ("seen", 40), ("the integration", 46))


def render_table(probe: Probe) -> str:
    """The findings as one plain-text table, a section line per system."""
    lines = [f"Probe of tenant {probe.tenant} at {probe.probed_at:%Y-%m-%d %H:%M} UTC (read-only: nothing was written to the shop or the administration)", ""]
    lines.append("  ".join(title.ljust(width) for title, width in COLUMNS).rstrip())
    lines.append("  ".join("-" * width for _, width in COLUMNS))
    system = None
    for finding in probe.findings:
        if finding.system != system:
            system = finding.system
            lines.append(f"[{system}]" + (f" {probe.connections[system]}" if system in probe.connections else ""))
        cells = [[finding.status]] + [_wrap(text, width) for text, (_, width) in
                                      zip((finding.behaviour, finding.expected, finding.seen, finding.action), COLUMNS[1:], strict=True)]  # fmt: skip
        for n in range(max(len(cell) for cell in cells)):
            lines.append("  ".join((cell[n] if n < len(cell) else "").ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)).rstrip())
    lines.append("")
    if probe.ok:
        lines.append("Nothing blocks booking.")
    else:
        lines.append(f"{len(probe.blocking)} finding(s) block booking: " + "; ".join(f.behaviour for f in probe.blocking) + ".")
    return "\n".join(lines)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send what is written to stdout meanwhile (also by log handlers holding the original stream) to stderr."""
    for stream in (sys.stdout, sys.__stdout__):
        if stream is not None:
            stream.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (an embedding without one): Python-level only
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most width; a word longer than that is cut after a '.' (else '_', '/', ',') where it can be."""
    words = []
    for word in text.split(" "):
        while len(word) > width:
            cut = word.rfind(".", 0, width)
            if cut <= 0:
                cut = max(word.rfind(mark, 0, width) for mark in "_/,=")
            cut = cut + 1 if cut > 0 else width
            words.append(word[:cut])
            word = word[cut:]
        words.append(word)
    return textwrap.wrap(" ".join(words), width) or [""]


def probe_command(tenant: str, as_json: bool = False) -> int:
    """`setup probe <tenant>`: print the table (or JSON), keep it in the state store; 1 when something blocks booking."""
    from prestashop_eboekhouden.config import InvalidTenantFile, get_tenant

    try:
        config = get_tenant(tenant)
    except (InvalidTenantFile, LookupError) as exc:
        print(f"INVALID  {tenant}: {exc}")
        return 1
    with _stdout_to_stderr():  # log lines (the hooks' retries, migrations) go to stderr: stdout is the table or JSON
        probe = run_probe(config)
        try:
            save_probe(probe)
            stored = "kept in the state store: the booking tasks use its page size, the dashboard's Configuration tab shows it"
        except Exception as exc:  # noqa: BLE001 - the findings still print; the hooks then use their own rules
            stored = f"NOT kept in the state store ({_short(exc)}): run `python -m prestashop_eboekhouden.setup migrate` first"
    if as_json:
        print(json.dumps({**probe.as_json(), "stored": stored.startswith("kept")}, indent=2, default=str))
    else:
        print(render_table(probe))
        print(f"The probe is {stored}.")
    return 0 if probe.ok else 1
