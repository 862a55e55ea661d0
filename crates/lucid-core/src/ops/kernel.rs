//! Elementwise kernel helpers shared by the op families: broadcasting zips over two
//! storages of the same dtype, instantiated once per element type.

use ndarray::{ArcArray, ArrayView, IxDyn, Zip};

use crate::error::{Error, Result};

/// Broadcast two arrays to `shape` and combine them elementwise.
pub fn zip_broadcast<A: Clone, B: Clone, C: Clone>(
    op: &'static str,
    a: &ArcArray<A, IxDyn>,
    b: &ArcArray<B, IxDyn>,
    shape: &[usize],
    f: impl Fn(A, B) -> C,
) -> Result<ArcArray<C, IxDyn>> {
    let sh = IxDyn(shape);
    let bad = || Error::shape(op, format!("shapes {:?} and {:?} cannot be broadcast together", a.shape(), b.shape()));
    let av: ArrayView<A, IxDyn> = a.broadcast(sh.clone()).ok_or_else(bad)?;
    let bv: ArrayView<B, IxDyn> = b.broadcast(sh).ok_or_else(bad)?;
    Ok(Zip::from(&av).and(&bv).map_collect(|x, y| f(x.clone(), y.clone())).into_shared())
}

/// Elementwise binary kernel on two same-dtype storages broadcast to `$shape`.
/// Float storages use the first closure; an optional `int |i, j| …` closure adds an
/// int64 arm; any other dtype is an error naming `$op`.
#[macro_export]
#[doc(hidden)]
macro_rules! zip_storage {
    ($op:expr, $a:expr, $b:expr, $shape:expr, |$x:ident, $y:ident| $body:expr) => {
        $crate::zip_storage!(@go $op, $a, $b, $shape, |$x, $y| $body, )
    };
    ($op:expr, $a:expr, $b:expr, $shape:expr, |$x:ident, $y:ident| $body:expr,
     int |$i:ident, $j:ident| $ibody:expr) => {
        $crate::zip_storage!(@go $op, $a, $b, $shape, |$x, $y| $body,
            ($crate::dtype::Storage::I64(a), $crate::dtype::Storage::I64(b)) => {
                $crate::ops::kernel::zip_broadcast($op, a, b, $shape, |$i: i64, $j: i64| $ibody)
                    .map($crate::dtype::Storage::I64)
            }
        )
    };
    (@go $op:expr, $a:expr, $b:expr, $shape:expr, |$x:ident, $y:ident| $body:expr, $($extra:tt)*) => {{
        use $crate::dtype::Storage;
        use $crate::ops::kernel::zip_broadcast;
        match ($a, $b) {
            (Storage::F32(a), Storage::F32(b)) => {
                zip_broadcast($op, a, b, $shape, |$x: f32, $y: f32| $body).map(Storage::F32)
            }
            (Storage::F64(a), Storage::F64(b)) => {
                zip_broadcast($op, a, b, $shape, |$x: f64, $y: f64| $body).map(Storage::F64)
            }
            $($extra)*
            (a, b) => Err($crate::error::Error::dtype(
                $op,
                format!("not supported for dtypes {} and {}", a.dtype(), b.dtype()),
            )),
        }
    }};
}

/// Reshape in row-major order, sharing the buffer when the layout allows it and
/// copying to standard layout otherwise (transposed views, column-major products).
pub fn reshape_array<T: Clone>(op: &'static str, a: &ArcArray<T, IxDyn>, shape: &[usize]) -> Result<ArcArray<T, IxDyn>> {
    let a = if a.is_standard_layout() { a.clone() } else { a.as_standard_layout().into_owned().into_shared() };
    a.into_shape_with_order(IxDyn(shape)).map_err(|e| Error::shape(op, e.to_string()))
}
