"""The infrastructure-code part of the lab: Terraform, CloudFormation and Kubernetes code
with planted weaknesses beside clean resources.

The code is shipped as files (``iac/``); the TLS Secrets are generated here, since their
certificates must be current, and the Terraform plan JSON follows the documented format of
``terraform show -json`` (no Terraform CLI is needed).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from .keygen import NOW, ca_and_leaf, cert_pem, certificate, private_pem, rsa_key, write

SOURCE = Path(__file__).parent / "iac"


def seed_iac(root: Path, risk_tier: str = "high") -> list[dict[str, Any]]:
    """Copy the lab's code into ``root`` and return the systems that audit it; paths are
    relative to ``root``'s parent (where the configuration is written)."""
    shutil.copytree(SOURCE, root, dirs_exist_ok=True)
    _tls_secrets(root / "kubernetes" / "secrets.yaml")
    _plan(root / "terraform-plan" / "plan.json")
    prefix = root.name
    common = {"risk_tier": risk_tier, "ssrm_owner": "CSC", "account_id": "111122223333",
              "accountable_owner": "Platform Engineering"}
    return [
        {"name": "iac-terraform", "provider": "terraform", "paths": [f"{prefix}/terraform"],
         "trusted_accounts": ["payments-prod"], **common},
        {"name": "iac-terraform-plan", "provider": "terraform",
         "paths": [f"{prefix}/terraform-plan"],
         "plan_json": f"{prefix}/terraform-plan/plan.json", **common},
        {"name": "iac-cloudformation", "provider": "cloudformation",
         "paths": [f"{prefix}/cloudformation"], **common},
        {"name": "iac-kubernetes", "provider": "kubernetes",
         "paths": [f"{prefix}/kubernetes"], **common},
    ]


def _secret(name: str, chain: bytes, key: bytes) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": "payments"},
            "data": {"tls.crt": base64.b64encode(chain).decode(),
                     "tls.key": base64.b64encode(key).decode()}}


def _tls_secrets(path: Path) -> None:
    """A clean TLS Secret and one whose certificate expired (RSA keys, never encrypted: the
    Secret holds them in clear, as Kubernetes does)."""
    _ca_key, ca, leaf_key, leaf = ca_and_leaf("web.payments.example.test")
    old_key = rsa_key(2048)
    expired = certificate(old_key, subject="old.payments.example.test", days_valid=30,
                          not_before=NOW - dt.timedelta(days=400),
                          san=["old.payments.example.test"])
    documents = [_secret("web-tls", cert_pem(leaf, ca), private_pem(leaf_key)),
                 _secret("old-tls", cert_pem(expired), private_pem(old_key))]
    text = "---\n".join(json.dumps(d, indent=2) + "\n" for d in documents)
    write(path, ("# Rendered by the lab: TLS Secrets.\n" + text).encode())


def _plan(path: Path) -> None:
    """The plan of ``terraform-plan/main.tf``: one key created, one updated to stop rotating,
    one destroyed, and one from a registry module the code does not show."""
    rotating = {"enable_key_rotation": True, "rotation_period_in_days": 90,
                "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT",
                "is_enabled": True, "multi_region": False, "deletion_window_in_days": 30,
                "description": "orders", "policy": None, "custom_key_store_id": None}
    changes = [
        _change("aws_kms_key.orders", ["create"], None, rotating,
                {"arn": True, "key_id": True, "id": True, "policy": True}),
        _change("aws_kms_key.batch", ["update"], {**rotating, "description": "batch"},
                {**rotating, "description": "batch", "enable_key_rotation": False,
                 "rotation_period_in_days": None}, {}),
        _change("aws_kms_key.retired", ["delete"], {**rotating, "description": "retired"},
                None, {}),
        _change("module.vendor.aws_kms_key.this[0]", ["create"], None,
                {**rotating, "description": "vendor", "enable_key_rotation": False,
                 "rotation_period_in_days": None}, {"arn": True, "key_id": True}),
    ]
    plan = {"format_version": "1.2", "terraform_version": "1.9.8",
            "planned_values": {"root_module": {}}, "resource_changes": changes,
            "configuration": {"root_module": {}}}
    path.write_text(json.dumps(plan, indent=2) + "\n")


def _change(address: str, actions: list[str], before: dict[str, Any] | None,
            after: dict[str, Any] | None, unknown: dict[str, Any]) -> dict[str, Any]:
    module, _, local = address.rpartition(".aws_kms_key.")
    name = local.split("[")[0] if module else address.split(".")[1]
    change: dict[str, Any] = {
        "address": address, "mode": "managed", "type": "aws_kms_key", "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": actions, "before": before, "after": after,
                   "after_unknown": unknown, "before_sensitive": {}, "after_sensitive": {}}}
    if module:
        change["module_address"] = module
        change["index"] = 0
    return change
