//! One SIMD register of a float type, for the hand-written kernels (`gemm`, `matvec`).
//!
//! The product and matrix-vector kernels are written once over `Lanes`: a register
//! kind (AVX2's 256 bits or AVX-512's 512, of float64 or float32) and the handful of
//! operations they use. Every method is `inline(always)`, so it is compiled inside a
//! kernel entry marked `#[target_feature(enable = ...)]` and gets its features (the
//! disassembly has no calls). Closures would not: a closure is compiled on its own,
//! without them, and a fused multiply-add there is a slow library call.

use crate::dtype::Float;

/// The widest SIMD the intrinsics kernels can use on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Simd {
    /// AVX-512 (foundation) with AVX2 and FMA: 32 registers of 512 bits.
    Avx512,
    /// AVX2 and FMA: 16 registers of 256 bits.
    Avx2,
    /// Neither: the portable kernels.
    Portable,
}

/// The widest SIMD this CPU has (the detection is cached by the standard library).
pub(crate) fn simd() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("fma") {
            return if has!("avx512f") { Simd::Avx512 } else { Simd::Avx2 };
        }
    }
    Simd::Portable
}

/// Whether the intrinsics kernels run here (AVX2 and FMA at least).
pub(crate) fn avx2_fma() -> bool {
    simd() != Simd::Portable
}

/// Whether the portable kernels fuse multiply-adds: on aarch64 FMA is in the base
/// instruction set (`mul_add` is one instruction); elsewhere, without the run-time
/// checked intrinsics, it would be a slow library call.
pub(crate) const PORTABLE_FMA: bool = cfg!(target_arch = "aarch64");

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

/// One register kind and the few operations the kernels use: `N` lanes of the float
/// type `T`. Every method is `inline(always)`, so it is compiled inside the kernel,
/// with the kernel's target features; a kind may only be used inside a kernel entry
/// compiled with its features.
///
/// SAFETY (every method): the CPU has the kind's features; a pointer must address `N`
/// valid elements of `T` (for the masked forms, the lanes the mask selects).
#[cfg(target_arch = "x86_64")]
pub(crate) trait Lanes: Copy + Send + Sync + 'static {
    type T: Float;
    type V: Copy;
    /// Which lanes a masked load or store touches.
    type Mask: Copy;
    const N: usize;
    unsafe fn zeros() -> Self::V;
    unsafe fn load(p: *const Self::T) -> Self::V;
    unsafe fn store(p: *mut Self::T, v: Self::V);
    /// Every lane set to `*p`.
    unsafe fn splat(p: *const Self::T) -> Self::V;
    /// `a b + c`, fused.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn add_v(a: Self::V, b: Self::V) -> Self::V;
    /// The first `valid` lanes (`0 < valid < N`), for the last columns.
    unsafe fn mask(valid: usize) -> Self::Mask;
    /// The masked lanes from `p` (lanes past the mask are not read), zero elsewhere.
    unsafe fn load_masked(p: *const Self::T, m: Self::Mask) -> Self::V;
    /// The masked lanes of `v` to `p` (lanes past the mask are not written).
    unsafe fn store_masked(p: *mut Self::T, m: Self::Mask, v: Self::V);
}

/// A register kind: each method's body names its intrinsic, the macro only adds the
/// `inline(always)` wrapping the trait needs.
#[cfg(target_arch = "x86_64")]
macro_rules! lanes {
    ($(#[$doc:meta])* $kind:ident: $t:ty, $v:ty, $n:expr, $mask:ty {
        zeros: $zeros:expr,
        load($lp:ident): $load:expr,
        store($sp:ident, $sv:ident): $store:expr,
        splat($bp:ident): $splat:expr,
        fma($fa:ident, $fb:ident, $fc:ident): $fma:expr,
        add($aa:ident, $ab:ident): $add:expr,
        mask($valid:ident): $mk:expr,
        load_masked($mp:ident, $mm:ident): $lmask:expr,
        store_masked($qp:ident, $qm:ident, $qv:ident): $smask:expr,
    }) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub(crate) struct $kind;

        impl Lanes for $kind {
            type T = $t;
            type V = $v;
            type Mask = $mask;
            const N: usize = $n;
            #[inline(always)]
            unsafe fn zeros() -> $v {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $zeros
                }
            }
            #[inline(always)]
            unsafe fn load($lp: *const $t) -> $v {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $load
                }
            }
            #[inline(always)]
            unsafe fn store($sp: *mut $t, $sv: $v) {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $store
                }
            }
            #[inline(always)]
            unsafe fn splat($bp: *const $t) -> $v {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $splat
                }
            }
            #[inline(always)]
            unsafe fn fma($fa: $v, $fb: $v, $fc: $v) -> $v {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $fma
                }
            }
            #[inline(always)]
            unsafe fn add_v($aa: $v, $ab: $v) -> $v {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $add
                }
            }
            #[inline(always)]
            #[allow(unused_unsafe)] // AVX-512's mask is plain arithmetic
            unsafe fn mask($valid: usize) -> $mask {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $mk
                }
            }
            #[inline(always)]
            unsafe fn load_masked($mp: *const $t, $mm: $mask) -> $v {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $lmask
                }
            }
            #[inline(always)]
            unsafe fn store_masked($qp: *mut $t, $qm: $mask, $qv: $v) {
                // SAFETY: the caller keeps this function's contract (see its doc).
                unsafe {
                    $smask
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
lanes! {
    /// AVX2: 4 float64 lanes; masks are vectors of all-ones lanes.
    Avx2F64: f64, __m256d, 4, __m256i {
        zeros: _mm256_setzero_pd(),
        load(p): _mm256_loadu_pd(p),
        store(p, v): _mm256_storeu_pd(p, v),
        splat(p): _mm256_broadcast_sd(&*p),
        fma(a, b, c): _mm256_fmadd_pd(a, b, c),
        add(a, b): _mm256_add_pd(a, b),
        mask(valid): _mm256_loadu_si256([0, 1, 2, 3].map(|l| if l < valid { -1i64 } else { 0 }).as_ptr().cast()),
        load_masked(p, m): _mm256_maskload_pd(p, m),
        store_masked(p, m, v): _mm256_maskstore_pd(p, m, v),
    }
}

#[cfg(target_arch = "x86_64")]
lanes! {
    /// AVX2: 8 float32 lanes.
    Avx2F32: f32, __m256, 8, __m256i {
        zeros: _mm256_setzero_ps(),
        load(p): _mm256_loadu_ps(p),
        store(p, v): _mm256_storeu_ps(p, v),
        splat(p): _mm256_broadcast_ss(&*p),
        fma(a, b, c): _mm256_fmadd_ps(a, b, c),
        add(a, b): _mm256_add_ps(a, b),
        mask(valid): _mm256_loadu_si256([0, 1, 2, 3, 4, 5, 6, 7].map(|l| if l < valid { -1i32 } else { 0 }).as_ptr().cast()),
        load_masked(p, m): _mm256_maskload_ps(p, m),
        store_masked(p, m, v): _mm256_maskstore_ps(p, m, v),
    }
}

#[cfg(target_arch = "x86_64")]
lanes! {
    /// AVX-512: 8 float64 lanes, a whole cache line; masks are bit masks.
    Avx512F64: f64, __m512d, 8, __mmask8 {
        zeros: _mm512_setzero_pd(),
        load(p): _mm512_loadu_pd(p),
        store(p, v): _mm512_storeu_pd(p, v),
        splat(p): _mm512_set1_pd(*p),
        fma(a, b, c): _mm512_fmadd_pd(a, b, c),
        add(a, b): _mm512_add_pd(a, b),
        mask(valid): ((1u32 << valid) - 1) as __mmask8,
        load_masked(p, m): _mm512_maskz_loadu_pd(m, p),
        store_masked(p, m, v): _mm512_mask_storeu_pd(p, m, v),
    }
}

#[cfg(target_arch = "x86_64")]
lanes! {
    /// AVX-512: 16 float32 lanes.
    Avx512F32: f32, __m512, 16, __mmask16 {
        zeros: _mm512_setzero_ps(),
        load(p): _mm512_loadu_ps(p),
        store(p, v): _mm512_storeu_ps(p, v),
        splat(p): _mm512_set1_ps(*p),
        fma(a, b, c): _mm512_fmadd_ps(a, b, c),
        add(a, b): _mm512_add_ps(a, b),
        mask(valid): ((1u32 << valid) - 1) as __mmask16,
        load_masked(p, m): _mm512_maskz_loadu_ps(m, p),
        store_masked(p, m, v): _mm512_mask_storeu_ps(p, m, v),
    }
}

/// The lanes of `v` added pairwise (halves, then quarters, ...).
///
/// SAFETY: the CPU has `L`'s features.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn lane_sum<L: Lanes>(v: L::V) -> L::T {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe {
        let mut lanes = [<L::T as num_traits::Zero>::zero(); 16];
        L::store(lanes.as_mut_ptr(), v);
        let mut half = L::N / 2;
        while half > 0 {
            for l in 0..half {
                lanes[l] = lanes[l] + lanes[l + half];
            }
            half /= 2;
        }
        lanes[0]
    }
}
