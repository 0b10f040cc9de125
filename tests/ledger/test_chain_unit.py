"""The chain's verification on sealed entries in memory: every message names exactly the
entries concerned (no database, so each case costs microseconds)."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_cryptoaudit.ledger.chain import (
    GENESIS,
    RESTART,
    Draft,
    Entry,
    Head,
    canonical,
    current_chain,
    describe,
    link,
    seal,
    sha256,
    verify,
)


def draft(number: int, kind: str = "event") -> Draft:
    content = {"at": f"2026-01-0{number}T00:00:00", "kind": "key-compromise",
               "recorded_at": f"2026-01-0{number}T00:00:00"}
    if kind == RESTART:
        content = {"recorded_at": "2026-01-09T00:00:00", "reason": "INC-1"}
    return Draft(kind, "app", content.get("at", content["recorded_at"]), content,
                 detail={"keys": {"k": number}} if number == 2 else None)


def chain(count: int) -> list[Entry]:
    entries: list[Entry] = []
    for seq in range(1, count + 1):
        entries.append(seal(draft(seq), seq, entries[-1] if entries else None))
    return entries


def head_of(entry: Entry) -> Head:
    return Head(entry.seq, entry.chain_hash, entry.label)


def test_an_intact_chain_has_no_problem_and_links_from_genesis():
    entries = chain(4)
    assert verify(entries, head_of(entries[-1])) == []
    assert entries[0].prev_hash == GENESIS
    assert entries[1].prev_hash == entries[0].chain_hash
    assert entries[0].chain_hash == link(GENESIS, sha256(entries[0].content))
    assert link("a", "b") == sha256("a:b") != link("b", "a")
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    assert verify([], None) == []


def test_one_deleted_entry_and_a_deleted_range_are_named():
    entries = chain(6)
    label = entries[2].label
    assert verify([entries[0], entries[2], *entries[3:]], head_of(entries[-1])) == [
        f"#2 deleted: {label} was chained to #2 (key-compromise event on app at "
        "2026-01-02T00:00:00)"]
    assert verify([entries[0], *entries[4:]], head_of(entries[-1])) == [
        f"#2 to #4 deleted: {entries[4].label} was chained to #4 (key-compromise event on "
        "app at 2026-01-04T00:00:00)"]
    assert verify(entries[1:], head_of(entries[-1])) == [
        f"#1 deleted: {entries[1].label} was chained to {entries[0].label}",
        f"{entries[1].label}: does not follow the start of the ledger: the start of the "
        f"ledger was rewritten or {entries[1].label} was moved"]


def test_entries_out_of_order_are_named():
    entries = chain(3)
    problems = verify([entries[0], entries[2], entries[1]], head_of(entries[1]))
    assert problems[0] == f"#2 deleted: {entries[2].label} was chained to {entries[1].label}"
    assert problems[1] == f"{entries[1].label}: out of order (sequence 2 after 3)"


def test_the_head_names_what_was_removed_from_the_end():
    entries = chain(5)
    assert verify(entries[:3], head_of(entries[-1])) == [
        f"#4 to #5 deleted from the end: the head names {entries[-1].label}"]
    assert verify(entries, None) == [f"head record deleted (last entry {entries[-1].label})"]
    assert verify([], head_of(entries[-1])) == [
        f"every entry deleted: the head names {entries[-1].label}"]
    stale = Head(4, entries[3].chain_hash, entries[3].label)
    assert verify(entries, stale) == [
        f"{entries[-1].label}: does not match the head record ({entries[3].label}): entries "
        "were appended or rewritten outside cryptoaudit"]
    forged = Head(5, "f" * 64, entries[-1].label)
    assert verify(entries, forged)[0].endswith("outside cryptoaudit")


def edited(entry: Entry, **changes: object) -> Entry:
    return dataclasses.replace(entry, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "problem"), [
    ({"content": "not json"}, "edited: its content is no longer the JSON that was hashed"),
    ({"content_hash": "0" * 64}, "edited: content does not match its hash"),
    ({"system": "other"}, "edited: column system differs from the hashed content"),
    ({"type": "action"}, "edited: column type differs from the hashed content"),
    ({"run_id": "r-9"}, "edited: column run_id differs from the hashed content"),
    ({"at": "2030-01-01"}, "edited: column at differs from the hashed content"),
    ({"detail": "{}"}, "edited: inventory detail does not match its hash"),
    ({"chain_hash": "0" * 64}, "edited: chain hash does not match"),
])
def test_each_edit_of_an_entry_is_named(change, problem):
    entries = chain(3)
    entries[1] = edited(entries[1], **change)
    found = verify(entries, head_of(entries[-1]))
    assert found[0].endswith(problem)
    assert found[0].startswith("#2")


def test_details_are_skipped_only_when_asked():
    entries = chain(3)
    entries[1] = edited(entries[1], detail="")
    assert verify(entries, head_of(entries[-1]), details=False) == []
    assert verify(entries, head_of(entries[-1]))[0].endswith(
        "edited: inventory detail does not match its hash")


def test_a_rewritten_predecessor_breaks_the_next_link():
    entries = chain(3)
    rewritten = seal(Draft("event", "app", "2026-01-02T00:00:00",
                           {"at": "2026-01-02T00:00:00", "kind": "rewritten"}), 2, entries[0])
    problems = verify([entries[0], rewritten, entries[2]], head_of(entries[2]))
    assert problems == [f"{entries[2].label}: does not follow {rewritten.label}: "
                        f"{rewritten.label} was rewritten or {entries[2].label} was moved"]
    moved = seal(draft(1), 1, entries[1])
    assert verify([moved], head_of(moved)) == [
        f"{moved.label}: does not follow the start of the ledger: the start of the ledger "
        f"was rewritten or {moved.label} was moved"]


def test_a_content_moved_to_another_place_is_named():
    entries = chain(3)
    swapped = edited(entries[1], seq=3)
    found = verify([entries[0], swapped], head_of(entries[-1]))
    assert f"#3: reordered: holds the content of {entries[1].label}" in found


def test_a_restart_starts_the_chain_that_is_verified():
    entries = chain(3)
    broken = [entries[0], entries[2]]
    restart = seal(draft(9, RESTART), 4, broken[-1])
    after = seal(draft(5), 5, restart)
    everything = [*broken, restart, after]
    assert current_chain(everything) == [restart, after]
    assert verify(current_chain(everything), head_of(after)) == []
    # what came before the restart stays as evidence and is no longer verified
    assert verify(everything, head_of(after)) == []
    assert verify(broken, head_of(entries[2]))[0].startswith("#2 deleted")
    assert describe(4, restart.data) == "#4 (chain restarted: INC-1)"


def test_entry_names():
    assert describe(7, {"type": "audit", "system": "kms", "run_id": "r1"}) == (
        "#7 (audit of kms, run r1)")
    assert describe(2, {"type": "event", "system": "kms", "kind": "rotation",
                        "at": "t"}) == "#2 (rotation event on kms at t)"
    assert describe(3, {"type": "action", "system": "kms", "finding": "F-1"}) == (
        "#3 (corrective action on F-1 (kms))")
    assert describe(4, {"type": "other", "system": "kms"}) == "#4 (other entry on kms)"


def test_a_long_chain_matches_its_head_by_value_not_identity():
    """Sequence numbers past 256 are distinct int objects when read back from a database."""
    entries = chain(300)
    head = Head(int(str(entries[-1].seq)), str(entries[-1].chain_hash), entries[-1].label)
    assert head.seq is not entries[-1].seq
    assert verify(entries, head) == []
