//! Linear algebra: checked product wrappers over `matmul` (dot, outer, mv, mm, bmm),
//! and inverse, determinants, solve and Cholesky over batches of square matrices.
//!
//! The factorizations are our own (`decomp.rs`: LU with partial pivoting, Cholesky),
//! generic over f32/f64, so the crate needs nothing beyond ndarray. Every rule is
//! written with differentiable ops — `inverse`, `solve`, `matmul`, `tril` — so
//! second derivatives come from the same code; leading batch dims of the cotangent
//! broadcast through the matrix products and solves untouched.
//!
//! Submodules: `decomp` (numeric kernels), `diag` (diagonal/diag_embed/tril/triu),
//! `einsum` (contractions composed from differentiable ops), `spectral` (eigh, svd, qr,
//! lstsq).

pub mod decomp;
pub mod diag;
pub mod einsum;
pub mod spectral;

use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::ops::nondiff;
use crate::shape::{broadcast_shapes, normalize_axis};
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;
pub use diag::DiagOp;

/// The linear-algebra family, as recorded in the graph.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum LinalgOp {
    /// Diagonals and triangles: `diagonal`, `diag_embed`, `tril`, `triu`.
    Diag(DiagOp),
    /// `A⁻¹`
    Inv,
    /// `det A`
    Det,
    /// `log |det A|` (the differentiable half of `slogdet`)
    LogAbsDet,
    /// `A⁻¹ B` for a matrix right-hand side (vectors are unsqueezed by `solve`).
    Solve,
    /// Lower Cholesky factor.
    Cholesky,
}

impl Rule for LinalgOp {
    // Inverses, determinants, solves and factorizations already take batches of
    // matrices (a shared operand of a solve is broadcast over the batch first).
    fn batch(&self, inputs: &[Tensor], batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        match self {
            LinalgOp::Diag(op) => op.batch(inputs, batched, shape, dtype),
            // matrix batch dims of A and B broadcast per sample: align their ranks
            LinalgOp::Solve => {
                use crate::tensor::graph::{align, all_batched};
                let both = all_batched(inputs, batched)?;
                let rank = both.iter().map(|x| x.ndim() - 1).max().unwrap_or(0);
                let aligned = both.iter().map(|x| align(x, true, rank)).collect::<Result<Vec<_>>>()?;
                self.replay(&aligned, shape, dtype).map(Some)
            }
            _ => self.replay(inputs, shape, dtype).map(Some),
        }
    }

    fn replay(&self, inputs: &[Tensor], shape: &[usize], dtype: DType) -> Result<Tensor> {
        let a = &inputs[0];
        match self {
            LinalgOp::Diag(op) => op.replay(inputs, shape, dtype),
            LinalgOp::Inv => a.inverse(),
            LinalgOp::Det => a.det(),
            LinalgOp::LogAbsDet => Ok(a.slogdet()?.1),
            LinalgOp::Solve => a.solve_matrix("solve", &inputs[1]),
            LinalgOp::Cholesky => a.cholesky(false),
        }
    }

    // Inverses, determinants, solves and factorizations mix every element of a matrix
    // (and no more: batches stay apart).
    fn structure(&self) -> Structure<'_> {
        match self {
            LinalgOp::Diag(op) => op.structure(),
            LinalgOp::Det | LinalgOp::LogAbsDet => Structure::Unstructured(Dependence::Matrices { out_dims: 0 }),
            LinalgOp::Inv | LinalgOp::Solve | LinalgOp::Cholesky => {
                Structure::Unstructured(Dependence::Matrices { out_dims: 2 })
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            LinalgOp::Diag(op) => op.name(),
            LinalgOp::Inv => "inv",
            LinalgOp::Det => "det",
            LinalgOp::LogAbsDet => "slogdet",
            LinalgOp::Solve => "solve",
            LinalgOp::Cholesky => "cholesky",
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        batch: usize,
        needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let a = &inputs[0];
        Ok(match self {
            LinalgOp::Diag(op) => return op.vjp(inputs, out, g, batch, needs),
            // d(A⁻¹) = -A⁻¹ dA A⁻¹  ⇒  gA = -A⁻ᵀ G A⁻ᵀ (out = A⁻¹)
            LinalgOp::Inv => {
                let it = out.mt()?;
                vec![Some(it.matmul(g)?.matmul(&it)?.neg()?)]
            }
            // d det A = tr(adj(A) dA)  ⇒  gA = G · adj(A)ᵀ = G · det A · A⁻ᵀ. When some
            // matrix of the batch is singular (no inverse) the cofactor matrix adj(A)ᵀ is
            // built from minors instead: defined everywhere, as PyTorch's gradient is.
            LinalgOp::Det => {
                let g = g.unsqueeze(-1)?.unsqueeze(-1)?;
                match a.inverse_for("det backward") {
                    Ok(inv) => vec![Some(g.mul(&out.unsqueeze(-1)?.unsqueeze(-1)?)?.mul(&inv.mt()?)?)],
                    Err(Error::Linalg { .. }) => vec![Some(g.mul(&cofactors(a)?)?)],
                    Err(e) => return Err(e),
                }
            }
            // d log|det A| = tr(A⁻¹ dA)  ⇒  gA = G · A⁻ᵀ
            LinalgOp::LogAbsDet => {
                let scale = g.unsqueeze(-1)?.unsqueeze(-1)?;
                vec![Some(scale.mul(&a.inverse_for("slogdet backward")?.mt()?)?)]
            }
            // X = A⁻¹ B: dX = A⁻¹ (dB - dA X)  ⇒  gB = A⁻ᵀ G, gA = -gB Xᵀ
            LinalgOp::Solve => {
                let gb = a.mt()?.solve_matrix("solve backward", g)?;
                let ga = if needs[0] { Some(gb.matmul(&out.mt()?)?.neg()?) } else { None };
                vec![ga, needs[1].then_some(gb)]
            }
            // A = L Lᵀ (Murray 2016, arXiv:1602.07527): with P = tril(Lᵀ G) and
            // S = ½ (P + tril(P, -1)ᵀ) (P symmetrised, diagonal halved), gA = L⁻ᵀ S L⁻¹,
            // symmetric, as PyTorch returns it.
            LinalgOp::Cholesky => {
                let p = out.mt()?.matmul(g)?.tril(0)?;
                let s = p.add(&p.tril(-1)?.mt()?)?.mul_scalar(0.5)?;
                let lt = out.mt()?;
                let y = lt.solve_matrix("cholesky backward", &s)?; // L⁻ᵀ S
                vec![Some(lt.solve_matrix("cholesky backward", &y.mt()?)?.mt()?)]
                // (L⁻ᵀ (L⁻ᵀ S)ᵀ)ᵀ = L⁻ᵀ S L⁻¹
            }
        })
    }

    // Tangents `t` have shape `batch_shape + x.shape`; the op's own batch dims broadcast
    // right-aligned through matmul and solve, so only an operand with fewer dims than
    // the output needs size-1 dims after the tangent batch (`Tensor::pad_after_batch`).
    fn jvp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        tangents: &[Option<Tensor>],
        batch: usize,
    ) -> Result<Option<Tensor>> {
        let a = &inputs[0];
        Ok(Some(match (self, &tangents[0]) {
            (LinalgOp::Diag(op), _) => return op.jvp(inputs, out, tangents, batch),
            // X = A⁻¹ B: dX = A⁻¹ (dB - dA X)
            (LinalgOp::Solve, ta) => {
                let da_x = ta
                    .as_ref()
                    .map(|t| t.pad_after_batch(batch, out.ndim().saturating_sub(a.ndim()))?.matmul(out))
                    .transpose()?;
                let db = tangents[1]
                    .as_ref()
                    .map(|t| t.pad_after_batch(batch, out.ndim().saturating_sub(inputs[1].ndim())))
                    .transpose()?;
                let rhs = match (db, da_x) {
                    (Some(db), Some(da_x)) => db.sub(&da_x)?,
                    (Some(db), None) => db,
                    (None, Some(da_x)) => da_x.neg()?,
                    (None, None) => return Ok(None),
                };
                a.solve_matrix("solve jvp", &rhs)?
            }
            (_, None) => return Ok(None),
            // d(A⁻¹) = -A⁻¹ dA A⁻¹ (out = A⁻¹)
            (LinalgOp::Inv, Some(t)) => left_mul(&out.neg()?, &t.matmul(out)?)?,
            // d det A = tr(adj(A) dA) = det A · tr(A⁻¹ dA); at a singular matrix adj(A)ᵀ is
            // the cofactor matrix, as in the VJP (defined everywhere, as PyTorch).
            (LinalgOp::Det, Some(t)) => match a.inverse_for("det jvp") {
                Ok(inv) => frobenius(&inv.mt()?, t)?.mul(out)?,
                Err(Error::Linalg { .. }) => frobenius(&cofactors(a)?, t)?,
                Err(e) => return Err(e),
            },
            // d log|det A| = tr(A⁻¹ dA) (the sign is piecewise constant: zero tangent)
            (LinalgOp::LogAbsDet, Some(t)) => frobenius(&a.inverse_for("slogdet jvp")?.mt()?, t)?,
            // A = L Lᵀ: dL = L Φ(L⁻¹ sym(dA) L⁻ᵀ), Φ = lower triangle with the diagonal
            // halved; sym(dA) = ½(dA + dAᵀ) since the VJP returns the symmetric gradient
            // (PyTorch's convention) and the JVP is its exact transpose.
            (LinalgOp::Cholesky, Some(t)) => {
                let sym = t.add(&t.mt()?)?.mul_scalar(0.5)?;
                let y = out.solve_matrix("cholesky jvp", &sym)?; // L⁻¹ sym(dA)
                let m = out.solve_matrix("cholesky jvp", &y.mt()?)?; // L⁻¹ (L⁻¹ sym)ᵀ = L⁻¹ sym L⁻ᵀ
                left_mul(out, &m.tril(0)?.add(&m.tril(-1)?)?.mul_scalar(0.5)?)?
            }
        }))
    }
}

/// `m @ x`, as `(xᵀ mᵀ)ᵀ` when `m` is one matrix and `x` a batch (a tangent): matmul
/// makes a batch of matrices times one matrix a single GEMM over the stacked rows, but
/// one matrix times a batch a product per batch element (4x slower for the forward-mode
/// Jacobian of a 30×30 inverse).
fn left_mul(m: &Tensor, x: &Tensor) -> Result<Tensor> {
    if m.ndim() == 2 && x.ndim() > 2 {
        x.mt()?.matmul(&m.mt()?)?.mt()
    } else {
        m.matmul(x)
    }
}

/// `⟨c, t⟩` over the last two dims, `tr(cᵀ t)`, with `c` broadcasting over the tangent batch.
fn frobenius(c: &Tensor, t: &Tensor) -> Result<Tensor> {
    c.mul(t)?.sum(Some(&[-2, -1]), false)
}

/// `a` without index `i` of `dim` (a differentiable copy).
fn drop_index(a: &Tensor, dim: isize, i: usize) -> Result<Tensor> {
    let n = a.shape()[a.ndim() - if dim == -1 { 1 } else { 2 }];
    Tensor::cat(&[a.narrow(dim, 0, i)?, a.narrow(dim, i + 1, n - i - 1)?], dim)
}

/// The cofactor matrix `C_ij = (-1)^(i+j) det(A without row i and column j)` of each
/// matrix, i.e. `adj(A)ᵀ`, from n² differentiable minor determinants: O(n⁵), used
/// only for the gradient of `det` at singular matrices.
fn cofactors(a: &Tensor) -> Result<Tensor> {
    let n = a.shape()[a.ndim() - 1];
    let mut entries = Vec::with_capacity(n * n);
    for i in 0..n {
        let rows = drop_index(a, -2, i)?;
        for j in 0..n {
            let minor = drop_index(&rows, -1, j)?.det()?;
            entries.push(if (i + j) % 2 == 1 { minor.neg()? } else { minor });
        }
    }
    if entries.is_empty() {
        return Ok(Tensor::zeros(a.shape(), a.dtype()));
    }
    // batch + [n²] → batch + [n, n], the shape of `a`
    Tensor::stack(&entries, -1)?.reshape_exact(a.shape())
}

/// The size `n` of a (batch of) square matrices, or a shape error naming `op`.
fn square(op: &'static str, t: &Tensor) -> Result<usize> {
    let s = t.shape();
    if s.len() < 2 || s[s.len() - 1] != s[s.len() - 2] {
        return Err(Error::shape(
            op,
            format!("expected a square matrix or a batch of square matrices (shape [..., n, n]), got shape {s:?}"),
        ));
    }
    Ok(s[s.len() - 1])
}

/// A floating tensor for `op` (integer and bool inputs are a dtype error).
fn float_input(op: &'static str, t: &Tensor) -> Result<()> {
    if !t.dtype().is_float() {
        return Err(Error::dtype(op, format!("expected a floating point tensor, got {}", t.dtype())));
    }
    Ok(())
}

fn linalg_op(op: LinalgOp, data: Storage, inputs: Vec<Tensor>) -> Tensor {
    Tensor::from_op(data, op, inputs)
}

impl Tensor {
    /// The cross product of 3-vectors along `dim` (both inputs of size 3 there; other
    /// dims broadcast), PyTorch's `torch.linalg.cross`. Written with slices, products
    /// and `cat`, so its derivatives of every order and in both modes come from theirs.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![1.0, 0.0, 0.0], &[3], DType::F64).unwrap();
    /// let y = Tensor::from_vec(vec![0.0, 1.0, 0.0], &[3], DType::F64).unwrap();
    /// assert_eq!(x.cross(&y, -1).unwrap().to_f64_vec(), vec![0.0, 0.0, 1.0]);
    /// ```
    pub fn cross(&self, other: &Tensor, dim: isize) -> Result<Tensor> {
        let shape = broadcast_shapes("cross", self.shape(), other.shape())?;
        let d = normalize_axis("cross", dim, shape.len())?;
        // each input's own size along dim (aligned on the right) must be 3: a size-1
        // dim broadcast to 3 would be a vector of three equal components
        let own = |t: &Tensor| (d + t.ndim()).checked_sub(shape.len()).map(|k| t.shape()[k]);
        if own(self) != Some(3) || own(other) != Some(3) {
            return Err(Error::shape(
                "cross",
                format!(
                    "dim {dim} must have size 3 in both inputs, got shapes {:?} and {:?}",
                    self.shape(),
                    other.shape()
                ),
            ));
        }
        let (a, b) = (self.expand(&shape)?, other.expand(&shape)?);
        let part = |t: &Tensor, k: usize| t.narrow(d as isize, k, 1);
        let (a0, a1, a2) = (part(&a, 0)?, part(&a, 1)?, part(&a, 2)?);
        let (b0, b1, b2) = (part(&b, 0)?, part(&b, 1)?, part(&b, 2)?);
        let c0 = a1.mul(&b2)?.sub(&a2.mul(&b1)?)?;
        let c1 = a2.mul(&b0)?.sub(&a0.mul(&b2)?)?;
        let c2 = a0.mul(&b1)?.sub(&a1.mul(&b0)?)?;
        Tensor::cat(&[c0, c1, c2], d as isize)
    }

    // ---- checked products ---------------------------------------------------------

    /// Inner product of two vectors of the same length.
    pub fn dot(&self, other: &Tensor) -> Result<Tensor> {
        if self.ndim() != 1 || other.ndim() != 1 {
            return Err(Error::shape(
                "dot",
                format!("expected two 1-D tensors, got shapes {:?} and {:?}", self.shape(), other.shape()),
            ));
        }
        if self.shape() != other.shape() {
            return Err(Error::shape(
                "dot",
                format!("vectors of lengths {} and {} have no inner product", self.shape()[0], other.shape()[0]),
            ));
        }
        self.matmul(other)
    }

    /// Outer product `a[i] b[j]` of two vectors.
    pub fn outer(&self, other: &Tensor) -> Result<Tensor> {
        if self.ndim() != 1 || other.ndim() != 1 {
            return Err(Error::shape(
                "outer",
                format!("expected two 1-D tensors, got shapes {:?} and {:?}", self.shape(), other.shape()),
            ));
        }
        self.unsqueeze(1)?.mul(other)
    }

    /// Matrix times vector.
    pub fn mv(&self, vec: &Tensor) -> Result<Tensor> {
        if self.ndim() != 2 || vec.ndim() != 1 || self.shape()[1] != vec.shape()[0] {
            return Err(Error::shape(
                "mv",
                format!(
                    "expected a matrix [n, m] and a vector [m], got shapes {:?} and {:?}",
                    self.shape(),
                    vec.shape()
                ),
            ));
        }
        self.matmul(vec)
    }

    /// Matrix times matrix (2-D only; `matmul` broadcasts).
    pub fn mm(&self, other: &Tensor) -> Result<Tensor> {
        if self.ndim() != 2 || other.ndim() != 2 || self.shape()[1] != other.shape()[0] {
            return Err(Error::shape(
                "mm",
                format!("expected matrices [n, m] and [m, p], got shapes {:?} and {:?}", self.shape(), other.shape()),
            ));
        }
        self.matmul(other)
    }

    /// Batch of matrix products: `[b, n, m] @ [b, m, p]` (no broadcasting).
    pub fn bmm(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self.shape(), other.shape());
        if a.len() != 3 || b.len() != 3 || a[0] != b[0] || a[2] != b[1] {
            return Err(Error::shape(
                "bmm",
                format!("expected batches of matrices [b, n, m] and [b, m, p], got shapes {a:?} and {b:?}"),
            ));
        }
        self.matmul(other)
    }

    // ---- square matrices ----------------------------------------------------------

    /// `A⁻¹` of a matrix or a batch of matrices; a singular matrix is an error naming
    /// its batch index.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![2.0, 0.0, 0.0, 4.0], &[2, 2], DType::F64).unwrap();
    /// assert_eq!(a.inverse().unwrap().to_f64_vec(), vec![0.5, 0.0, 0.0, 0.25]);
    /// ```
    pub fn inverse(&self) -> Result<Tensor> {
        self.inverse_for("inv")
    }

    fn inverse_for(&self, op: &'static str) -> Result<Tensor> {
        square(op, self)?;
        float_input(op, self)?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(decomp::inv(op, a)?),
            Storage::F64(a) => Storage::F64(decomp::inv(op, a)?),
            _ => return Err(Error::dtype(op, "expected a floating point tensor")),
        };
        Ok(linalg_op(LinalgOp::Inv, data, vec![self.clone()]))
    }

    /// Determinant of a matrix or a batch of matrices (0 for a singular one).
    pub fn det(&self) -> Result<Tensor> {
        square("det", self)?;
        float_input("det", self)?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(decomp::det(a)?),
            Storage::F64(a) => Storage::F64(decomp::det(a)?),
            _ => return Err(Error::dtype("det", "expected a floating point tensor")),
        };
        Ok(linalg_op(LinalgOp::Det, data, vec![self.clone()]))
    }

    /// `(sign, log|det|)`: `sign` is -1, 0 or 1 and carries no gradient; a singular
    /// matrix gives `(0, -inf)`.
    pub fn slogdet(&self) -> Result<(Tensor, Tensor)> {
        square("slogdet", self)?;
        float_input("slogdet", self)?;
        let (sign, logabs) = match self.storage() {
            Storage::F32(a) => {
                let (s, l) = decomp::slogdet(a)?;
                (Storage::F32(s), Storage::F32(l))
            }
            Storage::F64(a) => {
                let (s, l) = decomp::slogdet(a)?;
                (Storage::F64(s), Storage::F64(l))
            }
            _ => return Err(Error::dtype("slogdet", "expected a floating point tensor")),
        };
        let sign = nondiff::slogdet_sign(sign, self);
        Ok((sign, linalg_op(LinalgOp::LogAbsDet, logabs, vec![self.clone()])))
    }

    /// `log det A`: NaN where the determinant is negative, -inf where it is zero (as
    /// PyTorch's `logdet`).
    pub fn logdet(&self) -> Result<Tensor> {
        square("logdet", self)?;
        float_input("logdet", self)?;
        let (sign, logabs) = self.slogdet()?;
        let negative = sign.lt(&sign.scalar_like(0.0))?;
        crate::where_(&negative, &logabs.scalar_like(f64::NAN), &logabs)
    }

    /// `X = A⁻¹ B` for `A` of shape `[..., n, n]` and `B` a batch of vectors
    /// `[..., n]` or of matrices `[..., n, k]`; batch dims broadcast. `B` is a batch of
    /// vectors when it is 1-D or has shape `A.shape[:-1]` (PyTorch's rule).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![2.0, 0.0, 0.0, 4.0], &[2, 2], DType::F64).unwrap();
    /// let b = Tensor::from_vec(vec![2.0, 2.0], &[2], DType::F64).unwrap();
    /// assert_eq!(a.solve(&b).unwrap().to_f64_vec(), vec![1.0, 0.5]);
    /// ```
    pub fn solve(&self, b: &Tensor) -> Result<Tensor> {
        let n = square("solve", self)?;
        let vector = b.ndim() == 1 || (b.ndim() + 1 == self.ndim() && b.shape() == &self.shape()[..self.ndim() - 1]);
        if vector {
            if b.shape()[b.ndim() - 1] != n {
                return Err(Error::shape(
                    "solve",
                    format!(
                        "A of shape {:?} cannot solve for B of shape {:?} (B needs {n} rows)",
                        self.shape(),
                        b.shape()
                    ),
                ));
            }
            return self.solve_matrix("solve", &b.unsqueeze(-1)?)?.squeeze(Some(&[-1]));
        }
        self.solve_matrix("solve", b)
    }

    /// `A⁻¹ B` with `B` always a (batch of) matrices.
    fn solve_matrix(&self, op: &'static str, b: &Tensor) -> Result<Tensor> {
        let n = square(op, self)?;
        if b.ndim() < 2 || b.shape()[b.ndim() - 2] != n {
            return Err(Error::shape(
                op,
                format!("A of shape {:?} cannot solve for B of shape {:?} (B needs {n} rows)", self.shape(), b.shape()),
            ));
        }
        let dt = DType::promote(self.dtype(), b.dtype());
        if !dt.is_float() {
            return Err(Error::dtype(
                op,
                format!("expected floating point tensors, got {} and {}", self.dtype(), b.dtype()),
            ));
        }
        let (a, b) = (self.to_dtype(dt)?, b.to_dtype(dt)?);
        let data = match (a.storage(), b.storage()) {
            (Storage::F32(x), Storage::F32(y)) => Storage::F32(decomp::solve(op, x, y)?),
            (Storage::F64(x), Storage::F64(y)) => Storage::F64(decomp::solve(op, x, y)?),
            _ => return Err(Error::dtype(op, "mixed dtypes")),
        };
        Ok(linalg_op(LinalgOp::Solve, data, vec![a, b]))
    }

    /// Cholesky factor of a symmetric positive definite matrix (or batch): lower `L`
    /// with `A = L Lᵀ`, or upper `U = Lᵀ` with `A = Uᵀ U`. Only the lower triangle of
    /// `A` is read.
    pub fn cholesky(&self, upper: bool) -> Result<Tensor> {
        square("cholesky", self)?;
        float_input("cholesky", self)?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(decomp::cholesky_batched("cholesky", a)?),
            Storage::F64(a) => Storage::F64(decomp::cholesky_batched("cholesky", a)?),
            _ => return Err(Error::dtype("cholesky", "expected a floating point tensor")),
        };
        let l = linalg_op(LinalgOp::Cholesky, data, vec![self.clone()]);
        if upper {
            l.mt()
        } else {
            Ok(l)
        }
    }
}
