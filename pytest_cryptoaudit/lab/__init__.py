"""Real local stand-ins for KMS, Vault, HSM and TLS: used by the test suite and ``cryptoaudit lab``."""
