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
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $name(&self) -> PyResult<PyTensor> { wrap(self.inner.$name()) }
            )*
        }
    };
}

unary_pymethods!(
    /// `-x`, elementwise (also the unary `-` operator): d/dx = -1.
    ///
    /// >>> lucid.tensor([1.0, -2.0]).neg()
    /// tensor([-1.,  2.])
    neg,
    /// `eˣ`, elementwise: d/dx = eˣ (the rule reuses the output).
    ///
    /// >>> lucid.tensor([0.0, 1.0], dtype=lucid.float64).exp()
    /// tensor([1.        , 2.71828183], dtype=lucid.float64)
    exp,
    /// `eˣ - 1`, accurate for small `x`, elementwise: d/dx = eˣ.
    ///
    /// >>> lucid.tensor([0.0, 1e-10], dtype=lucid.float64).expm1()
    /// tensor([0.e+00, 1.e-10], dtype=lucid.float64)
    expm1,
    /// The natural logarithm `ln x` (NaN below 0, -inf at 0), elementwise: d/dx = 1/x.
    ///
    /// >>> lucid.tensor([1.0, 4.0]).log().exp()
    /// tensor([1., 4.])
    log,
    /// `ln(1 + x)`, accurate for small `x`, elementwise: d/dx = 1/(1 + x).
    ///
    /// >>> lucid.tensor([0.0, 1e-10], dtype=lucid.float64).log1p()
    /// tensor([0.e+00, 1.e-10], dtype=lucid.float64)
    log1p,
    /// `√x` (NaN below 0), elementwise: d/dx = 1/(2√x), infinite at 0.
    ///
    /// >>> lucid.tensor([4.0, 9.0]).sqrt()
    /// tensor([2., 3.])
    sqrt,
    /// `sin x` (radians), elementwise: d/dx = cos x.
    ///
    /// >>> lucid.tensor([0.0]).sin()
    /// tensor([0.])
    sin,
    /// `cos x` (radians), elementwise: d/dx = -sin x.
    ///
    /// >>> lucid.tensor([0.0]).cos()
    /// tensor([1.])
    cos,
    /// `tan x` (radians), elementwise: d/dx = 1 + tan² x.
    ///
    /// >>> lucid.tensor([0.0]).tan()
    /// tensor([0.])
    tan,
    /// The hyperbolic tangent, elementwise: d/dx = 1 - tanh² x.
    ///
    /// >>> lucid.tensor([0.0]).tanh()
    /// tensor([0.])
    tanh,
    /// The logistic function `1 / (1 + e⁻ˣ)`, elementwise: d/dx = σ(x)(1 - σ(x)).
    ///
    /// >>> lucid.tensor([0.0]).sigmoid()
    /// tensor([0.5])
    sigmoid,
    /// `|x|` (also `abs(x)`), elementwise: d/dx = sign x, 0 at 0.
    ///
    /// >>> lucid.tensor([-1.5, 2.0]).abs()
    /// tensor([1.5, 2. ])
    abs,
    /// `max(x, 0)`, elementwise: d/dx = 1 where x > 0, else 0.
    ///
    /// >>> lucid.tensor([-1.0, 2.0]).relu()
    /// tensor([0., 2.])
    relu,
    /// `x²`, elementwise: d/dx = 2x.
    ///
    /// >>> lucid.tensor([-3.0, 2.0]).square()
    /// tensor([9., 4.])
    square,
    /// -1, 0 or 1 by the sign of `x` (NaN stays NaN), elementwise: zero gradient.
    ///
    /// >>> lucid.tensor([-2.0, 0.0, 3.0]).sign()
    /// tensor([-1.,  0.,  1.])
    sign,
);

macro_rules! binary_pymethods {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $name(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap(self.inner.$name(&crate::convert::operand(other, &self.inner, stringify!($name))?))
                }
            )*
        }
    };
}

binary_pymethods!(
    /// `self + other` (also `+`), elementwise with broadcasting; `other` is a tensor or a number: ∂/∂self = 1, ∂/∂other = 1.
    ///
    /// >>> lucid.tensor([1.0, 2.0]).add(lucid.tensor([[10.0], [20.0]]))
    /// tensor([[11., 12.],
    ///         [21., 22.]])
    add,
    /// `self - other` (also `-`), elementwise with broadcasting; `other` is a tensor or a number: ∂/∂self = 1, ∂/∂other = -1.
    ///
    /// >>> lucid.tensor([1.0, 2.0]).sub(1)
    /// tensor([0., 1.])
    sub,
    /// `self * other` (also `*`), elementwise with broadcasting; `other` is a tensor or a number: ∂/∂self = other, ∂/∂other = self.
    ///
    /// >>> lucid.tensor([1.0, 2.0]).mul(3)
    /// tensor([3., 6.])
    mul,
    /// `self / other` (also `/`), elementwise with broadcasting; `other` is a tensor or a number: ∂/∂self = 1/other, ∂/∂other = -self/other².
    ///
    /// >>> lucid.tensor([1.0, 2.0]).div(4)
    /// tensor([0.25, 0.5 ])
    div,
    /// The larger of `self` and `other` (NaN if either is NaN), elementwise with broadcasting; `other` is a tensor or a number: the gradient goes to the larger, split evenly on ties.
    ///
    /// >>> lucid.tensor([1.0, 5.0]).maximum(lucid.tensor([3.0, 2.0]))
    /// tensor([3., 5.])
    maximum,
    /// The smaller of `self` and `other` (NaN if either is NaN), elementwise with broadcasting; `other` is a tensor or a number: the gradient goes to the smaller, split evenly on ties.
    ///
    /// >>> lucid.tensor([1.0, 5.0]).minimum(lucid.tensor([3.0, 2.0]))
    /// tensor([1., 2.])
    minimum,
    /// `atan2(self, other)`, the angle of the point `(other, self)` in (-π, π], elementwise with broadcasting; `other` is a tensor or a number: ∂/∂self = other/r², ∂/∂other = -self/r² with r² = self² + other².
    ///
    /// >>> lucid.tensor([1.0]).atan2(lucid.tensor([1.0])).item()  # π/4
    /// 0.785398...
    atan2,
    /// `self // other`: the quotient rounded toward -∞, as Python's `//`, elementwise with broadcasting; `other` is a tensor or a number: zero gradient (a step function).
    ///
    /// >>> lucid.tensor([7.0, -7.0]).floor_divide(2)
    /// tensor([ 3., -4.])
    floor_divide,
    /// `self % other = self - (self // other) * other`, with the sign of `other` as Python's `%`, elementwise with broadcasting; `other` is a tensor or a number: ∂/∂self = 1, ∂/∂other = -(self // other).
    ///
    /// >>> lucid.tensor([7.0, -7.0]).remainder(3)
    /// tensor([1., 2.])
    remainder,
    /// `self == other` (also the `==` operator), elementwise with broadcasting, as a bool tensor
    /// (comparisons carry no gradient).
    ///
    /// >>> lucid.tensor([1.0, 2.0, 3.0]).eq(2)
    /// tensor([False,  True, False], dtype=lucid.bool)
    eq,
    /// `self != other` (also the `!=` operator), elementwise with broadcasting, as a bool tensor
    /// (comparisons carry no gradient).
    ///
    /// >>> lucid.tensor([1.0, 2.0, 3.0]).ne(2)
    /// tensor([ True, False,  True], dtype=lucid.bool)
    ne,
    /// `self < other` (also the `<` operator), elementwise with broadcasting, as a bool tensor
    /// (comparisons carry no gradient).
    ///
    /// >>> lucid.tensor([1.0, 2.0, 3.0]).lt(2)
    /// tensor([ True, False, False], dtype=lucid.bool)
    lt,
    /// `self <= other` (also the `<=` operator), elementwise with broadcasting, as a bool tensor
    /// (comparisons carry no gradient).
    ///
    /// >>> lucid.tensor([1.0, 2.0, 3.0]).le(2)
    /// tensor([ True,  True, False], dtype=lucid.bool)
    le,
    /// `self > other` (also the `>` operator), elementwise with broadcasting, as a bool tensor
    /// (comparisons carry no gradient).
    ///
    /// >>> lucid.tensor([1.0, 2.0, 3.0]).gt(2)
    /// tensor([False, False,  True], dtype=lucid.bool)
    gt,
    /// `self >= other` (also the `>=` operator), elementwise with broadcasting, as a bool tensor
    /// (comparisons carry no gradient).
    ///
    /// >>> lucid.tensor([1.0, 2.0, 3.0]).ge(2)
    /// tensor([False,  True,  True], dtype=lucid.bool)
    ge,
);

#[pymethods]
impl PyTensor {
    /// `self ** exponent` (a tensor or a number), elementwise with broadcasting:
    /// ∂/∂self = exponent · self^(exponent - 1), ∂/∂exponent = self^exponent · ln self (a
    /// number exponent gets no cotangent).
    ///
    /// >>> lucid.tensor([2.0, 3.0]).pow(2)
    /// tensor([4., 9.])
    fn pow(&self, exponent: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.__pow__(exponent, None)
    }
    /// The matrix product `self @ other` with NumPy's rules: 1-D operands are vectors,
    /// batch dims broadcast. ValueError when the inner sizes differ.
    ///
    /// >>> A = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    /// >>> A.matmul(lucid.tensor([1.0, 1.0]))
    /// tensor([3., 7.])
    fn matmul(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.__matmul__(other)
    }

    // ---- dtype ------------------------------------------------------------------------

    /// A copy converted to `dtype` (a `lucid.dtype`, a NumPy dtype or its name; `None`
    /// keeps the dtype, as in PyTorch); differentiable between float dtypes.
    ///
    /// >>> lucid.tensor([1.5, 2.5]).to(lucid.int64)
    /// tensor([1, 2])
    fn to(&self, dtype: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        // not NumPy's reading of None (float64): PyTorch's to(None) changes nothing
        let dtype = if dtype.is_none() { self.inner.dtype() } else { dtype::parse_for("to", dtype)? };
        wrap(self.inner.to_dtype(dtype))
    }
    /// A float32 copy (`to(lucid.float32)`).
    ///
    /// >>> lucid.tensor([1, 2]).float()
    /// tensor([1., 2.])
    fn float(&self) -> PyResult<PyTensor> {
        wrap(self.inner.to_dtype(DType::F32))
    }
    /// A float64 copy (`to(lucid.float64)`).
    ///
    /// >>> lucid.tensor([1.0]).double().dtype
    /// lucid.float64
    fn double(&self) -> PyResult<PyTensor> {
        wrap(self.inner.to_dtype(DType::F64))
    }
    /// An int64 copy (`to(lucid.int64)`), truncating toward zero.
    ///
    /// >>> lucid.tensor([1.7, -1.7]).long()
    /// tensor([ 1, -1])
    fn long(&self) -> PyResult<PyTensor> {
        wrap(self.inner.to_dtype(DType::I64))
    }
    /// Whether the dtype is float32 or float64 (the dtypes that can require grad).
    ///
    /// >>> lucid.tensor([1.0]).is_floating_point(), lucid.tensor([1]).is_floating_point()
    /// (True, False)
    fn is_floating_point(&self) -> bool {
        self.inner.dtype().is_float()
    }

    // ---- reductions -------------------------------------------------------------------

    /// The sum over `dim` (an int, a tuple of ints, or None or `()` for all elements);
    /// `keepdim` keeps each reduced dim with size 1. Its cotangent is broadcast back.
    ///
    /// >>> x = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    /// >>> x.sum(), x.sum(0), x.sum(1, keepdim=True).shape
    /// (tensor(10.), tensor([4., 6.]), (2, 1))
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn sum(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("sum", dim, keepdim)?;
        wrap(self.inner.sum(d.as_deref(), keepdim))
    }
    /// The mean over `dim` (an int, a tuple of ints, or None or `()` for all elements).
    ///
    /// >>> lucid.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(0)
    /// tensor([2., 3.])
    #[pyo3(signature = (dim = None, keepdim = Flag::new(false)), text_signature = "($self, dim=None, keepdim=False)")]
    fn mean(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: Flag) -> PyResult<PyTensor> {
        let (d, keepdim) = args::reduction("mean", dim, keepdim)?;
        wrap(self.inner.mean(d.as_deref(), keepdim))
    }

    // ---- shape ------------------------------------------------------------------------

    /// The same elements in row-major order under a new shape (one size may be -1);
    /// a view sharing the data when the tensor is contiguous. ValueError when the sizes do not
    /// match.
    ///
    /// >>> lucid.arange(6).reshape(2, -1)
    /// tensor([[0, 1, 2],
    ///         [3, 4, 5]])
    #[pyo3(signature = (*shape))]
    fn reshape<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        let shape = args::sizes_varargs("reshape", "shape", shape)?;
        views::view(slf, move |t| t.reshape(&shape))
    }
    /// Same as `reshape`.
    ///
    /// >>> lucid.arange(4).view(2, 2).shape
    /// (2, 2)
    #[pyo3(signature = (*shape))]
    fn view<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        // reshape's own code, its errors naming what the user called
        let shape = args::sizes_varargs("view", "shape", shape)?;
        views::view(slf, move |t| t.reshape(&shape).map_err(|e| e.with_op("view")))
    }
    /// Dims `start_dim` to `end_dim` (inclusive) merged into one.
    ///
    /// >>> lucid.zeros(2, 3, 4).flatten(1).shape
    /// (2, 12)
    #[pyo3(signature = (start_dim = Dim::new(0), end_dim = Dim::new(-1)), text_signature = "($self, start_dim=0, end_dim=-1)")]
    fn flatten<'py>(slf: &Bound<'py, Self>, start_dim: Dim, end_dim: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let (start, end) = (start_dim.get("flatten", "start_dim")?, end_dim.get("flatten", "end_dim")?);
        views::view(slf, move |t| t.flatten(start, end))
    }
    /// A new dim of size 1 inserted at `dim` (negative counts from the end of the result).
    ///
    /// >>> lucid.zeros(3).unsqueeze(0).shape, lucid.zeros(3).unsqueeze(-1).shape
    /// ((1, 3), (3, 1))
    fn unsqueeze<'py>(slf: &Bound<'py, Self>, dim: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let dim = dim.get("unsqueeze", "dim")?;
        views::view(slf, move |t| t.unsqueeze(dim))
    }
    /// Size-1 dims removed: all of them (`dim=None`), or those of `dim` (an int or a
    /// tuple; `()` removes none) that have size 1.
    ///
    /// >>> lucid.zeros(1, 3, 1).squeeze().shape, lucid.zeros(1, 3, 1).squeeze(0).shape
    /// ((3,), (3, 1))
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
    /// The dims reordered: dim `i` of the result is dim `dims[i]` of `self` (a view).
    ///
    /// >>> lucid.zeros(2, 3, 4).permute(2, 0, 1).shape
    /// (4, 2, 3)
    #[pyo3(signature = (*dims))]
    fn permute<'py>(slf: &Bound<'py, Self>, dims: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        let dims = args::ints_varargs("permute", "dims", dims)?;
        views::view(slf, move |t| t.permute(&dims))
    }
    /// Dims `dim0` and `dim1` swapped (a view).
    ///
    /// >>> lucid.zeros(2, 3, 4).transpose(0, 2).shape
    /// (4, 3, 2)
    fn transpose<'py>(slf: &Bound<'py, Self>, dim0: Dim, dim1: Dim) -> PyResult<Bound<'py, PyTensor>> {
        let (a, b) = (dim0.get("transpose", "dim0")?, dim1.get("transpose", "dim1")?);
        views::view(slf, move |t| t.transpose(a, b))
    }
    /// The transpose of a 2-D tensor; a 0-D or 1-D tensor as is. More dims is a
    /// ValueError (`.T` reverses all dims, `.mT` swaps the last two).
    ///
    /// >>> lucid.tensor([[1.0, 2.0]]).t()
    /// tensor([[1.],
    ///         [2.]])
    fn t<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        views::view(slf, Tensor::t)
    }
    /// All dims reversed (`x.permute(n-1, ..., 0)`), as NumPy's `.T`.
    ///
    /// >>> lucid.zeros(2, 3, 4).T.shape
    /// (4, 3, 2)
    #[getter(T)]
    fn big_t<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        views::view(slf, Tensor::reverse_dims)
    }
    /// The last two dims swapped: a batch of transposed matrices.
    ///
    /// >>> lucid.zeros(5, 2, 3).mT.shape
    /// (5, 3, 2)
    #[getter(mT)]
    fn m_t<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        views::view(slf, Tensor::mt)
    }
    /// A broadcast view of `shape` (sizes as arguments; -1 keeps a dim): size-1 dims
    /// repeat and new leading dims are added. The cotangent is summed back over them.
    ///
    /// >>> lucid.tensor([[1.0], [2.0]]).expand(2, 3)
    /// tensor([[1., 1., 1.],
    ///         [2., 2., 2.]])
    #[pyo3(signature = (*shape))]
    fn expand<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        Self::expand_to(slf, "expand", args::sizes_varargs("expand", "shape", shape)?)
    }
    /// `expand` with the shape as one tuple (NumPy's spelling).
    ///
    /// >>> lucid.tensor([1.0, 2.0]).broadcast_to((2, 2))
    /// tensor([[1., 2.],
    ///         [1., 2.]])
    fn broadcast_to<'py>(slf: &Bound<'py, Self>, shape: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        let want = args::sizes("broadcast_to", "shape", shape)?;
        Self::expand_to(slf, "broadcast_to", want)
    }
    /// `length` entries of `dim` from `start` (negative counts from the end), a view:
    /// `x.narrow(0, 1, 2)` is `x[1:3]`.
    ///
    /// >>> lucid.arange(5).narrow(0, 1, 2)
    /// tensor([1, 2])
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
    /// Entry `index` of `dim`, which the result drops (a view): `x.select(1, 0)` is
    /// `x[:, 0]`. IndexError when out of range.
    ///
    /// >>> lucid.tensor([[1, 2], [3, 4]]).select(1, 0)
    /// tensor([1, 3])
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

/// Tensors joined along an existing dim `dim` (their other sizes equal);
/// differentiable, each input getting its slab of the cotangent.
///
/// >>> lucid.cat([lucid.zeros(2), lucid.ones(1)])
/// tensor([0., 0., 1.])
#[pyfunction]
#[pyo3(signature = (tensors, dim = Dim::new(0)), text_signature = "(tensors, dim=0)")]
fn cat(tensors: &Bound<'_, PyAny>, dim: Dim) -> PyResult<PyTensor> {
    wrap(Tensor::cat(&tensor_list(tensors, "cat")?, dim.get("cat", "dim")?))
}

/// Equally shaped tensors stacked along a new dim `dim`; differentiable.
///
/// >>> lucid.stack([lucid.zeros(2), lucid.ones(2)], dim=1)
/// tensor([[0., 1.],
///         [0., 1.]])
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
