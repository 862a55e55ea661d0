//! Elementwise kernel helpers shared by the op families: broadcasting zips over two
//! storages of the same dtype, instantiated once per element type.

use ndarray::{ArcArray, Array, ArrayView, Axis, IxDyn, Zip};

use crate::dtype::DType;
use crate::error::{Error, Result};

/// Broadcast two arrays to `shape` and combine them elementwise.
///
/// Operands that are broadcast or not in standard layout are first materialised in
/// standard layout by block copies ([`materialize`]): a zip over zero or permuted
/// strides walks element by element and ran ~6× slower than the copy plus a
/// contiguous zip.
pub fn zip_broadcast<A: Clone, B: Clone, C: Clone>(
    op: &'static str,
    a: &ArcArray<A, IxDyn>,
    b: &ArcArray<B, IxDyn>,
    shape: &[usize],
    f: impl Fn(A, B) -> C,
) -> Result<ArcArray<C, IxDyn>> {
    ensure_allocatable::<C>(op, shape)?;
    let sh = IxDyn(shape);
    let bad = || Error::shape(op, format!("shapes {:?} and {:?} cannot be broadcast together", a.shape(), b.shape()));
    // A one-element operand (a scalar constant in most rules) is a closure constant.
    if b.len() == 1 && a.shape() == shape {
        let y = b.iter().next().cloned().ok_or_else(bad)?;
        return Ok(a.map(|x| f(x.clone(), y.clone())).into_shared());
    }
    if a.len() == 1 && b.shape() == shape {
        let x = a.iter().next().cloned().ok_or_else(bad)?;
        return Ok(b.map(|y| f(x.clone(), y.clone())).into_shared());
    }
    // Both contiguous, each the full shape or broadcast along whole leading or trailing
    // blocks (a bias row, a column of scales): loops over slices, nothing materialised.
    if let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice()) {
        if let Some(out) = zip_blocks(xs, Layout::of(a.shape(), shape), ys, Layout::of(b.shape(), shape), &f) {
            return ArcArray::from_shape_vec(IxDyn(shape), out).map_err(|e| Error::shape(op, e.to_string()));
        }
    }
    // Both contiguous in reversed axis order (column-major, such as a transposed
    // matrix: forward mode's tangent Wᵀ scaled by tanh'): the same loops in the
    // reversed frame, and a column-major result.
    if shape.len() >= 2 && a.ndim() <= shape.len() && b.ndim() <= shape.len() {
        let (ar, br) = (reversed_frame(a.view(), shape.len()), reversed_frame(b.view(), shape.len()));
        if let (Some(xs), Some(ys)) = (ar.as_slice(), br.as_slice()) {
            let rshape: Vec<usize> = shape.iter().rev().copied().collect();
            if let Some(out) = zip_blocks(xs, Layout::of(ar.shape(), &rshape), ys, Layout::of(br.shape(), &rshape), &f)
            {
                let r = ArcArray::from_shape_vec(IxDyn(&rshape), out).map_err(|e| Error::shape(op, e.to_string()))?;
                return Ok(r.reversed_axes());
            }
        }
    }
    let av: ArrayView<A, IxDyn> = a.broadcast(sh.clone()).ok_or_else(bad)?;
    let bv: ArrayView<B, IxDyn> = b.broadcast(sh).ok_or_else(bad)?;
    let a_std;
    let av = if av.is_standard_layout() {
        av
    } else {
        a_std = materialize(&av);
        a_std.view()
    };
    let b_std;
    let bv = if bv.is_standard_layout() {
        bv
    } else {
        b_std = materialize(&bv);
        b_std.view()
    };
    Ok(Zip::from(&av).and(&bv).map_collect(|x, y| f(x.clone(), y.clone())).into_shared())
}

/// `v` with leading axes of length 1 up to `ndim`, then its axes reversed.
fn reversed_frame<T>(mut v: ArrayView<'_, T, IxDyn>, ndim: usize) -> ArrayView<'_, T, IxDyn> {
    while v.ndim() < ndim {
        v = v.insert_axis(ndarray::Axis(0));
    }
    v.reversed_axes()
}

/// How a contiguous operand covers a broadcast result.
#[derive(Clone, Copy)]
enum Layout {
    /// The result's own shape.
    Full,
    /// The result's trailing block of this many elements, repeated (shape `[1.., *out[k..]]`).
    Repeated(usize),
    /// One element per leading index, each held for this many elements (shape
    /// `[*out[..k], 1..]`).
    Held(usize),
    /// Broadcast along one run of middle dims: per leading block, a trailing block of
    /// `inner` elements held for `mid` repetitions (shape `[*out[..lo], 1.., *out[hi+1..]]`:
    /// a per-sample row `(B, 1, n)` against `(B, m, n)`, as batched replays make them).
    Middle {
        inner: usize,
        mid: usize,
    },
    Other,
}

impl Layout {
    fn of(x: &[usize], out: &[usize]) -> Layout {
        if x == out {
            return Layout::Full;
        }
        if x.len() > out.len() {
            return Layout::Other;
        }
        let padded: Vec<usize> = std::iter::repeat_n(1, out.len() - x.len()).chain(x.iter().copied()).collect();
        // first and last dims where x differs from out (x is 1 there)
        let differs: Vec<usize> = (0..out.len()).filter(|&d| padded[d] != out[d]).collect();
        let (Some(&lo), Some(&hi)) = (differs.first(), differs.last()) else { return Layout::Full };
        if differs.iter().any(|&d| padded[d] != 1) {
            return Layout::Other;
        }
        if (0..=hi).all(|d| padded[d] == 1) {
            return Layout::Repeated(out[hi + 1..].iter().product());
        }
        if (lo..out.len()).all(|d| padded[d] == 1) {
            return Layout::Held(out[lo..].iter().product());
        }
        if (lo..=hi).all(|d| padded[d] == 1) {
            return Layout::Middle { inner: out[hi + 1..].iter().product(), mid: out[lo..=hi].iter().product() };
        }
        Layout::Other
    }
}

/// `f` over two contiguous operands laid out as [`Layout`]s of one result, or `None`
/// for layouts this does not cover.
fn zip_blocks<A: Clone, B: Clone, C>(
    xs: &[A],
    xl: Layout,
    ys: &[B],
    yl: Layout,
    f: &impl Fn(A, B) -> C,
) -> Option<Vec<C>> {
    use Layout::*;
    let pair = |x: &A, y: &B| f(x.clone(), y.clone());
    let mut out: Vec<C> = Vec::with_capacity(xs.len().max(ys.len()));
    // each arm extends by whole chunks (exact-size iterators: no per-element checks)
    match (xl, yl) {
        (Full, Full) => out.extend(xs.iter().zip(ys).map(|(x, y)| pair(x, y))),
        (Full, Repeated(n)) if n > 0 => {
            xs.chunks_exact(n).for_each(|c| out.extend(c.iter().zip(ys).map(|(x, y)| pair(x, y))))
        }
        (Repeated(n), Full) if n > 0 => {
            ys.chunks_exact(n).for_each(|c| out.extend(xs.iter().zip(c).map(|(x, y)| pair(x, y))))
        }
        (Full, Held(n)) if n > 0 => {
            xs.chunks_exact(n).zip(ys).for_each(|(c, y)| out.extend(c.iter().map(|x| pair(x, y))))
        }
        (Held(n), Full) if n > 0 => {
            ys.chunks_exact(n).zip(xs).for_each(|(c, x)| out.extend(c.iter().map(|y| pair(x, y))))
        }
        // per leading block: x's `mid` rows of `inner` each against y's one row
        (Full, Middle { inner, mid }) if inner > 0 && mid > 0 => {
            xs.chunks_exact(inner * mid).zip(ys.chunks_exact(inner)).for_each(|(block, row)| {
                block.chunks_exact(inner).for_each(|c| out.extend(c.iter().zip(row).map(|(x, y)| pair(x, y))))
            })
        }
        (Middle { inner, mid }, Full) if inner > 0 && mid > 0 => {
            ys.chunks_exact(inner * mid).zip(xs.chunks_exact(inner)).for_each(|(block, row)| {
                block.chunks_exact(inner).for_each(|c| out.extend(row.iter().zip(c).map(|(x, y)| pair(x, y))))
            })
        }
        // an outer product: x over the leading block, y over the trailing one
        (Held(n), Repeated(m)) if n == m => xs.iter().for_each(|x| out.extend(ys.iter().map(|y| pair(x, y)))),
        (Repeated(m), Held(n)) if n == m => ys.iter().for_each(|y| out.extend(xs.iter().map(|x| pair(x, y)))),
        _ => return None,
    }
    Some(out)
}

/// Error unless a result of `shape` can be allocated. Ordinary sizes pass untouched;
/// from 1 GiB on, the allocation is tried first, so a broadcast that asks for more
/// memory than the machine has (an outer product of two long vectors) is an error,
/// not an abort.
pub fn ensure_allocatable<T>(op: &'static str, shape: &[usize]) -> Result<()> {
    let n = crate::dtype::checked_numel(op, shape, std::mem::size_of::<T>())?;
    let bytes = n * std::mem::size_of::<T>();
    if bytes >= 1 << 30 {
        let mut probe: Vec<T> = Vec::new();
        probe.try_reserve_exact(n).map_err(|_| {
            Error::argument(op, format!("cannot allocate {bytes} bytes for a result of shape {shape:?}"))
        })?;
    }
    Ok(())
}

/// [`ensure_allocatable`] for elements of `dtype`.
pub fn ensure_allocatable_as(op: &'static str, dtype: DType, shape: &[usize]) -> Result<()> {
    match dtype {
        DType::F32 => ensure_allocatable::<f32>(op, shape),
        DType::F64 => ensure_allocatable::<f64>(op, shape),
        DType::I64 => ensure_allocatable::<i64>(op, shape),
        DType::Bool => ensure_allocatable::<bool>(op, shape),
    }
}

/// `f` of every element. An operand laid out contiguously (in any order) maps as one
/// slice, keeping its layout; any other (a slice `x[..., 0:3]` of a wider array, a
/// broadcast) is first copied by [`materialize`]'s block copies, since ndarray's map
/// over a strided n-d view steps an n-d index per element (several times slower).
pub fn map_dense<T: Copy, U: Clone>(a: &ArcArray<T, IxDyn>, f: impl Fn(T) -> U) -> ArcArray<U, IxDyn> {
    if a.as_slice_memory_order().is_some() || a.len() < 64 {
        return a.mapv(f).into_shared();
    }
    materialize(&a.view()).mapv(f).into_shared()
}

/// A standard-layout copy of any view (broadcast, permuted or sliced), built by block
/// copies: a dim the view broadcasts (stride 0) is filled once and then copied, a
/// contiguous tail is copied as one slice.
pub fn materialize<T: Clone>(v: &ArrayView<'_, T, IxDyn>) -> Array<T, IxDyn> {
    if let Some(t) = transposed_copy(v) {
        return t;
    }
    let n = v.len();
    let mut out: Vec<T> = Vec::with_capacity(n);
    if n > 0 {
        fill(&mut out, v);
    }
    Array::from_shape_vec(v.raw_dim(), out).unwrap_or_else(|_| v.to_owned())
}

/// A transposed matrix (column-major view) copied tile by tile, so reads and writes
/// both stay within a few cache lines (row by row, every read would miss).
fn transposed_copy<T: Clone>(v: &ArrayView<'_, T, IxDyn>) -> Option<Array<T, IxDyn>> {
    const TILE: usize = 32;
    let m = v.view().into_dimensionality::<ndarray::Ix2>().ok()?;
    let (rows, cols) = m.dim();
    if m.strides()[0] != 1 || m.strides()[1] <= 1 || rows < TILE || cols < TILE {
        return None;
    }
    // mᵀ is row-major: src[j * rows + i] = m[i, j].
    let mt = m.t();
    let src = mt.as_slice()?;
    let mut out: Vec<T> = vec![src[0].clone(); rows * cols];
    for i0 in (0..rows).step_by(TILE) {
        let i1 = (i0 + TILE).min(rows);
        for j0 in (0..cols).step_by(TILE) {
            for j in j0..(j0 + TILE).min(cols) {
                let col = &src[j * rows + i0..j * rows + i1];
                for (k, x) in col.iter().enumerate() {
                    out[(i0 + k) * cols + j] = x.clone();
                }
            }
        }
    }
    Array::from_shape_vec(v.raw_dim(), out).ok()
}

/// Append the elements of `v` in row-major order to `out`.
fn fill<T: Clone>(out: &mut Vec<T>, v: &ArrayView<'_, T, IxDyn>) {
    if let Some(s) = v.as_slice() {
        out.extend_from_slice(s);
        return;
    }
    if fill_broadcast(out, v) {
        return;
    }
    if v.ndim() <= 1 {
        match (v.ndim(), v.strides().first()) {
            (1, Some(0)) if !v.is_empty() => out.extend(std::iter::repeat_n(v[[0]].clone(), v.len())),
            _ => out.extend(v.iter().cloned()),
        }
        return;
    }
    let n0 = v.shape()[0];
    if v.ndim() == 2 && v.strides()[0] != 0 {
        // Rows as fixed-rank views: a tight strided loop per row.
        if let Ok(m) = v.view().into_dimensionality::<ndarray::Ix2>() {
            let (cols, inner) = (m.ncols(), m.strides()[1]);
            for row in m.rows() {
                if let Some(s) = row.as_slice() {
                    out.extend_from_slice(s);
                } else if inner == 0 && cols > 0 {
                    out.extend(std::iter::repeat_n(row[0].clone(), cols));
                } else {
                    out.extend(row.iter().cloned());
                }
            }
            return;
        }
    }
    if v.strides()[0] == 0 {
        let start = out.len();
        fill(out, &v.index_axis(Axis(0), 0));
        let end = out.len();
        for _ in 1..n0 {
            out.extend_from_within(start..end);
        }
    } else {
        for i in 0..n0 {
            fill(out, &v.index_axis(Axis(0), i));
        }
    }
}

/// `v` when it is a contiguous array broadcast along some dims (an `expand`, a
/// reduction's cotangent held along the reduced dims, a per-sample row against a
/// batch): its dims folded into runs of broadcast and of contiguous dims, each run one
/// loop, so no index arithmetic per element or per row. False (nothing written) for
/// any other layout.
fn fill_broadcast<T: Clone>(out: &mut Vec<T>, v: &ArrayView<'_, T, IxDyn>) -> bool {
    // the source: v without its broadcast dims, which must be contiguous
    let mut core = v.view();
    for ax in (0..v.ndim()).rev() {
        if v.strides()[ax] == 0 {
            core = core.index_axis_move(Axis(ax), 0);
        }
    }
    if core.ndim() == v.ndim() {
        return false;
    }
    let Some(src) = core.as_slice() else { return false };
    // runs: (length, broadcast), adjacent dims of one kind merged, length-1 dims dropped
    let mut runs: Vec<(usize, bool)> = Vec::with_capacity(v.ndim());
    for (&len, &stride) in v.shape().iter().zip(v.strides()) {
        let bcast = stride == 0;
        match runs.last_mut() {
            _ if len == 1 => {}
            Some((l, b)) if *b == bcast => *l *= len,
            _ => runs.push((len, bcast)),
        }
    }
    fill_runs(out, src, &runs);
    true
}

/// Append `src` laid out by `runs` (see [`fill_broadcast`]): a broadcast run repeats
/// what the runs after it write, a contiguous run steps through `src`.
fn fill_runs<T: Clone>(out: &mut Vec<T>, src: &[T], runs: &[(usize, bool)]) {
    let Some((&(len, bcast), rest)) = runs.split_first() else {
        out.push(src[0].clone());
        return;
    };
    if rest.is_empty() {
        if bcast {
            out.extend(std::iter::repeat_n(src[0].clone(), len));
        } else {
            out.extend_from_slice(&src[..len]);
        }
    } else if bcast {
        let start = out.len();
        fill_runs(out, src, rest);
        let end = out.len();
        for _ in 1..len {
            out.extend_from_within(start..end);
        }
    } else if let [(k, true)] = rest {
        // each element held k times (a reduction's cotangent): one flat loop
        for x in &src[..len] {
            out.extend(std::iter::repeat_n(x.clone(), *k));
        }
    } else {
        // source elements per index of this run: the contiguous runs after it
        let inner: usize = rest.iter().filter(|r| !r.1).map(|r| r.0).product();
        for block in src.chunks_exact(inner).take(len) {
            fill_runs(out, block, rest);
        }
    }
}

/// Elementwise map over a floating storage; integer and bool storages are an error
/// naming `$op`. The closure is instantiated for f32 and f64.
#[macro_export]
#[doc(hidden)]
macro_rules! map_float {
    ($op:expr, $s:expr, |$v:ident| $body:expr) => {
        match $s {
            $crate::dtype::Storage::F32(a) => {
                Ok($crate::dtype::Storage::F32($crate::kernels::elementwise::map_dense(a, |$v: f32| $body)))
            }
            $crate::dtype::Storage::F64(a) => {
                Ok($crate::dtype::Storage::F64($crate::kernels::elementwise::map_dense(a, |$v: f64| $body)))
            }
            other => Err($crate::error::Error::dtype(
                $op,
                format!("expected a floating point tensor, got {}", other.dtype()),
            )),
        }
    };
}

/// Elementwise binary kernel on two same-dtype storages broadcast to `$shape`.
/// Float storages use the first closure; an optional `int |i, j| …` closure adds an
/// int64 arm; any other dtype is an error naming `$op`.
#[macro_export]
#[doc(hidden)]
macro_rules! zip_storage {
    ($op:expr, $a:expr, $b:expr, $shape:expr, |$x:ident, $y:ident| $body:expr) => {
        $crate::zip_storage!(@go $op, $a, $b, $shape, |$x, $y| $body, )
    };
    ($op:expr, $a:expr, $b:expr, $shape:expr, |$x:ident, $y:ident| $body:expr,
     int |$i:ident, $j:ident| $ibody:expr) => {
        $crate::zip_storage!(@go $op, $a, $b, $shape, |$x, $y| $body,
            ($crate::dtype::Storage::I64(a), $crate::dtype::Storage::I64(b)) => {
                $crate::kernels::elementwise::zip_broadcast($op, a, b, $shape, |$i: i64, $j: i64| $ibody)
                    .map($crate::dtype::Storage::I64)
            }
        )
    };
    (@go $op:expr, $a:expr, $b:expr, $shape:expr, |$x:ident, $y:ident| $body:expr, $($extra:tt)*) => {{
        use $crate::dtype::Storage;
        use $crate::kernels::elementwise::zip_broadcast;
        match ($a, $b) {
            (Storage::F32(a), Storage::F32(b)) => {
                zip_broadcast($op, a, b, $shape, |$x: f32, $y: f32| $body).map(Storage::F32)
            }
            (Storage::F64(a), Storage::F64(b)) => {
                zip_broadcast($op, a, b, $shape, |$x: f64, $y: f64| $body).map(Storage::F64)
            }
            $($extra)*
            (a, b) => Err($crate::error::Error::dtype(
                $op,
                format!("not supported for dtypes {} and {}", a.dtype(), b.dtype()),
            )),
        }
    }};
}

/// Reshape in row-major order, sharing the buffer when the layout allows it and
/// copying to standard layout otherwise (transposed views, column-major products).
pub fn reshape_array<T: Clone>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    shape: &[usize],
) -> Result<ArcArray<T, IxDyn>> {
    if a.shape() == shape {
        return Ok(a.clone()); // any layout: nothing to reorder
    }
    let a = if a.is_standard_layout() { a.clone() } else { materialize(&a.view()).into_shared() };
    a.into_shape_with_order(IxDyn(shape)).map_err(|e| Error::shape(op, e.to_string()))
}

type Array2View<'a, T> = ndarray::ArrayView2<'a, T>;

/// `p` as `[outer, rest]` without a copy, when each of those rows is contiguous.
fn rows_of<'a, T>(p: &ArrayView<'a, T, IxDyn>, outer: usize) -> Option<Array2View<'a, T>> {
    let w = p.len().checked_div(outer).unwrap_or(0);
    let two = p.clone().into_shape_with_order((outer, w)).ok()?;
    (w <= 1 || two.strides()[1] == 1).then_some(two)
}

/// Concatenate arrays along `axis` (shapes already checked to agree elsewhere). Each
/// part is viewed as `[outer, len_k * inner]` rows and the rows are interleaved, so
/// every copy is a contiguous slice (ndarray's `concatenate` walks element by element
/// along any axis but the first).
pub fn concat<T: Clone>(parts: &[ArrayView<'_, T, IxDyn>], axis: usize) -> Result<Array<T, IxDyn>> {
    let first = parts.first().ok_or_else(|| Error::argument("cat", "expected a non-empty list of tensors"))?;
    let outer: usize = first.shape()[..axis].iter().product();
    let mut shape = first.shape().to_vec();
    shape[axis] = parts.iter().try_fold(0usize, |acc, p| acc.checked_add(p.shape()[axis])).ok_or_else(|| {
        Error::argument("cat", format!("joining {} tensors along dim {axis} is too big to address", parts.len()))
    })?;
    // the result's size is the user's (many parts, or one part many times): reserved
    // before anything is copied, so too much is an error rather than an abort
    let mut out: Vec<T> = crate::dtype::try_vec("cat", &shape)?;
    // each part as `[outer, w]` rows; a part whose rows are each contiguous (a slice
    // `t[:, :-1]` of a batch of tangents) is read in place, any other is copied first
    let owned: Vec<Option<Array<T, IxDyn>>> =
        parts.iter().map(|p| rows_of(p, outer).is_none().then(|| materialize(p))).collect();
    let rows: Vec<Array2View<'_, T>> = parts
        .iter()
        .zip(&owned)
        .map(|(p, o)| match o {
            Some(a) => rows_of(&a.view(), outer),
            None => rows_of(&p.view(), outer),
        })
        .collect::<Option<_>>()
        .ok_or_else(|| Error::shape("cat", "internal: part not contiguous"))?;
    for o in 0..outer {
        for part in &rows {
            let s = part.row(o).to_slice().ok_or_else(|| Error::shape("cat", "internal: row not contiguous"))?;
            // an element loop, not `extend_from_slice`: its memcpy drops to a few GB/s
            // when the destination sits 8 bytes off the source's alignment (after a part
            // of one float64, as in `cat([zeros(1), x])`), 10x slower on this machine
            out.extend(s.iter().cloned());
        }
    }
    Array::from_shape_vec(IxDyn(&shape), out).map_err(|e| Error::shape("cat", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Broadcast views of contiguous arrays (held, repeated, middle, several runs, length-1
    /// dims, a broadcast scalar) materialize to what an element-by-element copy gives.
    #[test]
    fn broadcast_views_materialize_in_order() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[3, 1], &[3, 4]),
            (&[1, 4], &[3, 4]),
            (&[2, 1, 4], &[2, 3, 4]),
            (&[2, 3, 1], &[5, 2, 3, 6]),
            (&[1, 3, 1, 2], &[4, 3, 5, 2]),
            (&[1], &[2, 3]),
            (&[1, 1, 1], &[1, 3, 1]),
        ];
        for &(src, to) in cases {
            let n: usize = src.iter().product();
            let a = Array::from_shape_vec(IxDyn(src), (0..n).map(|i| i as f64).collect()).unwrap();
            let v = a.broadcast(IxDyn(to)).unwrap();
            let got = materialize(&v);
            assert_eq!(got.shape(), to);
            assert_eq!(got.iter().collect::<Vec<_>>(), v.iter().collect::<Vec<_>>(), "{src:?} -> {to:?}");
        }
    }

    /// Every pairing of full, repeated, held, middle, outer and general broadcasts equals the
    /// element-by-element definition.
    #[test]
    fn broadcast_layouts_agree_with_the_definition() {
        let shapes: &[(&[usize], &[usize])] = &[
            (&[3, 4], &[3, 4]),
            (&[3, 4], &[4]),
            (&[4], &[3, 4]),
            (&[3, 4], &[3, 1]),
            (&[3, 1], &[3, 4]),
            (&[3, 1], &[1, 4]),
            (&[1, 4], &[3, 1]),
            (&[2, 3, 4], &[3, 1]),
            (&[2, 1, 4], &[2, 3, 1]),
            (&[2, 3, 4], &[1, 3, 4]),
            (&[2, 3, 4], &[2, 1, 1]),
            (&[0, 4], &[4]),
            (&[], &[2, 2]),
            (&[2, 3, 4], &[2, 1, 4]),
            (&[2, 1, 4], &[2, 3, 4]),
            (&[2, 3, 5, 4], &[2, 1, 1, 4]),
            (&[2, 1, 1, 4], &[2, 3, 5, 4]),
            (&[5, 2, 3, 4], &[2, 1, 4]),
            (&[2, 3, 4], &[2, 3, 1]),
            (&[2, 0, 4], &[2, 1, 4]),
        ];
        for &(sa, sb) in shapes {
            let na: usize = sa.iter().product();
            let nb: usize = sb.iter().product();
            let a = ArcArray::from_shape_vec(IxDyn(sa), (0..na).map(|i| i as f64 + 1.0).collect()).unwrap();
            let b = ArcArray::from_shape_vec(IxDyn(sb), (0..nb).map(|i| (i as f64 + 1.0) * 100.0).collect()).unwrap();
            let shape = crate::shape::broadcast_shapes("test", sa, sb).unwrap();
            let got = zip_broadcast("test", &a, &b, &shape, |x, y| x * 1000.0 + y).unwrap();
            let (av, bv) = (a.broadcast(IxDyn(&shape)).unwrap(), b.broadcast(IxDyn(&shape)).unwrap());
            let want: Vec<f64> = av.iter().zip(bv.iter()).map(|(x, y)| x * 1000.0 + y).collect();
            assert_eq!(got.shape(), &shape[..], "{sa:?} {sb:?}");
            assert_eq!(got.iter().copied().collect::<Vec<_>>(), want, "{sa:?} {sb:?}");
        }
    }
}
