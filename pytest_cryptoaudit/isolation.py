"""Where hostile input or third-party code is called: what it throws becomes a reason.

Parsers written in Rust (``cryptography``) report a broken invariant as a pyo3
``PanicException``, which derives from ``BaseException`` so that ``except Exception`` lets it
through. A failure to look must never end the run, so these boundaries catch everything except
what a person or the interpreter uses to stop the process.
"""

from __future__ import annotations

#: Exceptions that stop the process on purpose; no boundary turns them into a result.
STOPPING = (KeyboardInterrupt, SystemExit, GeneratorExit)


def must_propagate(exc: BaseException) -> bool:
    """True for Ctrl-C, ``sys.exit`` and generator shutdown, which a boundary re-raises."""
    return isinstance(exc, STOPPING)


def describe(exc: BaseException) -> str:
    """A one-line reason naming the exception type (``KeyError: 8`` says little alone)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
