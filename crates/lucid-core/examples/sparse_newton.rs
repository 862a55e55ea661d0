//! Newton's method for the 1-D reaction–diffusion stencil
//! `F(u)_i = u_{i-1} - 4 u_i + u_{i+1} - u_i³ + 1 = 0` (zero boundary) with the sparse
//! Jacobian of `lucid_core::functional::sparse_jacobian` as CSR, solved by a
//! tridiagonal (Thomas) sweep over the CSR rows. Run:
//!
//! ```text
//! cargo run --release -p lucid-autodiff --example sparse_newton -- 100000
//! ```
//!
//! It prints the residual per iteration and what the first (pattern, colouring) and
//! the later (cached) Jacobians cost.

use std::time::Instant;

use lucid_core::functional::{sparse_jacobian, Csr, JacobianOptions};
use lucid_core::{DType, Result, Tensor};

fn residual(x: &[Tensor]) -> Result<Vec<Tensor>> {
    let u = &x[0];
    let n = u.numel();
    let z = Tensor::zeros(&[1], u.dtype());
    let left = Tensor::cat(&[z.clone(), u.narrow(0, 0, n - 1)?], 0)?;
    let right = Tensor::cat(&[u.narrow(0, 1, n - 1)?, z], 0)?;
    // u_{i-1} + u_{i+1} - 4 u_i, then - u_i³ + 1
    let linear = ((left + right)? - 4.0 * u)?;
    Ok(vec![((linear - u * u * u)? + 1.0)?])
}

/// Solve `J d = -f` for a tridiagonal CSR `J` (rows hold columns i-1, i, i+1 as present).
fn solve_tridiagonal(j: &Csr, f: &[f64]) -> Vec<f64> {
    let n = j.rows;
    let (mut lower, mut diag, mut upper) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for i in 0..n {
        for p in j.indptr[i]..j.indptr[i + 1] {
            match j.indices[p] as isize - i as isize {
                -1 => lower[i] = j.data[p],
                0 => diag[i] = j.data[p],
                1 => upper[i] = j.data[p],
                _ => unreachable!("the stencil's Jacobian is tridiagonal"),
            }
        }
    }
    let mut rhs: Vec<f64> = f.iter().map(|v| -v).collect();
    for i in 1..n {
        let w = lower[i] / diag[i - 1];
        diag[i] -= w * upper[i - 1];
        rhs[i] -= w * rhs[i - 1];
    }
    let mut d = vec![0.0; n];
    d[n - 1] = rhs[n - 1] / diag[n - 1];
    for i in (0..n - 1).rev() {
        d[i] = (rhs[i] - upper[i] * d[i + 1]) / diag[i];
    }
    d
}

fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mut u = vec![0.0; n];
    let opts = JacobianOptions::default();
    let mut times = Vec::new();
    for it in 0..8 {
        let x = Tensor::from_vec(u.clone(), &[n], DType::F64)?;
        let f = residual(std::slice::from_ref(&x))?.remove(0).to_f64_vec();
        let norm = f.iter().map(|v| v * v).sum::<f64>().sqrt();
        println!("iteration {it}: |F(u)| = {norm:.3e}");
        if norm < 1e-10 {
            break;
        }
        let t = Instant::now();
        let j = sparse_jacobian(residual, &[x], &opts)?.remove(0);
        times.push(t.elapsed());
        let d = solve_tridiagonal(&j, &f);
        u.iter_mut().zip(&d).for_each(|(ui, di)| *ui += di);
    }
    let later: Vec<f64> = times[1..].iter().map(|t| t.as_secs_f64() * 1e3).collect();
    println!(
        "n = {n}: first Jacobian (pattern, colouring, sweep) {:.2} ms; later ones (cached) {:.2?} ms",
        times[0].as_secs_f64() * 1e3,
        later
    );
    Ok(())
}
