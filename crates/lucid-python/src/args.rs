//! The one parser of `dim` arguments (and of other int-or-tuple-of-ints arguments), with
//! PyTorch's semantics and messages that name the op.
//!
//! NOTE [dim arguments]: what a `dim` argument means, for every op that takes one.
//!
//! | given                      | one dim ([`Dim`]) | dims ([`dims`])   | reduction ([`reduce_dims`]) |
//! |----------------------------|-------------------|-------------------|-----------------------------|
//! | int `d`, or `__index__`    | `d`               | `[d]`             | `[d]`                       |
//! | tuple or list of ints      | TypeError         | those dims        | those dims                  |
//! | `()` or `[]`               | TypeError         | no dims           | all dims                    |
//! | `None`                     | TypeError         | the op's default  | all dims                    |
//! | `True`/`False`, float, str | TypeError         | TypeError         | TypeError                   |
//!
//! A bool is an int to Python and to pyo3, but not to PyTorch, and `dim=True` is almost
//! always a misplaced `keepdim`. "No dims" makes `squeeze(dim=())` and `flip(dims=())`
//! no-ops and `roll(s, dims=())` roll the flattened tensor, as in PyTorch; reductions
//! (sum, mean, prod, amax, amin, var, std, norm, logsumexp) read `()` as all dims, as
//! PyTorch's do (pytorch/pytorch#29137 keeps it so for compatibility; NumPy differs).
//! Negative dims count from the end. Range and repeats are checked by the core op, which
//! knows the rank (`shape::normalize_axis`: IndexError; `shape::normalize_axes`:
//! ValueError "dim 0 appears more than once", also for `(0, -2)` on a 2-d tensor).

use pyo3::exceptions::{PyIndexError, PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyTuple};

/// The name of `obj`'s type, as in "got bool".
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

/// Why a value is not an int argument.
enum NotInt {
    /// Not an int at all (a bool, float, str, ...): the type's name.
    Type(String),
    /// An int too large for a machine integer: its digits.
    Overflow(String),
}

impl NotInt {
    fn err(self, op: &str, arg: &str, expected: &str) -> PyErr {
        match self {
            NotInt::Type(kind) => PyTypeError::new_err(format!("{op}: {arg} must be {expected}, got {kind}")),
            NotInt::Overflow(v) => PyIndexError::new_err(format!("{op}: {arg} {v} is out of range")),
        }
    }
}

/// A Python int or an object with `__index__` (NumPy's ints), but not a bool.
fn int(obj: &Bound<'_, PyAny>) -> Result<isize, NotInt> {
    if obj.is_instance_of::<PyBool>() {
        return Err(NotInt::Type("bool".into()));
    }
    obj.extract::<isize>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(obj.py()) {
            NotInt::Overflow(obj.str().map(|s| s.to_string()).unwrap_or_default())
        } else {
            NotInt::Type(type_name(obj))
        }
    })
}

/// A one-dim argument as the caller gave it; [`Dim::get`] turns it into a dim or into
/// a TypeError naming the op (pyo3's own extraction error can name only the argument,
/// and would take `True` for 1). See NOTE [dim arguments].
///
/// ```ignore
/// #[pyo3(signature = (dim = Dim::new(0)), text_signature = "($self, dim=0)")]
/// fn cumsum(&self, dim: Dim) -> PyResult<PyTensor> {
///     wrap(self.inner.cumsum(dim.get("cumsum", "dim")?))
/// }
/// ```
pub struct Dim(Result<isize, NotInt>);

impl Dim {
    /// A default value (give the signature a `text_signature` that spells it).
    pub const fn new(d: isize) -> Dim {
        Dim(Ok(d))
    }

    /// The dim, or a TypeError "`op`: `arg` must be an int, got bool".
    pub fn get(self, op: &str, arg: &str) -> PyResult<isize> {
        self.0.map_err(|e| e.err(op, arg, "an int"))
    }
}

impl<'py> FromPyObject<'py> for Dim {
    fn extract_bound(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Dim(int(obj)))
    }
}

/// One dim from an object (for arguments that may also be something else, like the
/// tensor of `max(other)`).
pub fn dim(op: &str, arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<isize> {
    int(obj).map_err(|e| e.err(op, arg, "an int"))
}

/// `arg[i]` of a tuple or list, each an int.
fn items<'py>(op: &str, arg: &str, items: impl Iterator<Item = Bound<'py, PyAny>>) -> PyResult<Vec<isize>> {
    items.enumerate().map(|(i, x)| int(&x).map_err(|e| e.err(op, &format!("{arg}[{i}]"), "an int"))).collect()
}

/// An int (one entry) or a tuple or list of ints (maybe empty); `expected` completes
/// the TypeError "`op`: `arg` must be `expected`, got str".
fn int_list(op: &str, arg: &str, obj: &Bound<'_, PyAny>, expected: &str) -> PyResult<Vec<isize>> {
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return items(op, arg, t.iter());
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return items(op, arg, l.iter());
    }
    int(obj).map(|i| vec![i]).map_err(|e| e.err(op, arg, expected))
}

/// An int or a tuple or list of ints: `roll`'s shifts, `repeat`'s sizes.
pub fn ints(op: &str, arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<isize>> {
    int_list(op, arg, obj, "an int or a tuple of ints")
}

/// Ints given as varargs or as one tuple or list: `flip(0, 1)` and `flip((0, 1))`,
/// `permute(1, 0)`, `repeat(2, 3)`.
pub fn ints_varargs(op: &str, arg: &str, args: &Bound<'_, PyTuple>) -> PyResult<Vec<isize>> {
    if args.len() == 1 {
        return int_list(op, arg, &args.get_item(0)?, "ints or a tuple of ints");
    }
    items(op, arg, args.iter())
}

/// Several dims: `None` (the op decides), an int, or a tuple or list of ints where
/// `()` is no dims. See NOTE [dim arguments].
pub fn dims(op: &str, arg: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<isize>>> {
    match obj {
        Some(d) if !d.is_none() => int_list(op, arg, d, "an int, a tuple of ints or None").map(Some),
        _ => Ok(None),
    }
}

/// The dims of a reduction: as [`dims`], but `()` also means all dims (`None`), as in
/// PyTorch. See NOTE [dim arguments].
pub fn reduce_dims(op: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<isize>>> {
    Ok(dims(op, "dim", obj)?.filter(|d| !d.is_empty()))
}
