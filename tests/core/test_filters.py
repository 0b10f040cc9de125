"""Every ``-k`` and ``-m`` filter that the README documents selects what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories import ec_key, private_pem, rsa_key, write
from tests.shared import once_per_run

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


@pytest.fixture(scope="session")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], list[str]]:
    """The node ids that each filter selects: every filter is a real ``pytest --co`` run,
    all of them in one fresh interpreter (one start-up instead of one per filter), once per
    test run (the xdist workers share it)."""
    def build(folder: Path) -> list[list[Any]]:
        write(folder / "tools/tool.pem", private_pem(rsa_key(1024)))
        write(folder / "payments/pay.pem", private_pem(ec_key()))
        (folder / "cryptoaudit.toml").write_text(CONFIG)
        return [[list(args), nodeids] for args, nodeids in _collect(folder, FILTERS).items()]

    _folder, stored = once_per_run(tmp_path_factory, "filters-collected", build)
    return {tuple(args): nodeids for args, nodeids in stored}


FILTERS = [
    ("-k", "key-age"),
    ("-k", "CEK-12 and payments"),
    ("-k", "critical"),
    ("-m", "risk_tier(tier='critical')"),
    ("-m", "ssrm(owner='CSC')"),
    ("-m", "control"),
    (),
]

#: Runs ``pytest --co`` once per filter (argv: JSON list of filters) and prints, as JSON,
#: the node ids each run selected and its exit code.
COLLECT_EACH = """
import json, sys
import pytest

class Selected:
    def __init__(self):
        self.nodeids = []
    def pytest_collection_finish(self, session):
        self.nodeids = [item.nodeid for item in session.items]

found = []
for args in json.loads(sys.argv[1]):
    selected = Selected()
    code = pytest.main(["--cryptoaudit", "--cryptoaudit-no-ledger", "-p", "no:cacheprovider",
                        "--co", "-q", *args], plugins=[selected])
    found.append({"args": args, "exit": int(code), "nodeids": selected.nodeids})
print("SELECTED " + json.dumps(found))
"""


def _collect(folder, filters: list[tuple[str, ...]]) -> dict[tuple[str, ...], list[str]]:
    import json
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-c", COLLECT_EACH, json.dumps(filters)],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    [line] = [line for line in completed.stdout.splitlines() if line.startswith("SELECTED ")]
    runs = json.loads(line.removeprefix("SELECTED "))
    assert [tuple(run["args"]) for run in runs] == filters
    # 0: tests selected; 5: the filter selected none (a test below says whether it should)
    assert all(run["exit"] in (0, 5) for run in runs), completed.stdout + completed.stderr
    return {tuple(run["args"]): run["nodeids"] for run in runs}


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
