"""Sharded runs: the KMS estate and two key-file systems audited as three shards, merged
into one audit that equals a single run's, and every way the merge must refuse."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.lab.estate_kms import config_toml
from pytest_cryptoaudit.ledger.store import open_ledger
from pytest_cryptoaudit.testing import AuditRun, audit_pytester

from ..factories import private_pem, rsa_key, write

pytestmark = pytest.mark.usefixtures("aws_env")

FILE_SYSTEMS = """
[[systems]]
name = "{name}"
provider = "files"
risk_tier = "medium"
ssrm_owner = "CSC"
paths = ["{name}"]
"""


def project(pytester: pytest.Pytester, url: str) -> str:
    for name, bits in (("app-keys", 2048), ("legacy-keys", 1024)):
        write(pytester.path / name / "key.pem", private_pem(rsa_key(bits)))
    text = config_toml(url) + "".join(FILE_SYSTEMS.format(name=n)
                                      for n in ("app-keys", "legacy-keys"))
    pytester.path.joinpath("cryptoaudit.toml").write_text(text)
    return text


def shard(pytester: pytest.Pytester, text: str, index: int) -> AuditRun:
    done = audit_pytester(pytester, f"--cryptoaudit-shard={index}/3",
                          "--cryptoaudit-audit-id=nightly-42",
                          "--cryptoaudit-ledger=shards.db", config=text)
    pytester.path.joinpath(f"shard{index}.json").write_text(json.dumps(done.evidence))
    return done


def merge(pytester: pytest.Pytester, *args: str) -> int:
    return main(["merge", *args, "--config", str(pytester.path / "cryptoaudit.toml")])


def outcomes(evidence: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["check"], r["key_uid"]): r["outcome"] for r in evidence["results"]}


def test_three_shards_merge_into_the_audit_a_single_run_makes(
        pytester: pytest.Pytester, moto_server: Any, estate: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    text = project(pytester, moto_server.url)
    single = audit_pytester(pytester, "--cryptoaudit-ledger=single.db", config=text)
    shards = [shard(pytester, text, index) for index in (1, 2, 3)]
    assigned = [s.evidence["run"]["shard"]["systems"] for s in shards]
    assert sorted(name for names in assigned for name in names) == [
        "app-keys", "kms-partner", "kms-prod", "legacy-keys"]
    assert all(names for names in assigned)  # four systems over three shards: none empty
    assert not pytester.path.joinpath("shards.db").exists() or not _audits(
        pytester.path / "shards.db")  # a shard records nothing in the ledger

    paths = [str(pytester.path / f"shard{i}.json") for i in (1, 2, 3)]
    out = pytester.path / "merged"
    assert merge(pytester, *paths, "--ledger", str(pytester.path / "shards.db"),
                 "--json", str(out / "evidence.json"), "--markdown", str(out / "summary.md"),
                 "--oscal", str(out / "oscal.json"), "--junitxml", str(out / "junit.xml"),
                 "--html", str(out / "report.html")) == 0
    merged = json.loads((out / "evidence.json").read_text())
    assert outcomes(merged) == outcomes(single.evidence)
    assert merged["summary"] == single.evidence["summary"]
    assert [s["index"] for s in merged["run"]["merged_from"]] == [1, 2, 3]
    assert merged["run"]["selection"]["systems"] == single.evidence["run"]["selection"][
        "systems"]
    findings = sum(1 for r in merged["results"] if r["outcome"] == "failed")
    assert findings and (out / "junit.xml").read_text().count("<failure ") == findings
    assert "4 systems" in (out / "summary.md").read_text()
    assert "cryptoaudit-controls" in (out / "report.html").read_text()

    # the ledger records one complete audit per system, all from the merged run
    audits = _audits(pytester.path / "shards.db")
    assert sorted(audits) == ["app-keys", "kms-partner", "kms-prod", "legacy-keys"]
    assert {a["run_id"] for a in audits.values()} == {merged["run"]["id"]}
    assert all(a["complete"] for a in audits.values())
    capsys.readouterr()
    assert merge(pytester, *paths, "--ledger", str(pytester.path / "shards.db"),
                 "--json", str(out / "again.json")) == 2
    assert "the ledger already holds audit" in capsys.readouterr().err


def test_the_merge_refuses_what_is_not_one_whole_audit(
        pytester: pytest.Pytester, moto_server: Any, estate: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    text = project(pytester, moto_server.url)
    documents = [shard(pytester, text, index).evidence for index in (1, 2, 3)]

    def refused(shards: list[dict[str, Any]], *extra: str) -> str:
        paths = []
        for number, document in enumerate(shards):
            path = pytester.path / f"case{number}.json"
            path.write_text(json.dumps(document))
            paths.append(str(path))
        capsys.readouterr()
        assert merge(pytester, *paths, "--json", str(pytester.path / "out.json"),
                     *extra) == 2
        assert not pytester.path.joinpath("out.json").exists()
        return capsys.readouterr().err

    assert "missing shard 2/3: the audit is incomplete" in refused(
        [documents[0], documents[2]], "--no-ledger")
    assert "shard 3 given more than once" in refused(
        [documents[0], documents[1], documents[2], documents[2]], "--no-ledger")
    other_run = copy.deepcopy(documents[1])
    other_run["run"]["shard"]["audit_id"] = "nightly-41"
    assert "shards of different audits: audit_id 'nightly-42' != 'nightly-41'" in refused(
        [documents[0], other_run, documents[2]], "--no-ledger")
    other_config = copy.deepcopy(documents[2])
    other_config["run"]["config_sha256"] = "0" * 64
    assert "ran with a different config_sha256" in refused(
        [documents[0], documents[1], other_config], "--no-ledger")
    single = copy.deepcopy(documents[0])
    single["run"]["shard"] = None
    assert "is not a shard" in refused([single, documents[1], documents[2]], "--no-ledger")
    # the configuration changed after the shards ran: the ledger would judge another audit
    Path(pytester.path / "cryptoaudit.toml").write_text(text + FILE_SYSTEMS.format(name="new"))
    assert "the configuration changed since the shards ran" in refused(documents)


@pytest.mark.parametrize("value", ["0/3", "4/3", "two/3", "1/0"])
def test_a_shard_outside_one_to_n_is_a_usage_error(pytester: pytest.Pytester, value: str,
                                                   moto_server: Any) -> None:
    with pytest.raises(AssertionError, match=r"expected K/N with 1 <= K <= N"):
        audit_pytester(pytester, f"--cryptoaudit-shard={value}", "--cryptoaudit-audit-id=x",
                       config=config_toml(moto_server.url))


def _audits(path: Path) -> dict[str, dict[str, Any]]:
    with open_ledger(str(path), path.parent) as store:
        return {e.system: {**e.data, "run_id": e.run_id} for e in store.entries(types=["audit"])}
