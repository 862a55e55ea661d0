"""Tapes in other processes: pickled (versioned and checked), run by a
ProcessPoolExecutor and by a Dask cluster of two worker processes, with results equal
to the local ones."""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import pickle

import numpy as np
import pytest

import lucid
from lucid.autograd import jacobian

from optable import all_cases


def reaction(c):
    """A module-level function (picklable by reference)."""
    k = lucid.tensor([1.0, 0.5, 2.0, 0.3], dtype=lucid.float64)
    a, b, cc = c[0], c[1], c[2]
    if (a > b).item():
        r = k[0] * a * b - k[1] * cc
    else:
        r = k[2] * a * b - k[3] * cc
    return lucid.stack([-r + 0.1, -r + 0.2, r - cc * 0.5])


def _jacobian_numpy(t, point):
    return t.jacobian(lucid.tensor(point)).numpy()


def test_every_op_survives_pickling():
    rng = np.random.default_rng(5)
    for case in all_cases():
        shapes = case.variants[0]
        arrays = case.sample(rng, shapes)
        wrt = case.wrt_of(arrays)
        f = case.partial(arrays, wrt)
        x = tuple(lucid.tensor(np.asarray(arrays[i], dtype=np.float64)) for i in wrt)
        t = pickle.loads(pickle.dumps(lucid.tape(f, x)))
        want = jacobian(f, x)
        got = t.jacobian(x)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy(), err_msg=case.name)
        assert t.records == 1, case.name


def test_a_pickled_tape_keeps_its_tapes_counters_and_function():
    t = lucid.tape(reaction, lucid.tensor([2.0, 1.0, 0.5], dtype=lucid.float64))
    t.jacobian(lucid.tensor([0.5, 1.0, 0.5], dtype=lucid.float64))  # the other branch
    u = pickle.loads(pickle.dumps(t))
    assert (u.records, u.tapes) == (2, 2)
    for p in ([2.0, 1.0, 0.5], [0.5, 1.0, 0.5], [3.0, 0.1, 0.2]):
        x = lucid.tensor(p, dtype=lucid.float64)
        np.testing.assert_array_equal(u.jacobian(x).numpy(), jacobian(reaction, x).numpy())
    assert u.records == 2
    u.jacobian(lucid.tensor([2.0, 1.0, 0.5, 4.0], dtype=lucid.float64))  # a new shape records: the function came along
    assert u.records == 3


def test_damaged_or_foreign_bytes_are_clear_errors():
    t = lucid.tape(reaction, lucid.tensor([2.0, 1.0, 0.5], dtype=lucid.float64))
    data = bytearray(t._cache.to_bytes())
    with pytest.raises(ValueError, match="not a saved Lucid tape"):
        lucid._core.TapeCache.from_bytes(b"hello world, not a tape", 8)
    damaged = bytearray(data)
    damaged[-3] ^= 0xFF
    with pytest.raises(ValueError, match="damaged"):
        lucid._core.TapeCache.from_bytes(bytes(damaged), 8)
    with pytest.raises(ValueError, match="damaged"):
        lucid._core.TapeCache.from_bytes(bytes(data[:-10]), 8)
    other = bytearray(data)
    other[8] ^= 0x7F  # the format version
    with pytest.raises(ValueError, match="record it again with this version"):
        lucid._core.TapeCache.from_bytes(bytes(other), 8)


def test_process_pool_runs_a_tape():
    t = lucid.tape(reaction, lucid.tensor([2.0, 1.0, 0.5], dtype=lucid.float64))
    rng = np.random.default_rng(0)
    points = [rng.uniform(0.1, 2.0, 3) for _ in range(40)]
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        remote = list(pool.map(_jacobian_numpy, [t] * len(points), points))
    for r, p in zip(remote, points):
        np.testing.assert_array_equal(r, jacobian(reaction, lucid.tensor(p)).numpy())


def test_dask_cluster_computes_jacobians_at_a_thousand_points():
    distributed = pytest.importorskip("distributed")
    t = lucid.tape(reaction, lucid.tensor([2.0, 1.0, 0.5], dtype=lucid.float64))
    rng = np.random.default_rng(1)
    points = [rng.uniform(0.1, 2.0, 3) for _ in range(1000)]
    local = t.map("jacobian", [lucid.tensor(p) for p in points])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        shared = client.scatter(t, broadcast=True)
        futures = client.map(_jacobian_numpy, [shared] * len(points), points, pure=False)
        remote = client.gather(futures)
    for r, j in zip(remote, local):
        np.testing.assert_array_equal(r, j.numpy())
