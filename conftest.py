"""Repository-level pytest configuration.

Kept deliberately small: from a source checkout the built-in controls in ``controls/`` sit
below this file, so anything defined here would also reach every audit run from the
checkout. Test fixtures live in ``tests/conftest.py``.
"""

# Example projects and benchmarks are run by their own tests, never collected directly.
collect_ignore = ["examples", "benchmarks"]
