"""The NumPy array functions Lucid runs on Tensors (``np.sum``, ``np.reshape``,
``np.concatenate``, ``np.linalg.inv``, …), each with NumPy's signature, and the operand
rules shared with the ufuncs. ``lucid._numpy_protocol`` dispatches to ``FUNCTIONS``;
NOTE [NumPy on Tensors] there says why a function is here, refused, or neither.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy as np

from . import _core, linalg
from ._core import Tensor
from ._tensor import _resolve_dtype, tensor, zeros_like, ones_like, full_like

# ---- operands --------------------------------------------------------------------------


def _lift(x: Any, like: Any = None) -> Tensor:
    """``x`` as a Tensor. A number next to a floating tensor takes its dtype (PyTorch's
    rule, as in ``t * 2``); arrays keep theirs (``lucid.tensor``)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and like.dtype.is_floating_point and isinstance(x, (int, float, np.number, np.bool_)):
        return tensor(x, dtype=like.dtype)
    return tensor(x)


def _lifted(x: Any, dtype: Any) -> Tensor:
    """``x`` as a Tensor, converted to NumPy's ``dtype=`` argument when given."""
    t = _lift(x)
    return t if dtype is None else t.to(_resolve_dtype(dtype))


def _first_tensor(xs: Any) -> Any:
    return next((x for x in xs if isinstance(x, Tensor)), None)


def _operand(x: Any) -> Any:
    """The other operand of a Tensor method: numbers pass through (the method applies
    the scalar rule itself), arrays and lists become Tensors."""
    if isinstance(x, (Tensor, int, float, np.number, np.bool_)):
        return x
    return tensor(x)


def _requires_grad(values: Any) -> bool:
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, Tensor):
            if v.requires_grad:
                return True
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return False


def _refuse(name: str, values: Any, lucid_hint: str | None = None) -> TypeError:
    conv = "t.detach().numpy()" if _requires_grad(values) else "t.numpy()"
    hint = f"use {lucid_hint} instead" if lucid_hint else "Lucid has no equivalent op"
    return TypeError(
        f"{name} is not supported on lucid.Tensor: {hint}. Lucid does not pass Tensors to NumPy "
        f"implicitly, so that no derivative is silently lost; to compute it in NumPy, call it on "
        f"{conv} explicitly (the result has no derivatives)"
    )


def _no(name: str, **given: Any) -> Any:
    """TypeError for NumPy arguments Lucid does not take (given as not None)."""
    for arg, value in given.items():
        if value is None or (arg == "where" and value is True):
            continue
        if arg == "out":
            raise TypeError(f"{name}: out= is not supported with lucid.Tensor (NumPy would write the "
                            f"result outside the autograd graph); use the returned Tensor")
        raise TypeError(f"{name}: {arg}={value!r} is not supported with lucid.Tensor")


# ---- array functions -------------------------------------------------------------------

FUNCTIONS: dict[Any, Callable[..., Any]] = {}
_NOTHING = object()


_F = TypeVar("_F", bound=Callable[..., Any])


def _implements(*names: str) -> Callable[[_F], _F]:
    """Register an implementation for the NumPy functions ``names`` ("linalg.inv" for
    ``np.linalg.inv``) that this NumPy has."""
    def register(impl: _F) -> _F:
        for name in names:
            owner: Any = np
            for part in name.split("."):
                owner = getattr(owner, part, None)
            if owner is not None:
                FUNCTIONS[owner] = impl
        return impl
    return register


def _reduction(method: str, *names: str) -> None:
    def impl(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
            initial: Any = None, where: Any = None) -> Any:
        _no(f"np.{names[0]}", out=out, initial=initial, where=where)
        t = _lifted(a, dtype)
        return getattr(t, method)(axis, keepdims)
    _implements(*names)(impl)


_reduction("sum", "sum")
_reduction("prod", "prod")


@_implements("mean")
def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False, *,
        where: Any = None) -> Any:
    _no("np.mean", out=out, where=where)
    t = _lifted(a, dtype)
    return t.mean(axis, keepdims)


def _extremum(method: str, *names: str) -> None:
    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False, initial: Any = None,
            where: Any = None) -> Any:
        _no(f"np.{names[0]}", out=out, initial=initial, where=where)
        return getattr(_lift(a), method)(axis, keepdims)
    _implements(*names)(impl)


_extremum("amax", "max", "amax")
_extremum("amin", "min", "amin")


def _index_reduction(method: str, name: str) -> None:
    def impl(a: Any, axis: Any = None, out: Any = None, *, keepdims: Any = False) -> Any:
        _no(f"np.{name}", out=out)
        return getattr(_lift(a), method)(axis, keepdims)
    _implements(name)(impl)


_index_reduction("argmax", "argmax")
_index_reduction("argmin", "argmin")


def _logical_reduction(method: str, name: str) -> None:
    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False, *, where: Any = None) -> Any:
        _no(f"np.{name}", out=out, where=where)
        return getattr(_lift(a), method)(axis, keepdims)
    _implements(name)(impl)


_logical_reduction("any", "any")
_logical_reduction("all", "all")


def _spread(method: str, name: str) -> None:
    def impl(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: Any = False, *, where: Any = None, mean: Any = None,
            correction: Any = None) -> Any:
        _no(f"np.{name}", out=out, where=where, mean=mean)
        t = _lifted(a, dtype)
        # NumPy divides by n - ddof (ddof=0 by default); Lucid's default is PyTorch's n - 1
        return getattr(t, method)(axis, keepdim=keepdims, correction=ddof if correction is None else correction)
    _implements(name)(impl)


_spread("var", "var")
_spread("std", "std")


def _scan(method: str, *names: str) -> None:
    def impl(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, **kw: Any) -> Any:
        include_initial = kw.pop("include_initial", False)
        _no(f"np.{names[0]}", out=out, include_initial=include_initial or None, **kw)
        t = _lifted(a, dtype)
        if axis is None:  # NumPy scans the flattened array
            t, axis = t.flatten(), 0
        return getattr(t, method)(axis)
    _implements(*names)(impl)


_scan("cumsum", "cumsum", "cumulative_sum")
_scan("cumprod", "cumprod", "cumulative_prod")


@_implements("average")
def _average(a: Any, axis: Any = None, weights: Any = None, returned: Any = False, *,
        keepdims: Any = False) -> Any:
    _no("np.average", returned=returned or None)
    t = _lift(a)
    if weights is None:
        return t.mean(axis, keepdims)
    w = _lift(weights, like=t)
    if w.shape != t.shape:
        if axis is None or w.ndim != 1:
            raise TypeError("np.average: weights of another shape than the data need an int axis and 1-D weights")
        w = w.reshape(*[-1 if d == axis % t.ndim else 1 for d in range(t.ndim)])
    return (t * w).sum(axis, keepdims) / (w.expand(*t.shape) if w.shape != t.shape else w).sum(axis, keepdims)


@_implements("sort")
def _sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    _no("np.sort", order=order)
    t = _lift(a)
    if axis is None:
        t, axis = t.flatten(), 0
    return t.sort(axis, stable=bool(stable) or kind == "stable")[0]


@_implements("argsort")
def _argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    _no("np.argsort", order=order)
    t = _lift(a)
    if axis is None:
        t, axis = t.flatten(), 0
    return t.argsort(axis, stable=bool(stable) or kind == "stable")


# ---- shapes ----------------------------------------------------------------------------


def _check_order(name: str, order: Any) -> Any:
    if order not in ("C", "K", "A", None):
        raise TypeError(f"{name}: order={order!r} is not supported; Lucid tensors are read in C (row-major) order")


@_implements("reshape")
def _reshape(a: Any, shape: Any = _NOTHING, order: Any = "C", *, newshape: Any = _NOTHING,
        copy: Any = None) -> Any:
    _check_order("np.reshape", order)
    shape = newshape if shape is _NOTHING else shape
    if shape is _NOTHING:
        raise TypeError("np.reshape: the shape is missing")
    return _lift(a).reshape(*((shape,) if isinstance(shape, int) else shape))


@_implements("ravel")
def _ravel(a: Any, order: Any = "C") -> Any:
    _check_order("np.ravel", order)
    return _lift(a).flatten()


@_implements("transpose", "permute_dims")
def _transpose(a: Any, axes: Any = None) -> Any:
    t = _lift(a)
    return t.permute(*(reversed(range(t.ndim)) if axes is None else axes))


@_implements("matrix_transpose", "linalg.matrix_transpose")
def _matrix_transpose(x: Any) -> Any:
    return _lift(x).mT


@_implements("swapaxes")
def _swapaxes(a: Any, axis1: Any, axis2: Any) -> Any:
    return _lift(a).transpose(axis1, axis2)


def _axes(axes: Any, ndim: int, name: str) -> list[int]:
    axes = [axes] if isinstance(axes, int) else list(axes)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(ax, ndim) if hasattr(np, "exceptions") else IndexError(
                f"{name}: axis {ax} is out of bounds for {ndim} dims")
        out.append(ax % ndim)
    return out


@_implements("moveaxis")
def _moveaxis(a: Any, source: Any, destination: Any) -> Any:
    t = _lift(a)
    src, dst = _axes(source, t.ndim, "np.moveaxis"), _axes(destination, t.ndim, "np.moveaxis")
    if len(src) != len(dst):
        raise ValueError("np.moveaxis: `source` and `destination` must have the same number of elements")
    order = [n for n in range(t.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):  # NumPy's own construction
        order.insert(d, s)
    return t.permute(*order)


@_implements("squeeze")
def _squeeze(a: Any, axis: Any = None) -> Any:
    t = _lift(a)
    if axis is None or isinstance(axis, int):
        return t.squeeze(axis)
    for ax in sorted(_axes(axis, t.ndim, "np.squeeze"), reverse=True):
        t = t.squeeze(ax)
    return t


@_implements("expand_dims")
def _expand_dims(a: Any, axis: Any) -> Any:
    t = _lift(a)
    n = (1 if isinstance(axis, int) else len(axis)) + t.ndim
    for ax in sorted(_axes(axis, n, "np.expand_dims")):
        t = t.unsqueeze(ax)
    return t


@_implements("flip")
def _flip(m: Any, axis: Any = None) -> Any:
    t = _lift(m)
    return t.flip(tuple(range(t.ndim)) if axis is None else axis)


@_implements("roll")
def _roll(a: Any, shift: Any, axis: Any = None) -> Any:
    return _lift(a).roll(shift, axis)


@_implements("tile")
def _tile(A: Any, reps: Any) -> Any:
    return _lift(A).tile((reps,) if isinstance(reps, int) else tuple(reps))


@_implements("broadcast_to")
def _broadcast_to(array: Any, shape: Any, subok: Any = False) -> Any:
    return _lift(array).broadcast_to((shape,) if isinstance(shape, int) else tuple(shape))


@_implements("diagonal")
def _diagonal(a: Any, offset: Any = 0, axis1: Any = 0, axis2: Any = 1) -> Any:
    return _lift(a).diagonal(offset, axis1, axis2)


@_implements("trace")
def _trace(a: Any, offset: Any = 0, axis1: Any = 0, axis2: Any = 1, dtype: Any = None,
        out: Any = None) -> Any:
    _no("np.trace", out=out)
    t = _lifted(a, dtype)
    return t.diagonal(offset, axis1, axis2).sum(-1)


@_implements("diag")
def _diag(v: Any, k: Any = 0) -> Any:
    return _lift(v).diag(k)


@_implements("tril")
def _tril(m: Any, k: Any = 0) -> Any:
    return _lift(m).tril(k)


@_implements("triu")
def _triu(m: Any, k: Any = 0) -> Any:
    return _lift(m).triu(k)


@_implements("diff")
def _diff(a: Any, n: Any = 1, axis: Any = -1, prepend: Any = None, append: Any = None) -> Any:
    _no("np.diff", prepend=prepend, append=append)
    t = _lift(a)
    for _ in range(n):  # x[1:] - x[:-1] along axis, n times
        size = t.shape[axis]
        t = t.narrow(axis, 1, max(size - 1, 0)) - t.narrow(axis, 0, max(size - 1, 0))
    return t


def _pieces(t: Tensor, bounds: Any, axis: int) -> Any:
    size = t.shape[axis]
    out = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        start, stop = min(max(start, 0), size), min(max(stop, 0), size)
        out.append(t.narrow(axis, start, max(stop - start, 0)))
    return out


@_implements("split")
def _split(ary: Any, indices_or_sections: Any, axis: Any = 0) -> Any:
    t = _lift(ary)
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0 or t.shape[axis] % n:
            raise ValueError("np.split: array split does not result in an equal division")
        step = t.shape[axis] // n
        return _pieces(t, [k * step for k in range(n + 1)], axis)
    return _pieces(t, [0, *indices_or_sections, t.shape[axis]], axis)


@_implements("array_split")
def _array_split(ary: Any, indices_or_sections: Any, axis: Any = 0) -> Any:
    t = _lift(ary)
    if isinstance(indices_or_sections, int):
        n, size = indices_or_sections, t.shape[axis]
        if n <= 0:
            raise ValueError("np.array_split: number sections must be larger than 0")
        big, extra = divmod(size, n)  # the first `extra` pieces have one more element
        bounds = [0]
        for k in range(n):
            bounds.append(bounds[-1] + big + (k < extra))
        return _pieces(t, bounds, axis)
    return _pieces(t, [0, *indices_or_sections, t.shape[axis]], axis)


# ---- joining, selecting, products ------------------------------------------------------


def _join(name: str, joiner: Any) -> Any:
    def impl(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: Any = None) -> Any:
        _no(f"np.{name}", out=out, casting=casting)
        like = _first_tensor(arrays)
        ts = [_lift(x, like) for x in arrays]
        if dtype is not None:
            ts = [x.to(_resolve_dtype(dtype)) for x in ts]
        if axis is None:
            ts, axis = [x.flatten() for x in ts], 0
        return joiner(ts, axis)
    return impl


_implements("concatenate", "concat")(_join("concatenate", _core.cat))
_implements("stack")(_join("stack", _core.stack))


@_implements("where")
def _where(condition: Any, x: Any = _NOTHING, y: Any = _NOTHING) -> Any:
    if x is _NOTHING and y is _NOTHING:
        raise _refuse("np.where(condition)", [condition], "lucid.where(condition, x, y) with both branches")
    if x is _NOTHING or y is _NOTHING:
        raise ValueError("np.where: either both or neither of x and y should be given")
    like = _first_tensor([x, y])
    cond = _lift(condition)
    return _core.where(cond, _lift(x, like), _lift(y, like))


@_implements("clip")
def _clip(a: Any, a_min: Any = _NOTHING, a_max: Any = _NOTHING, out: Any = None, *, min: Any = _NOTHING,
        max: Any = _NOTHING, **kwargs: Any) -> Any:  # noqa: A002
    _no("np.clip", out=out, **kwargs)
    lo = min if a_min is _NOTHING else a_min
    hi = max if a_max is _NOTHING else a_max
    lo, hi = (None if v is _NOTHING else v for v in (lo, hi))
    t = _lift(a)
    if lo is None and hi is None:
        return t
    return t.clamp(None if lo is None else _operand(lo), None if hi is None else _operand(hi))


@_implements("round", "around")
def _round(a: Any, decimals: Any = 0, out: Any = None) -> Any:
    _no("np.round", out=out)
    return _lift(a).round(decimals)


@_implements("dot")
def _dot(a: Any, b: Any, out: Any = None) -> Any:
    _no("np.dot", out=out)
    like = _first_tensor([a, b])
    a, b = _lift(a, like), _lift(b, like)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim == 1 and b.ndim == 1:
        return a.dot(b)
    if a.ndim <= 2 and b.ndim <= 2:
        return a.matmul(b)
    raise TypeError("np.dot of arrays with more than 2 dims sums over the last dim of a and the "
                    "second-to-last of b; write it with lucid.einsum (lucid.matmul broadcasts instead)")


@_implements("vecdot", "linalg.vecdot")
def _vecdot(x1: Any, x2: Any, *, axis: Any = -1, **kwargs: Any) -> Any:
    _no("np.vecdot", **kwargs)
    like = _first_tensor([x1, x2])
    return (_lift(x1, like) * _lift(x2, like)).sum(axis)


@_implements("outer", "linalg.outer")
def _outer(a: Any, b: Any, out: Any = None) -> Any:
    _no("np.outer", out=out)
    like = _first_tensor([a, b])
    return _lift(a, like).flatten().outer(_lift(b, like).flatten())


@_implements("cross", "linalg.cross")
def _cross(a: Any, b: Any, axisa: Any = -1, axisb: Any = -1, axisc: Any = -1, axis: Any = None) -> Any:
    like = _first_tensor([a, b])
    if axis is None and (axisa, axisb, axisc) != (-1, -1, -1):
        raise TypeError("np.cross: separate axisa/axisb/axisc are not supported; move the axes first")
    return _lift(a, like).cross(_lift(b, like), dim=-1 if axis is None else axis)


@_implements("einsum")
def _einsum(subscripts: Any, *operands: Any, out: Any = None, dtype: Any = None, order: Any = "K",
        casting: Any = "safe", optimize: Any = False) -> Any:
    # `optimize` only picks the contraction order, never the result
    _no("np.einsum", out=out, dtype=dtype)
    if not isinstance(subscripts, str):
        raise TypeError("np.einsum: only the subscripts-string form is supported on lucid.Tensor")
    like = _first_tensor(operands)
    return _core.einsum(subscripts, *(_lift(x, like) for x in operands))


@_implements("linalg.inv")
def _inv(a: Any) -> Any:
    return linalg.inv(_lift(a))


@_implements("linalg.det")
def _det(a: Any) -> Any:
    return linalg.det(_lift(a))


@_implements("linalg.slogdet")
def _slogdet(a: Any) -> Any:
    return linalg.slogdet(_lift(a))


@_implements("linalg.solve")
def _solve(a: Any, b: Any) -> Any:
    like = _first_tensor([a, b])
    return linalg.solve(_lift(a, like), _lift(b, like))


@_implements("linalg.cholesky")
def _cholesky(a: Any, *, upper: Any = False) -> Any:
    return linalg.cholesky(_lift(a), upper=upper)


@_implements("linalg.norm")
def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: Any = False) -> Any:  # noqa: A002
    return linalg.norm(_lift(x), ord, axis, keepdims)


@_implements("linalg.vector_norm")
def _vector_norm(x: Any, *, axis: Any = None, keepdims: Any = False, ord: Any = 2) -> Any:  # noqa: A002
    return linalg.vector_norm(_lift(x), ord, axis, keepdims)


@_implements("linalg.matrix_norm")
def _matrix_norm(x: Any, *, keepdims: Any = False, ord: Any = "fro") -> Any:  # noqa: A002
    return linalg.matrix_norm(_lift(x), ord, (-2, -1), keepdims)


# ---- constructors and dtypes -----------------------------------------------------------


def _like(name: str, make: Any) -> None:
    def impl(a: Any, *args: Any, dtype: Any = None, order: Any = "K", subok: Any = True, shape: Any = None,
            device: Any = None) -> Any:
        _no(f"np.{name}", shape=shape, device=None if device in (None, "cpu") else device)
        return make(_lift(a), *args, dtype=_resolve_dtype(dtype))
    _implements(name)(impl)


_like("zeros_like", zeros_like)
_like("empty_like", zeros_like)
_like("ones_like", ones_like)
_like("full_like", full_like)


@_implements("astype")
def _astype(x: Any, dtype: Any, *, copy: Any = True, device: Any = None) -> Any:
    return _lift(x).to(_resolve_dtype(dtype))


# ---- values that carry no derivative ---------------------------------------------------


def _values(x: Any) -> Any:
    # an explicit read of the values, as `bool(t > 0)` is: a tape guards it
    return x.numpy() if isinstance(x, Tensor) else x


def _on_values(fn: Any) -> Any:
    def impl(*args: Any, **kwargs: Any) -> Any:
        return fn(*(_values(a) for a in args), **{k: _values(v) for k, v in kwargs.items()})
    return impl


for _name in ("allclose", "isclose", "array_equal", "array_equiv"):
    _implements(_name)(_on_values(getattr(np, _name)))


@_implements("shape")
def _shape(a: Any) -> Any:
    return tuple(a.shape) if isinstance(a, Tensor) else np.shape(a)


@_implements("ndim")
def _ndim(a: Any) -> Any:
    return a.ndim if isinstance(a, Tensor) else np.ndim(a)


@_implements("size")
def _size(a: Any, axis: Any = None) -> Any:
    if not isinstance(a, Tensor):
        return np.size(a, axis)
    return a.numel() if axis is None else a.shape[axis]


# The nearest Lucid spelling of array functions Lucid cannot run as they are.
FUNCTION_HINTS = {
    "copy": "Tensor.clone() (differentiable) or lucid.tensor(t) (a new leaf)",
    "tensordot": "lucid.einsum", "inner": "lucid.einsum or Tensor.dot",
    "nonzero": "a boolean mask with lucid.where", "argwhere": "a boolean mask with lucid.where",
    "take": "lucid.index_select or lucid.gather", "take_along_axis": "lucid.gather",
    "put_along_axis": "lucid.scatter", "atleast_1d": "Tensor.reshape", "atleast_2d": "Tensor.reshape",
    "repeat": "Tensor.repeat (which tiles) or indexing", "nansum": "lucid.where(lucid.isnan(x), 0, x).sum()",
    "logsumexp": "lucid.logsumexp",
}
