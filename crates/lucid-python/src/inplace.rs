//! In-place operators (`+=`, `-=`, …) and the one write primitive the `name_` methods
//! of `python/lucid/_inplace.py` share (NOTE [views and in-place writes]).

use pyo3::prelude::*;

use crate::convert::operand;
use crate::errors::PyResultExt;
use crate::tensor::PyTensor;
use crate::views::write;

/// `target op= other`: the out-of-place result written into `target`.
fn assign_op(
    target: &Bound<'_, PyTensor>,
    other: &Bound<'_, PyAny>,
    op: &'static str,
    f: fn(&lucid_core::Tensor, &lucid_core::Tensor) -> lucid_core::Result<lucid_core::Tensor>,
) -> PyResult<()> {
    let value = {
        let t = target.borrow();
        f(&t.inner, &operand(other, &t.inner, op)?).py()?
    };
    write(target, &value, op)
}

#[pymethods]
impl PyTensor {
    /// `t += other`, in place: every alias and view of `t` sees it.
    fn __iadd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        assign_op(slf, other, "add_", lucid_core::Tensor::add)
    }
    /// `t -= other`, in place.
    fn __isub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        assign_op(slf, other, "sub_", lucid_core::Tensor::sub)
    }
    /// `t *= other`, in place.
    fn __imul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        assign_op(slf, other, "mul_", lucid_core::Tensor::mul)
    }
    /// `t /= other`, in place (an integer tensor cannot hold the quotient: a RuntimeError).
    fn __itruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        assign_op(slf, other, "div_", lucid_core::Tensor::div)
    }
    /// `t //= other`, in place.
    fn __ifloordiv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        assign_op(slf, other, "floor_divide_", lucid_core::Tensor::floor_divide)
    }
    /// `t %= other`, in place.
    fn __imod__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        assign_op(slf, other, "remainder_", lucid_core::Tensor::remainder)
    }
    /// `t **= other`, in place.
    fn __ipow__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, _modulo: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = slf.borrow().__pow__(other, None)?.inner;
        write(slf, &value, "pow_")
    }
}

/// Write `value` (broadcast to `target`'s shape, cast to its dtype) into `target` in
/// place and return `target`; the primitive of every `name_` method.
#[pyfunction]
fn _write_inplace<'py>(
    target: &Bound<'py, PyTensor>,
    value: &Bound<'py, PyAny>,
    op: &str,
) -> PyResult<Bound<'py, PyTensor>> {
    let value = operand(value, &target.borrow().inner, "copy_")?;
    write(target, &value, op)?;
    Ok(target.clone())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_write_inplace, m)?)
}
