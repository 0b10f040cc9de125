"""Transit key types and settings become normalized record fields."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.lab.processes import port_is_free
from pytest_cryptoaudit.providers.vault.transit import key_fields, normalize_type


@pytest.mark.parametrize(("key_type", "expected"), [
    ("aes256-gcm96", ("AES", 256, None)),
    ("aes128-gcm96", ("AES", 128, None)),
    ("chacha20-poly1305", ("ChaCha20", 256, None)),
    ("rsa-3072", ("RSA", 3072, None)),
    ("ecdsa-p384", ("EC", 384, "secp384r1")),
    ("ed25519", ("Ed25519", 256, None)),
    ("managed_key", None),
])
def test_normalize_type(key_type, expected):
    assert normalize_type(key_type, {}) == expected


def test_hmac_size_comes_from_key_size():
    assert normalize_type("hmac", {"key_size": 64}) == ("HMAC", 512, None)


def test_unknown_type_is_unreadable_not_guessed():
    fields = key_fields({"type": "managed_key", "latest_version": 1, "keys": {"1": 1}},
                        "transit", "k")
    assert fields["unreadable"]["algorithm"].startswith("transit key type 'managed_key'")
    assert "algorithm" not in fields


def test_versions_rotation_and_dates():
    data = {"type": "aes256-gcm96", "latest_version": 3, "min_decryption_version": 2,
            "auto_rotate_period": 86400 * 30 + 1, "exportable": False,
            "keys": {"2": 1_700_000_000, "3": 1_700_086_400}, "supports_encryption": True}
    fields = key_fields(data, "transit/", "k")
    assert fields["created"].timestamp() == 1_700_000_000  # earliest retained version
    assert fields["attributes"]["created_source"].startswith("version 2")
    assert fields["rotated"].timestamp() == 1_700_086_400
    assert fields["rotation_period_days"] == 31  # a period is never rounded down
    assert fields["attributes"]["mount"] == "transit"
    assert fields["attributes"]["min_decryption_version"] == 2
    assert fields["usage"] == ("encryption",)


def test_dev_server_keeps_its_neighbour_port(bao_server):
    port = int(bao_server.url.rsplit(":", 1)[1])
    assert not port_is_free(port)
    assert not port_is_free(port + 1)


def test_rotation_is_a_managed_fact_the_generic_checks_judge():
    data = {"type": "aes256-gcm96", "latest_version": 3, "auto_rotate_period": 86400 * 30 + 1,
            "keys": {"2": 1_700_000_000, "3": 1_700_086_400}}
    rotation = key_fields(data, "transit/", "k")["managed"].rotation
    assert (rotation.automatic, rotation.period_days) == (True, 31)
    assert rotation.last.timestamp() == 1_700_086_400  # the latest version's creation
    off = key_fields({**data, "auto_rotate_period": 0}, "transit/", "k")["managed"].rotation
    assert (off.automatic, off.period_days) == (False, None)
    unknown = key_fields({**data, "latest_version": 9}, "transit/", "k")["managed"].rotation
    assert unknown.last is None
