//! Indexing. Basic indexing (ints, slices with steps, new axes, ellipsis) makes views,
//! with its adjoint scattering a cotangent into zeros; `Slice` and `SliceBackward` are
//! each other's VJP, so it is differentiable to any order. Both take any number of
//! leading batch dims: the items apply to the trailing dims and full ranges are
//! prepended for the rest.
//!
//! Advanced indexing (int64 tensors, bool masks) resolves the whole index expression
//! to flat positions here (`resolve_positions`, NumPy's rules) and reads them with the
//! gather family's `Take` (ops/gather.rs).

use ndarray::{ArcArray, IxDyn, SliceInfo, SliceInfoElem};

use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::map_storage;
pub use crate::structure::Resolved;
use crate::structure::{Move, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

/// One entry of an index expression, as a user writes it (`x[1, ::2, None, ..., idx]`).
#[derive(Debug, Clone)]
pub enum IndexItem {
    /// An integer: picks one entry and removes the dim (negative counts from the end).
    Int(isize),
    /// `start:stop:step` over one dim (`None` bounds take the whole range in `step`'s
    /// direction, as in Python).
    Slice {
        /// The first entry (`None`: the start for a positive step, the end for a negative one).
        start: Option<isize>,
        /// The entry to stop before (`None`: past the last entry in `step`'s direction).
        stop: Option<isize>,
        /// The stride; negative walks backwards; zero is an `Argument` error.
        step: isize,
    },
    /// `None` in Python: inserts a dim of size 1.
    NewAxis,
    /// `...`: as many full slices as the other items leave dims.
    Ellipsis,
    /// An int64 tensor (picks entries of one dim; negative values count from the end)
    /// or a bool mask over one or more dims (picks the entries where it is true).
    Tensor(Tensor),
}

impl IndexItem {
    /// `:`, the whole dim.
    pub fn full() -> IndexItem {
        IndexItem::Slice { start: None, stop: None, step: 1 }
    }
}

impl PartialEq for IndexItem {
    /// Tensor items are equal when they are the same tensor.
    fn eq(&self, other: &IndexItem) -> bool {
        use IndexItem::*;
        match (self, other) {
            (Int(a), Int(b)) => a == b,
            (Slice { start: a, stop: b, step: c }, Slice { start: d, stop: e, step: f }) => (a, b, c) == (d, e, f),
            (NewAxis, NewAxis) | (Ellipsis, Ellipsis) => true,
            (Tensor(a), Tensor(b)) => a.same(b),
            _ => false,
        }
    }
}

/// Basic indexing (ints, slices, new axes) as a recorded op, and its adjoint.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum IndexOp {
    /// The window `x[items]`: a view of the input's elements.
    Slice {
        /// The index items resolved against the input's shape (no negative or open bounds).
        items: Vec<Resolved>,
    },
    /// Scatter into zeros of `shape` at `items` (the adjoint of `Slice`).
    SliceBackward {
        /// The items of the `Slice` this op is the adjoint of.
        items: Vec<Resolved>,
        /// The shape of the sliced tensor, which the result has.
        shape: Vec<usize>,
    },
}

impl Rule for IndexOp {
    // Basic indexing already takes leading dims (full ranges are prepended for them).
    fn batch(&self, inputs: &[Tensor], _batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        self.replay(inputs, shape, dtype).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        let x = &inputs[0];
        match self {
            IndexOp::Slice { items } => slice_resolved(x, items, x.ndim() - resolved_in_dims(items)),
            IndexOp::SliceBackward { items, shape } => {
                slice_backward(x, items, shape, x.ndim() - resolved_out_dims(items))
            }
        }
    }

    fn structure(&self) -> Structure<'_> {
        match self {
            IndexOp::Slice { items } => Structure::Moves(Move::Window(items)),
            IndexOp::SliceBackward { items, .. } => Structure::Moves(Move::Embed(items)),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            IndexOp::Slice { .. } => "index",
            IndexOp::SliceBackward { .. } => "index_backward",
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        _out: &Tensor,
        g: &Tensor,
        _batch: usize,
        _needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let gx = match self {
            IndexOp::Slice { items } => {
                let x = &inputs[0];
                let lead = x.ndim() - resolved_in_dims(items);
                let shape = x.shape()[lead..].to_vec();
                // g = batch + x.shape[..lead] + sliced dims
                slice_backward(g, items, &shape, g.ndim() - resolved_out_dims(items))?
            }
            IndexOp::SliceBackward { items, shape } => slice_resolved(g, items, g.ndim() - shape.len())?,
        };
        Ok(vec![Some(gx)])
    }

    // Both ops are linear, so the JVP applies the same op to the tangent; the items act
    // on the trailing dims and everything in front (batch included) passes through.
    fn jvp(
        &self,
        _inputs: &[Tensor],
        _out: &Tensor,
        tangents: &[Option<Tensor>],
        _batch: usize,
    ) -> Result<Option<Tensor>> {
        let Some(t) = &tangents[0] else { return Ok(None) };
        Ok(Some(match self {
            // d x[items] = dx[items]
            IndexOp::Slice { items } => slice_resolved(t, items, t.ndim() - resolved_in_dims(items))?,
            // d scatter(g into zeros at items) = scatter(dg into zeros at items)
            IndexOp::SliceBackward { items, shape } => {
                slice_backward(t, items, shape, t.ndim() - resolved_out_dims(items))?
            }
        }))
    }
}

fn resolved_in_dims(items: &[Resolved]) -> usize {
    items.iter().filter(|r| !matches!(r, Resolved::NewAxis)).count()
}

fn resolved_out_dims(items: &[Resolved]) -> usize {
    items.iter().filter(|r| !matches!(r, Resolved::Index(_))).count()
}

/// Resolve user items against `shape` (Python semantics; out-of-range ints are errors).
pub fn resolve(items: &[IndexItem], shape: &[usize]) -> Result<Vec<Resolved>> {
    let ellipses = items.iter().filter(|i| matches!(i, IndexItem::Ellipsis)).count();
    if ellipses > 1 {
        return Err(Error::index("index", "an index can only have a single ellipsis ('...')"));
    }
    let consumed = items.iter().filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. })).count();
    if consumed > shape.len() {
        return Err(Error::index(
            "index",
            format!("too many indices for tensor of dimension {} (shape {shape:?})", shape.len()),
        ));
    }
    let mut out = Vec::new();
    let mut dim = 0;
    for item in items {
        match *item {
            IndexItem::Tensor(_) => {
                return Err(Error::index("index", "internal: tensor items take the advanced path"));
            }
            IndexItem::Int(i) => {
                out.push(Resolved::Index(wrap_index(i as i64, dim, shape[dim])?));
                dim += 1;
            }
            IndexItem::Slice { start, stop, step } => {
                out.push(resolve_slice(start, stop, step, shape[dim])?);
                dim += 1;
            }
            IndexItem::NewAxis => out.push(Resolved::NewAxis),
            IndexItem::Ellipsis => {
                for _ in 0..shape.len() - consumed {
                    out.push(Resolved::Range { start: 0, step: 1, len: shape[dim] });
                    dim += 1;
                }
            }
        }
    }
    while dim < shape.len() {
        out.push(Resolved::Range { start: 0, step: 1, len: shape[dim] });
        dim += 1;
    }
    Ok(out)
}

/// Python's `slice.indices` followed by the element count.
fn resolve_slice(start: Option<isize>, stop: Option<isize>, step: isize, n: usize) -> Result<Resolved> {
    if step == 0 {
        return Err(Error::argument("index", "slice step cannot be zero"));
    }
    let n = n as isize;
    let clamp = |v: Option<isize>, default: isize| -> isize {
        match v {
            None => default,
            Some(v) => {
                let v = if v < 0 { v + n } else { v };
                if step > 0 {
                    v.clamp(0, n)
                } else {
                    v.clamp(-1, n - 1)
                }
            }
        }
    };
    let (s, e) = if step > 0 { (clamp(start, 0), clamp(stop, n)) } else { (clamp(start, n - 1), clamp(stop, -1)) };
    // ceil(distance / |step|) as (distance - 1) / |step| + 1: no `+ step` that could
    // overflow for a step near isize::MAX, and |isize::MIN| taken in usize
    let count = |distance: isize| (distance as usize - 1) / step.unsigned_abs() + 1;
    let len = if step > 0 && e > s {
        count(e - s)
    } else if step < 0 && s > e {
        count(s - e)
    } else {
        0
    };
    Ok(Resolved::Range { start: if len == 0 { 0 } else { s as usize }, step, len })
}

fn to_ndarray(items: &[Resolved], lead: usize) -> Result<SliceInfo<Vec<SliceInfoElem>, IxDyn, IxDyn>> {
    let mut v: Vec<SliceInfoElem> = (0..lead).map(|_| SliceInfoElem::Slice { start: 0, end: None, step: 1 }).collect();
    for r in items {
        v.push(match *r {
            Resolved::Index(i) => SliceInfoElem::Index(i as isize),
            Resolved::NewAxis => SliceInfoElem::NewAxis,
            Resolved::Range { len: 0, .. } => SliceInfoElem::Slice { start: 0, end: Some(0), step: 1 },
            Resolved::Range { start, step, len } => {
                let s = start as isize;
                let last = s + (len as isize - 1) * step;
                if step > 0 {
                    SliceInfoElem::Slice { start: s, end: Some(last + 1), step }
                } else {
                    // ndarray walks a negative step from the end of [last, s] backwards
                    SliceInfoElem::Slice { start: last, end: Some(s + 1), step }
                }
            }
        });
    }
    SliceInfo::try_from(v).map_err(|e| Error::index("index", e.to_string()))
}

/// Apply resolved items to the trailing dims of `t`, with `lead` leading dims untouched.
pub(crate) fn slice_resolved(t: &Tensor, items: &[Resolved], lead: usize) -> Result<Tensor> {
    let info = to_ndarray(items, lead)?;
    let data = map_storage!(t.storage(), |a| a.clone().slice_move(info.clone()));
    Ok(Tensor::from_op(data, IndexOp::Slice { items: items.to_vec() }, vec![t.clone()]))
}

/// Zeros of `lead_dims(g) + shape` with `g` written at `items`.
fn slice_backward(g: &Tensor, items: &[Resolved], shape: &[usize], lead: usize) -> Result<Tensor> {
    let mut full: Vec<usize> = g.shape()[..lead].to_vec();
    full.extend_from_slice(shape);
    let info = to_ndarray(items, lead)?;
    // the cotangent's batch prefix times the input's shape: checked, as the two multiply
    let mut z = Storage::try_full("index_backward", g.dtype(), &full, 0.0)?;
    macro_rules! put {
        ($z:expr, $a:expr) => {{
            let mut zm = $z.view_mut();
            let mut target = zm.slice_mut(info.clone());
            if target.shape() != $a.shape() {
                return Err(Error::shape(
                    "index_backward",
                    format!("cotangent {:?} does not fit slice {:?}", $a.shape(), target.shape()),
                ));
            }
            target.assign($a);
        }};
    }
    match (&mut z, g.storage()) {
        (Storage::F32(z), Storage::F32(a)) => put!(z, a),
        (Storage::F64(z), Storage::F64(a)) => put!(z, a),
        _ => return Err(Error::dtype("index_backward", format!("cotangent has dtype {}", g.dtype()))),
    }
    let op = IndexOp::SliceBackward { items: items.to_vec(), shape: shape.to_vec() };
    Ok(Tensor::from_op(z, op, vec![g.clone()]))
}

impl Tensor {
    /// `x[items]` with NumPy semantics: basic items give a view; with tensor items
    /// (advanced indexing) the result is a copy and differentiable through a gather.
    ///
    /// ```
    /// use lucid_core::{IndexItem, Tensor, DType};
    /// let x = Tensor::arange(0.0, 6.0, 1.0, DType::F64).unwrap().reshape(&[2, 3]).unwrap();
    /// let i = Tensor::from_vec(vec![2.0, -3.0], &[2], DType::I64).unwrap();
    /// let y = x.index(&[IndexItem::full(), IndexItem::Tensor(i)]).unwrap();
    /// assert_eq!(y.to_f64_vec(), vec![2.0, 0.0, 5.0, 3.0]);
    /// ```
    pub fn index(&self, items: &[IndexItem]) -> Result<Tensor> {
        if items.iter().any(|i| matches!(i, IndexItem::Tensor(_))) {
            return self.index_advanced(items);
        }
        let resolved = resolve(items, self.shape())?;
        slice_resolved(self, &resolved, 0)
    }

    /// `len` elements of `dim` starting at `start`.
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Err(Error::shape("narrow", "cannot be applied to a 0-d tensor"));
        }
        let d = crate::shape::normalize_axis("narrow", dim, self.ndim())?;
        let n = self.shape()[d];
        if start.checked_add(len).is_none_or(|end| end > n) {
            return Err(Error::index(
                "narrow",
                // the end in u128, which holds the sum of any two usizes
                format!("range {start}..{} is out of bounds for dim {d} with size {n}", start as u128 + len as u128),
            ));
        }
        let mut items: Vec<Resolved> =
            self.shape().iter().map(|&n| Resolved::Range { start: 0, step: 1, len: n }).collect();
        items[d] = Resolved::Range { start, step: 1, len };
        slice_resolved(self, &items, 0)
    }

    /// Element `i` of `dim`, which is removed.
    pub fn select(&self, dim: isize, i: isize) -> Result<Tensor> {
        let d = crate::shape::normalize_axis("select", dim, self.ndim())?;
        let mut items: Vec<IndexItem> = (0..d).map(|_| IndexItem::Slice { start: None, stop: None, step: 1 }).collect();
        items.push(IndexItem::Int(i));
        self.index(&items)
    }
}

impl Tensor {
    /// A copy of this tensor with `value` (broadcast) written at `items`. Not
    /// differentiable: the bindings use it for `__setitem__` on tensors outside a graph.
    pub fn index_assign(&self, items: &[IndexItem], value: &Tensor) -> Result<Tensor> {
        if items.iter().any(|i| matches!(i, IndexItem::Tensor(_))) {
            return self.index_assign_advanced(items, value);
        }
        // written in place of a copy: a tape could not replay it (the advanced form above
        // is built from gathers and `where`, which it can)
        crate::tensor::recording::note_untraceable("setitem on a value computed from the inputs", &[self, value]);
        let resolved = resolve(items, self.shape())?;
        let info = to_ndarray(&resolved, 0)?;
        let value = value.to_dtype(self.dtype())?;
        let mut data = self.storage().clone();
        macro_rules! put {
            ($z:expr, $v:expr) => {{
                let mut zm = $z.view_mut();
                let mut target = zm.slice_mut(info.clone());
                let src = $v.broadcast(target.raw_dim()).ok_or_else(|| {
                    Error::shape(
                        "setitem",
                        format!(
                            "value of shape {:?} cannot be broadcast to the indexed shape {:?}",
                            $v.shape(),
                            target.shape()
                        ),
                    )
                })?;
                target.assign(&src);
            }};
        }
        match (&mut data, value.storage()) {
            (Storage::F32(z), Storage::F32(v)) => put!(z, v),
            (Storage::F64(z), Storage::F64(v)) => put!(z, v),
            (Storage::I64(z), Storage::I64(v)) => put!(z, v),
            (Storage::Bool(z), Storage::Bool(v)) => put!(z, v),
            _ => return Err(Error::dtype("setitem", "mismatched dtypes")),
        }
        Ok(Tensor::from_storage(data))
    }
}

/// `i` in `-n..n` as a position in `0..n` (negative counts from the end).
fn wrap_index(i: i64, dim: usize, n: usize) -> Result<usize> {
    let n = n as i64;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return Err(Error::index("index", format!("index {i} is out of bounds for dim {dim} with size {n}")));
    }
    Ok(j as usize)
}

/// One entry of an index expression resolved for position arithmetic.
enum Part {
    /// `len` entries `start + step·i` of input dim `dim` (one output dim).
    Range {
        dim: usize,
        start: usize,
        step: isize,
        len: usize,
    },
    /// One entry of input dim `dim` (no output dim).
    Fixed {
        dim: usize,
        at: usize,
    },
    NewAxis,
    /// Advanced: index arrays for some input dims, all broadcast together with the
    /// other advanced parts to one shape.
    Adv {
        picks: Vec<Pick>,
        shape: Vec<usize>,
    },
}

/// The entries of input dim `dim` an index array picks: `at` in row-major order of
/// `shape`, each in range and non-negative.
struct Pick {
    dim: usize,
    at: Vec<usize>,
    shape: Vec<usize>,
}

/// A contiguous row-major copy (or view) of an index tensor's values.
fn row_major_values<T: Clone>(a: &ArcArray<T, IxDyn>) -> Result<std::borrow::Cow<'_, [T]>> {
    if let Some(s) = a.as_slice() {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    let std = a.as_standard_layout();
    let s = std.as_slice().ok_or_else(|| Error::index("index", "internal: non-contiguous index copy"))?;
    Ok(std::borrow::Cow::Owned(s.to_vec()))
}

/// Output shape and flat row-major positions into `shape` of `x[items]` under NumPy's
/// indexing rules:
/// - int64 tensors, bool masks and (when any tensor is present) ints are advanced
///   indices: they broadcast together to one shape R;
/// - a bool mask over k dims acts as its k nonzero-coordinate arrays (a 0-d mask adds
///   a dim of length 1 or 0);
/// - R replaces the indexed dims in place when the advanced entries are adjacent in the
///   expression, and goes first otherwise; slices, None and Ellipsis keep their dims.
pub(crate) fn resolve_positions(items: &[IndexItem], shape: &[usize]) -> Result<(Vec<usize>, Vec<usize>)> {
    let parts = parts_of(items, shape)?;
    positions_of(&parts, shape, 0)
}

/// [`resolve_positions`] for a read `x[items]`: the full slices in front of the
/// advanced entries (`x[:, idx]`, `x[..., idx]`) stay leading dims of the gather, which
/// passes them through, instead of being spelled out in the positions (a tangent batch
/// gathered by `t[:, idx]` then needs positions for one tangent, not all of them).
/// Returns those `lead` dims, the output's shape after them and the positions into
/// `shape[lead..]`.
pub(crate) fn resolve_take(items: &[IndexItem], shape: &[usize]) -> Result<(usize, Vec<usize>, Vec<usize>)> {
    let parts = parts_of(items, shape)?;
    let adv_at: Vec<usize> = (0..parts.len()).filter(|&i| matches!(parts[i], Part::Adv { .. })).collect();
    let adjacent = adv_at.windows(2).all(|w| w[1] == w[0] + 1);
    // non-adjacent advanced entries move R to the front, past any leading slices
    let lead = match adv_at.first() {
        Some(&first) if adjacent => parts[..first]
            .iter()
            .enumerate()
            .take_while(
                |&(i, p)| matches!(*p, Part::Range { dim, start: 0, step: 1, len } if dim == i && len == shape[dim]),
            )
            .count(),
        _ => 0,
    };
    let (out, pos) = positions_of(&parts[lead..], shape, lead)?;
    Ok((lead, out, pos))
}

/// The items of an index expression as [`Part`]s over the dims of `shape`.
fn parts_of(items: &[IndexItem], shape: &[usize]) -> Result<Vec<Part>> {
    let advanced = items.iter().any(|i| matches!(i, IndexItem::Tensor(_)));
    for item in items {
        if let IndexItem::Tensor(t) = item {
            // its values become positions: a tape keeps them as a guard
            crate::tensor::recording::note_escape(t);
        }
    }
    if items.iter().filter(|i| matches!(i, IndexItem::Ellipsis)).count() > 1 {
        return Err(Error::index("index", "an index can only have a single ellipsis ('...')"));
    }
    let consumes = |i: &IndexItem| match i {
        IndexItem::Int(_) | IndexItem::Slice { .. } => 1,
        IndexItem::NewAxis | IndexItem::Ellipsis => 0,
        IndexItem::Tensor(t) if t.dtype() == crate::dtype::DType::Bool => t.ndim(),
        IndexItem::Tensor(_) => 1,
    };
    let consumed: usize = items.iter().map(consumes).sum();
    if consumed > shape.len() {
        return Err(Error::index(
            "index",
            format!("too many indices for tensor of dimension {} (shape {shape:?})", shape.len()),
        ));
    }

    let mut parts = Vec::with_capacity(items.len());
    let mut dim = 0;
    let full = |dim: usize| Part::Range { dim, start: 0, step: 1, len: shape[dim] };
    for item in items {
        match item {
            IndexItem::Int(i) => {
                let at = wrap_index(*i as i64, dim, shape[dim])?;
                parts.push(if advanced {
                    Part::Adv { picks: vec![Pick { dim, at: vec![at], shape: vec![] }], shape: vec![] }
                } else {
                    Part::Fixed { dim, at }
                });
                dim += 1;
            }
            IndexItem::Slice { start, stop, step } => {
                if let Resolved::Range { start, step, len } = resolve_slice(*start, *stop, *step, shape[dim])? {
                    parts.push(Part::Range { dim, start, step, len });
                }
                dim += 1;
            }
            IndexItem::NewAxis => parts.push(Part::NewAxis),
            IndexItem::Ellipsis => {
                for _ in 0..shape.len() - consumed {
                    parts.push(full(dim));
                    dim += 1;
                }
            }
            IndexItem::Tensor(t) => match t.storage() {
                Storage::I64(a) => {
                    let n = shape[dim];
                    let values = row_major_values(a)?;
                    // checked in one pass, then wrapped in another: both loops vectorise
                    let n64 = n as i64;
                    if let Some(&bad) = values.iter().find(|&&v| v < -n64 || v >= n64) {
                        wrap_index(bad, dim, n)?; // the error naming it
                    }
                    let at: Vec<usize> = values.iter().map(|&v| (if v < 0 { v + n64 } else { v }) as usize).collect();
                    parts.push(Part::Adv {
                        picks: vec![Pick { dim, at, shape: a.shape().to_vec() }],
                        shape: a.shape().to_vec(),
                    });
                    dim += 1;
                }
                Storage::Bool(m) => {
                    let k = m.ndim();
                    if m.shape() != &shape[dim..dim + k] {
                        return Err(Error::index(
                            "index",
                            format!(
                                "the shape {:?} of the mask does not match the shape {:?} of the indexed tensor at dims {dim}..{}",
                                m.shape(),
                                &shape[dim..dim + k],
                                dim + k
                            ),
                        ));
                    }
                    // the coordinates of each true element, row-major, one list per mask dim
                    let mst = crate::ops::gather::strides(m.shape());
                    let mut coords: Vec<Vec<usize>> = vec![Vec::new(); k];
                    for (f, _) in row_major_values(m)?.iter().enumerate().filter(|(_, &b)| b) {
                        for (j, c) in coords.iter_mut().enumerate() {
                            c.push((f / mst[j]) % m.shape()[j]);
                        }
                    }
                    let nnz = if k == 0 { usize::from(m.iter().any(|&b| b)) } else { coords[0].len() };
                    let picks = coords
                        .into_iter()
                        .enumerate()
                        .map(|(j, at)| Pick { dim: dim + j, at, shape: vec![nnz] })
                        .collect();
                    parts.push(Part::Adv { picks, shape: vec![nnz] });
                    dim += k;
                }
                other => {
                    return Err(Error::index(
                        "index",
                        format!("tensors used as indices must be int64 or bool tensors, got {}", other.dtype()),
                    ))
                }
            },
        }
    }
    while dim < shape.len() {
        parts.push(full(dim));
        dim += 1;
    }
    Ok(parts)
}

/// Every `p + o` for `p` in `acc` and `o` in `offs`, `acc` outer (row-major): the flat
/// positions of the output dims so far followed by one more dim (or block of dims)
/// whose own offsets are `offs`. Positions are sums of per-dim offsets, so a chain of
/// these builds them in one pass per dim, with no multi-dim iteration.
pub(crate) fn outer_add(acc: Vec<usize>, offs: &[usize]) -> Vec<usize> {
    match offs {
        [0] => acc,
        [o] => acc.into_iter().map(|p| p + o).collect(),
        _ => {
            let mut out = vec![0; acc.len() * offs.len()];
            for (chunk, p) in out.chunks_exact_mut(offs.len().max(1)).zip(acc) {
                chunk.iter_mut().zip(offs).for_each(|(q, &o)| *q = p + o);
            }
            out
        }
    }
}

/// For each element of `r` (row-major), the flat index of the element of `s` (which
/// broadcasts to `r`, aligned on the right) it reads.
fn broadcast_source(s: &[usize], r: &[usize]) -> Vec<usize> {
    let lead = r.len() - s.len();
    let st = crate::ops::gather::strides(s);
    r.iter().enumerate().fold(vec![0], |idx, (d, &n)| {
        let step = if d < lead || s[d - lead] == 1 { 0 } else { st[d - lead] };
        outer_add(idx, &(0..n).map(|c| c * step).collect::<Vec<_>>())
    })
}

/// Lay out the output dims of resolved `parts` and sum each dim's offset contribution.
/// `parts` cover the dims `lead..` of `shape`; positions are into `shape[lead..]`.
fn positions_of(parts: &[Part], shape: &[usize], lead: usize) -> Result<(Vec<usize>, Vec<usize>)> {
    let strides = crate::ops::gather::strides(&shape[lead..]);
    let stride = |dim: usize| strides[dim - lead];
    let adv_at: Vec<usize> = (0..parts.len()).filter(|&i| matches!(parts[i], Part::Adv { .. })).collect();

    // The advanced block: broadcast shape R and the summed offsets over R.
    let mut r: Vec<usize> = Vec::new();
    for &i in &adv_at {
        if let Part::Adv { shape: s, .. } = &parts[i] {
            r = crate::shape::broadcast_shapes("index", &r, s).map_err(|_| {
                let shapes: Vec<String> = adv_at
                    .iter()
                    .filter_map(|&j| match &parts[j] {
                        Part::Adv { shape, .. } => Some(format!("{shape:?}")),
                        _ => None,
                    })
                    .collect();
                Error::index(
                    "index",
                    format!(
                        "shape mismatch: indexing tensors could not be broadcast together with shapes {}",
                        shapes.join(", ")
                    ),
                )
            })?;
        }
    }
    // positions (8 bytes each, as many as the result has elements) for a result whose
    // shape the index tensors decide: broadcasting two long ones can ask for any size
    crate::kernels::elementwise::ensure_allocatable::<i64>("index", &r)?;
    let mut adv = vec![0usize; r.iter().product()];
    for &i in &adv_at {
        if let Part::Adv { picks, .. } = &parts[i] {
            for p in picks {
                let s = stride(p.dim);
                if p.shape == r {
                    adv.iter_mut().zip(&p.at).for_each(|(a, &v)| *a += v * s);
                } else {
                    let from = broadcast_source(&p.shape, &r);
                    adv.iter_mut().zip(&from).for_each(|(a, &k)| *a += p.at[k] * s);
                }
            }
        }
    }
    let adjacent = adv_at.windows(2).all(|w| w[1] == w[0] + 1);
    let r_first = !adv_at.is_empty() && !adjacent;

    // Output dims in order, each with its offsets (the R block as one entry).
    let mut out_shape: Vec<usize> = Vec::new();
    let mut offsets: Vec<Vec<usize>> = Vec::new();
    let mut adv = (!adv_at.is_empty()).then_some(adv);
    let mut base = 0;
    if r_first {
        out_shape.extend_from_slice(&r);
        offsets.extend(adv.take());
    }
    for p in parts {
        match *p {
            Part::Range { dim, start, step, len } => {
                // start + step·k stays in 0..shape[dim] (resolve_slice), so never negative
                offsets.push((0..len).map(|k| (start as isize + step * k as isize) as usize * stride(dim)).collect());
                out_shape.push(len);
            }
            Part::Fixed { dim, at } => base += at * stride(dim),
            Part::NewAxis => out_shape.push(1),
            Part::Adv { .. } => {
                if let Some(adv) = adv.take() {
                    out_shape.extend_from_slice(&r);
                    offsets.push(adv);
                }
            }
        }
    }
    crate::kernels::elementwise::ensure_allocatable::<i64>("index", &out_shape)?;
    let pos = offsets.iter().fold(vec![base], |pos, offs| outer_add(pos, offs));
    Ok((out_shape, pos))
}
