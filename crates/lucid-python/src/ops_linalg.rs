//! Linear algebra methods of `lucid.Tensor` (products, diagonals, triangles,
//! inverse, determinants, Cholesky) and the module functions `einsum` and `solve`.

use lucid_core::ops::linalg::einsum::einsum as core_einsum;
use lucid_core::ops::linalg::spectral::QrMode;
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

    /// The inner product `Σ self_i vec_i` of two 1-D tensors of the same length.
    ///
    /// >>> lucid.tensor([1.0, 2.0]).dot(lucid.tensor([3.0, 4.0]))
    /// tensor(11.)
    fn dot(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.dot(&tensor_arg(other, "dot", "other")?))
    }
    /// The cross product of 3-vectors along `dim` (size 3 in both; other dims broadcast).
    ///
    /// >>> lucid.tensor([1.0, 0.0, 0.0]).cross(lucid.tensor([0.0, 1.0, 0.0]))
    /// tensor([0., 0., 1.])
    #[pyo3(signature = (other, dim = Dim::new(-1)), text_signature = "($self, other, dim=-1)")]
    fn cross(&self, other: &Bound<'_, PyAny>, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.cross(&tensor_arg(other, "cross", "other")?, dim.get("cross", "dim")?))
    }
    /// The outer product of two 1-D tensors: `out[i, j] = self[i] * vec2[j]`.
    ///
    /// >>> lucid.tensor([1.0, 2.0]).outer(lucid.tensor([1.0, 10.0]))
    /// tensor([[ 1., 10.],
    ///         [ 2., 20.]])
    fn outer(&self, vec2: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.outer(&tensor_arg(vec2, "outer", "vec2")?))
    }
    /// The matrix `[n, m]` times the vector `[m]`.
    ///
    /// >>> lucid.eye(2).mv(lucid.tensor([3.0, 4.0]))
    /// tensor([3., 4.])
    fn mv(&self, vec: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.mv(&tensor_arg(vec, "mv", "vec")?))
    }
    /// The matrix product of `[n, m]` and `[m, p]` (no broadcasting; see `matmul`).
    ///
    /// >>> lucid.tensor([[1.0, 2.0]]).mm(lucid.tensor([[3.0], [4.0]]))
    /// tensor([[11.]])
    fn mm(&self, mat2: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.mm(&tensor_arg(mat2, "mm", "mat2")?))
    }
    /// The batched matrix product `[b, n, m] @ [b, m, p] -> [b, n, p]` (no broadcasting; see
    /// `matmul`).
    ///
    /// >>> lucid.ones(4, 2, 3).bmm(lucid.ones(4, 3, 5)).shape
    /// (4, 2, 5)
    fn bmm(&self, mat2: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.bmm(&tensor_arg(mat2, "bmm", "mat2")?))
    }

    // ---- diagonals and triangles --------------------------------------------------------

    /// The sum of the main diagonal of a 2-D tensor.
    ///
    /// >>> lucid.tensor([[1.0, 2.0], [3.0, 4.0]]).trace()
    /// tensor(5.)
    fn trace(&self) -> PyResult<PyTensor> {
        wrap(self.inner.trace())
    }
    /// Diagonal `offset` (> 0: above the main one, < 0: below) of the plane `(dim1, dim2)`,
    /// as a new last dim; a view (NOTE [views and in-place writes]).
    ///
    /// >>> x = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    /// >>> x.diagonal(), x.diagonal(1)
    /// (tensor([1., 4.]), tensor([2.]))
    #[pyo3(signature = (offset = Int::new(0), dim1 = Dim::new(0), dim2 = Dim::new(1)), text_signature = "($self, offset=0, dim1=0, dim2=1)")]
    fn diagonal<'py>(slf: &Bound<'py, Self>, offset: Int, dim1: Dim, dim2: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let offset = offset.get("diagonal", "offset")?;
        let (d1, d2) = (dim1.get("diagonal", "dim1")?, dim2.get("diagonal", "dim2")?);
        crate::views::view(slf, move |t| t.diagonal(offset, d1, d2))
    }
    /// A 1-D tensor to a square matrix with it on diagonal `diagonal`; a 2-D tensor's
    /// diagonal `diagonal` as a 1-D tensor.
    ///
    /// >>> lucid.tensor([1.0, 2.0]).diag()
    /// tensor([[1., 0.],
    ///         [0., 2.]])
    #[pyo3(signature = (diagonal = Int::new(0)), text_signature = "($self, diagonal=0)")]
    fn diag(&self, diagonal: Int) -> PyResult<PyTensor> {
        wrap(self.inner.diag(diagonal.get("diag", "diagonal")?))
    }
    /// The last dim written on diagonal `offset` of a new plane `(dim1, dim2)` of the result
    /// (zeros elsewhere): a batch of diagonal matrices.
    ///
    /// >>> lucid.tensor([[1.0, 2.0], [3.0, 4.0]]).diag_embed().shape
    /// (2, 2, 2)
    #[pyo3(signature = (offset = Int::new(0), dim1 = Dim::new(-2), dim2 = Dim::new(-1)), text_signature = "($self, offset=0, dim1=-2, dim2=-1)")]
    fn diag_embed(&self, offset: Int, dim1: Dim, dim2: Dim) -> PyResult<PyTensor> {
        let offset = offset.get("diag_embed", "offset")?;
        wrap(self.inner.diag_embed(offset, dim1.get("diag_embed", "dim1")?, dim2.get("diag_embed", "dim2")?))
    }
    /// The lower triangle of the last two dims, from diagonal `diagonal` down; the rest zeroed.
    ///
    /// >>> lucid.ones(2, 2).tril()
    /// tensor([[1., 0.],
    ///         [1., 1.]])
    #[pyo3(signature = (diagonal = Int::new(0)), text_signature = "($self, diagonal=0)")]
    fn tril(&self, diagonal: Int) -> PyResult<PyTensor> {
        wrap(self.inner.tril(diagonal.get("tril", "diagonal")?))
    }
    /// The upper triangle of the last two dims, from diagonal `diagonal` up; the rest zeroed.
    ///
    /// >>> lucid.ones(2, 2).triu(1)
    /// tensor([[0., 1.],
    ///         [0., 0.]])
    #[pyo3(signature = (diagonal = Int::new(0)), text_signature = "($self, diagonal=0)")]
    fn triu(&self, diagonal: Int) -> PyResult<PyTensor> {
        wrap(self.inner.triu(diagonal.get("triu", "diagonal")?))
    }

    // ---- square matrices -----------------------------------------------------------------

    /// The inverse of a square matrix or of a batch of them (`[..., n, n]`):
    /// d(A⁻¹) = -A⁻¹ dA A⁻¹. RuntimeError naming the batch index when a matrix is singular.
    ///
    /// >>> lucid.tensor([[2.0, 0.0], [0.0, 4.0]]).inverse()
    /// tensor([[0.5 , 0.  ],
    ///         [0.  , 0.25]])
    fn inverse(&self) -> PyResult<PyTensor> {
        wrap(self.inner.inverse())
    }
    /// The determinant of a square matrix or of a batch of them (0 for a singular one):
    /// ∂det A/∂A = det A · A⁻ᵀ.
    ///
    /// >>> lucid.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lucid.float64).det()
    /// tensor(-2., dtype=lucid.float64)
    fn det(&self) -> PyResult<PyTensor> {
        wrap(self.inner.det())
    }
    /// `log det A`: NaN for a negative determinant, -inf for a zero one; ∂/∂A = A⁻ᵀ.
    ///
    /// >>> lucid.tensor([[2.0, 0.0], [0.0, 3.0]], dtype=lucid.float64).logdet().exp()
    /// tensor(6., dtype=lucid.float64)
    fn logdet(&self) -> PyResult<PyTensor> {
        wrap(self.inner.logdet())
    }
    /// `(sign, logabsdet)` with `det A = sign · exp(logabsdet)`; `sign` carries no gradient,
    /// a singular matrix gives `(0, -inf)`. At a singular matrix `logabsdet` has no
    /// derivative (its gradient `A⁻ᵀ` is unbounded there): backward raises RuntimeError
    /// naming the zero pivot, as PyTorch's does (its solve fails), rather than return
    /// infinities.
    ///
    /// >>> sign, logabsdet = lucid.tensor([[0.0, 1.0], [1.0, 0.0]]).slogdet()
    /// >>> sign, logabsdet
    /// (tensor(-1.), tensor(0.))
    fn slogdet<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let (s, l) = self.inner.slogdet().py()?;
        PyTuple::new(py, [PyTensor::new(s), PyTensor::new(l)])
    }
    /// The Cholesky factor of a symmetric positive definite matrix: lower `L` with
    /// `A = L Lᵀ`, or with `upper=True` `U = Lᵀ`. Only the lower triangle is read;
    /// RuntimeError when a matrix is not positive definite.
    ///
    /// >>> lucid.tensor([[4.0, 2.0], [2.0, 5.0]]).cholesky()
    /// tensor([[2., 0.],
    ///         [1., 2.]])
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
///
/// >>> a = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
/// >>> lucid.einsum("ij,j->i", a, lucid.tensor([1.0, 1.0])), lucid.einsum("ii", a)
/// (tensor([3., 7.]), tensor(5.))
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

// ---- spectral factorizations (the `lucid.linalg` face names the results) ----------------

/// `(eigenvalues, eigenvectors)` of a (batch of) symmetric matrices read from the
/// lower (`upper=False`) or upper triangle; `lucid.linalg.eigh` wraps it.
///
/// >>> w, v = lucid._core.linalg_eigh(lucid.tensor([[2.0, 1.0], [1.0, 2.0]]), False)
/// >>> w
/// tensor([1., 3.])
#[pyfunction]
#[pyo3(signature = (A, upper))]
#[allow(non_snake_case)]
fn linalg_eigh<'py>(py: Python<'py>, A: &Bound<'py, PyAny>, upper: Flag) -> PyResult<Bound<'py, PyTuple>> {
    let (w, v) = tensor_arg(A, "eigh", "A")?.eigh(upper.get("eigh", "upper")?).py()?;
    PyTuple::new(py, [PyTensor::new(w), PyTensor::new(v)])
}

/// The eigenvalues of a (batch of) symmetric matrices, ascending; `lucid.linalg.eigvalsh`.
///
/// >>> lucid._core.linalg_eigvalsh(lucid.tensor([[2.0, 1.0], [1.0, 2.0]]), False)
/// tensor([1., 3.])
#[pyfunction]
#[pyo3(signature = (A, upper))]
#[allow(non_snake_case)]
fn linalg_eigvalsh(A: &Bound<'_, PyAny>, upper: Flag) -> PyResult<PyTensor> {
    wrap(tensor_arg(A, "eigvalsh", "A")?.eigvalsh(upper.get("eigvalsh", "upper")?))
}

/// `(U, S, Vh)` of a (batch of) matrices; `lucid.linalg.svd`.
///
/// >>> u, s, vh = lucid._core.linalg_svd(lucid.tensor([[3.0, 0.0], [0.0, -4.0]]), False)
/// >>> s
/// tensor([4., 3.])
#[pyfunction]
#[pyo3(signature = (A, full_matrices))]
#[allow(non_snake_case)]
fn linalg_svd<'py>(py: Python<'py>, A: &Bound<'py, PyAny>, full_matrices: Flag) -> PyResult<Bound<'py, PyTuple>> {
    let (u, s, vh) = tensor_arg(A, "svd", "A")?.svd(full_matrices.get("svd", "full_matrices")?).py()?;
    PyTuple::new(py, [PyTensor::new(u), PyTensor::new(s), PyTensor::new(vh)])
}

/// The singular values of a (batch of) matrices, descending; `lucid.linalg.svdvals`.
///
/// >>> lucid._core.linalg_svdvals(lucid.tensor([[3.0, 0.0], [0.0, -4.0]]))
/// tensor([4., 3.])
#[pyfunction]
#[pyo3(signature = (A))]
#[allow(non_snake_case)]
fn linalg_svdvals(A: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(tensor_arg(A, "svdvals", "A")?.svdvals())
}

/// `(Q, R)` of a (batch of) matrices, `mode` 'reduced', 'complete' or 'r'; `lucid.linalg.qr`.
///
/// >>> q, r = lucid._core.linalg_qr(lucid.tensor([[3.0, 1.0], [4.0, 2.0]]), "reduced")
/// >>> r[0, 0]
/// tensor(5.)
#[pyfunction]
#[pyo3(signature = (A, mode))]
#[allow(non_snake_case)]
fn linalg_qr<'py>(py: Python<'py>, A: &Bound<'py, PyAny>, mode: &str) -> PyResult<Bound<'py, PyTuple>> {
    let a = tensor_arg(A, "qr", "A")?;
    let (q, r) = a.qr(QrMode::parse(mode).py()?).py()?;
    PyTuple::new(py, [PyTensor::new(q), PyTensor::new(r)])
}

/// `(solution, residuals, rank, singular_values)` of the minimum-norm least-squares
/// problem `A X ≈ B`; `lucid.linalg.lstsq` picks what its driver returns.
///
/// >>> x, res, rank, sv = lucid._core.linalg_lstsq(lucid.eye(2), lucid.tensor([1.0, 2.0]), None)
/// >>> x, rank
/// (tensor([1., 2.]), tensor(2))
#[pyfunction]
#[pyo3(signature = (A, B, rcond))]
#[allow(non_snake_case)]
fn linalg_lstsq<'py>(
    py: Python<'py>,
    A: &Bound<'py, PyAny>,
    B: &Bound<'py, PyAny>,
    rcond: Option<f64>,
) -> PyResult<Bound<'py, PyTuple>> {
    let fit = tensor_arg(A, "lstsq", "A")?.lstsq(&tensor_arg(B, "lstsq", "B")?, rcond).py()?;
    PyTuple::new(py, [fit.solution, fit.residuals, fit.rank, fit.singular_values].map(PyTensor::new))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(einsum, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(linalg_eigh, m)?)?;
    m.add_function(wrap_pyfunction!(linalg_eigvalsh, m)?)?;
    m.add_function(wrap_pyfunction!(linalg_svd, m)?)?;
    m.add_function(wrap_pyfunction!(linalg_svdvals, m)?)?;
    m.add_function(wrap_pyfunction!(linalg_qr, m)?)?;
    m.add_function(wrap_pyfunction!(linalg_lstsq, m)?)?;
    Ok(())
}
