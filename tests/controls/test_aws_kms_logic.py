"""The AWS KMS pack (``aws_kms.py``, ``aws_kms_access.py``) on planted records: key specs and
usages per tier, and CloudTrail coverage per region, including the trails that could not be
read. The selection ``scripts/mutation.py`` runs against those modules."""

from __future__ import annotations

from typing import Any

import pytest

import controls.aws_kms as aws_kms
import controls.aws_kms_access as aws_kms_access

from .judge import Verdict, controls_of, judge, key, spec_of, system


def kms_key(spec: str = "SYMMETRIC_DEFAULT", usage: tuple[str, ...] = ("ENCRYPT_DECRYPT",),
            tier: str = "high") -> Any:
    return key("arn:aws:kms:eu-west-1:111:key/1", provider="aws-kms", tier=tier, usage=usage,
               attributes={"key_spec": spec})


def test_the_packs_declare_their_checks() -> None:
    assert [spec_of(c).check for c in controls_of(aws_kms)] == ["kms-key-spec", "kms-key-usage"]
    assert [spec_of(c).check for c in controls_of(aws_kms_access)] == [
        "kms-cloudtrail", "kms-iam-decrypt-all-keys"]


@pytest.mark.parametrize("control", controls_of(aws_kms))
def test_the_kms_checks_apply_to_kms_keys_only(control: Any) -> None:
    assert spec_of(control).applies_to(kms_key())
    for provider in ("aws-cloudhsm", "gcp-kms"):  # sorting before and after "aws-kms"
        other = key("k", provider=provider, attributes={"key_spec": "RSA_2048"})
        assert not spec_of(control).applies_to(other)


@pytest.mark.parametrize(("spec", "tier", "outcome"), [
    ("SYMMETRIC_DEFAULT", "high", "passed"), ("SM2", "high", "failed"),
    ("ECC_SECG_P256K1", "critical", "failed"), ("SM2", "medium", "passed"),
])
def test_key_spec(spec: str, tier: str, outcome: str) -> None:
    verdict = judge(aws_kms.test_kms_key_spec, kms_key(spec, tier=tier))
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == f"key spec {spec} is not allowed at tier {tier}"


def test_key_spec_unreadable_is_an_error() -> None:
    record = key("k", provider="aws-kms", unreadable={"key_spec": "AccessDenied"})
    assert judge(aws_kms.test_kms_key_spec, record) == Verdict("error", "key_spec: AccessDenied")


@pytest.mark.parametrize(("spec", "usage", "outcome", "message"), [
    ("SYMMETRIC_DEFAULT", ("ENCRYPT_DECRYPT",), "passed", ""),
    ("RSA_2048", ("SIGN_VERIFY",), "passed", ""),
    ("HMAC_256", ("ENCRYPT_DECRYPT",), "failed",
     "HMAC_256 key used for ENCRYPT_DECRYPT; policy allows GENERATE_VERIFY_MAC for hmac keys"),
    ("RSA_2048", ("SIGN_VERIFY", "ENCRYPT_DECRYPT"), "failed", "key has 2 usages"),
    ("RSA_2048", (), "failed", "key has 0 usages"),
])
def test_key_usage(spec: str, usage: tuple[str, ...], outcome: str, message: str) -> None:
    verdict = judge(aws_kms.test_kms_key_usage, kms_key(spec, usage))
    assert (verdict.outcome, verdict.message) == (outcome, message)


# -- CloudTrail -------------------------------------------------------------------------------

ACCOUNT = "111/eu-west-1"


def trail(events: tuple[str, ...] = ("read", "write"), logging: bool = True,
          **extra: Any) -> dict[str, Any]:
    return {"is_logging": logging, "kms_events": list(events), **extra}


def cloudtrail(regions: dict[str, list[str]], trails: dict[str, dict[str, Any]],
               **attributes: Any) -> Verdict:
    subject = system("kms", provider="aws-kms", attributes={
        "cloudtrail_regions": regions, "cloudtrail_trails": trails, **attributes})
    return judge(aws_kms_access.test_kms_cloudtrail, subject)


def test_cloudtrail_applies_to_kms_systems() -> None:
    spec = spec_of(aws_kms_access.test_kms_cloudtrail)
    assert not spec.applies_to(system("v", provider="vault",
                                      attributes={"cloudtrail_regions": {}}))
    assert spec.applies_to(system("kms", provider="aws-kms",
                                  attributes={"cloudtrail_regions": {}}))


def test_logging_trail_with_both_events_passes() -> None:
    assert cloudtrail({ACCOUNT: ["t1"]}, {"t1": trail()}) == Verdict("passed")


def test_events_beyond_kms_management_do_not_count_as_gaps() -> None:
    trails = {"t1": trail(("read", "write", "data"))}
    assert cloudtrail({ACCOUNT: ["t1"]}, trails) == Verdict("passed")


def test_two_trails_together_cover_a_region() -> None:
    trails = {"t1": trail(("read",)), "t2": trail(("write",))}
    assert cloudtrail({ACCOUNT: ["t1", "t2"]}, trails) == Verdict("passed")


def test_a_region_without_trail_fails() -> None:
    verdict = cloudtrail({ACCOUNT: [], "111/us-east-1": ["t1"]}, {"t1": trail()})
    assert verdict == Verdict("failed", f"{ACCOUNT}: no logging trail records KMS read or "
                                        "write events (no trail)")


def test_a_stopped_trail_records_nothing() -> None:
    verdict = cloudtrail({ACCOUNT: ["t1"]}, {"t1": trail(logging=False)})
    assert verdict == Verdict("failed", f"{ACCOUNT}: no logging trail records KMS read or "
                                        "write events")


def test_a_trail_missing_read_events_fails() -> None:
    verdict = cloudtrail({ACCOUNT: ["t1"]}, {"t1": trail(("write",))})
    assert verdict == Verdict("failed", f"{ACCOUNT}: no logging trail records KMS read events")


def test_an_unreadable_trail_that_leaves_a_gap_is_an_error() -> None:
    trails = {"t1": trail((), unreadable="AccessDenied")}
    verdict = cloudtrail({ACCOUNT: ["t1"]}, trails)
    assert verdict == Verdict("error", "CryptoAuditError: cannot tell whether KMS use is "
                                       f"recorded in {ACCOUNT}: t1: AccessDenied")


def test_an_unreadable_trail_beside_a_covering_one_passes() -> None:
    trails = {"t1": trail((), unreadable="AccessDenied"), "t2": trail()}
    assert cloudtrail({ACCOUNT: ["t1", "t2"]}, trails) == Verdict("passed")


def test_a_gap_is_a_finding_that_names_the_unreadable_too() -> None:
    trails = {"t1": trail((), unreadable="AccessDenied"), "t2": trail(logging=False)}
    verdict = cloudtrail({ACCOUNT: ["t1"], "111/us-east-1": ["t2"]}, trails)
    assert verdict == Verdict("failed", "111/us-east-1: no logging trail records KMS read or "
                                        f"write events (also unreadable: {ACCOUNT}: t1: "
                                        "AccessDenied)")


def test_regions_the_provider_could_not_list_are_an_error() -> None:
    verdict = cloudtrail({ACCOUNT: ["t1"]}, {"t1": trail()},
                         cloudtrail_unreadable={"222/eu-west-1": "AccessDenied"})
    assert verdict == Verdict("error", "CryptoAuditError: cannot tell whether KMS use is "
                                       "recorded in 222/eu-west-1: AccessDenied")


def test_no_audited_region_is_an_error() -> None:
    assert cloudtrail({}, {}) == Verdict("error", "CryptoAuditError: no audited region: "
                                                  "nothing shows that KMS use is recorded")


# -- kms-iam-decrypt-all-keys --------------------------------------------------------------

NOT_JUDGED = ("customer managed and inline policies judged; AWS managed policies are not, as "
              "in Security Hub KMS.1",)


def decrypting(entries: list[dict[str, Any]] | None, **unreadable: str) -> Verdict:
    attributes = {} if entries is None else {"iam_decrypt_all_keys": entries}
    subject = system("kms", provider="aws-kms", attributes=attributes, unreadable=unreadable)
    return judge(aws_kms_access.test_kms_iam_decrypt_all_keys, subject)


def entry(policy: str, attachments: int | None = None, conditional: bool = False,
          actions: tuple[str, ...] = ("kms:Decrypt",)) -> dict[str, Any]:
    found = {"account": "111", "policy": policy, "statement": "#1", "actions": list(actions),
             "conditional": conditional}
    return found if attachments is None else {**found, "attachments": attachments}


def test_decrypt_all_keys_applies_to_kms_systems_only() -> None:
    spec = spec_of(aws_kms_access.test_kms_iam_decrypt_all_keys)
    assert spec.applies_to(system("kms", provider="aws-kms"))
    assert not spec.applies_to(system("gcp", provider="gcp-kms"))


def test_no_policy_decrypting_everywhere_passes_with_what_was_judged() -> None:
    assert decrypting([]) == Verdict("passed", notes=NOT_JUDGED)


def test_each_policy_is_named_with_its_attachments_and_condition() -> None:
    verdict = decrypting([
        entry("customer managed policy arn:aws:iam::111:policy/a", 0),
        entry("customer managed policy arn:aws:iam::111:policy/b", 1, conditional=True),
        entry("customer managed policy arn:aws:iam::111:policy/c", 2,
              actions=("kms:Decrypt", "kms:ReEncryptFrom")),
        entry("inline policy p of role app")])
    assert verdict.outcome == "failed"
    assert verdict.message == (
        "4 IAM policy statement(s) allow decryption with every key: "
        "account 111: customer managed policy arn:aws:iam::111:policy/a (attached to nothing), "
        "statement #1: kms:Decrypt; "
        "account 111: customer managed policy arn:aws:iam::111:policy/b (attached 1 time), "
        "statement #1: kms:Decrypt (under a condition); "
        "account 111: customer managed policy arn:aws:iam::111:policy/c (attached 2 times), "
        "statement #1: kms:Decrypt, kms:ReEncryptFrom; "
        "account 111: inline policy p of role app, statement #1: kms:Decrypt")


def test_unread_iam_is_an_error_naming_why() -> None:
    why = "account 111: GetAccountAuthorizationDetails: AccessDenied"
    assert decrypting(None, iam_decrypt_all_keys=why) == Verdict(
        "error", f"iam_decrypt_all_keys: {why}")
