"""Conversions that never lie (issue 18, item 6): a tensor as a Python int (``int``,
``__index__``), Python and NumPy integers into tensors, and ``t()``. Each conversion
either gives the exact value or raises the exception Python or PyTorch raises, with a
message naming the value; none saturates, wraps or silently changes dtype."""

import operator

import numpy as np
import pytest

import lucid

INT64_MAX = 2 ** 63 - 1
INT64_MIN = -(2 ** 63)


# ---- int(tensor) ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [lucid.float32, lucid.float64])
@pytest.mark.parametrize("value", [0.0, 2.9, -2.9, 0.5, -0.5, 7.0, -1e6 - 0.25, 1e18])
def test_int_of_a_float_truncates_toward_zero_as_python(dtype, value):
    t = lucid.tensor(value, dtype=dtype)
    assert int(t) == int(float(t)) == int(np.asarray(t).item())
    assert type(int(t)) is int


def test_int_of_an_integer_tensor_is_exact():
    # past 2**53 a float64 detour would round
    for v in [INT64_MIN, -(2 ** 53) - 1, -1, 0, 2 ** 53 + 1, INT64_MAX]:
        assert int(lucid.tensor(v)) == v
    assert int(lucid.tensor([[2 ** 62 + 3]])) == 2 ** 62 + 3
    assert int(lucid.tensor(True)) == 1 and int(lucid.tensor(False)) == 0


@pytest.mark.parametrize("dtype", [lucid.float32, lucid.float64])
def test_int_of_nan_is_a_value_error(dtype):
    with pytest.raises(ValueError, match=r"^int: cannot convert float NaN to integer$"):
        int(lucid.tensor(float("nan"), dtype=dtype))


@pytest.mark.parametrize("dtype", [lucid.float32, lucid.float64])
@pytest.mark.parametrize("value,shown", [(float("inf"), "infinity"), (float("-inf"), "-infinity")])
def test_int_of_an_infinity_is_an_overflow_error(dtype, value, shown):
    with pytest.raises(OverflowError, match=rf"^int: cannot convert float {shown} to integer$"):
        int(lucid.tensor(value, dtype=dtype))


@pytest.mark.parametrize("value,shown", [(1e30, "1e30"), (-1e30, "-1e30"), (2.0 ** 63, "9.223372036854776e18"),
                                         (-9.3e18, "-9.3e18")])
def test_int_of_a_float_past_int64_is_an_overflow_error_naming_it(value, shown):
    with pytest.raises(OverflowError, match=rf"^int: value {shown} cannot be converted to int64 without overflow$"):
        int(lucid.tensor(value, dtype=lucid.float64))


def test_int_at_the_ends_of_the_int64_range():
    assert int(lucid.tensor(-(2.0 ** 63), dtype=lucid.float64)) == INT64_MIN
    # the largest float64 below 2**63
    below = np.nextafter(2.0 ** 63, 0)
    assert int(lucid.tensor(below, dtype=lucid.float64)) == int(below)
    with pytest.raises(OverflowError):
        int(lucid.tensor(2.0 ** 63, dtype=lucid.float32))


def test_int_of_several_elements_is_an_error():
    with pytest.raises(ValueError, match=r"^int: only one-element tensors .* got shape \[2\]"):
        int(lucid.tensor([1, 2]))


def test_float_and_bool_are_unchanged():
    assert float(lucid.tensor(2.5)) == 2.5
    assert np.isnan(float(lucid.tensor(float("nan"))))
    assert float(lucid.tensor(float("inf"))) == float("inf")
    assert bool(lucid.tensor(float("nan"))) is True


# ---- __index__ --------------------------------------------------------------------------

def test_index_of_an_integer_tensor():
    assert operator.index(lucid.tensor(3)) == 3
    assert list(range(lucid.tensor(3))) == [0, 1, 2]
    assert [1, 2, 3][lucid.tensor(1)] == 2
    assert [1, 2, 3][lucid.tensor([2])] == 3  # one element of any shape, as in PyTorch
    assert "abc"[lucid.tensor(True)] == "b"
    assert operator.index(lucid.tensor(INT64_MAX)) == INT64_MAX
    assert hex(lucid.tensor(255)) == "0xff"


@pytest.mark.parametrize("t", [lucid.tensor(1.0), lucid.tensor(1.0, dtype=lucid.float64), lucid.tensor([1, 2]),
                               lucid.tensor([], dtype=lucid.int64)])
def test_index_of_a_float_or_a_non_scalar_tensor_is_a_type_error(t):
    with pytest.raises(TypeError, match=r"^__index__: only integer tensors of a single element can be converted "
                                        r"to an index, got a \w+ tensor of shape"):
        operator.index(t)
    with pytest.raises(TypeError):
        [1, 2, 3][t]


def test_index_does_not_change_tensor_indexing():
    x = lucid.tensor([10, 20, 30])
    # a one-element tensor index is still an advanced (tensor) index, keeping its dims
    assert x[lucid.tensor([1])].shape == (1,)
    assert x[lucid.tensor(1)].shape == ()
    assert int(x[lucid.tensor(2)]) == 30


# ---- Python and NumPy integers into tensors ---------------------------------------------

def test_uint64_beyond_int64_is_an_overflow_error_naming_the_value():
    with pytest.raises(OverflowError, match=rf"^tensor: the integer {2 ** 64 - 1} in the data is out of the int64 "
                                            r"range"):
        lucid.tensor(np.array([2 ** 64 - 1], np.uint64))
    with pytest.raises(OverflowError, match=rf"the integer {2 ** 63} in"):
        lucid.tensor(np.array([[1, 2], [3, 2 ** 63]], np.uint64))
    with pytest.raises(OverflowError, match=rf"the integer {2 ** 63} in"):
        lucid.from_numpy(np.array([5, 2 ** 63, 2 ** 64 - 1], np.uint64))
    with pytest.raises(OverflowError, match=rf"the integer {2 ** 64 - 1} in"):
        lucid.tensor(np.uint64(2 ** 64 - 1))
    with pytest.raises(OverflowError):
        lucid.tensor(np.array([2 ** 63], np.uint64), dtype=lucid.int64)


def test_uint64_as_a_float_dtype_is_allowed():
    t = lucid.tensor(np.array([2 ** 64 - 1], np.uint64), dtype=lucid.float64)
    assert t.numpy()[0] == float(2 ** 64 - 1)


@pytest.mark.parametrize("np_dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_unsigned_in_range_converts_to_int64(np_dtype):
    hi = min(np.iinfo(np_dtype).max, INT64_MAX)
    a = np.array([0, 1, hi], np_dtype)
    t = lucid.tensor(a)
    assert t.dtype == lucid.int64
    assert t.tolist() == [0, 1, hi]
    assert lucid.tensor(np.array([], np_dtype)).shape == (0,)


@pytest.mark.parametrize("data,big", [([1, 2 ** 63], 2 ** 63), ([2 ** 63], 2 ** 63), ([[1], [2 ** 63]], 2 ** 63),
                                      ([True, 2 ** 64 - 1], 2 ** 64 - 1), ([1, -(2 ** 63) - 1], -(2 ** 63) - 1),
                                      ([1, 2 ** 64], 2 ** 64), (2 ** 63, 2 ** 63), ((3, 2 ** 70), 2 ** 70),
                                      ([1, np.uint64(2 ** 63)], 2 ** 63)])
def test_python_ints_past_int64_are_an_overflow_error_naming_the_value(data, big):
    with pytest.raises(OverflowError, match=rf"^tensor: the integer {big} in the data is out of the int64 range"):
        lucid.tensor(data)


def test_python_ints_at_the_ends_of_int64_convert_exactly():
    t = lucid.tensor([INT64_MIN, 0, INT64_MAX])
    assert t.dtype == lucid.int64
    assert t.tolist() == [INT64_MIN, 0, INT64_MAX]


def test_a_float_in_the_data_keeps_it_float():
    # mixed lists of floats and ints are float data, as before (and in PyTorch)
    t = lucid.tensor([1.0, 2 ** 63])
    assert t.dtype == lucid.float32
    assert t.tolist() == [1.0, float(2 ** 63)]
    assert lucid.tensor([1, 2.5]).dtype == lucid.float32
    assert lucid.tensor([1e30, 3]).dtype == lucid.float32
    # big ints asked for as floats are floats
    assert lucid.tensor([1, 2 ** 63], dtype=lucid.float64).tolist() == [1.0, float(2 ** 63)]


def test_ordinary_data_is_unchanged():
    assert lucid.tensor([1, 2, 3]).dtype == lucid.int64
    assert lucid.tensor([1.0, np.nan, -np.inf]).dtype == lucid.float32
    assert lucid.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lucid.int64).tolist() == [[1, 2], [3, 4]]
    assert lucid.tensor([]).shape == (0,)


# ---- t() --------------------------------------------------------------------------------

def test_t_transposes_a_matrix_and_returns_lower_ranks_as_is():
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(lucid.tensor(m).t().numpy(), m.T)
    np.testing.assert_array_equal(lucid.t(lucid.tensor(m)).numpy(), m.T)
    v = lucid.tensor([1.0, 2.0, 3.0])
    assert v.t().tolist() == [1.0, 2.0, 3.0]
    assert lucid.tensor(5.0).t().shape == ()


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 1, 1)])
def test_t_of_more_than_two_dims_is_an_error(shape):
    x = lucid.zeros(*shape)
    n = len(shape)
    with pytest.raises(ValueError, match=rf"^t: expects a tensor with <= 2 dimensions, but self is {n}-D "
                                         rf"\(shape \[{', '.join(map(str, shape))}\]\)$"):
        x.t()
    with pytest.raises(ValueError, match=r"^t: expects a tensor with <= 2 dimensions"):
        lucid.t(x)


def test_capital_t_still_reverses_every_dim():
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(lucid.tensor(a).T.numpy(), a.T)
