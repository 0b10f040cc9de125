"""Rotation facts of a symmetric KMS key: GetKeyRotationStatus and ListKeyRotations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .clients import api_errors, describe, error_code, paginate
from .keyspec import latest_rotation, rotates

#: AWS's rotation period when the API does not report one (before RotationPeriodInDays).
AWS_DEFAULT_PERIOD_DAYS = 365
#: Refusals that come from the key's state or type, not from access: the key is still read.
STATE_ERRORS = ("KMSInvalidStateException", "UnsupportedOperationException")


def read_rotation(kms: Any, arn: str, metadata: Mapping[str, Any],
                  fields: dict[str, Any]) -> None:
    """Fill rotation_enabled, rotation_period_days and rotated for keys KMS can rotate.

    Other keys (asymmetric, HMAC, imported, in a custom key store) keep None: KMS does not
    rotate them, and the key-age check covers them instead.
    """
    if not rotates(metadata):
        return
    try:
        status = kms.get_key_rotation_status(KeyId=arn)
        rotations = paginate(kms, "list_key_rotations", "Rotations", KeyId=arn)
    except api_errors() as exc:
        if error_code(exc) not in STATE_ERRORS:
            raise
        fields["unreadable"]["rotation_enabled"] = describe(exc)
        return
    enabled = bool(status["KeyRotationEnabled"])
    period = status.get("RotationPeriodInDays")
    if enabled and period is None:
        period = AWS_DEFAULT_PERIOD_DAYS
        fields["attributes"]["rotation_period_source"] = "AWS default (not reported by the API)"
    fields.update(rotation_enabled=enabled, rotation_period_days=period,
                  rotated=latest_rotation(rotations))
