//! Cotangents that are zero outside one window of their tensor: what a slice `x[items]`
//! sends back to `x`.
//!
//! NOTE [embedded rows]: a slice's dense VJP is zeros of x's whole shape with the
//! cotangent written at the window. A function of the rows `C[0]`, …, `C[10]` of one
//! matrix then pays, per slice and per sweep, a zero tensor of C's full size and a
//! full-size add into C's cotangent: eleven full passes where one would do (issue 19:
//! 9× the time of the same function of eleven separate leaves). Instead, while the
//! sweep records nothing, a slice's VJP is kept as the window's values and where they
//! sit ([`EmbedRows`]); equal windows add window-sized, different ones are kept apart
//! as parts of a [`Rows::Sum`], and the whole tensor is written once, where a rule or
//! the caller needs it dense (or straight into a Jacobian's result). Under
//! `create_graph` the sweep records the ordinary dense rule, differentiable again.

use ndarray::{ArcArray, IxDyn};

use super::rows::Rows;
use crate::dtype::{Float, Storage};
use crate::error::{Error, Result};
use crate::structure::{numel, Move, Resolved, Structure};
use crate::tensor::graph::{is_grad_enabled, Rule};
use crate::tensor::Tensor;

/// Zeros of `shape` with `g` written at `items` (which cover every dim of `shape`),
/// held as `g` and the items (NOTE [embedded rows]).
#[derive(Clone, Debug)]
pub struct EmbedRows {
    /// The window's values, shape `shape[items]`.
    pub g: Tensor,
    /// The window, one item per dim of `shape` (leading batch dims as full ranges).
    pub items: Vec<Resolved>,
    /// The shape of the tensor these rows stand for, batch dims first.
    pub shape: Vec<usize>,
}

/// A slice's cotangent for input `x` as embedded rows, or `None` when the node is no
/// slice or the sweep records (the dense rule is then the differentiable one).
pub(super) fn vjp(rule: &dyn Rule, inputs: &[Tensor], g: &Tensor) -> Option<Rows> {
    if is_grad_enabled() {
        return None;
    }
    let Structure::Moves(Move::Window(items)) = rule.structure() else { return None };
    EmbedRows::of_window(items, inputs.first()?.shape(), g).map(Rows::Embedded)
}

impl EmbedRows {
    /// The cotangent of `x` (shape `x_shape`) for `g`, the cotangent of `x[items]` with
    /// any leading dims: the items act on x's trailing dims, the rest passes through.
    /// `None` when `g` does not fit the window (the dense rule then says why).
    fn of_window(items: &[Resolved], x_shape: &[usize], g: &Tensor) -> Option<EmbedRows> {
        let in_dims = items.iter().filter(|r| !matches!(r, Resolved::NewAxis)).count();
        let out_dims = items.iter().filter(|r| !matches!(r, Resolved::Index(_))).count();
        let x_lead = x_shape.len().checked_sub(in_dims)?;
        let g_lead = g.ndim().checked_sub(out_dims)?;
        let mut shape = g.shape()[..g_lead].to_vec();
        shape.extend_from_slice(&x_shape[x_lead..]);
        let mut full: Vec<Resolved> =
            shape[..g_lead].iter().map(|&n| Resolved::Range { start: 0, step: 1, len: n }).collect();
        full.extend_from_slice(items);
        let e = EmbedRows { g: g.clone(), items: full, shape };
        (e.window_shape() == g.shape()).then_some(e)
    }

    /// The shape of the window the items cut out of `shape`.
    fn window_shape(&self) -> Vec<usize> {
        self.items
            .iter()
            .filter_map(|r| match *r {
                Resolved::Index(_) => None,
                Resolved::Range { len, .. } => Some(len),
                Resolved::NewAxis => Some(1),
            })
            .collect()
    }

    /// Add the window into `out`, a contiguous float matrix of row length `ld` in which
    /// these rows (`shape[0]` of them, `numel(shape[1..])` long) start at row `row0`,
    /// column `col0`: only the window's elements are touched.
    pub(super) fn write_into(&self, out: &mut Storage, ld: usize, row0: usize, col0: usize) -> Result<()> {
        let g = if self.g.dtype() == out.dtype() { self.g.clone() } else { self.g.to_dtype(out.dtype())? };
        match (out, g.storage()) {
            (Storage::F32(z), Storage::F32(v)) => {
                self.add_window(z.as_slice_mut().ok_or_else(bad_fit)?, v, ld, row0, col0)
            }
            (Storage::F64(z), Storage::F64(v)) => {
                self.add_window(z.as_slice_mut().ok_or_else(bad_fit)?, v, ld, row0, col0)
            }
            (other, _) => Err(Error::dtype("jacobian", format!("cannot write a Jacobian of dtype {}", other.dtype()))),
        }
    }

    /// [`EmbedRows::write_into`] for values of the result's dtype. The window is an
    /// affine map of its coordinates into `z` (element `c` at `base + Σ c_d stride_d`),
    /// walked line by line along its last dim, so a window whose last dim is contiguous
    /// adds slice to slice.
    fn add_window<T: Float>(
        &self,
        z: &mut [T],
        values: &ArcArray<T, IxDyn>,
        ld: usize,
        row0: usize,
        col0: usize,
    ) -> Result<()> {
        // `shape` laid over z: the first dim steps by rows of z, the rest row-major
        let mut strides: Vec<isize> = crate::structure::row_major(&self.shape).iter().map(|&s| s as isize).collect();
        if let Some(first) = strides.first_mut() {
            *first = ld as isize;
        }
        let mut base = (row0 * ld + col0) as isize;
        let mut dims: Vec<(usize, isize)> = Vec::with_capacity(self.items.len()); // (len, stride) per window dim
        let mut d = 0;
        for r in &self.items {
            match *r {
                Resolved::Index(i) => base += i as isize * strides[d],
                Resolved::Range { start, step, len } => {
                    base += start as isize * strides[d];
                    dims.push((len, step * strides[d]));
                }
                Resolved::NewAxis => dims.push((1, 0)),
            }
            if !matches!(r, Resolved::NewAxis) {
                d += 1;
            }
        }
        let lens: Vec<usize> = dims.iter().map(|&(n, _)| n).collect();
        if lens != values.shape() || d != self.shape.len() {
            return Err(bad_fit());
        }
        if lens.contains(&0) {
            return Ok(());
        }
        // every offset the window reaches lies in z: the extremes are checked once
        let (lo, hi) = dims.iter().fold((base, base), |(lo, hi), &(n, s)| {
            let reach = (n as isize - 1) * s;
            (lo + reach.min(0), hi + reach.max(0))
        });
        if lo < 0 || hi as usize >= z.len() {
            return Err(bad_fit());
        }
        let values = values.as_standard_layout();
        let src = values.as_slice().ok_or_else(bad_fit)?;
        let (inner, step) = dims.pop().unwrap_or((1, 0));
        let mut at = vec![0usize; dims.len()]; // the odometer over the outer window dims
        let mut o = base; // the offset of the current line, kept in step with the odometer
        for line in src.chunks_exact(inner) {
            if step == 1 {
                let o = o as usize;
                z[o..o + inner].iter_mut().zip(line).for_each(|(a, &b)| *a = *a + b);
            } else {
                for (k, &b) in line.iter().enumerate() {
                    let e = (o + k as isize * step) as usize;
                    z[e] = z[e] + b;
                }
            }
            for (c, &(n, s)) in at.iter_mut().zip(&dims).rev() {
                *c += 1;
                o += s;
                if *c < n {
                    break;
                }
                o -= n as isize * s;
                *c = 0;
            }
        }
        Ok(())
    }

    /// The dense tensor: zeros with the window written once.
    pub(super) fn dense(&self) -> Result<Tensor> {
        let dtype = super::rows::float_of(&self.g);
        let mut z = Storage::try_full("index_backward", dtype, &[numel(&self.shape)], 0.0)?;
        self.write_into(&mut z, numel(self.shape.get(1..).unwrap_or(&[])), 0, 0)?;
        Tensor::from_storage(z).reshape_exact(&self.shape)
    }

    /// Whether `other` is the same window of a tensor of the same shape.
    pub(super) fn same_window(&self, other: &EmbedRows) -> bool {
        self.items == other.items && self.shape == other.shape
    }

    /// Two [`EmbedRows::same_window`]s summed: their values added.
    pub(super) fn plus_same(&self, other: &EmbedRows) -> Result<EmbedRows> {
        Ok(EmbedRows { g: self.g.add(&other.g)?, items: self.items.clone(), shape: self.shape.clone() })
    }
}

fn bad_fit() -> Error {
    Error::shape("index_backward", "internal: embedded rows do not fit the matrix they are written into")
}
