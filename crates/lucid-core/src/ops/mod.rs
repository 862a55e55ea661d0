//! Op families. Each file (or folder, for linear algebra) holds one family: its
//! forward computation (over `kernels`), its `Tensor` methods, and everything the
//! sweeps need from it — the dense VJP and JVP rules and the declared structure
//! (NOTE [declared structure] in `structure.rs`) that the diagonal and sparse
//! representations follow. See CONTRIBUTING.md, "Adding an op".

pub mod binary;
pub mod gather;
pub mod index;
pub mod join;
pub mod linalg;
pub mod matmul;
pub mod nondiff;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod softmax;
pub mod special;
pub mod unary;
pub mod view;

pub use binary::where_;
pub use index::IndexItem;

use crate::error::Result;
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

/// The JVP of an elementwise rule. Its Jacobian with respect to each input is diagonal
/// (before broadcasting), hence self-adjoint: the VJP rule applied to the aligned
/// tangent is the JVP, summed over inputs. The result takes the output's dtype (a cast
/// converts tangents forward where its VJP converts cotangents back).
pub(crate) fn elementwise_jvp<R: Rule + ?Sized>(
    rule: &R,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<Tensor>],
    batch: usize,
) -> Result<Option<Tensor>> {
    let mut total: Option<Tensor> = None;
    for (k, t) in tangents.iter().enumerate() {
        let Some(t) = t else { continue };
        let t = t.pad_after_batch(batch, out.ndim().saturating_sub(inputs[k].ndim()))?;
        let needs: Vec<bool> = (0..inputs.len()).map(|i| i == k).collect();
        let Some(part) = rule.vjp(inputs, out, &t, batch, &needs)?.into_iter().nth(k).flatten() else { continue };
        total = Some(match total {
            Some(acc) => acc.add(&part)?,
            None => part,
        });
    }
    total.map(|t| t.to_dtype(out.dtype())).transpose()
}
