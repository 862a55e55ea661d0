//! A product kernel for few rows times a wide matrix, without packing.
//!
//! NOTE [few-row products]: a vectorized Jacobian of a wide layer multiplies a few
//! cotangent rows by a large weight matrix (the wide MLP: 8×256 @ 256×1024). A packing
//! GEMM (matrixmultiply) first copies all of the 2 MB right operand into panels, a full
//! extra pass over memory for only 8 rows of arithmetic. This kernel reads B in place:
//! for each strip of NB columns it keeps an MR×NB block of C in registers and streams
//! down the rows of B, broadcasting A's entries from a small packed copy of A. With
//! AVX2 and FMA (detected at run time) the block is 4 rows × 8 float64 (8 registers of
//! accumulators), which keeps both FMA units busy.

use ndarray::{Array2, ArrayView2};

use crate::dtype::Float;

/// Rows of C per register block.
const MR: usize = 4;
/// Columns of C per register block.
const NB: usize = 8;

/// Whether `a @ b` (`a` of `m` rows, `b` standard layout `k × n`) should use this kernel:
/// few rows, a wide enough `b` that packing it would cost as much as the product.
pub(crate) fn few_rows_pays(m: usize, k: usize, n: usize) -> bool {
    (2..=16).contains(&m) && n >= 4 * NB && k >= 8 && k * n >= 1 << 14
}

/// `a @ b` for a standard-layout `b` (any layout of `a`); `None` if `b` is not in
/// standard layout.
pub(crate) fn few_rows_product<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Option<Array2<T>> {
    let bs = b.as_slice()?;
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let mut c = vec![T::zero(); m * n];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features the function is compiled for.
            unsafe { product_avx2_fma(a, bs, k, n, &mut c) };
            return Array2::from_shape_vec((m, n), c).ok();
        }
    }
    product::<T, false>(a, bs, k, n, &mut c);
    Array2::from_shape_vec((m, n), c).ok()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2_fma<T: Float>(a: ArrayView2<'_, T>, bs: &[T], k: usize, n: usize, c: &mut [T]) {
    product::<T, true>(a, bs, k, n, c)
}

/// `acc + x y`, fused when the caller was compiled with FMA (a fused multiply-add
/// without the instruction is a slow library call).
#[inline(always)]
fn madd<T: Float, const FMA: bool>(x: T, y: T, acc: T) -> T {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

#[inline(always)]
fn product<T: Float, const FMA: bool>(a: ArrayView2<'_, T>, bs: &[T], k: usize, n: usize, c: &mut [T]) {
    let m = a.nrows();
    let mut apack = vec![T::zero(); k * MR];
    for i0 in (0..m).step_by(MR) {
        let mr = MR.min(m - i0);
        // A's rows i0..i0+mr, interleaved by column: the MR entries of one k sit together.
        apack.iter_mut().for_each(|v| *v = T::zero());
        for r in 0..mr {
            for (kk, &v) in a.row(i0 + r).iter().enumerate() {
                apack[kk * MR + r] = v;
            }
        }
        let full = n - n % NB;
        for j0 in (0..full).step_by(NB) {
            let mut acc = [[T::zero(); NB]; MR];
            for (kk, ap) in apack.chunks_exact(MR).enumerate() {
                let w: &[T; NB] = bs[kk * n + j0..kk * n + j0 + NB].try_into().expect("NB columns");
                for r in 0..MR {
                    for j in 0..NB {
                        acc[r][j] = madd::<T, FMA>(ap[r], w[j], acc[r][j]);
                    }
                }
            }
            for (r, row) in acc.iter().enumerate().take(mr) {
                c[(i0 + r) * n + j0..(i0 + r) * n + j0 + NB].copy_from_slice(row);
            }
        }
        for j in full..n {
            for r in 0..mr {
                let mut s = T::zero();
                for kk in 0..k {
                    s = madd::<T, FMA>(apack[kk * MR + r], bs[kk * n + j], s);
                }
                c[(i0 + r) * n + j] = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_rows_equals_the_plain_product() {
        for &(m, k, n) in &[(2, 8, 33), (5, 17, 64), (8, 256, 1024), (16, 9, 40), (3, 64, 71)] {
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.25 - 1.5);
            let got = few_rows_product(a.view(), b.view()).unwrap();
            let want = a.dot(&b);
            let err = (&got - &want).iter().fold(0.0f64, |e, v| e.max(v.abs()));
            assert!(err < 1e-9, "{m}x{k}x{n}: {err}");
            // a transposed A is read in place as well
            let at = a.t().to_owned();
            let got_t = few_rows_product(at.t(), b.view()).unwrap();
            assert_eq!(got_t, got);
        }
        let a32 = Array2::from_shape_fn((4, 20), |(i, j)| (i + j) as f32 * 0.5);
        let b32 = Array2::from_shape_fn((20, 40), |(i, j)| (i as f32 - j as f32) * 0.1);
        let err = (&few_rows_product(a32.view(), b32.view()).unwrap() - &a32.dot(&b32))
            .iter()
            .fold(0.0f32, |e, v| e.max(v.abs()));
        assert!(err < 1e-3, "{err}");
    }
}
