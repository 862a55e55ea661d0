//! `einsum`: Einstein summation over one or more operands, NumPy/PyTorch notation
//! (`"ij,jk->ik"`, implicit output `"ij,jk"`, `"..."` for broadcast dims).
//!
//! It records no op of its own: repeated subscripts become `diagonal`s, subscripts
//! used once and not in the output are summed, and each pair of operands is
//! contracted with one batched `matmul` (permute → reshape to `[batch.., L, C]` and
//! `[batch.., C, R]`). Its derivatives of every order are those of these ops.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A subscript: a letter's code point, or `ELLIPSIS + j` for the j-th broadcast dim
/// (counted from the left of the widest ellipsis, so operands align on the right).
type Label = u32;
const ELLIPSIS: Label = 1 << 16;

#[derive(Clone, Copy, PartialEq)]
enum Item {
    Letter(char),
    Ellipsis,
}

fn parse_term(term: &str, what: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut chars = term.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            'a'..='z' | 'A'..='Z' => items.push(Item::Letter(c)),
            '.' => {
                if chars.next() != Some('.') || chars.next() != Some('.') {
                    return Err(Error::argument(
                        "einsum",
                        format!("{what} has a '.' that is not part of an ellipsis '...'"),
                    ));
                }
                if items.contains(&Item::Ellipsis) {
                    return Err(Error::argument("einsum", format!("{what} has more than one ellipsis '...'")));
                }
                items.push(Item::Ellipsis);
            }
            other => {
                return Err(Error::argument(
                    "einsum",
                    format!("invalid character {other:?} in {what}; subscripts are letters a-z, A-Z and '...'"),
                ))
            }
        }
    }
    Ok(items)
}

fn label_name(l: Label) -> String {
    if l >= ELLIPSIS {
        format!("ellipsis dim {}", l - ELLIPSIS)
    } else {
        format!("subscript '{}'", char::from_u32(l).unwrap_or('?'))
    }
}

/// Sum `t` over the positions of `labels` that `drop` selects; returns the rest.
fn sum_out(t: Tensor, labels: Vec<Label>, drop: impl Fn(Label) -> bool) -> Result<(Tensor, Vec<Label>)> {
    let axes: Vec<isize> = (0..labels.len()).filter(|&i| drop(labels[i])).map(|i| i as isize).collect();
    if axes.is_empty() {
        return Ok((t, labels));
    }
    let kept = labels.into_iter().filter(|&l| !drop(l)).collect();
    Ok((t.sum(Some(&axes), false)?, kept))
}

/// Take diagonals until no subscript repeats within the operand (`ii -> i`).
fn diagonalize(mut t: Tensor, mut labels: Vec<Label>) -> Result<(Tensor, Vec<Label>)> {
    loop {
        let repeat =
            (0..labels.len()).find_map(|i| (i + 1..labels.len()).find(|&j| labels[j] == labels[i]).map(|j| (i, j)));
        let Some((i, j)) = repeat else { return Ok((t, labels)) };
        t = t.diagonal(0, i as isize, j as isize)?;
        let l = labels[i];
        labels.remove(j);
        labels.remove(i);
        labels.push(l);
    }
}

/// Contract two operands over their shared subscripts that `keep` does not need.
fn contract(
    (a, la): (Tensor, Vec<Label>),
    (b, lb): (Tensor, Vec<Label>),
    keep: &dyn Fn(Label) -> bool,
    size: &HashMap<Label, usize>,
) -> Result<(Tensor, Vec<Label>)> {
    let (a, la) = sum_out(a, la.clone(), |l| !keep(l) && !lb.contains(&l))?;
    let (b, lb) = sum_out(b, lb.clone(), |l| !keep(l) && !la.contains(&l))?;
    let batch: Vec<Label> = la.iter().copied().filter(|l| lb.contains(l) && keep(*l)).collect();
    let summed: Vec<Label> = la.iter().copied().filter(|l| lb.contains(l) && !keep(*l)).collect();
    let left: Vec<Label> = la.iter().copied().filter(|l| !lb.contains(l)).collect();
    let right: Vec<Label> = lb.iter().copied().filter(|l| !la.contains(l)).collect();
    let pos = |ls: &[Label], l: Label| ls.iter().position(|&x| x == l).unwrap_or(0);
    let sizes = |ls: &[Label]| -> Vec<usize> { ls.iter().map(|l| size.get(l).copied().unwrap_or(1)).collect() };
    let prod = |ls: &[Label]| -> usize { sizes(ls).iter().product() };

    let perm_a: Vec<usize> = batch.iter().chain(&left).chain(&summed).map(|&l| pos(&la, l)).collect();
    let perm_b: Vec<usize> = batch.iter().chain(&summed).chain(&right).map(|&l| pos(&lb, l)).collect();
    let mut shape_a = sizes(&batch);
    shape_a.extend([prod(&left), prod(&summed)]);
    let mut shape_b = sizes(&batch);
    shape_b.extend([prod(&summed), prod(&right)]);
    let a2 = a.permute_exact(&perm_a)?.reshape_exact(&shape_a)?;
    let b2 = b.permute_exact(&perm_b)?.reshape_exact(&shape_b)?;
    let mut out_shape = sizes(&batch);
    out_shape.extend(sizes(&left));
    out_shape.extend(sizes(&right));
    let c = a2.matmul(&b2)?.reshape_exact(&out_shape)?;
    Ok((c, batch.into_iter().chain(left).chain(right).collect()))
}

/// Einstein summation, e.g. `einsum("bij,bjk->bik", &[a, b])`.
///
/// Subscripts are letters; a subscript repeated within an operand takes a diagonal;
/// one absent from the output is summed. Without `->` the output is the ellipsis
/// dims followed by the subscripts used exactly once, in alphabetical order.
/// `...` stands for broadcast dims. Sizes of a subscript must agree exactly.
///
/// ```
/// use lucid_core::{ops::linalg::einsum::einsum, Tensor, DType};
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], DType::F64).unwrap();
/// assert_eq!(einsum("ii->", &[a.clone()]).unwrap().item().unwrap(), 5.0);
/// assert_eq!(einsum("ij->ji", &[a]).unwrap().to_f64_vec(), vec![1.0, 3.0, 2.0, 4.0]);
/// ```
pub fn einsum(equation: &str, operands: &[Tensor]) -> Result<Tensor> {
    if operands.is_empty() {
        return Err(Error::argument("einsum", "needs at least one operand"));
    }
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != operands.len() {
        return Err(Error::argument(
            "einsum",
            format!("equation {equation:?} has {} operand(s) but {} tensor(s) were given", terms.len(), operands.len()),
        ));
    }
    let parsed: Vec<Vec<Item>> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| parse_term(t, &format!("the subscripts of operand {i}")))
        .collect::<Result<_>>()?;

    // Ellipsis ranks, then each operand's labels with its ellipsis spelled out.
    let mut ell_ranks = Vec::with_capacity(operands.len());
    for (i, (items, t)) in parsed.iter().zip(operands).enumerate() {
        let letters = items.iter().filter(|it| matches!(it, Item::Letter(_))).count();
        let has_ell = items.contains(&Item::Ellipsis);
        if letters > t.ndim() || (!has_ell && letters != t.ndim()) {
            return Err(Error::shape(
                "einsum",
                format!(
                    "operand {i} has {} dims (shape {:?}) but its subscripts {:?} name {letters}",
                    t.ndim(),
                    t.shape(),
                    terms[i]
                ),
            ));
        }
        ell_ranks.push(t.ndim() - letters);
    }
    let ell = ell_ranks.iter().copied().max().unwrap_or(0);
    let mut labels: Vec<Vec<Label>> = Vec::with_capacity(operands.len());
    for (items, &r) in parsed.iter().zip(&ell_ranks) {
        let mut ls = Vec::new();
        for it in items {
            match it {
                Item::Letter(c) => ls.push(*c as Label),
                Item::Ellipsis => ls.extend((ell - r..ell).map(|j| ELLIPSIS + j as Label)),
            }
        }
        labels.push(ls);
    }

    // One size per subscript; ellipsis dims broadcast, letters must agree.
    let mut size: HashMap<Label, usize> = HashMap::new();
    for (i, (ls, t)) in labels.iter().zip(operands).enumerate() {
        for (&l, &n) in ls.iter().zip(t.shape()) {
            match size.get(&l).copied() {
                None => {
                    size.insert(l, n);
                }
                Some(m) if m == n => {}
                Some(m) if l >= ELLIPSIS && (m == 1 || n == 1) => {
                    size.insert(l, m.max(n));
                }
                Some(m) => {
                    return Err(Error::shape(
                        "einsum",
                        format!(
                            "{} has size {m} elsewhere but size {n} in operand {i} (shape {:?})",
                            label_name(l),
                            t.shape()
                        ),
                    ))
                }
            }
        }
    }

    let output: Vec<Label> = match rhs {
        Some(r) => {
            let mut out = Vec::new();
            for it in parse_term(r, "the output subscripts")? {
                match it {
                    Item::Letter(c) => {
                        let l = c as Label;
                        if out.contains(&l) {
                            return Err(Error::argument(
                                "einsum",
                                format!("output subscript '{c}' appears more than once"),
                            ));
                        }
                        if !labels.iter().any(|ls| ls.contains(&l)) {
                            return Err(Error::argument(
                                "einsum",
                                format!("output subscript '{c}' does not appear in any operand"),
                            ));
                        }
                        out.push(l);
                    }
                    Item::Ellipsis => out.extend((0..ell).map(|j| ELLIPSIS + j as Label)),
                }
            }
            out
        }
        None => {
            let mut once: Vec<Label> = Vec::new();
            for l in labels.iter().flatten().copied().filter(|&l| l < ELLIPSIS) {
                if labels.iter().flatten().filter(|&&m| m == l).count() == 1 {
                    once.push(l);
                }
            }
            once.sort_unstable();
            (0..ell).map(|j| ELLIPSIS + j as Label).chain(once).collect()
        }
    };

    // Per operand: diagonals, broadcast ellipsis dims, sums of private subscripts.
    let mut prepared = Vec::with_capacity(operands.len());
    for (i, (t, ls)) in operands.iter().zip(&labels).enumerate() {
        let (mut t, ls) = diagonalize(t.clone(), ls.clone())?;
        let full: Vec<usize> = ls.iter().map(|l| size.get(l).copied().unwrap_or(1)).collect();
        if full != t.shape() {
            t = t.expand(&full)?;
        }
        let elsewhere =
            |l: Label| output.contains(&l) || labels.iter().enumerate().any(|(j, o)| j != i && o.contains(&l));
        prepared.push(sum_out(t, ls, |l| !elsewhere(l))?);
    }

    // Fold left, keeping the subscripts the output or a later operand still needs.
    let mut it = prepared.into_iter().enumerate();
    let (_, mut acc) = it.next().ok_or_else(|| Error::argument("einsum", "needs at least one operand"))?;
    for (j, next) in it {
        let later = &labels[j + 1..];
        let keep = |l: Label| output.contains(&l) || later.iter().any(|o| o.contains(&l));
        acc = contract(acc, next, &keep, &size)?;
    }
    let (t, ls) = sum_out(acc.0, acc.1, |l| !output.contains(&l))?;
    let perm: Vec<usize> = output.iter().map(|l| ls.iter().position(|m| m == l).unwrap_or(0)).collect();
    t.permute_exact(&perm)
}
