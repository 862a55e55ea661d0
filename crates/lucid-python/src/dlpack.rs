//! DLPack both ways: `Tensor.__dlpack__` / `__dlpack_device__` export a tensor's storage
//! without copying it, `lucid.from_dlpack` imports any DLPack producer.
//!
//! The structs below are the C ABI of `dlpack.h` (v1.0: `DLManagedTensorVersioned`, and
//! the legacy `DLManagedTensor`). This file is the only unsafe code of the bindings
//! besides the allocator: it is an FFI boundary, so every block says why it is sound.
//!
//! NOTE: [DLPack ownership]
//! A capsule named `dltensor[_versioned]` owns its managed tensor. A consumer takes
//! ownership by renaming the capsule to `used_dltensor[_versioned]` and later calls the
//! tensor's `deleter`; a capsule that dies unconsumed calls the deleter itself (the
//! capsule destructor below). Our manager context holds a clone of the tensor's
//! `Storage` (an `Arc` over the buffer), so the buffer outlives the `Tensor` that
//! exported it; the deleter drops that clone. It touches no Python object, so it is
//! sound from any thread, with or without the GIL (PyTorch may free from a worker
//! thread).
//!
//! NOTE: [DLPack read-only]
//! Lucid storage is immutable: the autograd graph keeps its inputs' values, so a write
//! through any alias would silently change a derivative. A versioned capsule carries
//! `DLPACK_FLAG_BITMASK_READ_ONLY` and shares the buffer (NumPy then makes the array
//! read-only). A legacy capsule cannot say "read-only", and its consumers (NumPy < 2.1,
//! older PyTorch and JAX) may write into what they get. We export a private copy for
//! them, the choice NumPy made for its own read-only arrays (it refuses them outright):
//! a silently wrong derivative is the one failure Lucid must not have, and a copy is
//! only the cost `.numpy()` already has. `copy=False` with a legacy request is a
//! BufferError that says to pass `max_version=(1, 0)`.
//!
//! NOTE: [DLPack import copies]
//! `from_dlpack` always copies, once, into a new standard-layout Lucid buffer. A core
//! `Storage` is an `ndarray::ArcArray`, whose buffer is a Rust `Vec` freed by Rust's
//! allocator: it cannot own memory that a foreign deleter must free, and the core is
//! free to reuse a uniquely owned buffer in place, which would write into the
//! producer's memory. Zero-copy import needs a `Storage` that can hold a foreign,
//! read-only buffer with an owner to call the deleter; that is a change to lucid-core.

use std::ffi::{c_void, CStr};
use std::ptr;

use lucid_core::{DType, Storage, Tensor};
use ndarray::{ArcArray, IxDyn};
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyTuple};

use crate::tensor::PyTensor;
use lucid_core::functional::note_escape;

// ---- the C ABI (dlpack.h) ------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    /// `ndim` extents.
    shape: *mut i64,
    /// `ndim` strides in elements, or null for a compact row-major tensor.
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// The DLPack version this file implements (the one `DLManagedTensorVersioned` has).
const VERSION: DLPackVersion = DLPackVersion { major: 1, minor: 0 };
const FLAG_READ_ONLY: u64 = 1 << 0;
const FLAG_IS_COPIED: u64 = 1 << 1;
/// `DLDeviceType` values: the host, and the names of the others for error messages.
const CPU: i32 = 1;
const DEVICE_NAMES: &[(i32, &str)] = &[
    (1, "cpu"),
    (2, "cuda"),
    (3, "cuda_host"),
    (4, "opencl"),
    (7, "vulkan"),
    (8, "metal"),
    (9, "vpi"),
    (10, "rocm"),
    (11, "rocm_host"),
    (12, "ext_dev"),
    (13, "cuda_managed"),
    (14, "oneapi"),
    (15, "webgpu"),
    (16, "hexagon"),
    (17, "maia"),
];
/// `DLDataTypeCode` values.
const INT: u8 = 0;
const UINT: u8 = 1;
const FLOAT: u8 = 2;
const BOOL: u8 = 6;

const NAME_LEGACY: &CStr = c"dltensor";
const NAME_VERSIONED: &CStr = c"dltensor_versioned";
const USED_LEGACY: &CStr = c"used_dltensor";
const USED_VERSIONED: &CStr = c"used_dltensor_versioned";

/// What both managed-tensor layouts share, so export and import are written once.
trait Managed {
    const NAME: &'static CStr;
    const USED: &'static CStr;
    fn tensor(&self) -> &DLTensor;
    fn tensor_mut(&mut self) -> &mut DLTensor;
    /// Free the tensor through its own deleter (if it has one).
    ///
    /// # Safety
    /// `this` points to a live managed tensor that the caller owns; it is dangling after.
    unsafe fn delete(this: *mut Self);
}

/// The two layouts differ only in their capsule names (and the versioned one's extra
/// header fields, which `Managed` does not touch): one impl, written once.
macro_rules! managed {
    ($layout:ty, $name:expr, $used:expr) => {
        impl Managed for $layout {
            const NAME: &'static CStr = $name;
            const USED: &'static CStr = $used;
            fn tensor(&self) -> &DLTensor {
                &self.dl_tensor
            }
            fn tensor_mut(&mut self) -> &mut DLTensor {
                &mut self.dl_tensor
            }
            unsafe fn delete(this: *mut Self) {
                // SAFETY: the caller guarantees `this` is live and owned; the deleter is
                // the producer's own function for exactly this pointer.
                unsafe {
                    if let Some(d) = (*this).deleter {
                        d(this)
                    }
                }
            }
        }
    };
}

managed!(DLManagedTensor, NAME_LEGACY, USED_LEGACY);
managed!(DLManagedTensorVersioned, NAME_VERSIONED, USED_VERSIONED);

// ---- export ----------------------------------------------------------------------------

/// One exported tensor: the managed struct first (so a pointer to it is a pointer to
/// the whole box), then what keeps its pointers valid.
#[repr(C)]
struct Export<M> {
    managed: M,
    /// Keeps the buffer alive: a clone of the exported tensor's `Arc` storage.
    storage: Storage,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

/// The deleter we hand out: frees the box and with it our hold on the storage.
unsafe extern "C" fn delete_export<M>(managed: *mut M) {
    if !managed.is_null() {
        // SAFETY: `managed` is the pointer `Box::into_raw` gave in `capsule` (the
        // managed struct is the first field of the repr(C) box), and DLPack calls the
        // deleter once. Dropping it drops a `Storage` (an atomic `Arc` decrement) and
        // two Vecs: no Python object, so no GIL is needed.
        drop(unsafe { Box::from_raw(managed.cast::<Export<M>>()) });
    }
}

/// The destructor of every capsule we create: frees the tensor only if no consumer
/// took it (NOTE [DLPack ownership]).
unsafe extern "C" fn capsule_destructor<M: Managed>(capsule: *mut ffi::PyObject) {
    // SAFETY: Python calls this with the GIL held and a live capsule. `PyCapsule_IsValid`
    // sets no exception; with the name checked, `PyCapsule_GetPointer` cannot fail, so an
    // exception being raised when the capsule dies is left alone.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, M::NAME.as_ptr()) == 1 {
            let managed = ffi::PyCapsule_GetPointer(capsule, M::NAME.as_ptr()).cast::<M>();
            if !managed.is_null() {
                M::delete(managed);
            }
        }
    }
}

/// The DLPack dtype of a Lucid dtype.
fn dl_dtype(dtype: DType) -> DLDataType {
    let (code, bits) = match dtype {
        DType::F32 => (FLOAT, 32),
        DType::F64 => (FLOAT, 64),
        DType::I64 => (INT, 64),
        DType::Bool => (BOOL, 8),
    };
    DLDataType { code, bits, lanes: 1 }
}

/// The fields of a `DLTensor` for `storage`, and the pointer to its first element.
fn describe(storage: &Storage) -> (*mut c_void, Vec<i64>, Vec<i64>) {
    lucid_core::with_storage!(storage, |a| (
        a.as_ptr() as *mut c_void,
        a.shape().iter().map(|&d| d as i64).collect(),
        a.strides().iter().map(|&s| s as i64).collect(),
    ))
}

/// A capsule owning a managed tensor `M` over `storage`; `build` fills in the managed
/// struct around the tensor description.
fn capsule<'py, M: Managed>(
    py: Python<'py>,
    storage: Storage,
    dtype: DType,
    build: impl FnOnce(DLTensor) -> M,
) -> PyResult<Bound<'py, PyAny>> {
    let (data, shape, strides) = describe(&storage);
    let ndim = i32::try_from(shape.len()).map_err(|_| PyValueError::new_err("__dlpack__: too many dims"))?;
    let dl = DLTensor {
        data,
        device: DLDevice { device_type: CPU, device_id: 0 },
        ndim,
        dtype: dl_dtype(dtype),
        shape: ptr::null_mut(),
        strides: ptr::null_mut(),
        byte_offset: 0,
    };
    let mut export = Box::new(Export { managed: build(dl), storage, shape, strides });
    // The Vecs' heap buffers do not move with the box, which lives until the deleter.
    let e = &mut *export;
    let t = e.managed.tensor_mut();
    t.shape = e.shape.as_mut_ptr();
    t.strides = e.strides.as_mut_ptr();
    let raw = Box::into_raw(export);
    // SAFETY: the name is a 'static C string, the destructor matches the pointer's type.
    let cap = unsafe { ffi::PyCapsule_New(raw.cast(), M::NAME.as_ptr(), Some(capsule_destructor::<M>)) };
    if cap.is_null() {
        // SAFETY: no capsule owns `raw`, so it is freed here, once.
        unsafe { delete_export::<M>(raw.cast()) };
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `PyCapsule_New` returned a new, non-null reference.
    Ok(unsafe { Bound::from_owned_ptr(py, cap) })
}

/// Whether NumPy and other consumers can take the buffer as it is: DLPack strides are
/// meant non-negative (a reversed view is copied).
fn exportable_in_place(storage: &Storage) -> bool {
    lucid_core::with_storage!(storage, |a| a.strides().iter().all(|&s| s >= 0))
}

fn standard_copy(storage: &Storage) -> Storage {
    lucid_core::map_storage!(storage, |a| a.as_standard_layout().into_owned().into_shared())
}

fn device_name(device_type: i32) -> String {
    DEVICE_NAMES
        .iter()
        .find(|(code, _)| *code == device_type)
        .map_or_else(|| format!("device type {device_type}"), |(_, n)| n.to_string())
}

#[pymethods]
impl PyTensor {
    /// Export the tensor as a DLPack capsule (the array interchange protocol), sharing
    /// its memory. `np.from_dlpack(t)`, `torch.from_dlpack(t)` and
    /// `jax.dlpack.from_dlpack(t)` call this; you rarely call it yourself.
    ///
    /// With `max_version >= (1, 0)` (NumPy 2.1+) the capsule is versioned, zero-copy
    /// and flagged read-only: Lucid tensors are immutable. A legacy consumer (no
    /// `max_version`, e.g. JAX) cannot be told "read-only", so it gets a private copy
    /// and cannot corrupt values the autograd graph keeps; `copy=False` then raises
    /// BufferError. `copy=True` always gives a private, writable copy. Like `.numpy()`,
    /// the result carries no derivatives, and it keeps the values the tensor had when
    /// exported: an in-place op gives the tensor new storage rather than writing into
    /// the shared buffer (a PyTorch array would see the write).
    ///
    /// >>> import numpy as np
    /// >>> t = lucid.tensor([1.0, 2.0, 3.0])
    /// >>> a = np.from_dlpack(t)
    /// >>> a, a.flags.writeable
    /// (array([1., 2., 3.], dtype=float32), False)
    #[pyo3(signature = (*, stream = None, max_version = None, dl_device = None, copy = None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(s) = stream {
            return Err(PyValueError::new_err(format!("__dlpack__: stream must be None for a CPU tensor, got {s}")));
        }
        if let Some((device_type, device_id)) = dl_device {
            if (device_type, device_id) != (CPU, 0) {
                return Err(PyBufferError::new_err(format!(
                    "__dlpack__: cannot export to {}:{device_id}; Lucid tensors live on the CPU (dl_device=(1, 0))",
                    device_name(device_type)
                )));
            }
        }
        let versioned = max_version.is_some_and(|(major, _)| major >= 1);
        let storage = self.inner.storage();
        // NOTE [DLPack read-only]: a legacy capsule gets a copy.
        let must_copy = !versioned || !exportable_in_place(storage);
        if must_copy && copy == Some(false) {
            let why = if versioned {
                "the tensor is a reversed view (negative strides), which DLPack consumers do not take"
            } else {
                "a legacy (unversioned) capsule cannot mark the shared memory read-only, and Lucid tensors are immutable; pass max_version=(1, 0)"
            };
            return Err(PyBufferError::new_err(format!("__dlpack__: cannot export without a copy: {why}")));
        }
        let copied = must_copy || copy == Some(true);
        let storage = if copied { standard_copy(storage) } else { storage.clone() };
        note_escape(&self.inner);
        let dtype = self.inner.dtype();
        if versioned {
            // a copy is the consumer's own to write; the shared buffer is read-only
            let flags = if copied { FLAG_IS_COPIED } else { FLAG_READ_ONLY };
            capsule(py, storage, dtype, |dl_tensor| DLManagedTensorVersioned {
                version: VERSION,
                manager_ctx: ptr::null_mut(),
                deleter: Some(delete_export::<DLManagedTensorVersioned>),
                flags,
                dl_tensor,
            })
        } else {
            capsule(py, storage, dtype, |dl_tensor| DLManagedTensor {
                dl_tensor,
                manager_ctx: ptr::null_mut(),
                deleter: Some(delete_export::<DLManagedTensor>),
            })
        }
    }

    /// The DLPack device of the tensor: always `(1, 0)`, the CPU.
    ///
    /// >>> lucid.tensor([1.0]).__dlpack_device__()
    /// (1, 0)
    fn __dlpack_device__(&self) -> (i32, i32) {
        (CPU, 0)
    }
}

// ---- import ----------------------------------------------------------------------------

/// A new tensor holding the data of any DLPack producer.
///
/// `obj` is anything with `__dlpack__` (a NumPy array, a PyTorch or JAX array, a Lucid
/// tensor) or a DLPack capsule. float32, float64, int64 and bool keep their dtype;
/// smaller integer types widen to int64 exactly. The data must be on the CPU. The
/// result is a new leaf that does not require grad; a Lucid tensor is returned detached
/// (sharing its storage).
///
/// Other producers' data is copied once, in any strides, into a new row-major buffer:
/// a Lucid tensor owns its memory, so later writes to the source never reach it (the
/// reverse direction, `np.from_dlpack(t)`, shares memory). The array API's keywords:
/// `device` may only be None or `"cpu"`; `copy=False` is a BufferError for anything but
/// a Lucid tensor, `copy=True` copies a Lucid tensor too.
///
/// >>> import numpy as np
/// >>> lucid.from_dlpack(np.arange(3.0))
/// tensor([0., 1., 2.], dtype=lucid.float64)
#[pyfunction]
#[pyo3(signature = (obj, /, *, device = None, copy = None))]
pub fn from_dlpack(
    obj: &Bound<'_, PyAny>,
    device: Option<&Bound<'_, PyAny>>,
    copy: Option<bool>,
) -> PyResult<PyTensor> {
    // the array API's keywords: the only device is the CPU; only a Lucid tensor can be
    // taken without a copy (NOTE [DLPack import copies])
    if let Some(d) = device {
        let cpu =
            d.extract::<String>().is_ok_and(|n| n == "cpu") || d.extract::<(i32, i32)>().is_ok_and(|t| t == (CPU, 0));
        if !cpu {
            return Err(PyValueError::new_err(format!(
                "from_dlpack: device must be None or 'cpu' (Lucid tensors live on the CPU), got {d}"
            )));
        }
    }
    let is_tensor = obj.downcast::<PyTensor>().is_ok();
    if copy == Some(false) && !is_tensor {
        return Err(PyBufferError::new_err(
            "from_dlpack: copy=False cannot be honoured: Lucid copies data from other libraries into memory it owns",
        ));
    }
    let t = import(obj)?;
    if copy == Some(true) && is_tensor {
        return Ok(PyTensor::new(Tensor::from_storage(standard_copy(t.storage()))));
    }
    Ok(PyTensor::new(t))
}

/// The tensor behind `from_dlpack`, for other conversions too.
pub fn import(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(t) = obj.downcast::<PyTensor>() {
        return Ok(t.borrow().inner.detach());
    }
    let py = obj.py();
    let capsule = if obj.downcast::<PyCapsule>().is_ok() {
        obj.clone()
    } else {
        if !obj.hasattr(pyo3::intern!(py, "__dlpack__"))? {
            return Err(PyTypeError::new_err(format!(
                "from_dlpack: expected an object with __dlpack__ (an array) or a DLPack capsule, got {}",
                obj.get_type().name()?
            )));
        }
        if obj.hasattr(pyo3::intern!(py, "__dlpack_device__"))? {
            let (device_type, device_id): (i32, i32) = obj.call_method0("__dlpack_device__")?.extract()?;
            check_device(device_type, device_id)?;
        }
        // A versioned capsule when the producer knows the keyword (array API 2023.12);
        // an older producer raises TypeError for it and gets asked again without.
        let kwargs = PyDict::new(py);
        kwargs.set_item("max_version", PyTuple::new(py, [VERSION.major, VERSION.minor])?)?;
        match obj.call_method("__dlpack__", (), Some(&kwargs)) {
            Ok(c) => c,
            Err(e) if e.is_instance_of::<PyTypeError>(py) => obj.call_method0("__dlpack__")?,
            Err(e) => return Err(e),
        }
    };
    let cap = capsule.as_ptr();
    // SAFETY: `cap` is a live object (we hold `capsule`); `PyCapsule_IsValid` accepts any
    // object and sets no exception.
    let (versioned, legacy) = unsafe {
        (
            ffi::PyCapsule_IsValid(cap, NAME_VERSIONED.as_ptr()) == 1,
            ffi::PyCapsule_IsValid(cap, NAME_LEGACY.as_ptr()) == 1,
        )
    };
    if versioned {
        take::<DLManagedTensorVersioned>(&capsule, |m| {
            if m.version.major != VERSION.major {
                return Err(PyBufferError::new_err(format!(
                    "from_dlpack: the producer exported DLPack {}.{}; Lucid reads DLPack 1.x",
                    m.version.major, m.version.minor
                )));
            }
            Ok(())
        })
    } else if legacy {
        take::<DLManagedTensor>(&capsule, |_| Ok(()))
    } else {
        let name = match capsule.downcast::<PyCapsule>() {
            Ok(c) => c.name()?.map(|n| n.to_string_lossy().into_owned()),
            Err(_) => None,
        };
        let what = match name.as_deref() {
            Some(n) if n.starts_with("used_") => "a DLPack capsule that was already consumed".to_string(),
            Some(n) => format!("a capsule named {n:?}, not a DLPack tensor"),
            None if capsule.downcast::<PyCapsule>().is_ok() => {
                "a capsule without a name, not a DLPack tensor".to_string()
            }
            None => format!("{} from __dlpack__, not a capsule", capsule.get_type().name()?),
        };
        Err(PyValueError::new_err(format!("from_dlpack: got {what}")))
    }
}

fn check_device(device_type: i32, device_id: i32) -> PyResult<()> {
    if device_type == CPU {
        return Ok(());
    }
    Err(PyValueError::new_err(format!(
        "from_dlpack: the data is on {}:{device_id}; Lucid tensors live on the CPU, so move it there first (e.g. x.cpu() in PyTorch, jax.device_put(x, jax.devices('cpu')[0]) in JAX)",
        device_name(device_type)
    )))
}

/// Consume a capsule of layout `M`: rename it (we own the tensor now), copy the data,
/// then free the producer's tensor whatever happened.
fn take<M: Managed>(capsule: &Bound<'_, PyAny>, check: impl FnOnce(&M) -> PyResult<()>) -> PyResult<Tensor> {
    let py = capsule.py();
    let cap = capsule.as_ptr();
    // SAFETY: the caller checked the capsule's name is `M::NAME`, so the pointer is a
    // live `M` owned by the capsule until we rename it.
    let managed = unsafe { ffi::PyCapsule_GetPointer(cap, M::NAME.as_ptr()).cast::<M>() };
    if managed.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: renaming transfers ownership to us (the capsule's destructor then leaves the
    // tensor alone); the name is 'static.
    if unsafe { ffi::PyCapsule_SetName(cap, M::USED.as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: we own `managed` and free it exactly once, after the last read of its data.
    let result = check(unsafe { &*managed }).and_then(|()| copy_tensor(unsafe { (*managed).tensor() }));
    // SAFETY: ownership was transferred above; nothing reads `managed` after this.
    unsafe { M::delete(managed) };
    result
}

/// The tensor a `DLTensor` describes, copied into a new standard-layout buffer.
fn copy_tensor(dl: &DLTensor) -> PyResult<Tensor> {
    check_device(dl.device.device_type, dl.device.device_id)?;
    let ndim = usize::try_from(dl.ndim)
        .map_err(|_| PyValueError::new_err(format!("from_dlpack: ndim {} is negative", dl.ndim)))?;
    // SAFETY: DLPack promises `ndim` extents at `shape` (and strides, when not null);
    // a 0-d tensor may leave the pointers null.
    let (shape, strides) = unsafe {
        let read = |p: *const i64| {
            if ndim == 0 || p.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(p, ndim).to_vec()
            }
        };
        (read(dl.shape), read(dl.strides))
    };
    let shape: Vec<usize> = shape
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| PyValueError::new_err(format!("from_dlpack: negative extent in shape {shape:?}")))
        })
        .collect::<PyResult<_>>()?;
    let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let Some(numel) = numel else {
        return Err(PyValueError::new_err(format!("from_dlpack: shape {shape:?} is too big")));
    };
    // Element offsets from the first element: row-major when no strides are given.
    let strides: Vec<isize> = if strides.is_empty() {
        let mut s = vec![0isize; ndim];
        let mut step = 1isize;
        for (k, &d) in shape.iter().enumerate().rev() {
            s[k] = step;
            step = step.saturating_mul(d as isize);
        }
        s
    } else {
        strides.iter().map(|&s| s as isize).collect()
    };
    let dt = dl.dtype;
    if dt.lanes != 1 {
        return Err(PyTypeError::new_err(format!("from_dlpack: vector dtypes ({} lanes) are not supported", dt.lanes)));
    }
    if numel > 0 && dl.data.is_null() {
        return Err(PyValueError::new_err("from_dlpack: the producer gave a null data pointer"));
    }
    // SAFETY: `data + byte_offset` is the first element and `shape`/`strides` address
    // only elements the producer allocated (DLPack's contract); reads are unaligned-safe.
    let base = unsafe { dl.data.cast::<u8>().add(dl.byte_offset as usize) };
    let gather = Gather { base, shape: &shape, strides: &strides, numel };
    let storage = match (dt.code, dt.bits) {
        (FLOAT, 32) => Storage::F32(gather.read::<f32, f32>(|v| v)?),
        (FLOAT, 64) => Storage::F64(gather.read::<f64, f64>(|v| v)?),
        (INT, 64) => Storage::I64(gather.read::<i64, i64>(|v| v)?),
        (INT, 32) => Storage::I64(gather.read::<i32, i64>(i64::from)?),
        (INT, 16) => Storage::I64(gather.read::<i16, i64>(i64::from)?),
        (INT, 8) => Storage::I64(gather.read::<i8, i64>(i64::from)?),
        (UINT, 32) => Storage::I64(gather.read::<u32, i64>(i64::from)?),
        (UINT, 16) => Storage::I64(gather.read::<u16, i64>(i64::from)?),
        (UINT, 8) => Storage::I64(gather.read::<u8, i64>(i64::from)?),
        // any nonzero byte is true (read as bytes: not every byte is a valid Rust bool)
        (BOOL, 8) => Storage::Bool(gather.read::<u8, bool>(|v| v != 0)?),
        (code, bits) => {
            let name = match code {
                INT => format!("int{bits}"),
                UINT => format!("uint{bits}"),
                FLOAT => format!("float{bits}"),
                3 => "an opaque handle".to_string(),
                4 => format!("bfloat{bits}"),
                5 => format!("complex{bits}"),
                BOOL => format!("bool of {bits} bits"),
                _ => format!("type code {code} with {bits} bits"),
            };
            return Err(PyTypeError::new_err(format!(
                "from_dlpack: dtype {name} is not supported; Lucid has float32, float64, int64 and bool (and widens smaller integers to int64)"
            )));
        }
    };
    Ok(Tensor::from_storage(storage))
}

/// A strided walk over a foreign buffer.
struct Gather<'a> {
    base: *const u8,
    shape: &'a [usize],
    strides: &'a [isize],
    numel: usize,
}

impl Gather<'_> {
    /// The elements in row-major order as `T`s, converted to `U`.
    fn read<T: Copy, U>(&self, convert: impl Fn(T) -> U) -> PyResult<ArcArray<U, IxDyn>> {
        let too_big = || PyValueError::new_err(format!("from_dlpack: shape {:?} is too big to copy", self.shape));
        if self.numel.checked_mul(std::mem::size_of::<U>().max(1)).is_none_or(|b| b > isize::MAX as usize) {
            return Err(too_big());
        }
        let base = self.base.cast::<T>();
        let out: Vec<U> = if self.numel == 0 {
            Vec::new()
        } else if self.is_row_major() && base.is_aligned() {
            // SAFETY: a row-major tensor's elements are `base[0..numel]`, here aligned; a
            // slice walk lets the compiler vectorise the copy.
            unsafe { std::slice::from_raw_parts(base, self.numel) }.iter().map(|&v| convert(v)).collect()
        } else {
            self.gather_strided(base, convert)
        };
        ArcArray::from_shape_vec(IxDyn(self.shape), out).map_err(|_| too_big())
    }

    /// The elements of a strided (or unaligned) tensor in row-major order: rows along
    /// the last dim, an odometer over the others keeping the row's offset in step.
    fn gather_strided<T: Copy, U>(&self, base: *const T, convert: impl Fn(T) -> U) -> Vec<U> {
        let mut out = Vec::with_capacity(self.numel);
        let Some((&row_len, outer_shape)) = self.shape.split_last() else {
            // SAFETY: a 0-d tensor has its one element at `base`.
            out.push(convert(unsafe { base.read_unaligned() }));
            return out;
        };
        let (&step, outer_strides) = self.strides.split_last().unwrap_or((&1, &[]));
        let mut index = vec![0usize; outer_shape.len()];
        let mut offset = 0isize;
        for _ in 0..self.numel / row_len {
            for j in 0..row_len as isize {
                // SAFETY: `offset + j * step` is `sum(index * strides)` for an index inside
                // `shape`, which DLPack promises addresses the producer's buffer.
                out.push(convert(unsafe { base.offset(offset + j * step).read_unaligned() }));
            }
            for k in (0..index.len()).rev() {
                index[k] += 1;
                offset += outer_strides[k];
                if index[k] < outer_shape[k] {
                    break;
                }
                offset -= outer_strides[k] * outer_shape[k] as isize;
                index[k] = 0;
            }
        }
        out
    }

    /// Whether the strides are those of a compact row-major layout (dims of extent 1
    /// may have any stride).
    fn is_row_major(&self) -> bool {
        let mut step = 1isize;
        for (&d, &s) in self.shape.iter().zip(self.strides).rev() {
            if d != 1 && s != step {
                return false;
            }
            step *= d as isize;
        }
        true
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(from_dlpack, m)?)?;
    Ok(())
}
