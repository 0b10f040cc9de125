"""Waivers: a finding accepted, by a named approver, for a reason, until a date.

A waivers file (``--cryptoaudit-waivers FILE``, TOML or YAML) holds a ``waivers`` array::

    [[waivers]]
    id = "W-2025-014"                 # optional; default waiver-N (position in the file)
    control = "CEK-04"                # required
    check = "key-strength"            # optional: every check of the control when absent
    key = "files:legacy/*.pem"        # key uid glob } at least one of the two; both must
    system = "legacy-app"             # system name  } match when both are given
    justification = "Vendor appliance only takes RSA-1024; replaced in Q3."
    approver = "J. Doe (CISO)"
    expires = 2025-09-30              # last day the waiver holds (UTC)
    ticket = "SEC-1234"               # optional
    risk = "medium"                   # optional: the risk accepted, in the approver's words

A matching unexpired waiver turns a *finding* (a failed check) into ``waived``. Errors, the
failures to look, are never waived. An expired waiver is ignored and reported as expired;
one that waived nothing in the run is reported as stale.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pydantic

from .findings import check_names
from .nesting import TooDeep, load_toml, parse_bounded
from .text import plural
from .validation import describe_validation_error

if TYPE_CHECKING:
    from .evidence_model import Waivers
    from .results import Result

CONTROL_ID = re.compile(r"^[A-Z]+-[0-9]+$")
APPLIED, EXPIRED = "applied", "expired"


class WaiverError(Exception):
    """The waivers file cannot be used; the message names the file, entry and key.

    The plugin turns it into a pytest usage error."""


@dataclasses.dataclass(frozen=True)
class Waiver:
    """One accepted finding: what it covers, who approved it, why and until when."""

    id: str
    control: str
    justification: str
    approver: str
    expires: date
    check: str | None = None
    key: str | None = None
    system: str | None = None
    ticket: str | None = None
    risk: str | None = None
    source: str = ""

    def matches(self, control: str, check: str, key_uid: str, system: str) -> bool:
        """True if the waiver covers this (control, check) on this key or system."""
        if control != self.control or (
                self.check is not None and check not in check_names(control, self.check)):
            return False
        if self.key is not None and not (fnmatch.fnmatchcase(key_uid, self.key)
                                         or self._inside_waived_system(check, key_uid, system)):
            return False
        return self.system is None or fnmatch.fnmatchcase(system, self.system)

    def _inside_waived_system(self, check: str, key_uid: str, system: str) -> bool:
        """A waiver of a retired check that judged a whole system (its key is the system's
        uid, ``provider:system``) covers the successor's subjects inside that system."""
        return (self.check is not None and self.check != check and self.key is not None
                and self.key.endswith(f":{system}") and key_uid.startswith(self.key + "/"))

    def expired(self, today: date) -> bool:
        """A waiver holds up to and including its ``expires`` date."""
        return today > self.expires

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["expires"] = self.expires.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiver:
        return cls(**{**data, "expires": date.fromisoformat(data["expires"])})


# -- loading -----------------------------------------------------------------------------


def load_waivers(path: Path) -> tuple[Waiver, ...]:
    """Read and validate a waivers file (``.toml``, ``.yaml`` or ``.yml``)."""
    if not path.is_file():
        raise WaiverError(f"{path}: waivers file not found")
    data = _read(path)
    if not isinstance(data, Mapping) or set(data) - {"waivers"}:
        raise WaiverError(f"{path}: expected a top-level 'waivers' array and nothing else")
    entries = data.get("waivers", [])
    if not isinstance(entries, list):
        raise WaiverError(f"{path}: waivers: expected an array of tables")
    waivers = tuple(_parse_entry(entry, index, path) for index, entry in enumerate(entries))
    _check_unique_ids(waivers, path)
    return waivers


def _read(path: Path) -> Any:
    text = _text(path)
    if path.suffix == ".toml":
        try:
            return load_toml(text)
        except TooDeep as exc:
            raise WaiverError(f"{path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise WaiverError(f"{path}: not valid TOML: {exc}") from None
    if path.suffix in (".yaml", ".yml"):
        return _read_yaml(path, text)
    raise WaiverError(f"{path}: unknown waivers format (use .toml, .yaml or .yml)")


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverError(f"{path}: cannot read waivers file: {exc}") from None


def _read_yaml(path: Path, text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise WaiverError(f"{path}: YAML waivers need PyYAML: "
                          "pip install 'pytest-cryptoaudit[yaml]'") from None
    try:
        # libyaml's parser when PyYAML was built with it: the same safe constructor, and a
        # tenth of the pure-Python parser's time
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return parse_bounded(lambda document: yaml.load(document, Loader=loader), text) or {}
    except TooDeep as exc:
        raise WaiverError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise WaiverError(f"{path}: not valid YAML: {exc}") from None


def _parse_entry(entry: Any, index: int, path: Path) -> Waiver:
    at = f"{path}: waivers[{index}]"
    if not isinstance(entry, Mapping):
        raise WaiverError(f"{at}: expected a table")
    try:
        checked = WaiverEntry.model_validate(dict(entry))
    except pydantic.ValidationError as exc:
        raise WaiverError(describe_validation_error(exc, at, WaiverEntry)) from None
    fields = checked.model_dump(exclude_none=True)
    fields.setdefault("id", f"waiver-{index + 1}")
    return Waiver(**fields, source=str(path))


def _non_empty(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _control_id(value: str) -> str:
    if not CONTROL_ID.match(value):
        raise ValueError(f"expected a control id such as CEK-04, got {value!r}")
    return value


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"expected a date (YYYY-MM-DD), got a date-time {value}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}")


Text = Annotated[str, pydantic.BeforeValidator(_non_empty)]


class WaiverEntry(pydantic.BaseModel):
    """One ``[[waivers]]`` entry as written (see the module docstring for its keys)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    control: Annotated[Text, pydantic.AfterValidator(_control_id)]
    justification: Text
    approver: Text
    expires: Annotated[date, pydantic.PlainValidator(_date)]
    id: Text | None = None
    check: Text | None = None
    key: Text | None = None
    system: Text | None = None
    ticket: Text | None = None
    risk: Text | None = None

    @pydantic.model_validator(mode="after")
    def _scoped(self) -> WaiverEntry:
        if self.key is None and self.system is None:
            raise ValueError("give 'key' (a key uid glob, '*' for every key) or 'system'")
        return self


def _check_unique_ids(waivers: Sequence[Waiver], path: Path) -> None:
    seen: set[str] = set()
    for waiver in waivers:
        if waiver.id in seen:
            raise WaiverError(f"{path}: waivers: duplicate id {waiver.id!r}")
        seen.add(waiver.id)


# -- deciding ------------------------------------------------------------------------------


def decide(waivers: Iterable[Waiver], metadata: Mapping[str, Any],
           today: date) -> dict[str, Any] | None:
    """The waiver record for a finding: the first unexpired match (``status: applied``),
    else the first expired match (``status: expired``, which waives nothing), else None."""
    matching = [w for w in waivers if w.matches(metadata["control"], metadata["check"],
                                                 metadata["key_uid"], metadata["system"])]
    valid = [w for w in matching if not w.expired(today)]
    if valid:
        return {**valid[0].as_dict(), "status": APPLIED}
    if matching:
        return {**matching[0].as_dict(), "status": EXPIRED}
    return None


def describe(record: Mapping[str, Any]) -> str:
    """One line for terminal, xfail reason and reports."""
    return (f"waived by {record['id']} (approved by {record['approver']}, until "
            f"{record['expires']}): {record['justification']}")


def show_as_waived(item: Any, report: Any, record: Mapping[str, Any]) -> None:
    """Report a waived finding the way pytest reports an accepted failure (xfail), so the
    terminal, JUnit XML and pytest-html count it without failing the run."""
    report.outcome = "skipped"
    report.wasxfail = describe(record)
    item.user_properties.append(("waiver", record["id"]))


def status_report(waivers: Sequence[Waiver], results: Iterable[Result],
                  today: date) -> dict[str, list[dict[str, Any]]]:
    """Which waivers were applied, which have expired and which are stale (waived nothing)."""
    results = list(results)
    report: dict[str, list[dict[str, Any]]] = {"applied": [], "expired": [], "stale": []}
    for waiver in waivers:
        covered = [r for r in results if waiver.matches(r.control, r.check, r.key_uid, r.system)]
        entry = waiver.as_dict()
        if waiver.expired(today):
            failing = [r.key_uid for r in covered if r.waiver and r.waiver["id"] == waiver.id]
            report["expired"].append({**entry, "unwaived": failing})
            continue
        waived = [r.key_uid for r in covered if r.waiver and r.waiver["id"] == waiver.id
                  and r.waiver["status"] == APPLIED]
        if waived:
            report["applied"].append({**entry, "waived": waived})
        else:
            report["stale"].append({**entry, "reason": _stale_reason(covered)})
    return report


def _stale_reason(covered: Sequence[Result]) -> str:
    if not covered:
        return "matched no check in this run"
    return f"matched {plural(len(covered), 'check')} in this run, none failed"


# -- rendering -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WaiverLine:
    """One waiver of the run as every report shows it (terminal, Markdown, HTML)."""

    status: str  # applied, expired or stale
    id: str
    control: str
    approver: str
    expires: str
    effect: str

    @property
    def text(self) -> str:
        until = "expired" if self.status == EXPIRED else "until"
        return (f"{self.status} {self.id} ({self.control}, {until} {self.expires}, approver "
                f"{self.approver}): {self.effect}")


def waiver_lines(waivers: Waivers) -> list[WaiverLine]:
    """The waivers of a run, applied then expired then stale, each with its effect."""
    def line(status: str, waiver: Any, effect: str) -> WaiverLine:
        return WaiverLine(status, waiver.id, waiver.control, waiver.approver, waiver.expires,
                          effect)

    return ([line(APPLIED, w, f"{plural(len(w.waived), 'finding')} waived")
             for w in waivers.applied]
            + [line(EXPIRED, w, f"{plural(len(w.unwaived), 'finding')} no longer waived")
               for w in waivers.expired]
            + [line("stale", w, w.reason) for w in waivers.stale])
