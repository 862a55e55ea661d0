//! Op families. Each file holds one family's forward kernels, its `Tensor` methods
//! and its derivative rules side by side.

pub mod binary;
pub mod gather;
pub mod index;
pub mod join;
pub mod linalg;
pub mod matmul;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod softmax;
pub mod special;
pub mod unary;
pub mod view;

pub use binary::where_;
pub use index::IndexItem;
