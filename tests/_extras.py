"""Optional dependencies of the test suite: skip where missing, fail in CI.

Test modules import this as ``from _extras import importorskip``: pytest's
default import mode (``prepend``) puts ``tests/`` on ``sys.path`` when it
imports ``tests/conftest.py``.
"""

import importlib
import os

import pytest

REQUIRE_EXTRAS = "SKLMLP_REQUIRE_EXTRAS"


def importorskip(name, extra):
    """Import and return the module ``name``, which sklmlp's ``extra`` brings.

    Like :func:`pytest.importorskip`, the caller is skipped when the module
    is missing. When the environment variable ``SKLMLP_REQUIRE_EXTRAS`` is
    ``1`` (as ``.ci/run`` sets it), a missing module fails the test, or the
    collection of its module, instead: CI must not pass with the tests of an
    optional extra quietly left out.

    Parameters
    ----------
    name : str
        The module to import, e.g. ``"skops.io"``.
    extra : str
        The extra of ``pyproject.toml`` that installs it, e.g. ``"skops"``.

    Returns
    -------
    module : module
        The imported module.
    """
    __tracebackhide__ = True  # report the caller's line, not this one
    reason = f"{name} is missing: install sklmlp[{extra}]"
    if os.environ.get(REQUIRE_EXTRAS) != "1":
        return pytest.importorskip(name, reason=reason)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        error = exc
    pytest.fail(
        f"{reason} ({REQUIRE_EXTRAS}=1 forbids the skip): {error}", pytrace=False
    )
