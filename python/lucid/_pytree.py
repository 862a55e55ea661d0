"""Pytrees for ``lucid.func``: nested tuples, lists and dicts (and namedtuples) whose
leaves are anything else, flattened to a list of leaves and a spec that rebuilds the
same structure around new leaves. Dicts keep their insertion order, as in
``torch.utils._pytree`` (JAX sorts the keys; both rebuild the dict the user gave)."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple


class Spec(NamedTuple):
    """How to rebuild a node: ``kind`` is "leaf", "tuple", "list", "dict" or
    "namedtuple"; ``meta`` the dict keys or the namedtuple type; ``children`` the specs
    of the children in order; ``leaves`` how many leaves the node holds."""

    kind: str
    meta: Any
    children: tuple[Spec, ...]
    leaves: int


LEAF = Spec("leaf", None, (), 1)


def flatten(tree: Any) -> tuple[list[Any], Spec]:
    """The leaves of ``tree`` in order, and its spec.

    >>> flatten({"a": 1, "b": (2, [3])})[0]
    [1, 2, 3]
    """
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> Spec:
    meta: Any = None
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        kind, meta, items = "namedtuple", type(tree), list(tree)
    elif isinstance(tree, tuple):
        kind, meta, items = "tuple", None, list(tree)
    elif isinstance(tree, list):
        kind, meta, items = "list", None, tree
    elif isinstance(tree, dict):
        kind, meta, items = "dict", tuple(tree.keys()), list(tree.values())
    else:
        leaves.append(tree)
        return LEAF
    start = len(leaves)
    children = tuple(_flatten(item, leaves) for item in items)
    return Spec(kind, meta, children, len(leaves) - start)


def unflatten(spec: Spec, leaves: list[Any]) -> Any:
    """The tree of ``spec`` holding ``leaves`` (as many as ``spec.leaves``).

    >>> tree = {"a": 1, "b": (2, [3])}
    >>> unflatten(flatten(tree)[1], [4, 5, 6])
    {'a': 4, 'b': (5, [6])}
    """
    it = iter(leaves)
    return _unflatten(spec, it)


def _unflatten(spec: Spec, it: Any) -> Any:
    if spec.kind == "leaf":
        return next(it)
    items = [_unflatten(c, it) for c in spec.children]
    if spec.kind == "tuple":
        return tuple(items)
    if spec.kind == "list":
        return items
    if spec.kind == "dict":
        return dict(zip(spec.meta, items))
    return spec.meta(*items)


def map_leaves(f: Callable[[Any], Any], tree: Any) -> Any:
    """``tree`` with ``f`` applied to every leaf."""
    leaves, spec = flatten(tree)
    return unflatten(spec, [f(x) for x in leaves])


def broadcast_prefix(prefix: Any, spec: Spec, what: str) -> list[Any]:
    """One value per leaf of ``spec`` from ``prefix``, a tree that is a prefix of it (a
    leaf of ``prefix`` covers its whole subtree), as ``in_dims`` and ``out_dims`` are."""
    out: list[Any] = []
    _broadcast(prefix, spec, out, what)
    return out


def _broadcast(prefix: Any, spec: Spec, out: list[Any], what: str) -> None:
    if spec.kind == "leaf" or not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * spec.leaves)
        return
    keys = list(prefix.keys()) if isinstance(prefix, dict) else None
    items = list(prefix.values()) if isinstance(prefix, dict) else list(prefix)
    same = (spec.kind == "dict" and keys == list(spec.meta)) or (
        spec.kind != "dict" and keys is None and len(items) == len(spec.children))
    if not same:
        raise ValueError(f"{what} does not match the structure of the inputs it describes")
    for p, c in zip(items, spec.children):
        _broadcast(p, c, out, what)
