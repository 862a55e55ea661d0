//! Reductions over dims: sum and mean here (the rest of the family joins this file).
//!
//! The VJP of a reduction re-inserts the reduced dims (at `batch + axis`, so leading
//! batch dims of the cotangent pass through) and expands back to the input's shape.

use ndarray::{ArcArray, Axis, IxDyn};

use crate::autograd::{Op, Rule};
use crate::dtype::Storage;
use crate::error::Result;
use crate::shape::{batched, normalize_axes};
use crate::tensor::Tensor;

#[derive(Debug, Clone)]
pub enum ReduceOp {
    /// Sum over `axes` (sorted, non-negative).
    Sum { axes: Vec<usize>, keepdim: bool },
}

impl Rule for ReduceOp {
    fn name(&self) -> &'static str {
        match self {
            ReduceOp::Sum { .. } => "sum",
        }
    }

    fn vjp(&self, inputs: &[Tensor], _out: &Tensor, g: &Tensor, batch: usize, _needs: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        match self {
            // d sum(x)/dx = 1 broadcast over the reduced dims
            ReduceOp::Sum { axes, keepdim } => {
                let g = unreduce(g, batch, axes, *keepdim)?;
                Ok(vec![Some(g.expand(&batched(&g.shape()[..batch], x.shape()))?)])
            }
        }
    }
}

/// Re-insert reduced `axes` (as size-1 dims) after the `batch` leading dims.
pub(crate) fn unreduce(g: &Tensor, batch: usize, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    if keepdim {
        return Ok(g.clone());
    }
    let mut shape = g.shape().to_vec();
    for &a in axes {
        shape.insert(batch + a, 1);
    }
    g.reshape_exact(&shape)
}

fn sum_kernel<T: Clone + num_traits::Zero>(a: &ArcArray<T, IxDyn>, axes: &[usize], keepdim: bool) -> ArcArray<T, IxDyn> {
    let mut r = a.to_owned();
    for &ax in axes.iter().rev() {
        r = r.sum_axis(Axis(ax));
        if keepdim {
            r.insert_axis_inplace(Axis(ax));
        }
    }
    r.into_shared()
}

impl Tensor {
    /// Sum over `dims` (all when `None`; negative dims count from the end).
    pub fn sum(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        let axes = normalize_axes("sum", dims, self.ndim())?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(sum_kernel(a, &axes, keepdim)),
            Storage::F64(a) => Storage::F64(sum_kernel(a, &axes, keepdim)),
            Storage::I64(a) => Storage::I64(sum_kernel(a, &axes, keepdim)),
            Storage::Bool(_) => {
                return self.to_dtype(crate::dtype::DType::I64)?.sum(dims, keepdim);
            }
        };
        Ok(Tensor::from_op(data, Op::Reduce(ReduceOp::Sum { axes, keepdim }), vec![self.clone()]))
    }

    /// Sum of all elements, a 0-d tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        self.sum(None, false)
    }

    /// Mean over `dims` (all when `None`).
    pub fn mean(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        self.expect_float("mean")?;
        let axes = normalize_axes("mean", dims, self.ndim())?;
        let count: usize = axes.iter().map(|&a| self.shape()[a]).product();
        self.sum(dims, keepdim)?.mul_scalar(1.0 / count as f64)
    }
}
