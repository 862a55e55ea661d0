//! Elementwise unary ops: forward kernel and VJP rule side by side.
//!
//! Every rule is `g * f'(x)`, written with Tensor ops so it is itself differentiable;
//! leading batch dims of `g` broadcast against `x` and the output untouched.

use crate::autograd::{Op, Rule};
use crate::dtype::DType;
use crate::error::Result;
use crate::map_float;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Expm1,
    Log,
    Log1p,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Tanh,
    Sigmoid,
    Abs,
    Relu,
    /// `x ** p` for a constant exponent.
    PowScalar(f64),
    /// A dtype conversion; the field is the input's dtype (the cotangent converts back).
    Cast(DType),
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
                crate::dtype::Storage::F32(a) => {
                    let p = p as f32;
                    Ok(crate::dtype::Storage::F32(a.mapv(|v| pow_f32(v, p)).into_shared()))
                }
                crate::dtype::Storage::F64(a) => Ok(crate::dtype::Storage::F64(a.mapv(|v| pow_f64(v, p)).into_shared())),
                other => Err(crate::error::Error::dtype(name, format!("expected a floating point tensor, got {}", other.dtype()))),
            },
            UnaryOp::Cast(_) => unreachable_cast(),
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
        }
    }
}

/// Integer exponents go through `powi` (exact for x < 0, as users expect of `x**2`).
fn pow_f64(v: f64, p: f64) -> f64 {
    if p.fract() == 0.0 && p.abs() <= i32::MAX as f64 { v.powi(p as i32) } else { v.powf(p) }
}
fn pow_f32(v: f32, p: f32) -> f32 {
    if p.fract() == 0.0 && p.abs() <= i32::MAX as f32 { v.powi(p as i32) } else { v.powf(p) }
}

// Cast never reaches `forward`: `to_dtype` converts storage directly.
fn unreachable_cast() -> Result<crate::dtype::Storage> {
    Err(crate::error::Error::argument("to", "internal: cast has no elementwise kernel"))
}

impl Rule for UnaryOp {
    fn name(&self) -> &'static str {
        self.name_str()
    }

    fn is_elementwise(&self) -> bool {
        true
    }

    fn vjp(&self, inputs: &[Tensor], out: &Tensor, g: &Tensor, _batch: usize, _needs: &[bool]) -> Result<Vec<Option<Tensor>>> {
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
        };
        Ok(vec![Some(gx)])
    }
}

fn unary(x: &Tensor, op: UnaryOp) -> Result<Tensor> {
    let data = op.forward(x)?;
    Ok(Tensor::from_op(data, Op::Unary(op), vec![x.clone()]))
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
}

impl Tensor {
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
            return Ok(Tensor::from_storage(data));
        }
        Ok(Tensor::from_op(data, Op::Unary(UnaryOp::Cast(from)), vec![self.clone()]))
    }

    /// Sign of each element (-1, 0 or 1); its derivative is zero, so it records nothing.
    pub fn sign(&self) -> Result<Tensor> {
        let data = match self.storage() {
            crate::dtype::Storage::I64(a) => crate::dtype::Storage::I64(a.mapv(|v| v.signum()).into_shared()),
            s => map_float!("sign", s, |v| if v > 0.0 { 1.0 } else if v < 0.0 { -1.0 } else { 0.0 * v })?,
        };
        Ok(Tensor::from_storage(data))
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
