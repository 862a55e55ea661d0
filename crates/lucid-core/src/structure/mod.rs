//! What an op does to element positions, declared by each op family beside its
//! forward and read by everything that follows elements rather than values: the
//! diagonal and sparse-row representations of the sweeps (`autograd::rows`) and the
//! sparsity pattern of a Jacobian (`autograd::pattern`). Pure index arithmetic: no
//! tensors.
//!
//! NOTE [declared structure]: a family does not write one rule per representation
//! (diagonal VJP, diagonal JVP, sparse VJP, sparse JVP, pattern). It says once which
//! kind of op it is: elementwise, a move of elements (reshape, permute, broadcast, a
//! window and its adjoint), a sum, a join, a matrix product, or unstructured (with
//! which input elements each output element reads, `dependence.rs`). The move's
//! index maps are here, in both directions ([`Move::pull`] from output to input for
//! cotangents, [`Move::push`] from input to output for tangents); the sweeps apply
//! them to whichever representation they carry. An op that declares `Unstructured`
//! gets the dense rules, and says why in its own file: no catch-all elsewhere.

use std::sync::Arc;

pub mod dependence;

pub use dependence::Dependence;

/// How an op's output elements depend on its inputs' elements.
#[derive(Clone, Copy, Debug, Hash)]
pub enum Structure<'a> {
    /// Output element `e` reads only the element at `e`'s broadcast position of each
    /// input: the Jacobian of each input is diagonal before broadcasting, and the VJP
    /// rule is elementwise in the cotangent (it also serves as the JVP rule). `Reads`
    /// says which operands that rule reads.
    Elementwise(Reads),
    /// The output is input 0's elements moved (a linear map of positions, no values).
    Moves(Move<'a>),
    /// The output sums input 0 over `axes` (sorted, non-negative).
    Sum {
        /// The summed dims (sorted, non-negative).
        axes: &'a [usize],
        /// Whether the summed dims are kept with size 1.
        keepdim: bool,
    },
    /// The inputs joined along `dim` of the output (`cat`): each output element is one
    /// input's element, moved.
    Concat {
        /// The dim of the output the inputs are joined along.
        dim: usize,
    },
    /// `inputs[0] @ inputs[1]` with NumPy's matmul semantics.
    Product,
    /// None of the above: the sweeps densify and run the op's dense rules. The
    /// [`Dependence`] still says which input elements each output element reads, for
    /// the sparsity pattern of a Jacobian.
    Unstructured(Dependence<'a>),
}

/// The operands an elementwise rule reads: the sparse sweep gathers only those at its
/// entries and passes an empty tensor for the others, so a wrong answer here is a
/// shape error, never a wrong value.
#[derive(Debug, Clone, Copy, Hash)]
pub struct Reads {
    /// The rule reads the op's inputs.
    pub inputs: bool,
    /// The rule reads the op's output (`exp`: `g * out`).
    pub output: bool,
}

impl Reads {
    /// The rule reads the inputs and the output.
    pub const ALL: Reads = Reads { inputs: true, output: true };
    /// The rule reads only the inputs.
    pub const INPUTS: Reads = Reads { inputs: true, output: false };
    /// The rule reads neither (a constant derivative: `add`, `neg`).
    pub const NOTHING: Reads = Reads { inputs: false, output: false };
}

/// A move of elements from input 0 (shape `x`) to the output (shape `out`).
#[derive(Clone, Copy, Debug, Hash)]
pub enum Move<'a> {
    /// Same elements in the same row-major order.
    Reshape,
    /// `out.axis(i) = x.axis(perm[i])`.
    Permute(&'a [usize]),
    /// `out` is `x` broadcast (aligned on the right).
    Broadcast,
    /// `out = x[items]`: the items act on x's trailing dims, leading dims pass through.
    Window(&'a [Resolved]),
    /// `out` is zeros with `x` written at `[items]` of its trailing dims (the adjoint of
    /// a window).
    Embed(&'a [Resolved]),
}

/// An index entry resolved against a shape: in range, Python slice semantics applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Resolved {
    /// One entry of the dim, which the result drops.
    Index(usize),
    /// `len` elements `start, start + step, …`
    Range {
        /// The first entry.
        start: usize,
        /// The stride between entries (negative walks backwards; never 0).
        step: isize,
        /// The number of entries.
        len: usize,
    },
    /// A new dim of size 1.
    NewAxis,
}

/// Flat element indices of a tensor, one per entry (shared between representations).
pub type Positions = Arc<Vec<usize>>;

/// Where a list of entries (flat indices into one tensor) lands in another.
pub enum Mapped {
    /// Entry j lands on `idx[j]` (shared, not copied, when the map is the identity).
    Each(Positions),
    /// Entry j lands on `idx[j]` where `keep[j]`; the others fall outside and drop.
    Kept {
        /// Whether entry j lands inside.
        keep: Vec<bool>,
        /// Where entry j lands (meaningless where `keep[j]` is false).
        idx: Vec<usize>,
    },
    /// Entry j is copied to `base[j] + Σ c_d step_d` for every `c_d < size_d` of
    /// `blocks = [(size_d, step_d)]` (one element to a block of elements).
    Spread {
        /// The first element each entry lands on.
        base: Positions,
        /// `(size_d, step_d)` of each spread dim.
        blocks: Vec<(usize, usize)>,
    },
}

/// The number of copies a spread makes of each entry.
pub fn copies(blocks: &[(usize, usize)]) -> usize {
    blocks.iter().map(|&(size, _)| size).product()
}

/// Every `Σ c_d step_d` for `c_d < size_d` of `blocks`, in row-major order of the `c`.
pub fn offsets(blocks: &[(usize, usize)]) -> Vec<usize> {
    let mut offsets = vec![0usize];
    for &(size, step) in blocks {
        offsets = offsets.iter().flat_map(|&o| (0..size).map(move |c| o + c * step)).collect();
    }
    offsets
}

impl Move<'_> {
    /// Entries of the output (flat `idx` over `out`) moved to input 0 (shape `x`):
    /// how a cotangent travels back through the move.
    pub fn pull(&self, x: &[usize], out: &[usize], idx: &Positions) -> Mapped {
        match *self {
            Move::Reshape => Mapped::Each(idx.clone()),
            Move::Permute(perm) => {
                let rm = row_major(x);
                let stride = perm.iter().map(|&p| rm[p] as isize).collect();
                Mapped::Each(Affine { from: out.to_vec(), stride, base: 0 }.apply(idx))
            }
            Move::Broadcast => Mapped::Each(Affine::unbroadcast(out, x).apply(idx)),
            Move::Window(items) => Mapped::Each(window_map(items, x, out).apply(idx)),
            Move::Embed(items) => window_inverse(items, x, out, idx),
        }
    }

    /// Entries of input 0 (flat `idx` over `x`) moved to the output: how a tangent
    /// travels forward through the move (the transpose of [`Move::pull`]).
    pub fn push(&self, x: &[usize], out: &[usize], idx: &Positions) -> Mapped {
        match *self {
            Move::Reshape => Mapped::Each(idx.clone()),
            // x's axis perm[i] steps by out's stride i
            Move::Permute(perm) => {
                let rm = row_major(out);
                let mut stride = vec![0isize; x.len()];
                for (i, &p) in perm.iter().enumerate() {
                    stride[p] = rm[i] as isize;
                }
                Mapped::Each(Affine { from: x.to_vec(), stride, base: 0 }.apply(idx))
            }
            Move::Broadcast => broadcast_spread(x, out, idx),
            Move::Window(items) => window_inverse(items, out, x, idx),
            Move::Embed(items) => Mapped::Each(window_map(items, out, x).apply(idx)),
        }
    }
}

/// Where input `k` of `cat` along `dim` sits in the output `out`: the elements after
/// `dim` (`inner`), the output's and the input's sizes along `dim`, and the input's
/// first index there.
struct Slab {
    inner: usize,
    whole: usize,
    len: usize,
    start: usize,
}

impl Slab {
    fn of(dim: usize, parts: &[usize], k: usize, out: &[usize]) -> Slab {
        Slab { inner: out[dim + 1..].iter().product(), whole: out[dim], len: parts[k], start: parts[..k].iter().sum() }
    }
}

/// Entries of the output of `cat` along `dim` (flat `idx` over `out`) pulled back to
/// input `k` of `parts` (the inputs' sizes along `dim`): the entries in that input's
/// slab, moved to its own flat indices; the others drop.
pub fn concat_pull(dim: usize, parts: &[usize], k: usize, out: &[usize], idx: &Positions) -> Mapped {
    let Slab { inner, whole, len, start } = Slab::of(dim, parts, k, out);
    let mut keep = vec![true; idx.len()];
    let moved = idx
        .iter()
        .zip(keep.iter_mut())
        .map(|(&e, keep)| {
            let (outer, c, r) = (e / (whole * inner), (e / inner) % whole, e % inner);
            *keep = (start..start + len).contains(&c);
            if *keep {
                (outer * len + c - start) * inner + r
            } else {
                0
            }
        })
        .collect();
    Mapped::Kept { keep, idx: moved }
}

/// Entries of input `k` of `cat` along `dim` (flat `idx` over that input) pushed to
/// their places in the output.
pub fn concat_push(dim: usize, parts: &[usize], k: usize, out: &[usize], idx: &Positions) -> Positions {
    let Slab { inner, whole, len, start } = Slab::of(dim, parts, k, out);
    Arc::new(
        idx.iter()
            .map(|&f| {
                let (outer, c, r) = (f / (len * inner), (f / inner) % len, f % inner);
                (outer * whole + start + c) * inner + r
            })
            .collect(),
    )
}

/// Entries of the output of a sum over `axes` pulled back to its input `x`: each is
/// copied to the block of elements it summed.
pub fn sum_pull(axes: &[usize], keepdim: bool, x: &[usize], out: &[usize], idx: &Positions) -> Mapped {
    let rm = row_major(x);
    // out coordinates to x's flat index with the reduced coordinates at 0
    let stride: Vec<isize> = (0..x.len()).filter(|d| keepdim || !axes.contains(d)).map(|d| rm[d] as isize).collect();
    let base = Affine { from: out.to_vec(), stride, base: 0 }.apply(idx);
    Mapped::Spread { base, blocks: axes.iter().map(|&a| (x[a], rm[a])).collect() }
}

/// Entries of a sum's input `x` pushed to its output: each lands on the element it is
/// added into (many to one).
pub fn sum_push(axes: &[usize], keepdim: bool, x: &[usize], out: &[usize], idx: &Positions) -> Positions {
    let rm = row_major(out);
    let mut od = 0;
    let stride = (0..x.len())
        .map(|d| {
            if axes.contains(&d) {
                od += usize::from(keepdim);
                0
            } else {
                od += 1;
                rm[od - 1] as isize
            }
        })
        .collect();
    Affine { from: x.to_vec(), stride, base: 0 }.apply(idx)
}

/// The flat positions in `x` (which broadcasts to `out`) of the flat positions `idx`
/// of `out`.
pub fn positions_in(x: &[usize], out: &[usize], idx: &Positions) -> Positions {
    if x == out {
        idx.clone()
    } else {
        Affine::unbroadcast(out, x).apply(idx)
    }
}

/// Entries of `x` copied to every element of `out` (a broadcast of `x`, aligned on the
/// right) they were broadcast to.
pub fn broadcast_spread(x: &[usize], out: &[usize], idx: &Positions) -> Mapped {
    let rm = row_major(out);
    let lead = out.len() - x.len();
    let stride = (0..x.len()).map(|d| if x[d] == out[lead + d] { rm[lead + d] as isize } else { 0 }).collect();
    let blocks =
        (0..out.len()).filter(|&d| d < lead || (x[d - lead] == 1 && out[d] != 1)).map(|d| (out[d], rm[d])).collect();
    Mapped::Spread { base: Affine { from: x.to_vec(), stride, base: 0 }.apply(idx), blocks }
}

/// The number of elements of `shape` (1 for `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of `shape`.
pub fn row_major(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// An affine map of flat indices: `from` shape's element with coordinates `c` goes to
/// `base + Σ c[d] stride[d]`. Views (slices, permutes, broadcasts) are such maps.
pub struct Affine {
    /// The shape of the source tensor.
    pub from: Vec<usize>,
    /// How far the image moves per step along each source dim.
    pub stride: Vec<isize>,
    /// The image of element 0.
    pub base: isize,
}

/// Whether a map over `n` elements is cheaper as a table than per entry (a division
/// per dim per entry) for `entries` entries.
fn table_pays(n: usize, entries: usize) -> bool {
    n <= 4 * entries + 4096
}

impl Affine {
    /// The images of `idx` (shared, not copied, when the map is the identity: a reshape,
    /// or a slice or broadcast that only adds or drops dims of size 1).
    pub fn apply(&self, idx: &Positions) -> Positions {
        let rm = row_major(&self.from);
        let identity =
            self.base == 0 && (0..self.from.len()).all(|d| self.from[d] == 1 || self.stride[d] == rm[d] as isize);
        if identity {
            return idx.clone();
        }
        Arc::new(self.map(idx))
    }

    fn map(&self, idx: &[usize]) -> Vec<usize> {
        if table_pays(numel(&self.from), idx.len()) {
            let table = self.table();
            return idx.iter().map(|&e| table[e]).collect();
        }
        idx.iter()
            .map(|&e| {
                let (mut e, mut acc) = (e, self.base);
                for d in (0..self.from.len()).rev() {
                    acc += (e % self.from[d]) as isize * self.stride[d];
                    e /= self.from[d];
                }
                acc as usize
            })
            .collect()
    }

    /// The image of every element of `from`, in row-major order (an odometer walk over
    /// all but the last dim, no divisions).
    fn table(&self) -> Vec<usize> {
        let n = numel(&self.from);
        let mut out = Vec::with_capacity(n);
        let Some((&last, outer_dims)) = self.from.split_last() else {
            out.push(self.base as usize);
            return out;
        };
        if n == 0 {
            return out;
        }
        let step = self.stride[outer_dims.len()];
        let (mut coord, mut acc) = (vec![0usize; outer_dims.len()], self.base);
        for _ in 0..n / last {
            out.extend((0..last as isize).map(|j| (acc + j * step) as usize));
            for d in (0..outer_dims.len()).rev() {
                coord[d] += 1;
                acc += self.stride[d];
                if coord[d] < outer_dims[d] {
                    break;
                }
                acc -= self.stride[d] * outer_dims[d] as isize;
                coord[d] = 0;
            }
        }
        out
    }

    /// From `out` (a broadcast of `x`, aligned on the right) to `x`.
    pub fn unbroadcast(out: &[usize], x: &[usize]) -> Affine {
        let rm = row_major(x);
        let lead = out.len() - x.len();
        let stride =
            (0..out.len()).map(|d| if d < lead || x[d - lead] == 1 { 0 } else { rm[d - lead] as isize }).collect();
        Affine { from: out.to_vec(), stride, base: 0 }
    }
}

/// `x[items]` as a map from the window's flat indices (shape `out`) to `x`'s (items
/// act on the trailing dims; leading dims pass through).
pub fn window_map(items: &[Resolved], x: &[usize], out: &[usize]) -> Affine {
    let rm = row_major(x);
    let in_dims = items.iter().filter(|r| !matches!(r, Resolved::NewAxis)).count();
    let lead = x.len() - in_dims;
    let mut stride: Vec<isize> = rm[..lead].iter().map(|&s| s as isize).collect();
    let (mut base, mut xd) = (0isize, lead);
    for item in items {
        match *item {
            Resolved::Index(i) => {
                base += (i * rm[xd]) as isize;
                xd += 1;
            }
            Resolved::Range { start, step, .. } => {
                // coordinate c is element start + c step (a negative step walks backwards)
                base += (start * rm[xd]) as isize;
                stride.push(step * rm[xd] as isize);
                xd += 1;
            }
            Resolved::NewAxis => stride.push(0),
        }
    }
    Affine { from: out.to_vec(), stride, base }
}

/// Entries of a full tensor (shape `full`) moved to their places in its window
/// `full[items]` (shape `window`); entries outside the window drop.
fn window_inverse(items: &[Resolved], window: &[usize], full: &[usize], idx: &Positions) -> Mapped {
    let mut keep = vec![true; idx.len()];
    let mapped: Vec<usize> = if table_pays(numel(full), idx.len()) {
        // invert the window's map into the full tensor through a table
        let mut inverse = vec![usize::MAX; numel(full)];
        for (wi, e) in window_map(items, full, window).table().into_iter().enumerate() {
            inverse[e] = wi;
        }
        idx.iter().zip(keep.iter_mut()).map(|(&e, k)| kept(inverse[e], k)).collect()
    } else {
        let rm = row_major(window);
        let lead = full.len() - items.iter().filter(|r| !matches!(r, Resolved::NewAxis)).count();
        let mut coords = vec![0; full.len()];
        idx.iter()
            .zip(keep.iter_mut())
            .map(|(&e, k)| {
                unravel(e, full, &mut coords);
                let mut acc: usize = coords[..lead].iter().zip(&rm).map(|(c, s)| c * s).sum();
                let (mut fd, mut wd) = (lead, lead);
                for item in items {
                    match *item {
                        Resolved::Index(i) => {
                            *k &= coords[fd] == i;
                            fd += 1;
                        }
                        Resolved::Range { start, step, len } => {
                            let off = coords[fd] as i64 - start as i64;
                            let q = off / step as i64;
                            *k &= off % step as i64 == 0 && q >= 0 && (q as usize) < len;
                            acc += (q.max(0) as usize) * rm[wd];
                            fd += 1;
                            wd += 1;
                        }
                        Resolved::NewAxis => wd += 1,
                    }
                }
                kept(if *k { acc } else { usize::MAX }, k)
            })
            .collect()
    };
    Mapped::Kept { keep, idx: mapped }
}

/// An inverted index, or a dropped entry (`keep` cleared) for `usize::MAX`.
fn kept(i: usize, keep: &mut bool) -> usize {
    if i == usize::MAX {
        *keep = false;
        0
    } else {
        i
    }
}

fn unravel(mut e: usize, shape: &[usize], coords: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        coords[d] = e % shape[d];
        e /= shape[d];
    }
}
