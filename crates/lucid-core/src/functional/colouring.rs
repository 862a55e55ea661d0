//! Greedy colourings of sparsity patterns (Gebremedhin, Manne & Pothen 2005, "What
//! color is your Jacobian?").
//!
//! Provisional: replaced by the fuller module (vertex orders compared) when it lands.

/// A sparsity pattern in CSR form: row i's columns are `indices[indptr[i]..indptr[i+1]]`,
/// sorted ascending and unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub rows: usize,
    pub cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<usize>,
}

impl Pattern {
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    pub fn row(&self, i: usize) -> &[usize] {
        &self.indices[self.indptr[i]..self.indptr[i + 1]]
    }

    /// The transpose, by a counting sort (rows come out sorted).
    pub fn transpose(&self) -> Pattern {
        let mut indptr = vec![0usize; self.cols + 1];
        for &c in &self.indices {
            indptr[c + 1] += 1;
        }
        for c in 0..self.cols {
            indptr[c + 1] += indptr[c];
        }
        let mut fill = indptr.clone();
        let mut indices = vec![0usize; self.nnz()];
        for i in 0..self.rows {
            for &c in self.row(i) {
                indices[fill[c]] = i;
                fill[c] += 1;
            }
        }
        Pattern { rows: self.cols, cols: self.rows, indptr, indices }
    }

    /// A square pattern united with its transpose, the diagonal included.
    pub fn symmetrized(&self) -> Pattern {
        let t = self.transpose();
        let mut indptr = vec![0usize];
        let mut indices = Vec::with_capacity(2 * self.nnz() + self.rows);
        for i in 0..self.rows {
            let start = indices.len();
            indices.extend_from_slice(self.row(i));
            indices.extend_from_slice(t.row(i));
            indices.push(i);
            indices[start..].sort_unstable();
            let mut w = start;
            for r in start..indices.len() {
                if r == start || indices[r] != indices[w - 1] {
                    indices[w] = indices[r];
                    w += 1;
                }
            }
            indices.truncate(w);
            indptr.push(indices.len());
        }
        Pattern { rows: self.rows, cols: self.cols, indptr, indices }
    }
}

/// The vertex order a greedy colouring visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    Natural,
    LargestFirst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colouring {
    pub colours: Vec<usize>,
    pub count: usize,
    pub order: Order,
}

/// The smallest colour not stamped `v` in `forbidden` (grown as needed).
fn smallest_free(forbidden: &mut Vec<usize>, v: usize) -> usize {
    let c = forbidden.iter().position(|&f| f != v).unwrap_or(forbidden.len());
    if c == forbidden.len() {
        forbidden.push(usize::MAX);
    }
    c
}

fn visit_order(n: usize, order: Order, degree: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut vs: Vec<usize> = (0..n).collect();
    if order == Order::LargestFirst {
        vs.sort_by_key(|&v| std::cmp::Reverse(degree(v)));
    }
    vs
}

/// Partial distance-2 colouring of the columns: columns sharing a row differ.
pub fn column_colouring(p: &Pattern, order: Order) -> Colouring {
    let t = p.transpose();
    let degree = |j: usize| t.row(j).iter().map(|&i| p.row(i).len()).sum::<usize>();
    let mut colours = vec![usize::MAX; p.cols];
    let mut forbidden: Vec<usize> = Vec::new();
    for j in visit_order(p.cols, order, degree) {
        for &i in t.row(j) {
            for &k in p.row(i) {
                if colours[k] != usize::MAX {
                    forbidden[colours[k]] = j;
                }
            }
        }
        colours[j] = smallest_free(&mut forbidden, j);
    }
    let count = colours.iter().map(|&c| c + 1).max().unwrap_or(0);
    Colouring { colours, count, order }
}

pub fn best_column_colouring(p: &Pattern) -> Colouring {
    let a = column_colouring(p, Order::Natural);
    let b = column_colouring(p, Order::LargestFirst);
    if b.count < a.count {
        b
    } else {
        a
    }
}

/// Star colouring of a symmetric pattern: proper, and no path on 4 vertices bicoloured.
pub fn star_colouring(p: &Pattern, order: Order) -> Colouring {
    let n = p.rows;
    const NONE: usize = usize::MAX;
    let mut colours = vec![NONE; n];
    let mut forbidden: Vec<usize> = Vec::new();
    for v in visit_order(n, order, |v| p.row(v).len()) {
        for &w in p.row(v).iter().filter(|&&w| w != v) {
            if colours[w] != NONE {
                forbidden[colours[w]] = v;
            }
            for &x in p.row(w).iter().filter(|&&x| x != v && x != w) {
                if colours[x] == NONE {
                    continue;
                }
                if colours[w] == NONE {
                    forbidden[colours[x]] = v;
                } else if p.row(x).iter().any(|&y| y != w && y != x && colours[y] == colours[w]) {
                    forbidden[colours[x]] = v;
                }
            }
        }
        colours[v] = smallest_free(&mut forbidden, v);
    }
    let count = colours.iter().map(|&c| c + 1).max().unwrap_or(0);
    Colouring { colours, count, order }
}

pub fn best_star_colouring(p: &Pattern) -> Colouring {
    let a = star_colouring(p, Order::Natural);
    let b = star_colouring(p, Order::LargestFirst);
    if b.count < a.count {
        b
    } else {
        a
    }
}

pub fn column_recovery(p: &Pattern, c: &Colouring) -> Vec<usize> {
    (0..p.rows).flat_map(|i| p.row(i).iter().map(move |&j| c.colours[j] * p.rows + i)).collect()
}

pub fn row_recovery(p: &Pattern, c: &Colouring) -> Vec<usize> {
    (0..p.rows).flat_map(|i| p.row(i).iter().map(move |&j| c.colours[i] * p.cols + j)).collect()
}

pub fn star_recovery(p: &Pattern, c: &Colouring) -> Result<Vec<usize>, String> {
    let n = p.rows;
    let mut count = vec![0usize; c.count];
    let mut out = Vec::with_capacity(p.nnz());
    let unique = |i: usize, colour: usize, count: &mut Vec<usize>| {
        count.iter_mut().for_each(|k| *k = 0);
        for &k in p.row(i) {
            count[c.colours[k]] += 1;
        }
        count[colour] == 1
    };
    for i in 0..n {
        for &j in p.row(i) {
            if unique(i, c.colours[j], &mut count) {
                out.push(c.colours[j] * n + i);
            } else if unique(j, c.colours[i], &mut count) {
                out.push(c.colours[i] * n + j);
            } else {
                return Err(format!("entry ({i}, {j}) cannot be recovered from the star colouring"));
            }
        }
    }
    Ok(out)
}
