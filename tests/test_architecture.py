"""The shape of lucid-core, checked: its layers point one way, an op family's internals
stay in the family's file, and unsafe code stays in the kernels.

The layers, top to bottom (src/lib.rs draws them):
functional → autograd → ops → tensor (with its graph) → kernels → structure → shape →
dtype → error. A module may use any module below it, never one above.
"""

import pathlib
import re

SRC = pathlib.Path(__file__).resolve().parent.parent / "crates" / "lucid-core" / "src"

LAYERS = ["error", "interrupt", "dtype", "shape", "structure", "kernels", "tensor", "ops", "autograd", "functional"]
# crate-root macros and re-exports, by the module that defines them
DEFINED_IN = {"map_storage": "dtype", "map_float": "kernels", "with_storage": "dtype", "zip_storage": "kernels",
              "where_": "ops", "IndexItem": "ops", "Tensor": "tensor", "DType": "dtype", "Storage": "dtype",
              "Error": "error", "Result": "error"}


def sources():
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC)
        top = rel.parts[0].removesuffix(".rs")
        yield rel, top, path.read_text()


def uses(text):
    """The crate-level modules (or root items) a file names, outside comments."""
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    return set(re.findall(r"\b(?:crate|\$crate)::(\w+)", code))


def test_every_module_uses_only_the_layers_below_it():
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = []
    for rel, top, text in sources():
        if top == "lib":
            continue
        assert top in rank, f"{rel}: module {top} has no layer; add it to LAYERS and to the drawing in lib.rs"
        for used in uses(text):
            target = DEFINED_IN.get(used, used)
            if target != top and rank.get(target, -1) >= rank[top]:
                wrong.append(f"{rel} ({top}) uses crate::{used} ({target})")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_op_internals_stay_in_their_family():
    """`ViewOp::Permute`, `IndexOp::Slice`, ... are named only in the family's own
    file or folder: the sweeps read an op's declared structure, not its variants."""
    families = {}
    for rel, top, text in sources():
        for name in re.findall(r"pub enum (\w+Op)\b", text):
            families[name] = rel.parts[:2] if rel.parts[1] == "linalg" else rel.parts
    assert {"ViewOp", "IndexOp", "ReduceOp", "BinaryOp", "UnaryOp"} <= set(families)
    wrong = []
    for rel, top, text in sources():
        code = "\n".join(line.split("//")[0] for line in text.splitlines())
        for name, home in families.items():
            at_home = rel.parts[: len(home)] == home or (home[-1] == "linalg.rs" and rel.parts[:2] == ("ops", "linalg"))
            if not at_home and re.search(rf"\b{name}::", code):
                wrong.append(f"{rel} names {name}'s variants (home: {'/'.join(home)})")
    assert not wrong, "\n".join(wrong)


def test_every_family_declares_its_structure():
    for rel, top, text in sources():
        for family in re.findall(r"impl Rule for (\w+)", text):
            body = text[text.index(f"impl Rule for {family}"):]
            assert "fn structure(" in body.split("\nimpl ")[0], f"{rel}: {family} does not declare its structure"


def test_unsafe_code_lives_in_the_kernels():
    lib = (SRC / "lib.rs").read_text()
    assert "#![deny(unsafe_code)]" in lib
    for rel, top, text in sources():
        code = "\n".join(line.split("//")[0] for line in text.splitlines())
        if re.search(r"\bunsafe\s*(\{|fn|impl)", code) and top != "kernels":
            # storage's zero fill is the one allowed exception, marked where it stands
            assert str(rel) == "dtype.rs" and "#[allow(unsafe_code)]" in code, f"unsafe code in {rel}"
