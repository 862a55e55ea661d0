//! The forward (tangent) sweep: tangents of the inputs pushed through the graph that
//! one call of the function recorded, in topological order. The function is not
//! called again. It walks the same [`Plan`] as the reverse sweep, backwards.
//!
//! Tangents are batch-polymorphic like cotangents: shape `batch_shape + x.shape`.
//! A forward-mode Jacobian seeds the identity over the inputs, kept diagonal through
//! elementwise ops and sparse past them, exactly as the reverse sweep keeps its seed
//! (NOTE [structured rows] in `rows.rs`).

use super::reverse::Plan;
use super::rows::Rows;
use super::{diag, sparse_rules};
use crate::error::{Error, Result};
use crate::interrupt::checkpoint;
use crate::shape::batched;
use crate::tensor::graph::{set_grad_enabled, Rule};
use crate::tensor::Tensor;

impl Plan {
    /// The forward sweep with dense tangents: `tangents[k]` for target k (shape
    /// `batch_shape + target.shape`, `None` for zero). Returns one tangent per root,
    /// `None` where no target reaches it. Tangents record a graph iff `create_graph`.
    pub fn pushforward_dense(
        &self,
        tangents: Vec<Option<Tensor>>,
        batch: usize,
        create_graph: bool,
    ) -> Result<Vec<Option<Tensor>>> {
        let tangents = tangents.into_iter().map(|t| t.map(Rows::Dense)).collect();
        let out = self.pushforward(tangents, batch, create_graph)?;
        out.into_iter().map(|t| t.map(Rows::dense).transpose()).collect()
    }

    /// The forward sweep: tangents pushed from the targets (the inputs) to the roots,
    /// kept structured where the ops allow and returned as they arrive.
    pub fn pushforward(
        &self,
        tangents: Vec<Option<Rows>>,
        batch: usize,
        create_graph: bool,
    ) -> Result<Vec<Option<Rows>>> {
        let _mode = set_grad_enabled(create_graph);
        super::reverse::note_sweep_while_recording(self);
        // NOTE [zero in, zero out] (ops/mod.rs): guarded again only for a non-finite result
        let finite = |out: &Vec<Option<Rows>>| out.iter().flatten().all(Rows::all_finite);
        crate::ops::with_zero_guard(|| self.push(tangents.clone(), batch), finite)
    }

    /// One run of [`Plan::pushforward`]'s sweep.
    fn push(&self, tangents: Vec<Option<Rows>>, batch: usize) -> Result<Vec<Option<Rows>>> {
        let mut slots: Vec<Option<Rows>> = vec![None; self.steps.len()];
        // readers left per slot (the roots count as readers): a tangent is dropped once
        // its last reader has run, so the sweep holds a frontier of tangents, not all
        let mut readers = vec![0usize; self.steps.len()];
        for s in self.steps.iter().flat_map(|step| step.input_slots.iter().flatten()) {
            readers[*s] += 1;
        }
        for s in self.root_slots.iter().flatten() {
            readers[*s] += 1;
        }
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
            checkpoint("jvp")?;
            let ins: Vec<Option<Rows>> = step.input_slots.iter().map(|s| s.and_then(|s| slots[s].clone())).collect();
            for s in step.input_slots.iter().flatten() {
                readers[*s] -= 1;
                if readers[*s] == 0 {
                    slots[*s] = None;
                }
            }
            if ins.iter().all(Option::is_none) {
                continue;
            }
            if node.released.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::graph(
                    "jvp",
                    format!("the graph was freed by an earlier backward (at {})", node.op.name()),
                ));
            }
            let rule: &dyn Rule = node.op.as_ref();
            let structured = structured_jvp(rule, &node.inputs, &step.tensor, &ins).transpose()?;
            slots[i] = match structured {
                Some(t) => t,
                None => {
                    let dense: Vec<Option<Tensor>> =
                        ins.into_iter().map(|t| t.map(Rows::dense).transpose()).collect::<Result<_>>()?;
                    let t = rule.jvp(&node.inputs, &step.tensor, &dense, batch)?;
                    t.map(|t| fit(t, batch, &dense, step.tensor.shape())).transpose()?.map(Rows::Dense)
                }
            };
        }
        Ok(self.root_slots.iter().map(|s| s.and_then(|s| slots[s].clone())).collect())
    }
}

/// The output tangent of a node for structured input tangents, or `None` when its
/// structure keeps none (the sweep then densifies and runs the dense JVP rule).
/// Diagonals that no diagonal rule keeps continue as sparse rows.
fn structured_jvp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<Rows>],
) -> Option<Result<Option<Rows>>> {
    if let Some(t) = diag::jvp(rule, inputs, out, tangents) {
        return Some(t);
    }
    let mut sparse = Vec::with_capacity(tangents.len());
    for t in tangents {
        sparse.push(match t {
            None => None,
            Some(t) => Some(t.sparse()?),
        });
    }
    let rows: Vec<usize> = sparse.iter().flatten().map(|s| s.rows).collect();
    if rows.is_empty() || rows.iter().any(|&r| r != rows[0]) {
        return None;
    }
    sparse_rules::jvp(rule, inputs, out, &sparse)
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
