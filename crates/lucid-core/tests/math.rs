//! Elementwise math, clamp, reductions, softmax and scans: hand-derived derivatives at
//! chosen points (the math in each comment), undefined-point conventions, and a
//! finite-difference check of first and second derivatives over every op in float64,
//! swept row by row and as one batched cotangent.

use lucid_core::autograd::{grad, GradOptions};
use lucid_core::functional::{jacobian, JacobianOptions};
use lucid_core::{DType, Result, Tensor};

fn t(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, DType::F64).unwrap()
}

fn leaf(values: &[f64], shape: &[usize]) -> Tensor {
    t(values, shape).leaf_requiring_grad().unwrap()
}

/// d(sum(w * f(x)))/dx for a fixed weighting w = 1, 2, 3, … (so every output counts).
fn weighted_grad(f: &dyn Fn(&Tensor) -> Result<Tensor>, x: &Tensor) -> Vec<f64> {
    let y = f(x).unwrap();
    let w: Vec<f64> = (1..=y.numel()).map(|i| i as f64).collect();
    let s = y.mul(&t(&w, y.shape())).unwrap().sum_all().unwrap();
    grad(&[s], std::slice::from_ref(x), &[], GradOptions::default()).unwrap()[0].as_ref().unwrap().to_f64_vec()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan());
        assert!(ok, "element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}");
    }
}

type Op = fn(&Tensor) -> Result<Tensor>;

/// Central differences of `f` at `x`: the (numel(out), numel(x)) Jacobian, row-major.
fn fd_jacobian(f: &dyn Fn(&Tensor) -> Result<Tensor>, x: &[f64], shape: &[usize]) -> Vec<f64> {
    let eps = 1e-6;
    let m = f(&t(x, shape)).unwrap().numel();
    let n = x.len();
    let mut j = vec![0.0; m * n];
    for k in 0..n {
        let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
        xp[k] += eps;
        xm[k] -= eps;
        let (fp, fm) = (f(&t(&xp, shape)).unwrap().to_f64_vec(), f(&t(&xm, shape)).unwrap().to_f64_vec());
        for r in 0..m {
            j[r * n + k] = (fp[r] - fm[r]) / (2.0 * eps);
        }
    }
    j
}

/// First derivatives (row sweeps and one batched sweep) and second derivatives (the
/// Jacobian of a create_graph gradient) of `f` at `x`, against central differences.
fn gradcheck(name: &str, f: Op, x: &[f64], shape: &[usize]) {
    let rows = jacobian(|xs| Ok(vec![f(&xs[0])?]), &[t(x, shape)], &JacobianOptions::default()).unwrap();
    let opts = JacobianOptions { vectorize: true, ..Default::default() };
    let batched = jacobian(|xs| Ok(vec![f(&xs[0])?]), &[t(x, shape)], &opts).unwrap();
    let fd = fd_jacobian(&f, x, shape);
    println!("{name}");
    assert_close(&rows[0].to_f64_vec(), &fd, 1e-6);
    assert_close(&batched[0].to_f64_vec(), &rows[0].to_f64_vec(), 1e-13);

    // g(x) = d(sum(w f(x)))/dx with create_graph; its Jacobian is the weighted Hessian.
    let g = |x: &Tensor| -> Result<Tensor> {
        let y = f(x)?;
        let w: Vec<f64> = (1..=y.numel()).map(|i| 0.5 + i as f64 / 3.0).collect();
        let s = y.mul(&t(&w, y.shape()))?.sum_all()?;
        let opts = GradOptions { create_graph: true, retain_graph: true, allow_unused: true };
        Ok(grad(&[s], std::slice::from_ref(x), &[], opts)?[0].clone().unwrap_or_else(|| x.zeros_like()))
    };
    let h = jacobian(|xs| Ok(vec![g(&xs[0])?]), &[t(x, shape)], &opts).unwrap();
    let g_plain = |x: &Tensor| -> Result<Tensor> { g(&x.leaf_requiring_grad()?) };
    assert_close(&h[0].to_f64_vec(), &fd_jacobian(&g_plain, x, shape), 1e-5);
}

#[test]
fn every_smooth_op_matches_finite_differences_to_second_order() {
    let x = [0.3, -0.7, 0.55, -0.2, 0.9, 0.1];
    let pos = [0.3, 1.7, 0.55, 2.2, 0.9, 1.1];
    let big = [1.3, 1.7, 1.55, 2.2, 1.9, 1.1];
    let sh = [2, 3];
    let cases: Vec<(&str, Op, &[f64])> = vec![
        ("reciprocal", |x| x.reciprocal(), &pos),
        ("rsqrt", |x| x.rsqrt(), &pos),
        ("log2", |x| x.log2(), &pos),
        ("log10", |x| x.log10(), &pos),
        ("asin", |x| x.asin(), &x),
        ("acos", |x| x.acos(), &x),
        ("atan", |x| x.atan(), &x),
        ("sinh", |x| x.sinh(), &x),
        ("cosh", |x| x.cosh(), &x),
        ("asinh", |x| x.asinh(), &x),
        ("acosh", |x| x.acosh(), &big),
        ("atanh", |x| x.atanh(), &x),
        ("erf", |x| x.erf(), &x),
        ("normal_cdf", |x| x.normal_cdf(), &x),
        ("softplus", |x| x.softplus(1.0, 20.0), &x),
        ("softplus_beta", |x| x.softplus(2.5, 1.0), &x),
        ("gelu", |x| x.gelu(false), &x),
        ("gelu_tanh", |x| x.gelu(true), &x),
        ("prod_all", |x| x.prod(None, false), &x),
        ("prod_dim", |x| x.prod(Some(&[-1]), true), &x),
        (
            "prod_dims_with_zero",
            |x| x.mul(&t(&[1.0, 0.0, 1.0, 1.0, 1.0, 1.0], &[2, 3]))?.prod(Some(&[0, 1]), false),
            &x,
        ),
        ("logsumexp", |x| x.logsumexp(Some(&[1]), false), &x),
        ("logsumexp_all", |x| x.logsumexp(None, true), &x),
        ("norm2", |x| x.norm(2.0, Some(&[1]), false), &x),
        ("norm3", |x| x.norm(3.0, None, false), &pos),
        ("fro", |x| x.norm(2.0, Some(&[-2, -1]), false), &x),
        ("var", |x| x.var(Some(&[1]), 1.0, false), &x),
        ("var_all_pop", |x| x.var(None, 0.0, true), &x),
        ("std", |x| x.std(Some(&[0]), 1.0, false), &x),
        ("softmax0", |x| x.softmax(0), &x),
        ("softmax1", |x| x.softmax(-1), &x),
        ("log_softmax", |x| x.log_softmax(1), &x),
        ("cumsum", |x| x.cumsum(1), &x),
        ("cumsum0", |x| x.cumsum(0), &x),
        ("cumprod", |x| x.cumprod(1), &x),
        ("cumprod0", |x| x.cumprod(-2), &x),
        ("cumprod_reverse", |x| x.cumprod_reverse(1), &x),
        ("amax_dim", |x| x.amax(Some(&[1]), false), &x),
        ("amin_all", |x| x.amin(None, false), &x),
        ("clamp", |x| x.clamp(Some(&Tensor::scalar(-0.5, DType::F64)), Some(&Tensor::scalar(0.6, DType::F64))), &x),
    ];
    for (name, f, x) in cases {
        gradcheck(name, f, x, &sh);
    }
}

#[test]
fn erf_and_gelu_derivatives_by_hand() {
    // d erf(x)/dx = (2/√π) e^(-x²) = 0.8787825789354448 at 0.5
    let x = leaf(&[0.5], &[1]);
    assert_close(&weighted_grad(&|x| x.erf(), &x), &[0.878_782_578_935_444_8], 1e-15);
    // gelu'(1) = Φ(1) + φ(1) = 0.8413447460685429 + 0.24197072451914337
    let x = leaf(&[1.0], &[1]);
    assert_close(&weighted_grad(&|x| x.gelu(false), &x), &[1.083_315_470_587_686_3], 1e-15);
    // gelu(1) = Φ(1)
    assert_close(&t(&[1.0], &[1]).gelu(false).unwrap().to_f64_vec(), &[0.841_344_746_068_542_9], 1e-15);
    // gelu(-10) = -10 Φ(-10) = -7.619853024160526e-23: the left tail is not cancelled to 0
    let v = t(&[-10.0], &[1]).gelu(false).unwrap().to_f64_vec()[0];
    assert!(((v + 7.619_853_024_160_526e-23) / 7.619_853_024_160_526e-23).abs() < 1e-13, "{v}");
}

#[test]
fn softplus_follows_pytorch_threshold_and_is_stable() {
    // softplus(0) = log 2, derivative σ(0) = 1/2; above the threshold it is x with slope 1
    let x = leaf(&[0.0, 30.0, -800.0, 800.0], &[4]);
    let y = x.softplus(1.0, 20.0).unwrap().to_f64_vec();
    assert_close(&y, &[std::f64::consts::LN_2, 30.0, 0.0, 800.0], 1e-15);
    assert_close(&weighted_grad(&|x| x.softplus(1.0, 20.0), &x), &[0.5, 2.0, 0.0, 4.0], 1e-15);
    // β = 2: softplus(1) = log(1 + e²)/2, slope σ(2)
    let x = leaf(&[1.0], &[1]);
    assert_close(&x.softplus(2.0, 20.0).unwrap().to_f64_vec(), &[(1.0 + 2f64.exp()).ln() / 2.0], 1e-15);
    assert_close(&weighted_grad(&|x| x.softplus(2.0, 20.0), &x), &[1.0 / (1.0 + (-2f64).exp())], 1e-15);
    assert!(x.softplus(0.0, 20.0).is_err());
}

#[test]
fn floor_ceil_round_sign_have_zero_gradients_and_pytorch_values() {
    let x = leaf(&[0.5, 1.5, 2.5, -0.5, -1.7, 2.675], &[6]);
    // round half to even, like PyTorch and NumPy
    assert_eq!(x.round(0).unwrap().to_f64_vec(), vec![0.0, 2.0, 2.0, -0.0, -2.0, 3.0]);
    assert_eq!(x.round(2).unwrap().to_f64_vec()[5], 2.68);
    assert_eq!(t(&[1234.0], &[1]).round(-2).unwrap().to_f64_vec(), vec![1200.0]);
    assert_eq!(x.floor().unwrap().to_f64_vec(), vec![0.0, 1.0, 2.0, -1.0, -2.0, 2.0]);
    assert_eq!(x.ceil().unwrap().to_f64_vec(), vec![1.0, 2.0, 3.0, -0.0, -1.0, 3.0]);
    let fs: [Op; 4] = [|x| x.floor(), |x| x.ceil(), |x| x.round(0), |x| x.sign()];
    for f in fs {
        let y = f(&x).unwrap();
        assert!(y.requires_grad(), "a step function records a node, as PyTorch");
        assert_eq!(weighted_grad(&f, &x), vec![0.0; 6]);
    }
    assert!(t(&[f64::NAN], &[1]).sign().unwrap().to_f64_vec()[0].is_nan());
}

#[test]
fn isnan_isfinite_isinf_give_bool_masks() {
    let x = t(&[1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY], &[4]);
    assert_eq!(x.isnan().unwrap().dtype(), DType::Bool);
    assert_eq!(x.isnan().unwrap().to_f64_vec(), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(x.isfinite().unwrap().to_f64_vec(), vec![1.0, 0.0, 0.0, 0.0]);
    assert_eq!(x.isinf().unwrap().to_f64_vec(), vec![0.0, 0.0, 1.0, 1.0]);
    let i = t(&[1.0, 2.0], &[2]).to_dtype(DType::I64).unwrap();
    assert_eq!(i.isfinite().unwrap().to_f64_vec(), vec![1.0, 1.0]);
}

#[test]
fn clamp_gradient_at_and_between_the_bounds() {
    // clamp(x, 0, 1): d/dx = 1 on [0, 1] including both bounds (PyTorch), 0 outside
    let x = leaf(&[-1.0, 0.0, 0.5, 1.0, 2.0], &[5]);
    let (lo, hi) = (Tensor::scalar(0.0, DType::F64), Tensor::scalar(1.0, DType::F64));
    assert_eq!(x.clamp(Some(&lo), Some(&hi)).unwrap().to_f64_vec(), vec![0.0, 0.0, 0.5, 1.0, 1.0]);
    let gx = weighted_grad(&|x| x.clamp(Some(&lo), Some(&hi)), &x);
    assert_eq!(gx, vec![0.0, 2.0, 3.0, 4.0, 0.0]);
    // tensor bounds: min gets the cotangent where x < min, max where x > max
    let lo = leaf(&[0.0; 5], &[5]);
    let hi = leaf(&[1.0; 5], &[5]);
    let y = x.clamp(Some(&lo), Some(&hi)).unwrap().sum_all().unwrap();
    let g = grad(&[y], &[x.clone(), lo.clone(), hi.clone()], &[], GradOptions::default()).unwrap();
    assert_eq!(g[1].as_ref().unwrap().to_f64_vec(), vec![1.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(g[2].as_ref().unwrap().to_f64_vec(), vec![0.0, 0.0, 0.0, 0.0, 1.0]);
    // min > max: every element is max, which gets all of the cotangent
    let (lo, hi) = (leaf(&[2.0], &[1]), leaf(&[1.0], &[1]));
    let y = x.clamp(Some(&lo), Some(&hi)).unwrap();
    assert_eq!(y.to_f64_vec(), vec![1.0; 5]);
    let g = grad(&[y.sum_all().unwrap()], &[x.clone(), lo, hi], &[], GradOptions::default()).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![0.0; 5]);
    assert_eq!(g[1].as_ref().unwrap().to_f64_vec(), vec![0.0]);
    assert_eq!(g[2].as_ref().unwrap().to_f64_vec(), vec![5.0]);
    // one bound only
    assert_eq!(weighted_grad(&|x| x.clamp_min(&Tensor::scalar(0.5, DType::F64)), &x), vec![0.0, 0.0, 3.0, 4.0, 5.0]);
    assert!(x.clamp(None, None).is_err());
}

#[test]
fn prod_gradient_with_zeros() {
    // p = x0 x1 x2: dp/dx = (x1 x2, x0 x2, x0 x1)
    let x = leaf(&[2.0, 5.0, 3.0], &[3]);
    assert_eq!(weighted_grad(&|x| x.prod(None, false), &x), vec![15.0, 6.0, 10.0]);
    // one zero: only the zero's slot is nonzero, the product of the others
    let x = leaf(&[2.0, 0.0, 3.0], &[3]);
    assert_eq!(weighted_grad(&|x| x.prod(None, false), &x), vec![0.0, 6.0, 0.0]);
    // two zeros: all zero
    let x = leaf(&[0.0, 0.0, 3.0], &[3]);
    assert_eq!(weighted_grad(&|x| x.prod(None, false), &x), vec![0.0, 0.0, 0.0]);
    // Hessian at (2, 0, 3): H_ij = ∏_{k≠i,j} x_k off the diagonal, 0 on it
    let x = t(&[2.0, 0.0, 3.0], &[3]);
    let g = |x: &Tensor| -> Result<Tensor> {
        let opts = GradOptions { create_graph: true, retain_graph: true, allow_unused: false };
        Ok(grad(&[x.prod(None, false)?], std::slice::from_ref(x), &[], opts)?[0].clone().unwrap())
    };
    let h = jacobian(|xs| Ok(vec![g(&xs[0])?]), &[x], &JacobianOptions::default()).unwrap();
    assert_eq!(h[0].to_f64_vec(), vec![0.0, 3.0, 0.0, 3.0, 0.0, 2.0, 0.0, 2.0, 0.0]);
    // along a dim with keepdim: rows (1, 2) and (0, 4) give (2, 1) and (4, 0)
    let x = leaf(&[1.0, 2.0, 0.0, 4.0], &[2, 2]);
    let p = x.prod(Some(&[1]), true).unwrap();
    assert_eq!(p.shape(), &[2, 1]);
    let g = grad(&[p.sum_all().unwrap()], &[x], &[], GradOptions::default()).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![2.0, 1.0, 4.0, 0.0]);
}

#[test]
fn cumprod_jacobian_with_zeros() {
    // y = (x0, x0 x1, x0 x1 x2) at (2, 0, 3): rows (1,0,0), (x1,x0,0), (x1x2, x0x2, x0x1)
    let x = t(&[2.0, 0.0, 3.0], &[3]);
    let j = jacobian(|xs| Ok(vec![xs[0].cumprod(0)?]), std::slice::from_ref(&x), &JacobianOptions::default()).unwrap();
    assert_eq!(j[0].to_f64_vec(), vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 6.0, 0.0]);
    // second derivative of y2 = x0 x1 x2 at a zero: the Hessian of a triple product
    let g = |x: &Tensor| -> Result<Tensor> {
        let y = x.cumprod(0)?.select(0, 2)?;
        let opts = GradOptions { create_graph: true, retain_graph: true, allow_unused: false };
        Ok(grad(&[y], std::slice::from_ref(x), &[], opts)?[0].clone().unwrap())
    };
    let h = jacobian(|xs| Ok(vec![g(&xs[0])?]), &[x], &JacobianOptions::default()).unwrap();
    assert_eq!(h[0].to_f64_vec(), vec![0.0, 3.0, 0.0, 3.0, 0.0, 2.0, 0.0, 2.0, 0.0]);
    // cumsum: y_j = Σ_{k≤j} x_k, so Σ_j w_j y_j has gradient Σ_{j≥k} w_j = (6, 5, 3)
    let x = leaf(&[1.0, 2.0, 3.0], &[3]);
    assert_eq!(weighted_grad(&|x| x.cumsum(0), &x), vec![6.0, 5.0, 3.0]);
    assert_eq!(x.cumsum(-1).unwrap().to_f64_vec(), vec![1.0, 3.0, 6.0]);
    let i = t(&[1.0, 2.0, 3.0], &[3]).to_dtype(DType::I64).unwrap();
    assert_eq!(i.cumprod(0).unwrap().dtype(), DType::I64);
    assert_eq!(i.cumprod(0).unwrap().to_f64_vec(), vec![1.0, 2.0, 6.0]);
}

#[test]
fn max_and_min_split_ties_evenly() {
    // three tied maxima share the cotangent: 1/3 each
    let x = leaf(&[1.0, 3.0, 3.0, 3.0], &[4]);
    assert_close(&weighted_grad(&|x| x.amax(None, false), &x), &[0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0], 1e-15);
    // per row: (1, 5 | 5, 5) along dim 1; row 0's max is unique, row 1 ties
    let x = leaf(&[1.0, 5.0, 5.0, 5.0], &[2, 2]);
    assert_eq!(weighted_grad(&|x| x.amax(Some(&[1]), false), &x), vec![0.0, 1.0, 1.0, 1.0]);
    // column minima (1 | 5, 5) with weights (1, 2): column 1's tie shares its 2
    assert_eq!(weighted_grad(&|x| x.amin(Some(&[0]), true), &x), vec![1.0, 1.0, 0.0, 1.0]);
    let (v, i) = x.max_dim(1, false).unwrap();
    assert_eq!(v.to_f64_vec(), vec![5.0, 5.0]);
    assert_eq!(i.to_f64_vec(), vec![1.0, 0.0]); // the first of the tied
    assert_eq!(i.dtype(), DType::I64);
    let (_, i) = x.min_dim(-1, true).unwrap();
    assert_eq!(i.shape(), &[2, 1]);
    assert_eq!(x.argmax(None, false).unwrap().to_f64_vec(), vec![1.0]);
    // NaN is the max, as PyTorch
    let x = t(&[1.0, f64::NAN, 2.0], &[3]);
    assert!(x.amax(None, false).unwrap().item().unwrap().is_nan());
    assert_eq!(x.argmax(None, false).unwrap().item().unwrap(), 1.0);
    assert!(t(&[], &[0]).amax(None, false).is_err());
}

#[test]
fn norms_and_their_gradient_at_zero() {
    // ‖(3, -4)‖₂ = 5, gradient x/‖x‖ = (0.6, -0.8); ‖·‖₁ gradient sign(x)
    let x = leaf(&[3.0, -4.0], &[2]);
    assert_close(&weighted_grad(&|x| x.norm(2.0, None, false), &x), &[0.6, -0.8], 1e-15);
    assert_eq!(weighted_grad(&|x| x.norm(1.0, None, false), &x), vec![1.0, -1.0]);
    // ∞-norm: the largest |x| gets sign(x)
    assert_eq!(weighted_grad(&|x| x.norm(f64::INFINITY, None, false), &x), vec![0.0, -1.0]);
    // at 0 the gradient is 0 (PyTorch), not NaN
    let z = leaf(&[0.0, 0.0], &[2]);
    for p in [1.0, 2.0, 3.0, f64::INFINITY] {
        assert_eq!(weighted_grad(&|x| x.norm(p, None, false), &z), vec![0.0, 0.0], "p = {p}");
    }
    assert!(x.norm(0.5, None, false).is_err());
    // Frobenius norm of [[1, 2], [2, 4]] = 5
    assert_eq!(t(&[1.0, 2.0, 2.0, 4.0], &[2, 2]).norm(2.0, Some(&[0, 1]), false).unwrap().item().unwrap(), 5.0);
}

#[test]
fn var_std_logsumexp_softmax_values() {
    // x = (1, 2, 3, 4): mean 2.5, Σ(x - mean)² = 5; var = 5/3 (correction 1), 5/4 (0)
    let x = leaf(&[1.0, 2.0, 3.0, 4.0], &[4]);
    assert_close(&x.var(None, 1.0, false).unwrap().to_f64_vec(), &[5.0 / 3.0], 1e-15);
    assert_close(&x.var(None, 0.0, false).unwrap().to_f64_vec(), &[1.25], 1e-15);
    assert_close(&x.std(None, 1.0, false).unwrap().to_f64_vec(), &[(5.0f64 / 3.0).sqrt()], 1e-15);
    // d var/dx = 2 (x - mean)/(N - 1) = (-1, -1/3, 1/3, 1)
    assert_close(&weighted_grad(&|x| x.var(None, 1.0, false), &x), &[-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0], 1e-15);
    // one element with correction 1: 0/0, NaN, as PyTorch
    assert!(t(&[1.0], &[1]).var(None, 1.0, false).unwrap().item().unwrap().is_nan());
    // logsumexp of huge values does not overflow; its gradient is the softmax e^(x - out),
    // which inherits out's rounding (an ulp of 1000 ≈ 1e-13)
    let x = leaf(&[1000.0, 1000.0], &[2]);
    assert_close(&x.logsumexp(None, false).unwrap().to_f64_vec(), &[1000.0 + std::f64::consts::LN_2], 1e-15);
    assert_close(&weighted_grad(&|x| x.logsumexp(None, false), &x), &[0.5, 0.5], 1e-12);
    let x = t(&[1000.0, 0.0, -1000.0], &[3]);
    assert_close(&x.log_softmax(0).unwrap().to_f64_vec(), &[0.0, -1000.0, -2000.0], 1e-15);
    assert_close(&x.softmax(0).unwrap().to_f64_vec(), &[1.0, 0.0, 0.0], 1e-15);
    // 0-d input: one lane of length one
    assert_eq!(Tensor::scalar(3.0, DType::F64).softmax(0).unwrap().item().unwrap(), 1.0);
    assert!(Tensor::scalar(3.0, DType::F64).softmax(1).is_err());
}

#[test]
fn reductions_pass_batched_cotangents_through() {
    // The vectorized Jacobian (one sweep with a [m, *out] cotangent) equals row sweeps.
    let x = t(&[0.3, -0.7, 0.55, -0.2, 0.9, 0.1, 0.4, -0.3, 0.0, 0.2, 0.8, -0.6], &[2, 3, 2]);
    let fs: Vec<Op> = vec![
        |x| x.prod(Some(&[0, 2]), false),
        |x| x.amax(Some(&[-1]), true),
        |x| x.logsumexp(Some(&[1]), false),
        |x| x.norm(2.0, Some(&[0]), true),
        |x| x.softmax(1),
        |x| x.log_softmax(-1),
        |x| x.cumprod(1),
        |x| x.cumsum(2),
        |x| x.var(Some(&[0, 1]), 1.0, false),
    ];
    for f in fs {
        let rows = jacobian(|xs| Ok(vec![f(&xs[0])?]), std::slice::from_ref(&x), &JacobianOptions::default()).unwrap();
        let opts = JacobianOptions { vectorize: true, chunk_size: Some(2), ..Default::default() };
        let b = jacobian(|xs| Ok(vec![f(&xs[0])?]), std::slice::from_ref(&x), &opts).unwrap();
        assert_close(&b[0].to_f64_vec(), &rows[0].to_f64_vec(), 1e-14);
    }
}
