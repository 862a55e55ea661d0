//! Explicit JVP rules of the view, index, join, gather and sum ops: forward-mode
//! Jacobians and jvps against reverse mode and hand-derived tangents, batch ranks 0, 1
//! and 2, create_graph and forward-over-reverse Hessians.

use lucid_core::autograd::{enable_grad, grad, GradOptions, Plan};
use lucid_core::functional::{hessian, jacobian, jvp, JacobianOptions, Strategy};
use lucid_core::{DType, IndexItem, Result, Tensor};

type F = fn(&Tensor) -> Result<Tensor>;

fn t(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, DType::F64).unwrap()
}

fn idx(values: &[i64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.iter().map(|&v| v as f64).collect(), shape, DType::I64).unwrap()
}

/// Distinct, nonzero, mixed-sign values of `shape` (`salt` varies them).
fn data(shape: &[usize], salt: f64) -> Tensor {
    let n: usize = shape.iter().product();
    t(&(0..n).map(|i| (0.7 * i as f64 + salt).sin() + 0.05 * i as f64).collect::<Vec<_>>(), shape)
}

fn close(a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    for (i, (x, y)) in a.to_f64_vec().iter().zip(b.to_f64_vec()).enumerate() {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "entry {i}: {x} vs {y}");
    }
}

fn opts(strategy: Strategy, vectorize: bool) -> JacobianOptions {
    JacobianOptions { strategy, vectorize, ..Default::default() }
}

/// Forward-mode Jacobians (one vectorized sweep, batch rank 1, and blocks of columns)
/// equal the reverse-mode Jacobian.
fn check_jacobian(f: F, x: &Tensor) {
    let run = |o: JacobianOptions| jacobian(|xs| Ok(vec![f(&xs[0])?]), std::slice::from_ref(x), &o).unwrap().remove(0);
    let rev = run(opts(Strategy::ReverseMode, true));
    ({
        close(&run(opts(Strategy::ForwardMode, true)), &rev);
        close(&run(opts(Strategy::ForwardMode, false)), &rev);
    });
}

/// The jvp of `f` at `x` along `v` (batch rank 0) is `expected`.
fn check_jvp(f: F, x: &Tensor, v: &Tensor, expected: &Tensor) {
    let (_, jv) = { jvp(|xs| Ok(vec![f(&xs[0])?]), std::slice::from_ref(x), std::slice::from_ref(v), false).unwrap() };
    close(&jv[0], expected);
}

/// A tangent of batch rank 2 (`[2, 3, *x.shape]`) pushed through one sweep equals the
/// six jvps of its directions.
fn check_batch2(f: F, x: &Tensor) {
    let leaf = x.detach().leaf_requiring_grad().unwrap();
    let y = {
        let _g = enable_grad();
        f(&leaf).unwrap()
    };
    let mut shape = vec![2, 3];
    shape.extend_from_slice(x.shape());
    let v = data(&shape, 2.0);
    let plan = Plan::new(std::slice::from_ref(&y), std::slice::from_ref(&leaf));
    let out = plan.pushforward_dense(vec![Some(v.clone())], 2, false).unwrap().remove(0).unwrap();
    let mut want = vec![2, 3];
    want.extend_from_slice(y.shape());
    assert_eq!(out.shape(), want.as_slice());
    for i in 0..2 {
        for j in 0..3 {
            let vij = v.select(0, i).unwrap().select(0, j).unwrap();
            let (_, jv) = jvp(|xs| Ok(vec![f(&xs[0])?]), std::slice::from_ref(x), &[vij], false).unwrap();
            close(&out.select(0, i).unwrap().select(0, j).unwrap(), &jv[0]);
        }
    }
}

/// All three checks; `op_on_v` is the hand-derived tangent (the linear op applied to v).
fn check(f: F, x: &Tensor, op_on_v: F) {
    let v = data(x.shape(), 1.0);
    check_jvp(f, x, &v, &op_on_v(&v).unwrap());
    check_jacobian(f, x);
    check_batch2(f, x);
}

// ---- views ----------------------------------------------------------------------------

#[test]
fn reshape_tangent_is_the_reshaped_tangent() {
    // d reshape(x) = reshape(dx)
    check(|x| x.reshape(&[3, 2]), &data(&[2, 3], 0.0), |v| v.reshape(&[3, 2]));
    check(|x| x.flatten(0, 1)?.unsqueeze(0)?.squeeze(None), &data(&[2, 3], 0.0), |v| v.reshape(&[6]));
    // y = reshape(xᵀ): the permute densifies the seed, then the reshape rule runs
    check(|x| x.t()?.reshape(&[6]), &data(&[2, 3], 0.0), |v| v.t()?.reshape(&[6]));
}

#[test]
fn reshape_tangent_by_hand() {
    // y = reshape(x, [2, 2]) of x = (x0, x1, x2, x3): dy = [[v0, v1], [v2, v3]]
    let x = data(&[4], 0.0);
    let v = t(&[1.0, 2.0, 3.0, 4.0], &[4]);
    check_jvp(|x| x.reshape(&[2, 2]), &x, &v, &t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
}

#[test]
fn permute_tangent_is_the_permuted_tangent() {
    // d permute(x, p) = permute(dx, p); under a batch the axes shift by its rank
    check(|x| x.permute(&[2, 0, 1]), &data(&[2, 3, 4], 0.0), |v| v.permute(&[2, 0, 1]));
    check(|x| x.transpose(0, 2), &data(&[2, 3, 4], 0.0), |v| v.transpose(0, 2));
    check(|x| x.mt(), &data(&[2, 3, 4], 0.0), |v| v.mt());
    // xᵀ of [[x0, x1, x2], [x3, x4, x5]]: dy = [[v0, v3], [v1, v4], [v2, v5]]
    let v = t(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]);
    check_jvp(|x| x.t(), &data(&[2, 3], 0.0), &v, &t(&[0.0, 3.0, 1.0, 4.0, 2.0, 5.0], &[3, 2]));
}

#[test]
fn expand_tangent_is_the_broadcast_tangent() {
    // y[i, j, k] = x[j, 0]: dy[i, j, k] = v[j, 0] (x aligned right, then broadcast)
    check(|x| x.expand(&[2, 3, 4]), &data(&[3, 1], 0.0), |v| v.expand(&[2, 3, 4]));
    check(|x| x.expand(&[3, 2]), &data(&[2], 0.0), |v| v.expand(&[3, 2]));
    check(|x| x.expand(&[2, 2]), &data(&[], 0.0), |v| v.expand(&[2, 2]));
    let v = t(&[1.0, 2.0], &[2, 1]);
    check_jvp(|x| x.expand(&[2, 3]), &data(&[2, 1], 0.0), &v, &t(&[1.0, 1.0, 1.0, 2.0, 2.0, 2.0], &[2, 3]));
}

#[test]
fn repeat_and_tile_tangents() {
    // repeat is reshape → expand → reshape: d repeat(x) = repeat(dx)
    check(|x| x.repeat(&[2, 1, 3]), &data(&[2, 2], 0.0), |v| v.repeat(&[2, 1, 3]));
    check(|x| x.tile(&[2]), &data(&[2, 3], 0.0), |v| v.tile(&[2]));
}

// ---- basic indexing -------------------------------------------------------------------

fn slice(start: Option<isize>, stop: Option<isize>, step: isize) -> IndexItem {
    IndexItem::Slice { start, stop, step }
}

#[test]
fn slice_tangent_is_the_sliced_tangent() {
    // d x[1:, ::-2] = dx[1:, ::-2]
    check(
        |x| x.index(&[slice(Some(1), None, 1), slice(None, None, -2)]),
        &data(&[3, 4], 0.0),
        |v| v.index(&[slice(Some(1), None, 1), slice(None, None, -2)]),
    );
    // ints, None and Ellipsis: d x[None, ..., 1] = dx[None, ..., 1]
    check(
        |x| x.index(&[IndexItem::NewAxis, IndexItem::Ellipsis, IndexItem::Int(1)]),
        &data(&[2, 3, 4], 0.0),
        |v| v.index(&[IndexItem::NewAxis, IndexItem::Ellipsis, IndexItem::Int(1)]),
    );
    check(|x| x.narrow(1, 1, 2), &data(&[2, 4], 0.0), |v| v.narrow(1, 1, 2));
    check(|x| x.select(0, -1), &data(&[3, 2], 0.0), |v| v.select(0, -1));
    check(|x| x.flip(&[0, 1]), &data(&[2, 3], 0.0), |v| v.flip(&[0, 1]));
    // x[1:] - x[:-1] of (x0, x1, x2, x3): dy = (v1 - v0, v2 - v1, v3 - v2)
    let v = t(&[1.0, 4.0, 9.0, 16.0], &[4]);
    check_jvp(
        |x| x.index(&[slice(Some(1), None, 1)])?.sub(&x.index(&[slice(None, Some(-1), 1)])?),
        &data(&[4], 0.0),
        &v,
        &t(&[3.0, 5.0, 7.0], &[3]),
    );
}

/// The gradient of Σ x[1:]³, built with create_graph: [0, 3 x1², 3 x2², …]. The
/// scatter into zeros is a `SliceBackward` node whose input depends on x.
fn grad_of_cubed_tail(x: &Tensor) -> Result<Tensor> {
    let y = x.index(&[slice(Some(1), None, 1)])?.pow_scalar(3.0)?.sum_all()?;
    let opts = GradOptions { retain_graph: true, create_graph: true, allow_unused: false };
    Ok(grad(&[y], std::slice::from_ref(x), &[], opts)?.remove(0).expect("x reaches y"))
}

#[test]
fn slice_backward_tangent_scatters_the_tangent() {
    // g = [0, 3 x1², 3 x2²]: dg = [0, 6 x1 v1, 6 x2 v2]
    let x = t(&[2.0, -1.0, 0.5], &[3]);
    let v = t(&[1.0, 2.0, 3.0], &[3]);
    let (_, jv) = jvp(|xs| Ok(vec![grad_of_cubed_tail(&xs[0])?]), std::slice::from_ref(&x), &[v], false).unwrap();
    close(&jv[0], &t(&[0.0, -12.0, 9.0], &[3]));
    // its Jacobian, forward over reverse: diag(0, 6 x1, 6 x2)
    let j = {
        jacobian(
            |xs| Ok(vec![grad_of_cubed_tail(&xs[0])?]),
            std::slice::from_ref(&x),
            &opts(Strategy::ForwardMode, true),
        )
        .unwrap()
        .remove(0)
    };
    close(&j, &t(&[0.0, 0.0, 0.0, 0.0, -6.0, 0.0, 0.0, 0.0, 3.0], &[3, 3]));
    check_jacobian(grad_of_cubed_tail, &data(&[2, 3], 0.0));
    check_batch2(grad_of_cubed_tail, &data(&[2, 3], 0.0));
}

// ---- cat and its users ----------------------------------------------------------------

#[test]
fn cat_tangent_joins_the_tangents_with_zeros_for_constants() {
    // y = cat([x, c, 2x], dim 1) with a constant c: dy = cat([v, 0, 2v], dim 1)
    fn f(x: &Tensor) -> Result<Tensor> {
        Tensor::cat(&[x.clone(), Tensor::ones(&[2, 1], DType::F64), x.mul_scalar(2.0)?], 1)
    }
    check(f, &data(&[2, 2], 0.0), |v| {
        Tensor::cat(&[v.clone(), Tensor::zeros(&[2, 1], DType::F64), v.mul_scalar(2.0)?], 1)
    });
    let v = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    check_jvp(f, &data(&[2, 2], 0.0), &v, &t(&[1.0, 2.0, 0.0, 2.0, 4.0, 3.0, 4.0, 0.0, 6.0, 8.0], &[2, 5]));
    // stack([x, sin x]): d = stack([v, cos(x) v])
    fn st(x: &Tensor) -> Result<Tensor> {
        Tensor::stack(&[x.clone(), x.sin()?], -1)
    }
    let x = data(&[2, 3], 0.0);
    let v = data(&[2, 3], 1.0);
    check_jvp(st, &x, &v, &Tensor::stack(&[v.clone(), x.cos().unwrap().mul(&v).unwrap()], -1).unwrap());
    check_jacobian(st, &x);
    check_batch2(st, &x);
}

#[test]
fn roll_and_split_tangents() {
    // roll is a cat of two slabs: d roll(x) = roll(dx)
    check(|x| x.roll(&[1, -1], &[0, 1]), &data(&[3, 4], 0.0), |v| v.roll(&[1, -1], &[0, 1]));
    check(|x| x.roll(&[2], &[]), &data(&[2, 3], 0.0), |v| v.roll(&[2], &[]));
    // pieces of a split are slices; cat them back in another order
    check(
        |x| {
            let p = x.split(2, 1)?;
            Tensor::cat(&[p[1].clone(), p[0].clone()], 1)
        },
        &data(&[2, 4], 0.0),
        |v| Tensor::cat(&[v.narrow(1, 2, 2)?, v.narrow(1, 0, 2)?], 1),
    );
}

// ---- gather / put ---------------------------------------------------------------------

#[test]
fn take_tangent_reads_the_tangent_at_the_same_positions() {
    // y = gather(x, 1, [[0, 0], [1, 0]]) = [[x00, x00], [x11, x10]]: dy the same of v
    let x = data(&[2, 2], 0.0);
    let v = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    check_jvp(|x| x.gather(1, &idx(&[0, 0, 1, 0], &[2, 2])), &x, &v, &t(&[1.0, 1.0, 4.0, 3.0], &[2, 2]));
    check(|x| x.gather(1, &idx(&[0, 0, 1, 0], &[2, 2])), &x, |v| v.gather(1, &idx(&[0, 0, 1, 0], &[2, 2])));
    check(
        |x| x.index_select(0, &idx(&[2, 0, 2], &[3])),
        &data(&[3, 2], 0.0),
        |v| v.index_select(0, &idx(&[2, 0, 2], &[3])),
    );
    // advanced indexing: x[[0, 2], :, [1, 0]]
    fn adv(x: &Tensor) -> Result<Tensor> {
        x.index(&[IndexItem::Tensor(idx(&[0, 2], &[2])), IndexItem::full(), IndexItem::Tensor(idx(&[1, 0], &[2]))])
    }
    check(adv, &data(&[3, 2, 2], 0.0), adv);
    // a bool mask over both dims picks x00, x11: dy = (v00, v11)
    fn masked(x: &Tensor) -> Result<Tensor> {
        let m = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2], DType::Bool)?;
        x.index(&[IndexItem::Tensor(m)])
    }
    check_jvp(masked, &x, &v, &t(&[1.0, 4.0], &[2]));
    check(masked, &x, masked);
}

#[test]
fn put_tangent_adds_the_tangent_at_the_same_positions() {
    // y = zeros(3).scatter_add(0, [0, 2, 0], x²): y = (x0² + x2², 0, x1²),
    // dy = (2 x0 v0 + 2 x2 v2, 0, 2 x1 v1)
    fn f(x: &Tensor) -> Result<Tensor> {
        Tensor::zeros(&[3], DType::F64).scatter_add(0, &idx(&[0, 2, 0], &[3]), &x.square()?)
    }
    let x = t(&[1.0, 2.0, 3.0], &[3]);
    let v = t(&[1.0, -1.0, 0.5], &[3]);
    check_jvp(f, &x, &v, &t(&[5.0, 0.0, -4.0], &[3]));
    check_jacobian(f, &data(&[3], 0.0));
    check_batch2(f, &data(&[3], 0.0));
    // index_put with accumulate adds x at rows [1, 1]: y = c + put(x)
    fn g(x: &Tensor) -> Result<Tensor> {
        Tensor::ones(&[3, 2], DType::F64).index_put(&[IndexItem::Tensor(idx(&[1, 1], &[2]))], x, true)
    }
    // y[1] = 1 + x0 + x1: dy = [[0, 0], [v0 + v1], [0, 0]]
    let v = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    check_jvp(g, &data(&[2, 2], 0.0), &v, &t(&[0.0, 0.0, 4.0, 6.0, 0.0, 0.0], &[3, 2]));
    check_jacobian(g, &data(&[2, 2], 0.0));
    check_batch2(g, &data(&[2, 2], 0.0));
    // scatter (last write wins) is take + put + where
    fn s(x: &Tensor) -> Result<Tensor> {
        x.scatter(0, &idx(&[2, 0], &[2]), &x.narrow(0, 1, 2)?.mul_scalar(3.0)?)
    }
    // y = (3 x2, x1, 3 x1): dy = (3 v2, v1, 3 v1)
    let v = t(&[1.0, 2.0, 3.0], &[3]);
    check_jvp(s, &data(&[3], 0.0), &v, &t(&[9.0, 2.0, 6.0], &[3]));
    check_jacobian(s, &data(&[3], 0.0));
    check_batch2(s, &data(&[3], 0.0));
}

// ---- sum --------------------------------------------------------------------------------

#[test]
fn sum_tangent_is_the_summed_tangent() {
    // d sum(x, dims) = sum(dx, dims), keepdim honoured, axes shifted past the batch
    check(|x| x.sum(Some(&[0]), false), &data(&[2, 3], 0.0), |v| v.sum(Some(&[0]), false));
    check(|x| x.sum(Some(&[-1]), true), &data(&[2, 3], 0.0), |v| v.sum(Some(&[-1]), true));
    check(|x| x.sum(Some(&[0, 2]), false), &data(&[2, 3, 2], 0.0), |v| v.sum(Some(&[0, 2]), false));
    check(|x| x.sum_all(), &data(&[2, 3], 0.0), |v| v.sum_all());
    check(|x| x.mean(Some(&[1]), true), &data(&[2, 3], 0.0), |v| v.mean(Some(&[1]), true));
    // Σ of x² over rows of [[x0, x1], [x2, x3]]: d = (2 x0 v0 + 2 x1 v1, 2 x2 v2 + 2 x3 v3)
    let x = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let v = t(&[1.0, 1.0, -1.0, 0.5], &[2, 2]);
    check_jvp(|x| x.square()?.sum(Some(&[1]), false), &x, &v, &t(&[6.0, -2.0], &[2]));
}

// ---- second order -----------------------------------------------------------------------

fn rosenbrock(x: &Tensor) -> Result<Tensor> {
    let n = x.shape()[0] as isize;
    let head = x.narrow(0, 0, (n - 1) as usize)?;
    let tail = x.index(&[slice(Some(1), None, 1)])?;
    let a = tail.sub(&head.square()?)?.square()?.mul_scalar(100.0)?;
    let b = head.neg()?.add_scalar(1.0)?.square()?;
    a.add(&b)?.sum_all()
}

#[test]
fn rosenbrock_hessian_forward_over_reverse() {
    // f = Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²:
    // H_ii = 1200 x_i² - 400 x_{i+1} + 2 (i < n-1) + 200 (i > 0), H_{i,i+1} = -400 x_i
    let xs = [0.5, -1.0, 1.5, 0.25, 2.0];
    let n = xs.len();
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        if i + 1 < n {
            h[i * n + i] += 1200.0 * xs[i] * xs[i] - 400.0 * xs[i + 1] + 2.0;
            h[i * n + i + 1] = -400.0 * xs[i];
            h[(i + 1) * n + i] = -400.0 * xs[i];
        }
        if i > 0 {
            h[i * n + i] += 200.0;
        }
    }
    let want = t(&h, &[n, n]);
    let x = t(&xs, &[n]);
    let f = |x: &[Tensor]| Ok(vec![rosenbrock(&x[0])?]);
    for vectorize in [true, false] {
        let got = hessian(f, std::slice::from_ref(&x), &opts(Strategy::ForwardMode, vectorize)).unwrap();
        close(&got[0][0], &want);
    }
    close(&hessian(f, std::slice::from_ref(&x), &opts(Strategy::ReverseMode, true)).unwrap()[0][0], &want);
}

#[test]
fn forward_jacobian_with_create_graph_is_differentiable() {
    // y = x[1:] * x[:-1] of (x0, x1, x2): J = [[x1, x0, 0], [0, x2, x1]];
    // s = Σ W ∘ J = W00 x1 + W01 x0 + W11 x2 + W12 x1, ds/dx = (W01, W00 + W12, W11)
    let x = t(&[0.3, -0.7, 1.1], &[3]).leaf_requiring_grad().unwrap();
    let w = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let f = |xs: &[Tensor]| {
        let x = &xs[0];
        Ok(vec![x.index(&[slice(Some(1), None, 1)])?.mul(&x.narrow(0, 0, 2)?)?])
    };
    for strategy in [Strategy::ForwardMode, Strategy::ReverseMode] {
        let o = JacobianOptions { strategy, vectorize: true, create_graph: true, ..Default::default() };
        let j = jacobian(f, std::slice::from_ref(&x), &o).unwrap().remove(0);
        close(&j, &t(&[-0.7, 0.3, 0.0, 0.0, 1.1, -0.7], &[2, 3]));
        let s = j.mul(&w).unwrap().sum_all().unwrap();
        let g = grad(&[s], std::slice::from_ref(&x), &[], GradOptions::default()).unwrap().remove(0).unwrap();
        close(&g, &t(&[2.0, 1.0 + 6.0, 5.0], &[3]));
    }
}

#[test]
fn everything_at_once() {
    // A composition of every op family here, Jacobian by both modes and its Hessian of
    // a scalar summary by forward over reverse.
    fn f(x: &Tensor) -> Result<Tensor> {
        let a = x.reshape(&[2, 3])?.t()?.expand(&[2, 3, 2])?;
        let b = a.index(&[IndexItem::Int(1), slice(None, None, -1)])?;
        let c = Tensor::cat(&[b.clone(), b.sin()?], 0)?;
        let d = c.gather(0, &idx(&[5, 0, 2, 2, 1, 4], &[3, 2]))?;
        d.mul(&d)?.sum(Some(&[1]), true)
    }
    check(f, &data(&[6], 0.0), |v| {
        // the tangent by the chain rule, op by op
        let x = data(&[6], 0.0);
        let b = |t: &Tensor| {
            t.reshape(&[2, 3])?.t()?.expand(&[2, 3, 2])?.index(&[IndexItem::Int(1), slice(None, None, -1)])
        };
        let (bx, bv) = (b(&x)?, b(v)?);
        let c = Tensor::cat(&[bx.clone(), bx.sin()?], 0)?;
        let dc = Tensor::cat(&[bv.clone(), bx.cos()?.mul(&bv)?], 0)?;
        let i = idx(&[5, 0, 2, 2, 1, 4], &[3, 2]);
        let (d, dd) = (c.gather(0, &i)?, dc.gather(0, &i)?);
        d.mul(&dd)?.mul_scalar(2.0)?.sum(Some(&[1]), true)
    });
    let summary = |xs: &[Tensor]| Ok(vec![f(&xs[0])?.sin()?.sum_all()?]);
    let x = data(&[6], 0.0);
    let fwd = hessian(summary, std::slice::from_ref(&x), &opts(Strategy::ForwardMode, true)).unwrap();
    let rev = hessian(summary, &[x], &opts(Strategy::ReverseMode, true)).unwrap();
    close(&fwd[0][0], &rev[0][0]);
}
