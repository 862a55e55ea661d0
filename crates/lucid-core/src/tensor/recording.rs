//! What a tape records while its function runs (NOTE [tape recording]).
//!
//! A tape (`functional::tape`) needs every value that depends on its inputs, not only
//! the ones a derivative reaches: a comparison feeding `where`, an `argmax` feeding an
//! index, a `detach`ed scale, a `no_grad` block. While a recording is active on this
//! thread, `Tensor::from_op` therefore records a node for any op with a *traced* input
//! (one that requires grad or has a node), whatever its dtype and the grad mode; such a
//! node requires grad only when it would have outside the recording, so the sweeps never
//! see the difference. Each recorded node is logged here in creation order (a
//! topological order), weakly, so temporaries still die.
//!
//! A value that leaves the graph (`bool(t)`, `float`, `.item()`, `.numpy()`, an index
//! tensor turned into positions) is an *escape*: the function's later behaviour may
//! depend on it, so the tape keeps it as a guard and replay checks it. What cannot be
//! checked (writing into a traced tensor) marks the recording untraceable.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

use super::{Inner, Tensor};

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// One log per active recording, innermost last: a tape replayed or recorded inside
    /// a function another tape records (tapes compose) is part of the outer recording
    /// too, so every log sees every node and escape.
    static LOGS: RefCell<Vec<Log>> = const { RefCell::new(Vec::new()) };
}

/// Everything one recording saw, handed to the tape builder by [`finish`].
#[derive(Default)]
pub(crate) struct Log {
    /// Every node recorded, in creation order.
    pub(crate) created: Vec<Weak<Inner>>,
    /// Traced tensors whose values left the graph, in order.
    pub(crate) escapes: Vec<Tensor>,
    /// A random op ran: its values are frozen into the tape.
    pub(crate) random: bool,
    /// Why the recording cannot be replayed, when it cannot.
    pub(crate) untraceable: Option<String>,
}

/// Whether a recording is active on this thread (one thread-local read: cheap enough
/// for every op).
pub(crate) fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// Start a recording on this thread (inside any active ones).
pub(crate) fn begin() {
    LOGS.with(|l| l.borrow_mut().push(Log::default()));
    ACTIVE.with(|a| a.set(true));
}

/// Stop the innermost recording and return what it saw (`None` when none was active).
pub(crate) fn finish() -> Option<Log> {
    LOGS.with(|l| {
        let mut logs = l.borrow_mut();
        let log = logs.pop();
        ACTIVE.with(|a| a.set(!logs.is_empty()));
        log
    })
}

/// `note` on every active log.
fn each_log(note: impl Fn(&mut Log)) {
    LOGS.with(|l| l.borrow_mut().iter_mut().for_each(note));
}

impl Tensor {
    /// Whether this tensor's value depends on a recording's inputs as far as the graph
    /// can tell: it requires grad, or it was computed by a recorded op.
    pub(crate) fn is_traced(&self) -> bool {
        self.requires_grad() || self.0.node.is_some()
    }
}

pub(crate) fn note_created(t: &Tensor) {
    each_log(|log| log.created.push(Arc::downgrade(&t.0)));
}

/// A value of `t` is about to be read outside the graph: keep it as a guard when a
/// recording is active and `t` is traced. Call it wherever values become Python
/// numbers, NumPy arrays, positions or sizes.
pub fn note_escape(t: &Tensor) {
    if !active() || !t.is_traced() {
        return;
    }
    each_log(|log| log.escapes.push(t.clone()));
}

/// A random op ran during a recording.
pub(crate) fn note_random() {
    if !active() {
        return;
    }
    each_log(|log| log.random = true);
}

/// Something happened to a traced value that a tape cannot replay (`why` says what).
pub fn note_untraceable(why: &str, inputs: &[&Tensor]) {
    if !active() || !inputs.iter().any(|t| t.is_traced()) {
        return;
    }
    each_log(|log| {
        log.untraceable.get_or_insert_with(|| why.to_string());
    });
}
