"""Every built-in control id, run alone on the lab's providers, fetches what it judges.

A run narrowed with ``--cryptoaudit-control`` fetches only the facts its controls require
or read; a control that reads a fact it does not declare would error "not fetched" when it
runs alone, though it passes in a full run. Here each id runs alone against AWS KMS on
moto, Vault on OpenBao, key files, TLS servers and (where installed) SoftHSM2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.catalog_cli import load_builtin_catalog
from pytest_cryptoaudit.lab import lab

CONTROL_IDS = sorted({spec.id for spec in load_builtin_catalog()})


@pytest.fixture(scope="module")
def running_lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alone") / "lab"
    state = lab.up(folder, say=lambda _: None)
    yield folder, state
    lab.down(folder, say=lambda _: None)


def audit_alone(folder: Path, env: dict[str, str], control: str) -> dict[str, Any]:
    evidence = folder / f"evidence-{control}.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider", "-q",
         "--cryptoaudit-config", str(folder / lab.CONFIG_FILE), "--cryptoaudit-no-ledger",
         "--cryptoaudit-control", control, "--cryptoaudit-json", str(evidence)],
        cwd=folder, env={**os.environ, **env}, capture_output=True, text=True, timeout=600,
        check=False)
    assert evidence.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(evidence.read_text())
    return result


def test_the_lab_has_every_provider_the_controls_serve(running_lab):
    _, state = running_lab
    providers = {system["provider"] for system in state.systems}
    assert {"aws-kms", "vault", "files", "tls"} <= providers


@pytest.mark.parametrize("control", CONTROL_IDS)
def test_control_alone_errors_on_nothing_it_did_not_fetch(running_lab, control):
    folder, state = running_lab
    evidence = audit_alone(folder, state.env, control)
    results = evidence["results"]
    assert results, f"{control} alone gave no result"
    assert {r["control"] for r in results} == {control}
    unfetched = [f"{r['key_uid']} {r['check']}: {r['message']}" for r in results
                 if "not fetched" in (r["message"] or "")]
    assert not unfetched, "\n".join(unfetched)
