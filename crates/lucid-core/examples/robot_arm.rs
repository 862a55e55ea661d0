//! The Jacobian of a 2-link planar arm's forward kinematics, from Rust.
//!
//! Run with `cargo run -p lucid-autodiff --example robot_arm`.

use lucid_core::functional::{jacobian, JacobianOptions};
use lucid_core::{DType, Result, Tensor};

/// Tip position of an arm with links l1, l2 at joint angles theta = [t1, t2].
fn tip(theta: &Tensor, l1: f64, l2: f64) -> Result<Tensor> {
    let t1 = theta.select(0, 0)?;
    let t12 = (&t1 + theta.select(0, 1)?)?;
    // x = l1 cos t1 + l2 cos(t1 + t2), y = l1 sin t1 + l2 sin(t1 + t2)
    let x = (l1 * t1.cos()? + (l2 * t12.cos()?)?)?;
    let y = (l1 * t1.sin()? + (l2 * t12.sin()?)?)?;
    Tensor::stack(&[x, y], 0)
}

fn main() -> Result<()> {
    let (l1, l2) = (1.0, 0.7);
    let theta = Tensor::from_vec(vec![0.4, 1.1], &[2], DType::F64)?;
    let opts = JacobianOptions { vectorize: true, ..Default::default() };
    let j = jacobian(|xs| Ok(vec![tip(&xs[0], l1, l2)?]), std::slice::from_ref(&theta), &opts)?;
    let j = j[0].to_f64_vec();

    // Closed form: d tip / d theta
    let (t1, t2) = (0.4f64, 1.1f64);
    let closed = [
        -l1 * t1.sin() - l2 * (t1 + t2).sin(),
        -l2 * (t1 + t2).sin(),
        l1 * t1.cos() + l2 * (t1 + t2).cos(),
        l2 * (t1 + t2).cos(),
    ];
    println!("J = [[{:.6}, {:.6}], [{:.6}, {:.6}]]", j[0], j[1], j[2], j[3]);
    let err = j.iter().zip(closed).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    println!("max error against the closed form: {err:.1e}");
    assert!(err < 1e-15);
    Ok(())
}
