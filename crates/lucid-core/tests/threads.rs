//! Thread safety: tensors are `Send + Sync`, grad mode is per thread, and several
//! threads can compute Jacobians at the same time (sharing input tensors).

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::*;
use lucid_core::autograd::{is_grad_enabled, no_grad};
use lucid_core::functional::{jacobian, JacobianOptions};
use lucid_core::{Result, Tensor};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn tensor_is_send_and_sync() {
    assert_send_sync::<Tensor>();
    assert_send_sync::<lucid_core::Error>();
}

/// f(W, x) = tanh(W x): J_x = diag(1 - tanh²(Wx)) W
fn mlp(v: &[Tensor]) -> Result<Vec<Tensor>> {
    Ok(vec![v[0].matmul(&v[1])?.tanh()?])
}

fn expected_jx(w: &Tensor, x: &Tensor) -> Vec<f64> {
    let (wv, xv) = (w.to_f64_vec(), x.to_f64_vec());
    let (m, n) = (w.shape()[0], w.shape()[1]);
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        let z: f64 = (0..n).map(|j| wv[i * n + j] * xv[j]).sum();
        let d = 1.0 - z.tanh().powi(2);
        for j in 0..n {
            out[i * n + j] = d * wv[i * n + j];
        }
    }
    out
}

#[test]
fn two_threads_compute_jacobians_at_once() {
    let w = rand64(1, &[16, 8], -0.5, 0.5);
    let start = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (w, start) = (w.clone(), start.clone());
            thread::spawn(move || {
                let x = rand64(10 + t, &[8], -1.0, 1.0);
                let want = expected_jx(&w, &x);
                start.wait();
                for round in 0..20 {
                    let opts = JacobianOptions { vectorize: round % 2 == 0, ..Default::default() };
                    let j = jacobian(mlp, &[w.clone(), x.clone()], &opts).unwrap();
                    assert_eq!(j[1].shape(), &[16, 8]);
                    assert_close(&j[1].to_f64_vec(), &want, 1e-14, &format!("thread {t} round {round}"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a Jacobian thread panicked");
    }
    // the shared weight tensor was not mutated
    assert!(!w.requires_grad());
    assert!(w.grad().is_none());
}

#[test]
fn grad_mode_is_per_thread() {
    let _g = no_grad();
    assert!(!is_grad_enabled());
    let other = thread::spawn(|| {
        // a new thread starts with grad on, whatever this thread does
        let x = leaf(&[1.0], &[1]);
        (is_grad_enabled(), x.exp().unwrap().requires_grad())
    })
    .join()
    .unwrap();
    assert_eq!(other, (true, true));
    assert!(!is_grad_enabled());
}
