"""``lucid.func.vmap``: a function of one element mapped over a batch dim
(NOTE [lucid.func] in func.py says how: a tape replayed once over the whole batch with
each op's batching rule; else replayed per element in Rust; else one call per element)."""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, NamedTuple

from . import _core
from . import _pytree as tree
from ._core import Tensor, cat, stack

_RANDOMNESS = ("error", "same", "different")
# The batched replay first (benchmarks switch it off to time the per-element path).
_BATCHED = True
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
        found = None
        plan = self.plan()
        if plan is not None and _BATCHED:
            found = self.by_batch(plan, ranges)
            if found is None and len(plan.levels) <= 1:
                found = self.by_tape(plan, ranges)
        stacked, spec = found if found is not None else self.by_calls(ranges)
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

    def plan(self) -> _Plan | None:
        """A tape of the function (or of the function the derivative transforms wrap)
        recorded at the first element, and what the transforms ask of it; None when a
        tape cannot do it (the per-call path then runs)."""
        from ._tape import tape
        from .func import _argnums, _Transform

        func: Callable[..., Any] = self.func
        levels: list[str] = []
        chunk: int | None = None
        nums: tuple[int, ...] | None = None
        nums_tuple = False
        nargs = len(self.spec.children)
        # unwrap derivative transforms, outermost first: vmap(jacfwd(jacrev(f))) gives
        # levels ["jacrev", "jacfwd"] (inner first), all over the same argnums
        while isinstance(func, _Transform):
            if func.kind not in ("jacrev", "jacfwd", "grad", "hessian") or func.has_aux:
                return None
            these, is_tuple = _argnums(f"vmap({func.kind})", func.argnums, nargs)
            if nums is not None and (these, is_tuple) != (nums, nums_tuple):
                return None
            nums, nums_tuple = these, is_tuple
            levels[:0] = ["jacrev", "jacfwd"] if func.kind == "hessian" else [func.kind]
            chunk = func.options.get("chunk_size") or chunk
            func = func.func
        if getattr(func, "__lucid_vmap__", False):
            return None
        # the tape's inputs: the leaves differentiated, then the other mapped ones; the
        # unmapped rest are constants of the recording
        starts = [0]
        for child in self.spec.children:
            starts.append(starts[-1] + child.leaves)
        diff: list[int] = []
        if levels:
            assert nums is not None
            diff = [k for n in nums for k in range(starts[n], starts[n + 1])]
            if any(not (isinstance(self.leaves[k], Tensor) and self.leaves[k].is_floating_point()) for k in diff):
                return None
        extra = [k for k, d in enumerate(self.dims) if d is not None and k not in diff]
        if levels and any(not self.leaves[k].is_floating_point() for k in extra):
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

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random draws and untraceable steps are read below
            try:
                t = tape(flat, tuple(first[k] for k in inputs))
            except Exception:  # noqa: BLE001  (the per-element calls raise it with its own message)
                return None
        _, random, untraceable = t._cache.tapes()[0]
        if random and self.randomness == "error":
            raise RuntimeError(_RANDOM_ERROR)
        if untraceable is not None or (random and self.randomness == "different"):
            return None
        if levels and levels[0] == "grad" and (len(found["shapes"]) != 1 or _numel(found["shapes"][0]) != 1):
            return None  # the per-element calls raise grad's error
        return _Plan(t, levels, nums or (), nums_tuple, starts, diff, inputs, found["spec"], found["shapes"],
                     first, chunk)

    def element_inputs(self, plan: _Plan, b: int) -> tuple[Tensor, ...]:
        e = self.element(b)
        return tuple(e[k] for k in plan.inputs)

    def by_batch(self, plan: _Plan, ranges: list[range]) -> tuple[list[Tensor], tree.Spec] | None:
        """The tape replayed once over the whole batch with each op's batching rule, and
        per-sample derivatives from that one graph (NOTE [batched replay] in
        ``functional/batch.rs``); None when a guard differs between samples."""
        if self.size == 0:
            return None
        # every tape input batched: mapped ones with their batch dim in front, shared
        # differentiated ones broadcast over the batch (each sample gets its own gradient)
        whole = []
        for k in plan.inputs:
            x, d = self.leaves[k], self.dims[k]
            if d is None:
                whole.append(x.unsqueeze(0).expand(self.size, *x.shape))
            elif d != 0:
                whole.append(x.permute(d, *[i for i in range(x.ndim) if i != d]))
            else:
                whole.append(x)
        nested = _core.is_grad_enabled() and any(x.requires_grad for x in whole)
        parts: list[list[Tensor]] = []
        for r in ranges:
            batch = whole if len(ranges) == 1 else [x.narrow(0, r.start, len(r)) for x in whole]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = plan.tape.batched(batch, [True] * len(batch), plan.levels, len(plan.diff), plan.chunk,
                                        nested)
            if got is None:
                return None
            parts.append(got[0])
        outs = parts[0] if len(parts) == 1 else [cat([p[k] for p in parts], 0) for k in range(len(parts[0]))]
        spec = plan.spec
        arg_specs = [self.spec.children[n] for n in plan.nums]
        for level in plan.levels:
            spec = _level_spec(level, spec, arg_specs, plan.nums_tuple)
        return outs, spec

    def by_tape(self, plan: _Plan, ranges: list[range]) -> tuple[list[Tensor], tree.Spec] | None:
        """The tape replayed per element across the cores (each element takes its own
        branch: guards that differ between elements record again)."""
        kind = plan.levels[0] if plan.levels else "call"
        strategy = "forward-mode" if kind == "jacfwd" else "reverse-mode"
        diff, first, spec, shapes = plan.diff, plan.first, plan.spec, plan.shapes
        results: list[Any] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in ranges:
                points = [self.element_inputs(plan, b) for b in r]
                if kind == "call":
                    results.extend(plan.tape.map("call", points))
                else:
                    results.extend(plan.tape.map("jacobian", points, strategy=strategy))
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
            for n_arg in plan.nums:
                count = plan.starts[n_arg + 1] - plan.starts[n_arg]
                trees.append(tree.unflatten(self.spec.children[n_arg], per_input[j:j + count]))
                j += count
            per_out.append(tuple(trees) if plan.nums_tuple else trees[0])
            row += n
        leaves, out_spec = tree.flatten(per_out[0] if kind == "grad" else tree.unflatten(spec, per_out))
        return leaves, out_spec


class _Plan(NamedTuple):
    """A recorded tape and what a vmapped call asks of it."""

    tape: Any
    levels: list[str]
    nums: tuple[int, ...]
    nums_tuple: bool
    starts: list[int]
    diff: list[int]
    inputs: list[int]
    spec: tree.Spec
    shapes: list[tuple[int, ...]]
    first: list[Any]
    chunk: int | None


def _level_spec(level: str, spec: tree.Spec, arg_specs: list[tree.Spec], nums_tuple: bool) -> tree.Spec:
    """The output spec of a derivative transform of a function whose outputs have
    ``spec``: per output leaf, one tree per differentiated argument (a tuple of them
    when argnums is a tuple); for ``grad``, just those trees. Leaves come output-major,
    as the batched replay returns them."""
    counter = iter(range(1 << 62))

    def per_argnum() -> Any:
        trees = [tree.unflatten(s, [next(counter) for _ in range(s.leaves)]) for s in arg_specs]
        return tuple(trees) if nums_tuple else trees[0]

    built = per_argnum() if level == "grad" else tree.unflatten(spec, [per_argnum() for _ in range(spec.leaves)])
    return tree.flatten(built)[1]


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
