//! Per-thread grad mode: when off, ops record no graph (`no_grad`).

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread currently record a graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Restores the previous grad mode when dropped.
#[must_use = "grad mode is restored when the guard is dropped"]
pub struct GradModeGuard {
    prev: bool,
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.prev));
    }
}

/// Set grad mode on this thread until the returned guard is dropped.
pub fn set_grad_enabled(enabled: bool) -> GradModeGuard {
    let prev = GRAD_ENABLED.with(|g| g.replace(enabled));
    GradModeGuard { prev }
}

/// Turn graph recording off on this thread until the guard is dropped.
///
/// ```
/// use lucid_core::{autograd::no_grad, Tensor, DType};
/// let x = Tensor::ones(&[2], DType::F64);
/// x.set_requires_grad(true).unwrap();
/// let y = { let _g = no_grad(); x.exp().unwrap() };
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad() -> GradModeGuard {
    set_grad_enabled(false)
}

/// Turn graph recording on (inside a `no_grad` region) until the guard is dropped.
pub fn enable_grad() -> GradModeGuard {
    set_grad_enabled(true)
}
