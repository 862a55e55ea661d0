//! Forward mode through linear algebra: every op's explicit JVP rule against
//! hand-derived tangents, forward-mode Jacobians (batched tangents) against reverse
//! mode, create_graph through the tangents, and Hessians by forward-over-reverse.

use lucid_core::functional::{hessian, jacobian, jvp, JacobianOptions, Strategy};
use lucid_core::{DType, Result, Tensor};

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, DType::F64).unwrap()
}

/// Deterministic entries in [-0.5, 0.5).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

/// 3I plus noise on every matrix of `shape`: far from singular, det > 0.
fn well_conditioned(shape: &[usize], seed: u64) -> Tensor {
    let n = shape[shape.len() - 1];
    let mut v = noise(shape.iter().product(), seed);
    for (i, x) in v.iter_mut().enumerate() {
        if (i % (n * n)) / n == i % n {
            *x += 3.0;
        }
    }
    t(&v, shape)
}

/// M Mᵀ + n I for a noise matrix M: symmetric positive definite.
fn spd(shape: &[usize], seed: u64) -> Tensor {
    let m = t(&noise(shape.iter().product(), seed), shape);
    let n = shape[shape.len() - 1];
    let eye: Vec<f64> = (0..n * n).map(|i| if i / n == i % n { n as f64 } else { 0.0 }).collect();
    m.matmul(&m.mt().unwrap()).unwrap().add(&t(&eye, &[n, n])).unwrap()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

fn opts(strategy: Strategy, vectorize: bool) -> JacobianOptions {
    JacobianOptions { strategy, vectorize, ..Default::default() }
}

type F = dyn Fn(&[Tensor]) -> Result<Vec<Tensor>>;

/// Forward-mode Jacobians of `f` (one batched tangent sweep, and blocks of columns)
/// equal the reverse-mode Jacobian.
fn forward_equals_reverse(f: &F, xs: &[Tensor]) {
    let fwd: Vec<Vec<Tensor>> = [true, false]
        .iter()
        .map(|&vectorize| jacobian(f, xs, &opts(Strategy::ForwardMode, vectorize)).unwrap())
        .collect();
    let rev = jacobian(f, xs, &opts(Strategy::ReverseMode, true)).unwrap();
    for jf in &fwd {
        for (a, b) in jf.iter().zip(&rev) {
            assert_eq!(a.shape(), b.shape());
            close(&a.to_f64_vec(), &b.to_f64_vec(), 1e-12);
        }
    }
}

/// `J v` by one tangent sweep (batch rank 0), checked to use only explicit rules.
fn tangent(f: &F, xs: &[Tensor], v: &[Tensor]) -> Vec<f64> {
    let (_, jv) = jvp(f, xs, v, false).unwrap();
    jv[0].to_f64_vec()
}

// ---- hand-derived tangents ---------------------------------------------------------

#[test]
fn inverse_tangent() {
    // A = [[1, 1], [0, 1]], A⁻¹ = [[1, -1], [0, 1]], dA = E₂₁:
    // d(A⁻¹) = -A⁻¹ E₂₁ A⁻¹ = -[[-1, 1], [1, -1]] = [[1, -1], [-1, 1]]
    // (check: A(ε)⁻¹ = [[1, -1], [-ε, 1]] / (1 - ε))
    let f = |x: &[Tensor]| Ok(vec![x[0].inverse()?]);
    let jv = tangent(&f, &[t(&[1.0, 1.0, 0.0, 1.0], &[2, 2])], &[t(&[0.0, 0.0, 1.0, 0.0], &[2, 2])]);
    close(&jv, &[1.0, -1.0, -1.0, 1.0], 1e-14);
}

#[test]
fn det_tangent() {
    // det [[1, 2], [3, 4]] = a₁₁a₂₂ - a₁₂a₂₁ = -2; d det = tr(adj(A) dA), adj(A) = [[4, -2], [-3, 1]]:
    // dA = I gives tr(adj A) = 5; dA = E₁₂ gives -a₂₁ = -3
    let f = |x: &[Tensor]| Ok(vec![x[0].det()?]);
    let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    close(&tangent(&f, std::slice::from_ref(&a), &[t(&[1.0, 0.0, 0.0, 1.0], &[2, 2])]), &[5.0], 1e-14);
    close(&tangent(&f, &[a], &[t(&[0.0, 1.0, 0.0, 0.0], &[2, 2])]), &[-3.0], 1e-14);
}

#[test]
fn det_tangent_at_a_singular_matrix() {
    // A = [[1, 2], [2, 4]] has no inverse but d det = a₂₂ da₁₁ - a₂₁ da₁₂ - a₁₂ da₂₁ + a₁₁ da₂₂
    // still holds (cofactors): dA = [[1, 1], [0, 0]] gives 4 - 2 = 2
    let f = |x: &[Tensor]| Ok(vec![x[0].det()?]);
    let jv = tangent(&f, &[t(&[1.0, 2.0, 2.0, 4.0], &[2, 2])], &[t(&[1.0, 1.0, 0.0, 0.0], &[2, 2])]);
    close(&jv, &[2.0], 1e-14);
}

#[test]
fn slogdet_tangent() {
    // A = diag(2, -3): log|det A| = log 6, d = tr(A⁻¹ dA); dA = I gives 1/2 - 1/3 = 1/6.
    // The sign (-1) records no graph: its tangent is zero.
    let f = |x: &[Tensor]| Ok(vec![x[0].slogdet()?.1]);
    let jv = tangent(&f, &[t(&[2.0, 0.0, 0.0, -3.0], &[2, 2])], &[t(&[1.0, 0.0, 0.0, 1.0], &[2, 2])]);
    close(&jv, &[1.0 / 6.0], 1e-14);
    let (sign, _) = t(&[2.0, 0.0, 0.0, -3.0], &[2, 2]).leaf_requiring_grad().unwrap().slogdet().unwrap();
    assert!(!sign.requires_grad());
}

#[test]
fn solve_tangent() {
    // A = diag(2, 4), B = [[2], [4]], X = [[1], [1]]; dA = E₁₂, dB = [[0], [4]]:
    // dX = A⁻¹ (dB - dA X) = A⁻¹ [[-1], [4]] = [[-0.5], [1]]
    let f = |x: &[Tensor]| Ok(vec![x[0].solve(&x[1])?]);
    let xs = [t(&[2.0, 0.0, 0.0, 4.0], &[2, 2]), t(&[2.0, 4.0], &[2, 1])];
    let v = [t(&[0.0, 1.0, 0.0, 0.0], &[2, 2]), t(&[0.0, 4.0], &[2, 1])];
    close(&tangent(&f, &xs, &v), &[-0.5, 1.0], 1e-14);
    // only dB: dX = A⁻¹ dB = [[0], [1]]; only dA: dX = -A⁻¹ dA X = [[-0.5], [0]]
    close(&tangent(&f, &xs, &[Tensor::zeros(&[2, 2], DType::F64), v[1].clone()]), &[0.0, 1.0], 1e-14);
    close(&tangent(&f, &xs, &[v[0].clone(), Tensor::zeros(&[2, 1], DType::F64)]), &[-0.5, 0.0], 1e-14);
}

#[test]
fn cholesky_tangent() {
    // A = [[4, 2], [2, 5]] = L Lᵀ, L = [[2, 0], [1, 2]]. With dA = 4 E₁₁:
    // l₁₁ = √a₁₁ → 4/(2·2) = 1; l₂₁ = a₂₁/l₁₁ → -a₂₁·4/(2 l₁₁³) = -0.5;
    // l₂₂ = √(a₂₂ - l₂₁²) → -l₂₁ dl₂₁/l₂₂ = 0.25
    let f = |x: &[Tensor]| Ok(vec![x[0].cholesky(false)?]);
    let a = t(&[4.0, 2.0, 2.0, 5.0], &[2, 2]);
    close(&tangent(&f, std::slice::from_ref(&a), &[t(&[4.0, 0.0, 0.0, 0.0], &[2, 2])]), &[1.0, 0.0, -0.5, 0.25], 1e-14);
    // Symmetric dA = E₁₂ + E₂₁: dl₂₁ = 1/l₁₁ = 0.5, dl₂₂ = -l₂₁·0.5/l₂₂ = -0.25. An
    // off-diagonal entry alone counts as half of that (the symmetric-gradient
    // convention the VJP follows, as PyTorch), whichever triangle it is in.
    close(&tangent(&f, std::slice::from_ref(&a), &[t(&[0.0, 1.0, 1.0, 0.0], &[2, 2])]), &[0.0, 0.0, 0.5, -0.25], 1e-14);
    close(
        &tangent(&f, std::slice::from_ref(&a), &[t(&[0.0, 1.0, 0.0, 0.0], &[2, 2])]),
        &[0.0, 0.0, 0.25, -0.125],
        1e-14,
    );
    close(&tangent(&f, &[a], &[t(&[0.0, 0.0, 1.0, 0.0], &[2, 2])]), &[0.0, 0.0, 0.25, -0.125], 1e-14);
}

#[test]
fn diagonal_family_tangents_are_the_ops_themselves() {
    // All linear: d op(X) = op(dX).
    let x = t(&(0..6).map(f64::from).collect::<Vec<_>>(), &[2, 3]);
    let v = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let diagonal = |x: &[Tensor]| Ok(vec![x[0].diagonal(1, 0, 1)?]);
    close(&tangent(&diagonal, std::slice::from_ref(&x), std::slice::from_ref(&v)), &[2.0, 6.0], 0.0);
    let tril = |x: &[Tensor]| Ok(vec![x[0].tril(0)?]);
    close(&tangent(&tril, std::slice::from_ref(&x), std::slice::from_ref(&v)), &[1.0, 0.0, 0.0, 4.0, 5.0, 0.0], 0.0);
    let triu = |x: &[Tensor]| Ok(vec![x[0].triu(1)?]);
    close(&tangent(&triu, &[x], &[v]), &[0.0, 2.0, 3.0, 0.0, 0.0, 6.0], 0.0);
    // diag_embed([a, b], offset -1) = [[0, 0, 0], [a, 0, 0], [0, b, 0]]
    let embed = |x: &[Tensor]| Ok(vec![x[0].diag_embed(-1, -2, -1)?]);
    let jv = tangent(&embed, &[t(&[7.0, 8.0], &[2])], &[t(&[1.0, 2.0], &[2])]);
    close(&jv, &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0], 0.0);
}

// ---- forward-mode Jacobians with batched tangents ------------------------------------

#[test]
fn inverse_forward_jacobians() {
    let f = |x: &[Tensor]| Ok(vec![x[0].inverse()?]);
    forward_equals_reverse(&f, &[well_conditioned(&[3, 3], 1)]);
    forward_equals_reverse(&f, &[well_conditioned(&[2, 3, 3], 2)]);
    // 100 columns: blocks of 64 on worker threads when not vectorized
    forward_equals_reverse(&f, &[well_conditioned(&[10, 10], 3)]);
}

#[test]
fn determinant_forward_jacobians() {
    let det = |x: &[Tensor]| Ok(vec![x[0].det()?]);
    forward_equals_reverse(&det, &[well_conditioned(&[3, 3], 4)]);
    forward_equals_reverse(&det, &[well_conditioned(&[2, 2, 3, 3], 5)]);
    // a batch with one exactly singular matrix takes the cofactor path for all
    let mut v = noise(8, 6);
    v[2] = 2.0 * v[0];
    v[3] = 2.0 * v[1];
    forward_equals_reverse(&det, &[t(&v, &[2, 2, 2])]);
    let logabs = |x: &[Tensor]| Ok(vec![x[0].slogdet()?.1]);
    let mut neg = well_conditioned(&[2, 3, 3], 7).to_f64_vec();
    neg[..3].iter_mut().for_each(|x| *x = -*x);
    forward_equals_reverse(&logabs, &[t(&neg, &[2, 3, 3])]);
}

#[test]
fn solve_forward_jacobians_with_broadcast_batches() {
    let f = |x: &[Tensor]| Ok(vec![x[0].solve(&x[1])?]);
    let b = |shape: &[usize], seed| t(&noise(shape.iter().product(), seed), shape);
    // plain, A batched over one B, one A over batched B, both batched with broadcasting
    forward_equals_reverse(&f, &[well_conditioned(&[3, 3], 8), b(&[3, 2], 9)]);
    forward_equals_reverse(&f, &[well_conditioned(&[2, 3, 3], 10), b(&[3, 2], 11)]);
    forward_equals_reverse(&f, &[well_conditioned(&[3, 3], 12), b(&[2, 3, 2], 13)]);
    forward_equals_reverse(&f, &[well_conditioned(&[2, 1, 3, 3], 14), b(&[3, 3, 1], 15)]);
}

#[test]
fn cholesky_forward_jacobians() {
    let f = |x: &[Tensor]| Ok(vec![x[0].cholesky(false)?]);
    forward_equals_reverse(&f, &[spd(&[3, 3], 16)]);
    forward_equals_reverse(&f, &[spd(&[2, 4, 4], 17)]);
}

#[test]
fn diagonal_family_forward_jacobians() {
    let x = t(&noise(24, 18), &[3, 2, 4]);
    let diagonal = |x: &[Tensor]| Ok(vec![x[0].diagonal(-1, 2, 0)?]);
    forward_equals_reverse(&diagonal, std::slice::from_ref(&x));
    let tri = |x: &[Tensor]| Ok(vec![x[0].tril(1)?, x[0].triu(-1)?]);
    forward_equals_reverse(&tri, std::slice::from_ref(&x));
    let embed = |x: &[Tensor]| Ok(vec![x[0].diag_embed(1, 0, 2)?]);
    forward_equals_reverse(&embed, &[t(&noise(6, 19), &[2, 3])]);
    // diag of a vector and of a matrix
    let diag = |x: &[Tensor]| Ok(vec![x[0].diag(-1)?, x[0].diag(0)?.diag(1)?]);
    forward_equals_reverse(&diag, &[t(&noise(3, 20), &[3])]);
}

#[test]
fn composed_linalg_forward_jacobians() {
    // inv, solve, det, tril and cholesky feeding each other: tangents of every rule
    // flow into the next one's rule (no op outside the family on the path)
    let f = |x: &[Tensor]| {
        let inv = x[0].inverse()?;
        let y = inv.solve(&x[0].tril(0)?)?;
        Ok(vec![y.det()?, y.diagonal(0, -2, -1)?, x[1].cholesky(false)?.solve(&inv)?])
    };
    forward_equals_reverse(&f, &[well_conditioned(&[3, 3], 21), spd(&[3, 3], 22)]);
}

#[test]
fn composed_ops_agree_across_modes() {
    // trace, logdet, einsum, vector solve and the upper Cholesky factor compose the
    // family's ops with views, reductions and where_: forward equals reverse
    let cases: Vec<(Box<F>, Vec<Tensor>)> = vec![
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].trace()?])), vec![t(&noise(9, 23), &[3, 3])]),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].logdet()?])), vec![well_conditioned(&[2, 3, 3], 24)]),
        (
            Box::new(|x: &[Tensor]| Ok(vec![x[0].solve(&x[1])?])),
            vec![well_conditioned(&[3, 3], 25), t(&noise(3, 26), &[3])],
        ),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].cholesky(true)?])), vec![spd(&[3, 3], 27)]),
        (
            Box::new(|x: &[Tensor]| {
                Ok(vec![lucid_core::ops::linalg::einsum::einsum("bii,bi->b", &[x[0].clone(), x[1].clone()])?])
            }),
            vec![t(&noise(18, 28), &[2, 3, 3]), t(&noise(6, 29), &[2, 3])],
        ),
    ];
    for (f, xs) in &cases {
        let fwd = jacobian(f.as_ref(), xs, &opts(Strategy::ForwardMode, true)).unwrap();
        let rev = jacobian(f.as_ref(), xs, &opts(Strategy::ReverseMode, true)).unwrap();
        for (a, b) in fwd.iter().zip(&rev) {
            close(&a.to_f64_vec(), &b.to_f64_vec(), 1e-12);
        }
    }
}

// ---- higher order --------------------------------------------------------------------

#[test]
fn forward_jacobians_with_create_graph_differentiate_again() {
    // The tangent rules record a graph under create_graph: the gradient of a weighted
    // sum of the forward-mode Jacobian equals that of the reverse-mode Jacobian.
    let cases: Vec<(Box<F>, Tensor)> = vec![
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].inverse()?])), well_conditioned(&[3, 3], 30)),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].det()?])), well_conditioned(&[3, 3], 31)),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].slogdet()?.1])), well_conditioned(&[3, 3], 32)),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].solve(&x[0].tril(0)?)?])), well_conditioned(&[3, 3], 33)),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].cholesky(false)?])), spd(&[3, 3], 34)),
        // linear in x (a constant Jacobian) times x: the tangents of the diagonal ops meet x
        (
            Box::new(|x: &[Tensor]| Ok(vec![x[0].diagonal(0, 0, 1)?.diag_embed(0, 0, 1)?.triu(0)?.mul(&x[0])?])),
            t(&noise(9, 35), &[3, 3]),
        ),
    ];
    for (f, x) in &cases {
        let grad_of_weighted = |strategy| {
            let x = x.leaf_requiring_grad().unwrap();
            let o = JacobianOptions { strategy, create_graph: true, vectorize: true, ..Default::default() };
            let j = jacobian(f.as_ref(), std::slice::from_ref(&x), &o).unwrap().remove(0);
            assert!(j.requires_grad());
            let w = t(&noise(j.numel(), 36), j.shape());
            let s = j.mul(&w).unwrap().sum_all().unwrap();
            lucid_core::autograd::grad(&[s], &[x], &[], Default::default()).unwrap().remove(0).unwrap().to_f64_vec()
        };
        close(&grad_of_weighted(Strategy::ForwardMode), &grad_of_weighted(Strategy::ReverseMode), 1e-10);
    }
}

#[test]
fn hessians_by_forward_over_reverse() {
    // Forward-mode Hessian: tangents pushed through the gradient's graph, whose nodes
    // are the VJP rules' own inverse/solve/tril/matmul ops.
    let cases: Vec<(Box<F>, Tensor)> = vec![
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].inverse()?.sum_all()?])), well_conditioned(&[3, 3], 40)),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].det()?])), well_conditioned(&[3, 3], 41)),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].logdet()?])), well_conditioned(&[3, 3], 42)),
        (
            Box::new(|x: &[Tensor]| Ok(vec![x[0].solve(&x[0].diagonal(0, 0, 1)?.unsqueeze(1)?)?.sum_all()?])),
            well_conditioned(&[3, 3], 43),
        ),
        (Box::new(|x: &[Tensor]| Ok(vec![x[0].cholesky(false)?.mul(&x[0])?.sum_all()?])), spd(&[3, 3], 44)),
    ];
    for (f, x) in &cases {
        let h = |strategy| {
            let o = JacobianOptions { strategy, vectorize: true, ..Default::default() };
            hessian(f.as_ref(), std::slice::from_ref(x), &o).unwrap()[0][0].to_f64_vec()
        };
        close(&h(Strategy::ForwardMode), &h(Strategy::ReverseMode), 1e-10);
    }
}
