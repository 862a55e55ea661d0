//! The matrix-vector product `A y` for row-major `A` (every layer's forward pass):
//! one row at a time in four registers of partial sums, with intrinsics (`Lanes`) when
//! the CPU has AVX2 and FMA, shared over the cores by rows when `A` is large. (Blocks
//! of rows that share loads of `y` were slower: LLVM vectorized them across rows, with
//! shuffles.)

use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::dtype::Float;
use crate::kernels::lanes::{avx2_fma, madd, PORTABLE_FMA};
#[cfg(target_arch = "x86_64")]
use crate::kernels::lanes::{lane_sum, Avx2F32, Avx2F64, Lanes};

/// Partial sums per row: independent FMA chains (four registers of float64), enough
/// to hide the FMA latency at one load of A per FMA.
const LANES: usize = 16;

/// `a @ y` for an `a` whose rows are contiguous (row stride `lda`, unit column
/// stride) and a contiguous `y`; `None` for other layouts.
pub(crate) fn row_dots<T: Float>(a: ArrayView2<'_, T>, y: ArrayView1<'_, T>) -> Option<Array1<T>> {
    let (m, k) = a.dim();
    let ys = y.as_slice()?;
    if m == 0 || k == 0 {
        return Some(Array1::zeros(m));
    }
    if a.strides()[1] != 1 && k > 1 {
        return None;
    }
    let lda = usize::try_from(a.strides()[0]).ok().filter(|&s| s >= k || m == 1)?;
    // SAFETY: rows 0..m of length k at stride lda lie inside `a`'s buffer (checked
    // layout: unit column stride, non-negative row stride of at least k).
    let data = unsafe { std::slice::from_raw_parts(a.as_ptr(), (m - 1) * lda + k) };
    let mut out = vec![T::zero(); m];
    let threads = crate::kernels::pool::cores();
    if threads >= 2 && m >= 32 && m.saturating_mul(k) >= SHARE_DOTS {
        let rows = m.div_ceil(4 * threads).div_ceil(8) * 8;
        let out_at = crate::kernels::pool::Disjoint(out.as_mut_ptr());
        crate::kernels::pool::share(m.div_ceil(rows), &|chunk| {
            let r0 = chunk * rows;
            // SAFETY: rows r0..r1 of `out`, inside it; chunks write disjoint rows.
            let part = unsafe { std::slice::from_raw_parts_mut(out_at.at(r0), rows.min(m - r0)) };
            dots_of_rows(&data[r0 * lda..], lda, ys, part);
        });
    } else {
        dots_of_rows(data, lda, ys, &mut out);
    }
    Some(Array1::from_vec(out))
}

/// Matrix-vector products over at least this many entries of A are shared over the
/// cores: one pass over A (2 MB for 1024×256) is bound by memory, and each core
/// brings its own bandwidth (1024×256 @ y: 26 µs on one core).
const SHARE_DOTS: usize = 1 << 18;

/// `out[i] = a_i · y` for the rows `a_i` at `i * lda` in `a`, with the fastest kernel
/// this CPU has.
fn dots_of_rows<T: Float>(a: &[T], lda: usize, ys: &[T], out: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: T is the float type named (checked), so the slices are slices of it;
        // the CPU supports the features the kernel is compiled for.
        unsafe fn as_lanes<T: Float, L: Lanes>(a: &[T], lda: usize, ys: &[T], out: &mut [T]) {
            // SAFETY: the caller keeps this function's contract (see its doc).
            unsafe {
                let cast = |s: &[T]| std::slice::from_raw_parts(s.as_ptr() as *const L::T, s.len());
                let out_l = std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut L::T, out.len());
                row_dots_avx2::<L>(cast(a), lda, cast(ys), out_l)
            }
        }
        if avx2_fma() {
            match T::DTYPE {
                crate::dtype::DType::F64 => return unsafe { as_lanes::<T, Avx2F64>(a, lda, ys, out) },
                crate::dtype::DType::F32 => return unsafe { as_lanes::<T, Avx2F32>(a, lda, ys, out) },
                _ => {}
            }
        }
    }
    row_dots_portable::<T, PORTABLE_FMA>(a, lda, ys, out);
}

/// `row_dots` with AVX2 and FMA intrinsics: four registers of partial sums per row
/// (16 float64 or 32 float32 lanes). (The generic version below vectorized to 128-bit
/// registers only.)
///
/// SAFETY: the CPU has AVX2 and FMA; `a` holds `out.len()` rows of `y.len()` elements
/// at stride `lda`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_dots_avx2<L: Lanes>(a: &[L::T], lda: usize, y: &[L::T], out: &mut [L::T]) {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe {
        let (k, w) = (y.len(), L::N);
        let body = k - k % (4 * w);
        for (i, o) in out.iter_mut().enumerate() {
            let row = &a[i * lda..i * lda + k];
            let (rp, yp) = (row.as_ptr(), y.as_ptr());
            let mut acc = [L::zeros(); 4];
            let mut kk = 0;
            while kk < body {
                for (v, acc_v) in acc.iter_mut().enumerate() {
                    let at = kk + w * v;
                    *acc_v = L::fma(L::load(rp.add(at)), L::load(yp.add(at)), *acc_v);
                }
                kk += 4 * w;
            }
            let mut s = lane_sum::<L>(L::add_v(L::add_v(acc[0], acc[1]), L::add_v(acc[2], acc[3])));
            for kk in body..k {
                s = num_traits::Float::mul_add(row[kk], y[kk], s);
            }
            *o = s;
        }
    }
}

// No closures below: a closure is not compiled with the caller's target features, and
// `mul_add` outside an FMA context is a library call.
#[inline(always)]
fn row_dots_portable<T: Float, const FMA: bool>(a: &[T], lda: usize, y: &[T], out: &mut [T]) {
    let k = y.len();
    let body = k - k % LANES;
    for (i, o) in out.iter_mut().enumerate() {
        let r = &a[i * lda..i * lda + k];
        let mut acc = [T::zero(); LANES];
        for kk in (0..body).step_by(LANES) {
            let yv: &[T; LANES] = y[kk..kk + LANES].try_into().expect("LANES entries");
            let x: &[T; LANES] = r[kk..kk + LANES].try_into().expect("LANES entries");
            for l in 0..LANES {
                acc[l] = madd::<T, FMA>(x[l], yv[l], acc[l]);
            }
        }
        *o = row_total::<T, FMA>(&acc, r, y, body);
    }
}

/// The lanes' partial sums added pairwise, plus the row's tail past `body`.
#[inline(always)]
fn row_total<T: Float, const FMA: bool>(acc: &[T; LANES], row: &[T], y: &[T], body: usize) -> T {
    let mut half = LANES / 2;
    let mut sums = *acc;
    while half > 0 {
        for l in 0..half {
            sums[l] = sums[l] + sums[l + half];
        }
        half /= 2;
    }
    let mut s = sums[0];
    for kk in body..y.len() {
        s = madd::<T, FMA>(row[kk], y[kk], s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn row_dots_equal_the_plain_product() {
        // (1001, 300) is shared over the cores in blocks of rows
        for &(m, k) in &[(1, 1), (3, 5), (4, 8), (7, 13), (256, 64), (33, 100), (1001, 300)] {
            let a = Array2::from_shape_fn((m, k + 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let y = Array1::from_shape_fn(k, |j| (j % 5) as f64 * 0.5 - 1.0);
            // a column slice: rows at stride k + 3
            let view = a.slice(ndarray::s![.., 1..k + 1]);
            let got = row_dots(view, y.view()).unwrap();
            let want = view.dot(&y);
            let err = (&got - &want).iter().fold(0.0f64, |e, v| e.max(v.abs()));
            assert!(err < 1e-12, "{m}x{k}: {err}");
        }
        let a32 = Array2::from_shape_fn((9, 70), |(i, j)| (i + j) as f32 * 0.5);
        let y32 = Array1::from_shape_fn(70, |j| j as f32 * 0.1);
        let err =
            (&row_dots(a32.view(), y32.view()).unwrap() - &a32.dot(&y32)).iter().fold(0.0f32, |e, v| e.max(v.abs()));
        assert!(err < 1e-2, "{err}");
        // columns of a row-major matrix are not rows: the caller falls back
        assert!(row_dots(a32.t(), Array1::from_shape_fn(9, |j| j as f32).view()).is_none());
    }
}
