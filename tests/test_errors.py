"""Every error a user can trigger in the foundation surface, by exception type:
ValueError for shapes and argument values, TypeError for dtypes and types,
RuntimeError for graph state, IndexError for indices. Each case checks the type AND
a message fragment naming the op and the shapes, dtypes or values involved.
(The Jacobian family's errors are in test_jacobian_contract.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import backward, grad


def f64(values, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


X = np.arange(6.0).reshape(2, 3)


def x23():
    return lucid.tensor(X)


def _setitem(t, key, value):
    t[key] = value


# ---- ValueError: shapes and argument values --------------------------------------------------

VALUE_ERRORS = [
    ("add broadcast", lambda: x23() + lucid.ones(4), r"add: shapes \[2, 3\] and \[4\] cannot be broadcast"),
    ("sub broadcast", lambda: lucid.ones(2) - lucid.ones(3), r"sub: shapes \[2\] and \[3\]"),
    ("mul broadcast", lambda: lucid.ones(2, 3) * lucid.ones(3, 2), r"mul: shapes \[2, 3\] and \[3, 2\]"),
    ("div broadcast", lambda: lucid.ones(2) / lucid.ones(3), r"div: shapes \[2\] and \[3\]"),
    ("pow broadcast", lambda: lucid.ones(2) ** lucid.ones(3), r"pow: shapes \[2\] and \[3\]"),
    ("matmul inner", lambda: x23() @ lucid.ones(4, dtype=lucid.float64), r"matmul: shapes \[2, 3\] and \[4, 1\] cannot be multiplied \(2x3 and 4x1\)"),
    ("matmul 2d", lambda: lucid.ones(2, 3) @ lucid.ones(2, 3), r"matmul: shapes \[2, 3\] and \[2, 3\] cannot be multiplied"),
    ("matmul 0-d", lambda: lucid.tensor(1.0) @ lucid.ones(2), r"matmul: both arguments need at least 1 dim, got shapes \[\] and \[2\]"),
    ("matmul batch", lambda: lucid.ones(2, 3, 4) @ lucid.ones(3, 4, 2), r"matmul: the batch dims of shapes \[2, 3, 4\] and \[3, 4, 2\] cannot be broadcast together"),
    ("reshape size", lambda: x23().reshape(4, 2), r"reshape: shape \[4, 2\] is invalid for input of size 6"),
    ("reshape infer", lambda: x23().reshape(4, -1), r"reshape: shape \[4, -1\] is invalid for input of size 6"),
    ("reshape two -1", lambda: x23().reshape(-1, -1), r"reshape: invalid shape \[-1, -1\]: only one dim may be -1"),
    ("reshape negative", lambda: x23().reshape(-2, 3), r"reshape: invalid shape \[-2, 3\]"),
    ("permute count", lambda: x23().permute(0), r"permute: got 1 dims for a tensor with 2 dims"),
    ("permute repeat", lambda: x23().permute(0, 0), r"permute: dim 0 appears more than once"),
    ("sum repeat", lambda: x23().sum((1, -1)), r"sum: dim 1 appears more than once"),
    ("expand", lambda: x23().expand(3, 3), r"expand: shapes \[2, 3\] and \[3, 3\] cannot be broadcast"),
    ("expand smaller", lambda: x23().expand(3), r"expand"),
    ("mT of a vector", lambda: lucid.ones(3).mT, r"mT: needs at least 2 dims, got shape \[3\]"),
    ("flatten order", lambda: x23().flatten(1, 0), r"flatten: start dim 1 comes after end dim 0"),
    ("cat shapes", lambda: lucid.cat([x23(), lucid.ones(2, 2)], 0), r"cat: tensor 1 has shape \[2, 2\], expected \[2, 3\] except in dim 0"),
    ("cat 0-d", lambda: lucid.cat([lucid.tensor(1.0), lucid.tensor(2.0)]), r"cat: zero-dimensional tensors cannot be concatenated"),
    ("cat empty", lambda: lucid.cat([]), r"cat: expected a non-empty list"),
    ("stack shapes", lambda: lucid.stack([lucid.ones(2), lucid.ones(3)]), r"stack: .*\[2\] at entry 0 and \[3\] at entry 1"),
    ("stack empty", lambda: lucid.stack([]), r"stack: expected a non-empty list"),
    ("where broadcast", lambda: lucid.where(lucid.ones(2) > 0, lucid.ones(2), lucid.ones(3)), r"where: shapes \[2\] and \[3\]"),
    ("item of many", lambda: x23().item(), r"item: only one-element tensors .* got shape \[2, 3\]"),
    ("float of many", lambda: float(x23()), r"item: only one-element tensors .* \[2, 3\]"),
    ("slice step 0", lambda: x23()[::0], r"slice step cannot be zero"),
    ("zeros negative", lambda: lucid.zeros(2, -1), r"zeros: negative dimension -1 in size \(2, -1\)"),
    ("ones negative", lambda: lucid.ones((-3,)), r"ones: negative dimension -3"),
    ("full negative", lambda: lucid.full((-1,), 1.0), r"full: negative dimension -1"),
    ("arange step 0", lambda: lucid.arange(0, 1, 0), r"arange: needs finite start, end and a nonzero step, got \(0, 1, 0\)"),
    ("arange inf", lambda: lucid.arange(0, float("inf")), r"arange: needs finite start"),
    ("eye negative", lambda: lucid.eye(-1), r"eye: n must be non-negative, got -1"),
    ("eye m negative", lambda: lucid.eye(2, -2), r"eye: m must be non-negative, got -2"),
    ("linspace negative", lambda: lucid.linspace(0, 1, -1), r"linspace: steps must be non-negative, got -1"),
    ("zeros too big to address", lambda: lucid.zeros(2 ** 40, 2 ** 40), r"zeros: a tensor of shape \[1099511627776, 1099511627776\] is too big to address"),
    ("ones cannot allocate", lambda: lucid.ones(10 ** 6, 10 ** 7), r"ones: cannot allocate 40000000000000 bytes for a tensor of shape \[1000000, 10000000\]"),
    ("full cannot allocate", lambda: lucid.full((10 ** 13,), 2.0, dtype=lucid.float64), r"full: cannot allocate 80000000000000 bytes"),
    ("eye cannot allocate", lambda: lucid.eye(10 ** 7), r"eye: cannot allocate"),
    ("arange cannot allocate", lambda: lucid.arange(0, 1e18), r"arange: cannot allocate"),
    ("arange too many", lambda: lucid.arange(0, 1e300), r"arange: .* gives too many values to address"),
    ("linspace cannot allocate", lambda: lucid.linspace(0, 1, 10 ** 13), r"linspace: cannot allocate"),
    ("grad setter shape", lambda: setattr(f64([1.0, 2.0], True), "grad", f64([1.0])), r"grad: assigned grad has shape \[1\], tensor has shape \[2\]"),
    ("backward gradient shape", lambda: (f64([1.0, 2.0], True) * 2).backward(f64([1.0])), r"backward: grad_outputs\[0\] has shape \[1\] but output 0 has shape \[2\]"),
    ("grad_outputs shape", lambda: grad(f64([1.0, 2.0], True) * 2, [], grad_outputs=f64([1.0, 2.0, 3.0])), r"grad_outputs\[0\] has shape \[3\] but output 0 has shape \[2\]"),
    ("grad_outputs count", lambda: grad(f64(1.0, True) * 2, [], grad_outputs=[None, None]), r"grad: got 1 outputs but 2 grad_outputs"),
    ("setitem broadcast", lambda: _setitem(lucid.zeros(2, 3), 0, lucid.ones(2)), r"setitem: value of shape \[2\] cannot be broadcast to the indexed shape \[3\]"),
]


@pytest.mark.parametrize("name, fn, match", VALUE_ERRORS, ids=[c[0] for c in VALUE_ERRORS])
def test_value_errors(name, fn, match):
    with pytest.raises(ValueError, match=match):
        fn()


# ---- TypeError: dtypes and types --------------------------------------------------------------

INT = lucid.tensor([1, 2])
BOOL = lucid.tensor([True, False])

TYPE_ERRORS = [
    ("exp of int", lambda: INT.exp(), r"exp: expected a floating point tensor, got int64"),
    ("log of int", lambda: lucid.log(INT), r"log: expected a floating point tensor, got int64"),
    ("sin of bool", lambda: BOOL.sin(), r"sin: expected a floating point tensor, got bool"),
    ("tanh of int", lambda: INT.tanh(), r"tanh: expected a floating point tensor, got int64"),
    ("sqrt of int", lambda: INT.sqrt(), r"sqrt: expected a floating point tensor, got int64"),
    ("mean of int", lambda: INT.mean(), r"mean: expected a floating point tensor, got int64"),
    ("matmul of ints", lambda: INT @ INT, r"matmul: expected floating point tensors, got int64 and int64"),
    ("where condition", lambda: lucid.where(lucid.ones(2), lucid.ones(2), lucid.ones(2)), r"where: condition must be a bool tensor, got float32"),
    ("requires_grad on int", lambda: setattr(lucid.tensor([1]), "requires_grad", True), r"requires_grad_: only floating point tensors can require gradients, got int64"),
    ("requires_grad_ on bool", lambda: BOOL.requires_grad_(), r"requires_grad_: .* got bool"),
    ("tensor int requires_grad", lambda: lucid.tensor([1, 2], requires_grad=True), r"tensor: only floating point tensors can require gradients, got int64"),
    ("ones int requires_grad", lambda: lucid.ones(2, dtype=lucid.int64, requires_grad=True), r"only floating point tensors can require gradients, got int64"),
    ("grad setter dtype", lambda: setattr(f64([1.0], True), "grad", lucid.tensor([1.0])), r"grad: assigned grad has dtype float32, tensor has dtype float64"),
    ("grad setter type", lambda: setattr(f64([1.0], True), "grad", 3.0), r"grad"),
    ("operand str", lambda: x23() + "a", r"add: unsupported operand type str; expected a Tensor or a Python number"),
    ("operand None", lambda: x23() * None, r"mul: unsupported operand type NoneType"),
    ("operand list", lambda: x23() @ [1.0, 2.0, 3.0], r"matmul: unsupported operand type list"),
    ("roperand str", lambda: "a" - x23(), r"sub: unsupported operand type str"),
    ("operand complex", lambda: x23() * 1j, r"mul: unsupported operand type complex"),
    ("pow modulus", lambda: pow(x23(), 2, 3), r"pow: a modulus is not supported"),
    ("module fn of non-tensor", lambda: lucid.exp(3.0), r"exp: expected a Tensor as the first argument, got float"),
    ("tensor of str", lambda: lucid.tensor("abc"), r"tensor: unsupported data of NumPy dtype <U3"),
    ("tensor of None", lambda: lucid.tensor(None), r"tensor: cannot build a tensor from NoneType"),
    ("tensor of complex", lambda: lucid.tensor([1j]), r"tensor: unsupported data of NumPy dtype complex128"),
    ("tensor ragged", lambda: lucid.tensor([[1.0, 2.0], [3.0]]), r"tensor: cannot build a tensor from list"),
    ("tensor bad dtype", lambda: lucid.tensor([1.0], dtype="float16"), r"unsupported dtype 'float16'; lucid has float32, float64, int64 and bool"),
    ("tensor not a dtype", lambda: lucid.tensor([1.0], dtype=5), r"unsupported dtype 5"),
    ("to bad dtype", lambda: x23().to("complex64"), r"unsupported dtype complex64"),
    ("from_numpy list", lambda: lucid.from_numpy([1.0]), r"from_numpy: expected a numpy.ndarray, got list"),
    ("from_numpy complex", lambda: lucid.from_numpy(np.array([1j])), r"complex128"),
    ("zeros float size", lambda: lucid.zeros(2.5), r"zeros: size must be ints, got float"),
    ("ones str size", lambda: lucid.ones((2, "a")), r"ones: size must be ints, got str"),
    ("full str value", lambda: lucid.full((2,), "a"), r"full: fill_value must be a real number, got str"),
    ("arange str", lambda: lucid.arange("a"), r"arange: end must be a real number, got str"),
    ("linspace float steps", lambda: lucid.linspace(0, 1, 2.5), r"linspace: steps must be an int, got float"),
    ("eye float", lambda: lucid.eye(2.5), r"eye: n must be an int, got float"),
    ("zeros_like non-tensor", lambda: lucid.zeros_like([1.0]), r"zeros_like: expected a Tensor, got list"),
    ("cat non-sequence", lambda: lucid.cat(3), r"cat: expected a sequence of tensors"),
    ("cat element", lambda: lucid.cat([x23(), 3]), r"cat: expected a sequence of tensors, element 1 is int"),
    ("stack element", lambda: lucid.stack([x23(), "a"]), r"stack: expected a sequence of tensors, element 1 is str"),
    ("sum dim type", lambda: x23().sum(dim="a"), r"dim must be an int, a tuple of ints or None, got str"),
    ("reshape type", lambda: x23().reshape("a"), r"shape must be ints or a tuple of ints"),
    ("len of 0-d", lambda: len(lucid.tensor(1.0)), r"len\(\) of a 0-d tensor"),
    ("grad outputs type", lambda: grad(3, f64([1.0], True)), r"grad: outputs must be a Tensor or a sequence of Tensors, got int"),
    ("grad inputs element", lambda: grad(f64(1.0, True) * 2, [f64(1.0, True), 5]), r"grad: inputs\[1\] must be a Tensor, got int"),
    ("backward tensors type", lambda: backward(3), r"backward: tensors must be a Tensor or a sequence of Tensors, got int"),
    ("setitem str", lambda: _setitem(lucid.zeros(2), 0, "a"), r"setitem: unsupported operand type str"),
]


@pytest.mark.parametrize("name, fn, match", TYPE_ERRORS, ids=[c[0] for c in TYPE_ERRORS])
def test_type_errors(name, fn, match):
    with pytest.raises(TypeError, match=match):
        fn()


def test_tensor_with_an_out_of_range_int_overflows():
    with pytest.raises(OverflowError, match=f"tensor: the integer {2 ** 70} in the data is out of the int64 range"):
        lucid.tensor(2 ** 70)
    with pytest.raises(OverflowError, match="int64 range"):
        lucid.tensor([1, -(2 ** 70)])
    assert lucid.tensor(2 ** 63 - 1).item() == 2 ** 63 - 1


# ---- IndexError: indices and dims ---------------------------------------------------------------

INDEX_ERRORS = [
    ("int out of range", lambda: x23()[2], r"index: index 2 is out of bounds for dim 0 with size 2"),
    ("negative out of range", lambda: x23()[0, -4], r"index: index -4 is out of bounds for dim 1 with size 3"),
    ("too many indices", lambda: x23()[0, 0, 0], r"index: too many indices for tensor of dimension 2 \(shape \[2, 3\]\)"),
    ("index a 0-d", lambda: lucid.tensor(1.0)[0], r"too many indices for tensor of dimension 0"),
    ("two ellipses", lambda: x23()[..., ...], r"index: an index can only have a single ellipsis"),
    ("float index", lambda: x23()[1.5], r"only integers, slices, None, Ellipsis .* got float"),
    ("str index", lambda: x23()["a"], r"only integers, slices, None, Ellipsis .* got str"),
    ("sum dim", lambda: x23().sum(2), r"sum: dim 2 is out of range for a tensor with 2 dims"),
    ("mean dim", lambda: x23().mean(-3), r"mean: dim -3 is out of range for a tensor with 2 dims"),
    ("transpose dim", lambda: x23().transpose(0, 2), r"transpose: dim 2 is out of range for a tensor with 2 dims"),
    ("permute dim", lambda: x23().permute(0, 2), r"permute: dim 2 is out of range for a tensor with 2 dims"),
    ("unsqueeze dim", lambda: x23().unsqueeze(4), r"unsqueeze: dim 4 is out of range for a tensor with 3 dims"),
    ("squeeze dim", lambda: x23().squeeze(5), r"squeeze: dim 5 is out of range for a tensor with 2 dims"),
    ("flatten dim", lambda: x23().flatten(0, 3), r"flatten: dim 3 is out of range"),
    ("cat dim", lambda: lucid.cat([x23(), x23()], 2), r"cat: dim 2 is out of range for a tensor with 2 dims"),
    ("stack dim", lambda: lucid.stack([x23(), x23()], 3), r"stack: dim 3 is out of range for a tensor with 3 dims"),
    ("narrow range", lambda: x23().narrow(1, 2, 2), r"narrow: range 2..4 is out of bounds for dim 1 with size 3"),
    ("narrow dim", lambda: x23().narrow(5, 0, 1), r"narrow: dim 5 is out of range"),
    ("select index", lambda: x23().select(1, 3), r"index 3 is out of bounds for dim 1 with size 3"),
    ("size dim", lambda: x23().size(2), r"size: dim 2 is out of range for a tensor with 2 dims"),
    ("setitem index", lambda: _setitem(lucid.zeros(2), 5, 1.0), r"index 5 is out of bounds for dim 0 with size 2"),
]


@pytest.mark.parametrize("name, fn, match", INDEX_ERRORS, ids=[c[0] for c in INDEX_ERRORS])
def test_index_errors(name, fn, match):
    with pytest.raises(IndexError, match=match):
        fn()


# ---- RuntimeError: graph state --------------------------------------------------------------------


def test_backward_twice_without_retain_graph():
    x = f64([1.0, 2.0], True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time .*retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        grad(y, x)


def test_backward_of_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match=r"backward: element 0 of outputs does not require grad and has no grad_fn"):
        lucid.tensor(1.0).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        with lucid.no_grad():
            y = f64([1.0], True).sum() * 2
        y.backward()


def test_implicit_gradient_needs_one_element():
    with pytest.raises(RuntimeError, match=r"backward: grad can be implicitly created only for one-element outputs; output 0 has shape \[2\]"):
        (f64([1.0, 2.0], True) * 2).backward()
    with pytest.raises(RuntimeError, match=r"grad: grad can be implicitly created only for one-element outputs"):
        grad(f64([1.0, 2.0], True) * 2, [])


def test_grad_of_unused_and_non_grad_inputs():
    a, b = f64([1.0], True), f64([2.0], True)
    with pytest.raises(RuntimeError, match=r"grad: input 1 was not used in the graph of the outputs; pass allow_unused=True"):
        grad((a * 2).sum(), [a, b])
    with pytest.raises(RuntimeError, match=r"grad: input 0 does not require grad"):
        grad((a * 2).sum(), [f64([1.0])])


def test_requires_grad_off_on_a_non_leaf():
    y = f64([1.0], True) * 2
    with pytest.raises(RuntimeError, match=r"requires_grad_: cannot turn off requires_grad on a non-leaf tensor; use detach\(\)"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)


def test_truth_value_of_a_multi_element_tensor():
    with pytest.raises(RuntimeError, match=r"the truth value of a tensor with 2 elements is ambiguous"):
        bool(lucid.ones(2))
    with pytest.raises(RuntimeError, match="ambiguous"):
        if lucid.ones(2) > 0:
            pass


def test_setitem_on_a_tensor_that_requires_grad():
    x = f64([1.0, 2.0], True)
    # a leaf that requires grad, with grad mode on (PyTorch's rule)
    with pytest.raises(RuntimeError, match=r"setitem: a leaf tensor that requires grad cannot be modified in place"):
        x[0] = 5.0
    assert x.tolist() == [1.0, 2.0] and x.is_leaf and x._version == 0


# ---- errors leave state intact --------------------------------------------------------------------


def test_failed_calls_do_not_change_grad_mode_or_tensors():
    x = f64([1.0, 2.0], True)
    with pytest.raises(ValueError):
        with lucid.no_grad():
            x + lucid.ones(3)
    assert lucid.is_grad_enabled()
    with pytest.raises(ValueError):
        (x * 2).backward(f64([1.0]))
    assert x.grad is None and x.requires_grad and x.is_leaf
    # after a failed backward the graph still works
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
