//! Every foundation op's derivatives in float64 against central differences (row sweeps
//! through `grad`, and `functional::jacobian` looped, vectorized and chunked), second
//! derivatives for the smooth ones, plus a few hand-derived values.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads best in tests

mod common;

use common::*;
use lucid_core::{IndexItem, Result, Tensor};

fn check(name: &str, f: &dyn Fn(&[Tensor]) -> Result<Vec<Tensor>>, inputs: &[Tensor]) {
    gradcheck(name, f, inputs);
    gradgradcheck(name, f, inputs);
}

fn slice(start: Option<isize>, stop: Option<isize>, step: isize) -> IndexItem {
    IndexItem::Slice { start, stop, step }
}

// ---- elementwise binary, with broadcasting ----------------------------------------

#[test]
fn add_broadcast() {
    let f = |x: &[Tensor]| Ok(vec![x[0].add(&x[1])?]);
    check("add", &f, &[rand64(1, &[2, 3], -2.0, 2.0), rand64(2, &[2, 3], -2.0, 2.0)]);
    check("add row", &f, &[rand64(3, &[2, 3], -2.0, 2.0), rand64(4, &[3], -2.0, 2.0)]);
    check("add outer", &f, &[rand64(5, &[4, 1], -2.0, 2.0), rand64(6, &[1, 3], -2.0, 2.0)]);
    check("add 0-d", &f, &[rand64(7, &[], -2.0, 2.0), rand64(8, &[2, 2], -2.0, 2.0)]);
}

#[test]
fn sub_broadcast() {
    let f = |x: &[Tensor]| Ok(vec![x[0].sub(&x[1])?]);
    check("sub", &f, &[rand64(1, &[2, 3], -2.0, 2.0), rand64(2, &[3], -2.0, 2.0)]);
    check("sub 0-d", &f, &[rand64(3, &[3], -2.0, 2.0), rand64(4, &[], -2.0, 2.0)]);
}

#[test]
fn mul_broadcast() {
    let f = |x: &[Tensor]| Ok(vec![x[0].mul(&x[1])?]);
    check("mul", &f, &[rand64(1, &[2, 3], -2.0, 2.0), rand64(2, &[2, 3], -2.0, 2.0)]);
    check("mul outer", &f, &[rand64(3, &[4, 1], -2.0, 2.0), rand64(4, &[3], -2.0, 2.0)]);
    // the same tensor on both sides: d(x·x) = 2x
    let sq = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?]);
    check("mul self", &sq, &[rand64(5, &[3], -2.0, 2.0)]);
}

#[test]
fn div_broadcast() {
    let f = |x: &[Tensor]| Ok(vec![x[0].div(&x[1])?]);
    check("div", &f, &[rand64(1, &[2, 3], -2.0, 2.0), rand64(2, &[2, 3], 0.5, 2.0)]);
    check("div col", &f, &[rand64(3, &[2, 3], -2.0, 2.0), rand64(4, &[2, 1], 0.5, 2.0)]);
}

#[test]
fn neg() {
    check("neg", &|x: &[Tensor]| Ok(vec![x[0].neg()?]), &[rand64(1, &[2, 3], -2.0, 2.0)]);
}

#[test]
fn pow_tensor_exponent() {
    let f = |x: &[Tensor]| Ok(vec![x[0].pow(&x[1])?]);
    check("pow", &f, &[rand64(1, &[2, 3], 0.5, 2.0), rand64(2, &[2, 3], -1.5, 1.5)]);
    check("pow bcast", &f, &[rand64(3, &[2, 3], 0.5, 2.0), rand64(4, &[], -1.5, 1.5)]);
}

#[test]
fn pow_scalar_exponent() {
    for (k, p) in [3.0, 2.0, -1.0, 0.5, 1.5, 0.0].into_iter().enumerate() {
        let f = move |x: &[Tensor]| Ok(vec![x[0].pow_scalar(p)?]);
        check(&format!("pow_scalar {p}"), &f, &[rand64(10 + k as u64, &[2, 3], 0.5, 2.0)]);
    }
    // integer exponents at negative bases: d x³ = 3x² (= 12 at -2)
    let x = leaf(&[-2.0], &[1]);
    let y = x.pow_scalar(3.0).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[y], &[x], &[], Default::default()).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![12.0]);
}

// ---- elementwise unary ------------------------------------------------------------

#[test]
fn exp_log_sqrt() {
    check("exp", &|x: &[Tensor]| Ok(vec![x[0].exp()?]), &[rand64(1, &[2, 3], -2.0, 2.0)]);
    check("log", &|x: &[Tensor]| Ok(vec![x[0].log()?]), &[rand64(2, &[2, 3], 0.3, 3.0)]);
    check("sqrt", &|x: &[Tensor]| Ok(vec![x[0].sqrt()?]), &[rand64(3, &[2, 3], 0.3, 3.0)]);
}

#[test]
fn trig_and_tanh() {
    check("sin", &|x: &[Tensor]| Ok(vec![x[0].sin()?]), &[rand64(1, &[2, 3], -3.0, 3.0)]);
    check("cos", &|x: &[Tensor]| Ok(vec![x[0].cos()?]), &[rand64(2, &[2, 3], -3.0, 3.0)]);
    check("tanh", &|x: &[Tensor]| Ok(vec![x[0].tanh()?]), &[rand64(3, &[2, 3], -2.0, 2.0)]);
    check("0-d sin", &|x: &[Tensor]| Ok(vec![x[0].sin()?]), &[rand64(4, &[], -2.0, 2.0)]);
}

#[test]
fn hand_derived_unary_values() {
    // y = sin(x) * x², dy/dx = cos(x) x² + 2x sin(x)
    let xs = [0.3, -1.2, 2.0];
    let x = leaf(&xs, &[3]);
    let y = x.sin().unwrap().mul(&x.mul(&x).unwrap()).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[y], &[x], &[], Default::default()).unwrap();
    let want: Vec<f64> = xs.iter().map(|&v: &f64| v.cos() * v * v + 2.0 * v * v.sin()).collect();
    assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &want, 1e-14, "sin(x) x²");
    // y = tanh(x), dy/dx = 1 - tanh²(x)
    let x = leaf(&xs, &[3]);
    let y = x.tanh().unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[y], &[x], &[], Default::default()).unwrap();
    let want: Vec<f64> = xs.iter().map(|&v: &f64| 1.0 - v.tanh().powi(2)).collect();
    assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &want, 1e-14, "tanh");
    // y = log(x) / sqrt(x), dy/dx = (1 - log(x)/2) / x^(3/2)
    let xs = [0.5, 1.0, 4.0];
    let x = leaf(&xs, &[3]);
    let y = x.log().unwrap().div(&x.sqrt().unwrap()).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[y], &[x], &[], Default::default()).unwrap();
    let want: Vec<f64> = xs.iter().map(|&v: &f64| (1.0 - v.ln() / 2.0) / v.powf(1.5)).collect();
    assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &want, 1e-14, "log/sqrt");
}

// ---- reductions ---------------------------------------------------------------------

#[test]
fn sum_variants() {
    let x = rand64(1, &[2, 3, 4], -2.0, 2.0);
    check("sum all", &|x: &[Tensor]| Ok(vec![x[0].sum_all()?]), &[x.clone()]);
    check("sum dim 1", &|x: &[Tensor]| Ok(vec![x[0].sum(Some(&[1]), false)?]), &[x.clone()]);
    check("sum dim -1 keepdim", &|x: &[Tensor]| Ok(vec![x[0].sum(Some(&[-1]), true)?]), &[x.clone()]);
    check("sum dims 0,2", &|x: &[Tensor]| Ok(vec![x[0].sum(Some(&[0, 2]), false)?]), &[x.clone()]);
    check("sum dims keepdim", &|x: &[Tensor]| Ok(vec![x[0].sum(Some(&[2, 0]), true)?]), &[x]);
    check("sum 0-d", &|x: &[Tensor]| Ok(vec![x[0].sum_all()?]), &[rand64(2, &[], -2.0, 2.0)]);
    // nonlinear before the reduction so the second derivative is not trivially zero
    check(
        "sum of squares dim",
        &|x: &[Tensor]| Ok(vec![x[0].mul(&x[0])?.sum(Some(&[0]), false)?]),
        &[rand64(3, &[3, 2], -2.0, 2.0)],
    );
}

#[test]
fn mean_variants() {
    let x = rand64(1, &[2, 3], -2.0, 2.0);
    check("mean all", &|x: &[Tensor]| Ok(vec![x[0].mean(None, false)?]), &[x.clone()]);
    check("mean dim", &|x: &[Tensor]| Ok(vec![x[0].mean(Some(&[0]), false)?]), &[x.clone()]);
    check("mean keepdim", &|x: &[Tensor]| Ok(vec![x[0].mean(Some(&[-1]), true)?]), &[x.clone()]);
    // y = mean(x) over n = 6 elements: dy/dx = 1/6 everywhere
    let xl = x.leaf_requiring_grad().unwrap();
    let y = xl.mean(None, false).unwrap();
    let g = lucid_core::autograd::grad(&[y], &[xl], &[], Default::default()).unwrap();
    assert_close(&g[0].as_ref().unwrap().to_f64_vec(), &[1.0 / 6.0; 6], 1e-15, "mean");
}

// ---- shape ops ----------------------------------------------------------------------

#[test]
fn reshape_and_views() {
    let x = rand64(1, &[2, 3, 2], -2.0, 2.0);
    check("reshape", &|x: &[Tensor]| Ok(vec![x[0].reshape(&[3, -1])?.mul(&x[0].reshape(&[3, 4])?)?]), &[x.clone()]);
    check("reshape to 0-d", &|x: &[Tensor]| Ok(vec![x[0].reshape(&[])?.exp()?]), &[rand64(2, &[1, 1], -1.0, 1.0)]);
    check("flatten", &|x: &[Tensor]| Ok(vec![x[0].flatten(0, -1)?.sin()?]), &[x.clone()]);
    check("unsqueeze/squeeze", &|x: &[Tensor]| Ok(vec![x[0].unsqueeze(1)?.squeeze(None)?.tanh()?]), &[x.clone()]);
    check("expand", &|x: &[Tensor]| Ok(vec![x[0].expand(&[4, 2, 3])?.mul(&x[0])?]), &[rand64(3, &[2, 1], -2.0, 2.0)]);
}

#[test]
fn permute_transpose() {
    let x = rand64(1, &[2, 3, 4], -2.0, 2.0);
    check("permute", &|x: &[Tensor]| Ok(vec![x[0].permute(&[2, 0, 1])?.sin()?]), &[x.clone()]);
    check("permute neg", &|x: &[Tensor]| Ok(vec![x[0].permute(&[-1, -3, -2])?]), &[x.clone()]);
    check("transpose", &|x: &[Tensor]| Ok(vec![x[0].transpose(0, 2)?.mul(&x[0].transpose(0, 2)?)?]), &[x.clone()]);
    check("t", &|x: &[Tensor]| Ok(vec![x[0].t()?.exp()?]), &[rand64(2, &[2, 3], -1.0, 1.0)]);
    check("mT", &|x: &[Tensor]| Ok(vec![x[0].mt()?.cos()?]), &[x]);
    // a transposed (non-contiguous) view fed to a reshape: y = reshape(xᵀ), a permutation
    let a = leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let y = a.t().unwrap().reshape(&[6]).unwrap();
    assert_eq!(y.to_f64_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

// ---- matmul -------------------------------------------------------------------------

#[test]
fn matmul_shapes() {
    let f = |x: &[Tensor]| Ok(vec![x[0].matmul(&x[1])?]);
    let cases: &[(&[usize], &[usize])] = &[
        (&[3], &[3]),                // dot
        (&[2, 3], &[3]),             // matrix-vector
        (&[3], &[3, 4]),             // vector-matrix
        (&[2, 3], &[3, 4]),          // matrix-matrix
        (&[2, 2, 3], &[2, 3, 4]),    // batched
        (&[2, 2, 3], &[3, 4]),       // batch times matrix
        (&[2, 3], &[5, 3, 2]),       // matrix times batch
        (&[5, 1, 2, 3], &[4, 3, 2]), // broadcast batches
        (&[2, 2, 3], &[3]),          // batch of matrices times vector
        (&[3], &[2, 3, 4]),          // vector times batch
    ];
    for (k, (sa, sb)) in cases.iter().enumerate() {
        let a = rand64(2 * k as u64, sa, -1.0, 1.0);
        let b = rand64(2 * k as u64 + 1, sb, -1.0, 1.0);
        check(&format!("matmul {sa:?} @ {sb:?}"), &f, &[a, b]);
    }
}

#[test]
fn matmul_hand_derived() {
    // y = sum(A x) for A 2×2, x ∈ R²: dy/dA[i,j] = x[j], dy/dx[j] = Σ_i A[i,j]
    let a = leaf(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let x = leaf(&[5.0, 7.0], &[2]);
    let y = a.matmul(&x).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[y], &[a, x], &[], Default::default()).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![5.0, 7.0, 5.0, 7.0]);
    assert_eq!(g[1].as_ref().unwrap().to_f64_vec(), vec![4.0, 6.0]);
}

// ---- joins --------------------------------------------------------------------------

#[test]
fn stack_and_cat() {
    let a = rand64(1, &[2, 3], -2.0, 2.0);
    let b = rand64(2, &[2, 3], -2.0, 2.0);
    let c = rand64(3, &[2, 2], -2.0, 2.0);
    for d in [0isize, 1, 2, -1] {
        let f = move |x: &[Tensor]| Ok(vec![Tensor::stack(&[x[0].clone(), x[1].mul(&x[0])?], d)?]);
        check(&format!("stack dim {d}"), &f, &[a.clone(), b.clone()]);
    }
    check("cat dim 1", &|x: &[Tensor]| Ok(vec![Tensor::cat(&[x[0].sin()?, x[1].clone()], 1)?]), &[a.clone(), c]);
    check("cat dim 0", &|x: &[Tensor]| Ok(vec![Tensor::cat(&[x[0].clone(), x[1].exp()?, x[0].clone()], 0)?]), &[a, b]);
    // y = stack([x0, x1]) of scalars: a 0-d join, J = I₂ blocks
    let f = |x: &[Tensor]| Ok(vec![Tensor::stack(&[x[0].clone(), x[1].clone()], 0)?]);
    check("stack 0-d", &f, &[rand64(4, &[], -1.0, 1.0), rand64(5, &[], -1.0, 1.0)]);
}

// ---- indexing -----------------------------------------------------------------------

#[test]
fn indexing_int_and_slice() {
    let x = rand64(1, &[5, 3], -2.0, 2.0);
    let idx = |items: Vec<IndexItem>| move |x: &[Tensor]| Ok(vec![x[0].index(&items)?.mul(&x[0].index(&items)?)?]);
    check("int", &idx(vec![IndexItem::Int(1)]), &[x.clone()]);
    check("negative int", &idx(vec![IndexItem::Int(-1), IndexItem::Int(-2)]), &[x.clone()]);
    check("slice step", &idx(vec![slice(None, None, 2), slice(Some(1), None, 1)]), &[x.clone()]);
    check("negative step", &idx(vec![slice(None, None, -2)]), &[x.clone()]);
    check("empty slice", &idx(vec![slice(Some(3), Some(1), 1)]), &[x.clone()]);
    check(
        "newaxis ellipsis",
        &idx(vec![IndexItem::NewAxis, IndexItem::Ellipsis, IndexItem::Int(-1)]),
        &[rand64(2, &[2, 3, 4], -2.0, 2.0)],
    );
    check("narrow", &|x: &[Tensor]| Ok(vec![x[0].narrow(1, 1, 2)?.exp()?]), &[x.clone()]);
    check("select", &|x: &[Tensor]| Ok(vec![x[0].select(0, -1)?.sin()?]), &[x.clone()]);
    // y = x[1] + x[1] reads one row twice: the cotangent accumulates (2 on row 1)
    let xl = x.leaf_requiring_grad().unwrap();
    let r = xl.index(&[IndexItem::Int(1)]).unwrap();
    let y = r.add(&r).unwrap().sum_all().unwrap();
    let g = lucid_core::autograd::grad(&[y], &[xl], &[], Default::default()).unwrap();
    let mut want = vec![0.0; 15];
    want[3..6].copy_from_slice(&[2.0, 2.0, 2.0]);
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), want);
}

// ---- a composite: every op in one function ---------------------------------------------

#[test]
fn composite_of_all_foundation_ops() {
    // f(W, x) = mean(tanh(W x)² ) + sum(stack([exp(x), sqrt(x²+1)])[.., 1:]) / sum(cos(W)ᵀ)
    let f = |v: &[Tensor]| {
        let (w, x) = (&v[0], &v[1]);
        let h = w.matmul(x)?.tanh()?.pow_scalar(2.0)?.mean(None, false)?;
        let s = Tensor::stack(&[x.exp()?, x.mul(x)?.add_scalar(1.0)?.sqrt()?], 0)?;
        let tail = s.index(&[slice(None, None, 1), slice(Some(1), None, 1)])?.sum_all()?;
        let d = w.cos()?.t()?.sum_all()?.add_scalar(10.0)?;
        Ok(vec![h.add(&tail.div(&d)?)?.neg()?, Tensor::cat(&[h.reshape(&[1])?, x.sin()?], 0)?])
    };
    check("composite", &f, &[rand64(1, &[2, 3], -1.0, 1.0), rand64(2, &[3], -1.0, 1.0)]);
}
