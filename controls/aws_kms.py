"""AWS KMS key specs (CEK-04) and usages (CEK-11): what only KMS's own vocabulary can
judge. Lifecycle, origin and rotation are generic managed-key checks
(``managed_keys.py``); access is in ``managed_access.py``; tags and CloudTrail are in
``aws_kms_access.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.providers.aws_kms.keyspec import family
from pytest_cryptoaudit.references import ISO27001_A824, SP800_131A

if TYPE_CHECKING:
    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")


def _kms(key: KeyRecord) -> bool:
    return key.provider == "aws-kms"


@pytest.mark.control(
    "CEK-04", check="kms-key-spec",
    references=[SP800_131A, "NIST SP 800-186", ISO27001_A824],
    remediation="Create a key of an approved spec and migrate to it; disable the old key.",
    applies_to=_kms, requires=["key_spec"],
)
def test_kms_key_spec(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key spec is not one the policy disallows at the key's tier."""
    spec = crypto_key.attributes["key_spec"]
    tier = crypto_key.risk_tier.value
    assert spec not in crypto_policy.for_tier("aws_kms_disallowed_key_specs", tier), (
        f"key spec {spec} is not allowed at tier {tier}"
    )


@pytest.mark.control(
    "CEK-11", check="kms-key-usage",
    references=["NIST SP 800-57 Part 1 Rev 5, 5.2", ISO27001_A824],
    remediation="Use a separate key for each purpose, of a usage the policy allows for its "
                "key family.",
    applies_to=_kms, requires=["key_spec", "usage"],
)
def test_kms_key_usage(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key has one usage, and one that the policy allows for its key family."""
    spec = crypto_key.attributes["key_spec"]
    allowed = crypto_policy["aws_kms_allowed_key_usages"][family(spec)]
    assert len(crypto_key.usage) == 1, f"key has {len(crypto_key.usage)} usages"
    assert crypto_key.usage[0] in allowed, (
        f"{spec} key used for {crypto_key.usage[0]}; policy allows {', '.join(allowed)} "
        f"for {family(spec)} keys"
    )
