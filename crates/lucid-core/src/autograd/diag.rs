//! Diagonal rows: the identity seed of a Jacobian, kept diagonal.
//!
//! NOTE [diagonal rows]: a vectorized Jacobian seeds the identity, reshaped to
//! `[rows, *out.shape]`. Through an elementwise op the identity stays diagonal (row r is
//! `d[r] e_r`), so the sweep carries just the diagonal `d` (shape `out.shape`) instead of
//! `rows × numel` numbers: an elementwise rule applied to `d` with batch rank 0 yields
//! the next diagonal, and `diag(d) @ A` is a row scaling, not a product. A diagonal
//! that an op cannot keep continues as sparse rows (`sparse.rs`) or, while the sweep
//! records, dense.

use super::product;
use super::rows::{float_of, seed_zeros, Rows};
use super::sparse::SparseRows;
use crate::error::Result;
use crate::ops::zero_in_zero_out;
use crate::structure::{Move, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

/// Rows with one leading batch dim of `rows` whose row `r` is `d[e] e_e` for the
/// element `e = r - offset` of the tensor it belongs to (zero when `e` is out of range).
#[derive(Clone, Debug)]
pub struct DiagRows {
    /// The diagonal: one value per element of the tensor the rows belong to (its shape).
    pub d: Tensor,
    /// The number of rows in the batch (the Jacobian rows or columns this sweep carries).
    pub rows: usize,
    /// Row `r` holds element `r - offset`: the shift of this tensor's elements within the
    /// seeded identity (nonzero when several outputs or inputs are stacked).
    pub offset: isize,
}

impl DiagRows {
    pub(super) fn with(&self, d: Tensor) -> Rows {
        Rows::Diag(DiagRows { d, rows: self.rows, offset: self.offset })
    }

    /// The dense rows as a recorded op, `where(E, d, 0)` with `E[r, e]` true where
    /// `r = e + offset`, so the graph to `d` is kept (the sweep records). Not `E * d`:
    /// an infinite `d[e]` would put `0 · ∞ = NaN` in every row (NOTE [zero in, zero
    /// out] in ops/mod.rs).
    pub(super) fn recorded_dense(&self) -> Result<Tensor> {
        let n = self.d.numel();
        let mut e_mat = seed_zeros(float_of(&self.d), self.rows, n)?;
        let ones = (0..n).filter_map(|e| {
            let r = e as isize + self.offset;
            (r >= 0 && (r as usize) < self.rows).then_some((r as usize, e))
        });
        match &mut e_mat {
            crate::dtype::Storage::F32(z) => ones.for_each(|(r, e)| z[[r, e]] = 1.0),
            crate::dtype::Storage::F64(z) => ones.for_each(|(r, e)| z[[r, e]] = 1.0),
            _ => {}
        }
        let e_mat = Tensor::from_storage(e_mat).to_dtype(self.d.dtype())?;
        let mut shape = vec![self.rows];
        shape.extend_from_slice(self.d.shape());
        let zero = self.d.scalar_like(0.0);
        let off = e_mat.eq(&e_mat.scalar_like(0.0))?;
        crate::ops::where_(&off, &zero, &self.d.reshape_exact(&[1, n])?)?.reshape_exact(&shape)
    }
}

/// The VJP of `rule` for a diagonal cotangent, or `None` when its structure keeps no
/// diagonal (the sweep then tries sparse rows, then densifies).
pub(super) fn vjp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    dr: &DiagRows,
    needs: &[bool],
) -> Option<Result<Vec<Option<Rows>>>> {
    match rule.structure() {
        Structure::Elementwise(_) => Some(elementwise_vjp(rule, inputs, out, dr, needs)),
        // A reshape keeps the row-major element order, so the diagonal just reshapes.
        Structure::Moves(Move::Reshape) => Some(dr.d.reshape_exact(inputs[0].shape()).map(|d| vec![Some(dr.with(d))])),
        Structure::Product => product::diag_vjp(inputs, dr, needs),
        // other moves, sums and joins end a diagonal: sparse rows carry it on
        Structure::Moves(_) | Structure::Sum { .. } | Structure::Concat { .. } | Structure::Unstructured(_) => None,
    }
}

/// The output tangent of `rule` for diagonal input tangents (all alike), or `None`
/// when its structure keeps no diagonal.
pub(super) fn jvp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<Rows>],
) -> Option<Result<Option<Rows>>> {
    let mut diag: Option<&DiagRows> = None;
    for t in tangents.iter().flatten() {
        match (t, diag) {
            (Rows::Dense(_) | Rows::Sparse(_) | Rows::Sum(_) | Rows::Embedded(_), _) => return None,
            (Rows::Diag(a), Some(b)) if a.rows != b.rows || a.offset != b.offset => return None,
            (Rows::Diag(a), _) => diag = Some(a),
        }
    }
    let dr = diag?;
    match rule.structure() {
        Structure::Elementwise(_) => {
            let aligned = tangents.iter().zip(inputs).all(|(t, x)| t.is_none() || x.shape() == out.shape());
            if !aligned {
                return None;
            }
            let ds: Vec<Option<Tensor>> = tangents
                .iter()
                .map(|t| match t {
                    Some(Rows::Diag(a)) => Some(a.d.clone()),
                    _ => None,
                })
                .collect();
            Some(rule.jvp(inputs, out, &ds, 0).map(|d| d.map(|d| dr.with(d))))
        }
        Structure::Moves(Move::Reshape) => Some(dr.d.reshape_exact(out.shape()).map(|d| Some(dr.with(d)))),
        Structure::Product => product::diag_jvp(inputs, dr, tangents),
        Structure::Moves(_) | Structure::Sum { .. } | Structure::Concat { .. } | Structure::Unstructured(_) => None,
    }
}

/// An elementwise rule applied to the diagonal with batch rank 0. A broadcast input's
/// cotangent sums the diagonal's rows over the broadcast dims: sparse rows, or dense
/// when those are not in use.
fn elementwise_vjp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    dr: &DiagRows,
    needs: &[bool],
) -> Result<Vec<Option<Rows>>> {
    let grads = rule.vjp(inputs, out, &dr.d, 0, needs)?;
    grads
        .into_iter()
        .zip(inputs)
        .map(|(g, x)| {
            let Some(g) = g else { return Ok(None) };
            let g = zero_in_zero_out(&dr.d, g)?; // NOTE [zero in, zero out] (ops/mod.rs)
            if g.shape() == x.shape() {
                return Ok(Some(dr.with(g)));
            }
            let full = DiagRows { d: g.expand(out.shape())?, rows: dr.rows, offset: dr.offset };
            if let Some(sr) = SparseRows::enabled().then(|| SparseRows::from_diag(&full)).flatten() {
                if x.numel() > 0 {
                    return Ok(Some(Rows::Sparse(sr.unbroadcast(x.shape()))));
                }
            }
            let full = Rows::Diag(full).dense()?;
            Ok(Some(Rows::Dense(full.sum_to(1, x.shape())?)))
        })
        .collect()
}
