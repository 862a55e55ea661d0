//! Reductions over dims: sum, mean, prod, amax/amin (with argmax/argmin), logsumexp,
//! vector norms, var and std.
//!
//! The VJP of a reduction re-inserts the reduced dims (at `batch + axis`, so leading
//! batch dims of the cotangent pass through) and broadcasts back to the input's
//! shape. `mean`, `var`, `std` and the ∞-norms are compositions of the primitive ops
//! here, so their derivatives (of every order) come from those rules.

use ndarray::{ArcArray, ArrayView1, Axis, Ix2, IxDyn};

use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::ops::binary::where_;
use crate::ops::nondiff;
use crate::shape::{batched, normalize_axes, normalize_axis};
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
/// Reductions over a set of dims, each with its derivative rules: the cotangent is
/// broadcast back over the reduced dims and weighted by `∂y/∂x`.
pub enum ReduceOp {
    /// Sum over `axes` (sorted, non-negative).
    Sum {
        /// The reduced dims (sorted, non-negative).
        axes: Vec<usize>,
        /// Keep each reduced dim with size 1.
        keepdim: bool,
    },
    /// Product over `axes`; ∂y/∂x_k = ∏_{j≠k} x_j, exact with zeros.
    Prod {
        /// The reduced dims (sorted, non-negative).
        axes: Vec<usize>,
        /// Keep each reduced dim with size 1.
        keepdim: bool,
    },
    /// Largest value over `axes`; the gradient is split evenly among ties.
    Amax {
        /// The reduced dims (sorted, non-negative).
        axes: Vec<usize>,
        /// Keep each reduced dim with size 1.
        keepdim: bool,
    },
    /// Smallest value over `axes`; the gradient is split evenly among ties.
    Amin {
        /// The reduced dims (sorted, non-negative).
        axes: Vec<usize>,
        /// Keep each reduced dim with size 1.
        keepdim: bool,
    },
    /// `log Σ exp x` over `axes`, computed stably; ∂y/∂x = softmax(x).
    LogSumExp {
        /// The reduced dims (sorted, non-negative).
        axes: Vec<usize>,
        /// Keep each reduced dim with size 1.
        keepdim: bool,
    },
    /// `(Σ |x|^p)^(1/p)` for a finite `p ≥ 1`.
    Norm {
        /// The order of the norm.
        p: f64,
        /// The reduced dims (sorted, non-negative).
        axes: Vec<usize>,
        /// Keep each reduced dim with size 1.
        keepdim: bool,
    },
}

impl Rule for ReduceOp {
    // The reduced dims shift past the batch dim.
    fn batch(&self, inputs: &[Tensor], _batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        let up = |axes: &[usize]| axes.iter().map(|a| a + 1).collect::<Vec<_>>();
        let shifted = match self {
            ReduceOp::Sum { axes, keepdim } => ReduceOp::Sum { axes: up(axes), keepdim: *keepdim },
            ReduceOp::Prod { axes, keepdim } => ReduceOp::Prod { axes: up(axes), keepdim: *keepdim },
            ReduceOp::Amax { axes, keepdim } => ReduceOp::Amax { axes: up(axes), keepdim: *keepdim },
            ReduceOp::Amin { axes, keepdim } => ReduceOp::Amin { axes: up(axes), keepdim: *keepdim },
            ReduceOp::LogSumExp { axes, keepdim } => ReduceOp::LogSumExp { axes: up(axes), keepdim: *keepdim },
            ReduceOp::Norm { p, axes, keepdim } => ReduceOp::Norm { p: *p, axes: up(axes), keepdim: *keepdim },
        };
        shifted.replay(inputs, shape, dtype).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        let x = &inputs[0];
        let dims = |axes: &[usize]| axes.iter().map(|&a| a as isize).collect::<Vec<_>>();
        match self {
            ReduceOp::Sum { axes, keepdim } => x.sum(Some(&dims(axes)), *keepdim),
            ReduceOp::Prod { axes, keepdim } => x.prod(Some(&dims(axes)), *keepdim),
            ReduceOp::Amax { axes, keepdim } => x.amax(Some(&dims(axes)), *keepdim),
            ReduceOp::Amin { axes, keepdim } => x.amin(Some(&dims(axes)), *keepdim),
            ReduceOp::LogSumExp { axes, keepdim } => x.logsumexp(Some(&dims(axes)), *keepdim),
            ReduceOp::Norm { p, axes, keepdim } => x.norm(*p, Some(&dims(axes)), *keepdim),
        }
    }

    // A sum is structured (each output element adds a block of the input); the other
    // reductions' rules read values in ways no structured rule follows, but each output
    // element still reads only its block.
    fn structure(&self) -> Structure<'_> {
        match self {
            ReduceOp::Sum { axes, keepdim } => Structure::Sum { axes, keepdim: *keepdim },
            ReduceOp::Prod { axes, keepdim }
            | ReduceOp::Amax { axes, keepdim }
            | ReduceOp::Amin { axes, keepdim }
            | ReduceOp::LogSumExp { axes, keepdim }
            | ReduceOp::Norm { axes, keepdim, .. } => {
                Structure::Unstructured(Dependence::Blocks { axes, keepdim: *keepdim })
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            ReduceOp::Sum { .. } => "sum",
            ReduceOp::Prod { .. } => "prod",
            ReduceOp::Amax { .. } => "amax",
            ReduceOp::Amin { .. } => "amin",
            ReduceOp::LogSumExp { .. } => "logsumexp",
            ReduceOp::Norm { .. } => "norm",
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        batch: usize,
        _needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let gx = match self {
            // d sum(x)/dx = 1 broadcast over the reduced dims
            ReduceOp::Sum { axes, keepdim } => {
                let g = unreduce(g, batch, axes, *keepdim)?;
                g.expand(&batched(&g.shape()[..batch], x.shape()))?
            }
            // d prod(x)/dx_i = ∏_{k≠i} x_k, formed from exclusive products (no division),
            // so one zero gives the product of the others, two or more give 0, and
            // derivatives of every order are exact (see NOTE [cumprod with zeros]).
            ReduceOp::Prod { axes, keepdim } => unreduce(g, batch, axes, *keepdim)?.mul(&prod_of_others(x, axes)?)?,
            // d max = 1/k on each of the k elements equal to the max (ties split evenly, as
            // PyTorch's amax; NaN is the max when present); the mask is constant, so the
            // second derivative is 0.
            ReduceOp::Amax { axes, keepdim } | ReduceOp::Amin { axes, keepdim } => {
                let hit = extreme_mask(x, &unreduce(out, 0, axes, *keepdim)?)?;
                let dims: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
                let share = hit.div(&hit.sum(Some(&dims), true)?)?;
                unreduce(g, batch, axes, *keepdim)?.mul(&share)?
            }
            // d logsumexp(x)/dx = softmax(x) = e^(x - out)
            ReduceOp::LogSumExp { axes, keepdim } => {
                let soft = x.sub(&unreduce(out, 0, axes, *keepdim)?)?.exp()?;
                unreduce(g, batch, axes, *keepdim)?.mul(&soft)?
            }
            // d ‖x‖_p/dx = sign(x) |x|^(p-1) / ‖x‖^(p-1); p = 2: x/‖x‖. At ‖x‖ = 0 the
            // gradient is 0, as PyTorch (the norm is replaced by 1 there; x is 0 anyway);
            // differentiating this rule there gives the (undefined) Hessian as g·I for p = 2.
            ReduceOp::Norm { p, axes, keepdim } => {
                let n = unreduce(out, 0, axes, *keepdim)?;
                let safe = where_(&n.eq(&n.scalar_like(0.0))?, &n.scalar_like(1.0), &n)?;
                let d = if *p == 1.0 {
                    x.sign()?
                } else if *p == 2.0 {
                    x.div(&safe)?
                } else {
                    x.sign()?.mul(&x.abs()?.pow_scalar(p - 1.0)?)?.div(&safe.pow_scalar(p - 1.0)?)?
                };
                unreduce(g, batch, axes, *keepdim)?.mul(&d)?
            }
        };
        Ok(vec![Some(gx)])
    }

    // Each reduction's VJP is `unreduce(g) · w` for an x-shaped weight w, so its JVP
    // (the transpose) is `Σ_axes w ⊙ t`, the reduced axes shifted past the batch dims.
    fn jvp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        tangents: &[Option<Tensor>],
        batch: usize,
    ) -> Result<Option<Tensor>> {
        let Some(t) = &tangents[0] else { return Ok(None) };
        let x = &inputs[0];
        let (axes, keepdim) = match self {
            ReduceOp::Sum { axes, keepdim }
            | ReduceOp::Prod { axes, keepdim }
            | ReduceOp::Amax { axes, keepdim }
            | ReduceOp::Amin { axes, keepdim }
            | ReduceOp::LogSumExp { axes, keepdim }
            | ReduceOp::Norm { axes, keepdim, .. } => (axes, *keepdim),
        };
        let wt = match self {
            // d sum = Σ t
            ReduceOp::Sum { .. } => t.clone(),
            // d prod = Σ_i (∏_{k≠i} x_k) t_i, with the VJP's exclusive products (exact at zeros)
            ReduceOp::Prod { .. } => t.mul(&prod_of_others(x, axes)?)?,
            // d max = the mean of t over the k tied extremes (weights 1/k, as the VJP splits g)
            ReduceOp::Amax { .. } | ReduceOp::Amin { .. } => t.mul(&extreme_share(x, out, axes, keepdim)?)?,
            // d logsumexp = Σ softmax(x) t, softmax(x) = e^(x - out)
            ReduceOp::LogSumExp { .. } => t.mul(&x.sub(&unreduce(out, 0, axes, keepdim)?)?.exp()?)?,
            // d ‖x‖_p = Σ sign(x) |x|^(p-1) t / ‖x‖^(p-1); 0 at a zero norm, as the VJP
            ReduceOp::Norm { p, .. } => t.mul(&norm_direction(x, out, *p, axes, keepdim)?)?,
        };
        if axes.is_empty() {
            return Ok(Some(wt)); // a 0-d input: the reduction is the identity
        }
        let dims: Vec<isize> = axes.iter().map(|&a| (batch + a) as isize).collect();
        Ok(Some(wt.sum(Some(&dims), keepdim)?))
    }
}

/// The amax/amin weights of the VJP: `1/k` on each of the k elements equal to the
/// extreme `out`, 0 elsewhere (a constant of the rule).
fn extreme_share(x: &Tensor, out: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    let hit = extreme_mask(x, &unreduce(out, 0, axes, keepdim)?)?;
    let dims: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
    hit.div(&hit.sum(Some(&dims), true)?)
}

/// The norm VJP's weight `∂‖x‖_p/∂x = sign(x) |x|^(p-1) / ‖x‖^(p-1)` (x/‖x‖ for p = 2),
/// with the norm replaced by 1 where it is 0 (x is 0 there, so the weight is 0).
fn norm_direction(x: &Tensor, out: &Tensor, p: f64, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    let n = unreduce(out, 0, axes, keepdim)?;
    let safe = where_(&n.eq(&n.scalar_like(0.0))?, &n.scalar_like(1.0), &n)?;
    if p == 1.0 {
        x.sign()
    } else if p == 2.0 {
        x.div(&safe)
    } else {
        x.sign()?.mul(&x.abs()?.pow_scalar(p - 1.0)?)?.div(&safe.pow_scalar(p - 1.0)?)
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

/// 1.0 where `x` equals its reduced extreme `m` (NaN counts as equal to a NaN
/// extreme), 0.0 elsewhere; a constant of the rule.
fn extreme_mask(x: &Tensor, m: &Tensor) -> Result<Tensor> {
    let hit = x.eq(m)?.to_dtype(x.dtype())?;
    if !m.to_f64_vec().iter().any(|v| v.is_nan()) {
        return Ok(hit);
    }
    let nan = x.isnan()?.to_dtype(x.dtype())?.mul(&m.isnan()?.to_dtype(x.dtype())?)?;
    hit.maximum(&nan)
}

/// `∏_{k≠i} x_k` over the reduced `axes`, for every element i of x: the reduced axes
/// are moved last and flattened, and the products before and after each element are
/// multiplied.
fn prod_of_others(x: &Tensor, axes: &[usize]) -> Result<Tensor> {
    let nd = x.ndim();
    let perm: Vec<usize> = (0..nd).filter(|a| !axes.contains(a)).chain(axes.iter().copied()).collect();
    let moved = x.permute_exact(&perm)?;
    let kept = nd - axes.len();
    let mut flat: Vec<usize> = moved.shape()[..kept].to_vec();
    flat.push(moved.shape()[kept..].iter().product());
    let lanes = moved.reshape_exact(&flat)?;
    let others = lanes.cumprod_exclusive(-1, false)?.mul(&lanes.cumprod_exclusive(-1, true)?)?;
    let mut inv = vec![0; nd];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    others.reshape_exact(moved.shape())?.permute_exact(&inv)
}

/// A reduction's result is never larger than its input, except over an empty dim: the
/// sum of shape `[n, 0]` over dim 1 is `n` zeros, however large `n` is. So for an empty
/// input (only: this is on every reduction's path) the result's size is checked first.
fn check_result_size(op: &'static str, x: &Tensor, axes: &[usize], keepdim: bool) -> Result<()> {
    if x.numel() > 0 {
        return Ok(());
    }
    let s = x.shape();
    let shape: Vec<usize> =
        (0..s.len()).filter_map(|d| if axes.contains(&d) { keepdim.then_some(1) } else { Some(s[d]) }).collect();
    crate::kernels::elementwise::ensure_allocatable_as(op, x.dtype(), &shape)
}

fn sum_kernel<T: Copy + num_traits::Zero>(a: &ArcArray<T, IxDyn>, axes: &[usize], keepdim: bool) -> ArcArray<T, IxDyn> {
    if let Some(r) = sum_contiguous(a, axes, keepdim) {
        return r;
    }
    let mut r = a.to_owned();
    for &ax in axes.iter().rev() {
        r = r.sum_axis(Axis(ax));
        if keepdim {
            r.insert_axis_inplace(Axis(ax));
        }
    }
    r.into_shared()
}

/// The sum over a run of adjacent axes of a contiguous array, as `[outer, reduced,
/// inner]`: whole rows are added (no copy of the input, no per-axis passes). `None`
/// for other layouts.
fn sum_contiguous<T: Copy + num_traits::Zero>(
    a: &ArcArray<T, IxDyn>,
    axes: &[usize],
    keepdim: bool,
) -> Option<ArcArray<T, IxDyn>> {
    let (&lo, &hi) = (axes.first()?, axes.last()?);
    if axes.windows(2).any(|w| w[1] != w[0] + 1) {
        return None;
    }
    let s = a.as_slice()?;
    let shape = a.shape();
    let outer: usize = shape[..lo].iter().product();
    let reduced: usize = shape[lo..=hi].iter().product();
    let inner: usize = shape[hi + 1..].iter().product();
    let mut out = vec![T::zero(); outer * inner];
    if out.is_empty() {
        // nothing to add
    } else if inner == 1 {
        for (o, lane) in out.iter_mut().zip(s.chunks_exact(reduced.max(1))) {
            *o = lane.iter().fold(T::zero(), |acc, &v| acc + v);
        }
    } else {
        for (dst, block) in out.chunks_exact_mut(inner).zip(s.chunks_exact((reduced * inner).max(1))) {
            for row in block.chunks_exact(inner) {
                dst.iter_mut().zip(row).for_each(|(d, &v)| *d = *d + v);
            }
        }
    }
    let out_shape: Vec<usize> =
        (0..shape.len()).filter_map(|d| if d < lo || d > hi { Some(shape[d]) } else { keepdim.then_some(1) }).collect();
    ArcArray::from_shape_vec(IxDyn(&out_shape), out).ok()
}

/// Apply `f` to every lane over the reduced `axes` (moved last and flattened, in
/// row-major order) and shape the results like a reduction.
fn reduce_lanes<T: Clone, U>(
    a: &ArcArray<T, IxDyn>,
    axes: &[usize],
    keepdim: bool,
    f: impl Fn(ArrayView1<'_, T>) -> U,
) -> Result<ArcArray<U, IxDyn>> {
    let nd = a.ndim();
    let keep: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
    let perm: Vec<usize> = keep.iter().chain(axes).copied().collect();
    let outer: usize = keep.iter().map(|&i| a.shape()[i]).product();
    let n: usize = axes.iter().map(|&i| a.shape()[i]).product();
    let moved = a.view().permuted_axes(IxDyn(&perm));
    let std = moved.as_standard_layout();
    let bad = |e: ndarray::ShapeError| Error::shape("reduce", e.to_string());
    let rows =
        std.view().into_shape_with_order(IxDyn(&[outer, n])).map_err(bad)?.into_dimensionality::<Ix2>().map_err(bad)?;
    let values: Vec<U> = rows.outer_iter().map(f).collect();
    let shape: Vec<usize> = if keepdim {
        (0..nd).map(|i| if axes.contains(&i) { 1 } else { a.shape()[i] }).collect()
    } else {
        keep.iter().map(|&i| a.shape()[i]).collect()
    };
    ArcArray::from_shape_vec(IxDyn(&shape), values).map_err(bad)
}

/// Largest (`max`) or smallest element of a non-empty lane; NaN wins.
fn lane_extreme<T: Copy + PartialOrd>(lane: ArrayView1<'_, T>, max: bool) -> T {
    let mut best = lane[0];
    for &v in lane.iter() {
        #[allow(clippy::eq_op)]
        let v_nan = v != v;
        if v_nan {
            return v;
        }
        if (max && v > best) || (!max && v < best) {
            best = v;
        }
    }
    best
}

/// Index of the first largest (`max`) or smallest element of a non-empty lane; the
/// first NaN wins, as PyTorch.
fn lane_arg_extreme<T: Copy + PartialOrd>(lane: ArrayView1<'_, T>, max: bool) -> i64 {
    let (mut at, mut best) = (0usize, lane[0]);
    #[allow(clippy::eq_op)]
    let is_nan = |v: T| v != v;
    for (i, &v) in lane.iter().enumerate() {
        if is_nan(best) {
            break;
        }
        if is_nan(v) || (max && v > best) || (!max && v < best) {
            at = i;
            best = v;
        }
    }
    at as i64
}

/// `m + log Σ e^(x - m)` with `m` the lane max (0 when it is ±inf, as PyTorch).
fn lane_logsumexp<T: Float>(lane: ArrayView1<'_, T>) -> T {
    let m = lane.iter().fold(f64::NEG_INFINITY, |m, &v| if v.to_f64() > m || v.is_nan() { v.to_f64() } else { m });
    let shift = if m.is_infinite() { 0.0 } else { m };
    let s: f64 = lane.iter().map(|&v| (v.to_f64() - shift).exp()).sum();
    T::of(s.ln() + shift)
}

/// `(Σ |x|^p)^(1/p)`, accumulated in f64.
fn lane_norm<T: Float>(lane: ArrayView1<'_, T>, p: f64) -> T {
    let v = if p == 2.0 {
        lane.iter().map(|&v| v.to_f64() * v.to_f64()).sum::<f64>().sqrt()
    } else if p == 1.0 {
        lane.iter().map(|&v| v.to_f64().abs()).sum::<f64>()
    } else {
        lane.iter().map(|&v| v.to_f64().abs().powf(p)).sum::<f64>().powf(1.0 / p)
    };
    T::of(v)
}

/// The index of the first largest (`max`) or smallest element of each lane of `x`
/// along `axis` (a non-empty dim), as int64.
pub(crate) fn arg_lanes(x: &Tensor, axis: usize, keep: bool, max: bool) -> Result<Tensor> {
    let idx = match x.storage() {
        Storage::F32(a) => reduce_lanes(a, &[axis], keep, |l| lane_arg_extreme(l, max))?,
        Storage::F64(a) => reduce_lanes(a, &[axis], keep, |l| lane_arg_extreme(l, max))?,
        Storage::I64(a) => reduce_lanes(a, &[axis], keep, |l| lane_arg_extreme(l, max))?,
        Storage::Bool(a) => reduce_lanes(a, &[axis], keep, |l| lane_arg_extreme(l, max))?,
    };
    Ok(nondiff::arg_extreme(Storage::I64(idx), axis, keep, max, x))
}

impl Tensor {
    /// Whether any element over `dims` (all for `None`) is nonzero (NaN counts as
    /// nonzero), as a bool tensor: PyTorch's `any`. An empty reduction is false. Bool
    /// results carry no graph.
    pub fn any(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        normalize_axes("any", dims, self.ndim())?; // so a bad dim's error names any, not sum
        let nonzero = self.ne(&Tensor::zeros(&[], self.dtype()))?;
        nonzero.sum(dims, keepdim)?.gt(&Tensor::zeros(&[], DType::I64))
    }

    /// Whether every element over `dims` (all for `None`) is nonzero, as a bool tensor:
    /// PyTorch's `all`. An empty reduction is true.
    pub fn all(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        normalize_axes("all", dims, self.ndim())?; // so a bad dim's error names all, not sum
        let zero = self.eq(&Tensor::zeros(&[], self.dtype()))?;
        zero.sum(dims, keepdim)?.eq(&Tensor::zeros(&[], DType::I64))
    }

    /// Sum a cotangent of shape `batch + s` down to `batch + target`, where `s`
    /// broadcasts to `target`'s right-aligned broadcast (the un-broadcasting of a
    /// binary op's input). `batch` is the number of leading batch dims, left untouched.
    pub fn sum_to(&self, batch: usize, target: &[usize]) -> Result<Tensor> {
        let g = self;
        let gs = g.shape();
        if gs.len() >= batch && &gs[batch..] == target {
            return Ok(g.clone());
        }
        if gs.len() < batch + target.len() {
            return Err(Error::shape(
                "sum_to",
                format!("cotangent of shape {gs:?} (batch rank {batch}) cannot reduce to {target:?}"),
            ));
        }
        let extra = gs.len() - batch - target.len();
        let mut axes: Vec<isize> = (batch..batch + extra).map(|a| a as isize).collect();
        for (i, &t) in target.iter().enumerate() {
            let ax = batch + extra + i;
            if t == 1 && gs[ax] != 1 {
                axes.push(ax as isize);
            } else if t != gs[ax] {
                return Err(Error::shape(
                    "sum_to",
                    format!("cotangent of shape {gs:?} (batch rank {batch}) cannot reduce to {target:?}"),
                ));
            }
        }
        let summed = g.sum(Some(&axes), true)?;
        // keepdim left the `extra` leading axes as 1s: drop them.
        let mut shape: Vec<usize> = gs[..batch].to_vec();
        shape.extend_from_slice(target);
        summed.reshape_exact(&shape)
    }

    /// Sum over `dims` (all when `None`; negative dims count from the end).
    pub fn sum(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        let axes = normalize_axes("sum", dims, self.ndim())?;
        check_result_size("sum", self, &axes, keepdim)?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(sum_kernel(a, &axes, keepdim)),
            Storage::F64(a) => Storage::F64(sum_kernel(a, &axes, keepdim)),
            Storage::I64(a) => Storage::I64(sum_kernel(a, &axes, keepdim)),
            Storage::Bool(_) => {
                return self.to_dtype(DType::I64)?.sum(dims, keepdim);
            }
        };
        Ok(Tensor::from_op(data, ReduceOp::Sum { axes, keepdim }, vec![self.clone()]))
    }

    /// Sum of all elements, a 0-d tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        self.sum(None, false)
    }

    /// Mean over `dims` (all when `None`).
    pub fn mean(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        self.expect_float("mean")?;
        let axes = normalize_axes("mean", dims, self.ndim())?;
        check_result_size("mean", self, &axes, keepdim)?;
        let count: usize = axes.iter().map(|&a| self.shape()[a]).product();
        self.sum(dims, keepdim)?.mul_scalar(1.0 / count as f64)
    }

    /// Product over `dims` (all when `None`); the gradient is exact with zeros.
    ///
    /// ```
    /// use lucid_core::{autograd::{grad, GradOptions}, Tensor, DType};
    /// // p = x0 x1 x2 with x1 = 0: dp/dx = (x0 x2 at x1, 0 elsewhere) = (0, 6, 0)
    /// let x = Tensor::from_vec(vec![2.0, 0.0, 3.0], &[3], DType::F64).unwrap().leaf_requiring_grad().unwrap();
    /// let p = x.prod(None, false).unwrap();
    /// let g = grad(&[p], &[x], &[], GradOptions::default()).unwrap();
    /// assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![0.0, 6.0, 0.0]);
    /// ```
    pub fn prod(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        let axes = normalize_axes("prod", dims, self.ndim())?;
        check_result_size("prod", self, &axes, keepdim)?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(reduce_lanes(a, &axes, keepdim, |l| l.iter().fold(1.0, |p, &v| p * v))?),
            Storage::F64(a) => Storage::F64(reduce_lanes(a, &axes, keepdim, |l| l.iter().fold(1.0, |p, &v| p * v))?),
            Storage::I64(a) => {
                Storage::I64(reduce_lanes(a, &axes, keepdim, |l| l.iter().fold(1i64, |p, &v| p.wrapping_mul(v)))?)
            }
            Storage::Bool(_) => return self.to_dtype(DType::I64)?.prod(dims, keepdim),
        };
        Ok(Tensor::from_op(data, ReduceOp::Prod { axes, keepdim }, vec![self.clone()]))
    }

    fn extreme(&self, name: &'static str, dims: Option<&[isize]>, keepdim: bool, max: bool) -> Result<Tensor> {
        let axes = normalize_axes(name, dims, self.ndim())?;
        if let Some(&a) = axes.iter().find(|&&a| self.shape()[a] == 0) {
            return Err(Error::shape(
                name,
                format!(
                    "cannot reduce over dim {a} of size 0 (shape {:?}): the result would have no value",
                    self.shape()
                ),
            ));
        }
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(reduce_lanes(a, &axes, keepdim, |l| lane_extreme(l, max))?),
            Storage::F64(a) => Storage::F64(reduce_lanes(a, &axes, keepdim, |l| lane_extreme(l, max))?),
            Storage::I64(a) => Storage::I64(reduce_lanes(a, &axes, keepdim, |l| lane_extreme(l, max))?),
            Storage::Bool(a) => Storage::Bool(reduce_lanes(a, &axes, keepdim, |l| lane_extreme(l, max))?),
        };
        let op = if max { ReduceOp::Amax { axes, keepdim } } else { ReduceOp::Amin { axes, keepdim } };
        Ok(Tensor::from_op(data, op, vec![self.clone()]))
    }

    /// Largest value over `dims` (all when `None`). Ties split the gradient evenly
    /// between the tied elements; NaN propagates.
    pub fn amax(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        self.extreme("amax", dims, keepdim, true)
    }

    /// Smallest value over `dims` (all when `None`); ties split the gradient evenly.
    pub fn amin(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        self.extreme("amin", dims, keepdim, false)
    }

    fn arg_extreme(&self, name: &'static str, dim: Option<isize>, keepdim: bool, max: bool) -> Result<Tensor> {
        let (x, axis) = match dim {
            // over all elements: the index into the flattened tensor
            None => (self.reshape_exact(&[self.numel()])?.detach(), 0),
            // a 0-d tensor is one lane of length 1 along "dim 0" (0 or -1, as PyTorch)
            Some(d) if self.ndim() == 0 => {
                if d != 0 && d != -1 {
                    return Err(Error::index(name, format!("dim {d} is out of range for a tensor with 0 dims")));
                }
                (self.reshape_exact(&[1])?.detach(), 0)
            }
            Some(d) => (self.detach(), normalize_axis(name, d, self.ndim())?),
        };
        if x.shape()[axis] == 0 {
            return Err(Error::shape(
                name,
                format!("cannot take the {name} of an empty dim (shape {:?})", self.shape()),
            ));
        }
        let keep = keepdim && dim.is_some() && self.ndim() > 0;
        let t = arg_lanes(&x, axis, keep, max)?;
        // keepdim over all dims keeps every dim as size 1 (PyTorch)
        if keepdim && dim.is_none() {
            return t.reshape_exact(&vec![1; self.ndim()]);
        }
        if dim.is_some() && self.ndim() == 0 {
            return t.reshape_exact(&[]);
        }
        Ok(t)
    }

    /// Index of the first largest element along `dim` (of the flattened tensor when
    /// `None`), an int64 tensor; not differentiable.
    pub fn argmax(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme("argmax", dim, keepdim, true)
    }

    /// Index of the first smallest element along `dim`; see [`Tensor::argmax`].
    pub fn argmin(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme("argmin", dim, keepdim, false)
    }

    /// `(values, indices)` of the largest elements along `dim` (PyTorch's
    /// `max(dim)`); values are differentiable with ties split evenly.
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        Ok((self.amax(Some(&[dim]), keepdim)?, self.argmax(Some(dim), keepdim)?))
    }

    /// `(values, indices)` of the smallest elements along `dim`.
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        Ok((self.amin(Some(&[dim]), keepdim)?, self.argmin(Some(dim), keepdim)?))
    }

    /// `log Σ e^x` over `dims`, computed stably (the max is taken out first).
    pub fn logsumexp(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        let axes = normalize_axes("logsumexp", dims, self.ndim())?;
        check_result_size("logsumexp", self, &axes, keepdim)?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(reduce_lanes(a, &axes, keepdim, lane_logsumexp)?),
            Storage::F64(a) => Storage::F64(reduce_lanes(a, &axes, keepdim, lane_logsumexp)?),
            s => return Err(Error::dtype("logsumexp", format!("expected a floating point tensor, got {}", s.dtype()))),
        };
        Ok(Tensor::from_op(data, ReduceOp::LogSumExp { axes, keepdim }, vec![self.clone()]))
    }

    /// Vector p-norm over `dims` (all when `None`): `p ≥ 1`, `f64::INFINITY`
    /// (max |x|) or `f64::NEG_INFINITY` (min |x|). The Frobenius norm is `p = 2`
    /// over a matrix's two dims. The gradient at a zero norm is 0, as PyTorch.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![3.0, -4.0], &[2], DType::F64).unwrap();
    /// assert_eq!(x.norm(2.0, None, false).unwrap().item().unwrap(), 5.0);
    /// assert_eq!(x.norm(f64::INFINITY, None, false).unwrap().item().unwrap(), 4.0);
    /// ```
    pub fn norm(&self, p: f64, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        self.expect_float("norm")?;
        if p == f64::INFINITY {
            return self.abs()?.amax(dims, keepdim);
        }
        if p == f64::NEG_INFINITY {
            return self.abs()?.amin(dims, keepdim);
        }
        if p.is_nan() || p < 1.0 {
            return Err(Error::argument("norm", format!("p must be ≥ 1, inf or -inf, got {p}")));
        }
        let axes = normalize_axes("norm", dims, self.ndim())?;
        check_result_size("norm", self, &axes, keepdim)?;
        let data = match self.storage() {
            Storage::F32(a) => Storage::F32(reduce_lanes(a, &axes, keepdim, |l| lane_norm(l, p))?),
            Storage::F64(a) => Storage::F64(reduce_lanes(a, &axes, keepdim, |l| lane_norm(l, p))?),
            s => return Err(Error::dtype("norm", format!("expected a floating point tensor, got {}", s.dtype()))),
        };
        Ok(Tensor::from_op(data, ReduceOp::Norm { p, axes, keepdim }, vec![self.clone()]))
    }

    /// Variance over `dims` with `correction` (1: the unbiased estimate, 0: the
    /// population variance): `Σ (x - mean)² / max(N - correction, 0)`, so too few
    /// elements give NaN or inf, as PyTorch. Built from differentiable ops.
    pub fn var(&self, dims: Option<&[isize]>, correction: f64, keepdim: bool) -> Result<Tensor> {
        self.variance("var", dims, correction, keepdim)
    }

    /// [`Tensor::var`], its errors naming `op` (`var` or `std`).
    fn variance(&self, op: &'static str, dims: Option<&[isize]>, correction: f64, keepdim: bool) -> Result<Tensor> {
        self.expect_float(op)?;
        let axes = normalize_axes(op, dims, self.ndim())?;
        check_result_size(op, self, &axes, keepdim)?;
        let n: usize = axes.iter().map(|&a| self.shape()[a]).product();
        let dev = self.sub(&self.mean(dims, true)?)?;
        let dof = (n as f64 - correction).max(0.0);
        dev.square()?.sum(dims, keepdim)?.div(&self.scalar_like(dof))
    }

    /// Standard deviation, `√var` (see [`Tensor::var`]). Its gradient is NaN where the
    /// std of several elements is 0, as PyTorch's. Over one element (with fewer than one
    /// degree of freedom corrected away) the std is identically 0, so its gradient is
    /// exactly 0 in every mode, as HIPS autograd's.
    pub fn std(&self, dims: Option<&[isize]>, correction: f64, keepdim: bool) -> Result<Tensor> {
        self.expect_float("std")?;
        let axes = normalize_axes("std", dims, self.ndim())?;
        let n: usize = axes.iter().map(|&a| self.shape()[a]).product();
        if n == 1 && correction < 1.0 {
            // √((x - x)² / dof): the chain rule would meet √'s infinite slope at 0 with
            // the square's zero one (∞ · 0 = NaN in reverse mode, 0 in forward mode,
            // NOTE [zero in, zero out] in ops/mod.rs); `0 · Σx` is the same value (NaN
            // for NaN or ±inf, as x - mean(x) there) with the exact derivative 0
            return self.sum(dims, keepdim)?.mul_scalar(0.0);
        }
        self.variance("std", dims, correction, keepdim)?.sqrt()
    }
}
