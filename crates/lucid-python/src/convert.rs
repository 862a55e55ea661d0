//! Conversions between Python objects (NumPy arrays, numbers) and core tensors.

use lucid_core::{DType, Storage, Tensor};
use numpy::{PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods, ToPyArray};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyTuple};

use crate::errors::PyResultExt;
use crate::tensor::PyTensor;

/// A NumPy array as a tensor (copied): float32, float64, int64 and bool as they are;
/// other floats and byte orders to the Lucid dtype that holds them without losing
/// precision (`widened`).
pub fn from_numpy(arr: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Some(t) = native(arr)? {
        return Ok(t);
    }
    if let Some(w) = widened(arr)? {
        if let Some(t) = native(&w)? {
            return Ok(t);
        }
    }
    let desc = match arr.downcast::<numpy::PyUntypedArray>() {
        Ok(a) => format!("a NumPy array of dtype {}", a.dtype()),
        Err(_) => format!("{}", arr.get_type().name()?),
    };
    Err(PyTypeError::new_err(format!("tensor: cannot convert {desc}; expected float32, float64, int64 or bool data")))
}

/// The tensor over an array of a dtype Lucid has, in native byte order; `None` for
/// any other array.
fn native(arr: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    macro_rules! try_type {
        ($t:ty, $variant:path) => {
            if let Ok(a) = arr.downcast::<PyArrayDyn<$t>>() {
                let data = a.try_readonly()?.as_array().as_standard_layout().into_owned().into_shared();
                return Ok(Some(Tensor::from_storage($variant(data))));
            }
        };
    }
    try_type!(f64, Storage::F64);
    try_type!(f32, Storage::F32);
    try_type!(i64, Storage::I64);
    try_type!(bool, Storage::Bool);
    Ok(None)
}

/// A NumPy array whose dtype Lucid lacks, converted to the nearest one that loses
/// nothing it can keep: 8 or more bytes of float (float64 in either byte order,
/// longdouble) to float64, smaller floats (float16) to float32, integers of up to 4
/// bytes and int64 in the other byte order to int64. `None` for the rest (uint64, which
/// int64 may not hold, complex, strings): the caller names the dtype.
fn widened<'py>(arr: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Ok(a) = arr.downcast::<numpy::PyUntypedArray>() else { return Ok(None) };
    let dtype = a.dtype();
    let (kind, size) = (dtype.kind(), dtype.itemsize());
    let target = match kind {
        b'f' if size >= 8 => "float64",
        b'f' => "float32",
        b'i' if size <= 8 => "int64",
        b'u' if size < 8 => "int64",
        _ => return Ok(None),
    };
    arr.call_method1("astype", (target,)).map(Some)
}

/// A tensor's data as a new NumPy array.
///
/// A reversed-axes view of contiguous data (a transposed matrix, e.g. a forward-mode
/// Jacobian) is copied as the contiguous data and transposed back by NumPy for free;
/// an element-by-element copy of the strided view costs ~10x more.
pub fn to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    if !fits_numpy(t) {
        return Err(PyValueError::new_err(format!(
            "numpy: a tensor of shape {:?} is too big for a NumPy array (NumPy needs the product of its nonzero dims, in bytes, to fit an intp)",
            t.shape()
        )));
    }
    macro_rules! convert {
        ($a:expr) => {{
            let a = $a;
            if !a.is_standard_layout() && a.t().is_standard_layout() {
                a.t().to_pyarray(py).into_any().call_method0("transpose")
            } else {
                Ok(a.to_pyarray(py).into_any())
            }
        }};
    }
    match t.storage() {
        Storage::F32(a) => convert!(a),
        Storage::F64(a) => convert!(a),
        Storage::I64(a) => convert!(a),
        Storage::Bool(a) => convert!(a),
    }
}

/// Whether NumPy can hold an array of `t`'s shape: the product of the nonzero dims
/// times the item size must fit an intp, even for an empty array (`[2**62, 0]` of
/// float32 is refused). Past it NumPy returns an error the numpy crate turns into a
/// panic, so it is checked here first.
pub fn fits_numpy(t: &Tensor) -> bool {
    let itemsize = match t.dtype() {
        DType::F32 => 4,
        DType::F64 | DType::I64 => 8,
        DType::Bool => 1,
    };
    t.shape()
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(itemsize, |acc: usize, &d| acc.checked_mul(d))
        .is_some_and(|bytes| bytes <= isize::MAX as usize)
}

/// The other operand of a binary op: a Tensor, or a Python number taking `like`'s
/// dtype when it is a float tensor (PyTorch's rule: scalars do not promote tensors).
pub fn operand(other: &Bound<'_, PyAny>, like: &Tensor, op: &str) -> PyResult<Tensor> {
    if let Ok(t) = other.downcast::<PyTensor>() {
        return Ok(t.borrow().inner.clone());
    }
    // The common constant (`2.0 * x`) without the general checks below.
    if like.dtype().is_float() {
        if let Ok(f) = other.downcast_exact::<PyFloat>() {
            return Ok(Tensor::scalar(f.value(), like.dtype()));
        }
    }
    if other.downcast::<numpy::PyUntypedArray>().is_ok() {
        return from_numpy(other);
    }
    let unsupported = || -> PyResult<Tensor> {
        Err(PyTypeError::new_err(format!(
            "{op}: unsupported operand type {}; expected a Tensor or a Python number",
            other.get_type().name()?
        )))
    };
    // NumPy scalars (np.float32(2), np.int64(3), np.bool_(True)) follow the rules of the
    // Python numbers they stand for (np.float64 is a `float` subclass already).
    let kind: &str = if other.is_instance_of::<PyBool>() {
        "b"
    } else if other.is_instance_of::<PyInt>() {
        "i"
    } else if other.is_instance_of::<PyFloat>() {
        "f"
    } else {
        let np = other.py().import("numpy")?;
        if !other.is_instance(&np.getattr("generic")?)? {
            // another library's array (JAX, PyTorch): its values, through DLPack
            if other.hasattr(pyo3::intern!(other.py(), "__dlpack__"))? {
                return crate::dlpack::import(other);
            }
            return unsupported();
        }
        match other.getattr("dtype")?.getattr("kind")?.extract::<String>()?.as_str() {
            "b" => "b",
            "i" | "u" => "i",
            "f" => "f",
            _ => return unsupported(),
        }
    };
    let dt = if like.dtype().is_float() {
        like.dtype()
    } else {
        match kind {
            "b" => DType::Bool,
            "i" => DType::I64,
            _ => DType::F32,
        }
    };
    if dt == DType::I64 {
        // exact for every int64 (an f64 detour would round above 2^53)
        let v: i64 = other.call_method0("__int__")?.extract().map_err(|_| {
            pyo3::exceptions::PyOverflowError::new_err(format!("{op}: integer operand is out of the int64 range"))
        })?;
        let a = ndarray::ArcArray::from_elem(ndarray::IxDyn(&[]), v);
        return Ok(Tensor::from_storage(Storage::I64(a)));
    }
    let v: f64 = other.call_method0("__float__")?.extract()?;
    Ok(Tensor::scalar(v, dt))
}

/// `_core.any_leaf(data, test)`: whether `test(leaf)` is true for some leaf of the
/// nested lists and tuples `data` (or `data` itself, when it is neither) that is not a
/// Python number (exactly a float, int or bool). The walk behind `lucid.tensor`'s
/// float64 rule (NOTE [float64 stays float64] in `_tensor.py`); the rule itself stays
/// in Python, in `test`. Here because a long list of floats is the common case: a type
/// compare per element in Rust, where a Python loop costs ~50 ns an element.
#[pyfunction]
#[pyo3(signature = (data, test))]
fn any_leaf(data: &Bound<'_, PyAny>, test: &Bound<'_, PyAny>) -> PyResult<bool> {
    let number = |v: &Bound<'_, PyAny>| {
        v.is_exact_instance_of::<PyFloat>() || v.is_exact_instance_of::<PyInt>() || v.is_exact_instance_of::<PyBool>()
    };
    let mut stack = vec![data.clone()];
    while let Some(v) = stack.pop() {
        if let Ok(list) = v.downcast::<PyList>() {
            stack.extend(list.iter().filter(|x| !number(x)));
        } else if let Ok(tuple) = v.downcast::<PyTuple>() {
            stack.extend(tuple.iter().filter(|x| !number(x)));
        } else if !number(&v) && test.call1((&v,))?.is_truthy()? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `_core.from_numpy(array)`: the constructor behind `lucid.tensor`.
#[pyfunction]
#[pyo3(name = "from_numpy", signature = (array, requires_grad = false))]
fn from_numpy_py(array: &Bound<'_, PyAny>, requires_grad: bool) -> PyResult<PyTensor> {
    let t = from_numpy(array)?;
    t.set_requires_grad(requires_grad).py()?;
    Ok(PyTensor::new(t))
}

/// `_core.filled(shape, value, dtype)`: the checked constructor behind `lucid.zeros`,
/// `ones`, `full` and the `*_like` functions. A shape too large to address or to
/// allocate is a ValueError naming the shape, never a crash.
#[pyfunction]
#[pyo3(signature = (op, shape, value, dtype))]
fn filled(op: &str, shape: Vec<usize>, value: f64, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    let name = constructor_name(op);
    let dt = crate::dtype::parse_for(name, dtype)?;
    Tensor::try_full(name, &shape, value, dt).py().map(PyTensor::new)
}

/// `_core.identity(n, m, dtype)`: the checked constructor behind `lucid.eye`.
#[pyfunction]
#[pyo3(signature = (n, m, dtype))]
fn identity(n: usize, m: Option<usize>, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    Tensor::try_eye(n, m, crate::dtype::parse_for("eye", dtype)?).py().map(PyTensor::new)
}

fn constructor_name(op: &str) -> &'static str {
    match op {
        "zeros" => "zeros",
        "ones" => "ones",
        "full" => "full",
        "empty" => "empty",
        "zeros_like" => "zeros_like",
        "ones_like" => "ones_like",
        "full_like" => "full_like",
        _ => "tensor",
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(from_numpy_py, m)?)?;
    m.add_function(wrap_pyfunction!(any_leaf, m)?)?;
    m.add_function(wrap_pyfunction!(filled, m)?)?;
    m.add_function(wrap_pyfunction!(identity, m)?)?;
    Ok(())
}
