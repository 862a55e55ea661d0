//! Structured cotangents: the identity seed of a vectorized Jacobian, kept diagonal.
//!
//! NOTE [diagonal cotangents]: a vectorized Jacobian seeds the identity, reshaped to
//! `[rows, *out.shape]`. Through an elementwise op the identity stays diagonal (row r is
//! `d[r] e_r`), so the sweep carries just the diagonal `d` (shape `out.shape`) instead of
//! `rows × numel` numbers: an elementwise rule applied to `d` with batch rank 0 yields
//! the next diagonal, and `diag(d) @ A` is a row scaling, not a product. The dense
//! matrix is built only where structure ends (a reduction, a broadcast input, a
//! target), so `sin(x) * x²` costs O(n) until its n×n result is written, and the tall
//! MLP's first matmul disappears.

use super::sparse::{self, sparse_vjp, SparseCot};
use super::sparse_forward::sparse_jvp;
use super::{Op, Rule};
use crate::autograd::is_grad_enabled;
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::ops::matmul::MatmulOp;
use crate::ops::view::ViewOp;
use crate::shape::reduce_to;
use crate::tensor::Tensor;

/// A cotangent with one leading batch dim of `rows` whose row `r` is `d[e] e_e` for the
/// element `e = r - offset` of the tensor it belongs to (zero when `e` is out of range).
#[derive(Clone, Debug)]
pub struct DiagCot {
    pub d: Tensor,
    pub rows: usize,
    pub offset: isize,
}

/// A cotangent in a sweep: dense, diagonal (see the note above), sparse rows
/// (NOTE [sparse-row cotangents] in `sparse.rs`) or a sum of such parts.
#[derive(Clone, Debug)]
pub enum Cot {
    Dense(Tensor),
    Diag(DiagCot),
    Sparse(SparseCot),
    /// Parts not yet added: the cotangent of a tensor several ops read, when adding
    /// them would densify. A Jacobian writes the parts into its result one after the
    /// other; a rule that needs the cotangent whole gets one dense buffer written the
    /// same way (one allocation, no per-part densify and add). Only built while the
    /// sweep records nothing: the writes are not recorded ops.
    Sum(Vec<Cot>),
}

/// Zeros for `rows` dense cotangent rows of `n` elements, allocated with a check: a
/// seed too large for memory is an error that points at chunk_size, never an abort.
pub(crate) fn seed_zeros(dtype: DType, rows: usize, n: usize) -> Result<Storage> {
    Storage::try_full("jacobian", dtype, &[rows, n], 0.0).map_err(|e| {
        Error::argument(
            "jacobian",
            format!("{}; pass chunk_size (or vectorize=False) to sweep the {rows} rows in smaller blocks", e.message()),
        )
    })
}

impl DiagCot {
    /// The dense cotangent, shape `[rows, *d.shape]`. Its `rows × numel` entries are
    /// allocated with a check: a seed too large for memory is an error that points at
    /// chunk_size, never an abort.
    pub fn densify(&self) -> Result<Tensor> {
        let n = self.d.numel();
        let mut shape = vec![self.rows];
        shape.extend_from_slice(self.d.shape());
        let pairs = (0..n).filter_map(|e| {
            let r = e as isize + self.offset;
            (r >= 0 && (r as usize) < self.rows).then_some((r as usize, e))
        });
        let float = if self.d.dtype() == DType::F32 { DType::F32 } else { DType::F64 };
        let zeros = seed_zeros(float, self.rows, n)?;
        if is_grad_enabled() && self.d.requires_grad() {
            // E[r, e] = 1 where r = e + offset; E * d keeps the graph to d.
            let mut e_mat = zeros;
            match &mut e_mat {
                Storage::F32(z) => pairs.for_each(|(r, e)| z[[r, e]] = 1.0),
                Storage::F64(z) => pairs.for_each(|(r, e)| z[[r, e]] = 1.0),
                _ => {}
            }
            let e_mat = Tensor::from_storage(e_mat).to_dtype(self.d.dtype())?;
            return e_mat.mul(&self.d.reshape_exact(&[1, n])?)?.reshape_exact(&shape);
        }
        let d = self.d.f64_values();
        let mut data = zeros;
        match &mut data {
            Storage::F32(z) => pairs.for_each(|(r, e)| z[[r, e]] = d[e] as f32),
            Storage::F64(z) => pairs.for_each(|(r, e)| z[[r, e]] = d[e]),
            _ => {}
        }
        Tensor::from_storage(data).reshape_exact(&shape)
    }

    fn with(&self, d: Tensor) -> Cot {
        Cot::Diag(DiagCot { d, rows: self.rows, offset: self.offset })
    }
}

impl Cot {
    pub fn dense(self) -> Result<Tensor> {
        match self {
            Cot::Dense(t) => Ok(t),
            Cot::Diag(dc) => dc.densify(),
            Cot::Sparse(sc) => sc.densify(),
            sum @ Cot::Sum(_) => {
                let (rows, shape) = sum.layout();
                let n = sparse::numel(&shape);
                let mut out = seed_zeros(sum.float_dtype(), rows, n)?;
                sum.write_into(&mut out, n, 0, 0)?;
                let mut full = vec![rows];
                full.extend_from_slice(&shape);
                Tensor::from_storage(out).reshape_exact(&full)
            }
        }
    }

    /// Rows and the shape of the tensor this cotangent belongs to.
    fn layout(&self) -> (usize, Vec<usize>) {
        match self {
            Cot::Dense(t) => (t.shape().first().copied().unwrap_or(1), t.shape().get(1..).unwrap_or(&[]).to_vec()),
            Cot::Diag(dc) => (dc.rows, dc.d.shape().to_vec()),
            Cot::Sparse(sc) => (sc.rows, sc.shape.clone()),
            Cot::Sum(parts) => parts.first().map_or((0, vec![]), Cot::layout),
        }
    }

    /// The float dtype a dense copy takes: float32 when every value is, else float64.
    fn float_dtype(&self) -> DType {
        let dtype = |t: &Tensor| if t.dtype() == DType::F32 { DType::F32 } else { DType::F64 };
        match self {
            Cot::Dense(t) => dtype(t),
            Cot::Diag(dc) => dtype(&dc.d),
            Cot::Sparse(sc) => dtype(&sc.val),
            Cot::Sum(parts) if parts.iter().all(|p| p.float_dtype() == DType::F32) => DType::F32,
            Cot::Sum(_) => DType::F64,
        }
    }

    /// Whether no part is dense: the cotangent holds O(entries) numbers, not a
    /// `rows × numel` matrix.
    pub fn is_structured(&self) -> bool {
        match self {
            Cot::Dense(_) => false,
            Cot::Diag(_) | Cot::Sparse(_) => true,
            Cot::Sum(parts) => parts.iter().all(Cot::is_structured),
        }
    }

    /// Add this cotangent (one leading dim of rows, the rest flattened) into rows
    /// `row0..` and columns `col0..` of `out`, a contiguous float matrix of row length
    /// `ld`: a dense block is added row by row, a diagonal or sparse rows add only their
    /// entries, a sum adds its parts. This is how a Jacobian is assembled into its zeroed
    /// result without densifying each block first.
    pub fn write_into(&self, out: &mut Storage, ld: usize, row0: usize, col0: usize) -> Result<()> {
        fn write<T: crate::dtype::Float>(cot: &Cot, z: &mut [T], ld: usize, row0: usize, col0: usize) -> Result<()> {
            let at = |r: usize, e: usize| (row0 + r) * ld + col0 + e;
            match cot {
                Cot::Dense(t) => {
                    let rows = t.shape().first().copied().unwrap_or(1).max(1);
                    let n = t.numel() / rows;
                    let v = t.f64_values();
                    for (r, src) in v.chunks_exact(n.max(1)).enumerate().take(rows) {
                        let dst = &mut z[at(r, 0)..at(r, n)];
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + T::of(s));
                    }
                }
                Cot::Diag(dc) => {
                    let d = dc.d.f64_values();
                    for r in 0..dc.rows {
                        let e = r as isize - dc.offset;
                        if e >= 0 && (e as usize) < d.len() {
                            let k = at(r, e as usize);
                            z[k] = z[k] + T::of(d[e as usize]);
                        }
                    }
                }
                Cot::Sparse(sc) => {
                    let v = sc.val.f64_values();
                    let n = sparse::numel(&sc.shape);
                    for r in 0..sc.rows {
                        let row = &mut z[at(r, 0)..at(r, n)];
                        let js = sc.row(r);
                        for (&i, &x) in sc.idx[js.clone()].iter().zip(&v[js]) {
                            row[i] = row[i] + T::of(x);
                        }
                    }
                }
                Cot::Sum(parts) => {
                    for part in parts {
                        write(part, z, ld, row0, col0)?;
                    }
                }
            }
            Ok(())
        }
        let contiguous = || Error::argument("jacobian", "internal: the result matrix is not contiguous");
        // a dense block of the result's dtype: rows added as they are
        fn add_rows<T: crate::dtype::Float>(
            z: &mut [T],
            a: &ndarray::ArcArray<T, ndarray::IxDyn>,
            ld: usize,
            row0: usize,
            col0: usize,
        ) {
            let rows = a.shape().first().copied().unwrap_or(1).max(1);
            let n = a.len() / rows;
            let a = a.as_standard_layout();
            let src = a.as_slice().expect("standard layout");
            for (r, row) in src.chunks_exact(n.max(1)).enumerate().take(rows) {
                let start = (row0 + r) * ld + col0;
                z[start..start + n].iter_mut().zip(row).for_each(|(d, &s)| *d = *d + s);
            }
        }
        match (&mut *out, self) {
            (Storage::F64(z), Cot::Dense(t)) if t.dtype() == DType::F64 => {
                if let Storage::F64(a) = t.storage() {
                    add_rows(z.as_slice_mut().ok_or_else(contiguous)?, a, ld, row0, col0);
                    return Ok(());
                }
            }
            (Storage::F32(z), Cot::Dense(t)) if t.dtype() == DType::F32 => {
                if let Storage::F32(a) = t.storage() {
                    add_rows(z.as_slice_mut().ok_or_else(contiguous)?, a, ld, row0, col0);
                    return Ok(());
                }
            }
            (_, Cot::Sum(parts)) => {
                for part in parts {
                    part.write_into(out, ld, row0, col0)?;
                }
                return Ok(());
            }
            _ => {}
        }
        match out {
            Storage::F32(a) => write(self, a.as_slice_mut().ok_or_else(contiguous)?, ld, row0, col0),
            Storage::F64(a) => write(self, a.as_slice_mut().ok_or_else(contiguous)?, ld, row0, col0),
            other => Err(Error::dtype("jacobian", format!("cannot write a Jacobian of dtype {}", other.dtype()))),
        }
    }

    /// This cotangent as sparse rows, if it is structured and sparse rows are in use.
    fn sparse(&self) -> Option<SparseCot> {
        match self {
            Cot::Diag(dc) if sparse::enabled() => SparseCot::from_diag(dc),
            Cot::Sparse(sc) => Some(sc.clone()),
            _ => None,
        }
    }

    fn into_parts(self) -> Vec<Cot> {
        match self {
            Cot::Sum(parts) => parts,
            other => vec![other],
        }
    }

    /// The numbers this cotangent holds.
    fn stored(&self) -> usize {
        match self {
            Cot::Dense(t) => t.numel(),
            Cot::Diag(dc) => dc.d.numel(),
            Cot::Sparse(sc) => sc.idx.len(),
            Cot::Sum(parts) => parts.iter().map(Cot::stored).sum(),
        }
    }

    /// The numbers of the dense `[rows, *shape]` cotangent it stands for.
    fn full_size(&self) -> usize {
        match self {
            Cot::Dense(t) => t.numel(),
            Cot::Diag(dc) => dc.rows * dc.d.numel(),
            Cot::Sparse(sc) => sc.rows * sparse::numel(&sc.shape),
            Cot::Sum(parts) => parts.first().map_or(0, Cot::full_size),
        }
    }

    /// Sum of two cotangents of a tensor no rule will read (an input of the sweep): the
    /// parts are kept apart unless both are dense, for the Jacobian to write one after
    /// the other (merging a diagonal into sparse rows copies every entry, and nothing
    /// downstream needs them merged). While the sweep records, as `plus`.
    pub fn plus_final(self, other: Cot) -> Result<Cot> {
        // parts piling up past half the dense size (a tensor read in a loop) are added,
        // as `plus` would, so memory stays bounded by the dense size
        let piled_up = 2 * (self.stored() + other.stored()) > self.full_size();
        match (self, other) {
            (a @ Cot::Dense(_), b @ Cot::Dense(_)) => a.plus(b),
            (a, b) if is_grad_enabled() || piled_up => a.plus(b),
            (a, b) => {
                let mut parts = a.into_parts();
                parts.extend(b.into_parts());
                Ok(Cot::Sum(parts))
            }
        }
    }

    /// Sum of two cotangents of the same tensor: diagonal when both are, alike; sparse
    /// rows when both are structured and the entries stay under half the dense size;
    /// dense when both are dense or the sweep records; otherwise the parts kept apart.
    pub fn plus(self, other: Cot) -> Result<Cot> {
        match (self, other) {
            (Cot::Diag(a), Cot::Diag(b)) if a.rows == b.rows && a.offset == b.offset => {
                Ok(Cot::Diag(DiagCot { d: a.d.add(&b.d)?, rows: a.rows, offset: a.offset }))
            }
            (Cot::Dense(a), Cot::Dense(b)) => Ok(Cot::Dense(a.add(&b)?)),
            (a, b) => match (a.sparse(), b.sparse()) {
                // many contributions (a tensor read in a loop) pile up entries: past half
                // the dense size, dense is cheaper
                (Some(x), Some(y)) if x.rows == y.rows && x.shape == y.shape && !x.too_dense_with(&y) => {
                    Ok(Cot::Sparse(x.plus(y)?))
                }
                _ if is_grad_enabled() => Ok(Cot::Dense(a.dense()?.add(&b.dense()?)?)),
                _ => {
                    let mut parts = a.into_parts();
                    parts.extend(b.into_parts());
                    Ok(Cot::Sum(parts))
                }
            },
        }
    }
}

/// The VJP of `op` for a structured cotangent (diagonal or sparse rows), or `None`
/// when there is no structured rule (the sweep then densifies and runs the ordinary
/// rule with batch rank 1). A diagonal that no diagonal rule serves continues as
/// sparse rows.
pub(crate) fn structured_vjp(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    g: &Cot,
    needs: &[bool],
) -> Option<Result<Vec<Option<Cot>>>> {
    match g {
        Cot::Dense(_) | Cot::Sum(_) => None,
        Cot::Diag(dc) => diag_vjp(op, inputs, out, dc, needs)
            .or_else(|| g.sparse().and_then(|sc| sparse_vjp(op, inputs, out, &sc, needs))),
        Cot::Sparse(sc) => sparse_vjp(op, inputs, out, sc, needs),
    }
}

/// The VJP of `op` for a diagonal cotangent, or `None` when the op has no structured
/// rule (the sweep then densifies and runs the ordinary rule with batch rank 1).
fn diag_vjp(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    dc: &DiagCot,
    needs: &[bool],
) -> Option<Result<Vec<Option<Cot>>>> {
    let rule: &dyn Rule = op.rule();
    if rule.is_elementwise() {
        return Some(elementwise(rule, inputs, out, dc, needs));
    }
    match op {
        // Reshape keeps the row-major element order, so the diagonal just reshapes.
        Op::View(ViewOp::Reshape) => Some(dc.d.reshape_exact(inputs[0].shape()).map(|d| vec![Some(dc.with(d))])),
        // y = A x: diag(d) A scales the rows of A (the x-cotangent), no product needed.
        Op::Matmul(MatmulOp::Matmul) if inputs[0].ndim() == 2 && inputs[1].ndim() == 1 && !needs[0] => {
            Some(scaled_rows(dc, &inputs[0]).map(|g| vec![None, Some(Cot::Dense(g))]))
        }
        _ => None,
    }
}

/// The tangent of `op`'s output for structured input tangents (diagonal or sparse
/// rows), or `None` when there is no structured rule (the sweep then densifies and runs
/// the ordinary JVP rule). Diagonals that no diagonal rule serves continue as sparse rows.
pub(crate) fn structured_jvp(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<Cot>],
) -> Option<Result<Option<Cot>>> {
    if let Some(t) = diag_jvp(op, inputs, out, tangents) {
        return Some(t);
    }
    let mut sparse = Vec::with_capacity(tangents.len());
    for t in tangents {
        sparse.push(match t {
            None => None,
            Some(t) => Some(t.sparse()?),
        });
    }
    let rows: Vec<usize> = sparse.iter().flatten().map(|s| s.rows).collect();
    if rows.is_empty() || rows.iter().any(|&r| r != rows[0]) {
        return None;
    }
    sparse_jvp(op, inputs, out, &sparse)
}

fn diag_jvp(op: &Op, inputs: &[Tensor], out: &Tensor, tangents: &[Option<Cot>]) -> Option<Result<Option<Cot>>> {
    let mut diag: Option<&DiagCot> = None;
    for t in tangents.iter().flatten() {
        match (t, diag) {
            (Cot::Dense(_) | Cot::Sparse(_) | Cot::Sum(_), _) => return None,
            (Cot::Diag(a), Some(b)) if a.rows != b.rows || a.offset != b.offset => return None,
            (Cot::Diag(a), _) => diag = Some(a),
        }
    }
    let dc = diag?;
    let ds = || -> Vec<Option<Tensor>> {
        tangents
            .iter()
            .map(|t| match t {
                Some(Cot::Diag(a)) => Some(a.d.clone()),
                _ => None,
            })
            .collect()
    };
    let rule: &dyn Rule = op.rule();
    if rule.is_elementwise() {
        let aligned = tangents.iter().zip(inputs).all(|(t, x)| t.is_none() || x.shape() == out.shape());
        if !aligned {
            return None;
        }
        return Some(rule.jvp(inputs, out, &ds(), 0).map(|d| d.map(|d| dc.with(d))));
    }
    match op {
        Op::View(ViewOp::Reshape) => Some(dc.d.reshape_exact(out.shape()).map(|d| Some(dc.with(d)))),
        // y = A x with the identity over x: column r of the tangent is d[e] A[:, e].
        Op::Matmul(MatmulOp::Matmul) if inputs[0].ndim() == 2 && inputs[1].ndim() == 1 && tangents[0].is_none() => {
            Some(inputs[0].t().and_then(|at| scaled_rows(dc, &at)).map(|t| Some(Cot::Dense(t))))
        }
        _ => None,
    }
}

/// `G @ a` for the diagonal `G` of a vector output: row r is `d[e] a[e, :]` with
/// `e = r - offset`, zero where e is out of range.
fn scaled_rows(dc: &DiagCot, a: &Tensor) -> Result<Tensor> {
    let n = dc.d.numel() as isize;
    let lo = (-dc.offset).max(0);
    let hi = (dc.rows as isize - dc.offset).min(n);
    let len = (hi - lo).max(0) as usize;
    let k = a.shape()[1];
    let mut parts = Vec::with_capacity(3);
    let before = (lo + dc.offset).max(0) as usize; // first row holding element lo
    if before > 0 {
        parts.push(Tensor::zeros(&[before, k], a.dtype()));
    }
    if len > 0 {
        let (lo, rows) = (lo as usize, a.narrow(0, lo as usize, len)?);
        // The identity seed scales by ones: its rows are `a`'s own (a view, no copy).
        let d = dc.d.narrow(0, lo, len)?;
        let ones = !(is_grad_enabled() && d.requires_grad()) && d.f64_values().iter().all(|&v| v == 1.0);
        parts.push(if ones { rows } else { d.unsqueeze(-1)?.mul(&rows)? });
    }
    let after = dc.rows - before - len;
    if after > 0 {
        parts.push(Tensor::zeros(&[after, k], a.dtype()));
    }
    match parts.len() {
        1 => Ok(parts.pop().unwrap_or_else(|| Tensor::zeros(&[dc.rows, k], a.dtype()))),
        _ => Tensor::cat(&parts, 0),
    }
}

fn elementwise(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    dc: &DiagCot,
    needs: &[bool],
) -> Result<Vec<Option<Cot>>> {
    let grads = rule.vjp(inputs, out, &dc.d, 0, needs)?;
    grads
        .into_iter()
        .zip(inputs)
        .map(|(g, x)| {
            let Some(g) = g else { return Ok(None) };
            if g.shape() == x.shape() {
                return Ok(Some(dc.with(g)));
            }
            // A broadcast input: its cotangent sums the diagonal's rows over the
            // broadcast dims: sparse rows, or dense when those are not in use.
            let full = DiagCot { d: g.expand(out.shape())?, rows: dc.rows, offset: dc.offset };
            if let Some(sc) = sparse::enabled().then(|| SparseCot::from_diag(&full)).flatten() {
                if x.numel() > 0 {
                    return Ok(Some(Cot::Sparse(sc.unbroadcast(x.shape()))));
                }
            }
            let full = full.densify()?;
            Ok(Some(Cot::Dense(reduce_to(&full, 1, x.shape())?)))
        })
        .collect()
}
