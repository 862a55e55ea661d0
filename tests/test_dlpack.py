"""DLPack both ways: ``np.from_dlpack(t)`` shares a read-only view of the tensor's
storage; ``lucid.from_dlpack`` copies any producer's data into a new tensor; capsules
free what they hold exactly once (NOTE [DLPack ownership] in dlpack.rs)."""

import gc
import os
import warnings

import numpy as np
import pytest

import lucid

DTYPES = [np.float32, np.float64, np.int64, np.bool_]


def _sample(dtype, shape=(2, 3)):
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) - 2.5
    return np.asarray((values > 0) if dtype is np.bool_ else values.astype(dtype))


class LegacyProducer:
    """A producer as before DLPack 1.0 (no ``max_version``): consumers then get a
    legacy ``dltensor`` capsule."""

    def __init__(self, x):
        self.x = x

    def __dlpack__(self, stream=None):
        return self.x.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()


# ---- values, dtypes and shapes, both ways ----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (), (0,), (0, 3), (1, 1, 4)])
def test_roundtrip_values_and_dtypes(dtype, shape):
    a = _sample(dtype, shape)
    t = lucid.from_dlpack(a)
    assert t.dtype == lucid.tensor(a).dtype
    assert t.shape == a.shape
    back = np.from_dlpack(t)
    assert back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("view", ["transpose", "step", "reversed", "column", "broadcast"])
def test_noncontiguous_numpy_imports(view):
    base = np.arange(24.0).reshape(4, 6)
    a = {
        "transpose": base.T,
        "step": base[:, ::2],
        "reversed": base[::-1, ::-3],
        "column": base[:, 2:3],
        "broadcast": np.broadcast_to(np.arange(3.0), (4, 3)),
    }[view]
    t = lucid.from_dlpack(a)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.dtype == lucid.float64


@pytest.mark.parametrize("view", ["transpose", "slice", "step", "reversed", "expand"])
def test_noncontiguous_tensor_exports(view):
    t = lucid.tensor(np.arange(24.0).reshape(4, 6))
    v = {
        "transpose": lambda: t.T,
        "slice": lambda: t[1:3, 2:],
        "step": lambda: t[:, ::2],
        "reversed": lambda: t[::-1],
        "expand": lambda: t[:1].expand(3, 6),
    }[view]()
    np.testing.assert_array_equal(np.from_dlpack(v), v.numpy())


@pytest.mark.parametrize("dtype,expected", [(np.int8, lucid.int64), (np.int16, lucid.int64), (np.int32, lucid.int64),
                                            (np.uint8, lucid.int64), (np.uint16, lucid.int64),
                                            (np.uint32, lucid.int64)])
def test_small_integers_widen_exactly(dtype, expected):
    info = np.iinfo(dtype)
    a = np.array([info.min, 0, info.max], dtype=dtype)
    t = lucid.from_dlpack(a)
    assert t.dtype == expected
    assert t.tolist() == [int(info.min), 0, int(info.max)]


def test_bool_bytes_other_than_one_are_true():
    # DLPack bools are bytes; any nonzero byte reads as True, never as an invalid bool
    raw = np.array([0, 1, 2, 255], dtype=np.uint8).view(np.bool_)
    assert lucid.from_dlpack(raw).tolist() == [False, True, True, True]


# ---- zero copy and read-only -----------------------------------------------------------


def test_export_is_zero_copy():
    t = lucid.tensor(np.arange(12.0).reshape(3, 4))
    a, b = np.from_dlpack(t), np.from_dlpack(t)
    # two exports see one buffer: each is the storage itself, not a copy
    assert np.shares_memory(a, b)
    assert a.ctypes.data == b.ctypes.data
    # a view of the tensor (same storage) exports into the same buffer
    v = np.from_dlpack(t[1:, 1:])
    assert np.shares_memory(a, v)
    assert v.ctypes.data == a.ctypes.data + (4 + 1) * 8


def test_export_is_read_only():
    t = lucid.tensor([1.0, 2.0, 3.0])
    a = np.from_dlpack(t)
    assert not a.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 5.0
    assert t.tolist() == [1.0, 2.0, 3.0]


def test_export_keeps_its_values_under_in_place_ops():
    # in-place ops give the tensor new storage; the exported buffer is never written
    t = lucid.tensor([1.0, 2.0])
    a = np.from_dlpack(t)
    t += 1
    t[0] = 7.0
    assert t.tolist() == [7.0, 3.0]
    assert a.tolist() == [1.0, 2.0]


def test_copy_true_gives_a_private_writable_array():
    t = lucid.tensor([1.0, 2.0, 3.0])
    a = np.from_dlpack(t, copy=True)
    assert a.flags.writeable and not np.shares_memory(a, np.from_dlpack(t))
    a[0] = 5.0
    assert t.tolist() == [1.0, 2.0, 3.0]


def test_legacy_consumer_gets_a_private_copy():
    # NOTE [DLPack read-only]: a legacy capsule cannot say read-only, so it is a copy
    t = lucid.tensor([1.0, 2.0, 3.0])
    a = np.from_dlpack(LegacyProducer(t))
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0])
    assert not np.shares_memory(a, np.from_dlpack(t))
    assert not np.shares_memory(a, np.from_dlpack(LegacyProducer(t)))


def test_reversed_view_exports_a_copy():
    t = lucid.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.from_dlpack(t[::-1]), [3.0, 2.0, 1.0])
    with pytest.raises(BufferError, match="negative strides"):
        t[::-1].__dlpack__(max_version=(1, 0), copy=False)


def test_export_arguments():
    t = lucid.tensor([1.0, 2.0])
    assert t.__dlpack_device__() == (1, 0)
    np.testing.assert_array_equal(np.from_dlpack(t, device="cpu"), [1.0, 2.0])
    with pytest.raises(BufferError, match="max_version"):
        t.__dlpack__(copy=False)
    with pytest.raises(BufferError, match=r"cuda:0.*CPU"):
        t.__dlpack__(max_version=(1, 0), dl_device=(2, 0))
    with pytest.raises(ValueError, match="stream must be None"):
        t.__dlpack__(stream=1)


def test_export_of_a_tensor_that_requires_grad_is_detached_values():
    w = lucid.tensor([1.0, 2.0], requires_grad=True)
    a = np.from_dlpack(w * 2)
    np.testing.assert_array_equal(a, [2.0, 4.0])


# ---- import ----------------------------------------------------------------------------


def test_import_copies_once():
    # NOTE [DLPack import copies]: the tensor owns its buffer, so writes to the source
    # never reach it
    a = np.arange(4.0)
    t = lucid.from_dlpack(a)
    a[0] = 100.0
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_import_of_a_lucid_tensor_is_a_detached_alias():
    w = lucid.tensor([1.0, 2.0], requires_grad=True)
    t = lucid.from_dlpack(w)
    assert not t.requires_grad and t.is_leaf
    assert np.shares_memory(np.from_dlpack(t), np.from_dlpack(w))


def test_import_keywords_of_the_array_api():
    a = np.arange(3.0)
    assert lucid.from_dlpack(a, device="cpu", copy=None).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(BufferError, match="copy=False cannot be honoured"):
        lucid.from_dlpack(a, copy=False)
    with pytest.raises(ValueError, match="device must be None or 'cpu'.*got cuda"):
        lucid.from_dlpack(a, device="cuda")
    t = lucid.tensor([1.0, 2.0])
    alias, fresh = lucid.from_dlpack(t, copy=False), lucid.from_dlpack(t, copy=True)
    assert np.shares_memory(np.from_dlpack(alias), np.from_dlpack(t))
    assert not np.shares_memory(np.from_dlpack(fresh), np.from_dlpack(t))
    assert fresh.tolist() == [1.0, 2.0]


def test_import_from_capsules():
    t = lucid.tensor([[1.0, 2.0]], dtype=lucid.float64)
    for cap in (t.__dlpack__(), t.__dlpack__(max_version=(1, 0))):
        u = lucid.from_dlpack(cap)
        assert u.tolist() == [[1.0, 2.0]] and u.dtype == lucid.float64
        with pytest.raises(ValueError, match="already consumed"):
            lucid.from_dlpack(cap)


@pytest.mark.parametrize("dtype,name", [(np.complex128, "complex128"), (np.float16, "float16"),
                                        (np.uint64, "uint64")])
def test_unsupported_dtypes_are_named(dtype, name):
    with pytest.raises(TypeError, match=f"dtype {name} is not supported"):
        lucid.from_dlpack(np.zeros(2, dtype=dtype))


class _Elsewhere:
    def __init__(self, device):
        self.device = device

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, **kwargs):  # pragma: no cover - never reached
        raise AssertionError("the device is checked first")


@pytest.mark.parametrize("device,name", [((2, 0), "cuda:0"), ((10, 1), "rocm:1"), ((99, 0), "device type 99:0")])
def test_unsupported_devices_are_named(device, name):
    with pytest.raises(ValueError, match=f"data is on {name}; Lucid tensors live on the CPU"):
        lucid.from_dlpack(_Elsewhere(device))


def test_import_of_things_that_are_not_arrays():
    with pytest.raises(TypeError, match="expected an object with __dlpack__.*got list"):
        lucid.from_dlpack([1.0])

    class Wrong:
        def __dlpack__(self, **kwargs):
            return 3

    with pytest.raises(ValueError, match="int from __dlpack__, not a capsule"):
        lucid.from_dlpack(Wrong())


# ---- lifetimes -------------------------------------------------------------------------


def test_array_outlives_its_tensor_and_capsule():
    t = lucid.tensor(np.arange(1000.0))
    a = np.from_dlpack(t)
    expected = np.arange(1000.0, dtype=np.float32)
    del t
    gc.collect()
    lucid.randn(1000) * 2  # reuse freed memory, if it were freed
    np.testing.assert_array_equal(a, expected)


def test_unconsumed_capsules_free_their_tensor():
    t = lucid.tensor([1.0])
    for _ in range(100):
        t.__dlpack__()
        t.__dlpack__(max_version=(1, 0))
    gc.collect()


def _rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc (Linux)")
def test_export_stress_does_not_leak():
    # 300 exports of 4 MB each: a missed deleter would keep 1.2 GB alive
    def churn():
        for _ in range(300):
            t = lucid.ones(1 << 20)
            a = np.from_dlpack(t)
            b = np.from_dlpack(LegacyProducer(t))
            t.__dlpack__(max_version=(1, 0))
            del t
            assert a[-1] == 1.0 and b[0] == 1.0
            del a, b
        gc.collect()

    churn()  # warm the allocator's caches
    before = _rss()
    churn()
    assert _rss() - before < 64 << 20


def test_import_stress_does_not_leak():
    # NumPy's buffers are traced by tracemalloc: each import must call NumPy's deleter
    import tracemalloc

    def churn():
        for _ in range(200):
            lucid.from_dlpack(np.ones(1 << 17))  # 1 MB each
            lucid.from_dlpack(np.ones((1 << 9, 1 << 8)).T)
        gc.collect()

    churn()
    tracemalloc.start()
    try:
        churn()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current < 4 << 20


# ---- other libraries -------------------------------------------------------------------


def test_pytorch_both_ways():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    x = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
    t = lucid.from_dlpack(x)
    assert t.dtype == lucid.float64 and t.tolist() == x.tolist()
    with warnings.catch_warnings():
        # PyTorch has no read-only tensors: it may warn that the shared buffer is one
        warnings.simplefilter("ignore", UserWarning)
        y = torch.from_dlpack(lucid.tensor([[1.0, 2.0], [3.0, 4.0]]).T)
    assert y.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert (t * x).tolist() == (x * x).tolist()


def test_jax_both_ways():
    jnp = pytest.importorskip("jax.numpy", reason="JAX is not installed")
    x = jnp.arange(6.0).reshape(2, 3)
    t = lucid.from_dlpack(x)
    assert t.dtype == lucid.float32 and t.tolist() == x.tolist()
    y = jnp.from_dlpack(lucid.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert y.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_jax_array_times_tensor_stays_in_the_graph():
    jnp = pytest.importorskip("jax.numpy", reason="JAX is not installed")
    w = lucid.tensor([1.0, 2.0, 3.0], requires_grad=True)
    j = jnp.array([2.0, 3.0, 4.0])
    for y in (j * w, w * j):
        assert isinstance(y, lucid.Tensor) and y.requires_grad
        assert y.tolist() == [2.0, 6.0, 12.0]
    (j * w).sum().backward()
    assert w.grad.tolist() == [2.0, 3.0, 4.0]
