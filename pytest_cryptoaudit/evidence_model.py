"""The typed evidence of a run: the models every report and the ledger read.

The published JSON Schema (``schemas/evidence-1.schema.json``) is generated from these models
(``cryptoaudit schema evidence``); a test fails when the committed file
differs. Records that providers fill (inventory, endpoints) allow extra fields, so a provider
that adds a fact does not break the schema; everything this project writes is declared here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from .model import EventKind, KeyKind, Outcome, RiskTier

SCHEMA_VERSION = "1.0"
SCHEMA_ID = "https://pytest-cryptoaudit.dev/schemas/evidence-1.schema.json"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "evidence-1.schema.json"

Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
ControlId = Annotated[str, Field(pattern="^[A-Z]+-[0-9]+$")]
Owner = Annotated[str, Field(description="SSRM party: CSP, CSC, MP, OSP, AP, AIC or a shared pair")]
Accountable = Annotated[str, Field(description=(
    "The team or person that answers for the subject (its owner tag, else its system's "
    "accountable_owner); empty when neither is set"))]


ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")


class _Closed(BaseModel):
    """What this project writes: every field declared, nothing else accepted; frozen, since
    every report reads the same evidence."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class _Open(BaseModel):
    """A record a provider fills: further fields are kept, not refused."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Selection(_Closed):
    """What narrowed this run; the ledger counts only unnarrowed audits as complete."""

    systems: list[str]
    controls: list[str] | None
    filters: list[str]
    due_only: bool
    interrupted: bool
    incremental: bool = False


class Shard(_Closed):
    """One shard of a sharded audit (``--cryptoaudit-shard K/N``)."""

    index: int = Field(ge=1)
    count: int = Field(ge=1)
    audit_id: str = Field(min_length=1, description="The id every shard of the audit shares.")
    systems: list[str] = Field(description="The systems assigned to this shard.")
    all_systems: list[str] = Field(description="Every configured system, in all shards.")


class MergedShard(_Closed):
    """A shard run that ``cryptoaudit merge`` combined into this evidence."""

    index: int = Field(ge=1)
    run: str
    started: str = Field(json_schema_extra={"format": "date-time"})
    finished: str = Field(json_schema_extra={"format": "date-time"})
    systems: list[str]


class Run(_Closed):
    id: str
    started: str = Field(json_schema_extra={"format": "date-time"})
    finished: str = Field(json_schema_extra={"format": "date-time"})
    auditor: dict[str, Any]
    catalog_version: str
    config_path: str | None = None
    config_sha256: Sha256
    discovery_seconds: float = 0.0
    policy: dict[str, Any] = Field(default_factory=dict)
    policy_sha256: Sha256 | None = None
    policy_document: dict[str, str] = Field(
        default_factory=dict, description=(
            "The policy document's version facts, as configured: version, reviewed_on "
            "(a date), reviewed_by."))
    selection: Selection | None = None
    cadence_days: dict[RiskTier, Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=dict,
        description="Longest interval between audits per risk tier (CEK-09).")
    shard: Shard | None = Field(default=None, description=(
        "Set on the evidence of one shard; the ledger records the audit when "
        "`cryptoaudit merge` combines every shard."))
    merged_from: list[MergedShard] = Field(default_factory=list, description=(
        "The shard runs this evidence was merged from (empty for a single run)."))


class Location(_Closed):
    """Where a subject or a failure is declared: a file relative to the configuration's
    folder, its first and last line, and the resource's address in it."""

    path: str
    line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)
    address: str | None = None


class DiscoveryFailure(_Closed):
    key_uid: str | None = None
    reason: str
    location: Location | None = None


class System(_Closed):
    name: str
    provider: str
    component: str = "other"
    risk_tier: RiskTier
    owner: Owner
    accountable_owner: Accountable = ""
    keys_found: int = Field(ge=0)
    endpoints_found: int = Field(default=0, ge=0)
    libraries_found: int = Field(default=0, ge=0)
    discovery_errors: list[DiscoveryFailure]
    attributes: dict[str, Any] = Field(default_factory=dict)
    config_sha256: str | None = None


class Subject(_Open):
    """What every audited subject (key, certificate, endpoint) carries."""

    uid: str
    system: str
    provider: str
    risk_tier: RiskTier
    owner: Owner
    accountable_owner: Accountable = ""
    attributes: dict[str, Any] = Field(default_factory=dict)
    unreadable: dict[str, str] = Field(default_factory=dict)
    location: Location | None = None


class PqVerdict(_Closed):
    """Post-quantum verdict under the policy's roadmap (CEK-04 pq-readiness); dates are the
    first day of each state and null unless quantum-vulnerable; days_left counts to the
    disallowed date from the run's start. A key that cannot be judged has status unknown and
    an error."""

    status: Literal["quantum-vulnerable", "quantum-resistant", "hybrid", "unknown"]
    algorithm: str | None = None
    purpose: Literal["signing", "encryption"] | None = None
    roadmap: str | None = None
    category: str | None = None
    deprecated: str | None = None
    disallowed: str | None = None
    days_left: int | None = None
    replacement: str | None = None
    note: str | None = None
    error: str | None = None


class Key(Subject):
    kind: KeyKind
    algorithm: str | None = None
    size: int | None = None
    curve: str | None = None
    usage: list[str] = Field(default_factory=list)
    state: str | None = None
    origin: str | None = None
    created: str | None = None
    rotated: str | None = None
    expires: str | None = None
    rotation_enabled: bool | None = None
    rotation_period_days: int | None = None
    fingerprint: str | None = None
    certificate: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    pq: PqVerdict | None = None


class Endpoint(Subject):
    """A network endpoint audited for what it accepts; the certificates it presents are in
    the inventory with ``attributes.endpoint`` set to its uid."""

    address: str
    protocol: str


class Library(Subject):
    """A crypto library of a host or image, audited on its own: where it was found (the
    package database, site-packages folder or binary, and the image layer)."""

    name: str
    version: str
    source: str
    path: str
    layer: str | None = None


class WaiverRecord(_Closed):
    """One waiver as the waivers file declared it."""

    id: str
    control: str
    check: str | None = None
    key: str | None = Field(default=None, description="Key uid glob.")
    system: str | None = None
    justification: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    expires: str = Field(json_schema_extra={"format": "date"})
    ticket: str | None = None
    risk: str | None = None
    source: str = ""


class AppliedWaiver(WaiverRecord):
    """The waiver that matched a result: ``applied`` waives it, ``expired`` waives nothing."""

    status: Literal["applied", "expired"]


class Carried(_Closed):
    """The earlier audit that established a result carried into this run unchanged."""

    run: str
    at: str = Field(json_schema_extra={"format": "date-time"})


class Result(_Closed):
    nodeid: str
    control: ControlId
    title: str = ""
    check: str
    system: str
    key_uid: str
    outcome: Outcome
    risk_tier: RiskTier
    owner: Owner
    accountable_owner: Accountable = ""
    message: str
    references: list[str]
    remediation: str = ""
    ssrm: str = ""
    duration: float = 0.0
    waiver: AppliedWaiver | None = None
    notes: list[str] = Field(default_factory=list)
    inputs_sha256: Sha256 | None = Field(default=None, description=(
        "Hash of everything the check read: the subject's facts, the policy, the waivers "
        "that match it and the control's code; null when it also read something no hash "
        "captures (the clock other than through thresholds, the ledger), so the result is "
        "never carried."))
    carried: Carried | None = Field(default=None, description=(
        "Set when an incremental audit carried this result unchanged from an earlier "
        "complete audit: the run and time that established it; null for a fresh result."))
    valid_until: str | None = Field(default=None, json_schema_extra={"format": "date-time"},
                                    description=(
        "For a check that compares the clock only with thresholds (key age, expiry, "
        "post-quantum dates): the first instant at which its outcome could change; an "
        "incremental audit carries the result only before it. Null when the outcome cannot "
        "change with time alone."))


class NotApplicable(_Closed):
    """A (check, system) of the selected controls in which the check had no subject."""

    control: str
    title: str = ""
    check: str
    system: str
    risk_tier: RiskTier
    owner: str = ""
    outcome: Literal["not-applicable"] = "not-applicable"
    reason: str


class ControlSummary(_Closed):
    """Counts of one control's results; ``not-applicable`` is not in ``total``."""

    title: str
    total: int
    passed: int
    failed: int
    error: int
    skipped: int
    waived: int
    not_applicable: int = Field(
        default=0, alias="not-applicable",
        description="Systems in which the control had no subject (not in total).")
    worst_failing_tier: RiskTier | None = None


class EventRecord(_Closed):
    system: str
    kind: EventKind
    at: str = Field(json_schema_extra={"format": "date-time"})
    note: str = ""
    key: str | None = None
    versions: list[int] = Field(default_factory=list)
    source: str


class Unreachable(_Closed):
    system: str
    reason: str


class Scope(_Closed):
    components: dict[str, list[str]] = Field(default_factory=dict)
    #: CEK-09 scope items (encryption-libraries, tenant-isolation, byok, hyok) -> systems.
    items: dict[str, list[str]] = Field(default_factory=dict)
    unreachable: list[Unreachable] = Field(default_factory=list)


class AppliedEntry(WaiverRecord):
    waived: list[str]


class ExpiredEntry(WaiverRecord):
    unwaived: list[str]


class StaleEntry(WaiverRecord):
    reason: str


class Waivers(_Closed):
    """Waivers of the run: applied (waived at least one finding), expired (ignored), stale
    (waived nothing)."""

    file: str | None = None
    applied: list[AppliedEntry] = Field(default_factory=list)
    expired: list[ExpiredEntry] = Field(default_factory=list)
    stale: list[StaleEntry] = Field(default_factory=list)


class Evidence(_Closed):
    """The evidence of one audit run: who audited what, with which result, against which
    control."""

    schema_version: Literal["1.0"]
    run: Run
    systems: list[System]
    inventory: list[Key]
    endpoints: list[Endpoint] = Field(default_factory=list)
    libraries: list[Library] = Field(default_factory=list)
    results: list[Result]
    not_applicable: list[NotApplicable] = Field(default_factory=list)
    summary: dict[str, ControlSummary]
    events: list[EventRecord] = Field(default_factory=list)
    scope: Scope = Field(default_factory=Scope)
    waivers: Waivers = Field(default_factory=Waivers)
    _document: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Evidence:
        """Validate a JSON document and keep it as this evidence's JSON form: a run's
        evidence is written as built, not serialized a second time (a cost per result).
        Each record (key, result) is validated here and read as its model again when a
        reader reaches it, so the run never holds every record twice."""
        typed = {name: _checked(model, document.get(name) or [])
                 for name, model in _RECORDS.items()}
        evidence = cls.model_validate({**document, **{name: [] for name in typed}})
        evidence = evidence.model_copy(update=typed)
        evidence._document = document
        return evidence

    def model_dump(self, **options: Any) -> dict[str, Any]:
        """As pydantic's, with the records read as models first (see :class:`Derived`)."""
        return super(Evidence, self._materialized()).model_dump(**options)

    def model_dump_json(self, **options: Any) -> str:
        return super(Evidence, self._materialized()).model_dump_json(**options)

    def _materialized(self) -> Evidence:
        lazy = {name: list(value) for name in _RECORDS
                if isinstance(value := getattr(self, name), Derived)}
        return self.model_copy(update=lazy) if lazy else self

    def inventory_json(self) -> list[dict[str, Any]]:
        """The inventory in the spelling of its JSON document: the fields each key was
        given and no default added, so a hash over it (the ledger's fingerprints) does not
        move when the model gains a field."""
        return list(self.iter_inventory_json())

    def iter_inventory_json(self) -> Iterator[dict[str, Any]]:
        """:meth:`inventory_json` one key at a time: a run's own evidence makes each key's
        JSON form as it is read, and a reader that needs one key at a time holds one."""
        if self._document is not None:
            return iter(self._document["inventory"])
        dumped = self.model_dump(mode="json", by_alias=True, include={"inventory"},
                                 exclude_unset=True, warnings=False)
        return iter(dumped.get("inventory", []))

    def as_json(self) -> dict[str, Any]:
        """The JSON document, with the field names of the published schema."""
        if self._document is not None:
            return self._document
        return self.model_dump(mode="json", by_alias=True)


#: The lists of an evidence document that grow with the estate, and the model of an entry.
_RECORDS: dict[str, type[BaseModel]] = {"inventory": Key, "endpoints": Endpoint,
                                        "libraries": Library, "results": Result}


def _checked(model: type[ModelT], entries: Sequence[Any]) -> Derived[ModelT]:
    """``entries`` read as ``model``, each validated once here (and let go)."""
    typed = records(model, entries)
    for _ in typed:
        pass
    return typed


class Derived(Sequence[T]):
    """A sequence whose items are made from a source sequence when they are read, not held.

    A large run's evidence has tens of thousands of keys and results; held as JSON entries
    and again as models they took several times the memory of the run's own records. Each
    read makes the item again, so a reader that goes over it more than once keeps its own
    list. Equal to any sequence of equal items; the JSON document of a run holds its records
    this way (``json.dump(evidence, ..., default=list)`` writes it)."""

    __slots__ = ("_make", "_sources")

    def __init__(self, sources: Sequence[Any], make: Callable[[Any], T]) -> None:
        self._sources = sources
        self._make = make

    def __len__(self) -> int:
        return len(self._sources)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._make(source) for source in self._sources[index]]
        return self._make(self._sources[index])

    def __iter__(self) -> Iterator[T]:
        return map(self._make, self._sources)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Derived({len(self)} items)"


def records(model: type[ModelT], entries: Sequence[Any]) -> Derived[ModelT]:
    """``entries`` read as ``model`` one at a time. Records given the same fields share one
    set of their names (pydantic gives every instance its own, 2 KB for a result), which is
    never changed (the models are frozen)."""
    shared: dict[frozenset[str], set[str]] = {}

    def read(entry: Any) -> ModelT:
        instance = model.model_validate(entry)
        given = instance.__pydantic_fields_set__
        object.__setattr__(instance, "__pydantic_fields_set__",
                           shared.setdefault(frozenset(given), given))
        return instance

    return Derived(entries, read)


# Reading a JSON document (or an excerpt of one) as the model: reporters and the ledger.


def typed_evidence(evidence: Evidence | Mapping[str, Any]) -> Evidence:
    """``evidence`` as the model: as is, validated, or (an excerpt that lacks fields no
    reader needs) constructed field by field without validation."""
    if isinstance(evidence, Evidence):
        return evidence
    try:
        return Evidence.model_validate(evidence)
    except ValidationError:
        return _constructed(evidence)


def _constructed(evidence: Mapping[str, Any]) -> Evidence:
    return Evidence.model_construct(
        run=Run.model_construct(**evidence.get("run", {})),
        systems=[System.model_construct(**s) for s in evidence.get("systems", [])],
        inventory=[_key(k) for k in evidence.get("inventory", [])],
        results=[typed_result(r) for r in evidence.get("results", [])],
        not_applicable=[NotApplicable.model_construct(**n)
                        for n in evidence.get("not_applicable") or []],
        summary={c: ControlSummary.model_construct(**e)
                 for c, e in evidence.get("summary", {}).items()},
        waivers=Waivers.model_validate(evidence.get("waivers") or {}))


def _key(key: Mapping[str, Any]) -> Key:
    # Only the fields the document has: the ledger hashes a key as its document spelt it.
    verdict = key.get("pq")
    if not verdict:
        return Key.model_construct(**key)
    return Key.model_construct(**{**key, "pq": PqVerdict.model_construct(**verdict)})


def typed_result(result: Result | Mapping[str, Any]) -> Result:
    """One result as the model; a result dict is constructed, not validated (the summary
    view ranks results of a run in progress as well as those of its evidence)."""
    return result if isinstance(result, Result) else Result.model_construct(**result)


def generated_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Evidence`, as published."""
    schema = Evidence.model_json_schema(by_alias=True, mode="serialization")
    return {**schema, "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID, "title": "pytest-cryptoaudit evidence"}


def schema_text() -> str:
    return json.dumps(generated_schema(), indent=2, sort_keys=True) + "\n"
