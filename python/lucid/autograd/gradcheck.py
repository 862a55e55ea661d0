"""``gradcheck``: compare analytic Jacobians with central differences in float64."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from .._tensor import no_grad, tensor
from .._core import Tensor
from .functional import _Func, _Inputs, _as_tuple, _outputs_as_tuple, jacobian

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytic and numerical Jacobians disagree; the message
    names the input, the entry and both values.

    >>> # floor jumps at 1: central differences across the jump are not its zero derivative
    >>> lucid.autograd.gradcheck(lambda x: x.floor(), lucid.tensor([0.9999999999], dtype=lucid.float64))
    Traceback (most recent call last):
        ...
    lucid.autograd.gradcheck.GradcheckError: gradcheck: Jacobian mismatch for input 0 ...
    """


def _flat_outputs(func: _Func, xs: Sequence[Tensor]) -> npt.NDArray[np.float64]:
    with no_grad():
        _, outs = _outputs_as_tuple(func(*xs), "gradcheck")
    return np.concatenate([np.asarray(o.numpy(), dtype=np.float64).ravel() for o in outs])


def gradcheck(func: _Func, inputs: _Inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Check ``func``'s analytic Jacobian against central differences.

    Inputs are copied to float64. For each input element ``k`` the numerical column is
    ``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)``; entries must satisfy
    ``|analytic - numerical| <= atol + rtol * |numerical|``. On failure raises
    :class:`GradcheckError` naming the worst entry (or returns False when
    ``raise_exception=False``).

    >>> lucid.autograd.gradcheck(lambda x: x.sin() * x, lucid.tensor([0.5, 1.0, 2.0]))
    True
    """
    _, ins = _as_tuple(inputs, "inputs", "gradcheck")
    for i, x in enumerate(ins):
        if not x.dtype.is_floating_point:
            raise TypeError(f"gradcheck: input {i} has dtype {x.dtype.name}; only floating point inputs can be differentiated")
    base = [np.array(x.numpy(), dtype=np.float64) for x in ins]
    xs = tuple(tensor(b) for b in base)
    analytic = jacobian(func, xs, vectorize=True)
    worst: tuple[Any, int, Any, Any, float, float] | None = None  # (excess over tolerance, input, row, column, analytic, numerical)
    for j, (b, block) in enumerate(zip(base, analytic)):
        a = np.asarray(block.numpy(), dtype=np.float64)
        num = np.zeros_like(a)
        flat = b.ravel()
        for k in range(flat.size):
            plus = flat.copy()
            plus[k] += eps
            minus = flat.copy()
            minus[k] -= eps
            args_p = list(xs)
            args_m = list(xs)
            args_p[j] = tensor(plus.reshape(b.shape))
            args_m[j] = tensor(minus.reshape(b.shape))
            num[:, k] = (_flat_outputs(func, args_p) - _flat_outputs(func, args_m)) / (2 * eps)
        if not a.size:
            continue
        # a non-finite analytic or numerical entry counts as an infinite mismatch
        err = np.abs(a - num) - (atol + rtol * np.abs(num))
        err = np.where(np.isfinite(err), err, np.inf)
        r, c = np.unravel_index(int(np.argmax(err)), err.shape)
        if err[r, c] > 0 and (worst is None or err[r, c] > worst[0]):
            worst = (err[r, c], j, int(r), int(c), float(a[r, c]), float(num[r, c]))
    if worst is not None:
        _, j, r, c, av, nv = worst
        if raise_exception:
            raise GradcheckError(
                f"gradcheck: Jacobian mismatch for input {j} at output row {r}, input element {c} (the worst entry): "
                f"analytic {av!r} vs numerical {nv!r} (atol={atol}, rtol={rtol})"
            )
        return False
    return True


