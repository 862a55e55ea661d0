//! Gather and scatter: reading elements at computed positions (`x[idx]`, `x[mask]`,
//! `gather`, `index_select`) and adding values into positions (`scatter_add`,
//! `index_put`, `scatter`).
//!
//! Every op of the family reduces to one pair over flat row-major positions into the
//! trailing dims: `Take` (`out[l, k] = x[l, pos[k]]`) and `Put` (zeros with
//! `out[l, pos[k]] += g[l, k]`). They are each other's VJP, so the family is
//! differentiable to any order, and both act on trailing dims with any number of
//! leading dims, so batched cotangents pass through untouched. The position arithmetic
//! (integer, not differentiable) happens once, when the op is built.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArcArray, IxDyn};

use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::ops::binary::where_;
use crate::ops::index::{outer_add, resolve_positions, resolve_take, IndexItem};
use crate::ops::nondiff;
use crate::shape::{batched, normalize_axis};
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

/// Flat row-major positions into a tensor of shape `full`, arranged as `part`.
/// Invariant (checked in `new`): `pos.len() == prod(part)` and every `pos < prod(full)`.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "PositionsData")]
pub struct Positions {
    pos: Arc<[usize]>,
    full: Vec<usize>,
    part: Vec<usize>,
}

impl fmt::Debug for Positions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Positions({} of {:?} as {:?})", self.pos.len(), self.full, self.part)
    }
}

/// What a serialised `Positions` holds, checked by `Positions::new` as it is read back.
#[derive(serde::Deserialize)]
struct PositionsData {
    pos: Vec<usize>,
    full: Vec<usize>,
    part: Vec<usize>,
}

impl TryFrom<PositionsData> for Positions {
    type Error = String;
    fn try_from(d: PositionsData) -> std::result::Result<Positions, String> {
        Positions::new("tape", d.pos, &d.full, &d.part).map_err(|e| e.message())
    }
}

impl Positions {
    pub(crate) fn new(op: &'static str, pos: Vec<usize>, full: &[usize], part: &[usize]) -> Result<Positions> {
        let n: usize = full.iter().product();
        let m: usize = part.iter().product();
        if pos.len() != m || pos.iter().any(|&p| p >= n) {
            return Err(Error::index(op, format!("internal: positions do not fit {full:?} as {part:?}")));
        }
        Ok(Positions { pos: pos.into(), full: full.to_vec(), part: part.to_vec() })
    }
}

/// Gathers and their adjoint scatters over precomputed flat positions (advanced
/// indexing, `gather`, `index_select`, `take`): `Take`'s VJP is a `Put` and `Put`'s a
/// `Take`, so both sweeps and all orders stay in this family.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum GatherOp {
    /// `lead + full → lead + part`: `out[l, k] = x[l, pos[k]]`
    Take(Positions),
    /// `lead + part → lead + full`: zeros with `out[l, pos[k]] += g[l, k]`
    Put(Positions),
}

impl Rule for GatherOp {
    // The positions index the trailing `full`/`part` dims and any leading dims ride
    // along (`lead + full → lead + part`), so a batch is one more leading dim.
    fn batch(&self, inputs: &[Tensor], _batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        self.replay(inputs, shape, dtype).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        match self {
            GatherOp::Take(p) => take(&inputs[0], p),
            GatherOp::Put(p) => put(&inputs[0], p),
        }
    }

    // A gather moves elements by a table of positions; no structured rule follows it
    // yet, so its cotangents and tangents are dense, but its pattern is the table.
    fn structure(&self) -> Structure<'_> {
        Structure::Unstructured(match self {
            GatherOp::Take(p) => Dependence::Take { pos: &p.pos, full: &p.full, part: &p.part },
            GatherOp::Put(p) => Dependence::Put { pos: &p.pos, full: &p.full, part: &p.part },
        })
    }

    fn name(&self) -> &'static str {
        match self {
            GatherOp::Take(_) => "gather",
            GatherOp::Put(_) => "scatter_add",
        }
    }

    fn vjp(
        &self,
        _inputs: &[Tensor],
        _out: &Tensor,
        g: &Tensor,
        _batch: usize,
        _needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let gx = match self {
            // Take is linear with a 0/1 matrix; its transpose adds each read element's
            // cotangent back where it was read (repeated reads add up).
            GatherOp::Take(p) => put(g, p)?,
            // Put is the transpose of Take, and transposing again gives Take.
            GatherOp::Put(p) => take(g, p)?,
        };
        Ok(vec![Some(gx)])
    }

    // Both ops are linear, so the JVP applies the same op to the tangent; leading
    // (batch) dims pass through both kernels.
    fn jvp(
        &self,
        _inputs: &[Tensor],
        _out: &Tensor,
        tangents: &[Option<Tensor>],
        _batch: usize,
    ) -> Result<Option<Tensor>> {
        let Some(t) = &tangents[0] else { return Ok(None) };
        Ok(Some(match self {
            // d x[pos] = dx[pos]
            GatherOp::Take(p) => take(t, p)?,
            // d put(g at pos) = put(dg at pos)
            GatherOp::Put(p) => put(t, p)?,
        }))
    }
}

/// Leading dims of `t` in front of `trailing`, checked.
fn lead_of(op: &'static str, t: &Tensor, trailing: &[usize]) -> Result<Vec<usize>> {
    let s = t.shape();
    if s.len() < trailing.len() || &s[s.len() - trailing.len()..] != trailing {
        return Err(Error::shape(op, format!("tensor of shape {s:?} does not end in {trailing:?}")));
    }
    Ok(s[..s.len() - trailing.len()].to_vec())
}

fn take_kernel<T: Clone>(a: &ArcArray<T, IxDyn>, p: &Positions, lead: &[usize]) -> Result<ArcArray<T, IxDyn>> {
    let std = a.as_standard_layout();
    let src = std.as_slice().ok_or_else(|| Error::shape("gather", "internal: non-contiguous copy"))?;
    let n_full: usize = p.full.iter().product();
    let rows: usize = lead.iter().product();
    let mut out = Vec::with_capacity(rows * p.pos.len());
    for r in 0..rows {
        let row = &src[r * n_full..(r + 1) * n_full];
        out.extend(p.pos.iter().map(|&q| row[q].clone()));
    }
    ArcArray::from_shape_vec(IxDyn(&batched(lead, &p.part)), out).map_err(|e| Error::shape("gather", e.to_string()))
}

fn put_kernel<T: Clone>(
    a: &ArcArray<T, IxDyn>,
    p: &Positions,
    lead: &[usize],
    zero: T,
    add: fn(&T, &T) -> T,
) -> Result<ArcArray<T, IxDyn>> {
    let std = a.as_standard_layout();
    let src = std.as_slice().ok_or_else(|| Error::shape("scatter_add", "internal: non-contiguous copy"))?;
    let n_full: usize = p.full.iter().product();
    let n_part = p.pos.len();
    let rows: usize = lead.iter().product();
    let mut out = vec![zero; rows * n_full];
    for r in 0..rows {
        let row = &mut out[r * n_full..(r + 1) * n_full];
        for (&q, v) in p.pos.iter().zip(&src[r * n_part..(r + 1) * n_part]) {
            row[q] = add(&row[q], v);
        }
    }
    ArcArray::from_shape_vec(IxDyn(&batched(lead, &p.full)), out)
        .map_err(|e| Error::shape("scatter_add", e.to_string()))
}

/// `x[..., pos]` over the trailing `p.full` dims of `x` (any dtype).
pub(crate) fn take(x: &Tensor, p: &Positions) -> Result<Tensor> {
    let lead = lead_of("gather", x, &p.full)?;
    let data = match x.storage() {
        Storage::F32(a) => Storage::F32(take_kernel(a, p, &lead)?),
        Storage::F64(a) => Storage::F64(take_kernel(a, p, &lead)?),
        Storage::I64(a) => Storage::I64(take_kernel(a, p, &lead)?),
        Storage::Bool(a) => Storage::Bool(take_kernel(a, p, &lead)?),
    };
    Ok(Tensor::from_op(data, GatherOp::Take(p.clone()), vec![x.clone()]))
}

/// Zeros of `lead + p.full` with the trailing `p.part` block of `g` added at `pos`
/// (bool values combine with `or`).
pub(crate) fn put(g: &Tensor, p: &Positions) -> Result<Tensor> {
    let lead = lead_of("scatter_add", g, &p.part)?;
    let data = match g.storage() {
        Storage::F32(a) => Storage::F32(put_kernel(a, p, &lead, 0.0, |x, y| x + y)?),
        Storage::F64(a) => Storage::F64(put_kernel(a, p, &lead, 0.0, |x, y| x + y)?),
        Storage::I64(a) => Storage::I64(put_kernel(a, p, &lead, 0, |x, y| x.wrapping_add(*y))?),
        Storage::Bool(a) => Storage::Bool(put_kernel(a, p, &lead, false, |x, y| *x || *y)?),
    };
    Ok(Tensor::from_op(data, GatherOp::Put(p.clone()), vec![g.clone()]))
}

/// Row-major strides of `shape`, in elements.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

fn expect_index(op: &'static str, index: &Tensor) -> Result<ArcArray<i64, IxDyn>> {
    // its values become positions: a tape keeps them as a guard
    crate::tensor::recording::note_escape(index);
    match index.storage() {
        Storage::I64(a) => Ok(a.clone()),
        s => Err(Error::dtype(op, format!("index must be an int64 tensor, got {}", s.dtype()))),
    }
}

fn expect_same_dtype(op: &'static str, what: &str, x: &Tensor, src: &Tensor) -> Result<()> {
    if x.dtype() != src.dtype() {
        return Err(Error::dtype(
            op,
            format!("expected {what} to have the dtype of the input ({}), got {}", x.dtype(), src.dtype()),
        ));
    }
    Ok(())
}

/// Positions into `shape` of `index` along `dim` (PyTorch's gather/scatter addressing):
/// element `i` of `index` addresses `i` with its `dim` coordinate replaced by
/// `index[i]`, which must lie in `0..shape[dim]`.
fn along_dim(op: &'static str, shape: &[usize], dim: usize, index: &ArcArray<i64, IxDyn>) -> Result<Vec<usize>> {
    let is = index.shape();
    if is.len() != shape.len() {
        return Err(Error::shape(
            op,
            format!(
                "index has {} dims but the input has {} (index shape {is:?}, input shape {shape:?})",
                is.len(),
                shape.len()
            ),
        ));
    }
    if let Some(d) = (0..is.len()).find(|&d| d != dim && is[d] > shape[d]) {
        return Err(Error::shape(
            op,
            format!("index of shape {is:?} is larger than the input of shape {shape:?} in dim {d} (only dim {dim} may differ)"),
        ));
    }
    let st = strides(shape);
    let n = shape[dim] as i64;
    // element i's position with its `dim` coordinate at 0: a sum of per-dim offsets,
    // built one dim at a time in row-major order of the index (as `x[idx]` builds its own)
    let base = is.iter().enumerate().fold(vec![0usize], |acc, (d, &len)| {
        let step = if d == dim { 0 } else { st[d] };
        outer_add(acc, &(0..len).map(|c| c * step).collect::<Vec<_>>())
    });
    let values = index.as_standard_layout();
    let values = values.as_slice().ok_or_else(|| Error::index(op, "internal: non-contiguous index"))?;
    let mut out = base;
    for (p, &v) in out.iter_mut().zip(values) {
        if v < 0 || v >= n {
            return Err(Error::index(op, format!("index {v} is out of bounds for dim {dim} with size {n}")));
        }
        *p += v as usize * st[dim];
    }
    Ok(out)
}

/// 0-d operands of gather/scatter act as 1-d tensors of one element (as in PyTorch).
fn as_1d_if_scalar(t: &Tensor) -> Result<Tensor> {
    if t.ndim() == 0 {
        t.reshape_exact(&[1])
    } else {
        Ok(t.clone())
    }
}

impl Tensor {
    /// `out[i][j][k] = x[i][index[i][j][k]][k]` for `dim = 1` (PyTorch's `gather`):
    /// `index` is int64 with the input's number of dims, and no larger than the input
    /// outside `dim`; the result has the index's shape.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], DType::F64).unwrap();
    /// let i = Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0], &[2, 2], DType::I64).unwrap();
    /// assert_eq!(x.gather(1, &i).unwrap().to_f64_vec(), vec![2.0, 1.0, 3.0, 3.0]);
    /// ```
    pub fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let d = normalize_axis("gather", dim, self.ndim())?;
        if self.ndim() == 0 {
            return as_1d_if_scalar(self)?.gather(0, &as_1d_if_scalar(index)?)?.reshape_exact(index.shape());
        }
        let idx = expect_index("gather", index)?;
        let pos = along_dim("gather", self.shape(), d, &idx)?;
        take(self, &Positions::new("gather", pos, self.shape(), idx.shape())?)
    }

    /// The int64 indices that sort `self` along `dim`: ascending, or `descending`.
    /// Stable (equal values keep their order), with NaN above every number, as
    /// PyTorch sorts. A 0-d tensor gives `0`.
    pub fn argsort(&self, dim: isize, descending: bool) -> Result<Tensor> {
        if self.ndim() == 0 {
            normalize_axis("argsort", dim, 1)?;
            return Tensor::from_vec(vec![0.0], &[], DType::F64)?.to_dtype(DType::I64);
        }
        let d = normalize_axis("argsort", dim, self.ndim())?;
        let shape = self.shape();
        let (len, inner) = (shape[d], shape[d + 1..].iter().product::<usize>());
        let keys = sort_keys(self);
        let mut out = vec![0i64; keys.len()];
        let mut lane: Vec<usize> = Vec::with_capacity(len);
        for start in (0..keys.len()).step_by((len * inner).max(1)) {
            for r in 0..inner {
                let at = |k: usize| start + k * inner + r;
                lane.clear();
                lane.extend(0..len);
                // a stable sort: equal keys keep their order in both directions
                lane.sort_by(|&a, &b| {
                    let order = keys[at(a)].cmp(&keys[at(b)]);
                    if descending {
                        order.reverse()
                    } else {
                        order
                    }
                });
                for (k, &from) in lane.iter().enumerate() {
                    out[at(k)] = from as i64;
                }
            }
        }
        let data = ArcArray::from_shape_vec(IxDyn(shape), out).map_err(|e| Error::shape("argsort", e.to_string()))?;
        Ok(nondiff::argsorted(Storage::I64(data), dim, descending, self))
    }

    /// `(values, indices)`: `self` sorted along `dim` ([`Tensor::argsort`]'s order) and
    /// where each value came from. The values are a gather by the indices, so their
    /// derivatives (every order, both modes) are the gather's.
    pub fn sort(&self, dim: isize, descending: bool) -> Result<(Tensor, Tensor)> {
        normalize_axis("sort", dim, self.ndim().max(1))?; // so a bad dim's error names sort, not argsort
        let indices = self.argsort(dim, descending)?;
        let values = if self.ndim() == 0 { self.clone() } else { self.gather(dim, &indices)? };
        Ok((values, indices))
    }

    /// The entries `index` (1-d int64, each in `0..size`) of `dim`, in that order.
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let d = normalize_axis("index_select", dim, self.ndim())?;
        let idx = expect_index("index_select", index)?;
        if idx.ndim() > 1 {
            return Err(Error::shape("index_select", format!("index must be 1-d, got shape {:?}", idx.shape())));
        }
        if self.ndim() == 0 {
            return as_1d_if_scalar(self)?.index_select(0, index)?.reshape_exact(&[]);
        }
        let n = self.shape()[d] as i64;
        let values = idx.as_standard_layout();
        let values = values.as_slice().ok_or_else(|| Error::index("index_select", "internal: non-contiguous index"))?;
        if let Some(&v) = values.iter().find(|&&v| v < 0 || v >= n) {
            return Err(Error::index("index_select", format!("index {v} is out of bounds for dim {d} with size {n}")));
        }
        let mut items: Vec<IndexItem> = (0..d).map(|_| IndexItem::full()).collect();
        items.push(IndexItem::Tensor(index.reshape_exact(&[idx.len()])?));
        self.index(&items)
    }

    /// `self` plus `src` added at the positions `index` addresses along `dim`
    /// (PyTorch's out-of-place `scatter_add`). Only the leading `index.shape` block of
    /// `src` is used; repeated positions add up.
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let (pos, src) = self.scatter_positions("scatter_add", dim, index, src)?;
        self.add(&put(&src, &Positions::new("scatter_add", pos, self.shape(), src.shape())?)?)
    }

    /// `self` with `src` written at the positions `index` addresses along `dim`
    /// (PyTorch's out-of-place `scatter`). Where positions repeat the last write (in
    /// row-major order of `index`) wins and only that `src` element gets a gradient.
    pub fn scatter(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let (pos, src) = self.scatter_positions("scatter", dim, index, src)?;
        self.overwrite("scatter", &src, &pos)
    }

    /// Positions for scatter/scatter_add and `src` cut to the index's shape.
    fn scatter_positions(
        &self,
        op: &'static str,
        dim: isize,
        index: &Tensor,
        src: &Tensor,
    ) -> Result<(Vec<usize>, Tensor)> {
        let d = normalize_axis(op, dim, self.ndim())?;
        expect_same_dtype(op, "src", self, src)?;
        if self.ndim() == 0 {
            let (x1, i1, s1) = (as_1d_if_scalar(self)?, as_1d_if_scalar(index)?, as_1d_if_scalar(src)?);
            let (pos, s) = x1.scatter_positions(op, 0, &i1, &s1)?;
            return Ok((pos, s.reshape_exact(index.shape())?));
        }
        let idx = expect_index(op, index)?;
        let is = idx.shape();
        if src.ndim() != is.len() || src.shape().iter().zip(is).any(|(&s, &i)| i > s) {
            return Err(Error::shape(
                op,
                format!("src of shape {:?} is smaller than the index of shape {is:?} in some dim", src.shape()),
            ));
        }
        let pos = along_dim(op, self.shape(), d, &idx)?;
        let src = if src.shape() == is {
            src.clone()
        } else {
            let items: Vec<IndexItem> =
                is.iter().map(|&n| IndexItem::Slice { start: Some(0), stop: Some(n as isize), step: 1 }).collect();
            src.index(&items)?
        };
        Ok((pos, src))
    }

    /// `self` with `values` (broadcast to the indexed shape) written at `items`
    /// (any index expression: ints, slices, None, Ellipsis, int64 and bool tensors), or
    /// added there when `accumulate`. Differentiable in `self` and `values`; with
    /// repeated positions and `accumulate = false` the last write wins.
    pub fn index_put(&self, items: &[IndexItem], values: &Tensor, accumulate: bool) -> Result<Tensor> {
        expect_same_dtype("index_put", "values", self, values)?;
        let (shape, pos) = resolve_positions(items, self.shape())?;
        if broadcast_fits(values.shape(), &shape).is_none() {
            return Err(Error::shape(
                "index_put",
                format!("values of shape {:?} cannot be broadcast to the indexed shape {shape:?}", values.shape()),
            ));
        }
        let values = values.expand(&shape)?;
        if accumulate {
            self.add(&put(&values, &Positions::new("index_put", pos, self.shape(), &shape)?)?)
        } else {
            self.overwrite("index_put", &values, &pos)
        }
    }

    /// `self` with the elements of `values` (read row-major, any shape) written at the
    /// flat row-major positions `pos`, one position per element; differentiable in both,
    /// like `index_put`. The bindings write a view into its base through this
    /// (NOTE [views and in-place writes] in lucid-python). A position past the end, a
    /// count that differs from the values' or a repeated position (a write through a
    /// broadcast view, whose result would depend on the order) is an error.
    pub fn overwrite_at(&self, op: &'static str, pos: &[usize], values: &Tensor) -> Result<Tensor> {
        expect_same_dtype(op, "values", self, values)?;
        if pos.len() != values.numel() {
            return Err(Error::shape(
                op,
                format!("{} positions for {} values of shape {:?}", pos.len(), values.numel(), values.shape()),
            ));
        }
        let n = self.numel();
        let mut seen = vec![false; n];
        for &q in pos {
            if q >= n {
                return Err(Error::index(op, format!("position {q} is out of bounds for {n} elements")));
            }
            if std::mem::replace(&mut seen[q], true) {
                return Err(Error::graph(
                    op,
                    "more than one element of the written-to tensor refers to the same element of its base (a broadcast view); clone() it before writing",
                ));
            }
        }
        self.overwrite(op, values, pos)
    }

    /// `self` with the elements of `values` (row-major) written at the flat positions
    /// `pos`; the last write to a position wins. `where(written, placed, self)` with
    /// `placed` built by a take of the winners and a put, so it is differentiable.
    fn overwrite(&self, op: &'static str, values: &Tensor, pos: &[usize]) -> Result<Tensor> {
        let n = self.numel();
        let mut winner = vec![usize::MAX; n];
        for (k, &q) in pos.iter().enumerate() {
            winner[q] = k;
        }
        let (targets, ks): (Vec<usize>, Vec<usize>) =
            winner.iter().enumerate().filter(|(_, &k)| k != usize::MAX).map(|(q, &k)| (q, k)).unzip();
        let m = [targets.len()];
        let mut mask = vec![false; n];
        for &q in &targets {
            mask[q] = true;
        }
        let picked = take(values, &Positions::new(op, ks, values.shape(), &m)?)?;
        let placed = put(&picked, &Positions::new(op, targets, self.shape(), &m)?)?;
        let mask = ArcArray::from_shape_vec(IxDyn(self.shape()), mask).map_err(|e| Error::shape(op, e.to_string()))?;
        where_(&Tensor::from_storage(Storage::Bool(mask)), &placed, self)
    }

    /// `x[items]` with at least one tensor item: NumPy advanced indexing, a copy.
    pub(crate) fn index_advanced(&self, items: &[IndexItem]) -> Result<Tensor> {
        // leading full slices stay leading dims of the gather (`x[:, idx]`)
        let (lead, shape, pos) = resolve_take(items, self.shape())?;
        take(self, &Positions::new("index", pos, &self.shape()[lead..], &shape)?)
    }

    /// A copy of `self` with `value` (broadcast, cast to this dtype) written at
    /// `items` (advanced indexing); not differentiable, for `__setitem__`.
    pub(crate) fn index_assign_advanced(&self, items: &[IndexItem], value: &Tensor) -> Result<Tensor> {
        let (shape, pos) = resolve_positions(items, self.shape())?;
        if broadcast_fits(value.shape(), &shape).is_none() {
            return Err(Error::shape(
                "setitem",
                format!("value of shape {:?} cannot be broadcast to the indexed shape {shape:?}", value.shape()),
            ));
        }
        let value = value.detach().to_dtype(self.dtype())?.expand(&shape)?;
        self.detach().overwrite("setitem", &value, &pos)
    }
}

/// `Some(())` when `from` broadcasts to exactly `to`.
fn broadcast_fits(from: &[usize], to: &[usize]) -> Option<()> {
    match crate::shape::broadcast_shapes("index_put", from, to) {
        Ok(s) if s == to => Some(()),
        _ => None,
    }
}

/// The dtype check shared with the bindings: index tensors must be int64 or bool.
pub fn check_index_dtype(op: &'static str, t: &Tensor) -> Result<()> {
    match t.dtype() {
        DType::I64 | DType::Bool => Ok(()),
        other => Err(Error::index(op, format!("tensors used as indices must be int64 or bool, got {other}"))),
    }
}

/// A sort key with NaN above every number (and equal to itself), so the order is total.
#[derive(Clone, Copy)]
struct Key(f64);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        match (self.0.is_nan(), other.0.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => self.0.partial_cmp(&other.0).unwrap_or(std::cmp::Ordering::Equal),
        }
    }
}

/// Row-major sort keys of `t`'s elements: floats as they are, int64 and bool as
/// integers, so every value keeps its order (f64 would merge integers above 2^53).
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum SortKey {
    Float(Key),
    Int(i64),
}

fn sort_keys(t: &Tensor) -> Vec<SortKey> {
    match t.storage() {
        Storage::I64(a) => a.iter().map(|&v| SortKey::Int(v)).collect(),
        Storage::Bool(a) => a.iter().map(|&v| SortKey::Int(i64::from(v))).collect(),
        _ => t.to_f64_vec().into_iter().map(|v| SortKey::Float(Key(v))).collect(),
    }
}
