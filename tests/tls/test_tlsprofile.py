"""Mozilla profile deviations, as sslyze 6 words them, judged weaker or only stronger."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.tlsprofile import judge, judge_all, strong_group, strong_tls12_suite

#: What sslyze reported against the intermediate profile for a Python ``ssl`` server with its
#: default context (OpenSSL 3.0) and an ECDSA P-256 leaf.
DEFAULT_OPENSSL_SERVER = {
    "ciphers": "Cipher suites {'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', "
               "'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'} are supported, but should be "
               "rejected.",
    "tls_curves": "TLS curves {'secp521r1', 'X448'} are supported, but should be rejected.",
}
#: ... and against the intermediate profile for the lab's legacy server.
LEGACY_SERVER = {
    "certificate_path_validation": "Certificate path validation failed for CN=localhost.",
    "ciphers": "Cipher suites {'TLS_RSA_WITH_NULL_MD5', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'}"
               " are supported, but should be rejected.",
    "dh_param_size": "DH parameter size is 1024, should be superior or equal to 2048.",
    "maximum_certificate_lifespan": "Certificate life span is 1000 days, should be less than "
                                    "366.",
    "rsa_key_size": "RSA key size is 1024, minimum allowed is 2048.",
    "tls_versions": "TLS versions {'TLSv1', 'TLSv1.1'} are supported, but should be rejected.",
}


def test_a_default_openssl_server_adds_nothing_weaker():
    deviations = judge_all(DEFAULT_OPENSSL_SERVER)
    assert [(d.name, d.weaker) for d in deviations] == [("ciphers", False),
                                                        ("tls_curves", False)]
    assert "X448, secp521r1" in deviations[1].why


def test_every_deviation_of_the_legacy_server_is_weaker():
    deviations = judge_all(LEGACY_SERVER)
    assert all(d.weaker for d in deviations), deviations
    ciphers = next(d for d in deviations if d.name == "ciphers")
    assert ciphers.why == "weaker than the profile: TLS_RSA_WITH_NULL_MD5"


@pytest.mark.parametrize(("name", "text", "weaker"), [
    # Post-quantum groups, hybrid and pure, are stronger than the profile's X25519/P-256.
    ("tls_curves", "TLS curves {'X25519MLKEM768', 'SecP384r1MLKEM1024', 'MLKEM1024'} are "
                   "supported, but should be rejected.", False),
    ("tls_curves", "TLS curves {'X448', 'secp224r1'} are supported, but should be rejected.",
     True),
    ("tls_curves", "TLS curves {'sect571r1'} are supported, but should be rejected.", True),
    ("tls_curves", "TLS curves {'mystery'} are supported, but should be rejected.", True),
    ("ciphersuites", "TLS 1.3 cipher suites {'TLS_AES_128_CCM_SHA256'} are supported, but "
                     "should be rejected.", False),
    ("ciphersuites", "TLS 1.3 cipher suites {'TLS_AES_128_CCM_8_SHA256'} are supported, but "
                     "should be rejected.", True),
    ("certificate_curves", "Certificate curve is secp521r1, should be one of "
                           "{'secp256r1', 'secp384r1'}.", False),
    ("certificate_curves", "Certificate curve is secp192r1, should be one of "
                           "{'secp256r1', 'secp384r1'}.", True),
    ("certificate_types", "Deployed certificate types are {'ecdsa'}, should have at least one "
                          "of {'rsa'}.", False),
    ("certificate_types", "Deployed certificate types are {'rsa'}, should have at least one "
                          "of {'ecdsa'}.", True),
    ("certificate_signatures", "Deployed certificate signatures are {'ecdsa-with-SHA256'}, "
                               "should have at least one of {'sha256WithRSAEncryption'}.",
     False),
    ("certificate_signatures", "Deployed certificate signatures are {'sha1WithRSAEncryption'}, "
                               "should have at least one of {'sha256WithRSAEncryption'}.",
     True),
    # Versions, vulnerabilities and missing requirements are weaker whatever they say.
    ("tls_versions", "TLS versions {'TLSv1.2'} are supported, but should be rejected.", True),
    ("tls_vulnerability_fallback_scsv", "Server is vulnerable to TLS downgrade attacks.", True),
    ("hsts_min_age", "HSTS header is missing.", True),
    ("something_new", "A check this release does not know.", True),
    # A text whose options cannot be read fails closed.
    ("tls_curves", "TLS curves X448 are supported.", True),
    ("ciphers", "Cipher suites {1, 2} are supported.", True),
])
def test_deviation_is_judged(name, text, weaker):
    assert judge(name, text).weaker is weaker


@pytest.mark.parametrize(("suite", "strong"), [
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", True),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", True),
    ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", True),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", True),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", False),  # CBC with an SHA-1 MAC
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", False),  # no forward secrecy
    ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", False),
    ("TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", False),
    ("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", False),
    ("TLS_AES_128_GCM_SHA256", False),  # a TLS 1.3 name is no TLS 1.2 suite
])
def test_tls12_suite_strength(suite, strong):
    assert strong_tls12_suite(suite) is strong


@pytest.mark.parametrize(("group", "strong"), [
    ("X25519", True), ("X448", True), ("secp521r1", True), ("ffdhe3072", True),
    ("SecP256r1MLKEM768", True), ("secp192r1", False), ("ffdhe1024", False),
    ("sect283k1", False), ("brainpoolP256r1", True),
])
def test_group_strength(group, strong):
    assert strong_group(group) is strong
