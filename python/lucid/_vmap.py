"""``lucid.func.vmap``: a function of one element mapped over a batch dim
(NOTE [lucid.func] in func.py says how: a tape replayed per element in Rust, or one
call per element when a tape cannot replay the function)."""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from . import _pytree as tree
from ._core import Tensor, stack

_RANDOMNESS = ("error", "same", "different")
_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either use the "
                 "'same' or 'different' randomness flags on vmap or perform the randomness operation out of vmap")


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable[..., Any]:
    """``func`` mapped over dim ``in_dims`` of its arguments, results stacked along
    ``out_dims``, as ``torch.func.vmap``.

    ``in_dims`` is an int or None (every argument), or a tuple with one entry per
    argument, each an int, None (not mapped) or a pytree prefix of that argument.
    ``randomness``: "error" (default) raises on a random draw, "same" draws once for
    the batch, "different" once per element. ``chunk_size`` maps that many elements at
    a time. ``vmap(jacrev(f))`` gives per-sample Jacobians, ``vmap(grad(f))``
    per-sample gradients, each replayed from one recording across the cores.

    >>> from lucid.func import vmap, jacrev
    >>> xs = lucid.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> vmap(lambda x: (x * x).sum())(xs)
    tensor([ 5., 25., 61.])
    >>> vmap(jacrev(lambda x: x * x))(xs).shape
    (3, 2, 2)
    """
    if not callable(func):
        raise TypeError(f"vmap: func must be callable, got {type(func).__name__}")
    if randomness not in _RANDOMNESS:
        raise ValueError(f"vmap: randomness must be 'error', 'same' or 'different', got {randomness!r}")
    if chunk_size is not None and (chunk_size.__class__ is not int or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size!r}")

    @functools.wraps(func)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        return _Batch(func, args, kwargs, in_dims, randomness).run(out_dims, chunk_size)

    mapped.__lucid_vmap__ = True  # type: ignore[attr-defined]
    return mapped


class _Batch:
    """One vmapped call: the batch, its elements, and the two ways to map over them."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], in_dims: Any,
                 randomness: str):
        self.func, self.kwargs, self.randomness = func, kwargs, randomness
        if not args:
            raise ValueError("vmap: the function must take at least one positional argument to map over")
        if isinstance(in_dims, tuple) and len(in_dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(in_dims)} entries for {len(args)} positional arguments")
        if isinstance(in_dims, list):
            raise ValueError("vmap: in_dims must be an int, None or a tuple, got list")
        self.leaves, self.spec = tree.flatten(args)
        prefix = in_dims if isinstance(in_dims, tuple) else in_dims
        self.dims: list[int | None] = []
        sizes = set()
        for x, d in zip(self.leaves, tree.broadcast_prefix(prefix, self.spec, "vmap: in_dims")):
            if d is None:
                self.dims.append(None)
                continue
            if d.__class__ is not int:
                raise ValueError(f"vmap: in_dims entries must be ints or None, got {type(d).__name__}")
            if not isinstance(x, Tensor):
                raise ValueError(f"vmap: got in_dim={d} for an input of type {type(x).__name__}; only Tensors "
                                 "can be mapped over (use None for this input)")
            if not -x.ndim <= d < x.ndim:
                raise ValueError(f"vmap: in_dim {d} is out of range for an input with {x.ndim} dims")
            d %= x.ndim
            self.dims.append(d)
            sizes.add(x.shape[d])
        if not sizes:
            raise ValueError("vmap: at least one input must be mapped over (in_dims are all None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: the mapped dims of the inputs have different sizes {sorted(sizes)}")
        self.size = sizes.pop()

    def element(self, b: int) -> list[Any]:
        return [x if d is None else x.select(d, b) for x, d in zip(self.leaves, self.dims)]

    def args_of(self, leaves: list[Any]) -> tuple[Any, ...]:
        return tree.unflatten(self.spec, leaves)  # type: ignore[no-any-return]

    # ---- the two ways ------------------------------------------------------------------

    def run(self, out_dims: Any, chunk_size: int | None) -> Any:
        step = chunk_size or max(self.size, 1)
        ranges = [range(s, min(s + step, self.size)) for s in range(0, self.size, step)]
        by_tape = self.by_tape(ranges)
        if by_tape is not None:
            stacked, spec = by_tape
        else:
            stacked, spec = self.by_calls(ranges)
        dims = tree.broadcast_prefix(out_dims, spec, "vmap: out_dims")
        return tree.unflatten(spec, [_move_batch(s, d) for s, d in zip(stacked, dims)])

    def by_calls(self, ranges: list[range]) -> tuple[list[Tensor], tree.Spec]:
        """One call of the function per element (the eager speed, any function)."""
        per_element: list[list[Tensor]] = []
        spec: tree.Spec | None = None
        for r in ranges:
            for b in r:
                out = self.func(*self.args_of(self.element(b)), **self.kwargs)
                leaves, spec = tree.flatten(out)
                for y in leaves:
                    if not isinstance(y, Tensor):
                        raise ValueError(f"vmap: the function must return Tensors (or pytrees of them), "
                                         f"got {type(y).__name__}")
                per_element.append(leaves)
        assert spec is not None
        return [stack([e[k] for e in per_element], 0) for k in range(len(per_element[0]))], spec

    def by_tape(self, ranges: list[range]) -> tuple[list[Tensor], tree.Spec] | None:
        """A tape of the function (or of the function a derivative transform wraps)
        replayed per element across the cores; None when a tape cannot do it."""
        from ._tape import tape
        from .func import _argnums, _Transform

        func, kind, strategy = self.func, "call", None
        if isinstance(func, _Transform):
            if func.kind not in ("jacrev", "jacfwd", "grad") or func.has_aux or func.options.get("chunk_size"):
                return None
            kind, strategy = func.kind, func.options.get("strategy", "reverse-mode")
            func = func.func
        if getattr(func, "__lucid_vmap__", False):
            return None
        # the tape's inputs: the leaves differentiated, then the other mapped ones; the
        # unmapped rest are constants of the recording
        starts = [0]
        for child in self.spec.children:
            starts.append(starts[-1] + child.leaves)
        diff: list[int] = []
        nums: tuple[int, ...] = ()
        nums_tuple = False
        if kind != "call":
            nums, nums_tuple = _argnums(f"vmap({kind})", self.func.argnums, len(self.spec.children))  # type: ignore[attr-defined]
            diff = [k for n in nums for k in range(starts[n], starts[n + 1])]
            if any(not (isinstance(self.leaves[k], Tensor) and self.leaves[k].is_floating_point()) for k in diff):
                return None
        extra = [k for k, d in enumerate(self.dims) if d is not None and k not in diff]
        if kind != "call" and any(not self.leaves[k].is_floating_point() for k in extra):
            return None
        inputs = diff + extra
        first = self.element(0)
        found: dict[str, Any] = {}

        def flat(*xs: Tensor) -> tuple[Tensor, ...]:
            leaves = list(first)
            for k, x in zip(inputs, xs):
                leaves[k] = x
            outs, spec = tree.flatten(func(*self.args_of(leaves), **self.kwargs))
            if not outs or not all(isinstance(o, Tensor) for o in outs):
                raise ValueError("vmap: the function must return Tensors")
            found["spec"], found["shapes"] = spec, [tuple(o.shape) for o in outs]
            return tuple(outs)

        def element_inputs(b: int) -> tuple[Tensor, ...]:
            e = self.element(b)
            return tuple(e[k] for k in inputs)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random draws and untraceable steps are read below
            try:
                t = tape(flat, element_inputs(0))
            except Exception:  # noqa: BLE001  (the per-element calls raise it with its own message)
                return None
        _, random, untraceable = t._cache.tapes()[0]
        if random and self.randomness == "error":
            raise RuntimeError(_RANDOM_ERROR)
        if untraceable is not None or (random and self.randomness == "different"):
            return None
        spec, shapes = found["spec"], found["shapes"]
        if kind == "grad" and (len(shapes) != 1 or _numel(shapes[0]) != 1):
            return None  # the per-element calls raise grad's error
        results: list[Any] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in ranges:
                points = [element_inputs(b) for b in r]
                if kind == "call":
                    results.extend(t.map("call", points))
                else:
                    results.extend(t.map("jacobian", points, strategy=strategy))
        if kind == "call":
            per_element = [list(r) if isinstance(r, tuple) else [r] for r in results]
            return [stack([e[k] for e in per_element], 0) for k in range(len(shapes))], spec
        # Jacobian blocks (rows: the outputs stacked) of the differentiated inputs,
        # stacked over the batch and shaped (batch, *out_shape, *in_shape)
        blocks = [stack([r[j] for r in results], 0) for j in range(len(diff))]
        per_out, row = [], 0
        for shape in shapes:
            n = _numel(shape)
            out_shape = () if kind == "grad" else shape
            per_input = [b[:, row:row + n].reshape(self.size, *out_shape, *first[k].shape)
                         for b, k in zip(blocks, diff)]
            trees, j = [], 0
            for n_arg in nums:
                count = starts[n_arg + 1] - starts[n_arg]
                trees.append(tree.unflatten(self.spec.children[n_arg], per_input[j:j + count]))
                j += count
            per_out.append(tuple(trees) if nums_tuple else trees[0])
            row += n
        leaves, out_spec = tree.flatten(per_out[0] if kind == "grad" else tree.unflatten(spec, per_out))
        return leaves, out_spec


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _move_batch(x: Tensor, dim: Any) -> Tensor:
    """``x`` with its leading batch dim moved to ``dim`` (None: not allowed, as torch)."""
    if dim is None:
        raise ValueError("vmap: out_dims=None is only allowed for outputs that do not depend on the mapped inputs")
    if dim.__class__ is not int:
        raise ValueError(f"vmap: out_dims entries must be ints, got {type(dim).__name__}")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"vmap: out_dim {dim} is out of range for an output with {x.ndim} dims")
    dim %= x.ndim
    if dim == 0:
        return x
    order = list(range(1, dim + 1)) + [0] + list(range(dim + 1, x.ndim))
    return x.permute(*order)
