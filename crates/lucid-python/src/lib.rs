//! PyO3 bindings of lucid-core, built by maturin into `lucid._core`.
//!
//! Layering: this crate converts between Python objects and `lucid_core` values and
//! maps errors; all math and all autograd logic stay in lucid-core.

use pyo3::prelude::*;

#[global_allocator]
static GLOBAL: alloc::LucidAlloc = alloc::LucidAlloc;

mod alloc;
mod args;
mod autograd;
mod convert;
mod dlpack;
mod dtype;
mod errors;
mod inplace;
mod ops;
mod ops_index;
mod ops_linalg;
mod ops_math;
mod protocols;
mod tape;
mod tensor;
mod views;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<dtype::PyDType>()?;
    dtype::register(m)?;
    convert::register(m)?;
    ops::register(m)?;
    ops_linalg::register(m)?;
    ops_index::register(m)?;
    autograd::register(m)?;
    tape::register(m)?;
    inplace::register(m)?;
    protocols::register(m)?;
    dlpack::register(m)?;
    Ok(())
}
