"""The functional API: differentiate a Python function at given inputs.

Each entry point runs ``func`` once under grad mode on leaves made from the inputs
(the caller's tensors are never mutated), then hands the recorded graph to one Rust
call, which sweeps it with the GIL released. See ``lucid_core::functional``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Literal, Optional, Sequence, Tuple, Union, overload

from .. import _core
from .._core import Tensor
from . import _sparse

if TYPE_CHECKING:
    # A recorded graph: (inputs_were_tuple, leaves, outputs_were_tuple, outputs).
    _Recorded = Tuple[bool, List[Tensor], bool, Sequence[Tensor]]
    from .._core import _Strategy

# What ``func`` may return, what it is, what ``inputs`` may be (a Tensor, or a tuple or
# list of them), and ``v`` (spelled with typing's Union and Tuple: these run on Python
# 3.9).
_Outputs = Union[Tensor, Tuple[Tensor, ...]]
_Func = Callable[..., _Outputs]
_Inputs = Union[Tensor, Sequence[Tensor]]
_TupleInputs = Union[Tuple[Tensor, ...], List[Tensor]]
_Vectors = Optional[Union[Tensor, Sequence[Tensor]]]

__all__ = ["jacobian", "value_and_jacobian", "hessian", "vjp", "jvp", "hvp", "vhp", "sparsity", "sparsity_cache_clear"]


def _as_tuple(value: object, arg: str, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """``(was_tuple, tuple_of_tensors)``; TypeError naming the offending entry."""
    if isinstance(value, Tensor):
        return False, (value,)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{fn}: {arg} must be a Tensor or a tuple of Tensors, got {type(value).__name__}")
    for i, t in enumerate(value):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {arg}[{i}] must be a Tensor, got {type(t).__name__}")
    return True, tuple(value)


def _outputs_as_tuple(value: object, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    if isinstance(value, Tensor):
        return False, (value,)
    if isinstance(value, (tuple, list)):
        for i, t in enumerate(value):
            if not isinstance(t, Tensor):
                raise TypeError(f"{fn}: the function must return a Tensor or a tuple of Tensors; output {i} is {type(t).__name__}")
        if not value:
            raise TypeError(f"{fn}: the function returned an empty tuple")
        return True, tuple(value)
    raise TypeError(f"{fn}: the function must return a Tensor or a tuple of Tensors, got {type(value).__name__}")


def _record(func: _Func, inputs: _Inputs, fn: str) -> _Recorded:
    """Run ``func`` once on fresh leaves; returns (inputs_were_tuple, leaves, outputs_were_tuple, outputs)."""
    in_tuple, ins = _as_tuple(inputs, "inputs", fn)
    if not ins:
        raise TypeError(f"{fn}: inputs must not be empty")
    leaves = _core.prepare_inputs(fn, list(ins))
    if not callable(func):
        raise TypeError(f"{fn}: func must be callable, got {type(func).__name__}")
    previous = _core.set_grad_enabled(True)  # enable_grad() without its object
    try:
        raw = func(*leaves)
    finally:
        _core.set_grad_enabled(previous)
    out_tuple, outs = _outputs_as_tuple(raw, fn)
    return in_tuple, leaves, out_tuple, outs


# NOTE [who checks the functional flags] (crates/lucid-python/src/args.rs): each entry
# point lets the valid defaults through with identity tests, which cost next to nothing
# on every call, and hands anything else to ``_core.check_options`` before ``func`` runs:
# one check, and one message, per mistake (the Rust API checks its options the same way).
_STRATEGIES = ("reverse-mode", "forward-mode", "auto")


def _finish_outputs(outs: Sequence[Tensor], out_tuple: bool, create_graph: bool) -> _Outputs:
    outs = tuple(o if create_graph else o.detach() for o in outs)
    return outs if out_tuple else outs[0]


@overload
def jacobian(func: _Func, inputs: Tensor, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
             chunk_size: int | None = ..., strategy: _Strategy = ..., sparse: Literal[False] = ...) -> Tensor: ...
@overload
def jacobian(func: _Func, inputs: _TupleInputs, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
             chunk_size: int | None = ..., strategy: _Strategy = ...,
             sparse: Literal[False] = ...) -> tuple[Tensor, ...]: ...
@overload  # sparse=True: scipy.sparse.csr_array blocks (SciPy is not typed)
def jacobian(func: _Func, inputs: _Inputs, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
             chunk_size: int | None = ..., strategy: _Strategy = ..., *, sparse: bool) -> Any: ...
def jacobian(func: _Func, inputs: _Inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             chunk_size: int | None = None, strategy: _Strategy = "auto", sparse: bool = False) -> Any:
    """The Jacobian of ``func`` at ``inputs``: ``J[i, j] = d f_i / d x_j``.

    ``func`` maps Tensors to a Tensor or a tuple of Tensors and is called once.
    For a single input ``x`` the result has shape ``(m, x.numel())`` where ``m`` is the
    total number of output elements (rows of tuple outputs stacked in order); for a
    tuple of inputs a tuple of such blocks, each of its input's dtype.

    - ``vectorize=False`` sweeps the rows in Rust in blocks (a batch of one-hot
      cotangents per reverse pass; memory bounded by the block; one block when the sweep
      is small), spread over all cores when the blocks are slow enough to pay for it.
    - ``vectorize=True`` sweeps every row at once as one batched cotangent (the identity
      of shape ``[m, *out_shape]``); ``chunk_size`` sweeps that many rows at a time to
      bound memory.
    - ``strategy="auto"`` (the default) sweeps rows by reverse mode, or columns by
      forward mode when the total output size exceeds the total input size (then there
      are fewer columns than rows); ``"reverse-mode"`` and ``"forward-mode"`` force one.
    - ``strict=True`` raises RuntimeError when an output is independent of an input
      (instead of returning zero rows).
    - ``create_graph=True`` makes the result differentiable (to any order).
    - ``sparse=True`` returns each block as a ``scipy.sparse.csr_array`` of the same
      shape and dtype, computed from the structural sparsity pattern of the recorded
      graph, a colouring of it and one batched sweep of all colours (columns by forward
      mode or rows by reverse mode: ``"auto"`` takes the fewer colours). The pattern
      and colouring are cached per graph structure, so repeated calls pay only the
      sweep. Entries in the pattern whose value is zero at this point are stored as
      explicit zeros. See ``sparsity`` to inspect them; needs SciPy.

    >>> from lucid.autograd import jacobian
    >>> jacobian(lambda x: x * x, lucid.tensor([1.0, 2.0, 3.0]))
    tensor([[2., 0., 0.],
            [0., 4., 0.],
            [0., 0., 6.]])
    >>> a, b = lucid.tensor([1.0, 2.0]), lucid.tensor([3.0])
    >>> [J.shape for J in jacobian(lambda a, b: (a * b, b.sum()), (a, b))]
    [(3, 2), (3, 1)]
    """
    chunk_size = _jacobian_options(create_graph, strict, vectorize, chunk_size, strategy, sparse)
    return _jacobian_of(_record(func, inputs, "jacobian"), create_graph, strict, vectorize, chunk_size, strategy, sparse)


# The entry points are split in two, shared with ``lucid.Tape``: ``_*_options`` checks
# the flags before the function runs, ``_*_of`` finishes from a recorded (or replayed)
# graph ``(inputs_were_tuple, leaves, outputs_were_tuple, outputs)``.

def _jacobian_options(create_graph: bool, strict: bool, vectorize: bool, chunk_size: int | None, strategy: str,
                      sparse: bool, fn: str = "jacobian") -> int | None:
    if not (create_graph.__class__ is bool and strict.__class__ is bool and vectorize.__class__ is bool
            and chunk_size is None and strategy.__class__ is str and strategy in _STRATEGIES and sparse is False):
        chunk_size = _core.check_options(fn, create_graph, strict, vectorize, chunk_size, strategy, sparse)
    if sparse:
        _sparse.require_scipy(fn)
    return chunk_size


def _jacobian_of(recorded: _Recorded, create_graph: bool, strict: bool, vectorize: bool, chunk_size: int | None,
                 strategy: _Strategy, sparse: bool) -> Any:
    return _value_and_jacobian_of(recorded, create_graph, strict, vectorize, chunk_size, strategy, sparse,
                                  "jacobian")[1]


def _value_and_jacobian_of(recorded: _Recorded, create_graph: bool, strict: bool, vectorize: bool,
                           chunk_size: int | None, strategy: _Strategy, sparse: bool,
                           fn: str = "value_and_jacobian") -> tuple[_Outputs, Any]:
    """``(outputs, J)`` of a recorded graph: the one finish of ``jacobian`` and
    ``value_and_jacobian`` (``fn`` names the caller in errors); the outputs are detached
    unless ``create_graph``, J is a block per input (a tuple for a tuple of inputs)."""
    in_tuple, leaves, out_tuple, outs = recorded
    values: _Outputs
    if sparse:
        raw = _core.sparse_jacobian_from_graph(list(outs), leaves, strict, strategy, fn)
        blocks: Sequence[Any] = [_sparse.csr(b) for b in raw]
        values = _finish_outputs(outs, out_tuple, False)   # sparse=True records no graph
    elif fn == "jacobian":   # the outputs are not wanted: no detached copies made
        blocks = _core.jacobian_from_graph(list(outs), leaves, create_graph, strict, vectorize, chunk_size, strategy)
        values = outs[0]
    else:
        finished, blocks = _core.value_and_jacobian_from_graph(list(outs), leaves, create_graph, strict, vectorize,
                                                               chunk_size, strategy)
        values = tuple(finished) if out_tuple else finished[0]
    return values, (tuple(blocks) if in_tuple else blocks[0])


@overload
def value_and_jacobian(func: Callable[..., Tensor], inputs: Tensor, create_graph: bool = ..., strict: bool = ...,
                       vectorize: bool = ..., chunk_size: int | None = ..., strategy: _Strategy = ...,
                       sparse: Literal[False] = ...) -> tuple[Tensor, Tensor]: ...
@overload
def value_and_jacobian(func: Callable[..., tuple[Tensor, ...]], inputs: Tensor, create_graph: bool = ...,
                       strict: bool = ..., vectorize: bool = ..., chunk_size: int | None = ...,
                       strategy: _Strategy = ...,
                       sparse: Literal[False] = ...) -> tuple[tuple[Tensor, ...], Tensor]: ...
@overload
def value_and_jacobian(func: Callable[..., Tensor], inputs: _TupleInputs, create_graph: bool = ..., strict: bool = ...,
                       vectorize: bool = ..., chunk_size: int | None = ..., strategy: _Strategy = ...,
                       sparse: Literal[False] = ...) -> tuple[Tensor, tuple[Tensor, ...]]: ...
@overload
def value_and_jacobian(func: Callable[..., tuple[Tensor, ...]], inputs: _TupleInputs, create_graph: bool = ...,
                       strict: bool = ..., vectorize: bool = ..., chunk_size: int | None = ...,
                       strategy: _Strategy = ...,
                       sparse: Literal[False] = ...) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]: ...
@overload  # a func whose return type is not known, or sparse=True (scipy.sparse.csr_array blocks: SciPy is not typed)
def value_and_jacobian(func: _Func, inputs: _Inputs, create_graph: bool = ..., strict: bool = ...,
                       vectorize: bool = ..., chunk_size: int | None = ..., strategy: _Strategy = ...,
                       sparse: bool = ...) -> tuple[_Outputs, Any]: ...
def value_and_jacobian(func: _Func, inputs: _Inputs, create_graph: bool = False, strict: bool = False,
                       vectorize: bool = False, chunk_size: int | None = None, strategy: _Strategy = "auto",
                       sparse: bool = False) -> tuple[_Outputs, Any]:
    """``(func(inputs), jacobian(func, inputs))`` from one call of ``func``: the value a
    Newton or Gauss–Newton step needs beside J, from the same recording.

    Every option is ``jacobian``'s, with the same default (``strategy="auto"``) and the
    same result: J is a Tensor for a single input and a tuple of blocks for a tuple of
    inputs (``scipy.sparse.csr_array`` blocks with ``sparse=True``); the outputs are a
    Tensor or a tuple, as ``func`` returned them, detached unless ``create_graph=True``
    (as ``vjp`` returns them). Errors are ``jacobian``'s, naming ``value_and_jacobian``.

    >>> from lucid.autograd import value_and_jacobian
    >>> x = lucid.tensor([1.0], dtype=lucid.float64)
    >>> for _ in range(5):                            # Newton's method on x² = 2
    ...     fx, J = value_and_jacobian(lambda x: x * x - 2, x)
    ...     x = x - lucid.linalg.solve(J, fx)
    >>> x.item()
    1.414213562373095...
    >>> value_and_jacobian(lambda a, b: (a * b, a.sum()), (lucid.tensor([1.0, 2.0]), lucid.tensor([3.0, 4.0])))
    ((tensor([3., 8.]), tensor(3.)), (tensor([[3., 0.],
            [0., 4.],
            [1., 1.]]), tensor([[1., 0.],
            [0., 2.],
            [0., 0.]])))
    """
    chunk_size = _jacobian_options(create_graph, strict, vectorize, chunk_size, strategy, sparse, "value_and_jacobian")
    return _value_and_jacobian_of(_record(func, inputs, "value_and_jacobian"), create_graph, strict, vectorize,
                                  chunk_size, strategy, sparse)


@overload
def hessian(func: _Func, inputs: Tensor, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
            strategy: _Strategy = ..., sparse: Literal[False] = ...) -> Tensor: ...
@overload
def hessian(func: _Func, inputs: _TupleInputs, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
            strategy: _Strategy = ..., sparse: Literal[False] = ...) -> tuple[tuple[Tensor, ...], ...]: ...
@overload  # sparse=True: scipy.sparse.csr_array blocks (SciPy is not typed)
def hessian(func: _Func, inputs: _Inputs, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
            strategy: _Strategy = ..., *, sparse: bool) -> Any: ...
def hessian(func: _Func, inputs: _Inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            strategy: _Strategy = "reverse-mode", sparse: bool = False) -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``: ``(n, n)`` for one input of
    ``n`` elements; for a tuple of inputs a nested tuple of blocks ``H[i][j]`` of shape
    ``(x_i.numel(), x_j.numel())``. ``func`` is called once.

    It is the Jacobian of the gradient (built with a graph): ``strategy="reverse-mode"``
    sweeps that graph backwards (reverse over reverse), ``"forward-mode"`` pushes
    tangents through it (forward over reverse). They agree to round-off; on the
    benchmark's problems they cost the same, so the default stays reverse over reverse.

    ``sparse=True`` returns ``scipy.sparse.csr_array`` blocks of the same shapes: the
    Hessian's structural pattern (symmetrized) is star-coloured and all colours go
    through one forward-over-reverse sweep (``strategy`` does not apply); the pattern
    and colouring are cached per graph structure.

    >>> f = lambda x: (x[0] ** 2 * x[1]).sum()        # H = [[2 x1, 2 x0], [2 x0, 0]]
    >>> lucid.autograd.hessian(f, lucid.tensor([1.0, 3.0], dtype=lucid.float64))
    tensor([[6., 2.],
            [2., 0.]], dtype=lucid.float64)
    """
    _hessian_options(create_graph, strict, vectorize, strategy, sparse)
    return _hessian_of(_record(func, inputs, "hessian"), create_graph, strict, vectorize, strategy, sparse)


def _hessian_options(create_graph: bool, strict: bool, vectorize: bool, strategy: str, sparse: bool) -> None:
    if not (create_graph.__class__ is bool and strict.__class__ is bool and vectorize.__class__ is bool
            and strategy.__class__ is str and strategy in _STRATEGIES and sparse is False):
        _core.check_options("hessian", create_graph, strict, vectorize, None, strategy, sparse)
    if sparse:
        _sparse.require_scipy("hessian")


def _hessian_of(recorded: _Recorded, create_graph: bool, strict: bool, vectorize: bool, strategy: _Strategy,
                sparse: bool) -> Any:
    in_tuple, leaves, out_tuple, outs = recorded
    if out_tuple and len(outs) != 1:
        raise TypeError(f"hessian: the function must return a single Tensor, got a tuple of {len(outs)}")
    if outs[0].numel() != 1:
        raise RuntimeError(f"hessian: the function must return a single-element Tensor, got shape {outs[0].shape}")
    if sparse:
        rows = [[_sparse.csr(b) for b in row] for row in _core.sparse_hessian_from_graph(outs[0], leaves, strict)]
    else:
        rows = _core.hessian_from_graph(outs[0], leaves, create_graph, strict, vectorize, None, strategy)
    if not in_tuple:
        return rows[0][0]
    return tuple(tuple(r) for r in rows)


def sparsity(func: _Func, inputs: _Inputs, strategy: _Strategy = "auto", hessian: bool = False) -> _sparse.Sparsity:
    """The structural sparsity pattern ``jacobian(func, inputs, sparse=True)`` would
    use, and its colouring, without computing values (``func`` is called once): a
    ``Sparsity`` with ``pattern``, ``colors``, ``direction``, ``shape`` and ``nnz``.
    With ``hessian=True``, the pattern and star colouring of ``hessian(func, inputs,
    sparse=True)`` (``strategy`` does not apply).

    The pattern is read from the recorded graph, so it holds for every input value that
    records the same graph: an entry that happens to be zero at this point is still in
    it. Patterns and colourings are cached per graph structure (``sparsity_cache_clear``
    empties the cache).

    >>> s = lucid.autograd.sparsity(lambda x: x[1:] * x[:-1], lucid.ones(5))
    >>> s.shape, s.nnz, s.colors                      # rows or columns: two colours either way
    ((4, 5), 8, 2)
    >>> s.pattern.toarray()[0]
    array([1., 1., 0., 0., 0.])
    """
    _sparsity_options(strategy, hessian)
    return _sparsity_of(_record(func, inputs, "sparsity"), strategy, hessian)


def _sparsity_options(strategy: str, hessian: bool) -> None:
    if strategy.__class__ is not str or strategy not in _STRATEGIES:
        _core.check_options("sparsity", False, False, False, None, strategy)
    if hessian.__class__ is not bool:
        raise TypeError(f"sparsity: hessian must be a bool, got {type(hessian).__name__}")
    _sparse.require_scipy("sparsity")


def _sparsity_of(recorded: _Recorded, strategy: _Strategy, hessian: bool) -> _sparse.Sparsity:
    in_tuple, leaves, out_tuple, outs = recorded
    if hessian:
        if len(outs) != 1 or outs[0].numel() != 1:
            shapes = [tuple(o.shape) for o in outs]
            raise RuntimeError(f"sparsity: hessian=True needs a function returning one single-element Tensor, got shapes {shapes}")
        raw = _core.hessian_sparsity_from_graph(outs[0], leaves)
        k = len(leaves)
        nest = (lambda b: tuple(tuple(b[i * k:(i + 1) * k]) for i in range(k))) if in_tuple else (lambda b: b[0])
        n = sum(x.numel() for x in leaves)
        return _sparse.Sparsity(raw, nest, (n, n))
    raw = _core.sparsity_from_graph(list(outs), leaves, strategy)
    m, n = sum(o.numel() for o in outs), sum(x.numel() for x in leaves)
    return _sparse.Sparsity(raw, (lambda b: tuple(b)) if in_tuple else (lambda b: b[0]), (m, n))


def sparsity_cache_clear() -> None:
    """Forget every cached sparsity pattern and colouring: the next sparse call detects
    and colours afresh (its first-call cost again).

    >>> lucid.autograd.sparsity_cache_clear()
    """
    _core.clear_sparsity_cache()


def _vectors(v: _Vectors, like: Sequence[Tensor], what: str, fn: str, default_ok: bool) -> list[Tensor]:
    """Check ``v`` against ``like`` (the tensors it pairs with): count and shapes."""
    if v is None:
        if default_ok:
            return [_core.full([], 1.0, like[0].dtype).reshape(*like[0].shape)]
        shapes = [tuple(t.shape) for t in like]
        raise ValueError(f"{fn}: v can be omitted only when the {what} is a single one-element Tensor; got {what} shapes {shapes}")
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise ValueError(f"{fn}: v has {len(vs)} tensors but there are {len(like)} {what}s")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"{fn}: v[{i}] has shape {tuple(a.shape)} but {what} {i} has shape {tuple(b.shape)}")
    return list(vs)


@overload
def vjp(func: Callable[..., Tensor], inputs: _Inputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[Tensor, tuple[Tensor, ...]]: ...
@overload
def vjp(func: Callable[..., tuple[Tensor, ...]], inputs: _Inputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]: ...
@overload
def vjp(func: _Func, inputs: _Inputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[_Outputs, tuple[Tensor, ...]]: ...
def vjp(func: _Func, inputs: _Inputs, v: _Vectors = None, create_graph: bool = False,
        strict: bool = False) -> tuple[_Outputs, tuple[Tensor, ...]]:
    """``(func(inputs), vᵀ J)``: the outputs and a tuple with one cotangent per input.

    ``v`` matches the outputs (a Tensor or a tuple); it may be omitted only for a
    single one-element output. Inputs the outputs do not depend on get zeros (a
    RuntimeError with ``strict=True``). One reverse sweep, however many outputs.

    >>> x = lucid.tensor([1.0, 2.0])
    >>> y, (vJ,) = lucid.autograd.vjp(lambda x: x ** 2, x, lucid.tensor([1.0, 10.0]))
    >>> y, vJ                                # vᵀ diag(2x)
    (tensor([1., 4.]), tensor([ 2., 40.]))
    """
    _product_options("vjp", create_graph, strict)
    return _vjp_of(_record(func, inputs, "vjp"), v, create_graph, strict)


def _product_options(fn: str, create_graph: bool, strict: bool) -> None:
    if not (create_graph.__class__ is bool and strict.__class__ is bool):
        _core.check_options(fn, create_graph, strict, False, None, "reverse-mode")


def _vjp_of(recorded: _Recorded, v: _Vectors, create_graph: bool, strict: bool) -> tuple[_Outputs, tuple[Tensor, ...]]:
    _, leaves, out_tuple, outs = recorded
    vs = _vectors(v, outs, "output", "vjp", default_ok=len(outs) == 1 and outs[0].numel() == 1)
    grads = _core.vjp_from_graph(list(outs), leaves, vs, create_graph, strict)
    return _finish_outputs(outs, out_tuple, create_graph), tuple(grads)


@overload
def jvp(func: Callable[..., Tensor], inputs: _Inputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[Tensor, Tensor]: ...
@overload
def jvp(func: Callable[..., tuple[Tensor, ...]], inputs: _Inputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]: ...
@overload
def jvp(func: _Func, inputs: _Inputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[_Outputs, _Outputs]: ...
def jvp(func: _Func, inputs: _Inputs, v: _Vectors = None, create_graph: bool = False,
        strict: bool = False) -> tuple[_Outputs, _Outputs]:
    """``(func(inputs), J v)``, exact: the tangents are a Tensor for a single output and
    a tuple for a tuple of outputs. ``v`` matches the inputs; it may be omitted only
    for a single one-element input. One forward (tangent) sweep over the recorded graph.

    >>> x = lucid.tensor([1.0, 2.0])
    >>> y, Jv = lucid.autograd.jvp(lambda x: x ** 2, x, lucid.tensor([1.0, 0.0]))
    >>> Jv                                   # diag(2x) v
    tensor([2., 0.])
    """
    _product_options("jvp", create_graph, strict)
    return _jvp_of(_record(func, inputs, "jvp"), v, create_graph, strict)


def _jvp_of(recorded: _Recorded, v: _Vectors, create_graph: bool, strict: bool) -> tuple[_Outputs, _Outputs]:
    _, leaves, out_tuple, outs = recorded
    vs = _vectors(v, leaves, "input", "jvp", default_ok=len(leaves) == 1 and leaves[0].numel() == 1)
    tangents = _core.jvp_from_graph(list(outs), leaves, vs, create_graph, strict)
    return _finish_outputs(outs, out_tuple, create_graph), (tuple(tangents) if out_tuple else tangents[0])


def _hessian_product(fn: str, func: _Func, inputs: _Inputs, v: _Vectors, create_graph: bool,
                     strict: bool) -> tuple[Tensor, _Outputs]:
    _product_options(fn, create_graph, strict)
    return _hessian_product_of(fn, _record(func, inputs, fn), v, create_graph, strict)


def _hessian_product_of(fn: str, recorded: _Recorded, v: _Vectors, create_graph: bool,
                        strict: bool) -> tuple[Tensor, _Outputs]:
    in_tuple, leaves, out_tuple, outs = recorded
    if out_tuple and len(outs) != 1:
        raise TypeError(f"{fn}: the function must return a single Tensor, got a tuple of {len(outs)}")
    if outs[0].numel() != 1:
        raise RuntimeError(f"{fn}: the function must return a single-element Tensor, got shape {outs[0].shape}")
    vs = _vectors(v, leaves, "input", fn, default_ok=len(leaves) == 1 and leaves[0].numel() == 1)
    prods = _core.hvp_from_graph(outs[0], leaves, vs, create_graph, strict)
    out = outs[0] if create_graph else outs[0].detach()
    return out, (tuple(prods) if in_tuple else prods[0])


@overload
def hvp(func: _Func, inputs: Tensor, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[Tensor, Tensor]: ...
@overload
def hvp(func: _Func, inputs: _TupleInputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[Tensor, tuple[Tensor, ...]]: ...
def hvp(func: _Func, inputs: _Inputs, v: _Vectors = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, _Outputs]:
    """``(func(inputs), H v)`` for a scalar ``func``; the product is a Tensor for a
    single input and a tuple for a tuple of inputs. The Hessian is never formed.

    >>> f = lambda x: (x ** 3).sum()                  # H = diag(6x)
    >>> lucid.autograd.hvp(f, lucid.tensor([1.0, 2.0]), lucid.tensor([1.0, 1.0]))
    (tensor(9.), tensor([ 6., 12.]))
    """
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)


@overload
def vhp(func: _Func, inputs: Tensor, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[Tensor, Tensor]: ...
@overload
def vhp(func: _Func, inputs: _TupleInputs, v: _Vectors = ..., create_graph: bool = ...,
        strict: bool = ...) -> tuple[Tensor, tuple[Tensor, ...]]: ...
def vhp(func: _Func, inputs: _Inputs, v: _Vectors = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, _Outputs]:
    """``(func(inputs), vᵀ H)`` for a scalar ``func`` (equal to ``H v``: H is symmetric).

    >>> f = lambda x: (x ** 3).sum()
    >>> lucid.autograd.vhp(f, lucid.tensor([1.0, 2.0]), lucid.tensor([1.0, 0.0]))[1]
    tensor([6., 0.])
    """
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)
