//! Shape arithmetic: broadcasting, axis normalisation, batch prefixes. Pure
//! functions of shapes (no tensors).

use crate::error::{Error, Result};

/// NumPy broadcasting of two shapes (aligned on the right).
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
        let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(Error::shape(op, format!("shapes {a:?} and {b:?} cannot be broadcast together"))),
        };
    }
    Ok(out)
}

/// Turn a possibly negative axis into an index in `0..ndim`.
pub fn normalize_axis(op: &'static str, axis: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n.max(1) || (ndim == 0 && a != 0) {
        return Err(Error::index(op, format!("dim {axis} is out of range for a tensor with {ndim} dims")));
    }
    Ok(a as usize)
}

/// Normalise a list of axes (sorted, deduplicated check); `None` means all axes.
pub fn normalize_axes(op: &'static str, axes: Option<&[isize]>, ndim: usize) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = match axes {
        None => (0..ndim).collect(),
        Some(list) => {
            let mut v = Vec::with_capacity(list.len());
            for &a in list {
                if ndim == 0 && (a == 0 || a == -1) {
                    continue; // a 0-d tensor reduces over "dim 0" to itself, as in PyTorch
                }
                v.push(normalize_axis(op, a, ndim)?);
            }
            v
        }
    };
    out.sort_unstable();
    for w in out.windows(2) {
        if w[0] == w[1] {
            return Err(Error::argument(op, format!("dim {} appears more than once", w[0])));
        }
    }
    Ok(out)
}

/// `shape` with `batch` prepended.
pub fn batched(batch: &[usize], shape: &[usize]) -> Vec<usize> {
    let mut v = batch.to_vec();
    v.extend_from_slice(shape);
    v
}
