"""Floor division and remainder (``//``, ``%``, ``lucid.floor_divide``, ``lucid.remainder``):
values against NumPy bit for bit (float64, float32, int64, negative operands, signed
zeros, zero and infinite operands, broadcasting, Python numbers on either side), dtype
rules, errors, and derivatives against HIPS autograd and the closed form in reverse and
forward mode and to second order."""

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lucid
from lucid.autograd import grad, hessian, jacobian, jvp

rng = np.random.default_rng(20240607)

SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 3e-39, -1e30, 7e37, np.inf, -np.inf, np.nan]


def bits(a):
    """The values as integers: equal bits, so -0.0 differs from 0.0; every NaN is one NaN."""
    a = np.asarray(a)
    a = np.where(np.isnan(a), np.nan, a).astype(a.dtype)
    return a.view(np.int64 if a.dtype == np.float64 else np.int32)


def assert_same_bits(got, want):
    """Equal dtypes and equal bits (plain equality for integers)."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if got.dtype.kind == "i":
        np.testing.assert_array_equal(got, want)
        return
    bad = bits(got) != bits(want)
    assert not bad.any(), f"differ at {np.argwhere(bad)[:5].tolist()}: got {got[bad][:5]}, want {want[bad][:5]}"


def numpy_divmod(a, b):
    with np.errstate(all="ignore"):
        return np.floor_divide(a, b), np.remainder(a, b)


def random_floats(n, dtype):
    """Both signs over many magnitudes, with quotients of every size (ties and large
    quotients included: a multiple of b, and b tiny against a)."""
    mag = lambda: 10.0 ** rng.uniform(-6, 6, n)
    a = rng.choice([-1, 1], n) * mag()
    b = rng.choice([-1, 1], n) * mag()
    k = n // 8
    a[:k] = b[:k] * rng.integers(-50, 50, k)            # exact multiples: zero remainders
    a[k:2 * k] = rng.choice([-1, 1], k) * rng.uniform(0, 1, k) * b[k:2 * k]   # |a| < |b|
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_floats_match_numpy_bit_for_bit(dtype):
    a, b = random_floats(20000, dtype)
    want_q, want_r = numpy_divmod(a, b)
    ta, tb = lucid.tensor(a), lucid.tensor(b)
    assert_same_bits((ta // tb).numpy(), want_q)
    assert_same_bits((ta % tb).numpy(), want_r)
    assert_same_bits(lucid.floor_divide(ta, tb).numpy(), want_q)
    assert_same_bits(ta.remainder(tb).numpy(), want_r)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_pair_of_special_values_matches_numpy(dtype):
    # zeros of both signs, infinities and NaN on either side, as NumPy (IEEE for a zero
    # divisor: x // 0 is x / 0, x % 0 is nan; -1 % inf is inf and -1 // inf is -1)
    v = np.array(SPECIALS, dtype=dtype)
    a, b = np.meshgrid(v, v, indexing="ij")
    want_q, want_r = numpy_divmod(a, b)
    assert_same_bits((lucid.tensor(a) // lucid.tensor(b)).numpy(), want_q)
    assert_same_bits((lucid.tensor(a) % lucid.tensor(b)).numpy(), want_r)


def test_python_examples_with_negative_operands():
    a = lucid.tensor([7.0, -7.0, 7.0, -7.0, 7.5, -7.5], dtype=lucid.float64)
    b = lucid.tensor([3.0, 3.0, -3.0, -3.0, 2.0, 2.0], dtype=lucid.float64)
    assert (a // b).tolist() == [7 // 3, -7 // 3, 7 // -3, -7 // -3, 7.5 // 2, -7.5 // 2] == [2, -3, -3, 2, 3, -4]
    assert (a % b).tolist() == [7 % 3, -7 % 3, 7 % -3, -7 % -3, 7.5 % 2, -7.5 % 2] == [1, 2, -2, -1, 1.5, 0.5]
    # the quotient and remainder agree with each other, unlike floor(a / b): 1 = 9 * 0.1 + 0.0999…
    one, tenth = lucid.tensor([1.0], dtype=lucid.float64), lucid.tensor([0.1], dtype=lucid.float64)
    assert (one // tenth).item() == 1.0 // 0.1 == 9.0
    assert (one % tenth).item() == 1.0 % 0.1
    assert (one / tenth).floor().item() == 10.0


def test_int64_matches_numpy_and_stays_int64():
    a = rng.integers(-10**12, 10**12, 5000)
    b = rng.integers(-1000, 1000, 5000)
    b[b == 0] = 7
    a[:50] = rng.integers(-5, 5, 50)
    b[50:60] = rng.choice([-1, 1], 10) * np.int64(2) ** 62
    ta, tb = lucid.tensor(a), lucid.tensor(b)
    assert (ta // tb).dtype == lucid.int64 and (ta % tb).dtype == lucid.int64
    np.testing.assert_array_equal((ta // tb).numpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal((ta % tb).numpy(), np.remainder(a, b))


def test_int64_overflow_wraps_like_numpy():
    lo = np.iinfo(np.int64).min
    a = np.array([lo, lo, lo, np.iinfo(np.int64).max], dtype=np.int64)
    b = np.array([-1, 1, 3, -1], dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # NumPy warns on MIN // -1
        want_q, want_r = np.floor_divide(a, b), np.remainder(a, b)
    np.testing.assert_array_equal((lucid.tensor(a) // lucid.tensor(b)).numpy(), want_q)
    np.testing.assert_array_equal((lucid.tensor(a) % lucid.tensor(b)).numpy(), want_r)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((4, 1), (1, 3)), ((), (2, 2)), ((2, 1, 3), (4, 1))])
def test_broadcasting_matches_numpy(dtype, shapes):
    a = rng.integers(-20, 20, shapes[0]).astype(dtype) + (0.25 if dtype != np.int64 else 0)
    b = rng.choice([-3, -2, 2, 5], shapes[1]).astype(dtype)
    want_q, want_r = numpy_divmod(a, b)
    q, r = lucid.tensor(a) // lucid.tensor(b), lucid.tensor(a) % lucid.tensor(b)
    assert q.shape == want_q.shape and r.shape == want_r.shape
    assert_same_bits(q.numpy(), want_q)
    assert_same_bits(r.numpy(), want_r)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("number", [3, -3, 2.5, -0.75])
def test_numbers_on_either_side(dtype, number):
    """A Python number takes a float tensor's dtype; with an int64 tensor an int stays
    int64 and a float gives float32 (PyTorch's rules, as for the other binary ops)."""
    a = np.array([-7, -1, 0, 4, 9], dtype=dtype)
    t = lucid.tensor(a)
    out_dt = a.dtype if dtype != np.int64 or isinstance(number, int) else np.dtype(np.float32)
    arr, num = a.astype(out_dt), out_dt.type(number)
    for got, want in [(t // number, np.floor_divide(arr, num)), (t % number, np.remainder(arr, num))]:
        assert got.dtype == (t + number).dtype
        assert_same_bits(got.numpy(), want)
    nonzero = a != 0
    tz = lucid.tensor(a[nonzero])
    arr_nz = arr[nonzero]
    assert_same_bits((number // tz).numpy(), np.floor_divide(num, arr_nz))
    assert_same_bits((number % tz).numpy(), np.remainder(num, arr_nz))


def test_numpy_scalars_and_arrays_defer_to_the_tensor():
    t = lucid.tensor([-7.0, 7.0], dtype=lucid.float64)
    for out in [np.float64(2) // t, np.int64(7) % t, np.array([2.0, 3.0]) // t, np.array([2.0, 3.0]) % t]:
        assert isinstance(out, lucid.Tensor)
    assert (np.float64(2) // t).tolist() == [-1.0, 0.0]
    assert (np.array([2.0, 3.0]) % t).tolist() == [2.0 % -7.0, 3.0 % 7.0]


def test_methods_module_functions_and_operators_agree():
    a = lucid.tensor([[-5.5, 4.0], [3.25, -0.5]], dtype=lucid.float64)
    b = lucid.tensor([2.0, -1.5], dtype=lucid.float64)
    for q in [a // b, a.floor_divide(b), lucid.floor_divide(a, b)]:
        assert q.tolist() == (a.numpy() // b.numpy()).tolist()
    for r in [a % b, a.remainder(b), lucid.remainder(a, b)]:
        assert r.tolist() == (a.numpy() % b.numpy()).tolist()
    assert lucid.remainder(a, -1.5).tolist() == (a.numpy() % -1.5).tolist()
    assert lucid.floor_divide.__name__ == "floor_divide" and "floor_divide" in lucid.__all__
    assert "remainder" in lucid.__all__


def test_augmented_assignment_writes_in_place():
    # `x //= 2` and `x %= 3` write into x, as in PyTorch: an alias sees both
    x = lucid.tensor([7.0, -7.0])
    y = x
    x //= 2
    assert y.tolist() == [3.0, -4.0]
    x %= 3
    assert x is y and y.tolist() == [0.0, 2.0]


def test_dtype_promotion_like_the_other_binary_ops():
    i = lucid.tensor([-7, 7])
    f64 = lucid.tensor([2.0, -2.0], dtype=lucid.float64)
    f32 = lucid.tensor([2.0, -2.0])
    assert (i // f64).dtype == lucid.float64 and (i % f32).dtype == lucid.float32
    assert (i // f64).tolist() == [-4.0, -4.0] and (f64 % i).tolist() == [2.0 % -7, -2.0 % 7]
    assert (f32 // f64).dtype == lucid.float64
    # bool operands count as int64, as in the other arithmetic ops
    t, f = lucid.tensor([True, True]), lucid.tensor([True, False])
    assert (t // t).dtype == (t + t).dtype == lucid.int64
    assert (f % lucid.tensor([True, True])).tolist() == [0, 0]
    assert (i // lucid.tensor([True, True])).tolist() == [-7, 7]


@pytest.mark.parametrize("op,name", [(lambda a, b: a // b, "floor_divide"), (lambda a, b: a % b, "remainder"),
                                     (lucid.floor_divide, "floor_divide"), (lucid.remainder, "remainder")])
def test_integer_division_by_zero_is_a_value_error_naming_the_op(op, name):
    a = lucid.tensor([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=f"^{name}: integer division by zero"):
        op(a, lucid.tensor([1, 0]))
    with pytest.raises(ValueError, match=f"^{name}: integer division by zero"):
        op(a, 0)
    with pytest.raises(ValueError, match=f"^{name}: integer division by zero"):
        op(lucid.tensor(5), lucid.tensor([0]))
    with pytest.raises(ValueError, match=f"^{name}: integer division by zero"):
        op(a, lucid.tensor([True, False]))
    # an empty result divides nothing
    assert op(lucid.zeros(0, dtype=lucid.int64), lucid.tensor([0])).shape == (0,)


def test_reflected_integer_division_by_zero():
    with pytest.raises(ValueError, match="^floor_divide: integer division by zero"):
        5 // lucid.tensor([1, 0])
    with pytest.raises(ValueError, match="^remainder: integer division by zero"):
        5 % lucid.tensor([0])


def test_float_division_by_zero_is_ieee():
    a = lucid.tensor([1.0, -1.0, 0.0], dtype=lucid.float64)
    q, r = (a // 0).numpy(), (a % 0.0).numpy()
    assert q[0] == np.inf and q[1] == -np.inf and np.isnan(q[2])
    assert np.isnan(r).all()
    # an int tensor divided by a float zero is a float division
    assert (lucid.tensor([3]) // 0.0).tolist() == [np.inf]


@pytest.mark.parametrize("bad", ["a", None, [1.0, "x"], object()])
def test_operands_of_the_wrong_type_are_type_errors(bad):
    t = lucid.tensor([1.0, 2.0])
    for call in [lambda: t // bad, lambda: t % bad, lambda: lucid.floor_divide(t, bad), lambda: t.remainder(bad)]:
        with pytest.raises(TypeError):
            call()
    if not isinstance(bad, list):
        with pytest.raises(TypeError):
            bad // t
    if not isinstance(bad, (list, str)):     # "a" % t is string formatting, t the mapping
        with pytest.raises(TypeError):
            bad % t
    with pytest.raises(TypeError, match="remainder: expected a Tensor as the first argument, got str"):
        lucid.remainder("a", t)


# ---- derivatives ---------------------------------------------------------------------------


def operands(shape_a, shape_b, seed=0):
    """Both signs, with every quotient at least 0.07 from an integer (see the jumps):
    a = k + u with u in [0.25, 0.75] and b = ±(1 + s) with s in [0, 0.05]."""
    r = np.random.default_rng(seed)
    a = r.integers(-3, 4, shape_a) + r.uniform(0.25, 0.75, shape_a)
    b = r.choice([-1.0, 1.0], shape_b) * (1 + r.uniform(0, 0.05, shape_b))
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


def composite(O, a, b):
    """Remainder and floor division inside smooth ops, both inputs in both."""
    q = O.floor_divide(a, b)
    r = O.remainder(a, b)
    return O.sin(r) * b + q * a * a + O.remainder(b * 3.0, a + 10.0)


class LucidOps:
    floor_divide = staticmethod(lucid.floor_divide)
    remainder = staticmethod(lucid.remainder)
    sin = staticmethod(lucid.sin)


class HipsOps:
    floor_divide = staticmethod(anp.floor_divide)     # not differentiated by autograd
    remainder = staticmethod(anp.remainder)
    sin = staticmethod(anp.sin)


SHAPES = [((5,), (5,)), ((2, 3), (3,)), ((3, 1), (1, 2)), ((), (4,))]


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("kwargs", [{}, {"vectorize": True}, {"strategy": "forward-mode"},
                                    {"strategy": "forward-mode", "vectorize": True}])
def test_jacobian_matches_hips_autograd(shapes, kwargs):
    a, b = operands(*shapes, seed=len(shapes[0]))
    out_shape = np.broadcast_shapes(*shapes)
    m = int(np.prod(out_shape))
    got = jacobian(lambda x, y: composite(LucidOps, x, y), (lucid.tensor(a), lucid.tensor(b)), **kwargs)
    for j, g in enumerate(got):
        want = autograd.jacobian(lambda x, y: composite(HipsOps, x, y), j)(a, b)
        np.testing.assert_allclose(g.numpy().reshape(m, -1), want.reshape(m, -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shapes", SHAPES)
def test_hessian_matches_hips_autograd(shapes):
    a, b = operands(*shapes, seed=3)
    w = np.random.default_rng(5).uniform(0.5, 1.5, np.broadcast_shapes(*shapes))

    def scalar(O, x, y):
        return (composite(O, x, y) * w).sum() + (O.remainder(x, y) ** 2 * w).sum()

    got = hessian(lambda x, y: scalar(LucidOps, x, y), (lucid.tensor(a), lucid.tensor(b)))
    hips = lambda x, y: scalar(HipsOps, x, y)
    for i in range(2):
        for j in range(2):
            want = autograd.jacobian(autograd.grad(hips, i), j)(a, b)
            np.testing.assert_allclose(got[i][j].numpy(), want.reshape(got[i][j].shape), rtol=1e-11, atol=1e-11)


def test_remainder_derivatives_in_closed_form():
    # r = a - floor(a / b) b: ∂r/∂a = 1, ∂r/∂b = -floor(a / b), diagonal
    a, b = operands((6,), (6,), seed=9)
    ja, jb = jacobian(lucid.remainder, (lucid.tensor(a), lucid.tensor(b)))
    np.testing.assert_array_equal(ja.numpy(), np.eye(6))
    np.testing.assert_array_equal(jb.numpy(), np.diag(-np.floor(a / b)))
    # forward mode: dr = ta - tb floor(a / b)
    ta, tb = rng.normal(size=6), rng.normal(size=6)
    _, dr = jvp(lucid.remainder, (lucid.tensor(a), lucid.tensor(b)), (lucid.tensor(ta), lucid.tensor(tb)))
    np.testing.assert_allclose(dr.numpy(), ta - tb * np.floor(a / b), rtol=1e-15)
    # a float32 tensor keeps its dtype through the rule
    ja32, jb32 = jacobian(lucid.remainder, (lucid.tensor(a.astype(np.float32)), lucid.tensor(b.astype(np.float32))))
    assert ja32.dtype == jb32.dtype == lucid.float32
    np.testing.assert_array_equal(jb32.numpy(), np.diag(-np.floor(a.astype(np.float32) / b.astype(np.float32))))


def test_floor_divide_gradient_is_zero_like_div_floor():
    # PyTorch's div(a, b, rounding_mode="floor") gives zeros (its floor_divide has no
    # derivative formula); here backward reaches both leaves with zeros
    a = lucid.tensor([7.5, -7.5, 3.0], dtype=lucid.float64, requires_grad=True)
    b = lucid.tensor(2.0, dtype=lucid.float64, requires_grad=True)
    q = a // b
    assert q.grad_fn == "floor_divide" and q.requires_grad
    (q * q).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 0.0] and b.grad.tolist() == 0.0
    ga, gb = grad((2.0 // a).sum(), (a, b), allow_unused=True)
    assert ga.tolist() == [0.0, 0.0, 0.0] and gb is None


def test_remainder_backward_through_reflected_forms():
    # 7 % x: ∂/∂x = -floor(7 / x); x % 2: ∂/∂x = 1
    x = lucid.tensor([2.0, -3.0, 4.0], dtype=lucid.float64, requires_grad=True)
    ((7 % x) + (x % 2)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), -np.floor(7 / np.array([2.0, -3.0, 4.0])) + 1)


# ---- properties ----------------------------------------------------------------------------

ints = st.integers(-(2**40), 2**40)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(ints, ints.filter(lambda v: v != 0)), min_size=1, max_size=20))
def test_int_quotient_and_remainder_rebuild_the_dividend(pairs):
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    q = (lucid.tensor(a) // lucid.tensor(b)).numpy()
    r = (lucid.tensor(a) % lucid.tensor(b)).numpy()
    np.testing.assert_array_equal(q * b + r, a)
    assert ((r == 0) | (np.sign(r) == np.sign(b))).all() and (np.abs(r) < np.abs(b)).all()
    assert q.tolist() == [x // y for x, y in pairs] and r.tolist() == [x % y for x, y in pairs]


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(finite, finite.filter(lambda v: v != 0))
def test_floats_match_python(x, y):
    a, b = lucid.tensor([x], dtype=lucid.float64), lucid.tensor([y], dtype=lucid.float64)
    q, r = (a // b).item(), (a % b).item()
    assert (q, np.copysign(1, q)) == (x // y, np.copysign(1, x // y))
    assert (r, np.copysign(1, r)) == (x % y, np.copysign(1, x % y))
