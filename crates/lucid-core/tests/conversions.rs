//! Conversions that never lie: a tensor's value as an integer is exact or an error
//! naming the value, and `t()` transposes matrices only.

use lucid_core::{DType, Error, Tensor};

fn int64(v: i64) -> Tensor {
    Tensor::from_storage(lucid_core::Storage::I64(ndarray::ArcArray::from_elem(ndarray::IxDyn(&[]), v)))
}

#[test]
fn item_i64_is_exact_for_integers_and_truncates_floats() {
    // past 2^53 a float64 detour would round
    for v in [i64::MIN, -(1 << 53) - 1, -1, 0, (1 << 53) + 1, i64::MAX] {
        assert_eq!(int64(v).item_i64().unwrap(), v);
    }
    assert_eq!(Tensor::scalar(1.0, DType::Bool).item_i64().unwrap(), 1);
    for (v, want) in [(2.9, 2), (-2.9, -2), (-0.5, 0), (1e18, 1_000_000_000_000_000_000)] {
        assert_eq!(Tensor::scalar(v, DType::F64).item_i64().unwrap(), want, "{v}");
        assert_eq!(Tensor::scalar(v, DType::F32).item_i64().unwrap(), v as f32 as i64, "{v} as float32");
    }
    // the ends of the range: -2^63 fits, 2^63 does not; the integer part decides
    assert_eq!(Tensor::scalar(-(2f64.powi(63)), DType::F64).item_i64().unwrap(), i64::MIN);
    assert_eq!(Tensor::scalar(2f64.powi(63) - 1024.0, DType::F64).item_i64().unwrap(), 9_223_372_036_854_774_784);
}

#[test]
fn item_i64_refuses_what_no_int64_is() {
    let err = Tensor::scalar(f64::NAN, DType::F32).item_i64().unwrap_err();
    assert!(matches!(err, Error::Argument { op: "int", .. }), "{err:?}");
    assert_eq!(err.message(), "int: cannot convert float NaN to integer");
    for (v, shown) in [(f64::INFINITY, "infinity"), (f64::NEG_INFINITY, "-infinity")] {
        let err = Tensor::scalar(v, DType::F64).item_i64().unwrap_err();
        assert!(matches!(err, Error::Overflow { op: "int", .. }), "{err:?}");
        assert_eq!(err.message(), format!("int: cannot convert float {shown} to integer"));
    }
    for v in [1e30, -1e30, 2f64.powi(63), -9.3e18] {
        let err = Tensor::scalar(v, DType::F64).item_i64().unwrap_err();
        assert!(matches!(err, Error::Overflow { op: "int", .. }), "{err:?}");
        assert!(err.message().contains(&format!("value {v:?} cannot be converted to int64")), "{err}");
    }
    let err = Tensor::zeros(&[2], DType::I64).item_i64().unwrap_err();
    assert!(matches!(err, Error::Shape { op: "int", .. }), "{err:?}");
}

#[test]
fn t_transposes_matrices_and_refuses_more_dims() {
    let m = Tensor::zeros(&[2, 3], DType::F64);
    assert_eq!(m.t().unwrap().shape(), &[3, 2]);
    assert_eq!(Tensor::zeros(&[4], DType::F64).t().unwrap().shape(), &[4]);
    assert_eq!(Tensor::scalar(1.0, DType::F64).t().unwrap().shape(), &[] as &[usize]);
    let err = Tensor::zeros(&[2, 3, 4], DType::F64).t().unwrap_err();
    assert!(matches!(err, Error::Shape { op: "t", .. }), "{err:?}");
    assert!(err.message().contains("<= 2 dimensions, but self is 3-D (shape [2, 3, 4])"), "{err}");
    // `.T` still reverses every dim
    assert_eq!(Tensor::zeros(&[2, 3, 4], DType::F64).reverse_dims().unwrap().shape(), &[4, 3, 2]);
}
