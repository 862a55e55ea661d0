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
    /// `1 / x`, elementwise: d/dx = -1/x².
    ///
    /// >>> lucid.tensor([2.0, 4.0]).reciprocal()
    /// tensor([0.5 , 0.25])
    reciprocal => reciprocal;
    /// `1 / √x`, elementwise: d/dx = -x^(-3/2) / 2.
    ///
    /// >>> lucid.tensor([4.0]).rsqrt()
    /// tensor([0.5])
    rsqrt => rsqrt;
    /// The base-2 logarithm, elementwise: d/dx = 1/(x ln 2).
    ///
    /// >>> lucid.tensor([8.0]).log2()
    /// tensor([3.])
    log2 => log2;
    /// The base-10 logarithm, elementwise: d/dx = 1/(x ln 10).
    ///
    /// >>> lucid.tensor([100.0]).log10()
    /// tensor([2.])
    log10 => log10;
    /// The inverse sine (NaN outside [-1, 1]), elementwise: d/dx = 1/√(1 - x²).
    ///
    /// >>> lucid.tensor([0.0]).asin()
    /// tensor([0.])
    asin => asin;
    /// The inverse cosine (NaN outside [-1, 1]), elementwise: d/dx = -1/√(1 - x²).
    ///
    /// >>> lucid.tensor([1.0]).acos()
    /// tensor([0.])
    acos => acos;
    /// The inverse tangent, elementwise: d/dx = 1/(1 + x²).
    ///
    /// >>> lucid.tensor([0.0]).atan()
    /// tensor([0.])
    atan => atan;
    /// The hyperbolic sine, elementwise: d/dx = cosh x.
    ///
    /// >>> lucid.tensor([0.0]).sinh()
    /// tensor([0.])
    sinh => sinh;
    /// The hyperbolic cosine, elementwise: d/dx = sinh x.
    ///
    /// >>> lucid.tensor([0.0]).cosh()
    /// tensor([1.])
    cosh => cosh;
    /// The inverse hyperbolic sine, elementwise: d/dx = 1/√(x² + 1).
    ///
    /// >>> lucid.tensor([0.0]).asinh()
    /// tensor([0.])
    asinh => asinh;
    /// The inverse hyperbolic cosine (NaN below 1), elementwise: d/dx = 1/√(x² - 1).
    ///
    /// >>> lucid.tensor([1.0]).acosh()
    /// tensor([0.])
    acosh => acosh;
    /// The inverse hyperbolic tangent (NaN outside [-1, 1]), elementwise: d/dx = 1/(1 - x²).
    ///
    /// >>> lucid.tensor([0.0]).atanh()
    /// tensor([0.])
    atanh => atanh;
    /// NumPy's name for `asin`.
    ///
    /// >>> lucid.tensor([0.5]).arcsin().item() == lucid.tensor([0.5]).asin().item()
    /// True
    arcsin => asin;
    /// NumPy's name for `acos`.
    ///
    /// >>> lucid.tensor([0.5]).arccos().item() == lucid.tensor([0.5]).acos().item()
    /// True
    arccos => acos;
    /// NumPy's name for `atan`.
    ///
    /// >>> lucid.tensor([0.5]).arctan().item() == lucid.tensor([0.5]).atan().item()
    /// True
    arctan => atan;
    /// NumPy's name for `asinh`.
    ///
    /// >>> lucid.tensor([0.5]).arcsinh().item() == lucid.tensor([0.5]).asinh().item()
    /// True
    arcsinh => asinh;
    /// NumPy's name for `acosh`.
    ///
    /// >>> lucid.tensor([1.5]).arccosh().item() == lucid.tensor([1.5]).acosh().item()
    /// True
    arccosh => acosh;
    /// NumPy's name for `atanh`.
    ///
    /// >>> lucid.tensor([0.5]).arctanh().item() == lucid.tensor([0.5]).atanh().item()
    /// True
    arctanh => atanh;
    /// The error function `2/√π ∫₀ˣ e^(-t²) dt` (relative accuracy ~1e-15), elementwise: d/dx = 2/√π e^(-x²).
    ///
    /// >>> lucid.tensor([0.0]).erf()
    /// tensor([0.])
    erf => erf;
    /// The largest integer `<= x`, elementwise: zero gradient.
    ///
    /// >>> lucid.tensor([-1.5, 1.5]).floor()
    /// tensor([-2.,  1.])
    floor => floor;
    /// The smallest integer `>= x`, elementwise: zero gradient.
    ///
    /// >>> lucid.tensor([-1.5, 1.5]).ceil()
    /// tensor([-1.,  2.])
    ceil => ceil;
    /// Where `x` is NaN, as a bool tensor (no gradient).
    ///
    /// >>> lucid.tensor([1.0, float("nan")]).isnan()
    /// tensor([False,  True], dtype=lucid.bool)
    isnan => isnan;
    /// Where `x` is neither NaN nor infinite, as a bool tensor (no gradient).
    ///
    /// >>> lucid.tensor([1.0, float("inf"), float("nan")]).isfinite()
    /// tensor([ True, False, False], dtype=lucid.bool)
    isfinite => isfinite;
    /// Where `x` is +inf or -inf, as a bool tensor (no gradient).
    ///
    /// >>> lucid.tensor([1.0, float("-inf")]).isinf()
    /// tensor([False,  True], dtype=lucid.bool)
    isinf => isinf;
}

#[pymethods]
impl PyTensor {
    // ---- elementwise with parameters ---------------------------------------------------

    /// Rounded half to even at `decimals` places (negative: to tens, hundreds, ...);
    /// zero gradient.
    ///
    /// >>> lucid.tensor([0.5, 1.5, 2.25]).round(), lucid.tensor([1234.0]).round(-2)
    /// (tensor([0., 2., 2.]), tensor([1200.]))
    #[pyo3(signature = (decimals = Int::new(0)), text_signature = "($self, decimals=0)")]
    fn round(&self, decimals: Int) -> PyResult<PyTensor> {
        let decimals = decimals.get("round", "decimals")?;
        let decimals = i32::try_from(decimals)
            .map_err(|_| PyOverflowError::new_err(format!("round: decimals {decimals} is out of the int32 range")))?;
        wrap(self.inner.round(decimals))
    }

    /// `log(1 + exp(beta x)) / beta`, and `x` itself where `beta x > threshold` (PyTorch's
    /// softplus), stable for any `x`: d/dx = σ(beta x).
    ///
    /// >>> lucid.tensor([0.0], dtype=lucid.float64).softplus()
    /// tensor([0.69314718], dtype=lucid.float64)
    #[pyo3(signature = (beta = Real::new(1.0), threshold = Real::new(20.0)), text_signature = "($self, beta=1.0, threshold=20.0)")]
    fn softplus(&self, beta: Real, threshold: Real) -> PyResult<PyTensor> {
        wrap(self.inner.softplus(beta.get("softplus", "beta")?, threshold.get("softplus", "threshold")?))
    }

    /// The GELU activation `x Φ(x)`, with the exact normal CDF Φ (`approximate='none'`)
    /// or PyTorch's tanh approximation (`approximate='tanh'`).
    ///
    /// >>> lucid.tensor([0.0, 1.0], dtype=lucid.float64).gelu()
    /// tensor([0.        , 0.84134475], dtype=lucid.float64)
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

    /// Values clamped into `[min, max]` (numbers or tensors; at least one given). The
    /// gradient goes to `self` where `min <= x <= max` (bounds included, as PyTorch), to `min`
    /// where `x < min` and to `max` where `x > max`.
    ///
    /// >>> lucid.tensor([-2.0, 0.5, 3.0]).clamp(-1, 1)
    /// tensor([-1. ,  0.5,  1. ])
    #[pyo3(signature = (min = None, max = None))]
    fn clamp(&self, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let (lo, hi) = (bound(min, &self.inner)?, bound(max, &self.inner)?);
        wrap(self.inner.clamp(lo.as_ref(), hi.as_ref()))
    }

    /// NumPy's name for `clamp`.
    ///
    /// >>> lucid.tensor([-2.0, 3.0]).clip(max=1.0)
    /// tensor([-2.,  1.])
    #[pyo3(signature = (min = None, max = None))]
    fn clip(&self, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        self.clamp(min, max)
    }

    /// `clamp(min=min)`: values below `min` raised to it.
    ///
    /// >>> lucid.tensor([-2.0, 3.0]).clamp_min(0)
    /// tensor([0., 3.])
    fn clamp_min(&self, min: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.clamp_min(&operand(min, &self.inner, "clamp_min")?))
    }

    /// `clamp(max=max)`: values above `max` lowered to it.
    ///
    /// >>> lucid.tensor([-2.0, 3.0]).clamp_max(0)
    /// tensor([-2.,  0.])
    fn clamp_max(&self, max: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.inner.clamp_max(&operand(max, &self.inner, "clamp_max")?))
    }

    // ---- reductions --------------------------------------------------------------------

    /// The product over `dim` (an int, a tuple, or None for all); ∂/∂x_k = ∏_{j≠k} x_j,
    /// exact even where elements are zero.
    ///
    /// >>> lucid.tensor([[1.0, 2.0], [3.0, 4.0]]).prod(1)
    /// tensor([ 2., 12.])
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn prod(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("prod", dim, keepdim)?;
        wrap(self.inner.prod(d.as_deref(), keepdim))
    }

    /// The largest value over `dim` (an int, a tuple, or None or `()` for all). Ties
    /// split the gradient evenly among the tied elements.
    ///
    /// >>> lucid.tensor([[1.0, 5.0], [3.0, 4.0]]).amax(0)
    /// tensor([3., 5.])
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn amax(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("amax", dim, keepdim)?;
        wrap(self.inner.amax(d.as_deref(), keepdim))
    }

    /// `(values, indices)` sorted along `dim`, ascending or `descending`. The sort is always
    /// stable (equal values keep their order; `stable` is accepted for PyTorch's signature)
    /// and puts NaN above every number; the values are differentiable (a gather by the
    /// indices).
    ///
    /// >>> lucid.tensor([3.0, 1.0, 2.0]).sort()
    /// sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    #[pyo3(signature = (dim = Dim::new(-1), descending = Flag::new(false), stable = Flag::new(false)), text_signature = "($self, dim=-1, descending=False, stable=False)")]
    fn sort(&self, py: Python<'_>, dim: Dim, descending: Flag, stable: Flag) -> PyResult<PyObject> {
        let descending = descending.get("sort", "descending")?;
        stable.get("sort", "stable")?; // accepted for PyTorch's signature: always stable
        let (values, indices) = self.inner.sort(dim.get("sort", "dim")?, descending).py()?;
        values_indices(py, &SORT_RESULT, "sort", values, indices)
    }

    /// The int64 indices that sort along `dim` (see `sort`: stable, NaN last when ascending).
    ///
    /// >>> lucid.tensor([3.0, 1.0, 2.0]).argsort(descending=True)
    /// tensor([0, 2, 1])
    #[pyo3(signature = (dim = Dim::new(-1), descending = Flag::new(false), stable = Flag::new(false)), text_signature = "($self, dim=-1, descending=False, stable=False)")]
    fn argsort(&self, dim: Dim, descending: Flag, stable: Flag) -> PyResult<PyTensor> {
        let descending = descending.get("argsort", "descending")?;
        stable.get("argsort", "stable")?; // accepted for PyTorch's signature: always stable
        wrap(self.inner.argsort(dim.get("argsort", "dim")?, descending))
    }

    /// Whether any element over `dim` (an int, a tuple, or None or `()` for all) is nonzero,
    /// as a bool tensor (NaN counts as nonzero; an empty reduction is False).
    ///
    /// >>> lucid.tensor([[0.0, 1.0], [0.0, 0.0]]).any(1)
    /// tensor([ True, False], dtype=lucid.bool)
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn any(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("any", dim, keepdim)?;
        wrap(self.inner.any(d.as_deref(), keepdim))
    }

    /// Whether every element over `dim` (an int, a tuple, or None or `()` for all) is
    /// nonzero, as a bool tensor (an empty reduction is True).
    ///
    /// >>> lucid.tensor([[1.0, 1.0], [0.0, 1.0]]).all(1)
    /// tensor([ True, False], dtype=lucid.bool)
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn all(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("all", dim, keepdim)?;
        wrap(self.inner.all(d.as_deref(), keepdim))
    }

    /// The smallest value over `dim` (an int, a tuple, or None or `()` for all); ties split
    /// the gradient evenly.
    ///
    /// >>> lucid.tensor([[1.0, 5.0], [3.0, 4.0]]).amin(1)
    /// tensor([1., 3.])
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn amin(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("amin", dim, keepdim)?;
        wrap(self.inner.amin(d.as_deref(), keepdim))
    }

    /// Three forms, as in PyTorch: `max()` is the largest value; `max(dim, keepdim=False)`
    /// a named tuple `(values, indices)` (indices of the first maximum; values differentiable,
    /// ties splitting the gradient evenly); `max(other)` the elementwise `maximum`.
    ///
    /// Ties: the gradient is split evenly among the tied maxima, as for `amax` and in
    /// JAX, where PyTorch's `max(dim)` gives all of it to the returned index. Both are
    /// valid subgradients and the values agree; the even split is the one that does not
    /// depend on which index is returned, so every strategy, the sparse pattern and a
    /// replayed tape (which would otherwise have to guard the index) give the same answer.
    ///
    /// >>> x = lucid.tensor([[1.0, 5.0], [3.0, 4.0]])
    /// >>> x.max()
    /// tensor(5.)
    /// >>> x.max(1)
    /// max(values=tensor([5., 4.]), indices=tensor([1, 1]))
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn max(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyObject> {
        let keepdim = keepdim.get("max", "keepdim")?;
        extreme(py, &self.inner, dim, keepdim, true)
    }

    /// `min()`, `min(dim, keepdim=False) -> (values, indices)` or `min(other)`; see `max`.
    ///
    /// >>> lucid.tensor([[1.0, 5.0], [3.0, 4.0]]).min(0)
    /// min(values=tensor([1., 4.]), indices=tensor([0, 1]))
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn min(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyObject> {
        let keepdim = keepdim.get("min", "keepdim")?;
        extreme(py, &self.inner, dim, keepdim, false)
    }

    /// The int64 index of the first largest element along `dim` (into the flattened
    /// tensor when `dim` is None).
    ///
    /// >>> lucid.tensor([[1.0, 5.0], [3.0, 4.0]]).argmax(), lucid.tensor([[1.0, 5.0], [3.0, 4.0]]).argmax(0)
    /// (tensor(1), tensor([1, 0]))
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn argmax(&self, dim: Option<Dim>, keepdim: Flag) -> PyResult<PyTensor> {
        let keepdim = keepdim.get("argmax", "keepdim")?;
        wrap(self.inner.argmax(dim.map(|d| d.get("argmax", "dim")).transpose()?, keepdim))
    }

    /// The int64 index of the first smallest element along `dim` (into the flattened
    /// tensor when `dim` is None).
    ///
    /// >>> lucid.tensor([[1.0, 5.0], [3.0, 4.0]]).argmin(1)
    /// tensor([0, 0])
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn argmin(&self, dim: Option<Dim>, keepdim: Flag) -> PyResult<PyTensor> {
        let keepdim = keepdim.get("argmin", "keepdim")?;
        wrap(self.inner.argmin(dim.map(|d| d.get("argmin", "dim")).transpose()?, keepdim))
    }

    /// `log Σ exp x` over `dim` (None for all), computed stably (the maximum is taken out
    /// first); d/dx = softmax(x).
    ///
    /// >>> lucid.tensor([1000.0, 1000.0], dtype=lucid.float64).logsumexp(0).item() - 1000.0
    /// 0.693147...
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn logsumexp(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("logsumexp", dim, keepdim)?;
        wrap(self.inner.logsumexp(d.as_deref(), keepdim))
    }

    /// The vector `p`-norm `(Σ|x|^p)^(1/p)` over `dim` (None for all): `p >= 1`, `inf`
    /// (the largest `|x|`) or `-inf`; `'fro'` (the default) is the 2-norm of all elements of
    /// `dim`. The gradient at 0 is 0 (a subgradient). Matrix norms: `lucid.linalg.matrix_norm`.
    ///
    /// >>> x = lucid.tensor([3.0, -4.0])
    /// >>> x.norm(), x.norm(1), x.norm(float("inf"))
    /// (tensor(5.), tensor(7.), tensor(4.))
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

    /// The variance over `dim`, `Σ(x - mean)² / (N - correction)`: `correction` 1 (Bessel's,
    /// the default) or as given; `unbiased=False` means correction 0.
    ///
    /// >>> x = lucid.tensor([1.0, 2.0, 3.0, 4.0])
    /// >>> x.var(), x.var(unbiased=False)
    /// (tensor(1.6666666), tensor(1.25))
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

    /// The standard deviation over `dim`, `√var`; arguments as `var`.
    ///
    /// >>> lucid.tensor([1.0, 3.0]).std(correction=0)
    /// tensor(1.)
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

    /// `exp(x_i) / Σ_j exp(x_j)` along `dim`, stable for large inputs:
    /// ∂s_i/∂x_j = s_i (δ_ij - s_j).
    ///
    /// >>> lucid.tensor([1.0, 1.0, 1.0, 1.0]).softmax(0)
    /// tensor([0.25, 0.25, 0.25, 0.25])
    fn softmax(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.softmax(dim.get("softmax", "dim")?))
    }

    /// `x - logsumexp(x)` along `dim`, stable for large inputs.
    ///
    /// >>> lucid.tensor([0.0, 0.0], dtype=lucid.float64).log_softmax(0).exp()
    /// tensor([0.5, 0.5], dtype=lucid.float64)
    fn log_softmax(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.log_softmax(dim.get("log_softmax", "dim")?))
    }

    /// The cumulative sum along `dim` (int64 for integer and bool tensors).
    ///
    /// >>> lucid.tensor([1, 2, 3]).cumsum(0)
    /// tensor([1, 3, 6])
    fn cumsum(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.cumsum(dim.get("cumsum", "dim")?))
    }

    /// The cumulative product along `dim`; its gradient is exact where elements are zero,
    /// to any order.
    ///
    /// >>> lucid.tensor([1.0, 2.0, 3.0]).cumprod(0)
    /// tensor([1., 2., 6.])
    fn cumprod(&self, dim: Dim) -> PyResult<PyTensor> {
        wrap(self.inner.cumprod(dim.get("cumprod", "dim")?))
    }
}
