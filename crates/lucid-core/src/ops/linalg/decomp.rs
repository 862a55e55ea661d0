//! Dense factorizations of small row-major matrices — LU with partial pivoting and
//! Cholesky — generic over f32/f64, and batched drivers over arrays of shape
//! `batch + [n, n]` that report failures with the op name and the batch index.
//!
//! These are plain numeric kernels: no graph, no Tensor. The op file (`linalg.rs`)
//! wraps them with shape checks and derivative rules. Failures follow LAPACK: a
//! matrix is singular when a pivot is exactly zero, not positive definite when a
//! Cholesky pivot is not strictly positive (NaN included).

use ndarray::{ArcArray, IxDyn};

use crate::dtype::{try_vec, Float};
use crate::error::{Error, Result};
use crate::shape::broadcast_shapes;

/// `P A = L U` of one `n × n` matrix: `L` (unit diagonal) below the diagonal of `lu`,
/// `U` on and above it; row `i` of `P A` is row `perm[i]` of `A`.
pub(crate) struct Lu<T> {
    n: usize,
    lu: Vec<T>,
    perm: Vec<usize>,
    odd_swaps: bool,
    /// The first column whose pivot was exactly zero (the matrix is singular).
    pub(crate) zero_pivot: Option<usize>,
}

/// LU factorization with partial pivoting (largest magnitude in the column).
pub(crate) fn lu<T: Float>(a: &[T], n: usize) -> Lu<T> {
    let mut m = a.to_vec();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut odd_swaps = false;
    let mut zero_pivot = None;
    for k in 0..n {
        let mut p = k;
        let mut best = m[k * n + k].abs();
        for i in k + 1..n {
            let v = m[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        if p != k {
            for j in 0..n {
                m.swap(k * n + j, p * n + j);
            }
            perm.swap(k, p);
            odd_swaps = !odd_swaps;
        }
        let piv = m[k * n + k];
        if piv == T::zero() {
            // The whole column below is zero too: nothing to eliminate.
            zero_pivot.get_or_insert(k);
            continue;
        }
        for i in k + 1..n {
            let l = m[i * n + k] / piv;
            m[i * n + k] = l;
            if l != T::zero() {
                for j in k + 1..n {
                    m[i * n + j] = m[i * n + j] - l * m[k * n + j];
                }
            }
        }
    }
    Lu { n, lu: m, perm, odd_swaps, zero_pivot }
}

impl<T: Float> Lu<T> {
    /// `(sign, log|det|)`; `(0, -inf)` for a singular matrix.
    pub(crate) fn slogdet(&self) -> (T, T) {
        if self.zero_pivot.is_some() {
            return (T::zero(), T::neg_infinity());
        }
        let mut sign = if self.odd_swaps { -T::one() } else { T::one() };
        let mut log = T::zero();
        for i in 0..self.n {
            let u = self.lu[i * self.n + i];
            if u < T::zero() {
                sign = -sign;
            }
            log = log + u.abs().ln();
        }
        (sign, log)
    }

    /// The determinant as the signed product of the pivots (no log round trip).
    pub(crate) fn det(&self) -> T {
        if self.zero_pivot.is_some() {
            return T::zero();
        }
        let d = (0..self.n).fold(T::one(), |acc, i| acc * self.lu[i * self.n + i]);
        if self.odd_swaps {
            -d
        } else {
            d
        }
    }

    /// Solve `A X = B` for a row-major `n × k` right-hand side (nonsingular `A`).
    pub(crate) fn solve_into(&self, b: &[T], k: usize, x: &mut [T]) {
        let n = self.n;
        for i in 0..n {
            x[i * k..(i + 1) * k].copy_from_slice(&b[self.perm[i] * k..(self.perm[i] + 1) * k]);
        }
        // forward substitution with the unit lower factor
        for i in 0..n {
            for j in 0..i {
                let l = self.lu[i * n + j];
                if l != T::zero() {
                    for c in 0..k {
                        x[i * k + c] = x[i * k + c] - l * x[j * k + c];
                    }
                }
            }
        }
        // back substitution with the upper factor
        for i in (0..n).rev() {
            for j in i + 1..n {
                let u = self.lu[i * n + j];
                if u != T::zero() {
                    for c in 0..k {
                        x[i * k + c] = x[i * k + c] - u * x[j * k + c];
                    }
                }
            }
            let d = self.lu[i * n + i];
            for c in 0..k {
                x[i * k + c] = x[i * k + c] / d;
            }
        }
    }
}

/// Lower Cholesky factor of one `n × n` matrix, reading only its lower triangle (as
/// LAPACK's `potrf('L')`). `Err(j)`: the leading minor of order `j + 1` is not
/// positive definite.
pub(crate) fn cholesky<T: Float>(a: &[T], n: usize) -> std::result::Result<Vec<T>, usize> {
    let mut l = vec![T::zero(); n * n];
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d = d - l[j * n + k] * l[j * n + k];
        }
        if d <= T::zero() || d.is_nan() {
            return Err(j);
        }
        let djj = d.sqrt();
        l[j * n + j] = djj;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s = s - l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / djj;
        }
    }
    Ok(l)
}

// ---- batched drivers ----------------------------------------------------------------

/// " (batch element (1, 0))" for a batched input, "" for a single matrix.
pub(crate) fn at_batch(batch: &[usize], flat: usize) -> String {
    if batch.is_empty() {
        return String::new();
    }
    let mut idx = vec![0; batch.len()];
    let mut r = flat;
    for (d, &n) in batch.iter().enumerate().rev() {
        idx[d] = r % n.max(1);
        r /= n.max(1);
    }
    let parts: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
    let comma = if idx.len() == 1 { "," } else { "" };
    format!(" at batch index ({}{comma})", parts.join(", "))
}

/// The matrices of `a` (shape `batch + [r, c]`, any layout) as one row-major buffer.
fn split<T: Float>(a: &ArcArray<T, IxDyn>) -> (Vec<T>, Vec<usize>, usize, usize) {
    let s = a.shape();
    let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
    (a.iter().copied().collect(), s[..s.len() - 2].to_vec(), r, c)
}

fn array<T: Float>(op: &'static str, data: Vec<T>, shape: &[usize]) -> Result<ArcArray<T, IxDyn>> {
    ArcArray::from_shape_vec(IxDyn(shape), data).map_err(|e| Error::shape(op, e.to_string()))
}

fn singular(op: &'static str, what: &str, batch: &[usize], i: usize, k: usize) -> Error {
    Error::linalg(
        op,
        format!("the {what}{} is singular: pivot {k} of its LU factorization is exactly zero", at_batch(batch, i)),
    )
}

/// `A⁻¹` of every matrix; a singular one is an error naming its batch index.
pub(crate) fn inv<T: Float>(op: &'static str, a: &ArcArray<T, IxDyn>) -> Result<ArcArray<T, IxDyn>> {
    let (data, batch, n, _) = split(a);
    let mut eye = vec![T::zero(); n * n];
    for i in 0..n {
        eye[i * n + i] = T::one();
    }
    let mut out = vec![T::zero(); data.len()];
    if n == 0 {
        return array(op, out, a.shape());
    }
    for (i, (m, o)) in data.chunks_exact(n * n).zip(out.chunks_exact_mut(n * n)).enumerate() {
        let f = lu(m, n);
        if let Some(k) = f.zero_pivot {
            return Err(singular(op, "matrix", &batch, i, k));
        }
        f.solve_into(&eye, n, o);
    }
    array(op, out, a.shape())
}

/// `(sign, log|det|)` of every matrix, each of shape `batch`.
pub(crate) fn slogdet<T: Float>(a: &ArcArray<T, IxDyn>) -> Result<(ArcArray<T, IxDyn>, ArcArray<T, IxDyn>)> {
    let (data, batch, n, _) = split(a);
    let count: usize = batch.iter().product();
    // a batch of empty matrices is no data but `count` results, however many
    let (mut signs, mut logs) = (try_vec("slogdet", &batch)?, try_vec("slogdet", &batch)?);
    if n == 0 {
        // the empty product: det = 1
        signs.resize(count, T::one());
        logs.resize(count, T::zero());
    } else {
        for m in data.chunks_exact(n * n) {
            let (s, l) = lu(m, n).slogdet();
            signs.push(s);
            logs.push(l);
        }
    }
    Ok((array("slogdet", signs, &batch)?, array("slogdet", logs, &batch)?))
}

/// `det A` of every matrix, shape `batch`.
pub(crate) fn det<T: Float>(a: &ArcArray<T, IxDyn>) -> Result<ArcArray<T, IxDyn>> {
    let (data, batch, n, _) = split(a);
    let mut dets: Vec<T> = try_vec("det", &batch)?; // empty matrices: no data, `batch` results
    if n == 0 {
        dets.resize(batch.iter().product(), T::one());
    } else {
        dets.extend(data.chunks_exact(n * n).map(|m| lu(m, n).det()));
    }
    array("det", dets, &batch)
}

/// Flat index into `from` (right-aligned, size-1 dims broadcast) of each flat index of `to`.
fn broadcast_map(from: &[usize], to: &[usize]) -> Vec<usize> {
    let total: usize = to.iter().product();
    let off = to.len() - from.len();
    let mut strides = vec![0usize; to.len()];
    let mut s = 1;
    for d in (0..from.len()).rev() {
        strides[off + d] = if from[d] == 1 { 0 } else { s };
        s *= from[d];
    }
    (0..total)
        .map(|flat| {
            let mut r = flat;
            let mut idx = 0;
            for d in (0..to.len()).rev() {
                idx += (r % to[d]) * strides[d];
                r /= to[d];
            }
            idx
        })
        .collect()
}

/// `X = A⁻¹ B` for `A: a_batch + [n, n]` and `B: b_batch + [n, k]`, batch dims
/// broadcast; each distinct `A` is factored once.
pub(crate) fn solve<T: Float>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
) -> Result<ArcArray<T, IxDyn>> {
    let (adata, abatch, n, _) = split(a);
    let bs = b.shape();
    let k = bs[bs.len() - 1];
    let out_batch = broadcast_shapes(op, &abatch, &bs[..bs.len() - 2])?;
    let mut full = out_batch.clone();
    full.extend([n, k]);
    let bview = b
        .broadcast(IxDyn(&full))
        .ok_or_else(|| Error::shape(op, format!("cannot broadcast B of shape {bs:?} to {full:?}")))?;
    // B broadcast and the result: sizes the two batches decide together
    let mut bdata: Vec<T> = try_vec(op, &full)?;
    bdata.extend(bview.iter().copied());
    let mut out: Vec<T> = try_vec(op, &full)?;
    out.resize(bdata.len(), T::zero());
    let factors: Vec<Lu<T>> = if n == 0 { Vec::new() } else { adata.chunks_exact(n * n).map(|m| lu(m, n)).collect() };
    if n > 0 && k > 0 {
        let which = broadcast_map(&abatch, &out_batch);
        for (i, (rhs, x)) in bdata.chunks_exact(n * k).zip(out.chunks_exact_mut(n * k)).enumerate() {
            let f = &factors[which[i]];
            if let Some(p) = f.zero_pivot {
                return Err(singular(op, "matrix A", &abatch, which[i], p));
            }
            f.solve_into(rhs, k, x);
        }
    } else if n > 0 {
        // no right-hand sides: still refuse a singular A, as the full solve would
        if let Some((i, p)) = factors.iter().enumerate().find_map(|(i, f)| f.zero_pivot.map(|p| (i, p))) {
            return Err(singular(op, "matrix A", &abatch, i, p));
        }
    }
    array(op, out, &full)
}

/// Lower Cholesky factor of every matrix.
pub(crate) fn cholesky_batched<T: Float>(op: &'static str, a: &ArcArray<T, IxDyn>) -> Result<ArcArray<T, IxDyn>> {
    let (data, batch, n, _) = split(a);
    let mut out = Vec::with_capacity(data.len());
    if n > 0 {
        for (i, m) in data.chunks_exact(n * n).enumerate() {
            match cholesky(m, n) {
                Ok(l) => out.extend(l),
                Err(j) => {
                    return Err(Error::linalg(
                        op,
                        format!(
                        "the matrix{} is not positive definite: its leading minor of order {} is not positive definite",
                        at_batch(&batch, i),
                        j + 1
                    ),
                    ))
                }
            }
        }
    }
    array(op, out, a.shape())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lu_solves_and_reports_sign() {
        // A = [[0, 2], [3, 1]]: one row swap, det = -6
        let a = [0.0f64, 2.0, 3.0, 1.0];
        let f = lu(&a, 2);
        assert_eq!(f.det(), -6.0);
        assert_eq!(f.slogdet(), (-1.0, 6f64.ln()));
        let mut x = [0.0; 2];
        f.solve_into(&[2.0, 4.0], 1, &mut x);
        assert_eq!(x, [1.0, 1.0]);
    }

    #[test]
    fn lu_flags_an_exactly_singular_matrix() {
        let f = lu(&[1.0f32, 2.0, 2.0, 4.0], 2);
        assert_eq!(f.zero_pivot, Some(1));
        assert_eq!(f.det(), 0.0);
    }

    #[test]
    fn cholesky_of_a_known_matrix() {
        // [[4, 2], [2, 5]] = L Lᵀ with L = [[2, 0], [1, 2]]
        assert_eq!(cholesky(&[4.0f64, 2.0, 2.0, 5.0], 2), Ok(vec![2.0, 0.0, 1.0, 2.0]));
        assert_eq!(cholesky(&[1.0f64, 2.0, 2.0, 1.0], 2), Err(1));
    }

    #[test]
    fn batch_labels() {
        assert_eq!(at_batch(&[], 0), "");
        assert_eq!(at_batch(&[3], 2), " at batch index (2,)");
        assert_eq!(at_batch(&[2, 3], 4), " at batch index (1, 1)");
        assert_eq!(broadcast_map(&[1, 3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(broadcast_map(&[], &[2]), vec![0, 0]);
    }
}
