"""The checked-in type stub matches what the extension exports."""

import importlib.util
import pathlib

import lucid._core as core

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_stub_is_current():
    spec = importlib.util.spec_from_file_location("gen_stub", ROOT / "tools" / "gen_stub.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    expected = gen.render(core)
    actual = (ROOT / "python" / "lucid" / "_core.pyi").read_text()
    assert actual == expected, "python/lucid/_core.pyi is stale: run `make stub`"
