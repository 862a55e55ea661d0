"""In-place writes and views with PyTorch's semantics (NOTE [views and in-place writes]
in crates/lucid-python/src/views.rs): aliases and views see writes, writes into views
reach their base, derivatives through in-place writes are exact, and a leaf that
requires grad is written only under no_grad."""

import math
import warnings

import numpy as np
import pytest

import lucid
from lucid.autograd import jacobian


def f64(values, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def central_jacobian(f, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        cols.append((f(x + d) - f(x - d)).reshape(-1) / (2 * eps))
    return np.stack(cols, axis=-1)


# ---- aliases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, expected",
    [
        ("+=", [3.0, 4.0]), ("-=", [-1.0, 0.0]), ("*=", [2.0, 4.0]), ("/=", [0.5, 1.0]),
        ("//=", [0.0, 1.0]), ("%=", [1.0, 0.0]), ("**=", [1.0, 4.0]),
    ],
)
def test_augmented_assignment_writes_the_object(op, expected):
    a = lucid.tensor([1.0, 2.0])
    b = a
    exec(f"b {op} 2", {}, {"b": b})
    assert a.tolist() == expected and a._version == 1


def test_methods_return_self_and_match_the_out_of_place_op():
    for name in ["exp", "sin", "sqrt", "neg", "sigmoid", "floor", "round", "abs"]:
        t = f64([0.25, 2.5])
        expected = getattr(t, name)().tolist()
        assert getattr(t, name + "_")() is t
        assert t.tolist() == expected, name
    t = f64([0.5, 2.0])
    assert t.add_(1.0).mul_(2.0).clamp_(max=4.0) is t and t.tolist() == [3.0, 4.0]
    assert t.zero_().tolist() == [0.0, 0.0] and t.fill_(1.5).tolist() == [1.5, 1.5]
    assert t.copy_(np.array([7.0, 8.0])).tolist() == [7.0, 8.0] and t.dtype == lucid.float64


# ---- views -----------------------------------------------------------------------------

VIEWS = {
    "index": lambda t: t[1],
    "slice": lambda t: t[:, 1:],
    "step": lambda t: t[:, ::2],
    "none-ellipsis": lambda t: t[None, ..., 0],
    "view": lambda t: t.view(6),
    "reshape": lambda t: t.reshape(3, 2),
    "flatten": lambda t: t.flatten(),
    "unsqueeze": lambda t: t.unsqueeze(0),
    "squeeze": lambda t: t.unsqueeze(1).squeeze(1),
    "transpose": lambda t: t.transpose(0, 1),
    "t": lambda t: t.t(),
    "T": lambda t: t.T,
    "mT": lambda t: t.mT,
    "permute": lambda t: t.permute(1, 0),
    "narrow": lambda t: t.narrow(1, 1, 2),
    "select": lambda t: t.select(1, -1),
    "split": lambda t: t.split(2, dim=1)[1],
    "chunk": lambda t: t.chunk(2, dim=0)[0],
    "diagonal": lambda t: t.diagonal(),
    "detach": lambda t: t.detach(),
    "chain": lambda t: t.T[1:][::2],
}


def base23():
    return lucid.arange(0, 6, 1, dtype=lucid.float64).reshape(2, 3)


@pytest.mark.parametrize("name", VIEWS)
def test_a_write_into_a_view_reaches_its_base(name):
    base = base23()
    expected = np.arange(6.0).reshape(2, 3)
    v = VIEWS[name](base)
    n = v.numel()
    v.copy_(lucid.arange(100, 100 + n, 1, dtype=lucid.float64).reshape(*v.shape))
    # the same write through NumPy's views
    VIEWS[name](_NumpyView(expected))[...] = np.arange(100.0, 100 + n).reshape(v.shape)
    assert base.tolist() == expected.tolist()
    assert base._version == 1 and v._version == 1


@pytest.mark.parametrize("name", VIEWS)
def test_a_view_sees_writes_into_its_base_and_its_siblings(name):
    base = base23()
    v, w = VIEWS[name](base), VIEWS[name](base)
    base.mul_(10.0)
    assert v.tolist() == VIEWS[name](base23() * 10.0).tolist()
    v.add_(1.0)
    assert w.tolist() == v.tolist()


class _NumpyView:
    """A NumPy array behind the Tensor view methods used by VIEWS, to compute what a
    write should do independently of Lucid."""

    def __init__(self, a):
        self.a = a

    def __getitem__(self, key):
        return self.a[key]

    def __setitem__(self, key, value):
        self.a[key] = value

    def view(self, *s):
        return self.a.reshape(*s)

    reshape = view

    def flatten(self):
        return self.a.reshape(-1)

    def unsqueeze(self, d):
        return _NumpyView(np.expand_dims(self.a, d))

    def transpose(self, i, j):
        return np.swapaxes(self.a, i, j)

    def t(self):
        return self.a.T

    @property
    def T(self):
        return _NumpyView(self.a.T)

    mT = T

    def permute(self, *d):
        return self.a.transpose(d)

    def squeeze(self, d):
        return np.squeeze(self.a, d)

    def _along(self, d, key):
        idx = [slice(None)] * self.a.ndim
        idx[d] = key
        return self.a[tuple(idx)]

    def narrow(self, d, s, n):
        return self._along(d, slice(s, s + n))

    def select(self, d, i):
        return self._along(d, i)

    def split(self, n, dim):
        return np.split(self.a, [n], axis=dim)

    def chunk(self, n, dim):
        return np.array_split(self.a, n, axis=dim)

    def diagonal(self):
        # the main diagonal of a contiguous 2x3 array: flat positions 0 and 4
        return self.a.reshape(-1)[::4]

    def detach(self):
        return self.a


def test_the_documented_examples_of_lost_writes():
    t = lucid.zeros(2, 2)
    t[0][0] = 5
    r = t[0]
    r[1] = 7
    t.view(4)[3] = 9
    assert t.tolist() == [[5.0, 7.0], [0.0, 9.0]]
    assert r.tolist() == [5.0, 7.0]


def test_a_broadcast_view_cannot_be_written_and_nothing_changes():
    base = lucid.zeros(3)
    e = base.expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e[0, 0] = 1.0
    with pytest.raises(RuntimeError, match="more than one element"):
        e.add_(1.0)
    assert base.tolist() == [0.0, 0.0, 0.0] and base._version == 0
    # a broadcast view still sees writes into its base
    base[1] = 2.0
    assert e.tolist() == [[0.0, 2.0, 0.0]] * 2


def test_advanced_indexing_copies():
    base = lucid.zeros(3)
    c = base[[0, 1]]
    c[0] = 1.0
    assert base.tolist() == [0.0, 0.0, 0.0]


def test_views_die_and_are_forgotten():
    base = lucid.zeros(100)
    for i in range(1000):
        base[i % 100] += 1.0
    assert base.tolist() == [10.0] * 100


# ---- errors leave everything as it was -------------------------------------------------


def test_dtype_and_shape_rules_of_pytorch():
    i = lucid.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to the desired output type int64"):
        i += 1.5
    i *= 3
    assert i.tolist() == [3, 6] and i.dtype == lucid.int64
    b = lucid.tensor([True, False])
    with pytest.raises(RuntimeError, match="can't be cast"):
        b += 1
    a = lucid.ones(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        a += lucid.ones(2, 3)
    a += lucid.ones(1, 3)[0]
    a += f64([1.0, 1.0, 1.0])  # float64 into float32: cast, as PyTorch
    assert a.tolist() == [3.0, 3.0, 3.0] and a.dtype == lucid.float32 and a._version == 2
    with pytest.raises(TypeError):
        a += "x"
    assert a.tolist() == [3.0, 3.0, 3.0] and a._version == 2


# ---- leaves and gradients --------------------------------------------------------------


def test_a_leaf_that_requires_grad_is_written_only_without_grad_mode():
    w = f64([1.0, 2.0], True)
    for write in (lambda: w.add_(1.0), lambda: w.__setitem__(0, 5.0), lambda: w[0].mul_(2.0)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad cannot be modified in place"):
            write()
    assert w.tolist() == [1.0, 2.0] and w._version == 0
    with lucid.no_grad():
        w[0] = 5.0
    assert w.is_leaf and w.requires_grad and w.tolist() == [5.0, 2.0]


def test_the_sgd_loop_runs_for_many_iterations():
    # minimise |w - c|^2 with w -= lr * w.grad; the closed form is c + (w0 - c)(1 - 2 lr)^k
    c = np.array([3.0, -1.0])
    w = f64([0.0, 0.0], True)
    lr = 0.1
    for _ in range(200):
        loss = ((w - f64(c)) ** 2).sum()
        loss.backward()
        with lucid.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    expected = c + (0.0 - c) * (1 - 2 * lr) ** 200
    assert np.allclose(w.numpy(), expected, rtol=0, atol=1e-12)
    assert w.is_leaf and w.requires_grad and w.grad.tolist() == [0.0, 0.0]


def test_grad_is_an_alias_of_the_gradient_slot():
    w = f64([1.0, 2.0], True)
    (w * w).sum().backward()
    g = w.grad
    assert g is w.grad
    g.mul_(0.5)
    assert w.grad.tolist() == [1.0, 2.0]
    w.grad[0] = 7.0
    assert w.grad.tolist() == [7.0, 2.0]
    w.grad = None
    assert w.grad is None


def test_a_detached_alias_writes_a_leaf_without_the_graph():
    w = f64([1.0, 2.0], True)
    w.detach().zero_()
    assert w.tolist() == [0.0, 0.0] and w.is_leaf and w.requires_grad


def test_writing_a_graph_value_into_a_plain_tensor_enters_the_graph():
    w = f64([2.0, 3.0], True)
    buf = lucid.zeros(3, dtype=lucid.float64)
    buf[1:] = w * w
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    assert w.grad.tolist() == [4.0, 6.0]


def test_zeroing_a_graph_value_keeps_it_in_the_graph():
    x = f64([1.0, 2.0], True)
    y = x * 3.0
    y.zero_()
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_a_value_saved_for_backward_before_a_write_is_the_one_differentiated():
    # PyTorch raises here ("modified by an inplace operation"); the graph keeps its own
    # values, so the derivative is exact: d/dx sum(exp(x) * 2 + exp(x)) = 3 exp(x)
    x = f64([0.5, 1.0], True)
    y = x.exp()
    z = y * 2.0  # saves y
    y.add_(1.0)
    (z + y).sum().backward()
    assert np.allclose(x.grad.numpy(), 3 * np.exp([0.5, 1.0]), rtol=1e-14)


def _program_a(x):
    y = x.exp()
    y.mul_(2.0)
    y[0] = y[1] * y[2]
    y[1:] += x[:2] ** 2
    return y


def _program_b(x):
    z = lucid.zeros(3, 3, dtype=x.dtype)
    z[0] = x
    z[:, 1] += x
    z.diagonal().mul_(x)
    z.T[2].sub_(x.sin())
    return z.reshape(9)


def _program_c(x):
    y = x * 1.0
    a, b = y.split(2)
    a.mul_(b.sum())
    y.clamp_(min=-1.0, max=4.0)
    return y.cumsum(0)


@pytest.mark.parametrize("program", [_program_a, _program_b, _program_c])
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobians_through_in_place_writes_match_central_differences(program, strategy):
    x0 = np.array([0.3, -0.7, 1.1])
    if program is _program_c:
        x0 = np.array([0.3, -0.7, 1.1, 0.4])
    got = jacobian(program, f64(x0), strategy=strategy, vectorize=strategy == "forward-mode").numpy()

    def value(x):
        with lucid.no_grad():
            return program(f64(x)).numpy()

    assert np.allclose(got, central_jacobian(value, x0), rtol=1e-7, atol=1e-7)


def test_an_input_written_inside_a_jacobian_is_the_leaf_error():
    def f(x):
        x[0] = 1.0
        return x

    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        jacobian(f, f64([1.0, 2.0]))


def test_in_place_writes_against_pytorch():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.3, -0.7, 1.1])
    xl = f64(x0, True)
    xt = torch.tensor(x0, requires_grad=True)
    for mod, x in ((lucid, xl), (torch, xt)):
        z = mod.zeros(3, 3, dtype=mod.float64)
        z[0] = x
        z[:, 1] += x
        z.diagonal().mul_(x)
        z.T[2].sub_(x.sin())
        (z * z).sum().backward()
    assert np.allclose(xl.grad.numpy(), xt.grad.numpy(), rtol=1e-14)


# ---- identity, hashing, tapes ----------------------------------------------------------


def test_hash_is_identity_and_survives_writes():
    t = lucid.zeros(2)
    d = {t: "t"}
    t += 1.0
    assert d[t] == "t" and hash(t) == hash(t)


def test_a_recorded_function_that_writes_in_place_runs_eagerly_and_right():
    def f(x):
        y = x * 2.0
        y[0] = y[1] * x[0]
        return y

    x = f64([1.0, 2.0, 3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = lucid.tape(f, x)
        x2 = f64([2.0, 5.0, 1.0])
        got = t.jacobian(x2).numpy()
    assert any("in-place write" in str(w.message) for w in caught)
    assert np.allclose(got, jacobian(f, x2).numpy())
    assert math.isclose(t(x2)[0].item(), 20.0)
