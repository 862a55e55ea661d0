//! Tapes: record a function once, replay it and any derivative for new inputs without
//! running the function again.
//!
//! NOTE [tape]: a [`Tape`] is the recorded graph of one call, flattened into steps in
//! creation order. Each step is a recorded op (its `Rule`, shared with the graph that
//! recorded it), where its inputs come from (a placeholder, an earlier step, or a
//! constant) and the shape and dtype it produced. Replay runs each step's
//! `Rule::replay` — the op's own forward, on the same kernels — so it rebuilds the
//! graph the function would have built, and every derivative (dense, sparse, Hessian,
//! products, any mode) then runs on it exactly as after an eager call: results are bit
//! for bit the eager ones.
//!
//! The function may look at values (`if x.sum() > 0`, `float(t)`, an index computed
//! from the inputs). Each such escape (`tensor::recording`) became a guard: the step
//! that computed the value keeps the value seen while recording, and replay compares
//! the new value bit for bit as soon as that step has run. A mismatch means the
//! function might have done something else, so the replay is abandoned and the function
//! recorded again; a [`TapeCache`] keeps a few tapes, one per outcome, most recently
//! used first. Input shapes and dtypes are guards too. What cannot be guarded (writing
//! into a value computed from the inputs) makes the tape untraceable: the cache then
//! records on every call, which is the eager behaviour.
//!
//! Random ops in the function ran once, while recording: their values are constants of
//! the tape (as constants closed over by the function are: their values at recording).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::{prepare_inputs, JacobianOptions};
use crate::autograd::{enable_grad, is_grad_enabled, set_grad_enabled};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::tensor::graph::Rule;
use crate::tensor::recording::{self, Log};
use crate::tensor::Tensor;

/// Where a step's input comes from.
#[derive(Clone)]
pub(super) enum Arg {
    Input(usize),
    Step(usize),
    Const(Tensor),
}

pub(super) struct Step {
    pub(super) rule: Arc<dyn Rule>,
    pub(super) args: Vec<Arg>,
    pub(super) shape: Vec<usize>,
    pub(super) dtype: DType,
    /// Whether it required grad while recording: false in a `no_grad` block, so replay
    /// runs it without a graph too.
    pub(super) grad: bool,
    /// The value this step produced while recording, when the function looked at it.
    pub(super) guard: Option<Storage>,
}

/// One recorded call of a function, replayable for new inputs (NOTE \[tape\]).
pub struct Tape {
    pub(super) inputs: Vec<(Vec<usize>, DType)>,
    pub(super) steps: Vec<Step>,
    pub(super) outputs: Vec<Arg>,
    /// Inputs whose own values the function looked at.
    pub(super) input_guards: Vec<(usize, Storage)>,
    /// Whether the function returned a tuple (for the Python face; Rust closures return a `Vec`).
    pub(super) tuple_output: bool,
    pub(super) random: bool,
    pub(super) untraceable: Option<String>,
}

/// A graph of the function at some inputs: replayed from a tape or freshly recorded.
pub struct Graph {
    /// The graph's leaves, one per input, requiring grad: what derivatives are taken with
    /// respect to.
    pub leaves: Vec<Tensor>,
    /// The function's outputs, computed from `leaves`.
    pub outputs: Vec<Tensor>,
    /// Whether the function returned a tuple (for the Python face).
    pub tuple_output: bool,
    /// False when the function ran (the first call, or a guard missed).
    pub replayed: bool,
    /// The number of recorded steps (a measure of the work of a sweep over it).
    pub steps: usize,
}

/// The values of two storages are bitwise equal (so NaN equals NaN, `-0.0` is not `0.0`:
/// a guard may miss more often than needed, never less).
pub(super) fn same_values(a: &Storage, b: &Storage) -> bool {
    if a.shape() != b.shape() {
        return false;
    }
    match (a, b) {
        (Storage::F32(x), Storage::F32(y)) => x.iter().zip(y.iter()).all(|(p, q)| p.to_bits() == q.to_bits()),
        (Storage::F64(x), Storage::F64(y)) => x.iter().zip(y.iter()).all(|(p, q)| p.to_bits() == q.to_bits()),
        (Storage::I64(x), Storage::I64(y)) => x == y,
        (Storage::Bool(x), Storage::Bool(y)) => x == y,
        _ => false,
    }
}

/// Stops the recording on this thread when dropped (the function may fail).
struct Recording(Option<()>);

impl Recording {
    fn begin() -> Recording {
        recording::begin();
        Recording(Some(()))
    }

    fn finish(mut self) -> Log {
        self.0 = None;
        recording::finish().unwrap_or_default()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if self.0.is_some() {
            recording::finish();
        }
    }
}

impl Tape {
    /// Run `f` once on leaves made from `inputs` and keep what it did. Returns the tape
    /// and the graph of this call (so its derivative needs no replay).
    pub fn record<F>(f: F, inputs: &[Tensor]) -> Result<(Tape, Graph)>
    where
        F: FnOnce(&[Tensor]) -> Result<Vec<Tensor>>,
    {
        Tape::record_with("tape", inputs, |leaves| Ok((f(leaves)?, true)))
    }

    /// [`Tape::record`] for a function that also says whether it returned a tuple.
    pub fn record_with<F>(op: &'static str, inputs: &[Tensor], f: F) -> Result<(Tape, Graph)>
    where
        F: FnOnce(&[Tensor]) -> Result<(Vec<Tensor>, bool)>,
    {
        let leaves = prepare_inputs(op, inputs)?;
        let rec = Recording::begin();
        let (outputs, tuple_output) = {
            let _g = enable_grad();
            f(&leaves)?
        };
        let log = rec.finish();
        if outputs.is_empty() {
            return Err(Error::argument(op, "the function returned no outputs"));
        }
        let tape = Tape::build(log, &leaves, &outputs, tuple_output);
        let steps = tape.len();
        Ok((tape, Graph { leaves, outputs, tuple_output, replayed: false, steps }))
    }

    /// Flatten what a recording saw into steps: every logged node some output or guard
    /// depends on, in creation order (a topological order).
    fn build(log: Log, leaves: &[Tensor], outputs: &[Tensor], tuple_output: bool) -> Tape {
        let input_of: HashMap<usize, usize> = leaves.iter().enumerate().map(|(k, t)| (t.id(), k)).collect();
        let created: Vec<Tensor> = log.created.iter().filter_map(|w| w.upgrade().map(Tensor)).collect();
        let position: HashMap<usize, usize> = created.iter().enumerate().map(|(i, t)| (t.id(), i)).collect();

        // the logged nodes the outputs and guards depend on
        let mut needed = vec![false; created.len()];
        let mut stack: Vec<&Tensor> = outputs.iter().chain(&log.escapes).collect();
        while let Some(t) = stack.pop() {
            if input_of.contains_key(&t.id()) {
                continue;
            }
            if let Some(&i) = position.get(&t.id()) {
                if !needed[i] {
                    needed[i] = true;
                    stack.extend(t.node().map(|n| n.inputs.iter()).into_iter().flatten());
                }
            }
        }

        let mut step_of: HashMap<usize, usize> = HashMap::new();
        // one tape constant per tensor, however many steps read it (saved once, too)
        let mut consts: HashMap<usize, Tensor> = HashMap::new();
        let mut arg = |t: &Tensor, step_of: &HashMap<usize, usize>| {
            if let Some(&k) = input_of.get(&t.id()) {
                Arg::Input(k)
            } else if let Some(&s) = step_of.get(&t.id()) {
                Arg::Step(s)
            } else {
                // not computed from the inputs during the recording: a constant
                Arg::Const(consts.entry(t.id()).or_insert_with(|| Tensor::from_storage(t.storage().clone())).clone())
            }
        };
        let mut steps = Vec::new();
        for (t, _) in created.iter().zip(&needed).filter(|(_, &n)| n) {
            let Some(node) = t.node() else { continue };
            let args = node.inputs.iter().map(|c| arg(c, &step_of)).collect();
            step_of.insert(t.id(), steps.len());
            steps.push(Step {
                rule: node.op.clone(),
                args,
                shape: t.shape().to_vec(),
                dtype: t.dtype(),
                grad: t.requires_grad(),
                guard: None,
            });
        }
        let mut input_guards = Vec::new();
        for e in &log.escapes {
            if let Some(&k) = input_of.get(&e.id()) {
                input_guards.push((k, e.storage().clone()));
            } else if let Some(&s) = step_of.get(&e.id()) {
                steps[s].guard = Some(e.storage().clone());
            }
        }
        Tape {
            inputs: leaves.iter().map(|t| (t.shape().to_vec(), t.dtype())).collect(),
            outputs: outputs.iter().map(|t| arg(t, &step_of)).collect(),
            steps,
            input_guards,
            tuple_output,
            random: log.random,
            untraceable: log.untraceable,
        }
    }

    /// Number of recorded steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the tape recorded no step (a function that returns its inputs).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether the function drew random numbers (frozen into the tape).
    pub fn used_random(&self) -> bool {
        self.random
    }

    /// Why the tape cannot be replayed, when it cannot.
    pub fn untraceable(&self) -> Option<&str> {
        self.untraceable.as_deref()
    }

    /// Whether the recording's guards hold for inputs of these shapes and dtypes before
    /// any value is looked at.
    fn fits(&self, inputs: &[Tensor]) -> bool {
        inputs.len() == self.inputs.len()
            && inputs
                .iter()
                .zip(&self.inputs)
                .all(|(x, (shape, dtype))| x.shape() == shape.as_slice() && x.dtype() == *dtype)
    }

    /// Replay the tape at `inputs`: `None` when a guard misses (the function must be
    /// recorded again). With `grad`, the inputs become leaves that require grad (as
    /// [`prepare_inputs`] makes them) and the replay records a graph for derivatives;
    /// without, it runs on the inputs as given under the caller's grad mode, so its
    /// outputs are what calling the function would return (connected to inputs that
    /// require grad, and part of any tape recording this call).
    pub fn replay(&self, op: &'static str, inputs: &[Tensor], grad: bool) -> Result<Option<Graph>> {
        if let Some(why) = &self.untraceable {
            return Err(Error::argument(op, format!("this tape cannot be replayed: {why}")));
        }
        if !self.fits(inputs) {
            return Ok(None);
        }
        for (k, v) in &self.input_guards {
            recording::note_escape(&inputs[*k]);
            if !same_values(inputs[*k].storage(), v) {
                return Ok(None);
            }
        }
        let leaves = if grad { prepare_inputs(op, inputs)? } else { inputs.to_vec() };
        let graph_on = grad || is_grad_enabled();
        let mut values: Vec<Tensor> = Vec::with_capacity(self.steps.len());
        let value = |a: &Arg, values: &[Tensor]| match a {
            Arg::Input(k) => leaves[*k].clone(),
            Arg::Step(s) => values[*s].clone(),
            Arg::Const(t) => t.clone(),
        };
        for step in &self.steps {
            let args: Vec<Tensor> = step.args.iter().map(|a| value(a, &values)).collect();
            let out = {
                let _g = set_grad_enabled(graph_on && step.grad);
                step.rule.replay(&args, &step.shape, step.dtype)?
            };
            if out.shape() != step.shape.as_slice() || out.dtype() != step.dtype {
                return Err(Error::argument(
                    op,
                    format!(
                        "internal: replaying {} gave shape {:?} {} where the recording had {:?} {}",
                        step.rule.name(),
                        out.shape(),
                        out.dtype(),
                        step.shape,
                        step.dtype
                    ),
                ));
            }
            if let Some(g) = &step.guard {
                // comparing reads the value: a guard of any tape recording this replay
                recording::note_escape(&out);
                if !same_values(out.storage(), g) {
                    return Ok(None);
                }
            }
            values.push(out);
        }
        let outputs = self.outputs.iter().map(|a| value(a, &values)).collect();
        Ok(Some(Graph { leaves, outputs, tuple_output: self.tuple_output, replayed: true, steps: self.steps.len() }))
    }
}

/// A few tapes of one function, one per outcome of its guards (NOTE \[tape\]).
pub struct TapeCache {
    tapes: Mutex<Vec<Arc<Tape>>>,
    capacity: usize,
    records: AtomicUsize,
    replays: AtomicUsize,
}

impl TapeCache {
    /// A cache keeping at most `capacity` tapes (at least one).
    pub fn new(capacity: usize) -> TapeCache {
        TapeCache {
            tapes: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
            records: AtomicUsize::new(0),
            replays: AtomicUsize::new(0),
        }
    }

    fn snapshot(&self) -> Vec<Arc<Tape>> {
        self.tapes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The graph of the function at `inputs`: a replay of the first tape whose guards
    /// hold, else a new recording by `record` (which becomes the first tape). Once a
    /// recording turned out untraceable, every call records (the eager behaviour).
    pub fn graph<F>(&self, op: &'static str, inputs: &[Tensor], grad: bool, record: F) -> Result<Graph>
    where
        F: FnOnce(&[Tensor]) -> Result<(Vec<Tensor>, bool)>,
    {
        let tapes = self.snapshot();
        if tapes.iter().all(|t| t.untraceable.is_none()) {
            for (i, tape) in tapes.iter().enumerate() {
                if let Some(g) = tape.replay(op, inputs, grad)? {
                    self.replays.fetch_add(1, Ordering::Relaxed);
                    if i > 0 {
                        self.promote(tape);
                    }
                    return Ok(g);
                }
            }
        }
        let (tape, g) = Tape::record_with(op, inputs, record)?;
        self.records.fetch_add(1, Ordering::Relaxed);
        let mut held = self.tapes.lock().unwrap_or_else(PoisonError::into_inner);
        if tape.untraceable.is_some() {
            held.clear();
        }
        held.insert(0, Arc::new(tape));
        held.truncate(self.capacity);
        Ok(g)
    }

    /// `work` on the graph at each of `points`, replayed, spread over the cores (the
    /// pool's threads take points as they finish). A point no tape's guards hold for is
    /// left `None`: recording needs the function, which may not run on other threads
    /// (a Python function needs its interpreter), so the caller records those.
    pub fn map_replays<T: Send>(
        &self,
        op: &'static str,
        points: &[Vec<Tensor>],
        grad: bool,
        work: &(dyn Fn(Graph) -> Result<T> + Sync),
    ) -> Result<Vec<Option<T>>> {
        let tapes = self.snapshot();
        if tapes.iter().any(|t| t.untraceable.is_some()) {
            return Ok(points.iter().map(|_| None).collect());
        }
        let done: Vec<Mutex<Option<Result<Option<T>>>>> = points.iter().map(|_| Mutex::new(None)).collect();
        crate::kernels::pool::share(points.len(), &|i| {
            let result = (|| {
                for tape in &tapes {
                    if let Some(g) = tape.replay(op, &points[i], grad)? {
                        return work(g).map(Some);
                    }
                }
                Ok(None)
            })();
            *done[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        });
        let mut out = Vec::with_capacity(points.len());
        for slot in done {
            let r = slot.into_inner().unwrap_or_else(PoisonError::into_inner);
            out.push(r.unwrap_or_else(|| Err(Error::argument(op, "internal: a point was not evaluated")))?);
        }
        let replayed = out.iter().filter(|r| r.is_some()).count();
        self.replays.fetch_add(replayed, Ordering::Relaxed);
        Ok(out)
    }

    /// Move `tape` to the front (most recently used).
    fn promote(&self, tape: &Arc<Tape>) {
        let mut held = self.tapes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = held.iter().position(|t| Arc::ptr_eq(t, tape)) {
            let t = held.remove(i);
            held.insert(0, t);
        }
    }

    /// How many times the function was recorded (the first call included).
    pub fn records(&self) -> usize {
        self.records.load(Ordering::Relaxed)
    }

    /// The tapes held (and the counters) as bytes, to rebuild the cache in another
    /// process or on another machine with [`TapeCache::from_bytes`].
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        super::tape_bytes::save(&self.snapshot(), (self.records(), self.replays()))
    }

    /// A cache holding the tapes [`TapeCache::to_bytes`] saved; a clear error for bytes
    /// from another Lucid version or damaged ones.
    pub fn from_bytes(bytes: &[u8], capacity: usize) -> Result<TapeCache> {
        let (tapes, (records, replays)) = super::tape_bytes::load(bytes)?;
        let cache = TapeCache::new(capacity);
        *cache.tapes.lock().unwrap_or_else(PoisonError::into_inner) =
            tapes.into_iter().take(cache.capacity).map(Arc::new).collect();
        cache.records.store(records, Ordering::Relaxed);
        cache.replays.store(replays, Ordering::Relaxed);
        Ok(cache)
    }

    /// How many calls were answered by a replay.
    pub fn replays(&self) -> usize {
        self.replays.load(Ordering::Relaxed)
    }

    /// The tapes held, most recently used first.
    pub fn tapes(&self) -> Vec<Arc<Tape>> {
        self.snapshot()
    }
}

/// A Rust function with its tapes: record once, then evaluate it and its derivatives at
/// new inputs by replay (NOTE \[tape\]). It re-records by itself when a guard misses.
///
/// ```
/// use lucid_core::{functional::{JacobianOptions, Taped}, Tensor, DType};
/// let f = |x: &[Tensor]| Ok(vec![x[0].sin()?.mul(&x[0])?]);
/// let x = Tensor::from_vec(vec![0.5, 1.0], &[2], DType::F64).unwrap();
/// let taped = Taped::new(f, &[x]).unwrap();
/// let y = Tensor::from_vec(vec![2.0, 3.0], &[2], DType::F64).unwrap();
/// let j = taped.jacobian(&[y], &JacobianOptions::default()).unwrap();
/// let d = |v: f64| v.cos() * v + v.sin();
/// assert_eq!(j[0].to_f64_vec(), vec![d(2.0), 0.0, 0.0, d(3.0)]);
/// assert_eq!(taped.records(), 1);
/// ```
pub struct Taped<F> {
    pub(super) f: F,
    pub(super) cache: TapeCache,
}

impl<F> Taped<F>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    /// Record `f` at `example_inputs` (it runs once).
    pub fn new(f: F, example_inputs: &[Tensor]) -> Result<Taped<F>> {
        let taped = Taped { f, cache: TapeCache::new(8) };
        taped.graph("tape", example_inputs, false)?;
        Ok(taped)
    }

    fn graph(&self, op: &'static str, inputs: &[Tensor], grad: bool) -> Result<Graph> {
        self.cache.graph(op, inputs, grad, |leaves| Ok(((self.f)(leaves)?, true)))
    }

    /// `f(inputs)`, as calling `f` returns it (with a graph when an input requires grad
    /// and grad mode is on).
    pub fn call(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        Ok(self.graph("tape", inputs, false)?.outputs)
    }

    /// [`super::jacobian`] of `f` at `inputs`.
    pub fn jacobian(&self, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Tensor>> {
        opts.check("jacobian")?;
        let g = self.graph("jacobian", inputs, true)?;
        super::jacobian_from_graph(&g.outputs, &g.leaves, opts)
    }

    /// `(f(x), J)`, as [`super::value_and_jacobian`]: the outputs (detached unless
    /// `opts.create_graph`) and the Jacobian from one replay.
    ///
    /// ```
    /// use lucid_core::{functional::{JacobianOptions, Taped}, Tensor, DType};
    /// // f(x) = x³, J = diag(3x²)
    /// let f = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.mul(&x[0])?]);
    /// let taped = Taped::new(f, &[Tensor::from_vec(vec![1.0], &[1], DType::F64).unwrap()]).unwrap();
    /// let x = Tensor::from_vec(vec![2.0], &[1], DType::F64).unwrap();
    /// let (fx, j) = taped.value_and_jacobian(&[x], &JacobianOptions::default()).unwrap();
    /// assert_eq!((fx[0].to_f64_vec(), j[0].to_f64_vec()), (vec![8.0], vec![12.0]));
    /// assert_eq!(taped.records(), 1);
    /// ```
    pub fn value_and_jacobian(&self, inputs: &[Tensor], opts: &JacobianOptions) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        opts.check("value_and_jacobian")?;
        let g = self.graph("value_and_jacobian", inputs, true)?;
        super::value_and_jacobian_from_graph(&g.outputs, &g.leaves, opts)
    }

    /// [`super::sparse_jacobian_from_graph`] of `f` at `inputs`.
    pub fn sparse_jacobian(&self, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<super::Csr>> {
        super::check_sparse_options("jacobian", opts)?;
        let g = self.graph("jacobian", inputs, true)?;
        super::sparse_jacobian_from_graph(&g.outputs, &g.leaves, opts)
    }

    /// [`super::hessian`] of a one-output `f` at `inputs`.
    pub fn hessian(&self, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Vec<Tensor>>> {
        opts.check("hessian")?;
        let g = self.graph("hessian", inputs, true)?;
        let [out] = g.outputs.as_slice() else {
            return Err(Error::argument(
                "hessian",
                format!("the function must return one tensor, got {}", g.outputs.len()),
            ));
        };
        super::hessian_from_graph(out, &g.leaves, opts)
    }

    /// `(f(x), vᵀ J)`, as [`super::vjp`].
    pub fn vjp(&self, inputs: &[Tensor], v: &[Tensor], create_graph: bool) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let g = self.graph("vjp", inputs, true)?;
        let grads = super::vjp_from_graph(&g.outputs, &g.leaves, v, create_graph, false)?;
        Ok((super::finish(g.outputs, create_graph), grads))
    }

    /// `(f(x), J v)`, as [`super::jvp`].
    pub fn jvp(&self, inputs: &[Tensor], v: &[Tensor], create_graph: bool) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let g = self.graph("jvp", inputs, true)?;
        let jv = super::jvp_from_graph(&g.outputs, &g.leaves, v, create_graph, false)?;
        Ok((super::finish(g.outputs, create_graph), jv))
    }

    /// [`Taped::jacobian`] at each of `points`, spread over the cores; points whose
    /// guards miss are recorded afterwards on this thread.
    pub fn jacobian_many(&self, points: &[Vec<Tensor>], opts: &JacobianOptions) -> Result<Vec<Vec<Tensor>>>
    where
        F: Sync,
    {
        opts.check("jacobian")?;
        let work = |g: Graph| super::jacobian_from_graph(&g.outputs, &g.leaves, opts);
        let found = self.cache.map_replays("jacobian", points, true, &work)?;
        found.into_iter().zip(points).map(|(j, p)| j.map_or_else(|| self.jacobian(p, opts), Ok)).collect()
    }

    /// How many times `f` was recorded (the first call included).
    pub fn records(&self) -> usize {
        self.cache.records()
    }
}
