"""Error paths of the math family: each raises the exception a user expects (TypeError
for dtype and type misuse, ValueError for shapes and arguments, IndexError for dims)
with a message that names the op and what was given."""

import pytest

import lucid

X = lucid.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
I = lucid.tensor([[1, 2], [3, 4]])


@pytest.mark.parametrize("name", ["reciprocal", "rsqrt", "log2", "log10", "asin", "acos", "atan", "sinh",
                                  "cosh", "asinh", "acosh", "atanh", "erf", "gelu", "softplus"])
def test_float_only_elementwise_ops_reject_integer_tensors(name):
    with pytest.raises(TypeError, match=f"{name}: expected a floating point tensor, got int64"):
        getattr(lucid, name)(I)


def test_float_only_reductions_reject_integer_tensors():
    for call, name in [(lambda: I.var(), "var"), (lambda: I.std(), "std"), (lambda: I.norm(), "norm"),
                       (lambda: I.logsumexp(), "logsumexp"), (lambda: I.softmax(0), "softmax"),
                       (lambda: I.log_softmax(0), "log_softmax")]:
        with pytest.raises(TypeError, match=f"{name}: expected a floating point tensor, got int64"):
            call()


def test_round_with_negative_decimals_on_integers():
    with pytest.raises(TypeError, match="round: decimals=-1 is not supported for int64"):
        I.round(decimals=-1)


def test_module_functions_need_a_tensor():
    with pytest.raises(TypeError, match="erf: expected a Tensor as the first argument, got float"):
        lucid.erf(0.5)


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clamp: at least one of min and max must be given"):
        X.clamp()
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        lucid.clamp(X, None, None)


def test_clamp_bounds_must_broadcast():
    with pytest.raises(ValueError, match=r"clamp: shapes \[2, 3\] and \[2\] cannot be broadcast"):
        X.clamp(lucid.tensor([0.0, 1.0]), 5.0)
    with pytest.raises(ValueError, match=r"clamp_max: shapes \[2, 3\] and \[4\] cannot be broadcast"):
        X.clamp(max=lucid.zeros(4))


def test_clamp_bound_of_the_wrong_type():
    with pytest.raises(TypeError, match="clamp: unsupported operand type str"):
        X.clamp(min="0")


def test_softplus_and_gelu_arguments():
    with pytest.raises(ValueError, match="softplus: beta must be finite and nonzero, got 0"):
        X.softplus(beta=0.0)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got \"fast\""):
        X.gelu(approximate="fast")


@pytest.mark.parametrize("call", [lambda: X.prod(2), lambda: X.amax(-3), lambda: X.var(5), lambda: X.norm(2, 2),
                                  lambda: X.logsumexp((0, 2)), lambda: X.std(dim=-3), lambda: X.max(2),
                                  lambda: X.argmin(2)])
def test_reductions_reject_dims_out_of_range(call):
    with pytest.raises(IndexError, match=r"is out of range for a tensor with 2 dims"):
        call()


@pytest.mark.parametrize("call", [lambda: X.softmax(2), lambda: X.log_softmax(-3), lambda: X.cumsum(2),
                                  lambda: X.cumprod(-3), lambda: lucid.tensor(1.0).softmax(1),
                                  lambda: lucid.tensor(1.0).cumsum(1)])
def test_dim_ops_reject_dims_out_of_range(call):
    with pytest.raises(IndexError, match=r"is out of range for a tensor with [02] dims"):
        call()


def test_repeated_dims():
    with pytest.raises(ValueError, match="prod: dim 1 appears more than once"):
        X.prod((1, -1))
    with pytest.raises(ValueError, match="amin: dim 0 appears more than once"):
        X.amin((0, 0))


def test_dim_of_the_wrong_type():
    with pytest.raises(TypeError, match="prod: dim must be an int, a tuple of ints or None, got str"):
        X.prod("0")
    with pytest.raises(TypeError, match="amax: dim must be an int, a tuple of ints or None, got bool"):
        X.amax(True)
    with pytest.raises(TypeError, match=r"max: dim must be an int \(use amax/amin for several dims\), got tuple"):
        X.max((0, 1))
    with pytest.raises(TypeError, match="min: dim must be an int"):
        X.min(1.5)
    with pytest.raises(TypeError):
        X.softmax()  # dim is required, as in PyTorch


def test_max_and_min_of_nothing():
    empty = lucid.zeros(0, 3)
    with pytest.raises(ValueError, match=r"amax: cannot reduce over dim 0 of size 0 \(shape \[0, 3\]\)"):
        empty.amax(0)
    with pytest.raises(ValueError, match="max: cannot reduce over dim 0 of size 0"):
        empty.max()
    with pytest.raises(ValueError, match="argmin: cannot take the argmin of an empty dim"):
        empty.argmin(0)
    assert empty.amax(1).shape == (0,)  # reducing a non-empty dim of an empty tensor is fine


def test_var_arguments():
    with pytest.raises(ValueError, match="var: pass either unbiased or correction, not both"):
        X.var(unbiased=True, correction=0)
    with pytest.raises(ValueError, match="std: pass either unbiased or correction, not both"):
        X.std(0, False, correction=1)
    with pytest.raises(TypeError, match="var: dim must be an int, a tuple of ints or None, got bool"):
        X.var(True, True)


def test_norm_order():
    with pytest.raises(ValueError, match="norm: p must be ≥ 1, inf or -inf, got 0.5"):
        X.norm(0.5)
    with pytest.raises(ValueError, match="norm: p=\"nuc\" is not supported"):
        X.norm("nuc")
    with pytest.raises(TypeError, match="norm: p must be a number or 'fro'"):
        X.norm([2])


def test_step_functions_are_not_errors_but_zero_gradients():
    x = lucid.tensor([0.5, 1.5], requires_grad=True)
    (x.floor() + x.ceil() + x.round()).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
