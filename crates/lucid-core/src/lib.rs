//! # lucid-core
//!
//! Tensors over `ndarray` with exact reverse-mode automatic differentiation, built for
//! Jacobians: derivative rules are batch-polymorphic, so a whole Jacobian is one
//! batched sweep over the graph recorded by a single call of the function.
//!
//! ```
//! use lucid_core::{functional::{jacobian, JacobianOptions}, Tensor, DType};
//! // f(x) = x * x has Jacobian diag(2x)
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::F64).unwrap();
//! let j = jacobian(|xs| Ok(vec![xs[0].mul(&xs[0])?]), &[x], &JacobianOptions::default()).unwrap();
//! assert_eq!(j[0].shape(), &[3, 3]);
//! assert_eq!(j[0].to_f64_vec(), vec![2.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 6.0]);
//! ```

#![deny(unsafe_code)]

pub mod autograd;
pub mod dtype;
pub mod error;
pub mod functional;
mod graph;
#[allow(unsafe_code)]
mod kernels;
pub mod ops;
pub mod shape;
pub mod structure;
mod tensor;

pub use dtype::{DType, Storage};
pub use error::{Error, Result};
pub use ops::{where_, IndexItem};
pub use tensor::Tensor;

// The README's Rust example runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
