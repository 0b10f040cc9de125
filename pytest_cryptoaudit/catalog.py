"""Control metadata, declared once on the check with ``@pytest.mark.control``.

A control is a plain pytest test. Its marker carries the catalog id, title, references,
remediation and applicability; markers, report columns and framework mappings all read it
from here::

    pytestmark = pytest.mark.ssrm("CSC")   # who owns the module's controls under the SSRM

    @pytest.mark.control(
        "CEK-04", check="key-strength",   # the title and CCM citation come from the id
        references=["NIST SP 800-131A Rev 2"],
        applies_to={"kind": ["private-key", "public-key"]},
        requires=["algorithm", "size"],
    )
    @pytest.mark.risk_tier("low")   # applies to keys of this tier and above
    def test_key_size(crypto_key, crypto_policy): ...
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from .ccm import matrix_references, title_of
from .facts import fact
from .model import UNSTATED, RiskTier

#: The fixtures that a control parametrizes over, and what each one receives.
SUBJECT_FIXTURES = ("crypto_key", "crypto_system", "crypto_endpoint", "crypto_library",
                    "crypto_discovery_error")

MARKERS = (
    "control(id, title=None, *, check, references=(), remediation='', applies_to=None, "
    "requires=(), reads=(), caiq=(), waivable=None): a cryptographic control of the audit "
    "catalog (CCM/AICM CEK-xx). applies_to is a mapping of record field to allowed value(s) "
    "or a predicate; requires names the facts the subject must carry (dotted, e.g. "
    "managed.state), reads the further facts the check looks at (of other records too), so "
    "that discovery fetches them; waivable names a per-tier boolean policy setting that "
    "says at which tiers a waiver may accept the control's findings (default: at every tier).",
    "risk_tier(tier): on a control, the lowest risk tier (low, medium, high, critical) of the "
    "keys or systems it applies to; on each audit test, risk_tier(tier=...) is the tier of its "
    "key or system (select with -m \"risk_tier(tier='critical')\").",
    "ssrm(owner): on a control, the shared-responsibility owner of the control (CSP, CSC, MP, "
    "OSP, AP, AIC or a shared pair such as CSP-MP); on each audit test, ssrm(owner=...) is the "
    "owner of its key or system (select with -m \"ssrm(owner='CSC')\").",
)

Predicate = Callable[[Any], bool]


def _as_predicate(applies_to: Mapping[str, Any] | Predicate | None) -> Predicate:
    if applies_to is None:
        return lambda record: True
    if callable(applies_to):
        return applies_to
    wanted = {
        field: tuple(v) if isinstance(v, list | tuple | set) else (v,)
        for field, v in applies_to.items()
    }

    def matches(record: Any) -> bool:
        unreadable = getattr(record, "unreadable", {})
        for field, values in wanted.items():
            if field in unreadable:
                continue  # unknown: the control applies, and its `requires` will error
            value = getattr(record, field, None)
            value = getattr(value, "value", value)
            if value not in values:
                return False
        return True

    return matches


@dataclasses.dataclass(frozen=True)
class ControlSpec:
    """Everything declared about one check: read from its markers, never typed twice."""

    id: str
    title: str
    check: str
    references: tuple[str, ...] = ()
    remediation: str = ""
    min_tier: RiskTier = RiskTier.LOW
    ssrm: str = ""
    requires: tuple[str, ...] = ()
    #: Facts the check reads besides ``requires`` (optional ones, or other records'), so
    #: that a run of this control alone fetches them.
    reads: tuple[str, ...] = ()
    caiq: tuple[str, ...] = ()
    description: str = ""
    #: A per-tier boolean policy setting: where it is false, no waiver accepts a finding.
    waivable: str | None = None
    applies: Predicate = dataclasses.field(default=lambda record: True, compare=False)

    @property
    def domain(self) -> str:
        return self.id.split("-")[0]

    def applies_to(self, record: Any) -> bool:
        # Asked for every (control, record) at collection, carried pairs included: the
        # cheap tests first.
        if self.min_tier is not RiskTier.LOW:  # every tier is LOW or above
            tier = getattr(record, "risk_tier", RiskTier.CRITICAL)
            if not isinstance(tier, RiskTier):
                tier = RiskTier(tier)
            if not tier >= self.min_tier:
                return False
        return (self.applies(record)
                and (not self.facts or self.unstated(record) is None))

    def unstated(self, record: Any) -> str | None:
        """Why ``record``'s source never states a fact this check requires or reads, if it
        does not (see :data:`~pytest_cryptoaudit.model.UNSTATED`): the check has no subject
        there. A fact read only where the policy asks for it counts too (a Mozilla profile
        at a tier that names one): where the source never states it, it is judged where it
        lives."""
        unstated = getattr(record, "attributes", {}).get(UNSTATED) or {}
        name = next((n for n in self.facts if n in unstated), None)
        return None if name is None else f"{name}: {unstated[name]}"

    @property
    def facts(self) -> tuple[str, ...]:
        """Every fact the check needs fetched: what it requires and what it reads."""
        return tuple(dict.fromkeys((*self.requires, *self.reads)))

    def missing(self, record: Any) -> dict[str, str]:
        """The required attributes that ``record`` lacks, with the reason for each."""
        unreadable: Mapping[str, str] = getattr(record, "unreadable", {})
        result = {}
        for name in self.requires:
            if name in unreadable:
                result[name] = unreadable[name]
            elif fact(record, name) is None:
                result[name] = "not reported by the provider"
        return result


def spec_from_node(node: Any) -> ControlSpec | None:
    """Build the spec of a test item or function definition, or None if it is no control."""
    marker = node.get_closest_marker("control")
    if marker is None:
        return None
    tier_marker, ssrm_marker = _declared(node, "risk_tier"), _declared(node, "ssrm")
    function = getattr(node, "function", None)
    return _build_spec(marker, tier_marker, ssrm_marker, getattr(node, "originalname", ""),
                       (function.__doc__ or "") if function else "")


def _declared(node: Any, name: str) -> pytest.Mark | None:
    """The marker a control declares (positional), not the keyword form that each of its
    parametrized cases carries for its subject."""
    return next((mark for mark in node.iter_markers(name) if mark.args), None)


class ControlDeclarationError(ValueError):
    """A control marker that lacks what the audit needs to identify its results."""


def _build_spec(
    marker: pytest.Mark,
    tier_marker: pytest.Mark | None,
    ssrm_marker: pytest.Mark | None,
    function_name: str,
    doc: str,
) -> ControlSpec:
    control_id, *rest = marker.args
    kwargs = marker.kwargs
    if not kwargs.get("check"):
        # The check name is the ledger's identity of a finding: never derived, never renamed.
        raise ControlDeclarationError(
            f"control {control_id} on {function_name or 'a test'}: check= is required")
    title = title_of(control_id) or (rest[0] if rest else kwargs.get("title", control_id))
    return ControlSpec(
        id=control_id,
        title=title,
        check=kwargs["check"],
        references=matrix_references(control_id, tuple(kwargs.get("references", ()))),
        remediation=kwargs.get("remediation", ""),
        min_tier=RiskTier(tier_marker.args[0]) if tier_marker else RiskTier.LOW,
        ssrm=ssrm_marker.args[0] if ssrm_marker else "",
        requires=tuple(kwargs.get("requires", ())),
        reads=tuple(kwargs.get("reads", ())),
        caiq=tuple(kwargs.get("caiq", ())),
        waivable=kwargs.get("waivable"),
        description=" ".join(doc.split()),
        applies=_as_predicate(kwargs.get("applies_to")),
    )


@functools.cache
def builtin_controls_dir() -> Path:
    """Where the built-in control suites live: inside the installed wheel, or the
    repository's top-level ``controls/`` when the package runs from a source checkout."""
    package_dir = Path(__file__).resolve().parent
    shipped = package_dir / "controls"
    return shipped if shipped.is_dir() else package_dir.parent / "controls"


def builtin_control_files() -> list[Path]:
    return sorted(p for p in builtin_controls_dir().glob("*.py") if not p.name.startswith("_"))


def _marks(owner: Any) -> list[pytest.Mark]:
    marks = getattr(owner, "pytestmark", [])
    return list(marks) if isinstance(marks, list | tuple) else [marks]


def specs_of_function(function: Any, module: Any = None) -> ControlSpec | None:
    """The spec of a plain (uncollected) test function, for catalogs and documentation;
    marks of its module (``pytestmark``) apply unless the function has its own."""
    marks = {m.name: m for m in _marks(module)}
    marks.update({m.name: m for m in _marks(function)})
    if "control" not in marks:
        return None
    return _build_spec(marks["control"], marks.get("risk_tier"), marks.get("ssrm"),
                       function.__name__, function.__doc__ or "")


def catalog(modules: Iterable[Any]) -> list[ControlSpec]:
    """Every control declared in ``modules``, sorted by id then check."""
    specs = []
    for module in modules:
        for name in dir(module):
            if name.startswith("test_"):
                spec = specs_of_function(getattr(module, name), module)
                if spec:
                    specs.append(spec)
    return sorted(specs, key=lambda s: (s.id, s.check))
