"""Wrong uses of tensors, constructors and dtypes: mypy must report an error on each
line ending in an ``E:`` comment that quotes part of the message, and
on no other line (tests/test_typing.py)."""

from __future__ import annotations

import lucid

x = lucid.tensor([1.0, 2.0])
m = lucid.eye(2)

lucid.zeros("3")  # E: Argument 1 to "zeros" has incompatible type "str"
lucid.ones(2, dtype=3)  # E: Argument "dtype" to "ones" has incompatible type "int"
lucid.eye(3.0)  # E: Argument 1 to "eye" has incompatible type "float"
lucid.full((2, 2), "a")  # E: No overload variant of "full" matches
lucid.randint(10)  # E: No overload variant of "randint" matches
lucid.manual_seed(1.5)  # E: Argument 1 to "manual_seed" has incompatible type "float"
lucid.tensor([1.0], requires_grad="yes")  # E: Argument "requires_grad" to "tensor" has incompatible type
x + "a"  # E: Unsupported operand types for + ("Tensor" and "str")
x.sum(dim="0")  # E: Argument "dim" to "sum" of "Tensor" has incompatible type "str"
x.reshape(2.5)  # E: Argument 1 to "reshape" of "Tensor" has incompatible type "float"
x.gelu(approximate="fast")  # E: Argument "approximate" to "gelu" of "Tensor" has incompatible type
x.to("float64").backward(gradient=1.0)  # E: Argument "gradient" to "backward" of "Tensor" has incompatible type
x.grad = 3  # E: Incompatible types in assignment
x.requires_grad = "yes"  # E: Incompatible types in assignment
x.shape = (2,)  # E: Property "shape" defined in "Tensor" is read-only
n: int = x.shape  # E: Incompatible types in assignment
d: int = x.size()  # E: Incompatible types in assignment
x.max().values  # E: "Tensor" has no attribute "values"
x.item().upper()  # E: has no attribute "upper"
lucid.exp("x")  # E: Argument 1 to "exp" has incompatible type "str"
lucid.sum(x, keepdim="yes")  # E: Argument "keepdim" to "sum" has incompatible type "str"
lucid.cat(x)  # E: Argument 1 to "cat" has incompatible type "Tensor"
lucid.linalg.norm(m, dim="rows")  # E: Argument "dim" to "norm" has incompatible type "str"
lucid.linalg.slogdet(m).sign.numpy().nope  # E: has no attribute "nope"
lucid.float32.name.nope  # E: "str" has no attribute "nope"
lucid.no_grad(True)  # E: Too many arguments for "no_grad"
del x[0]  # E: "Tensor" has no attribute "__delitem__"
lucid.float32 < lucid.float64  # E: Unsupported left operand type for < ("dtype")
x.float().nope  # E: "Tensor" has no attribute "nope"
