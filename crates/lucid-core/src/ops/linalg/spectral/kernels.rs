//! Numeric kernels of the spectral factorizations of one small row-major matrix —
//! symmetric eigendecomposition (cyclic Jacobi), SVD (one-sided Jacobi), Householder
//! QR — in f64 (f32 inputs are widened and the results rounded once, which is more
//! accurate than f32 arithmetic and keeps one code path). No graph, no Tensor.
//!
//! Why Jacobi: both Jacobi methods compute small eigenvalues and singular values to
//! high *relative* accuracy (Demmel & Veselić 1992), are a page of code each, and
//! their convergence test is a plain relative threshold; the matrices users factor
//! here are mostly small (frames, inertia tensors, covariances of a few parameters).
//! Above `JACOBI_MAX` = 32, `eigh` switches to Householder tridiagonalisation +
//! implicit QL (EISPACK's tred2/tql2): Jacobi's ~10 sweeps of 4n³ flops were 20x
//! LAPACK at n = 100, tridiagonal QL is 2x. The SVD stays one-sided Jacobi (5x LAPACK
//! at n = 100).
//!
//! Conventions (NOTE [spectral conventions]): eigenvalues ascending, singular values
//! descending; each eigenvector and each left singular vector has its component of
//! largest magnitude (the first such) positive, the right singular vector flipped with
//! it; R of a QR has a non-negative diagonal (LAPACK's may be negative: the factors
//! differ from it by a ±1 per column of Q and row of R).

/// At most this many sweeps; Jacobi converges quadratically and needs 5–10 in practice.
const MAX_SWEEPS: usize = 100;

/// Why a kernel gave up: the caller names the op and the batch element.
#[derive(Debug, PartialEq)]
pub(crate) enum Failure {
    /// The matrix holds NaN or ±inf.
    NotFinite,
    /// No convergence within `MAX_SWEEPS` sweeps.
    NoConvergence,
}

fn finite(a: &[f64]) -> Result<(), Failure> {
    if a.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Failure::NotFinite)
    }
}

/// `a / c` with `c` its largest magnitude (1 for a zero matrix), and `c`: sums of
/// squares of entries near 1e±200 would overflow or underflow; the factorizations
/// are homogeneous, so the values are scaled back by `c` (exact for a power of 2).
fn scaled(a: &[f64]) -> (Vec<f64>, f64) {
    let big = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let c = if big > 0.0 { 2f64.powi(big.log2().ceil() as i32) } else { 1.0 };
    (a.iter().map(|v| v / c).collect(), c)
}

/// The rotation `(c, s)` with `t = tan θ` the smaller root of `t² + 2ζt - 1 = 0`
/// (|θ| ≤ π/4, Golub & Van Loan Alg. 8.5.1): it zeroes the pair's coupling.
fn rotation(zeta: f64) -> (f64, f64) {
    let t = if zeta >= 0.0 {
        1.0 / (zeta + (1.0 + zeta * zeta).sqrt())
    } else {
        -1.0 / (-zeta + (1.0 + zeta * zeta).sqrt())
    };
    let c = 1.0 / (1.0 + t * t).sqrt();
    (c, t * c)
}

/// Flip `col` of the `rows × cols` row-major `m` (and the same column of `other`, if
/// any) so its component of largest magnitude is positive.
fn fix_sign(m: &mut [f64], rows: usize, cols: usize, col: usize, other: Option<(&mut [f64], usize, usize)>) {
    let mut best = 0;
    for i in 1..rows {
        if m[i * cols + col].abs() > m[best * cols + col].abs() {
            best = i;
        }
    }
    if rows > 0 && m[best * cols + col] < 0.0 {
        for i in 0..rows {
            m[i * cols + col] = -m[i * cols + col];
        }
        if let Some((o, orows, ocols)) = other {
            for i in 0..orows {
                o[i * ocols + col] = -o[i * ocols + col];
            }
        }
    }
}

/// Rows `p < q` of the row-major `rows × n` matrix `m`, both mutable.
fn split_rows(m: &mut [f64], n: usize, p: usize, q: usize) -> (&mut [f64], &mut [f64]) {
    let (head, tail) = m.split_at_mut(q * n);
    (&mut head[p * n..(p + 1) * n], &mut tail[..n])
}

/// `A = V diag(w) Vᵀ` of the symmetric `n × n` matrix whose lower (or `upper`)
/// triangle is stored in `a`; `w` ascending, `V` row-major with eigenvectors as columns.
///
/// Cyclic Jacobi: rotate each off-diagonal pair to zero, sweep until the off-diagonal
/// Frobenius norm is at most `ε ‖A‖_F` (then every eigenvalue is accurate to that).
pub(crate) fn eigh(a: &[f64], n: usize, upper: bool) -> Result<(Vec<f64>, Vec<f64>), Failure> {
    finite(a)?;
    let (a, scale) = scaled(a);
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = if upper { a[j * n + i] } else { a[i * n + j] };
            m[i * n + j] = v;
            m[j * n + i] = v;
        }
    }
    if n > JACOBI_MAX {
        let (d, v) = tridiagonal_ql(m, n)?;
        return Ok(sorted_eigen(&d, |k, src| v[k * n + src], n, scale));
    }
    // the eigenvectors as rows of `vt` (Vᵀ), so a rotation updates two contiguous rows
    let mut vt = vec![0.0; n * n];
    for i in 0..n {
        vt[i * n + i] = 1.0;
    }
    let frob = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    let tol = f64::EPSILON * frob;
    let mut converged = false;
    for _ in 0..MAX_SWEEPS {
        let off = (0..n).flat_map(|i| (0..i).map(move |j| (i, j))).map(|(i, j)| 2.0 * m[i * n + j] * m[i * n + j]);
        if off.sum::<f64>().sqrt() <= tol {
            converged = true;
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // J = [[c, s], [-s, c]] in the (p, q) plane; Jᵀ A J has a zero (p, q)
                // entry. A stays symmetric, so rows p and q are updated (contiguous) and
                // mirrored into columns p and q; the 2 × 2 block takes the closed form
                // a_pp − t a_pq, a_qq + t a_pq, 0 (Numerical Recipes §11.1), exact zero
                // included: left to round-off the entry would stay near ε·|λ| and the
                // off-diagonal norm could stall at the threshold.
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                let (c, s) = rotation((aqq - app) / (2.0 * apq));
                let t = s / c;
                let (rp, rq) = split_rows(&mut m, n, p, q);
                for (apk, aqk) in rp.iter_mut().zip(rq.iter_mut()) {
                    let (a, b) = (*apk, *aqk);
                    *apk = c * a - s * b;
                    *aqk = s * a + c * b;
                }
                for k in 0..n {
                    m[k * n + p] = m[p * n + k];
                    m[k * n + q] = m[q * n + k];
                }
                m[p * n + p] = app - t * apq;
                m[q * n + q] = aqq + t * apq;
                m[p * n + q] = 0.0;
                m[q * n + p] = 0.0;
                let (vp, vq) = split_rows(&mut vt, n, p, q);
                for (x, y) in vp.iter_mut().zip(vq.iter_mut()) {
                    let (a, b) = (*x, *y);
                    *x = c * a - s * b;
                    *y = s * a + c * b;
                }
            }
        }
    }
    if !converged {
        return Err(Failure::NoConvergence);
    }
    let d: Vec<f64> = (0..n).map(|i| m[i * n + i]).collect();
    Ok(sorted_eigen(&d, |k, src| vt[src * n + k], n, scale))
}

/// Eigenvalues `d·scale` ascending and the matching eigenvectors as columns (component
/// `k` of vector `src` is `vec(k, src)`), each with its largest component positive.
fn sorted_eigen(d: &[f64], vec: impl Fn(usize, usize) -> f64, n: usize, scale: f64) -> (Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[i].total_cmp(&d[j]));
    let w: Vec<f64> = order.iter().map(|&i| d[i] * scale).collect();
    let mut vs = vec![0.0; n * n];
    for (dst, &src) in order.iter().enumerate() {
        for k in 0..n {
            vs[k * n + dst] = vec(k, src);
        }
    }
    for col in 0..n {
        fix_sign(&mut vs, n, n, col, None);
    }
    (w, vs)
}

/// Above this size `eigh` reduces to tridiagonal form first: Jacobi's ~10 sweeps of
/// 4n³ flops each lose to the ~9n³ of Householder + QL (25x slower than LAPACK at
/// n = 100 against 3x), while below it Jacobi's high relative accuracy is nearly free.
const JACOBI_MAX: usize = 32;

/// The symmetric eigenproblem of the row-major `a` by Householder tridiagonalisation
/// and the implicit QL algorithm with shifts: EISPACK's `tred2` and `tql2` (Bowdler,
/// Martin, Reinsch & Wilkinson), as in JAMA's public-domain translation. Returns the
/// (unsorted) eigenvalues and the row-major matrix whose columns are the eigenvectors.
fn tridiagonal_ql(a: Vec<f64>, n: usize) -> Result<(Vec<f64>, Vec<f64>), Failure> {
    let mut v = a;
    let (mut d, mut e) = (vec![0.0; n], vec![0.0; n]);
    let ix = |i: usize, j: usize| i * n + j;
    // tred2: A = Q T Qᵀ, T tridiagonal (diagonal d, subdiagonal e), Q accumulated in v
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
                v[ix(j, i)] = 0.0;
            }
        } else {
            for x in d[..i].iter_mut() {
                *x /= scale;
                h += *x * *x;
            }
            let f = d[i - 1];
            let g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].iter_mut().for_each(|x| *x = 0.0);
            for j in 0..i {
                let f = d[j];
                v[ix(j, i)] = f;
                let mut g = e[j] + v[ix(j, j)] * f;
                for k in j + 1..i {
                    g += v[ix(k, j)] * d[k];
                    e[k] += v[ix(k, j)] * f;
                }
                e[j] = g;
            }
            let mut f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                let (f, g) = (d[j], e[j]);
                for k in j..i {
                    v[ix(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n.saturating_sub(1) {
        v[ix(n - 1, i)] = v[ix(i, i)];
        v[ix(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[ix(k, i + 1)] / h;
            }
            for j in 0..=i {
                let g: f64 = (0..=i).map(|k| v[ix(k, i + 1)] * v[ix(k, j)]).sum();
                for k in 0..=i {
                    v[ix(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[ix(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
        v[ix(n - 1, j)] = 0.0;
    }
    v[ix(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
    // tql2: QL iterations with implicit shifts on T, rotations applied to v
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let (mut f, mut tst1) = (0.0f64, 0.0f64);
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            let mut iterations = 0;
            loop {
                iterations += 1;
                if iterations > 30 * n.max(1) {
                    return Err(Failure::NoConvergence);
                }
                let g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for x in d.iter_mut().skip(l + 2) {
                    *x -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    let g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for k in 0..n {
                        let h = v[ix(k, i + 1)];
                        v[ix(k, i + 1)] = s * v[ix(k, i)] + c * h;
                        v[ix(k, i)] = c * v[ix(k, i)] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok((d, v))
}

/// Columns `have..want` of the row-major `rows × want` `q`, whose first `have`
/// columns are orthonormal, filled with an orthonormal completion: each new column
/// is the standard basis vector with the largest residual after two rounds of
/// Gram–Schmidt against the columns so far (that residual is at least `√(1/rows)`).
fn complete(q: &mut [f64], rows: usize, want: usize, have: usize) {
    for col in have..want {
        let mut best: Option<(f64, Vec<f64>)> = None;
        for e in 0..rows {
            let mut x = vec![0.0; rows];
            x[e] = 1.0;
            for _ in 0..2 {
                for j in 0..col {
                    let d: f64 = (0..rows).map(|i| q[i * want + j] * x[i]).sum();
                    for (i, xi) in x.iter_mut().enumerate() {
                        *xi -= d * q[i * want + j];
                    }
                }
            }
            let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            if best.as_ref().is_none_or(|(b, _)| norm > *b) {
                best = Some((norm, x));
            }
        }
        if let Some((norm, x)) = best {
            for i in 0..rows {
                q[i * want + col] = x[i] / norm;
            }
        }
    }
}

/// `(s, U, V)`: singular values and row-major singular vectors.
pub(crate) type Svd = (Vec<f64>, Vec<f64>, Vec<f64>);

/// The SVD `A = U diag(s) Vᵀ` of an `m × n` row-major matrix, `k = min(m, n)`:
/// `s` (k, descending), `U` row-major `m × k` (or `m × m` when `full`), `V` row-major
/// `n × k` (or `n × n`). Columns of `U`/`V` past the rank complete an orthonormal basis.
pub(crate) fn svd(a: &[f64], m: usize, n: usize, full: bool) -> Result<Svd, Failure> {
    finite(a)?;
    let (a, scale) = scaled(a);
    let (mut s, u, v) = svd_scaled(&a, m, n, full)?;
    s.iter_mut().for_each(|x| *x *= scale);
    Ok((s, u, v))
}

fn svd_scaled(a: &[f64], m: usize, n: usize, full: bool) -> Result<Svd, Failure> {
    if m < n {
        // Aᵀ = V S Uᵀ: the tall case with the factors swapped
        let mut at = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                at[j * m + i] = a[i * n + j];
            }
        }
        let (s, v, u) = svd_tall(&at, n, m, full)?;
        return Ok((s, u, v));
    }
    let (s, u, v) = svd_tall(a, m, n, full)?;
    Ok((s, u, v))
}

/// One-sided Jacobi (Hestenes) for `m ≥ n`: rotate pairs of columns of `W = A V`
/// until every pair is orthogonal to `m·ε` relative to their norms; then `s_j = ‖w_j‖`
/// and `u_j = w_j / s_j`.
fn svd_tall(a: &[f64], m: usize, n: usize, full: bool) -> Result<Svd, Failure> {
    // columns as contiguous vectors: the rotations read and write whole columns
    let mut w: Vec<Vec<f64>> = (0..n).map(|j| (0..m).map(|i| a[i * n + j]).collect()).collect();
    let mut v: Vec<Vec<f64>> = (0..n).map(|j| (0..n).map(|i| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    // the cosine of two columns is computed to about m·ε (a dot product of length m):
    // below that a rotation only stirs round-off (LAPACK's dgesvj uses the same scale)
    let tol = (m as f64) * f64::EPSILON;
    let mut converged = n < 2;
    for _ in 0..MAX_SWEEPS {
        if converged {
            break;
        }
        let mut rotated = false;
        // squared column norms, recomputed each sweep and carried through the rotations
        // in closed form (the 2 × 2 Gram matrix [[α, γ], [γ, β]] becomes
        // diag(α − tγ, β + tγ)): one dot product per pair instead of three
        let mut sq: Vec<f64> = w.iter().map(|c| dot(c, c)).collect();
        for p in 0..n {
            for q in p + 1..n {
                let (alpha, beta, gamma) = (sq[p], sq[q], dot(&w[p], &w[q]));
                if gamma == 0.0 || gamma.abs() <= tol * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let (c, s) = rotation((beta - alpha) / (2.0 * gamma));
                let t = s / c;
                sq[p] = (alpha - t * gamma).max(0.0);
                sq[q] = (beta + t * gamma).max(0.0);
                for cols in [&mut w, &mut v] {
                    let (left, right) = cols.split_at_mut(q);
                    for (xp, xq) in left[p].iter_mut().zip(right[0].iter_mut()) {
                        let (a, b) = (*xp, *xq);
                        *xp = c * a - s * b;
                        *xq = s * a + c * b;
                    }
                }
            }
        }
        converged = !rotated;
    }
    if !converged {
        return Err(Failure::NoConvergence);
    }
    let norms: Vec<f64> = w.iter().map(|c| dot(c, c).sqrt()).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| norms[j].total_cmp(&norms[i]));
    let ucols = if full { m } else { n };
    let s: Vec<f64> = order.iter().map(|&j| norms[j]).collect();
    let mut u = vec![0.0; m * ucols];
    let mut vv = vec![0.0; n * n];
    // a column is part of the range when its norm is above round-off of the largest
    let cutoff = s.first().copied().unwrap_or(0.0) * f64::EPSILON * (m as f64);
    let mut rank = 0;
    for (dst, &src) in order.iter().enumerate() {
        for i in 0..n {
            vv[i * n + dst] = v[src][i];
        }
        if s[dst] > cutoff && s[dst] > 0.0 {
            for i in 0..m {
                u[i * ucols + dst] = w[src][i] / s[dst];
            }
            rank += 1;
        }
    }
    // columns of tiny singular values carry round-off, not direction: rebuild them
    complete(&mut u, m, ucols, rank);
    for col in 0..n {
        fix_sign(&mut u, m, ucols, col, Some((&mut vv, n, n)));
    }
    Ok((s, u, vv))
}

/// Householder QR of an `m × n` row-major matrix, `k = min(m, n)`: `Q` row-major
/// `m × k` (or `m × m` when `complete`) and `R` `k × n` (or `m × n`), with `R`'s
/// diagonal non-negative.
pub(crate) fn qr(a: &[f64], m: usize, n: usize, complete: bool) -> Result<(Vec<f64>, Vec<f64>), Failure> {
    finite(a)?;
    let k = m.min(n);
    let (mut r, scale) = scaled(a);
    let mut reflectors: Vec<Vec<f64>> = Vec::with_capacity(k);
    for j in 0..k {
        // H = I - 2 v vᵀ maps x = R[j.., j] to (-sign(x₀) ‖x‖) e₁ without cancellation
        let norm = (j..m).map(|i| r[i * n + j] * r[i * n + j]).sum::<f64>().sqrt();
        let mut v: Vec<f64> = (j..m).map(|i| r[i * n + j]).collect();
        if norm == 0.0 {
            reflectors.push(Vec::new());
            continue;
        }
        v[0] += if v[0] >= 0.0 { norm } else { -norm };
        let vn = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= vn);
        for c in j..n {
            let d: f64 = (j..m).map(|i| v[i - j] * r[i * n + c]).sum();
            for i in j..m {
                r[i * n + c] -= 2.0 * d * v[i - j];
            }
        }
        for i in j + 1..m {
            r[i * n + j] = 0.0;
        }
        reflectors.push(v);
    }
    let qcols = if complete { m } else { k };
    // Q = H₀ H₁ ⋯ H_{k-1} applied to the first `qcols` columns of I, last reflector first
    let mut q = vec![0.0; m * qcols];
    for i in 0..qcols.min(m) {
        q[i * qcols + i] = 1.0;
    }
    for (j, v) in reflectors.iter().enumerate().rev() {
        if v.is_empty() {
            continue;
        }
        for c in 0..qcols {
            let d: f64 = (j..m).map(|i| v[i - j] * q[i * qcols + c]).sum();
            for i in j..m {
                q[i * qcols + c] -= 2.0 * d * v[i - j];
            }
        }
    }
    // (Q D)(D R) with D = diag(±1): R's diagonal made non-negative
    for j in 0..k {
        if r[j * n + j] < 0.0 {
            // from the diagonal on: the zeros left of it stay +0
            for c in j..n {
                r[j * n + c] = -r[j * n + c];
            }
            for i in 0..m {
                q[i * qcols + j] = -q[i * qcols + j];
            }
        }
    }
    let rrows = if complete { m } else { k };
    r.truncate(rrows * n);
    r.iter_mut().for_each(|x| *x *= scale);
    Ok((q, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn eigh_of_a_known_matrix() {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3, vectors (1, -1)/√2 and (1, 1)/√2
        let (w, v) = eigh(&[2.0, 1.0, 1.0, 2.0], 2, false).unwrap();
        assert!((w[0] - 1.0).abs() < 1e-15 && (w[1] - 3.0).abs() < 1e-15);
        let r = std::f64::consts::FRAC_1_SQRT_2;
        for (got, want) in v.iter().zip([r, r, -r, r]) {
            assert!((got - want).abs() < 1e-15, "{v:?}");
        }
    }

    #[test]
    fn tridiagonal_ql_gives_orthonormal_eigenpairs() {
        // a 40 × 40 symmetric matrix (above JACOBI_MAX) from a deterministic pattern:
        // A V = V Λ with VᵀV = I and Λ ascending is the whole decomposition
        let n = 40;
        let a: Vec<f64> = (0..n * n).map(|e| ((((e / n) + 1) * ((e % n) + 1)) % 17) as f64 - 8.0).collect();
        let (w, v) = eigh(&a, n, false).unwrap();
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
        let av = matmul(&a, &v, n, n, n); // a is symmetric: (i+1)(j+1) mod 17
        for (e, x) in av.iter().enumerate() {
            assert!((x - v[e] * w[e % n]).abs() < 1e-11, "entry {e}");
        }
        let vt: Vec<f64> = (0..n * n).map(|e| v[(e % n) * n + e / n]).collect();
        let vtv = matmul(&vt, &v, n, n, n);
        for (e, x) in vtv.iter().enumerate() {
            let want = if e / n == e % n { 1.0 } else { 0.0 };
            assert!((x - want).abs() < 1e-13, "entry {e}");
        }
    }

    #[test]
    fn svd_reconstructs_wide_and_tall() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.5];
        for (m, n) in [(2, 3), (3, 2)] {
            let (s, u, v) = svd(&a, m, n, false).unwrap();
            let k = m.min(n);
            let us: Vec<f64> = (0..m * k).map(|e| u[e] * s[e % k]).collect();
            let vt: Vec<f64> = (0..k * n).map(|e| v[(e % n) * k + e / n]).collect();
            let back = matmul(&us, &vt, m, k, n);
            assert!(back.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-13), "{back:?}");
            assert!(s[0] >= s[1]);
        }
    }

    #[test]
    fn qr_has_a_nonnegative_diagonal() {
        let a = [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (q, r) = qr(&a, 3, 2, false).unwrap();
        assert!(r[0] >= 0.0 && r[3] >= 0.0);
        let back = matmul(&q, &r, 3, 2, 2);
        assert!(back.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-13));
    }

    #[test]
    fn extreme_scales_neither_overflow_nor_underflow() {
        for c in [1e-300, 1e300] {
            let (w, _) = eigh(&[2.0 * c, c, c, 2.0 * c], 2, false).unwrap();
            assert!((w[1] / c - 3.0).abs() < 1e-14, "{w:?}");
            let (s, _, _) = svd(&[3.0 * c, 0.0, 0.0, 4.0 * c], 2, 2, false).unwrap();
            assert!((s[0] / c - 4.0).abs() < 1e-14, "{s:?}");
            let (_, r) = qr(&[3.0 * c, 4.0 * c], 2, 1, false).unwrap();
            assert!((r[0] / c - 5.0).abs() < 1e-14, "{r:?}");
        }
    }

    #[test]
    fn non_finite_input_is_refused() {
        assert_eq!(eigh(&[f64::NAN], 1, false), Err(Failure::NotFinite));
        assert_eq!(svd(&[f64::INFINITY], 1, 1, false).map(|_| ()), Err(Failure::NotFinite));
    }
}
