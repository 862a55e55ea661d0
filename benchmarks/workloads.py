"""The benchmark workloads W1-W6 of DESIGN.md and W9-W10 of issue 19, written once for
every library.

Each workload is one function written against a tiny backend namespace ``B`` (``sin``,
``cos``, ``tanh``, ``sqrt``, ``sum``, ``reshape``, ``stack``, ``cross``) plus the
operators every library shares (``+ - * / ** @``, basic slicing and indexing with an
integer array), so Lucid, PyTorch, JAX and HIPS autograd differentiate literally the
same expression. Inputs and constants come from a fixed seed per case, as NumPy arrays;
each library converts them once, outside the timing.

W9 and W10 are two programs of the kind a user brings (issue 19): a skinned hand mesh
posed by 26 angles (the skeleton, the mesh and the data are built below), and
per-observation reprojection residuals of bundle adjustment, whose Jacobian is a
(2, 12) block per observation (``kind="blocks"``: ``vmap`` of ``jacrev``/``jacfwd``).

A case is identified by a small dict of parameters (``{"wid": "W2", "in": 64, ...}``)
so that a memory-probe child process can rebuild exactly the same case from its
command line.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field

import numpy as np

SEED = 20240611


@dataclass
class Case:
    """One workload at one size: inputs, constants and the function to differentiate."""

    params: dict                 # identifies the case: {"wid": "W2", "in": 64, ...}
    title: str                   # short label for tables, e.g. "W2 64-256-32"
    kind: str                    # "jacobian" or "hessian"
    dtype: str                   # "float64" or "float32"
    inputs: list                 # NumPy arrays, one per differentiated input
    consts: dict                 # NumPy arrays the function closes over
    build: object                # build(B, consts) -> f(*inputs)
    in_tuple: bool               # inputs passed as a tuple (several inputs)
    out_tuple: bool              # the function returns a tuple of outputs
    out_sizes: list              # numel of each output (for a Hessian: [n])
    description: str = ""
    notes: list = field(default_factory=list)
    # rows (or whole libraries) not run on this case, with the reason: reverse mode on
    # W9's 153 600 rows, or a library without the case's kind
    skip: dict = field(default_factory=dict)
    # the largest |difference| from Lucid's reference allowed besides the relative
    # tolerance (issue 19: 1e-10 in float64), or None
    abs_tol: float = None

    @property
    def in_sizes(self):
        return [int(a.size) for a in self.inputs]

    @property
    def m(self):
        return int(sum(self.out_sizes))

    @property
    def n(self):
        return int(sum(self.in_sizes))

    @property
    def key(self):
        return json.dumps(self.params, sort_keys=True)

    def rng(self):
        return np.random.default_rng([SEED, zlib.crc32(self.key.encode())])


# --- the functions, written once ------------------------------------------------------

def _w1(B, c):
    def f(x):
        return B.sin(x) * x ** 2
    return f


def _mlp(B, c):
    W1, b1, W2, b2 = c["W1"], c["b1"], c["W2"], c["b2"]

    def f(x):
        return W2 @ B.tanh(W1 @ x + b1) + b2
    return f


def _w3(B, c):
    rows = c["rows"]

    def f(x):
        r = B.reshape(x, (rows, 3))
        return r / B.sqrt(B.sum(r * r, 1, True))
    return f


def _w4(B, c):
    def f(a, b):
        return a * b, B.sum(a[:, None] * b[None, :], 0, False)
    return f


def _w5(B, c):
    def f(x):
        return B.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, None, False)
    return f


# --- W9: a hand skeleton, its mesh and its data ---------------------------------------
#
# 22 bones. Bone 0, the root, carries 6 of the 26 angles: three rotations (about x, y, z)
# and a translation. Bone 1, the palm, is fixed on the root. Each finger has a metacarpal
# fixed on the palm (fanned out about z) and three phalanges: the proximal one flexes
# (about x) and spreads (about z), the middle and distal ones flex: 4 angles per finger.
# A bone's transform is its parent's times a constant offset times its joint rotations,
# all 4x4 homogeneous; rotation by angle a about the unit axis e is Rodrigues' formula
# R = e eᵀ + cos(a) (I - e eᵀ) + sin(a) [e]×, written with three constant matrices.

# per finger: base (x, y) on the palm, fan angle, lengths (metacarpal, proximal, middle)
_FINGERS = [(-0.035, 0.000, 0.70, (0.030, 0.035, 0.030)),     # thumb
            (-0.018, 0.070, 0.12, (0.020, 0.040, 0.025)),
            (0.000, 0.075, 0.00, (0.020, 0.045, 0.028)),
            (0.018, 0.070, -0.10, (0.020, 0.042, 0.026)),
            (0.034, 0.060, -0.22, (0.020, 0.033, 0.020))]


def _skeleton():
    """(parents, joints): each bone's parent (-1 for the root) and its joints as
    (axis 0/1/2, index into θ); bone 0's translation is θ[3:6]."""
    parents, joints = [-1, 0], [[(0, 0), (1, 1), (2, 2)], []]
    for f in range(5):
        meta = len(parents)
        parents += [1, meta, meta + 1, meta + 2]
        joints += [[], [(0, 6 + 4 * f), (2, 7 + 4 * f)], [(0, 8 + 4 * f)], [(0, 9 + 4 * f)]]
    return parents, joints


def _homogeneous(rotation=None, offset=(0.0, 0.0, 0.0)):
    h = np.eye(4)
    if rotation is not None:
        h[:3, :3] = rotation
    h[:3, 3] = offset
    return h


def _rotation_terms():
    """(P, Q, K), each (3, 4, 4): Rot(axis a, angle) = P[a] + cos(angle) Q[a] + sin(angle) K[a]."""
    P, Q, K = np.zeros((3, 4, 4)), np.zeros((3, 4, 4)), np.zeros((3, 4, 4))
    for a in range(3):
        e = np.eye(3)[a]
        skew = np.array([[0.0, -e[2], e[1]], [e[2], 0.0, -e[0]], [-e[1], e[0], 0.0]])
        P[a, :3, :3], P[a, 3, 3] = np.outer(e, e), 1.0
        Q[a, :3, :3] = np.eye(3) - np.outer(e, e)
        K[a, :3, :3] = skew
    return P, Q, K


def _local_offsets():
    """(22, 4, 4): each bone's constant transform in its parent's frame."""
    def fan(angle):
        return np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0, 0, 1.0]])
    local = [np.eye(4), _homogeneous(offset=(0.0, 0.02, 0.0))]
    for x, y, angle, lengths in _FINGERS:
        local.append(_homogeneous(fan(angle), (x, y, 0.0)))
        local += [_homogeneous(offset=(0.0, length, 0.0)) for length in lengths]
    return np.stack(local)


def skinning_transforms(B, theta, c):
    """(22, 12): each bone's skinning transform (posed times inverse rest transform,
    its top 3x4), from the 26 angles θ along the kinematic chain."""
    parents, joints = c["skeleton"]
    P, Q, K, E, local, inv_rest = c["P"], c["Q"], c["K"], c["E"], c["local"], c["inv_rest"]

    def rotation(axis, angle):
        return P[axis] + B.cos(angle) * Q[axis] + B.sin(angle) * K[axis]
    posed = []
    for bone, (parent, bone_joints) in enumerate(zip(parents, joints)):
        if parent < 0:   # the root: translation θ[3:6], then its rotations
            g = local[0] + theta[3] * E[0] + theta[4] * E[1] + theta[5] * E[2]
        else:
            g = posed[parent] @ local[bone]
        for axis, k in bone_joints:
            g = g @ rotation(axis, theta[k])
        posed.append(g)
    return B.reshape(B.stack([(g @ inv_rest[b])[0:3] for b, g in enumerate(posed)]), (22, 12))


class _NumpyB:
    """The backend for building W9's data (rest pose, targets) with NumPy."""
    sin, cos, sqrt, reshape, cross = np.sin, np.cos, np.sqrt, np.reshape, np.cross

    @staticmethod
    def stack(xs):
        return np.stack(xs)

    @staticmethod
    def sum(x, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims)


def hand_data(rng, n, k):
    """W9's constants and its input θ: the skeleton, a mesh of ``n`` rest vertices each
    weighted by 2-4 nearby bones (normalised), ``k`` correspondences (vertex indices)
    and their targets (the mesh posed by a hidden θ, plus noise)."""
    parents, joints = _skeleton()
    P, Q, K = _rotation_terms()
    E = np.zeros((3, 4, 4))
    E[0, 0, 3] = E[1, 1, 3] = E[2, 2, 3] = 1.0
    c = {"skeleton": (parents, joints), "P": P, "Q": Q, "K": K, "E": E, "local": _local_offsets(),
         "inv_rest": np.tile(np.eye(4), (22, 1, 1))}
    # the rest pose (θ = 0): the bones' global transforms, as skinning_transforms builds them
    rest_top = skinning_transforms(_NumpyB, np.zeros(26), c).reshape(22, 3, 4)
    rest_global = np.concatenate([rest_top, np.tile([[[0.0, 0.0, 0.0, 1.0]]], (22, 1, 1))], axis=1)
    c["inv_rest"] = np.linalg.inv(rest_global)
    # vertices around bones 1..21, in the bone's frame then placed at rest
    bone = rng.integers(1, 22, n)
    local_pts = np.column_stack([rng.normal(0.0, 0.008, n), rng.uniform(0.0, 0.03, n), rng.normal(0.0, 0.008, n),
                                 np.ones(n)])
    rest = np.einsum("nij,nj->ni", rest_global[bone], local_pts)
    children = {b: [j for j, p in enumerate(parents) if p == b] for b in range(22)}
    W = np.zeros((n, 22))
    for v, b in enumerate(bone):
        near = [b, parents[b]] + children[b][:1] + ([parents[parents[b]]] if parents[b] > 0 else [])
        near = list(dict.fromkeys(near))[:rng.integers(2, 5)]
        w = rng.uniform(0.2, 1.0, len(near))
        w[0] += 1.0                                   # the vertex's own bone weighs most
        W[v, near] = w / w.sum()
    idx = rng.integers(0, n, k)
    hidden = np.concatenate([rng.uniform(-0.3, 0.3, 3), rng.uniform(-0.05, 0.05, 3), rng.uniform(0.0, 0.8, 20)])
    posed = np.sum((W @ skinning_transforms(_NumpyB, hidden, c)).reshape(n, 3, 4) * rest[:, None, :], 2)
    c.update(W=W, rest=rest, idx=idx, targets=posed[idx] + rng.normal(0.0, 1e-3, (k, 3)))
    return c, hidden + rng.normal(0.0, 0.1, 26)


def _w9(B, c):
    """The skinned hand: pose -> 22 bone transforms -> linear blend skinning of the rest
    vertices -> the corresponding rows, minus the targets."""
    W, rest, idx, targets = c["W"], c["rest"], c["idx"], c["targets"]
    n, k = rest.shape[0], idx.shape[0]

    def f(theta):
        M = skinning_transforms(B, theta, c)                   # (22, 12): 3x4 per bone
        blended = B.reshape(W @ M, (n, 3, 4))                  # per vertex, weighted bones
        skinned = B.sum(blended * rest[:, None, :], 2, False)  # (n, 3)
        return B.reshape(skinned[idx] - targets, (3 * k,))
    return f


def _w10(B, c):
    """One observation's reprojection residual (2,) from its camera (r, t, f, k1, k2) and
    point X. Written on the last axis, so the same function also takes every
    observation at once ((N, 9), (N, 3), (N, 2) -> (N, 2)), as the sparse row uses it."""
    def f(cam, X, observed):
        r, t = cam[..., 0:3], cam[..., 3:6]
        focal, k1, k2 = cam[..., 6:7], cam[..., 7:8], cam[..., 8:9]
        # Rodrigues: R X = X cos θ + (k × X) sin θ + k (k·X)(1 - cos θ), θ = |r|, k = r/θ
        theta = B.sqrt(B.sum(r * r, -1, True))
        axis = r / theta
        cos, sin = B.cos(theta), B.sin(theta)
        P = X * cos + B.cross(axis, X) * sin + axis * (B.sum(axis * X, -1, True) * (1.0 - cos)) + t
        p = -P[..., 0:2] / P[..., 2:3]                       # projection
        r2 = B.sum(p * p, -1, True)
        distortion = 1.0 + k1 * r2 + k2 * r2 * r2            # radial distortion
        return focal * distortion * p - observed
    return f


# --- cases ----------------------------------------------------------------------------

def make_case(params: dict) -> Case:
    """Build the case named by ``params`` (inputs drawn from the fixed seed)."""
    p = dict(params)
    wid = p["wid"]
    if wid == "W1":
        n = int(p["n"])
        case = Case(p, f"W1 n={n}", "jacobian", "float64", [], {}, _w1, False, False, [n],
                    "sin(x) * x**2 (diagonal Jacobian)")
        case.inputs = [case.rng().uniform(-2.0, 2.0, n)]
    elif wid in ("W2", "W6"):
        n_in, hidden, out = int(p["in"]), int(p["hidden"]), int(p["out"])
        dtype = "float32" if wid == "W6" else "float64"
        name = f"{wid} {n_in}-{hidden}-{out}"
        case = Case(p, name, "jacobian", dtype, [], {}, _mlp, False, False, [out],
                    f"MLP W2 @ tanh(W1 @ x + b1) + b2, {n_in}->{hidden}->{out}, {dtype}")
        rng = case.rng()
        case.consts = {
            "W1": rng.standard_normal((hidden, n_in)) / math.sqrt(n_in),
            "b1": rng.standard_normal(hidden) * 0.1,
            "W2": rng.standard_normal((out, hidden)) / math.sqrt(hidden),
            "b2": rng.standard_normal(out) * 0.1,
        }
        case.inputs = [rng.standard_normal(n_in)]
    elif wid == "W3":
        rows = int(p.get("rows", 100))
        case = Case(p, f"W3 n=m={3 * rows}", "jacobian", "float64", [], {"rows": rows}, _w3,
                    False, False, [3 * rows],
                    f"rows of x.reshape({rows}, 3) normalised to unit length")
        case.inputs = [case.rng().standard_normal(3 * rows)]
    elif wid == "W4":
        n = int(p.get("n", 50))
        case = Case(p, f"W4 2x{n}->2x{n}", "jacobian", "float64", [], {}, _w4, True, True, [n, n],
                    "two inputs, two outputs: (a*b, (a[:,None]*b[None,:]).sum(0))")
        rng = case.rng()
        case.inputs = [rng.standard_normal(n), rng.standard_normal(n)]
    elif wid == "W5":
        n = int(p.get("n", 100))
        case = Case(p, f"W5 hess n={n}", "hessian", "float64", [], {}, _w5, False, False, [n],
                    "Hessian of the Rosenbrock sum")
        case.inputs = [case.rng().uniform(-1.5, 1.5, n)]
    elif wid == "W9":
        n, k = int(p.get("n", 10_000)), int(p.get("k", 51_200))
        case = Case(p, f"W9 n={n} k={k}", "jacobian", "float64", [], {}, _w9, False, False, [3 * k],
                    f"skinned hand: 26 angles -> 22 bone transforms, ({n}, 22) weights @ transforms "
                    f"applied to {n} rest vertices, {k} rows gathered, minus targets; forward mode")
        case.consts, theta = hand_data(case.rng(), n, k)
        case.inputs = [theta]
        case.skip = {row: f"reverse mode would sweep {3 * k} rows (m = {3 * k} >> n = 26)" for row in (
            "lucid rev loop", "lucid rev vec", "lucid rev vec chunk", "torch AF vec=False (default)",
            "torch AF vec=True", "torch.func jacrev", "jax jacrev (eager)", "jax jit jacrev")}
        case.skip.update(hips="HIPS autograd's jacobian is reverse mode only (a sweep per output row)",
                         casadi="not ported (a symbolic build of the (n, 22) @ (22, 12) product and the gather)")
        case.abs_tol = 1e-10
    elif wid == "W10":
        obs = int(p.get("obs", 100_000))
        case = Case(p, f"W10 obs={obs}", "blocks", "float64", [], {}, _w10, True, False, [2 * obs],
                    f"reprojection residuals (Rodrigues with cross, projection, radial distortion) of "
                    f"{obs} observations; per observation the (2, 9) camera and (2, 3) point blocks "
                    f"by vmap(jacrev / jacfwd)")
        rng = case.rng()
        axis = rng.standard_normal((obs, 3))
        angle = rng.uniform(0.05, 0.5, (obs, 1))               # |r| kept away from 0 (k = r/|r|)
        r = axis / np.linalg.norm(axis, axis=1, keepdims=True) * angle
        t = rng.uniform(-0.5, 0.5, (obs, 3)) + np.array([0.0, 0.0, -6.0])   # points in front: P_z < 0
        focal = rng.uniform(400.0, 600.0, (obs, 1))
        k1, k2 = rng.uniform(-1e-1, 1e-1, (obs, 1)), rng.uniform(-1e-2, 1e-2, (obs, 1))
        cams = np.hstack([r, t, focal, k1, k2])
        X = rng.uniform(-1.0, 1.0, (obs, 3))
        case.inputs = [cams, X]
        case.consts = {"observed": rng.uniform(-100.0, 100.0, (obs, 2))}
        case.skip.update(hips="HIPS autograd has no vmap", casadi="not ported (per-observation blocks)")
        case.abs_tol = 1e-10
    else:
        raise ValueError(f"unknown workload {wid!r}")
    if case.dtype == "float32":
        case.inputs = [a.astype(np.float32) for a in case.inputs]
        case.consts = {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v)
                       for k, v in case.consts.items()}
    if "chunk" in p:
        case.notes.append(f"chunked modes use chunk_size={p['chunk']}")
    return case


# W9 and W10 (issue 19) at full size; `--smoke` (`make test`) runs them tiny
W9_FULL, W10_FULL = {"wid": "W9", "n": 10_000, "k": 51_200}, {"wid": "W10", "obs": 100_000}
W9_SMOKE, W10_SMOKE = {"wid": "W9", "n": 200, "k": 512}, {"wid": "W10", "obs": 200}


def main_cases(quick: bool, smoke: bool = False) -> list:
    """The table of DESIGN.md and issue 19's W9, W10; ``quick`` keeps one size per
    workload; ``smoke`` makes W9 and W10 tiny and leaves out their eager JAX rows (the
    first call of eager JAX compiles each of their ops, several seconds whatever the
    size: too long for `make test`)."""
    cases = [make_case(p) for p in _main_params(quick)]
    if not smoke:
        return cases + [make_case(W9_FULL), make_case(W10_FULL)]
    for case in (make_case(W9_SMOKE), make_case(W10_SMOKE)):
        case.skip.update({row: "eager JAX: left out of --smoke (its first call compiles every op, seconds)"
                          for row in ("jax jacrev (eager)", "jax jacfwd (eager)") if row not in case.skip})
        cases.append(case)
    return cases


def _main_params(quick: bool) -> list:
    if quick:
        params = [
            {"wid": "W1", "n": 256},
            {"wid": "W2", "in": 64, "hidden": 256, "out": 32},
            {"wid": "W3", "rows": 100},
            {"wid": "W4", "n": 50},
            {"wid": "W5", "n": 100},
            {"wid": "W6", "in": 64, "hidden": 256, "out": 32},
        ]
    else:
        params = [
            {"wid": "W1", "n": 16},
            {"wid": "W1", "n": 256},
            {"wid": "W1", "n": 1024},
            {"wid": "W2", "in": 64, "hidden": 256, "out": 32},
            {"wid": "W2", "in": 64, "hidden": 256, "out": 512},
            {"wid": "W2", "in": 1024, "hidden": 256, "out": 8},
            {"wid": "W3", "rows": 100},
            {"wid": "W4", "n": 50},
            {"wid": "W5", "n": 100},
            {"wid": "W6", "in": 64, "hidden": 256, "out": 32},
        ]
    return params


def scaling_series(small: bool) -> dict:
    """Time vs m for W2 (64-256-out) and vs n for W1; ``small``: one point each (smoke)."""
    outs = [128] if small else [32, 128, 512, 2048]
    ns = [64] if small else [16, 64, 256, 1024, 4096]
    return {
        "W2 time vs out (64-256-out)": [
            make_case({"wid": "W2", "in": 64, "hidden": 256, "out": o}) for o in outs],
        "W1 time vs n": [make_case({"wid": "W1", "n": n}) for n in ns],
    }


def chunk_memory_series(small: bool) -> list:
    """W2 64-256-out with a fixed chunk_size, for the memory-vs-output-size series."""
    outs = [256] if small else [256, 1024, 4096]
    return [make_case({"wid": "W2", "in": 64, "hidden": 256, "out": o, "chunk": 64}) for o in outs]
