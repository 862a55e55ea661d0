//! User-given sizes, offsets and counts: each impossible one is an `Err` naming the op
//! and what was given, never a panic (overflowing arithmetic, ndarray's shape limit) or
//! an abort (an allocation the machine cannot give). The huge cases fail at the
//! reservation, before any memory is touched, so they are cheap: each asks for more
//! than the 2^47 bytes (128 TiB) of a process's address space, which no allocator can
//! reserve, whatever the machine's memory or overcommit policy.

mod common;

use common::*;
use lucid_core::ops::random::manual_seed;
use lucid_core::{DType, Error, IndexItem, Tensor};

/// `err` is an `Argument` or `Shape` error (a ValueError in Python) of `op` whose
/// message contains every one of `parts`.
fn assert_value_error(err: Error, op: &str, parts: &[&str]) {
    let msg = err.message();
    assert!(matches!(err, Error::Argument { .. } | Error::Shape { .. }), "{err:?}");
    assert!(msg.starts_with(&format!("{op}: ")), "{msg}");
    for p in parts {
        assert!(msg.contains(p), "{msg:?} lacks {p:?}");
    }
}

#[test]
fn random_constructors_of_impossible_shapes_are_errors() {
    // 10^14 elements: addressable, beyond any address space; fails at the reservation
    let big = [10_000_000, 10_000_000];
    assert_value_error(
        Tensor::rand(&big, DType::F32).unwrap_err(),
        "rand",
        &["400000000000000 bytes", "[10000000, 10000000]"],
    );
    assert_value_error(Tensor::randn(&big, DType::F64).unwrap_err(), "randn", &["800000000000000 bytes"]);
    // float32 normals are drawn straight into their own buffer: no float64 one beside it
    assert_value_error(Tensor::randn(&big, DType::F32).unwrap_err(), "randn", &["400000000000000 bytes"]);
    assert_value_error(Tensor::randint(0, 5, &big, DType::I64).unwrap_err(), "randint", &["800000000000000 bytes"]);
    assert_value_error(Tensor::randint(0, 5, &big, DType::F32).unwrap_err(), "randint", &["400000000000000 bytes"]);
    // element counts past what can be addressed
    for shape in [&[1usize << 32, 1 << 32][..], &[usize::MAX], &[1 << 62, 4]] {
        assert_value_error(Tensor::rand(shape, DType::F64).unwrap_err(), "rand", &["too big to address"]);
        assert_value_error(Tensor::randn(shape, DType::F32).unwrap_err(), "randn", &["too big to address"]);
        assert_value_error(Tensor::randint(-3, 3, shape, DType::I64).unwrap_err(), "randint", &["too big"]);
    }
    // the dtype is still checked first
    assert!(matches!(Tensor::rand(&big, DType::I64).unwrap_err(), Error::DType { op: "rand", .. }));
}

/// The only test of this file that draws from the global generator (tests run in
/// parallel threads): each constructor writes its result's dtype directly, and the
/// values are the ones the int64 or float64 draws give, cast.
#[test]
fn random_dtypes_draw_one_sequence() {
    manual_seed(11);
    let ints = Tensor::randint(-1000, 1000, &[7], DType::I64).unwrap().to_f64_vec();
    manual_seed(11);
    assert_eq!(Tensor::randint(-1000, 1000, &[7], DType::F32).unwrap().to_f64_vec(), ints);
    manual_seed(11);
    assert_eq!(Tensor::randint(-1000, 1000, &[7], DType::F64).unwrap().to_f64_vec(), ints);
    // float32 normals are the float64 ones rounded, odd counts included
    for n in [0, 1, 4, 5] {
        manual_seed(3);
        let f64s = Tensor::randn(&[n], DType::F64).unwrap().to_f64_vec();
        manual_seed(3);
        let f32s = Tensor::randn(&[n], DType::F32).unwrap().to_f64_vec();
        let rounded: Vec<f64> = f64s.iter().map(|&v| v as f32 as f64).collect();
        assert_eq!(f32s, rounded, "{n} normals");
    }
    // an odd count draws a whole pair: the next call starts at the next pair
    manual_seed(3);
    let six = Tensor::randn(&[6], DType::F64).unwrap().to_f64_vec();
    manual_seed(3);
    let five = Tensor::randn(&[5], DType::F64).unwrap().to_f64_vec();
    assert_eq!(five, six[..5]);
    manual_seed(5);
    let a = Tensor::rand(&[3], DType::F32).unwrap().to_f64_vec();
    manual_seed(5);
    assert_eq!(Tensor::rand(&[3], DType::F32).unwrap().to_f64_vec(), a);
    // the range spans all of int64 without overflow
    let wide = Tensor::randint(i64::MIN, i64::MAX, &[4], DType::I64).unwrap();
    assert_eq!(wide.shape(), &[4]);
    assert!(matches!(Tensor::randint(5, 5, &[1], DType::I64).unwrap_err(), Error::Argument { op: "randint", .. }));
}

#[test]
fn diag_offsets_too_large_to_address_are_errors() {
    // n = 3 + |offset| overflows, or n² does: an Argument error naming the offset
    let v = t64(&[1.0, 2.0, 3.0], &[3]);
    for k in [1isize << 62, isize::MAX, isize::MIN, -(1 << 62), 1 << 40, 1 << 31] {
        assert_value_error(v.diag(k).unwrap_err(), "diag", &[&format!("offset {k}"), "length 3"]);
        assert_value_error(v.diag_embed(k, -2, -1).unwrap_err(), "diag_embed", &[&format!("offset {k}")]);
    }
    // addressable (10^14 elements) but not allocatable: the bytes are named
    let bytes = format!("cannot allocate {} bytes", 10_000_003u64 * 10_000_003 * 8);
    assert_value_error(v.diag(10_000_000).unwrap_err(), "diag", &["offset 10000000", &bytes]);
    let long = Tensor::zeros(&[10_000_000], DType::F32);
    assert_value_error(long.diag_embed(0, -2, -1).unwrap_err(), "diag_embed", &["400000000000000 bytes"]);
    // a huge empty dim still makes an unaddressable plane
    let empty = Tensor::zeros(&[0, 1 << 62], DType::F64);
    assert_value_error(empty.diag_embed(0, -2, -1).unwrap_err(), "diag_embed", &["too big to address"]);
    // reading a far diagonal is an empty vector, as in PyTorch
    let m = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    for k in [isize::MAX, isize::MIN] {
        assert_eq!(m.diag(k).unwrap().shape(), &[0]);
        assert_eq!(m.diagonal(k, 0, 1).unwrap().shape(), &[0]);
        assert_eq!(m.tril(k).unwrap().shape(), &[2, 2]);
        assert_eq!(m.triu(k).unwrap().shape(), &[2, 2]);
    }
    // ordinary offsets unchanged: diag(v, -1) has v below the main diagonal
    let d = v.diag(-1).unwrap();
    assert_eq!(d.shape(), &[4, 4]);
    assert_eq!(d.to_f64_vec()[4], 1.0);
    assert_eq!(d.diag(-1).unwrap().to_f64_vec(), vec![1.0, 2.0, 3.0]);
}

#[test]
fn diag_embed_still_differentiates() {
    // y = diag_embed(x, 1): dy/dx scatters onto the first superdiagonal
    let x = rand64(2, &[2, 3], -1.0, 1.0);
    gradcheck("diag_embed offset 1", &|xs| Ok(vec![xs[0].diag_embed(1, -2, -1)?]), &[x]);
}

#[test]
fn reshape_products_that_overflow_are_errors() {
    let empty = Tensor::zeros(&[0], DType::F64);
    let err = empty.reshape(&[1 << 32, 1 << 32, 0]).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "reshape", .. }) && err.message().contains("too big"), "{err:?}");
    let err = empty.reshape(&[-1, 1 << 62, 8]).unwrap_err();
    assert!(err.message().starts_with("reshape: "), "{err:?}");
    // the product of the nonzero dims must fit even when a zero dim empties the tensor
    assert_value_error(empty.reshape_exact(&[1 << 62, 4, 0]).unwrap_err(), "reshape", &["too big to address"]);
    assert_eq!(empty.reshape(&[1 << 61, 2, 0]).unwrap().shape(), &[1 << 61, 2, 0]);
    // -1 next to a zero dim is ambiguous
    assert!(Tensor::zeros(&[6], DType::F64).reshape(&[-1, 0]).is_err());
}

#[test]
fn repeat_and_tile_check_the_result_first() {
    let x = t64(&[1.0, 2.0], &[2]);
    assert_value_error(x.repeat(&[1 << 62, 1 << 62]).unwrap_err(), "repeat", &["too big to address"]);
    assert_value_error(x.repeat(&[usize::MAX]).unwrap_err(), "repeat", &["[2]", "too big to address"]);
    assert_value_error(x.tile(&[1 << 62, 4]).unwrap_err(), "tile", &["too big"]);
    // 2·10^14 float64: addressable, not allocatable
    assert_value_error(
        x.repeat(&[100_000_000_000_000]).unwrap_err(),
        "repeat",
        &["cannot allocate 1600000000000000 bytes"],
    );
    // a zero repeat of a large count is an empty tensor
    assert_eq!(x.repeat(&[1 << 40, 0]).unwrap().shape(), &[1 << 40, 0]);
    assert_eq!(x.tile(&[2]).unwrap().to_f64_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    assert_value_error(x.expand(&[10_000_000, 10_000_000, 2]).unwrap_err(), "expand", &["1600000000000000 bytes"]);
}

#[test]
fn narrow_and_slices_with_extreme_ints() {
    let x = t64(&[0.0, 1.0, 2.0, 3.0], &[4]);
    // start + length overflows usize
    let err = x.narrow(0, usize::MAX, 2).unwrap_err();
    assert!(matches!(err, Error::Index { op: "narrow", .. }), "{err:?}");
    assert!(err.message().contains("18446744073709551617"), "{}", err.message());
    assert!(x.narrow(0, 1 << 63, 1 << 63).is_err());
    assert_eq!(x.narrow(0, 4, 0).unwrap().shape(), &[0]);
    // a 0-d tensor has no dim to narrow (it used to index past its empty shape)
    assert_value_error(Tensor::scalar(2.0, DType::F64).narrow(0, 0, 0).unwrap_err(), "narrow", &["0-d"]);
    // slice steps at the ends of isize: one element, from either end
    let slice = |start, stop, step| x.index(&[IndexItem::Slice { start, stop, step }]).unwrap().to_f64_vec();
    assert_eq!(slice(None, None, isize::MAX), vec![0.0]);
    assert_eq!(slice(None, None, isize::MIN), vec![3.0]);
    assert_eq!(slice(Some(isize::MIN), Some(isize::MAX), 3), vec![0.0, 3.0]);
    assert_eq!(slice(Some(isize::MAX), Some(isize::MIN), -3), vec![3.0, 0.0]);
    assert_eq!(slice(Some(isize::MIN), None, isize::MIN), Vec::<f64>::new());
    let err = x.index(&[IndexItem::Int(isize::MIN)]).unwrap_err();
    assert!(matches!(err, Error::Index { .. }), "{err:?}");
}

#[test]
fn splits_and_joins_of_huge_counts_are_errors() {
    let x = t64(&[1.0, 2.0, 3.0], &[3]);
    // sizes whose sum wraps around to 3
    let err = x.split_sizes(&[usize::MAX, usize::MAX, 5], 0).unwrap_err();
    assert_value_error(err, "split", &["must sum to the size 3"]);
    // `chunks` pieces of an empty dim, as in PyTorch, but not 2^62 of them
    let empty = Tensor::zeros(&[0], DType::F64);
    assert_eq!(empty.chunk(3, 0).unwrap().len(), 3);
    assert_value_error(empty.chunk(1 << 62, 0).unwrap_err(), "chunk", &["4611686018427387904 pieces"]);
    // one piece per entry of a dim of 2^62 (no elements): an error, not an endless loop
    let tall = Tensor::zeros(&[1 << 62, 0], DType::F64);
    assert_value_error(tall.split(1, 0).unwrap_err(), "split", &["4611686018427387904 pieces"]);
    assert_eq!(tall.split(1 << 61, 0).unwrap().len(), 2);
    // joined sizes past isize::MAX, and past usize::MAX
    let err = Tensor::cat(&[tall.clone(), tall.clone()], 0).unwrap_err();
    assert_value_error(err, "cat", &["[9223372036854775808, 0]", "too big to address"]);
    let err = Tensor::cat(&vec![tall.clone(); 5], 0).unwrap_err();
    assert_value_error(err, "cat", &["5 tensors", "too big to address"]);
}

#[test]
fn reductions_of_empty_dims_check_their_result() {
    // [2^62, 0] has no elements, but reducing dim 1 asks for 2^62 results
    let tall = Tensor::zeros(&[1 << 62, 0], DType::F64);
    assert_value_error(tall.sum(Some(&[1]), false).unwrap_err(), "sum", &["[4611686018427387904]"]);
    assert_value_error(tall.prod(Some(&[1]), false).unwrap_err(), "prod", &["too big"]);
    assert_value_error(tall.mean(Some(&[1]), true).unwrap_err(), "mean", &["[4611686018427387904, 1]"]);
    assert_value_error(tall.var(Some(&[1]), 1.0, false).unwrap_err(), "var", &["too big"]);
    assert_value_error(tall.logsumexp(Some(&[1]), false).unwrap_err(), "logsumexp", &["too big"]);
    assert_value_error(tall.norm(2.0, Some(&[1]), false).unwrap_err(), "norm", &["too big"]);
    // reducing the long dim, or both, is small
    assert_eq!(tall.sum(Some(&[0]), false).unwrap().shape(), &[0]);
    assert_eq!(tall.sum(None, false).unwrap().item().unwrap(), 0.0);
    // determinants of 2^62 empty matrices are 2^62 ones
    let empties = Tensor::zeros(&[1 << 62, 0, 0], DType::F64);
    assert_value_error(empties.det().unwrap_err(), "det", &["too big"]);
    assert_value_error(empties.slogdet().unwrap_err(), "slogdet", &["too big"]);
    assert_eq!(Tensor::zeros(&[3, 0, 0], DType::F64).det().unwrap().to_f64_vec(), vec![1.0; 3]);
}

#[test]
fn advanced_indices_that_broadcast_to_a_huge_result_are_errors() {
    // three short index vectors along different dims broadcast to 10^15 positions
    let x = Tensor::zeros(&[3, 3, 3], DType::F64);
    let along = |shape: &[usize]| IndexItem::Tensor(Tensor::zeros(shape, DType::I64));
    let items = [along(&[100_000, 1, 1]), along(&[1, 100_000, 1]), along(&[1, 1, 100_000])];
    assert_value_error(x.index(&items).unwrap_err(), "index", &["8000000000000000 bytes", "[100000, 100000, 100000]"]);
    assert!(x.index_put(&items, &Tensor::scalar(1.0, DType::F64), false).is_err());
}

#[test]
fn arange_and_linspace_write_their_dtype_directly() {
    // the values are the float64 ones cast, as before
    assert_eq!(Tensor::arange(-2.5, 2.0, 1.0, DType::I64).unwrap().to_f64_vec(), vec![-2.0, -1.0, 0.0, 0.0, 1.0]);
    assert_eq!(Tensor::arange(0.0, 3.0, 1.0, DType::Bool).unwrap().to_f64_vec(), vec![0.0, 1.0, 1.0]);
    assert_eq!(Tensor::linspace(0.0, 1.0, 3, DType::F32).unwrap().to_f64_vec(), vec![0.0, 0.5, 1.0]);
    assert_eq!(Tensor::linspace(-1e308, 1e308, 1, DType::F64).unwrap().to_f64_vec(), vec![-1e308]);
    assert_value_error(Tensor::arange(0.0, 1.0, 1e-15, DType::F32).unwrap_err(), "arange", &["cannot allocate"]);
    assert_value_error(Tensor::linspace(0.0, 1.0, 1 << 62, DType::F64).unwrap_err(), "linspace", &["too big"]);
}

#[test]
fn tangents_and_cotangents_beside_a_huge_empty_input_are_errors() {
    use lucid_core::functional::{jacobian, JacobianOptions, Strategy};
    // y = cat(x[None, :0], tall) along dim 0: the tangent of `tall` is zeros of
    // [3, 2^62, 0] for 3 seeds, past ndarray's limit (this used to panic in the rule,
    // possibly on a thread of the pool)
    let tall = Tensor::zeros(&[1 << 62, 0], DType::F64);
    let f = |xs: &[Tensor]| Ok(vec![Tensor::cat(&[xs[0].reshape(&[1, 3])?.narrow(1, 0, 0)?, tall.clone()], 0)?]);
    let x = t64(&[1.0, 2.0, 3.0], &[3]);
    let forward = JacobianOptions { strategy: Strategy::ForwardMode, ..JacobianOptions::default() };
    assert_value_error(jacobian(f, std::slice::from_ref(&x), &forward).unwrap_err(), "cat", &["too big to address"]);
    assert_eq!(jacobian(f, std::slice::from_ref(&x), &JacobianOptions::default()).unwrap()[0].shape(), &[0, 3]);
    // the cotangent of a slice of a tall empty tensor scatters into zeros of the seeds'
    // batch × its shape: [2, 2^62, 0] for 2 rows
    let g = |xs: &[Tensor]| {
        let tall = xs[0].reshape(&[3, 1])?.narrow(1, 0, 0)?.narrow(0, 0, 1)?.expand(&[1 << 62, 0])?;
        Ok(vec![tall.narrow(0, 0, 2)?.sum(Some(&[1]), false)?.add(&xs[0].narrow(0, 0, 2)?)?])
    };
    for vectorize in [false, true] {
        let reverse = JacobianOptions { strategy: Strategy::ReverseMode, vectorize, ..JacobianOptions::default() };
        match jacobian(g, std::slice::from_ref(&x), &reverse) {
            Ok(j) => assert_eq!(j[0].to_f64_vec(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            Err(e) => assert!(e.message().contains("too big to address"), "{e:?}"),
        }
    }
}

#[test]
fn where_and_solve_check_their_broadcast_result() {
    // a column and a row broadcast to 10^14 elements (each operand is 40 MB)
    let cond = Tensor::zeros(&[10_000_000, 1], DType::Bool);
    let row = Tensor::zeros(&[1, 10_000_000], DType::F32);
    let err = lucid_core::where_(&cond, &row, &Tensor::scalar(0.0, DType::F32)).unwrap_err();
    assert_value_error(err, "where", &["400000000000000 bytes", "[10000000, 10000000]"]);
    // 10^7 one-by-one systems, each with 10^7 right-hand sides
    let a = Tensor::zeros(&[10_000_000, 1, 1], DType::F32);
    assert_value_error(a.solve(&row).unwrap_err(), "solve", &["400000000000000 bytes", "[10000000, 1, 10000000]"]);
}
