//! The sparsity pattern of a Jacobian, read from the recorded graph: which outputs can
//! depend on which inputs, for every input value that records the same graph (NOTE
//! [structural dependence] in `structure/dependence.rs`).
//!
//! Each tensor on the way from the inputs to the outputs gets one set of Jacobian
//! columns per element (the input elements it can depend on), pushed forward through
//! the plan: a node's element takes the union of the sets of the input elements it
//! reads, which its declared structure says (the same index maps the sparse sweeps
//! use). Sets that pass through unchanged (an elementwise op of one input, a reshape)
//! are shared, not copied, and a set is dropped once its last reader is done, so the
//! memory is a few times the pattern's own size.
//!
//! A constant operand of a matrix product (one that does not depend on the inputs)
//! contributes its nonzeros: `L @ u` with a constant stencil matrix `L` has the
//! stencil's pattern, not a dense one. Its zeros are the same for every input value,
//! so they are structural; `signature` includes them, so a cached pattern is never
//! reused for a different constant.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::reverse::Plan;
use crate::error::{Error, Result};
use crate::interrupt::checkpoint;
use crate::shape::broadcast_shapes;
use crate::structure::dependence::{self, Dependence};
use crate::structure::{concat_push, numel, offsets, positions_in, sum_pull, Mapped, Positions, Structure};
use crate::tensor::Tensor;

/// One set of columns per element, CSR: element e's columns are
/// `cols[ptr[e]..ptr[e + 1]]`, sorted and unique.
struct Sets {
    ptr: Vec<usize>,
    cols: Vec<usize>,
}

impl Sets {
    fn row(&self, e: usize) -> &[usize] {
        &self.cols[self.ptr[e]..self.ptr[e + 1]]
    }
}

/// Most entries one tensor's sets may hold (2^28: 2 GiB of indices) before the
/// pattern is declared too dense to be worth it.
const MOST_ENTRIES: usize = 1 << 28;

/// Builds sets row by row: a row is the union of the rows `add` is given, deduplicated
/// by stamping each column with the row being built (no clearing between rows).
struct Unions {
    mark: Vec<usize>,
    stamp: usize,
    /// Identity positions `0..n` by `n`, made once per pass (the index maps take the
    /// positions they map, and most maps are asked for every element).
    alls: std::collections::HashMap<usize, Positions>,
}

/// The row being built.
struct Row<'a> {
    cols: &'a mut Vec<usize>,
    mark: &'a mut [usize],
    stamp: usize,
    /// Where the row starts in `cols`.
    start: usize,
    /// Whether its entries are still in order (they are after one `add`, and after a
    /// merge; appends of further rows may break the order, and then it is sorted once
    /// at the end).
    sorted: bool,
}

impl Row<'_> {
    /// Unite `cols` (sorted, unique) into the row.
    fn add(&mut self, cols: &[usize]) {
        let here = self.cols.len() - self.start;
        if here == 0 {
            self.cols.extend_from_slice(cols);
        } else if self.sorted && cols.first().is_some_and(|&c| c > self.cols[self.cols.len() - 1]) {
            // after everything already here: still in order
            self.cols.extend(cols.iter().filter(|&&c| self.mark[c] != self.stamp));
        } else if self.sorted && here + cols.len() <= 64 {
            self.merge(cols);
        } else {
            self.sorted = false;
            self.cols.extend(cols.iter().filter(|&&c| self.mark[c] != self.stamp));
        }
        cols.iter().for_each(|&c| self.mark[c] = self.stamp);
    }

    /// Merge sorted `cols` into the sorted row, dropping repeats (short rows: a merge
    /// beats an append and a sort).
    fn merge(&mut self, cols: &[usize]) {
        let mut merged: [usize; 64] = [0; 64];
        let (old, mut n) = (&self.cols[self.start..], 0);
        let (mut a, mut b) = (0, 0);
        while a < old.len() || b < cols.len() {
            let next = match (old.get(a), cols.get(b)) {
                (Some(&x), Some(&y)) if x == y => {
                    a += 1;
                    b += 1;
                    x
                }
                (Some(&x), Some(&y)) if x < y => {
                    a += 1;
                    x
                }
                (Some(&x), None) => {
                    a += 1;
                    x
                }
                (_, Some(&y)) => {
                    b += 1;
                    y
                }
                (None, None) => break,
            };
            merged[n] = next;
            n += 1;
        }
        self.cols.truncate(self.start);
        self.cols.extend_from_slice(&merged[..n]);
    }
}

impl Unions {
    fn new(columns: usize) -> Unions {
        Unions { mark: vec![0; columns], stamp: 0, alls: Default::default() }
    }

    fn all(&mut self, n: usize) -> Positions {
        self.alls.entry(n).or_insert_with(|| Arc::new((0..n).collect())).clone()
    }

    /// Sets for `rows` elements, element e's made by `fill(e, row)`.
    fn build(&mut self, rows: usize, fill: impl FnMut(usize, &mut Row<'_>)) -> Result<Arc<Sets>> {
        self.build_sized(rows, rows, fill)
    }

    /// `build`, with room for `hint` entries made at once (growing a large vector by
    /// doubling copies it and touches fresh pages each time).
    fn build_sized(
        &mut self,
        rows: usize,
        hint: usize,
        mut fill: impl FnMut(usize, &mut Row<'_>),
    ) -> Result<Arc<Sets>> {
        let mut ptr = Vec::with_capacity(rows + 1);
        let mut cols = Vec::with_capacity(hint.max(rows));
        ptr.push(0);
        for e in 0..rows {
            self.stamp += 1;
            let start = cols.len();
            let mut row = Row { cols: &mut cols, mark: &mut self.mark, stamp: self.stamp, start, sorted: true };
            fill(e, &mut row);
            if !row.sorted {
                cols[start..].sort_unstable();
            }
            ptr.push(cols.len());
            if e % 4096 == 4095 {
                checkpoint("sparsity")?;
                if cols.len() > MOST_ENTRIES {
                    return Err(Error::argument(
                        "sparsity",
                        format!(
                            "the pattern has more than {MOST_ENTRIES} entries in one intermediate tensor: the \
                             Jacobian is not sparse; use the dense jacobian"
                        ),
                    ));
                }
            }
        }
        Ok(Arc::new(Sets { ptr, cols }))
    }

    /// Sets read through a map of one input: element e takes what `mapped` sends it.
    fn through(&mut self, sets: &Arc<Sets>, mapped: &Mapped, rows: usize) -> Result<Arc<Sets>> {
        match mapped {
            Mapped::Each(idx) if idx.len() == rows && sets.ptr.len() == rows + 1 && is_identity(idx) => {
                Ok(sets.clone())
            }
            Mapped::Each(idx) => self.build_sized(rows, sets.cols.len(), |e, row| row.add(sets.row(idx[e]))),
            Mapped::Kept { keep, idx } => self.build_sized(rows, sets.cols.len(), |e, row| {
                if keep[e] {
                    row.add(sets.row(idx[e]))
                }
            }),
            Mapped::Spread { base, blocks } => {
                let offs = offsets(blocks);
                self.build_sized(rows, sets.cols.len(), |e, row| {
                    offs.iter().for_each(|&o| row.add(sets.row(base[e] + o)))
                })
            }
        }
    }
}

fn is_identity(idx: &Positions) -> bool {
    idx.iter().enumerate().all(|(e, &i)| e == i)
}

fn all(n: usize) -> Positions {
    Arc::new((0..n).collect())
}

/// The structural pattern of the Jacobian of `outputs` with respect to `inputs`, CSR
/// `(indptr, indices)`: rows are the outputs' elements stacked in order, columns the
/// inputs' elements stacked in order; each row's columns sorted. `plan` runs from the
/// outputs that require grad to the inputs.
pub fn jacobian_pattern(plan: &Plan, outputs: &[Tensor], inputs: &[Tensor]) -> Result<(Vec<usize>, Vec<usize>)> {
    let starts: Vec<usize> = inputs.iter().scan(0, |acc, x| Some(std::mem::replace(acc, *acc + x.numel()))).collect();
    let columns: usize = inputs.iter().map(Tensor::numel).sum();
    let mut unions = Unions::new(columns);
    let steps = &plan.steps;
    // readers left per slot, so a set is dropped after its last reader
    let mut readers = vec![0usize; steps.len()];
    for step in steps {
        for s in step.input_slots.iter().flatten() {
            readers[*s] += 1;
        }
    }
    for s in plan.root_slots.iter().flatten() {
        readers[*s] += 1;
    }
    let mut sets: Vec<Option<Arc<Sets>>> = vec![None; steps.len()];
    for i in (0..steps.len()).rev() {
        let step = &steps[i];
        let n = step.tensor.numel();
        sets[i] = Some(if !plan.delivers[i].is_empty() {
            // an input: element e is column start + e (of every input it stands for)
            let ks = &plan.delivers[i];
            unions.build(n, |e, row| ks.iter().for_each(|&k| row.add(&[starts[k] + e])))?
        } else {
            let node = step.tensor.node().ok_or_else(|| Error::graph("sparsity", "a leaf that is no input"))?;
            let ins: Vec<Option<Arc<Sets>>> =
                step.input_slots.iter().map(|s| s.and_then(|s| sets[s].clone())).collect();
            let made = node_sets(&mut unions, node.op.structure(), &node.inputs, &step.tensor, &ins)?;
            for s in step.input_slots.iter().flatten() {
                readers[*s] -= 1;
                if readers[*s] == 0 {
                    sets[*s] = None;
                }
            }
            made
        });
    }
    let mut indptr = vec![0usize];
    let mut indices = Vec::new();
    let mut live_slots = plan.root_slots.iter();
    for o in outputs {
        let slot = if o.requires_grad() { live_slots.next().copied().flatten() } else { None };
        match slot.and_then(|s| sets[s].as_ref()) {
            Some(s) => {
                indices.extend_from_slice(&s.cols);
                let base = *indptr.last().unwrap_or(&0);
                indptr.extend(s.ptr[1..].iter().map(|p| base + p));
            }
            None => indptr.extend(std::iter::repeat_n(indices.len(), o.numel())),
        }
    }
    Ok((indptr, indices))
}

/// The sets of a node's output from its inputs' (`None` for an input that does not
/// depend on the Jacobian's inputs), by the structure its op declares.
fn node_sets(
    u: &mut Unions,
    structure: Structure<'_>,
    inputs: &[Tensor],
    out: &Tensor,
    ins: &[Option<Arc<Sets>>],
) -> Result<Arc<Sets>> {
    let (o, rows) = (out.shape(), out.numel());
    let x = |k: usize| inputs[k].shape();
    let live: Vec<(usize, &Arc<Sets>)> =
        ins.iter().enumerate().filter_map(|(k, s)| s.as_ref().map(|s| (k, s))).collect();
    let first =
        || live.first().map(|&(_, s)| s.clone()).ok_or_else(|| Error::graph("sparsity", "a node with no live input"));
    match structure {
        Structure::Elementwise(_) => {
            let every = u.all(rows);
            if let [(k, s)] = live[..] {
                return u.through(s, &Mapped::Each(positions_in(x(k), o, &every)), rows);
            }
            let maps: Vec<(Positions, &Arc<Sets>)> =
                live.iter().map(|&(k, s)| (positions_in(x(k), o, &every), s)).collect();
            let hint = live.iter().map(|(_, s)| s.cols.len()).sum();
            u.build_sized(rows, hint, |e, row| maps.iter().for_each(|(m, s)| row.add(s.row(m[e]))))
        }
        Structure::Moves(mv) => {
            let every = u.all(rows);
            u.through(&first()?, &mv.pull(x(0), o, &every), rows)
        }
        Structure::Sum { axes, keepdim } => {
            let every = u.all(rows);
            u.through(&first()?, &sum_pull(axes, keepdim, x(0), o, &every), rows)
        }
        Structure::Concat { dim } => {
            // each output element is one input's element: a table of (input, element)
            let parts: Vec<usize> = inputs.iter().map(|t| t.shape()[dim]).collect();
            let mut source = vec![(usize::MAX, 0usize); rows];
            for &(k, _) in &live {
                let every = u.all(inputs[k].numel());
                for (f, &e) in concat_push(dim, &parts, k, o, &every).iter().enumerate() {
                    source[e] = (k, f);
                }
            }
            let hint = live.iter().map(|(_, s)| s.cols.len()).sum();
            u.build_sized(rows, hint, |e, row| {
                let (k, f) = source[e];
                if let Some(s) = ins.get(k).and_then(Option::as_ref) {
                    row.add(s.row(f))
                }
            })
        }
        Structure::Product => product_sets(u, inputs, out, ins),
        Structure::Unstructured(dep) => dependence_sets(u, dep, inputs, out, &live),
    }
}

/// The sets of an unstructured op's output, by its declared dependence.
fn dependence_sets(
    u: &mut Unions,
    dep: Dependence<'_>,
    inputs: &[Tensor],
    out: &Tensor,
    live: &[(usize, &Arc<Sets>)],
) -> Result<Arc<Sets>> {
    let (o, rows) = (out.shape(), out.numel());
    let x0 = || inputs[0].shape();
    let first =
        || live.first().map(|&(_, s)| s.clone()).ok_or_else(|| Error::graph("sparsity", "a node with no live input"));
    match dep {
        Dependence::All => {
            let whole = u.build(1, |_, row| live.iter().for_each(|(_, s)| row.add(&s.cols)))?;
            u.build(rows, |_, row| row.add(whole.row(0)))
        }
        Dependence::Blocks { axes, keepdim } => {
            u.through(&first()?, &sum_pull(axes, keepdim, x0(), o, &all(rows)), rows)
        }
        Dependence::Lines { axis } => {
            let (line_of, spread) = dependence::lines(axis, x0());
            let lines = u.through(&first()?, &spread, line_of.iter().max().map_or(0, |m| m + 1))?;
            u.through(&lines, &Mapped::Each(line_of), rows)
        }
        Dependence::Prefix { axis, reverse } => {
            let (_, len, inner) = dependence::around(axis, o);
            let maps: Vec<(Positions, &Arc<Sets>)> =
                live.iter().map(|&(k, s)| (positions_in(inputs[k].shape(), o, &all(rows)), s)).collect();
            u.build(rows, |e, row| {
                let (a, c, r) = (e / (len * inner), (e / inner) % len, e % inner);
                let range = if reverse { c..len } else { 0..c + 1 };
                for c2 in range {
                    let e2 = (a * len + c2) * inner + r;
                    maps.iter().for_each(|(m, s)| row.add(s.row(m[e2])));
                }
            })
        }
        Dependence::Take { pos, full, part } => {
            u.through(&first()?, &Mapped::Each(dependence::take_pull(pos, full, part, o)), rows)
        }
        Dependence::Put { pos, full, part } => {
            let src = dependence::put_sources(pos, full, part, o);
            let s = first()?;
            u.build(rows, |e, row| src.idx[src.ptr[e]..src.ptr[e + 1]].iter().for_each(|&f| row.add(s.row(f))))
        }
        Dependence::Matrices { out_dims } => {
            let out_batch = &o[..o.len() - out_dims];
            let per = numel(&o[o.len() - out_dims..]);
            let maps = live
                .iter()
                .map(|&(k, s)| {
                    let xs = inputs[k].shape();
                    let (batch, nd) = (&xs[..xs.len() - 2], xs.len());
                    let whole =
                        u.through(s, &sum_pull(&[nd - 2, nd - 1], false, xs, batch, &all(numel(batch))), numel(batch))?;
                    Ok((positions_in(batch, out_batch, &all(numel(out_batch))), whole))
                })
                .collect::<Result<Vec<_>>>()?;
            u.build(rows, |e, row| maps.iter().for_each(|(m, s)| row.add(s.row(m[e / per.max(1)]))))
        }
        Dependence::Diagonal { offset, dim1, dim2 } => {
            u.through(&first()?, &Mapped::Each(dependence::diagonal_pull(offset, dim1, dim2, x0())), rows)
        }
        Dependence::DiagEmbed { offset, dim1, dim2 } => {
            u.through(&first()?, &dependence::diag_embed_pull(offset, dim1, dim2, o), rows)
        }
        Dependence::Triangle { upper, k } => u.through(&first()?, &dependence::triangle_pull(upper, k, o), rows),
    }
}

/// `A @ B` as batches of `(m, k) @ (k, p)` (a vector operand as one row or column).
struct Product {
    m: usize,
    k: usize,
    p: usize,
    /// Each output batch's batch in A and in B (batch dims broadcast).
    in_a: Positions,
    in_b: Positions,
}

impl Product {
    fn of(a: &[usize], b: &[usize]) -> Result<Product> {
        let a2: Vec<usize> = if a.len() == 1 { vec![1, a[0]] } else { a.to_vec() };
        let b2: Vec<usize> = if b.len() == 1 { vec![b[0], 1] } else { b.to_vec() };
        let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
        let batch = broadcast_shapes("sparsity", ba, bb)?;
        let nb = numel(&batch);
        Ok(Product {
            m: a2[a2.len() - 2],
            k: a2[a2.len() - 1],
            p: b2[b2.len() - 1],
            in_a: positions_in(ba, &batch, &all(nb)),
            in_b: positions_in(bb, &batch, &all(nb)),
        })
    }
}

/// The sets of a matrix product: `out[i, j]` reads row i of A and column j of B. A
/// constant operand's zeros are structural (module doc): then `out[i, j]` reads only
/// the `B[l, j]` with `A[i, l] != 0` (or the `A[i, l]` with `B[l, j] != 0`).
fn product_sets(u: &mut Unions, inputs: &[Tensor], out: &Tensor, ins: &[Option<Arc<Sets>>]) -> Result<Arc<Sets>> {
    let pr = Product::of(inputs[0].shape(), inputs[1].shape())?;
    let Product { m, k, p, .. } = pr;
    let rows = out.numel();
    let (batch, i, j) = (|e: usize| e / (m * p), |e: usize| (e / p) % m, |e: usize| e % p);
    match (&ins[0], &ins[1]) {
        (Some(a), Some(b)) => {
            // row unions of A over (batch, i), column unions of B over (batch, j)
            let nba = a.ptr.len().saturating_sub(1) / (m * k).max(1);
            let nbb = b.ptr.len().saturating_sub(1) / (k * p).max(1);
            let a_rows = u.build(nba * m, |r, row| (0..k).for_each(|l| row.add(a.row(r * k + l))))?;
            let b_cols = u.build(nbb * p, |c, row| {
                let (bb, jj) = (c / p.max(1), c % p.max(1));
                (0..k).for_each(|l| row.add(b.row((bb * k + l) * p + jj)))
            })?;
            u.build(rows, |e, row| {
                row.add(a_rows.row(pr.in_a[batch(e)] * m + i(e)));
                row.add(b_cols.row(pr.in_b[batch(e)] * p + j(e)));
            })
        }
        (Some(a), None) => {
            let bv = inputs[1].to_f64_vec();
            u.build(rows, |e, row| {
                let (ba, bb) = (pr.in_a[batch(e)], pr.in_b[batch(e)]);
                for l in (0..k).filter(|&l| bv[(bb * k + l) * p + j(e)] != 0.0) {
                    row.add(a.row((ba * m + i(e)) * k + l));
                }
            })
        }
        (None, Some(b)) => {
            let av = inputs[0].to_f64_vec();
            u.build(rows, |e, row| {
                let (ba, bb) = (pr.in_a[batch(e)], pr.in_b[batch(e)]);
                for l in (0..k).filter(|&l| av[(ba * m + i(e)) * k + l] != 0.0) {
                    row.add(b.row((bb * k + l) * p + j(e)));
                }
            })
        }
        (None, None) => Err(Error::graph("sparsity", "a product with no live operand")),
    }
}

/// Writes every hashed word into a vector: an exact key, with no collisions to fear.
struct Words(Vec<u64>);

impl Hasher for Words {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend(bytes.iter().map(|&b| u64::from(b)));
    }
    fn write_u64(&mut self, n: u64) {
        self.0.push(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.0.push(n as u64);
    }
    fn write_isize(&mut self, n: isize) {
        self.0.push(n as u64);
    }
    fn finish(&self) -> u64 {
        0
    }
}

/// Everything `jacobian_pattern` reads, as words: the plan's shape (which slot reads
/// which), every node's declared structure and shapes, the constant operands of
/// products (their nonzeros), and which outputs are live. Two graphs with equal
/// signatures have equal patterns, so a pattern can be cached under its signature.
/// `plan` runs from the outputs that require grad to the inputs.
pub fn signature(plan: &Plan, outputs: &[Tensor], inputs: &[Tensor]) -> Vec<u64> {
    let mut w = Words(Vec::with_capacity(16 * plan.steps.len()));
    inputs.iter().for_each(|x| x.shape().hash(&mut w));
    outputs.iter().for_each(|o| (o.requires_grad(), o.shape()).hash(&mut w));
    plan.root_slots.hash(&mut w);
    for (i, step) in plan.steps.iter().enumerate() {
        (i, step.tensor.shape(), &plan.delivers[i], &step.input_slots).hash(&mut w);
        if !plan.delivers[i].is_empty() {
            continue;
        }
        if let Some(node) = step.tensor.node() {
            let structure = node.op.structure();
            structure.hash(&mut w);
            node.inputs.iter().for_each(|t| t.shape().hash(&mut w));
            if let Structure::Product = structure {
                for (t, slot) in node.inputs.iter().zip(&step.input_slots) {
                    if slot.is_none() {
                        t.to_f64_vec().iter().map(|&v| v != 0.0).collect::<Vec<bool>>().hash(&mut w);
                    }
                }
            }
        }
    }
    w.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    fn leaf(n: usize) -> Tensor {
        let t = Tensor::from_vec((0..n).map(|i| i as f64 + 1.0).collect(), &[n], DType::F64).unwrap();
        t.set_requires_grad(true).unwrap();
        t
    }

    #[test]
    fn a_stencil_of_slices_and_cat_is_tridiagonal() {
        let u = leaf(5);
        let z = Tensor::zeros(&[1], DType::F64);
        let left = Tensor::cat(&[z.clone(), u.narrow(0, 0, 4).unwrap()], 0).unwrap();
        let right = Tensor::cat(&[u.narrow(0, 1, 4).unwrap(), z], 0).unwrap();
        let f = left.add(&right).unwrap().add(&u.mul(&u).unwrap()).unwrap();
        let (indptr, indices) =
            jacobian_pattern(&Plan::new(std::slice::from_ref(&f), std::slice::from_ref(&u)), &[f], &[u]).unwrap();
        assert_eq!(indptr, vec![0, 2, 5, 8, 11, 13]);
        assert_eq!(indices, vec![0, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4]);
    }

    #[test]
    fn a_constant_matrix_contributes_its_nonzeros() {
        let u = leaf(3);
        let l = Tensor::from_vec(vec![2.0, -1.0, 0.0, -1.0, 2.0, -1.0, 0.0, -1.0, 2.0], &[3, 3], DType::F64).unwrap();
        let f = l.matmul(&u).unwrap();
        let plan = |f: &Tensor| Plan::new(std::slice::from_ref(f), std::slice::from_ref(&u));
        let (indptr, indices) =
            jacobian_pattern(&plan(&f), std::slice::from_ref(&f), std::slice::from_ref(&u)).unwrap();
        assert_eq!(indptr, vec![0, 2, 5, 7]);
        assert_eq!(indices, vec![0, 1, 0, 1, 2, 1, 2]);
        // a different constant is a different signature
        let l2 = Tensor::ones(&[3, 3], DType::F64);
        let f2 = l2.matmul(&u).unwrap();
        assert_ne!(signature(&plan(&f), &[f], std::slice::from_ref(&u)), signature(&plan(&f2), &[f2], &[u]));
    }
}
