"""``lucid.func``: composable transforms in the style of ``torch.func`` and JAX —
``grad``, ``grad_and_value``, ``jacrev``, ``jacfwd``, ``hessian``, ``vjp``, ``jvp``,
``linearize`` and ``vmap`` — with ``argnums``, ``has_aux`` and pytree inputs and
outputs (nested tuples, lists and dicts of Tensors).

>>> from lucid.func import jacrev, vmap
>>> xs = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> vmap(jacrev(lambda x: x.sin().sum()))(xs).shape
(2, 2)

NOTE [lucid.func]

- Each transform is a thin layer over the engines of ``lucid.autograd``: one recording
  of the function and one Rust call (``jacrev`` is ``autograd.jacobian`` by reverse
  mode, ``jacfwd`` by forward mode, ``grad`` one reverse sweep), so no transform runs the
  user's function more often than the eager API does.
- Jacobians are shaped ``out_shape + in_shape`` and nested per pytree, as in torch.func
  and JAX (the seed API ``lucid.autograd.jacobian`` keeps its 2-D blocks).
- Transforms compose to any depth: a transform whose inputs already require grad (an
  outer transform is differentiating them) keeps its results in the graph
  (``create_graph``), so ``jacfwd(jacrev(f))`` is forward-over-reverse.
- ``vmap`` records a tape (``lucid.tape``) of the function, or of the function the
  derivative transforms wrap, at the first element, and replays it ONCE over the whole
  batch: each recorded op runs its batching rule (``Rule::batch``, beside the op's
  forward in its family's file; NOTE [batched replay] in
  ``crates/lucid-core/src/functional/batch.rs``), so the batch costs one pass of
  batched kernels, not one sweep per element. Per-sample derivatives come from that one
  graph: samples do not interact, so ``vmap(jacrev(f))`` is one reverse sweep seeding
  each output row in every sample at once (the Jacobian of ``h(X).sum(0)``),
  ``vmap(jacfwd(f))`` one forward sweep of per-sample identity tangents,
  ``vmap(grad(f))`` the same with one row; an argument with ``in_dims=None`` that is
  differentiated is broadcast to a batched leaf first so that each sample gets its own
  gradient. ``hessian`` and nested ``jacrev``/``jacfwd``/``grad`` over the same
  ``argnums`` recurse on the batched graph. An op without a batching rule (none
  today: the trait's default for a new op) runs once per sample inside the batched
  replay, counted by ``lucid._core.batch_fallbacks()``.
- Value-dependent control flow: a guard of the tape must hold for every sample. When
  samples take different branches the batched replay gives up and ``vmap`` replays the
  tape per element across the cores (``Tape.map``), recording each branch once; so do
  ``has_aux``, ``grad_and_value`` and mixed ``argnums`` inside ``vmap``. Functions a
  tape cannot replay (in-place writes into computed values, derivative calls inside)
  run once per element: the same results, at the eager speed. Randomness follows
  torch.func: ``randomness="error"`` (the default) raises on a random draw, ``"same"``
  draws once for the whole batch (the tape freezes the draw: a constant shared by every
  sample), ``"different"`` draws per element (one call per element).
- Errors name the transform and the argument, with torch.func's exception types
  (RuntimeError for a bad ``argnums`` or a function that returns the wrong thing).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal, Sequence

from . import _core
from . import _pytree as tree
from ._core import Tensor

__all__ = ["grad", "grad_and_value", "jacrev", "jacfwd", "hessian", "vjp", "jvp", "linearize", "vmap"]


# ---- arguments ---------------------------------------------------------------------------


def _argnums(fn: str, argnums: int | tuple[int, ...], nargs: int) -> tuple[tuple[int, ...], bool]:
    """The positions ``argnums`` names (negative from the end) and whether it is a tuple."""
    is_tuple = isinstance(argnums, tuple)
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums or not all(n.__class__ is int for n in nums):
        raise RuntimeError(f"{fn}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    out = []
    for n in nums:
        if not -nargs <= n < nargs:
            raise RuntimeError(f"{fn}: argnums {n} is out of range for a function of {nargs} positional arguments")
        out.append(n % nargs)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{fn}: argnums must not repeat an argument, got {argnums!r}")
    return tuple(out), is_tuple


def _tensor_leaves(fn: str, value: Any, what: str) -> tuple[list[Tensor], tree.Spec]:
    leaves, spec = tree.flatten(value)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"{fn}: expected {what} to be Tensors or pytrees of Tensors, got {type(x).__name__}")
    return leaves, spec


def _zeros_like(x: Tensor) -> Tensor:
    from ._tensor import zeros_like

    return zeros_like(x)


def _check_callable(fn: str, func: Any) -> None:
    if not callable(func):
        raise TypeError(f"{fn}: func must be callable, got {type(func).__name__}")


def _check_flag(fn: str, name: str, value: Any) -> None:
    if value.__class__ is not bool:
        raise TypeError(f"{fn}: {name} must be a bool, got {type(value).__name__}")


class _Call:
    """One call of a transform: the differentiated leaves, and how to rebuild the
    function's arguments around new leaves and read its outputs."""

    def __init__(self, fn: str, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 argnums: int | tuple[int, ...], has_aux: bool):
        self.fn, self.func, self.args, self.kwargs, self.has_aux = fn, func, args, kwargs, has_aux
        self.nums, self.nums_tuple = _argnums(fn, argnums, len(args))
        self.inputs: list[Tensor] = []
        self.in_specs: list[tree.Spec] = []
        for n in self.nums:
            leaves, spec = _tensor_leaves(fn, args[n], f"argument {n}")
            self.inputs.extend(leaves)
            self.in_specs.append(spec)
        self.aux: Any = None
        self.out_spec: tree.Spec | None = None
        self.outs: list[Tensor] = []
        # an outer transform differentiates these inputs: keep the results in its graph
        self.nested = _core.is_grad_enabled() and any(x.requires_grad for x in self.inputs)

    def rebuild(self, leaves: Sequence[Tensor]) -> list[Any]:
        args = list(self.args)
        k = 0
        for n, spec in zip(self.nums, self.in_specs):
            args[n] = tree.unflatten(spec, list(leaves[k:k + spec.leaves]))
            k += spec.leaves
        return args

    def flat_func(self, *leaves: Tensor) -> tuple[Tensor, ...]:
        """The function of the differentiated leaves alone, returning its output leaves."""
        out = self.func(*self.rebuild(leaves), **self.kwargs)
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(f"{self.fn}: with has_aux=True the function must return a tuple "
                                   f"(output, aux), got {type(out).__name__}")
            out, self.aux = out
        outs, self.out_spec = _tensor_leaves(self.fn, out, "the function's outputs")
        if not outs:
            raise RuntimeError(f"{self.fn}: the function must return at least one Tensor")
        self.outs = outs
        return tuple(outs)

    def finish(self, x: Tensor) -> Tensor:
        return x if self.nested else x.detach()

    def per_argnum(self, blocks: Sequence[Any]) -> Any:
        """Per-input values regrouped as the differentiated arguments: one tree per
        argnum, a tuple of them when ``argnums`` is a tuple."""
        trees, k = [], 0
        for spec in self.in_specs:
            trees.append(tree.unflatten(spec, list(blocks[k:k + spec.leaves])))
            k += spec.leaves
        return tuple(trees) if self.nums_tuple else trees[0]

    def output(self) -> Any:
        assert self.out_spec is not None
        return tree.unflatten(self.out_spec, [self.finish(o) for o in self.outs])

    def with_aux(self, *results: Any) -> Any:
        return (*results, self.aux) if self.has_aux else (results if len(results) > 1 else results[0])


# ---- the transforms ----------------------------------------------------------------------


class _Transform:
    """A transformed function: callable, and what ``vmap`` reads to replay it by tape."""

    def __init__(self, kind: str, func: Callable[..., Any], argnums: int | tuple[int, ...], has_aux: bool,
                 run: Callable[..., Any], **options: Any):
        functools.update_wrapper(self, func, updated=())
        self.kind, self.func, self.argnums, self.has_aux, self.options = kind, func, argnums, has_aux, options
        self._run = run

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(*args, **kwargs)

    def __repr__(self) -> str:
        return f"lucid.func.{self.kind}({getattr(self.func, '__name__', self.func)!r})"


def _jacobian(fn: str, strategy: Literal["reverse-mode", "forward-mode"], func: Callable[..., Any], argnums: int | tuple[int, ...], has_aux: bool,
              chunk_size: int | None) -> _Transform:
    _check_callable(fn, func)
    _check_flag(fn, "has_aux", has_aux)
    from .autograd import jacobian

    def run(*args: Any, **kwargs: Any) -> Any:
        call = _Call(fn, func, args, kwargs, argnums, has_aux)
        blocks = jacobian(call.flat_func, tuple(call.inputs), create_graph=call.nested,
                          vectorize=chunk_size is not None, chunk_size=chunk_size, strategy=strategy)
        assert call.out_spec is not None
        per_out = []
        row = 0
        for o in call.outs:
            # rows of output o in every block, shaped out_shape + in_shape
            rows = slice(row, row + o.numel())
            per_out.append(call.per_argnum([b[rows].reshape(*o.shape, *x.shape)
                                            for b, x in zip(blocks, call.inputs)]))
            row += o.numel()
        return call.with_aux(tree.unflatten(call.out_spec, per_out))

    return _Transform(fn, func, argnums, has_aux, run, strategy=strategy, chunk_size=chunk_size)


def jacrev(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable[..., Any]:
    """The Jacobian of ``func`` with respect to the arguments ``argnums``, by reverse
    mode (one sweep per output row, batched in Rust), as ``torch.func.jacrev``.

    Each Jacobian has shape ``out_shape + in_shape``, nested as the outputs (outer) and
    the differentiated arguments (inner; a tuple when ``argnums`` is a tuple).
    ``has_aux=True``: ``func`` returns ``(output, aux)`` and the result is
    ``(jacobian, aux)``. ``chunk_size`` sweeps that many rows at a time.

    >>> from lucid.func import jacrev
    >>> A = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> jacrev(lambda A: A @ A)(A).shape
    (2, 2, 2, 2)
    """
    return _jacobian("jacrev", "reverse-mode", func, argnums, has_aux, chunk_size)


def jacfwd(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``func`` by forward mode (one tangent per input column), as
    ``torch.func.jacfwd``: the same result as :func:`jacrev`, cheaper when the inputs
    are fewer than the outputs.

    >>> from lucid.func import jacfwd
    >>> jacfwd(lambda x: x.sin().sum())(lucid.tensor([0.0, 0.0]))
    tensor([1., 1.])
    """
    return _jacobian("jacfwd", "forward-mode", func, argnums, has_aux, None)


def grad_and_value(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *,
                   has_aux: bool = False) -> Callable[..., Any]:
    """``(gradient, value)`` of a function returning a one-element Tensor (or
    ``((gradient, (value, aux))`` with ``has_aux=True``), as ``torch.func.grad_and_value``.

    >>> from lucid.func import grad_and_value
    >>> g, v = grad_and_value(lambda x: (x * x).sum())(lucid.tensor([1.0, 2.0]))
    >>> g, v
    (tensor([2., 4.]), tensor(5.))
    """
    return _grad("grad_and_value", func, argnums, has_aux, with_value=True)


def grad(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a function returning a one-element Tensor, shaped as the
    arguments ``argnums`` (pytrees included), by one reverse sweep; as
    ``torch.func.grad``. With ``has_aux=True`` the result is ``(gradient, aux)``.

    >>> from lucid.func import grad
    >>> grad(lambda w, x: (w * x).sum(), argnums=(0, 1))(lucid.tensor([1.0]), lucid.tensor([3.0]))
    (tensor([3.]), tensor([1.]))
    """
    return _grad("grad", func, argnums, has_aux, with_value=False)


def _grad(fn: str, func: Callable[..., Any], argnums: int | tuple[int, ...], has_aux: bool,
          with_value: bool) -> _Transform:
    _check_callable(fn, func)
    _check_flag(fn, "has_aux", has_aux)
    from .autograd import grad as autograd_grad

    def run(*args: Any, **kwargs: Any) -> Any:
        call = _Call(fn, func, args, kwargs, argnums, has_aux)
        leaves = _core.prepare_inputs(fn, call.inputs)
        previous = _core.set_grad_enabled(True)
        try:
            outs = call.flat_func(*leaves)
        finally:
            _core.set_grad_enabled(previous)
        if len(outs) != 1 or outs[0].numel() != 1:
            shapes = [tuple(o.shape) for o in outs]
            raise RuntimeError(f"{fn}: the function must return a one-element Tensor, got outputs of shapes {shapes}")
        (out,) = outs
        if out.requires_grad:
            gs = autograd_grad(out, leaves, create_graph=call.nested, allow_unused=True)
        else:
            gs = tuple(None for _ in leaves)
        filled = [_zeros_like(x) if g is None else call.finish(g) for g, x in zip(gs, call.inputs)]
        gradient = call.per_argnum(filled)
        value = call.finish(out)
        if with_value:
            return (gradient, (value, call.aux)) if has_aux else (gradient, value)
        return call.with_aux(gradient)

    return _Transform(fn, func, argnums, has_aux, run, with_value=with_value)


def hessian(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The Hessian of ``func``: ``jacfwd(jacrev(func, argnums), argnums)``, as in
    torch.func; shape ``out_shape + in_shape + in_shape``.

    >>> from lucid.func import hessian
    >>> hessian(lambda x: (x ** 3).sum())(lucid.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    _check_callable("hessian", func)
    inner = jacrev(func, argnums)
    outer = jacfwd(inner, argnums)
    return _Transform("hessian", func, argnums, False, outer)


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(output, vjp_fn)``: ``func(*primals)`` and a function taking cotangents shaped
    as the output and returning one gradient per primal (a tuple, shaped as the
    primals); ``(output, vjp_fn, aux)`` with ``has_aux=True``. ``vjp_fn`` may be called
    many times; the function runs once. As ``torch.func.vjp``.

    >>> from lucid.func import vjp
    >>> out, vjp_fn = vjp(lambda x: x * x, lucid.tensor([1.0, 2.0]))
    >>> vjp_fn(lucid.tensor([1.0, 1.0]))
    (tensor([2., 4.]),)
    """
    _check_callable("vjp", func)
    _check_flag("vjp", "has_aux", has_aux)
    if not primals:
        raise RuntimeError("vjp: expected at least one primal")
    from .autograd import grad as autograd_grad

    call = _Call("vjp", func, primals, {}, tuple(range(len(primals))), has_aux)
    call.nums_tuple = True
    leaves = _core.prepare_inputs("vjp", call.inputs)
    previous = _core.set_grad_enabled(True)
    try:
        outs = call.flat_func(*leaves)
    finally:
        _core.set_grad_enabled(previous)
    out_spec = call.out_spec
    assert out_spec is not None

    def vjp_fn(cotangents: Any) -> tuple[Any, ...]:
        cots, spec = _tensor_leaves("vjp", cotangents, "the cotangents")
        if spec != out_spec:
            raise RuntimeError("vjp: the cotangents must have the structure of the function's output")
        for c, o in zip(cots, outs):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"vjp: a cotangent has shape {tuple(c.shape)}, its output {tuple(o.shape)}")
        pairs = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
        create = call.nested or any(c.requires_grad for c in cots)
        if pairs:
            gs = autograd_grad([o for o, _ in pairs], leaves, grad_outputs=[c for _, c in pairs],
                               retain_graph=True, create_graph=create, allow_unused=True)
        else:
            gs = tuple(None for _ in leaves)
        result: list[Tensor] = [_zeros_like(x) if g is None else (g if create else g.detach())
                  for g, x in zip(gs, call.inputs)]
        return tuple(call.per_argnum(result))

    output = call.output()
    return (output, vjp_fn, call.aux) if has_aux else (output, vjp_fn)


def jvp(func: Callable[..., Any], primals: tuple[Any, ...], tangents: tuple[Any, ...], *,
        has_aux: bool = False) -> tuple[Any, ...]:
    """``(output, jvp_out)``: ``func(*primals)`` and its derivative along ``tangents``
    (shaped as the primals), by forward mode; ``(output, jvp_out, aux)`` with
    ``has_aux=True``. As ``torch.func.jvp``.

    >>> from lucid.func import jvp
    >>> jvp(lambda x: x.sin(), (lucid.tensor([0.0]),), (lucid.tensor([2.0]),))
    (tensor([0.]), tensor([2.]))
    """
    _check_callable("jvp", func)
    _check_flag("jvp", "has_aux", has_aux)
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp: primals and tangents must be tuples")
    if not primals:
        raise RuntimeError("jvp: expected at least one primal")
    call = _Call("jvp", func, primals, {}, tuple(range(len(primals))), has_aux)
    tans, tspec = _tensor_leaves("jvp", tangents, "the tangents")
    if tspec != tree.flatten(primals)[1]:
        raise RuntimeError("jvp: tangents must have the structure of primals")
    for t, x in zip(tans, call.inputs):
        if tuple(t.shape) != tuple(x.shape):
            raise RuntimeError(f"jvp: a tangent has shape {tuple(t.shape)}, its primal {tuple(x.shape)}")
    from .autograd import jvp as autograd_jvp

    create = call.nested or any(t.requires_grad for t in tans)
    _, dots = autograd_jvp(call.flat_func, tuple(call.inputs), tuple(tans), create_graph=create)
    assert call.out_spec is not None
    dots = dots if isinstance(dots, tuple) else (dots,)
    out = call.output()
    jvp_out = tree.unflatten(call.out_spec, [d if create else d.detach() for d in dots])
    return (out, jvp_out, call.aux) if has_aux else (out, jvp_out)


def linearize(func: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(output, jvp_fn)``: ``func(*primals)`` and a function of tangents returning the
    derivative along them, as ``torch.func.linearize``. The function is recorded once
    as a tape; each ``jvp_fn`` call replays it in Rust.

    >>> from lucid.func import linearize
    >>> out, jvp_fn = linearize(lambda x: x.exp(), lucid.tensor([0.0]))
    >>> jvp_fn(lucid.tensor([3.0]))
    tensor([3.])
    """
    _check_callable("linearize", func)
    if not primals:
        raise RuntimeError("linearize: expected at least one primal")
    from ._tape import tape

    call = _Call("linearize", func, primals, {}, tuple(range(len(primals))), False)
    t = tape(call.flat_func, tuple(call.inputs))
    outs = t(*call.inputs)
    assert call.out_spec is not None
    spec, in_spec = call.out_spec, tree.flatten(primals)[1]
    output = tree.unflatten(spec, [o.detach() for o in (outs if isinstance(outs, tuple) else (outs,))])

    def jvp_fn(*tangents: Any) -> Any:
        tans, tspec = _tensor_leaves("linearize", tangents, "the tangents")
        if tspec != in_spec:
            raise RuntimeError("linearize: jvp_fn takes tangents with the structure of the primals")
        _, dots = t.jvp(tuple(call.inputs), tuple(tans))
        dots = dots if isinstance(dots, tuple) else (dots,)
        return tree.unflatten(spec, [d.detach() for d in dots])

    return output, jvp_fn


from ._vmap import vmap  # noqa: E402  (vmap reads _Transform)
