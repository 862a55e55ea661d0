"""The in-place ``name_`` methods of Tensor: ``t.exp_()`` is ``t.exp()`` written into
``t``. One write primitive in Rust (``_core._write_inplace``) serves them all, so every
method has the same semantics (NOTE [views and in-place writes] in
crates/lucid-python/src/views.rs):

- the write lands in the tensor object itself, so aliases (``b = a``) and views (basic
  indexing, ``view``/``reshape``, ``transpose``, ``detach``, …) see it, and a write into
  a view reaches its base;
- the result is broadcast to the tensor's shape and cast to its dtype; a float result
  into an integer or bool tensor is a RuntimeError, as in PyTorch;
- a leaf that requires grad can be written only under ``lucid.no_grad()``, and stays a
  leaf with its ``.grad``; other graph values are written differentiably.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from . import _core
from ._core import Tensor

_UNARY = [
    "neg", "abs", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "sin",
    "cos", "tan", "tanh", "sigmoid", "relu", "square", "sign", "reciprocal", "asin", "acos",
    "atan", "sinh", "cosh", "asinh", "atanh", "arcsin", "arccos", "arctan", "arcsinh",
    "arctanh", "erf", "floor", "ceil", "round",
]
_VECTOR = "[0.5, 2.0]"
# op name -> (data, arguments) of its docstring example
_EXAMPLES = {
    **{name: ("[0.5, 0.25]", "") for name in _UNARY},
    "acosh": ("[1.5, 2.0]", ""), "arccosh": ("[1.5, 2.0]", ""),
    "add": (_VECTOR, "1.0"), "sub": (_VECTOR, "1.0"), "mul": (_VECTOR, "3.0"),
    "div": (_VECTOR, "2.0"), "pow": (_VECTOR, "2"), "remainder": (_VECTOR, "1.5"),
    "floor_divide": (_VECTOR, "1.5"), "atan2": (_VECTOR, "1.0"),
    "clamp": (_VECTOR, "min=1.0"), "clip": (_VECTOR, "max=1.0"),
    "clamp_min": (_VECTOR, "1.0"), "clamp_max": (_VECTOR, "1.0"),
    "tril": ("[[1.0, 2.0], [3.0, 4.0]]", ""), "triu": ("[[1.0, 2.0], [3.0, 4.0]]", ""),
    "index_put": (_VECTOR, "(lucid.tensor([0]),), lucid.tensor(9.0)"),
    "scatter": (_VECTOR, "0, lucid.tensor([1]), lucid.tensor([9.0])"),
    "scatter_add": (_VECTOR, "0, lucid.tensor([1]), lucid.tensor([9.0])"),
}


def _make(name: str, data: str, args: str) -> Callable[..., Tensor]:
    method = getattr(Tensor, name)

    def inplace(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return _core._write_inplace(self, method(self, *args, **kwargs), name + "_")

    inplace.__name__ = inplace.__qualname__ = name + "_"
    # the parameters of the op it writes (for help(), inspect and the stub's checks)
    inplace.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    inplace.__doc__ = (
        f"In-place :meth:`{name}`: writes ``self.{name}(...)`` into this tensor and returns "
        "it; aliases and views see the write.\n\n"
        f">>> t = lucid.tensor({data})\n"
        f">>> expected = t.{name}({args})\n"
        f">>> t.{name}_({args}) is t\nTrue\n"
        f">>> bool((t == expected).all())\nTrue\n"
    )
    return inplace


def zero_(self: Tensor) -> Tensor:
    """Fill this tensor with zeros in place and return it.

    >>> t = lucid.tensor([1.0, 2.0])
    >>> t.zero_()
    tensor([0., 0.])
    """
    return _core._write_inplace(self, 0, "zero_")


def fill_(self: Tensor, value: float | int | bool | Tensor) -> Tensor:
    """Fill this tensor with ``value`` (a number or a one-element tensor) in place.

    >>> lucid.zeros(3).fill_(2.5)
    tensor([2.5, 2.5, 2.5])
    """
    return _core._write_inplace(self, value, "fill_")


def copy_(self: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in
    place and return it; differentiable in ``src``.

    >>> t = lucid.zeros(2, 2)
    >>> t[0].copy_(lucid.tensor([1.0, 2.0]))
    tensor([1., 2.])
    >>> t
    tensor([[1., 2.],
            [0., 0.]])
    """
    return _core._write_inplace(self, src, "copy_")


def _install() -> None:
    for name, (data, args) in _EXAMPLES.items():
        setattr(Tensor, name + "_", _make(name, data, args))
    for f in (zero_, fill_, copy_):
        setattr(Tensor, f.__name__, f)


_install()
