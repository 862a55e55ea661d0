"""A Jacobian too big for memory is an error in every mode, fast, and the process
goes on: the result is allocated (or found impossible) before any sweep, and blocks are
written into it as they are swept, so memory is the result plus the blocks in flight.

Run in a child process under an address-space cap (RLIMIT_AS): a regression shows as a
failed test, not a dead test run."""

import subprocess
import sys
import textwrap

import pytest

resource = pytest.importorskip("resource")

_CHILD = textwrap.dedent("""
    import resource, time
    import numpy as np
    import lucid
    from lucid.autograd import jacobian, hessian
    cap = 4 << 30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    x = lucid.ones(100_000, dtype=lucid.float64)   # |J| = 80 GB
    modes = {
        "default": dict(),
        "vectorize": dict(vectorize=True),
        "vectorize chunk_size=1000": dict(vectorize=True, chunk_size=1000),
        "vectorize chunk_size=1": dict(vectorize=True, chunk_size=1),
        "forward-mode": dict(strategy="forward-mode"),
        "forward-mode vectorize": dict(strategy="forward-mode", vectorize=True),
        "auto": dict(strategy="auto"),
    }
    for name, kw in modes.items():
        t0 = time.perf_counter()
        try:
            jacobian(lambda y: y.cumsum(0), x, **kw)
        except ValueError as e:
            msg = str(e)
            assert msg.startswith("jacobian:"), (name, msg)
            assert "chunk_size=1" not in name or "pass chunk_size" not in msg, (name, msg)
        else:
            raise AssertionError(f"{name}: an 80 GB Jacobian under a 4 GB cap did not raise")
        assert time.perf_counter() - t0 < 5, (name, time.perf_counter() - t0)
    try:
        hessian(lambda y: (y.cumsum(0) ** 2).sum(), x)
    except ValueError as e:
        assert str(e).startswith("jacobian:"), str(e)
    else:
        raise AssertionError("hessian: an 80 GB Hessian under a 4 GB cap did not raise")
    # the process is fine afterwards
    small = lucid.tensor(np.arange(1.0, 5.0))
    J = jacobian(lambda y: y.cumsum(0), small).numpy()
    assert np.array_equal(J, np.tril(np.ones((4, 4)))), J
    print("ok")
""")


def test_a_jacobian_larger_than_memory_is_an_error_in_every_mode():
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stdout, done.stderr[-3000:])


_PEAK = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import lucid
    from lucid.autograd import jacobian
    n = 6000                       # |J| = 288 MB in float64
    x = lucid.tensor(np.linspace(0.1, 1.0, n))
    kw = dict(vectorize=True, chunk_size=500) if sys.argv[1] == "chunked" else {}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    J = jacobian(lambda y: y.cumsum(0), x, **kw)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert J.shape == (n, n)
    print(grown / (n * n * 8))
""")


@pytest.mark.parametrize("mode", ["default", "chunked"])
def test_peak_memory_is_the_result_plus_a_few_blocks(mode):
    """Blocks are written into the result as they are swept: the peak is about |J|,
    not the 2|J| of keeping every block until the end."""
    done = subprocess.run([sys.executable, "-c", _PEAK, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    ratio = float(done.stdout.strip())
    assert ratio < 1.5, f"peak memory grew by {ratio:.2f} x |J|"
