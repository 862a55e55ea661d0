//! Issue 19's slow paths from Rust: Jacobians through many slices of one tensor (a
//! slice's cotangent kept as its window, NOTE [embedded rows]) against the same
//! function of separate leaves and central differences, and row gathers with leading
//! full slices kept as leading dims, against hand-computed values.

mod common;

use common::*;
use lucid_core::functional::{jacobian, JacobianOptions, Strategy};
use lucid_core::{DType, IndexItem, Result, Tensor};

const PARTS: usize = 5;
const N: usize = 7;

/// y_j = Σ_i w_j[i] Π_k rows_k[i] for j = 0, 1, 2.
fn product_of_rows(rows: &[Tensor]) -> Result<Vec<Tensor>> {
    let mut p = rows[0].clone();
    for r in &rows[1..] {
        p = p.mul(r)?;
    }
    let w = rand64(3, &[3, N], -1.0, 1.0);
    Ok(vec![p.mul(&w)?.sum(Some(&[-1]), false)?])
}

fn of_one_matrix(xs: &[Tensor]) -> Result<Vec<Tensor>> {
    let rows: Vec<Tensor> = (0..PARTS as isize).map(|k| xs[0].select(0, k)).collect::<Result<_>>()?;
    product_of_rows(&rows)
}

fn options() -> Vec<JacobianOptions> {
    vec![
        JacobianOptions::default(),
        JacobianOptions { vectorize: true, ..Default::default() },
        JacobianOptions { strategy: Strategy::ForwardMode, ..Default::default() },
        JacobianOptions { create_graph: true, ..Default::default() },
    ]
}

#[test]
fn slices_of_one_leaf_give_the_jacobian_of_separate_leaves() {
    let c = rand64(11, &[PARTS, N], 0.5, 1.5);
    let rows: Vec<Tensor> = (0..PARTS).map(|k| c.select(0, k as isize).unwrap().copy().unwrap()).collect();
    for opts in options() {
        let one = jacobian(of_one_matrix, std::slice::from_ref(&c), &opts).unwrap();
        let sep = jacobian(product_of_rows, &rows, &opts).unwrap();
        // the separate blocks side by side are the one matrix's block, row by row
        let want: Vec<f64> =
            (0..3).flat_map(|r| sep.iter().flat_map(move |b| b.to_f64_vec()[r * N..(r + 1) * N].to_vec())).collect();
        assert_close(&one[0].to_f64_vec(), &want, 1e-12, &format!("{opts:?}"));
    }
    gradcheck("slices of one leaf", &of_one_matrix, std::slice::from_ref(&c));
    gradgradcheck("slices of one leaf", &of_one_matrix, std::slice::from_ref(&c));
}

/// Overlapping windows, the same window twice, a strided reversed one, and the tensor
/// itself (a dense part beside the windows).
fn mixed_windows(xs: &[Tensor]) -> Result<Vec<Tensor>> {
    let x = &xs[0];
    let a = x.select(0, 0)?;
    let b = x.narrow(0, 1, 2)?.sum(Some(&[0]), false)?;
    let c = x.narrow(0, 2, 2)?.sum(Some(&[0]), false)?;
    let d = x.index(&[IndexItem::Slice { start: None, stop: None, step: -2 }, IndexItem::Int(-1)])?.sum_all()?;
    Ok(vec![a.mul(&a)?.mul(&b)?.add(&c.mul(&d)?)?.add(&x.sum(Some(&[0]), false)?)?])
}

#[test]
fn mixed_windows_match_central_differences_in_every_mode() {
    let x = rand64(5, &[4, 3], 0.5, 1.5);
    let num = numeric_jacobian(&mixed_windows, std::slice::from_ref(&x), 1e-6);
    for opts in options() {
        let j = jacobian(mixed_windows, std::slice::from_ref(&x), &opts).unwrap();
        assert_close(&j[0].to_f64_vec(), &num[0], 1e-6, &format!("{opts:?}"));
    }
    // grad (no batch dim) row by row, as backward sweeps it
    assert_close(&grad_jacobian(&mixed_windows, std::slice::from_ref(&x))[0], &num[0], 1e-6, "grad");
}

#[test]
fn middle_dim_gather_keeps_its_leading_dim() {
    // x[:, idx] of x (2, 3): out[i, k] = x[i, idx[k]], idx = [2, -3, 2]
    let x = Tensor::arange(0.0, 6.0, 1.0, DType::F64).unwrap().reshape(&[2, 3]).unwrap();
    let i = Tensor::from_vec(vec![2.0, -3.0, 2.0], &[3], DType::I64).unwrap();
    let y = x.index(&[IndexItem::full(), IndexItem::Tensor(i.clone())]).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(y.to_f64_vec(), vec![2.0, 0.0, 2.0, 5.0, 3.0, 5.0]);
    // the same through an ellipsis, and with a slice in front that is not full
    let e = x.index(&[IndexItem::Ellipsis, IndexItem::Tensor(i.clone())]).unwrap();
    assert_eq!(e.to_f64_vec(), y.to_f64_vec());
    let part = IndexItem::Slice { start: Some(1), stop: None, step: 1 };
    assert_eq!(x.index(&[part, IndexItem::Tensor(i)]).unwrap().to_f64_vec(), vec![5.0, 3.0, 5.0]);
    // d/dx sum(x[:, idx]²) = 2 x times the number of reads: column 2 twice, column 0 once
    let g = |xs: &[Tensor]| -> Result<Vec<Tensor>> {
        let i = Tensor::from_vec(vec![2.0, -3.0, 2.0], &[3], DType::I64)?;
        Ok(vec![xs[0].index(&[IndexItem::full(), IndexItem::Tensor(i)])?.square()?.sum_all()?])
    };
    gradcheck("x[:, idx]", &g, std::slice::from_ref(&x));
    let j = jacobian(g, std::slice::from_ref(&x), &JacobianOptions::default()).unwrap();
    assert_eq!(j[0].to_f64_vec(), vec![0.0, 0.0, 8.0, 6.0, 0.0, 20.0]);
}
