//! `lucid.float32` and friends: a small frozen class wrapping the core `DType`.

use lucid_core::DType;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// The element type of a tensor: `lucid.float32`, `lucid.float64`, `lucid.int64` or
/// `lucid.bool_` (also spelled `lucid.float`, `double`, `long` and `bool`). Only the
/// float dtypes carry derivatives. Mixed operands promote as in PyTorch: float64 over
/// float32, any float over int64, int64 over bool.
///
/// >>> x = lucid.tensor([1, 2])
/// >>> x.dtype, (x * 0.5).dtype, (x * lucid.tensor([0.5], dtype=lucid.float64)).dtype
/// (lucid.int64, lucid.float32, lucid.float64)
#[pyclass(name = "dtype", module = "lucid", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyDType(pub DType);

#[pymethods]
impl PyDType {
    fn __repr__(&self) -> String {
        format!("lucid.{}", self.0.name())
    }
    fn __str__(&self) -> String {
        self.__repr__()
    }
    /// The NumPy and PyTorch name of the dtype.
    ///
    /// >>> lucid.float64.name
    /// 'float64'
    #[getter]
    fn name(&self) -> &'static str {
        self.0.name()
    }
    /// Whether this is a float dtype (one that can require grad).
    ///
    /// >>> lucid.float32.is_floating_point, lucid.int64.is_floating_point
    /// (True, False)
    #[getter]
    fn is_floating_point(&self) -> bool {
        self.0.is_float()
    }
    /// Bytes per element.
    ///
    /// >>> lucid.float32.itemsize, lucid.bool_.itemsize
    /// (4, 1)
    #[getter]
    fn itemsize(&self) -> usize {
        match self.0 {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::Bool => 1,
        }
    }
}

/// Parse a dtype given as a `lucid.dtype`, a name ("float64"), or anything NumPy
/// accepts as a dtype (`np.float32`, `float`).
pub fn parse(obj: &Bound<'_, PyAny>) -> PyResult<DType> {
    parse_or_explain(obj)?.map_err(PyTypeError::new_err)
}

/// [`parse`] for the function `op`, whose name leads its TypeError:
/// `to: unsupported dtype float16; lucid has float32, float64, int64 and bool`.
pub fn parse_for(op: &str, obj: &Bound<'_, PyAny>) -> PyResult<DType> {
    parse_or_explain(obj)?.map_err(|why| PyTypeError::new_err(format!("{op}: {why}")))
}

/// The dtype `obj` names, or why it names none (the outer error is Python's own,
/// from importing NumPy or reading a name).
fn parse_or_explain(obj: &Bound<'_, PyAny>) -> PyResult<Result<DType, String>> {
    if let Ok(d) = obj.downcast::<PyDType>() {
        return Ok(Ok(d.get().0));
    }
    let name: String = if let Ok(s) = obj.downcast::<PyString>() {
        s.to_string()
    } else {
        let np = obj.py().import("numpy")?;
        match np.getattr("dtype")?.call1((obj,)) {
            Ok(d) => d.getattr("name")?.extract()?,
            Err(_) => {
                return Ok(Err(format!(
                    "expected a dtype (lucid.float32, lucid.float64, lucid.int64, lucid.bool_, a NumPy dtype \
                     or its name), got {} {}",
                    obj.get_type().name()?,
                    obj.repr()?
                )))
            }
        }
    };
    Ok(match name.as_str() {
        "float32" | "float" => Ok(DType::F32),
        "float64" | "double" => Ok(DType::F64),
        "int64" | "long" | "int" => Ok(DType::I64),
        "bool" => Ok(DType::Bool),
        other => Err(format!("unsupported dtype {other}; lucid has float32, float64, int64 and bool")),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("float32", PyDType(DType::F32))?;
    m.add("float64", PyDType(DType::F64))?;
    m.add("int64", PyDType(DType::I64))?;
    m.add("bool_", PyDType(DType::Bool))?;
    Ok(())
}
