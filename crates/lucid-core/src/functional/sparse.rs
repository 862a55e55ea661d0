//! Sparse Jacobians and Hessians: the pattern from the recorded graph
//! (`autograd::jacobian_pattern`), a colouring of it (`colouring.rs`), one batched
//! sweep of all colours, and the values read straight out of the compressed result.
//!
//! NOTE [compressed sweeps]: columns of J that share no row (structurally orthogonal)
//! can be seeded together: a forward sweep with the tangent `Σ_{j of colour c} e_j`
//! gives `B[c] = Σ_{j of colour c} J[:, j]`, and each nonzero `J[i, j]` is `B[colour(j),
//! i]` alone. So `c` colours cost `c` tangents, however large n is, and all `c` go
//! through the graph as ONE batched sweep (the batch dim is the colour). Rows coloured
//! the same way give reverse sweeps; "auto" takes the direction with fewer colours.
//! A Hessian is symmetric, so a star colouring (fewer colours than a distance-2 one)
//! suffices: each `H[i, j]` is read from row i or, where that is ambiguous, from row j.
//!
//! NOTE [prepared once]: the pattern, the colouring, the seeds and the position of
//! every nonzero in the compressed result depend only on the recorded graph's
//! structure (its `signature`) and the dtypes, so they are cached under those: a
//! Newton loop pays for them on its first call, and every later call is the user's
//! function, the signature, one sweep and a gather. Memory: O(nnz + colours × graph),
//! never m × n.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::colouring::{
    best_column_colouring, best_star_colouring, column_recovery, row_recovery, star_recovery, Colouring, Order, Pattern,
};
use super::{check_strict, check_strict_gradients, gradient_with_graph, record, JacobianOptions, Strategy};
use crate::autograd::{jacobian_pattern, set_grad_enabled, signature, Plan};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A sparse matrix in compressed sparse row form: row i's entries are at
/// `indptr[i]..indptr[i + 1]` of `indices` (their columns, ascending) and `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    /// The number of rows (output elements).
    pub rows: usize,
    /// The number of columns (input elements).
    pub cols: usize,
    /// Row `i`'s entries are `indptr[i]..indptr[i + 1]` (length `rows + 1`).
    pub indptr: Vec<usize>,
    /// The column of each entry, ascending within a row, unique.
    pub indices: Vec<usize>,
    /// The values, widened to f64 (exactly) from `dtype`, the dtype they were computed in.
    pub data: Vec<f64>,
    /// The dtype the Jacobian was computed in (the input's), which `data` widens exactly.
    pub dtype: DType,
}

impl Csr {
    /// The dense row-major `rows × cols` matrix (for checks and small problems).
    pub fn to_dense(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.rows * self.cols];
        for i in 0..self.rows {
            for p in self.indptr[i]..self.indptr[i + 1] {
                out[i * self.cols + self.indices[p]] = self.data[p];
            }
        }
        out
    }
}

/// Which sweeps a sparse derivative runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Columns coloured, one forward (tangent) sweep of all colours.
    Forward,
    /// Rows coloured, one reverse sweep of all colours.
    Reverse,
    /// A Hessian's columns star-coloured, one forward-over-reverse sweep.
    Star,
    /// The densest rows by one reverse sweep (one cotangent each), the other rows' entries
    /// by one forward sweep of the columns coloured without those rows (NOTE [mixed
    /// sweeps]).
    Mixed,
    /// The dense Jacobian's own sweeps (whose identity seeds stay structured), the
    /// pattern's entries taken from it: for a small pattern whose colouring would save
    /// less than half the lines (a compressed seed is a dense tensor).
    Dense,
}

impl Direction {
    /// The name Python's `Sparsity.direction` shows: `"forward"`, `"reverse"`, `"star"`,
    /// `"mixed"` or `"dense"`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
            Direction::Star => "star",
            Direction::Mixed => "mixed",
            Direction::Dense => "dense",
        }
    }
}

/// The pattern of a sparse Jacobian (or Hessian) and how it is computed, without values.
#[derive(Debug, Clone)]
pub struct Sparsity {
    /// One pattern per block: per input for a Jacobian (`(m, numel(x_j))`), and for a
    /// Hessian `H[i][j]` at `i * inputs + j`.
    pub blocks: Vec<Pattern>,
    /// The number of colours: the batch of the one compressed sweep (for `Mixed`, the
    /// forward colours plus the rows swept in reverse).
    pub colours: usize,
    /// How the colours are swept (columns forward, rows reverse, star for a Hessian, …).
    pub direction: Direction,
    /// The vertex order of the colouring that won.
    pub order: Order,
    /// The colour of every column (forward, star, mixed) or row (reverse).
    pub colouring: Vec<usize>,
    /// `Mixed`: the rows (of all outputs stacked) computed by the reverse sweep.
    pub reverse_rows: Vec<usize>,
}

/// What a sparse derivative needs besides the values, prepared once per signature.
struct Prepared {
    sparsity: Arc<Sparsity>,
    /// For each block, where each of its entries is read in the compressed result (the
    /// sweeps' results one after the other, each colour-major).
    from: Vec<Vec<usize>>,
    /// The sweeps: one, or a forward and a reverse one for `Mixed`.
    sweeps: Vec<Sweep>,
}

/// One batched sweep of a sparse derivative.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Forward,
    Reverse,
    /// The whole dense Jacobian, laid out as a reverse sweep of every row.
    Whole,
}

struct Sweep {
    kind: Kind,
    /// Its lines (colours, or rows): the batch size.
    lines: usize,
    /// One `[lines, *shape]` seed per seeded tensor: the inputs (forward) or the live
    /// outputs (reverse).
    seeds: Vec<Tensor>,
}

/// What a cached preparation is found by: the graph's signature, the direction asked
/// for, and the dtypes of the seeded tensors.
type Key = (Vec<u64>, u8, Vec<DType>);

/// Preparations kept (most recently used last), at most this many...
const CACHED: usize = 16;
/// ...and at most this many numbers in all (2^26: 512 MB of indices and seeds), the
/// newest kept whatever its size: sixteen graphs of a million unknowns would otherwise
/// keep over a gigabyte alive.
const CACHED_NUMBERS: usize = 1 << 26;

static CACHE: Mutex<Vec<(Key, Arc<Prepared>)>> = Mutex::new(Vec::new());

impl Prepared {
    /// The numbers it holds (indices, read positions, seeds), for the cache's budget.
    fn numbers(&self) -> usize {
        let patterns: usize = self.sparsity.blocks.iter().map(|p| p.indptr.len() + p.indices.len()).sum();
        let from: usize = self.from.iter().map(Vec::len).sum();
        let seeds: usize = self.sweeps.iter().flat_map(|s| &s.seeds).map(Tensor::numel).sum();
        patterns + from + seeds + self.sparsity.colouring.len()
    }
}

/// The cached preparation under `key`, or a new one made by `make` (and cached).
fn prepared(key: Key, make: impl FnOnce() -> Result<Prepared>) -> Result<Arc<Prepared>> {
    {
        let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = cache.iter().position(|(k, _)| *k == key) {
            let hit = cache.remove(at);
            let prep = hit.1.clone();
            cache.push(hit);
            return Ok(prep);
        }
    }
    let prep = Arc::new(make()?);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache.push((key, prep.clone()));
    let mut held: usize = cache.iter().map(|(_, p)| p.numbers()).sum();
    while cache.len() > 1 && (cache.len() > CACHED || held > CACHED_NUMBERS) {
        held -= cache.remove(0).1.numbers();
    }
    Ok(prep)
}

/// Forget every cached pattern and colouring (the next sparse call detects afresh).
pub fn clear_sparsity_cache() {
    CACHE.lock().unwrap_or_else(PoisonError::into_inner).clear();
}

fn numels(tensors: &[Tensor]) -> Vec<usize> {
    tensors.iter().map(Tensor::numel).collect()
}

fn starts(sizes: &[usize]) -> Vec<usize> {
    sizes.iter().scan(0, |acc, &s| Some(std::mem::replace(acc, *acc + s))).collect()
}

/// The global pattern's entries split by column ranges `(start, width)` into blocks
/// (columns made local), with each entry's read position split alongside.
fn split_columns(p: &Pattern, from: &[usize], ranges: &[(usize, usize)]) -> (Vec<Pattern>, Vec<Vec<usize>>) {
    let mut blocks: Vec<Pattern> =
        ranges.iter().map(|&(_, w)| Pattern { rows: p.rows, cols: w, indptr: vec![0], indices: Vec::new() }).collect();
    let mut froms = vec![Vec::new(); ranges.len()];
    for i in 0..p.rows {
        let (lo, hi) = (p.indptr[i], p.indptr[i + 1]);
        for (&c, &f) in p.indices[lo..hi].iter().zip(&from[lo..hi]) {
            // ranges are ascending and adjacent: the block is the last one starting at or before c
            let b = ranges.partition_point(|&(s, _)| s <= c) - 1;
            blocks[b].indices.push(c - ranges[b].0);
            froms[b].push(f);
        }
        for b in &mut blocks {
            b.indptr.push(b.indices.len());
        }
    }
    (blocks, froms)
}

/// Seeds of colour classes: one `[colours, *shape]` tensor per tensor of `like`, whose
/// elements are vertices `start..start + numel` of `colouring`.
fn colour_seeds(like: &[Tensor], colouring: &Colouring) -> Result<Vec<Tensor>> {
    let sizes = numels(like);
    like.iter()
        .zip(starts(&sizes))
        .map(|(t, start)| {
            let n = t.numel();
            let mut seed = vec![0.0; colouring.count * n];
            for e in 0..n {
                // a vertex of no colour (a row no cotangent seeds) stays zero
                if let Some(c) = colouring.colours.get(start + e).filter(|&&c| c != usize::MAX) {
                    seed[c * n + e] = 1.0;
                }
            }
            let mut shape = vec![colouring.count];
            shape.extend_from_slice(t.shape());
            Tensor::from_vec(seed, &shape, DType::F64)?.to_dtype(t.dtype())
        })
        .collect()
}

/// The plan from the outputs that require grad to the inputs: what the pattern, the
/// signature and the sweep all walk (built once per call).
fn live_plan(outputs: &[Tensor], inputs: &[Tensor]) -> Plan {
    let live: Vec<Tensor> = outputs.iter().filter(|o| o.requires_grad()).cloned().collect();
    Plan::new(&live, inputs)
}

fn pattern_of(plan: &Plan, outputs: &[Tensor], inputs: &[Tensor]) -> Result<Pattern> {
    let (indptr, indices) = jacobian_pattern(plan, outputs, inputs)?;
    Ok(Pattern { rows: numels(outputs).iter().sum(), cols: numels(inputs).iter().sum(), indptr, indices })
}

/// NOTE [mixed sweeps]: one dense row (an objective, an integral constraint) makes
/// every column conflict with every other, so a forward colouring needs n colours, and
/// one dense column does the same to a reverse colouring; a pattern with both defeats
/// either. Taking the densest r rows out, each by its own cotangent in one reverse
/// sweep, leaves columns that colour well: r + c lines instead of n. This is the
/// simplest bicolouring (Coleman & Verma's combined determination with the rows chosen
/// by density); "auto" tries r = 1, 2, 4, … 64 when either direction alone needs more
/// than `MIXED_FROM` lines, and keeps it only when r + c is fewer.
fn mixed(p: &Pattern, beat: usize) -> Option<(Vec<usize>, Colouring)> {
    if beat <= MIXED_FROM {
        return None;
    }
    let mut by_density: Vec<usize> = (0..p.rows).collect();
    by_density.sort_by_key(|&i| std::cmp::Reverse(p.row(i).len()));
    let mut best: Option<(Vec<usize>, Colouring)> = None;
    let mut r = 1;
    while r <= 64 && r < p.rows && r < beat {
        let mut dense = by_density[..r].to_vec();
        dense.sort_unstable();
        let rest = without_rows(p, &dense);
        let c = best_column_colouring(&rest);
        let lines = best.as_ref().map_or(beat, |(d, b)| d.len() + b.count);
        if r + c.count < lines {
            best = Some((dense, c));
        }
        r *= 2;
    }
    best
}

/// Fewest lines of one direction from which mixed sweeps are tried: below, at best a
/// line or two would be saved, for a colouring per try on the first call.
const MIXED_FROM: usize = 8;

/// `p` with the entries of `rows` (sorted) removed (the rows stay, empty).
fn without_rows(p: &Pattern, rows: &[usize]) -> Pattern {
    let mut out = Pattern { rows: p.rows, cols: p.cols, indptr: vec![0], indices: Vec::with_capacity(p.nnz()) };
    for i in 0..p.rows {
        if rows.binary_search(&i).is_err() {
            out.indices.extend_from_slice(p.row(i));
        }
        out.indptr.push(out.indices.len());
    }
    out
}

/// A way to compute a sparse Jacobian: its sweeps, where each entry is read in their
/// results, and how it was coloured.
struct Candidate {
    direction: Direction,
    from: Vec<usize>,
    sweeps: Vec<Sweep>,
    colouring: Colouring,
    reverse_rows: Vec<usize>,
}

/// Colour the Jacobian pattern of `outputs` w.r.t. `inputs` in the direction `strategy`
/// asks for and place every entry in the compressed result. For `Auto`: the fewest
/// lines of forward, reverse and mixed sweeps; on a tie between forward and reverse
/// (always, for a symmetric pattern), the one whose sweep runs faster, timed here once
/// (a stencil's forward sweep copies its tangents into each `cat`, while the reverse
/// sweep takes views, or the other way round; which wins depends on the function), or
/// reverse for a sweep too large to race (`RACE_UP_TO`).
fn prepare_jacobian(plan: &Plan, outputs: &[Tensor], inputs: &[Tensor], strategy: Strategy) -> Result<Prepared> {
    let p = pattern_of(plan, outputs, inputs)?;
    let live: Vec<Tensor> = outputs.iter().filter(|o| o.requires_grad()).cloned().collect();
    let forward = |c: Colouring| -> Result<Candidate> {
        let from = column_recovery(&p, &c);
        let sweeps = vec![Sweep { kind: Kind::Forward, lines: c.count, seeds: colour_seeds(inputs, &c)? }];
        Ok(Candidate { direction: Direction::Forward, from, sweeps, colouring: c, reverse_rows: Vec::new() })
    };
    let reverse = |c: Colouring| -> Result<Candidate> {
        let from = row_recovery(&p, &c);
        let sweeps = vec![Sweep { kind: Kind::Reverse, lines: c.count, seeds: colour_seeds_rows(outputs, &live, &c)? }];
        Ok(Candidate { direction: Direction::Reverse, from, sweeps, colouring: c, reverse_rows: Vec::new() })
    };
    let whole = || -> Candidate {
        let rows = Colouring { colours: (0..p.rows).collect(), count: p.rows, order: Order::Natural };
        let from = row_recovery(&p, &rows);
        let sweeps = vec![Sweep { kind: Kind::Whole, lines: p.rows, seeds: Vec::new() }];
        Candidate { direction: Direction::Dense, from, sweeps, colouring: rows, reverse_rows: Vec::new() }
    };
    let chosen = match strategy {
        Strategy::ForwardMode => forward(best_column_colouring(&p))?,
        Strategy::ReverseMode => reverse(best_column_colouring(&p.transpose()))?,
        Strategy::Auto => {
            let c = best_column_colouring(&p);
            // a symmetric pattern (a stencil's) colours its rows as its columns
            let r =
                if p.rows == p.cols && p == p.transpose() { c.clone() } else { best_column_colouring(&p.transpose()) };
            match mixed(&p, r.count.min(c.count)) {
                Some((dense, rest)) => mixed_sweeps(&p, outputs, &live, inputs, dense, rest)?,
                None if r.count < c.count => reverse(r)?,
                None if c.count < r.count => forward(c)?,
                // too large to race on the first call (its fresh memory alone costs
                // more than the race could win): reverse, faster on the stencils
                None if plan.numel().saturating_mul(c.count) > RACE_UP_TO => reverse(r)?,
                None => {
                    let (f, r) = (forward(c)?, reverse(r)?);
                    if sweep_time(&f.sweeps, plan, outputs, inputs)? <= sweep_time(&r.sweeps, plan, outputs, inputs)? {
                        f
                    } else {
                        r
                    }
                }
            }
        }
    };
    // little to compress in a small pattern: the dense sweeps, whose seeds stay structured
    let lines: usize = chosen.sweeps.iter().map(|s| s.lines).sum();
    let small = p.rows.saturating_mul(p.cols) <= RACE_UP_TO;
    let chosen = if strategy == Strategy::Auto && small && lines > 1 && 2 * lines > p.rows.min(p.cols) {
        whole()
    } else {
        chosen
    };
    let sizes = numels(inputs);
    let ranges: Vec<(usize, usize)> = starts(&sizes).into_iter().zip(sizes).collect();
    let (blocks, from) = split_columns(&p, &chosen.from, &ranges);
    let sparsity = Arc::new(Sparsity {
        blocks,
        colours: chosen.sweeps.iter().map(|s| s.lines).sum(),
        direction: chosen.direction,
        order: chosen.colouring.order,
        colouring: chosen.colouring.colours,
        reverse_rows: chosen.reverse_rows,
    });
    Ok(Prepared { sparsity, from, sweeps: chosen.sweeps })
}

/// Numbers a sweep may touch (its graph's elements times its lines) for forward and
/// reverse to be raced on a tie: 2^22, 32 MB of float64. Above, the first call would
/// pay more for the race (each sweep touching fresh memory) than it could win.
const RACE_UP_TO: usize = 1 << 22;

/// The time of one run of `sweeps`, or of the faster of two when it is short (under
/// 20 ms, where a first run's cold caches would decide the race).
fn sweep_time(sweeps: &[Sweep], plan: &Plan, outputs: &[Tensor], inputs: &[Tensor]) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..2 {
        let clock = Instant::now();
        compressed(sweeps, plan, outputs, inputs)?;
        best = best.min(clock.elapsed());
        if best > Duration::from_millis(20) {
            break;
        }
    }
    Ok(best)
}

/// The forward sweep of `rest` (the columns coloured without the `dense` rows) and the
/// reverse sweep of the `dense` rows, one cotangent each; entries of a dense row are
/// read from the second.
fn mixed_sweeps(
    p: &Pattern,
    outputs: &[Tensor],
    live: &[Tensor],
    inputs: &[Tensor],
    dense: Vec<usize>,
    rest: Colouring,
) -> Result<Candidate> {
    let (m, n, c) = (p.rows, p.cols, rest.count);
    let mut from = Vec::with_capacity(p.nnz());
    for i in 0..m {
        let k = dense.binary_search(&i).ok();
        from.extend(p.row(i).iter().map(|&j| match k {
            Some(k) => c * m + k * n + j,
            None => rest.colours[j] * m + i,
        }));
    }
    // one-hot cotangents of the dense rows: the dense rows "coloured" one per colour
    let mut one_hot = Colouring { colours: vec![usize::MAX; m], count: dense.len(), order: rest.order };
    for (k, &i) in dense.iter().enumerate() {
        one_hot.colours[i] = k;
    }
    let sweeps = vec![
        Sweep { kind: Kind::Forward, lines: c, seeds: colour_seeds(inputs, &rest)? },
        Sweep { kind: Kind::Reverse, lines: dense.len(), seeds: colour_seeds_rows(outputs, live, &one_hot)? },
    ];
    Ok(Candidate { direction: Direction::Mixed, from, sweeps, colouring: rest, reverse_rows: dense })
}

/// Reverse seeds: one per live output, its rows being vertices of the colouring at
/// the output's offset among all outputs.
fn colour_seeds_rows(outputs: &[Tensor], live: &[Tensor], colouring: &Colouring) -> Result<Vec<Tensor>> {
    let offsets = starts(&numels(outputs));
    let mut seeds = Vec::with_capacity(live.len());
    for (o, start) in outputs.iter().zip(offsets) {
        if o.requires_grad() {
            let shifted = Colouring {
                colours: colouring.colours[start..start + o.numel()].to_vec(),
                count: colouring.count,
                order: colouring.order,
            };
            seeds.push(colour_seeds(std::slice::from_ref(o), &shifted)?.remove(0));
        }
    }
    Ok(seeds)
}

/// The compressed result: each sweep's (colour-major, `lines × width`) one after the
/// other. The swept tensor itself when one tensor of one sweep is the whole of it (one
/// input or output), else the swept tensors copied together.
fn compressed(sweeps: &[Sweep], plan: &Plan, outputs: &[Tensor], inputs: &[Tensor]) -> Result<Compressed> {
    let _mode = set_grad_enabled(false);
    let mut results = Vec::with_capacity(sweeps.len());
    for sweep in sweeps {
        let seeds: Vec<Option<Tensor>> = sweep.seeds.iter().cloned().map(Some).collect();
        results.push(match sweep.kind {
            Kind::Forward => {
                let mut tangents = plan.pushforward_dense(seeds, 1, false)?.into_iter();
                let per_output: Vec<Option<Tensor>> =
                    outputs.iter().map(|o| if o.requires_grad() { tangents.next().flatten() } else { None }).collect();
                (sweep.lines, per_output, numels(outputs))
            }
            Kind::Reverse => (sweep.lines, plan.pullback_dense(&seeds, 1, true, false)?, numels(inputs)),
            Kind::Whole => {
                let opts = JacobianOptions { strategy: Strategy::Auto, ..Default::default() };
                let blocks = super::jacobian_from_graph(outputs, inputs, &opts)?;
                (sweep.lines, blocks.into_iter().map(Some).collect(), numels(inputs))
            }
        });
    }
    if let [(_, swept, _)] = &results[..] {
        if let [Some(whole)] = &swept[..] {
            return Ok(Compressed::Whole(whole.clone()));
        }
    }
    let total: usize = results.iter().map(|(lines, _, over)| lines * over.iter().sum::<usize>()).sum();
    let mut b = vec![0.0; total];
    let mut base = 0;
    for (lines, swept, over) in &results {
        let width: usize = over.iter().sum();
        for ((t, n), start) in swept.iter().zip(over).zip(starts(over)) {
            if let Some(t) = t {
                let values = t.f64_values();
                for c in 0..*lines {
                    let at = base + c * width + start;
                    b[at..at + n].copy_from_slice(&values[c * n..(c + 1) * n]);
                }
            }
        }
        base += lines * width;
    }
    Ok(Compressed::Joined(b))
}

enum Compressed {
    Whole(Tensor),
    Joined(Vec<f64>),
}

impl Compressed {
    /// The values of every block, read out of `B` at the prepared positions.
    fn values(&self, prep: &Prepared) -> Vec<Vec<f64>> {
        let read = |b: &[f64]| -> Vec<Vec<f64>> {
            prep.from.iter().map(|from| from.iter().map(|&f| b[f]).collect()).collect()
        };
        match self {
            Compressed::Whole(t) => read(&t.f64_values()),
            Compressed::Joined(b) => read(b),
        }
    }
}

/// A sparse result as values beside the (shared, cached) pattern they fill: what the
/// Python bindings take, which keep their own index arrays per pattern.
pub struct SparseValues {
    /// The pattern and colouring the values fill (shared with the cache).
    pub sparsity: Arc<Sparsity>,
    /// One array per block, in the order of `sparsity.blocks`, aligned with its entries.
    pub values: Vec<Vec<f64>>,
    /// The dtype of each block.
    pub dtypes: Vec<DType>,
}

impl SparseValues {
    /// The blocks as CSR matrices (the pattern copied into each).
    pub fn into_blocks(self) -> Vec<Csr> {
        let sparsity = self.sparsity;
        sparsity
            .blocks
            .iter()
            .zip(self.values)
            .zip(self.dtypes)
            .map(|((p, data), dtype)| Csr {
                rows: p.rows,
                cols: p.cols,
                indptr: p.indptr.clone(),
                indices: p.indices.clone(),
                data,
                dtype,
            })
            .collect()
    }
}

fn direction_tag(strategy: Strategy) -> u8 {
    match strategy {
        Strategy::ReverseMode => 0,
        Strategy::ForwardMode => 1,
        Strategy::Auto => 2,
    }
}

fn dtypes(tensors: &[Tensor]) -> Vec<DType> {
    tensors.iter().map(Tensor::dtype).collect()
}

/// The options a sparse result cannot honour, as errors naming `op` (with the checks
/// of [`JacobianOptions::check`]).
pub fn check_sparse_options(op: &'static str, opts: &JacobianOptions) -> Result<()> {
    opts.check(op)?;
    if opts.create_graph {
        return Err(Error::argument(
            op,
            "create_graph=True cannot be combined with sparse=True: the sparse result holds plain values (a \
             scipy.sparse array), which carry no graph; use the dense result to differentiate again",
        ));
    }
    if opts.chunk_size.is_some() {
        return Err(Error::argument(
            op,
            "chunk_size does not apply with sparse=True: all colours go through one sweep, whose size is \
             already the number of colours",
        ));
    }
    Ok(())
}

fn prepared_jacobian(plan: &Plan, outputs: &[Tensor], inputs: &[Tensor], strategy: Strategy) -> Result<Arc<Prepared>> {
    let mut types = dtypes(inputs);
    types.extend(dtypes(outputs));
    let key = (signature(plan, outputs, inputs), direction_tag(strategy), types);
    prepared(key, || prepare_jacobian(plan, outputs, inputs, strategy))
}

/// The sparse Jacobian blocks of already computed `outputs` w.r.t. `inputs`: one
/// `(Σ numel(out_i), numel(x_j))` [`Csr`] per input, equal to the dense blocks of
/// [`super::jacobian_from_graph`] (explicit zeros where the pattern has an entry whose
/// value is zero here). Only `strict` and `strategy` of `opts` apply.
pub fn sparse_jacobian_from_graph(outputs: &[Tensor], inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Csr>> {
    Ok(sparse_jacobian_values(outputs, inputs, opts)?.into_blocks())
}

/// [`sparse_jacobian_from_graph`] as values beside the shared pattern.
pub fn sparse_jacobian_values(outputs: &[Tensor], inputs: &[Tensor], opts: &JacobianOptions) -> Result<SparseValues> {
    sparse_jacobian_values_named("jacobian", outputs, inputs, opts)
}

/// [`sparse_jacobian_values`] whose errors name `op` (`"jacobian"` or
/// `"value_and_jacobian"`).
pub fn sparse_jacobian_values_named(
    op: &'static str,
    outputs: &[Tensor],
    inputs: &[Tensor],
    opts: &JacobianOptions,
) -> Result<SparseValues> {
    check_sparse_options(op, opts)?;
    if opts.strict {
        check_strict(op, outputs, inputs)?;
    }
    let plan = live_plan(outputs, inputs);
    let prep = prepared_jacobian(&plan, outputs, inputs, opts.strategy)?;
    let values = compressed(&prep.sweeps, &plan, outputs, inputs)?.values(&prep);
    Ok(SparseValues { sparsity: prep.sparsity.clone(), values, dtypes: dtypes(inputs) })
}

/// The pattern and colouring a sparse Jacobian of `outputs` would use, without values.
pub fn sparsity_from_graph(outputs: &[Tensor], inputs: &[Tensor], strategy: Strategy) -> Result<Arc<Sparsity>> {
    Ok(prepared_jacobian(&live_plan(outputs, inputs), outputs, inputs, strategy)?.sparsity.clone())
}

/// The sparse Jacobian of `f` at `inputs` (see [`sparse_jacobian_from_graph`]).
///
/// ```
/// use lucid_core::{functional::{sparse_jacobian, JacobianOptions}, Tensor, DType};
/// // f(u)_i = u_{i-1} - 2 u_i + u_{i+1} + u_i³ with zero boundary: tridiagonal
/// let u = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4], DType::F64).unwrap();
/// let f = |x: &[Tensor]| {
///     let u = &x[0];
///     let z = Tensor::zeros(&[1], DType::F64);
///     let left = Tensor::cat(&[z.clone(), u.narrow(0, 0, 3)?], 0)?;
///     let right = Tensor::cat(&[u.narrow(0, 1, 3)?, z], 0)?;
///     let mid = u.mul_scalar(-2.0)?.add(&u.mul(u)?.mul(u)?)?;
///     Ok(vec![left.add(&right)?.add(&mid)?])
/// };
/// let j = sparse_jacobian(f, &[u], &JacobianOptions::default()).unwrap();
/// assert_eq!(j[0].indptr, vec![0, 2, 5, 8, 10]);
/// assert_eq!(j[0].indices, vec![0, 1, 0, 1, 2, 1, 2, 3, 2, 3]);
/// assert_eq!(j[0].data, vec![1.0, 1.0, 1.0, 10.0, 1.0, 1.0, 25.0, 1.0, 1.0, 46.0]);
/// ```
pub fn sparse_jacobian<F>(f: F, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Csr>>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    check_sparse_options("jacobian", opts)?; // before `f` runs
    let (leaves, outputs) = record("jacobian", &f, inputs)?;
    sparse_jacobian_from_graph(&outputs, &leaves, opts)
}

/// The flattened gradients of `output` (recorded, to be differentiated again) and the
/// preparation of their Jacobian, the Hessian: its pattern symmetrized, star-coloured.
fn prepared_hessian(
    op: &'static str,
    output: &Tensor,
    inputs: &[Tensor],
    strict: bool,
) -> Result<(Vec<Tensor>, Plan, Arc<Prepared>)> {
    let grads = gradient_with_graph(op, output, inputs, strict)?;
    if strict {
        check_strict_gradients(op, &grads, inputs)?;
    }
    let flat: Vec<Tensor> = grads.iter().map(|g| g.reshape_exact(&[g.numel()])).collect::<Result<_>>()?;
    let mut types = dtypes(inputs);
    types.extend(dtypes(&flat));
    let plan = live_plan(&flat, inputs);
    let key = (signature(&plan, &flat, inputs), 3, types);
    let prep = prepared(key, || {
        let p = pattern_of(&plan, &flat, inputs)?.symmetrized();
        let colouring = best_star_colouring(&p);
        let from = star_recovery(&p, &colouring).map_err(|e| Error::graph(op, format!("internal: {e}")))?;
        let sweeps =
            vec![Sweep { kind: Kind::Forward, lines: colouring.count, seeds: colour_seeds(inputs, &colouring)? }];
        // rows of input i, columns of input j: block (i, j) at i * inputs + j
        let sizes = numels(inputs);
        let ranges: Vec<(usize, usize)> = starts(&sizes).into_iter().zip(sizes.iter().copied()).collect();
        let (mut blocks, mut froms) = (Vec::new(), Vec::new());
        for (rows, from_rows) in split_rows(&p, &from, &ranges) {
            let (b, f) = split_columns(&rows, &from_rows, &ranges);
            blocks.extend(b);
            froms.extend(f);
        }
        let sparsity = Arc::new(Sparsity {
            blocks,
            colours: colouring.count,
            direction: Direction::Star,
            order: colouring.order,
            colouring: colouring.colours,
            reverse_rows: Vec::new(),
        });
        Ok(Prepared { sparsity, from: froms, sweeps })
    })?;
    Ok((flat, plan, prep))
}

/// The pattern's rows split by ranges `(start, height)`, each entry's read position alongside.
fn split_rows(p: &Pattern, from: &[usize], ranges: &[(usize, usize)]) -> Vec<(Pattern, Vec<usize>)> {
    ranges
        .iter()
        .map(|&(start, height)| {
            let (lo, hi) = (p.indptr[start], p.indptr[start + height]);
            let indptr = p.indptr[start..=start + height].iter().map(|q| q - lo).collect();
            (Pattern { rows: height, cols: p.cols, indptr, indices: p.indices[lo..hi].to_vec() }, from[lo..hi].to_vec())
        })
        .collect()
}

/// Sparse Hessian blocks `H[i][j]` (`(numel(x_i), numel(x_j))`) of a one-element
/// `output`, equal to [`super::hessian_from_graph`]'s: a star colouring of the
/// symmetrized pattern and one forward-over-reverse sweep of all colours. Only
/// `strict` of `opts` applies (with the meaning of NOTE [strict second order]).
pub fn sparse_hessian_from_graph(output: &Tensor, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Vec<Csr>>> {
    let k = inputs.len();
    let mut blocks = sparse_hessian_values(output, inputs, opts)?.into_blocks().into_iter();
    Ok((0..k).map(|_| blocks.by_ref().take(k).collect()).collect())
}

/// [`sparse_hessian_from_graph`] as values beside the shared pattern (blocks `H[i][j]`
/// at `i * inputs.len() + j`).
pub fn sparse_hessian_values(output: &Tensor, inputs: &[Tensor], opts: &JacobianOptions) -> Result<SparseValues> {
    check_sparse_options("hessian", opts)?;
    let (flat, plan, prep) = prepared_hessian("hessian", output, inputs, opts.strict)?;
    let values = compressed(&prep.sweeps, &plan, &flat, inputs)?.values(&prep);
    let k = inputs.len();
    // block (i, j) takes the dtype of input j, as the dense Hessian's blocks do
    let dtypes = (0..k * k).map(|b| inputs[b % k].dtype()).collect();
    Ok(SparseValues { sparsity: prep.sparsity.clone(), values, dtypes })
}

/// The pattern and star colouring a sparse Hessian of `output` would use; its blocks
/// are `H[i][j]` at `i * inputs.len() + j`.
pub fn hessian_sparsity_from_graph(output: &Tensor, inputs: &[Tensor]) -> Result<Arc<Sparsity>> {
    Ok(prepared_hessian("sparsity", output, inputs, false)?.2.sparsity.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stencil(x: &[Tensor]) -> Result<Vec<Tensor>> {
        let u = &x[0];
        let n = u.numel();
        let z = Tensor::zeros(&[1], u.dtype());
        let left = Tensor::cat(&[z.clone(), u.narrow(0, 0, n - 1)?], 0)?;
        Ok(vec![left.add(&u.mul(u)?)?])
    }

    #[test]
    fn the_cache_keeps_the_newest_within_its_budgets() {
        let opts = JacobianOptions::default();
        // twenty graphs (of different sizes, so different signatures): at most CACHED stay
        for n in 2..22 {
            let x = Tensor::ones(&[n], DType::F64);
            sparse_jacobian(stencil, &[x], &opts).unwrap();
        }
        let cache = CACHE.lock().unwrap();
        assert!(cache.len() <= CACHED, "{} preparations kept", cache.len());
        assert!(cache.iter().map(|(_, p)| p.numbers()).sum::<usize>() <= CACHED_NUMBERS);
    }
}
