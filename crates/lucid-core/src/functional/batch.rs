//! Batched replay: a tape run once over a whole batch of inputs, and per-sample
//! derivatives read off the one batched graph it builds.
//!
//! NOTE [batched replay]: `vmap(f)` over B samples could replay f's tape B times (one
//! sweep's machinery per sample, ~14 µs each). Instead each recorded step runs once on
//! the batch: its inputs either carry a leading batch dim B (they depend on a mapped
//! input) or are the per-sample value shared by every sample (constants, unmapped
//! inputs). The op's batching rule (`Rule::batch`, written beside its forward in its
//! family's file) computes the per-sample results stacked as `(B, *shape)` with
//! ordinary Tensor ops — an elementwise op aligns ranks (a batched operand whose
//! per-sample rank is below the output's gets size-1 dims after the batch dim) and
//! runs as it is; reductions, scans, permutes and joins shift their dims by one;
//! `W @ x` with one `W` and a batch of vectors is `x @ Wᵀ`, one GEMM. An op without a
//! rule runs once per sample (select sample b of each batched input, replay, stack):
//! correct and differentiable, only slower, and counted ([`batch_fallbacks`]).
//!
//! Guards: a value the function looked at must equal the recorded one for every
//! sample. When some sample differs the batched replay gives up (`None`) and the
//! caller maps per sample, where each sample takes its own branch: never a wrong
//! answer. Random draws were frozen into the tape while recording (they are
//! constants), which is `vmap(randomness="same")`.
//!
//! Per-sample derivatives: the samples of a batched graph do not interact, so the
//! Jacobian of output `h(X)` (shape `(B, *m)`) w.r.t. a batched leaf `X` (`(B, *n)`)
//! is block diagonal over the batch. Reverse mode seeds, for each of the `M = |m|`
//! rows, the one-hot cotangent in every sample at once (seed `(M, B, *m)`, one sweep
//! with batch rank 1, which equals the Jacobian of `h(X).sum(0)`); forward mode seeds
//! the per-sample identity over `n` the same way. Both give `(B, *m, *n)` after the
//! batch dim moves to the front. A derivative w.r.t. an argument shared by every
//! sample is taken by expanding it to a batched leaf first (the caller does this).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::prepare_inputs;
use super::tape::{same_values, Arg, Graph, Tape, TapeCache, Taped};
use crate::autograd::{is_grad_enabled, no_grad, set_grad_enabled, Plan};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::tensor::graph::{size_of, with_batch, Rule};
use crate::tensor::recording;
use crate::tensor::Tensor;

/// Ops that ran per sample for want of a batching rule, by name (over the process).
static FALLBACKS: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());

/// How many times each op ran once per sample in a batched replay because it has no
/// batching rule (NOTE \[batched replay\]), counted over the process.
///
/// ```
/// let before = lucid_core::functional::batch_fallbacks();
/// assert!(before.values().all(|&n| n > 0));
/// ```
pub fn batch_fallbacks() -> BTreeMap<&'static str, usize> {
    FALLBACKS.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// A graph of a function over a batch, from [`Tape::replay_batched`].
pub struct Batched {
    /// Leaves and outputs: each output is shaped `(B, *out_shape)` (one that no batched
    /// input reaches is broadcast over the batch).
    pub graph: Graph,
    /// The batch size B.
    pub size: usize,
    /// The steps that ran once per sample (ops without a batching rule), by op name.
    pub fallbacks: Vec<&'static str>,
    /// The most elements any step holds per sample: with B, what a sweep's cotangent
    /// row costs ([`rows_per_sweep`]).
    pub widest: usize,
}

/// Rows (or columns) per sweep of [`per_sample_jacobian`] over a batched graph whose
/// widest step holds `widest` elements per sample: about 2^19 elements of cotangent
/// per step (4 MB in float64), so every temporary of a sweep stays small enough to be
/// reused warm rather than faulted in fresh (a 1 000-sample MLP Jacobian ran 1.5x
/// faster in chunks of 2 rows than in one sweep of 32).
pub fn rows_per_sweep(size: usize, widest: usize) -> usize {
    ((1usize << 19) / size.saturating_mul(widest).max(1)).max(1)
}

/// The op once per sample, stacked: the fallback for ops without a batching rule.
fn per_sample(
    rule: &dyn Rule,
    inputs: &[Tensor],
    batched: &[bool],
    shape: &[usize],
    dtype: DType,
    size: usize,
) -> Result<Tensor> {
    let mut outs = Vec::with_capacity(size);
    for b in 0..size {
        let args: Vec<Tensor> = inputs
            .iter()
            .zip(batched)
            .map(|(x, &is)| if is { x.select(0, b as isize) } else { Ok(x.clone()) })
            .collect::<Result<_>>()?;
        outs.push(rule.replay(&args, shape, dtype)?);
    }
    Tensor::stack(&outs, 0)
}

/// Whether every sample of batched `t` equals the guard's value (bit for bit).
fn holds_per_sample(t: &Tensor, guard: &Storage, size: usize) -> Result<bool> {
    let _g = no_grad();
    for b in 0..size {
        if !same_values(t.select(0, b as isize)?.storage(), guard) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Tape {
    /// Replay the tape once over a batch (NOTE \[batched replay\]): `batched[k]` says
    /// whether `inputs[k]` has a leading batch dim B in front of the recorded input
    /// shape, else it is one value shared by every sample. `None` when a guard misses
    /// for some sample, or the shapes do not fit (the caller then maps per sample).
    /// `grad` as in [`Tape::replay`]: the inputs become leaves requiring grad.
    ///
    /// ```
    /// use lucid_core::{functional::Tape, Tensor, DType};
    /// let x = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F64).unwrap();
    /// let (tape, _) = Tape::record(|x| Ok(vec![x[0].mul(&x[0])?.sum_all()?]), &[x]).unwrap();
    /// let xs = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], DType::F64).unwrap();
    /// let b = tape.replay_batched("vmap", &[xs], &[true], false).unwrap().unwrap();
    /// assert_eq!(b.graph.outputs[0].to_f64_vec(), vec![5.0, 25.0]);
    /// assert!(b.fallbacks.is_empty());
    /// ```
    pub fn replay_batched(
        &self,
        op: &'static str,
        inputs: &[Tensor],
        batched: &[bool],
        grad: bool,
    ) -> Result<Option<Batched>> {
        if let Some(why) = &self.untraceable {
            return Err(Error::argument(op, format!("this tape cannot be replayed: {why}")));
        }
        if batched.len() != inputs.len() {
            return Err(Error::argument(
                op,
                format!("got {} batched flags for {} inputs", batched.len(), inputs.len()),
            ));
        }
        let Some(size) = inputs.iter().zip(batched).find(|(_, &b)| b).map(|(x, _)| x.shape().first().copied()) else {
            return Err(Error::argument(op, "no input is batched"));
        };
        let Some(size) = size.filter(|&s| s > 0) else {
            return Err(Error::shape(op, "a batched input needs a non-empty leading batch dim"));
        };
        let fits = inputs.len() == self.inputs.len()
            && inputs.iter().zip(batched).zip(&self.inputs).all(|((x, &b), (shape, dtype))| {
                let own = if b {
                    x.shape().split_first().filter(|(&s, _)| s == size).map(|(_, r)| r)
                } else {
                    Some(x.shape())
                };
                own == Some(shape.as_slice()) && x.dtype() == *dtype
            });
        if !fits {
            return Ok(None);
        }
        for (k, v) in &self.input_guards {
            recording::note_escape(&inputs[*k]);
            let holds = if batched[*k] {
                holds_per_sample(&inputs[*k], v, size)?
            } else {
                same_values(inputs[*k].storage(), v)
            };
            if !holds {
                return Ok(None);
            }
        }
        let leaves = if grad { prepare_inputs(op, inputs)? } else { inputs.to_vec() };
        let graph_on = grad || is_grad_enabled();
        let mut values: Vec<(Tensor, bool)> = Vec::with_capacity(self.steps.len());
        let value = |a: &Arg, values: &[(Tensor, bool)]| match a {
            Arg::Input(k) => (leaves[*k].clone(), batched[*k]),
            Arg::Step(s) => values[*s].clone(),
            Arg::Const(t) => (t.clone(), false),
        };
        let mut fallbacks = Vec::new();
        for step in &self.steps {
            let (args, flags): (Vec<Tensor>, Vec<bool>) = step.args.iter().map(|a| value(a, &values)).unzip();
            let any = flags.iter().any(|&b| b);
            let out = {
                let _g = set_grad_enabled(graph_on && step.grad);
                if !any {
                    step.rule.replay(&args, &step.shape, step.dtype)?
                } else if let Some(t) = step.rule.batch(&args, &flags, &step.shape, step.dtype)? {
                    t
                } else {
                    fallbacks.push(step.rule.name());
                    per_sample(step.rule.as_ref(), &args, &flags, &step.shape, step.dtype, size)?
                }
            };
            let expected = if any { with_batch(size, &step.shape) } else { step.shape.clone() };
            if out.shape() != expected.as_slice() || out.dtype() != step.dtype {
                return Err(Error::argument(
                    op,
                    format!(
                        "internal: batching {} gave shape {:?} {} where {:?} {} was expected",
                        step.rule.name(),
                        out.shape(),
                        out.dtype(),
                        expected,
                        step.dtype
                    ),
                ));
            }
            if let Some(g) = &step.guard {
                recording::note_escape(&out);
                let holds = if any { holds_per_sample(&out, g, size)? } else { same_values(out.storage(), g) };
                if !holds {
                    return Ok(None);
                }
            }
            values.push((out, any));
        }
        if !fallbacks.is_empty() {
            let mut all = FALLBACKS.lock().unwrap_or_else(PoisonError::into_inner);
            for name in &fallbacks {
                *all.entry(name).or_default() += 1;
            }
        }
        let outputs = self
            .outputs
            .iter()
            .map(|a| {
                let (t, b) = value(a, &values);
                let _g = set_grad_enabled(graph_on);
                if b {
                    Ok(t)
                } else {
                    t.unsqueeze(0)?.expand(&with_batch(size, t.shape()))
                }
            })
            .collect::<Result<_>>()?;
        let widest = self.steps.iter().map(|s| s.shape.iter().product::<usize>()).max().unwrap_or(1);
        let graph = Graph { leaves, outputs, tuple_output: self.tuple_output, replayed: true, steps: self.steps.len() };
        Ok(Some(Batched { graph, size, fallbacks, widest }))
    }
}

impl TapeCache {
    /// [`Tape::replay_batched`] with the first tape held whose guards hold for every
    /// sample; `None` when none does (or a recording was untraceable).
    pub fn replay_batched(
        &self,
        op: &'static str,
        inputs: &[Tensor],
        batched: &[bool],
        grad: bool,
    ) -> Result<Option<Batched>> {
        let tapes = self.tapes();
        if tapes.iter().any(|t| t.untraceable().is_some()) {
            return Ok(None);
        }
        for tape in &tapes {
            if let Some(b) = tape.replay_batched(op, inputs, batched, grad)? {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }
}

/// A per-sample derivative transform, for [`TapeCache::per_sample`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The Jacobian by reverse mode (`jacrev`).
    JacRev,
    /// The Jacobian by forward mode (`jacfwd`).
    JacFwd,
    /// The gradient of a one-element output, shaped as the input (`grad`).
    Grad,
}

impl TapeCache {
    /// Per-sample values or derivatives of the taped function over a batch
    /// (NOTE \[batched replay\]): `levels` lists derivative transforms from the
    /// innermost out (none: the function's outputs), each w.r.t. the first `ndiff`
    /// inputs, which must be batched. Returns the final outputs, each `(B, ...)`,
    /// flattened output-major then input, and the ops that ran once per sample;
    /// `None` when a guard differs between samples. The batch runs in sub-batches sized
    /// so that a sweep's temporaries stay around 2^19 elements (they are then reused
    /// warm instead of faulted in fresh); `chunk` rows per sweep when given.
    ///
    /// ```
    /// use lucid_core::functional::{Level, Tape, TapeCache};
    /// use lucid_core::{Tensor, DType};
    /// let cache = TapeCache::new(1);
    /// let x = Tensor::zeros(&[2], DType::F64);
    /// cache.graph("tape", &[x], false, |x| Ok((vec![x[0].mul(&x[0])?.sum_all()?], false))).unwrap();
    /// let xs = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], DType::F64).unwrap();
    /// let (g, _) = cache.per_sample(&[xs], &[true], &[Level::Grad], 1, None, false).unwrap().unwrap();
    /// assert_eq!(g[0].to_f64_vec(), vec![2.0, 4.0, 6.0, 8.0]);
    /// ```
    pub fn per_sample(
        &self,
        inputs: &[Tensor],
        batched: &[bool],
        levels: &[Level],
        ndiff: usize,
        chunk: Option<usize>,
        create_graph: bool,
    ) -> Result<Option<(Vec<Tensor>, Vec<&'static str>)>> {
        const OP: &str = "vmap";
        if ndiff > inputs.len() || batched.iter().take(ndiff).any(|b| !b) || batched.len() < ndiff {
            return Err(Error::argument(OP, "the differentiated inputs must be the first ones, and batched"));
        }
        let Some(tape) = self.tapes().into_iter().next() else {
            return Err(Error::argument(OP, "the cache holds no tape"));
        };
        let size = size_of(inputs, batched);
        let widest = tape.steps.iter().map(|s| s.shape.iter().product::<usize>()).max().unwrap_or(1).max(1);
        // rows of the first sweep: the outputs' (reverse) or the inputs' (forward) sizes
        let rows = match levels.first() {
            None => 1,
            Some(Level::JacFwd) => tape.inputs[..ndiff].iter().map(|(s, _)| s.iter().product::<usize>()).sum(),
            Some(_) => tape.outputs_numel(),
        }
        .max(1);
        let sub = ((1usize << 19) / widest.saturating_mul(rows)).clamp(1, size.max(1));
        let mut parts: Vec<Vec<Tensor>> = Vec::new();
        let mut fallbacks = Vec::new();
        let mut start = 0;
        while start < size {
            let len = sub.min(size - start);
            let part: Vec<Tensor> = if len == size {
                inputs.to_vec()
            } else {
                inputs
                    .iter()
                    .zip(batched)
                    .map(|(x, &b)| if b { x.narrow(0, start, len) } else { Ok(x.clone()) })
                    .collect::<Result<_>>()?
            };
            let Some(b) = self.replay_batched(OP, &part, batched, !levels.is_empty())? else {
                return Ok(None);
            };
            let leaves = &b.graph.leaves[..ndiff];
            let chunk = chunk.unwrap_or_else(|| rows_per_sweep(b.size, b.widest));
            let mut outs = b.graph.outputs;
            for (i, level) in levels.iter().enumerate() {
                let keep = create_graph || i + 1 < levels.len();
                let blocks = per_sample_jacobian(&outs, leaves, *level == Level::JacFwd, Some(chunk), keep)?;
                outs = if *level == Level::Grad {
                    let [o] = outs.as_slice() else {
                        return Err(Error::argument("grad", "the function must return one one-element Tensor"));
                    };
                    if o.numel() != b.size {
                        return Err(Error::argument(
                            "grad",
                            format!("the function must return a one-element Tensor, got shape {:?}", &o.shape()[1..]),
                        ));
                    }
                    let _g = set_grad_enabled(keep);
                    blocks[0].iter().zip(leaves).map(|(g, x)| g.reshape_exact(x.shape())).collect::<Result<_>>()?
                } else {
                    blocks.into_iter().flatten().collect()
                };
            }
            if !create_graph {
                outs = outs.iter().map(Tensor::detach).collect();
            }
            fallbacks.extend(b.fallbacks);
            parts.push(outs);
            start += len;
        }
        let outs = if parts.len() == 1 {
            parts.pop().unwrap_or_default()
        } else {
            let _g = set_grad_enabled(create_graph);
            (0..parts[0].len())
                .map(|k| Tensor::cat(&parts.iter().map(|p| p[k].clone()).collect::<Vec<_>>(), 0))
                .collect::<Result<_>>()?
        };
        Ok(Some((outs, fallbacks)))
    }
}

impl Tape {
    /// The elements of the recorded outputs, per sample.
    fn outputs_numel(&self) -> usize {
        self.outputs
            .iter()
            .map(|a| match a {
                Arg::Input(k) => self.inputs[*k].0.iter().product::<usize>(),
                Arg::Step(s) => self.steps[*s].shape.iter().product(),
                Arg::Const(t) => t.numel(),
            })
            .sum()
    }
}

/// Per-sample Jacobians from one batched graph (NOTE \[batched replay\]): `outputs[i]`
/// is `(B, *m_i)` and `inputs[j]` a batched leaf `(B, *n_j)` whose samples do not
/// interact; block `[i][j]` is `(B, *m_i, *n_j)`, sample b's Jacobian of output i
/// w.r.t. input j. `forward` pushes per-sample identity tangents (one sweep), else
/// one reverse sweep pulls per-sample one-hot cotangents; `chunk` rows (columns) at a
/// time when given. With `create_graph` the blocks stay differentiable (nesting).
///
/// ```
/// use lucid_core::functional::per_sample_jacobian;
/// use lucid_core::{Tensor, DType};
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], DType::F64).unwrap();
/// x.set_requires_grad(true).unwrap();
/// let y = x.mul(&x).unwrap(); // per sample y = x², J = diag(2x)
/// let j = per_sample_jacobian(&[y], &[x], false, None, false).unwrap();
/// assert_eq!(j[0][0].shape(), &[2, 2, 2]);
/// assert_eq!(j[0][0].to_f64_vec(), vec![2.0, 0.0, 0.0, 4.0, 6.0, 0.0, 0.0, 8.0]);
/// ```
pub fn per_sample_jacobian(
    outputs: &[Tensor],
    inputs: &[Tensor],
    forward: bool,
    chunk: Option<usize>,
    create_graph: bool,
) -> Result<Vec<Vec<Tensor>>> {
    const OP: &str = "per_sample_jacobian";
    let Some(size) = inputs.first().and_then(|x| x.shape().first().copied()) else {
        return Err(Error::argument(OP, "expected at least one batched input"));
    };
    for t in outputs.iter().chain(inputs) {
        if t.shape().first() != Some(&size) {
            return Err(Error::shape(
                OP,
                format!("every output and input needs the leading batch dim {size}, got shape {:?}", t.shape()),
            ));
        }
    }
    let own = |t: &Tensor| t.shape()[1..].to_vec();
    let live: Vec<usize> = (0..outputs.len()).filter(|&i| outputs[i].requires_grad()).collect();
    let roots: Vec<Tensor> = live.iter().map(|&i| outputs[i].clone()).collect();
    let plan = Plan::new(&roots, inputs);
    // the seeded side: rows of the outputs (reverse) or columns of the inputs (forward)
    let seeded: Vec<&Tensor> = if forward { inputs.iter().collect() } else { roots.iter().collect() };
    let widths: Vec<usize> = seeded.iter().map(|t| t.numel() / size).collect();
    let offsets: Vec<usize> = widths.iter().scan(0, |acc, &w| Some(std::mem::replace(acc, *acc + w))).collect();
    let total: usize = widths.iter().sum();
    let step = chunk.unwrap_or(total).max(1);
    // per swept-to tensor, the chunks of its derivative, each (rows, B, *shape)
    let mut parts: Vec<Vec<Option<Tensor>>> = Vec::new();
    let mut start = 0;
    while start < total {
        let len = step.min(total - start);
        let seeds: Vec<Option<Tensor>> = seeded
            .iter()
            .zip(widths.iter().zip(&offsets))
            .map(|(t, (&w, &off))| one_hot_seed(t, size, w, off, start, len))
            .collect::<Result<_>>()?;
        let swept = if forward {
            plan.pushforward_dense(seeds, 1, create_graph)?
        } else {
            plan.pullback_dense(&seeds, 1, true, create_graph)?
        };
        if parts.is_empty() {
            parts = vec![Vec::new(); swept.len()];
        }
        for (p, s) in parts.iter_mut().zip(swept) {
            p.push(s);
        }
        start += len;
    }
    // (total rows, B, *shape) per swept-to tensor, or None where nothing reached it
    let targets: Vec<&Tensor> = if forward { roots.iter().collect() } else { inputs.iter().collect() };
    let joined: Vec<Option<Tensor>> = parts
        .into_iter()
        .zip(&targets)
        .map(|(p, t)| {
            if p.iter().all(Option::is_none) {
                return Ok(None);
            }
            let _g = set_grad_enabled(create_graph);
            let mut start = 0;
            let filled: Vec<Tensor> = p
                .into_iter()
                .map(|c| {
                    let len = step.min(total - start);
                    start += len;
                    c.unwrap_or_else(|| Tensor::zeros(&[vec![len], t.shape().to_vec()].concat(), t.dtype()))
                })
                .collect();
            if filled.len() == 1 {
                Ok(filled.into_iter().next())
            } else {
                Tensor::cat(&filled, 0).map(Some)
            }
        })
        .collect::<Result<_>>()?;
    let _g = set_grad_enabled(create_graph);
    let mut blocks: Vec<Vec<Tensor>> = Vec::with_capacity(outputs.len());
    for (i, o) in outputs.iter().enumerate() {
        let mut row = Vec::with_capacity(inputs.len());
        for (j, x) in inputs.iter().enumerate() {
            let (m, n) = (own(o), own(x));
            let zeros = || Tensor::zeros(&[vec![size], m.clone(), n.clone()].concat(), o.dtype());
            let Some(r) = live.iter().position(|&l| l == i) else {
                row.push(zeros());
                continue;
            };
            let (whole, idx, seeded_shape, other_shape) =
                if forward { (&joined[r], j, &n, &m) } else { (&joined[j], r, &m, &n) };
            let Some(whole) = whole else {
                row.push(zeros());
                continue;
            };
            // rows `idx` of the seeded side: (*seeded_shape, B, *other_shape)
            let part = whole.narrow(0, offsets[idx], widths[idx])?;
            let part = part.reshape_exact(&[seeded_shape.clone(), vec![size], other_shape.clone()].concat())?;
            let (a, c) = (seeded_shape.len() as isize, other_shape.len() as isize);
            // to (B, *m, *n): reverse has (*m, B, *n), forward (*n, B, *m)
            let perm: Vec<isize> = if forward {
                std::iter::once(a).chain(a + 1..a + 1 + c).chain(0..a).collect()
            } else {
                std::iter::once(a).chain(0..a).chain(a + 1..a + 1 + c).collect()
            };
            row.push(part.permute(&perm)?);
        }
        blocks.push(row);
    }
    Ok(blocks)
}

/// Rows `start..start + len` of the per-sample identity seed for `t` (`(B, *s)`, whose
/// `w = |s|` rows sit at `off` among all): shape `(len, B, *s)`, entry `[r, b, c]` one
/// when `start + r == off + c`; `None` when no row of `t` is in the range.
fn one_hot_seed(t: &Tensor, size: usize, w: usize, off: usize, start: usize, len: usize) -> Result<Option<Tensor>> {
    let (lo, hi) = (start.max(off), (start + len).min(off + w));
    if lo >= hi {
        return Ok(None);
    }
    let mut v = vec![0.0; len * size * w];
    for g in lo..hi {
        let (r, c) = (g - start, g - off);
        for b in 0..size {
            v[(r * size + b) * w + c] = 1.0;
        }
    }
    let shape = [vec![len, size], t.shape()[1..].to_vec()].concat();
    let dtype = if t.dtype().is_float() { t.dtype() } else { DType::F64 };
    Tensor::from_vec(v, &shape, dtype).map(Some)
}

impl<F> Taped<F>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    /// `f` over a batch (NOTE \[batched replay\]): `inputs[k]` has a leading batch dim
    /// when `batched[k]`; each output is `(B, *out_shape)`. One batched replay, or one
    /// call per sample when a guard differs between samples.
    ///
    /// ```
    /// use lucid_core::{functional::Taped, Tensor, DType};
    /// let f = |x: &[Tensor]| Ok(vec![x[0].sin()?.sum_all()?]);
    /// let taped = Taped::new(f, &[Tensor::zeros(&[2], DType::F64)]).unwrap();
    /// let xs = Tensor::zeros(&[3, 2], DType::F64);
    /// assert_eq!(taped.call_batched(&[xs], &[true]).unwrap()[0].shape(), &[3]);
    /// ```
    pub fn call_batched(&self, inputs: &[Tensor], batched: &[bool]) -> Result<Vec<Tensor>> {
        if let Some(b) = self.cache.replay_batched("vmap", inputs, batched, false)? {
            return Ok(b.graph.outputs);
        }
        let size = size_of(inputs, batched);
        let mut per: Vec<Vec<Tensor>> = Vec::with_capacity(size);
        for b in 0..size {
            let e: Vec<Tensor> = inputs
                .iter()
                .zip(batched)
                .map(|(x, &is)| if is { x.select(0, b as isize) } else { Ok(x.clone()) })
                .collect::<Result<_>>()?;
            per.push(self.call(&e)?);
        }
        let outs = per.first().map_or(0, Vec::len);
        (0..outs).map(|k| Tensor::stack(&per.iter().map(|p| p[k].clone()).collect::<Vec<_>>(), 0)).collect()
    }

    /// Per-sample Jacobians of `f` w.r.t. every input, all batched (leading dim B):
    /// block `[i][j]` is `(B, *out_i, *in_j)`, from one batched replay and one sweep
    /// ([`per_sample_jacobian`]); `None` when a guard differs between samples.
    ///
    /// ```
    /// use lucid_core::{functional::Taped, Tensor, DType};
    /// let f = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?]);
    /// let taped = Taped::new(f, &[Tensor::zeros(&[2], DType::F64)]).unwrap();
    /// let xs = Tensor::ones(&[3, 2], DType::F64);
    /// let j = taped.jacobian_per_sample(&[xs], false).unwrap().unwrap();
    /// assert_eq!(j[0][0].shape(), &[3, 2, 2]);
    /// ```
    pub fn jacobian_per_sample(&self, inputs: &[Tensor], forward: bool) -> Result<Option<Vec<Vec<Tensor>>>> {
        let batched = vec![true; inputs.len()];
        let Some(b) = self.cache.replay_batched("jacobian", inputs, &batched, true)? else {
            return Ok(None);
        };
        let chunk = rows_per_sweep(b.size, b.widest);
        per_sample_jacobian(&b.graph.outputs, &b.graph.leaves, forward, Some(chunk), false).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::{Reads, Structure};

    /// `exp` with every rule but a batching one: every op of the crate has a batching
    /// rule, so this stands in for a future op that lacks one. Its derivative rules are
    /// written from `exp`' = `exp` with tensor ops.
    struct ExpWithoutBatching;

    impl Rule for ExpWithoutBatching {
        fn name(&self) -> &'static str {
            "exp_without_batching"
        }
        fn structure(&self) -> Structure<'_> {
            Structure::Elementwise(Reads { inputs: false, output: true })
        }
        fn vjp(&self, _: &[Tensor], out: &Tensor, g: &Tensor, _: usize, _: &[bool]) -> Result<Vec<Option<Tensor>>> {
            Ok(vec![Some(g.mul(out)?)])
        }
        fn jvp(&self, _: &[Tensor], out: &Tensor, tangents: &[Option<Tensor>], _: usize) -> Result<Option<Tensor>> {
            tangents[0].as_ref().map(|t| t.mul(out)).transpose()
        }
        fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
            let y = {
                let _g = no_grad();
                inputs[0].exp()?
            };
            Ok(Tensor::from_op(y.storage().clone(), ExpWithoutBatching, vec![inputs[0].clone()]))
        }
    }

    /// An op without a batching rule runs once per sample inside the batched replay:
    /// the values and the per-sample derivatives are right, and the fallback is counted.
    #[test]
    fn an_op_without_a_rule_runs_per_sample_and_is_counted() {
        let f = |a: &[Tensor]| -> Result<Vec<Tensor>> {
            let y = ExpWithoutBatching.replay(&a[..1], a[0].shape(), a[0].dtype())?;
            Ok(vec![y.mul(&a[0])?])
        };
        let x0 = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3], DType::F64).unwrap();
        let (tape, _) = Tape::record(f, &[x0]).unwrap();
        let xs = Tensor::from_vec((0..12).map(|i| i as f64 * 0.1 - 0.5).collect(), &[4, 3], DType::F64).unwrap();
        let before = batch_fallbacks().get("exp_without_batching").copied().unwrap_or(0);
        let b = tape.replay_batched("vmap", std::slice::from_ref(&xs), &[true], true).unwrap().unwrap();
        assert_eq!(b.fallbacks, vec!["exp_without_batching"]);
        assert!(batch_fallbacks().get("exp_without_batching").copied().unwrap_or(0) > before);
        let v = xs.to_f64_vec();
        let got = b.graph.outputs[0].to_f64_vec();
        for (g, x) in got.iter().zip(&v) {
            assert!((g - x * x.exp()).abs() < 1e-15);
        }
        // d/dx (x eˣ) = (1 + x) eˣ, per sample, through the stacked per-sample steps
        let total = b.graph.outputs[0].sum_all().unwrap();
        let grads = crate::autograd::grad(&[total], &b.graph.leaves, &[], Default::default()).unwrap();
        for (g, x) in grads[0].as_ref().unwrap().to_f64_vec().iter().zip(&v) {
            assert!((g - (1.0 + x) * x.exp()).abs() < 1e-14);
        }
    }
}
