"""Real local stand-ins for KMS, Vault, HSM and TLS, for the tests and `cryptoaudit lab`."""
