//! `lucid.Tensor` methods of the math family: elementwise math, clamp, reductions
//! (prod, max/min, var/std, norm, logsumexp), softmax and scans. Signatures follow
//! PyTorch; `python/lucid/_ops.py` turns each into a `lucid.NAME` function too.

use lucid_core::Tensor;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyDict, PyList, PyString, PyTuple};

use crate::args::{self, Dim, Flag, Int, Real};
use crate::convert::operand;
use crate::errors::PyResultExt;
use crate::tensor::{wrap, PyTensor};

/// A bound of `clamp`: None, a number (taking the tensor's dtype) or a tensor.
fn bound(value: Option<&Bound<'_, PyAny>>, like: &Tensor) -> PyResult<Option<Tensor>> {
    match value {
        Some(v) if !v.is_none() => operand(v, like, "clamp").map(Some),
        _ => Ok(None),
    }
}

static MAX_RESULT: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
static MIN_RESULT: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
static SORT_RESULT: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// `(values, indices)` as a named tuple, like PyTorch's `torch.return_types.max`.
fn values_indices(
    py: Python<'_>,
    cell: &'static GILOnceCell<Py<PyAny>>,
    name: &str,
    values: Tensor,
    indices: Tensor,
) -> PyResult<PyObject> {
    let cls = cell.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("module", "lucid")?;
        let nt = py.import("collections")?.getattr("namedtuple")?;
        Ok(nt.call((name, ("values", "indices")), Some(&kwargs))?.unbind())
    })?;
    Ok(cls.bind(py).call1((PyTensor::new(values), PyTensor::new(indices)))?.unbind())
}

/// `max`/`min` with PyTorch's three forms: over everything, along a dim (values and
/// indices), or elementwise against another tensor.
fn extreme(py: Python<'_>, x: &Tensor, dim: Option<&Bound<'_, PyAny>>, keepdim: bool, max: bool) -> PyResult<PyObject> {
    let name = if max { "max" } else { "min" };
    let tensor = |t: Tensor| -> PyResult<PyObject> { Ok(PyTensor::new(t).into_pyobject(py)?.into_any().unbind()) };
    let Some(d) = dim.filter(|d| !d.is_none()) else {
        return tensor(if max { x.amax(None, false) } else { x.amin(None, false) }.py()?);
    };
    if let Ok(other) = d.downcast::<PyTensor>() {
        let o = other.borrow().inner.clone();
        return tensor(if max { x.maximum(&o) } else { x.minimum(&o) }.py()?);
    }
    if d.is_instance_of::<PyTuple>() || d.is_instance_of::<PyList>() {
        let kind = args::type_name(d);
        return Err(PyTypeError::new_err(format!(
            "{name}: dim must be an int (use amax/amin for several dims), got {kind}"
        )));
    }
    let dim = args::dim(name, "dim", d)?;
    let (v, i) = if max { x.max_dim(dim, keepdim) } else { x.min_dim(dim, keepdim) }.py()?;
    values_indices(py, if max { &MAX_RESULT } else { &MIN_RESULT }, name, v, i)
}

/// The `correction` of var/std from PyTorch's `unbiased` and `correction` arguments.
fn correction_of(op: &str, unbiased: Option<bool>, correction: Option<f64>) -> PyResult<f64> {
    match (unbiased, correction) {
        (Some(_), Some(_)) => Err(PyValueError::new_err(format!("{op}: pass either unbiased or correction, not both"))),
        (Some(u), None) => Ok(if u { 1.0 } else { 0.0 }),
        (None, Some(c)) => Ok(c),
        (None, None) => Ok(1.0),
    }
}

/// var/std: PyTorch's `x.var(False)` passes `unbiased` in the place of `dim` (pyo3 cannot
/// tell it from `dim=False`, which is taken the same way); otherwise a bool `dim` is a
/// TypeError as for every op (NOTE [dim arguments]).
fn var_args(
    op: &str,
    dim: Option<&Bound<'_, PyAny>>,
    unbiased: Option<bool>,
    correction: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<Vec<isize>>, f64)> {
    let correction = correction
        .map(|c| {
            c.extract::<f64>().map_err(|_| {
                PyTypeError::new_err(format!("{op}: correction must be a real number, got {}", args::type_name(c)))
            })
        })
        .transpose()?;
    if let Some(d) = dim.filter(|d| d.is_instance_of::<PyBool>() && unbiased.is_none()) {
        return Ok((None, correction_of(op, Some(d.extract()?), correction)?));
    }
    Ok((args::reduce_dims(op, dim)?, correction_of(op, unbiased, correction)?))
}

macro_rules! math_unary {
    ($($(#[$doc:meta])* $name:ident => $call:ident;)*) => {
        #[pymethods]
        impl PyTensor {
            $($(#[$doc])* fn $name(&self) -> PyResult<PyTensor> { wrap(self.inner.$call()) })*
        }
    };
}

math_unary! {
    /// `1 / x`, differentiable.
    reciprocal => reciprocal;
    /// `1 / sqrt(x)`, differentiable.
    rsqrt => rsqrt;
    /// Base-2 logarithm, differentiable.
    log2 => log2;
    /// Base-10 logarithm, differentiable.
    log10 => log10;
    /// Inverse sine, differentiable.
    asin => asin;
    /// Inverse cosine, differentiable.
    acos => acos;
    /// Inverse tangent, differentiable.
    atan => atan;
    /// Hyperbolic sine, differentiable.
    sinh => sinh;
    /// Hyperbolic cosine, differentiable.
    cosh => cosh;
    /// Inverse hyperbolic sine, differentiable.
    asinh => asinh;
    /// Inverse hyperbolic cosine, differentiable.
    acosh => acosh;
    /// Inverse hyperbolic tangent, differentiable.
    atanh => atanh;
    /// Alias of `asin`.
    arcsin => asin;
    /// Alias of `acos`.
    arccos => acos;
    /// Alias of `atan`.
    arctan => atan;
    /// Alias of `asinh`.
    arcsinh => asinh;
    /// Alias of `acosh`.
    arccosh => acosh;
    /// Alias of `atanh`.
    arctanh => atanh;
    /// The error function (relative accuracy ~1e-15), differentiable.
    erf => erf;
    /// Largest integer <= x; its gradient is zero.
    floor => floor;
    /// Smallest integer >= x; its gradient is zero.
    ceil => ceil;
    /// Elementwise `x is NaN`, a bool tensor.
    isnan => isnan;
    /// Elementwise `x is finite` (not NaN or inf), a bool tensor.
    isfinite => isfinite;
    /// Elementwise `x is +inf or -inf`, a bool tensor.
    isinf => isinf;
}

#[pymethods]
impl PyTensor {
    // ---- elementwise with parameters ---------------------------------------------------

    /// Round half to even at `decimals` places (negative: tens, hundreds, ...); zero gradient.
    #[pyo3(signature = (decimals = Int::new(0)), text_signature = "($self, decimals=0)")]
    fn round(&self, decimals: Int) -> PyResult<PyTensor> {
        let decimals = decimals.get("round", "decimals")?;
        let decimals = i32::try_from(decimals)
            .map_err(|_| PyOverflowError::new_err(format!("round: decimals {decimals} is out of the int32 range")))?;
        wrap(self.inner.round(decimals))
    }

    /// `log(1 + exp(beta * x)) / beta`, and `x` where `beta * x > threshold` (PyTorch's
    /// softplus). Stable for any x.
    #[pyo3(signature = (beta = Real::new(1.0), threshold = Real::new(20.0)), text_signature = "($self, beta=1.0, threshold=20.0)")]
    fn softplus(&self, beta: Real, threshold: Real) -> PyResult<PyTensor> {
        wrap(self.inner.softplus(beta.get("softplus", "beta")?, threshold.get("softplus", "threshold")?))
    }

    /// `x * Phi(x)` with the exact normal CDF (`approximate='none'`) or PyTorch's tanh form.
    #[pyo3(signature = (approximate = None), text_signature = "($self, approximate=\"none\")")]
    fn gelu(&self, approximate: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let approximate = match approximate {
            None => "none".into(),
            Some(a) => a
                .downcast::<PyString>()
                .map_err(|_| {
                    PyTypeError::new_err(format!(
                        "gelu: approximate must be 'none' or 'tanh', got {}",
                        args::type_name(a)
                    ))
                })?
                .to_cow()?,
        };
        match approximate.as_ref() {
            "none" => wrap(self.inner.gelu(false)),
            "tanh" => wrap(self.inner.gelu(true)),
            other => Err(PyValueError::new_err(format!("gelu: approximate must be 'none' or 'tanh', got {other:?}"))),
        }
    }

    /// Clamp into `[min, max]` (numbers or tensors; at least one given). The gradient
    /// passes to `self` where `min <= x <= max` (bounds included, as PyTorch), to `min`
    /// where `x < min` and to `max` where `x > max`.
    #[pyo3(signature = (min = None, max = None))]
    fn clamp(&self, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let (lo, hi) = (bound(min, &self.inner)?, bound(max, &self.inner)?);
        wrap(self.inner.clamp(lo.as_ref(), hi.as_ref()))
    }

    /// Alias of `clamp`.
    #[pyo3(signature = (min = None, max = None))]
    fn clip(&self, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        self.clamp(min, max)
    }

    /// `clamp(min=min)`.
    fn clamp_min(&self, min: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.clamp_min(&operand(min, &self.inner, "clamp_min")?))
    }

    /// `clamp(max=max)`.
    fn clamp_max(&self, max: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.clamp_max(&operand(max, &self.inner, "clamp_max")?))
    }

    // ---- reductions --------------------------------------------------------------------

    /// Product over `dim` (int, tuple, or None for all); the gradient is exact with zeros.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn prod(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("prod", dim, keepdim)?;
        wrap(self.inner.prod(d.as_deref(), keepdim))
    }

    /// Largest value over `dim` (int, tuple, or None/() for all). Ties split the
    /// gradient evenly among the tied elements.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn amax(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("amax", dim, keepdim)?;
        wrap(self.inner.amax(d.as_deref(), keepdim))
    }

    /// `(values, indices)` sorted along `dim`, ascending or `descending`. The sort is
    /// always stable (equal values keep their order; `stable` is accepted for
    /// PyTorch's signature) and puts NaN above every number; the values are
    /// differentiable (a gather by the indices).
    #[pyo3(signature = (dim = Dim::new(-1), descending = Flag::new(false), stable = Flag::new(false)), text_signature = "($self, dim=-1, descending=False, stable=False)")]
    fn sort(&self, py: Python<'_>, dim: Dim, descending: Flag, stable: Flag) -> PyResult<PyObject> {
        let descending = descending.get("sort", "descending")?;
        stable.get("sort", "stable")?; // accepted for PyTorch's signature: always stable
        let (values, indices) = self.inner.sort(dim.get("sort", "dim")?, descending).py()?;
        values_indices(py, &SORT_RESULT, "sort", values, indices)
    }

    /// The int64 indices that sort along `dim` (see `sort`: stable, NaN last when
    /// ascending).
    #[pyo3(signature = (dim = Dim::new(-1), descending = Flag::new(false), stable = Flag::new(false)), text_signature = "($self, dim=-1, descending=False, stable=False)")]
    fn argsort(&self, dim: Dim, descending: Flag, stable: Flag) -> PyResult<PyTensor> {
        let descending = descending.get("argsort", "descending")?;
        stable.get("argsort", "stable")?; // accepted for PyTorch's signature: always stable
        wrap(self.inner.argsort(dim.get("argsort", "dim")?, descending))
    }

    /// Whether any element over `dim` (int, tuple, or None/() for all) is nonzero, as a
    /// bool tensor (NaN counts as nonzero; an empty reduction is False).
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn any(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("any", dim, keepdim)?;
        wrap(self.inner.any(d.as_deref(), keepdim))
    }

    /// Whether every element over `dim` (int, tuple, or None/() for all) is nonzero, as a
    /// bool tensor (an empty reduction is True).
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn all(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("all", dim, keepdim)?;
        wrap(self.inner.all(d.as_deref(), keepdim))
    }

    /// Smallest value over `dim` (int, tuple, or None/() for all); ties split the gradient.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn amin(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("amin", dim, keepdim)?;
        wrap(self.inner.amin(d.as_deref(), keepdim))
    }

    /// `max()`: the largest value; `max(dim, keepdim=False)`: a named tuple
    /// `(values, indices)` (indices of the first maximum; values differentiable with ties
    /// split evenly); `max(other)`: the elementwise maximum.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn max(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyObject> {
        let keepdim = keepdim.get("max", "keepdim")?;
        extreme(py, &self.inner, dim, keepdim, true)
    }

    /// `min()`, `min(dim, keepdim=False) -> (values, indices)` or `min(other)`; see `max`.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn min(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyObject> {
        let keepdim = keepdim.get("min", "keepdim")?;
        extreme(py, &self.inner, dim, keepdim, false)
    }

    /// Index of the first largest element along `dim` (into the flattened tensor when
    /// None), int64.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn argmax(&self, dim: Option<Dim>, keepdim: Flag) -> PyResult<PyTensor> {
        let keepdim = keepdim.get("argmax", "keepdim")?;
        wrap(self.inner.argmax(dim.map(|d| d.get("argmax", "dim")).transpose()?, keepdim))
    }

    /// Index of the first smallest element along `dim`, int64.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn argmin(&self, dim: Option<Dim>, keepdim: Flag) -> PyResult<PyTensor> {
        let keepdim = keepdim.get("argmin", "keepdim")?;
        wrap(self.inner.argmin(dim.map(|d| d.get("argmin", "dim")).transpose()?, keepdim))
    }

    /// `log(sum(exp(x)))` over `dim` (None for all), computed stably.
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn logsumexp(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("logsumexp", dim, keepdim)?;
        wrap(self.inner.logsumexp(d.as_deref(), keepdim))
    }

    /// Vector p-norm over `dim` (None for all): p >= 1, inf or -inf; `'fro'` (the
    /// default) is the 2-norm of all elements of `dim`. The gradient at 0 is 0.
    #[pyo3(signature = (p = None, dim = None, keepdim = Flag::new(false)), text_signature = "($self, p=None, dim=None, keepdim=False)")]
    fn norm(&self, p: Option<&Bound<'_, PyAny>>, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let keepdim = keepdim.get("norm", "keepdim")?;
        let p = match p.filter(|p| !p.is_none()) {
            None => 2.0,
            Some(p) if p.is_instance_of::<PyString>() => match p.extract::<String>()?.as_str() {
                "fro" => 2.0,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "norm: p={other:?} is not supported; use a number >= 1, inf, -inf or 'fro'"
                    )))
                }
            },
            Some(p) => p.extract::<f64>().map_err(|_| PyTypeError::new_err("norm: p must be a number or 'fro'"))?,
        };
        let d = args::reduce_dims("norm", dim)?;
        wrap(self.inner.norm(p, d.as_deref(), keepdim))
    }

    /// Variance over `dim` with `correction` (default 1, Bessel's); `unbiased=False`
    /// means correction 0.
    #[pyo3(signature = (dim = None, unbiased = None, keepdim = Flag::new(false), *, correction = None), text_signature = "($self, dim=None, unbiased=None, keepdim=False, *, correction=None)")]
    fn var(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<Flag>,
        keepdim: Flag,
        correction: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let keepdim = keepdim.get("var", "keepdim")?;
        let unbiased = unbiased.map(|u| u.get("var", "unbiased")).transpose()?;
        let (d, c) = var_args("var", dim, unbiased, correction)?;
        wrap(self.inner.var(d.as_deref(), c, keepdim))
    }

    /// Standard deviation over `dim`; arguments as `var`.
    #[pyo3(signature = (dim = None, unbiased = None, keepdim = Flag::new(false), *, correction = None), text_signature = "($self, dim=None, unbiased=None, keepdim=False, *, correction=None)")]
    fn std(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<Flag>,
        keepdim: Flag,
        correction: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let keepdim = keepdim.get("std", "keepdim")?;
        let unbiased = unbiased.map(|u| u.get("std", "unbiased")).transpose()?;
        let (d, c) = var_args("std", dim, unbiased, correction)?;
        wrap(self.inner.std(d.as_deref(), c, keepdim))
    }

    // ---- along one dim -----------------------------------------------------------------

    /// `exp(x) / sum(exp(x))` along `dim`, stable for large inputs.
    fn softmax(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.softmax(dim.get("softmax", "dim")?))
    }

    /// `x - logsumexp(x)` along `dim`, stable for large inputs.
    fn log_softmax(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.log_softmax(dim.get("log_softmax", "dim")?))
    }

    /// Cumulative sum along `dim` (int64 for integer and bool tensors).
    fn cumsum(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.cumsum(dim.get("cumsum", "dim")?))
    }

    /// Cumulative product along `dim`; the gradient is exact with zeros, to any order.
    fn cumprod(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.cumprod(dim.get("cumprod", "dim")?))
    }
}
