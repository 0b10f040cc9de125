"""The CSA CCM v4 / AICM CEK controls: each id's title, declared once.

Control markers name the id and the check; the title and the CCM citation come from here,
so two checks of one control can no longer carry two titles.
"""

from __future__ import annotations

from collections.abc import Mapping

from .references import ccm

#: Titles as the CSA Cloud Controls Matrix v4 (and the AI Controls Matrix) spell them.
CEK_TITLES: Mapping[str, str] = {
    "CEK-01": "Encryption and Key Management Policy and Procedures",
    "CEK-02": "CEK Roles and Responsibilities",
    "CEK-03": "Data Encryption",
    "CEK-04": "Encryption Algorithm",
    "CEK-05": "Encryption Change Management",
    "CEK-06": "Encryption Change Cost Benefit Analysis",
    "CEK-07": "Encryption Risk Management",
    "CEK-08": "CSC Key Management Capability",
    "CEK-09": "Encryption and Key Management Audit",
    "CEK-10": "Key Generation",
    "CEK-11": "Key Purpose",
    "CEK-12": "Key Rotation",
    "CEK-13": "Key Revocation",
    "CEK-14": "Key Destruction",
    "CEK-15": "Key Activation",
    "CEK-16": "Key Suspension",
    "CEK-17": "Key Deactivation",
    "CEK-18": "Key Archival",
    "CEK-19": "Key Compromise",
    "CEK-20": "Key Recovery",
    "CEK-21": "Key Inventory Management",
}


def title_of(control_id: str) -> str | None:
    """The matrix title of a CEK id, or None for an id of the user's own."""
    return CEK_TITLES.get(control_id.upper())


def matrix_references(control_id: str, references: tuple[str, ...]) -> tuple[str, ...]:
    """``references`` with the control's own matrix citation first (once)."""
    if control_id.upper() not in CEK_TITLES:
        return references
    own = ccm(control_id.upper())
    return (own, *(r for r in references if r != own))
