//! `lucid.Tensor`: attributes, conversions, Python operators, indexing and backward.
//! Op methods live in `ops.rs` (several `#[pymethods]` blocks, one per family).

use lucid_core::autograd;
use lucid_core::{IndexItem, Tensor};
use pyo3::exceptions::{PyIndexError, PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyEllipsis, PyNone, PySlice, PyTuple};

use crate::args::{self, Dim, Flag};
use crate::convert::{operand, to_numpy};
use crate::dtype::PyDType;
use crate::errors::PyResultExt;
use crate::views::{self, Alias, ViewList};
use lucid_core::functional::note_escape;
use pyo3::types::PyWeakrefReference;
use std::sync::Mutex;

/// An n-dimensional array of float32, float64, int64 or bool values that records the
/// operations applied to it, so that derivatives of any order can be taken exactly.
///
/// Make one with `lucid.tensor(data)` or a constructor (`zeros`, `arange`, `randn`,
/// ...). Operators work with tensors and numbers on either side, with NumPy's
/// broadcasting, and every op is both a method (`x.exp()`) and a function
/// (`lucid.exp(x)`). A tensor with `requires_grad=True` is a leaf of the graph that
/// ops on it record; `backward()` fills the leaves' `.grad`, and `lucid.autograd`
/// computes gradients, Jacobians and Hessians of whole functions.
///
/// >>> x = lucid.tensor([1.0, 2.0, 3.0], requires_grad=True)
/// >>> y = (x * x).sum()
/// >>> y.backward()
/// >>> x.grad
/// tensor([2., 4., 6.])
///
/// Indexing works as in NumPy and PyTorch: ints, slices, None and Ellipsis give views
/// of the data; int64 tensors, lists and bool masks (advanced indexing) give copies.
/// Reading is differentiable (the cotangent is scattered back to the indexed entries);
/// assignment (`x[i] = value`, a tensor or a number, broadcast) writes into a tensor
/// that does not require grad.
///
/// >>> x = lucid.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
/// >>> x[1, ::2], x[:, lucid.tensor([2, 0])][0], x[x > 4]
/// (tensor([4., 6.]), tensor([3., 1.]), tensor([5., 6.]))
/// >>> x[0, 1:] = 0.0
/// >>> x[0]
/// tensor([1., 0., 0.])
#[pyclass(name = "Tensor", module = "lucid", weakref)]
pub struct PyTensor {
    /// The current value. In-place writes replace it (NOTE [views and in-place writes]).
    pub inner: Tensor,
    /// What this tensor is a view of (or the gradient slot it aliases), if anything.
    pub(crate) alias: Option<Alias>,
    /// The live views whose root this tensor is, recomputed after each write.
    pub(crate) views: ViewList,
    /// The object `.grad` returned last, while it is alive.
    pub(crate) grad_view: Mutex<Option<Py<PyWeakrefReference>>>,
    /// How many in-place writes this tensor has seen (PyTorch's `_version`).
    pub(crate) version: u64,
}

impl PyTensor {
    pub fn new(inner: Tensor) -> Self {
        PyTensor { inner, alias: None, views: ViewList::default(), grad_view: Mutex::new(None), version: 0 }
    }

    pub(crate) fn aliasing(inner: Tensor, alias: Alias) -> Self {
        PyTensor { alias: Some(alias), ..PyTensor::new(inner) }
    }
}

/// Convert a core result into a new Python tensor.
pub fn wrap(r: lucid_core::Result<Tensor>) -> PyResult<PyTensor> {
    r.py().map(PyTensor::new)
}

/// Parse a Python index expression into core index items; `None` when it contains a
/// tensor or a sequence (advanced indexing, handled by `index_advanced`).
pub fn parse_index(key: &Bound<'_, PyAny>) -> PyResult<Option<Vec<IndexItem>>> {
    let parts: Vec<Bound<'_, PyAny>> = match key.downcast::<PyTuple>() {
        Ok(t) => t.iter().collect(),
        Err(_) => vec![key.clone()],
    };
    let mut items = Vec::with_capacity(parts.len());
    for p in &parts {
        if p.is_instance_of::<PyNone>() {
            items.push(IndexItem::NewAxis);
        } else if p.is_instance_of::<PyEllipsis>() {
            items.push(IndexItem::Ellipsis);
        } else if let Ok(s) = p.downcast::<PySlice>() {
            let py = s.py();
            let get = |name: &Bound<'_, pyo3::types::PyString>| -> PyResult<Option<isize>> {
                let v = s.getattr(name)?;
                if v.is_none() {
                    return Ok(None);
                }
                match v.extract::<isize>() {
                    Ok(i) => Ok(Some(i)),
                    // Python clamps slice bounds to the sequence: past ±isize::MAX every
                    // dim is shorter, so the nearest isize means the same (a step too)
                    Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
                        Ok(Some(if v.lt(0)? { isize::MIN } else { isize::MAX }))
                    }
                    Err(_) => Err(PyTypeError::new_err(format!(
                        "slice indices must be integers or None, got {}",
                        v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
                    ))),
                }
            };
            // interned names: slicing is on the hot path of recorded functions
            let step = get(pyo3::intern!(py, "step"))?.unwrap_or(1);
            items.push(IndexItem::Slice {
                start: get(pyo3::intern!(py, "start"))?,
                stop: get(pyo3::intern!(py, "stop"))?,
                step,
            });
        } else if p.is_instance_of::<pyo3::types::PyBool>() || p.downcast::<PyTensor>().is_ok() {
            // a tensor is a tensor index even with one element (before `__index__`)
            return Ok(None);
        } else if let Ok(i) = p.extract::<isize>() {
            items.push(IndexItem::Int(i));
        } else if p.is_instance_of::<pyo3::types::PyInt>() {
            // an int that does not fit an isize is past the end of any dim
            return Err(PyIndexError::new_err(format!("index: index {p} is out of bounds")));
        } else if p.downcast::<pyo3::types::PyList>().is_ok() || p.downcast::<numpy::PyUntypedArray>().is_ok() {
            return Ok(None);
        } else {
            return Err(PyIndexError::new_err(format!(
                "only integers, slices, None, Ellipsis and integer or bool tensors are valid indices, got {}",
                p.get_type().name()?
            )));
        }
    }
    Ok(Some(items))
}

#[pymethods]
impl PyTensor {
    /// Makes NumPy defer to the Tensor's reflected operators, so `np.float64(2) * t`
    /// and `ndarray + t` give Tensors (in the graph) rather than NumPy arrays.
    #[classattr]
    fn __array_priority__() -> f64 {
        1000.0
    }

    // ---- attributes -------------------------------------------------------------------

    /// The size of each dim, as a tuple of ints.
    ///
    /// >>> lucid.zeros(2, 3).shape
    /// (2, 3)
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }
    /// The number of dims.
    ///
    /// >>> lucid.zeros(2, 3).ndim, lucid.tensor(1.0).ndim
    /// (2, 0)
    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ndim()
    }
    /// The element type: `lucid.float32`, `float64`, `int64` or `bool`.
    ///
    /// >>> lucid.tensor([1.0]).dtype, lucid.tensor(np.array([1.0])).dtype
    /// (lucid.float32, lucid.float64)
    #[getter]
    fn dtype(&self) -> PyDType {
        PyDType(self.inner.dtype())
    }
    /// The number of elements (the product of the shape; 1 for a 0-d tensor).
    ///
    /// >>> lucid.zeros(2, 3).numel()
    /// 6
    fn numel(&self) -> usize {
        self.inner.numel()
    }
    /// The number of dims (PyTorch's name for `ndim`).
    ///
    /// >>> lucid.zeros(2, 3).dim()
    /// 2
    fn dim(&self) -> usize {
        self.inner.ndim()
    }
    /// The size of dim `dim`, or the shape tuple when `dim` is None.
    ///
    /// >>> x = lucid.zeros(2, 3)
    /// >>> x.size(), x.size(-1)
    /// ((2, 3), 3)
    #[pyo3(signature = (dim = None))]
    fn size<'py>(&self, py: Python<'py>, dim: Option<Dim>) -> PyResult<Bound<'py, PyAny>> {
        match dim.map(|d| d.get("size", "dim")).transpose()? {
            None => Ok(PyTuple::new(py, self.inner.shape())?.into_any()),
            Some(d) => {
                let a = lucid_core::shape::normalize_axis("size", d, self.inner.ndim()).py()?;
                // a 0-d tensor has no dim 0 to measure (normalize_axis lets reductions
                // treat it as one), as in PyTorch
                let n = self.inner.shape().get(a).copied().ok_or_else(|| {
                    PyIndexError::new_err(format!("size: dim {d} is out of range for a tensor with 0 dims"))
                })?;
                Ok(n.into_pyobject(py)?.into_any())
            }
        }
    }
    /// Whether ops on this tensor record a graph so that derivatives reach it. Settable on
    /// a leaf (a floating one to True); a non-leaf's flag cannot be turned off (use `detach`).
    ///
    /// >>> x = lucid.tensor([1.0])
    /// >>> x.requires_grad = True
    /// >>> (x * 2).requires_grad
    /// True
    #[getter]
    fn requires_grad(&self) -> bool {
        self.inner.requires_grad()
    }
    #[setter]
    fn set_requires_grad(&self, flag: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set_requires_grad(crate::args::flag("requires_grad", "the value", flag)?).py()
    }
    /// Set `requires_grad` in place (True when called without an argument) and return the
    /// tensor itself.
    ///
    /// >>> x = lucid.tensor([1.0]).requires_grad_()
    /// >>> x.requires_grad, x.is_leaf
    /// (True, True)
    #[pyo3(signature = (requires_grad = None))]
    fn requires_grad_<'py>(
        slf: PyRef<'py, Self>,
        requires_grad: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyRef<'py, Self>> {
        let flag = requires_grad.map_or(Ok(true), |f| crate::args::flag("requires_grad_", "requires_grad", f))?;
        slf.inner.set_requires_grad(flag).py()?;
        Ok(slf)
    }
    /// The gradient `backward` accumulated into this leaf (None before any); settable to a
    /// tensor of the same shape and dtype, or None to clear it. In-place writes to it
    /// (`p.grad.zero_()`) write the gradient itself, as in PyTorch.
    ///
    /// >>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
    /// >>> (x * x).sum().backward()
    /// >>> x.grad
    /// tensor([2., 4.])
    #[getter]
    fn grad<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyTensor>>> {
        views::grad_alias(slf)
    }
    #[setter(grad)]
    fn set_grad_attr(&self, grad: Option<PyRef<'_, PyTensor>>) -> PyResult<()> {
        self.inner.set_grad(grad.map(|g| g.inner.clone())).py()
    }
    /// How many in-place writes this tensor has seen (PyTorch's counter; views count the
    /// writes into their base too).
    ///
    /// >>> x = lucid.zeros(2)
    /// >>> x += 1
    /// >>> x._version
    /// 1
    #[getter]
    fn _version(&self) -> u64 {
        self.version
    }
    /// Whether this tensor was not computed by a recorded op (created by the user, or
    /// detached): the tensors whose `.grad` `backward` fills.
    ///
    /// >>> x = lucid.tensor([1.0], requires_grad=True)
    /// >>> x.is_leaf, (x * 2).is_leaf
    /// (True, False)
    #[getter]
    fn is_leaf(&self) -> bool {
        self.inner.is_leaf()
    }
    /// The name of the op that produced this tensor in the graph (None for a leaf).
    ///
    /// >>> x = lucid.tensor([1.0], requires_grad=True)
    /// >>> (x * 2).grad_fn, x.grad_fn
    /// ('mul', None)
    #[getter]
    fn grad_fn(&self) -> Option<&'static str> {
        self.inner.grad_fn_name()
    }
    /// A view of this tensor outside the graph: same values, no gradient. As in
    /// PyTorch it shares the data, so writes into either are seen by both.
    ///
    /// >>> x = lucid.tensor([1.0], requires_grad=True)
    /// >>> y = (x * 2).detach()
    /// >>> y.requires_grad, y.is_leaf
    /// (False, True)
    fn detach<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        let value = slf.borrow().inner.detach();
        views::view_of(slf, value, std::sync::Arc::new(|t: &Tensor| Ok(t.detach())), true)
    }

    // ---- conversion -------------------------------------------------------------------

    /// The data as a new NumPy array (a copy, always).
    ///
    /// PyTorch's ``numpy()`` shares memory; Lucid's cannot. A tensor's storage is
    /// immutable because the graph keeps the values an op read, to compute its
    /// derivative later. A writable NumPy array over that storage would let
    /// ``a[0] = 5`` change those saved values behind the graph's back and silently
    /// corrupt every derivative computed afterwards (and every tensor sharing the data),
    /// so the array handed out is a copy you may write freely.
    ///
    /// >>> t = lucid.tensor([1.0, 2.0])
    /// >>> a = t.numpy()
    /// >>> a[0] = 5.0
    /// >>> t
    /// tensor([1., 2.])
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        note_escape(&self.inner);
        to_numpy(py, &self.inner)
    }
    /// NumPy's array protocol (``np.asarray(t)``, ``np.array(t, dtype=...)``), with
    /// NumPy 2's ``copy=`` contract: ``copy=True`` and ``copy=None`` give a new array
    /// (of ``dtype`` when given); ``copy=False`` asks for no copy, which Lucid cannot
    /// give (see ``numpy()``: the storage is immutable, so an array always comes out as
    /// a copy), and raises ValueError as NumPy 2 requires.
    ///
    /// >>> import numpy as np
    /// >>> np.asarray(lucid.tensor([1.0, 2.0]), dtype=np.float64)
    /// array([1., 2.])
    #[pyo3(signature = (dtype = None, copy = None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<Bound<'py, PyAny>>,
        copy: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // NumPy passes True, False or None; anything else is read for its truth, as
        // NumPy reads `copy=` itself
        if let Some(c) = copy.as_ref().filter(|c| !c.is_none()) {
            if !c.is_truthy()? {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "__array__: copy=False cannot be honoured: a Lucid tensor's storage is immutable (the graph keeps \
                     these values for derivatives), so its data always comes out as a copy; use np.asarray(t) or \
                     t.numpy(), which copy",
                ));
            }
        }
        note_escape(&self.inner);
        let a = to_numpy(py, &self.inner)?;
        match dtype.filter(|d| !d.is_none()) {
            // the array is already ours: convert it without a second copy when it can
            Some(d) => {
                let kwargs = pyo3::types::PyDict::new(py);
                kwargs.set_item("copy", false)?;
                a.call_method("astype", (d,), Some(&kwargs))
            }
            None => Ok(a),
        }
    }
    /// The data as (nested) Python lists of numbers; a 0-d tensor gives a number.
    ///
    /// >>> lucid.tensor([[1, 2], [3, 4]]).tolist()
    /// [[1, 2], [3, 4]]
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        note_escape(&self.inner);
        to_numpy(py, &self.inner)?.call_method0("tolist")
    }
    /// The value of a one-element tensor as a Python number (ValueError for more elements).
    ///
    /// >>> lucid.tensor([2.5]).item()
    /// 2.5
    fn item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.inner.numel() != 1 {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "item: only one-element tensors can be converted to Python scalars, got shape {:?}",
                self.inner.shape()
            )));
        }
        note_escape(&self.inner);
        to_numpy(py, &self.inner)?.call_method0("item")
    }
    fn __float__(&self) -> PyResult<f64> {
        self.inner.item().py()
    }
    /// Python's `int`: exact for integer tensors, a float truncated toward zero; NaN is
    /// a ValueError, an infinity or a float past int64 an OverflowError.
    fn __int__(&self) -> PyResult<i64> {
        self.inner.item_i64().py()
    }
    /// A one-element integer (or bool) tensor as an index (`range(t)`, `xs[t]`), as in
    /// PyTorch; a float tensor is a TypeError, as a float is.
    fn __index__(&self) -> PyResult<i64> {
        if self.inner.dtype().is_float() || self.inner.numel() != 1 {
            return Err(PyTypeError::new_err(format!(
                "__index__: only integer tensors of a single element can be converted to an index, got a {} tensor of shape {:?}",
                self.inner.dtype(),
                self.inner.shape()
            )));
        }
        self.inner.item_i64().py()
    }
    fn __bool__(&self) -> PyResult<bool> {
        if self.inner.numel() != 1 {
            return Err(PyRuntimeError::new_err(format!(
                "the truth value of a tensor with {} elements is ambiguous",
                self.inner.numel()
            )));
        }
        Ok(self.inner.item().py()? != 0.0)
    }
    fn __len__(&self) -> PyResult<usize> {
        self.inner.shape().first().copied().ok_or_else(|| PyTypeError::new_err("len() of a 0-d tensor"))
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        if !crate::convert::fits_numpy(&self.inner) {
            // empty, but too big a shape for NumPy to print (PyTorch's spelling)
            let dims: Vec<String> = self.inner.shape().iter().map(|d| d.to_string()).collect();
            let comma = if dims.len() == 1 { "," } else { "" };
            let name = self.inner.dtype().name();
            return Ok(format!("tensor([], size=({}{comma}), dtype=lucid.{name})", dims.join(", ")));
        }
        let np = py.import("numpy")?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("separator", ", ")?;
        kwargs.set_item("prefix", "tensor(")?;
        let body: String = np.getattr("array2string")?.call((to_numpy(py, &self.inner)?,), Some(&kwargs))?.extract()?;
        let mut extra = String::new();
        if !(self.inner.dtype() == lucid_core::DType::F32 || self.inner.dtype() == lucid_core::DType::I64) {
            extra.push_str(&format!(", dtype=lucid.{}", self.inner.dtype().name()));
        }
        if let Some(name) = self.inner.grad_fn_name() {
            extra.push_str(&format!(", grad_fn=<{name}>"));
        } else if self.inner.requires_grad() {
            extra.push_str(", requires_grad=True");
        }
        Ok(format!("tensor({body}{extra})"))
    }

    // ---- autograd ---------------------------------------------------------------------

    /// Accumulate the gradient of this tensor into the `.grad` of every leaf that requires
    /// grad. `gradient` (the cotangent, of this tensor's shape) is required when it has more
    /// than one element. The graph is freed afterwards unless `retain_graph` (default:
    /// `create_graph`); `create_graph=True` records the backward pass so that the gradients
    /// can be differentiated again.
    ///
    /// >>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
    /// >>> y = x ** 2
    /// >>> y.backward(lucid.tensor([1.0, 1.0]))
    /// >>> x.grad
    /// tensor([2., 4.])
    #[pyo3(
        signature = (gradient = None, retain_graph = None, create_graph = Flag::new(false)),
        text_signature = "($self, gradient=None, retain_graph=None, create_graph=False)"
    )]
    fn backward(
        &self,
        py: Python<'_>,
        gradient: Option<&Bound<'_, PyAny>>,
        retain_graph: Option<Flag>,
        create_graph: Flag,
    ) -> PyResult<()> {
        // the arguments as Python objects, so a wrong type is a TypeError naming
        // backward (pyo3's would say "'str' object cannot be converted to 'PyBool'")
        let g = match gradient {
            None => None,
            Some(g) => Some(g.downcast::<PyTensor>().map(|g| g.borrow().inner.clone()).map_err(|_| {
                PyTypeError::new_err(format!("backward: gradient must be a Tensor or None, got {}", args::type_name(g)))
            })?),
        };
        let create_graph = create_graph.get("backward", "create_graph")?;
        let retain = match retain_graph {
            None => create_graph,
            Some(flag) => flag.get("backward", "retain_graph")?,
        };
        let out = self.inner.clone();
        py.allow_threads(move || {
            let _mode = autograd::set_grad_enabled(create_graph);
            autograd::backward(&[out], &[g], retain, create_graph)
        })
        .py()
    }

    // ---- Python operators -------------------------------------------------------------

    fn __add__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.add(&operand(other, &self.inner, "add")?))
    }
    fn __radd__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other, &self.inner, "add")?.add(&self.inner))
    }
    fn __sub__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.sub(&operand(other, &self.inner, "sub")?))
    }
    fn __rsub__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other, &self.inner, "sub")?.sub(&self.inner))
    }
    fn __mul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.mul(&operand(other, &self.inner, "mul")?))
    }
    fn __rmul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other, &self.inner, "mul")?.mul(&self.inner))
    }
    fn __truediv__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.div(&operand(other, &self.inner, "div")?))
    }
    fn __rtruediv__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other, &self.inner, "div")?.div(&self.inner))
    }
    fn __floordiv__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.floor_divide(&operand(other, &self.inner, "floor_divide")?))
    }
    fn __rfloordiv__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other, &self.inner, "floor_divide")?.floor_divide(&self.inner))
    }
    fn __mod__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.remainder(&operand(other, &self.inner, "remainder")?))
    }
    fn __rmod__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other, &self.inner, "remainder")?.remainder(&self.inner))
    }
    pub(crate) fn __pow__(&self, other: &Bound<'_, PyAny>, modulo: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        if modulo.is_some_and(|m| !m.is_none()) {
            return Err(PyTypeError::new_err("pow: a modulus is not supported"));
        }
        // A constant exponent gets the cheaper rule with no exponent cotangent.
        if other.downcast::<PyTensor>().is_err() && self.inner.dtype().is_float() {
            if let Ok(p) = other.extract::<f64>() {
                return wrap(self.inner.pow_scalar(p));
            }
        }
        wrap(self.inner.pow(&operand(other, &self.inner, "pow")?))
    }
    fn __rpow__(&self, other: &Bound<'_, PyAny>, modulo: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        if modulo.is_some_and(|m| !m.is_none()) {
            return Err(PyTypeError::new_err("pow: a modulus is not supported"));
        }
        wrap(operand(other, &self.inner, "pow")?.pow(&self.inner))
    }
    pub(crate) fn __matmul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.matmul(&operand(other, &self.inner, "matmul")?))
    }
    fn __rmatmul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other, &self.inner, "matmul")?.matmul(&self.inner))
    }
    fn __neg__(&self) -> PyResult<PyTensor> {
        wrap(self.inner.neg())
    }
    fn __pos__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __abs__(&self) -> PyResult<PyTensor> {
        wrap(self.inner.abs())
    }
    /// Elementwise `==`. Against a value that is not a number or tensor (None, a
    /// string) it returns NotImplemented, so Python answers False, as PyTorch does.
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        match operand(other, &self.inner, "eq") {
            Ok(o) => Ok(wrap(self.inner.eq(&o))?.into_pyobject(py)?.into_any().unbind()),
            Err(e) if e.is_instance_of::<PyTypeError>(py) => Ok(py.NotImplemented()),
            Err(e) => Err(e),
        }
    }
    /// Elementwise `!=` (True against a value that is not a number or tensor).
    fn __ne__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        match operand(other, &self.inner, "ne") {
            Ok(o) => Ok(wrap(self.inner.ne(&o))?.into_pyobject(py)?.into_any().unbind()),
            Err(e) if e.is_instance_of::<PyTypeError>(py) => Ok(py.NotImplemented()),
            Err(e) => Err(e),
        }
    }
    fn __lt__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.lt(&operand(other, &self.inner, "lt")?))
    }
    fn __le__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.le(&operand(other, &self.inner, "le")?))
    }
    fn __gt__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.gt(&operand(other, &self.inner, "gt")?))
    }
    fn __ge__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.ge(&operand(other, &self.inner, "ge")?))
    }
    /// Identity, as in PyTorch (the value may change in place; the object does not).
    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    // ---- indexing ---------------------------------------------------------------------

    /// `t[key]`: basic indexing (ints, slices, None, Ellipsis) gives a view, which
    /// sees writes into `t` and writes through to it; advanced indexing (tensors, lists)
    /// gives a copy, as in PyTorch and NumPy.
    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        match parse_index(key)? {
            Some(items) => views::view(slf, move |t| t.index(&items)),
            None => Bound::new(slf.py(), crate::ops_index::index_advanced(&slf.borrow().inner, key)?),
        }
    }

    /// `t[key] = value`, written in place: aliases and views of `t` see it, and a view
    /// writes through to its base. Differentiable in `t` and `value`; a leaf that
    /// requires grad can be written only under `lucid.no_grad()`.
    fn __setitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let target = slf.borrow().inner.clone();
        let value = operand(value, &target, "setitem")?;
        let updated = if autograd::is_grad_enabled() && (target.requires_grad() || value.requires_grad()) {
            crate::ops_index::assign_differentiable(&target, key, &value)?
        } else {
            crate::ops_index::assign(&target, key, &value)?
        };
        views::write(slf, &updated, "setitem")
    }
}
