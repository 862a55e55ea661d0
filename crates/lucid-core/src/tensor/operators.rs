//! `std::ops` operators on tensors — `+ - * /` and unary `-` — with tensors and `f64`
//! constants on either side, each returning `Result<Tensor>`.
//!
//! ```
//! use lucid_core::{DType, Tensor};
//! # fn main() -> lucid_core::Result<()> {
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::F64)?;
//! let y = (2.0 * &x * &x + &x)?; // one `?` for the whole chain
//! assert_eq!(y.to_f64_vec(), vec![3.0, 10.0, 21.0]);
//! let z = (1.0 - (&x / 2.0)?)?; // a constant applied to a chain needs a `?` first
//! assert_eq!(z.to_f64_vec(), vec![0.5, 0.0, -0.5]);
//! assert!((&x + &Tensor::zeros(&[2], DType::F64)).is_err()); // [3] and [2] do not broadcast
//! # Ok(())
//! # }
//! ```
//!
//! NOTE [why operators return Result]: an operator can fail on user data — two shapes
//! that do not broadcast, dtypes that do not combine, an allocation too large — and
//! Lucid's rule is errors, never panics (DESIGN.md). The two Rust tensor libraries a
//! user is likely to know chose differently: burn's operators return a bare tensor and
//! panic on a shape mismatch; candle's return `candle::Result<Tensor>` and are also
//! implemented on `Result<Tensor>` itself, so a chain needs one `?` at its end rather
//! than one per operator. Lucid does what candle does, which keeps the rule and gives
//! candle users the operators they already write:
//!
//! - `&a op &b`, `a op b` and the mixed forms, and `Result<Tensor> op tensor` and
//!   `tensor op Result<Tensor>` (left to right, the first error wins): `(&a * &b + &c)?`.
//! - `tensor op f64` and `f64 op tensor`: `(2.0 * &x)?`, `(1.0 - &x)?`.
//!
//! Rust's orphan rule allows an operator only where Lucid owns one of the two types, so
//! there is no `Result<Tensor> op f64`, `f64 op Result<Tensor>` or
//! `Result<Tensor> op Result<Tensor>` (`Result` and `f64` are std's); candle has the same
//! gaps. Where a constant or a second chain meets a chain, put a `?` on one side:
//! `((&a * &b)? + 1.0)?`, `((&a * &b)? - &c / 2.0)?`. A constant that meets a tensor
//! first needs nothing: `(2.0 * &a * &b)?`. The compiler names the missing impl
//! (``cannot add `{float}` to `Result<Tensor, Error>` ``), never a wrong result.
//! - `-&x`, `-x`.
//!
//! There are no compound assignments (`+=`): `AddAssign` returns `()`, so it could only
//! report a failure by panicking. Write `x = (&x + &y)?`.
//!
//! Every operator calls the named method (`Tensor::add`, `sub`, `mul`, `div`, `neg`), so
//! it broadcasts as NumPy does, promotes dtypes as the methods do, records the same graph
//! node and has the same derivative. A constant `c` becomes a 0-d tensor of the other
//! operand's dtype when that is a float dtype — exactly what `mul_scalar` and
//! `add_scalar` multiply and add — and of float32 when the tensor holds integers or
//! bools: `&i * 0.5` must not truncate 0.5 to 0 (which casting the constant to int64
//! would), and float32 is what Lucid's Python operators and PyTorch give there.

use std::borrow::Borrow;
use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

/// The constant `c` as the 0-d operand of a binary op with `like` (the dtype rule in
/// the module doc).
fn constant(like: &Tensor, c: f64) -> Tensor {
    let dtype = if like.dtype().is_float() { like.dtype() } else { DType::F32 };
    Tensor::scalar(c, dtype)
}

// `Tensor::$method(..)` names the inherent method (the path prefers it over the trait's),
// so every impl below forwards to the op and never to itself.
macro_rules! binary_operators {
    ($($trait:ident $method:ident;)*) => {$(
        impl<B: Borrow<Tensor>> $trait<B> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: B) -> Result<Tensor> {
                Tensor::$method(self, rhs.borrow())
            }
        }
        impl<B: Borrow<Tensor>> $trait<B> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: B) -> Result<Tensor> {
                Tensor::$method(&self, rhs.borrow())
            }
        }
        impl<B: Borrow<Tensor>> $trait<Result<B>> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Result<B>) -> Result<Tensor> {
                Tensor::$method(self, rhs?.borrow())
            }
        }
        impl<B: Borrow<Tensor>> $trait<Result<B>> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Result<B>) -> Result<Tensor> {
                Tensor::$method(&self, rhs?.borrow())
            }
        }
        impl<B: Borrow<Tensor>> $trait<&Tensor> for Result<B> {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(self?.borrow(), rhs)
            }
        }
        impl<B: Borrow<Tensor>> $trait<Tensor> for Result<B> {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$method(self?.borrow(), &rhs)
            }
        }
        impl $trait<f64> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: f64) -> Result<Tensor> {
                Tensor::$method(self, &constant(self, rhs))
            }
        }
        impl $trait<f64> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: f64) -> Result<Tensor> {
                Tensor::$method(&self, &constant(&self, rhs))
            }
        }
        impl $trait<&Tensor> for f64 {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(&constant(rhs, self), rhs)
            }
        }
        impl $trait<Tensor> for f64 {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$method(&constant(&rhs, self), &rhs)
            }
        }
    )*};
}

binary_operators! {
    Add add;
    Sub sub;
    Mul mul;
    Div div;
}

impl Neg for &Tensor {
    type Output = Result<Tensor>;
    fn neg(self) -> Result<Tensor> {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Result<Tensor>;
    fn neg(self) -> Result<Tensor> {
        Tensor::neg(&self)
    }
}
