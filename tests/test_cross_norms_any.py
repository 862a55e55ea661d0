"""`cross`, the `torch.linalg` norms and `any`/`all` (issue 19's missing ops): values
against NumPy, and each bad argument a clear error. Derivatives (first and second,
both modes) are in the conformance table (tests/optable/linalg.py)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid

NAN = float("nan")


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 1), False), (-1, True)])
@pytest.mark.parametrize("values", [
    [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
    [[NAN, 0.0, 2.0], [3.0, -1.0, 0.5]],
    [[1, 0, 2], [0, 0, 0]],
    [[True, False, True], [True, True, True]],
])
def test_any_all_match_numpy(values, dim, keepdim):
    a = np.array(values)
    t = lucid.tensor(a)
    for name in ("any", "all"):
        got = getattr(t, name)(dim, keepdim=keepdim)
        want = getattr(np, name)(a, axis=dim, keepdims=keepdim)
        assert got.dtype == lucid.bool
        np.testing.assert_array_equal(got.numpy(), want, err_msg=name)
        np.testing.assert_array_equal(getattr(lucid, name)(t, dim, keepdim).numpy(), want)


def test_any_all_of_nothing():
    empty = lucid.zeros(0, 3)
    assert not bool(empty.any())
    assert bool(empty.all())
    np.testing.assert_array_equal(empty.any(0).numpy(), [False] * 3)
    np.testing.assert_array_equal(empty.all(0).numpy(), [True] * 3)
    assert bool(lucid.tensor(2.0).all()) and not bool(lucid.tensor(0.0).any())


def test_any_all_carry_no_graph():
    x = lucid.tensor([1.0, 0.0], requires_grad=True)
    assert not x.any().requires_grad


def test_cross_values_and_broadcasting():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 1, 3))
    np.testing.assert_allclose(lucid.linalg.cross(lucid.tensor(a), lucid.tensor(b)).numpy(), np.cross(a, b), rtol=1e-14)
    np.testing.assert_allclose(lucid.cross(lucid.tensor(a.T), lucid.tensor(a.T), dim=0).numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("a,b", [((4,), (4,)), ((3, 1), (3, 3)), ((1,), (3,))])
def test_cross_needs_size_three_in_both(a, b):
    with pytest.raises(ValueError, match=r"cross: dim -1 must have size 3 in both inputs, got shapes"):
        lucid.cross(lucid.ones(*a), lucid.ones(*b))


def test_cross_argument_types():
    with pytest.raises(TypeError, match="cross"):
        lucid.ones(3).cross([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match="cross"):
        lucid.ones(3).cross(lucid.ones(3), dim=1)


@pytest.mark.parametrize("ord", [1, 2, 3.5, float("inf"), float("-inf")])
def test_vector_norm_matches_numpy(ord):
    x = np.random.default_rng(1).normal(size=(3, 5))
    got = lucid.linalg.vector_norm(lucid.tensor(x), ord, dim=1, keepdim=True)
    np.testing.assert_allclose(got.numpy(), np.linalg.norm(x, ord, axis=1, keepdims=True), rtol=1e-13)


@pytest.mark.parametrize("ord", ["fro", 1, -1, float("inf"), float("-inf")])
@pytest.mark.parametrize("dim", [(-2, -1), (0, 2), (2, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_matches_numpy(ord, dim, keepdim):
    a = np.random.default_rng(2).normal(size=(3, 4, 5))
    got = lucid.linalg.matrix_norm(lucid.tensor(a), ord, dim, keepdim)
    want = np.linalg.norm(a, ord, axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-13)


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
@pytest.mark.parametrize("dim,keepdim", [((-2, -1), False), ((0, 2), True), ((2, 1), False)])
def test_matrix_norms_from_singular_values(ord, dim, keepdim):
    a = np.random.default_rng(5).normal(size=(3, 4, 5))
    got = lucid.linalg.matrix_norm(lucid.tensor(a), ord, dim=dim, keepdim=keepdim)
    want = np.linalg.norm(a, ord, axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    # the gradient of the nuclear norm of a full-rank matrix is U Vh
    if ord == "nuc" and dim == (-2, -1):
        x = lucid.tensor(a[0], requires_grad=True)
        lucid.linalg.matrix_norm(x, "nuc").backward()
        u, _, vh = np.linalg.svd(a[0], full_matrices=False)
        np.testing.assert_allclose(x.grad.numpy(), u @ vh, atol=1e-12)


def test_linalg_norm_dispatch():
    a = np.random.default_rng(3).normal(size=(4, 5))
    t = lucid.tensor(a)
    np.testing.assert_allclose(lucid.linalg.norm(t).numpy(), np.linalg.norm(a), rtol=1e-13)
    np.testing.assert_allclose(lucid.linalg.norm(t, 1).numpy(), np.linalg.norm(a, 1), rtol=1e-13)
    np.testing.assert_allclose(lucid.linalg.norm(t, 3, dim=1).numpy(), np.linalg.norm(a, 3, axis=1), rtol=1e-13)
    np.testing.assert_allclose(lucid.linalg.norm(t[0], float("inf")).numpy(), np.linalg.norm(a[0], np.inf), rtol=1e-13)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: lucid.linalg.matrix_norm(lucid.ones(3, 3), "spectral"), ValueError, "'fro', 'nuc', 1, -1, 2, -2, inf or -inf"),
    (lambda: lucid.linalg.matrix_norm(lucid.ones(3, 3), 3), ValueError, "ord=3 is not supported"),
    (lambda: lucid.linalg.matrix_norm(lucid.ones(3), "fro"), ValueError, "at least 2 dims"),
    (lambda: lucid.linalg.matrix_norm(lucid.ones(3, 3), "fro", dim=(0, 0)), ValueError, "two distinct dims"),
    (lambda: lucid.linalg.matrix_norm(lucid.ones(3, 3), "fro", dim=0), TypeError, "pair of ints"),
    (lambda: lucid.linalg.vector_norm(lucid.ones(3), 0.5), ValueError, "norm"),
    (lambda: lucid.linalg.vector_norm(lucid.ones(3), "fro"), ValueError, "vector_norm"),
    (lambda: lucid.linalg.norm(lucid.ones(2, 2, 2), 1), ValueError, "norm"),
    (lambda: lucid.linalg.norm([1.0, 2.0]), TypeError, "norm"),
])
def test_norm_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("dim", [-1, 0, 1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort_match_numpy_stable(dim, descending):
    a = np.random.default_rng(5).integers(0, 4, size=(3, 6, 2)).astype(np.float64)  # many ties
    key = -a if descending else a
    want = np.argsort(key, axis=dim, kind="stable")
    got = lucid.tensor(a).argsort(dim, descending=descending)
    assert got.dtype == lucid.int64
    np.testing.assert_array_equal(got.numpy(), want)
    values, indices = lucid.sort(lucid.tensor(a), dim, descending)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(a, want, axis=dim))
    np.testing.assert_array_equal(indices.numpy(), want)


def test_sort_puts_nan_above_every_number():
    a = np.array([2.0, NAN, -np.inf, 1.0, NAN, np.inf])
    np.testing.assert_array_equal(lucid.tensor(a).argsort().numpy(), [2, 3, 0, 5, 1, 4])
    np.testing.assert_array_equal(lucid.tensor(a).argsort(descending=True).numpy(), [1, 4, 5, 0, 3, 2])


def test_sort_integers_bools_and_scalars():
    big = np.array([2 ** 62 + 1, 2 ** 62, -5], dtype=np.int64)  # equal as float64
    np.testing.assert_array_equal(lucid.tensor(big).argsort().numpy(), [2, 1, 0])
    np.testing.assert_array_equal(lucid.tensor([True, False, True]).argsort().numpy(), [1, 0, 2])
    v, i = lucid.tensor(3.0).sort()
    assert float(v) == 3.0 and int(i) == 0
    with pytest.raises(IndexError, match="sort"):
        lucid.ones(2, 3).sort(dim=2)


def test_sort_values_carry_the_gradient_to_where_they_came_from():
    x = lucid.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, _ = x.sort()
    (values * lucid.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 1.0, 10.0])
