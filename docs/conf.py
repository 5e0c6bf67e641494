"""Sphinx configuration for the sklmlp documentation (offline build)."""

import sklmlp

project = "sklmlp"
author = "sklmlp developers"
copyright = "2026, sklmlp developers"
release = version = sklmlp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
# No intersphinx: the build must not need the network.
html_theme = "pydata_sphinx_theme"
exclude_patterns = ["_build"]
