"""Findings routed to stakeholders (CEK-09 guideline 7): ``[[notify]]`` rules, their
channels, and the ledger entries that evidence each delivery.

Public entry points: :class:`~.rules.NotifyRule` and :func:`~.deliver.notify`.
"""
