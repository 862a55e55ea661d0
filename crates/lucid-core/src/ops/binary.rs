//! Elementwise binary ops with NumPy broadcasting and dtype promotion, their VJP
//! rules, `where`, and comparisons (which return bool tensors and record nothing).
//! Floor division and remainder follow Python and NumPy (see `float_divmod`).
//!
//! Rules return cotangents of the broadcast output shape; the sweep sums them back
//! to each input's shape (`Tensor::sum_to`), so no rule un-broadcasts by itself.

use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::kernels::elementwise::zip_broadcast;
use crate::ops::nondiff::{self, Comparison};
use crate::shape::broadcast_shapes;
use crate::structure::{Reads, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;
use crate::zip_storage;

/// The elementwise binary ops with broadcasting: the recorded op of a node, carrying the
/// VJP, JVP and structure rules of each. Made by the `Tensor` methods of the same names.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum BinaryOp {
    /// `a + b`: ∂/∂a = 1, ∂/∂b = 1.
    Add,
    /// `a - b`: ∂/∂a = 1, ∂/∂b = -1.
    Sub,
    /// `a * b`: ∂/∂a = b, ∂/∂b = a.
    Mul,
    /// `a / b`: ∂/∂a = 1/b, ∂/∂b = -a/b².
    Div,
    /// `a ** b`: ∂/∂a = b a^(b-1), ∂/∂b = a^b ln a.
    Pow,
    /// The larger of `a` and `b`; a tie splits the gradient evenly between them.
    Maximum,
    /// The smaller of `a` and `b`; a tie splits the gradient evenly between them.
    Minimum,
    /// `atan2(a, b)`, the angle of the point `(b, a)`: ∂/∂a = b/(a² + b²), ∂/∂b = -a/(a² + b²).
    Atan2,
    /// `a // b`: the quotient rounded toward -∞ (Python's `//`).
    FloorDivide,
    /// `a % b = a - (a // b) b`, with the sign of `b` (Python's `%`).
    Remainder,
    /// `max(x, lo)` with the bound as the second input (`clamp(x, min=lo)`).
    ClampMin,
    /// `min(x, hi)` with the bound as the second input (`clamp(x, max=hi)`).
    ClampMax,
    /// `where(cond, a, b)`: the inputs are `a`, `b` and the bool mask `cond` (which no
    /// derivative reaches: it never requires grad).
    Where,
}

impl Rule for BinaryOp {
    // Elementwise with broadcasting (`where` too): a batched operand of lower
    // per-sample rank gets size-1 dims after its batch dim; shared operands broadcast.
    fn batch(&self, inputs: &[Tensor], batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        crate::tensor::graph::elementwise(self, inputs, batched, shape, dtype)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], _dtype: DType) -> Result<Tensor> {
        match self {
            BinaryOp::Where => where_(&inputs[2], &inputs[0], &inputs[1]),
            op => binary(op.clone(), &inputs[0], &inputs[1]),
        }
    }

    fn structure(&self) -> Structure<'_> {
        Structure::Elementwise(match self {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::FloorDivide => Reads::NOTHING,
            BinaryOp::Div | BinaryOp::Pow => Reads::ALL,
            // `where` reads its mask, input 2
            _ => Reads::INPUTS,
        })
    }

    // Elementwise: the VJP rule applied to the (aligned) tangent is the JVP.
    fn jvp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        tangents: &[Option<Tensor>],
        batch: usize,
    ) -> Result<Option<Tensor>> {
        crate::ops::elementwise_jvp(self, inputs, out, tangents, batch)
    }

    fn name(&self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::FloorDivide => "floor_divide",
            BinaryOp::Remainder => "remainder",
            BinaryOp::ClampMin => "clamp_min",
            BinaryOp::ClampMax => "clamp_max",
            BinaryOp::Where => "where",
        }
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        _batch: usize,
        needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let when = |i: usize, f: &dyn Fn() -> Result<Tensor>| -> Result<Option<Tensor>> {
            if needs[i] {
                f().map(Some)
            } else {
                Ok(None)
            }
        };
        Ok(match self {
            // d(a+b) = (1, 1)
            BinaryOp::Add => vec![when(0, &|| Ok(g.clone()))?, when(1, &|| Ok(g.clone()))?],
            // d(a-b) = (1, -1)
            BinaryOp::Sub => vec![when(0, &|| Ok(g.clone()))?, when(1, &|| g.neg())?],
            // d(ab) = (b, a)
            BinaryOp::Mul => vec![when(0, &|| g.mul(b))?, when(1, &|| g.mul(a))?],
            // d(a/b) = (1/b, -a/b² = -out/b)
            BinaryOp::Div => vec![when(0, &|| g.div(b))?, when(1, &|| g.mul(out)?.div(b)?.neg())?],
            // d(a^b) = (b a^(b-1), a^b log a); the b-cotangent is 0 where a = 0, as PyTorch.
            BinaryOp::Pow => vec![
                when(0, &|| g.mul(&b.mul(&a.pow(&b.sub(&b.scalar_like(1.0))?)?)?))?,
                when(1, &|| {
                    let zero = a.eq(&a.scalar_like(0.0))?;
                    let safe_a = where_(&zero, &a.scalar_like(1.0), a)?;
                    g.mul(&out.mul(&safe_a.log()?)?)
                })?,
            ],
            // Ties split the cotangent evenly between a and b (PyTorch's choice).
            BinaryOp::Maximum | BinaryOp::Minimum => {
                let wins = if matches!(self, BinaryOp::Maximum) { a.gt(b)? } else { a.lt(b)? };
                let share_a = wins.to_dtype(a.dtype())?.add(&a.eq(b)?.to_dtype(a.dtype())?.mul_scalar(0.5)?)?;
                vec![when(0, &|| g.mul(&share_a))?, when(1, &|| g.mul(&share_a.neg()?.add_scalar(1.0)?))?]
            }
            // atan2(y, x): d/dy = x/(x²+y²), d/dx = -y/(x²+y²)
            BinaryOp::Atan2 => {
                let r2 = a.square()?.add(&b.square()?)?;
                vec![when(0, &|| g.mul(b)?.div(&r2))?, when(1, &|| g.mul(a)?.div(&r2)?.neg())?]
            }
            // a // b is piecewise constant: zero for both inputs away from the jumps (at
            // a/b ∈ ℤ), zero at them too. PyTorch's div(a, b, rounding_mode="floor") says
            // so; its floor_divide has no derivative formula at all (backward raises).
            BinaryOp::FloorDivide => {
                let zero = || -> Result<Tensor> { Ok(Tensor::zeros(g.shape(), g.dtype())) };
                vec![when(0, &zero)?, when(1, &zero)?]
            }
            // a % b = a - (a // b) b: d/da = 1, d/db = -(a // b), as PyTorch (with the
            // forward's exact floor division, not the floor of a rounded a / b).
            BinaryOp::Remainder => {
                vec![when(0, &|| Ok(g.clone()))?, when(1, &|| g.mul(&a.floor_divide(b)?)?.neg())?]
            }
            // clamp_min(x, lo) = x where x ≥ lo, else lo. At x = lo the cotangent goes to x
            // (PyTorch's subgradient); x = NaN gives NaN out and zero to both.
            BinaryOp::ClampMin => {
                vec![when(0, &|| mask_mul(g, &a.ge(b)?))?, when(1, &|| mask_mul(g, &a.lt(b)?))?]
            }
            // clamp_max(x, hi) = x where x ≤ hi, else hi; at x = hi the cotangent goes to x.
            BinaryOp::ClampMax => {
                vec![when(0, &|| mask_mul(g, &a.le(b)?))?, when(1, &|| mask_mul(g, &a.gt(b)?))?]
            }
            // the cotangent goes to the branch each element was taken from
            BinaryOp::Where => {
                let (cond, zero) = (&inputs[2], g.scalar_like(0.0));
                vec![when(0, &|| where_(cond, g, &zero))?, when(1, &|| where_(cond, &zero, g))?, None]
            }
        })
    }
}

/// `g` where `mask` holds, 0 elsewhere (the mask is a constant of the rule).
fn mask_mul(g: &Tensor, mask: &Tensor) -> Result<Tensor> {
    g.mul(&mask.to_dtype(g.dtype())?)
}

/// Cast both operands to their promoted dtype (float64 over float32 over int64 over bool).
fn promote(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let dt = DType::promote(a.dtype(), b.dtype());
    Ok((a.to_dtype(dt)?, b.to_dtype(dt)?))
}

/// The first negative entry of an integer exponent (NumPy refuses them: the power is
/// not an integer).
fn negative_int_exponent(b: &Storage) -> Option<i64> {
    match b {
        Storage::I64(e) => e.iter().copied().find(|&v| v < 0),
        _ => None,
    }
}

/// Python's `divmod` for floats, computed as NumPy does (`npy_divmod`, itself from
/// CPython): `fmod` gives the exact remainder, which moves to the divisor's sign; the
/// quotient `(a - mod) / b` is nearly an integer and is snapped to the nearest one. So
/// `a == q b + m` as closely as rounding allows and the two always agree, where
/// `floor(a / b)` can be off by one (`1 // 0.1` is 9: 0.1 is slightly above 1/10).
/// A zero remainder is +0 or -0 with the divisor's sign; `b = 0` gives IEEE's `a / b`
/// and NaN, as NumPy; `b = ±∞` gives `(0, a)` or `(-1, ±∞)` by the sign rule.
fn float_divmod<T: Float>(a: T, b: T) -> (T, T) {
    let mut m = a % b; // fmod: exact, with the sign of a
    if b == T::zero() {
        return (a / b, m);
    }
    let mut div = (a - m) / b;
    if m != T::zero() {
        if (b < T::zero()) != (m < T::zero()) {
            m = m + b;
            div = div - T::one();
        }
    } else {
        m = T::zero().copysign(b);
    }
    let q = if div != T::zero() {
        let f = div.floor();
        if div - f > T::of(0.5) {
            f + T::one()
        } else {
            f
        }
    } else {
        T::zero().copysign(a / b)
    };
    (q, m)
}

/// `a // b` for integers, rounding toward -∞ (`b != 0`, checked by the caller);
/// `MIN // -1` wraps to MIN, as in NumPy.
fn int_floor_divide(a: i64, b: i64) -> i64 {
    let q = a.wrapping_div(b);
    if a.wrapping_rem(b) != 0 && (a < 0) != (b < 0) {
        q - 1
    } else {
        q
    }
}

/// `a % b` for integers with the sign of `b` (`b != 0`, checked by the caller).
fn int_remainder(a: i64, b: i64) -> i64 {
    let r = a.wrapping_rem(b);
    if r != 0 && (r < 0) != (b < 0) {
        r + b
    } else {
        r
    }
}

/// Integer division by zero has no value: NumPy returns 0 with a warning and PyTorch
/// raises; this is an error naming the op. An empty result divides nothing; otherwise
/// every element of the divisor is used (broadcasting repeats elements, never drops them).
fn int_divisor_nonzero(name: &'static str, b: &Storage, shape: &[usize]) -> Result<()> {
    match b {
        Storage::I64(d) if shape.iter().product::<usize>() > 0 && d.iter().any(|&v| v == 0) => Err(Error::argument(
            name,
            "integer division by zero (the divisor has a zero); divide floats for IEEE inf and nan",
        )),
        _ => Ok(()),
    }
}

/// `x^y` for `y >= 0` by squaring, wrapping on overflow like the other integer ops
/// (PyTorch's and NumPy's int64 powers wrap too).
fn wrapping_int_pow(x: i64, y: i64) -> i64 {
    let (mut base, mut e, mut acc) = (x, y as u64, 1i64);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        e >>= 1;
    }
    acc
}

fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    let (mut a, mut b) = promote(a, b)?;
    // True division, atan2 and float powers of integers give floats (PyTorch's default
    // float32); integer powers, floor divisions and remainders of integers stay
    // integers (PyTorch, NumPy).
    let int_ok = matches!(
        op,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Pow
            | BinaryOp::FloorDivide
            | BinaryOp::Remainder
            | BinaryOp::Maximum
            | BinaryOp::Minimum
            | BinaryOp::ClampMin
            | BinaryOp::ClampMax
    );
    if !a.dtype().is_float() && !int_ok {
        a = a.to_dtype(DType::F32)?;
        b = b.to_dtype(DType::F32)?;
    }
    if a.dtype() == DType::Bool {
        a = a.to_dtype(DType::I64)?;
        b = b.to_dtype(DType::I64)?;
    }
    let shape = broadcast_shapes(name, a.shape(), b.shape())?;
    let (sa, sb) = (a.storage(), b.storage());
    let data = match op {
        BinaryOp::Add => zip_storage!(name, sa, sb, &shape, |x, y| x + y, int | x, y | x.wrapping_add(y)),
        BinaryOp::Sub => zip_storage!(name, sa, sb, &shape, |x, y| x - y, int | x, y | x.wrapping_sub(y)),
        BinaryOp::Mul => zip_storage!(name, sa, sb, &shape, |x, y| x * y, int | x, y | x.wrapping_mul(y)),
        BinaryOp::Div => zip_storage!(name, sa, sb, &shape, |x, y| x / y),
        BinaryOp::Pow => {
            if let Some(e) = negative_int_exponent(sb) {
                return Err(Error::argument(
                    name,
                    format!("integers to negative integer powers are not allowed (exponent {e}); use a float base"),
                ));
            }
            zip_storage!(name, sa, sb, &shape, |x, y| x.powf(y), int | x, y | wrapping_int_pow(x, y))
        }
        // NaN propagates, as in NumPy's maximum.
        BinaryOp::Maximum => zip_storage!(
            name,
            sa,
            sb,
            &shape,
            |x, y| if x.is_nan() || x > y {
                x
            } else if y.is_nan() || y > x {
                y
            } else {
                x
            },
            int | x,
            y | x.max(y)
        ),
        BinaryOp::Minimum => zip_storage!(
            name,
            sa,
            sb,
            &shape,
            |x, y| if x.is_nan() || x < y {
                x
            } else if y.is_nan() || y < x {
                y
            } else {
                x
            },
            int | x,
            y | x.min(y)
        ),
        BinaryOp::Atan2 => zip_storage!(name, sa, sb, &shape, |x, y| x.atan2(y)),
        BinaryOp::FloorDivide => {
            int_divisor_nonzero(name, sb, &shape)?;
            zip_storage!(name, sa, sb, &shape, |x, y| float_divmod(x, y).0, int | x, y | int_floor_divide(x, y))
        }
        BinaryOp::Remainder => {
            int_divisor_nonzero(name, sb, &shape)?;
            zip_storage!(name, sa, sb, &shape, |x, y| float_divmod(x, y).1, int | x, y | int_remainder(x, y))
        }
        // NaN in x or in the bound gives NaN, as PyTorch.
        BinaryOp::ClampMin => zip_storage!(
            name,
            sa,
            sb,
            &shape,
            |x, lo| if x.is_nan() || lo.is_nan() {
                x + lo
            } else if x >= lo {
                x
            } else {
                lo
            },
            int | x,
            lo | x.max(lo)
        ),
        BinaryOp::ClampMax => zip_storage!(
            name,
            sa,
            sb,
            &shape,
            |x, hi| if x.is_nan() || hi.is_nan() {
                x + hi
            } else if x <= hi {
                x
            } else {
                hi
            },
            int | x,
            hi | x.min(hi)
        ),
        BinaryOp::Where => return Err(Error::argument("where", "internal: use where_")),
    }?;
    Ok(Tensor::from_op(data, op, vec![a, b]))
}

/// Elementwise `cond ? a : b` with broadcasting over all three; differentiable in `a`
/// and `b`.
pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let Storage::Bool(c) = cond.storage() else {
        return Err(Error::dtype("where", format!("condition must be a bool tensor, got {}", cond.dtype())));
    };
    let (a, b) = promote(a, b)?;
    let shape = broadcast_shapes("where", &broadcast_shapes("where", cond.shape(), a.shape())?, b.shape())?;
    // the condition is materialised at the broadcast shape, which the three decide
    crate::kernels::elementwise::ensure_allocatable_as("where", a.dtype(), &shape)?;
    let c = c.broadcast(ndarray::IxDyn(&shape)).ok_or_else(|| Error::shape("where", "broadcast failed"))?.to_shared();
    let pick = |a_s: &Storage, b_s: &Storage| -> Result<Storage> {
        // select from a where c, from b elsewhere: zip (c, a) then with b
        macro_rules! sel {
            ($x:expr, $y:expr, $w:path) => {{
                let ca = zip_broadcast("where", &c, $x, &shape, |m, v| (m, v))?;
                zip_broadcast("where", &ca, $y, &shape, |(m, v), w| if m { v } else { w }).map($w)
            }};
        }
        match (a_s, b_s) {
            (Storage::F32(x), Storage::F32(y)) => sel!(x, y, Storage::F32),
            (Storage::F64(x), Storage::F64(y)) => sel!(x, y, Storage::F64),
            (Storage::I64(x), Storage::I64(y)) => sel!(x, y, Storage::I64),
            (Storage::Bool(x), Storage::Bool(y)) => sel!(x, y, Storage::Bool),
            (x, y) => Err(Error::dtype("where", format!("dtypes {} and {}", x.dtype(), y.dtype()))),
        }
    };
    let data = pick(a.storage(), b.storage())?;
    Ok(Tensor::from_op(data, BinaryOp::Where, vec![a, b, cond.clone()]))
}

macro_rules! binary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl Tensor {
            $($(#[$doc])* pub fn $name(&self, other: &Tensor) -> Result<Tensor> { binary($op, self, other) })*
        }
    };
}

binary_methods! {
    /// `a + b` with broadcasting
    add => BinaryOp::Add;
    /// `a - b` with broadcasting
    sub => BinaryOp::Sub;
    /// `a * b` with broadcasting
    mul => BinaryOp::Mul;
    /// `a / b` with broadcasting (true division)
    div => BinaryOp::Div;
    /// `a ** b` with broadcasting
    pow => BinaryOp::Pow;
    /// elementwise maximum (ties split the gradient evenly)
    maximum => BinaryOp::Maximum;
    /// elementwise minimum (ties split the gradient evenly)
    minimum => BinaryOp::Minimum;
    /// `atan2(a, b)`: the angle of the point (b, a)
    atan2 => BinaryOp::Atan2;
    /// `a // b` with broadcasting: the quotient rounded toward -∞, as Python and NumPy
    /// (`floor_divide`); integers stay integers and dividing them by zero is an error.
    /// The gradient is zero (the result is piecewise constant).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![7.0, -7.0, 7.0], &[3], DType::F64).unwrap();
    /// let b = Tensor::from_vec(vec![2.0, 2.0, -2.0], &[3], DType::F64).unwrap();
    /// assert_eq!(a.floor_divide(&b).unwrap().to_f64_vec(), vec![3.0, -4.0, -4.0]);
    /// ```
    floor_divide => BinaryOp::FloorDivide;
    /// `a % b` with broadcasting: `a - (a // b) b`, which has the sign of `b`, as Python
    /// and NumPy (`remainder`; C's `fmod` has the sign of `a`). Gradients `(1, -(a // b))`.
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let a = Tensor::from_vec(vec![7.0, -7.0, 7.0], &[3], DType::F64).unwrap();
    /// let b = Tensor::from_vec(vec![3.0, 3.0, -3.0], &[3], DType::F64).unwrap();
    /// assert_eq!(a.remainder(&b).unwrap().to_f64_vec(), vec![1.0, 2.0, -2.0]);
    /// ```
    remainder => BinaryOp::Remainder;
}

impl Tensor {
    /// Clamp into `[min, max]`; either bound may be missing (not both) and bounds are
    /// tensors that broadcast against `self`.
    ///
    /// Gradients follow PyTorch: `self` gets the cotangent where `min ≤ x ≤ max`
    /// (bounds included), `min` where `x < min`, `max` where `x > max`; when
    /// `min > max` every element equals `max`, which gets all of it. (One deviation:
    /// where `min == max` and `x < min`, PyTorch drops the cotangent; here `min` gets it.)
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![-2.0, 0.5, 3.0], &[3], DType::F64).unwrap();
    /// let lo = Tensor::scalar(0.0, DType::F64);
    /// let hi = Tensor::scalar(1.0, DType::F64);
    /// assert_eq!(x.clamp(Some(&lo), Some(&hi)).unwrap().to_f64_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn clamp(&self, min: Option<&Tensor>, max: Option<&Tensor>) -> Result<Tensor> {
        match (min, max) {
            (None, None) => Err(Error::argument("clamp", "at least one of min and max must be given")),
            (Some(lo), None) => self.clamp_min(lo),
            (None, Some(hi)) => self.clamp_max(hi),
            (Some(lo), Some(hi)) => {
                // the result takes the shape all three broadcast to, or fails naming them
                broadcast_shapes("clamp", &broadcast_shapes("clamp", self.shape(), lo.shape())?, hi.shape())?;
                self.clamp_min(lo)?.clamp_max(hi)
            }
        }
    }

    /// [`Tensor::clamp`] with constant bounds (in this tensor's dtype).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![-2.0, 0.5, 3.0], &[3], DType::F64).unwrap();
    /// assert_eq!(x.clamp_scalar(None, Some(1.0)).unwrap().to_f64_vec(), vec![-2.0, 0.5, 1.0]);
    /// ```
    pub fn clamp_scalar(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        let lo = min.map(|v| self.scalar_like(v));
        let hi = max.map(|v| self.scalar_like(v));
        self.clamp(lo.as_ref(), hi.as_ref())
    }

    /// `max(x, min)` elementwise with the gradient rules of [`Tensor::clamp`].
    pub fn clamp_min(&self, min: &Tensor) -> Result<Tensor> {
        binary(BinaryOp::ClampMin, self, min)
    }

    /// `min(x, max)` elementwise with the gradient rules of [`Tensor::clamp`].
    pub fn clamp_max(&self, max: &Tensor) -> Result<Tensor> {
        binary(BinaryOp::ClampMax, self, max)
    }
}

// ---- comparisons: bool results, no graph ---------------------------------------------

fn compare(name: &'static str, a: &Tensor, b: &Tensor, f64cmp: fn(f64, f64) -> bool, c: Comparison) -> Result<Tensor> {
    let (a, b) = promote(a, b)?;
    let shape = broadcast_shapes(name, a.shape(), b.shape())?;
    let data = match (a.storage(), b.storage()) {
        (Storage::F32(x), Storage::F32(y)) => zip_broadcast(name, x, y, &shape, |p, q| f64cmp(p as f64, q as f64))?,
        (Storage::F64(x), Storage::F64(y)) => zip_broadcast(name, x, y, &shape, f64cmp)?,
        (Storage::I64(x), Storage::I64(y)) => zip_broadcast(name, x, y, &shape, |p, q| f64cmp(p as f64, q as f64))?,
        (Storage::Bool(x), Storage::Bool(y)) => {
            zip_broadcast(name, x, y, &shape, |p, q| f64cmp(p as u8 as f64, q as u8 as f64))?
        }
        (x, y) => return Err(Error::dtype(name, format!("dtypes {} and {}", x.dtype(), y.dtype()))),
    };
    Ok(nondiff::compared(Storage::Bool(data), c, a, b))
}

impl Tensor {
    /// Elementwise `self == other` with broadcasting, as a bool tensor (no derivative).
    ///
    /// # Errors
    /// `Shape` when the shapes do not broadcast; `DType` for operands that cannot be compared.
    ///
    /// ```
    /// use lucid_core::{DType, Tensor};
    /// let a = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F64).unwrap();
    /// let b = Tensor::scalar(2.0, DType::F64);
    /// assert_eq!(a.eq(&b).unwrap().to_f64_vec(), vec![0.0, 1.0]);
    /// assert_eq!(a.lt(&b).unwrap().to_f64_vec(), vec![1.0, 0.0]);
    /// ```
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        compare("eq", self, other, |x, y| x == y, Comparison::Eq)
    }
    /// Elementwise `self != other` with broadcasting, a bool tensor (NaN != NaN is true); see
    /// [`Tensor::eq`] for the errors.
    pub fn ne(&self, other: &Tensor) -> Result<Tensor> {
        compare("ne", self, other, |x, y| x != y, Comparison::Ne)
    }
    /// Elementwise `self < other` with broadcasting, a bool tensor; see [`Tensor::eq`].
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        compare("lt", self, other, |x, y| x < y, Comparison::Lt)
    }
    /// Elementwise `self <= other` with broadcasting, a bool tensor; see [`Tensor::eq`].
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        compare("le", self, other, |x, y| x <= y, Comparison::Le)
    }
    /// Elementwise `self > other` with broadcasting, a bool tensor; see [`Tensor::eq`].
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        compare("gt", self, other, |x, y| x > y, Comparison::Gt)
    }
    /// Elementwise `self >= other` with broadcasting, a bool tensor; see [`Tensor::eq`].
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        compare("ge", self, other, |x, y| x >= y, Comparison::Ge)
    }
}
