//! Sparse rows through one op, in both sweeps, from the op's declared structure
//! (NOTE [sparse rows] in `sparse.rs`, NOTE [declared structure] in `structure.rs`).
//!
//! Forward mode mirrors reverse mode: a tangent moves through a move by the map's
//! transpose (`Move::push` where a cotangent takes `Move::pull`), a sum maps many
//! entries to one where its VJP copied one to many, and an elementwise op applies the
//! ordinary rule to the gathered values once per input that has a tangent (its
//! Jacobian is diagonal, hence self-adjoint).

use super::product;
use super::rows::Rows;
use super::sparse::{gather, SparseRows};
use crate::error::Result;
use crate::structure::{
    broadcast_spread, concat_pull, concat_push, numel, positions_in, sum_pull, sum_push, Positions, Structure,
};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

/// The VJP of `rule` for sparse rows, or `None` when its structure has no sparse rule
/// (the sweep then densifies). A cotangent of an empty tensor is returned dense (it has
/// no element to hold an entry).
pub(super) fn vjp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    sr: &SparseRows,
    needs: &[bool],
) -> Option<Result<Vec<Option<Rows>>>> {
    let x = || inputs[0].shape();
    let grads = match rule.structure() {
        Structure::Elementwise(_) => elementwise_vjp(rule, inputs, out, sr, needs),
        Structure::Moves(m) => Ok(vec![Some(Rows::Sparse(sr.moved(x(), m.pull(x(), out.shape(), &sr.idx))?))]),
        Structure::Sum { axes, keepdim } => {
            let to = sum_pull(axes, keepdim, x(), out.shape(), &sr.idx);
            Ok(vec![Some(Rows::Sparse(sr.moved(x(), to)?))])
        }
        // each input gets the entries in its own slab of the output
        Structure::Concat { dim } => {
            let parts: Vec<usize> = inputs.iter().map(|x| x.shape()[dim]).collect();
            let mut grads = Vec::with_capacity(inputs.len());
            for (k, x) in inputs.iter().enumerate() {
                grads.push(match needs[k] {
                    true => Some(Rows::Sparse(sr.moved(x.shape(), concat_pull(dim, &parts, k, out.shape(), &sr.idx))?)),
                    false => None,
                });
            }
            Ok(grads)
        }
        Structure::Product => product::sparse_vjp(inputs, sr, needs)?,
        Structure::Unstructured(_) => return None,
    };
    Some(grads.and_then(|gs| gs.into_iter().map(|g| g.map(nonempty).transpose()).collect()))
}

/// The output tangent of `rule` for sparse input tangents (all with the same rows), or
/// `None` when its structure has no sparse rule (the sweep then densifies).
pub(super) fn jvp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<SparseRows>],
) -> Option<Result<Option<Rows>>> {
    let (x, y) = (inputs[0].shape(), out.shape());
    let t = match rule.structure() {
        Structure::Elementwise(_) => elementwise_jvp(rule, inputs, out, tangents),
        Structure::Moves(m) => {
            let sr = tangents[0].as_ref()?;
            Ok(Some(Rows::Sparse(sr.moved(y, m.push(x, y, &sr.idx))?)))
        }
        // a sum maps every entry to the output element it is added into
        Structure::Sum { axes, keepdim } => {
            let sr = tangents[0].as_ref()?;
            let idx = sum_push(axes, keepdim, x, y, &sr.idx);
            Ok(Some(Rows::Sparse(sr.with(y, idx, sr.val.clone()).merge_runs())))
        }
        // each input's entries move to its slab of the output; the parts add
        Structure::Concat { dim } => concat_jvp(dim, inputs, y, tangents),
        Structure::Product => product::sparse_jvp(inputs, out, tangents)?,
        Structure::Unstructured(_) => return None,
    };
    Some(t.and_then(|t| t.map(nonempty).transpose()))
}

/// The tangent of `cat`: each input's entries moved to its slab of the output `y`.
fn concat_jvp(dim: usize, inputs: &[Tensor], y: &[usize], tangents: &[Option<SparseRows>]) -> Result<Option<Rows>> {
    let parts: Vec<usize> = inputs.iter().map(|x| x.shape()[dim]).collect();
    let mut total: Option<SparseRows> = None;
    for (k, t) in tangents.iter().enumerate() {
        let Some(t) = t else { continue };
        let part = t.with(y, concat_push(dim, &parts, k, y, &t.idx), t.val.clone());
        total = Some(match total {
            Some(acc) => acc.plus(part)?,
            None => part,
        });
    }
    Ok(total.map(Rows::Sparse))
}

/// Sparse rows of an empty tensor as dense rows (there is no element to hold an
/// entry).
fn nonempty(g: Rows) -> Result<Rows> {
    match g {
        Rows::Sparse(sr) if numel(&sr.shape) == 0 => sr.dense().map(Rows::Dense),
        other => Ok(other),
    }
}

/// An elementwise rule on the entries' values: inputs and output gathered at the
/// entries' positions, the rule applied with batch rank 0, indices mapped to each
/// input (a broadcast input maps many output elements to one of its own).
fn elementwise_vjp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    sr: &SparseRows,
    needs: &[bool],
) -> Result<Vec<Option<Rows>>> {
    let (at, grads) = rule_at(rule, inputs, out, &sr.idx, &sr.val, needs)?;
    Ok(grads
        .into_iter()
        .zip(inputs.iter().zip(at))
        .map(|(g, (x, at))| {
            g.map(|g| {
                let moved = sr.with(x.shape(), at, g);
                Rows::Sparse(if x.shape() == out.shape() { moved } else { moved.merge_runs() })
            })
        })
        .collect())
}

/// The tangent of an elementwise op: for each input with a tangent, its entries moved
/// to the output (copied along broadcast dims) and scaled by the partial derivative at
/// their positions; the parts add up.
fn elementwise_jvp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<SparseRows>],
) -> Result<Option<Rows>> {
    let shape = out.shape();
    let mut total: Option<SparseRows> = None;
    for (k, t) in tangents.iter().enumerate() {
        let Some(t) = t else { continue };
        let at_out = if inputs[k].shape() == shape {
            t.with(shape, t.idx.clone(), t.val.clone())
        } else {
            match t.moved(shape, broadcast_spread(inputs[k].shape(), shape, &t.idx)) {
                Some(b) => b,
                None => return dense_elementwise_jvp(rule, inputs, out, tangents),
            }
        };
        let needs: Vec<bool> = (0..inputs.len()).map(|i| i == k).collect();
        let (_, parts) = rule_at(rule, inputs, out, &at_out.idx, &at_out.val, &needs)?;
        let Some(part) = parts.into_iter().nth(k).flatten() else { continue };
        let part = at_out.with(shape, at_out.idx.clone(), part.to_dtype(out.dtype())?);
        total = Some(match total {
            Some(acc) => acc.plus(part)?,
            None => part,
        });
    }
    Ok(total.map(Rows::Sparse))
}

/// The ordinary elementwise JVP on densified tangents (a broadcast too dense to copy).
fn dense_elementwise_jvp(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    tangents: &[Option<SparseRows>],
) -> Result<Option<Rows>> {
    let dense: Vec<Option<Tensor>> =
        tangents.iter().map(|t| t.as_ref().map(SparseRows::dense).transpose()).collect::<Result<_>>()?;
    let t = rule.jvp(inputs, out, &dense, 1)?;
    let rows = tangents.iter().flatten().next().map_or(0, |t| t.rows);
    let mut want = vec![rows];
    want.extend_from_slice(out.shape());
    t.map(|t| if t.shape() == want.as_slice() { Ok(Rows::Dense(t)) } else { t.expand(&want).map(Rows::Dense) })
        .transpose()
}

/// An elementwise op's VJP rule applied to values `val` at flat positions `idx` of its
/// output: the inputs (a `where` mask among them) are gathered there and the rule runs
/// with batch rank 0. Returns each input's positions of the entries and the rule's
/// results, one value per entry. (Forward mode uses it too: the rule is self-adjoint.)
fn rule_at(
    rule: &dyn Rule,
    inputs: &[Tensor],
    out: &Tensor,
    idx: &Positions,
    val: &Tensor,
    needs: &[bool],
) -> Result<(Vec<Positions>, Vec<Option<Tensor>>)> {
    let shape = out.shape();
    let Structure::Elementwise(reads) = rule.structure() else {
        return Err(crate::error::Error::graph(rule.name(), "internal: not an elementwise op"));
    };
    let unread = |x: &Tensor| Tensor::zeros(&[0], x.dtype());
    let at: Vec<Positions> = inputs.iter().map(|x| positions_in(x.shape(), shape, idx)).collect();
    let xs: Vec<Tensor> =
        inputs.iter().zip(&at).map(|(x, at)| if reads.inputs { gather(x, at) } else { unread(x) }).collect();
    let y = if reads.output { gather(out, idx) } else { unread(out) };
    let n = idx.len();
    let grads = rule
        .vjp(&xs, &y, val, 0, needs)?
        .into_iter()
        .map(|g| {
            g.map(|g| {
                let g = crate::ops::zero_in_zero_out(val, g)?; // NOTE [zero in, zero out] (ops/mod.rs)
                if g.shape() == [n] {
                    Ok(g)
                } else {
                    g.expand(&[n])?.reshape_exact(&[n])
                }
            })
            .transpose()
        })
        .collect::<Result<_>>()?;
    Ok((at, grads))
}
