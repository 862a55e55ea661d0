//! Test helpers: float64 tensors from seeds, and a gradcheck comparing the engine's
//! Jacobians (row sweeps through `autograd::grad`, and `functional::jacobian` looped,
//! vectorized and chunked) with central differences.

#![allow(dead_code)]

use lucid_core::autograd::{grad, GradOptions};
use lucid_core::functional::{jacobian, JacobianOptions};
use lucid_core::{DType, Result, Tensor};

/// A function under test: tensors in, tensors out.
pub type Func<'a> = &'a dyn Fn(&[Tensor]) -> Result<Vec<Tensor>>;

/// A float64 tensor from row-major values.
pub fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, DType::F64).expect("test tensor")
}

/// A float64 leaf that requires grad.
pub fn leaf(values: &[f64], shape: &[usize]) -> Tensor {
    let t = t64(values, shape);
    t.set_requires_grad(true).expect("float leaf");
    t
}

/// Deterministic values in `[lo, hi)` (a small LCG: tests must not depend on a crate).
pub fn sample(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            lo + (hi - lo) * u
        })
        .collect()
}

/// A float64 tensor of `shape` with values from [`sample`].
pub fn rand64(seed: u64, shape: &[usize], lo: f64, hi: f64) -> Tensor {
    let n: usize = shape.iter().product();
    t64(&sample(seed, n, lo, hi), shape)
}

pub fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length {} vs {}", got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: entry {k}: got {g}, want {w} (tol {tol})\n got  {got:?}\n want {want:?}"
        );
    }
}

/// All outputs of `f` at `inputs`, flattened and concatenated (no graph).
fn flat_outputs(f: Func<'_>, inputs: &[Tensor]) -> Vec<f64> {
    let _g = lucid_core::autograd::no_grad();
    f(inputs).expect("forward").iter().flat_map(|o| o.to_f64_vec()).collect()
}

/// Central-difference Jacobian blocks, one `m × n_j` row-major matrix per input.
pub fn numeric_jacobian(f: Func<'_>, inputs: &[Tensor], eps: f64) -> Vec<Vec<f64>> {
    let m = flat_outputs(f, inputs).len();
    inputs
        .iter()
        .enumerate()
        .map(|(j, x)| {
            let base = x.to_f64_vec();
            let n = base.len();
            let mut block = vec![0.0; m * n];
            for k in 0..n {
                let shifted = |d: f64| {
                    let mut v = base.clone();
                    v[k] += d;
                    let mut args: Vec<Tensor> = inputs.to_vec();
                    args[j] = Tensor::from_vec(v, x.shape(), x.dtype()).expect("shift");
                    flat_outputs(f, &args)
                };
                let (p, q) = (shifted(eps), shifted(-eps));
                for r in 0..m {
                    block[r * n + k] = (p[r] - q[r]) / (2.0 * eps);
                }
            }
            block
        })
        .collect()
}

/// The Jacobian row by row through `autograd::grad` with one-hot `grad_outputs`,
/// recording `f` once and sweeping with `retain_graph`.
pub fn grad_jacobian(f: Func<'_>, inputs: &[Tensor]) -> Vec<Vec<f64>> {
    let leaves: Vec<Tensor> = inputs.iter().map(|x| x.leaf_requiring_grad().unwrap()).collect();
    let outs = f(&leaves).expect("forward");
    let sizes: Vec<usize> = outs.iter().map(Tensor::numel).collect();
    let m: usize = sizes.iter().sum();
    let mut blocks: Vec<Vec<f64>> = leaves.iter().map(|x| vec![0.0; m * x.numel()]).collect();
    let mut row = 0;
    for (i, o) in outs.iter().enumerate() {
        for e in 0..sizes[i] {
            if o.requires_grad() {
                let gos: Vec<Option<Tensor>> = outs
                    .iter()
                    .enumerate()
                    .map(|(k, ok)| {
                        let mut v = vec![0.0; ok.numel()];
                        if k == i {
                            v[e] = 1.0;
                        }
                        Some(Tensor::from_vec(v, ok.shape(), ok.dtype()).unwrap())
                    })
                    .collect();
                // grad needs every output to require grad: keep the live ones only.
                let (live_outs, live_gos): (Vec<Tensor>, Vec<Option<Tensor>>) =
                    outs.iter().cloned().zip(gos).filter(|(o, _)| o.requires_grad()).unzip();
                let opts = GradOptions { retain_graph: true, create_graph: false, allow_unused: true };
                let g = grad(&live_outs, &leaves, &live_gos, opts).expect("grad");
                for (j, gj) in g.iter().enumerate() {
                    if let Some(gj) = gj {
                        assert_eq!(gj.shape(), leaves[j].shape(), "grad shape for input {j}");
                        let n = leaves[j].numel();
                        blocks[j][row * n..(row + 1) * n].copy_from_slice(&gj.to_f64_vec());
                    }
                }
            }
            row += 1;
        }
    }
    blocks
}

/// Check `f`'s derivatives at `inputs` (float64) four ways against central differences:
/// row sweeps through `grad`, and `functional::jacobian` looped, vectorized, chunked.
pub fn gradcheck(name: &str, f: Func<'_>, inputs: &[Tensor]) {
    gradcheck_tol(name, f, inputs, 1e-6, 1e-6);
}

pub fn gradcheck_tol(name: &str, f: Func<'_>, inputs: &[Tensor], eps: f64, tol: f64) {
    let num = numeric_jacobian(f, inputs, eps);
    let by_grad = grad_jacobian(f, inputs);
    for (j, (a, n)) in by_grad.iter().zip(&num).enumerate() {
        assert_close(a, n, tol, &format!("{name}: grad rows, input {j}"));
    }
    let variants = [
        ("loop", JacobianOptions::default()),
        ("vectorize", JacobianOptions { vectorize: true, ..Default::default() }),
        ("chunk 2", JacobianOptions { vectorize: true, chunk_size: Some(2), ..Default::default() }),
    ];
    for (label, opts) in variants {
        let jac = jacobian(f, inputs, &opts).expect("jacobian");
        assert_eq!(jac.len(), inputs.len());
        for (j, (b, n)) in jac.iter().zip(&num).enumerate() {
            let m = n.len() / inputs[j].numel().max(1);
            assert_eq!(b.shape(), &[m, inputs[j].numel()], "{name}: {label} block {j} shape");
            assert_eq!(b.dtype(), inputs[j].dtype(), "{name}: {label} block {j} dtype");
            assert_close(&b.to_f64_vec(), n, tol, &format!("{name}: jacobian {label}, input {j}"));
        }
    }
}

/// Second derivatives: the Jacobian of the gradient of `⟨w, f(x)⟩` (through
/// `create_graph`) against central differences of that gradient.
pub fn gradgradcheck(name: &str, f: Func<'_>, inputs: &[Tensor]) {
    let weights: Vec<Tensor> = {
        let _g = lucid_core::autograd::no_grad();
        f(inputs)
            .expect("forward")
            .iter()
            .enumerate()
            .map(|(i, o)| rand64(1000 + i as u64, o.shape(), 0.5, 1.5))
            .collect()
    };
    let gfun = |xs: &[Tensor]| -> Result<Vec<Tensor>> {
        let leaves: Vec<Tensor> = xs
            .iter()
            .map(|x| if x.requires_grad() { Ok(x.clone()) } else { x.leaf_requiring_grad() })
            .collect::<Result<_>>()?;
        let _e = lucid_core::autograd::enable_grad();
        let outs = f(&leaves)?;
        let mut total: Option<Tensor> = None;
        for (o, w) in outs.iter().zip(&weights) {
            let s = o.mul(w)?.sum_all()?;
            total = Some(match total {
                Some(t) => t.add(&s)?,
                None => s,
            });
        }
        let total = total.expect("one output");
        if !total.requires_grad() {
            return Ok(leaves.iter().map(Tensor::zeros_like).collect());
        }
        let opts = GradOptions { retain_graph: true, create_graph: true, allow_unused: true };
        let g = grad(&[total], &leaves, &[], opts)?;
        Ok(g.into_iter().zip(&leaves).map(|(g, x)| g.unwrap_or_else(|| x.zeros_like())).collect())
    };
    gradcheck_tol(&format!("{name} (second order)"), &gfun, inputs, 1e-5, 1e-5);
}
