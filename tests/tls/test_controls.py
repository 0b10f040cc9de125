"""The TLS controls over recorded endpoints, without a network: weaknesses the lab servers
cannot plant (OpenSSL 3 has no RC4, 3DES or export suites left), policy per tier, and
attributes a provider could not read."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.shared import once_per_run

from .auditrun import AuditRun, run_audit

FIXTURE_PROVIDER = '''
import json
from pathlib import Path

from pytest_cryptoaudit.providers import Provider, ProviderOptions


class RecordedOptions(ProviderOptions):
    file: str


class RecordedTls(Provider):
    """Endpoints as a TLS scan would have recorded them, read from a JSON file."""

    name = "recorded-tls"
    component = "tls"
    Options = RecordedOptions

    def discover(self, system, context):
        attempt = self.new_discovery(system)
        for endpoint in json.loads((context.base_dir / system.options.file).read_text()):
            attempt.add_endpoint("tls:" + endpoint["address"], endpoint["address"],
                                 attributes=endpoint.get("attributes", {}),
                                 unreadable=endpoint.get("unreadable", {}))
        return attempt


def pytest_cryptoaudit_add_providers(registry):
    registry.register(RecordedTls)
'''

GOOD = {"protocols": ["TLSv1.2"],
        "cipher_suites": {"TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]},
        "key_exchange_groups": [{"name": "X25519", "type": "ECDH", "size": 256}],
        "mozilla_profile_issues": {"modern": {"tls_versions": "TLSv1.2"}, "intermediate": {},
                                   "old": {}}}
ENDPOINTS = {
    # Accepts only an ECDHE CBC-SHA1 suite: allowed at low tier, not at high.
    "cbc.test:443": GOOD,
    "rc4.test:443": {**GOOD, "cipher_suites": {"TLSv1.2": [
        "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "TLS_RSA_WITH_DES_CBC_SHA"]}},
    "unread.test:443": {"unreadable": {
        "protocols": "TLSv1.0 scan failed: CONNECTIVITY_ISSUE",
        "cipher_suites": "TLSv1.0 scan failed: CONNECTIVITY_ISSUE",
        "key_exchange_groups": "TLSv1.0 scan failed: CONNECTIVITY_ISSUE",
        "mozilla_profile_issues": "scan incomplete"}},
    # More groups than the intermediate profile lists: stronger (X448), or weaker (P-224).
    "x448.test:443": {**GOOD, "mozilla_profile_issues": {**GOOD["mozilla_profile_issues"],
                                                         "intermediate": {"tls_curves": (
        "TLS curves {'X448', 'X25519MLKEM768'} are supported, but should be rejected.")}}},
    "p224.test:443": {**GOOD, "mozilla_profile_issues": {**GOOD["mozilla_profile_issues"],
                                                         "intermediate": {"tls_curves": (
        "TLS curves {'X448', 'secp224r1'} are supported, but should be rejected.")}}},
    "nameless.test:443": {**GOOD, "key_exchange_groups": [
        {"name": "brainpoolP256r1", "type": "ECDH", "size": None},
        {"name": "mystery", "type": "ECDH", "size": None}]},
}
CONFIG = """
[[systems]]
name = "{tier}-web"
provider = "recorded-tls"
risk_tier = "{tier}"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
file = "endpoints.json"
"""
POLICY = """
[policy.tls_require_forward_secrecy]
low = false
[policy.tls_mozilla_profile]
low = "none"
critical = "strict"
"""


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """Run the controls once over the recorded endpoints at tiers low, high and critical
    (once per test run: the xdist workers share it)."""
    def build(folder):
        (folder / "conftest.py").write_text(FIXTURE_PROVIDER)
        (folder / "endpoints.json").write_text(json.dumps(
            [{"address": address, **facts} if "unreadable" in facts
             else {"address": address, "attributes": facts}
             for address, facts in ENDPOINTS.items()]))
        config = "".join(CONFIG.format(tier=t) for t in ("low", "high", "critical")) + POLICY
        # Two xdist workers: the endpoints must reach them through the controller's
        # workerinput.
        return dataclasses.asdict(run_audit(folder, config, "-p", "xdist", "-n", "2"))

    _, stored = once_per_run(tmp_path_factory, "recorded-tls", build)
    return AuditRun(**stored)


def outcome(audit, tier, address, check):
    return audit.outcomes(f"{tier}-web")[(f"tls:{address}", check)]


def message(audit, tier, address, check):
    uid = f"tls:{address}"
    return next(r["message"] for r in audit.evidence["results"]
                if r["system"] == f"{tier}-web" and r["key_uid"] == uid and r["check"] == check)


def test_every_endpoint_is_audited_on_the_workers(audit):
    assert "[gw1]" in audit.output, audit.output[-2000:]
    for tier in ("low", "high", "critical"):
        audited = {uid for uid, _ in audit.outcomes(f"{tier}-web")}
        assert audited == {f"tls:{address}" for address in ENDPOINTS}


def test_suites_no_policy_allows(audit):
    for tier in ("low", "high"):
        assert outcome(audit, tier, "rc4.test:443", "tls-cipher-suites") == "failed"
    text = message(audit, "low", "rc4.test:443", "tls-cipher-suites")
    for weak_class in ("export (1)", "RC4 (2)", "DES (1)", "3DES (1)"):
        assert weak_class in text
    assert "CBC-SHA1" not in text  # allowed at low tier


def test_cbc_sha1_is_a_finding_only_at_high_tiers(audit):
    assert outcome(audit, "low", "cbc.test:443", "tls-cipher-suites") == "passed"
    assert outcome(audit, "high", "cbc.test:443", "tls-cipher-suites") == "failed"
    assert "CBC-SHA1 (1)" in message(audit, "high", "cbc.test:443", "tls-cipher-suites")


def test_forward_secrecy_follows_policy(audit):
    assert outcome(audit, "low", "rc4.test:443", "tls-forward-secrecy") == "skipped"
    assert outcome(audit, "high", "rc4.test:443", "tls-forward-secrecy") == "failed"
    assert outcome(audit, "high", "cbc.test:443", "tls-forward-secrecy") == "passed"


def test_mozilla_profile_follows_policy(audit):
    assert outcome(audit, "high", "cbc.test:443", "tls-mozilla-profile") == "passed"
    # "none" at low tier: no profile needed, so even an unread scan does not matter.
    assert outcome(audit, "low", "unread.test:443", "tls-mozilla-profile") == "skipped"
    assert outcome(audit, "high", "unread.test:443", "tls-mozilla-profile") == "error"
    assert outcome(audit, "critical", "cbc.test:443", "tls-mozilla-profile") == "error"
    assert "unknown profile 'strict'" in message(audit, "critical", "cbc.test:443",
                                                 "tls-mozilla-profile")


def test_stronger_groups_are_a_note_weaker_ones_a_finding(audit):
    result = next(r for r in audit.evidence["results"] if r["system"] == "high-web"
                  and r["key_uid"] == "tls:x448.test:443" and r["check"] == "tls-mozilla-profile")
    assert result["outcome"] == "passed"
    assert result["notes"] == [
        "beyond the Mozilla intermediate profile, nothing weaker: tls_curves: also offers "
        "X25519MLKEM768, X448, groups at least as strong as the profile's"]
    assert outcome(audit, "high", "p224.test:443", "tls-mozilla-profile") == "failed"
    assert "weaker than the profile: secp224r1" in message(audit, "high", "p224.test:443",
                                                           "tls-mozilla-profile")


def test_unreadable_scans_are_errors_not_passes(audit):
    outcomes = {check: result for (uid, check), result in audit.outcomes("high-web").items()
                if uid == "tls:unread.test:443"}
    assert set(outcomes.values()) == {"error"}
    assert "CONNECTIVITY_ISSUE" in message(audit, "high", "unread.test:443",
                                           "tls-protocol-versions")


def test_group_size_is_derived_from_its_name_or_errors(audit):
    assert outcome(audit, "high", "nameless.test:443", "tls-key-exchange-strength") == "error"
    assert "mystery: size unknown" in message(audit, "high", "nameless.test:443",
                                              "tls-key-exchange-strength")
