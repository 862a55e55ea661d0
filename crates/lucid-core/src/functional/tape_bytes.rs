//! Tapes as bytes: what `pickle`, `ProcessPoolExecutor` and Dask ship to other
//! processes and machines (NOTE [tape]).
//!
//! Layout: the magic `LUCIDTAP`, the format version (u32, little endian), the length
//! and text of the crate version that wrote it, an FNV-1a checksum of the body (u64),
//! then the body: the tapes as data (each op as its `OpCode`, constants and guards as
//! typed value arrays, shared constants once) in postcard's compact encoding. A tape
//! from another format or another Lucid version, or one damaged on the way, is a clear
//! error; a body that decodes is checked (every argument refers to an input or an
//! earlier step, every value array fills its shape) before any replay uses it.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::{ArcArray, IxDyn};
use serde::{Deserialize, Serialize};

use super::tape::{Arg, Step, Tape};
use crate::dtype::{DType, Storage};
use crate::error::{Error, Result};
use crate::ops::OpCode;
use crate::tensor::Tensor;

const MAGIC: &[u8; 8] = b"LUCIDTAP";
/// Bumped whenever the body's layout or the meaning of an `OpCode` changes.
const FORMAT: u32 = 1;
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Serialize, Deserialize)]
enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

#[derive(Serialize, Deserialize)]
struct Values {
    shape: Vec<usize>,
    data: Data,
}

impl Values {
    fn of(s: &Storage) -> Values {
        let shape = s.shape().to_vec();
        let data = match s {
            Storage::F32(a) => Data::F32(a.iter().copied().collect()),
            Storage::F64(a) => Data::F64(a.iter().copied().collect()),
            Storage::I64(a) => Data::I64(a.iter().copied().collect()),
            Storage::Bool(a) => Data::Bool(a.iter().copied().collect()),
        };
        Values { shape, data }
    }

    fn storage(self) -> Result<Storage> {
        fn array<T>(shape: &[usize], v: Vec<T>) -> Result<ArcArray<T, IxDyn>> {
            ArcArray::from_shape_vec(IxDyn(shape), v).map_err(|e| corrupt(&format!("a value array: {e}")))
        }
        Ok(match self.data {
            Data::F32(v) => Storage::F32(array(&self.shape, v)?),
            Data::F64(v) => Storage::F64(array(&self.shape, v)?),
            Data::I64(v) => Storage::I64(array(&self.shape, v)?),
            Data::Bool(v) => Storage::Bool(array(&self.shape, v)?),
        })
    }
}

#[derive(Serialize, Deserialize)]
enum ArgData {
    Input(usize),
    Step(usize),
    Const(usize),
}

#[derive(Serialize, Deserialize)]
struct StepData {
    op: OpCode,
    args: Vec<ArgData>,
    shape: Vec<usize>,
    dtype: DType,
    grad: bool,
    guard: Option<Values>,
}

#[derive(Serialize, Deserialize)]
struct TapeData {
    inputs: Vec<(Vec<usize>, DType)>,
    consts: Vec<Values>,
    steps: Vec<StepData>,
    outputs: Vec<ArgData>,
    input_guards: Vec<(usize, Values)>,
    tuple_output: bool,
    random: bool,
    untraceable: Option<String>,
}

fn corrupt(what: &str) -> Error {
    Error::argument("tape", format!("the saved tape is damaged ({what}); record it again"))
}

/// FNV-1a, 64 bits: enough to catch a damaged transfer (pickle is not a defence
/// against a crafted payload in any case: unpickling runs code).
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn to_data(tape: &Tape) -> Result<TapeData> {
    let mut consts = Vec::new();
    let mut const_of: HashMap<usize, usize> = HashMap::new();
    let mut arg = |a: &Arg| match a {
        Arg::Input(k) => ArgData::Input(*k),
        Arg::Step(s) => ArgData::Step(*s),
        Arg::Const(t) => ArgData::Const(*const_of.entry(t.id()).or_insert_with(|| {
            consts.push(Values::of(t.storage()));
            consts.len() - 1
        })),
    };
    let mut steps = Vec::with_capacity(tape.steps.len());
    for step in &tape.steps {
        let op = OpCode::of(step.rule.as_ref()).ok_or_else(|| {
            Error::argument("tape", format!("the op {} cannot be saved with a tape yet", step.rule.name()))
        })?;
        steps.push(StepData {
            op,
            args: step.args.iter().map(&mut arg).collect(),
            shape: step.shape.clone(),
            dtype: step.dtype,
            grad: step.grad,
            guard: step.guard.as_ref().map(Values::of),
        });
    }
    let outputs = tape.outputs.iter().map(&mut arg).collect();
    Ok(TapeData {
        inputs: tape.inputs.clone(),
        consts,
        steps,
        outputs,
        input_guards: tape.input_guards.iter().map(|(k, v)| (*k, Values::of(v))).collect(),
        tuple_output: tape.tuple_output,
        random: tape.random,
        untraceable: tape.untraceable.clone(),
    })
}

fn from_data(d: TapeData) -> Result<Tape> {
    let consts: Vec<Tensor> =
        d.consts.into_iter().map(|v| v.storage().map(Tensor::from_storage)).collect::<Result<_>>()?;
    let n_inputs = d.inputs.len();
    let arg = |a: ArgData, steps_before: usize| match a {
        ArgData::Input(k) if k < n_inputs => Ok(Arg::Input(k)),
        ArgData::Step(s) if s < steps_before => Ok(Arg::Step(s)),
        ArgData::Const(c) if c < consts.len() => Ok(Arg::Const(consts[c].clone())),
        _ => Err(corrupt("an argument refers to nothing before it")),
    };
    let mut steps = Vec::with_capacity(d.steps.len());
    for (i, s) in d.steps.into_iter().enumerate() {
        let guard = s.guard.map(Values::storage).transpose()?;
        if guard.as_ref().is_some_and(|g| g.shape() != s.shape.as_slice() || g.dtype() != s.dtype) {
            return Err(corrupt("a guard does not fit its step"));
        }
        steps.push(Step {
            rule: s.op.rule(),
            args: s.args.into_iter().map(|a| arg(a, i)).collect::<Result<_>>()?,
            shape: s.shape,
            dtype: s.dtype,
            grad: s.grad,
            guard,
        });
    }
    let outputs = d.outputs.into_iter().map(|a| arg(a, steps.len())).collect::<Result<Vec<_>>>()?;
    if outputs.is_empty() {
        return Err(corrupt("no outputs"));
    }
    let mut input_guards = Vec::with_capacity(d.input_guards.len());
    for (k, v) in d.input_guards {
        let v = v.storage()?;
        if d.inputs.get(k).is_none_or(|(shape, dtype)| v.shape() != shape.as_slice() || v.dtype() != *dtype) {
            return Err(corrupt("an input guard does not fit its input"));
        }
        input_guards.push((k, v));
    }
    Ok(Tape {
        inputs: d.inputs,
        steps,
        outputs,
        input_guards,
        tuple_output: d.tuple_output,
        random: d.random,
        untraceable: d.untraceable,
    })
}

/// The tapes as bytes (see the module doc for the layout).
pub(super) fn save(tapes: &[Arc<Tape>], counters: (usize, usize)) -> Result<Vec<u8>> {
    let data: Vec<TapeData> = tapes.iter().map(|t| to_data(t)).collect::<Result<_>>()?;
    let body = postcard::to_allocvec(&(counters, data))
        .map_err(|e| Error::argument("tape", format!("cannot save the tape: {e}")))?;
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&(VERSION.len() as u32).to_le_bytes());
    out.extend_from_slice(VERSION.as_bytes());
    out.extend_from_slice(&checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Read back what [`save`] wrote: the tapes and the `(records, replays)` counters.
pub(super) fn load(bytes: &[u8]) -> Result<(Vec<Tape>, (usize, usize))> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
        if bytes.len() < n {
            return Err(corrupt("it is cut short"));
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or([0; 4]));
    let mut rest = bytes;
    if take(&mut rest, 8)? != MAGIC {
        return Err(Error::argument("tape", "these bytes are not a saved Lucid tape"));
    }
    let format = u32_of(take(&mut rest, 4)?);
    let len = u32_of(take(&mut rest, 4)?) as usize;
    let version = String::from_utf8_lossy(take(&mut rest, len.min(64))?).into_owned();
    if format != FORMAT || version != VERSION {
        return Err(Error::argument(
            "tape",
            format!(
                "this tape was saved by Lucid {version} (tape format {format}); this is Lucid {VERSION} (format \
                 {FORMAT}): record it again with this version"
            ),
        ));
    }
    let sum = u64::from_le_bytes(take(&mut rest, 8)?.try_into().unwrap_or([0; 8]));
    if checksum(rest) != sum {
        return Err(corrupt("its checksum does not match"));
    }
    let (counters, data): ((usize, usize), Vec<TapeData>) =
        postcard::from_bytes(rest).map_err(|e| corrupt(&e.to_string()))?;
    Ok((data.into_iter().map(from_data).collect::<Result<_>>()?, counters))
}
