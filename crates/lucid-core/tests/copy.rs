//! `Tensor::copy` (Python's `clone`): new memory, its own node, and the identity
//! derivative in reverse and forward mode, to second order.

mod common;

use common::*;
use lucid_core::autograd::{backward, no_grad};
use lucid_core::functional::{jacobian, JacobianOptions, Strategy};
use lucid_core::{DType, Result, Storage, Tensor};

#[test]
fn copy_keeps_values_and_dtype_in_new_memory() {
    let x = t64(&[1.0, -2.0, 3.5, 0.25, 6.0, -7.0], &[2, 3]);
    let xt = x.reverse_dims().unwrap(); // a strided view
    let c = xt.copy().unwrap();
    assert_eq!(c.shape(), &[3, 2]);
    assert_eq!(c.to_f64_vec(), xt.to_f64_vec());
    let (Storage::F64(a), Storage::F64(b)) = (x.storage(), c.storage()) else { panic!("float64") };
    assert_ne!(a.as_ptr(), b.as_ptr());
    for dtype in [DType::F32, DType::I64, DType::Bool] {
        let t = x.to_dtype(dtype).unwrap();
        let c = t.copy().unwrap();
        assert_eq!((c.dtype(), c.to_f64_vec()), (dtype, t.to_f64_vec()));
        assert!(c.is_leaf());
    }
}

#[test]
fn copy_of_a_leaf_requiring_grad_is_a_node_whose_gradient_reaches_the_leaf() {
    // y = copy(x) * 3, dy/dx = 3
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.copy().unwrap();
    assert!(!y.is_leaf() && y.requires_grad());
    assert_eq!(y.grad_fn_name(), Some("clone"));
    backward(&[y.mul_scalar(3.0).unwrap().sum_all().unwrap()], &[None], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![3.0, 3.0]);
    assert!(y.grad().is_none());
    let _g = no_grad();
    assert!(x.copy().unwrap().is_leaf());
}

fn f(xs: &[Tensor]) -> Result<Vec<Tensor>> {
    // y = c sin(copy(c)) + copy(x)², c = copy(x): dy/dx = sin x + x cos x + 2x
    let c = xs[0].copy()?;
    Ok(vec![c.mul(&c.copy()?.sin()?)?.add(&xs[0].copy()?.square()?)?])
}

#[test]
fn copy_derivatives_match_central_differences() {
    let x = rand64(7, &[2, 3], -2.0, 2.0);
    gradcheck("copy", &f, std::slice::from_ref(&x));
    gradgradcheck("copy", &f, std::slice::from_ref(&x));
    let opts = JacobianOptions { strategy: Strategy::ForwardMode, ..Default::default() };
    let fwd = jacobian(f, std::slice::from_ref(&x), &opts).unwrap();
    let num = numeric_jacobian(&f, std::slice::from_ref(&x), 1e-6);
    assert_close(&fwd[0].to_f64_vec(), &num[0], 1e-6, "copy: forward mode");
}
