# The front door: `make demo` runs the main job, `make test` passes the tests.
# Both set up everything they need (a .venv with the build and test dependencies,
# the Rust extension built in release mode) on a machine with Rust and Python.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed

.PHONY: all build demo docs lint test test-rust test-python bench bench-quick stub clean

all: build

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements-dev.txt requirements-docs.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Rebuilds only what changed (maturin/cargo are incremental).
build: $(STAMP)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH \
		$(VENV)/bin/maturin develop --release --quiet

demo: build
	$(PY) examples/demo.py

# The docs site into docs/_build/html (Sphinx, warnings as errors; see docs/conf.py),
# with the lucid-core crate's cargo doc under rust/.
docs: build
	$(PY) -m sphinx -W --keep-going -q -b html -d docs/_build/doctrees docs docs/_build/html
	RUSTDOCFLAGS="-D warnings" cargo doc -p lucid-core --no-deps --quiet
	rm -rf docs/_build/html/rust && cp -r target/doc docs/_build/html/rust

# Formatting, clippy and lucid-core's rustdoc (#![warn(missing_docs)], broken intra-doc
# links), warnings as errors (all come with rustup's default profile).
# A missing tool fails here with how to install it rather than passing silently.
lint:
	@cargo fmt --version >/dev/null 2>&1 || { echo "make lint: rustfmt is missing; install it with: rustup component add rustfmt" >&2; exit 1; }
	@cargo clippy --version >/dev/null 2>&1 || { echo "make lint: clippy is missing; install it with: rustup component add clippy" >&2; exit 1; }
	cargo fmt --all --check
	cargo clippy -p lucid-core -p lucid-python --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc -p lucid-core --no-deps --quiet

test-rust:
	cargo test -p lucid-core --quiet

test-python: build
	$(PY) -m pytest -q

test: lint test-rust test-python bench-quick

bench: build
	@$(PY) -c "import autograd, jax, matplotlib, asdex, casadi, scipy" 2>/dev/null || $(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) benchmarks/bench.py

bench-quick: build
	@if [ -f benchmarks/bench.py ]; then $(PY) benchmarks/bench.py --quick --smoke; fi

# Regenerate the type stub of lucid._core from the built extension (tests/test_stub.py
# fails when it is stale).
stub: build
	$(PY) tools/gen_stub.py

clean:
	cargo clean
	rm -rf $(VENV) python/lucid/*.so
