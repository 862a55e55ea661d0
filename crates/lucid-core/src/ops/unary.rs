//! Elementwise unary ops: forward kernel and VJP rule side by side.
//!
//! Every rule is `g * f'(x)`, written with Tensor ops so it is itself differentiable;
//! leading batch dims of `g` broadcast against `x` and the output untouched.
//! Piecewise-constant functions (floor, ceil, round, sign) record a node whose rule
//! returns zeros, as PyTorch does, so `y.sum().backward()` works through them.

use std::f64::consts::{LN_10, LN_2};

use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
use crate::map_float;
use crate::ops::binary::where_;
use crate::ops::nondiff::{self, FloatTest};
use crate::ops::special;
use crate::structure::{Reads, Structure};
use crate::tensor::graph::Rule;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
/// The elementwise unary ops: the recorded op of a node. Each Jacobian is diagonal,
/// `∂y_i/∂x_i = f'(x_i)`, and the rule uses the forward output where that is cheaper.
pub enum UnaryOp {
    /// `-x`: y' = -1.
    Neg,
    /// `eˣ`: y' = y.
    Exp,
    /// `eˣ - 1`, accurate near 0: y' = eˣ.
    Expm1,
    /// Natural logarithm: y' = 1/x.
    Log,
    /// `ln(1 + x)`, accurate near 0: y' = 1/(1 + x).
    Log1p,
    /// `√x`: y' = 1/(2y).
    Sqrt,
    /// `sin x`: y' = cos x.
    Sin,
    /// `cos x`: y' = -sin x.
    Cos,
    /// `tan x`: y' = 1 + y².
    Tan,
    /// `tanh x`: y' = 1 - y².
    Tanh,
    /// `1/(1 + e⁻ˣ)`: y' = y(1 - y).
    Sigmoid,
    /// `|x|`: y' = sign x (0 at 0).
    Abs,
    /// `max(x, 0)`: y' = 1 where x > 0, else 0.
    Relu,
    /// `x ** p` for a constant exponent.
    PowScalar(f64),
    /// A dtype conversion; the field is the input's dtype (the cotangent converts back).
    Cast(DType),
    /// `1/x`: y' = -y².
    Reciprocal,
    /// `1/√x`: y' = -y³/2.
    Rsqrt,
    /// `log₂ x`: y' = 1/(x ln 2).
    Log2,
    /// `log₁₀ x`: y' = 1/(x ln 10).
    Log10,
    /// `asin x`: y' = 1/√(1 - x²).
    Asin,
    /// `acos x`: y' = -1/√(1 - x²).
    Acos,
    /// `atan x`: y' = 1/(1 + x²).
    Atan,
    /// `sinh x`: y' = cosh x.
    Sinh,
    /// `cosh x`: y' = sinh x.
    Cosh,
    /// `asinh x`: y' = 1/√(x² + 1).
    Asinh,
    /// `acosh x`: y' = 1/√(x² - 1).
    Acosh,
    /// `atanh x`: y' = 1/(1 - x²).
    Atanh,
    /// The error function: y' = 2/√π e^(-x²).
    Erf,
    /// The standard normal CDF Φ (used by gelu's rule; accurate in the left tail).
    NormalCdf,
    /// `log(1 + e^{βx}) / β`, linear (`x`) where `βx > threshold`.
    Softplus {
        /// The sharpness β (> 0).
        beta: f64,
        /// Where `βx` exceeds it the function is `x` itself.
        threshold: f64,
    },
    /// `x Φ(x)`, or its tanh approximation.
    Gelu {
        /// Use PyTorch's tanh approximation instead of the exact Φ.
        tanh: bool,
    },
    /// A piecewise-constant function: zero derivative wherever it has one.
    Step(StepFn),
    /// The identity into new memory (PyTorch's `clone`): a node of its own whose
    /// cotangent passes through unchanged. Last, so tapes saved before it still load.
    Copy,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
/// The piecewise-constant functions of [`UnaryOp::Step`].
pub enum StepFn {
    /// The largest integer `<= x`.
    Floor,
    /// The smallest integer `>= x`.
    Ceil,
    /// Round half to even at `decimals` decimal places (negative: tens, hundreds, …).
    Round(i32),
    /// -1, 0 or 1 by the sign of `x` (NaN stays NaN).
    Sign,
}

/// A float kernel computed in f64 (f32 rounds the f64 result).
fn via_f64<T: Float>(v: T, f: impl Fn(f64) -> f64) -> T {
    T::of(f(v.to_f64()))
}

/// Round half to even at `d` decimals, the way PyTorch scales (`x·10^d` or `x/10^-d`).
fn round_decimals(v: f64, d: i32) -> f64 {
    match d {
        0 => v.round_ties_even(),
        d if d > 0 => {
            let s = 10f64.powi(d);
            (v * s).round_ties_even() / s
        }
        d => {
            let s = 10f64.powi(-d);
            (v / s).round_ties_even() * s
        }
    }
}

impl StepFn {
    fn name(self) -> &'static str {
        match self {
            StepFn::Floor => "floor",
            StepFn::Ceil => "ceil",
            StepFn::Round(_) => "round",
            StepFn::Sign => "sign",
        }
    }

    fn forward(self, s: &Storage) -> Result<Storage> {
        if let Storage::I64(a) = s {
            return match self {
                StepFn::Sign => Ok(Storage::I64(a.mapv(i64::signum).into_shared())),
                StepFn::Round(d) if d < 0 => {
                    Err(Error::dtype("round", format!("decimals={d} is not supported for int64 tensors")))
                }
                _ => Ok(s.clone()),
            };
        }
        let name = self.name();
        match self {
            StepFn::Floor => map_float!(name, s, |v| v.floor()),
            StepFn::Ceil => map_float!(name, s, |v| v.ceil()),
            StepFn::Round(d) => map_float!(name, s, |v| via_f64(v, |u| round_decimals(u, d))),
            // 0 * v keeps NaN as NaN (and ±0 as ±0)
            StepFn::Sign => map_float!(name, s, |v| if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0 * v
            }),
        }
    }
}

impl UnaryOp {
    fn forward(self, x: &Tensor) -> Result<crate::dtype::Storage> {
        let s = x.storage();
        let name = self.name_str();
        match self {
            UnaryOp::Neg => match s {
                crate::dtype::Storage::I64(a) => Ok(crate::dtype::Storage::I64(a.mapv(|v| -v).into_shared())),
                _ => map_float!(name, s, |v| -v),
            },
            UnaryOp::Exp => map_float!(name, s, |v| v.exp()),
            UnaryOp::Expm1 => map_float!(name, s, |v| v.exp_m1()),
            UnaryOp::Log => map_float!(name, s, |v| v.ln()),
            UnaryOp::Log1p => map_float!(name, s, |v| v.ln_1p()),
            UnaryOp::Sqrt => map_float!(name, s, |v| v.sqrt()),
            UnaryOp::Sin => map_float!(name, s, |v| v.sin()),
            UnaryOp::Cos => map_float!(name, s, |v| v.cos()),
            UnaryOp::Tan => map_float!(name, s, |v| v.tan()),
            UnaryOp::Tanh => map_float!(name, s, |v| v.tanh()),
            // Split by sign so neither branch overflows.
            UnaryOp::Sigmoid => map_float!(name, s, |v| if v >= 0.0 {
                1.0 / (1.0 + (-v).exp())
            } else {
                let e = v.exp();
                e / (1.0 + e)
            }),
            UnaryOp::Abs => match s {
                crate::dtype::Storage::I64(a) => Ok(crate::dtype::Storage::I64(a.mapv(|v| v.abs()).into_shared())),
                _ => map_float!(name, s, |v| v.abs()),
            },
            UnaryOp::Relu => map_float!(name, s, |v| if v > 0.0 { v } else { 0.0 }),
            UnaryOp::PowScalar(p) => match s {
                // squares and cubes as products: the same values as `powi` (which
                // multiplies by repeated squaring: x·(x·x)), but a loop the compiler
                // vectorizes instead of a libgcc call per element (10x at 10^4)
                crate::dtype::Storage::F32(a) => Ok(crate::dtype::Storage::F32(
                    match p {
                        2.0 => a.mapv(|v| v * v),
                        3.0 => a.mapv(|v| v * (v * v)),
                        _ => a.mapv(|v| pow_f32(v, p as f32)),
                    }
                    .into_shared(),
                )),
                crate::dtype::Storage::F64(a) => Ok(crate::dtype::Storage::F64(
                    match p {
                        2.0 => a.mapv(|v| v * v),
                        3.0 => a.mapv(|v| v * (v * v)),
                        _ => a.mapv(|v| pow_f64(v, p)),
                    }
                    .into_shared(),
                )),
                other => Err(crate::error::Error::dtype(
                    name,
                    format!("expected a floating point tensor, got {}", other.dtype()),
                )),
            },
            UnaryOp::Cast(_) => unreachable_cast(),
            UnaryOp::Reciprocal => map_float!(name, s, |v| v.recip()),
            UnaryOp::Rsqrt => map_float!(name, s, |v| v.sqrt().recip()),
            UnaryOp::Log2 => map_float!(name, s, |v| v.log2()),
            UnaryOp::Log10 => map_float!(name, s, |v| v.log10()),
            UnaryOp::Asin => map_float!(name, s, |v| v.asin()),
            UnaryOp::Acos => map_float!(name, s, |v| v.acos()),
            UnaryOp::Atan => map_float!(name, s, |v| v.atan()),
            UnaryOp::Sinh => map_float!(name, s, |v| v.sinh()),
            UnaryOp::Cosh => map_float!(name, s, |v| v.cosh()),
            UnaryOp::Asinh => map_float!(name, s, |v| v.asinh()),
            UnaryOp::Acosh => map_float!(name, s, |v| v.acosh()),
            UnaryOp::Atanh => map_float!(name, s, |v| v.atanh()),
            UnaryOp::Erf => map_float!(name, s, |v| via_f64(v, special::erf)),
            UnaryOp::NormalCdf => map_float!(name, s, |v| via_f64(v, special::normal_cdf)),
            UnaryOp::Softplus { beta, threshold } => {
                map_float!(name, s, |v| via_f64(v, |u| special::softplus(u, beta, threshold)))
            }
            UnaryOp::Gelu { tanh } => map_float!(name, s, |v| via_f64(v, |u| special::gelu(u, tanh))),
            UnaryOp::Step(f) => f.forward(s),
            // every dtype: the copy is data, whether or not it is differentiable
            UnaryOp::Copy => Ok(crate::map_storage!(s, |a| a.as_standard_layout().into_owned().into_shared())),
        }
    }

    fn name_str(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Expm1 => "expm1",
            UnaryOp::Log => "log",
            UnaryOp::Log1p => "log1p",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tan => "tan",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Abs => "abs",
            UnaryOp::Relu => "relu",
            UnaryOp::PowScalar(_) => "pow",
            UnaryOp::Cast(_) => "to",
            UnaryOp::Reciprocal => "reciprocal",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Log2 => "log2",
            UnaryOp::Log10 => "log10",
            UnaryOp::Asin => "asin",
            UnaryOp::Acos => "acos",
            UnaryOp::Atan => "atan",
            UnaryOp::Sinh => "sinh",
            UnaryOp::Cosh => "cosh",
            UnaryOp::Asinh => "asinh",
            UnaryOp::Acosh => "acosh",
            UnaryOp::Atanh => "atanh",
            UnaryOp::Erf => "erf",
            UnaryOp::NormalCdf => "normal_cdf",
            UnaryOp::Softplus { .. } => "softplus",
            UnaryOp::Gelu { .. } => "gelu",
            UnaryOp::Step(f) => f.name(),
            UnaryOp::Copy => "clone",
        }
    }
}

/// Integer exponents go through `powi` (exact for x < 0, as users expect of `x**2`).
fn pow_f64(v: f64, p: f64) -> f64 {
    if p.fract() == 0.0 && p.abs() <= i32::MAX as f64 {
        v.powi(p as i32)
    } else {
        v.powf(p)
    }
}
fn pow_f32(v: f32, p: f32) -> f32 {
    if p.fract() == 0.0 && p.abs() <= i32::MAX as f32 {
        v.powi(p as i32)
    } else {
        v.powf(p)
    }
}

// Cast never reaches `forward`: `to_dtype` converts storage directly.
fn unreachable_cast() -> Result<crate::dtype::Storage> {
    Err(crate::error::Error::argument("to", "internal: cast has no elementwise kernel"))
}

impl Rule for UnaryOp {
    // Elementwise: the op on the stacked samples is the stacked ops.
    fn batch(&self, inputs: &[Tensor], batched: &[bool], shape: &[usize], dtype: DType) -> Result<Option<Tensor>> {
        crate::tensor::graph::elementwise(self, inputs, batched, shape, dtype)
    }

    fn replay(&self, inputs: &[Tensor], _shape: &[usize], dtype: DType) -> Result<Tensor> {
        match self {
            UnaryOp::Cast(_) => inputs[0].to_dtype(dtype),
            op => unary(&inputs[0], *op),
        }
    }

    fn name(&self) -> &'static str {
        self.name_str()
    }

    fn structure(&self) -> Structure<'_> {
        use UnaryOp::*;
        Structure::Elementwise(match self {
            Neg | Cast(_) | Step(_) | Copy => Reads::NOTHING,
            Exp | Expm1 | Sqrt | Tan | Tanh | Sigmoid | Reciprocal | Rsqrt => Reads { inputs: false, output: true },
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

    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        g: &Tensor,
        _batch: usize,
        _needs: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let gx = match *self {
            // d(-x) = -1
            UnaryOp::Neg => g.neg()?,
            // d exp x = exp x
            UnaryOp::Exp => g.mul(out)?,
            // d (e^x - 1) = e^x = out + 1
            UnaryOp::Expm1 => g.mul(&out.add_scalar(1.0)?)?,
            // d log x = 1/x
            UnaryOp::Log => g.div(x)?,
            // d log(1+x) = 1/(1+x)
            UnaryOp::Log1p => g.div(&x.add_scalar(1.0)?)?,
            // d sqrt x = 1 / (2 sqrt x)
            UnaryOp::Sqrt => g.div(&out.mul_scalar(2.0)?)?,
            // d sin x = cos x
            UnaryOp::Sin => g.mul(&x.cos()?)?,
            // d cos x = -sin x
            UnaryOp::Cos => g.mul(&x.sin()?)?.neg()?,
            // d tan x = 1 + tan² x
            UnaryOp::Tan => g.mul(&out.square()?.add_scalar(1.0)?)?,
            // d tanh x = 1 - tanh² x
            UnaryOp::Tanh => g.mul(&out.square()?.neg()?.add_scalar(1.0)?)?,
            // d σ(x) = σ(x) (1 - σ(x))
            UnaryOp::Sigmoid => g.mul(&out.mul(&out.neg()?.add_scalar(1.0)?)?)?,
            // d |x| = sign x (0 at 0, as PyTorch)
            UnaryOp::Abs => g.mul(&x.sign()?)?,
            // d relu x = [x > 0] (0 at 0, as PyTorch)
            UnaryOp::Relu => g.mul(&x.gt(&x.scalar_like(0.0))?.to_dtype(x.dtype())?)?,
            // d x^p = p x^(p-1)
            UnaryOp::PowScalar(p) => {
                if p == 0.0 {
                    return Ok(vec![Some(g.mul_scalar(0.0)?)]);
                }
                g.mul(&x.pow_scalar(p - 1.0)?.mul_scalar(p)?)?
            }
            // the cotangent of a conversion is converted back
            UnaryOp::Cast(from) => g.to_dtype(from)?,
            // d(1/x) = -1/x² = -out²
            UnaryOp::Reciprocal => g.mul(&out.square()?)?.neg()?,
            // d x^(-1/2) = -x^(-3/2) / 2 = -out³ / 2
            UnaryOp::Rsqrt => g.mul(&out.pow_scalar(3.0)?)?.mul_scalar(-0.5)?,
            // d log2 x = 1 / (x ln 2)
            UnaryOp::Log2 => g.div(&x.mul_scalar(LN_2)?)?,
            // d log10 x = 1 / (x ln 10)
            UnaryOp::Log10 => g.div(&x.mul_scalar(LN_10)?)?,
            // d asin x = 1/√(1 - x²)  (inf at ±1, as PyTorch)
            UnaryOp::Asin => g.mul(&one_minus_square(x)?.rsqrt()?)?,
            // d acos x = -1/√(1 - x²)
            UnaryOp::Acos => g.mul(&one_minus_square(x)?.rsqrt()?)?.neg()?,
            // d atan x = 1 / (1 + x²)
            UnaryOp::Atan => g.div(&x.square()?.add_scalar(1.0)?)?,
            // d sinh x = cosh x
            UnaryOp::Sinh => g.mul(&x.cosh()?)?,
            // d cosh x = sinh x
            UnaryOp::Cosh => g.mul(&x.sinh()?)?,
            // d asinh x = 1/√(x² + 1)
            UnaryOp::Asinh => g.mul(&x.square()?.add_scalar(1.0)?.rsqrt()?)?,
            // d acosh x = 1/√(x² - 1)  (inf at 1, as PyTorch)
            UnaryOp::Acosh => g.mul(&x.square()?.add_scalar(-1.0)?.rsqrt()?)?,
            // d atanh x = 1 / (1 - x²)
            UnaryOp::Atanh => g.div(&one_minus_square(x)?)?,
            // d erf x = (2/√π) e^(-x²)
            UnaryOp::Erf => g.mul(&x.square()?.neg()?.exp()?.mul_scalar(std::f64::consts::FRAC_2_SQRT_PI)?)?,
            // d Φ(x) = φ(x) = e^(-x²/2) / √(2π)
            UnaryOp::NormalCdf => g.mul(&normal_pdf(x)?)?,
            // d softplus x = σ(βx) below the threshold, 1 on the linear branch (PyTorch)
            UnaryOp::Softplus { beta, threshold } => {
                let bx = x.mul_scalar(beta)?;
                let linear = bx.gt(&x.scalar_like(threshold))?;
                g.mul(&where_(&linear, &x.scalar_like(1.0), &bx.sigmoid()?)?)?
            }
            // d x Φ(x) = Φ(x) + x φ(x)
            UnaryOp::Gelu { tanh: false } => g.mul(&x.normal_cdf()?.add(&x.mul(&normal_pdf(x)?)?)?)?,
            // y = x (1 + t) / 2 with t = tanh(k (x + c x³)):
            // dy = (1 + t) / 2 + x (1 - t²) k (1 + 3c x²) / 2
            UnaryOp::Gelu { tanh: true } => {
                let (k, c) = (special::SQRT_2_OVER_PI, special::GELU_TANH_CUBIC);
                let x2 = x.square()?;
                let t = x.mul(&x2.mul_scalar(c)?.add_scalar(1.0)?)?.mul_scalar(k)?.tanh()?;
                let slope = x2.mul_scalar(3.0 * c)?.add_scalar(1.0)?.mul_scalar(0.5 * k)?;
                let d = t.add_scalar(1.0)?.mul_scalar(0.5)?.add(&x.mul(&one_minus_square(&t)?)?.mul(&slope)?)?;
                g.mul(&d)?
            }
            // piecewise constant: zero (also at the jumps, as PyTorch)
            UnaryOp::Step(_) => Tensor::zeros(g.shape(), g.dtype()),
            // d clone(x) = 1: the cotangent itself
            UnaryOp::Copy => g.clone(),
        };
        Ok(vec![Some(gx)])
    }
}

/// `1 - x²`
fn one_minus_square(x: &Tensor) -> Result<Tensor> {
    x.square()?.neg()?.add_scalar(1.0)
}

/// The standard normal density `φ(x) = e^(-x²/2) / √(2π)`.
fn normal_pdf(x: &Tensor) -> Result<Tensor> {
    x.square()?.mul_scalar(-0.5)?.exp()?.mul_scalar(special::ONE_OVER_SQRT_2PI)
}

fn unary(x: &Tensor, op: UnaryOp) -> Result<Tensor> {
    let data = op.forward(x)?;
    Ok(Tensor::from_op(data, op, vec![x.clone()]))
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl Tensor {
            $($(#[$doc])* pub fn $name(&self) -> Result<Tensor> { unary(self, $op) })*
        }
    };
}

unary_methods! {
    /// `-x`
    neg => UnaryOp::Neg;
    /// `e^x`
    exp => UnaryOp::Exp;
    /// `e^x - 1`, accurate near 0
    expm1 => UnaryOp::Expm1;
    /// natural logarithm
    log => UnaryOp::Log;
    /// `log(1 + x)`, accurate near 0
    log1p => UnaryOp::Log1p;
    /// square root
    sqrt => UnaryOp::Sqrt;
    /// sine
    sin => UnaryOp::Sin;
    /// cosine
    cos => UnaryOp::Cos;
    /// tangent
    tan => UnaryOp::Tan;
    /// hyperbolic tangent
    tanh => UnaryOp::Tanh;
    /// logistic sigmoid `1 / (1 + e^-x)`
    sigmoid => UnaryOp::Sigmoid;
    /// absolute value
    abs => UnaryOp::Abs;
    /// `max(x, 0)`
    relu => UnaryOp::Relu;
    /// `1 / x`
    reciprocal => UnaryOp::Reciprocal;
    /// `1 / √x`
    rsqrt => UnaryOp::Rsqrt;
    /// base-2 logarithm
    log2 => UnaryOp::Log2;
    /// base-10 logarithm
    log10 => UnaryOp::Log10;
    /// inverse sine
    asin => UnaryOp::Asin;
    /// inverse cosine
    acos => UnaryOp::Acos;
    /// inverse tangent
    atan => UnaryOp::Atan;
    /// hyperbolic sine
    sinh => UnaryOp::Sinh;
    /// hyperbolic cosine
    cosh => UnaryOp::Cosh;
    /// inverse hyperbolic sine
    asinh => UnaryOp::Asinh;
    /// inverse hyperbolic cosine
    acosh => UnaryOp::Acosh;
    /// inverse hyperbolic tangent
    atanh => UnaryOp::Atanh;
    /// the error function, accurate to ~1e-15 relative (see `ops::special`)
    erf => UnaryOp::Erf;
    /// the standard normal CDF `Φ(x) = (1 + erf(x/√2)) / 2`
    normal_cdf => UnaryOp::NormalCdf;
    /// largest integer ≤ x (zero derivative)
    floor => UnaryOp::Step(StepFn::Floor);
    /// smallest integer ≥ x (zero derivative)
    ceil => UnaryOp::Step(StepFn::Ceil);
    /// sign of each element: -1, 0 or 1, NaN stays NaN (zero derivative)
    sign => UnaryOp::Step(StepFn::Sign);
}

impl Tensor {
    /// A copy of this tensor in new memory that stays in the graph: PyTorch's `clone`
    /// (`Tensor::clone`, the `Clone` trait, is the cheap handle copy and shares
    /// everything). The copy of a tensor that requires grad is a non-leaf whose
    /// gradient flows back to this one; otherwise it is a new leaf. Any dtype.
    ///
    /// Storage is immutable, so sharing it would be safe; the copy owns its memory
    /// anyway so that nothing handed out over it (a DLPack or NumPy view) aliases the
    /// original, as a PyTorch user expects of `clone`.
    ///
    /// ```
    /// use lucid_core::{autograd, DType, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 2.0], &[2], DType::F64).unwrap();
    /// x.set_requires_grad(true).unwrap();
    /// let y = x.copy().unwrap();
    /// assert!(!y.is_leaf() && y.grad_fn_name() == Some("clone"));
    /// // y = x, dy/dx = 1
    /// autograd::backward(&[y.mul_scalar(3.0).unwrap().sum_all().unwrap()], &[None], false, false).unwrap();
    /// assert_eq!(x.grad().unwrap().to_f64_vec(), vec![3.0, 3.0]);
    /// ```
    pub fn copy(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Copy)
    }

    /// `x ** p` for a constant exponent.
    pub fn pow_scalar(&self, p: f64) -> Result<Tensor> {
        unary(self, UnaryOp::PowScalar(p))
    }

    /// `x * x`
    pub fn square(&self) -> Result<Tensor> {
        self.mul(self)
    }

    /// Convert to `dtype`; differentiable between float dtypes.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if self.dtype() == dtype {
            return Ok(self.clone());
        }
        let data = self.storage().cast(dtype);
        let from = self.dtype();
        if !from.is_float() {
            return Ok(nondiff::cast(data, self));
        }
        Ok(Tensor::from_op(data, UnaryOp::Cast(from), vec![self.clone()]))
    }

    /// Round half to even at `decimals` places (zero derivative).
    ///
    /// ```
    /// use lucid_core::{Tensor, DType};
    /// let x = Tensor::from_vec(vec![0.5, 1.5, 2.675], &[3], DType::F64).unwrap();
    /// assert_eq!(x.round(0).unwrap().to_f64_vec(), vec![0.0, 2.0, 3.0]);
    /// assert_eq!(x.round(1).unwrap().to_f64_vec(), vec![0.5, 1.5, 2.7]);
    /// ```
    pub fn round(&self, decimals: i32) -> Result<Tensor> {
        unary(self, UnaryOp::Step(StepFn::Round(decimals)))
    }

    /// `log(1 + e^{βx}) / β`, and `x` where `βx > threshold` (PyTorch's defaults are
    /// β = 1, threshold = 20). Stable for any x.
    pub fn softplus(&self, beta: f64, threshold: f64) -> Result<Tensor> {
        if beta == 0.0 || !beta.is_finite() {
            return Err(Error::argument("softplus", format!("beta must be finite and nonzero, got {beta}")));
        }
        unary(self, UnaryOp::Softplus { beta, threshold })
    }

    /// `x Φ(x)` with the exact normal CDF, or PyTorch's `approximate='tanh'` form.
    pub fn gelu(&self, tanh_approximation: bool) -> Result<Tensor> {
        unary(self, UnaryOp::Gelu { tanh: tanh_approximation })
    }

    /// Elementwise test `x is NaN` (a bool tensor; false for integer tensors).
    pub fn isnan(&self) -> Result<Tensor> {
        self.float_test(|v| v.is_nan(), false, FloatTest::IsNan)
    }

    /// Elementwise test `x is finite` (not NaN, not ±inf; true for integer tensors).
    pub fn isfinite(&self) -> Result<Tensor> {
        self.float_test(|v| v.is_finite(), true, FloatTest::IsFinite)
    }

    /// Elementwise test `x is ±inf` (false for integer tensors).
    pub fn isinf(&self) -> Result<Tensor> {
        self.float_test(|v| v.is_infinite(), false, FloatTest::IsInf)
    }

    fn float_test(&self, f: fn(f64) -> bool, int_value: bool, test: FloatTest) -> Result<Tensor> {
        let data = match self.storage() {
            Storage::F32(a) => a.mapv(|v| f(v as f64)).into_shared(),
            Storage::F64(a) => a.mapv(f).into_shared(),
            s => ndarray::ArcArray::from_elem(ndarray::IxDyn(s.shape()), int_value),
        };
        Ok(nondiff::tested(Storage::Bool(data), test, self))
    }

    /// A 0-d constant of this tensor's dtype.
    pub fn scalar_like(&self, value: f64) -> Tensor {
        Tensor::scalar(value, self.dtype())
    }

    /// `x + c` for a constant `c`.
    pub fn add_scalar(&self, c: f64) -> Result<Tensor> {
        self.add(&self.scalar_like(c))
    }

    /// `x * c` for a constant `c`.
    pub fn mul_scalar(&self, c: f64) -> Result<Tensor> {
        self.mul(&self.scalar_like(c))
    }
}
