"""Turn audit logs into ledger events: key-lifecycle and policy operations only.

- Vault/OpenBao file audit device (JSON lines): successful responses that write transit keys
  (create, config, rotate, trim, import, delete, restore), ACL policies (``sys/policy``,
  ``sys/policies/acl``), audit devices, mounts and barrier/unseal keys.
- AWS CloudTrail log files (``{"Records": [...]}``, ``.json`` or ``.json.gz``, in a folder
  tree or under an ``s3://bucket/prefix``): successful KMS key-lifecycle, policy, grant,
  alias and tag operations. Reads, encrypt/decrypt calls and failed calls are ignored.

Each event keeps the log's own id (``source_id``), so ingesting the same log twice adds
nothing. Nothing from a log's payload is kept but the operation, the path or key, the
caller's name and the time.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..model import EventKind
from .history import parse_time

CONFIG, POLICY = EventKind.CONFIG_CHANGE.value, EventKind.POLICY_CHANGE.value
VAULT_WRITES = {"create", "update", "delete", "patch"}
VAULT_SYS = (("sys/policy/", POLICY, "ACL policy"), ("sys/policies/acl/", POLICY, "ACL policy"),
             ("sys/audit/", CONFIG, "audit device"), ("sys/mounts/", CONFIG, "mount"),
             ("sys/rotate", CONFIG, "barrier key rotation"), ("sys/rekey", CONFIG, "unseal rekey"))
KMS_POLICY = {"PutKeyPolicy", "CreateGrant", "RevokeGrant", "RetireGrant"}
KMS_CONFIG = {
    "CreateKey", "DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
    "DeleteKey", "ImportKeyMaterial", "DeleteImportedKeyMaterial", "EnableKeyRotation",
    "DisableKeyRotation", "RotateKeyOnDemand", "ReplicateKey", "UpdatePrimaryRegion",
    "UpdateKeyDescription", "CreateAlias", "UpdateAlias", "DeleteAlias", "TagResource",
    "UntagResource",
}
TRANSIT_ACTIONS = {"config": "reconfigured", "rotate": "rotated", "trim": "trimmed",
                   "import": "imported", "import_version": "given an imported version",
                   "soft-delete": "soft-deleted", "soft-delete-restore": "undeleted"}


class IngestError(ValueError):
    """A log that cannot be read; the message names the file and line."""


def _event(system: str, kind: str, at: str, note: str, source: str, source_id: str,
           key: str | None = None) -> dict[str, Any]:
    try:
        when = parse_time(at).isoformat()
    except ValueError:
        raise IngestError(f"{source_id}: unreadable time {at!r}") from None
    return {"system": system, "kind": kind, "at": when, "note": note, "key": key,
            "versions": [], "source": source, "source_id": source_id}


# -- Vault / OpenBao ------------------------------------------------------------------------

def _vault_operation(request: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, description) of a request that changes keys or policy, else None."""
    path, operation = request.get("path", ""), request.get("operation")
    if operation not in VAULT_WRITES:
        return None
    if request.get("mount_type") == "transit":
        relative = path[len(request.get("mount_point", "")):]
        if relative.startswith(("keys/", "restore")):
            parts = relative.split("/")
            action = TRANSIT_ACTIONS.get(parts[2], parts[2]) if len(parts) > 2 else (
                "deleted" if operation == "delete" else "written")
            return CONFIG, f"transit key {parts[1] if len(parts) > 1 else ''} {action}".strip()
        return None
    for prefix, kind, what in VAULT_SYS:
        if path.startswith(prefix):
            verb = "removed" if operation == "delete" else "written"
            return kind, f"{what} {path.removeprefix(prefix) or path} {verb}".replace("  ", " ")
    return None


def vault_events(lines: Iterable[str], system: str, origin: str = "log") -> list[dict[str, Any]]:
    """Events from the lines of a Vault/OpenBao file audit device log."""
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise IngestError(f"{origin}:{number}: not a JSON audit entry: {exc}") from None
        if entry.get("type") != "response" or entry.get("error"):
            continue
        request = entry.get("request") or {}
        found = _vault_operation(request)
        if found:
            who = (entry.get("auth") or {}).get("display_name", "unknown")
            events.append(_event(system, found[0], entry["time"], f"{found[1]} by {who}",
                                 "vault-audit-log", f"vault:{request.get('id')}"))
    return events


# -- AWS CloudTrail ------------------------------------------------------------------------

def _kms_key(record: Mapping[str, Any]) -> str | None:
    for resource in record.get("resources") or ():
        if resource.get("type") == "AWS::KMS::Key" and resource.get("ARN"):
            return str(resource["ARN"])
    metadata = (record.get("responseElements") or {}).get("keyMetadata") or {}
    return metadata.get("arn") or (record.get("requestParameters") or {}).get("keyId")


def cloudtrail_events(records: Iterable[Mapping[str, Any]], system: str) -> list[dict[str, Any]]:
    """Events from CloudTrail records: successful KMS lifecycle and policy calls."""
    events = []
    for record in records:
        name = record.get("eventName", "")
        if record.get("eventSource") != "kms.amazonaws.com" or record.get("errorCode"):
            continue
        kind = POLICY if name in KMS_POLICY else CONFIG if name in KMS_CONFIG else None
        if kind is None:
            continue
        who = (record.get("userIdentity") or {}).get("arn", "unknown")
        key = _kms_key(record)
        events.append(_event(system, kind, record["eventTime"],
                             f"{name} on {key or 'a key'} by {who}", "cloudtrail",
                             f"cloudtrail:{record.get('eventID')}", key))
    return events


def _records_of(text: str, origin: str) -> list[Mapping[str, Any]]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise IngestError(f"{origin}: not a CloudTrail log file: {exc}") from None
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        raise IngestError(f"{origin}: not a CloudTrail log file (no Records array)")
    return records


def _decode(data: bytes, name: str) -> str:
    return (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8")


def cloudtrail_files(folder: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every ``.json``/``.json.gz`` file under ``folder``, sorted."""
    if not folder.is_dir():
        raise IngestError(f"{folder}: not a folder")
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name.endswith((".json", ".json.gz")):
            yield str(path), path.read_bytes()


def cloudtrail_s3(url: str) -> Iterator[tuple[str, bytes]]:
    """(key, bytes) of every log file under ``s3://bucket/prefix`` (needs boto3)."""
    import boto3

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    client = boto3.client("s3")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            if item["Key"].endswith((".json", ".json.gz")):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                yield f"s3://{bucket}/{item['Key']}", body


def read_cloudtrail(location: str, system: str) -> list[dict[str, Any]]:
    """Events from a folder (or ``s3://`` prefix) of CloudTrail log files."""
    files = cloudtrail_s3(location) if location.startswith("s3://") else \
        cloudtrail_files(Path(location))
    events = []
    for name, data in files:
        try:
            text = _decode(data, name)
        except (OSError, UnicodeDecodeError) as exc:
            raise IngestError(f"{name}: cannot read: {exc}") from None
        events.extend(cloudtrail_events(_records_of(text, name), system))
    return events


def read_vault_log(path: Path, system: str) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as lines:
            return vault_events(lines, system, str(path))
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror or exc}") from None
