"""The TLS pack (``tls.py``) on planted endpoint records: protocol versions, cipher-suite
classes, forward secrecy, Mozilla profile deviations, key exchange groups and chain
validation, per tier, with the errors of facts that were not read. The selection
``scripts/mutation.py`` runs against that module."""

from __future__ import annotations

from typing import Any

import pytest

import controls.tls as tls
from pytest_cryptoaudit.model import EndpointRecord

from .judge import Verdict, controls_of, fresh, judge, key, policy, spec_of

GCM = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
TLS13 = "TLS_AES_128_GCM_SHA256"


def endpoint(tier: str = "high", protocol: str = "tls", unreadable: dict[str, str] | None = None,
             **attributes: Any) -> EndpointRecord:
    return EndpointRecord(uid="tls:web", system="app", provider="tls", risk_tier=tier,  # type: ignore[arg-type]
                          owner="CSC", address="127.0.0.1:443", protocol=protocol,
                          attributes=attributes, unreadable=unreadable or {})


def suites(*names: str, version: str = "TLSv1.2") -> dict[str, list[str]]:
    return {version: list(names), "TLSv1.3": [TLS13]}


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(tls)] == [
        "tls-protocol-versions", "tls-cipher-suites", "tls-forward-secrecy",
        "tls-mozilla-profile", "tls-key-exchange-strength", "certificate-chain-validates"]


@pytest.mark.parametrize("control", controls_of(tls)[:5])
def test_endpoint_checks_apply_to_tls_endpoints(control: Any) -> None:
    assert spec_of(control).applies_to(endpoint())
    assert not spec_of(control).applies_to(endpoint(protocol="ssh"))


@pytest.mark.parametrize(("accepted", "message"), [
    (["TLSv1.3", "TLSv1.2"], ""),
    (["TLSv1.2", "TLSv1.0", "SSLv3"], "accepts SSLv3, TLSv1.0 (disallowed at tier high); "
                                      "accepted versions: SSLv3, TLSv1.0, TLSv1.2"),
    (["TLSv1.1"], "accepts TLSv1.1 (disallowed at tier high); accepted versions: TLSv1.1"),
])
def test_protocol_versions(accepted: list[str], message: str) -> None:
    verdict = judge(tls.test_tls_protocol_versions, endpoint(protocols=accepted))
    assert verdict == (Verdict("failed", message) if message else Verdict("passed"))


def test_protocol_versions_allowed_by_policy() -> None:
    lenient = policy(tls_disallowed_protocols={"high": ["SSLv2"]})
    verdict = judge(tls.test_tls_protocol_versions, endpoint(protocols=["TLSv1.0"]),
                    crypto_policy=lenient)
    assert verdict == Verdict("passed")


def test_protocols_unreadable_is_an_error() -> None:
    verdict = judge(tls.test_tls_protocol_versions, endpoint(unreadable={"protocols": "reset"}))
    assert verdict == Verdict("error", "protocols: reset")


def test_strong_suites_pass() -> None:
    assert judge(tls.test_tls_cipher_suites, endpoint(cipher_suites=suites(GCM))) == \
        Verdict("passed")


def test_weak_suite_classes_are_grouped_in_class_order() -> None:
    accepted = suites(GCM, "TLS_RSA_WITH_RC4_128_MD5", "TLS_RSA_WITH_NULL_SHA256",
                      "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_EXPORT_WITH_RC4_40_MD5")
    verdict = judge(tls.test_tls_cipher_suites, endpoint("medium", cipher_suites=accepted))
    assert verdict == Verdict("failed", (
        "accepts suites disallowed at tier medium: NULL (1): TLS_RSA_WITH_NULL_SHA256; "
        "export (1): TLS_RSA_EXPORT_WITH_RC4_40_MD5; RC4 (2): TLS_RSA_EXPORT_WITH_RC4_40_MD5, "
        "TLS_RSA_WITH_RC4_128_MD5; 3DES (1): TLS_RSA_WITH_3DES_EDE_CBC_SHA"))


def test_cbc_sha1_is_disallowed_at_high_only() -> None:
    cbc = endpoint(cipher_suites=suites("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"))
    assert judge(tls.test_tls_cipher_suites, cbc).message == (
        "accepts suites disallowed at tier high: CBC-SHA1 (1): "
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
    medium = endpoint("medium", cipher_suites=suites("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"))
    assert judge(tls.test_tls_cipher_suites, medium) == Verdict("passed")


def test_a_suite_accepted_in_two_versions_counts_once() -> None:
    accepted = {"TLSv1.1": ["TLS_RSA_WITH_RC4_128_MD5"], "TLSv1.2": ["TLS_RSA_WITH_RC4_128_MD5"]}
    verdict = judge(tls.test_tls_cipher_suites, endpoint("medium", cipher_suites=accepted))
    assert verdict.message == ("accepts suites disallowed at tier medium: RC4 (1): "
                               "TLS_RSA_WITH_RC4_128_MD5")


def test_forward_secrecy() -> None:
    assert judge(tls.test_tls_forward_secrecy, endpoint(cipher_suites=suites(GCM))) == \
        Verdict("passed")
    static = [f"TLS_RSA_WITH_{cipher}" for cipher in (
        "AES_128_GCM_SHA256", "AES_256_GCM_SHA384", "AES_128_CBC_SHA", "AES_256_CBC_SHA",
        "CAMELLIA_128_CBC_SHA", "CAMELLIA_256_CBC_SHA", "AES_128_CBC_SHA256",
        "AES_256_CBC_SHA256", "ARIA_128_GCM_SHA256")]
    verdict = judge(tls.test_tls_forward_secrecy, endpoint(cipher_suites=suites(GCM, *static)))
    assert verdict == Verdict("failed", (
        "9 accepted suites have no forward secrecy (static key exchange): "
        "TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_128_CBC_SHA256, "
        "TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_CBC_SHA and 5 more"))


def test_four_static_suites_are_all_shown() -> None:
    static = ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA",
              "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384"]
    verdict = judge(tls.test_tls_forward_secrecy, endpoint(cipher_suites=suites(*static)))
    assert verdict.message.endswith("TLS_RSA_WITH_AES_256_GCM_SHA384")
    assert "more" not in verdict.message


def test_forward_secrecy_not_required_skips() -> None:
    lenient = policy(tls_require_forward_secrecy={"high": False})
    verdict = judge(tls.test_tls_forward_secrecy, endpoint(cipher_suites=suites(GCM)),
                    crypto_policy=lenient)
    assert verdict == Verdict("skipped", "forward secrecy not required by policy at tier high")


# -- Mozilla profile --------------------------------------------------------------------------

def mozilla(issues: dict[str, str], profile: str = "intermediate", **fields: Any) -> Verdict:
    return judge(tls.test_tls_mozilla_profile, endpoint(
        mozilla_profile_issues={profile: issues}, **fields))


def test_no_deviation_passes() -> None:
    assert mozilla({}) == Verdict("passed")


def test_stronger_options_are_a_note() -> None:
    verdict = mozilla({"tls_curves": "TLS curves {'X448'} are supported but should not be."})
    assert verdict.outcome == "passed"
    assert verdict.notes == ("beyond the Mozilla intermediate profile, nothing weaker: "
                             "tls_curves: also offers X448, groups at least as strong as the "
                             "profile's",)


def test_weaker_deviations_fail_with_why() -> None:
    verdict = mozilla({"tls_curves": "TLS curves {'secp192r1'} are supported but should not "
                                     "be.", "other": "Something else is wrong."})
    assert verdict.outcome == "failed"
    assert verdict.message == (
        "2 deviations from the Mozilla intermediate profile allow weaker options: other: "
        "Something else is wrong.; tls_curves: TLS curves {'secp192r1'} are supported but "
        "should not be. (weaker than the profile: secp192r1)")


def test_long_deviation_text_is_shortened() -> None:
    verdict = mozilla({"other": "x" * 199 + " " + "y" * 10})
    assert verdict.message.endswith("other: " + "x" * 199 + "...")
    exact = mozilla({"other": "z" * 200})
    assert exact.message.endswith("other: " + "z" * 200)


def test_profile_none_skips_and_unknown_profile_errors() -> None:
    none = policy(tls_mozilla_profile={"high": fresh("none")})  # as read from a file
    assert judge(tls.test_tls_mozilla_profile, endpoint(), crypto_policy=none) == Verdict(
        "skipped", "no Mozilla profile required by policy at tier high")
    verdict = judge(tls.test_tls_mozilla_profile, endpoint(
        mozilla_profile_issues={"modern": {}}), crypto_policy=policy(
        tls_mozilla_profile={"high": "modern"}))
    assert verdict == Verdict("passed")


def test_profile_issues_unread_is_an_error() -> None:
    assert judge(tls.test_tls_mozilla_profile, endpoint()) == Verdict(
        "error", "CryptoAuditError: cannot audit tls:web: mozilla_profile_issues: not "
                 "reported by the provider")
    unreadable = endpoint(unreadable={"mozilla_profile_issues": "sslyze failed"})
    assert judge(tls.test_tls_mozilla_profile, unreadable) == Verdict(
        "error", "CryptoAuditError: cannot audit tls:web: mozilla_profile_issues: sslyze "
                 "failed")


# -- key exchange groups ----------------------------------------------------------------------

def group(name: str, kind: str = "ECDHE", size: int | None = None) -> dict[str, Any]:
    return {"name": name, "type": kind, "size": size}


@pytest.mark.parametrize(("groups", "message"), [
    ([group("x25519"), group("secp256r1"), group("ffdhe2048", "DH")], ""),
    ([group("secp224r1")], "secp224r1 (224 < 256 bits)"),
    ([group("ffdhe2048", "DH", 1024), group("secp384r1")], "ffdhe2048 (1024 < 2048 bits)"),
    ([group("custom", "ECDHE", 255)], "custom (255 < 256 bits)"),
    ([group("custom", "ECDHE", 256)], ""),
])
def test_key_exchange_strength(groups: list[dict[str, Any]], message: str) -> None:
    verdict = judge(tls.test_tls_key_exchange_strength, endpoint(key_exchange_groups=groups))
    assert verdict == (Verdict("failed", f"accepts weak key exchange groups at tier high: "
                                         f"{message}") if message else Verdict("passed"))


def test_key_exchange_minimum_follows_the_tier() -> None:
    verdict = judge(tls.test_tls_key_exchange_strength, endpoint(
        "critical", key_exchange_groups=[group("ffdhe2048", "DH"), group("secp256r1")]))
    assert verdict.message == ("accepts weak key exchange groups at tier critical: "
                               "ffdhe2048 (2048 < 3072 bits)")


def test_key_exchange_group_of_unknown_size_is_an_error() -> None:
    verdict = judge(tls.test_tls_key_exchange_strength, endpoint(
        key_exchange_groups=[group("mystery")]))
    assert verdict == Verdict("error", "CryptoAuditError: key exchange group mystery: size "
                                       "unknown")


# -- chain validation -------------------------------------------------------------------------

def leaf(**attributes: Any) -> Any:
    return key("tls:web/leaf", kind="certificate", attributes=attributes)


def test_chain_validation_applies_to_validated_certificates() -> None:
    spec = spec_of(tls.test_certificate_chain_validates)
    assert spec.applies_to(leaf(validated=True))
    assert spec.applies_to(key("c", kind="certificate", unreadable={"validated": "no peer"}))
    assert not spec.applies_to(leaf())
    assert not spec.applies_to(key("k", kind="private-key", attributes={"validated": True}))


def test_chain_validation() -> None:
    assert judge(tls.test_certificate_chain_validates, leaf(validated=True)) == \
        Verdict("passed")
    verdict = judge(tls.test_certificate_chain_validates, leaf(
        validated=False, trust_store="ca.pem", validated_for="web.test",
        validation_error="unable to get local issuer certificate"))
    assert verdict == Verdict("failed", "chain does not validate against ca.pem for web.test: "
                                        "unable to get local issuer certificate")


def test_unknown_profile_in_policy_is_an_error() -> None:
    verdict = judge(tls.test_tls_mozilla_profile, endpoint(mozilla_profile_issues={}),
                    crypto_policy=policy(tls_mozilla_profile={"high": "strict"}))
    assert verdict == Verdict("error", "ValueError: policy tls_mozilla_profile: unknown "
                                       "profile 'strict' (expected one of modern, intermediate, "
                                       "old or none)")
