//! Scans along one dim: `cumsum`, `cumprod`, and the first-order linear recurrence
//! `h_j = a_j h_{j-1} + b_j` that carries cumprod's derivative.
//!
//! Every op takes a `reverse` flag (scan from the last element back), so the rules
//! never flip. Axes are stored counted from the end (`-1` is the last dim), so the
//! same axis addresses a cotangent with leading batch dims.
//!
//! NOTE: [cumprod with zeros] The textbook rule `revcumsum(g·y)/x` divides by x.
//! Instead, `∂/∂x_j Σ_i g_i y_i = (∏_{k<j} x_k) · z_j` with
//! `z_j = Σ_{i≥j} g_i ∏_{j<k≤i} x_k`, and `z` obeys the reverse recurrence
//! `z_j = g_j + x_{j+1} z_{j+1}` — a linear scan with no division, exact when inputs
//! are zero. The recurrence's own rule is two more recurrences and products, so
//! derivatives of every order stay exact at zeros.

use ndarray::{ArcArray, Axis, IxDyn, Zip};

use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::shape::{broadcast_shapes, normalize_axis};
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
/// Scans along one dim: each output element reads a prefix (or suffix) of its lane.
pub enum ScanOp {
    /// `y_j = Σ_{k≤j} x_k` (`k ≥ j` when reversed)
    CumSum {
        /// The dim scanned (negative counts from the end).
        axis: isize,
        /// Scan from the end of the lane.
        reverse: bool,
    },
    /// `y_j = ∏_{k≤j} x_k` (`k ≥ j` when reversed)
    CumProd {
        /// The dim scanned (negative counts from the end).
        axis: isize,
        /// Scan from the end of the lane.
        reverse: bool,
    },
    /// inputs `(a, b)` of equal shape: `h_j = a_j h_{j-1} + b_j`, `h_{-1} = 0`
    /// (reversed: `h_j = a_j h_{j+1} + b_j`)
    LinRec {
        /// The dim scanned (negative counts from the end).
        axis: isize,
        /// Run the recurrence from the end of the lane.
        reverse: bool,
    },
}

impl Rule for ScanOp {
    // The scanned dim shifts past the batch dim (a shared operand of a recurrence is
    // broadcast over the batch first).
    fn batch(&self, inputs: &[Tensor], batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        use crate::tensor::graph::{all_batched, shift};
        let shifted = match *self {
            ScanOp::CumSum { axis, reverse } => ScanOp::CumSum { axis: shift(axis), reverse },
            ScanOp::CumProd { axis, reverse } => ScanOp::CumProd { axis: shift(axis), reverse },
            ScanOp::LinRec { axis, reverse } => ScanOp::LinRec { axis: shift(axis), reverse },
        };
        shifted.replay(&all_batched(inputs, batched)?, shape, dtype).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        match *self {
            ScanOp::CumSum { axis, reverse } => scan(&inputs[0], axis, reverse, Kind::Sum),
            ScanOp::CumProd { axis, reverse } => scan(&inputs[0], axis, reverse, Kind::Prod),
            ScanOp::LinRec { axis, reverse } => Tensor::linear_recurrence(&inputs[0], &inputs[1], axis, reverse),
        }
    }

    // Each output element of a scan depends on a whole prefix: Jacobians are
    // triangular, which no structured rule follows (the pattern is that prefix).
    fn structure(&self) -> Structure<'_> {
        let (ScanOp::CumSum { axis, reverse } | ScanOp::CumProd { axis, reverse } | ScanOp::LinRec { axis, reverse }) =
            *self;
        Structure::Unstructured(Dependence::Prefix { axis, reverse })
    }

    fn name(&self) -> &'static str {
        match self {
            ScanOp::CumSum { .. } => "cumsum",
            ScanOp::CumProd { .. } => "cumprod",
            ScanOp::LinRec { .. } => "linear_recurrence",
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        _batch: usize,
        needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        Ok(match *self {
            // d cumsum: each x_k feeds every later y_j, so gx = the reversed cumsum of g
            ScanOp::CumSum { axis, reverse } => vec![Some(scan(g, axis, !reverse, Kind::Sum)?)],
            // gx_j = (∏_{k<j} x_k) z_j, z_j = g_j + x_{j+1} z_{j+1}: see NOTE [cumprod with zeros]
            ScanOp::CumProd { axis, reverse } => {
                let x = &inputs[0];
                let before = shift(out, axis, !reverse, 1.0)?; // exclusive products
                let z = Tensor::linear_recurrence(&shift(x, axis, reverse, 0.0)?, g, axis, !reverse)?;
                vec![Some(before.mul(&z)?)]
            }
            // λ_j = g_j + a_{j+1} λ_{j+1} (the adjoint recurrence); gb = λ, ga_j = λ_j h_{j-1}
            ScanOp::LinRec { axis, reverse } => {
                let a = &inputs[0];
                let lambda = Tensor::linear_recurrence(&shift(a, axis, reverse, 0.0)?, g, axis, !reverse)?;
                let ga = if needs[0] { Some(lambda.mul(&shift(out, axis, !reverse, 0.0)?)?) } else { None };
                vec![ga, if needs[1] { Some(lambda) } else { None }]
            }
        })
    }

    // Axes count from the end, so they address tangents with leading batch dims as is.
    fn jvp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        tangents: &[Option<Tensor>],
        _batch: usize,
    ) -> Result<Option<Tensor>> {
        Ok(match *self {
            // d cumsum = cumsum of the tangent
            ScanOp::CumSum { axis, reverse } => match &tangents[0] {
                Some(t) => Some(scan(t, axis, reverse, Kind::Sum)?),
                None => None,
            },
            // y_j = x_j y_{j-1} gives dy_j = x_j dy_{j-1} + y_{j-1} t_j: a linear recurrence
            // with no division, exact at zeros (the transpose of NOTE [cumprod with zeros])
            ScanOp::CumProd { axis, reverse } => match &tangents[0] {
                Some(t) => {
                    let before = shift(out, axis, !reverse, 1.0)?; // exclusive products
                    Some(Tensor::linear_recurrence(&inputs[0], &before.mul(t)?, axis, reverse)?)
                }
                None => None,
            },
            // dh_j = a_j dh_{j-1} + (ta_j h_{j-1} + tb_j): the same recurrence, driven by the tangents
            ScanOp::LinRec { axis, reverse } => {
                let drive = match (&tangents[0], &tangents[1]) {
                    (None, None) => return Ok(None),
                    (Some(ta), tb) => {
                        let ta_h = ta.mul(&shift(out, axis, !reverse, 0.0)?)?;
                        match tb {
                            Some(tb) => ta_h.add(tb)?,
                            None => ta_h,
                        }
                    }
                    (None, Some(tb)) => tb.clone(),
                };
                Some(Tensor::linear_recurrence(&inputs[0], &drive, axis, reverse)?)
            }
        })
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Sum,
    Prod,
}

/// Scan every lane of `a` along `ax` in place with `f(previous result, value)`.
fn scan_lanes<T: Copy>(a: &ArcArray<T, IxDyn>, ax: usize, reverse: bool, f: impl Fn(T, T) -> T) -> ArcArray<T, IxDyn> {
    let mut out = a.to_owned();
    for mut lane in out.lanes_mut(Axis(ax)) {
        let mut prev: Option<T> = None;
        let mut step = |v: &mut T| {
            if let Some(p) = prev {
                *v = f(p, *v);
            }
            prev = Some(*v);
        };
        if reverse {
            lane.iter_mut().rev().for_each(&mut step);
        } else {
            lane.iter_mut().for_each(&mut step);
        }
    }
    out.into_shared()
}

/// Turn `dim` into (axis counted from the end, axis from the start) for `t`.
fn resolve(op: &'static str, t: &Tensor, dim: isize) -> Result<(isize, usize)> {
    let ax = normalize_axis(op, dim, t.ndim())?;
    Ok((ax as isize - t.ndim() as isize, ax))
}

fn scan(x: &Tensor, axis: isize, reverse: bool, kind: Kind) -> Result<Tensor> {
    let name = match kind {
        Kind::Sum => "cumsum",
        Kind::Prod => "cumprod",
    };
    if x.ndim() == 0 {
        // a 0-d tensor is its own scan over "dim 0" (PyTorch accepts 0 and -1)
        if axis != 0 && axis != -1 {
            return Err(Error::index(name, format!("dim {axis} is out of range for a tensor with 0 dims")));
        }
        return scan(&x.reshape_exact(&[1])?, -1, reverse, kind)?.reshape_exact(&[]);
    }
    if x.dtype() == DType::Bool {
        return scan(&x.to_dtype(DType::I64)?, axis, reverse, kind);
    }
    let (neg, ax) = resolve(name, x, axis)?;
    let data = match (x.storage(), kind) {
        (Storage::F32(a), Kind::Sum) => Storage::F32(scan_lanes(a, ax, reverse, |p, v| p + v)),
        (Storage::F64(a), Kind::Sum) => Storage::F64(scan_lanes(a, ax, reverse, |p, v| p + v)),
        (Storage::I64(a), Kind::Sum) => Storage::I64(scan_lanes(a, ax, reverse, i64::wrapping_add)),
        (Storage::F32(a), Kind::Prod) => Storage::F32(scan_lanes(a, ax, reverse, |p, v| p * v)),
        (Storage::F64(a), Kind::Prod) => Storage::F64(scan_lanes(a, ax, reverse, |p, v| p * v)),
        (Storage::I64(a), Kind::Prod) => Storage::I64(scan_lanes(a, ax, reverse, i64::wrapping_mul)),
        (s, _) => return Err(Error::dtype(name, format!("not supported for dtype {}", s.dtype()))),
    };
    let op = match kind {
        Kind::Sum => ScanOp::CumSum { axis: neg, reverse },
        Kind::Prod => ScanOp::CumProd { axis: neg, reverse },
    };
    Ok(Tensor::from_op(data, op, vec![x.clone()]))
}

/// `t` moved one step along `axis` (toward higher indices when `up`), the vacated end
/// filled with `fill`: `up` gives `[fill, t_0, …, t_{n-2}]`, otherwise
/// `[t_1, …, t_{n-1}, fill]`. Differentiable (a slice and a cat).
pub(crate) fn shift(t: &Tensor, axis: isize, up: bool, fill: f64) -> Result<Tensor> {
    let ax = normalize_axis("shift", axis, t.ndim())?;
    let n = t.shape()[ax];
    if n == 0 {
        return Ok(t.clone());
    }
    let mut pad_shape = t.shape().to_vec();
    pad_shape[ax] = 1;
    let pad = Tensor::full(&pad_shape, fill, t.dtype());
    if up {
        Tensor::cat(&[pad, t.narrow(axis, 0, n - 1)?], axis)
    } else {
        Tensor::cat(&[t.narrow(axis, 1, n - 1)?, pad], axis)
    }
}

impl Tensor {
    /// Cumulative sum along `dim`; int64 and bool tensors give int64.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::F64).unwrap();
    /// assert_eq!(x.cumsum(0).unwrap().to_f64_vec(), vec![1.0, 3.0, 6.0]);
    /// ```
    pub fn cumsum(&self, dim: isize) -> Result<Tensor> {
        scan(self, dim, false, Kind::Sum)
    }

    /// Cumulative product along `dim`; its gradient is exact when inputs are zero (see
    /// NOTE [cumprod with zeros] in `ops/scan.rs`), to every order.
    pub fn cumprod(&self, dim: isize) -> Result<Tensor> {
        scan(self, dim, false, Kind::Prod)
    }

    /// Cumulative sum or product along `dim` taken from the last element back.
    pub fn cumsum_reverse(&self, dim: isize) -> Result<Tensor> {
        scan(self, dim, true, Kind::Sum)
    }

    /// `y_j = ∏_{k≥j} x_k` along `dim`.
    pub fn cumprod_reverse(&self, dim: isize) -> Result<Tensor> {
        scan(self, dim, true, Kind::Prod)
    }

    /// Exclusive products along `dim`: `∏_{k<j} x_k` (`∏_{k>j} x_k` when `reverse`),
    /// 1 for the empty product. No division, so exact with zeros.
    pub fn cumprod_exclusive(&self, dim: isize, reverse: bool) -> Result<Tensor> {
        let (neg, _) = resolve("cumprod", self, dim)?;
        shift(&scan(self, neg, reverse, Kind::Prod)?, neg, !reverse, 1.0)
    }

    /// The linear recurrence `h_j = a_j h_{j-1} + b_j` along `dim` (from the last
    /// element back when `reverse`: `h_j = a_j h_{j+1} + b_j`), starting from 0.
    /// `a` and `b` broadcast together. Differentiable in both, to any order.
    pub fn linear_recurrence(a: &Tensor, b: &Tensor, dim: isize, reverse: bool) -> Result<Tensor> {
        let name = "linear_recurrence";
        let dt = DType::promote(a.dtype(), b.dtype());
        if !dt.is_float() {
            return Err(Error::dtype(name, format!("expected floating point tensors, got {dt}")));
        }
        // Equal shapes, so the rule's shifts act on real (not broadcast) lanes.
        let shape = broadcast_shapes(name, a.shape(), b.shape())?;
        let (a, b) = (a.to_dtype(dt)?.expand(&shape)?, b.to_dtype(dt)?.expand(&shape)?);
        let (neg, ax) = resolve(name, &a, dim)?;
        macro_rules! run {
            ($x:expr, $y:expr, $w:path) => {{
                let mut h = $y.to_owned();
                Zip::from(h.lanes_mut(Axis(ax))).and($x.lanes(Axis(ax))).for_each(|mut hl, al| {
                    let n = hl.len();
                    let mut prev = 0.0;
                    for i in 0..n {
                        let j = if reverse { n - 1 - i } else { i };
                        prev = al[j] * prev + hl[j];
                        hl[j] = prev;
                    }
                });
                $w(h.into_shared())
            }};
        }
        let data = match (a.storage(), b.storage()) {
            (Storage::F32(x), Storage::F32(y)) => run!(x, y, Storage::F32),
            (Storage::F64(x), Storage::F64(y)) => run!(x, y, Storage::F64),
            _ => return Err(Error::dtype(name, "mixed dtypes")),
        };
        Ok(Tensor::from_op(data, ScanOp::LinRec { axis: neg, reverse }, vec![a, b]))
    }
}
