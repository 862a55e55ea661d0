//! Matrix products with NumPy semantics: 1-D operands are promoted to a row (left) or
//! a column (right) and the added dim removed again; batch dims broadcast.

use ndarray::{ArcArray, Array, Array1, Array2, ArrayView1, ArrayView2, ArrayViewD, Axis, Ix2, IxDyn};

use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::kernels::elementwise::reshape_array;
use crate::kernels::gemm::{direct_product, direct_product_pays, packed_product, stacked_products};
use crate::kernels::matvec::row_dots;
use crate::shape::broadcast_shapes;
use crate::structure::Structure;
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

/// The recorded product (NumPy's `matmul`; one op, so no enum of variants).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Matmul;

impl Rule for Matmul {
    // Per sample `a @ b`. A batch of vectors or matrices times one shared matrix (or
    // vector) is one product with the batch as extra rows; one shared matrix `W` times
    // a batch of vectors is `x @ Wᵀ`; batched matrices times batched vectors are
    // `(A * x[..., None, :]).sum(-1)` (and vectors times matrices alike). Otherwise vectors become matrices (a row on the
    // left, a column on the right), a shared operand gets a batch dim of 1 and both get
    // size-1 dims after the batch dim up to a common rank: matmul then broadcasts, and
    // the result has the samples' elements in order, so a reshape gives (B, *shape).
    fn batch(&self, inputs: &[Tensor], batched: &[bool], shape: &[usize], _dtype: DType) -> Result<Option<Tensor>> {
        use crate::tensor::graph::{align, size_of, with_batch};
        let (a, b) = (&inputs[0], &inputs[1]);
        let (ra, rb) = (a.ndim() - batched[0] as usize, b.ndim() - batched[1] as usize);
        let full = with_batch(size_of(inputs, batched), shape);
        let out = match (batched[0], batched[1]) {
            (true, false) if rb <= 2 => a.matmul(b)?,
            (false, true) if rb == 1 && ra == 2 => b.matmul(&a.transpose(-1, -2)?)?,
            (false, true) if rb == 1 && ra == 1 => b.matmul(a)?,
            // a batch of matrix-vector products reads each matrix once: an elementwise
            // product and a sum beat a product call per sample
            (true, true) if rb == 1 && ra >= 2 => {
                let rank = ra.max(rb + 1);
                align(a, true, rank)?.mul(&align(&b.unsqueeze(-2)?, true, rank)?)?.sum(Some(&[-1]), false)?
            }
            (true, true) if ra == 1 && rb >= 2 => {
                let rank = rb.max(ra + 1);
                align(&a.unsqueeze(-1)?, true, rank)?.mul(&align(b, true, rank)?)?.sum(Some(&[-2]), false)?
            }
            _ => {
                let lift = |x: &Tensor, is: bool, r: usize, vector_dim: isize| -> Result<Tensor> {
                    let x = if is { x.clone() } else { x.unsqueeze(0)? };
                    if r == 1 {
                        x.unsqueeze(vector_dim)
                    } else {
                        Ok(x)
                    }
                };
                let a2 = lift(a, batched[0], ra, -2)?;
                let b2 = lift(b, batched[1], rb, -1)?;
                let rank = (a2.ndim() - 1).max(b2.ndim() - 1);
                align(&a2, true, rank)?.matmul(&align(&b2, true, rank)?)?
            }
        };
        out.reshape_exact(&full).map(Some)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        inputs[0].matmul(&inputs[1])
    }

    fn name(&self) -> &'static str {
        "matmul"
    }

    // Diagonal and sparse cotangents and tangents go through a product as products of
    // their rows with the other operand (`autograd::rows::product`).
    fn structure(&self) -> Structure<'_> {
        Structure::Product
    }

    // For C = A B: dA = G Bᵀ, dB = Aᵀ G. Leading batch dims of G broadcast through the
    // products; the sweep sums broadcast dims back to each input's shape.
    fn vjp(
        &self,
        inputs: &[Tensor],
        _out: &Tensor,
        g: &Tensor,
        _batch: usize,
        needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (na, nb) = (a.ndim(), b.ndim());
        let ga = if !needs[0] {
            None
        } else {
            Some(match (na, nb) {
                // c = a·b: da = g b
                (1, 1) => g.unsqueeze(-1)?.mul(b)?,
                // c = a B (a row): da = g Bᵀ, one 2-D product for any batch of g
                (1, 2) => g.matmul(&b.t()?)?,
                (1, _) => g.unsqueeze(-2)?.matmul(&b.mt()?)?.squeeze(Some(&[-2]))?,
                // c = A b (b a column): dA = g ⊗ b
                (_, 1) => g.unsqueeze(-1)?.mul(b)?,
                _ => g.matmul(&b.mt()?)?,
            })
        };
        let gb = if !needs[1] {
            None
        } else {
            Some(match (na, nb) {
                (1, 1) => g.unsqueeze(-1)?.mul(a)?,
                // c = a B: dB = a ⊗ g
                (1, _) => a.unsqueeze(-1)?.mul(&g.unsqueeze(-2)?)?,
                // c = A b: db = Aᵀ g = g A, one 2-D product for any batch of g
                (2, 1) => g.matmul(a)?,
                (_, 1) => a.mt()?.matmul(&g.unsqueeze(-1)?)?.squeeze(Some(&[-1]))?,
                _ => a.mt()?.matmul(g)?,
            })
        };
        Ok(vec![ga, gb])
    }

    // d(A B) = dA B + A dB. Tangents carry leading batch dims, so the operand with fewer
    // dims gets size-1 dims after the batch to keep matmul's batch broadcasting aligned.
    fn jvp(
        &self,
        inputs: &[Tensor],
        _out: &Tensor,
        tangents: &[Option<Tensor>],
        batch: usize,
    ) -> Result<Option<Tensor>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (na, nb) = (a.ndim(), b.ndim());
        let ta = match &tangents[0] {
            None => None,
            Some(t) => Some(match (na, nb) {
                (1, 1) | (1, 2) => t.matmul(b)?,
                (1, _) => t.pad_after_batch(batch, nb - 2)?.unsqueeze(-2)?.matmul(b)?.squeeze(Some(&[-2]))?,
                _ => t.pad_after_batch(batch, nb.saturating_sub(na))?.matmul(b)?,
            }),
        };
        let tb = match &tangents[1] {
            None => None,
            Some(t) => Some(match (na, nb) {
                (1, 1) => t.matmul(a)?,
                (2, 1) => t.matmul(&a.t()?)?,
                (_, 1) => a.matmul(&t.pad_after_batch(batch, na - 2)?.unsqueeze(-1)?)?.squeeze(Some(&[-1]))?,
                _ => a.matmul(&t.pad_after_batch(batch, na.saturating_sub(nb))?)?,
            }),
        };
        Ok(match (ta, tb) {
            (Some(x), Some(y)) => Some(x.add(&y)?),
            (x, y) => x.or(y),
        })
    }
}

fn view2<T>(a: &ArcArray<T, IxDyn>) -> Result<ArrayView2<'_, T>> {
    a.view().into_dimensionality::<Ix2>().map_err(|e| Error::shape("matmul", e.to_string()))
}

/// `x @ B` for a vector `x`: row axpys when B's rows are contiguous, column dots when
/// its columns are. (A GEMM would pack all of B for one row: as much work as the product.)
fn vec_mat<T: Float>(x: ArrayView1<'_, T>, b: ArrayView2<'_, T>) -> Array1<T> {
    if b.strides()[1] == 1 || b.ncols() == 1 {
        let mut out = Array1::<T>::zeros(b.ncols());
        for (&xi, row) in x.iter().zip(b.rows()) {
            if xi != T::zero() {
                out.scaled_add(xi, &row);
            }
        }
        out
    } else {
        b.t().dot(&x)
    }
}

/// `A @ y` for a vector `y`: row dots when A's rows are contiguous, column axpys when
/// its columns are.
fn mat_vec<T: Float>(a: ArrayView2<'_, T>, y: ArrayView1<'_, T>) -> Array1<T> {
    if a.strides()[0] == 1 && a.ncols() > 1 && a.nrows() > 1 {
        let mut out = Array1::<T>::zeros(a.nrows());
        for (&yj, col) in y.iter().zip(a.columns()) {
            if yj != T::zero() {
                out.scaled_add(yj, &col);
            }
        }
        out
    } else {
        row_dots(a, y).unwrap_or_else(|| a.dot(&y))
    }
}

/// A 2-D product, with matrix-vector kernels for a single row or column.
fn mm2<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Array2<T> {
    let (n, p) = (a.nrows(), b.ncols());
    if n == 1 {
        vec_mat(a.row(0), b).into_shape_with_order((1, p)).unwrap_or_else(|_| a.dot(&b))
    } else if p == 1 {
        mat_vec(a, b.column(0)).into_shape_with_order((n, 1)).unwrap_or_else(|_| a.dot(&b))
    } else if direct_product_pays::<T>(n, a.ncols(), p) {
        direct_product(a, b).unwrap_or_else(|| packed_product(a, b))
    } else {
        packed_product(a, b)
    }
}

/// `a @ b` for operands of at least 2 dims each (1-D already promoted).
fn matmul_nd<T: Float>(a: &ArcArray<T, IxDyn>, b: &ArcArray<T, IxDyn>) -> Result<ArcArray<T, IxDyn>> {
    let (sa, sb) = (a.shape(), b.shape());
    let (n, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let (k2, p) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    if k != k2 {
        return Err(Error::shape(
            "matmul",
            format!("shapes {sa:?} and {sb:?} cannot be multiplied ({n}x{k} and {k2}x{p})"),
        ));
    }
    if sa.len() == 2 && sb.len() == 2 {
        crate::kernels::elementwise::ensure_allocatable::<T>("matmul", &[n, p])?;
        return Ok(mm2(view2(a)?, view2(b)?).into_dyn().into_shared());
    }
    let batch = broadcast_shapes("matmul", &sa[..sa.len() - 2], &sb[..sb.len() - 2]).map_err(|_| {
        Error::shape("matmul", format!("the batch dims of shapes {sa:?} and {sb:?} cannot be broadcast together"))
    })?;
    let mut full = batch.clone();
    full.extend([n, p.max(k)]);
    crate::kernels::elementwise::ensure_allocatable::<T>("matmul", &full)?;
    // A stack of rows times one matrix is one 2-D product.
    if sb.len() == 2 && sa[..sa.len() - 2] == batch[..] {
        let rows: usize = batch.iter().product::<usize>() * n;
        let a2 = a
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((rows, k))
            .map_err(|e| Error::shape("matmul", e.to_string()))?;
        let c = mm2(a2.view(), view2(b)?);
        let mut shape = batch.clone();
        shape.extend([n, p]);
        return reshape_array("matmul", &c.into_dyn().into_shared(), &shape);
    }
    let nb: usize = batch.iter().product();
    // Each product reads its operands in place through broadcast views (a matrix shared
    // by the whole batch, `W @ T` with T batched, is not copied once per product) and
    // takes the kernel `mm2` picks for its shape.
    let (av, bv) = (batch_view(a, &batch, n, k)?, batch_view(b, &batch, k, p)?);
    let mut c = Array::<T, _>::zeros((nb, n, p));
    stacked_products(&mut c, nb * n * k * p, &|i| mm2(matrix_at(&av, &batch, i), matrix_at(&bv, &batch, i)));
    let mut shape = batch;
    shape.extend([n, p]);
    c.into_shape_with_order(IxDyn(&shape)).map(|c| c.into_shared()).map_err(|e| Error::shape("matmul", e.to_string()))
}

/// `x` seen at the full batch shape (a view: broadcast dims have stride 0).
fn batch_view<'a, T>(
    x: &'a ArcArray<T, IxDyn>,
    batch: &[usize],
    rows: usize,
    cols: usize,
) -> Result<ArrayViewD<'a, T>> {
    let mut full = batch.to_vec();
    full.extend([rows, cols]);
    x.broadcast(IxDyn(&full)).ok_or_else(|| Error::shape("matmul", "broadcast failed"))
}

/// Matrix `i` (row-major over the batch dims) of a batch view.
fn matrix_at<'a, T>(v: &ArrayViewD<'a, T>, batch: &[usize], mut i: usize) -> ArrayView2<'a, T> {
    let mut at = vec![0; batch.len()];
    for d in (0..batch.len()).rev() {
        at[d] = i % batch[d];
        i /= batch[d];
    }
    let mut m = v.clone();
    for &ix in &at {
        m = m.index_axis_move(Axis(0), ix);
    }
    m.into_dimensionality::<Ix2>().expect("a batch view has two dims after its batch")
}

impl Tensor {
    /// Matrix product with NumPy's `matmul` semantics (1-D, 2-D and broadcast batches).
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let (na, nb) = (self.ndim(), other.ndim());
        if na == 0 || nb == 0 {
            return Err(Error::shape(
                "matmul",
                format!("both arguments need at least 1 dim, got shapes {:?} and {:?}", self.shape(), other.shape()),
            ));
        }
        let dt = DType::promote(self.dtype(), other.dtype());
        if !dt.is_float() {
            return Err(Error::dtype(
                "matmul",
                format!("expected floating point tensors, got {} and {}", self.dtype(), other.dtype()),
            ));
        }
        let (a, b) = (self.to_dtype(dt)?, other.to_dtype(dt)?);
        // Promote 1-D operands on the data only; the graph records the original inputs.
        let pa = if na == 1 { a.storage_reshaped(&[1, a.shape()[0]])? } else { a.storage().clone() };
        let pb = if nb == 1 { b.storage_reshaped(&[b.shape()[0], 1])? } else { b.storage().clone() };
        let c = match (&pa, &pb) {
            (Storage::F32(x), Storage::F32(y)) => Storage::F32(matmul_nd(x, y)?),
            (Storage::F64(x), Storage::F64(y)) => Storage::F64(matmul_nd(x, y)?),
            _ => return Err(Error::dtype("matmul", "mixed dtypes")),
        };
        let mut shape = c.shape().to_vec();
        if nb == 1 {
            shape.remove(shape.len() - 1);
        }
        if na == 1 {
            shape.remove(shape.len() - if nb == 1 { 1 } else { 2 });
        }
        let c = crate::map_storage!(&c, |x| reshape_array("matmul", x, &shape)?);
        Ok(Tensor::from_op(c, Matmul, vec![a, b]))
    }

    fn storage_reshaped(&self, shape: &[usize]) -> Result<Storage> {
        Ok(crate::map_storage!(self.storage(), |x| reshape_array("matmul", x, shape)?))
    }
}
