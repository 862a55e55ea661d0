"""Module-level op functions: ``lucid.exp(x)`` is ``x.exp()`` for every Tensor op, so
the two spellings can never drift apart."""

from __future__ import annotations

import inspect
from typing import Any, Callable, NoReturn, Optional

from ._core import Tensor

# Tensor methods that are also module functions (first argument: the input tensor).
_METHOD_OPS = [
    # elementwise
    "neg", "exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid",
    "abs", "relu", "square", "sign", "add", "sub", "mul", "div", "pow", "maximum", "minimum",
    "atan2", "floor_divide", "remainder", "eq", "ne", "lt", "le", "gt", "ge",
    # reductions
    "sum", "mean",
    # math family (ops_math.rs)
    "reciprocal", "rsqrt", "log2", "log10", "asin", "acos", "atan", "sinh", "cosh", "asinh",
    "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "erf",
    "softplus", "gelu", "floor", "ceil", "round", "clamp", "clip", "clamp_min", "clamp_max",
    "isnan", "isfinite", "isinf", "prod", "amax", "amin", "max", "min", "argmax", "argmin",
    "var", "std", "norm", "logsumexp", "softmax", "log_softmax", "cumsum", "cumprod", "any", "all", "sort", "argsort",
    # linear algebra
    "matmul",
    "cross", "dot", "outer", "mv", "mm", "bmm", "trace", "diagonal", "diag", "diag_embed", "tril", "triu", "inverse", "det", "logdet", "cholesky",
    # shape
    "reshape", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "t", "expand",
    "broadcast_to", "narrow", "select",
    "flip", "roll", "tile", "split", "chunk", "index_select", "gather", "scatter_add", "scatter", "index_put",
    # copies (protocols.rs)
    "clone",
]


def _not_a_tensor(name: str, input: object) -> NoReturn:
    raise TypeError(f"{name}: expected a Tensor as the first argument, got {type(input).__name__}")


def _method_function(name: str) -> Callable[..., Any]:
    """``name(input, ...)`` calling ``Tensor.name``. Generated with the method's own
    parameters and passing them on positionally, because recorded functions call these
    in their hot loop: a ``*args, **kwargs`` wrapper cost 0.2-0.5 us a call, and pyo3
    parses keywords slower than positions (``lucid.sum(x, dim=0, keepdim=False)`` went
    0.87 -> 0.37 us, faster than the method called with those keywords). The type of
    ``input`` is checked only when the call fails."""
    method = getattr(Tensor, name)
    fn = _generated(name, method) or _forwarding(name, method)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = method.__doc__
    return fn


def _generated(name: str, method: Callable[..., Any]) -> Optional[Callable[..., Any]]:
    try:
        params = list(inspect.signature(method).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    env = {"_method": method, "_Tensor": Tensor, "_not_a_tensor": _not_a_tensor}
    head, call, star = ["input"], ["input"], False
    for i, p in enumerate(params):
        default = ""
        if p.default is Ellipsis:        # a default pyo3 could not spell: keep it the method's own
            return None
        if p.default is not p.empty:
            env[f"_default{i}"] = p.default
            default = f"=_default{i}"
        if p.kind is p.POSITIONAL_OR_KEYWORD and not star:
            head.append(p.name + default)
            call.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            head.append("*" + p.name)
            call.append("*" + p.name)
            star = True
        elif p.kind is p.KEYWORD_ONLY:
            if not star:
                head.append("*")
                star = True
            head.append(p.name + default)
            call.append(f"{p.name}={p.name}")
        else:
            return None
    source = (f"def {name}({', '.join(head)}):\n"
              f"    try:\n"
              f"        return _method({', '.join(call)})\n"
              f"    except TypeError:\n"
              f"        if not isinstance(input, _Tensor):\n"
              f"            _not_a_tensor({name!r}, input)\n"
              f"        raise\n")
    exec(source, env)  # noqa: S102 - source built from the method's signature above
    return env[name]


def _forwarding(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def fn(input: object, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            _not_a_tensor(name, input)
        return method(input, *args, **kwargs)
    return fn


__all__ = [name for name in _METHOD_OPS if hasattr(Tensor, name)]
for _name in __all__:
    globals()[_name] = _method_function(_name)
del _name
