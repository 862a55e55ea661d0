"""Sphinx configuration of Lucid's documentation site (``make docs`` -> docs/_build/html).

Why Sphinx with autodoc (and not MkDocs with mkdocstrings): most of Lucid's API is the
compiled extension ``lucid._core`` — ``lucid.Tensor`` and its ~200 methods are pyo3
``#[pymethods]`` whose docstrings are their Rust doc comments. autodoc *imports* the
package and reads ``__doc__`` and ``__text_signature__`` off the live objects, so
extension classes, methods and properties document exactly like Python ones.
mkdocstrings' Python handler (griffe) reads source files statically and sees a compiled
module only through a separate, less complete inspection mode. The docstrings are
reStructuredText-flavoured plain text with ``>>>`` examples, which Sphinx renders as
they are, so no Markdown layer (myst) is needed either.

The build runs with ``-W --keep-going`` (warnings are errors; ``tests/test_docs_build.py``
runs it), so a docstring that breaks the markup fails the tests.
"""

from __future__ import annotations

import os
import sys

# Document the package as built into the virtual environment (``make build``); fall back
# to the source tree so the pure-Python parts at least import in an editor.
try:
    import lucid  # noqa: F401
except ImportError:  # pragma: no cover - the build needs the extension
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "python")))
    import lucid  # noqa: F401

project = "Lucid"
author = "the Lucid developers"
copyright = "the Lucid developers"  # noqa: A001 (Sphinx's name)
release = version = lucid.__version__

extensions = ["sphinx.ext.autodoc"]

# Docstrings write ``code`` and, coming from Rust doc comments, `code`: render the
# single-backtick form as code too rather than as an italic "title reference".
default_role = "literal"

autodoc_default_options = {
    "members": True,
    "member-order": "alphabetical",
}
# pyo3 methods carry a text signature (``x.sum(dim=None, keepdim=False)``); show it.
autodoc_docstring_signature = True
autodoc_typehints = "signature"

templates_path: list[str] = []
exclude_patterns = ["_build", "README.md"]
html_theme = "alabaster"
html_title = f"Lucid {release}"
html_static_path: list[str] = []
html_theme_options = {"description": "Tensors with exact automatic differentiation and fast Jacobians"}
nitpicky = False
