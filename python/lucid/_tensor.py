"""Constructors, dtype rules and grad-mode context managers of the public package."""

from __future__ import annotations

import contextlib
import numbers
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, TypeVar, Union, overload

import numpy as np
import numpy.typing as npt

from . import _core
from ._core import Tensor, float32, float64, int64, bool_

if TYPE_CHECKING:
    from ._core import _DTypeLike

    # A size given as varargs ints or as one sequence: zeros(2, 3) or zeros((2, 3)).
    _SizeArg = Union[int, Sequence[int]]

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = [
    "tensor", "from_numpy", "as_tensor", "zeros", "ones", "full", "empty", "eye", "arange",
    "linspace", "zeros_like", "ones_like", "full_like", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled",
]

_NP_TO_LUCID = {"float32": float32, "float64": float64, "int64": int64, "bool": bool_}


@overload
def _resolve_dtype(dtype: None, fn: str = ...) -> None: ...
@overload
def _resolve_dtype(dtype: _DTypeLike, fn: str = ...) -> _core.dtype: ...
def _resolve_dtype(dtype: _DTypeLike | None, fn: str = "dtype") -> _core.dtype | None:
    """The lucid dtype ``dtype`` names; a TypeError naming ``fn`` (the function given
    it) for anything else."""
    if dtype is None or isinstance(dtype, _core.dtype):
        return dtype
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"{fn}: unsupported dtype {dtype!r}; lucid has float32, float64, int64 and bool") from None
    if name not in _NP_TO_LUCID:
        raise TypeError(f"{fn}: unsupported dtype {dtype!r}; lucid has float32, float64, int64 and bool")
    return _NP_TO_LUCID[name]


def _np_dtype(dtype: _DTypeLike) -> np.dtype[Any]:
    return np.dtype(dtype.name if isinstance(dtype, _core.dtype) else dtype)


def _ragged(data: Any) -> str | None:
    """Where nested lists first disagree, depth by depth, naming the lengths
    ("the nested lists are ragged: data[1] has length 1 where data[0] has length 2"), or
    None when they do not. Only run on the error path."""
    def length(v: Any) -> int | None:
        if isinstance(v, (list, tuple)) or (isinstance(v, np.ndarray) and v.ndim > 0):
            return len(v)
        return None

    def what(n: int | None) -> str:
        return "is a number" if n is None else f"has length {n}"

    level = [("data", data)]
    while level:
        path0, v0 = level[0]
        n0 = length(v0)
        for path, v in level[1:]:
            n = length(v)
            if n != n0:
                return f"the nested lists are ragged: {path} {what(n)} where {path0} {what(n0)}"
        if n0 is None:
            return None
        level = [(f"{p}[{i}]", c) for p, v in level for i, c in enumerate(v)]
    return None


def tensor(data: npt.ArrayLike | Tensor, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    ``data`` may be a Python number, a (nested) list or tuple, a NumPy array or scalar,
    a Tensor, or any other array: an object with ``__array__`` or the array interface
    (JAX, PyTorch and CuPy arrays on the host), or a buffer (``array.array``,
    ``memoryview``, ctypes arrays).

    The dtype, unless ``dtype`` is given (NOTE [float64 stays float64]):

    - Python floats give float32, PyTorch's default; Python ints give int64 and bools
      give bool.
    - Data that carries a dtype keeps it: float64 stays float64 (a NumPy array or
      ``np.float64``, a float64 Tensor, an ``__array__`` or buffer of doubles such as
      ``array.array('d')``), float32 stays float32. Float16 widens to float32 and
      longdouble narrows to float64, the nearest dtypes Lucid has; other integers
      become int64.
    - A list or tuple takes the widest float among its elements, as PyTorch promotes:
      one ``np.float64`` (or float64 array or Tensor) among Python floats makes the
      whole tensor float64.

    >>> lucid.tensor([1.0, 2.0]).dtype
    lucid.float32
    >>> import numpy as np
    >>> lucid.tensor([np.float64(1.0), 2.0]).dtype
    lucid.float64
    >>> import array
    >>> lucid.tensor(array.array("d", [1.0 + 1e-12])).item() == 1.0 + 1e-12
    True
    """
    dtype = _resolve_dtype(dtype, "tensor")
    if requires_grad.__class__ is not bool:
        raise TypeError(f"tensor: requires_grad must be a bool, got {type(requires_grad).__name__}")
    if isinstance(data, Tensor):
        arr = data.numpy()
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
    elif _carries_dtype(data):
        try:
            arr = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__}: {exc}") from None
    else:
        try:
            arr = np.asarray(data)
        except OverflowError:
            raise OverflowError("tensor: an integer in the data is out of the int64 range") from None
        except (ValueError, TypeError) as exc:
            why = _ragged(data) or str(exc)  # not NumPy's "inhomogeneous shape after 1 dimensions"
            raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__}: {why}") from None
        if arr.dtype.kind == "O":
            big = _big_int(data)
            if big is not None:
                raise _int64_overflow(big)
        elif arr.dtype.kind in "fu" and (dtype is None or dtype == int64) and _may_hold_big_int(arr):
            # NumPy turns integers past int64 into uint64 ([2**63]) or, beside other
            # integers, float64 ([1, 2**63]): integer data must not silently become
            # either (PyTorch: "Overflow when unpacking long"). Floats in the data keep
            # it float ([1.0, 2**63]).
            big = _big_int(data, only_ints=True)
            if big is not None:
                raise _int64_overflow(big)
        if arr.dtype.kind == "f" and dtype is None and not (arr.dtype.itemsize >= 8 and _holds_float64(data)):
            arr = arr.astype(np.float32)  # Python float literals default to float32
    if arr.dtype.kind == "O":
        raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__} holding non-numeric values")
    if dtype is not None:
        if dtype == int64:
            _check_uint64(arr)
        arr = arr.astype(_np_dtype(dtype))
    elif arr.dtype.kind == "f":
        # native float32 or float64; non-native byte order ('>f8') is still float64
        arr = arr.astype(np.float64 if arr.dtype.itemsize >= 8 else np.float32, copy=False)
    elif arr.dtype.kind in "iu":
        _check_uint64(arr)
        arr = arr.astype(np.int64)
    elif arr.dtype.kind != "b":
        raise TypeError(f"tensor: unsupported data of NumPy dtype {arr.dtype}")
    if requires_grad and arr.dtype.kind != "f":
        raise TypeError(f"tensor: only floating point tensors can require gradients, got {arr.dtype}")
    return _core.from_numpy(arr, requires_grad)


# NOTE [float64 stays float64]: NumPy reads Python floats as float64, so an array built
# from a list cannot tell `[1.0]` (a literal: PyTorch's float32 default) from
# `[np.float64(1.0)]` (float64 data, which must not lose digits). `tensor` asks the
# data instead: anything that carries a dtype (`_carries_dtype`) keeps NumPy's reading
# of it, and a list is float64 only when `_holds_float64` finds such an element.

# Exact types of Python numbers: their floats are literals (np.float64 subclasses float,
# so exact types tell it apart; `_core.any_leaf` uses the same three).
_PY_NUMBERS = frozenset({float, int, bool})


def _carries_dtype(data: object) -> bool:
    """Whether ``data`` (not a list, tuple or Python number) is an array that says its
    own dtype: NumPy's array protocols or a buffer (``array.array``, ``memoryview``,
    ctypes). bytes and str are text to NumPy, not arrays of numbers."""
    if type(data) in _PY_NUMBERS or isinstance(data, (list, tuple, str, bytes)):
        return False
    if hasattr(data, "__array__") or hasattr(data, "__array_interface__") or hasattr(data, "__array_struct__"):
        return True
    try:
        memoryview(data).release()  # type: ignore[arg-type]  # the call is the test
    except TypeError:
        return False
    return True


def _is_float64(value: object) -> bool:
    """Whether one element of nested data is float64 data (not a Python float)."""
    if isinstance(value, Tensor):
        return value.dtype == float64
    if isinstance(value, (np.ndarray, np.generic)):
        dt = value.dtype
    elif _carries_dtype(value):
        try:
            dt = np.asarray(value).dtype
        except (ValueError, TypeError):
            return False
    else:
        return False
    return dt.kind == "f" and dt.itemsize >= 8


def _holds_float64(data: object) -> bool:
    """Whether nested Python ``data`` holds a float64 element that is not a Python
    float (NOTE [float64 stays float64]); ``_core.any_leaf`` walks the lists in Rust."""
    return _core.any_leaf(data, _is_float64)


_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def _int64_overflow(value: int) -> OverflowError:
    return OverflowError(f"tensor: the integer {value} in the data is out of the int64 range "
                         f"[{_INT64_MIN}, {_INT64_MAX}]")


def _big_int(data: object, only_ints: bool = False) -> int | None:
    """The first integer in nested ``data`` that int64 cannot hold, or None. With
    ``only_ints``, None as well when the data holds any non-integer (a float makes the
    tensor float, as in PyTorch)."""
    found = None
    stack = [data]
    while stack:
        d = stack.pop()
        if isinstance(d, (list, tuple)):
            stack.extend(reversed(d))
        elif isinstance(d, numbers.Integral):  # bools and NumPy ints included
            if found is None and not _INT64_MIN <= int(d) <= _INT64_MAX:
                found = int(d)
                if not only_ints:
                    return found
        elif only_ints:
            return None
    return found


def _may_hold_big_int(arr: npt.NDArray[Any]) -> bool:
    """Whether a float or unsigned array NumPy built from Python data may stand for an
    integer past int64: one vectorised test, so large float data is not walked."""
    if arr.size == 0:
        return False
    if arr.dtype.kind == "u":
        return bool(arr.max() > _INT64_MAX)
    if arr.size <= 32:
        # cheaper to let `_big_int` look: it stops at the first float
        return True
    return bool((np.abs(arr) >= 2.0 ** 63).any())  # NaN compares False, silently


def _check_uint64(arr: npt.NDArray[Any]) -> None:
    """OverflowError naming the first uint64 value int64 cannot hold (the cast would
    wrap it to a negative number). Other unsigned dtypes always fit."""
    if arr.dtype == np.uint64 and arr.size and arr.max() > _INT64_MAX:
        raise _int64_overflow(int(arr.ravel()[np.argmax(arr.ravel() > _INT64_MAX)]))


# The largest size a dim can have (isize::MAX in the core); a larger Python int would
# fail the conversion with a message that names neither the function nor the size.
_MAX_SIZE = 2 ** 63 - 1


def _int_arg(fn: str, name: str, value: Any) -> int:
    """``value`` as a size: TypeError for a non-integer, ValueError below 0 or above
    what a tensor can address."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{fn}: {name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{fn}: {name} must be non-negative, got {value}")
    if value > _MAX_SIZE:
        raise ValueError(f"{fn}: {name} {value} is too big to address")
    return int(value)


def _number_arg(fn: str, name: str, value: Any) -> Any:
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(value).__name__}")
    return value


def from_numpy(array: npt.NDArray[Any]) -> Tensor:
    """A tensor from a NumPy array, keeping its dtype (the data is copied).

    >>> lucid.from_numpy(np.array([1.0, 2.0]))
    tensor([1., 2.], dtype=lucid.float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return tensor(array)


def as_tensor(data: npt.ArrayLike | Tensor, dtype: _DTypeLike | None = None) -> Tensor:
    """``data`` itself when it is a Tensor of the requested dtype, else ``tensor(data)``
    (with its dtype rule: Python floats give float32, float64 data stays float64).

    >>> import numpy as np
    >>> lucid.as_tensor(np.array([1.0, 2.0])).dtype
    lucid.float64
    """
    if isinstance(data, Tensor) and (dtype is None or data.dtype == _resolve_dtype(dtype, "as_tensor")):
        return data
    return tensor(data, dtype=dtype)


def _shape(size: Any, fn: str = "size") -> list[int]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = []
    for s in size:
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"{fn}: size must be ints, got {type(s).__name__}")
        if s < 0:
            raise ValueError(f"{fn}: negative dimension {s} in size {tuple(size)}")
        if s > _MAX_SIZE:
            raise ValueError(f"{fn}: a tensor of size {tuple(size)} is too big to address")
        shape.append(int(s))
    return shape


def _finish(t: Tensor, requires_grad: bool, fn: str) -> Tensor:
    if requires_grad.__class__ is not bool:
        raise TypeError(f"{fn}: requires_grad must be a bool, got {type(requires_grad).__name__}")
    if requires_grad:
        t.requires_grad_(True)
    return t


@overload
def full(size: int, fill_value: float, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor: ...
@overload
def full(size: Sequence[int], fill_value: float, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor: ...
def full(size: Any, fill_value: float, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` (an int or a sequence) filled with ``fill_value``; the dtype
    follows the value (float32 for a float, int64 for an int, bool for a bool) unless
    ``dtype`` is given.

    >>> lucid.full((2, 2), 7.0)
    tensor([[7., 7.],
            [7., 7.]])
    """
    size = _shape((size,) if isinstance(size, numbers.Integral) else tuple(size), "full")
    _number_arg("full", "fill_value", fill_value)
    dtype = _resolve_dtype(dtype, "full") or (float32 if isinstance(fill_value, float) else
                                       bool_ if isinstance(fill_value, bool) else
                                       int64 if isinstance(fill_value, numbers.Integral) else float32)
    return _finish(_core.filled("full", size, float(fill_value), dtype), requires_grad, "full")


def zeros(*size: _SizeArg, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of ``size`` (ints, or one sequence), float32 unless ``dtype``
    says otherwise.

    >>> lucid.zeros(2, 3).shape, lucid.zeros((2,), dtype=lucid.int64)
    ((2, 3), tensor([0, 0]))
    """
    return _finish(_core.filled("zeros", _shape(size, "zeros"), 0.0, _resolve_dtype(dtype, "zeros") or float32), requires_grad, "zeros")


def ones(*size: _SizeArg, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of ``size`` (ints, or one sequence), float32 unless ``dtype`` says
    otherwise.

    >>> lucid.ones(2, dtype=lucid.float64)
    tensor([1., 1.], dtype=lucid.float64)
    """
    return _finish(_core.filled("ones", _shape(size, "ones"), 1.0, _resolve_dtype(dtype, "ones") or float32), requires_grad, "ones")


def empty(*size: _SizeArg, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` (zero-filled: Lucid never hands out uninitialised memory).

    >>> lucid.empty(2)
    tensor([0., 0.])
    """
    return _finish(_core.filled("empty", _shape(size, "empty"), 0.0, _resolve_dtype(dtype, "empty") or float32), requires_grad,
                   "empty")


def eye(n: int, m: int | None = None, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """The ``n × m`` identity matrix (``m = n`` by default), float32 unless told.

    >>> lucid.eye(2, 3)
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    n = _int_arg("eye", "n", n)
    m = None if m is None else _int_arg("eye", "m", m)
    return _finish(_core.identity(n, m, _resolve_dtype(dtype, "eye") or float32), requires_grad, "eye")


def arange(start: float, end: float | None = None, step: float = 1, dtype: _DTypeLike | None = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` (default 0) up to but excluding ``end`` by ``step``.

    int64 when all arguments are ints, float32 otherwise (unless ``dtype`` is given).

    >>> lucid.arange(4), lucid.arange(0, 1, 0.25)
    (tensor([0, 1, 2, 3]), tensor([0.  , 0.25, 0.5 , 0.75]))
    """
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        _number_arg("arange", name, v)
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = int64 if ints else float32
    return _finish(_core.arange(float(start), float(end), float(step), _resolve_dtype(dtype, "arange")), requires_grad, "arange")


def linspace(start: float, end: float, steps: int, dtype: _DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (float32 unless
    told).

    >>> lucid.linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    steps = _int_arg("linspace", "steps", steps)
    _number_arg("linspace", "start", start)
    _number_arg("linspace", "end", end)
    return _finish(_core.linspace(float(start), float(end), steps, _resolve_dtype(dtype, "linspace") or float32), requires_grad, "linspace")


def _like(fn: str, t: object) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: expected a Tensor, got {type(t).__name__}")
    return t


def zeros_like(t: Tensor, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and (unless told) dtype: a new leaf outside any graph.

    >>> lucid.zeros_like(lucid.tensor([[1, 2]]))
    tensor([[0, 0]])
    """
    t = _like("zeros_like", t)
    return _finish(_core.filled("zeros_like", list(t.shape), 0.0, _resolve_dtype(dtype, "zeros_like") or t.dtype), requires_grad, "zeros_like")


def ones_like(t: Tensor, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and (unless told) dtype: a new leaf outside any graph.

    >>> lucid.ones_like(lucid.tensor([1.0, 2.0]), dtype=lucid.float64)
    tensor([1., 1.], dtype=lucid.float64)
    """
    t = _like("ones_like", t)
    return _finish(_core.filled("ones_like", list(t.shape), 1.0, _resolve_dtype(dtype, "ones_like") or t.dtype), requires_grad, "ones_like")


def full_like(t: Tensor, fill_value: float, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in ``t``'s shape and (unless told) dtype: a new leaf.

    >>> lucid.full_like(lucid.zeros(2), 3.0)
    tensor([3., 3.])
    """
    t = _like("full_like", t)
    _number_arg("full_like", "fill_value", fill_value)
    return _finish(_core.filled("full_like", list(t.shape), float(fill_value), _resolve_dtype(dtype, "full_like") or t.dtype), requires_grad, "full_like")


class _GradMode(contextlib.ContextDecorator):
    """Sets this thread's grad mode for a ``with`` block or each call of a decorated
    function, restoring the mode found on entry."""

    mode: bool

    def __enter__(self) -> _GradMode:
        self.prev = _core.set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _core.set_grad_enabled(self.prev)
        return False

    def _recreate_cm(self) -> _GradMode:
        # a fresh manager per decorated call: reentrant and safe across threads
        return type(self)()


class no_grad(_GradMode):
    """Record no graph inside the block, or in each call of a decorated function, on this
    thread: ops run as on plain arrays (faster, no memory for derivatives), e.g. for a
    parameter update.

    >>> w = lucid.tensor([1.0], requires_grad=True)
    >>> with lucid.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradMode):
    """Record a graph inside the block (or decorated function) even within ``no_grad``.

    >>> w = lucid.tensor([1.0], requires_grad=True)
    >>> with lucid.no_grad(), lucid.enable_grad():
    ...     y = w * 2
    >>> y.requires_grad
    True
    """

    mode = True


class set_grad_enabled(contextlib.ContextDecorator):
    """Set grad mode on this thread for a ``with`` block or a decorated function.
    Called on its own it sets the mode immediately, as in PyTorch; used as a
    decorator it leaves the caller's mode alone until the function is called.

    >>> with lucid.set_grad_enabled(False):
    ...     lucid.is_grad_enabled()
    False
    >>> lucid.is_grad_enabled()
    True
    """

    def __init__(self, mode: bool):
        if mode.__class__ is not bool:
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self.mode = mode
        self.prev = _core.set_grad_enabled(self.mode)

    def __call__(self, func: _F) -> _F:
        _core.set_grad_enabled(self.prev)  # decorating must not change the mode
        return super().__call__(func)

    def __enter__(self) -> set_grad_enabled:
        _core.set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _core.set_grad_enabled(self.prev)
        return False

    def _recreate_cm(self) -> set_grad_enabled:
        return set_grad_enabled(self.mode)


def is_grad_enabled() -> bool:
    """Whether ops record a graph on this thread (True unless inside ``no_grad`` or
    ``set_grad_enabled(False)``).

    >>> lucid.is_grad_enabled()
    True
    """
    return _core.is_grad_enabled()
