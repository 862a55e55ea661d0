//! The forward (tangent) sweep: tangents of the inputs pushed through the graph that
//! one call of the function recorded, in topological order. The function is not
//! called again. It walks the same [`Plan`] as the reverse sweep, backwards.
//!
//! Tangents are batch-polymorphic like cotangents: shape `batch_shape + x.shape`.
//! A forward-mode Jacobian seeds the identity over the inputs, kept diagonal through
//! elementwise ops and sparse past them, exactly as the reverse sweep keeps its seed
//! (see `structured.rs`, `sparse_forward.rs`).

use super::mode::set_grad_enabled;
use super::reverse::Plan;
use super::structured::{structured_jvp, Cot};
use super::Rule;
use crate::error::{Error, Result};
use crate::shape::batched;
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
        let out = self.run_forward_structured(tangents, batch, create_graph)?;
        out.into_iter().map(|t| t.map(Cot::dense).transpose()).collect()
    }

    /// [`Plan::run_forward`] returning the roots' tangents as they arrive, structured
    /// or dense.
    pub fn run_forward_structured(
        &self,
        tangents: Vec<Option<Cot>>,
        batch: usize,
        create_graph: bool,
    ) -> Result<Vec<Option<Cot>>> {
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
            let structured = structured_jvp(&node.op, &node.inputs, &step.tensor, &ins).transpose()?;
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
        Ok(self.root_slots.iter().map(|s| s.and_then(|s| slots[s].clone())).collect())
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
