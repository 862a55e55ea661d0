//! Constructors: values, dtypes, and errors (never panics or aborts) for user-given
//! sizes that cannot be addressed or allocated.

mod common;

use common::*;
use lucid_core::{DType, Error, Tensor};

#[test]
fn from_vec_checks_the_count() {
    let err = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[2, 2], DType::F64).unwrap_err();
    assert!(
        matches!(err, Error::Shape { .. }) && err.message().contains("3 values cannot fill shape [2, 2]"),
        "{err:?}"
    );
    // a shape whose element count overflows is an error, not a panic
    let err = Tensor::from_vec(vec![], &[usize::MAX, 2], DType::F64).unwrap_err();
    assert!(err.message().contains("too big"), "{err:?}");
    let t = Tensor::from_vec(vec![1.5, -2.0], &[2], DType::F32).unwrap();
    assert_eq!(t.dtype(), DType::F32);
    assert_eq!(t.to_f64_vec(), vec![1.5, -2.0]);
    assert_eq!(Tensor::from_vec(vec![7.0], &[], DType::I64).unwrap().item().unwrap(), 7.0);
}

#[test]
fn arange_and_linspace_values() {
    assert_eq!(Tensor::arange(0.0, 5.0, 1.0, DType::I64).unwrap().to_f64_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(Tensor::arange(5.0, 0.0, -2.0, DType::F64).unwrap().to_f64_vec(), vec![5.0, 3.0, 1.0]);
    assert_eq!(Tensor::arange(0.0, 1.0, 0.25, DType::F32).unwrap().to_f64_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    assert_eq!(Tensor::arange(3.0, 3.0, 1.0, DType::F64).unwrap().shape(), &[0]);
    assert_eq!(Tensor::arange(3.0, 1.0, 1.0, DType::F64).unwrap().shape(), &[0]);
    let err = Tensor::arange(0.0, 1.0, 0.0, DType::F64).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }) && err.message().contains("nonzero step"));
    assert!(Tensor::arange(0.0, f64::NAN, 1.0, DType::F64).is_err());
    assert_eq!(Tensor::linspace(-1.0, 1.0, 5, DType::F64).unwrap().to_f64_vec(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert_eq!(Tensor::linspace(2.0, 3.0, 1, DType::F64).unwrap().to_f64_vec(), vec![2.0]);
    assert_eq!(Tensor::linspace(2.0, 3.0, 0, DType::F64).unwrap().shape(), &[0]);
    // the end point is exact even when the step is not representable
    let l = Tensor::linspace(0.0, 0.3, 7, DType::F64).unwrap().to_f64_vec();
    assert_eq!(l[6], 0.3);
}

#[test]
fn eye_full_zeros() {
    assert_eq!(Tensor::eye(2, Some(3), DType::F64).to_f64_vec(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    assert_eq!(Tensor::try_eye(3, Some(2), DType::I64).unwrap().to_f64_vec(), vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(Tensor::try_eye(2, None, DType::F32).unwrap().dtype(), DType::F32);
    let f = Tensor::try_full("full", &[2, 2], 2.5, DType::F64).unwrap();
    assert_eq!(f.to_f64_vec(), vec![2.5; 4]);
    assert_eq!(Tensor::try_full("full", &[2], 3.0, DType::Bool).unwrap().dtype(), DType::Bool);
    assert_eq!(Tensor::zeros(&[], DType::F64).shape(), &[] as &[usize]);
    assert_eq!(Tensor::ones_like(&f).to_f64_vec(), vec![1.0; 4]);
    assert!(!Tensor::zeros(&[2], DType::F64).requires_grad());
}

#[test]
fn huge_sizes_are_errors_not_crashes() {
    // element count overflows usize / isize: an error naming the op and the shape
    let err = Tensor::try_full("zeros", &[1 << 40, 1 << 40], 0.0, DType::F32).unwrap_err();
    assert!(matches!(err, Error::Argument { op: "zeros", .. }), "{err:?}");
    assert!(
        err.message().contains("[1099511627776, 1099511627776]") && err.message().contains("too big"),
        "{}",
        err.message()
    );
    // bytes overflow isize although the count does not
    assert!(Tensor::try_full("zeros", &[1 << 62], 0.0, DType::F64).is_err());
    // addressable but far beyond any memory (40 TB): the allocation fails cleanly
    let err = Tensor::try_full("ones", &[1_000_000, 10_000_000], 1.0, DType::F32).unwrap_err();
    assert!(err.message().contains("cannot allocate 40000000000000 bytes"), "{}", err.message());
    assert!(Tensor::try_eye(10_000_000, None, DType::F64).is_err());
    assert!(Tensor::arange(0.0, 1e18, 1.0, DType::F64).is_err());
    assert!(Tensor::arange(0.0, 1e300, 1.0, DType::F64).is_err());
    assert!(Tensor::linspace(0.0, 1.0, 10_000_000_000_000, DType::F64).is_err());
    // still usable afterwards
    assert_eq!(rand64(1, &[2], 0.0, 1.0).numel(), 2);
}
