//! Joining tensors: `cat` along an existing dim and `stack` along a new one.
//! The VJP of `cat` hands each input its own slab of the cotangent (a `narrow` at
//! `batch + dim`).

use ndarray::Axis;

use crate::autograd::{Op, Rule};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::shape::normalize_axis;
use crate::tensor::Tensor;

#[derive(Debug, Clone)]
pub enum JoinOp {
    Cat { dim: usize },
}

impl Rule for JoinOp {
    fn name(&self) -> &'static str {
        match self {
            JoinOp::Cat { .. } => "cat",
        }
    }

    fn vjp(&self, inputs: &[Tensor], _out: &Tensor, g: &Tensor, batch: usize, needs: &[bool]) -> Result<Vec<Option<Tensor>>> {
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
                $variant(ndarray::concatenate(Axis(d), &views).map_err(|e| Error::shape("cat", e.to_string()))?.into_shared())
            }};
        }
        let data = match dtype {
            DType::F32 => join!(Storage::F32),
            DType::F64 => join!(Storage::F64),
            DType::I64 => join!(Storage::I64),
            DType::Bool => join!(Storage::Bool),
        };
        Ok(Tensor::from_op(data, Op::Join(JoinOp::Cat { dim: d }), parts))
    }

    /// Stack equally shaped tensors along a new dim `dim`.
    pub fn stack(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| Error::argument("stack", "expected a non-empty list of tensors"))?;
        for (i, t) in tensors.iter().enumerate() {
            if t.shape() != first.shape() {
                return Err(Error::shape(
                    "stack",
                    format!("stack expects each tensor to be equal size, but got {:?} at entry 0 and {:?} at entry {i}", first.shape(), t.shape()),
                ));
            }
        }
        let d = normalize_axis("stack", dim, first.ndim() + 1)?;
        let parts: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(d as isize)).collect::<Result<_>>()?;
        Tensor::cat(&parts, d as isize)
    }
}
