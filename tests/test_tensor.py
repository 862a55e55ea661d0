"""lucid.Tensor: constructors and dtype rules, attributes and conversions, Python
operators with tensors, Python scalars and NumPy values on either side, basic
indexing, and the autograd attributes (requires_grad, grad, is_leaf, detach)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import lucid

# ---- constructors and dtype rules ------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, lucid.float32),  # Python float literal -> float32 (PyTorch's default)
        ([1.0, 2.5], lucid.float32),
        ([[1.0], [2.0]], lucid.float32),
        ([1, 2.5], lucid.float32),  # mixed int/float list -> float32
        (3, lucid.int64),  # Python int -> int64
        ([1, 2, 3], lucid.int64),
        (True, lucid.bool_),
        ([True, False], lucid.bool_),
        (np.array([1.0, 2.0]), lucid.float64),  # NumPy float64 stays float64
        (np.float64(2.0), lucid.float64),
        (np.array([1.0], dtype=np.float32), lucid.float32),
        (np.array([1, 2], dtype=np.int32), lucid.int64),  # any integer array -> int64
        (np.array([1, 2], dtype=np.uint8), lucid.int64),
        (np.array([1.0], dtype=np.float16), lucid.float32),  # half widens to float32
        (np.array([True]), lucid.bool_),
        ([], lucid.float32),  # empty list, as torch.tensor([])
    ],
)
def test_tensor_dtype_rules(data, dtype):
    t = lucid.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_tensor_explicit_dtype_wins():
    assert lucid.tensor([1, 2], dtype=lucid.float64).dtype == lucid.float64
    assert lucid.tensor([1.0, 2.0], dtype="float64").dtype == lucid.float64
    assert lucid.tensor([1, 2], dtype=np.float32).dtype == lucid.float32
    assert lucid.tensor([1, 2], dtype=float).dtype == lucid.float64  # NumPy's meaning of float
    assert lucid.tensor(np.array([1.0]), dtype=lucid.float32).dtype == lucid.float32
    t = lucid.tensor([1.7, -2.7], dtype=lucid.int64)
    assert t.dtype == lucid.int64
    assert t.tolist() == [1, -2]  # truncation toward zero, as NumPy's astype


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = lucid.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    n = t.numpy()
    n[1] = -5.0
    assert t.tolist() == [1.0, 2.0]
    # a tensor from a tensor is a copy outside any graph
    x = lucid.tensor([1.0], requires_grad=True)
    y = lucid.tensor(x)
    assert not y.requires_grad and y.is_leaf and y.tolist() == [1.0]


def test_tensor_from_non_contiguous_numpy():
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(lucid.tensor(a.T).numpy(), a.T)
    np.testing.assert_array_equal(lucid.tensor(a[:, ::-2]).numpy(), a[:, ::-2])
    assert lucid.tensor(a.T).numpy().flags["C_CONTIGUOUS"]


def test_tensor_from_list_of_tensors_and_nan():
    t = lucid.tensor([lucid.tensor(1.0), lucid.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0] and t.dtype == lucid.float32
    assert np.isnan(lucid.tensor(float("nan")).item())


def test_tensor_requires_grad_argument():
    t = lucid.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert not lucid.tensor([1.0]).requires_grad


def test_from_numpy_and_as_tensor():
    a = np.arange(3.0)
    t = lucid.from_numpy(a)
    assert t.dtype == lucid.float64 and t.tolist() == [0.0, 1.0, 2.0]
    assert lucid.from_numpy(a.astype(np.float32)).dtype == lucid.float32
    x = lucid.tensor([1.0])
    assert lucid.as_tensor(x) is x
    assert lucid.as_tensor(x, dtype=lucid.float64).dtype == lucid.float64
    assert lucid.as_tensor([1, 2]).dtype == lucid.int64


@pytest.mark.parametrize("fn", [lucid.zeros, lucid.ones])
def test_zeros_ones(fn):
    value = 0.0 if fn is lucid.zeros else 1.0
    t = fn(2, 3)
    assert t.shape == (2, 3) and t.dtype == lucid.float32
    assert np.all(t.numpy() == value)
    assert fn((2, 3)).shape == (2, 3)
    assert fn([4]).shape == (4,)
    assert fn().shape == ()  # no size: a 0-d tensor, as torch.zeros(())
    assert fn(0, 3).shape == (0, 3)
    assert fn(2, dtype=lucid.float64).dtype == lucid.float64
    assert fn(2, dtype=lucid.int64).tolist() == [int(value)] * 2
    t = fn(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_full():
    t = lucid.full((2, 2), 1.5)
    assert t.dtype == lucid.float32 and t.tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert lucid.full((3,), 2).dtype == lucid.int64  # int fill -> int64, as PyTorch
    assert lucid.full(3, 2).tolist() == [2, 2, 2]
    assert lucid.full((2,), True).dtype == lucid.bool_
    assert lucid.full((2,), 7, dtype=lucid.float64).dtype == lucid.float64


def test_arange():
    assert lucid.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert lucid.arange(5).dtype == lucid.int64
    assert lucid.arange(2, 5).tolist() == [2, 3, 4]
    assert lucid.arange(5, 0, -2).tolist() == [5, 3, 1]
    t = lucid.arange(0, 1, 0.25)
    assert t.dtype == lucid.float32 and t.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert lucid.arange(1, 10, 3, dtype=lucid.float64).tolist() == [1.0, 4.0, 7.0]
    assert lucid.arange(0.0, 1.0, 0.1).shape == (10,)  # no extra element from round-off
    assert lucid.arange(3, 3).shape == (0,)
    assert lucid.arange(5, 0).shape == (0,)


def test_eye():
    np.testing.assert_array_equal(lucid.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(lucid.eye(2, 3).numpy(), np.eye(2, 3))
    assert lucid.eye(2).dtype == lucid.float32
    assert lucid.eye(2, dtype=lucid.int64).dtype == lucid.int64
    assert lucid.eye(0).shape == (0, 0)


def test_linspace():
    t = lucid.linspace(0, 1, 5)
    assert t.dtype == lucid.float32 and t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    t = lucid.linspace(-1, 2, 7, dtype=lucid.float64)
    np.testing.assert_allclose(t.numpy(), np.linspace(-1, 2, 7), rtol=0, atol=1e-15)
    assert t.numpy()[-1] == 2.0  # the end point is exact
    assert lucid.linspace(3, 4, 1).tolist() == [3.0]
    assert lucid.linspace(3, 4, 0).shape == (0,)


def test_zeros_like_ones_like_full_like():
    x = lucid.tensor(np.arange(6.0).reshape(2, 3))
    z = lucid.zeros_like(x)
    assert z.shape == (2, 3) and z.dtype == lucid.float64 and not np.any(z.numpy())
    o = lucid.ones_like(x, dtype=lucid.float32)
    assert o.dtype == lucid.float32 and np.all(o.numpy() == 1)
    assert lucid.ones_like(lucid.tensor([1, 2])).dtype == lucid.int64
    f = lucid.full_like(x, 3.5)
    assert f.dtype == lucid.float64 and np.all(f.numpy() == 3.5)
    xg = lucid.tensor([1.0], requires_grad=True)
    assert not lucid.zeros_like(xg).requires_grad  # a new leaf, not part of the graph
    assert lucid.zeros_like(xg, requires_grad=True).requires_grad


def test_empty_is_zero_filled():
    t = lucid.empty(2, 2)
    assert t.shape == (2, 2) and not np.any(t.numpy())


# ---- attributes and conversions ------------------------------------------------------------


def test_shape_ndim_numel_size():
    x = lucid.tensor(np.zeros((2, 3, 4)))
    assert x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.ndim == 3 and x.dim() == 3
    assert x.numel() == 24
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.size(0) == 2
    assert len(x) == 2
    s = lucid.tensor(5.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1


def test_item_tolist_numpy():
    assert lucid.tensor(2.5).item() == 2.5
    assert isinstance(lucid.tensor(2.5).item(), float)
    assert lucid.tensor(7).item() == 7 and isinstance(lucid.tensor(7).item(), int)
    assert lucid.tensor(True).item() is True
    assert lucid.tensor([[3.0]]).item() == 3.0  # any one-element tensor
    assert lucid.tensor(2.0).tolist() == 2.0
    assert lucid.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    a = lucid.tensor([1.0, 2.0]).numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    assert lucid.tensor(np.array([1.0])).numpy().dtype == np.float64
    assert lucid.tensor([1]).numpy().dtype == np.int64
    assert lucid.tensor([True]).numpy().dtype == np.bool_
    assert float(lucid.tensor([2.5])) == 2.5
    assert int(lucid.tensor(3.9)) == 3
    assert bool(lucid.tensor(1.0)) and not bool(lucid.tensor(0.0))


def test_numpy_of_a_tensor_that_requires_grad():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(np.asarray(y), [2.0, 4.0])


def test_array_protocol():
    x = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(x)
    assert a.dtype == np.float32 and a.shape == (2, 2)
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.array(x), [[1.0, 2.0], [3.0, 4.0]])
    assert np.sum(np.asarray(x)) == 10.0
    # NumPy functions accept tensors (through __array__)
    np.testing.assert_allclose(np.linalg.det(np.asarray(x, dtype=np.float64)), -2.0)


def test_repr():
    assert repr(lucid.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(lucid.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(lucid.tensor(np.array([1.5]))) == "tensor([1.5], dtype=lucid.float64)"
    assert repr(lucid.tensor([True])) == "tensor([ True], dtype=lucid.bool)"
    x = lucid.tensor([1.0], requires_grad=True)
    assert repr(x) == "tensor([1.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2.], grad_fn=<mul>)"
    assert repr(lucid.tensor(3.0)) == "tensor(3.)"
    r = repr(lucid.tensor(np.arange(5000.0)))  # long tensors are summarised
    assert "..." in r and len(r) < 500
    assert repr(lucid.float32) == "lucid.float32" and str(lucid.float64) == "lucid.float64"


def test_dtype_objects():
    assert lucid.float == lucid.float32 and lucid.double == lucid.float64
    assert lucid.long == lucid.int64 and lucid.bool == lucid.bool_
    assert lucid.float32 != lucid.float64
    assert lucid.float64.is_floating_point and not lucid.int64.is_floating_point
    assert lucid.float32.itemsize == 4 and lucid.float64.itemsize == 8
    assert lucid.float32.name == "float32"
    assert len({lucid.float32, lucid.float, lucid.float64}) == 2  # hashable


# ---- operators -------------------------------------------------------------------------------

A = np.array([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0]])
B = np.array([[0.5, 4.0, -2.0], [1.0, 2.0, 3.0]])

BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
]


@pytest.mark.parametrize("name, op", BINARY)
def test_binary_operators_tensor_tensor(name, op):
    out = op(lucid.tensor(A), lucid.tensor(B))
    assert out.dtype == lucid.float64
    np.testing.assert_allclose(out.numpy(), op(A, B), rtol=1e-15)
    # broadcasting a row
    out = op(lucid.tensor(A), lucid.tensor(B[0]))
    np.testing.assert_allclose(out.numpy(), op(A, B[0]), rtol=1e-15)


@pytest.mark.parametrize("name, op", BINARY + [("pow", lambda a, b: a ** b)])
@pytest.mark.parametrize("scalar", [2, 2.5, -3])
def test_binary_operators_with_python_scalars_on_both_sides(name, op, scalar):
    base = np.abs(A) + 0.5 if name == "pow" else A
    if name == "pow" and scalar < 0:
        scalar = -scalar  # (-3) ** 0.5 is NaN: keep the comparison meaningful
    for dtype in (np.float32, np.float64):
        t = lucid.tensor(base.astype(dtype))
        right, left = op(t, scalar), op(scalar, t)
        # scalars do not promote: the tensor's dtype is kept on both sides
        assert right.dtype == t.dtype and left.dtype == t.dtype, (name, scalar)
        rtol = 1e-6 if dtype == np.float32 else 1e-15
        np.testing.assert_allclose(right.numpy(), op(base.astype(dtype), dtype(scalar)), rtol=rtol)
        np.testing.assert_allclose(left.numpy(), op(dtype(scalar), base.astype(dtype)), rtol=rtol)


def test_pow_operator():
    x = lucid.tensor(np.array([0.5, 2.0, 3.0]))
    np.testing.assert_allclose((x ** 2).numpy(), [0.25, 4.0, 9.0])
    np.testing.assert_allclose((x ** x).numpy(), np.array([0.5, 2.0, 3.0]) ** np.array([0.5, 2.0, 3.0]))
    np.testing.assert_allclose((2 ** x).numpy(), 2 ** np.array([0.5, 2.0, 3.0]))
    np.testing.assert_allclose(pow(x, 0.5).numpy(), np.sqrt([0.5, 2.0, 3.0]))
    # integer powers of negative bases are exact (powi), as users expect of x**2
    assert (lucid.tensor(np.array([-2.0])) ** 3).item() == -8.0


def test_matmul_operator():
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(12.0).reshape(3, 4)
    v = np.array([1.0, -1.0, 2.0])
    np.testing.assert_allclose((lucid.tensor(a) @ lucid.tensor(b)).numpy(), a @ b)
    np.testing.assert_allclose((lucid.tensor(a) @ lucid.tensor(v)).numpy(), a @ v)
    assert (lucid.tensor(v) @ lucid.tensor(v)).shape == ()
    np.testing.assert_allclose(lucid.matmul(lucid.tensor(v), lucid.tensor(b)).numpy(), v @ b)
    np.testing.assert_allclose(lucid.tensor(a).matmul(lucid.tensor(b)).numpy(), a @ b)


def test_unary_minus_and_plus():
    x = lucid.tensor(A)
    np.testing.assert_array_equal((-x).numpy(), -A)
    assert (+x) is x
    assert (-lucid.tensor([1, -2])).tolist() == [-1, 2]
    np.testing.assert_array_equal(abs(x).numpy(), np.abs(A))


def test_float64_wins_over_float32():
    a32 = lucid.tensor(A.astype(np.float32))
    b64 = lucid.tensor(B)
    for out in (a32 + b64, b64 + a32, a32 * b64, a32 / b64, a32 - b64, a32 ** lucid.tensor(np.array(2.0))):
        assert out.dtype == lucid.float64
    out = a32 @ lucid.tensor(np.ones((3, 2)))
    assert out.dtype == lucid.float64


def test_int_and_float_mix():
    i = lucid.tensor([1, 2])
    assert (i + 1).dtype == lucid.int64 and (i + 1).tolist() == [2, 3]
    assert (i * 3).dtype == lucid.int64
    assert (2 - i).tolist() == [1, 0]
    assert (i + 1.5).dtype == lucid.float32  # a float scalar makes an int tensor float
    assert (i / 2).dtype == lucid.float32 and (i / 2).tolist() == [0.5, 1.0]  # true division
    assert (i + lucid.tensor([0.5, 0.5])).dtype == lucid.float32
    assert (i + lucid.tensor(np.array([0.5, 0.5]))).dtype == lucid.float64
    # int64 arithmetic with a Python int is exact beyond 2**53
    big = 2 ** 60 + 1
    assert (lucid.tensor([1]) + big).tolist() == [big + 1]
    assert (big - lucid.tensor([1])).tolist() == [big - 1]
    assert (i * np.int64(3)).tolist() == [3, 6] and (i * np.int64(3)).dtype == lucid.int64


def test_integer_powers_of_integers_stay_integers():
    i = lucid.tensor(np.array([2, 3, -4]))
    assert (i ** 2).dtype == lucid.int64 and (i ** 2).tolist() == [4, 9, 16]
    assert (2 ** abs(i)).tolist() == [4, 8, 16] and (i ** abs(i)).tolist() == [4, 27, 256]
    assert (i ** 0).tolist() == [1, 1, 1]
    # exact past 2**53, and wrapping on overflow like NumPy's int64
    assert (lucid.tensor([3]) ** 39).tolist() == [3 ** 39]
    assert (lucid.tensor([3]) ** 100).tolist() == (np.array([3]) ** np.array([100])).tolist()
    # a float on either side makes a float
    assert (i ** 0.5).dtype == lucid.float32 and (lucid.tensor([1.5]) ** lucid.tensor([2])).dtype == lucid.float32
    with pytest.raises(ValueError, match=r"negative integer powers .*exponent -1"):
        i ** -1
    with pytest.raises(ValueError, match=r"exponent -4"):
        2 ** i


def test_numpy_scalars_behave_like_python_scalars():
    x = lucid.tensor([1.0, 2.0])
    for s in (np.float64(2.0), np.float32(2.0), np.int64(2)):
        assert (x * s).dtype == lucid.float32
        assert isinstance(x * s, lucid.Tensor)


def test_numpy_values_on_the_left_give_tensors():
    # NumPy must defer to the Tensor's reflected operators: otherwise `np.float64(2) * x`
    # would silently become a NumPy array and drop out of the graph.
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    for left in (np.float64(2.0), np.float32(2.0), np.int64(2)):
        y = left * x
        assert isinstance(y, lucid.Tensor), type(y)
        assert y.requires_grad and y.dtype == lucid.float32
        np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])
    y = np.array([1.0, 3.0]) + x  # a float64 array on the left: float64 wins
    assert isinstance(y, lucid.Tensor) and y.dtype == lucid.float64 and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [2.0, 5.0])
    y = np.array([10.0, 20.0]) - x
    np.testing.assert_array_equal(y.numpy(), [9.0, 18.0])
    y = np.eye(2) @ x
    assert isinstance(y, lucid.Tensor)
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])
    (np.float64(3.0) * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_numpy_array_on_the_right():
    x = lucid.tensor([1.0, 2.0])
    y = x + np.array([1.0, 1.0])
    assert isinstance(y, lucid.Tensor) and y.dtype == lucid.float64
    assert (x * np.array([2.0, 2.0], dtype=np.float32)).dtype == lucid.float32


def test_comparisons_give_bool_tensors():
    x = lucid.tensor([1.0, 2.0, 3.0])
    assert (x > 2).tolist() == [False, False, True]
    assert (x >= 2).tolist() == [False, True, True]
    assert (x < 2).tolist() == [True, False, False]
    assert (x <= 2).tolist() == [True, True, False]
    assert (x == 2).tolist() == [False, True, False]
    assert (x != 2).tolist() == [True, False, True]
    assert (x > 2).dtype == lucid.bool_
    assert (2 < x).tolist() == [False, False, True]  # reflected
    # against None or a string == is False and != is True (as PyTorch), not an error
    assert (x == None) is False and (x != None) is True  # noqa: E711
    assert (x == "a") is False and (None == x) is False  # noqa: E711
    assert x in [x] and x not in [None]
    with pytest.raises(TypeError, match="lt: unsupported operand type NoneType"):
        x < None


def test_operator_results_record_the_graph():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    for y in (x + 1, 1 + x, x - 1, 1 - x, x * 2, 2 * x, x / 2, 2 / x, x ** 2, 2 ** x, -x, x @ x):
        assert y.requires_grad and not y.is_leaf and y.grad_fn is not None


def test_module_functions_match_methods():
    x = lucid.tensor(np.array([0.3, 1.2, 2.0]))
    for name in ("exp", "log", "sin", "cos", "tanh", "sqrt", "neg"):
        np.testing.assert_array_equal(getattr(lucid, name)(x).numpy(), getattr(x, name)().numpy())
    np.testing.assert_array_equal(lucid.sum(x).numpy(), x.sum().numpy())
    np.testing.assert_array_equal(lucid.mean(x, 0).numpy(), x.mean(0).numpy())
    np.testing.assert_array_equal(lucid.add(x, 1).numpy(), (x + 1).numpy())
    np.testing.assert_array_equal(lucid.pow(x, 2).numpy(), (x ** 2).numpy())
    np.testing.assert_array_equal(lucid.reshape(x, (3, 1)).numpy(), x.reshape(3, 1).numpy())
    np.testing.assert_array_equal(lucid.transpose(x.reshape(1, 3), 0, 1).numpy(), x.reshape(3, 1).numpy())
    # keywords, keyword-only parameters, varargs and the method's own defaults
    m = x.reshape(3, 1) * lucid.tensor([[1.0, 2.0]])
    np.testing.assert_array_equal(lucid.sum(input=m, keepdim=True, dim=1).numpy(), m.sum(1, True).numpy())
    np.testing.assert_array_equal(lucid.var(m, 0, correction=0).numpy(), m.var(0, correction=0).numpy())
    np.testing.assert_array_equal(lucid.flip(m, 0, 1).numpy(), m.flip(0, 1).numpy())
    np.testing.assert_array_equal(lucid.flatten(m).numpy(), m.flatten().numpy())
    np.testing.assert_array_equal(lucid.diag_embed(x).numpy(), x.diag_embed().numpy())


def test_every_module_function_has_the_methods_parameters_and_checks_its_input():
    from lucid import _ops
    for name in _ops.__all__:
        fn, method = getattr(lucid, name), getattr(lucid.Tensor, name)
        assert fn.__name__ == name and fn.__doc__ == method.__doc__
        params = list(inspect.signature(fn).parameters.values())
        assert params[0].name == "input"
        own = list(inspect.signature(method).parameters.values())[1:]
        if not any(p.default is Ellipsis for p in own):
            assert [(p.name, p.kind, p.default) for p in params[1:]] == [(p.name, p.kind, p.default) for p in own]
        required = [p for p in params[1:] if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
        with pytest.raises(TypeError, match=f"{name}: expected a Tensor as the first argument, got list"):
            fn([1.0, 2.0], *[0] * len(required))


# ---- indexing ------------------------------------------------------------------------------

M = np.arange(24.0).reshape(4, 6)


@pytest.mark.parametrize(
    "key",
    [
        0, -1, (1, 2), (-1, -6), slice(1, 3), slice(None, None, 2), slice(None, None, -1),
        (slice(None), 1), (Ellipsis, 0), (None, 1), (slice(1, None), slice(None, None, -2)),
        (slice(10, 20),), (slice(-100, 2),), (1, None, slice(2, 4)), Ellipsis,
    ],
    ids=repr,
)
def test_basic_indexing_matches_numpy(key):
    t = lucid.tensor(M)
    out = t[key]
    expected = M[key]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


def test_indexing_chains_and_gradients():
    x = lucid.tensor(M, requires_grad=True)
    y = x[1:3, ::2][0, -1]  # M[1, 4]
    assert y.item() == M[1, 4]
    y.backward()
    expected = np.zeros_like(M)
    expected[1, 4] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_setitem_on_a_plain_tensor():
    t = lucid.zeros(2, 3)
    t[0, 1] = 5.0
    t[1] = lucid.tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [[0.0, 5.0, 0.0], [1.0, 2.0, 3.0]]


# ---- autograd attributes --------------------------------------------------------------------


def test_requires_grad_setter_and_method():
    x = lucid.tensor([1.0, 2.0])
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    assert x.requires_grad_() is x and x.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    # a non-leaf may keep requires_grad=True (a no-op)
    y = lucid.tensor([1.0], requires_grad=True) * 2
    y.requires_grad = True
    assert y.requires_grad


def test_grad_setter():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad is None
    x.grad = lucid.tensor([0.5, 0.5])
    assert x.grad.tolist() == [0.5, 0.5]
    (x * 3).sum().backward()  # accumulates onto the assigned value
    assert x.grad.tolist() == [3.5, 3.5]
    x.grad = None
    assert x.grad is None


def test_detach():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    np.testing.assert_array_equal(d.numpy(), y.numpy())
    # the detached tensor is cut from the graph: z = x · detach(x) has dz/dx = detach(x)
    z = (x * x.detach()).sum()
    z.backward()
    assert x.grad.tolist() == [1.0, 2.0]


def test_is_leaf():
    x = lucid.tensor([1.0], requires_grad=True)
    assert x.is_leaf
    assert not (x + 1).is_leaf
    assert lucid.tensor([1.0]).is_leaf
    assert (lucid.tensor([1.0]) + 1).is_leaf  # nothing requires grad: no graph node
    with lucid.no_grad():
        assert (x + 1).is_leaf
    assert (x * 2).grad_fn == "mul" and x.grad_fn is None
