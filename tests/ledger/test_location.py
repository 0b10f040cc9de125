"""Ledger locations: every password form is found and hidden; nothing else is a file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_cryptoaudit.config import ConfigError, parse_config
from pytest_cryptoaudit.ledger.location import LocationError, parse_location, redact
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry

PW = "Sup3rSecretPw"


@pytest.mark.parametrize(("location", "shown"), [
    (f"postgresql://auditor:{PW}@db.example.test:5432/ledger",
     "postgresql://auditor:***@db.example.test:5432/ledger"),
    (f"postgresql://:{PW}@db.example.test/ledger", "postgresql://:***@db.example.test/ledger"),
    (f"postgresql://auditor@db.example.test/ledger?password={PW}&sslmode=require",
     "postgresql://auditor:***@db.example.test/ledger?sslmode=require"),
    (f"postgres://auditor:p%40{PW}@db.example.test/ledger",
     "postgres://auditor:***@db.example.test/ledger"),
    (f"host=db.example.test dbname=ledger user=auditor password={PW}",
     "dbname=ledger host=db.example.test password=*** user=auditor"),
    (f"host=db.example.test dbname=ledger password='with space {PW}'",
     "dbname=ledger host=db.example.test password=***"),
    ("postgresql://auditor@db.example.test/ledger", "postgresql://auditor@db.example.test/ledger"),
])
def test_every_password_form_is_hidden(location: str, shown: str, tmp_path: Path) -> None:
    parsed = parse_location(location, tmp_path)
    assert parsed.kind == "postgresql"
    assert parsed.shown == shown == redact(location)
    assert PW not in parsed.shown


def test_an_at_sign_in_an_unencoded_password_is_rejected_without_quoting_it(
        tmp_path: Path) -> None:
    location = f"postgresql://auditor:pa@{PW}@db.example.test/ledger"
    with pytest.raises(LocationError, match="more than one '@'") as failure:
        parse_location(location, tmp_path)
    assert PW not in str(failure.value)
    assert PW not in redact(location)


@pytest.mark.parametrize("location", [
    f"host=db.example.test password={PW} oops",      # libpq would quote the fault
    f"mysql://auditor:{PW}@db.example.test/ledger",  # not a ledger kind
])
def test_neither_a_path_nor_postgres_is_rejected(location: str, tmp_path: Path) -> None:
    with pytest.raises(LocationError) as failure:
        parse_location(location, tmp_path)
    assert PW not in str(failure.value)
    assert PW not in redact(location)
    assert list(tmp_path.iterdir()) == []


def test_paths_stay_paths(tmp_path: Path) -> None:
    assert parse_location("ledger.db", tmp_path).target == str(tmp_path / "ledger.db")
    assert parse_location("sqlite:////tmp/l.db", tmp_path).target == "/tmp/l.db"
    assert parse_location(None, tmp_path).shown == str(tmp_path / ".cryptoaudit/ledger.db")


@pytest.mark.parametrize("ledger", [
    f"postgresql://:{PW}@db.example.test/ledger",
    f"postgresql://auditor@db.example.test/ledger?password={PW}",
    f"host=db.example.test password={PW}",
    {"location": f"host=db.example.test password={PW}"},
])
def test_a_password_in_the_configuration_is_a_config_error(ledger: object) -> None:
    with pytest.raises(ConfigError, match="carries a password") as failure:
        parse_config({"ledger": ledger}, ProviderRegistry(), BUILTIN_SETTINGS)
    assert PW not in str(failure.value)


def test_a_ledger_table_names_the_password_variable() -> None:
    config = parse_config({"ledger": {"location": "postgresql://auditor@db/ledger",
                                      "password_env": "LEDGER_PW"}},
                          ProviderRegistry(), BUILTIN_SETTINGS)
    assert config.ledger_location == "postgresql://auditor@db/ledger"
    assert config.ledger_password_env == "LEDGER_PW"
