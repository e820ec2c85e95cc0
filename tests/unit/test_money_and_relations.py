"""Money helpers and the RelationCode rule (manual section 7)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prestashop_eboekhouden.domain.errors import MalformedOrder
from prestashop_eboekhouden.domain.money import allocate, parse_amount, to_cents
from prestashop_eboekhouden.domain.normalize import infer_rate
from prestashop_eboekhouden.domain.relations import next_relation_code, normalize_email, relation_code_base

D = Decimal


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        ("1.00", ["10", "5"], ["0.67", "0.33"]),
        ("0.10", ["1", "1", "1"], ["0.04", "0.03", "0.03"]),
        ("-0.10", ["1", "1", "1"], ["-0.04", "-0.03", "-0.03"]),
        ("5.00", ["0", "0"], ["2.50", "2.50"]),
        ("0.01", ["3", "1"], ["0.01", "0.00"]),
        ("24.20", ["24.20"], ["24.20"]),
    ],
)
def test_allocate_sums_exactly(total, weights, parts):
    got = allocate(D(total), [D(w) for w in weights])
    assert [str(p) for p in got] == parts
    assert sum(got) == D(total)


def test_to_cents_rounds_half_up_once():
    assert to_cents(D("2.005")) == D("2.01")
    assert to_cents(D("-2.005")) == D("-2.01")
    assert to_cents(D("10.702479")) == D("10.70")
    assert parse_amount("42340.000000", "x") == D("42340.00")


def test_amounts_refuse_floats():
    with pytest.raises(MalformedOrder):
        parse_amount(0.1, "order.total_paid")


@pytest.mark.parametrize(
    ("incl", "excl", "rate"),
    [("3.95", "3.26", "21"), ("31.00", "28.44", "9"), ("11.90", "10.00", "19"), ("10.00", "10.00", "0"), ("5.00", "3.00", None)],
)
def test_infer_rate(incl, excl, rate):
    got = infer_rate(D(incl), D(excl))
    assert (str(got) if got is not None else None) == rate


@pytest.mark.parametrize(
    ("company", "first", "last", "base"),
    [
        ("", "Klaartje", "Pietersen", "KlaartjePi"),
        ("Jansen Techniek B.V.", "Jan", "Jansen", "JansenTech"),
        ("", "Jo", "Ek", "JoEk"),
        ("", "Zoë", "van der Berg", "ZoëvanderB"),
        ("  ", "<b>Al</b>", "O'Neil 😀", "bAlbONeil"),
        ("---", "Jan", "Jansen", "JanJansen"),
        ("-", "Jan", "Jansen", "JanJansen"),
    ],
)
def test_relation_code_base(company, first, last, base):
    assert relation_code_base(company, first, last) == base


def test_next_relation_code_follows_the_manual_example():
    existing = ["KlaartjePi", "KlaartjePi1", "KlaartjePi2", "KlaartjePi3", "KlaartjePi4", "Other"]
    assert next_relation_code("KlaartjePi", existing) == "KlaartjePi5"
    assert next_relation_code("KlaartjePi", []) == "KlaartjePi"
    assert next_relation_code("KlaartjePi", ["klaartjepi", "KlaartjePi2"]) == "KlaartjePi1"


def test_emails_match_trimmed_and_case_insensitive():
    assert normalize_email("  Klaartje.Pietersen@Example.NL ") == normalize_email("klaartje.pietersen@example.nl")
