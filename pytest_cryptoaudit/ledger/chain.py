"""The hash chain that makes the ledger tamper-evident.

Every entry (an audit of one system in one run, a recorded event, a corrective action) is
stored as canonical JSON. Its ``content_hash`` is the SHA-256 of that JSON, which includes
the entry's own sequence number and the identity of the entry before it; its
``chain_hash`` is the SHA-256 of the previous entry's chain hash and its own content hash.
A bulky sidecar (``detail``: the per-key inventory fingerprints of an audit) is covered by
``detail_sha256`` inside the content. A head row remembers the last entry, so that deleting
entries from the end is detected too. :func:`verify` names every entry that was edited,
deleted or moved.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS = "0" * 64
#: The hashed content field each entry type's ``at`` column is copied from, so that an edit of
#: the column (which readers may sort or filter by) is caught like an edit of the content.
AT_SOURCES = {"audit": "started", "event": "at", "action": "recorded_at",
              "restart": "recorded_at", "review": "signed_at", "notification": "at"}
RESTART = "restart"


def canonical(value: Any) -> str:
    """The one JSON spelling of ``value`` that is hashed: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link(prev_hash: str, content_hash: str) -> str:
    return sha256(f"{prev_hash}:{content_hash}")


@dataclasses.dataclass(frozen=True)
class Draft:
    """An entry to append; the store gives it its place in the chain."""

    type: str
    system: str
    at: str
    content: Mapping[str, Any]
    run_id: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Entry:
    """One stored, sealed entry, exactly as the database holds it."""

    seq: int
    type: str
    system: str
    run_id: str | None
    at: str
    content: str
    detail: str
    content_hash: str
    prev_hash: str
    chain_hash: str

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        """The hashed content, parsed (an empty dict if it is no longer JSON)."""
        try:
            parsed = json.loads(self.content)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    @property
    def label(self) -> str:
        return describe(self.seq, self.data or {"type": self.type, "system": self.system,
                                                "run_id": self.run_id})


@dataclasses.dataclass(frozen=True)
class Head:
    """The last entry as the head row remembers it."""

    seq: int
    chain_hash: str
    label: str


def describe(seq: int, data: Mapping[str, Any]) -> str:
    """A human name for an entry: ``#7 (audit of payments-kms, run 1b2c...)``."""
    kind, system = data.get("type"), data.get("system")
    if kind == "audit":
        what = f"audit of {system}, run {data.get('run_id')}"
    elif kind == "event":
        what = f"{data.get('kind')} event on {system} at {data.get('at')}"
    elif kind == "action":
        what = f"corrective action on {data.get('finding')} ({system})"
    elif kind == "review":
        what = (f"{data.get('decision')} by {data.get('by')} ({data.get('role')}) of "
                f"{system}, run {data.get('run_id')}")
    elif kind == "notification":
        what = f"{data.get('status')} notification {data.get('rule')} on {system}"
    elif kind == RESTART:
        what = f"chain restarted: {data.get('reason')}"
    else:
        what = f"{kind} entry on {system}"
    return f"#{seq} ({what})"


def seal(draft: Draft, seq: int, previous: Entry | None) -> Entry:
    """Give ``draft`` its sequence number and link it to ``previous``."""
    content = dict(draft.content)
    content.update(type=draft.type, system=draft.system, run_id=draft.run_id, seq=seq)
    content["previous"] = None if previous is None else {
        "seq": previous.seq, "label": previous.label, "chain_hash": previous.chain_hash}
    detail = canonical(draft.detail) if draft.detail is not None else ""
    content["detail_sha256"] = sha256(detail) if detail else None
    text = canonical(content)
    content_hash = sha256(text)
    prev_hash = previous.chain_hash if previous else GENESIS
    return Entry(seq, draft.type, draft.system, draft.run_id, draft.at, text, detail,
                 content_hash, prev_hash, link(prev_hash, content_hash))


def verify(entries: Iterable[Entry], head: Head | None, *, details: bool = True) -> list[str]:
    """Every problem found in the current chain, each naming the entry concerned; [] if
    intact. The current chain starts at the last restart entry (the whole ledger if none);
    ``details=False`` skips the inventory details when they were not read."""
    problems: list[str] = []
    current = current_chain(list(entries))
    previous: Entry | None = None
    for entry in current:
        if previous is not None or entry.type != RESTART:
            problems.extend(_check_gap(entry, previous))
        problems.extend(_check_entry(entry, previous, details=details))
        previous = entry
    problems.extend(_check_head(previous, head))
    return problems


def current_chain(entries: list[Entry]) -> list[Entry]:
    """The entries from the last restart on: what readers may trust once they verify."""
    starts = [index for index, entry in enumerate(entries) if entry.type == RESTART]
    return entries[starts[-1]:] if starts else entries


def _check_gap(entry: Entry, previous: Entry | None) -> list[str]:
    expected = previous.seq + 1 if previous else 1
    if entry.seq == expected:
        return []
    if entry.seq < expected:
        return [f"{entry.label}: out of order (sequence {entry.seq} after {expected - 1})"]
    pointer = entry.data.get("previous") or {}
    missing = (f"#{expected}" if entry.seq == expected + 1
               else f"#{expected} to #{entry.seq - 1}")
    last = pointer.get("label") or f"#{entry.seq - 1}"
    return [f"{missing} deleted: {entry.label} was chained to {last}"]


def _check_entry(entry: Entry, previous: Entry | None, *, details: bool = True) -> list[str]:
    data = entry.data
    if not data:
        return [f"{entry.label}: edited: its content is no longer the JSON that was hashed"]
    if sha256(entry.content) != entry.content_hash:
        return [f"{entry.label}: edited: content does not match its hash"]
    if data.get("seq") != entry.seq:
        return [f"#{entry.seq}: reordered: holds the content of "
                f"{describe(data.get('seq', 0), data)}"]
    columns = {"type": entry.type, "system": entry.system, "run_id": entry.run_id}
    edited = [name for name, value in columns.items() if data.get(name) != value]
    source = AT_SOURCES.get(entry.type)
    if source in data and data[source] != entry.at:
        edited.append("at")
    if edited:
        return [f"{entry.label}: edited: column {', '.join(edited)} differs from the hashed "
                "content"]
    if details and (sha256(entry.detail) if entry.detail else None) != data.get("detail_sha256"):
        return [f"{entry.label}: edited: inventory detail does not match its hash"]
    if link(entry.prev_hash, entry.content_hash) != entry.chain_hash:
        return [f"{entry.label}: edited: chain hash does not match"]
    if previous is None and entry.type == RESTART:
        return []  # a restart is chained to whatever the damaged ledger ended with
    expected_prev = previous.chain_hash if previous else GENESIS
    if entry.prev_hash != expected_prev and (previous is None or previous.seq == entry.seq - 1):
        before = previous.label if previous else "the start of the ledger"
        return [f"{entry.label}: does not follow {before}: {before} was rewritten "
                f"or {entry.label} was moved"]
    return []


def _check_head(last: Entry | None, head: Head | None) -> list[str]:
    if head is None:
        return [] if last is None else [f"head record deleted (last entry {last.label})"]
    if last is None:
        return [f"every entry deleted: the head names {head.label}"]
    if head.seq > last.seq:
        return [f"#{last.seq + 1} to #{head.seq} deleted from the end: the head names "
                f"{head.label}"]
    if head.seq != last.seq or head.chain_hash != last.chain_hash:
        return [f"{last.label}: does not match the head record ({head.label}): entries "
                "were appended or rewritten outside cryptoaudit"]
    return []
