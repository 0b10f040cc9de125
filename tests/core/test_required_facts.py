"""``required``: a fact a check requires, or an error naming the record and the fact."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import required


def test_required_returns_a_present_fact() -> None:
    assert required("files:laptop:a.pem", "size", 2048) == 2048


def test_required_keeps_falsy_facts() -> None:
    # Only absence is an error: a reported zero or False is a fact the check judges.
    assert required("kms:k1", "managed.material_expires", False) is False


def test_required_errors_naming_record_and_fact() -> None:
    with pytest.raises(CryptoAuditError, match=r"cannot audit kms:k1: managed: not reported"):
        required("kms:k1", "managed", None)
