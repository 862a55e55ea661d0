//! The one parser of `dim` arguments (and of other int-or-tuple-of-ints arguments) and of
//! the functional API's flags, with PyTorch's semantics and messages that name the op.
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

use pyo3::exceptions::{PyIndexError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString, PyTuple};

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

/// An int argument that is not a dim (an offset, a count, a number of decimals): as
/// [`Dim`], but a value past the int64 range is an OverflowError naming the op and the
/// argument (pyo3's own names neither, and says nothing of which call raised it).
///
/// ```ignore
/// #[pyo3(signature = (diagonal = Int::new(0)), text_signature = "($self, diagonal=0)")]
/// fn tril(&self, diagonal: Int) -> PyResult<PyTensor> {
///     wrap(self.inner.tril(diagonal.get("tril", "diagonal")?))
/// }
/// ```
pub struct Int(Result<isize, NotInt>);

impl Int {
    /// A default value (give the signature a `text_signature` that spells it).
    pub const fn new(v: isize) -> Int {
        Int(Ok(v))
    }

    /// The int, or a TypeError "`op`: `arg` must be an int, got float", or an
    /// OverflowError "`op`: `arg` 18446744073709551616 is out of the int64 range".
    pub fn get(self, op: &str, arg: &str) -> PyResult<isize> {
        self.0.map_err(|e| match e {
            NotInt::Overflow(v) => PyOverflowError::new_err(format!("{op}: {arg} {v} is out of the int64 range")),
            e => e.err(op, arg, "an int"),
        })
    }

    /// As [`Int::get`], but a value past the int64 range is an IndexError, as a huge index
    /// of `x[i]` is: for an index into a dim.
    pub fn index(self, op: &str, arg: &str) -> PyResult<isize> {
        self.0.map_err(|e| e.err(op, arg, "an int"))
    }
}

impl<'py> FromPyObject<'py> for Int {
    fn extract_bound(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Int(int(obj)))
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

/// Sizes (a shape, `repeat`'s sizes) given as [`ints_varargs`]: a size past the int64
/// range is a ValueError, as a negative one is (no tensor has it; it is no index).
pub fn sizes_varargs(op: &str, arg: &str, args: &Bound<'_, PyTuple>) -> PyResult<Vec<isize>> {
    ints_varargs(op, arg, args).map_err(|e| overflow_is_value_error(args.py(), e))
}

/// Sizes given as [`ints`], as [`sizes_varargs`].
pub fn sizes(op: &str, arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<isize>> {
    ints(op, arg, obj).map_err(|e| overflow_is_value_error(obj.py(), e))
}

fn overflow_is_value_error(py: Python<'_>, e: PyErr) -> PyErr {
    if e.is_instance_of::<PyIndexError>(py) {
        PyValueError::new_err(e.value(py).to_string())
    } else {
        e
    }
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

/// A reduction's `(dims, keepdim)` (see [`reduce_dims`] and [`Flag`]).
pub fn reduction(op: &str, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<(Option<Vec<isize>>, bool)> {
    let keepdim = keepdim.get(op, "keepdim")?;
    Ok((reduce_dims(op, dim)?, keepdim))
}

/// A bool argument of an op (`keepdim`, `descending`, ...) as the caller gave it;
/// [`Flag::get`] turns it into a bool or into a TypeError naming the op (pyo3's own
/// extraction error names only the argument, and pyo3's type: "cannot be converted to
/// 'PyBool'"). NumPy's bool is a bool; an int is not, as for [`flag`].
pub struct Flag(Result<bool, String>);

impl Flag {
    /// A default value (give the signature a `text_signature` that spells it).
    pub const fn new(b: bool) -> Flag {
        Flag(Ok(b))
    }

    /// The bool, or a TypeError "`op`: `arg` must be a bool, got str".
    pub fn get(self, op: &str, arg: &str) -> PyResult<bool> {
        self.0.map_err(|kind| PyTypeError::new_err(format!("{op}: {arg} must be a bool, got {kind}")))
    }
}

impl<'py> FromPyObject<'py> for Flag {
    fn extract_bound(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Flag(obj.extract::<bool>().map_err(|_| type_name(obj))))
    }
}

/// A real-number argument of an op (`beta`, `threshold`), as [`Flag`]: a TypeError
/// "`op`: `arg` must be a real number, got str" rather than pyo3's "argument 'beta':
/// must be real number, not str", which names no op.
pub struct Real(Result<f64, String>);

impl Real {
    /// A default value (give the signature a `text_signature` that spells it).
    pub const fn new(v: f64) -> Real {
        Real(Ok(v))
    }

    /// The number, or a TypeError naming the op and the argument.
    pub fn get(self, op: &str, arg: &str) -> PyResult<f64> {
        self.0.map_err(|kind| PyTypeError::new_err(format!("{op}: {arg} must be a real number, got {kind}")))
    }
}

impl<'py> FromPyObject<'py> for Real {
    fn extract_bound(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Real(obj.extract::<f64>().map_err(|_| type_name(obj))))
    }
}

// ---- the functional API's flags -----------------------------------------------------------

// NOTE [who checks the functional flags]: `lucid.autograd.functional` lets the valid
// defaults through with a few identity tests (that path is timed: a small Jacobian costs
// a few µs in all) and sends anything else to `_core.check_options` before `func` runs.
// Each mistake has one check and so one message, in the language that can see it:
//
// | mistake                                   | checked by                    | raises     |
// |-------------------------------------------|-------------------------------|------------|
// | create_graph, strict, vectorize not bools | `flag` here                   | TypeError  |
// | chunk_size not None or an int             | `chunk_size` here             | TypeError  |
// | chunk_size negative (no `usize` holds it) | `chunk_size` here             | ValueError |
// | chunk_size 0, or without vectorize=True   | core `JacobianOptions::check` | ValueError |
// | strategy not a str                        | `strategy` here               | TypeError  |
// | strategy not one of the three             | core `Strategy::parse`        | ValueError |
//
// The core's checks also guard its Rust callers (and `jacobian_from_graph`, which runs
// them again, cheaply); a negative chunk_size has the same words as a zero one.

/// A flag of the functional API: a bool (or NumPy's bool, which pyo3 takes as one),
/// never an int: `strict=1` is a TypeError, as `dim=True` is (NOTE [dim arguments]).
pub fn flag(op: &str, arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    obj.extract::<bool>()
        .map_err(|_| PyTypeError::new_err(format!("{op}: {arg} must be a bool, got {}", type_name(obj))))
}

/// `chunk_size`: None or an int that is not negative (NOTE [who checks the functional
/// flags]: zero is lucid-core's to reject).
pub fn chunk_size(op: &str, obj: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    const EXPECTED: &str = "None or a positive int";
    if obj.is_none() {
        return Ok(None);
    }
    let negative =
        |n: &dyn std::fmt::Display| PyValueError::new_err(format!("{op}: chunk_size must be {EXPECTED}, got {n}"));
    match int(obj) {
        Ok(n) => usize::try_from(n).map(Some).map_err(|_| negative(&n)),
        // more rows than any Jacobian has: all of them at once
        Err(NotInt::Overflow(v)) if !v.starts_with('-') => Ok(Some(usize::MAX)),
        Err(NotInt::Overflow(v)) => Err(negative(&v)),
        Err(e) => Err(e.err(op, "chunk_size", EXPECTED)),
    }
}

/// `strategy`: a str, whose value lucid-core's `Strategy::parse` checks.
pub fn strategy<'a>(op: &str, obj: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, str>> {
    match obj.downcast::<PyString>() {
        Ok(s) => s.to_cow(),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{op}: strategy must be one of \"reverse-mode\", \"forward-mode\", \"auto\", got {}",
            type_name(obj)
        ))),
    }
}
