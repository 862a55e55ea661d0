//! The sweeps over a recorded graph and what they carry.
//!
//! - `reverse.rs`: the [`Plan`] (an iterative topological order, built once, run many
//!   times) and the reverse sweep ([`Plan::pullback`]), with `grad` and `backward`.
//! - `forward.rs`: the forward (tangent) sweep over the same plan ([`Plan::pushforward`]).
//! - `rows.rs`: [`Rows`], a batch of cotangents or tangents, dense or structured, and
//!   its algebra; `diag.rs` and `sparse.rs` are the structured forms, `product.rs` and
//!   `sparse_rules.rs` carry them through an op by the structure it declares;
//!   `embed.rs` keeps a slice's cotangent as its window (NOTE [embedded rows]).
//!
//! - `pattern.rs`: the sparsity pattern of a Jacobian, pushed through the same plan
//!   by each op's declared structure, and the signature it is cached under.
//!
//! Nothing here names an op: the sweeps call each node's `Rule` (its dense VJP and
//! JVP) and read its declared `Structure` (`structure.rs`).

mod diag;
mod embed;
mod forward;
mod pattern;
mod product;
mod reverse;
mod rows;
mod sparse;
mod sparse_rules;

pub use crate::tensor::graph::{enable_grad, is_grad_enabled, no_grad, set_grad_enabled, GradModeGuard};
pub use diag::DiagRows;
pub use embed::EmbedRows;
pub use pattern::{jacobian_pattern, signature};
pub use reverse::{backward, grad, GradOptions, Plan};
pub use rows::Rows;
pub use sparse::SparseRows;
