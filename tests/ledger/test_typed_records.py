"""The ledger reads the typed evidence, and still writes what it wrote when it read dicts.

``data/evidence-1.0.json`` is the evidence of a run (managed facts with normalised access,
post-quantum verdicts, a key policy, non-ASCII text, an unreachable system and an unreadable
key); ``data/evidence-1.0.drafts.json`` holds the entries that the dict-reading ledger derived
from it, and ``data/ledger-1.0.db`` a ledger that code wrote from two runs of it. A change in
how the typed path spells a key would move every stored fingerprint: these tests fail then.
"""

from __future__ import annotations

import json
import shutil
import weakref
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.evidence_model import Evidence
from pytest_cryptoaudit.ledger.chain import verify
from pytest_cryptoaudit.ledger.fingerprint import key_fingerprint
from pytest_cryptoaudit.ledger.records import audit_drafts
from pytest_cryptoaudit.ledger.store import open_ledger

DATA = Path(__file__).parent / "data"
SYSTEMS = ["down", "kms", "vault"]


def document() -> dict[str, Any]:
    return json.loads((DATA / "evidence-1.0.json").read_text(encoding="utf-8"))


def recorded() -> list[dict[str, Any]]:
    return json.loads((DATA / "evidence-1.0.drafts.json").read_text(encoding="utf-8"))


#: Entry fields added after the drafts were recorded (incremental audits): what they hold for
#: a run that carried nothing is asserted separately; every other field must be as recorded.
ADDED_SINCE = {"carried", "audited_since"}
#: Finding fields added since (notification routing by owner).
FINDING_ADDED_SINCE = {"accountable_owner"}


def _as_recorded(name: str, value: Any) -> Any:
    if name in ("findings", "waived"):
        return [{k: v for k, v in f.items() if k not in FINDING_ADDED_SINCE} for f in value]
    return value


def comparable(drafts: list[Any]) -> list[dict[str, Any]]:
    """The drafts as recorded: everything but the time of recording and the fields added
    since the recording."""
    return [{"type": d.type, "system": d.system, "at": d.at, "run_id": d.run_id,
             "content": {k: _as_recorded(k, v) for k, v in d.content.items()
                         if k != "recorded_at" and k not in ADDED_SINCE},
             "detail": d.detail} for d in drafts]


@pytest.mark.parametrize("form", ["typed", "validated-document", "json-document"])
def test_typed_evidence_gives_the_entries_the_dict_path_recorded(form):
    data = document()
    evidence: Any = {"typed": Evidence.model_validate(data),
                     "validated-document": Evidence.from_document(data),
                     "json-document": data}[form]
    drafts = audit_drafts(evidence, {})
    assert comparable(drafts) == recorded()
    # A run that carried nothing: no carried result, audited since its own start.
    for draft in drafts:
        if draft.type == "audit":
            assert draft.content["carried"] == 0
            assert draft.content["audited_since"] == draft.content["started"]


def test_the_recorded_entries_cover_what_could_move():
    by_system = {d["system"]: d for d in recorded()}
    assert [by_system[s]["content"]["keys"] for s in SYSTEMS] == [0, 2, 1]
    kms = by_system["kms"]["content"]
    assert kms["findings"] and kms["summary"]["failed"] >= 1
    assert by_system["down"]["content"]["incomplete_reasons"] == [
        "system not reached: connection refused"]
    assert set(by_system["kms"]["detail"]["keys"]) == {"kms/k1", "kms/k2"}


def test_a_key_written_by_an_older_version_hashes_as_its_document_spelt_it():
    """Evidence of an older version lacks fields added since (accountable_owner, pq, tags):
    the model fills their defaults, which must not reach the hash."""
    data = document()
    excerpt = {k: v for k, v in data["inventory"][2].items()
               if k not in ("pq", "tags", "accountable_owner")}
    data["inventory"][2] = excerpt
    typed = Evidence.model_validate(data)
    naive = key_fingerprint(typed.inventory[2].model_dump(mode="json", by_alias=True))["hash"]
    assert naive != key_fingerprint(excerpt)["hash"]
    assert typed.inventory_json()[2] == excerpt
    for evidence in (data, typed, Evidence.from_document(data)):
        [draft] = [d for d in audit_drafts(evidence, {}) if d.system == "vault"]
        assert draft.detail is not None
        assert draft.detail["keys"]["vault/t1"]["hash"] == key_fingerprint(excerpt)["hash"]


def test_a_ledger_written_before_the_typed_path_verifies_and_goes_on(tmp_path):
    shutil.copy(DATA / "ledger-1.0.db", tmp_path / "ledger.db")
    with open_ledger(str(tmp_path / "ledger.db"), tmp_path) as store:
        assert verify(store.entries(detail=True), store.head()) == []
        before = store.latest_audits(SYSTEMS)
        data = document()
        data["run"].update(id="00000000-0000-4000-8000-000000000003",
                           started="2026-01-07T02:00:00+00:00")
        store.append(audit_drafts(Evidence.from_document(data), {}, before))
        after = store.latest_audits(SYSTEMS)
        assert verify(store.entries(detail=True), store.head()) == []
    assert set(after) == {"kms", "vault"}  # "down" was never reached: no complete audit
    for name in after:
        assert after[name].data["inventory_sha256"] == before[name].data["inventory_sha256"]
    # an unchanged inventory points to the detail stored by the first run (seq 1..3)
    assert after["kms"].data["inventory_detail_seq"] == before["kms"].data[
        "inventory_detail_seq"] <= 3


def test_ledger_verify_command_accepts_the_old_ledger(tmp_path):
    from pytest_cryptoaudit.cli import main

    shutil.copy(DATA / "ledger-1.0.db", tmp_path / "ledger.db")
    assert main(["ledger", "verify", "--ledger", str(tmp_path / "ledger.db")]) == 0


def test_the_entries_hold_one_result_model_at_a_time():
    """A large run's results are made as they are read: the ledger counts each one and lets
    it go, so at most two result models are alive at once (the one counted and the next)
    while it builds the entries. Holding them all was the peak of a large audit's memory."""
    from pytest_cryptoaudit.evidence_model import Derived, Result

    data = document()
    data["results"] = data["results"] * 20  # 760 results
    evidence = Evidence.from_document(data)
    alive, most = [0], [0]

    def made(entry: dict[str, Any]) -> Result:
        result = Result.model_validate(entry)
        alive[0] += 1
        most[0] = max(most[0], alive[0])
        weakref.finalize(result, lambda: alive.__setitem__(0, alive[0] - 1))
        return result

    evidence = evidence.model_copy(update={"results": Derived(data["results"], made)})
    drafts = {d.system: d for d in audit_drafts(evidence, {}) if d.type == "audit"}
    assert most[0] <= 2  # the one being counted, and the next being read
    single = {d.system: d for d in audit_drafts(document(), {}) if d.type == "audit"}
    for name, draft in drafts.items():
        assert draft.content["summary"] == {
            outcome: 20 * count for outcome, count in single[name].content["summary"].items()}
        assert draft.content["findings"] == single[name].content["findings"] * 20
