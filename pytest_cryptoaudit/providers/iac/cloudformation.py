"""The ``cloudformation`` provider: KMS keys, replica keys, certificates, listeners and
CloudFront distributions of CloudFormation templates (YAML with the short intrinsic forms
``!Ref``/``!Sub``/``!GetAtt``..., or JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ...model import SourceLocation
from .. import Discovery, DiscoveryContext, Provider
from . import aws
from .files import YAML_SUFFIXES, display, expand
from .planned import Estate, Planned
from .terraform import IacOptions
from .values import AFTER_APPLY, Unknown, first_unknown

#: CloudFormation type -> (Terraform type the mappers know, property renames).
TYPES: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "AWS::KMS::Key": ("aws_kms_key", {
        "KeySpec": "key_spec", "KeyUsage": "key_usage", "EnableKeyRotation":
        "enable_key_rotation", "RotationPeriodInDays": "rotation_period_in_days",
        "PendingWindowInDays": "deletion_window_in_days", "Enabled": "is_enabled",
        "MultiRegion": "multi_region", "KeyPolicy": "policy"}),
    "AWS::KMS::ReplicaKey": ("aws_kms_replica_key", {
        "PrimaryKeyArn": "primary_key_arn", "KeyPolicy": "policy", "Enabled": "enabled",
        "PendingWindowInDays": "deletion_window_in_days"}),
    "AWS::CertificateManager::Certificate": ("aws_acm_certificate", {
        "DomainName": "domain_name", "KeyAlgorithm": "key_algorithm"}),
    "AWS::ElasticLoadBalancingV2::Listener": ("aws_lb_listener", {
        "Protocol": "protocol", "Port": "port", "SslPolicy": "ssl_policy"}),
}
SHORT_FORMS = ("Ref", "Sub", "GetAtt", "Join", "If", "Equals", "Select", "Split",
               "FindInMap", "ImportValue", "Base64", "GetAZs", "Not", "And", "Or",
               "Condition", "Cidr", "Transform", "Length", "ToJsonString")
PSEUDO = {"AWS::Region", "AWS::StackName", "AWS::StackId", "AWS::URLSuffix",
          "AWS::Partition", "AWS::NotificationARNs", "AWS::NoValue"}


def template_loader() -> type:
    """A safe YAML loader that reads the short forms as their long forms."""
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types here
        pass

    def construct(tag: str) -> Any:
        def build(loader: Any, node: Any) -> dict[str, Any]:
            if isinstance(node, yaml.ScalarNode):
                value: Any = loader.construct_scalar(node)
                if tag == "GetAtt":
                    value = value.split(".", 1)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            return {"Ref" if tag == "Ref" else f"Fn::{tag}": value}
        return build

    for tag in SHORT_FORMS:
        Loader.add_constructor(f"!{tag}", construct(tag))
    return Loader


class Template:
    """One template: parameters, and what intrinsic functions resolve to."""

    def __init__(self, body: Mapping[str, Any], parameters: Mapping[str, Any],
                 account: str | None) -> None:
        self.resources: Mapping[str, Any] = body.get("Resources") or {}
        self.values: dict[str, Any] = {"AWS::AccountId": account or Unknown(
            "AWS::AccountId: the account is not named (set account_id)")}
        for name, declared in (body.get("Parameters") or {}).items():
            if name in parameters:
                self.values[name] = parameters[name]
            elif isinstance(declared, Mapping) and "Default" in declared:
                self.values[name] = declared["Default"]
            else:
                self.values[name] = Unknown(f"parameter {name} has no value (no Default, no "
                                            "parameters option)")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref" or function.startswith("Fn::"):
                return self._intrinsic(function, argument)
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.resources:
            return Unknown(f"!Ref {name}: {AFTER_APPLY}", address=name)
        return Unknown(f"!Ref {name}: {'a pseudo parameter' if name in PSEUDO else 'unknown'} "
                       "not known before deployment")

    def _intrinsic(self, function: str, argument: Any) -> Any:
        if function == "Ref" and isinstance(argument, str):
            return self._ref(argument)
        if function == "Fn::GetAtt":
            name = argument[0] if isinstance(argument, list) and argument else str(argument)
            return Unknown(f"!GetAtt {'.'.join(map(str, argument))}: {AFTER_APPLY}",
                           address=name)
        if function == "Fn::Sub" and isinstance(argument, str):
            return self._sub(argument)
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            parts = self.resolve(argument[1])
            if first_unknown(parts) is None and isinstance(parts, list):
                return str(argument[0]).join(str(p) for p in parts)
        return Unknown(f"{function} {json.dumps(argument, default=str)[:80]}: not evaluated "
                       "before deployment")

    def _sub(self, text: str) -> Any:
        def replace(match: re.Match[str]) -> str:
            value = self._ref(match.group(1)) if "." not in match.group(1) \
                else Unknown(f"${{{match.group(1)}}}: {AFTER_APPLY}")
            if isinstance(value, Unknown):
                raise _Unresolved(value)
            return str(value)
        try:
            return re.sub(r"\$\{([^}!]+)\}", replace, text)
        except _Unresolved as exc:
            return Unknown(f"!Sub {text!r}: {exc.unknown.reason}")


class _Unresolved(Exception):
    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.reason)
        self.unknown = unknown


class CloudFormationOptions(IacOptions):
    """Options of ``provider = "cloudformation"`` (see docs/cloudformation.md)."""

    #: Parameter values of the stack, over each parameter's Default.
    parameters: dict[str, Any] = {}


class CloudFormationProvider(Provider):
    """Audits CloudFormation templates before they are deployed."""

    name = "cloudformation"
    component = "iac"
    Options = CloudFormationOptions

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: CloudFormationOptions = system.options
        attempt = self.new_discovery(system, paths=list(options.paths))
        estate = Estate(attempt, context, "cloudformation", options.trusted_accounts,
                        options.account_id)
        loader = template_loader()
        for pattern in options.paths:
            files = list(expand(context.base_dir, pattern, (*YAML_SUFFIXES, ".template")))
            if not files:
                attempt.error(f"path {pattern!r} matched no template")
            for path in files:
                shown = display(path, context.base_dir)
                try:
                    read_template(estate, path.read_text(encoding="utf-8"), shown, loader,
                                  options)
                except Exception as exc:  # one unreadable template is one named error
                    attempt.error(f"{shown}: cannot read template: {type(exc).__name__}: "
                                  f"{exc}", location=SourceLocation(path=shown))
                context.progress(system.name, len(estate.resources), len(attempt.errors))
        estate.build(aws.MAPPERS)
        return attempt


def read_template(estate: Estate, text: str, shown: str, loader_class: type,
                  options: CloudFormationOptions) -> None:
    """Add the resources of one template, each located at its logical id's line."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        body = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    if not isinstance(body, Mapping) or not isinstance(body.get("Resources"), Mapping):
        return  # a YAML file that is no template (a parameters file, say)
    lines = _resource_lines(node)
    template = Template(body, options.parameters, options.account_id)
    for logical_id, resource in body["Resources"].items():
        kind = resource.get("Type") if isinstance(resource, Mapping) else None
        if kind not in TYPES and kind != "AWS::CloudFront::Distribution":
            continue
        line, end = lines.get(logical_id, (None, None))
        location = SourceLocation(path=shown, line=line, end_line=end, address=logical_id)
        props = template.resolve(resource.get("Properties") or {})
        tf_type, props = _renamed(str(kind), props)
        estate.add(Planned(tf_type, logical_id, props, location))


def _renamed(kind: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if kind == "AWS::CloudFront::Distribution":
        config = props.get("DistributionConfig") or {}
        viewer = config.get("ViewerCertificate") if isinstance(config, Mapping) else None
        viewer = viewer if isinstance(viewer, Mapping | Unknown) else {}
        block: Any = viewer if isinstance(viewer, Unknown) else [{
            "cloudfront_default_certificate": viewer.get("CloudFrontDefaultCertificate",
                                                         not viewer),
            "minimum_protocol_version": viewer.get("MinimumProtocolVersion")}]
        return "aws_cloudfront_distribution", {"viewer_certificate": block}
    tf_type, names = TYPES[kind]
    renamed = {names[k]: v for k, v in props.items() if k in names}
    if kind == "AWS::KMS::Key" and props.get("Origin") == "EXTERNAL":
        tf_type = "aws_kms_external_key"
        renamed["enabled"] = renamed.pop("is_enabled", True)
    if isinstance(renamed.get("policy"), Mapping):
        unknown = first_unknown(renamed["policy"])
        renamed["policy"] = unknown or json.dumps(renamed["policy"])
    return tf_type, renamed


def _resource_lines(node: Any) -> dict[str, tuple[int, int]]:
    """Logical id -> (first line, last line) in the template."""
    for key, value in getattr(node, "value", ()):
        if getattr(key, "value", None) == "Resources":
            return {k.value: (k.start_mark.line + 1, max(v.end_mark.line, k.start_mark.line + 1))
                    for k, v in value.value}
    return {}
