"""Every op that takes a dim, given each kind of dim, against what PyTorch does.

PyTorch is not a test dependency; its behaviour is written down here from its argument
parser and docs (NOTE [dim arguments] in crates/lucid-python/src/args.rs has the table):

- a bool is not an int (``THPUtils_checkLong`` excludes it): ``dim=True`` is a TypeError;
- ``dim=()``/``dim=[]`` is all dims for reductions (``sum``, ``mean``, ``amax``, ``amin``,
  ``var``, ``std``, ``norm``, ``logsumexp``; pytorch/pytorch#29137), no dims for
  ``squeeze`` and ``flip`` (no-ops) and for ``roll`` (which then rolls the flattened
  tensor), and a TypeError where one int is expected;
- negative dims count from the end; out of range is an IndexError;
- a repeated dim, also ``(0, -2)`` on a 2-d tensor, is an error naming the dim
  (PyTorch: RuntimeError "dim 0 appears multiple times in the list of dims"; Lucid's
  argument errors are ValueErrors); ``roll`` allows repeats and rolls twice, as PyTorch;
- floats, strings and non-int items are TypeErrors.

Where Lucid differs on purpose: ``prod`` also takes a tuple of dims (PyTorch's takes one
int), read like the other reductions; ``var(True)``/``std(True)`` is PyTorch's positional
``unbiased`` and pyo3 cannot tell ``dim=True`` from it, so both mean ``unbiased=True``.
"""

import numpy as np
import pytest

import lucid

X = lucid.tensor(np.arange(1.0, 7.0).reshape(2, 3))  # 2-d, every size > 1
ROW = lucid.tensor(np.arange(1.0, 4.0).reshape(1, 3))  # a size-1 dim to squeeze
IDX = lucid.tensor([[0, 1, 0], [1, 0, 1]])


def same(a, b):
    """Results compare equal (tensors, named tuples, tuples of tensors, sizes)."""
    if isinstance(a, lucid.Tensor):
        return a.shape == b.shape and np.array_equal(a.numpy(), b.numpy())
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(p, q) for p, q in zip(a, b))
    return a == b


def raises(exc, message, call):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == message


# ---- ops that reduce over several dims -----------------------------------------------------------

REDUCTIONS = {
    "sum": lambda x, d: x.sum(d),
    "mean": lambda x, d: x.mean(d),
    "prod": lambda x, d: x.prod(d),
    "amax": lambda x, d: x.amax(d),
    "amin": lambda x, d: x.amin(d),
    "var": lambda x, d: x.var(dim=d),
    "std": lambda x, d: x.std(dim=d),
    "norm": lambda x, d: x.norm(dim=d),
    "logsumexp": lambda x, d: x.logsumexp(d),
}


@pytest.mark.parametrize("op", list(REDUCTIONS))
def test_reduction_dims(op):
    call = REDUCTIONS[op]
    whole = call(X, None)
    assert whole.shape == ()
    assert same(call(X, ()), whole) and same(call(X, []), whole)  # () is all dims
    assert same(call(X, -1), call(X, 1)) and same(call(X, (-2, -1)), whole)
    assert same(call(X, [0, 1]), whole) and same(call(X, np.int64(1)), call(X, 1))
    for bad, kind in [(1.0, "float"), ("a", "str"), ({0}, "set")]:
        raises(TypeError, f"{op}: dim must be an int, a tuple of ints or None, got {kind}", lambda: call(X, bad))
    raises(TypeError, f"{op}: dim[1] must be an int, got float", lambda: call(X, (0, 1.0)))
    raises(TypeError, f"{op}: dim[0] must be an int, got bool", lambda: call(X, [True]))
    raises(IndexError, f"{op}: dim {2 ** 70} is out of range", lambda: call(X, 2 ** 70))
    if op in ("var", "std"):
        # PyTorch's positional `unbiased`: X.var(False) is the biased variance of all
        method = getattr(X, op)
        assert same(method(True), method()) and same(method(False), method(unbiased=False))
        assert same(call(X, False), method(unbiased=False))  # dim=False reads the same (see above)
    else:
        raises(TypeError, f"{op}: dim must be an int, a tuple of ints or None, got bool", lambda: call(X, True))
    # last, the core's range and repeat checks
    for repeated in [(0, 0), (0, -2), [1, -1]]:
        d = repeated[0] % 2
        raises(ValueError, f"{op}: dim {d} appears more than once", lambda: call(X, repeated))
    raises(IndexError, f"{op}: dim 2 is out of range for a tensor with 2 dims", lambda: call(X, 2))
    raises(IndexError, f"{op}: dim -3 is out of range for a tensor with 2 dims", lambda: call(X, (0, -3)))


def test_var_with_unbiased_given_rejects_a_bool_dim():
    raises(TypeError, "var: dim must be an int, a tuple of ints or None, got bool", lambda: X.var(True, True))


def test_module_functions_parse_dims_the_same_way():
    assert same(lucid.sum(X, ()), X.sum())
    raises(TypeError, "sum: dim must be an int, a tuple of ints or None, got bool", lambda: lucid.sum(X, True))
    raises(TypeError, "amax: dim must be an int, a tuple of ints or None, got bool", lambda: lucid.amax(X, dim=True))


# ---- ops that take several dims but do not reduce -----------------------------------------------

def test_squeeze_dims():
    assert same(ROW.squeeze(()), ROW) and same(ROW.squeeze([]), ROW)  # no dims: a no-op
    assert ROW.squeeze(None).shape == (3,) and ROW.squeeze().shape == (3,)
    assert ROW.squeeze(-2).shape == (3,) and ROW.squeeze((0, -1)).shape == (3,)  # -1 has size 3: kept
    for repeated in [(0, 0), (0, -2)]:
        raises(ValueError, "squeeze: dim 0 appears more than once", lambda: ROW.squeeze(repeated))
    raises(TypeError, "squeeze: dim must be an int, a tuple of ints or None, got bool", lambda: ROW.squeeze(True))
    raises(TypeError, "squeeze: dim must be an int, a tuple of ints or None, got float", lambda: ROW.squeeze(0.0))
    raises(TypeError, "squeeze: dim must be an int, a tuple of ints or None, got str", lambda: ROW.squeeze("0"))
    raises(TypeError, "squeeze: dim[0] must be an int, got bool", lambda: ROW.squeeze((False,)))
    raises(IndexError, "squeeze: dim 2 is out of range for a tensor with 2 dims", lambda: ROW.squeeze(2))
    raises(IndexError, "squeeze: dim 1 is out of range for a tensor with 0 dims", lambda: lucid.tensor(1.0).squeeze(1))


def test_flip_dims():
    for none in [lambda: X.flip(()), lambda: X.flip([]), lambda: X.flip(dims=()), lambda: lucid.flip(X, dims=[])]:
        assert same(none(), X)  # no dims: a no-op
    assert same(X.flip(-1), X.flip(1)) and same(X.flip(0, -1), X.flip((0, 1))) and same(X.flip(dims=-2), X.flip(0))
    for repeated in [(0, 0), (0, -2)]:
        raises(ValueError, "flip: dim 0 appears more than once", lambda: X.flip(repeated))
    raises(ValueError, "flip: dim 0 appears more than once", lambda: X.flip(0, -2))
    raises(TypeError, "flip: dims must be ints or a tuple of ints, got bool", lambda: X.flip(True))
    raises(TypeError, "flip: dims must be an int, a tuple of ints or None, got bool", lambda: X.flip(dims=True))
    raises(TypeError, "flip: dims[1] must be an int, got bool", lambda: X.flip(0, True))
    raises(TypeError, "flip: dims must be ints or a tuple of ints, got float", lambda: X.flip(1.0))
    raises(TypeError, "flip: dims must be ints or a tuple of ints, got str", lambda: X.flip("0"))
    raises(IndexError, "flip: dim 2 is out of range for a tensor with 2 dims", lambda: X.flip(2))


def test_roll_dims():
    flat = X.roll(1)
    assert same(X.roll(1, ()), flat) and same(X.roll(1, []), flat) and same(X.roll(1, None), flat)
    assert same(X.roll(1, -1), X.roll(1, 1)) and same(X.roll((1, 1), (0, -2)), X)  # a repeat rolls twice
    assert same(X.roll((1, 1), (1, 1)), X.roll(2, 1))
    raises(TypeError, "roll: dims must be an int, a tuple of ints or None, got bool", lambda: X.roll(1, True))
    raises(TypeError, "roll: shifts must be an int or a tuple of ints, got bool", lambda: X.roll(True, 0))
    raises(TypeError, "roll: dims must be an int, a tuple of ints or None, got float", lambda: X.roll(1, 1.0))
    raises(TypeError, "roll: dims must be an int, a tuple of ints or None, got str", lambda: X.roll(1, "1"))
    raises(IndexError, "roll: dim 2 is out of range for a tensor with 2 dims", lambda: X.roll(1, 2))


def test_permute_dims():
    assert same(X.permute(-1, -2), X.permute(1, 0)) and same(X.permute((1, 0)), X.permute([1, 0]))
    raises(ValueError, "permute: dim 0 appears more than once in [0, 0]", lambda: X.permute(0, 0))
    raises(ValueError, "permute: dim -2 appears more than once in [0, -2]", lambda: X.permute((0, -2)))
    raises(ValueError, "permute: got 0 dims for a tensor with 2 dims", lambda: X.permute(()))
    raises(TypeError, "permute: dims[0] must be an int, got bool", lambda: X.permute(True, False))
    raises(TypeError, "permute: dims must be ints or a tuple of ints, got bool", lambda: X.permute(True))
    raises(TypeError, "permute: dims[1] must be an int, got float", lambda: X.permute(0, 1.0))
    raises(TypeError, "permute: dims must be ints or a tuple of ints, got str", lambda: X.permute("10"))
    raises(IndexError, "permute: dim 2 is out of range for a tensor with 2 dims", lambda: X.permute(0, 2))


# ---- ops that take one dim ---------------------------------------------------------------------

# name: (op, argument, call, (a negative dim, the same dim counted from 0), an out-of-range dim)
ONE_DIM = {
    "softmax": ("softmax", "dim", lambda d: X.softmax(d), (-1, 1), 2),
    "log_softmax": ("log_softmax", "dim", lambda d: X.log_softmax(d), (-1, 1), 2),
    "cumsum": ("cumsum", "dim", lambda d: X.cumsum(d), (-1, 1), 2),
    "cumprod": ("cumprod", "dim", lambda d: X.cumprod(d), (-2, 0), 2),
    "argmax": ("argmax", "dim", lambda d: X.argmax(d), (-1, 1), 2),
    "argmin": ("argmin", "dim", lambda d: X.argmin(d), (-2, 0), 2),
    "max": ("max", "dim", lambda d: X.max(d), (-1, 1), 2),
    "min": ("min", "dim", lambda d: X.min(d), (-2, 0), 2),
    "unsqueeze": ("unsqueeze", "dim", lambda d: X.unsqueeze(d), (-1, 2), 3),
    "flatten start": ("flatten", "start_dim", lambda d: X.flatten(d), (-2, 0), 2),
    "flatten end": ("flatten", "end_dim", lambda d: X.flatten(0, d), (-1, 1), 2),
    "transpose dim0": ("transpose", "dim0", lambda d: X.transpose(d, 1), (-2, 0), 2),
    "transpose dim1": ("transpose", "dim1", lambda d: X.transpose(0, d), (-1, 1), 2),
    "narrow": ("narrow", "dim", lambda d: X.narrow(d, 0, 1), (-1, 1), 2),
    "select": ("select", "dim", lambda d: X.select(d, 0), (-2, 0), 2),
    "cat": ("cat", "dim", lambda d: lucid.cat([X, X], d), (-1, 1), 2),
    "stack": ("stack", "dim", lambda d: lucid.stack([X, X], d), (-1, 2), 3),
    "split": ("split", "dim", lambda d: X.split(1, d), (-1, 1), 2),
    "chunk": ("chunk", "dim", lambda d: X.chunk(2, d), (-2, 0), 2),
    "index_select": ("index_select", "dim", lambda d: X.index_select(d, lucid.tensor([0])), (-1, 1), 2),
    "gather": ("gather", "dim", lambda d: X.gather(d, IDX), (-2, 0), 2),
    "scatter_add": ("scatter_add", "dim", lambda d: X.scatter_add(d, IDX, X), (-1, 1), 2),
    "scatter": ("scatter", "dim", lambda d: X.scatter(d, IDX, X), (-2, 0), 2),
    "diagonal dim1": ("diagonal", "dim1", lambda d: X.diagonal(0, d, 1), (-2, 0), 2),
    "diagonal dim2": ("diagonal", "dim2", lambda d: X.diagonal(0, 0, d), (-1, 1), 2),
    "diag_embed dim1": ("diag_embed", "dim1", lambda d: X.diag_embed(0, d, 2), (-3, 0), 3),
    "diag_embed dim2": ("diag_embed", "dim2", lambda d: X.diag_embed(0, 0, d), (-1, 2), 3),
    "size": ("size", "dim", lambda d: X.size(d), (-1, 1), 2),
}


@pytest.mark.parametrize("name", list(ONE_DIM))
def test_one_dim(name):
    op, arg, call, (negative, positive), out_of_range = ONE_DIM[name]
    assert same(call(negative), call(positive))
    assert same(call(np.int64(positive)), call(positive))
    raises(TypeError, f"{op}: {arg} must be an int, got bool", lambda: call(True))
    raises(TypeError, f"{op}: {arg} must be an int, got bool", lambda: call(False))
    raises(TypeError, f"{op}: {arg} must be an int, got float", lambda: call(1.0))
    raises(TypeError, f"{op}: {arg} must be an int, got str", lambda: call("1"))
    if op in ("max", "min"):  # a tuple of dims is what amax/amin take
        raises(TypeError, f"{op}: dim must be an int (use amax/amin for several dims), got tuple", lambda: call(()))
        raises(TypeError, f"{op}: dim must be an int (use amax/amin for several dims), got list", lambda: call([]))
    else:
        raises(TypeError, f"{op}: {arg} must be an int, got tuple", lambda: call(()))
        raises(TypeError, f"{op}: {arg} must be an int, got list", lambda: call([]))
    with pytest.raises(IndexError, match=rf"{op}: .*\b{out_of_range}\b.* out of range"):
        call(out_of_range)


def test_one_dim_defaults_and_none():
    assert lucid.flatten(X).shape == (6,) and lucid.cat([X, X]).shape == (4, 3) and X.diag_embed().shape == (2, 3, 3)
    assert X.size() == (2, 3) and X.argmax().item() == 5  # None: the whole tensor, as in PyTorch
    raises(TypeError, "cat: dim must be an int, got NoneType", lambda: lucid.cat([X, X], dim=None))
    raises(TypeError, "softmax: dim must be an int, got NoneType", lambda: X.softmax(None))


def test_same_dim_twice_where_one_dim_each():
    assert same(X.transpose(0, -2), X)  # swapping a dim with itself, as PyTorch
    raises(ValueError, "diagonal: dim1 and dim2 cannot be the same dim, got 0 and -2", lambda: X.diagonal(0, 0, -2))


# ---- the functional API's flags ------------------------------------------------------------------
# NOTE [who checks the functional flags] (crates/lucid-python/src/args.rs): one check per
# mistake, before func runs; TypeError for a wrong type, ValueError for a wrong value.

from lucid.autograd import hessian, hvp, jacobian, jvp, vhp, vjp  # noqa: E402

V = lucid.tensor([1.0, 2.0], dtype=lucid.float64)
FAMILY = {
    "jacobian": lambda f, **kw: jacobian(f, V, **kw),
    "hessian": lambda f, **kw: hessian(f, V, **kw),
    "vjp": lambda f, **kw: vjp(f, V, lucid.tensor(1.0, dtype=lucid.float64), **kw),
    "jvp": lambda f, **kw: jvp(f, V, V, **kw),
    "hvp": lambda f, **kw: hvp(f, V, V, **kw),
    "vhp": lambda f, **kw: vhp(f, V, V, **kw),
}
FLAGS = {fn: ["create_graph", "strict"] + (["vectorize"] if fn in ("jacobian", "hessian") else []) for fn in FAMILY}
STRATEGY = '"reverse-mode", "forward-mode", "auto"'


class Counted:
    """A scalar function that counts its calls: a bad flag must fail before func runs."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return (x * x).sum()


def rejects(fn, exc, message, **kw):
    f = Counted()
    raises(exc, message, lambda: FAMILY[fn](f, **kw))
    assert f.calls == 0


@pytest.mark.parametrize("fn", list(FAMILY))
def test_flags_must_be_bools(fn):
    for flag in FLAGS[fn]:
        for bad, kind in [(1, "int"), (0, "int"), (None, "NoneType"), ("yes", "str"), (1.0, "float")]:
            rejects(fn, TypeError, f"{fn}: {flag} must be a bool, got {kind}", **{flag: bad})
        assert FAMILY[fn](Counted(), **{flag: np.bool_(False)}) is not None  # NumPy's bool is a bool


def test_chunk_size():
    for bad, kind in [(2.0, "float"), (True, "bool"), ("2", "str")]:
        rejects("jacobian", TypeError, f"jacobian: chunk_size must be None or a positive int, got {kind}",
                vectorize=True, chunk_size=bad)
    for bad in [0, -3, -2 ** 70]:  # 0 is lucid-core's check, a negative the bindings': the same words
        rejects("jacobian", ValueError, f"jacobian: chunk_size must be None or a positive int, got {bad}",
                vectorize=True, chunk_size=bad)
    rejects("jacobian", ValueError, "jacobian: chunk_size is only supported with vectorize=True", chunk_size=2)
    whole = jacobian(lambda x: x.sin(), V).numpy()
    for ok in [1, np.int64(1), 2 ** 70]:
        np.testing.assert_array_equal(jacobian(lambda x: x.sin(), V, vectorize=True, chunk_size=ok).numpy(), whole)


@pytest.mark.parametrize("fn", ["jacobian", "hessian"])
def test_strategy(fn):
    rejects(fn, ValueError, f'{fn}: strategy must be one of {STRATEGY}, got "sideways"', strategy="sideways")
    rejects(fn, ValueError, f'{fn}: strategy must be one of {STRATEGY}, got "Auto"', strategy="Auto")
    for bad, kind in [(1, "int"), (None, "NoneType"), (["auto"], "list")]:
        rejects(fn, TypeError, f"{fn}: strategy must be one of {STRATEGY}, got {kind}", strategy=bad)
    mode = "".join(["forward", "-mode"])  # equal to, but not the same object as, the literal
    np.testing.assert_allclose(FAMILY[fn](Counted(), strategy=mode).numpy(), FAMILY[fn](Counted()).numpy())


def test_the_first_bad_flag_is_reported():
    rejects("jacobian", TypeError, "jacobian: strict must be a bool, got int", strict=1, chunk_size=0, strategy="x")
    rejects("jacobian", ValueError, "jacobian: chunk_size must be None or a positive int, got 0",
            vectorize=True, chunk_size=0, strategy="x")


def test_the_graph_level_call_checks_with_the_same_words():
    """``_core.jacobian_from_graph`` (what a caller skipping the Python checks reaches)
    runs lucid-core's own check, which is the one ``check_options`` calls."""
    leaves = lucid._core.prepare_inputs("jacobian", [V])
    out = leaves[0] * 2
    raises(ValueError, "jacobian: chunk_size is only supported with vectorize=True",
           lambda: lucid._core.jacobian_from_graph([out], leaves, False, False, False, 2, "reverse-mode"))
    raises(ValueError, "jacobian: chunk_size must be None or a positive int, got 0",
           lambda: lucid._core.jacobian_from_graph([out], leaves, False, False, True, 0, "reverse-mode"))
    raises(ValueError, f'jacobian: strategy must be one of {STRATEGY}, got "x"',
           lambda: lucid._core.jacobian_from_graph([out], leaves, False, False, False, None, "x"))
