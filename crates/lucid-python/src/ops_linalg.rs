//! Linear algebra methods of `lucid.Tensor` (products, diagonals, triangles,
//! inverse, determinants, Cholesky) and the module functions `einsum` and `solve`.

use lucid_core::ops::linalg::einsum::einsum as core_einsum;
use lucid_core::Tensor;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::args::{self, Dim, Flag, Int};
use crate::errors::PyResultExt;
use crate::tensor::{wrap, PyTensor};

/// A Tensor argument, or a TypeError naming the op and the argument.
fn tensor_arg(obj: &Bound<'_, PyAny>, op: &str, name: &str) -> PyResult<Tensor> {
    match obj.downcast::<PyTensor>() {
        Ok(t) => Ok(t.borrow().inner.clone()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{op}: argument '{name}' must be a Tensor, got {}",
            obj.get_type().name()?
        ))),
    }
}

#[pymethods]
impl PyTensor {
    // ---- products ---------------------------------------------------------------------

    /// Inner product of two 1-D tensors of the same length.
    fn dot(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.dot(&tensor_arg(other, "dot", "other")?))
    }
    /// Cross product of 3-vectors along `dim` (size 3 in both; other dims broadcast).
    #[pyo3(signature = (other, dim = Dim::new(-1)), text_signature = "($self, other, dim=-1)")]
    fn cross(&self, other: &Bound<'_, PyAny>, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.cross(&tensor_arg(other, "cross", "other")?, dim.get("cross", "dim")?))
    }
    /// Outer product of two 1-D tensors: `out[i, j] = self[i] * vec2[j]`.
    fn outer(&self, vec2: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.outer(&tensor_arg(vec2, "outer", "vec2")?))
    }
    /// Matrix `[n, m]` times vector `[m]`.
    fn mv(&self, vec: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.mv(&tensor_arg(vec, "mv", "vec")?))
    }
    /// Matrix `[n, m]` times matrix `[m, p]` (no broadcasting; see `matmul`).
    fn mm(&self, mat2: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.mm(&tensor_arg(mat2, "mm", "mat2")?))
    }
    /// Batched matrix product `[b, n, m] @ [b, m, p]` (no broadcasting).
    fn bmm(&self, mat2: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.bmm(&tensor_arg(mat2, "bmm", "mat2")?))
    }

    // ---- diagonals and triangles --------------------------------------------------------

    /// Sum of the main diagonal of a 2-D tensor.
    fn trace(&self) -> PyResult<PyTensor> {
        wrap(self.inner.trace())
    }
    /// Diagonal `offset` (> 0: above the main one) of the plane `(dim1, dim2)`, as a
    /// new last dim; a view (NOTE [views and in-place writes]).
    #[pyo3(signature = (offset = Int::new(0), dim1 = Dim::new(0), dim2 = Dim::new(1)), text_signature = "($self, offset=0, dim1=0, dim2=1)")]
    fn diagonal<'py>(slf: &Bound<'py, Self>, offset: Int, dim1: Dim, dim2: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let offset = offset.get("diagonal", "offset")?;
        let (d1, d2) = (dim1.get("diagonal", "dim1")?, dim2.get("diagonal", "dim2")?);
        crate::views::view(slf, move |t| t.diagonal(offset, d1, d2))
    }
    /// A 1-D tensor to a square matrix with it on diagonal `diagonal`, or a 2-D
    /// tensor's diagonal `diagonal` as a 1-D tensor.
    #[pyo3(signature = (diagonal = Int::new(0)), text_signature = "($self, diagonal=0)")]
    fn diag(&self, diagonal: Int) -> PyResult<PyTensor> {
        wrap(self.inner.diag(diagonal.get("diag", "diagonal")?))
    }
    /// The last dim written on diagonal `offset` of the new plane `(dim1, dim2)` of
    /// the result (zeros elsewhere).
    #[pyo3(signature = (offset = Int::new(0), dim1 = Dim::new(-2), dim2 = Dim::new(-1)), text_signature = "($self, offset=0, dim1=-2, dim2=-1)")]
    fn diag_embed(&self, offset: Int, dim1: Dim, dim2: Dim) -> PyResult<PyTensor> {
        let offset = offset.get("diag_embed", "offset")?;
        wrap(self.inner.diag_embed(offset, dim1.get("diag_embed", "dim1")?, dim2.get("diag_embed", "dim2")?))
    }
    /// Lower triangle of the last two dims from diagonal `diagonal` down.
    #[pyo3(signature = (diagonal = Int::new(0)), text_signature = "($self, diagonal=0)")]
    fn tril(&self, diagonal: Int) -> PyResult<PyTensor> {
        wrap(self.inner.tril(diagonal.get("tril", "diagonal")?))
    }
    /// Upper triangle of the last two dims from diagonal `diagonal` up.
    #[pyo3(signature = (diagonal = Int::new(0)), text_signature = "($self, diagonal=0)")]
    fn triu(&self, diagonal: Int) -> PyResult<PyTensor> {
        wrap(self.inner.triu(diagonal.get("triu", "diagonal")?))
    }

    // ---- square matrices -----------------------------------------------------------------

    /// Inverse of a square matrix or a batch of them (RuntimeError if singular).
    fn inverse(&self) -> PyResult<PyTensor> {
        wrap(self.inner.inverse())
    }
    /// Determinant of a square matrix or a batch of them.
    fn det(&self) -> PyResult<PyTensor> {
        wrap(self.inner.det())
    }
    /// `log(det)`: NaN for a negative determinant, -inf for a zero one.
    fn logdet(&self) -> PyResult<PyTensor> {
        wrap(self.inner.logdet())
    }
    /// `(sign, logabsdet)` of the determinant; `sign` carries no gradient.
    fn slogdet<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let (s, l) = self.inner.slogdet().py()?;
        PyTuple::new(py, [PyTensor::new(s), PyTensor::new(l)])
    }
    /// Cholesky factor of a symmetric positive definite matrix: lower `L` with
    /// `A = L Lᵀ`, or upper `U` with `A = Uᵀ U` (RuntimeError if not positive definite).
    #[pyo3(signature = (upper = Flag::new(false)), text_signature = "($self, upper=False)")]
    fn cholesky(&self, upper: Flag) -> PyResult<PyTensor> {
        let upper = upper.get("cholesky", "upper")?;
        wrap(self.inner.cholesky(upper))
    }
}

/// Einstein summation: `einsum("ij,jk->ik", a, b)`; operands may also be one list.
/// Repeated subscripts in an operand take diagonals, subscripts missing from the
/// output are summed, `...` broadcasts; without `->` the output is the subscripts
/// used once, in alphabetical order. Differentiable to any order.
#[pyfunction]
#[pyo3(signature = (equation, *operands))]
fn einsum(equation: &Bound<'_, PyAny>, operands: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
    let equation = equation.downcast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!("einsum: equation must be a str, got {}", args::type_name(equation)))
    })?;
    let items: Vec<Bound<'_, PyAny>> = match operands.len() {
        1 if operands.get_item(0)?.is_instance_of::<PyList>() || operands.get_item(0)?.is_instance_of::<PyTuple>() => {
            operands.get_item(0)?.try_iter()?.collect::<PyResult<_>>()?
        }
        _ => operands.iter().collect(),
    };
    let tensors: Vec<Tensor> = items
        .iter()
        .enumerate()
        .map(|(i, o)| tensor_arg(o, "einsum", &format!("operand {i}")))
        .collect::<PyResult<_>>()?;
    wrap(core_einsum(&equation.to_cow()?, &tensors))
}

/// `X = A⁻¹ B` for `A` of shape `[..., n, n]` and `B` of shape `[..., n]` (a batch of
/// vectors: B is 1-D or has shape `A.shape[:-1]`) or `[..., n, k]`; batch dims
/// broadcast. RuntimeError if A is singular.
#[pyfunction]
#[pyo3(signature = (A, B))]
#[allow(non_snake_case)]
fn solve(A: &Bound<'_, PyAny>, B: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(tensor_arg(A, "solve", "A")?.solve(&tensor_arg(B, "solve", "B")?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(einsum, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    Ok(())
}
