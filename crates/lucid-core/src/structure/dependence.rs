//! Which input elements each output element of an unstructured op reads: the sweeps
//! run such an op's dense rules, but a sparse Jacobian still needs its pattern, and a
//! dense guess (every output on every input) would make every Jacobian through a
//! softmax row, a scan or a batch of matrix inverses dense.
//!
//! NOTE [structural dependence]: the pattern says which derivatives can be nonzero
//! for SOME input value that records the same graph, never which are nonzero at this
//! point: `amax` reads its whole block (which element wins depends on the values), a
//! Cholesky factor reads its whole matrix. A superset is safe (an entry that comes out
//! zero is stored as an explicit zero); a missing entry would be a wrong Jacobian.

use std::sync::Arc;

use super::{numel, row_major, sum_pull, Affine, Mapped, Positions};

/// How the output of an unstructured op depends on its inputs' elements.
#[derive(Clone, Copy, Debug, Hash)]
pub enum Dependence<'a> {
    /// Every output element on every element of every input.
    All,
    /// Input 0 reduced over `axes` (sorted, non-negative), as a sum would be: each
    /// output element on the block it reduces (`prod`, `amax`, `logsumexp`, norms).
    Blocks {
        /// The reduced dims (sorted, non-negative).
        axes: &'a [usize],
        /// Whether the reduced dims are kept with size 1.
        keepdim: bool,
    },
    /// The output has input 0's shape; each element reads the whole line through it
    /// along `axis` (counted from the end: -1 is the last dim), as a softmax does.
    Lines {
        /// The dim of the lines, counted from the end.
        axis: isize,
    },
    /// The output has the inputs' shape; each element reads every input's elements up
    /// to it along `axis` (counted from the end), or from it on when `reverse` (scans).
    Prefix {
        /// The dim scanned, counted from the end.
        axis: isize,
        /// Read the suffix (from the element on) instead of the prefix.
        reverse: bool,
    },
    /// `out[l, k] = x[l, pos[k]]`: trailing dims `full` of the input, `part` of the
    /// output, leading dims `l` passing through.
    Take {
        /// `pos[k]`: the flat position, within the trailing `full` dims, of entry `k`.
        pos: &'a [usize],
        /// The trailing dims of the larger side (the input of `Take`, the output of `Put`).
        full: &'a [usize],
        /// The trailing dims of the smaller side, `pos.len()` elements in all.
        part: &'a [usize],
    },
    /// The transpose of `Take`: zeros of trailing dims `full` with `out[l, pos[k]] +=
    /// x[l, k]`, `x` of trailing dims `part`.
    Put {
        /// `pos[k]`: the flat position, within the trailing `full` dims, of entry `k`.
        pos: &'a [usize],
        /// The trailing dims of the larger side (the input of `Take`, the output of `Put`).
        full: &'a [usize],
        /// The trailing dims of the smaller side, `pos.len()` elements in all.
        part: &'a [usize],
    },
    /// Batches of square matrices (the last two dims of every input, batch dims
    /// broadcast): every element of output batch b, whose trailing `out_dims` dims
    /// belong to the matrix, reads every element of each input's matrix at b.
    Matrices {
        /// How many trailing dims of the output belong to one matrix's result (0 for a
        /// determinant, 2 for an inverse).
        out_dims: usize,
    },
    /// Diagonal `offset` of input 0's plane `(dim1, dim2)`, as a new last dim.
    Diagonal {
        /// Which diagonal: 0 the main one, > 0 above it, < 0 below.
        offset: isize,
        /// The first dim of the plane (non-negative).
        dim1: usize,
        /// The second dim of the plane (non-negative).
        dim2: usize,
    },
    /// Input 0's last dim written on diagonal `offset` of the output's plane
    /// `(dim1, dim2)`, zeros elsewhere (the transpose of `Diagonal`).
    DiagEmbed {
        /// Which diagonal: 0 the main one, > 0 above it, < 0 below.
        offset: isize,
        /// The first dim of the plane (non-negative).
        dim1: usize,
        /// The second dim of the plane (non-negative).
        dim2: usize,
    },
    /// Input 0 with all but a triangle of its last two dims zeroed: the elements with
    /// `j - i >= k` (`upper`) or `j - i <= k` read themselves, the others nothing.
    Triangle {
        /// Keep the upper triangle rather than the lower.
        upper: bool,
        /// The diagonal the triangle starts at (0 the main one, > 0 above it).
        k: isize,
    },
}

/// For every output element `e`, the input elements it reads: `idx[ptr[e]..ptr[e + 1]]`.
pub struct Sources {
    /// Output element `e`'s sources are `ptr[e]..ptr[e + 1]` of `idx` (length
    /// `numel(out) + 1`).
    pub ptr: Vec<usize>,
    /// Flat input element indices.
    pub idx: Vec<usize>,
}

/// `Take`'s map: output element `(l, k)` reads input element `(l, pos[k])`.
pub fn take_pull(pos: &[usize], full: &[usize], part: &[usize], out: &[usize]) -> Positions {
    let (nf, np) = (numel(full), numel(part).max(1));
    Arc::new((0..numel(out)).map(|e| (e / np) * nf + pos[e % np]).collect())
}

/// `Put`'s map: output element `(l, j)` reads every input element `(l, k)` with
/// `pos[k] == j` (none, one, or several when positions repeat).
pub fn put_sources(pos: &[usize], full: &[usize], part: &[usize], out: &[usize]) -> Sources {
    let (nf, np) = (numel(full).max(1), numel(part));
    // the inverse of pos as lists over `full` (a counting sort keeps k ascending)
    let mut start = vec![0usize; nf + 1];
    for &j in pos {
        start[j + 1] += 1;
    }
    for j in 0..nf {
        start[j + 1] += start[j];
    }
    let mut fill = start.clone();
    let mut ks = vec![0usize; pos.len()];
    for (k, &j) in pos.iter().enumerate() {
        ks[fill[j]] = k;
        fill[j] += 1;
    }
    let mut ptr = Vec::with_capacity(numel(out) + 1);
    let mut idx = Vec::new();
    ptr.push(0);
    for e in 0..numel(out) {
        let (l, j) = (e / nf, e % nf);
        idx.extend(ks[start[j]..start[j + 1]].iter().map(|&k| l * np + k));
        ptr.push(idx.len());
    }
    Sources { ptr, idx }
}

/// The length of diagonal `offset` of an `n1 × n2` plane and its first element `(r0, c0)`.
pub fn diag_geometry(n1: usize, n2: usize, offset: isize) -> (usize, usize, usize) {
    let (r0, c0) = (offset.min(0).unsigned_abs(), offset.max(0) as usize);
    (n1.saturating_sub(r0).min(n2.saturating_sub(c0)), r0, c0)
}

/// The diagonal `offset` of `full`'s plane `(d1, d2)` as a map from the diagonal's
/// flat indices (shape: `full` without the plane, then the diagonal) into `full`.
fn diagonal_map(offset: isize, d1: usize, d2: usize, full: &[usize]) -> Affine {
    let rm = row_major(full);
    let (len, r0, c0) = diag_geometry(full[d1], full[d2], offset);
    let others = (0..full.len()).filter(|&d| d != d1 && d != d2);
    let mut from: Vec<usize> = others.clone().map(|d| full[d]).collect();
    let mut stride: Vec<isize> = others.map(|d| rm[d] as isize).collect();
    from.push(len);
    stride.push((rm[d1] + rm[d2]) as isize);
    Affine { from, stride, base: (r0 * rm[d1] + c0 * rm[d2]) as isize }
}

/// `Diagonal`'s map: each output element reads one input element.
pub fn diagonal_pull(offset: isize, d1: usize, d2: usize, x: &[usize]) -> Positions {
    let all = Arc::new((0..numel(&diagonal_map(offset, d1, d2, x).from)).collect());
    diagonal_map(offset, d1, d2, x).apply(&all)
}

/// `DiagEmbed`'s map: the output elements on the diagonal read their input element,
/// the others nothing.
pub fn diag_embed_pull(offset: isize, d1: usize, d2: usize, out: &[usize]) -> Mapped {
    let map = diagonal_map(offset, d1, d2, out);
    let mut idx = vec![0usize; numel(out)];
    let mut keep = vec![false; numel(out)];
    for (f, e) in map.table().into_iter().enumerate() {
        idx[e] = f;
        keep[e] = true;
    }
    Mapped::Kept { keep, idx }
}

/// `Triangle`'s map: the elements of the triangle read themselves.
pub fn triangle_pull(upper: bool, k: isize, out: &[usize]) -> Mapped {
    let nd = out.len();
    let (rows, cols) = (out[nd - 2], out[nd - 1]);
    let keep = (0..numel(out))
        .map(|e| {
            let (i, j) = (((e / cols) % rows) as isize, (e % cols) as isize);
            if upper {
                j - i >= k
            } else {
                j - i <= k
            }
        })
        .collect();
    Mapped::Kept { keep, idx: (0..numel(out)).collect() }
}

/// The lines of `shape` along `axis` (from the end): each element's line (flat over
/// the shape with that dim at 1), and each line's elements (a spread over the line).
pub fn lines(axis: isize, shape: &[usize]) -> (Positions, Mapped) {
    let a = (shape.len() as isize + axis) as usize;
    let mut reduced = shape.to_vec();
    reduced[a] = 1;
    let all_x: Positions = Arc::new((0..numel(shape)).collect());
    let all_lines: Positions = Arc::new((0..numel(&reduced)).collect());
    let rm = row_major(&reduced);
    let stride = (0..shape.len()).map(|d| if d == a { 0 } else { rm[d] as isize }).collect();
    let line_of = Affine { from: shape.to_vec(), stride, base: 0 }.apply(&all_x);
    (line_of, sum_pull(&[a], true, shape, &reduced, &all_lines))
}

/// The outer count, length and inner count of `shape` around `axis` (from the end).
pub fn around(axis: isize, shape: &[usize]) -> (usize, usize, usize) {
    let a = (shape.len() as isize + axis) as usize;
    (numel(&shape[..a]), shape[a], numel(&shape[a + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_inverts_take_with_repeats() {
        // pos = [2, 0, 2] over full [3], two leading rows
        let s = put_sources(&[2, 0, 2], &[3], &[3], &[2, 3]);
        assert_eq!(s.ptr, vec![0, 1, 1, 3, 4, 4, 6]);
        assert_eq!(s.idx, vec![1, 0, 2, 4, 3, 5]);
        assert_eq!(*take_pull(&[2, 0, 2], &[3], &[3], &[2, 3]), vec![2, 0, 2, 5, 3, 5]);
    }

    #[test]
    fn diagonals_and_their_embeddings_agree() {
        // diagonal 1 of a 3x4 matrix: (0,1), (1,2), (2,3)
        assert_eq!(*diagonal_pull(1, 0, 1, &[3, 4]), vec![1, 6, 11]);
        assert_eq!(*diagonal_pull(-1, 0, 1, &[3, 4]), vec![4, 9]);
        let Mapped::Kept { keep, idx } = diag_embed_pull(1, 0, 1, &[3, 4]) else { panic!() };
        let on: Vec<(usize, usize)> = (0..12).filter(|&e| keep[e]).map(|e| (e, idx[e])).collect();
        assert_eq!(on, vec![(1, 0), (6, 1), (11, 2)]);
    }

    #[test]
    fn lines_cover_their_elements() {
        let (line_of, spread) = lines(-1, &[2, 3]);
        assert_eq!(*line_of, vec![0, 0, 0, 1, 1, 1]);
        let Mapped::Spread { base, blocks } = spread else { panic!() };
        assert_eq!((*base).clone(), vec![0, 3]);
        assert_eq!(blocks, vec![(3, 1)]);
        assert_eq!(around(-2, &[4, 5, 6]), (4, 5, 6));
    }
}
