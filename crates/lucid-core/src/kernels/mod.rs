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
//! NOTE [which product kernel]: measured against matrixmultiply (ndarray's), the `gemm`
//! crate (candle's; run-time dispatch) and `faer`, all on this project's 2-core AVX-512
//! machine, loaded (median of six runs, µs, float64; one thread unless noted):
//!
//! | m×k×n            | Lucid | matrixmultiply | gemm | faer | faer, 2 threads |
//! |------------------|-------|----------------|------|------|-----------------|
//! | 32×256×64        | 19.9  | 28.6           | 27.1 | 20.2 | 41.3            |
//! | 100×100×100      | 37.9  | 46.7           | 48.5 | 39.4 | 60.5            |
//! | 256×64×256       | 156   | 222            | 189  | 164  | 160             |
//! | 512×256×64       | 306   | 417            | 380  | 316  | 263             |
//! | 64×256×512       | 398   | 521            | 495  | 329  | 343             |
//! | 8×256×1024       | 133   | 422            | 258  | 96.7 | 89.1            |
//! | 1024×256 @ vec   | 32.1  | 149            | 33.4 | 37.0 | 50.5            |
//! | vec @ 256×1024   | 57.2  | 284            | 36.8 | 37.9 | 52.9            |
//! | 1000³            | 66.5k | 48.7k          | 62.7k| 44.1k| 35.9k           |
//!
//! (float32 alike: Lucid first or level with faer on all but 8×256×1024 and vec @ B.)
//! So the hand-written kernels stay for the products a Jacobian is made of: small and
//! medium blocks, A @ vec, shared over the cores from 2M multiply-adds. faer wins
//! few-row wide products by 25-35% and large ones, gemm and faer the row vector times a
//! matrix (a single row through the 2-row register block was slower still: 72 µs), but
//! faer adds 2.8 MiB and 48 crates to a build and gemm 375 KiB and 23 crates, against
//! the lean-build rule; neither is a dependency. Large products go to matrixmultiply
//! with its AVX-512 kernels switched on (one feature, no new crate: 1000³ 66 → 42 ms),
//! shared over this pool by blocks of rows.
//!
//! On aarch64 (Graviton, Apple silicon) the intrinsics kernels are not compiled: small
//! few-row products take the portable register-blocked kernel with fused multiply-adds
//! (FMA is base aarch64), A @ vec the portable 16-lane dot (also fused), and every
//! other product matrixmultiply's NEON kernels, detected at run time. Not measured on
//! ARM hardware here.
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
