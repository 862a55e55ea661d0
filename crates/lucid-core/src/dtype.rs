//! Element types and the storage enum that holds a tensor's data.
//!
//! Data lives in an `ArcArray` (reference-counted ndarray): views made by reshape,
//! permute and slicing share the buffer and only change shape and strides.

use ndarray::{ArcArray, IxDyn, LinalgScalar, ScalarOperand};
use std::fmt;

use crate::error::{Error, Result};

/// The element type of a tensor. Only the float dtypes carry derivatives; int64 and bool
/// hold indices, counts and masks. Operands of mixed dtypes promote as in PyTorch
/// ([`DType::promote`]).
///
/// ```
/// use lucid_core::DType;
/// assert_eq!(DType::promote(DType::F32, DType::I64), DType::F32);
/// assert!(DType::F64.is_float() && !DType::Bool.is_float());
/// assert_eq!(DType::F64.name(), "float64");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DType {
    /// 32-bit IEEE 754 float (`f32`), the default of Python float literals.
    F32,
    /// 64-bit IEEE 754 float (`f64`).
    F64,
    /// 64-bit signed integer (`i64`).
    I64,
    /// Boolean (`bool`), one byte per element.
    Bool,
}

impl DType {
    /// Whether this is a floating dtype (one that can require grad).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    /// The NumPy/PyTorch name: `"float32"`, `"float64"`, `"int64"` or `"bool"`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I64 => "int64",
            DType::Bool => "bool",
        }
    }
    /// Bytes per element.
    pub fn size_of(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::Bool => 1,
        }
    }
    /// The dtype two operands promote to, following PyTorch: float64 wins over float32,
    /// any float wins over integers, int64 over bool.
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        match (a, b) {
            (F64, _) | (_, F64) => F64,
            (F32, _) | (_, F32) => F32,
            (I64, _) | (_, I64) => I64,
            (Bool, Bool) => Bool,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A floating element type: the kernels are written once over this trait.
pub trait Float:
    num_traits::Float
    + num_traits::FloatConst
    + LinalgScalar
    + ScalarOperand
    + Send
    + Sync
    + fmt::Debug
    + fmt::Display
    + std::iter::Sum
    + 'static
{
    /// The [`DType`] of this element type.
    const DTYPE: DType;
    /// The [`Storage`] variant holding an array of this element type.
    fn wrap(a: ArcArray<Self, IxDyn>) -> Storage;
    /// `x` converted to this type (rounded to nearest for `f32`).
    fn of(x: f64) -> Self;
    /// This value as an `f64` (exact for both `f32` and `f64`).
    fn to_f64(self) -> f64;
}

impl Float for f32 {
    const DTYPE: DType = DType::F32;
    fn wrap(a: ArcArray<f32, IxDyn>) -> Storage {
        Storage::F32(a)
    }
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const DTYPE: DType = DType::F64;
    fn wrap(a: ArcArray<f64, IxDyn>) -> Storage {
        Storage::F64(a)
    }
    fn of(x: f64) -> f64 {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// A tensor's data: one shared n-dimensional array of one dtype.
#[derive(Clone, Debug)]
pub enum Storage {
    /// float32 data.
    F32(ArcArray<f32, IxDyn>),
    /// float64 data.
    F64(ArcArray<f64, IxDyn>),
    /// int64 data.
    I64(ArcArray<i64, IxDyn>),
    /// bool data.
    Bool(ArcArray<bool, IxDyn>),
}

/// Apply `$body` to the array inside a storage whatever its dtype, binding it as `$a`;
/// `$wrap` re-wraps an array of the same element type.
#[macro_export]
#[doc(hidden)]
macro_rules! with_storage {
    ($s:expr, |$a:ident| $body:expr) => {
        match $s {
            $crate::dtype::Storage::F32($a) => $body,
            $crate::dtype::Storage::F64($a) => $body,
            $crate::dtype::Storage::I64($a) => $body,
            $crate::dtype::Storage::Bool($a) => $body,
        }
    };
}

/// Same-dtype transformation of a storage: `$body` maps an array to an array of the
/// same element type (views, reshapes, copies, index selections).
#[macro_export]
#[doc(hidden)]
macro_rules! map_storage {
    ($s:expr, |$a:ident| $body:expr) => {
        match $s {
            $crate::dtype::Storage::F32($a) => $crate::dtype::Storage::F32($body),
            $crate::dtype::Storage::F64($a) => $crate::dtype::Storage::F64($body),
            $crate::dtype::Storage::I64($a) => $crate::dtype::Storage::I64($body),
            $crate::dtype::Storage::Bool($a) => $crate::dtype::Storage::Bool($body),
        }
    };
}

impl Storage {
    /// The dtype of the data.
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
            Storage::I64(_) => DType::I64,
            Storage::Bool(_) => DType::Bool,
        }
    }

    /// The shape of the array.
    pub fn shape(&self) -> &[usize] {
        with_storage!(self, |a| a.shape())
    }

    /// Zeros (`false` for bool) of `dtype` and `shape`. Panics when the memory cannot be
    /// allocated; [`Storage::try_full`] returns an error instead.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Storage {
        let sh = IxDyn(shape);
        match dtype {
            DType::F32 => Storage::F32(ArcArray::zeros(sh)),
            DType::F64 => Storage::F64(ArcArray::zeros(sh)),
            DType::I64 => Storage::I64(ArcArray::zeros(sh)),
            DType::Bool => Storage::Bool(ArcArray::from_elem(sh, false)),
        }
    }

    /// A storage filled with `value` (cast to `dtype`; nonzero is `true` for bool).
    pub fn full(dtype: DType, shape: &[usize], value: f64) -> Storage {
        let sh = IxDyn(shape);
        match dtype {
            DType::F32 => Storage::F32(ArcArray::from_elem(sh, value as f32)),
            DType::F64 => Storage::F64(ArcArray::from_elem(sh, value)),
            DType::I64 => Storage::I64(ArcArray::from_elem(sh, value as i64)),
            DType::Bool => Storage::Bool(ArcArray::from_elem(sh, value != 0.0)),
        }
    }

    /// Like [`Storage::full`], but an error instead of a panic or an abort when the
    /// shape is too large to address or the memory cannot be had (user-given sizes).
    pub fn try_full(op: &'static str, dtype: DType, shape: &[usize], value: f64) -> Result<Storage> {
        #[allow(unsafe_code)] // the zero fill below; storage is the one place outside `kernels`
        fn filled<T: Clone>(op: &'static str, shape: &[usize], value: T, zero: bool) -> Result<ArcArray<T, IxDyn>> {
            let mut v: Vec<T> = try_vec(op, shape)?;
            let n: usize = shape.iter().product(); // fits: `try_vec` checked it
            if zero {
                // memset (wide, streaming stores) instead of an element loop: a Jacobian's
                // zeros are often megabytes, and the loop took 2/3 of a 1024² Jacobian.
                // SAFETY: `zero` is only set for f32, f64, i64 and bool, for which the
                // all-zero bytes are the value 0 (false); the capacity holds n elements.
                unsafe {
                    std::ptr::write_bytes(v.as_mut_ptr(), 0, n);
                    v.set_len(n);
                }
            } else {
                v.resize(n, value);
            }
            ArcArray::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::shape(op, e.to_string()))
        }
        let zero = value == 0.0 && value.is_sign_positive();
        Ok(match dtype {
            DType::F32 => Storage::F32(filled(op, shape, value as f32, zero)?),
            DType::F64 => Storage::F64(filled(op, shape, value, zero)?),
            DType::I64 => Storage::I64(filled(op, shape, value as i64, zero)?),
            DType::Bool => Storage::Bool(filled(op, shape, value != 0.0, zero)?),
        })
    }

    /// The 1-d storage `[value(0), …, value(n - 1)]` of `dtype` (each value cast as
    /// [`Storage::cast`] casts float64), written straight into a buffer reserved first:
    /// `n` too large to address or allocate is an error naming `op`.
    pub fn generate(op: &'static str, dtype: DType, n: usize, value: impl Fn(usize) -> f64) -> Result<Storage> {
        fn fill<T>(op: &'static str, n: usize, value: impl Fn(usize) -> T) -> Result<ArcArray<T, IxDyn>> {
            let mut v: Vec<T> = try_vec(op, &[n])?;
            v.extend((0..n).map(value));
            Ok(ArcArray::from_vec(v).into_dyn())
        }
        Ok(match dtype {
            DType::F32 => Storage::F32(fill(op, n, |i| value(i) as f32)?),
            DType::F64 => Storage::F64(fill(op, n, value)?),
            DType::I64 => Storage::I64(fill(op, n, |i| value(i) as i64)?),
            DType::Bool => Storage::Bool(fill(op, n, |i| value(i) != 0.0)?),
        })
    }

    /// Convert to another dtype (a copy unless the dtype is unchanged).
    pub fn cast(&self, dtype: DType) -> Storage {
        if self.dtype() == dtype {
            return self.clone();
        }
        macro_rules! conv {
            ($a:expr, $f:expr) => {
                match dtype {
                    DType::F32 => Storage::F32($a.mapv(|v| $f(v).0).into_shared()),
                    DType::F64 => Storage::F64($a.mapv(|v| $f(v).1).into_shared()),
                    DType::I64 => Storage::I64($a.mapv(|v| $f(v).2).into_shared()),
                    DType::Bool => Storage::Bool($a.mapv(|v| $f(v).3).into_shared()),
                }
            };
        }
        match self {
            Storage::F32(a) => conv!(a, |v: f32| (v, v as f64, v as i64, v != 0.0)),
            Storage::F64(a) => conv!(a, |v: f64| (v as f32, v, v as i64, v != 0.0)),
            Storage::I64(a) => conv!(a, |v: i64| (v as f32, v as f64, v, v != 0)),
            Storage::Bool(a) => conv!(a, |v: bool| (v as u8 as f32, v as u8 as f64, v as i64, v)),
        }
    }

    /// All elements as f64 in logical (row-major) order.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        // contiguous data as a slice (the n-d iterator steps an index per element)
        fn convert<T: Copy>(a: &ArcArray<T, IxDyn>, f: impl Fn(T) -> f64) -> Vec<f64> {
            match a.as_slice() {
                Some(s) => s.iter().map(|&v| f(v)).collect(),
                None => a.iter().map(|&v| f(v)).collect(),
            }
        }
        match self {
            Storage::F32(a) => convert(a, |v| v as f64),
            Storage::F64(a) => convert(a, |v| v),
            Storage::I64(a) => convert(a, |v| v as f64),
            Storage::Bool(a) => convert(a, |v| v as u8 as f64),
        }
    }

    /// Check that the data has `dtype`.
    ///
    /// # Errors
    /// `DType`, naming `op`, the expected and the actual dtype.
    pub fn expect_dtype(&self, op: &'static str, dtype: DType) -> Result<()> {
        if self.dtype() != dtype {
            return Err(Error::dtype(op, format!("expected {dtype}, got {}", self.dtype())));
        }
        Ok(())
    }
}

/// The element count of `shape`, or an error when it (or its size in bytes for
/// elements of `elem_size` bytes) exceeds what an array can address. The product of the
/// nonzero lengths must fit too, even when a zero length leaves no elements: that is
/// ndarray's own limit, whose constructors panic past it.
pub fn checked_numel(op: &'static str, shape: &[usize], elem_size: usize) -> Result<usize> {
    let too_big = || {
        Error::argument(op, format!("a tensor of shape {shape:?} is too big to address (over {} bytes)", isize::MAX))
    };
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&p| p <= isize::MAX as usize)
        .ok_or_else(too_big)?;
    let n = if shape.contains(&0) { 0 } else { nonzero };
    match n.checked_mul(elem_size.max(1)) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(n),
        _ => Err(too_big()),
    }
}

/// An empty vector with room for the elements of `shape`, or an error naming `op`, the
/// shape and the bytes when the shape is too large to address or the memory cannot be
/// had: `Vec::try_reserve_exact` fails where `Vec::with_capacity` would abort the
/// process. Buffers whose size a user decides go through here.
///
/// ```
/// let v = lucid_core::dtype::try_vec::<f32>("zeros", &[2, 3]).unwrap();
/// assert!(v.capacity() >= 6);
/// let e = lucid_core::dtype::try_vec::<f32>("zeros", &[1 << 20, 1 << 30]).unwrap_err();
/// assert!(e.message().starts_with("zeros: cannot allocate 4503599627370496 bytes"));
/// ```
pub fn try_vec<T>(op: &'static str, shape: &[usize]) -> Result<Vec<T>> {
    let size = std::mem::size_of::<T>();
    let n = checked_numel(op, shape, size)?;
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::argument(op, format!("cannot allocate {} bytes for a tensor of shape {shape:?}", n * size))
    })?;
    Ok(v)
}
