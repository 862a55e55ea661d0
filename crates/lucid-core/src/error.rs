//! One error type for the whole core: every fallible call returns `Result<T>`.
//!
//! Each variant names the operation and carries a message that says what was given.
//! The Python bindings map the variants to exceptions in exactly one place:
//! `Shape`/`Argument` → ValueError, `DType`/`Type` → TypeError, `Index` → IndexError,
//! `Overflow` → OverflowError, `Graph`/`Linalg` → RuntimeError, `Interrupted` → the exception the interrupt raised
//! (KeyboardInterrupt for Ctrl-C).

use std::fmt;

/// Everything that can go wrong in lucid-core, by family. `op` names the operation the
/// user called (`"matmul"`, `"jacobian"`); `msg` says what was given (shapes, dtypes,
/// values). [`Error::message`] and `Display` give `"{op}: {msg}"`.
///
/// ```
/// use lucid_core::{DType, Error, Tensor};
/// let a = Tensor::zeros(&[2, 3], DType::F64);
/// let err = a.matmul(&a).unwrap_err();
/// assert!(matches!(err, Error::Shape { op: "matmul", .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Incompatible or invalid shapes (broadcasting, matmul, reshape, dims).
    Shape {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// A dtype the operation cannot take (integer input to `exp`, …).
    DType {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// A value of the wrong kind for an argument (Python-side type misuse).
    Type {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// An index out of range.
    Index {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// An argument value that is not allowed (negative size, bad flag combination).
    Argument {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// A value outside the range of the type it must become (a float past int64).
    Overflow {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// Graph state: freed graph, unreachable input, grad of a tensor that does not require it.
    Graph {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// A numerical failure in linear algebra (singular matrix, not positive definite).
    Linalg {
        /// The operation the user called.
        op: &'static str,
        /// What was wrong and what was given.
        msg: String,
    },
    /// The user asked a long call to stop (NOTE \[interrupts\] in `interrupt.rs`).
    Interrupted {
        /// The operation that was stopped.
        op: &'static str,
    },
}

/// The result of every fallible lucid-core call.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A [`Error::Shape`] raised by `op`.
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape { op, msg: msg.into() }
    }
    /// A [`Error::DType`] raised by `op`.
    pub fn dtype(op: &'static str, msg: impl Into<String>) -> Self {
        Error::DType { op, msg: msg.into() }
    }
    /// A [`Error::Type`] raised by `op`.
    pub fn type_(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Type { op, msg: msg.into() }
    }
    /// An [`Error::Index`] raised by `op`.
    pub fn index(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Index { op, msg: msg.into() }
    }
    /// An [`Error::Argument`] raised by `op`.
    pub fn argument(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Argument { op, msg: msg.into() }
    }
    /// An [`Error::Overflow`] raised by `op`.
    pub fn overflow(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Overflow { op, msg: msg.into() }
    }
    /// A [`Error::Graph`] raised by `op`.
    pub fn graph(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Graph { op, msg: msg.into() }
    }
    /// A [`Error::Linalg`] raised by `op`.
    pub fn linalg(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Linalg { op, msg: msg.into() }
    }
    /// An [`Error::Interrupted`]: `op` stopped because the user asked it to.
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
