"""How ``--cryptoaudit-shard`` deals systems out: balanced, and the same on every machine."""

from __future__ import annotations

import collections

import pytest

from pytest_cryptoaudit.shards import assign, audit_id_from_environment, parse_shard

SYSTEMS = [f"system-{n}" for n in range(10)]


def test_every_system_in_exactly_one_shard_with_sizes_differing_by_at_most_one() -> None:
    shards = assign(SYSTEMS, 3)
    assert set(shards) == set(SYSTEMS)
    sizes = collections.Counter(shards.values())
    assert sorted(sizes) == [1, 2, 3] and max(sizes.values()) - min(sizes.values()) <= 1


def test_the_assignment_depends_only_on_the_set_of_systems() -> None:
    assert assign(SYSTEMS, 4) == assign(list(reversed(SYSTEMS)), 4)
    assert set(assign(SYSTEMS, 1).values()) == {1}


def test_more_shards_than_systems_leaves_some_empty() -> None:
    assert sorted(assign(["a", "b"], 3).values()) == [1, 2]


@pytest.mark.parametrize(("text", "expected"), [("1/1", (1, 1)), (" 2 / 3 ", (2, 3))])
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(("environ", "expected"), [
    ({"CRYPTOAUDIT_AUDIT_ID": "x", "GITHUB_RUN_ID": "7"}, "x"),
    ({"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2"}, "github-7-2"),
    ({"CI_PIPELINE_ID": "99"}, "gitlab-99"),
    ({}, None),
])
def test_the_audit_id_comes_from_the_ci_run(environ: dict[str, str],
                                            expected: str | None) -> None:
    assert audit_id_from_environment(environ) == expected
