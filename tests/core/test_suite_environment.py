"""What the suite's own set-up (tests/conftest.py) changes keeps every check it touches."""

from __future__ import annotations

import pytest


def test_jsonschema_still_checks_iris() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("rfc3987_syntax")
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    assert "iri" in checker.checkers, "jsonschema found no IRI checker"
    assert checker.conforms("https://example.org/clé?q=1#frag", "iri")
    assert not checker.conforms("https://exa mple.org/<bad>", "iri")
    assert checker.conforms("../relative/päth", "iri-reference")
    assert not checker.conforms("\\\\not a reference", "iri-reference")
