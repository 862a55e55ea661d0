"""A stream of random junk into the public API: random lucid functions, Tensor methods,
constructors and ``lucid.autograd`` functions, called with random junk arguments (ints
at and past the ends of int64, NaN and inf, strings, None, lists, tuples, tensors of
other dtypes and shapes, NumPy arrays). Each call may succeed or raise an ordinary
``Exception``; never a Rust panic (``pyo3_runtime.PanicException``, a
``BaseException`` that ``except Exception`` lets through) and never an abort.

The stream runs in a child process whose address space is capped at 4 GiB, so a junk
size that does allocate fails there (as a ValueError naming the op) instead of taking
the machine's memory, and a crash fails this test instead of the test run.
tests/test_reliability.py sweeps the edges of int64 through every int position
deterministically; this stream adds the other kinds of junk and mixes them.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, math, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import lucid
import lucid.autograd
import lucid.autograd.functional

# Ints that are sizes no machine holds fail before allocating; small ones are cheap.
INTS = [0, 1, 2, 3, -1, -2, 2**31, 10**12, 2**62, 2**63 - 1, 2**63, 2**64, -2**63, -2**64 - 1]
FLOATS = [0.5, -1.5, 0.0, float("nan"), float("inf"), -float("inf"), 1e300]
NAMES = ["a", "", "sum", "float32", "reverse-mode", "forward-mode"]
CALLABLES = [lambda t: t * t, lambda t: t.sum(), lambda *t: t[0], lucid.exp, lambda t: "junk", lambda t: 3]

def tensors():
    return [lucid.ones(3), lucid.ones(2, 3), lucid.tensor(2.0), lucid.zeros(0), lucid.arange(6),
            lucid.tensor([True, False]), lucid.ones(2, 2, dtype=lucid.float64, requires_grad=True),
            lucid.tensor([[2.0, 1.0], [1.0, 3.0]])]

def junk(draw_index, fresh):
    kind = draw_index(12)
    if kind == 0:
        return INTS[draw_index(len(INTS))]
    if kind == 1:
        return FLOATS[draw_index(len(FLOATS))]
    if kind == 2:
        return NAMES[draw_index(len(NAMES))]
    if kind == 3:
        return None
    if kind == 4:
        return [INTS[draw_index(len(INTS))] for _ in range(draw_index(3))]
    if kind == 5:
        return tuple(INTS[draw_index(5)] for _ in range(draw_index(3)))
    if kind == 6:
        return ["a", None][: draw_index(3)]
    if kind in (7, 8):
        return fresh[draw_index(len(fresh))]
    if kind == 9:
        return [np.zeros(2), np.arange(3), np.array(["x"]), np.array([1j]), np.float64(2.0), np.int64(-1)][draw_index(6)]
    if kind == 10:
        return [lucid.float32, lucid.float64, lucid.int64, lucid.bool_, True, False][draw_index(6)]
    return CALLABLES[draw_index(len(CALLABLES))]

KWARGS = ["dim", "keepdim", "dtype", "requires_grad", "decimals", "offset", "diagonal", "chunk_size",
          "strategy", "vectorize", "create_graph", "strict", "p", "correction", "descending", "out"]
# global state a call could leave changed for the next one
SKIP = {"set_grad_enabled", "no_grad", "enable_grad", "manual_seed"}
FUNCTIONS = sorted(n for n in lucid.__all__ if callable(getattr(lucid, n)) and n not in SKIP
                   and not isinstance(getattr(lucid, n), lucid.dtype))
METHODS = sorted(n for n in dir(lucid.Tensor) if not n.startswith("_") and n not in SKIP)


def _ours(module, n):
    # a public function of lucid's own, not a name it imports (typing.overload)
    obj = getattr(module, n)
    return not n.startswith("_") and callable(obj) and (getattr(obj, "__module__", "") or "").startswith("lucid")


AUTOGRAD = sorted({f"autograd.{n}" for n in dir(lucid.autograd) if _ours(lucid.autograd, n)} |
                  {f"func.{n}" for n in lucid.func.__all__} |
                  {f"autograd.functional.{n}" for n in dir(lucid.autograd.functional) if _ours(lucid.autograd.functional, n)
                   and not isinstance(getattr(lucid.autograd.functional, n), type)})
DUNDERS = ["__getitem__", "__setitem__", "__add__", "__matmul__", "__pow__", "__floordiv__", "__mod__", "__lt__"]
bad = []
calls = [0]

def target(draw_index, fresh):
    family = draw_index(4)
    if family == 0:
        name = FUNCTIONS[draw_index(len(FUNCTIONS))]
        return f"lucid.{name}", getattr(lucid, name)
    if family == 3:
        name = AUTOGRAD[draw_index(len(AUTOGRAD))]
        obj = lucid
        for part in name.split("."):
            obj = getattr(obj, part)
        return f"lucid.{name}", obj
    t = fresh[draw_index(len(fresh))]
    name = (METHODS + DUNDERS)[draw_index(len(METHODS) + len(DUNDERS))]
    try:
        return f"Tensor{tuple(t.shape)}.{name}", getattr(t, name)
    except Exception:
        return None, None  # a property that raises (.mT of a vector)

@settings(max_examples=int(sys.argv[1]), deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def stream(data):
    draw_index = lambda n: data.draw(st.integers(0, n - 1))
    fresh = tensors()
    for _ in range(8):
        what, fn = target(draw_index, fresh)
        if fn is None:
            continue
        args = [junk(draw_index, fresh) for _ in range(draw_index(4))]
        kwargs = {KWARGS[draw_index(len(KWARGS))]: junk(draw_index, fresh) for _ in range(draw_index(2))}
        # drawn before the call: a draw inside the try that runs out of data raises
        # hypothesis's StopTest, a BaseException the except below would report
        then = [junk(draw_index, fresh) for _ in range(draw_index(3))] if draw_index(2) else None
        calls[0] += 1
        try:
            out = fn(*args, **kwargs)
            if callable(out) and then is not None:  # a tape, a returned function: call it too
                out(*then)
        except Exception:
            pass
        except BaseException as e:  # noqa: B036 - a PanicException is what this looks for
            bad.append(f"{what}(*{args!r}, **{kwargs!r}): {type(e).__module__}.{type(e).__name__}: {e}")
        finally:
            lucid.set_grad_enabled(True)

stream()
print(json.dumps({"calls": calls[0], "bad": bad}))
"""


def test_a_stream_of_junk_raises_only_ordinary_exceptions():
    done = subprocess.run([sys.executable, "-c", CHILD, "300"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout, (
        f"the junk stream killed the process (exit {done.returncode}):\n{done.stderr[-3000:]}"
    )
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["calls"] > 1000, got["calls"]
    assert not got["bad"], "calls that raised something other than an Exception:\n" + "\n".join(got["bad"])
