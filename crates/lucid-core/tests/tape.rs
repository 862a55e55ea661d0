//! Tapes (NOTE [tape]): a replay equals the eager call bit for bit, guards re-record
//! when the function would have done something else, and what cannot be replayed is
//! recorded on every call.

mod common;

use common::rand64;
use lucid_core::functional::{self, JacobianOptions, Strategy, Taped};
use lucid_core::{DType, IndexItem, Result, Tensor};

fn bits(t: &Tensor) -> Vec<u64> {
    t.to_f64_vec().iter().map(|v| v.to_bits()).collect()
}

/// The same Jacobian, eagerly and from a tape recorded at `first`, at each point.
fn check_jacobians<F>(f: F, first: &[Tensor], points: &[Vec<Tensor>], records: usize)
where
    F: Fn(&[Tensor]) -> Result<Vec<Tensor>> + Copy,
{
    let taped = Taped::new(f, first).unwrap();
    for strategy in [Strategy::ReverseMode, Strategy::ForwardMode] {
        let opts = JacobianOptions { strategy, ..Default::default() };
        for p in points {
            let want = functional::jacobian(f, p, &opts).unwrap();
            let got = taped.jacobian(p, &opts).unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(bits(g), bits(w));
            }
            let values = taped.call(p).unwrap();
            let eager = f(p).unwrap();
            for (g, w) in values.iter().zip(&eager) {
                assert_eq!(bits(g), bits(w));
            }
        }
    }
    assert_eq!(taped.records(), records);
}

#[test]
fn replay_equals_eager_on_a_straight_line_function() {
    let f = |x: &[Tensor]| {
        let a = x[0].sin()?.mul(&x[1])?;
        let m = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], DType::F64)?;
        Ok(vec![m.matmul(&a)?.exp()?, a.sum(None, false)?])
    };
    let points: Vec<Vec<Tensor>> =
        (0..4).map(|s| vec![rand64(s, &[3], -1.0, 1.0), rand64(s + 10, &[3], -1.0, 1.0)]).collect();
    check_jacobians(f, &points[0], &points, 1);
}

#[test]
fn a_branch_on_a_value_records_once_per_outcome() {
    // `if x.sum() > 0 { x² } else { -x³ }`: the comparison escapes through item()
    let f = |x: &[Tensor]| {
        let positive = x[0].sum(None, false)?.gt(&Tensor::scalar(0.0, DType::F64))?.item()? != 0.0;
        Ok(vec![if positive { x[0].mul(&x[0])? } else { x[0].mul(&x[0])?.mul(&x[0])?.neg()? }])
    };
    let up = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F64).unwrap();
    let down = Tensor::from_vec(vec![-1.0, -2.0], &[2], DType::F64).unwrap();
    let up2 = Tensor::from_vec(vec![3.0, -1.0], &[2], DType::F64).unwrap();
    // up records, down misses and records, up2 and the rest replay (per strategy, twice)
    let first = [up.clone()];
    check_jacobians(f, &first, &[vec![up], vec![down], vec![up2]], 2);
}

#[test]
fn values_the_graph_does_not_differentiate_are_recomputed() {
    // a mask from a comparison, an argmax index, a detached scale, a no_grad block
    let f = |x: &[Tensor]| {
        let x = &x[0];
        let mask = x.gt(&Tensor::scalar(0.0, DType::F64))?;
        let relu = lucid_core::where_(&mask, x, &x.mul_scalar(0.1)?)?;
        let scale = x.abs()?.sum(None, false)?.detach();
        let shift = {
            let _g = lucid_core::autograd::no_grad();
            x.mean(None, false)?
        };
        let top = x.argmax(None, false)?;
        let picked = x.index(&[IndexItem::Tensor(top.reshape_exact(&[1])?)])?;
        Ok(vec![relu.div(&scale)?.add(&shift)?, picked])
    };
    let points: Vec<Vec<Tensor>> = (0..5).map(|s| vec![rand64(s, &[6], -1.0, 1.0)]).collect();
    let taped = Taped::new(f, &points[0]).unwrap();
    let opts = JacobianOptions::default();
    for p in &points {
        let want = functional::jacobian(f, p, &opts).unwrap();
        let got = taped.jacobian(p, &opts).unwrap();
        assert_eq!(bits(&got[0]), bits(&want[0]));
    }
    // the argmax feeds an index: its position is a guard, so a new maximum re-records
    assert!(taped.records() >= 1 && taped.records() <= points.len());
}

#[test]
fn sparse_hessian_and_products_equal_eager() {
    let f = |x: &[Tensor]| {
        let x = &x[0];
        let n = x.shape()[0];
        let d = x.narrow(0, 1, n - 1)?.sub(&x.narrow(0, 0, n - 1)?)?;
        Ok(vec![d.mul(&d)?.sum(None, false)?.add(&x.exp()?.sum(None, false)?)?])
    };
    let x0 = rand64(1, &[7], -1.0, 1.0);
    let taped = Taped::new(f, std::slice::from_ref(&x0)).unwrap();
    let x = rand64(2, &[7], -1.0, 1.0);
    let opts = JacobianOptions::default();
    let h = taped.hessian(std::slice::from_ref(&x), &opts).unwrap();
    let want = functional::hessian(f, std::slice::from_ref(&x), &opts).unwrap();
    assert_eq!(bits(&h[0][0]), bits(&want[0][0]));
    let v = rand64(3, &[7], -1.0, 1.0);
    let w = rand64(4, &[], -1.0, 1.0);
    let (_, jv) = taped.jvp(std::slice::from_ref(&x), std::slice::from_ref(&v), false).unwrap();
    let (_, want_jv) = functional::jvp(f, std::slice::from_ref(&x), std::slice::from_ref(&v), false).unwrap();
    assert_eq!(bits(&jv[0]), bits(&want_jv[0]));
    let (_, vj) = taped.vjp(std::slice::from_ref(&x), std::slice::from_ref(&w), false).unwrap();
    let (_, want_vj) = functional::vjp(f, std::slice::from_ref(&x), std::slice::from_ref(&w), false).unwrap();
    assert_eq!(bits(&vj[0]), bits(&want_vj[0]));
    let g = |x: &[Tensor]| Ok(vec![x[0].narrow(0, 1, 6)?.mul(&x[0].narrow(0, 0, 6)?)?]);
    let tg = Taped::new(g, std::slice::from_ref(&x0)).unwrap();
    let sparse = tg.sparse_jacobian(std::slice::from_ref(&x), &opts).unwrap();
    let dense = functional::jacobian(g, std::slice::from_ref(&x), &opts).unwrap();
    let (m, n) = (6, 7);
    let mut from_sparse = vec![0.0; m * n];
    for r in 0..m {
        for k in sparse[0].indptr[r]..sparse[0].indptr[r + 1] {
            from_sparse[r * n + sparse[0].indices[k]] = sparse[0].data[k];
        }
    }
    assert_eq!(from_sparse, dense[0].to_f64_vec());
}

#[test]
fn new_shapes_record_again_and_random_values_are_frozen() {
    let f = |x: &[Tensor]| Ok(vec![x[0].add(&Tensor::randn(x[0].shape(), DType::F64)?)?]);
    let x = rand64(1, &[3], -1.0, 1.0);
    let taped = Taped::new(f, std::slice::from_ref(&x)).unwrap();
    let first = taped.call(std::slice::from_ref(&x)).unwrap();
    let again = taped.call(std::slice::from_ref(&x)).unwrap();
    assert_eq!(bits(&first[0]), bits(&again[0]), "replay reuses the values drawn while recording");
    assert!(taped_random(&x));
    taped.call(&[rand64(2, &[4], -1.0, 1.0)]).unwrap();
    assert_eq!(taped.records(), 2, "a new input shape records again");
}

fn taped_random(x: &Tensor) -> bool {
    let (tape, _) =
        functional::Tape::record(|x| Ok(vec![x[0].add(&Tensor::rand(&[3], DType::F64)?)?]), std::slice::from_ref(x))
            .unwrap();
    tape.used_random()
}

#[test]
fn writing_into_a_computed_value_is_recorded_on_every_call() {
    let f = |x: &[Tensor]| {
        let y = x[0].mul_scalar(2.0)?.detach();
        let y = y.index_assign(&[IndexItem::Int(0)], &Tensor::scalar(5.0, DType::F64))?;
        Ok(vec![x[0].mul(&y)?])
    };
    let x = rand64(1, &[3], -1.0, 1.0);
    let taped = Taped::new(f, std::slice::from_ref(&x)).unwrap();
    for s in 2..5 {
        let p = rand64(s, &[3], -1.0, 1.0);
        let got = taped.jacobian(std::slice::from_ref(&p), &JacobianOptions::default()).unwrap();
        let want = functional::jacobian(f, std::slice::from_ref(&p), &JacobianOptions::default()).unwrap();
        assert_eq!(bits(&got[0]), bits(&want[0]));
    }
    assert_eq!(taped.records(), 4);
}

#[test]
fn a_failing_function_leaves_no_recording_behind() {
    let bad = |_: &[Tensor]| -> Result<Vec<Tensor>> { Err(lucid_core::Error::argument("f", "no")) };
    assert!(Taped::new(bad, &[rand64(1, &[2], 0.0, 1.0)]).is_err());
    // a later recording on this thread starts cleanly
    let ok = |x: &[Tensor]| Ok(vec![x[0].exp()?]);
    let taped = Taped::new(ok, &[rand64(1, &[2], 0.0, 1.0)]).unwrap();
    assert_eq!(taped.records(), 1);
}

#[test]
fn saved_tapes_replay_as_the_originals_and_many_points_match_single_calls() {
    use lucid_core::functional::TapeCache;
    let f = |x: &[Tensor]| {
        let pos = x[0].gt(&Tensor::scalar(0.0, DType::F64))?;
        Ok(vec![lucid_core::where_(&pos, &x[0].exp()?, &x[0].mul(&x[0])?)?.cumsum(0)?])
    };
    let x0 = rand64(1, &[5], -1.0, 1.0);
    let taped = Taped::new(f, std::slice::from_ref(&x0)).unwrap();
    let points: Vec<Vec<Tensor>> = (0..40).map(|s| vec![rand64(s, &[5], -1.0, 1.0)]).collect();
    let opts = JacobianOptions::default();
    let many = taped.jacobian_many(&points, &opts).unwrap();
    for (j, p) in many.iter().zip(&points) {
        assert_eq!(bits(&j[0]), bits(&functional::jacobian(f, p, &opts).unwrap()[0]));
    }
    assert_eq!(taped.records(), 1);

    let cache = TapeCache::new(4);
    let record = |leaves: &[Tensor]| Ok((f(leaves)?, false));
    cache.graph("tape", &points[0], true, record).unwrap();
    let bytes = cache.to_bytes().unwrap();
    let copy = TapeCache::from_bytes(&bytes, 4).unwrap();
    for p in &points {
        let g = copy.graph("tape", p, true, |_| panic!("a saved tape replays")).unwrap();
        let j = functional::jacobian_from_graph(&g.outputs, &g.leaves, &opts).unwrap();
        assert_eq!(bits(&j[0]), bits(&functional::jacobian(f, p, &opts).unwrap()[0]));
    }
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let error = |b: &[u8]| TapeCache::from_bytes(b, 4).err().map(|e| e.message()).unwrap_or_default();
    assert!(error(&damaged).contains("damaged"));
    assert!(error(&bytes[..bytes.len() / 2]).contains("damaged"));
    assert!(error(b"LUCIDTAP").contains("damaged"));
    assert!(error(b"not a tape").contains("not a saved Lucid tape"));
}
