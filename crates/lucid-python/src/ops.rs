//! Op methods of `lucid.Tensor` and module-level op functions, by family.

use lucid_core::{DType, Tensor};
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyTuple};

use crate::args::{self, Dim, Flag, Int};
use crate::dtype;
use crate::errors::PyResultExt;
use crate::tensor::{wrap, PyTensor};
use crate::views;

/// Tensors from a Python sequence of tensors.
fn tensor_list(seq: &Bound<'_, PyAny>, op: &str) -> PyResult<Vec<Tensor>> {
    let seq = seq
        .downcast::<PySequence>()
        .map_err(|_| PyTypeError::new_err(format!("{op}: expected a sequence of tensors")))?;
    let mut out = Vec::new();
    for (i, item) in seq.try_iter()?.enumerate() {
        let item = item?;
        let t = item.downcast::<PyTensor>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{op}: expected a sequence of tensors, element {i} is {}",
                item.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?;
        out.push(t.borrow().inner.clone());
    }
    Ok(out)
}

macro_rules! unary_pymethods {
    ($($name:ident),* $(,)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                #[doc = concat!("Elementwise `", stringify!($name), "`, differentiable.")]
                fn $name(&self) -> PyResult<PyTensor> { wrap(self.inner.$name()) }
            )*
        }
    };
}

unary_pymethods!(neg, exp, expm1, log, log1p, sqrt, sin, cos, tan, tanh, sigmoid, abs, relu, square, sign);

macro_rules! binary_pymethods {
    ($($name:ident),* $(,)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                #[doc = concat!("Elementwise `", stringify!($name), "` with broadcasting, differentiable.")]
                fn $name(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap(self.inner.$name(&crate::convert::operand(other, &self.inner, stringify!($name))?))
                }
            )*
        }
    };
}

binary_pymethods!(add, sub, mul, div, maximum, minimum, atan2, floor_divide, remainder, eq, ne, lt, le, gt, ge);

#[pymethods]
impl PyTensor {
    /// `self ** exponent` (tensor or number).
    fn pow(&self, exponent: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.__pow__(exponent, None)
    }
    fn matmul(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.__matmul__(other)
    }

    // ---- dtype ------------------------------------------------------------------------

    /// Convert to `dtype` (differentiable between float dtypes).
    fn to(&self, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.to_dtype(dtype::parse(dtype)?))
    }
    fn float(&self) -> PyResult<PyTensor> {
        wrap(self.inner.to_dtype(DType::F32))
    }
    fn double(&self) -> PyResult<PyTensor> {
        wrap(self.inner.to_dtype(DType::F64))
    }
    fn long(&self) -> PyResult<PyTensor> {
        wrap(self.inner.to_dtype(DType::I64))
    }
    fn is_floating_point(&self) -> bool {
        self.inner.dtype().is_float()
    }

    // ---- reductions -------------------------------------------------------------------

    /// Sum over `dim` (int, tuple, or None or () for all).
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn sum(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("sum", dim, keepdim)?;
        wrap(self.inner.sum(d.as_deref(), keepdim))
    }
    /// Mean over `dim` (int, tuple, or None or () for all).
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn mean(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("mean", dim, keepdim)?;
        wrap(self.inner.mean(d.as_deref(), keepdim))
    }

    // ---- shape ------------------------------------------------------------------------

    /// Reshape (one dim may be -1); shares data when contiguous.
    #[pyo3(signature = (*shape))]
    fn reshape<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        let shape = args::sizes_varargs("reshape", "shape", shape)?;
        views::view(slf, move |t| t.reshape(&shape))
    }
    /// Same as `reshape`: a view (NOTE [views and in-place writes]).
    #[pyo3(signature = (*shape))]
    fn view<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        Self::reshape(slf, shape)
    }
    #[pyo3(signature = (start_dim = Dim::new(0), end_dim = Dim::new(-1)), text_signature = "($self, start_dim=0, end_dim=-1)")]
    fn flatten<'py>(slf: &Bound<'py, Self>, start_dim: Dim, end_dim: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let (start, end) = (start_dim.get("flatten", "start_dim")?, end_dim.get("flatten", "end_dim")?);
        views::view(slf, move |t| t.flatten(start, end))
    }
    fn unsqueeze<'py>(slf: &Bound<'py, Self>, dim: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let dim = dim.get("unsqueeze", "dim")?;
        views::view(slf, move |t| t.unsqueeze(dim))
    }
    /// Remove size-1 dims: all of them (None), or those of `dim` (an int or a tuple;
    /// `()` removes none) that have size 1.
    #[pyo3(signature = (dim = None))]
    fn squeeze<'py>(slf: &Bound<'py, Self>, dim: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let d = args::dims("squeeze", "dim", dim)?;
        if let Some(d) = &d {
            // The core's squeeze skips repeats; PyTorch rejects them, as every other
            // op of several dims does (NOTE [dim arguments]).
            lucid_core::shape::normalize_axes("squeeze", Some(d), slf.borrow().inner.ndim()).py()?;
        }
        views::view(slf, move |t| t.squeeze(d.as_deref()))
    }
    #[pyo3(signature = (*dims))]
    fn permute<'py>(slf: &Bound<'py, Self>, dims: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        let dims = args::ints_varargs("permute", "dims", dims)?;
        views::view(slf, move |t| t.permute(&dims))
    }
    fn transpose<'py>(slf: &Bound<'py, Self>, dim0: Dim, dim1: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let (a, b) = (dim0.get("transpose", "dim0")?, dim1.get("transpose", "dim1")?);
        views::view(slf, move |t| t.transpose(a, b))
    }
    /// 2-D transpose; a 0-D or 1-D tensor as is; more dims is a ValueError (`.T`
    /// reverses all dims).
    fn t<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        views::view(slf, Tensor::t)
    }
    #[getter(T)]
    fn big_t<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        views::view(slf, Tensor::reverse_dims)
    }
    #[getter(mT)]
    fn m_t<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        views::view(slf, Tensor::mt)
    }
    /// Broadcast to `shape` (-1 keeps a dim): a view, which cannot be written into
    /// where it repeats an element.
    #[pyo3(signature = (*shape))]
    fn expand<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        Self::expand_to(slf, "expand", args::sizes_varargs("expand", "shape", shape)?)
    }
    /// Broadcast to `shape` (a tuple; -1 keeps a dim), as `expand`.
    fn broadcast_to<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        let want = args::sizes("broadcast_to", "shape", shape)?;
        Self::expand_to(slf, "broadcast_to", want)
    }
    /// `length` entries of `dim` from `start` (negative counts from the end), a view.
    fn narrow<'py>(slf: &Bound<'py, Self>, dim: Dim, start: Dim, length: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let this = slf.borrow();
        let dim = dim.get("narrow", "dim")?;
        let (given, length) = (start.get("narrow", "start")?, length.get("narrow", "length")?);
        let length = usize::try_from(length)
            .map_err(|_| PyValueError::new_err(format!("narrow: length must be non-negative, got {length}")))?;
        let start = match usize::try_from(given) {
            Ok(s) => s,
            // from the end of the dim, as PyTorch (the core checks the dim and the range)
            Err(_) => {
                let size = lucid_core::shape::normalize_axis("narrow", dim, this.inner.ndim())
                    .ok()
                    .and_then(|a| this.inner.shape().get(a).copied());
                let Some(size) = size else {
                    drop(this);
                    return views::view(slf, move |t| t.narrow(dim, 0, length)); // the dim's error
                };
                usize::try_from(given + size as isize).map_err(|_| {
                    PyIndexError::new_err(format!(
                        "narrow: start {given} is out of range for dim {dim} with size {size}"
                    ))
                })?
            }
        };
        drop(this);
        views::view(slf, move |t| t.narrow(dim, start, length))
    }
    fn select<'py>(slf: &Bound<'py, Self>, dim: Dim, index: Int) -> PyResult<Bound<'py, PyTensor>> {
        let (dim, index) = (dim.get("select", "dim")?, index.index("select", "index")?);
        views::view(slf, move |t| t.select(dim, index))
    }
}

impl PyTensor {
    /// `expand` to `want`, where -1 keeps the tensor's size of that dim.
    fn expand_to<'py>(slf: &Bound<'py, Self>, op: &'static str, want: Vec<isize>) -> PyResult<Bound<'py, PyTensor>> {
        let this = slf.borrow();
        let cur = this.inner.shape();
        let off = want.len().saturating_sub(cur.len());
        let mut target = Vec::with_capacity(want.len());
        for (i, &w) in want.iter().enumerate() {
            if w == -1 && i >= off {
                target.push(cur[i - off]);
            } else if w < 0 {
                return Err(PyValueError::new_err(format!("{op}: invalid size {w} in {want:?}")));
            } else {
                target.push(w as usize);
            }
        }
        drop(this);
        views::view(slf, move |t| t.expand(&target).map_err(|e| e.with_op(op)))
    }
}

// ---- module functions -------------------------------------------------------------------

/// Concatenate tensors along an existing dim.
#[pyfunction]
#[pyo3(signature = (tensors, dim = Dim::new(0)), text_signature = "(tensors, dim=0)")]
fn cat(tensors: &Bound<'_, PyAny>, dim: Dim) -> PyResult<PyTensor> {
    wrap(Tensor::cat(&tensor_list(tensors, "cat")?, dim.get("cat", "dim")?))
}

/// Stack equally shaped tensors along a new dim.
#[pyfunction]
#[pyo3(signature = (tensors, dim = Dim::new(0)), text_signature = "(tensors, dim=0)")]
fn stack(tensors: &Bound<'_, PyAny>, dim: Dim) -> PyResult<PyTensor> {
    wrap(Tensor::stack(&tensor_list(tensors, "stack")?, dim.get("stack", "dim")?))
}

/// `cond ? a : b` elementwise with broadcasting; differentiable in `a` and `b`.
#[pyfunction]
#[pyo3(name = "where")]
fn where_(cond: PyRef<'_, PyTensor>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    // The numeric operands decide the dtype; numbers adopt the other operand's dtype.
    let (ta, tb) = match (a.downcast::<PyTensor>(), b.downcast::<PyTensor>()) {
        (Ok(x), _) => {
            let x = x.borrow().inner.clone();
            let y = crate::convert::operand(b, &x, "where")?;
            (x, y)
        }
        (_, Ok(y)) => {
            let y = y.borrow().inner.clone();
            (crate::convert::operand(a, &y, "where")?, y)
        }
        _ => {
            let like = Tensor::scalar(0.0, DType::F32);
            (crate::convert::operand(a, &like, "where")?, crate::convert::operand(b, &like, "where")?)
        }
    };
    wrap(lucid_core::where_(&cond.inner, &ta, &tb))
}

#[pyfunction]
#[pyo3(signature = (shape, value, dtype))]
fn full(shape: Vec<usize>, value: f64, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(Tensor::try_full("full", &shape, value, dtype::parse(dtype)?))
}

#[pyfunction]
#[pyo3(signature = (start, end, step, dtype))]
fn arange(start: f64, end: f64, step: f64, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(Tensor::arange(start, end, step, dtype::parse(dtype)?))
}

#[pyfunction]
#[pyo3(signature = (start, end, steps, dtype))]
fn linspace(start: f64, end: f64, steps: usize, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(Tensor::linspace(start, end, steps, dtype::parse(dtype)?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cat, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(full, m)?)?;
    m.add_function(wrap_pyfunction!(arange, m)?)?;
    m.add_function(wrap_pyfunction!(linspace, m)?)?;
    Ok(())
}
