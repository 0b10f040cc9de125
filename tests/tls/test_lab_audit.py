"""Audit the lab servers end to end: every planted weakness is caught, per uid, and the
modern server passes every control that applies to it."""

from __future__ import annotations

import jsonschema
import pytest

from pytest_cryptoaudit.reporting.evidence import evidence_schema

ENDPOINT_CHECKS = {"tls-protocol-versions", "tls-cipher-suites", "tls-forward-secrecy",
                   "tls-mozilla-profile", "tls-key-exchange-strength"}
#: Classical key exchange passes with a dated note until the roadmap disallows it (2036).
PQ_CHECKS = {"pq-key-exchange"}
#: What the legacy leaf plants: RSA-1024, SHA-1, 1,000-day life, 20 days left, mixed usage,
#: and a chain from a CA the configured trust store does not hold.
LEGACY_LEAF_FINDINGS = {"key-strength", "certificate-signature-hash", "certificate-lifetime",
                        "expiry-window", "single-purpose", "certificate-chain-validates"}


@pytest.fixture(scope="module")
def legacy(tls_lab):
    return f"tls:{tls_lab.legacy.endpoint}"


@pytest.fixture(scope="module")
def modern(tls_lab):
    return f"tls:{tls_lab.modern.endpoint}"


def test_evidence_matches_the_schema(lab_audit):
    jsonschema.validate(lab_audit.evidence, evidence_schema())
    assert lab_audit.returncode == 1, lab_audit.output


def test_every_planted_weakness_is_caught_and_nothing_else(lab_audit, legacy):
    failed = {key for key, outcome in lab_audit.outcomes("legacy-web").items()
              if outcome != "passed"}
    expected = ({(legacy, check) for check in ENDPOINT_CHECKS}
                | {(f"{legacy}#0", check) for check in LEGACY_LEAF_FINDINGS})
    assert failed == expected
    assert all(lab_audit.result(*key)["outcome"] == "failed" for key in expected)


def test_modern_server_passes_everything(lab_audit, modern):
    outcomes = lab_audit.outcomes("modern-web")
    assert {check for uid, check in outcomes if uid == modern} == ENDPOINT_CHECKS | PQ_CHECKS
    note = lab_audit.result(modern, "pq-key-exchange")["notes"][0]
    assert note.startswith("classical-only key exchange (secp256r1)"), note
    assert (f"{modern}#0", "certificate-chain-validates") in outcomes
    assert (f"{modern}#1", "key-strength") in outcomes
    assert set(outcomes.values()) == {"passed"}, outcomes


def test_default_openssl_server_passes_the_profile_with_a_note(lab_audit, tls_lab):
    """Python's default server context offers X448 and secp521r1 (and CBC suites with an
    SHA-2 MAC) beyond the intermediate profile: more, nothing weaker."""
    endpoint = f"tls:{tls_lab.default.endpoint}"
    outcomes = {check: outcome for (uid, check), outcome in lab_audit.outcomes(
        "default-web").items() if uid == endpoint}
    assert outcomes == dict.fromkeys(ENDPOINT_CHECKS | PQ_CHECKS, "passed")
    profile = lab_audit.result(endpoint, "tls-mozilla-profile")
    assert len(profile["notes"]) == 1
    note = profile["notes"][0]
    assert "beyond the Mozilla intermediate profile, nothing weaker" in note
    assert "tls_curves: also offers X448, secp521r1" in note


@pytest.mark.parametrize(("check", "words"), [
    ("tls-protocol-versions", ["TLSv1.0, TLSv1.1", "tier high"]),
    ("tls-cipher-suites", ["NULL (", "anonymous (", "CBC-SHA1 (", "TLS_RSA_WITH_NULL_MD5"]),
    ("tls-forward-secrecy", ["TLS_RSA_WITH_AES_128_CBC_SHA"]),
    ("tls-mozilla-profile", ["Mozilla intermediate profile allow weaker options",
                             "tls_versions", "dh_param_size", "TLS_RSA_WITH_NULL_MD5"]),
    ("tls-key-exchange-strength", ["DH-1024 (1024 < 2048 bits)"]),
])
def test_endpoint_findings_say_what_is_wrong(lab_audit, legacy, check, words):
    message = lab_audit.result(legacy, check)["message"]
    for word in words:
        assert word in message


def test_leaf_findings_say_what_is_wrong(lab_audit, legacy, tls_lab):
    chain = lab_audit.result(f"{legacy}#0", "certificate-chain-validates")["message"]
    assert f"ca_file {tls_lab.pki.ca_file}" in chain
    assert "RSA-1024" in lab_audit.result(f"{legacy}#0", "key-strength")["message"]
    assert "sha1 is disallowed" in lab_audit.result(f"{legacy}#0",
                                                    "certificate-signature-hash")["message"]


@pytest.mark.parametrize(("endpoint", "reason"), [
    ("refused_endpoint", "connection refused"),
    ("silent_endpoint", "no answer to the TLS handshake within 1 s (timeout)"),
])
def test_unreachable_endpoint_is_an_error_naming_it(lab_audit, request, endpoint, reason):
    address = request.getfixturevalue(endpoint)
    result = lab_audit.result(f"tls:{address}", "discovery-complete")
    assert result["outcome"] == "error"
    assert address in result["message"] and reason in result["message"]
    assert result["system"] == "dead-web"


def test_dead_endpoints_give_no_passing_result(lab_audit):
    outcomes = lab_audit.outcomes("dead-web")
    assert outcomes and set(outcomes.values()) == {"error"}


def test_endpoint_inventory(lab_audit, legacy, modern):
    record = lab_audit.endpoint(legacy)
    facts = record["attributes"]
    assert facts["protocols"] == ["TLSv1.0", "TLSv1.1", "TLSv1.2"]
    assert {"name": "DH-1024", "type": "DH", "size": 1024} in facts["key_exchange_groups"]
    assert facts["certificates"] == [f"{legacy}#0", f"{legacy}#1"]
    assert record["unreadable"] == {}
    assert lab_audit.endpoint(modern)["attributes"]["protocols"] == ["TLSv1.2", "TLSv1.3"]
    systems = {s["name"]: s for s in lab_audit.evidence["systems"]}
    assert systems["legacy-web"]["endpoints_found"] == 1
    assert systems["legacy-web"]["component"] == "tls"


def test_certificates_are_linked_to_their_endpoint(lab_audit, legacy):
    leaf, issuer = lab_audit.key(f"{legacy}#0"), lab_audit.key(f"{legacy}#1")
    assert (leaf["algorithm"], leaf["size"]) == ("RSA", 1024)
    assert leaf["attributes"]["chain_position"] == 0
    assert leaf["attributes"]["endpoint"] == legacy
    assert leaf["attributes"]["validated"] is False
    assert issuer["certificate"]["is_ca"] and issuer["attributes"]["chain_position"] == 1
    assert "validated" not in issuer["attributes"]
