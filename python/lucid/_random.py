"""Random constructors over Lucid's global generator (xoshiro256++ seeded by
splitmix64, in lucid-core): the same seed gives the same numbers on every run and
every machine. Before any ``manual_seed`` the generator starts from a fixed seed."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Sequence, Union, overload

from . import _core
from ._core import Tensor, float32, int64
from ._tensor import _finish, _resolve_dtype, _shape

if TYPE_CHECKING:
    from ._core import _DTypeLike, dtype as _dtype

    _SizeArg = Union[int, Sequence[int]]

__all__ = ["manual_seed", "rand", "randn", "randint", "rand_like", "randn_like"]

_U64 = 0xFFFF_FFFF_FFFF_FFFF


def manual_seed(seed: int) -> None:
    """Seed the global generator. ``seed`` is an int in
    ``[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff]``; negative seeds map to
    ``0xffff_ffff_ffff_ffff + seed`` (as in PyTorch).

    >>> lucid.manual_seed(0)
    >>> a = lucid.rand(3)
    >>> lucid.manual_seed(0)
    >>> bool((lucid.rand(3) == a).all())
    True
    """
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not -0x8000_0000_0000_0000 <= seed <= _U64:
        raise ValueError(f"manual_seed: seed must be within [-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], got {seed}")
    _core.manual_seed(seed if seed >= 0 else _U64 + seed)


def _size(op: str, size: Sequence[Any]) -> list[int]:
    """``size`` as varargs ints or one sequence (checked here: ``_shape`` would try to
    iterate a lone non-int)."""
    if len(size) == 1 and not isinstance(size[0], numbers.Integral) and not hasattr(size[0], "__iter__"):
        raise TypeError(f"{op}: size must be ints or a sequence of ints, got {type(size[0]).__name__}")
    return _shape(size, op)


def _float_dtype(op: str, dtype: _DTypeLike | None) -> _dtype:
    dtype = _resolve_dtype(dtype, op) or float32
    if not dtype.is_floating_point:
        raise TypeError(f"{op}: dtype must be a floating point dtype, got {dtype}")
    return dtype


def rand(*size: _SizeArg, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Samples uniform in [0, 1) of ``size`` (float32 unless told), from the global
    generator (see ``manual_seed``).

    >>> x = lucid.rand(2, 3)
    >>> x.shape, 0 <= x.min().item() and x.max().item() < 1
    ((2, 3), True)
    """
    return _finish(_core.rand(_size("rand", size), _float_dtype("rand", dtype)), requires_grad, "rand")


def randn(*size: _SizeArg, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of ``size`` (float32 unless told).

    >>> lucid.manual_seed(0)
    >>> x = lucid.randn(10_000, dtype=lucid.float64)
    >>> abs(x.mean().item()) < 0.05, abs(x.std().item() - 1) < 0.05
    (True, True)
    """
    return _finish(_core.randn(_size("randn", size), _float_dtype("randn", dtype)), requires_grad, "randn")


@overload
def randint(high: int, size: Sequence[int], /, *, dtype: _DTypeLike | None = None,
            requires_grad: bool = False) -> Tensor: ...
@overload
def randint(low: int, high: int, size: Sequence[int], /, *, dtype: _DTypeLike | None = None,
            requires_grad: bool = False) -> Tensor: ...
@overload
def randint(high: int, /, *, size: Sequence[int], dtype: _DTypeLike | None = None,
            requires_grad: bool = False) -> Tensor: ...
@overload
def randint(low: int, high: int, /, *, size: Sequence[int], dtype: _DTypeLike | None = None,
            requires_grad: bool = False) -> Tensor: ...
def randint(*args: Any, size: Any = None, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Integers uniform in ``[low, high)``: ``randint(high, size)`` or
    ``randint(low, high, size)`` as in PyTorch (int64 unless told).

    >>> x = lucid.randint(5, 10, (100,))
    >>> x.dtype, 5 <= x.min().item() and x.max().item() < 10
    (lucid.int64, True)
    """
    if size is None and args:
        *args, size = args  # type: ignore[assignment]  # a list where mypy wants the tuple
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"randint: {name} must be an int, got {type(v).__name__}")
        if not -2 ** 63 <= v < 2 ** 63:  # type: ignore[operator]  # numbers.Integral has no >=
            raise ValueError(f"randint: {name} must be within the int64 range [-2**63, 2**63), got {v}")
    if isinstance(size, numbers.Integral):
        raise TypeError("randint: size must be a tuple of ints, e.g. (3,)")
    dtype = _resolve_dtype(dtype, "randint") or int64
    if requires_grad and not dtype.is_floating_point:
        raise TypeError(f"randint: only floating point tensors can require gradients, got {dtype}")
    return _finish(_core.randint(int(low), int(high), _size("randint", tuple(size)), dtype), requires_grad, "randint")


def rand_like(input: Tensor, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) with the shape (and, unless told, dtype) of ``input``.

    >>> lucid.rand_like(lucid.zeros(2, dtype=lucid.float64)).dtype
    lucid.float64
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"rand_like: expected a Tensor, got {type(input).__name__}")
    return rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype: _DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples with the shape (and, unless told, dtype) of ``input``.

    >>> lucid.randn_like(lucid.zeros(2, 3)).shape
    (2, 3)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"randn_like: expected a Tensor, got {type(input).__name__}")
    return randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
