"""The ``gcp-kms`` provider: Cloud KMS keys of one or more projects and locations."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import Discovery, DiscoveryContext, Provider
from .discovery import FETCHES, GcpDiscovery
from .options import GcpKmsOptions


class GcpKmsProvider(Provider):
    """Discovers Cloud KMS crypto keys with their versions, labels and the IAM policies of
    key and key ring, through the official SDK."""

    name = "gcp-kms"
    component = "kms"
    Options = GcpKmsOptions
    fetches = FETCHES

    @classmethod
    def tag_name(cls, name: str) -> str:
        """GCP label keys hold lowercase letters, digits, ``_`` and ``-``: no ``:``."""
        return name.replace(":", "-").lower()

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: GcpKmsOptions = system.options
        run = GcpDiscovery(options, context)
        run.run(system.name)
        run.add_inherited_access()
        auditor, unreadable = run.auditor_facts()
        attempt = self.new_discovery(
            system, projects=run.projects, organization=options.organization,
            locations=run.locations,
            key_rings=run.key_rings, api_calls=dict(sorted(run.log.calls.items())),
            backoffs=run.log.backoffs, key_stores=run.ekm.stores(),
            allowed_member_domains=sorted(options.allowed_member_domains),
            allowed_projects=sorted(options.allowed_projects), **auditor)
        if unreadable:
            attempt.system = dataclasses.replace(
                attempt.system, unreadable={**attempt.system.unreadable, **unreadable})
        return run.to_discovery(attempt)
