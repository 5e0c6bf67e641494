"""Root pytest configuration, loaded before any test or doctest module."""

import os
import sys
import sysconfig
from pathlib import Path

import pytest

# scikit-learn's check_array_api_input (run for every estimator by
# parametrize_with_checks) is skipped unless SciPy's array API mode is on; it
# must be set before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# Set by .ci/run: the session must test the installed wheel, not a source tree.
TEST_INSTALLED = "SKLMLP_TEST_INSTALLED"


def _installed_package_dir(rootpath):
    """Where ``sklmlp`` was imported from; exit unless it is site-packages."""
    import sklmlp

    package = Path(sklmlp.__file__).resolve().parent
    site_packages = {
        Path(sysconfig.get_path(key)).resolve() for key in ("purelib", "platlib")
    }
    if package.parent not in site_packages or package.is_relative_to(rootpath):
        expected = " or ".join(sorted(map(str, site_packages)))
        pytest.exit(
            f"{TEST_INSTALLED}=1, but sklmlp was imported from {package}, not "
            f"from this interpreter's site-packages ({expected}). Install the "
            "wheel, and run the tests from a copy of them that has no sklmlp/ "
            "source folder beside them.",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    return package


def pytest_sessionstart(session):
    """With the guard on, stop before collection if sklmlp is not installed."""
    if os.environ.get(TEST_INSTALLED) == "1":
        _installed_package_dir(session.config.rootpath.resolve())


def pytest_collection_finish(session):
    """With the guard on, every sklmlp module and doctest is the installed one."""
    if os.environ.get(TEST_INSTALLED) != "1":
        return
    package = _installed_package_dir(session.config.rootpath.resolve())
    strays = sorted(
        f"{name} ({module.__file__})"
        for name, module in sys.modules.items()
        if (name == "sklmlp" or name.startswith("sklmlp."))
        and getattr(module, "__file__", None)
        and not Path(module.__file__).resolve().is_relative_to(package)
    )
    doctests = [item for item in session.items if type(item).__name__ == "DoctestItem"]
    folders = sorted({str(item.path.resolve().parent) for item in doctests})
    if strays or folders != [str(package)]:
        pytest.exit(
            f"{TEST_INSTALLED}=1, but the session does not test only the "
            f"installed sklmlp in {package}: modules from elsewhere: "
            f"{strays or 'none'}; doctests: {len(doctests)}, from {folders}. "
            "Run the doctests with --pyargs sklmlp.",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
