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
//! batched sweep per block with bounded memory, the blocks spread over all cores when
//! the work is large enough to pay for the threads; a small sweep (under 2^20 numbers
//! in all) is one block, since the bound holds anyway;
//! vectorize=True sweeps everything at once, or chunk_size at a time. One path serves
//! both, so there is one thing to tune.

use super::{check_strict, JacobianOptions};
use crate::autograd::{set_grad_enabled, Cot, DiagCot, Plan};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

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
    /// Parse `"reverse-mode"`, `"forward-mode"` or `"auto"`.
    pub fn parse(name: &str) -> Result<Strategy> {
        match name {
            "reverse-mode" => Ok(Strategy::ReverseMode),
            "forward-mode" => Ok(Strategy::ForwardMode),
            "auto" => Ok(Strategy::Auto),
            other => Err(Error::argument(
                "jacobian",
                format!("strategy must be \"reverse-mode\", \"forward-mode\" or \"auto\", got {other:?}"),
            )),
        }
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

/// The number of cores, read once: `available_parallelism` reads cgroup files on every
/// call, which cost more than a small Jacobian.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Run `sweep` over consecutive ranges of `0..total` of size `block`, in order; on all
/// cores when `parallel` (each worker sets its own grad mode inside the sweep).
fn run_blocks<T: Send>(
    total: usize,
    block: usize,
    parallel: bool,
    sweep: &(dyn Fn(usize, usize) -> Result<T> + Sync),
) -> Result<Vec<T>> {
    let block = block.clamp(1, total.max(1));
    let ranges: Vec<(usize, usize)> = (0..total).step_by(block).map(|r0| (r0, (r0 + block).min(total))).collect();
    let threads = cores().min(ranges.len());
    if !parallel || threads < 2 {
        return ranges.iter().map(|&(r0, r1)| sweep(r0, r1)).collect();
    }
    let mut done: Vec<(usize, Result<T>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ranges = &ranges;
                scope.spawn(move || {
                    ranges.iter().skip(t).step_by(threads).map(|&(r0, r1)| (r0, sweep(r0, r1))).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(ranges.len());
        for h in handles {
            match h.join() {
                Ok(part) => all.extend(part),
                Err(_) => all.push((usize::MAX, Err(Error::graph("jacobian", "a worker thread panicked")))),
            }
        }
        all
    });
    done.sort_by_key(|(r0, _)| *r0);
    done.into_iter().map(|(_, r)| r).collect()
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
    if opts.strict {
        check_strict("jacobian", outputs, inputs)?;
    }
    if opts.chunk_size == Some(0) {
        return Err(Error::argument("jacobian", "chunk_size must be a positive integer, got 0"));
    }
    if opts.chunk_size.is_some() && !opts.vectorize {
        return Err(Error::argument("jacobian", "chunk_size requires vectorize=True"));
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

/// Whether the blocks are worth spreading over threads: starting a worker costs tens of
/// microseconds, so only sweeps that touch about a million numbers in all qualify.
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
    let sweep = |r0: usize, r1: usize| -> Result<Vec<Tensor>> {
        let seeds = identity_seeds(&live, &sizes, &starts, r0, r1);
        let grads = plan.run_cot(seeds, 1, true, opts.create_graph)?;
        grads
            .into_iter()
            .zip(inputs)
            .map(|(g, x)| match g {
                Some(g) => g.reshape_exact(&[r1 - r0, x.numel()]),
                None => Ok(Tensor::zeros(&[r1 - r0, x.numel()], x.dtype())),
            })
            .collect()
    };
    let parallel = worth_threads(opts, &plan, m);
    let per_block = run_blocks(m, block_size(opts, &plan, m), parallel, &sweep)?;
    let mut rows: Vec<Vec<Tensor>> = vec![Vec::with_capacity(per_block.len()); inputs.len()];
    for parts in per_block {
        for (j, p) in parts.into_iter().enumerate() {
            rows[j].push(p);
        }
    }
    inputs
        .iter()
        .zip(rows)
        .map(
            |(x, parts)| {
                if parts.is_empty() {
                    Ok(Tensor::zeros(&[0, x.numel()], x.dtype()))
                } else {
                    concat_rows(parts)
                }
            },
        )
        .collect()
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
    let dtype =
        outputs.iter().map(Tensor::dtype).reduce(crate::dtype::DType::promote).unwrap_or(crate::dtype::DType::F64);
    // One block: the columns c0..c1 of J, as a (c1 - c0, m) slab of Jᵀ.
    let sweep = |c0: usize, c1: usize| -> Result<Tensor> {
        let seeds = identity_seeds(&in_refs, &sizes, &starts, c0, c1);
        let mut tangents = plan.run_forward(seeds, 1, opts.create_graph)?.into_iter();
        let mut parts = Vec::with_capacity(outputs.len());
        for out in outputs {
            let t = if out.requires_grad() { tangents.next().flatten() } else { None };
            parts.push(match t {
                Some(t) => t.reshape_exact(&[c1 - c0, out.numel()])?.to_dtype(dtype)?,
                None => Tensor::zeros(&[c1 - c0, out.numel()], dtype),
            });
        }
        if parts.is_empty() {
            return Ok(Tensor::zeros(&[c1 - c0, 0], dtype));
        }
        Tensor::cat(&parts, 1)
    };
    let parallel = worth_threads(opts, &plan, n);
    let jt = concat_rows(if n == 0 {
        vec![Tensor::zeros(&[0, m], dtype)]
    } else {
        run_blocks(n, block_size(opts, &plan, n), parallel, &sweep)?
    })?;
    // J as the transposed view of Jᵀ: no copy (NumPy conversion copies Jᵀ's contiguous
    // data and transposes it back for free).
    let j = jt.t()?;
    inputs
        .iter()
        .zip(sizes.iter().zip(&starts))
        .map(|(x, (&size, &lo))| j.narrow(1, lo, size)?.to_dtype(x.dtype()))
        .collect()
}
