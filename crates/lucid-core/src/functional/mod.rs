//! Jacobians and their family over Rust closures, and the graph-level entry points the
//! Python API calls after running the user's function once.
//!
//! The Jacobian itself (both modes, the row blocks) lives in `jacobian.rs`; sparse
//! Jacobians and Hessians (pattern, colouring, compressed sweeps) in `sparse.rs`, over
//! the colourings of `colouring.rs`.

mod batch;
mod colouring;
mod jacobian;
mod sparse;
mod tape;
mod tape_bytes;

pub use crate::tensor::recording::{note_escape, note_untraceable};
pub use batch::{batch_fallbacks, per_sample_jacobian, rows_per_sweep, Batched, Level};
pub use colouring::{Order, Pattern};
use jacobian::jacobian_named;
pub use jacobian::{jacobian_from_graph, Strategy, MAX_ROW_BLOCK, ROW_BLOCK};
pub use sparse::{
    check_sparse_options, clear_sparsity_cache, hessian_sparsity_from_graph, sparse_hessian_from_graph,
    sparse_hessian_values, sparse_jacobian, sparse_jacobian_from_graph, sparse_jacobian_values,
    sparse_jacobian_values_named, sparsity_from_graph, Csr, Direction, SparseValues, Sparsity,
};
pub use tape::{Graph, Tape, TapeCache, Taped};

use crate::autograd::{enable_grad, Plan};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Options of [`jacobian`] and [`jacobian_from_graph`].
#[derive(Debug, Clone, Default)]
pub struct JacobianOptions {
    /// Make the result differentiable (Jacobian of a Jacobian, Hessians on top).
    pub create_graph: bool,
    /// Raise when an output does not depend on an input, instead of zero rows.
    pub strict: bool,
    /// Sweep all rows at once as one batched cotangent (or `chunk_size` at a time)
    /// instead of blocks of [`ROW_BLOCK`]..[`MAX_ROW_BLOCK`] rows spread over all cores.
    pub vectorize: bool,
    /// With `vectorize`: sweep rows in blocks of this many (bounds memory).
    pub chunk_size: Option<usize>,
    /// Reverse mode (rows), forward mode (columns), or the cheaper of the two.
    pub strategy: Strategy,
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
pub(crate) fn check_strict(op: &'static str, outputs: &[Tensor], inputs: &[Tensor]) -> Result<()> {
    require_dependence(op, outputs, inputs, |i, j| {
        format!("output {i} is independent of input {j} (strict=True forbids this)")
    })
}

/// Error unless every one of `roots` depends on every input; `message(i, j)` says
/// what it means that root i does not depend on input j. The one strict check, for
/// outputs and for gradients (NOTE [strict second order]).
fn require_dependence(
    op: &'static str,
    roots: &[Tensor],
    inputs: &[Tensor],
    message: impl Fn(usize, usize) -> String,
) -> Result<()> {
    for (i, root) in roots.iter().enumerate() {
        let plan = Plan::new(std::slice::from_ref(root), inputs);
        if let Some(j) = (0..inputs.len()).find(|&j| !root.requires_grad() || !plan.target_is_reached(j)) {
            return Err(Error::graph(op, message(i, j)));
        }
    }
    Ok(())
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
    opts.check("jacobian")?; // before `f` runs
    let (leaves, outputs) = record("jacobian", &f, inputs)?;
    jacobian_named("jacobian", &outputs, &leaves, opts)
}

/// `(f(x), J)` from one recorded call: the outputs of `f` at `inputs` and their
/// Jacobian blocks, as [`jacobian`] returns them. A Newton or Gauss–Newton step needs
/// both; `f` runs once. The outputs are detached unless `opts.create_graph` (as
/// [`vjp`] returns them); errors name `value_and_jacobian`.
///
/// ```
/// use lucid_core::{functional::{value_and_jacobian, JacobianOptions}, Tensor, DType};
/// // f(x) = x² - 2, J = diag(2x): one Newton step from x = 1 gives 1 - (-1)/2 = 1.5
/// let x = Tensor::from_vec(vec![1.0], &[1], DType::F64).unwrap();
/// let f = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.add_scalar(-2.0)?]);
/// let (fx, j) = value_and_jacobian(f, &[x], &JacobianOptions::default()).unwrap();
/// assert_eq!((fx[0].to_f64_vec(), j[0].to_f64_vec()), (vec![-1.0], vec![2.0]));
/// assert!(!fx[0].requires_grad());
/// let step = 1.0 - fx[0].to_f64_vec()[0] / j[0].to_f64_vec()[0];
/// assert_eq!(step, 1.5);
/// ```
pub fn value_and_jacobian<F>(f: F, inputs: &[Tensor], opts: &JacobianOptions) -> Result<(Vec<Tensor>, Vec<Tensor>)>
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>>,
{
    opts.check("value_and_jacobian")?; // before `f` runs
    let (leaves, outputs) = record("value_and_jacobian", &f, inputs)?;
    value_and_jacobian_from_graph(&outputs, &leaves, opts)
}

/// [`value_and_jacobian`] of already computed `outputs`: `(outputs, J)`, the outputs
/// detached unless `opts.create_graph`, J as [`jacobian_from_graph`] returns it (the
/// same sweeps: one path serves both).
pub fn value_and_jacobian_from_graph(
    outputs: &[Tensor],
    inputs: &[Tensor],
    opts: &JacobianOptions,
) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
    let j = jacobian_named("value_and_jacobian", outputs, inputs, opts)?;
    Ok((finish(outputs.to_vec(), opts.create_graph), j))
}

/// `v` pairs with `like` (the outputs or the inputs, named by `what`): same count, same shapes.
fn check_vectors(op: &'static str, what: &str, like: &[Tensor], v: &[Tensor]) -> Result<()> {
    if like.len() != v.len() {
        return Err(Error::argument(op, format!("got {} {what}s but {} vectors v", like.len(), v.len())));
    }
    for (k, (t, vk)) in like.iter().zip(v).enumerate() {
        if t.shape() != vk.shape() {
            return Err(Error::shape(
                op,
                format!("v[{k}] has shape {:?} but {what} {k} has shape {:?}", vk.shape(), t.shape()),
            ));
        }
    }
    Ok(())
}

/// Gradients of `outputs` w.r.t. `inputs` for cotangents `v` (zeros for unused inputs).
pub fn vjp_from_graph(
    outputs: &[Tensor],
    inputs: &[Tensor],
    v: &[Tensor],
    create_graph: bool,
    strict: bool,
) -> Result<Vec<Tensor>> {
    check_vectors("vjp", "output", outputs, v)?;
    if strict {
        check_strict("vjp", outputs, inputs)?;
    }
    weighted_sweep(outputs, v, inputs, create_graph, |_| Ok(()))
}

/// One reverse sweep of `Σ_k ⟨weights_k, roots_k⟩` to `inputs`: roots that do not
/// require grad contribute nothing, and inputs nothing reaches get zeros. `check` sees
/// the plan before the sweep runs.
fn weighted_sweep(
    roots: &[Tensor],
    weights: &[Tensor],
    inputs: &[Tensor],
    create_graph: bool,
    check: impl FnOnce(&Plan) -> Result<()>,
) -> Result<Vec<Tensor>> {
    let mut live = Vec::new();
    let mut seeds = Vec::new();
    for (r, w) in roots.iter().zip(weights) {
        if r.requires_grad() {
            live.push(r.clone());
            seeds.push(Some(w.to_dtype(r.dtype())?));
        }
    }
    let plan = Plan::new(&live, inputs);
    check(&plan)?;
    let grads = plan.pullback_dense(&seeds, 0, true, create_graph)?;
    Ok(grads.into_iter().zip(inputs).map(|(g, x)| g.unwrap_or_else(|| Tensor::zeros(x.shape(), x.dtype()))).collect())
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

/// `J v` for tangents `v` of the inputs: one forward (tangent) sweep over the recorded
/// graph, exact. Outputs the inputs do not reach get zero tangents.
pub fn jvp_from_graph(
    outputs: &[Tensor],
    inputs: &[Tensor],
    v: &[Tensor],
    create_graph: bool,
    strict: bool,
) -> Result<Vec<Tensor>> {
    check_vectors("jvp", "input", inputs, v)?;
    if strict {
        check_strict("jvp", outputs, inputs)?;
    }
    let live: Vec<Tensor> = outputs.iter().filter(|o| o.requires_grad()).cloned().collect();
    let seeds: Vec<Option<Tensor>> =
        v.iter().zip(inputs).map(|(vk, x)| vk.to_dtype(x.dtype()).map(Some)).collect::<Result<_>>()?;
    let mut tangents = Plan::new(&live, inputs).pushforward_dense(seeds, 0, create_graph)?.into_iter();
    Ok(outputs
        .iter()
        .map(|o| {
            let t = if o.requires_grad() { tangents.next().flatten() } else { None };
            t.unwrap_or_else(|| Tensor::zeros(o.shape(), o.dtype()))
        })
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
        return Err(Error::shape(
            op,
            format!("the function must return a single-element tensor, got shape {:?}", output.shape()),
        ));
    }
    if strict {
        check_strict(op, std::slice::from_ref(output), inputs)?;
    }
    let seed = Tensor::ones(output.shape(), output.dtype());
    weighted_sweep(std::slice::from_ref(output), &[seed], inputs, true, |_| Ok(()))
}

/// NOTE [strict second order]: as in PyTorch, a strict Hessian is the strict Jacobian
/// of the gradient: besides the output depending on every input, each gradient block
/// ∇_i f must depend on every input j (else H[i][j] is identically zero), and a strict
/// H v must depend on every input. Linear and separable functions are rejected.
fn check_strict_gradients(op: &'static str, grads: &[Tensor], inputs: &[Tensor]) -> Result<()> {
    require_dependence(op, grads, inputs, |i, j| {
        format!(
            "the gradient with respect to input {i} is independent of input {j}, so that Hessian block is \
             identically zero (strict=True forbids this)"
        )
    })
}

/// Hessian blocks `H[i][j]` of shape `(numel(x_i), numel(x_j))` of a one-element
/// `output`: the Jacobian of the gradient, from one recorded call. With `strict`, see
/// NOTE [strict second order].
pub fn hessian_from_graph(output: &Tensor, inputs: &[Tensor], opts: &JacobianOptions) -> Result<Vec<Vec<Tensor>>> {
    opts.check("hessian")?;
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
    opts.check("hessian")?; // before `f` runs
    let (leaves, outputs) = record("hessian", &f, inputs)?;
    if outputs.len() != 1 {
        return Err(Error::argument("hessian", format!("the function must return one tensor, got {}", outputs.len())));
    }
    hessian_from_graph(&outputs[0], &leaves, opts)
}

/// `vᵀ H` (= `H v`, H being symmetric) of a one-element `output`, by reverse over reverse.
/// With `strict`, see NOTE [strict second order].
pub fn hvp_from_graph(
    output: &Tensor,
    inputs: &[Tensor],
    v: &[Tensor],
    create_graph: bool,
    strict: bool,
) -> Result<Vec<Tensor>> {
    check_vectors("hvp", "input", inputs, v)?;
    let grads = gradient_with_graph("hvp", output, inputs, strict)?;
    weighted_sweep(&grads, v, inputs, create_graph, |plan| {
        match (0..inputs.len()).find(|&j| strict && !plan.target_is_reached(j)) {
            Some(j) => Err(Error::graph(
                "hvp",
                format!(
                    "the Hessian-vector product is independent of input {j} (the gradient does not \
                     depend on it; strict=True forbids this)"
                ),
            )),
            None => Ok(()),
        }
    })
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
    if create_graph {
        outputs
    } else {
        outputs.iter().map(Tensor::detach).collect()
    }
}
