"""Key and certificate factories for the tests (the lab's generator, reused)."""

from pytest_cryptoaudit.lab.keygen import (  # noqa: F401
    NOW,
    ca_and_leaf,
    cert_pem,
    certificate,
    dsa_key,
    ec_key,
    ed25519_key,
    name,
    private_pem,
    public_pem,
    rsa_key,
    sha1_certificate,
    write,
)
