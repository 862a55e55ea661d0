//! One error type for the whole core: every fallible call returns `Result<T>`.
//!
//! Each variant names the operation and carries a message that says what was given.
//! The Python bindings map the variants to exceptions in exactly one place:
//! `Shape`/`Argument` → ValueError, `DType`/`Type` → TypeError, `Index` → IndexError,
//! `Overflow` → OverflowError, `Graph`/`Linalg` → RuntimeError, `Interrupted` → the exception the interrupt raised
//! (KeyboardInterrupt for Ctrl-C).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Incompatible or invalid shapes (broadcasting, matmul, reshape, dims).
    Shape { op: &'static str, msg: String },
    /// A dtype the operation cannot take (integer input to `exp`, …).
    DType { op: &'static str, msg: String },
    /// A value of the wrong kind for an argument (Python-side type misuse).
    Type { op: &'static str, msg: String },
    /// An index out of range.
    Index { op: &'static str, msg: String },
    /// An argument value that is not allowed (negative size, bad flag combination).
    Argument { op: &'static str, msg: String },
    /// A value outside the range of the type it must become (a float past int64).
    Overflow { op: &'static str, msg: String },
    /// Graph state: freed graph, unreachable input, grad of a tensor that does not require it.
    Graph { op: &'static str, msg: String },
    /// A numerical failure in linear algebra (singular matrix, not positive definite).
    Linalg { op: &'static str, msg: String },
    /// The user asked a long call to stop (NOTE \[interrupts\] in `interrupt.rs`).
    Interrupted { op: &'static str },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape { op, msg: msg.into() }
    }
    pub fn dtype(op: &'static str, msg: impl Into<String>) -> Self {
        Error::DType { op, msg: msg.into() }
    }
    pub fn type_(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Type { op, msg: msg.into() }
    }
    pub fn index(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Index { op, msg: msg.into() }
    }
    pub fn argument(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Argument { op, msg: msg.into() }
    }
    pub fn overflow(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Overflow { op, msg: msg.into() }
    }
    pub fn graph(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Graph { op, msg: msg.into() }
    }
    pub fn linalg(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Linalg { op, msg: msg.into() }
    }
    pub fn interrupted(op: &'static str) -> Self {
        Error::Interrupted { op }
    }

    /// The same error as raised by `op`: for an op built on another (`broadcast_to` on
    /// `expand`), so the message names what the user called.
    pub fn with_op(mut self, name: &'static str) -> Self {
        match &mut self {
            Error::Shape { op, .. }
            | Error::DType { op, .. }
            | Error::Type { op, .. }
            | Error::Index { op, .. }
            | Error::Argument { op, .. }
            | Error::Overflow { op, .. }
            | Error::Graph { op, .. }
            | Error::Linalg { op, .. }
            | Error::Interrupted { op } => *op = name,
        }
        self
    }

    /// The message without the variant name, as shown to a user.
    pub fn message(&self) -> String {
        let (op, msg) = match self {
            Error::Shape { op, msg }
            | Error::DType { op, msg }
            | Error::Type { op, msg }
            | Error::Index { op, msg }
            | Error::Argument { op, msg }
            | Error::Overflow { op, msg }
            | Error::Graph { op, msg }
            | Error::Linalg { op, msg } => (op, msg),
            Error::Interrupted { op } => return format!("{op}: interrupted"),
        };
        format!("{op}: {msg}")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {}
