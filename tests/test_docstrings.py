"""Every public name documents itself with a runnable example, and every example runs.

Walks the public names of ``lucid``, ``lucid.autograd``, ``lucid.linalg`` and ``lucid.func`` (their
``__all__``), the public methods and properties of their classes — above all every
``lucid.Tensor`` method and property, whose docstrings are the Rust doc comments of the
``#[pymethods]`` — and the pages of the docs site (``docs/**/*.rst``, the "Jacobians in
Lucid" guide among them). pytest's ``--doctest-modules`` cannot do this: it finds no
docstrings on the methods of a compiled extension class.

Each failing test lists *every* offending name, so a name added without an example (or
with one that no longer runs) is reported with all the others at once.
"""

from __future__ import annotations

import doctest
import pathlib
import re
import types

import numpy as np

import lucid
import lucid.autograd
import lucid.linalg
import lucid.func

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
MODULES = (lucid, lucid.autograd, lucid.linalg, lucid.func)

# Dunder methods are exempt: they implement Python's protocols (operators, comparisons,
# hash, repr, len, bool, int/float/index conversion, the context-manager, copy and
# pickling hooks, ``__init__``), whose meaning Python defines and whose Lucid behaviour is
# that of the public method they call (``__add__`` is ``add``). Those pyo3 puts in a type
# slot (``__getitem__``, ``__setitem__``, the operators) cannot carry a docstring at all:
# CPython gives them its own ("Return self[key]."), so indexing is documented, with an
# example, in the ``lucid.Tensor`` class docstring. These are not exempt: NumPy and DLPack
# call them by name, they are ordinary methods, and what Lucid does there has to be said.
DOCUMENTED_DUNDERS = frozenset({
    "__array__", "__array_ufunc__", "__array_function__", "__dlpack__", "__dlpack_device__",
})

# What a class attribute must be to count as a method or property to document (a plain
# value such as ``no_grad.mode`` is not).
_DESCRIPTORS = (
    types.FunctionType, types.MethodDescriptorType, types.BuiltinFunctionType, types.GetSetDescriptorType,
    types.MemberDescriptorType, types.ClassMethodDescriptorType, types.WrapperDescriptorType, property,
    classmethod, staticmethod,
)

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _public(name: str) -> bool:
    return not name.startswith("_") or name in DOCUMENTED_DUNDERS


def _doc(obj) -> str | None:
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    return getattr(obj, "__doc__", None)


def _class_members(qualname: str, cls: type):
    """``(name, docstring)`` of the public methods and properties ``cls`` defines itself
    (inherited ones are documented where they are defined). A named tuple's fields are
    described by the class docstring."""
    if issubclass(cls, tuple):
        return
    for name, value in vars(cls).items():
        if not _public(name):
            continue
        if isinstance(value, _DESCRIPTORS):
            yield f"{qualname}.{name}", _doc(value)
        elif callable(value) or hasattr(value, "__get__"):
            # a kind of attribute this walk does not know: say so rather than skip it
            yield f"{qualname}.{name} (an unrecognised {type(value).__name__})", None


def documented_objects() -> dict[str, str | None]:
    """Every public name, qualified, mapped to its docstring (None when it has none)."""
    found: dict[str, str | None] = {}
    for module in MODULES:
        found[module.__name__] = module.__doc__
        for name in module.__all__:
            value = getattr(module, name)
            qualname = f"{module.__name__}.{name}"
            if isinstance(value, types.ModuleType):
                continue  # a submodule: walked as a module of its own
            if isinstance(value, type):
                found[qualname] = value.__doc__
                if value.__module__.startswith("lucid"):
                    found.update(_class_members(qualname, value))
            elif callable(value):
                found[qualname] = value.__doc__
            else:
                # a value such as lucid.float32: documented by its class
                found[qualname] = type(value).__doc__
    return found


def _has_example(doc: str | None) -> bool:
    return bool(doc) and ">>>" in doc


def test_the_walk_sees_the_whole_api():
    names = documented_objects()
    assert "lucid.Tensor" in names
    tensor_members = [n for n in names if n.startswith("lucid.Tensor.")]
    assert len(tensor_members) > 140, len(tensor_members)
    for expected in ("lucid.Tensor.sum", "lucid.Tensor.shape", "lucid.Tensor.grad", "lucid.Tensor.__array__",
                     "lucid.autograd.jacobian", "lucid.linalg.solve", "lucid.Tape.jacobian", "lucid.tape"):
        assert expected in names, expected


def test_every_public_name_has_a_docstring_with_an_example():
    missing = sorted(name for name, doc in documented_objects().items() if not _has_example(doc))
    assert not missing, (f"{len(missing)} public names have no docstring with a '>>>' example "
                         f"(Tensor methods: the Rust doc comment in crates/lucid-python/src/): " + ", ".join(missing))


def _run(name: str, text: str, source: str) -> str | None:
    """Run the examples in ``text``; the report of every failing example, or None."""
    test = doctest.DocTestParser().get_doctest(text, {"lucid": lucid, "np": np}, name, source, 0)
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    runner.run(test, out=out.append, clear_globs=True)
    return "".join(out) if out else None


def test_docstring_examples_run():
    # one run per distinct docstring: lucid.exp shares Tensor.exp's
    by_text: dict[str, list[str]] = {}
    for name, doc in documented_objects().items():
        if _has_example(doc):
            by_text.setdefault(doc, []).append(name)
    failures = []
    for doc, names in by_text.items():
        report = _run(names[0], doc, "<docstring>")
        if report is not None:
            failures.append((" = ".join(names), report))
    assert not failures, f"{len(failures)} docstrings have failing examples: " + ", ".join(n for n, _ in failures) + \
        "\n\n" + "\n".join(f"--- {n}\n{r}" for n, r in failures)


def test_docs_pages_examples_run():
    pages = sorted(DOCS.rglob("*.rst"))
    assert any(p.name == "jacobians.rst" for p in pages), "the guide docs/guide/jacobians.rst is missing"
    failures = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if ">>>" in text:
            report = _run(page.stem, text, str(page))
            if report is not None:
                failures.append((str(page.relative_to(DOCS.parent)), report))
    assert not failures, "failing examples in " + ", ".join(n for n, _ in failures) + "\n\n" + \
        "\n".join(f"--- {n}\n{r}" for n, r in failures)


def test_the_guide_covers_its_topics():
    guide = (DOCS / "guide" / "jacobians.rst").read_text(encoding="utf-8")
    for topic in ("strategy=\"forward-mode\"", "vectorize=True", "chunk_size", "create_graph=True", "hessian",
                  "sparse=True", "sparsity(", "lucid.tape(", "vjp(", "jvp("):
        assert topic in guide, topic


def test_the_rust_page_example_is_the_readme_doctest():
    """The Rust page's example is not run here: it must be the README's Rust example,
    which lucid-core runs as a doc test (``#[doc = include_str!("README.md")]``)."""
    def code(block: str) -> list[str]:
        lines = (line.split("//")[0].strip() for line in block.splitlines())
        return [line for line in lines if line]

    page = (DOCS / "rust.rst").read_text(encoding="utf-8")
    after = page.split(".. code-block:: rust", 1)[1].splitlines()[1:]
    # the directive's content: the indented (or blank) lines that follow it
    body = []
    for line in after:
        if line and not line.startswith(" "):
            break
        body.append(line)
    block = "\n".join(body)
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    readme_blocks = [code(b) for b in re.findall(r"```rust\n(.*?)```", readme, flags=re.S)]
    assert code(block) in readme_blocks, "docs/rust.rst's example differs from every Rust example in README.md"
