"""``lucid.tape``: record a function once, then evaluate it and its derivatives at new
inputs by replaying the recording in Rust, without running the Python function.

See NOTE [tape] in ``crates/lucid-core/src/functional/tape.rs`` for the mechanism.
"""

from __future__ import annotations

import pickle
import warnings
from typing import TYPE_CHECKING, Any, Callable, Generic, List, Literal, Sequence, Tuple, TypeVar, Union, overload

import numpy as np

from . import _core
from ._core import Tensor
from ._tensor import from_numpy
from .autograd import functional as _f

if TYPE_CHECKING:
    import numpy.typing as npt

    from .autograd._sparse import Sparsity
    from ._core import _Strategy
    from .autograd.functional import _Outputs, _Recorded, _Vectors

    # A tape's inputs: a Tensor or a NumPy array, or a tuple or list of them.
    _One = Union[Tensor, npt.NDArray[Any]]
    _Many = Union[Tuple[_One, ...], List[_One]]
    _TapeInputs = Union[_One, Sequence[_One]]

__all__ = ["tape", "Tape"]

# What the taped function returns (a Tensor or a tuple of Tensors): calling the tape
# returns the same.
_Out = TypeVar("_Out", bound=Union[Tensor, Tuple[Tensor, ...]], covariant=True)


def _as_inputs(value: object, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """``(was_tuple, tuple_of_tensors)`` from a Tensor, a NumPy array, or a tuple or
    list of them (arrays keep their dtype)."""
    if value.__class__ is Tensor:
        return False, (value,)
    if isinstance(value, np.ndarray):
        return False, (from_numpy(value),)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{fn}: inputs must be a Tensor, a NumPy array or a tuple of them, got {type(value).__name__}")
    items = []
    for i, t in enumerate(value):
        if isinstance(t, Tensor):
            items.append(t)
        elif isinstance(t, np.ndarray):
            items.append(from_numpy(t))
        else:
            raise TypeError(f"{fn}: inputs[{i}] must be a Tensor or a NumPy array, got {type(t).__name__}")
    if not items:
        raise TypeError(f"{fn}: inputs must not be empty")
    return True, tuple(items)


class Tape(Generic[_Out]):
    """A function recorded once, replayed for new inputs (make one with ``lucid.tape``).

    Calling the tape evaluates the function; ``jacobian``, ``value_and_jacobian``,
    ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp`` and ``sparsity`` take the inputs as the functional API
    does (a Tensor or a tuple, NumPy arrays accepted) and every option of the functional
    API, and return exactly what it returns: replay reruns the recorded ops with the
    same kernels, so the results are bit for bit the eager ones.

    **Guards.** Whatever the function reads out of a tensor while recording —
    ``bool(t)`` (an ``if`` on a tensor), ``float``, ``int``, ``.item()``, ``.tolist()``,
    ``.numpy()``, an index computed from the inputs — is kept with its value, and
    replay compares the new value as soon as it is computed. When one differs (or the
    input shapes or dtypes do), the function is recorded again and that tape kept
    beside the others (up to ``max_tapes``, most recently used first), so a function
    with an ``if`` replays both branches once each is recorded. ``records`` counts the
    recordings. A value that changes on every call (``float(x.norm())`` used as a
    number) makes every call record: correct, but as slow as the eager API, and the
    tape warns once.

    **Frozen at recording:** random draws inside the function (replay reuses the values
    drawn while recording; the tape warns), and tensors the function closes over (as
    ``jax.jit`` bakes in closed-over arrays: make them inputs when they change).
    Writing into a tensor computed from the inputs (``y[0] = ...``) cannot be replayed:
    the tape warns once and runs the function on every call (the eager behaviour).

    >>> t = lucid.tape(lambda x: x.sin() * x, lucid.tensor([1.0, 2.0]))
    >>> t(lucid.tensor([0.0, 0.0]))          # replayed: the lambda does not run
    tensor([0., 0.])
    >>> t.records, t.replays
    (1, 1)
    """

    def __init__(self, func: Callable[..., _Out], example_inputs: _TapeInputs, max_tapes: int = 8):
        if not callable(func):
            raise TypeError(f"tape: func must be callable, got {type(func).__name__}")
        if max_tapes.__class__ is not int:
            raise TypeError(f"tape: max_tapes must be a positive int, got {type(max_tapes).__name__}")
        if max_tapes >= 2 ** 63:
            raise OverflowError(f"tape: max_tapes {max_tapes} is out of the int64 range")
        if max_tapes < 1:
            raise ValueError(f"tape: max_tapes must be a positive int, got {max_tapes!r}")
        self._func = func
        self._cache = _core.TapeCache(max_tapes)
        self._max_tapes = max_tapes
        self._warned: set[str] = set()
        self._graph(example_inputs, "tape", False)

    # ---- the graph at new inputs ------------------------------------------------------

    def _graph(self, inputs: _TapeInputs, fn: str, grad: bool = True) -> _Recorded:
        in_tuple, ins = _as_inputs(inputs, fn)
        leaves, outs, out_tuple, replayed = self._cache.graph(fn, self._func, list(ins), grad)
        self._recorded(not replayed)
        return in_tuple, leaves, out_tuple, outs

    def _recorded(self, recorded: bool) -> None:
        if recorded:
            self._after_recording()

    def _after_recording(self) -> None:
        steps, random, untraceable = self._cache.tapes()[0]
        if random:
            self._warn_once("random", "lucid.tape: the function draws random numbers; replays reuse the values "
                                      "drawn while recording (pass random values in as inputs to vary them)")
        if untraceable is not None:
            self._warn_once("untraceable", f"lucid.tape: cannot replay this function ({untraceable}); every call "
                                           "runs the function, as the eager API does")
        records = self._cache.records
        if records > self._max_tapes and records > 2 * self._cache.replays:
            self._warn_once("churn", f"lucid.tape: the function was recorded {records} times in "
                                     f"{records + self._cache.replays} calls: a value it reads out of a tensor "
                                     "(float(), .item(), .numpy(), an if on a tensor) changes from call to call, "
                                     "so replays rarely apply")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    # ---- evaluation and derivatives ---------------------------------------------------

    def __call__(self, *inputs: _One) -> _Out:
        """``func(*inputs)``, replayed: what calling ``func`` returns (differentiable when
        an input requires grad, so tapes compose with each other and with the rest of
        Lucid)."""
        _, ins = _as_inputs(inputs, "tape")
        outs, out_tuple, recorded = self._cache.call(self._func, list(ins))
        self._recorded(recorded)
        return tuple(outs) if out_tuple else outs[0]  # type: ignore[return-value]  # what func returns: _Out

    @overload
    def jacobian(self, inputs: _One, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
                 chunk_size: int | None = ..., strategy: _Strategy = ..., sparse: Literal[False] = ...) -> Tensor: ...
    @overload
    def jacobian(self, inputs: _Many, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
                 chunk_size: int | None = ..., strategy: _Strategy = ...,
                 sparse: Literal[False] = ...) -> tuple[Tensor, ...]: ...
    @overload  # sparse=True: scipy.sparse.csr_array blocks (SciPy is not typed)
    def jacobian(self, inputs: _TapeInputs, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
                 chunk_size: int | None = ..., strategy: _Strategy = ..., *, sparse: bool) -> Any: ...
    def jacobian(self, inputs: _TapeInputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
                 chunk_size: int | None = None, strategy: _Strategy = "auto", sparse: bool = False) -> Any:
        """``lucid.autograd.jacobian(func, inputs, ...)``, by replay: the same options, the
        same result bit for bit.

        >>> t = lucid.tape(lambda x: x ** 2, lucid.tensor([1.0, 2.0]))
        >>> t.jacobian(lucid.tensor([3.0, 4.0]))
        tensor([[6., 0.],
                [0., 8.]])
        """
        chunk_size = _f._jacobian_options(create_graph, strict, vectorize, chunk_size, strategy, sparse)
        if sparse:
            return _f._jacobian_of(self._graph(inputs, "jacobian"), create_graph, strict, vectorize, chunk_size,
                                   strategy, sparse)
        # the dense Jacobian in one Rust call: the replay and the sweep
        in_tuple, ins = _as_inputs(inputs, "jacobian")
        blocks, recorded = self._cache.jacobian(self._func, list(ins), create_graph, strict, vectorize, chunk_size,
                                                strategy)
        self._recorded(recorded)
        return tuple(blocks) if in_tuple else blocks[0]

    @overload
    def value_and_jacobian(self: Tape[Tensor], inputs: _One, create_graph: bool = ..., strict: bool = ...,
                           vectorize: bool = ..., chunk_size: int | None = ..., strategy: _Strategy = ...,
                           sparse: Literal[False] = ...) -> tuple[Tensor, Tensor]: ...
    @overload
    def value_and_jacobian(self: Tape[tuple[Tensor, ...]], inputs: _One, create_graph: bool = ...,
                           strict: bool = ..., vectorize: bool = ..., chunk_size: int | None = ...,
                           strategy: _Strategy = ...,
                           sparse: Literal[False] = ...) -> tuple[tuple[Tensor, ...], Tensor]: ...
    @overload
    def value_and_jacobian(self: Tape[Tensor], inputs: _Many, create_graph: bool = ..., strict: bool = ...,
                           vectorize: bool = ..., chunk_size: int | None = ..., strategy: _Strategy = ...,
                           sparse: Literal[False] = ...) -> tuple[Tensor, tuple[Tensor, ...]]: ...
    @overload
    def value_and_jacobian(self: Tape[tuple[Tensor, ...]], inputs: _Many, create_graph: bool = ...,
                           strict: bool = ..., vectorize: bool = ..., chunk_size: int | None = ...,
                           strategy: _Strategy = ...,
                           sparse: Literal[False] = ...) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]: ...
    @overload  # sparse=True: scipy.sparse.csr_array blocks (SciPy is not typed)
    def value_and_jacobian(self, inputs: _TapeInputs, create_graph: bool = ..., strict: bool = ...,
                           vectorize: bool = ..., chunk_size: int | None = ..., strategy: _Strategy = ...,
                           sparse: bool = ...) -> tuple[_Outputs, Any]: ...
    def value_and_jacobian(self, inputs: _TapeInputs, create_graph: bool = False, strict: bool = False,
                           vectorize: bool = False, chunk_size: int | None = None, strategy: _Strategy = "auto",
                           sparse: bool = False) -> tuple[_Outputs, Any]:
        """``lucid.autograd.value_and_jacobian(func, inputs, ...)``, by replay: ``(f(x),
        J)`` from one replay and one sweep, the same options, the same result bit for bit.

        >>> t = lucid.tape(lambda x: x ** 2, lucid.tensor([1.0, 2.0]))
        >>> t.value_and_jacobian(lucid.tensor([3.0, 4.0]))
        (tensor([ 9., 16.]), tensor([[6., 0.],
                [0., 8.]]))
        """
        fn = "value_and_jacobian"
        chunk_size = _f._jacobian_options(create_graph, strict, vectorize, chunk_size, strategy, sparse, fn)
        if sparse:
            return _f._value_and_jacobian_of(self._graph(inputs, fn), create_graph, strict, vectorize, chunk_size,
                                             strategy, sparse)
        # the values and the dense Jacobian in one Rust call: the replay and the sweep
        in_tuple, ins = _as_inputs(inputs, fn)
        values, out_tuple, blocks, recorded = self._cache.value_and_jacobian(
            self._func, list(ins), create_graph, strict, vectorize, chunk_size, strategy)
        self._recorded(recorded)
        return (tuple(values) if out_tuple else values[0]), (tuple(blocks) if in_tuple else blocks[0])

    @overload
    def hessian(self, inputs: _One, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
                strategy: _Strategy = ..., sparse: Literal[False] = ...) -> Tensor: ...
    @overload
    def hessian(self, inputs: _Many, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
                strategy: _Strategy = ..., sparse: Literal[False] = ...) -> tuple[tuple[Tensor, ...], ...]: ...
    @overload  # sparse=True: scipy.sparse.csr_array blocks (SciPy is not typed)
    def hessian(self, inputs: _TapeInputs, create_graph: bool = ..., strict: bool = ..., vectorize: bool = ...,
                strategy: _Strategy = ..., *, sparse: bool) -> Any: ...
    def hessian(self, inputs: _TapeInputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
                strategy: _Strategy = "reverse-mode", sparse: bool = False) -> Any:
        """``lucid.autograd.hessian(func, inputs, ...)``, by replay.

        >>> t = lucid.tape(lambda x: (x ** 3).sum(), lucid.tensor([1.0, 2.0]))
        >>> t.hessian(lucid.tensor([1.0, -1.0]))
        tensor([[ 6.,  0.],
                [ 0., -6.]])
        """
        _f._hessian_options(create_graph, strict, vectorize, strategy, sparse)
        return _f._hessian_of(self._graph(inputs, "hessian"), create_graph, strict, vectorize, strategy, sparse)

    def vjp(self, inputs: _TapeInputs, v: _Vectors = None, create_graph: bool = False,
            strict: bool = False) -> tuple[_Out, tuple[Tensor, ...]]:
        """``lucid.autograd.vjp(func, inputs, v, ...)``, by replay.

        >>> t = lucid.tape(lambda x: x ** 2, lucid.tensor([1.0, 2.0]))
        >>> t.vjp(lucid.tensor([1.0, 2.0]), lucid.tensor([1.0, 1.0]))[1]
        (tensor([2., 4.]),)
        """
        _f._product_options("vjp", create_graph, strict)
        return _f._vjp_of(self._graph(inputs, "vjp"), v, create_graph, strict)  # type: ignore[return-value]  # _Out

    @overload
    def jvp(self: Tape[Tensor], inputs: _TapeInputs, v: _Vectors = ..., create_graph: bool = ...,
            strict: bool = ...) -> tuple[Tensor, Tensor]: ...
    @overload
    def jvp(self: Tape[tuple[Tensor, ...]], inputs: _TapeInputs, v: _Vectors = ..., create_graph: bool = ...,
            strict: bool = ...) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]: ...
    @overload
    def jvp(self, inputs: _TapeInputs, v: _Vectors = ..., create_graph: bool = ...,
            strict: bool = ...) -> tuple[_Outputs, _Outputs]: ...
    def jvp(self, inputs: _TapeInputs, v: _Vectors = None, create_graph: bool = False,
            strict: bool = False) -> tuple[_Outputs, _Outputs]:
        """``lucid.autograd.jvp(func, inputs, v, ...)``, by replay.

        >>> t = lucid.tape(lambda x: x ** 2, lucid.tensor([1.0, 2.0]))
        >>> t.jvp(lucid.tensor([1.0, 2.0]), lucid.tensor([1.0, 0.0]))[1]
        tensor([2., 0.])
        """
        _f._product_options("jvp", create_graph, strict)
        return _f._jvp_of(self._graph(inputs, "jvp"), v, create_graph, strict)

    @overload
    def hvp(self, inputs: _One, v: _Vectors = ..., create_graph: bool = ...,
            strict: bool = ...) -> tuple[Tensor, Tensor]: ...
    @overload
    def hvp(self, inputs: _Many, v: _Vectors = ..., create_graph: bool = ...,
            strict: bool = ...) -> tuple[Tensor, tuple[Tensor, ...]]: ...
    def hvp(self, inputs: _TapeInputs, v: _Vectors = None, create_graph: bool = False,
            strict: bool = False) -> tuple[Tensor, _Outputs]:
        """``lucid.autograd.hvp(func, inputs, v, ...)``, by replay.

        >>> t = lucid.tape(lambda x: (x ** 3).sum(), lucid.tensor([1.0, 2.0]))
        >>> t.hvp(lucid.tensor([1.0, 2.0]), lucid.tensor([1.0, 1.0]))[1]
        tensor([ 6., 12.])
        """
        _f._product_options("hvp", create_graph, strict)
        return _f._hessian_product_of("hvp", self._graph(inputs, "hvp"), v, create_graph, strict)

    @overload
    def vhp(self, inputs: _One, v: _Vectors = ..., create_graph: bool = ...,
            strict: bool = ...) -> tuple[Tensor, Tensor]: ...
    @overload
    def vhp(self, inputs: _Many, v: _Vectors = ..., create_graph: bool = ...,
            strict: bool = ...) -> tuple[Tensor, tuple[Tensor, ...]]: ...
    def vhp(self, inputs: _TapeInputs, v: _Vectors = None, create_graph: bool = False,
            strict: bool = False) -> tuple[Tensor, _Outputs]:
        """``lucid.autograd.vhp(func, inputs, v, ...)``, by replay.

        >>> t = lucid.tape(lambda x: (x ** 3).sum(), lucid.tensor([1.0, 2.0]))
        >>> t.vhp(lucid.tensor([1.0, 2.0]), lucid.tensor([0.0, 1.0]))[1]
        tensor([ 0., 12.])
        """
        _f._product_options("vhp", create_graph, strict)
        return _f._hessian_product_of("vhp", self._graph(inputs, "vhp"), v, create_graph, strict)

    def sparsity(self, inputs: _TapeInputs, strategy: _Strategy = "auto", hessian: bool = False) -> Sparsity:
        """``lucid.autograd.sparsity(func, inputs, ...)``, by replay.

        >>> t = lucid.tape(lambda x: x * 2, lucid.ones(4))
        >>> t.sparsity(lucid.ones(4)).nnz
        4
        """
        _f._sparsity_options(strategy, hessian)
        return _f._sparsity_of(self._graph(inputs, "sparsity"), strategy, hessian)

    def map(self, method: Literal["jacobian", "hessian", "call"], points: Sequence[Any] | npt.NDArray[Any],
            **options: Any) -> list[Any]:
        """``method`` ("jacobian", "hessian" or "call") at each of ``points``, replayed in
        Rust and spread over the cores: a list with one result per point, each exactly
        what ``self.jacobian(point, **options)`` (or ``hessian``, or ``self(*point)``)
        returns. ``points`` is a sequence of inputs (Tensors, NumPy arrays or tuples of
        them), or a NumPy array whose first axis runs over the points of a single input.
        Points where a guard misses are recorded afterwards on this thread; ``sparse``
        is not offered here (call ``jacobian(..., sparse=True)`` per point).

        >>> t = lucid.tape(lambda x: x ** 2, lucid.tensor([1.0, 2.0]))
        >>> [J.diagonal().tolist() for J in t.map("jacobian", np.array([[1.0, 2.0], [3.0, 4.0]]))]
        [[2.0, 4.0], [6.0, 8.0]]
        """
        if method not in ("jacobian", "hessian", "call"):
            raise ValueError(f"map: method must be 'jacobian', 'hessian' or 'call', got {method!r}")
        allowed = {"jacobian": ("create_graph", "strict", "vectorize", "chunk_size", "strategy"),
                   "hessian": ("create_graph", "strict", "vectorize", "strategy"), "call": ()}[method]
        for name in options:
            if name not in allowed:
                raise TypeError(f"map: {method} takes no option {name!r} here (options: {', '.join(allowed) or 'none'})")
        points = list(points)
        if not points:
            return []
        single: Callable[..., Any] = {  # type: ignore[assignment]  # overloaded methods and a lambda
            "jacobian": self.jacobian, "hessian": self.hessian,
            "call": lambda p: self(*_as_inputs(p, "map")[1])}[method]
        # the first point goes the single-call way: it checks the options and the
        # outputs and raises exactly the errors a single call raises
        first = single(points[0], **options)
        tuples = [_as_inputs(p, "map") for p in points[1:]]
        opts = {"create_graph": False, "strict": False, "vectorize": False, "chunk_size": None,
                "strategy": "auto" if method == "jacobian" else "reverse-mode", **options}
        raw = self._cache.map(method, [list(ins) for _, ins in tuples], opts["create_graph"], opts["strict"],
                              opts["vectorize"], opts["chunk_size"], opts["strategy"])
        results = [first]
        for p, (in_tuple, _), r in zip(points[1:], tuples, raw):
            if r is None:
                results.append(single(p, **options))
            elif method == "call":
                outs = tuple(r[0])
                results.append(outs if len(outs) > 1 or isinstance(first, tuple) else outs[0])
            elif method == "jacobian":
                results.append(tuple(r[0]) if in_tuple else r[0][0])
            else:
                results.append(tuple(tuple(row) for row in r) if in_tuple else r[0][0])
        return results

    def batched(self, inputs: Sequence[Tensor], batched: Sequence[bool], levels: Sequence[str] = (),
                ndiff: int = 0, chunk_size: int | None = None,
                create_graph: bool = False) -> tuple[list[Tensor], list[str]] | None:
        """The function over a batch in one replay (NOTE [batched replay] in
        ``crates/lucid-core/src/functional/batch.rs``): ``inputs[k]`` carries a leading
        batch dim when ``batched[k]``, else it is shared by every sample. ``levels``
        lists per-sample derivative transforms from the innermost out ("jacrev",
        "jacfwd", "grad") taken w.r.t. the first ``ndiff`` inputs (batched). Returns the
        final outputs, each ``(B, ...)`` (flattened output-major), and the names of ops
        that ran once per sample for want of a batching rule; ``None`` when a guard
        differs between samples (map per sample instead).

        >>> t = lucid.tape(lambda x: (x * x).sum(), lucid.tensor([1.0, 2.0]))
        >>> outs, fallbacks = t.batched([lucid.tensor([[1.0, 2.0], [3.0, 4.0]])], [True], ["grad"], 1)
        >>> outs[0], fallbacks
        (tensor([[2., 4.],
                [6., 8.]]), [])
        """
        found = self._cache.batched(list(inputs), list(batched), list(levels), ndiff, chunk_size, create_graph)
        return None if found is None else (list(found[0]), list(found[1]))

    # ---- pickling ----------------------------------------------------------------------

    def __reduce__(self) -> tuple[Callable[[bytes, bytes | None, int], Tape[Any]], tuple[bytes, bytes | None, int]]:
        # The tapes travel as bytes (versioned, checksummed); the function travels beside
        # them so that a missed guard can record again in the other process: pickled by
        # reference when the standard pickle can (module-level functions), by value with
        # cloudpickle when it is installed (lambdas, closures), else left behind (the
        # tape then replays what it holds and says so when it would need to record).
        return _restore, (self._cache.to_bytes(), _function_bytes(self._func), self._max_tapes)

    # ---- what the tape holds ----------------------------------------------------------

    @property
    def records(self) -> int:
        """How many times the function ran to be recorded (the first call included).

        >>> t = lucid.tape(lambda x: x * 2, lucid.ones(2))
        >>> _ = t(lucid.zeros(2)), t(lucid.zeros(3))     # a new shape records again
        >>> t.records
        2
        """
        return self._cache.records

    @property
    def replays(self) -> int:
        """How many calls a replay answered.

        >>> t = lucid.tape(lambda x: x * 2, lucid.ones(2))
        >>> _ = t(lucid.zeros(2)), t(lucid.ones(2))
        >>> t.replays
        2
        """
        return self._cache.replays

    @property
    def tapes(self) -> int:
        """How many recordings are kept (one per outcome of the guards seen lately).

        >>> t = lucid.tape(lambda x: x * 2 if x.sum() > 0 else -x, lucid.ones(2))
        >>> _ = t(-lucid.ones(2))                        # the other branch: recorded too
        >>> t.tapes
        2
        """
        return len(self._cache.tapes())

    def __repr__(self) -> str:
        steps = [s for s, _, _ in self._cache.tapes()]
        name = getattr(self._func, "__qualname__", type(self._func).__name__)
        return f"<lucid.Tape of {name}: {len(steps)} tape(s) of {steps} steps, {self.records} recording(s), {self.replays} replay(s)>"


def _function_bytes(func: Callable[..., Any]) -> bytes | None:
    try:
        return pickle.dumps(func)
    except Exception:  # noqa: BLE001 (any failure to pickle means "try the next way")
        pass
    try:
        import cloudpickle
        return cloudpickle.dumps(func)  # type: ignore[no-any-return]  # cloudpickle is untyped
    except Exception:  # noqa: BLE001
        return None


class _Unpicklable:
    """The function of an unpickled tape whose function could not be pickled."""

    def __call__(self, *args: object) -> Any:
        raise RuntimeError("lucid.tape: this tape was unpickled without its function (it could not be pickled; "
                           "install cloudpickle, or tape a module-level function), and these inputs need a new "
                           "recording (a guard missed, or the input shapes or dtypes changed)")


def _restore(tapes: bytes, func: bytes | None, max_tapes: int) -> Tape[Any]:
    t = Tape.__new__(Tape)
    t._func = pickle.loads(func) if func is not None else _Unpicklable()
    t._cache = _core.TapeCache.from_bytes(tapes, max_tapes)
    t._max_tapes = max_tapes
    t._warned = set()
    return t


def tape(func: Callable[..., _Out], example_inputs: _TapeInputs, max_tapes: int = 8) -> Tape[_Out]:
    """Record ``func`` at ``example_inputs`` (a Tensor or a tuple, as ``inputs`` in
    ``jacobian``; ``func`` runs once now) and return a ``Tape`` that evaluates it and
    its derivatives at new inputs by replay, without running ``func`` again. Newton's
    method on ``x² = 2``:

    >>> f = lucid.tape(lambda x: x * x - 2, lucid.tensor([1.0], dtype=lucid.float64))
    >>> x = lucid.tensor([1.0], dtype=lucid.float64)
    >>> for _ in range(6):
    ...     fx, J = f.value_and_jacobian(x)                   # replayed: no Python runs
    ...     x = x - lucid.linalg.solve(J, fx)
    >>> x.item(), f.records
    (1.414213562373095..., 1)

    See ``Tape`` for the guards that keep replays correct when ``func`` branches on
    tensor values.
    """
    return Tape(func, example_inputs, max_tapes)
