"""What VIES's verdict (or silence) means for an ICP order (domain/vies.py, pure): a table of cases, the texts
verbatim; the tenant file's vat.vies keys."""

from __future__ import annotations

import datetime as dt

import pytest

from prestashop_eboekhouden.config import VatSettings
from prestashop_eboekhouden.domain.vies import (
    IN_PROGRESS,
    NO_ANSWER,
    NOT_ASKED,
    VIES_INVALID,
    VIES_UNCONFIRMED,
    VIES_WAIT,
    Outcome,
    ViesRecord,
    ViesSettings,
    decide,
    is_fresh,
    service_words,
    vies_parts,
)

NOW = dt.datetime(2026, 11, 20, 12, 0)
NUMBER = "BE0403170701"
REQUIRED, WARN, OFF = ViesSettings("required"), ViesSettings("warn"), ViesSettings("off")


def answered(valid: bool | None, hours_ago: float = 1, answer_fault: str | None = None, **more) -> ViesRecord:
    checked = NOW - dt.timedelta(hours=hours_ago)
    return ViesRecord(NUMBER, valid=valid, answer_fault=answer_fault, checked_at=checked, request_date=checked.date(), **more)


def down(fault: str, since_days: float = 0.1, **more) -> ViesRecord:
    return ViesRecord(NUMBER, fault=fault, fault_at=NOW, unconfirmed_since=NOW - dt.timedelta(days=since_days), **more)


CASES = [
    # (record, this run's fault, settings) → (outcome, reason, code, note)
    ("valid", answered(True), None, REQUIRED, Outcome.BOOK, None, None, None),
    ("valid under warn", answered(True), None, WARN, Outcome.BOOK, None, None, None),
    (
        "not registered", answered(False), None, REQUIRED,
        Outcome.REFUSE, "VAT number BE0403170701 is not registered in VIES (checked 2026-11-20)", VIES_INVALID, None,
    ),
    (
        "not registered, warn books with a note", answered(False), None, WARN,
        Outcome.BOOK, None, None, "VAT number BE0403170701 is not registered in VIES (checked 2026-11-20): booked anyway (vat.vies: warn)",
    ),
    (
        "INVALID_INPUT", answered(None, answer_fault="INVALID_INPUT"), None, REQUIRED,
        Outcome.REFUSE, "VIES refused VAT number BE0403170701 as invalid input (INVALID_INPUT, checked 2026-11-20)", VIES_INVALID, None,
    ),
    (
        "VAT_BLOCKED", answered(None, answer_fault="VAT_BLOCKED"), None, REQUIRED,
        Outcome.REFUSE, "VIES gives no answer for VAT number BE0403170701 (VAT_BLOCKED, checked 2026-11-20)", VIES_UNCONFIRMED, None,
    ),
    (
        "member state unavailable", down("MS_UNAVAILABLE"), "MS_UNAVAILABLE", REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: the Belgian service is unavailable; tried again next run", VIES_WAIT, None,
    ),
    (
        "member state time-out", down("TIMEOUT"), "TIMEOUT", REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: the Belgian service did not answer in time; tried again next run", VIES_WAIT, None,
    ),
    (
        "member state busy", down("MS_MAX_CONCURRENT_REQ"), "MS_MAX_CONCURRENT_REQ", REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: the Belgian service is busy (too many requests); tried again next run", VIES_WAIT, None,
    ),
    (
        "VIES busy", down("GLOBAL_MAX_CONCURRENT_REQ"), "GLOBAL_MAX_CONCURRENT_REQ", REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: VIES is busy (too many requests); tried again next run", VIES_WAIT, None,
    ),
    (
        "VIES unavailable", down("SERVICE_UNAVAILABLE"), "SERVICE_UNAVAILABLE", REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: VIES is unavailable; tried again next run", VIES_WAIT, None,
    ),
    (
        "no answer at all", down(NO_ANSWER), NO_ANSWER, REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: VIES did not answer; tried again next run", VIES_WAIT, None,
    ),
    (
        "IP blocked", down("IP_BLOCKED"), "IP_BLOCKED", REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: VIES blocks requests from this server (IP_BLOCKED); tried again next run", VIES_WAIT, None,
    ),
    (
        "not asked: the run's budget", None, NOT_ASKED, REQUIRED,
        Outcome.WAIT, "VIES has not confirmed BE0403170701 yet: not asked in this run (its time for VIES was spent); tried again next run", VIES_WAIT, None,
    ),
    (
        "another run asks", None, IN_PROGRESS, REQUIRED,
        Outcome.WAIT, "VIES has not confirmed BE0403170701 yet: another run is asking VIES for it right now; tried again next run", VIES_WAIT, None,
    ),
    (
        "unavailable under warn", down("MS_UNAVAILABLE"), "MS_UNAVAILABLE", WARN,
        Outcome.BOOK, None, None, "VIES could not confirm BE0403170701: the Belgian service is unavailable; booked anyway (vat.vies: warn)",
    ),
    (
        "unconfirmed for the tenant's max_wait_days goes to Errors", down("MS_UNAVAILABLE", since_days=3), "MS_UNAVAILABLE", REQUIRED,
        Outcome.REFUSE,
        "VIES could not confirm VAT number BE0403170701 for 3 days (since 2026-11-17 12:00 UTC; last: the Belgian service is unavailable). "
        "Book it anyway: set vat.vies: warn in the tenant file and Process the order again; or check the number by hand in VIES "
        "(https://ec.europa.eu/taxation_customs/vies/) and book the order by hand in e-Boekhouden",
        VIES_UNCONFIRMED, None,
    ),
    (
        "a stale valid verdict and VIES down now: waits", answered(True, hours_ago=31 * 24, fault="TIMEOUT", unconfirmed_since=NOW), "TIMEOUT", REQUIRED,
        Outcome.WAIT, "VIES could not confirm BE0403170701: the Belgian service did not answer in time; tried again next run", VIES_WAIT, None,
    ),
    ("off: today's behaviour", answered(False), None, OFF, Outcome.BOOK, None, None, None),
]


@pytest.mark.parametrize(("record", "fault", "settings", "outcome", "reason", "code", "note"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(record, fault, settings, outcome, reason, code, note):
    decision = decide(NUMBER, record, fault, NOW, settings)
    assert (decision.outcome, decision.reason, decision.code, decision.note) == (outcome, reason, code, note)


@pytest.mark.parametrize(
    ("record", "fresh"),
    [
        (answered(True, hours_ago=29 * 24), True),
        (answered(True, hours_ago=30 * 24), False),  # valid: 30 days
        (answered(False, hours_ago=23), True),
        (answered(False, hours_ago=24), False),  # not registered: 1 day
        (answered(None, hours_ago=23, answer_fault="INVALID_INPUT"), True),
        (down("MS_UNAVAILABLE"), False),  # a fault is no verdict
        (None, False),
    ],
)
def test_a_verdict_is_fresh_for_the_tenants_days(record, fresh):
    assert is_fresh(record, NOW, REQUIRED) is fresh


def test_the_tenants_days_decide_freshness():
    assert is_fresh(answered(False, hours_ago=1), NOW, ViesSettings(invalid_days=0)) is False  # 0: asked again every run
    assert is_fresh(answered(True, hours_ago=8 * 24), NOW, ViesSettings(valid_days=7)) is False


def test_service_words_name_the_member_state():
    assert service_words("MS_UNAVAILABLE", "EL094259216") == "the Greek service is unavailable"
    assert service_words("TIMEOUT", "DE136695976") == "the German service did not answer in time"
    assert service_words("SOMETHING_NEW", "DE136695976") == "VIES answered SOMETHING_NEW"
    assert vies_parts("EL094259216") == ("EL", "094259216") and vies_parts("BE0403170701") == ("BE", "0403170701")


@pytest.mark.parametrize(("written", "mode"), [(None, "required"), ("warn", "warn"), ("off", "off"), (False, "off"), ("required", "required")])
def test_tenant_file_vies_mode_yaml_off_is_off(written, mode):
    data = {"rates": {}} | ({} if written is None else {"vies": written})
    settings = VatSettings.model_validate(data)
    assert settings.vies == mode
    assert ViesSettings.of(settings) == ViesSettings(mode, 30, 1, 3) and settings.vies_time_budget_seconds == 60


def test_tenant_file_vies_keys_are_checked():
    with pytest.raises(ValueError, match="vies"):
        VatSettings.model_validate({"rates": {}, "vies": "sometimes"})
    with pytest.raises(ValueError, match="vies_valid_days"):
        VatSettings.model_validate({"rates": {}, "vies_valid_days": 0})
    custom = VatSettings.model_validate({"rates": {}, "vies": "warn", "vies_valid_days": 7, "vies_invalid_days": 0, "vies_max_wait_days": 5})
    assert ViesSettings.of(custom) == ViesSettings("warn", 7, 0, 5)
