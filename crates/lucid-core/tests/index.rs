//! Shape, indexing and random-constructor ops: forward values, hand-derived first and
//! second derivatives, batched Jacobians, error kinds, and the generator's exact bits.

use lucid_core::autograd::{grad, GradOptions};
use lucid_core::functional::{hessian, jacobian, JacobianOptions};
use lucid_core::ops::random::{manual_seed, portable_ln, Generator};
use lucid_core::{DType, Error, IndexItem, Tensor};

fn t(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, DType::F64).unwrap()
}

fn idx(values: &[i64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.iter().map(|&v| v as f64).collect(), shape, DType::I64).unwrap()
}

fn leaf(values: &[f64], shape: &[usize]) -> Tensor {
    let x = t(values, shape);
    x.set_requires_grad(true).unwrap();
    x
}

fn grad1(y: &Tensor, x: &Tensor, create_graph: bool) -> Tensor {
    let opts = GradOptions { retain_graph: true, create_graph, allow_unused: false };
    grad(std::slice::from_ref(y), std::slice::from_ref(x), &[], opts).unwrap().remove(0).unwrap()
}

fn is_index_error<T: std::fmt::Debug>(r: lucid_core::Result<T>, fragment: &str) {
    match r {
        Err(Error::Index { msg, .. }) => assert!(msg.contains(fragment), "message {msg:?} lacks {fragment:?}"),
        other => panic!("expected an index error, got {other:?}"),
    }
}

// ---- gather / scatter -----------------------------------------------------------------

#[test]
fn gather_forward_and_gradient_counts_repeats() {
    // y = sum(gather(x, 1, [[0, 0], [1, 0]])) reads x00 twice, x11 and x10 once:
    // dy/dx = [[2, 0], [1, 1]]
    let x = leaf(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let g = x.gather(1, &idx(&[0, 0, 1, 0], &[2, 2])).unwrap();
    assert_eq!(g.to_f64_vec(), vec![1.0, 1.0, 4.0, 3.0]);
    let dx = grad1(&g.sum_all().unwrap(), &x, false);
    assert_eq!(dx.to_f64_vec(), vec![2.0, 0.0, 1.0, 1.0]);
}

#[test]
fn gather_second_derivative_through_scatter_add() {
    // y = sum(gather(x, 0, [1, 1, 0])²) = 2 x1² + x0²: dy/dx = (2 x0, 4 x1),
    // d²y/dx² = diag(2, 4)
    let x = leaf(&[3.0, 5.0], &[2]);
    let y = x.gather(0, &idx(&[1, 1, 0], &[3])).unwrap().square().unwrap().sum_all().unwrap();
    let dx = grad1(&y, &x, true);
    assert_eq!(dx.to_f64_vec(), vec![6.0, 20.0]);
    assert_eq!(dx.grad_fn_name(), Some("scatter_add"));
    let h = hessian(
        |xs| Ok(vec![xs[0].gather(0, &idx(&[1, 1, 0], &[3]))?.square()?.sum_all()?]),
        &[x.detach()],
        &JacobianOptions::default(),
    )
    .unwrap();
    assert_eq!(h[0][0].to_f64_vec(), vec![2.0, 0.0, 0.0, 4.0]);
}

#[test]
fn scatter_add_adds_repeats_and_differentiates_both_inputs() {
    // out = x + scatter_add(0, [0, 0, 2], s): out0 = x0 + s0 + s1, out2 = x2 + s2
    let x = leaf(&[1.0, 1.0, 1.0], &[3]);
    let s = leaf(&[10.0, 20.0, 30.0], &[3]);
    let out = x.scatter_add(0, &idx(&[0, 0, 2], &[3]), &s).unwrap();
    assert_eq!(out.to_f64_vec(), vec![31.0, 1.0, 31.0]);
    // d sum(w·out)/ds_k = w[index[k]] with w = (1, 2, 3)
    let w = t(&[1.0, 2.0, 3.0], &[3]);
    let y = out.mul(&w).unwrap().sum_all().unwrap();
    assert_eq!(grad1(&y, &s, false).to_f64_vec(), vec![1.0, 1.0, 3.0]);
    assert_eq!(grad1(&y, &x, false).to_f64_vec(), vec![1.0, 2.0, 3.0]);
}

#[test]
fn scatter_last_write_wins_and_only_the_winner_gets_gradient() {
    // index [1, 1]: s1 overwrites s0 at position 1, so d out1 / d s = (0, 1)
    let x = leaf(&[0.0, 0.0, 0.0], &[3]);
    let s = leaf(&[5.0, 7.0], &[2]);
    let out = x.scatter(0, &idx(&[1, 1], &[2]), &s).unwrap();
    assert_eq!(out.to_f64_vec(), vec![0.0, 7.0, 0.0]);
    let y = out.sum_all().unwrap();
    assert_eq!(grad1(&y, &s, false).to_f64_vec(), vec![0.0, 1.0]);
    // the overwritten position passes no gradient to x
    assert_eq!(grad1(&y, &x, false).to_f64_vec(), vec![1.0, 0.0, 1.0]);
}

#[test]
fn scatter_uses_only_the_index_block_of_a_larger_src() {
    let x = t(&[0.0; 4], &[2, 2]);
    let s = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    // index [[1], [0]] along dim 1 with src[:, :1]: out[0,1] = 1, out[1,0] = 4
    let out = x.scatter(1, &idx(&[1, 0], &[2, 1]), &s).unwrap();
    assert_eq!(out.to_f64_vec(), vec![0.0, 1.0, 4.0, 0.0]);
}

#[test]
fn index_select_picks_rows_in_order() {
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let y = x.index_select(0, &idx(&[2, 0, 2], &[3])).unwrap();
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(y.to_f64_vec(), vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0]);
    is_index_error(x.index_select(0, &idx(&[3], &[1])), "index 3 is out of bounds for dim 0 with size 3");
}

#[test]
fn gather_rejects_bad_indices() {
    let x = t(&[1.0, 2.0, 3.0], &[3]);
    is_index_error(x.gather(0, &idx(&[3], &[1])), "index 3 is out of bounds for dim 0 with size 3");
    is_index_error(x.gather(0, &idx(&[-1], &[1])), "index -1");
    assert!(matches!(x.gather(0, &t(&[0.0], &[1])), Err(Error::DType { .. })));
    assert!(matches!(x.gather(0, &idx(&[0], &[1, 1])), Err(Error::Shape { .. })));
}

// ---- advanced indexing ----------------------------------------------------------------

#[test]
fn advanced_index_with_negative_values_and_slices() {
    // x[:, [-1, 0]] on a 2×3 matrix
    let x = t(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]);
    let y = x.index(&[IndexItem::full(), IndexItem::Tensor(idx(&[-1, 0], &[2]))]).unwrap();
    assert_eq!(y.shape(), &[2, 2]);
    assert_eq!(y.to_f64_vec(), vec![2.0, 0.0, 5.0, 3.0]);
}

#[test]
fn separated_advanced_indices_go_first() {
    // NumPy: x[[0, 1], :, [1, 0]] on a 2×3×2 tensor has shape (2, 3)
    let x = t(&(0..12).map(|v| v as f64).collect::<Vec<_>>(), &[2, 3, 2]);
    let y = x
        .index(&[IndexItem::Tensor(idx(&[0, 1], &[2])), IndexItem::full(), IndexItem::Tensor(idx(&[1, 0], &[2]))])
        .unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(y.to_f64_vec(), vec![1.0, 3.0, 5.0, 6.0, 8.0, 10.0]);
}

#[test]
fn broadcast_adjacent_index_tensors() {
    // x[rows[:, None], cols] picks a 2×2 block: rows (0, 2), cols (1, 0)
    let x = t(&(0..9).map(|v| v as f64).collect::<Vec<_>>(), &[3, 3]);
    let y = x.index(&[IndexItem::Tensor(idx(&[0, 2], &[2, 1])), IndexItem::Tensor(idx(&[1, 0], &[2]))]).unwrap();
    assert_eq!(y.shape(), &[2, 2]);
    assert_eq!(y.to_f64_vec(), vec![1.0, 0.0, 7.0, 6.0]);
    let bad = x.index(&[IndexItem::Tensor(idx(&[0, 2], &[2])), IndexItem::Tensor(idx(&[1, 0, 1], &[3]))]);
    is_index_error(bad, "could not be broadcast");
}

#[test]
fn mask_over_leading_dims_and_its_gradient() {
    // x[mask] with a mask over the first dim keeps rows 0 and 2; the gradient of the
    // sum is 1 on kept rows, 0 on the dropped one
    let x = leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let mask = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3], DType::Bool).unwrap();
    let y = x.index(&[IndexItem::Tensor(mask)]).unwrap();
    assert_eq!(y.shape(), &[2, 2]);
    assert_eq!(y.to_f64_vec(), vec![1.0, 2.0, 5.0, 6.0]);
    let dx = grad1(&y.sum_all().unwrap(), &x, false);
    assert_eq!(dx.to_f64_vec(), vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    let wrong = Tensor::from_vec(vec![1.0, 0.0], &[2], DType::Bool).unwrap();
    is_index_error(x.index(&[IndexItem::Tensor(wrong)]), "does not match");
}

#[test]
fn out_of_range_index_tensor_names_index_and_size() {
    let x = t(&[1.0, 2.0, 3.0], &[3]);
    is_index_error(x.index(&[IndexItem::Tensor(idx(&[0, 3], &[2]))]), "index 3 is out of bounds for dim 0 with size 3");
    is_index_error(x.index(&[IndexItem::Tensor(idx(&[-4], &[1]))]), "index -4 is out of bounds for dim 0 with size 3");
}

#[test]
fn batched_jacobian_of_advanced_index_equals_row_sweeps() {
    // y = x[[2, 0, 2]] * x[[1, 1, 0]]: a Jacobian with repeated reads
    let f = |xs: &[Tensor]| -> lucid_core::Result<Vec<Tensor>> {
        let a = xs[0].index(&[IndexItem::Tensor(idx(&[2, 0, 2], &[3]))])?;
        let b = xs[0].index(&[IndexItem::Tensor(idx(&[1, 1, 0], &[3]))])?;
        Ok(vec![a.mul(&b)?])
    };
    let x = t(&[1.0, 2.0, 3.0], &[3]);
    let rows = jacobian(f, std::slice::from_ref(&x), &JacobianOptions::default()).unwrap();
    let batched = jacobian(f, &[x], &JacobianOptions { vectorize: true, ..Default::default() }).unwrap();
    // row 0: x2·x1 → (0, x2, x1) = (0, 3, 2); row 1: x0·x1 → (2, 1, 0); row 2: x2·x0 → (3, 0, 1)
    assert_eq!(rows[0].to_f64_vec(), vec![0.0, 3.0, 2.0, 2.0, 1.0, 0.0, 3.0, 0.0, 1.0]);
    assert_eq!(batched[0].to_f64_vec(), rows[0].to_f64_vec());
}

#[test]
fn index_put_accumulates_or_overwrites() {
    let x = leaf(&[0.0, 0.0, 0.0], &[3]);
    let v = leaf(&[1.0, 2.0], &[2]);
    let items = [IndexItem::Tensor(idx(&[2, 2], &[2]))];
    let acc = x.index_put(&items, &v, true).unwrap();
    assert_eq!(acc.to_f64_vec(), vec![0.0, 0.0, 3.0]);
    let over = x.index_put(&items, &v, false).unwrap();
    assert_eq!(over.to_f64_vec(), vec![0.0, 0.0, 2.0]);
    // accumulate: d out2 / dv = (1, 1); overwrite: only the last write, (0, 1)
    assert_eq!(grad1(&acc.sum_all().unwrap(), &v, false).to_f64_vec(), vec![1.0, 1.0]);
    assert_eq!(grad1(&over.sum_all().unwrap(), &v, false).to_f64_vec(), vec![0.0, 1.0]);
}

#[test]
fn index_assign_with_mask_leaves_the_rest() {
    let x = t(&[1.0, -2.0, 3.0, -4.0], &[4]);
    let mask = x.lt(&x.scalar_like(0.0)).unwrap();
    let y = x.index_assign(&[IndexItem::Tensor(mask)], &Tensor::scalar(0.0, DType::F64)).unwrap();
    assert_eq!(y.to_f64_vec(), vec![1.0, 0.0, 3.0, 0.0]);
}

// ---- shape ops ------------------------------------------------------------------------

#[test]
fn flip_reverses_and_its_gradient_flips_back() {
    // y = sum(w · flip(x)) ⇒ dy/dx = flip(w)
    let x = leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let y = x.flip(&[0, -1]).unwrap();
    assert_eq!(y.to_f64_vec(), vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
    let w = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let dx = grad1(&y.mul(&w).unwrap().sum_all().unwrap(), &x, false);
    assert_eq!(dx.to_f64_vec(), vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
}

#[test]
fn roll_shifts_cyclically_along_dims_and_flat() {
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(x.roll(&[1], &[1]).unwrap().to_f64_vec(), vec![3.0, 1.0, 2.0, 6.0, 4.0, 5.0]);
    assert_eq!(x.roll(&[-1, 1], &[1, 0]).unwrap().to_f64_vec(), vec![5.0, 6.0, 4.0, 2.0, 3.0, 1.0]);
    assert_eq!(x.roll(&[2], &[]).unwrap().to_f64_vec(), vec![5.0, 6.0, 1.0, 2.0, 3.0, 4.0]);
    assert!(matches!(x.roll(&[1, 2], &[0]), Err(Error::Argument { .. })));
}

#[test]
fn repeat_and_tile_sum_their_copies_in_the_gradient() {
    // y = sum(repeat(x, (2, 3))) holds every x_i six times: dy/dx = 6
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.repeat(&[2, 3]).unwrap();
    assert_eq!(y.shape(), &[2, 6]);
    assert_eq!(y.to_f64_vec()[..6], [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    assert_eq!(grad1(&y.sum_all().unwrap(), &x, false).to_f64_vec(), vec![6.0, 6.0]);
    let m = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    assert_eq!(m.tile(&[2]).unwrap().shape(), &[2, 4]);
    assert!(matches!(m.repeat(&[2]), Err(Error::Shape { .. })));
}

#[test]
fn split_and_chunk_follow_pytorch_piece_sizes() {
    let x = t(&(0..7).map(|v| v as f64).collect::<Vec<_>>(), &[7]);
    let sizes = |ps: Vec<Tensor>| ps.iter().map(|p| p.shape()[0]).collect::<Vec<_>>();
    assert_eq!(sizes(x.split(3, 0).unwrap()), vec![3, 3, 1]);
    assert_eq!(sizes(x.split_sizes(&[2, 5], 0).unwrap()), vec![2, 5]);
    assert_eq!(sizes(x.chunk(3, 0).unwrap()), vec![3, 3, 1]);
    // 6 entries in 4 chunks: size ceil(6/4) = 2, so only 3 pieces
    let y = t(&[0.0; 6], &[6]);
    assert_eq!(sizes(y.chunk(4, 0).unwrap()), vec![2, 2, 2]);
    assert_eq!(x.split(3, 0).unwrap()[2].to_f64_vec(), vec![6.0]);
    assert!(matches!(x.split_sizes(&[2, 2], 0), Err(Error::Argument { .. })));
    assert!(matches!(x.chunk(0, 0), Err(Error::Argument { .. })));
}

// ---- random ---------------------------------------------------------------------------

#[test]
fn xoshiro256pp_matches_the_reference_output() {
    // Reference values of xoshiro256++ from state (1, 2, 3, 4) (Vigna's C code;
    // the first is rotl(1 + 4, 23) + 1 = 41943041).
    let mut g = Generator::from_state([1, 2, 3, 4]).unwrap();
    let got: Vec<u64> = (0..4).map(|_| g.next_u64()).collect();
    assert_eq!(got, vec![41_943_041, 58_720_359, 3_588_806_011_781_223, 3_591_011_842_654_386]);
    assert!(Generator::from_state([0; 4]).is_err());
}

#[test]
fn portable_ln_agrees_with_libm() {
    // 0.7071 is deliberately not 1/√2: it sits just below √½, so its mantissa lands just
    // below the √2 bound of portable_ln's range reduction (1/√2 itself is the bound).
    #[allow(clippy::approx_constant)]
    let points = [1e-300, 5e-324, 0.001, 0.3, 0.5, 0.7071, 1.0, 1.5, 2.0, 10.0, 12345.678];
    for &x in &points {
        let (a, b) = (portable_ln(x), x.ln());
        assert!((a - b).abs() <= 2.0 * f64::EPSILON * b.abs().max(1.0), "ln({x}): {a} vs {b}");
    }
}

#[test]
fn random_constructors_repeat_after_reseeding_and_differ_across_seeds() {
    manual_seed(123);
    let a = Tensor::randn(&[5], DType::F64).unwrap().to_f64_vec();
    let b = Tensor::rand(&[3], DType::F32).unwrap().to_f64_vec();
    let c = Tensor::randint(-3, 4, &[6], DType::I64).unwrap().to_f64_vec();
    manual_seed(123);
    assert_eq!(Tensor::randn(&[5], DType::F64).unwrap().to_f64_vec(), a);
    assert_eq!(Tensor::rand(&[3], DType::F32).unwrap().to_f64_vec(), b);
    assert_eq!(Tensor::randint(-3, 4, &[6], DType::I64).unwrap().to_f64_vec(), c);
    assert!(c.iter().all(|&v| (-3.0..4.0).contains(&v) && v.fract() == 0.0));
    assert!(b.iter().all(|&v| (0.0..1.0).contains(&v)));
    manual_seed(124);
    assert_ne!(Tensor::randn(&[5], DType::F64).unwrap().to_f64_vec(), a);
    assert!(matches!(Tensor::randint(2, 2, &[1], DType::I64), Err(Error::Argument { .. })));
    assert!(matches!(Tensor::rand(&[1], DType::I64), Err(Error::DType { .. })));
}
