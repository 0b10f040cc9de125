"""The in-process judge of these tests agrees with a real audit: the same planted records,
audited by ``pytest --cryptoaudit`` through the memory provider, give the same outcome for
every (check, key) the judge decides. Without this, the fast selections could drift from
what the plugin does (applicability, required facts, the outcome of each exception)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import controls.inventory as inventory
import controls.pq as pq
import controls.purpose as purpose
from pytest_cryptoaudit.model import CertificateInfo
from pytest_cryptoaudit.testing import audit_subprocess, key_record

from .judge import judge, spec_of

NOW = datetime.now(UTC)
CONTROLS = [inventory.test_classified, inventory.test_has_owner, purpose.test_single_purpose,
            purpose.test_ca_not_leaf, pq.test_pq_readiness]


def certificate(is_ca: bool, usage: tuple[str, ...], eku: tuple[str, ...] = ()) -> Any:
    return CertificateInfo(subject="CN=a", issuer="CN=a", serial="1",
                           not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=90),
                           signature_algorithm="sha256WithRSAEncryption",
                           signature_hash="sha256", is_ca=is_ca, self_signed=True,
                           key_usage=usage, extended_key_usage=eku)


def records() -> list[Any]:
    return [
        key_record("memory:aes"),
        key_record("memory:orphan", accountable_owner=""),
        key_record("memory:odd-algorithm", algorithm="FOO"),
        key_record("memory:no-algorithm", algorithm=None,
                   unreadable={"algorithm": "AccessDenied"}),
        key_record("memory:rsa", kind="private-key", algorithm="RSA", size=3072),
        key_record("memory:mixed", kind="certificate", algorithm="RSA", size=3072,
                   certificate=certificate(False, ("digital_signature", "key_encipherment"))),
        key_record("memory:ca-leaf", kind="certificate", algorithm="RSA", size=3072,
                   certificate=certificate(True, ("key_cert_sign",), ("serverAuth",))),
        key_record("memory:ca", kind="certificate", algorithm="RSA", size=3072,
                   certificate=certificate(True, ("key_cert_sign",))),
    ]


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    run = audit_subprocess(tmp_path_factory.mktemp("agree"), "--cryptoaudit-no-ledger",
                           inventory=records())
    return run.outcomes


def test_the_judge_and_the_audit_agree(audited: dict[tuple[str, str], str]) -> None:
    decided = {}
    for control in CONTROLS:
        check = spec_of(control).check
        for record in records():
            outcome = judge(control, record).outcome
            decided[check, record.uid] = outcome
    found = {pair: audited.get(pair, "not-applicable") for pair in decided}
    assert found == decided
    # the comparison covers every outcome, so none of them can drift unseen
    assert set(decided.values()) == {"passed", "failed", "error", "not-applicable"}
