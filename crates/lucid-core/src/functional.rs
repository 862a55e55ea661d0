//! Jacobians and their family over Rust closures, and the graph-level entry points the
//! Python API calls after running the user's function once.
//!
//! NOTE [why vectorize seeds an identity]: row r of J is the cotangent of the inputs
//! for the one-hot output cotangent e_r. Because every VJP rule is batch-polymorphic,
//! the m one-hot seeds stacked as one cotangent of shape `[m, *out_shape]` (the identity
//! reshaped) flow through ONE sweep and arrive as `[m, *in_shape]`: the whole Jacobian.
//! `chunk_size` sweeps row blocks of the identity instead, bounding the batch.

use crate::autograd::{enable_grad, set_grad_enabled, Cot, DiagCot, GradOptions, Plan};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Rows per sweep when `vectorize` is false (see NOTE [row blocks]).
pub const ROW_BLOCK: usize = 64;

/// Options of [`jacobian`] and [`jacobian_from_graph`].
#[derive(Debug, Clone, Default)]
pub struct JacobianOptions {
    /// Make the result differentiable (Jacobian of a Jacobian, Hessians on top).
    pub create_graph: bool,
    /// Raise when an output does not depend on an input, instead of zero rows.
    pub strict: bool,
    /// Sweep all rows at once as one batched cotangent (or `chunk_size` at a time)
    /// instead of blocks of [`ROW_BLOCK`] rows spread over all cores.
    pub vectorize: bool,
    /// With `vectorize`: sweep rows in blocks of this many (bounds memory).
    pub chunk_size: Option<usize>,
}

/// Leaves for `inputs` that require grad, without changing the caller's tensors: a
/// tensor that already requires grad is used through an identity view (so results
/// stay connected to it under `create_graph`), any other through a fresh leaf.
pub fn prepare_inputs(op: &'static str, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    inputs
        .iter()
        .enumerate()
        .map(|(k, x)| {
            if !x.dtype().is_float() {
                return Err(Error::dtype(
                    op,
                    format!("input {k} has dtype {}; only floating point inputs can be differentiated", x.dtype()),
                ));
            }
            if x.requires_grad() {
                let _g = enable_grad();
                x.identity_view()
            } else {
                x.leaf_requiring_grad()
            }
        })
        .collect()
}

/// Error unless every output depends on every input (`strict` mode).
fn check_strict(op: &'static str, outputs: &[Tensor], inputs: &[Tensor]) -> Result<()> {
    for (i, out) in outputs.iter().enumerate() {
        let plan = Plan::new(std::slice::from_ref(out), inputs);
        for j in 0..inputs.len() {
            if !out.requires_grad() || !plan.target_is_reached(j) {
                return Err(Error::graph(
                    op,
                    format!("output {i} is independent of input {j} (strict=True forbids this)"),
                ));
            }
        }
    }
    Ok(())
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
    let roots: Vec<Tensor> = outputs.iter().filter(|o| o.requires_grad()).cloned().collect();
    let plan = Plan::new(&roots, inputs);
    let sizes: Vec<usize> = outputs.iter().map(Tensor::numel).collect();
    let m: usize = sizes.iter().sum();
    let offsets: Vec<usize> = sizes.iter().scan(0, |acc, &s| { let o = *acc; *acc += s; Some(o) }).collect();
    let _mode = set_grad_enabled(opts.create_graph);

    // NOTE [row blocks]: vectorize=False sweeps rows in blocks of ROW_BLOCK (one batched
    // sweep per block, bounded memory) and runs the blocks on all cores; vectorize=True
    // sweeps everything at once, or chunk_size rows at a time. One path serves both.
    let block = if opts.vectorize { opts.chunk_size.unwrap_or(m) } else { ROW_BLOCK }.clamp(1, m.max(1));
    let ranges: Vec<(usize, usize)> = (0..m).step_by(block).map(|r0| (r0, (r0 + block).min(m))).collect();
    let sweep = |&(r0, r1): &(usize, usize)| -> Result<Vec<Tensor>> {
        // For output i, rows r0..r1 of the identity restricted to its columns, as a
        // diagonal cotangent (NOTE [diagonal cotangents] in autograd/structured.rs).
        let mut seeds: Vec<Option<Cot>> = Vec::with_capacity(roots.len());
        for (i, out) in outputs.iter().enumerate() {
            if !out.requires_grad() {
                continue;
            }
            let (lo, hi) = (offsets[i], offsets[i] + sizes[i]);
            seeds.push((r1 > lo && r0 < hi).then(|| {
                let d = Tensor::ones(out.shape(), out.dtype());
                Cot::Diag(DiagCot { d, rows: r1 - r0, offset: lo as isize - r0 as isize })
            }));
        }
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
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(ranges.len());
    let per_range: Vec<Vec<Tensor>> = if opts.vectorize || opts.create_graph || threads < 2 {
        ranges.iter().map(sweep).collect::<Result<_>>()?
    } else {
        // Independent row blocks on all cores; each worker sets its own grad mode.
        let results: Vec<Result<Vec<Tensor>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (ranges, sweep) = (&ranges, &sweep);
                    scope.spawn(move || {
                        ranges.iter().skip(t).step_by(threads).map(|r| (r.0, sweep(r))).collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all: Vec<(usize, Result<Vec<Tensor>>)> = Vec::with_capacity(ranges.len());
            for h in handles {
                match h.join() {
                    Ok(part) => all.extend(part),
                    Err(_) => all.push((usize::MAX, Err(Error::graph("jacobian", "a worker thread panicked")))),
                }
            }
            all.sort_by_key(|(r0, _)| *r0);
            all.into_iter().map(|(_, r)| r).collect()
        });
        results.into_iter().collect::<Result<_>>()?
    };
    let mut blocks: Vec<Vec<Tensor>> = vec![Vec::with_capacity(ranges.len()); inputs.len()];
    for parts in per_range {
        for (j, p) in parts.into_iter().enumerate() {
            blocks[j].push(p);
        }
    }
    inputs
        .iter()
        .zip(blocks)
        .map(|(x, parts)| match parts.len() {
            0 => Ok(Tensor::zeros(&[0, x.numel()], x.dtype())),
            1 => Ok(parts.into_iter().next().unwrap_or_else(|| Tensor::zeros(&[0, x.numel()], x.dtype()))),
            _ => Tensor::cat(&parts, 0),
        })
        .collect()
}

/// Evaluate `f` at `inputs` with graph recording (inputs promoted to leaves).
fn record<F>(op: &'static str, f: &F, inputs: &[Tensor]) -> Result<(Vec<Tensor>, Vec<Tensor>)>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    let leaves = prepare_inputs(op, inputs)?;
    let _g = enable_grad();
    let outputs = f(&leaves)?;
    if outputs.is_empty() {
        return Err(Error::argument(op, "the function returned no outputs"));
    }
    Ok((leaves, outputs))
}

/// The Jacobian of `f` at `inputs`: one `(Σ numel(out_i), numel(x_j))` block per input.
///
/// ```
/// use lucid_core::{functional::{jacobian, JacobianOptions}, Tensor, DType};
/// // f(a, b) = a * b: ∂f/∂a = diag(b), ∂f/∂b = diag(a)
/// let a = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F64).unwrap();
/// let b = Tensor::from_vec(vec![3.0, 4.0], &[2], DType::F64).unwrap();
/// let opts = JacobianOptions { vectorize: true, ..Default::default() };
/// let j = jacobian(|x| Ok(vec![x[0].mul(&x[1])?]), &[a, b], &opts).unwrap();
/// assert_eq!(j[0].to_f64_vec(), vec![3.0, 0.0, 0.0, 4.0]);
/// assert_eq!(j[1].to_f64_vec(), vec![1.0, 0.0, 0.0, 2.0]);
/// ```
pub fn jacobian<F>(f: F, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Tensor>>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    let (leaves, outputs) = record("jacobian", &f, inputs)?;
    jacobian_from_graph(&outputs, &leaves, opts)
}

/// Gradients of `outputs` w.r.t. `inputs` for cotangents `v` (zeros for unused inputs).
pub fn vjp_from_graph(outputs: &[Tensor], inputs: &[Tensor], v: &[Tensor], create_graph: bool, strict: bool) -> Result<Vec<Tensor>> {
    if outputs.len() != v.len() {
        return Err(Error::argument("vjp", format!("got {} outputs but {} cotangents v", outputs.len(), v.len())));
    }
    for (k, (o, vk)) in outputs.iter().zip(v).enumerate() {
        if o.shape() != vk.shape() {
            return Err(Error::shape("vjp", format!("v[{k}] has shape {:?} but output {k} has shape {:?}", vk.shape(), o.shape())));
        }
    }
    if strict {
        check_strict("vjp", outputs, inputs)?;
    }
    let mut roots = Vec::new();
    let mut seeds = Vec::new();
    for (o, vk) in outputs.iter().zip(v) {
        if o.requires_grad() {
            roots.push(o.clone());
            seeds.push(Some(vk.to_dtype(o.dtype())?));
        }
    }
    let grads = Plan::new(&roots, inputs).run(&seeds, 0, true, create_graph)?;
    Ok(grads
        .into_iter()
        .zip(inputs)
        .map(|(g, x)| g.unwrap_or_else(|| Tensor::zeros(x.shape(), x.dtype())))
        .collect())
}

/// `(f(x), vᵀ J)`: one reverse sweep.
pub fn vjp<F>(f: F, inputs: &[Tensor], v: &[Tensor], create_graph: bool) -> Result<(Vec<Tensor>, Vec<Tensor>)>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    let (leaves, outputs) = record("vjp", &f, inputs)?;
    let grads = vjp_from_graph(&outputs, &leaves, v, create_graph, false)?;
    Ok((finish(outputs, create_graph), grads))
}

/// `J v` for tangents `v` of the inputs, exactly, by the double-VJP construction:
/// `g(u) = Jᵀu` is linear in a dummy cotangent `u`, so `∂⟨g(u), v⟩/∂u = J v`.
pub fn jvp_from_graph(outputs: &[Tensor], inputs: &[Tensor], v: &[Tensor], create_graph: bool, strict: bool) -> Result<Vec<Tensor>> {
    if inputs.len() != v.len() {
        return Err(Error::argument("jvp", format!("got {} inputs but {} tangents v", inputs.len(), v.len())));
    }
    for (k, (x, vk)) in inputs.iter().zip(v).enumerate() {
        if x.shape() != vk.shape() {
            return Err(Error::shape("jvp", format!("v[{k}] has shape {:?} but input {k} has shape {:?}", vk.shape(), x.shape())));
        }
    }
    if strict {
        check_strict("jvp", outputs, inputs)?;
    }
    let _g = enable_grad();
    let dummies: Vec<Tensor> = outputs.iter().map(|o| o.zeros_like().leaf_requiring_grad()).collect::<Result<_>>()?;
    let live: Vec<usize> = (0..outputs.len()).filter(|&i| outputs[i].requires_grad()).collect();
    let roots: Vec<Tensor> = live.iter().map(|&i| outputs[i].clone()).collect();
    let seeds: Vec<Option<Tensor>> = live.iter().map(|&i| Some(dummies[i].clone())).collect();
    let g = Plan::new(&roots, inputs).run(&seeds, 0, true, true)?;
    // ⟨g, v⟩ summed over inputs reached
    let mut roots2 = Vec::new();
    let mut seeds2 = Vec::new();
    for (gk, vk) in g.into_iter().zip(v) {
        if let Some(gk) = gk.filter(Tensor::requires_grad) {
            seeds2.push(Some(vk.to_dtype(gk.dtype())?));
            roots2.push(gk);
        }
    }
    let jv = Plan::new(&roots2, &dummies).run(&seeds2, 0, true, create_graph)?;
    Ok(jv
        .into_iter()
        .zip(outputs)
        .map(|(t, o)| t.unwrap_or_else(|| Tensor::zeros(o.shape(), o.dtype())))
        .collect())
}

/// `(f(x), J v)`.
pub fn jvp<F>(f: F, inputs: &[Tensor], v: &[Tensor], create_graph: bool) -> Result<(Vec<Tensor>, Vec<Tensor>)>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    let (leaves, outputs) = record("jvp", &f, inputs)?;
    let jv = jvp_from_graph(&outputs, &leaves, v, create_graph, false)?;
    Ok((finish(outputs, create_graph), jv))
}

/// The gradient of a one-element `output` with a graph for differentiating it again.
fn gradient_with_graph(op: &'static str, output: &Tensor, inputs: &[Tensor], strict: bool) -> Result<Vec<Tensor>> {
    if output.numel() != 1 {
        return Err(Error::shape(op, format!("the function must return a single-element tensor, got shape {:?}", output.shape())));
    }
    if strict {
        check_strict(op, std::slice::from_ref(output), inputs)?;
    }
    if !output.requires_grad() {
        return Ok(inputs.iter().map(|x| Tensor::zeros(x.shape(), x.dtype())).collect());
    }
    let seed = Tensor::ones(output.shape(), output.dtype());
    let grads = Plan::new(std::slice::from_ref(output), inputs).run(&[Some(seed)], 0, true, true)?;
    Ok(grads
        .into_iter()
        .zip(inputs)
        .map(|(g, x)| g.unwrap_or_else(|| Tensor::zeros(x.shape(), x.dtype())))
        .collect())
}

/// Hessian blocks `H[i][j]` of shape `(numel(x_i), numel(x_j))` of a one-element
/// `output`: the Jacobian of the gradient, from one recorded call.
pub fn hessian_from_graph(output: &Tensor, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Vec<Tensor>>> {
    let grads = gradient_with_graph("hessian", output, inputs, opts.strict)?;
    let flat: Vec<Tensor> = grads.iter().map(|g| g.reshape_exact(&[g.numel()])).collect::<Result<_>>()?;
    let inner = JacobianOptions { strict: false, ..opts.clone() };
    let cols = jacobian_from_graph(&flat, inputs, &inner)?; // cols[j]: (Σ n_i, n_j)
    let mut h = vec![Vec::with_capacity(inputs.len()); inputs.len()];
    for col in cols {
        let mut off = 0;
        for (i, x) in inputs.iter().enumerate() {
            h[i].push(col.narrow(0, off, x.numel())?);
            off += x.numel();
        }
    }
    Ok(h)
}

/// Hessian of a scalar function.
///
/// ```
/// use lucid_core::{functional::{hessian, JacobianOptions}, Tensor, DType};
/// // f(x) = x0² x1: H = [[2 x1, 2 x0], [2 x0, 0]]
/// let x = Tensor::from_vec(vec![1.0, 3.0], &[2], DType::F64).unwrap();
/// let f = |x: &[Tensor]| {
///     let x0 = x[0].select(0, 0)?;
///     let x1 = x[0].select(0, 1)?;
///     Ok(vec![x0.mul(&x0)?.mul(&x1)?])
/// };
/// let h = hessian(f, &[x], &JacobianOptions::default()).unwrap();
/// assert_eq!(h[0][0].to_f64_vec(), vec![6.0, 2.0, 2.0, 0.0]);
/// ```
pub fn hessian<F>(f: F, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Vec<Tensor>>>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    let (leaves, outputs) = record("hessian", &f, inputs)?;
    if outputs.len() != 1 {
        return Err(Error::argument("hessian", format!("the function must return one tensor, got {}", outputs.len())));
    }
    hessian_from_graph(&outputs[0], &leaves, opts)
}

/// `vᵀ H` (= `H v`, H being symmetric) of a one-element `output`, by reverse over reverse.
pub fn hvp_from_graph(output: &Tensor, inputs: &[Tensor], v: &[Tensor], create_graph: bool, strict: bool) -> Result<Vec<Tensor>> {
    if inputs.len() != v.len() {
        return Err(Error::argument("hvp", format!("got {} inputs but {} vectors v", inputs.len(), v.len())));
    }
    for (k, (x, vk)) in inputs.iter().zip(v).enumerate() {
        if x.shape() != vk.shape() {
            return Err(Error::shape("hvp", format!("v[{k}] has shape {:?} but input {k} has shape {:?}", vk.shape(), x.shape())));
        }
    }
    let grads = gradient_with_graph("hvp", output, inputs, strict)?;
    let opts = GradOptions { retain_graph: true, create_graph, allow_unused: true };
    let mut roots = Vec::new();
    let mut seeds = Vec::new();
    for (g, vk) in grads.iter().zip(v) {
        if g.requires_grad() {
            roots.push(g.clone());
            seeds.push(Some(vk.to_dtype(g.dtype())?));
        }
    }
    let hv = Plan::new(&roots, inputs).run(&seeds, 0, opts.retain_graph, opts.create_graph)?;
    Ok(hv
        .into_iter()
        .zip(inputs)
        .map(|(t, x)| t.unwrap_or_else(|| Tensor::zeros(x.shape(), x.dtype())))
        .collect())
}

/// `(f(x), H v)` of a scalar function.
pub fn hvp<F>(f: F, inputs: &[Tensor], v: &[Tensor], create_graph: bool) -> Result<(Tensor, Vec<Tensor>)>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    let (leaves, outputs) = record("hvp", &f, inputs)?;
    if outputs.len() != 1 {
        return Err(Error::argument("hvp", format!("the function must return one tensor, got {}", outputs.len())));
    }
    let hv = hvp_from_graph(&outputs[0], &leaves, v, create_graph, false)?;
    let out = finish(outputs, create_graph).remove(0);
    Ok((out, hv))
}

fn finish(outputs: Vec<Tensor>, create_graph: bool) -> Vec<Tensor> {
    if create_graph { outputs } else { outputs.iter().map(Tensor::detach).collect() }
}

impl Tensor {
    /// An identity op on this tensor: a distinct graph node whose gradient flows back
    /// here (how the functional API differentiates w.r.t. a caller's tensor that
    /// already requires grad without touching it).
    pub fn identity_view(&self) -> Result<Tensor> {
        Ok(Tensor::from_op(
            self.storage().clone(),
            crate::autograd::Op::View(crate::ops::view::ViewOp::Reshape),
            vec![self.clone()],
        ))
    }
}

