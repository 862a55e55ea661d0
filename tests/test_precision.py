"""No silent float64 -> float32 (issue 17): every source that carries float64 data
keeps it float64 in ``lucid.tensor`` and ``lucid.as_tensor`` (NumPy scalars in lists,
``__array__`` objects, buffers, byte orders, JAX arrays), while Python float literals
keep PyTorch's float32 default. ``EPS`` is below float32's resolution at 1, so every
check that the value survives is also a check that no float32 step happened."""

from __future__ import annotations

import array
import ctypes

import numpy as np
import pytest

import lucid

EPS = 1e-12
ONE = 1.0 + EPS  # float32(ONE) == 1.0


def exact(t, values, dtype=lucid.float64):
    assert t.dtype == dtype, t.dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(values, dtype=np.float64 if dtype == lucid.float64 else None))


class HasArray:
    """An object that is an array only through ``__array__`` (as many libraries' are)."""

    def __init__(self, a):
        self.a = np.asarray(a)

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


class HasInterface:
    """An object exposing NumPy's array interface and nothing else."""

    def __init__(self, a):
        self.a = np.ascontiguousarray(a)
        self.__array_interface__ = self.a.__array_interface__


# ---- Python float literals keep PyTorch's default ---------------------------------------------

@pytest.mark.parametrize("data", [1.0, [1.0, 2.0], [[1.0], [2.0]], (1.0, 2), [1, 2.5], [True, 1.5], [ONE]], ids=repr)
def test_python_floats_give_float32(data):
    assert lucid.tensor(data).dtype == lucid.float32
    assert lucid.as_tensor(data).dtype == lucid.float32


def test_float_subclasses_that_are_not_numpy_are_python_floats():
    class Meters(float):
        pass
    assert lucid.tensor([Meters(1.0), 2.0]).dtype == lucid.float32


# ---- NumPy scalars in lists -------------------------------------------------------------------

@pytest.mark.parametrize("data,values", [
    ([np.float64(ONE)], [ONE]),
    ([np.float64(ONE), 2.0], [ONE, 2.0]),
    ([2.0, np.float64(ONE)], [2.0, ONE]),
    ([[1.0, 2.0], [3.0, np.float64(ONE)]], [[1.0, 2.0], [3.0, ONE]]),
    ((1, np.float64(ONE)), [1.0, ONE]),
    ([[1, 2.0], (3, np.float64(ONE))], [[1.0, 2.0], [3.0, ONE]]),
], ids=["alone", "first", "last", "nested", "tuple with int", "mixed nesting"])
def test_a_numpy_float64_among_python_numbers_makes_the_tensor_float64(data, values):
    exact(lucid.tensor(data), values)
    exact(lucid.as_tensor(data), values)


def test_float64_arrays_and_tensors_inside_lists_keep_float64():
    exact(lucid.tensor([np.array([ONE, 2.0]), [3.0, 4.0]]), [[ONE, 2.0], [3.0, 4.0]])
    exact(lucid.tensor([lucid.tensor(ONE, dtype=lucid.float64), 2.0]), [ONE, 2.0])
    exact(lucid.tensor([HasArray([ONE]), [2.0]]), [[ONE], [2.0]])


def test_narrower_numpy_floats_among_python_floats_give_float32():
    assert lucid.tensor([np.float32(1.5), 2.0]).dtype == lucid.float32
    assert lucid.tensor([np.float16(1.5), 2.0]).dtype == lucid.float32
    assert lucid.tensor([lucid.tensor(1.5), 2.0]).dtype == lucid.float32


def test_a_long_list_of_python_floats_stays_float32_and_one_numpy_float_flips_it():
    data = [float(i) for i in range(10_000)]
    assert lucid.tensor(data).dtype == lucid.float32
    exact(lucid.tensor(data + [np.float64(ONE)]), data + [ONE])
    rows = [[float(i), float(i + 1)] for i in range(1000)]
    rows[500][1] = np.float64(ONE)
    assert lucid.tensor(rows).dtype == lucid.float64


# ---- objects that say their dtype -------------------------------------------------------------

def test_an_array_protocol_object_keeps_float64():
    exact(lucid.tensor(HasArray([1.0, ONE])), [1.0, ONE])
    exact(lucid.as_tensor(HasArray([[ONE]])), [[ONE]])
    exact(lucid.tensor(HasInterface(np.array([ONE, 3.0]))), [ONE, 3.0])
    assert lucid.tensor(HasArray(np.array([1.5], np.float32))).dtype == lucid.float32
    assert lucid.tensor(HasArray(np.array([3], np.int32))).dtype == lucid.int64


def test_array_array_of_doubles_keeps_float64():
    exact(lucid.tensor(array.array("d", [ONE, -2.0])), [ONE, -2.0])
    assert lucid.tensor(array.array("f", [1.5])).dtype == lucid.float32
    t = lucid.tensor(array.array("i", [1, -2]))
    assert t.dtype == lucid.int64 and t.tolist() == [1, -2]
    exact(lucid.as_tensor(array.array("d", [ONE])), [ONE])


def test_memoryviews_and_buffers_of_doubles_keep_float64():
    raw = np.array([ONE, 2.0, 3.0, 4.0, 5.0, 6.0]).tobytes()
    exact(lucid.tensor(memoryview(array.array("d", [ONE, 2.0]))), [ONE, 2.0])
    exact(lucid.tensor(memoryview(raw).cast("d")), [ONE, 2.0, 3.0, 4.0, 5.0, 6.0])
    exact(lucid.tensor(memoryview(bytearray(raw)).cast("d", shape=[2, 3])), [[ONE, 2.0, 3.0], [4.0, 5.0, 6.0]])
    exact(lucid.tensor((ctypes.c_double * 2)(ONE, 7.0)), [ONE, 7.0])


def test_bytes_are_not_an_array_of_numbers():
    with pytest.raises(TypeError, match=r"^tensor: unsupported data of NumPy dtype \|S2"):
        lucid.tensor(b"ab")


def test_an_explicit_dtype_still_wins():
    assert lucid.tensor(array.array("d", [ONE]), dtype=lucid.float32).tolist() == [1.0]
    assert lucid.tensor([np.float64(ONE)], dtype=lucid.float32).dtype == lucid.float32
    assert lucid.tensor([1.0], dtype=lucid.float64).dtype == lucid.float64


# ---- NumPy dtypes Lucid does not have ---------------------------------------------------------

def test_float64_in_the_other_byte_order_stays_float64():
    swapped = np.array([ONE, -3.0], dtype=np.dtype(np.float64).newbyteorder())
    exact(lucid.tensor(swapped), [ONE, -3.0])
    exact(lucid.from_numpy(swapped), [ONE, -3.0])
    swapped32 = np.array([1.5], dtype=np.dtype(np.float32).newbyteorder())
    assert lucid.tensor(swapped32).dtype == lucid.float32


def test_longdouble_goes_to_float64_and_float16_to_float32():
    exact(lucid.tensor(np.array([ONE], np.longdouble)), [ONE])
    exact(lucid.tensor(np.longdouble(ONE)), ONE)
    assert lucid.tensor(np.array([1.5], np.float16)).dtype == lucid.float32


def test_numpy_operands_of_other_float_dtypes_are_widened_not_refused():
    x = lucid.tensor([1.0, 2.0], dtype=lucid.float64)
    swapped = np.array([EPS, EPS], dtype=np.dtype(np.float64).newbyteorder())
    exact(x + swapped, [ONE, 2.0 + EPS])
    exact(x * np.array([2.0, 2.0], np.longdouble), [2.0, 4.0])
    y = lucid.tensor([1.0, 2.0]) + np.array([0.5, 0.5], np.float16)
    assert y.dtype == lucid.float32 and y.tolist() == [1.5, 2.5]
    z = lucid.tensor([1, 2]) + np.array([1, 1], np.int8)
    assert z.dtype == lucid.int64 and z.tolist() == [2, 3]


# ---- JAX --------------------------------------------------------------------------------------

@pytest.fixture
def jax_x64():
    jax = pytest.importorskip("jax", reason="jax is not installed; its float64 arrays are tested when it is")
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        import jax.numpy as jnp
        if jnp.array(ONE, dtype=jnp.float64).dtype != jnp.float64:
            pytest.skip("jax could not enable float64 (jax_enable_x64)")
        yield jnp
    finally:
        jax.config.update("jax_enable_x64", previous)


def test_jax_float64_arrays_keep_float64(jax_x64):
    jnp = jax_x64
    a = jnp.array([ONE, 2.0], dtype=jnp.float64)
    exact(lucid.tensor(a), [ONE, 2.0])
    exact(lucid.as_tensor(a), [ONE, 2.0])
    exact(lucid.tensor([a[0], 3.0]), [ONE, 3.0])  # a 0-d JAX array among Python floats
    exact(lucid.tensor(jnp.ones((2, 2), dtype=jnp.float64) * ONE), np.full((2, 2), ONE))
    assert lucid.tensor(jnp.array([1.5], dtype=jnp.float32)).dtype == lucid.float32


def test_the_rule_is_written_in_the_docstring():
    doc = lucid.tensor.__doc__
    assert "Python floats give float32" in doc and "float64 stays float64" in doc
