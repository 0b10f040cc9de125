"""Incremental audits of a key-file system: a narrowed run carries nothing, and a file whose
facts changed is checked again while the other is carried."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.testing import audit_pytester

from ..factories import private_pem, rsa_key, write
from .conftest import make_project

WEAK = "files:keys/weak.pem"
GOOD = "files:keys/good.pem"


def carried(evidence: dict) -> set[tuple[str, str]]:
    return {(r["check"], r["key_uid"]) for r in evidence["results"] if r["carried"]}


def test_a_narrowed_run_carries_nothing(pytester: pytest.Pytester) -> None:
    make_project(pytester.path)
    audit_pytester(pytester, "--cryptoaudit-incremental")
    narrowed = audit_pytester(pytester, "--cryptoaudit-incremental",
                              "--cryptoaudit-control", "CEK-04")
    assert carried(narrowed.evidence) == set()
    assert ("app-keys audited in full: a narrowed run (-k, -m, --cryptoaudit-control) "
            "carries nothing") in narrowed.output


def test_a_replaced_key_file_is_checked_again(pytester: pytest.Pytester) -> None:
    make_project(pytester.path)
    full = audit_pytester(pytester, "--cryptoaudit-incremental")
    assert full.outcome("key-strength", WEAK) == "failed"
    write(pytester.path / "keys" / "weak.pem", private_pem(rsa_key(2048)))
    again = audit_pytester(pytester, "--cryptoaudit-incremental")
    assert again.outcome("key-strength", WEAK) == "passed"  # checked, not carried
    assert {uid for _check, uid in carried(again.evidence)} == {GOOD}
    assert ("key-strength", GOOD) in carried(again.evidence)
