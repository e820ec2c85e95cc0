"""The probe's rules, pure: what was seen → finding, status and what the hooks may use (cases the emulators cannot show)."""

from __future__ import annotations

import pytest

from prestashop_eboekhouden.config import load_tenant_file
from prestashop_eboekhouden.probe import (
    BLOCKS,
    NOT_SEEN,
    NOTE,
    OK,
    Listing,
    RelationEvidence,
    RootAnswer,
    auth_findings,
    code_findings,
    email_findings,
    ledger_findings,
    page_size_findings,
    resource_findings,
    root_resources,
    vat_code_findings,
)

from ..conftest import REPO

DEMO = load_tenant_file(REPO / "include/tenants/demo.yaml")


def L(name, *sizes, complete=True):  # noqa: N802
    return Listing(name, tuple(sizes), complete)


@pytest.mark.parametrize(
    ("listings", "status", "cap", "uniform"),
    [
        ([L("relations", 9), L("ledgers", 18)], NOT_SEEN, None, None),
        ([L("relations"), L("ledgers")], NOT_SEEN, None, None),
        ([L("relations", 500, 500, 100), L("mutations", 500, 20), L("ledgers", 18)], NOTE, 500, True),
        ([L("relations", 2000, 30)], OK, 2000, True),
        ([L("relations", 50, 50, 7)], NOTE, 50, True),
        ([L("relations", 500, 100), L("mutations", 200, 200, 1)], NOTE, 200, False),  # caps differ per list
        ([L("relations", 100, 40), L("ledgers", 300)], NOTE, 100, False),  # a whole page larger than another list's cap
        ([L("relations", 500, 300, 500)], NOTE, 1, False),  # no steady page size: only an empty page ends a list
        ([L("mutations", 500, 500, 500, 500, 500, complete=False)], NOTE, 500, True),
    ],
    ids=["fewer-than-a-page", "empty", "cap-500", "no-cap-below-2000", "cap-below-default-page", "caps-differ", "page-larger-than-cap",
         "irregular", "more-than-read"],
)
def test_page_size(listings, status, cap, uniform):
    findings, found_cap, found_uniform = page_size_findings(listings)
    assert [f.status for f in findings] == [status]
    assert (found_cap, found_uniform) == (cap, uniform)


def test_a_listing_describes_what_came_back_against_what_exists():
    assert L("relations", 500, 500, 100).describe() == "relations: 500 of 1100 (pages of 500, 500, 100)"
    assert L("mutations", 500, 500, complete=False).describe() == "mutations: 500 of more than 1000 (pages of 500, 500)"


def test_ledgers_by_role():
    ledgers = {code: {"code": code, "category": "VW"} for code in ("8000", "8010", "8020", "8100", "8200", "8300")}
    ledgers |= {"1300": {"category": "DEB"}, "1630": {"category": "BAL"}, "1100": {"category": "FIN"}, "1110": {"category": "FIN"}}
    assert {f.status for f in ledger_findings(DEMO, ledgers)} == {OK}
    wrong = {**ledgers, "1300": {"category": "FIN"}, "1630": {"category": "DEB"}, "1110": {"category": "VW"}, "8000": {"category": ""}}
    del wrong["8010"]
    found = {f.behaviour.split(" ")[1]: f for f in ledger_findings(DEMO, wrong)}
    assert [code for code, f in found.items() if f.status == BLOCKS] == ["1300", "8010", "1630", "1110"]
    assert "MUT_011" in found["1300"].action and "MUT_106" in found["1630"].action and "MUT_009" in found["1110"].action
    assert found["8010"].seen == "does not exist" and found["8000"].status == NOTE  # no category answered: e-Boekhouden decides


def test_vat_codes_per_backend():
    assert [f.status for f in vat_code_findings(DEMO, "rest")] == [OK]
    data = DEMO.model_dump(mode="json")
    data["vat"]["rates"]["21"]["vat_code"] = "AFW_VERK"
    data["vat"]["icp"]["vat_code"] = "BI_EU_INK"
    config = type(DEMO).model_validate(data)
    assert [(f.behaviour.split(" (")[0], f.status) for f in vat_code_findings(config, "rest")] == [("VAT code BI_EU_INK", BLOCKS)]
    assert [f.behaviour.split(" (")[0] for f in vat_code_findings(config, "soap")] == ["VAT code AFW_VERK", "VAT code BI_EU_INK"]


def E(**kw):  # noqa: N802
    return RelationEvidence(**{"relations": 9, "relation_id": 5, "email": "a@x.nl", "code": "Jan", **kw})


@pytest.mark.parametrize(
    ("evidence", "statuses"),
    [
        (E(by_email=[5], by_other_case=True), [OK, OK]),
        (E(by_email=[5, 6], other_addresses=False, by_other_case=False), [OK, NOTE]),
        (E(by_email=[1, 5, 6], other_addresses=True), [NOTE, NOT_SEEN]),
        (E(by_email=[]), [BLOCKS, NOT_SEEN]),  # the relation is not found by its own address: duplicates would be made
        (E(by_email=[6, 7], other_addresses=False), [BLOCKS, NOT_SEEN]),
        (E(relation_id=None, email=""), [NOT_SEEN, NOT_SEEN]),
        (E(relations=1, by_email=[5]), [NOT_SEEN, NOT_SEEN]),
    ],
    ids=["honoured", "shared-address-case-sensitive", "ignored", "not-found", "others-only", "no-e-mail", "one-relation"],
)
def test_email_filter(evidence, statuses):
    assert [f.status for f in email_findings(evidence)] == statuses


@pytest.mark.parametrize(
    ("evidence", "status"),
    [
        (E(codes_like=["Jan", "Jan1"], codes_exact=["Jan"]), OK),
        (E(codes_like=["Jan", "Piet"], codes_exact=["Jan"]), NOTE),
        (E(codes_like=["Jan", "Jan1"], codes_exact=["Jan1"]), NOTE),
        (E(codes_like=["Jan1"], codes_exact=[]), NOTE),  # not answered for its own code
        (E(relations=2, codes_like=["Jan", "Jan1"], codes_exact=["Jan"]), NOT_SEEN),
        (E(code=""), NOT_SEEN),
    ],
    ids=["honoured", "like-ignored", "exact-ignored", "own-code-missing", "cannot-tell", "no-code"],
)
def test_code_filter(evidence, status):
    assert [f.status for f in code_findings(evidence)] == [status]


ANSWERED = {"basic": RootAnswer("basic", "answered", 200, version="8.1.7"), "query": RootAnswer("query", "answered", 200)}
NO_KEY = RootAnswer("basic", "no key", 401)
REFUSED = {m: RootAnswer(m, "refused", 401, 20, "Authentification key is not active") for m in ("basic", "query")}


@pytest.mark.parametrize(
    ("mode", "basic", "query", "status", "working"),
    [
        ("basic", ANSWERED["basic"], ANSWERED["query"], OK, "basic"),
        ("query", ANSWERED["basic"], ANSWERED["query"], OK, "query"),
        ("basic", NO_KEY, ANSWERED["query"], BLOCKS, "query"),
        ("query", NO_KEY, ANSWERED["query"], OK, "query"),
        ("query", ANSWERED["basic"], REFUSED["query"], BLOCKS, "basic"),
        ("basic", REFUSED["basic"], REFUSED["query"], BLOCKS, None),
        ("basic", RootAnswer("basic", "no answer", message="ConnectTimeout"), RootAnswer("query", "no answer", message="ConnectTimeout"), BLOCKS, None),
    ],
    ids=["basic", "query", "stripped", "stripped-but-query", "query-refused", "key-refused", "no-answer"],
)
def test_auth(mode, basic, query, status, working):
    findings, found = auth_findings(mode, basic, query, "https://shop.example/api/")
    assert ([f.status for f in findings], found) == ([status], working)
    if basic.kind == "no key":
        assert "strips the Authorization header" in findings[0].seen


def test_root_listing_shapes():
    assert root_resources({"api": {"orders": {"get": "true", "put": "false"}, "@attributes": {"shopName": "x"}}}) == {"orders": {"GET"}}
    assert root_resources({"api": {"orders": {"@attributes": {"get": "true", "head": "true"}}}}) == {"orders": {"GET", "HEAD"}}
    assert root_resources([]) is None and root_resources({"prestashop": {}}) is None


def test_resources_say_what_happens_without_them():
    states = {r: "readable" for r in ("orders", "groups", "products", "configurations")} | {"order_slip": "not granted (401, code 26)"}
    found = {f.behaviour: f for f in resource_findings(DEMO, states, None)}
    assert found["resources the key lists (GET /api/)"].status == NOT_SEEN
    assert found["read order_slip"].status == BLOCKS and "credit_slips: false" in found["read order_slip"].action
    states = {**states, "groups": "not granted (401, code 26)", "products": "no GET (405, code 25: ...)"}
    found = {f.behaviour: f for f in resource_findings(DEMO, states, {"orders": {"GET"}, "groups": set()})}
    assert found["read groups"].status == NOTE and "chosen amount goes to Errors" in found["read groups"].action
    assert found["read products"].status == NOTE and "without a product code" in found["read products"].action
    assert found["resources the key lists (GET /api/)"].status == NOTE  # order_slip and configurations: listing and answers differ
