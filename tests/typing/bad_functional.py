"""Wrong calls of the functional API and tapes: mypy must report an error on each line
ending in an ``E:`` comment that quotes part of the message, and
on no other line (tests/test_typing.py)."""

from __future__ import annotations

import lucid
from lucid.autograd import grad, gradcheck, hessian, jacobian, jvp, vjp

x = lucid.tensor([1.0, 2.0])


def f(x: lucid.Tensor) -> lucid.Tensor:
    return x * x


jacobian(f, x, vectorize="yes")  # E: No overload variant of "jacobian" matches
jacobian(f, x, strategy="sideways")  # E: No overload variant of "jacobian" matches
jacobian(f, x, chunk_size="4")  # E: No overload variant of "jacobian" matches
jacobian(f, x, create_graph=1.0)  # E: No overload variant of "jacobian" matches
jacobian(f, "x")  # E: No overload variant of "jacobian" matches
jacobian("f", x)  # E: No overload variant of "jacobian" matches
J: lucid.Tensor = jacobian(f, (x, x))  # E: Incompatible types in assignment
blocks: tuple[lucid.Tensor, ...] = jacobian(f, x)  # E: Incompatible types in assignment
hessian(lambda x: x.sum(), x, strategy="sideways")  # E: No overload variant of "hessian" matches
hessian(lambda x: x.sum(), x, vectorize="yes")  # E: No overload variant of "hessian" matches
vjp(f, x, create_graph="no")  # E: No overload variant of "vjp" matches
jvp(f, x, v=[1.0, 2.0])  # E: List item 0 has incompatible type "float"; expected "Tensor"
out, tangent = jvp(f, x)
tangent.keys()  # E: "Tensor" has no attribute "keys"
grad(f(x).sum(), x, retain_graph="yes")  # E: Argument "retain_graph" to "grad" has incompatible type
gradcheck(f, x, eps="small")  # E: Argument "eps" to "gradcheck" has incompatible type
lucid.autograd.sparsity(f, x, strategy="columns")  # E: Argument "strategy" to "sparsity" has incompatible type

t = lucid.tape(f, x)
t.jacobian(x, strategy="sideways")  # E: No overload variant of "jacobian" of "Tape" matches
t.jacobian(x, vectorize="yes")  # E: No overload variant of "jacobian" of "Tape" matches
t.map("gradient", [x])  # E: Argument 1 to "map" of "Tape" has incompatible type
t("x")  # E: Argument 1 to "__call__" of "Tape" has incompatible type
pair: tuple[lucid.Tensor, lucid.Tensor] = t(x)  # E: Incompatible types in assignment
lucid.tape(f, x, max_tapes="8")  # E: Argument "max_tapes" to "tape" has incompatible type
lucid.tape(42, x)  # E: Argument 1 to "tape" has incompatible type "int"
