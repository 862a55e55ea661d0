//! Basic indexing (ints, slices with steps, new axes, ellipsis) as views, and its
//! adjoint, scattering a cotangent into zeros.
//!
//! `Slice` and `SliceBackward` are each other's VJP, so indexing is differentiable to
//! any order. Both take any number of leading batch dims: the items apply to the
//! trailing dims and full ranges are prepended for the rest.

use ndarray::{IxDyn, SliceInfo, SliceInfoElem};

use crate::autograd::{Op, Rule};
use crate::dtype::Storage;
use crate::error::{Error, Result};
use crate::map_storage;
use crate::tensor::Tensor;

/// One entry of an index expression, as a user writes it (`x[1, ::2, None, ...]`).
#[derive(Debug, Clone, PartialEq)]
pub enum IndexItem {
    Int(isize),
    Slice { start: Option<isize>, stop: Option<isize>, step: isize },
    NewAxis,
    Ellipsis,
}

/// An index entry resolved against a shape: in range, Python slice semantics applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    Index(usize),
    /// `len` elements `start, start + step, …`
    Range { start: usize, step: isize, len: usize },
    NewAxis,
}

#[derive(Debug, Clone)]
pub enum IndexOp {
    Slice { items: Vec<Resolved> },
    /// Scatter into zeros of `shape` at `items` (the adjoint of `Slice`).
    SliceBackward { items: Vec<Resolved>, shape: Vec<usize> },
}

impl Rule for IndexOp {
    fn name(&self) -> &'static str {
        match self {
            IndexOp::Slice { .. } => "index",
            IndexOp::SliceBackward { .. } => "index_backward",
        }
    }

    fn vjp(&self, inputs: &[Tensor], _out: &Tensor, g: &Tensor, _batch: usize, _needs: &[bool]) -> Result<Vec<Option<Tensor>>> {
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
            IndexItem::Int(i) => {
                let n = shape[dim] as isize;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(Error::index(
                        "index",
                        format!("index {i} is out of bounds for dim {dim} with size {n}"),
                    ));
                }
                out.push(Resolved::Index(j as usize));
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
                if step > 0 { v.clamp(0, n) } else { v.clamp(-1, n - 1) }
            }
        }
    };
    let (s, e) = if step > 0 { (clamp(start, 0), clamp(stop, n)) } else { (clamp(start, n - 1), clamp(stop, -1)) };
    let len = if step > 0 {
        if e > s { (e - s + step - 1) / step } else { 0 }
    } else if s > e {
        (s - e + (-step) - 1) / (-step)
    } else {
        0
    };
    Ok(Resolved::Range { start: if len == 0 { 0 } else { s as usize }, step, len: len as usize })
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
fn slice_resolved(t: &Tensor, items: &[Resolved], lead: usize) -> Result<Tensor> {
    let info = to_ndarray(items, lead)?;
    let data = map_storage!(t.storage(), |a| a.clone().slice_move(info.clone()));
    Ok(Tensor::from_op(data, Op::Index(IndexOp::Slice { items: items.to_vec() }), vec![t.clone()]))
}

/// Zeros of `lead_dims(g) + shape` with `g` written at `items`.
fn slice_backward(g: &Tensor, items: &[Resolved], shape: &[usize], lead: usize) -> Result<Tensor> {
    let mut full: Vec<usize> = g.shape()[..lead].to_vec();
    full.extend_from_slice(shape);
    let info = to_ndarray(items, lead)?;
    let mut z = Storage::zeros(g.dtype(), &full);
    macro_rules! put {
        ($z:expr, $a:expr) => {{
            let mut zm = $z.view_mut();
            let mut target = zm.slice_mut(info.clone());
            if target.shape() != $a.shape() {
                return Err(Error::shape("index_backward", format!("cotangent {:?} does not fit slice {:?}", $a.shape(), target.shape())));
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
    Ok(Tensor::from_op(z, Op::Index(op), vec![g.clone()]))
}

impl Tensor {
    /// `x[items]` with NumPy basic-indexing semantics; the result is a view.
    pub fn index(&self, items: &[IndexItem]) -> Result<Tensor> {
        let resolved = resolve(items, self.shape())?;
        slice_resolved(self, &resolved, 0)
    }

    /// `len` elements of `dim` starting at `start`.
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Tensor> {
        let d = crate::shape::normalize_axis("narrow", dim, self.ndim())?;
        if start + len > self.shape()[d] {
            return Err(Error::index(
                "narrow",
                format!("range {start}..{} is out of bounds for dim {d} with size {}", start + len, self.shape()[d]),
            ));
        }
        let mut items: Vec<Resolved> = self.shape().iter().map(|&n| Resolved::Range { start: 0, step: 1, len: n }).collect();
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
        let resolved = resolve(items, self.shape())?;
        let info = to_ndarray(&resolved, 0)?;
        let value = value.to_dtype(self.dtype())?;
        let mut data = self.storage().clone();
        macro_rules! put {
            ($z:expr, $v:expr) => {{
                let mut zm = $z.view_mut();
                let mut target = zm.slice_mut(info.clone());
                let src = $v.broadcast(target.raw_dim()).ok_or_else(|| {
                    Error::shape("setitem", format!("value of shape {:?} cannot be broadcast to the indexed shape {:?}", $v.shape(), target.shape()))
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
