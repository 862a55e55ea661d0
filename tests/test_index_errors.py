"""Indexing family: every error path (exception type and message), plus the semantics
the conformance table cannot express: ``__getitem__``/``__setitem__`` against NumPy
for many keys (and a hypothesis property over random keys), gradients of repeated
reads, tuples of views from split/chunk, and dtypes kept by integer/bool indexing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lucid


def _i(v):
    return lucid.tensor(np.asarray(v, dtype=np.int64))


X_NP = np.arange(6.0).reshape(2, 3)


@pytest.fixture
def x():
    return lucid.tensor(X_NP)


# ---- error paths ------------------------------------------------------------------------

ERRORS = [
    # __getitem__
    ("getitem out of range (list)", lambda x: x[[0, 2]], IndexError, "index 2 is out of bounds for dim 0 with size 2"),
    ("getitem out of range (negative)", lambda x: x[:, _i([-4])], IndexError, "index -4 is out of bounds for dim 1 with size 3"),
    ("getitem float tensor", lambda x: x[lucid.tensor([0.5])], IndexError, "must be int64 or bool"),
    ("getitem float ndarray", lambda x: x[np.array([0.5])], IndexError, "integer or bool type"),
    ("getitem float list", lambda x: x[[0.5, 1.0]], IndexError, "integer or bool type"),
    ("getitem mask shape", lambda x: x[lucid.tensor([True, False, True])], IndexError, "does not match the shape [2]"),
    ("getitem mask too many dims", lambda x: x[:, np.ones((3, 1), bool)], IndexError, "too many indices"),
    ("getitem broadcast", lambda x: x[[0, 1], [0, 1, 2]], IndexError, "could not be broadcast together with shapes [2], [3]"),
    ("getitem too many", lambda x: x[[0], 0, 0], IndexError, "too many indices for tensor of dimension 2"),
    ("getitem two ellipses", lambda x: x[..., [0], ...], IndexError, "single ellipsis"),
    ("getitem str", lambda x: x["a"], IndexError, "valid indices"),
    # gather / index_select
    ("gather float index", lambda x: x.gather(1, lucid.tensor([[0.0]])), TypeError, "index must be an int64 tensor, got float32"),
    ("gather out of range", lambda x: x.gather(1, _i([[3]])), IndexError, "index 3 is out of bounds for dim 1 with size 3"),
    ("gather negative", lambda x: x.gather(1, _i([[-1]])), IndexError, "index -1 is out of bounds"),
    ("gather rank", lambda x: x.gather(1, _i([0])), ValueError, "index has 1 dims but the input has 2"),
    ("gather index too large", lambda x: x.gather(1, _i([[0], [0], [0]])), ValueError, "larger than the input"),
    ("gather dim", lambda x: lucid.gather(x, 2, _i([[0]])), IndexError, "dim 2 is out of range"),
    ("index_select 2-d", lambda x: x.index_select(0, _i([[0]])), ValueError, "index must be 1-d"),
    ("index_select out of range", lambda x: x.index_select(1, _i([3])), IndexError, "index 3 is out of bounds for dim 1 with size 3"),
    ("index_select bad index type", lambda x: x.index_select(1, "a"), TypeError, "expected a tensor, list or array of indices, got str"),
    # scatter family
    ("scatter_add dtype", lambda x: x.scatter_add(1, _i([[0]]), lucid.tensor([[1.0]])), TypeError, "expected src to have the dtype of the input (float64), got float32"),
    ("scatter_add small src", lambda x: x.scatter_add(1, _i([[0, 1]]), lucid.tensor([[1.0]], dtype=lucid.float64)), ValueError, "smaller than the index"),
    ("scatter_add src type", lambda x: x.scatter_add(1, _i([[0]]), 1.0), TypeError, "src must be a Tensor"),
    ("scatter_add out of range", lambda x: x.scatter_add(0, _i([[2]]), x), IndexError, "index 2 is out of bounds for dim 0 with size 2"),
    ("scatter no src", lambda x: x.scatter(1, _i([[0]])), TypeError, "exactly one of src and value"),
    ("index_put shape", lambda x: x.index_put((_i([0]),), lucid.tensor([1.0, 2.0], dtype=lucid.float64)), ValueError, "cannot be broadcast to the indexed shape [1, 3]"),
    ("index_put dtype", lambda x: x.index_put((_i([0]),), lucid.tensor([1.0, 2.0, 3.0])), TypeError, "expected values to have the dtype"),
    ("index_put out of range", lambda x: x.index_put((_i([5]),), lucid.tensor(0.0, dtype=lucid.float64)), IndexError, "index 5 is out of bounds for dim 0 with size 2"),
    # split / chunk / roll / repeat / tile / flip
    ("split zero", lambda x: x.split(0, 1), ValueError, "split_size can only be 0 if the dim size is 0"),
    ("split negative", lambda x: x.split(-1, 1), ValueError, "non-negative"),
    ("split sections", lambda x: lucid.split(x, [1, 1], 1), ValueError, "must sum to the size 3 of dim 1"),
    ("split dim", lambda x: x.split(1, 2), IndexError, "dim 2 is out of range"),
    ("chunk zero", lambda x: x.chunk(0), ValueError, "chunks must be greater than 0"),
    ("chunk 0-d", lambda x: lucid.tensor(1.0).chunk(1), ValueError, "at least 1 dim"),
    ("roll mismatch", lambda x: x.roll((1, 2), 0), ValueError, "shifts and dims must have the same length"),
    ("roll flat tuple", lambda x: x.roll((1, 2)), ValueError, "shifts must be a single int"),
    ("roll dim", lambda x: x.roll(1, 5), IndexError, "dim 5 is out of range"),
    ("repeat too few", lambda x: x.repeat(2), ValueError, "can not be smaller than the number of dims"),
    ("repeat negative", lambda x: x.repeat(2, -1), ValueError, "non-negative"),
    ("repeat type", lambda x: x.repeat("a"), TypeError, "repeat: sizes must be ints or a tuple of ints, got str"),
    ("tile negative", lambda x: lucid.tile(x, (-1,)), ValueError, "non-negative"),
    ("flip duplicate", lambda x: x.flip(0, 0), ValueError, "appears more than once"),
    ("flip dim", lambda x: lucid.flip(x, (2,)), IndexError, "dim 2 is out of range"),
]


@pytest.mark.parametrize("name,fn,exc,fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_paths(x, name, fn, exc, fragment):
    with pytest.raises(exc) as info:
        fn(x)
    assert fragment in str(info.value)


def test_setitem_on_a_tensor_requiring_grad_raises(x):
    y = lucid.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        y[[0]] = 0.0
    with pytest.raises(RuntimeError, match="requires grad"):
        y[y > 1] = 0.0


def test_setitem_errors(x):
    with pytest.raises(ValueError, match=r"cannot be broadcast to the indexed shape \[2, 3\]"):
        x[[0, 1]] = lucid.tensor([1.0, 2.0], dtype=lucid.float64)
    with pytest.raises(IndexError, match="index 7 is out of bounds for dim 1 with size 3"):
        x[:, [7]] = 0.0
    with pytest.raises(IndexError, match="does not match"):
        x[np.ones(3, bool)] = 0.0


# ---- __getitem__ semantics against NumPy ------------------------------------------------

A = np.arange(24.0).reshape(2, 3, 4)
KEYS = [
    ([1, 0],),
    (np.array([[1], [0]]),),
    (slice(None), [0, 2]),
    (slice(None, None, -1), [2, 2, 0]),
    ([0, 1], slice(None), [1, 2]),       # separated: the index dims go first
    (0, slice(None), [1, 2]),            # an int counts as an advanced index
    (slice(None), 0, [1, 2]),            # adjacent int and list: the dims stay in place
    (Ellipsis, [1, 3], None),
    ([1], None, [2]),                    # None between index arrays separates them
    ([[0], [1]], [0, 2]),                # broadcast pair
    (A > 5,),                            # mask over every dim
    (A[:, :, 0] > 5,),                   # mask over the leading dims
    (slice(None), A[0] > 5),             # mask over trailing dims after a slice
    (True,),                             # a 0-d mask adds a dim of length 1
    (False,),
    (np.array(True), [0, 1]),
    ([],),
    (np.array([1, -1], dtype=np.int32),),
    ([-1, -2], [-3, 0], [-1, 3]),
]


@pytest.mark.parametrize("key", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_getitem_matches_numpy(key):
    t = lucid.tensor(A)
    lkey = tuple(lucid.tensor(k) if isinstance(k, np.ndarray) and k.dtype == bool and k.ndim > 0 else k for k in key)
    out = t[lkey if len(lkey) > 1 else lkey[0]]
    expected = A[key if len(key) > 1 else key[0]]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


def test_getitem_keeps_integer_and_bool_dtypes():
    ints = lucid.tensor([[1, 2, 3], [4, 5, 6]])
    assert ints[[1, 0]].dtype == lucid.int64
    np.testing.assert_array_equal(ints[ints > 2].numpy(), [3, 4, 5, 6])
    flags = lucid.tensor([True, False, True])
    assert flags[[2, 1]].tolist() == [True, False]


def test_gradient_of_repeated_reads_counts_them():
    # y = sum(x[[0, 0, 2]]) + sum(x[x > 1]): dy/dx = [2, 0, 1] + [0, 0, 1]
    x = lucid.tensor([0.5, 1.0, 3.0], dtype=lucid.float64, requires_grad=True)
    y = x[[0, 0, 2]].sum() + x[x > 1].sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 2.0])
    assert x[[0]].grad_fn == "gather"


def test_split_and_chunk_return_tuples_of_views():
    x = lucid.tensor(np.arange(10.0))
    parts = x.split(4)
    assert isinstance(parts, tuple) and [p.shape for p in parts] == [(4,), (4,), (2,)]
    assert [p.shape[0] for p in lucid.chunk(x, 3)] == [4, 4, 2]
    assert [p.shape[0] for p in x.chunk(6)] == [2, 2, 2, 2, 2]
    assert [p.shape for p in lucid.tensor(np.zeros((0, 2))).chunk(3)] == [(0, 2)] * 3
    np.testing.assert_array_equal(lucid.split(x, (3, 7))[1].numpy(), np.arange(3.0, 10.0))


def test_flip_roll_repeat_tile_match_numpy():
    a = np.arange(12.0).reshape(3, 4)
    t = lucid.tensor(a)
    np.testing.assert_array_equal(t.flip(0, 1).numpy(), np.flip(a, (0, 1)))
    np.testing.assert_array_equal(lucid.flip(t, dims=[1]).numpy(), np.flip(a, 1))
    np.testing.assert_array_equal(t.roll(-5).numpy(), np.roll(a, -5))
    np.testing.assert_array_equal(t.roll(shifts=(1, -1), dims=(0, 1)).numpy(), np.roll(a, (1, -1), (0, 1)))
    np.testing.assert_array_equal(t.repeat(2, 1, 3).numpy(), np.tile(a, (2, 1, 3)))
    np.testing.assert_array_equal(t.repeat((1, 0)).numpy(), np.tile(a, (1, 0)))
    np.testing.assert_array_equal(lucid.tile(t, (2,)).numpy(), np.tile(a, 2))


# ---- __setitem__ semantics --------------------------------------------------------------

def test_setitem_with_mask_list_and_tensor_indices():
    a = np.arange(12.0).reshape(3, 4)
    t = lucid.tensor(a)
    t[t > 8] = 0.0
    a[a > 8] = 0.0
    t[[0, 2], 1] = lucid.tensor([-1.0, -2.0], dtype=lucid.float64)
    a[[0, 2], 1] = [-1.0, -2.0]
    t[:, _i([-1])] = 7
    a[:, [-1]] = 7
    t[np.array([1]), 0] = 5.5
    a[np.array([1]), 0] = 5.5
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.dtype == lucid.float64


def test_setitem_repeated_positions_take_the_last_value():
    t = lucid.zeros(3)
    t[[1, 1, 1]] = lucid.tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [0.0, 3.0, 0.0]


def test_setitem_reaches_views_and_leaves_copies_alone():
    base = lucid.tensor([1.0, 2.0, 3.0])
    view = base[:2]  # basic indexing: a view
    copy = base[[0, 1]]  # advanced indexing: a copy
    base[[0]] = 9.0
    assert view.tolist() == [9.0, 2.0]
    assert copy.tolist() == [1.0, 2.0]
    assert base.tolist() == [9.0, 2.0, 3.0]


def test_index_put_and_scatter_are_out_of_place():
    x = lucid.zeros(4, dtype=lucid.float64)
    v = lucid.tensor([1.0, 2.0], dtype=lucid.float64)
    assert lucid.index_put(x, (_i([3, 3]),), v, accumulate=True).tolist() == [0.0, 0.0, 0.0, 3.0]
    assert x.index_put((_i([0, 2]),), v).tolist() == [1.0, 0.0, 2.0, 0.0]
    assert x.scatter(0, _i([1, 2]), v).tolist() == [0.0, 1.0, 2.0, 0.0]
    assert x.scatter(0, _i([1, 2]), value=5).tolist() == [0.0, 5.0, 5.0, 0.0]
    assert x.tolist() == [0.0] * 4
    m = lucid.zeros(2, 3, dtype=lucid.float64)
    rows = lucid.tensor([1.0, 2.0], dtype=lucid.float64)
    assert m.index_put([_i([0, 1]), _i([2, 0])], rows).tolist() == [[0.0, 0.0, 1.0], [2.0, 0.0, 0.0]]
    assert m.index_put((slice(None), 1), rows).tolist() == [[0.0, 1.0, 0.0], [0.0, 2.0, 0.0]]
    assert m.index_put((m == 0,), lucid.tensor(4.0, dtype=lucid.float64)).tolist() == [[4.0] * 3] * 2


# ---- property: random keys against NumPy, values and gradients ---------------------------

@st.composite
def keys(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    n_arr = draw(st.integers(1, 3))  # length of every index array (so they broadcast)
    use_mask = draw(st.booleans())
    key = []
    mask_used = False
    for n in shape:
        kind = draw(st.sampled_from(["slice", "int", "array", "mask", "none"]))
        if kind == "none":
            key.append(None)
            kind = "slice"
        if kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            step = draw(st.sampled_from([None, 1, 2, -1, -2]))
            key.append(slice(start, stop, step))
        elif kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "mask" and use_mask and not mask_used:
            mask_used = True
            key.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        else:
            key.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=n_arr, max_size=n_arr))))
    n_adv = sum(isinstance(k, np.ndarray) for k in key)
    if mask_used and n_adv > 1:  # a mask must broadcast with the arrays: keep it alone
        key = [k if not isinstance(k, np.ndarray) or k.dtype == bool else slice(None) for k in key]
    return shape, tuple(key)


@settings(max_examples=150, deadline=None)
@given(keys())
def test_random_keys_match_numpy_in_value_and_gradient(case):
    shape, key = case
    a = np.arange(float(np.prod(shape))).reshape(shape)
    x = lucid.tensor(a, requires_grad=True)
    out = x[key]
    expected = a[key]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)
    # d sum(x[key]) / dx counts how often each element is read
    (g,) = lucid.autograd.grad(out.sum() * 1.0, x, allow_unused=True) if out.numel() else (None,)
    counts = np.zeros(shape)
    np.add.at(counts, key, 1.0)
    np.testing.assert_array_equal(g.numpy() if g is not None else np.zeros(shape), counts)
