//! `Tensor`: shared n-dimensional data plus, when it was computed from tensors that
//! require grad, the graph node that produced it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ndarray::{ArcArray, IxDyn};

use crate::dtype::{DType, Float, Storage};
use crate::error::{Error, Result};
pub(crate) mod graph;
mod operators;
pub(crate) mod recording;

use graph::{is_grad_enabled, Node, Rule};

/// A tensor: cheap to clone (an `Arc`), `Send + Sync`.
///
/// ```
/// use lucid_core::{Tensor, DType};
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], DType::F64).unwrap();
/// let y = x.mul(&x).unwrap().sum_all().unwrap();
/// assert_eq!(y.item().unwrap(), 14.0);
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) data: Storage,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) grad: Mutex<Option<Tensor>>,
    pub(crate) node: Option<Node>,
}

impl Drop for Inner {
    /// Dropping a long chain must not recurse once per node: unlink the inputs of every
    /// tensor we are the last owner of and drop them from an explicit stack.
    fn drop(&mut self) {
        let Some(node) = self.node.take() else { return };
        let mut stack: Vec<Tensor> = node.inputs;
        while let Some(t) = stack.pop() {
            if let Some(mut inner) = Arc::into_inner(t.0) {
                if let Some(n) = inner.node.take() {
                    stack.extend(n.inputs);
                }
            }
        }
    }
}

impl Tensor {
    // ---- construction -------------------------------------------------------------

    /// A leaf tensor over `data` that does not require grad.
    pub fn from_storage(data: Storage) -> Tensor {
        Tensor(Arc::new(Inner { data, requires_grad: AtomicBool::new(false), grad: Mutex::new(None), node: None }))
    }

    /// The result of an op: records a graph node when grad mode is on and some input
    /// requires grad; otherwise a plain tensor. While a tape records, any op with a
    /// traced input records a node (NOTE [tape recording]), which requires grad only
    /// when it would have anyway.
    pub(crate) fn from_op(data: Storage, op: impl Rule + 'static, inputs: Vec<Tensor>) -> Tensor {
        let grad = data.dtype().is_float() && is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        if grad || (recording::active() && inputs.iter().any(Tensor::is_traced)) {
            return Tensor::with_node(data, grad, op, inputs);
        }
        Tensor::from_storage(data)
    }

    /// A value computed from `inputs` that carries no derivative (a comparison, an
    /// index, a detached copy): a plain tensor, except that while a tape records it keeps
    /// a node (which never requires grad) when an input is traced, so replay recomputes it.
    pub(crate) fn from_nondiff(data: Storage, op: impl Rule + 'static, inputs: Vec<Tensor>) -> Tensor {
        if recording::active() && inputs.iter().any(Tensor::is_traced) {
            return Tensor::with_node(data, false, op, inputs);
        }
        Tensor::from_storage(data)
    }

    fn with_node(data: Storage, grad: bool, op: impl Rule + 'static, inputs: Vec<Tensor>) -> Tensor {
        let t = Tensor(Arc::new(Inner {
            data,
            requires_grad: AtomicBool::new(grad),
            grad: Mutex::new(None),
            node: Some(Node { op: Arc::new(op), inputs, released: AtomicBool::new(false) }),
        }));
        if recording::active() {
            recording::note_created(&t);
        }
        t
    }

    /// A leaf tensor over an ndarray of floats (`f32` or `f64`), sharing its buffer.
    pub fn from_array<T: Float>(a: ArcArray<T, IxDyn>) -> Tensor {
        Tensor::from_storage(T::wrap(a))
    }

    /// A tensor of `dtype` from row-major values.
    pub fn from_vec(values: Vec<f64>, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let n = crate::dtype::checked_numel("tensor", shape, 8)?;
        if n != values.len() {
            return Err(Error::shape("tensor", format!("{} values cannot fill shape {:?}", values.len(), shape)));
        }
        let a = ArcArray::from_shape_vec(IxDyn(shape), values).map_err(|e| Error::shape("tensor", e.to_string()))?;
        Ok(Tensor::from_storage(Storage::F64(a).cast(dtype)))
    }

    /// A 0-d tensor holding `value` converted to `dtype`.
    ///
    /// ```
    /// use lucid_core::{DType, Tensor};
    /// let t = Tensor::scalar(2.5, DType::F32);
    /// assert_eq!(t.ndim(), 0);
    /// assert_eq!(t.item().unwrap(), 2.5);
    /// ```
    pub fn scalar(value: f64, dtype: DType) -> Tensor {
        Tensor::from_storage(Storage::full(dtype, &[], value))
    }
    /// A tensor of zeros (`false` for bool). Panics when the memory cannot be allocated;
    /// user-given sizes go through [`Tensor::try_full`].
    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::from_storage(Storage::zeros(dtype, shape))
    }
    /// A tensor of ones (`true` for bool); see [`Tensor::zeros`] for allocation failures.
    pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, 1.0, dtype)
    }
    /// A tensor of `shape` filled with `value` converted to `dtype` (truncated toward zero for
    /// int64, `value != 0` for bool); see [`Tensor::zeros`] for allocation failures.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        Tensor::from_storage(Storage::full(dtype, shape, value))
    }
    /// [`Tensor::full`] for user-given sizes: an error, never a panic or an abort,
    /// when the shape is too large or the memory cannot be allocated.
    pub fn try_full(op: &'static str, shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        Ok(Tensor::from_storage(Storage::try_full(op, dtype, shape, value)?))
    }

    /// `n × m` identity for user-given sizes (see [`Tensor::try_full`]).
    pub fn try_eye(n: usize, m: Option<usize>, dtype: DType) -> Result<Tensor> {
        let m = m.unwrap_or(n);
        // zeros of the final dtype with the diagonal written in place (no cast pass)
        let mut data = Storage::try_full("eye", dtype, &[n, m], 0.0)?;
        let k = n.min(m);
        fn diagonal<T: Clone>(a: &mut ndarray::ArcArray<T, IxDyn>, k: usize, m: usize, one: T) {
            if let Some(flat) = a.as_slice_mut() {
                (0..k).for_each(|i| flat[i * m + i] = one.clone());
            }
        }
        match &mut data {
            Storage::F32(a) => diagonal(a, k, m, 1.0),
            Storage::F64(a) => diagonal(a, k, m, 1.0),
            Storage::I64(a) => diagonal(a, k, m, 1),
            Storage::Bool(a) => diagonal(a, k, m, true),
        }
        Ok(Tensor::from_storage(data))
    }

    /// Zeros of this tensor's shape and dtype: a new leaf outside any graph.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape(), self.dtype())
    }
    /// Ones of this tensor's shape and dtype: a new leaf outside any graph.
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape(), self.dtype())
    }

    /// `n × m` identity (m = n when `None`). Panics when it cannot be allocated;
    /// user-given sizes go through [`Tensor::try_eye`].
    pub fn eye(n: usize, m: Option<usize>, dtype: DType) -> Tensor {
        Tensor::try_eye(n, m, dtype).unwrap_or_else(|e| panic!("{}", e.message()))
    }

    /// Values `start, start + step, …` below `end` (above it for a negative step).
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::argument(
                "arange",
                format!("needs finite start, end and a nonzero step, got ({start}, {end}, {step})"),
            ));
        }
        let count = ((end - start) / step).ceil().max(0.0);
        let n = count as usize; // saturates for huge counts; checked next
        if count >= usize::MAX as f64 {
            return Err(Error::argument(
                "arange",
                format!("({start:?}, {end:?}, {step:?}) gives too many values to address"),
            ));
        }
        Storage::generate("arange", dtype, n, |i| start + step * i as f64).map(Tensor::from_storage)
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive.
    pub fn linspace(start: f64, end: f64, steps: usize, dtype: DType) -> Result<Tensor> {
        let h = (end - start) / steps.saturating_sub(1) as f64; // used only for steps > 1
        let value = |i: usize| match steps {
            1 => start,
            _ if i + 1 == steps => end,
            _ => start + h * i as f64,
        };
        Storage::generate("linspace", dtype, steps, value).map(Tensor::from_storage)
    }

    // ---- accessors ------------------------------------------------------------------

    /// The data, with its dtype (a view's data: the shared buffer with this tensor's shape
    /// and strides).
    pub fn storage(&self) -> &Storage {
        &self.0.data
    }
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.data.dtype()
    }
    /// The size of each dim (empty for a 0-d tensor).
    pub fn shape(&self) -> &[usize] {
        self.0.data.shape()
    }
    /// The number of dims.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }
    /// The number of elements: the product of the shape (1 for a 0-d tensor).
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }
    /// Identity of this tensor (stable while it is alive); keys the sweep's stores.
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
    /// Whether `other` is this very tensor (a clone of the handle), not merely equal values.
    pub fn same(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    /// Whether ops on this tensor record a graph (under grad mode) so that derivatives can
    /// reach it.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }
    /// Whether this tensor was not computed by a recorded op (created by the user, or
    /// detached): the tensors whose `.grad` [`crate::autograd::backward`] fills.
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }
    pub(crate) fn node(&self) -> Option<&Node> {
        self.0.node.as_ref()
    }
    /// The name of the op that produced this tensor, `None` for a leaf.
    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.node().map(|n| n.op.name())
    }

    /// Mark a leaf as requiring grad (or not). Only floating leaves can require grad;
    /// a non-leaf's flag cannot be changed (detach it instead).
    pub fn set_requires_grad(&self, flag: bool) -> Result<()> {
        if !self.is_leaf() {
            if flag {
                return Ok(());
            }
            return Err(Error::graph(
                "requires_grad_",
                "cannot turn off requires_grad on a non-leaf tensor; use detach()",
            ));
        }
        if flag && !self.dtype().is_float() {
            return Err(Error::dtype(
                "requires_grad_",
                format!("only floating point tensors can require gradients, got {}", self.dtype()),
            ));
        }
        self.0.requires_grad.store(flag, Ordering::Relaxed);
        Ok(())
    }

    /// A leaf that requires grad sharing this tensor's data (the caller's flag untouched).
    pub fn leaf_requiring_grad(&self) -> Result<Tensor> {
        let t = self.detach();
        t.set_requires_grad(true)?;
        Ok(t)
    }

    /// The gradient accumulated into this leaf by [`crate::autograd::backward`], if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replace the accumulated gradient (`None` clears it).
    ///
    /// # Errors
    /// `Shape` or `DType` when `grad` does not have this tensor's shape and dtype.
    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.shape() != self.shape() {
                return Err(Error::shape(
                    "grad",
                    format!("assigned grad has shape {:?}, tensor has shape {:?}", g.shape(), self.shape()),
                ));
            }
            if g.dtype() != self.dtype() {
                return Err(Error::dtype(
                    "grad",
                    format!("assigned grad has dtype {}, tensor has dtype {}", g.dtype(), self.dtype()),
                ));
            }
        }
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = grad;
        Ok(())
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f64> {
        self.escape_single("item")?;
        Ok(self.0.data.to_f64_vec()[0])
    }

    /// Check that this tensor has one element, whose value `op` is about to read out of
    /// the graph (a tape guards it).
    fn escape_single(&self, op: &'static str) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::shape(
                op,
                format!("only one-element tensors can be converted to a number, got shape {:?}", self.shape()),
            ));
        }
        recording::note_escape(self);
        Ok(())
    }

    /// The single value of a one-element tensor as an int64, as Python's `int` gives it:
    /// exact for int64 and bool tensors (no float64 detour, which rounds past 2^53), a
    /// float truncated toward zero. NaN is an `Argument` error; an infinity, or a float
    /// whose integer part int64 cannot hold, an `Overflow` error naming the value.
    ///
    /// ```
    /// use lucid_core::{DType, Error, Tensor};
    /// assert_eq!(Tensor::scalar(-2.7, DType::F64).item_i64().unwrap(), -2);
    /// let e = Tensor::scalar(1e30, DType::F32).item_i64().unwrap_err();
    /// assert!(matches!(e, Error::Overflow { op: "int", .. }), "{e}");
    /// ```
    pub fn item_i64(&self) -> Result<i64> {
        self.escape_single("int")?;
        let v = match &self.0.data {
            Storage::I64(a) => return Ok(a.iter().next().copied().unwrap_or_default()),
            Storage::Bool(a) => return Ok(a.iter().next().copied().map_or(0, i64::from)),
            Storage::F32(a) => a.iter().next().map_or(0.0, |&x| x as f64),
            Storage::F64(a) => a.iter().next().copied().unwrap_or_default(),
        };
        float_to_i64("int", v)
    }

    /// All values as f64, row-major.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.0.data.to_f64_vec()
    }

    /// The values in row-major order as float64: borrowed when the tensor is float64
    /// and contiguous, converted otherwise.
    pub(crate) fn f64_values(&self) -> std::borrow::Cow<'_, [f64]> {
        match &self.0.data {
            Storage::F64(a) => a.as_slice().map_or_else(|| self.to_f64_vec().into(), Into::into),
            _ => self.to_f64_vec().into(),
        }
    }

    /// The float64 ndarray behind this tensor.
    ///
    /// # Errors
    /// `DType` when the tensor is not float64.
    pub fn array_f64(&self) -> Result<&ArcArray<f64, IxDyn>> {
        match &self.0.data {
            Storage::F64(a) => Ok(a),
            s => Err(Error::dtype("array_f64", format!("tensor has dtype {}", s.dtype()))),
        }
    }

    /// Check that this tensor can be differentiated (floating dtype).
    pub(crate) fn expect_float(&self, op: &'static str) -> Result<()> {
        if !self.dtype().is_float() {
            return Err(Error::dtype(op, format!("expected a floating point tensor, got {}", self.dtype())));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor(shape={:?}, dtype={}", self.shape(), self.dtype())?;
        if let Some(name) = self.grad_fn_name() {
            write!(f, ", grad_fn={name}")?;
        } else if self.requires_grad() {
            write!(f, ", requires_grad=true")?;
        }
        write!(f, ")")
    }
}

/// `v` truncated toward zero, or an error naming `op` and `v` when no int64 is it:
/// NaN (`Argument`, Python's ValueError), an infinity or a value past the int64 range
/// (`Overflow`). An `as` cast would saturate (1e30 → 2^63 - 1) and send NaN to 0.
fn float_to_i64(op: &'static str, v: f64) -> Result<i64> {
    if v.is_nan() {
        return Err(Error::argument(op, "cannot convert float NaN to integer"));
    }
    if v.is_infinite() {
        let sign = if v < 0.0 { "-" } else { "" };
        return Err(Error::overflow(op, format!("cannot convert float {sign}infinity to integer")));
    }
    // -2^63 and 2^63 are exact in f64: the integer part fits iff it lies in [-2^63, 2^63)
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let whole = v.trunc();
    if !(-TWO_63..TWO_63).contains(&whole) {
        return Err(Error::overflow(op, format!("value {v:?} cannot be converted to int64 without overflow")));
    }
    Ok(whole as i64)
}
