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


def all_cases() -> list[OpCase]:
    cases: list[OpCase] = []
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        cases.extend(getattr(module, "CASES", []))
    return cases
