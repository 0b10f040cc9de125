"""Cipher suite, protocol and group classification by name."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.tlsinfo import group_bits, has_forward_secrecy, suite_classes


@pytest.mark.parametrize(("suite", "classes"), [
    ("TLS_AES_128_GCM_SHA256", ()),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", ()),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", ()),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", ("CBC-SHA1",)),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", ("3DES", "CBC-SHA1")),
    ("TLS_RSA_WITH_DES_CBC_SHA", ("DES", "CBC-SHA1")),
    ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", ("export", "DES", "CBC-SHA1")),
    ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", ("export", "RC4")),
    ("TLS_RSA_WITH_RC4_128_SHA", ("RC4",)),
    ("TLS_RSA_WITH_IDEA_CBC_SHA", ("IDEA", "CBC-SHA1")),
    ("TLS_RSA_WITH_NULL_SHA256", ("NULL",)),
    ("TLS_NULL_WITH_NULL_NULL", ("NULL",)),
    ("TLS_ECDH_anon_WITH_NULL_SHA", ("NULL", "anonymous", )),
    ("TLS_DH_anon_WITH_AES_128_GCM_SHA256", ("anonymous",)),
    ("SSL_CK_RC4_128_EXPORT40_WITH_MD5", ("export", "RC4")),
    ("SSL_CK_RC2_128_CBC_WITH_MD5", ("RC2",)),
    ("SSL_CK_DES_64_CBC_WITH_MD5", ("DES",)),
    ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5", ("3DES",)),
])
def test_suite_classes(suite, classes):
    assert suite_classes(suite) == classes


@pytest.mark.parametrize(("suite", "ephemeral"), [
    ("TLS_AES_256_GCM_SHA384", True),
    ("TLS_CHACHA20_POLY1305_SHA256", True),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", True),
    ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", True),
    ("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", True),
    ("TLS_DH_anon_WITH_AES_128_CBC_SHA", True),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", False),
    ("TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", False),
    ("TLS_DH_DSS_WITH_AES_128_CBC_SHA", False),
    ("TLS_PSK_WITH_AES_128_CBC_SHA", False),
    ("SSL_CK_RC4_128_WITH_MD5", False),
])
def test_forward_secrecy(suite, ephemeral):
    assert has_forward_secrecy(suite) is ephemeral


@pytest.mark.parametrize(("group", "bits"), [
    ("X25519", 256), ("X448", 448), ("secp256r1", 256), ("prime256v1", 256),
    ("secp521r1", 521), ("brainpoolP384r1", 384), ("sect163k1", 163), ("ffdhe2048", 2048),
    ("mystery", None),
])
def test_group_bits(group, bits):
    assert group_bits(group) == bits
