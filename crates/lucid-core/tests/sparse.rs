//! Sparse Jacobians and Hessians from Rust: CSR blocks equal to the dense ones, the
//! stencil's optimal colouring, and the cache reused across calls with new values.

use lucid_core::functional::{
    hessian, jacobian, sparse_hessian_from_graph, sparse_jacobian, sparsity_from_graph, Direction, JacobianOptions,
    Strategy,
};
use lucid_core::{DType, Result, Tensor};

/// `f(u)_i = u_{i-1} - 2 u_i + u_{i+1} + u_i³`, zero boundary, written with slices and cat.
fn stencil(x: &[Tensor]) -> Result<Vec<Tensor>> {
    let u = &x[0];
    let n = u.numel();
    let z = Tensor::zeros(&[1], u.dtype());
    let left = Tensor::cat(&[z.clone(), u.narrow(0, 0, n - 1)?], 0)?;
    let right = Tensor::cat(&[u.narrow(0, 1, n - 1)?, z], 0)?;
    Ok(vec![left.add(&right)?.add(&u.mul_scalar(-2.0)?)?.add(&u.mul(u)?.mul(u)?)?])
}

fn vector(values: Vec<f64>) -> Tensor {
    let n = values.len();
    Tensor::from_vec(values, &[n], DType::F64).unwrap()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-13 * (1.0 + y.abs()), "{x} vs {y}");
    }
}

fn with(strategy: Strategy) -> JacobianOptions {
    JacobianOptions { strategy, ..Default::default() }
}

#[test]
fn stencil_blocks_equal_the_dense_jacobian_in_every_direction() {
    for n in [2, 5, 64] {
        let u = vector((0..n).map(|i| (i as f64 * 0.37).sin()).collect());
        let dense = jacobian(stencil, std::slice::from_ref(&u), &JacobianOptions::default()).unwrap()[0].to_f64_vec();
        for strategy in [Strategy::Auto, Strategy::ForwardMode, Strategy::ReverseMode] {
            let j = sparse_jacobian(stencil, std::slice::from_ref(&u), &with(strategy)).unwrap();
            assert_eq!((j[0].rows, j[0].cols, j[0].indptr.len()), (n, n, n + 1));
            assert_eq!(j[0].to_dense(), dense, "n={n} {strategy:?}");
            assert_eq!(j[0].data.len(), 3 * n - 2);
        }
    }
}

#[test]
fn the_stencil_needs_three_colours_and_new_values_reuse_them() {
    let u = vector(vec![0.5; 1000]);
    let leaf = u.leaf_requiring_grad().unwrap();
    let out = stencil(std::slice::from_ref(&leaf)).unwrap();
    let s = sparsity_from_graph(&out, &[leaf], Strategy::Auto).unwrap();
    // a tie: auto times both directions and keeps the faster
    assert_eq!(s.colours, 3);
    assert!(matches!(s.direction, Direction::Forward | Direction::Reverse), "{:?}", s.direction);
    assert_eq!(s.blocks[0].indices.len(), 2998);
    // the same graph at other values: same pattern, values of the new point
    for k in 1..4 {
        let x: Vec<f64> = (0..1000).map(|i| (i * k) as f64 / 1000.0).collect();
        let j = sparse_jacobian(stencil, &[vector(x.clone())], &JacobianOptions::default()).unwrap();
        for (i, xi) in x.iter().enumerate() {
            let diag = j[0].indptr[i] + usize::from(i > 0);
            assert_eq!(j[0].indices[diag], i);
            assert!((j[0].data[diag] - (-2.0 + 3.0 * xi * xi)).abs() < 1e-14);
        }
    }
}

#[test]
fn two_inputs_give_one_block_each() {
    let f = |x: &[Tensor]| -> Result<Vec<Tensor>> {
        Ok(vec![x[0].mul(&x[1].narrow(0, 0, 3)?)?, x[1].sum(None, false)?.reshape(&[1])?])
    };
    let a = vector(vec![1.0, 2.0, 3.0]);
    let b = vector(vec![4.0, 5.0, 6.0, 7.0]);
    let dense = jacobian(f, &[a.clone(), b.clone()], &JacobianOptions::default()).unwrap();
    let sparse = sparse_jacobian(f, &[a, b], &JacobianOptions::default()).unwrap();
    for (s, d) in sparse.iter().zip(&dense) {
        assert_eq!((s.rows, s.cols), (d.shape()[0], d.shape()[1]));
        assert_eq!(s.to_dense(), d.to_f64_vec());
    }
}

#[test]
fn sparse_hessian_equals_the_dense_one() {
    // Σ x_i⁴ + Σ x_i x_{i+1}: tridiagonal
    let f = |x: &[Tensor]| -> Result<Vec<Tensor>> {
        let u = &x[0];
        let n = u.numel();
        let quartic = u.mul(u)?.mul(u)?.mul(u)?.sum(None, false)?;
        let pairs = u.narrow(0, 0, n - 1)?.mul(&u.narrow(0, 1, n - 1)?)?.sum(None, false)?;
        Ok(vec![quartic.add(&pairs)?])
    };
    let x = vector((0..20).map(|i| i as f64 / 7.0 - 1.0).collect());
    let dense = hessian(f, std::slice::from_ref(&x), &JacobianOptions::default()).unwrap();
    let leaf = x.leaf_requiring_grad().unwrap();
    let out = {
        let _g = lucid_core::autograd::enable_grad();
        f(std::slice::from_ref(&leaf)).unwrap().remove(0)
    };
    let h = sparse_hessian_from_graph(&out, &[leaf], &JacobianOptions::default()).unwrap();
    // forward over reverse against reverse over reverse: equal to round-off
    close(&h[0][0].to_dense(), &dense[0][0].to_f64_vec());
    assert_eq!(h[0][0].data.len(), 3 * 20 - 2);
}

#[test]
fn create_graph_with_sparse_is_an_error_that_says_why() {
    let opts = JacobianOptions { create_graph: true, ..Default::default() };
    let err = sparse_jacobian(stencil, &[vector(vec![1.0, 2.0])], &opts).unwrap_err();
    assert!(err.message().contains("carry no graph"), "{}", err.message());
}
