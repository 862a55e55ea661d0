//! Shape ops: reshape, permute (transpose, `.T`, `.mT`), expand, squeeze/unsqueeze,
//! and the ops built from them and from slicing: flip, repeat, tile.
//!
//! Reshape and permute of contiguous data share the buffer. Their VJPs keep the
//! cotangent's batch prefix: reshape to `batch + x.shape`, permute by the inverse
//! permutation shifted by the batch rank. Expand's VJP is the identity: the sweep's
//! `Tensor::sum_to` sums the broadcast dims away. Flip is a slice with step -1 (a view);
//! repeat is reshape → expand → reshape, so its VJP sums the copies back.

use ndarray::IxDyn;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::elementwise::{ensure_allocatable_as, reshape_array};
use crate::map_storage;
use crate::ops::index::{slice_resolved, Resolved};
use crate::shape::{batched, broadcast_shapes, normalize_axes, normalize_axis};
use crate::structure::{Move, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
/// Ops that rearrange elements without arithmetic; the result shares the input's data
/// when it can. Each VJP is the inverse move of the cotangent.
pub enum ViewOp {
    /// The same elements in row-major order under the recorded output's shape.
    Reshape,
    /// `out.axis(i) = x.axis(perm[i])`
    Permute(Vec<usize>),
    /// Broadcast to the recorded output's shape (size-1 dims repeated, leading dims
    /// added); the VJP sums the cotangent back over the broadcast dims.
    Expand,
}

impl Rule for ViewOp {
    // A reshape keeps the batch dim in front, a permute fixes it, an expand aligns the
    // per-sample rank first.
    fn batch(&self, inputs: &[Tensor], _batched: &[bool], shape: &[usize], _dtype: DType) -> Result<Option<Tensor>> {
        use crate::tensor::graph::{align, with_batch};
        let x = &inputs[0];
        let full = with_batch(x.shape()[0], shape);
        match self {
            ViewOp::Reshape => x.reshape_exact(&full),
            ViewOp::Permute(perm) => {
                x.permute_exact(&std::iter::once(0).chain(perm.iter().map(|p| p + 1)).collect::<Vec<_>>())
            }
            ViewOp::Expand => align(x, true, shape.len())?.expand(&full),
        }
        .map(Some)
    }

    fn replay(&self, inputs: &[Tensor], shape: &[usize], _dtype: DType) -> Result<Tensor> {
        match self {
            ViewOp::Reshape => inputs[0].reshape_exact(shape),
            ViewOp::Permute(perm) => inputs[0].permute_exact(perm),
            ViewOp::Expand => inputs[0].expand(shape),
        }
    }

    fn structure(&self) -> Structure<'_> {
        Structure::Moves(match self {
            ViewOp::Reshape => Move::Reshape,
            ViewOp::Permute(perm) => Move::Permute(perm),
            ViewOp::Expand => Move::Broadcast,
        })
    }

    fn name(&self) -> &'static str {
        match self {
            ViewOp::Reshape => "reshape",
            ViewOp::Permute(_) => "permute",
            ViewOp::Expand => "expand",
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
        let gx = match self {
            ViewOp::Reshape => g.reshape_exact(&batched(&g.shape()[..batch], x.shape()))?,
            ViewOp::Permute(perm) => {
                let mut inv = vec![0; perm.len()];
                for (i, &p) in perm.iter().enumerate() {
                    inv[p] = i;
                }
                let full: Vec<usize> = (0..batch).chain(inv.iter().map(|&i| i + batch)).collect();
                g.permute_exact(&full)?
            }
            ViewOp::Expand => g.clone(),
        };
        Ok(vec![Some(gx)])
    }

    // Views are linear, so each JVP is the op itself applied to the tangent, with the
    // tangent's batch prefix kept in front.
    fn jvp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        tangents: &[Option<Tensor>],
        batch: usize,
    ) -> Result<Option<Tensor>> {
        let Some(t) = &tangents[0] else { return Ok(None) };
        let want = batched(&t.shape()[..batch], out.shape());
        Ok(Some(match self {
            // d reshape(x) = reshape(dx) to batch + out.shape
            ViewOp::Reshape => t.reshape_exact(&want)?,
            // d permute(x) = permute(dx) with the axes shifted past the batch
            ViewOp::Permute(perm) => {
                let full: Vec<usize> = (0..batch).chain(perm.iter().map(|&p| p + batch)).collect();
                t.permute_exact(&full)?
            }
            // d expand(x) = expand(dx): size-1 dims after the batch align x's dims on
            // the right of out's, then the tangent broadcasts to batch + out.shape
            ViewOp::Expand => t.pad_after_batch(batch, out.ndim().saturating_sub(inputs[0].ndim()))?.expand(&want)?,
        }))
    }
}

impl Tensor {
    /// This batched tangent or cotangent (`batch` leading dims) with `extra` size-1 dims
    /// inserted after the batch: against a tensor of `extra` more dims, right-aligned
    /// broadcasting then keeps the batch apart from that tensor's own leading dims.
    pub(crate) fn pad_after_batch(&self, batch: usize, extra: usize) -> Result<Tensor> {
        if extra == 0 {
            return Ok(self.clone());
        }
        let mut shape = self.shape()[..batch].to_vec();
        shape.extend(std::iter::repeat_n(1, extra));
        shape.extend_from_slice(&self.shape()[batch..]);
        self.reshape_exact(&shape)
    }

    /// An identity op on this tensor: a distinct graph node whose gradient flows back
    /// here (how the functional API differentiates w.r.t. a caller's tensor that
    /// already requires grad without touching it).
    pub fn identity_view(&self) -> Result<Tensor> {
        Ok(Tensor::from_op(self.storage().clone(), ViewOp::Reshape, vec![self.clone()]))
    }

    /// Reshape to `shape` (one entry may be -1). Shares data when contiguous.
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let n = self.numel();
        let mut infer = None;
        let mut known = 1usize;
        let too_big = || Error::shape("reshape", format!("shape {shape:?} is too big to address"));
        for (i, &d) in shape.iter().enumerate() {
            match d {
                -1 if infer.is_none() => infer = Some(i),
                d if d >= 0 => known = known.checked_mul(d as usize).ok_or_else(too_big)?,
                _ => {
                    return Err(Error::shape(
                        "reshape",
                        format!("invalid shape {shape:?}: only one dim may be -1 and none may be negative"),
                    ))
                }
            }
        }
        let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(i) = infer {
            if known == 0 || !n.is_multiple_of(known) {
                return Err(Error::shape("reshape", format!("shape {shape:?} is invalid for input of size {n}")));
            }
            out[i] = n / known;
        }
        self.reshape_exact(&out)
    }

    /// Reshape to a fully known shape.
    pub fn reshape_exact(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let n = crate::dtype::checked_numel("reshape", shape, 1)?;
        if n != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!("shape {shape:?} is invalid for input of size {} (shape {:?})", self.numel(), self.shape()),
            ));
        }
        let data = map_storage!(self.storage(), |a| reshape_array("reshape", a, shape)?);
        Ok(Tensor::from_op(data, ViewOp::Reshape, vec![self.clone()]))
    }

    /// Flatten dims `start..=end` into one.
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        if self.ndim() == 0 {
            return self.reshape_exact(&[1]);
        }
        let s = normalize_axis("flatten", start, self.ndim())?;
        let e = normalize_axis("flatten", end, self.ndim())?;
        if s > e {
            return Err(Error::argument("flatten", format!("start dim {start} comes after end dim {end}")));
        }
        let sh = self.shape();
        let mut out: Vec<usize> = sh[..s].to_vec();
        out.push(sh[s..=e].iter().product());
        out.extend_from_slice(&sh[e + 1..]);
        self.reshape_exact(&out)
    }

    /// Insert a size-1 dim at `dim` (which may be `ndim`, or negative).
    pub fn unsqueeze(&self, dim: isize) -> Result<Tensor> {
        let d = normalize_axis("unsqueeze", dim, self.ndim() + 1)?;
        let mut sh = self.shape().to_vec();
        sh.insert(d, 1);
        self.reshape_exact(&sh)
    }

    /// Remove size-1 dims: all of them (`None`) or the given ones (others are kept).
    pub fn squeeze(&self, dims: Option<&[isize]>) -> Result<Tensor> {
        let sh = self.shape();
        let drop: Vec<usize> = match dims {
            None => (0..sh.len()).filter(|&i| sh[i] == 1).collect(),
            Some(ds) => {
                let mut v = Vec::new();
                for &d in ds {
                    if sh.is_empty() {
                        continue;
                    }
                    let a = normalize_axis("squeeze", d, sh.len())?;
                    if sh[a] == 1 {
                        v.push(a);
                    }
                }
                v
            }
        };
        let out: Vec<usize> = (0..sh.len()).filter(|i| !drop.contains(i)).map(|i| sh[i]).collect();
        self.reshape_exact(&out)
    }

    /// Reorder dims (negative entries count from the end).
    pub fn permute(&self, dims: &[isize]) -> Result<Tensor> {
        let n = self.ndim();
        if dims.len() != n {
            return Err(Error::shape("permute", format!("got {} dims for a tensor with {n} dims", dims.len())));
        }
        let mut perm = Vec::with_capacity(n);
        for &d in dims {
            let a = normalize_axis("permute", d, n)?;
            if perm.contains(&a) {
                return Err(Error::argument("permute", format!("dim {d} appears more than once in {dims:?}")));
            }
            perm.push(a);
        }
        self.permute_exact(&perm)
    }

    pub(crate) fn permute_exact(&self, perm: &[usize]) -> Result<Tensor> {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(self.clone());
        }
        let data = map_storage!(self.storage(), |a| a.clone().permuted_axes(IxDyn(perm)));
        Ok(Tensor::from_op(data, ViewOp::Permute(perm.to_vec()), vec![self.clone()]))
    }

    /// Swap two dims.
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Result<Tensor> {
        let n = self.ndim();
        if n < 2 && (dim0 == 0 || dim0 == -1) && (dim1 == 0 || dim1 == -1) {
            return Ok(self.clone());
        }
        let a = normalize_axis("transpose", dim0, n)?;
        let b = normalize_axis("transpose", dim1, n)?;
        let mut perm: Vec<usize> = (0..n).collect();
        perm.swap(a, b);
        self.permute_exact(&perm)
    }

    /// The matrix transpose, as PyTorch's `t()`: a 2-D tensor transposed, a 0-D or 1-D
    /// one returned as is. More dims is a `Shape` error (which two dims to swap would
    /// be a guess; [`Tensor::transpose`], [`Tensor::mt`] and [`Tensor::reverse_dims`]
    /// say it).
    pub fn t(&self) -> Result<Tensor> {
        if self.ndim() > 2 {
            return Err(Error::shape(
                "t",
                format!(
                    "expects a tensor with <= 2 dimensions, but self is {}-D (shape {:?})",
                    self.ndim(),
                    self.shape()
                ),
            ));
        }
        self.reverse_dims()
    }

    /// All dims reversed (NumPy's and PyTorch's `.T`).
    pub fn reverse_dims(&self) -> Result<Tensor> {
        let perm: Vec<usize> = (0..self.ndim()).rev().collect();
        self.permute_exact(&perm)
    }

    /// The last two dims swapped (`.mT`).
    pub fn mt(&self) -> Result<Tensor> {
        if self.ndim() < 2 {
            return Err(Error::shape("mT", format!("needs at least 2 dims, got shape {:?}", self.shape())));
        }
        self.transpose(-2, -1)
    }

    /// Broadcast to `shape` (NumPy's `broadcast_to`; copies the data).
    pub fn expand(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let full = broadcast_shapes("expand", self.shape(), shape)?;
        if full != shape {
            return Err(Error::shape("expand", format!("cannot expand shape {:?} to {shape:?}", self.shape())));
        }
        ensure_allocatable_as("expand", self.dtype(), shape)?;
        let sh = IxDyn(shape);
        let data = map_storage!(self.storage(), |a| crate::kernels::elementwise::materialize(
            &a.broadcast(sh.clone()).ok_or_else(|| Error::shape(
                "expand",
                format!("cannot expand shape {:?} to {shape:?}", self.shape())
            ))?
        )
        .into_shared());
        Ok(Tensor::from_op(data, ViewOp::Expand, vec![self.clone()]))
    }
}

impl Tensor {
    /// Reverse the order of entries along each of `dims` (a view, like `x[::-1]`).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::F64).unwrap();
    /// assert_eq!(x.flip(&[0]).unwrap().to_f64_vec(), vec![3.0, 2.0, 1.0]);
    /// ```
    pub fn flip(&self, dims: &[isize]) -> Result<Tensor> {
        let axes = normalize_axes("flip", Some(dims), self.ndim())?;
        if axes.is_empty() {
            return Ok(self.clone());
        }
        let items: Vec<Resolved> = self
            .shape()
            .iter()
            .enumerate()
            .map(|(d, &n)| match (axes.contains(&d), n) {
                (true, n) if n > 0 => Resolved::Range { start: n - 1, step: -1, len: n },
                _ => Resolved::Range { start: 0, step: 1, len: n },
            })
            .collect();
        slice_resolved(self, &items, 0)
    }

    /// Tile the tensor `sizes[i]` times along dim i (PyTorch's `Tensor.repeat`):
    /// `sizes` may be longer than `ndim`, adding leading dims; it may not be shorter.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F64).unwrap();
    /// let y = x.repeat(&[2, 2]).unwrap();
    /// assert_eq!(y.shape(), &[2, 4]);
    /// assert_eq!(y.to_f64_vec(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// ```
    pub fn repeat(&self, sizes: &[usize]) -> Result<Tensor> {
        self.repeat_as("repeat", sizes)
    }

    /// NumPy/PyTorch `tile`: like `repeat`, but a shorter `reps` is padded with leading 1s.
    pub fn tile(&self, reps: &[usize]) -> Result<Tensor> {
        let nd = self.ndim();
        if reps.len() >= nd {
            return self.repeat_as("tile", reps);
        }
        let full: Vec<usize> = std::iter::repeat_n(1, nd - reps.len()).chain(reps.iter().copied()).collect();
        self.repeat_as("tile", &full)
    }

    /// `repeat` for `op`: the result's size is checked before anything is copied.
    fn repeat_as(&self, op: &'static str, sizes: &[usize]) -> Result<Tensor> {
        let nd = self.ndim();
        if sizes.len() < nd {
            return Err(Error::shape(
                op,
                format!("number of repeat dims ({}) can not be smaller than the number of dims of the tensor ({nd}, shape {:?})", sizes.len(), self.shape()),
            ));
        }
        let shape: Vec<usize> = std::iter::repeat_n(1, sizes.len() - nd).chain(self.shape().iter().copied()).collect();
        // [s0, s1] → [1, s0, 1, s1] → expand [r0, s0, r1, s1] → [r0·s0, r1·s1]
        let mut split = Vec::with_capacity(2 * shape.len());
        let mut expanded = Vec::with_capacity(2 * shape.len());
        let mut out = Vec::with_capacity(shape.len());
        for (&r, &s) in sizes.iter().zip(&shape) {
            split.extend([1, s]);
            expanded.extend([r, s]);
            out.push(r.checked_mul(s).ok_or_else(|| {
                Error::argument(op, format!("repeating shape {:?} by {sizes:?} is too big to address", self.shape()))
            })?);
        }
        ensure_allocatable_as(op, self.dtype(), &out)?;
        self.reshape_exact(&split)?.expand(&expanded)?.reshape_exact(&out)
    }
}
