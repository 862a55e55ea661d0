//! The recorded graph, at the level of the tensor: the [`Rule`] every recorded op
//! implements, the [`Node`] a computed tensor keeps, and the per-thread grad mode that
//! decides whether ops record at all. The op families (`ops/`) implement `Rule`; the
//! sweeps (`autograd/`) call it. Nothing here names an op.

use std::cell::Cell;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::dtype::DType;
use crate::error::Result;
use crate::structure::Structure;
use crate::tensor::Tensor;

/// What an op family implements for the sweeps. Every method is required: a new op
/// does not compile until its author has written both derivative rules and said what
/// structure it has (`Structure::Unstructured` when none, with what each output element reads).
pub(crate) trait Rule: Send + Sync + std::any::Any {
    fn name(&self) -> &'static str;

    /// How output elements depend on input elements (NOTE [declared structure]): what
    /// lets the sweeps keep cotangents and tangents diagonal or sparse through this op.
    fn structure(&self) -> Structure<'_>;

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

    /// Jacobian-vector product: `tangents[k]` is input k's tangent (shape
    /// `batch_shape + inputs[k].shape`, `None` for zero); return the output's tangent
    /// (`batch_shape + out.shape`, or broadcastable to it), `None` if it is zero.
    /// Written with Tensor ops, like `vjp`, so forward-over-reverse and create_graph
    /// work. Elementwise families implement it with `ops::elementwise_jvp` (their
    /// Jacobian is diagonal, hence self-adjoint: the VJP rule is the JVP rule).
    fn jvp(&self, inputs: &[Tensor], out: &Tensor, tangents: &[Option<Tensor>], batch: usize)
        -> Result<Option<Tensor>>;

    /// The forward again, on new input values (a tape's replay, NOTE [tape recording]):
    /// the same op with the same parameters, recording a fresh node as the op's own
    /// entry point does. `shape` and `dtype` are the output's as recorded, for ops whose
    /// parameters are read off the output (a reshape's target, a cast's dtype).
    fn replay(&self, inputs: &[Tensor], shape: &[usize], dtype: DType) -> Result<Tensor>;

    /// The batching rule (NOTE [batched replay] in `functional/batch.rs`): the op
    /// applied to each sample of a batch at once. `batched[k]` says whether `inputs[k]`
    /// carries a leading batch dim `B` (else it is the per-sample value, shared by every
    /// sample); `shape` and `dtype` are the per-sample output's as recorded. Return the
    /// per-sample outputs stacked on a new leading dim, shape `(B, *shape)`, computed
    /// with ordinary Tensor ops (so the result records a graph every sweep can
    /// differentiate), or `None` when the op has no rule: the replay then runs it once
    /// per sample and stacks the results (correct, slower, counted).
    fn batch(&self, inputs: &[Tensor], batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        let _ = (inputs, batched, shape, dtype);
        Ok(None)
    }
}

// ---- what batching rules share (NOTE [batched replay] in functional/batch.rs) ---------

/// The batch size: the leading dim of the first batched input.
pub(crate) fn size_of(inputs: &[Tensor], batched: &[bool]) -> usize {
    inputs.iter().zip(batched).find(|(_, &b)| b).map_or(1, |(x, _)| x.shape()[0])
}

/// `(B, *shape)`.
pub(crate) fn with_batch(size: usize, shape: &[usize]) -> Vec<usize> {
    std::iter::once(size).chain(shape.iter().copied()).collect()
}

/// A dim of the per-sample value as a dim of the batched one (negative dims count from
/// the end and stay).
pub(crate) fn shift(axis: isize) -> isize {
    if axis >= 0 {
        axis + 1
    } else {
        axis
    }
}

/// A batched `x` whose per-sample rank is below `rank` with size-1 dims inserted after
/// the batch dim, so it broadcasts per sample as the per-sample value would; unbatched
/// values broadcast as they are (trailing dims align).
pub(crate) fn align(x: &Tensor, batched: bool, rank: usize) -> Result<Tensor> {
    let own = x.ndim().saturating_sub(1);
    if !batched || own >= rank {
        return Ok(x.clone());
    }
    let mut shape = Vec::with_capacity(rank + 1);
    shape.push(x.shape()[0]);
    shape.extend(std::iter::repeat_n(1, rank - own));
    shape.extend_from_slice(&x.shape()[1..]);
    x.reshape_exact(&shape)
}

/// The batching rule of an elementwise op: align ranks, then the op itself broadcasts
/// the batch (`rule.replay` at the batched shape).
pub(crate) fn elementwise(
    rule: &dyn Rule,
    inputs: &[Tensor],
    batched: &[bool],
    shape: &[usize],
    dtype: DType,
) -> Result<Option<Tensor>> {
    let aligned: Vec<Tensor> =
        inputs.iter().zip(batched).map(|(x, &b)| align(x, b, shape.len())).collect::<Result<_>>()?;
    rule.replay(&aligned, &with_batch(size_of(inputs, batched), shape), dtype).map(Some)
}

/// Every input with the batch dim: unbatched ones broadcast over it (a view), for rules
/// that then only shift their dims.
pub(crate) fn all_batched(inputs: &[Tensor], batched: &[bool]) -> Result<Vec<Tensor>> {
    let size = size_of(inputs, batched);
    inputs
        .iter()
        .zip(batched)
        .map(|(x, &b)| if b { Ok(x.clone()) } else { x.unsqueeze(0)?.expand(&with_batch(size, x.shape())) })
        .collect()
}

/// How a non-leaf tensor was made: the op (with its non-tensor parameters, shared with
/// any tape that recorded it) and the tensors it read. Rules get the output tensor itself from the sweep, so a node never
/// holds its own output (no reference cycle).
pub(crate) struct Node {
    pub(crate) op: Arc<dyn Rule>,
    pub(crate) inputs: Vec<Tensor>,
    /// Set by a sweep without `retain_graph`: a later sweep through here is an error.
    pub(crate) released: AtomicBool,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread currently record a graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Restores the previous grad mode when dropped.
#[must_use = "grad mode is restored when the guard is dropped"]
pub struct GradModeGuard {
    prev: bool,
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.prev));
    }
}

/// Set grad mode on this thread until the returned guard is dropped.
pub fn set_grad_enabled(enabled: bool) -> GradModeGuard {
    let prev = GRAD_ENABLED.with(|g| g.replace(enabled));
    GradModeGuard { prev }
}

/// Turn graph recording off on this thread until the guard is dropped.
///
/// ```
/// use lucid_core::{autograd::no_grad, Tensor, DType};
/// let x = Tensor::ones(&[2], DType::F64);
/// x.set_requires_grad(true).unwrap();
/// let y = { let _g = no_grad(); x.exp().unwrap() };
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad() -> GradModeGuard {
    set_grad_enabled(false)
}

/// Turn graph recording on (inside a `no_grad` region) until the guard is dropped.
pub fn enable_grad() -> GradModeGuard {
    set_grad_enabled(true)
}
