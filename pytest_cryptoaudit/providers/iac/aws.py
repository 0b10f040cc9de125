"""AWS resources of a change as records: KMS keys (with their policies and grants),
imported and replica keys, ACM certificates, load balancer listeners and CloudFront
distributions. Properties use the Terraform AWS provider's names; the CloudFormation reader
renames its properties to these."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...facts import (
    Action,
    Grant,
    KeyManager,
    KeyOrigin,
    KeyState,
    ManagedKeyFacts,
    PrincipalKind,
    ProtectionLevel,
    Rotation,
)
from ...model import UNSTATED
from ..aws_kms.facts import kms_grants, policy_grants
from ..aws_kms.keyspec import KEY_SPECS, kind_of
from .planned import Estate, Fields, Planned
from .tls_policies import (
    CLOUDFRONT_DEFAULT_CERTIFICATE,
    ELB_DEFAULT,
    SCAN_FACTS,
    policy_attributes,
)
from .values import Unknown, first_unknown

DEFAULT_ROTATION_DAYS = 365
KEY_TYPES = ("aws_kms_key", "aws_kms_external_key", "aws_kms_replica_key",
             "aws_kms_replica_external_key")
ACM_ALGORITHMS = {
    "RSA_1024": ("RSA", 1024, None), "RSA_2048": ("RSA", 2048, None),
    "RSA_3072": ("RSA", 3072, None), "RSA_4096": ("RSA", 4096, None),
    "EC_prime256v1": ("EC", 256, "secp256r1"), "EC_secp384r1": ("EC", 384, "secp384r1"),
    "EC_secp521r1": ("EC", 521, "secp521r1"),
}
TLS_LISTENER_PROTOCOLS = ("HTTPS", "TLS")


def kms_key(estate: Estate, resource: Planned) -> None:
    """A KMS key: spec, usage, rotation, deletion window, multi-Region, policy, grants."""
    fields = Fields()
    spec = fields.take("algorithm", resource.get("key_spec")
                       or resource.get("customer_master_key_spec", "SYMMETRIC_DEFAULT"))
    usage = fields.take("usage", resource.get("key_usage", "ENCRYPT_DECRYPT"))
    kind = _algorithm(fields, spec, usage)
    imported = resource.type in ("aws_kms_external_key", "aws_kms_replica_external_key")
    replica = resource.type.startswith("aws_kms_replica")
    store = fields.take("managed.key_store", resource.get("custom_key_store_id"))
    state = _state(fields, resource, imported)
    facts: dict[str, Any] = {
        "manager": KeyManager.CUSTOMER,
        "origin": KeyOrigin.IMPORTED if imported else KeyOrigin.HSM if store
        else KeyOrigin.GENERATED,
        "protection": ProtectionLevel.HSM, "state": state, "native_state": state.value,
        "can_rotate": spec == "SYMMETRIC_DEFAULT" and not imported and not replica,
        "key_store": store,
        "multi_region": bool(fields.take("managed.multi_region",
                                         resource.get("multi_region", False))),
    }
    if imported:
        facts["material_expires"] = _material_expires(fields, resource)
    if facts["can_rotate"]:
        facts["rotation"] = _rotation(fields, resource)
    facts["access"] = _access(estate, resource, fields)
    fields.values["managed"] = ManagedKeyFacts(**facts)
    fields.attributes["deletion_window_days"] = fields.take(
        "deletion_window_days", resource.get("deletion_window_in_days", 30))
    if replica:
        fields.attributes["primary_key"] = _text(resource.get("primary_key_arn"))
    if isinstance(usage, str):
        fields.values["usage"] = (usage,)
    planned_age(estate, resource, fields)
    estate.add_key(resource, kind, fields)


def _algorithm(fields: Fields, spec: Any, usage: Any) -> str:
    if spec is None:
        return "secret-key"
    if spec not in KEY_SPECS:
        fields.unreadable["algorithm"] = f"key spec {spec!r} is not a KMS key spec"
        return "secret-key"
    algorithm, size, curve = KEY_SPECS[spec]
    fields.values.update(algorithm=algorithm, size=size, curve=curve)
    fields.attributes["key_spec"] = spec
    return kind_of(spec, usage if isinstance(usage, str) else None)


def _state(fields: Fields, resource: Planned, imported: bool) -> KeyState:
    if resource.actions is not None and "delete" in resource.actions \
            and "create" not in resource.actions:
        return KeyState.PENDING_DELETION
    name = "is_enabled" if resource.type == "aws_kms_key" else "enabled"
    enabled = fields.take("managed.state", resource.get(name, True))
    if imported and not resource.props.get("key_material_base64"):
        return KeyState.PENDING_IMPORT
    return KeyState.DISABLED if enabled is False else KeyState.ENABLED


def _material_expires(fields: Fields, resource: Planned) -> bool | None:
    valid_to = resource.props.get("valid_to")
    if isinstance(valid_to, Unknown):
        fields.unreadable["managed.material_expires"] = valid_to.reason
        return None
    return bool(valid_to)


def _rotation(fields: Fields, resource: Planned) -> Rotation | None:
    enabled = fields.take("managed.rotation", resource.get("enable_key_rotation", False))
    if enabled is None:
        return None
    period = fields.take("managed.rotation.period_days",
                         resource.get("rotation_period_in_days"))
    source = "" if period is not None or "managed.rotation.period_days" in fields.unreadable \
        else "KMS default"
    return Rotation(automatic=bool(enabled), period_days=int(period) if period is not None
                    else DEFAULT_ROTATION_DAYS if enabled else None, period_source=source)


def _access(estate: Estate, resource: Planned, fields: Fields) -> tuple[Grant, ...] | None:
    policy = resource.props.get("policy")
    if isinstance(policy, Unknown):
        fields.unreadable["managed.access"] = f"key policy: {policy.reason}"
        return None
    if policy:
        try:
            document = json.loads(policy) if isinstance(policy, str) else dict(policy)
        except ValueError as exc:
            fields.unreadable["managed.access"] = f"key policy is not JSON: {exc}"
            return None
        missing = first_unknown(document)
        if missing is not None:
            fields.unreadable["managed.access"] = f"key policy: {missing.reason}"
            return None
        fields.attributes["policy_defined"] = True
        found = policy_grants(document, estate.trusted)
    else:
        owner = f"arn:aws:iam::{estate.account}:root" if estate.account else "(own account)"
        found = [Grant(owner, PrincipalKind.ACCOUNT, tuple(Action), "key-policy",
                       ref="default key policy")]
        fields.attributes["policy_defined"] = False
    grants = estate.referring(("aws_kms_grant",), "key_id", resource)
    for grant in grants:
        entry = {"GranteePrincipal": grant.props.get("grantee_principal"),
                 "RetiringPrincipal": grant.props.get("retiring_principal"),
                 "Operations": grant.props.get("operations") or [],
                 "Constraints": grant.props.get("constraints"), "GrantId": grant.address}
        missing = next((v for v in entry.values() if isinstance(v, Unknown)), None)
        if missing is not None:
            fields.unreadable["managed.access"] = f"{grant.address}: {missing.reason}"
            return None
        found.extend(kms_grants([entry], estate.trusted))
    return tuple(found)


def planned_age(estate: Estate, resource: Planned, fields: Fields) -> None:
    """A key this change creates is new; otherwise its age is not in the code."""
    if resource.actions is not None and "create" in resource.actions:
        fields.values["created"] = estate.context.now
        fields.attributes["created_source"] = "created by this change"
    else:
        # Not a failure to read: code never holds a key's age. The live key's audit judges
        # it; a plan that creates the key says it is new.
        fields.attributes.setdefault(UNSTATED, {})["created"] = (
            "the code does not say when the key was created; the live key's audit judges "
            "its age")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def acm_certificate(estate: Estate, resource: Planned) -> None:
    """An ACM certificate: the key algorithm ACM generates, or an imported certificate."""
    fields = Fields()
    if resource.props.get("private_key") is not None:
        fields.attributes["imported"] = True  # the key is in the code: never read it
        fields.unreadable.update(algorithm="imported certificate: read its PEM file instead",
                                 size="imported certificate: read its PEM file instead")
    else:
        name = fields.take("algorithm", resource.get("key_algorithm", "RSA_2048"))
        if name is not None and name not in ACM_ALGORITHMS:
            fields.unreadable["algorithm"] = f"ACM key algorithm {name!r} is not known"
        elif name is not None:
            algorithm, size, curve = ACM_ALGORITHMS[name]
            fields.values.update(algorithm=algorithm, size=size, curve=curve)
            fields.attributes["key_algorithm"] = name
    issued = ("issued (and renewed) by ACM when the change is applied; the live "
              "certificate's audit judges it")
    fields.attributes[UNSTATED] = {"certificate": issued, "expires": issued}
    fields.attributes["domain_name"] = _text(resource.get("domain_name"))
    estate.add_key(resource, "certificate", fields)


def lb_listener(estate: Estate, resource: Planned) -> None:
    """A load balancer listener that terminates TLS: the protocols and suites of its policy."""
    protocol = resource.get("protocol", "HTTP")
    if isinstance(protocol, str) and protocol.upper() not in TLS_LISTENER_PROTOCOLS:
        return  # a plain HTTP or TCP listener has no TLS to judge
    _tls_endpoint(estate, resource, resource.get("ssl_policy", ELB_DEFAULT))


def cloudfront_distribution(estate: Estate, resource: Planned) -> None:
    """A CloudFront distribution: the viewer TLS policy (the default certificate is TLSv1)."""
    viewer = resource.block("viewer_certificate")
    if isinstance(viewer, Unknown):
        _tls_endpoint(estate, resource, viewer)
        return
    if viewer.get("cloudfront_default_certificate") is True:
        policy: Any = CLOUDFRONT_DEFAULT_CERTIFICATE
    else:
        policy = viewer.get("minimum_protocol_version") or CLOUDFRONT_DEFAULT_CERTIFICATE
    _tls_endpoint(estate, resource, policy)


def _tls_endpoint(estate: Estate, resource: Planned, policy: Any) -> None:
    fields = Fields()
    if isinstance(policy, Unknown):
        for name in ("protocols", "cipher_suites"):
            fields.unreadable[name] = f"TLS policy: {policy.reason}"
        fields.attributes[UNSTATED] = dict(SCAN_FACTS)
    else:
        attributes, unreadable = policy_attributes(str(policy))
        fields.attributes.update(attributes)
        fields.unreadable.update(unreadable)
    port = resource.props.get("port")
    fields.attributes["port"] = port if isinstance(port, int) else None
    estate.add_endpoint(resource, fields)


MAPPERS: Mapping[str, Any] = {
    **dict.fromkeys(KEY_TYPES, kms_key),
    "aws_acm_certificate": acm_certificate,
    "aws_lb_listener": lb_listener,
    "aws_alb_listener": lb_listener,
    "aws_cloudfront_distribution": cloudfront_distribution,
}
