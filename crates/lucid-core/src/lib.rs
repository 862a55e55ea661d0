//! # lucid-core
//!
//! Tensors over `ndarray` with exact reverse- and forward-mode automatic
//! differentiation, built for Jacobians: derivative rules are batch-polymorphic, so a
//! whole Jacobian is one batched sweep over the graph recorded by a single call of the
//! function.
//!
//! ```
//! use lucid_core::{functional::{jacobian, JacobianOptions}, Tensor, DType};
//! // f(x) = x * x has Jacobian diag(2x)
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::F64).unwrap();
//! let j = jacobian(|xs| Ok(vec![xs[0].mul(&xs[0])?]), &[x], &JacobianOptions::default()).unwrap();
//! assert_eq!(j[0].shape(), &[3, 3]);
//! assert_eq!(j[0].to_f64_vec(), vec![2.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 6.0]);
//! ```
//!
//! ## Layers
//!
//! Each module uses only the modules below it (`tests/test_architecture.py` checks):
//!
//! ```text
//! functional   jacobian, hessian, vjp, jvp, hvp: seeds, row blocks, assembly;
//!     ↓        sparse Jacobians and Hessians: colouring, compressed sweeps, CSR;
//!     ↓        tapes: a recorded call replayed at new inputs, guarded, serialised
//! autograd     the Plan and its two sweeps (pullback, pushforward); Rows: what a
//!     ↓        sweep carries (dense, diagonal, sparse rows) and its algebra; the
//!     ↓        sparsity pattern of a Jacobian, pushed through the same plan
//! ops          one family per file: forward, Tensor methods, dense VJP and JVP,
//!     ↓        declared structure
//! tensor       Tensor and, in tensor::graph, the Rule trait, the Node and grad mode;
//!     ↓        in tensor::recording, what a tape's recording sees (nodes, escapes)
//!     ↓
//! kernels      products, matrix-vector, elementwise loops, the thread pool
//!     ↓        (the only unsafe code)
//! structure    what an op does to element positions, and the index maps (with
//!              dependence: what an unstructured op's output elements read)
//! shape, dtype, error
//! ```
//!
//! ## One Jacobian, through the layers
//!
//! `functional::jacobian(f, &[x], opts)` makes a leaf for `x` and calls `f` once with
//! grad mode on. Every op `f` calls (say `y = x.sin().mul(&x)`) runs its forward in its
//! family (`ops::unary`, `ops::binary`, over `kernels`) and, because an input requires
//! grad, records a `Node` holding the op (a `Box<dyn Rule>`) and its inputs.
//! `jacobian_from_graph` then builds a `Plan` from the outputs to the leaves (an
//! iterative topological order) and seeds the identity as diagonal `Rows`. The reverse
//! sweep (`Plan::pullback`) walks the plan: at each node it asks the op's declared
//! `Structure`; `sin` and `mul` are elementwise, so the diagonal goes through each rule
//! with batch rank 0 and stays a diagonal of n numbers; an op with no structure gets
//! the rows densified and its dense VJP. At the leaf, the rows are written straight
//! into the zeroed `(m, n)` result. Forward mode is the mirror image
//! (`Plan::pushforward`, JVP rules, columns of J).
//!
//! `functional::sparse_jacobian` records the same way, then reads the pattern off the
//! graph (`autograd::jacobian_pattern`: each node's declared structure maps index sets
//! instead of values), colours its columns or rows, and sends all colours through one
//! batched sweep; each nonzero is read out of the compressed result into CSR.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod autograd;
pub mod dtype;
pub mod error;
pub mod functional;
pub mod interrupt;
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
