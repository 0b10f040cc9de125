"""AWS KMS accountability: CloudTrail recording KMS use in every audited region (CEK-09), and
no IAM policy allowing decryption with every key of an account (CEK-08, Security Hub KMS.1
and KMS.2). Who may use a key (policies, grants) is judged on the normalised access facts by
``managed_access.py``; who owns it by CEK-21 ``has-owner`` in ``inventory.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.providers.aws_kms.cloudtrail import region_coverage
from pytest_cryptoaudit.references import ISO27001_A824

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pytest_cryptoaudit.model import SystemRecord

KMS = {"provider": "aws-kms"}
KMS_EVENTS = {"read", "write"}

pytestmark = pytest.mark.ssrm("CSC")


def _region_gaps(attributes: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Per account/region: the KMS events no logging trail records, and what was unreadable."""
    trails = attributes["cloudtrail_trails"]
    gaps, unknown = {}, dict(attributes.get("cloudtrail_unreadable", {}))
    for scope, arns in sorted(attributes["cloudtrail_regions"].items()):
        lacking = KMS_EVENTS - region_coverage(trails[arn] for arn in arns)
        unreadable = [f"{arn}: {trails[arn]['unreadable']}" for arn in arns
                      if "unreadable" in trails[arn]]
        if lacking and unreadable:
            unknown[scope] = "; ".join(unreadable)
        elif lacking:
            gaps[scope] = "no logging trail records KMS " + " or ".join(sorted(lacking)) + \
                " events" + ("" if arns else " (no trail)")
    return gaps, unknown


@pytest.mark.control(
    "CEK-09", check="kms-cloudtrail",
    references=["ISO/IEC 27001:2022 A.8.15", ISO27001_A824],
    remediation="Create a multi-region trail that logs all management events (read and "
                "write) and does not exclude kms.amazonaws.com; make sure it is logging.",
    applies_to=KMS, requires=["cloudtrail_regions"],
)
def test_kms_cloudtrail(crypto_system: SystemRecord) -> None:
    """Every audited region has a logging CloudTrail trail recording KMS management events
    (read and write), so that key use is continuously recorded."""
    gaps, unknown = _region_gaps(crypto_system.attributes)
    unknown_text = "; ".join(f"{scope}: {why}" for scope, why in unknown.items())
    assert not gaps, "; ".join(f"{scope}: {why}" for scope, why in gaps.items()) + (
        f" (also unreadable: {unknown_text})" if unknown else "")
    if unknown:
        raise CryptoAuditError(f"cannot tell whether KMS use is recorded in {unknown_text}")
    if not crypto_system.attributes["cloudtrail_regions"]:
        raise CryptoAuditError("no audited region: nothing shows that KMS use is recorded")


def _decrypting(entry: Mapping[str, Any]) -> str:
    """``account A: policy P (attachments), statement S: actions`` of one entry."""
    attached = entry.get("attachments")
    use = ("" if attached is None else " (attached to nothing)" if attached == 0
           else f" (attached {attached} time{'s' if attached > 1 else ''})")
    condition = " (under a condition)" if entry.get("conditional") else ""
    return (f"account {entry['account']}: {entry['policy']}{use}, statement "
            f"{entry['statement']}: {', '.join(entry['actions'])}{condition}")


@pytest.mark.control(
    "CEK-08", check="kms-iam-decrypt-all-keys",
    references=["AWS FSBP KMS.1", "AWS FSBP KMS.2", "CSA CCM v4 / AICM IAM-05"],
    remediation="Name the keys a principal may decrypt with (key ARNs, or a condition on "
                "their aliases or tags) in the Resource of every IAM policy statement that "
                "allows kms:Decrypt or kms:ReEncryptFrom, instead of every key.",
    applies_to=KMS, requires=["iam_decrypt_all_keys"],
)
def test_kms_iam_decrypt_all_keys(crypto_system: SystemRecord,
                                  crypto_note: Callable[[str], None]) -> None:
    """No customer managed policy, and no inline policy of a user, group or role, in an
    audited account allows decryption (kms:Decrypt, kms:ReEncryptFrom) with every KMS key of
    the account (AWS Security Hub KMS.1 and KMS.2)."""
    entries = crypto_system.attributes["iam_decrypt_all_keys"]
    assert not entries, (f"{len(entries)} IAM policy statement(s) allow decryption with every "
                         "key: " + "; ".join(_decrypting(e) for e in entries))
    crypto_note("customer managed and inline policies judged; AWS managed policies are not, "
                "as in Security Hub KMS.1")
