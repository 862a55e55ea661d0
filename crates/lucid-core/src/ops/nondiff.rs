//! Values computed from tensors that carry no derivative: comparisons, arg-extremes,
//! argsort, float tests, casts from integer or bool, the sign of a determinant, and
//! `detach`. Outside a tape's recording they are plain tensors; while one records they
//! keep a node (which never requires grad, so no sweep visits it) for replay to
//! recompute them (NOTE [tape recording] in `tensor/recording.rs`). Each op's forward
//! stays in its own family; this family only names them for replay.

use crate::dtype::{DType, Storage};
use crate::error::Result;
use crate::structure::{Dependence, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
/// An elementwise comparison, giving a bool tensor.
pub enum Comparison {
    /// `a == b`.
    Eq,
    /// `a != b`.
    Ne,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
/// An elementwise test of float values, giving a bool tensor.
pub enum FloatTest {
    /// `isnan`.
    IsNan,
    /// `isfinite`: neither NaN nor infinite.
    IsFinite,
    /// `isinf`: +∞ or -∞.
    IsInf,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
/// Values computed from tensors that carry no derivative (comparisons, indices,
/// casts from integers): recorded only while a tape records, so that a replay
/// recomputes them; their VJP and JVP are absent.
pub enum NondiffOp {
    /// A copy of the input's value, outside the graph.
    Detach,
    /// An elementwise comparison of two inputs.
    Compare(Comparison),
    /// The index of the first largest (`max`) or smallest element of each lane along
    /// `axis` (of the already flattened input, for the all-elements form).
    ArgExtreme {
        /// The dim searched (non-negative).
        axis: usize,
        /// Keep `axis` as a dim of size 1.
        keep: bool,
        /// `argmax` when true, `argmin` otherwise.
        max: bool,
    },
    /// The int64 indices that sort each lane along `dim` (stable, NaN last ascending).
    Argsort {
        /// The dim sorted along (negative counts from the end).
        dim: isize,
        /// Largest first.
        descending: bool,
    },
    /// An elementwise test of a float input.
    Test(FloatTest),
    /// A conversion from an integer or bool dtype (to the recorded output dtype).
    Cast,
    /// The sign of `det A` (the non-differentiable half of `slogdet`).
    SlogdetSign,
}

impl Rule for NondiffOp {
    // Comparisons, tests and casts are elementwise; arg-extremes and argsort shift
    // their dim; the determinant's sign already takes batches of matrices.
    fn batch(&self, inputs: &[Tensor], batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        use crate::tensor::graph::{elementwise, shift};
        match *self {
            NondiffOp::Detach | NondiffOp::SlogdetSign => self.replay(inputs, shape, dtype).map(Some),
            NondiffOp::Compare(_) | NondiffOp::Test(_) | NondiffOp::Cast => {
                elementwise(self, inputs, batched, shape, dtype)
            }
            NondiffOp::ArgExtreme { axis, keep, max } => {
                NondiffOp::ArgExtreme { axis: axis + 1, keep, max }.replay(inputs, shape, dtype).map(Some)
            }
            NondiffOp::Argsort { dim, descending } => {
                NondiffOp::Argsort { dim: shift(dim), descending }.replay(inputs, shape, dtype).map(Some)
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            NondiffOp::Detach => "detach",
            NondiffOp::Compare(_) => "compare",
            NondiffOp::ArgExtreme { max: true, .. } => "argmax",
            NondiffOp::ArgExtreme { max: false, .. } => "argmin",
            NondiffOp::Argsort { .. } => "argsort",
            NondiffOp::Test(_) => "float_test",
            NondiffOp::Cast => "cast",
            NondiffOp::SlogdetSign => "slogdet_sign",
        }
    }

    // never reached by a sweep (the node never requires grad)
    fn structure(&self) -> Structure<'_> {
        Structure::Unstructured(Dependence::All)
    }

    fn vjp(&self, inputs: &[Tensor], _: &Tensor, _: &Tensor, _: usize, _: &[bool]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![None; inputs.len()])
    }

    fn jvp(&self, _: &[Tensor], _: &Tensor, _: &[Option<Tensor>], _: usize) -> Result<Option<Tensor>> {
        Ok(None)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], dtype: DType) -> Result<Tensor> {
        let x = &inputs[0];
        match *self {
            NondiffOp::Detach => Ok(x.detach()),
            NondiffOp::Compare(c) => {
                let y = &inputs[1];
                match c {
                    Comparison::Eq => x.eq(y),
                    Comparison::Ne => x.ne(y),
                    Comparison::Lt => x.lt(y),
                    Comparison::Le => x.le(y),
                    Comparison::Gt => x.gt(y),
                    Comparison::Ge => x.ge(y),
                }
            }
            NondiffOp::ArgExtreme { axis, keep, max } => crate::ops::reduce::arg_lanes(x, axis, keep, max),
            NondiffOp::Argsort { dim, descending } => x.argsort(dim, descending),
            NondiffOp::Test(FloatTest::IsNan) => x.isnan(),
            NondiffOp::Test(FloatTest::IsFinite) => x.isfinite(),
            NondiffOp::Test(FloatTest::IsInf) => x.isinf(),
            NondiffOp::Cast => x.to_dtype(dtype),
            NondiffOp::SlogdetSign => Ok(x.slogdet()?.0),
        }
    }
}

impl Tensor {
    /// A new leaf sharing this tensor's data, outside any graph.
    pub fn detach(&self) -> Tensor {
        // while a tape records, its value still follows the inputs: replay recomputes it
        Tensor::from_nondiff(self.storage().clone(), NondiffOp::Detach, vec![self.clone()])
    }
}

// Constructors the families call where they compute these values (the variants stay
// named here only).

pub(crate) fn compared(data: Storage, c: Comparison, a: Tensor, b: Tensor) -> Tensor {
    Tensor::from_nondiff(data, NondiffOp::Compare(c), vec![a, b])
}

pub(crate) fn arg_extreme(data: Storage, axis: usize, keep: bool, max: bool, x: &Tensor) -> Tensor {
    Tensor::from_nondiff(data, NondiffOp::ArgExtreme { axis, keep, max }, vec![x.clone()])
}

pub(crate) fn argsorted(data: Storage, dim: isize, descending: bool, x: &Tensor) -> Tensor {
    Tensor::from_nondiff(data, NondiffOp::Argsort { dim, descending }, vec![x.clone()])
}

pub(crate) fn tested(data: Storage, test: FloatTest, x: &Tensor) -> Tensor {
    Tensor::from_nondiff(data, NondiffOp::Test(test), vec![x.clone()])
}

/// `data` converted from `x`, an integer or bool tensor.
pub(crate) fn cast(data: Storage, x: &Tensor) -> Tensor {
    Tensor::from_nondiff(data, NondiffOp::Cast, vec![x.clone()])
}

pub(crate) fn slogdet_sign(data: Storage, a: &Tensor) -> Tensor {
    Tensor::from_nondiff(data, NondiffOp::SlogdetSign, vec![a.clone()])
}
