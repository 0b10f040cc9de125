"""A read-only view of the ledger's entries: audits, events and corrective actions per system.

Controls receive the history as it stood before their run started (``crypto_ledger``), so a
run never judges itself by its own records. It travels to xdist workers as JSON: the
hashed content of each entry, without the bulky per-key inventory detail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ..model import Event
from .chain import Entry


def parse_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclasses.dataclass(frozen=True)
class AuditView:
    """One system's audit in one run, as the ledger recorded it."""

    data: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def started(self) -> datetime:
        return parse_time(self.data["started"])

    @property
    def audited_since(self) -> datetime:
        """When its oldest result was established: its start, or earlier when an
        incremental run carried results forward (the cadence counts from here)."""
        return parse_time(self.data.get("audited_since") or self.data["started"])

    @property
    def finished(self) -> datetime:
        return parse_time(self.data["finished"])

    @property
    def finding_ids(self) -> set[str]:
        return {finding["id"] for finding in self.data.get("findings", ())}


@dataclasses.dataclass(frozen=True)
class RecordedEvent:
    """An event and when the ledger learnt of it: a follow-up audit must start after both."""

    event: Event
    recorded_at: datetime | None = None
    changes: tuple[str, ...] = ()

    @property
    def effective(self) -> datetime:
        # A change found by a run is followed up by that very run, which audited it.
        if self.recorded_at is None or self.event.source == "change-detection":
            return self.event.at
        return max(self.event.at, self.recorded_at)


@dataclasses.dataclass(frozen=True)
class Action:
    """A corrective action recorded with ``cryptoaudit finding assign``."""

    finding: str
    system: str
    owner: str
    due: date
    note: str
    recorded_at: datetime


def event_from(data: Mapping[str, Any]) -> RecordedEvent:
    event = Event(system=data["system"], kind=data["kind"], at=parse_time(data["at"]),
                  note=data.get("note", ""), key=data.get("key"),
                  versions=tuple(data.get("versions", ())), source=data.get("source", "ledger"))
    recorded = data.get("recorded_at")
    return RecordedEvent(event, parse_time(recorded) if recorded else None,
                         tuple(data.get("changes", ())))


def _action_from(data: Mapping[str, Any]) -> Action:
    return Action(data["finding"], data["system"], data["owner"],
                  date.fromisoformat(data["due"]), data.get("note", ""),
                  parse_time(data["recorded_at"]))


class LedgerHistory:
    """Audits, events and actions in chain order, indexed by system."""

    def __init__(self, contents: Iterable[Mapping[str, Any]] = (), head_seq: int = 0) -> None:
        self.contents = list(contents)
        self.head_seq = head_seq
        self._audits: dict[str, list[AuditView]] = {}
        self._events: dict[str, list[RecordedEvent]] = {}
        self._actions: dict[str, list[Action]] = {}
        for data in self.contents:
            self._index(data)

    def _index(self, data: Mapping[str, Any]) -> None:
        kind, system = data.get("type"), data.get("system", "")
        if kind == "audit":
            self._audits.setdefault(system, []).append(AuditView(data))
        elif kind == "event":
            self._events.setdefault(system, []).append(event_from(data))
        elif kind == "action":
            action = _action_from(data)
            self._actions.setdefault(action.finding, []).append(action)

    @classmethod
    def from_entries(cls, entries: Sequence[Entry]) -> LedgerHistory:
        return cls((e.data for e in entries), entries[-1].seq if entries else 0)

    @classmethod
    def from_store(cls, store: Any, systems: Sequence[str] = (),
                   max_seq: int | None = None) -> LedgerHistory:
        """The history of the current chain, verified first: a damaged ledger raises
        LedgerError rather than being judged as if it were true."""
        store.check_intact()
        return cls.from_entries(store.entries(systems=systems, max_seq=max_seq,
                                              min_seq=store.chain_start()))

    def to_json(self) -> dict[str, Any]:
        return {"head_seq": self.head_seq, "contents": self.contents}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LedgerHistory:
        return cls(data["contents"], data["head_seq"])

    # -- queries ----------------------------------------------------------------------------

    def systems(self) -> set[str]:
        return set(self._audits) | set(self._events)

    def audits(self, system: str) -> list[AuditView]:
        return list(self._audits.get(system, ()))

    def complete_audits(self, system: str) -> list[AuditView]:
        return [audit for audit in self.audits(system) if audit.data.get("complete")]

    def last_complete(self, system: str) -> AuditView | None:
        complete = self.complete_audits(system)
        return max(complete, key=lambda a: a.started) if complete else None

    def first_seen(self, system: str) -> datetime | None:
        audits = self.audits(system)
        return min(a.started for a in audits) if audits else None

    def events(self, system: str | None = None) -> list[RecordedEvent]:
        pools = [self._events.get(system, [])] if system else list(self._events.values())
        return sorted((e for pool in pools for e in pool), key=lambda e: e.event.at)

    def actions(self, finding: str) -> list[Action]:
        return list(self._actions.get(finding, ()))

    def latest_action(self, finding: str) -> Action | None:
        actions = self.actions(finding)
        return actions[-1] if actions else None

    def source_ids(self) -> set[str]:
        """Ids of events already ingested from a log, so ingesting twice adds nothing."""
        return {d["source_id"] for d in self.contents
                if d.get("type") == "event" and d.get("source_id")}
