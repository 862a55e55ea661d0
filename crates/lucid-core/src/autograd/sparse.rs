//! Sparse-row cotangents: the identity seed of a Jacobian kept sparse past the ops
//! that end a diagonal.
//!
//! NOTE [sparse-row cotangents]: a diagonal cotangent (structured.rs) ends at the first
//! op whose VJP mixes elements: a broadcast operand, a reduction's VJP (which
//! broadcasts), a slice, a permute. Yet after such ops row r of the cotangent still has
//! only a few non-zeros: `r / sqrt(sum(r², 1))` touches 3 elements per row, a
//! Rosenbrock Hessian's gradient graph 3, `sum(a[:, None] * b[None, :], 0)` n of n².
//! So the sweep carries the rows in compressed sparse row form: row r's entries are
//! `(idx[j], val[j])` for `j` in `ptr[r]..ptr[r + 1]`, `idx` a flat element index.
//!
//! - Index ops (reshape, permute, expand, slices and their adjoints, a broadcast
//!   operand) map each entry's flat index (a slice's adjoint drops the entries outside
//!   the slice); `ptr` is unchanged.
//! - An elementwise rule runs on the values: the op's inputs and output are gathered
//!   at the entries' positions and the ordinary rule is applied with batch rank 0 to
//!   the flat vector of all entries.
//! - A sum's VJP copies each entry to the `R` elements it reduced, while that stays
//!   sparse.
//! - `A @ x` gathers rows of `A`, the last step before the dense Jacobian.
//!
//! Entries may repeat an index; densifying adds them. Everything else densifies and
//! runs the ordinary rule, so the structure is an optimisation only. It is used while
//! the sweep records nothing (create_graph off): the gathers are not recorded ops.

use std::sync::Arc;

use ndarray::{Array1, ArrayView2, ArrayViewMut1, Axis, Ix2};

use super::sparse_matmul::{product_rows, Side};
use super::structured::{seed_zeros, DiagCot};
use super::{is_grad_enabled, Op, Rule};
use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::ops::binary::BinaryOp;
use crate::ops::index::{IndexOp, Resolved};
use crate::ops::matmul::MatmulOp;
use crate::ops::reduce::ReduceOp;
use crate::ops::view::ViewOp;
use crate::tensor::Tensor;

use super::structured::Cot;

/// A cotangent with one leading batch dim of `rows`; row r has the entries
/// `(idx[j], val[j])`, `j` in `ptr[r]..ptr[r + 1]`, over the flat elements of a tensor
/// of `shape` (an index may repeat: the values add).
#[derive(Clone, Debug)]
pub struct SparseCot {
    pub rows: usize,
    pub ptr: Arc<Vec<usize>>,
    pub shape: Vec<usize>,
    pub idx: Arc<Vec<usize>>,
    pub val: Tensor,
}

pub(super) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Whether sweeps may use sparse rows now: only when nothing is recorded.
pub(crate) fn enabled() -> bool {
    !is_grad_enabled()
}

impl SparseCot {
    /// The diagonal `dc` as sparse rows (one entry in each row that meets the tensor),
    /// or None when it has no elements.
    pub(crate) fn from_diag(dc: &DiagCot) -> Option<SparseCot> {
        let shape = dc.d.shape().to_vec();
        let n = numel(&shape);
        if n == 0 || dc.d.requires_grad() || !dc.d.dtype().is_float() {
            return None;
        }
        let d = dc.d.f64_values();
        let (mut ptr, mut idx, mut val) = (Vec::with_capacity(dc.rows + 1), Vec::new(), Vec::new());
        ptr.push(0);
        for r in 0..dc.rows {
            let e = r as isize - dc.offset;
            if e >= 0 && (e as usize) < n {
                idx.push(e as usize);
                val.push(d[e as usize]);
            }
            ptr.push(idx.len());
        }
        let val = Tensor::from_vec(val, &[idx.len()], dc.d.dtype()).ok()?;
        Some(SparseCot { rows: dc.rows, ptr: Arc::new(ptr), shape, idx: Arc::new(idx), val })
    }

    pub(crate) fn row(&self, r: usize) -> std::ops::Range<usize> {
        self.ptr[r]..self.ptr[r + 1]
    }

    /// This cotangent of a broadcast result, moved to the operand of `shape` it was
    /// broadcast from (entries of the same operand element add up).
    pub(crate) fn unbroadcast(self, shape: &[usize]) -> SparseCot {
        let idx = Affine::unbroadcast(&self.shape, shape).apply(&self.idx);
        SparseCot { shape: shape.to_vec(), idx, ..self }.merge_runs()
    }

    /// Entries of a row at the same index one right after the other merged into one
    /// (values added). Maps onto fewer elements (a broadcast operand, a sum's tangent)
    /// make such runs: each entry of row j of `sum(a[:, None] * b[None, :], 0)` lands on
    /// `b[j]`. Merged, later rules work through one entry instead of n, and the final
    /// scatter does not serialise on n adds into one element. Runs only, no sort: one
    /// pass, and a no-op (nothing copied) when there are none.
    pub(crate) fn merge_runs(self) -> SparseCot {
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
            Ok(val) => SparseCot { rows: self.rows, ptr: Arc::new(ptr), shape: self.shape, idx: Arc::new(idx), val },
            Err(_) => self, // unreachable: `kept` values fill `[kept]`
        }
    }

    pub(super) fn with(&self, shape: &[usize], idx: Arc<Vec<usize>>, val: Tensor) -> SparseCot {
        SparseCot { rows: self.rows, ptr: self.ptr.clone(), shape: shape.to_vec(), idx, val }
    }

    /// The dense cotangent, shape `[rows, *shape]` (repeated indices add up).
    pub fn densify(&self) -> Result<Tensor> {
        let n = numel(&self.shape);
        let float = if self.val.dtype() == DType::F32 { DType::F32 } else { DType::F64 };
        let mut out = seed_zeros(float, self.rows, n)?;
        let val = self.val.to_dtype(float)?;
        fn scatter<T: Float>(sc: &SparseCot, z: &mut [T], v: &[T], n: usize) {
            for (r, row) in z.chunks_exact_mut(n).enumerate() {
                let js = sc.row(r);
                for (&i, &v) in sc.idx[js.clone()].iter().zip(&v[js]) {
                    row[i] = row[i] + v;
                }
            }
        }
        match (&mut out, val.storage()) {
            _ if n == 0 => {}
            (Storage::F32(z), Storage::F32(v)) => {
                scatter(self, z.as_slice_mut().expect("fresh zeros"), &contiguous(v), n)
            }
            (Storage::F64(z), Storage::F64(v)) => {
                scatter(self, z.as_slice_mut().expect("fresh zeros"), &contiguous(v), n)
            }
            _ => return Err(Error::dtype("jacobian", "internal: sparse cotangent of a non-float dtype")),
        }
        let mut shape = vec![self.rows];
        shape.extend_from_slice(&self.shape);
        Tensor::from_storage(out).reshape_exact(&shape)
    }

    /// Sum of two sparse cotangents of the same tensor: values add when the entries
    /// sit at the same places, otherwise each row keeps both sets of entries.
    pub fn plus(self, other: SparseCot) -> Result<SparseCot> {
        let same = |a: &Arc<Vec<usize>>, b: &Arc<Vec<usize>>| Arc::ptr_eq(a, b) || a == b;
        if same(&self.ptr, &other.ptr) && same(&self.idx, &other.idx) {
            let val = self.val.add(&other.val)?;
            return Ok(SparseCot { val, ..self });
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
        Ok(SparseCot { rows: self.rows, ptr: Arc::new(ptr), shape: self.shape, idx: Arc::new(idx), val })
    }

    /// Whether the entries of `self` and `other` together exceed half the dense size.
    pub(crate) fn too_dense_with(&self, other: &SparseCot) -> bool {
        2 * (self.idx.len() + other.idx.len()) > self.rows * numel(&self.shape)
    }

    /// The entries `keep` selects, in order (rows keep their place).
    fn filter(&self, keep: &[bool], idx: Vec<usize>) -> SparseCot {
        if keep.iter().all(|&k| k) {
            return self.with(&self.shape, Arc::new(idx), self.val.clone());
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
        SparseCot { rows: self.rows, ptr: Arc::new(ptr), shape: self.shape.clone(), idx: Arc::new(kept_idx), val }
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

fn contiguous<T: Clone>(a: &ndarray::ArcArray<T, ndarray::IxDyn>) -> Vec<T> {
    match a.as_slice() {
        Some(s) => s.to_vec(),
        None => a.iter().cloned().collect(),
    }
}

/// Row-major strides of `shape`.
pub(super) fn row_major(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// An affine map of flat indices: `from` shape's element with coordinates `c` goes to
/// `base + Σ c[d] stride[d]`. Views (slices, permutes, broadcasts) are such maps.
pub(super) struct Affine {
    pub(super) from: Vec<usize>,
    pub(super) stride: Vec<isize>,
    pub(super) base: isize,
}

/// Whether a map over `n` elements is cheaper as a table than per entry (a division
/// per dim per entry) for `entries` entries.
fn table_pays(n: usize, entries: usize) -> bool {
    n <= 4 * entries + 4096
}

impl Affine {
    /// The images of `idx` (shared, not copied, when the map is the identity: a reshape,
    /// or a slice or broadcast that only adds or drops dims of size 1).
    pub(super) fn apply(&self, idx: &Arc<Vec<usize>>) -> Arc<Vec<usize>> {
        let rm = row_major(&self.from);
        let identity =
            self.base == 0 && (0..self.from.len()).all(|d| self.from[d] == 1 || self.stride[d] == rm[d] as isize);
        if identity {
            return idx.clone();
        }
        Arc::new(self.map(idx))
    }

    fn map(&self, idx: &[usize]) -> Vec<usize> {
        if table_pays(numel(&self.from), idx.len()) {
            let table = self.table();
            return idx.iter().map(|&e| table[e]).collect();
        }
        idx.iter()
            .map(|&e| {
                let (mut e, mut acc) = (e, self.base);
                for d in (0..self.from.len()).rev() {
                    acc += (e % self.from[d]) as isize * self.stride[d];
                    e /= self.from[d];
                }
                acc as usize
            })
            .collect()
    }

    /// The image of every element of `from`, in row-major order (an odometer walk over
    /// all but the last dim, no divisions).
    fn table(&self) -> Vec<usize> {
        let n = numel(&self.from);
        let mut out = Vec::with_capacity(n);
        let Some((&last, outer_dims)) = self.from.split_last() else {
            out.push(self.base as usize);
            return out;
        };
        if n == 0 {
            return out;
        }
        let step = self.stride[outer_dims.len()];
        let (mut coord, mut acc) = (vec![0usize; outer_dims.len()], self.base);
        for _ in 0..n / last {
            out.extend((0..last as isize).map(|j| (acc + j * step) as usize));
            for d in (0..outer_dims.len()).rev() {
                coord[d] += 1;
                acc += self.stride[d];
                if coord[d] < outer_dims[d] {
                    break;
                }
                acc -= self.stride[d] * outer_dims[d] as isize;
                coord[d] = 0;
            }
        }
        out
    }

    /// From `out` (a broadcast of `x`, aligned on the right) to `x`.
    fn unbroadcast(out: &[usize], x: &[usize]) -> Affine {
        let rm = row_major(x);
        let lead = out.len() - x.len();
        let stride =
            (0..out.len()).map(|d| if d < lead || x[d - lead] == 1 { 0 } else { rm[d - lead] as isize }).collect();
        Affine { from: out.to_vec(), stride, base: 0 }
    }
}

/// The flat indices in `x` (which broadcasts to `out`) of the flat positions `idx` of
/// `out`.
pub(super) fn positions_in(x: &[usize], out: &[usize], idx: &Arc<Vec<usize>>) -> Arc<Vec<usize>> {
    if x == out {
        idx.clone()
    } else {
        Affine::unbroadcast(out, x).apply(idx)
    }
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

/// The VJP of `op` for sparse rows, or None when the op has no sparse rule (the sweep
/// then densifies). A cotangent of an empty tensor is returned dense (it has no
/// element to hold an entry).
pub(crate) fn sparse_vjp(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    sc: &SparseCot,
    needs: &[bool],
) -> Option<Result<Vec<Option<Cot>>>> {
    let grads = sparse_vjp_rows(op, inputs, out, sc, needs)?;
    Some(grads.and_then(|gs| gs.into_iter().map(|g| g.map(nonempty).transpose()).collect()))
}

pub(super) fn nonempty(g: Cot) -> Result<Cot> {
    match g {
        Cot::Sparse(sc) if numel(&sc.shape) == 0 => sc.densify().map(Cot::Dense),
        other => Ok(other),
    }
}

fn sparse_vjp_rows(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    sc: &SparseCot,
    needs: &[bool],
) -> Option<Result<Vec<Option<Cot>>>> {
    let one =
        |shape: &[usize], idx: Arc<Vec<usize>>| Some(Ok(vec![Some(Cot::Sparse(sc.with(shape, idx, sc.val.clone())))]));
    let x_shape = inputs.first().map(|x| x.shape().to_vec()).unwrap_or_default();
    if op.rule().is_elementwise() {
        return Some(elementwise(op, inputs, out, sc, needs));
    }
    match op {
        Op::View(ViewOp::Reshape) => {
            Some(Ok(vec![Some(Cot::Sparse(sc.with(&x_shape, sc.idx.clone(), sc.val.clone())))]))
        }
        Op::View(ViewOp::Permute(perm)) => {
            let rm = row_major(&x_shape);
            let stride = perm.iter().map(|&p| rm[p] as isize).collect();
            one(&x_shape, Affine { from: out.shape().to_vec(), stride, base: 0 }.apply(&sc.idx))
        }
        Op::View(ViewOp::Expand) => one(&x_shape, Affine::unbroadcast(out.shape(), &x_shape).apply(&sc.idx)),
        Op::Index(IndexOp::Slice { items }) => one(&x_shape, slice_map(items, &x_shape, out.shape()).apply(&sc.idx)),
        Op::Index(IndexOp::SliceBackward { items, .. }) => {
            Some(Ok(vec![Some(Cot::Sparse(slice_entries(items, &x_shape, out.shape(), sc)))]))
        }
        Op::Reduce(ReduceOp::Sum { axes, keepdim }) => sum_vjp(axes, *keepdim, &x_shape, out.shape(), sc).map(Ok),
        Op::Matmul(MatmulOp::Matmul) if inputs[0].ndim() == 2 && inputs[1].ndim() == 1 && !needs[0] => {
            Some(gathered_rows(sc, &inputs[0]).map(|g| vec![None, Some(Cot::Dense(g))]))
        }
        Op::Matmul(MatmulOp::Matmul) if inputs[0].ndim() == 1 && inputs[1].ndim() == 2 && !needs[1] => {
            Some(inputs[1].t().and_then(|wt| gathered_rows(sc, &wt)).map(|g| vec![Some(Cot::Dense(g)), None]))
        }
        // 2-d operands (a batch `X @ W`, weights `W @ x`): grouped products, see sparse_matmul.rs
        Op::Matmul(MatmulOp::Matmul) => {
            let mut grads = vec![None, None];
            for (k, side) in [(0, Side::RowsOfC), (1, Side::ColumnsOfC)] {
                if needs[k] {
                    match product_rows(sc, &inputs[0], &inputs[1], side, inputs[k].shape())? {
                        Ok(g) => grads[k] = Some(Cot::Sparse(g)),
                        Err(e) => return Some(Err(e)),
                    }
                }
            }
            Some(Ok(grads))
        }
        _ => None,
    }
}

/// `x[items]` as a map from the output's flat indices to `x`'s (items act on the
/// trailing dims; leading dims pass through).
pub(super) fn slice_map(items: &[Resolved], x: &[usize], out: &[usize]) -> Affine {
    let rm = row_major(x);
    let in_dims = items.iter().filter(|r| !matches!(r, Resolved::NewAxis)).count();
    let lead = x.len() - in_dims;
    let mut stride: Vec<isize> = rm[..lead].iter().map(|&s| s as isize).collect();
    let (mut base, mut xd) = (0isize, lead);
    for item in items {
        match *item {
            Resolved::Index(i) => {
                base += (i * rm[xd]) as isize;
                xd += 1;
            }
            Resolved::Range { start, step, .. } => {
                // coordinate c is element start + c step (a negative step walks backwards)
                base += (start * rm[xd]) as isize;
                stride.push(step * rm[xd] as isize);
                xd += 1;
            }
            Resolved::NewAxis => stride.push(0),
        }
    }
    Affine { from: out.to_vec(), stride, base }
}

/// Entries of a full tensor (shape `out`) moved to their places in its slice `g` (shape
/// `g_shape`); entries outside the slice are dropped. This is the VJP of a slice's
/// adjoint and the JVP of a slice.
pub(super) fn slice_entries(items: &[Resolved], g_shape: &[usize], out: &[usize], sc: &SparseCot) -> SparseCot {
    // `into` maps the sliced tensor into the full one; entries are inverted through it
    let into = slice_map(items, out, g_shape);
    let mut keep = vec![true; sc.idx.len()];
    let idx: Vec<usize> = if table_pays(numel(out), sc.idx.len()) {
        let mut inverse = vec![usize::MAX; numel(out)];
        for (gi, e) in into.table().into_iter().enumerate() {
            inverse[e] = gi;
        }
        sc.idx.iter().zip(keep.iter_mut()).map(|(&e, k)| inverse_at(inverse[e], k)).collect()
    } else {
        let rm = row_major(g_shape);
        let lead = out.len() - items.iter().filter(|r| !matches!(r, Resolved::NewAxis)).count();
        let mut coords = vec![0; out.len()];
        sc.idx
            .iter()
            .zip(keep.iter_mut())
            .map(|(&e, k)| {
                unravel(e, out, &mut coords);
                let mut acc: usize = coords[..lead].iter().zip(&rm).map(|(c, s)| c * s).sum();
                let (mut od, mut gd) = (lead, lead);
                for item in items {
                    match *item {
                        Resolved::Index(i) => {
                            *k &= coords[od] == i;
                            od += 1;
                        }
                        Resolved::Range { start, step, len } => {
                            let off = coords[od] as i64 - start as i64;
                            let q = off / step as i64;
                            *k &= off % step as i64 == 0 && q >= 0 && (q as usize) < len;
                            acc += (q.max(0) as usize) * rm[gd];
                            od += 1;
                            gd += 1;
                        }
                        Resolved::NewAxis => gd += 1,
                    }
                }
                inverse_at(if *k { acc } else { usize::MAX }, k)
            })
            .collect()
    };
    let mut kept = sc.filter(&keep, idx);
    kept.shape = g_shape.to_vec();
    kept
}

/// An inverted index, or a dropped entry (`keep` cleared) for `usize::MAX`.
fn inverse_at(i: usize, keep: &mut bool) -> usize {
    if i == usize::MAX {
        *keep = false;
        0
    } else {
        i
    }
}

fn unravel(mut e: usize, shape: &[usize], coords: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        coords[d] = e % shape[d];
        e /= shape[d];
    }
}

/// The VJP of a sum copies each entry to the `R` elements it reduced.
fn sum_vjp(axes: &[usize], keepdim: bool, x: &[usize], out: &[usize], sc: &SparseCot) -> Option<Vec<Option<Cot>>> {
    let rm = row_major(x);
    // out coordinates to x's flat index with the reduced coordinates at 0
    let stride: Vec<isize> = (0..x.len()).filter(|d| keepdim || !axes.contains(d)).map(|d| rm[d] as isize).collect();
    let base = Affine { from: out.to_vec(), stride, base: 0 };
    let spread: Vec<(usize, usize)> = axes.iter().map(|&a| (x[a], rm[a])).collect();
    Some(vec![Some(Cot::Sparse(expand_entries(sc, x, &base, &spread)?))])
}

/// Each entry copied to a block of elements of a tensor of shape `to`: entry `e` goes
/// to `base(e) + Σ c_d step_d` for every `c_d < size_d` of `spread = [(size_d, step_d)]`.
/// `None` when the result would be over a quarter full (the sweep then densifies).
pub(super) fn expand_entries(
    sc: &SparseCot,
    to: &[usize],
    base: &Affine,
    spread: &[(usize, usize)],
) -> Option<SparseCot> {
    let copies: usize = spread.iter().map(|&(size, _)| size).product();
    if copies == 0 || 4 * sc.idx.len() * copies > sc.rows * numel(to) {
        return None;
    }
    let mut offsets = vec![0usize];
    for &(size, step) in spread {
        offsets = offsets.iter().flat_map(|&o| (0..size).map(move |c| o + c * step)).collect();
    }
    let starts = base.apply(&sc.idx);
    let mut idx = Vec::with_capacity(starts.len() * copies);
    for &b in starts.iter() {
        idx.extend(offsets.iter().map(|&o| b + o));
    }
    let n = sc.idx.len();
    let val =
        sc.val.reshape_exact(&[n, 1]).and_then(|v| v.expand(&[n, copies])).and_then(|v| v.reshape_exact(&[n * copies]));
    let ptr = Arc::new(sc.ptr.iter().map(|p| p * copies).collect());
    Some(SparseCot { rows: sc.rows, ptr, shape: to.to_vec(), idx: Arc::new(idx), val: val.ok()? })
}

/// `G @ a` for sparse rows `G` of a vector output: row r is `Σ_j val[r, j] a[idx[r, j], :]`.
pub(super) fn gathered_rows(sc: &SparseCot, a: &Tensor) -> Result<Tensor> {
    let dtype = DType::promote(a.dtype(), sc.val.dtype());
    let (a, val) = (a.to_dtype(dtype)?, sc.val.to_dtype(dtype)?);
    fn kernel<T: Float>(a: ArrayView2<'_, T>, sc: &SparseCot, val: &[T]) -> ndarray::Array2<T> {
        let mut out = ndarray::Array2::<T>::zeros((sc.rows, a.ncols()));
        for (r, mut row) in out.axis_iter_mut(Axis(0)).enumerate() {
            for j in sc.row(r) {
                add_scaled(&mut row, val[j], a.row(sc.idx[j]));
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
            Storage::F64(kernel(a2, sc, &contiguous(v)).into_dyn().into_shared())
        }
        (Storage::F32(a), Storage::F32(v)) => {
            let a2 = a.view().into_dimensionality::<Ix2>().map_err(|e| Error::shape("matmul", e.to_string()))?;
            Storage::F32(kernel(a2, sc, &contiguous(v)).into_dyn().into_shared())
        }
        _ => return Err(Error::dtype("matmul", format!("cannot multiply {} cotangents", dtype))),
    };
    Ok(Tensor::from_storage(data))
}

/// An elementwise rule on the entries' values: inputs and output gathered at the
/// entries' positions, the rule applied with batch rank 0, indices mapped to each
/// input (a broadcast input maps many output elements to one of its own).
fn elementwise(op: &Op, inputs: &[Tensor], out: &Tensor, sc: &SparseCot, needs: &[bool]) -> Result<Vec<Option<Cot>>> {
    let (at, grads) = rule_at(op, inputs, out, &sc.idx, &sc.val, needs)?;
    Ok(grads
        .into_iter()
        .zip(inputs.iter().zip(at))
        .map(|(g, (x, at))| {
            g.map(|g| {
                let moved = sc.with(x.shape(), at, g);
                Cot::Sparse(if x.shape() == out.shape() { moved } else { moved.merge_runs() })
            })
        })
        .collect())
}

/// Flat element indices of a tensor, one per entry (shared between cotangents).
pub(super) type Positions = Arc<Vec<usize>>;

/// An elementwise op's VJP rule applied to values `val` at flat positions `idx` of its
/// output: the inputs (and a `where` mask) are gathered there and the rule runs with
/// batch rank 0. Returns each input's positions of the entries and the rule's results,
/// one value per entry. (Forward mode uses it too: the rule is self-adjoint.)
pub(super) fn rule_at(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    idx: &Arc<Vec<usize>>,
    val: &Tensor,
    needs: &[bool],
) -> Result<(Vec<Positions>, Vec<Option<Tensor>>)> {
    let shape = out.shape();
    let reads = op.rule().vjp_reads();
    let unread = |x: &Tensor| Tensor::zeros(&[0], x.dtype());
    let at: Vec<Arc<Vec<usize>>> = inputs.iter().map(|x| positions_in(x.shape(), shape, idx)).collect();
    let xs: Vec<Tensor> =
        inputs.iter().zip(&at).map(|(x, at)| if reads.inputs { gather(x, at) } else { unread(x) }).collect();
    let y = if reads.output { gather(out, idx) } else { unread(out) };
    let where_op;
    let rule: &dyn Rule = match op {
        Op::Binary(BinaryOp::Where(cond)) => {
            where_op = BinaryOp::Where(gather(cond, &positions_in(cond.shape(), shape, idx)));
            &where_op
        }
        other => other.rule(),
    };
    let n = idx.len();
    let grads = rule
        .vjp(&xs, &y, val, 0, needs)?
        .into_iter()
        .map(|g| g.map(|g| if g.shape() == [n] { Ok(g) } else { g.expand(&[n])?.reshape_exact(&[n]) }).transpose())
        .collect::<Result<_>>()?;
    Ok((at, grads))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cot(ptr: Vec<usize>, idx: Vec<usize>, val: Vec<f64>, dtype: DType) -> SparseCot {
        let n = val.len();
        SparseCot {
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
        let sc = cot(
            vec![0, 6, 8, 12],
            vec![2, 2, 2, 2, 2, 1, 0, 3, 3, 3, 0, 3],
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
            DType::F64,
        );
        let dense = sc.densify().unwrap().to_f64_vec();
        let merged = sc.merge_runs();
        assert_eq!(*merged.ptr, vec![0, 2, 4, 7]);
        assert_eq!(*merged.idx, vec![2, 1, 0, 3, 3, 0, 3]);
        assert_eq!(merged.val.to_f64_vec(), vec![15.0, 6.0, 7.0, 8.0, 19.0, 11.0, 12.0]);
        assert_eq!(merged.densify().unwrap().to_f64_vec(), dense);
    }

    #[test]
    fn merge_runs_without_runs_shares_the_entries_and_keeps_the_dtype() {
        let sc = cot(vec![0, 2, 3], vec![1, 2, 1], vec![1.0, 2.0, 3.0], DType::F32);
        let merged = sc.clone().merge_runs();
        assert!(Arc::ptr_eq(&merged.idx, &sc.idx));
        let runs = cot(vec![0, 2], vec![1, 1], vec![0.5, 0.25], DType::F32).merge_runs();
        assert_eq!(runs.val.dtype(), DType::F32);
        assert_eq!(runs.val.to_f64_vec(), vec![0.75]);
    }
}
