//! A chain of 100 000 elementwise ops backpropagates and drops without overflowing the
//! stack. Runs in the default test thread (2 MiB stack): no recursion may scale with
//! the chain length, neither in the sweep nor in `Drop`.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads best in tests

mod common;

use common::*;
use lucid_core::autograd::{backward, grad, GradOptions};
use lucid_core::functional::{jacobian, JacobianOptions};
use lucid_core::Tensor;

const N: usize = 100_000;

#[test]
fn long_chain_backward_and_drop() {
    // y = x + N·c with c = 1e-5: dy/dx = 1 exactly, y = x + 1
    let x = leaf(&[0.5, -0.25], &[2]);
    let c = x.scalar_like(1e-5);
    let mut y = x.clone();
    for _ in 0..N {
        y = y.add(&c).unwrap();
    }
    assert_close(&y.to_f64_vec(), &[1.5, 0.75], 1e-9, "forward");
    backward(&[y.sum_all().unwrap()], &[], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![1.0, 1.0]);
    drop(y); // the whole chain is freed here, iteratively
}

#[test]
fn long_chain_of_mixed_ops_with_grad() {
    // alternate y → y·a and y → y/a (a = 1.000001): y_N = x and dy/dx = 1 up to round-off
    let x = leaf(&[2.0], &[1]);
    let a = x.scalar_like(1.000_001);
    let mut y = x.clone();
    for k in 0..N {
        y = if k % 2 == 0 { y.mul(&a).unwrap() } else { y.div(&a).unwrap() };
    }
    let opts = GradOptions { retain_graph: true, ..Default::default() };
    let g = grad(&[y.sum_all().unwrap()], &[x.clone()], &[], opts).unwrap();
    assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &[1.0], 1e-9, "d y_N / dx");
    // dropping an output that still holds its retained graph is iterative too
    drop(g);
    drop(y);
}

#[test]
fn long_chain_jacobian_vectorized() {
    // f(x) = x·(1.00001)^N elementwise for N/10 steps: J = diag(1.00001^(N/10))
    let n = N / 10;
    let f = move |xs: &[Tensor]| {
        let mut y = xs[0].clone();
        for _ in 0..n {
            y = y.mul_scalar(1.00001)?;
        }
        Ok(vec![y])
    };
    let x = t64(&[1.0, 2.0, 3.0], &[3]);
    let j = jacobian(f, &[x], &JacobianOptions { vectorize: true, ..Default::default() }).unwrap();
    let d = 1.00001f64.powi(n as i32);
    assert_close(&j[0].to_f64_vec(), &[d, 0.0, 0.0, 0.0, d, 0.0, 0.0, 0.0, d], 1e-9, "diag");
}

#[test]
fn dropping_an_unswept_long_chain() {
    let x = leaf(&[1.0], &[1]);
    let mut y = x.clone();
    for _ in 0..N {
        y = y.neg().unwrap();
    }
    assert_eq!(y.to_f64_vec(), vec![1.0]);
    drop(y);
    // the leaf survives and is still usable
    assert_eq!(x.exp().unwrap().to_f64_vec(), vec![1f64.exp()]);
}

#[test]
fn long_chain_with_create_graph() {
    // second order through a long chain: y = x² followed by N/10 additions of 0,
    // dy/dx = 2x = 6, d²y/dx² = 2
    let x = leaf(&[3.0], &[1]);
    let z = x.scalar_like(0.0);
    let mut y = x.mul(&x).unwrap();
    for _ in 0..N / 10 {
        y = y.add(&z).unwrap();
    }
    let o = GradOptions { retain_graph: true, create_graph: true, allow_unused: false };
    let g = grad(&[y.sum_all().unwrap()], &[x.clone()], &[], o).unwrap().remove(0).unwrap();
    assert_eq!(g.to_f64_vec(), vec![6.0]);
    let gg = grad(&[g.sum_all().unwrap()], &[x], &[], GradOptions::default()).unwrap();
    assert_eq!(gg[0].as_ref().unwrap().to_f64_vec(), vec![2.0]);
}
