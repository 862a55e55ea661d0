//! Grad mode, `grad`/`backward`, and the graph-level Jacobian family entry points the
//! Python `lucid.autograd` module calls after running the user's function once.
//! Every sweep runs with the GIL released.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use lucid_core::autograd::{self, GradOptions};
use lucid_core::functional::{self, JacobianOptions, Strategy};
use lucid_core::{interrupt, Error, Tensor};
use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::args;
use crate::errors::PyResultExt;
use crate::tensor::PyTensor;

/// Run a sweep with the GIL released, stoppable with Ctrl-C (NOTE [interrupts] in
/// lucid-core's `interrupt.rs`): every 20 ms the sweep runs Python's pending signal
/// handlers, taking the GIL for a moment, and stops when one raises; that exception
/// (KeyboardInterrupt for Ctrl-C) is raised here, and the partial result is dropped.
pub(crate) fn interruptible<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> lucid_core::Result<T> + Send,
) -> PyResult<T> {
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::default();
    let slot = raised.clone();
    let check = move || {
        Python::with_gil(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                true
            }
        })
    };
    match py.allow_threads(move || interrupt::watch(check, work)) {
        Err(Error::Interrupted { op }) => {
            let handler_raised = raised.lock().unwrap_or_else(PoisonError::into_inner).take();
            Err(handler_raised.unwrap_or_else(|| PyKeyboardInterrupt::new_err(format!("{op}: interrupted"))))
        }
        other => other.py(),
    }
}

fn inners(ts: &[PyRef<'_, PyTensor>]) -> Vec<Tensor> {
    ts.iter().map(|t| t.inner.clone()).collect()
}

fn wrap_all(ts: Vec<Tensor>) -> Vec<PyTensor> {
    ts.into_iter().map(PyTensor::new).collect()
}

/// Set this thread's grad mode; returns the previous one.
#[pyfunction]
fn set_grad_enabled(enabled: bool) -> bool {
    let prev = autograd::is_grad_enabled();
    // The core's only setter is a guard that restores `prev` when dropped, which here
    // would be at once. Restoring is the Python caller's job: `no_grad`, `enable_grad`
    // and `set_grad_enabled` in `_tensor.py` and `_record` in the functional API keep
    // the returned mode and set it back on exit, exceptions included (and
    // `lucid.set_grad_enabled(False)` called on its own sets the mode for good, as in
    // PyTorch). Forgetting the guard (a bool: nothing leaks) leaves the mode set.
    std::mem::forget(autograd::set_grad_enabled(enabled));
    prev
}

#[pyfunction]
fn is_grad_enabled() -> bool {
    autograd::is_grad_enabled()
}

/// Gradients of `outputs` w.r.t. `inputs` (entries None where unused and allowed).
#[pyfunction]
#[pyo3(signature = (outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused))]
fn grad(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    grad_outputs: Vec<Option<PyRef<'_, PyTensor>>>,
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
) -> PyResult<Vec<Option<PyTensor>>> {
    let (outs, ins) = (inners(&outputs), inners(&inputs));
    let gos: Vec<Option<Tensor>> = grad_outputs.iter().map(|g| g.as_ref().map(|g| g.inner.clone())).collect();
    let opts = GradOptions { retain_graph, create_graph, allow_unused };
    let grads = interruptible(py, move || autograd::grad(&outs, &ins, &gos, opts))?;
    Ok(grads.into_iter().map(|g| g.map(PyTensor::new)).collect())
}

/// Accumulate gradients of `outputs` into leaf `.grad`.
#[pyfunction]
#[pyo3(signature = (outputs, grad_outputs, retain_graph, create_graph))]
fn backward(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    grad_outputs: Vec<Option<PyRef<'_, PyTensor>>>,
    retain_graph: bool,
    create_graph: bool,
) -> PyResult<()> {
    let outs = inners(&outputs);
    let gos: Vec<Option<Tensor>> = grad_outputs.iter().map(|g| g.as_ref().map(|g| g.inner.clone())).collect();
    interruptible(py, move || autograd::backward(&outs, &gos, retain_graph, create_graph))
}

/// The functional API's name for `op`, as lucid-core's errors take it.
pub(crate) fn static_op(op: &str) -> &'static str {
    match op {
        "jacobian" => "jacobian",
        "value_and_jacobian" => "value_and_jacobian",
        "hessian" => "hessian",
        "vjp" => "vjp",
        "jvp" => "jvp",
        "hvp" => "hvp",
        "vhp" => "vhp",
        "sparsity" => "sparsity",
        "tape" => "tape",
        _ => "autograd",
    }
}

/// Leaves that require grad for the caller's inputs (no mutation of the caller's tensors).
#[pyfunction]
fn prepare_inputs(op: &str, inputs: Vec<PyRef<'_, PyTensor>>) -> PyResult<Vec<PyTensor>> {
    functional::prepare_inputs(static_op(op), &inners(&inputs)).py().map(wrap_all)
}

/// The one check of the functional API's flags (NOTE [who checks the functional flags]
/// in args.rs), called from Python before `func` runs for anything but the valid values
/// it lets through itself: TypeError for a wrong type, ValueError for a wrong value.
/// Returns `chunk_size` as `jacobian_from_graph` takes it.
#[pyfunction]
#[pyo3(signature = (op, create_graph, strict, vectorize, chunk_size, strategy, sparse = None))]
#[allow(clippy::too_many_arguments)]
fn check_options(
    op: &str,
    create_graph: &Bound<'_, PyAny>,
    strict: &Bound<'_, PyAny>,
    vectorize: &Bound<'_, PyAny>,
    chunk_size: &Bound<'_, PyAny>,
    strategy: &Bound<'_, PyAny>,
    sparse: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<usize>> {
    let op = static_op(op);
    let opts = JacobianOptions {
        create_graph: args::flag(op, "create_graph", create_graph)?,
        strict: args::flag(op, "strict", strict)?,
        vectorize: args::flag(op, "vectorize", vectorize)?,
        chunk_size: args::chunk_size(op, chunk_size)?,
        strategy: Strategy::default(),
    };
    let sparse = sparse.map(|s| args::flag(op, "sparse", s)).transpose()?.unwrap_or(false);
    opts.check(op).py()?;
    Strategy::parse(op, &args::strategy(op, strategy)?).py()?;
    if sparse {
        functional::check_sparse_options(op, &opts).py()?;
    }
    Ok(opts.chunk_size)
}

#[pyfunction]
#[pyo3(signature = (outputs, inputs, create_graph, strict, vectorize, chunk_size, strategy = "reverse-mode"))]
#[allow(clippy::too_many_arguments)]
fn jacobian_from_graph(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    create_graph: bool,
    strict: bool,
    vectorize: bool,
    chunk_size: Option<usize>,
    strategy: &str,
) -> PyResult<Vec<PyTensor>> {
    let (outs, ins) = (inners(&outputs), inners(&inputs));
    let opts = options("jacobian", create_graph, strict, vectorize, chunk_size, strategy)?;
    interruptible(py, move || functional::jacobian_from_graph(&outs, &ins, &opts)).map(wrap_all)
}

/// `(outputs, blocks)`: the outputs (detached unless `create_graph`) and the Jacobian
/// of one recorded call, errors naming `value_and_jacobian`.
#[pyfunction]
#[pyo3(signature = (outputs, inputs, create_graph, strict, vectorize, chunk_size, strategy = "auto"))]
#[allow(clippy::too_many_arguments)]
fn value_and_jacobian_from_graph(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    create_graph: bool,
    strict: bool,
    vectorize: bool,
    chunk_size: Option<usize>,
    strategy: &str,
) -> PyResult<(Vec<PyTensor>, Vec<PyTensor>)> {
    let (outs, ins) = (inners(&outputs), inners(&inputs));
    let opts = options("value_and_jacobian", create_graph, strict, vectorize, chunk_size, strategy)?;
    let (values, blocks) = interruptible(py, move || functional::value_and_jacobian_from_graph(&outs, &ins, &opts))?;
    Ok((wrap_all(values), wrap_all(blocks)))
}

/// The options of a Jacobian (or Hessian) call whose flags Python has checked.
pub(crate) fn options(
    op: &'static str,
    create_graph: bool,
    strict: bool,
    vectorize: bool,
    chunk_size: Option<usize>,
    strategy: &str,
) -> PyResult<JacobianOptions> {
    let strategy = Strategy::parse(op, strategy).py()?;
    Ok(JacobianOptions { create_graph, strict, vectorize, chunk_size, strategy })
}

#[pyfunction]
#[pyo3(signature = (output, inputs, create_graph, strict, vectorize, chunk_size, strategy = "reverse-mode"))]
#[allow(clippy::too_many_arguments)]
fn hessian_from_graph<'py>(
    py: Python<'py>,
    output: PyRef<'py, PyTensor>,
    inputs: Vec<PyRef<'py, PyTensor>>,
    create_graph: bool,
    strict: bool,
    vectorize: bool,
    chunk_size: Option<usize>,
    strategy: &str,
) -> PyResult<Bound<'py, PyList>> {
    let (out, ins) = (output.inner.clone(), inners(&inputs));
    let opts = options("hessian", create_graph, strict, vectorize, chunk_size, strategy)?;
    let h = interruptible(py, move || functional::hessian_from_graph(&out, &ins, &opts))?;
    let rows: Vec<Vec<PyTensor>> = h.into_iter().map(wrap_all).collect();
    PyList::new(py, rows)
}

#[pyfunction]
#[pyo3(signature = (outputs, inputs, v, create_graph, strict))]
fn vjp_from_graph(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    v: Vec<PyRef<'_, PyTensor>>,
    create_graph: bool,
    strict: bool,
) -> PyResult<Vec<PyTensor>> {
    let (outs, ins, vs) = (inners(&outputs), inners(&inputs), inners(&v));
    interruptible(py, move || functional::vjp_from_graph(&outs, &ins, &vs, create_graph, strict)).map(wrap_all)
}

#[pyfunction]
#[pyo3(signature = (outputs, inputs, v, create_graph, strict))]
fn jvp_from_graph(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    v: Vec<PyRef<'_, PyTensor>>,
    create_graph: bool,
    strict: bool,
) -> PyResult<Vec<PyTensor>> {
    let (outs, ins, vs) = (inners(&outputs), inners(&inputs), inners(&v));
    interruptible(py, move || functional::jvp_from_graph(&outs, &ins, &vs, create_graph, strict)).map(wrap_all)
}

#[pyfunction]
#[pyo3(signature = (output, inputs, v, create_graph, strict))]
fn hvp_from_graph(
    py: Python<'_>,
    output: PyRef<'_, PyTensor>,
    inputs: Vec<PyRef<'_, PyTensor>>,
    v: Vec<PyRef<'_, PyTensor>>,
    create_graph: bool,
    strict: bool,
) -> PyResult<Vec<PyTensor>> {
    let (out, ins, vs) = (output.inner.clone(), inners(&inputs), inners(&v));
    interruptible(py, move || functional::hvp_from_graph(&out, &ins, &vs, create_graph, strict)).map(wrap_all)
}

/// Index arrays as SciPy takes them: int32 when every value fits (as SciPy itself
/// chooses), int64 otherwise.
enum Index {
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Index {
    fn of(v: &[usize]) -> Index {
        if v.iter().all(|&i| i <= i32::MAX as usize) {
            Index::I32(v.iter().map(|&i| i as i32).collect())
        } else {
            Index::I64(v.iter().map(|&i| i as i64).collect())
        }
    }

    /// A fresh NumPy copy (one memcpy): each result owns its arrays, so a user who
    /// edits one (`eliminate_zeros` works in place) cannot touch the cached pattern.
    fn to_numpy<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            Index::I32(v) => PyArray1::from_slice(py, v).into_any(),
            Index::I64(v) => PyArray1::from_slice(py, v).into_any(),
        }
    }
}

/// Each block's `(indices, indptr)`.
type BlockIndices = Arc<Vec<(Index, Index)>>;

/// NOTE [index arrays per pattern]: lucid-core caches a sparse result's pattern per
/// graph signature and hands it out shared (`Arc<Sparsity>`); converting its `usize`
/// indices to SciPy's int32 on every call cost a third of a small sparse Jacobian. So
/// the converted arrays are kept here per pattern (found by the `Arc`'s address and
/// checked alive through a `Weak`), and each call copies them.
static INDEX_ARRAYS: Mutex<Vec<(Weak<functional::Sparsity>, BlockIndices)>> = Mutex::new(Vec::new());

fn index_arrays(sparsity: &Arc<functional::Sparsity>) -> BlockIndices {
    let mut cache = INDEX_ARRAYS.lock().unwrap_or_else(PoisonError::into_inner);
    cache.retain(|(w, _)| w.strong_count() > 0);
    if let Some((_, arrays)) = cache.iter().find(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(sparsity))) {
        return arrays.clone();
    }
    let arrays: BlockIndices =
        Arc::new(sparsity.blocks.iter().map(|p| (Index::of(&p.indices), Index::of(&p.indptr))).collect());
    cache.push((Arc::downgrade(sparsity), arrays.clone()));
    arrays
}

/// Sparse blocks for Python: `(data, indices, indptr, (rows, cols), dtype)` each, the
/// data moved into NumPy without a copy; `lucid.autograd` makes each a
/// `scipy.sparse.csr_array`.
fn csr_tuples<'py>(py: Python<'py>, result: functional::SparseValues) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let arrays = index_arrays(&result.sparsity);
    result
        .values
        .into_iter()
        .zip(&result.sparsity.blocks)
        .zip(arrays.iter())
        .zip(&result.dtypes)
        .map(|(((data, p), (indices, indptr)), dtype)| {
            let data = data.into_pyarray(py).into_any();
            (data, indices.to_numpy(py), indptr.to_numpy(py), (p.rows, p.cols), dtype.name()).into_pyobject(py)
        })
        .collect()
}

/// The sparse Jacobian blocks as CSR tuples; errors name `op` (`jacobian`, or
/// `value_and_jacobian`).
#[pyfunction]
#[pyo3(signature = (outputs, inputs, strict, strategy, op = "jacobian"))]
fn sparse_jacobian_from_graph<'py>(
    py: Python<'py>,
    outputs: Vec<PyRef<'py, PyTensor>>,
    inputs: Vec<PyRef<'py, PyTensor>>,
    strict: bool,
    strategy: &str,
    op: &str,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let (outs, ins) = (inners(&outputs), inners(&inputs));
    let op = static_op(op);
    let strategy = Strategy::parse(op, strategy).py()?;
    let opts = JacobianOptions { strict, strategy, ..Default::default() };
    let result = interruptible(py, move || functional::sparse_jacobian_values_named(op, &outs, &ins, &opts))?;
    csr_tuples(py, result)
}

#[pyfunction]
#[pyo3(signature = (output, inputs, strict))]
fn sparse_hessian_from_graph<'py>(
    py: Python<'py>,
    output: PyRef<'py, PyTensor>,
    inputs: Vec<PyRef<'py, PyTensor>>,
    strict: bool,
) -> PyResult<Vec<Vec<Bound<'py, PyTuple>>>> {
    let (out, ins) = (output.inner.clone(), inners(&inputs));
    let k = ins.len();
    let opts = JacobianOptions { strict, ..Default::default() };
    let result = interruptible(py, move || functional::sparse_hessian_values(&out, &ins, &opts))?;
    let mut blocks = csr_tuples(py, result)?.into_iter();
    Ok((0..k).map(|_| blocks.by_ref().take(k).collect()).collect())
}

/// A sparsity for Python: `(blocks, colours, direction, order, colouring)`, each block
/// `(indices, indptr, (rows, cols))`.
fn sparsity_tuple<'py>(py: Python<'py>, s: Arc<functional::Sparsity>) -> PyResult<Bound<'py, PyTuple>> {
    let arrays = index_arrays(&s);
    let blocks: Vec<Bound<'py, PyTuple>> = s
        .blocks
        .iter()
        .zip(arrays.iter())
        .map(|(p, (indices, indptr))| (indices.to_numpy(py), indptr.to_numpy(py), (p.rows, p.cols)).into_pyobject(py))
        .collect::<PyResult<_>>()?;
    let order = format!("{:?}", s.order);
    let colouring = Index::of(&s.colouring).to_numpy(py);
    (blocks, s.colours, s.direction.name(), order, colouring).into_pyobject(py)
}

#[pyfunction]
#[pyo3(signature = (outputs, inputs, strategy))]
fn sparsity_from_graph<'py>(
    py: Python<'py>,
    outputs: Vec<PyRef<'py, PyTensor>>,
    inputs: Vec<PyRef<'py, PyTensor>>,
    strategy: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    let (outs, ins) = (inners(&outputs), inners(&inputs));
    let strategy = Strategy::parse("sparsity", strategy).py()?;
    let s = interruptible(py, move || functional::sparsity_from_graph(&outs, &ins, strategy))?;
    sparsity_tuple(py, s)
}

#[pyfunction]
#[pyo3(signature = (output, inputs))]
fn hessian_sparsity_from_graph<'py>(
    py: Python<'py>,
    output: PyRef<'py, PyTensor>,
    inputs: Vec<PyRef<'py, PyTensor>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let (out, ins) = (output.inner.clone(), inners(&inputs));
    let s = interruptible(py, move || functional::hessian_sparsity_from_graph(&out, &ins))?;
    sparsity_tuple(py, s)
}

/// Forget the cached sparsity patterns and colourings.
#[pyfunction]
fn clear_sparsity_cache() {
    functional::clear_sparsity_cache();
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(is_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(grad, m)?)?;
    m.add_function(wrap_pyfunction!(backward, m)?)?;
    m.add_function(wrap_pyfunction!(prepare_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(check_options, m)?)?;
    m.add_function(wrap_pyfunction!(jacobian_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(value_and_jacobian_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(hessian_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(vjp_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(jvp_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(hvp_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(sparse_jacobian_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(sparse_hessian_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(sparsity_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(hessian_sparsity_from_graph, m)?)?;
    m.add_function(wrap_pyfunction!(clear_sparsity_cache, m)?)?;
    Ok(())
}
