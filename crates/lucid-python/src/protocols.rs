//! `lucid.Tensor`'s Python protocols: `clone`, pickling, `copy.copy` and
//! `copy.deepcopy`, iteration, `round` and `format`; and pickling of `lucid.dtype`.
//!
//! NOTE [pickled tensors]: a tensor pickles as `_rebuild_tensor(dtype, shape, data,
//! requires_grad)` with `data` the values as little-endian bytes in row-major order.
//! Nothing of the process that pickled it is referenced (no ids, no graph, no NumPy
//! array, whose pickles differ between NumPy 1 and 2), so any process with `lucid`
//! installed rebuilds it: a `multiprocessing` child started with spawn, a joblib worker,
//! a cache read back next week. The graph does not travel: a non-leaf arrives as a leaf
//! (keeping `requires_grad`), and `.grad` is left behind, as in PyTorch.

use lucid_core::functional::note_escape;
use lucid_core::{DType, Storage, Tensor};
use ndarray::{ArcArray, IxDyn};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString, PyTuple};

use crate::dtype::PyDType;
use crate::errors::PyResultExt;
use crate::tensor::{wrap, PyTensor};

#[pymethods]
impl PyTensor {
    /// A copy in new memory that stays in the graph, as PyTorch's ``clone``: the clone
    /// of a tensor that requires grad is a non-leaf (``grad_fn`` ``clone``) with a
    /// ``.grad`` of its own, and its gradient flows back to the original unchanged
    /// (d clone(x)/dx = I). The clone of any other tensor is a new leaf.
    ///
    /// >>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
    /// >>> y = x.clone()
    /// >>> y.is_leaf, y.grad_fn
    /// (False, 'clone')
    /// >>> (3 * y).sum().backward()
    /// >>> x.grad
    /// tensor([3., 3.])
    fn clone(&self) -> PyResult<PyTensor> {
        wrap(self.inner.copy())
    }

    /// Pickle support (NOTE [pickled tensors] in `protocols.rs`): values, dtype, shape
    /// and ``requires_grad`` travel; the graph and ``.grad`` do not, so a non-leaf
    /// unpickles as a leaf.
    ///
    /// >>> import pickle
    /// >>> y = lucid.tensor([1.0, 2.0], requires_grad=True) * 2
    /// >>> z = pickle.loads(pickle.dumps(y))
    /// >>> z, z.is_leaf
    /// (tensor([2., 4.], requires_grad=True), True)
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        note_escape(&self.inner);
        let rebuild = py.import("lucid._core")?.getattr("_rebuild_tensor")?;
        let t = &self.inner;
        let shape = PyTuple::new(py, t.shape())?;
        let data = le_bytes(py, t.storage())?;
        let args = (t.dtype().name(), shape, data, t.requires_grad()).into_pyobject(py)?;
        PyTuple::new(py, [rebuild, args.into_any()])
    }

    /// ``copy.copy``: a new leaf over the same values (storage is immutable, so sharing
    /// it is safe), with the same ``requires_grad`` and no ``.grad``. A non-leaf
    /// becomes a leaf, as in pickling. In-place writes into the copy or the original
    /// stay there, as with NumPy's ``copy.copy`` (PyTorch's shares memory, so there a
    /// write shows in both; use a view, ``t[...]``, for that).
    ///
    /// >>> import copy
    /// >>> w = lucid.tensor([1.0, 2.0], requires_grad=True)
    /// >>> c = copy.copy(w)
    /// >>> c is w, c.requires_grad, c.is_leaf
    /// (False, True, True)
    fn __copy__(&self) -> PyResult<PyTensor> {
        note_escape(&self.inner);
        leaf_like(Tensor::from_storage(self.inner.storage().clone()), &self.inner)
    }

    /// ``copy.deepcopy``: an independent leaf in new memory, with the same dtype,
    /// shape and ``requires_grad``, and a deep copy of ``.grad``. A non-leaf becomes a
    /// leaf, as in pickling (PyTorch refuses to deep-copy a non-leaf).
    ///
    /// >>> import copy
    /// >>> w = lucid.tensor([1.0, 2.0], requires_grad=True)
    /// >>> (w * w).sum().backward()
    /// >>> d = copy.deepcopy(w)
    /// >>> d.grad, d.grad is w.grad
    /// (tensor([2., 4.]), False)
    #[pyo3(signature = (memo = None))]
    fn __deepcopy__(&self, memo: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let _ = memo; // nothing inside a tensor is shared with other Python objects
        note_escape(&self.inner);
        let copied = leaf_like(Tensor::from_storage(owned(self.inner.storage())), &self.inner)?;
        if let Some(g) = self.inner.grad() {
            copied.inner.set_grad(Some(Tensor::from_storage(owned(g.storage())))).py()?;
        }
        Ok(copied)
    }

    /// Iterate over dim 0, as ``t[0], t[1], ...``. A 0-d tensor is not iterable, as in
    /// PyTorch (Python would otherwise stop at ``t[0]`` and yield nothing).
    ///
    /// >>> [r.tolist() for r in lucid.tensor([[1, 2], [3, 4]])]
    /// [[1, 2], [3, 4]]
    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<TensorIterator> {
        let t = &slf.borrow().inner;
        let Some(&len) = t.shape().first() else {
            return Err(PyTypeError::new_err("iteration over a 0-d tensor"));
        };
        Ok(TensorIterator { tensor: slf.clone().into_any().unbind(), next: 0, len })
    }

    /// ``round(t)`` and ``round(t, ndigits)`` of a one-element tensor: the Python
    /// number's ``round`` (an int without ``ndigits``; ties to even). For a tensor of
    /// rounded values use ``t.round(decimals=n)``, which stays a tensor of any shape.
    ///
    /// >>> round(lucid.tensor(2.5)), round(lucid.tensor([3.14159], dtype=lucid.float64), 2)
    /// (2, 3.14)
    #[pyo3(signature = (ndigits = None))]
    fn __round__<'py>(slf: &Bound<'py, Self>, ndigits: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let shape = slf.borrow().inner.shape().to_vec();
        if shape.iter().product::<usize>() != 1 {
            return Err(PyTypeError::new_err(format!(
                "round: only one-element tensors can be rounded to a Python number, got shape {}; use t.round(decimals=n) for a tensor",
                shape_text(&shape)
            )));
        }
        let value = slf.call_method0("item")?;
        let round = py.import("builtins")?.getattr("round")?;
        match ndigits.filter(|n| !n.is_none()) {
            None => round.call1((value,)),
            Some(n) => {
                let n = py.import("operator")?.getattr("index")?.call1((n,)).map_err(|_| {
                    PyTypeError::new_err(format!("round: ndigits must be an int, got {}", crate::args::type_name(n)))
                })?;
                round.call1((value, n.downcast_into::<PyInt>()?))
            }
        }
    }

    /// ``format(t, spec)`` and ``f"{t:spec}"``: a 0-d tensor formats as its value (as in
    /// PyTorch, so ``f"{loss}"`` prints the number); another one-element tensor formats
    /// its value when given a spec. Any other tensor takes only the empty spec (its
    /// ``repr``); a spec is a TypeError, as in PyTorch.
    ///
    /// >>> f"{lucid.tensor(2.0) / 3:.3f}", format(lucid.tensor([[7]]), "03d")
    /// ('0.667', '007')
    fn __format__<'py>(slf: &Bound<'py, Self>, spec: &str) -> PyResult<Bound<'py, PyString>> {
        let shape = slf.borrow().inner.shape().to_vec();
        let one = shape.iter().product::<usize>() == 1;
        if shape.is_empty() || (one && !spec.is_empty()) {
            let value = slf.call_method0("item")?;
            return value.call_method1("__format__", (spec,))?.downcast_into::<PyString>().map_err(Into::into);
        }
        if spec.is_empty() {
            return slf.str();
        }
        Err(PyTypeError::new_err(format!(
            "format: the spec {spec:?} needs a one-element tensor, got shape {}; format the values of t.tolist() instead",
            shape_text(&shape)
        )))
    }
}

/// The iterator of `iter(tensor)`: `tensor[i]` for each i of dim 0, read as it is
/// reached (through `__getitem__`, so an item is whatever indexing gives).
#[pyclass(name = "TensorIterator", module = "lucid")]
pub struct TensorIterator {
    tensor: Py<PyAny>,
    next: usize,
    len: usize,
}

#[pymethods]
impl TensorIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.next >= self.len {
            return Ok(None);
        }
        let item = self.tensor.bind(py).get_item(self.next)?;
        self.next += 1;
        Ok(Some(item))
    }
    fn __length_hint__(&self) -> usize {
        self.len - self.next
    }
}

#[pymethods]
impl PyDType {
    /// Pickle support: a dtype travels as its name, so a pickled tensor's dtype or a
    /// config holding ``lucid.float64`` unpickles anywhere ``lucid`` is installed.
    ///
    /// >>> import pickle
    /// >>> pickle.loads(pickle.dumps(lucid.float64)) == lucid.float64
    /// True
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let rebuild = py.import("lucid._core")?.getattr("_rebuild_dtype")?;
        let args = (self.0.name(),).into_pyobject(py)?;
        PyTuple::new(py, [rebuild, args.into_any()])
    }
}

/// `lucid._core._rebuild_dtype(name)`: the dtype a pickle holds.
#[pyfunction]
fn _rebuild_dtype(name: &str) -> PyResult<PyDType> {
    dtype_named("a dtype", name).map(PyDType)
}

/// The dtype of a pickled `name`; a ValueError naming what was being unpickled.
fn dtype_named(what: &str, name: &str) -> PyResult<DType> {
    match name {
        "float32" => Ok(DType::F32),
        "float64" => Ok(DType::F64),
        "int64" => Ok(DType::I64),
        "bool" => Ok(DType::Bool),
        other => Err(PyValueError::new_err(format!(
            "unpickling {what}: unknown dtype {other:?}; expected float32, float64, int64 or bool"
        ))),
    }
}

/// `lucid._core._rebuild_tensor(dtype, shape, data, requires_grad)`: the tensor a pickle
/// holds (NOTE [pickled tensors]). Checks what it is given, since a pickle may come from
/// anywhere: a wrong dtype name or a byte count that does not fill the shape is a
/// ValueError, not a crash.
#[pyfunction]
#[pyo3(signature = (dtype, shape, data, requires_grad))]
fn _rebuild_tensor(
    dtype: &str,
    shape: Vec<usize>,
    data: &Bound<'_, PyBytes>,
    requires_grad: bool,
) -> PyResult<PyTensor> {
    let dtype = dtype_named("a Tensor", dtype)?;
    let bytes = data.as_bytes();
    let size = itemsize(dtype);
    let numel = lucid_core::dtype::checked_numel("unpickling a Tensor", &shape, size).py()?;
    if numel.checked_mul(size) != Some(bytes.len()) {
        return Err(PyValueError::new_err(format!(
            "unpickling a Tensor: {} bytes of data do not fill shape {} of {}",
            bytes.len(),
            shape_text(&shape),
            dtype.name()
        )));
    }
    let shaped = |e: ndarray::ShapeError| PyValueError::new_err(format!("unpickling a Tensor: {e}"));
    let storage = match dtype {
        DType::F32 => {
            Storage::F32(ArcArray::from_shape_vec(IxDyn(&shape), decode(bytes, f32::from_le_bytes)).map_err(shaped)?)
        }
        DType::F64 => {
            Storage::F64(ArcArray::from_shape_vec(IxDyn(&shape), decode(bytes, f64::from_le_bytes)).map_err(shaped)?)
        }
        DType::I64 => {
            Storage::I64(ArcArray::from_shape_vec(IxDyn(&shape), decode(bytes, i64::from_le_bytes)).map_err(shaped)?)
        }
        DType::Bool => Storage::Bool(
            ArcArray::from_shape_vec(IxDyn(&shape), bytes.iter().map(|&b| b != 0).collect()).map_err(shaped)?,
        ),
    };
    let t = Tensor::from_storage(storage);
    t.set_requires_grad(requires_grad).py()?;
    Ok(PyTensor::new(t))
}

/// A new leaf over `data` with `like`'s `requires_grad`.
fn leaf_like(data: Tensor, like: &Tensor) -> PyResult<PyTensor> {
    data.set_requires_grad(like.requires_grad()).py()?;
    Ok(PyTensor::new(data))
}

/// The values in new, contiguous memory.
fn owned(s: &Storage) -> Storage {
    lucid_core::map_storage!(s, |a| a.as_standard_layout().into_owned().into_shared())
}

fn itemsize(dtype: DType) -> usize {
    match dtype {
        DType::F32 => 4,
        DType::F64 | DType::I64 => 8,
        DType::Bool => 1,
    }
}

/// The values as little-endian bytes in row-major order, written straight into the
/// Python bytes object (one copy).
fn le_bytes<'py>(py: Python<'py>, s: &Storage) -> PyResult<Bound<'py, PyBytes>> {
    fn fill<T: Copy, const N: usize>(a: &ArcArray<T, IxDyn>, buf: &mut [u8], to: fn(T) -> [u8; N]) {
        for (chunk, &v) in buf.chunks_exact_mut(N).zip(a.iter()) {
            chunk.copy_from_slice(&to(v));
        }
    }
    let len = s.shape().iter().product::<usize>() * itemsize(s.dtype());
    PyBytes::new_with(py, len, |buf| {
        match s {
            Storage::F32(a) => fill(a, buf, f32::to_le_bytes),
            Storage::F64(a) => fill(a, buf, f64::to_le_bytes),
            Storage::I64(a) => fill(a, buf, i64::to_le_bytes),
            Storage::Bool(a) => fill(a, buf, |b: bool| [u8::from(b)]),
        }
        Ok(())
    })
}

/// Values of `N` little-endian bytes each (`bytes.len()` is a multiple of `N`).
fn decode<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            from(b)
        })
        .collect()
}

/// A shape as Python writes a tuple: `(2, 3)`, `(3,)`, `()`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_rebuild_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(_rebuild_dtype, m)?)?;
    Ok(())
}
