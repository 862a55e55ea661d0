"""Automatic differentiation: ``grad`` and ``backward`` on recorded graphs, and the
functional API (``jacobian``, ``value_and_jacobian``, ``hessian``, ``vjp``, ``jvp``,
``hvp``, ``vhp``, ``sparsity``, ``gradcheck``) that differentiates a Python function at
given inputs.

>>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
>>> lucid.autograd.grad((x ** 3).sum(), x)
(tensor([ 3., 12.]),)
>>> lucid.autograd.jacobian(lambda x: x ** 3, lucid.tensor([1.0, 2.0]))
tensor([[ 3.,  0.],
        [ 0., 12.]])
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence, Union, overload

from .. import _core
from .._core import Tensor
from .._tensor import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .functional import jacobian, value_and_jacobian, hessian, vjp, jvp, hvp, vhp, sparsity, sparsity_cache_clear
from .gradcheck import gradcheck, GradcheckError

__all__ = [
    "grad", "backward", "jacobian", "value_and_jacobian", "hessian", "vjp", "jvp", "hvp", "vhp", "sparsity",
    "sparsity_cache_clear", "gradcheck",
    "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
]


# One Tensor or a sequence of them (``grad``'s ``outputs``, ``inputs``, ...), and the
# same where None stands for "ones" (``grad_outputs``).
_Tensors = Union[Tensor, Sequence[Tensor]]
_OptionalTensors = Optional[Union[Tensor, Sequence[Optional[Tensor]]]]


@overload
def _tensor_seq(value: Any, name: str, fn: str, allow_none: Literal[False] = False) -> list[Tensor]: ...
@overload
def _tensor_seq(value: Any, name: str, fn: str, allow_none: Literal[True]) -> list[Tensor | None]: ...
def _tensor_seq(value: Any, name: str, fn: str, allow_none: bool = False) -> list[Tensor] | list[Tensor | None]:
    items = [value] if isinstance(value, Tensor) or (allow_none and value is None) else value
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be a Tensor or a sequence of Tensors, got {type(value).__name__}") from None
    for i, t in enumerate(items):
        if not (isinstance(t, Tensor) or (allow_none and t is None)):
            raise TypeError(f"{fn}: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return items


def grad(outputs: _Tensors, inputs: _Tensors, grad_outputs: _OptionalTensors = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, as a tuple (one per input).

    ``grad_outputs`` weights each output (required for outputs with more than one
    element). Leaf ``.grad`` is not touched. An input the outputs do not depend on
    raises RuntimeError unless ``allow_unused=True`` (then its entry is None). The graph
    is freed unless ``retain_graph`` (default: ``create_graph``); ``create_graph=True``
    records the gradient computation, so the gradients can be differentiated again.

    >>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x ** 3).sum()
    >>> (g,) = lucid.autograd.grad(y, x, create_graph=True)
    >>> g                                    # 3x²
    tensor([ 3., 12.], grad_fn=<mul>)
    >>> lucid.autograd.grad(g.sum(), x)      # d/dx Σ 3x² = 6x
    (tensor([ 6., 12.]),)
    """
    outs = _tensor_seq(outputs, "outputs", "grad")
    ins = _tensor_seq(inputs, "inputs", "grad")
    if grad_outputs is None:
        gos: list[Tensor | None] = [None] * len(outs)
    else:
        gos = _tensor_seq(grad_outputs, "grad_outputs", "grad", allow_none=True)
    if retain_graph is None:
        retain_graph = create_graph
    return tuple(_core.grad(outs, ins, gos, bool(retain_graph), bool(create_graph), bool(allow_unused)))


def backward(tensors: _Tensors, grad_tensors: _OptionalTensors = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of every leaf that
    requires grad (``grad_tensors`` weights each one, as ``gradient`` in
    ``Tensor.backward``); gradients add to what ``.grad`` already holds.

    >>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
    >>> lucid.autograd.backward([(x * x).sum(), x.sum()])
    >>> x.grad                               # 2x + 1
    tensor([3., 5.])
    """
    outs = _tensor_seq(tensors, "tensors", "backward")
    if grad_tensors is None:
        gos: list[Tensor | None] = [None] * len(outs)
    else:
        gos = _tensor_seq(grad_tensors, "grad_tensors", "backward", allow_none=True)
    if retain_graph is None:
        retain_graph = create_graph
    _core.backward(outs, gos, bool(retain_graph), bool(create_graph))
