//! Views and in-place writes with PyTorch's semantics over immutable storage.
//!
//! NOTE [views and in-place writes]
//! A core `Tensor`'s storage is never written: graph nodes keep the values they were
//! computed from, so a write that reached them would silently change derivatives.
//! PyTorch's aliasing is rebuilt on the Python objects instead (what PyTorch calls
//! functionalization):
//! - A write (`+=`, `add_`, `t[i] = v`, …) replaces the `inner` value of the Python
//!   tensor written, so every name bound to that object sees it.
//! - A view (basic indexing, `view`/`reshape`, `permute`/`transpose`/`t`/`T`/`mT`,
//!   `squeeze`/`unsqueeze`/`flatten`, `expand`, `narrow`/`select`, `split`/`chunk`,
//!   `diagonal`, `detach`) remembers its *root* (the tensor that is not a view) and the
//!   chain of view ops from the root. Writing into a view writes the root at the
//!   positions the view reads: the chain applied to `arange(root.numel())` gives them.
//!   After any write into a root or one of its views, every live view of the root is
//!   recomputed from the new root by its chain, so views see writes to their base and to
//!   each other.
//! - The new root is an op of the old one (`overwrite_at`: a put of the written values
//!   and a `where`), so derivatives through in-place writes are exact. A value saved for
//!   backward before a write is still the value the graph used, so backward stays
//!   correct where PyTorch must raise "modified by an inplace operation".
//! - A leaf that requires grad can be written only with grad mode off (or through a
//!   `detach()`ed alias), as in PyTorch; it stays a leaf that requires grad, and keeps
//!   its `.grad`.
//! - `t.grad` is an alias of the gradient slot: `t.grad.zero_()` writes the slot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use lucid_core::autograd::{is_grad_enabled, set_grad_enabled};
use lucid_core::{DType, Tensor};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyWeakrefReference};

use crate::errors::PyResultExt;
use crate::tensor::PyTensor;

/// One op of a view chain, re-run on the root (or its positions) whenever needed.
pub(crate) type ViewFn = Arc<dyn Fn(&Tensor) -> lucid_core::Result<Tensor> + Send + Sync>;

/// What a Python tensor aliases.
pub(crate) enum Alias {
    /// A view of `root` through `steps`.
    View(Arc<ViewLink>),
    /// The `.grad` of the tensor behind this weak reference: writes go to its slot.
    GradOf(Py<PyWeakrefReference>),
}

pub(crate) struct ViewLink {
    root: Py<PyTensor>,
    steps: Vec<ViewFn>,
    /// Some step is `detach`: writes through it do not enter the graph and may change a
    /// leaf that requires grad, as in PyTorch.
    detached: bool,
    /// The grad mode the view was made in; it is recomputed in the same mode.
    grad: bool,
    /// The flat positions of the root that the view reads (the root's shape never
    /// changes: every write keeps it).
    positions: OnceLock<(Vec<usize>, bool)>,
    /// The address of the view object this link belongs to (set once it exists).
    object: AtomicUsize,
}

impl ViewLink {
    fn apply(&self, root: &Tensor) -> lucid_core::Result<Tensor> {
        let mut t = root.clone();
        for step in &self.steps {
            t = step(&t)?;
        }
        Ok(t)
    }

    /// The flat positions of the root the view reads, and whether it reads one twice
    /// (a view made by `expand`, which cannot be written into).
    fn positions(&self, root: &Tensor) -> PyResult<&(Vec<usize>, bool)> {
        if let Some(p) = self.positions.get() {
            return Ok(p);
        }
        let n = root.numel();
        let flat = Tensor::arange(0.0, n as f64, 1.0, DType::I64).py()?;
        let ids = self.apply(&flat.reshape_exact(root.shape()).py()?).py()?;
        let pos: Vec<usize> = ids.to_f64_vec().into_iter().map(|v| v as usize).collect();
        let mut seen = vec![false; n];
        let repeats = pos.iter().any(|&q| std::mem::replace(&mut seen[q], true));
        Ok(self.positions.get_or_init(|| (pos, repeats)))
    }
}

/// The live views of a root, pruned as they die. Each entry is the view's own link,
/// held weakly: only the view object owns its link for longer than a call, so a link
/// that is still alive belongs to a view that is (a Python weak reference per view
/// would cost more than the view op itself on the hot path of slicing).
#[derive(Default)]
pub(crate) struct ViewList(Mutex<Vec<Weak<ViewLink>>>);

impl ViewList {
    fn push(&self, view: Weak<ViewLink>) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // amortised pruning: a loop of short-lived `x[i]` keeps the list short
        if v.len() == v.capacity() && v.len() >= 8 {
            v.retain(|w| w.strong_count() > 0);
        }
        v.push(view);
    }

    fn live<'py>(&self, py: Python<'py>) -> Vec<(Arc<ViewLink>, Bound<'py, PyTensor>)> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        v.retain(|w| w.strong_count() > 0);
        v.iter()
            .filter_map(|w| w.upgrade())
            .filter_map(|link| {
                let ptr = link.object.load(Ordering::Acquire);
                if ptr == 0 {
                    return None;
                }
                // SAFETY: `ptr` is the view object that owns `link`. Its `Alias::View`
                // holds the only long-lived strong reference to the link (transient
                // clones live only inside a call, while the object is borrowed), so the
                // upgrade above succeeding means the object has not been deallocated;
                // we hold the GIL, so it cannot be deallocated while we use it here.
                let obj = unsafe { Bound::from_borrowed_ptr(py, ptr as *mut pyo3::ffi::PyObject) };
                // SAFETY: the pointer was stored from a `Bound<PyTensor>` in `view_of`.
                Some((link, unsafe { obj.downcast_into_unchecked::<PyTensor>() }))
            })
            .collect()
    }
}

/// A new Python tensor holding `value`, a view of `base` through `step` (`value` is
/// `step(base.inner)`, computed by the caller, which often has it already).
pub(crate) fn view_of<'py>(
    base: &Bound<'py, PyTensor>,
    value: Tensor,
    step: ViewFn,
    detach: bool,
) -> PyResult<Bound<'py, PyTensor>> {
    let py = base.py();
    let link = match &base.borrow().alias {
        Some(Alias::View(parent)) => {
            let mut steps = parent.steps.clone();
            steps.push(step);
            ViewLink {
                root: parent.root.clone_ref(py),
                steps,
                detached: parent.detached || detach,
                grad: is_grad_enabled(),
                positions: OnceLock::new(),
                object: AtomicUsize::new(0),
            }
        }
        _ => ViewLink {
            root: base.clone().unbind(),
            steps: vec![step],
            detached: detach,
            grad: is_grad_enabled(),
            positions: OnceLock::new(),
            object: AtomicUsize::new(0),
        },
    };
    let root = link.root.clone_ref(py);
    let link = Arc::new(link);
    let view = Bound::new(py, PyTensor::aliasing(value, Alias::View(link.clone())))?;
    link.object.store(view.as_ptr() as usize, Ordering::Release);
    root.borrow(py).views.push(Arc::downgrade(&link));
    Ok(view)
}

/// [`view_of`] computing the value by `step` itself.
pub(crate) fn view<'py>(
    base: &Bound<'py, PyTensor>,
    step: impl Fn(&Tensor) -> lucid_core::Result<Tensor> + Send + Sync + 'static,
) -> PyResult<Bound<'py, PyTensor>> {
    let value = step(&base.borrow().inner).py()?;
    view_of(base, value, Arc::new(step), false)
}

/// The pieces `split`/`chunk` cut from `base` along `dim`, as views: piece `i` is the
/// `narrow` of `dim` from the sum of the sizes before it.
pub(crate) fn pieces<'py>(
    base: &Bound<'py, PyTensor>,
    pieces: Vec<Tensor>,
    dim: isize,
) -> PyResult<Bound<'py, PyTuple>> {
    let axis = lucid_core::shape::normalize_axis("split", dim, base.borrow().inner.ndim()).py()?;
    let mut start = 0;
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let len = piece.shape()[axis];
        let from = start;
        out.push(view_of(base, piece, Arc::new(move |t: &Tensor| t.narrow(dim, from, len)), false)?);
        start += len;
    }
    PyTuple::new(base.py(), out)
}

/// Write `value` into `target` in place (NOTE [views and in-place writes]): `value` is
/// broadcast to `target`'s shape and cast to its dtype (a float into an integer or bool
/// tensor, or a non-bool into a bool one, is a RuntimeError, as in PyTorch).
pub(crate) fn write(target: &Bound<'_, PyTensor>, value: &Tensor, op: &str) -> PyResult<()> {
    let py = target.py();
    let (old, link) = {
        let t = target.borrow();
        let link = match &t.alias {
            Some(Alias::View(l)) => Some(l.clone()),
            _ => None,
        };
        (t.inner.clone(), link)
    };
    let value = fit(op, &old, value)?;
    let (root, detached) = match &link {
        Some(l) => (l.root.bind(py).clone(), l.detached),
        None => (target.clone(), false),
    };
    let before = root.borrow().inner.clone();
    if before.requires_grad() && before.is_leaf() && is_grad_enabled() && !detached {
        let what = if link.is_some() { "a view of a leaf tensor" } else { "a leaf tensor" };
        return Err(PyRuntimeError::new_err(format!(
            "{op}: {what} that requires grad cannot be modified in place while grad mode is on (the graph would lose the values it differentiates); update it under `with lucid.no_grad():`"
        )));
    }
    // a tape cannot replay a change to a Python object (the caller's inputs, closed-over
    // buffers): the recording runs eagerly from then on
    lucid_core::functional::note_untraceable(
        "an in-place write into a value computed from the inputs",
        &[&before, &value],
    );
    let value = if detached { value.detach() } else { value };
    let mut after = match &link {
        None => value,
        Some(l) => {
            let (pos, repeats) = l.positions(&before)?;
            if *repeats {
                return Err(PyRuntimeError::new_err(format!(
                    "{op}: unsupported operation: more than one element of the written-to tensor refers to a single element of its base (a view made by expand or broadcast_to); clone() it before writing"
                )));
            }
            let _mode = set_grad_enabled(is_grad_enabled() && !detached);
            before.overwrite_at("in-place write", pos, &value).py()?
        }
    };
    if before.requires_grad() && before.is_leaf() {
        // stays a leaf that requires grad, with its gradient
        let leaf = after.detach();
        leaf.set_requires_grad(true).py()?;
        leaf.set_grad(before.grad()).py()?;
        after = leaf;
    } else if before.requires_grad() && is_grad_enabled() && !after.requires_grad() {
        // `y.zero_()` on a graph value keeps it in the graph (with a zero derivative), as
        // in PyTorch, so a later backward through it still reaches the inputs
        let all = Tensor::full(before.shape(), 1.0, DType::Bool);
        after = lucid_core::where_(&all, &after, &before).py()?;
    }
    let owner = match &root.borrow().alias {
        Some(Alias::GradOf(w)) => w.bind(py).upgrade_as::<PyTensor>()?,
        _ => None,
    };
    if let Some(owner) = owner {
        // the gradient slot, unless backward has replaced it since this alias was taken
        let o = owner.borrow();
        if o.inner.grad().is_some_and(|g| g.same(&before)) {
            o.inner.set_grad(Some(after.clone())).py()?;
        }
    }
    {
        let mut r = root.try_borrow_mut()?;
        r.inner = after.clone();
        r.version += 1;
    }
    refresh(&root, &after)
}

/// Recompute every live view of `root` from its new value `value`.
fn refresh(root: &Bound<'_, PyTensor>, value: &Tensor) -> PyResult<()> {
    let py = root.py();
    let views = root.borrow().views.live(py);
    for (link, v) in views {
        let fresh = {
            let _mode = set_grad_enabled(link.grad);
            link.apply(value).py()?
        };
        let mut m = v.try_borrow_mut()?;
        m.inner = fresh;
        m.version += 1;
    }
    Ok(())
}

/// `value` broadcast to `target`'s shape and cast to its dtype, under PyTorch's rules
/// for in-place results.
fn fit(op: &str, target: &Tensor, value: &Tensor) -> PyResult<Tensor> {
    let (want, got) = (target.dtype(), value.dtype());
    let narrowing = (!want.is_float() && got.is_float()) || (want == DType::Bool && got != DType::Bool);
    if narrowing {
        return Err(PyRuntimeError::new_err(format!(
            "{op}: result type {got} can't be cast to the desired output type {want} of the tensor written in place"
        )));
    }
    let value = if value.shape() == target.shape() {
        value.clone()
    } else {
        value.expand(target.shape()).map_err(|_| {
            PyRuntimeError::new_err(format!(
                "{op}: output with shape {:?} doesn't match the broadcast shape {:?}",
                target.shape(),
                lucid_core::shape::broadcast_shapes("in-place", target.shape(), value.shape())
                    .unwrap_or_else(|_| value.shape().to_vec())
            ))
        })?
    };
    if got == want {
        Ok(value)
    } else {
        value.to_dtype(want).py()
    }
}

/// The Python object for `owner.grad`: an alias of the slot, so in-place writes to it
/// (`p.grad.zero_()`) reach it; the same object while it is alive and the slot unchanged.
pub(crate) fn grad_alias<'py>(owner: &Bound<'py, PyTensor>) -> PyResult<Option<Bound<'py, PyTensor>>> {
    let py = owner.py();
    let o = owner.borrow();
    let Some(g) = o.inner.grad() else { return Ok(None) };
    let mut cache = o.grad_view.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(obj) = cache.as_ref().and_then(|w| w.bind(py).upgrade_as::<PyTensor>().ok().flatten()) {
        if obj.borrow().inner.same(&g) {
            return Ok(Some(obj));
        }
    }
    let obj = Bound::new(py, PyTensor::aliasing(g, Alias::GradOf(PyWeakrefReference::new(owner)?.unbind())))?;
    *cache = Some(PyWeakrefReference::new(&obj)?.unbind());
    Ok(Some(obj))
}
