"""Conformance entries for the shape and indexing family: flip, roll, repeat/tile,
split/chunk, index_select, gather, scatter_add, scatter, index_put and advanced
``__getitem__`` (int tensors, lists, NumPy arrays, bool masks).

Index tensors are constants built here; the differentiated inputs are the data. Cases
ending in ``_sq`` square (or multiply) the result so the second-derivative check sees a
nonzero Hessian through the gather/scatter rules; the plain cases are linear and check
that the rules run under ``create_graph``.
"""

import numpy as np

import lucid

from . import OpCase


def _i(values):
    return lucid.tensor(np.asarray(values, dtype=np.int64))


def _scatter_ref(x, dim, index, src, accumulate):
    """PyTorch's scatter/scatter_add semantics on NumPy arrays (the last write wins)."""
    out = np.array(x, dtype=np.float64, copy=True)
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[dim] = index[pos]
        if accumulate:
            out[tuple(target)] += src[pos]
        else:
            out[tuple(target)] = src[pos]
    return out


def _index_put_ref(x, key, v, accumulate):
    out = np.array(x, dtype=np.float64, copy=True)
    if accumulate:
        np.add.at(out, key, v)
    else:
        out[key] = v
    return out


def _pieces(parts):
    """Weight piece i by i + 1 and join them, so every piece shows up in the output."""
    return parts[0] * 1.0 if len(parts) == 1 else lucid.cat([p * float(i + 1) for i, p in enumerate(parts)], -1)


def _np_pieces(parts):
    return np.concatenate([p * float(i + 1) for i, p in enumerate(parts)], -1)


G_IDX = np.array([[0, 2, 2], [1, 0, 0]])          # gather along dim 1 of (2, 3) → (2, 3)
G_IDX0 = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]])  # gather along dim 0 of (2, 3) → (3, 3)
S_IDX = np.array([[2, 0], [1, 2]])                # scatter along dim 1, no repeats per row
SA_IDX = np.array([[0, 0, 2], [1, 1, 1]])         # scatter_add along dim 1, with repeats
MASK23 = np.array([[True, False, True], [False, True, True]])
MASK2 = np.array([True, False, True])

CASES = [
    # ---- flip / roll / repeat / tile ------------------------------------------------------
    OpCase("flip", lambda x: x.flip(0), lambda x: np.flip(x, 0), [((3,),), ((2, 3),)]),
    OpCase("flip_dims", lambda x: lucid.flip(x, (0, -1)), lambda x: np.flip(x, (0, -1)), [((2, 3, 2),)]),
    OpCase("roll", lambda x: x.roll(1, 1), lambda x: np.roll(x, 1, 1), [((2, 3),)]),
    OpCase("roll_dims", lambda x: lucid.roll(x, (-1, 4), (0, 1)), lambda x: np.roll(x, (-1, 4), (0, 1)), [((2, 3),), ((3, 2, 2),)]),
    OpCase("roll_flat", lambda x: x.roll(2), lambda x: np.roll(x, 2), [((2, 3),), ((),)]),
    OpCase("repeat", lambda x: x.repeat(2, 1, 2), lambda x: np.tile(x, (2, 1, 2)), [((2, 3),), ((3,),), ((),)]),
    OpCase("repeat_sq", lambda x: x.repeat(2, 3) ** 2, lambda x: np.tile(x, (2, 3)) ** 2, [((2, 1),)]),
    OpCase("tile", lambda x: lucid.tile(x, (2,)), lambda x: np.tile(x, (2,)), [((2, 3),), ((3,),)]),
    # ---- split / chunk --------------------------------------------------------------------
    OpCase("split_int", lambda x: _pieces(x.split(2, -1)), lambda x: _np_pieces(np.split(x, [2, 4], -1)), [((2, 5),), ((5,),)]),
    OpCase("split_sections", lambda x: _pieces(lucid.split(x, [1, 3], dim=-1)), lambda x: _np_pieces(np.split(x, [1], -1)), [((2, 4),)]),
    OpCase("split_dim0_piece", lambda x: x.split(1)[1], lambda x: x[1:2], [((3, 2),)]),
    OpCase("chunk", lambda x: _pieces(x.chunk(3, -1)), lambda x: _np_pieces(np.split(x, [2, 4], -1)), [((2, 5),), ((6,),)]),
    OpCase("chunk_dim0", lambda x: lucid.chunk(x, 2)[0] * lucid.chunk(x, 2)[1], lambda x: x[:2] * x[2:], [((4, 3),)]),
    # ---- index_select / gather ------------------------------------------------------------
    OpCase("index_select", lambda x: x.index_select(1, _i([2, 0, 2, 1])), lambda x: np.take(x, [2, 0, 2, 1], 1), [((2, 3),), ((2, 3, 2),)]),
    OpCase("index_select_sq", lambda x: lucid.index_select(x, 0, _i([1, 1, 0])) ** 2, lambda x: np.take(x, [1, 1, 0], 0) ** 2, [((2, 3),)]),
    OpCase("gather", lambda x: x.gather(1, _i(G_IDX)), lambda x: np.take_along_axis(x, G_IDX, 1), [((2, 3),)]),
    OpCase("gather_dim0_sq", lambda x: lucid.gather(x, 0, _i(G_IDX0)) ** 2, lambda x: np.take_along_axis(x, G_IDX0, 0) ** 2, [((2, 3),)]),
    OpCase("gather_small_index", lambda x: x.gather(-1, _i([[1], [0]])), lambda x: np.take_along_axis(x, np.array([[1], [0]]), -1), [((2, 3),)]),
    OpCase("gather_0d", lambda x: x.gather(0, _i(0)) * x, lambda x: x * x, [((),)]),
    # ---- scatter_add / scatter / index_put ------------------------------------------------
    OpCase("scatter_add", lambda x, s: x.scatter_add(1, _i(SA_IDX), s), lambda x, s: _scatter_ref(x, 1, SA_IDX, s, True), [((2, 3), (2, 3))]),
    OpCase("scatter_add_sq", lambda x, s: lucid.scatter_add(x, 1, _i(SA_IDX), s) ** 2, lambda x, s: _scatter_ref(x, 1, SA_IDX, s, True) ** 2, [((2, 3), (2, 3))]),
    OpCase("scatter_add_big_src", lambda x, s: x.scatter_add(0, _i([[1, 0]]), s), lambda x, s: _scatter_ref(x, 0, np.array([[1, 0]]), s, True), [((2, 2), (2, 3))]),
    OpCase("scatter", lambda x, s: x.scatter(1, _i(S_IDX), s), lambda x, s: _scatter_ref(x, 1, S_IDX, s, False), [((2, 3), (2, 2))]),
    OpCase("scatter_sq", lambda x, s: lucid.scatter(x, 1, _i(S_IDX), s) * x, lambda x, s: _scatter_ref(x, 1, S_IDX, s, False) * x, [((2, 3), (2, 2))]),
    OpCase("scatter_repeats", lambda x, s: x.scatter(0, _i([1, 1, 0]), s), lambda x, s: _scatter_ref(x, 0, np.array([1, 1, 0]), s, False), [((3,), (3,))]),
    OpCase("scatter_value", lambda x: x.scatter(1, _i(S_IDX), value=0.5) * x, lambda x: _scatter_ref(x, 1, S_IDX, np.full((2, 2), 0.5), False) * x, [((2, 3),)]),
    OpCase("index_put", lambda x, v: x.index_put((_i([0, 2]),), v), lambda x, v: _index_put_ref(x, ([0, 2],), v, False), [((3, 2), (2, 2)), ((3, 2), (2,)), ((3, 2), ())]),
    OpCase("index_put_accumulate_sq", lambda x, v: lucid.index_put(x, (_i([1, 1, 0]),), v, accumulate=True) ** 2,
           lambda x, v: _index_put_ref(x, ([1, 1, 0],), v, True) ** 2, [((3,), (3,))]),
    OpCase("index_put_pairs", lambda x, v: x.index_put((_i([0, 1]), _i([2, 0])), v, True), lambda x, v: _index_put_ref(x, ([0, 1], [2, 0]), v, True), [((2, 3), (2,))]),
    OpCase("index_put_mask", lambda x, v: x.index_put((lucid.tensor(MASK23),), v), lambda x, v: _index_put_ref(x, (MASK23,), v, False), [((2, 3), (4,))]),
    # ---- advanced __getitem__ -------------------------------------------------------------
    OpCase("getitem_list", lambda x: x[[2, 0, -1]], lambda x: x[[2, 0, -1]], [((3,),), ((3, 2),)]),
    OpCase("getitem_tensor_sq", lambda x: x[_i([1, 1, 0])] * x[_i([0, 2, 2])], lambda x: x[[1, 1, 0]] * x[[0, 2, 2]], [((3,),), ((3, 2),)]),
    OpCase("getitem_ndarray_2d", lambda x: x[np.array([[0, 1], [1, 1]])], lambda x: x[np.array([[0, 1], [1, 1]])], [((2, 3),)]),
    OpCase("getitem_slice_then_tensor", lambda x: x[1:, _i([2, 0])], lambda x: x[1:, [2, 0]], [((3, 3),)]),
    OpCase("getitem_ellipsis_tensor", lambda x: x[..., _i([-1, 0])], lambda x: x[..., [-1, 0]], [((2, 2, 3),)]),
    OpCase("getitem_int_and_list", lambda x: x[1, [2, 0]], lambda x: x[1, [2, 0]], [((2, 3),)]),
    OpCase("getitem_pairs", lambda x: x[[0, 1, 1], [2, 0, 2]], lambda x: x[[0, 1, 1], [2, 0, 2]], [((2, 3),)]),
    OpCase("getitem_broadcast_pairs", lambda x: x[_i([[0], [1]]), _i([2, 0, 1])], lambda x: x[np.array([[0], [1]]), np.array([2, 0, 1])], [((2, 3),), ((2, 3, 2),)]),
    OpCase("getitem_separated", lambda x: x[[0, 1], :, [1, 0]], lambda x: x[[0, 1], :, [1, 0]], [((2, 3, 2),)]),
    OpCase("getitem_newaxis_tensor", lambda x: x[None, :, [1]], lambda x: x[None, :, [1]], [((2, 3),)]),
    OpCase("getitem_mask", lambda x: x[lucid.tensor(MASK23)], lambda x: x[MASK23], [((2, 3),)]),
    OpCase("getitem_mask_leading_sq", lambda x: x[MASK2] ** 2, lambda x: x[MASK2] ** 2, [((3,),), ((3, 2),)]),
    OpCase("getitem_mask_middle", lambda x: x[:, lucid.tensor(MASK23)], lambda x: x[:, MASK23], [((2, 2, 3),)]),
]
