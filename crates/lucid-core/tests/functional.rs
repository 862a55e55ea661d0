//! `lucid_core::functional` against hand-derived Jacobians, Hessians and products:
//! looped, vectorized and chunked sweeps, tuples on both sides, 0-d shapes, strict
//! mode, create_graph, no mutation of the caller's tensors, and argument errors.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads best in tests

mod common;

use std::cell::Cell;

use common::*;
use lucid_core::autograd::{backward, no_grad};
use lucid_core::functional::{hessian, hvp, jacobian, jacobian_from_graph, jvp, vjp, JacobianOptions};
use lucid_core::{DType, Error, Result, Tensor};

fn all_modes() -> Vec<(&'static str, JacobianOptions)> {
    vec![
        ("loop", JacobianOptions::default()),
        ("vectorize", JacobianOptions { vectorize: true, ..Default::default() }),
        ("chunk 1", JacobianOptions { vectorize: true, chunk_size: Some(1), ..Default::default() }),
        ("chunk 3", JacobianOptions { vectorize: true, chunk_size: Some(3), ..Default::default() }),
        ("chunk 100", JacobianOptions { vectorize: true, chunk_size: Some(100), ..Default::default() }),
    ]
}

fn sel(x: &Tensor, i: isize) -> Tensor {
    x.select(0, i).unwrap()
}

/// f(x) = [x0² x1, 5 x0 + sin x1]
/// J = [[2 x0 x1, x0²], [5, cos x1]] = [[4, 1], [5, cos 2]] at x = (1, 2)
fn two_by_two(x: &[Tensor]) -> Result<Vec<Tensor>> {
    let (x0, x1) = (sel(&x[0], 0), sel(&x[0], 1));
    let a = x0.mul(&x0)?.mul(&x1)?;
    let b = x0.mul_scalar(5.0)?.add(&x1.sin()?)?;
    Ok(vec![Tensor::stack(&[a, b], 0)?])
}

#[test]
fn jacobian_one_input_one_output_all_modes() {
    let x = t64(&[1.0, 2.0], &[2]);
    for (label, opts) in all_modes() {
        let j = jacobian(two_by_two, &[x.clone()], &opts).unwrap();
        assert_eq!(j.len(), 1);
        assert_eq!(j[0].shape(), &[2, 2], "{label}");
        assert_close(&j[0].to_f64_vec(), &[4.0, 1.0, 5.0, 2f64.cos()], 1e-15, label);
        assert!(!j[0].requires_grad(), "{label}: create_graph=false returns detached blocks");
    }
}

/// f(a, b) = (a·b, Σ_i a_i b_j) for a, b ∈ R² (workload W4)
/// out1 = a ⊙ b: ∂/∂a = diag(b), ∂/∂b = diag(a)
/// out2_j = (Σa) b_j: ∂/∂a_i = b_j (row j = [b_j, b_j]), ∂/∂b_k = δ_jk Σa
/// at a = (1, 2), b = (3, 4): Ja = [[3,0],[0,4],[3,3],[4,4]], Jb = [[1,0],[0,2],[3,0],[0,3]]
fn w4(x: &[Tensor]) -> Result<Vec<Tensor>> {
    let (a, b) = (&x[0], &x[1]);
    let outer = a.unsqueeze(1)?.mul(&b.unsqueeze(0)?)?;
    Ok(vec![a.mul(b)?, outer.sum(Some(&[0]), false)?])
}

#[test]
fn jacobian_two_inputs_two_outputs() {
    let a = t64(&[1.0, 2.0], &[2]);
    let b = t64(&[3.0, 4.0], &[2]);
    for (label, opts) in all_modes() {
        let j = jacobian(w4, &[a.clone(), b.clone()], &opts).unwrap();
        assert_eq!(j.len(), 2);
        assert_eq!(j[0].shape(), &[4, 2], "{label}");
        assert_eq!(j[0].to_f64_vec(), vec![3.0, 0.0, 0.0, 4.0, 3.0, 3.0, 4.0, 4.0], "{label}");
        assert_eq!(j[1].to_f64_vec(), vec![1.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0, 3.0], "{label}");
    }
}

#[test]
fn jacobian_matrix_input_and_zero_dim_shapes() {
    // f(W) = W v, W 2×3, v = (1, 2, 3): row i of J (2×6) holds v in W's row i
    let v = t64(&[1.0, 2.0, 3.0], &[3]);
    let w = rand64(1, &[2, 3], -1.0, 1.0);
    let f = |x: &[Tensor]| Ok(vec![x[0].matmul(&v)?]);
    for (label, opts) in all_modes() {
        let j = jacobian(f, &[w.clone()], &opts).unwrap();
        assert_eq!(j[0].shape(), &[2, 6], "{label}");
        assert_eq!(j[0].to_f64_vec(), vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0], "{label}");
    }
    // 0-d in, 0-d out: f(x) = x³, J = [[3x²]] = [[12]] at x = 2
    let x = Tensor::scalar(2.0, DType::F64);
    let cube = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.mul(&x[0])?]);
    for (label, opts) in all_modes() {
        let j = jacobian(cube, &[x.clone()], &opts).unwrap();
        assert_eq!(j[0].shape(), &[1, 1], "{label}");
        assert_eq!(j[0].to_f64_vec(), vec![12.0], "{label}");
    }
    // vector in, 0-d out: f(x) = Σ x², J = [2xᵀ] (one row)
    let x = t64(&[1.0, -2.0, 0.5], &[3]);
    let ss = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.sum_all()?]);
    for (label, opts) in all_modes() {
        let j = jacobian(ss, &[x.clone()], &opts).unwrap();
        assert_eq!(j[0].shape(), &[1, 3], "{label}");
        assert_eq!(j[0].to_f64_vec(), vec![2.0, -4.0, 1.0], "{label}");
    }
    // 0-d in, matrix out: f(s) = s·M, J = vec(M) as a column
    let m = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let scale = |x: &[Tensor]| Ok(vec![m.mul(&x[0])?]);
    for (label, opts) in all_modes() {
        let j = jacobian(scale, &[Tensor::scalar(0.3, DType::F64)], &opts).unwrap();
        assert_eq!(j[0].shape(), &[4, 1], "{label}");
        assert_eq!(j[0].to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0], "{label}");
    }
}

#[test]
fn jacobian_block_dtype_follows_input() {
    // f(a, b) = a·b with a float32 and b float64 promotes to float64, but each block
    // keeps its input's dtype: ∂/∂a = diag(b), ∂/∂b = diag(a)
    let a = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F32).unwrap();
    let b = t64(&[3.0, 4.0], &[2]);
    for (label, opts) in all_modes() {
        let j = jacobian(|x: &[Tensor]| Ok(vec![x[0].mul(&x[1])?]), &[a.clone(), b.clone()], &opts).unwrap();
        assert_eq!(j[0].dtype(), DType::F32, "{label}");
        assert_eq!(j[1].dtype(), DType::F64, "{label}");
        assert_eq!(j[0].to_f64_vec(), vec![3.0, 0.0, 0.0, 4.0], "{label}");
        assert_eq!(j[1].to_f64_vec(), vec![1.0, 0.0, 0.0, 2.0], "{label}");
    }
}

#[test]
fn jacobian_independent_outputs_give_zero_rows_and_strict_errors() {
    // f(a, b) = (2a, Σ a): b unused, both blocks for b are zero
    let a = t64(&[1.0, 2.0], &[2]);
    let b = t64(&[5.0], &[1]);
    let f = |x: &[Tensor]| Ok(vec![x[0].mul_scalar(2.0)?, x[0].sum_all()?]);
    for (label, opts) in all_modes() {
        let j = jacobian(f, &[a.clone(), b.clone()], &opts).unwrap();
        assert_eq!(j[0].to_f64_vec(), vec![2.0, 0.0, 0.0, 2.0, 1.0, 1.0], "{label}");
        assert_eq!(j[1].shape(), &[3, 1], "{label}");
        assert_eq!(j[1].to_f64_vec(), vec![0.0; 3], "{label}");
        let strict = JacobianOptions { strict: true, ..opts };
        let err = jacobian(f, &[a.clone(), b.clone()], &strict).unwrap_err();
        assert!(matches!(err, Error::Graph { .. }), "{label}: {err:?}");
        assert!(err.message().contains("output 0 is independent of input 1"), "{}", err.message());
    }
    // an output that does not require grad at all (a constant): zero rows; strict errors
    let c = |x: &[Tensor]| Ok(vec![x[0].mul_scalar(3.0)?, Tensor::ones(&[2], DType::F64)]);
    let j = jacobian(c, &[a.clone()], &JacobianOptions::default()).unwrap();
    assert_eq!(j[0].to_f64_vec(), vec![3.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0]);
    let err = jacobian(c, &[a.clone()], &JacobianOptions { strict: true, ..Default::default() }).unwrap_err();
    assert!(err.message().contains("output 1 is independent of input 0"), "{}", err.message());
    // the function returns its input unchanged: J = I, and strict accepts it
    let id = |x: &[Tensor]| Ok(vec![x[0].clone()]);
    let j = jacobian(id, &[a.clone()], &JacobianOptions { strict: true, ..Default::default() }).unwrap();
    assert_eq!(j[0].to_f64_vec(), vec![1.0, 0.0, 0.0, 1.0]);
}

#[test]
fn jacobian_create_graph_is_differentiable() {
    // f(x) = x³ elementwise: J = diag(3x²); d/dx Σ J = 6x
    let x = t64(&[1.0, -2.0], &[2]);
    let cube = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.mul(&x[0])?]);
    for (label, opts) in all_modes() {
        let cg = JacobianOptions { create_graph: true, ..opts };
        // the Jacobian of the flattened Jacobian: J2[(i,k), l] = ∂J[i,k]/∂x_l = 6 x_i δ_ik δ_il
        let jj = jacobian(|xs: &[Tensor]| Ok(vec![jacobian(cube, xs, &cg)?.remove(0)]), &[x.clone()], &cg).unwrap();
        assert_eq!(jj[0].shape(), &[4, 2], "{label}");
        assert_eq!(jj[0].to_f64_vec(), vec![6.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -12.0], "{label}");
        assert!(jj[0].requires_grad(), "{label}: still differentiable (third order next)");
        // third order: ∂³(x³)/∂x³ = 6 on the diagonal of the diagonal
        let jjj = jacobian(
            |xs: &[Tensor]| {
                let inner = |ys: &[Tensor]| Ok(vec![jacobian(cube, ys, &cg)?.remove(0)]);
                Ok(vec![jacobian(inner, xs, &cg)?.remove(0)])
            },
            &[x.clone()],
            &opts,
        )
        .unwrap();
        assert_eq!(jjj[0].shape(), &[8, 2], "{label}");
        let v = jjj[0].to_f64_vec();
        assert_eq!(v[0], 6.0, "{label}");
        assert_eq!(v[15], 6.0, "{label}");
        assert_eq!(v.iter().filter(|&&e| e != 0.0).count(), 2, "{label}: {v:?}");
    }
}

#[test]
fn jacobian_stays_connected_to_a_caller_tensor_that_requires_grad() {
    // J(a ↦ a·a) = diag(2x); Σ J = Σ 2x_i, so x.grad = 2 after backward
    let x = leaf(&[1.0, 2.0, 3.0], &[3]);
    let opts = JacobianOptions { create_graph: true, ..Default::default() };
    let j = jacobian(|a: &[Tensor]| Ok(vec![a[0].mul(&a[0])?]), &[x.clone()], &opts).unwrap();
    assert!(x.grad().is_none(), "jacobian must not write the caller's .grad");
    backward(&[j[0].sum_all().unwrap()], &[], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![2.0, 2.0, 2.0]);
}

#[test]
fn jacobian_does_not_mutate_the_callers_tensors() {
    let plain = t64(&[1.0, 2.0], &[2]);
    let tracked = leaf(&[3.0, 4.0], &[2]);
    for (label, opts) in all_modes() {
        for cg in [false, true] {
            let opts = JacobianOptions { create_graph: cg, ..opts.clone() };
            let j =
                jacobian(|x: &[Tensor]| Ok(vec![x[0].mul(&x[1])?]), &[plain.clone(), tracked.clone()], &opts).unwrap();
            assert_eq!(j[0].to_f64_vec(), vec![3.0, 0.0, 0.0, 4.0], "{label}");
            assert!(!plain.requires_grad(), "{label}: a plain input stays plain");
            assert!(tracked.requires_grad() && tracked.is_leaf(), "{label}");
            assert!(plain.grad().is_none() && tracked.grad().is_none(), "{label}: no .grad written");
            assert_eq!(plain.to_f64_vec(), vec![1.0, 2.0]);
        }
    }
}

#[test]
fn jacobian_calls_the_function_once_with_grad_on() {
    let calls = Cell::new(0);
    let f = |x: &[Tensor]| {
        calls.set(calls.get() + 1);
        assert!(lucid_core::autograd::is_grad_enabled(), "func must run with grad mode on");
        assert!(x[0].requires_grad(), "func receives leaves that require grad");
        Ok(vec![x[0].sin()?])
    };
    let x = rand64(1, &[5], -1.0, 1.0);
    let _g = no_grad(); // even inside no_grad
    for (label, opts) in all_modes() {
        calls.set(0);
        let j = jacobian(f, &[x.clone()], &opts).unwrap();
        assert_eq!(calls.get(), 1, "{label}: func called once");
        // d sin x = cos x on the diagonal
        let d: Vec<f64> = x.to_f64_vec().iter().map(|v| v.cos()).collect();
        let jv = j[0].to_f64_vec();
        for (i, di) in d.iter().enumerate() {
            assert!((jv[i * 5 + i] - di).abs() < 1e-15, "{label}");
        }
    }
    assert!(!lucid_core::autograd::is_grad_enabled(), "grad mode restored");
}

#[test]
fn jacobian_argument_errors() {
    let x = t64(&[1.0, 2.0], &[2]);
    let f = |x: &[Tensor]| Ok(vec![x[0].exp()?]);
    let err =
        jacobian(f, &[x.clone()], &JacobianOptions { vectorize: true, chunk_size: Some(0), ..Default::default() })
            .unwrap_err();
    assert!(matches!(err, Error::Argument { .. }) && err.message().contains("chunk_size"), "{err:?}");
    let err = jacobian(f, &[x.clone()], &JacobianOptions { chunk_size: Some(2), ..Default::default() }).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }) && err.message().contains("vectorize"), "{err:?}");
    let i = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::I64).unwrap();
    let err = jacobian(f, &[x.clone(), i], &JacobianOptions::default()).unwrap_err();
    assert!(matches!(err, Error::DType { .. }), "{err:?}");
    assert!(err.message().contains("input 1 has dtype int64"), "{}", err.message());
    assert!(err.message().contains("only floating point inputs can be differentiated"));
    let err = jacobian(|_: &[Tensor]| Ok(vec![]), &[x.clone()], &JacobianOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }), "{err:?}");
    // an error inside the function comes back unchanged
    let err = jacobian(
        |x: &[Tensor]| Ok(vec![x[0].matmul(&Tensor::ones(&[3], DType::F64))?]),
        &[x],
        &JacobianOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Shape { op: "matmul", .. }), "{err:?}");
}

#[test]
fn jacobian_from_graph_of_a_recorded_function() {
    // the entry point the Python API uses after running func once
    let x = leaf(&[1.0, 2.0], &[2]);
    let out = two_by_two(&[x.clone()]).unwrap();
    let j = jacobian_from_graph(&out, &[x.clone()], &JacobianOptions::default()).unwrap();
    assert_close(&j[0].to_f64_vec(), &[4.0, 1.0, 5.0, 2f64.cos()], 1e-15, "from graph");
    // the graph is retained: a second call works
    let j = jacobian_from_graph(&out, &[x], &JacobianOptions { vectorize: true, ..Default::default() }).unwrap();
    assert_close(&j[0].to_f64_vec(), &[4.0, 1.0, 5.0, 2f64.cos()], 1e-15, "again");
}

/// Rosenbrock f(x, y) = (1 - x)² + 100 (y - x²)²
/// ∇f = [-2(1 - x) - 400 x (y - x²), 200 (y - x²)]
/// H = [[2 - 400 (y - x²) + 800 x², -400 x], [-400 x, 200]] = [[402, -400], [-400, 200]] at (1, 2)
fn rosenbrock(v: &[Tensor]) -> Result<Vec<Tensor>> {
    let (x, y) = (sel(&v[0], 0), sel(&v[0], 1));
    let a = x.neg()?.add_scalar(1.0)?.pow_scalar(2.0)?;
    let b = y.sub(&x.mul(&x)?)?.pow_scalar(2.0)?.mul_scalar(100.0)?;
    Ok(vec![a.add(&b)?])
}

#[test]
fn hessian_rosenbrock_all_modes() {
    let x = t64(&[1.0, 2.0], &[2]);
    for (label, opts) in all_modes() {
        let calls = Cell::new(0);
        let f = |v: &[Tensor]| {
            calls.set(calls.get() + 1);
            rosenbrock(v)
        };
        let h = hessian(f, &[x.clone()], &opts).unwrap();
        assert_eq!(calls.get(), 1, "{label}: func called once");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0][0].shape(), &[2, 2]);
        assert_close(&h[0][0].to_f64_vec(), &[402.0, -400.0, -400.0, 200.0], 1e-13, label);
        assert!(!h[0][0].requires_grad());
    }
}

#[test]
fn hessian_blocks_for_two_inputs() {
    // f(a, b) = Σ a_i² b_i: H_aa = diag(2b), H_ab = H_ba = diag(2a), H_bb = 0
    let a = t64(&[1.0, 2.0], &[2]);
    let b = t64(&[3.0, 4.0], &[2]);
    let f = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.mul(&x[1])?.sum_all()?]);
    for (label, opts) in all_modes() {
        let h = hessian(f, &[a.clone(), b.clone()], &opts).unwrap();
        assert_eq!(h[0][0].to_f64_vec(), vec![6.0, 0.0, 0.0, 8.0], "{label}");
        assert_eq!(h[0][1].to_f64_vec(), vec![2.0, 0.0, 0.0, 4.0], "{label}");
        assert_eq!(h[1][0].to_f64_vec(), vec![2.0, 0.0, 0.0, 4.0], "{label}");
        assert_eq!(h[1][1].to_f64_vec(), vec![0.0; 4], "{label}");
    }
    // differently sized inputs: f(a, s) = s · Σ a² with s 0-d: H_aa = 2s I, H_as = 2a, H_ss = 0
    let s = Tensor::scalar(5.0, DType::F64);
    let g = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.sum_all()?.mul(&x[1])?]);
    let h = hessian(g, &[a.clone(), s], &JacobianOptions::default()).unwrap();
    assert_eq!(h[0][0].to_f64_vec(), vec![10.0, 0.0, 0.0, 10.0]);
    assert_eq!(h[0][1].shape(), &[2, 1]);
    assert_eq!(h[0][1].to_f64_vec(), vec![2.0, 4.0]);
    assert_eq!(h[1][0].shape(), &[1, 2]);
    assert_eq!(h[1][0].to_f64_vec(), vec![2.0, 4.0]);
    assert_eq!(h[1][1].to_f64_vec(), vec![0.0]);
}

#[test]
fn hessian_create_graph_and_errors() {
    // f(x) = Σ x⁴/12: H = diag(x²), d/dx Σ H = 2x
    let x = t64(&[1.0, 3.0], &[2]);
    let f = |v: &[Tensor]| Ok(vec![v[0].pow_scalar(4.0)?.sum_all()?.mul_scalar(1.0 / 12.0)?]);
    let opts = JacobianOptions { create_graph: true, ..Default::default() };
    let d =
        jacobian(|v: &[Tensor]| Ok(vec![hessian(f, v, &opts)?.remove(0).remove(0).sum_all()?]), &[x.clone()], &opts)
            .unwrap();
    assert_close(&d[0].to_f64_vec(), &[2.0, 6.0], 1e-14, "d tr-ish H");
    // a non-scalar output
    let err = hessian(|v: &[Tensor]| Ok(vec![v[0].exp()?]), &[x.clone()], &JacobianOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }) && err.message().contains("single-element"), "{err:?}");
    // two outputs
    let err =
        hessian(|v: &[Tensor]| Ok(vec![v[0].sum_all()?, v[0].sum_all()?]), &[x.clone()], &JacobianOptions::default())
            .unwrap_err();
    assert!(matches!(err, Error::Argument { .. }), "{err:?}");
    // a linear function has a zero Hessian; strict mode rejects it (the gradient is constant)
    let lin = |v: &[Tensor]| Ok(vec![v[0].mul_scalar(2.0)?.sum_all()?]);
    let h = hessian(lin, &[x.clone()], &JacobianOptions::default()).unwrap();
    assert_eq!(h[0][0].to_f64_vec(), vec![0.0; 4]);
}

/// f(x) = [x0 x1, x0 + x1, x1²]: J = [[x1, x0], [1, 1], [0, 2 x1]] = [[3, 2], [1, 1], [0, 6]] at (2, 3)
fn three_out(v: &[Tensor]) -> Result<Vec<Tensor>> {
    let (x0, x1) = (sel(&v[0], 0), sel(&v[0], 1));
    Ok(vec![Tensor::stack(&[x0.mul(&x1)?, x0.add(&x1)?, x1.mul(&x1)?], 0)?])
}

#[test]
fn vjp_values_and_errors() {
    // vᵀJ with v = (1, 2, 3): [3 + 2 + 0, 2 + 2 + 18] = [5, 22]
    let x = t64(&[2.0, 3.0], &[2]);
    let (outs, g) = vjp(three_out, &[x.clone()], &[t64(&[1.0, 2.0, 3.0], &[3])], false).unwrap();
    assert_eq!(outs[0].to_f64_vec(), vec![6.0, 5.0, 9.0]);
    assert!(!outs[0].requires_grad());
    assert_eq!(g[0].to_f64_vec(), vec![5.0, 22.0]);
    // unused inputs get zeros of their shape
    let u = t64(&[0.0; 6], &[2, 3]);
    let (_, g) = vjp(three_out, &[x.clone(), u], &[t64(&[1.0, 2.0, 3.0], &[3])], false).unwrap();
    assert_eq!(g[1].shape(), &[2, 3]);
    assert_eq!(g[1].to_f64_vec(), vec![0.0; 6]);
    // v of the wrong shape names both shapes
    let err = vjp(three_out, &[x.clone()], &[t64(&[1.0, 2.0], &[2])], false).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert!(err.message().contains("[2]") && err.message().contains("[3]"), "{}", err.message());
    // wrong number of v
    let err = vjp(three_out, &[x.clone()], &[], false).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }), "{err:?}");
    // create_graph: d/dx of vᵀJ·1 = Σ_r v_r ∇²f_r, for v = (1, 0, 0): ∇²(x0 x1) = [[0,1],[1,0]]
    let j = jacobian(
        |xs: &[Tensor]| Ok(vec![vjp(three_out, xs, &[t64(&[1.0, 0.0, 0.0], &[3])], true)?.1.remove(0)]),
        &[x],
        &JacobianOptions::default(),
    )
    .unwrap();
    assert_eq!(j[0].to_f64_vec(), vec![0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn jvp_values_are_exact() {
    // J v with v = (1, -1): [3 - 2, 1 - 1, -6] = [1, 0, -6]
    let x = t64(&[2.0, 3.0], &[2]);
    let (outs, jv) = jvp(three_out, &[x.clone()], &[t64(&[1.0, -1.0], &[2])], false).unwrap();
    assert_eq!(outs[0].to_f64_vec(), vec![6.0, 5.0, 9.0]);
    assert_eq!(jv[0].to_f64_vec(), vec![1.0, 0.0, -6.0]);
    assert!(!jv[0].requires_grad());
    // transcendental: f(x) = sin(x) x², J v = (cos x x² + 2 x sin x) ⊙ v
    let xs = [0.3, -1.1, 2.5];
    let v = [0.7, 1.3, -0.4];
    let f = |t: &[Tensor]| Ok(vec![t[0].sin()?.mul(&t[0].mul(&t[0])?)?]);
    let (_, jv) = jvp(f, &[t64(&xs, &[3])], &[t64(&v, &[3])], false).unwrap();
    let want: Vec<f64> =
        xs.iter().zip(v).map(|(&x, v): (&f64, f64)| (x.cos() * x * x + 2.0 * x * x.sin()) * v).collect();
    assert_close(&jv[0].to_f64_vec(), &want, 1e-15, "jvp exact");
    // two outputs, two inputs, one output independent of input 1: W4 with v = (1, 0), (0, 1)
    // J_a v_a + J_b v_b = [3·1, 0] + [0, 2·1] on out1 = [3, 2]; out2 = [3, 4]·1 + [0, 3] = [3, 7]
    let (_, jv) = jvp(
        w4,
        &[t64(&[1.0, 2.0], &[2]), t64(&[3.0, 4.0], &[2])],
        &[t64(&[1.0, 0.0], &[2]), t64(&[0.0, 1.0], &[2])],
        false,
    )
    .unwrap();
    assert_eq!(jv[0].to_f64_vec(), vec![3.0, 2.0]);
    assert_eq!(jv[1].to_f64_vec(), vec![3.0, 7.0]);
    // errors: wrong count and wrong shape
    let err = jvp(three_out, &[x.clone()], &[t64(&[1.0; 3], &[3])], false).unwrap_err();
    assert!(
        matches!(err, Error::Shape { .. }) && err.message().contains("[3]") && err.message().contains("[2]"),
        "{err:?}"
    );
    let err = jvp(three_out, &[x], &[], false).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }), "{err:?}");
}

#[test]
fn jvp_of_constant_and_independent_outputs() {
    // f(a) = (2a, ones): the constant output has a zero tangent
    let a = t64(&[1.0, 2.0], &[2]);
    let f = |x: &[Tensor]| Ok(vec![x[0].mul_scalar(2.0)?, Tensor::ones(&[3], DType::F64)]);
    let (_, jv) = jvp(f, &[a], &[t64(&[1.0, 1.0], &[2])], false).unwrap();
    assert_eq!(jv[0].to_f64_vec(), vec![2.0, 2.0]);
    assert_eq!(jv[1].to_f64_vec(), vec![0.0; 3]);
}

#[test]
fn hvp_values() {
    // Rosenbrock H at (1, 2) times v = (1, 1): [402 - 400, -400 + 200] = [2, -200]
    let (out, hv) = hvp(rosenbrock, &[t64(&[1.0, 2.0], &[2])], &[t64(&[1.0, 1.0], &[2])], false).unwrap();
    // f(1, 2) = 0 + 100 (2 - 1)² = 100
    assert_eq!(out.to_f64_vec(), vec![100.0]);
    assert_close(&hv[0].to_f64_vec(), &[2.0, -200.0], 1e-13, "hvp");
    // two inputs: f = Σ a² b, v = (va, vb): H v = (2b va + 2a vb, 2a va)
    let f = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.mul(&x[1])?.sum_all()?]);
    let (_, hv) = hvp(
        f,
        &[t64(&[1.0, 2.0], &[2]), t64(&[3.0, 4.0], &[2])],
        &[t64(&[1.0, 0.0], &[2]), t64(&[0.0, 1.0], &[2])],
        false,
    )
    .unwrap();
    assert_eq!(hv[0].to_f64_vec(), vec![6.0, 4.0]);
    assert_eq!(hv[1].to_f64_vec(), vec![2.0, 0.0]);
    // errors
    let err = hvp(rosenbrock, &[t64(&[1.0, 2.0], &[2])], &[t64(&[1.0], &[1])], false).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    let err = hvp(|x: &[Tensor]| Ok(vec![x[0].exp()?]), &[t64(&[1.0, 2.0], &[2])], &[t64(&[1.0, 1.0], &[2])], false)
        .unwrap_err();
    assert!(matches!(err, Error::Shape { .. }) && err.message().contains("single-element"), "{err:?}");
}

#[test]
fn hvp_and_hessian_agree_on_a_random_function() {
    // g(x) = Σ tanh(W x)² + (Σ x)³ / 10: H v from hvp equals H · v from hessian
    let w = rand64(7, &[4, 3], -1.0, 1.0);
    let f = |x: &[Tensor]| {
        let a = w.matmul(&x[0])?.tanh()?.pow_scalar(2.0)?.sum_all()?;
        let b = x[0].sum_all()?.pow_scalar(3.0)?.mul_scalar(0.1)?;
        Ok(vec![a.add(&b)?])
    };
    let x = rand64(8, &[3], -1.0, 1.0);
    let v = rand64(9, &[3], -1.0, 1.0);
    let h = hessian(f, &[x.clone()], &JacobianOptions { vectorize: true, ..Default::default() }).unwrap();
    let hv_ref = h[0][0].matmul(&v).unwrap();
    let (_, hv) = hvp(f, &[x.clone()], &[v.clone()], false).unwrap();
    assert_close(&hv[0].to_f64_vec(), &hv_ref.to_f64_vec(), 1e-13, "hvp vs H v");
    // and the Hessian is symmetric
    let hv = h[0][0].to_f64_vec();
    for i in 0..3 {
        for j in 0..3 {
            assert!((hv[i * 3 + j] - hv[j * 3 + i]).abs() < 1e-13);
        }
    }
    // and it agrees with central differences of the gradient
    gradgradcheck("hessian fn", &f, &[x]);
}

#[test]
fn float32_inputs_give_float32_results() {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F32).unwrap();
    for (label, opts) in all_modes() {
        let j = jacobian(two_by_two, &[x.clone()], &opts).unwrap();
        assert_eq!(j[0].dtype(), DType::F32, "{label}");
        assert_close(&j[0].to_f64_vec(), &[4.0, 1.0, 5.0, 2f64.cos()], 1e-6, label);
        let h = hessian(rosenbrock, &[x.clone()], &opts).unwrap();
        assert_eq!(h[0][0].dtype(), DType::F32, "{label}");
        assert_close(&h[0][0].to_f64_vec(), &[402.0, -400.0, -400.0, 200.0], 1e-6, label);
    }
}

#[test]
fn hessian_strict_rejects_structurally_zero_blocks() {
    // As PyTorch: strict Hessians are Jacobians of the gradient with strict=True, so a
    // gradient that does not depend on an input (a zero block of H) is an error.
    let x = t64(&[1.0, 3.0], &[2]);
    let strict = JacobianOptions { strict: true, ..Default::default() };
    // f = Σ 2x is linear: ∇f = 2 does not depend on x, H = 0
    let lin = |v: &[Tensor]| Ok(vec![v[0].mul_scalar(2.0)?.sum_all()?]);
    let err = hessian(lin, &[x.clone()], &strict).unwrap_err();
    assert!(matches!(err, Error::Graph { .. }), "{err:?}");
    assert!(err.message().contains("gradient with respect to input 0 is independent of input 0"), "{}", err.message());
    // f(a, b) = Σ a² + Σ b³ is separable: H[0][1] = 0
    let sep = |v: &[Tensor]| Ok(vec![v[0].mul(&v[0])?.sum_all()?.add(&v[1].pow_scalar(3.0)?.sum_all()?)?]);
    let err = hessian(sep, &[x.clone(), x.clone()], &strict).unwrap_err();
    assert!(err.message().contains("gradient with respect to input 0 is independent of input 1"), "{}", err.message());
    // without strict: the zero blocks
    let h = hessian(sep, &[x.clone(), x.clone()], &JacobianOptions::default()).unwrap();
    assert_eq!(h[0][0].to_f64_vec(), vec![2.0, 0.0, 0.0, 2.0]);
    assert_eq!(h[0][1].to_f64_vec(), vec![0.0; 4]);
    assert_eq!(h[1][1].to_f64_vec(), vec![6.0, 0.0, 0.0, 18.0]);
    // f = Σ a² b: ∇_b = a² depends on a but not on b (H_bb = 0), so strict rejects it
    // too, exactly as PyTorch's strict hessian does
    let coupled = |v: &[Tensor]| Ok(vec![v[0].mul(&v[0])?.mul(&v[1])?.sum_all()?]);
    let err = hessian(coupled, &[x.clone(), x.clone()], &strict).unwrap_err();
    assert!(err.message().contains("input 1 is independent of input 1"), "{}", err.message());
    // and Rosenbrock, coupled in every block, passes
    let h = hessian(rosenbrock, &[t64(&[1.0, 2.0], &[2])], &strict).unwrap();
    assert_close(&h[0][0].to_f64_vec(), &[402.0, -400.0, -400.0, 200.0], 1e-13, "strict rosenbrock");
}

#[test]
fn hvp_strict_rejects_a_product_independent_of_an_input() {
    use lucid_core::functional::hvp_from_graph;
    // f = Σ 2x: ∇f is constant, so H v does not depend on x
    let x = leaf(&[1.0, 3.0], &[2]);
    let v = t64(&[1.0, 1.0], &[2]);
    let y = x.mul_scalar(2.0).unwrap().sum_all().unwrap();
    let err = hvp_from_graph(&y, &[x.clone()], &[v.clone()], false, true).unwrap_err();
    assert!(matches!(err, Error::Graph { .. }), "{err:?}");
    assert!(err.message().contains("independent of input 0"), "{}", err.message());
    // without strict: zeros
    let hv = hvp_from_graph(&y, &[x.clone()], &[v.clone()], false, false).unwrap();
    assert_eq!(hv[0].to_f64_vec(), vec![0.0, 0.0]);
    // a curved function passes: f = Σ x³, H v = 6 x ⊙ v
    let y = x.pow_scalar(3.0).unwrap().sum_all().unwrap();
    let hv = hvp_from_graph(&y, &[x], &[v], false, true).unwrap();
    assert_eq!(hv[0].to_f64_vec(), vec![6.0, 18.0]);
}

#[test]
fn a_vectorized_seed_too_large_to_allocate_is_an_error() {
    // f(s) = s · 1 for 4·10⁶ outputs: J is a (4·10⁶ × 1) column. The seed stays sparse
    // (one entry per row) through the broadcast, so it is computed without the identity.
    let n = 4_000_000;
    let f = move |x: &[Tensor]| Ok(vec![x[0].mul(&Tensor::ones(&[n], DType::F64))?]);
    let s = Tensor::scalar(2.0, DType::F64);
    let j = jacobian(f, &[s.clone()], &JacobianOptions { vectorize: true, ..Default::default() }).unwrap();
    assert_eq!(j[0].shape(), &[n, 1]);
    assert!(j[0].to_f64_vec().iter().all(|&v| v == 1.0));
    // cumsum mixes every element, so one batched seed would be the dense 4·10⁶ × 4·10⁶
    // identity (128 TB): an error that names chunk_size
    let g = |x: &[Tensor]| Ok(vec![x[0].cumsum(0)?]);
    let x = Tensor::zeros(&[n], DType::F64);
    let err = jacobian(g, &[x], &JacobianOptions { vectorize: true, ..Default::default() }).unwrap_err();
    assert!(matches!(err, Error::Argument { op: "jacobian", .. }), "{err:?}");
    assert!(err.message().contains("cannot allocate") && err.message().contains("chunk_size"), "{}", err.message());
    // a small function still works afterwards
    let j = jacobian(two_by_two, &[t64(&[1.0, 2.0], &[2])], &JacobianOptions { vectorize: true, ..Default::default() })
        .unwrap();
    assert_eq!(j[0].shape(), &[2, 2]);
}
