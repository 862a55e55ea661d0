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

use std::sync::Arc;

/// Declares [`OpCode`] over the listed families, with the two conversions: one list, so
/// a family added here is both saved and restored.
macro_rules! op_codes {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// Every recorded op as data (the family's op with its parameters): what a
        /// serialised tape holds (NOTE \[tape\] in `functional/tape.rs`). `of` reads it off a
        /// recorded rule, `rule` turns it back into one.
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub enum OpCode {
            $(
                #[doc = concat!("An op of the [`", stringify!($ty), "`] family.")]
                $variant($ty),
            )*
        }

        impl OpCode {
            /// The op a recorded rule is, as data (`None` for a family not listed).
            pub(crate) fn of(rule: &dyn Rule) -> Option<OpCode> {
                let any: &dyn std::any::Any = rule;
                $(if let Some(op) = any.downcast_ref::<$ty>() {
                    return Some(OpCode::$variant(op.clone()));
                })*
                None
            }

            pub(crate) fn rule(self) -> Arc<dyn Rule> {
                match self {
                    $(OpCode::$variant(op) => Arc::new(op),)*
                }
            }
        }
    };
}

op_codes!(
    Unary(unary::UnaryOp),
    Binary(binary::BinaryOp),
    Reduce(reduce::ReduceOp),
    Join(join::JoinOp),
    Index(index::IndexOp),
    View(view::ViewOp),
    Gather(gather::GatherOp),
    Matmul(matmul::Matmul),
    Softmax(softmax::SoftmaxOp),
    Scan(scan::ScanOp),
    Linalg(linalg::LinalgOp),
    Nondiff(nondiff::NondiffOp),
);

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
