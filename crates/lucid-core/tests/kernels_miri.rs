//! The kernels' unsafe code on inputs small enough for Miri (`make miri`), through the
//! public ops that reach it: products of few rows (`kernels/gemm.rs`, the AVX2 and
//! AVX-512 intrinsics when the target has them, with masked last columns and A read in
//! place through its strides), matrix-vector products (`kernels/matvec.rs`, rows at a
//! stride) and broadcasting zips (`kernels/elementwise.rs`). Each result is compared
//! with a plain triple loop. The kernels' own unit tests use sizes Miri would take
//! hours over; these run natively in `cargo test` too, in milliseconds.

use lucid_core::{DType, Tensor};

/// Deterministic values with a few distinct magnitudes, so a misplaced element shows.
fn values(seed: usize, n: usize) -> Vec<f64> {
    (0..n).map(|i| ((i * 7 + seed * 13) % 23) as f64 * 0.25 - 2.5).collect()
}

/// `a @ b` by the definition, row-major.
fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    c
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (e, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: element {e} is {g}, want {w}");
    }
}

#[test]
fn few_row_products_in_both_dtypes_and_layouts() {
    // every row block (8, 6, 4, 2, 1 and remainders) and column remainders past 4, 8, 16
    for &m in &[2usize, 3, 5, 8, 9, 13] {
        for &k in &[1usize, 7] {
            for &n in &[4usize, 9, 17, 33] {
                let (a, b) = (values(m + k, m * k), values(n, k * n));
                let want = naive(&a, &b, m, k, n);
                for dtype in [DType::F64, DType::F32] {
                    let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
                    let at = Tensor::from_vec(a.clone(), &[m, k], dtype).unwrap();
                    let bt = Tensor::from_vec(b.clone(), &[k, n], dtype).unwrap();
                    let what = format!("{m}x{k}x{n} {dtype}");
                    assert_close(&at.matmul(&bt).unwrap().to_f64_vec(), &want, tol, &what);
                    // A given as the transpose of a stored (k, m): read through its strides
                    let a_t: Vec<f64> = (0..k * m).map(|e| a[(e % m) * k + e / m]).collect();
                    let strided = Tensor::from_vec(a_t, &[k, m], dtype).unwrap().t().unwrap();
                    assert_close(
                        &strided.matmul(&bt).unwrap().to_f64_vec(),
                        &want,
                        tol,
                        &format!("{what}, A transposed"),
                    );
                }
            }
        }
    }
}

#[test]
fn matrix_vector_products_with_strided_rows() {
    for &m in &[1usize, 3, 17] {
        for &k in &[1usize, 5, 16, 33] {
            // the first k of k + 3 columns: rows at a stride of k + 3
            let wide = values(m, m * (k + 3));
            let y = values(k, k);
            let a: Vec<f64> = (0..m * k).map(|e| wide[(e / k) * (k + 3) + e % k]).collect();
            let want = naive(&a, &y, m, k, 1);
            for dtype in [DType::F64, DType::F32] {
                let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
                let view = Tensor::from_vec(wide.clone(), &[m, k + 3], dtype).unwrap().narrow(1, 0, k).unwrap();
                let yt = Tensor::from_vec(y.clone(), &[k], dtype).unwrap();
                let got = view.matmul(&yt).unwrap().to_f64_vec();
                assert_close(&got, &want, tol, &format!("{m}x{k} @ vec {dtype}"));
            }
        }
    }
}

#[test]
fn broadcasting_zips_over_views() {
    // (3, 1, 4) + (2, 1): a stride-0 dim on each side; then over a transposed view
    let a = Tensor::from_vec(values(1, 12), &[3, 1, 4], DType::F64).unwrap();
    let b = Tensor::from_vec(values(2, 2), &[2, 1], DType::F64).unwrap();
    let got = a.add(&b).unwrap();
    assert_eq!(got.shape(), &[3, 2, 4]);
    let (av, bv) = (values(1, 12), values(2, 2));
    let want: Vec<f64> = (0..24).map(|e| av[(e / 8) * 4 + e % 4] + bv[(e / 4) % 2]).collect();
    assert_close(&got.to_f64_vec(), &want, 0.0, "broadcast add");
    let m = Tensor::from_vec(values(3, 6), &[2, 3], DType::F32).unwrap();
    let prod = m.t().unwrap().mul(&m.t().unwrap()).unwrap().to_f64_vec();
    let mv = values(3, 6);
    // a product, not powi: Miri perturbs powi by an ulp, as a libm may
    let want: Vec<f64> = (0..6)
        .map(|e| {
            let v = mv[(e % 2) * 3 + e / 2] as f32;
            (v * v) as f64
        })
        .collect();
    assert_close(&prod, &want, 0.0, "transposed zip");
}
