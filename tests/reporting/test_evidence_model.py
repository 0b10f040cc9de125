"""The typed evidence: its published schema is generated from the models, and a real run's
evidence reads back into them unchanged."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from pytest_cryptoaudit.evidence_model import (
    SCHEMA_PATH,
    Derived,
    Evidence,
    generated_schema,
    schema_text,
)
from pytest_cryptoaudit.model import Outcome, RiskTier
from pytest_cryptoaudit.reporting.evidence import write_evidence
from tests.reporting.conftest import FullRun


def test_the_published_schema_is_generated_from_the_models() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "regenerate: cryptoaudit schema evidence > "
        "pytest_cryptoaudit/schemas/evidence-1.schema.json")
    jsonschema.Draft202012Validator.check_schema(generated_schema())


def test_the_outcomes_are_those_of_the_model() -> None:
    assert generated_schema()["$defs"]["Outcome"]["enum"] == [o.value for o in Outcome]


def test_a_run_reads_back_into_the_models_unchanged(full_run: FullRun) -> None:
    typed = Evidence.model_validate(full_run.evidence)
    assert typed.model_dump(mode="json", by_alias=True) == full_run.evidence
    waived = [r for r in typed.results if r.outcome is Outcome.WAIVED]
    assert waived and all(r.waiver is not None and r.waiver.status == "applied" for r in waived)
    assert typed.summary["CEK-04"].total > 0


def test_a_field_the_models_do_not_know_is_refused(full_run: FullRun) -> None:
    """What this project writes is declared: a typo in a writer fails instead of shipping."""
    broken = {**full_run.evidence, "sumary": {}}
    with pytest.raises(ValidationError, match="sumary"):
        Evidence.model_validate(broken)


def test_a_run_read_entry_by_entry_is_the_same_evidence(full_run: FullRun) -> None:
    """``from_document`` validates each inventory entry and result on its own, sharing
    pydantic's set of given field names between entries given the same fields."""
    typed = Evidence.from_document(copy.deepcopy(full_run.evidence))
    assert typed.model_dump(mode="json", by_alias=True) == full_run.evidence
    shared = {id(result.__pydantic_fields_set__) for result in typed.results}
    assert len(typed.results) > 10 and len(shared) < len(typed.results) / 4
    assert all(isinstance(key.risk_tier, RiskTier) for key in typed.inventory)


def test_every_result_is_still_validated(full_run: FullRun) -> None:
    broken = copy.deepcopy(full_run.evidence)
    broken["results"][-1]["control"] = "not a control id"
    with pytest.raises(ValidationError, match="control"):
        Evidence.from_document(broken)


def test_the_evidence_file_holds_one_line_per_entry(full_run: FullRun,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    write_evidence(full_run.evidence, path)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == full_run.evidence
    lines = text.splitlines()
    for name, first in (("results", '{"nodeid": '), ("inventory", '{"uid": ')):
        listed = [line for line in lines if line.lstrip().startswith(first)]
        assert len(listed) == len(full_run.evidence[name]) > 0
    assert lines[1] == '  "schema_version": "1.0",' and lines[-1] == "}"


def test_a_run_s_records_are_read_as_models_when_reached_not_held(full_run: FullRun) -> None:
    typed = Evidence.from_document(copy.deepcopy(full_run.evidence))
    first, again = typed.results[0], typed.results[0]
    assert first == again and first is not again
    assert [r.nodeid for r in typed.results[-2:]] == [
        r["nodeid"] for r in full_run.evidence["results"][-2:]]
    assert typed.results == Evidence.model_validate(full_run.evidence).results
    assert len(typed.inventory) == len(full_run.evidence["inventory"]) > 0


def test_records_made_as_they_are_written_reach_the_file(tmp_path: Path) -> None:
    made: list[int] = []

    def entry(n: int) -> dict[str, int]:
        made.append(n)
        return {"n": n}

    document = {"results": Derived(range(3), entry), "empty": Derived((), entry)}
    assert not made
    write_evidence(document, tmp_path / "evidence.json")
    assert json.loads((tmp_path / "evidence.json").read_text()) == {
        "results": [{"n": 0}, {"n": 1}, {"n": 2}], "empty": []}
    assert made == [0, 1, 2]
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        write_evidence({"results": [object()]}, tmp_path / "broken.json")
