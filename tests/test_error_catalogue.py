"""A catalogue of bad inputs across the public API (issue 18): each raises the exception a
PyTorch or NumPy user expects, with a message that names the op, the argument and what
was given, never pyo3's or ndarray's own words ("cannot be converted to 'PyBool'",
"argument 'x': ...", "ShapeError/Overflow", a bare "int too big to convert").

What the other files already hold, and this one does not repeat:

- tests/test_errors.py: broadcast and matmul shapes, reshape/permute/expand/cat/stack
  basics, constructor sizes and dtypes, operand types, autograd graph state, basic
  index and dim range errors;
- tests/test_index_errors.py: advanced indexing, gather/scatter/index_put, split and
  chunk basics, flip/roll/repeat/tile;
- tests/test_linalg_errors.py and tests/test_math_errors.py: each linalg and math op's
  shapes, dtypes and parameters;
- tests/test_dim_args.py: `dim` arguments given as bools, floats, tuples, None;
- tests/test_reliability.py: impossible allocations, ints at the ends of int64 in sizes,
  offsets and indices, and a sweep of edge ints through every method;
- tests/test_jacobian_contract.py: the Jacobian family's inputs and outputs.

Here: ints past int64 (2**63, 2**64, -2**63 - 1) in every kind of int argument (dims,
offsets, counts, sizes, decimals, tape and functional options); NaN, inf, None, str and
lists where ints, bools or numbers go; flags (`keepdim`, `descending`, `upper`, ...)
given as non-bools; ops built on others naming the op the user called; dtype misuse;
and the functional and tape APIs given junk.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import lucid
from lucid.autograd import functional as F

NAN, INF = float("nan"), float("inf")


def x23():
    return lucid.ones(2, 3)


def v3():
    return lucid.ones(3)


def sq(t):
    return t * t


def total(t):
    return t.sum()


def tape():
    return lucid.tape(sq, v3())


def catalogue(*cases):
    return pytest.mark.parametrize("fn, exc, pattern", [c[1:] for c in cases], ids=[c[0] for c in cases])


def check(fn, exc, pattern):
    try:
        fn()
    except BaseException as err:  # noqa: B036 - a PanicException is what this looks for
        assert isinstance(err, Exception) and "Panic" not in type(err).__name__, f"{type(err).__name__}: {err}"
        assert type(err) is exc or isinstance(err, exc), f"expected {exc.__name__}, got {type(err).__name__}: {err}"
        assert re.search(pattern, str(err)), f"{str(err)!r} does not match {pattern!r}"
        return
    pytest.fail(f"no {exc.__name__} raised")


# ---- ints past int64 in int arguments ----------------------------------------------------------
# Issue 18's examples: `x[2**63]`, `sum(dim=2**64)` said "... got int" when given an int;
# `cat(dim=2**63)`, `round(decimals=2**40)` and `chunk(2**64)` raised a bare OverflowError
# naming no op. An index or dim past int64 is out of range (IndexError); a count, offset
# or decimals past int64 is an OverflowError naming the op; a size is a ValueError.

HUGE_INTS = [
    ("index 2**63 of a matrix row", lambda: x23()[0, 2 ** 63], IndexError, r"index: index 9223372036854775808 is out of bounds"),
    ("index 2**64", lambda: v3()[2 ** 64], IndexError, r"index: index 18446744073709551616 is out of bounds"),
    ("index list 2**63", lambda: x23()[[2 ** 63]], IndexError, r"index: index 9223372036854775808 is out of the int64 range"),
    ("index uint64 array", lambda: x23()[np.array([2 ** 63], dtype=np.uint64)], IndexError,
     r"index: index 9223372036854775808 is out of the int64 range"),
    ("index list 2**64", lambda: x23()[[2 ** 64]], TypeError,
     r"index: expected a tensor, list or array of indices, got list of NumPy dtype object \(indices are ints in the int64 range"),
    ("index_select uint64", lambda: x23().index_select(0, np.array([2 ** 63], dtype=np.uint64)), IndexError,
     r"index_select: index 9223372036854775808 is out of the int64 range"),
    ("index_select list 2**64", lambda: x23().index_select(0, [2 ** 64]), TypeError,
     r"index_select: expected a tensor, list or array of indices, got list of NumPy dtype object"),
    ("sum dim 2**63", lambda: x23().sum(dim=2 ** 63), IndexError, r"sum: dim 9223372036854775808 is out of range"),
    ("sum dim tuple 2**64", lambda: x23().sum(dim=(0, 2 ** 64)), IndexError, r"sum: dim\[1\] 18446744073709551616 is out of range"),
    ("mean dim 2**64", lambda: x23().mean(dim=2 ** 64), IndexError, r"mean: dim 18446744073709551616 is out of range"),
    ("amin dim 2**64", lambda: x23().amin(dim=2 ** 64), IndexError, r"amin: dim 18446744073709551616 is out of range"),
    ("any dim 2**64", lambda: x23().any(dim=2 ** 64), IndexError, r"any: dim 18446744073709551616 is out of range"),
    ("norm dim 2**64", lambda: x23().norm(dim=2 ** 64), IndexError, r"norm: dim 18446744073709551616 is out of range"),
    ("argmax dim 2**64", lambda: v3().argmax(dim=2 ** 64), IndexError, r"argmax: dim 18446744073709551616 is out of range"),
    ("max dim 2**64", lambda: v3().max(dim=2 ** 64), IndexError, r"max: dim 18446744073709551616 is out of range"),
    ("cumprod dim 2**63", lambda: x23().cumprod(dim=2 ** 63), IndexError, r"cumprod: dim 9223372036854775808 is out of range"),
    ("softmax dim 2**64", lambda: v3().softmax(2 ** 64), IndexError, r"softmax: dim 18446744073709551616 is out of range"),
    ("sort dim 2**64", lambda: v3().sort(dim=2 ** 64), IndexError, r"sort: dim 18446744073709551616 is out of range"),
    ("cat dim 2**63", lambda: lucid.cat([v3(), v3()], dim=2 ** 63), IndexError, r"cat: dim 9223372036854775808 is out of range"),
    ("cat dim -2**63", lambda: lucid.cat([v3(), v3()], dim=-2 ** 63), IndexError,
     r"cat: dim -9223372036854775808 is out of range for a tensor with 1 dims"),
    ("stack dim -2**64", lambda: lucid.stack([v3(), v3()], dim=-2 ** 64), IndexError, r"stack: dim -18446744073709551616 is out of range"),
    ("transpose dim0 2**63", lambda: x23().transpose(2 ** 63, 0), IndexError, r"transpose: dim0 9223372036854775808 is out of range"),
    ("permute 2**64", lambda: x23().permute(2 ** 64, 0), IndexError, r"permute: dims\[0\] 18446744073709551616 is out of range"),
    ("unsqueeze 2**63", lambda: v3().unsqueeze(2 ** 63), IndexError, r"unsqueeze: dim 9223372036854775808 is out of range"),
    ("squeeze 2**64", lambda: v3().squeeze(2 ** 64), IndexError, r"squeeze: dim 18446744073709551616 is out of range"),
    ("flatten end_dim 2**64", lambda: x23().flatten(0, 2 ** 64), IndexError, r"flatten: end_dim 18446744073709551616 is out of range"),
    ("flip 2**64", lambda: v3().flip(2 ** 64), IndexError, r"flip: dims 18446744073709551616 is out of range"),
    ("roll dims 2**64", lambda: v3().roll(1, dims=2 ** 64), IndexError, r"roll: dims 18446744073709551616 is out of range"),
    ("size 2**64", lambda: v3().size(2 ** 64), IndexError, r"size: dim 18446744073709551616 is out of range"),
    ("scatter dim 2**64", lambda: x23().scatter(2 ** 64, lucid.tensor([[0]]), 1.0), IndexError,
     r"scatter: dim 18446744073709551616 is out of range"),
    ("select index 2**64", lambda: v3().select(0, 2 ** 64), IndexError, r"select: index 18446744073709551616 is out of range"),
    ("select index -2**64", lambda: v3().select(0, -2 ** 64), IndexError, r"select: index -18446744073709551616 is out of range"),
    ("select dim 2**64", lambda: v3().select(2 ** 64, 0), IndexError, r"select: dim 18446744073709551616 is out of range"),
    ("narrow start 2**64", lambda: x23().narrow(0, 2 ** 64, 1), IndexError, r"narrow: start 18446744073709551616 is out of range"),
    ("narrow length -2**64", lambda: x23().narrow(0, 0, -2 ** 64), IndexError, r"narrow: length -18446744073709551616 is out of range"),
    ("round decimals 2**40", lambda: v3().round(decimals=2 ** 40), OverflowError,
     r"round: decimals 1099511627776 is out of the int32 range"),
    ("round decimals 2**63", lambda: v3().round(decimals=2 ** 63), OverflowError,
     r"round: decimals 9223372036854775808 is out of the int64 range"),
    ("round decimals -2**64", lambda: v3().round(decimals=-2 ** 64), OverflowError,
     r"round: decimals -18446744073709551616 is out of the int64 range"),
    ("chunk 2**64", lambda: v3().chunk(2 ** 64), OverflowError, r"chunk: chunks 18446744073709551616 is out of the int64 range"),
    ("chunk -2**64", lambda: v3().chunk(-2 ** 64), OverflowError, r"chunk: chunks -18446744073709551616 is out of the int64 range"),
    ("split 2**64", lambda: v3().split(2 ** 64), OverflowError, r"split: split_size 18446744073709551616 is out of the int64 range"),
    ("split sections 2**64", lambda: v3().split([2 ** 64]), IndexError, r"split: sections\[0\] 18446744073709551616 is out of range"),
    ("diag 2**64", lambda: x23().diag(2 ** 64), OverflowError, r"diag: diagonal 18446744073709551616 is out of the int64 range"),
    ("diag -2**64", lambda: x23().diag(-2 ** 64), OverflowError, r"diag: diagonal -18446744073709551616 is out of the int64 range"),
    ("diagonal offset -2**64", lambda: x23().diagonal(offset=-2 ** 64), OverflowError,
     r"diagonal: offset -18446744073709551616 is out of the int64 range"),
    ("diag_embed offset 2**64", lambda: x23().diag_embed(2 ** 64), OverflowError,
     r"diag_embed: offset 18446744073709551616 is out of the int64 range"),
    ("tril 2**64", lambda: x23().tril(2 ** 64), OverflowError, r"tril: diagonal 18446744073709551616 is out of the int64 range"),
    ("triu -2**65", lambda: x23().triu(-2 ** 65), OverflowError, r"triu: diagonal -36893488147419103232 is out of the int64 range"),
    ("reshape 2**64", lambda: v3().reshape(2 ** 64), ValueError, r"reshape: shape 18446744073709551616 is out of range"),
    ("reshape second 2**64", lambda: v3().reshape(3, 2 ** 64), ValueError, r"reshape: shape\[1\] 18446744073709551616 is out of range"),
    ("reshape -2**64", lambda: v3().reshape(-2 ** 64), ValueError, r"reshape: shape -18446744073709551616 is out of range"),
    ("view 2**63", lambda: v3().view(2 ** 63), ValueError, r"^view: shape 9223372036854775808 is out of range"),
    ("expand 2**64", lambda: v3().expand(2 ** 64), ValueError, r"expand: shape 18446744073709551616 is out of range"),
    ("broadcast_to 2**64", lambda: v3().broadcast_to((2 ** 64,)), ValueError,
     r"broadcast_to: shape\[0\] 18446744073709551616 is out of range"),
    ("repeat 2**64", lambda: x23().repeat(1, 2 ** 64), ValueError, r"repeat: sizes\[1\] 18446744073709551616 is out of range"),
    ("tile 2**64", lambda: x23().tile(2 ** 64, 1), ValueError, r"tile: dims\[0\] 18446744073709551616 is out of range"),
    ("zeros 2**64", lambda: lucid.zeros(2 ** 64), ValueError, r"zeros: a tensor of size \(18446744073709551616,\) is too big to address"),
    ("zeros -2**64", lambda: lucid.zeros(-2 ** 64), ValueError, r"zeros: negative dimension -18446744073709551616"),
    ("full 2**64", lambda: lucid.full(2 ** 64, 1.0), ValueError, r"full: a tensor of size \(18446744073709551616,\) is too big"),
    ("eye m 2**64", lambda: lucid.eye(2, 2 ** 64), ValueError, r"eye: m 18446744073709551616 is too big to address"),
    ("eye n -2**64", lambda: lucid.eye(-2 ** 64), ValueError, r"eye: n must be non-negative, got -18446744073709551616"),
    ("linspace steps 2**63", lambda: lucid.linspace(0, 1, 2 ** 63), ValueError, r"linspace: steps 9223372036854775808 is too big"),
    ("linspace steps -2**64", lambda: lucid.linspace(0, 1, -2 ** 64), ValueError,
     r"linspace: steps must be non-negative, got -18446744073709551616"),
    ("arange end 2**64", lambda: lucid.arange(2 ** 64), ValueError, r"arange: .*1\.8446744073709552e\+?19.* too many values"),
    ("rand 2**64", lambda: lucid.rand(2 ** 64), ValueError, r"rand: a tensor of size \(18446744073709551616,\) is too big"),
    ("rand -2**63", lambda: lucid.rand(-2 ** 63), ValueError, r"rand: negative dimension -9223372036854775808"),
    ("randint size 2**64", lambda: lucid.randint(0, 5, (2 ** 64,)), ValueError, r"randint: a tensor of size \(18446744073709551616,\)"),
    ("randint low -2**64", lambda: lucid.randint(-2 ** 64, 0, (2,)), ValueError, r"randint: low must be within the int64 range"),
    ("manual_seed -2**64", lambda: lucid.manual_seed(-2 ** 64), ValueError, r"manual_seed: seed must be within .*got -18446744073709551616"),
    ("tensor of 2**64", lambda: lucid.tensor([2 ** 64]), OverflowError, r"tensor: the integer 18446744073709551616 in the data is out of the int64 range"),
    ("jacobian chunk_size -2**64", lambda: F.jacobian(sq, v3(), vectorize=True, chunk_size=-2 ** 64), ValueError,
     r"jacobian: chunk_size must be None or a positive int, got -18446744073709551616"),
    ("tape max_tapes 2**64", lambda: lucid.tape(sq, v3(), max_tapes=2 ** 64), OverflowError,
     r"tape: max_tapes 18446744073709551616 is out of the int64 range"),
]


@catalogue(*HUGE_INTS)
def test_ints_past_int64(fn, exc, pattern):
    check(fn, exc, pattern)


def test_huge_chunk_size_means_all_rows_at_once():
    assert F.jacobian(sq, v3(), vectorize=True, chunk_size=2 ** 64).shape == (3, 3)


# ---- NaN, inf, None, str and lists where an int goes ---------------------------------------------

NOT_INTS = [
    ("sum dim nan", lambda: x23().sum(dim=NAN), TypeError, r"sum: dim must be an int, a tuple of ints or None, got float"),
    ("sum dim list of str", lambda: x23().sum(dim=["a"]), TypeError, r"sum: dim\[0\] must be an int, got str"),
    ("min dim str", lambda: x23().min(dim="a"), TypeError, r"min: dim must be an int, got str"),
    ("argmin dim float", lambda: x23().argmin(dim=1.5), TypeError, r"argmin: dim must be an int, got float"),
    ("cumsum dim str", lambda: x23().cumsum(dim="a"), TypeError, r"cumsum: dim must be an int, got str"),
    ("softmax dim None", lambda: x23().softmax(dim=None), TypeError, r"softmax: dim must be an int, got NoneType"),
    ("cat dim float", lambda: lucid.cat([v3(), v3()], dim=1.5), TypeError, r"cat: dim must be an int, got float"),
    ("round decimals float", lambda: v3().round(decimals=1.5), TypeError, r"round: decimals must be an int, got float"),
    ("round decimals str", lambda: v3().round(decimals="a"), TypeError, r"round: decimals must be an int, got str"),
    ("round decimals None", lambda: v3().round(decimals=None), TypeError, r"round: decimals must be an int, got NoneType"),
    ("chunk str", lambda: v3().chunk("a"), TypeError, r"chunk: chunks must be an int, got str"),
    ("chunk float", lambda: v3().chunk(2.5), TypeError, r"chunk: chunks must be an int, got float"),
    ("split None", lambda: v3().split(None), TypeError, r"split: sections must be an int or a tuple of ints, got NoneType"),
    ("split list of str", lambda: v3().split([1, "a"]), TypeError, r"split: sections\[1\] must be an int, got str"),
    ("diag float", lambda: x23().diag(1.5), TypeError, r"diag: diagonal must be an int, got float"),
    ("diagonal offset str", lambda: x23().diagonal(offset="a"), TypeError, r"diagonal: offset must be an int, got str"),
    ("diag_embed offset float", lambda: v3().diag_embed(offset=1.5), TypeError, r"diag_embed: offset must be an int, got float"),
    ("triu None", lambda: x23().triu(diagonal=None), TypeError, r"triu: diagonal must be an int, got NoneType"),
    ("select index float", lambda: v3().select(0, 1.5), TypeError, r"select: index must be an int, got float"),
    ("narrow dim str", lambda: x23().narrow("a", 0, 1), TypeError, r"narrow: dim must be an int, got str"),
    ("narrow start float", lambda: x23().narrow(0, 1.5, 1), TypeError, r"narrow: start must be an int, got float"),
    ("narrow length None", lambda: x23().narrow(0, 0, None), TypeError, r"narrow: length must be an int, got NoneType"),
    ("reshape float", lambda: v3().reshape(1.5), TypeError, r"reshape: shape must be ints or a tuple of ints, got float"),
    ("reshape nan", lambda: v3().reshape(NAN), TypeError, r"reshape: shape must be ints or a tuple of ints, got float"),
    ("reshape None entry", lambda: v3().reshape([3, None]), TypeError, r"reshape: shape\[1\] must be an int, got NoneType"),
    ("view str", lambda: v3().view("a"), TypeError, r"^view: shape must be ints or a tuple of ints, got str"),
    ("expand str entry", lambda: v3().expand(3, "a"), TypeError, r"expand: shape\[1\] must be an int, got str"),
    ("broadcast_to str entry", lambda: v3().broadcast_to((2, "a")), TypeError, r"broadcast_to: shape\[1\] must be an int, got str"),
    ("broadcast_to None", lambda: v3().broadcast_to(None), TypeError, r"broadcast_to: shape must be an int or a tuple of ints, got NoneType"),
    ("tile None", lambda: v3().tile(None), TypeError, r"tile: dims must be ints or a tuple of ints, got NoneType"),
    ("tile float", lambda: v3().tile(1.5), TypeError, r"tile: dims must be ints or a tuple of ints, got float"),
    ("roll float", lambda: v3().roll(1.5), TypeError, r"roll: shifts must be an int or a tuple of ints, got float"),
    ("permute float", lambda: x23().permute(0, 1.5), TypeError, r"permute: dims\[1\] must be an int, got float"),
    ("transpose str", lambda: x23().transpose(0, "a"), TypeError, r"transpose: dim1 must be an int, got str"),
    ("unsqueeze float", lambda: v3().unsqueeze(1.5), TypeError, r"unsqueeze: dim must be an int, got float"),
    ("flatten start_dim str", lambda: x23().flatten(start_dim="a"), TypeError, r"flatten: start_dim must be an int, got str"),
    ("size str", lambda: v3().size("a"), TypeError, r"size: dim must be an int, got str"),
    ("zeros nan", lambda: lucid.zeros(NAN), TypeError, r"zeros: size must be ints, got float"),
    ("ones inf", lambda: lucid.ones(INF), TypeError, r"ones: size must be ints, got float"),
    ("zeros None entry", lambda: lucid.zeros((2, None)), TypeError, r"zeros: size must be ints, got NoneType"),
    ("zeros list of str", lambda: lucid.zeros(["a"]), TypeError, r"zeros: size must be ints, got str"),
    ("eye nan", lambda: lucid.eye(NAN), TypeError, r"eye: n must be an int, got float"),
    ("eye m str", lambda: lucid.eye(2, "a"), TypeError, r"eye: m must be an int, got str"),
    ("linspace steps nan", lambda: lucid.linspace(0, 1, NAN), TypeError, r"linspace: steps must be an int, got float"),
    ("linspace steps None", lambda: lucid.linspace(0, 1, None), TypeError, r"linspace: steps must be an int, got NoneType"),
    ("rand float size", lambda: lucid.rand(1.5), TypeError, r"rand: size must be ints or a sequence of ints, got float"),
    ("randn None", lambda: lucid.randn(None), TypeError, r"randn: size must be ints or a sequence of ints, got NoneType"),
    ("randint str size", lambda: lucid.randint(0, 5, ("a",)), TypeError, r"randint: size must be ints, got str"),
    ("randint float low", lambda: lucid.randint(0.5, 5, (2,)), TypeError, r"randint: low must be an int, got float"),
    ("manual_seed float", lambda: lucid.manual_seed(1.5), TypeError, r"manual_seed: seed must be an int, got float"),
    ("manual_seed None", lambda: lucid.manual_seed(None), TypeError, r"manual_seed: seed must be an int, got NoneType"),
    ("jacobian chunk_size str", lambda: F.jacobian(sq, v3(), vectorize=True, chunk_size="a"), TypeError,
     r"jacobian: chunk_size must be None or a positive int, got str"),
    ("tape max_tapes str", lambda: lucid.tape(sq, v3(), max_tapes="a"), TypeError, r"tape: max_tapes must be a positive int, got str"),
    ("tape max_tapes float", lambda: lucid.tape(sq, v3(), max_tapes=1.5), TypeError, r"tape: max_tapes must be a positive int, got float"),
    ("tape max_tapes negative", lambda: lucid.tape(sq, v3(), max_tapes=-1), ValueError, r"tape: max_tapes must be a positive int, got -1"),
]


@catalogue(*NOT_INTS)
def test_not_ints_where_ints_go(fn, exc, pattern):
    check(fn, exc, pattern)


# ---- flags and numbers given as something else ------------------------------------------------------
# These said "argument 'keepdim': 'str' object cannot be converted to 'PyBool'": pyo3's
# type, and no op.

FLAGS_AND_NUMBERS = [
    ("sum keepdim str", lambda: x23().sum(keepdim="a"), TypeError, r"sum: keepdim must be a bool, got str"),
    ("mean keepdim None", lambda: x23().mean(keepdim=None), TypeError, r"mean: keepdim must be a bool, got NoneType"),
    ("prod keepdim int", lambda: x23().prod(keepdim=1), TypeError, r"prod: keepdim must be a bool, got int"),
    ("amax keepdim str", lambda: x23().amax(keepdim="yes"), TypeError, r"amax: keepdim must be a bool, got str"),
    ("any keepdim str", lambda: x23().any(keepdim="a"), TypeError, r"any: keepdim must be a bool, got str"),
    ("max keepdim str", lambda: x23().max(dim=0, keepdim="a"), TypeError, r"max: keepdim must be a bool, got str"),
    ("argmax keepdim str", lambda: x23().argmax(keepdim="a"), TypeError, r"argmax: keepdim must be a bool, got str"),
    ("logsumexp keepdim str", lambda: x23().logsumexp(dim=0, keepdim="a"), TypeError, r"logsumexp: keepdim must be a bool, got str"),
    ("norm keepdim str", lambda: x23().norm(keepdim="a"), TypeError, r"norm: keepdim must be a bool, got str"),
    ("std keepdim str", lambda: x23().std(keepdim="a"), TypeError, r"std: keepdim must be a bool, got str"),
    ("var unbiased str", lambda: x23().var(unbiased="a"), TypeError, r"var: unbiased must be a bool, got str"),
    ("var correction str", lambda: x23().var(correction="a"), TypeError, r"var: correction must be a real number, got str"),
    ("std correction str", lambda: v3().std(correction="a"), TypeError, r"std: correction must be a real number, got str"),
    ("sort descending str", lambda: x23().sort(descending="a"), TypeError, r"sort: descending must be a bool, got str"),
    ("argsort stable str", lambda: x23().argsort(stable="a"), TypeError, r"argsort: stable must be a bool, got str"),
    ("sort stable int", lambda: v3().sort(stable=3), TypeError, r"sort: stable must be a bool, got int"),
    ("index_put accumulate str", lambda: x23().index_put((lucid.tensor([0]),), lucid.tensor(1.0), accumulate="a"), TypeError,
     r"index_put: accumulate must be a bool, got str"),
    ("cholesky upper int", lambda: lucid.ones(2, 2).cholesky(upper=1), TypeError, r"cholesky: upper must be a bool, got int"),
    ("softplus beta str", lambda: v3().softplus(beta="a"), TypeError, r"softplus: beta must be a real number, got str"),
    ("softplus threshold None", lambda: v3().softplus(threshold=None), TypeError, r"softplus: threshold must be a real number, got NoneType"),
    ("softplus beta nan", lambda: v3().softplus(beta=NAN), ValueError, r"softplus: beta must be finite and nonzero, got NaN"),
    ("gelu approximate int", lambda: v3().gelu(approximate=3), TypeError, r"gelu: approximate must be 'none' or 'tanh', got int"),
    ("einsum equation None", lambda: lucid.einsum(None, v3()), TypeError, r"einsum: equation must be a str, got NoneType"),
    ("einsum equation int", lambda: lucid.einsum(3, v3()), TypeError, r"einsum: equation must be a str, got int"),
    ("norm p nan", lambda: x23().norm(p=NAN), ValueError, r"norm: p must be ≥ 1, inf or -inf, got NaN"),
    ("norm p 0.5", lambda: x23().norm(p=0.5), ValueError, r"norm: p must be ≥ 1, inf or -inf, got 0.5"),
    ("arange step nan", lambda: lucid.arange(0, 10, NAN), ValueError, r"arange: needs finite start, end and a nonzero step, got \(0, 10, NaN\)"),
    ("arange step None", lambda: lucid.arange(0, 10, None), TypeError, r"arange: step must be a real number, got NoneType"),
    ("full fill list", lambda: lucid.full((2,), [1.0]), TypeError, r"full: fill_value must be a real number, got list"),
    ("full_like fill None", lambda: lucid.full_like(v3(), None), TypeError, r"full_like: fill_value must be a real number, got NoneType"),
    ("linspace start str", lambda: lucid.linspace("a", 1, 2), TypeError, r"linspace: start must be a real number, got str"),
    ("zeros requires_grad str", lambda: lucid.zeros(2, requires_grad="a"), TypeError, r"^zeros: requires_grad must be a bool, got str"),
    ("tensor requires_grad int", lambda: lucid.tensor([1.0], requires_grad=1), TypeError, r"^tensor: requires_grad must be a bool, got int"),
    ("randn requires_grad None", lambda: lucid.randn(2, requires_grad=None), TypeError, r"^randn: requires_grad must be a bool, got NoneType"),
    ("requires_grad_ str", lambda: v3().requires_grad_("a"), TypeError, r"^requires_grad_: requires_grad must be a bool, got str"),
    ("requires_grad setter str", lambda: setattr(v3(), "requires_grad", "x"), TypeError, r"^requires_grad: the value must be a bool, got str"),
    ("set_grad_enabled str", lambda: lucid.set_grad_enabled("a"), TypeError, r"^set_grad_enabled: mode must be a bool, got str"),
]


@catalogue(*FLAGS_AND_NUMBERS)
def test_flags_and_numbers(fn, exc, pattern):
    check(fn, exc, pattern)


# ---- the op the user called, not the one it is built on --------------------------------------------

NAMED_FOR_THE_CALL = [
    ("broadcast_to shapes", lambda: x23().broadcast_to((2,)), ValueError, r"^broadcast_to: shapes \[2, 3\] and \[2\] cannot be broadcast"),
    ("broadcast_to grow", lambda: v3().broadcast_to((2, 4)), ValueError, r"^broadcast_to: shapes \[3\] and \[2, 4\]"),
    ("all dim", lambda: x23().all(dim=5), IndexError, r"^all: dim 5 is out of range for a tensor with 2 dims"),
    ("any repeated dim", lambda: x23().any(dim=(0, 0)), ValueError, r"^any: dim 0 appears more than once"),
    ("sort dim", lambda: x23().sort(dim=2), IndexError, r"^sort: dim 2 is out of range for a tensor with 2 dims"),
    ("empty negative", lambda: lucid.empty(-1), ValueError, r"^empty: negative dimension -1"),
    ("repeat too big", lambda: v3().repeat(2 ** 62, 2 ** 62), ValueError, r"^repeat: a tensor of shape .* is too big to address"),
    ("repeat fewer dims", lambda: x23().repeat(2), ValueError,
     r"^repeat: number of repeat dims \(1\) can not be smaller than the number of dims of the tensor \(2, shape \[2, 3\]\)"),
    ("clamp tensor bound", lambda: v3().clamp(min=lucid.ones(4)), ValueError, r"clamp_min: shapes \[3\] and \[4\] cannot be broadcast"),
    ("max of other", lambda: v3().max(lucid.ones(4)), ValueError, r"maximum: shapes \[3\] and \[4\] cannot be broadcast"),
]


@catalogue(*NAMED_FOR_THE_CALL)
def test_errors_name_the_op_called(fn, exc, pattern):
    check(fn, exc, pattern)


# ---- dtypes ------------------------------------------------------------------------------------------

DTYPES = [
    ("softmax of int", lambda: lucid.tensor([1, 2]).softmax(0), TypeError, r"softmax: expected a floating point tensor, got int64"),
    ("norm of int", lambda: lucid.tensor([1, 2]).norm(), TypeError, r"norm: expected a floating point tensor, got int64"),
    ("var of int", lambda: lucid.tensor([1, 2]).var(), TypeError, r"var: expected a floating point tensor, got int64"),
    ("logsumexp of int", lambda: lucid.tensor([1, 2]).logsumexp(0), TypeError, r"logsumexp: expected a floating point tensor, got int64"),
    ("erf of int", lambda: lucid.tensor([1, 2]).erf(), TypeError, r"erf: expected a floating point tensor, got int64"),
    ("softplus of int", lambda: lucid.tensor([1, 2]).softplus(), TypeError, r"softplus: expected a floating point tensor, got int64"),
    ("exp of bool", lambda: lucid.tensor([True]).exp(), TypeError, r"exp: expected a floating point tensor, got bool"),
    ("det of int", lambda: lucid.linalg.det(lucid.tensor([[1, 2], [3, 4]])), TypeError, r"det: expected a floating point tensor, got int64"),
    ("inverse of int", lambda: lucid.tensor([[1, 2], [3, 4]]).inverse(), TypeError, r"inv: expected a floating point tensor, got int64"),
    ("solve of ints", lambda: lucid.linalg.solve(lucid.ones(3, 3, dtype=lucid.int64), lucid.ones(3, dtype=lucid.int64)), TypeError,
     r"solve: expected floating point tensors, got int64 and int64"),
    ("gather float index", lambda: x23().gather(1, lucid.tensor([[0]], dtype=lucid.float32)), TypeError,
     r"gather: index must be an int64 tensor, got float32"),
    ("index_select float index", lambda: x23().index_select(0, lucid.tensor([1.0])), TypeError,
     r"index_select: index must be an int64 tensor, got float32"),
    ("scatter_add src dtype", lambda: x23().scatter_add(1, lucid.tensor([[0]]), lucid.ones(1, 1, dtype=lucid.float64)), TypeError,
     r"scatter_add: expected src to have the dtype of the input \(float32\), got float64"),
    ("rand int dtype", lambda: lucid.rand(2, dtype=lucid.int64), TypeError, r"rand: dtype must be a floating point dtype, got lucid.int64"),
    ("randn bool dtype", lambda: lucid.randn(2, dtype=lucid.bool_), TypeError, r"randn: dtype must be a floating point dtype, got lucid.bool"),
    ("rand_like of int", lambda: lucid.rand_like(lucid.tensor([1, 2])), TypeError, r"rand: dtype must be a floating point dtype, got lucid.int64"),
    ("randint bool dtype", lambda: lucid.randint(5, (2,), dtype=lucid.bool_), TypeError, r"randint: dtype bool is not supported"),
    ("randint requires_grad", lambda: lucid.randint(0, 5, (2,), requires_grad=True), TypeError,
     r"randint: only floating point tensors can require gradients, got lucid.int64"),
    ("ones bool requires_grad", lambda: lucid.ones(2, dtype=lucid.bool_, requires_grad=True), TypeError,
     r"only floating point tensors can require gradients, got bool"),
    ("from_numpy object", lambda: lucid.from_numpy(np.array([1], dtype=object)), TypeError,
     r"tensor: cannot build a tensor from ndarray holding non-numeric values"),
    ("tensor of None", lambda: lucid.tensor([None]), TypeError, r"tensor: cannot build a tensor from list holding non-numeric values"),
    ("tensor of dict", lambda: lucid.tensor({}), TypeError, r"tensor: cannot build a tensor from dict"),
    ("jacobian of int input", lambda: F.jacobian(sq, lucid.tensor([1, 2])), TypeError,
     r"jacobian: input 0 has dtype int64; only floating point inputs can be differentiated"),
    ("hessian of int input", lambda: F.hessian(total, lucid.tensor([1, 2])), TypeError,
     r"hessian: input 0 has dtype int64; only floating point inputs"),
]


@catalogue(*DTYPES)
def test_dtype_misuse(fn, exc, pattern):
    check(fn, exc, pattern)


# ---- wrong types and shapes elsewhere ------------------------------------------------------------------

WRONG_TYPES = [
    ("cat of None entry", lambda: lucid.cat((v3(), None)), TypeError, r"cat: expected a sequence of tensors, element 1 is NoneType"),
    ("cat of a str", lambda: lucid.cat("ab"), TypeError, r"cat: expected a sequence of tensors, element 0 is str"),
    ("einsum operand str", lambda: lucid.einsum("i", "a"), TypeError, r"einsum: argument 'operand 0' must be a Tensor, got str"),
    ("einsum operand count", lambda: lucid.einsum("i,i->", v3()), ValueError, r"einsum: equation \"i,i->\" has 2 operand\(s\) but 1 tensor\(s\)"),
    ("einsum unknown output", lambda: lucid.einsum("i->j", v3()), ValueError, r"einsum: output subscript 'j' does not appear in any operand"),
    ("outer None", lambda: lucid.outer(v3(), None), TypeError, r"outer: argument 'vec2' must be a Tensor, got NoneType"),
    ("solve str", lambda: lucid.solve(lucid.ones(2, 2), "a"), TypeError, r"solve: argument 'B' must be a Tensor, got str"),
    ("dot of a matrix", lambda: lucid.dot(v3(), x23()), ValueError, r"dot: expected two 1-D tensors, got shapes \[3\] and \[2, 3\]"),
    ("cross size 2", lambda: lucid.cross(lucid.ones(2), lucid.ones(2)), ValueError, r"cross: dim -1 must have size 3 in both inputs"),
    ("linalg.norm ord", lambda: lucid.linalg.norm(x23(), ord="a"), ValueError, r"matrix_norm: ord='a' is not supported"),
    ("clamp str", lambda: v3().clamp_max("a"), TypeError, r"clamp_max: unsupported operand type str"),
    ("eq list of str", lambda: v3().eq([1, "a"]), TypeError, r"eq: unsupported operand type list"),
    ("atan2 str", lambda: v3().atan2("a"), TypeError, r"atan2: unsupported operand type str"),
    ("scatter both none", lambda: x23().scatter(1, lucid.tensor([[0]]), None), TypeError, r"scatter: pass exactly one of src and value"),
    ("index_put value str", lambda: x23().index_put((lucid.tensor([0]),), "a"), TypeError, r"index_put: unsupported operand type str"),
    ("index_select 2-d index", lambda: x23().index_select(0, lucid.tensor([[0]])), ValueError, r"index_select: index must be 1-d, got shape \[1, 1\]"),
    ("index_select str", lambda: x23().index_select(0, "a"), TypeError,
     r"index_select: expected a tensor, list or array of indices, got str"),
    ("gather rank", lambda: x23().gather(1, lucid.tensor([0])), ValueError, r"gather: index has 1 dims but the input has 2"),
    ("roll shifts and dims", lambda: v3().roll((1, 2), dims=(0,)), ValueError, r"roll: shifts and dims must have the same length, got 2 shifts and 1 dims"),
    ("split sizes sum", lambda: v3().split([1, 1]), ValueError, r"split: split sizes \[1, 1\] must sum to the size 3 of dim 0"),
    ("var unbiased and correction", lambda: x23().var(dim=0, unbiased=True, correction=1), ValueError,
     r"var: pass either unbiased or correction, not both"),
    ("rand_like None", lambda: lucid.rand_like(None), TypeError, r"rand_like: expected a Tensor, got NoneType"),
    ("randn_like str", lambda: lucid.randn_like("a"), TypeError, r"randn_like: expected a Tensor, got str"),
    ("full_like int", lambda: lucid.full_like(3, 1.0), TypeError, r"full_like: expected a Tensor, got int"),
    ("from_numpy int", lambda: lucid.from_numpy(3), TypeError, r"from_numpy: expected a numpy.ndarray, got int"),
]


@catalogue(*WRONG_TYPES)
def test_wrong_types_and_shapes(fn, exc, pattern):
    check(fn, exc, pattern)


# ---- the functional API and tapes ---------------------------------------------------------------------

FUNCTIONAL = [
    ("jacobian func int", lambda: F.jacobian(3, v3()), TypeError, r"jacobian: func must be callable, got int"),
    ("hessian func None", lambda: F.hessian(None, v3()), TypeError, r"hessian: func must be callable, got NoneType"),
    ("vjp func str", lambda: F.vjp("f", v3(), v3()), TypeError, r"vjp: func must be callable, got str"),
    ("jacobian vectorize str", lambda: F.jacobian(sq, v3(), vectorize="a"), TypeError, r"jacobian: vectorize must be a bool, got str"),
    ("jacobian strict None", lambda: F.jacobian(sq, v3(), strict=None), TypeError, r"jacobian: strict must be a bool, got NoneType"),
    ("jacobian sparse str", lambda: F.jacobian(sq, v3(), sparse="a"), TypeError, r"jacobian: sparse must be a bool, got str"),
    ("jacobian strategy case", lambda: F.jacobian(sq, v3(), strategy="Reverse"), ValueError,
     r"jacobian: strategy must be one of \"reverse-mode\", \"forward-mode\", \"auto\", got \"Reverse\""),
    ("jacobian inputs empty", lambda: F.jacobian(sq, ()), TypeError, r"jacobian: inputs must not be empty"),
    ("jacobian inputs object array", lambda: F.jacobian(sq, np.zeros(3, dtype=object)), TypeError,
     r"jacobian: inputs must be a Tensor or a tuple of Tensors, got ndarray"),
    ("jacobian inputs None entry", lambda: F.jacobian(sq, [v3(), None]), TypeError, r"jacobian: inputs\[1\] must be a Tensor, got NoneType"),
    ("jacobian returns None", lambda: F.jacobian(lambda t: None, v3()), TypeError,
     r"jacobian: the function must return a Tensor or a tuple of Tensors, got NoneType"),
    ("jacobian returns a str output", lambda: F.jacobian(lambda t: (t, "a"), v3()), TypeError,
     r"jacobian: the function must return a Tensor or a tuple of Tensors; output 1 is str"),
    ("hessian strategy None", lambda: F.hessian(total, v3(), strategy=None), TypeError,
     r"hessian: strategy must be one of .* got NoneType"),
    ("hessian vectorize int", lambda: F.hessian(total, v3(), vectorize=2), TypeError, r"hessian: vectorize must be a bool, got int"),
    ("hessian of a tuple output", lambda: F.hessian(lambda t: (t.sum(), t.sum()), v3()), TypeError,
     r"hessian: the function must return a single Tensor, got a tuple of 2"),
    ("vjp v count", lambda: F.vjp(sq, v3(), (v3(), v3())), ValueError, r"vjp: v has 2 tensors but there are 1 outputs"),
    ("vjp create_graph str", lambda: F.vjp(sq, v3(), v3(), create_graph="a"), TypeError, r"vjp: create_graph must be a bool, got str"),
    ("jvp v None", lambda: F.jvp(sq, v3(), None), ValueError,
     r"jvp: v can be omitted only when the input is a single one-element Tensor; got input shapes \[\(3,\)\]"),
    ("jvp strict str", lambda: F.jvp(sq, v3(), v3(), strict="a"), TypeError, r"jvp: strict must be a bool, got str"),
    ("hvp v str", lambda: F.hvp(total, v3(), "a"), TypeError, r"hvp: v must be a Tensor or a tuple of Tensors, got str"),
    ("hvp v count", lambda: F.hvp(total, v3(), (v3(), v3())), ValueError, r"hvp: v has 2 tensors but there are 1 inputs"),
    ("hvp create_graph None", lambda: F.hvp(total, v3(), v3(), create_graph=None), TypeError, r"hvp: create_graph must be a bool, got NoneType"),
    ("vhp of a vector function", lambda: F.vhp(sq, v3(), v3()), RuntimeError, r"vhp: the function must return a single-element Tensor, got shape \(3,\)"),
    ("sparsity strategy int", lambda: F.sparsity(sq, v3(), strategy=3), TypeError, r"sparsity: strategy must be one of .* got int"),
    ("sparsity hessian str", lambda: F.sparsity(sq, v3(), hessian="a"), TypeError, r"sparsity: hessian must be a bool, got str"),
    ("grad outputs None", lambda: lucid.autograd.grad(None, v3()), TypeError, r"grad: outputs must be a Tensor or a sequence of Tensors, got NoneType"),
    ("backward grad_tensors str", lambda: lucid.autograd.backward(v3(), grad_tensors="a"), TypeError,
     r"backward: grad_tensors\[0\] must be a Tensor, got str"),
    ("tape func None", lambda: lucid.tape(None, v3()), TypeError, r"tape: func must be callable, got NoneType"),
    ("tape inputs str", lambda: lucid.tape(sq, "a"), TypeError, r"tape: inputs must be a Tensor, a NumPy array or a tuple of them, got str"),
    ("tape returns None", lambda: lucid.tape(lambda t: None, v3()), TypeError,
     r"tape: the function must return a Tensor or a tuple of Tensors, got NoneType"),
    ("tape call with str", lambda: tape()("a"), TypeError, r"tape: inputs\[0\] must be a Tensor or a NumPy array, got str"),
    ("tape jacobian chunk_size", lambda: tape().jacobian(v3(), chunk_size=-1, vectorize=True), ValueError,
     r"jacobian: chunk_size must be None or a positive int, got -1"),
    ("tape jacobian create_graph int", lambda: tape().jacobian(v3(), create_graph=1), TypeError, r"jacobian: create_graph must be a bool, got int"),
    ("tape jacobian inputs str", lambda: tape().jacobian("a"), TypeError, r"jacobian: inputs must be a Tensor, a NumPy array or a tuple of them, got str"),
    ("tape hessian strategy int", lambda: tape().hessian(v3(), strategy=3), TypeError, r"hessian: strategy must be one of .* got int"),
    ("tape vjp v str", lambda: tape().vjp(v3(), "a"), TypeError, r"vjp: v must be a Tensor or a tuple of Tensors, got str"),
    ("tape jvp v shape", lambda: tape().jvp(v3(), lucid.ones(4)), ValueError, r"jvp: v\[0\] has shape \(4,\) but input 0 has shape \(3,\)"),
    ("tape hvp of a vector function", lambda: tape().hvp(v3(), v3()), RuntimeError, r"hvp: the function must return a single-element Tensor"),
    ("tape sparsity hessian str", lambda: tape().sparsity(v3(), hessian="a"), TypeError, r"sparsity: hessian must be a bool, got str"),
]


@catalogue(*FUNCTIONAL)
def test_functional_api_and_tapes(fn, exc, pattern):
    check(fn, exc, pattern)


def test_the_catalogue_is_large_and_its_ids_unique():
    ids = [c[0] for c in HUGE_INTS + NOT_INTS + FLAGS_AND_NUMBERS + NAMED_FOR_THE_CALL + DTYPES + WRONG_TYPES + FUNCTIONAL]
    assert len(ids) >= 150
    assert len(ids) == len(set(ids))


# ---- Python protocols (issue 17) -----------------------------------------------------------------
# 0-d iteration, round, format, __index__, NumPy 2's copy=False, clone and unpickling: each
# bad use raises what PyTorch or NumPy raise there, naming the call and what was given.

PROTOCOLS = [
    ("iterate a 0-d tensor", lambda: list(lucid.tensor(1.0)), TypeError, r"^iteration over a 0-d tensor$"),
    ("round of a vector", lambda: round(v3()), TypeError,
     r"^round: only one-element tensors can be rounded to a Python number, got shape \(3,\)"),
    ("round ndigits float", lambda: round(lucid.tensor(1.5), 2.0), TypeError, r"^round: ndigits must be an int, got float$"),
    ("round ndigits str", lambda: round(lucid.tensor(1.5), "a"), TypeError, r"^round: ndigits must be an int, got str$"),
    ("format spec on a matrix", lambda: format(x23(), ".2f"), TypeError,
     r"^format: the spec \"\.2f\" needs a one-element tensor, got shape \(2, 3\)"),
    ("index of a float64 tensor", lambda: [1, 2][lucid.tensor(1.0, dtype=lucid.float64)], TypeError,
     r"__index__: .* got a float64 tensor of shape \[\]"),
    ("array copy=False", lambda: np.array(v3(), copy=False), ValueError,
     r"^__array__: copy=False cannot be honoured: a Lucid tensor's storage is immutable"),
    ("clone of a str", lambda: lucid.clone("a"), TypeError, r"^clone: expected a Tensor as the first argument, got str$"),
    ("unpickle unknown dtype", lambda: lucid._core._rebuild_tensor("float16", (1,), b"\0\0", False), ValueError,
     r"^unpickling a Tensor: unknown dtype \"float16\""),
    ("unpickle short data", lambda: lucid._core._rebuild_tensor("float64", (2,), b"\0" * 8, False), ValueError,
     r"^unpickling a Tensor: 8 bytes of data do not fill shape \(2,\) of float64$"),
    ("unpickle int requiring grad", lambda: lucid._core._rebuild_tensor("int64", (), b"\0" * 8, True), TypeError,
     r"only floating point tensors can require gradients, got int64"),
    ("unpickle huge shape", lambda: lucid._core._rebuild_tensor("float64", (2 ** 62, 4), b"", False), ValueError,
     r"unpickling a Tensor"),
]


@catalogue(*PROTOCOLS)
def test_python_protocols(fn, exc, pattern):
    check(fn, exc, pattern)


def test_the_protocol_ids_are_new():
    others = HUGE_INTS + NOT_INTS + FLAGS_AND_NUMBERS + NAMED_FOR_THE_CALL + DTYPES + WRONG_TYPES + FUNCTIONAL
    ids = [c[0] for c in PROTOCOLS]
    assert len(ids) == len(set(ids)) and not set(ids) & {c[0] for c in others}


# ---- issue 18's last messages ------------------------------------------------------------------------
# Tensor.backward's arguments, `to`'s dtype, ragged nested lists and `view` said pyo3's
# extraction text, no op, NumPy's "inhomogeneous shape after 1 dimensions" or `reshape`.

def w():
    return lucid.ones(2, requires_grad=True) * 2


LAST_MESSAGES = [
    ("backward gradient str", lambda: w().backward(gradient="a"), TypeError,
     r"^backward: gradient must be a Tensor or None, got str$"),
    ("backward gradient list", lambda: w().backward([1.0, 1.0]), TypeError,
     r"^backward: gradient must be a Tensor or None, got list$"),
    ("backward retain_graph str", lambda: w().sum().backward(retain_graph="a"), TypeError,
     r"^backward: retain_graph must be a bool, got str$"),
    ("backward retain_graph int", lambda: w().sum().backward(retain_graph=1), TypeError,
     r"^backward: retain_graph must be a bool, got int$"),
    ("backward create_graph str", lambda: w().sum().backward(create_graph="a"), TypeError,
     r"^backward: create_graph must be a bool, got str$"),
    ("to int", lambda: v3().to(3), TypeError,
     r"^to: expected a dtype \(lucid\.float32, lucid\.float64, lucid\.int64, lucid\.bool_, a NumPy dtype or its name\), got int 3$"),
    ("to list", lambda: v3().to([1]), TypeError, r"^to: expected a dtype .*, got list \[1\]$"),
    ("to float16", lambda: v3().to(np.float16), TypeError,
     r"^to: unsupported dtype float16; lucid has float32, float64, int64 and bool$"),
    ("to float16 name", lambda: v3().to("float16"), TypeError, r"^to: unsupported dtype float16;"),
    ("to complex", lambda: v3().to(np.complex128), TypeError, r"^to: unsupported dtype complex128;"),
    ("zeros float16", lambda: lucid.zeros(2, dtype="float16"), TypeError, r"^zeros: unsupported dtype 'float16';"),
    ("tensor float16", lambda: lucid.tensor([1.0], dtype=np.float16), TypeError, r"^tensor: unsupported dtype .*float16"),
    ("randn float16", lambda: lucid.randn(2, dtype="float16"), TypeError, r"^randn: unsupported dtype 'float16';"),
    ("randint int8", lambda: lucid.randint(0, 3, (2,), dtype="int8"), TypeError, r"^randint: unsupported dtype 'int8';"),
    ("ones_like int8", lambda: lucid.ones_like(v3(), dtype="int8"), TypeError, r"^ones_like: unsupported dtype 'int8';"),
    ("eye float16", lambda: lucid.eye(2, dtype="float16"), TypeError, r"^eye: unsupported dtype 'float16';"),
    ("tensor ragged rows", lambda: lucid.tensor([[1, 2], [3]]), TypeError,
     r"^tensor: cannot build a tensor from list: the nested lists are ragged: data\[1\] has length 1 where data\[0\] has length 2$"),
    ("tensor ragged deeper", lambda: lucid.tensor([[[1, 2], [3, 4]], [[1], [3]]]), TypeError,
     r"ragged: data\[1\]\[0\] has length 1 where data\[0\]\[0\] has length 2$"),
    ("tensor ragged number", lambda: lucid.tensor([[1.0, 2.0], 3.0]), TypeError,
     r"ragged: data\[1\] is a number where data\[0\] has length 2$"),
    ("view numel", lambda: x23().view(4), ValueError, r"^view: shape \[4\] is invalid for input of size 6 \(shape \[2, 3\]\)$"),
    ("view two -1", lambda: x23().view(-1, -1), ValueError, r"^view: invalid shape \[-1, -1\]"),
    ("view past int64", lambda: x23().view(2 ** 63), ValueError, r"^view: shape 9223372036854775808 is out of range"),
    ("view of a str shape", lambda: x23().view("a"), TypeError, r"^view: shape must be ints or a tuple of ints, got str$"),
]


@catalogue(*LAST_MESSAGES)
def test_last_messages(fn, exc, pattern):
    check(fn, exc, pattern)


def test_the_last_message_ids_are_new():
    others = HUGE_INTS + NOT_INTS + FLAGS_AND_NUMBERS + NAMED_FOR_THE_CALL + DTYPES + WRONG_TYPES + FUNCTIONAL + PROTOCOLS
    ids = [c[0] for c in LAST_MESSAGES]
    assert len(ids) == len(set(ids)) and not set(ids) & {c[0] for c in others}


def test_backward_still_takes_its_valid_arguments():
    x = lucid.ones(2, requires_grad=True)
    (x * 2).backward(lucid.ones(2), retain_graph=None, create_graph=False)
    (x * 2).backward(gradient=lucid.ones(2), retain_graph=np.bool_(True))
    assert x.grad.tolist() == [4.0, 4.0]


def test_to_none_keeps_the_dtype_and_float16_data_widens_exactly():
    # PyTorch's to(None) changes nothing; NumPy would read None as float64
    assert v3().to(None).dtype == lucid.float32
    assert lucid.tensor([1], dtype=lucid.int64).to(None).dtype == lucid.int64
    # float16 data becomes float32, which holds every float16 exactly
    half = np.array([0.1, 65504.0, 6e-8], dtype=np.float16)
    t = lucid.tensor(half)
    assert t.dtype == lucid.float32 and t.numpy().tolist() == half.astype(np.float32).tolist()
