"""Python protocols of ``lucid.Tensor`` (issue 17): pickle (also into spawned
processes), ``copy.copy``, ``copy.deepcopy``, ``clone`` (a differentiable copy,
checked against central differences and HIPS autograd), iteration, ``round``,
``format``, ``__index__``, and NumPy 2's ``copy=`` contract in ``__array__``."""

from __future__ import annotations

import copy
import multiprocessing
import operator
import pickle
import subprocess
import sys

import numpy as np
import pytest

import lucid
from lucid.autograd import hessian, jacobian, jvp

from optable import central_jacobian

DTYPES = [lucid.float32, lucid.float64, lucid.int64, lucid.bool_]
SHAPES = [(), (0,), (2, 0, 3), (3,), (2, 3), (1, 1)]


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape) * 10
    if dtype == lucid.bool_:
        return lucid.tensor(a > 0)
    return lucid.tensor(a, dtype=dtype)


def same(a, b):
    """Equal dtype, shape and values, bit for bit (NaN included)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---- pickle -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip_keeps_values_dtype_and_shape(dtype, shape, protocol):
    t = sample(shape, dtype)
    u = pickle.loads(pickle.dumps(t, protocol=protocol))
    same(u, t)
    assert u is not t and u.is_leaf and not u.requires_grad


def test_pickle_keeps_the_exact_float64_bits_nan_inf_and_negative_zero():
    values = [1.0 + 1e-15, -0.0, np.inf, -np.inf, np.nan, 5e-324, np.finfo(np.float64).max]
    t = lucid.tensor(np.array(values))
    u = pickle.loads(pickle.dumps(t))
    assert u.numpy().tobytes() == t.numpy().tobytes()


def test_pickle_of_a_strided_view_holds_its_values_in_order():
    t = lucid.tensor(np.arange(12.0).reshape(3, 4), dtype=lucid.float64)
    for view in (t.T, t[::2, ::-1], t.permute(1, 0)[1:]):
        same(pickle.loads(pickle.dumps(view)), view)


def test_pickle_keeps_requires_grad_of_a_leaf_and_drops_its_grad():
    w = lucid.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    u = pickle.loads(pickle.dumps(w))
    assert u.requires_grad and u.is_leaf and u.grad is None
    (u * 3).sum().backward()
    np.testing.assert_array_equal(u.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])  # the original is untouched


def test_a_non_leaf_pickles_as_a_leaf_that_requires_grad():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    u = pickle.loads(pickle.dumps(y))
    assert u.is_leaf and u.requires_grad and u.grad_fn is None
    same(u.detach(), y.detach())


def test_reduce_names_only_what_a_fresh_process_has():
    rebuild, args = lucid.tensor([[1.0, 2.0]], dtype=lucid.float64).__reduce__()
    assert (rebuild.__module__, rebuild.__name__) == ("lucid._core", "_rebuild_tensor")
    assert rebuild is lucid._core._rebuild_tensor
    # plain builtins: a dtype name, a shape tuple, little-endian bytes, a flag
    assert args == ("float64", (1, 2), np.array([1.0, 2.0], "<f8").tobytes(), False)


def test_a_pickle_loads_in_a_fresh_interpreter():
    t = lucid.tensor([[1.5, -2.0], [3.0, 1e-300]], dtype=lucid.float64, requires_grad=True)
    code = ("import pickle, sys; t = pickle.loads(sys.stdin.buffer.read()); "
            "print(t.dtype, tuple(t.shape), t.requires_grad, t.tolist())")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(t), capture_output=True, check=True)
    assert out.stdout.decode().strip() == "lucid.float64 (2, 2) True [[1.5, -2.0], [3.0, 1e-300]]"


def scaled_sum(t):
    """Module-level, so a spawned worker can import it."""
    return (t * 2).sum(), t.clone()


def test_tensors_travel_to_spawned_processes_and_back():
    ctx = multiprocessing.get_context("spawn")
    inputs = [sample((3,), lucid.float64, seed=k) for k in range(3)] + [lucid.tensor(7), lucid.zeros(0, 2)]
    with ctx.Pool(2) as pool:
        results = pool.map(scaled_sum, inputs)
    for t, (total, back) in zip(inputs, results):
        same(total, (t * 2).sum())
        same(back, t)


# ---- copy.copy and copy.deepcopy --------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_copy_and_deepcopy_keep_values_dtype_and_shape(dtype, shape):
    t = sample(shape, dtype)
    for c in (copy.copy(t), copy.deepcopy(t)):
        same(c, t)
        assert c is not t and c.is_leaf and not c.requires_grad


def test_copy_of_a_leaf_is_a_new_leaf_with_its_own_grad():
    w = lucid.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    c = copy.copy(w)
    assert c.requires_grad and c.is_leaf and c.grad is None
    (c * 5).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])


def test_deepcopy_of_a_leaf_is_an_independent_leaf_with_a_copy_of_its_grad():
    w = lucid.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    d = copy.deepcopy(w)
    assert d.requires_grad and d.is_leaf and d.grad is not w.grad
    same(d.grad, w.grad)
    (d * 5).sum().backward()  # accumulates into d's grad only
    np.testing.assert_array_equal(d.grad.numpy(), [7.0, 9.0])
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
    d.grad = None
    assert w.grad is not None


def test_deepcopy_of_a_non_leaf_is_a_leaf_as_in_pickling():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    d = copy.deepcopy(y)
    assert d.is_leaf and d.requires_grad
    same(d.detach(), y.detach())
    d.sum().backward()
    assert x.grad is None  # nothing flows back through a copy


def test_deepcopy_keeps_sharing_inside_containers():
    t = lucid.tensor([1.0])
    d = copy.deepcopy({"a": t, "b": [t]})
    assert d["a"] is d["b"][0] and d["a"] is not t


# ---- clone ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_clone_keeps_values_dtype_and_shape(dtype, shape):
    t = sample(shape, dtype)
    for c in (t.clone(), lucid.clone(t)):
        same(c, t)
        assert c is not t and c.is_leaf and not c.requires_grad


def test_clone_of_a_leaf_that_requires_grad_is_a_non_leaf_feeding_the_original():
    x = lucid.tensor([1.0, -2.0, 3.0], dtype=lucid.float64, requires_grad=True)
    y = x.clone()
    assert not y.is_leaf and y.requires_grad and y.grad_fn == "clone" and y.grad is None
    (y * y).sum().backward()  # d/dx sum(clone(x)^2) = 2x
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])
    assert y.grad is None  # a non-leaf keeps no grad: it has its own identity


def test_a_clone_has_its_own_grad_and_identity():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert hash(y) != hash(x)
    y.grad = lucid.tensor([9.0, 9.0])
    assert x.grad is None
    x.grad = lucid.tensor([1.0, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [9.0, 9.0])


def test_clone_outside_grad_mode_or_of_a_constant_is_a_leaf():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    with lucid.no_grad():
        assert x.clone().is_leaf and not x.clone().requires_grad
    c = x.detach().clone()
    assert c.is_leaf and not c.requires_grad


def test_clone_of_a_non_leaf_stays_in_the_graph():
    x = lucid.tensor([0.5, 1.5], dtype=lucid.float64, requires_grad=True)
    y = x.sin().clone().clone()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.5]), rtol=1e-15)


def f_clone(x):
    c = x.clone()
    return c * c.clone().sin() + x.clone() ** 2


def f_numpy(x):
    return x * np.sin(x) + x ** 2


X = np.array([[0.3, -1.2, 2.0], [0.7, 1.1, -0.4]])


@pytest.mark.parametrize("options", [{}, {"vectorize": True}, {"strategy": "forward-mode"}], ids=str)
def test_clone_jacobian_matches_central_differences(options):
    got = jacobian(f_clone, lucid.tensor(X), **options).numpy()
    np.testing.assert_allclose(got, central_jacobian(f_numpy, [X])[0], rtol=1e-8, atol=1e-9)


def test_clone_jacobian_hessian_and_jvp_match_hips_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    f_ag = lambda x: x * anp.sin(x) + x ** 2  # noqa: E731
    x = lucid.tensor(X)
    np.testing.assert_allclose(jacobian(f_clone, x).numpy(), ag.jacobian(f_ag)(X).reshape(6, 6), rtol=1e-13)
    total = lambda t: f_clone(t).sum()  # noqa: E731
    np.testing.assert_allclose(hessian(total, x).numpy(), ag.hessian(lambda a: f_ag(a).sum())(X).reshape(6, 6),
                               rtol=1e-13, atol=1e-15)
    v = np.linspace(-1, 1, 6).reshape(2, 3)
    _, tangent = jvp(f_clone, x, lucid.tensor(v))
    np.testing.assert_allclose(tangent.numpy(), (ag.jacobian(f_ag)(X).reshape(6, 6) @ v.ravel()).reshape(2, 3),
                               rtol=1e-13)


# ---- iteration --------------------------------------------------------------------------------

@pytest.mark.parametrize("t", [lucid.tensor(1.0), lucid.tensor(3), lucid.tensor(True),
                               lucid.tensor(1.0, requires_grad=True)], ids=repr)
def test_iterating_a_0d_tensor_is_a_type_error(t):
    with pytest.raises(TypeError, match=r"^iteration over a 0-d tensor$"):
        list(t)
    with pytest.raises(TypeError, match=r"^iteration over a 0-d tensor$"):
        iter(t)


def test_iteration_walks_dim_0():
    t = lucid.tensor([[1, 2], [3, 4], [5, 6]])
    rows = list(t)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert [x.shape for x in lucid.tensor([1.0, 2.0])] == [(), ()]
    assert list(lucid.zeros(0, 3)) == []
    a, b = lucid.tensor([7.0, 8.0])  # unpacking
    assert (float(a), float(b)) == (7.0, 8.0)
    it = iter(t)
    assert operator.length_hint(it) == 3
    next(it)
    assert operator.length_hint(it) == 2


def test_iteration_keeps_the_graph():
    x = lucid.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = sum(row * (i + 1) for i, row in enumerate(x)).sum()
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])


# ---- round ------------------------------------------------------------------------------------

def test_round_of_a_one_element_tensor_is_pythons_round_of_its_value():
    assert round(lucid.tensor(2.5)) == 2 and type(round(lucid.tensor(2.5))) is int  # ties to even
    assert round(lucid.tensor(3.5)) == 4
    assert round(lucid.tensor([[-1.7]])) == -2
    v = 2.675  # stored just below 2.675: Python says 2.67
    assert round(lucid.tensor([v], dtype=lucid.float64), 2) == round(v, 2) == 2.67
    assert round(lucid.tensor(np.float32(0.1)), 3) == 0.1
    assert round(lucid.tensor(1234), -2) == 1200 and type(round(lucid.tensor(1234), -2)) is int
    assert round(lucid.tensor(True)) == 1
    assert round(lucid.tensor(2.0, requires_grad=True), None) == 2
    assert round(lucid.tensor(1.25, dtype=lucid.float64), np.int64(1)) == 1.2


@pytest.mark.parametrize("shape", [(2,), (0,), (1, 2)], ids=str)
def test_round_of_other_tensors_is_a_type_error_pointing_to_the_method(shape):
    with pytest.raises(TypeError, match=r"^round: only one-element tensors .* got shape \(.*\); use "
                                        r"t\.round\(decimals=n\)"):
        round(lucid.zeros(*shape), 1)


def test_round_ndigits_must_be_an_int():
    with pytest.raises(TypeError, match=r"^round: ndigits must be an int, got float$"):
        round(lucid.tensor(1.5), 1.0)


# ---- format -----------------------------------------------------------------------------------

def test_format_of_a_one_element_tensor_formats_its_value():
    t = lucid.tensor(2.0, dtype=lucid.float64) / 3
    assert f"{t:.3f}" == "0.667" and format(t, ".3f") == "0.667"
    assert f"{lucid.tensor([[2.0 / 3]], dtype=lucid.float64):.2e}" == "6.67e-01"
    assert f"{lucid.tensor([7]):03d}" == "007"
    assert f"{lucid.tensor(True)}" == "True"
    assert f"{lucid.tensor(0.5, requires_grad=True):>6}" == "   0.5"
    # a 0-d tensor formats as its value even with an empty spec, as in PyTorch
    assert f"{lucid.tensor(1.5)}" == "1.5"


def test_format_without_a_spec_is_the_repr():
    for t in (lucid.tensor([1.0, 2.0]), lucid.tensor([1.0]), lucid.zeros(0)):
        assert f"{t}" == format(t, "") == repr(t)


@pytest.mark.parametrize("t", [lucid.tensor([1.0, 2.0]), lucid.zeros(0), lucid.zeros(2, 2)], ids=repr)
def test_a_spec_on_a_tensor_of_several_elements_is_a_type_error(t):
    with pytest.raises(TypeError, match=r"^format: the spec \"\.3f\" needs a one-element tensor, got shape"):
        f"{t:.3f}"


def test_a_spec_the_value_does_not_take_is_pythons_error():
    with pytest.raises(ValueError, match="Unknown format code 'd'"):
        f"{lucid.tensor(1.5):d}"


# ---- __index__ --------------------------------------------------------------------------------

def test_index_takes_integer_and_bool_one_element_tensors():
    assert operator.index(lucid.tensor(3)) == 3
    assert operator.index(lucid.tensor([[-2]])) == -2
    assert operator.index(lucid.tensor(True)) == 1
    assert list(range(10))[lucid.tensor(2):lucid.tensor(4)] == [2, 3]


@pytest.mark.parametrize("t,name", [(lucid.tensor(1.0), "float32"), (lucid.tensor(1.0, dtype=lucid.float64), "float64")])
def test_index_of_a_float_tensor_is_a_type_error_naming_the_dtype(t, name):
    with pytest.raises(TypeError, match=rf"^__index__: .* got a {name} tensor of shape"):
        operator.index(t)


# ---- __array__ and numpy() --------------------------------------------------------------------

def test_array_copy_false_is_a_value_error_as_numpy_2_requires():
    t = lucid.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"^__array__: copy=False cannot be honoured: a Lucid tensor's storage is "
                                         r"immutable"):
        t.__array__(copy=False)
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        with pytest.raises(ValueError, match="copy=False cannot be honoured"):
            np.array(t, copy=False)


@pytest.mark.parametrize("copy_flag", [True, None])
def test_array_copy_true_and_none_give_a_new_writable_array(copy_flag):
    t = lucid.tensor([1.0, 2.0])
    a = t.__array__(copy=copy_flag)
    assert a.flags.writeable and a.dtype == np.float32
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    b = np.array(t, copy=True) if copy_flag else np.asarray(t)
    b[1] = 9.0
    assert t.tolist() == [1.0, 2.0]


def test_array_honours_dtype():
    t = lucid.tensor([1.5, -2.5])
    assert t.__array__(np.float64).dtype == np.float64
    assert np.asarray(t, dtype=np.int32).tolist() == [1, -2]
    assert np.array(t, dtype="float16", copy=True).dtype == np.float16
    assert np.asarray(lucid.tensor([1, 0]), dtype=bool).tolist() == [True, False]
    assert t.__array__(None, None).dtype == np.float32


def test_numpy_gives_a_writable_copy_the_tensor_does_not_see():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    a = y.detach().numpy()
    a[:] = 100.0  # must not reach the values the graph saved
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert "immutable" in lucid.Tensor.numpy.__doc__


# ---- dtypes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_dtypes_pickle_and_copy_by_name(dtype):
    for d in (pickle.loads(pickle.dumps(dtype)), copy.copy(dtype), copy.deepcopy(dtype)):
        assert d == dtype and hash(d) == hash(dtype)
    assert pickle.loads(pickle.dumps(lucid.zeros(1, dtype=dtype).dtype)) == dtype
    assert dtype.__reduce__() == (lucid._core._rebuild_dtype, (dtype.name,))


def test_unpickling_an_unknown_dtype_is_a_value_error():
    with pytest.raises(ValueError, match=r'^unpickling a dtype: unknown dtype "complex64"'):
        lucid._core._rebuild_dtype("complex64")


# ---- with in-place writes and views -----------------------------------------------------------

def test_rows_from_iteration_are_views_that_write_through():
    t = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    for row in t:
        row[0] = 9.0
    assert t.tolist() == [[9.0, 2.0], [9.0, 4.0]]


def test_copies_and_clones_do_not_see_writes_and_writes_into_them_stay_there():
    t = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    c, k, d, r = t[0].clone(), copy.copy(t), copy.deepcopy(t[1]), pickle.loads(pickle.dumps(t))
    c += 1
    k += 1
    d[0] = -1.0
    r.zero_()
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    t += 10  # and the other way
    assert (c.tolist(), k.tolist(), d.tolist()) == ([2.0, 3.0], [[2.0, 3.0], [4.0, 5.0]], [-1.0, 4.0])
    assert pickle.loads(pickle.dumps(t[1])).tolist() == [13.0, 14.0]  # the current values travel


def test_writing_into_a_clone_is_the_pytorch_way_to_modify_a_leaf():
    # y = clone(x) with y[0] = 0: d sum(y²)/dx = 2x except at 0, which no longer depends on x
    x = lucid.tensor([1.0, 2.0, 3.0], dtype=lucid.float64, requires_grad=True)
    y = x.clone()
    y[0] = 0.0
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 4.0, 6.0])


def test_a_deep_copied_parameter_trains_alone():
    w = lucid.tensor([1.0, 2.0], dtype=lucid.float64, requires_grad=True)
    (w * w).sum().backward()
    d = copy.deepcopy(w)
    for _ in range(3):
        with lucid.no_grad():
            d -= 0.25 * d.grad
    d.grad.zero_()
    np.testing.assert_array_equal(d.numpy(), [-0.5, -1.0])
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
