//! Jacobians of a recorded graph, by rows (reverse mode) or by columns (forward mode).
//!
//! NOTE [why vectorize seeds an identity]: row r of J is the cotangent of the inputs
//! for the one-hot output cotangent e_r. Because every VJP rule is batch-polymorphic,
//! the m one-hot seeds stacked as one cotangent of shape `[m, *out_shape]` (the identity
//! reshaped) flow through ONE sweep and arrive as `[m, *in_shape]`: the whole Jacobian.
//! Forward mode is the mirror image: the n one-hot input tangents stacked as
//! `[n, *in_shape]` flow forward and arrive as `[n, *out_shape]`, J's columns. Seeds
//! are diagonal cotangents (NOTE [diagonal cotangents] in autograd/structured.rs).
//!
//! NOTE [row blocks]: vectorize=False sweeps blocks of 64 to 256 rows (or columns), one
//! batched sweep per block with bounded memory; a small sweep (under 2^20 numbers in
//! all) is one block, since the bound holds anyway. The first block is timed, and the
//! rest are shared over the cores (`pool`) only when they would take over 200 µs
//! (structured seeds make many large-looking sweeps cheap). When the first block's
//! cotangents stay structured, memory was never the blocks' to bound: the rest is one
//! more block. vectorize=True sweeps everything at once, or
//! chunk_size at a time. One path serves both, so there is one thing to tune. Blocks
//! are written straight into the result (`Cot::write_into`): a structured block writes
//! only its entries into the zeroed matrix, a dense one is copied, nothing is
//! concatenated.

use super::{check_strict, JacobianOptions};
use crate::autograd::{set_grad_enabled, Cot, DiagCot, Plan};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::pool::{self, cores};
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
fn identity_seeds(tensors: &[&Tensor], sizes: &[usize], starts: &[usize], r0: usize, r1: usize) -> Vec<Option<Cot>> {
    tensors
        .iter()
        .zip(sizes.iter().zip(starts))
        .map(|(t, (&size, &lo))| {
            (r1 > lo && r0 < lo + size).then(|| {
                let d = Tensor::ones(t.shape(), t.dtype());
                Cot::Diag(DiagCot { d, rows: r1 - r0, offset: lo as isize - r0 as isize })
            })
        })
        .collect()
}

/// Remaining work (estimated from the first block) below which blocks stay on the
/// calling thread: each block is a whole sweep, and a core may be busy elsewhere.
const THREADS_PAY: Duration = Duration::from_micros(200);

/// Run `sweep` over consecutive ranges of `0..total` of size `block`; the results come
/// back in order. When there are several blocks, the first is swept alone: if
/// `stayed_small` says its result is structured (memory was never the block's to
/// bound), the rest is swept in one more block. Otherwise, when `parallel`, the first
/// block is timed and the rest are shared over the cores (`pool::share`) only if they
/// would take long enough to pay for it (each sweep sets its own thread's grad mode).
fn run_blocks<T: Send>(
    total: usize,
    block: usize,
    parallel: bool,
    stayed_small: &dyn Fn(&T) -> bool,
    sweep: &(dyn Fn(usize, usize) -> Result<T> + Sync),
) -> Result<Vec<T>> {
    let block = block.clamp(1, total.max(1));
    let ranges: Vec<(usize, usize)> = (0..total).step_by(block).map(|r0| (r0, (r0 + block).min(total))).collect();
    let Some((&(f0, f1), rest)) = ranges.split_first().filter(|_| ranges.len() >= 2) else {
        return ranges.iter().map(|&(r0, r1)| sweep(r0, r1)).collect();
    };
    let clock = Instant::now();
    let first = sweep(f0, f1)?;
    if stayed_small(&first) {
        return Ok(vec![first, sweep(f1, total)?]);
    }
    let rest_time = clock.elapsed().saturating_mul(u32::try_from(rest.len()).unwrap_or(u32::MAX));
    let mut all = vec![first];
    if !parallel || cores() < 2 || rest.len() < 2 || rest_time < THREADS_PAY {
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

fn concat_rows(parts: Vec<Tensor>) -> Result<Tensor> {
    if parts.len() == 1 {
        return parts.into_iter().next().ok_or_else(|| Error::argument("jacobian", "no rows"));
    }
    Tensor::cat(&parts, 0)
}

/// The Jacobian blocks of already computed `outputs` with respect to `inputs`: one
/// `(Σ numel(out_i), numel(x_j))` matrix per input, rows of the outputs stacked in
/// order. Outputs that do not require grad give zero rows.
pub fn jacobian_from_graph(outputs: &[Tensor], inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Tensor>> {
    opts.check("jacobian")?;
    if opts.strict {
        check_strict("jacobian", outputs, inputs)?;
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
        by_columns(outputs, inputs, opts, m, n)
    } else {
        by_rows(outputs, inputs, opts, m)
    }
}

/// Numbers a sweep may touch (summed over the graph's tensors, times its lines) before
/// it is cut into blocks or spread over threads: 2^20, 8 MB of float64.
const SMALL_SWEEP: usize = 1 << 20;

/// Lines per sweep: everything (or chunk_size) when vectorized; otherwise everything
/// when the sweep is small (NOTE [row blocks]: one block then bounds memory as well
/// as many would, and each extra sweep costs its overhead again), else one block per
/// core, between ROW_BLOCK and MAX_ROW_BLOCK lines so memory stays bounded.
fn block_size(opts: &JacobianOptions, plan: &Plan, total: usize) -> usize {
    if opts.vectorize {
        opts.chunk_size.unwrap_or(total)
    } else if plan.numel().saturating_mul(total) < SMALL_SWEEP {
        total
    } else {
        total.div_ceil(cores()).clamp(ROW_BLOCK, MAX_ROW_BLOCK)
    }
}

/// Whether the blocks may be spread over threads: only sweeps that touch about a
/// million numbers in all are cut into blocks at all (`run_blocks` then times them).
fn worth_threads(opts: &JacobianOptions, plan: &Plan, total: usize) -> bool {
    !opts.vectorize && !opts.create_graph && plan.numel().saturating_mul(total) >= SMALL_SWEEP
}

/// Reverse mode: blocks of rows.
fn by_rows(outputs: &[Tensor], inputs: &[Tensor], opts: &JacobianOptions, m: usize) -> Result<Vec<Tensor>> {
    let live: Vec<&Tensor> = outputs.iter().filter(|o| o.requires_grad()).collect();
    let roots: Vec<Tensor> = live.iter().map(|t| (*t).clone()).collect();
    let plan = Plan::new(&roots, inputs);
    let all_starts = offsets(&outputs.iter().map(Tensor::numel).collect::<Vec<_>>());
    let (sizes, starts): (Vec<usize>, Vec<usize>) =
        outputs.iter().zip(&all_starts).filter(|(o, _)| o.requires_grad()).map(|(o, &s)| (o.numel(), s)).unzip();
    let sweep = |r0: usize, r1: usize| -> Result<(usize, Vec<Option<Cot>>)> {
        let seeds = identity_seeds(&live, &sizes, &starts, r0, r1);
        Ok((r0, plan.run_structured(seeds, 1, true, opts.create_graph)?))
    };
    let parallel = worth_threads(opts, &plan, m);
    let stayed_small =
        |(_, cots): &(usize, Vec<Option<Cot>>)| !opts.vectorize && cots.iter().flatten().all(Cot::is_structured);
    let per_block = run_blocks(m, block_size(opts, &plan, m), parallel, &stayed_small, &sweep)?;
    inputs
        .iter()
        .enumerate()
        .map(|(j, x)| {
            let blocks = per_block.iter().map(|(r0, cots)| (*r0, cots[j].as_ref()));
            assemble(blocks, m, x.numel(), x.dtype(), opts.create_graph)
        })
        .collect()
}

/// The `(rows, width)` matrix made of blocks of rows: `(first row, cotangent)`, each
/// cotangent `[block rows, *shape]` with `width` elements per row, `None` for zeros.
/// Without a graph the blocks are written into one zeroed matrix (structured blocks
/// write only their entries); with create_graph they are densified and concatenated,
/// which keeps the result differentiable.
fn assemble<'a>(
    blocks: impl Iterator<Item = (usize, Option<&'a Cot>)> + Clone,
    rows: usize,
    width: usize,
    dtype: DType,
    create_graph: bool,
) -> Result<Tensor> {
    if !create_graph && dtype.is_float() {
        let mut first_two = blocks.clone().take(2);
        if let (Some((0, Some(cot))), None) = (first_two.next(), first_two.next()) {
            if let Some(whole) = whole_dense(cot, rows, width, dtype) {
                return Ok(whole);
            }
        }
        let mut out = Storage::try_full("jacobian", dtype, &[rows, width], 0.0)?;
        for (r0, cot) in blocks {
            if let Some(cot) = cot {
                cot.write_into(&mut out, width, r0, 0)?;
            }
        }
        return Ok(Tensor::from_storage(out));
    }
    let bounds: Vec<usize> = blocks.clone().map(|(r0, _)| r0).chain(std::iter::once(rows)).collect();
    let parts = blocks
        .zip(bounds.windows(2))
        .map(|((_, cot), w)| match cot {
            Some(c) => c.clone().dense()?.reshape_exact(&[w[1] - w[0], width]),
            None => Ok(Tensor::zeros(&[w[1] - w[0], width], dtype)),
        })
        .collect::<Result<Vec<_>>>()?;
    if parts.is_empty() {
        return Ok(Tensor::zeros(&[0, width], dtype));
    }
    concat_rows(parts)
}

/// A block that is the whole `rows × width` result as one dense matrix of its dtype,
/// taken as it is (any layout): no zeroed matrix to add it into.
fn whole_dense(cot: &Cot, rows: usize, width: usize, dtype: DType) -> Option<Tensor> {
    match cot {
        Cot::Dense(t) if t.dtype() == dtype && t.numel() == rows * width && t.shape().first() == Some(&rows) => {
            t.reshape_exact(&[rows, width]).ok().map(|t| t.detach())
        }
        _ => None,
    }
}

/// Forward mode: blocks of columns, pushed through the graph by tangent sweeps.
fn by_columns(
    outputs: &[Tensor],
    inputs: &[Tensor],
    opts: &JacobianOptions,
    m: usize,
    n: usize,
) -> Result<Vec<Tensor>> {
    let live: Vec<Tensor> = outputs.iter().filter(|o| o.requires_grad()).cloned().collect();
    let plan = Plan::new(&live, inputs);
    let in_refs: Vec<&Tensor> = inputs.iter().collect();
    let sizes: Vec<usize> = inputs.iter().map(Tensor::numel).collect();
    let starts = offsets(&sizes);
    let dtype = outputs.iter().map(Tensor::dtype).reduce(DType::promote).unwrap_or(DType::F64);
    let out_starts = offsets(&outputs.iter().map(Tensor::numel).collect::<Vec<_>>());
    // One block: the columns c0..c1 of J, one tangent per output that requires grad.
    let sweep = |c0: usize, c1: usize| -> Result<(usize, Vec<Option<Cot>>)> {
        let seeds = identity_seeds(&in_refs, &sizes, &starts, c0, c1);
        Ok((c0, plan.run_forward_structured(seeds, 1, opts.create_graph)?))
    };
    let parallel = worth_threads(opts, &plan, n);
    let stayed_small = |(_, tangents): &(usize, Vec<Option<Cot>>)| {
        !opts.vectorize && tangents.iter().flatten().all(Cot::is_structured)
    };
    let per_block =
        if n == 0 { Vec::new() } else { run_blocks(n, block_size(opts, &plan, n), parallel, &stayed_small, &sweep)? };
    // one block, one output, dense: its tangent is Jᵀ
    let single = match (&per_block[..], outputs) {
        ([(0, tangents)], [out]) if out.requires_grad() => tangents.first().and_then(Option::as_ref),
        _ => None,
    };
    let whole = single.filter(|_| !opts.create_graph).and_then(|t| whole_dense(t, n, m, dtype));
    // Jᵀ, (n, m): block b's tangent of output i fills rows c0.. and that output's columns
    let jt = if let Some(jt) = whole {
        jt
    } else if !opts.create_graph && dtype.is_float() {
        let mut jt = Storage::try_full("jacobian", dtype, &[n, m], 0.0)?;
        for (c0, tangents) in &per_block {
            let live_starts = outputs.iter().zip(&out_starts).filter(|(o, _)| o.requires_grad());
            for ((_, &col0), t) in live_starts.zip(tangents) {
                if let Some(t) = t {
                    t.write_into(&mut jt, m, *c0, col0)?;
                }
            }
        }
        Tensor::from_storage(jt)
    } else {
        let bounds: Vec<usize> = per_block.iter().map(|(c0, _)| *c0).chain(std::iter::once(n)).collect();
        let mut slabs = Vec::with_capacity(per_block.len());
        for ((_, tangents), w) in per_block.into_iter().zip(bounds.windows(2)) {
            let cols = w[1] - w[0];
            let mut tangents = tangents.into_iter();
            let mut parts = Vec::with_capacity(outputs.len());
            for out in outputs {
                let t = if out.requires_grad() { tangents.next().flatten() } else { None };
                parts.push(match t {
                    Some(t) => t.dense()?.reshape_exact(&[cols, out.numel()])?.to_dtype(dtype)?,
                    None => Tensor::zeros(&[cols, out.numel()], dtype),
                });
            }
            slabs.push(if parts.is_empty() { Tensor::zeros(&[cols, 0], dtype) } else { Tensor::cat(&parts, 1)? });
        }
        concat_rows(if slabs.is_empty() { vec![Tensor::zeros(&[0, m], dtype)] } else { slabs })?
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

#[cfg(test)]
mod tests {
    use super::*;

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
            let done = run_blocks(100, 10, true, &|_| false, &sweep).unwrap();
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
        let done = run_blocks(100, 10, true, &|_| false, &quick).unwrap();
        assert!(done.iter().all(|&(_, t)| t == std::thread::current().id()));
    }

    #[test]
    fn a_structured_first_block_takes_the_rest_in_one() {
        let sweep = |r0: usize, r1: usize| -> Result<(usize, usize)> { Ok((r0, r1)) };
        let done = run_blocks(100, 10, true, &|&(r0, _)| r0 == 0, &sweep).unwrap();
        assert_eq!(done, vec![(0, 10), (10, 100)]);
        let one = run_blocks(10, 10, true, &|_| true, &sweep).unwrap();
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
            let err = run_blocks(100, 10, true, &|_| false, &sweep).unwrap_err();
            assert!(err.message().contains("block 3 failed"), "{}", err.message());
        }
    }
}
