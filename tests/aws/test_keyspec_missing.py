"""DescribeKey answers without KeySpec: the key keeps every check that could apply."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.handlers
import pytest

from .kms_helpers import discover, system_toml

pytestmark = pytest.mark.usefixtures("aws_env")


def _strip(parsed: dict[str, Any], **kwargs: Any) -> None:
    for name in KEYS_TO_DROP:
        parsed.get("KeyMetadata", {}).pop(name, None)


KEYS_TO_DROP: list[str] = []


@pytest.fixture
def drop_from_describe_key() -> Iterator[list[str]]:
    """DescribeKey answers lose the named KeyMetadata fields, for every session."""
    handler = ("after-call.kms.DescribeKey", _strip)
    botocore.handlers.BUILTIN_HANDLERS.append(handler)
    yield KEYS_TO_DROP
    KEYS_TO_DROP.clear()
    botocore.handlers.BUILTIN_HANDLERS.remove(handler)


def test_the_deprecated_spec_field_is_read_when_keyspec_is_missing(
        drop_from_describe_key, moto_server, estate) -> None:
    drop_from_describe_key.append("KeySpec")
    inventory = discover(system_toml(moto_server.url))
    key = next(k for k in inventory.keys if k.uid == estate["clean-aes"])
    assert (key.kind, key.algorithm, key.size) == ("secret-key", "AES", 256)
    assert key.attributes["key_spec"] == "SYMMETRIC_DEFAULT"
    assert key.rotation_enabled is not None


def test_an_unreported_spec_keeps_the_rotation_checks_and_errors(
        drop_from_describe_key, moto_server, estate, audit) -> None:
    drop_from_describe_key.extend(["KeySpec", "CustomerMasterKeySpec"])
    inventory = discover(system_toml(moto_server.url))
    key = next(k for k in inventory.keys if k.uid == estate["clean-aes"])
    reason = "DescribeKey reported neither KeySpec nor CustomerMasterKeySpec"
    assert key.unreadable["key_spec"] == reason
    assert key.unreadable["rotation_enabled"].endswith(reason)
    # The shorter (symmetric) cryptoperiod judges its age until the spec is known.
    assert key.kind == "secret-key"
    _, evidence = audit(system_toml(moto_server.url))
    results = {(r["key_uid"], r["check"]): r for r in evidence["results"]}
    rotation = results[(estate["clean-aes"], "kms-rotation-enabled")]
    assert rotation["outcome"] == "error"
    assert reason in rotation["message"]
