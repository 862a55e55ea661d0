//! Product kernels that read their operands in place, without packing.
//!
//! NOTE [few-row products]: a vectorized Jacobian of a wide layer multiplies a few
//! cotangent rows by a large weight matrix (the wide MLP: 8×256 @ 256×1024). A packing
//! GEMM (matrixmultiply) first copies all of the 2 MB right operand into panels, a full
//! extra pass over memory for only 8 rows of arithmetic. These kernels read B in place:
//! for each strip of columns they keep a block of C in registers and stream down the
//! rows of B, broadcasting A's entries. With AVX2 and FMA (detected at run time),
//! float64 and float32 share one kernel written with intrinsics over a register kind
//! (`Lanes`): 6 rows × 2 registers in twelve registers, enough independent FMA chains
//! to cover the FMA latency, and A read in place in any layout. With AVX-512 the same
//! kernel runs on 512-bit registers. That pays for few rows: an 8-row block loads 8
//! broadcasts of A and one register of B per step for 8 FMAs, bound by the loads with
//! 256-bit registers (8×256×1024: 34 GFLOP/s on one core, and no better from a packed
//! copy of B in L1), while 512-bit ones feed twice the arithmetic from the same loads
//! and take a whole 64-byte line of B per step (55 GFLOP/s, the core's FMA peak either
//! way: Zen 4 runs a 512-bit FMA in two halves). It reaches OpenBLAS's speed on one core
//! and serves every product whose B fits in cache or that has at most 8 rows; from
//! 2M multiply-adds up (float64) it is shared over the cores (see `pool`), as blocks
//! of rows or strips of columns. Without AVX2 a generic 4×8 block, packing A, serves
//! few-row products.

use std::sync::{Mutex, PoisonError};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut2, Axis};

use crate::dtype::Float;
use crate::kernels::lanes::{avx2_fma, madd, PORTABLE_FMA};
#[cfg(target_arch = "x86_64")]
use crate::kernels::lanes::{Avx2F32, Avx2F64, Avx512F32, Avx512F64, Lanes, Simd};

/// Rows of C per register block.
const MR: usize = 4;
/// Columns of C per register block.
const NB: usize = 8;

/// B up to this many bytes (one core's L2 cache here) is read in place by every block
/// of rows; a larger B is worth matrixmultiply's packing into cache-sized panels (512³
/// float64: 3.6 ms in place, 3.0 ms packed), unless there are so few rows that B is
/// streamed once anyway.
const B_IN_CACHE: usize = 1 << 20;

/// Whether `a @ b` (`a` of `m` rows, `b` standard layout `k × n`) should use this
/// module's kernels. Generic: few rows, a wide enough `b` that packing it would cost as
/// much as the product. Float64 and float32 with AVX2+FMA: any product whose B stays
/// in cache, or with at most 8 rows (float64 runs at 53-56 GFLOP/s on one core, where
/// matrixmultiply ran at 30-45, and large products are shared over the cores:
/// 512×256×64 at 98 GFLOP/s on two, matrixmultiply's threads 45-75; float32 at 100-108
/// GFLOP/s on one core: 32×256×64 in 10.1 µs, matrixmultiply 14.1).
pub(crate) fn direct_product_pays<T: Float>(m: usize, k: usize, n: usize) -> bool {
    let b_bytes = k.saturating_mul(n).saturating_mul(std::mem::size_of::<T>());
    if matches!(T::DTYPE, crate::dtype::DType::F64 | crate::dtype::DType::F32) && avx2_fma() {
        return m >= 2 && n >= 4 && k >= 1 && (b_bytes <= B_IN_CACHE || m <= 8);
    }
    (2..=16).contains(&m) && n >= 4 * NB && k >= 8 && k * n >= 1 << 14
}

/// `a @ b`, `a` read in any layout. A `b` not in standard layout (the transposed
/// weight of a forward-mode tangent, `t @ Wᵀ`) costs a copy of the smaller operand:
/// `b` itself, or `a` for the transposed product `(bᵀ aᵀ)ᵀ`, which reads `bᵀ` in place
/// and returns a column-major result.
pub(crate) fn direct_product<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Option<Array2<T>> {
    if b.is_standard_layout() {
        return product_in_place(a, b);
    }
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if m * k < k * n {
        if a.t().is_standard_layout() {
            // a column-major `a` (forward mode's tangent Wᵀ scaled): read in place
            return product_in_place(b.t(), a.t()).map(Array2::reversed_axes);
        }
        let a_t =
            crate::kernels::elementwise::materialize(&a.t().into_dyn()).into_dimensionality::<ndarray::Ix2>().ok()?;
        return product_in_place(b.t(), a_t.view()).map(Array2::reversed_axes);
    }
    product_in_place(a, b.as_standard_layout().view())
}

/// `a @ b` for a standard-layout `b` (any layout of `a`); `None` if `b` is not in
/// standard layout.
fn product_in_place<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Option<Array2<T>> {
    let bs = b.as_slice()?;
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    #[cfg(target_arch = "x86_64")]
    {
        use crate::dtype::DType::{F32, F64};
        let kind = (crate::kernels::lanes::simd(), T::DTYPE);
        if matches!(kind, (Simd::Avx512 | Simd::Avx2, F64 | F32)) {
            // The intrinsics kernels write every entry of C: it is not zeroed first (a
            // memset of 64 KB for the wide MLP's product, about 2 µs).
            let mut c = Vec::<T>::with_capacity(m * n);
            let out = c.as_mut_ptr();
            // SAFETY: T is the float type of each kind named (checked), so these are
            // buffers of it of the shapes given; the CPU has the kind's features. The
            // kernel has written all m × n entries when it returns.
            unsafe {
                match kind {
                    (Simd::Avx512, F64) => in_place_as::<T, Avx512F64>(a, bs, k, n, out, product_avx512::<Avx512F64>),
                    (Simd::Avx512, _) => in_place_as::<T, Avx512F32>(a, bs, k, n, out, product_avx512::<Avx512F32>),
                    (_, F64) => in_place_as::<T, Avx2F64>(a, bs, k, n, out, product_avx2::<Avx2F64>),
                    _ => in_place_as::<T, Avx2F32>(a, bs, k, n, out, product_avx2::<Avx2F32>),
                }
                c.set_len(m * n);
            }
            return Array2::from_shape_vec((m, n), c).ok();
        }
    }
    // the portable kernel (no AVX2 and FMA: every CPU that has both took the branch above)
    let mut c = vec![T::zero(); m * n];
    product::<T, PORTABLE_FMA>(a, bs, k, n, &mut c);
    Array2::from_shape_vec((m, n), c).ok()
}

/// `a @ b` by matrixmultiply, which packs both operands into cache-sized panels (the
/// products this module's kernels do not serve: a large B with many rows). Large ones
/// are shared over the pool by blocks of rows of C, each block a product of its own
/// (B is packed once per block, a small part of a block's work at this size). This
/// replaces matrixmultiply's own threading, a second pool that LUCID_NUM_THREADS did
/// not control and that hung in a forked child.
pub(crate) fn packed_product<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Array2<T> {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let threads = crate::kernels::pool::cores();
    let macs = m.saturating_mul(k).saturating_mul(n);
    if threads < 2 || macs < SHARE_MACS * 8 / std::mem::size_of::<T>() || m < 4 * MR {
        return a.dot(&b);
    }
    // about four blocks per core, each a multiple of the register block
    let rows = m.div_ceil(4 * threads).next_multiple_of(MR);
    let mut c = Array2::<T>::zeros((m, n));
    let blocks: Vec<Mutex<ArrayViewMut2<'_, T>>> = c.axis_chunks_iter_mut(Axis(0), rows).map(Mutex::new).collect();
    crate::kernels::pool::share(blocks.len(), &|i| {
        let mut ci = blocks[i].lock().unwrap_or_else(PoisonError::into_inner);
        let ai = a.slice(ndarray::s![i * rows..i * rows + ci.nrows(), ..]);
        general_mat_mul(T::one(), &ai, &b, T::zero(), &mut *ci);
    });
    drop(blocks);
    c
}

/// `c[i] = product(i)` for every matrix of a stack (`macs` multiply-adds in all),
/// shared over the pool by products when the stack is large.
pub(crate) fn stacked_products<T: Float>(
    c: &mut Array3<T>,
    macs: usize,
    product: &(dyn Fn(usize) -> Array2<T> + Sync),
) {
    let mut outs: Vec<ArrayViewMut2<'_, T>> = c.outer_iter_mut().collect();
    if crate::kernels::pool::cores() < 2 || outs.len() < 2 || macs < SHARE_MACS * 8 / std::mem::size_of::<T>() {
        for (i, ci) in outs.iter_mut().enumerate() {
            ci.assign(&product(i));
        }
        return;
    }
    let outs: Vec<Mutex<ArrayViewMut2<'_, T>>> = outs.into_iter().map(Mutex::new).collect();
    crate::kernels::pool::share(outs.len(), &|i| {
        let ci = product(i);
        outs[i].lock().unwrap_or_else(PoisonError::into_inner).assign(&ci);
    });
}

/// A product kernel entry for one register kind: `a` `m × k`, `b` `k × n`, `c` `m × n`.
#[cfg(target_arch = "x86_64")]
type Kernel<L> =
    unsafe fn(StridedRows<<L as Lanes>::T>, usize, Panel<<L as Lanes>::T>, usize, usize, Panel<<L as Lanes>::T>);

/// The intrinsics product for a `T` that is the float type of `L`, with `kernel`
/// compiled for `L`'s features.
///
/// SAFETY: `T` must be `L::T`; `a` is `m × k`, `bs` standard `k × n`, `c` `m × n`;
/// the CPU has `L`'s features. `c` need not be initialised: every entry is written.
#[cfg(target_arch = "x86_64")]
unsafe fn in_place_as<T: Float, L: Lanes>(
    a: ArrayView2<'_, T>,
    bs: &[T],
    k: usize,
    n: usize,
    c: *mut T,
    kernel: Kernel<L>,
) {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe {
        let a_l = StridedRows { ptr: a.as_ptr() as *const L::T, row: a.strides()[0], col: a.strides()[1] };
        let b_l = Panel { ptr: bs.as_ptr() as *mut L::T, ld: n };
        let c_l = Panel { ptr: c as *mut L::T, ld: n };
        product_shared::<L>(a_l, a.nrows(), b_l, k, n, c_l, kernel);
    }
}

/// A matrix read in place: element (i, j) at `ptr + i row + j col`.
#[derive(Clone, Copy)]
struct StridedRows<T> {
    ptr: *const T,
    row: isize,
    col: isize,
}

/// A row-major block inside a larger matrix: element (i, j) at `ptr + i ld + j`. (B is
/// only read through it.)
#[derive(Clone, Copy)]
struct Panel<T> {
    ptr: *mut T,
    ld: usize,
}

// SAFETY: both are plain addresses; the shared product gives each thread disjoint
// blocks of C to write and only reads A and B.
unsafe impl<T: Send> Send for StridedRows<T> {}
unsafe impl<T: Send> Sync for StridedRows<T> {}
unsafe impl<T: Send> Send for Panel<T> {}
unsafe impl<T: Send> Sync for Panel<T> {}

/// Products of at least this many multiply-adds (float64; twice as many for float32)
/// are shared over the cores: about 75 µs on one core. Sharing 20 µs products (512K)
/// paid in quiet runs (W2 64-256-32: 0.0375 -> 0.031 ms) and cost in a benchmark run
/// where the second core was contended (0.044 ms: the caller waits for a helper that
/// was descheduled holding a chunk); a longer job makes that wait small beside it.
const SHARE_MACS: usize = 1 << 21;

/// The product, cut into chunks for `pool::share` when it is large: blocks of rows of
/// C (a multiple of the kernel's six) when there are enough rows, else strips of
/// columns (a multiple of two registers), about four chunks per core. Each chunk is the
/// same kernel on a sub-block, so the sum for each entry of C, and the result, are the
/// same bit for bit however the chunks fall.
///
/// SAFETY: as for `product_avx2`.
#[cfg(target_arch = "x86_64")]
unsafe fn product_shared<L: Lanes>(
    a: StridedRows<L::T>,
    m: usize,
    b: Panel<L::T>,
    k: usize,
    n: usize,
    c: Panel<L::T>,
    kernel: Kernel<L>,
) {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe {
        let threads = crate::kernels::pool::cores();
        let macs = m.saturating_mul(k).saturating_mul(n);
        // float32 runs twice as many multiply-adds a second
        if threads < 2 || macs < SHARE_MACS * 8 / std::mem::size_of::<L::T>() {
            return kernel(a, m, b, k, n, c);
        }
        let per = |len: usize, unit: usize| len.div_ceil(4 * threads).div_ceil(unit).max(1) * unit;
        if m >= 12 * threads {
            let rows = per(m, 6);
            crate::kernels::pool::share(m.div_ceil(rows), &|chunk| {
                let (a, c) = (a, c); // captured whole: the fields alone are not Sync
                let i0 = chunk * rows;
                let a_i = StridedRows { ptr: a.ptr.offset(i0 as isize * a.row), ..a };
                let c_i = Panel { ptr: c.ptr.add(i0 * c.ld), ..c };
                // SAFETY: rows i0.. of A and C, inside both (i0 < m); chunks write disjoint rows.
                kernel(a_i, rows.min(m - i0), b, k, n, c_i)
            });
        } else {
            let cols = per(n, 2 * L::N);
            crate::kernels::pool::share(n.div_ceil(cols), &|chunk| {
                let (b, c) = (b, c); // captured whole: the fields alone are not Sync
                let j0 = chunk * cols;
                let b_j = Panel { ptr: b.ptr.add(j0), ..b };
                let c_j = Panel { ptr: c.ptr.add(j0), ..c };
                // SAFETY: columns j0.. of B and C, inside both (j0 < n); chunks write
                // disjoint columns.
                kernel(a, m, b_j, k, cols.min(n - j0), c_j)
            });
        }
    }
}

/// The product with intrinsics. Blocks of 6 rows × 2 registers of columns of C (6×8
/// float64, 6×16 float32) sit in twelve registers: twelve independent FMA chains cover
/// the FMA latency at two FMAs a cycle (the generic 4×8 block has eight and reached
/// about 75% of that; a 4×12 block needs a seventeenth register and spilled). Rows
/// left over go in blocks of 8 (one register wide), 6, 4 or 2; columns left over one
/// register at a time, the last ones masked. A's entries are broadcast straight from
/// its own storage, in any layout: no packing.
///
/// SAFETY: `a` must address `m × k` valid elements, `b` `k × n` and `c` `m × n` (`c`
/// written by this call alone); the CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2<L: Lanes>(a: StridedRows<L::T>, m: usize, b: Panel<L::T>, k: usize, n: usize, c: Panel<L::T>) {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe { row_blocks::<L>(a, m, b, k, n, c) }
}

/// `product_avx2` compiled with AVX-512, for the 512-bit kinds.
///
/// SAFETY: as for `product_avx2`; the CPU must have AVX-512F too.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn product_avx512<L: Lanes>(a: StridedRows<L::T>, m: usize, b: Panel<L::T>, k: usize, n: usize, c: Panel<L::T>) {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe { row_blocks::<L>(a, m, b, k, n, c) }
}

/// The body of the kernel entries: C in blocks of rows.
///
/// SAFETY: as for `product_avx2`, for `L`'s features.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn row_blocks<L: Lanes>(a: StridedRows<L::T>, m: usize, b: Panel<L::T>, k: usize, n: usize, c: Panel<L::T>) {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe {
        let mut i0 = 0;
        while i0 < m {
            i0 += match m - i0 {
                // 7-8 rows: one pass over B (a wide B does not fit in cache) in strips one
                // register wide, 8 accumulators
                left @ 7..=8 => row_block::<L, 8, false>(a, i0, left, b, k, n, c),
                left @ 5..=6 => row_block::<L, 6, true>(a, i0, left, b, k, n, c),
                left @ 3..=4 => row_block::<L, 4, true>(a, i0, left, b, k, n, c),
                left @ 1..=2 => row_block::<L, 2, true>(a, i0, left, b, k, n, c),
                _ => row_block::<L, 6, true>(a, i0, 6, b, k, n, c),
            };
        }
    }
}

/// Rows `i0..i0 + mr` of C (`mr ≤ R`; rows past `mr` repeat the last one, computed and
/// not stored), in strips two registers wide when `WIDE` (R × 2 accumulators), then one
/// register wide, then a masked last strip. Returns `mr`. No closures: they would not
/// get the target features.
///
/// SAFETY: as for `product_avx2`, with `i0 + mr ≤ m`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn row_block<L: Lanes, const R: usize, const WIDE: bool>(
    a: StridedRows<L::T>,
    i0: usize,
    mr: usize,
    b: Panel<L::T>,
    k: usize,
    n: usize,
    c: Panel<L::T>,
) -> usize {
    // SAFETY: the caller keeps this function's contract (see its doc).
    unsafe {
        let w = L::N;
        let mut rows = [a.ptr; R];
        for (r, p) in rows.iter_mut().enumerate() {
            *p = a.ptr.offset((i0 + r.min(mr - 1)) as isize * a.row);
        }
        let mut j0 = 0;
        while WIDE && j0 + 2 * w <= n {
            let mut acc = [[L::zeros(); 2]; R];
            for kk in 0..k {
                let bp = b.ptr.add(kk * b.ld + j0);
                let (b0, b1) = (L::load(bp), L::load(bp.add(w)));
                for r in 0..R {
                    let x = L::splat(rows[r].offset(kk as isize * a.col));
                    acc[r][0] = L::fma(x, b0, acc[r][0]);
                    acc[r][1] = L::fma(x, b1, acc[r][1]);
                }
            }
            for (r, acc_r) in acc.iter().enumerate().take(mr) {
                let cp = c.ptr.add((i0 + r) * c.ld + j0);
                L::store(cp, acc_r[0]);
                L::store(cp.add(w), acc_r[1]);
            }
            j0 += 2 * w;
        }
        while j0 + w <= n {
            let mut acc = [L::zeros(); R];
            for kk in 0..k {
                let bv = L::load(b.ptr.add(kk * b.ld + j0));
                for r in 0..R {
                    acc[r] = L::fma(L::splat(rows[r].offset(kk as isize * a.col)), bv, acc[r]);
                }
            }
            for (r, &x) in acc.iter().enumerate().take(mr) {
                L::store(c.ptr.add((i0 + r) * c.ld + j0), x);
            }
            j0 += w;
        }
        if j0 < n {
            // the last columns: masked loads and stores (lanes past n are not touched)
            let mask = L::mask(n - j0);
            let mut acc = [L::zeros(); R];
            for kk in 0..k {
                let bv = L::load_masked(b.ptr.add(kk * b.ld + j0), mask);
                for r in 0..R {
                    acc[r] = L::fma(L::splat(rows[r].offset(kk as isize * a.col)), bv, acc[r]);
                }
            }
            for (r, &x) in acc.iter().enumerate().take(mr) {
                L::store_masked(c.ptr.add((i0 + r) * c.ld + j0), mask, x);
            }
        }
        mr
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

    /// The product with one register kind's kernel, shared over the cores when large.
    #[cfg(target_arch = "x86_64")]
    fn product_with<L: Lanes>(a: ArrayView2<'_, L::T>, b: &Array2<L::T>, kernel: Kernel<L>) -> Array2<L::T> {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        let mut c = vec![<L::T as num_traits::Zero>::zero(); m * n];
        // SAFETY: the caller checked the CPU has L's features; the buffers have the
        // shapes given.
        unsafe { in_place_as::<L::T, L>(a, b.as_slice().unwrap(), k, n, c.as_mut_ptr(), kernel) };
        Array2::from_shape_vec((m, n), c).unwrap()
    }

    /// AVX-512 and AVX2 run one FMA chain per entry of C in the same order, so they
    /// agree bit for bit (results do not depend on which of the two a CPU has); both
    /// agree with the plain product. Covers every row block (8, 6, 4, 2 and their
    /// remainders), masked last columns, a transposed A, and shared products.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_register_kind_gives_the_same_product() {
        use crate::kernels::lanes::simd;
        if simd() == Simd::Portable {
            return;
        }
        for &(m, k, n) in
            &[(8, 256, 1024), (7, 33, 45), (6, 100, 17), (3, 64, 129), (13, 40, 70), (1, 5, 3), (2, 9, 40)]
        {
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 * 0.37 - 1.0);
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.25 - 1.5);
            let want = a.dot(&b);
            let at = a.t().to_owned();
            let avx2 = product_with::<Avx2F64>(a.view(), &b, product_avx2::<Avx2F64>);
            let err = (&avx2 - &want).iter().fold(0.0f64, |e, v| e.max(v.abs()));
            assert!(err < 1e-9, "{m}x{k}x{n} AVX2: {err}");
            assert_eq!(product_with::<Avx2F64>(at.t(), &b, product_avx2::<Avx2F64>), avx2);
            let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
            let avx2_32 = product_with::<Avx2F32>(a32.view(), &b32, product_avx2::<Avx2F32>);
            let err = (&avx2_32 - &a32.dot(&b32)).iter().fold(0.0f32, |e, v| e.max(v.abs()));
            assert!(err < 1e-3, "{m}x{k}x{n} AVX2 float32: {err}");
            if simd() == Simd::Avx512 {
                assert_eq!(product_with::<Avx512F64>(a.view(), &b, product_avx512::<Avx512F64>), avx2, "{m}x{k}x{n}");
                assert_eq!(product_with::<Avx512F64>(at.t(), &b, product_avx512::<Avx512F64>), avx2, "{m}x{k}x{n}");
                assert_eq!(product_with::<Avx512F32>(a32.view(), &b32, product_avx512::<Avx512F32>), avx2_32);
            }
        }
    }

    #[test]
    fn direct_product_equals_the_plain_product() {
        for &(m, k, n) in
            &[(2, 8, 33), (5, 17, 64), (8, 256, 1024), (16, 9, 40), (3, 64, 71), (7, 5, 3), (13, 30, 12), (33, 64, 50)]
        {
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.25 - 1.5);
            let got = direct_product(a.view(), b.view()).unwrap();
            let want = a.dot(&b);
            let err = (&got - &want).iter().fold(0.0f64, |e, v| e.max(v.abs()));
            assert!(err < 1e-9, "{m}x{k}x{n}: {err}");
            // a transposed A is read in place as well
            let at = a.t().to_owned();
            let got_t = direct_product(at.t(), b.view()).unwrap();
            assert_eq!(got_t, got);
            // a transposed B: copied, or the product transposed
            let bt = b.t().to_owned();
            let err = (&direct_product(a.view(), bt.t()).unwrap() - &want).iter().fold(0.0f64, |e, v| e.max(v.abs()));
            assert!(err < 1e-9, "{m}x{k}x{n} with B transposed: {err}");
            // both transposed (forward mode: a column-major tangent times Wᵀ)
            let err = (&direct_product(at.t(), bt.t()).unwrap() - &want).iter().fold(0.0f64, |e, v| e.max(v.abs()));
            assert!(err < 1e-9, "{m}x{k}x{n} with A and B transposed: {err}");
        }
        // products large enough to be shared over the cores, cut into blocks of rows
        // (with a remainder) or strips of columns (with a masked last strip), give what
        // the unshared kernel gives for each piece, bit for bit
        for &(m, k, n) in &[(250, 130, 64), (6, 700, 501), (8, 256, 1024), (13, 400, 403)] {
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 * 0.3 - 1.0);
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.25 - 1.5);
            let got = direct_product(a.view(), b.view()).unwrap();
            let err = (&got - &a.dot(&b)).iter().fold(0.0f64, |e, v| e.max(v.abs()));
            assert!(err < 1e-9, "{m}x{k}x{n}: {err}");
            for i0 in (0..m).step_by(7) {
                let rows = ndarray::s![i0..(i0 + 2).min(m), ..];
                let cols = ndarray::s![.., (i0 * 3) % n..((i0 * 3) % n + 5).min(n)];
                let piece = direct_product(a.slice(rows), b.slice(cols).to_owned().view()).unwrap();
                assert_eq!(piece, got.slice(rows).slice(cols), "{m}x{k}x{n} at row {i0}");
            }
        }
        // float32: few rows, masked columns, and shared over the cores by rows and by
        // columns
        for &(m, k, n) in &[(4, 20, 40), (7, 33, 13), (130, 500, 64), (5, 900, 1000)] {
            let a32 = Array2::from_shape_fn((m, k), |(i, j)| ((i + 2 * j) % 7) as f32 * 0.5 - 1.0);
            let b32 = Array2::from_shape_fn((k, n), |(i, j)| ((3 * i + j) % 11) as f32 * 0.1 - 0.5);
            let got = direct_product(a32.view(), b32.view()).unwrap();
            let err = (&got - &a32.dot(&b32)).iter().fold(0.0f32, |e, v| e.max(v.abs()));
            assert!(err < 1e-3, "{m}x{k}x{n} float32: {err}");
            let rows = ndarray::s![m / 2..m / 2 + 1, ..];
            assert_eq!(direct_product(a32.slice(rows), b32.view()).unwrap(), got.slice(rows), "{m}x{k}x{n} float32");
        }
    }
}
