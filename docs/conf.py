"""Sphinx configuration for the sklmlp documentation.

Builds offline: no intersphinx, nothing downloaded. Build with
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

import os

import matplotlib

import sklmlp

matplotlib.use("Agg")
os.environ.setdefault("SCIPY_ARRAY_API", "1")

project = "sklmlp"
author = "sklmlp developers"
copyright = "2026, sklmlp developers"
release = version = sklmlp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# No intersphinx: the build must not need the network.

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"fashion",  # examples that need Fashion-MNIST are not run
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sklmlp",),
}


def skip_inherited_plumbing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing setters from our pages."""
    if name.endswith("_request") or name == "get_metadata_routing":
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", skip_inherited_plumbing)


html_theme = "pydata_sphinx_theme"
html_title = f"sklmlp {release}"
html_theme_options = {"navigation_with_keys": False}
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
