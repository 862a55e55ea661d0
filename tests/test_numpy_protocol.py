"""NumPy functions on Tensors run Lucid ops and keep the graph, or raise a TypeError
naming the way out; never a silent detach (NOTE [NumPy on Tensors] in
python/lucid/_numpy_protocol.py)."""

import numpy as np
import pytest

import lucid
from lucid.autograd import jacobian

RNG = np.random.default_rng(0)
A = RNG.uniform(0.2, 0.9, size=(3, 4))
B = RNG.uniform(0.2, 0.9, size=(3, 4))
SQ = RNG.uniform(-1, 1, size=(3, 3)) + 3 * np.eye(3)
POS = RNG.uniform(0.2, 0.9, size=(3, 3))


def _leaf(a):
    return lucid.tensor(a, requires_grad=True)


def _check(result, expected):
    """A Tensor in the graph with NumPy's values (and shape)."""
    assert isinstance(result, lucid.Tensor), f"got {type(result).__name__}, not a Tensor"
    assert result.requires_grad, "the result left the graph"
    np.testing.assert_allclose(result.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


# ---- ufuncs ----------------------------------------------------------------------------

UNARY = ["negative", "positive", "absolute", "fabs", "exp", "expm1", "exp2", "log", "log1p", "log2", "log10",
         "sqrt", "square", "reciprocal", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
         "tanh", "arcsinh", "arctanh", "sign", "deg2rad", "rad2deg", "radians", "degrees"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_ufuncs_run_the_lucid_op(name):
    ufunc = getattr(np, name)
    _check(ufunc(_leaf(A)), ufunc(A))


def test_arccosh_and_rounding_ufuncs():
    _check(np.arccosh(_leaf(A + 1)), np.arccosh(A + 1))
    for name in ("floor", "ceil", "rint"):
        x = _leaf(A * 10)
        np.testing.assert_array_equal(getattr(np, name)(x).detach().numpy(), getattr(np, name)(A * 10))


def test_predicates_give_bool_tensors():
    x = lucid.tensor([1.0, np.nan, np.inf])
    for name in ("isnan", "isinf", "isfinite"):
        r = getattr(np, name)(x)
        assert isinstance(r, lucid.Tensor) and r.dtype == lucid.bool
        assert r.tolist() == getattr(np, name)(x.numpy()).tolist()


BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "power", "maximum", "minimum", "arctan2",
          "floor_divide", "remainder"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("side", ["tensor-tensor", "tensor-array", "array-tensor", "tensor-scalar",
                                  "scalar-tensor"])
def test_binary_ufuncs_mix_arrays_and_tensors(name, side):
    ufunc = getattr(np, name)
    left, right = {
        "tensor-tensor": (_leaf(A), _leaf(B)), "tensor-array": (_leaf(A), B), "array-tensor": (A, _leaf(B)),
        "tensor-scalar": (_leaf(A), 0.7), "scalar-tensor": (0.7, _leaf(B)),
    }[side]
    expected = ufunc(*(x.detach().numpy() if isinstance(x, lucid.Tensor) else x for x in (left, right)))
    r = ufunc(left, right)
    if name in ("floor_divide", "remainder"):  # piecewise constant / linear: values only
        assert isinstance(r, lucid.Tensor)
        np.testing.assert_allclose(r.detach().numpy(), expected)
    else:
        _check(r, expected)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow", "matmul", "lt", "eq"])
def test_operators_with_ndarrays_give_tensors_both_ways(op):
    import operator
    f = getattr(operator, op)
    x = _leaf(POS)
    for r in (f(x, POS.T), f(POS.T, x)):
        assert isinstance(r, lucid.Tensor)
    np.testing.assert_allclose(f(POS.T, x).detach().numpy(), f(POS.T, POS))
    np.testing.assert_allclose(f(x, POS.T).detach().numpy(), f(POS, POS.T))


def test_numpy_scalars_follow_the_python_scalar_rule():
    x = lucid.tensor([1.0, 2.0])  # float32
    for r in (np.float64(2) * x, x * np.float64(2), np.float32(2) + x, np.int64(3) - x):
        assert isinstance(r, lucid.Tensor) and r.dtype == lucid.float32


def test_gradient_flows_through_numpy_calls():
    x = _leaf(A)
    (np.sin(x) * B + np.exp(x)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(A) * B + np.exp(A), rtol=1e-12)


def test_jacobian_of_a_numpy_written_function():
    # f(x) = sin(x) * sum(x**2): df_i/dx_j = cos(x_i) s δ_ij + sin(x_i) 2 x_j
    x = lucid.tensor([0.3, -1.2, 2.0], dtype=lucid.float64)
    J = jacobian(lambda v: np.sin(v) * np.sum(np.square(v)), x).numpy()
    xs = x.numpy()
    expected = np.diag(np.cos(xs) * np.sum(xs**2)) + np.outer(np.sin(xs), 2 * xs)
    np.testing.assert_allclose(J, expected, rtol=1e-12)


def test_ufunc_methods():
    x = _leaf(A)
    _check(np.add.reduce(x), A.sum(0))
    _check(np.multiply.reduce(x, axis=1, keepdims=True), A.prod(1, keepdims=True))
    _check(np.maximum.reduce(x, axis=None), A.max())
    _check(np.add.accumulate(x, axis=1), np.add.accumulate(A, axis=1))
    _check(np.multiply.outer(x[0], x[1]), np.multiply.outer(A[0], A[1]))
    with pytest.raises(TypeError, match=r"np\.add\.at .*index_put"):
        np.add.at(x, [0], 1.0)


def test_out_and_where_are_type_errors():
    x = _leaf(A)
    buf = np.empty_like(A)
    with pytest.raises(TypeError, match=r"np\.sin: out= is not supported"):
        np.sin(x, out=buf)
    with pytest.raises(TypeError, match=r"np\.add: where="):
        np.add(x, 1.0, where=A > 0.5)
    with pytest.raises(TypeError, match=r"np\.add: out= is not supported"):
        buf += x
    with pytest.raises(TypeError, match="out= is not supported"):
        np.sum(x, out=np.empty(()))


def test_unmapped_ufuncs_name_the_way_out():
    with pytest.raises(TypeError, match=r"np\.cbrt is not supported on lucid\.Tensor: use lucid\.sign.*"
                                        r"t\.detach\(\)\.numpy\(\)"):
        np.cbrt(_leaf(A))
    with pytest.raises(TypeError, match=r"np\.logaddexp .*lucid\.logsumexp.*call it on t\.numpy\(\)"):
        np.logaddexp(lucid.tensor(A), B)
    with pytest.raises(TypeError, match=r"np\.gcd .*Lucid has no equivalent op"):
        np.gcd(lucid.tensor([4, 6]), 2)


def _all_ufuncs():
    return sorted({u.__name__: u for u in vars(np).values() if isinstance(u, np.ufunc)}.items())


@pytest.mark.parametrize("name,ufunc", _all_ufuncs())
def test_no_ufunc_silently_detaches(name, ufunc):
    # every NumPy ufunc, on float inputs that require grad: a Tensor that still knows
    # it depends on x (or carries no derivative, a bool or integer result), or a TypeError
    x = _leaf(POS)
    args = [x] * ufunc.nin
    try:
        r = ufunc(*args)
    except TypeError:
        return
    results = r if isinstance(r, tuple) else (r,)
    for r in results:
        assert isinstance(r, lucid.Tensor), f"np.{name} returned {type(r).__name__}"
        assert r.requires_grad or not r.dtype.is_floating_point


def test_results_are_tensors_without_grad_too():
    # NOTE [NumPy on Tensors]: the result type does not depend on requires_grad
    x = lucid.tensor(A)
    for r in (np.sin(x), A * x, np.sum(x, axis=0), np.concatenate([x, A])):
        assert isinstance(r, lucid.Tensor) and not r.requires_grad


# ---- array functions -------------------------------------------------------------------

# (label, call with the NumPy namespace on (x, y) — two float arrays or tensors)
FUNCTIONS = [
    ("sum", lambda x, y: np.sum(x)),
    ("sum-axis", lambda x, y: np.sum(x, axis=0)),
    ("sum-axes-keepdims", lambda x, y: np.sum(x, axis=(0, 1), keepdims=True)),
    ("sum-dtype", lambda x, y: np.sum(x, 1, np.float64)),
    ("mean", lambda x, y: np.mean(x, axis=1)),
    ("prod", lambda x, y: np.prod(x, axis=-1)),
    ("max", lambda x, y: np.max(x, axis=0)),
    ("amin", lambda x, y: np.amin(x)),
    ("var", lambda x, y: np.var(x, axis=0)),
    ("var-ddof", lambda x, y: np.var(x, ddof=1)),
    ("std", lambda x, y: np.std(x, axis=1, keepdims=True)),
    ("cumsum", lambda x, y: np.cumsum(x, axis=1)),
    ("cumsum-flat", lambda x, y: np.cumsum(x)),
    ("cumprod", lambda x, y: np.cumprod(x, axis=0)),
    ("average", lambda x, y: np.average(x, axis=1)),
    ("average-weights", lambda x, y: np.average(x, axis=0, weights=y)),
    ("sort", lambda x, y: np.sort(x, axis=1)),
    ("sort-flat", lambda x, y: np.sort(x, axis=None)),
    ("reshape", lambda x, y: np.reshape(x, (4, 3))),
    ("reshape-flat", lambda x, y: np.reshape(x, -1)),
    ("ravel", lambda x, y: np.ravel(x)),
    ("transpose", lambda x, y: np.transpose(x)),
    ("transpose-axes", lambda x, y: np.transpose(np.reshape(x, (3, 2, 2)), (2, 0, 1))),
    ("swapaxes", lambda x, y: np.swapaxes(x, 0, 1)),
    ("moveaxis", lambda x, y: np.moveaxis(np.reshape(x, (3, 2, 2)), 0, -1)),
    ("squeeze", lambda x, y: np.squeeze(np.reshape(x, (1, 3, 1, 4)), axis=(0, 2))),
    ("expand_dims", lambda x, y: np.expand_dims(x, (0, 3))),
    ("flip", lambda x, y: np.flip(x)),
    ("flip-axis", lambda x, y: np.flip(x, 1)),
    ("roll", lambda x, y: np.roll(x, 2, axis=1)),
    ("tile", lambda x, y: np.tile(x, (2, 1))),
    ("broadcast_to", lambda x, y: np.broadcast_to(x[0], (2, 4))),
    ("clip", lambda x, y: np.clip(x, 0.3, 0.8)),
    ("clip-array", lambda x, y: np.clip(x, y, None)),
    ("round", lambda x, y: np.round(x * 10, 1)),
    ("diagonal", lambda x, y: np.diagonal(x, 1)),
    ("trace", lambda x, y: np.trace(x)),
    ("diag", lambda x, y: np.diag(x[0])),
    ("tril", lambda x, y: np.tril(x, -1)),
    ("triu", lambda x, y: np.triu(x)),
    ("diff", lambda x, y: np.diff(x, n=2, axis=1)),
    ("concatenate", lambda x, y: np.concatenate([x, y], axis=1)),
    ("concatenate-flat", lambda x, y: np.concatenate([x, y], axis=None)),
    ("stack", lambda x, y: np.stack([x, y], axis=-1)),
    ("where", lambda x, y: np.where(x > 0.5, x, y)),
    ("where-scalar", lambda x, y: np.where(x > 0.5, x, 0.0)),
    ("dot-1d", lambda x, y: np.dot(x[0], y[0])),
    ("dot-2d", lambda x, y: np.dot(x, np.transpose(y))),
    ("matmul", lambda x, y: np.matmul(x, np.transpose(y))),
    ("outer", lambda x, y: np.outer(x[0], y[1])),
    ("cross", lambda x, y: np.cross(x[:, :3], y[:, :3])),
    ("einsum", lambda x, y: np.einsum("ij,kj->ik", x, y)),
    ("split", lambda x, y: np.split(x, 2, axis=1)),
    ("split-indices", lambda x, y: np.split(x, [1, 3], axis=1)),
    ("array_split", lambda x, y: np.array_split(x, 3, axis=1)),
    ("linalg.norm", lambda x, y: np.linalg.norm(x)),
    ("linalg.norm-axis", lambda x, y: np.linalg.norm(x, axis=1)),
]


@pytest.mark.parametrize("label,call", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
@pytest.mark.parametrize("mixed", [False, True], ids=["tensors", "tensor-and-array"])
def test_array_functions_run_the_lucid_op(label, call, mixed):
    expected = call(A, B)
    result = call(_leaf(A), B if mixed else _leaf(B))
    if isinstance(expected, list):
        assert isinstance(result, list) and len(result) == len(expected)
        for r, e in zip(result, expected):
            _check(r, e)
    else:
        _check(result, expected)


@pytest.mark.parametrize("label,call", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_array_function_derivatives_match_central_differences(label, call):
    # the mapping composes Lucid ops; their derivatives must come through it intact (the
    # samples are distinct and away from the kinks of max, sort, clip, round and where)
    def f(x, y):
        r = call(x, y)
        return lucid.stack([p.sum() for p in r]) if isinstance(r, list) else r

    assert lucid.autograd.gradcheck(f, (lucid.tensor(A), lucid.tensor(B)))


def test_index_and_bool_results():
    x = _leaf(A)
    for name in ("argmax", "argmin"):
        r = getattr(np, name)(x, axis=1)
        assert isinstance(r, lucid.Tensor) and r.tolist() == getattr(np, name)(A, axis=1).tolist()
    assert np.argsort(x, axis=0).tolist() == np.argsort(A, axis=0).tolist()
    assert np.any(x > 0.8, axis=0).tolist() == np.any(A > 0.8, axis=0).tolist()
    assert np.all(x > 0.1).item() is True


def test_linalg_functions():
    x = _leaf(SQ)
    _check(np.linalg.inv(x), np.linalg.inv(SQ))
    _check(np.linalg.det(x), np.linalg.det(SQ))
    _check(np.linalg.solve(x, SQ[:, 0]), np.linalg.solve(SQ, SQ[:, 0]))
    spd = x @ np.transpose(x)
    _check(np.linalg.cholesky(spd), np.linalg.cholesky(SQ @ SQ.T))
    sign, logabsdet = np.linalg.slogdet(x)
    np.testing.assert_allclose(logabsdet.detach().numpy(), np.linalg.slogdet(SQ)[1])


def test_like_constructors_and_astype():
    x = _leaf(A)
    z = np.zeros_like(x)
    assert isinstance(z, lucid.Tensor) and z.shape == A.shape and z.dtype == lucid.float64
    assert np.full_like(x, 2.0, dtype=np.float32).dtype == lucid.float32
    assert np.ones_like(x).tolist() == np.ones_like(A).tolist()
    if hasattr(np, "astype"):
        _check(np.astype(x, np.float32), A.astype(np.float32))


def test_value_predicates_read_the_values():
    x = _leaf(A)
    assert np.allclose(x, A) is True
    assert np.array_equal(x, A)
    assert np.isclose(x, B).tolist() == np.isclose(A, B).tolist()
    assert np.shape(x) == A.shape and np.ndim(x) == 2 and np.size(x) == A.size and np.size(x, 1) == 4
    np.testing.assert_allclose(x, A)  # NumPy's testing helpers convert with __array__


def test_explicit_conversions_still_give_arrays():
    x = lucid.tensor(A)
    assert type(np.asarray(x)) is np.ndarray
    assert type(np.array(x)) is np.ndarray


@pytest.mark.parametrize("call,name,hint", [
    (lambda x: np.median(x), r"np\.median", "Lucid has no equivalent op"),
    (lambda x: np.tensordot(x, x), r"np\.tensordot", r"lucid\.einsum"),
    (lambda x: np.nonzero(x), r"np\.nonzero", "lucid.where"),
    (lambda x: np.where(x), r"np\.where\(condition\)", r"lucid\.where\(condition, x, y\)"),
    (lambda x: np.linalg.eigh(x), r"np\.linalg\.eigh", "Lucid has no equivalent op"),
    (lambda x: np.copy(x), r"np\.copy", r"Tensor\.clone\(\)"),
])
def test_unmapped_functions_name_the_way_out(call, name, hint):
    with pytest.raises(TypeError, match=fr"{name} is not supported on lucid\.Tensor: .*{hint}.*"
                                        r"t\.detach\(\)\.numpy\(\) explicitly"):
        call(_leaf(SQ))
    with pytest.raises(TypeError, match=r"call it on t\.numpy\(\) explicitly"):
        call(lucid.tensor(SQ))


def test_unsupported_arguments_are_named():
    x = _leaf(A)
    with pytest.raises(TypeError, match=r"np\.sum: initial=1"):
        np.sum(x, initial=1.0)
    with pytest.raises(TypeError, match=r"np\.reshape: order='F'"):
        np.reshape(x, (4, 3), order="F")
    with pytest.raises(TypeError, match=r"np\.dot of arrays with more than 2 dims.*einsum"):
        np.dot(np.reshape(x, (2, 3, 2)), np.reshape(x, (2, 2, 3)))
    with pytest.raises(ValueError, match="equal division"):
        np.split(x, 3, axis=1)


def test_foreign_array_types_get_their_turn():
    class Other:
        def __array_function__(self, func, types, args, kwargs):
            return "other"

    # NumPy asks every type; Tensor declines a call it does not know all types of
    assert np.concatenate([lucid.tensor([1.0]), Other()]) == "other"


def test_numpy_written_functions_record_on_tapes():
    # a tape replays the Lucid ops the NumPy calls ran, at new inputs, with no Python
    def f(x):
        return np.sin(x) * np.sum(np.square(x)) + np.concatenate([x[1:], x[:1]])

    x0 = lucid.tensor([0.3, -1.2, 2.0], dtype=lucid.float64)
    tape = lucid.tape(f, x0)
    x1 = lucid.tensor([1.0, 0.5, -0.7], dtype=lucid.float64)
    np.testing.assert_allclose(tape(x1).numpy(), f(x1).numpy(), rtol=1e-15)
    np.testing.assert_allclose(tape.jacobian(x1).numpy(), jacobian(f, x1).numpy(), rtol=1e-15)
