//! Sparse-row tangents: forward mode's mirror of NOTE [sparse-row cotangents].
//!
//! A forward-mode Jacobian seeds the identity over the inputs; row r of the tangent is
//! column r of J, which after broadcasts, sums and slices still has few non-zeros. The
//! JVP of each index op is the transpose of its VJP map: a sum maps many entries to one
//! (the VJP copied one to many), a broadcast copies one entry to the elements it was
//! broadcast to, a slice drops the entries outside it, a permute moves entries by the
//! inverse permutation. Elementwise ops apply the ordinary rule to the gathered values,
//! once per input that has a tangent (their Jacobian is diagonal: see `forward.rs`).

use std::sync::Arc;

use super::sparse::{
    expand_entries, gathered_rows, nonempty, row_major, rule_at, slice_entries, slice_map, Affine, SparseCot,
};
use super::sparse_matmul::{product_rows, Side};
use super::structured::Cot;
use super::Op;
use crate::error::Result;
use crate::ops::index::IndexOp;
use crate::ops::matmul::MatmulOp;
use crate::ops::reduce::ReduceOp;
use crate::ops::view::ViewOp;
use crate::tensor::Tensor;

/// The output tangent of `op` for sparse input tangents (all with the same rows), or
/// None when the op has no sparse rule (the sweep then densifies).
pub(crate) fn sparse_jvp(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<SparseCot>],
) -> Option<Result<Option<Cot>>> {
    let t = sparse_jvp_rows(op, inputs, out, tangents)?;
    Some(t.and_then(|t| t.map(nonempty).transpose()))
}

fn sparse_jvp_rows(
    op: &Op,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<SparseCot>],
) -> Option<Result<Option<Cot>>> {
    if op.rule().is_elementwise() {
        return Some(elementwise(op, inputs, out, tangents));
    }
    let only = |k: usize| tangents.iter().enumerate().all(|(i, t)| (i == k) == t.is_some());
    let sc = tangents.iter().flatten().next()?;
    let x = inputs[0].shape();
    let y = out.shape();
    let moved = |idx: Arc<Vec<usize>>| Some(Ok(Some(Cot::Sparse(sc.with(y, idx, sc.val.clone())))));
    match op {
        Op::View(ViewOp::Reshape) => moved(sc.idx.clone()),
        // out.axis(i) = x.axis(perm[i]): x's axis perm[i] steps by out's stride i
        Op::View(ViewOp::Permute(perm)) => {
            let rm = row_major(y);
            let mut stride = vec![0isize; x.len()];
            for (i, &p) in perm.iter().enumerate() {
                stride[p] = rm[i] as isize;
            }
            moved(Affine { from: x.to_vec(), stride, base: 0 }.apply(&sc.idx))
        }
        Op::View(ViewOp::Expand) => broadcast(sc, x, y).map(|t| Ok(Some(Cot::Sparse(t)))),
        // a sum maps every entry to the output element it is added into
        Op::Reduce(ReduceOp::Sum { axes, keepdim }) => {
            let rm = row_major(y);
            let mut od = 0;
            let stride = (0..x.len())
                .map(|d| {
                    if axes.contains(&d) {
                        od += usize::from(*keepdim);
                        0
                    } else {
                        od += 1;
                        rm[od - 1] as isize
                    }
                })
                .collect();
            let idx = Affine { from: x.to_vec(), stride, base: 0 }.apply(&sc.idx);
            Some(Ok(Some(Cot::Sparse(sc.with(y, idx, sc.val.clone()).merge_runs()))))
        }
        Op::Index(IndexOp::Slice { items }) => Some(Ok(Some(Cot::Sparse(slice_entries(items, y, x, sc))))),
        Op::Index(IndexOp::SliceBackward { items, .. }) => moved(slice_map(items, y, x).apply(&sc.idx)),
        // y = A x with a sparse tangent of x: row r is Σ val A[:, idx]
        Op::Matmul(MatmulOp::Matmul) if inputs[0].ndim() == 2 && inputs[1].ndim() == 1 && only(1) => {
            Some(inputs[0].t().and_then(|at| gathered_rows(sc, &at)).map(|t| Some(Cot::Dense(t))))
        }
        // y = x W with a sparse tangent of x: row r is Σ val W[idx, :]
        Op::Matmul(MatmulOp::Matmul) if inputs[0].ndim() == 1 && inputs[1].ndim() == 2 && only(0) => {
            Some(gathered_rows(sc, &inputs[1]).map(|t| Some(Cot::Dense(t))))
        }
        // 2-d operands: grouped products, see sparse_matmul.rs
        Op::Matmul(MatmulOp::Matmul) => {
            let mut total: Option<SparseCot> = None;
            for (k, side) in [(0, Side::RowsOfA), (1, Side::ColumnsOfB)] {
                let Some(t) = &tangents[k] else { continue };
                let part = match product_rows(t, &inputs[0], &inputs[1], side, y)? {
                    Ok(part) => part,
                    Err(e) => return Some(Err(e)),
                };
                total = Some(match total {
                    Some(acc) => match acc.plus(part) {
                        Ok(sum) => sum,
                        Err(e) => return Some(Err(e)),
                    },
                    None => part,
                });
            }
            Some(Ok(total.map(Cot::Sparse)))
        }
        _ => None,
    }
}

/// Entries of `x` copied to every element of `out` (a broadcast of `x`, aligned on the
/// right) they were broadcast to.
fn broadcast(sc: &SparseCot, x: &[usize], out: &[usize]) -> Option<SparseCot> {
    let rm = row_major(out);
    let lead = out.len() - x.len();
    let stride = (0..x.len()).map(|d| if x[d] == out[lead + d] { rm[lead + d] as isize } else { 0 }).collect();
    let spread: Vec<(usize, usize)> =
        (0..out.len()).filter(|&d| d < lead || (x[d - lead] == 1 && out[d] != 1)).map(|d| (out[d], rm[d])).collect();
    expand_entries(sc, out, &Affine { from: x.to_vec(), stride, base: 0 }, &spread)
}

/// The tangent of an elementwise op: for each input with a tangent, its entries moved
/// to the output (copied along broadcast dims) and scaled by the partial derivative at
/// their positions; the parts add up.
fn elementwise(op: &Op, inputs: &[Tensor], out: &Tensor, tangents: &[Option<SparseCot>]) -> Result<Option<Cot>> {
    let shape = out.shape();
    let mut total: Option<SparseCot> = None;
    for (k, t) in tangents.iter().enumerate() {
        let Some(t) = t else { continue };
        let at_out = if inputs[k].shape() == shape {
            t.with(shape, t.idx.clone(), t.val.clone())
        } else {
            match broadcast(t, inputs[k].shape(), shape) {
                Some(b) => b,
                None => return dense_elementwise(op, inputs, out, tangents),
            }
        };
        let needs: Vec<bool> = (0..inputs.len()).map(|i| i == k).collect();
        let (_, parts) = rule_at(op, inputs, out, &at_out.idx, &at_out.val, &needs)?;
        let Some(part) = parts.into_iter().nth(k).flatten() else { continue };
        let part = at_out.with(shape, at_out.idx.clone(), part.to_dtype(out.dtype())?);
        total = Some(match total {
            Some(acc) => acc.plus(part)?,
            None => part,
        });
    }
    Ok(total.map(Cot::Sparse))
}

/// The ordinary elementwise JVP on densified tangents (a broadcast too dense to copy).
fn dense_elementwise(op: &Op, inputs: &[Tensor], out: &Tensor, tangents: &[Option<SparseCot>]) -> Result<Option<Cot>> {
    let dense: Vec<Option<Tensor>> =
        tangents.iter().map(|t| t.as_ref().map(SparseCot::densify).transpose()).collect::<Result<_>>()?;
    let t = op.rule().jvp(inputs, out, &dense, 1)?;
    let rows = tangents.iter().flatten().next().map_or(0, |t| t.rows);
    let mut want = vec![rows];
    want.extend_from_slice(out.shape());
    t.map(|t| if t.shape() == want.as_slice() { Ok(Cot::Dense(t)) } else { t.expand(&want).map(Cot::Dense) })
        .transpose()
}
