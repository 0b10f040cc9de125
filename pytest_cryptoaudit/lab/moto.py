"""A local AWS API (moto's HTTP server) for the KMS lab, the tests and the benchmark.

The server runs in this process (``ThreadedMotoServer``) on a free loopback port, so the
lab can also plant facts that moto's API cannot produce (dates in the past, states and
fields of imported or external keys); clients still reach it over HTTP like real AWS.

Two lab patches make moto closer to AWS and are applied when a server starts:

* moto accepts but forgets ``RotationPeriodInDays``; the lab keeps it and reports it
  from GetKeyRotationStatus, as AWS does (default 365).
* moto has no custom key stores: the lab answers DescribeCustomKeyStores with the stores
  planted by :func:`plant_store` for the caller's account and region.
* ``fast_keys``: moto generates an RSA key for every CreateKey (~50 ms, even for symmetric
  keys); the lab can reuse one generated key per key spec, which changes no metadata.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from .processes import LOOPBACK, ServiceError, http_ok, wait_until

ACCOUNT = "123456789012"
CREDENTIALS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep the host's AWS configuration (profiles, endpoints) out of the lab.
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
#: Variables that would send lab calls elsewhere (the last one silently to real AWS).
UNSET_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS",
             "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
_patched: set[str] = set()
_key_cache: dict[str, Any] = {}
#: (account, region) -> custom key store id -> its DescribeCustomKeyStores entry.
_stores: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


class MotoServer:
    """moto's HTTP server on ``127.0.0.1`` (a free port unless given); a context manager."""

    def __init__(self, *, fast_keys: bool = False, port: int = 0) -> None:
        self.fast_keys = fast_keys
        self.port = port
        self._server: Any = None
        self.url = ""

    def start(self) -> MotoServer:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request
        apply_lab_patches(fast_keys=self.fast_keys)
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        wait_until(http_ok(f"{self.url}/moto-api/data.json"), "moto server", timeout=20)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Wipe every account and region (``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 200:
                raise ServiceError(f"moto reset answered {response.status}")

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def environment() -> Iterator[tuple[str, str | None]]:
    """(name, value) pairs for a lab process; a value of None means "unset it"."""
    yield from CREDENTIALS_ENV.items()
    for name in UNSET_ENV:
        yield name, None


def apply_lab_patches(*, fast_keys: bool = False) -> None:
    """Install the lab patches (idempotent); see the module docstring."""
    if "rotation_period" not in _patched:
        _patch_rotation_period()
        _patch_metadata_overlay()
        _patch_custom_key_stores()
        _patched.add("rotation_period")
    if fast_keys and "fast_keys" not in _patched:
        import moto.kms.models as models

        # moto imports the function into its models module without re-exporting it.
        generate = models.generate_private_key  # type: ignore[attr-defined]

        def cached(key_spec: str) -> Any:
            if key_spec not in _key_cache:
                _key_cache[key_spec] = generate(key_spec)
            return _key_cache[key_spec]

        models.generate_private_key = cached  # type: ignore[attr-defined]
        _patched.add("fast_keys")


def _key_of(response: Any) -> Any:
    backend = response.kms_backend
    return backend.keys[backend.get_key_id(response._get_param("KeyId"))]


def _patch_rotation_period() -> None:
    from moto.kms.responses import KmsResponse

    enable, status = KmsResponse.enable_key_rotation, KmsResponse.get_key_rotation_status

    def enable_key_rotation(self: Any) -> str:
        result = enable(self)
        _key_of(self).lab_rotation_period = self._get_param("RotationPeriodInDays") or 365
        return str(result)

    def get_key_rotation_status(self: Any) -> str:
        answer = json.loads(status(self))
        if answer.get("KeyRotationEnabled"):
            answer["RotationPeriodInDays"] = getattr(_key_of(self), "lab_rotation_period", 365)
        return json.dumps(answer)

    KmsResponse.enable_key_rotation = enable_key_rotation  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = get_key_rotation_status  # type: ignore[method-assign]


def _patch_metadata_overlay() -> None:
    """Let :func:`plant` add DescribeKey fields that moto never reports (ValidTo...)."""
    from moto.kms.models import Key

    to_dict = Key.to_dict

    def with_overlay(self: Any) -> dict[str, Any]:
        answer: dict[str, Any] = to_dict(self)
        answer["KeyMetadata"].update(getattr(self, "lab_metadata", {}))
        return answer

    Key.to_dict = with_overlay  # type: ignore[method-assign]


def _patch_custom_key_stores() -> None:
    from moto.kms.responses import KmsResponse

    def describe_custom_key_stores(self: Any) -> str:
        planted = _stores.get((self.current_account, self.region), {})
        stores = [{"CustomKeyStoreId": store_id, **store}
                  for store_id, store in sorted(planted.items())]
        return json.dumps({"CustomKeyStores": stores, "Truncated": False})

    KmsResponse.describe_custom_key_stores = describe_custom_key_stores  # type: ignore[attr-defined]


def plant_store(account: str, region: str, store_id: str, store: Mapping[str, Any]) -> None:
    """A custom key store as DescribeCustomKeyStores lists it (``ConnectionState``,
    ``CustomKeyStoreType``, ``CustomKeyStoreName``, ``ConnectionErrorCode``...)."""
    _stores.setdefault((account, region), {})[store_id] = dict(store)


def _timestamp(value: datetime) -> float:
    return value.astimezone(UTC).timestamp()


def plant(arn: str, *, created: datetime | None = None,
          rotations: tuple[datetime, ...] = (), key_state: str | None = None,
          origin: str | None = None, key_manager: str | None = None,
          metadata: Mapping[str, Any] | None = None) -> None:
    """Change a key in the in-process backend: facts that moto's API cannot set.

    ``metadata`` adds DescribeKey fields as AWS spells them (``ValidTo`` as a datetime,
    ``ExpirationModel``, ``CustomKeyStoreId``, ``XksKeyConfiguration``...).
    """
    from moto.kms.models import kms_backends

    _, _, _, region, account, resource = arn.split(":", 5)
    key = kms_backends[account][region].keys[resource.split("/", 1)[1]]
    if created is not None:
        key.creation_date = _timestamp(created)
    if rotations:
        key.rotations = [{"KeyId": key.id, "RotationDate": _timestamp(when),
                          "RotationType": "AUTOMATIC"} for when in rotations]
    for name, value in (("key_state", key_state), ("origin", origin),
                        ("key_manager", key_manager)):
        if value is not None:
            setattr(key, name, value)
    if metadata:
        overlay = {name: _timestamp(v) if isinstance(v, datetime) else v
                   for name, v in metadata.items()}
        key.lab_metadata = overlay  # type: ignore[attr-defined]
