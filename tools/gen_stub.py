"""Generate the type stubs of the extension: python/lucid/_core.pyi (lucid._core) and
python/lucid/_ops.pyi (the module functions ``lucid.exp(x)`` made from Tensor methods).

The stubs are never edited by hand: `make stub` rewrites them, and tests/test_stub.py
fails when a checked-in stub differs from what this script makes of the extension.

NOTE [where the types live]: the names, order, kinds and defaults of every parameter
come from the extension itself (``inspect.signature``, i.e. pyo3's text signatures),
so the stub cannot drift from the Rust signatures. The *types* come from the tables
in tools/stub_types.py: parameter types by parameter name (and kind), return types by
method name, and rules for the patterns every new method follows (``name_`` in-place
methods, operators, the Python and NumPy protocols). Anything the tables and rules do
not cover stops the generator with an error naming the method or parameter (and
tests/test_stub.py fails the same way), so a new method gets its types when it is
added, never an ``Any`` by default. ``pyo3`` cannot carry the types itself: a text
signature may hold parameter annotations, but CPython only recognises a signature
without a return annotation, and ``inspect`` drops the annotations it does parse.
"""

from __future__ import annotations

import importlib.util
import inspect
import pathlib
import re
import sys
import textwrap
from typing import Any, Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
STUB = ROOT / "python" / "lucid" / "_core.pyi"
OPS_STUB = ROOT / "python" / "lucid" / "_ops.pyi"


def _load_types():
    spec = importlib.util.spec_from_file_location("stub_types", pathlib.Path(__file__).with_name("stub_types.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = _load_types()


class UntypedError(Exception):
    """A method, function or parameter the type tables do not cover."""


# ---- parameters ------------------------------------------------------------------------

def _default(p: inspect.Parameter) -> str:
    """The default as the stub spells it: simple literals as themselves (stubtest checks
    them against the runtime), anything else as ``...``."""
    d = p.default
    if d is None or isinstance(d, (bool, int, float, str)):
        return repr(d)
    return "..."


def _qualname(owner: str, name: str) -> str:
    return f"{owner}.{name}" if owner else name


def _param_type(owner: str, name: str, p: inspect.Parameter) -> str:
    """The type of parameter ``p`` of ``owner.name``: a per-function override first,
    then the type of that parameter name (``*name``/``**name`` for var-arguments)."""
    key = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
    for k in (f"{owner}.{name}.{key}", f"{name}.{key}", f"{owner}.{name}.*all*", f"{name}.*all*", key):
        if k in T.PARAMS:
            typ = T.PARAMS[k]
            break
    else:
        raise UntypedError(
            f"{_qualname(owner, name)}: no type for parameter {key!r}; add {key!r} (every function) or "
            f"'{name}.{key}' (this one) to PARAMS in tools/stub_types.py")
    if p.default is None and "None" not in typ and typ not in ("object", "Any"):
        typ += " | None"
    return typ


def _render_params(owner: str, name: str, sig: inspect.Signature, first: str | None) -> str:
    """The parameter list of ``sig`` typed; ``first`` replaces the implicit first
    parameter (``self``, or ``input: Tensor`` for a module op), None for a function."""
    params = list(sig.parameters.values())
    out: list[str] = []
    if first is not None:
        out.append(first)
        if params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
            params = params[1:]  # a wrapper written (*args, **kwargs) takes self in *args
    star_seen = slash_due = False
    for p in params:
        if p.kind is not p.POSITIONAL_ONLY and slash_due:
            out.append("/")
            slash_due = False
        if p.kind is p.VAR_POSITIONAL:
            star_seen = True
            out.append(f"*{p.name}: {_param_type(owner, name, p)}")
        elif p.kind is p.VAR_KEYWORD:
            out.append(f"**{p.name}: {_param_type(owner, name, p)}")
        else:
            if p.kind is p.KEYWORD_ONLY and not star_seen:
                out.append("*")
                star_seen = True
            text = f"{p.name}: {_param_type(owner, name, p)}"
            out.append(text if p.default is p.empty else f"{text} = {_default(p)}")
            slash_due = p.kind is p.POSITIONAL_ONLY
    if slash_due:
        out.append("/")
    return ", ".join(out)


def _signature(obj: Any, where: str) -> inspect.Signature:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        raise UntypedError(f"{where}: the extension gives no signature; give it a text_signature in the bindings") from None


# ---- return types and the patterns -------------------------------------------------------

def _base_of_inplace(cls: type, name: str) -> str | None:
    """``name_`` is the in-place form of ``name`` when the class has ``name``."""
    if name.endswith("_") and not name.startswith("_") and hasattr(cls, name[:-1]):
        return name[:-1]
    return None


def _return_type(owner: str, name: str) -> str:
    key = f"{owner}.{name}" if owner else name
    if key in T.RETURNS:
        return T.RETURNS[key]
    if owner == "Tensor":
        if name.endswith("_") and not name.startswith("_"):
            return "Tensor"  # in place: returns the tensor itself
        if name in T.TENSOR_OPS.split():
            return "Tensor"
    raise UntypedError(
        f"{_qualname(owner, name)}: no return type; add it to RETURNS (or, for a Tensor op, "
        f"its name to TENSOR_OPS) in tools/stub_types.py")


def _method_lines(cls: type, mname: str, indent: str = "    ") -> list[str]:
    owner = cls.__name__
    qual = f"{owner}.{mname}"
    if qual in T.OVERLOADS:
        return _overload_lines(qual, T.OVERLOADS[qual], _signature(getattr(cls, mname), qual), "self", indent)
    base = _base_of_inplace(cls, mname) if owner == "Tensor" else None
    sig_obj = getattr(cls, mname)
    sig = _signature(sig_obj, qual)
    if base is not None and _is_varargs_wrapper(sig):
        # an in-place wrapper `name_(self, *args, **kwargs)` takes what `name` takes
        return _method_lines_from(owner, base, getattr(cls, base), mname, indent)
    static = _is_static(cls, mname)
    params = _render_params(owner, mname, sig, None if static else "self")
    ignore = T.TYPE_IGNORES.get(qual, "")
    deco = f"{indent}@staticmethod\n" if static else ""
    return [f"{deco}{indent}def {mname}({params}) -> {_return_type(owner, mname)}: ...{ignore}"]


def _method_lines_from(owner: str, base: str, base_obj: Any, mname: str, indent: str) -> list[str]:
    qual = f"{owner}.{base}"
    sig = _signature(base_obj, qual)
    if qual in T.OVERLOADS:
        lines = _overload_lines(qual, T.OVERLOADS[qual], sig, "self", indent, rename=mname, ret="Tensor")
        return lines
    params = _render_params(owner, base, sig, "self")
    return [f"{indent}def {mname}({params}) -> Tensor: ..."]


def _is_varargs_wrapper(sig: inspect.Signature) -> bool:
    kinds = [p.kind for p in sig.parameters.values()]
    return inspect.Parameter.VAR_POSITIONAL in kinds and inspect.Parameter.VAR_KEYWORD in kinds and len(kinds) <= 3


def _is_static(cls: type, name: str) -> bool:
    return isinstance(inspect.getattr_static(cls, name), staticmethod)


def _overload_lines(qual: str, variants: list[tuple[str, str]], sig: inspect.Signature, first: str, indent: str,
                    rename: str | None = None, ret: str | None = None) -> list[str]:
    """``@overload`` variants written in the table (parameters without ``self``),
    checked against the runtime parameter names so that they cannot drift: each
    variant names only parameters the extension has, and together they name all."""
    runtime = [p.name for p in sig.parameters.values()][1 if first else 0:]
    name = rename or qual.split(".")[-1]
    lines = []
    covered: set[str] = set()
    for params, returns in variants:
        names = [p.split(":")[0].split("=")[0].strip().lstrip("*") for p in _split_params(params)]
        names = [n for n in names if n not in ("", "/")]
        covered.update(names)
        if not all(n in runtime for n in names):
            raise UntypedError(f"{qual}: an overload in tools/stub_types.py names parameters {names}, "
                               f"but the extension's are {runtime}")
        head = f"{first}, {params}" if first and params else (first or params)
        lines.append(f"{indent}@overload")
        lines.append(f"{indent}def {name}({head}) -> {ret or returns}: ...")
    if set(runtime) - covered:
        raise UntypedError(f"{qual}: the extension's parameters {sorted(set(runtime) - covered)} are in no "
                           f"overload in tools/stub_types.py")
    return lines


def _split_params(params: str) -> list[str]:
    """Split a parameter list at top-level commas (not those inside brackets)."""
    parts, depth, cur = [], 0, ""
    for ch in params:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


# ---- classes and modules -----------------------------------------------------------------

_SKIP = {"__new__", "__doc__", "__module__", "__dict__", "__weakref__", "__text_signature__",
         "__init_subclass__", "__subclasshook__"}


def _qualify_builtins(lines: list[str], cls: type) -> list[str]:
    """Inside a class body a type name resolves to the class's own attribute first
    (``Tensor.float`` is a method), so such names become ``builtins.float``."""
    shadowed = [n for n in ("float", "int", "bool", "str", "bytes", "type", "list", "tuple", "dict", "object")
                if n in vars(cls)]
    if not shadowed:
        return lines
    word = re.compile(r"(?<![\w.])(" + "|".join(shadowed) + r")(?=\W|$)")
    out = []
    for line in lines:
        head, sep, rest = line.partition("(")  # keep `def float(` itself
        out.append(head + sep + word.sub(r"builtins.\1", rest) if sep else word.sub(r"builtins.\1", line))
    return out


def _class_lines(cls: type) -> list[str]:
    return _qualify_builtins(_class_body(cls), cls)


def _class_body(cls: type) -> list[str]:
    owner = cls.__name__
    # A pyo3 class without Py_TPFLAGS_BASETYPE cannot be subclassed (final); one with it
    # has its own instance layout, so no class can inherit from two (a disjoint base).
    lines = (["@disjoint_base"] if cls.__flags__ & (1 << 10) else ["@final"]) + [f"class {owner}:"]
    if getattr(cls, "__text_signature__", None):  # pyo3's #[new]: a constructor
        params = _render_params(owner, "__new__", _signature(cls, owner), None)
        lines.append(f"    def __new__(cls{', ' + params if params else ''}) -> {owner}: ...")
    for mname, member in sorted(vars(cls).items()):
        qual = f"{owner}.{mname}"
        if mname in _SKIP or qual in T.OMIT:
            continue
        if inspect.isdatadescriptor(member) and not callable(member):
            typ = _return_type(owner, mname)
            lines.append(f"    @property\n    def {mname}(self) -> {typ}: ...")
            if qual in T.SETTERS:
                lines.append(f"    @{mname}.setter\n    def {mname}(self, value: {T.SETTERS[qual]}) -> None: ...")
        elif callable(member) or isinstance(member, (staticmethod, classmethod)):
            lines.extend(_method_lines(cls, mname))
        else:
            lines.append(f"    {mname}: {type(member).__name__}")
    return lines


def render(core) -> str:
    """The text of _core.pyi."""
    lines = [T.HEADER]
    if hasattr(core, "__all__"):
        names = textwrap.fill(", ".join(repr(n) for n in core.__all__), 88, initial_indent="    ",
                              subsequent_indent="    ")
        lines += [f"__all__ = [\n{names},\n]", ""]
    classes = sorted((n, o) for n, o in vars(core).items() if inspect.isclass(o) and not n.startswith("__"))
    for _, cls in classes:
        lines.extend(_class_lines(cls))
        lines.append("")
    for name, obj in sorted(vars(core).items()):
        if name.startswith("__") or inspect.isclass(obj) or inspect.ismodule(obj):
            continue
        if callable(obj):
            sig = _signature(obj, name)
            lines.append(f"def {name}({_render_params('', name, sig, None)}) -> {_return_type('', name)}: ...")
        else:
            lines.append(f"{name}: {type(obj).__name__}")
    return "\n".join(lines).rstrip() + "\n"


def render_ops(ops, tensor_cls: type) -> str:
    """The text of _ops.pyi: each module function ``name(input, ...)`` typed as the
    Tensor method it calls, with ``input: Tensor`` first."""
    names = textwrap.fill(", ".join(repr(n) for n in ops.__all__), 88, initial_indent="    ", subsequent_indent="    ")
    lines = [T.OPS_HEADER, f"__all__ = [\n{names},\n]", ""]
    for name in ops.__all__:
        qual = f"Tensor.{name}"
        method_sig = _signature(getattr(tensor_cls, name), qual)
        if qual in T.OVERLOADS:
            for line in _overload_lines(qual, T.OVERLOADS[qual], method_sig, "input: Tensor", ""):
                lines.append(line)
            continue
        params = _render_params("Tensor", name, method_sig, "input: Tensor")
        lines.append(f"def {name}({params}) -> {_return_type('Tensor', name)}: ...")
    return "\n".join(lines).rstrip() + "\n"


def _checked(fn: Callable[[], str]) -> str:
    try:
        return fn()
    except UntypedError as e:
        raise SystemExit(f"gen_stub: cannot type {e}") from None


def main() -> int:
    import lucid._core as core
    import lucid._ops as ops

    STUB.write_text(_checked(lambda: render(core)))
    OPS_STUB.write_text(_checked(lambda: render_ops(ops, core.Tensor)))
    print(f"wrote {STUB.relative_to(ROOT)} and {OPS_STUB.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
