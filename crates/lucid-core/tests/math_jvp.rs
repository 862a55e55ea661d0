//! Forward-mode rules of the math families (reductions, scans, softmax): hand-derived
//! tangents, forward-mode Jacobians equal to reverse mode, and proof that the explicit
//! rules run (`Rule::jvp` is required, so every family has its own).

use std::slice::from_ref;

use lucid_core::autograd::{grad, GradOptions};
use lucid_core::functional::{hessian, jacobian, jvp, JacobianOptions, Strategy};
use lucid_core::{DType, Result, Tensor};

fn t(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, DType::F64).unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan());
        assert!(ok, "element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}");
    }
}

type Fun = dyn Fn(&[Tensor]) -> Result<Vec<Tensor>>;
type Case = (&'static str, Box<dyn Fn(&Tensor) -> Result<Tensor>>);

fn jac(f: &Fun, xs: &[Tensor], strategy: Strategy, vectorize: bool) -> Vec<Vec<f64>> {
    let opts = JacobianOptions { strategy, vectorize, ..Default::default() };
    jacobian(f, xs, &opts).unwrap().iter().map(Tensor::to_f64_vec).collect()
}

/// Forward-mode Jacobians of `f` (one batched sweep, and blocks of columns), checked
/// against reverse mode. Returns the forward-mode Jacobians.
fn forward_equals_reverse(name: &str, f: &Fun, xs: &[&Tensor]) -> Vec<Vec<f64>> {
    let xs: Vec<Tensor> = xs.iter().map(|&x| x.clone()).collect();
    let xs = xs.as_slice();
    let fwd = jac(f, xs, Strategy::ForwardMode, true);
    let blocks = jac(f, xs, Strategy::ForwardMode, false);
    let rev = jac(f, xs, Strategy::ReverseMode, true);
    assert_eq!(fwd.len(), rev.len(), "{name}: one block per input");
    for ((a, b), r) in fwd.iter().zip(&blocks).zip(&rev) {
        assert_close(a, r, 1e-12);
        assert_close(b, r, 1e-12);
    }
    fwd
}

/// `J v` by one tangent sweep.
fn tangent(f: &Fun, xs: &[&Tensor], v: &[&Tensor]) -> Vec<f64> {
    let xs: Vec<Tensor> = xs.iter().map(|&x| x.clone()).collect();
    let v: Vec<Tensor> = v.iter().map(|&x| x.clone()).collect();
    let (_, jv) = jvp(f, &xs, &v, false).unwrap();
    jv[0].to_f64_vec()
}

fn one(f: impl Fn(&Tensor) -> Result<Tensor> + 'static) -> Box<Fun> {
    Box::new(move |xs: &[Tensor]| Ok(vec![f(&xs[0])?]))
}

#[test]
fn sum_and_mean_over_any_axes() {
    // y_i = Σ_j x_ij (rows of a 2×3): J v sums v's rows
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let f = one(|x| x.sum(Some(&[1]), false));
    assert_eq!(tangent(&f, &[&x], &[&t(&[1.0, 2.0, 3.0, 10.0, 20.0, 30.0], &[2, 3])]), vec![6.0, 60.0]);
    let j = forward_equals_reverse("sum dim 1", &f, &[&x]);
    assert_eq!(j[0], vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    // several non-adjacent axes, with and without keepdim, and everything
    let x3 = t(&(0..24).map(|i| i as f64 * 0.1).collect::<Vec<_>>(), &[2, 3, 4]);
    forward_equals_reverse("sum dims 0,2", &one(|x| x.sum(Some(&[0, -1]), false)), &[&x3]);
    forward_equals_reverse("sum dims 0,2 keepdim", &one(|x| x.sum(Some(&[0, 2]), true)), &[&x3]);
    forward_equals_reverse("sum all", &one(|x| x.sum(None, false)), &[&x3]);
    forward_equals_reverse("mean dim 1", &one(|x| x.mean(Some(&[1]), true)), &[&x3]);
    // a 0-d input reduces to itself: dy = t
    let s = t(&[2.5], &[]);
    assert_eq!(tangent(&one(|x| x.sum(Some(&[0]), false)), &[&s], &[&t(&[7.0], &[])]), vec![7.0]);
    forward_equals_reverse("sum 0-d", &one(|x| x.sum(None, false)), &[&s]);
}

#[test]
fn prod_is_exact_with_zeros() {
    // p = x0 x1 x2 at (2, 0, 3): dp = x1x2 t0 + x0x2 t1 + x0x1 t2 = 6 t1
    let x = t(&[2.0, 0.0, 3.0], &[3]);
    let f = one(|x| x.prod(None, false));
    assert_eq!(tangent(&f, &[&x], &[&t(&[1.0, 1.0, 1.0], &[3])]), vec![6.0]);
    assert_eq!(forward_equals_reverse("prod one zero", &f, &[&x])[0], vec![0.0, 6.0, 0.0]);
    // two zeros: every product of the others has a zero, so J = 0
    assert_eq!(forward_equals_reverse("prod two zeros", &f, &[&t(&[0.0, 0.0, 3.0], &[3])])[0], vec![0.0; 3]);
    // along dim 0 of a 3×2: column products; d(x00 x10 x20)/dx10 = x00 x20
    let m = t(&[1.0, 2.0, 0.0, 3.0, 4.0, 5.0], &[3, 2]);
    let j = forward_equals_reverse("prod dim 0", &one(|x| x.prod(Some(&[0]), false)), &[&m]);
    assert_eq!(j[0], vec![0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 15.0, 0.0, 10.0, 0.0, 6.0]);
    forward_equals_reverse("prod dims 0,1 keepdim", &one(|x| x.prod(Some(&[0, 1]), true)), &[&m]);
}

#[test]
fn amax_amin_split_ties_like_their_vjp() {
    // max of (1, 3, 3, 2) is tied at 1 and 2: dy = (t1 + t2)/2
    let x = t(&[1.0, 3.0, 3.0, 2.0], &[4]);
    let f = one(|x| x.amax(None, false));
    assert_eq!(tangent(&f, &[&x], &[&t(&[1.0, 2.0, 4.0, 8.0], &[4])]), vec![3.0]);
    assert_eq!(forward_equals_reverse("amax ties", &f, &[&x])[0], vec![0.0, 0.5, 0.5, 0.0]);
    // min along dim 1 of [[2, 1, 1], [0, 5, -1]]: (t01 + t02)/2 and t12
    let m = t(&[2.0, 1.0, 1.0, 0.0, 5.0, -1.0], &[2, 3]);
    let g = one(|x| x.amin(Some(&[1]), true));
    assert_eq!(tangent(&g, &[&m], &[&t(&[9.0, 2.0, 4.0, 9.0, 9.0, 7.0], &[2, 3])]), vec![3.0, 7.0]);
    forward_equals_reverse("amin dim 1", &g, &[&m]);
    forward_equals_reverse("amax dims 0,1", &one(|x| x.amax(Some(&[0, 1]), false)), &[&m]);
    // NaN is the max: the tangent is the NaN element's
    let n = t(&[1.0, f64::NAN, 2.0], &[3]);
    assert_eq!(tangent(&f, &[&n], &[&t(&[1.0, 2.0, 4.0], &[3])]), vec![2.0]);
    // ∞-norm = max |x| over ties (-3, 3): dy = (-t0 + t2)/2
    let v = t(&[-3.0, 1.0, 3.0], &[3]);
    let h = one(|x| x.norm(f64::INFINITY, None, false));
    assert_eq!(tangent(&h, &[&v], &[&t(&[2.0, 5.0, 6.0], &[3])]), vec![2.0]);
    forward_equals_reverse("inf norm", &h, &[&v]);
    forward_equals_reverse("-inf norm", &one(|x| x.norm(f64::NEG_INFINITY, None, false)), &[&v]);
}

#[test]
fn logsumexp_tangent_is_the_softmax_average() {
    // x = (0, ln 3): softmax = (1/4, 3/4), dy = t0/4 + 3 t1/4
    let x = t(&[0.0, 3f64.ln()], &[2]);
    let f = one(|x| x.logsumexp(None, false));
    assert_close(&tangent(&f, &[&x], &[&t(&[4.0, 4.0 / 3.0], &[2])]), &[2.0], 1e-15);
    assert_close(&forward_equals_reverse("logsumexp", &f, &[&x])[0], &[0.25, 0.75], 1e-15);
    let m = t(&[0.3, -1.2, 2.0, 0.7, 1000.0, 999.0], &[3, 2]);
    forward_equals_reverse("logsumexp dim 0", &one(|x| x.logsumexp(Some(&[0]), true)), &[&m]);
    forward_equals_reverse("logsumexp dim 1", &one(|x| x.logsumexp(Some(&[-1]), false)), &[&m]);
}

#[test]
fn norms_and_their_zero_convention() {
    // ‖(3, -4)‖₂ = 5: dy = (3 t0 - 4 t1)/5
    let x = t(&[3.0, -4.0], &[2]);
    let f2 = one(|x| x.norm(2.0, None, false));
    assert_close(&tangent(&f2, &[&x], &[&t(&[1.0, 1.0], &[2])]), &[-0.2], 1e-15);
    assert_close(&forward_equals_reverse("norm 2", &f2, &[&x])[0], &[0.6, -0.8], 1e-15);
    // ‖x‖₁: dy = Σ sign(x) t
    let f1 = one(|x| x.norm(1.0, None, false));
    assert_eq!(tangent(&f1, &[&x], &[&t(&[1.0, 2.0], &[2])]), vec![-1.0]);
    // p = 3 at (1, -2): ‖x‖ = 9^(1/3), dy = (t0 - 4 t1)/9^(2/3)
    let y = t(&[1.0, -2.0], &[2]);
    let f3 = one(|x| x.norm(3.0, None, false));
    assert_close(&tangent(&f3, &[&y], &[&t(&[1.0, 1.0], &[2])]), &[-3.0 / 9f64.powf(2.0 / 3.0)], 1e-14);
    forward_equals_reverse("norm 3", &f3, &[&y]);
    // a zero norm has zero derivative (the VJP's convention), for every p
    let z = t(&[0.0, 0.0, 0.0], &[3]);
    for (p, f) in [(1.0, &f1), (2.0, &f2), (3.0, &f3)] {
        assert_eq!(forward_equals_reverse(&format!("norm {p} at 0"), f, &[&z])[0], vec![0.0; 3]);
    }
    // per row, the Frobenius norm, and a zero row beside a non-zero one
    let m = t(&[3.0, 4.0, 0.0, 0.0, 1.0, -1.0], &[3, 2]);
    forward_equals_reverse("norm rows", &one(|x| x.norm(2.0, Some(&[1]), false)), &[&m]);
    forward_equals_reverse("norm 1.5 rows", &one(|x| x.norm(1.5, Some(&[1]), true)), &[&m]);
    forward_equals_reverse("frobenius", &one(|x| x.norm(2.0, Some(&[0, 1]), false)), &[&m]);
}

#[test]
fn var_and_std_compose() {
    // var(x) = Σ (x - x̄)² / (N - 1) at (1, 2, 6): x̄ = 3, dy = 2 Σ (x - x̄) t / 2 = -2 t0 - t1 + 3 t2
    let x = t(&[1.0, 2.0, 6.0], &[3]);
    let f = one(|x| x.var(None, 1.0, false));
    assert_close(&tangent(&f, &[&x], &[&t(&[1.0, 2.0, 3.0], &[3])]), &[5.0], 1e-14);
    let m = t(&[0.3, -1.2, 2.0, 0.7, 1.1, -0.4], &[2, 3]);
    forward_equals_reverse("var rows", &one(|x| x.var(Some(&[1]), 1.0, false)), &[&m]);
    forward_equals_reverse("std cols", &one(|x| x.std(Some(&[0]), 0.0, true)), &[&m]);
}

#[test]
fn softmax_and_log_softmax() {
    // x = (0, ln 2): s = (1/3, 2/3), J = diag(s) - s sᵀ = [[2/9, -2/9], [-2/9, 2/9]]
    let x = t(&[0.0, 2f64.ln()], &[2]);
    let f = one(|x| x.softmax(-1));
    assert_close(&tangent(&f, &[&x], &[&t(&[1.0, 0.0], &[2])]), &[2.0 / 9.0, -2.0 / 9.0], 1e-15);
    assert_close(
        &forward_equals_reverse("softmax", &f, &[&x])[0],
        &[2.0 / 9.0, -2.0 / 9.0, -2.0 / 9.0, 2.0 / 9.0],
        1e-15,
    );
    // log_softmax: dy = t - Σ s t; v = (1, 0) gives (1 - 1/3, -1/3)
    let g = one(|x| x.log_softmax(-1));
    assert_close(&tangent(&g, &[&x], &[&t(&[1.0, 0.0], &[2])]), &[2.0 / 3.0, -1.0 / 3.0], 1e-15);
    // along a non-last dim, with large values (stable), and wider than a column block
    let m = t(&[0.3, -1.2, 2.0, 0.7, 1000.0, 999.0], &[3, 2]);
    forward_equals_reverse("softmax dim 0", &one(|x| x.softmax(0)), &[&m]);
    forward_equals_reverse("log_softmax dim 0", &one(|x| x.log_softmax(0)), &[&m]);
    let wide = t(&(0..150).map(|i| (i as f64 * 0.37).sin()).collect::<Vec<_>>(), &[2, 75]);
    forward_equals_reverse("softmax 2×75", &one(|x| x.softmax(1)), &[&wide]);
    forward_equals_reverse("log_softmax 2×75", &one(|x| x.log_softmax(-1)), &[&wide]);
    // a 0-d input is a lane of one (reshaped to [1], a view op with its own JVP owner):
    // softmax is constant 1, so its tangent is 0
    let (_, jv) = jvp(&f, &[t(&[0.4], &[])], &[t(&[3.0], &[])], false).unwrap();
    assert_eq!(jv[0].to_f64_vec(), vec![0.0]);
}

#[test]
fn softmax_float32() {
    let x = Tensor::from_vec(vec![0.1, 0.9, -0.3, 0.4], &[4], DType::F32).unwrap();
    let opts = JacobianOptions { strategy: Strategy::ForwardMode, vectorize: true, ..Default::default() };
    let fwd = jacobian(|xs| Ok(vec![xs[0].softmax(0)?]), from_ref(&x), &opts).unwrap();
    assert_eq!(fwd[0].dtype(), DType::F32);
    let rev = jacobian(|xs| Ok(vec![xs[0].softmax(0)?]), &[x], &JacobianOptions::default()).unwrap();
    assert_close(&fwd[0].to_f64_vec(), &rev[0].to_f64_vec(), 1e-6);
}

#[test]
fn cumsum_is_the_cumsum_of_the_tangent() {
    let x = t(&[1.0, -2.0, 3.0], &[3]);
    let v = t(&[1.0, 10.0, 100.0], &[3]);
    assert_eq!(tangent(&one(|x| x.cumsum(0)), &[&x], &[&v]), vec![1.0, 11.0, 111.0]);
    assert_eq!(tangent(&one(|x| x.cumsum_reverse(0)), &[&x], &[&v]), vec![111.0, 110.0, 100.0]);
    let m = t(&(0..12).map(|i| i as f64).collect::<Vec<_>>(), &[3, 4]);
    forward_equals_reverse("cumsum dim 0", &one(|x| x.cumsum(0)), &[&m]);
    forward_equals_reverse("cumsum_reverse dim 1", &one(|x| x.cumsum_reverse(-1)), &[&m]);
}

#[test]
fn cumprod_is_exact_with_zeros() {
    // y = (x0, x0x1, x0x1x2) at (2, 0, 3): dy_j = x_j dy_{j-1} + y_{j-1} t_j, so
    // J = [[1, 0, 0], [x1, x0, 0], [x1x2, x0x2, x0x1]] = [[1, 0, 0], [0, 2, 0], [0, 6, 0]]
    let x = t(&[2.0, 0.0, 3.0], &[3]);
    let f = one(|x| x.cumprod(0));
    assert_eq!(
        forward_equals_reverse("cumprod one zero", &f, &[&x])[0],
        vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 6.0, 0.0]
    );
    assert_eq!(tangent(&f, &[&x], &[&t(&[1.0, 1.0, 1.0], &[3])]), vec![1.0, 2.0, 6.0]);
    // reversed: y = (x0x1x2, x1x2, x2): J = [[x1x2, x0x2, x0x1], [0, x2, x1], [0, 0, 1]]
    let r = one(|x| x.cumprod_reverse(0));
    assert_eq!(
        forward_equals_reverse("cumprod_reverse", &r, &[&x])[0],
        vec![0.0, 6.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 1.0]
    );
    let m = t(&[0.5, 0.0, 2.0, -1.0, 0.0, 0.0, 3.0, 1.5], &[2, 4]);
    forward_equals_reverse("cumprod dim 1", &one(|x| x.cumprod(1)), &[&m]);
    forward_equals_reverse("cumprod dim 0", &one(|x| x.cumprod(0)), &[&m]);
    forward_equals_reverse("cumprod_reverse dim 1", &one(|x| x.cumprod_reverse(-1)), &[&m]);
}

#[test]
fn linear_recurrence_in_both_inputs() {
    // h_0 = b0, h_1 = a1 b0 + b1, h_2 = a2 a1 b0 + a2 b1 + b2 (a0 has no effect):
    // dh_2 = (a1 b0 + b1) ta2 + a2 b0 ta1 + a2 a1 tb0 + a2 tb1 + tb2
    let (a, b) = (t(&[5.0, 2.0, 3.0], &[3]), t(&[1.0, 4.0, 7.0], &[3]));
    let f: Box<Fun> = Box::new(|xs: &[Tensor]| Ok(vec![Tensor::linear_recurrence(&xs[0], &xs[1], 0, false)?]));
    let ones = t(&[1.0, 1.0, 1.0], &[3]);
    let zeros = t(&[0.0, 0.0, 0.0], &[3]);
    // tangent in a only: (0, b0, (a1 b0 + b1) + a2 b0) = (0, 1, 9)
    assert_eq!(tangent(&f, &[&a, &b], &[&ones, &zeros]), vec![0.0, 1.0, 9.0]);
    // tangent in b only: (1, a1 + 1, a2 a1 + a2 + 1) = (1, 3, 10)
    assert_eq!(tangent(&f, &[&a, &b], &[&zeros, &ones]), vec![1.0, 3.0, 10.0]);
    let j = forward_equals_reverse("linrec", &f, &[&a, &b]);
    assert_eq!(j[0], vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 3.0, 6.0]);
    assert_eq!(j[1], vec![1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 6.0, 3.0, 1.0]);
    // one input constant: its tangent is None
    let (a2, b2) = (a.clone(), b.clone());
    forward_equals_reverse("linrec b only", &one(move |x| Tensor::linear_recurrence(&a2, x, 0, true)), &[&b]);
    forward_equals_reverse("linrec a only", &one(move |x| Tensor::linear_recurrence(x, &b2, 0, false)), &[&a]);
    let (p, q) = (t(&[0.5, -1.0, 0.0, 2.0, 0.3, 0.7], &[2, 3]), t(&[1.0, 2.0, 3.0, -4.0, 0.5, 0.25], &[2, 3]));
    let g: Box<Fun> = Box::new(|xs: &[Tensor]| Ok(vec![Tensor::linear_recurrence(&xs[0], &xs[1], 0, true)?]));
    forward_equals_reverse("linrec reverse dim 0", &g, &[&p, &q]);
}

#[test]
fn ops_chained_stay_on_their_own_rules() {
    // softmax → cumsum → logsumexp → product with a norm, all forward rules
    let x = t(&[0.3, -1.2, 2.0, 0.7, 1.1, -0.4], &[2, 3]);
    let f = one(|x| {
        let s = x.softmax(1)?.cumsum(1)?.mul(x)?;
        s.logsumexp(Some(&[1]), false)?.mul(&x.norm(2.0, Some(&[1]), false)?)?.prod(None, true)
    });
    forward_equals_reverse("chain", &f, &[&x]);
}

/// Hessians by forward-over-reverse (a tangent sweep through the gradient's graph)
/// equal reverse-over-reverse. The gradient graph holds view and join nodes whose
/// JVPs other families own.
#[test]
fn forward_over_reverse_hessians() {
    let x = t(&[0.3, -1.2, 2.0, 0.0, 1.1, -0.4], &[6]);
    let cases: Vec<Case> = vec![
        ("prod", Box::new(|x| x.prod(None, false))),
        ("logsumexp", Box::new(|x| x.logsumexp(None, false))),
        ("norm 3", Box::new(|x| x.norm(3.0, None, false))),
        ("softmax", Box::new(|x| x.softmax(0)?.mul(x)?.sum_all())),
        ("log_softmax", Box::new(|x| x.log_softmax(0)?.select(0, 2))),
        ("cumprod", Box::new(|x| x.cumprod(0)?.sum_all())),
        ("amax", Box::new(|x| x.amax(None, false)?.mul(&x.sum_all()?))),
    ];
    for (name, f) in cases {
        let g = move |xs: &[Tensor]| Ok(vec![f(&xs[0])?]);
        let fwd = JacobianOptions { strategy: Strategy::ForwardMode, vectorize: true, ..Default::default() };
        let hf = hessian(&g, from_ref(&x), &fwd).unwrap()[0][0].to_f64_vec();
        let hr = hessian(&g, from_ref(&x), &JacobianOptions::default()).unwrap()[0][0].to_f64_vec();
        println!("{name}");
        assert_close(&hf, &hr, 1e-12);
    }
    // prod at two zeros: the Hessian of x0 x1 x2 at (0, 0, 3) is 3 at (0, 1) and (1, 0)
    let z = t(&[0.0, 0.0, 3.0], &[3]);
    let fwd = JacobianOptions { strategy: Strategy::ForwardMode, ..Default::default() };
    let h = hessian(|xs: &[Tensor]| Ok(vec![xs[0].prod(None, false)?]), &[z], &fwd).unwrap();
    assert_eq!(h[0][0].to_f64_vec(), vec![0.0, 3.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

/// The rules record a graph under create_graph: d/dx ⟨u, J(x) v⟩ from the tangent's
/// graph equals the reverse-over-reverse d/dx ⟨J(x)ᵀ u, v⟩.
#[test]
fn tangents_are_differentiable() {
    let x = t(&[0.3, -1.2, 2.0, 0.5, 1.1, -0.4], &[2, 3]);
    let v = t(&[1.0, -0.5, 0.25, 2.0, 0.3, -1.0], &[2, 3]);
    let cases: Vec<Case> = vec![
        ("sum", Box::new(|x| x.sum(Some(&[0]), false)?.mul(&x.select(0, 1)?.exp()?))),
        ("prod", Box::new(|x| x.prod(Some(&[1]), false))),
        ("amin", Box::new(|x| x.amin(Some(&[1]), false)?.mul(&x.sum(Some(&[1]), false)?))),
        ("logsumexp", Box::new(|x| x.logsumexp(Some(&[1]), true))),
        ("norm", Box::new(|x| x.norm(2.5, Some(&[0]), false))),
        ("softmax", Box::new(|x| x.softmax(1))),
        ("log_softmax", Box::new(|x| x.log_softmax(0))),
        ("cumsum", Box::new(|x| x.cumsum(1)?.square())),
        ("cumprod", Box::new(|x| x.cumprod(1))),
        ("linrec", Box::new(|x| Tensor::linear_recurrence(x, &x.sin()?, 1, false))),
    ];
    for (name, f) in cases {
        println!("{name}");
        let xl = x.leaf_requiring_grad().unwrap();
        let (_, jv) = jvp(|xs: &[Tensor]| Ok(vec![f(&xs[0])?]), from_ref(&xl), from_ref(&v), true).unwrap();
        let u: Vec<f64> = (1..=jv[0].numel()).map(|i| 0.5 + i as f64 / 4.0).collect();
        let u = t(&u, jv[0].shape());
        let s = jv[0].mul(&u).unwrap().sum_all().unwrap();
        let want_jv = {
            let xl2 = x.leaf_requiring_grad().unwrap();
            let y = f(&xl2).unwrap().mul(&u).unwrap().sum_all().unwrap();
            let opts = GradOptions { create_graph: true, retain_graph: true, allow_unused: true };
            let gx = grad(&[y], from_ref(&xl2), &[], opts).unwrap()[0].clone().unwrap();
            let inner = gx.mul(&v).unwrap().sum_all().unwrap();
            assert_close(&[s.item().unwrap()], &[inner.item().unwrap()], 1e-12);
            grad(&[inner], &[xl2], &[], GradOptions { allow_unused: true, ..Default::default() }).unwrap()[0].clone()
        };
        let got = grad(&[s], &[xl], &[], GradOptions { allow_unused: true, ..Default::default() }).unwrap()[0].clone();
        let zeros = vec![0.0; 6];
        let got = got.map_or(zeros.clone(), |g| g.to_f64_vec());
        let want = want_jv.map_or(zeros, |g| g.to_f64_vec());
        assert_close(&got, &want, 1e-11);
    }
}
