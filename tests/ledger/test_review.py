"""Sign-off of audit results (CEK-09 guideline 6): `cryptoaudit review sign`, the `[review]`
table, the `results-reviewed` check, SSH-signed sign-offs checked by `ledger verify`, and
pending sign-offs in `status`, the Markdown summary and `caiq`."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.ledger.history import LedgerHistory
from pytest_cryptoaudit.ledger.review import (
    LATE,
    MISSING,
    PENDING,
    REVIEWED,
    Requirement,
    requirement,
    review_draft,
    review_states,
)
from pytest_cryptoaudit.ledger.store import open_ledger
from pytest_cryptoaudit.model import RiskTier
from tests.shared import once_per_run_in

from .conftest import make_project
from .helpers import RUNNER, record_run
from .test_runs import audit, cli, outcome

T0 = datetime(2026, 7, 1, 9, tzinfo=UTC)
REVIEW = """
[review]
roles = ["security", "compliance"]
days = 14
allowed_signers = "allowed_signers"

[review.low]
roles = []
"""


def _ledger(folder: Path) -> Path:
    return folder / ".cryptoaudit" / "ledger.db"


def _sign(pytester: pytest.Pytester, run_id: str, role: str, at: datetime,
          *extra: str, by: str = "alice@example.org") -> int:
    return cli(pytester, "review", "sign", run_id, "--by", by, "--role", role,
               "--decision", "accepted", "--note", "reviewed in the risk committee",
               *extra, at=at)


@pytest.fixture
def first(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Any]:
    """The evidence of a first audit at T0 of a project with the ``[review]`` table, whose
    folder (keys, configuration, ledger) this test's ``pytester`` holds as that audit left
    it: audited once per test run, copied for each test."""
    def build() -> dict[str, Any]:
        make_project(pytester.path, weak=False, extra=REVIEW)
        return audit(pytester, at=T0)[1]

    evidence: dict[str, Any] = once_per_run_in(pytester, tmp_path_factory,
                                               "review-first-audit", build)
    return evidence


# -- the requirement per tier, and the judgement of one audit ------------------------------


def test_requirement_per_tier_overrides_roles_and_days() -> None:
    from pytest_cryptoaudit.config_models import ReviewTable

    table = ReviewTable.model_validate({"roles": ["security", "compliance"], "days": 10,
                                        "low": {"roles": []}, "critical": {"days": 2}})
    assert requirement(table, RiskTier.MEDIUM) == Requirement(("security", "compliance"), 10)
    assert requirement(table, RiskTier.CRITICAL) == Requirement(("security", "compliance"), 2)
    assert not requirement(table, RiskTier.LOW).required
    assert not requirement(None, RiskTier.HIGH).required


def test_require_signature_needs_an_allowed_signers_file() -> None:
    from pydantic import ValidationError

    from pytest_cryptoaudit.config_models import ReviewTable

    with pytest.raises(ValidationError, match="require_signature: needs allowed_signers"):
        ReviewTable.model_validate({"roles": ["security"], "require_signature": True})


def _history_with_reviews(tmp_path: Path, signings: list[tuple[str, int, int]]
                          ) -> LedgerHistory:
    """Two complete audits (day 0 and day 20); ``signings`` are (role, audit index, day
    signed) sign-offs."""
    with open_ledger(str(tmp_path / "l.db"), tmp_path) as store:
        for day in (0, 20):
            record_run(store, T0 + timedelta(days=day))
        audits = store.entries(types=["audit"])
        for role, index, day in signings:
            store.append([review_draft(audits[index], by="alice", role=role,
                                       decision="accepted", note="",
                                       signed_at=(T0 + timedelta(days=day)).isoformat(),
                                       recorded_by=RUNNER)])
        return LedgerHistory.from_store(store)


@pytest.mark.parametrize(("signings", "day", "states"), [
    ([], 5, [PENDING, PENDING]),
    ([], 40, [MISSING, MISSING]),
    ([("security", 0, 3), ("compliance", 0, 4)], 40, [REVIEWED, MISSING]),
    ([("security", 0, 3), ("compliance", 0, 16)], 40, [LATE, MISSING]),
    # a sign-off of the later audit covers the earlier one when made by its deadline
    ([("security", 1, 12), ("compliance", 1, 13)], 40, [REVIEWED, REVIEWED]),
    ([("security", 1, 21), ("compliance", 1, 22)], 40, [LATE, REVIEWED]),
    ([("security", 1, 21)], 25, [MISSING, PENDING]),
])
def test_review_state_of_each_audit(tmp_path: Path, signings: list[tuple[str, int, int]],
                                    day: int, states: list[str]) -> None:
    history = _history_with_reviews(tmp_path, signings)
    need = Requirement(("security", "compliance"), 14)
    judged = review_states(history, "app-keys", need, T0 + timedelta(days=day))
    assert [s.state for s in judged] == states


# -- end to end: the check, the command, the reports ---------------------------------------


def test_without_a_review_table_the_check_is_not_applicable(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, weak=False)
    _result, evidence = audit(pytester, at=T0)
    assert not [r for r in evidence["results"] if r["check"] == "results-reviewed"]
    [entry] = [n for n in evidence["not_applicable"] if n["check"] == "results-reviewed"]
    assert entry["system"] == "app-keys"
    assert "[review] requires a sign-off" in entry["reason"]


def test_missing_sign_off_fails_once_the_deadline_passes(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        first: dict[str, Any]) -> None:
    assert outcome(first, "results-reviewed")["notes"] == [
        "no complete audit to sign off before this run"]
    run_id = first["run"]["id"]

    _result, second = audit(pytester, at=T0 + timedelta(days=3))
    checked = outcome(second, "results-reviewed")
    assert checked["outcome"] == "passed"
    assert checked["notes"][0].startswith(f"awaiting sign-off: run {run_id[:8]}")

    capsys.readouterr()
    assert cli(pytester, "status", "--format", "json", at=T0 + timedelta(days=4)) == 0
    [pending] = json.loads(capsys.readouterr().out)["pending_reviews"]
    assert (pending["run_id"], pending["missing_roles"]) == (
        second["run"]["id"], ["security", "compliance"])

    _result, late = audit(pytester, at=T0 + timedelta(days=20))
    failed = outcome(late, "results-reviewed")
    assert failed["outcome"] == "failed"
    assert "security, compliance missing, due 2026-07-18" in failed["message"]


def test_signed_off_audits_pass_and_reports_cite_them(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        first: dict[str, Any]) -> None:
    run_id = first["run"]["id"]
    assert _sign(pytester, run_id[:8], "security", T0 + timedelta(days=1)) == 0
    assert _sign(pytester, run_id, "compliance", T0 + timedelta(days=2),
                 by="bob@example.org") == 0

    _result, later = audit(pytester, "--cryptoaudit-markdown", "summary.md",
                           at=T0 + timedelta(days=20))
    assert outcome(later, "results-reviewed")["outcome"] == "passed"
    summary = (pytester.path / "summary.md").read_text()
    assert "### Sign-off (CEK-09 guideline 6)" in summary
    assert (f"this run: app-keys to be signed off by security, compliance by 2026-08-04: "
            f"`cryptoaudit review sign {later['run']['id']}") in summary

    capsys.readouterr()
    assert cli(pytester, "caiq", "--format", "json", at=T0 + timedelta(days=21)) == 0
    answers = {a["id"]: a for a in json.loads(capsys.readouterr().out)}
    assert "results signed off by leadership: 0 of 1 latest complete audit (open: app-keys " \
        f"run {later['run']['id'][:8]}" in answers["CEK-09.2"]["evidence"]


def test_sign_refuses_an_unknown_run_and_an_unconfigured_role(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        first: dict[str, Any]) -> None:
    capsys.readouterr()
    assert _sign(pytester, "deadbeef-0000", "security", T0) == 2
    assert "no audit of run 'deadbeef-0000'" in capsys.readouterr().err
    assert _sign(pytester, first["run"]["id"], "securty", T0) == 2
    assert "did you mean `security`?" in capsys.readouterr().err


# -- SSH signatures ------------------------------------------------------------------------


def _ssh_key(folder: Path, name: str) -> tuple[Path, str]:
    """A fresh ed25519 key pair made by ssh-keygen: (private key path, public key line)."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed (apt-get install openssh-client)")
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                    str(path)], check=True, timeout=30)
    return path, path.with_suffix(".pub").read_text().strip()


def _verify(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli(pytester, "ledger", "verify")
    return code, capsys.readouterr().out


def test_signed_sign_offs_verify_and_forgeries_do_not(
        pytester: pytest.Pytester, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alice, alice_public = _ssh_key(tmp_path, "alice")
    mallory, _ = _ssh_key(tmp_path, "mallory")
    make_project(pytester.path, weak=False, extra=REVIEW)
    (pytester.path / "allowed_signers").write_text(f"alice@example.org {alice_public}\n")
    _result, first = audit(pytester, at=T0)
    run_id = first["run"]["id"]
    assert _sign(pytester, run_id, "security", T0 + timedelta(days=1),
                 "--signing-key", str(alice)) == 0
    code, out = _verify(pytester, capsys)
    assert code == 0, out
    assert "intact" in out

    # someone who can write the database signs as alice with another key ...
    assert _sign(pytester, run_id, "compliance", T0 + timedelta(days=1),
                 "--signing-key", str(mallory)) == 0
    # ... or records a sign-off with no signature at all
    assert _sign(pytester, run_id, "compliance", T0 + timedelta(days=2),
                 by="bob@example.org") == 0
    code, out = _verify(pytester, capsys)
    assert code == 1
    problems = [line for line in out.splitlines() if line.startswith("TAMPERED")]
    assert len(problems) == 2, out
    assert "accepted by alice@example.org (compliance)" in problems[0]
    assert "signature does not verify for 'alice@example.org'" in problems[0]
    assert problems[1].endswith("accepted by bob@example.org (compliance) of app-keys, run "
                                f"{run_id}): not signed")


def test_a_signature_does_not_follow_an_edited_decision(
        pytester: pytest.Pytester, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alice, alice_public = _ssh_key(tmp_path, "alice")
    make_project(pytester.path, weak=False, extra=REVIEW)
    (pytester.path / "allowed_signers").write_text(f"alice@example.org {alice_public}\n")
    _result, first = audit(pytester, at=T0)
    assert cli(pytester, "review", "sign", first["run"]["id"], "--by", "alice@example.org",
               "--role", "security", "--decision", "rejected", "--signing-key",
               str(alice), at=T0) == 0
    ledger = _ledger(pytester.path)
    with sqlite3.connect(ledger) as connection:
        [(seq, content)] = connection.execute(
            "SELECT seq, content FROM cryptoaudit_entries WHERE type = 'review'").fetchall()
    edited: dict[str, Any] = json.loads(content)
    edited["decision"] = "accepted"
    # Re-seal the whole chain, as someone with write access could: only the signature is left.
    from pytest_cryptoaudit.ledger.chain import canonical, link, sha256

    text = canonical(edited)
    with sqlite3.connect(ledger) as connection:
        prev = connection.execute("SELECT prev_hash FROM cryptoaudit_entries WHERE seq = ?",
                                  (seq,)).fetchone()[0]
        chain = link(prev, sha256(text))
        connection.execute("UPDATE cryptoaudit_entries SET content = ?, content_hash = ?, "
                           "chain_hash = ? WHERE seq = ?", (text, sha256(text), chain, seq))
        connection.execute("UPDATE cryptoaudit_head SET chain_hash = ?", (chain,))
    code, out = _verify(pytester, capsys)
    assert code == 1
    assert "accepted by alice@example.org (security)" in out
    assert "signature does not verify" in out


def test_require_signature_counts_only_verified_sign_offs(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    alice, alice_public = _ssh_key(tmp_path, "alice")
    make_project(pytester.path, weak=False, extra=REVIEW.replace(
        'roles = ["security", "compliance"]', 'roles = ["security"]\nrequire_signature = true'))
    (pytester.path / "allowed_signers").write_text(f"alice@example.org {alice_public}\n")
    _result, first = audit(pytester, at=T0)
    assert _sign(pytester, first["run"]["id"], "security", T0 + timedelta(days=1)) == 0
    _result, unsigned = audit(pytester, at=T0 + timedelta(days=20))
    assert outcome(unsigned, "results-reviewed")["outcome"] == "failed"
    assert "security missing" in outcome(unsigned, "results-reviewed")["message"]

    assert _sign(pytester, unsigned["run"]["id"], "security", T0 + timedelta(days=21),
                 "--signing-key", str(alice)) == 0
    _result, signed = audit(pytester, at=T0 + timedelta(days=40))
    checked = outcome(signed, "results-reviewed")
    assert checked["outcome"] == "passed", checked


def test_review_list_and_status_name_what_is_pending(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        first: dict[str, Any]) -> None:
    run_id = first["run"]["id"]
    assert _sign(pytester, run_id, "security", T0 + timedelta(days=1)) == 0
    capsys.readouterr()
    assert cli(pytester, "review", "list", at=T0 + timedelta(days=2)) == 0
    [header, row] = capsys.readouterr().out.splitlines()
    assert header.split() == ["SYSTEM", "RUN", "AUDIT", "SIGN", "BY", "MISSING", "SIGNED",
                              "STATE"]
    assert row.split()[:2] == ["app-keys", run_id[:8]]
    assert "compliance  security: alice@example.org accepted  pending" in row
    assert cli(pytester, "status", at=T0 + timedelta(days=2)) == 0
    assert (f"Sign-offs pending ([review]):\n- app-keys: run {run_id[:8]} (2026-07-01): "
            "compliance missing, due 2026-07-15") in capsys.readouterr().out
    assert cli(pytester, "review", "list", at=T0 + timedelta(days=20)) == 0
    assert capsys.readouterr().out.rstrip().endswith("missing")


def test_a_rejection_is_a_review_whose_follow_up_is_noted(pytester: pytest.Pytester,
                                                          first: dict[str, Any]) -> None:
    run_id = first["run"]["id"]
    assert _sign(pytester, run_id, "security", T0 + timedelta(days=1)) == 0
    assert cli(pytester, "review", "sign", run_id, "--by", "bob@example.org", "--role",
               "compliance", "--decision", "rejected", "--note", "INC-7",
               at=T0 + timedelta(days=2)) == 0
    _result, later = audit(pytester, at=T0 + timedelta(days=20))
    checked = outcome(later, "results-reviewed")
    assert checked["outcome"] == "passed"
    assert checked["notes"][-1] == (
        f"compliance (bob@example.org) rejected run {run_id[:8]}: corrective actions follow "
        "(`cryptoaudit finding assign`)")


def test_sign_offs_are_sealed_and_checked_in_either_ledger(store: Any, tmp_path: Path) -> None:
    from pytest_cryptoaudit.ledger.chain import verify
    from pytest_cryptoaudit.ledger.review_cli import signature_problems
    from pytest_cryptoaudit.ledger.signing import sign

    alice, alice_public = _ssh_key(tmp_path, "alice")
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"alice@example.org {alice_public}\n")
    record_run(store, T0)
    [audit_entry] = store.entries(types=["audit"])

    def draft(signed: bool) -> Any:
        plain = review_draft(audit_entry, by="alice@example.org", role="security",
                             decision="accepted", note="", signed_at=T0.isoformat(),
                             recorded_by=RUNNER)
        if not signed:
            return plain
        return review_draft(audit_entry, by="alice@example.org", role="security",
                            decision="accepted", note="", signed_at=T0.isoformat(),
                            recorded_by=RUNNER, signature=sign(plain.content, alice))

    store.append([draft(signed=True)])
    entries = store.entries(detail=True)
    assert verify(entries, store.head()) == []
    assert signature_problems(entries, signers) == []
    store.append([draft(signed=False)])
    [problem] = signature_problems(store.entries(detail=True), signers)
    assert problem.startswith("#3 (accepted by alice@example.org (security) of app-keys")
    assert problem.endswith(": not signed")
