//! What a sweep carries: a batch of rows, each row a cotangent (reverse mode, a row
//! of J) or a tangent (forward mode, a column of J), held dense, diagonal or as
//! sparse rows, and the algebra the sweeps need of them: sums, the one scatter into a
//! dense matrix, and conversions.
//!
//! NOTE [structured rows]: a Jacobian seeds the identity. Through elementwise ops it
//! stays diagonal (`diag.rs`); past the ops that end a diagonal (a broadcast operand,
//! a sum, a slice, a permute) each row still has few non-zeros, and the sweep keeps it
//! as sparse rows (`sparse.rs`); products with a dense operand end the structure
//! (`product.rs`). The ops say how they move elements (`structure.rs`); these files
//! apply that to each representation. The dense matrix is built only where structure
//! ends, so `sin(x) * x²` costs O(n) until its n×n result is written. Structure is an
//! optimisation only: every path ends in the same numbers as the dense rules.

use super::diag::DiagRows;
use super::embed::EmbedRows;
use super::sparse::SparseRows;
use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::structure::numel;
use crate::tensor::graph::is_grad_enabled;
use crate::tensor::Tensor;

/// A batch of rows carried by a sweep (one leading dim of rows over the elements of
/// the tensor it belongs to).
#[derive(Clone, Debug)]
pub enum Rows {
    /// The rows as a dense tensor of shape `[rows, *shape]`.
    Dense(Tensor),
    /// A scaled, possibly shifted identity: each row holds one element (NOTE \[diagonal rows\]).
    Diag(DiagRows),
    /// Few elements per row, in compressed sparse row form (NOTE \[sparse rows\]).
    Sparse(SparseRows),
    /// Parts not yet added: the rows of a tensor several ops read, when adding them
    /// would densify. A Jacobian writes the parts into its result one after the other;
    /// a rule that needs the rows whole gets one dense buffer written the same way (one
    /// allocation, no per-part densify and add). Only built while the sweep records
    /// nothing: the writes are not recorded ops.
    Sum(Vec<Rows>),
    /// Zeros outside one window, which holds the values (a slice's cotangent; NOTE
    /// \[embedded rows\]). Only built while the sweep records nothing.
    Embedded(EmbedRows),
}

/// Zeros for `rows` dense rows of `n` elements, allocated with a check: a seed too
/// large for memory is an error that points at chunk_size, never an abort.
pub(crate) fn seed_zeros(dtype: DType, rows: usize, n: usize) -> Result<Storage> {
    Storage::try_full("jacobian", dtype, &[rows, n], 0.0).map_err(|e| {
        let hint = if rows > 1 {
            format!("; pass chunk_size (or vectorize=False) to sweep the {rows} rows in smaller blocks")
        } else {
            String::new() // one row at a time already: smaller blocks would not help
        };
        Error::argument("jacobian", format!("{}{hint}", e.message()))
    })
}

/// The float dtype a dense copy of `t`'s values takes.
pub(super) fn float_of(t: &Tensor) -> DType {
    if t.dtype() == DType::F32 {
        DType::F32
    } else {
        DType::F64
    }
}

impl Rows {
    /// Whether no stored value is NaN or ±inf (NOTE [zero in, zero out] in ops/mod.rs).
    pub(crate) fn all_finite(&self) -> bool {
        match self {
            Rows::Dense(t) => crate::ops::all_finite(t),
            Rows::Diag(dr) => crate::ops::all_finite(&dr.d),
            Rows::Sparse(sr) => crate::ops::all_finite(&sr.val),
            Rows::Sum(parts) => parts.iter().all(Rows::all_finite),
            Rows::Embedded(e) => crate::ops::all_finite(&e.g),
        }
    }

    /// The dense rows, shape `[rows, *shape]`.
    pub fn dense(self) -> Result<Tensor> {
        match self {
            Rows::Dense(t) => Ok(t),
            Rows::Diag(dr) if is_grad_enabled() && dr.d.requires_grad() => dr.recorded_dense(),
            Rows::Embedded(e) => e.dense(),
            structured => structured.scatter(),
        }
    }

    /// Structured rows written into a zeroed dense matrix (see [`Rows::write_into`]).
    fn scatter(&self) -> Result<Tensor> {
        let (rows, shape) = self.layout();
        let n = numel(&shape);
        let mut out = seed_zeros(self.float_dtype(), rows, n)?;
        self.write_into(&mut out, n, 0, 0)?;
        Tensor::from_storage(out).reshape_exact(&self.full_shape())
    }

    /// The shape of the dense tensor these rows stand for.
    fn full_shape(&self) -> Vec<usize> {
        match self {
            Rows::Dense(t) => t.shape().to_vec(),
            Rows::Embedded(e) => e.shape.clone(),
            Rows::Sum(parts) => parts.first().map_or(vec![0], Rows::full_shape),
            structured => {
                let (rows, shape) = structured.layout();
                crate::shape::batched(&[rows], &shape)
            }
        }
    }

    /// Rows and the shape of the tensor these rows belong to.
    fn layout(&self) -> (usize, Vec<usize>) {
        match self {
            Rows::Dense(t) => (t.shape().first().copied().unwrap_or(1), t.shape().get(1..).unwrap_or(&[]).to_vec()),
            Rows::Diag(dr) => (dr.rows, dr.d.shape().to_vec()),
            Rows::Sparse(sr) => (sr.rows, sr.shape.clone()),
            Rows::Sum(parts) => parts.first().map_or((0, vec![]), Rows::layout),
            Rows::Embedded(e) => (e.shape.first().copied().unwrap_or(1), e.shape.get(1..).unwrap_or(&[]).to_vec()),
        }
    }

    /// The float dtype a dense copy takes: float32 when every value is, else float64.
    fn float_dtype(&self) -> DType {
        match self {
            Rows::Dense(t) => float_of(t),
            Rows::Diag(dr) => float_of(&dr.d),
            Rows::Sparse(sr) => float_of(&sr.val),
            Rows::Sum(parts) if parts.iter().all(|p| p.float_dtype() == DType::F32) => DType::F32,
            Rows::Sum(_) => DType::F64,
            Rows::Embedded(e) => float_of(&e.g),
        }
    }

    /// Whether no part is dense: the rows hold O(entries) numbers, not a
    /// `rows × numel` matrix.
    pub fn is_structured(&self) -> bool {
        match self {
            Rows::Dense(_) | Rows::Embedded(_) => false,
            Rows::Diag(_) | Rows::Sparse(_) => true,
            Rows::Sum(parts) => parts.iter().all(Rows::is_structured),
        }
    }

    /// Add these rows (one leading dim of rows, the rest flattened) into rows `row0..`
    /// and columns `col0..` of `out`, a contiguous float matrix of row length `ld`: a
    /// dense block is added row by row, a diagonal or sparse rows add only their
    /// entries, a sum adds its parts. The one scatter: it assembles a Jacobian in its
    /// zeroed result and densifies structured rows.
    pub fn write_into(&self, out: &mut Storage, ld: usize, row0: usize, col0: usize) -> Result<()> {
        let contiguous = || Error::argument("jacobian", "internal: the result matrix is not contiguous");
        match (&mut *out, self) {
            // a dense block of the result's dtype: its rows added as they are
            (Storage::F64(z), Rows::Dense(t)) if t.dtype() == DType::F64 => {
                if let Storage::F64(a) = t.storage() {
                    add_rows(z.as_slice_mut().ok_or_else(contiguous)?, a, ld, row0, col0);
                    return Ok(());
                }
            }
            (Storage::F32(z), Rows::Dense(t)) if t.dtype() == DType::F32 => {
                if let Storage::F32(a) = t.storage() {
                    add_rows(z.as_slice_mut().ok_or_else(contiguous)?, a, ld, row0, col0);
                    return Ok(());
                }
            }
            (_, Rows::Sum(parts)) => {
                for part in parts {
                    part.write_into(out, ld, row0, col0)?;
                }
                return Ok(());
            }
            (_, Rows::Embedded(e)) => return e.write_into(out, ld, row0, col0),
            _ => {}
        }
        match out {
            Storage::F32(a) => self.write_values(a.as_slice_mut().ok_or_else(contiguous)?, ld, row0, col0),
            Storage::F64(a) => self.write_values(a.as_slice_mut().ok_or_else(contiguous)?, ld, row0, col0),
            other => Err(Error::dtype("jacobian", format!("cannot write a Jacobian of dtype {}", other.dtype()))),
        }
    }

    /// [`Rows::write_into`] for any dtype of values, converted on the way.
    fn write_values<T: Float>(&self, z: &mut [T], ld: usize, row0: usize, col0: usize) -> Result<()> {
        let at = |r: usize, e: usize| (row0 + r) * ld + col0 + e;
        match self {
            Rows::Dense(t) => {
                let rows = t.shape().first().copied().unwrap_or(1).max(1);
                let n = t.numel() / rows;
                let v = t.f64_values();
                for (r, src) in v.chunks_exact(n.max(1)).enumerate().take(rows) {
                    let dst = &mut z[at(r, 0)..at(r, n)];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + T::of(s));
                }
            }
            Rows::Diag(dr) => {
                let d = dr.d.f64_values();
                for r in 0..dr.rows {
                    let e = r as isize - dr.offset;
                    if e >= 0 && (e as usize) < d.len() {
                        let k = at(r, e as usize);
                        z[k] = z[k] + T::of(d[e as usize]);
                    }
                }
            }
            Rows::Sparse(sr) => {
                let v = sr.val.f64_values();
                let n = numel(&sr.shape);
                for r in 0..sr.rows {
                    let row = &mut z[at(r, 0)..at(r, n)];
                    let js = sr.row(r);
                    for (&i, &x) in sr.idx[js.clone()].iter().zip(&v[js]) {
                        row[i] = row[i] + T::of(x);
                    }
                }
            }
            Rows::Sum(parts) => {
                for part in parts {
                    part.write_values(z, ld, row0, col0)?;
                }
            }
            // written by `write_into` before values are converted one by one
            Rows::Embedded(_) => {
                return Err(Error::argument("jacobian", "internal: embedded rows reached write_values"))
            }
        }
        Ok(())
    }

    /// These rows as sparse rows, if they are structured and sparse rows are in use.
    pub(super) fn sparse(&self) -> Option<SparseRows> {
        match self {
            Rows::Diag(dr) if SparseRows::enabled() => SparseRows::from_diag(dr),
            Rows::Sparse(sr) => Some(sr.clone()),
            _ => None,
        }
    }

    fn into_parts(self) -> Vec<Rows> {
        match self {
            Rows::Sum(parts) => parts,
            other => vec![other],
        }
    }

    /// The numbers these rows hold.
    fn stored(&self) -> usize {
        match self {
            Rows::Dense(t) => t.numel(),
            Rows::Diag(dr) => dr.d.numel(),
            Rows::Sparse(sr) => sr.idx.len(),
            Rows::Sum(parts) => parts.iter().map(Rows::stored).sum(),
            Rows::Embedded(e) => e.g.numel(),
        }
    }

    /// The numbers of the dense `[rows, *shape]` matrix they stand for.
    fn full_size(&self) -> usize {
        match self {
            Rows::Dense(t) => t.numel(),
            Rows::Diag(dr) => dr.rows * dr.d.numel(),
            Rows::Sparse(sr) => sr.rows * numel(&sr.shape),
            Rows::Sum(parts) => parts.first().map_or(0, Rows::full_size),
            Rows::Embedded(e) => numel(&e.shape),
        }
    }

    /// Sum of two batches of rows of a tensor no rule will read (an input of the
    /// sweep): the parts are kept apart unless both are dense, for the Jacobian to
    /// write one after the other (merging a diagonal into sparse rows copies every
    /// entry, and nothing downstream needs them merged). While the sweep records, as
    /// `plus`.
    pub fn plus_final(self, other: Rows) -> Result<Rows> {
        // parts piling up past half the dense size (a tensor read in a loop) are added,
        // as `plus` would, so memory stays bounded by the dense size
        let piled_up = 2 * (self.stored() + other.stored()) > self.full_size();
        match (self, other) {
            (a @ Rows::Dense(_), b @ Rows::Dense(_)) => a.plus(b),
            (a, b) if is_grad_enabled() || piled_up => a.plus(b),
            (a, b) => {
                let mut parts = a.into_parts();
                parts.extend(b.into_parts());
                Ok(Rows::Sum(parts))
            }
        }
    }

    /// Sum of two batches of rows of the same tensor: diagonal when both are, alike;
    /// sparse rows when both are structured and the entries stay under half the dense
    /// size; dense when both are dense or the sweep records; otherwise the parts kept
    /// apart.
    pub fn plus(self, other: Rows) -> Result<Rows> {
        match (self, other) {
            (Rows::Diag(a), Rows::Diag(b)) if a.rows == b.rows && a.offset == b.offset => {
                Ok(Rows::Diag(DiagRows { d: a.d.add(&b.d)?, rows: a.rows, offset: a.offset }))
            }
            (Rows::Dense(a), Rows::Dense(b)) => Ok(Rows::Dense(a.add(&b)?)),
            // the same window read twice: its values add, window-sized
            (Rows::Embedded(a), Rows::Embedded(b)) if a.same_window(&b) => Ok(Rows::Embedded(a.plus_same(&b)?)),
            (a, b) => match (a.sparse(), b.sparse()) {
                // many contributions (a tensor read in a loop) pile up entries: past half
                // the dense size, dense is cheaper
                (Some(x), Some(y)) if x.rows == y.rows && x.shape == y.shape && !x.too_dense_with(&y) => {
                    Ok(Rows::Sparse(x.plus(y)?))
                }
                _ if is_grad_enabled() => Ok(Rows::Dense(a.dense()?.add(&b.dense()?)?)),
                _ => {
                    let mut parts = a.into_parts();
                    parts.extend(b.into_parts());
                    Ok(Rows::Sum(parts))
                }
            },
        }
    }
}

/// A dense block of the result's dtype added into `z` row by row.
fn add_rows<T: Float>(z: &mut [T], a: &ndarray::ArcArray<T, ndarray::IxDyn>, ld: usize, row0: usize, col0: usize) {
    let rows = a.shape().first().copied().unwrap_or(1).max(1);
    let n = a.len() / rows;
    let a = a.as_standard_layout();
    let src = a.as_slice().expect("standard layout");
    for (r, row) in src.chunks_exact(n.max(1)).enumerate().take(rows) {
        let start = (row0 + r) * ld + col0;
        z[start..start + n].iter_mut().zip(row).for_each(|(d, &s)| *d = *d + s);
    }
}
