"""Lucid in process pools: fork, forkserver and spawn children all compute, after the
parent has started its thread pool with large products (one pool, which a forked child
does not inherit running: it computes on its own thread)."""

import subprocess
import sys
import textwrap

import pytest

_POOL = textwrap.dedent("""
    import multiprocessing, sys
    import numpy as np
    import lucid
    from lucid.autograd import jacobian

    def work(seed):
        r = np.random.default_rng(seed)
        A = lucid.tensor(r.random((800, 800)))
        W = lucid.tensor(r.normal(size=(64, 32)))
        J = jacobian(lambda x: (W @ x).tanh(), lucid.tensor(r.normal(size=32))).numpy()
        return float((A @ A).numpy().sum()), J

    if __name__ == "__main__":
        want = [work(s) for s in range(3)]   # the parent's pool is running now
        with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
            got = pool.map(work, range(3))
        for (s1, j1), (s2, j2) in zip(want, got):
            assert abs(s1 - s2) <= 1e-9 * abs(s1), (s1, s2)
            assert np.array_equal(j1, j2)
        print("ok")
""")


_POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="Windows has no fork: multiprocessing offers "
                                 "only the spawn start method there (tested below)")


@pytest.mark.parametrize("method", [pytest.param("fork", marks=_POSIX_ONLY),
                                    pytest.param("forkserver", marks=_POSIX_ONLY), "spawn"])
def test_process_pools_compute_with_every_start_method(method, tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(_POOL)
    done = subprocess.run([sys.executable, str(script), method], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.stdout, done.stderr[-3000:])
