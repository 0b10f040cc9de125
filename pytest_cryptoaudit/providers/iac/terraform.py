"""The ``terraform`` provider: keys, certificates and TLS endpoints a Terraform/OpenTofu
change declares, read statically (python-hcl2) and, where given, from its plan JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pydantic

from .. import Discovery, DiscoveryContext, Provider, ProviderOptions
from . import aws, clouds
from .planned import Estate, Planned
from .tfcode import CodeError, TerraformReader, parse_tfvars
from .tfplan import PlanError, merge_plan, read_plan

NonEmpty = Annotated[str, pydantic.Field(min_length=1)]
MAPPERS = {**aws.MAPPERS, **clouds.MAPPERS}


class IacOptions(ProviderOptions):
    """Options shared by the infrastructure-code providers."""

    #: Folders (Terraform root modules) or files and folders (templates, manifests).
    paths: Annotated[list[NonEmpty], pydantic.Field(min_length=1)]
    #: The account (AWS account id, GCP project, Azure tenant) the code deploys to.
    account_id: str | None = None
    #: Other accounts, projects or domains whose principals may be granted access.
    trusted_accounts: list[str] = []


class TerraformOptions(IacOptions):
    """Options of ``provider = "terraform"`` (see docs/terraform.md)."""

    #: ``-var-file`` files, relative to the configuration's folder, applied in order.
    var_files: list[NonEmpty] = []
    #: ``-var`` values, over every file.
    variables: dict[str, Any] = {}
    #: ``terraform show -json PLAN`` output: its values are authoritative.
    plan_json: str | None = None


class TerraformProvider(Provider):
    """Audits Terraform/OpenTofu code before it is applied."""

    name = "terraform"
    component = "iac"
    Options = TerraformOptions

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: TerraformOptions = system.options
        attempt = self.new_discovery(system, paths=list(options.paths),
                                     plan_json=options.plan_json)
        estate = Estate(attempt, context, "terraform", options.trusted_accounts,
                        options.account_id)
        reader = TerraformReader(context.base_dir)
        for path in options.paths:
            folder = context.base_dir / path
            try:
                reader.read(folder, self._variables(folder, options, context.base_dir))
            except (CodeError, OSError, ValueError, RecursionError) as exc:
                attempt.error(f"{path}: {exc}", location=getattr(exc, "location", None))
            context.progress(system.name, len(reader.resources), len(attempt.errors))
        for error in reader.errors:
            if not (error.planned and options.plan_json):
                _report(attempt, error)
        resources = self._with_plan(reader.resources, options, context, attempt)
        for resource in resources:
            estate.add(resource)
        estate.build(MAPPERS)
        return attempt

    @staticmethod
    def _variables(folder: Path, options: TerraformOptions, base: Path) -> dict[str, Any]:
        files = [folder / "terraform.tfvars", *sorted(folder.glob("*.auto.tfvars")),
                 *(base / name for name in options.var_files)]
        values: dict[str, Any] = {}
        for file in files:
            if file.is_file() or file.parent != folder:
                values.update(parse_tfvars(file))
        values.update(options.variables)
        return values

    @staticmethod
    def _with_plan(resources: list[Planned], options: TerraformOptions,
                   context: DiscoveryContext, attempt: Discovery) -> list[Planned]:
        if options.plan_json is None:
            return resources
        try:
            changes = read_plan(context.base_dir / options.plan_json)
        except PlanError as exc:
            attempt.error(f"{options.plan_json}: {exc}")
            return resources
        return merge_plan(resources, changes, Path(options.plan_json).as_posix())


def _report(attempt: Discovery, error: CodeError) -> None:
    location = error.location
    uid = None
    if location is not None and error.address:
        uid = f"terraform:{location.path}:{location.line}:{error.address}"
    where = f"{error.address}: " if error.address else ""
    attempt.error(f"{where}{error}", key_uid=uid, location=location)
