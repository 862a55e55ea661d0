"""The typed API: `mypy --strict` accepts lucid's own code and the correct examples in
tests/typing/ok_*.py, reports exactly the marked errors in tests/typing/bad_*.py, and
stubtest finds the stubs true to the extension.

A line of a bad_*.py file that must fail ends with ``# E: <part of mypy's message>``;
every such line must get an error containing that text, and no other line an error.
mypy keeps its incremental cache in .mypy_cache (tests/typing/mypy.ini), so a run after
the first takes a second or two; stubtest builds without a cache and runs in parallel.
"""

from __future__ import annotations

import pathlib
import re
import runpy
import subprocess
import sys

import pytest

pytest.importorskip("mypy", reason="mypy is not installed (it is in requirements-dev.txt)")

from mypy import api as mypy_api  # noqa: E402  (after the skip)

ROOT = pathlib.Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
CONFIG = TYPING / "mypy.ini"
OK_FILES = sorted(TYPING.glob("ok_*.py"))
BAD_FILES = sorted(TYPING.glob("bad_*.py"))
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*)$")
MARKER = re.compile(r"#\s*E:\s*(?P<expected>.+?)\s*$")


@pytest.fixture(scope="module")
def stubtest():
    """stubtest, started first so that it runs while mypy checks the files."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mypy.stubtest", "lucid", "--mypy-config-file", str(CONFIG),
         "--allowlist", str(TYPING / "stubtest_allowlist.txt")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def mypy_errors(stubtest) -> dict[str, list[tuple[int, str]]]:
    """One strict mypy run over lucid and every example file: the errors per file."""
    files = [str(p) for p in OK_FILES + BAD_FILES]
    stdout, stderr, status = mypy_api.run(
        ["--config-file", str(CONFIG), "--strict", "--no-pretty", "--no-error-summary",
         "--hide-error-context", "--show-error-codes", str(ROOT / "python" / "lucid"), *files])
    assert status in (0, 1), f"mypy crashed ({status}):\n{stdout}\n{stderr}"
    errors: dict[str, list[tuple[int, str]]] = {}
    for line in stdout.splitlines():
        m = ERROR.match(line)
        if m:
            path = pathlib.Path(m["path"])
            path = (path if path.is_absolute() else ROOT / path).resolve()
            errors.setdefault(str(path), []).append((int(m["line"]), m["message"]))
    return errors


def _report(errors: list[tuple[int, str]]) -> str:
    return "\n".join(f"  line {n}: {msg}" for n, msg in errors)


def test_lucid_itself_passes_mypy_strict(mypy_errors):
    package = str((ROOT / "python" / "lucid").resolve())
    found = {p: e for p, e in mypy_errors.items() if p.startswith(package)}
    assert not found, "mypy --strict errors in lucid:\n" + "\n".join(f"{p}:\n{_report(e)}" for p, e in found.items())


@pytest.mark.parametrize("path", OK_FILES, ids=lambda p: p.name)
def test_correct_examples_pass_mypy_strict(mypy_errors, path):
    errors = mypy_errors.get(str(path.resolve()), [])
    assert not errors, f"mypy --strict rejects correct code in {path.name}:\n{_report(errors)}"


@pytest.mark.parametrize("path", OK_FILES, ids=lambda p: p.name)
def test_correct_examples_run(path, capsys):
    # the examples are real code: they run, so what mypy accepts is what Lucid does
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.name)
def test_wrong_calls_fail_mypy_where_marked(mypy_errors, path):
    expected = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = MARKER.search(line)
        if m:
            expected[n] = m["expected"]
    assert expected, f"{path.name} marks no line with '# E:'"
    got: dict[int, list[str]] = {}
    for n, msg in mypy_errors.get(str(path.resolve()), []):
        got.setdefault(n, []).append(msg)
    problems = []
    for n, text in sorted(expected.items()):
        if n not in got:
            problems.append(f"  line {n}: no error, expected one containing {text!r}")
        elif not any(text in msg for msg in got[n]):
            problems.append(f"  line {n}: expected {text!r}, mypy said {got[n]}")
    for n in sorted(set(got) - set(expected)):
        problems.append(f"  line {n}: unexpected error(s) {got[n]}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_stubtest_passes(stubtest):
    out, _ = stubtest.communicate(timeout=600)
    assert stubtest.returncode == 0, f"python -m mypy.stubtest lucid failed:\n{out}"
