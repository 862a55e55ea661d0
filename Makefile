# The front door: `make demo` runs the main job, `make test` passes the tests.
# Both set up everything they need (a .venv with the build and test dependencies,
# the Rust extension built in release mode) on a machine with Rust and Python.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed

.PHONY: all build demo lint test test-rust test-python bench bench-quick stub clean

all: build

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Rebuilds only what changed (maturin/cargo are incremental).
build: $(STAMP)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH \
		$(VENV)/bin/maturin develop --release --quiet

demo: build
	$(PY) examples/demo.py

# Formatting and clippy, warnings as errors (both come with rustup's default profile).
# A missing tool fails here with how to install it rather than passing silently.
lint:
	@cargo fmt --version >/dev/null 2>&1 || { echo "make lint: rustfmt is missing; install it with: rustup component add rustfmt" >&2; exit 1; }
	@cargo clippy --version >/dev/null 2>&1 || { echo "make lint: clippy is missing; install it with: rustup component add clippy" >&2; exit 1; }
	cargo fmt --all --check
	cargo clippy -p lucid-autodiff -p lucid-python --all-targets -- -D warnings

test-rust:
	cargo test -p lucid-autodiff --quiet

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
