//! Batched replay (NOTE [batched replay] in `functional/batch.rs`): one replay over a
//! batch equals the per-sample replays, per-sample Jacobians come out of the one batched
//! graph, a guard that differs between samples gives `None`, and the W2 MLP and the
//! per-sample loss run without a per-sample fallback.

mod common;

use common::{sample, t64};
use lucid_core::functional::{jacobian, JacobianOptions, Level, Tape, TapeCache, Taped};
use lucid_core::{DType, Result, Tensor};

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} != {y}");
    }
}

/// The W2 MLP `W2 tanh(W1 x + b1) + b2`, 5 -> 7 -> 3, the weights closed over.
fn mlp(x: &[Tensor]) -> Result<Vec<Tensor>> {
    let w1 = t64(&sample(1, 35, -1.0, 1.0), &[7, 5]);
    let b1 = t64(&sample(2, 7, -1.0, 1.0), &[7]);
    let w2 = t64(&sample(3, 21, -1.0, 1.0), &[3, 7]);
    let b2 = t64(&sample(4, 3, -1.0, 1.0), &[3]);
    Ok(vec![w2.matmul(&w1.matmul(&x[0])?.add(&b1)?.tanh()?)?.add(&b2)?])
}

#[test]
fn mlp_batched_values_and_jacobians_equal_per_sample_ones() {
    let xs = t64(&sample(5, 20, -1.0, 1.0), &[4, 5]);
    let taped = Taped::new(mlp, &[xs.select(0, 0).unwrap()]).unwrap();
    let ys = taped.call_batched(std::slice::from_ref(&xs), &[true]).unwrap();
    assert_eq!(ys[0].shape(), &[4, 3]);
    for forward in [false, true] {
        let j = taped.jacobian_per_sample(std::slice::from_ref(&xs), forward).unwrap().unwrap();
        assert_eq!(j[0][0].shape(), &[4, 3, 5]);
        for b in 0..4 {
            let x = xs.select(0, b).unwrap();
            close(&ys[0].select(0, b).unwrap().to_f64_vec(), &mlp(std::slice::from_ref(&x)).unwrap()[0].to_f64_vec());
            // J = W2 diag(1 - h²) W1, against the engine's own Jacobian of one sample
            let want = jacobian(mlp, &[x], &JacobianOptions::default()).unwrap();
            close(&j[0][0].select(0, b).unwrap().to_f64_vec(), &want[0].to_f64_vec());
        }
    }
}

#[test]
fn per_sample_gradients_of_a_shared_weight_need_no_fallback() {
    // loss(w, x) = Σ (tanh(w x))², ∂/∂w = 2 tanh(w x)(1 - tanh²(w x)) xᵀ
    let loss = |a: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![a[0].matmul(&a[1])?.tanh()?.square()?.sum_all()?]) };
    let w = t64(&sample(6, 6, -1.0, 1.0), &[2, 3]);
    let xs = t64(&sample(7, 15, -1.0, 1.0), &[5, 3]);
    let cache = TapeCache::new(1);
    cache.graph("tape", &[w.clone(), xs.select(0, 0).unwrap()], false, |a| Ok((loss(a)?, false))).unwrap();
    let wb = w.unsqueeze(0).unwrap().expand(&[5, 2, 3]).unwrap();
    let (g, fallbacks) =
        cache.per_sample(&[wb, xs.clone()], &[true, true], &[Level::Grad], 1, None, false).unwrap().unwrap();
    assert!(fallbacks.is_empty(), "ran per sample: {fallbacks:?}");
    assert_eq!(g[0].shape(), &[5, 2, 3]);
    let (wv, xv) = (w.to_f64_vec(), xs.to_f64_vec());
    for b in 0..5 {
        let x = &xv[3 * b..3 * b + 3];
        let mut want = vec![0.0; 6];
        for i in 0..2 {
            let t = (0..3).map(|k| wv[3 * i + k] * x[k]).sum::<f64>().tanh();
            for k in 0..3 {
                want[3 * i + k] = 2.0 * t * (1.0 - t * t) * x[k];
            }
        }
        close(&g[0].select(0, b as isize).unwrap().to_f64_vec(), &want);
    }
}

#[test]
fn a_guard_that_differs_between_samples_gives_none() {
    let f = |x: &[Tensor]| -> Result<Vec<Tensor>> {
        // the function looks at `sum(x) > 0`: a guard on that bool
        let positive = x[0].sum_all()?.gt(&Tensor::zeros(&[], DType::F64))?;
        lucid_core::functional::note_escape(&positive);
        Ok(vec![if positive.item()? > 0.0 { x[0].sin()? } else { x[0].cos()? }])
    };
    let (tape, _) = Tape::record(f, &[t64(&[1.0, 2.0], &[2])]).unwrap();
    let same = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let mixed = t64(&[1.0, 2.0, -3.0, -4.0], &[2, 2]);
    assert!(tape.replay_batched("vmap", &[same], &[true], false).unwrap().is_some());
    assert!(tape.replay_batched("vmap", std::slice::from_ref(&mixed), &[true], false).unwrap().is_none());
    // the Taped face falls back to one call per sample and stays right
    let taped = Taped::new(f, &[t64(&[1.0, 2.0], &[2])]).unwrap();
    let y = taped.call_batched(&[mixed], &[true]).unwrap();
    close(&y[0].to_f64_vec(), &[1f64.sin(), 2f64.sin(), (-3f64).cos(), (-4f64).cos()]);
}

#[test]
fn shared_inputs_broadcast_and_ops_without_rules_run_per_sample() {
    // x (3,) per sample plus a shared (2, 3) matrix: the batched operand has lower rank
    let f = |a: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![a[0].mul(&a[1])?.sum(Some(&[1]), false)?]) };
    let m = t64(&sample(8, 6, -1.0, 1.0), &[2, 3]);
    let xs = t64(&sample(9, 12, -1.0, 1.0), &[4, 3]);
    let (tape, _) = Tape::record(f, &[xs.select(0, 0).unwrap(), m.clone()]).unwrap();
    let b = tape.replay_batched("vmap", &[xs.clone(), m.clone()], &[true, false], false).unwrap().unwrap();
    assert!(b.fallbacks.is_empty());
    for s in 0..4 {
        let want = f(&[xs.select(0, s).unwrap(), m.clone()]).unwrap();
        close(&b.graph.outputs[0].select(0, s).unwrap().to_f64_vec(), &want[0].to_f64_vec());
    }
    // advanced indexing reads flat positions of the trailing dims: the batch rides along
    let idx = Tensor::from_vec(vec![2.0, 0.0], &[2], DType::I64).unwrap();
    let g = move |a: &[Tensor]| -> Result<Vec<Tensor>> {
        Ok(vec![a[0].index(&[lucid_core::IndexItem::Tensor(idx.clone())])?.exp()?])
    };
    let (tape, _) = Tape::record(g, &[xs.select(0, 0).unwrap()]).unwrap();
    let b = tape.replay_batched("vmap", std::slice::from_ref(&xs), &[true], false).unwrap().unwrap();
    assert!(b.fallbacks.is_empty(), "ran per sample: {:?}", b.fallbacks);
    let v = xs.to_f64_vec();
    close(
        &b.graph.outputs[0].to_f64_vec(),
        &(0..4).flat_map(|s| [v[3 * s + 2].exp(), v[3 * s].exp()]).collect::<Vec<_>>(),
    );
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let (tape, _) = Tape::record(|x| Ok(vec![x[0].exp()?]), &[t64(&[1.0], &[1])]).unwrap();
    assert!(tape.replay_batched("vmap", &[t64(&[1.0], &[1, 1])], &[], false).is_err());
    assert!(tape.replay_batched("vmap", &[t64(&[1.0], &[1])], &[false], false).is_err());
    // shapes that do not fit the recording: no replay
    assert!(tape.replay_batched("vmap", &[t64(&[1.0, 2.0], &[1, 2])], &[true], false).unwrap().is_none());
}
