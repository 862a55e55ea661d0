//! Sparse rows through `C = A @ B` for 1-d and 2-d operands (NOTE [sparse-row
//! cotangents]): the Jacobian of a function applied to a batch (`X @ W`, row b of the
//! output depends only on row b of X) or with respect to weights (`W @ x`).
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

use ndarray::{ArrayView2, Ix2};

use super::sparse::{numel, SparseCot};
use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

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
pub(super) enum Side {
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
pub(super) fn product_rows(
    sc: &SparseCot,
    a: &Tensor,
    b: &Tensor,
    side: Side,
    to: &[usize],
) -> Option<Result<SparseCot>> {
    let dtype = DType::promote(DType::promote(a.dtype(), b.dtype()), sc.val.dtype());
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
    let mut keys: Vec<(usize, usize, usize)> = Vec::with_capacity(sc.idx.len()); // (row, key, j)
    for r in 0..sc.rows {
        let start = keys.len();
        keys.extend(sc.row(r).map(|j| (r, key_of(sc.idx[j]).0, j)));
        keys[start..].sort_unstable_by_key(|&(_, k, _)| k);
        groups += keys[start..].windows(2).filter(|w| w[0].1 != w[1].1).count() + usize::from(keys.len() > start);
    }
    if 4 * groups * width > sc.rows * numel(to) {
        return None;
    }
    let run = || -> Result<SparseCot> {
        let val = sc.val.to_dtype(dtype)?;
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
                let (ptr, idx, out) = combine(sc, &keys, &*key_of, side, av, bv, vals, width, s, q);
                let out = Tensor::from_storage(Storage::$variant(ndarray::Array1::from(out).into_dyn().into_shared()));
                Ok(SparseCot { rows: sc.rows, ptr: Arc::new(ptr), shape: to.to_vec(), idx: Arc::new(idx), val: out })
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
    sc: &SparseCot,
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
    let (mut ptr, mut idx, mut out) = (Vec::with_capacity(sc.rows + 1), Vec::new(), Vec::new());
    ptr.push(0);
    let mut u = vec![T::zero(); width];
    let mut at = 0;
    for r in 0..sc.rows {
        while at < keys.len() && keys[at].0 == r {
            let key = keys[at].1;
            u.iter_mut().for_each(|x| *x = T::zero());
            while at < keys.len() && keys[at].0 == r && keys[at].1 == key {
                let j = keys[at].2;
                let (_, pos) = key_of(sc.idx[j]);
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
