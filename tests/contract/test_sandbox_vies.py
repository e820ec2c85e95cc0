"""The VIES emulator (sandbox/vies.py): the seeded shop's companies are registered (so the demo books its ICP
orders as before), the WSDL it serves, requests and answers held to the WSDL's schema, its knobs over HTTP
(member states, the service, numbers, concurrency) and its request counts."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from stdnum.eu import vat as eu_vat

from prestashop_eboekhouden.hooks.vies import SERVICE_PATH
from sandbox import SandboxServers
from sandbox.vies import SEEDED_INVALID, SEEDED_VALID

ENVELOPE = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:ec.europa.eu:taxud:vies:services:checkVat:types">'
    "<soapenv:Body><urn:checkVat><urn:countryCode>{country}</urn:countryCode><urn:vatNumber>{number}</urn:vatNumber></urn:checkVat></soapenv:Body></soapenv:Envelope>"
)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServers(seed=42, orders=300, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        yield servers


def check(sandbox, country: str, number: str) -> requests.Response:
    return requests.post(f"{sandbox.vies_url}{SERVICE_PATH}", data=ENVELOPE.format(country=country, number=number).encode(),
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, timeout=10)  # fmt: skip


def test_every_seeded_icp_customer_is_registered_and_the_invalid_ones_never_reach_vies(sandbox):
    shop = sandbox.shop
    numbers = {}
    for oid in shop.tagged("icp"):
        order = shop.order(oid)
        address = shop.get("addresses", int(order["id_address_invoice"]))
        numbers[oid] = address["vat_number"]
    assert len(numbers) == 18
    for number in set(numbers.values()):
        answer = check(sandbox, number[:2], number[2:])
        assert answer.status_code == 200 and "<ns2:valid>true</ns2:valid>" in answer.text, number
    for oid in shop.tagged("icp_invalid_vat"):  # refused by the check digits before VIES is asked
        address = shop.get("addresses", int(shop.order(oid)["id_address_invoice"]))
        assert not eu_vat.is_valid(address["vat_number"])


def test_seeded_fixed_numbers(sandbox):
    for number, (name, _) in SEEDED_VALID.items():
        text = check(sandbox, number[:2], number[2:]).text
        assert "<ns2:valid>true</ns2:valid>" in text and (name in text or "<ns2:name>---</ns2:name>" in text)
    for number in SEEDED_INVALID:
        assert eu_vat.is_valid(number)  # right check digits: only VIES can tell
        assert "<ns2:valid>false</ns2:valid>" in check(sandbox, number[:2], number[2:]).text


def test_the_wsdl_and_the_schema(sandbox):
    wsdl = requests.get(f"{sandbox.vies_url}{SERVICE_PATH}", params={"wsdl": ""}, timeout=10).text
    assert f'location="{sandbox.vies_url}{SERVICE_PATH}"' in wsdl and 'name="checkVatResponse"' in wsdl
    bad = check(sandbox, "BE", "0428-759-497")  # the pattern [0-9A-Za-z+*.]{2,12}
    assert bad.status_code == 500 and "<faultstring>INVALID_INPUT</faultstring>" in bad.text
    unknown_country = check(sandbox, "XX", "0428759497")
    assert unknown_country.status_code == 500 and "<faultstring>INVALID_INPUT</faultstring>" in unknown_country.text
    answer = check(sandbox, "BE", "0428759497").text
    assert "<ns2:requestDate>" in answer and answer.index("<ns2:countryCode>") < answer.index("<ns2:valid>") < answer.index("<ns2:name>")


def test_knobs_over_http_and_counts(sandbox):
    admin = f"{sandbox.vies_url}/__sandbox__/vies"
    requests.post(f"{admin}/reset", timeout=10).raise_for_status()
    assert requests.put(f"{admin}/member-states/BE", json={"fault": "TIMEOUT", "times": 1}, timeout=10).status_code == 200
    assert "<faultstring>TIMEOUT</faultstring>" in check(sandbox, "BE", "0428759497").text
    assert "<ns2:valid>true</ns2:valid>" in check(sandbox, "BE", "0428759497").text  # times: 1
    requests.put(f"{admin}/service", json={"fault": "GLOBAL_MAX_CONCURRENT_REQ"}, timeout=10).raise_for_status()
    assert "GLOBAL_MAX_CONCURRENT_REQ" in check(sandbox, "DE", "136695976").text
    requests.delete(f"{admin}/service", timeout=10).raise_for_status()
    requests.put(f"{admin}/numbers/DE136695976", json={"fault": "VAT_BLOCKED"}, timeout=10).raise_for_status()
    assert "VAT_BLOCKED" in check(sandbox, "DE", "136695976").text
    requests.put(f"{admin}/numbers/DE136695976", json={"fault": None}, timeout=10).raise_for_status()
    requests.put(f"{admin}/numbers/DE136695976", json={"valid": False}, timeout=10).raise_for_status()
    assert "<ns2:valid>false</ns2:valid>" in check(sandbox, "DE", "136695976").text
    requests.put(f"{admin}/numbers/DE136695976", json={"valid": True, "name": "Teehaus Köln GmbH"}, timeout=10).raise_for_status()
    assert requests.put(f"{admin}/member-states/BE", json={"fault": "NO_SUCH_FAULT"}, timeout=10).status_code == 400
    counts = requests.get(f"{admin}/requests", timeout=10).json()
    assert counts["per_number"] == {"BE0428759497": 2, "DE136695976": 3} and counts["total"] == 5
    assert counts["answers"] == {"TIMEOUT": 1, "valid": 1, "GLOBAL_MAX_CONCURRENT_REQ": 1, "VAT_BLOCKED": 1, "invalid": 1}
    stats = requests.get(f"{sandbox.vies_url}/__sandbox__/stats", timeout=10).json()
    assert stats["total"] == 5


def test_a_third_request_in_flight_is_refused_like_vies_does(sandbox):
    import concurrent.futures

    vies = sandbox.vies
    vies.reset_counts()
    vies.latency_ms, vies.max_concurrent = 300, 2
    try:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            texts = [f.result().text for f in [pool.submit(check, sandbox, "BE", "0428759497") for _ in range(3)]]
    finally:
        vies.latency_ms, vies.max_concurrent = 0, None
    assert sum("GLOBAL_MAX_CONCURRENT_REQ" in t for t in texts) == 1 and vies.describe()["max_in_flight"] == 3
