//! Linear algebra: hand-derived derivatives, a finite-difference gradcheck of every
//! op in float64 (first and second order), batched cotangents and error paths.

use lucid_core::functional::{hessian, jacobian, JacobianOptions};
use lucid_core::ops::linalg::einsum::einsum;
use lucid_core::{DType, Error, Result, Tensor};

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, DType::F64).unwrap()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

/// ∂(sum of f(x))/∂x by one reverse sweep.
fn grad_of_sum(f: impl Fn(&Tensor) -> Result<Tensor>, x: &Tensor) -> Vec<f64> {
    let x = x.leaf_requiring_grad().unwrap();
    let y = f(&x).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[y], &[x], &[], Default::default()).unwrap();
    g[0].as_ref().unwrap().to_f64_vec()
}

/// Central differences of f at x: a (numel(f), numel(x)) row-major matrix.
fn numeric_jacobian(f: &dyn Fn(&Tensor) -> Result<Tensor>, x: &Tensor) -> Vec<f64> {
    let base = x.to_f64_vec();
    let eps = 1e-6;
    let m = f(x).unwrap().numel();
    let n = base.len();
    let mut j = vec![0.0; m * n];
    for k in 0..n {
        let mut plus = base.clone();
        let mut minus = base.clone();
        plus[k] += eps;
        minus[k] -= eps;
        let fp = f(&t(&plus, x.shape())).unwrap().to_f64_vec();
        let fm = f(&t(&minus, x.shape())).unwrap().to_f64_vec();
        for r in 0..m {
            j[r * n + k] = (fp[r] - fm[r]) / (2.0 * eps);
        }
    }
    j
}

/// The Jacobian of f (both sweep modes) against central differences, and the Jacobian
/// of its gradient (built with create_graph) against central differences of the gradient.
fn gradcheck(f: impl Fn(&Tensor) -> Result<Tensor> + Copy, x: &Tensor) {
    let wrap = |xs: &[Tensor]| Ok(vec![f(&xs[0])?]);
    for vectorize in [false, true] {
        let opts = JacobianOptions { vectorize, ..Default::default() };
        let j = jacobian(wrap, std::slice::from_ref(x), &opts).unwrap();
        close(&j[0].to_f64_vec(), &numeric_jacobian(&f, x), 1e-6);
    }
    // second order: the Hessian of a weighted sum against differences of its gradient
    let w = t(&(0..f(x).unwrap().numel()).map(|i| 0.3 + 0.1 * i as f64).collect::<Vec<_>>(), f(x).unwrap().shape());
    let scalar = |xs: &[Tensor]| Ok(vec![f(&xs[0])?.mul(&w)?.sum_all()?]);
    let h = hessian(scalar, std::slice::from_ref(x), &JacobianOptions::default()).unwrap();
    let grad = |y: &Tensor| -> Result<Tensor> { Ok(t(&grad_of_sum(|z| f(z)?.mul(&w), y), y.shape())) };
    close(&h[0][0].to_f64_vec(), &numeric_jacobian(&grad, x), 1e-5);
}

/// A well-conditioned 3×3 matrix: 3I + small entries.
fn well_conditioned() -> Tensor {
    t(&[3.2, 0.4, -0.3, 0.1, 2.7, 0.5, -0.2, 0.3, 3.1], &[3, 3])
}

#[test]
fn inverse_of_a_diagonal_matrix() {
    // inv(diag(2, 4)) = diag(1/2, 1/4); d(1/a)/da = -1/a², and off-diagonal entries
    // of the gradient of sum(inv A) are -(A⁻ᵀ 1 A⁻ᵀ)_ij = -1/(a_i a_j)
    let a = t(&[2.0, 0.0, 0.0, 4.0], &[2, 2]);
    assert_eq!(a.inverse().unwrap().to_f64_vec(), vec![0.5, 0.0, 0.0, 0.25]);
    close(&grad_of_sum(|x| x.inverse(), &a), &[-0.25, -0.125, -0.125, -0.0625], 1e-15);
}

#[test]
fn det_of_a_2x2_matrix() {
    // det [[a, b], [c, d]] = ad - bc; ∇ = [[d, -c], [-b, a]]
    let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    close(&a.det().unwrap().to_f64_vec(), &[-2.0], 1e-15);
    close(&grad_of_sum(|x| x.det(), &a), &[4.0, -3.0, -2.0, 1.0], 1e-14);
}

#[test]
fn slogdet_of_a_matrix_with_negative_determinant() {
    // det = -2: sign -1, log|det| = ln 2; ∇ log|det| = A⁻ᵀ = [[-2, 1.5], [1, -0.5]]
    let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let (s, l) = a.slogdet().unwrap();
    assert_eq!(s.to_f64_vec(), vec![-1.0]);
    close(&l.to_f64_vec(), &[2f64.ln()], 1e-15);
    close(&grad_of_sum(|x| Ok(x.slogdet()?.1), &a), &[-2.0, 1.5, 1.0, -0.5], 1e-14);
    assert!(a.logdet().unwrap().item().unwrap().is_nan());
}

#[test]
fn singular_matrices() {
    // det is 0 and slogdet is (0, -inf) without error, as in PyTorch; inv refuses
    let a = t(&[1.0, 2.0, 2.0, 4.0], &[2, 2]);
    assert_eq!(a.det().unwrap().item().unwrap(), 0.0);
    let (s, l) = a.slogdet().unwrap();
    assert_eq!((s.item().unwrap(), l.item().unwrap()), (0.0, f64::NEG_INFINITY));
    assert!(matches!(a.inverse(), Err(Error::Linalg { op: "inv", .. })));
    // ∇ det = cofactors = [[4, -2], [-2, 1]], defined at singular matrices too
    assert_eq!(grad_of_sum(|x| x.det(), &a), vec![4.0, -2.0, -2.0, 1.0]);
    // log|det| = -inf there: its backward refuses
    let x = a.leaf_requiring_grad().unwrap();
    let y = x.slogdet().unwrap().1;
    let err = lucid_core::autograd::grad(&[y], &[x], &[], Default::default()).unwrap_err();
    assert!(matches!(err, Error::Linalg { op: "slogdet backward", .. }), "{err}");
    // the batch index of the offending matrix is named
    let batch =
        Tensor::stack(&[well_conditioned(), t(&[1.0, 2.0, 0.0, 2.0, 4.0, 0.0, 0.0, 0.0, 1.0], &[3, 3])], 0).unwrap();
    let msg = batch.inverse().unwrap_err().message();
    assert!(msg.contains("inv") && msg.contains("batch index (1,)") && msg.contains("singular"), "{msg}");
    let msg = batch.solve(&Tensor::ones(&[3], DType::F64)).unwrap_err().message();
    assert!(msg.contains("solve") && msg.contains("batch index (1,)"), "{msg}");
}

#[test]
fn solve_vector_and_matrix_right_hand_sides() {
    // A = diag(2, 4): x = (b0/2, b1/4); ∂Σx/∂b = A⁻ᵀ 1 = (1/2, 1/4),
    // ∂Σx/∂A = -(A⁻ᵀ 1) xᵀ = -[[b0/4, b1/8], [b0/8, b1/16]]
    let a = t(&[2.0, 0.0, 0.0, 4.0], &[2, 2]);
    let b = t(&[2.0, 8.0], &[2]);
    assert_eq!(a.solve(&b).unwrap().to_f64_vec(), vec![1.0, 2.0]);
    close(&grad_of_sum(|x| x.solve(&b), &a), &[-0.5, -1.0, -0.25, -0.5], 1e-15);
    close(&grad_of_sum(|y| a.solve(y), &b), &[0.5, 0.25], 1e-15);
    // a matrix right-hand side and a batch of A broadcast against it
    let bm = t(&[2.0, 4.0, 8.0, 12.0], &[2, 2]);
    assert_eq!(a.solve(&bm).unwrap().to_f64_vec(), vec![1.0, 2.0, 2.0, 3.0]);
    let a2 = Tensor::stack(&[a.clone(), a.mul_scalar(2.0).unwrap()], 0).unwrap();
    let b3 = t(&[2.0, 4.0, 6.0, 8.0, 12.0, 16.0], &[2, 3]);
    assert_eq!(a2.solve(&b3).unwrap().to_f64_vec(), vec![1.0, 2.0, 3.0, 2.0, 3.0, 4.0, 0.5, 1.0, 1.5, 1.0, 1.5, 2.0]);
    // B of shape A.shape[:-1] is a batch of vectors (PyTorch's rule), even when it
    // could also be read as one matrix
    let bv = t(&[2.0, 8.0, 4.0, 16.0], &[2, 2]);
    assert_eq!(a2.solve(&bv).unwrap().to_f64_vec(), vec![1.0, 2.0, 1.0, 2.0]);
}

#[test]
fn cholesky_of_a_known_matrix() {
    // [[4, 2], [2, 5]] = L Lᵀ, L = [[2, 0], [1, 2]]; upper gives Lᵀ
    let a = t(&[4.0, 2.0, 2.0, 5.0], &[2, 2]);
    assert_eq!(a.cholesky(false).unwrap().to_f64_vec(), vec![2.0, 0.0, 1.0, 2.0]);
    assert_eq!(a.cholesky(true).unwrap().to_f64_vec(), vec![2.0, 1.0, 0.0, 2.0]);
    // l11 = √a11: ∂l11/∂a11 = 1/(2·2) = 1/4 (the symmetric gradient halves off-diagonals)
    let only_l11 = |x: &Tensor| x.cholesky(false)?.select(0, 0)?.select(0, 0);
    close(&grad_of_sum(only_l11, &a), &[0.25, 0.0, 0.0, 0.0], 1e-15);
    let not_pd = t(&[1.0, 2.0, 2.0, 1.0], &[2, 2]);
    let msg = not_pd.cholesky(false).unwrap_err().message();
    assert!(msg.contains("cholesky") && msg.contains("not positive definite") && msg.contains("order 2"), "{msg}");
}

#[test]
fn non_square_and_integer_inputs_are_rejected() {
    let r = Tensor::zeros(&[2, 3], DType::F64);
    for res in [r.inverse(), r.det(), r.cholesky(false), r.logdet()] {
        assert!(matches!(res, Err(Error::Shape { .. })));
    }
    let i = Tensor::zeros(&[2, 2], DType::I64);
    assert!(matches!(i.inverse(), Err(Error::DType { .. })));
}

#[test]
fn diagonal_diag_embed_and_triangles() {
    let a = t(&(0..6).map(f64::from).collect::<Vec<_>>(), &[2, 3]);
    assert_eq!(a.diagonal(0, 0, 1).unwrap().to_f64_vec(), vec![0.0, 4.0]);
    assert_eq!(a.diagonal(-1, 0, 1).unwrap().to_f64_vec(), vec![3.0]);
    assert_eq!(a.diagonal(0, 1, 0).unwrap().to_f64_vec(), vec![0.0, 4.0]);
    assert_eq!(a.diag(2).unwrap().to_f64_vec(), vec![2.0]);
    assert_eq!(a.trace().unwrap().item().unwrap(), 4.0);
    // ∂ trace/∂A = I (padded to the shape)
    assert_eq!(grad_of_sum(|x| x.trace(), &a), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let v = t(&[1.0, 2.0], &[2]);
    assert_eq!(v.diag(1).unwrap().to_f64_vec(), vec![0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0]);
    assert_eq!(v.diag_embed(0, -2, -1).unwrap().to_f64_vec(), vec![1.0, 0.0, 0.0, 2.0]);
    assert_eq!(a.tril(0).unwrap().to_f64_vec(), vec![0.0, 0.0, 0.0, 3.0, 4.0, 0.0]);
    assert_eq!(a.triu(1).unwrap().to_f64_vec(), vec![0.0, 1.0, 2.0, 0.0, 0.0, 5.0]);
    // ∂ Σ tril(A)/∂A is the mask
    assert_eq!(grad_of_sum(|x| x.tril(0), &a), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    assert!(matches!(a.diagonal(0, 1, 1), Err(Error::Argument { .. })));
    assert!(matches!(v.tril(0), Err(Error::Shape { .. })));
}

#[test]
fn einsum_patterns_match_the_direct_ops() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(&[1.0, 0.5, -1.0, 2.0, 0.0, 1.0], &[3, 2]);
    let v = t(&[1.0, -1.0, 2.0], &[3]);
    let sq = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    assert_eq!(einsum("ij,jk->ik", &[a.clone(), b.clone()]).unwrap().to_f64_vec(), a.matmul(&b).unwrap().to_f64_vec());
    assert_eq!(einsum("ij,jk", &[a.clone(), b.clone()]).unwrap().to_f64_vec(), a.matmul(&b).unwrap().to_f64_vec());
    assert_eq!(einsum("ij,j->i", &[a.clone(), v.clone()]).unwrap().to_f64_vec(), a.matmul(&v).unwrap().to_f64_vec());
    assert_eq!(einsum("i,i->", &[v.clone(), v.clone()]).unwrap().item().unwrap(), 6.0);
    assert_eq!(einsum("ij->ji", std::slice::from_ref(&a)).unwrap().to_f64_vec(), a.t().unwrap().to_f64_vec());
    assert_eq!(einsum("ii->i", std::slice::from_ref(&sq)).unwrap().to_f64_vec(), vec![1.0, 4.0]);
    assert_eq!(einsum("ii", std::slice::from_ref(&sq)).unwrap().item().unwrap(), 5.0);
    assert_eq!(einsum("i,j->ij", &[v.clone(), v.clone()]).unwrap().to_f64_vec(), v.outer(&v).unwrap().to_f64_vec());
    let ba = Tensor::stack(&[a.clone(), a.mul_scalar(2.0).unwrap()], 0).unwrap();
    let bb = Tensor::stack(&[b.clone(), b.clone()], 0).unwrap();
    assert_eq!(
        einsum("bij,bjk->bik", &[ba.clone(), bb.clone()]).unwrap().to_f64_vec(),
        ba.matmul(&bb).unwrap().to_f64_vec()
    );
    assert_eq!(
        einsum("...ij,...jk->...ik", &[ba.clone(), b.clone()]).unwrap().to_f64_vec(),
        ba.matmul(&b).unwrap().to_f64_vec()
    );
    // three operands: vᵀ B... here a v-weighted bilinear form Σ_ijk a_ij v_j b_jk
    let three = einsum("ij,j,jk->ik", &[a.clone(), v.clone(), b.clone()]).unwrap();
    let direct = a.mul(&v).unwrap().matmul(&b).unwrap();
    assert_eq!(three.to_f64_vec(), direct.to_f64_vec());
    for bad in ["ij,jk->ik,", "ij->ii", "ij->k", "i2->i", "ij.->i", "ijk->i"] {
        assert!(einsum(bad, std::slice::from_ref(&a)).is_err(), "{bad}");
    }
    assert!(matches!(einsum("ij,jk->ik", &[a.clone(), a.clone()]), Err(Error::Shape { .. })));
    assert!(matches!(einsum("ij,jk->ik", &[a]), Err(Error::Argument { .. })));
}

#[test]
fn checked_products() {
    let v = t(&[1.0, 2.0, 3.0], &[3]);
    let m = t(&(0..6).map(f64::from).collect::<Vec<_>>(), &[2, 3]);
    assert_eq!(v.dot(&v).unwrap().item().unwrap(), 14.0);
    assert_eq!(m.mv(&v).unwrap().to_f64_vec(), vec![8.0, 26.0]);
    assert_eq!(m.mm(&m.t().unwrap()).unwrap().shape(), &[2, 2]);
    assert_eq!(v.outer(&t(&[1.0, 2.0], &[2])).unwrap().to_f64_vec(), vec![1.0, 2.0, 2.0, 4.0, 3.0, 6.0]);
    assert!(matches!(v.dot(&m), Err(Error::Shape { .. })));
    assert!(matches!(m.mv(&t(&[1.0, 2.0], &[2])), Err(Error::Shape { .. })));
    assert!(matches!(m.mm(&m), Err(Error::Shape { .. })));
    assert!(matches!(m.unsqueeze(0).unwrap().bmm(&m.unsqueeze(0).unwrap()), Err(Error::Shape { .. })));
}

#[test]
fn gradcheck_every_op() {
    let a = well_conditioned();
    let spd = t(&[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0], &[3, 3]);
    let bm = t(&[0.5, -1.0, 2.0, 0.3, 1.0, -0.7], &[3, 2]);
    gradcheck(|x| x.inverse(), &a);
    gradcheck(|x| x.det(), &a);
    gradcheck(|x| x.logdet(), &a);
    gradcheck(|x| Ok(x.slogdet()?.1), &a.neg().unwrap());
    gradcheck(|x| x.solve(&t(&[1.0, 2.0, -1.0], &[3])), &a);
    gradcheck(|x| a.solve(x), &bm);
    // the FD check moves entries one at a time: symmetrise inside
    gradcheck(|x| x.add(&x.mt()?)?.mul_scalar(0.5)?.cholesky(false), &spd);
    gradcheck(|x| x.diagonal(1, 0, 1), &bm);
    gradcheck(|x| x.diag_embed(-1, 0, 2), &bm);
    gradcheck(|x| x.tril(-1), &a);
    gradcheck(|x| x.triu(0)?.square(), &a);
    gradcheck(|x| x.trace(), &a);
    gradcheck(|x| einsum("ij,jk->ik", &[x.clone(), x.clone()]), &a);
    gradcheck(|x| einsum("ii->i", &[x.square()?]), &a);
    // det at singular matrices (rank 2 and rank 1): the cofactor path, to second order
    gradcheck(|x| x.det(), &t(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 1.0, 0.0, 1.0], &[3, 3]));
    gradcheck(|x| x.det(), &t(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 3.0, 6.0, 9.0], &[3, 3]));
    gradcheck(|x| x.det(), &Tensor::zeros(&[1, 1], DType::F64));
    // a batch of matrices
    let batch = Tensor::stack(&[a.clone(), spd.clone()], 0).unwrap();
    gradcheck(|x| x.inverse()?.mul(x), &batch);
    gradcheck(|x| x.det(), &batch);
    let with_singular =
        Tensor::stack(&[a.clone(), t(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 1.0, 0.0, 1.0], &[3, 3])], 0).unwrap();
    gradcheck(|x| x.det(), &with_singular);
}
