"""Reading infrastructure code, against the bare parsers on the same files in the same run.

Generates a Terraform tree of ``--resources`` resources (a root module calling local modules,
with variables, locals, ``count``, ``for_each`` and ``jsonencode`` policies) and a manifest
set of ``--documents`` Kubernetes documents (multi-document files: cert-manager
Certificates, an EncryptionConfiguration, Deployments, ConfigMaps, Services), then times:

1. python-hcl2 parsing every ``.tf`` file alone (``hcl2.loads``), and the ``terraform``
   provider's discovery of the tree (parsing, evaluation, records);
2. PyYAML parsing every manifest alone (the same loader the provider uses), and the
   ``kubernetes`` provider's discovery of the set.

Prints each as the median of ``--rounds`` and the ratio provider / bare parser (target:
at most 1.5).

Usage: ``python benchmarks/iac_parse.py [--resources 500] [--documents 1000] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pytest_cryptoaudit.config import SystemConfig
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.providers import DiscoveryContext
from pytest_cryptoaudit.providers.iac.files import yaml_loader
from pytest_cryptoaudit.providers.iac.kubernetes import KubernetesOptions, KubernetesProvider
from pytest_cryptoaudit.providers.iac.terraform import TerraformOptions, TerraformProvider

MODULES = 5
PER_FILE = 25
DOCS_PER_FILE = 50

KEY = '''
resource "aws_kms_key" "k{index}" {{
  description             = "key {index} ${{var.environment}}"
  enable_key_rotation     = {rotate}
  rotation_period_in_days = local.period
  deletion_window_in_days = 30
  tags                    = merge(local.tags, {{ index = "{index}" }})
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Sid       = "Admins"
      Effect    = "Allow"
      Principal = {{ AWS = "arn:aws:iam::${{var.account}}:role/admin-{index}" }}
      Action    = ["kms:*"]
      Resource  = "*"
    }}]
  }})
}}
'''
LISTENER = '''
resource "aws_lb_listener" "l{index}" {{
  count             = 1
  load_balancer_arn = "arn:aws:elasticloadbalancing:eu-west-1:1111:loadbalancer/app/a/{index}"
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
  default_action {{
    type = "forward"
    target_group_arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/t/{index}"
  }}
}}
'''
MODULE_HEADER = '''
variable "environment" {
  type = string
}
variable "account" {
  type    = string
  default = "111122223333"
}
locals {
  period = 90
  tags   = { environment = var.environment, owner = "platform" }
}
'''


def terraform_tree(root: Path, resources: int) -> int:
    """A root module calling ``MODULES`` local modules; returns the resources written."""
    per_module = resources // MODULES
    calls = []
    written = 0
    for module in range(MODULES):
        folder = root / "modules" / f"m{module}"
        folder.mkdir(parents=True)
        (folder / "variables.tf").write_text(MODULE_HEADER)
        for start in range(0, per_module, PER_FILE):
            blocks = []
            for index in range(start, min(start + PER_FILE, per_module)):
                template = LISTENER if index % 5 == 4 else KEY
                blocks.append(template.format(index=index, rotate="true" if index % 7
                                              else "false"))
                written += 1
            (folder / f"r{start:04d}.tf").write_text("".join(blocks))
        calls.append(f'module "m{module}" {{\n  source      = "./modules/m{module}"\n'
                     f'  environment = var.environment\n}}\n')
    (root / "main.tf").write_text('variable "environment" {\n  default = "prod"\n}\n'
                                  + "".join(calls))
    return written


def manifest(index: int) -> str:
    kind = index % 5
    if kind == 0:
        return (f"apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n"
                f"  name: c{index}\n  namespace: apps\nspec:\n  secretName: c{index}-tls\n"
                f"  duration: 2160h\n  renewBefore: 720h\n  dnsNames: [c{index}.example.test]\n"
                f"  privateKey: {{algorithm: ECDSA, size: 256, rotationPolicy: Always}}\n"
                f"  issuerRef: {{name: ca, kind: ClusterIssuer}}\n")
    if kind == 1:
        return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{index}\n"
                f"  labels: {{app: d{index}}}\nspec:\n  replicas: 2\n  selector:\n"
                f"    matchLabels: {{app: d{index}}}\n  template:\n    metadata:\n"
                f"      labels: {{app: d{index}}}\n    spec:\n      containers:\n"
                f"        - name: app\n          image: registry.example.test/app:{index}\n"
                f"          ports: [{{containerPort: 8443}}]\n"
                f"          env:\n            - {{name: MODE, value: prod}}\n")
    if kind == 2:
        return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{index}\ndata:\n"
                + "".join(f"  key{n}: value-{index}-{n}\n" for n in range(8)))
    if kind == 3:
        return (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: s{index}\nspec:\n"
                f"  selector: {{app: d{index}}}\n  ports:\n    - {{port: 443, targetPort: 8443}}\n")
    return ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
            "resources:\n  - resources: [secrets]\n    providers:\n"
            "      - kms: {apiVersion: v2, name: kms, endpoint: unix:///kms.sock}\n"
            "      - identity: {}\n")


def manifest_set(root: Path, documents: int) -> None:
    for start in range(0, documents, DOCS_PER_FILE):
        text = "---\n".join(manifest(i) for i in range(start, min(start + DOCS_PER_FILE,
                                                                   documents)))
        (root / f"rendered-{start:04d}.yaml").write_text(text)


def context(base: Path) -> DiscoveryContext:
    return DiscoveryContext(policy=Policy(list(BUILTIN_SETTINGS), {}), now=datetime.now(UTC),
                            base_dir=base)


def timed(bare: Callable[[], object], provider: Callable[[], object],
          rounds: int) -> tuple[float, float]:
    """Medians of both, measured in alternation so that the load of a shared machine
    weighs on each alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for function, found in ((bare, samples[0]), (provider, samples[1])):
            begun = time.perf_counter()
            function()
            found.append(time.perf_counter() - begun)
    return statistics.median(samples[0]), statistics.median(samples[1])


def bench_terraform(base: Path, resources: int, rounds: int) -> tuple[float, float]:
    import hcl2

    root = base / "tf"
    written = terraform_tree(root, resources)
    files = sorted(root.rglob("*.tf"))
    options = TerraformOptions(paths=["tf"])
    system = SystemConfig("bench", "terraform", "high", "CSC", options)  # type: ignore[arg-type]

    def provider() -> None:
        attempt = TerraformProvider().discover(system, context(base))
        assert len(attempt.keys) + len(attempt.endpoints) == written, attempt.errors[:3]
        assert not attempt.errors, attempt.errors[:3]

    return timed(lambda: [hcl2.loads(f.read_text()) for f in files], provider, rounds)


def bench_kubernetes(base: Path, documents: int, rounds: int) -> tuple[float, float]:
    import yaml

    root = base / "k8s"
    root.mkdir()
    manifest_set(root, documents)
    files = sorted(root.glob("*.yaml"))
    loader = yaml_loader()
    options = KubernetesOptions(paths=["k8s"])
    system = SystemConfig("bench", "kubernetes", "high", "CSC", options)  # type: ignore[arg-type]

    def provider() -> None:
        attempt = KubernetesProvider().discover(system, context(base))
        assert not attempt.errors, attempt.errors[:3]
        assert len(attempt.keys) == documents // 5 * 2

    return timed(lambda: [list(yaml.load_all(f.read_text(), Loader=loader)) for f in files],
                 provider, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        bare_tf, provider_tf = bench_terraform(base, args.resources, args.rounds)
        bare_k8s, provider_k8s = bench_kubernetes(base, args.documents, args.rounds)
    print(f"terraform, {args.resources} resources: python-hcl2 alone {bare_tf:.3f} s, "
          f"provider {provider_tf:.3f} s, ratio {provider_tf / bare_tf:.2f} (target <= 1.5)")
    print(f"kubernetes, {args.documents} documents: PyYAML alone {bare_k8s:.3f} s, "
          f"provider {provider_k8s:.3f} s, ratio {provider_k8s / bare_k8s:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
