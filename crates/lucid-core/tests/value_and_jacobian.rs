//! `functional::value_and_jacobian` (and `Taped::value_and_jacobian`): the outputs and
//! the Jacobian from one call of `f`, equal to `f(x)` and `jacobian(f, x)` in every
//! strategy and mode, detached unless `create_graph`, errors naming
//! `value_and_jacobian`.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads best in tests

mod common;

use std::cell::Cell;

use common::*;
use lucid_core::autograd::grad;
use lucid_core::autograd::GradOptions;
use lucid_core::functional::{jacobian, value_and_jacobian, JacobianOptions, Strategy, Taped};
use lucid_core::{Result, Tensor};

fn every_mode() -> Vec<(&'static str, JacobianOptions)> {
    let with =
        |vectorize, chunk_size, strategy| JacobianOptions { vectorize, chunk_size, strategy, ..Default::default() };
    let mut modes = Vec::new();
    for (name, strategy) in
        [("reverse", Strategy::ReverseMode), ("forward", Strategy::ForwardMode), ("auto", Strategy::Auto)]
    {
        modes.push((name, with(false, None, strategy)));
        modes.push((name, with(true, None, strategy)));
        modes.push((name, with(true, Some(2), strategy)));
    }
    modes.push(("strict", JacobianOptions { strict: true, ..Default::default() }));
    modes
}

/// f(a, b) = (a ⊙ sin b, Σ a² + Σ b), a, b ∈ R³:
/// ∂f₀/∂a = diag(sin b), ∂f₀/∂b = diag(a cos b); ∂f₁/∂a = 2aᵀ, ∂f₁/∂b = 1ᵀ.
fn f(x: &[Tensor]) -> Result<Vec<Tensor>> {
    Ok(vec![x[0].mul(&x[1].sin()?)?, x[0].mul(&x[0])?.sum_all()?.add(&x[1].sum_all()?)?])
}

fn inputs() -> Vec<Tensor> {
    vec![rand64(1, &[3], -1.0, 1.0), rand64(2, &[3], -1.0, 1.0)]
}

#[test]
fn equals_the_function_and_its_jacobian_in_every_mode() {
    let x = inputs();
    let (a, b) = (x[0].to_f64_vec(), x[1].to_f64_vec());
    for (name, opts) in every_mode() {
        let calls = Cell::new(0);
        let counted = |t: &[Tensor]| {
            calls.set(calls.get() + 1);
            f(t)
        };
        let (values, j) = value_and_jacobian(counted, &x, &opts).unwrap();
        assert_eq!(calls.get(), 1, "{name}: f runs once");
        let want = f(&x).unwrap();
        for (v, w) in values.iter().zip(&want) {
            assert_eq!(v.to_f64_vec(), w.to_f64_vec(), "{name}: values");
            assert!(!v.requires_grad(), "{name}: values are detached");
        }
        let j_ref = jacobian(f, &x, &opts).unwrap();
        for (k, (got, want)) in j.iter().zip(&j_ref).enumerate() {
            assert_eq!(got.shape(), &[4, 3]);
            assert_eq!(got.to_f64_vec(), want.to_f64_vec(), "{name}: block {k}");
        }
        // and the hand-derived blocks
        let mut ja = vec![0.0; 12];
        let mut jb = vec![0.0; 12];
        for i in 0..3 {
            ja[i * 3 + i] = b[i].sin();
            jb[i * 3 + i] = a[i] * b[i].cos();
            ja[9 + i] = 2.0 * a[i];
            jb[9 + i] = 1.0;
        }
        assert_close(&j[0].to_f64_vec(), &ja, 1e-15, name);
        assert_close(&j[1].to_f64_vec(), &jb, 1e-15, name);
    }
}

#[test]
fn create_graph_keeps_values_and_jacobian_differentiable() {
    // f(x) = x³: value x³, J = diag(3x²); d(Σ J)/dx = 6x
    let x = leaf(&[1.0, 2.0], &[2]);
    for strategy in [Strategy::ReverseMode, Strategy::ForwardMode] {
        let opts = JacobianOptions { create_graph: true, strategy, ..Default::default() };
        let cube = |t: &[Tensor]| Ok(vec![t[0].mul(&t[0])?.mul(&t[0])?]);
        let (values, j) = value_and_jacobian(cube, &[x.clone()], &opts).unwrap();
        assert!(values[0].requires_grad() && j[0].requires_grad());
        let opts_grad = GradOptions { retain_graph: true, create_graph: false, allow_unused: false };
        let g = grad(&[j[0].sum_all().unwrap()], &[x.clone()], &[None], opts_grad).unwrap();
        assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &[6.0, 12.0], 1e-14, "d ΣJ / dx");
        let g = grad(&[values[0].sum_all().unwrap()], &[x.clone()], &[None], opts_grad).unwrap();
        assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &[3.0, 12.0], 1e-14, "d Σf / dx");
    }
}

#[test]
fn errors_name_value_and_jacobian_and_come_before_f_runs() {
    let calls = Cell::new(0);
    let counted = |t: &[Tensor]| {
        calls.set(calls.get() + 1);
        f(t)
    };
    let bad = JacobianOptions { chunk_size: Some(2), ..Default::default() };
    let err = value_and_jacobian(counted, &inputs(), &bad).unwrap_err();
    assert_eq!(calls.get(), 0);
    assert!(err.to_string().starts_with("value_and_jacobian: chunk_size is only supported"), "{err}");
    // strict: g = Σ a² does not depend on b
    let strict = JacobianOptions { strict: true, ..Default::default() };
    let g = |t: &[Tensor]| Ok(vec![t[0].mul(&t[0])?.sum_all()?]);
    let err = value_and_jacobian(g, &inputs(), &strict).unwrap_err();
    assert!(err.to_string().starts_with("value_and_jacobian: output 0 is independent of input 1"), "{err}");
}

#[test]
fn a_taped_function_gives_the_eager_values_and_jacobian() {
    let taped = Taped::new(f, &inputs()).unwrap();
    let y = vec![rand64(3, &[3], -1.0, 1.0), rand64(4, &[3], -1.0, 1.0)];
    for (name, opts) in every_mode() {
        let (values, j) = taped.value_and_jacobian(&y, &opts).unwrap();
        let (eager_values, eager_j) = value_and_jacobian(f, &y, &opts).unwrap();
        for (v, w) in values.iter().zip(&eager_values).chain(j.iter().zip(&eager_j)) {
            assert_eq!(v.to_f64_vec(), w.to_f64_vec(), "{name}: bit for bit");
        }
        assert!(values.iter().all(|v| !v.requires_grad()));
    }
    assert_eq!(taped.records(), 1);
}
