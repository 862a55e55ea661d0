"""NumPy's override protocols on ``lucid.Tensor``: NumPy functions run Lucid ops.

``np.sin(t)``, ``arr * t``, ``np.sum(t, axis=0)`` and ``np.concatenate([t, arr])`` give
Tensors computed by Lucid's own ops, so they stay in the autograd graph. A NumPy function
Lucid cannot run raises a TypeError naming the Lucid function to call, or telling to
convert explicitly with ``.numpy()``.

NOTE: [NumPy on Tensors]
NumPy hands a Tensor argument to ``Tensor.__array_ufunc__`` (ufuncs: ``np.sin``, the
operators of ``ndarray``) or ``Tensor.__array_function__`` (``np.sum``, ``np.reshape``,
…) instead of converting it with ``__array__``. Converting would compute in NumPy on a
copy of the values: the result would silently lose the derivative. So:

- a mapped function runs the Lucid op and returns a Tensor, *whether or not* an operand
  requires grad. PyTorch does the same for ufuncs (``np.sin(torch_tensor)`` is a
  Tensor), and a result type that does not depend on ``requires_grad`` means code
  tested on plain data behaves the same inside ``jacobian``;
- a function Lucid cannot run raises TypeError, also whether or not an operand requires
  grad, for the same reason: it names the Lucid equivalent or says to call
  ``t.numpy()`` (``t.detach().numpy()`` for a tensor that requires grad) explicitly.
  PyTorch raises there only for tensors that require grad, so code that works on data
  fails once derivatives are asked for; Lucid fails the first time.
- predicates whose result has no derivative (``np.allclose``, ``np.array_equal``,
  ``np.isclose``, ``np.shape``) read the values, as ``bool(t > 0)`` does, and return
  NumPy's result.
- ``out=`` and ``where=`` raise TypeError: NumPy would write the result into a buffer
  outside the autograd graph (an ndarray) or past Lucid's in-place rules (a Tensor).

Explicit conversions (``np.asarray(t)``, ``np.array(t)``, ``t.numpy()``,
``np.from_dlpack(t)``) still give arrays: NumPy does not route them through these hooks.

>>> import numpy as np
>>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
>>> np.square(x) * np.array([2.0, 3.0])
tensor([ 2., 12.], dtype=lucid.float64, grad_fn=<mul>)
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._core import Tensor
from ._numpy_functions import (
    FUNCTION_HINTS, FUNCTIONS, _first_tensor, _lift, _lifted, _no, _operand, _refuse,
)

# ---- ufuncs ----------------------------------------------------------------------------

_DEG = math.pi / 180.0

_UNARY: dict[str, Callable[[Any], Any]] = {
    "negative": Tensor.neg, "positive": lambda x: x, "absolute": Tensor.abs, "fabs": Tensor.abs,
    "exp": Tensor.exp, "expm1": Tensor.expm1, "exp2": lambda x: 2.0 ** x, "log": Tensor.log,
    "log1p": Tensor.log1p, "log2": Tensor.log2, "log10": Tensor.log10, "sqrt": Tensor.sqrt,
    "square": Tensor.square, "reciprocal": Tensor.reciprocal, "sin": Tensor.sin, "cos": Tensor.cos,
    "tan": Tensor.tan, "arcsin": Tensor.asin, "arccos": Tensor.acos, "arctan": Tensor.atan,
    "sinh": Tensor.sinh, "cosh": Tensor.cosh, "tanh": Tensor.tanh, "arcsinh": Tensor.asinh,
    "arccosh": Tensor.acosh, "arctanh": Tensor.atanh, "sign": Tensor.sign, "floor": Tensor.floor,
    "ceil": Tensor.ceil, "rint": Tensor.round, "isnan": Tensor.isnan, "isinf": Tensor.isinf,
    "isfinite": Tensor.isfinite, "deg2rad": lambda x: x * _DEG, "radians": lambda x: x * _DEG,
    "rad2deg": lambda x: x / _DEG, "degrees": lambda x: x / _DEG,
}

# Binary ufuncs: the Tensor method, and the operator that Python would call when the
# left operand is not a Tensor (so `arr - t` is `t.__rsub__(arr)`, in Lucid's rules).
_BINARY: dict[str, tuple[Callable[..., Any], Callable[..., Any] | None]] = {
    "add": (Tensor.add, Tensor.__radd__), "subtract": (Tensor.sub, Tensor.__rsub__),
    "multiply": (Tensor.mul, Tensor.__rmul__), "divide": (Tensor.div, Tensor.__rtruediv__),
    "true_divide": (Tensor.div, Tensor.__rtruediv__),
    "floor_divide": (Tensor.floor_divide, Tensor.__rfloordiv__),
    "remainder": (Tensor.remainder, Tensor.__rmod__), "power": (Tensor.pow, Tensor.__rpow__),
    "matmul": (Tensor.matmul, Tensor.__rmatmul__), "maximum": (Tensor.maximum, None),
    "minimum": (Tensor.minimum, None), "arctan2": (Tensor.atan2, None), "equal": (Tensor.eq, None),
    "not_equal": (Tensor.ne, None), "less": (Tensor.lt, None), "less_equal": (Tensor.le, None),
    "greater": (Tensor.gt, None), "greater_equal": (Tensor.ge, None),
}

_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "amax", "minimum": "amin"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}

# The nearest Lucid spelling of ufuncs Lucid cannot run as they are.
_UFUNC_HINTS = {
    "fmax": "lucid.maximum (which propagates NaN)", "fmin": "lucid.minimum (which propagates NaN)",
    "float_power": "lucid.pow on float64 tensors", "logaddexp": "lucid.logsumexp over a stacked dim",
    "hypot": "lucid.sqrt(a**2 + b**2)", "trunc": "lucid.where(x < 0, lucid.ceil(x), lucid.floor(x))",
    "cbrt": "lucid.sign(x) * x.abs() ** (1 / 3)",
}


def _binary(name: str, a: Any, b: Any) -> Any:
    method, reflected = _BINARY[name]
    if isinstance(a, Tensor):
        return method(a, _operand(b))
    if reflected is not None and isinstance(a, (int, float, np.number, np.bool_)):
        return reflected(b, a)
    return method(_lift(a, like=b), b)


# `ufunc(*inputs)` without keywords (every operator and nearly every call) skips the
# argument checks: `np.float64(2) * t` costs 1-2 us more than `2.0 * t` (NumPy calls in).
def _binary_call(name: str) -> Callable[[Any, Any], Any]:
    method, reflected = _BINARY[name]

    def call(a: Any, b: Any) -> Any:
        if reflected is not None and not isinstance(a, Tensor) and isinstance(b, Tensor):
            try:  # `arr * t` as `t.__rmul__(arr)`: the extension converts the array itself
                return reflected(b, a)
            except TypeError:  # a dtype it does not take (int32, float16): lift it first
                pass
        return _binary(name, a, b)
    return call


_PLAIN_CALLS: dict[tuple[np.ufunc, int], Callable[..., Any]] = {
    (getattr(np, name), 1): fn for name, fn in _UNARY.items() if hasattr(np, name)}
_PLAIN_CALLS.update({(getattr(np, name), 2): _binary_call(name) for name in _BINARY if hasattr(np, name)})


def _call_ufunc(ufunc: Any, method: str, inputs: Any, kwargs: Any) -> Any:
    if method == "__call__" and not kwargs:
        plain = _PLAIN_CALLS.get((ufunc, len(inputs)))
        if plain is not None:
            return plain(*inputs)
    kwargs = dict(kwargs)
    name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    out = kwargs.pop("out", None)
    if out is not None and any(o is not None for o in (out if isinstance(out, tuple) else (out,))):
        _no(name, out=out)
    _no(name, where=kwargs.pop("where", True))
    for arg, default in (("casting", "same_kind"), ("order", "K"), ("subok", True)):
        if kwargs.get(arg, default) != default:
            _no(name, **{arg: kwargs[arg]})
        kwargs.pop(arg, None)
    uname = ufunc.__name__
    if method == "__call__":
        _no(name, **kwargs)
        if uname in _UNARY and len(inputs) == 1:
            return _UNARY[uname](inputs[0])
        if uname in _BINARY and len(inputs) == 2:
            return _binary(uname, *inputs)
    elif method == "reduce" and uname in _REDUCE:
        (a,) = inputs
        axis, keepdims, dtype = kwargs.pop("axis", 0), kwargs.pop("keepdims", False), kwargs.pop("dtype", None)
        _no(name, **kwargs)
        t = _lifted(a, dtype)
        return getattr(t, _REDUCE[uname])(axis, keepdims)
    elif method == "accumulate" and uname in _ACCUMULATE:
        (a,) = inputs
        axis, dtype = kwargs.pop("axis", 0), kwargs.pop("dtype", None)
        _no(name, **kwargs)
        t = _lifted(a, dtype)
        return getattr(t, _ACCUMULATE[uname])(axis)
    elif method == "outer" and uname in _BINARY and len(inputs) == 2:
        _no(name, **kwargs)
        a, b = inputs
        like = _first_tensor(inputs)
        a, b = _lift(a, like), _lift(b, like)
        return _binary(uname, a.reshape(*a.shape, *([1] * b.ndim)), b)
    hint = _UFUNC_HINTS.get(uname)
    if method == "at":
        hint = "Tensor.index_put or lucid.scatter_add (np.*.at writes in place)"
    raise _refuse(name, inputs, hint)


def __array_ufunc__(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """NumPy ufuncs on Tensors (``np.sin(t)``, ``arr * t``) run the Lucid op and return
    a Tensor in the graph; see NOTE [NumPy on Tensors] in ``lucid._numpy_protocol``.

    >>> import numpy as np
    >>> np.exp(lucid.tensor([0.0]))
    tensor([1.])
    """
    for x in inputs:
        if _foreign(x):
            return NotImplemented
    if kwargs:
        if any(_foreign(x) for x in kwargs.get("out", None) or ()):
            return NotImplemented
    elif method == "__call__":
        plain = _PLAIN_CALLS.get((ufunc, len(inputs)))
        if plain is not None:
            return plain(*inputs)
    return _call_ufunc(ufunc, method, inputs, kwargs)


_PLAIN = frozenset([Tensor, np.ndarray, int, float, bool])
_NDARRAY_UFUNC = np.ndarray.__array_ufunc__


def _foreign(x: Any) -> bool:
    """Whether ``x`` is another library's array with its own ufunc hook (an ndarray
    subclass such as a unit-carrying quantity included): NumPy then asks it next."""
    if type(x) in _PLAIN or isinstance(x, np.generic):
        return False
    hook = getattr(type(x), "__array_ufunc__", None)
    return hook is not None and hook is not _NDARRAY_UFUNC


# ---- array functions (implemented in lucid._numpy_functions) -----------------------


def __array_function__(self: Tensor, func: Callable[..., Any], types: Any, args: Any, kwargs: Any) -> Any:
    """NumPy functions on Tensors (``np.sum(t, axis=0)``, ``np.concatenate``) run the
    Lucid op; functions Lucid cannot run raise TypeError naming the way out. See NOTE
    [NumPy on Tensors] in ``lucid._numpy_protocol``.

    >>> import numpy as np
    >>> np.sum(lucid.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([4., 6.])
    """
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    impl = FUNCTIONS.get(func)
    if impl is None:
        module = getattr(func, "__module__", "numpy") or "numpy"
        prefix = "np.linalg." if module.endswith("linalg") else "np."
        raise _refuse(f"{prefix}{func.__name__}", [args, kwargs], FUNCTION_HINTS.get(func.__name__))
    return impl(*args, **kwargs)


def install() -> None:
    """Attach the protocol methods to ``lucid.Tensor`` (pyo3 classes accept new
    attributes; the Rust type needs no change)."""
    setattr(Tensor, "__array_ufunc__", __array_ufunc__)
    setattr(Tensor, "__array_function__", __array_function__)


__all__ = ["install"]
