"""The one summary view of a run's findings, rendered by the terminal, Markdown and HTML alike.

Findings (failed results) are ranked by risk tier, critical first, then control and check;
findings with the same reason are grouped with a count, so ten copies of one weakness do not
hide the one critical key. Errors (checks that could not look) are listed apart, with their
own count, because they call for a different action: fix the access, not the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ..evidence_model import Result
from ..model import Outcome, RiskTier

#: A result of the evidence, typed, or as a dict (the terminal's results of the run).
ResultLike = Result | Mapping[str, Any]

#: How many groups of each kind the headline shows; every finding is still listed.
HEADLINE_GROUPS = 10


@dataclasses.dataclass(frozen=True)
class Group:
    """Results of one check that share a tier and a reason."""

    risk_tier: str
    control: str
    check: str
    reason: str
    count: int
    example: str

    def line(self) -> str:
        """``[tier] control check key: reason``, or a count and an example key for a group."""
        subject = (f"\u00d7{self.count} (e.g. {self.example})" if self.count > 1
                   else self.example)
        return f"[{self.risk_tier}] {self.control} {self.check} {subject}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class SummaryView:
    """Findings and errors of a run, ranked and grouped."""

    findings: list[ResultLike]
    errors: list[ResultLike]
    finding_groups: list[Group]
    error_groups: list[Group]


def field(result: ResultLike, name: str) -> Any:
    """A field of a typed result or of a result dict, as text when it is an enum member."""
    value = result.get(name) if isinstance(result, Mapping) else getattr(result, name, None)
    return str(value) if isinstance(value, (Outcome, RiskTier)) else value


def reason(result: ResultLike) -> str:
    """The first line of a result's message: what groups identical findings."""
    message = field(result, "message") or ""
    return message.splitlines()[0] if message else ""


def _rank(result: ResultLike) -> tuple[int, str, str, str]:
    tier = RiskTier(field(result, "risk_tier"))
    return (-tier.rank, field(result, "control"), field(result, "check"),
            field(result, "key_uid"))


def _groups(results: list[ResultLike]) -> list[Group]:
    grouped: dict[tuple[str, str, str, str], list[ResultLike]] = {}
    for result in results:  # already ranked, so groups come out in rank order
        key = (field(result, "risk_tier"), field(result, "control"), field(result, "check"),
               reason(result))
        grouped.setdefault(key, []).append(result)
    return [Group(*key, count=len(members), example=field(members[0], "key_uid"))
            for key, members in grouped.items()]


def summary_view(results: Iterable[ResultLike]) -> SummaryView:
    """Rank and group the failed and error results among ``results`` (evidence results)."""
    findings: list[ResultLike] = []
    errors: list[ResultLike] = []
    for result in results:
        outcome = field(result, "outcome")
        if outcome == Outcome.FAILED.value:
            findings.append(result)
        elif outcome == Outcome.ERROR.value:
            errors.append(result)
    findings.sort(key=_rank)
    errors.sort(key=_rank)
    return SummaryView(findings, errors, _groups(findings), _groups(errors))


#: The columns of a table of groups (Markdown, HTML), in the order of :func:`group_rows`.
GROUP_COLUMNS = ("Tier", "Control", "Check", "Count", "Key (first)", "Reason")


def group_rows(groups: list[Group]) -> list[tuple[str, str, str, int, str, str]]:
    """The first :data:`HEADLINE_GROUPS` groups as table rows."""
    return [(g.risk_tier, g.control, g.check, g.count, g.example, g.reason)
            for g in groups[:HEADLINE_GROUPS]]


def more(groups: list[Group]) -> int:
    """How many groups the headline leaves out."""
    return max(0, len(groups) - HEADLINE_GROUPS)


def finding_line(result: ResultLike) -> str:
    """One compact line per finding: tier, control, check, key, its accountable owner (when
    one is known) and reason."""
    owner = field(result, "accountable_owner")
    whose = f" (owner {owner})" if owner else ""
    return (f"[{field(result, 'risk_tier')}] {field(result, 'control')} "
            f"{field(result, 'check')} {field(result, 'key_uid')}{whose}: {reason(result)}")


def headline(view: SummaryView) -> str:
    """``N findings (G distinct reasons), M errors``."""
    return (f"{count(len(view.findings), 'finding')} "
            f"({count(len(view.finding_groups), 'distinct reason')}), "
            f"{count(len(view.errors), 'error')}")


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def carried_line(results: Iterable[ResultLike]) -> str | None:
    """``N of M results carried from earlier complete audits (oldest established ...)``, or
    None when every result was checked in this run: an auditor must see which are which."""
    total, times = 0, []
    for result in results:
        total += 1
        carried = field(result, "carried")
        if carried:
            times.append(carried["at"] if isinstance(carried, Mapping) else carried.at)
    if not times:
        return None
    return (f"{len(times)} of {count(total, 'result')} carried unchanged from earlier complete "
            f"audits (oldest established {min(times)[:10]}); the others were checked in this "
            "run.")
