//! Diagonal and sparse rows through `C = A @ B` (the ops that declare
//! `Structure::Product`): each row of a structured cotangent or tangent combines rows
//! or columns of the other, dense operand.
//!
//! - `y = A x` with the identity over y (a diagonal): row r of the x-cotangent is
//!   `d[e] A[e, :]`, a scaled row of A, no product (and `x`'s tangent likewise).
//! - Sparse rows of a vector output (`A x`, `x W`): row r is `Σ_j val[r, j] A[idx[r, j], :]`.
//! - Sparse rows through 2-d operands (the Jacobian of a function applied to a batch,
//!   `X @ W`, where row b of the output depends only on row b of X, or with respect to
//!   weights, `W @ x`), below.
//!
//! Operands are seen as matrices `A: p × q`, `B: q × s` (a 1-d A is a row, a 1-d B a
//! column), so an entry of C's flat index `e` sits at `(i, j) = (e / s, e % s)`.
//!
//! - VJP for A: the entries of one cotangent row that share `i` make the dense row
//!   `u = Σ_j v_j B[:, j]`, written as q entries of A's row i.
//! - VJP for B: entries sharing `j` make `u = Σ_i v_i A[i, :]`, q entries of B's column j.
//! - JVP through A (tangent entries `(i, t)` of A): C's row i gets `Σ_t v_t B[t, :]`.
//! - JVP through B (tangent entries `(t, j)` of B): C's column j gets `Σ_t v_t A[:, t]`.
//!
//! Grouping keeps one entry per element written, so the result stays as sparse as the
//! rows of A (or columns of B) touched. Past a quarter of the dense size the caller
//! densifies instead.

use std::sync::Arc;

use ndarray::{ArrayView2, ArrayViewMut1, Axis, Ix2};

use super::diag::DiagRows;
use super::rows::Rows;
use super::sparse::SparseRows;
use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::structure::numel;
use crate::tensor::graph::is_grad_enabled;
use crate::tensor::Tensor;

/// The x-cotangent of `y = A x` (A 2-d, x 1-d) for a diagonal cotangent of y: the rows
/// of A scaled; `None` for other operands, or when A's cotangent is needed too.
pub(super) fn diag_vjp(inputs: &[Tensor], dr: &DiagRows, needs: &[bool]) -> Option<Result<Vec<Option<Rows>>>> {
    let (a, x) = (&inputs[0], &inputs[1]);
    if a.ndim() != 2 || x.ndim() != 1 || needs[0] {
        return None;
    }
    Some(scaled_rows(dr, a).map(|g| vec![None, Some(Rows::Dense(g))]))
}

/// The tangent of `y = A x` for the identity (a diagonal) over x: column r is
/// `d[e] A[:, e]`; `None` for other operands, or when A has a tangent too.
pub(super) fn diag_jvp(inputs: &[Tensor], dr: &DiagRows, tangents: &[Option<Rows>]) -> Option<Result<Option<Rows>>> {
    let (a, x) = (&inputs[0], &inputs[1]);
    if a.ndim() != 2 || x.ndim() != 1 || tangents[0].is_some() {
        return None;
    }
    Some(a.t().and_then(|at| scaled_rows(dr, &at)).map(|t| Some(Rows::Dense(t))))
}

/// The VJP for sparse rows of the product's output; `None` when they would densify.
pub(super) fn sparse_vjp(inputs: &[Tensor], sr: &SparseRows, needs: &[bool]) -> Option<Result<Vec<Option<Rows>>>> {
    let (a, b) = (&inputs[0], &inputs[1]);
    match (a.ndim(), b.ndim()) {
        (2, 1) if !needs[0] => return Some(gathered_rows(sr, a).map(|g| vec![None, Some(Rows::Dense(g))])),
        (1, 2) if !needs[1] => {
            return Some(b.t().and_then(|wt| gathered_rows(sr, &wt)).map(|g| vec![Some(Rows::Dense(g)), None]))
        }
        _ => {}
    }
    // 2-d operands (a batch `X @ W`, weights `W @ x`): grouped products
    let mut grads = vec![None, None];
    for (k, side) in [(0, Side::RowsOfC), (1, Side::ColumnsOfC)] {
        if needs[k] {
            match product_rows(sr, a, b, side, inputs[k].shape())? {
                Ok(g) => grads[k] = Some(Rows::Sparse(g)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
    Some(Ok(grads))
}

/// The output tangent for sparse tangents of the operands; `None` when it would
/// densify.
pub(super) fn sparse_jvp(
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<SparseRows>],
) -> Option<Result<Option<Rows>>> {
    let (a, b) = (&inputs[0], &inputs[1]);
    match (a.ndim(), b.ndim(), &tangents[0], &tangents[1]) {
        // y = A x with a sparse tangent of x: row r is Σ val A[:, idx]
        (2, 1, None, Some(t)) => return Some(a.t().and_then(|at| gathered_rows(t, &at)).map(|t| Some(Rows::Dense(t)))),
        // y = x W with a sparse tangent of x: row r is Σ val W[idx, :]
        (1, 2, Some(t), None) => return Some(gathered_rows(t, b).map(|t| Some(Rows::Dense(t)))),
        _ => {}
    }
    // 2-d operands: grouped products
    let mut total: Option<SparseRows> = None;
    for (k, side) in [(0, Side::RowsOfA), (1, Side::ColumnsOfB)] {
        let Some(t) = &tangents[k] else { continue };
        let part = match product_rows(t, a, b, side, out.shape())? {
            Ok(part) => part,
            Err(e) => return Some(Err(e)),
        };
        total = Some(match total {
            Some(acc) => match acc.plus(part) {
                Ok(sum) => sum,
                Err(e) => return Some(Err(e)),
            },
            None => part,
        });
    }
    Some(Ok(total.map(Rows::Sparse)))
}

/// `G @ a` for the diagonal `G` of a vector output: row r is `d[e] a[e, :]` with
/// `e = r - offset`, zero where e is out of range.
fn scaled_rows(dr: &DiagRows, a: &Tensor) -> Result<Tensor> {
    let n = dr.d.numel() as isize;
    let lo = (-dr.offset).max(0);
    let hi = (dr.rows as isize - dr.offset).min(n);
    let len = (hi - lo).max(0) as usize;
    let k = a.shape()[1];
    let mut parts = Vec::with_capacity(3);
    let before = (lo + dr.offset).max(0) as usize; // first row holding element lo
    if before > 0 {
        parts.push(Tensor::zeros(&[before, k], a.dtype()));
    }
    if len > 0 {
        let (lo, rows) = (lo as usize, a.narrow(0, lo as usize, len)?);
        // The identity seed scales by ones: its rows are `a`'s own (a view, no copy).
        let d = dr.d.narrow(0, lo, len)?;
        let ones = !(is_grad_enabled() && d.requires_grad()) && d.f64_values().iter().all(|&v| v == 1.0);
        parts.push(if ones { rows } else { d.unsqueeze(-1)?.mul(&rows)? });
    }
    let after = dr.rows - before - len;
    if after > 0 {
        parts.push(Tensor::zeros(&[after, k], a.dtype()));
    }
    match parts.len() {
        1 => Ok(parts.pop().unwrap_or_else(|| Tensor::zeros(&[dr.rows, k], a.dtype()))),
        _ => Tensor::cat(&parts, 0),
    }
}

/// `G @ a` for sparse rows `G` of a vector output: row r is `Σ_j val[r, j] a[idx[r, j], :]`.
fn gathered_rows(sr: &SparseRows, a: &Tensor) -> Result<Tensor> {
    let dtype = DType::promote(a.dtype(), sr.val.dtype());
    let (a, val) = (a.to_dtype(dtype)?, sr.val.to_dtype(dtype)?);
    fn kernel<T: Float>(a: ArrayView2<'_, T>, sr: &SparseRows, val: &[T]) -> ndarray::Array2<T> {
        let mut out = ndarray::Array2::<T>::zeros((sr.rows, a.ncols()));
        for (r, mut row) in out.axis_iter_mut(Axis(0)).enumerate() {
            for j in sr.row(r) {
                add_scaled(&mut row, val[j], a.row(sr.idx[j]));
            }
        }
        out
    }
    fn add_scaled<T: Float>(row: &mut ArrayViewMut1<'_, T>, v: T, a: ndarray::ArrayView1<'_, T>) {
        row.zip_mut_with(&a, |o, &x| *o = *o + v * x);
    }
    let data = match (a.storage(), val.storage()) {
        (Storage::F64(a), Storage::F64(v)) => {
            let a2 = a.view().into_dimensionality::<Ix2>().map_err(|e| Error::shape("matmul", e.to_string()))?;
            Storage::F64(kernel(a2, sr, &contiguous(v)).into_dyn().into_shared())
        }
        (Storage::F32(a), Storage::F32(v)) => {
            let a2 = a.view().into_dimensionality::<Ix2>().map_err(|e| Error::shape("matmul", e.to_string()))?;
            Storage::F32(kernel(a2, sr, &contiguous(v)).into_dyn().into_shared())
        }
        _ => return Err(Error::dtype("matmul", format!("cannot multiply {} cotangents", dtype))),
    };
    Ok(Tensor::from_storage(data))
}

fn contiguous<T: Clone>(a: &ndarray::ArcArray<T, ndarray::IxDyn>) -> Vec<T> {
    match a.as_slice() {
        Some(s) => s.to_vec(),
        None => a.iter().cloned().collect(),
    }
}

/// An operand as a matrix view: a 1-d A is `1 × q`, a 1-d B is `q × 1`.
fn as_matrix(t: &Tensor, left: bool, dtype: DType) -> Result<Tensor> {
    let t = t.to_dtype(dtype)?;
    match (t.ndim(), left) {
        (1, true) => t.reshape_exact(&[1, t.numel()]),
        (1, false) => t.reshape_exact(&[t.numel(), 1]),
        _ => Ok(t),
    }
}

/// An entry's flat index to (group key, position in the group's source line).
type KeyOf = Box<dyn Fn(usize) -> (usize, usize)>;

/// Which side a product rule works on.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// Entries of C grouped by row i, combined with B: the VJP for A.
    RowsOfC,
    /// Entries of C grouped by column j, combined with A: the VJP for B.
    ColumnsOfC,
    /// Tangent entries of A grouped by row i, combined with B: the JVP into C.
    RowsOfA,
    /// Tangent entries of B grouped by column j, combined with A: the JVP into C.
    ColumnsOfB,
}

/// The sparse rows of the result of one rule of `C = a @ b` (see the module note), of
/// the tensor of shape `to`; `None` when they would be over a quarter full.
fn product_rows(sr: &SparseRows, a: &Tensor, b: &Tensor, side: Side, to: &[usize]) -> Option<Result<SparseRows>> {
    let dtype = DType::promote(DType::promote(a.dtype(), b.dtype()), sr.val.dtype());
    if !dtype.is_float() || a.ndim() > 2 || b.ndim() > 2 || a.ndim() == 0 || b.ndim() == 0 {
        return None;
    }
    let am = match as_matrix(a, true, dtype) {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    let bm = match as_matrix(b, false, dtype) {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    let (p, q, s) = (am.shape()[0], am.shape()[1], bm.shape()[1]);
    // (entry's flat index) -> (group key, position within the group's source line)
    let (key_of, width): (KeyOf, usize) = match side {
        Side::RowsOfC => (Box::new(move |e| (e / s, e % s)), q),
        Side::ColumnsOfC => (Box::new(move |e| (e % s, e / s)), q),
        Side::RowsOfA => (Box::new(move |e| (e / q, e % q)), s),
        Side::ColumnsOfB => (Box::new(move |e| (e % s, e / s)), p),
    };
    // estimate: every group writes `width` entries
    let mut groups = 0usize;
    let mut keys: Vec<(usize, usize, usize)> = Vec::with_capacity(sr.idx.len()); // (row, key, j)
    for r in 0..sr.rows {
        let start = keys.len();
        keys.extend(sr.row(r).map(|j| (r, key_of(sr.idx[j]).0, j)));
        keys[start..].sort_unstable_by_key(|&(_, k, _)| k);
        groups += keys[start..].windows(2).filter(|w| w[0].1 != w[1].1).count() + usize::from(keys.len() > start);
    }
    if 4 * groups * width > sr.rows * numel(to) {
        return None;
    }
    let run = || -> Result<SparseRows> {
        let val = sr.val.to_dtype(dtype)?;
        macro_rules! go {
            ($variant:ident) => {{
                let (Storage::$variant(av), Storage::$variant(bv), Storage::$variant(vv)) =
                    (am.storage(), bm.storage(), val.storage())
                else {
                    return Err(Error::dtype("matmul", "internal: operands of mixed dtypes"));
                };
                let av = av.view().into_dimensionality::<Ix2>().map_err(|e| Error::shape("matmul", e.to_string()))?;
                let bv = bv.view().into_dimensionality::<Ix2>().map_err(|e| Error::shape("matmul", e.to_string()))?;
                let vv = vv.as_standard_layout();
                let vals = vv.as_slice().ok_or_else(|| Error::shape("matmul", "values are not contiguous"))?;
                let (ptr, idx, out) = combine(sr, &keys, &*key_of, side, av, bv, vals, width, s, q);
                let out = Tensor::from_storage(Storage::$variant(ndarray::Array1::from(out).into_dyn().into_shared()));
                Ok(SparseRows { rows: sr.rows, ptr: Arc::new(ptr), shape: to.to_vec(), idx: Arc::new(idx), val: out })
            }};
        }
        match dtype {
            DType::F32 => go!(F32),
            _ => go!(F64),
        }
    };
    Some(run())
}

/// The grouped products (see [`product_rows`]); `keys` holds each row's entries sorted
/// by group key.
#[allow(clippy::too_many_arguments)]
fn combine<T: Float>(
    sr: &SparseRows,
    keys: &[(usize, usize, usize)],
    key_of: &dyn Fn(usize) -> (usize, usize),
    side: Side,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    vals: &[T],
    width: usize,
    s: usize,
    q: usize,
) -> (Vec<usize>, Vec<usize>, Vec<T>) {
    let (mut ptr, mut idx, mut out) = (Vec::with_capacity(sr.rows + 1), Vec::new(), Vec::new());
    ptr.push(0);
    let mut u = vec![T::zero(); width];
    let mut at = 0;
    for r in 0..sr.rows {
        while at < keys.len() && keys[at].0 == r {
            let key = keys[at].1;
            u.iter_mut().for_each(|x| *x = T::zero());
            while at < keys.len() && keys[at].0 == r && keys[at].1 == key {
                let j = keys[at].2;
                let (_, pos) = key_of(sr.idx[j]);
                let v = vals[j];
                // the source line: a column of B, a row of A, a row of B, a column of A
                let line = match side {
                    Side::RowsOfC => b.column(pos),
                    Side::ColumnsOfC => a.row(pos),
                    Side::RowsOfA => b.row(pos),
                    Side::ColumnsOfB => a.column(pos),
                };
                u.iter_mut().zip(line.iter()).for_each(|(x, &l)| *x = *x + v * l);
                at += 1;
            }
            // the written line: row `key` of A (q wide), column `key` of B, row `key`
            // of C (s wide), column `key` of C
            for (t, &x) in u.iter().enumerate() {
                idx.push(match side {
                    Side::RowsOfC => key * q + t,
                    Side::ColumnsOfC => t * s + key,
                    Side::RowsOfA => key * s + t,
                    Side::ColumnsOfB => t * s + key,
                });
                out.push(x);
            }
        }
        ptr.push(idx.len());
    }
    (ptr, idx, out)
}
