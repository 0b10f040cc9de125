"""A retired check's name stays understood: waivers naming it cover its successors, and the
ledger carries its open findings over to the successor's findings on the same subject."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pytest_cryptoaudit.findings import RETIRED_CHECKS, check_names, finding_id
from pytest_cryptoaudit.ledger.findings import OPEN, RESOLVED, findings_log
from pytest_cryptoaudit.ledger.history import LedgerHistory
from pytest_cryptoaudit.ledger.store import LedgerStore, open_ledger
from pytest_cryptoaudit.waivers import Waiver

from .helpers import record_run, result

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
KEY = "vault:v/transit/k"


def waiver(check: str | None, control: str = "CEK-12") -> Waiver:
    return Waiver("W-1", control, "accepted", "ciso", date(2099, 1, 1), check=check, key=KEY)


def test_a_retired_check_stands_for_its_successors_in_its_own_control_only():
    assert check_names("CEK-12", "auto-rotate-period") == {
        "auto-rotate-period", "kms-rotation-enabled", "kms-rotation-period"}
    assert check_names("CEK-04", "auto-rotate-period") == {"auto-rotate-period"}
    assert check_names("CEK-12", "key-age") == {"key-age"}
    assert check_names("CEK-10", "keyvault-hsm-protection") == {
        "keyvault-hsm-protection", "kms-protection-level"}
    assert check_names("CEK-03", "library-supported") == {
        "library-supported", "library-version-supported", "library-one-version"}
    assert check_names("CEK-03", "library-advisories") == {
        "library-advisories", "library-version-advisories"}
    assert set(RETIRED_CHECKS) == {"auto-rotate-period", "keyvault-hsm-protection",
                                   "library-supported", "library-advisories"}


def test_a_waiver_of_the_retired_check_covers_the_generic_rotation_checks():
    old = waiver("auto-rotate-period")
    assert old.matches("CEK-12", "kms-rotation-enabled", KEY, "v")
    assert old.matches("CEK-12", "kms-rotation-period", KEY, "v")
    assert not old.matches("CEK-12", "key-age", KEY, "v")
    assert not old.matches("CEK-12", "kms-rotation-period", "vault:v/transit/other", "v")
    assert not waiver("kms-rotation-period").matches("CEK-12", "kms-rotation-enabled", KEY, "v")


def test_the_ledger_carries_a_retired_checks_finding_to_its_successor(tmp_path: Path) -> None:
    with open_ledger(str(tmp_path / "ledger.db"), tmp_path) as sqlite_store:
        _carry_over(sqlite_store)


def _carry_over(sqlite_store: LedgerStore) -> None:
    old = result("v", "auto-rotate-period", KEY, "failed", "CEK-12")
    other = result("v", "auto-rotate-period", "vault:v/transit/fixed", "failed", "CEK-12")
    record_run(sqlite_store, T0, systems={"v": "high"}, results=[old, other])
    new = result("v", "kms-rotation-enabled", KEY, "failed", "CEK-12")
    record_run(sqlite_store, T0 + timedelta(days=1), systems={"v": "high"}, results=[new])
    log = {f.id: f for f in findings_log(LedgerHistory.from_store(sqlite_store))}
    old_id = finding_id("v", "CEK-12", "auto-rotate-period", KEY)
    new_id = finding_id("v", "CEK-12", "kms-rotation-enabled", KEY)
    fixed_id = finding_id("v", "CEK-12", "auto-rotate-period", "vault:v/transit/fixed")
    assert (log[old_id].status, log[old_id].superseded_by) == (RESOLVED, new_id)
    assert (log[new_id].status, log[new_id].carried_from) == (OPEN, old_id)
    assert log[new_id].first_seen == T0  # the finding is as old as the retired check's
    assert (log[fixed_id].status, log[fixed_id].superseded_by) == (RESOLVED, None)


HOST = "libraries:host"
OPENSSL = f"{HOST}/dpkg/openssl@1.1.1n-0+deb10u6:/var/lib/dpkg/status"


def test_a_host_finding_carries_to_the_first_library_finding_of_that_host(tmp_path: Path):
    with open_ledger(str(tmp_path / "ledger.db"), tmp_path) as store:
        old = result("host", "library-supported", HOST, "failed", "CEK-03")
        record_run(store, T0, systems={"host": "high"}, results=[old])
        new = result("host", "library-version-supported", OPENSSL, "failed", "CEK-03")
        elsewhere = result("other", "library-version-supported",
                           "libraries:other/dpkg/openssl@1:/x", "failed", "CEK-03")
        record_run(store, T0 + timedelta(days=1), systems={"host": "high", "other": "low"},
                   results=[new, elsewhere])
        log = {f.id: f for f in findings_log(LedgerHistory.from_store(store))}
    old_id = finding_id("host", "CEK-03", "library-supported", HOST)
    new_id = finding_id("host", "CEK-03", "library-version-supported", OPENSSL)
    other_id = finding_id("other", "CEK-03", "library-version-supported",
                          "libraries:other/dpkg/openssl@1:/x")
    assert (log[old_id].status, log[old_id].superseded_by) == (RESOLVED, new_id)
    assert (log[new_id].carried_from, log[new_id].first_seen) == (old_id, T0)
    assert log[other_id].carried_from is None


def test_a_key_finding_never_carries_to_a_key_below_it(tmp_path: Path):
    """Only a finding on a whole system hands on to subjects inside it."""
    with open_ledger(str(tmp_path / "ledger.db"), tmp_path) as store:
        record_run(store, T0, systems={"v": "high"},
                   results=[result("v", "auto-rotate-period", KEY, "failed", "CEK-12")])
        below = result("v", "kms-rotation-enabled", f"{KEY}/2", "failed", "CEK-12")
        record_run(store, T0 + timedelta(days=1), systems={"v": "high"}, results=[below])
        log = {f.id: f for f in findings_log(LedgerHistory.from_store(store))}
    assert log[finding_id("v", "CEK-12", "kms-rotation-enabled", f"{KEY}/2")].carried_from \
        is None


def test_a_waiver_of_a_retired_host_check_covers_the_libraries_of_that_host():
    old = Waiver("W-2", "CEK-03", "accepted", "ciso", date(2099, 1, 1),
                 check="library-supported", key=HOST)
    assert old.matches("CEK-03", "library-version-supported", OPENSSL, "host")
    assert old.matches("CEK-03", "library-supported", HOST, "host")
    assert not old.matches("CEK-03", "library-version-advisories", OPENSSL, "host")
    assert not old.matches("CEK-03", "library-version-supported",
                           "libraries:hostile/dpkg/openssl@1:/x", "hostile")
    current = Waiver("W-3", "CEK-03", "accepted", "ciso", date(2099, 1, 1),
                     check="library-version-supported", key=HOST)
    assert not current.matches("CEK-03", "library-version-supported", OPENSSL, "host")
