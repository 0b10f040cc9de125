"""SSH endpoints: the key exchange and host key algorithms each server offers.

Each endpoint is read with :mod:`pytest_cryptoaudit.sshkex` (banner and KEXINIT, no
authentication, no key exchange) and becomes an
:class:`~pytest_cryptoaudit.model.EndpointRecord` with ``protocol = "ssh"``: the server's
software banner, its key exchange, host key, cipher and MAC lists, and ``pq_key_exchange``,
the method a current OpenSSH client would negotiate and the post-quantum hybrids the server
accepts, which the CEK-04 ``pq-key-exchange`` check judges as it judges a TLS group. An
endpoint that refuses, stays silent or does not speak SSH is a discovery error naming it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydantic

from ..budget import DeadlineOptions
from ..sshkex import ServerKexInit, SshProbeError, read_server_kexinit
from . import Discovery, DiscoveryContext, Provider, ProviderOptions
from .tls import parse_endpoint


class SshOptions(ProviderOptions, DeadlineOptions):
    """Options of a ``provider = "ssh"`` system."""

    endpoints: list[str] = pydantic.Field(min_length=1)
    timeout: float = pydantic.Field(5.0, gt=0)
    max_workers: int = pydantic.Field(8, ge=1)

    @pydantic.field_validator("endpoints")
    @classmethod
    def _check_endpoints(cls, endpoints: list[str]) -> list[str]:
        for endpoint in endpoints:
            parse_endpoint(endpoint)
        duplicates = sorted({e for e in endpoints if endpoints.count(e) > 1})
        if duplicates:
            raise ValueError(f"endpoint listed twice: {', '.join(duplicates)}")
        return endpoints


def endpoint_attributes(kexinit: ServerKexInit) -> dict[str, Any]:
    """What one endpoint's record carries: algorithm names, never key material."""
    lists = kexinit.lists
    return {"banner": kexinit.banner, "software": kexinit.software,
            "kex_algorithms": list(kexinit.kex_algorithms),
            "host_key_algorithms": list(kexinit.host_key_algorithms),
            "ciphers": list(lists["ciphers_server_to_client"]),
            "macs": list(lists["macs_server_to_client"]),
            "pq_key_exchange": kexinit.pq_key_exchange()}


class SshProvider(Provider):
    """Reads the KEXINIT of the SSH servers named by ``endpoints``."""

    name = "ssh"
    component = "ssh"
    Options = SshOptions

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: SshOptions = system.options
        attempt = self.new_discovery(system, endpoints=list(options.endpoints),
                                     timeout=options.timeout)
        workers = min(options.max_workers, len(options.endpoints))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            answers = list(pool.map(lambda e: _read(e, options.timeout), options.endpoints))
        for endpoint, answer in zip(options.endpoints, answers, strict=True):
            uid = f"ssh:{endpoint}"
            if isinstance(answer, str):
                attempt.error(f"endpoint {endpoint}: {answer}", key_uid=uid)
            else:
                attempt.add_endpoint(uid, endpoint, protocol="ssh",
                                     attributes=endpoint_attributes(answer))
            context.progress(attempt.system.name, 0, len(attempt.errors))
        return attempt


def _read(endpoint: str, timeout: float) -> ServerKexInit | str:
    """The server's KEXINIT, or why it could not be read."""
    host, port = parse_endpoint(endpoint)
    try:
        return read_server_kexinit(host, port, timeout)
    except SshProbeError as exc:
        return str(exc)
