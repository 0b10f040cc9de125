"""Exceptions that make a control error (it could not look) rather than fail (it found)."""

from __future__ import annotations


class CryptoAuditError(Exception):
    """A control could not look at its subject: an attribute unreadable, discovery failed."""
