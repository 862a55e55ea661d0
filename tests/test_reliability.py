"""Impossible sizes and extreme ints raise the exception a user expects, with a message
naming the op and what was given: never a Rust panic (``pyo3_runtime.PanicException``,
a ``BaseException`` that ``except Exception`` lets through) and never an abort
("memory allocation of N bytes failed", which no ``except`` can catch).

Cases that used to abort run in a child process, so a regression fails its test
instead of killing the test run. Their sizes ask for more than the 2**47 bytes
(128 TiB) of a process's address space, so the allocation fails at the reservation,
before any memory is touched, on any machine and under any overcommit policy.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import lucid

# A child process evaluates one expression and reports what it raised.
CHILD = """
import json, sys
import lucid
try:
    eval(sys.argv[1])
except BaseException as e:
    print(json.dumps({"type": type(e).__name__, "exception": isinstance(e, Exception), "msg": str(e)}))
else:
    print(json.dumps({"type": None}))
"""


def raised_in_child(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout, (
        f"{code} killed the process (exit {done.returncode}):\n{done.stderr[-3000:]}"
    )
    return json.loads(done.stdout.splitlines()[-1])


def check(err: BaseException, exc: type, pattern: str):
    """`err` is an `exc` that `except Exception` catches, with a message matching `pattern`."""
    assert isinstance(err, Exception), f"{type(err).__module__}.{type(err).__name__} is not an Exception: {err}"
    assert "Panic" not in type(err).__name__, err
    assert isinstance(err, exc), f"{type(err).__name__}: {err}"
    assert re.search(pattern, str(err)), f"{str(err)!r} does not match {pattern!r}"


def raises(exc: type, pattern: str, fn):
    try:
        fn()
    except BaseException as err:  # noqa: B036 - a PanicException is what this looks for
        check(err, exc, pattern)
        return
    pytest.fail(f"no {exc.__name__} raised")


# ---- allocations the machine cannot give: used to abort the process --------------------------

ABORTS = [
    ("randn", "lucid.randn(10**7, 10**7)",
     r"randn: cannot allocate 400000000000000 bytes for a tensor of shape \[10000000, 10000000\]"),
    ("rand", "lucid.rand(10**7, 10**7, dtype=lucid.float64)",
     r"rand: cannot allocate 800000000000000 bytes for a tensor of shape \[10000000, 10000000\]"),
    ("randint", "lucid.randint(0, 5, (10**7, 10**7))",
     r"randint: cannot allocate 800000000000000 bytes for a tensor of shape \[10000000, 10000000\]"),
    ("randint float", "lucid.randint(0, 5, (10**7, 10**7), dtype=lucid.float32)",
     r"randint: cannot allocate 400000000000000 bytes"),
    ("diag_embed", "lucid.ones(10**7).diag_embed()",
     r"diag_embed: offset 0 with a diagonal of length 10000000: cannot allocate 400000000000000 bytes "
     r"for a result of shape \[10000000, 10000000\]"),
    ("diag", "lucid.ones(3).diag(10**7)",
     rf"diag: offset 10000000 with a diagonal of length 3: cannot allocate {10_000_003 ** 2 * 4} bytes"),
    ("diag_embed in a graph", "lucid.ones(3, requires_grad=True).diag_embed(offset=10**7)",
     r"diag_embed: offset 10000000 .*cannot allocate"),
    ("arange", "lucid.arange(0, 1, 1e-15)", r"arange: cannot allocate \d+ bytes for a tensor of shape \[\d+\]"),
    ("linspace", "lucid.linspace(0, 1, 10**15)", r"linspace: cannot allocate 4000000000000000 bytes"),
    ("repeat", "lucid.ones(2).repeat(10**14)",
     r"repeat: cannot allocate 800000000000000 bytes for a result of shape \[200000000000000\]"),
    ("tile", "lucid.ones(2).tile(10**7, 10**7)", r"tile: cannot allocate 800000000000000 bytes"),
    ("expand", "lucid.ones(1).expand(10**7, 10**7)", r"expand: cannot allocate 400000000000000 bytes"),
    ("eye", "lucid.eye(10**7, 10**7)", r"eye: cannot allocate 400000000000000 bytes"),
    ("zeros", "lucid.zeros(10**7, 10**7)", r"zeros: cannot allocate 400000000000000 bytes"),
    ("_core.full", "lucid._core.full([10**7, 10**7], 1.0, lucid.float32)", r"full: cannot allocate 400000000000000 bytes"),
    ("advanced index",
     "lucid.zeros(3, 3, 3)[lucid.zeros(10**5, 1, 1, dtype=lucid.int64), lucid.zeros(1, 10**5, 1, dtype=lucid.int64), "
     "lucid.zeros(1, 1, 10**5, dtype=lucid.int64)]",
     r"index: cannot allocate 8000000000000000 bytes for a result of shape \[100000, 100000, 100000\]"),
    ("index_put",
     "lucid.zeros(3, 3, 3).index_put((lucid.zeros(10**5, 1, 1, dtype=lucid.int64), lucid.zeros(1, 10**5, 1, dtype=lucid.int64), "
     "lucid.zeros(1, 1, 10**5, dtype=lucid.int64)), lucid.tensor(1.0))",
     r"index: cannot allocate 8000000000000000 bytes"),
    ("where", "lucid.where(lucid.ones(10**7, 1) > 0, lucid.ones(1, 10**7), 0.0)",
     r"where: cannot allocate 400000000000000 bytes for a result of shape \[10000000, 10000000\]"),
    ("solve", "lucid.solve(lucid.ones(10**7, 1, 1), lucid.ones(1, 10**7))",
     r"solve: cannot allocate 400000000000000 bytes for a tensor of shape \[10000000, 1, 10000000\]"),
    ("chunk of an empty dim", "lucid.zeros(0).chunk(2**45)", r"chunk: cannot hold 35184372088832 pieces of dim 0 \(of size 0\)"),
    ("split into ones", "lucid.zeros(2**62, 0).split(1)", r"split: cannot hold 4611686018427387904 pieces of dim 0"),
]


@pytest.mark.parametrize("code,pattern", [c[1:] for c in ABORTS], ids=[c[0] for c in ABORTS])
def test_impossible_allocations_raise_value_error(code, pattern):
    got = raised_in_child(code)
    assert got["type"] == "ValueError" and got["exception"], f"{code}: {got}"
    assert re.search(pattern, got["msg"]), f"{got['msg']!r} does not match {pattern!r}"


# ---- offsets, counts and shapes whose arithmetic overflowed: used to panic --------------------

VALUE_ERRORS = [
    ("diag 2**62", lambda: lucid.ones(3).diag(2 ** 62),
     r"diag: offset 4611686018427387904 with a diagonal of length 3: a tensor of shape "
     r"\[4611686018427387907, 4611686018427387907\] is too big to address"),
    ("diag -2**63", lambda: lucid.ones(3).diag(-2 ** 63),
     r"diag: offset -9223372036854775808 with a diagonal of length 3: .*too big to address"),
    ("diag_embed 2**40", lambda: lucid.ones(3).diag_embed(offset=2 ** 40),
     r"diag_embed: offset 1099511627776 with a diagonal of length 3: .*too big to address"),
    ("diag_embed batch", lambda: lucid.ones(2, 3).diag_embed(2 ** 63 - 1), r"diag_embed: offset 9223372036854775807"),
    ("diag_embed of a long empty dim", lambda: lucid.zeros(0, 2 ** 62).diag_embed(), r"diag_embed: .*too big to address"),
    ("chunk 2**62", lambda: lucid.zeros(0).chunk(2 ** 62), r"chunk: cannot hold 4611686018427387904 pieces"),
    ("narrow a 0-d tensor", lambda: lucid.tensor(2.0).narrow(0, 0, 1), r"narrow: cannot be applied to a 0-d tensor"),
    ("narrow negative length", lambda: lucid.ones(4).narrow(0, 0, -1), r"narrow: length must be non-negative, got -1"),
    ("sum of an empty dim", lambda: lucid.zeros(2 ** 62, 0).sum(1),
     r"sum: a tensor of shape \[4611686018427387904\] is too big to address"),
    ("mean of an empty dim", lambda: lucid.zeros(2 ** 62, 0).mean(1), r"mean: .*too big to address"),
    ("var of an empty dim", lambda: lucid.zeros(2 ** 62, 0).var(1), r"var: .*too big to address"),
    ("prod of an empty dim", lambda: lucid.zeros(2 ** 62, 0).prod(1), r"prod: .*too big to address"),
    ("logsumexp of an empty dim", lambda: lucid.zeros(2 ** 62, 0).logsumexp(1), r"logsumexp: .*too big to address"),
    ("norm of an empty dim", lambda: lucid.zeros(2 ** 62, 0).norm(dim=1), r"norm: .*too big to address"),
    ("det of empty matrices", lambda: lucid.zeros(2 ** 62, 0, 0).det(), r"det: .*\[4611686018427387904\] is too big"),
    ("slogdet of empty matrices", lambda: lucid.zeros(2 ** 62, 0, 0).slogdet(), r"slogdet: .*too big"),
    ("numpy of a huge empty shape", lambda: lucid.zeros(2 ** 62, 0).numpy(),
     r"numpy: a tensor of shape \[4611686018427387904, 0\] is too big for a NumPy array"),
    ("tolist of a huge empty shape", lambda: lucid.zeros(2 ** 62, 0).tolist(), r"numpy: a tensor of shape"),
    ("reshape overflow", lambda: lucid.zeros(0).reshape(2 ** 32, 2 ** 32, 0),
     r"reshape: shape \[4294967296, 4294967296, 0\] is too big to address"),
    ("repeat overflow", lambda: lucid.ones(2).repeat(2 ** 62, 2 ** 62), r"repeat: .*too big to address"),
    ("tile overflow", lambda: lucid.ones(2).tile(2 ** 63 - 1), r"tile: a tensor of shape \[18446744073709551614\] is too big"),
    ("repeat overflow of a dim", lambda: lucid.ones(3).repeat(2 ** 63 - 1),
     r"repeat: repeating shape \[3\] by \[9223372036854775807\] is too big to address"),
    ("split sizes that wrap", lambda: lucid.ones(3).split([2 ** 63 - 1, 2 ** 63 - 1, 5]),
     r"split: split sizes \[9223372036854775807, 9223372036854775807, 5\] must sum to the size 3"),
    ("cat sizes past isize", lambda: lucid.cat([lucid.zeros(2 ** 62, 0)] * 2),
     r"cat: a tensor of shape \[9223372036854775808, 0\] is too big to address"),
    ("cat sizes past usize", lambda: lucid.cat([lucid.zeros(2 ** 62, 0)] * 5), r"cat: joining 5 tensors along dim 0 is too big"),
    ("randint high", lambda: lucid.randint(0, 2 ** 64, (3,)), r"randint: high must be within the int64 range .*got 18446744073709551616"),
    ("randint low", lambda: lucid.randint(-2 ** 63 - 1, 0, (3,)), r"randint: low must be within the int64 range"),
    ("randint empty range", lambda: lucid.randint(5, 5, (3,)), r"randint: expected low < high, got low=5, high=5"),
    ("manual_seed", lambda: lucid.manual_seed(2 ** 64), r"manual_seed: seed must be within"),
    ("zeros 2**63", lambda: lucid.zeros(2 ** 63), r"zeros: a tensor of size \(9223372036854775808,\) is too big to address"),
    ("randn 2**64", lambda: lucid.randn(2, 2 ** 64), r"randn: a tensor of size \(2, 18446744073709551616\) is too big"),
    ("eye 2**64", lambda: lucid.eye(2 ** 64), r"eye: n 18446744073709551616 is too big to address"),
    ("linspace 2**64", lambda: lucid.linspace(0, 1, 2 ** 64), r"linspace: steps 18446744073709551616 is too big"),
    ("forward-mode cat beside a huge empty input",
     lambda: lucid.autograd.functional.jacobian(lambda x: lucid.cat([x[None, :0], lucid.zeros(2 ** 62, 0)]), lucid.ones(3),
                                                strategy="forward-mode"),
     r"cat: a tensor of shape \[3, 4611686018427387904, 0\] is too big to address"),
]


@pytest.mark.parametrize("fn,pattern", [c[1:] for c in VALUE_ERRORS], ids=[c[0] for c in VALUE_ERRORS])
def test_overflowing_arguments_raise_value_error(fn, pattern):
    raises(ValueError, pattern, fn)


INDEX_ERRORS = [
    ("size of a 0-d tensor", lambda: lucid.tensor(2.0).size(0), r"size: dim 0 is out of range for a tensor with 0 dims"),
    ("narrow past the end", lambda: lucid.ones(4).narrow(0, 2 ** 63 - 1, 2 ** 63 - 1),
     r"narrow: range 9223372036854775807\.\.18446744073709551614 is out of bounds for dim 0 with size 4"),
    ("narrow start before the start", lambda: lucid.ones(4).narrow(0, -5, 1),
     r"narrow: start -5 is out of range for dim 0 with size 4"),
    ("narrow start past isize", lambda: lucid.ones(4).narrow(0, 2 ** 64, 1), r"narrow: start 18446744073709551616 is out of range"),
    ("index 2**63", lambda: lucid.ones(3)[2 ** 63], r"index: index 9223372036854775808 is out of bounds"),
    ("index -2**64", lambda: lucid.ones(3)[0, ..., -2 ** 64], r"index -18446744073709551616 is out of bounds"),
    ("select -2**63", lambda: lucid.ones(3).select(0, -2 ** 63), r"index -9223372036854775808 is out of bounds for dim 0 with size 3"),
]


@pytest.mark.parametrize("fn,pattern", [c[1:] for c in INDEX_ERRORS], ids=[c[0] for c in INDEX_ERRORS])
def test_out_of_range_ints_raise_index_error(fn, pattern):
    raises(IndexError, pattern, fn)


# ---- extreme ints that have an answer ---------------------------------------------------------

def test_slices_with_extreme_bounds_and_steps_follow_python():
    """Python clamps slice bounds to the sequence; a step past its length takes one
    element. A step of 2**63 - 1 used to overflow the element count (and give no
    elements in a release build)."""
    x = lucid.arange(4)
    seq = list(range(4))
    for s in [slice(None, None, 2 ** 63 - 1), slice(None, None, -2 ** 63), slice(None, None, 2 ** 64),
              slice(None, 2 ** 64), slice(-2 ** 70, None), slice(2 ** 63, None, -1), slice(-2 ** 63, 2 ** 63 - 1, 3),
              slice(2 ** 63 - 1, -2 ** 63, -3), slice(None, None, -2 ** 70)]:
        assert x[s].tolist() == seq[s], s


def test_narrow_counts_a_negative_start_from_the_end():
    assert lucid.arange(6).narrow(0, -4, 3).tolist() == [2, 3, 4]
    assert lucid.arange(6).reshape(2, 3).narrow(-1, -1, 1).tolist() == [[2], [5]]


def test_roll_by_the_ends_of_int64():
    x = lucid.arange(4)
    assert x.roll(2 ** 63 - 1).tolist() == np.roll(np.arange(4), (2 ** 63 - 1) % 4).tolist()
    assert x.roll(-2 ** 63).tolist() == [0, 1, 2, 3]


def test_diagonals_far_off_the_matrix_are_empty():
    m = lucid.ones(2, 3)
    for k in [2 ** 63 - 1, -2 ** 63]:
        assert m.diag(k).shape == (0,)
        assert m.diagonal(k).shape == (0,)
        assert m.tril(k).shape == m.triu(k).shape == (2, 3)


def test_random_bounds_at_the_ends_of_int64():
    lucid.manual_seed(-2 ** 63)
    v = lucid.randint(-2 ** 63, 2 ** 63 - 1, (1000,))
    assert v.dtype == lucid.int64 and v.shape == (1000,)
    lucid.manual_seed(0)
    assert lucid.randint(2 ** 63 - 2, 2 ** 63 - 1, (3,)).tolist() == [2 ** 63 - 2] * 3


def test_broadcast_to_keeps_a_dim_given_as_minus_one():
    assert lucid.ones(3).broadcast_to((2, -1)).shape == (2, 3)
    raises(ValueError, r"broadcast_to: invalid size -2 in \[-2, 3\]", lambda: lucid.ones(3).broadcast_to((-2, 3)))


def test_huge_empty_tensors_print():
    assert repr(lucid.zeros(2 ** 62, 0)) == "tensor([], size=(4611686018427387904, 0), dtype=lucid.float32)"


# ---- a bounded sweep: every Tensor method, every int argument at the edges ---------------------

SWEEP = """
import lucid
EDGE = [0, -1, 1, 2, 2**62, -2**62, 2**63 - 1, -2**63, 2**64, -2**64]
TENSORS = [lucid.ones(3), lucid.ones(3, 4), lucid.tensor(2.0), lucid.zeros(0), lucid.arange(6).reshape(2, 3),
           lucid.ones(2, 3, dtype=lucid.float64, requires_grad=True)]
SKIP = {"backward"}
ARGS = [()] + [p for a in EDGE for p in [(a,), (0, a), (a, 0), (a, a), (0, 0, a), (0, a, 1), ((a,),), ((a, a),)]]
bad = []
def call(what, fn, *args):
    try:
        fn(*args)
    except Exception:
        pass
    except BaseException as e:
        bad.append(f"{what}{args}: {type(e).__module__}.{type(e).__name__}: {e}")
for name in sorted(n for n in dir(lucid.Tensor) if not n.startswith("_") and n not in SKIP):
    for t in TENSORS:
        try:
            m = getattr(t, name)  # properties (.mT of a vector) may raise
        except Exception:
            continue
        if callable(m):
            for args in ARGS:
                call(f"Tensor{tuple(t.shape)}.{name}", m, *args)
for name in ["zeros", "ones", "empty", "eye", "arange", "linspace", "rand", "randn", "full"]:
    for args in ARGS:
        call(f"lucid.{name}", getattr(lucid, name), *args)
for a in EDGE:
    call("lucid.randint", lucid.randint, 0, a, (2,))
    call("lucid.randint", lucid.randint, a, (a,))
    for t in TENSORS[:4]:
        for key in [a, slice(a, None), slice(None, a), slice(None, None, a), (a, a), (Ellipsis, a), (None, a)]:
            call(f"Tensor{tuple(t.shape)}[{key}]", t.__getitem__, key)
            call(f"Tensor{tuple(t.shape)}[{key}] =", t.detach().__setitem__, key, 1)
print("\\n".join(bad))
"""


def test_edge_ints_never_panic_or_abort_anywhere():
    """Every public Tensor method, constructor and index with ints at the edges of
    int64 (and past them) in each argument position: only exceptions (~60 000 calls in
    a second; huge sizes fail before allocating, so nothing is touched)."""
    done = subprocess.run([sys.executable, "-c", SWEEP], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the sweep killed the process (exit {done.returncode}):\n{done.stderr[-3000:]}"
    assert done.stdout.strip() == "", f"calls that did not raise an Exception:\n{done.stdout}"
