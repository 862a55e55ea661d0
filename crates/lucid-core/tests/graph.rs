//! Graph semantics of the reverse engine: retain_graph, create_graph, accumulation into
//! leaf `.grad`, grad mode, what `grad` leaves alone, and the errors of misuse.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads best in tests

mod common;

use common::*;
use lucid_core::autograd::{backward, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled, GradOptions};
use lucid_core::{DType, Error, Tensor};

fn cube(x: &Tensor) -> Tensor {
    x.mul(x).unwrap().mul(x).unwrap()
}

fn opts(retain_graph: bool, create_graph: bool, allow_unused: bool) -> GradOptions {
    GradOptions { retain_graph, create_graph, allow_unused }
}

#[test]
fn second_backward_without_retain_graph_is_an_error() {
    // y = exp(x)·x: two non-trivial nodes whose saved tensors the first sweep releases
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.exp().unwrap().mul(&x).unwrap().sum_all().unwrap();
    backward(&[y.clone()], &[], false, false).unwrap();
    let err = backward(&[y.clone()], &[], false, false).unwrap_err();
    assert!(matches!(err, Error::Graph { .. }), "{err:?}");
    assert!(err.message().contains("second time"), "{}", err.message());
    assert!(err.message().contains("retain_graph"), "{}", err.message());
    // grad through the released graph fails the same way, without a panic
    let err = grad(&[y], &[x], &[], opts(false, false, false)).unwrap_err();
    assert!(matches!(err, Error::Graph { .. }), "{err:?}");
}

#[test]
fn retain_graph_allows_repeated_sweeps() {
    // y = Σ x², dy/dx = 2x, the same on every sweep
    let x = leaf(&[1.0, -3.0], &[2]);
    let y = x.mul(&x).unwrap().sum_all().unwrap();
    for _ in 0..3 {
        let g = grad(&[y.clone()], &[x.clone()], &[], opts(true, false, false)).unwrap();
        assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![2.0, -6.0]);
    }
    // the last sweep without retain_graph still works, then the graph is gone
    grad(&[y.clone()], &[x.clone()], &[], opts(false, false, false)).unwrap();
    assert!(grad(&[y], &[x], &[], opts(false, false, false)).is_err());
}

#[test]
fn create_graph_second_and_third_derivative_of_cube() {
    // y = x³: y' = 3x², y'' = 6x, y''' = 6
    let xs = [-1.5, 0.5, 2.0];
    let x = leaf(&xs, &[3]);
    let y = cube(&x).sum_all().unwrap();
    let g1 = grad(&[y], &[x.clone()], &[], opts(true, true, false)).unwrap().remove(0).unwrap();
    assert!(g1.requires_grad(), "create_graph result must be differentiable");
    assert_close(&g1.to_f64_vec(), &xs.map(|v| 3.0 * v * v), 1e-15, "3x²");
    let g2 = grad(&[g1.sum_all().unwrap()], &[x.clone()], &[], opts(true, true, false)).unwrap().remove(0).unwrap();
    assert_close(&g2.to_f64_vec(), &xs.map(|v| 6.0 * v), 1e-15, "6x");
    let g3 = grad(&[g2.sum_all().unwrap()], &[x.clone()], &[], opts(false, false, false)).unwrap().remove(0).unwrap();
    assert_close(&g3.to_f64_vec(), &[6.0; 3], 1e-15, "6");
    assert!(!g3.requires_grad(), "without create_graph the result is detached");
}

#[test]
fn create_graph_false_gives_detached_gradients() {
    let x = leaf(&[2.0], &[1]);
    let g = grad(&[cube(&x).sum_all().unwrap()], &[x], &[], opts(false, false, false)).unwrap();
    let g = g[0].as_ref().unwrap();
    assert!(!g.requires_grad());
    assert!(g.is_leaf());
}

#[test]
fn backward_accumulates_into_leaf_grad() {
    // y = 3x + x² ⇒ dy/dx = 3 + 2x; two backward calls accumulate 2(3 + 2x)
    let x = leaf(&[1.0, 2.0], &[2]);
    let f = || x.mul_scalar(3.0).unwrap().add(&x.mul(&x).unwrap()).unwrap().sum_all().unwrap();
    assert!(x.grad().is_none());
    backward(&[f()], &[], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![5.0, 7.0]);
    backward(&[f()], &[], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![10.0, 14.0]);
    // the accumulated grad is a plain tensor, not part of a graph
    assert!(!x.grad().unwrap().requires_grad());
    // resetting the slot starts over
    x.set_grad(None).unwrap();
    backward(&[f()], &[], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![5.0, 7.0]);
}

#[test]
fn backward_fills_only_leaves() {
    // y = sum(h), h = 2x: x.grad = 2, the intermediate h gets no .grad
    let x = leaf(&[1.0, 2.0], &[2]);
    let h = x.mul_scalar(2.0).unwrap();
    backward(&[h.sum_all().unwrap()], &[], false, false).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![2.0, 2.0]);
    assert!(h.grad().is_none());
}

#[test]
fn backward_with_gradient_seed_and_create_graph() {
    // y = x², seed v: x.grad = 2 x v; with create_graph the grad stays differentiable
    let x = leaf(&[1.0, 3.0], &[2]);
    let y = x.mul(&x).unwrap();
    let v = t64(&[10.0, 100.0], &[2]);
    backward(&[y], &[Some(v)], true, true).unwrap();
    let g = x.grad().unwrap();
    assert_eq!(g.to_f64_vec(), vec![20.0, 600.0]);
    assert!(g.requires_grad(), "backward(create_graph) leaves a differentiable .grad");
    // d/dx Σ (2 x v) = 2 v
    let gg = grad(&[g.sum_all().unwrap()], &[x.clone()], &[], opts(false, false, false)).unwrap();
    assert_eq!(gg[0].as_ref().unwrap().to_f64_vec(), vec![20.0, 200.0]);
}

#[test]
fn grad_does_not_touch_leaf_grad() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.mul(&x).unwrap().sum_all().unwrap();
    let g = grad(&[y.clone()], &[x.clone()], &[], opts(true, false, false)).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![2.0, 4.0]);
    assert!(x.grad().is_none(), "grad must not write .grad");
    // and an existing .grad is left as it was
    x.set_grad(Some(t64(&[7.0, 7.0], &[2]))).unwrap();
    grad(&[y], &[x.clone()], &[], opts(false, false, false)).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![7.0, 7.0]);
}

#[test]
fn no_grad_records_nothing() {
    let x = leaf(&[1.0, 2.0], &[2]);
    {
        let _g = no_grad();
        assert!(!is_grad_enabled());
        let y = x.exp().unwrap().mul(&x).unwrap().sum_all().unwrap();
        assert!(!y.requires_grad());
        assert!(y.is_leaf());
        assert!(y.grad_fn_name().is_none());
        // a sweep from an unrecorded output is a graph error, not a panic
        let err = backward(&[y], &[], false, false).unwrap_err();
        assert!(matches!(err, Error::Graph { .. }));
        assert!(err.message().contains("does not require grad"), "{}", err.message());
        // enable_grad inside no_grad records again
        let _e = enable_grad();
        assert!(x.exp().unwrap().requires_grad());
    }
    assert!(is_grad_enabled(), "the guard restores grad mode");
    assert!(x.exp().unwrap().requires_grad());
    // set_grad_enabled nests and restores
    {
        let _a = set_grad_enabled(false);
        {
            let _b = set_grad_enabled(true);
            assert!(is_grad_enabled());
        }
        assert!(!is_grad_enabled());
    }
    assert!(is_grad_enabled());
}

#[test]
fn ops_on_non_grad_inputs_record_nothing() {
    let a = t64(&[1.0, 2.0], &[2]);
    let b = a.exp().unwrap().add(&a).unwrap();
    assert!(!b.requires_grad());
    assert!(b.is_leaf());
    // integer results never require grad
    let x = leaf(&[1.0, 2.0], &[2]);
    let m = x.gt(&x.scalar_like(1.5)).unwrap();
    assert_eq!(m.dtype(), DType::Bool);
    assert!(!m.requires_grad());
}

#[test]
fn allow_unused_and_unreachable_inputs() {
    // y = Σ a²: b is unused
    let a = leaf(&[1.0, 2.0], &[2]);
    let b = leaf(&[3.0], &[1]);
    let y = a.mul(&a).unwrap().sum_all().unwrap();
    let err = grad(&[y.clone()], &[a.clone(), b.clone()], &[], opts(true, false, false)).unwrap_err();
    assert!(matches!(err, Error::Graph { .. }));
    assert!(err.message().contains("input 1") && err.message().contains("allow_unused"), "{}", err.message());
    let g = grad(&[y], &[a, b], &[], opts(false, false, true)).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![2.0, 4.0]);
    assert!(g[1].is_none());
}

#[test]
fn grad_argument_errors() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = x.mul(&x).unwrap();
    // non-scalar output without grad_outputs
    let err = grad(&[y.clone()], &[x.clone()], &[], opts(true, false, false)).unwrap_err();
    assert!(matches!(err, Error::Graph { .. }));
    assert!(err.message().contains("one-element") && err.message().contains("[2]"), "{}", err.message());
    // grad_outputs of the wrong shape
    let err = grad(&[y.clone()], &[x.clone()], &[Some(t64(&[1.0; 3], &[3]))], opts(true, false, false)).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }));
    assert!(err.message().contains("[3]") && err.message().contains("[2]"), "{}", err.message());
    // wrong number of grad_outputs
    let err = grad(&[y.clone()], &[x.clone()], &[None, None], opts(true, false, false)).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }));
    // an input that does not require grad
    let c = t64(&[1.0], &[1]);
    let err = grad(&[y.sum_all().unwrap()], &[c], &[], opts(true, false, false)).unwrap_err();
    assert!(matches!(err, Error::Graph { .. }));
    assert!(err.message().contains("does not require grad"));
    // grad_outputs of another float dtype are converted
    let g = grad(&[y], &[x], &[Some(Tensor::ones(&[2], DType::F32))], opts(false, false, false)).unwrap();
    assert_eq!(g[0].as_ref().unwrap().dtype(), DType::F64);
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![2.0, 4.0]);
}

#[test]
fn grad_with_respect_to_an_intermediate() {
    // y = h², h = 3x: dy/dh = 2h = 6x
    let x = leaf(&[1.0, 2.0], &[2]);
    let h = x.mul_scalar(3.0).unwrap();
    let y = h.mul(&h).unwrap().sum_all().unwrap();
    let g = grad(&[y], &[h, x], &[], opts(false, false, false)).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![6.0, 12.0]);
    // and dy/dx = 18x
    assert_eq!(g[1].as_ref().unwrap().to_f64_vec(), vec![18.0, 36.0]);
}

#[test]
fn requires_grad_flags() {
    let i = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::I64).unwrap();
    let err = i.set_requires_grad(true).unwrap_err();
    assert!(matches!(err, Error::DType { .. }));
    assert!(err.message().contains("int64"));
    let x = leaf(&[1.0], &[1]);
    let y = x.exp().unwrap();
    assert!(!y.is_leaf());
    assert!(matches!(y.set_requires_grad(false).unwrap_err(), Error::Graph { .. }));
    assert!(y.detach().is_leaf() && !y.detach().requires_grad());
    // set_grad checks shape and dtype
    assert!(matches!(x.set_grad(Some(t64(&[1.0, 2.0], &[2]))).unwrap_err(), Error::Shape { .. }));
    assert!(matches!(x.set_grad(Some(Tensor::ones(&[1], DType::F32))).unwrap_err(), Error::DType { .. }));
}

#[test]
fn multiple_outputs_and_shared_subgraphs() {
    // outputs y1 = Σ x², y2 = Σ 3x share x: grad of both with weights (1, 2) = 2x + 6
    let x = leaf(&[1.0, -1.0], &[2]);
    let y1 = x.mul(&x).unwrap().sum_all().unwrap();
    let y2 = x.mul_scalar(3.0).unwrap().sum_all().unwrap();
    let w = Some(Tensor::scalar(2.0, DType::F64));
    let g = grad(&[y1, y2], &[x], &[None, w], opts(false, false, false)).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec(), vec![8.0, 4.0]);
}

#[test]
fn gradcheck_helper_detects_a_wrong_derivative() {
    // f(x) = x · detach(x): the true derivative is 2x, the graph only knows x.
    let f = |x: &[Tensor]| Ok(vec![x[0].mul(&x[0].detach())?]);
    let r = std::panic::catch_unwind(|| gradcheck("wrong", &f, &[rand64(1, &[3], 0.5, 1.0)]));
    assert!(r.is_err(), "gradcheck must reject a function whose graph hides a dependency");
}
