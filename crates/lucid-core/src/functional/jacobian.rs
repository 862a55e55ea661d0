//! Jacobians of a recorded graph, by rows (reverse mode) or by columns (forward mode).
//!
//! NOTE [why vectorize seeds an identity]: row r of J is the cotangent of the inputs
//! for the one-hot output cotangent e_r. Because every VJP rule is batch-polymorphic,
//! the m one-hot seeds stacked as one cotangent of shape `[m, *out_shape]` (the identity
//! reshaped) flow through ONE sweep and arrive as `[m, *in_shape]`: the whole Jacobian.
//! Forward mode is the mirror image: the n one-hot input tangents stacked as
//! `[n, *in_shape]` flow forward and arrive as `[n, *out_shape]`, J's columns. Seeds
//! are diagonal rows (NOTE [diagonal rows] in autograd/diag.rs).
//!
//! NOTE [row blocks]: vectorize=False sweeps blocks of 64 to 256 rows (or columns),
//! one batched sweep per block with bounded memory; a small sweep (under 2^20 numbers
//! in all) is one block, since the bound holds anyway. The first block is timed, and
//! the rest are shared over the cores (`pool`) only when they would take over 200 µs
//! (structured seeds make many large-looking sweeps cheap). When the first block's
//! rows stay structured, memory was never the blocks' to bound: the rest is one more
//! block. vectorize=True sweeps everything at once, or chunk_size at a time. One
//! policy (`BlockPolicy`) and one path serve both modes, so there is one thing to
//! tune. Blocks are written straight into the result (`Rows::write_into`): a
//! structured block writes only its entries into the zeroed matrix, a dense one is
//! copied, nothing is concatenated.

use super::{check_strict, JacobianOptions};
use crate::autograd::{set_grad_enabled, DiagRows, Plan, Rows};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::kernels::pool::{self, cores};
use crate::tensor::Tensor;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Fewest rows (or columns) per sweep when `vectorize` is false (NOTE [row blocks]).
pub const ROW_BLOCK: usize = 64;
/// Most rows (or columns) per sweep when `vectorize` is false.
pub const MAX_ROW_BLOCK: usize = 256;

/// How a Jacobian is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Rows by reverse sweeps: cost grows with the number of outputs m.
    #[default]
    ReverseMode,
    /// Columns by forward (tangent) sweeps: cost grows with the number of inputs n.
    ForwardMode,
    /// Forward when the outputs outnumber the inputs (m > n), reverse otherwise.
    Auto,
}

impl Strategy {
    /// Parse `"reverse-mode"`, `"forward-mode"` or `"auto"`; the error names `op`.
    pub fn parse(op: &'static str, name: &str) -> Result<Strategy> {
        match name {
            "reverse-mode" => Ok(Strategy::ReverseMode),
            "forward-mode" => Ok(Strategy::ForwardMode),
            "auto" => Ok(Strategy::Auto),
            other => Err(Error::argument(
                op,
                format!("strategy must be one of \"reverse-mode\", \"forward-mode\", \"auto\", got {other:?}"),
            )),
        }
    }
}

impl JacobianOptions {
    /// The combinations of options no Jacobian takes; `op` names the caller. The one
    /// check of them, for Rust callers and (through the bindings, before the function
    /// runs) Python callers alike.
    pub fn check(&self, op: &'static str) -> Result<()> {
        if self.chunk_size == Some(0) {
            return Err(Error::argument(op, "chunk_size must be None or a positive int, got 0"));
        }
        if self.chunk_size.is_some() && !self.vectorize {
            return Err(Error::argument(op, "chunk_size is only supported with vectorize=True"));
        }
        Ok(())
    }
}

/// Start offsets of consecutive sizes.
fn offsets(sizes: &[usize]) -> Vec<usize> {
    sizes
        .iter()
        .scan(0, |acc, &s| {
            let o = *acc;
            *acc += s;
            Some(o)
        })
        .collect()
}

/// Seeds for lines `r0..r1` of the identity over tensors of `sizes` stacked: tensor i
/// gets the identity restricted to its own range, as a diagonal (or None when the
/// block misses it).
fn identity_seeds(tensors: &[&Tensor], sizes: &[usize], starts: &[usize], r0: usize, r1: usize) -> Vec<Option<Rows>> {
    tensors
        .iter()
        .zip(sizes.iter().zip(starts))
        .map(|(t, (&size, &lo))| {
            (r1 > lo && r0 < lo + size).then(|| {
                let d = Tensor::ones(t.shape(), t.dtype());
                Rows::Diag(DiagRows { d, rows: r1 - r0, offset: lo as isize - r0 as isize })
            })
        })
        .collect()
}

/// Remaining work (estimated from the first block) below which blocks stay on the
/// calling thread: each block is a whole sweep, and a core may be busy elsewhere.
const THREADS_PAY: Duration = Duration::from_micros(200);

/// How a Jacobian's lines are cut into sweeps (NOTE [row blocks]): the one place
/// where `vectorize`, `chunk_size` and `create_graph` become policy, for both modes.
#[derive(Debug, Clone, Copy)]
struct BlockPolicy {
    /// Lines per sweep.
    block: usize,
    /// Whether the blocks after the first may be shared over the cores (when the
    /// first, timed, says they would take long enough to pay for it).
    threads: bool,
    /// Whether a first block whose rows stayed structured takes the rest in one more
    /// sweep (memory was never the blocks' to bound).
    rest_in_one: bool,
}

/// Numbers a sweep may touch (summed over the graph's tensors, times its lines) before
/// it is cut into blocks or spread over threads: 2^20, 8 MB of float64.
const SMALL_SWEEP: usize = 1 << 20;

impl BlockPolicy {
    /// Vectorized: everything in one sweep (or chunk_size lines at a time), as asked.
    /// Otherwise everything when the sweep is small (one block then bounds memory as
    /// well as many would, and each extra sweep costs its overhead again), else one
    /// block per core, between ROW_BLOCK and MAX_ROW_BLOCK lines so memory stays
    /// bounded, shared over the cores unless the sweep records a graph.
    fn new(opts: &JacobianOptions, plan: &Plan, total: usize) -> BlockPolicy {
        if opts.vectorize {
            return BlockPolicy { block: opts.chunk_size.unwrap_or(total), threads: false, rest_in_one: false };
        }
        if plan.numel().saturating_mul(total) < SMALL_SWEEP {
            return BlockPolicy { block: total, threads: false, rest_in_one: true };
        }
        let block = total.div_ceil(cores()).clamp(ROW_BLOCK, MAX_ROW_BLOCK);
        BlockPolicy { block, threads: !opts.create_graph, rest_in_one: true }
    }
}

/// Run `sweep` over consecutive ranges of `0..total` of `policy.block` lines; the
/// results come back in order. When there are several blocks, the first is swept
/// alone: if the policy allows and `structured` says its result is, the rest is swept
/// in one more block. Otherwise, when the policy allows threads, the first block is
/// timed and the rest are shared over the cores (`pool::share`) only if they would
/// take long enough to pay for it (each sweep sets its own thread's grad mode).
fn run_blocks<T: Send>(
    total: usize,
    policy: BlockPolicy,
    structured: &dyn Fn(&T) -> bool,
    sweep: &(dyn Fn(usize, usize) -> Result<T> + Sync),
) -> Result<Vec<T>> {
    let block = policy.block.clamp(1, total.max(1));
    let ranges: Vec<(usize, usize)> = (0..total).step_by(block).map(|r0| (r0, (r0 + block).min(total))).collect();
    let Some((&(f0, f1), rest)) = ranges.split_first().filter(|_| ranges.len() >= 2) else {
        return ranges.iter().map(|&(r0, r1)| sweep(r0, r1)).collect();
    };
    let clock = Instant::now();
    let first = sweep(f0, f1)?;
    if policy.rest_in_one && structured(&first) {
        return Ok(vec![first, sweep(f1, total)?]);
    }
    let rest_time = clock.elapsed().saturating_mul(u32::try_from(rest.len()).unwrap_or(u32::MAX));
    let mut all = vec![first];
    if !policy.threads || cores() < 2 || rest.len() < 2 || rest_time < THREADS_PAY {
        for &(r0, r1) in rest {
            all.push(sweep(r0, r1)?);
        }
        return Ok(all);
    }
    let done: Vec<Mutex<Option<Result<T>>>> = rest.iter().map(|_| Mutex::new(None)).collect();
    pool::share(rest.len(), &|i| {
        let (r0, r1) = rest[i];
        let result = sweep(r0, r1);
        *done[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
    });
    for slot in done {
        let result = slot.into_inner().unwrap_or_else(PoisonError::into_inner);
        all.push(result.ok_or_else(|| Error::graph("jacobian", "a block of rows was not swept"))??);
    }
    Ok(all)
}

/// The Jacobian blocks of already computed `outputs` with respect to `inputs`: one
/// `(Σ numel(out_i), numel(x_j))` matrix per input, rows of the outputs stacked in
/// order. Outputs that do not require grad give zero rows.
pub fn jacobian_from_graph(outputs: &[Tensor], inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Tensor>> {
    jacobian_named("jacobian", outputs, inputs, opts)
}

/// [`jacobian_from_graph`] whose errors name `op`: the one path of every dense Jacobian
/// (`jacobian`, `value_and_jacobian`, the Hessian's inner Jacobian, tapes).
pub(crate) fn jacobian_named(
    op: &'static str,
    outputs: &[Tensor],
    inputs: &[Tensor],
    opts: &JacobianOptions,
) -> Result<Vec<Tensor>> {
    opts.check(op)?;
    if opts.strict {
        check_strict(op, outputs, inputs)?;
    }
    let m: usize = outputs.iter().map(Tensor::numel).sum();
    let n: usize = inputs.iter().map(Tensor::numel).sum();
    let forward = match opts.strategy {
        Strategy::ReverseMode => false,
        Strategy::ForwardMode => true,
        Strategy::Auto => m > n,
    };
    let _mode = set_grad_enabled(opts.create_graph);
    if forward {
        by_columns(op, outputs, inputs, opts, n)
    } else {
        by_rows(op, outputs, inputs, opts, m)
    }
}

/// Blocks of lines (rows of J in reverse mode, columns in forward mode) swept over
/// `plan`: each block seeds lines `l0..l1` of the identity over `seeded` (the live
/// outputs, or the inputs) and `sweep` carries them through, cut as `policy` says.
/// With `write`, each block is written into the preallocated result as soon as it is
/// swept and dropped (memory: the result plus the blocks in flight), and nothing is
/// returned; without, the blocks are returned `(first line, one Rows per target)`.
fn sweep_lines(
    seeded: &[&Tensor],
    starts: &[usize],
    total: usize,
    policy: BlockPolicy,
    sweep: &Sweep<'_>,
    write: Option<&Write<'_>>,
) -> Result<Vec<Block>> {
    if total == 0 {
        return Ok(Vec::new());
    }
    let sizes: Vec<usize> = seeded.iter().map(|t| t.numel()).collect();
    let block = |l0: usize, l1: usize| -> Result<(Block, bool)> {
        let swept = (l0, sweep(identity_seeds(seeded, &sizes, starts, l0, l1))?);
        let structured = swept.1.iter().flatten().all(Rows::is_structured);
        match write {
            Some(write) => {
                write(&swept)?;
                Ok(((l0, Vec::new()), structured))
            }
            None => Ok((swept, structured)),
        }
    };
    let blocks = run_blocks(total, policy, &|(_, structured)| *structured, &block)?;
    Ok(if write.is_some() { Vec::new() } else { blocks.into_iter().map(|(b, _)| b).collect() })
}

/// A swept block of lines: its first line and the rows of each target.
type Block = (usize, Vec<Option<Rows>>);

/// One sweep of a block: the seeds of its lines in, the rows of each target out.
type Sweep<'a> = dyn Fn(Vec<Option<Rows>>) -> Result<Vec<Option<Rows>>> + Sync + 'a;

/// Writes a swept block into the preallocated result.
type Write<'a> = dyn Fn(&Block) -> Result<()> + Sync + 'a;

/// Whether the blocks are written into a result allocated before the sweeps: when
/// there are several (so memory is the result plus a block, not twice the result) and
/// nothing is recorded (create_graph concatenates its blocks, differentiably).
fn write_as_swept(policy: BlockPolicy, total: usize, dtype: DType, create_graph: bool) -> bool {
    policy.block < total && dtype.is_float() && !create_graph
}

/// A zeroed `(rows, width)` result, or an error in microseconds, before any sweep, when
/// it cannot be had.
fn result_matrix(op: &'static str, dtype: DType, rows: usize, width: usize, what: &str) -> Result<Storage> {
    Storage::try_full(op, dtype, &[rows, width], 0.0).map_err(|_| {
        let bytes = (rows as f64) * (width as f64) * dtype.size_of() as f64;
        Error::argument(
            op,
            format!("{what} is {rows} x {width} {dtype} ({:.3} GB), more than this process can allocate", bytes / 1e9),
        )
    })
}

/// Reverse mode: blocks of rows, one `(m, numel(x))` matrix per input.
fn by_rows(
    op: &'static str,
    outputs: &[Tensor],
    inputs: &[Tensor],
    opts: &JacobianOptions,
    m: usize,
) -> Result<Vec<Tensor>> {
    let (live, starts): (Vec<&Tensor>, Vec<usize>) =
        outputs.iter().zip(offsets(&numels(outputs))).filter(|(o, _)| o.requires_grad()).unzip();
    let roots: Vec<Tensor> = live.iter().map(|t| (*t).clone()).collect();
    let plan = Plan::new(&roots, inputs);
    let policy = BlockPolicy::new(opts, &plan, m);
    let sweep = |seeds| plan.pullback(seeds, 1, true, opts.create_graph);
    if inputs.iter().all(|x| write_as_swept(policy, m, x.dtype(), opts.create_graph)) {
        let results = inputs
            .iter()
            .enumerate()
            .map(|(j, x)| result_matrix(op, x.dtype(), m, x.numel(), &format!("the Jacobian block of input {j}")))
            .map(|r| r.map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let write = |(r0, rows): &Block| -> Result<()> {
            for ((rows_j, x), result) in rows.iter().zip(inputs).zip(&results) {
                if let Some(rows_j) = rows_j {
                    rows_j.write_into(&mut result.lock().unwrap_or_else(PoisonError::into_inner), x.numel(), *r0, 0)?;
                }
            }
            Ok(())
        };
        sweep_lines(&live, &starts, m, policy, &sweep, Some(&write))?;
        return Ok(results
            .into_iter()
            .map(|r| Tensor::from_storage(r.into_inner().unwrap_or_else(PoisonError::into_inner)))
            .collect());
    }
    let blocks = sweep_lines(&live, &starts, m, policy, &sweep, None)?;
    inputs
        .iter()
        .enumerate()
        .map(|(j, x)| {
            let pieces = blocks.iter().map(|(r0, rows)| (*r0, vec![rows[j].as_ref()])).collect();
            assemble(op, pieces, m, &[(0, x.numel())], x.dtype(), opts.create_graph)
        })
        .collect()
}

/// Forward mode: blocks of columns, pushed through the graph by tangent sweeps. They
/// assemble Jᵀ (row c holds column c of J, the tangents of every output side by
/// side), and J is its transposed view.
fn by_columns(
    op: &'static str,
    outputs: &[Tensor],
    inputs: &[Tensor],
    opts: &JacobianOptions,
    n: usize,
) -> Result<Vec<Tensor>> {
    let live: Vec<Tensor> = outputs.iter().filter(|o| o.requires_grad()).cloned().collect();
    let plan = Plan::new(&live, inputs);
    let in_refs: Vec<&Tensor> = inputs.iter().collect();
    let sizes = numels(inputs);
    let starts = offsets(&sizes);
    let dtype = outputs.iter().map(Tensor::dtype).reduce(DType::promote).unwrap_or(DType::F64);
    let policy = BlockPolicy::new(opts, &plan, n);
    let sweep = |seeds| plan.pushforward(seeds, 1, opts.create_graph);
    // every output's columns of Jᵀ; the live ones have tangents
    let columns: Vec<(usize, usize)> = offsets(&numels(outputs)).into_iter().zip(numels(outputs)).collect();
    let live_columns: Vec<usize> =
        outputs.iter().zip(&columns).filter(|(o, _)| o.requires_grad()).map(|(_, &(c0, _))| c0).collect();
    let m: usize = columns.iter().map(|&(_, w)| w).sum();
    let jt = if write_as_swept(policy, n, dtype, opts.create_graph) {
        let jt = Mutex::new(result_matrix(op, dtype, n, m, "the Jacobian")?);
        let write = |(c0, tangents): &Block| -> Result<()> {
            let mut jt = jt.lock().unwrap_or_else(PoisonError::into_inner);
            for (t, &col0) in tangents.iter().zip(&live_columns) {
                if let Some(t) = t {
                    t.write_into(&mut jt, m, *c0, col0)?;
                }
            }
            Ok(())
        };
        sweep_lines(&in_refs, &starts, n, policy, &sweep, Some(&write))?;
        Tensor::from_storage(jt.into_inner().unwrap_or_else(PoisonError::into_inner))
    } else {
        let blocks = sweep_lines(&in_refs, &starts, n, policy, &sweep, None)?;
        let pieces = blocks
            .iter()
            .map(|(c0, tangents)| {
                let mut live_tangents = tangents.iter();
                let per_output = outputs.iter().map(|o| {
                    if o.requires_grad() {
                        live_tangents.next().and_then(Option::as_ref)
                    } else {
                        None
                    }
                });
                (*c0, per_output.collect())
            })
            .collect();
        assemble(op, pieces, n, &columns, dtype, opts.create_graph)?
    };
    // J as the transposed view of Jᵀ: no copy (NumPy conversion copies Jᵀ's contiguous
    // data and transposes it back for free).
    let j = jt.t()?;
    inputs
        .iter()
        .zip(sizes.iter().zip(&starts))
        .map(|(x, (&size, &lo))| j.narrow(1, lo, size)?.to_dtype(x.dtype()))
        .collect()
}

fn numels(tensors: &[Tensor]) -> Vec<usize> {
    tensors.iter().map(Tensor::numel).collect()
}

/// The `(rows, width)` matrix made of blocks of lines: `(first row, pieces)`, where
/// piece k fills the columns `columns[k] = (first column, width)` of the block's rows
/// (`None` for zeros). Without a graph the pieces are written into one zeroed matrix
/// (structured ones write only their entries; one dense piece that is the whole
/// matrix is taken as it is); with create_graph they are densified and concatenated,
/// which keeps the result differentiable.
fn assemble(
    op: &'static str,
    blocks: Vec<(usize, Vec<Option<&Rows>>)>,
    rows: usize,
    columns: &[(usize, usize)],
    dtype: DType,
    create_graph: bool,
) -> Result<Tensor> {
    let width: usize = columns.iter().map(|&(_, w)| w).sum();
    if !create_graph && dtype.is_float() {
        if let [(0, pieces)] = &blocks[..] {
            if let [Some(piece)] = &pieces[..] {
                if let Some(whole) = whole_dense(piece, rows, width, dtype) {
                    return Ok(whole);
                }
            }
        }
        let mut out = Storage::try_full(op, dtype, &[rows, width], 0.0)?;
        for (r0, pieces) in &blocks {
            for (piece, &(col0, _)) in pieces.iter().zip(columns) {
                if let Some(piece) = piece {
                    piece.write_into(&mut out, width, *r0, col0)?;
                }
            }
        }
        return Ok(Tensor::from_storage(out));
    }
    let bounds: Vec<usize> = blocks.iter().map(|(r0, _)| *r0).chain(std::iter::once(rows)).collect();
    let mut slabs = Vec::with_capacity(blocks.len());
    for ((_, pieces), w) in blocks.into_iter().zip(bounds.windows(2)) {
        let lines = w[1] - w[0];
        let parts = pieces
            .into_iter()
            .zip(columns)
            .map(|(piece, &(_, cols))| match piece {
                Some(p) => p.clone().dense()?.reshape_exact(&[lines, cols])?.to_dtype(dtype),
                None => Ok(Tensor::zeros(&[lines, cols], dtype)),
            })
            .collect::<Result<Vec<_>>>()?;
        slabs.push(if parts.is_empty() { Tensor::zeros(&[lines, 0], dtype) } else { Tensor::cat(&parts, 1)? });
    }
    match slabs.len() {
        0 => Ok(Tensor::zeros(&[0, width], dtype)),
        1 => Ok(slabs.remove(0)),
        _ => Tensor::cat(&slabs, 0),
    }
}

/// A block that is the whole `rows × width` result as one dense matrix of its dtype,
/// taken as it is (any layout): no zeroed matrix to add it into.
fn whole_dense(rows_: &Rows, rows: usize, width: usize, dtype: DType) -> Option<Tensor> {
    match rows_ {
        Rows::Dense(t) if t.dtype() == dtype && t.numel() == rows * width && t.shape().first() == Some(&rows) => {
            t.reshape_exact(&[rows, width]).ok().map(|t| t.detach())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of ten lines, shared over the cores when they pay, the rest in one when
    /// the first stays structured.
    const SHARED_TENS: BlockPolicy = BlockPolicy { block: 10, threads: true, rest_in_one: true };

    #[test]
    fn slow_blocks_go_to_workers_and_come_back_in_order() {
        // 2 ms per block: the rest is worth the workers
        let sweep = |r0: usize, r1: usize| -> Result<(usize, usize, std::thread::ThreadId)> {
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok((r0, r1, std::thread::current().id()))
        };
        // the pool may be busy with another test's job (then all blocks stay here), so
        // a few tries are allowed for the blocks to be shared
        let mut most_workers = 0;
        for _ in 0..20 {
            let done = run_blocks(100, SHARED_TENS, &|_| false, &sweep).unwrap();
            let ranges: Vec<(usize, usize)> = done.iter().map(|&(a, b, _)| (a, b)).collect();
            assert_eq!(ranges, (0..100).step_by(10).map(|r| (r, r + 10)).collect::<Vec<_>>());
            let workers: std::collections::HashSet<_> = done.iter().map(|&(_, _, t)| t).collect();
            most_workers = most_workers.max(workers.len());
            if most_workers > 1 {
                break;
            }
        }
        assert_eq!(most_workers > 1, cores() > 1, "{most_workers} workers on {} cores", cores());
        // quick blocks stay on the calling thread
        let quick =
            |r0: usize, _r1: usize| -> Result<(usize, std::thread::ThreadId)> { Ok((r0, std::thread::current().id())) };
        let done = run_blocks(100, SHARED_TENS, &|_| false, &quick).unwrap();
        assert!(done.iter().all(|&(_, t)| t == std::thread::current().id()));
    }

    #[test]
    fn a_structured_first_block_takes_the_rest_in_one() {
        let sweep = |r0: usize, r1: usize| -> Result<(usize, usize)> { Ok((r0, r1)) };
        let done = run_blocks(100, SHARED_TENS, &|&(r0, _)| r0 == 0, &sweep).unwrap();
        assert_eq!(done, vec![(0, 10), (10, 100)]);
        let one = run_blocks(10, SHARED_TENS, &|_| true, &sweep).unwrap();
        assert_eq!(one, vec![(0, 10)]);
    }

    #[test]
    fn an_error_in_any_block_is_returned() {
        for delay in [0, 2] {
            let sweep = |r0: usize, _r1: usize| -> Result<usize> {
                std::thread::sleep(std::time::Duration::from_millis(delay));
                if r0 == 30 {
                    Err(Error::argument("jacobian", "block 3 failed"))
                } else {
                    Ok(r0)
                }
            };
            let err = run_blocks(100, SHARED_TENS, &|_| false, &sweep).unwrap_err();
            assert!(err.message().contains("block 3 failed"), "{}", err.message());
        }
    }
}
