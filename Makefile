# The front door: `make demo` runs the main job, `make test` passes the tests.
# Both set up everything they need (a .venv with the build and test dependencies,
# the Rust extension built in release mode) on a machine with Rust and Python.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed

.PHONY: all build demo docs lint test test-rust test-python bench bench-quick stub wheel miri clean

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
# with the lucid-autodiff crate's cargo doc under rust/.
docs: build
	$(PY) -m sphinx -W --keep-going -q -b html -d docs/_build/doctrees docs docs/_build/html
	RUSTDOCFLAGS="-D warnings" cargo doc -p lucid-autodiff --no-deps --quiet
	rm -rf docs/_build/html/rust && cp -r target/doc docs/_build/html/rust

# Formatting, clippy and lucid-core's rustdoc (#![warn(missing_docs)], broken intra-doc
# links), warnings as errors (all come with rustup's default profile).
# A missing tool fails here with how to install it rather than passing silently.
lint:
	@cargo fmt --version >/dev/null 2>&1 || { echo "make lint: rustfmt is missing; install it with: rustup component add rustfmt" >&2; exit 1; }
	@cargo clippy --version >/dev/null 2>&1 || { echo "make lint: clippy is missing; install it with: rustup component add clippy" >&2; exit 1; }
	cargo fmt --all --check
	cargo clippy -p lucid-autodiff -p lucid-python --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc -p lucid-autodiff --no-deps --quiet

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

# A manylinux wheel of the distribution lucid-autodiff (import name lucid) in
# target/wheels, then installed into a fresh virtual environment outside the source tree
# and checked there: metadata, an import from site-packages and a Jacobian against its
# closed form. zig (the `ziglang` package) links against glibc 2.28 whatever this
# machine's glibc is, so the wheel installs on any Linux with glibc >= 2.28; without it
# maturin can only tag the wheel with the build machine's glibc (manylinux_2_35 here).
MANYLINUX ?= manylinux_2_28
WHEEL_DIR := target/wheels
WHEEL_SMOKE := import importlib.metadata as md, numpy as np, lucid; \
	from lucid.autograd import jacobian; \
	x = lucid.tensor(np.array([0.5, 1.0, 2.0])); \
	J = jacobian(lambda x: (x * x).sin() + 2 * x, x).numpy(); \
	want = np.diag(2 * x.numpy() * np.cos(x.numpy() ** 2) + 2); \
	assert np.allclose(J, want, rtol=1e-12, atol=0), J; \
	assert 'site-packages' in lucid.__file__, lucid.__file__; \
	assert md.version('lucid-autodiff') == lucid.__version__, (md.version('lucid-autodiff'), lucid.__version__); \
	assert md.metadata('lucid-autodiff')['License-Expression'] == 'MIT'; \
	print('wheel ok: lucid-autodiff', md.version('lucid-autodiff'), 'imported from', lucid.__file__)

wheel: $(STAMP)
	@$(PY) -c "import ziglang" 2>/dev/null || $(PY) -m pip install --quiet ziglang
	rm -f $(WHEEL_DIR)/lucid_autodiff-*.whl
	PATH=$$($(PY) -c "import os, ziglang; print(os.path.dirname(ziglang.__file__))"):$$PATH \
		$(VENV)/bin/maturin build --release --zig --compatibility $(MANYLINUX) --out $(WHEEL_DIR)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		$(PYTHON) -m venv "$$tmp/venv" && \
		"$$tmp/venv/bin/python" -m pip install --quiet $(CURDIR)/$(WHEEL_DIR)/lucid_autodiff-*.whl && \
		cd "$$tmp" && "$$tmp/venv/bin/python" -c "$(WHEEL_SMOKE)"

# The kernels' unsafe code (crates/lucid-core/src/kernels) under Miri and AddressSanitizer,
# on nightly with the miri and rust-src components; not in `make test` (~5 min on 2 cores).
# Miri checks every access, borrow, alignment and data race of the pool's and zips' unit
# tests and of tests/kernels_miri.rs (small products and matrix-vector products) at the
# target's baseline, then with AVX2+FMA and AVX-512 on, so the intrinsics kernels run in
# Miri's emulation. The kernels' product unit tests are too large for Miri (one ran 8 min
# unfinished): AddressSanitizer runs them natively, every kernel the CPU has and the
# pool's shared products.
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
MIRI_X86 = "" "+avx2,+fma" "+avx2,+fma,+avx512f"
MIRI_FEATURES = $(if $(findstring x86_64,$(HOST_TRIPLE)),$(MIRI_X86),"")
miri:
	@cargo +nightly miri --version >/dev/null 2>&1 || { echo "make miri: Miri is missing; install it with: rustup toolchain install nightly --component miri --component rust-src" >&2; exit 1; }
	cargo +nightly miri test -p lucid-autodiff --lib -- kernels::pool kernels::elementwise
	for f in $(MIRI_FEATURES); do echo "make miri: target features $${f:-baseline}"; \
		RUSTFLAGS="$${f:+-C target-feature=$$f}" cargo +nightly miri test -p lucid-autodiff --test kernels_miri || exit 1; done
	RUSTFLAGS="-Zsanitizer=address" cargo +nightly test -Zbuild-std --target $(HOST_TRIPLE) \
		--target-dir target/asan -p lucid-autodiff --lib kernels::

# Regenerate the type stub of lucid._core from the built extension (tests/test_stub.py
# fails when it is stale).
stub: build
	$(PY) tools/gen_stub.py

clean:
	cargo clean
	rm -rf $(VENV) python/lucid/*.so
