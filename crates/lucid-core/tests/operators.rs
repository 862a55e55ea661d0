//! `std::ops` operators on tensors: the values and derivatives of the methods they call,
//! constants on either side, chains through `Result`, and errors returned, not panics.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads best in tests

mod common;

use common::*;
use lucid_core::autograd::backward;
use lucid_core::{DType, Error, Result, Tensor};

fn bits(t: &Tensor) -> Vec<u64> {
    t.to_f64_vec().iter().map(|v| v.to_bits()).collect()
}

// ---- values ----------------------------------------------------------------------------

#[test]
fn operators_on_references_equal_the_methods_bit_for_bit() {
    let a = rand64(1, &[2, 3], -2.0, 2.0);
    let b = rand64(2, &[3], 0.5, 2.0); // broadcasts against a's rows
    assert_eq!(bits(&(&a + &b).unwrap()), bits(&a.add(&b).unwrap()));
    assert_eq!(bits(&(&a - &b).unwrap()), bits(&a.sub(&b).unwrap()));
    assert_eq!(bits(&(&a * &b).unwrap()), bits(&a.mul(&b).unwrap()));
    assert_eq!(bits(&(&a / &b).unwrap()), bits(&a.div(&b).unwrap()));
    assert_eq!(bits(&(-&a).unwrap()), bits(&a.neg().unwrap()));
    assert_eq!((&a * &b).unwrap().shape(), &[2, 3]);
}

#[test]
fn the_same_tensor_on_both_sides() {
    let a = t64(&[1.0, -2.0, 3.0], &[3]);
    assert_eq!((&a * &a).unwrap().to_f64_vec(), vec![1.0, 4.0, 9.0]);
    assert_eq!((&a - &a).unwrap().to_f64_vec(), vec![0.0, 0.0, 0.0]);
}

#[test]
fn owned_and_mixed_operands() {
    let a = t64(&[1.0, 2.0], &[2]);
    let b = t64(&[10.0, 20.0], &[2]);
    assert_eq!((a.clone() + b.clone()).unwrap().to_f64_vec(), vec![11.0, 22.0]);
    assert_eq!((a.clone() - &b).unwrap().to_f64_vec(), vec![-9.0, -18.0]);
    assert_eq!((&a * b.clone()).unwrap().to_f64_vec(), vec![10.0, 40.0]);
    assert_eq!((b / a.clone()).unwrap().to_f64_vec(), vec![10.0, 10.0]);
    assert_eq!((-a).unwrap().to_f64_vec(), vec![-1.0, -2.0]);
}

#[test]
fn constants_on_either_side() {
    let x = t64(&[1.0, 2.0, 4.0], &[3]);
    assert_eq!((&x + 1.0).unwrap().to_f64_vec(), vec![2.0, 3.0, 5.0]);
    assert_eq!((1.0 + &x).unwrap().to_f64_vec(), vec![2.0, 3.0, 5.0]);
    assert_eq!((&x - 1.0).unwrap().to_f64_vec(), vec![0.0, 1.0, 3.0]);
    assert_eq!((1.0 - &x).unwrap().to_f64_vec(), vec![0.0, -1.0, -3.0]);
    assert_eq!((&x * 3.0).unwrap().to_f64_vec(), vec![3.0, 6.0, 12.0]);
    assert_eq!((3.0 * x.clone()).unwrap().to_f64_vec(), vec![3.0, 6.0, 12.0]);
    assert_eq!((x.clone() / 2.0).unwrap().to_f64_vec(), vec![0.5, 1.0, 2.0]);
    assert_eq!((2.0 / &x).unwrap().to_f64_vec(), vec![2.0, 1.0, 0.5]);
    // the constant is exactly mul_scalar's and add_scalar's
    assert_eq!(bits(&(&x * 0.1).unwrap()), bits(&x.mul_scalar(0.1).unwrap()));
    assert_eq!(bits(&(&x + 0.1).unwrap()), bits(&x.add_scalar(0.1).unwrap()));
}

#[test]
fn a_constant_keeps_a_float_dtype() {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F32).unwrap();
    let y = (&x * 0.1).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    assert_eq!(bits(&y), bits(&x.mul_scalar(0.1).unwrap()));
    assert_eq!((1.0 - &x).unwrap().dtype(), DType::F32);
}

#[test]
fn a_constant_with_integers_gives_float32_as_python_does() {
    // casting 0.5 to int64 would give 0; Lucid's Python operators and PyTorch give float32
    let i = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::I64).unwrap();
    let y = (&i * 0.5).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    assert_eq!(y.to_f64_vec(), vec![0.5, 1.0, 1.5]);
    assert_eq!((1.0 / &i).unwrap().dtype(), DType::F32);
    // tensors of integers among themselves stay integers
    assert_eq!((&i + &i).unwrap().dtype(), DType::I64);
}

#[test]
fn chains_need_one_question_mark() -> Result<()> {
    // y = 2 x·x + x - x: a constant that meets a tensor first, then tensors
    let x = t64(&[1.0, 2.0, 4.0], &[3]);
    let y = (2.0 * &x * &x + &x - &x)?;
    assert_eq!(y.to_f64_vec(), vec![2.0, 8.0, 32.0]);
    // two chains meet with a `?` on one of them (Result op Result is the orphan rule's too)
    let v = ((&x * &x)? - &x / 4.0)?;
    assert_eq!(v.to_f64_vec(), vec![0.75, 3.5, 15.0]);
    // a Result on the right: tensor op (chain)
    let z = (&x * (&x + 1.0))?;
    assert_eq!(z.to_f64_vec(), vec![2.0, 6.0, 20.0]);
    // a constant applied to a chain needs the chain's `?` first
    let w = ((&x * &x)? + 1.0)?;
    assert_eq!(w.to_f64_vec(), vec![2.0, 5.0, 17.0]);
    Ok(())
}

// ---- derivatives -------------------------------------------------------------------------

#[test]
fn backward_through_operators() -> Result<()> {
    // y = Σ (x² + 5x - 1), dy/dx = 2x + 5
    let x = leaf(&[3.0, 1.0, 4.0], &[3]);
    let y = (((&x * &x)? + 5.0 * &x)? - 1.0)?.sum_all()?;
    backward(&[y], &[], false, false)?;
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![11.0, 7.0, 13.0]);
    Ok(())
}

#[test]
fn backward_through_constants_on_the_left() {
    // y = Σ (1 - x) / x = Σ (1/x - 1), dy/dx = -1/x²
    let x = leaf(&[1.0, 2.0, 4.0], &[3]);
    let y = ((1.0 - &x) / &x).unwrap().sum_all().unwrap();
    backward(&[y], &[], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![-1.0, -0.25, -0.0625]);
}

#[test]
fn backward_through_broadcasting_and_negation() -> Result<()> {
    // y = Σ_ij -(a_ij · b_j), dy/da_ij = -b_j, dy/db_j = -Σ_i a_ij
    let a = leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = leaf(&[10.0, 20.0, 30.0], &[3]);
    let y = (-(&a * &b)?)?.sum_all()?;
    backward(&[y], &[], false, false)?;
    assert_eq!(a.grad().unwrap().to_f64_vec(), vec![-10.0, -20.0, -30.0, -10.0, -20.0, -30.0]);
    assert_eq!(b.grad().unwrap().to_f64_vec(), vec![-5.0, -7.0, -9.0]);
    Ok(())
}

#[test]
fn every_operator_against_central_differences() {
    // each form once, first and second derivatives
    let f = |x: &[Tensor]| -> Result<Vec<Tensor>> {
        let (a, b) = (&x[0], &x[1]);
        Ok(vec![
            (a + b)?,
            (a - b)?,
            (a * b)?,
            (a / b)?,
            (-a)?,
            ((2.0 * a)? - 3.0)?,
            ((1.5 / b)? + 0.5)?,
            ((a / 4.0)? * (1.0 - b))?,
        ])
    };
    let inputs = [rand64(1, &[2, 3], -2.0, 2.0), rand64(2, &[3], 0.5, 2.0)];
    gradcheck("operators", &f, &inputs);
    gradgradcheck("operators", &f, &inputs);
}

// ---- errors, not panics ------------------------------------------------------------------

#[test]
fn shapes_that_do_not_broadcast_are_errors() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]);
    let b = t64(&[1.0, 2.0], &[2]);
    for (name, r) in [("add", &a + &b), ("sub", &a - &b), ("mul", &a * &b), ("div", &a / &b)] {
        let err = r.unwrap_err();
        assert!(matches!(&err, Error::Shape { op, .. } if *op == name), "{name}: {err:?}");
        let msg = err.message();
        assert!(msg.contains("[3]") && msg.contains("[2]"), "{name}: {msg}");
    }
}

#[test]
fn the_first_error_of_a_chain_is_returned() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]);
    let b = t64(&[1.0, 2.0], &[2]);
    // (a + b) fails; the mul after it passes the error on untouched
    let err = ((&a + &b) * &a).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "add", .. }), "{err:?}");
    let err = (&a * (&b - &a)).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "sub", .. }), "{err:?}");
}

#[test]
fn dtype_errors_are_returned() {
    let mask = Tensor::from_vec(vec![1.0, 0.0], &[2], DType::Bool).unwrap();
    let err = (-&mask).unwrap_err();
    assert!(matches!(err, Error::DType { .. }), "{err:?}");
}
