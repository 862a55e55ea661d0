//! Spectral factorizations (eigh, svd, qr) and lstsq: values on known matrices,
//! reconstruction and orthogonality, conventions (ordering, signs), errors, and
//! derivatives of gauge-invariant functions of the factors against central
//! differences (first and second order, reverse and forward mode).

mod common;

use common::{assert_close, gradcheck, gradgradcheck, rand64, t64};
use lucid_core::functional::{jacobian, JacobianOptions, Strategy};
use lucid_core::ops::linalg::spectral::QrMode;
use lucid_core::{DType, Error, Result, Tensor};

/// A symmetric 3 × 3 matrix with eigenvalues well apart (about 1, 3 and 6).
fn separated() -> Tensor {
    t64(&[3.0, 1.0, 0.5, 1.0, 4.0, 1.5, 0.5, 1.5, 3.0], &[3, 3])
}

fn sym(x: &Tensor) -> Result<Tensor> {
    x.add(&x.mt()?)?.mul_scalar(0.5)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    a.to_f64_vec().iter().zip(b.to_f64_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn eigh_reconstructs_orders_and_fixes_signs() {
    let a = separated();
    let (w, v) = a.eigh(false).unwrap();
    let wv = w.to_f64_vec();
    assert!(wv[0] < wv[1] && wv[1] < wv[2], "ascending: {wv:?}");
    let back = v.mul(&w.unsqueeze(-2).unwrap()).unwrap().matmul(&v.mt().unwrap()).unwrap();
    assert!(max_abs_diff(&back, &a) < 1e-13);
    let vtv = v.mt().unwrap().matmul(&v).unwrap();
    assert!(max_abs_diff(&vtv, &Tensor::eye(3, None, DType::F64)) < 1e-14);
    // each column's component of largest magnitude is positive
    let vv = v.to_f64_vec();
    for c in 0..3 {
        let col: Vec<f64> = (0..3).map(|r| vv[r * 3 + c]).collect();
        let big = col.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        assert!(big > 0.0, "column {c}: {col:?}");
    }
    // the upper triangle is read with upper = true: a garbage lower triangle is ignored
    let upper_only = a.triu(0).unwrap().add(&t64(&[0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 9.0, 9.0, 0.0], &[3, 3])).unwrap();
    assert_close(&upper_only.eigh(true).unwrap().0.to_f64_vec(), &wv, 1e-13, "UPLO=U");
}

#[test]
fn svd_of_known_and_rectangular_matrices() {
    // diag(3, -4): singular values 4, 3
    let (_, s, _) = t64(&[3.0, 0.0, 0.0, -4.0], &[2, 2]).svd(false).unwrap();
    assert_eq!(s.to_f64_vec(), vec![4.0, 3.0]);
    for (m, n) in [(4, 2), (2, 4), (3, 3)] {
        let a = rand64(7, &[2, m, n], -1.0, 1.0);
        let (u, s, vh) = a.svd(false).unwrap();
        let k = m.min(n);
        assert_eq!((u.shape(), s.shape(), vh.shape()), (&[2, m, k][..], &[2, k][..], &[2, k, n][..]));
        let back = u.mul(&s.unsqueeze(-2).unwrap()).unwrap().matmul(&vh).unwrap();
        assert!(max_abs_diff(&back, &a) < 1e-13, "{m}x{n}");
        let (uf, _, vhf) = a.svd(true).unwrap();
        assert_eq!((uf.shape(), vhf.shape()), (&[2, m, m][..], &[2, n, n][..]));
        let utu = uf.mt().unwrap().matmul(&uf).unwrap();
        assert!(max_abs_diff(&utu, &Tensor::eye(m, None, DType::F64)) < 1e-13);
        let vvt = vhf.matmul(&vhf.mt().unwrap()).unwrap();
        assert!(max_abs_diff(&vvt, &Tensor::eye(n, None, DType::F64)) < 1e-13);
    }
}

#[test]
fn qr_modes_and_positive_diagonal() {
    let a = rand64(3, &[4, 3], -1.0, 1.0);
    let (q, r) = a.qr(QrMode::Reduced).unwrap();
    assert_eq!((q.shape(), r.shape()), (&[4, 3][..], &[3, 3][..]));
    assert!(max_abs_diff(&q.matmul(&r).unwrap(), &a) < 1e-14);
    let rv = r.to_f64_vec();
    assert!((0..3).all(|i| rv[i * 3 + i] >= 0.0) && rv[3] == 0.0 && rv[6] == 0.0 && rv[7] == 0.0);
    let (qc, rc) = a.qr(QrMode::Complete).unwrap();
    assert_eq!((qc.shape(), rc.shape()), (&[4, 4][..], &[4, 3][..]));
    assert!(max_abs_diff(&qc.matmul(&rc).unwrap(), &a) < 1e-14);
    let (qr_q, qr_r) = a.qr(QrMode::R).unwrap();
    assert_eq!(qr_q.shape(), &[0]);
    assert!(max_abs_diff(&qr_r, &r) == 0.0);
    assert!(matches!(QrMode::parse("full"), Err(Error::Argument { .. })));
}

#[test]
fn lstsq_full_rank_and_rank_deficient() {
    // x ≈ (1, 2) fits [[1, 0], [0, 1], [0, 0]] x = (1, 2, 3) with residual 3² = 9
    let a = t64(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0], &[3, 2]);
    let fit = a.lstsq(&t64(&[1.0, 2.0, 3.0], &[3]), None).unwrap();
    assert_eq!(fit.solution.to_f64_vec(), vec![1.0, 2.0]);
    assert_eq!(fit.residuals.to_f64_vec(), vec![9.0]);
    assert_eq!(fit.rank.to_f64_vec(), vec![2.0]);
    // rank 1: [[1, 1], [1, 1]] x = (2, 2) has minimum-norm solution (1, 1)
    let fit = t64(&[1.0, 1.0, 1.0, 1.0], &[2, 2]).lstsq(&t64(&[2.0, 2.0], &[2]), None).unwrap();
    assert_close(&fit.solution.to_f64_vec(), &[1.0, 1.0], 1e-14, "min-norm");
    assert_eq!(fit.rank.to_f64_vec(), vec![1.0]);
    assert_eq!(fit.residuals.shape(), &[0]);
}

#[test]
fn empty_and_one_by_one() {
    let e = Tensor::zeros(&[2, 0, 0], DType::F64);
    let (w, v) = e.eigh(false).unwrap();
    assert_eq!((w.shape(), v.shape()), (&[2, 0][..], &[2, 0, 0][..]));
    let (u, s, vh) = Tensor::zeros(&[3, 0], DType::F32).svd(true).unwrap();
    assert_eq!((u.shape(), s.shape(), vh.shape()), (&[3, 3][..], &[0][..], &[0, 0][..]));
    let one = t64(&[-2.0], &[1, 1]);
    assert_eq!(one.eigh(false).unwrap().0.to_f64_vec(), vec![-2.0]);
    let (u, s, vh) = one.svd(false).unwrap();
    assert_eq!((u.to_f64_vec(), s.to_f64_vec(), vh.to_f64_vec()), (vec![1.0], vec![2.0], vec![-1.0]));
}

#[test]
fn bad_inputs_are_errors_naming_the_op() {
    let rect = Tensor::zeros(&[2, 3], DType::F64);
    let msg = rect.eigh(false).unwrap_err().message();
    assert!(msg.contains("eigh") && msg.contains("[2, 3]"), "{msg}");
    assert!(matches!(Tensor::zeros(&[3], DType::F64).svd(false), Err(Error::Shape { .. })));
    assert!(matches!(Tensor::zeros(&[2, 2], DType::I64).qr(QrMode::Reduced), Err(Error::DType { .. })));
    let nan = t64(&[1.0, f64::NAN, f64::NAN, 1.0], &[2, 2]).unsqueeze(0).unwrap();
    let msg = nan.svd(false).unwrap_err().message();
    assert!(msg.contains("svd") && msg.contains("NaN") && msg.contains("batch index (0,)"), "{msg}");
    assert!(matches!(nan.eigh(false), Err(Error::Linalg { .. })));
}

#[test]
fn derivatives_of_invariant_functions() {
    let a = separated();
    let bumped = a.add(&rand64(5, &[3, 3], -0.1, 0.1)).unwrap();
    // λ directly, and V diag(sin λ) Vᵀ (independent of each eigenvector's sign)
    let eig_values = |x: &[Tensor]| Ok(vec![sym(&x[0])?.eigvalsh(false)?]);
    let eig_fn = |x: &[Tensor]| {
        let (w, v) = sym(&x[0])?.eigh(false)?;
        Ok(vec![v.mul(&w.sin()?.unsqueeze(-2)?)?.matmul(&v.mt()?)?])
    };
    // U diag(sin s) Vh for tall, wide and square A (s = 1, 2, 3-ish: distinct)
    let svd_fn = |x: &[Tensor]| {
        let (u, s, vh) = x[0].svd(false)?;
        Ok(vec![u.mul(&s.sin()?.unsqueeze(-2)?)?.matmul(&vh)?])
    };
    let qr_fn = |x: &[Tensor]| {
        let (q, r) = x[0].qr(QrMode::Reduced)?;
        Ok(vec![q, r])
    };
    for (name, f) in [("eigvalsh", &eig_values as common::Func<'_>), ("eigh V sin(Λ) Vᵀ", &eig_fn)] {
        gradcheck(name, f, std::slice::from_ref(&bumped));
        gradgradcheck(name, f, std::slice::from_ref(&bumped));
    }
    for shape in [[3usize, 3], [4, 2], [2, 4]] {
        let x = rand64(11, &shape, -1.0, 1.0)
            .add(&Tensor::eye(shape[0], Some(shape[1]), DType::F64).mul_scalar(2.0).unwrap())
            .unwrap();
        gradcheck("svd U sin(S) Vh", &svd_fn, std::slice::from_ref(&x));
        gradgradcheck("svd U sin(S) Vh", &svd_fn, std::slice::from_ref(&x));
        gradcheck("qr", &qr_fn, std::slice::from_ref(&x));
        gradgradcheck("qr", &qr_fn, &[x]);
    }
}

#[test]
fn forward_mode_equals_reverse_mode() {
    let x = rand64(13, &[2, 3, 3], -1.0, 1.0).add(&Tensor::eye(3, None, DType::F64).mul_scalar(2.0).unwrap()).unwrap();
    let f = |x: &[Tensor]| {
        let (w, v) = sym(&x[0])?.eigh(false)?;
        let (u, s, vh) = x[0].svd(false)?;
        let (q, r) = x[0].qr(QrMode::Reduced)?;
        let e = v.mul(&w.unsqueeze(-2)?.exp()?)?.matmul(&v.mt()?)?;
        let g = u.mul(&s.square()?.unsqueeze(-2)?)?.matmul(&vh)?;
        Ok(vec![e.add(&g)?.add(&q.matmul(&r.square()?)?)?])
    };
    let rev = jacobian(f, std::slice::from_ref(&x), &JacobianOptions::default()).unwrap();
    let fwd = jacobian(f, &[x], &JacobianOptions { strategy: Strategy::ForwardMode, ..Default::default() }).unwrap();
    assert_close(&fwd[0].to_f64_vec(), &rev[0].to_f64_vec(), 1e-10, "forward vs reverse");
}

#[test]
fn repeated_eigenvalues_keep_eigenvalue_gradients_finite() {
    // A = 2I: every eigenvalue is 2. ∂ Σ λ / ∂A = I (the trace), finite; the
    // eigenvectors are not differentiable there (NOTE [degenerate spectra])
    let a = Tensor::eye(3, None, DType::F64).mul_scalar(2.0).unwrap().leaf_requiring_grad().unwrap();
    let total = a.eigvalsh(false).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[total], std::slice::from_ref(&a), &[], Default::default()).unwrap();
    assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &Tensor::eye(3, None, DType::F64).to_f64_vec(), 1e-15, "trace");
    let s_total = a.svdvals().unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[s_total], std::slice::from_ref(&a), &[], Default::default()).unwrap();
    assert!(g[0].as_ref().unwrap().to_f64_vec().iter().all(|v| v.is_finite()));
    let (_, v) = a.eigh(false).unwrap();
    let through_vectors = v.narrow(-1, 0, 1).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[through_vectors], &[a], &[], Default::default()).unwrap();
    assert!(g[0].as_ref().unwrap().to_f64_vec().iter().any(|v| !v.is_finite()));
}
