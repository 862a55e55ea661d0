//! Kernels: the loops that touch numbers, below every op family. Nothing here knows
//! about graphs, derivatives or `Tensor`; everything takes `ndarray` views or slices.
//!
//! - `elementwise`: broadcasting zips over two storages, block copies, reshapes.
//! - `gemm`: matrix products that read their operands in place (NOTE [few-row
//!   products]), with AVX2/AVX-512 FMA intrinsics picked at run time.
//! - `matvec`: the matrix-vector product, with the same intrinsics.
//! - `lanes`: the SIMD register kinds both kernels are written over.
//! - `pool`: the one thread pool, shared by products and Jacobian row blocks; its
//!   size is `LUCID_NUM_THREADS` (1 keeps all work on the calling thread).
//!
//! This is the only module with `unsafe` code (the crate denies it elsewhere, and
//! `unsafe_op_in_unsafe_fn` is denied here, so each unsafe operation sits in its own
//! block with a SAFETY note).

#![deny(unsafe_op_in_unsafe_fn)]

pub(crate) mod elementwise;
pub(crate) mod gemm;
pub(crate) mod lanes;
pub(crate) mod matvec;
pub(crate) mod pool;
