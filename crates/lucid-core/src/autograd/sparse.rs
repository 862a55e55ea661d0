//! Sparse rows: the identity seed of a Jacobian kept sparse past the ops that end a
//! diagonal.
//!
//! NOTE [sparse rows]: a diagonal (`diag.rs`) ends at the first op that mixes
//! elements: a broadcast operand, a reduction's VJP (which broadcasts), a slice, a
//! permute. Yet after such ops row r still has only a few non-zeros:
//! `r / sqrt(sum(r², 1))` touches 3 elements per row, a Rosenbrock Hessian's gradient
//! graph 3, `sum(a[:, None] * b[None, :], 0)` n of n². So the sweep carries the rows in
//! compressed sparse row form: row r's entries are `(idx[j], val[j])` for `j` in
//! `ptr[r]..ptr[r + 1]`, `idx` a flat element index.
//!
//! - Moves (reshape, permute, broadcast, windows and their adjoints) map each entry's
//!   flat index by the op's declared map (`structure.rs`); entries a window leaves out
//!   drop; `ptr` is unchanged otherwise.
//! - An elementwise rule runs on the values: the op's inputs and output are gathered
//!   at the entries' positions and the ordinary rule is applied with batch rank 0 to
//!   the flat vector of all entries.
//! - A sum's VJP copies each entry to the `R` elements it reduced (and a broadcast's
//!   JVP to the elements it was broadcast to), while that stays sparse.
//! - A join (`cat`) hands each input the entries in its slab (VJP) and moves each
//!   input's entries to its slab (JVP).
//! - Products with a dense operand combine rows of it (`product.rs`).
//!
//! Entries may repeat an index; densifying adds them. Everything else densifies and
//! runs the ordinary rule, so the structure is an optimisation only. It is used while
//! the sweep records nothing (create_graph off): the gathers are not recorded ops.

use std::sync::Arc;

use ndarray::Array1;

use super::diag::DiagRows;
use super::rows::Rows;
use crate::dtype::DType;
use crate::error::Result;
use crate::structure::{copies, numel, offsets, Mapped, Positions};
use crate::tensor::graph::is_grad_enabled;
use crate::tensor::Tensor;

/// Rows with one leading batch dim of `rows`; row r has the entries `(idx[j], val[j])`,
/// `j` in `ptr[r]..ptr[r + 1]`, over the flat elements of a tensor of `shape` (an index
/// may repeat: the values add).
#[derive(Clone, Debug)]
pub struct SparseRows {
    /// The number of rows in the batch.
    pub rows: usize,
    /// Row `r`'s entries are `ptr[r]..ptr[r + 1]` (length `rows + 1`, non-decreasing).
    pub ptr: Arc<Vec<usize>>,
    /// The shape of the tensor the rows belong to; `idx` indexes its flat elements.
    pub shape: Vec<usize>,
    /// The flat element index of each entry.
    pub idx: Positions,
    /// The value of each entry: a 1-D tensor as long as `idx`.
    pub val: Tensor,
}

impl SparseRows {
    /// Whether sweeps may use sparse rows now: only when nothing is recorded.
    pub(crate) fn enabled() -> bool {
        !is_grad_enabled()
    }

    /// The diagonal `dr` as sparse rows (one entry in each row that meets the tensor),
    /// or None when it has no elements.
    pub(crate) fn from_diag(dr: &DiagRows) -> Option<SparseRows> {
        let shape = dr.d.shape().to_vec();
        let n = numel(&shape);
        if n == 0 || dr.d.requires_grad() || !dr.d.dtype().is_float() {
            return None;
        }
        let d = dr.d.f64_values();
        let (mut ptr, mut idx, mut val) = (Vec::with_capacity(dr.rows + 1), Vec::new(), Vec::new());
        ptr.push(0);
        for r in 0..dr.rows {
            let e = r as isize - dr.offset;
            if e >= 0 && (e as usize) < n {
                idx.push(e as usize);
                val.push(d[e as usize]);
            }
            ptr.push(idx.len());
        }
        let val = Tensor::from_vec(val, &[idx.len()], dr.d.dtype()).ok()?;
        Some(SparseRows { rows: dr.rows, ptr: Arc::new(ptr), shape, idx: Arc::new(idx), val })
    }

    pub(crate) fn row(&self, r: usize) -> std::ops::Range<usize> {
        self.ptr[r]..self.ptr[r + 1]
    }

    /// The dense rows, shape `[rows, *shape]` (repeated indices add up).
    pub fn dense(&self) -> Result<Tensor> {
        Rows::Sparse(self.clone()).dense()
    }

    /// The same rows and values over a tensor of `shape`, at `idx`.
    pub(super) fn with(&self, shape: &[usize], idx: Positions, val: Tensor) -> SparseRows {
        SparseRows { rows: self.rows, ptr: self.ptr.clone(), shape: shape.to_vec(), idx, val }
    }

    /// These entries moved to a tensor of `shape` by a declared map; `None` when a
    /// spread would make them over a quarter full (the sweep then densifies).
    pub(super) fn moved(&self, shape: &[usize], to: Mapped) -> Option<SparseRows> {
        match to {
            Mapped::Each(idx) => Some(self.with(shape, idx, self.val.clone())),
            Mapped::Kept { keep, idx } => Some(self.filter(&keep, idx, shape)),
            Mapped::Spread { base, blocks } => self.spread(shape, &base, &blocks),
        }
    }

    /// These rows of a broadcast result, moved to the operand of `shape` it was
    /// broadcast from (entries of the same operand element add up).
    pub(crate) fn unbroadcast(self, shape: &[usize]) -> SparseRows {
        let idx = crate::structure::positions_in(shape, &self.shape, &self.idx);
        SparseRows { shape: shape.to_vec(), idx, ..self }.merge_runs()
    }

    /// Entries of a row at the same index one right after the other merged into one
    /// (values added). Maps onto fewer elements (a broadcast operand, a sum's tangent)
    /// make such runs: each entry of row j of `sum(a[:, None] * b[None, :], 0)` lands on
    /// `b[j]`. Merged, later rules work through one entry instead of n, and the final
    /// scatter does not serialise on n adds into one element. Runs only, no sort: one
    /// pass, and a no-op (nothing copied) when there are none.
    pub(crate) fn merge_runs(self) -> SparseRows {
        let repeats: Vec<usize> =
            (0..self.rows).map(|r| self.idx[self.row(r)].windows(2).filter(|w| w[0] == w[1]).count()).collect();
        let kept = self.idx.len() - repeats.iter().sum::<usize>();
        if kept == self.idx.len() {
            return self;
        }
        let v = self.val.f64_values();
        let (mut ptr, mut idx, mut val) = (Vec::with_capacity(self.rows + 1), vec![0; kept], vec![0.0; kept]);
        ptr.push(0);
        let mut out = 0;
        for (r, &repeated) in repeats.iter().enumerate() {
            let js = self.row(r);
            let (ids, vs) = (&self.idx[js.clone()], &v[js]);
            if repeated == 0 {
                idx[out..out + ids.len()].copy_from_slice(ids);
                val[out..out + ids.len()].copy_from_slice(vs);
                out += ids.len();
            } else {
                let mut k = 0;
                while k < ids.len() {
                    let at = ids[k];
                    let end = k + 1 + ids[k + 1..].iter().take_while(|&&i| i == at).count();
                    idx[out] = at;
                    val[out] = sum_run(&vs[k..end]);
                    out += 1;
                    k = end;
                }
            }
            ptr.push(out);
        }
        match Tensor::from_vec(val, &[kept], self.val.dtype()) {
            Ok(val) => SparseRows { rows: self.rows, ptr: Arc::new(ptr), shape: self.shape, idx: Arc::new(idx), val },
            Err(_) => self, // unreachable: `kept` values fill `[kept]`
        }
    }

    /// Sum of two batches of sparse rows of the same tensor: values add when the
    /// entries sit at the same places, otherwise each row keeps both sets of entries.
    pub fn plus(self, other: SparseRows) -> Result<SparseRows> {
        let same = |a: &Arc<Vec<usize>>, b: &Arc<Vec<usize>>| Arc::ptr_eq(a, b) || a == b;
        if same(&self.ptr, &other.ptr) && same(&self.idx, &other.idx) {
            let val = self.val.add(&other.val)?;
            return Ok(SparseRows { val, ..self });
        }
        let dtype = DType::promote(self.val.dtype(), other.val.dtype());
        let both = Tensor::cat(&[self.val.to_dtype(dtype)?, other.val.to_dtype(dtype)?], 0)?;
        let shift = self.idx.len(); // other's entries follow self's in `both`
        let total = shift + other.idx.len();
        let (mut ptr, mut idx, mut order) =
            (Vec::with_capacity(self.rows + 1), Vec::with_capacity(total), Vec::with_capacity(total));
        ptr.push(0);
        for r in 0..self.rows {
            let (a, b) = (self.row(r), other.row(r));
            idx.extend_from_slice(&self.idx[a.clone()]);
            idx.extend_from_slice(&other.idx[b.clone()]);
            order.extend(a);
            order.extend(b.start + shift..b.end + shift);
            ptr.push(idx.len());
        }
        let val = gather(&both, &order);
        Ok(SparseRows { rows: self.rows, ptr: Arc::new(ptr), shape: self.shape, idx: Arc::new(idx), val })
    }

    /// Whether the entries of `self` and `other` together exceed half the dense size.
    pub(crate) fn too_dense_with(&self, other: &SparseRows) -> bool {
        2 * (self.idx.len() + other.idx.len()) > self.rows * numel(&self.shape)
    }

    /// The entries `keep` selects, in order (rows keep their place), at `idx`, over a
    /// tensor of `shape`.
    fn filter(&self, keep: &[bool], idx: Vec<usize>, shape: &[usize]) -> SparseRows {
        if keep.iter().all(|&k| k) {
            return self.with(shape, Arc::new(idx), self.val.clone());
        }
        let (mut ptr, mut kept_idx, mut order) = (Vec::with_capacity(self.rows + 1), Vec::new(), Vec::new());
        ptr.push(0);
        for r in 0..self.rows {
            for j in self.row(r).filter(|&j| keep[j]) {
                kept_idx.push(idx[j]);
                order.push(j);
            }
            ptr.push(kept_idx.len());
        }
        let val = gather(&self.val, &order);
        SparseRows { rows: self.rows, ptr: Arc::new(ptr), shape: shape.to_vec(), idx: Arc::new(kept_idx), val }
    }

    /// Each entry copied to a block of elements of a tensor of shape `to`: entry `j`
    /// goes to `base[j] + o` for each offset `o` of `blocks`. `None` when the result
    /// would be over a quarter full (the sweep then densifies).
    fn spread(&self, to: &[usize], base: &Positions, blocks: &[(usize, usize)]) -> Option<SparseRows> {
        let copies = copies(blocks);
        if copies == 0 || 4 * self.idx.len() * copies > self.rows * numel(to) {
            return None;
        }
        let offsets = offsets(blocks);
        let mut idx = Vec::with_capacity(base.len() * copies);
        for &b in base.iter() {
            idx.extend(offsets.iter().map(|&o| b + o));
        }
        let n = self.idx.len();
        let val = self
            .val
            .reshape_exact(&[n, 1])
            .and_then(|v| v.expand(&[n, copies]))
            .and_then(|v| v.reshape_exact(&[n * copies]));
        let ptr = Arc::new(self.ptr.iter().map(|p| p * copies).collect());
        Some(SparseRows { rows: self.rows, ptr, shape: to.to_vec(), idx: Arc::new(idx), val: val.ok()? })
    }
}

/// A sum in four independent lanes: a long run added one by one is a chain of
/// dependent adds (4 cycles each).
fn sum_run(x: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let chunks = x.chunks_exact(4);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..4 {
            lanes[k] += c[k];
        }
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

/// The elements of `x` at flat indices `at`, as a 1-d tensor (any dtype).
pub(super) fn gather(x: &Tensor, at: &[usize]) -> Tensor {
    let data = crate::map_storage!(x.storage(), |a| {
        let std = a.as_standard_layout();
        let s = std.as_slice().expect("standard layout");
        Array1::from_iter(at.iter().map(|&i| s[i])).into_dyn().into_shared()
    });
    Tensor::from_storage(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ptr: Vec<usize>, idx: Vec<usize>, val: Vec<f64>, dtype: DType) -> SparseRows {
        let n = val.len();
        SparseRows {
            rows: ptr.len() - 1,
            ptr: Arc::new(ptr),
            shape: vec![4],
            idx: Arc::new(idx),
            val: Tensor::from_vec(val, &[n], dtype).unwrap(),
        }
    }

    #[test]
    fn merge_runs_adds_neighbours_at_one_index_and_keeps_the_rest() {
        // row 0: a run of five at 2, then 1; row 1: no run (copied); row 2: 3, 3, 0, 3
        let sr = rows(
            vec![0, 6, 8, 12],
            vec![2, 2, 2, 2, 2, 1, 0, 3, 3, 3, 0, 3],
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
            DType::F64,
        );
        let dense = sr.dense().unwrap().to_f64_vec();
        let merged = sr.merge_runs();
        assert_eq!(*merged.ptr, vec![0, 2, 4, 7]);
        assert_eq!(*merged.idx, vec![2, 1, 0, 3, 3, 0, 3]);
        assert_eq!(merged.val.to_f64_vec(), vec![15.0, 6.0, 7.0, 8.0, 19.0, 11.0, 12.0]);
        assert_eq!(merged.dense().unwrap().to_f64_vec(), dense);
    }

    #[test]
    fn merge_runs_without_runs_shares_the_entries_and_keeps_the_dtype() {
        let sr = rows(vec![0, 2, 3], vec![1, 2, 1], vec![1.0, 2.0, 3.0], DType::F32);
        let merged = sr.clone().merge_runs();
        assert!(Arc::ptr_eq(&merged.idx, &sr.idx));
        let runs = rows(vec![0, 2], vec![1, 1], vec![0.5, 0.25], DType::F32).merge_runs();
        assert_eq!(runs.val.dtype(), DType::F32);
        assert_eq!(runs.val.to_f64_vec(), vec![0.75]);
    }
}
