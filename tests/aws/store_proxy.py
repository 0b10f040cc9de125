"""A loopback proxy in front of moto that models custom key stores, which moto cannot.

AWS KMS keys in an AWS CloudHSM or external (XKS) key store carry ``Origin`` and
``CustomKeyStoreId`` in DescribeKey, and the stores themselves are listed by
DescribeCustomKeyStores (ConnectionState, CustomKeyStoreType, ConnectionErrorCode); moto has
neither. The keys are created in moto as ordinary keys, so every other call about them is
moto's own answer, and the proxy changes only what moto cannot model: the DescribeKey answers
of the key ids placed in a store (as AWS answers them: a key whose store is not connected is
``Unavailable``), and DescribeCustomKeyStores, answered from :attr:`stores` (or refused with
:attr:`refuse_stores`, an AWS error code).
"""

from __future__ import annotations

import json
from typing import Any

from tests.aws.pq_proxy import MlDsaProxy

ORIGINS = {"AWS_CLOUDHSM": "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE": "EXTERNAL_KEY_STORE"}


class KeyStoreProxy(MlDsaProxy):
    """Forwards to moto; answers DescribeCustomKeyStores and rewrites DescribeKey for the
    keys of :attr:`placed` (key id -> store id)."""

    def __init__(self, upstream: str) -> None:
        self.stores: dict[str, dict[str, Any]] = {}
        self.placed: dict[str, str] = {}
        self.refuse_stores: str | None = None
        self.store_calls = 0
        super().__init__(upstream)

    def forward(self, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
        if target.endswith(".DescribeCustomKeyStores"):
            return self.describe_stores()
        status, answer_headers, answer = super().forward(path, headers, body)
        if target.endswith(".DescribeKey") and status == 200:
            answer = self.place(answer)
        return status, answer_headers, answer

    def describe_stores(self) -> tuple[int, dict[str, str], bytes]:
        self.store_calls += 1
        kind = {"Content-Type": "application/x-amz-json-1.1"}
        if self.refuse_stores is not None:
            error = {"__type": self.refuse_stores, "message": "refused by the test"}
            return 400, kind, json.dumps(error).encode()
        stores = [{"CustomKeyStoreId": store_id, **store}
                  for store_id, store in sorted(self.stores.items())]
        return 200, kind, json.dumps({"CustomKeyStores": stores, "Truncated": False}).encode()

    def place(self, answer: bytes) -> bytes:
        document = json.loads(answer or b"{}")
        metadata = document.get("KeyMetadata") or {}
        store_id = self.placed.get(metadata.get("KeyId", ""))
        if store_id is None:
            return answer
        store = self.stores.get(store_id, {"CustomKeyStoreType": "EXTERNAL_KEY_STORE"})
        kind = store.get("CustomKeyStoreType") or "AWS_CLOUDHSM"
        metadata.update(Origin=ORIGINS[kind], CustomKeyStoreId=store_id)
        if kind == "EXTERNAL_KEY_STORE":
            metadata["XksKeyConfiguration"] = {"Id": f"xks-key-{metadata['KeyId'][:8]}"}
        else:
            metadata["CloudHsmClusterId"] = store.get("CloudHsmClusterId", "cluster-1234567")
        if store.get("ConnectionState") != "CONNECTED":
            metadata.update(KeyState="Unavailable", Enabled=False)
        return json.dumps(document).encode()
