"""Module-level op functions: ``lucid.exp(x)`` is ``x.exp()`` for every Tensor op, so
the two spellings can never drift apart."""

from __future__ import annotations

from ._core import Tensor

# Tensor methods that are also module functions (first argument: the input tensor).
_METHOD_OPS = [
    # elementwise
    "neg", "exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid",
    "abs", "relu", "square", "sign", "add", "sub", "mul", "div", "pow", "maximum", "minimum",
    "atan2", "eq", "ne", "lt", "le", "gt", "ge",
    # reductions
    "sum", "mean",
    # math family (ops_math.rs)
    "reciprocal", "rsqrt", "log2", "log10", "asin", "acos", "atan", "sinh", "cosh", "asinh",
    "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "erf",
    "softplus", "gelu", "floor", "ceil", "round", "clamp", "clip", "clamp_min", "clamp_max",
    "isnan", "isfinite", "isinf", "prod", "amax", "amin", "max", "min", "argmax", "argmin",
    "var", "std", "norm", "logsumexp", "softmax", "log_softmax", "cumsum", "cumprod",
    # linear algebra
    "matmul",
    "dot", "outer", "mv", "mm", "bmm", "trace", "diagonal", "diag", "diag_embed", "tril", "triu", "inverse", "det", "logdet", "cholesky",
    # shape
    "reshape", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "t", "expand",
    "broadcast_to", "narrow", "select",
    "flip", "roll", "tile", "split", "chunk", "index_select", "gather", "scatter_add", "scatter", "index_put",
]


def _method_function(name: str):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor as the first argument, got {type(input).__name__}")
        return method(input, *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = method.__doc__
    return fn


__all__ = [name for name in _METHOD_OPS if hasattr(Tensor, name)]
for _name in __all__:
    globals()[_name] = _method_function(_name)
del _name
