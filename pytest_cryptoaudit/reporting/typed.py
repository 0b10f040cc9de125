"""The typed evidence a reporter reads, from the model or from its JSON document.

A run hands reporters the validated :class:`~pytest_cryptoaudit.evidence_model.Evidence`.
Callers that hold the JSON document (a file read back, or an excerpt of one) get it
validated; an excerpt that lacks fields no reporter reads is built field by field without
validation, so a report renders what it is given, as it did when reporters read dicts.
"""

from __future__ import annotations

from ..evidence_model import typed_evidence, typed_result

__all__ = ["typed_evidence", "typed_result"]
