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
    Spectral(linalg::spectral::SpectralOp),
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
        let part = zero_in_zero_out(&t, part)?; // NOTE [zero in, zero out]
        total = Some(match total {
            Some(acc) => acc.add(&part)?,
            None => part,
        });
    }
    total.map(|t| t.to_dtype(out.dtype())).transpose()
}

// NOTE [zero in, zero out]: a derivative rule multiplies what comes in (a cotangent in
// reverse mode, a tangent in forward mode) by a local derivative, which can be infinite
// or undefined at a finite point: `√x` at 0 (`1 / 2√x`), `atan2(0, 0)`, `log` at 0, a
// quotient by 0, an `exp` that overflowed. IEEE makes `0 · ∞ = NaN`, so a NaN would land
// in Jacobian entries that no path reaches, and where it lands would depend on how the
// zeros are stored: the diagonal and sparse rows of a Jacobian never multiply the zeros
// they do not store, while dense rows (create_graph, `grad`, `vjp`, `jvp`, `backward`,
// a sweep past an op that densifies) do. The rule, in every mode and representation:
//
//     an entry that comes in as exactly 0 contributes exactly 0 (0 · ∞ := 0),
//
// as ForwardDiff.jl's NaN-safe mode and ChainRules' strong zeros. A nonzero entry that
// meets an infinite local derivative still gives ±inf or NaN, as in PyTorch and JAX
// (`std` of a constant row, `√(x - x)`): use JAX's `where` trick there, differentiating
// `sqrt(where(x > 0, x, 1))` and selecting afterwards. So every reverse strategy
// (one sweep per row or vectorized, in chunks, create_graph on or off, sparse, `grad`,
// `vjp`) gives the same entries, and so does every forward one. Reverse and forward mode
// agree wherever the chain-rule products are finite; where an infinity meets a nonzero
// weight they may not, because such products do not associate: in `√(x - x)` reverse
// mode adds `1·∞ - 1·∞ = NaN`, while forward mode carries the tangent `1 - 1 = 0` into
// `√` and gets 0 (the function is constant). The guard sits on the elementwise rules,
// where such derivatives live; the other rules (products, scans, linear algebra) are
// not guarded, so a zero weight times an infinite matrix entry there is still NaN. It would cost a plain sweep a scan of every rule's result,
// so a sweep first runs without it and runs again with it only when a result it delivers
// holds a NaN or inf (`with_zero_guard`): unguarded and guarded sweeps differ only in
// entries the guard turns from non-finite to 0, and a non-finite entry reaches every
// result it feeds (0 · NaN is NaN) unless a selection drops it, which drops the guard's
// 0 alike. So a finite result is the guarded one, and costs one scan of the result.

/// The contribution `part` of an incoming cotangent or tangent `incoming`, with the
/// entries where `incoming` is exactly 0 set to 0 (NOTE [zero in, zero out]).
/// `part` has `incoming`'s shape or broadcasts with it; a finite `part` is returned as
/// it is. The `where` is recorded while the sweep records (create_graph), and its
/// derivative in `part` is the same mask, so higher orders follow the rule too.
pub(crate) fn zero_in_zero_out(incoming: &Tensor, part: Tensor) -> Result<Tensor> {
    if !ZERO_GUARD.get() || all_finite(&part) {
        return Ok(part);
    }
    let zero = part.scalar_like(0.0);
    let is_zero = incoming.eq(&incoming.scalar_like(0.0))?;
    where_(&is_zero, &zero, &part)
}

thread_local! {
    /// Whether [`zero_in_zero_out`] acts on this thread: only in a sweep's second run.
    static ZERO_GUARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `sweep` without the guard of NOTE [zero in, zero out]; when `finite` says its
/// result holds a NaN or inf, run it again with the guard on (each sweep, on whatever
/// thread, decides for itself; a sweep nested in another restores the outer setting).
pub(crate) fn with_zero_guard<T>(sweep: impl Fn() -> Result<T>, finite: impl Fn(&T) -> bool) -> Result<T> {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ZERO_GUARD.set(self.0);
        }
    }
    let _restore = Restore(ZERO_GUARD.replace(false));
    let first = sweep()?;
    if finite(&first) {
        return Ok(first);
    }
    drop(first);
    ZERO_GUARD.set(true);
    sweep()
}

/// Whether no element of `t` is NaN or ±inf (integer and bool tensors always are).
pub(crate) fn all_finite(t: &Tensor) -> bool {
    use crate::dtype::Storage;
    match t.storage() {
        // a fold without an early exit: the common, finite case vectorises
        Storage::F32(a) => a.iter().fold(true, |ok, v| ok & v.is_finite()),
        Storage::F64(a) => a.iter().fold(true, |ok, v| ok & v.is_finite()),
        _ => true,
    }
}
