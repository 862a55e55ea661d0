//! Floor division and remainder: Python's values by hand (negative operands, signed
//! zeros, zero and infinite divisors, int64 overflow), errors, and derivatives against
//! central differences in reverse and forward mode, to second order.

mod common;

use common::*;
use lucid_core::autograd::{grad, GradOptions};
use lucid_core::functional::{hessian, jacobian, jvp, JacobianOptions, Strategy};
use lucid_core::{DType, Error, Result, Storage, Tensor};
use ndarray::{ArcArray, IxDyn};

fn i64s(values: &[i64], shape: &[usize]) -> Tensor {
    Tensor::from_storage(Storage::I64(ArcArray::from_shape_vec(IxDyn(shape), values.to_vec()).unwrap()))
}

fn int_values(t: &Tensor) -> Vec<i64> {
    match t.storage() {
        Storage::I64(a) => a.iter().copied().collect(),
        s => panic!("expected int64, got {}", s.dtype()),
    }
}

/// Values and sign bits must agree (0.0 == -0.0 would hide a wrong sign); NaN matches NaN.
fn assert_bits(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || g.to_bits() == w.to_bits();
        assert!(same, "entry {k}: got {g:?}, want {w:?}\n got  {got:?}\n want {want:?}");
    }
}

#[test]
fn floats_round_toward_minus_infinity_and_take_the_divisors_sign() {
    // Python: 7 // 3 = 2, -7 // 3 = -3, 7 // -3 = -3, -7 // -3 = 2, 7.5 // 2 = 3, -7.5 // 2 = -4
    //         7 % 3 = 1,  -7 % 3 = 2,   7 % -3 = -2,  -7 % -3 = -1, 7.5 % 2 = 1.5, -7.5 % 2 = 0.5
    let a = t64(&[7.0, -7.0, 7.0, -7.0, 7.5, -7.5], &[6]);
    let b = t64(&[3.0, 3.0, -3.0, -3.0, 2.0, 2.0], &[6]);
    assert_bits(&a.floor_divide(&b).unwrap().to_f64_vec(), &[2.0, -3.0, -3.0, 2.0, 3.0, -4.0]);
    assert_bits(&a.remainder(&b).unwrap().to_f64_vec(), &[1.0, 2.0, -2.0, -1.0, 1.5, 0.5]);
}

#[test]
fn zeros_carry_the_sign_python_gives_them() {
    // a zero remainder has the divisor's sign: -4 % 2 = 0.0, 4 % -2 = -0.0;
    // a zero quotient has the sign of a / b: 0 // -3 = -0.0, 1 // 3 = 0.0, -1 // -3 = 0.0
    let a = t64(&[-4.0, 4.0, 0.0, 1.0, -1.0], &[5]);
    let b = t64(&[2.0, -2.0, -3.0, 3.0, -3.0], &[5]);
    assert_bits(&a.remainder(&b).unwrap().to_f64_vec(), &[0.0, -0.0, -0.0, 1.0, -1.0]);
    assert_bits(&a.floor_divide(&b).unwrap().to_f64_vec(), &[-2.0, -2.0, -0.0, 0.0, 0.0]);
}

#[test]
fn quotient_and_remainder_agree_where_floor_of_the_quotient_does_not() {
    // 0.1 is slightly above 1/10, so 1 = 9 * 0.1 + 0.0999…95: Python gives 1 // 0.1 = 9
    // and 1 % 0.1 = 0.09999999999999995, where floor(1 / 0.1) = floor(10.0) = 10.
    let a = t64(&[1.0], &[1]);
    let b = t64(&[0.1], &[1]);
    assert_bits(&a.floor_divide(&b).unwrap().to_f64_vec(), &[9.0]);
    assert_bits(&a.remainder(&b).unwrap().to_f64_vec(), &[0.09999999999999995]);
}

#[test]
fn zero_and_infinite_operands_follow_ieee_like_numpy() {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    // x // 0 is x / 0 (±inf, or nan for 0 / 0); x % 0 is nan
    let a = t64(&[1.0, -1.0, 0.0, 1.0, -1.0, inf, 2.0, nan], &[8]);
    let b = t64(&[0.0, 0.0, 0.0, inf, inf, 3.0, nan, 3.0], &[8]);
    assert_bits(&a.floor_divide(&b).unwrap().to_f64_vec(), &[inf, -inf, nan, 0.0, -1.0, nan, nan, nan]);
    // -1 % inf = inf (Python's sign rule moves -1 up by one period); 1 % -inf = -inf
    assert_bits(&a.remainder(&b).unwrap().to_f64_vec(), &[nan, nan, nan, 1.0, inf, nan, nan, nan]);
    let c = t64(&[1.0], &[1]).remainder(&t64(&[-inf], &[1])).unwrap();
    assert_bits(&c.to_f64_vec(), &[-inf]);
}

#[test]
fn float32_computes_in_float32() {
    let a = Tensor::from_vec(vec![7.0, -7.0, 1.0], &[3], DType::F32).unwrap();
    let b = Tensor::from_vec(vec![-3.0, 3.0, 0.1], &[3], DType::F32).unwrap();
    let q = a.floor_divide(&b).unwrap();
    let r = a.remainder(&b).unwrap();
    assert_eq!((q.dtype(), r.dtype()), (DType::F32, DType::F32));
    assert_eq!(q.to_f64_vec(), vec![-3.0, -3.0, 9.0]); // 0.1f32 is above 1/10 too
    let b2 = 0.1f32;
    assert_eq!(r.to_f64_vec(), vec![-2.0, 2.0, (1.0f32 % b2) as f64]);
}

#[test]
fn integers_stay_integers_with_floor_semantics() {
    let a = i64s(&[7, -7, 7, -7, 0, 9, i64::MIN, i64::MIN, i64::MAX], &[9]);
    let b = i64s(&[3, 3, -3, -3, -5, 3, -1, 2, -1], &[9]);
    let q = a.floor_divide(&b).unwrap();
    let r = a.remainder(&b).unwrap();
    assert_eq!((q.dtype(), r.dtype()), (DType::I64, DType::I64));
    // MIN // -1 overflows: it wraps to MIN, as NumPy's (which also warns)
    assert_eq!(int_values(&q), vec![2, -3, -3, 2, 0, 3, i64::MIN, i64::MIN / 2, -i64::MAX]);
    assert_eq!(int_values(&r), vec![1, 2, -2, -1, 0, 0, 0, 0, 0]);
}

#[test]
fn dtypes_promote_like_the_other_binary_ops() {
    // int64 with float64 gives float64; bool counts as int64
    let i = i64s(&[-7, 7], &[2]);
    let f = t64(&[2.0, -2.0], &[2]);
    let q = i.floor_divide(&f).unwrap();
    assert_eq!(q.dtype(), DType::F64);
    assert_eq!(q.to_f64_vec(), vec![-4.0, -4.0]);
    // 2 % -7 = -5, -2 % 7 = 5
    assert_eq!(f.remainder(&i).unwrap().to_f64_vec(), vec![-5.0, 5.0]);
    let t = Tensor::from_vec(vec![1.0, 1.0], &[2], DType::Bool).unwrap();
    let r = i.remainder(&t).unwrap();
    assert_eq!((r.dtype(), int_values(&r)), (DType::I64, vec![0, 0]));
}

#[test]
fn broadcasting_rows_against_columns() {
    // a: column (-5, 5), b: row (2, -2, 3)
    let a = t64(&[-5.0, 5.0], &[2, 1]);
    let b = t64(&[2.0, -2.0, 3.0], &[3]);
    let q = a.floor_divide(&b).unwrap();
    assert_eq!(q.shape(), &[2, 3]);
    assert_eq!(q.to_f64_vec(), vec![-3.0, 2.0, -2.0, 2.0, -3.0, 1.0]);
    assert_eq!(a.remainder(&b).unwrap().to_f64_vec(), vec![1.0, -1.0, 1.0, 1.0, -1.0, 2.0]);
}

#[test]
fn integer_division_by_zero_is_an_error_naming_the_op() {
    let a = i64s(&[1, 2, 3], &[3]);
    let b = i64s(&[1, 0, 1], &[3]);
    for (name, r) in [("floor_divide", a.floor_divide(&b)), ("remainder", a.remainder(&b))] {
        match r {
            Err(Error::Argument { op, msg }) => {
                assert_eq!(op, name);
                assert!(msg.contains("integer division by zero"), "{msg}");
            }
            other => panic!("{name}: expected an argument error, got {other:?}"),
        }
    }
    // a broadcast zero counts; an empty result divides nothing
    assert!(a.floor_divide(&i64s(&[0], &[])).is_err());
    let empty = i64s(&[], &[0]);
    assert_eq!(empty.remainder(&i64s(&[0], &[1])).unwrap().shape(), &[0]);
    // bool divisors are integers too: True // False
    let f = Tensor::from_vec(vec![0.0], &[1], DType::Bool).unwrap();
    assert!(a.floor_divide(&f).is_err());
}

#[test]
fn remainder_gradient_by_hand() {
    // r = a % b = a - floor(a/b) b: dr/da = 1, dr/db = -floor(a/b)
    // at (7, 3): floor = 2; (-7, 3): -3; (7, -3): -3; (-7.5, -2): 3
    let a = leaf(&[7.0, -7.0, 7.0, -7.5], &[4]);
    let b = leaf(&[3.0, 3.0, -3.0, -2.0], &[4]);
    let s = a.remainder(&b).unwrap().sum_all().unwrap();
    let g = grad(&[s], &[a, b], &[], GradOptions::default()).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![1.0; 4]);
    assert_eq!(g[1].as_ref().unwrap().to_f64_vec(), vec![-2.0, 3.0, 3.0, -3.0]);
}

#[test]
fn remainder_tangent_by_hand() {
    // dr = ta - tb floor(a/b): at (7, 3) with (ta, tb) = (0.5, 2): 0.5 - 4 = -3.5;
    // at (-7, 3) with (1, 1): 1 + 3 = 4
    let a = t64(&[7.0, -7.0], &[2]);
    let b = t64(&[3.0, 3.0], &[2]);
    let f = |xs: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![xs[0].remainder(&xs[1])?]) };
    let (out, jv) = jvp(f, &[a, b], &[t64(&[0.5, 1.0], &[2]), t64(&[2.0, 1.0], &[2])], false).unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![1.0, 2.0]);
    assert_eq!(jv[0].to_f64_vec(), vec![-3.5, 4.0]);
}

#[test]
fn floor_divide_gradient_is_zero_not_missing() {
    // q = a // b is piecewise constant: backward reaches both leaves with zeros
    let a = leaf(&[7.0, -7.5], &[2]);
    let b = leaf(&[2.0], &[1]);
    let q = a.floor_divide(&b).unwrap();
    assert_eq!(q.grad_fn_name(), Some("floor_divide"));
    let g = grad(&[q.sum_all().unwrap()], &[a, b], &[], GradOptions::default()).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![0.0, 0.0]);
    assert_eq!(g[1].as_ref().unwrap().to_f64_vec(), vec![0.0]);
}

/// Operands with both signs whose quotient stays ≥ 0.07 away from an integer, so central
/// differences (eps = 1e-6, 1e-5 at second order) never straddle a jump: a = ±(k + u)
/// with u ∈ [0.25, 0.75], b = ±(1 + s) with s ∈ [0, 0.05].
fn operands(seed: u64, shape_a: &[usize], shape_b: &[usize]) -> (Tensor, Tensor) {
    let na: usize = shape_a.iter().product();
    let nb: usize = shape_b.iter().product();
    let a: Vec<f64> = sample(seed, na, 0.0, 1.0)
        .iter()
        .zip(sample(seed + 1, na, 0.25, 0.75))
        .map(|(&k, u)| (k * 7.0).floor() - 3.0 + u)
        .collect();
    let b: Vec<f64> = sample(seed + 2, nb, 0.0, 1.0)
        .iter()
        .zip(sample(seed + 3, nb, 0.0, 0.05))
        .map(|(&sign, s)| if sign < 0.5 { -1.0 - s } else { 1.0 + s })
        .collect();
    (t64(&a, shape_a), t64(&b, shape_b))
}

fn forward_matches_central_differences(name: &str, f: Func<'_>, inputs: &[Tensor]) {
    let num = numeric_jacobian(f, inputs, 1e-6);
    for vectorize in [false, true] {
        let opts = JacobianOptions { strategy: Strategy::ForwardMode, vectorize, ..Default::default() };
        let jac = jacobian(f, inputs, &opts).unwrap();
        for (j, (b, n)) in jac.iter().zip(&num).enumerate() {
            assert_close(&b.to_f64_vec(), n, 1e-6, &format!("{name}: forward mode (vectorize {vectorize}), input {j}"));
        }
    }
}

#[test]
fn derivatives_match_central_differences_in_every_mode() {
    let rem = |xs: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![xs[0].remainder(&xs[1])?]) };
    let fdiv = |xs: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![xs[0].floor_divide(&xs[1])?]) };
    // composed with smooth ops, so the zero rule has to pass real cotangents on
    let mixed = |xs: &[Tensor]| -> Result<Vec<Tensor>> {
        let q = xs[0].floor_divide(&xs[1])?;
        let r = xs[0].remainder(&xs[1])?;
        Ok(vec![r.mul(&xs[0])?.add(&q.mul(&xs[1])?)?, r.square()?.mul(&xs[1])?])
    };
    let cases: [(&str, Func<'_>); 3] = [("remainder", &rem), ("floor_divide", &fdiv), ("mixed", &mixed)];
    let shapes = [(vec![6], vec![6]), (vec![2, 3], vec![3]), (vec![3, 1], vec![1, 2]), (vec![], vec![4])];
    for (seed, (shape_a, shape_b)) in shapes.iter().enumerate() {
        let (a, b) = operands(10 * seed as u64, shape_a, shape_b);
        for (name, f) in cases {
            let label = format!("{name} {shape_a:?} {shape_b:?}");
            gradcheck(&label, f, &[a.clone(), b.clone()]);
            forward_matches_central_differences(&label, f, &[a.clone(), b.clone()]);
            gradgradcheck(&label, f, &[a.clone(), b.clone()]);
        }
    }
}

#[test]
fn hessian_of_a_remainder_composition() {
    // f(a, b) = Σ (a % b)² = Σ (a - q b)² with q = floor(a/b) locally constant:
    // ∂²f/∂a² = 2, ∂²f/∂a∂b = -2q, ∂²f/∂b² = 2q² (elementwise, so each block is diagonal)
    let a = t64(&[7.5, -7.5], &[2]);
    let b = t64(&[2.0, 2.0], &[2]);
    let f = |xs: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![xs[0].remainder(&xs[1])?.square()?.sum_all()?]) };
    let h = hessian(f, &[a, b], &JacobianOptions::default()).unwrap();
    // q = (3, -4)
    assert_eq!(h[0][0].to_f64_vec(), vec![2.0, 0.0, 0.0, 2.0]);
    assert_eq!(h[0][1].to_f64_vec(), vec![-6.0, 0.0, 0.0, 8.0]);
    assert_eq!(h[1][0].to_f64_vec(), vec![-6.0, 0.0, 0.0, 8.0]);
    assert_eq!(h[1][1].to_f64_vec(), vec![18.0, 0.0, 0.0, 32.0]);
}
