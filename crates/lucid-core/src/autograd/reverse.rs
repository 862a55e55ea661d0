//! The reverse sweep. A [`Plan`] is built once from the roots and targets (an
//! iterative topological sort, pruned to the nodes that lead to a target) and can be
//! run many times with different seeds: the Jacobian runs it once per row, or once
//! with a batch of rows. Cotangents live in slots indexed by plan position and are
//! taken out as they are consumed, so memory is freed during the sweep.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;

use super::rows::Rows;
use super::{diag, embed, sparse_rules};
use crate::error::{Error, Result};
use crate::interrupt::checkpoint;
use crate::ops::zero_in_zero_out;
use crate::structure::Structure;
use crate::tensor::graph::{set_grad_enabled, Rule};
use crate::tensor::Tensor;

/// Tensor ids are addresses, so a multiply-and-fold hash spreads them well enough; the
/// default SipHash cost more than the rest of planning a small graph.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let h = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type IdMap<V> = HashMap<usize, V, BuildHasherDefault<IdHasher>>;
type IdSet = HashSet<usize, BuildHasherDefault<IdHasher>>;

/// A sweep inside a function a tape is recording builds parts of its results outside
/// any op (structured rows written into place), which a replay could not recompute: the
/// recording is marked untraceable, so the tape runs that function on every call.
pub(super) fn note_sweep_while_recording(plan: &Plan) {
    if let Some(first) = plan.steps.first() {
        crate::tensor::recording::note_untraceable(
            "a derivative taken inside the recorded function (grad, backward, jacobian, ...)",
            &[&first.tensor],
        );
    }
}

/// Which tensors a plan delivers cotangents for.
enum Targets<'a> {
    List(&'a [Tensor]),
    /// Every leaf that requires grad (what `backward` accumulates into).
    Leaves,
}

pub(super) struct Step {
    pub(super) tensor: Tensor,
    /// Slot of each input in the plan, `None` where that input leads to no target.
    pub(super) input_slots: Vec<Option<usize>>,
}

/// A reusable reverse sweep from `roots` to `targets`.
pub struct Plan {
    /// Reverse topological order: every step comes before the steps of its inputs.
    pub(super) steps: Vec<Step>,
    /// Slot of each root, `None` when the root leads to no target.
    pub(super) root_slots: Vec<Option<usize>>,
    /// Slot of each target, `None` when the target is not reached from any root.
    pub(super) target_slots: Vec<Option<usize>>,
    /// For each slot, the targets it delivers (a tensor may be listed twice).
    pub(super) delivers: Vec<Vec<usize>>,
    leaves: bool,
}

impl Plan {
    /// Plan a sweep from `roots` to the listed `targets`.
    pub fn new(roots: &[Tensor], targets: &[Tensor]) -> Plan {
        Plan::build(roots, Targets::List(targets))
    }

    /// Plan a sweep from `roots` to every leaf that requires grad.
    pub fn to_leaves(roots: &[Tensor]) -> Plan {
        Plan::build(roots, Targets::Leaves)
    }

    fn build(roots: &[Tensor], targets: Targets<'_>) -> Plan {
        let target_ids: IdSet = match &targets {
            Targets::List(ts) => ts.iter().map(|t| t.id()).collect(),
            Targets::Leaves => IdSet::default(),
        };
        let is_target = |t: &Tensor| match targets {
            Targets::List(_) => target_ids.contains(&t.id()),
            Targets::Leaves => t.is_leaf() && t.requires_grad(),
        };

        // Iterative post-order DFS over tensors that require grad: inputs before users.
        let mut post: Vec<Tensor> = Vec::new();
        let mut index: IdMap<usize> = IdMap::default(); // id -> post position
        let mut needed: Vec<bool> = Vec::new();
        let mut visiting = IdSet::default();
        let mut stack: Vec<(Tensor, usize)> = Vec::new();
        for r in roots.iter().filter(|r| r.requires_grad()) {
            if index.contains_key(&r.id()) || visiting.contains(&r.id()) {
                continue;
            }
            visiting.insert(r.id());
            stack.push((r.clone(), 0));
            while let Some((t, next)) = stack.pop() {
                let inputs: &[Tensor] = t.node().map(|n| n.inputs.as_slice()).unwrap_or(&[]);
                let found =
                    inputs.iter().enumerate().skip(next).find(|(_, c)| {
                        c.requires_grad() && !index.contains_key(&c.id()) && !visiting.contains(&c.id())
                    });
                if let Some((p, child)) = found.map(|(p, c)| (p, c.clone())) {
                    stack.push((t, p + 1));
                    visiting.insert(child.id());
                    stack.push((child, 0));
                    continue;
                }
                let need = is_target(&t) || inputs.iter().any(|c| index.get(&c.id()).is_some_and(|&i| needed[i]));
                index.insert(t.id(), post.len());
                needed.push(need);
                post.push(t);
            }
        }

        // Keep the needed tensors, consumers first, and give each a slot.
        let mut slot_of: IdMap<usize> = IdMap::default();
        let kept: Vec<Tensor> = post.into_iter().zip(needed).rev().filter_map(|(t, need)| need.then_some(t)).collect();
        for (slot, t) in kept.iter().enumerate() {
            slot_of.insert(t.id(), slot);
        }
        let steps: Vec<Step> = kept
            .into_iter()
            .map(|t| {
                let input_slots = t
                    .node()
                    .map(|n| n.inputs.iter().map(|c| slot_of.get(&c.id()).copied()).collect())
                    .unwrap_or_default();
                Step { tensor: t, input_slots }
            })
            .collect();

        let root_slots = roots.iter().map(|r| slot_of.get(&r.id()).copied()).collect();
        let mut delivers = vec![Vec::new(); steps.len()];
        let (target_slots, leaves) = match targets {
            Targets::List(ts) => {
                let slots: Vec<Option<usize>> = ts.iter().map(|t| slot_of.get(&t.id()).copied()).collect();
                for (k, s) in slots.iter().enumerate() {
                    if let Some(s) = s {
                        delivers[*s].push(k);
                    }
                }
                (slots, false)
            }
            Targets::Leaves => (Vec::new(), true),
        };
        Plan { steps, root_slots, target_slots, delivers, leaves }
    }

    /// The number of elements of all tensors the plan visits (a measure of its work).
    pub fn numel(&self) -> usize {
        self.steps.iter().map(|s| s.tensor.numel()).sum()
    }

    /// Whether root `k` leads to at least one target.
    pub fn root_is_connected(&self, k: usize) -> bool {
        self.root_slots.get(k).is_some_and(|s| s.is_some())
    }

    /// Whether target `k` is reached from some root.
    pub fn target_is_reached(&self, k: usize) -> bool {
        self.target_slots.get(k).is_some_and(|s| s.is_some())
    }

    /// The reverse sweep with dense cotangents: `seeds[k]` is root k's cotangent with
    /// `batch` leading batch dims (shape `batch_shape + root.shape`), `None` for zero.
    /// Returns one cotangent per target (`None` where nothing reached it). Rules record
    /// a graph iff `create_graph`; without `retain_graph` the swept nodes are released.
    pub fn pullback_dense(
        &self,
        seeds: &[Option<Tensor>],
        batch: usize,
        retain_graph: bool,
        create_graph: bool,
    ) -> Result<Vec<Option<Tensor>>> {
        let seeds = seeds.iter().map(|s| s.clone().map(Rows::Dense)).collect();
        let out = self.pullback(seeds, batch, retain_graph, create_graph)?;
        out.into_iter().map(|g| g.map(Rows::dense).transpose()).collect()
    }

    /// The reverse sweep: cotangents pulled back from the roots to the targets, kept
    /// structured where the ops allow (NOTE [structured rows]) and returned as they
    /// arrive, structured or dense (the Jacobian writes structured rows straight into
    /// its result).
    pub fn pullback(
        &self,
        seeds: Vec<Option<Rows>>,
        batch: usize,
        retain_graph: bool,
        create_graph: bool,
    ) -> Result<Vec<Option<Rows>>> {
        let _mode = set_grad_enabled(create_graph);
        note_sweep_while_recording(self);
        // NOTE [zero in, zero out] (ops/mod.rs): guarded again only for a non-finite result
        let finite = |(out, leaf_grads): &Swept| {
            out.iter().flatten().all(Rows::all_finite) && leaf_grads.iter().all(|(_, g)| crate::ops::all_finite(g))
        };
        let (out, leaf_grads) = crate::ops::with_zero_guard(|| self.pull(seeds.clone(), batch), finite)?;
        if !retain_graph {
            for step in &self.steps {
                if let Some(node) = step.tensor.node() {
                    node.released.store(true, Ordering::Relaxed);
                }
            }
        }
        if self.leaves {
            for (i, g) in leaf_grads {
                let leaf = &self.steps[i].tensor;
                let g = if create_graph { g } else { g.detach() };
                let total = match leaf.grad() {
                    Some(old) => old.add(&g)?,
                    None => g,
                };
                leaf.set_grad(Some(total))?;
            }
        }
        Ok(out)
    }

    /// One run of [`Plan::pullback`]'s sweep: the targets' cotangents and, when the plan
    /// goes to the leaves, each leaf's gradient by its slot. Releases nothing.
    fn pull(&self, seeds: Vec<Option<Rows>>, batch: usize) -> Result<Swept> {
        let mut slots: Vec<Option<Rows>> = vec![None; self.steps.len()];
        for (seed, slot) in seeds.into_iter().zip(&self.root_slots) {
            if let (Some(seed), Some(slot)) = (seed, slot) {
                accumulate(&mut slots[*slot], seed, false)?;
            }
        }
        let mut out: Vec<Option<Rows>> = vec![None; self.target_slots.len()];
        let mut leaf_grads: Vec<(usize, Tensor)> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let Some(mut g) = slots[i].take() else { continue };
            checkpoint("backward")?;
            for &k in &self.delivers[i] {
                out[k] = Some(g.clone());
            }
            if self.leaves && step.tensor.is_leaf() {
                g = Rows::Dense(g.dense()?);
            }
            let Some(node) = step.tensor.node() else {
                if let (true, Rows::Dense(t)) = (self.leaves, g) {
                    leaf_grads.push((i, t));
                }
                continue;
            };
            let needs: Vec<bool> = step.input_slots.iter().map(Option::is_some).collect();
            if !needs.iter().any(|&n| n) {
                continue;
            }
            if node.released.load(Ordering::Relaxed) {
                return Err(Error::graph(
                    "backward",
                    format!(
                        "trying to backward through the graph a second time (at {}); its saved \
                         tensors were freed by the first backward. Pass retain_graph=True to the \
                         first call if you need to backward twice",
                        node.op.name()
                    ),
                ));
            }
            if let Rows::Sum(_) | Rows::Embedded(_) = g {
                g = Rows::Dense(g.dense()?); // a rule needs the parts added
            }
            let rule: &dyn Rule = node.op.as_ref();
            let structured = structured_vjp(rule, &node.inputs, &step.tensor, &g, &needs).transpose()?;
            let grads: Vec<Option<Rows>> = match structured {
                Some(grads) => grads,
                None => {
                    let g = g.dense()?;
                    // NOTE [embedded rows] (embed.rs): a slice's cotangent stays its window
                    if let Some(gx) = embed::vjp(rule, &node.inputs, &g) {
                        accumulate_into(&mut slots, step.input_slots[0], gx, |s| self.is_final(s))?;
                        continue;
                    }
                    let grads = rule.vjp(&node.inputs, &step.tensor, &g, batch, &needs)?;
                    // NOTE [zero in, zero out] (ops/mod.rs): a zero cotangent entry of an
                    // elementwise op contributes zero, before broadcast dims are summed
                    let elementwise = matches!(rule.structure(), Structure::Elementwise(_));
                    let guard = |gi: Tensor| if elementwise { zero_in_zero_out(&g, gi) } else { Ok(gi) };
                    let grads: Vec<Option<Tensor>> =
                        grads.into_iter().map(|gi| gi.map(guard).transpose()).collect::<Result<_>>()?;
                    drop(g);
                    grads
                        .into_iter()
                        .zip(&node.inputs)
                        .map(|(gi, input)| gi.map(|gi| gi.sum_to(batch, input.shape()).map(Rows::Dense)).transpose())
                        .collect::<Result<_>>()?
                }
            };
            for (gi, slot) in grads.into_iter().zip(&step.input_slots) {
                if let (Some(gi), Some(slot)) = (gi, slot) {
                    let keep_apart = self.is_final(*slot);
                    accumulate(&mut slots[*slot], gi, keep_apart)?;
                }
            }
        }
        Ok((out, leaf_grads))
    }
}

/// A reverse sweep's result: the targets' cotangents, and the leaves' gradients by slot.
type Swept = (Vec<Option<Rows>>, Vec<(usize, Tensor)>);

impl Plan {
    /// Whether step `i`'s cotangent only leaves the sweep (delivered, or a leaf's
    /// gradient), with no rule of the plan to read it.
    fn is_final(&self, i: usize) -> bool {
        let step = &self.steps[i];
        step.tensor.node().is_none() || step.input_slots.iter().all(Option::is_none)
    }
}

/// The VJP of a node for structured cotangents, or `None` when its structure keeps
/// none (the sweep then densifies and runs the dense rule with batch rank 1). A
/// diagonal that no diagonal rule keeps continues as sparse rows.
fn structured_vjp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    g: &Rows,
    needs: &[bool],
) -> Option<Result<Vec<Option<Rows>>>> {
    match g {
        Rows::Dense(_) | Rows::Sum(_) | Rows::Embedded(_) => None,
        Rows::Diag(dr) => diag::vjp(rule, inputs, out, dr, needs)
            .or_else(|| g.sparse().and_then(|sr| sparse_rules::vjp(rule, inputs, out, &sr, needs))),
        Rows::Sparse(sr) => sparse_rules::vjp(rule, inputs, out, sr, needs),
    }
}

/// Add `g` into the slot `slot` of `slots`, if the input leads to a target.
fn accumulate_into(
    slots: &mut [Option<Rows>],
    slot: Option<usize>,
    g: Rows,
    is_final: impl Fn(usize) -> bool,
) -> Result<()> {
    match slot {
        Some(s) => accumulate(&mut slots[s], g, is_final(s)),
        None => Ok(()),
    }
}

/// Add `g` into `slot`; `keep_apart` for a cotangent no rule will read
/// (`Rows::plus_final`).
fn accumulate(slot: &mut Option<Rows>, g: Rows, keep_apart: bool) -> Result<()> {
    *slot = Some(match slot.take() {
        Some(acc) if keep_apart => acc.plus_final(g)?,
        Some(acc) => acc.plus(g)?,
        None => g,
    });
    Ok(())
}

/// Options of [`grad`] and [`backward`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GradOptions {
    /// Keep the graph for another sweep (defaults to `create_graph` in the Python API).
    pub retain_graph: bool,
    /// Record the sweep itself, so the returned gradients can be differentiated.
    pub create_graph: bool,
    /// Return `None` for an input the outputs do not depend on instead of an error.
    pub allow_unused: bool,
}

/// Seeds for `outputs`: the given cotangents (checked) or ones for one-element outputs.
fn seeds_for(op: &'static str, outputs: &[Tensor], grad_outputs: &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> {
    if !grad_outputs.is_empty() && grad_outputs.len() != outputs.len() {
        return Err(Error::argument(
            op,
            format!("got {} outputs but {} grad_outputs", outputs.len(), grad_outputs.len()),
        ));
    }
    let mut seeds = Vec::with_capacity(outputs.len());
    for (k, out) in outputs.iter().enumerate() {
        if !out.requires_grad() {
            return Err(Error::graph(op, format!("element {k} of outputs does not require grad and has no grad_fn")));
        }
        let seed = match grad_outputs.get(k).cloned().flatten() {
            Some(g) => {
                if g.shape() != out.shape() {
                    return Err(Error::shape(
                        op,
                        format!(
                            "grad_outputs[{k}] has shape {:?} but output {k} has shape {:?}",
                            g.shape(),
                            out.shape()
                        ),
                    ));
                }
                if g.dtype() != out.dtype() {
                    g.to_dtype(out.dtype())?
                } else {
                    g
                }
            }
            None => {
                if out.numel() != 1 {
                    return Err(Error::graph(
                        op,
                        format!(
                            "grad can be implicitly created only for one-element outputs; output {k} has shape {:?}",
                            out.shape()
                        ),
                    ));
                }
                Tensor::ones(out.shape(), out.dtype())
            }
        };
        seeds.push(Some(seed));
    }
    Ok(seeds)
}

/// Gradients of `outputs` with respect to `inputs`, weighted by `grad_outputs`
/// (empty: ones for one-element outputs). Leaf `.grad` is not touched.
///
/// ```
/// use lucid_core::{autograd::{grad, GradOptions}, Tensor, DType};
/// // y = x³, dy/dx = 3x² = 12 at x = 2
/// let x = Tensor::scalar(2.0, DType::F64);
/// x.set_requires_grad(true).unwrap();
/// let y = x.mul(&x).unwrap().mul(&x).unwrap();
/// let g = grad(&[y], &[x], &[], GradOptions::default()).unwrap();
/// assert_eq!(g[0].as_ref().unwrap().item().unwrap(), 12.0);
/// ```
pub fn grad(
    outputs: &[Tensor],
    inputs: &[Tensor],
    grad_outputs: &[Option<Tensor>],
    opts: GradOptions,
) -> Result<Vec<Option<Tensor>>> {
    for (k, x) in inputs.iter().enumerate() {
        if !x.requires_grad() {
            return Err(Error::graph("grad", format!("input {k} does not require grad")));
        }
    }
    let seeds = seeds_for("grad", outputs, grad_outputs)?;
    let plan = Plan::new(outputs, inputs);
    let grads = plan.pullback_dense(&seeds, 0, opts.retain_graph, opts.create_graph)?;
    if !opts.allow_unused {
        if let Some(k) = grads.iter().position(Option::is_none) {
            return Err(Error::graph(
                "grad",
                format!(
                    "input {k} was not used in the graph of the outputs; pass allow_unused=True to get None for it"
                ),
            ));
        }
    }
    Ok(grads)
}

/// Accumulate the gradients of `outputs` into the `.grad` of every leaf that requires
/// grad (a thin layer over the same sweep as [`grad`]).
pub fn backward(
    outputs: &[Tensor],
    grad_outputs: &[Option<Tensor>],
    retain_graph: bool,
    create_graph: bool,
) -> Result<()> {
    let seeds = seeds_for("backward", outputs, grad_outputs)?;
    Plan::to_leaves(outputs).pullback_dense(&seeds, 0, retain_graph, create_graph)?;
    Ok(())
}
