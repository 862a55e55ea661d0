//! Diagonals and triangles: `diagonal`, its adjoint `diag_embed` (a scatter onto a
//! diagonal of zeros), `diag`, `trace`, `tril` and `triu`.
//!
//! `Diagonal` and `Scatter` are each other's VJP, and `tril`/`triu` are their own (a
//! mask is self-adjoint), so the family is differentiable to any order. All are
//! linear: each one's JVP is the op itself on the tangent. Each op stores
//! its dims relative to its own input or output; a rule shifts them by the batch rank.

use ndarray::{ArcArray, Array, Axis, IxDyn};

use super::LinalgOp;
use crate::dtype::{try_vec, DType};
use crate::error::{Error, Result};
use crate::kernels::elementwise::ensure_allocatable_as;
use crate::map_storage;
use crate::shape::normalize_axis;
use crate::structure::dependence::diag_geometry;
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

/// Ops that read or write diagonals and triangles of matrices: each moves elements
/// without arithmetic, so its VJP is its adjoint move (`Diagonal` ↔ `Scatter`, `Tri`
/// itself).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum DiagOp {
    /// Diagonal `offset` of the input's plane `(dim1, dim2)`, as a new last dim.
    Diagonal {
        /// Which diagonal: 0 the main one, > 0 above it, < 0 below.
        offset: isize,
        /// The first dim of the plane (non-negative).
        dim1: usize,
        /// The second dim of the plane (non-negative, not `dim1`).
        dim2: usize,
    },
    /// The input's last dim written on diagonal `offset` of the output's plane
    /// `(dim1, dim2)`, of sizes `(n1, n2)`, zeros elsewhere.
    Scatter {
        /// Which diagonal: 0 the main one, > 0 above it, < 0 below.
        offset: isize,
        /// The output dim of the plane's rows.
        dim1: usize,
        /// The output dim of the plane's columns.
        dim2: usize,
        /// The size of `dim1`.
        n1: usize,
        /// The size of `dim2`.
        n2: usize,
    },
    /// The lower (`upper == false`) or upper triangle of the last two dims, from
    /// diagonal `k` on; the rest zeroed.
    Tri {
        /// Keep the upper triangle (`triu`) rather than the lower (`tril`).
        upper: bool,
        /// The diagonal the triangle starts at (0 the main one, > 0 above it).
        k: isize,
    },
}

impl Rule for DiagOp {
    // The planes' dims shift past the batch dim; a triangle reads the last two dims.
    fn batch(&self, inputs: &[Tensor], _batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        let shifted = match *self {
            DiagOp::Diagonal { offset, dim1, dim2 } => DiagOp::Diagonal { offset, dim1: dim1 + 1, dim2: dim2 + 1 },
            DiagOp::Scatter { offset, dim1, dim2, n1, n2 } => {
                DiagOp::Scatter { offset, dim1: dim1 + 1, dim2: dim2 + 1, n1, n2 }
            }
            DiagOp::Tri { upper, k } => DiagOp::Tri { upper, k },
        };
        shifted.replay(inputs, shape, dtype).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        match *self {
            DiagOp::Diagonal { offset, dim1, dim2 } => diagonal(&inputs[0], offset, dim1, dim2),
            DiagOp::Scatter { offset, dim1, dim2, n1, n2 } => scatter(&inputs[0], offset, dim1, dim2, n1, n2),
            DiagOp::Tri { upper, k } => tri(&inputs[0], upper, k),
        }
    }

    // Diagonals are moves of elements, but no structured rule follows them yet.
    fn structure(&self) -> Structure<'_> {
        Structure::Unstructured(match *self {
            DiagOp::Diagonal { offset, dim1, dim2 } => Dependence::Diagonal { offset, dim1, dim2 },
            DiagOp::Scatter { offset, dim1, dim2, .. } => Dependence::DiagEmbed { offset, dim1, dim2 },
            DiagOp::Tri { upper, k } => Dependence::Triangle { upper, k },
        })
    }

    fn name(&self) -> &'static str {
        match self {
            DiagOp::Diagonal { .. } => "diagonal",
            DiagOp::Scatter { .. } => "diag_embed",
            DiagOp::Tri { upper: false, .. } => "tril",
            DiagOp::Tri { upper: true, .. } => "triu",
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        _out: &Tensor,
        g: &Tensor,
        batch: usize,
        _needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let gx = match *self {
            // reading a diagonal: the cotangent goes back onto that diagonal of zeros
            DiagOp::Diagonal { offset, dim1, dim2 } => {
                scatter(g, offset, batch + dim1, batch + dim2, x.shape()[dim1], x.shape()[dim2])?
            }
            // writing onto a diagonal: read the cotangent's diagonal back
            DiagOp::Scatter { offset, dim1, dim2, .. } => diagonal(g, offset, batch + dim1, batch + dim2)?,
            // a 0/1 mask is self-adjoint
            DiagOp::Tri { upper, k } => tri(g, upper, k)?,
        };
        Ok(vec![Some(gx)])
    }

    // Each op is linear, so its JVP is the op itself applied to the tangent, with its
    // dims shifted past the tangent's batch dims (`tri` works on the last two anyway).
    fn jvp(
        &self,
        _inputs: &[Tensor],
        _out: &Tensor,
        tangents: &[Option<Tensor>],
        batch: usize,
    ) -> Result<Option<Tensor>> {
        let Some(t) = &tangents[0] else { return Ok(None) };
        Ok(Some(match *self {
            // d diagonal(X) = diagonal(dX)
            DiagOp::Diagonal { offset, dim1, dim2 } => diagonal(t, offset, batch + dim1, batch + dim2)?,
            // d diag_embed(x) = diag_embed(dx)
            DiagOp::Scatter { offset, dim1, dim2, n1, n2 } => scatter(t, offset, batch + dim1, batch + dim2, n1, n2)?,
            // d tril(X) = tril(dX), likewise triu
            DiagOp::Tri { upper, k } => tri(t, upper, k)?,
        }))
    }
}

fn diagonal_kernel<T: Clone>(
    a: &ArcArray<T, IxDyn>,
    offset: isize,
    d1: usize,
    d2: usize,
) -> Result<ArcArray<T, IxDyn>> {
    let s = a.shape();
    let (len, r0, c0) = diag_geometry(s[d1], s[d2], offset);
    let mut shape: Vec<usize> = (0..s.len()).filter(|&i| i != d1 && i != d2).map(|i| s[i]).collect();
    let last = shape.len();
    if len == 0 {
        shape.push(0);
        return Array::from_shape_vec(IxDyn(&shape), vec![])
            .map(|a| a.into_shared())
            .map_err(|e| Error::shape("diagonal", e.to_string()));
    }
    let (hi, lo) = (d1.max(d2), d1.min(d2));
    let parts: Vec<_> = (0..len)
        .map(|k| {
            let (i1, i2) = (r0 + k, c0 + k);
            let (ihi, ilo) = if d1 > d2 { (i1, i2) } else { (i2, i1) };
            a.view().index_axis_move(Axis(hi), ihi).index_axis_move(Axis(lo), ilo).insert_axis(Axis(last))
        })
        .collect();
    ndarray::concatenate(Axis(last), &parts)
        .map(|a| a.into_shared())
        .map_err(|e| Error::shape("diagonal", e.to_string()))
}

fn scatter_kernel<T: Clone + Default>(
    g: &ArcArray<T, IxDyn>,
    offset: isize,
    d1: usize,
    d2: usize,
    n1: usize,
    n2: usize,
) -> Result<ArcArray<T, IxDyn>> {
    let gs = g.shape();
    let last = gs.len() - 1;
    let (len, r0, c0) = diag_geometry(n1, n2, offset);
    if gs[last] != len {
        return Err(Error::shape(
            "diag_embed",
            format!(
                "a diagonal of length {} does not fit diagonal {offset} of a {n1}x{n2} plane (length {len})",
                gs[last]
            ),
        ));
    }
    let (hi, lo) = (d1.max(d2), d1.min(d2));
    let shape = embedded_shape(&gs[..last], d1, d2, n1, n2);
    let mut zeros = try_vec::<T>("diag_embed", &shape)?;
    zeros.resize(shape.iter().product(), T::default()); // fits: `try_vec` checked it
    let mut out = Array::from_shape_vec(IxDyn(&shape), zeros).map_err(|e| Error::shape("diag_embed", e.to_string()))?;
    for k in 0..len {
        let (i1, i2) = (r0 + k, c0 + k);
        let (ihi, ilo) = if d1 > d2 { (i1, i2) } else { (i2, i1) };
        out.view_mut()
            .index_axis_move(Axis(hi), ihi)
            .index_axis_move(Axis(lo), ilo)
            .assign(&g.index_axis(Axis(last), k));
    }
    Ok(out.into_shared())
}

/// `lead` with the plane's dims inserted: `n1` at `d1` and `n2` at `d2` (dims of the result).
fn embedded_shape(lead: &[usize], d1: usize, d2: usize, n1: usize, n2: usize) -> Vec<usize> {
    let (hi, lo) = (d1.max(d2), d1.min(d2));
    let mut shape = lead.to_vec();
    shape.insert(lo, if d1 < d2 { n1 } else { n2 });
    shape.insert(hi, if d1 < d2 { n2 } else { n1 });
    shape
}

fn tri_kernel<T: Clone + Default>(a: &ArcArray<T, IxDyn>, upper: bool, k: isize) -> Result<ArcArray<T, IxDyn>> {
    let s = a.shape();
    let (m, n) = (s[s.len() - 2], s[s.len() - 1]);
    let data: Vec<T> = a
        .iter()
        .enumerate()
        .map(|(p, v)| {
            let (i, j) = (((p / n) % m) as isize, (p % n) as isize);
            let keep = if upper { j - i >= k } else { j - i <= k };
            if keep {
                v.clone()
            } else {
                T::default()
            }
        })
        .collect();
    Array::from_shape_vec(IxDyn(s), data).map(|a| a.into_shared()).map_err(|e| Error::shape("tril", e.to_string()))
}

/// `diagonal` on checked, non-negative dims.
fn diagonal(x: &Tensor, offset: isize, dim1: usize, dim2: usize) -> Result<Tensor> {
    let data = map_storage!(x.storage(), |a| diagonal_kernel(a, offset, dim1, dim2)?);
    Ok(Tensor::from_op(data, LinalgOp::Diag(DiagOp::Diagonal { offset, dim1, dim2 }), vec![x.clone()]))
}

/// The adjoint of `diagonal`, on checked, non-negative output dims.
fn scatter(x: &Tensor, offset: isize, dim1: usize, dim2: usize, n1: usize, n2: usize) -> Result<Tensor> {
    let data = map_storage!(x.storage(), |a| scatter_kernel(a, offset, dim1, dim2, n1, n2)?);
    let op = DiagOp::Scatter { offset, dim1, dim2, n1, n2 };
    Ok(Tensor::from_op(data, LinalgOp::Diag(op), vec![x.clone()]))
}

fn tri(x: &Tensor, upper: bool, k: isize) -> Result<Tensor> {
    let op = DiagOp::Tri { upper, k };
    if x.ndim() < 2 {
        return Err(Error::shape(
            op.name(),
            format!("needs a matrix or a batch of matrices (at least 2 dims), got shape {:?}", x.shape()),
        ));
    }
    let data = map_storage!(x.storage(), |a| tri_kernel(a, upper, k)?);
    Ok(Tensor::from_op(data, LinalgOp::Diag(op), vec![x.clone()]))
}

/// Two distinct dims of an `nd`-dim tensor.
fn plane(op: &'static str, dim1: isize, dim2: isize, nd: usize) -> Result<(usize, usize)> {
    let (d1, d2) = (normalize_axis(op, dim1, nd)?, normalize_axis(op, dim2, nd)?);
    if d1 == d2 {
        return Err(Error::argument(op, format!("dim1 and dim2 cannot be the same dim, got {dim1} and {dim2}")));
    }
    Ok((d1, d2))
}

impl Tensor {
    /// Diagonal `offset` (> 0 above the main diagonal) of the plane `(dim1, dim2)`,
    /// as a new last dim (PyTorch's `diagonal`; a copy).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3], DType::F64).unwrap();
    /// assert_eq!(a.diagonal(1, 0, 1).unwrap().to_f64_vec(), vec![1.0, 5.0]);
    /// ```
    pub fn diagonal(&self, offset: isize, dim1: isize, dim2: isize) -> Result<Tensor> {
        if self.ndim() < 2 {
            return Err(Error::shape("diagonal", format!("needs at least 2 dims, got shape {:?}", self.shape())));
        }
        let (d1, d2) = plane("diagonal", dim1, dim2, self.ndim())?;
        diagonal(self, offset, d1, d2)
    }

    /// A tensor whose plane `(dim1, dim2)` (dims of the result) holds the last dim of
    /// `self` on diagonal `offset`, zeros elsewhere (PyTorch's `diag_embed`).
    pub fn diag_embed(&self, offset: isize, dim1: isize, dim2: isize) -> Result<Tensor> {
        self.embed_diagonal("diag_embed", offset, dim1, dim2)
    }

    /// A vector to a square matrix with it on diagonal `k`, or a matrix's diagonal `k`
    /// as a vector (PyTorch's `diag`).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let v = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F64).unwrap();
    /// assert_eq!(v.diag(1).unwrap().shape(), &[3, 3]);
    /// // an offset whose matrix cannot be addressed is an error, not a crash
    /// assert!(v.diag(isize::MAX).unwrap_err().message().starts_with("diag: offset"));
    /// ```
    pub fn diag(&self, k: isize) -> Result<Tensor> {
        match self.ndim() {
            1 => self.embed_diagonal("diag", k, 0, 1),
            2 => diagonal(self, k, 0, 1),
            _ => Err(Error::shape("diag", format!("expected a 1-D or 2-D tensor, got shape {:?}", self.shape()))),
        }
    }

    /// `diag_embed` for `op`: the result's size is checked first, so an offset too
    /// large to address or allocate is an error naming `op` and the offset.
    fn embed_diagonal(&self, op: &'static str, offset: isize, dim1: isize, dim2: isize) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Err(Error::shape(op, "needs at least 1 dim, got a 0-d tensor"));
        }
        let (d1, d2) = plane(op, dim1, dim2, self.ndim() + 1)?;
        let len = self.shape()[self.ndim() - 1];
        let too_big =
            |why: String| Error::argument(op, format!("offset {offset} with a diagonal of length {len}: {why}"));
        let n = len.checked_add(offset.unsigned_abs()).ok_or_else(|| too_big("the matrix size overflows".into()))?;
        let shape = embedded_shape(&self.shape()[..self.ndim() - 1], d1, d2, n, n);
        ensure_allocatable_as(op, self.dtype(), &shape).map_err(|e| match e {
            Error::Argument { msg, .. } => too_big(msg),
            other => other,
        })?;
        scatter(self, offset, d1, d2, n, n)
    }

    /// Sum of the main diagonal of a matrix.
    pub fn trace(&self) -> Result<Tensor> {
        if self.ndim() != 2 {
            return Err(Error::shape("trace", format!("expected a matrix (2 dims), got shape {:?}", self.shape())));
        }
        diagonal(self, 0, 0, 1)?.sum(None, false)
    }

    /// The lower triangle of the last two dims from diagonal `k` down (zeros above).
    pub fn tril(&self, k: isize) -> Result<Tensor> {
        tri(self, false, k)
    }

    /// The upper triangle of the last two dims from diagonal `k` up (zeros below).
    pub fn triu(&self, k: isize) -> Result<Tensor> {
        tri(self, true, k)
    }
}
