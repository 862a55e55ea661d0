"""Error paths of the linear-algebra ops: each raises the exception a PyTorch user
expects, with a message naming the op and what was wrong."""

import numpy as np
import pytest

import lucid

F64 = lucid.float64


def t(data):
    return lucid.tensor(np.asarray(data, dtype=np.float64))


SINGULAR = [[1.0, 2.0], [2.0, 4.0]]
BATCH_WITH_SINGULAR = [[[2.0, 0.0], [0.0, 2.0]], [[1.0, 2.0], [3.0, 4.0]], SINGULAR]


@pytest.mark.parametrize("fn", [lucid.inv, lucid.linalg.inv, lambda a: a.inverse()])
def test_inverse_of_singular_matrix(fn):
    with pytest.raises(RuntimeError, match="inv: the matrix is singular"):
        fn(t(SINGULAR))


def test_singular_matrix_in_a_batch_names_its_index():
    with pytest.raises(RuntimeError, match=r"inv: the matrix at batch index \(2,\) is singular"):
        lucid.inv(t(BATCH_WITH_SINGULAR))
    with pytest.raises(RuntimeError, match=r"solve: the matrix A at batch index \(2,\) is singular"):
        lucid.solve(t(BATCH_WITH_SINGULAR), t([1.0, 1.0]))
    nested = t(np.stack([np.eye(2), np.eye(2), np.eye(2), SINGULAR]).reshape(2, 2, 2, 2))
    with pytest.raises(RuntimeError, match=r"batch index \(1, 1\)"):
        nested.inverse()


def test_singular_det_is_zero_and_still_differentiable():
    # det [[a, b], [c, d]] = ad - bc has gradient [[d, -c], [-b, a]] everywhere,
    # singular matrices included (as in PyTorch)
    a = t(SINGULAR).requires_grad_()
    d = a.det()
    assert d.item() == 0.0
    d.backward()
    assert a.grad.tolist() == [[4.0, -2.0], [-2.0, 1.0]]
    sign, logabsdet = lucid.slogdet(t(SINGULAR))
    assert sign.item() == 0.0 and logabsdet.item() == -np.inf
    # log|det| has no finite gradient at a singular matrix
    b = t(SINGULAR).requires_grad_()
    with pytest.raises(RuntimeError, match="slogdet backward: the matrix is singular"):
        lucid.slogdet(b)[1].backward()


def test_cholesky_of_a_matrix_that_is_not_positive_definite():
    with pytest.raises(RuntimeError, match="cholesky: the matrix is not positive definite.*order 2"):
        lucid.cholesky(t([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(RuntimeError, match=r"cholesky: the matrix at batch index \(1,\) is not positive definite.*order 1"):
        lucid.linalg.cholesky(t([np.eye(2), -np.eye(2)]))


@pytest.mark.parametrize("name", ["inverse", "det", "logdet", "slogdet", "cholesky"])
@pytest.mark.parametrize("shape", [(2, 3), (3,), (2, 3, 2)])
def test_non_square_input(name, shape):
    with pytest.raises(ValueError, match=rf"^{'inv' if name == 'inverse' else name}: expected a square matrix .* got shape \[{', '.join(map(str, shape))}\]"):
        getattr(lucid.zeros(*shape, dtype=F64), name)()


@pytest.mark.parametrize("name", ["inverse", "det", "logdet", "slogdet", "cholesky"])
def test_integer_input(name):
    with pytest.raises(TypeError, match="expected a floating point tensor, got int64"):
        getattr(lucid.tensor([[1, 0], [0, 1]]), name)()


def test_solve_shape_errors():
    a = lucid.eye(3, dtype=F64)
    with pytest.raises(ValueError, match=r"solve: A of shape \[3, 3\] cannot solve for B of shape \[2\]"):
        lucid.solve(a, lucid.ones(2, dtype=F64))
    with pytest.raises(ValueError, match=r"B of shape \[4, 2\] \(B needs 3 rows\)"):
        lucid.solve(a, lucid.ones(4, 2, dtype=F64))
    with pytest.raises(ValueError, match="solve: shapes"):
        lucid.solve(lucid.ones(2, 3, 3, dtype=F64) + a, lucid.ones(4, 3, 1, dtype=F64))
    with pytest.raises(ValueError, match="solve: expected a square matrix"):
        lucid.solve(lucid.ones(3, 2, dtype=F64), lucid.ones(3, dtype=F64))
    with pytest.raises(TypeError, match="solve: argument 'B' must be a Tensor, got list"):
        lucid.solve(a, [1.0, 2.0, 3.0])


def test_product_shape_errors():
    v, m = lucid.ones(3), lucid.ones(2, 3)
    with pytest.raises(ValueError, match=r"dot: expected two 1-D tensors, got shapes \[2, 3\] and \[3\]"):
        m.dot(v)
    with pytest.raises(ValueError, match="dot: vectors of lengths 3 and 2"):
        lucid.dot(v, lucid.ones(2))
    with pytest.raises(ValueError, match="outer: expected two 1-D tensors"):
        lucid.outer(m, v)
    with pytest.raises(ValueError, match=r"mv: expected a matrix \[n, m\] and a vector \[m\], got shapes \[2, 3\] and \[2\]"):
        m.mv(lucid.ones(2))
    with pytest.raises(ValueError, match=r"mm: .* got shapes \[2, 3\] and \[2, 3\]"):
        lucid.mm(m, m)
    with pytest.raises(ValueError, match="mm: "):
        lucid.mm(v, m.T)
    with pytest.raises(ValueError, match=r"bmm: .* got shapes \[2, 2, 3\] and \[3, 3, 4\]"):
        lucid.bmm(lucid.ones(2, 2, 3), lucid.ones(3, 3, 4))
    with pytest.raises(ValueError, match="bmm: "):
        lucid.bmm(m, m.T)
    with pytest.raises(TypeError, match="dot: argument 'other' must be a Tensor, got float"):
        v.dot(1.0)


def test_diagonal_and_triangle_errors():
    m = lucid.ones(2, 3)
    with pytest.raises(ValueError, match="diagonal: dim1 and dim2 cannot be the same dim"):
        m.diagonal(0, 1, -1)
    with pytest.raises(IndexError, match="diagonal: dim 2 is out of range"):
        m.diagonal(0, 0, 2)
    with pytest.raises(ValueError, match=r"diagonal: needs at least 2 dims, got shape \[3\]"):
        lucid.ones(3).diagonal()
    with pytest.raises(ValueError, match=r"diag: expected a 1-D or 2-D tensor, got shape \[2, 2, 2\]"):
        lucid.diag(lucid.ones(2, 2, 2))
    with pytest.raises(ValueError, match=r"trace: expected a matrix \(2 dims\), got shape \[3\]"):
        lucid.ones(3).trace()
    with pytest.raises(ValueError, match="diag_embed: needs at least 1 dim"):
        lucid.tensor(1.0).diag_embed()
    with pytest.raises(ValueError, match="diag_embed: dim1 and dim2 cannot be the same dim"):
        m.diag_embed(0, 0, -3)
    for name in ["tril", "triu"]:
        with pytest.raises(ValueError, match=rf"{name}: needs a matrix or a batch of matrices .* got shape \[3\]"):
            getattr(lucid, name)(lucid.ones(3))


@pytest.mark.parametrize(
    "equation,shapes,error,fragment",
    [
        ("ij,jk->ik", [(2, 3)], ValueError, "has 2 operand\\(s\\) but 1 tensor\\(s\\) were given"),
        ("ij->ik", [(2, 3)], ValueError, "output subscript 'k' does not appear in any operand"),
        ("ij->ii", [(2, 3)], ValueError, "output subscript 'i' appears more than once"),
        ("i1->i", [(2, 3)], ValueError, "invalid character '1' in the subscripts of operand 0"),
        ("ij->i->j", [(2, 3)], ValueError, "invalid character '-' in the output subscripts"),
        ("i.j->i", [(2, 3)], ValueError, "a '.' that is not part of an ellipsis"),
        ("...i...->i", [(2, 3)], ValueError, "more than one ellipsis"),
        ("ijk->i", [(2, 3)], ValueError, "operand 0 has 2 dims \\(shape \\[2, 3\\]\\) but its subscripts \"ijk\" name 3"),
        ("i->i", [(2, 3)], ValueError, "operand 0 has 2 dims"),
        ("ij,jk->ik", [(2, 3), (4, 2)], ValueError, "subscript 'j' has size 3 elsewhere but size 4 in operand 1"),
        ("ii->i", [(2, 3)], ValueError, "subscript 'i' has size 2 elsewhere but size 3 in operand 0"),
        ("...i,...i->...", [(2, 3), (4, 3)], ValueError, "ellipsis dim 0 has size 2 elsewhere but size 4"),
    ],
)
def test_einsum_errors(equation, shapes, error, fragment):
    with pytest.raises(error, match=f"einsum: .*{fragment}"):
        lucid.einsum(equation, *[lucid.ones(*s) for s in shapes])


def test_einsum_needs_tensors():
    with pytest.raises(ValueError, match="einsum: needs at least one operand"):
        lucid.einsum("i->i")
    with pytest.raises(TypeError, match="einsum: argument 'operand 1' must be a Tensor, got list"):
        lucid.einsum("i,i->", lucid.ones(2), [1.0, 2.0])


def test_einsum_accepts_a_list_of_operands_and_broadcasts_ellipsis():
    a, b = lucid.ones(2, 3), lucid.ones(3)
    np.testing.assert_allclose(lucid.einsum("ij,j->i", [a, b]).numpy(), [3.0, 3.0])
    # size-1 ellipsis dims broadcast (as in NumPy); named subscripts must agree exactly
    out = lucid.einsum("...i,...i->...", lucid.ones(1, 3), lucid.ones(4, 3))
    assert out.shape == (4,)
    # ellipsis dims left out of an explicit output are summed
    assert lucid.einsum("...i->i", lucid.ones(2, 3)).tolist() == [2.0, 2.0, 2.0]
