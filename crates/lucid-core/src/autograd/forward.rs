//! The forward (tangent) sweep: tangents of the inputs pushed through the graph that
//! one call of the function recorded, in topological order. The function is not
//! called again. It walks the same [`Plan`] as the reverse sweep, backwards.
//!
//! Tangents are batch-polymorphic like cotangents: shape `batch_shape + x.shape`.
//! A forward-mode Jacobian seeds the identity over the inputs, kept diagonal through
//! elementwise ops exactly as the reverse sweep keeps its seed (see `structured.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::mode::{enable_grad, set_grad_enabled};
use super::reverse::Plan;
use super::structured::{diag_jvp, Cot};
use super::Rule;
use crate::error::{Error, Result};
use crate::shape::{batched, reduce_to};
use crate::tensor::Tensor;

impl Plan {
    /// Push `tangents` (one per target of the plan, `None` for zero) forward to the
    /// roots. Returns one tangent per root, `None` where no target reaches it.
    /// Tangents record a graph iff `create_graph`.
    pub fn run_forward(
        &self,
        tangents: Vec<Option<Cot>>,
        batch: usize,
        create_graph: bool,
    ) -> Result<Vec<Option<Tensor>>> {
        let _mode = set_grad_enabled(create_graph);
        let mut slots: Vec<Option<Cot>> = vec![None; self.steps.len()];
        for (t, slot) in tangents.into_iter().zip(&self.target_slots) {
            if let (Some(t), Some(slot)) = (t, slot) {
                slots[*slot] = Some(t);
            }
        }
        // Steps are stored consumers-first; walk them inputs-first.
        for i in (0..self.steps.len()).rev() {
            let step = &self.steps[i];
            if !self.delivers[i].is_empty() {
                continue; // a target: its tangent is the seed
            }
            let Some(node) = step.tensor.node() else { continue };
            let ins: Vec<Option<Cot>> = step.input_slots.iter().map(|s| s.and_then(|s| slots[s].clone())).collect();
            if ins.iter().all(Option::is_none) {
                continue;
            }
            if node.released.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::graph(
                    "jvp",
                    format!("the graph was freed by an earlier backward (at {})", node.op.name()),
                ));
            }
            let structured = diag_jvp(&node.op, &node.inputs, &step.tensor, &ins).transpose()?;
            slots[i] = match structured {
                Some(t) => t,
                None => {
                    let dense: Vec<Option<Tensor>> =
                        ins.into_iter().map(|t| t.map(Cot::dense).transpose()).collect::<Result<_>>()?;
                    let t = node.op.rule().jvp(&node.inputs, &step.tensor, &dense, batch)?;
                    t.map(|t| fit(t, batch, &dense, step.tensor.shape())).transpose()?.map(Cot::Dense)
                }
            };
        }
        self.root_slots.iter().map(|s| s.and_then(|s| slots[s].clone()).map(Cot::dense).transpose()).collect()
    }
}

/// Expand a rule's tangent to exactly `batch_shape + out_shape`.
fn fit(t: Tensor, batch: usize, tangents: &[Option<Tensor>], out_shape: &[usize]) -> Result<Tensor> {
    let batch_shape = tangents.iter().flatten().next().map(|t| t.shape()[..batch].to_vec()).unwrap_or_default();
    let want = batched(&batch_shape, out_shape);
    if t.shape() == want.as_slice() {
        Ok(t)
    } else {
        t.expand(&want)
    }
}

/// Pad a tangent of `x` (shape `batch + x.shape`) with size-1 dims after the batch so
/// it broadcasts against `batch + out.shape` (right-aligned broadcasting of the op).
pub(crate) fn align(t: &Tensor, batch: usize, x: &Tensor, out_ndim: usize) -> Result<Tensor> {
    if x.ndim() >= out_ndim {
        return Ok(t.clone());
    }
    let mut shape = t.shape()[..batch].to_vec();
    shape.extend(std::iter::repeat_n(1, out_ndim - x.ndim()));
    shape.extend_from_slice(x.shape());
    t.reshape_exact(&shape)
}

/// The JVP of an elementwise rule. Its Jacobian with respect to each input is diagonal
/// (before broadcasting), hence self-adjoint: the VJP rule applied to the aligned
/// tangent is the JVP, summed over inputs. The result takes the output's dtype (a cast
/// converts tangents forward where its VJP converts cotangents back).
pub(crate) fn elementwise_jvp<R: Rule + ?Sized>(
    rule: &R,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<Tensor>],
    batch: usize,
) -> Result<Option<Tensor>> {
    let mut total: Option<Tensor> = None;
    for (k, t) in tangents.iter().enumerate() {
        let Some(t) = t else { continue };
        let t = align(t, batch, &inputs[k], out.ndim())?;
        let needs: Vec<bool> = (0..inputs.len()).map(|i| i == k).collect();
        let Some(part) = rule.vjp(inputs, out, &t, batch, &needs)?.into_iter().nth(k).flatten() else { continue };
        total = Some(match total {
            Some(acc) => acc.add(&part)?,
            None => part,
        });
    }
    total.map(|t| t.to_dtype(out.dtype())).transpose()
}

/// How many JVPs fell back to `jvp_by_transposition` (tests use it to prove that
/// the explicit rules run).
pub(crate) static FALLBACKS: AtomicUsize = AtomicUsize::new(0);

/// The number of JVPs computed so far by transposing a VJP (process-wide).
#[doc(hidden)]
pub fn transposition_fallbacks() -> usize {
    FALLBACKS.load(Ordering::Relaxed)
}

/// The JVP of any rule by transposing its VJP: the VJP is linear in the cotangent `u`,
/// so `∂/∂u Σ_k ⟨vjp_k(u), t_k⟩ = J t` exactly (one extra small reverse sweep).
pub(crate) fn jvp_by_transposition<R: Rule + ?Sized>(
    rule: &R,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<Tensor>],
    batch: usize,
) -> Result<Option<Tensor>> {
    FALLBACKS.fetch_add(1, Ordering::Relaxed);
    let create_graph = super::is_grad_enabled();
    let Some(first) = tangents.iter().flatten().next() else { return Ok(None) };
    let u = Tensor::zeros(&batched(&first.shape()[..batch], out.shape()), out.dtype()).leaf_requiring_grad()?;
    let s = {
        let _g = enable_grad();
        let needs: Vec<bool> = tangents.iter().map(Option::is_some).collect();
        let cots = rule.vjp(inputs, out, &u, batch, &needs)?;
        let mut s: Option<Tensor> = None;
        for ((c, t), x) in cots.into_iter().zip(tangents).zip(inputs) {
            if let (Some(c), Some(t)) = (c, t) {
                let term = reduce_to(&c, batch, x.shape())?.mul(&t.to_dtype(c.dtype())?)?.sum_all()?;
                s = Some(match s {
                    Some(acc) => acc.add(&term)?,
                    None => term,
                });
            }
        }
        s
    };
    let Some(s) = s.filter(Tensor::requires_grad) else { return Ok(None) };
    let seed = Tensor::ones(&[], s.dtype());
    let jt =
        Plan::new(std::slice::from_ref(&s), std::slice::from_ref(&u)).run(&[Some(seed)], 0, false, create_graph)?;
    Ok(jt.into_iter().next().flatten())
}
