"""Every ``-k`` and ``-m`` filter that the README documents selects what it says."""

from __future__ import annotations

import pytest

from tests.factories import ec_key, private_pem, rsa_key, write

CONFIG = """
[[systems]]
name = "tools"
provider = "files"
risk_tier = "low"
owner = "CSC"
paths = ["tools"]

[[systems]]
name = "payments"
provider = "files"
risk_tier = "critical"
owner = "CSP"
paths = ["payments"]
"""


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], list[str]]:
    """The node ids that each filter selects, collected once per filter."""
    folder = tmp_path_factory.mktemp("filters")
    write(folder / "tools/tool.pem", private_pem(rsa_key(1024)))
    write(folder / "payments/pay.pem", private_pem(ec_key()))
    (folder / "cryptoaudit.toml").write_text(CONFIG)
    return {args: _collect(folder, *args) for args in FILTERS}


FILTERS = [
    ("-k", "key-age"),
    ("-k", "CEK-12 and payments"),
    ("-k", "critical"),
    ("-m", "risk_tier(tier='critical')"),
    ("-m", "ssrm(owner='CSC')"),
    ("-m", "control"),
    (),
]


def _collect(folder, *args: str) -> list[str]:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--cryptoaudit", "--cryptoaudit-no-ledger",
         "-p", "no:cacheprovider", "--co", "-q", *args],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    return [line for line in completed.stdout.splitlines() if "::" in line]


def test_the_check_name_is_part_of_the_test_id(collected):
    every = collected[()]
    assert "lifecycle.py::test_key_age[key-age-files:tools/tool.pem]" in every
    selected = collected[("-k", "key-age")]
    assert selected and all("[key-age-" in nodeid for nodeid in selected)
    assert len(selected) == 2


def test_keyword_matches_control_id_and_system(collected):
    selected = collected[("-k", "CEK-12 and payments")]
    assert selected and all("payments/pay.pem" in nodeid for nodeid in selected)
    assert not any("tools/" in nodeid for nodeid in selected)


def test_keyword_matches_the_risk_tier(collected):
    selected = collected[("-k", "critical")]
    assert selected and all("payments" in nodeid for nodeid in selected)


def test_marker_selects_the_subjects_tier(collected):
    selected = collected[("-m", "risk_tier(tier='critical')")]
    assert selected and all("payments" in nodeid for nodeid in selected)
    assert len(selected) == len([n for n in collected[()] if "payments" in n])


def test_marker_selects_the_subjects_owner(collected):
    selected = collected[("-m", "ssrm(owner='CSC')")]
    assert selected and all("tools" in nodeid for nodeid in selected)


def test_control_marker_selects_every_audit_test(collected):
    assert collected[("-m", "control")] == collected[()]
