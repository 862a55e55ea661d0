//! One SIMD register of a float type, for the hand-written kernels (`gemm`, `matvec`).
//!
//! The product and matrix-vector kernels are written once over `Lanes`: an AVX2
//! register of float64 (4 lanes) or float32 (8 lanes) and the handful of operations
//! they use. Every method is `inline(always)`, so it is compiled inside a kernel marked
//! `#[target_feature(enable = "avx2,fma")]` and gets its features (the disassembly has
//! no calls). Closures would not: a closure is compiled on its own, without them, and a
//! fused multiply-add there is a slow library call.

use crate::dtype::Float;

/// Whether the intrinsics kernels run here (AVX2 and FMA).
pub(crate) fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `acc + x y`, fused when the caller was compiled with FMA (a fused multiply-add
/// without the instruction is a slow library call).
#[inline(always)]
pub(crate) fn madd<T: Float, const FMA: bool>(x: T, y: T, acc: T) -> T {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

/// One AVX2 register of a float type and the few operations the product kernel uses:
/// float64 in 4 lanes, float32 in 8. Every method is `inline(always)`, so it is
/// compiled inside the kernel, with the kernel's AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) trait Lanes: Float + Send + Sync {
    type V: Copy;
    const N: usize;
    unsafe fn zeros() -> Self::V;
    unsafe fn load(p: *const Self) -> Self::V;
    unsafe fn store(p: *mut Self, v: Self::V);
    /// Every lane set to `*p`.
    unsafe fn splat(p: *const Self) -> Self::V;
    /// `a b + c`, fused.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn add_v(a: Self::V, b: Self::V) -> Self::V;
    /// The first `valid` lanes (`0 < valid < N`), for the last columns.
    unsafe fn mask(valid: usize) -> std::arch::x86_64::__m256i;
    unsafe fn load_masked(p: *const Self, m: std::arch::x86_64::__m256i) -> Self::V;
    unsafe fn store_masked(p: *mut Self, m: std::arch::x86_64::__m256i, v: Self::V);
}

#[cfg(target_arch = "x86_64")]
impl Lanes for f64 {
    type V = std::arch::x86_64::__m256d;
    const N: usize = 4;
    #[inline(always)]
    unsafe fn zeros() -> Self::V {
        std::arch::x86_64::_mm256_setzero_pd()
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self::V {
        std::arch::x86_64::_mm256_loadu_pd(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f64, v: Self::V) {
        std::arch::x86_64::_mm256_storeu_pd(p, v)
    }
    #[inline(always)]
    unsafe fn splat(p: *const f64) -> Self::V {
        std::arch::x86_64::_mm256_broadcast_sd(&*p)
    }
    #[inline(always)]
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::arch::x86_64::_mm256_fmadd_pd(a, b, c)
    }
    #[inline(always)]
    unsafe fn add_v(a: Self::V, b: Self::V) -> Self::V {
        std::arch::x86_64::_mm256_add_pd(a, b)
    }
    #[inline(always)]
    unsafe fn mask(valid: usize) -> std::arch::x86_64::__m256i {
        let on = [0, 1, 2, 3].map(|l| if l < valid { -1i64 } else { 0 });
        std::arch::x86_64::_mm256_loadu_si256(on.as_ptr().cast())
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f64, m: std::arch::x86_64::__m256i) -> Self::V {
        std::arch::x86_64::_mm256_maskload_pd(p, m)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f64, m: std::arch::x86_64::__m256i, v: Self::V) {
        std::arch::x86_64::_mm256_maskstore_pd(p, m, v)
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for f32 {
    type V = std::arch::x86_64::__m256;
    const N: usize = 8;
    #[inline(always)]
    unsafe fn zeros() -> Self::V {
        std::arch::x86_64::_mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        std::arch::x86_64::_mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        std::arch::x86_64::_mm256_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self::V {
        std::arch::x86_64::_mm256_broadcast_ss(&*p)
    }
    #[inline(always)]
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::arch::x86_64::_mm256_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn add_v(a: Self::V, b: Self::V) -> Self::V {
        std::arch::x86_64::_mm256_add_ps(a, b)
    }
    #[inline(always)]
    unsafe fn mask(valid: usize) -> std::arch::x86_64::__m256i {
        let on = [0, 1, 2, 3, 4, 5, 6, 7].map(|l| if l < valid { -1i32 } else { 0 });
        std::arch::x86_64::_mm256_loadu_si256(on.as_ptr().cast())
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: std::arch::x86_64::__m256i) -> Self::V {
        std::arch::x86_64::_mm256_maskload_ps(p, m)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, m: std::arch::x86_64::__m256i, v: Self::V) {
        std::arch::x86_64::_mm256_maskstore_ps(p, m, v)
    }
}

/// The lanes of `v` added pairwise (halves, then quarters, ...).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn lane_sum<T: Lanes>(v: T::V) -> T {
    let mut lanes = [T::zero(); 8];
    T::store(lanes.as_mut_ptr(), v);
    let mut half = T::N / 2;
    while half > 0 {
        for l in 0..half {
            lanes[l] = lanes[l] + lanes[l + half];
        }
        half /= 2;
    }
    lanes[0]
}
