//! Joining and splitting tensors: `cat` along an existing dim, `stack` along a new
//! one, `roll` (a cat of two slabs), and `split`/`chunk` into views.
//! The VJP of `cat` hands each input its own slab of the cotangent (a `narrow` at
//! `batch + dim`); the pieces of a split are slices, differentiable as such.

use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::shape::{batched, normalize_axis};
use crate::structure::Structure;
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
/// Joins of several tensors into one.
pub enum JoinOp {
    /// `cat` along `dim`: each input's cotangent is its slab of the output's.
    Cat {
        /// The dim the inputs are joined along (non-negative).
        dim: usize,
    },
}

impl Rule for JoinOp {
    // Shared pieces are broadcast over the batch; the joined dim shifts past it.
    fn batch(&self, inputs: &[Tensor], batched: &[bool], _shape: &[usize], _dtype: DType) -> Result<Option<Tensor>> {
        let JoinOp::Cat { dim } = self;
        Tensor::cat(&crate::tensor::graph::all_batched(inputs, batched)?, *dim as isize + 1).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        let JoinOp::Cat { dim } = self;
        Tensor::cat(inputs, *dim as isize)
    }

    fn structure(&self) -> Structure<'_> {
        let JoinOp::Cat { dim } = self;
        Structure::Concat { dim: *dim }
    }

    fn name(&self) -> &'static str {
        match self {
            JoinOp::Cat { .. } => "cat",
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        _out: &Tensor,
        g: &Tensor,
        batch: usize,
        needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let JoinOp::Cat { dim } = self;
        let mut offset = 0;
        let mut out = Vec::with_capacity(inputs.len());
        for (x, &need) in inputs.iter().zip(needs) {
            let len = x.shape()[*dim];
            out.push(if need { Some(g.narrow((batch + dim) as isize, offset, len)?) } else { None });
            offset += len;
        }
        Ok(out)
    }

    // d cat(x_1, …, x_k) = cat(dx_1, …, dx_k) along batch + dim, zeros for inputs
    // without a tangent
    fn jvp(
        &self,
        inputs: &[Tensor],
        _out: &Tensor,
        tangents: &[Option<Tensor>],
        batch: usize,
    ) -> Result<Option<Tensor>> {
        let JoinOp::Cat { dim } = self;
        let Some(first) = tangents.iter().flatten().next() else { return Ok(None) };
        let (lead, dtype) = (&first.shape()[..batch], first.dtype());
        // zeros of a batch prefix and another input's shape: checked, as the two sizes
        // multiply (a batch of tangents beside a `[2**62, 0]` input is past ndarray's limit)
        let parts: Vec<Tensor> = inputs
            .iter()
            .zip(tangents)
            .map(|(x, t)| match t {
                Some(t) => Ok(t.clone()),
                None => Tensor::try_full("cat", &batched(lead, x.shape()), 0.0, dtype),
            })
            .collect::<Result<_>>()?;
        Ok(Some(Tensor::cat(&parts, (batch + dim) as isize)?))
    }
}

impl Tensor {
    /// Concatenate along `dim` (dtypes promote; all other dims must match).
    pub fn cat(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| Error::argument("cat", "expected a non-empty list of tensors"))?;
        let nd = first.ndim();
        if nd == 0 {
            return Err(Error::shape("cat", "zero-dimensional tensors cannot be concatenated; use stack"));
        }
        let d = normalize_axis("cat", dim, nd)?;
        let dtype = tensors.iter().map(|t| t.dtype()).fold(first.dtype(), DType::promote);
        let mut parts = Vec::with_capacity(tensors.len());
        for (i, t) in tensors.iter().enumerate() {
            let ok = t.ndim() == nd && (0..nd).all(|j| j == d || t.shape()[j] == first.shape()[j]);
            if !ok {
                return Err(Error::shape(
                    "cat",
                    format!("tensor {i} has shape {:?}, expected {:?} except in dim {d}", t.shape(), first.shape()),
                ));
            }
            parts.push(t.to_dtype(dtype)?);
        }
        macro_rules! join {
            ($variant:path) => {{
                let views: Vec<_> = parts
                    .iter()
                    .map(|t| match t.storage() {
                        $variant(a) => Ok(a.view()),
                        _ => Err(Error::dtype("cat", "mixed dtypes")),
                    })
                    .collect::<Result<_>>()?;
                $variant(crate::kernels::elementwise::concat(&views, d)?.into_shared())
            }};
        }
        let data = match dtype {
            DType::F32 => join!(Storage::F32),
            DType::F64 => join!(Storage::F64),
            DType::I64 => join!(Storage::I64),
            DType::Bool => join!(Storage::Bool),
        };
        Ok(Tensor::from_op(data, JoinOp::Cat { dim: d }, parts))
    }

    /// Stack equally shaped tensors along a new dim `dim`.
    pub fn stack(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| Error::argument("stack", "expected a non-empty list of tensors"))?;
        for (i, t) in tensors.iter().enumerate() {
            if t.shape() != first.shape() {
                return Err(Error::shape(
                    "stack",
                    format!(
                        "stack expects each tensor to be equal size, but got {:?} at entry 0 and {:?} at entry {i}",
                        first.shape(),
                        t.shape()
                    ),
                ));
            }
        }
        let d = normalize_axis("stack", dim, first.ndim() + 1)?;
        let parts: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(d as isize)).collect::<Result<_>>()?;
        Tensor::cat(&parts, d as isize)
    }
}

impl Tensor {
    /// Shift entries cyclically by `shifts[i]` along `dims[i]`; with no `dims`, the
    /// flattened tensor is rolled by the single shift and reshaped back (PyTorch).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4], DType::F64).unwrap();
    /// assert_eq!(x.roll(&[1], &[0]).unwrap().to_f64_vec(), vec![4.0, 1.0, 2.0, 3.0]);
    /// ```
    pub fn roll(&self, shifts: &[isize], dims: &[isize]) -> Result<Tensor> {
        if dims.is_empty() {
            if shifts.len() != 1 {
                return Err(Error::argument(
                    "roll",
                    format!("without dims, shifts must be a single int, got {shifts:?}"),
                ));
            }
            return self.reshape_exact(&[self.numel()])?.roll(shifts, &[0])?.reshape_exact(self.shape());
        }
        if shifts.len() != dims.len() {
            return Err(Error::argument(
                "roll",
                format!(
                    "shifts and dims must have the same length, got {} shifts and {} dims",
                    shifts.len(),
                    dims.len()
                ),
            ));
        }
        let mut t = self.clone();
        for (&s, &d) in shifts.iter().zip(dims) {
            let a = normalize_axis("roll", d, t.ndim())?;
            let n = t.shape().get(a).copied().unwrap_or(1); // a 0-d tensor rolls to itself
            if n <= 1 {
                continue;
            }
            let k = s.rem_euclid(n as isize) as usize;
            if k != 0 {
                t = Tensor::cat(&[t.narrow(a as isize, n - k, k)?, t.narrow(a as isize, 0, n - k)?], a as isize)?;
            }
        }
        Ok(t)
    }

    /// Views of consecutive pieces of `split_size` entries along `dim` (the last may be
    /// shorter), as PyTorch's `split` with an int.
    pub fn split(&self, split_size: usize, dim: isize) -> Result<Vec<Tensor>> {
        let d = split_dim("split", self, dim)?;
        let n = self.shape()[d];
        if split_size == 0 && n != 0 {
            return Err(Error::argument(
                "split",
                format!("split_size can only be 0 if the dim size is 0, got dim {d} of size {n}"),
            ));
        }
        let count = if split_size == 0 { 1 } else { n.div_ceil(split_size).max(1) };
        let mut pieces = pieces("split", count, d, n)?;
        for i in 0..count {
            let start = i * split_size; // < n (or 0): i < ceil(n / split_size)
            pieces.push(self.narrow(d as isize, start, split_size.min(n - start))?);
        }
        Ok(pieces)
    }

    /// Views of consecutive pieces of the given sizes along `dim` (they must add up to
    /// the dim's size), as PyTorch's `split` with a list.
    pub fn split_sizes(&self, sizes: &[usize], dim: isize) -> Result<Vec<Tensor>> {
        let d = split_dim("split", self, dim)?;
        let n = self.shape()[d];
        if sizes.iter().try_fold(0usize, |acc, &s| acc.checked_add(s)) != Some(n) {
            return Err(Error::argument(
                "split",
                format!("split sizes {sizes:?} must sum to the size {n} of dim {d} (shape {:?})", self.shape()),
            ));
        }
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let piece = self.narrow(d as isize, start, len);
                start += len;
                piece
            })
            .collect()
    }

    /// Split into at most `chunks` pieces of `ceil(size / chunks)` entries along `dim`
    /// (PyTorch's `chunk`: there may be fewer pieces than asked for).
    pub fn chunk(&self, chunks: usize, dim: isize) -> Result<Vec<Tensor>> {
        if chunks == 0 {
            return Err(Error::argument("chunk", "chunks must be greater than 0, got 0"));
        }
        let d = split_dim("chunk", self, dim)?;
        let n = self.shape()[d];
        let size = n.div_ceil(chunks);
        if size == 0 {
            // an empty dim gives `chunks` empty pieces (PyTorch), as many as asked for
            let mut pieces = pieces("chunk", chunks, d, n)?;
            for _ in 0..chunks {
                pieces.push(self.narrow(d as isize, 0, 0)?);
            }
            return Ok(pieces);
        }
        self.split(size, d as isize)
    }
}

/// Room for `count` pieces of dim `d` (of size `n`): the count is the user's (a split of
/// a long dim into ones, or `chunks` of an empty dim), so it is reserved first and an
/// impossible count is an error rather than an abort or an endless loop.
fn pieces(op: &'static str, count: usize, d: usize, n: usize) -> Result<Vec<Tensor>> {
    crate::dtype::try_vec(op, &[count])
        .map_err(|_| Error::argument(op, format!("cannot hold {count} pieces of dim {d} (of size {n})")))
}

/// The dim to split along; 0-d tensors have none.
fn split_dim(op: &'static str, t: &Tensor, dim: isize) -> Result<usize> {
    if t.ndim() == 0 {
        return Err(Error::shape(op, "expected a tensor with at least 1 dim, got a 0-d tensor"));
    }
    normalize_axis(op, dim, t.ndim())
}
