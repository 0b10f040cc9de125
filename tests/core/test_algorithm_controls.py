"""The CEK-04 algorithm controls (controls/algorithms.py) on planted records, no service.

Records sit on each side of the default minimum sizes (RSA/DSA/DH 2048 bits, 3072 at
critical; curves 224, 256 from high; symmetric 128, 256 at critical), on the disallowed
algorithms and signature hashes, and on what the checks cannot judge. This is also the
selection ``scripts/mutation.py`` runs against ``controls/algorithms.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pytest_cryptoaudit.model import CertificateInfo
from pytest_cryptoaudit.testing import AuditRun, key_record
from tests.shared import shared_audit

CHECKS = {"key-strength", "algorithm-allowed", "certificate-signature-hash"}
NOW = datetime.now(UTC)


def sized(algorithm: str, size: int | None, kind: str = "secret-key") -> dict[str, Any]:
    return {"algorithm": algorithm, "size": size, "kind": kind}


def cert(signature_algorithm: str, signature_hash: str | None) -> dict[str, Any]:
    info = CertificateInfo(subject="CN=app", issuer="CN=ca", serial="01",
                           not_before=NOW - timedelta(days=10),
                           not_after=NOW + timedelta(days=200),
                           signature_algorithm=signature_algorithm,
                           signature_hash=signature_hash, is_ca=False, self_signed=False)
    return {"kind": "certificate", "algorithm": "RSA", "size": 3072, "certificate": info,
            "expires": info.not_after}


#: uid -> (tier, key fields, the checks it must fail).
PLANTED: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "rsa-2048": ("high", sized("RSA", 2048, "private-key"), set()),
    "rsa-2047": ("high", sized("RSA", 2047, "private-key"), {"key-strength"}),
    "rsa-crit-3072": ("critical", sized("RSA", 3072, "private-key"), set()),
    "rsa-4096": ("high", sized("RSA", 4096, "private-key"), set()),
    "rsa-crit-3071": ("critical", sized("RSA", 3071, "private-key"), {"key-strength"}),
    "dsa-2047": ("high", sized("DSA", 2047, "private-key"), {"key-strength"}),
    "dh-2048": ("high", sized("DH", 2048, "private-key"), set()),
    "ec-256": ("high", sized("EC", 256, "private-key"), set()),
    "ec-255": ("high", sized("EC", 255, "private-key"), {"key-strength"}),
    "ec-low-224": ("low", sized("EC", 224, "private-key"), set()),
    "ec-low-223": ("low", sized("EC", 223, "private-key"), {"key-strength"}),
    "aes-128": ("high", sized("AES", 128), set()),
    "aes-127": ("high", sized("AES", 127), {"key-strength"}),
    "aes-crit-256": ("critical", sized("AES", 256), set()),
    "aes-crit-192": ("critical", sized("AES", 192), {"key-strength"}),
    "hmac-112": ("high", sized("HMAC", 112), {"key-strength"}),
    "des": ("high", sized("DES", 56), {"key-strength", "algorithm-allowed"}),
    "rc4-lower": ("high", sized("rc4", 128), {"algorithm-allowed"}),
    "ed25519": ("high", sized("Ed25519", None, "private-key"), set()),
    "unknown-algorithm": ("high", sized("Serpent", 256), set()),
    "cert-sha256": ("high", cert("sha256WithRSAEncryption", "sha256"), set()),
    "cert-sha1": ("high", cert("sha1WithRSAEncryption", "SHA1"),
                  {"certificate-signature-hash"}),
    "cert-md5": ("high", cert("md5WithRSAEncryption", "md5"), {"certificate-signature-hash"}),
    "cert-ed25519": ("high", cert("Ed25519", None), set()),
    "cert-unnamed": ("high", cert("1.2.3.4.5", None), set()),
    # ML-DSA hashes internally; ML-KEM is no signature algorithm, so its "signature" is unknown
    "cert-ml-dsa": ("high", cert("ML-DSA-65", None), set()),
    "cert-ml-kem": ("high", cert("ML-KEM-768", None), set()),
    "cert-slh-dsa": ("high", cert("SLH-DSA-SHA2-128s", None), set()),
}
#: Checks that must skip, error, or not run on a record.
SKIPPED = {"unknown-algorithm": {"key-strength"}, "rc4-lower": {"key-strength"}}
ERRORS = {"cert-unnamed": {"certificate-signature-hash"},
          "cert-ml-kem": {"certificate-signature-hash"}}
NOT_APPLICABLE = {"ed25519": {"key-strength", "certificate-signature-hash"},
                  "aes-128": {"certificate-signature-hash"}}


def uid(name: str) -> str:
    return f"memory:{name}"


def records() -> list[Any]:
    return [key_record(uid(name), system=tier, risk_tier=tier, **fields)
            for name, (tier, fields, _fails) in PLANTED.items()]


@pytest.fixture(scope="session")
def audited(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    """One audit of every planted record, once per run (the xdist workers share it)."""
    return shared_audit(tmp_path_factory, "algorithm-controls", "--cryptoaudit-no-ledger",
                        records=records)[1]


def outcomes(run: AuditRun, name: str) -> dict[str, str]:
    return {check: outcome for (check, key), outcome in run.outcomes.items()
            if check in CHECKS and key == uid(name)}


def test_each_planted_record_fails_exactly_its_checks(audited: AuditRun) -> None:
    for name, (_tier, _fields, fails) in PLANTED.items():
        found = outcomes(audited, name)
        assert {c for c, o in found.items() if o == "failed"} == fails, (name, found)
        assert {c for c, o in found.items() if o == "skipped"} == SKIPPED.get(name, set()), (
            name, found)
        assert {c for c, o in found.items() if o == "error"} == ERRORS.get(name, set()), (
            name, found)
        assert not NOT_APPLICABLE.get(name, set()) & set(found), (name, found)
    assert set(outcomes(audited, "cert-sha256")) == CHECKS


def test_findings_and_notes_name_the_threshold(audited: AuditRun) -> None:
    def message(check: str, name: str) -> str:
        return audited.message(check, uid(name))

    def notes(check: str, name: str) -> list[str]:
        return list(audited.result(check, uid(name)).get("notes", []))

    assert message("key-strength", "rsa-crit-3071") == (
        "RSA-3071 is below the 3072-bit minimum for tier critical")
    assert message("key-strength", "ec-255") == "EC-255 is below the 256-bit minimum for tier high"
    assert message("key-strength", "aes-crit-192") == (
        "AES-192 is below the 256-bit minimum for tier critical")
    assert message("algorithm-allowed", "rc4-lower") == "algorithm rc4 is disallowed by policy"
    assert message("certificate-signature-hash", "cert-sha1") == (
        "signed with sha1WithRSAEncryption: SHA1 is disallowed")
    assert "signature algorithm '1.2.3.4.5' not recognised: its hash cannot be judged" in (
        message("certificate-signature-hash", "cert-unnamed"))
    assert notes("key-strength", "rsa-2048") == [
        "RSA-2048 gives 112-bit strength, deprecated after 2030 (SP 800-131A Rev 3 draft): "
        "plan a move to 3072 bits"]
    assert notes("key-strength", "dh-2048") != []
    assert notes("key-strength", "rsa-crit-3072") == []
    assert notes("key-strength", "rsa-4096") == []
    assert notes("key-strength", "aes-128") == []
