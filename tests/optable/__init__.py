"""The op conformance table: one entry per op (and variant), gathered from one module
per op family. ``tests/test_ops_conformance.py`` runs every entry through the same
checks: float32 forward values against NumPy, float64 first derivatives against
central differences, second derivatives against central differences of the first,
the batched-cotangent sweep against row-by-row sweeps, and non-contiguous inputs.

To add an op, add an ``OpCase`` to its family's module; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Sequence


@dataclass
class OpCase:
    """One op variant.

    fn:      the op on lucid tensors, ``fn(*tensors) -> Tensor``
    ref:     the same on NumPy float64 arrays (forward reference)
    shapes:  input shapes, one tuple per input; each entry of ``variants`` is one such tuple
    domain:  (low, high) of the uniform samples for every input, or one pair per input
    smooth:  check second derivatives too
    wrt:     indices of the inputs to differentiate (default: all)
    """

    name: str
    fn: Callable
    ref: Callable
    variants: Sequence[Sequence[tuple]]
    domain: object = (-2.0, 2.0)
    smooth: bool = True
    wrt: Sequence[int] | None = None
    atol: float = 1e-6
    rtol: float = 1e-5
    f32_rtol: float = 2e-5
    make: Callable | None = None  # custom sampler: make(rng, shape, index) -> ndarray
    tags: set = field(default_factory=set)

    def sample(self, rng, shapes):
        import numpy as np

        arrays = []
        for i, shape in enumerate(shapes):
            if self.make is not None:
                arrays.append(np.asarray(self.make(rng, shape, i), dtype=np.float64))
                continue
            lo, hi = self.domain[i] if isinstance(self.domain[0], (tuple, list)) else self.domain
            arrays.append(rng.uniform(lo, hi, size=shape))
        return arrays

    def wrt_of(self, arrays):
        """The indices of the differentiated inputs."""
        return list(self.wrt) if self.wrt is not None else list(range(len(arrays)))

    def partial(self, arrays, wrt):
        """The op as a function of the differentiated inputs only (the others held
        fixed at `arrays`, as float64 tensors)."""
        import numpy as np

        import lucid

        fixed = [lucid.tensor(np.asarray(a, dtype=np.float64)) for a in arrays]

        def f(*xs):
            args = list(fixed)
            for i, x in zip(wrt, xs):
                args[i] = x
            return self.fn(*args)

        return f


def central_jacobian(f, arrays, eps=1e-6):
    """Central differences of f (NumPy in, NumPy out) w.r.t. each array: (m, n_j) blocks."""
    import numpy as np

    base = [np.array(a, dtype=np.float64) for a in arrays]
    blocks = []
    for j, a in enumerate(base):
        cols = []
        for k in range(a.size):
            d = np.zeros(a.size)
            d[k] = eps
            plus = [b.copy() for b in base]
            minus = [b.copy() for b in base]
            plus[j] = (a.ravel() + d).reshape(a.shape)
            minus[j] = (a.ravel() - d).reshape(a.shape)
            cols.append((np.ravel(f(*plus)) - np.ravel(f(*minus))) / (2 * eps))
        blocks.append(np.stack(cols, axis=1) if cols else np.zeros((np.size(f(*base)), 0)))
    return blocks


def all_cases() -> list[OpCase]:
    cases: list[OpCase] = []
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        cases.extend(getattr(module, "CASES", []))
    return cases
