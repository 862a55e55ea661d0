//! Random constructors (`rand`, `randn`, `randint`) over one global, seedable generator.
//!
//! The generator is xoshiro256++ (Blackman & Vigna) seeded through splitmix64, as the
//! authors recommend. Normals use Marsaglia's polar method with a logarithm written
//! here in plain IEEE arithmetic (+, -, ×, ÷ and sqrt are correctly rounded everywhere),
//! so a seed gives the same numbers on every machine and every run, independent of the
//! platform's libm. Before any `manual_seed` the generator starts from a fixed seed, so
//! unseeded programs are reproducible too.

use std::sync::Mutex;

use ndarray::{ArcArray, IxDyn};

use crate::dtype::{try_vec, DType, Storage};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The seed the global generator starts from (PyTorch's default seed).
pub const DEFAULT_SEED: u64 = 67_280_421_310_721;

/// A xoshiro256++ generator.
///
/// ```
/// use lucid_core::ops::random::Generator;
/// let mut a = Generator::new(7);
/// let mut b = Generator::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct Generator {
    s: [u64; 4],
}

/// One step of splitmix64: advances `state` and returns the mixed value.
const fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Generator {
    /// A generator whose state is four splitmix64 outputs of `seed`.
    pub const fn new(seed: u64) -> Generator {
        let mut st = seed;
        let a = splitmix64(&mut st);
        let b = splitmix64(&mut st);
        let c = splitmix64(&mut st);
        let d = splitmix64(&mut st);
        Generator { s: [a, b, c, d] }
    }

    /// A generator with the given raw state (not all zero), for reference tests.
    pub fn from_state(s: [u64; 4]) -> Result<Generator> {
        if s == [0; 4] {
            return Err(Error::argument("Generator", "the xoshiro256++ state must not be all zero"));
        }
        Ok(Generator { s })
    }

    /// The next 64 random bits (xoshiro256++).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable).
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in `0..n` without modulo bias (rejection of the short top range).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return self.next_u64(); // the full 2^64 range
        }
        let threshold = n.wrapping_neg() % n; // 2^64 mod n
        loop {
            let r = self.next_u64();
            if r >= threshold {
                return r % n;
            }
        }
    }

    /// Two independent standard normals (Marsaglia's polar method).
    pub fn normal_pair(&mut self) -> (f64, f64) {
        loop {
            let u = 2.0 * self.uniform_f64() - 1.0;
            let v = 2.0 * self.uniform_f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * portable_ln(s) / s).sqrt();
                return (u * f, v * f);
            }
        }
    }
}

/// Natural logarithm of a positive finite `x` from correctly rounded operations only,
/// so it gives the same bits on every IEEE-754 machine (accurate to about 1 ulp).
/// ln x = e ln 2 + 2 atanh(t), t = (m - 1)/(m + 1), with x = m 2^e and m in [√½, √2).
pub fn portable_ln(x: f64) -> f64 {
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64; // subnormal: scale into the normal range
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023u64 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    // atanh(t)/t = Σ t^(2k)/(2k+1); |t| ≤ 0.1716 so 13 terms reach 1e-19.
    let mut p = 0.0;
    for k in (0..13).rev() {
        p = p * t2 + 1.0 / (2 * k + 1) as f64;
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * t * p
}

static GLOBAL: Mutex<Generator> = Mutex::new(Generator::new(DEFAULT_SEED));

fn with_global<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut g)
}

/// Reseed the global generator: the random constructors then repeat their sequence.
///
/// ```
/// use lucid_core::{ops::random::manual_seed, Tensor, DType};
/// manual_seed(3);
/// let a = Tensor::rand(&[4], DType::F64).unwrap();
/// manual_seed(3);
/// let b = Tensor::rand(&[4], DType::F64).unwrap();
/// assert_eq!(a.to_f64_vec(), b.to_f64_vec());
/// ```
pub fn manual_seed(seed: u64) {
    with_global(|g| *g = Generator::new(seed));
}

/// `n` samples of `shape` drawn by `draw` into a buffer reserved for them first, so a
/// shape too large to address or to allocate is an error naming `op`, never an abort.
fn sampled<T>(op: &'static str, shape: &[usize], draw: impl FnOnce(&mut Vec<T>, usize)) -> Result<ArcArray<T, IxDyn>> {
    let mut v = try_vec::<T>(op, shape)?;
    let n: usize = shape.iter().product(); // fits: `try_vec` checked it
    draw(&mut v, n);
    ArcArray::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::shape(op, e.to_string()))
}

fn expect_float(op: &'static str, dtype: DType) -> Result<()> {
    if dtype.is_float() {
        return Ok(());
    }
    Err(Error::dtype(op, format!("expected a floating point dtype, got {dtype}")))
}

/// Standard normals pushed onto `v` until it holds `n`, as `T` (float32 samples are
/// float64 samples rounded, so both dtypes see one sequence). The second normal of
/// the last pair is drawn and dropped when `n` is odd, and `v` never outgrows `n`.
fn push_normals<T>(g: &mut Generator, v: &mut Vec<T>, n: usize, of: impl Fn(f64) -> T) {
    while v.len() < n {
        let (a, b) = g.normal_pair();
        v.push(of(a));
        if v.len() < n {
            v.push(of(b));
        }
    }
}

impl Tensor {
    /// Uniform samples in [0, 1) from the global generator (float dtypes).
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        expect_float("rand", dtype)?;
        let data = match dtype {
            DType::F32 => {
                Storage::F32(sampled("rand", shape, |v, n| with_global(|g| v.extend((0..n).map(|_| g.uniform_f32()))))?)
            }
            _ => {
                Storage::F64(sampled("rand", shape, |v, n| with_global(|g| v.extend((0..n).map(|_| g.uniform_f64()))))?)
            }
        };
        crate::tensor::recording::note_random();
        Ok(Tensor::from_storage(data))
    }

    /// Standard normal samples from the global generator (float dtypes); float32
    /// samples are float64 samples rounded.
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        expect_float("randn", dtype)?;
        let data = match dtype {
            DType::F32 => {
                Storage::F32(sampled("randn", shape, |v, n| with_global(|g| push_normals(g, v, n, |x| x as f32)))?)
            }
            _ => Storage::F64(sampled("randn", shape, |v, n| with_global(|g| push_normals(g, v, n, |x| x)))?),
        };
        crate::tensor::recording::note_random();
        Ok(Tensor::from_storage(data))
    }

    /// Integers drawn uniformly from `low..high` by the global generator, as `dtype`
    /// (int64 or a float dtype).
    pub fn randint(low: i64, high: i64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        if low >= high {
            return Err(Error::argument("randint", format!("expected low < high, got low={low}, high={high}")));
        }
        let span = (high as i128 - low as i128) as u64; // ≤ 2^64 - 1 as low < high
        /// Drawn straight into the result's dtype: no int64 buffer beside it.
        fn draw<T>(shape: &[usize], low: i64, span: u64, of: impl Fn(i64) -> T) -> Result<ArcArray<T, IxDyn>> {
            sampled("randint", shape, |v, n| {
                with_global(|g| v.extend((0..n).map(|_| of((low as i128 + g.below(span) as i128) as i64))))
            })
        }
        crate::tensor::recording::note_random();
        Ok(Tensor::from_storage(match dtype {
            DType::I64 => Storage::I64(draw(shape, low, span, |x| x)?),
            DType::F32 => Storage::F32(draw(shape, low, span, |x| x as f32)?),
            DType::F64 => Storage::F64(draw(shape, low, span, |x| x as f64)?),
            DType::Bool => {
                return Err(Error::dtype("randint", "dtype bool is not supported; use int64 or a float dtype"))
            }
        }))
    }
}
