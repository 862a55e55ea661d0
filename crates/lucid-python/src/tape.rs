//! `lucid._core.TapeCache`: the tapes of one Python function (NOTE [tape] in
//! lucid-core's `functional/tape.rs`). The Python class `lucid.Tape` holds one and asks
//! it for the graph at new inputs; the function runs (with the GIL held, on this
//! thread) only when no tape's guards hold.

use std::cell::RefCell;

use lucid_core::functional::{self, Graph, Level, TapeCache};
use lucid_core::{Error, Tensor};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::autograd::{interruptible, options, static_op};
use crate::errors::PyResultExt;
use crate::tensor::PyTensor;

/// What `func` returned, as the functional API accepts it: a Tensor, or a non-empty
/// tuple or list of Tensors (then `true`).
fn outputs_of(fn_name: &str, raw: &Bound<'_, PyAny>) -> PyResult<(Vec<Tensor>, bool)> {
    if let Ok(t) = raw.downcast::<PyTensor>() {
        return Ok((vec![t.borrow().inner.clone()], false));
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(t) = raw.downcast::<PyTuple>() {
        t.iter().collect()
    } else if let Ok(l) = raw.downcast::<PyList>() {
        l.iter().collect()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{fn_name}: the function must return a Tensor or a tuple of Tensors, got {}",
            raw.get_type().name()?
        )));
    };
    if items.is_empty() {
        return Err(PyTypeError::new_err(format!("{fn_name}: the function returned an empty tuple")));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.downcast::<PyTensor>() {
            Ok(t) => out.push(t.borrow().inner.clone()),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "{fn_name}: the function must return a Tensor or a tuple of Tensors; output {i} is {}",
                    item.get_type().name()?
                )))
            }
        }
    }
    Ok((out, true))
}

fn wrap_all(ts: Vec<Tensor>) -> Vec<PyTensor> {
    ts.into_iter().map(PyTensor::new).collect()
}

/// A sweep over a replayed graph: on this thread with the GIL held when it is small
/// (a few dozen steps and a Jacobian of at most 2^14 entries take microseconds, less
/// than releasing the GIL and watching for Ctrl-C cost), else released and
/// interruptible like every other sweep.
fn sweep<T: Send>(py: Python<'_>, g: &Graph, work: impl FnOnce(&Graph) -> lucid_core::Result<T> + Send) -> PyResult<T> {
    let m: usize = g.outputs.iter().map(Tensor::numel).sum();
    let n: usize = g.leaves.iter().map(Tensor::numel).sum();
    if g.steps <= 64 && m.saturating_mul(n) <= 1 << 14 {
        return work(g).py();
    }
    interruptible(py, move || work(g))
}

#[pyclass(name = "TapeCache", module = "lucid._core", frozen)]
pub struct PyTapeCache {
    cache: TapeCache,
}

#[pymethods]
impl PyTapeCache {
    #[new]
    fn new(capacity: usize) -> PyTapeCache {
        PyTapeCache { cache: TapeCache::new(capacity) }
    }

    /// `(leaves, outputs, tuple_output, replayed)`: the graph of `func` at `inputs`,
    /// replayed from a tape whose guards hold, else recorded by calling `func` (with
    /// grad mode on) and kept. `grad=False` replays without a graph.
    fn graph(
        &self,
        py: Python<'_>,
        op: &str,
        func: &Bound<'_, PyAny>,
        inputs: Vec<PyRef<'_, PyTensor>>,
        grad: bool,
    ) -> PyResult<(Vec<PyTensor>, Vec<PyTensor>, bool, bool)> {
        let Graph { leaves, outputs, tuple_output, replayed, .. } = self.graph_of(py, op, func, &inputs, grad)?;
        Ok((wrap_all(leaves), wrap_all(outputs), tuple_output, replayed))
    }

    /// `(blocks, recorded)`: the dense Jacobian of `func` at `inputs` in one call (the
    /// replay and the sweep), as `jacobian_from_graph` returns it; `recorded` when the
    /// function had to run.
    #[pyo3(signature = (func, inputs, create_graph, strict, vectorize, chunk_size, strategy))]
    #[allow(clippy::too_many_arguments)]
    fn jacobian(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        inputs: Vec<PyRef<'_, PyTensor>>,
        create_graph: bool,
        strict: bool,
        vectorize: bool,
        chunk_size: Option<usize>,
        strategy: &str,
    ) -> PyResult<(Vec<PyTensor>, bool)> {
        let opts = options("jacobian", create_graph, strict, vectorize, chunk_size, strategy)?;
        let g = self.graph_of(py, "jacobian", func, &inputs, true)?;
        let recorded = !g.replayed;
        let blocks = sweep(py, &g, move |g| functional::jacobian_from_graph(&g.outputs, &g.leaves, &opts))?;
        Ok((wrap_all(blocks), recorded))
    }

    /// `(outputs, tuple_output, blocks, recorded)`: the outputs of `func` at `inputs`
    /// (detached unless `create_graph`) and their dense Jacobian, from one replay and
    /// one sweep (`value_and_jacobian_from_graph`); `recorded` when the function had to
    /// run.
    #[pyo3(signature = (func, inputs, create_graph, strict, vectorize, chunk_size, strategy))]
    #[allow(clippy::too_many_arguments)]
    fn value_and_jacobian(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        inputs: Vec<PyRef<'_, PyTensor>>,
        create_graph: bool,
        strict: bool,
        vectorize: bool,
        chunk_size: Option<usize>,
        strategy: &str,
    ) -> PyResult<(Vec<PyTensor>, bool, Vec<PyTensor>, bool)> {
        let op = "value_and_jacobian";
        let opts = options(op, create_graph, strict, vectorize, chunk_size, strategy)?;
        let g = self.graph_of(py, op, func, &inputs, true)?;
        let (recorded, tuple_output) = (!g.replayed, g.tuple_output);
        let (values, blocks) =
            sweep(py, &g, move |g| functional::value_and_jacobian_from_graph(&g.outputs, &g.leaves, &opts))?;
        Ok((wrap_all(values), tuple_output, wrap_all(blocks), recorded))
    }

    /// `(outputs, tuple_output, recorded)`: `func(*inputs)` replayed, as calling `func`
    /// returns it.
    fn call(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        inputs: Vec<PyRef<'_, PyTensor>>,
    ) -> PyResult<(Vec<PyTensor>, bool, bool)> {
        let g = self.graph_of(py, "tape", func, &inputs, false)?;
        Ok((wrap_all(g.outputs), g.tuple_output, !g.replayed))
    }

    /// `kind` ("call", "jacobian" or "hessian") at each point, replayed and spread over
    /// the cores with the GIL released: per point, the outputs (call), the Jacobian
    /// blocks, or the rows of Hessian blocks; `None` where no tape's guards hold (the
    /// caller records those, running the function).
    #[pyo3(signature = (kind, points, create_graph, strict, vectorize, chunk_size, strategy))]
    #[allow(clippy::too_many_arguments)]
    fn map(
        &self,
        py: Python<'_>,
        kind: &str,
        points: Vec<Vec<PyRef<'_, PyTensor>>>,
        create_graph: bool,
        strict: bool,
        vectorize: bool,
        chunk_size: Option<usize>,
        strategy: &str,
    ) -> PyResult<Vec<Option<Vec<Vec<PyTensor>>>>> {
        let op = static_op(kind);
        let opts = options(op, create_graph, strict, vectorize, chunk_size, strategy)?;
        let points: Vec<Vec<Tensor>> = points.iter().map(|p| p.iter().map(|t| t.inner.clone()).collect()).collect();
        let cache = &self.cache;
        let found = interruptible(py, move || match kind {
            "call" => cache.map_replays("tape", &points, false, &|g: Graph| Ok(vec![g.outputs])),
            "jacobian" => cache.map_replays(op, &points, true, &|g: Graph| {
                Ok(vec![functional::jacobian_from_graph(&g.outputs, &g.leaves, &opts)?])
            }),
            "hessian" => cache.map_replays(op, &points, true, &|g: Graph| match g.outputs.as_slice() {
                [out] if out.numel() == 1 => functional::hessian_from_graph(out, &g.leaves, &opts),
                // the single-call path raises the right error for this point
                _ => Err(Error::argument("hessian", "not a single-element output")),
            }),
            _ => Err(Error::argument("tape", format!("map: unknown kind {kind:?}"))),
        })?;
        Ok(found
            .into_iter()
            .map(|r| r.map(|rows| rows.into_iter().map(|row| row.into_iter().map(PyTensor::new).collect()).collect()))
            .collect())
    }

    /// `(results, fallbacks)` of one batched replay (NOTE [batched replay] in
    /// lucid-core's `functional/batch.rs`), or `None` when no tape's guards hold for
    /// every sample. `inputs[k]` has a leading batch dim when `batched[k]`. `levels`
    /// lists the derivative transforms from the innermost out ("jacrev", "jacfwd" or
    /// "grad"; none: the function's outputs), each taken per sample w.r.t. the first
    /// `ndiff` inputs (which must be batched). `results` are the final outputs, each
    /// `(B, ...)`, flattened output-major then input; `fallbacks` names the ops that ran
    /// once per sample.
    #[pyo3(signature = (inputs, batched, levels, ndiff, chunk_size, create_graph))]
    #[allow(clippy::too_many_arguments)]
    fn batched(
        &self,
        py: Python<'_>,
        inputs: Vec<PyRef<'_, PyTensor>>,
        batched: Vec<bool>,
        levels: Vec<String>,
        ndiff: usize,
        chunk_size: Option<usize>,
        create_graph: bool,
    ) -> PyResult<Option<(Vec<PyTensor>, Vec<&'static str>)>> {
        let ins: Vec<Tensor> = inputs.iter().map(|t| t.inner.clone()).collect();
        let levels = levels
            .iter()
            .map(|l| match l.as_str() {
                "jacrev" => Ok(Level::JacRev),
                "jacfwd" => Ok(Level::JacFwd),
                "grad" => Ok(Level::Grad),
                other => Err(Error::argument("vmap", format!("unknown transform {other:?}"))),
            })
            .collect::<lucid_core::Result<Vec<_>>>()
            .py()?;
        let cache = &self.cache;
        let work = move || cache.per_sample(&ins, &batched, &levels, ndiff, chunk_size, create_graph);
        let found = interruptible(py, work)?;
        Ok(found.map(|(outs, names)| (wrap_all(outs), names)))
    }

    /// The tapes and counters as bytes (for pickling).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.cache.to_bytes().py()?))
    }

    /// A cache rebuilt from `to_bytes`; ValueError for bytes from another Lucid version.
    #[staticmethod]
    fn from_bytes(data: &[u8], capacity: usize) -> PyResult<PyTapeCache> {
        Ok(PyTapeCache { cache: TapeCache::from_bytes(data, capacity).py()? })
    }

    /// How many times the function was recorded (the first call included).
    #[getter]
    fn records(&self) -> usize {
        self.cache.records()
    }

    /// How many calls a replay answered.
    #[getter]
    fn replays(&self) -> usize {
        self.cache.replays()
    }

    /// `(steps, used_random, untraceable)` of each tape held, most recently used first.
    fn tapes(&self) -> Vec<(usize, bool, Option<String>)> {
        self.cache.tapes().iter().map(|t| (t.len(), t.used_random(), t.untraceable().map(str::to_string))).collect()
    }
}

impl PyTapeCache {
    /// [`TapeCache::graph`] with `func` as the recorder: a Python exception inside it
    /// is raised as itself.
    fn graph_of(
        &self,
        py: Python<'_>,
        op: &str,
        func: &Bound<'_, PyAny>,
        inputs: &[PyRef<'_, PyTensor>],
        grad: bool,
    ) -> PyResult<Graph> {
        let op = static_op(op);
        let ins: Vec<Tensor> = inputs.iter().map(|t| t.inner.clone()).collect();
        // a Python exception inside `func` travels past the core as this
        let raised: RefCell<Option<PyErr>> = RefCell::new(None);
        let record = |leaves: &[Tensor]| -> lucid_core::Result<(Vec<Tensor>, bool)> {
            let args: Vec<PyTensor> = leaves.iter().cloned().map(PyTensor::new).collect();
            let result = PyTuple::new(py, args).and_then(|a| func.call1(a)).and_then(|raw| outputs_of(op, &raw));
            result.map_err(|e| {
                *raised.borrow_mut() = Some(e);
                Error::argument(op, "the function raised")
            })
        };
        self.cache.graph(op, &ins, grad, record).or_else(|e| match raised.into_inner() {
            Some(py_err) => Err(py_err),
            None => Err(e).py(),
        })
    }
}

/// How many times each op ran once per sample in a batched replay (`vmap`) because it
/// has no batching rule, over the process: `{op name: count}`.
#[pyfunction]
fn batch_fallbacks() -> std::collections::BTreeMap<&'static str, usize> {
    functional::batch_fallbacks()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(batch_fallbacks, m)?)?;
    m.add_class::<PyTapeCache>()
}
