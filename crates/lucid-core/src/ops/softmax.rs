//! `softmax` and `log_softmax` along one dim, computed stably (the lane max is taken
//! out before exponentiating). Both rules are written with the output, so second
//! derivatives come from the same ops.

use ndarray::{ArcArray, Axis, IxDyn};

use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::shape::normalize_axis;
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
/// Softmax and log-softmax along one dim. Each output element reads its whole lane,
/// so the rules are dense within a lane: for `s = softmax(x)`, `∂s_i/∂x_j = s_i (δ_ij - s_j)`.
pub enum SoftmaxOp {
    /// `exp(x_i) / Σ_j exp(x_j)` along `axis`.
    Softmax {
        /// The dim, counted from the end (`-1` is the last dim).
        axis: isize,
    },
    /// `x_i - log Σ_j exp(x_j)` along `axis`.
    LogSoftmax {
        /// The dim, counted from the end (`-1` is the last dim).
        axis: isize,
    },
}

impl Rule for SoftmaxOp {
    // The softmax dim shifts past the batch dim.
    fn batch(&self, inputs: &[Tensor], _batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        use crate::tensor::graph::shift;
        let shifted = match *self {
            SoftmaxOp::Softmax { axis } => SoftmaxOp::Softmax { axis: shift(axis) },
            SoftmaxOp::LogSoftmax { axis } => SoftmaxOp::LogSoftmax { axis: shift(axis) },
        };
        shifted.replay(inputs, shape, dtype).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        match *self {
            SoftmaxOp::Softmax { axis } => softmax_op(&inputs[0], axis, false),
            SoftmaxOp::LogSoftmax { axis } => softmax_op(&inputs[0], axis, true),
        }
    }

    // Every output of a softmax row depends on every input of the row.
    fn structure(&self) -> Structure<'_> {
        let (SoftmaxOp::Softmax { axis } | SoftmaxOp::LogSoftmax { axis }) = *self;
        Structure::Unstructured(Dependence::Lines { axis })
    }

    fn name(&self) -> &'static str {
        match self {
            SoftmaxOp::Softmax { .. } => "softmax",
            SoftmaxOp::LogSoftmax { .. } => "log_softmax",
        }
    }

    fn vjp(
        &self,
        _inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        _batch: usize,
        _needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let gx = match *self {
            // y = softmax(x): dy_i/dx_j = y_i (δ_ij - y_j), so gx = y (g - Σ g y)
            SoftmaxOp::Softmax { axis } => out.mul(&g.sub(&g.mul(out)?.sum(Some(&[axis]), true)?)?)?,
            // y = log_softmax(x): dy_i/dx_j = δ_ij - e^(y_j), so gx = g - e^y Σ g
            SoftmaxOp::LogSoftmax { axis } => g.sub(&out.exp()?.mul(&g.sum(Some(&[axis]), true)?)?)?,
        };
        Ok(vec![Some(gx)])
    }

    fn jvp(
        &self,
        _inputs: &[Tensor],
        out: &Tensor,
        tangents: &[Option<Tensor>],
        _batch: usize,
    ) -> Result<Option<Tensor>> {
        let Some(t) = &tangents[0] else { return Ok(None) };
        let ty = match *self {
            // dy = y ⊙ (t - Σ y t) (the same symmetric Jacobian as the VJP)
            SoftmaxOp::Softmax { axis } => out.mul(&t.sub(&t.mul(out)?.sum(Some(&[axis]), true)?)?)?,
            // dy = t - Σ e^y t (e^y = softmax(x))
            SoftmaxOp::LogSoftmax { axis } => t.sub(&out.exp()?.mul(t)?.sum(Some(&[axis]), true)?)?,
        };
        Ok(Some(ty))
    }
}

/// Softmax (or log-softmax) of every lane along `ax`, in f64 then rounded to `T`.
fn kernel<T: Float>(a: &ArcArray<T, IxDyn>, ax: usize, log: bool) -> ArcArray<T, IxDyn> {
    let mut out = a.to_owned();
    for mut lane in out.lanes_mut(Axis(ax)) {
        // a max of ±inf is not taken out (it would give NaN for finite lanes), as PyTorch
        let m = lane.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v.to_f64()));
        let shift = if m.is_finite() { m } else { 0.0 };
        let total: f64 = lane.iter().map(|&v| (v.to_f64() - shift).exp()).sum();
        let log_total = total.ln();
        for v in lane.iter_mut() {
            let z = v.to_f64() - shift;
            *v = T::of(if log { z - log_total } else { z.exp() / total });
        }
    }
    out.into_shared()
}

fn softmax_op(x: &Tensor, dim: isize, log: bool) -> Result<Tensor> {
    let name = if log { "log_softmax" } else { "softmax" };
    if x.ndim() == 0 {
        // a 0-d tensor is one lane of length 1 (dim 0 or -1, as PyTorch)
        if dim != 0 && dim != -1 {
            return Err(Error::index(name, format!("dim {dim} is out of range for a tensor with 0 dims")));
        }
        return softmax_op(&x.reshape_exact(&[1])?, -1, log)?.reshape_exact(&[]);
    }
    let ax = normalize_axis(name, dim, x.ndim())?;
    let data = match x.storage() {
        Storage::F32(a) => Storage::F32(kernel(a, ax, log)),
        Storage::F64(a) => Storage::F64(kernel(a, ax, log)),
        s => return Err(Error::dtype(name, format!("expected a floating point tensor, got {}", s.dtype()))),
    };
    let axis = ax as isize - x.ndim() as isize;
    let op = if log { SoftmaxOp::LogSoftmax { axis } } else { SoftmaxOp::Softmax { axis } };
    Ok(Tensor::from_op(data, op, vec![x.clone()]))
}

impl Tensor {
    /// `e^x / Σ e^x` along `dim`, stable for large inputs.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![1000.0, 1000.0], &[2], DType::F64).unwrap();
    /// assert_eq!(x.softmax(-1).unwrap().to_f64_vec(), vec![0.5, 0.5]);
    /// ```
    pub fn softmax(&self, dim: isize) -> Result<Tensor> {
        softmax_op(self, dim, false)
    }

    /// `x - log Σ e^x` along `dim`, stable for large inputs.
    pub fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        softmax_op(self, dim, true)
    }
}
