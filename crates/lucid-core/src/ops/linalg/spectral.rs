//! Spectral factorizations — symmetric eigendecomposition (`eigh`, `eigvalsh`), SVD
//! (`svd`, `svdvals`), QR — and least squares (`lstsq`) composed from them, over
//! batches of matrices, with VJP and JVP rules written in differentiable ops.
//!
//! NOTE [packed factors]: a graph node has one output, and a factorization has two or
//! three. Each factorization is therefore one node whose output packs its factors
//! along the row dim — `[λ; V]` for eigh (`[n+1, n]`), `[U; s; V]` for SVD
//! (`[m+1+n, c]`), `[Q; R]` for QR — and the factors the user sees are `narrow`s of
//! it. Their cotangents meet in the packed cotangent (a factor the user never read
//! comes back as exact zeros), and one rule sees them all, as PyTorch's
//! `svd_backward` sees `gU`, `gS`, `gVh` together. `eigvalsh` and `svdvals` are the
//! same nodes: a zero eigenvector (singular-vector) cotangent skips the terms that
//! divide by eigenvalue gaps, so their gradients `V diag(ḡ) Vᵀ` and `U diag(ḡ) Vᵀ`
//! are finite at repeated values.
//!
//! NOTE [degenerate spectra]: the eigenvector (singular-vector) terms divide by
//! `λ_j − λ_i` (`s_j² − s_i²`), and by `s_i` where U or V is not square. Where those
//! vanish the vectors are not differentiable functions of A — any rotation inside the
//! eigenspace is as good — and, as in PyTorch and JAX, the rule returns ±inf/NaN
//! there rather than an error: a sweep cannot tell a degenerate spectrum from a
//! near-degenerate one (a gap of 1e-17 gives 1e17), a NaN marks exactly the entries
//! that are undefined, and a Jacobian with some undefined rows keeps its defined
//! ones. An entry of `VᵀV̄` that is exactly zero contributes zero (NOTE [zero in,
//! zero out]), so cotangents that never reach the degenerate pair stay finite.
//! Functions invariant under the gauge (`V diag(f(λ)) Vᵀ`, `|U|` products of
//! matched pairs) have the derivative the formulas give wherever the gaps are nonzero.

mod kernels;

use super::decomp::at_batch;
use super::{float_input, square};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::ops::zero_in_zero_out;
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::no_grad;
use crate::tensor::graph::Rule;
use crate::tensor::recording::note_escape;
use crate::tensor::Tensor;
use kernels::Failure;

/// What `qr` returns (PyTorch's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum QrMode {
    /// `Q: [m, k]`, `R: [k, n]`, `k = min(m, n)`.
    Reduced,
    /// `Q: [m, m]`, `R: [m, n]`.
    Complete,
    /// `R: [k, n]` only (`Q` is empty).
    R,
}

impl QrMode {
    /// The mode named `name` (`"reduced"`, `"complete"` or `"r"`), or an argument error.
    pub fn parse(name: &str) -> Result<QrMode> {
        match name {
            "reduced" => Ok(QrMode::Reduced),
            "complete" => Ok(QrMode::Complete),
            "r" => Ok(QrMode::R),
            other => Err(Error::argument("qr", format!("mode must be 'reduced', 'complete' or 'r', got '{other}'"))),
        }
    }
}

/// The spectral factorizations, as recorded (each a packed node, NOTE [packed factors]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum SpectralOp {
    /// `[λ; V]` of a symmetric matrix read from its lower (or `upper`) triangle.
    Eigh {
        /// Read the upper triangle (`UPLO='U'`).
        upper: bool,
    },
    /// `[U; s; V]`, with U and V square when `full`.
    Svd {
        /// `full_matrices`.
        full: bool,
    },
    /// `[Q; R]` in the given mode.
    Qr {
        /// Which factors, and their sizes.
        mode: QrMode,
    },
}

/// The sizes of one matrix of `a` (`[..., m, n]`), or a shape error naming `op`.
fn matrix(op: &'static str, a: &Tensor) -> Result<(usize, usize)> {
    let s = a.shape();
    if s.len() < 2 {
        return Err(Error::shape(
            op,
            format!("expected a matrix or a batch of matrices (shape [..., m, n]), got shape {s:?}"),
        ));
    }
    float_input(op, a)?;
    Ok((s[s.len() - 2], s[s.len() - 1]))
}

fn failure(op: &'static str, f: Failure, batch: &[usize], i: usize) -> Error {
    let at = at_batch(batch, i);
    Error::linalg(
        op,
        match f {
            Failure::NotFinite => format!("the matrix{at} holds NaN or infinity, which has no factorization"),
            Failure::NoConvergence => format!("the iteration did not converge for the matrix{at}"),
        },
    )
}

/// Run `kernel` on each `m × n` matrix of `a` (as f64) and write the packed
/// `rows × cols` result of each into one tensor of `a`'s dtype.
fn per_matrix(
    op: &'static str,
    a: &Tensor,
    (rows, cols): (usize, usize),
    kernel: impl Fn(&[f64]) -> std::result::Result<Vec<f64>, Failure>,
) -> Result<Storage> {
    let s = a.shape();
    let (batch, m, n) = (&s[..s.len() - 2], s[s.len() - 2], s[s.len() - 1]);
    let count: usize = batch.iter().product();
    let values = a.to_f64_vec();
    let mut out = Vec::with_capacity(count * rows * cols);
    for i in 0..count {
        let packed = kernel(&values[i * m * n..(i + 1) * m * n]).map_err(|f| failure(op, f, batch, i))?;
        out.extend(packed);
    }
    let mut shape = batch.to_vec();
    shape.extend([rows, cols]);
    Ok(Tensor::from_vec(out, &shape, a.dtype())?.storage().clone())
}

/// `x` with zero columns appended up to `cols` (a packed block narrower than the pack).
fn pad_cols(x: &Tensor, cols: usize) -> Result<Tensor> {
    let have = x.shape()[x.ndim() - 1];
    if have == cols {
        return Ok(x.clone());
    }
    let mut shape = x.shape().to_vec();
    *shape.last_mut().expect("a matrix") = cols - have;
    Tensor::cat(&[x.clone(), Tensor::zeros(&shape, x.dtype())], -1)
}

/// Rows `start..start+len` and the first `cols` columns of a packed tensor.
fn block(p: &Tensor, start: usize, len: usize, cols: usize) -> Result<Tensor> {
    p.narrow(-2, start, len)?.narrow(-1, 0, cols)
}

/// Whether every element is exactly zero (a factor the user did not read).
fn all_zero(t: &Tensor) -> bool {
    t.to_f64_vec().iter().all(|v| *v == 0.0)
}

/// `½ (x + xᵀ)` over the last two dims.
fn sym(x: &Tensor) -> Result<Tensor> {
    x.add(&x.mt()?)?.mul_scalar(0.5)
}

/// `x − xᵀ` over the last two dims.
fn skew(x: &Tensor) -> Result<Tensor> {
    x.sub(&x.mt()?)
}

/// `F_ij = 1 / (e_j − e_i)` off the diagonal, 0 on it, from the last dim of `e`
/// (NOTE [degenerate spectra]: ±inf at equal values).
fn gaps_inverse(e: &Tensor) -> Result<Tensor> {
    let n = e.shape()[e.ndim() - 1];
    let eye = Tensor::eye(n, None, e.dtype());
    let gaps = e.unsqueeze(-2)?.sub(&e.unsqueeze(-1)?)?;
    gaps.add(&eye)?.reciprocal()?.mul(&eye.neg()?.add_scalar(1.0)?)
}

/// `F ∘ x`, where an exactly zero entry of `x` contributes zero even where `F` is
/// infinite (NOTE [zero in, zero out]).
fn gap_product(f: &Tensor, x: &Tensor) -> Result<Tensor> {
    zero_in_zero_out(x, f.mul(x)?)
}

/// `x R⁻¹` for upper triangular `R`, as `(R⁻ᵀ xᵀ)ᵀ` (a solve broadcasting over `x`'s batch).
fn right_solve(op: &'static str, x: &Tensor, r: &Tensor) -> Result<Tensor> {
    r.mt()?.solve_matrix(op, &x.mt()?)?.mt()
}

impl Rule for SpectralOp {
    fn name(&self) -> &'static str {
        match self {
            SpectralOp::Eigh { .. } => "eigh",
            SpectralOp::Svd { .. } => "svd",
            SpectralOp::Qr { .. } => "qr",
        }
    }

    // A factorization mixes every element of a matrix (and no more: batches stay apart).
    fn structure(&self) -> Structure<'_> {
        Structure::Unstructured(Dependence::Matrices { out_dims: 2 })
    }

    // A factorization runs over leading batch dims of its one input, and its packed
    // output keeps them in front: a vmap batch is one more of them.
    fn batch(&self, inputs: &[Tensor], _batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        self.replay(inputs, shape, dtype).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        let a = &inputs[0];
        match *self {
            SpectralOp::Eigh { upper } => a.eigh_packed("eigh", upper),
            SpectralOp::Svd { full } => a.svd_packed("svd", full),
            SpectralOp::Qr { mode } => a.qr_packed(mode),
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        _batch: usize,
        _needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let a = &inputs[0];
        let (m, n) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
        let k = m.min(n);
        Ok(vec![Some(match *self {
            // A = V Λ Vᵀ: Ā = V (diag(λ̄) + F ∘ (Vᵀ V̄)) Vᵀ, symmetrised (PyTorch's
            // convention: the gradient with respect to a symmetric A)
            SpectralOp::Eigh { .. } => {
                let (lam, v) = (block(out, 0, 1, n)?.squeeze(Some(&[-2]))?, block(out, 1, n, n)?);
                let (glam, gv) = (block(g, 0, 1, n)?.squeeze(Some(&[-2]))?, block(g, 1, n, n)?);
                let mut inner = glam.diag_embed(0, -2, -1)?;
                if !all_zero(&gv) {
                    inner = inner.add(&gap_product(&gaps_inverse(&lam)?, &v.mt()?.matmul(&gv)?)?)?;
                }
                sym(&v.matmul(&inner)?.matmul(&v.mt()?)?)?
            }
            // A = U S Vᵀ (PyTorch's svd_backward; Townsend 2016): with E_ij = s_j² − s_i²,
            // Ā = U [(skew(UᵀŪ) S + S skew(VᵀV̄)) / E + diag(s̄)] Vᵀ
            //     + (I − UUᵀ) Ū S⁻¹ Vᵀ (m > k)  or  U S⁻¹ V̄ᵀ (I − VVᵀ) (n > k).
            // The columns of a full U, V past k are ignored (any completion is as good).
            SpectralOp::Svd { .. } => {
                let (u, s, v) =
                    (block(out, 0, m, k)?, block(out, m, 1, k)?.squeeze(Some(&[-2]))?, block(out, m + 1, n, k)?);
                let (gu, gs, gv) =
                    (block(g, 0, m, k)?, block(g, m, 1, k)?.squeeze(Some(&[-2]))?, block(g, m + 1, n, k)?);
                let mut inner = gs.diag_embed(0, -2, -1)?;
                let (zu, zv) = (all_zero(&gu), all_zero(&gv));
                if zu && zv {
                    u.matmul(&inner)?.matmul(&v.mt()?)?
                } else {
                    let (s_row, s_col) = (s.unsqueeze(-2)?, s.unsqueeze(-1)?);
                    let numer =
                        skew(&u.mt()?.matmul(&gu)?)?.mul(&s_row)?.add(&s_col.mul(&skew(&v.mt()?.matmul(&gv)?)?)?)?;
                    inner = inner.add(&gap_product(&gaps_inverse(&s.square()?)?, &numer)?)?;
                    if m > k && !zu {
                        let gu_sinv = gu.div(&s_row)?;
                        let proj = gu_sinv.sub(&u.matmul(&u.mt()?.matmul(&gu_sinv)?)?)?;
                        u.matmul(&inner)?.add(&proj)?.matmul(&v.mt()?)?
                    } else if n > k && !zv {
                        let sinv_gvt = gv.mt()?.div(&s_col)?;
                        let proj = sinv_gvt.sub(&sinv_gvt.matmul(&v)?.matmul(&v.mt()?)?)?;
                        u.matmul(&inner.matmul(&v.mt()?)?.add(&proj)?)?
                    } else {
                        u.matmul(&inner)?.matmul(&v.mt()?)?
                    }
                }
            }
            SpectralOp::Qr { mode } => {
                qr_differentiable("qr backward", mode, m, n)?;
                let (q, r) = (block(out, 0, m, k)?, block(out, m, k, n)?);
                let (gq, gr) = (block(g, 0, m, k)?, block(g, m, k, n)?);
                qr_vjp(&q, &r, &gq, &gr, a)?
            }
        })])
    }

    fn jvp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        tangents: &[Option<Tensor>],
        _batch: usize,
    ) -> Result<Option<Tensor>> {
        let Some(t) = &tangents[0] else { return Ok(None) };
        let a = &inputs[0];
        let (m, n) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
        let k = m.min(n);
        let cols = out.shape()[out.ndim() - 1];
        Ok(Some(match *self {
            // dP = Vᵀ sym(dA) V: dλ = diag(dP), dV = V (F ∘ dP)
            SpectralOp::Eigh { .. } => {
                let (lam, v) = (block(out, 0, 1, n)?.squeeze(Some(&[-2]))?, block(out, 1, n, n)?);
                let dp = v.mt()?.matmul(&sym(t)?)?.matmul(&v)?;
                let dlam = dp.diagonal(0, -2, -1)?.unsqueeze(-2)?;
                let dv = v.matmul(&gap_product(&gaps_inverse(&lam)?, &dp)?)?;
                Tensor::cat(&[dlam, dv], -2)?
            }
            // dP = Uᵀ dA V, ds = diag(dP); off the diagonal (E_ij = s_j² − s_i²)
            // UᵀdU = (dP S + S dPᵀ) / E, VᵀdV = (S dP + dPᵀ S) / E; plus
            // (I − UUᵀ) dA V S⁻¹ in dU (m > k) or (I − VVᵀ) dAᵀ U S⁻¹ in dV (n > k).
            SpectralOp::Svd { .. } => {
                let (u, s, v) =
                    (block(out, 0, m, k)?, block(out, m, 1, k)?.squeeze(Some(&[-2]))?, block(out, m + 1, n, k)?);
                let (s_row, s_col) = (s.unsqueeze(-2)?, s.unsqueeze(-1)?);
                let dp = u.mt()?.matmul(t)?.matmul(&v)?;
                let dpt = dp.mt()?;
                let f = gaps_inverse(&s.square()?)?;
                let omega_u = gap_product(&f, &dp.mul(&s_row)?.add(&s_col.mul(&dpt)?)?)?;
                let omega_v = gap_product(&f, &s_col.mul(&dp)?.add(&dpt.mul(&s_row)?)?)?;
                let mut du = u.matmul(&omega_u)?;
                let mut dv = v.matmul(&omega_v)?;
                if m > k {
                    du = du.add(&t.matmul(&v)?.sub(&u.matmul(&dp)?)?.div(&s_row)?)?;
                }
                if n > k {
                    dv = dv.add(&t.mt()?.matmul(&u)?.sub(&v.matmul(&dpt)?)?.div(&s_row)?)?;
                }
                let ds = dp.diagonal(0, -2, -1)?.unsqueeze(-2)?;
                Tensor::cat(&[pad_cols(&du, cols)?, pad_cols(&ds, cols)?, pad_cols(&dv, cols)?], -2)?
            }
            SpectralOp::Qr { mode } => {
                qr_differentiable("qr jvp", mode, m, n)?;
                let (q, r) = (block(out, 0, m, k)?, block(out, m, k, n)?);
                let (dq, dr) = qr_jvp(&q, &r, t)?;
                Tensor::cat(&[pad_cols(&dq, cols)?, pad_cols(&dr, cols)?], -2)?
            }
        }))
    }
}

/// QR is differentiable where Q is computed and determined by A: not for `mode='r'`,
/// nor for a complete Q of a tall matrix (its last m − n columns are any completion).
fn qr_differentiable(op: &'static str, mode: QrMode, m: usize, n: usize) -> Result<()> {
    match mode {
        QrMode::R => Err(Error::graph(
            op,
            "the derivative of qr depends on Q, which mode='r' does not compute; use mode='reduced'",
        )),
        QrMode::Complete if m > n => Err(Error::graph(
            op,
            format!("qr with mode='complete' is not differentiable for a tall matrix ({m} × {n}, m > n): its extra columns of Q are arbitrary"),
        )),
        _ => Ok(()),
    }
}

/// The cotangent of A for `A = Q R` (Q: [m, k], R: [k, n]).
///
/// m ≥ n: from dQ = (I − QQᵀ) dA R⁻¹ + QΩ, dR = (C − Ω) R with C = QᵀdA R⁻¹ and
/// Ω = tril(C, −1) − tril(C, −1)ᵀ, the adjoint is Ā = (Q̄ + Q copyu(M)) R⁻ᵀ with
/// M = R̄ Rᵀ − QᵀQ̄ and copyu(M) its upper triangle mirrored below.
/// m < n: A = [X | Y] with X = Q U square and Y = Q V, so V = QᵀY: Ȳ = Q V̄ and X
/// takes the square rule with Q̄ + Y V̄ᵀ (PyTorch's linalg_qr_backward does the same).
fn qr_vjp(q: &Tensor, r: &Tensor, gq: &Tensor, gr: &Tensor, a: &Tensor) -> Result<Tensor> {
    let (m, n) = (q.shape()[q.ndim() - 2], r.shape()[r.ndim() - 1]);
    if m < n {
        let (u, y) = (r.narrow(-1, 0, m)?, a.narrow(-1, m, n - m)?);
        let (gu, gv) = (gr.narrow(-1, 0, m)?, gr.narrow(-1, m, n - m)?);
        let gx = qr_vjp(q, &u, &gq.add(&y.matmul(&gv.mt()?)?)?, &gu, a)?;
        return Tensor::cat(&[gx, q.matmul(&gv)?], -1);
    }
    let mm = gr.matmul(&r.mt()?)?.sub(&q.mt()?.matmul(gq)?)?;
    let copyu = mm.triu(0)?.add(&mm.triu(1)?.mt()?)?;
    // Y R⁻ᵀ = Y (Rᵀ)⁻¹
    right_solve("qr backward", &gq.add(&q.matmul(&copyu)?)?, &r.mt()?)
}

/// `(dQ, dR)` for `A = Q R` and a tangent `dA` (the rules of `qr_vjp`, forward).
fn qr_jvp(q: &Tensor, r: &Tensor, t: &Tensor) -> Result<(Tensor, Tensor)> {
    let (m, n) = (q.shape()[q.ndim() - 2], r.shape()[r.ndim() - 1]);
    if m < n {
        let u = r.narrow(-1, 0, m)?;
        let (dx, dy) = (t.narrow(-1, 0, m)?, t.narrow(-1, m, n - m)?);
        let (dq, du) = qr_jvp(q, &u, &dx)?;
        // V = Qᵀ Y: dV = dQᵀ Y + Qᵀ dY, with Y = Q V
        let y = q.matmul(&r.narrow(-1, m, n - m)?)?;
        let dv = dq.mt()?.matmul(&y)?.add(&q.mt()?.matmul(&dy)?)?;
        return Ok((dq, Tensor::cat(&[du, dv], -1)?));
    }
    let da_rinv = right_solve("qr jvp", t, r)?;
    let c = q.mt()?.matmul(&da_rinv)?;
    let low = c.tril(-1)?;
    let omega = low.sub(&low.mt()?)?;
    let c_omega = c.sub(&omega)?;
    Ok((da_rinv.sub(&q.matmul(&c_omega)?)?, c_omega.matmul(r)?))
}

/// The solution, residuals, rank and singular values of [`Tensor::lstsq`].
#[derive(Debug, Clone)]
pub struct Lstsq {
    /// The minimum-norm least-squares solution X of `A X ≈ B`.
    pub solution: Tensor,
    /// `‖A X − B‖²` per column, when every matrix is tall (m > n) and of full rank;
    /// otherwise an empty tensor.
    pub residuals: Tensor,
    /// The numerical rank of each matrix (int64, shape `batch`).
    pub rank: Tensor,
    /// The singular values of each matrix, descending (no gradient).
    pub singular_values: Tensor,
}

impl Tensor {
    /// The symmetric eigendecomposition `A = V diag(λ) Vᵀ` of a (batch of) symmetric
    /// matrices, reading only the lower triangle (or the `upper` one): eigenvalues
    /// ascending, each eigenvector with its largest-magnitude component positive.
    /// Derivatives: NOTE [degenerate spectra].
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![2.0, 1.0, 1.0, 2.0], &[2, 2], DType::F64).unwrap();
    /// let (w, _v) = a.eigh(false).unwrap();
    /// let w = w.to_f64_vec();
    /// assert!((w[0] - 1.0).abs() < 1e-12 && (w[1] - 3.0).abs() < 1e-12);
    /// ```
    pub fn eigh(&self, upper: bool) -> Result<(Tensor, Tensor)> {
        let p = self.eigh_packed("eigh", upper)?;
        let n = self.shape()[self.ndim() - 1];
        Ok((block(&p, 0, 1, n)?.squeeze(Some(&[-2]))?, block(&p, 1, n, n)?))
    }

    /// The eigenvalues of a (batch of) symmetric matrices, ascending; their gradient
    /// `V diag(ḡ) Vᵀ` is finite at repeated eigenvalues.
    pub fn eigvalsh(&self, upper: bool) -> Result<Tensor> {
        let p = self.eigh_packed("eigvalsh", upper)?;
        let n = self.shape()[self.ndim() - 1];
        block(&p, 0, 1, n)?.squeeze(Some(&[-2]))
    }

    fn eigh_packed(&self, op: &'static str, upper: bool) -> Result<Tensor> {
        let n = square(op, self)?;
        float_input(op, self)?;
        let data = per_matrix(op, self, (n + 1, n), |a| {
            let (w, mut v) = kernels::eigh(a, n, upper)?;
            let mut packed = w;
            packed.append(&mut v);
            Ok(packed)
        })?;
        Ok(Tensor::from_op(data, SpectralOp::Eigh { upper }, vec![self.clone()]))
    }

    /// The SVD `A = U diag(S) Vh` of a (batch of) `m × n` matrices, `k = min(m, n)`:
    /// `U: [m, k]` (`[m, m]` when `full_matrices`), `S: [k]` descending,
    /// `Vh: [k, n]` (`[n, n]`); each left singular vector has its largest-magnitude
    /// component positive. Derivatives: NOTE [degenerate spectra].
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![3.0, 0.0, 0.0, -4.0], &[2, 2], DType::F64).unwrap();
    /// let (_u, s, _vh) = a.svd(false).unwrap();
    /// assert_eq!(s.to_f64_vec(), vec![4.0, 3.0]);
    /// ```
    pub fn svd(&self, full_matrices: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let (m, n) = matrix("svd", self)?;
        let k = m.min(n);
        let (uc, vc) = if full_matrices { (m, n) } else { (k, k) };
        let p = self.svd_packed("svd", full_matrices)?;
        Ok((block(&p, 0, m, uc)?, block(&p, m, 1, k)?.squeeze(Some(&[-2]))?, block(&p, m + 1, n, vc)?.mt()?))
    }

    /// The singular values of a (batch of) matrices, descending; their gradient
    /// `U diag(ḡ) Vᵀ` is finite at repeated singular values.
    pub fn svdvals(&self) -> Result<Tensor> {
        let (m, n) = matrix("svdvals", self)?;
        let p = self.svd_packed("svdvals", false)?;
        block(&p, m, 1, m.min(n))?.squeeze(Some(&[-2]))
    }

    fn svd_packed(&self, op: &'static str, full: bool) -> Result<Tensor> {
        let (m, n) = matrix(op, self)?;
        let k = m.min(n);
        let cols = if full { m.max(n) } else { k };
        let (uc, vc) = if full { (m, n) } else { (k, k) };
        let data = per_matrix(op, self, (m + 1 + n, cols), |a| {
            let (s, u, v) = kernels::svd(a, m, n, full)?;
            let mut packed = vec![0.0; (m + 1 + n) * cols];
            for i in 0..m {
                packed[i * cols..i * cols + uc].copy_from_slice(&u[i * uc..(i + 1) * uc]);
            }
            packed[m * cols..m * cols + k].copy_from_slice(&s);
            for i in 0..n {
                let row = (m + 1 + i) * cols;
                packed[row..row + vc].copy_from_slice(&v[i * vc..(i + 1) * vc]);
            }
            Ok(packed)
        })?;
        Ok(Tensor::from_op(data, SpectralOp::Svd { full }, vec![self.clone()]))
    }

    /// The QR factorization `A = Q R` of a (batch of) `m × n` matrices by Householder
    /// reflections, `R` with a non-negative diagonal. `mode` as PyTorch: `Reduced`
    /// (`Q: [m, k]`, `R: [k, n]`), `Complete` (`Q: [m, m]`, `R: [m, n]`), `R` (only
    /// `R`; `Q` is an empty tensor of shape `[0]`).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// use lucid_core::ops::linalg::spectral::QrMode;
    /// let a = Tensor::from_vec(vec![3.0, 1.0, 4.0, 2.0], &[2, 2], DType::F64).unwrap();
    /// let (_q, r) = a.qr(QrMode::Reduced).unwrap();
    /// assert!((r.to_f64_vec()[0] - 5.0).abs() < 1e-12);
    /// ```
    pub fn qr(&self, mode: QrMode) -> Result<(Tensor, Tensor)> {
        let (m, n) = matrix("qr", self)?;
        let p = self.qr_packed(mode)?;
        let k = m.min(n);
        let (qc, rr) = match mode {
            QrMode::Reduced => (k, k),
            QrMode::Complete => (m, m),
            QrMode::R => (0, k),
        };
        let q = if mode == QrMode::R { Tensor::zeros(&[0], self.dtype()) } else { block(&p, 0, m, qc)? };
        Ok((q, block(&p, m, rr, n)?))
    }

    fn qr_packed(&self, mode: QrMode) -> Result<Tensor> {
        let (m, n) = matrix("qr", self)?;
        let k = m.min(n);
        let complete = mode == QrMode::Complete;
        let (qc, rr) = if complete { (m, m) } else { (k, k) };
        let cols = qc.max(n);
        let data = per_matrix("qr", self, (m + rr, cols), |a| {
            let (q, r) = kernels::qr(a, m, n, complete)?;
            let mut packed = vec![0.0; (m + rr) * cols];
            for i in 0..m {
                packed[i * cols..i * cols + qc].copy_from_slice(&q[i * qc..(i + 1) * qc]);
            }
            for i in 0..rr {
                let row = (m + i) * cols;
                packed[row..row + n].copy_from_slice(&r[i * n..(i + 1) * n]);
            }
            Ok(packed)
        })?;
        Ok(Tensor::from_op(data, SpectralOp::Qr { mode }, vec![self.clone()]))
    }

    /// The minimum-norm least-squares solution of `A X ≈ B` for `A: [..., m, n]` and
    /// `B: [..., m, k]` (or a vector `[..., m]`), batch dims broadcast.
    ///
    /// The rank is the number of singular values above `rcond · s_max` (`rcond`
    /// defaults to the dtype's machine epsilon times `max(m, n)`, as PyTorch). Where
    /// every matrix has full rank, X is composed from `qr` and a triangular solve
    /// (`R⁻¹ QᵀB` for m ≥ n, `Q R⁻ᵀ B` from the QR of Aᵀ for m < n), so its
    /// derivatives are those of a smooth function. Otherwise X = V S⁺ UᵀB from `svd`
    /// truncated at the rank: the value is exact, the derivative holds while the rank
    /// stays fixed and is ±inf/NaN where nonzero singular values repeat (NOTE
    /// [degenerate spectra]). The path depends on the rank, so a tape guards it (and
    /// records again when it changes).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0], &[3, 2], DType::F64).unwrap();
    /// let b = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::F64).unwrap();
    /// let fit = a.lstsq(&b, None).unwrap();
    /// assert_eq!(fit.solution.to_f64_vec(), vec![1.0, 2.0]);
    /// assert_eq!(fit.residuals.to_f64_vec(), vec![9.0]);
    /// ```
    pub fn lstsq(&self, b: &Tensor, rcond: Option<f64>) -> Result<Lstsq> {
        let (m, n) = matrix("lstsq", self)?;
        let vector = b.ndim() == 1 || (b.ndim() + 1 == self.ndim() && b.shape() == &self.shape()[..self.ndim() - 1]);
        let bm = if vector { b.unsqueeze(-1)? } else { b.clone() };
        if bm.ndim() < 2 || bm.shape()[bm.ndim() - 2] != m {
            return Err(Error::shape(
                "lstsq",
                format!(
                    "A of shape {:?} and B of shape {:?} need the same number of rows ({m})",
                    self.shape(),
                    b.shape()
                ),
            ));
        }
        float_input("lstsq", &bm)?;
        if self.dtype() != bm.dtype() {
            return Err(Error::dtype(
                "lstsq",
                format!("A and B must have the same dtype, got {} and {}", self.dtype(), b.dtype()),
            ));
        }
        let k = m.min(n);
        let s = {
            let _off = no_grad();
            self.svdvals()?
        };
        let eps = if self.dtype() == DType::F32 { f32::EPSILON as f64 } else { f64::EPSILON };
        let rcond = rcond.unwrap_or(eps * m.max(n) as f64);
        let batch = &self.shape()[..self.ndim() - 2];
        // the rank as tensor ops (a tape recomputes it) and the one value that decides
        // the path below, so a tape guards the rank rather than every singular value
        let rank = if k == 0 {
            Tensor::zeros(batch, DType::I64)
        } else {
            let cutoff = s.narrow(-1, 0, 1)?.mul_scalar(rcond)?;
            s.gt(&cutoff)?.to_dtype(DType::I64)?.sum(Some(&[-1]), false)?
        };
        note_escape(&rank);
        let ranks = rank.to_f64_vec();
        let full_rank = ranks.iter().all(|&r| r as usize == k);
        let x = if k == 0 {
            let mut shape = crate::shape::broadcast_shapes(
                "lstsq",
                &self.shape()[..self.ndim() - 2],
                &bm.shape()[..bm.ndim() - 2],
            )?;
            shape.extend([n, bm.shape()[bm.ndim() - 1]]);
            Tensor::zeros(&shape, self.dtype())
        } else if full_rank && m >= n {
            let (q, r) = self.qr(QrMode::Reduced)?;
            r.solve_matrix("lstsq", &q.mt()?.matmul(&bm)?)?
        } else if full_rank {
            let (q, r) = self.mt()?.qr(QrMode::Reduced)?;
            q.matmul(&r.mt()?.solve_matrix("lstsq", &bm)?)?
        } else {
            let (u, sv, vh) = self.svd(false)?;
            let cutoff = sv.narrow(-1, 0, 1)?.mul_scalar(rcond)?;
            let keep = sv.gt(&cutoff)?;
            let safe = crate::where_(&keep, &sv, &sv.ones_like())?;
            let sinv = crate::where_(&keep, &safe.reciprocal()?, &sv.zeros_like())?;
            vh.mt()?.matmul(&sinv.unsqueeze(-1)?.mul(&u.mt()?.matmul(&bm)?)?)?
        };
        let residuals = if full_rank && m > n && k > 0 {
            let r = self.matmul(&x)?.sub(&bm)?.square()?.sum(Some(&[-2]), false)?;
            if vector {
                r.squeeze(Some(&[-1]))?
            } else {
                r
            }
        } else {
            Tensor::zeros(&[0], self.dtype())
        };
        let solution = if vector { x.squeeze(Some(&[-1]))? } else { x };
        Ok(Lstsq { solution, residuals, rank, singular_values: s.detach() })
    }
}
