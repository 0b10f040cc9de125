"""AWS KMS: keys across accounts and regions, with rotation, policies, grants and trails.

Nothing here imports boto3 at module import; the provider loads it when a system runs.
"""

from __future__ import annotations

from .options import AwsKmsOptions
from .provider import AwsKmsProvider

__all__ = ["AwsKmsOptions", "AwsKmsProvider"]
