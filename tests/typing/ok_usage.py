"""Correct uses of Lucid, written the way the README writes them: `mypy --strict` must
accept every line, and the file runs (tests/test_typing.py). The annotated names below
pin types: mypy checks that each value has the declared type."""

from __future__ import annotations

from typing import Any, Union

from typing_extensions import assert_type

import numpy as np
import numpy.typing as npt

import lucid
from lucid.autograd import grad, gradcheck, hessian, hvp, jacobian, jvp, vjp

# ---- constructors and dtypes ---------------------------------------------------------
x = lucid.tensor([1.0, 2.0, 3.0])
w = lucid.tensor(np.ones(3), dtype=lucid.float64, requires_grad=True)
z = lucid.zeros(2, 3)
z2 = lucid.zeros((2, 3), dtype=lucid.float64)
o = lucid.ones(4, dtype=lucid.float64)
e = lucid.eye(3)
a = lucid.arange(5)
s = lucid.linspace(0.0, 1.0, 11)
r = lucid.randn(3, 3, dtype=lucid.float64)
i = lucid.randint(0, 10, (4,))
f = lucid.full((2, 2), 0.5)
like = lucid.zeros_like(x)
dt: lucid.dtype = x.dtype
is_float: bool = dt.is_floating_point
name: str = lucid.float32.name
lucid.manual_seed(0)

# ---- tensors, operators and indexing -------------------------------------------------
y = x * x + 2 * x - 1.0 / (x + 1)
y = y ** 2 - x @ x
y = -y + abs(x)
m = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
row = m[0]
col = m[:, 1]
corner = m[0, 1]
picked = m[lucid.tensor([1, 0])]
masked = m[m > 2.0]
sub = m[..., None, 0:1]
m[0, 0] = 5.0
m[1] = lucid.tensor([7.0, 8.0])
mask: lucid.Tensor = x >= 2.0
shape: tuple[int, ...] = m.shape
n: int = m.ndim + m.numel() + m.size(0) + len(m)
dims: tuple[int, ...] = m.size()
total: float = float(x.sum())
value = x.sum().item()
arr: npt.NDArray[Any] = x.numpy()
as_np = np.asarray(x)
lst = x.tolist()
t = m.T @ m.mT
red = m.sum(dim=0, keepdim=True).mean() + m.sum((0, 1)) + m.amax(-1).prod()
vals, idx = m.max(dim=1)
sorted_vals, order = x.sort(descending=True)
parts = x.split(1)
first: lucid.Tensor = parts[0]
sign, logabsdet = m.slogdet()
slog = lucid.linalg.slogdet(m)
logdet: lucid.Tensor = slog.logabsdet
v = m.reshape(4).view(2, 2).permute(1, 0).transpose(0, 1).unsqueeze(0).squeeze()
v = v.flatten().expand(3, 4).clamp(min=0.0).to(lucid.float64).double().float()
v = lucid.exp(x) + lucid.sum(x, dim=0) + lucid.clamp(x, max=1.0) + lucid.where(x > 1.0, x, 0.0)
v = lucid.cat([x, x]) + lucid.stack([x, x], dim=0).sum(0).repeat(2)
v = lucid.einsum("ij,j->i", m, lucid.ones(2))
v = lucid.linalg.solve(m, lucid.ones(2)) + lucid.solve(m, lucid.ones(2)) + lucid.linalg.norm(m)
v = lucid.linalg.inv(m) @ lucid.linalg.cholesky(m @ m.T)

# ---- autograd ------------------------------------------------------------------------
loss = (w * w).sum()
loss.backward()
g = w.grad
if g is not None:
    with lucid.no_grad():
        w2 = w - 0.1 * g
w.grad = None
w.requires_grad = True
leaf: bool = w.is_leaf
(gw,) = grad((w * w).sum(), w)
opt = grad([(w * w).sum()], [w], allow_unused=True, create_graph=False)

W1 = lucid.tensor(np.random.default_rng(0).normal(size=(16, 4)))
W2 = lucid.tensor(np.random.default_rng(1).normal(size=(3, 16)))


def mlp(x: lucid.Tensor) -> lucid.Tensor:
    return W2 @ (W1 @ x).tanh()


x4 = lucid.tensor(np.ones(4))
J = jacobian(mlp, x4, vectorize=True)
J = jacobian(mlp, x4, strategy="forward-mode", chunk_size=None)
J = jacobian(lambda x: x * x, lucid.tensor([1.0, 2.0, 3.0]))
print(J.shape)
Ja, Jb = jacobian(lambda p, q: p * q, (x, x))
H = hessian(lambda x: (mlp(x) ** 2).sum(), x4)
out, Jv = jvp(mlp, x4, lucid.ones(4, dtype=lucid.float64))
out, (g1,) = vjp(lambda x: x.sum(), x4)
out, Hv = hvp(lambda x: (x ** 3).sum(), x4, x4)
ok: bool = gradcheck(lambda x: x.sin(), (lucid.tensor([0.5], dtype=lucid.float64),))
print(J.shape, H.shape, Jv.shape, Ja.shape, Jb.shape, Hv.shape, g1.shape)


# ---- tapes ---------------------------------------------------------------------------
def residual(u: lucid.Tensor) -> lucid.Tensor:
    z = lucid.zeros(1, dtype=u.dtype)
    return (lucid.cat([z, u[:-1]]) - 2 * u + lucid.cat([u[1:], z])) * 81 + 2 * u.exp()


u = lucid.tensor(np.zeros(8))
tp = lucid.tape(residual, u)
for _ in range(6):
    u = u - lucid.solve(tp.jacobian(u), tp(u))
print(tp.records, float(tp(u).abs().max()) < 1e-12)
assert np.array_equal(tp.jacobian(u).numpy(), jacobian(residual, u).numpy())
many = tp.map("jacobian", [u, u], vectorize=True)
records: int = tp.records + tp.replays + tp.tapes


def two(p: lucid.Tensor, q: lucid.Tensor) -> tuple[lucid.Tensor, lucid.Tensor]:
    return p * q, p + q


t2 = lucid.tape(two, (x, x))
pq, psum = t2(x, x)
blocks = t2.jacobian((x, x))

# ---- Python protocols, grad modes, sparse results ------------------------------------
first_value: float = float(x[0])
count: int = int(i[0]) + len(x)
truth: bool = bool(x.any())
with lucid.enable_grad():
    z3 = x * 2
lucid.set_grad_enabled(True)


@lucid.no_grad()
def frozen(t: lucid.Tensor) -> lucid.Tensor:
    return t * 2


grad_free: lucid.Tensor = frozen(x)
lucid.autograd.backward([(w * 3).sum()])
sd = m.std(dim=0, correction=0) + m.var(unbiased=False)
vn = lucid.linalg.vector_norm(x, ord=float("inf")) + lucid.linalg.matrix_norm(m, ord="fro")
fa = lucid.from_numpy(np.ones(3)) + lucid.as_tensor([1.0, 2.0, 3.0], dtype=lucid.float64)
dense: npt.NDArray[Any] = jacobian(mlp, x4, sparse=True).toarray()
pattern = lucid.autograd.sparsity(mlp, x4)
nnz: int = pattern.nnz

# ---- the types mypy infers, pinned -----------------------------------------------------
assert_type(jacobian(mlp, x4), lucid.Tensor)
assert_type(jacobian(lambda p, q: p * q, (x, x)), tuple[lucid.Tensor, ...])
assert_type(hessian(lambda p, q: (p * q).sum(), [x, x]), tuple[tuple[lucid.Tensor, ...], ...])
assert_type(jvp(mlp, x4, x4), tuple[lucid.Tensor, lucid.Tensor])
assert_type(vjp(two, (x, x), (x, x)), tuple[tuple[lucid.Tensor, ...], tuple[lucid.Tensor, ...]])
assert_type(tp(u), lucid.Tensor)
assert_type(t2(x, x), tuple[lucid.Tensor, lucid.Tensor])
assert_type(tp.jvp(u, u), tuple[lucid.Tensor, lucid.Tensor])
assert_type(t2.jacobian((x, x)), tuple[lucid.Tensor, ...])
assert_type(m.max(), lucid.Tensor)
assert_type(m.max(dim=0).indices, lucid.Tensor)
assert_type(m.size(1), int)
assert_type(x.sum().item(), Union[float, int, bool])
assert_type(lucid.float64, lucid.dtype)
assert_type(lucid.exp(x), lucid.Tensor)
assert_type(x > 1.0, lucid.Tensor)
assert_type(x == x, lucid.Tensor)
