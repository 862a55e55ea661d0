"""Lucid: tensors with exact automatic differentiation and fast Jacobians.

The core is Rust (``lucid._core``); this package adds constructors, dtype rules and
the functional autograd API (``lucid.autograd``).

>>> import lucid
>>> from lucid.autograd import jacobian
>>> jacobian(lambda x: x * x, lucid.tensor([1.0, 2.0, 3.0])).shape
(3, 3)
"""

from __future__ import annotations

import typing as _typing

from . import _core
from ._core import Tensor, dtype, float32, float64, int64, bool_, cat, stack
from ._core import where as _where
from ._tensor import (
    tensor, from_numpy, as_tensor, zeros, ones, full, empty, eye, arange, linspace,
    zeros_like, ones_like, full_like, no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
)
from ._random import manual_seed, rand, randn, randint, rand_like, randn_like
from ._ops import *  # noqa: F401,F403  (one function per Tensor op: lucid.exp(x), …)
from ._ops import __all__ as _op_names
from . import autograd
from ._core import einsum
from . import linalg
from .linalg import inv, slogdet, solve
from ._tape import tape, Tape
from . import _inplace  # noqa: F401  (Tensor's in-place name_ methods)
from . import func
from ._core import from_dlpack
from . import _numpy_protocol

_numpy_protocol.install()

if _typing.TYPE_CHECKING:
    from ._core import _Operand

float = float32  # noqa: A001  (PyTorch's aliases)
double = float64
long = int64
bool = bool_  # noqa: A001

__version__ = "0.1.0"


def where(condition: Tensor, input: _Operand, other: _Operand) -> Tensor:
    """Elementwise ``input if condition else other`` with broadcasting (numbers take the
    other operand's dtype); differentiable in ``input`` and ``other``, each getting the
    cotangent where it was chosen.

    >>> x = lucid.tensor([-1.0, 2.0])
    >>> lucid.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    return _where(condition, input, other)


def concatenate(tensors: _typing.Sequence[Tensor], dim: int = 0) -> Tensor:
    """NumPy's name for :func:`cat`.

    >>> lucid.concatenate([lucid.zeros(1), lucid.ones(1)])
    tensor([0., 1.])
    """
    return cat(tensors, dim)


__all__ = [
    "Tensor", "dtype", "float32", "float64", "int64", "bool_", "float", "double", "long",
    "tensor", "from_numpy", "as_tensor", "zeros", "ones", "full", "empty", "eye", "arange",
    "linspace", "zeros_like", "ones_like", "full_like", "cat", "concatenate", "stack", "where",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "autograd",
    "linalg", "func", "einsum", "inv", "slogdet", "solve", "tape", "Tape", "from_dlpack",
    "manual_seed", "rand", "randn", "randint", "rand_like", "randn_like",
    *_op_names,
]
