"""The checked-in type stubs match what the extension exports, and the generator types
every method (tools/gen_stub.py; NOTE [where the types live])."""

import importlib.util
import inspect
import pathlib
import re

import pytest

import lucid._core as core
import lucid._ops as ops

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("gen_stub", ROOT / "tools" / "gen_stub.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


gen = _generator()


def test_stub_is_current():
    expected = gen.render(core)
    actual = (ROOT / "python" / "lucid" / "_core.pyi").read_text()
    assert actual == expected, "python/lucid/_core.pyi is stale: run `make stub`"


def test_ops_stub_is_current():
    expected = gen.render_ops(ops, core.Tensor)
    actual = (ROOT / "python" / "lucid" / "_ops.pyi").read_text()
    assert actual == expected, "python/lucid/_ops.pyi is stale: run `make stub`"


def test_every_public_member_has_a_real_type():
    # `Any` only where the tables say so on purpose (tolist's nested lists, the
    # protocols that hand NumPy or a capsule whatever they return, validators that
    # take any object): never as a fallback
    stub = gen.render(core)[len(gen.T.HEADER):]  # the header's helper types aside
    for line in stub.splitlines():
        returns = line.split("->")[-1].split(": ...")[0]
        if line.lstrip().startswith("def ") and re.search(r"(^|\|)\s*Any\b", returns.strip()):
            name = line.split("def ")[1].split("(")[0]
            assert name in ("tolist", "__dlpack__", "__array_ufunc__", "__array_function__", "__getstate__"), line
    assert "*args: Any, **kwargs: Any" not in stub


def _fake(name, members):
    """A class named ``name`` holding ``members`` (Python functions stand in for the
    methods other branches add)."""
    return type(name, (), members)


def test_an_untyped_method_stops_the_generator_naming_it():
    def frobnicate(self, strength):
        return self

    with pytest.raises(gen.UntypedError, match=r"Tensor\.frobnicate: no type for parameter 'strength'"):
        gen._class_lines(_fake("Tensor", {"frobnicate": frobnicate, "__module__": "lucid"}))


def test_a_method_without_a_return_type_stops_the_generator_naming_it():
    def frobnicate(self, other):
        return self

    with pytest.raises(gen.UntypedError, match=r"Tensor\.frobnicate: no return type"):
        gen._class_lines(_fake("Tensor", {"frobnicate": frobnicate}))


def test_a_module_function_without_types_stops_the_generator_naming_it():
    class FakeCore:
        pass

    def _scatter_into(target, value, op):
        return target

    fake = FakeCore()
    fake.__dict__.update({"_scatter_into": _scatter_into})
    with pytest.raises(gen.UntypedError, match=r"_scatter_into: no type for parameter 'target'"):
        gen.render(fake)


def test_the_common_patterns_type_themselves():
    # what other branches add: in-place methods (written in Python as name_(self, *args,
    # **kwargs) wrappers), clone, the pickle, copy, DLPack and NumPy protocols, and the
    # Python protocols of a one-element tensor
    def wrapper(self, *args, **kwargs):
        return self

    def exp(self):
        return self

    def add(self, other):
        return self

    def zero_(self):
        return self

    def fill_(self, value):
        return self

    def copy_(self, src):
        return self

    def clone(self):
        return self

    def reduce(self):
        return (object, ())

    def reduce_ex(self, protocol):
        return (object, ())

    def deepcopy(self, memo):
        return self

    def dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return None

    def dlpack_device(self):
        return (1, 0)

    def array_ufunc(self, ufunc, method, *inputs, **kwargs):
        return None

    def array_function(self, func, types, args, kwargs):
        return None

    def index(self):
        return 0

    def fmt(self, format_spec):
        return ""

    def rnd(self, ndigits=None):
        return 0

    def it(self):
        return iter(())

    def iadd(self, other):
        return self

    members = {"exp": exp, "exp_": wrapper, "add": add, "add_": wrapper, "zero_": zero_, "fill_": fill_,
               "copy_": copy_, "clone": clone, "__reduce__": reduce, "__reduce_ex__": reduce_ex,
               "__copy__": clone, "__deepcopy__": deepcopy, "__dlpack__": dlpack,
               "__dlpack_device__": dlpack_device, "__array_ufunc__": array_ufunc,
               "__array_function__": array_function, "__index__": index, "__format__": fmt,
               "__round__": rnd, "__iter__": it, "__iadd__": iadd}
    stub = "\n".join(gen._class_lines(_fake("Tensor", members)))
    for line in [
        "def exp_(self) -> Tensor: ...",
        "def add_(self, other: _Operand) -> Tensor: ...",
        "def zero_(self) -> Tensor: ...",
        "def fill_(self, value: _Operand) -> Tensor: ...",
        "def copy_(self, src: _Operand) -> Tensor: ...",
        "def clone(self) -> Tensor: ...",
        "def __reduce__(self) -> tuple[Any, ...]: ...",
        "def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]: ...",
        "def __copy__(self) -> Tensor: ...",
        "def __deepcopy__(self, memo: dict[int, Any]) -> Tensor: ...",
        "def __dlpack__(self, *, stream: int | Any | None = None, max_version: tuple[int, int] | None = None, "
        "dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any: ...",
        "def __dlpack_device__(self) -> tuple[int, int]: ...",
        "def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any: ...",
        "def __array_function__(self, func: Callable[..., Any], types: Sequence[type], args: tuple[Any, ...], "
        "kwargs: dict[str, Any]) -> Any: ...",
        "def __index__(self) -> int: ...",
        "def __format__(self, format_spec: str) -> str: ...",
        "def __round__(self, ndigits: None = None) -> int: ...",
        "def __round__(self, ndigits: int) -> float: ...",
        "def __iter__(self) -> Iterator[Tensor]: ...",
        "def __iadd__(self, other: _Operand) -> Tensor: ...",
    ]:
        assert line in stub, f"{line}\nnot in\n{stub}"


def test_overloads_are_checked_against_the_extension():
    # an overload in tools/stub_types.py naming a parameter the method does not have
    def size(self, axis=None):
        return ()

    with pytest.raises(gen.UntypedError, match=r"Tensor\.size: an overload .* names parameters \['dim'\]"):
        gen._class_lines(_fake("Tensor", {"size": size}))

    # a parameter the extension gained that no overload names
    def size2(self, dim=None, unit=None):
        return ()

    with pytest.raises(gen.UntypedError, match=r"Tensor\.size: the extension's parameters \['unit'\] are in no overload"):
        gen._class_lines(_fake("Tensor", {"size": size2}))


def test_defaults_and_kinds_come_from_the_extension():
    # parameter names, kinds and defaults are the runtime's own: the stub cannot drift
    stub = gen.render(core)
    sig = inspect.signature(core.Tensor.std)
    assert list(sig.parameters)[1:] == ["dim", "unbiased", "keepdim", "correction"]
    assert ("def std(self, dim: _Dims | None = None, unbiased: bool | None = None, keepdim: bool = False, "
            "*, correction: builtins.float | None = None) -> Tensor: ...") in stub
    assert "def __pow__(self, value: _Operand, mod: None = None, /) -> Tensor: ..." in stub
