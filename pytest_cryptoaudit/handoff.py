"""The inventory handed to xdist workers that started before discovery finished.

The controller starts its workers while the providers are still waiting on their servers,
so a worker's interpreter start and imports overlap discovery. A worker cannot wait for its
``workerinput``, which xdist sends at once; it gets the name of a file instead, which the
controller writes once the inventory is ready (the ``workerinput`` entries of the plugin's
own ``pytest_configure_node`` hooks, as JSON, renamed into place whole). The worker waits
for that file before the plugin configures itself, and gives up if the controller is gone.
The folder is private to the user and removed at the end of the run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

#: The ``workerinput`` entry naming the handoff file.
HANDOFF_KEY = "cryptoaudit_handoff"
POLL_SECONDS = 0.02


class _Node:
    """What a plugin's ``pytest_configure_node`` writes to: a ``workerinput``."""

    def __init__(self) -> None:
        self.workerinput: dict[str, Any] = {}


class Handoff:
    """On the controller: one file that every worker of the run reads."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cryptoaudit-handoff-"))
        self.path = self.folder / "workerinput.json"
        self.written = False

    def write(self, config: Any) -> None:
        """Run the plugin's own ``pytest_configure_node`` hooks (discovery has finished)
        and write what they give a worker. Other plugins' hooks ran for the real nodes."""
        node = _Node()
        for impl in config.hook.pytest_configure_node.get_hookimpls():
            if type(impl.plugin).__module__.startswith("pytest_cryptoaudit."):
                impl.function(node=node)
        partial = self.folder / "workerinput.json.partial"
        partial.write_text(json.dumps(node.workerinput))
        os.replace(partial, self.path)
        self.written = True

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def receive(path: str, poll: float = POLL_SECONDS) -> dict[str, Any]:
    """On a worker: wait for the controller's file and return its ``workerinput`` entries."""
    parent = os.getppid()
    file = Path(path)
    while not file.exists():
        if os.getppid() != parent:
            raise RuntimeError("the controller ended before it handed over the inventory")
        time.sleep(poll)
    data: dict[str, Any] = json.loads(file.read_text())
    return data
