//! Indexing family bindings: advanced `__getitem__`/`__setitem__` keys (int and bool
//! tensors, lists, NumPy arrays), flip/roll/repeat/tile, split/chunk, gather/scatter,
//! index_select/index_put, and the random constructors.

use lucid_core::ops::random;
use lucid_core::{DType, IndexItem, Tensor};
use pyo3::exceptions::{PyIndexError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyList, PyTuple};

use crate::args::{self, type_name, Dim, Flag, Int};
use crate::convert::{from_numpy, operand};
use crate::dtype;
use crate::errors::PyResultExt;
use crate::tensor::{parse_index, wrap, PyTensor};

/// Non-negative sizes (`repeat`, `tile`, `split`'s sections) from `ints` or `ints_varargs`.
fn sizes(op: &str, arg: &str, ints: Vec<isize>) -> PyResult<Vec<usize>> {
    ints.into_iter()
        .map(|v| {
            usize::try_from(v).map_err(|_| PyValueError::new_err(format!("{op}: {arg} must be non-negative, got {v}")))
        })
        .collect()
}

/// An index argument (Tensor, list or NumPy array) as a tensor; integer data becomes int64.
fn index_tensor(obj: &Bound<'_, PyAny>, op: &str) -> PyResult<Tensor> {
    if let Ok(t) = obj.downcast::<PyTensor>() {
        return Ok(t.borrow().inner.clone());
    }
    let np = obj.py().import("numpy")?;
    let arr = np.getattr("asarray")?.call1((obj,)).map_err(|_| {
        PyTypeError::new_err(format!("{op}: expected a tensor, list or array of indices, got {}", type_name(obj)))
    })?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let size: usize = arr.getattr("size")?.extract()?;
    let arr = match kind.as_str() {
        "b" => arr,
        "i" => arr.call_method1("astype", ("int64",))?,
        "u" => {
            // uint64 past the int64 range would wrap to a negative index
            let max: u64 = if size == 0 { 0 } else { arr.call_method0("max")?.extract()? };
            if max > i64::MAX as u64 {
                return Err(PyIndexError::new_err(format!("{op}: index {max} is out of the int64 range")));
            }
            arr.call_method1("astype", ("int64",))?
        }
        _ if size == 0 => arr.call_method1("astype", ("int64",))?, // `[]` indexes nothing
        "f" | "c" => {
            return Err(PyIndexError::new_err(format!(
                "{op}: arrays used as indices must be of integer or bool type, got {}",
                arr.getattr("dtype")?.str()?
            )))
        }
        _ => {
            return Err(PyTypeError::new_err(format!(
                "{op}: expected a tensor, list or array of indices, got {} of NumPy dtype {} (indices are \
                 ints in the int64 range or bools)",
                type_name(obj),
                arr.getattr("dtype")?.str()?
            )))
        }
    };
    from_numpy(&arr)
}

/// One entry of an index expression, tensors and sequences included.
fn index_item(p: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    if p.is_instance_of::<PyBool>() {
        let b: bool = p.extract()?;
        return Ok(IndexItem::Tensor(Tensor::full(&[], b as u8 as f64, DType::Bool)));
    }
    if p.downcast::<PyTuple>().is_err() && p.downcast::<PyList>().is_err() {
        if let Some(mut items) = parse_index(p)? {
            if let (1, Some(item)) = (items.len(), items.pop()) {
                return Ok(item);
            }
        }
    }
    let t = index_tensor(p, "index")?;
    lucid_core::ops::gather::check_index_dtype("index", &t).py()?;
    Ok(IndexItem::Tensor(t))
}

/// A whole index expression: a tuple is a list of entries; anything else is one entry
/// (a list is one array index, as in NumPy ≥ 1.23 and PyTorch).
fn index_items(key: &Bound<'_, PyAny>) -> PyResult<Vec<IndexItem>> {
    match key.downcast::<PyTuple>() {
        Ok(t) => t.iter().map(|p| index_item(&p)).collect(),
        Err(_) => Ok(vec![index_item(key)?]),
    }
}

/// `t[key]` for keys with tensors, lists, arrays or bools (NumPy advanced indexing).
pub fn index_advanced(t: &Tensor, key: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(t.index(&index_items(key)?))
}

/// `t[key] = value` as a new tensor (see `PyTensor::__setitem__`).
pub fn assign(t: &Tensor, key: &Bound<'_, PyAny>, value: &Tensor) -> PyResult<Tensor> {
    let items = match parse_index(key)? {
        Some(items) => items,
        None => index_items(key)?,
    };
    t.index_assign(&items, value).py()
}

/// `t` with `value` written at `key`, differentiable in both (an `index_put`): for
/// `__setitem__` on values in a graph.
pub fn assign_differentiable(t: &Tensor, key: &Bound<'_, PyAny>, value: &Tensor) -> PyResult<Tensor> {
    let items = match parse_index(key)? {
        Some(items) => items,
        None => index_items(key)?,
    };
    let value = value.to_dtype(t.dtype()).py()?;
    t.index_put(&items, &value, false).map_err(|e| e.with_op("setitem")).py()
}

#[pymethods]
impl PyTensor {
    /// The entries along `dims` in reverse order (ints, varargs or a tuple; `()` flips nothing).
    ///
    /// >>> lucid.tensor([[1, 2], [3, 4]]).flip(1)
    /// tensor([[2, 1],
    ///         [4, 3]])
    #[pyo3(signature = (*args, dims = None))]
    fn flip(&self, args: &Bound<'_, PyTuple>, dims: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let d = match args::dims("flip", "dims", dims)? {
            Some(d) => d,
            None => args::ints_varargs("flip", "dims", args)?,
        };
        wrap(self.inner.flip(&d))
    }

    /// Entries shifted cyclically by `shifts` along `dims`; with `dims=None` the flattened
    /// tensor is rolled and reshaped back.
    ///
    /// >>> lucid.tensor([1, 2, 3, 4]).roll(1)
    /// tensor([4, 1, 2, 3])
    #[pyo3(signature = (shifts, dims = None))]
    fn roll(&self, shifts: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let s = args::ints("roll", "shifts", shifts)?;
        let d = args::dims("roll", "dims", dims)?.unwrap_or_default(); // none: the flattened tensor
        wrap(self.inner.roll(&s, &d))
    }

    /// The tensor tiled `sizes[i]` times along dim `i` (PyTorch's `Tensor.repeat`; more sizes
    /// than dims add leading dims).
    ///
    /// >>> lucid.tensor([1, 2]).repeat(2, 2)
    /// tensor([[1, 2, 1, 2],
    ///         [1, 2, 1, 2]])
    #[pyo3(signature = (*sizes))]
    fn repeat(&self, sizes: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(self.inner.repeat(&self::sizes("repeat", "sizes", args::sizes_varargs("repeat", "sizes", sizes)?)?))
    }

    /// Like `repeat`, but fewer reps than dims are padded with leading 1s (NumPy's `tile`).
    ///
    /// >>> lucid.tensor([[1, 2], [3, 4]]).tile(2)
    /// tensor([[1, 2, 1, 2],
    ///         [3, 4, 3, 4]])
    #[pyo3(signature = (*args, dims = None))]
    fn tile(&self, args: &Bound<'_, PyTuple>, dims: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let reps = match dims {
            Some(d) => args::sizes("tile", "dims", d)?,
            None => args::sizes_varargs("tile", "dims", args)?,
        };
        let reps = sizes("tile", "dims", reps)?;
        wrap(self.inner.tile(&reps))
    }

    /// Views of consecutive pieces along `dim`: of `split_size_or_sections` entries each (an
    /// int; the last may be shorter) or of the listed sizes.
    ///
    /// >>> [t.tolist() for t in lucid.arange(5).split(2)]
    /// [[0, 1], [2, 3], [4]]
    /// >>> [t.tolist() for t in lucid.arange(5).split([1, 4])]
    /// [[0], [1, 2, 3, 4]]
    #[pyo3(signature = (split_size_or_sections, dim = Dim::new(0)), text_signature = "($self, split_size_or_sections, dim=0)")]
    fn split<'py>(
        slf: &Bound<'py, Self>,
        split_size_or_sections: &Bound<'py, PyAny>,
        dim: Dim,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let dim = dim.get("split", "dim")?;
        let pieces = if split_size_or_sections.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(
                "split: split_size_or_sections must be an int or a sequence of ints, got bool",
            ));
        } else if let Ok(n) = split_size_or_sections.extract::<isize>() {
            let n = usize::try_from(n)
                .map_err(|_| PyValueError::new_err(format!("split: split_size must be non-negative, got {n}")))?;
            slf.borrow().inner.split(n, dim)
        } else {
            let sections = match args::ints("split", "sections", split_size_or_sections) {
                // an int past the int64 range: a split size, not a list of sections
                Err(_) if split_size_or_sections.is_instance_of::<PyInt>() => {
                    return Err(PyOverflowError::new_err(format!(
                        "split: split_size {split_size_or_sections} is out of the int64 range"
                    )))
                }
                sections => sections?,
            };
            slf.borrow().inner.split_sizes(&sizes("split", "sections", sections)?, dim)
        };
        crate::views::pieces(slf, pieces.py()?, dim)
    }

    /// At most `chunks` views of `ceil(size / chunks)` entries each along `dim`.
    ///
    /// >>> [t.tolist() for t in lucid.arange(5).chunk(2)]
    /// [[0, 1, 2], [3, 4]]
    #[pyo3(signature = (chunks, dim = Dim::new(0)), text_signature = "($self, chunks, dim=0)")]
    fn chunk<'py>(slf: &Bound<'py, Self>, chunks: Int, dim: Dim) -> PyResult<Bound<'py, PyTuple>> {
        let chunks = chunks.get("chunk", "chunks")?;
        let n = usize::try_from(chunks)
            .map_err(|_| PyValueError::new_err(format!("chunk: chunks must be greater than 0, got {chunks}")))?;
        let dim = dim.get("chunk", "dim")?;
        let pieces = slf.borrow().inner.chunk(n, dim).py()?;
        crate::views::pieces(slf, pieces, dim)
    }

    /// The entries `index` (a 1-D int64 tensor) of `dim`, in that order; differentiable
    /// (the cotangent is scattered back, repeats adding up).
    ///
    /// >>> lucid.tensor([10.0, 20.0, 30.0]).index_select(0, lucid.tensor([2, 0, 2]))
    /// tensor([30., 10., 30.])
    fn index_select(&self, dim: Dim, index: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.index_select(dim.get("index_select", "dim")?, &index_tensor(index, "index_select")?))
    }

    /// Values picked along `dim` by `index` (PyTorch's gather): for `dim=1`,
    /// `out[i][j] = self[i][index[i][j]]`; differentiable in `self`.
    ///
    /// >>> x = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    /// >>> x.gather(1, lucid.tensor([[1], [0]]))
    /// tensor([[2.],
    ///         [3.]])
    fn gather(&self, dim: Dim, index: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.gather(dim.get("gather", "dim")?, &index_tensor(index, "gather")?))
    }

    /// Out of place: `self` plus `src` added at the positions `index` addresses along `dim`
    /// (for `dim=0`, `out[index[i][j]][j] += src[i][j]`; repeats add up); differentiable in
    /// `self` and `src`.
    ///
    /// >>> lucid.zeros(3).scatter_add(0, lucid.tensor([0, 2, 0]), lucid.tensor([1.0, 2.0, 3.0]))
    /// tensor([4., 0., 2.])
    fn scatter_add(&self, dim: Dim, index: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        let dim = dim.get("scatter_add", "dim")?;
        let src = src
            .downcast::<PyTensor>()
            .map_err(|_| PyTypeError::new_err(format!("scatter_add: src must be a Tensor, got {}", type_name(src))))?;
        wrap(self.inner.scatter_add(dim, &index_tensor(index, "scatter_add")?, &src.borrow().inner))
    }

    /// Out of place: `self` with `src` (a tensor, or `value`, a number filling the index's
    /// shape) written where `index` points along `dim` (for `dim=0`, `out[index[i][j]][j] =
    /// src[i][j]`); where positions repeat the last write wins. Differentiable in `self` and
    /// `src`.
    ///
    /// >>> lucid.zeros(3).scatter(0, lucid.tensor([2, 0]), lucid.tensor([1.0, 2.0]))
    /// tensor([2., 0., 1.])
    #[pyo3(signature = (dim, index, src = None, value = None))]
    fn scatter(
        &self,
        dim: Dim,
        index: &Bound<'_, PyAny>,
        src: Option<&Bound<'_, PyAny>>,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let dim = dim.get("scatter", "dim")?;
        let index = index_tensor(index, "scatter")?;
        let src = match (src, value) {
            (Some(s), None) | (None, Some(s)) => match s.downcast::<PyTensor>() {
                Ok(t) => t.borrow().inner.clone(),
                Err(_) => {
                    operand(s, &self.inner, "scatter")?.to_dtype(self.inner.dtype()).py()?.expand(index.shape()).py()?
                }
            },
            _ => return Err(PyTypeError::new_err("scatter: pass exactly one of src and value")),
        };
        wrap(self.inner.scatter(dim, &index, &src))
    }

    /// Out of place: `self` with `values` written at `indices` (a tuple or list of index
    /// tensors for the leading dims; slices, ints, None and Ellipsis work as in indexing), or
    /// added there when `accumulate`. Differentiable in `self` and `values`.
    ///
    /// >>> x = lucid.zeros(3)
    /// >>> x.index_put((lucid.tensor([0, 0]),), lucid.tensor([1.0, 2.0]), accumulate=True)
    /// tensor([3., 0., 0.])
    #[pyo3(signature = (indices, values, accumulate = Flag::new(false)), text_signature = "($self, indices, values, accumulate=False)")]
    fn index_put(&self, indices: &Bound<'_, PyAny>, values: &Bound<'_, PyAny>, accumulate: Flag) -> PyResult<PyTensor> {
        let accumulate = accumulate.get("index_put", "accumulate")?;
        // PyTorch takes a sequence of per-dim indices: a list is a tuple here.
        let items = match indices.downcast::<PyList>() {
            Ok(l) => index_items(l.to_tuple().as_any())?,
            Err(_) => index_items(indices)?,
        };
        let values = match values.downcast::<PyTensor>() {
            Ok(t) => t.borrow().inner.clone(),
            Err(_) => operand(values, &self.inner, "index_put")?.to_dtype(self.inner.dtype()).py()?,
        };
        wrap(self.inner.index_put(&items, &values, accumulate))
    }
}

// ---- random constructors ----------------------------------------------------------------

/// Reseed the global generator (xoshiro256++ seeded by splitmix64).
#[pyfunction]
#[pyo3(signature = (seed))]
fn manual_seed(seed: u64) {
    random::manual_seed(seed);
}

/// Uniform samples in [0, 1) of `shape` and float `dtype`.
#[pyfunction]
#[pyo3(signature = (shape, dtype))]
fn rand(py: Python<'_>, shape: Vec<usize>, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let dt = dtype::parse(dtype)?;
    wrap(py.allow_threads(|| Tensor::rand(&shape, dt)))
}

/// Standard normal samples of `shape` and float `dtype`.
#[pyfunction]
#[pyo3(signature = (shape, dtype))]
fn randn(py: Python<'_>, shape: Vec<usize>, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let dt = dtype::parse(dtype)?;
    wrap(py.allow_threads(|| Tensor::randn(&shape, dt)))
}

/// Integers uniform in `low..high` of `shape`, as `dtype`.
#[pyfunction]
#[pyo3(signature = (low, high, shape, dtype))]
fn randint(py: Python<'_>, low: i64, high: i64, shape: Vec<usize>, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let dt = dtype::parse(dtype)?;
    wrap(py.allow_threads(|| Tensor::randint(low, high, &shape, dt)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(manual_seed, m)?)?;
    m.add_function(wrap_pyfunction!(rand, m)?)?;
    m.add_function(wrap_pyfunction!(randn, m)?)?;
    m.add_function(wrap_pyfunction!(randint, m)?)?;
    Ok(())
}
