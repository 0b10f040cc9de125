"""The PKCS#11 pack (``pkcs11.py``) on planted token objects: sensitivity, extractability,
generation on the token, single purpose and the end date, per tier, with the errors of flags
that could not be read. The selection ``scripts/mutation.py`` runs against that module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import controls.pkcs11 as pkcs11

from .judge import NOW, Verdict, controls_of, judge, key, policy, spec_of

UID = "pkcs11:token/aes-1"


def token_key(tier: str = "high", kind: str = "secret-key", usage: tuple[str, ...] = ("encrypt",),
              unreadable: dict[str, str] | None = None, expires: Any = None,
              **flags: Any) -> Any:
    base = {"sensitive": True, "always_sensitive": True, "extractable": False,
            "never_extractable": True, "local": True, "private": True, "end_date": "2026-01-01"}
    return key(UID, provider="pkcs11", tier=tier, kind=kind, usage=usage, expires=expires,
               attributes={**base, **flags}, unreadable=unreadable or {})


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(pkcs11)] == [
        "sensitive", "never-extractable", "generated-on-token", "login-required",
        "single-purpose-usage", "unusable-after-end-date"]


@pytest.mark.parametrize("control", controls_of(pkcs11)[:4])
def test_secret_checks_apply_to_secret_and_private_token_keys(control: Any) -> None:
    spec = spec_of(control)
    assert spec.applies_to(token_key())
    assert spec.applies_to(token_key(kind="private-key"))
    assert not spec.applies_to(token_key(kind="public-key"))
    for provider in ("files", "vault"):  # before and after "pkcs11"
        assert not spec.applies_to(key("k", provider=provider, kind="secret-key",
                                       attributes={"sensitive": True, "extractable": False,
                                                   "local": True, "private": True}))


def test_usage_and_end_date_applicability() -> None:
    usage = spec_of(pkcs11.test_single_purpose_usage)
    assert usage.applies_to(token_key(kind="public-key"))
    assert not usage.applies_to(key("k", provider="vault"))
    assert not usage.applies_to(key("k", provider="files"))
    end = spec_of(pkcs11.test_unusable_after_end_date)
    assert end.applies_to(token_key(expires=NOW))
    assert end.applies_to(token_key(unreadable={"expires": "bad date"}))
    assert not end.applies_to(token_key())
    assert not end.applies_to(key("k", provider="files", expires=NOW))
    assert not end.applies_to(key("k", provider="vault", expires=NOW))


# -- sensitive ---------------------------------------------------------------------------------

SENSITIVE = "CKA_SENSITIVE is false: the key value can be read in the clear"
ALWAYS = "CKA_ALWAYS_SENSITIVE is false: the key value was readable once"


@pytest.mark.parametrize(("tier", "flags", "message"), [
    ("high", {}, ""),
    ("high", {"sensitive": False}, SENSITIVE),
    ("high", {"always_sensitive": False}, ALWAYS),
    ("high", {"sensitive": False, "always_sensitive": False}, f"{SENSITIVE}; {ALWAYS}"),
    ("medium", {"always_sensitive": False}, ""),
    ("low", {"sensitive": False}, SENSITIVE),
])
def test_sensitive(tier: str, flags: dict[str, Any], message: str) -> None:
    verdict = judge(pkcs11.test_sensitive, token_key(tier, **flags))
    assert verdict == (Verdict("failed", message) if message else Verdict("passed"))


def test_sensitive_not_required_is_not_read() -> None:
    lenient = policy(pkcs11_require_sensitive={"high": False},
                     pkcs11_require_always_sensitive={"high": False})
    record = token_key(sensitive=False, always_sensitive=None)
    assert judge(pkcs11.test_sensitive, record, crypto_policy=lenient) == Verdict("passed")


def test_always_sensitive_unreadable_is_an_error() -> None:
    record = token_key(always_sensitive=None, unreadable={"always_sensitive": "CKR_ATTRIBUTE"})
    assert judge(pkcs11.test_sensitive, record) == Verdict(
        "error", f"CryptoAuditError: cannot audit {UID}: always_sensitive: CKR_ATTRIBUTE")
    missing = token_key(always_sensitive=None)
    assert judge(pkcs11.test_sensitive, missing) == Verdict(
        "error", f"CryptoAuditError: cannot audit {UID}: always_sensitive: not reported by "
                 "the provider")


# -- extractable -------------------------------------------------------------------------------

EXTRACTABLE = "CKA_EXTRACTABLE is true: the key can be wrapped off the token"
ONCE = "CKA_NEVER_EXTRACTABLE is false: the key was extractable once"


@pytest.mark.parametrize(("flags", "message"), [
    ({}, ""), ({"extractable": True, "never_extractable": False}, f"{EXTRACTABLE}; {ONCE}"),
    ({"never_extractable": False}, ONCE), ({"extractable": True}, EXTRACTABLE)])
def test_never_extractable(flags: dict[str, Any], message: str) -> None:
    verdict = judge(pkcs11.test_never_extractable, token_key(**flags))
    assert verdict == (Verdict("failed", message) if message else Verdict("passed"))


def test_extractable_allowed_at_medium_is_noted() -> None:
    assert judge(pkcs11.test_never_extractable, token_key("medium", extractable=True,
                                                          never_extractable=None)) == Verdict(
        "passed", notes=("extractable (allowed by policy at tier medium)",))
    assert judge(pkcs11.test_never_extractable, token_key("medium")) == Verdict("passed")


def test_never_extractable_unreadable_is_an_error() -> None:
    verdict = judge(pkcs11.test_never_extractable, token_key(never_extractable=None))
    assert verdict.outcome == "error"
    assert "never_extractable: not reported by the provider" in verdict.message


# -- generated on token ------------------------------------------------------------------------

def test_generated_on_token() -> None:
    assert judge(pkcs11.test_generated_on_token, token_key()) == Verdict("passed")
    assert judge(pkcs11.test_generated_on_token, token_key(local=False)) == Verdict(
        "failed", "CKA_LOCAL is false: the key was imported or unwrapped, not generated on the "
                  "token, so copies of its value may exist elsewhere")
    assert judge(pkcs11.test_generated_on_token, token_key("low", local=False)) == Verdict(
        "passed", notes=("imported (allowed by policy at tier low)",))
    assert judge(pkcs11.test_generated_on_token, token_key("low")) == Verdict("passed")


# -- purpose -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("usage", "message"), [
    ((), ""), (("encrypt", "decrypt"), ""), (("sign", "verify_recover"), ""),
    (("wrap", "encrypt"), "usage attributes allow 2 purposes (encryption, key wrapping): "
                          "encrypt, wrap"),
    (("derive", "sign", "decrypt"), "usage attributes allow 3 purposes (encryption, key "
                                    "derivation, signature): decrypt, derive, sign"),
])
def test_single_purpose_usage(usage: tuple[str, ...], message: str) -> None:
    verdict = judge(pkcs11.test_single_purpose_usage, token_key(usage=usage))
    assert verdict == (Verdict("failed", message) if message else Verdict("passed"))


def test_mixed_purposes_allowed_at_low_are_noted() -> None:
    verdict = judge(pkcs11.test_single_purpose_usage, token_key("low", usage=("wrap", "sign")))
    assert verdict == Verdict("passed", notes=(
        "several purposes (key wrapping, signature) allowed by policy at tier low",))
    single = judge(pkcs11.test_single_purpose_usage, token_key("low", usage=("sign",)))
    assert single == Verdict("passed")


# -- end date ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("offset", "usage", "outcome"), [
    (timedelta(seconds=1), ("encrypt",), "passed"), (timedelta(0), ("encrypt",), "failed"),
    (-timedelta(days=1), ("encrypt", "sign"), "failed"), (-timedelta(days=1), (), "passed")])
def test_unusable_after_end_date(offset: timedelta, usage: tuple[str, ...],
                                 outcome: str) -> None:
    verdict = judge(pkcs11.test_unusable_after_end_date,
                    token_key(usage=usage, expires=NOW + offset))
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == (f"past its end date 2026-01-01 but still usable for "
                                   f"{', '.join(usage)}")


def test_unreadable_end_date_skips_with_the_reason() -> None:
    verdict = judge(pkcs11.test_unusable_after_end_date,
                    token_key(unreadable={"expires": "CKA_END_DATE malformed"}))
    assert verdict == Verdict("skipped", "end date unknown: CKA_END_DATE malformed")


# -- login-required ----------------------------------------------------------------------------

def test_a_private_object_passes() -> None:
    assert judge(pkcs11.test_login_required, token_key()) == Verdict("passed")


@pytest.mark.parametrize("tier", ["low", "medium", "high", "critical"])
def test_a_usable_public_object_fails_at_every_tier(tier: str) -> None:
    verdict = judge(pkcs11.test_login_required,
                    token_key(tier=tier, private=False, usage=("encrypt", "decrypt")))
    assert verdict == Verdict("failed", "CKA_PRIVATE is false: any session on the token can "
                                        "use the key without the PIN (decrypt, encrypt)")


def test_a_public_object_no_session_can_use_is_noted() -> None:
    verdict = judge(pkcs11.test_login_required, token_key(private=False, usage=()))
    assert verdict == Verdict("passed", notes=(
        "CKA_PRIVATE is false, but no usage attribute is true: the key cannot be used",))


def test_policy_may_allow_a_public_object() -> None:
    verdict = judge(pkcs11.test_login_required, token_key(private=False, tier="low"),
                    crypto_policy=policy(pkcs11_require_login={"low": False}))
    assert verdict == Verdict("passed", notes=(
        "CKA_PRIVATE is false (allowed by policy at tier low)",))
    strict = judge(pkcs11.test_login_required, token_key(private=False, tier="medium"),
                   crypto_policy=policy(pkcs11_require_login={"low": False}))
    assert strict.outcome == "failed"


def test_an_unreadable_private_flag_is_an_error() -> None:
    unread = token_key(private=None, unreadable={"private": "CKR_ATTRIBUTE_SENSITIVE"})
    verdict = judge(pkcs11.test_login_required, unread)
    assert verdict.outcome == "error"
    assert "CKR_ATTRIBUTE_SENSITIVE" in verdict.message
