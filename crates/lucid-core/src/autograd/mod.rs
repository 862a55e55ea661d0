//! The graph and its sweeps: the op enum every recorded node carries, grad mode, and
//! the reverse (cotangent) sweep.

pub(crate) mod forward;
mod mode;
mod reverse;
mod sparse;
mod sparse_forward;
mod sparse_matmul;
mod structured;

#[doc(hidden)]
pub use mode::{enable_grad, is_grad_enabled, no_grad, set_grad_enabled, GradModeGuard};
pub use reverse::{backward, grad, GradOptions, Plan};
pub use sparse::SparseCot;
pub use structured::{Cot, DiagCot};

use crate::error::Result;
use crate::ops::gather::GatherOp;
use crate::ops::{
    binary::BinaryOp, index::IndexOp, join::JoinOp, matmul::MatmulOp, reduce::ReduceOp, unary::UnaryOp, view::ViewOp,
};
use crate::tensor::Tensor;

/// A recorded op: one variant per op family; each family's enum and rules live in
/// its own file under `ops/`. Matches are exhaustive, so a new family does not
/// compile until it has its rules.
#[derive(Debug, Clone)]
pub enum Op {
    Unary(UnaryOp),
    Binary(BinaryOp),
    Reduce(ReduceOp),
    Scan(crate::ops::scan::ScanOp),
    Softmax(crate::ops::softmax::SoftmaxOp),
    View(ViewOp),
    Index(IndexOp),
    Join(JoinOp),
    Matmul(MatmulOp),
    Linalg(crate::ops::linalg::LinalgOp),
    Gather(GatherOp),
}

/// The operands an elementwise VJP rule reads (see [`Rule::vjp_reads`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reads {
    pub inputs: bool,
    pub output: bool,
}

/// What an op family implements for the sweeps.
pub(crate) trait Rule {
    fn name(&self) -> &'static str;

    /// Vector-Jacobian product. `g` has shape `batch_shape + out.shape` (batch rank
    /// `batch`); return one cotangent per input whose `needs` flag is set, shaped
    /// `batch_shape + s` where `s` broadcasts to that input's shape (the sweep sums
    /// broadcast dims away). Written with Tensor ops, so it records a graph when the
    /// sweep runs with `create_graph`.
    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        batch: usize,
        needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>>;

    /// Whether `vjp` is elementwise in `g` (the cotangent of element i of the output
    /// touches only element i of each input, before broadcasting). Such rules also
    /// serve diagonal cotangents: see NOTE [diagonal cotangents] in `structured.rs`.
    fn is_elementwise(&self) -> bool {
        false
    }

    /// For an elementwise rule: which operands `vjp` reads. The sparse sweep gathers
    /// only those at its entries and passes an empty tensor for the others, so a wrong
    /// answer here is a shape error, never a wrong value.
    fn vjp_reads(&self) -> Reads {
        Reads { inputs: true, output: true }
    }

    /// Jacobian-vector product: `tangents[k]` is input k's tangent (shape
    /// `batch_shape + inputs[k].shape`, `None` for zero); return the output's tangent
    /// (`batch_shape + out.shape`, or broadcastable to it), `None` if it is zero.
    /// Written with Tensor ops, like `vjp`, so forward-over-reverse and create_graph work.
    /// Required, like `vjp`: a new family does not compile until it has both rules.
    /// Elementwise families implement it with `forward::elementwise_jvp` (their
    /// Jacobian is diagonal, hence self-adjoint: the VJP rule is the JVP rule).
    fn jvp(&self, inputs: &[Tensor], out: &Tensor, tangents: &[Option<Tensor>], batch: usize)
        -> Result<Option<Tensor>>;
}

impl Op {
    fn rule(&self) -> &dyn Rule {
        match self {
            Op::Unary(op) => op,
            Op::Binary(op) => op,
            Op::Reduce(op) => op,
            Op::Scan(op) => op,
            Op::Softmax(op) => op,
            Op::View(op) => op,
            Op::Index(op) => op,
            Op::Join(op) => op,
            Op::Matmul(op) => op,
            Op::Linalg(op) => op,
            Op::Gather(op) => op,
        }
    }

    pub fn name(&self) -> &'static str {
        self.rule().name()
    }
}
