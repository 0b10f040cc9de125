"""The built-in control suites of pytest-cryptoaudit: plain pytest tests, one module per family."""
