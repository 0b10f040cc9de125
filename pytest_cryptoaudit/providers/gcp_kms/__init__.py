"""Google Cloud KMS: key rings, crypto keys, versions and IAM policies across projects and
locations, through the official ``google-cloud-kms`` SDK over its REST transport.

Nothing here imports the SDK at module import; the provider loads it when a system runs.
"""

from __future__ import annotations

from .options import GcpKmsOptions
from .provider import GcpKmsProvider

__all__ = ["GcpKmsOptions", "GcpKmsProvider"]
