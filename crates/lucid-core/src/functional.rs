//! Jacobians and their family over Rust closures, and the graph-level entry points the
//! Python API calls after running the user's function once.
//!
//! NOTE [why vectorize seeds an identity]: row r of J is the cotangent of the inputs
//! for the one-hot output cotangent e_r. Because every VJP rule is batch-polymorphic,
//! the m one-hot seeds stacked as one cotangent of shape `[m, *out_shape]` (the identity
//! reshaped) flow through ONE sweep and arrive as `[m, *in_shape]`: the whole Jacobian.
//! `chunk_size` sweeps row blocks of the identity instead, bounding the batch.

use crate::autograd::{enable_grad, set_grad_enabled, GradOptions, Plan};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Options of [`jacobian`] and [`jacobian_from_graph`].
#[derive(Debug, Clone, Default)]
pub struct JacobianOptions {
    /// Make the result differentiable (Jacobian of a Jacobian, Hessians on top).
    pub create_graph: bool,
    /// Raise when an output does not depend on an input, instead of zero rows.
    pub strict: bool,
    /// Sweep all rows at once as one batched cotangent instead of one sweep per row.
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

    let chunk = if opts.vectorize { opts.chunk_size.unwrap_or(m.max(1)) } else { 1 };
    let mut blocks: Vec<Vec<Tensor>> = vec![Vec::new(); inputs.len()];
    let mut r0 = 0;
    while r0 < m {
        let r1 = (r0 + chunk).min(m);
        // Seeds for rows r0..r1: for output i, rows of the identity restricted to its columns.
        let mut seeds: Vec<Option<Tensor>> = Vec::with_capacity(roots.len());
        for (i, out) in outputs.iter().enumerate() {
            if !out.requires_grad() {
                continue;
            }
            let (lo, hi) = (offsets[i], offsets[i] + sizes[i]);
            seeds.push(if r1 <= lo || r0 >= hi {
                None
            } else {
                Some(identity_block(r0, r1, lo, hi, out, opts.vectorize)?)
            });
        }
        let batch = usize::from(opts.vectorize);
        let grads = plan.run(&seeds, batch, true, opts.create_graph)?;
        for (j, (g, x)) in grads.into_iter().zip(inputs).enumerate() {
            let rows = r1 - r0;
            let block = match g {
                Some(g) => g.reshape_exact(&[rows, x.numel()])?,
                None => Tensor::try_full("jacobian", &[rows, x.numel()], 0.0, x.dtype())?,
            };
            blocks[j].push(block);
        }
        r0 = r1;
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

/// Rows `r0..r1` of the m×m identity, columns `lo..hi`, shaped as a cotangent of `out`
/// (with a leading batch dim of `r1 - r0` when `batched`).
fn identity_block(r0: usize, r1: usize, lo: usize, hi: usize, out: &Tensor, batched: bool) -> Result<Tensor> {
    let (rows, cols) = (r1 - r0, hi - lo);
    // rows × cols is large for a vectorized sweep of a big output: fail with an error
    // that points at chunk_size rather than abort on the allocation
    let seed = Storage::try_full("jacobian", DType::F64, &[rows * cols], 0.0).map_err(|e| {
        Error::argument("jacobian", format!("{}; pass chunk_size (or vectorize=False) to sweep the {rows} rows in smaller blocks", e.message()))
    })?;
    let Storage::F64(mut a) = seed else {
        return Err(Error::dtype("jacobian", "internal: expected float64 storage"));
    };
    for r in r0.max(lo)..r1.min(hi) {
        a[(r - r0) * cols + (r - lo)] = 1.0;
    }
    let mut shape = if batched { vec![rows] } else { vec![] };
    shape.extend_from_slice(out.shape());
    Tensor::from_storage(Storage::F64(a).cast(out.dtype())).reshape_exact(&shape)
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

/// NOTE [strict second order]: as in PyTorch, a strict Hessian is the strict Jacobian
/// of the gradient: besides the output depending on every input, each gradient block
/// ∇_i f must depend on every input j (else H[i][j] is identically zero), and a strict
/// H v must depend on every input. Linear and separable functions are rejected.
fn check_strict_gradients(op: &'static str, grads: &[Tensor], inputs: &[Tensor]) -> Result<()> {
    for (i, g) in grads.iter().enumerate() {
        let plan = Plan::new(std::slice::from_ref(g), inputs);
        for j in 0..inputs.len() {
            if !g.requires_grad() || !plan.target_is_reached(j) {
                return Err(Error::graph(
                    op,
                    format!(
                        "the gradient with respect to input {i} is independent of input {j}, so \
                         that Hessian block is identically zero (strict=True forbids this)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Hessian blocks `H[i][j]` of shape `(numel(x_i), numel(x_j))` of a one-element
/// `output`: the Jacobian of the gradient, from one recorded call. With `strict`, see
/// NOTE [strict second order].
pub fn hessian_from_graph(output: &Tensor, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Vec<Tensor>>> {
    let grads = gradient_with_graph("hessian", output, inputs, opts.strict)?;
    if opts.strict {
        check_strict_gradients("hessian", &grads, inputs)?;
    }
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
/// With `strict`, see NOTE [strict second order].
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
    let plan = Plan::new(&roots, inputs);
    if strict {
        if let Some(j) = (0..inputs.len()).find(|&j| !plan.target_is_reached(j)) {
            return Err(Error::graph(
                "hvp",
                format!(
                    "the Hessian-vector product is independent of input {j} (the gradient does not \
                     depend on it; strict=True forbids this)"
                ),
            ));
        }
    }
    let hv = plan.run(&seeds, 0, opts.retain_graph, opts.create_graph)?;
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

