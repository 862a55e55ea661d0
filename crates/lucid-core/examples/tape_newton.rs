//! Newton's method on a `Taped` residual: the 1-D Bratu problem `u'' + λ eᵘ = 0` on
//! (0, 1) with `u(0) = u(1) = 0`, by central differences on `n` interior points
//! (`F(u)_i = (u_{i-1} - 2 u_i + u_{i+1}) / h² + λ e^{u_i}`, `h = 1 / (n + 1)`). The
//! residual is recorded once; every Newton step replays it (`Taped::call` for `F`,
//! `Taped::jacobian` for the dense Jacobian) and solves `J d = -F` with `Tensor::solve`.
//! Run:
//!
//! ```text
//! cargo run --release -p lucid-autodiff --example tape_newton -- 50
//! ```
//!
//! It prints the residual per iteration, checks that the tape's Jacobians equal the eager
//! `functional::jacobian`'s bit for bit and that the solution matches the closed form to
//! the discretisation error, and times one Jacobian each way at the solution.

use std::time::Instant;

use lucid_core::functional::{jacobian, JacobianOptions, Taped};
use lucid_core::{DType, Result, Tensor};

const LAMBDA: f64 = 1.0;

/// The discretised Bratu residual (zero boundary values).
fn residual(x: &[Tensor]) -> Result<Vec<Tensor>> {
    let u = &x[0];
    let n = u.numel();
    let inv_h2 = ((n + 1) * (n + 1)) as f64;
    let z = Tensor::zeros(&[1], u.dtype());
    let left = Tensor::cat(&[z.clone(), u.narrow(0, 0, n - 1)?], 0)?;
    let right = Tensor::cat(&[u.narrow(0, 1, n - 1)?, z], 0)?;
    let second = (inv_h2 * ((left + right)? - 2.0 * u)?)?;
    Ok(vec![(second + (LAMBDA * u.exp()?)?)?])
}

/// The lower solution of the continuous problem,
/// `u(x) = -2 ln(cosh((x - 1/2) θ/2) / cosh(θ/4))` with `θ = √(2λ) cosh(θ/4)`.
fn exact(x: f64) -> f64 {
    let mut theta = 1.0f64;
    for _ in 0..100 {
        theta = (2.0 * LAMBDA).sqrt() * (theta / 4.0).cosh();
    }
    -2.0 * (((x - 0.5) * theta / 2.0).cosh() / (theta / 4.0).cosh()).ln()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Bitwise equality (`==` on f64 would let `0.0` equal `-0.0`).
fn same_bits(a: &Tensor, b: &Tensor) -> bool {
    a.shape() == b.shape() && a.to_f64_vec().iter().zip(b.to_f64_vec()).all(|(p, q)| p.to_bits() == q.to_bits())
}

/// Microseconds per call of `f`: the median over 7 runs of `calls` calls.
fn micros_per_call(calls: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut runs = Vec::with_capacity(7);
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..calls {
            f()?;
        }
        runs.push(t.elapsed().as_secs_f64() * 1e6 / calls as f64);
    }
    runs.sort_by(f64::total_cmp);
    Ok(runs[runs.len() / 2])
}

fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let opts = JacobianOptions::default();
    // the residual carries 1/h² times the rounding of u: stop at that level
    let tolerance = 1e-12 * ((n + 1) * (n + 1)) as f64;
    let mut u = Tensor::zeros(&[n], DType::F64);
    let taped = Taped::new(residual, std::slice::from_ref(&u))?; // the residual runs once, here
    let mut identical = true;
    let mut converged = false;
    for it in 0..20 {
        let f = taped.call(std::slice::from_ref(&u))?.remove(0);
        let r = norm(&f.to_f64_vec());
        println!("iteration {it}: |F(u)| = {r:.3e}");
        if r < tolerance {
            converged = true;
            break;
        }
        let j = taped.jacobian(std::slice::from_ref(&u), &opts)?.remove(0);
        identical &= same_bits(&j, &jacobian(residual, std::slice::from_ref(&u), &opts)?[0]);
        u = (&u - j.solve(&f)?)?;
    }
    assert!(converged, "Newton's method did not converge");
    assert!(identical, "a tape Jacobian differs from the eager one");
    println!("tape and eager Jacobians are equal bit for bit at every iterate");

    let h = 1.0 / (n + 1) as f64;
    let error =
        u.to_f64_vec().iter().enumerate().map(|(i, v)| (v - exact((i + 1) as f64 * h)).abs()).fold(0.0, f64::max);
    println!("max |u - u_exact| = {error:.2e} (discretisation error, O(h²) with h = {h:.4})");
    assert!(error < 1e-4);

    let at = std::slice::from_ref(&u);
    let calls = 200;
    let tape_us = micros_per_call(calls, || taped.jacobian(at, &opts).map(drop))?;
    let eager_us = micros_per_call(calls, || jacobian(residual, at, &opts).map(drop))?;
    println!(
        "n = {n}: one {n}x{n} Jacobian at the solution (median of 7 x {calls}): tape {tape_us:.1} µs, \
         eager functional::jacobian {eager_us:.1} µs (eager/tape {:.2}); records() = {}",
        eager_us / tape_us,
        taped.records()
    );
    assert_eq!(taped.records(), 1);
    Ok(())
}
