"""SSH endpoints: the key exchange and host key algorithms each server offers.

Each endpoint is read with :mod:`pytest_cryptoaudit.sshkex` (banner and KEXINIT, no
authentication, no key exchange) and becomes an
:class:`~pytest_cryptoaudit.model.EndpointRecord` with ``protocol = "ssh"``: the server's
software banner, its key exchange, host key, cipher and MAC lists, and ``pq_key_exchange``,
the method a current OpenSSH client would negotiate and the post-quantum hybrids the server
accepts, which the CEK-04 ``pq-key-exchange`` check judges as it judges a TLS group. Each
host key (see :mod:`pytest_cryptoaudit.sshhostkeys`) becomes a public-key record
``ssh:HOST:PORT#ALGORITHM`` that the key controls (strength, post-quantum readiness) judge.
An endpoint that refuses, stays silent or does not speak SSH is a discovery error naming
it, and so is a host key that cannot be read.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydantic

from ..budget import DeadlineOptions
from ..sshhostkeys import host_key_algorithms_to_ask, read_host_key
from ..sshkex import ServerKexInit, SshProbeError, read_server_kexinit
from . import Discovery, DiscoveryContext, Provider, ProviderOptions
from .tls import parse_endpoint


class SshOptions(ProviderOptions, DeadlineOptions):
    """Options of a ``provider = "ssh"`` system."""

    endpoints: list[str] = pydantic.Field(min_length=1)
    timeout: float = pydantic.Field(5.0, gt=0)
    max_workers: int = pydantic.Field(8, ge=1)
    #: Read each host key (one connection per host key algorithm) into the key inventory.
    host_keys: bool = True

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
            answers = list(pool.map(lambda e: _read(e, options), options.endpoints))
        for endpoint, answer in zip(options.endpoints, answers, strict=True):
            _record(attempt, endpoint, answer)
            context.progress(attempt.system.name, len(attempt.keys), len(attempt.errors))
        return attempt


@dataclasses.dataclass
class _Answer:
    """What one endpoint gave: its KEXINIT (or why not) and each host key (or why not)."""

    kexinit: ServerKexInit | None = None
    failure: str = ""
    host_keys: dict[str, dict[str, Any] | str] = dataclasses.field(default_factory=dict)


def _read(endpoint: str, options: SshOptions) -> _Answer:
    host, port = parse_endpoint(endpoint)
    try:
        answer = _Answer(read_server_kexinit(host, port, options.timeout))
    except SshProbeError as exc:
        return _Answer(failure=str(exc))
    if options.host_keys and answer.kexinit is not None:
        for algorithm in host_key_algorithms_to_ask(answer.kexinit.host_key_algorithms):
            try:
                answer.host_keys[algorithm] = read_host_key(host, port, algorithm,
                                                            options.timeout)
            except SshProbeError as exc:
                answer.host_keys[algorithm] = str(exc)
    return answer


def _record(attempt: Discovery, endpoint: str, answer: _Answer) -> None:
    uid = f"ssh:{endpoint}"
    if answer.kexinit is None:
        attempt.error(f"endpoint {endpoint}: {answer.failure}", key_uid=uid)
        return
    attempt.add_endpoint(uid, endpoint, protocol="ssh",
                         attributes=endpoint_attributes(answer.kexinit))
    for algorithm, found in answer.host_keys.items():
        key_uid = f"{uid}#{algorithm}"
        if isinstance(found, str):
            attempt.error(f"endpoint {endpoint}: host key {algorithm}: {found}",
                          key_uid=key_uid)
            continue
        attributes = {**found.pop("attributes"), "endpoint": uid,
                      "host_key_algorithm": algorithm}
        attempt.add_key(key_uid, "public-key", usage=("sign", "verify"),
                        attributes=attributes, **found)
