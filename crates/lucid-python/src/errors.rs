//! The one place core errors become Python exceptions.

use lucid_core::Error;
use pyo3::exceptions::{PyIndexError, PyKeyboardInterrupt, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::PyErr;

pub fn to_py(e: Error) -> PyErr {
    let msg = e.message();
    match e {
        Error::Shape { .. } | Error::Argument { .. } => PyValueError::new_err(msg),
        Error::DType { .. } | Error::Type { .. } => PyTypeError::new_err(msg),
        Error::Index { .. } => PyIndexError::new_err(msg),
        Error::Overflow { .. } => PyOverflowError::new_err(msg),
        Error::Graph { .. } | Error::Linalg { .. } => PyRuntimeError::new_err(msg),
        // `autograd::interruptible` raises the handler's own exception; this is the fallback
        Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(msg),
    }
}

/// `result.py()?` turns a core `Result` into a `PyResult`.
pub trait PyResultExt<T> {
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> PyResultExt<T> for lucid_core::Result<T> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}
