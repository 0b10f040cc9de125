"""Planned resources, read from code or a plan, and the records they become.

Every reader (Terraform, CloudFormation) turns its input into :class:`Planned` resources —
a type, an address, properties in the Terraform provider's names (values may be
:class:`Unknown`) and where they are declared — and :class:`Estate` turns each resource
into records with the mappers of ``aws.py`` and ``clouds.py``. Unknown values become
``unreadable`` facts named after the fact they would fill.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...model import SourceLocation
from .. import Discovery, DiscoveryContext
from .values import Unknown


@dataclasses.dataclass(frozen=True)
class Planned:
    """One resource instance as the change declares it."""

    type: str
    address: str
    props: Mapping[str, Any]
    location: SourceLocation
    #: The plan's actions for it (``create``, ``update``, ``delete``...), None without a plan.
    actions: tuple[str, ...] | None = None

    @property
    def base_address(self) -> str:
        """The address without its instance key, as references name it."""
        return self.address.split("[", 1)[0]

    def get(self, name: str, default: Any = None) -> Any:
        value = self.props.get(name)
        return default if value is None else value

    def block(self, name: str) -> Mapping[str, Any] | Unknown:
        """The first nested block ``name`` (Terraform writes blocks as lists), or {}."""
        value = self.props.get(name)
        if isinstance(value, list):
            value = value[0] if value else {}
        return value if isinstance(value, Mapping | Unknown) else {}


@dataclasses.dataclass
class Fields:
    """Record fields under construction, with the facts that could not be read."""

    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    unreadable: dict[str, str] = dataclasses.field(default_factory=dict)

    def take(self, fact: str, value: Any) -> Any:
        """``value`` if known; an unknown one marks ``fact`` unreadable and gives None."""
        if isinstance(value, Unknown):
            self.unreadable.setdefault(fact, value.reason)
            return None
        return value


Mapper = Callable[["Estate", Planned], None]


class Estate:
    """All planned resources of one system, and the records they become."""

    def __init__(self, attempt: Discovery, context: DiscoveryContext, prefix: str,
                 trusted: Iterable[str] = (), account: str | None = None) -> None:
        self.attempt = attempt
        self.context = context
        self.prefix = prefix
        self.trusted = {a for a in (*trusted, account) if a}
        self.account = account
        self.resources: list[Planned] = []

    def add(self, resource: Planned) -> None:
        self.resources.append(resource)

    def of_type(self, *types: str) -> list[Planned]:
        return [r for r in self.resources if r.type in types]

    def referring(self, types: Iterable[str], prop: str, target: Planned) -> list[Planned]:
        """Resources of ``types`` whose ``prop`` refers to ``target`` (by address or id)."""
        wanted = set(types)
        return [r for r in self.resources
                if r.type in wanted and _refers(r.props.get(prop), target)]

    def uid(self, resource: Planned) -> str:
        """``prefix:path:line:address`` (no line for a resource only a plan shows)."""
        line = "" if resource.location.line is None else f"{resource.location.line}:"
        return f"{self.prefix}:{resource.location.path}:{line}{resource.address}"

    def add_key(self, resource: Planned, kind: str, fields: Fields) -> None:
        attributes = {"address": resource.address, "resource_type": resource.type,
                      **fields.attributes}
        if resource.actions is not None:
            attributes["plan_actions"] = list(resource.actions)
        self.attempt.add_key(self.uid(resource), kind, location=resource.location,
                             attributes=attributes, unreadable=fields.unreadable,
                             tags=_tags(resource), **fields.values)

    def add_endpoint(self, resource: Planned, fields: Fields) -> None:
        self.attempt.add_endpoint(self.uid(resource), resource.address, protocol="tls",
                                  location=resource.location,
                                  attributes={"resource_type": resource.type,
                                              **fields.attributes},
                                  unreadable=fields.unreadable)

    def error(self, resource: Planned, reason: str) -> None:
        self.attempt.error(f"{resource.address}: {reason}", key_uid=self.uid(resource),
                           location=resource.location)

    def build(self, mappers: Mapping[str, Mapper]) -> None:
        """Turn every resource a mapper knows into records."""
        for resource in self.resources:
            mapper = mappers.get(resource.type)
            if mapper is not None:
                mapper(self, resource)


def _tags(resource: Planned) -> dict[str, str]:
    """The resource's tags (AWS, Azure) or labels (GCP) that the code fixes."""
    tags = resource.props.get("tags") or resource.props.get("labels") or {}
    if not isinstance(tags, Mapping):
        return {}
    return {str(k): v for k, v in tags.items() if isinstance(v, str)}


def _refers(value: Any, target: Planned) -> bool:
    if isinstance(value, Unknown):
        return value.address in (target.base_address, target.address)
    if isinstance(value, str):
        known = target.props.get("key_id"), target.props.get("arn"), target.props.get("id")
        return value in [k for k in known if isinstance(k, str)]
    return False
